package report_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/ads"
	"github.com/payper/payper/internal/ads/csvimport"
	"github.com/payper/payper/internal/ads/meta"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/store/storetest"
)

// TestAdResults: ad placements get their own links; a CSV with bad rows
// imports nothing and names every line; a good file imported twice changes
// nothing; an overlapping re-import replaces; results from Meta's API (the
// fake) land the same way; variants are compared with a verdict.
func TestAdResults(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, d0.Add(20*24*time.Hour), 0,
			campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 2 * eur}, "A")
		fake := meta.NewFake("meta-token")
		srv := httptest.NewServer(fake)
		defer srv.Close()
		svc := report.New(report.Deps{DB: w.env.App.DB, Clock: w.env.Clock, Campaigns: w.env.App.Campaigns, Market: w.env.App.Market,
			Sources: func(_, platform string) (ads.Source, error) {
				return &meta.Client{BaseURL: srv.URL, AccessToken: "meta-token", HTTP: srv.Client(),
					Sleep: func(context.Context, time.Duration) error { return nil }}, nil
			}})
		creator := w.creators["A"]
		mk := func(adID, variant, segment string) report.AdPlacement {
			t.Helper()
			a, err := svc.CreateAd(w.ctx, w.brand, w.env.App.Links, w.camp.ID, report.AdDraft{CreatorID: creator, Platform: report.PlatformMeta,
				Kind: report.KindDarkPost, AdID: adID, Variant: variant, Segment: segment})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		a := mk("120210001", "a", "young")
		mk("120210002", "b", "young")
		if a.Placement != "ad-a-young" || a.LinkID == "" || !strings.Contains(a.ShortURL, "/r/") {
			t.Fatalf("placement %+v", a)
		}
		_, err := svc.CreateAd(w.ctx, w.brand, w.env.App.Links, w.camp.ID, report.AdDraft{CreatorID: creator, Platform: "snap", Kind: "x", AdID: "", Variant: "A B"})
		var e *errs.Error
		if !errors.As(err, &e) || len(e.Fields) != 5 {
			t.Fatalf("bad draft: %v", err)
		}
		_, err = svc.CreateAd(w.ctx, w.brand, w.env.App.Links, w.camp.ID, report.AdDraft{CreatorID: creator, Platform: report.PlatformMeta,
			Kind: report.KindWhitelisted, AdID: "120210001", Variant: "c", Segment: "old"})
		if errs.CodeOf(err) != "ad_exists" {
			t.Fatalf("same ad twice: %v", err)
		}
		day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
		importCSV := func(file string) (report.ImportResult, error) {
			rows, err := csvimport.Parse(strings.NewReader(file), 1000)
			if err != nil {
				return report.ImportResult{}, err
			}
			return svc.ImportRows(w.ctx, w.brand, w.camp.ID, "csv", rows)
		}
		adsOf := func() (spend, purchases int64) {
			rep, err := svc.Campaign(w.ctx, w.brand, w.camp.ID, mustWindow(t, w))
			if err != nil {
				t.Fatal(err)
			}
			return rep.Campaign.Figures.Ads.Spend.Micros, rep.Campaign.Figures.Ads.Purchases
		}
		// Bad rows: parse errors by line; nothing imported.
		bad := "ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\n" +
			"120210001,2026-10-10,EUR,10.00,1000,100,5,50\n" +
			"120210001,2026-10-32,EUR,10.00,1000,100,5,50\n" +
			"120210002,2026-10-10,EUR,-3,1000,100,5,50\n"
		_, err = importCSV(bad)
		var ce *csvimport.Errors
		if !errors.As(err, &ce) || len(ce.Rows) != 2 || ce.Rows[0].Line != 3 || ce.Rows[1].Line != 4 {
			t.Fatalf("bad CSV: %v", err)
		}
		// Rows that parse but name an unknown ad or another currency: named by line.
		_, err = importCSV("ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\n" +
			"120210001,2026-10-10,EUR,10.00,1000,100,5,50\n" +
			"999,2026-10-10,EUR,1,1,1,1,1\n" +
			"120210002,2026-10-10,USD,1,1,1,1,1\n")
		if !errors.As(err, &e) || len(e.Fields) != 2 || e.Fields[0].Field != "line 3" || e.Fields[1].Field != "line 4" {
			t.Fatalf("unknown ad and currency: %v", err)
		}
		if s, _ := adsOf(); s != 0 {
			t.Fatalf("a refused import stored spend %d", s)
		}
		good := "ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\n" +
			"120210001,2026-10-10,EUR,10.00,1000,400,20,200\n" +
			"120210001,2026-10-11,EUR,12.50,1200,400,20,210\n" +
			"120210002,2026-10-10,EUR,11.00,1100,400,8,90\n" +
			"120210002,2026-10-11,EUR,9.00,900,400,8,70\n"
		res, err := importCSV(good)
		if err != nil || res.Changed != 4 {
			t.Fatalf("import: %+v %v", res, err)
		}
		if res, err = importCSV(good); err != nil || res.Changed != 0 || res.Unchanged != 4 {
			t.Fatalf("the same file again: %+v %v", res, err)
		}
		if s, p := adsOf(); s != 42_500_000 || p != 56 {
			t.Fatalf("ad spend %d purchases %d, want 42.50 and 56", s, p)
		}
		// Overlapping re-import (Oct 11–12) from Meta's API replaces Oct 11.
		fake.AddResult(ads.DailyResult{AdID: "120210001", Day: day("2026-10-11"), Currency: "EUR", Spend: 13 * eur, Impressions: 1300, Clicks: 400, Purchases: 20, PurchaseValue: 220 * eur})
		fake.AddResult(ads.DailyResult{AdID: "120210001", Day: day("2026-10-12"), Currency: "EUR", Spend: 5 * eur, Impressions: 500, Clicks: 200, Purchases: 10, PurchaseValue: 100 * eur})
		res, err = svc.Import(w.ctx, w.brand, w.camp.ID, report.PlatformMeta, day("2026-10-11"), day("2026-10-12"))
		if err != nil || res.Changed != 2 {
			t.Fatalf("meta import: %+v %v", res, err)
		}
		if s, p := adsOf(); s != 48_000_000 || p != 66 { // 42.50 − 12.50 + 13 + 5; 56 + 10
			t.Fatalf("after the overlapping import: spend %d purchases %d", s, p)
		}
		fake.ExpireToken()
		if _, err := svc.Import(w.ctx, w.brand, w.camp.ID, report.PlatformMeta, day("2026-10-11"), day("2026-10-12")); errs.CodeOf(err) != "platform_unauthorized" {
			t.Errorf("expired token: %v", err)
		}
		// Variants: a converts 50/1000 clicks, b 16/800.
		rep, err := svc.Campaign(w.ctx, w.brand, w.camp.ID, mustWindow(t, w))
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Variants) != 1 { // one segment: the overall comparison only, not the same again per segment
			t.Fatalf("variant comparisons %+v", rep.Variants)
		}
		v := rep.Variants[0]
		if v.Winner != "a" || v.A.Variant != "a" || v.A.Purchases != 50 || v.B.Purchases != 16 || v.PValue >= 0.05 ||
			!strings.HasPrefix(v.Verdict, "variant a converts better") || v.A.CTR != "0.357142" || v.A.CPA != "0.560000" {
			t.Errorf("comparison %+v", v)
		}
	})
}

func mustWindow(t *testing.T, w *world) report.Window {
	t.Helper()
	win, err := report.ParseWindow("launch", "", "", w.env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return win
}
