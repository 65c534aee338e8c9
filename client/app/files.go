package app

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sotto.dev/client"
	"sotto.dev/client/store"
	"sotto.dev/key"
)

type jsonAttachment struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	State  string `json:"state"`
	Width  uint32 `json:"width,omitempty"`
	Height uint32 `json:"height,omitempty"`
	Voice  bool   `json:"voice,omitempty"`
}

// voiceFlag is AttachmentPointer.Flags' VOICE_MESSAGE bit.
const voiceFlag = 1

func toJSONAttachments(list []*store.Attachment) []jsonAttachment {
	out := make([]jsonAttachment, 0, len(list))
	for _, a := range list {
		out = append(out, jsonAttachment{
			ID: a.ID, Name: a.FileName, Type: a.ContentType, Size: a.Size, State: a.State.String(),
			Width: a.Width, Height: a.Height, Voice: a.Flags&voiceFlag != 0,
		})
	}
	return out
}

// inlineTypes are the content types the page shows in place; anything
// else is served as a download.
func inline(ct string) bool {
	switch strings.ToLower(ct) {
	case "image/png", "image/jpeg", "image/gif", "image/webp",
		"audio/ogg", "audio/mpeg", "audio/mp4", "audio/aac", "audio/webm", "audio/wav",
		"video/mp4", "video/webm":
		return true
	}
	return false
}

// handleAttachment serves a downloaded attachment, decrypted. It is
// decrypted into a temporary file first: WriteAttachment verifies a large
// file only at its end.
func (s *Server) handleAttachment(w http.ResponseWriter, r *http.Request, c *client.Client) {
	id, err := strconv.ParseInt(r.PathValue("att"), 10, 64)
	if err != nil || id <= 0 {
		s.fail(w, errors.Join(errBadInput, errors.New("bad attachment id")))
		return
	}
	a, err := c.Store().Attachment(r.Context(), id)
	if err != nil {
		s.fail(w, err)
		return
	}
	tmp, err := os.CreateTemp(s.cfg.Client.Home, "app-download-")
	if err != nil {
		s.fail(w, err)
		return
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := c.WriteAttachment(r.Context(), id, tmp); err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	ct := a.ContentType
	if !inline(ct) {
		ct = "application/octet-stream"
		name := a.FileName
		if name == "" {
			name = "attachment"
		}
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	}
	w.Header().Set("Content-Type", ct)
	http.ServeContent(w, r, "", time.Time{}, tmp)
}

// handleUpload sends the request body as a file attachment: the page
// posts the file's bytes (application/octet-stream, which no other site
// can send without the app's consent) with its name and type in the URL.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request, c *client.Client, peer key.SessionID) {
	q := r.URL.Query()
	name := filepath.Base(q.Get("name"))
	if name == "." || name == "/" || name == "" {
		name = "file"
	}
	tmpDir, err := os.MkdirTemp(s.cfg.Client.Home, "app-upload-")
	if err != nil {
		s.fail(w, err)
		return
	}
	defer os.RemoveAll(tmpDir)
	path := filepath.Join(tmpDir, name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		s.fail(w, err)
		return
	}
	_, err = io.Copy(f, r.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		s.fail(w, errors.Join(errBadInput, client.ErrFileTooLarge))
		return
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
	defer cancel()
	file := client.OutgoingFile{Path: path, Name: name, ContentType: q.Get("type"), Voice: q.Get("voice") == "1"}
	m, err := c.Send(ctx, peer, q.Get("caption"), client.SendOptions{Files: []client.OutgoingFile{file}})
	if m == nil {
		s.fail(w, err)
		return
	}
	status := http.StatusOK
	if err != nil {
		status = statusOf(err)
	}
	writeJSON(w, status, s.toJSON(ctx, c, m))
}
