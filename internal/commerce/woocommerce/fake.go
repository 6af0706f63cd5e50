package woocommerce

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FakeCoupon is a coupon the Fake created, with values as received on the
// wire except Code, which is lower-cased as WooCommerce does.
type FakeCoupon struct {
	ID                int64
	Code              string
	DiscountType      string
	Amount            string // as received, e.g. "15" or "12.50"
	UsageLimit        int    // 0 = none sent
	UsageLimitPerUser int    // 0 = none sent
	DateExpires       string // as received, "" if none
	DateExpiresGMT    string // as received, "" if none; WooCommerce does not store it
	// ExpiresAt is the instant WooCommerce stores from date_expires (zero
	// for none), read as ReadDateExpires does; it is what the store
	// compares with the time a customer applies the coupon.
	ExpiresAt     time.Time
	Description   string
	IndividualUse bool
}

// Fake is an http.Handler answering like the WooCommerce REST API v3 coupons
// endpoints (POST and GET /wp-json/wc/v3/coupons) of one site. Use it with
// httptest.NewServer and set Client.SiteURL to the server's URL. It is safe
// for concurrent use.
type Fake struct {
	key, secret string

	mu       sync.Mutex
	site     *time.Location
	coupons  []FakeCoupon
	throttle int
	requests int
}

// NewFake returns a Fake accepting only consumerKey and consumerSecret.
func NewFake(consumerKey, consumerSecret string) *Fake {
	return &Fake{key: consumerKey, secret: consumerSecret, site: time.UTC}
}

// SetTimeZone sets the site's time zone (WordPress Settings › General ›
// Timezone; UTC until set), in which WooCommerce reads a date_expires
// without an offset and shows date_expires in answers.
func (f *Fake) SetTimeZone(loc *time.Location) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.site = loc
}

// isoWithOffset is the pattern WC_Data::set_date_prop (WooCommerce,
// plugins/woocommerce/includes/abstracts/abstract-wc-data.php) matches to
// read a string date in the offset it carries.
var isoWithOffset = regexp.MustCompile(`^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(Z|((-|\+)\d{2}:\d{2}))$`)

// ReadDateExpires returns the instant WooCommerce stores for a coupon's
// date_expires string on a site in time zone site, as WC_Data::set_date_prop
// reads it: "YYYY-MM-DDTHH:MM:SS" followed by Z or ±HH:MM is that instant;
// any other string is a time in the site's time zone (WooCommerce hands it
// to strtotime; the Fake accepts only "YYYY-MM-DDTHH:MM:SS" and reports
// false for the rest). The REST schema
// (https://woocommerce.github.io/woocommerce-rest-api-docs/#coupon-properties)
// describes date_expires as "in the site's timezone" and date_expires_gmt
// "as GMT", but only date_expires is written: the v2 coupons controller,
// which /wc/v3 inherits, sets each property through a set_<name> method and
// WC_Coupon has no set_date_expires_gmt, so date_expires_gmt is dropped
// without an error (class-wc-rest-coupons-v2-controller.php,
// prepare_object_for_database).
func ReadDateExpires(v string, site *time.Location) (time.Time, bool) {
	if isoWithOffset.MatchString(v) {
		t, err := time.Parse(time.RFC3339, v)
		return t.UTC(), err == nil
	}
	t, err := time.ParseInLocation(DateLayout, v, site)
	return t.UTC(), err == nil
}

// ThrottleNext makes the next n requests answer 429 with Retry-After: 1.
func (f *Fake) ThrottleNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle = n
}

// Coupons returns a copy of the coupons created so far, oldest first.
func (f *Fake) Coupons() []FakeCoupon {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeCoupon(nil), f.coupons...)
}

// Requests returns how many requests reached the handler.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// AddCoupon stores a coupon as if created in the WooCommerce admin, and
// returns its id; the code is lower-cased. It does not check uniqueness.
func (f *Fake) AddCoupon(c FakeCoupon) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	c.ID = f.nextID()
	c.Code = strings.ToLower(c.Code)
	f.coupons = append(f.coupons, c)
	return c.ID
}

func (f *Fake) nextID() int64 { return int64(100 + len(f.coupons) + 1) }

const couponsPath = "/wp-json/wc/v3/coupons"

