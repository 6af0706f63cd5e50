package web_test

import (
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/store/storetest"
)

// The tracking step's ad permissions and UTM defaults: a bad day count
// (and a bad utm_source) is shown beside its field with nothing saved; a
// good one is stored with the whole setup and equals what the API's
// GET /v1/campaigns/{id} shows.
func TestWizardTrackingAdPermissionsAndUTMs(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		e := newCoreEnv(t, dbURL)
		c := e.client(t)
		c.signupBrand("Acme Coffee", "ann@acme.example")
		res, body := c.post("/campaigns/new", url.Values{"name": {"Summer Glow 2026"}, "budget.amount": {"1000"}, "budget.currency": {"EUR"}})
		wantStatus(t, res, body, 303)
		m := regexp.MustCompile(`^/campaigns/([^/]+)/setup/goal$`).FindStringSubmatch(res.Header.Get("Location"))
		if m == nil {
			t.Fatalf("new campaign goes to %q", res.Header.Get("Location"))
		}
		id := m[1]
		step := func(s string) string { return "/campaigns/" + id + "/setup/" + s }
		ends := e.clk.Now().Add(30 * 24 * time.Hour).UTC().Format("2006-01-02")
		res, body = c.post(step("goal"), url.Values{"goal.primary": {"roas"}, "goal.primary_target": {"3"}, "ends_at": {ends}})
		wantRedirect(t, res, body, step("model"))
		res, body = c.post(step("model"), url.Values{"prices.view": {"0.002"}, "prices.like": {"0.05"}, "prices.comment": {"0.25"}})
		wantRedirect(t, res, body, step("tier"))
		res, body = c.post(step("tier"), url.Values{"eligibility.platforms": {"sandbox"}, "eligibility.min_followers": {"1000"},
			"eligibility.max_followers": {"100000"}})
		wantRedirect(t, res, body, step("tracking"))

		// The step shows the default utm_campaign: the name's slug.
		res, body = c.get(step("tracking"))
		wantStatus(t, res, body, 200)
		wantContains(t, body, `id="f-performance.ad_permissions.whitelisting"`, `id="f-performance.ad_permissions.days"`,
			"Empty: summer-glow-2026")

		// Whitelisting asked without days, then with 400 days, and a bad
		// utm_source: refused beside their fields, nothing saved.
		res, body = c.post(step("tracking"), url.Values{"performance.ad_permissions.whitelisting": {"on"}})
		wantStatus(t, res, body, 400)
		wantFieldError(t, body, "performance.ad_permissions.days", "how many days")
		res, body = c.post(step("tracking"), url.Values{"performance.ad_permissions.dark_posts": {"on"},
			"performance.ad_permissions.days": {"400"}, "performance.utm_source": {"ig {HANDLE}"}})
		wantStatus(t, res, body, 400)
		wantFieldError(t, body, "performance.ad_permissions.days", "1 to 365")
		wantFieldError(t, body, "performance.utm_source", "lower-case")
		wantContains(t, body, `value="400"`)
		if _, d := e.draft(t, id); d.Setup.Performance.AdPermissions != (campaign.AdPermissions{}) || d.Setup.Performance.UTMSource != "" ||
			len(d.Steps) != 3 {
			t.Fatalf("a refused tracking step saved %+v, steps %v", d.Setup.Performance, d.Steps)
		}

		// Good: stored, and the brief stores the whole setup.
		res, body = c.post(step("tracking"), url.Values{"performance.ad_permissions.whitelisting": {"on"},
			"performance.ad_permissions.dark_posts": {"on"}, "performance.ad_permissions.days": {"90"},
			"performance.utm_campaign": {"Summer-26"}, "performance.utm_source": {"IG-{handle}"}})
		wantRedirect(t, res, body, step("brief"))
		res, body = c.post(step("brief"), url.Values{"brief.product": {"Cold brew"}, "brief.message": {"Summer mornings"},
			"brief.landing_url": {"https://shop.example.com/cold-brew"}})
		wantRedirect(t, res, body, step("fund"))
		camp, d := e.draft(t, id)
		if camp.Setup == nil || d.Pending {
			t.Fatalf("the whole setup was not stored: setup %v, pending %v", camp.Setup, d.Pending)
		}
		pf := camp.Setup.Performance
		if pf.AdPermissions != (campaign.AdPermissions{Whitelisting: true, DarkPosts: true, Days: 90}) ||
			pf.UTMCampaign != "summer-26" || pf.UTMSource != "ig-{HANDLE}" {
			t.Fatalf("tracking stored as %+v", pf)
		}
		api := e.apiGet(t, e.brandKey(t, id), "/v1/campaigns/"+id)
		perf, _ := api["setup"].(map[string]any)["performance"].(map[string]any)
		ap, _ := perf["ad_permissions"].(map[string]any)
		if ap["whitelisting"] != true || ap["dark_posts"] != true || ap["days"] != float64(90) ||
			perf["utm_campaign"] != "summer-26" || perf["utm_source"] != "ig-{HANDLE}" {
			t.Fatalf("the API shows performance %v", perf)
		}

		// The step shows what is stored.
		res, body = c.get(step("tracking"))
		wantStatus(t, res, body, 200)
		wantContains(t, body, `value="90"`, `value="summer-26"`, `value="ig-{HANDLE}"`)
		if !regexp.MustCompile(`id="f-performance.ad_permissions.dark_posts"[^>]* checked`).MatchString(body) {
			t.Fatal("dark posts not shown checked")
		}
	})
}
