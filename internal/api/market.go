package api

import (
	"net/http"

	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/market"
)

func (s *Server) marketRoutes() []Route {
	return []Route{
		{"GET", "/v1/marketplace/campaigns", anyKey, s.marketplace},
		{"POST", "/v1/campaigns/{id}/applications", anyKey, s.apply},
		{"GET", "/v1/campaigns/{id}/applications", anyKey, s.listApplications},
		{"POST", "/v1/applications/{id}/accept", anyKey, s.decide(true)},
		{"POST", "/v1/applications/{id}/reject", anyKey, s.decide(false)},
		{"GET", "/v1/creator/applications", anyKey, s.myApplications},
	}
}

func (s *Server) marketplace(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	f, err := market.ParseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	ls, err := s.Market.Marketplace(r.Context(), p, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[market.Listing]{Data: ls})
}

type applyReq struct {
	Pitch string `json:"pitch"`
}

func (s *Server) apply(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req applyReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	a, err := s.Market.Apply(r.Context(), p, r.PathValue("id"), req.Pitch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) listApplications(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	as, err := s.Market.Applications(r.Context(), p, r.PathValue("id"), r.URL.Query().Get("state"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[market.Reviewed]{Data: as})
}

func (s *Server) decide(accept bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		a, err := s.Market.Decide(r.Context(), p, r.PathValue("id"), accept)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, a)
	}
}

func (s *Server) myApplications(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	as, err := s.Market.Mine(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[market.Mine]{Data: as})
}
