package web_test

import (
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web"
	"github.com/payper/payper/internal/web/webtest"
)

const repEUR = money.Scale

// repEnv is the real app with a brand (a signed-in owner and an API key of
// its own), an open campaign with a goal (ROAS ≥ 3, CPE ≤ 0.50) and a
// €10 creator cap, three accepted creators, and rollups over the last 20
// days as events would have written them.
type repEnv struct {
	t        *testing.T
	ctx      context.Context
	a        *webtest.App
	cookie   string // the owner's session
	key      string // the brand's API key
	brand    identity.Principal
	camp     campaign.Campaign
	flash    *http.Cookie // the flash message the last answer set, sent with the next page
	creators []string     // creator ids, in the letters a, b, c
	today    int64        // rollup day of the clock
}

func newRepEnv(t *testing.T, dbURL string) *repEnv {
	t.Helper()
	ctx := context.Background()
	a := webtest.NewApp(t, dbURL)
	e := &repEnv{t: t, ctx: ctx, a: a}
	u := a.NewBrand(t, "Glow Labs", "ann@glow.example")
	e.brand = u.Principal()
	e.cookie = repLogin(t, a, "ann@glow.example")
	k, err := a.Identity.Issue(ctx, e.brand, "", "", "reports test")
	if err != nil {
		t.Fatal(err)
	}
	e.key = k.Secret
	now := a.Clock.Now().UTC()
	e.today = rollup.DayOf(now.UnixMicro())
	c, err := a.Campaigns.Create(ctx, e.brand, campaign.Draft{Name: "Serum <launch>", Budget: money.New(1000*repEUR, money.EUR)})
	if err != nil {
		t.Fatal(err)
	}
	start := now.Truncate(24 * time.Hour).Add(-20 * 24 * time.Hour)
	setup := campaign.Setup{
		Goal:        campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3 * repEUR, Secondary: campaign.MetricCPE, SecondaryTarget: repEUR / 2},
		Brief:       campaign.Brief{Product: "Serum", Message: "Glow", LandingURL: "https://glow.example"},
		Prices:      campaign.Prices{Like: 50_000},
		Performance: campaign.Performance{CommissionBps: 1000, CPA: repEUR},
		CreatorCap:  10 * repEUR,
		StartsAt:    start, EndsAt: start.Add(60 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.Platform(platform.Sandbox)}}}
	if _, err := a.Campaigns.Configure(ctx, e.brand, c.ID, setup); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Campaigns.Fund(ctx, e.brand, c.ID, campaign.FundInput{Reference: "pay-" + c.ID}); err != nil {
		t.Fatal(err)
	}
	if e.camp, err = a.Campaigns.Transition(ctx, e.brand, c.ID, campaign.ActionOpen); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"a", "b", "c"} {
		handle := "glow_" + l
		cr, _, err := a.Identity.CreateCreator(ctx, handle, "DE")
		if err != nil {
			t.Fatal(err)
		}
		p := identity.Principal{Role: identity.RoleCreator, SubjectID: cr.ID}
		if _, err := a.Sandbox.CreateAccount(ctx, handle, 5000); err != nil {
			t.Fatal(err)
		}
		repConnect(t, a, p, handle)
		app, err := a.Market.Apply(ctx, p, c.ID, "hi")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Market.Decide(ctx, e.brand, app.ID, true); err != nil {
			t.Fatal(err)
		}
		e.creators = append(e.creators, cr.ID)
	}
	// a: sells well; b: engages, sells little; c: only old results (outside 14 days).
	e.put(0, "", 1, map[rollup.Col]int64{rollup.Views: 12_345, rollup.Likes: 400, rollup.Comments: 33, rollup.ClicksHuman: 250, rollup.ClicksBot: 7,
		rollup.Conversions: 9, rollup.Redemptions: 4, rollup.Revenue: 456_789_123, rollup.EarnInteractions: 20_000_001, rollup.EarnCommission: 4_567_891, rollup.Fees: 2_456_789})
	e.put(0, "ig-reel", 2, map[rollup.Col]int64{rollup.Views: 1000, rollup.Likes: 30, rollup.ClicksHuman: 20, rollup.Conversions: 1, rollup.Revenue: 33_333_333})
	e.put(1, "", 3, map[rollup.Col]int64{rollup.Views: 50_000, rollup.Likes: 3000, rollup.Shares: 77, rollup.Saves: 5, rollup.ClicksHuman: 90,
		rollup.Conversions: 1, rollup.Revenue: 19_990_000, rollup.EarnInteractions: 150_000_003, rollup.Fees: 15_000_000})
	e.put(2, "", 18, map[rollup.Col]int64{rollup.Views: 800, rollup.Likes: 10, rollup.ClicksHuman: 3, rollup.EarnInteractions: 500_000, rollup.Fees: 50_000})
	return e
}

