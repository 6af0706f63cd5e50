package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/money"
)

// The new-campaign wizard walks PRODUCT.md's setup: goal → model → tier →
// tracking → brief, then fund and open. Each setup step posts its part of
// the setup; the part is read into the setup's JSON form and decoded with
// the API's own decoder (campaign.Setup's UnmarshalJSON), then checked by
// campaign.SaveSetupPart with the same Normalize and Validate as the API's
// PUT …/setup, counting only the step's fields. A step with any bad field
// saves nothing. Once all five were accepted the whole draft is stored
// with campaign.Service.Configure, exactly as the API's PUT …/setup.

// Wizard steps.
const (
	StepGoal     = "goal"
	StepModel    = "model"
	StepTier     = "tier"
	StepTracking = "tracking"
	StepBrief    = "brief"
	StepFund     = "fund"
	StepOpen     = "open"
)

// wizardStep is one step: its key, label and the setup fields (JSON paths
// or prefixes) it owns.
type wizardStep struct {
	Key, Label string
	Fields     []string
}

var wizardSteps = []wizardStep{
	{StepGoal, "Goal", []string{"goal", "starts_at", "ends_at"}},
	{StepModel, "Model", []string{"prices", "creator_cap", "max_creators", "performance.commission_bps", "performance.cpa",
		"performance.flat_fee", "performance.commission_base"}},
	{StepTier, "Tier", []string{"eligibility"}},
	{StepTracking, "Tracking", []string{"performance.code_pattern", "performance.code_percent_bps", "performance.code_amount_off",
		"performance.attribution_window_days", "performance.utm_campaign", "performance.utm_source", "performance.ad_permissions"}},
	{StepBrief, "Brief", []string{"brief", "content_approval"}},
	{StepFund, "Fund", nil},
	{StepOpen, "Open", nil},
}

// setupSteps are the steps that edit the setup.
var setupSteps = []string{StepGoal, StepModel, StepTier, StepTracking, StepBrief}

func stepByKey(k string) (wizardStep, int, bool) {
	for i, s := range wizardSteps {
		if s.Key == k {
			return s, i, true
		}
	}
	return wizardStep{}, 0, false
}

// StepLink is one entry of the wizard's step list.
type StepLink struct {
	Key, Label, Path string
	N                int
	Done, Current    bool
}

// Option is a choice of a select or a group of checkboxes.
type Option struct {
	Value, Label string
	Checked      bool
}

// WizardPage is the data of every wizard page.
type WizardPage struct {
	Page
	C     campaign.Campaign
	Step  string
	Steps []StepLink
	// F holds the form's values by input name (the setup's JSON paths).
	F map[string]string
	// Sel holds checkbox and select choices by input name.
	Sel map[string][]Option
	// PostTypes are the brief's post-type checkboxes, per platform chosen in the tier step.
	PostTypes []PlatformTypes
	// Warnings is the pricing advisor's advice on the draft, by field.
	Warnings map[string]string
	// WarnList is the same advice in the advisor's order.
	WarnList []campaign.Warning
	// Locked says the setup can no longer change (the campaign is past funding).
	Locked bool
	// Configured says the campaign's whole setup is stored (the API's setup).
	Configured bool
	// Money is the campaign's money (fund and open steps).
	Money campaign.Money
	// Reference is the sandbox payment's reference (funding is idempotent on it).
	Reference string
	// Missing lists the setup steps not accepted yet.
	Missing []StepLink
	Action  string
	Next    string
	// AdviceURL answers the pricing advisor's advice on the form as typed
	// (static/wizard.js asks it); "" on steps without advice.
	AdviceURL string
}

// PostTypeErrors are the errors on the brief's post types (per platform).
func (p *WizardPage) PostTypeErrors() []string {
	var out []string
	for f, m := range p.Errors {
		if f == "brief.post_types" || strings.HasPrefix(f, "brief.post_types.") {
			out = append(out, m)
		}
	}
	slices.Sort(out)
	return out
}

// PlatformTypes is one platform's post-type checkboxes in the brief step.
type PlatformTypes struct {
	Platform string
	Name     string // the input name
	Types    []Option
}

// NewCampaignPage is the first page of the wizard: name and budget.
type NewCampaignPage struct {
	Page
	Name, Amount, Currency string
	Currencies             []string
}

