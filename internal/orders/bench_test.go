package orders_test

import (
	"fmt"
	"testing"

	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store/storetest"
)

// BenchmarkVerify measures signature verification alone over the Shopify
// orders/create fixture: HMAC-SHA256 of the raw body and the constant-time
// comparison.
func BenchmarkVerify(b *testing.B) {
	body, err := readFixture("shopify_orders_create.json")
	if err != nil {
		b.Fatal(err)
	}
	sig := orders.Sign(shopSecret, body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := orders.Verify(shopSecret, body, sig); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
}

// BenchmarkReceive measures a whole verified delivery on SQLite: store
// lookup, verification, parsing and the transaction (a new delivery id each
// time, the same order, so each one updates it).
func BenchmarkReceive(b *testing.B) {
	e := setupTB(b, storetest.Open(b, storetest.SQLiteURL(b)))
	body, err := readFixture("shopify_orders_create.json")
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", fmt.Sprint("d-", i), body), body); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "webhooks/s")
}
