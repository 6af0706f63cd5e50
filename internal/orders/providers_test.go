package orders_test

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// These tests hold the intake to how Shopify and WooCommerce really send
// their webhooks (issue 14, items 2, 3, 7, 8 and 9). The payloads are under
// testdata/, with their sources in testdata/README.md.

// wooDeliveryID is the X-WC-Webhook-Delivery-ID WooCommerce sends:
// wp_hash( $this->get_id() . strtotime( 'now' ) ) in
// WC_Webhook::get_new_delivery_id (plugins/woocommerce/includes/
// class-wc-webhook.php), wp_hash being HMAC-MD5 under the site's salt. It
// names the webhook and the second, nothing of the order.
func wooDeliveryID(webhookID string, unixSecond int64) string {
	m := hmac.New(md5.New, []byte("site-salt"))
	fmt.Fprintf(m, "%s%d", webhookID, unixSecond)
	return hex.EncodeToString(m.Sum(nil))
}

// wooOrderBody is a WooCommerce order payload (the REST API's order, as a
// webhook carries it).
func wooOrderBody(id int, total, status, modified string, refunds ...string) []byte {
	return fmt.Appendf(nil, `{"id":%d,"parent_id":0,"status":%q,"currency":"EUR","date_created_gmt":"2026-11-20T15:15:00",
		"date_modified_gmt":%q,"total":%q,"customer_id":0,"coupon_lines":[{"id":1,"code":"ben10"}],"meta_data":[],"refunds":[%s]}`,
		id, status, modified, total, strings.Join(refunds, ","))
}

