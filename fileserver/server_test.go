package fileserver

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sotto.dev/onion"
)

func near(a, b float64) bool { return math.Abs(a-b) < 0.002 }

func TestUploadDownloadInfo(t *testing.T) {
	h := newHarness(t, nil)
	now := h.clock.Now()
	data := payload(1, 5000)
	id, exp := h.upload(data, nil)
	if id != ContentID(data) || len(id) != 44 {
		t.Fatalf("id %q, want the content id", id)
	}
	if want := unixSeconds(now.Add(DefaultFileTTL)); !near(exp, want) {
		t.Fatalf("expires %f, want %f", exp, want)
	}

	r := h.do("GET", "/file/"+string(id), nil, nil)
	if r.Code != 200 || !bytes.Equal(r.Body, data) || r.Headers["content-type"] != "application/octet-stream" {
		t.Fatalf("GET: %d %v", r.Code, r.Headers)
	}
	if got, err := http.ParseTime(r.Headers["expires"]); err != nil || !got.Equal(now.Add(DefaultFileTTL).Truncate(time.Second)) {
		t.Fatalf("Expires header %q", r.Headers["expires"])
	}

	r = h.do("GET", "/file/"+string(id)+"/info", nil, nil)
	var info struct {
		Size     int64   `json:"size"`
		Uploaded float64 `json:"uploaded"`
		Expires  float64 `json:"expires"`
	}
	decode(t, r.Body, &info)
	if r.Code != 200 || info.Size != 5000 || !near(info.Uploaded, unixSeconds(now)) || !near(info.Expires, exp) {
		t.Fatalf("info: %d %s", r.Code, r.Body)
	}

	// Both ciphers and the v3 form reach the same API.
	for _, tc := range []struct{ name, method, endpoint string }{
		{"unknown id", "GET", "/file/" + strings.Repeat("A", 44)},
		{"unknown info", "GET", "/file/" + strings.Repeat("A", 44) + "/info"},
		{"unknown legacy id", "GET", "/files/12345"},
		{"bad id", "GET", "/file/..%2Fkey.json"},
		{"short id", "GET", "/file/abc"},
		{"leading zero", "GET", "/file/0123"},
		{"too large integer", "GET", "/file/9007199254740992"},
		{"unknown endpoint", "GET", "/nothing"},
		{"wrong method", "PUT", "/file"},
		{"extend unknown", "POST", "/file/" + strings.Repeat("B", 44) + "/extend"},
	} {
		wantStatus(t, tc.name, h.do(tc.method, tc.endpoint, nil, nil), 404)
	}
}

func TestDeduplicationExtendsExpiry(t *testing.T) {
	h := newHarness(t, nil)
	data := payload(2, 3000)
	id1, exp1 := h.upload(data, map[string]string{"X-FS-TTL": "3600"})
	h.clock.Add(time.Hour / 2)
	id2, exp2 := h.upload(data, nil)
	if id1 != id2 {
		t.Fatalf("same content, ids %s and %s", id1, id2)
	}
	if !near(exp2, unixSeconds(h.clock.Now().Add(DefaultFileTTL))) || exp2 <= exp1 {
		t.Fatalf("re-upload expiry %f (first %f)", exp2, exp1)
	}
	// A shorter TTL on a re-upload never lowers the expiry.
	h.clock.Add(time.Minute)
	_, exp3 := h.upload(data, map[string]string{"X-FS-TTL": "60"})
	if exp3 != exp2 {
		t.Fatalf("short re-upload moved expiry %f -> %f", exp2, exp3)
	}
	if b, n := h.srv.Usage(); b != 3000 || n != 1 {
		t.Fatalf("usage %d bytes, %d files after dedup", b, n)
	}
	if n, d := value(t, h.srv.m.uploads.WithLabelValues("new")), value(t, h.srv.m.uploads.WithLabelValues("dedup")); n != 1 || d != 2 {
		t.Fatalf("uploads counted %v new, %v dedup", n, d)
	}
}