// currencies offered for a budget (money's supported ones).
var currencies = []string{"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD"}

// wizardRoutes registers the new-campaign wizard (W1).
func (s *Server) wizardRoutes() {
	s.handle("GET /campaigns/new", s.requireBrand(s.newCampaign))
	s.handle("POST /campaigns/new", s.requireBrand(s.createCampaign))
	s.handle("GET /campaigns/{id}/setup", s.requireBrand(func(w http.ResponseWriter, r *http.Request) error {
		http.Redirect(w, r, "/campaigns/"+r.PathValue("id")+"/setup/"+StepGoal, http.StatusSeeOther)
		return nil
	}))
	s.handle("GET /campaigns/{id}/setup/{step}", s.requireBrand(s.wizardStep))
	s.handle("POST /campaigns/{id}/setup/{step}", s.requireBrand(s.saveWizardStep))
	s.handle("GET /campaigns/{id}/setup/model/advice", s.requireBrand(s.modelAdvice))
}

func (s *Server) newCampaign(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "wizard_new.html", &NewCampaignPage{Page: Page{Title: "New campaign", Nav: "campaigns"},
		Currency: "EUR", Currencies: currencies})
	return nil
}

// createCampaign makes the draft campaign (name and budget) as the API's
// POST /v1/campaigns does, and goes on to the goal step.
func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	f := r.PostForm
	p := &NewCampaignPage{Page: Page{Title: "New campaign", Nav: "campaigns"}, Name: f.Get("name"),
		Amount: strings.TrimSpace(f.Get("budget.amount")), Currency: f.Get("budget.currency"), Currencies: currencies}
	d := campaign.Draft{Name: p.Name, Budget: money.Amount{Currency: money.Currency(p.Currency)}}
	var c errs.Collector
	amountBad := true
	if p.Amount == "" {
		c.Addf("budget.amount", "required", "a budget is required, such as 500")
	} else if m, err := money.ParseMicros(p.Amount); err != nil {
		c.Addf("budget.amount", errs.CodeOf(err), "%s", errMessage(err))
	} else {
		d.Budget.Micros, amountBad = m, false
	}
	// The draft's own rules, as the API checks them (every field at once).
	for _, fe := range fieldList(d.Validate()) {
		if fe.Field != "budget.amount" || !amountBad {
			c.Addf(fe.Field, fe.Code, "%s", fe.Message)
		}
	}
	err := c.Err()
	if err == nil {
		var camp campaign.Campaign
		if camp, err = s.Campaigns.Create(r.Context(), u.Principal(), d); err == nil {
			s.redirect(w, r, "/campaigns/"+camp.ID+"/setup/"+StepGoal, "Campaign created as a draft. Now set its goal.")
			return nil
		}
	}
	if fe := fieldErrors(err); fe != nil {
		p.Errors = fe
		s.render(w, r, http.StatusBadRequest, "wizard_new.html", p)
		return nil
	}
	return err
}

// errMessage is the message of a domain error, without its field.
func errMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// fieldList lists the field errors of an Invalid error (nil for nil).
func fieldList(err error) []errs.FieldError {
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		return nil
	}
	if len(e.Fields) == 0 {
		return []errs.FieldError{{Field: e.Field, Code: e.Code, Message: e.Message}}
	}
	return e.Fields
}

