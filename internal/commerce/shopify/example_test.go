package shopify_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/payper/payper/internal/commerce"
	"github.com/payper/payper/internal/commerce/shopify"
)

// The Fake stands in for a shop in other packages' tests.
func Example() {
	fake := shopify.NewFake("glow.myshopify.com", "shpat_test")
	srv := httptest.NewServer(fake)
	defer srv.Close()

	c := &shopify.Client{Shop: "glow.myshopify.com", Token: "shpat_test", BaseURL: srv.URL}
	d := commerce.Discount{
		Code: "ANNA15", Title: "payper: Spring launch — anna", PercentBps: 1500,
		StartsAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	}
	created, err := c.CreateCode(context.Background(), d)
	fmt.Println(created.ExternalID, err, fake.Codes()[0].Percentage)
	// Output: gid://shopify/DiscountCodeNode/1001 <nil> 0.15
}
