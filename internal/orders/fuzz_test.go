package orders_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store/storetest"
)

// fingerprint sums up every order and refund stored: what a rejected
// delivery or a refused conversion must leave as it was.
func (e *env) fingerprint(t testing.TB) string {
	t.Helper()
	var n, sum, upd, rn, rsum int64
	if err := e.db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*), COALESCE(SUM(amount), 0), COALESCE(MAX(updated_at), 0) FROM orders`).Scan(&n, &sum, &upd); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM order_refunds`).Scan(&rn, &rsum); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(n, sum, upd, rn, rsum)
}

// checkOrder fails unless the stored order oid has an amount within
// 0…MaxAmount in a valid currency and refunds within 1…MaxAmount.
func (e *env) checkOrder(t *testing.T, oid string) {
	t.Helper()
	o, err := e.svc.Get(e.ctx, e.brand.BrandID(), oid)
	if err != nil {
		t.Fatalf("stored order %s: %v", oid, err)
	}
	if o.Amount.Micros < 0 || o.Amount.Micros > orders.MaxAmount || !o.Amount.Currency.Valid() {
		t.Fatalf("stored order amount %d %q", o.Amount.Micros, o.Amount.Currency)
	}
	for _, r := range o.Refunds {
		if r.Amount.Micros <= 0 || r.Amount.Micros > orders.MaxAmount || !r.Amount.Currency.Valid() {
			t.Fatalf("stored refund %s amount %d %q", r.ID, r.Amount.Micros, r.Amount.Currency)
		}
	}
}

// checkReceipt holds a signed delivery's answer to its properties: never an
// error; rejected with a code, a message and a field and nothing stored
// changed; or a stored order whose amounts are within bounds.
func (e *env) checkReceipt(t *testing.T, rc orders.Receipt, err error, before string) {
	t.Helper()
	if err != nil {
		t.Fatalf("a signed delivery answered an error: %v", err)
	}
	switch rc.Outcome {
	case orders.OutcomeRejected:
		if rc.Error == nil || rc.Error.Code == "" || rc.Error.Field == "" || rc.Error.Message == "" || rc.OrderID != "" {
			t.Fatalf("rejected without code and field: %+v %+v", rc, rc.Error)
		}
		if after := e.fingerprint(t); after != before {
			t.Fatalf("a rejected delivery changed the orders: %s → %s", before, after)
		}
	case orders.OutcomeProcessed:
		if rc.Error != nil || rc.OrderID == "" {
			t.Fatalf("processed receipt %+v", rc)
		}
		e.checkOrder(t, rc.OrderID)
	case orders.OutcomePending, orders.OutcomeIgnored, orders.OutcomeDuplicate:
		if after := e.fingerprint(t); after != before {
			t.Fatalf("%s changed the orders: %s → %s", rc.Outcome, before, after)
		}
	default:
		t.Fatalf("outcome %q", rc.Outcome)
	}
}

// fuzzing reports whether this process is a fuzzing worker. Workers only
// hold the parsers to their properties: the database driver, instrumented
// for coverage, makes a delivery take seconds there. Running the seeds and
// the kept corpus (go test) also checks each delivery through Receive and
// the database.
func fuzzing() bool {
	f := flag.Lookup("test.fuzzworker")
	return f != nil && f.Value.String() == "true"
}

