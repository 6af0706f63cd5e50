package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// secKeyLabels lists the labels of the API keys a user's principal holds.
func secKeyLabels(t *testing.T, a *webtest.App, p identity.Principal) []string {
	t.Helper()
	keys, err := a.Identity.Keys(context.Background(), p, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		out = append(out, k.Label)
	}
	return out
}

// A form on another origin that posts to payper is refused, although the
// browser sends the session cookie with it (127.0.0.1 on another port is
// the same site, so SameSite=Lax lets it through: the cross-origin check is
// what stops it); the same form on payper's own page works. A browser-less
// client that says it comes from another origin is refused too. Nothing is
// created by a refused post.
func TestBrowserCrossOriginPostRefused(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		a := webtest.NewApp(t, dbURL)
		b := webtest.Start(t)
		u := a.SignedInBrand(t, b, "Acme", "owner@acme.example")

		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Win</title></head><body><main>
<form method="post" action="%s/settings/keys"><input type="hidden" name="label" value="planted by evil"><button type="submit">Claim your prize</button></form>
</main></body></html>`, html.EscapeString(a.URL))
		}))
		t.Cleanup(evil.Close)
		b.Visit(t, evil.URL)
		if st := b.Submit(t, "button"); st != http.StatusForbidden {
			t.Fatalf("a cross-origin form post answered %d; want 403", st)
		}
		if l := secKeyLabels(t, a, u.Principal()); slices.Contains(l, "planted by evil") {
			t.Fatalf("the cross-origin post created a key: %v", l)
		}

		// The same post from payper's own page goes through: the session was
		// good, only the origin was wrong.
		b.Visit(t, "/settings/keys")
		b.Fill(t, "#f-label", "mine")
		if st := b.Submit(t, `form[action="/settings/keys"] button[type=submit]`); st != http.StatusCreated {
			t.Fatalf("the same-origin post answered %d; want 201", st)
		}
		if l := secKeyLabels(t, a, u.Principal()); !slices.Contains(l, "mine") || len(l) != 1 {
			t.Fatalf("keys after the same-origin post: %v; want only \"mine\"", l)
		}

		// A browser-less client with a good session but a foreign Origin,
		// or a browser's cross-site fetch metadata, is refused.
		ns, err := a.Accounts.Login(context.Background(), account.Login{Email: "owner@acme.example", Password: webtest.Password, Address: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range []map[string]string{{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}} {
			req, err := http.NewRequest("POST", a.URL+"/settings/keys", strings.NewReader(url.Values{"label": {"planted by a script"}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: account.CookieName, Value: ns.Token})
			for k, v := range h {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("POST /settings/keys with %v answered %d; want 403", h, resp.StatusCode)
			}
		}
		if l := secKeyLabels(t, a, u.Principal()); len(l) != 1 {
			t.Fatalf("keys after refused posts: %v; want only \"mine\"", l)
		}
	})
}

// secScriptName is a name a brand may well choose; every page must show it as
// text.
const secScriptName = `<script>alert(1)</script>`

// A brand and a campaign named <script>alert(1)</script> show as that text
// in a real browser, and no script runs (the harness fails the test on any
// dialog).
func TestBrowserScriptNamesShowAsText(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		a := webtest.NewApp(t, dbURL)
		b := webtest.Start(t)
		u := a.SignedInBrand(t, b, secScriptName, "xss@acme.example")
		key, err := a.Identity.Issue(context.Background(), u.Principal(), "", "", "xss")
		if err != nil {
			t.Fatal(err)
		}
		api := walkAPI{t: t, base: a.URL, key: key.Secret}
		camp := api.must(201, "POST", "/v1/campaigns", fmt.Sprintf(`{"name":%q,"budget":{"amount":"100","currency":"EUR"}}`, secScriptName))
		id := walkStr(camp, "id")

		for _, page := range []struct {
			path, sel string
			title     bool // the page's title names the campaign
		}{
			{"/settings", "main", false},
			{"/campaigns", "main", false},
			{"/campaigns/" + id + "/setup/goal", "main", true},
			{"/campaigns/" + id, "main", true},
		} {
			if st := b.Visit(t, page.path); st != http.StatusOK {
				t.Fatalf("GET %s: %d", page.path, st)
			}
			if got := b.Text(t, page.sel); !strings.Contains(got, secScriptName) {
				t.Errorf("%s does not show the name as text: %q", page.path, got)
			}
			if title := b.Title(t); page.title && !strings.Contains(title, secScriptName) {
				t.Errorf("%s: the title %q does not show the name as text", page.path, title)
			}
			if n := b.Count(t, "main script, header script"); n != 0 {
				t.Errorf("%s: %d script elements in the page body", page.path, n)
			}
		}
		if d := b.Dialogs(); len(d) != 0 {
			t.Fatalf("script ran: dialogs %v", d)
		}
	})
}
