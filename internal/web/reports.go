package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/ads/csvimport"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/report"
)

// reportRoutes registers reports (with their CSV), ads, optimize and the
// store settings (W4). Every figure comes from internal/report's own calls,
// the ones the API's /v1/campaigns/{id}/report, …/ads, …/optimize make.
func (s *Server) reportRoutes() {
	s.handle("GET /campaigns/{id}/reports", s.requireBrand(s.reportsPage))
	s.handle("GET /campaigns/{id}/reports.csv", s.requireBrand(s.reportsCSV))
	s.handle("GET /campaigns/{id}/ads", s.requireBrand(s.adsPage))
	s.handle("POST /campaigns/{id}/ads", s.requireBrand(s.createAd))
	s.handle("POST /campaigns/{id}/ads/results", s.requireBrand(s.uploadAdResults))
	s.handle("POST /campaigns/{id}/ads/import", s.requireBrand(s.importAds))
	s.handle("GET /campaigns/{id}/optimize", s.requireBrand(s.optimizePage))
	s.handle("POST /campaigns/{id}/optimize", s.requireBrand(s.rankCreators))
	s.handle("GET /campaigns/{id}/optimize/{plan}", s.requireBrand(s.planPage))
	s.handle("POST /campaigns/{id}/optimize/{plan}/apply", s.requireBrand(s.applyPlan))
	s.handle("GET /settings/stores", s.requireBrand(s.storesPage))
	s.handle("POST /settings/stores", s.requireBrand(s.connectStore))
}

// Template functions for the report's KPIs, which the domain gives as
// decimal strings with six places ("undefined" when the denominator is
// zero): shown exactly, trailing zeros beyond two decimals dropped, never
// rounded or recomputed.
func init() {
	funcs["repMoney"] = repKPIMoney
	funcs["repRatio"] = repKPIRatio
	funcs["repPercent"] = repKPIPercent
	funcs["repAmt"] = func(a money.Amount) string { return formatMoney(money.Amount{Micros: a.Micros}) }
	funcs["repGoal"] = repGoal
	funcs["repMetric"] = repMetric
}

// repGoal shows a goal metric's target or value (a decimal string, as
// report.GoalStatus gives it) in the metric's unit.
func repGoal(m campaign.Metric, v string, cur money.Currency) string {
	switch m {
	case campaign.MetricROAS:
		return repKPIRatio(v)
	case campaign.MetricRedemptionRate:
		return repKPIPercent(v)
	}
	return repKPIMoney(v, cur)
}

// repMetric names a goal metric for people.
func repMetric(m campaign.Metric) string {
	switch m {
	case campaign.MetricCPA:
		return "CPA"
	case campaign.MetricROAS:
		return "ROAS"
	case campaign.MetricRevenue:
		return "Revenue"
	case campaign.MetricRedemptionRate:
		return "Redemption rate"
	case campaign.MetricCPE:
		return "CPE"
	}
	return string(m)
}

// repKPIMoney shows a money KPI ("12.500000") in cur: "12.50 EUR"; "—" when
// undefined.
func repKPIMoney(v string, cur money.Currency) string {
	m, err := money.ParseMicros(v)
	if v == report.Undefined || v == "" || err != nil {
		return "—"
	}
	return formatMoney(money.New(m, cur))
}

// repKPIDecimal shows a decimal string with at least two decimals and no
// trailing zeros beyond: "3.250000" is "3.25", "0.001234" "0.001234".
func repKPIDecimal(v string) (string, bool) {
	m, err := money.ParseMicros(v)
	if v == report.Undefined || v == "" || err != nil {
		return "—", false
	}
	return strings.TrimSuffix(formatMoney(money.Amount{Micros: m}), " "), true
}

// repKPIRatio shows a ratio such as ROAS: "3.25×".
func repKPIRatio(v string) string {
	s, ok := repKPIDecimal(v)
	if ok {
		s += "×"
	}
	return s
}

// repKPIPercent shows a KPI the domain already gives in percent (the
// redemption rate): "0.50%".
func repKPIPercent(v string) string {
	s, ok := repKPIDecimal(v)
	if ok {
		s += "%"
	}
	return s
}

// ---- reports ----

// ReportWindow is the report window chooser's state: the window's name and,
// for a custom window, its first and last day (YYYY-MM-DD).
type ReportWindow struct {
	Window, From, To string
}

// repWindowOptions are the windows a report covers, for the chooser.
var repWindowOptions = []struct{ Value, Label string }{
	{report.WindowLaunch, "Since launch"},
	{report.Window14, "Last 14 days"},
	{report.Window30, "Last 30 days"},
	{report.WindowCustom, "Custom range"},
}