// checkParsed holds what a payload parses into to its properties: a
// refusal is Invalid with a code, a message and a field; an order's amount
// is within 0…MaxAmount in a valid currency and reads back the same from
// its decimal form; refunds are within 1…MaxAmount in a valid currency; ids
// and codes are printable and bounded.
func checkParsed(t *testing.T, platform, topic string, body []byte) {
	t.Helper()
	p, err := orders.ParsePayload(platform, topic, body)
	if err != nil {
		var fe *errs.Error
		if !errorsAs(err, &fe) || fe.Kind != errs.Invalid || fe.Code == "" || fe.Field == "" || fe.Message == "" {
			t.Fatalf("refusal %v (%#v): want Invalid with a code, a field and a message", err, fe)
		}
		return
	}
	if o := p.Order; o != nil {
		if o.Amount.Micros < 0 || o.Amount.Micros > orders.MaxAmount || !o.Amount.Currency.Valid() {
			t.Fatalf("order amount %d %q accepted", o.Amount.Micros, o.Amount.Currency)
		}
		if o.ExternalID == "" || len(o.ExternalID) > 255 || strings.ContainsAny(o.ExternalID, " \t\n") {
			t.Fatalf("order id %q accepted", o.ExternalID)
		}
		for _, c := range o.DiscountCodes {
			if c == "" || len(c) > 64 || c != strings.ToUpper(c) {
				t.Fatalf("discount code %q accepted", c)
			}
		}
		canon := fmt.Appendf(nil, `{"id":%q,"currency":%q,"total_price":%q}`, o.ExternalID, o.Amount.Currency, money.FormatMicros(o.Amount.Micros))
		if again, err := orders.ParsePayload(orders.Shopify, orders.TopicShopifyOrderCreate, canon); err != nil || again.Order.Amount != o.Amount {
			t.Fatalf("amount %v does not round-trip: %+v, %v", o.Amount, again.Order, err)
		}
	}
	for _, r := range p.Refunds {
		if r.Amount.Micros <= 0 || r.Amount.Micros > orders.MaxAmount || !r.Amount.Currency.Valid() || r.ID == "" {
			t.Fatalf("refund %q of %d %q accepted", r.ID, r.Amount.Micros, r.Amount.Currency)
		}
	}
}

var shopifyTopics = []string{orders.TopicShopifyOrderCreate, orders.TopicShopifyOrderPaid, orders.TopicShopifyRefund, orders.TopicShopifyOrderCancelled}

// FuzzShopifyWebhook feeds Shopify payloads (orders/create, orders/paid,
// refunds/create, orders/cancelled by topic%4) to the real parsers (checkParsed) and, outside
// fuzzing workers, as signed deliveries through Receive on SQLite with the
// fixture order stored (checkReceipt).
func FuzzShopifyWebhook(f *testing.F) {
	for i, name := range []string{"shopify_orders_create.json", "shopify_orders_paid.json", "shopify_refunds_create.json"} {
		b, err := readFixture(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
	}
	for _, seed := range []struct {
		topic uint8
		name  string
	}{{1, "shopify_multicurrency_order.json"}, {2, "shopify_multicurrency_refund_full.json"}, {2, "shopify_multicurrency_refund_partial.json"},
		{2, "shopify_refunds_create_no_transactions.json"}, {3, "shopify_orders_cancelled.json"}} {
		b, err := readFixture(seed.name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(seed.topic, b)
	}
	f.Add(uint8(2), []byte(`{"id":77,"order_id":820982911946154508,"transactions":[{"kind":"refund","amount":"-50.00","currency":"EUR","status":"success"}]}`))
	f.Add(uint8(0), []byte(`{"id":5,"currency":"EUR","total_price":"-10.00"}`))
	f.Add(uint8(1), []byte(`{"id":820982911946154508,"currency":"EUR","total_price":"1000000000.000001","updated_at":"2030-01-01T00:00:00Z"}`))
	e := setupTB(f, storetest.Open(f, storetest.SQLiteURL(f)))
	create, err := readFixture("shopify_orders_create.json")
	if err != nil {
		f.Fatal(err)
	}
	if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "seed", create), create); err != nil {
		f.Fatal(err)
	}
	n := 0
	f.Fuzz(func(t *testing.T, topic uint8, body []byte) {
		n++
		tp := shopifyTopics[int(topic)%len(shopifyTopics)]
		checkParsed(t, orders.Shopify, tp, body)
		if fuzzing() {
			return
		}
		before := e.fingerprint(t)
		rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders(tp, fmt.Sprint("fz-", n), body), body)
		e.checkReceipt(t, rc, err, before)
	})
}

