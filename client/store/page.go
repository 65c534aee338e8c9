package store

import (
	"context"
	"fmt"

	"sotto.dev/key"
)

// HistoryBefore returns up to limit messages of conversation conv that come
// before the message with id before in History's order, oldest first: the
// page above one already shown. It reads through the conversation index,
// so paging back through a long conversation costs the same at any depth.
func (o ops) HistoryBefore(ctx context.Context, conv key.SessionID, before int64, limit int) ([]*Message, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := o.q.QueryContext(ctx, `SELECT `+messageColumns+` FROM (
		SELECT * FROM messages WHERE conversation = ?1
			AND (sent_at, author, id) < (SELECT sent_at, author, id FROM messages WHERE id = ?2 AND conversation = ?1)
		ORDER BY sent_at DESC, author DESC, id DESC LIMIT ?3
	) ORDER BY sent_at, author, id`, conv.String(), before, limit)
	if err != nil {
		return nil, fmt.Errorf("store: history page: %w", err)
	}
	msgs, err := collectMessages(rows)
	if err != nil {
		return nil, err
	}
	return msgs, o.loadReactions(ctx, msgs)
}
