package api

import (
	"net/http"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/mail"
)

func (s *Server) outboxRoutes() []Route {
	return []Route{
		{"GET", "/v1/admin/outbox", anyKey, s.listOutbox},
	}
}

// listOutbox lists the mail outbox to the operator: invitations,
// verification and reset links wait there when no SMTP server is
// configured (PAYPER_SMTP_URL), and sent or failed mail shows its state.
func (s *Server) listOutbox(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if !p.IsAdmin() {
		return errs.E(errs.Forbidden, "forbidden", "only the operator reads the outbox")
	}
	if s.Outbox == nil {
		return errs.NotFoundf("this server has no mail outbox")
	}
	before, limit, err := page(r)
	if err != nil {
		return err
	}
	mails, err := s.Outbox.List(r.Context(), p, r.URL.Query().Get("status"), before, limit)
	if err != nil {
		return err
	}
	out := list[mail.Mail]{Data: mails}
	if len(mails) == limit {
		out.NextBefore = mails[len(mails)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}