// wizardStep shows one step of the wizard with the draft's values.
func (s *Server) wizardStep(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	step, _, ok := stepByKey(r.PathValue("step"))
	if !ok {
		return errs.NotFoundf("no such setup step")
	}
	c, d, err := s.Campaigns.SetupDraft(r.Context(), u.Principal(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p, err := s.wizardPage(r, c, d, step)
	if err != nil {
		return err
	}
	p.F = setupForm(d.Setup)
	if step.Key == StepFund && p.Money.Funded.Micros == 0 {
		p.F["amount"] = decimal(c.Budget.Micros)
	}
	if d.Pending && slices.Contains(setupSteps, step.Key) && len(p.Missing) == 0 {
		// Every step was accepted but the whole setup was refused: show
		// why, beside the fields of this step.
		if err := campaign.PartErrors(d.Setup.Validate(c.Budget, s.Clock.Now()), step.Fields); err != nil {
			p.Errors = fieldErrors(err)
			p.FormError = "Every step was saved, but the whole setup was refused: fix the fields marked below."
		}
	}
	s.fillChoices(p, d.Setup)
	s.render(w, r, http.StatusOK, "wizard_"+step.Key+".html", p)
	return nil
}

// wizardPage builds the page data common to every step.
func (s *Server) wizardPage(r *http.Request, c campaign.Campaign, d campaign.SetupDraft, step wizardStep) (*WizardPage, error) {
	u, _ := userFrom(r)
	p := &WizardPage{Page: Page{Title: c.Name + ": " + strings.ToLower(step.Label), Nav: "campaigns",
		Campaign: &CampaignNav{ID: c.ID, Name: c.Name, Tab: TabSetup}},
		C: c, Step: step.Key, Locked: c.State != campaign.StateDraft && c.State != campaign.StateFunded,
		Configured: c.Setup != nil && !d.Pending, Action: "/campaigns/" + c.ID + "/setup/" + step.Key}
	done := func(k string) bool {
		switch k {
		case StepFund:
			return c.State != campaign.StateDraft
		case StepOpen:
			return c.State != campaign.StateDraft && c.State != campaign.StateFunded
		}
		// A stored setup passed every step's checks when it was stored.
		return c.Setup != nil || slices.Contains(d.Steps, k)
	}
	for i, st := range wizardSteps {
		l := StepLink{Key: st.Key, Label: st.Label, Path: "/campaigns/" + c.ID + "/setup/" + st.Key, N: i + 1,
			Done: done(st.Key), Current: st.Key == step.Key}
		p.Steps = append(p.Steps, l)
		if slices.Contains(setupSteps, st.Key) && !l.Done {
			p.Missing = append(p.Missing, l)
		}
	}
	if _, i, _ := stepByKey(step.Key); i+1 < len(wizardSteps) {
		p.Next = "/campaigns/" + c.ID + "/setup/" + wizardSteps[i+1].Key
	}
	if step.Key == StepModel && !p.Locked {
		p.AdviceURL = "/campaigns/" + c.ID + "/setup/model/advice"
	}
	p.WarnList = campaign.Advise(d.Setup, c.Budget, campaign.DefaultFXRates())
	p.Warnings = map[string]string{}
	for _, wn := range p.WarnList {
		if p.Warnings[wn.Field] == "" {
			p.Warnings[wn.Field] = wn.Message
		}
	}
	if step.Key == StepFund || step.Key == StepOpen {
		m, err := s.Campaigns.MoneyState(r.Context(), u.Principal(), c.ID)
		if err != nil {
			return nil, err
		}
		p.Money = m
		p.Reference = id.New(id.Payment)
		p.Title = c.Name + ": " + strings.ToLower(step.Label)
	}
	return p, nil
}

// saveWizardStep reads one setup step's form and stores it in the draft
// (nothing when any of its fields is bad); when every setup step is
// accepted it stores the whole setup as the API's PUT …/setup does.
func (s *Server) saveWizardStep(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	step, i, ok := stepByKey(r.PathValue("step"))
	if !ok || !slices.Contains(setupSteps, step.Key) {
		return errs.NotFoundf("no such setup step")
	}
	if err := parseForm(w, r, "brief.product", "brief.message"); err != nil {
		return err
	}
	ctx := r.Context()
	c, d, err := s.Campaigns.SetupDraft(ctx, u.Principal(), r.PathValue("id"))
	if err != nil {
		return err
	}
	setup, err := applyStep(d.Setup, step.Key, r)
	if err == nil {
		d, err = s.Campaigns.SaveSetupPart(ctx, u.Principal(), c.ID, setup, step.Key, step.Fields)
	} else if fieldErrors(err) != nil {
		// Unreadable inputs: show them with what the domain says of the
		// rest of the step (nothing is saved either way).
		check := setup
		check.Normalize()
		var all errs.Collector
		formErrs := fieldErrors(err)
		for _, fe := range fieldList(err) {
			all.Addf(fe.Field, fe.Code, "%s", fe.Message)
		}
		for _, fe := range fieldList(campaign.PartErrors(check.Validate(c.Budget, s.Clock.Now()), step.Fields)) {
			if _, dup := formErrs[fe.Field]; !dup {
				all.Addf(fe.Field, fe.Code, "%s", fe.Message)
			}
		}
		err = all.Err()
	}
	if fe := fieldErrors(err); fe != nil {
		// Nothing was saved: show the form as sent, each error beside its field.
		p, perr := s.wizardPage(r, c, d, step)
		if perr != nil {
			return perr
		}
		p.F = postedForm(r)
		p.Errors = fe
		s.fillChoices(p, setup)
		s.render(w, r, http.StatusBadRequest, "wizard_"+step.Key+".html", p)
		return nil
	}
	if err != nil {
		return err
	}
	next := "/campaigns/" + c.ID + "/setup/" + wizardSteps[i+1].Key
	for _, k := range setupSteps {
		// A stored setup passed every step's checks when it was stored.
		if c.Setup == nil && !slices.Contains(d.Steps, k) {
			s.redirect(w, r, next, step.Label+" saved.")
			return nil
		}
	}
	// Every step is accepted: store the whole setup, as the API does.
	_, err = s.Campaigns.Configure(ctx, u.Principal(), c.ID, d.Setup)
	if fe := fieldErrors(err); fe != nil {
		for _, st := range wizardSteps {
			for f := range fe {
				if campaign.InPart(f, st.Fields) {
					s.redirect(w, r, "/campaigns/"+c.ID+"/setup/"+st.Key, step.Label+" saved, but the "+strings.ToLower(st.Label)+" step needs another look: "+fe[f])
					return nil
				}
			}
		}
		return err
	}
	if err != nil {
		return err
	}
	msg := step.Label + " saved. The campaign's setup is complete."
	if c.Setup != nil {
		msg = step.Label + " saved: the campaign's setup is updated."
	}
	s.redirect(w, r, next, msg)
	return nil
}

// postedForm is the posted form as F: each input's first value, and the
// brief's post types joined.
func postedForm(r *http.Request) map[string]string {
	f := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			f[k] = v[0]
		}
	}
	for _, k := range []string{"eligibility.platforms", "brief.non_negotiable"} {
		f[k] = strings.Join(r.PostForm[k], ",")
	}
	for k, v := range r.PostForm {
		if strings.HasPrefix(k, "brief.post_types.") {
			f[k] = strings.Join(v, ",")
		}
	}
	if _, ok := r.PostForm["content_approval"]; ok {
		f["content_approval"] = "on"
	} else {
		f["content_approval"] = ""
	}
	return f
}

