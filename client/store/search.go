package store

import (
	"context"
	"fmt"
	"strings"

	"sotto.dev/key"
)

// maxSearch bounds how many matches SearchConversation returns.
const maxSearch = 200

// escapeLike escapes the wildcards of a LIKE pattern with a backslash.
var escapeLike = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// SearchConversation returns up to limit messages of conversation conv
// whose body contains text (ASCII case-insensitively, as SQLite's LIKE
// compares), newest first, over the whole conversation. A limit outside
// 1 to 200 means 200. Unsent messages are not searched.
func (o ops) SearchConversation(ctx context.Context, conv key.SessionID, text string, limit int) ([]*Message, error) {
	if text == "" {
		return nil, nil
	}
	if limit <= 0 || limit > maxSearch {
		limit = maxSearch
	}
	rows, err := o.q.QueryContext(ctx, `SELECT `+messageColumns+` FROM messages
		WHERE conversation = ? AND unsent = 0 AND body LIKE ? ESCAPE '\'
		ORDER BY sent_at DESC, author DESC, id DESC LIMIT ?`,
		conv.String(), "%"+escapeLike.Replace(text)+"%", limit)
	if err != nil {
		return nil, fmt.Errorf("store: search: %w", err)
	}
	msgs, err := collectMessages(rows)
	if err != nil {
		return nil, err
	}
	return msgs, o.loadReactions(ctx, msgs)
}
