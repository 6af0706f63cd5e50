package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/report"
)

// dashboardRoutes registers the campaign dashboard (W2).
func (s *Server) dashboardRoutes() {
	s.handle("GET /campaigns/{id}", s.requireBrand(s.dashboard))
}

// DashboardPage is the campaign dashboard's data: the report and the
// series the API answers for the same window (GET /v1/campaigns/{id}/report
// and …/report/series), and how the page shows them.
type DashboardPage struct {
	Page
	// Report and Series are the domain's figures, unchanged.
	Report report.Report
	Series report.Series
	// Range is the chosen range (launch, 14d, 30d, custom); From and To
	// the custom range's inputs as typed. Refused is true when the range
	// was refused (Errors says why) and since launch is shown instead.
	Range, From, To string
	Refused         bool
	Ranges          []rangeLink
	Tiles           []tile
	Goal            []goalView
	// Leaderboard is Report.Creators sorted by Sort (descending when Desc).
	Leaderboard []report.Row
	Sort        string
	Desc        bool
	Columns     []sortColumn
	Burn        burnChart
	Activity    []barChart
	// RunOut says in words when the escrow runs out at the current pace.
	RunOut string
}

type rangeLink struct {
	Key, Label, Href string
	Current          bool
}

// tile is one headline number: Value is the domain's exact figure (a
// decimal string), Text how it is shown.
type tile struct {
	Key, Label, Value, Text, Hint string
}

type goalView struct {
	Metric, Target, Value, Status, StatusText, Class string
}

type sortColumn struct {
	Key, Label, Href, AriaSort string
	Num                        bool
}

// dashboardColumns are the leaderboard's columns, each a sort key.
var dashboardColumns = []struct {
	key, label string
}{
	{"creator", "Creator"}, {"spend", "Spend"}, {"earnings", "Earnings"}, {"views", "Views"}, {"engagements", "Engagements"},
	{"clicks", "Clicks"}, {"conversions", "Orders"}, {"redemptions", "Code uses"}, {"revenue", "Revenue"}, {"cpe", "CPE"},
	{"cpa", "CPA"}, {"roas", "ROAS"}, {"roi", "ROI"}, {"redemption_rate", "Redemption rate"}, {"epc", "EPC"},
}

// dashboard shows a campaign's headline numbers, goal, burn chart,
// activity over time and creator leaderboard for a range.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	p := u.Principal()
	id := r.PathValue("id")
	q := r.URL.Query()
	d := &DashboardPage{Range: q.Get("range"), From: q.Get("from"), To: q.Get("to")}
	if d.Range == "" {
		d.Range = report.WindowLaunch
	}
	from, to := d.From, d.To
	if d.Range != report.WindowCustom {
		from, to = "", "" // the custom inputs travel with every range; they count for custom only
	}
	status := http.StatusOK
	win, err := report.ParseWindow(d.Range, from, to, s.Report.Now())
	if err != nil {
		if !errs.Is(err, errs.Invalid) {
			return err
		}
		d.Errors = fieldErrors(err)
		if msg, ok := d.Errors["window"]; ok {
			d.FormError = msg
		}
		d.Refused, status = true, http.StatusBadRequest
		if win, err = report.ParseWindow(report.WindowLaunch, "", "", s.Report.Now()); err != nil {
			return err
		}
	}
	if err := s.loadDashboard(r, p, id, win, d); err != nil {
		return err
	}
	d.Title = d.Report.Name
	d.Nav = "campaigns"
	d.Campaign = &CampaignNav{ID: d.Report.CampaignID, Name: d.Report.Name, Tab: TabDashboard}
	d.Sort, d.Desc = q.Get("sort"), q.Get("dir") != "asc"
	if !report.ValidSortKey(d.Sort) {
		d.Sort, d.Desc = "spend", true
	}
	d.Leaderboard = append([]report.Row(nil), d.Report.Creators...)
	report.SortRows(d.Leaderboard, d.Sort, d.Desc)
	d.build(q)
	s.render(w, r, status, "dashboard_campaign.html", d)
	return nil
}

