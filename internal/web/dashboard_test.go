package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// dashWorld is a funded, open campaign with three creators' rollups over
// the last three weeks, an operating cost, and its brand's API key and
// signed-in session.
type dashWorld struct {
	a        *webtest.App
	brand    account.User
	camp     string
	key      string // the brand's API key
	cookie   string // the brand owner's session
	creators []string
}

const micro = money.Scale

func newDashWorld(t *testing.T, dbURL string) *dashWorld {
	t.Helper()
	ctx := context.Background()
	a := webtest.NewApp(t, dbURL)
	w := &dashWorld{a: a}
	w.brand = a.NewBrand(t, "Glow Labs", "ann@glow.example")
	p := w.brand.Principal()
	now := a.Clock.Now()
	c, err := a.Campaigns.Create(ctx, p, campaign.Draft{Name: "Serum <launch>", Budget: money.New(1000*micro, money.EUR)})
	if err != nil {
		t.Fatal(err)
	}
	setup := campaign.Setup{
		Goal:        campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3 * micro, Secondary: campaign.MetricCPE, SecondaryTarget: micro / 2},
		Brief:       campaign.Brief{Product: "Serum", Message: "Glow", LandingURL: "https://glow.example"},
		Prices:      campaign.Prices{Like: 50_000},
		Performance: campaign.Performance{CommissionBps: 1000, CPA: micro},
		StartsAt:    now.Add(-21 * 24 * time.Hour), EndsAt: now.Add(20 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.Platform(platform.Sandbox)}}}
	if _, err := a.Campaigns.Configure(ctx, p, c.ID, setup); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Campaigns.Fund(ctx, p, c.ID, campaign.FundInput{Reference: "pay-" + c.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Campaigns.Transition(ctx, p, c.ID, campaign.ActionOpen); err != nil {
		t.Fatal(err)
	}
	w.camp = c.ID
	for _, h := range []string{"mia_glow", "jon_daily", "ana_skin"} {
		cr, _, err := a.Identity.CreateCreator(ctx, h, "DE")
		if err != nil {
			t.Fatal(err)
		}
		w.creators = append(w.creators, cr.ID)
	}
	today := rollup.DayOf(now.UnixMicro())
	var b rollup.Batch
	put := func(creator, placement string, ago int64, vals map[rollup.Col]int64) {
		k := rollup.Key{Campaign: c.ID, Creator: w.creators[creator[0]-'A'], Placement: placement, Day: today - ago}
		for col, v := range vals {
			b.Add(k, col, v)
		}
	}
	put("A", "", 18, map[rollup.Col]int64{rollup.Views: 1000, rollup.Likes: 100, rollup.Comments: 20, rollup.ClicksHuman: 50, rollup.ClicksBot: 5,
		rollup.Conversions: 2, rollup.Redemptions: 1, rollup.Revenue: 100 * micro, rollup.EarnInteractions: 10 * micro, rollup.Fees: micro})
	put("A", "bio", 2, map[rollup.Col]int64{rollup.Views: 2000, rollup.Likes: 150, rollup.Shares: 10, rollup.ClicksHuman: 80, rollup.Conversions: 3,
		rollup.Redemptions: 2, rollup.Revenue: 150 * micro, rollup.EarnCommission: 15 * micro, rollup.EarnCPA: 6 * micro, rollup.Fees: 2_100_000})
	put("B", "", 1, map[rollup.Col]int64{rollup.Views: 500, rollup.Comments: 10, rollup.EarnFlatFee: 9 * micro, rollup.Fees: micro})
	put("C", "ad-a", 0, map[rollup.Col]int64{rollup.Views: 3000, rollup.Likes: 300, rollup.Conversions: 4, rollup.Redemptions: 4,
		rollup.Revenue: 200 * micro, rollup.EarnCommission: 18 * micro, rollup.Fees: 2 * micro, rollup.AdSpend: 50 * micro, rollup.ClicksHuman: 7})
	if err := a.DB.WithTx(ctx, func(tx *store.Tx) error { return b.Flush(ctx, tx) }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Report.SetOperatingCost(ctx, p, c.ID, money.New(41*micro, money.EUR)); err != nil {
		t.Fatal(err)
	}
	k, err := a.Identity.Issue(ctx, p, "", "", "dashboard test")
	if err != nil {
		t.Fatal(err)
	}
	w.key = k.Secret
	w.cookie = w.session(t, "ann@glow.example")
	return w
}

func (w *dashWorld) session(t *testing.T, email string) string {
	t.Helper()
	ns, err := w.a.Accounts.Login(context.Background(), account.Login{Email: email, Password: webtest.Password, Address: "127.0.0.1", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return ns.Token
}

// page GETs a web page with a session cookie ("" for none), redirects not followed.
func (w *dashWorld) page(t *testing.T, cookie, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", w.a.URL+path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: account.CookieName, Value: cookie})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// api GETs an API path as the brand into out.
func (w *dashWorld) api(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", w.a.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+w.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

var (
	reTile  = regexp.MustCompile(`data-kpi="([a-z_]+)" value="([^"]*)"`)
	reRow   = regexp.MustCompile(`(?s)<tr data-creator="([^"]+)">(.*?)</tr>`)
	reValue = regexp.MustCompile(`<data value="([^"]*)"`)
)

func tilesOf(body string) map[string]string {
	out := map[string]string{}
	for _, m := range reTile.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// leaderboardOf returns the leaderboard's creator ids in order and each
// row's exact values.
func leaderboardOf(body string) ([]string, map[string][]string) {
	var order []string
	vals := map[string][]string{}
	for _, m := range reRow.FindAllStringSubmatch(body, -1) {
		order = append(order, m[1])
		for _, v := range reValue.FindAllStringSubmatch(m[2], -1) {
			vals[m[1]] = append(vals[m[1]], v[1])
		}
	}
	return order, vals
}

func rowValues(r report.Row) []string {
	f, k := r.Figures, r.KPIs
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	m := func(a money.Amount) string { return money.FormatMicros(a.Micros) }
	return []string{m(f.Spend.Total), m(f.Spend.Earnings.Total), n(f.Views), n(f.Engagements), n(f.Clicks), n(f.Conversions),
		n(f.Redemptions), m(f.Revenue), k.CPE, k.CPA, k.ROAS, k.ROI, k.RedemptionRate, k.EPC}
}

// TestDashboardMatchesAPI (both stores): in every range the dashboard's
// headline numbers, KPIs and leaderboard are GET …/report's and GET
// …/money's figures to the micro-unit, its run-out day is GET
// …/report/series'; sorting by a column's link orders the leaderboard;
// bad custom dates are shown beside their fields (400); another brand's
// campaign is a 404 and a signed-out visitor is sent to sign in.
func TestDashboardMatchesAPI(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newDashWorld(t, dbURL)
		var mon campaign.Money
		w.api(t, "/v1/campaigns/"+w.camp+"/money", &mon)
		today := w.a.Clock.Now().UTC()
		from, to := today.AddDate(0, 0, -19).Format("2006-01-02"), today.AddDate(0, 0, -2).Format("2006-01-02")
		for _, c := range []struct{ page, api string }{
			{"", ""},
			{"?range=14d", "?window=14d"},
			{"?range=30d&from=ignored", "?window=30d"},
			{"?range=custom&from=" + from + "&to=" + to, "?window=custom&from=" + from + "&to=" + to},
		} {
			st, body := w.page(t, w.cookie, "/campaigns/"+w.camp+c.page)
			if st != 200 {
				t.Fatalf("%s: %d\n%s", c.page, st, body)
			}
			var rep report.Report
			var ser report.Series
			w.api(t, "/v1/campaigns/"+w.camp+"/report"+c.api, &rep)
			w.api(t, "/v1/campaigns/"+w.camp+"/report/series"+c.api, &ser)
			f, k := rep.Campaign.Figures, rep.Campaign.KPIs
			want := map[string]string{
				"spend": money.FormatMicros(f.Spend.Total.Micros), "escrow_left": money.FormatMicros(mon.Remaining.Micros),
				"views": strconv.FormatInt(f.Views, 10), "engagements": strconv.FormatInt(f.Engagements, 10),
				"clicks": strconv.FormatInt(f.Clicks, 10), "conversions": strconv.FormatInt(f.Conversions, 10),
				"revenue": money.FormatMicros(f.Revenue.Micros), "cpe": k.CPE, "cpa": k.CPA, "roas": k.ROAS, "redemption_rate": k.RedemptionRate,
			}
			got := tilesOf(body)
			for key, v := range want {
				if got[key] != v {
					t.Errorf("%s: tile %s = %q, the API says %q", c.page, key, got[key], v)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%s: tiles %v", c.page, got)
			}
			if f.Spend.Total.Micros == 0 || f.Views == 0 {
				t.Fatalf("%s: the fixture shows nothing: %+v", c.page, f)
			}
			order, vals := leaderboardOf(body)
			if len(order) != len(rep.Creators) || len(order) == 0 || (c.page == "" && len(order) != 3) {
				t.Fatalf("%s: leaderboard %v, report %d creators", c.page, order, len(rep.Creators))
			}
			for _, r := range rep.Creators {
				if g, wv := vals[r.CreatorID], rowValues(r); !slices.Equal(g, wv) {
					t.Errorf("%s: creator %s row %v, the API says %v", c.page, r.CreatorID, g, wv)
				}
			}
			if ser.Burn.RunOutDate == "" || !strings.Contains(body, `data-run-out="`+ser.Burn.RunOutDate+`"`) {
				t.Errorf("%s: run-out %q not on the page", c.page, ser.Burn.RunOutDate)
			}
			for _, g := range rep.Goal {
				if !strings.Contains(body, `data-goal-status="`+g.Status+`"`) {
					t.Errorf("%s: goal %s status %s not shown", c.page, g.Metric, g.Status)
				}
			}
		}
		// Operating cost and the escape of a brand's text.
		_, body := w.page(t, w.cookie, "/campaigns/"+w.camp)
		wantContains(t, body, "Serum &lt;launch&gt;", "operating cost 41.00 EUR", "@mia_glow", "<svg", "<title id=\"burn-title\">")

		// Sorting: views ascending (B 500, A 3000, C 3000 → ties by id),
		// then by creator name, and the default (spend, descending).
		var rep report.Report
		w.api(t, "/v1/campaigns/"+w.camp+"/report", &rep)
		sorted := func(key string, desc bool) []string {
			rows := slices.Clone(rep.Creators)
			report.SortRows(rows, key, desc)
			var ids []string
			for _, r := range rows {
				ids = append(ids, r.CreatorID)
			}
			return ids
		}
		A, B, C := w.creators[0], w.creators[1], w.creators[2]
		for q, want := range map[string][]string{
			"":                       {C, A, B}, // spend 71 + …, 34.1, 10 (+ nothing)
			"?sort=views&dir=asc":    sorted("views", false),
			"?sort=creator&dir=asc":  {C, B, A}, // ana, jon, mia
			"?sort=creator":          {A, B, C},
			"?sort=roas":             sorted("roas", true),
			"?sort=nonsense&dir=asc": {C, A, B},
			"?range=14d&sort=clicks": {A, C, B},
		} {
			_, body := w.page(t, w.cookie, "/campaigns/"+w.camp+q)
			if order, _ := leaderboardOf(body); !slices.Equal(order, want) {
				t.Errorf("%s: leaderboard order %v, want %v", q, order, want)
			}
		}
		if got := sorted("views", false); got[0] != B {
			t.Errorf("views ascending starts with %s, want B %s", got[0], B)
		}
		_, body = w.page(t, w.cookie, "/campaigns/"+w.camp+"?sort=views&dir=asc")
		wantContains(t, body, `aria-sort="ascending"><a href="/campaigns/`+w.camp+`?sort=views#leaderboard"`)

		// Bad custom dates: each shown beside its field; since launch shown.
		for q, fields := range map[string][]string{
			"?range=custom&from=2026-13-01&to=soon":       {"from", "to"},
			"?range=custom&from=2026-05-02&to=2026-05-01": {"to"},
			"?range=weekly": {},
		} {
			st, body := w.page(t, w.cookie, "/campaigns/"+w.camp+q)
			if st != 400 {
				t.Errorf("%s: %d, want 400", q, st)
			}
			for _, f := range fields {
				wantContains(t, body, `id="f-`+f+`-error"`, `id="f-`+f+`" name="`+f+`"`)
			}
			if len(fields) == 0 {
				wantContains(t, body, `class="form-error"`)
			}
			wantContains(t, body, "the figures below are since launch")
		}

		// A draft: not funded, no goal, no creators.
		draft, err := w.a.Campaigns.Create(context.Background(), w.brand.Principal(), campaign.Draft{Name: "Draft", Budget: money.New(300*micro, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		if st, body := w.page(t, w.cookie, "/campaigns/"+draft.ID); st != 200 {
			t.Errorf("draft: %d\n%s", st, body)
		} else {
			wantContains(t, body, "The campaign is not funded yet.", `data-burn-status="unfunded"`, "No goal is set yet", "No creators yet", `data-kpi="spend" value="0.000000"`)
		}

		// Another brand's campaign; signed out.
		w.a.NewBrand(t, "Other", "olga@other.example")
		if st, body := w.page(t, w.session(t, "olga@other.example"), "/campaigns/"+w.camp); st != 404 {
			t.Errorf("another brand: %d\n%s", st, body)
		}
		if st, _ := w.page(t, "", "/campaigns/"+w.camp); st != http.StatusSeeOther {
			t.Errorf("signed out: %d", st)
		}
	})
}
