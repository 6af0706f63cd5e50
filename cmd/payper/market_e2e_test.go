package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/payper/payper/internal/store/storetest"
)

// TestCreatorsAndMarketplace drives a creator's connect flow through the
// sandbox the server serves (the browser's redirects included), then the
// marketplace: list, apply once, review, accept.
func TestCreatorsAndMarketplace(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		base := startServer(t, dbURL)
		c := client{t: t, base: base}
		brand := str(c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Acme"}`), "api_key")
		other := str(c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Other"}`), "api_key")
		rc := c.must(201, "POST", "/v1/creators", adminToken, `{"name":"Mia"}`)
		creatorID, mia := str(rc, "creator", "id"), str(rc, "api_key")
		jon := str(c.must(201, "POST", "/v1/creators", adminToken, `{"name":"Jon"}`), "api_key")

		// The profile: every bad field at once, then a good update.
		r := c.do("PATCH", "/v1/creators/"+creatorID+"/profile", mia, `{"name":"","country":"XX","niches":["ok","-no"]}`)
		if r.Status != 400 || len(r.Body["error"].(map[string]any)["fields"].([]any)) != 3 {
			t.Fatalf("bad profile: %d %s", r.Status, r.Raw)
		}
		c.fails(404, "not_found", "", "PATCH", "/v1/creators/"+creatorID+"/profile", jon, `{"city":"Paris"}`)
		c.fails(400, "unknown_field", "followers", "PATCH", "/v1/creators/"+creatorID+"/profile", mia, `{"followers":100000}`)
		p := c.must(200, "PATCH", "/v1/creators/"+creatorID+"/profile", mia, `{"country":"de","city":"Berlin","niches":["Beauty"]}`)
		if p["country"] != "DE" || p["city"] != "Berlin" || p["niches"].([]any)[0] != "beauty" {
			t.Fatalf("profile %v", p)
		}

		// The sandbox account with two posts: (100+20) and (30+10) engagements.
		c.must(201, "POST", "/sandbox/driver/accounts", adminToken, `{"handle":"mia","followers":4000}`)
		for _, counts := range []string{`{"likes":100,"comments":20,"views":5000}`, `{"likes":30,"saves":10}`} {
			post := c.must(201, "POST", "/sandbox/driver/accounts/mia/posts", adminToken, `{"caption":"serum","type":"reel"}`)
			c.must(200, "POST", "/sandbox/driver/posts/"+str(post, "id")+"/counts", adminToken, counts)
		}

		// Connect: start, follow the consent, land on the callback.
		c.fails(403, "forbidden", "", "POST", "/v1/creator/connections", brand, `{"platform":"sandbox"}`)
		c.fails(400, "unknown_platform", "platform", "POST", "/v1/creator/connections", mia, `{"platform":"myspace"}`)
		c.fails(400, "platform_unavailable", "platform", "POST", "/v1/creator/connections", mia, `{"platform":"tiktok"}`)
		conn := c.must(201, "POST", "/v1/creator/connections", mia, `{"platform":"sandbox","handle":"mia"}`)
		if str(conn, "redirect_uri") != base+"/v1/connect/callback" {
			t.Fatalf("connection %v", conn)
		}
		browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := browser.Get(str(conn, "authorize_url"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), base+"/v1/connect/callback?") {
			t.Fatalf("consent answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		acct := c.must(200, "GET", loc.RequestURI(), "", "")
		// (120 + 40) / (2 × 4000) = 0.02 → 20000 ppm
		if acct["followers"] != float64(4000) || acct["tier"] != "nano" || acct["engagement_rate_ppm"] != float64(20000) ||
			acct["engagement_rate_percent"] != "2.0000" || acct["status"] != "connected" {
			t.Fatalf("connected account %v", acct)
		}
		c.fails(400, "invalid_state", "state", "GET", loc.RequestURI(), "", "")
		accounts := c.must(200, "GET", "/v1/creator/accounts", mia, "")["data"].([]any)
		if len(accounts) != 1 {
			t.Fatalf("accounts %v", accounts)
		}
		c.must(200, "PUT", "/sandbox/driver/accounts/mia/followers", adminToken, `{"followers":12000}`)
		if a := c.must(200, "POST", "/v1/creator/accounts/"+str(acct, "id")+"/refresh", mia, ""); a["tier"] != "micro" {
			t.Fatalf("refreshed %v", a)
		}
		c.fails(404, "not_found", "", "POST", "/v1/creator/accounts/"+str(acct, "id")+"/refresh", jon, "")

		// An open campaign for DE beauty creators on the sandbox.
		camp := str(c.must(201, "POST", "/v1/campaigns", brand, `{"name":"Glow","budget":{"amount":"500","currency":"EUR"}}`), "id")
		c.must(200, "PUT", "/v1/campaigns/"+camp+"/setup", brand, `{"goal":{"primary":"roas","primary_target":"3"},
			"brief":{"product":"Glow serum","message":"Your routine","landing_url":"https://acme.example/glow"},
			"prices":{"view":"0.002","like":"0.02"},"max_creators":1,"ends_at":"2030-01-01T00:00:00Z",
			"eligibility":{"platforms":["sandbox"],"max_followers":50000,"countries":["DE"],"niches":["beauty"]}}`)
		c.must(201, "POST", "/v1/campaigns/"+camp+"/fund", brand, `{"payment":{"reference":"p1"}}`)
		c.must(200, "POST", "/v1/campaigns/"+camp+"/open", brand, "")

		list := c.must(200, "GET", "/v1/marketplace/campaigns?platform=sandbox&niche=beauty&min_price_view=0.002", mia, "")["data"].([]any)
		if len(list) != 1 {
			t.Fatalf("marketplace %v", list)
		}
		l := list[0].(map[string]any)
		if str(l, "campaign", "id") != camp || l["remaining_slots"] != float64(1) || str(l, "campaign", "setup", "prices", "view") != "0.002000" {
			t.Fatalf("listing %v", l)
		}
		if got := c.must(200, "GET", "/v1/marketplace/campaigns?min_price_view=0.0021", mia, "")["data"].([]any); len(got) != 0 {
			t.Fatalf("min_price_view above the price: %v", got)
		}
		c.fails(400, "invalid_amount", "min_price_view", "GET", "/v1/marketplace/campaigns?min_price_view=abc", mia, "")
		c.fails(403, "forbidden", "", "GET", "/v1/marketplace/campaigns", brand, "")

		// Apply once; Jon (no account, no country, no niche) is told everything he lacks.
		c.fails(400, "required", "pitch", "POST", "/v1/campaigns/"+camp+"/applications", mia, `{"pitch":""}`)
		app := c.must(201, "POST", "/v1/campaigns/"+camp+"/applications", mia, `{"pitch":"I film routines"}`)
		c.fails(409, "already_applied", "", "POST", "/v1/campaigns/"+camp+"/applications", mia, `{"pitch":"again"}`)
		r = c.do("POST", "/v1/campaigns/"+camp+"/applications", jon, `{"pitch":"hi"}`)
		if r.Status != 409 || len(r.Body["error"].(map[string]any)["fields"].([]any)) != 3 {
			t.Fatalf("ineligible apply: %d %s", r.Status, r.Raw)
		}

		// The brand reviews and accepts; another brand sees nothing.
		apps := c.must(200, "GET", "/v1/campaigns/"+camp+"/applications?state=pending", brand, "")["data"].([]any)
		if len(apps) != 1 {
			t.Fatalf("applications %v", apps)
		}
		rev := apps[0].(map[string]any)
		ra := rev["creator"].(map[string]any)["accounts"].([]any)[0].(map[string]any)
		if str(rev, "id") != str(app, "id") || ra["followers"] != float64(12000) || ra["tier"] != "micro" || ra["engagement_rate_ppm"] == nil {
			t.Fatalf("reviewed %v", rev)
		}
		c.fails(400, "invalid_state", "state", "GET", "/v1/campaigns/"+camp+"/applications?state=maybe", brand, "")
		c.fails(404, "not_found", "", "GET", "/v1/campaigns/"+camp+"/applications", other, "")
		c.fails(404, "not_found", "", "POST", "/v1/applications/"+str(app, "id")+"/accept", other, "")
		c.fails(404, "not_found", "", "POST", "/v1/applications/"+str(app, "id")+"/accept", mia, "")
		if a := c.must(200, "POST", "/v1/applications/"+str(app, "id")+"/accept", brand, ""); a["state"] != "accepted" || a["decided_at"] == nil {
			t.Fatalf("accepted %v", a)
		}
		c.fails(409, "already_decided", "", "POST", "/v1/applications/"+str(app, "id")+"/reject", brand, "")
		mine := c.must(200, "GET", "/v1/creator/applications", mia, "")["data"].([]any)
		if len(mine) != 1 || mine[0].(map[string]any)["state"] != "accepted" || mine[0].(map[string]any)["campaign_name"] != "Glow" {
			t.Fatalf("mia's applications %v", mine)
		}
	})
}
