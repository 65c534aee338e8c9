package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"sotto.dev/client"
	"sotto.dev/client/store"
)

// jsonAttachment is an attachment in --json output.
type jsonAttachment struct {
	ID          int64  `json:"id"`
	FileName    string `json:"file_name,omitempty"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size"`
	Width       uint32 `json:"width,omitempty"`
	Height      uint32 `json:"height,omitempty"`
	DurationMS  int64  `json:"duration_ms,omitempty"`
	Voice       bool   `json:"voice,omitempty"`
	Large       bool   `json:"large,omitempty"`
	State       string `json:"state"`
	Error       string `json:"error,omitempty"`
}

func attachmentJSON(a *store.Attachment) jsonAttachment {
	return jsonAttachment{
		ID: a.ID, FileName: a.FileName, ContentType: a.ContentType, Size: a.Size, Width: a.Width, Height: a.Height,
		DurationMS: a.DurationMS, Voice: a.Flags&1 != 0, Large: a.IsManifest, State: a.State.String(), Error: a.Error,
	}
}

// messageJSON is a message with its attachments.
type messageJSON struct {
	jsonMessage
	Attachments []jsonAttachment `json:"attachments,omitempty"`
}

func withAttachments(ctx context.Context, s *session, m *store.Message) (messageJSON, error) {
	j := messageJSON{jsonMessage: toJSON(m)}
	as, err := s.c.AttachmentsOf(ctx, m.ID)
	if err != nil {
		return j, err
	}
	for _, a := range as {
		j.Attachments = append(j.Attachments, attachmentJSON(a))
	}
	return j, nil
}

// attachmentLines formats a message's attachments for people, one line
// each: "    [1] photo.png image/png 640x480 5.0 MB downloaded".
func attachmentLines(ctx context.Context, s *session, m *store.Message) ([]string, error) {
	as, err := s.c.AttachmentsOf(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range as {
		var b strings.Builder
		name := a.FileName
		if name == "" {
			name = "(no name)"
		}
		fmt.Fprintf(&b, "    [%d] %s", a.Index+1, name)
		if a.Flags&1 != 0 {
			b.WriteString(" voice message")
		}
		if a.ContentType != "" && !a.IsManifest {
			fmt.Fprintf(&b, " %s", a.ContentType)
		}
		if a.Width > 0 && a.Height > 0 {
			fmt.Fprintf(&b, " %dx%d", a.Width, a.Height)
		}
		if a.DurationMS > 0 {
			fmt.Fprintf(&b, " %s", (time.Duration(a.DurationMS) * time.Millisecond).Round(time.Second))
		}
		fmt.Fprintf(&b, " %s", humanBytes(a.Size))
		switch a.State {
		case store.AttachmentDone:
			b.WriteString(" downloaded")
		case store.AttachmentFailed:
			fmt.Fprintf(&b, " failed: %s", a.Error)
		default:
			b.WriteString(" not downloaded yet")
		}
		out = append(out, b.String())
	}
	return out, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// progressThreshold: transfers smaller than this print no progress.
const progressThreshold = 1 << 20

// progress prints transfer progress on stderr, one line per step, for
// files large enough to take a moment.
type progress struct {
	mu   sync.Mutex
	w    io.Writer
	verb string
	last map[string]int64
}

func newProgress(w io.Writer, verb string) *progress {
	return &progress{w: w, verb: verb, last: map[string]int64{}}
}

func (p *progress) report(name string, done, total int64) {
	if total < progressThreshold {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if last, ok := p.last[name]; ok && last == done {
		return
	}
	p.last[name] = done
	fmt.Fprintf(p.w, "%s %s: %s of %s (%d%%)\n", p.verb, name, humanBytes(done), humanBytes(total), done*100/total)
}

func (a *app) saveCmd(f *chatFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "save ID|ROOM MSG [DIR]",
		Short: "Save the attachments of a message or a room's post into DIR (default: the current directory)",
		Long: `Save the files a message carries (MSG is its number from 'sotto read').
Attachments not downloaded yet are downloaded first, through onion paths;
each file is checked (digest, authentication, size) before it appears in
DIR, under its own name, never replacing an existing file.

Given a community room, MSG is a post's number (#N) and its files are
fetched from the room's server through an onion path.`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isRoom(args[0]) {
				return a.roomSave(f, args)
			}
			peer, err := parsePeer(args[0])
			if err != nil {
				return err
			}
			msg, err := parseMsgRef(args[1])
			if err != nil {
				return err
			}
			dir := "."
			if len(args) == 3 {
				dir = args[2]
			}
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return userErr("give an existing directory", "%s is not a directory", dir)
			}
			s, err := a.openSession(optional)
			if err != nil {
				return err
			}
			defer s.close()
			ctx, cancel := a.ctx(f)
			defer cancel()
			if err := a.sync(ctx, s); err != nil {
				return err
			}
			stop := a.showDownloads(s)
			paths, err := s.c.SaveAttachments(ctx, peer, msg, dir)
			stop()
			if err != nil {
				var ae *client.AttachmentError
				var fe *client.FileServerError
				switch {
				case errors.As(err, &ae):
					return &Error{Msg: "the attachment does not verify: it was damaged or forged, nothing was saved", Err: err}
				case errors.As(err, &fe):
					return &Error{Msg: "the file server cannot give the attachment", Err: err,
						Hint: "it may have expired or been damaged on the server; ask the sender to send it again"}
				case errors.Is(err, client.ErrNoMessage):
					return msgError(err, peer)
				}
				if len(paths) == 0 {
					return &Error{Msg: "cannot save the attachments", Err: err}
				}
				return &Error{Msg: fmt.Sprintf("saved %d file(s), then failed", len(paths)), Err: err}
			}
			if a.json {
				return a.printJSON(map[string]any{"saved": paths})
			}
			for _, p := range paths {
				fmt.Fprintf(a.env.Stdout, "saved %s\n", p)
			}
			return nil
		},
	}
}

// showDownloads prints the client's download progress on stderr until
// the returned function is called.
func (a *app) showDownloads(s *session) (stop func()) {
	p := newProgress(a.env.Stderr, "download")
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case ev := <-s.c.Events():
				if ev.Kind == client.EventAttachment && ev.Attachment != nil && ev.Attachment.State != store.AttachmentFailed {
					name := ev.Attachment.FileName
					if name == "" {
						name = fmt.Sprintf("attachment %d", ev.Attachment.Index+1)
					}
					p.report(name, ev.Done, ev.Total)
				}
			case <-done:
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
