package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store/storetest"
)

// TestSeriesAndBurn: the daily series of a campaign with known rollups, in
// three windows, to the micro-unit; the days sum to the report's figures
// for the same window; the burn pace over the last seven days and the
// run-out day computed by hand; unfunded, no pace, and another brand's
// campaign (NotFound).
func TestSeriesAndBurn(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, d0.Add(35*24*time.Hour+12*time.Hour), 0,
			campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3 * eur}, "A", "B", "C", "E", "F")
		w.put("A", "", 3, map[rollup.Col]int64{rollup.Views: 1000, rollup.Likes: 100, rollup.Comments: 20, rollup.ClicksHuman: 50, rollup.ClicksBot: 5,
			rollup.Conversions: 2, rollup.Revenue: 100 * eur, rollup.EarnInteractions: 10 * eur, rollup.Fees: eur})
		w.put("A", "", 25, map[rollup.Col]int64{rollup.Likes: 150, rollup.Shares: 10, rollup.Saves: 5, rollup.ClicksHuman: 80,
			rollup.Conversions: 3, rollup.Revenue: 150 * eur, rollup.EarnCommission: 15 * eur, rollup.EarnCPA: 6 * eur, rollup.Fees: 2_100_000})
		w.put("C", "ad-a", 25, map[rollup.Col]int64{rollup.AdSpend: 50 * eur, rollup.ClicksHuman: 150, rollup.Conversions: 2, rollup.Revenue: 60 * eur})
		w.put("B", "", 30, map[rollup.Col]int64{rollup.Comments: 10, rollup.EarnFlatFee: 9 * eur, rollup.Fees: eur})
		w.put("E", "", 33, map[rollup.Col]int64{rollup.Views: 100, rollup.Likes: 1, rollup.EarnInteractions: 500_000, rollup.Fees: 55_556})
		w.put("F", "", 35, map[rollup.Col]int64{rollup.Saves: 3, rollup.Conversions: 1, rollup.Revenue: 33_333_333, rollup.EarnCPA: 2 * eur, rollup.Fees: 200_000})

		series := func(name, from, to string) (report.Series, report.Report) {
			t.Helper()
			win, err := report.ParseWindow(name, from, to, w.env.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			s, err := w.env.App.Report.Series(w.ctx, w.brand, w.camp.ID, win)
			if err != nil {
				t.Fatal(err)
			}
			r, err := w.env.App.Report.Campaign(w.ctx, w.brand, w.camp.ID, win)
			if err != nil {
				t.Fatal(err)
			}
			return s, r
		}
		day := func(s report.Series, date string) report.Day {
			t.Helper()
			for _, d := range s.Days {
				if d.Date == date {
					return d
				}
			}
			t.Fatalf("no day %s in %s..%s", date, s.Days[0].Date, s.Days[len(s.Days)-1].Date)
			return report.Day{}
		}

		// Since launch: every day from the start (1 Oct) to today (5 Nov).
		launch, rep := series("launch", "", "")
		if n := len(launch.Days); n != 36 || launch.Days[0].Date != "2026-10-01" || launch.Days[35].Date != "2026-11-05" {
			t.Fatalf("launch days: %d from %s", n, launch.Days[0].Date)
		}
		for _, c := range []struct {
			date                           string
			spend, toDate, paid, rev       int64
			views, eng, clicks, conversion int64
		}{
			{"2026-10-01", 0, 0, 0, 0, 0, 0, 0, 0},
			{"2026-10-04", 11 * eur, 11 * eur, 0, 100 * eur, 1000, 120, 50, 2},
			{"2026-10-05", 0, 11 * eur, 0, 0, 0, 0, 0, 0},
			{"2026-10-26", 23_100_000, 34_100_000, 50 * eur, 210 * eur, 0, 165, 230, 5},
			{"2026-10-31", 10 * eur, 44_100_000, 0, 0, 0, 10, 0, 0},
			{"2026-11-03", 555_556, 44_655_556, 0, 0, 100, 1, 0, 0},
			{"2026-11-05", 2_200_000, 46_855_556, 0, 33_333_333, 0, 3, 0, 1},
		} {
			d := day(launch, c.date)
			got := [8]int64{d.EscrowSpend.Micros, d.EscrowSpentToDate.Micros, d.PaidSocial.Micros, d.Revenue.Micros, d.Views, d.Engagements, d.Clicks, d.Conversions}
			want := [8]int64{c.spend, c.toDate, c.paid, c.rev, c.views, c.eng, c.clicks, c.conversion}
			if got != want || d.EscrowSpend.Currency != money.EUR {
				t.Errorf("%s: got %v (%s), want %v", c.date, got, d.EscrowSpend.Currency, want)
			}
		}
		sumsAgree(t, "launch", launch, rep)

		// 14 days: 23 Oct to 5 Nov; the spend to date counts the days before.
		s14, rep14 := series("14d", "", "")
		if n := len(s14.Days); n != 14 || s14.Days[0].Date != "2026-10-23" || s14.Days[0].EscrowSpentToDate.Micros != 11*eur {
			t.Fatalf("14d: %d days from %+v", n, s14.Days[0])
		}
		sumsAgree(t, "14d", s14, rep14)

		// A custom range in the past: 2 to 5 Oct.
		cust, repC := series("custom", "2026-10-02", "2026-10-05")
		if n := len(cust.Days); n != 4 || day(cust, "2026-10-04").EscrowSpentToDate.Micros != 11*eur || day(cust, "2026-10-05").EscrowSpentToDate.Micros != 11*eur {
			t.Fatalf("custom: %+v", cust.Days)
		}
		sumsAgree(t, "custom", cust, repC)

		// Burn: the ledger's escrow, the pace of 30 Oct … 5 Nov
		// (10 + 0.555556 + 2.2 = 12.755556 EUR) / 7 = 1.822222; 1,000 EUR
		// left runs out in ceil(1000 / 1.822222) = 549 days: 7 May 2028.
		mon, err := w.env.App.Campaigns.MoneyState(w.ctx, w.brand, w.camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		b := launch.Burn
		if b.Funded != mon.Funded || b.Spent != mon.Spent || b.Remaining != mon.Remaining || b.Remaining.Micros != 1000*eur {
			t.Errorf("burn %+v, money %+v", b, mon)
		}
		if b.PaceDays != 7 || b.PacePerDay.Micros != 1_822_222 || b.Status != report.BurnPacing || b.RunOutDate != "2028-05-07" ||
			b.EndsAt != "2026-11-09" || b.RunsOutBeforeEnd {
			t.Errorf("burn %+v", b)
		}
		if cust.Burn != b || s14.Burn != b {
			t.Errorf("the burn depends on the window: %+v / %+v", cust.Burn, s14.Burn)
		}

		// Twenty days later nothing was spent in the last seven days.
		w.env.Clock.Advance(20 * 24 * time.Hour)
		later, _ := series("launch", "", "")
		if later.Burn.Status != report.BurnNoPace || later.Burn.RunOutDate != "" || later.Burn.PacePerDay.Micros != 0 || len(later.Days) != 56 {
			t.Errorf("later: %d days, burn %+v", len(later.Days), later.Burn)
		}

		// A campaign never funded; another brand's campaign.
		c2, err := w.env.App.Campaigns.Create(w.ctx, w.brand, campaign.Draft{Name: "Draft", Budget: money.New(500*eur, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		win, _ := report.ParseWindow("launch", "", "", w.env.Clock.Now())
		s2, err := w.env.App.Report.Series(w.ctx, w.brand, c2.ID, win)
		if err != nil || s2.Burn.Status != report.BurnUnfunded || s2.Burn.Funded.Micros != 0 || len(s2.Days) != 1 {
			t.Errorf("unfunded: %+v, %v", s2, err)
		}
		other, _, err := w.env.App.Identity.CreateBrand(w.ctx, "Other")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.env.App.Report.Series(w.ctx, identity.Principal{Role: identity.RoleBrand, SubjectID: other.ID}, w.camp.ID, win); !errs.Is(err, errs.NotFound) {
			t.Errorf("another brand: %v, want NotFound", err)
		}
	})
}

// sumsAgree checks that a series' days add up to the report's campaign
// figures for the same window.
func sumsAgree(t *testing.T, name string, s report.Series, r report.Report) {
	t.Helper()
	var spend, paid, rev, views, eng, clicks, conv int64
	for _, d := range s.Days {
		spend += d.EscrowSpend.Micros
		paid += d.PaidSocial.Micros
		rev += d.Revenue.Micros
		views += d.Views
		eng += d.Engagements
		clicks += d.Clicks
		conv += d.Conversions
	}
	f := r.Campaign.Figures
	got := [7]int64{spend, paid, rev, views, eng, clicks, conv}
	want := [7]int64{f.Spend.Earnings.Total.Micros + f.Spend.Fees.Micros, f.Spend.PaidSocial.Micros, f.Revenue.Micros, f.Views, f.Engagements, f.Clicks, f.Conversions}
	if got != want {
		t.Errorf("%s: the days sum to %v, the report says %v", name, got, want)
	}
}

// TestSeriesIndexLeavesTheReportAlone (SQLite): the series reads the
// campaign's day totals along rollup_days' key (migration 0049) without
// sorting; a GROUP BY day + 0 on the rollups walks rollups_campaign_day
// (migration 0039, what the series read before 0049) without sorting, and
// the report's query still walks the rollups' key, grouped by creator and
// placement without sorting: that index is on day + 0, which the report
// does not name.
func TestSeriesIndexLeavesTheReportAlone(t *testing.T) {
	db := storetest.Open(t, storetest.SQLiteURL(t))
	plan := func(q string) string {
		t.Helper()
		rows, err := db.Read().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			out = append(out, detail)
		}
		return strings.Join(out, "; ")
	}
	rep := plan(`SELECT creator_id, placement, COALESCE(SUM(views), 0) FROM rollups WHERE campaign_id = 'c' AND day >= 1 AND day <= 100
		GROUP BY creator_id, placement ORDER BY creator_id, placement`)
	ser := plan(`SELECT day + 0, COALESCE(SUM(views), 0) FROM rollups WHERE campaign_id = 'c' AND day + 0 >= 1 AND day + 0 <= 100
		GROUP BY day + 0 ORDER BY day + 0`)
	if strings.Contains(rep, "rollups_campaign_day") || strings.Contains(rep, "TEMP B-TREE") {
		t.Errorf("the report's query plan: %s", rep)
	}
	if !strings.Contains(ser, "rollups_campaign_day") || strings.Contains(ser, "TEMP B-TREE") {
		t.Errorf("the series' query plan: %s", ser)
	}
	days := plan(`SELECT day, views, fees FROM rollup_days WHERE campaign_id = 'c' AND day >= 1 AND day <= 100 ORDER BY day`)
	if !strings.Contains(days, "rollup_days USING") || strings.Contains(days, "TEMP B-TREE") || strings.Contains(days, "SCAN") {
		t.Errorf("the day totals' query plan: %s", days)
	}
}
