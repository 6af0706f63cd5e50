package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/report"
)

// CampaignRow is one campaign of the list, with the figures of the API's
// GET /v1/campaigns/{id}/money and, for the primary KPI, its
// GET /v1/campaigns/{id}/report (since launch).
type CampaignRow struct {
	C     campaign.Campaign
	Money campaign.Money
	// Goal is the primary goal's status since launch; nil before a setup.
	Goal *report.GoalStatus
	// GoalValue and GoalTarget are the goal's value and target for people:
	// an amount with its currency for a money metric, else the domain's
	// decimal ("—" when undefined).
	GoalValue, GoalTarget string
	// Next is where the brand carries on: the setup for a draft, else the dashboard.
	Next, NextLabel string
}

// CampaignsPage is the brand's campaign list.
type CampaignsPage struct {
	Page
	Rows []CampaignRow
	// More says there are more campaigns than shown.
	More bool
}

// listLimit is how many campaigns the list shows (the API's page size limit).
const listLimit = 200

// campaignRoutes registers the campaign list and lifecycle actions (W1).
func (s *Server) campaignRoutes() {
	s.handle("GET /campaigns", s.requireBrand(s.campaigns))
	s.handle("POST /campaigns/{id}/fund", s.requireBrand(s.fund))
	s.handle("POST /campaigns/{id}/open", s.requireBrand(s.transition(campaign.ActionOpen, "The campaign is open: creators can apply.")))
	s.handle("POST /campaigns/{id}/pause", s.requireBrand(s.transition(campaign.ActionPause, "The campaign is paused: nothing is billed until you resume it.")))
	s.handle("POST /campaigns/{id}/resume", s.requireBrand(s.transition(campaign.ActionResume, "The campaign is open again.")))
	s.handle("POST /campaigns/{id}/complete", s.requireBrand(s.transition(campaign.ActionComplete, "The campaign has ended. Close it to have the unspent budget refunded.")))
	s.handle("GET /campaigns/{id}/close", s.requireBrand(s.closePage))
	s.handle("POST /campaigns/{id}/close", s.requireBrand(s.closeCampaign))
}

func (s *Server) campaigns(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	ctx := r.Context()
	cs, err := s.Campaigns.List(ctx, u.Principal(), "", listLimit)
	if err != nil {
		return err
	}
	p := &CampaignsPage{Page: Page{Title: "Campaigns", Nav: "campaigns"}, More: len(cs) == listLimit}
	win, err := report.ParseWindow(report.WindowLaunch, "", "", s.Report.Now())
	if err != nil {
		return err
	}
	for _, c := range cs {
		m, err := s.Campaigns.MoneyState(ctx, u.Principal(), c.ID)
		if err != nil {
			return err
		}
		row := CampaignRow{C: c, Money: m, Next: "/campaigns/" + c.ID, NextLabel: "Dashboard"}
		switch c.State {
		case campaign.StateDraft:
			row.Next, row.NextLabel = "/campaigns/"+c.ID+"/setup/"+StepGoal, "Continue setup"
			if c.Setup != nil {
				row.Next, row.NextLabel = "/campaigns/"+c.ID+"/setup/"+StepFund, "Fund"
			}
		case campaign.StateFunded:
			row.Next, row.NextLabel = "/campaigns/"+c.ID+"/setup/"+StepOpen, "Open"
		}
		if c.Setup != nil {
			rep, err := s.Report.Campaign(ctx, u.Principal(), c.ID, win)
			if err != nil {
				return err
			}
			if len(rep.Goal) > 0 {
				g := rep.Goal[0]
				row.Goal = &g
				row.GoalValue = goalFigure(g.Metric, g.Value, c.Currency)
				row.GoalTarget = goalFigure(g.Metric, g.Target, c.Currency)
			}
		}
		p.Rows = append(p.Rows, row)
	}
	s.render(w, r, http.StatusOK, "campaigns_list.html", p)
	return nil
}

// goalFigure shows a goal metric's value (a decimal string from the
// report) exactly as the dashboard shows it (goalText): money with its
// currency, a ROAS as "3.50×" (a zero ROAS as "0.00×", never a bare "×"), a
// redemption rate in percent; "—" when the domain says it is undefined.
func goalFigure(m campaign.Metric, v string, cur money.Currency) string {
	return goalText(string(m), v, cur)
}

// metricLabels name the goal metrics for people.
var metricLabels = map[campaign.Metric]string{
	campaign.MetricCPA: "CPA", campaign.MetricROAS: "ROAS", campaign.MetricRevenue: "Revenue",
	campaign.MetricRedemptionRate: "Redemption rate", campaign.MetricCPE: "CPE",
}

// MetricLabel names the goal's metric for people ("ROAS").
func (r CampaignRow) MetricLabel() string {
	if r.Goal == nil {
		return ""
	}
	return metricLabels[r.Goal.Metric]
}

