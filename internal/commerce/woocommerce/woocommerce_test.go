package woocommerce_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/commerce"
	"github.com/payper/payper/internal/commerce/woocommerce"
)

const (
	ck = "ck_test"
	cs = "cs_test"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// wire records request bodies on their way to h.
type wire struct {
	h    http.Handler
	mu   sync.Mutex
	last []byte
}

func (w *wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.last = b
	w.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(b))
	w.h.ServeHTTP(rw, r)
}

func (w *wire) lastJSON(t *testing.T) map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var v map[string]any
	if err := json.Unmarshal(w.last, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func setup(t *testing.T, h http.Handler) (*woocommerce.Client, *sleeps) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := &sleeps{}
	return &woocommerce.Client{SiteURL: srv.URL + "/", ConsumerKey: ck, ConsumerSecret: cs, HTTP: srv.Client(), Sleep: s.sleep}, s
}

func percent(code string, bps int64) commerce.Discount {
	return commerce.Discount{Code: code, Title: "payper: Spring launch — anna", PercentBps: bps, StartsAt: start}
}

func TestCreatePercent(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	w := &wire{h: fake}
	fake.SetTimeZone(time.FixedZone("CET", 3600))
	c, _ := setup(t, w)
	d := percent("ANNA15", 1550)
	d.EndsAt = time.Date(2026, 12, 31, 22, 59, 59, 0, time.UTC)
	d.UsageLimit = 100
	d.OncePerCustomer = true
	got, err := c.CreateCode(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExternalID != "101" {
		t.Fatalf("ExternalID = %q", got.ExternalID)
	}
	body := w.lastJSON(t)
	want := map[string]any{
		"code": "ANNA15", "discount_type": "percent", "amount": "15.5",
		"usage_limit": 100.0, "usage_limit_per_user": 1.0,
		"date_expires": "2026-12-31T22:59:59Z", "date_expires_gmt": "2026-12-31T22:59:59",
		"description": d.Title, "individual_use": false,
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("%s on the wire = %#v, want %#v", k, body[k], v)
		}
	}
	coupons := fake.Coupons()
	wantC := woocommerce.FakeCoupon{
		ID: 101, Code: "anna15", DiscountType: "percent", Amount: "15.5", UsageLimit: 100, UsageLimitPerUser: 1,
		DateExpires: "2026-12-31T22:59:59Z", DateExpiresGMT: "2026-12-31T22:59:59", ExpiresAt: d.EndsAt, Description: d.Title,
	}
	if len(coupons) != 1 || coupons[0] != wantC {
		t.Fatalf("Coupons() = %+v, want %+v", coupons, wantC)
	}
}