// ServeHTTP answers one REST API request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++

	if f.throttle > 0 {
		f.throttle--
		w.Header().Set("Retry-After", "1")
		wpError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests. Please wait and try again.")
		return
	}
	if r.URL.Path != couponsPath || (r.Method != http.MethodPost && r.Method != http.MethodGet) {
		wpError(w, http.StatusNotFound, "rest_no_route", "No route was found matching the URL and request method.")
		return
	}
	key, secret, ok := r.BasicAuth()
	if !ok || f.key == "" ||
		subtle.ConstantTimeCompare([]byte(key), []byte(f.key)) != 1 ||
		subtle.ConstantTimeCompare([]byte(secret), []byte(f.secret)) != 1 {
		if r.Method == http.MethodPost {
			wpError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources.")
		} else {
			wpError(w, http.StatusUnauthorized, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
		}
		return
	}
	if r.Method == http.MethodGet {
		f.list(w, r)
		return
	}
	f.create(w, r)
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code              *string `json:"code"`
		DiscountType      *string `json:"discount_type"`
		Amount            *string `json:"amount"`
		UsageLimit        *int    `json:"usage_limit"`
		UsageLimitPerUser *int    `json:"usage_limit_per_user"`
		DateExpires       *string `json:"date_expires"`
		DateExpiresGMT    *string `json:"date_expires_gmt"`
		Description       *string `json:"description"`
		IndividualUse     *bool   `json:"individual_use"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		wpError(w, http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): code")
		return
	}
	if err := json.Unmarshal(body, &in); err != nil {
		wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+err.Error())
		return
	}
	if in.Code == nil || strings.TrimSpace(*in.Code) == "" {
		wpError(w, http.StatusBadRequest, "rest_missing_callback_param", "Missing parameter(s): code")
		return
	}
	c := FakeCoupon{Code: strings.ToLower(strings.TrimSpace(*in.Code)), DiscountType: "fixed_cart", Amount: "0"}
	if in.DiscountType != nil {
		switch *in.DiscountType {
		case "percent", "fixed_cart", "fixed_product":
			c.DiscountType = *in.DiscountType
		default:
			wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): discount_type")
			return
		}
	}
	if in.Amount != nil {
		a, err := strconv.ParseFloat(*in.Amount, 64)
		if err != nil || a < 0 {
			wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): amount")
			return
		}
		if c.DiscountType == "percent" && a > 100 {
			wpError(w, http.StatusBadRequest, "woocommerce_rest_invalid_coupon_amount", "Percentage discount cannot be more than 100.")
			return
		}
		c.Amount = *in.Amount
	}
	for _, p := range []struct {
		v   *int
		dst *int
		n   string
	}{{in.UsageLimit, &c.UsageLimit, "usage_limit"}, {in.UsageLimitPerUser, &c.UsageLimitPerUser, "usage_limit_per_user"}} {
		if p.v != nil {
			if *p.v < 0 {
				wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): "+p.n)
				return
			}
			*p.dst = *p.v
		}
	}
	if in.DateExpires != nil && *in.DateExpires != "" {
		t, ok := ReadDateExpires(*in.DateExpires, f.site)
		if !ok {
			wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): date_expires")
			return
		}
		c.DateExpires, c.ExpiresAt = *in.DateExpires, t
	}
	if in.DateExpiresGMT != nil {
		c.DateExpiresGMT = *in.DateExpiresGMT // kept for inspection, not stored: see ReadDateExpires
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.IndividualUse != nil {
		c.IndividualUse = *in.IndividualUse
	}
	for _, old := range f.coupons {
		if old.Code == c.Code {
			wpError(w, http.StatusBadRequest, "woocommerce_rest_coupon_code_already_exists", "The coupon code already exists")
			return
		}
	}
	c.ID = f.nextID()
	f.coupons = append(f.coupons, c)
	writeJSON(w, http.StatusCreated, f.couponJSON(c))
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page, perPage := 1, 10
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): page")
			return
		}
		page = n
	}
	if s := q.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			wpError(w, http.StatusBadRequest, "rest_invalid_param", "Invalid parameter(s): per_page")
			return
		}
		perPage = n
	}
	var match []FakeCoupon
	code := strings.ToLower(strings.TrimSpace(q.Get("code")))
	for _, c := range f.coupons {
		if code == "" || c.Code == code {
			match = append(match, c)
		}
	}
	total := len(match)
	pages := (total + perPage - 1) / perPage
	out := []map[string]any{}
	for i := (page - 1) * perPage; i < min(page*perPage, total); i++ {
		out = append(out, f.couponJSON(match[i]))
	}
	w.Header().Set("X-WP-Total", strconv.Itoa(total))
	w.Header().Set("X-WP-TotalPages", strconv.Itoa(pages))
	writeJSON(w, http.StatusOK, out)
}

// couponJSON renders c roughly as WooCommerce does; the amount is shown as
// received rather than re-formatted to two decimals. The expiry is shown
// from the stored instant, date_expires in the site's time zone and
// date_expires_gmt in UTC, both without an offset (wc_rest_prepare_date_response).
func (f *Fake) couponJSON(c FakeCoupon) map[string]any {
	opt := func(n int) any {
		if n == 0 {
			return nil
		}
		return n
	}
	date := func(loc *time.Location) any {
		if c.ExpiresAt.IsZero() {
			return nil
		}
		return c.ExpiresAt.In(loc).Format(DateLayout)
	}
	return map[string]any{
		"id":                   c.ID,
		"code":                 c.Code,
		"amount":               c.Amount,
		"discount_type":        c.DiscountType,
		"description":          c.Description,
		"date_expires":         date(f.site),
		"date_expires_gmt":     date(time.UTC),
		"usage_count":          0,
		"individual_use":       c.IndividualUse,
		"usage_limit":          opt(c.UsageLimit),
		"usage_limit_per_user": opt(c.UsageLimitPerUser),
		"product_ids":          []int{},
		"email_restrictions":   []string{},
	}
}

func wpError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg, "data": map[string]any{"status": status}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client gone away is not the fake's problem
}
