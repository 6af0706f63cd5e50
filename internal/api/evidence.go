package api

import (
	"net/http"

	"github.com/payper/payper/internal/identity"
)

func (s *Server) evidenceRoutes() []Route {
	return []Route{
		{"GET", "/v1/earnings/{id}/evidence", anyKey, s.earningEvidence},
	}
}

// earningEvidence answers what an earning was paid for: the platform
// readings an interactions earning was billed from (their amounts sum to
// its gross), the attributed order of a commission or CPA, the application
// of a flat fee.
func (s *Server) earningEvidence(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ev, err := s.Attrib.Evidence(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ev)
}
