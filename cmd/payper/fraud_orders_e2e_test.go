package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store/storetest"
)

// TestSelfPurchaseEndToEnd: the self-purchase detector runs on the
// server's own orders. ana signed up as ana.lopez@gmail.com and buys
// through her own code with that address written another way
// (Ana.Lopez+deal@googlemail.com), from the sandbox store as a signed
// Shopify webhook with the browser's address and agent. cleo clicks her
// own tracked link and orders, under a friend's address, from the same
// browser (address + user agent). An honest customer clicks ben's link and
// orders from another address with the same (common) user agent. The next
// tick's sweep flags ana's and cleo's orders, naming the addresses or the
// browser, and not ben's; after the holding period ana's and cleo's
// commissions are held while ben's releases. Both stores; the ledger audit
// holds.
func TestSelfPurchaseEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
		ctx := context.Background()
		start := env.Clock.Now()
		w := &ppiWorld{c: c, env: env, admin: env.AdminToken, creators: map[string]string{}, ids: map[string]string{}}
		w.brand = str(c.must(201, "POST", "/v1/brands", w.admin, `{"name":"Glow Labs"}`), "api_key")
		w.campaign = str(c.must(201, "POST", "/v1/campaigns", w.brand, `{"name":"Spring Serum","budget":{"amount":"100","currency":"EUR"}}`), "id")
		c.must(200, "PUT", "/v1/campaigns/"+w.campaign+"/setup", w.brand, fmt.Sprintf(`{
			"goal": {"primary": "roas", "primary_target": "3"},
			"brief": {"product": "Glow serum", "message": "Morning routine", "landing_url": "https://glow.example/serum"},
			"prices": {"like": "0.05"},
			"performance": {"commission_bps": 1000, "attribution_window_days": 7},
			"starts_at": %q, "ends_at": %q,
			"eligibility": {"platforms": ["sandbox"]}}`, start.Format(time.RFC3339), start.Add(60*24*time.Hour).Format(time.RFC3339)))
		c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/fund", w.brand, `{"payment":{"reference":"pay-self"}}`)
		c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/open", w.brand, "")
		for h, email := range map[string]string{"ana": "ana.lopez@gmail.com", "ben": "ben@studio.example", "cleo": "cleo@studio.example"} {
			su, err := env.App.Accounts.SignUpCreator(ctx, account.CreatorSignup{Name: h, Country: "DE", Email: email, Password: "correct horse battery staple"})
			if err != nil {
				t.Fatal(err)
			}
			w.ids[h] = su.User.CreatorID
			if w.creators[h], _, err = env.App.Identity.CreateKey(ctx, identity.RoleCreator, w.ids[h], "e2e"); err != nil {
				t.Fatal(err)
			}
			c.must(201, "POST", "/sandbox/driver/accounts", w.admin, fmt.Sprintf(`{"handle":%q,"followers":5000}`, h))
			w.connect(t, h)
			app := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/applications", w.creators[h], `{"pitch":"hi"}`)
			c.must(200, "POST", "/v1/applications/"+str(app, "id")+"/accept", w.brand, "")
		}
		st := str(c.must(201, "POST", "/v1/stores", w.brand, `{"platform":"shopify","shop_domain":"glow-sandbox.myshopify.com","sandbox":true}`), "id")
		for h, code := range map[string]string{"ana": "ANA10", "ben": "BENNY"} {
			c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/codes", w.brand, fmt.Sprintf(`{"creator_id":%q,"store_id":%q,"code":%q}`, w.ids[h], st, code))
		}
		// clickAgent is the user agent attribWorld.click sends.
		const clickAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
		const agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
		aw := &attribWorld{ppiWorld: w}
		clicks := map[string]string{}
		for _, h := range []string{"ben", "cleo"} { // from this test's address, 127.0.0.1
			link := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/links", w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"bio"}`, w.ids[h]))
			clicks[h] = aw.click(t, str(link, "short_url"))
		}
		w.tick(t, time.Minute) // a first sweep with nothing to find
		place := func(body string) string {
			t.Helper()
			d := c.must(200, "POST", "/sandbox/driver/store/orders", w.admin, body)
			if d["status"].(float64) != 200 {
				t.Fatalf("webhook answered %v", d)
			}
			return str(d["receipt"].(map[string]any), "order_id")
		}
		self := place(fmt.Sprintf(`{"store_id":%q,"order_id":"2001","amount":{"amount":"80","currency":"EUR"},"code":"ana10",
			"customer_email":"Ana.Lopez+deal@googlemail.com","browser_ip":"203.0.113.40","user_agent":%q}`, st, agent))
		honest := place(fmt.Sprintf(`{"store_id":%q,"order_id":"2002","amount":{"amount":"50","currency":"EUR"},"click_id":%q,
			"customer_email":"shopper@example.net","browser_ip":"198.51.100.23","user_agent":%q}`, st, clicks["ben"], clickAgent))
		same := place(fmt.Sprintf(`{"store_id":%q,"order_id":"2003","amount":{"amount":"30","currency":"EUR"},"click_id":%q,
			"customer_email":"friend@example.org","browser_ip":"127.0.0.1","user_agent":%q}`, st, clicks["cleo"], clickAgent))
		if self == "" || honest == "" || same == "" {
			t.Fatalf("orders %q %q %q", self, honest, same)
		}
		w.tick(t, time.Minute)

		flags := c.must(200, "GET", "/v1/fraud/flags?state=open", w.brand, "")["data"].([]any)
		if len(flags) != 2 {
			t.Fatalf("flags after the orders: %v", flags)
		}
		by := map[string]map[string]any{}
		for _, f := range flags {
			m := f.(map[string]any)
			by[str(m, "creator_id")] = m
			if m["detector"] != "sales.self_purchase" || m["campaign_id"] != w.campaign || m["holds"] != true {
				t.Fatalf("flag %v", m)
			}
		}
		if r := str(by[w.ids["ana"]], "reason"); !strings.Contains(r, "Ana.Lopez+deal@googlemail.com") || !strings.Contains(r, "ana.lopez@gmail.com") ||
			!strings.Contains(r, self) {
			t.Fatalf("ana's flag %v", by[w.ids["ana"]])
		}
		if r := str(by[w.ids["cleo"]], "reason"); !strings.Contains(r, "same address and browser") || !strings.Contains(r, same) {
			t.Fatalf("cleo's flag %v", by[w.ids["cleo"]])
		}
		w.tick(t, time.Minute) // the next window raises nothing again
		if got := c.must(200, "GET", "/v1/fraud/flags", w.brand, "")["data"].([]any); len(got) != 2 {
			t.Fatalf("flags after another tick: %v", got)
		}

		// Past the holding period: ana's €8.00 and cleo's €3.00 commissions
		// are held, ben's €5.00 released.
		w.tick(t, 8*24*time.Hour)
		for h, want := range map[string]struct {
			state string
			gross int64
		}{"ana": {"held", 8_000_000}, "ben": {"released", 5_000_000}, "cleo": {"held", 3_000_000}} {
			_, _, list := w.earned(t, h)
			var n int
			for _, e := range list {
				m := e.(map[string]any)
				if m["kind"] != "commission" {
					continue
				}
				n++
				if m["state"] != want.state || micros(t, m, "gross") != want.gross {
					t.Fatalf("%s's commission %v, want %s of %d", h, m, want.state, want.gross)
				}
			}
			if n != 1 {
				t.Fatalf("%s has %d commissions: %v", h, n, list)
			}
		}
	})
}