// FuzzWooCommerceWebhook feeds WooCommerce order payloads to the real
// parsers (checkParsed) and, outside fuzzing workers, as signed
// order.updated deliveries through Receive on SQLite (checkReceipt).
func FuzzWooCommerceWebhook(f *testing.F) {
	for _, name := range []string{"woocommerce_order_created.json", "woocommerce_order_updated_refund.json"} {
		b, err := readFixture(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id":727,"currency":"EUR","total":"42.50","date_modified_gmt":"2030-01-01T00:00:00","refunds":[{"id":9,"total":"--2.00"}]}`))
	f.Add([]byte(`{"id":728,"currency":"EUR","total":"-5.00"}`))
	e := setupTB(f, storetest.Open(f, storetest.SQLiteURL(f)))
	n := 0
	f.Fuzz(func(t *testing.T, body []byte) {
		n++
		checkParsed(t, orders.WooCommerce, orders.TopicWooOrderUpdated, body)
		if fuzzing() {
			return
		}
		before := e.fingerprint(t)
		rc, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.updated", fmt.Sprint("fz-", n), body), body)
		e.checkReceipt(t, rc, err, before)
	})
}

// FuzzConversion decodes a conversion API body as the API does, checks it
// as Convert does and, outside fuzzing workers, reports it: a refusal is Invalid with a code and a field and stores nothing; an
// accepted conversion stores an amount within 1…MaxAmount in a valid
// currency that reads back as reported.
func FuzzConversion(f *testing.F) {
	f.Add([]byte(`{"order_id":"A-1","amount":{"amount":"49.90","currency":"EUR"},"code":"maria15","click_id":"0123456789abcdef","customer_id":"cust-9"}`))
	f.Add([]byte(`{"order_id":"A-2","amount":{"amount":"-50.00","currency":"EUR"}}`))
	f.Add([]byte(`{"order_id":"A-3","amount":{"amount":"1000000000.000001","currency":"USD"}}`))
	f.Add([]byte(`{"order_id":"A-4","amount":{"amount":10,"currency":"EUR"}}`))
	e := setupTB(f, storetest.Open(f, storetest.SQLiteURL(f)))
	f.Fuzz(func(t *testing.T, body []byte) {
		var c orders.Conversion
		if json.Unmarshal(body, &c) != nil {
			return // the API answers 400 before the domain is called
		}
		if p, err := orders.ParseConversion(c); err != nil {
			var fe *errs.Error
			if !errorsAs(err, &fe) || fe.Kind != errs.Invalid || (fe.Field == "" && len(fe.Fields) == 0) {
				t.Fatalf("refusal %v: want Invalid naming a field", err)
			}
			for _, x := range fe.Fields {
				if x.Field == "" || x.Code == "" {
					t.Fatalf("refusal %v lists a field without a name or code: %+v", err, fe.Fields)
				}
			}
		} else if p.Amount.Micros <= 0 || p.Amount.Micros > orders.MaxAmount || !p.Amount.Currency.Valid() {
			t.Fatalf("amount %d %q accepted", p.Amount.Micros, p.Amount.Currency)
		}
		if fuzzing() {
			return
		}
		before := e.fingerprint(t)
		o, created, err := e.svc.Convert(e.ctx, e.brand, c)
		if err != nil {
			var fe *errs.Error
			if !errorsAs(err, &fe) || (fe.Kind != errs.Invalid && fe.Kind != errs.Conflict) || fe.Code == "" {
				t.Fatalf("error %v: want Invalid with a code, or a Conflict", err)
			}
			if fe.Kind == errs.Invalid && fe.Field == "" && len(fe.Fields) == 0 {
				t.Fatalf("invalid without a field: %v", err)
			}
			if after := e.fingerprint(t); after != before {
				t.Fatalf("a refused conversion changed the orders: %s → %s", before, after)
			}
			return
		}
		if o.Amount.Micros <= 0 || o.Amount.Micros > orders.MaxAmount || !o.Amount.Currency.Valid() {
			t.Fatalf("accepted amount %d %q", o.Amount.Micros, o.Amount.Currency)
		}
		got, err := e.svc.Get(e.ctx, e.brand.BrandID(), o.ID)
		if err != nil || got.Amount != o.Amount || got.ExternalID != c.OrderID {
			t.Fatalf("read back %+v, %v; reported %+v (created %v)", got, err, o, created)
		}
	})
}
