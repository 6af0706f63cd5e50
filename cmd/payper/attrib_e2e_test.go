package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store/storetest"
)

// attribWorld is a brand with a campaign paying interactions, commission,
// CPA and a flat fee, two accepted creators (ana, ben) and a sandbox store.
type attribWorld struct {
	*ppiWorld
	store string
}

func (w *attribWorld) conversions(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, c := range w.c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/conversions", w.brand, "")["data"].([]any) {
		m := c.(map[string]any)
		out[str(m, "order_id")] = m
	}
	return out
}

// balance is a creator's EUR balance (held, available, debt, paid out).
func (w *attribWorld) balance(t *testing.T, h string) ledger.CreatorBalance {
	t.Helper()
	b, err := w.env.App.Ledger.Balance(context.Background(), w.ids[h], money.EUR)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *attribWorld) earningsOf(t *testing.T, h, kind string) (gross int64, n int) {
	t.Helper()
	_, _, list := w.earned(t, h)
	for _, e := range list {
		m := e.(map[string]any)
		if m["kind"] == kind && m["state"] != "voided" {
			gross += micros(t, m, "gross") - micros(t, m, "clawed_gross")
			n++
		}
	}
	return gross, n
}

// click follows a tracked link as a browser does and returns the click id.
func (w *attribWorld) click(t *testing.T, shortURL string) string {
	t.Helper()
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", shortURL, nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != 302 {
		t.Fatalf("redirect: %d %v", resp.StatusCode, err)
	}
	if err := w.env.App.Links.Recorder.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return loc.Query().Get("click_id")
}