// put adds rollups for creator i on the day daysAgo before today.
func (e *repEnv) put(i int, placement string, daysAgo int64, vals map[rollup.Col]int64) {
	e.t.Helper()
	var b rollup.Batch
	k := rollup.Key{Campaign: e.camp.ID, Creator: e.creators[i], Placement: placement, Day: e.today - daysAgo}
	for c, v := range vals {
		b.Add(k, c, v)
	}
	if err := e.a.DB.WithTx(e.ctx, func(tx *store.Tx) error { return b.Flush(e.ctx, tx) }); err != nil {
		e.t.Fatal(err)
	}
}

// repLogin starts a session for email and returns its cookie value.
func repLogin(t *testing.T, a *webtest.App, email string) string {
	t.Helper()
	ns, err := a.Accounts.Login(context.Background(), account.Login{Email: email, Password: webtest.Password, Address: "127.0.0.1", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Token
}

// repConnect connects a creator's sandbox account through the sandbox's
// consent page, as a creator would.
func repConnect(t *testing.T, a *webtest.App, p identity.Principal, handle string) {
	t.Helper()
	conn, err := a.Creators.StartConnect(context.Background(), p, creator.ConnectRequest{Platform: platform.Sandbox, Handle: handle})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(conn.AuthorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("consent answered %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, err := a.Creators.Callback(context.Background(), loc.Query()); err != nil {
		t.Fatal(err)
	}
}

// do sends a request to the app: as the signed-in owner when cookie is
// set, with the API key when key is; redirects are not followed.
func (e *repEnv) do(method, path, cookie, key, contentType string, body io.Reader) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.a.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: account.CookieName, Value: cookie})
		if e.flash != nil {
			req.AddCookie(e.flash)
			e.flash = nil
		}
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if c.Name == "payper_flash" && c.MaxAge > 0 {
			e.flash = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	return res, string(b)
}

// page GETs a page as the owner and wants status.
func (e *repEnv) page(path string, status int) string {
	e.t.Helper()
	res, body := e.do("GET", path, e.cookie, "", "", nil)
	if res.StatusCode != status {
		e.t.Fatalf("GET %s = %d; want %d\n%s", path, res.StatusCode, status, body)
	}
	return body
}

// form POSTs a form as the owner and returns the answer.
func (e *repEnv) form(path string, v url.Values) (*http.Response, string) {
	e.t.Helper()
	return e.do("POST", path, e.cookie, "", "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
}

// api calls the API with the brand's key, wants status and decodes the
// JSON answer into out (when not nil).
func (e *repEnv) api(method, path, body string, status int, out any) {
	e.t.Helper()
	var r io.Reader
	ct := ""
	if body != "" {
		r, ct = strings.NewReader(body), "application/json"
	}
	res, b := e.do(method, path, "", e.key, ct, r)
	if res.StatusCode != status {
		e.t.Fatalf("%s %s = %d; want %d\n%s", method, path, res.StatusCode, status, b)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			e.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
}

// repCell returns the text of the cell data-k=k in the row (a <tr> or
// <dl>) data-row=row of page, up to its first tag; it fails t when absent.
func repCell(t *testing.T, page, row, k string) string {
	t.Helper()
	rm := regexp.MustCompile(`(?s)data-row="` + regexp.QuoteMeta(row) + `"[^>]*>(.*?)</(?:tr|dl|section)>`).FindStringSubmatch(page)
	if rm == nil {
		t.Fatalf("no row %q in the page:\n%s", row, page)
	}
	cm := regexp.MustCompile(`data-k="` + regexp.QuoteMeta(k) + `"[^>]*>([^<]*)`).FindStringSubmatch(rm[1])
	if cm == nil {
		t.Fatalf("no cell %q in row %q: %s", k, row, rm[1])
	}
	return strings.TrimSpace(cm[1])
}

var (
	repMoney   = web.RepFuncs["money"].(func(money.Amount) string)
	repNum     = web.RepFuncs["num"].(func(any) string)
	repKPI     = web.RepFuncs["repMoney"].(func(string, money.Currency) string)
	repRatio   = web.RepFuncs["repRatio"].(func(string) string)
	repPercent = web.RepFuncs["repPercent"].(func(string) string)
	repPct     = web.RepFuncs["pct"].(func(any) string)
	repAmt     = web.RepFuncs["repAmt"].(func(money.Amount) string)
	repGoal    = web.RepFuncs["repGoal"].(func(campaign.Metric, string, money.Currency) string)
)

// wantCells checks the cells of a row against what they should read.
func wantCells(t *testing.T, page, row string, want map[string]string) {
	t.Helper()
	for k, w := range want {
		if got := repCell(t, page, row, k); got != w {
			t.Errorf("row %s, %s: page shows %q; the API's figure is %q", row, k, got, w)
		}
	}
}

// The report page shows, for every window, the API's report of the same
// window: the campaign's figures and KPIs, each creator's and each
// placement's, to the micro-unit; its CSV is the API's CSV byte for byte;
// a bad custom range is shown beside its field; another brand gets 404.
func TestReportsPageIsTheAPIReport(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		e := newRepEnv(t, dbURL)
		base := "/campaigns/" + e.camp.ID
		day := func(ago int64) string {
			return time.UnixMicro(rollup.DayStart(e.today - ago)).UTC().Format("2006-01-02")
		}
		for _, q := range []string{"", "window=launch", "window=14d", "window=30d", "window=custom&from=" + day(2) + "&to=" + day(1)} {
			var rep report.Report
			e.api("GET", "/v1/campaigns/"+e.camp.ID+"/report?"+q, "", 200, &rep)
			page := e.page(base+"/reports?"+q, 200)
			cur := rep.Currency
			c := rep.Campaign
			wantCells(t, page, "campaign", map[string]string{
				"spend": repMoney(c.Figures.Spend.Total), "earnings": repMoney(c.Figures.Spend.Earnings.Total), "fees": repMoney(c.Figures.Spend.Fees),
				"paid_social": repMoney(c.Figures.Spend.PaidSocial), "operating_cost": repMoney(c.Figures.Spend.OperatingCost),
				"views": repNum(c.Figures.Views), "engagements": repNum(c.Figures.Engagements), "clicks": repNum(c.Figures.Clicks),
				"conversions": repNum(c.Figures.Conversions), "redemptions": repNum(c.Figures.Redemptions), "revenue": repMoney(c.Figures.Revenue),
				"cpe": repKPI(c.KPIs.CPE, cur), "cpa": repKPI(c.KPIs.CPA, cur), "roas": repRatio(c.KPIs.ROAS), "roi": repPct(c.KPIs.ROI),
				"redemption_rate": repPercent(c.KPIs.RedemptionRate), "revenue_per_influencer": repKPI(c.KPIs.RevenuePerInfluencer, cur),
				"epc": repKPI(c.KPIs.EPC, cur)})
			if len(rep.Creators) != 3 {
				t.Fatalf("%s: the API reports %d creators; want 3", q, len(rep.Creators))
			}
			for _, r := range rep.Creators {
				wantCells(t, page, r.CreatorID, map[string]string{"spend": repAmt(r.Figures.Spend.Total), "views": repNum(r.Figures.Views),
					"engagements": repNum(r.Figures.Engagements), "clicks": repNum(r.Figures.Clicks), "conversions": repNum(r.Figures.Conversions),
					"revenue": repAmt(r.Figures.Revenue), "cpe": repKPI(r.KPIs.CPE, ""), "cpa": repKPI(r.KPIs.CPA, ""),
					"roas": repRatio(r.KPIs.ROAS), "epc": repKPI(r.KPIs.EPC, "")})
			}
			for _, r := range rep.Placements {
				wantCells(t, page, r.CreatorID+"/"+r.Placement, map[string]string{"spend": repAmt(r.Figures.Spend.Total),
					"clicks": repNum(r.Figures.Clicks), "conversions": repNum(r.Figures.Conversions), "revenue": repAmt(r.Figures.Revenue),
					"cpa": repKPI(r.KPIs.CPA, ""), "roas": repRatio(r.KPIs.ROAS)})
			}
			for _, g := range rep.Goal {
				wantCells(t, page, "goal-"+string(g.Metric), map[string]string{"target": repGoal(g.Metric, g.Target, cur), "value": repGoal(g.Metric, g.Value, cur)})
			}
			// The CSV export is the API's, byte for byte, with its headers.
			apiRes, apiCSV := e.do("GET", "/v1/campaigns/"+e.camp.ID+"/report?format=csv&"+q, "", e.key, "", nil)
			webRes, webCSV := e.do("GET", base+"/reports.csv?"+q, e.cookie, "", "", nil)
			if apiRes.StatusCode != 200 || webRes.StatusCode != 200 || webCSV != apiCSV || len(webCSV) < 100 {
				t.Fatalf("%s: CSV %d vs the API's %d; equal %v\n%s", q, webRes.StatusCode, apiRes.StatusCode, webCSV == apiCSV, webCSV)
			}
			for _, h := range []string{"Content-Type", "Content-Disposition"} {
				if webRes.Header.Get(h) != apiRes.Header.Get(h) {
					t.Errorf("CSV %s %q; the API's %q", h, webRes.Header.Get(h), apiRes.Header.Get(h))
				}
			}
			if !strings.Contains(page, `href="/campaigns/`+e.camp.ID+`/reports.csv?window=`) {
				t.Errorf("%s: no CSV link on the page", q)
			}
		}
		// The figures differ between windows (c's results are 18 days old).
		p14, pl := e.page(base+"/reports?window=14d", 200), e.page(base+"/reports", 200)
		if repCell(t, p14, e.creators[2], "views") != "0" || repCell(t, pl, e.creators[2], "views") != "800" {
			t.Errorf("creator c's views: 14d %q, launch %q", repCell(t, p14, e.creators[2], "views"), repCell(t, pl, e.creators[2], "views"))
		}
		if !strings.Contains(pl, "Serum &lt;launch&gt;") {
			t.Error("the campaign's name is not shown escaped")
		}
		// A custom range ending before it starts: the error beside "to".
		bad := e.page(base+"/reports?window=custom&from="+day(1)+"&to="+day(3), 400)
		if !strings.Contains(bad, `id="f-to-error"`) || !strings.Contains(bad, "before") {
			t.Errorf("a reversed range is not refused beside its field:\n%s", bad)
		}
		// Another brand's owner sees none of it.
		e.a.NewBrand(t, "Other Co", "olga@other.example")
		other := repLogin(t, e.a, "olga@other.example")
		for _, p := range []string{"/reports", "/reports?window=custom&from=x", "/reports.csv", "/ads", "/optimize"} {
			if res, body := e.do("GET", base+p, other, "", "", nil); res.StatusCode != 404 || strings.Contains(body, "Serum") {
				t.Errorf("another brand's GET %s = %d", p, res.StatusCode)
			}
		}
		for _, p := range []string{"/ads", "/ads/import", "/optimize"} {
			res, _ := e.do("POST", base+p, other, "", "application/x-www-form-urlencoded",
				strings.NewReader("creator_id="+e.creators[0]+"&platform=meta&kind=dark_post&ad_id=x1&variant=a&segment=b&mark=on_demand&import_platform=meta&import_from=2026-01-01&import_to=2026-01-02"))
			if res.StatusCode != 404 {
				t.Errorf("another brand's POST %s = %d", p, res.StatusCode)
			}
		}
		owner := e.cookie
		e.cookie = other
		if res, _ := e.repUpload(base+"/ads/results", "ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\nx1,2026-01-01,EUR,1,1,1,0,0\n"); res.StatusCode != 404 {
			t.Errorf("another brand's upload = %d", res.StatusCode)
		}
		e.cookie = owner
		var plans struct{ Data []report.Plan }
		e.api("GET", "/v1/campaigns/"+e.camp.ID+"/optimize", "", 200, &plans)
		var ads struct{ Data []report.AdPlacement }
		e.api("GET", "/v1/campaigns/"+e.camp.ID+"/ads", "", 200, &ads)
		if len(plans.Data)+len(ads.Data) != 0 {
			t.Errorf("another brand's posts made %d plans and %d ads", len(plans.Data), len(ads.Data))
		}
		// Signed out, the page asks to sign in.
		if res, _ := e.do("GET", base+"/reports", "", "", "", nil); res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
			t.Errorf("signed out: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	})
}

// repUpload posts a CSV file as the upload form does.
func (e *repEnv) repUpload(path, csv string) (*http.Response, string) {
	e.t.Helper()
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", "results.csv")
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.WriteString(fw, csv)
	_ = mw.Close()
	return e.do("POST", path, e.cookie, "", mw.FormDataContentType(), strings.NewReader(b.String()))
}

// The ads page registers placements as the API does (bad fields beside
// their inputs), refuses a CSV with a bad row whole — naming the row,
// importing nothing — imports a good one, and then shows each
// placement's results and the variants' verdict as the API's report has
// them.
func TestAdsPageUploadAndVerdict(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		e := newRepEnv(t, dbURL)
		base := "/campaigns/" + e.camp.ID + "/ads"
		e.page(base, 200)
		// Bad fields, every one beside its input.
		res, body := e.form(base, url.Values{"creator_id": {e.creators[0]}, "platform": {"meta"}, "kind": {"dark_post"}, "ad_id": {"bad id!"}, "variant": {"Hook A"}, "segment": {"w25"}})
		if res.StatusCode != 400 || !strings.Contains(body, `id="f-ad_id-error"`) || !strings.Contains(body, `id="f-variant-error"`) {
			t.Fatalf("bad placement: %d\n%s", res.StatusCode, body)
		}
		for _, v := range []string{"hook-a", "hook-b"} {
			res, body := e.form(base, url.Values{"creator_id": {e.creators[0]}, "platform": {"meta"}, "kind": {"dark_post"}, "ad_id": {"ad-" + v}, "variant": {v}, "segment": {"w25"}})
			if res.StatusCode != 303 || res.Header.Get("Location") != base {
				t.Fatalf("register %s: %d\n%s", v, res.StatusCode, body)
			}
		}
		// The same ad again is a conflict shown above the form.
		if res, body := e.form(base, url.Values{"creator_id": {e.creators[0]}, "platform": {"meta"}, "kind": {"dark_post"}, "ad_id": {"ad-hook-a"}, "variant": {"hook-c"}, "segment": {"w25"}}); res.StatusCode != 409 || !strings.Contains(body, "form-error") {
			t.Fatalf("a duplicate ad: %d\n%s", res.StatusCode, body)
		}
		var ads struct{ Data []report.AdPlacement }
		e.api("GET", "/v1/campaigns/"+e.camp.ID+"/ads", "", 200, &ads)
		if len(ads.Data) != 2 || ads.Data[0].Placement != "ad-hook-a-w25" || ads.Data[0].ShortURL == "" && ads.Data[0].LinkID == "" {
			t.Fatalf("the API lists %+v", ads.Data)
		}
		d1, d2 := time.UnixMicro(rollup.DayStart(e.today-2)).UTC().Format("2006-01-02"), time.UnixMicro(rollup.DayStart(e.today-1)).UTC().Format("2006-01-02")
		head := "ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\n"
		// Line 3 names an ad the campaign does not have; line 4's spend is not a number.
		bad := head + "ad-hook-a," + d1 + ",EUR,10.50,1000,40,2,60\nad-nope," + d1 + ",EUR,1,1,1,0,0\n"
		res, body = e.repUpload(base+"/results", bad)
		if res.StatusCode != 400 || !strings.Contains(body, "line 3") || !strings.Contains(body, "Nothing was imported") {
			t.Fatalf("a CSV with an unknown ad: %d\n%s", res.StatusCode, body)
		}
		res, body = e.repUpload(base+"/results", head+"ad-hook-a,"+d1+",EUR,10.50,1000,40,2,60\nad-hook-b,"+d1+",EUR,ten,1,1,0,0\n")
		if res.StatusCode != 400 || !strings.Contains(body, "line 3, column spend") {
			t.Fatalf("a CSV with a bad number: %d\n%s", res.StatusCode, body)
		}
		var rep report.Report
		e.api("GET", "/v1/campaigns/"+e.camp.ID+"/report", "", 200, &rep)
		if rep.Campaign.Figures.Ads.Spend.Micros != 0 || rep.Campaign.Figures.Ads.Impressions != 0 {
			t.Fatalf("a refused upload imported something: %+v", rep.Campaign.Figures.Ads)
		}
		var n int
		if err := e.a.DB.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM ad_results`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("ad_results after refused uploads: %d %v", n, err)
		}
		if res, _ := e.repUpload(base+"/results", ""); res.StatusCode != 400 {
			t.Fatalf("an empty upload: %d", res.StatusCode)
		}
		good := head + "ad-hook-a," + d1 + ",EUR,10.50,1000,40,2,60\nad-hook-a," + d2 + ",EUR,9.999999,900,35,3,91.10\n" +
			"ad-hook-b," + d1 + ",EUR,12.000001,1100,60,1,25\nad-hook-b," + d2 + ",EUR,11,1000,50,0,0\n"
		res, body = e.repUpload(base+"/results", good)
		if res.StatusCode != 303 || res.Header.Get("Location") != base {
			t.Fatalf("a good CSV: %d\n%s", res.StatusCode, body)
		}
		e.api("GET", "/v1/campaigns/"+e.camp.ID+"/report", "", 200, &rep)
		page := e.page(base, 200)
		if !strings.Contains(page, "Imported 4 rows") {
			t.Error("no flash after the import")
		}
		if rep.Campaign.Figures.Ads.Spend.Micros != 43_499_999+1 {
			t.Errorf("ad spend %d after the import", rep.Campaign.Figures.Ads.Spend.Micros)
		}
		for _, pl := range rep.Placements {
			if !strings.HasPrefix(pl.Placement, "ad-") {
				continue
			}
			adID := strings.TrimSuffix(strings.TrimPrefix(pl.Placement, "ad-"), "-w25")
			wantCells(t, page, "ad-"+adID, map[string]string{"ad_spend": repAmt(pl.Figures.Ads.Spend), "ad_impressions": repNum(pl.Figures.Ads.Impressions),
				"ad_clicks": repNum(pl.Figures.Ads.Clicks), "ad_purchases": repNum(pl.Figures.Ads.Purchases), "ad_purchase_value": repAmt(pl.Figures.Ads.PurchaseValue),
				"revenue": repAmt(pl.Figures.Revenue), "conversions": repNum(pl.Figures.Conversions),
				"roas": repRatio(pl.KPIs.ROAS)})
		}
		if len(rep.Variants) != 1 {
			t.Fatalf("the API compares %d variant pairs; want 1", len(rep.Variants))
		}
		vc := rep.Variants[0]
		vrow := "variant-" + vc.CreatorID + "-" + vc.Segment
		if !strings.Contains(regexp.MustCompile(`(?s)data-row="`+regexp.QuoteMeta(vrow)+`".*?</section>`).FindString(page), template(vc.Verdict)) {
			t.Errorf("the verdict %q is not on the page", vc.Verdict)
		}
		for _, v := range []report.VariantFigures{vc.A, vc.B} {
			sub := regexp.MustCompile(`(?s)data-row="` + regexp.QuoteMeta(vrow) + `".*?</table>`).FindString(page)
			wantCells(t, sub, v.Variant, map[string]string{"spend": repAmt(v.Spend), "clicks": repNum(v.Clicks), "purchases": repNum(v.Purchases),
				"ctr": repPct(v.CTR), "cpa": repKPI(v.CPA, ""), "roas": repRatio(v.ROAS)})
		}
		// The platform import names its bad fields; no platform is configured here.
		res, body = e.form(base+"/import", url.Values{"import_platform": {"meta"}, "import_from": {d1}, "import_to": {"soon"}})
		if res.StatusCode != 400 || !strings.Contains(body, `id="f-import_to-error"`) {
			t.Fatalf("a bad import range: %d\n%s", res.StatusCode, body)
		}
	})
}

// template escapes s as html/template shows text.
func template(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;").Replace(s)
}

// The optimize pages rank as the API ranks; a ranking's page says exactly
// what applying will change (the domain's preview: old and new caps);
// applying without the confirmation changes nothing; with it, the changes
// are made, and another brand cannot apply.
func TestOptimizeShowsPlanThenApplies(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		e := newRepEnv(t, dbURL)
		base := "/campaigns/" + e.camp.ID + "/optimize"
		if page := e.page(base, 200); !strings.Contains(page, "No rankings yet") {
			t.Fatalf("optimize page:\n%s", page)
		}
		if res, body := e.form(base, url.Values{"mark": {"yearly"}}); res.StatusCode != 400 || !strings.Contains(body, `id="f-mark-error"`) {
			t.Fatalf("a bad mark: %d\n%s", res.StatusCode, body)
		}
		res, body := e.form(base, url.Values{"mark": {"on_demand"}})
		if res.StatusCode != 303 || !strings.HasPrefix(res.Header.Get("Location"), base+"/opt_") {
			t.Fatalf("rank: %d %s\n%s", res.StatusCode, res.Header.Get("Location"), body)
		}
		planURL := res.Header.Get("Location")
		var plans struct{ Data []report.Plan }
		e.api("GET", "/v1/campaigns/"+e.camp.ID+"/optimize", "", 200, &plans)
		if len(plans.Data) != 1 || len(plans.Data[0].Entries) != 3 || planURL != base+"/"+plans.Data[0].ID {
			t.Fatalf("the API's plans %+v; the page went to %s", plans.Data, planURL)
		}
		plan := plans.Data[0]
		page := e.page(planURL, 200)
		for _, en := range plan.Entries {
			wantCells(t, page, en.CreatorID, map[string]string{"rank": repNum(en.Rank), "primary": en.Primary, "secondary": en.Secondary,
				"spend": repAmt(en.Spend), "conversions": repNum(en.Conversions), "revenue": repAmt(en.Revenue)})
			if got := regexp.MustCompile(`>(scale|refresh|cut)<`).FindStringSubmatch(regexp.MustCompile(`(?s)data-row="` + en.CreatorID + `".*?</tr>`).FindString(page)); got == nil || got[1] != en.Label {
				t.Errorf("%s labelled %v on the page; the API says %s", en.CreatorID, got, en.Label)
			}
		}
		// The preview is the domain's, and it is on the page before anything changes.
		preview, err := e.a.Report.PreviewPlan(e.ctx, e.brand, e.camp.ID, plan.ID)
		if err != nil {
			t.Fatal(err)
		}
		scaled := 0
		for _, ch := range preview.Changes {
			want := map[string]string{"note": ch.Note, "old_cap": "—", "new_cap": "—"}
			if ch.OldCap != nil {
				want["old_cap"], want["new_cap"] = repMoney(*ch.OldCap), repMoney(*ch.NewCap)
				scaled++
			}
			wantCells(t, page, "change-"+ch.CreatorID, want)
		}
		if scaled != 1 || !strings.Contains(page, "20.00 EUR") || !strings.Contains(page, `name="confirm" value="yes"`) {
			t.Fatalf("the preview does not show the doubled €10 cap or the confirmation:\n%s", page)
		}
		collabs := func() map[string]campaign.Collab {
			c, err := campaign.Collaborations(e.ctx, e.a.DB.Read(), e.camp.ID)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		before := collabs()
		// Without the confirmation nothing changes.
		res, body = e.form(planURL+"/apply", url.Values{})
		if res.StatusCode != 400 || !strings.Contains(body, "Nothing was changed") {
			t.Fatalf("an unconfirmed apply: %d\n%s", res.StatusCode, body)
		}
		if after := collabs(); len(after) != len(before) || !repSameCollabs(before, after) {
			t.Fatalf("an unconfirmed apply changed %+v into %+v", before, after)
		}
		// Another brand cannot apply it.
		e.a.NewBrand(t, "Other Co", "olga@other.example")
		other := repLogin(t, e.a, "olga@other.example")
		if res, _ := e.do("POST", planURL+"/apply", other, "", "application/x-www-form-urlencoded", strings.NewReader("confirm=yes")); res.StatusCode != 404 {
			t.Fatalf("another brand's apply: %d", res.StatusCode)
		}
		if res, _ := e.do("GET", planURL, other, "", "", nil); res.StatusCode != 404 {
			t.Fatalf("another brand's plan page: %d", res.StatusCode)
		}
		// Confirmed, the plan is applied: exactly the previewed changes.
		res, body = e.form(planURL+"/apply", url.Values{"confirm": {"yes"}})
		if res.StatusCode != 303 || res.Header.Get("Location") != planURL {
			t.Fatalf("a confirmed apply: %d\n%s", res.StatusCode, body)
		}
		after := collabs()
		for _, ch := range preview.Changes {
			c := after[ch.CreatorID]
			switch ch.Label {
			case report.LabelScale:
				if c.Cap != ch.NewCap.Micros {
					t.Errorf("scaled %s: cap %d; previewed %d", ch.CreatorID, c.Cap, ch.NewCap.Micros)
				}
			case report.LabelCut:
				if c.EndedAt == 0 {
					t.Errorf("cut %s still collaborates", ch.CreatorID)
				}
			case report.LabelRefresh:
				if c.WindowStart == 0 {
					t.Errorf("refreshed %s has no new window", ch.CreatorID)
				}
			}
		}
		page = e.page(planURL, 200)
		if !strings.Contains(page, "Plan applied: 1 cap doubled, 1 collaboration ended, 1 creator refreshed.") || !strings.Contains(page, `id="applied"`) || strings.Contains(page, `name="confirm"`) {
			t.Fatalf("after applying:\n%s", page)
		}
		e.api("GET", "/v1/campaigns/"+e.camp.ID+"/optimize", "", 200, &plans)
		if plans.Data[0].AppliedAt == 0 {
			t.Fatal("the API does not see the plan applied")
		}
		// Applying again is refused, and changes nothing.
		if res, _ := e.form(planURL+"/apply", url.Values{"confirm": {"yes"}}); res.StatusCode != 409 {
			t.Fatalf("a second apply: %d", res.StatusCode)
		}
	})
}

func repSameCollabs(a, b map[string]campaign.Collab) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

// The store settings connect Shopify, WooCommerce and sandbox shops as
// POST /v1/stores does (bad fields beside their inputs, secrets never
// sent back), and list what GET /v1/stores lists, to the brand only.
func TestStoresSettings(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		e := newRepEnv(t, dbURL)
		if page := e.page("/settings/stores", 200); !strings.Contains(page, "No store connected yet") || !strings.Contains(page, `id="f-webhook_secret"`) {
			t.Fatalf("stores page:\n%s", page)
		}
		res, body := e.form("/settings/stores", url.Values{"connect": {"shopify"}, "shop_domain": {"not a domain"}, "webhook_secret": {"short"}, "access_token": {"shpat_secret value"}})
		if res.StatusCode != 400 || !strings.Contains(body, `id="f-shop_domain-error"`) || !strings.Contains(body, `id="f-webhook_secret-error"`) {
			t.Fatalf("bad Shopify fields: %d\n%s", res.StatusCode, body)
		}
		if strings.Contains(body, "shpat_secret") {
			t.Fatal("a typed-in secret is sent back into the page")
		}
		res, body = e.form("/settings/stores", url.Values{"connect": {"shopify"}, "shop_domain": {"glow.myshopify.com"}, "webhook_secret": {"whsec-0123456789"}, "access_token": {"shpat_abc123"}})
		if res.StatusCode != 303 || res.Header.Get("Location") != "/settings/stores" {
			t.Fatalf("connect Shopify: %d\n%s", res.StatusCode, body)
		}
		if res, _ := e.form("/settings/stores", url.Values{"connect": {"woocommerce"}, "site_url": {"https://shop.glow.example"}, "webhook_secret": {"woo-secret-123"},
			"consumer_key": {"ck_1"}, "consumer_secret": {"cs_1"}}); res.StatusCode != 303 {
			t.Fatalf("connect WooCommerce: %d", res.StatusCode)
		}
		if res, _ := e.form("/settings/stores", url.Values{"connect": {"sandbox"}, "shop_domain": {"glow-test.myshopify.com"}}); res.StatusCode != 303 {
			t.Fatalf("connect a sandbox shop: %d", res.StatusCode)
		}
		if res, body := e.form("/settings/stores", url.Values{"connect": {"shopify"}, "shop_domain": {"glow.myshopify.com"}, "webhook_secret": {"whsec-0123456789"}}); res.StatusCode != 409 || !strings.Contains(body, "already connected") {
			t.Fatalf("the same shop again: %d\n%s", res.StatusCode, body)
		}
		var stores struct{ Data []orders.Store }
		e.api("GET", "/v1/stores", "", 200, &stores)
		page := e.page("/settings/stores", 200)
		if len(stores.Data) != 3 {
			t.Fatalf("the API lists %d stores", len(stores.Data))
		}
		for _, st := range stores.Data {
			row := regexp.MustCompile(`(?s)data-row="` + st.ID + `".*?</li>`).FindString(page)
			if !strings.Contains(row, ">"+st.Shop+"<") || !strings.Contains(row, st.WebhookURL) {
				t.Errorf("store %s (%s, %s) not on the page: %q", st.ID, st.Shop, st.WebhookURL, row)
			}
			if st.HasAPI != strings.Contains(row, "made by payper") {
				t.Errorf("store %s: has_api %v; page %q", st.Shop, st.HasAPI, row)
			}
		}
		for _, secret := range []string{"whsec-0123456789", "shpat_abc123", "woo-secret-123", "cs_1"} {
			if strings.Contains(page, secret) {
				t.Errorf("the page shows the secret %q", secret)
			}
		}
		// Another brand sees none of them.
		e.a.NewBrand(t, "Other Co", "olga@other.example")
		if _, body := e.do("GET", "/settings/stores", repLogin(t, e.a, "olga@other.example"), "", "", nil); strings.Contains(body, ">glow.myshopify.com<") || !strings.Contains(body, "No store connected yet") {
			t.Error("another brand sees the stores")
		}
	})
}
