package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"

	"sotto.dev/fileserver"
	"sotto.dev/internal/testnet"
)

// startFileServer runs a real file server on 127.0.0.1 in a temporary
// directory and lists it in nw's network file; stop ends it.
func startFileServer(nw *testnet.Network) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "sotto-cli-files-")
	if err != nil {
		return nil, err
	}
	keys, _, err := fileserver.LoadOrCreateKeys(filepath.Join(dir, fileserver.KeyFileName))
	if err != nil {
		return nil, err
	}
	cfg := fileserver.DefaultConfig()
	cfg.Dir, cfg.Listen = dir, "127.0.0.1:0"
	srv, err := fileserver.New(cfg, fileserver.Deps{Keys: keys})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	stop = func() {
		cancel()
		<-done
		_ = os.RemoveAll(dir)
	}
	err = nw.SetFileServers([]testnet.FileServerEntry{{
		URL: "http://" + srv.Addr().String(), PubkeyX25519: keys.X25519Public().String(), PubkeyEd25519: keys.Ed25519Public().String(),
	}})
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// cmdMkfile: mkfile NAME BYTES — writes BYTES random bytes to NAME.
func cmdMkfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkfile NAME BYTES")
	}
	n, err := strconv.Atoi(args[1])
	ts.Check(err)
	b := make([]byte, n)
	_, err = rand.Read(b)
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), b, 0o644))
}

// cmdMkpng: mkpng NAME W H — writes a W×H PNG image to NAME.
func cmdMkpng(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: mkpng NAME W H")
	}
	w, err := strconv.Atoi(args[1])
	ts.Check(err)
	h, err := strconv.Atoi(args[2])
	ts.Check(err)
	var buf bytes.Buffer
	ts.Check(png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), buf.Bytes(), 0o644))
}

// cmdMkogg: mkogg NAME MS — writes a minimal Ogg Opus stream lasting MS
// milliseconds (an OpusHead page with pre-skip 312 and a last page with
// the granule position) to NAME.
func cmdMkogg(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: mkogg NAME MS")
	}
	ms, err := strconv.ParseUint(args[1], 10, 64)
	ts.Check(err)
	page := func(granule uint64, payload []byte) []byte {
		p := binary.LittleEndian.AppendUint64([]byte("OggS\x00\x02"), granule)
		return append(append(p, make([]byte, 13)...), payload...)
	}
	head := []byte("OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
	out := append(page(0, head), bytes.Repeat([]byte{0x55}, 4000)...)
	out = append(out, page(ms*48+312, []byte{0})...)
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), out, 0o644))
}
