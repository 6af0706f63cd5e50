package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store/storetest"
)

// webhookPost sends a webhook delivery as a platform does: the raw body
// and the given headers, no API key.
func webhookPost(t *testing.T, url string, h map[string]string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}

func ordersFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "internal", "orders", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOrdersEndToEnd runs "payper serve", connects a Shopify and a
// WooCommerce store over HTTP, delivers the documented webhook fixtures
// (the same Shopify delivery 8 times), refuses bad signatures, answers the
// WooCommerce ping, reports conversions and lists the brand's orders.
func TestOrdersEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		c := client{t: t, base: startServer(t, dbURL)}
		brand := str(c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Glow Labs"}`), "api_key")
		other := str(c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Other"}`), "api_key")
		creator := str(c.must(201, "POST", "/v1/creators", adminToken, `{"name":"ana","country":"DE"}`), "api_key")

		const shopSecret, wooSecret = "shpss_e2e_0123456789abcdef", "wc-e2e-secret"
		c.fails(400, "invalid", "platform", "POST", "/v1/stores", brand, `{"platform":"magento","webhook_secret":"12345678"}`)
		c.fails(403, "forbidden", "", "POST", "/v1/stores", creator, `{"platform":"shopify","shop_domain":"glow.myshopify.com","webhook_secret":"`+shopSecret+`"}`)
		shop := c.must(201, "POST", "/v1/stores", brand, `{"platform":"shopify","shop_domain":"glow.myshopify.com","webhook_secret":"`+shopSecret+`"}`)
		woo := c.must(201, "POST", "/v1/stores", brand, `{"platform":"woocommerce","site_url":"https://glow.example","webhook_secret":"`+wooSecret+`"}`)
		c.fails(409, "store_exists", "", "POST", "/v1/stores", brand, `{"platform":"shopify","shop_domain":"glow.myshopify.com","webhook_secret":"`+shopSecret+`"}`)
		shopURL, wooURL := str(shop, "webhook_url"), str(woo, "webhook_url")
		if want := c.base + "/webhooks/shopify/" + str(shop, "id"); shopURL != want {
			t.Fatalf("webhook_url = %s, want %s", shopURL, want)
		}
		if _, ok := shop["webhook_secret"]; ok {
			t.Fatal("the webhook secret is echoed back")
		}

		create := ordersFixture(t, "shopify_orders_create.json")
		shopify := func(topic, delivery string, body []byte, sig string) map[string]string {
			return map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": sig,
				"X-Shopify-Shop-Domain": "glow.myshopify.com", "X-Shopify-Webhook-Id": delivery, "X-Shopify-Event-Id": "e-" + delivery}
		}
		// Refused deliveries: 401 and nothing stored.
		tampered := bytes.Replace(create, []byte(`"89.90"`), []byte(`"1.00"`), 1)
		for name, r := range map[string]reply{
			"no signature":  webhookPost(t, shopURL, shopify("orders/create", "d1", create, ""), create),
			"bad signature": webhookPost(t, shopURL, shopify("orders/create", "d1", create, orders.Sign("wrong-secret", create)), create),
			"tampered body": webhookPost(t, shopURL, shopify("orders/create", "d1", create, orders.Sign(shopSecret, create)), tampered),
		} {
			if r.Status != 401 {
				t.Fatalf("%s: status %d, want 401: %s", name, r.Status, r.Raw)
			}
		}
		if r := webhookPost(t, c.base+"/webhooks/shopify/sto_00000000000000000000000000", shopify("orders/create", "d1", create, orders.Sign(shopSecret, create)), create); r.Status != 404 {
			t.Fatalf("unknown store: status %d: %s", r.Status, r.Raw)
		}
		big := bytes.Repeat([]byte(" "), orders.MaxWebhookBody+1)
		if r := webhookPost(t, shopURL, shopify("orders/create", "d1", big, orders.Sign(shopSecret, big)), big); r.Status != 413 {
			t.Fatalf("oversize body: status %d: %s", r.Status, r.Raw)
		}
		if got := c.must(200, "GET", "/v1/orders", brand, "")["data"].([]any); len(got) != 0 {
			t.Fatalf("orders after refused deliveries: %v", got)
		}

		// The same delivery 8 times gives one order.
		for i := range 8 {
			r := webhookPost(t, shopURL, shopify("orders/create", "d1", create, orders.Sign(shopSecret, create)), create)
			want := "processed"
			if i > 0 {
				want = "duplicate"
			}
			if r.Status != 200 || str(r.Body, "outcome") != want {
				t.Fatalf("delivery %d: %d %s, want %s", i+1, r.Status, r.Raw, want)
			}
		}
		refund := ordersFixture(t, "shopify_refunds_create.json")
		for _, d := range []string{"r1", "r2"} {
			if r := webhookPost(t, shopURL, shopify("refunds/create", d, refund, orders.Sign(shopSecret, refund)), refund); r.Status != 200 || str(r.Body, "outcome") != "processed" {
				t.Fatalf("refund %s: %d %s", d, r.Status, r.Raw)
			}
		}

		// WooCommerce: the unsigned ping, then an order and its refund.
		if r := webhookPost(t, wooURL, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, []byte("webhook_id=42")); r.Status != 200 || str(r.Body, "outcome") != "ping" {
			t.Fatalf("ping: %d %s", r.Status, r.Raw)
		}
		woocommerce := func(topic, delivery string, body []byte) map[string]string {
			return map[string]string{"Content-Type": "application/json", "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Signature": orders.Sign(wooSecret, body),
				"X-WC-Webhook-Source": "https://glow.example/", "X-WC-Webhook-Delivery-ID": delivery, "X-WC-Webhook-ID": "42",
				"X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": strings.TrimPrefix(topic, "order.")}
		}
		wc1, wc2 := ordersFixture(t, "woocommerce_order_created.json"), ordersFixture(t, "woocommerce_order_updated_refund.json")
		for _, d := range []struct {
			topic, id string
			body      []byte
		}{{"order.created", "w1", wc1}, {"order.created", "w1", wc1}, {"order.updated", "w2", wc2}, {"order.updated", "w3", wc2}} {
			if r := webhookPost(t, wooURL, woocommerce(d.topic, d.id, d.body), d.body); r.Status != 200 {
				t.Fatalf("woo %s: %d %s", d.id, r.Status, r.Raw)
			}
		}

		// The conversion API.
		c.fails(401, "unauthorized", "", "POST", "/v1/conversions", "", `{"order_id":"A-1","amount":{"amount":"10","currency":"EUR"}}`)
		c.fails(400, "invalid_amount", "amount", "POST", "/v1/conversions", brand, `{"order_id":"A-1","amount":{"amount":10,"currency":"EUR"}}`)
		c.fails(400, "invalid", "order_id", "POST", "/v1/conversions", brand, `{"amount":{"amount":"10","currency":"EUR"}}`)
		conv := `{"order_id":"A-1","amount":{"amount":"49.90","currency":"EUR"},"code":"maria15","click_id":"0123456789abcdef","customer_id":"c-9"}`
		first := c.must(201, "POST", "/v1/conversions", brand, conv)
		if again := c.must(200, "POST", "/v1/conversions", brand, conv); str(again, "id") != str(first, "id") {
			t.Fatalf("replay gave another order: %v vs %v", again, first)
		}
		c.fails(409, "order_conflict", "", "POST", "/v1/conversions", brand, strings.Replace(conv, "49.90", "59.90", 1))
		c.must(201, "POST", "/v1/conversions", other, conv) // another brand's order A-1

		list := c.must(200, "GET", "/v1/orders", brand, "")["data"].([]any)
		if len(list) != 3 {
			t.Fatalf("%d orders, want 3: %v", len(list), list)
		}
		bySource := map[string]map[string]any{}
		for _, o := range list {
			m := o.(map[string]any)
			bySource[str(m, "source")] = m
		}
		sh, wc, api := bySource["shopify"], bySource["woocommerce"], bySource["api"]
		check := func(o map[string]any, orderID, amount, refund string) {
			t.Helper()
			if str(o, "order_id") != orderID || str(o, "amount", "amount") != amount {
				t.Errorf("order = %v, want %s for %s", o, orderID, amount)
			}
			rs := o["refunds"].([]any)
			if refund == "" && len(rs) != 0 || refund != "" && (len(rs) != 1 || str(rs[0].(map[string]any), "amount", "amount") != refund) {
				t.Errorf("refunds of %s = %v, want %q", orderID, rs, refund)
			}
		}
		check(sh, "820982911946154508", "89.900000", "30.000000")
		check(wc, "727", "42.500000", "12.500000")
		check(api, "A-1", "49.900000", "")
		if fmt.Sprint(sh["discount_codes"]) != "[MARIA15]" || str(sh, "click_id") != "0123456789abcdef" || str(sh, "store_id") != str(shop, "id") {
			t.Errorf("shopify order = %v", sh)
		}
		if n := len(c.must(200, "GET", "/v1/orders", other, "")["data"].([]any)); n != 1 {
			t.Errorf("the other brand sees %d orders, want 1", n)
		}
		page := c.must(200, "GET", "/v1/orders?limit=2", brand, "")
		if len(page["data"].([]any)) != 2 || str(page, "next_before") == "" {
			t.Fatalf("page = %v", page)
		}
		if rest := c.must(200, "GET", "/v1/orders?before="+str(page, "next_before"), brand, "")["data"].([]any); len(rest) != 1 {
			t.Fatalf("second page = %v", rest)
		}
		c.fails(403, "forbidden", "", "GET", "/v1/orders", creator, "")
	})
}
