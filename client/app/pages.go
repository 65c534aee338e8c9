package app

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
)

//go:embed web/index.html
var indexHTML string

//go:embed web/static
var staticFS embed.FS

type pages struct{ index *template.Template }

func loadPages() (*pages, error) {
	t, err := template.New("index").Parse(indexHTML)
	if err != nil {
		return nil, err
	}
	return &pages{index: t}, nil
}

// staticHandler serves the embedded CSS and JavaScript.
func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	return http.FileServerFS(sub)
}

// handleIndex renders the page shell: the account's state and, without a
// network, how to start one, so the page says it before any script runs.
func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	data := struct {
		State       string
		Network     bool
		NetworkHint string
	}{s.accountState(), s.cfg.Client.NetworkFile != "", s.cfg.NoNetworkHint}
	var buf bytes.Buffer
	if err := s.pages.index.Execute(&buf, data); err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
