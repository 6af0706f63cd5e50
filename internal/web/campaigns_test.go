package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store/storetest"
)

// apiGet reads the API's JSON at path with key.
func (e *coreEnv) apiGet(t *testing.T, key, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s = %d: %s", path, res.StatusCode, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// amountOf is an amount of the API's JSON ({"amount":"1.000000","currency":"EUR"}) at key.
func amountOf(t *testing.T, m map[string]any, key string) (string, string) {
	t.Helper()
	a, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("no amount %q in %v", key, m)
	}
	return a["amount"].(string), a["currency"].(string)
}

// brandKey issues an API key for the brand of campaign id.
func (e *coreEnv) brandKey(t *testing.T, campaignID string) string {
	t.Helper()
	c, err := e.a.Campaigns.Get(e.ctx, identity.Principal{Role: identity.RoleAdmin}, campaignID)
	if err != nil {
		t.Fatal(err)
	}
	nk, err := e.a.Identity.Issue(e.ctx, identity.Principal{Role: identity.RoleBrand, SubjectID: c.BrandID}, "", "", "test")
	if err != nil {
		t.Fatal(err)
	}
	return nk.Secret
}

func (e *coreEnv) draft(t *testing.T, id string) (campaign.Campaign, campaign.SetupDraft) {
	t.Helper()
	c, d, err := e.a.Campaigns.SetupDraft(e.ctx, identity.Principal{Role: identity.RoleAdmin}, id)
	if err != nil {
		t.Fatal(err)
	}
	return c, d
}

var idInPath = regexp.MustCompile(`^/campaigns/([^/]+)/setup/goal$`)

// wantFieldError checks that the page shows msgPart as the error of input name, beside it.
func wantFieldError(t *testing.T, body, name, msgPart string) {
	t.Helper()
	re := regexp.MustCompile(`(?s)id="f-` + regexp.QuoteMeta(name) + `"[^>]*aria-invalid="true".{0,400}?<p class="field-error" id="f-` + regexp.QuoteMeta(name) + `-error">([^<]*)</p>`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no error shown beside %s:\n%s", name, body)
	}
	if !strings.Contains(m[1], msgPart) {
		t.Fatalf("error beside %s is %q; want it to mention %q", name, m[1], msgPart)
	}
}

