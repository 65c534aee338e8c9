package app

import (
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sotto.dev/identity"
)

// pendingAccount is a new account whose recovery phrase the page showed;
// it is saved once the person has typed back two of its words.
type pendingAccount struct {
	keys   *identity.Keys
	phrase []string
	check  [2]int // 0-based word positions to type back
}

// accountState is what the page starts from.
func (s *Server) accountState() string {
	if s.engine() != nil {
		return "ready"
	}
	if _, err := os.Stat(s.cfg.IdentityFile); err == nil {
		return "locked"
	}
	return "new"
}

func (s *Server) handleState(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"state": s.accountState(), "network": s.cfg.Client.NetworkFile != ""}
	if s.cfg.Client.NetworkFile == "" {
		out["network_hint"] = s.cfg.NoNetworkHint
	}
	if c := s.engine(); c != nil {
		out["session_id"] = c.SessionID().String()
		name, err := c.ProfileName(r.Context())
		if err != nil {
			s.fail(w, err)
			return
		}
		out["name"] = name
	}
	writeJSON(w, http.StatusOK, out)
}

// errExists refuses onboarding once an account exists.
var errExists = errors.New("an account already exists in this home directory")

func (s *Server) refuseExisting() error {
	if s.engine() != nil {
		return errExists
	}
	if _, err := os.Lstat(s.cfg.IdentityFile); !errors.Is(err, fs.ErrNotExist) {
		return errExists
	}
	return nil
}

// handleOnboardNew makes a new account's keys and shows its recovery
// phrase, once: asking again makes another account.
func (s *Server) handleOnboardNew(w http.ResponseWriter, r *http.Request) {
	if err := s.refuseExisting(); err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	k, seed, err := identity.NewKeys()
	if err != nil {
		s.fail(w, err)
		return
	}
	clear(seed)
	phrase, err := k.RecoveryPhrase()
	if err != nil {
		k.Wipe()
		s.fail(w, err)
		return
	}
	p := &pendingAccount{keys: k, phrase: phrase}
	p.check[0] = randN(len(phrase))
	for p.check[1] = randN(len(phrase)); p.check[1] == p.check[0]; p.check[1] = randN(len(phrase)) {
	}
	if p.check[0] > p.check[1] {
		p.check[0], p.check[1] = p.check[1], p.check[0]
	}
	s.mu.Lock()
	if s.pending != nil {
		s.pending.keys.Wipe()
	}
	s.pending = p
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"session_id": k.SessionID().String(), "phrase": phrase, "check": []int{p.check[0] + 1, p.check[1] + 1},
	})
}

func randN(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return int(v.Int64())
}

type onboardRequest struct {
	Words      []string `json:"words,omitempty"`
	Phrase     string   `json:"phrase,omitempty"`
	Name       string   `json:"name"`
	Passphrase string   `json:"passphrase,omitempty"`
}

// handleOnboardCreate saves the account shown by handleOnboardNew once
// the two words asked for are right.
func (s *Server) handleOnboardCreate(w http.ResponseWriter, r *http.Request) {
	var req onboardRequest
	if err := readJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	s.mu.Lock()
	p := s.pending
	s.mu.Unlock()
	if p == nil {
		s.fail(w, errors.Join(errBadInput, errors.New("no new account is waiting: start again")))
		return
	}
	if len(req.Words) != 2 || !sameWord(req.Words[0], p.phrase[p.check[0]]) || !sameWord(req.Words[1], p.phrase[p.check[1]]) {
		s.fail(w, errors.Join(errBadInput, errors.New("those are not the words of your recovery phrase: check what you wrote down")))
		return
	}
	s.mu.Lock()
	if s.pending != p {
		s.mu.Unlock()
		s.fail(w, errors.Join(errBadInput, errors.New("another new account replaced this one: start again")))
		return
	}
	s.pending = nil
	s.mu.Unlock()
	if err := s.saveAccount(r.Context(), p.keys, req, false); err != nil {
		s.fail(w, err)
		return
	}
	s.handleState(w, r)
}

// sameWord compares recovery words as the decoder does: case-insensitive.
func sameWord(typed, want string) bool {
	return strings.EqualFold(strings.TrimSpace(typed), want)
}

func (s *Server) handleOnboardRestore(w http.ResponseWriter, r *http.Request) {
	var req onboardRequest
	if err := readJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if err := s.refuseExisting(); err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	seed, err := identity.DecodeMnemonic(strings.Fields(strings.ToLower(req.Phrase)))
	if err != nil {
		s.fail(w, errors.Join(errBadInput, errors.New("that is not a valid recovery phrase: "+err.Error())))
		return
	}
	k, err := identity.KeysFromSeed(seed)
	clear(seed)
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := s.saveAccount(r.Context(), k, req, true); err != nil {
		s.fail(w, err)
		return
	}
	s.handleState(w, r)
}

// saveAccount writes the identity file of k (encrypted with the
// passphrase, if any), opens the engine and sets the display name. The
// engine takes k; on failure k is wiped.
func (s *Server) saveAccount(ctx context.Context, k *identity.Keys, req onboardRequest, restore bool) error {
	opened := false
	defer func() {
		if !opened {
			k.Wipe()
		}
	}()
	name := strings.TrimSpace(req.Name)
	if len(name) > 100 {
		return errors.Join(errBadInput, errors.New("a display name is at most 100 bytes"))
	}
	if !restore && name == "" {
		return errors.Join(errBadInput, errors.New("choose a display name"))
	}
	if err := s.refuseExisting(); err != nil {
		return errors.Join(errBadInput, err)
	}
	kf, err := identity.NewKeyFile(k)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.cfg.IdentityFile), 0o700); err != nil {
		return err
	}
	pass := []byte(req.Passphrase)
	defer clear(pass)
	if err := kf.Save(s.cfg.IdentityFile, pass, s.cfg.KDF); err != nil {
		return err
	}
	opened = true // open takes kf (and k) even when it fails
	if err := s.open(kf); err != nil {
		return err
	}
	c := s.engine()
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	if !restore {
		// A new account has no config objects in its swarm to wait for.
		_ = c.MarkNewAccount(ctx)
	}
	if name != "" {
		if err := c.SetProfileName(ctx, name); err != nil {
			s.log.Warn("app: set display name", "err", err)
		}
	}
	return nil
}

func (s *Server) handleUnlock(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Passphrase string `json:"passphrase"`
	}
	if err := readJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if s.engine() != nil {
		s.handleState(w, r)
		return
	}
	pass := []byte(req.Passphrase)
	kf, err := identity.LoadKeyFile(s.cfg.IdentityFile, pass)
	clear(pass)
	if errors.Is(err, identity.ErrLocked) {
		// Argon2 makes guessing slow already; a pause makes it slower.
		select {
		case <-r.Context().Done():
		case <-time.After(500 * time.Millisecond):
		}
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "wrong passphrase"})
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := s.open(kf); err != nil {
		s.fail(w, err)
		return
	}
	s.handleState(w, r)
}