func TestCreateFixedAmount(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	w := &wire{h: fake}
	c, _ := setup(t, w)
	d := commerce.Discount{Code: "ANNA-FIVE", Title: "t", AmountOff: 12_500_000, Currency: "EUR", StartsAt: start}
	if _, err := c.CreateCode(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	body := w.lastJSON(t)
	if body["discount_type"] != "fixed_cart" || body["amount"] != "12.50" {
		t.Fatalf("body = %v", body)
	}
	for _, k := range []string{"usage_limit", "usage_limit_per_user", "date_expires", "date_expires_gmt"} {
		if _, ok := body[k]; ok {
			t.Errorf("%s sent for an unlimited open-ended code", k)
		}
	}
}

func TestCreateTaken(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	c, _ := setup(t, fake)
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateCode(context.Background(), percent("Anna15", 1000))
	if !errors.Is(err, commerce.ErrCodeTaken) {
		t.Fatalf("err = %v, want ErrCodeTaken", err)
	}
	var apiErr *woocommerce.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Message != "The coupon code already exists" {
		t.Fatalf("err = %#v", err)
	}
}

func TestCreateThrottledThenSuccess(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	c, s := setup(t, fake)
	fake.ThrottleNext(2)
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	if got := s.got(); !slices.Equal(got, []time.Duration{time.Second, time.Second}) {
		t.Fatalf("waits = %v, want [1s 1s]", got)
	}
	if fake.Requests() != 3 || len(fake.Coupons()) != 1 {
		t.Fatalf("requests = %d", fake.Requests())
	}
}

func TestCreateThrottledForever(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	c, s := setup(t, fake)
	fake.ThrottleNext(100)
	_, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
	if !errors.Is(err, commerce.ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
	if len(s.got()) != woocommerce.MaxRetries || fake.Requests() != woocommerce.MaxRetries+1 {
		t.Fatalf("waits = %v, requests = %d", s.got(), fake.Requests())
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	var once sync.Once
	c, s := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	if got := s.got(); !slices.Equal(got, []time.Duration{7 * time.Second}) {
		t.Fatalf("waits = %v, want [7s]", got)
	}
}

func TestWrongCredentials(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, woocommerce.NewFake(ck, "cs_other"))
	_, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
	if !errors.Is(err, commerce.ErrUnauthorized) || !strings.Contains(err.Error(), "woocommerce_rest_cannot_create") {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	_, _, err = c.FindCode(context.Background(), "ANNA15")
	if !errors.Is(err, commerce.ErrUnauthorized) {
		t.Fatalf("FindCode err = %v, want ErrUnauthorized", err)
	}
}

func TestServerError(t *testing.T) {
	t.Parallel()
	calls := 0
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"code":"internal_server_error","message":"There has been a critical error on this website.","data":{"status":500}}`)
	}))
	_, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
	if err == nil || !strings.Contains(err.Error(), "HTTP 500: internal_server_error: There has been a critical error") {
		t.Fatalf("err = %v", err)
	}
	for _, e := range []error{commerce.ErrThrottled, commerce.ErrUnauthorized, commerce.ErrCodeTaken} {
		if errors.Is(err, e) {
			t.Fatalf("err %v wraps %v", err, e)
		}
	}
	if calls != 1 {
		t.Fatalf("a 500 was retried (%d calls)", calls)
	}
}

func TestOtherAPIError(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `<html>bad gateway page</html>`)
	}))
	_, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
	var apiErr *woocommerce.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.Contains(apiErr.Message, "bad gateway page") {
		t.Fatalf("err = %v", err)
	}
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	c, _ := setup(t, fake)
	c.Sleep = nil // the real timer: the fake asks for 1 s
	fake.ThrottleNext(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := c.CreateCode(ctx, percent("ANNA15", 1500))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if time.Since(began) > 500*time.Millisecond || fake.Requests() != 1 {
		t.Fatalf("took %v, %d requests", time.Since(began), fake.Requests())
	}
}

func TestFindCode(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	c, _ := setup(t, fake)
	created, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := c.FindCode(context.Background(), "Anna15")
	if err != nil || !ok || got != created {
		t.Fatalf("FindCode = %v, %v, %v; want %v", got, ok, err, created)
	}
	got, ok, err = c.FindCode(context.Background(), "NOPE")
	if err != nil || ok || got != (commerce.Created{}) {
		t.Fatalf("FindCode(missing) = %v, %v, %v", got, ok, err)
	}
	fake.ThrottleNext(1)
	if _, ok, err := c.FindCode(context.Background(), "anna15"); err != nil || !ok {
		t.Fatalf("FindCode after 429 = %v, %v", ok, err)
	}
	if _, _, err := c.FindCode(context.Background(), " "); err == nil {
		t.Fatal("FindCode(blank) succeeded")
	}
}

func TestFindCodePages(t *testing.T) {
	t.Parallel()
	// A store whose code filter is loose: the exact match is on page 2.
	var pages []string
	c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pages = append(pages, r.URL.Query().Get("page"))
		if r.URL.Query().Get("per_page") != "100" || r.URL.Query().Get("code") != "anna" {
			t.Errorf("query = %s", r.URL.RawQuery)
		}
		w.Header().Set("X-WP-Total", "2")
		w.Header().Set("X-WP-TotalPages", "3")
		switch r.URL.Query().Get("page") {
		case "1":
			io.WriteString(w, `[{"id":5,"code":"anna15"}]`)
		case "2":
			io.WriteString(w, `[{"id":9,"code":"anna"}]`)
		default:
			io.WriteString(w, `[]`)
		}
	}))
	got, ok, err := c.FindCode(context.Background(), "anna")
	if err != nil || !ok || got.ExternalID != "9" || !slices.Equal(pages, []string{"1", "2"}) {
		t.Fatalf("FindCode = %v, %v, %v after pages %v", got, ok, err, pages)
	}
}

func TestClientConfigErrors(t *testing.T) {
	t.Parallel()
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	defer srv.Close()
	for name, c := range map[string]*woocommerce.Client{
		"no site":     {ConsumerKey: ck, ConsumerSecret: cs},
		"no key":      {SiteURL: srv.URL, ConsumerSecret: cs},
		"no secret":   {SiteURL: srv.URL, ConsumerKey: ck},
		"plain http":  {SiteURL: "http://shop.example.com", ConsumerKey: ck, ConsumerSecret: cs},
		"no scheme":   {SiteURL: "shop.example.com", ConsumerKey: ck, ConsumerSecret: cs},
		"with query":  {SiteURL: srv.URL + "/?x=1", ConsumerKey: ck, ConsumerSecret: cs},
		"credentials": {SiteURL: "https://u:p@shop.example.com", ConsumerKey: ck, ConsumerSecret: cs},
	} {
		if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if calls != 0 {
		t.Fatalf("%d requests sent", calls)
	}
}

func TestSubdirectorySite(t *testing.T) {
	t.Parallel()
	fake := woocommerce.NewFake(ck, cs)
	mux := http.NewServeMux()
	mux.Handle("/shop/", http.StripPrefix("/shop", fake))
	c, _ := setup(t, mux)
	c.SiteURL = strings.TrimSuffix(c.SiteURL, "/") + "/shop/"
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
}

// TestCouponExpiresAtTheInstant: a code ending at a UTC instant expires at
// that instant in a shop whatever its time zone. WooCommerce reads an
// offset-less date_expires in the site's time zone and drops
// date_expires_gmt (see woocommerce.ReadDateExpires); the old client sent
// the UTC wall-clock time without an offset, so a New York shop kept the
// code five hours too long and a Tokyo shop closed it nine hours early.
func TestCouponExpiresAtTheInstant(t *testing.T) {
	t.Parallel()
	ends := time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)
	for _, site := range []*time.Location{
		time.UTC,
		time.FixedZone("EST", -5*3600),
		time.FixedZone("JST", 9*3600),
		time.FixedZone("ACDT", 10*3600+1800),
	} {
		t.Run(site.String(), func(t *testing.T) {
			t.Parallel()
			fake := woocommerce.NewFake(ck, cs)
			fake.SetTimeZone(site)
			c, _ := setup(t, fake)
			d := percent("ANNA15", 1500)
			d.EndsAt = ends.Add(400 * time.Millisecond) // rounded down to the second
			if _, err := c.CreateCode(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			got := fake.Coupons()
			if len(got) != 1 || !got[0].ExpiresAt.Equal(ends) {
				t.Fatalf("the shop stored expiry %v, want %v", got[0].ExpiresAt, ends)
			}
			// What the shop answers: date_expires in site time, date_expires_gmt in UTC.
			r := httptest.NewRequest("GET", "/wp-json/wc/v3/coupons?code=anna15", nil)
			r.SetBasicAuth(ck, cs)
			rec := httptest.NewRecorder()
			fake.ServeHTTP(rec, r)
			var list []map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list) != 1 {
				t.Fatalf("list: %v %s", err, rec.Body)
			}
			if want := ends.In(site).Format(woocommerce.DateLayout); list[0]["date_expires"] != want {
				t.Errorf("date_expires = %v, want %s", list[0]["date_expires"], want)
			}
			if list[0]["date_expires_gmt"] != "2026-12-31T23:00:00" {
				t.Errorf("date_expires_gmt = %v", list[0]["date_expires_gmt"])
			}
		})
	}
}