// ReportsPage is a campaign's report over a window: its row, goal status,
// one row per creator and per placement, and the CSV export's address.
type ReportsPage struct {
	Page
	CampaignID string
	Form       ReportWindow
	// Report is nil when the window is invalid (Errors say why).
	Report *report.Report
}

// Windows lists the window chooser's options.
func (p *ReportsPage) Windows() any { return repWindowOptions }

// repWindow reads ?window=&from=&to= into a report window, as the API's
// report does.
func (s *Server) repWindow(r *http.Request) (ReportWindow, report.Window, error) {
	q := r.URL.Query()
	f := ReportWindow{Window: q.Get("window"), From: q.Get("from"), To: q.Get("to")}
	if f.Window == "" {
		f.Window = report.WindowLaunch
	}
	if f.Window != report.WindowCustom { // the chooser sends empty dates along
		f.From, f.To = "", ""
	}
	w, err := report.ParseWindow(f.Window, f.From, f.To, s.Report.Now())
	return f, w, err
}

func (s *Server) reportsPage(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	id := r.PathValue("id")
	f, win, err := s.repWindow(r)
	p := &ReportsPage{CampaignID: id, Form: f}
	if err != nil {
		// The campaign must still be the brand's before anything is shown.
		c, gerr := s.Campaigns.Get(r.Context(), u.Principal(), id)
		if gerr != nil {
			return gerr
		}
		p.Page = repCampaignPage("Reports", c.ID, c.Name, TabReports)
		if p.Errors = fieldErrors(err); p.Errors == nil {
			return err
		}
		s.render(w, r, http.StatusBadRequest, "reports_report.html", p)
		return nil
	}
	rep, err := s.Report.Campaign(r.Context(), u.Principal(), id, win)
	if err != nil {
		return err
	}
	p.Page = repCampaignPage("Reports", rep.CampaignID, rep.Name, TabReports)
	p.Report = &rep
	s.render(w, r, http.StatusOK, "reports_report.html", p)
	return nil
}

// reportsCSV serves the report's CSV: the same bytes, headers and file
// name as GET /v1/campaigns/{id}/report?format=csv.
func (s *Server) reportsCSV(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	_, win, err := s.repWindow(r)
	if err != nil {
		return err
	}
	rep, err := s.Report.Campaign(r.Context(), u.Principal(), r.PathValue("id"), win)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, rep); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report-`+rep.CampaignID+`-`+win.Name+`.csv"`)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// repCampaignPage is the Page of a campaign's tab.
func repCampaignPage(title, id, name, tab string) Page {
	return Page{Title: title, Nav: "campaigns", Campaign: &CampaignNav{ID: id, Name: name, Tab: tab}}
}

// ---- ads ----

// AdsPage shows a campaign's paid-social placements with their results
// and the dark-post variants' comparison (from the report over a window),
// the form registering a placement and the upload of ad results.
type AdsPage struct {
	Page
	CampaignID string
	Form       ReportWindow
	Ads        []report.AdPlacement
	Report     report.Report
	// Handles maps creator ids to their handles (from the report).
	Handles map[string]string
	// Draft is the placement form's values.
	Draft report.AdDraft
	// Problems are what is wrong with a refused upload, each naming its
	// line (and column); nothing of that upload was imported.
	Problems []string
	// Import is the platform import form's values.
	ImportPlatform, ImportFrom, ImportTo string
}

// Windows lists the window chooser's options.
func (p *AdsPage) Windows() any { return repWindowOptions }

// adsPageData fills an AdsPage for the campaign of r (window from the query).
func (s *Server) adsPageData(r *http.Request) (*AdsPage, error) {
	u, _ := userFrom(r)
	id := r.PathValue("id")
	f, win, err := s.repWindow(r)
	if err != nil {
		if _, gerr := s.Campaigns.Get(r.Context(), u.Principal(), id); gerr != nil {
			return nil, gerr
		}
		return nil, err
	}
	rep, err := s.Report.Campaign(r.Context(), u.Principal(), id, win)
	if err != nil {
		return nil, err
	}
	list, err := s.Report.ListAds(r.Context(), u.Principal(), id)
	if err != nil {
		return nil, err
	}
	p := &AdsPage{Page: repCampaignPage("Ads", rep.CampaignID, rep.Name, TabAds), CampaignID: rep.CampaignID, Form: f,
		Ads: list, Report: rep, Handles: map[string]string{},
		Draft: report.AdDraft{Platform: report.PlatformMeta, Kind: report.KindDarkPost}, ImportPlatform: report.PlatformMeta}
	for _, c := range rep.Creators {
		p.Handles[c.CreatorID] = c.Handle
	}
	return p, nil
}

