package orders_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

const (
	shopSecret = "shpss_0123456789abcdef0123456789abcdef"
	wooSecret  = "wc-secret-glow-labs"
)

type env struct {
	ctx   context.Context
	db    *store.DB
	svc   *orders.Service
	brand identity.Principal
	shop  orders.Store
	woo   orders.Store
}

func setup(t *testing.T, db *store.DB) *env { return setupTB(t, db) }

func setupTB(t testing.TB, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	ident, err := identity.New(db, clk, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := ident.CreateBrand(ctx, "Glow Labs")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{ctx: ctx, db: db, svc: orders.New(db, clk, "https://payper.example/"), brand: identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}}
	box, err := secret.New([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	e.svc.SetSecretBox(box)
	if e.shop, err = e.svc.ConnectStore(ctx, e.brand, orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "Glow-Labs.myshopify.com", WebhookSecret: shopSecret}); err != nil {
		t.Fatal(err)
	}
	if e.woo, err = e.svc.ConnectStore(ctx, e.brand, orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://glow.example/", WebhookSecret: wooSecret}); err != nil {
		t.Fatal(err)
	}
	return e
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFixture(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readFixture(name string) ([]byte, error) { return os.ReadFile(filepath.Join("testdata", name)) }

// shopifyHeaders are the headers Shopify sends with a delivery.
func shopifyHeaders(topic, delivery string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Hmac-Sha256", orders.Sign(shopSecret, body))
	h.Set("X-Shopify-Shop-Domain", "glow-labs.myshopify.com")
	h.Set("X-Shopify-Webhook-Id", delivery)
	h.Set("X-Shopify-Event-Id", "evt-"+delivery)
	h.Set("X-Shopify-Triggered-At", "2026-11-20T15:15:03.000Z")
	h.Set("X-Shopify-API-Version", "2026-10")
	return h
}

// wooHeaders are the headers WooCommerce sends with a delivery.
func wooHeaders(topic, delivery string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-WC-Webhook-Source", "https://glow.example/")
	h.Set("X-WC-Webhook-Topic", topic)
	res, ev, _ := strings.Cut(topic, ".")
	h.Set("X-WC-Webhook-Resource", res)
	h.Set("X-WC-Webhook-Event", ev)
	h.Set("X-WC-Webhook-Signature", orders.Sign(wooSecret, body))
	h.Set("X-WC-Webhook-ID", "17")
	h.Set("X-WC-Webhook-Delivery-ID", delivery)
	return h
}

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (e *env) list(t *testing.T) []orders.Order {
	t.Helper()
	os, err := e.svc.List(e.ctx, e.brand, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	return os
}

func wantCode(t *testing.T, err error, kind errs.Kind, code string) {
	t.Helper()
	if err == nil || errs.KindOf(err) != kind || errs.CodeOf(err) != code {
		t.Fatalf("error = %v (%s/%s), want %s/%s", err, errs.KindOf(err), errs.CodeOf(err), kind, code)
	}
}

func TestSignVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":1}`)
	// Known answer: printf '{"id":1}' | openssl dgst -sha256 -hmac secret -binary | base64
	if got, want := orders.Sign("secret", body), "A971iWIMgT8Zj9A9eWfikrFj7wQ16/Qwcc4OlRl2PLc="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	sig := orders.Sign("secret", body)
	cases := []struct {
		name, secret, sig string
		body              []byte
		code              string
	}{
		{"good", "secret", sig, body, ""},
		{"good with surrounding space", "secret", " " + sig + " ", body, ""},
		{"missing", "secret", "", body, "missing_signature"},
		{"other secret", "other", sig, body, "bad_signature"},
		{"tampered body", "secret", sig, []byte(`{"id":2}`), "bad_signature"},
		{"not base64", "secret", "%%%", body, "bad_signature"},
		{"truncated", "secret", sig[:20], body, "bad_signature"},
		{"hex instead of base64", "secret", "03def589620c813f198fd03d7967e292b163ef0435ebf43071ce0e9519763cb7", body, "bad_signature"},
	}
	for _, c := range cases {
		err := orders.Verify(c.secret, c.body, c.sig)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if errs.KindOf(err) != errs.Unauthorized || errs.CodeOf(err) != c.code {
			t.Errorf("%s: error %v, want unauthorized %s", c.name, err, c.code)
		}
	}
}

func TestConnectStore(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if e.shop.Shop != "glow-labs.myshopify.com" || e.shop.WebhookURL != "https://payper.example/webhooks/shopify/"+e.shop.ID {
			t.Errorf("shopify store = %+v", e.shop)
		}
		if e.woo.Shop != "https://glow.example" || e.woo.WebhookURL != "https://payper.example/webhooks/woocommerce/"+e.woo.ID {
			t.Errorf("woo store = %+v", e.woo)
		}
		bad := []struct {
			d           orders.StoreDraft
			field, code string
		}{
			{orders.StoreDraft{Platform: "magento", WebhookSecret: shopSecret}, "platform", "invalid"},
			{orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "https://x.myshopify.com", WebhookSecret: shopSecret}, "shop_domain", "invalid"},
			{orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "x.myshopify.com", WebhookSecret: "short"}, "webhook_secret", "invalid"},
			{orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "glow.example", WebhookSecret: wooSecret}, "site_url", "invalid"},
			{orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "ftp://glow.example", WebhookSecret: wooSecret}, "site_url", "invalid"},
		}
		for _, b := range bad {
			_, err := e.svc.ConnectStore(e.ctx, e.brand, b.d)
			var fe *errs.Error
			if !errs.Is(err, errs.Invalid) || errs.CodeOf(err) != b.code {
				t.Errorf("%+v: error %v, want invalid %s", b.d, err, b.code)
			} else if errorsAs(err, &fe); fe.Field != b.field {
				t.Errorf("%+v: field %q, want %q", b.d, fe.Field, b.field)
			}
		}
		_, err := e.svc.ConnectStore(e.ctx, e.brand, orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "glow-labs.myshopify.com", WebhookSecret: shopSecret})
		wantCode(t, err, errs.Conflict, "store_exists")
		_, err = e.svc.ConnectStore(e.ctx, identity.Principal{Role: identity.RoleCreator, SubjectID: "crt_x"}, orders.StoreDraft{})
		wantCode(t, err, errs.Forbidden, "forbidden")
		if n := count(t, db, "stores"); n != 2 {
			t.Errorf("%d stores, want 2", n)
		}
	})
}

