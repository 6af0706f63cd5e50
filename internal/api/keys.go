package api

import (
	"net/http"
	"time"

	"github.com/payper/payper/internal/identity"
)

func (s *Server) keyRoutes() []Route {
	return []Route{
		{"GET", "/v1/api_keys", anyKey, s.listKeys},
		{"POST", "/v1/api_keys", anyKey, s.createKeyRoute},
		{"POST", "/v1/api_keys/{id}/revoke", anyKey, s.revokeKey},
		{"POST", "/v1/api_keys/{id}/rotate", anyKey, s.rotateKey},
	}
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	before, limit, err := page(r)
	if err != nil {
		return err
	}
	keys, err := s.Identity.Keys(r.Context(), p, before, limit)
	if err != nil {
		return err
	}
	out := list[identity.Key]{Data: keys}
	if len(keys) == limit {
		out.NextBefore = keys[len(keys)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

type createKeyReq struct {
	Label     string `json:"label"`
	Role      string `json:"role"`
	SubjectID string `json:"subject_id"`
}

func (s *Server) createKeyRoute(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req createKeyReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	k, err := s.Identity.Issue(r.Context(), p, req.Role, req.SubjectID, req.Label)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, k)
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	k, err := s.Identity.Revoke(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, k)
}

type rotateKeyReq struct {
	GraceSeconds int64 `json:"grace_seconds"`
}

func (s *Server) rotateKey(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req rotateKeyReq
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	grace := time.Duration(req.GraceSeconds) * time.Second
	if req.GraceSeconds < 0 || req.GraceSeconds > int64(identity.MaxGrace/time.Second) {
		grace = -1 // refused by Rotate, naming grace_seconds
	}
	nk, old, err := s.Identity.Rotate(r.Context(), p, r.PathValue("id"), grace)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"key": nk, "rotated": old})
}
