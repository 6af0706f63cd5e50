package api

import (
	"net/http"

	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
)

func (s *Server) creatorRoutes() []Route {
	return []Route{
		{"GET", "/v1/creators/{id}/profile", anyKey, s.getProfile},
		{"PATCH", "/v1/creators/{id}/profile", anyKey, s.updateProfile},
		{"POST", "/v1/creator/connections", anyKey, s.startConnect},
		// The platform redirects the creator's browser here; the OAuth
		// state is the credential.
		{"GET", creator.CallbackPath, public, s.connectCallback},
		{"GET", "/v1/creator/accounts", anyKey, s.myAccounts},
		{"POST", "/v1/creator/accounts/{id}/refresh", anyKey, s.refreshAccount},
	}
}

func (s *Server) getProfile(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	pr, err := s.Creators.Profile(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pr)
}

func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var u creator.ProfileUpdate
	if err := decode(w, r, &u); err != nil {
		return err
	}
	pr, err := s.Creators.UpdateProfile(r.Context(), p, r.PathValue("id"), u)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pr)
}

func (s *Server) startConnect(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if p.CreatorID() == "" {
		return errs.E(errs.Forbidden, "forbidden", "only a creator can connect accounts")
	}
	var req creator.ConnectRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, err := s.Creators.StartConnect(r.Context(), p, req)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) connectCallback(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
	w.Header().Set("Cache-Control", "no-store")
	a, err := s.Creators.Callback(r.Context(), r.URL.Query())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) myAccounts(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if p.CreatorID() == "" {
		return errs.E(errs.Forbidden, "forbidden", "only creators have connected accounts")
	}
	as, err := s.Creators.Accounts(r.Context(), p, p.CreatorID())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[creator.Account]{Data: as})
}

func (s *Server) refreshAccount(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	a, err := s.Creators.RefreshAccount(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}
