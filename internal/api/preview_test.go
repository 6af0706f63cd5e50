package api_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestPlanPreview (both stores): GET
// /v1/campaigns/{id}/optimize/{plan_id}/preview answers what the confirmed
// apply then does — the same plan and the same changes, old and new caps
// to the micro-unit — and changes nothing (the apply that follows still
// works); another brand gets 404, an applied plan 409 plan_applied.
func TestPlanPreview(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		ctx := context.Background()
		brand := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
		other := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Other"}`), "api_key")
		camp := str(must(t, h, 201, "POST", "/v1/campaigns", brand, `{"name":"Glow","budget":{"amount":"500","currency":"EUR"}}`), "id")
		must(t, h, 200, "PUT", "/v1/campaigns/"+camp+"/setup", brand, `{"goal":{"primary":"cpa","primary_target":"5"},
			"brief":{"product":"Glow serum","message":"Your routine","landing_url":"https://acme.example/glow"},
			"prices":{"view":"0.002","like":"0.02"},"creator_cap":"50.000001","ends_at":"2030-01-01T00:00:00Z","eligibility":{"platforms":["sandbox"]}}`)
		must(t, h, 201, "POST", "/v1/campaigns/"+camp+"/fund", brand, `{"payment":{"reference":"p1"}}`)
		must(t, h, 200, "POST", "/v1/campaigns/"+camp+"/open", brand, "")
		today := rollup.DayOf(time.Now().UnixMicro())
		var b rollup.Batch
		for i, name := range []string{"Mia", "Jon", "Ana"} {
			cr := str(must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"`+name+`"}`), "creator", "id")
			appID := id.New(id.Application)
			if _, err := a.DB.Writer().ExecContext(ctx, `INSERT INTO applications (id, campaign_id, creator_id, pitch, state, created_at, decided_at)
				VALUES ($1, $2, $3, 'me', 'pending', 1, 0)`, appID, camp, cr); err != nil {
				t.Fatal(err)
			}
			must(t, h, 200, "POST", "/v1/applications/"+appID+"/accept", brand, "")
			// CPA 2, 4 and 6 euros: Mia scales, Jon refreshes, Ana is cut.
			k := rollup.Key{Campaign: camp, Creator: cr, Day: today - 2}
			b.Add(k, rollup.EarnInteractions, int64(i+1)*4_000_000)
			b.Add(k, rollup.Conversions, 2)
		}
		if err := a.DB.WithTx(ctx, func(tx *store.Tx) error { return b.Flush(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		plan := str(must(t, h, 201, "POST", "/v1/campaigns/"+camp+"/optimize", brand, `{"mark":"14d"}`), "id")
		path := "/v1/campaigns/" + camp + "/optimize/" + plan
		decode := func(r answer) report.ApplyResult {
			t.Helper()
			var res report.ApplyResult
			if err := json.Unmarshal([]byte(r.Raw), &res); err != nil {
				t.Fatal(err)
			}
			return res
		}
		pr := call(t, h, "GET", path+"/preview", brand, "")
		if pr.Status != 200 {
			t.Fatalf("preview: %d %s", pr.Status, pr.Raw)
		}
		preview := decode(pr)
		if again := call(t, h, "GET", path+"/preview", brand, ""); again.Raw != pr.Raw {
			t.Errorf("a second preview differs:\n%s\n%s", pr.Raw, again.Raw)
		}
		if r := call(t, h, "GET", path+"/preview", other, ""); r.Status != 404 {
			t.Errorf("another brand's preview: %d %s", r.Status, r.Raw)
		}
		if r := call(t, h, "GET", "/v1/campaigns/"+camp+"/optimize/opt_nope/preview", brand, ""); r.Status != 404 {
			t.Errorf("an unknown plan's preview: %d %s", r.Status, r.Raw)
		}
		ar := call(t, h, "POST", path+"/apply", brand, `{"confirm":true}`)
		if ar.Status != 200 {
			t.Fatalf("apply after the preview: %d %s", ar.Status, ar.Raw)
		}
		applied := decode(ar)
		if applied.Plan.AppliedAt == 0 || preview.Plan.AppliedAt != 0 {
			t.Errorf("applied_at: preview %d, apply %d", preview.Plan.AppliedAt, applied.Plan.AppliedAt)
		}
		applied.Plan.AppliedAt = 0
		if !reflect.DeepEqual(preview, applied) {
			t.Errorf("preview %+v\napply   %+v", preview, applied)
		}
		// What the preview says is what matters: the top creator's cap
		// doubled to the micro-unit, one cut, one refreshed.
		var labels string
		for _, c := range preview.Changes {
			labels += c.Label[:1]
			if c.Label == report.LabelScale && (c.OldCap == nil || c.NewCap == nil || c.OldCap.Micros != 50_000_001 || c.NewCap.Micros != 100_000_002) {
				t.Errorf("scale change %+v", c)
			}
		}
		if labels != "src" {
			t.Errorf("labels %q in %s", labels, pr.Raw)
		}
		if r := call(t, h, "GET", path+"/preview", brand, ""); r.Status != 409 || r.errCode() != "plan_applied" {
			t.Errorf("preview of an applied plan: %d %s", r.Status, r.Raw)
		}
	})
}
