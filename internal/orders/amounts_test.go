package orders_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// state is what a refused delivery must leave as it was: every order with
// its amount and refunds.
func (e *env) state(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, o := range e.list(t) {
		fmt.Fprintf(&b, "%s %s %d %s %s|", o.ID, o.ExternalID, o.Amount.Micros, o.Amount.Currency, o.Status)
		for _, r := range o.Refunds {
			fmt.Fprintf(&b, " %s %d %s", r.ID, r.Amount.Micros, r.Amount.Currency)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestBadAmountsRejected: signed Shopify and WooCommerce deliveries with a
// negative total, a refund of zero or less (WooCommerce "--2.00"), or an
// amount beyond MaxAmount are acknowledged (no error, so the store does not
// retry and disable its webhook) as rejected, with a code and the payload
// field; the delivery is recorded with its reason and no order or refund is
// stored or changed. A well-formed WooCommerce refund ("-12.50") is still
// taken in positive, and a refund of nothing is left out.
func TestBadAmountsRejected(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		create := fixture(t, "shopify_orders_create.json")
		if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "good", create), create); err != nil {
			t.Fatal(err)
		}
		wooGood := fixture(t, "woocommerce_order_created.json")
		if _, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.created", "good", wooGood), wooGood); err != nil {
			t.Fatal(err)
		}
		before := e.state(t)
		shopOrder := func(id, total string) []byte {
			return fmt.Appendf(nil, `{"id":%s,"created_at":"2026-11-20T10:15:00-05:00","updated_at":"2026-11-21T10:15:00-05:00","currency":"EUR",
				"total_price":%q,"financial_status":"paid","discount_codes":[{"code":"maria15"}]}`, id, total)
		}
		shopRefund := func(amounts ...string) []byte {
			var ts []string
			for _, a := range amounts {
				ts = append(ts, fmt.Sprintf(`{"kind":"refund","amount":%q,"currency":"EUR","status":"success"}`, a))
			}
			return fmt.Appendf(nil, `{"id":77,"order_id":820982911946154508,"transactions":[%s]}`, strings.Join(ts, ","))
		}
		wooOrder := func(id, total, refund string) []byte {
			refunds := ""
			if refund != "" {
				refunds = fmt.Sprintf(`{"id":900,"total":%q}`, refund)
			}
			return fmt.Appendf(nil, `{"id":%s,"status":"processing","currency":"EUR","total":%q,"customer_id":0,
				"date_created_gmt":"2026-11-20T15:15:00","date_modified_gmt":"2026-11-22T08:00:00","refunds":[%s]}`, id, total, refunds)
		}
		cases := []struct {
			name, platform, topic string
			body                  []byte
			field, code           string
		}{
			{"shopify negative refund", orders.Shopify, "refunds/create", shopRefund("-50.00"), "transactions[0].amount", "negative_amount"},
			{"shopify zero refund", orders.Shopify, "refunds/create", shopRefund("0.00"), "transactions[0].amount", "negative_amount"},
			{"shopify refund with a negative part", orders.Shopify, "refunds/create", shopRefund("80.00", "-70.00"), "transactions[1].amount", "negative_amount"},
			{"shopify huge refund", orders.Shopify, "refunds/create", shopRefund("1000000000.000001"), "transactions[0].amount", "amount_too_large"},
			{"shopify refunds adding up past the bound", orders.Shopify, "refunds/create", shopRefund("600000000", "600000000"), "transactions[1].amount", "amount_too_large"},
			{"shopify new order negative", orders.Shopify, "orders/create", shopOrder("5", "-10.00"), "total_price", "negative_amount"},
			{"shopify known order turned negative", orders.Shopify, "orders/paid", shopOrder("820982911946154508", "-89.90"), "total_price", "negative_amount"},
			{"shopify order too large", orders.Shopify, "orders/create", shopOrder("6", "1000000000.01"), "total_price", "amount_too_large"},
			{"shopify order in no currency", orders.Shopify, "orders/create", []byte(`{"id":7,"currency":"XX","total_price":"1.00"}`), "currency", "unknown_currency"},
			{"shopify unreadable", orders.Shopify, "orders/create", []byte(`{`), "body", "invalid_payload"},
			{"shopify float amount", orders.Shopify, "orders/create", []byte(`{"id":1,"currency":"EUR","total_price":"1.5e3"}`), "total_price", "invalid_amount"},
			{"woo double minus refund", orders.WooCommerce, "order.updated", wooOrder("727", "42.50", "--2.00"), "refunds[0].total", "negative_amount"},
			{"woo negative total", orders.WooCommerce, "order.created", wooOrder("728", "-5.00", ""), "total", "negative_amount"},
			{"woo known order turned negative", orders.WooCommerce, "order.updated", wooOrder("727", "-42.50", ""), "total", "negative_amount"},
			{"woo huge refund", orders.WooCommerce, "order.updated", wooOrder("727", "42.50", "-1000000001"), "refunds[0].total", "amount_too_large"},
		}
		for i, c := range cases {
			d := fmt.Sprintf("bad-%d", i)
			h := shopifyHeaders(c.topic, d, c.body)
			st := e.shop.ID
			if c.platform == orders.WooCommerce {
				h, st = wooHeaders(c.topic, d, c.body), e.woo.ID
			}
			rc, err := e.svc.Receive(e.ctx, c.platform, st, h, c.body)
			if err != nil {
				t.Errorf("%s: error %v, want an acknowledged rejection", c.name, err)
				continue
			}
			if rc.Outcome != orders.OutcomeRejected || rc.Error == nil || rc.Error.Field != c.field || rc.Error.Code != c.code || rc.Error.Message == "" || rc.OrderID != "" {
				t.Errorf("%s: receipt %+v (error %+v), want rejected %s on %s", c.name, rc, rc.Error, c.code, c.field)
			}
			var outcome, detail string
			// WooCommerce deliveries are known by their content; the
			// Delivery-ID header is kept as the event id.
			if err := db.Read().QueryRowContext(e.ctx, `SELECT outcome, detail FROM webhook_deliveries WHERE store_id = $1
				AND (delivery_id = $2 OR event_id = $2 AND delivery_id LIKE 'wc:%')`, st, d).Scan(&outcome, &detail); err != nil {
				t.Fatalf("%s: delivery not recorded: %v", c.name, err)
			}
			var rj orders.Rejection
			if err := json.Unmarshal([]byte(detail), &rj); err != nil || outcome != orders.OutcomeRejected || rj != *rc.Error {
				t.Errorf("%s: recorded %s %s (%v), want rejected %+v", c.name, outcome, detail, err, rc.Error)
			}
			// The store retries it anyway: still nothing, and no error.
			if rc, err := e.svc.Receive(e.ctx, c.platform, st, h, c.body); err != nil || rc.Outcome != orders.OutcomeDuplicate {
				t.Errorf("%s: redelivery %+v, %v", c.name, rc, err)
			}
			if after := e.state(t); after != before {
				t.Fatalf("%s changed the orders:\nbefore %s\nafter  %s", c.name, before, after)
			}
		}
		if n := count(t, db, "webhook_deliveries"); n != len(cases)+2 {
			t.Errorf("%d deliveries recorded, want %d", n, len(cases)+2)
		}

		// A well-formed WooCommerce refund is stored positive; one of zero
		// (items only) is left out and does not refuse the order.
		upd := wooOrder("727", "42.50", "-12.50")
		if rc, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.updated", "ok-1", upd), upd); err != nil || rc.Outcome != orders.OutcomeProcessed {
			t.Fatalf("refund -12.50: %+v, %v", rc, err)
		}
		zero := []byte(strings.Replace(string(wooOrder("727", "42.50", "-0.00")), `"id":900`, `"id":901`, 1))
		if rc, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.updated", "ok-2", zero), zero); err != nil || rc.Outcome != orders.OutcomeProcessed {
			t.Fatalf("refund -0.00: %+v, %v", rc, err)
		}
		for _, o := range e.list(t) {
			if o.ExternalID == "727" && (len(o.Refunds) != 1 || o.Refunds[0].ID != "900" || o.Refunds[0].Amount.Micros != 12_500_000) {
				t.Errorf("woo refunds %+v, want one of 12.50", o.Refunds)
			}
		}
	})
}

