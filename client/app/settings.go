package app

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"sotto.dev/client"
	"sotto.dev/config"
	"sotto.dev/identity"
)

// Settings: the passphrase, the recovery phrase (after a confirmation),
// receipts, the devices and the config sync state, the profile picture.

func (s *Server) settingsRoutes(m *http.ServeMux) {
	m.HandleFunc("GET /api/settings", s.withEngine(s.handleSettings))
	m.HandleFunc("POST /api/settings/passphrase", s.withEngine(s.handlePassphrase))
	m.HandleFunc("POST /api/settings/phrase", s.withEngine(s.handlePhrase))
	m.HandleFunc("POST /api/settings/receipts", s.withEngine(s.handleReceipts))
	m.HandleFunc("POST /api/settings/devices/remove", s.withEngine(s.handleRemoveDevice))
	m.HandleFunc("GET /api/profile/picture", s.withEngine(s.handleGetPicture))
	m.HandleFunc("POST /api/profile/picture", s.withEngine(s.handleSetPicture))
	m.HandleFunc("POST /api/profile/picture/remove", s.withEngine(s.handleRemovePicture))
}

// errWrongPassphrase answers a passphrase that does not open the
// identity file.
var errWrongPassphrase = errors.New("wrong passphrase")

// encrypted reports whether the identity file needs a passphrase.
func (s *Server) encrypted() (bool, error) {
	kf, err := identity.LoadKeyFile(s.cfg.IdentityFile, nil)
	if errors.Is(err, identity.ErrLocked) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	kf.Wipe()
	return false, nil
}

// checkPassphrase loads the identity file with pass, which must open it
// when it is encrypted. A wrong one waits a little, as unlocking does.
func (s *Server) checkPassphrase(ctx context.Context, pass []byte) (*identity.KeyFile, error) {
	kf, err := identity.LoadKeyFile(s.cfg.IdentityFile, pass)
	if errors.Is(err, identity.ErrLocked) {
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
		return nil, errWrongPassphrase
	}
	return kf, err
}

type jsonDevice struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Platform  string `json:"platform"`
	FirstSeen int64  `json:"first_seen"`
	LastSeen  int64  `json:"last_seen"`
	Removed   bool   `json:"removed,omitempty"`
	This      bool   `json:"this,omitempty"`
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request, c *client.Client) {
	ctx := r.Context()
	enc, err := s.encrypted()
	if err != nil {
		s.fail(w, err)
		return
	}
	read, delivery, err := c.Receipts(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := map[string]any{"encrypted": enc, "read_receipts": read, "delivery_receipts": delivery}
	devs := []jsonDevice{}
	if list, err := c.Devices(ctx); err == nil {
		for _, d := range list {
			devs = append(devs, jsonDevice{
				ID: d.ID.String(), Name: d.Name, Platform: d.Platform, FirstSeen: d.FirstSeen.UnixMilli(),
				LastSeen: d.LastSeen.UnixMilli(), Removed: d.IsRemoved(), This: d.ID == c.ThisDevice(),
			})
		}
	} else {
		out["devices_error"] = err.Error()
	}
	out["devices"] = devs
	if st, err := c.SyncStatus(); err == nil {
		out["sync"] = st
	} else {
		out["sync"], out["sync_error"] = []client.ConfigStatus{}, err.Error()
	}
	_, key, err := c.ProfilePicture(ctx)
	out["picture"] = err == nil && len(key) > 0
	writeJSON(w, http.StatusOK, out)
}

// handlePassphrase sets, changes or (with an empty new one) removes the
// passphrase of the identity file; the current one must be given when
// there is one. The file keeps its database key.
func (s *Server) handlePassphrase(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if err := readJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	cur, next := []byte(req.Current), []byte(req.New)
	defer clear(cur)
	defer clear(next)
	kf, ok := s.ownKeys(w, r, c, cur)
	if !ok {
		return
	}
	defer kf.Wipe()
	if err := kf.Save(s.cfg.IdentityFile, next, s.cfg.KDF); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"encrypted": len(next) > 0})
}

// ownKeys opens the identity file with pass and checks that it holds c's
// account; when not, it answers (403 for a wrong passphrase) and returns
// false. The caller wipes the keys.
func (s *Server) ownKeys(w http.ResponseWriter, r *http.Request, c *client.Client, pass []byte) (*identity.KeyFile, bool) {
	kf, err := s.checkPassphrase(r.Context(), pass)
	if errors.Is(err, errWrongPassphrase) {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
		return nil, false
	}
	if err != nil {
		s.fail(w, err)
		return nil, false
	}
	if kf.Keys.SessionID() != c.SessionID() {
		kf.Wipe()
		s.fail(w, errors.New("the identity file holds another account"))
		return nil, false
	}
	return kf, true
}

// handlePhrase shows the recovery phrase after a confirmation: the
// passphrase when the identity file has one, else an explicit confirm.
func (s *Server) handlePhrase(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req struct {
		Passphrase string `json:"passphrase"`
		Confirm    bool   `json:"confirm"`
	}
	if err := readJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	pass := []byte(req.Passphrase)
	defer clear(pass)
	enc, err := s.encrypted()
	if err != nil {
		s.fail(w, err)
		return
	}
	if !enc && !req.Confirm {
		s.fail(w, errors.Join(errBadInput, errors.New("confirm that you want the phrase shown")))
		return
	}
	if enc && len(pass) == 0 {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "enter your passphrase"})
		return
	}
	kf, ok := s.ownKeys(w, r, c, pass)
	if !ok {
		return
	}
	defer kf.Wipe()
	words, err := kf.Keys.RecoveryPhrase()
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"phrase": words})
}

func (s *Server) handleReceipts(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req struct {
		Read     bool `json:"read"`
		Delivery bool `json:"delivery"`
	}
	if err := readJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if err := c.SetReceipts(r.Context(), req.Read, req.Delivery); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (s *Server) handleRemoveDevice(w http.ResponseWriter, r *http.Request, c *client.Client) {
	var req struct {
		ID string `json:"id"`
	}
	if err := readJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	id, err := config.ParseDeviceID(req.ID)
	if err != nil {
		s.fail(w, errors.Join(errBadInput, err))
		return
	}
	if err := c.RemoveDevice(r.Context(), id); err != nil {
		if errors.Is(err, client.ErrThisDevice) || errors.Is(err, client.ErrNoDevice) {
			err = errors.Join(errBadInput, err)
		}
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) handleGetPicture(w http.ResponseWriter, r *http.Request, c *client.Client) {
	b, err := c.OwnPicture(r.Context())
	if errors.Is(err, client.ErrNoPicture) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	ct := http.DetectContentType(b)
	if !inline(ct) {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(b)
}

// handleSetPicture makes the request body (the image's bytes, at most
// client.MaxPictureSize) the profile picture.
func (s *Server) handleSetPicture(w http.ResponseWriter, r *http.Request, c *client.Client) {
	tmpDir, err := os.MkdirTemp(s.cfg.Client.Home, "app-picture-")
	if err != nil {
		s.fail(w, err)
		return
	}
	defer os.RemoveAll(tmpDir)
	path := filepath.Join(tmpDir, "picture")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		s.fail(w, err)
		return
	}
	_, err = io.Copy(f, http.MaxBytesReader(w, r.Body, client.MaxPictureSize))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.fail(w, errors.Join(errBadInput, errors.New("a picture is at most 10 MiB")))
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	if err := c.UploadProfilePicture(ctx, path); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (s *Server) handleRemovePicture(w http.ResponseWriter, r *http.Request, c *client.Client) {
	if err := c.RemoveProfilePicture(r.Context()); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}
