package sessionproto

import (
	"bytes"
	"testing"

	"sotto.dev/internal/vectors"
)

func TestPadLengths(t *testing.T) {
	tests := []struct {
		in, legacy, libsession int
	}{
		{0, 159, 160},
		{1, 159, 160},
		{9, 159, 160},
		{157, 159, 160},
		{158, 159, 160},
		{159, 319, 320},
		{160, 319, 320},
		{317, 319, 320},
		{318, 319, 320},
		{319, 479, 480},
		{1000, 1119, 1120},
	}
	for _, tt := range tests {
		m := bytes.Repeat([]byte{0xaa}, tt.in)
		for _, c := range []struct {
			name string
			pad  func([]byte) []byte
			want int
		}{{"PadLegacy", PadLegacy, tt.legacy}, {"Pad", Pad, tt.libsession}} {
			p := c.pad(m)
			if len(p) != c.want {
				t.Errorf("%s(%d bytes) = %d bytes, want %d", c.name, tt.in, len(p), c.want)
				continue
			}
			if !bytes.Equal(p[:tt.in], m) || p[tt.in] != padTerminator || bytes.ContainsFunc(p[tt.in+1:], func(r rune) bool { return r != 0 }) {
				t.Errorf("%s(%d bytes) = %x, want m || 80 || 00…", c.name, tt.in, p)
			}
			if got := Unpad(p); !bytes.Equal(got, m) {
				t.Errorf("Unpad(%s(%d bytes)) = %d bytes, want the input back", c.name, tt.in, len(got))
			}
		}
	}
}

func TestPadVectors(t *testing.T) {
	v := vectors.Get(t, "derived.padding_libsession_pad_message")
	var n int
	v.Out(t, "padded_len", &n)
	got := Pad(v.InHex(t, "content"))
	if want := v.OutHex(t, "padded"); !bytes.Equal(got, want) || len(got) != n {
		t.Errorf("Pad = %x, want %x", got, want)
	}

	v = vectors.Get(t, "derived.one_to_one_wire_legacy_desktop")
	v.Out(t, "padded_len", &n)
	got = PadLegacy(v.InHex(t, "content_protobuf"))
	if want := v.OutHex(t, "padded_content"); !bytes.Equal(got, want) || len(got) != n {
		t.Errorf("PadLegacy = %x, want %x", got, want)
	}
}

func TestUnpad(t *testing.T) {
	tests := []struct {
		name    string
		in, out []byte
	}{
		{"empty", nil, nil},
		{"terminator only", []byte{0x80}, []byte{}},
		{"terminator and zeros", []byte{0x80, 0, 0}, []byte{}},
		{"padded", []byte{1, 2, 0x80, 0, 0, 0}, []byte{1, 2}},
		{"padded without zeros", []byte{1, 2, 0x80}, []byte{1, 2}},
		{"only the last terminator counts", []byte{0x80, 0, 0x80, 0}, []byte{0x80, 0}},
		{"unpadded", []byte{1, 2, 3}, []byte{1, 2, 3}},
		// Desktop accepts these as unpadded; libsession would strip the
		// zeros. We keep the bytes so a Content ending in 0x00 survives.
		{"trailing zeros without terminator", []byte{1, 2, 0, 0}, []byte{1, 2, 0, 0}},
		{"all zeros", []byte{0, 0, 0}, []byte{0, 0, 0}},
		{"terminator followed by data", []byte{1, 0x80, 5}, []byte{1, 0x80, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Unpad(tt.in); !bytes.Equal(got, tt.out) {
				t.Errorf("Unpad(%x) = %x, want %x", tt.in, got, tt.out)
			}
		})
	}
}

func FuzzUnpad(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add([]byte{0, 0})
	f.Add([]byte("hello\x80\x00\x00"))
	f.Add(Pad([]byte("hello")))
	f.Fuzz(func(t *testing.T, m []byte) {
		got := Unpad(m)
		if !bytes.HasPrefix(m, got) {
			t.Fatalf("Unpad result is not a prefix of the input")
		}
		if len(got) < len(m) {
			rest := m[len(got):]
			if rest[0] != padTerminator || bytes.ContainsFunc(rest[1:], func(r rune) bool { return r != 0 }) {
				t.Fatalf("Unpad dropped %x, which is not 80 00…", rest)
			}
		}
		if back := Unpad(Pad(m)); !bytes.Equal(back, m) {
			t.Fatalf("Unpad(Pad(m)) != m")
		}
		if back := Unpad(PadLegacy(m)); !bytes.Equal(back, m) {
			t.Fatalf("Unpad(PadLegacy(m)) != m")
		}
	})
}
