package api_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/payper/payper/internal/id"

	"github.com/payper/payper/internal/store/storetest"
)

// TestAcceptedCreatorReadsCampaign checks that a creator whose application
// was accepted reads the campaign (name, brief, prices, dates) without the
// brand's money (budget, goal), and that pending, rejected and other
// creators still get 404, on both stores.
func TestAcceptedCreatorReadsCampaign(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		brand := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
		ids := map[string]string{}
		key := func(name string) string {
			c := must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"`+name+`"}`)
			ids[str(c, "api_key")] = str(c, "creator", "id")
			return str(c, "api_key")
		}
		accepted, pending, rejected, stranger := key("Mia"), key("Jon"), key("Ana"), key("Bo")
		camp := str(must(t, h, 201, "POST", "/v1/campaigns", brand, `{"name":"Glow","budget":{"amount":"500","currency":"EUR"}}`), "id")
		must(t, h, 200, "PUT", "/v1/campaigns/"+camp+"/setup", brand, `{"goal":{"primary":"roas","primary_target":"3"},
			"brief":{"product":"Glow serum","message":"Your routine","landing_url":"https://acme.example/glow"},
			"prices":{"view":"0.002","like":"0.02"},"ends_at":"2030-01-01T00:00:00Z","eligibility":{"platforms":["sandbox"]}}`)
		must(t, h, 201, "POST", "/v1/campaigns/"+camp+"/fund", brand, `{"payment":{"reference":"p1"}}`)
		must(t, h, 200, "POST", "/v1/campaigns/"+camp+"/open", brand, "")
		// Applying needs a connected account; the applications are
		// written as Apply writes them, and decided through the API.
		apply := func(k string) string {
			appID := id.New(id.Application)
			if _, err := a.DB.Writer().ExecContext(context.Background(), `INSERT INTO applications (id, campaign_id, creator_id, pitch, state, created_at, decided_at)
				VALUES ($1, $2, $3, 'me', 'pending', 1, 0)`, appID, camp, ids[k]); err != nil {
				t.Fatal(err)
			}
			return appID
		}
		must(t, h, 200, "POST", "/v1/applications/"+apply(accepted)+"/accept", brand, "")
		must(t, h, 200, "POST", "/v1/applications/"+apply(rejected)+"/reject", brand, "")
		apply(pending)

		got := must(t, h, 200, "GET", "/v1/campaigns/"+camp, accepted, "")
		if got["id"] != camp || got["name"] != "Glow" || str(got, "setup", "brief", "product") != "Glow serum" ||
			str(got, "setup", "prices", "view") != "0.002000" || str(got, "setup", "ends_at") != "2030-01-01T00:00:00Z" {
			t.Fatalf("accepted creator reads %v", got)
		}
		if got["budget"] != nil || got["setup"].(map[string]any)["goal"] != nil || got["warnings"] != nil {
			t.Fatalf("accepted creator sees the brand's money or goal: %v", got)
		}
		for name, k := range map[string]string{"pending": pending, "rejected": rejected, "stranger": stranger} {
			if r := call(t, h, "GET", "/v1/campaigns/"+camp, k, ""); r.Status != 404 || r.errCode() != "not_found" {
				t.Fatalf("%s creator: %d %s", name, r.Status, r.Raw)
			}
		}
		// The brand still reads its whole campaign.
		if b := must(t, h, 200, "GET", "/v1/campaigns/"+camp, brand, ""); str(b, "budget", "amount") != "500.000000" {
			t.Fatalf("brand reads %v", b)
		}
	})
}

// TestOverBudgetFundingIsAConflict checks that funding beyond the budget
// answers 409 exceeds_budget (field amount) like funding a fully funded
// campaign answers 409 fully_funded, and moves no money, on both stores.
func TestOverBudgetFundingIsAConflict(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		brand := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
		camp := str(must(t, h, 201, "POST", "/v1/campaigns", brand, `{"name":"Glow","budget":{"amount":"500","currency":"EUR"}}`), "id")
		funded := func() string {
			return str(must(t, h, 200, "GET", "/v1/campaigns/"+camp+"/money", brand, ""), "funded", "amount")
		}
		conflict := func(code, field, body string) {
			t.Helper()
			r := call(t, h, "POST", "/v1/campaigns/"+camp+"/fund", brand, body)
			if r.Status != 409 || r.errCode() != code || r.errField() != field {
				t.Fatalf("fund %s: %d %s, want 409 %s %s", body, r.Status, r.Raw, code, field)
			}
		}
		conflict("exceeds_budget", "amount", `{"amount":{"amount":"500.000001","currency":"EUR"},"payment":{"reference":"r0"}}`)
		if f := funded(); f != "0.000000" {
			t.Fatalf("funded %s after a refused funding", f)
		}
		must(t, h, 201, "POST", "/v1/campaigns/"+camp+"/fund", brand, `{"amount":{"amount":"300","currency":"EUR"},"payment":{"reference":"r1"}}`)
		conflict("exceeds_budget", "amount", `{"amount":{"amount":"200.000001","currency":"EUR"},"payment":{"reference":"r2"}}`)
		if f := funded(); f != "300.000000" {
			t.Fatalf("funded %s, want 300.000000", f)
		}
		must(t, h, 201, "POST", "/v1/campaigns/"+camp+"/fund", brand, `{"payment":{"reference":"r3"}}`)
		conflict("fully_funded", "", `{"payment":{"reference":"r4"}}`)
		conflict("exceeds_budget", "amount", `{"amount":{"amount":"0.000001","currency":"EUR"},"payment":{"reference":"r5"}}`)
		if f := funded(); f != "500.000000" {
			t.Fatalf("funded %s, want 500.000000", f)
		}
	})
}

// TestConcurrentFundingStopsAtTheBudget funds a 500 EUR budget with ten
// concurrent 100 EUR payments on both stores: exactly five succeed, the
// other five answer 409 exceeds_budget naming amount, and the escrow holds
// 500.000000 EUR to the micro-unit.
func TestConcurrentFundingStopsAtTheBudget(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		brand := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
		camp := str(must(t, h, 201, "POST", "/v1/campaigns", brand, `{"name":"Glow","budget":{"amount":"500","currency":"EUR"}}`), "id")
		const n = 10
		res := make(chan answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res <- call(t, h, "POST", "/v1/campaigns/"+camp+"/fund", brand,
					`{"amount":{"amount":"100","currency":"EUR"},"payment":{"reference":"c`+strconv.Itoa(i)+`"}}`)
			}()
		}
		wg.Wait()
		close(res)
		ok, refused := 0, 0
		for r := range res {
			switch {
			case r.Status == 201:
				ok++
			case r.Status == 409 && r.errCode() == "exceeds_budget" && r.errField() == "amount":
				refused++
			default:
				t.Errorf("concurrent funding: %d %s", r.Status, r.Raw)
			}
		}
		if ok != 5 || refused != 5 {
			t.Fatalf("%d funded and %d refused, want 5 and 5", ok, refused)
		}
		m := must(t, h, 200, "GET", "/v1/campaigns/"+camp+"/money", brand, "")
		if str(m, "funded", "amount") != "500.000000" || m["state"] != "funded" {
			t.Fatalf("money after concurrent funding: %v", m)
		}
	})
}