// TestStoreSecretsSealed: webhook secrets and API credentials are stored
// sealed (never in clear), open only with the server's key and only in their
// own row, and bad credential fields are refused with nothing written.
func TestStoreSecretsSealed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		st, err := e.svc.ConnectStore(e.ctx, e.brand, orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "api.myshopify.com",
			WebhookSecret: shopSecret, AccessToken: "shpat_supersecrettoken"})
		if err != nil {
			t.Fatal(err)
		}
		if !st.HasAPI {
			t.Error("store with an access token reports no API")
		}
		var ws, creds string
		if err := db.Read().QueryRowContext(e.ctx, `SELECT webhook_secret, credentials FROM stores WHERE id = $1`, st.ID).Scan(&ws, &creds); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ws, "v1.") || strings.Contains(ws, shopSecret) || !strings.HasPrefix(creds, "v1.") || strings.Contains(creds, "supersecret") {
			t.Fatalf("stored in clear: webhook_secret %q credentials %q", ws, creds)
		}
		a, err := e.svc.Access(e.ctx, db.Read(), e.brand.BrandID(), st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.AccessToken != "shpat_supersecrettoken" || a.WebhookSecret != shopSecret || a.APIBase != "https://api.myshopify.com" {
			t.Errorf("access = %+v", a)
		}
		// A sealed value copied into another row does not open there.
		if _, err := db.Writer().ExecContext(e.ctx, `UPDATE stores SET credentials = $1 WHERE id = $2`, creds, e.shop.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Access(e.ctx, db.Read(), e.brand.BrandID(), e.shop.ID); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("moved ciphertext opened: %v", err)
		}
		// Another server key opens nothing.
		other, _ := secret.New([]byte("fedcba9876543210fedcba9876543210"))
		svc2 := orders.New(db, clock.NewFake(t0), "https://payper.example")
		svc2.SetSecretBox(other)
		if _, err := svc2.Access(e.ctx, db.Read(), e.brand.BrandID(), st.ID); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("wrong key opened: %v", err)
		}
		// No key: connecting is refused.
		_, err = orders.New(db, clock.NewFake(t0), "https://x").ConnectStore(e.ctx, e.brand, orders.StoreDraft{Platform: orders.Shopify,
			ShopDomain: "nokey.myshopify.com", WebhookSecret: shopSecret})
		wantCode(t, err, errs.Unavailable, "encryption_key_missing")
		bad := []struct {
			d     orders.StoreDraft
			field string
		}{
			{orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://w.example", WebhookSecret: wooSecret, AccessToken: "shpat_x"}, "access_token"},
			{orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://w.example", WebhookSecret: wooSecret, ConsumerKey: "key", ConsumerSecret: "cs_x"}, "consumer_key"},
			{orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://w.example", WebhookSecret: wooSecret, ConsumerKey: "ck_x", ConsumerSecret: "x"}, "consumer_secret"},
			{orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "s.myshopify.com", WebhookSecret: shopSecret, ConsumerKey: "ck_x", ConsumerSecret: "cs_x"}, "consumer_key"},
			{orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "s.myshopify.com", Sandbox: true}, "sandbox"},
			{orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://w.example", Sandbox: true}, "sandbox"},
		}
		for _, b := range bad {
			_, err := e.svc.ConnectStore(e.ctx, e.brand, b.d)
			var fe *errs.Error
			if !errors.As(err, &fe) || fe.Kind != errs.Invalid {
				t.Errorf("%+v: error %v, want invalid", b.d, err)
				continue
			}
			if fe.Field != b.field && !hasField(fe, b.field) {
				t.Errorf("%+v: error %v does not name %s", b.d, err, b.field)
			}
		}
		if n := count(t, db, "stores"); n != 3 {
			t.Errorf("%d stores, want 3", n)
		}
	})
}