// loadDashboard reads the report and the series of the window at once
// (the same domain calls the API makes).
func (s *Server) loadDashboard(r *http.Request, p identity.Principal, id string, win report.Window, d *DashboardPage) error {
	ctx := r.Context()
	serErr := make(chan error, 1)
	go func() {
		var err error
		d.Series, err = s.Report.Series(ctx, p, id, win)
		serErr <- err
	}()
	var err error
	d.Report, err = s.Report.Campaign(ctx, p, id, win)
	if err2 := <-serErr; err == nil {
		err = err2
	}
	return err
}

// build fills what the template shows from the domain's figures.
func (d *DashboardPage) build(q url.Values) {
	rep, b := d.Report, d.Series.Burn
	cur := rep.Currency
	link := func(rng, sortKey string, desc bool) string {
		v := url.Values{}
		if rng != report.WindowLaunch {
			v.Set("range", rng)
		}
		if rng == report.WindowCustom {
			v.Set("from", rep.Window.From)
			v.Set("to", rep.Window.To)
		}
		if sortKey != "spend" || !desc {
			v.Set("sort", sortKey)
			if !desc {
				v.Set("dir", "asc")
			}
		}
		if len(v) == 0 {
			return "/campaigns/" + rep.CampaignID
		}
		return "/campaigns/" + rep.CampaignID + "?" + v.Encode()
	}
	shown := rep.Window.Name
	for _, rl := range []struct{ key, label string }{{report.WindowLaunch, "Since launch"}, {report.Window14, "Last 14 days"}, {report.Window30, "Last 30 days"}} {
		d.Ranges = append(d.Ranges, rangeLink{Key: rl.key, Label: rl.label, Href: link(rl.key, d.Sort, d.Desc), Current: shown == rl.key})
	}
	if !d.Refused && shown == report.WindowCustom {
		d.From, d.To = rep.Window.From, rep.Window.To
	}
	f, k := rep.Campaign.Figures, rep.Campaign.KPIs
	sp := f.Spend
	d.Tiles = []tile{
		moneyTile("spend", "Spend", sp.Total, fmt.Sprintf("creator earnings %s, platform fees %s, paid social %s, operating cost %s",
			formatMoney(sp.Earnings.Total), formatMoney(sp.Fees), formatMoney(sp.PaidSocial), formatMoney(sp.OperatingCost))),
		moneyTile("escrow_left", "Escrow left", b.Remaining, "of "+formatMoney(b.Funded)+" funded; "+formatMoney(b.Spent)+" spent"),
		countTile("views", "Views", f.Views, ""),
		countTile("engagements", "Engagements", f.Engagements, "likes, comments, shares and saves"),
		countTile("clicks", "Clicks", f.Clicks, formatNum(f.BotClicks)+" by bots, not counted"),
		countTile("conversions", "Orders", f.Conversions, formatNum(f.Redemptions)+" by discount code"),
		moneyTile("revenue", "Revenue", f.Revenue, "attributed, net of refunds"),
		kpiMoneyTile("cpe", "CPE", k.CPE, cur, "spend per engagement"),
		kpiMoneyTile("cpa", "CPA", k.CPA, cur, "spend per order"),
		{Key: "roas", Label: "ROAS", Value: k.ROAS, Text: ratioText(k.ROAS), Hint: "revenue per unit of spend"},
		{Key: "redemption_rate", Label: "Redemption rate", Value: k.RedemptionRate, Text: percentText(k.RedemptionRate), Hint: "code uses per 100 views"},
	}
	for _, g := range rep.Goal {
		gv := goalView{Metric: metricName(string(g.Metric)), Status: g.Status}
		gv.Target, gv.Value = goalText(string(g.Metric), g.Target, cur), goalText(string(g.Metric), g.Value, cur)
		switch g.Status {
		case "on_target":
			gv.StatusText, gv.Class = "On target", "ok"
		case "off_target":
			gv.StatusText, gv.Class = "Off target", "bad"
		case "no_target":
			gv.StatusText, gv.Class = "No target set", "warn"
		default:
			gv.StatusText, gv.Class = "Not measurable yet", "warn"
		}
		d.Goal = append(d.Goal, gv)
	}
	for _, c := range dashboardColumns {
		col := sortColumn{Key: c.key, Label: c.label, Num: c.key != "creator"}
		desc := c.key != "creator" // a new column sorts high first, names A to Z
		if c.key == d.Sort {
			desc = !d.Desc
			col.AriaSort = "descending"
			if !d.Desc {
				col.AriaSort = "ascending"
			}
		}
		col.Href = link(shown, c.key, desc) + "#leaderboard"
		d.Columns = append(d.Columns, col)
	}
	d.Burn = newBurnChart(d.Series, s2t(rep.Window.To))
	d.Activity = activityCharts(d.Series.Days, f)
	switch b.Status {
	case report.BurnUnfunded:
		d.RunOut = "The campaign is not funded yet."
	case report.BurnSpent:
		d.RunOut = "The escrow is spent."
	case report.BurnNoPace:
		d.RunOut = "Nothing was spent in the last " + strconv.FormatInt(b.PaceDays, 10) + " days, so the escrow does not run out at the current pace."
	default:
		d.RunOut = "At the current pace of " + formatMoney(b.PacePerDay) + " a day (the last " + strconv.FormatInt(b.PaceDays, 10) +
			" days), the escrow runs out on " + formatDate(s2t(b.RunOutDate)) + "."
		if b.RunsOutBeforeEnd {
			d.RunOut += " That is before the campaign ends on " + formatDate(s2t(b.EndsAt)) + "."
		} else if b.EndsAt != "" {
			d.RunOut += " The campaign ends first, on " + formatDate(s2t(b.EndsAt)) + "."
		}
	}
}

