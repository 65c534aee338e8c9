package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"sotto.dev/ledger/state"
)

// stateFileName is the committed state inside the data directory.
const stateFileName = "ledger-state.bin"

// stateFileMagic starts a state file.
var stateFileMagic = []byte("sotto-ledger-state-file-v1\x00")

// stateFile persists the committed state: magic, the last block hash
// (u16 length + bytes), the canonical state encoding, and a SHA-256 of
// everything before it. It is replaced atomically (write, sync, rename,
// sync directory), so a crash leaves either the old or the new state.
type stateFile struct {
	dir string
}

func (f *stateFile) path() string { return filepath.Join(f.dir, stateFileName) }

// load returns the stored state, or nil if there is none yet.
func (f *stateFile) load() (*state.State, []byte, error) {
	b, err := os.ReadFile(f.path())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: read state: %w", err)
	}
	bad := func(msg string) error { return fmt.Errorf("ledger: state file %s: %s", f.path(), msg) }
	if len(b) < len(stateFileMagic)+2+sha256.Size || !bytes.HasPrefix(b, stateFileMagic) {
		return nil, nil, bad("not a state file")
	}
	body, sum := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, nil, bad("checksum mismatch")
	}
	rest := body[len(stateFileMagic):]
	n := int(binary.BigEndian.Uint16(rest))
	if len(rest) < 2+n {
		return nil, nil, bad("truncated block hash")
	}
	blockHash := bytes.Clone(rest[2 : 2+n])
	st, err := state.Decode(rest[2+n:])
	if err != nil {
		return nil, nil, bad(err.Error())
	}
	return st, blockHash, nil
}

// save stores a state encoding (State.Encode) with the block hash.
func (f *stateFile) save(enc []byte, blockHash []byte) error {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("ledger: state dir: %w", err)
	}
	var b []byte
	b = append(b, stateFileMagic...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(blockHash)))
	b = append(b, blockHash...)
	b = append(b, enc...)
	sum := sha256.Sum256(b)
	b = append(b, sum[:]...)

	tmp, err := os.CreateTemp(f.dir, stateFileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("ledger: save state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("ledger: save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("ledger: save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("ledger: save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), f.path()); err != nil {
		return fmt.Errorf("ledger: save state: %w", err)
	}
	d, err := os.Open(f.dir)
	if err != nil {
		return fmt.Errorf("ledger: save state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("ledger: save state: %w", err)
	}
	return nil
}