func (s *Server) adsPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.adsPageData(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "reports_ads.html", p)
	return nil
}

// repFormFailure shows err on a refused form: field errors beside their
// fields (400), a conflict above the form (409); other errors are returned.
func repFormFailure(p *Page, err error) (int, error) {
	if fe := fieldErrors(err); fe != nil {
		p.Errors = fe
		if msg, ok := fe[""]; ok {
			p.FormError = msg
		}
		return http.StatusBadRequest, nil
	}
	var e *errs.Error
	if errors.As(err, &e) && e.Kind == errs.Conflict {
		p.FormError = e.Message
		return http.StatusConflict, nil
	}
	return 0, err
}

func (s *Server) createAd(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	f := r.PostForm
	d := report.AdDraft{CreatorID: f.Get("creator_id"), Platform: f.Get("platform"), Kind: f.Get("kind"), AdID: strings.TrimSpace(f.Get("ad_id")),
		Variant: f.Get("variant"), Segment: f.Get("segment"), Destination: strings.TrimSpace(f.Get("destination"))}
	a, err := s.Report.CreateAd(r.Context(), u.Principal(), s.Links, r.PathValue("id"), d)
	if err == nil {
		s.redirect(w, r, "/campaigns/"+a.CampaignID+"/ads", "Ad "+a.AdID+" registered, with a tracked link of its own (under Codes & links) for the ad to point at.")
		return nil
	}
	p, perr := s.adsPageData(r)
	if perr != nil {
		return perr
	}
	p.Draft = d
	st, err := repFormFailure(&p.Page, err)
	if err != nil {
		return err
	}
	s.render(w, r, st, "reports_ads.html", p)
	return nil
}

// repMaxAdCSV bounds an uploaded CSV of ad results (as the API's).
const repMaxAdCSV = 8 << 20

// uploadAdResults imports a CSV of daily ad results (multipart field
// "file") through the same parse and import as POST
// /v1/campaigns/{id}/ads/results: all or nothing, every bad row named.
func (s *Server) uploadAdResults(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	r.Body = http.MaxBytesReader(w, r.Body, repMaxAdCSV+64<<10)
	var problems []string
	file, _, err := r.FormFile("file")
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		problems = []string{fmt.Sprintf("The file is larger than %d MB.", repMaxAdCSV>>20)}
	case err != nil:
		problems = []string{"Choose a CSV file of ad results to upload."}
	}
	if file != nil {
		defer file.Close()
		rows, err := csvimport.Parse(file, 100_000)
		var ce *csvimport.Errors
		switch {
		case errors.As(err, &ce):
			for _, row := range ce.Rows {
				problems = append(problems, row.String())
			}
			if ce.More > 0 {
				problems = append(problems, fmt.Sprintf("and %d more problems", ce.More))
			}
		case err != nil:
			problems = append(problems, err.Error())
		default:
			res, err := s.Report.ImportRows(r.Context(), u.Principal(), r.PathValue("id"), "csv", rows)
			if err == nil {
				s.redirect(w, r, "/campaigns/"+r.PathValue("id")+"/ads", repImportMessage(res))
				return nil
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Kind != errs.Invalid {
				return err
			}
			for _, fe := range e.Fields {
				problems = append(problems, fe.Message)
			}
			if len(e.Fields) == 0 {
				problems = append(problems, e.Message)
			}
		}
	}
	p, err := s.adsPageData(r)
	if err != nil {
		return err
	}
	p.Problems = problems
	s.render(w, r, http.StatusBadRequest, "reports_ads.html", p)
	return nil
}

func repImportMessage(res report.ImportResult) string {
	return fmt.Sprintf("Imported %d rows: %d days new or changed, %d unchanged.", res.Rows, res.Changed, res.Unchanged)
}

