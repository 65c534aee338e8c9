package fileserver

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"sotto.dev/identity"
)

func TestSessionVersion(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do("GET", "/session_version?platform=desktop", nil, nil)
	want := `{"assets":[{"name":"session.AppImage","url":"https://example.org/s.AppImage"}],"name":"Session 1.16.3",` +
		`"prerelease":{"result":"v1.17.0-rc1","updated":1759990000},"result":"v1.16.3","status_code":200,"updated":1759990000}`
	if r.Code != 200 || string(r.Body) != want || r.Headers["content-type"] != "application/json" {
		t.Fatalf("desktop: %d %s", r.Code, r.Body)
	}
	r = h.do("GET", "/session_version?platform=android&release_channel=stable", nil, nil)
	if r.Code != 200 || string(r.Body) != `{"result":"1.25.0","status_code":200,"updated":1759990000}` {
		t.Fatalf("android: %d %s", r.Code, r.Body)
	}
	wantStatus(t, "no platform", h.do("GET", "/session_version", nil, nil), 404)
	wantStatus(t, "bad platform", h.do("GET", "/session_version?platform=windows", nil, nil), 404)
	wantStatus(t, "no ios release", h.do("GET", "/session_version?platform=ios", nil, nil), 502)
	wantStatus(t, "no alpha", h.do("GET", "/session_version?platform=desktop&release_channel=alpha", nil, nil), 502)

	seed, _ := hex.DecodeString("fecd9a60d6ee3b8bd6a8a4fe2b1b8e0c8fc1a23b5e3e6c1b5a5f1e0a3c2b1e12")
	keys, err := identity.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	const endpoint = "/session_version?platform=desktop"
	sign := func(ts int64, path string) string {
		sig := keys.VersionSign([]byte(strconv.FormatInt(ts, 10) + "GET" + path))
		return base64.StdEncoding.EncodeToString(sig[:])
	}
	good := func() map[string]string {
		return map[string]string{
			"X-FS-Pubkey":    keys.VersionPublic().String(),
			"X-FS-Timestamp": strconv.FormatInt(now.Unix(), 10),
			"X-FS-Signature": sign(now.Unix(), endpoint),
		}
	}
	if r := h.do("GET", endpoint, good(), nil); r.Code != 200 {
		t.Fatalf("signed: %d %s", r.Code, r.Body)
	}
	if got := h.srv.m.versions.WithLabelValues("desktop", "true"); got == nil {
		t.Fatal("no metric")
	}
	pk := keys.VersionPublic().Bytes()
	otherPrefix := append([]byte{0x15}, pk[1:]...)
	sigBytes, _ := base64.StdEncoding.DecodeString(sign(now.Unix(), endpoint))
	for _, tc := range []struct {
		name   string
		change func(map[string]string)
		code   int
	}{
		{"hex signature", func(m map[string]string) { m["X-FS-Signature"] = hex.EncodeToString(sigBytes) }, 200},
		{"base64 pubkey", func(m map[string]string) { m["X-FS-Pubkey"] = base64.StdEncoding.EncodeToString(pk) }, 200},
		{"one header missing", func(m map[string]string) { delete(m, "X-FS-Signature") }, 400},
		{"two headers missing", func(m map[string]string) { delete(m, "X-FS-Signature"); delete(m, "X-FS-Pubkey") }, 400},
		{"empty header", func(m map[string]string) { m["X-FS-Timestamp"] = "" }, 400},
		{"pubkey short", func(m map[string]string) { m["X-FS-Pubkey"] = m["X-FS-Pubkey"][:64] }, 400},
		{"pubkey not 07", func(m map[string]string) { m["X-FS-Pubkey"] = hex.EncodeToString(otherPrefix) }, 400},
		{"pubkey not a point", func(m map[string]string) { m["X-FS-Pubkey"] = "07" + "02" + string(bytes.Repeat([]byte("00"), 31)) }, 400},
		{"signature not base64", func(m map[string]string) { m["X-FS-Signature"] = "!!" }, 400},
		{"timestamp not a number", func(m map[string]string) { m["X-FS-Timestamp"] = "soon" }, 400},
		{"timestamp a day and a second early", func(m map[string]string) {
			ts := now.Add(-24*time.Hour - time.Second).Unix()
			m["X-FS-Timestamp"], m["X-FS-Signature"] = strconv.FormatInt(ts, 10), sign(ts, endpoint)
		}, 425},
		{"timestamp a day late", func(m map[string]string) {
			ts := now.Add(24 * time.Hour).Unix()
			m["X-FS-Timestamp"], m["X-FS-Signature"] = strconv.FormatInt(ts, 10), sign(ts, endpoint)
		}, 200},
		{"signature over another timestamp", func(m map[string]string) { m["X-FS-Timestamp"] = strconv.FormatInt(now.Unix()+1, 10) }, 401},
		{"signature without the query", func(m map[string]string) { m["X-FS-Signature"] = sign(now.Unix(), "/session_version") }, 401},
		{"flipped signature", func(m map[string]string) {
			b := bytes.Clone(sigBytes)
			b[5] ^= 1
			m["X-FS-Signature"] = base64.StdEncoding.EncodeToString(b)
		}, 401},
	} {
		hdr := good()
		tc.change(hdr)
		r := h.do("GET", endpoint, hdr, nil)
		if r.Code != tc.code {
			t.Fatalf("%s: %d %s", tc.name, r.Code, r.Body)
		}
		if tc.code != 200 && (r.Headers["content-type"] != "text/plain" || !bytes.HasPrefix(r.Body, []byte("Invalid authentication: "))) {
			t.Fatalf("%s: answer %v %q", tc.name, r.Headers, r.Body)
		}
	}
}