func hasField(e *errs.Error, field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

func TestShopifyFixtures(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		create, paid, refund := fixture(t, "shopify_orders_create.json"), fixture(t, "shopify_orders_paid.json"), fixture(t, "shopify_refunds_create.json")

		// The same delivery 8 times (Shopify's retries) gives one order.
		for i := range 8 {
			rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "d-create", create), create)
			if err != nil {
				t.Fatalf("delivery %d: %v", i+1, err)
			}
			want := orders.OutcomeProcessed
			if i > 0 {
				want = orders.OutcomeDuplicate
			}
			if rc.Outcome != want {
				t.Fatalf("delivery %d: outcome %s, want %s", i+1, rc.Outcome, want)
			}
		}
		if n := count(t, db, "orders"); n != 1 {
			t.Fatalf("%d orders after 8 deliveries, want 1", n)
		}
		if n := count(t, db, "webhook_deliveries"); n != 1 {
			t.Fatalf("%d deliveries stored, want 1", n)
		}
		o := e.list(t)[0]
		if o.ExternalID != "820982911946154508" || o.Amount.Micros != 89_900_000 || o.Amount.Currency != "EUR" || o.Status != "pending" ||
			o.CustomerID != "115310627314723954" || o.ClickID != "0123456789abcdef" || strings.Join(o.DiscountCodes, ",") != "MARIA15" ||
			o.StoreID != e.shop.ID || o.Source != orders.Shopify {
			t.Errorf("order = %+v", o)
		}
		if want := clock.MicrosOf(time.Date(2026, 11, 20, 15, 15, 0, 0, time.UTC)); o.PlacedAt != want {
			t.Errorf("placed_at = %v, want %v", o.PlacedAt.Time(), want.Time())
		}

		// The same order through another delivery (orders/paid) updates it.
		rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/paid", "d-paid", paid), paid)
		if err != nil || rc.Outcome != orders.OutcomeProcessed || rc.OrderID != o.ID {
			t.Fatalf("orders/paid: %+v, %v (order %s)", rc, err, o.ID)
		}
		// A late orders/create under a new delivery id does not undo "paid".
		if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "d-create-late", create), create); err != nil {
			t.Fatal(err)
		}
		os := e.list(t)
		if len(os) != 1 || os[0].Status != "paid" || os[0].ClickID != "fedcba9876543210" {
			t.Fatalf("after orders/paid: %+v", os)
		}

		// A refund is added once, however often it is delivered.
		for _, d := range []string{"d-refund", "d-refund", "d-refund-again"} {
			rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("refunds/create", d, refund), refund)
			if err != nil || rc.OrderID == "" && rc.Outcome != orders.OutcomeDuplicate {
				t.Fatalf("refund %s: %+v, %v", d, rc, err)
			}
		}
		os = e.list(t)
		if len(os[0].Refunds) != 1 || os[0].Refunds[0].ID != "509562969" || os[0].Refunds[0].Amount.Micros != 30_000_000 {
			t.Fatalf("refunds = %+v", os[0].Refunds)
		}

		// A refund of an order payper has not seen yet is kept pending, not failed.
		other := []byte(strings.Replace(string(refund), "820982911946154508", "1", 1))
		rc, err = e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("refunds/create", "d-refund-unknown", other), other)
		if err != nil || rc.Outcome != orders.OutcomePending {
			t.Fatalf("refund of unknown order: %+v, %v", rc, err)
		}
		// An unsupported topic is answered and recorded as ignored.
		rc, err = e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("customers/create", "d-cust", []byte(`{"id":5}`)), []byte(`{"id":5}`))
		if err != nil || rc.Outcome != orders.OutcomeIgnored {
			t.Fatalf("customers/create: %+v, %v", rc, err)
		}
		if n := count(t, db, "order_refunds"); n != 1 {
			t.Errorf("%d refunds, want 1", n)
		}
	})
}