// importAds fetches results from an ad platform's API, as POST
// /v1/campaigns/{id}/ads/import.
func (s *Server) importAds(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	f := r.PostForm
	var c errs.Collector
	from, err1 := time.Parse("2006-01-02", f.Get("import_from"))
	to, err2 := time.Parse("2006-01-02", f.Get("import_to"))
	if err1 != nil {
		c.Addf("from", "invalid_date", "Give the first day, such as 2026-11-01.")
	}
	if err2 != nil {
		c.Addf("to", "invalid_date", "Give the last day, such as 2026-11-30.")
	}
	err := c.Err()
	var res report.ImportResult
	if err == nil {
		res, err = s.Report.Import(r.Context(), u.Principal(), r.PathValue("id"), f.Get("import_platform"), from, to)
	}
	if err == nil {
		s.redirect(w, r, "/campaigns/"+r.PathValue("id")+"/ads", repImportMessage(res))
		return nil
	}
	p, perr := s.adsPageData(r)
	if perr != nil {
		return perr
	}
	p.ImportPlatform, p.ImportFrom, p.ImportTo = f.Get("import_platform"), f.Get("import_from"), f.Get("import_to")
	st, err := repFormFailure(&p.Page, err)
	if err != nil {
		return err
	}
	// This form's fields are named apart from the placement form's and
	// the window's (one page, unique ids).
	imp := map[string]string{}
	for k, v := range p.Errors {
		switch k {
		case "from", "to", "platform":
			imp["import_"+k] = v
		default:
			imp[k] = v
		}
	}
	p.Errors = imp
	s.render(w, r, st, "reports_ads.html", p)
	return nil
}

// ---- optimize ----

// OptimizePage lists a campaign's rankings (newest first) and offers a
// new one.
type OptimizePage struct {
	Page
	CampaignID string
	Plans      []report.Plan
	Mark       string
}

// Marks lists the marks a ranking can be made at.
func (p *OptimizePage) Marks() any {
	return []struct{ Value, Label string }{
		{report.MarkDemand, "Since launch"},
		{report.Mark14, "Last 14 days"},
		{report.Mark30, "Last 30 days"},
	}
}

func (s *Server) optimizePageData(r *http.Request) (*OptimizePage, error) {
	u, _ := userFrom(r)
	c, err := s.Campaigns.Get(r.Context(), u.Principal(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	plans, err := s.Report.Plans(r.Context(), u.Principal(), c.ID)
	if err != nil {
		return nil, err
	}
	return &OptimizePage{Page: repCampaignPage("Optimize", c.ID, c.Name, TabOptimize), CampaignID: c.ID, Plans: plans, Mark: report.MarkDemand}, nil
}

func (s *Server) optimizePage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.optimizePageData(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "reports_optimize.html", p)
	return nil
}

// rankCreators makes a plan (POST /v1/campaigns/{id}/optimize) and shows it.
func (s *Server) rankCreators(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	plan, err := s.Report.Optimize(r.Context(), u.Principal(), r.PathValue("id"), r.PostForm.Get("mark"))
	if err == nil {
		s.redirect(w, r, "/campaigns/"+plan.CampaignID+"/optimize/"+plan.ID, "")
		return nil
	}
	p, perr := s.optimizePageData(r)
	if perr != nil {
		return perr
	}
	p.Mark = r.PostForm.Get("mark")
	st, err := repFormFailure(&p.Page, err)
	if err != nil {
		return err
	}
	s.render(w, r, st, "reports_optimize.html", p)
	return nil
}

// PlanPage shows one ranking and, while it can still be applied, exactly
// what applying it will change (report.PreviewPlan) with the confirm
// button; once applied, when.
type PlanPage struct {
	Page
	CampaignID string
	Plan       report.Plan
	// Preview is what applying will change; nil when the plan cannot be
	// applied (NotApplicable says why) or was applied.
	Preview       *report.ApplyResult
	NotApplicable string
	// Handles maps creator ids to handles (from the plan's entries).
	Handles map[string]string
}

func (s *Server) planPageData(r *http.Request) (*PlanPage, error) {
	op, err := s.optimizePageData(r)
	if err != nil {
		return nil, err
	}
	p := &PlanPage{Page: op.Page, CampaignID: op.CampaignID, Handles: map[string]string{}}
	p.Title = "Ranking"
	found := false
	for _, pl := range op.Plans {
		if pl.ID == r.PathValue("plan") {
			p.Plan, found = pl, true
		}
	}
	if !found {
		return nil, errs.NotFoundf("plan %s not found", r.PathValue("plan"))
	}
	for _, e := range p.Plan.Entries {
		p.Handles[e.CreatorID] = e.Handle
	}
	if p.Plan.AppliedAt != 0 {
		return p, nil
	}
	u, _ := userFrom(r)
	prev, err := s.Report.PreviewPlan(r.Context(), u.Principal(), p.CampaignID, p.Plan.ID)
	switch {
	case err == nil:
		p.Preview = &prev
	case errs.Is(err, errs.Conflict):
		p.NotApplicable = repErrMessage(err)
	default:
		return nil, err
	}
	return p, nil
}

func repErrMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func (s *Server) planPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.planPageData(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "reports_plan.html", p)
	return nil
}