func TestTTLHeaderAndExtend(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxTTL = 30 * 24 * time.Hour })
	now := h.clock.Now()
	id, exp := h.upload(payload(3, 100), map[string]string{"X-FS-TTL": "30"})
	if !near(exp, unixSeconds(now.Add(30*time.Second))) {
		t.Fatalf("TTL 30: expires %f", exp)
	}
	for _, bad := range []string{"-1", "abc", "1.5", strconv.Itoa(30*24*3600 + 1), "", "0x10"} {
		wantStatus(t, "upload TTL "+bad, h.do("POST", "/file", map[string]string{"X-FS-TTL": bad}, payload(4, 10)), 400)
		wantStatus(t, "extend TTL "+bad, h.do("POST", "/file/"+string(id)+"/extend", map[string]string{"X-FS-TTL": bad}, nil), 400)
	}
	if _, n := h.srv.Usage(); n != 1 {
		t.Fatalf("a refused TTL stored a file (%d files)", n)
	}

	var info struct {
		Size     int64   `json:"size"`
		Uploaded float64 `json:"uploaded"`
		Expires  float64 `json:"expires"`
	}
	r := h.do("POST", "/file/"+string(id)+"/extend", map[string]string{"X-FS-TTL": "7200"}, nil)
	decode(t, r.Body, &info)
	if r.Code != 200 || info.Size != 100 || !near(info.Expires, unixSeconds(now.Add(2*time.Hour))) {
		t.Fatalf("extend: %d %s", r.Code, r.Body)
	}
	// Extending to less than the current expiry changes nothing.
	r = h.do("POST", "/file/"+string(id)+"/extend", map[string]string{"X-FS-TTL": "60"}, nil)
	decode(t, r.Body, &info)
	if !near(info.Expires, unixSeconds(now.Add(2*time.Hour))) {
		t.Fatalf("extend lowered the expiry: %s", r.Body)
	}
	// Without a header: the default TTL.
	r = h.do("POST", "/file/"+string(id)+"/extend", nil, nil)
	decode(t, r.Body, &info)
	if !near(info.Expires, unixSeconds(now.Add(DefaultFileTTL))) {
		t.Fatalf("default extend: %s", r.Body)
	}

	// A server with MaxTTL 0 ignores the header, as Session's default does.
	h2 := newHarness(t, func(c *Config) { c.MaxTTL = 0 })
	_, exp = h2.upload(payload(5, 10), map[string]string{"X-FS-TTL": "nonsense"})
	if !near(exp, unixSeconds(h2.clock.Now().Add(DefaultFileTTL))) {
		t.Fatalf("ignored TTL: %f", exp)
	}
}

func TestLegacyEndpoints(t *testing.T) {
	h := newHarness(t, nil)
	data := payload(6, 777)
	body, _ := json.Marshal(map[string]string{"file": base64.StdEncoding.EncodeToString(data)})
	var ids []int64
	for range 2 {
		r := h.do("POST", "/files", map[string]string{"Content-Type": "application/json"}, body)
		var out struct {
			Result     int64 `json:"result"`
			StatusCode int   `json:"status_code"`
		}
		decode(t, r.Body, &out)
		if r.Code != 200 || out.StatusCode != 200 || out.Result <= 0 || out.Result >= 1<<53 {
			t.Fatalf("POST /files: %d %s", r.Code, r.Body)
		}
		ids = append(ids, out.Result)
	}
	if ids[0] == ids[1] {
		t.Fatal("legacy uploads deduplicated")
	}
	id := strconv.FormatInt(ids[0], 10)
	r := h.do("GET", "/files/"+id, nil, nil)
	var out struct {
		StatusCode int    `json:"status_code"`
		Result     string `json:"result"`
	}
	decode(t, r.Body, &out)
	if got, _ := base64.StdEncoding.DecodeString(out.Result); r.Code != 200 || out.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Fatalf("GET /files: %d %s", r.Code, r.Body)
	}
	if r := h.do("GET", "/file/"+id, nil, nil); r.Code != 200 || !bytes.Equal(r.Body, data) {
		t.Fatalf("GET /file/<legacy>: %d", r.Code)
	}
	// New-style ids through the old download form too.
	newID, _ := h.upload(data, nil)
	if r := h.do("GET", "/files/"+string(newID), nil, nil); r.Code != 200 {
		t.Fatalf("GET /files/<new id>: %d", r.Code)
	}
	// Legacy ids cannot be extended.
	wantStatus(t, "extend legacy", h.do("POST", "/file/"+id+"/extend", nil, nil), 404)

	for _, tc := range []struct {
		name string
		body string
		code int
	}{
		{"not json", `file=abc`, 400},
		{"no file", `{"data":"AAAA"}`, 400},
		{"file not string", `{"file":123}`, 400},
		{"empty", `{"file":""}`, 413},
		{"not base64", `{"file":"!!!!"}`, 400},
		{"trailing garbage", `{"file":"AAAA"} x`, 400},
	} {
		wantStatus(t, tc.name, h.do("POST", "/files", nil, []byte(tc.body)), tc.code)
	}
}

func TestSizeLimit(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.MaxFileSize = 1000 })
	h.upload(payload(7, 1000), nil)
	wantStatus(t, "1001 bytes", h.do("POST", "/file", nil, payload(7, 1001)), 413)
	wantStatus(t, "empty", h.do("POST", "/file", nil, []byte{}), 413)
	wantStatus(t, "no body", h.do("POST", "/file", nil, nil), 413)
	big, _ := json.Marshal(map[string]string{"file": base64.StdEncoding.EncodeToString(payload(7, 1001))})
	wantStatus(t, "legacy 1001 bytes", h.do("POST", "/files", nil, big), 413)
	huge, _ := json.Marshal(map[string]string{"file": strings.Repeat("A", 4000)})
	wantStatus(t, "legacy long base64", h.do("POST", "/files", nil, huge), 413)
	if b, n := h.srv.Usage(); b != 1000 || n != 1 {
		t.Fatalf("usage %d/%d", b, n)
	}
}

