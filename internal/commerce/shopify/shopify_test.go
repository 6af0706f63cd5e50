package shopify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/commerce"
	"github.com/payper/payper/internal/commerce/shopify"
)

const (
	shop  = "glow.myshopify.com"
	token = "shpat_test"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// sleeps records the waits a client asks for without waiting.
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
	h      http.Handler
	mu     sync.Mutex
	bodies [][]byte
}

func (w *wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.bodies = append(w.bodies, b)
	w.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(b))
	w.h.ServeHTTP(rw, r)
}

func (w *wire) last(t *testing.T) map[string]any {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	var v struct {
		Variables struct {
			In map[string]any `json:"basicCodeDiscount"`
		} `json:"variables"`
	}
	dec := json.NewDecoder(bytes.NewReader(w.bodies[len(w.bodies)-1]))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.Variables.In
}

func setup(t *testing.T, h http.Handler) (*shopify.Client, *sleeps) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s := &sleeps{}
	return &shopify.Client{Shop: shop, Token: token, BaseURL: srv.URL, HTTP: srv.Client(), Sleep: s.sleep}, s
}

func percent(code string, bps int64) commerce.Discount {
	return commerce.Discount{Code: code, Title: "payper: Spring launch — anna", PercentBps: bps, StartsAt: start}
}

func TestCreatePercent(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	w := &wire{h: fake}
	c, _ := setup(t, w)
	d := percent("ANNA15", 1500)
	d.EndsAt = start.Add(30 * 24 * time.Hour)
	d.UsageLimit = 100
	d.OncePerCustomer = true
	got, err := c.CreateCode(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	if got.ExternalID != "gid://shopify/DiscountCodeNode/1001" {
		t.Fatalf("ExternalID = %q", got.ExternalID)
	}
	in := w.last(t)
	value := in["customerGets"].(map[string]any)["value"].(map[string]any)
	if p, ok := value["percentage"].(json.Number); !ok || p.String() != "0.15" {
		t.Fatalf("percentage on the wire = %#v, want the JSON number 0.15", value["percentage"])
	}
	if in["startsAt"] != "2026-03-01T09:00:00Z" || in["endsAt"] != "2026-03-31T09:00:00Z" {
		t.Fatalf("dates = %v, %v", in["startsAt"], in["endsAt"])
	}
	codes := fake.Codes()
	want := shopify.FakeCode{
		ID: got.ExternalID, Code: "ANNA15", Title: d.Title, Percentage: "0.15",
		UsageLimit: 100, OncePerCustomer: true, StartsAt: start, EndsAt: d.EndsAt,
	}
	if len(codes) != 1 || codes[0] != want {
		t.Fatalf("Codes() = %+v, want %+v", codes, want)
	}
}

func TestCreateFixedAmount(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	w := &wire{h: fake}
	c, _ := setup(t, w)
	d := commerce.Discount{Code: "ANNA-FIVE", Title: "t", AmountOff: 12_500_000, Currency: "EUR", StartsAt: start}
	if _, err := c.CreateCode(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	in := w.last(t)
	amt := in["customerGets"].(map[string]any)["value"].(map[string]any)["discountAmount"].(map[string]any)
	if amt["amount"] != "12.50" || amt["appliesOnEachItem"] != false {
		t.Fatalf("discountAmount on the wire = %#v", amt)
	}
	for _, k := range []string{"endsAt", "usageLimit"} {
		if _, ok := in[k]; ok {
			t.Errorf("%s sent for an open-ended unlimited code", k)
		}
	}
	codes := fake.Codes()
	if len(codes) != 1 || codes[0].Amount != "12.50" || codes[0].Percentage != "" || !codes[0].EndsAt.IsZero() {
		t.Fatalf("Codes() = %+v", codes)
	}
}

func TestCreateTaken(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	c, _ := setup(t, fake)
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateCode(context.Background(), percent("anna15", 1000))
	if !errors.Is(err, commerce.ErrCodeTaken) {
		t.Fatalf("err = %v, want ErrCodeTaken", err)
	}
	if n := len(fake.Codes()); n != 1 {
		t.Fatalf("%d codes stored", n)
	}
}

func TestCreateThrottledThenSuccess(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	c, s := setup(t, fake)
	fake.ThrottleNext(2)
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	// The fake reports requestedQueryCost 10, currentlyAvailable 0,
	// restoreRate 100: (10-0)/100 s.
	want := []time.Duration{100 * time.Millisecond, 100 * time.Millisecond}
	if got := s.got(); !slices.Equal(got, want) {
		t.Fatalf("waits = %v, want %v", got, want)
	}
	if fake.Requests() != 3 || len(fake.Codes()) != 1 {
		t.Fatalf("requests = %d, codes = %d", fake.Requests(), len(fake.Codes()))
	}
}

func TestWaitFromCost(t *testing.T) {
	t.Parallel()
	var calls int
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			io.WriteString(w, `{"errors":[{"message":"Throttled","extensions":{"code":"THROTTLED"}}],
				"extensions":{"cost":{"requestedQueryCost":101,"actualQueryCost":null,
				"throttleStatus":{"maximumAvailable":1000.0,"currentlyAvailable":41,"restoreRate":50.0}}}}`)
			return
		}
		io.WriteString(w, `{"data":{"discountCodeBasicCreate":{"codeDiscountNode":{"id":"gid://shopify/DiscountCodeNode/7"},"userErrors":[]}}}`)
	})
	c, s := setup(t, h)
	got, err := c.CreateCode(context.Background(), percent("X", 1))
	if err != nil || got.ExternalID != "gid://shopify/DiscountCodeNode/7" {
		t.Fatalf("CreateCode = %v, %v", got, err)
	}
	if w := s.got(); !slices.Equal(w, []time.Duration{1200 * time.Millisecond}) {
		t.Fatalf("waits = %v, want [1.2s]", w)
	}
}