// ---- from the setup to the form, and back ----

// decimal writes micros for an input: "0.05", "" for zero.
func decimal(m int64) string {
	if m == 0 {
		return ""
	}
	s := money.FormatMicros(m)
	return strings.TrimRight(strings.TrimRight(s, "0"), ".")
}

func intStr[T int | int64](v T) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatInt(int64(v), 10)
}

const dateLayout = "2006-01-02"

// setupForm writes a setup as the wizard's inputs.
func setupForm(st campaign.Setup) map[string]string {
	g, b, e, pf := st.Goal, st.Brief, st.Eligibility, st.Performance
	f := map[string]string{
		"goal.primary": string(g.Primary), "goal.primary_target": decimal(g.PrimaryTarget),
		"goal.secondary": string(g.Secondary), "goal.secondary_target": decimal(g.SecondaryTarget),
		"prices.view": decimal(st.Prices.View), "prices.like": decimal(st.Prices.Like), "prices.comment": decimal(st.Prices.Comment),
		"prices.share": decimal(st.Prices.Share), "prices.save": decimal(st.Prices.Save),
		"creator_cap": decimal(st.CreatorCap), "max_creators": intStr(st.MaxCreators),
		"performance.commission_bps": campaign.FormatPercent(pf.CommissionBps), "performance.cpa": decimal(pf.CPA),
		"performance.flat_fee": decimal(pf.FlatFee), "performance.commission_base": pf.CommissionBase,
		"performance.code_pattern": pf.CodePattern, "performance.code_percent_bps": campaign.FormatPercent(pf.CodePercentBps),
		"performance.code_amount_off": decimal(pf.CodeAmountOff), "performance.attribution_window_days": intStr(pf.AttributionWindowDays),
		"performance.utm_campaign": pf.UTMCampaign, "performance.utm_source": pf.UTMSource, "performance.ad_permissions.days": intStr(pf.AdPermissions.Days),
		"eligibility.min_followers": strconv.FormatInt(e.MinFollowers, 10), "eligibility.max_followers": strconv.FormatInt(e.MaxFollowers, 10),
		"eligibility.countries": strings.Join(e.Countries, ", "), "eligibility.niches": strings.Join(e.Niches, ", "),
		"brief.product": b.Product, "brief.message": b.Message, "brief.required_hashtags": strings.Join(b.RequiredHashtags, " "),
		"brief.disclosure": b.Disclosure, "brief.cta": b.CTA, "brief.hook_seconds": intStr(b.HookSeconds),
		"brief.landing_url": b.LandingURL,
	}
	if e.MinFollowers == 0 && e.MaxFollowers == 0 {
		f["eligibility.min_followers"] = strconv.Itoa(campaign.DefaultMinFollowers)
		f["eligibility.max_followers"] = strconv.Itoa(campaign.DefaultMaxFollowers)
	}
	if !st.StartsAt.IsZero() {
		f["starts_at"] = st.StartsAt.UTC().Format(dateLayout)
	}
	if !st.EndsAt.IsZero() {
		f["ends_at"] = st.EndsAt.UTC().Format(dateLayout)
	}
	ps := make([]string, len(e.Platforms))
	for i, p := range e.Platforms {
		ps[i] = string(p)
	}
	f["eligibility.platforms"] = strings.Join(ps, ",")
	nn := make([]string, len(b.NonNegotiable))
	for i, n := range b.NonNegotiable {
		nn[i] = string(n)
	}
	f["brief.non_negotiable"] = strings.Join(nn, ",")
	for p, types := range b.PostTypes {
		f["brief.post_types."+string(p)] = strings.Join(types, ",")
	}
	if st.ContentApproval {
		f["content_approval"] = "on"
	}
	if pf.AdPermissions.Whitelisting {
		f["performance.ad_permissions.whitelisting"] = "on"
	}
	if pf.AdPermissions.DarkPosts {
		f["performance.ad_permissions.dark_posts"] = "on"
	}
	return f
}

