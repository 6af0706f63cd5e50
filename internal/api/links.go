package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links"
)

func (s *Server) linksRoutes() []Route {
	return []Route{
		{"GET", links.RedirectPath + "{slug}", public, s.redirect},
		{"POST", "/v1/campaigns/{id}/links", anyKey, s.createLink},
		{"GET", "/v1/campaigns/{id}/links", anyKey, s.listLinks},
		{"GET", "/v1/creator/links", anyKey, s.myLinks},
	}
}

// redirect serves a short link (GET and HEAD): a 302 that no cache keeps,
// with the click handed to the recorder, never waited for.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
	return s.follow(w, r, r.PathValue("slug"))
}

func (s *Server) follow(w http.ResponseWriter, r *http.Request, slug string) error {
	dest, err := s.Links.Follow(r.Context(), slug, s.Links.VisitOf(r))
	if err != nil {
		return err
	}
	h := w.Header()
	h["Location"] = []string{dest}
	h["Cache-Control"] = []string{"no-store"}
	h["Referrer-Policy"] = []string{"strict-origin-when-cross-origin"}
	w.WriteHeader(http.StatusFound)
	return nil
}

func (s *Server) createLink(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var d links.Draft
	if err := decode(w, r, &d); err != nil {
		return err
	}
	l, err := s.Links.Create(r.Context(), p, r.PathValue("id"), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, l)
}

func (s *Server) listLinks(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ls, err := s.Links.List(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[links.Link]{Data: ls})
}

func (s *Server) myLinks(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ls, err := s.Links.Mine(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[links.Link]{Data: ls})
}

// redirectFast serves GET and HEAD /r/{slug} ahead of the mux, with only
// what a redirect needs of the middleware: its route metrics, and errors
// answered as everywhere (no request id: a browser following a link has no
// use for one). It returns false for anything else.
func (s *Server) redirectFast(w http.ResponseWriter, r *http.Request) bool {
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !strings.HasPrefix(r.URL.Path, links.RedirectPath) {
		return false
	}
	slug := r.URL.Path[len(links.RedirectPath):]
	if slug == "" || strings.IndexByte(slug, '/') >= 0 {
		return false
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	if err := s.follow(sw, r, slug); err != nil {
		writeError(sw, r, "", s.Log, err)
	}
	s.redirectMetrics(sw.status, time.Since(start))
	return true
}