func TestCreateThrottledForever(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	c, s := setup(t, fake)
	fake.ThrottleNext(100)
	_, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
	if !errors.Is(err, commerce.ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
	if n := len(s.got()); n != shopify.MaxRetries {
		t.Fatalf("%d waits, want %d", n, shopify.MaxRetries)
	}
	if fake.Requests() != shopify.MaxRetries+1 {
		t.Fatalf("%d requests", fake.Requests())
	}
}

func TestCreate429RetryAfter(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	var once sync.Once
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first := false
		once.Do(func() { first = true })
		if first {
			w.Header().Set("Retry-After", "2.0")
			http.Error(w, `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`, http.StatusTooManyRequests)
			return
		}
		fake.ServeHTTP(w, r)
	})
	c, s := setup(t, h)
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	if got := s.got(); !slices.Equal(got, []time.Duration{2 * time.Second}) {
		t.Fatalf("waits = %v, want [2s]", got)
	}
}

func TestCreateWrongToken(t *testing.T) {
	t.Parallel()
	c, _ := setup(t, shopify.NewFake(shop, "shpat_other"))
	_, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
	if !errors.Is(err, commerce.ErrUnauthorized) || !strings.Contains(err.Error(), "Invalid API key") {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
}

func TestCreateServerError(t *testing.T) {
	t.Parallel()
	var calls int
	c, s := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		http.Error(w, "upstream broke", http.StatusInternalServerError)
	}))
	_, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
		t.Fatalf("err = %v, want HTTP 500", err)
	}
	for _, e := range []error{commerce.ErrThrottled, commerce.ErrUnauthorized, commerce.ErrCodeTaken} {
		if errors.Is(err, e) {
			t.Fatalf("err %v wraps %v", err, e)
		}
	}
	if calls != 1 || len(s.got()) != 0 {
		t.Fatalf("a 500 was retried: %d calls", calls)
	}
}

func TestCreateGraphQLErrorsAndUserErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, want string
		is               error
	}{
		{"top-level errors", `{"errors":[{"message":"Field 'x' doesn't exist"},{"message":"second"}]}`, "Field 'x' doesn't exist; second", nil},
		{"access denied", `{"errors":[{"message":"Access denied for discountCodeBasicCreate field.","extensions":{"code":"ACCESS_DENIED"}}]}`, "Access denied", commerce.ErrUnauthorized},
		{"user errors", `{"data":{"discountCodeBasicCreate":{"codeDiscountNode":null,"userErrors":[{"field":["basicCodeDiscount","endsAt"],"code":"INVALID","message":"Ends at is bad"}]}}}`, "basicCodeDiscount.endsAt: Ends at is bad (INVALID)", nil},
		{"no data", `{}`, "no data", nil},
		{"not json", `<html>`, "decoding response", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tt.body) }))
			_, err := c.CreateCode(context.Background(), percent("ANNA15", 1500))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want containing %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want wrapping %v", err, tt.is)
			}
			if errors.Is(err, commerce.ErrCodeTaken) {
				t.Fatalf("err = %v wraps ErrCodeTaken", err)
			}
		})
	}
}

