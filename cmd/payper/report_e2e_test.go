package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// TestReportsEndToEnd runs a pay-per-interaction campaign with a commission
// over HTTP on both stores, then reads its report (JSON and CSV), sets an
// operating cost, registers dark posts and uploads their results (a bad CSV
// refused by line, the same file twice changing nothing), and runs the
// optimize loop through a confirmed apply.
func TestReportsEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
		w := newPPIWorld(t, env, c)
		w.grow(t, "ana", `{"views":1000,"likes":40,"comments":4}`)
		w.grow(t, "ben", `{"views":500,"likes":10}`)
		w.tick(t, time.Minute)

		// The report since launch: engagement billed, spend = earnings + fees.
		rep := c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/report", w.brand, "")
		camp := rep["campaign"].(map[string]any)
		fig, kpis := camp["figures"].(map[string]any), camp["kpis"].(map[string]any)
		if fig["views"].(float64) != 1500 || fig["engagements"].(float64) != 54 {
			t.Fatalf("figures %v", fig)
		}
		spend := micros(t, fig["spend"].(map[string]any), "total")
		// views 1500 × 0.002 + likes 50 × 0.05 + comments 4 × 0.25 = 6.50
		if spend != 6_500_000 || kpis["cpe"] != "0.120370" || kpis["cpa"] != "undefined" || kpis["roas"] != "0.000000" {
			t.Fatalf("spend %d, kpis %v", spend, kpis)
		}
		if n := len(rep["creators"].([]any)); n != 3 {
			t.Fatalf("%d creator rows", n)
		}
		c.fails(400, "invalid", "window", "GET", "/v1/campaigns/"+w.campaign+"/report?window=weekly", w.brand, "")
		c.fails(400, "invalid_date", "from", "GET", "/v1/campaigns/"+w.campaign+"/report?window=custom&from=x&to=2026-06-01", w.brand, "")
		c.fails(404, "not_found", "", "GET", "/v1/campaigns/"+w.campaign+"/report", w.creators["ana"], "")
		// An operating cost of €3.50 joins the spend.
		c.must(200, "PUT", "/v1/campaigns/"+w.campaign+"/operating_cost", w.brand, `{"amount":{"amount":"3.5","currency":"EUR"}}`)
		c.fails(400, "currency_mismatch", "amount.currency", "PUT", "/v1/campaigns/"+w.campaign+"/operating_cost", w.brand, `{"amount":{"amount":"3.5","currency":"USD"}}`)
		csv := c.do("GET", "/v1/campaigns/"+w.campaign+"/report?window=14d&format=csv", w.brand, "")
		lines := strings.Split(strings.TrimSpace(csv.Raw), "\n")
		// The last 14 days overlap 1 of the 31 days the run touches (June 1,
		// 09:00 to July 1, 09:00): 6.50 + floor(3.50 × 1/31) = 6.612903.
		if csv.Status != 200 || len(lines) != 5 || !strings.HasPrefix(lines[0], "level,creator_id,") ||
			!strings.HasPrefix(lines[1], "campaign,") || !strings.Contains(lines[1], ",EUR,6.612903,") {
			t.Fatalf("CSV:\n%s", csv.Raw)
		}

		// Dark posts for ana and their results.
		for _, v := range []string{"a", "b"} {
			c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/ads", w.brand, fmt.Sprintf(`{"creator_id":%q,"platform":"meta","kind":"dark_post",
				"ad_id":"90%s","variant":%q,"segment":"18-24"}`, w.ids["ana"], map[string]string{"a": "1", "b": "2"}[v], v))
		}
		r := c.do("POST", "/v1/campaigns/"+w.campaign+"/ads/results", w.brand,
			"ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\n901,2026-06-01,EUR,5,100,10,1,20\n902,2026-06-01,EUR,x,1,1,1,1\n903,2026-06-01,EUR,1,1,1,1,1\n")
		e, _ := r.Body["error"].(map[string]any)
		if r.Status != 400 || e["field"] != "line 3 spend" {
			t.Fatalf("bad CSV: %d %s", r.Status, r.Raw)
		}
		good := "ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\n901,2026-06-01,EUR,5,100,50,5,100\n902,2026-06-01,EUR,4,100,50,1,20\n"
		if res := c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/ads/results", w.brand, good); res["changed"].(float64) != 2 {
			t.Fatalf("import %v", res)
		}
		if res := c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/ads/results", w.brand, good); res["unchanged"].(float64) != 2 {
			t.Fatalf("second import %v", res)
		}
		rep = c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/report", w.brand, "")
		if paid := micros(t, rep["campaign"].(map[string]any)["figures"].(map[string]any)["spend"].(map[string]any), "paid_social"); paid != 9_000_000 {
			t.Fatalf("paid social %d", paid)
		}
		if len(rep["placements"].([]any)) != 2 || len(rep["variant_comparisons"].([]any)) == 0 {
			t.Fatalf("placements %v, comparisons %v", rep["placements"], rep["variant_comparisons"])
		}
		c.fails(400, "not_configured", "platform", "POST", "/v1/campaigns/"+w.campaign+"/ads/import", w.brand, `{"platform":"meta","from":"2026-06-01","to":"2026-06-02"}`)

		// The optimize loop: plan, then a confirmed apply.
		plan := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/optimize", w.brand, `{"mark":"14d"}`)
		entries := plan["entries"].([]any)
		if len(entries) != 3 || entries[0].(map[string]any)["label"] != "scale" || entries[2].(map[string]any)["label"] != "cut" {
			t.Fatalf("plan %v", plan)
		}
		c.fails(400, "confirm_required", "confirm", "POST", "/v1/campaigns/"+w.campaign+"/optimize/"+str(plan, "id")+"/apply", w.brand, `{"confirm":false}`)
		c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/optimize/"+str(plan, "id")+"/apply", w.brand, `{"confirm":true}`)
		c.fails(409, "plan_applied", "", "POST", "/v1/campaigns/"+w.campaign+"/optimize/"+str(plan, "id")+"/apply", w.brand, `{"confirm":true}`)
		// The cut creator's growth bills nothing from now on.
		cut := entries[2].(map[string]any)["handle"].(string)
		before, _, _ := w.earned(t, cut)
		w.grow(t, cut, `{"views":5000,"likes":100}`)
		w.tick(t, time.Minute)
		if after, _, _ := w.earned(t, cut); after != before {
			t.Errorf("cut creator %s earned %d → %d", cut, before, after)
		}
		// At the 14-day mark the job queue's tick makes the ranking once.
		autos := func() (n int) {
			for _, p := range c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/optimize", w.brand, "")["data"].([]any) {
				if p.(map[string]any)["auto"] == true {
					n++
					win, _ := p.(map[string]any)["window"].(map[string]any)
					if p.(map[string]any)["mark"] != "14d" || win["from"] != "2026-06-01" || win["to"] != "2026-06-14" {
						t.Errorf("automatic plan %v: want the 14d mark judged on June 1–14", p)
					}
				}
			}
			return n
		}
		w.tick(t, 13*24*time.Hour)
		if n := autos(); n != 0 {
			t.Fatalf("%d automatic plans before the mark", n)
		}
		w.tick(t, 24*time.Hour)
		w.tick(t, time.Hour)
		if n := autos(); n != 1 {
			t.Fatalf("%d automatic plans after the 14-day mark and two ticks, want 1", n)
		}
	})
}
