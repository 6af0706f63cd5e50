package report_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

const eur = money.Scale

// d0 is the fixture campaign's first day; the clock stands at d0 + 35 days, noon.
var d0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

type world struct {
	t        *testing.T
	ctx      context.Context
	env      *demo.Env
	brand    identity.Principal
	camp     campaign.Campaign
	creators map[string]string // letter → creator id
}

// newWorld starts payper at now with a brand and an open campaign (budget,
// goal ROAS ≥ 3 and CPE ≤ 0.50, run d0 to d0 + 40 days, creator cap cap)
// that accepted the given creators.
func newWorld(t *testing.T, dbURL string, now time.Time, capMicros int64, goal campaign.Goal, letters ...string) *world {
	t.Helper()
	env, err := demo.Start(context.Background(), dbURL, now, engage.Config{PollInterval: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	w := &world{t: t, ctx: context.Background(), env: env, creators: map[string]string{}}
	b, _, err := env.App.Identity.CreateBrand(w.ctx, "Glow Labs")
	if err != nil {
		t.Fatal(err)
	}
	w.brand = identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
	c, err := env.App.Campaigns.Create(w.ctx, w.brand, campaign.Draft{Name: "Serum", Budget: money.New(1000*eur, money.EUR)})
	if err != nil {
		t.Fatal(err)
	}
	setup := campaign.Setup{Goal: goal,
		Brief:       campaign.Brief{Product: "Serum", Message: "Glow", LandingURL: "https://glow.example"},
		Prices:      campaign.Prices{Like: 50_000},
		Performance: campaign.Performance{CommissionBps: 1000, CPA: eur},
		CreatorCap:  capMicros,
		StartsAt:    d0, EndsAt: d0.Add(40 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.Platform(platform.Sandbox)}}}
	if _, err := env.App.Campaigns.Configure(w.ctx, w.brand, c.ID, setup); err != nil {
		t.Fatal(err)
	}
	if _, err := env.App.Campaigns.Fund(w.ctx, w.brand, c.ID, campaign.FundInput{Reference: "pay-" + c.ID}); err != nil {
		t.Fatal(err)
	}
	if w.camp, err = env.App.Campaigns.Transition(w.ctx, w.brand, c.ID, campaign.ActionOpen); err != nil {
		t.Fatal(err)
	}
	for _, l := range letters {
		handle := "creator_" + strings.ToLower(l)
		cr, _, err := env.App.Identity.CreateCreator(w.ctx, handle, "DE")
		if err != nil {
			t.Fatal(err)
		}
		p := identity.Principal{Role: identity.RoleCreator, SubjectID: cr.ID}
		if _, err := env.App.Sandbox.CreateAccount(w.ctx, handle, 5000); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Connect(w.ctx, p, handle); err != nil {
			t.Fatal(err)
		}
		a, err := env.App.Market.Apply(w.ctx, p, c.ID, "hi")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.Market.Decide(w.ctx, w.brand, a.ID, true); err != nil {
			t.Fatal(err)
		}
		w.creators[l] = cr.ID
	}
	return w
}

// put adds rollups as events would.
func (w *world) put(letter, placement string, day int, vals map[rollup.Col]int64) {
	w.t.Helper()
	var b rollup.Batch
	k := rollup.Key{Campaign: w.camp.ID, Creator: w.creators[letter], Placement: placement, Day: rollup.DayOf(d0.UnixMicro()) + int64(day)}
	for c, v := range vals {
		b.Add(k, c, v)
	}
	if err := w.env.App.DB.WithTx(w.ctx, func(tx *store.Tx) error { return b.Flush(w.ctx, tx) }); err != nil {
		w.t.Fatal(err)
	}
}

type kpi struct{ cpe, cpa, roas, roi, rr, rpi, epc string }

func kpisOf(r report.Row) kpi {
	k := r.KPIs
	return kpi{k.CPE, k.CPA, k.ROAS, k.ROI, k.RedemptionRate, k.RevenuePerInfluencer, k.EPC}
}

// fixtureWant was computed by hand from the fixture below and PRODUCT.md's
// definitions (floored to the micro-unit), independently of the code:
// window, creator ("" = the campaign), spend, engagements, KPIs.
var fixtureWant = []struct {
	window, creator string
	spend, eng      int64
	k               kpi
}{
	{"launch", "", 189055556, 599, kpi{"0.315618", "13.503968", "3.085512", "2.085512", "0.105948", "97.222222", "0.155860"}},
	{"launch", "A", 34100000, 285, kpi{"0.119649", "5.683333", "8.504398", "7.504398", "0.100000", "290.000000", "0.193750"}},
	{"launch", "B", 10000000, 10, kpi{"1.000000", "undefined", "0.000000", "-1.000000", "0.000000", "0.000000", "undefined"}},
	{"launch", "C", 100000000, 300, kpi{"0.333333", "16.666666", "2.600000", "1.600000", "0.133333", "260.000000", "0.075000"}},
	{"launch", "D", 0, 0, kpi{"undefined", "undefined", "undefined", "undefined", "undefined", "0.000000", "undefined"}},
	{"launch", "E", 555556, 1, kpi{"0.555556", "undefined", "0.000000", "-1.000000", "0.000000", "0.000000", "0.500000"}},
	{"launch", "F", 4400000, 3, kpi{"1.466666", "2.200000", "7.575757", "6.575757", "0.000000", "33.333333", "undefined"}},
	{"14d", "", 109300000, 468, kpi{"0.233547", "9.936363", "4.422079", "3.422079", "0.119832", "80.555555", "0.157692"}},
	{"14d", "A", 23100000, 165, kpi{"0.140000", "5.775000", "8.225108", "7.225108", "0.100000", "190.000000", "0.190909"}},
	{"14d", "B", 0, 0, kpi{"undefined", "undefined", "undefined", "undefined", "undefined", "0.000000", "undefined"}},
	{"14d", "C", 70000000, 300, kpi{"0.233333", "11.666666", "3.714285", "2.714285", "0.133333", "260.000000", "0.120000"}},
	{"14d", "D", 0, 0, kpi{"undefined", "undefined", "undefined", "undefined", "undefined", "0.000000", "undefined"}},
	{"14d", "E", 0, 0, kpi{"undefined", "undefined", "undefined", "undefined", "undefined", "0.000000", "undefined"}},
	{"14d", "F", 2200000, 3, kpi{"0.733333", "2.200000", "15.151515", "14.151515", "0.000000", "33.333333", "undefined"}},
	{"30d", "", 165855556, 479, kpi{"0.346253", "15.077777", "2.914182", "1.914182", "0.107009", "80.555555", "0.143874"}},
	{"30d", "A", 23100000, 165, kpi{"0.140000", "5.775000", "8.225108", "7.225108", "0.100000", "190.000000", "0.190909"}},
	{"30d", "B", 10000000, 10, kpi{"1.000000", "undefined", "0.000000", "-1.000000", "0.000000", "0.000000", "undefined"}},
	{"30d", "C", 100000000, 300, kpi{"0.333333", "16.666666", "2.600000", "1.600000", "0.133333", "260.000000", "0.075000"}},
	{"30d", "D", 0, 0, kpi{"undefined", "undefined", "undefined", "undefined", "undefined", "0.000000", "undefined"}},
	{"30d", "E", 555556, 1, kpi{"0.555556", "undefined", "0.000000", "-1.000000", "0.000000", "0.000000", "0.500000"}},
	{"30d", "F", 2200000, 3, kpi{"0.733333", "2.200000", "15.151515", "14.151515", "0.000000", "33.333333", "undefined"}},
	{"custom", "", 51555556, 11, kpi{"4.686868", "undefined", "0.000000", "-1.000000", "0.000000", "0.000000", "0.104395"}},
	{"custom", "A", 0, 0, kpi{"undefined", "undefined", "undefined", "undefined", "undefined", "0.000000", "undefined"}},
	{"custom", "B", 10000000, 10, kpi{"1.000000", "undefined", "0.000000", "-1.000000", "0.000000", "0.000000", "undefined"}},
	{"custom", "C", 30000000, 0, kpi{"undefined", "undefined", "0.000000", "-1.000000", "undefined", "0.000000", "0.000000"}},
	{"custom", "D", 0, 0, kpi{"undefined", "undefined", "undefined", "undefined", "undefined", "0.000000", "undefined"}},
	{"custom", "E", 555556, 1, kpi{"0.555556", "undefined", "0.000000", "-1.000000", "0.000000", "0.000000", "0.500000"}},
	{"custom", "F", 0, 0, kpi{"undefined", "undefined", "undefined", "undefined", "undefined", "0.000000", "undefined"}},
}

// TestFixtureKPIs: six creators with known earnings, fees, ad spend,
// clicks, orders, refunds and views, and an operating cost of €40 over a
// 40-day run: every KPI of the campaign and of each creator, in every
// window, to the micro-unit; placements; goal status; CSV.
func TestFixtureKPIs(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, d0.Add(35*24*time.Hour+12*time.Hour), 0,
			campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3 * eur, Secondary: campaign.MetricCPE, SecondaryTarget: eur / 2},
			"A", "B", "C", "D", "E", "F")
		w.put("A", "", 3, map[rollup.Col]int64{rollup.Views: 1000, rollup.Likes: 100, rollup.Comments: 20, rollup.ClicksHuman: 50, rollup.ClicksBot: 5,
			rollup.ClicksUnique: 40, rollup.Conversions: 2, rollup.Redemptions: 1, rollup.Revenue: 100 * eur, rollup.EarnInteractions: 10 * eur, rollup.Fees: eur})
		w.put("A", "", 25, map[rollup.Col]int64{rollup.Views: 2000, rollup.Likes: 150, rollup.Shares: 10, rollup.Saves: 5, rollup.ClicksHuman: 80,
			rollup.ClicksUnique: 70, rollup.Conversions: 3, rollup.Redemptions: 2, rollup.Revenue: 150 * eur, rollup.Refunded: 20 * eur,
			rollup.EarnCommission: 15 * eur, rollup.EarnCPA: 6 * eur, rollup.Fees: 2_100_000})
		w.put("A", "bio", 25, map[rollup.Col]int64{rollup.ClicksHuman: 30, rollup.ClicksBot: 2, rollup.Conversions: 1, rollup.Revenue: 40 * eur})
		w.put("B", "", 15, map[rollup.Col]int64{rollup.Views: 500, rollup.Comments: 10, rollup.EarnFlatFee: 9 * eur, rollup.Fees: eur})
		w.put("C", "", 25, map[rollup.Col]int64{rollup.Views: 3000, rollup.Likes: 300, rollup.Conversions: 4, rollup.Redemptions: 4,
			rollup.Revenue: 200 * eur, rollup.EarnCommission: 18 * eur, rollup.Fees: 2 * eur})
		w.put("C", "ad-a-young", 25, map[rollup.Col]int64{rollup.AdSpend: 50 * eur, rollup.AdImpressions: 10000, rollup.AdClicks: 200,
			rollup.AdPurchases: 4, rollup.AdRevenue: 120 * eur, rollup.ClicksHuman: 150, rollup.Conversions: 2, rollup.Revenue: 60 * eur})
		w.put("C", "ad-b-young", 15, map[rollup.Col]int64{rollup.AdSpend: 30 * eur, rollup.AdImpressions: 8000, rollup.AdClicks: 100,
			rollup.AdPurchases: 1, rollup.AdRevenue: 25 * eur, rollup.ClicksHuman: 90})
		w.put("E", "", 15, map[rollup.Col]int64{rollup.Views: 100, rollup.Likes: 1, rollup.ClicksHuman: 1, rollup.EarnInteractions: 500_000, rollup.Fees: 55_556})
		w.put("F", "", 3, map[rollup.Col]int64{rollup.Conversions: 1, rollup.OtherCurrency: 1, rollup.EarnCPA: 2 * eur, rollup.Fees: 200_000})
		w.put("F", "", 25, map[rollup.Col]int64{rollup.Views: 7, rollup.Saves: 3, rollup.Conversions: 1, rollup.Revenue: 33_333_333,
			rollup.EarnCPA: 2 * eur, rollup.Fees: 200_000})
		if _, err := w.env.App.Report.SetOperatingCost(w.ctx, w.brand, w.camp.ID, money.New(40*eur, money.EUR)); err != nil {
			t.Fatal(err)
		}
		reports := map[string]report.Report{}
		for _, name := range []string{"launch", "14d", "30d", "custom"} {
			from, to := "", ""
			if name == "custom" {
				from, to = "2026-10-11", "2026-10-21" // d0 + 10 … d0 + 20
			}
			win, err := report.ParseWindow(name, from, to, w.env.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if reports[name], err = w.env.App.Report.Campaign(w.ctx, w.brand, w.camp.ID, win); err != nil {
				t.Fatal(err)
			}
		}
		byID := map[string]string{}
		for l, id := range w.creators {
			byID[id] = l
		}
		for _, want := range fixtureWant {
			rep := reports[want.window]
			var r report.Row
			if want.creator == "" {
				r = rep.Campaign
			} else {
				found := false
				for _, c := range rep.Creators {
					if byID[c.CreatorID] == want.creator {
						r, found = c, true
					}
				}
				if !found {
					t.Errorf("%s: creator %s missing from the report", want.window, want.creator)
					continue
				}
			}
			name := want.window + "/" + want.creator
			if r.Figures.Spend.Total.Micros != want.spend || r.Figures.Engagements != want.eng {
				t.Errorf("%s: spend %d engagements %d, want %d and %d", name, r.Figures.Spend.Total.Micros, r.Figures.Engagements, want.spend, want.eng)
			}
			if got := kpisOf(r); got != want.k {
				t.Errorf("%s KPIs:\n got  %+v\n want %+v", name, got, want.k)
			}
		}
		// Windows: the operating cost's share, the dates.
		if got := reports["14d"].Campaign.Figures.Spend.OperatingCost.Micros; got != 14*eur {
			t.Errorf("14-day operating cost %d, want 14.00 (14 of 40 days)", got)
		}
		if w14 := reports["14d"].Window; w14.From != "2026-10-23" || w14.To != "2026-11-05" {
			t.Errorf("14-day window %+v", w14)
		}
		// Placements (since launch): spend is the ad spend only.
		pl := map[string]kpi{}
		for _, p := range reports["launch"].Placements {
			pl[byID[p.CreatorID]+"/"+p.Placement] = kpisOf(p)
		}
		wantPl := map[string]kpi{
			"A/bio":        {"undefined", "0.000000", "undefined", "undefined", "undefined", "", "0.000000"},
			"C/ad-a-young": {"undefined", "25.000000", "1.200000", "0.200000", "undefined", "", "0.000000"},
			"C/ad-b-young": {"undefined", "undefined", "0.000000", "-1.000000", "undefined", "", "0.000000"},
		}
		if len(pl) != len(wantPl) {
			t.Errorf("placements %v", pl)
		}
		for k, want := range wantPl {
			if pl[k] != want {
				t.Errorf("placement %s: got %+v, want %+v", k, pl[k], want)
			}
		}
		// Figures: bots apart, other-currency conversions apart.
		c := reports["launch"].Campaign.Figures
		if c.Clicks != 401 || c.BotClicks != 7 || c.Unique != 110 || c.Conversions != 14 || c.Redemptions != 7 || c.OtherCurrency != 1 ||
			c.Revenue.Micros != 583_333_333 || c.Refunded.Micros != 20*eur || c.Ads.Spend.Micros != 80*eur || c.Ads.Purchases != 5 {
			t.Errorf("campaign figures %+v", c)
		}
		// Goal: ROAS ≥ 3 and CPE ≤ 0.50.
		goal := func(name string) string {
			g := reports[name].Goal
			return fmt.Sprintf("%s %s %s / %s %s %s", g[0].Metric, g[0].Value, g[0].Status, g[1].Metric, g[1].Value, g[1].Status)
		}
		for name, want := range map[string]string{
			"launch": "roas 3.085512 on_target / cpe 0.315618 on_target",
			"30d":    "roas 2.914182 off_target / cpe 0.346253 on_target",
			"custom": "roas 0.000000 off_target / cpe 4.686868 off_target",
		} {
			if got := goal(name); got != want {
				t.Errorf("%s goal: %s, want %s", name, got, want)
			}
		}
		// CSV: a header, the campaign, six creators, three placements.
		var b strings.Builder
		if err := report.WriteCSV(&b, reports["launch"]); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		if len(lines) != 11 || !strings.HasPrefix(lines[1], "campaign,,,,,2026-11-05,EUR,189.055556,") ||
			!strings.HasSuffix(lines[1], ",0.315618,13.503968,3.085512,2.085512,0.105948,97.222222,0.155860") {
			t.Errorf("CSV:\n%s", b.String())
		}
		if !strings.Contains(b.String(), ",undefined,undefined,undefined,undefined,undefined,0.000000,undefined") {
			t.Errorf("CSV lacks creator D's undefined KPIs:\n%s", b.String())
		}
	})
}

// TestWindowErrors: bad windows are refused naming the field.
func TestWindowErrors(t *testing.T) {
	now := time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ name, from, to, field string }{
		{"weekly", "", "", "window"},
		{"custom", "2026-11-01", "", "to"},
		{"custom", "yesterday", "2026-11-01", "from"},
		{"custom", "2026-11-02", "2026-11-01", "to"},
		{"14d", "2026-11-01", "", "from"},
	} {
		_, err := report.ParseWindow(c.name, c.from, c.to, now)
		if err == nil || !strings.Contains(fmt.Sprintf("%+v", err), c.field) {
			t.Errorf("%+v: error %v, want one naming %s", c, err, c.field)
		}
	}
	w, err := report.ParseWindow("30d", "", "", now)
	if err != nil || w.From != "2026-10-07" || w.To != "2026-11-05" {
		t.Errorf("30d = %+v, %v", w, err)
	}
}
