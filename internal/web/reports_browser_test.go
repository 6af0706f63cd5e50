package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/ads"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// A brand walks its reports, ads, optimize and store pages in a real
// browser: a report over a window and a refused custom range, a placement
// registered and a CSV with a bad row refused (the row named), the
// variants' verdict, a ranking reviewed and applied only after the
// confirmation, and stores connected (a bad field shown beside it). Every
// page is screenshotted at 390 and 1280 px and checked with axe.
func TestBrowserReportsAdsOptimizeStores(t *testing.T) {
	b := webtest.Start(t)
	e := newRepEnv(t, storetest.SQLiteURL(t))
	e.a.SignIn(t, b, "ann@glow.example")
	look := func(name string) {
		t.Helper()
		b.Shot(t, name)
		b.Axe(t)
	}
	base := "/campaigns/" + e.camp.ID

	// Two dark-post variants with results, so the comparison shows.
	day := func(ago int64) time.Time { return time.UnixMicro(rollup.DayStart(e.today - ago)).UTC() }
	for _, v := range []string{"hook-a", "hook-b"} {
		if _, err := e.a.Report.CreateAd(e.ctx, e.brand, e.a.Links, e.camp.ID, report.AdDraft{CreatorID: e.creators[0], Platform: report.PlatformMeta,
			Kind: report.KindDarkPost, AdID: "ad-" + v, Variant: v, Segment: "w25"}); err != nil {
			t.Fatal(err)
		}
	}
	var rows []ads.DailyResult
	for i, v := range []struct {
		ad                              string
		spend, imp, clicks, buys, value int64
	}{{"ad-hook-a", 20_499_999, 1900, 400, 40, 1_151_100_000}, {"ad-hook-b", 23_000_001, 2100, 410, 12, 250_000_000}} {
		rows = append(rows, ads.DailyResult{AdID: v.ad, Day: day(int64(i + 1)), Currency: "EUR", Spend: v.spend, Impressions: v.imp,
			Clicks: v.clicks, Purchases: v.buys, PurchaseValue: v.value})
	}
	if _, err := e.a.Report.ImportRows(e.ctx, e.brand, e.camp.ID, "csv", rows); err != nil {
		t.Fatal(err)
	}

	b.Visit(t, base+"/reports")
	if got := b.Text(t, `[data-row="campaign"] [data-k="conversions"]`); got != "11" {
		t.Fatalf("orders since launch read %q", got)
	}
	look("reports-launch")
	b.Fill(t, "#f-window", "14d")
	b.Submit(t, "form.window-form button[type=submit]")
	if p := b.Path(t); !strings.Contains(p, "window=14d") {
		t.Fatalf("the window form went to %s", p)
	}
	look("reports-14d")
	b.Fill(t, "#f-window", "custom")
	b.Fill(t, "#f-from", day(1).Format("2006-01-02"))
	b.Fill(t, "#f-to", day(3).Format("2006-01-02"))
	if st := b.Submit(t, "form.window-form button[type=submit]"); st != 400 {
		t.Fatalf("a reversed range answered %d", st)
	}
	if got := b.Text(t, "#f-to-error"); !strings.Contains(got, "before") {
		t.Fatalf("the range error reads %q", got)
	}
	look("reports-bad-range")

	b.Visit(t, base+"/ads")
	if !strings.Contains(b.Text(t, ".variant"), "hook-a") {
		t.Fatal("no variant comparison on the ads page")
	}
	look("ads")
	b.Fill(t, "#f-ad_id", "ad-hook-c")
	b.Fill(t, "#f-variant", "hook-c")
	b.Fill(t, "#f-segment", "men-18-24")
	b.Submit(t, `#register-ad button[type=submit]`)
	if got := b.Text(t, ".flash"); !strings.Contains(got, "ad-hook-c registered") {
		t.Fatalf("after registering: %q", got)
	}
	// A CSV whose line 3 names an unknown ad: refused whole, the row named.
	csv := "ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\\nad-hook-c," + day(1).Format("2006-01-02") +
		",EUR,5,100,10,1,20\\nad-nope," + day(1).Format("2006-01-02") + ",EUR,1,1,1,0,0\\n"
	b.Eval(t, `(() => { const dt = new DataTransfer(); dt.items.add(new File(["`+csv+`"], "results.csv", {type: "text/csv"}));
		document.querySelector("#f-file").files = dt.files; return true })()`, nil)
	if st := b.Submit(t, `form[action$="/ads/results"] button[type=submit]`); st != 400 {
		t.Fatalf("a CSV with an unknown ad answered %d", st)
	}
	if got := b.Text(t, "#upload-problems"); !strings.Contains(got, "line 3") {
		t.Fatalf("the upload's problems read %q", got)
	}
	look("ads-upload-refused")

	b.Visit(t, base+"/optimize")
	look("optimize")
	b.Submit(t, `form[action$="/optimize"] button[type=submit]`)
	if !b.Has(t, `#preview button[type=submit]`) {
		t.Fatal("the ranking's page offers no confirmation")
	}
	if got := b.Text(t, "#preview"); !strings.Contains(got, "20.00 EUR") {
		t.Fatalf("the preview does not show the doubled cap: %q", got)
	}
	look("optimize-plan")
	b.Submit(t, `#preview button[type=submit]`)
	if got := b.Text(t, ".flash"); !strings.Contains(got, "Plan applied") {
		t.Fatalf("after applying: %q", got)
	}
	look("optimize-applied")

	b.Visit(t, "/settings/stores")
	look("stores")
	b.Visit(t, "/settings/stores?connect=woocommerce")
	b.Fill(t, "#f-site_url", "glow.example")
	b.Fill(t, "#f-webhook_secret", "short")
	if st := b.Submit(t, `form[action="/settings/stores"] button[type=submit]`); st != 400 {
		t.Fatalf("bad WooCommerce fields answered %d", st)
	}
	if !b.Has(t, "#f-site_url-error") || !b.Has(t, "#f-webhook_secret-error") {
		t.Fatal("the bad fields are not shown beside their inputs")
	}
	look("stores-woocommerce-errors")
	b.Visit(t, "/settings/stores?connect=sandbox")
	b.Fill(t, "#f-shop_domain", "glow-test.myshopify.com")
	b.Submit(t, `form[action="/settings/stores"] button[type=submit]`)
	if got := b.Text(t, ".store-list"); !strings.Contains(got, "glow-test.myshopify.com") {
		t.Fatalf("the stores list reads %q", got)
	}
	look("stores-connected")
}
