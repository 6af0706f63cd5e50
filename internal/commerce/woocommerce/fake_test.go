package woocommerce_test

import (
	"net/http/httptest"
	"strings"
	"testing"

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