var (
	platforms     = []string{"instagram", "tiktok", "youtube", "sandbox"}
	platformLabel = map[string]string{"instagram": "Instagram", "tiktok": "TikTok", "youtube": "YouTube", "sandbox": "Sandbox (test platform)"}
	briefItems    = []Option{{Value: "hashtags", Label: "Hashtags"}, {Value: "disclosure", Label: "Disclosure"}, {Value: "cta", Label: "Call to action"},
		{Value: "hook", Label: "Hook timing"}, {Value: "landing_url", Label: "Landing page"}, {Value: "post_types", Label: "Post types"}}
)

// fillChoices fills the selects and checkbox groups from p.F, and the
// brief's post types for the platforms of st.
func (s *Server) fillChoices(p *WizardPage, st campaign.Setup) {
	choose := func(name string, opts []Option) []Option {
		chosen := strings.Split(p.F[name], ",")
		out := make([]Option, len(opts))
		for i, o := range opts {
			o.Checked = slices.Contains(chosen, o.Value)
			out[i] = o
		}
		return out
	}
	p.Sel = map[string][]Option{
		"goal.primary": choose("goal.primary", []Option{{Value: "", Label: "Choose…"}, {Value: "cpa", Label: "CPA: cost per order"},
			{Value: "roas", Label: "ROAS: revenue per unit spent"}, {Value: "revenue", Label: "Revenue"}}),
		"goal.secondary": choose("goal.secondary", []Option{{Value: "", Label: "None"}, {Value: "redemption_rate", Label: "Redemption rate: code uses per view"},
			{Value: "cpe", Label: "CPE: cost per engagement"}}),
		"performance.commission_base": choose("performance.commission_base", []Option{{Value: "", Label: "Net: order less tax and shipping (default)"},
			{Value: "total", Label: "Total: tax and shipping included"}}),
		"brief.non_negotiable": choose("brief.non_negotiable", briefItems),
	}
	var pl []Option
	for _, k := range platforms {
		pl = append(pl, Option{Value: k, Label: platformLabel[k]})
	}
	p.Sel["eligibility.platforms"] = choose("eligibility.platforms", pl)
	for _, pf := range st.Eligibility.Platforms {
		name := "brief.post_types." + string(pf)
		var types []Option
		for _, t := range pf.PostTypes() {
			types = append(types, Option{Value: t, Label: t})
		}
		if types == nil {
			continue
		}
		p.PostTypes = append(p.PostTypes, PlatformTypes{Platform: platformLabel[string(pf)], Name: name, Types: choose(name, types)})
	}
}