func TestExpirySweep(t *testing.T) {
	h := newHarness(t, nil)
	short, _ := h.upload(payload(8, 400), map[string]string{"X-FS-TTL": "60"})
	long, _ := h.upload(payload(9, 500), nil)
	h.clock.Add(61 * time.Second)

	// Expired files are gone at once, before any sweep.
	wantStatus(t, "expired GET", h.do("GET", "/file/"+string(short), nil, nil), 404)
	wantStatus(t, "expired info", h.do("GET", "/file/"+string(short)+"/info", nil, nil), 404)
	wantStatus(t, "expired extend", h.do("POST", "/file/"+string(short)+"/extend", nil, nil), 404)
	if _, err := os.Stat(h.srv.store.blobPath(short)); err != nil {
		t.Fatalf("blob deleted before the sweep: %v", err)
	}
	n, err := h.srv.Sweep(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := os.Stat(h.srv.store.blobPath(short)); !os.IsNotExist(err) {
		t.Fatalf("expired blob still on disk: %v", err)
	}
	if b, files := h.srv.Usage(); b != 500 || files != 1 {
		t.Fatalf("usage after sweep %d/%d", b, files)
	}
	if r := h.do("GET", "/file/"+string(long), nil, nil); r.Code != 200 {
		t.Fatalf("live file after sweep: %d", r.Code)
	}
	// Re-uploading the expired content stores it afresh.
	if id, _ := h.upload(payload(8, 400), nil); id != short {
		t.Fatal("new id for the same content")
	}
	if r := h.do("GET", "/file/"+string(short), nil, nil); r.Code != 200 || !bytes.Equal(r.Body, payload(8, 400)) {
		t.Fatalf("re-uploaded file: %d", r.Code)
	}
	// An expired file that is uploaded again before the sweep is replaced.
	h.clock.Add(DefaultFileTTL + time.Second)
	if id, _ := h.upload(payload(9, 500), nil); id != long {
		t.Fatal("new id")
	}
	if n, err := h.srv.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("second sweep: %d %v", n, err)
	}
	if r := h.do("GET", "/file/"+string(long), nil, nil); r.Code != 200 || !bytes.Equal(r.Body, payload(9, 500)) {
		t.Fatalf("replaced file: %d", r.Code)
	}
	if got := value(t, h.srv.m.expired); got != 2 {
		t.Fatalf("expired counted %v", got)
	}
}

func TestCorruptionDetected(t *testing.T) {
	h := newHarness(t, nil)
	data := payload(10, 2000)
	id, _ := h.upload(data, nil)
	path := h.srv.store.blobPath(id)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[1234] ^= 1
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "corrupt GET", h.do("GET", "/file/"+string(id), nil, nil), 500)
	if got := value(t, h.srv.m.corrupt); got != 1 {
		t.Fatalf("corrupt counted %v", got)
	}
	// Quarantined: gone, and a new upload stores it again.
	wantStatus(t, "quarantined GET", h.do("GET", "/file/"+string(id), nil, nil), 404)
	if _, n := h.srv.Usage(); n != 0 {
		t.Fatalf("%d files after quarantine", n)
	}
	h.upload(data, nil)
	if r := h.do("GET", "/file/"+string(id), nil, nil); r.Code != 200 || !bytes.Equal(r.Body, data) {
		t.Fatalf("after re-upload: %d", r.Code)
	}

	// A truncated blob is caught by /info and /extend too.
	if err := os.Truncate(path, 10); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "truncated info", h.do("GET", "/file/"+string(id)+"/info", nil, nil), 500)
	h.upload(data, nil)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "missing blob extend", h.do("POST", "/file/"+string(id)+"/extend", nil, nil), 500)
	wantStatus(t, "missing blob GET", h.do("GET", "/file/"+string(id), nil, nil), 404)
}

