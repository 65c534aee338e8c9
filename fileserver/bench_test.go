package fileserver

import (
	"net/http"
	"testing"

	"sotto.dev/internal/testnet/relaynet"
	"sotto.dev/onion"
	"sotto.dev/snode/relay"
)

// benchFile is the size of the benchmarks' uploads: a 10 MB attachment.
const benchFile = 10_000_000

// BenchmarkUpload and BenchmarkDownload measure one 10 MB file through an
// onion v4 request on loopback, straight to the server ("direct", as the
// exit node posts it) and through a path of three relays ("3hops").
func BenchmarkUpload(b *testing.B) {
	for _, hops := range []int{0, 3} {
		b.Run(pathName(hops), func(b *testing.B) {
			_, send := benchNet(b, hops)
			b.SetBytes(benchFile)
			i := 0
			for b.Loop() {
				i++
				if r := send("POST", "/file", payload(1000+i, benchFile)); r.Code != 200 {
					b.Fatalf("upload: %d", r.Code)
				}
			}
		})
	}
}

func BenchmarkDownload(b *testing.B) {
	for _, hops := range []int{0, 3} {
		b.Run(pathName(hops), func(b *testing.B) {
			h, send := benchNet(b, hops)
			id, _ := h.upload(payload(999, benchFile), nil)
			b.SetBytes(benchFile)
			for b.Loop() {
				if r := send("GET", "/file/"+string(id), nil); r.Code != 200 || len(r.Body) != benchFile {
					b.Fatalf("download: %d", r.Code)
				}
			}
		})
	}
}

func pathName(hops int) string {
	if hops == 0 {
		return "direct"
	}
	return "3hops"
}

// benchNet starts a file server and, for hops > 0, a path of relays; send
// makes one request either way.
func benchNet(b *testing.B, hops int) (*harness, func(method, endpoint string, body []byte) onion.V4Response) {
	h := newHarness(b, nil)
	if hops == 0 {
		return h, func(method, endpoint string, body []byte) onion.V4Response {
			r, err := h.call("127.0.0.1", method, endpoint, nil, body)
			if err != nil {
				b.Fatal(err)
			}
			return r
		}
	}
	servers := &http.Client{Transport: &http.Transport{}}
	b.Cleanup(servers.CloseIdleConnections)
	nw := relaynet.Start(b, hops, func(_ int, d relaynet.Deps) (*relay.Relay, error) {
		return relay.New(relay.Config{AllowPrivateServers: true},
			relay.Deps{X25519Private: d.X25519Private, Directory: d.Directory, Local: d.Local, HTTPClient: d.Client, ServerClient: servers})
	})
	path := nw.Hops(0, 1, 2)
	return h, func(method, endpoint string, body []byte) onion.V4Response {
		req, _ := onion.EncodeV4Request(onion.V4RequestInfo{Method: method, Endpoint: endpoint}, body)
		outer, lk, err := onion.BuildServerRequest(path, h.dest(), req, onion.CipherXChaCha20)
		if err != nil {
			b.Fatal(err)
		}
		status, reply := nw.Post(path[0].Node, outer)
		r, err := onion.DecodeServerResponse(lk, status, reply)
		if err != nil {
			b.Fatal(err)
		}
		return r
	}
}
