package tiktok_test

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/ads"
	"github.com/payper/payper/internal/ads/tiktok"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

type sleeper struct {
	mu    sync.Mutex
	slept []time.Duration
}

func (s *sleeper) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slept = append(s.slept, d)
	return nil
}

func setup(t *testing.T) (*tiktok.Fake, *tiktok.Client, *sleeper) {
	t.Helper()
	f := tiktok.NewFake("tok")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s := &sleeper{}
	c := &tiktok.Client{BaseURL: srv.URL, AccessToken: "tok", AdvertiserID: "7000", Currency: "USD",
		HTTP: srv.Client(), Sleep: s.Sleep}
	return f, c, s
}

func result(ad, d string, spend, imp, clicks, purch, value int64) ads.DailyResult {
	return ads.DailyResult{Platform: "tiktok", AdID: ad, Day: day(d), Currency: "USD", Spend: spend,
		Impressions: imp, Clicks: clicks, Purchases: purch, PurchaseValue: value}
}

func TestResults(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	want := []ads.DailyResult{
		result("a1", "2026-03-01", 10_000_000, 1000, 30, 2, 25_000_000), // ROAS 2.5
		result("a1", "2026-03-02", 4_000_000, 800, 20, 1, 5_000_000),    // ROAS 1.25
		result("a2", "2026-03-01", 7_000_000, 500, 10, 0, 0),
		result("a2", "2026-03-03", 0, 5, 0, 0, 0),
	}
	for _, r := range want {
		f.AddResult(r)
	}
	f.AddResult(result("zz", "2026-03-02", 1_000_000, 1, 1, 0, 0)) // not asked for
	got, err := c.Results(context.Background(), []string{"a2", "a1"}, day("2026-03-01"), day("2026-03-03"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if n := f.Counts(); n.Pages != 3 {
		t.Errorf("counts %+v, want 3 pages", n)
	}
	q := f.LastQuery()
	if q.Get("report_type") != "BASIC" || q.Get("data_level") != "AUCTION_AD" ||
		q.Get("dimensions") != `["ad_id","stat_time_day"]` ||
		q.Get("metrics") != `["spend","impressions","clicks","complete_payment","complete_payment_roas"]` ||
		q.Get("start_date") != "2026-03-01" || q.Get("end_date") != "2026-03-03" || q.Get("page_size") != "1000" {
		t.Errorf("query %v", q)
	}
}

func TestROASDerivationRounds(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	f.AddRow(tiktok.FakeRow{AdID: "a", Day: day("2026-03-01"), Spend: "3.33", CompletePayment: "1", CompletePaymentROAS: "1.5"})
	got, err := c.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].PurchaseValue != 4_995_000 {
		t.Errorf("value = %d, want 4995000", got[0].PurchaseValue)
	}
}

func TestPurchaseValueMetric(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	c.PurchaseValueMetric = "total_complete_payment_rate"
	f.AddRow(tiktok.FakeRow{AdID: "a", Day: day("2026-03-01"), Spend: "3.33", CompletePayment: "1", CompletePaymentROAS: "1.50",
		Extra: map[string]string{"total_complete_payment_rate": "4.99"}})
	got, err := c.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].PurchaseValue != 4_990_000 {
		t.Errorf("value = %d", got[0].PurchaseValue)
	}
}

func TestLongRangeSplit(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	f.AddResult(result("a", "2026-01-01", 1_000_000, 1, 1, 0, 0))
	f.AddResult(result("a", "2026-03-01", 2_000_000, 1, 1, 0, 0))
	got, err := c.Results(context.Background(), []string{"a"}, day("2026-01-01"), day("2026-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %+v", got)
	}
	if n := f.Counts(); n.Pages != 2 { // 60 days: two 30-day windows
		t.Errorf("counts %+v", n)
	}
}

func TestBadMetric(t *testing.T) {
	t.Parallel()
	for _, spend := range []string{"1.0000001", "-1", "1e3", "abc"} {
		f, c, _ := setup(t)
		f.AddRow(tiktok.FakeRow{AdID: "a", Day: day("2026-03-01"), Spend: spend})
		if _, err := c.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-03-01")); err == nil {
			t.Errorf("spend %q accepted", spend)
		}
	}
}

func TestThrottle(t *testing.T) {
	t.Parallel()
	f, c, s := setup(t)
	f.AddResult(result("a", "2026-03-01", 1_000_000, 1, 1, 0, 0))
	f.ThrottleNext(2)
	if _, err := c.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-03-01")); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.slept, []time.Duration{time.Second, 2 * time.Second}) {
		t.Errorf("slept %v", s.slept)
	}
	f.ThrottleNext(100)
	_, err := c.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-03-01"))
	var ae *ads.APIError
	if !errors.Is(err, ads.ErrThrottled) || !errors.As(err, &ae) || ae.Code != tiktok.CodeRateLimited {
		t.Fatalf("err = %v", err)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	f.ExpireToken()
	_, err := c.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-03-01"))
	var ae *ads.APIError
	if !errors.Is(err, ads.ErrUnauthorized) || !errors.As(err, &ae) || ae.Code != tiktok.CodeTokenBad {
		t.Fatalf("err = %v", err)
	}
}

func TestOtherErrors(t *testing.T) {
	t.Parallel()
	_, c, _ := setup(t)
	c.MaxDaysPerRequest = 40 // the fake refuses more than 30 days
	_, err := c.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-04-09"))
	var ae *ads.APIError
	if !errors.As(err, &ae) || ae.Code != 40002 || errors.Is(err, ads.ErrThrottled) {
		t.Fatalf("err = %v", err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusBadGateway)
	}))
	defer srv.Close()
	c2 := &tiktok.Client{BaseURL: srv.URL, AccessToken: "t", AdvertiserID: "1", Currency: "EUR", HTTP: srv.Client()}
	_, err = c2.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-03-01"))
	if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway {
		t.Fatalf("err = %v", err)
	}
	c2.Currency = ""
	if _, err := c2.Results(context.Background(), []string{"a"}, day("2026-03-01"), day("2026-03-01")); err == nil {
		t.Error("no currency accepted")
	}
}

func TestMulMicros(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ a, b, want int64 }{
		{10_000_000, 2_500_000, 25_000_000},
		{1, 500_000, 1}, // 0.5 micro rounds up
		{1, 499_999, 0}, // below half rounds down
		{math.MaxInt64, 1_000_000, math.MaxInt64},
	} {
		got, err := tiktok.MulMicros(tc.a, tc.b)
		if err != nil || got != tc.want {
			t.Errorf("MulMicros(%d, %d) = %d, %v; want %d", tc.a, tc.b, got, err, tc.want)
		}
	}
	if _, err := tiktok.MulMicros(math.MaxInt64, 2_000_000); err == nil {
		t.Error("overflow accepted")
	}
	if _, err := tiktok.MulMicros(-1, 1); err == nil {
		t.Error("negative accepted")
	}
}