func TestCreateContextCancelledWhileWaiting(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	c, _ := setup(t, fake)
	c.Sleep = nil // the real timer: the fake asks for 100 ms
	fake.ThrottleNext(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := c.CreateCode(ctx, percent("ANNA15", 1500))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if time.Since(began) > 90*time.Millisecond {
		t.Fatalf("waited %v despite the deadline", time.Since(began))
	}
	if fake.Requests() != 1 || len(fake.Codes()) != 0 {
		t.Fatalf("requests = %d after cancellation", fake.Requests())
	}
}

func TestCreateInvalidDiscount(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	c, _ := setup(t, fake)
	if _, err := c.CreateCode(context.Background(), percent("", 1500)); err == nil || !strings.Contains(err.Error(), "Code") {
		t.Fatalf("err = %v", err)
	}
	if fake.Requests() != 0 {
		t.Fatal("an invalid discount reached the store")
	}
}

// roundTripper serves requests with a handler, recording their URLs.
type roundTripper struct {
	h    http.Handler
	urls []string
}

func (rt *roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.urls = append(rt.urls, r.URL.String())
	rec := httptest.NewRecorder()
	rt.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func TestDefaultEndpoint(t *testing.T) {
	t.Parallel()
	rt := &roundTripper{h: shopify.NewFake(shop, token)}
	c := &shopify.Client{Shop: shop, Token: token, HTTP: &http.Client{Transport: rt}}
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	if want := "https://glow.myshopify.com/admin/api/2026-10/graphql.json"; len(rt.urls) != 1 || rt.urls[0] != want {
		t.Fatalf("urls = %v, want %s", rt.urls, want)
	}
}

func TestClientConfigErrors(t *testing.T) {
	t.Parallel()
	rt := &roundTripper{h: shopify.NewFake(shop, token)}
	hc := &http.Client{Transport: rt}
	for name, c := range map[string]*shopify.Client{
		"no shop":       {Token: token, HTTP: hc},
		"bad shop":      {Shop: "glow.myshopify.com/evil?", Token: token, HTTP: hc},
		"no token":      {Shop: shop, HTTP: hc},
		"plain http":    {Shop: shop, Token: token, BaseURL: "http://glow.myshopify.com", HTTP: hc},
		"bad version":   {Shop: shop, Token: token, APIVersion: "../x", HTTP: hc},
		"ftp base":      {Shop: shop, Token: token, BaseURL: "ftp://x", HTTP: hc},
		"userinfo base": {Shop: shop, Token: token, BaseURL: "https://u:p@x", HTTP: hc},
	} {
		if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if len(rt.urls) != 0 {
		t.Fatalf("misconfigured clients sent %v", rt.urls)
	}
}

// TestServeVersion pins the Fake's reading of Shopify's versioning page on
// the day DefaultAPIVersion was chosen and a month later.
func TestServeVersion(t *testing.T) {
	t.Parallel()
	later := time.Date(2027, 1, 17, 0, 0, 0, 0, time.UTC) // 2026-01 retired on 2027-01-16 15:00 UTC
	for _, tt := range []struct {
		requested string
		now       time.Time
		want      string
	}{
		{"2026-10", shopify.FakeNow, "2026-10"},
		{"2026-07", shopify.FakeNow, "2026-07"},
		{"2026-01", shopify.FakeNow, "2026-01"},
		{"2025-10", shopify.FakeNow, "2026-01"}, // retired 2026-10-16: falls forward
		{"2025-01", shopify.FakeNow, "2026-01"}, // the old default
		{"2027-01", shopify.FakeNow, "2027-01"}, // release candidate
		{"2027-04", shopify.FakeNow, "2026-01"},
		{"2026-05", shopify.FakeNow, "2026-01"},
		{"unstable", shopify.FakeNow, "unstable"},
		{"x", shopify.FakeNow, "2026-01"},
		{"2026-1x", shopify.FakeNow, "2026-01"},
		{"2026-01", later, "2026-04"},
		{"2027-01", later, "2027-01"},
		{"2027-04", later, "2027-04"},
	} {
		if got := shopify.ServeVersion(tt.requested, tt.now); got != tt.want {
			t.Errorf("ServeVersion(%s, %s) = %s, want %s", tt.requested, tt.now.Format(time.DateOnly), got, tt.want)
		}
	}
}

// logBuffer is a concurrency-safe sink for a test's slog output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestDefaultVersionIsServed fails when DefaultAPIVersion is one Shopify no
// longer serves on the Fake's clock (2025-01 fell forward to 2026-01).
func TestDefaultVersionIsServed(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	c, _ := setup(t, fake)
	logs := &logBuffer{}
	c.Log = slog.New(slog.NewTextHandler(logs, nil))
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	if got := fake.ServedVersions(); !slices.Equal(got, []string{shopify.DefaultAPIVersion}) {
		t.Fatalf("served %v, want [%s]: DefaultAPIVersion is not accessible on %s", got, shopify.DefaultAPIVersion, shopify.FakeNow.Format(time.DateOnly))
	}
	if s := logs.String(); s != "" {
		t.Fatalf("unexpected log: %s", s)
	}
}

// TestVersionFallForwardWarns: a pinned version Shopify retired is still
// answered (with the oldest accessible version's schema), and the client
// says so in its log.
func TestVersionFallForwardWarns(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	c, _ := setup(t, fake)
	c.APIVersion = "2025-01"
	logs := &logBuffer{}
	c.Log = slog.New(slog.NewTextHandler(logs, nil))
	if _, err := c.CreateCode(context.Background(), percent("ANNA15", 1500)); err != nil {
		t.Fatal(err)
	}
	if got := fake.ServedVersions(); !slices.Equal(got, []string{"2026-01"}) {
		t.Fatalf("served %v, want [2026-01]", got)
	}
	s := logs.String()
	for _, want := range []string{"level=WARN", "fell forward", "requested=2025-01", "served=2026-01", "shop=" + shop} {
		if !strings.Contains(s, want) {
			t.Fatalf("log %q lacks %q", s, want)
		}
	}
	if strings.Contains(s, token) {
		t.Fatalf("log leaks the token: %s", s)
	}
}
