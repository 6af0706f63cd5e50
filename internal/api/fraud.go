package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
)

func (s *Server) fraudRoutes() []Route {
	return []Route{
		{"GET", "/v1/fraud/flags", anyKey, s.listFlags},
		{"GET", "/v1/fraud/flags/{id}", anyKey, s.getFlag},
		{"POST", "/v1/fraud/flags/{id}/dismiss", anyKey, s.decideFlag(fraud.ActionDismiss)},
		{"POST", "/v1/fraud/flags/{id}/confirm", anyKey, s.decideFlag(fraud.ActionConfirm)},
		{"GET", "/v1/campaigns/{id}/fraud-sensitivity", anyKey, s.getSensitivity},
		{"PUT", "/v1/campaigns/{id}/fraud-sensitivity", anyKey, s.putSensitivity},
		{"GET", "/v1/admin/fraud/sensitivity", anyKey, s.getSensitivity},
		{"PUT", "/v1/admin/fraud/sensitivity", anyKey, s.putSensitivity},
		{"POST", "/v1/admin/creators/{id}/ban", anyKey, s.banCreator},
	}
}

// creatorFlags is one creator's group in the review queue.
type creatorFlags struct {
	CreatorID string `json:"creator_id"`
	Open      int    `json:"open"`
	Total     int    `json:"total"`
}

// flagPage is a page of the review queue: flags ordered by creator, and
// per creator on the page how many there are and how many are open.
type flagPage struct {
	Data      []fraud.Flag   `json:"data"`
	Creators  []creatorFlags `json:"creators"`
	NextAfter string         `json:"next_after,omitempty"`
}

// listFlags is the review queue: a brand's are its campaigns' flags, the
// operator's all; ?campaign_id, ?creator_id, ?state, ?detector filter,
// ?limit (1–1000, default 200) and ?after (next_after) page.
func (s *Server) listFlags(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if p.BrandID() == "" && !p.IsAdmin() {
		return errs.E(errs.Forbidden, "forbidden", "the review queue is for the brand and the operator")
	}
	q := r.URL.Query()
	fl := fraud.Filter{CampaignID: q.Get("campaign_id"), CreatorID: q.Get("creator_id"), State: q.Get("state"), Detector: q.Get("detector"), Limit: 200}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return errs.Invalidf("limit", "out_of_range", "limit must be an integer from 1 to 1000")
		}
		fl.Limit = n
	}
	if v := q.Get("after"); v != "" {
		c, f, ok := strings.Cut(v, "~")
		if !ok || (c != "" && !idShaped(c)) || !idShaped(f) {
			return errs.Invalidf("after", "invalid_cursor", "after must be the next_after of a previous page")
		}
		fl.AfterCreator, fl.After = c, f
	}
	flags, err := fraud.List(r.Context(), s.DB.Read(), p, fl)
	if err != nil {
		return err
	}
	out := flagPage{Data: flags, Creators: []creatorFlags{}}
	for _, f := range flags {
		if n := len(out.Creators); n == 0 || out.Creators[n-1].CreatorID != f.CreatorID {
			out.Creators = append(out.Creators, creatorFlags{CreatorID: f.CreatorID})
		}
		g := &out.Creators[len(out.Creators)-1]
		g.Total++
		if f.State == fraud.StateOpen {
			g.Open++
		}
	}
	if len(flags) == fl.Limit {
		last := flags[len(flags)-1]
		out.NextAfter = last.CreatorID + "~" + last.ID
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getFlag(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	f, err := fraud.Get(r.Context(), s.DB.Read(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, f)
}

// decideFlag dismisses or confirms a flag; {"reason"} is required.
func (s *Server) decideFlag(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		var req reasonReq
		if err := decode(w, r, &req); err != nil {
			return err
		}
		d, err := s.Engage.DecideFlag(r.Context(), p, r.PathValue("id"), action, req.Reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, d)
	}
}

type sensitivityDoc struct {
	CampaignID  string `json:"campaign_id,omitempty"`
	Sensitivity string `json:"sensitivity"`
}

// sensitivityScope is the campaign a sensitivity route is about ("" for
// the operator's default), after checking p may see it and, for a write,
// change it.
func (s *Server) sensitivityScope(r *http.Request, p identity.Principal) (string, error) {
	id := r.PathValue("id")
	if id == "" {
		if !p.IsAdmin() {
			return "", errAdminOnly
		}
		return "", nil
	}
	if p.BrandID() == "" && !p.IsAdmin() {
		return "", errs.NotFoundf("campaign %s not found", id)
	}
	if _, err := s.Campaigns.Get(r.Context(), p, id); err != nil {
		return "", err
	}
	return id, nil
}

func (s *Server) getSensitivity(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := s.sensitivityScope(r, p)
	if err != nil {
		return err
	}
	v, err := fraud.SensitivityOf(r.Context(), s.DB.Read(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sensitivityDoc{CampaignID: id, Sensitivity: string(v)})
}

// putSensitivity sets a campaign's sensitivity (its brand or the operator)
// or the operator's default (/v1/admin/fraud/sensitivity).
func (s *Server) putSensitivity(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	id, err := s.sensitivityScope(r, p)
	if err != nil {
		return err
	}
	var req struct {
		Sensitivity string `json:"sensitivity"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := fraud.ParseSensitivity(req.Sensitivity)
	if err != nil {
		return err
	}
	if err := s.DB.WithTx(r.Context(), func(tx *store.Tx) error {
		return fraud.SetSensitivity(r.Context(), tx, id, v, fraud.Who(p), clock.MicrosOf(time.Now()))
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, sensitivityDoc{CampaignID: id, Sensitivity: string(v)})
}

// banCreator is the operator banning a creator; {"reason"} is required.
func (s *Server) banCreator(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if !p.IsAdmin() {
		return errAdminOnly
	}
	var req reasonReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	res, err := s.Engage.BanCreator(r.Context(), p, r.PathValue("id"), req.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}