// Day shows a YYYY-MM-DD date as the date func does ("7 Dec 2026").
func (d *DashboardPage) Day(date string) string { return formatDate(s2t(date)) }

// s2t reads a YYYY-MM-DD date (zero time when it is not one).
func s2t(date string) time.Time {
	t, _ := time.Parse("2006-01-02", date)
	return t
}

func moneyTile(key, label string, a money.Amount, hint string) tile {
	return tile{Key: key, Label: label, Value: money.FormatMicros(a.Micros), Text: formatMoney(a), Hint: hint}
}

func countTile(key, label string, n int64, hint string) tile {
	return tile{Key: key, Label: label, Value: strconv.FormatInt(n, 10), Text: formatNum(n), Hint: hint}
}

func kpiMoneyTile(key, label, v string, cur money.Currency, hint string) tile {
	return tile{Key: key, Label: label, Value: v, Text: kpiMoney(v, cur), Hint: hint}
}

// kpiMoney shows a money KPI (a decimal string in the campaign's currency)
// with its currency; "—" when undefined.
func kpiMoney(v string, cur money.Currency) string {
	m, err := money.ParseMicros(v)
	if err != nil || v == report.Undefined {
		return "—"
	}
	return formatMoney(money.New(m, cur))
}

// truncDecimal shows a decimal string with two decimals, truncated, with
// thousands separators ("3.085512" → "3.08"); "—" when undefined. The
// point is moved in the text: no floats.
func truncDecimal(v string) string {
	if v == "" || v == report.Undefined {
		return "—"
	}
	neg := strings.HasPrefix(v, "-")
	whole, frac, _ := strings.Cut(strings.TrimPrefix(v, "-"), ".")
	frac += "00"
	out := groupDigits(whole) + "." + frac[:2]
	if neg && strings.Trim(whole+frac[:2], "0") != "" {
		out = "−" + out
	}
	return out
}

// ratioText shows a ratio such as ROAS: "3.08×".
func ratioText(v string) string {
	if t := truncDecimal(v); t != "—" {
		return t + "×"
	}
	return "—"
}

// percentText shows a figure the domain gives in percent: "0.10%".
func percentText(v string) string {
	if t := truncDecimal(v); t != "—" {
		return t + "%"
	}
	return "—"
}

