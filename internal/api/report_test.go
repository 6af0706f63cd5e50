package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestReportSeries: GET /v1/campaigns/{id}/report/series answers the daily
// series whose days sum to GET …/report's figures for the same window, and
// the burn whose escrow figures are GET …/money's, to the micro-unit; a bad
// window is a 400 naming its field; another brand gets 404.
func TestReportSeries(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		ctx := context.Background()
		brand := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
		other := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Other"}`), "api_key")
		camp := str(must(t, h, 201, "POST", "/v1/campaigns", brand, `{"name":"Glow","budget":{"amount":"500","currency":"EUR"}}`), "id")
		must(t, h, 200, "PUT", "/v1/campaigns/"+camp+"/setup", brand, `{"goal":{"primary":"roas","primary_target":"3"},
			"brief":{"product":"Glow serum","message":"Your routine","landing_url":"https://acme.example/glow"},
			"prices":{"view":"0.002","like":"0.02"},"ends_at":"2030-01-01T00:00:00Z","eligibility":{"platforms":["sandbox"]}}`)
		must(t, h, 201, "POST", "/v1/campaigns/"+camp+"/fund", brand, `{"payment":{"reference":"p1"}}`)
		must(t, h, 200, "POST", "/v1/campaigns/"+camp+"/open", brand, "")
		today := rollup.DayOf(time.Now().UnixMicro())
		var b rollup.Batch
		for i, d := range []int64{today - 20, today - 3, today} {
			k := rollup.Key{Campaign: camp, Creator: "cr_x", Day: d}
			b.Add(k, rollup.Views, 1000*int64(i+1))
			b.Add(k, rollup.Likes, 10*int64(i+1))
			b.Add(k, rollup.ClicksHuman, 7)
			b.Add(k, rollup.Conversions, 1)
			b.Add(k, rollup.Revenue, 12_345_678)
			b.Add(k, rollup.EarnInteractions, 1_000_001*int64(i+1))
			b.Add(k, rollup.Fees, 250_000)
		}
		if err := a.DB.WithTx(ctx, func(tx *store.Tx) error { return b.Flush(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		get := func(path string, out any) {
			t.Helper()
			r := call(t, h, "GET", path, brand, "")
			if r.Status != 200 {
				t.Fatalf("GET %s: %d %s", path, r.Status, r.Raw)
			}
			if err := json.Unmarshal([]byte(r.Raw), out); err != nil {
				t.Fatal(err)
			}
		}
		var m struct {
			Funded, Spent, Remaining money.Amount
		}
		get("/v1/campaigns/"+camp+"/money", &m)
		for _, q := range []string{"", "?window=14d", "?window=30d"} {
			var ser report.Series
			var rep report.Report
			get("/v1/campaigns/"+camp+"/report/series"+q, &ser)
			get("/v1/campaigns/"+camp+"/report"+q, &rep)
			var spend, views, eng, clicks, conv, rev int64
			for _, d := range ser.Days {
				spend += d.EscrowSpend.Micros
				views, eng, clicks, conv, rev = views+d.Views, eng+d.Engagements, clicks+d.Clicks, conv+d.Conversions, rev+d.Revenue.Micros
			}
			f := rep.Campaign.Figures
			if got, want := [6]int64{spend, views, eng, clicks, conv, rev},
				[6]int64{f.Spend.Earnings.Total.Micros + f.Spend.Fees.Micros, f.Views, f.Engagements, f.Clicks, f.Conversions, f.Revenue.Micros}; got != want || f.Views == 0 {
				t.Errorf("%q: series sums %v, report %v", q, got, want)
			}
			if ser.Window != rep.Window || ser.Days[len(ser.Days)-1].Date != rep.Window.To {
				t.Errorf("%q: series window %+v, report %+v", q, ser.Window, rep.Window)
			}
			bu := ser.Burn
			if bu.Funded != m.Funded || bu.Spent != m.Spent || bu.Remaining != m.Remaining || bu.Funded.Micros != 500*money.Scale {
				t.Errorf("burn %+v, money %+v", bu, m)
			}
			// The last 7 days: 2,000,002 + 3,000,003 + 2 × 250,000 = 5,500,005 / 7.
			if bu.PacePerDay.Micros != 785_715 || bu.Status != report.BurnPacing || bu.RunOutDate == "" {
				t.Errorf("burn %+v", bu)
			}
		}
		if r := call(t, h, "GET", "/v1/campaigns/"+camp+"/report/series?window=custom&from=2026-01-02&to=2026-01-01", brand, ""); r.Status != 400 || r.errField() != "to" {
			t.Errorf("to before from: %d %s", r.Status, r.Raw)
		}
		if r := call(t, h, "GET", "/v1/campaigns/"+camp+"/report/series", other, ""); r.Status != 404 {
			t.Errorf("another brand: %d %s", r.Status, r.Raw)
		}
	})
}