// applyPlan applies a plan once the brand confirmed on the plan page
// (confirm=yes), as POST /v1/campaigns/{id}/optimize/{plan_id}/apply.
func (s *Server) applyPlan(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	res, err := s.Report.ApplyPlan(r.Context(), u.Principal(), r.PathValue("id"), r.PathValue("plan"), r.PostForm.Get("confirm") == "yes")
	if err == nil {
		s.redirect(w, r, "/campaigns/"+res.Plan.CampaignID+"/optimize/"+res.Plan.ID, repAppliedMessage(res))
		return nil
	}
	p, perr := s.planPageData(r)
	if perr != nil {
		return perr
	}
	st, err := repFormFailure(&p.Page, err)
	if err != nil {
		return err
	}
	if msg := p.Errors["confirm"]; msg != "" {
		p.FormError = "Nothing was changed: confirm the changes below to apply them."
	}
	s.render(w, r, st, "reports_plan.html", p)
	return nil
}

// repAppliedMessage says what applying did, by kind of change.
func repAppliedMessage(res report.ApplyResult) string {
	var doubled, capless, ended, refreshed int
	for _, c := range res.Changes {
		switch {
		case c.Label == report.LabelScale && c.NewCap != nil:
			doubled++
		case c.Label == report.LabelScale:
			capless++
		case c.Label == report.LabelCut:
			ended++
		case c.Label == report.LabelRefresh:
			refreshed++
		}
	}
	msg := fmt.Sprintf("Plan applied: %s doubled, %s ended, %s refreshed.",
		repPlural(doubled, "cap", "caps"), repPlural(ended, "collaboration", "collaborations"), repPlural(refreshed, "creator", "creators"))
	if capless > 0 {
		msg += fmt.Sprintf(" %s to scale had no cap to double.", repPlural(capless, "creator", "creators"))
	}
	return msg
}

func repPlural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// ---- store connections ----

// StoresPage lists the brand's store connections and the form to connect
// one (Shopify, WooCommerce or the sandbox shop), as POST /v1/stores.
type StoresPage struct {
	Page
	Stores []orders.Store
	// Connect is the form shown: "shopify", "woocommerce" or "sandbox".
	Connect string
	Draft   orders.StoreDraft
}

// Kinds lists the connect form's kinds.
func (p *StoresPage) Kinds() any {
	return []struct{ Value, Label string }{{"shopify", "Shopify"}, {"woocommerce", "WooCommerce"}, {"sandbox", "Sandbox shop"}}
}

func (s *Server) storesPageData(r *http.Request, connect string) (*StoresPage, error) {
	u, _ := userFrom(r)
	list, err := s.Orders.ListStores(r.Context(), u.Principal())
	if err != nil {
		return nil, err
	}
	switch connect {
	case "shopify", "woocommerce", "sandbox":
	default:
		connect = "shopify"
	}
	return &StoresPage{Page: settingsPage("Stores", SettingsStores), Stores: list, Connect: connect}, nil
}

func (s *Server) storesPage(w http.ResponseWriter, r *http.Request) error {
	p, err := s.storesPageData(r, r.URL.Query().Get("connect"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "stores_settings.html", p)
	return nil
}

func (s *Server) connectStore(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	f := r.PostForm
	connect := f.Get("connect")
	d := orders.StoreDraft{ShopDomain: f.Get("shop_domain"), SiteURL: f.Get("site_url"), WebhookSecret: f.Get("webhook_secret"),
		AccessToken: strings.TrimSpace(f.Get("access_token")), ConsumerKey: strings.TrimSpace(f.Get("consumer_key")),
		ConsumerSecret: strings.TrimSpace(f.Get("consumer_secret"))}
	switch connect {
	case "sandbox":
		d.Platform, d.Sandbox = orders.Shopify, true
	case "woocommerce":
		d.Platform = orders.WooCommerce
	default:
		d.Platform = orders.Shopify
	}
	st, err := s.Orders.ConnectStore(r.Context(), u.Principal(), d)
	if err == nil {
		s.redirect(w, r, "/settings/stores", "Connected "+st.Shop+". Send its order webhooks to the webhook URL shown below.")
		return nil
	}
	p, perr := s.storesPageData(r, connect)
	if perr != nil {
		return perr
	}
	// Secrets typed in are not sent back into the page.
	p.Draft = orders.StoreDraft{ShopDomain: d.ShopDomain, SiteURL: d.SiteURL, ConsumerKey: d.ConsumerKey}
	st2, err := repFormFailure(&p.Page, err)
	if err != nil {
		return err
	}
	s.render(w, r, st2, "stores_settings.html", p)
	return nil
}