func TestWooCommerceFixtures(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		created, updated := fixture(t, "woocommerce_order_created.json"), fixture(t, "woocommerce_order_updated_refund.json")

		// The unsigned ping on webhook creation is answered and stores nothing.
		ping := http.Header{}
		ping.Set("Content-Type", "application/x-www-form-urlencoded")
		rc, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, ping, []byte("webhook_id=17"))
		if err != nil || rc.Outcome != orders.OutcomePing {
			t.Fatalf("ping: %+v, %v", rc, err)
		}
		// Anything else unsigned is refused.
		_, err = e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, ping, []byte("webhook_id=17&x=1"))
		wantCode(t, err, errs.Unauthorized, "missing_signature")
		if n := count(t, db, "webhook_deliveries"); n != 0 {
			t.Fatalf("%d deliveries after a ping", n)
		}

		for i := range 8 {
			if _, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.created", "wc-1", created), created); err != nil {
				t.Fatalf("delivery %d: %v", i+1, err)
			}
		}
		os := e.list(t)
		if len(os) != 1 {
			t.Fatalf("%d orders after 8 deliveries, want 1", len(os))
		}
		o := os[0]
		if o.ExternalID != "727" || o.Amount.Micros != 42_500_000 || o.Status != "processing" || o.CustomerID != "26" ||
			o.ClickID != "abcdef0123456789" || strings.Join(o.DiscountCodes, ",") != "BEN10" || len(o.Refunds) != 0 {
			t.Errorf("order = %+v", o)
		}
		// order.updated with a refund, delivered twice under different ids: one refund.
		for _, d := range []string{"wc-2", "wc-3"} {
			if _, err := e.svc.Receive(e.ctx, orders.WooCommerce, e.woo.ID, wooHeaders("order.updated", d, updated), updated); err != nil {
				t.Fatal(err)
			}
		}
		os = e.list(t)
		if len(os) != 1 || len(os[0].Refunds) != 1 || os[0].Refunds[0].ID != "726" || os[0].Refunds[0].Amount.Micros != 12_500_000 {
			t.Fatalf("after order.updated: %+v", os)
		}
	})
}