// applyStep returns the draft with one step's form applied: the step's part
// of the setup's JSON form is replaced by what was posted, and the whole is
// decoded with the API's decoder. Bad dates, whole numbers and percentages
// are field errors.
func applyStep(st campaign.Setup, step string, r *http.Request) (campaign.Setup, error) {
	raw, err := json.Marshal(st)
	if err != nil {
		return st, err
	}
	m := map[string]any{}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return st, err
	}
	f := r.PostForm
	get := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	var c errs.Collector
	obj := func(k string) map[string]any {
		o, _ := m[k].(map[string]any)
		if o == nil {
			o = map[string]any{}
			m[k] = o
		}
		return o
	}
	integer := func(k string) any {
		v := get(k)
		if v == "" {
			return 0
		}
		n, err := strconv.ParseInt(strings.ReplaceAll(v, ",", ""), 10, 64)
		if err != nil {
			c.Addf(k, "invalid_number", "enter a whole number, such as 20")
			return 0
		}
		return n
	}
	percent := func(k string) int64 {
		n, err := campaign.ParsePercent(get(k))
		if err != nil {
			c.Addf(k, errs.CodeOf(err), "%s", errMessage(err))
		}
		return n
	}
	date := func(k, clock string) string {
		v := get(k)
		if v == "" {
			return ""
		}
		t, err := time.Parse(dateLayout, v)
		if err != nil {
			c.Addf(k, "invalid_date", "enter a date such as 2026-12-31")
			return ""
		}
		return t.Format(dateLayout) + "T" + clock + "Z"
	}
	list := func(k string) []string {
		return strings.FieldsFunc(f.Get(k), func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
	}
	switch step {
	case StepGoal:
		m["goal"] = map[string]any{"primary": get("goal.primary"), "primary_target": get("goal.primary_target"),
			"secondary": get("goal.secondary"), "secondary_target": get("goal.secondary_target")}
		m["starts_at"] = date("starts_at", "00:00:00")
		m["ends_at"] = date("ends_at", "23:59:59")
	case StepModel:
		m["prices"] = map[string]any{"view": get("prices.view"), "like": get("prices.like"), "comment": get("prices.comment"),
			"share": get("prices.share"), "save": get("prices.save")}
		m["creator_cap"] = get("creator_cap")
		m["max_creators"] = integer("max_creators")
		pf := obj("performance")
		pf["commission_bps"] = percent("performance.commission_bps")
		pf["cpa"] = get("performance.cpa")
		pf["flat_fee"] = get("performance.flat_fee")
		pf["commission_base"] = get("performance.commission_base")
	case StepTier:
		e := map[string]any{"platforms": f["eligibility.platforms"], "countries": list("eligibility.countries"),
			"niches": strings.FieldsFunc(f.Get("eligibility.niches"), func(r rune) bool { return r == ',' || r == ';' })}
		if get("eligibility.min_followers") != "" {
			e["min_followers"] = integer("eligibility.min_followers")
		}
		if get("eligibility.max_followers") != "" {
			e["max_followers"] = integer("eligibility.max_followers")
		}
		m["eligibility"] = e
	case StepTracking:
		pf := obj("performance")
		pf["code_pattern"] = get("performance.code_pattern")
		pf["code_percent_bps"] = percent("performance.code_percent_bps")
		pf["code_amount_off"] = get("performance.code_amount_off")
		pf["attribution_window_days"] = integer("performance.attribution_window_days")
		pf["utm_campaign"] = get("performance.utm_campaign")
		pf["utm_source"] = get("performance.utm_source")
		pf["ad_permissions"] = map[string]any{"whitelisting": f.Has("performance.ad_permissions.whitelisting"),
			"dark_posts": f.Has("performance.ad_permissions.dark_posts"), "days": integer("performance.ad_permissions.days")}
	case StepBrief:
		pt := map[string]any{}
		for k, v := range f {
			if p, ok := strings.CutPrefix(k, "brief.post_types."); ok && len(v) > 0 {
				pt[p] = v
			}
		}
		nn := f["brief.non_negotiable"]
		if nn == nil {
			nn = []string{}
		}
		m["brief"] = map[string]any{"product": get("brief.product"), "message": get("brief.message"),
			"required_hashtags": list("brief.required_hashtags"), "disclosure": get("brief.disclosure"), "post_types": pt,
			"cta": get("brief.cta"), "hook_seconds": integer("brief.hook_seconds"), "landing_url": get("brief.landing_url"),
			"non_negotiable": nn}
		m["content_approval"] = f.Has("content_approval")
	}
	raw, err = json.Marshal(m)
	if err != nil {
		return st, err
	}
	var out campaign.Setup
	if err := out.UnmarshalJSON(raw); err != nil {
		for _, fe := range fieldList(err) {
			c.Addf(fe.Field, fe.Code, "%s", fe.Message)
		}
		return st, c.Err()
	}
	// The form's own errors (a date, a whole number, a percentage that
	// could not be read), with out holding the rest as decoded.
	return out, c.Err()
}

