package api

import (
	"net/http"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/identity"
)

func (s *Server) lifecycleRoutes() []Route {
	return []Route{
		{"POST", "/v1/campaigns/{id}/open", anyKey, s.transition(campaign.ActionOpen)},
		{"POST", "/v1/campaigns/{id}/pause", anyKey, s.transition(campaign.ActionPause)},
		{"POST", "/v1/campaigns/{id}/resume", anyKey, s.transition(campaign.ActionResume)},
		{"POST", "/v1/campaigns/{id}/complete", anyKey, s.transition(campaign.ActionComplete)},
	}
}

func (s *Server) transition(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		c, err := s.Campaigns.Transition(r.Context(), p, r.PathValue("id"), action)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, c)
	}
}
