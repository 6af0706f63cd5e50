package orders_test

import (
	"testing"

	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestCustomerFieldsKept: a store's order keeps the customer's email as
// sent and as one mailbox, and the salted hash of the browser address and
// user agent (never the address or agent), from Shopify's email /
// client_details and WooCommerce's billing.email / customer_ip_address /
// customer_user_agent (testdata/README.md); an order without them keeps
// none, and an update that omits them does not erase them.
func TestCustomerFieldsKept(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.svc.SetVisitorHash(func(ip, agent string) string { return "h(" + ip + "|" + agent[:7] + ")" })
		type row struct{ email, norm, visitor string }
		read := func(ext string) row {
			t.Helper()
			var r row
			if err := db.Read().QueryRowContext(e.ctx, `SELECT customer_email, customer_email_norm, customer_visitor FROM orders WHERE external_id = $1`, ext).
				Scan(&r.email, &r.norm, &r.visitor); err != nil {
				t.Fatal(err)
			}
			return r
		}
		shop := fixture(t, "shopify_orders_create.json")
		rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "d1", shop), shop)
		if err != nil || rc.Outcome != orders.OutcomeProcessed {
			t.Fatalf("shopify: %+v, %v", rc, err)
		}
		if got, want := read("820982911946154508"), (row{"Buyer+Glow@Example.com", "buyer@example.com", "h(216.191.105.146|Mozilla)"}); got != want {
			t.Fatalf("shopify order kept %+v, want %+v", got, want)
		}
		o, err := e.svc.Get(e.ctx, e.brand.SubjectID, rc.OrderID)
		if err != nil || o.CustomerEmail != "Buyer+Glow@Example.com" {
			t.Fatalf("Get: %q, %v", o.CustomerEmail, err)
		}
		woo := fixture(t, "woocommerce_order_created.json")
		if rc, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.created", "w1", woo), woo); err != nil || rc.Outcome != orders.OutcomeProcessed {
			t.Fatalf("woocommerce: %+v, %v", rc, err)
		}
		if got, want := read("727"), (row{"Ana.Lopez+shop@GMAIL.com", "analopez@gmail.com", "h(198.51.100.7|Mozilla)"}); got != want {
			t.Fatalf("woocommerce order kept %+v, want %+v", got, want)
		}
		// A later update without the customer's fields keeps them.
		upd := []byte(`{"id":820982911946154508,"created_at":"2026-11-20T10:15:00-05:00","updated_at":"2026-11-20T11:15:00-05:00","currency":"EUR",
			"total_price":"89.90","financial_status":"paid","discount_codes":[{"code":"maria15"}]}`)
		if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/paid", "d2", upd), upd); err != nil {
			t.Fatal(err)
		}
		if got := read("820982911946154508"); got.email != "Buyer+Glow@Example.com" || got.visitor == "" {
			t.Fatalf("an update without them erased them: %+v", got)
		}
		// An order without them keeps none.
		bare := []byte(`{"id":5551,"created_at":"2026-11-20T10:15:00-05:00","updated_at":"2026-11-20T10:15:00-05:00","currency":"EUR",
			"total_price":"10.00","financial_status":"paid","browser_ip":"203.0.113.9"}`)
		if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/paid", "d3", bare), bare); err != nil {
			t.Fatal(err)
		}
		if got := read("5551"); got != (row{}) {
			t.Fatalf("an order without email or agent kept %+v", got)
		}
	})
}
