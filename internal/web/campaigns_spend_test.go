package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// w1API calls the JSON API with a bearer key and checks the status.
func w1API(t *testing.T, base, key string, status int, method, path, body string) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("%s %s = %d; want %d: %s", method, path, res.StatusCode, status, raw)
	}
	m := map[string]any{}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func w1Str(m map[string]any, path ...string) string {
	var v any = m
	for _, k := range path {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

// The campaign list shows a running campaign's spent and remaining budget
// and its primary goal as GET …/money and …/report give them, to the
// micro-unit, after a creator's post was billed (sandbox platform, a real
// engagement tick), on both stores.
func TestCampaignListFiguresAfterSpend(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		a := webtest.NewApp(t, dbURL)
		ctx := context.Background()
		u := a.NewBrand(t, "Glow Labs", "ann@glow.example")
		nk, err := a.Identity.Issue(ctx, u.Principal(), "", "", "test")
		if err != nil {
			t.Fatal(err)
		}
		brand := func(status int, method, path, body string) map[string]any {
			t.Helper()
			return w1API(t, a.URL, nk.Secret, status, method, path, body)
		}
		admin := func(status int, method, path, body string) map[string]any {
			t.Helper()
			return w1API(t, a.URL, webtest.AdminToken, status, method, path, body)
		}
		id := w1Str(brand(201, "POST", "/v1/campaigns", `{"name":"Serum launch","budget":{"amount":"77.777777","currency":"EUR"}}`), "id")
		brand(200, "PUT", "/v1/campaigns/"+id+"/setup", fmt.Sprintf(`{"goal":{"primary":"revenue","primary_target":"500"},
			"brief":{"product":"Glow serum","message":"Morning routine","landing_url":"https://glow.example"},
			"prices":{"view":"0.001234","like":"0.051111"},"ends_at":%q,"eligibility":{"platforms":["sandbox"]}}`,
			a.Clock.Now().Add(30*24*time.Hour).Format(time.RFC3339)))
		brand(201, "POST", "/v1/campaigns/"+id+"/fund", `{"payment":{"reference":"w1-spend"}}`)
		brand(200, "POST", "/v1/campaigns/"+id+"/open", "")

		rc := admin(201, "POST", "/v1/creators", `{"name":"ana","country":"DE"}`)
		ckey := w1Str(rc, "api_key")
		admin(201, "POST", "/sandbox/driver/accounts", `{"handle":"ana","followers":3000}`)
		conn := w1API(t, a.URL, ckey, 201, "POST", "/v1/creator/connections", `{"platform":"sandbox","handle":"ana"}`)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := noFollow.Get(w1Str(conn, "authorize_url"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, err := url.Parse(res.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		w1API(t, a.URL, "", 200, "GET", loc.RequestURI(), "")
		w1API(t, a.URL, ckey, 201, "POST", "/v1/campaigns/"+id+"/applications", `{"pitch":"morning routines"}`)
		apps := brand(200, "GET", "/v1/campaigns/"+id+"/applications?state=pending", "")["data"].([]any)
		if len(apps) != 1 {
			t.Fatalf("%d applications", len(apps))
		}
		brand(200, "POST", "/v1/applications/"+w1Str(apps[0].(map[string]any), "id")+"/accept", "")
		a.Clock.Advance(time.Minute)
		media := admin(201, "POST", "/sandbox/driver/accounts/ana/posts", `{"caption":"Morning glow #ad","type":"reel"}`)
		w1API(t, a.URL, ckey, 201, "POST", "/v1/campaigns/"+id+"/posts", fmt.Sprintf(`{"platform":"sandbox","media":%q}`, w1Str(media, "id")))
		admin(200, "POST", "/sandbox/driver/posts/"+w1Str(media, "id")+"/counts", `{"views":1001,"likes":7}`)
		a.Clock.Advance(time.Minute)
		if r := admin(200, "POST", "/v1/admin/engagement/tick", ""); r["state"] != "completed" {
			t.Fatalf("tick: %v", r)
		}

		money := brand(200, "GET", "/v1/campaigns/"+id+"/money", "")
		if w1Str(money, "spent", "amount") == "0.000000" {
			t.Fatalf("nothing spent: %v", money)
		}
		ns, err := a.Accounts.Login(ctx, account.Login{Email: "ann@glow.example", Password: webtest.Password})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", a.URL+"/campaigns", nil)
		req.AddCookie(&http.Cookie{Name: account.CookieName, Value: ns.Token})
		res, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET /campaigns = %d", res.StatusCode)
		}
		row := regexp.MustCompile(`(?s)<tr id="c-` + id + `">.*?</tr>`).FindString(string(b))
		for _, k := range []string{"budget", "spent", "remaining"} {
			want := fmtAmount(w1Str(money, k, "amount"), w1Str(money, k, "currency"))
			if !strings.Contains(row, `class="num `+k+`">`+want+`<`) {
				t.Fatalf("the list's %s is not the API's %s:\n%s", k, want, row)
			}
		}
		rep := brand(200, "GET", "/v1/campaigns/"+id+"/report", "")
		goal := rep["goal"].([]any)[0].(map[string]any)
		if goal["metric"] != "revenue" || goal["value"] == "undefined" {
			t.Fatalf("goal %v", goal)
		}
		wantContains(t, row, "Revenue "+fmtAmount(goal["value"].(string), "EUR")+" ", "target "+fmtAmount(goal["target"].(string), "EUR")+", off target")
		t.Logf("list row: spent %s, remaining %s, goal %v", w1Str(money, "spent", "amount"), w1Str(money, "remaining", "amount"), goal)
	})
}
