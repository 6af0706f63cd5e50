package web

import (
	"net/http"
	"net/url"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
)

// earningsRoutes registers earnings and their evidence (W3).
func (s *Server) earningsRoutes() {
	s.handle("GET /campaigns/{id}/earnings", s.requireBrand(s.earnings))
	s.handle("GET /campaigns/{id}/earnings/{eid}", s.requireBrand(s.evidence))
	s.handle("POST /campaigns/{id}/earnings/{eid}/hold", s.requireBrand(s.reviewEarning(engage.ReviewHold)))
	s.handle("POST /campaigns/{id}/earnings/{eid}/release", s.requireBrand(s.reviewEarning(engage.ReviewRelease)))
	s.handle("POST /campaigns/{id}/earnings/{eid}/void", s.requireBrand(s.reviewEarning(engage.ReviewVoid)))
}

// EarningsPage lists a campaign's earnings, filtered by state and creator,
// with hold / release / void for those still held.
type EarningsPage struct {
	CollabPage
	State, CreatorID string
	Earnings         []engage.Earning
}

// EarningStates are the states the page filters by ("" for all).
func (p *EarningsPage) EarningStates() []string {
	return []string{"", engage.EarningHeld, engage.EarningOnHold, engage.EarningReleased, engage.EarningVoided}
}

// Reviewable tells whether an earning can still be held, released or voided.
func (p *EarningsPage) Reviewable(e engage.Earning) bool {
	return e.State == engage.EarningHeld || e.State == engage.EarningOnHold
}

// Query is the page's filter as a query string ("" for none), to come back to.
func (p *EarningsPage) Query() string {
	q := url.Values{}
	if p.State != "" {
		q.Set("state", p.State)
	}
	if p.CreatorID != "" {
		q.Set("creator", p.CreatorID)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// FilterURL is the page's address filtered by state and creator ("" for any).
func (p *EarningsPage) FilterURL(state, creatorID string) string {
	return "/campaigns/" + url.PathEscape(p.CampaignModel.ID) + "/earnings" + (&EarningsPage{State: state, CreatorID: creatorID}).Query()
}

func (s *Server) earningsPage(r *http.Request, state, creatorID string) (*EarningsPage, error) {
	cp, _, err := s.collabPage(r, TabEarnings, "Earnings")
	if err != nil {
		return nil, err
	}
	p := &EarningsPage{CollabPage: cp, State: state, CreatorID: creatorID}
	u, _ := userFrom(r)
	p.Earnings, err = s.Engage.ListEarnings(r.Context(), u.Principal(), cp.CampaignModel.ID, state, creatorID)
	if err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) earnings(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := s.earningsPage(r, q.Get("state"), q.Get("creator"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "earnings_list.html", p)
	return nil
}

// reviewEarning holds, releases or voids an earning with a reason, through
// the same engage.Review the API calls, and comes back to the evidence page
// it was sent from (from=evidence) or to the list (with its filter: state,
// creator). A refused review shows the earning's page with the reason.
func (s *Server) reviewEarning(action string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(w, r); err != nil {
			return err
		}
		u, _ := userFrom(r)
		id, eid := r.PathValue("id"), r.PathValue("eid")
		if _, err := s.earningOf(r, id, eid); err != nil {
			return err
		}
		reason := r.PostForm.Get("reason")
		state, creatorID := r.PostForm.Get("state"), r.PostForm.Get("creator")
		e, err := s.Engage.Review(r.Context(), u.Principal(), eid, action, reason)
		if err == nil {
			msg := map[string]string{engage.ReviewHold: "Earning put on hold.", engage.ReviewRelease: "Earning released to the creator.",
				engage.ReviewVoid: "Earning voided: its amount is back in the escrow."}[action]
			target := "/campaigns/" + url.PathEscape(e.CampaignID) + "/earnings"
			if r.PostForm.Get("from") == "evidence" {
				target += "/" + url.PathEscape(e.ID)
			} else if q := (&EarningsPage{State: state, CreatorID: creatorID}).Query(); q != "" {
				target += q
			}
			s.redirect(w, r, target, msg)
			return nil
		}
		status, ok := collabActionFailed(err)
		if !ok {
			return err
		}
		// Refused (a hold without a reason, an earning decided meanwhile):
		// the earning's page, with why beside the reason or above.
		p, perr := s.evidencePage(r, id, eid)
		if perr != nil {
			return perr
		}
		p.Errors, p.Reason = fieldErrors(err), reason
		if p.Errors == nil {
			p.FormError = collabErrMsg(err)
		}
		s.render(w, r, status, "earnings_evidence.html", p)
		return nil
	}
}

// earningOf returns the earning eid when it is one of campaign id's that
// the signed-in brand may see; NotFound otherwise.
func (s *Server) earningOf(r *http.Request, id, eid string) (engage.Earning, error) {
	u, _ := userFrom(r)
	e, err := s.Engage.EarningFor(r.Context(), u.Principal(), eid)
	if err != nil {
		return e, err
	}
	if e.CampaignID != id {
		return e, errs.NotFoundf("earning %s not found", eid)
	}
	return e, nil
}

// EvidencePage is an earning with what it was paid for.
type EvidencePage struct {
	CollabPage
	attrib.Evidence
	Reason string
}

// Reviewable tells whether the earning can still be held, released or voided.
func (p *EvidencePage) Reviewable() bool {
	return p.Earning.State == engage.EarningHeld || p.Earning.State == engage.EarningOnHold
}

// Cut tells whether the escrow or the creator's cap granted less than the
// earning asked for (the domain's Requested and Gross differ).
func (p *EvidencePage) Cut() bool { return p.Earning.Requested != p.Earning.Gross }

func (s *Server) evidencePage(r *http.Request, id, eid string) (*EvidencePage, error) {
	if _, err := s.earningOf(r, id, eid); err != nil {
		return nil, err
	}
	cp, _, err := s.collabPage(r, TabEarnings, "Earning "+eid)
	if err != nil {
		return nil, err
	}
	u, _ := userFrom(r)
	ev, err := s.Attrib.Evidence(r.Context(), u.Principal(), eid)
	if err != nil {
		return nil, err
	}
	return &EvidencePage{CollabPage: cp, Evidence: ev}, nil
}

func (s *Server) evidence(w http.ResponseWriter, r *http.Request) error {
	p, err := s.evidencePage(r, r.PathValue("id"), r.PathValue("eid"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "earnings_evidence.html", p)
	return nil
}
