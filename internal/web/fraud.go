package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// TabFraud is the campaign sub-nav's fraud review tab.
const TabFraud = "fraud"

// fraudRoutes registers the brand's fraud review of a campaign: its open
// flags grouped per creator, dismiss / confirm with a reason, and the
// campaign's sensitivity.
func (s *Server) fraudRoutes() {
	s.handle("GET /campaigns/{id}/flags", s.requireBrand(s.flags))
	s.handle("POST /campaigns/{id}/flags/sensitivity", s.requireBrand(s.setSensitivity))
	s.handle("POST /campaigns/{id}/flags/{fid}/dismiss", s.requireBrand(s.decideFlag(fraud.ActionDismiss)))
	s.handle("POST /campaigns/{id}/flags/{fid}/confirm", s.requireBrand(s.decideFlag(fraud.ActionConfirm)))
}

// fraudDB is the database the fraud domain's functions read and write (the
// API passes them its own; web's services share the ledger's).
func (s *Server) fraudDB() *store.DB { return s.Ledger.DB() }

// FlagGroup is one creator's open flags in the campaign and the gross of
// their earnings those flags hold (fraud.HeldByCreator).
type FlagGroup struct {
	CreatorID, Name string
	Held            money.Amount
	Flags           []fraud.Flag
}

// FraudPage is a campaign's review queue: open flags per creator, the
// campaign's sensitivity, and a refused decision's reason and error.
type FraudPage struct {
	CollabPage
	Groups        []FlagGroup
	Sensitivity   string
	Sensitivities []string
	// FlagID is the flag whose decision was refused; Reason what was typed.
	FlagID, Reason string
}

// SensitivityText says what each sensitivity does, for the form.
func (p *FraudPage) SensitivityText(v string) string {
	return map[string]string{
		string(fraud.Relaxed):  "Relaxed: only the clearest cases are flagged.",
		string(fraud.Moderate): "Moderate: the default.",
		string(fraud.Strict):   "Strict: more is flagged, and so more honest creators are held for review.",
	}[v]
}

// detectorNames are the detectors' names for people.
var detectorNames = map[string]string{
	fraud.DetectorAboveViews: "Counters above views", fraud.DetectorCounterFell: "Counters fell",
	fraud.DetectorBurst: "Engagement burst", fraud.DetectorRatio: "Ratios off the creator's baseline",
	fraud.DetectorContentRemoved: "Content removed", fraud.DetectorClickFarm: "Click farm (bots and repeats)",
	fraud.DetectorLockstep: "Coordinated clicking", fraud.DetectorCTIT: "Orders too soon after their click",
	fraud.DetectorConvSpike: "Conversion spike", fraud.DetectorSelfPurchase: "Self-purchase",
	fraud.DetectorSharedDest: "Shared payout destination",
}

// DetectorName is a detector's name for people (its id when unknown).
func (p *FraudPage) DetectorName(d string) string {
	if n := detectorNames[d]; n != "" {
		return n
	}
	return d
}

// CategoryText is what the creator is told of a flag's category.
func (p *FraudPage) CategoryText(c string) string { return fraud.CategoryText[c] }

func (s *Server) fraudPage(r *http.Request) (*FraudPage, error) {
	cp, _, err := s.collabPage(r, TabFraud, "Fraud review")
	if err != nil {
		return nil, err
	}
	u, _ := userFrom(r)
	ctx, db := r.Context(), s.fraudDB().Read()
	flags, err := fraud.List(ctx, db, u.Principal(), fraud.Filter{CampaignID: cp.CampaignModel.ID, State: fraud.StateOpen})
	if err != nil {
		return nil, err
	}
	held, err := fraud.HeldByCreator(ctx, db, cp.CampaignModel.ID)
	if err != nil {
		return nil, err
	}
	sens, err := fraud.SensitivityOf(ctx, db, cp.CampaignModel.ID)
	if err != nil {
		return nil, err
	}
	p := &FraudPage{CollabPage: cp, Sensitivity: string(sens),
		Sensitivities: []string{string(fraud.Relaxed), string(fraud.Moderate), string(fraud.Strict)}}
	for _, f := range flags { // fraud.List orders by creator
		if n := len(p.Groups); n == 0 || p.Groups[n-1].CreatorID != f.CreatorID {
			p.Groups = append(p.Groups, FlagGroup{CreatorID: f.CreatorID, Name: cp.CreatorName(f.CreatorID),
				Held: held[f.CreatorID]})
		}
		g := &p.Groups[len(p.Groups)-1]
		g.Flags = append(g.Flags, f)
	}
	return p, nil
}

func (s *Server) flags(w http.ResponseWriter, r *http.Request) error {
	p, err := s.fraudPage(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "fraud_flags.html", p)
	return nil
}

// decideFlag dismisses or confirms one of the campaign's flags with a
// reason, through the same engage.DecideFlag the API calls. A refused
// decision (no reason, decided meanwhile) shows the page again with why
// beside that flag's reason.
func (s *Server) decideFlag(action string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(w, r); err != nil {
			return err
		}
		u, _ := userFrom(r)
		id, fid := r.PathValue("id"), r.PathValue("fid")
		f, err := fraud.Get(r.Context(), s.fraudDB().Read(), u.Principal(), fid)
		if err != nil {
			return err
		}
		if f.CampaignID != id {
			return errs.NotFoundf("flag %s not found", fid)
		}
		reason := r.PostForm.Get("reason")
		d, err := s.Engage.DecideFlag(r.Context(), u.Principal(), fid, action, reason)
		if err == nil {
			msg := "Flag dismissed: the earnings it held release on schedule."
			if action == fraud.ActionConfirm {
				msg = "Flag confirmed: the earnings it held are voided, their gross back in the escrow."
			}
			if d.StillHeld > 0 {
				msg += " Another open flag still holds some of them."
			}
			s.redirect(w, r, "/campaigns/"+url.PathEscape(id)+"/flags", msg)
			return nil
		}
		status, ok := collabActionFailed(err)
		if !ok {
			return err
		}
		p, perr := s.fraudPage(r)
		if perr != nil {
			return perr
		}
		p.FlagID, p.Reason, p.Errors = fid, reason, fieldErrors(err)
		if p.Errors == nil {
			p.FormError = collabErrMsg(err)
		}
		s.render(w, r, status, "fraud_flags.html", p)
		return nil
	}
}

// setSensitivity sets the campaign's sensitivity (fraud.SetSensitivity, as
// the API's PUT /v1/campaigns/{id}/fraud-sensitivity does).
func (s *Server) setSensitivity(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	id := r.PathValue("id")
	if _, err := s.Campaigns.Get(r.Context(), u.Principal(), id); err != nil {
		return err
	}
	v, err := fraud.ParseSensitivity(strings.TrimSpace(r.PostForm.Get("sensitivity")))
	if err == nil {
		err = s.fraudDB().WithTx(r.Context(), func(tx *store.Tx) error {
			return fraud.SetSensitivity(r.Context(), tx, id, v, fraud.Who(u.Principal()), clock.MicrosOf(s.Clock.Now()))
		})
	}
	if err == nil {
		s.redirect(w, r, "/campaigns/"+url.PathEscape(id)+"/flags", "Sensitivity set to "+string(v)+".")
		return nil
	}
	status, ok := collabActionFailed(err)
	if !ok {
		return err
	}
	p, perr := s.fraudPage(r)
	if perr != nil {
		return perr
	}
	p.Errors = fieldErrors(err)
	s.render(w, r, status, "fraud_flags.html", p)
	return nil
}
