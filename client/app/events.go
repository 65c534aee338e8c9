package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"sotto.dev/client"
)

// hub fans the engine's events out to the pages listening on /api/events.
// A page that falls behind is dropped; its EventSource reconnects and
// reloads what it shows.
type hub struct {
	mu     sync.Mutex
	subs   map[chan []byte]struct{}
	closed bool
}

func newHub() *hub { return &hub{subs: map[chan []byte]struct{}{}} }

// subscribeBuffer is how many events a page may lag behind.
const subscribeBuffer = 256

func (h *hub) subscribe() chan []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	ch := make(chan []byte, subscribeBuffer)
	if h.closed {
		close(ch)
		return ch
	}
	h.subs[ch] = struct{}{}
	return ch
}

func (h *hub) unsubscribe(ch chan []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *hub) publish(b []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- b:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

// jsonEvent is an engine event as the page receives it. At is when the
// app took it from the engine (Unix ms): the page measures the delay to
// showing it.
type jsonEvent struct {
	Kind         string       `json:"kind"`
	Conversation string       `json:"conversation,omitempty"`
	Message      *jsonMessage `json:"message,omitempty"`
	Typing       bool         `json:"typing,omitempty"`
	Mode         string       `json:"mode,omitempty"`
	Timer        uint32       `json:"timer,omitempty"`
	At           int64        `json:"at"`
}

// pump forwards the engine's events to the hub until ctx ends.
func (s *Server) pump(ctx context.Context, c *client.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-c.Events():
			je := jsonEvent{Kind: ev.Kind.String(), Typing: ev.Typing, At: time.Now().UnixMilli()}
			if !ev.Conversation.IsZero() {
				je.Conversation = ev.Conversation.String()
			}
			if ev.Message != nil {
				je.Message = s.toJSON(ctx, c, ev.Message)
				if je.Conversation == "" {
					je.Conversation = je.Message.Conversation
				}
			}
			if ev.Kind == client.EventDisappearing {
				je.Mode, je.Timer = ev.Mode.String(), ev.Timer
			}
			b, err := json.Marshal(je)
			if err != nil {
				s.log.Warn("app: encode event", "err", err)
				continue
			}
			s.hub.publish(b)
		}
	}
}

// handleEvents streams the engine's events as Server-Sent Events.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch := s.hub.subscribe()
	defer s.hub.unsubscribe(ch)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n: ready\n\n")
	fl.Flush()
	keepAlive := time.NewTicker(25 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case b, ok := <-ch:
			if !ok {
				return
			}
			fmt.Fprintf(w, "data: %s\n\n", b)
			fl.Flush()
		}
	}
}
