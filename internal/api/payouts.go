package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/payout"
)

func (s *Server) payoutRoutes() []Route {
	return []Route{
		{"POST", "/v1/creator/payouts", anyKey, s.requestPayout},
		{"GET", "/v1/creator/payouts", anyKey, s.listPayouts},
		{"POST", "/v1/creator/payouts/{id}/cancel", anyKey, s.cancelPayout},
		{"GET", "/v1/creator/payout_destinations", anyKey, s.listDestinations},
		{"PUT", "/v1/creator/payout_destinations/{provider}", anyKey, s.setDestination},
		{"POST", "/v1/creator/payout_destinations/{provider}/onboarding", anyKey, s.onboard},
		{"GET", "/v1/admin/payouts", anyKey, s.listPayouts},
		{"POST", "/v1/admin/payouts/manual_export", anyKey, s.exportManual},
		{"POST", "/v1/admin/payouts/{id}/mark", anyKey, s.markPayout},
		{"POST", "/webhooks/payouts/{provider}", public, s.payoutWebhook},
	}
}

// requestPayout takes an optional Idempotency-Key header: a retry with the
// same key and body answers 200 with the payout made the first time.
func (s *Server) requestPayout(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var in payout.Request
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if keys := r.Header.Values("Idempotency-Key"); len(keys) > 1 {
		return errs.Invalidf("Idempotency-Key", "invalid", "give one Idempotency-Key header, not %d", len(keys))
	} else if len(keys) == 1 {
		if keys[0] == "" {
			return errs.Invalidf("Idempotency-Key", "required", "the Idempotency-Key header is empty")
		}
		in.IdempotencyKey = keys[0]
	}
	po, err := s.Payouts.RequestPayout(r.Context(), p, in)
	if err != nil {
		return err
	}
	if po.Replayed {
		return writeJSON(w, http.StatusOK, po)
	}
	return writeJSON(w, http.StatusCreated, po)
}

// listPayouts serves a creator's own payouts, or every payout (?state=) to the admin.
func (s *Server) listPayouts(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	state := r.URL.Query().Get("state")
	switch state {
	case "", payout.StateRequested, payout.StateProcessing, payout.StatePaid, payout.StateFailed, payout.StateCanceled, payout.StateReversed:
	default:
		return errs.Invalidf("state", "invalid", "state must be requested, processing, paid, failed, canceled or reversed")
	}
	if r.URL.Path == "/v1/admin/payouts" && !p.IsAdmin() {
		return errs.E(errs.Forbidden, "forbidden", "only the operator lists every payout")
	}
	if r.URL.Path == "/v1/admin/payouts" && r.URL.Query().Has("attention") {
		// The payouts that need the operator (payout.Payout.Attention).
		if a := r.URL.Query().Get("attention"); a != "true" || state != "" {
			return errs.Invalidf("attention", "invalid", "attention takes only true, without state")
		}
		ps, err := s.Payouts.NeedsAttention(r.Context(), p)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, list[payout.Payout]{Data: ps})
	}
	ps, err := s.Payouts.List(r.Context(), p, state)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[payout.Payout]{Data: ps})
}

func (s *Server) cancelPayout(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	po, err := s.Payouts.Cancel(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, po)
}

// setDestination takes {"destination": <the provider's destination: a
// Stripe account id string, Wise recipient details object>}.
func (s *Server) setDestination(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var in struct {
		Destination json.RawMessage `json:"destination"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	dest := string(in.Destination)
	var str string
	if json.Unmarshal(in.Destination, &str) == nil {
		dest = str
	}
	if dest == "" || dest == "null" {
		return errs.Invalidf("destination", "required", "destination is required")
	}
	if err := s.Payouts.SetDestination(r.Context(), p, r.PathValue("provider"), dest); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"provider": r.PathValue("provider"), "status": "saved"})
}

// listDestinations serves the creator's payout destinations with what each
// provider last said about their account (status, a failed payout from
// their provider balance); never the destination itself.
func (s *Server) listDestinations(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ds, err := s.Payouts.Destinations(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[payout.Destination]{Data: ds})
}

func (s *Server) exportManual(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	b, n, err := s.Payouts.ExportManual(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("X-Payouts-Exported", itoa(n))
	_, err = w.Write(b)
	return err
}

func (s *Server) markPayout(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var in struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	po, err := s.Payouts.MarkManual(r.Context(), p, r.PathValue("id"), in.State, in.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, po)
}

// payoutWebhook takes a payout provider's signed delivery (raw body).
func (s *Server) payoutWebhook(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := s.Payouts.Webhook(r.Context(), r.PathValue("provider"), r.Header, body); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
func itoa(n int) string { return strconv.Itoa(n) }

// onboard starts a provider's onboarding (Stripe Connect) and answers its
// URL, with the destination's status as the provider last reported it —
// without it (logged) when that status cannot be read: the link is made.
func (s *Server) onboard(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var in struct {
		Country   string `json:"country"`
		Email     string `json:"email"`
		ReturnURL string `json:"return_url"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	u, err := s.Payouts.Onboard(r.Context(), p, r.PathValue("provider"), in.Country, in.Email, in.ReturnURL)
	if err != nil {
		return err
	}
	out := struct {
		URL         string              `json:"onboarding_url"`
		Destination *payout.Destination `json:"destination,omitempty"`
	}{URL: u}
	ds, err := s.Payouts.Destinations(r.Context(), p)
	if err != nil {
		// The account and its link are made: the creator gets the link
		// (GET /v1/creator/payout_destinations shows the status later).
		s.Log.Warn("payout onboarding: the destination's status was not read; the link is answered without it",
			"provider", r.PathValue("provider"), "creator", p.CreatorID(), "err", err)
		return writeJSON(w, http.StatusOK, out)
	}
	for i := range ds {
		if ds[i].Provider == r.PathValue("provider") {
			out.Destination = &ds[i]
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