// fund pays into the escrow through the sandbox, as the API's POST
// …/fund does; the amount and currency come from the fund step's form, the
// reference (idempotency) from the form's hidden input.
func (s *Server) fund(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	ctx := r.Context()
	f := r.PostForm
	in := campaign.FundInput{Provider: campaign.ProviderSandbox, Reference: f.Get("reference")}
	var perr error
	if strings.TrimSpace(f.Get("amount")) == "" {
		// The whole unfunded rest of the budget, as the domain reckons it.
	} else if a, err := money.ParsePositive(strings.TrimSpace(f.Get("amount")), money.Currency(f.Get("currency"))); err != nil {
		field := "amount"
		if errs.CodeOf(err) == "unknown_currency" {
			field = "currency"
		}
		perr = errs.Invalidf(field, errs.CodeOf(err), "%s", errMessage(err))
	} else {
		in.Amount = &a
	}
	var res campaign.FundResult
	err := perr
	if err == nil {
		res, err = s.Campaigns.Fund(ctx, u.Principal(), r.PathValue("id"), in)
	}
	if err == nil {
		msg := "Paid " + formatMoney(res.Payment.Amount) + " into the campaign's escrow (sandbox payment)."
		if res.Replayed {
			msg = "This payment was already made; nothing more was charged."
		}
		next := "/campaigns/" + res.Campaign.ID + "/setup/" + StepFund
		if res.Campaign.State == campaign.StateFunded {
			next = "/campaigns/" + res.Campaign.ID + "/setup/" + StepOpen
		}
		s.redirect(w, r, next, msg)
		return nil
	}
	// Show the fund step again with the problem beside its field.
	c, d, gerr := s.Campaigns.SetupDraft(ctx, u.Principal(), r.PathValue("id"))
	if gerr != nil {
		return gerr
	}
	step, _, _ := stepByKey(StepFund)
	p, perr2 := s.wizardPage(r, c, d, step)
	if perr2 != nil {
		return perr2
	}
	p.F = map[string]string{"amount": f.Get("amount"), "currency": f.Get("currency")}
	status := http.StatusBadRequest
	switch {
	case fieldErrors(err) != nil:
		p.Errors = fieldErrors(err)
		if _, ok := p.Errors["amount.currency"]; ok {
			p.Errors["currency"] = p.Errors["amount.currency"]
		}
	case errs.Is(err, errs.Conflict):
		status = http.StatusConflict
		p.Errors = map[string]string{}
		if e := errMessage(err); errs.CodeOf(err) == "exceeds_budget" {
			p.Errors["amount"] = e
		} else {
			p.FormError = e
		}
	default:
		return err
	}
	s.render(w, r, status, "wizard_fund.html", p)
	return nil
}

// transition applies a lifecycle action as the API's POST …/{action}
// does. A refusal (a Conflict: the campaign's state, no setup, its end
// date passed) is shown on the open step, with the reason.
func (s *Server) transition(action, done string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, _ := userFrom(r)
		id := r.PathValue("id")
		_, err := s.Campaigns.Transition(r.Context(), u.Principal(), id, action)
		if errs.Is(err, errs.Conflict) {
			s.redirect(w, r, "/campaigns/"+id+"/setup/"+StepOpen, "Not done: "+errMessage(err))
			return nil
		}
		if err != nil {
			return err
		}
		s.redirect(w, r, "/campaigns/"+id+"/setup/"+StepOpen, done)
		return nil
	}
}

// ClosePage shows what closing will do (before) or did (after).
type ClosePage struct {
	Page
	C     campaign.Campaign
	Money campaign.Money
	// CanClose says the campaign is completed, so it can be closed now.
	CanClose bool
	Closed   bool
}

func (s *Server) closePage(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	c, err := s.Campaigns.Get(r.Context(), u.Principal(), r.PathValue("id"))
	if err != nil {
		return err
	}
	m, err := s.Campaigns.MoneyState(r.Context(), u.Principal(), c.ID)
	if err != nil {
		return err
	}
	p := &ClosePage{Page: Page{Title: c.Name + ": close", Nav: "campaigns", Campaign: &CampaignNav{ID: c.ID, Name: c.Name, Tab: TabSetup}},
		C: c, Money: m, CanClose: c.State == campaign.StateCompleted, Closed: c.State == campaign.StateClosed}
	s.render(w, r, http.StatusOK, "campaigns_close.html", p)
	return nil
}

// closeCampaign closes a completed campaign as the API's POST …/close
// does: held earnings released, the unspent escrow refunded. The flash says
// what the ledger refunded.
func (s *Server) closeCampaign(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	id := r.PathValue("id")
	res, err := s.Engage.Close(r.Context(), u.Principal(), id)
	if errs.Is(err, errs.Conflict) {
		s.redirect(w, r, "/campaigns/"+id+"/close", "Not closed: "+errMessage(err))
		return nil
	}
	if err != nil {
		return err
	}
	msg := "Closed. Refunded " + formatMoney(res.Refunded) + " to you."
	if res.Released > 0 {
		msg += " " + formatNum(res.Released) + " held earnings were released to their creators."
	}
	s.redirect(w, r, "/campaigns/"+id+"/close", msg)
	return nil
}

// lifecycleActions are the actions offered in each state.
func lifecycleActions(state string) []string {
	var out []string
	for _, a := range []string{campaign.ActionOpen, campaign.ActionPause, campaign.ActionResume, campaign.ActionComplete} {
		if slices.Contains(actionFrom[a], state) {
			out = append(out, a)
		}
	}
	return out
}

// actionFrom mirrors campaign's transitions for which buttons to show; the
// domain decides (Transition refuses any other).
var actionFrom = map[string][]string{
	campaign.ActionOpen:     {campaign.StateFunded},
	campaign.ActionPause:    {campaign.StateOpen},
	campaign.ActionResume:   {campaign.StatePaused},
	campaign.ActionComplete: {campaign.StateOpen, campaign.StatePaused},
}

// Actions lists the lifecycle actions the campaign's state allows.
func (p *WizardPage) Actions() []string { return lifecycleActions(p.C.State) }