// cellText shows a leaderboard KPI cell.
func cellText(key, v string, cur money.Currency) string {
	switch key {
	case "cpe", "cpa", "epc":
		return kpiMoney(v, cur)
	case "roas":
		return ratioText(v)
	case "roi":
		return formatPct(v)
	case "redemption_rate":
		return percentText(v)
	}
	return v
}

func metricName(m string) string {
	switch m {
	case "cpa":
		return "CPA"
	case "roas":
		return "ROAS"
	case "cpe":
		return "CPE"
	case "revenue":
		return "Revenue"
	case "redemption_rate":
		return "Redemption rate"
	}
	return m
}

func goalText(metric, v string, cur money.Currency) string {
	switch metric {
	case "cpa", "cpe", "revenue":
		return kpiMoney(v, cur)
	case "roas":
		return ratioText(v)
	case "redemption_rate":
		return percentText(v)
	}
	return v
}

// LeaderCell is one leaderboard cell: the exact figure and its text.
type LeaderCell struct {
	Label, Value, Text string
}

// cells are a leaderboard row's cells after the creator's, in column order.
func leaderCells(r report.Row, cur money.Currency) []LeaderCell {
	f, k := r.Figures, r.KPIs
	mc := func(label string, a money.Amount) LeaderCell {
		return LeaderCell{label, money.FormatMicros(a.Micros), formatMoney(a)}
	}
	nc := func(label string, n int64) LeaderCell {
		return LeaderCell{label, strconv.FormatInt(n, 10), formatNum(n)}
	}
	kc := func(label, key, v string) LeaderCell { return LeaderCell{label, v, cellText(key, v, cur)} }
	return []LeaderCell{
		mc("Spend", f.Spend.Total), mc("Earnings", f.Spend.Earnings.Total), nc("Views", f.Views), nc("Engagements", f.Engagements),
		nc("Clicks", f.Clicks), nc("Orders", f.Conversions), nc("Code uses", f.Redemptions), mc("Revenue", f.Revenue),
		kc("CPE", "cpe", k.CPE), kc("CPA", "cpa", k.CPA), kc("ROAS", "roas", k.ROAS), kc("ROI", "roi", k.ROI),
		kc("Redemption rate", "redemption_rate", k.RedemptionRate), kc("EPC", "epc", k.EPC),
	}
}

// Cells are the row's cells for the template.
func (d *DashboardPage) Cells(r report.Row) []LeaderCell { return leaderCells(r, d.Report.Currency) }

// ---- charts: server-rendered SVG, coordinates only (the figures are the domain's) ----

const (
	chartW, chartH = 640, 200
	padL, padR     = 8, 8
	padT, padB     = 12, 28
)

// burnChart is the escrow spent to date by day against the funded budget,
// with the projection to the run-out day at the current pace.
type burnChart struct {
	W, H int
	Line string // polyline points
	// NowX, NowY mark the last day's spend to date: a dot, so a single
	// day of data (a polyline of one point draws nothing) is still seen.
	NowX, NowY float64
	BudgetY    float64
	HasBudget  bool
	Projection *[4]float64
	// Start and End are the dates at the plot's edges, Funded the budget
	// line's amount (shown under the chart, readable at any width).
	Start, End, Funded string
	Desc               string
	Empty              bool
	// X0, X1 are the plot's left and right edges; Base its baseline.
	X0, X1, Base float64
}