// TestConversionBadAmounts: the conversion API refuses a negative, zero or
// too large amount and a refund of zero or less, naming the field, and
// stores nothing.
func TestConversionBadAmounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		eur := func(s string) []byte { return []byte(`{"amount":"` + s + `","currency":"EUR"}`) }
		if _, _, err := e.svc.Convert(e.ctx, e.brand, orders.Conversion{OrderID: "A-1", Amount: eur("100")}); err != nil {
			t.Fatal(err)
		}
		before := e.state(t)
		for _, a := range []string{"-50.00", "0", "-0.000001", "1000000000.000001", "9223372036854.775807"} {
			_, _, err := e.svc.Convert(e.ctx, e.brand, orders.Conversion{OrderID: "A-2", Amount: eur(a)})
			var fe *errs.Error
			if !errorsAs(err, &fe) || fe.Kind != errs.Invalid || fe.Field != "amount.amount" {
				t.Errorf("conversion of %s: error %v, want invalid amount.amount", a, err)
			}
			_, err = e.svc.RefundConversion(e.ctx, e.brand, "A-1", orders.ConversionRefund{RefundID: "r-" + a, Amount: eur(a)})
			if !errorsAs(err, &fe) || fe.Kind != errs.Invalid || fe.Field != "amount.amount" {
				t.Errorf("refund of %s: error %v, want invalid amount.amount", a, err)
			}
		}
		if after := e.state(t); after != before {
			t.Fatalf("refused conversions changed the orders:\nbefore %s\nafter  %s", before, after)
		}
	})
}