// TestWooCommerceBurstInOneSecond (item 2): several different orders
// delivered in the same second carry the same Delivery-ID, as WooCommerce
// makes it; every one is stored. A redelivery of any of them (same body,
// same or another Delivery-ID) changes nothing, and an update of an order
// in the same second (another body) is taken in.
func TestWooCommerceBurstInOneSecond(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		sameSecond := wooDeliveryID("17", 1_795_000_000)
		var bodies [][]byte
		for i := range 6 {
			b := wooOrderBody(800+i, fmt.Sprintf("%d.50", 10+i), "processing", "2026-11-20T15:15:05")
			bodies = append(bodies, b)
			rc, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.created", sameSecond, b), b)
			if err != nil || rc.Outcome != orders.OutcomeProcessed || rc.OrderID == "" {
				t.Fatalf("order %d of the burst: %+v, %v", i, rc, err)
			}
		}
		if os := e.list(t); len(os) != 6 {
			t.Fatalf("%d orders stored of a burst of 6", len(os))
		}
		before := e.state(t)
		for i, b := range bodies {
			for _, id := range []string{sameSecond, wooDeliveryID("17", 1_795_000_042)} {
				rc, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.created", id, b), b)
				if err != nil || rc.Outcome != orders.OutcomeDuplicate {
					t.Fatalf("redelivery of order %d: %+v, %v", i, rc, err)
				}
			}
		}
		if after := e.state(t); after != before {
			t.Fatalf("redeliveries changed the orders:\n%s\n%s", before, after)
		}
		// The same order refunded in the same second: another body, taken in.
		upd := wooOrderBody(800, "10.50", "processing", "2026-11-20T15:15:05", `{"id":950,"reason":"","total":"-4.00"}`)
		rc, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.updated", sameSecond, upd), upd)
		if err != nil || rc.Outcome != orders.OutcomeProcessed {
			t.Fatalf("update in the same second: %+v, %v", rc, err)
		}
		o, err := e.svc.Get(e.ctx, e.brand.BrandID(), rc.OrderID)
		if err != nil || len(o.Refunds) != 1 || o.Refunds[0].Amount.Micros != 4_000_000 {
			t.Fatalf("refunded order: %+v, %v", o, err)
		}
		// The Delivery-ID header is kept, as the event id.
		var n int
		if err := db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE store_id = $1 AND event_id = $2`,
			e.woo.ID, sameSecond).Scan(&n); err != nil || n != 7 {
			t.Fatalf("%d deliveries recorded under the shared Delivery-ID (%v), want 7", n, err)
		}
	})
}

// TestShopifyMultiCurrencyRefund (item 3): an order paid in CAD in an EUR
// shop is stored in shop money (61.20 EUR, not 90.00 CAD), and its refunds,
// whose transactions are in CAD, are stored in EUR shop money to the cent:
// the full refund (items, and shipping as a negative adjustment) is 61.20
// EUR, the partial one (items less a refund discrepancy) 27.20 EUR.
func TestShopifyMultiCurrencyRefund(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		order := fixture(t, "shopify_multicurrency_order.json")
		order2 := []byte(strings.ReplaceAll(string(order), "5301234567890", "5301234567891"))
		for i, b := range [][]byte{order, order2} {
			rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/paid", fmt.Sprint("mc-o", i), b), b)
			if err != nil || rc.Outcome != orders.OutcomeProcessed {
				t.Fatalf("order %d: %+v, %v", i, rc, err)
			}
		}
		full, partial := fixture(t, "shopify_multicurrency_refund_full.json"), fixture(t, "shopify_multicurrency_refund_partial.json")
		for i, b := range [][]byte{full, partial} {
			rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("refunds/create", fmt.Sprint("mc-r", i), b), b)
			if err != nil || rc.Outcome != orders.OutcomeProcessed {
				t.Fatalf("refund %d: %+v, %v", i, rc, err)
			}
		}
		got := map[string]orders.Order{}
		for _, o := range e.list(t) {
			got[o.ExternalID] = o
		}
		a, b := got["5301234567890"], got["5301234567891"]
		if a.Amount.Micros != 61_200_000 || a.Amount.Currency != "EUR" || b.Amount.Micros != 61_200_000 {
			t.Fatalf("orders in shop money: %+v %+v", a.Amount, b.Amount)
		}
		if len(a.Refunds) != 1 || a.Refunds[0].Amount.Micros != 61_200_000 || a.Refunds[0].Amount.Currency != "EUR" {
			t.Errorf("full refund = %+v, want 61.20 EUR", a.Refunds)
		}
		if len(b.Refunds) != 1 || b.Refunds[0].Amount.Micros != 27_200_000 || b.Refunds[0].Amount.Currency != "EUR" {
			t.Errorf("partial refund = %+v, want 27.20 EUR", b.Refunds)
		}
		// Without the shop-money parts, transactions in another currency
		// than the order's are recorded as ignored, not added to it.
		bare := []byte(`{"id":929361501,"order_id":5301234567890,"transactions":[{"kind":"refund","status":"success","amount":"5.00","currency":"CAD"}]}`)
		rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("refunds/create", "mc-bare", bare), bare)
		if err != nil || rc.Outcome != orders.OutcomeIgnored || rc.Reason == nil || rc.Reason.Code != orders.ReasonCurrencyMismatch {
			t.Fatalf("refund in CAD only: %+v, %v", rc, err)
		}
	})
}

// TestParseShopifyRefundShopMoney: the refund's shop money is the items,
// shipping and duties less the adjustments; a refund whose parts do not add
// up to its transactions is converted at their rate, to the cent.
func TestParseShopifyRefundShopMoney(t *testing.T) {
	t.Parallel()
	set := func(shop, pres string) string {
		return fmt.Sprintf(`{"shop_money":{"amount":%q,"currency_code":"EUR"},"presentment_money":{"amount":%q,"currency_code":"CAD"}}`, shop, pres)
	}
	for _, c := range []struct {
		name, body string
		want       int64
	}{
		{"goodwill: an adjustment only", `{"id":1,"order_id":2,"transactions":[{"kind":"refund","status":"success","amount":"10.00","currency":"CAD"}],
			"order_adjustments":[{"kind":"refund_discrepancy","amount_set":` + set("-6.80", "-10.00") + `}]}`, 6_800_000},
		{"shipping lines (2024-10 and later)", `{"id":1,"order_id":2,"transactions":[{"kind":"refund","status":"success","amount":"90.00","currency":"CAD"}],
			"refund_line_items":[{"subtotal_set":` + set("54.40", "80.00") + `,"total_tax_set":` + set("0.00", "0.00") + `}],
			"refund_shipping_lines":[{"subtotal_amount_set":` + set("6.80", "10.00") + `}]}`, 61_200_000},
		{"parts not adding up: converted at their rate", `{"id":1,"order_id":2,"transactions":[{"kind":"refund","status":"success","amount":"33.33","currency":"CAD"}],
			"refund_line_items":[{"subtotal_set":` + set("54.40", "80.00") + `}]}`, 22_660_000},
		{"numbers, not strings", `{"id":1,"order_id":2,"transactions":[{"kind":"refund","status":"success","amount":"80.00","currency":"CAD"}],
			"refund_line_items":[{"subtotal_set":{"shop_money":{"amount":54.4,"currency_code":"EUR"},"presentment_money":{"amount":80,"currency_code":"CAD"}}}]}`, 54_400_000},
	} {
		p, err := orders.ParsePayload(orders.Shopify, orders.TopicShopifyRefund, []byte(c.body))
		if err != nil || len(p.Refunds) != 1 || p.Refunds[0].Amount.Micros != c.want || p.Refunds[0].Amount.Currency != "EUR" {
			t.Errorf("%s: %+v, %v; want %d EUR", c.name, p.Refunds, err, c.want)
		}
	}
}

// TestRefundBeforeItsOrder (item 7): Shopify does not order deliveries; a
// refund that arrives before its order is kept (answered pending) and
// applied when the order arrives, in the order's transaction. Redelivering
// the refund or the order afterwards changes nothing.
func TestRefundBeforeItsOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		create, refund := fixture(t, "shopify_orders_create.json"), fixture(t, "shopify_refunds_create.json")
		rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("refunds/create", "early-refund", refund), refund)
		if err != nil || rc.Outcome != orders.OutcomePending || rc.OrderID != "" {
			t.Fatalf("refund first: %+v, %v", rc, err)
		}
		// Shopify retries or resends it while the order is still missing.
		for _, d := range []string{"early-refund", "early-refund-resent"} {
			if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("refunds/create", d, refund), refund); err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, db, "orders"); n != 0 {
			t.Fatalf("%d orders before the order arrived", n)
		}
		if n := count(t, db, "pending_refunds"); n != 1 {
			t.Fatalf("%d pending refunds, want 1", n)
		}
		rc, err = e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "late-order", create), create)
		if err != nil || rc.Outcome != orders.OutcomeProcessed {
			t.Fatalf("order: %+v, %v", rc, err)
		}
		o, err := e.svc.Get(e.ctx, e.brand.BrandID(), rc.OrderID)
		if err != nil || len(o.Refunds) != 1 || o.Refunds[0].ID != "509562969" || o.Refunds[0].Amount.Micros != 30_000_000 {
			t.Fatalf("order with its early refund: %+v, %v", o, err)
		}
		if n := count(t, db, "pending_refunds"); n != 0 {
			t.Fatalf("%d refunds still pending", n)
		}
		before := e.state(t)
		for _, x := range []struct{ topic, d string }{{"refunds/create", "early-refund"}, {"refunds/create", "refund-again"},
			{"orders/create", "late-order"}, {"orders/create", "order-again"}} {
			body := create
			if x.topic == "refunds/create" {
				body = refund
			}
			if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders(x.topic, x.d, body), body); err != nil {
				t.Fatal(err)
			}
		}
		if after := e.state(t); after != before || count(t, db, "pending_refunds") != 0 {
			t.Fatalf("redeliveries changed the orders:\n%s\n%s", before, after)
		}
	})
}

// TestIgnoredDeliveries (item 8): readable payloads payper does not use — a
// refund with "transactions": [] (no money back), an order in a currency
// payper does not support, a topic payper does not take in — answer
// "ignored" (200 through the API) with the reason, which is recorded;
// nothing else changes. Bad signatures still fail.
func TestIgnoredDeliveries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		create := fixture(t, "shopify_orders_create.json")
		if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "o", create), create); err != nil {
			t.Fatal(err)
		}
		before := e.state(t)
		jpy := []byte(strings.NewReplacer(`"currency": "EUR"`, `"currency": "JPY"`, "820982911946154508", "820982911946154599").Replace(string(create)))
		wooJPY := []byte(strings.Replace(string(wooOrderBody(901, "1200", "processing", "2026-11-20T15:15:05")), `"EUR"`, `"JPY"`, 1))
		for _, c := range []struct {
			name, platform, topic, d string
			body                     []byte
			code, field              string
		}{
			{"refund without transactions", orders.Shopify, "refunds/create", "i1", fixture(t, "shopify_refunds_create_no_transactions.json"),
				orders.ReasonNoRefundTransaction, "transactions"},
			{"refund with failed transactions only", orders.Shopify, "refunds/create", "i2",
				[]byte(`{"id":3,"order_id":820982911946154508,"transactions":[{"kind":"refund","status":"failure","amount":"5.00","currency":"EUR"}]}`),
				orders.ReasonNoRefundTransaction, "transactions"},
			{"shopify order in JPY", orders.Shopify, "orders/create", "i3", jpy, orders.ReasonUnsupportedCurrency, "currency"},
			{"woocommerce order in JPY", orders.WooCommerce, "order.created", "i4", wooJPY, orders.ReasonUnsupportedCurrency, "currency"},
			{"shopify topic not used", orders.Shopify, "customers/create", "i5", []byte(`{"id":5}`), orders.ReasonUnusedTopic, ""},
			{"woocommerce topic not used", orders.WooCommerce, "product.updated", "i6", []byte(`{"id":5}`), orders.ReasonUnusedTopic, ""},
		} {
			h, st := shopifyHeaders(c.topic, c.d, c.body), e.shop.ID
			if c.platform == orders.WooCommerce {
				h, st = wooHeaders(c.topic, c.d, c.body), e.woo.ID
			}
			rc, err := e.svc.Receive(e.ctx, c.platform, st, h, c.body)
			if err != nil || rc.Outcome != orders.OutcomeIgnored || rc.Reason == nil || rc.Reason.Code != c.code || rc.Reason.Field != c.field ||
				rc.Reason.Message == "" || rc.Error != nil {
				t.Errorf("%s: %+v (%+v), %v; want ignored %s on %q", c.name, rc, rc.Reason, err, c.code, c.field)
				continue
			}
			var outcome, detail string
			if err := db.Read().QueryRowContext(e.ctx, `SELECT outcome, detail FROM webhook_deliveries WHERE store_id = $1 AND (delivery_id = $2 OR event_id = $2)`,
				st, c.d).Scan(&outcome, &detail); err != nil {
				t.Fatalf("%s: not recorded: %v", c.name, err)
			}
			var why orders.Rejection
			if err := json.Unmarshal([]byte(detail), &why); err != nil || outcome != orders.OutcomeIgnored || why != *rc.Reason {
				t.Errorf("%s: recorded %s %s, want ignored %+v", c.name, outcome, detail, rc.Reason)
			}
			if after := e.state(t); after != before {
				t.Fatalf("%s changed the orders:\n%s\n%s", c.name, before, after)
			}
		}
		// A currency that is no currency at all is still a broken payload.
		bad := []byte(`{"id":7,"currency":"XX","total_price":"1.00"}`)
		if rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "x", bad), bad); err != nil ||
			rc.Outcome != orders.OutcomeRejected {
			t.Errorf("currency XX: %+v, %v", rc, err)
		}
		// Bad signatures stay refused.
		h := shopifyHeaders("refunds/create", "forged", create)
		h.Set("X-Shopify-Hmac-Sha256", orders.Sign("another-secret", create))
		_, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, h, create)
		wantCode(t, err, errs.Unauthorized, "bad_signature")
	})
}

// TestShopifyCancelled (item 9): orders/cancelled is taken in; the order
// becomes cancelled (its cancelled_at is set, whatever financial_status
// says), a later or equally dated orders/paid does not reopen it, and a
// redelivery changes nothing.
func TestShopifyCancelled(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		paid, cancelled := fixture(t, "shopify_orders_paid.json"), fixture(t, "shopify_orders_cancelled.json")
		if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/paid", "p", paid), paid); err != nil {
			t.Fatal(err)
		}
		rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders(orders.TopicShopifyOrderCancelled, "c", cancelled), cancelled)
		if err != nil || rc.Outcome != orders.OutcomeProcessed {
			t.Fatalf("orders/cancelled: %+v, %v", rc, err)
		}
		o, err := e.svc.Get(e.ctx, e.brand.BrandID(), rc.OrderID)
		if err != nil || o.Status != orders.StatusCancelled || o.Amount.Micros != 89_900_000 {
			t.Fatalf("cancelled order: %+v, %v", o, err)
		}
		before := e.state(t)
		samePaid := []byte(strings.Replace(string(paid), `"updated_at": "2026-11-20T10:16:30-05:00"`, `"updated_at": "2026-11-21T08:00:00-05:00"`, 1))
		for _, x := range []struct {
			topic, d string
			body     []byte
		}{{orders.TopicShopifyOrderCancelled, "c", cancelled}, {orders.TopicShopifyOrderCancelled, "c2", cancelled},
			{"orders/paid", "p2", paid}, {"orders/paid", "p3", samePaid}} {
			if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders(x.topic, x.d, x.body), x.body); err != nil {
				t.Fatal(err)
			}
		}
		if after := e.state(t); after != before {
			t.Fatalf("after redeliveries and a late orders/paid:\n%s\n%s", before, after)
		}
	})
}

// TestRefundAndOrderAtOnce (item 7): a refund and its order delivered at
// the same moment to two servers (two Services on one database, each with
// its own group commit) never miss each other: every order ends with its
// refund and nothing stays pending, whichever commits first.
func TestRefundAndOrderAtOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		other := orders.New(db, clock.NewFake(t0), "https://payper.example/")
		box, err := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		other.SetSecretBox(box)
		const n = 24
		var wg sync.WaitGroup
		errc := make(chan error, 2*n)
		for i := range n {
			oid := fmt.Sprint(4000 + i)
			order := fmt.Appendf(nil, `{"id":%s,"created_at":"2026-11-20T10:15:00Z","updated_at":"2026-11-20T10:15:00Z","currency":"EUR",
				"total_price":"50.00","financial_status":"paid"}`, oid)
			refund := fmt.Appendf(nil, `{"id":%d,"order_id":%s,"transactions":[{"kind":"refund","status":"success","amount":"20.00","currency":"EUR"}]}`,
				9000+i, oid)
			wg.Go(func() {
				if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("refunds/create", "r"+oid, refund), refund); err != nil {
					errc <- err
				}
			})
			wg.Go(func() {
				if _, err := other.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "o"+oid, order), order); err != nil {
					errc <- err
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		os := e.list(t)
		if len(os) != n {
			t.Fatalf("%d orders, want %d", len(os), n)
		}
		for _, o := range os {
			if len(o.Refunds) != 1 || o.Refunds[0].Amount.Micros != 20_000_000 {
				t.Errorf("order %s: refunds %+v, want one of 20.00", o.ExternalID, o.Refunds)
			}
		}
		if p := count(t, db, "pending_refunds"); p != 0 {
			t.Errorf("%d refunds left pending", p)
		}
	})
}

// TestTaxAndShipping (item 11): an order keeps the tax and shipping its
// total includes; amounts that cannot be part of it are refused naming the
// field.
func TestTaxAndShipping(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		platform, body, field, code string
	}{
		{orders.Shopify, `{"id":1,"currency":"EUR","total_price":"10.00","total_tax":"11.00"}`, "total_tax", "exceeds_total"},
		{orders.Shopify, `{"id":1,"currency":"EUR","total_price":"10.00","total_tax_set":{"shop_money":{"amount":"-1.00","currency_code":"EUR"}}}`,
			"total_tax_set.shop_money.amount", "negative_amount"},
		{orders.WooCommerce, `{"id":1,"currency":"EUR","total":"10.00","total_tax":"6.00","shipping_total":"5.00"}`, "shipping_total", "exceeds_total"},
		{orders.WooCommerce, `{"id":1,"currency":"EUR","total":"10.00","shipping_total":"x"}`, "shipping_total", "invalid_amount"},
	} {
		topic := orders.TopicShopifyOrderCreate
		if c.platform == orders.WooCommerce {
			topic = orders.TopicWooOrderCreated
		}
		_, err := orders.ParsePayload(c.platform, topic, []byte(c.body))
		var e *errs.Error
		if !errorsAs(err, &e) || e.Field != c.field || e.Code != c.code {
			t.Errorf("%s: %v, want %s on %s", c.body, err, c.code, c.field)
		}
	}
	p, err := orders.ParsePayload(orders.WooCommerce, orders.TopicWooOrderCreated,
		[]byte(`{"id":1,"currency":"EUR","total":"121.00","total_tax":"19.00","shipping_total":"12.00"}`))
	if err != nil || p.Order.Tax != 19_000_000 || p.Order.Shipping != 12_000_000 {
		t.Fatalf("woo order: %+v, %v", p.Order, err)
	}
}
