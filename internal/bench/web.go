package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
)

// WebResult holds the web benchmark's figures.
type WebResult struct {
	Generate             time.Duration // setup and generation of the data, rollups included
	ReportP50, PageP50   time.Duration // GET …/report (JSON) and GET /campaigns/{id} (HTML)
	ReportP99, PageP99   time.Duration
	PageBytes, JSONBytes int     // sizes of the since-launch answers
	Ratio                float64 // ReportP50 ÷ PageP50
}

// webTarget is the ratio the dashboard must reach: the page costs at most
// twice the JSON report it shows.
const webTarget = 0.50

// Web runs the web benchmark on the data Report builds (opt as for Report:
// 50 creators, millions of rows bulk-loaded with their rollups): it times
// the campaign's JSON report (GET /v1/campaigns/{id}/report with the
// brand's API key) and its dashboard page (GET /campaigns/{id} with a
// brand owner's session), both through the app's whole HTTP handler in
// process, side by side: each of Calls rounds makes one request of each,
// in alternating order, cycling the windows since launch, 14d, 30d and
// custom. Its last line is "ratio: X.XX" = JSON report p50 ÷ page p50.
func Web(ctx context.Context, out io.Writer, opt ReportOptions) (WebResult, error) {
	var res WebResult
	if opt.Creators < 1 || opt.Days < 1 || opt.Calls < 1 || opt.Clicks < 0 || opt.Conversions < 0 || opt.Snapshots < 0 {
		return res, fmt.Errorf("bench web: creators, days and calls must be at least 1, the row counts not negative")
	}
	env, g, now, generate, cleanup, err := loadReportData(ctx, out, "web", "rounds", opt)
	if err != nil {
		return res, err
	}
	defer cleanup()
	res.Generate = generate
	today := rollup.DayOf(now.UnixMicro())

	// Who asks: the brand's API key for the JSON, and a user of the brand
	// signed in for the page. The generated brand has no user (it was made
	// as the API makes brands): one signs up and is attached to it.
	a := env.App
	key, err := a.Identity.Issue(ctx, g.brand, "", "", "bench web")
	if err != nil {
		return res, err
	}
	const email, password = "bench-web@bench.example", "bench web password 2026"
	su, err := a.Accounts.SignUpBrand(ctx, account.BrandSignup{BrandName: "Bench web", Email: email, Password: password})
	if err != nil {
		return res, err
	}
	if _, err := a.DB.Writer().ExecContext(ctx, `UPDATE users SET brand_id = $1 WHERE id = $2`, g.brandID, su.User.ID); err != nil {
		return res, fmt.Errorf("bench web: attach the user to the brand: %w", err)
	}
	ns, err := a.Accounts.Login(ctx, account.Login{Email: email, Password: password, Address: "127.0.0.1", UserAgent: "bench"})
	if err != nil {
		return res, err
	}
	get := func(path string, asJSON bool) (time.Duration, int, string, error) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://payper.bench"+path, nil)
		if asJSON {
			req.Header.Set("Authorization", "Bearer "+key.Secret)
		} else {
			req.AddCookie(&http.Cookie{Name: account.CookieName, Value: ns.Token})
		}
		rec := httptest.NewRecorder()
		st := time.Now()
		a.Handler.ServeHTTP(rec, req)
		el := time.Since(st)
		if rec.Code != http.StatusOK {
			return el, 0, "", fmt.Errorf("bench web: GET %s answered %d: %.300s", path, rec.Code, rec.Body.String())
		}
		return el, rec.Body.Len(), rec.Body.String(), nil
	}

	day := func(d int64) string { return time.UnixMicro(rollup.DayStart(d)).UTC().Format("2006-01-02") }
	type win struct{ name, api, page string }
	custom := "from=" + day(today-59) + "&to=" + day(today-30)
	wins := []win{{report.WindowLaunch, "", ""}, {report.Window14, "?window=14d", "?range=14d"},
		{report.Window30, "?window=30d", "?range=30d"}, {report.WindowCustom, "?window=custom&" + custom, "?range=custom&" + custom}}
	base := "/campaigns/" + url.PathEscape(g.campID)

	// The page shows the report's figures: since launch, its spend tile is
	// the JSON's spend.
	_, n, body, err := get("/v1"+base+"/report", true)
	if err != nil {
		return res, err
	}
	res.JSONBytes = n
	var rep report.Report
	if err := json.Unmarshal([]byte(body), &rep); err != nil {
		return res, fmt.Errorf("bench web: the JSON report: %w", err)
	}
	_, n, page, err := get(base, false)
	if err != nil {
		return res, err
	}
	res.PageBytes = n
	want := `data-kpi="spend" value="` + money.FormatMicros(rep.Campaign.Figures.Spend.Total.Micros) + `"`
	if !strings.Contains(page, want) || strings.Count(page, `<tr data-creator=`) != opt.Creators {
		return res, fmt.Errorf("bench web: the page lacks %s or its %d creators", want, opt.Creators)
	}
	fmt.Fprintf(out, "since launch: JSON report %d bytes, page %d bytes, %d creators, spend %s\n", res.JSONBytes, res.PageBytes, opt.Creators, rep.Campaign.Figures.Spend.Total)

	var jsonT, pageT []float64
	for i := -2; i < opt.Calls; i++ {
		w := wins[max(i, 0)%len(wins)] // warm-ups: since launch
		var tj, tp time.Duration
		if i%2 == 0 { // alternate which goes first
			if tj, _, _, err = get("/v1"+base+"/report"+w.api, true); err == nil {
				tp, _, _, err = get(base+w.page, false)
			}
		} else {
			if tp, _, _, err = get(base+w.page, false); err == nil {
				tj, _, _, err = get("/v1"+base+"/report"+w.api, true)
			}
		}
		if err != nil {
			return res, err
		}
		if i < 0 {
			fmt.Fprintf(out, "warm-up  (%-6s): report %s  page %s\n", w.name, fmtMS(tj), fmtMS(tp))
			continue
		}
		jsonT, pageT = append(jsonT, float64(tj)), append(pageT, float64(tp))
		fmt.Fprintf(out, "round %3d (%-6s): report %s  page %s\n", i+1, w.name, fmtMS(tj), fmtMS(tp))
	}
	res.ReportP50, res.ReportP99 = time.Duration(median(jsonT)), time.Duration(percentile(jsonT, 99))
	res.PageP50, res.PageP99 = time.Duration(median(pageT)), time.Duration(percentile(pageT, 99))
	res.Ratio = float64(res.ReportP50) / float64(res.PageP50)
	fmt.Fprintf(out, "\nJSON report p50: %s  p99: %s\ndashboard   p50: %s  p99: %s (of %d rounds; target ratio ≥ %.2f)\n",
		fmtMS(res.ReportP50), fmtMS(res.ReportP99), fmtMS(res.PageP50), fmtMS(res.PageP99), len(pageT), webTarget)
	fmt.Fprintf(out, "ratio: %.2f\n", res.Ratio)
	return res, nil
}
