package community

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"sotto.dev/sessionproto"
)

// benchRequests pre-signs n requests by u (signing is the client's cost).
func benchRequests(b *testing.B, u *user, n int, method, path string, body func(i int) []byte) []*http.Request {
	reqs := make([]*http.Request, n)
	for i := range reqs {
		var bb []byte
		if body != nil {
			bb = body(i)
		}
		r := httptest.NewRequest(method, path, bytes.NewReader(bb))
		for k, v := range u.headers(method, path, bb) {
			r.Header.Set(k, v)
		}
		reqs[i] = r
	}
	return reqs
}

func runBench(b *testing.B, h *harness, reqs []*http.Request, want int) {
	b.ResetTimer()
	for i := range b.N {
		w := httptest.NewRecorder()
		h.srv.Handler().ServeHTTP(w, reqs[i])
		if w.Code != want {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkPollSince is the main poll, signed, with nothing new and with
// 10 new messages, through the handler (no network).
func BenchmarkPollSince(b *testing.B) {
	for _, newMsgs := range []int{0, 10} {
		b.Run(fmt.Sprintf("new=%d", newMsgs), func(b *testing.B) {
			h := newHarness(b, func(c *Config) { c.PostLimit, c.Rate, c.AddrRate = 0, 0, 0 })
			h.addRoom("lobby")
			u := h.newUser(sessionproto.SOGSOptions{})
			for range 100 {
				u.post("lobby", sessionproto.Pad([]byte("a message of some length to poll")))
			}
			reqs := benchRequests(b, u, b.N, http.MethodGet, "/room/lobby/messages/since/"+itoa(int64(100-newMsgs)), nil)
			runBench(b, h, reqs, http.StatusOK)
		})
	}
}

// BenchmarkPost is a signed post, acknowledged after its COMMIT.
func BenchmarkPost(b *testing.B) {
	h := newHarness(b, func(c *Config) { c.PostLimit, c.Rate, c.AddrRate = 0, 0, 0 })
	h.addRoom("lobby")
	u := h.newUser(sessionproto.SOGSOptions{})
	data := sessionproto.Pad([]byte("a message of some length"))
	body := postBodyFor(u, data)
	reqs := benchRequests(b, u, b.N, http.MethodPost, "/room/lobby/message", func(int) []byte { return body })
	runBench(b, h, reqs, http.StatusCreated)
}