func TestRestartRecovers(t *testing.T) {
	h := newHarness(t, nil)
	var ids []FileID
	for i := range 5 {
		id, _ := h.upload(payload(20+i, 1000*(i+1)), nil)
		ids = append(ids, id)
	}
	// What a crash can leave: a temporary file, a blob without a row (an
	// upload killed between rename and COMMIT), and one whose row was
	// deleted but not the blob.
	orphan := ContentID([]byte("orphan"))
	h.stop()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(h.dir, "tmp", "0123"), []byte("half"), 0o600))
	must(os.MkdirAll(filepath.Dir(h.srv.store.blobPath(orphan)), 0o700))
	must(os.WriteFile(h.srv.store.blobPath(orphan), []byte("orphan"), 0o600))
	// And a row whose blob was damaged (wrong size) while the server was down.
	must(os.Truncate(h.srv.store.blobPath(ids[4]), 3))
	h.start()
	if es, _ := os.ReadDir(filepath.Join(h.dir, "tmp")); len(es) != 0 {
		t.Fatalf("tmp not cleared: %v", es)
	}
	if _, err := os.Stat(h.srv.store.blobPath(orphan)); !os.IsNotExist(err) {
		t.Fatal("orphan blob kept")
	}
	for i, id := range ids[:4] {
		if r := h.do("GET", "/file/"+string(id), nil, nil); r.Code != 200 || !bytes.Equal(r.Body, payload(20+i, 1000*(i+1))) {
			t.Fatalf("file %d after restart: %d", i, r.Code)
		}
	}
	wantStatus(t, "damaged file", h.do("GET", "/file/"+string(ids[4]), nil, nil), 404)
	if b, n := h.srv.Usage(); n != 4 || b != 1000+2000+3000+4000 {
		t.Fatalf("usage after restart %d/%d", b, n)
	}
}

func TestNotServedOutsideOnion(t *testing.T) {
	h := newHarness(t, nil)
	id, _ := h.upload(payload(11, 100), nil)
	base := "http://127.0.0.1:" + strconv.Itoa(int(h.port))
	c := h.client("127.0.0.1")
	for _, p := range []string{"/file/" + string(id), "/file/" + string(id) + "/info", "/session_version?platform=desktop", "/metrics"} {
		resp, err := c.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("direct GET %s: %d", p, resp.StatusCode)
		}
	}
	resp, err := c.Post(base+"/file", "application/octet-stream", strings.NewReader("direct"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("direct POST /file: %d", resp.StatusCode)
	}
	// A frame that does not open gets the relay-style unencrypted 400.
	resp, err = c.Post(base+"/oxen/v4/lsrpc", "application/octet-stream", strings.NewReader("garbage"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || strings.Contains(string(b), "file") {
		t.Fatalf("garbage frame: %d %q", resp.StatusCode, b)
	}
}

func TestMetricsListener(t *testing.T) {
	keys, _ := KeysFromSeed(testSeed)
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:9100", "localhost:0", "nonsense"} {
		cfg := testConfig(t.TempDir())
		cfg.MetricsListen = addr
		if s, err := New(cfg, Deps{Keys: keys}); err == nil {
			s.Close()
			t.Fatalf("metrics on %s accepted", addr)
		}
	}
	h := newHarness(t, func(c *Config) { c.MetricsListen = "127.0.0.1:0" })
	h.upload(payload(12, 321), nil)
	resp, err := h.client("127.0.0.1").Get("http://" + h.srv.MetricsAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"fileserver_stored_bytes 321", "fileserver_stored_files 1", `fileserver_requests_total{code="200",endpoint="POST /file"} 1`} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("metrics lack %q:\n%s", want, b)
		}
	}
}

// The deprecated v3 onion form reaches the same API: a JSON request, and
// the body of a 200 answer (base64 of its encryption) or {"status_code"}.
func TestOnionV3(t *testing.T) {
	h := newHarness(t, nil)
	id, _ := h.upload(payload(13, 64), nil)
	for _, tc := range []struct{ req, want string }{
		{`{"endpoint":"/file/` + string(id) + `/info","method":"GET"}`, `"size":64`},
		{`{"endpoint":"/file/` + strings.Repeat("C", 44) + `","method":"GET"}`, `{"status_code":404}`},
		{`{"endpoint":"/file","method":"POST","body":"v3 upload"}`, string(ContentID([]byte("v3 upload")))},
	} {
		eph, _ := onion.GenerateKeyPair()
		lk, _ := onion.ClientLayerKey(onion.CipherAESGCM, eph, h.srv.Keys().X25519Public())
		frame, _ := onion.EncodeHop(lk.Seal([]byte(tc.req)), onion.LayerInfo{EphemeralKey: eph.Public(), Cipher: onion.CipherAESGCM}.Marshal())
		resp, err := h.client("127.0.0.1").Post("http://127.0.0.1:"+strconv.Itoa(int(h.port))+onion.TargetV3, "application/octet-stream", bytes.NewReader(frame))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ct, err := base64.StdEncoding.DecodeString(string(b))
		if err != nil {
			t.Fatalf("%s: %d %q", tc.req, resp.StatusCode, b)
		}
		pt, err := lk.Open(ct)
		if err != nil || !strings.Contains(string(pt), tc.want) {
			t.Fatalf("%s: %q %v", tc.req, pt, err)
		}
	}
}
