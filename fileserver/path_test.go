package fileserver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/onion"
	"sotto.dev/snode/relay"
)

// TestThroughThreeHops reaches the file server as a client does: through a
// path of three real onion relays, the last of which proxies the request
// to the server.
func TestThroughThreeHops(t *testing.T) {
	h := newHarness(t, nil)
	servers := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(servers.CloseIdleConnections)
	nw := relaynet.Start(t, 3, func(_ int, d relaynet.Deps) (*relay.Relay, error) {
		return relay.New(relay.Config{AllowPrivateServers: true},
			relay.Deps{X25519Private: d.X25519Private, Directory: d.Directory, Local: d.Local, HTTPClient: d.Client, ServerClient: servers})
	})
	call := func(c onion.Cipher, method, endpoint string, body []byte) onion.V4Response {
		t.Helper()
		req, err := onion.EncodeV4Request(onion.V4RequestInfo{Method: method, Endpoint: endpoint}, body)
		if err != nil {
			t.Fatal(err)
		}
		path := nw.Hops(0, 1, 2)
		outer, lk, err := onion.BuildServerRequest(path, h.dest(), req, c)
		if err != nil {
			t.Fatal(err)
		}
		status, reply := nw.Post(path[0].Node, outer)
		r, err := onion.DecodeServerResponse(lk, status, reply)
		if err != nil {
			t.Fatalf("%s %s: %v", method, endpoint, err)
		}
		return r
	}
	for i, c := range []onion.Cipher{onion.CipherXChaCha20, onion.CipherAESGCM} {
		data := payload(300+i, 5_000_000) // a 5 MB photo
		r := call(c, "POST", "/file", data)
		var up struct {
			ID      string  `json:"id"`
			Expires float64 `json:"expires"`
		}
		decode(t, r.Body, &up)
		if r.Code != 200 || FileID(up.ID) != ContentID(data) {
			t.Fatalf("%s upload: %d %s", c, r.Code, r.Body)
		}
		if r := call(c, "GET", "/file/"+up.ID, nil); r.Code != 200 || !bytes.Equal(r.Body, data) {
			t.Fatalf("%s download: %d, %d bytes", c, r.Code, len(r.Body))
		}
		r = call(c, "GET", "/file/"+up.ID+"/info", nil)
		var info map[string]any
		if json.Unmarshal(r.Body, &info); r.Code != 200 || info["size"] != float64(len(data)) {
			t.Fatalf("%s info: %d %s", c, r.Code, r.Body)
		}
		wantStatus(t, "missing through the path", call(c, "GET", "/file/"+string(ContentID([]byte("none"))), nil), 404)
	}
}
