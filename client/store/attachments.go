package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"sotto.dev/key"
)

// AttachmentState is where an attachment's download stands.
type AttachmentState int8

// Attachment states.
const (
	// AttachmentPending: not downloaded yet (or waiting for a retry).
	AttachmentPending AttachmentState = iota
	// AttachmentDone: the encrypted copy is kept locally and verified.
	AttachmentDone
	// AttachmentFailed: the download failed for good (Error says why).
	AttachmentFailed
)

var attachmentStateNames = [...]string{"pending", "done", "failed"}

// String returns the state's name.
func (s AttachmentState) String() string {
	if s >= 0 && int(s) < len(attachmentStateNames) {
		return attachmentStateNames[s]
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (s AttachmentState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Attachment is a file a message carries: its AttachmentPointer and its
// local state.
type Attachment struct {
	ID          int64
	MessageID   int64
	Index       int // position in the message
	ContentType string
	FileName    string
	// Size is the plaintext size: of the whole file for a large file
	// once its manifest is fetched.
	Size       int64
	Width      uint32
	Height     uint32
	DurationMS int64
	Flags      uint32
	URL        string
	Key        []byte
	Digest     []byte
	// IsManifest: URL and Key lead to the manifest of a large file.
	IsManifest bool
	// Manifest is the fetched manifest (nil until then).
	Manifest    []byte
	State       AttachmentState
	Error       string
	Attempts    int
	NextAttempt int64
	// Local is the directory of the encrypted copy, relative to the
	// client's attachments directory.
	Local string
}

const attachmentColumns = `id, message_id, idx, content_type, file_name, size, width, height, duration_ms, flags,
	url, key, digest, manifest, is_manifest, state, error, attempts, next_attempt, local`

// attachmentColumnsA is attachmentColumns qualified by the table alias a.
var attachmentColumnsA = func() string {
	cols := strings.Split(attachmentColumns, ",")
	for i, c := range cols {
		cols[i] = "a." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}()

func scanAttachment(r rowScanner) (*Attachment, error) {
	var (
		a     Attachment
		isMan int
		state int8
	)
	err := r.Scan(&a.ID, &a.MessageID, &a.Index, &a.ContentType, &a.FileName, &a.Size, &a.Width, &a.Height,
		&a.DurationMS, &a.Flags, &a.URL, &a.Key, &a.Digest, &a.Manifest, &isMan, &state, &a.Error, &a.Attempts,
		&a.NextAttempt, &a.Local)
	if err != nil {
		return nil, err
	}
	a.IsManifest, a.State = isMan != 0, AttachmentState(state)
	return &a, nil
}

func collectAttachments(rows *sql.Rows, err error) ([]*Attachment, error) {
	if err != nil {
		return nil, fmt.Errorf("store: attachments: %w", err)
	}
	defer rows.Close()
	var out []*Attachment
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return nil, fmt.Errorf("store: attachments: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: attachments: %w", err)
	}
	return out, nil
}

// InsertAttachment adds a's row (a.ID is set).
func (o ops) InsertAttachment(ctx context.Context, a *Attachment) error {
	if a.Digest == nil {
		a.Digest = []byte{}
	}
	res, err := o.q.ExecContext(ctx, `INSERT INTO attachments (message_id, idx, content_type, file_name, size, width,
		height, duration_ms, flags, url, key, digest, manifest, is_manifest, state, error, attempts, next_attempt, local)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.MessageID, a.Index, a.ContentType, a.FileName, a.Size, a.Width, a.Height, a.DurationMS, a.Flags,
		a.URL, a.Key, a.Digest, a.Manifest, boolInt(a.IsManifest), a.State, a.Error, a.Attempts, a.NextAttempt, a.Local)
	if err != nil {
		return fmt.Errorf("store: insert attachment: %w", err)
	}
	a.ID, err = res.LastInsertId()
	return err
}

// Attachment returns attachment id.
func (o ops) Attachment(ctx context.Context, id int64) (*Attachment, error) {
	a, err := scanAttachment(o.q.QueryRowContext(ctx, `SELECT `+attachmentColumns+` FROM attachments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: attachment: %w", err)
	}
	return a, nil
}

// Attachments returns message id's attachments in order.
func (o ops) Attachments(ctx context.Context, messageID int64) ([]*Attachment, error) {
	return collectAttachments(o.q.QueryContext(ctx, `SELECT `+attachmentColumns+` FROM attachments
		WHERE message_id = ? ORDER BY idx`, messageID))
}

// autoDownload selects the pending attachments that download by
// themselves: those of our own messages, of contacts we accepted (a
// stranger's wait in the message requests until accepted, or saved) and
// of the groups we are in.
const autoDownload = `FROM attachments a JOIN messages m ON m.id = a.message_id
	LEFT JOIN contacts c ON c.session_id = m.conversation
	WHERE a.state = 0 AND (m.direction = 1 OR m.conversation = m.author AND c.approved = 1 AND c.blocked = 0
		OR m.conversation IN (SELECT id FROM groups WHERE state = 0))`

// DueAttachments returns up to limit pending attachments that download by
// themselves and whose next attempt is due at now.
func (o ops) DueAttachments(ctx context.Context, now int64, limit int) ([]*Attachment, error) {
	return collectAttachments(o.q.QueryContext(ctx, `SELECT `+attachmentColumnsA+` `+autoDownload+`
		AND a.next_attempt <= ? ORDER BY a.next_attempt, a.id LIMIT ?`, now, limit))
}

// NextAttachment returns the earliest next attempt of a pending
// attachment that downloads by itself; ok is false when there is none.
func (o ops) NextAttachment(ctx context.Context) (at int64, ok bool, err error) {
	var v sql.NullInt64
	if err := o.q.QueryRowContext(ctx, `SELECT MIN(a.next_attempt) `+autoDownload).Scan(&v); err != nil {
		return 0, false, fmt.Errorf("store: next attachment: %w", err)
	}
	return v.Int64, v.Valid, nil
}

// AttachmentDone records a verified download kept in local, with what it
// taught (the whole size and the manifest of a large file, a duration).
func (o ops) AttachmentDone(ctx context.Context, id int64, local string, size int64, manifest []byte, durationMS int64) error {
	return o.exec1(ctx, "attachment done", `UPDATE attachments SET state = 1, error = '', local = ?, size = ?,
		manifest = ?, duration_ms = ? WHERE id = ?`, local, size, manifest, durationMS, id)
}

// AttachmentRetry records a failed attempt to retry at next.
func (o ops) AttachmentRetry(ctx context.Context, id int64, next int64, reason string) error {
	return o.exec1(ctx, "attachment retry", `UPDATE attachments SET attempts = attempts + 1, next_attempt = ?, error = ?
		WHERE id = ?`, next, reason, id)
}

// AttachmentFailed records a download that failed for good.
func (o ops) AttachmentFailed(ctx context.Context, id int64, reason string) error {
	return o.exec1(ctx, "attachment failed", `UPDATE attachments SET state = 2, attempts = attempts + 1, error = ?
		WHERE id = ?`, reason, id)
}

// RetryAttachment makes a failed attachment pending again, due at now.
func (o ops) RetryAttachment(ctx context.Context, id int64, now int64) error {
	return o.exec1(ctx, "retry attachment", `UPDATE attachments SET state = 0, attempts = 0, next_attempt = ?
		WHERE id = ? AND state = 2`, now, id)
}

// DeleteAttachments removes message id's attachments (an unsent message
// keeps its row, not its files).
func (o ops) DeleteAttachments(ctx context.Context, messageID int64) error {
	if _, err := o.q.ExecContext(ctx, `DELETE FROM attachments WHERE message_id = ?`, messageID); err != nil {
		return fmt.Errorf("store: delete attachments: %w", err)
	}
	return nil
}

// AttachmentDirs returns every local directory an attachment row names.
func (o ops) AttachmentDirs(ctx context.Context) (map[string]bool, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT local FROM attachments WHERE local != ''`)
	if err != nil {
		return nil, fmt.Errorf("store: attachment dirs: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("store: attachment dirs: %w", err)
		}
		out[s] = true
	}
	return out, rows.Err()
}

// PictureCached returns the URL of id's cached profile picture ("" when
// none is cached).
func (o ops) PictureCached(ctx context.Context, id key.SessionID) (string, error) {
	var s string
	err := o.q.QueryRowContext(ctx, `SELECT pic_cached FROM contacts WHERE session_id = ?`, id.String()).Scan(&s)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: picture cached: %w", err)
	}
	return s, nil
}

// SetPictureCached records that id's picture at url is cached.
func (o ops) SetPictureCached(ctx context.Context, id key.SessionID, url string) error {
	return o.exec1(ctx, "picture cached", `UPDATE contacts SET pic_cached = ? WHERE session_id = ?`, url, id.String())
}

// StalePictures returns the contacts whose profile picture URL is not the
// one cached.
func (o ops) StalePictures(ctx context.Context) ([]*Contact, error) {
	rows, err := o.q.QueryContext(ctx, `SELECT `+contactColumns+` FROM contacts
		WHERE pic_url != '' AND pic_url != pic_cached AND blocked = 0`)
	if err != nil {
		return nil, fmt.Errorf("store: stale pictures: %w", err)
	}
	defer rows.Close()
	var out []*Contact
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			return nil, fmt.Errorf("store: stale pictures: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