// TestRefusedDeliveries checks that every refused delivery (unsigned,
// another shop's, an unknown store's, without a delivery id) stores nothing.
func TestRefusedDeliveries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		create := fixture(t, "shopify_orders_create.json")
		woo := fixture(t, "woocommerce_order_created.json")
		tampered := []byte(strings.Replace(string(create), `"89.90"`, `"8990.00"`, 1))
		cases := []struct {
			name, platform, store string
			h                     http.Header
			body                  []byte
			kind                  errs.Kind
			code                  string
		}{
			{"missing signature", orders.Shopify, e.shop.ID, func() http.Header {
				h := shopifyHeaders("orders/create", "x", create)
				h.Del("X-Shopify-Hmac-Sha256")
				return h
			}(), create, errs.Unauthorized, "missing_signature"},
			{"tampered body", orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "x", create), tampered, errs.Unauthorized, "bad_signature"},
			{"signed with another secret", orders.WooCommerce, e.woo.ID, func() http.Header {
				h := wooHeaders("order.created", "x", woo)
				h.Set("X-WC-Webhook-Signature", orders.Sign(shopSecret, woo))
				return h
			}(), woo, errs.Unauthorized, "bad_signature"},
			{"another shop", orders.Shopify, e.shop.ID, func() http.Header {
				h := shopifyHeaders("orders/create", "x", create)
				h.Set("X-Shopify-Shop-Domain", "evil.myshopify.com")
				return h
			}(), create, errs.Unauthorized, "wrong_shop"},
			{"another site", orders.WooCommerce, e.woo.ID, func() http.Header {
				h := wooHeaders("order.created", "x", woo)
				h.Set("X-WC-Webhook-Source", "https://evil.example/")
				return h
			}(), woo, errs.Unauthorized, "wrong_shop"},
			{"unknown store", orders.Shopify, "sto_00000000000000000000000000", shopifyHeaders("orders/create", "x", create), create, errs.NotFound, "not_found"},
			{"store on the other platform", orders.WooCommerce, e.shop.ID, wooHeaders("order.created", "x", woo), woo, errs.NotFound, "not_found"},
			{"no delivery id", orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "", create), create, errs.Invalid, "missing_delivery_id"},
			// A signed payload payper refuses is acknowledged and recorded
			// as rejected: see TestBadAmountsRejected.
		}
		for _, c := range cases {
			_, err := e.svc.Receive(e.ctx, c.platform, c.store, c.h, c.body)
			if errs.KindOf(err) != c.kind || errs.CodeOf(err) != c.code {
				t.Errorf("%s: error %v, want %s/%s", c.name, err, c.kind, c.code)
			}
		}
		for _, table := range []string{"webhook_deliveries", "orders", "order_refunds"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("%d rows in %s after refused deliveries", n, table)
			}
		}
	})
}

// TestConcurrentDeliveries delivers the same order under one delivery id
// and under several at once: one order, whatever the interleaving.
func TestConcurrentDeliveries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		create := fixture(t, "shopify_orders_create.json")
		var wg sync.WaitGroup
		errc := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				d := "same"
				if i%2 == 1 {
					d = "d-" + string(rune('a'+i))
				}
				_, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", d, create), create)
				errc <- err
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, db, "orders"); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
		if n := count(t, db, "webhook_deliveries"); n != 9 {
			t.Fatalf("%d deliveries, want 9", n)
		}
	})
}