func newBurnChart(ser report.Series, shownTo time.Time) burnChart {
	c := burnChart{W: chartW, H: chartH, X0: padL, X1: chartW - padR, Base: chartH - padB}
	days := ser.Days
	b := ser.Burn
	if len(days) == 0 {
		c.Empty = true
		return c
	}
	n := len(days)
	span := n - 1 // x units (days) covered
	var runOut time.Time
	last := s2t(days[n-1].Date)
	if b.Status == report.BurnPacing && !shownTo.Before(last) {
		runOut = s2t(b.RunOutDate)
		extra := int(runOut.Sub(last).Hours() / 24)
		span += min(extra, max(7, n/2))
	}
	span = max(span, 1)
	top := max(b.Funded.Micros, days[n-1].EscrowSpentToDate.Micros, 1)
	plotW, plotH := float64(c.X1-c.X0), float64(c.Base-padT)
	x := func(i int) float64 { return c.X0 + plotW*float64(i)/float64(span) }
	y := func(v int64) float64 { return c.Base - plotH*float64(v)/float64(top) }
	var sb strings.Builder
	for i, d := range days {
		fmt.Fprintf(&sb, "%.1f,%.1f ", x(i), y(d.EscrowSpentToDate.Micros))
	}
	c.Line = strings.TrimSpace(sb.String())
	c.NowX, c.NowY = x(n-1), y(days[n-1].EscrowSpentToDate.Micros)
	if b.Funded.Micros > 0 {
		c.HasBudget, c.BudgetY = true, y(b.Funded.Micros)
	}
	if !runOut.IsZero() {
		// From today's spend to date to the budget on the run-out day,
		// clipped at the chart's right edge.
		x1, y1 := x(n-1), y(days[n-1].EscrowSpentToDate.Micros)
		outDays := runOut.Sub(last).Hours() / 24
		x2 := x(n-1) + plotW*outDays/float64(span)
		y2 := c.BudgetY
		if x2 > c.X1 {
			y2 = y1 + (y2-y1)*(c.X1-x1)/(x2-x1)
			x2 = c.X1
		}
		c.Projection = &[4]float64{x1, y1, x2, y2}
	}
	c.Start, c.End = formatDate(s2t(days[0].Date)), formatDate(last.AddDate(0, 0, span-(n-1)))
	c.Funded = formatMoney(b.Funded)
	c.Desc = fmt.Sprintf("Escrow spent to date, %s on %s and %s on %s", formatMoney(days[0].EscrowSpentToDate), formatDate(s2t(days[0].Date)),
		formatMoney(days[n-1].EscrowSpentToDate), formatDate(last))
	if c.HasBudget {
		c.Desc += ", against " + formatMoney(b.Funded) + " funded"
	}
	c.Desc += "."
	return c
}

// barChart is one daily count as bars.
type barChart struct {
	Key, Title, Total string
	W, H              int
	// Bars is one SVG path of every day's bar (a day without any draws
	// nothing): one element, not one per day, keeps the page cheap to
	// render; the daily table under the charts has each day's figure.
	Bars       string
	Max        string
	Start, End string
	Base       float64
}

func activityCharts(days []report.Day, f report.Figures) []barChart {
	type metric struct {
		key, title string
		total      int64
		get        func(report.Day) int64
	}
	var out []barChart
	for _, m := range []metric{
		{"engagements", "Engagements", f.Engagements, func(d report.Day) int64 { return d.Engagements }},
		{"clicks", "Clicks", f.Clicks, func(d report.Day) int64 { return d.Clicks }},
		{"conversions", "Orders", f.Conversions, func(d report.Day) int64 { return d.Conversions }},
	} {
		const h = 140
		c := barChart{Key: m.key, Title: m.title, W: chartW, H: h, Base: h - 24}
		var top int64
		for _, d := range days {
			top = max(top, m.get(d))
		}
		c.Total, c.Max = formatNum(m.total), formatNum(top)
		n := len(days)
		if n > 0 {
			slot := float64(chartW-padL-padR) / float64(n)
			bw := max(slot*0.8, 0.5)
			var sb strings.Builder
			for i, d := range days {
				v := m.get(d)
				if v <= 0 || top <= 0 {
					continue
				}
				bh := (c.Base - 6) * float64(v) / float64(top)
				fmt.Fprintf(&sb, "M%.2f %.2fh%.2fv%.2fh%.2fz", padL+slot*float64(i)+(slot-bw)/2, c.Base, bw, -bh, -bw)
			}
			c.Bars = sb.String()
			c.Start, c.End = formatDate(s2t(days[0].Date)), formatDate(s2t(days[n-1].Date))
		}
		out = append(out, c)
	}
	return out
}