// WizardField is one labelled input of a wizard form, for the
// "wizard_field" partial: {{template "wizard_field" (wf . "prices.view" "View" "text" "hint")}}.
type WizardField struct {
	Name, Label, Kind, Hint, Value, Error, Warning string
	Options                                        []Option
	// Mode is the input's inputmode ("decimal", "numeric"), "" for none.
	Mode string
	// Live keeps a place for advice that static/wizard.js fills as the brand types.
	Live bool
}

// ID is the input's id.
func (f WizardField) ID() string { return "f-" + f.Name }

// Described lists the ids that describe the input (hint, error, warning).
func (f WizardField) Described() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID()+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID()+"-error")
	}
	if f.Warning != "" {
		ids = append(ids, f.ID()+"-warning")
	}
	return strings.Join(ids, " ")
}

// newWizardField builds a WizardField of p: its value, error, advisor
// warning and options. kind is text, decimal, number, date, url, textarea,
// select, checks (a group of checkboxes) or checkbox.
func newWizardField(p *WizardPage, name, label, kind string, hint ...string) WizardField {
	f := WizardField{Name: name, Label: label, Kind: kind, Value: p.F[name], Error: p.Errors[name], Warning: p.Warnings[name],
		Options: p.Sel[name], Live: p.AdviceURL != ""}
	if len(hint) > 0 {
		f.Hint = hint[0]
	}
	switch kind {
	case "decimal":
		f.Kind, f.Mode = "text", "decimal"
	case "number":
		f.Kind, f.Mode = "text", "numeric"
	}
	return f
}

func init() {
	funcs["wf"] = newWizardField
	funcs["utmslug"] = links.CampaignSlug // the utm_campaign links make when the setup gives none
	funcs["typical"] = typicalHint
	funcs["wzlist"] = func(v ...string) []string { return v }
	funcs["action"] = func(a string) string {
		return map[string]string{campaign.ActionOpen: "Open the campaign", campaign.ActionPause: "Pause",
			campaign.ActionResume: "Resume", campaign.ActionComplete: "End the campaign"}[a]
	}
}

// typicalHint says an interaction's typical price range, as the pricing
// advisor judges it in EUR ("" for one without).
func typicalHint(interaction string, cur money.Currency) string {
	lo, hi, ok := campaign.TypicalPrice(interaction)
	if !ok {
		return ""
	}
	h := "Typical: €" + formatMoney(money.Amount{Micros: lo}) + "–" + formatMoney(money.Amount{Micros: hi})
	if cur != "EUR" {
		h += " or the same in " + string(cur)
	}
	return h + "."
}

// modelAdvice answers the pricing advisor's advice on the model step's form
// as typed (its inputs as query parameters), as JSON {"advice": {field:
// message}}: the same campaign.Advise the step shows once saved, on the
// draft with the typed prices. Inputs that cannot be read yet are left at
// the draft's values. Nothing is saved. For static/wizard.js.
func (s *Server) modelAdvice(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	c, d, err := s.Campaigns.SetupDraft(r.Context(), u.Principal(), r.PathValue("id"))
	if err != nil {
		return err
	}
	r.PostForm = r.URL.Query()
	st, _ := applyStep(d.Setup, StepModel, r)
	st.Normalize()
	out := map[string]string{}
	for _, wn := range campaign.Advise(st, c.Budget, campaign.DefaultFXRates()) {
		if out[wn.Field] == "" {
			out[wn.Field] = wn.Message
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(map[string]any{"advice": out})
}