// The wizard from a new brand's empty list to an open campaign: the draft
// refused with every bad field beside its input and nothing made, each
// setup step saving its part (a bad price refused beside its field with
// nothing saved), the whole setup stored as the API's PUT …/setup would,
// fund and open changing the state as the API does, the list's figures
// equal to the API's to the micro-unit, pause / resume / end / close with
// the refund shown before and after, another brand's campaign a 404, and a
// campaign named <script>alert(1)</script> escaped.
func TestWizardToOpenAndClose(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		e := newCoreEnv(t, dbURL)
		c := e.client(t)
		c.signupBrand("Acme Coffee", "ann@acme.example")

		res, body := c.get("/campaigns")
		wantStatus(t, res, body, 200)
		wantContains(t, body, "No campaigns yet", `href="/campaigns/new"`)
		res, body = c.get("/campaigns/new")
		wantStatus(t, res, body, 200)
		wantContains(t, body, `<label for="f-name">`, `name="budget.amount"`)

		// A draft with every field bad makes nothing.
		res, body = c.post("/campaigns/new", url.Values{"name": {" "}, "budget.amount": {"12.3456789"}, "budget.currency": {"XXX"}})
		wantStatus(t, res, body, 400)
		wantFieldError(t, body, "name", "required")
		wantFieldError(t, body, "budget.amount", "decimal")
		wantContains(t, body, `id="f-budget.currency-error"`)
		if cs, _ := e.a.Campaigns.List(e.ctx, identity.Principal{Role: identity.RoleAdmin}, "", 10); len(cs) != 0 {
			t.Fatalf("a refused draft made %d campaigns", len(cs))
		}

		name := "<script>alert(1)</script>"
		res, body = c.post("/campaigns/new", url.Values{"name": {name}, "budget.amount": {"1234.567891"}, "budget.currency": {"EUR"}})
		wantStatus(t, res, body, 303)
		m := idInPath.FindStringSubmatch(res.Header.Get("Location"))
		if m == nil {
			t.Fatalf("new campaign goes to %q", res.Header.Get("Location"))
		}
		id := m[1]
		step := func(s string) string { return "/campaigns/" + id + "/setup/" + s }
		res, body = c.get(step("goal"))
		wantStatus(t, res, body, 200)
		if strings.Contains(body, name) {
			t.Fatal("the campaign's name is not escaped on the goal step")
		}
		wantContains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;", `aria-current="step"`)

		// goal
		ends := e.clk.Now().Add(30 * 24 * time.Hour).UTC().Format("2006-01-02")
		res, body = c.post(step("goal"), url.Values{"goal.primary": {"roas"}, "goal.primary_target": {"3.5"}, "goal.secondary": {"cpe"},
			"goal.secondary_target": {"0.05"}, "ends_at": {ends}})
		wantRedirect(t, res, body, step("model"))
		_, d := e.draft(t, id)
		if g := d.Setup.Goal; g.Primary != campaign.MetricROAS || g.PrimaryTarget != 3_500_000 || g.Secondary != campaign.MetricCPE || g.SecondaryTarget != 50_000 {
			t.Fatalf("goal saved as %+v", g)
		}
		if got := d.Setup.EndsAt.Format(time.RFC3339); got != ends+"T23:59:59Z" {
			t.Fatalf("ends_at saved as %s", got)
		}

		// model: a negative price and a price with seven decimals are
		// refused beside their fields, and nothing of the step is saved.
		res, body = c.post(step("model"), url.Values{"prices.view": {"0.002"}, "prices.like": {"-0.05"}, "prices.comment": {"0.0000001"}})
		wantStatus(t, res, body, 400)
		wantFieldError(t, body, "prices.comment", "decimal")
		res, body = c.post(step("model"), url.Values{"prices.view": {"0.002"}, "prices.like": {"-0.05"}, "max_creators": {"lots"}})
		wantStatus(t, res, body, 400)
		wantFieldError(t, body, "prices.like", "negative")
		wantContains(t, body, "Nothing was saved", `value="0.002"`)
		_, d = e.draft(t, id)
		if d.Setup.Prices != (campaign.Prices{}) || len(d.Steps) != 1 {
			t.Fatalf("a refused model step saved prices %+v, steps %v", d.Setup.Prices, d.Steps)
		}
		// Only likes priced: saved, with the advisor's warning shown.
		res, body = c.post(step("model"), url.Values{"prices.like": {"0.05"}, "performance.commission_bps": {"12.5"}, "creator_cap": {"100"}})
		wantRedirect(t, res, body, step("tier"))
		res, body = c.get(step("model"))
		wantContains(t, body, `id="f-prices-warning"`, `value="12.5"`)
		// The advice as typed (static/wizard.js): the same advisor, nothing saved.
		res, body = c.get(step("model") + "/advice?prices.like=0.05&prices.view=")
		wantStatus(t, res, body, 200)
		wantContains(t, body, `"prices":"only likes are priced`)
		res, body = c.get(step("model") + "/advice?prices.like=0.05&prices.view=0.002")
		wantStatus(t, res, body, 200)
		if strings.Contains(body, `"prices":`) || !strings.Contains(body, `"advice":{`) {
			t.Fatalf("advice with views and likes priced: %s", body)
		}
		res, body = c.post(step("model"), url.Values{"prices.view": {"0.002"}, "prices.like": {"0.05"}, "prices.comment": {"0.25"},
			"performance.commission_bps": {"12.5"}, "creator_cap": {"100"}, "max_creators": {"20"}})
		wantRedirect(t, res, body, step("tier"))
		_, d = e.draft(t, id)
		if p := d.Setup.Prices; p.View != 2000 || p.Like != 50_000 || p.Comment != 250_000 || d.Setup.CreatorCap != 100_000_000 ||
			d.Setup.MaxCreators != 20 || d.Setup.Performance.CommissionBps != 1250 {
			t.Fatalf("model saved as %+v", d.Setup)
		}

		// tier
		res, body = c.post(step("tier"), url.Values{"eligibility.platforms": {"sandbox", "instagram"}, "eligibility.min_followers": {"1000"},
			"eligibility.max_followers": {"100000"}, "eligibility.countries": {"de, AT"}})
		wantRedirect(t, res, body, step("tracking"))
		res, body = c.post(step("tracking"), url.Values{"performance.code_pattern": {"glow"}, "performance.attribution_window_days": {"14"}})
		wantStatus(t, res, body, 400)
		wantFieldError(t, body, "performance.code_pattern", "HANDLE")
		res, body = c.post(step("tracking"), url.Values{"performance.code_pattern": {"GLOW-{HANDLE}"}, "performance.code_percent_bps": {"15"},
			"performance.attribution_window_days": {"14"}})
		wantRedirect(t, res, body, step("brief"))
		if _, d = e.draft(t, id); d.Setup.Performance.CodePattern != "GLOW-{HANDLE}" || d.Setup.Performance.CodePercentBps != 1500 ||
			d.Setup.Performance.AttributionWindowDays != 14 || len(d.Setup.Eligibility.Countries) != 2 {
			t.Fatalf("tier and tracking saved as %+v", d.Setup)
		}

		// brief: an http landing page is refused; then the whole setup is stored.
		brief := url.Values{"brief.product": {"Cold brew\nin cans"}, "brief.message": {"Summer mornings"}, "brief.required_hashtags": {"coldbrew #Summer"},
			"brief.landing_url": {"http://shop.example.com"}, "brief.post_types.instagram": {"reel"}, "brief.non_negotiable": {"hashtags"},
			"content_approval": {"on"}}
		res, body = c.post(step("brief"), brief)
		wantStatus(t, res, body, 400)
		wantFieldError(t, body, "brief.landing_url", "https")
		if camp, _ := e.draft(t, id); camp.Setup != nil {
			t.Fatal("a setup was stored before the brief was accepted")
		}
		brief.Set("brief.landing_url", "https://shop.example.com/cold-brew")
		res, body = c.post(step("brief"), brief)
		wantRedirect(t, res, body, step("fund"))
		camp, d := e.draft(t, id)
		if camp.Setup == nil || d.Pending {
			t.Fatalf("the whole setup was not stored: setup %v, draft pending %v", camp.Setup, d.Pending)
		}
		b := camp.Setup.Brief
		if b.Product != "Cold brew\nin cans" || strings.Join(b.RequiredHashtags, " ") != "#coldbrew #summer" || !camp.Setup.ContentApproval ||
			strings.Join(b.PostTypes["instagram"], ",") != "reel" || camp.Setup.Prices.Comment != 250_000 {
			t.Fatalf("setup stored as %+v", camp.Setup)
		}
		key := e.brandKey(t, id)
		api := e.apiGet(t, key, "/v1/campaigns/"+id)
		if api["setup"].(map[string]any)["prices"].(map[string]any)["comment"] != "0.250000" {
			t.Fatalf("the API shows the setup as %v", api["setup"])
		}

		// Coming back to a step of a stored setup updates the setup at once.
		res, body = c.post(step("goal"), url.Values{"goal.primary": {"roas"}, "goal.primary_target": {"4"}, "ends_at": {ends}})
		wantRedirect(t, res, body, step("model"))
		if camp, d = e.draft(t, id); d.Pending || camp.Setup.Goal.PrimaryTarget != 4_000_000 || camp.Setup.Goal.Secondary != "" ||
			camp.Setup.Prices.Comment != 250_000 {
			t.Fatalf("after changing the goal of a stored setup: pending %v, setup %+v", d.Pending, camp.Setup)
		}
		res, body = c.post(step("goal"), url.Values{"goal.primary": {"roas"}, "goal.primary_target": {"3.5"}, "ends_at": {ends}})
		wantRedirect(t, res, body, step("model"))

		// A tier change the stored brief no longer fits: the tier is kept
		// in the draft, the setup is not changed, and the brief step shows why.
		res, body = c.post(step("tier"), url.Values{"eligibility.platforms": {"sandbox"}, "eligibility.min_followers": {"1000"},
			"eligibility.max_followers": {"100000"}, "eligibility.countries": {"DE, AT"}})
		wantRedirect(t, res, body, step("brief"))
		if camp, d = e.draft(t, id); !d.Pending || len(camp.Setup.Eligibility.Platforms) != 2 || len(d.Setup.Eligibility.Platforms) != 1 {
			t.Fatalf("after a tier the brief does not fit: pending %v, stored %v, draft %v", d.Pending, camp.Setup.Eligibility.Platforms, d.Setup.Eligibility.Platforms)
		}
		res, body = c.get(step("brief"))
		wantContains(t, body, "brief step needs another look", `<p class="field-error" id="f-brief.post_types-error">`, "instagram")
		brief.Del("brief.post_types.instagram")
		res, body = c.post(step("brief"), brief)
		wantRedirect(t, res, body, step("fund"))
		if camp, d = e.draft(t, id); d.Pending || len(camp.Setup.Eligibility.Platforms) != 1 || camp.Setup.Brief.PostTypes != nil {
			t.Fatalf("after fixing the brief: pending %v, setup %+v", d.Pending, camp.Setup)
		}

		// Another brand sees none of it.
		o := e.client(t)
		o.signupBrand("Other Brand", "olga@other.example")
		for _, p := range []string{step("goal"), step("fund"), step("open"), "/campaigns/" + id + "/close", step("model") + "/advice?prices.like=1"} {
			res, body = o.get(p)
			wantStatus(t, res, body, 404)
		}
		for _, p := range []string{step("model"), "/campaigns/" + id + "/fund", "/campaigns/" + id + "/open", "/campaigns/" + id + "/close"} {
			res, body = o.post(p, url.Values{"prices.view": {"1"}, "amount": {"1"}, "currency": {"EUR"}, "reference": {"x"}})
			wantStatus(t, res, body, 404)
		}
		_, body = o.get("/campaigns")
		if strings.Contains(body, id) {
			t.Fatal("another brand's list shows the campaign")
		}

		// fund: a bad amount beside its field, then part, then the rest.
		res, body = c.get(step("fund"))
		wantStatus(t, res, body, 200)
		wantContains(t, body, `value="1234.567891"`)
		res, body = c.post("/campaigns/"+id+"/fund", url.Values{"amount": {"10"}, "currency": {"USD"}, "reference": {"r0"}})
		wantStatus(t, res, body, 400)
		wantFieldError(t, body, "currency", "EUR")
		res, body = c.post("/campaigns/"+id+"/fund", url.Values{"amount": {"5000"}, "currency": {"EUR"}, "reference": {"r1"}})
		wantStatus(t, res, body, 409)
		wantFieldError(t, body, "amount", "budget")
		res, body = c.post("/campaigns/"+id+"/fund", url.Values{"amount": {"1000.000001"}, "currency": {"EUR"}, "reference": {"r1"}})
		wantRedirect(t, res, body, step("fund"))
		res, body = c.post("/campaigns/"+id+"/fund", url.Values{"amount": {""}, "currency": {"EUR"}, "reference": {"r2"}})
		wantRedirect(t, res, body, step("open"))
		money := e.apiGet(t, key, "/v1/campaigns/"+id+"/money")
		if money["state"] != "funded" {
			t.Fatalf("state after funding: %v", money["state"])
		}
		if a, _ := amountOf(t, money, "funded"); a != "1234.567891" {
			t.Fatalf("funded %s", a)
		}

		// open, as the API's POST …/open.
		res, body = c.post("/campaigns/"+id+"/open", nil)
		wantRedirect(t, res, body, step("open"))
		if st := e.apiGet(t, key, "/v1/campaigns/"+id)["state"]; st != "open" {
			t.Fatalf("state after open: %v", st)
		}
		_, body = c.get(step("open"))
		wantContains(t, body, "The campaign is open", `action="/campaigns/`+id+`/pause"`)

		// The list: the API's figures, to the micro-unit.
		res, body = c.get("/campaigns")
		wantStatus(t, res, body, 200)
		if strings.Contains(body, name) {
			t.Fatal("the campaign's name is not escaped in the list")
		}
		money = e.apiGet(t, key, "/v1/campaigns/"+id+"/money")
		row := regexp.MustCompile(`(?s)<tr id="c-` + id + `">.*?</tr>`).FindString(body)
		for _, k := range []string{"budget", "spent", "remaining"} {
			a, cur := amountOf(t, money, k)
			want := fmtAmount(a, cur)
			if !strings.Contains(row, `class="num `+k+`">`+want+`<`) {
				t.Fatalf("the list's %s is not the API's %s %s (%s):\n%s", k, a, cur, want, row)
			}
		}
		rep := e.apiGet(t, key, "/v1/campaigns/"+id+"/report")
		goal := rep["goal"].([]any)[0].(map[string]any)
		wantContains(t, row, "ROAS", "target 3.50×")
		if goal["value"] == "undefined" {
			wantContains(t, row, "no results yet")
		} else {
			// the dashboard's text for the same figure (a zero ROAS is "0.00×", not a bare "×")
			whole, frac, _ := strings.Cut(goal["value"].(string), ".")
			wantContains(t, row, "ROAS "+whole+"."+(frac + "00")[:2]+"× ")
		}

		// pause, resume, end, close with the refund before and after.
		for _, a := range []string{"pause", "resume", "complete"} {
			res, body = c.post("/campaigns/"+id+"/"+a, nil)
			wantRedirect(t, res, body, step("open"))
		}
		res, body = c.post("/campaigns/"+id+"/resume", nil) // completed: refused, with the reason
		wantRedirect(t, res, body, step("open"))
		_, body = c.get(step("open"))
		wantContains(t, body, "Not done:", "completed")
		money = e.apiGet(t, key, "/v1/campaigns/"+id+"/money")
		rem, cur := amountOf(t, money, "remaining")
		res, body = c.get("/campaigns/" + id + "/close")
		wantStatus(t, res, body, 200)
		wantContains(t, body, `<dd id="to-refund">`+fmtAmount(rem, cur)+`</dd>`)
		res, body = c.post("/campaigns/"+id+"/close", nil)
		wantRedirect(t, res, body, "/campaigns/"+id+"/close")
		_, body = c.get("/campaigns/" + id + "/close")
		money = e.apiGet(t, key, "/v1/campaigns/"+id+"/money")
		ref, _ := amountOf(t, money, "refunded")
		if ref != rem || money["state"] != "closed" {
			t.Fatalf("closed: refunded %s, state %v; want %s refunded", ref, money["state"], rem)
		}
		wantContains(t, body, "Refunded "+fmtAmount(ref, cur)+" to you", `<dd id="refunded">`+fmtAmount(ref, cur)+`</dd>`)
		// A closed campaign's setup no longer changes.
		res, body = c.post(step("goal"), url.Values{"goal.primary": {"cpa"}})
		wantStatus(t, res, body, 409)
	})
}

// fmtAmount writes an API amount ("1234.567891", "EUR") as the pages do:
// "1,234.567891 EUR", at least two decimals.
func fmtAmount(a, cur string) string {
	whole, frac, _ := strings.Cut(a, ".")
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s.%s %s", b.String(), frac, cur)
}