// TestAttributionEndToEnd runs a campaign that stacks pay-per-interaction
// with commission (10 %), CPA (€2) and a flat fee (€5) over HTTP on both
// stores: flat fees on acceptance; discount codes made in the sandbox
// store's Shopify API (and one by hand); tracked clicks; orders from the
// sandbox store as signed webhooks; a code beating a click; the same
// webhook 8 times paying once; an order in another currency; the click
// window's edges through the conversion API; and a refund after payout that
// leaves a debt the next earnings repay. The ledger audit holds throughout.
func TestAttributionEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
		start := env.Clock.Now()
		w := &attribWorld{ppiWorld: &ppiWorld{c: c, env: env, admin: env.AdminToken, creators: map[string]string{}, ids: map[string]string{}}}
		w.brand = str(c.must(201, "POST", "/v1/brands", w.admin, `{"name":"Glow Labs"}`), "api_key")
		w.campaign = str(c.must(201, "POST", "/v1/campaigns", w.brand, `{"name":"Spring Serum","budget":{"amount":"100","currency":"EUR"}}`), "id")
		setup := fmt.Sprintf(`{
			"goal": {"primary": "roas", "primary_target": "3"},
			"brief": {"product": "Glow serum", "message": "Morning routine", "landing_url": "https://glow.example/serum"},
			"prices": {"like": "0.05"},
			"performance": {"commission_bps": 1000, "cpa": "2", "flat_fee": "5", "attribution_window_days": 7},
			"starts_at": %q, "ends_at": %q,
			"eligibility": {"platforms": ["sandbox"]}}`, start.Format(time.RFC3339), start.Add(60*24*time.Hour).Format(time.RFC3339))
		// Every invalid performance field is named at once; nothing is stored.
		c.fails(400, "invalid_fields", "performance.commission_bps", "PUT", "/v1/campaigns/"+w.campaign+"/setup", w.brand,
			strings.Replace(strings.Replace(setup, `"commission_bps": 1000`, `"commission_bps": 20000`, 1), `"flat_fee": "5"`, `"flat_fee": "-1", "code_pattern": "FIXED"`, 1))
		got := c.must(200, "PUT", "/v1/campaigns/"+w.campaign+"/setup", w.brand, setup)
		if pf := got["setup"].(map[string]any)["performance"].(map[string]any); pf["code_pattern"] != "{HANDLE}{PERCENT}" || pf["cpa"] != "2.000000" {
			t.Fatalf("performance = %v", pf)
		}
		c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/fund", w.brand, `{"payment":{"reference":"pay-attr"}}`)
		c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/open", w.brand, "")
		for _, h := range []string{"ana", "ben"} {
			rc := c.must(201, "POST", "/v1/creators", w.admin, fmt.Sprintf(`{"name":%q,"country":"DE"}`, h))
			w.creators[h], w.ids[h] = str(rc, "api_key"), str(rc, "creator", "id")
			c.must(201, "POST", "/sandbox/driver/accounts", w.admin, fmt.Sprintf(`{"handle":%q,"followers":5000}`, h))
			w.connect(t, h)
			app := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/applications", w.creators[h], `{"pitch":"hi"}`)
			c.must(200, "POST", "/v1/applications/"+str(app, "id")+"/accept", w.brand, "")
			if g, n := w.earningsOf(t, h, "flat_fee"); g != 5_000_000 || n != 1 {
				t.Fatalf("%s flat fee = %d in %d earnings, want 5.00 in 1", h, g, n)
			}
		}
		w.audit(t)

		// The sandbox store: codes are made through its Shopify API.
		st := c.must(201, "POST", "/v1/stores", w.brand, `{"platform":"shopify","shop_domain":"glow-sandbox.myshopify.com","sandbox":true}`)
		w.store = str(st, "id")
		if st["sandbox"] != true || st["has_api"] != true {
			t.Fatalf("sandbox store = %v", st)
		}
		c.fails(400, "not_accepted", "creator_id", "POST", "/v1/campaigns/"+w.campaign+"/codes", w.brand, `{"creator_id":"crt_nobody","store_id":"`+w.store+`"}`)
		c.fails(400, "required", "store_id", "POST", "/v1/campaigns/"+w.campaign+"/codes", w.brand, `{"creator_id":"`+w.ids["ana"]+`"}`)
		code := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/codes", w.brand, `{"creator_id":"`+w.ids["ana"]+`","store_id":"`+w.store+`"}`)
		if code["code"] != "ANA10" || code["source"] != "sandbox" || !strings.HasPrefix(str(code, "external_id"), "gid://shopify/DiscountCodeNode/") {
			t.Fatalf("code = %v", code)
		}
		c.fails(409, "code_exists", "", "POST", "/v1/campaigns/"+w.campaign+"/codes", w.brand, `{"creator_id":"`+w.ids["ana"]+`","store_id":"`+w.store+`"}`)
		c.fails(409, "code_taken", "code", "POST", "/v1/campaigns/"+w.campaign+"/codes", w.brand, `{"creator_id":"`+w.ids["ben"]+`","code":"ana10"}`)
		c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/codes", w.brand, `{"creator_id":"`+w.ids["ben"]+`","code":"BENNY"}`)
		mine := c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/codes", w.creators["ben"], "")["data"].([]any)
		if len(mine) != 1 || mine[0].(map[string]any)["code"] != "BENNY" || mine[0].(map[string]any)["source"] != "manual" {
			t.Fatalf("ben's codes = %v", mine)
		}

		// ben's tracked link, clicked.
		link := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/links", w.brand, `{"creator_id":"`+w.ids["ben"]+`","placement":"bio"}`)
		benClick := w.click(t, str(link, "short_url"))
		env.Clock.Advance(time.Hour)

		place := func(body string) map[string]any {
			t.Helper()
			d := c.must(200, "POST", "/sandbox/driver/store/orders", w.admin, body)
			if d["status"].(float64) != 200 {
				t.Fatalf("webhook answered %v", d)
			}
			return d["receipt"].(map[string]any)
		}
		// A code beats a click: the order carries ana's code and ben's click.
		o1 := str(place(`{"store_id":"`+w.store+`","order_id":"1001","amount":{"amount":"80","currency":"EUR"},"code":"ana10","click_id":"`+benClick+`"}`), "order_id")
		// A click alone: ben, within the window.
		o2 := str(place(`{"store_id":"`+w.store+`","order_id":"1002","amount":{"amount":"50","currency":"EUR"},"click_id":"`+benClick+`","customer_id":"77"}`), "order_id")
		// An order in USD with ana's code: CPA only, no commission (no FX).
		o3 := str(place(`{"store_id":"`+w.store+`","order_id":"1003","amount":{"amount":"40","currency":"USD"},"code":"ANA10"}`), "order_id")
		// No code, no click: unattributed.
		place(`{"store_id":"` + w.store + `","order_id":"1004","amount":{"amount":"30","currency":"EUR"}}`)
		cv := w.conversions(t)
		if len(cv) != 3 {
			t.Fatalf("%d conversions, want 3: %v", len(cv), cv)
		}
		check := func(oid, method, creator, commission, cpa, note string) {
			t.Helper()
			m := cv[oid]
			if m == nil || m["method"] != method || m["creator_id"] != w.ids[creator] || micros(t, m, "commission") != microsOf(t, commission) ||
				micros(t, m, "cpa") != microsOf(t, cpa) || str(m, "note") != note {
				t.Errorf("conversion %s = %v, want %s %s commission %s cpa %s note %q", oid, m, method, creator, commission, cpa, note)
			}
		}
		check(o1, "code", "ana", "8", "2", "")
		if cv[o1]["external_order_id"] != "1001" {
			t.Errorf("external order id %v", cv[o1]["external_order_id"])
		}
		check(o2, "click", "ben", "5", "2", "")
		check(o3, "code", "ana", "0", "2", "currency_mismatch")
		// Creators see their own conversions, and how each was attributed.
		if own := c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/conversions", w.creators["ben"], "")["data"].([]any); len(own) != 1 ||
			own[0].(map[string]any)["method"] != "click" {
			t.Fatalf("ben sees %v", own)
		}
		w.audit(t)

		// The same Shopify webhook delivered 8 times (a real shop's
		// retries), and orders/paid after orders/create: one conversion,
		// paid once.
		const secret = "shpss_attr_e2e_0123456789"
		shop := c.must(201, "POST", "/v1/stores", w.brand, `{"platform":"shopify","shop_domain":"glow.myshopify.com","webhook_secret":"`+secret+`"}`)
		body := []byte(`{"id":5550001,"name":"#5550001","created_at":"` + env.Clock.Now().Format(time.RFC3339) + `","currency":"EUR","total_price":"20.00",` +
			`"financial_status":"paid","discount_codes":[{"code":"BENNY","amount":"2.00","type":"percentage"}],"note_attributes":[],"customer":{"id":9}}`)
		for i := 0; i < 8; i++ {
			for _, topic := range []string{"orders/create", "orders/paid"} {
				r := webhookPost(t, str(shop, "webhook_url"), map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": topic,
					"X-Shopify-Hmac-Sha256": orders.Sign(secret, body), "X-Shopify-Shop-Domain": "glow.myshopify.com",
					"X-Shopify-Webhook-Id": "wh-" + topic}, body)
				if r.Status != 200 {
					t.Fatalf("delivery %d: %d %s", i, r.Status, r.Raw)
				}
			}
		}
		cv = w.conversions(t)
		if len(cv) != 4 {
			t.Fatalf("%d conversions after 16 deliveries of one order, want 4", len(cv))
		}
		if g, _ := w.earningsOf(t, "ben", "cpa"); g != 4_000_000 {
			t.Errorf("ben's CPA = %d, want 4.00 (two orders, each once)", g)
		}

		// Window edges through the conversion API: ana's click, orders at
		// exactly 7 days (credited) and 1 µs later (not).
		linkA := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/links", w.brand, `{"creator_id":"`+w.ids["ana"]+`","placement":"story"}`)
		anaClick := w.click(t, str(linkA, "short_url"))
		env.Clock.Advance(7 * 24 * time.Hour)
		in := c.must(201, "POST", "/v1/conversions", w.brand, `{"order_id":"api-edge-in","amount":{"amount":"10","currency":"EUR"},"click_id":"`+anaClick+`"}`)
		env.Clock.Advance(time.Microsecond)
		out := c.must(201, "POST", "/v1/conversions", w.brand, `{"order_id":"api-edge-out","amount":{"amount":"10","currency":"EUR"},"click_id":"`+anaClick+`"}`)
		cv = w.conversions(t)
		if m := cv[str(in, "id")]; m == nil || m["method"] != "click" || m["creator_id"] != w.ids["ana"] {
			t.Errorf("order at the window's edge: %v", m)
		}
		if m := cv[str(out, "id")]; m != nil {
			t.Errorf("order past the window attributed: %v", m)
		}
		w.audit(t)

		// Holding period over: everything releases; ana is paid out in full.
		w.tick(t, 8*24*time.Hour)
		b := w.balance(t, "ana")
		if b.Held != 0 || b.Available <= 0 {
			t.Fatalf("ana after release: %+v", b)
		}
		ctx := context.Background()
		h, err := env.App.Ledger.HoldPayout(ctx, ledger.PayoutRequest{Key: "payout-ana-1", CreatorID: w.ids["ana"], Amount: money.New(b.Available, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.App.Ledger.PostHold(ctx, "payout-ana-1-post", h.HoldID, b.Available); err != nil {
			t.Fatal(err)
		}
		// The €80 order is refunded in full after the payout: commission and
		// CPA come back from nowhere but a debt.
		refund := c.must(200, "POST", "/sandbox/driver/store/refunds", w.admin, `{"store_id":"`+w.store+`","order_id":"1001","amount":{"amount":"80","currency":"EUR"}}`)
		if refund["status"].(float64) != 200 {
			t.Fatalf("refund webhook: %v", refund)
		}
		cv = w.conversions(t)
		if m := cv[o1]; micros(t, m, "commission") != 0 || micros(t, m, "cpa") != 0 || micros(t, m, "refunded") != 80_000_000 {
			t.Fatalf("refunded conversion = %v", m)
		}
		b = w.balance(t, "ana")
		// €10 gross at the 10 % first-campaign fee: €9 was ana's, now owed.
		if b.Debt != 9_000_000 || b.Available != 0 || b.Held != 0 {
			t.Fatalf("ana after refund: %+v, want a €9.00 debt", b)
		}
		w.audit(t)
		// ana's next earnings repay the debt first: a €100 order (€10 + €2).
		place(`{"store_id":"` + w.store + `","order_id":"1005","amount":{"amount":"100","currency":"EUR"},"code":"ANA10"}`)
		w.tick(t, 8*24*time.Hour)
		b = w.balance(t, "ana")
		if b.Debt != 0 || b.Available != 10_800_000-9_000_000 {
			t.Fatalf("ana after the next release: %+v, want debt 0 and available 1.80", b)
		}
		w.audit(t)

		// A partial refund through the conversion API (€4 of the €10 edge
		// order): the commission follows net revenue, the CPA stays.
		c.fails(400, "exceeds_order", "amount.amount", "POST", "/v1/conversions/api-edge-in/refunds", w.brand, `{"refund_id":"r1","amount":{"amount":"11","currency":"EUR"}}`)
		c.must(200, "POST", "/v1/conversions/api-edge-in/refunds", w.brand, `{"refund_id":"r1","amount":{"amount":"4","currency":"EUR"}}`)
		c.must(200, "POST", "/v1/conversions/api-edge-in/refunds", w.brand, `{"refund_id":"r1","amount":{"amount":"4","currency":"EUR"}}`)
		c.fails(409, "refund_conflict", "", "POST", "/v1/conversions/api-edge-in/refunds", w.brand, `{"refund_id":"r1","amount":{"amount":"5","currency":"EUR"}}`)
		if m := w.conversions(t)[str(in, "id")]; micros(t, m, "commission") != 600_000 || micros(t, m, "cpa") != 2_000_000 {
			t.Errorf("partly refunded conversion = %v, want commission 0.60 and CPA 2.00", m)
		}
		w.audit(t)
	})
}
