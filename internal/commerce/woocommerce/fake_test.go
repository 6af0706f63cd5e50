package woocommerce_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/commerce/woocommerce"
)

func TestFakeRejects(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	fake.AddCoupon(woocommerce.FakeCoupon{Code: "TAKEN", DiscountType: "percent", Amount: "10"})
	const path = "/wp-json/wc/v3/coupons"
	tests := []struct {
		name, method, path, body string
		auth                     bool
		status                   int
		want                     string
	}{
		{"no auth", "POST", path, `{"code":"a"}`, false, 401, "woocommerce_rest_cannot_create"},
		{"no auth list", "GET", path, "", false, 401, "woocommerce_rest_cannot_view"},
		{"no route", "POST", "/wp-json/wc/v3/orders", `{}`, true, 404, "rest_no_route"},
		{"no code", "POST", path, `{"amount":"5"}`, true, 400, "Missing parameter(s): code"},
		{"amount as number", "POST", path, `{"code":"a","amount":5}`, true, 400, "rest_invalid_param"},
		{"bad type", "POST", path, `{"code":"a","discount_type":"bogo"}`, true, 400, "discount_type"},
		{"percent over 100", "POST", path, `{"code":"a","discount_type":"percent","amount":"150"}`, true, 400, "more than 100"},
		{"bad date", "POST", path, `{"code":"a","date_expires":"31/12/2026"}`, true, 400, "date_expires"},
		{"taken", "POST", path, `{"code":"Taken"}`, true, 400, "woocommerce_rest_coupon_code_already_exists"},
		{"per_page over 100", "GET", path + "?per_page=101", "", true, 400, "per_page"},
		{"list", "GET", path + "?code=TAKEN", "", true, 200, `"code":"taken"`},
		{"created", "POST", path, `{"code":"New","amount":"5"}`, true, 201, `"code":"new"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			if tt.auth {
				r.SetBasicAuth(ck, cs)
			}
			w := httptest.NewRecorder()
			fake.ServeHTTP(w, r)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("got %d %s, want %d containing %q", w.Code, w.Body, tt.status, tt.want)
			}
		})
	}
	if n := len(fake.Coupons()); n != 2 {
		t.Fatalf("%d coupons, want 2", n)
	}
	r := httptest.NewRequest("GET", path+"?per_page=1&page=2", nil)
	r.SetBasicAuth(ck, cs)
	w := httptest.NewRecorder()
	fake.ServeHTTP(w, r)
	if w.Header().Get("X-WP-Total") != "2" || w.Header().Get("X-WP-TotalPages") != "2" || !strings.Contains(w.Body.String(), `"code":"new"`) {
		t.Fatalf("page 2: %v %s", w.Header(), w.Body)
	}
}

// TestReadDateExpires follows WC_Data::set_date_prop: an offset names the
// instant, no offset means site time.
func TestReadDateExpires(t *testing.T) {
	t.Parallel()
	ny := time.FixedZone("EST", -5*3600)
	for _, tt := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-12-31T23:00:00Z", time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), true},
		{"2026-12-31T23:00:00+01:00", time.Date(2026, 12, 31, 22, 0, 0, 0, time.UTC), true},
		{"2026-12-31T23:00:00", time.Date(2027, 1, 1, 4, 0, 0, 0, time.UTC), true},
		{"2026-12-31T23:00:00.5Z", time.Time{}, false},
		{"31/12/2026", time.Time{}, false},
	} {
		got, ok := woocommerce.ReadDateExpires(tt.in, ny)
		if ok != tt.ok || (ok && !got.Equal(tt.want)) {
			t.Errorf("ReadDateExpires(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestFakeDropsDateExpiresGMT: WooCommerce has no setter for
// date_expires_gmt, so a coupon sent with only that field never expires.
func TestFakeDropsDateExpiresGMT(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	r := httptest.NewRequest("POST", "/wp-json/wc/v3/coupons", strings.NewReader(`{"code":"a","date_expires_gmt":"2026-12-31T23:00:00"}`))
	r.Header.Set("Content-Type", "application/json")
	r.SetBasicAuth(ck, cs)
	w := httptest.NewRecorder()
	fake.ServeHTTP(w, r)
	if w.Code != 201 || !strings.Contains(w.Body.String(), `"date_expires_gmt":null`) {
		t.Fatalf("got %d %s", w.Code, w.Body)
	}
	if c := fake.Coupons(); len(c) != 1 || !c[0].ExpiresAt.IsZero() {
		t.Fatalf("coupons = %+v", c)
	}
}