func TestConversions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		eur := func(s string) []byte { return []byte(`{"amount":"` + s + `","currency":"EUR"}`) }
		bad := []struct {
			c           orders.Conversion
			field, code string
		}{
			{orders.Conversion{Amount: eur("10")}, "order_id", "invalid"},
			{orders.Conversion{OrderID: "has space", Amount: eur("10")}, "order_id", "invalid"},
			{orders.Conversion{OrderID: "A-1"}, "amount", "required"},
			{orders.Conversion{OrderID: "A-1", Amount: []byte(`{"amount":10.5,"currency":"EUR"}`)}, "amount", "invalid_amount"},
			{orders.Conversion{OrderID: "A-1", Amount: eur("0")}, "amount.amount", "invalid_amount"},
			{orders.Conversion{OrderID: "A-1", Amount: []byte(`{"amount":"10","currency":"JPY"}`)}, "currency", "unknown_currency"},
			{orders.Conversion{OrderID: "A-1", Amount: eur("10"), Code: strings.Repeat("x", 65)}, "code", "invalid"},
			{orders.Conversion{OrderID: "A-1", Amount: eur("10"), ClickID: "a b"}, "click_id", "invalid"},
			{orders.Conversion{OrderID: "A-1", Amount: eur("10"), CustomerID: "\x00"}, "customer_id", "invalid"},
		}
		for _, b := range bad {
			_, _, err := e.svc.Convert(e.ctx, e.brand, b.c)
			var fe *errs.Error
			if !errs.Is(err, errs.Invalid) || errs.CodeOf(err) != b.code {
				t.Errorf("%+v: error %v, want invalid %s", b.c, err, b.code)
			} else if errorsAs(err, &fe); !strings.HasSuffix(fe.Field, b.field) {
				t.Errorf("%+v: field %q, want %q", b.c, fe.Field, b.field)
			}
		}
		if n := count(t, db, "orders"); n != 0 {
			t.Fatalf("%d orders after bad conversions", n)
		}
		c := orders.Conversion{OrderID: "A-1", Amount: eur("49.90"), Code: "maria15", ClickID: "0123456789abcdef", CustomerID: "cust-9"}
		o, created, err := e.svc.Convert(e.ctx, e.brand, c)
		if err != nil || !created || o.Amount.Micros != 49_900_000 || o.Source != orders.SourceAPI || o.DiscountCodes[0] != "MARIA15" {
			t.Fatalf("convert: %+v, %v, %v", o, created, err)
		}
		for range 3 {
			again, created, err := e.svc.Convert(e.ctx, e.brand, c)
			if err != nil || created || again.ID != o.ID {
				t.Fatalf("replay: %+v, %v, %v", again, created, err)
			}
		}
		c2 := c
		c2.Amount = eur("59.90")
		_, _, err = e.svc.Convert(e.ctx, e.brand, c2)
		wantCode(t, err, errs.Conflict, "order_conflict")
		_, _, err = e.svc.Convert(e.ctx, identity.Principal{Role: identity.RoleAdmin}, c)
		wantCode(t, err, errs.Forbidden, "forbidden")
		if n := count(t, db, "orders"); n != 1 {
			t.Fatalf("%d orders, want 1", n)
		}
		// The same order id from a store is another order (another channel).
		create := fixture(t, "shopify_orders_create.json")
		if _, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", "d1", create), create); err != nil {
			t.Fatal(err)
		}
		os := e.list(t)
		if len(os) != 2 || os[0].Source != orders.Shopify || os[1].ID != o.ID {
			t.Fatalf("list = %+v", os)
		}
		page, err := e.svc.List(e.ctx, e.brand, os[0].ID, 50)
		if err != nil || len(page) != 1 || page[0].ID != o.ID {
			t.Fatalf("page before %s = %+v, %v", os[0].ID, page, err)
		}
	})
}

func errorsAs(err error, target **errs.Error) bool { return errors.As(err, target) }
