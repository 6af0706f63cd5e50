package meta_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/ads"
	"github.com/payper/payper/internal/ads/meta"
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

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slept = append(s.slept, d)
	return nil
}

func setup(t *testing.T) (*meta.Fake, *meta.Client, *sleeper) {
	t.Helper()
	f := meta.NewFake("tok")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	s := &sleeper{}
	c := &meta.Client{BaseURL: srv.URL, AccessToken: "tok", HTTP: srv.Client(), Sleep: s.Sleep, PageSize: 3}
	return f, c, s
}

func result(ad, d string, spend, imp, clicks, purch, value int64) ads.DailyResult {
	return ads.DailyResult{Platform: "meta", AdID: ad, Day: day(d), Currency: "EUR", Spend: spend,
		Impressions: imp, Clicks: clicks, Purchases: purch, PurchaseValue: value}
}

func seed(f *meta.Fake) []ads.DailyResult {
	want := []ads.DailyResult{
		result("111", "2026-03-01", 12_340_000, 1000, 30, 2, 99_980_000),
		result("111", "2026-03-02", 5_000_001, 800, 20, 1, 49_990_000),
		result("111", "2026-03-03", 0, 0, 0, 0, 0),
		result("222", "2026-03-01", 7_000_000, 500, 10, 0, 0),
		result("222", "2026-03-02", 8_500_000, 600, 12, 3, 150_000_000),
		result("333", "2026-03-02", 1_000_000, 10, 1, 0, 0), // not asked for
	}
	for _, r := range want {
		f.AddResult(r)
	}
	f.AddResult(result("111", "2026-02-28", 1, 1, 1, 1, 1)) // outside the range
	return want[:5]
}

func TestResultsSyncPerAdAndAccount(t *testing.T) {
	t.Parallel()
	for _, account := range []string{"", "1234"} {
		f, c, _ := setup(t)
		c.AccountID = account
		want := seed(f)
		got, err := c.Results(context.Background(), []string{"222", "111", "111"}, day("2026-03-01"), day("2026-03-03"))
		if err != nil {
			t.Fatalf("account %q: %v", account, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("account %q:\n got %+v\nwant %+v", account, got, want)
		}
		n := f.Counts()
		if n.SyncPages < 2 || n.AsyncRuns != 0 {
			t.Errorf("account %q: counts %+v, want paging and no async", account, n)
		}
		if account != "" {
			if fl := f.LastParams().Get("filtering"); fl != `[{"field":"ad.id","operator":"IN","value":["222","111"]}]` {
				t.Errorf("filtering = %s", fl)
			}
		}
		p := f.LastParams()
		if p.Get("level") != "ad" || p.Get("time_increment") != "1" ||
			p.Get("time_range") != `{"since":"2026-03-01","until":"2026-03-03"}` || p.Get("access_token") != "" {
			t.Errorf("params %v", p)
		}
	}
}

func TestPurchaseTypeNeverSummed(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	f.AddRow(meta.FakeRow{AdID: "1", Day: day("2026-03-01"), Spend: "10", Impressions: "100", Clicks: "9", InlineLinkClicks: "4",
		Actions:      map[string]string{"purchase": "3", "omni_purchase": "5", "offsite_conversion.fb_pixel_purchase": "3"},
		ActionValues: map[string]string{"purchase": "30.5", "omni_purchase": "50.25", "offsite_conversion.fb_pixel_purchase": "30.5"}})
	got, err := c.Results(context.Background(), []string{"1"}, day("2026-03-01"), day("2026-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	if g := got[0]; g.Purchases != 5 || g.PurchaseValue != 50_250_000 || g.Clicks != 4 || g.Spend != 10_000_000 {
		t.Errorf("default type: %+v", g)
	}
	c.PurchaseActionType = "offsite_conversion.fb_pixel_purchase"
	c.ClicksField = "clicks"
	got, err = c.Results(context.Background(), []string{"1"}, day("2026-03-01"), day("2026-03-01"))
	if err != nil {
		t.Fatal(err)
	}
	if g := got[0]; g.Purchases != 3 || g.PurchaseValue != 30_500_000 || g.Clicks != 9 {
		t.Errorf("pixel type: %+v", g)
	}
}

func TestBadNumbers(t *testing.T) {
	t.Parallel()
	for _, spend := range []string{"1.1234567", "12,5", "99999999999999999999", "-"} {
		f, c, _ := setup(t)
		f.AddRow(meta.FakeRow{AdID: "1", Day: day("2026-03-01"), Spend: spend})
		if _, err := c.Results(context.Background(), []string{"1"}, day("2026-03-01"), day("2026-03-01")); err == nil {
			t.Errorf("spend %q accepted", spend)
		}
	}
}

func TestAsync(t *testing.T) {
	t.Parallel()
	f, c, s := setup(t)
	c.AsyncAfterDays = -1
	c.AccountID = "1234"
	want := seed(f)
	got, err := c.Results(context.Background(), []string{"111", "222"}, day("2026-03-01"), day("2026-03-03"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	n := f.Counts()
	if n.AsyncRuns != 1 || n.Polls != 3 || n.ReportPages != 3 || n.SyncPages != 0 {
		t.Errorf("counts %+v", n)
	}
	if len(s.slept) != 2 || s.slept[0] != meta.DefaultPollInterval {
		t.Errorf("slept %v", s.slept)
	}
}

func TestAsyncForLongRanges(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	seed(f)
	if _, err := c.Results(context.Background(), []string{"111"}, day("2026-01-01"), day("2026-01-31")); err != nil {
		t.Fatal(err)
	}
	if n := f.Counts(); n.AsyncRuns != 1 {
		t.Errorf("31 days: counts %+v, want async", n)
	}
	f2, c2, _ := setup(t)
	if _, err := c2.Results(context.Background(), []string{"111"}, day("2026-01-01"), day("2026-01-30")); err != nil {
		t.Fatal(err)
	}
	if n := f2.Counts(); n.AsyncRuns != 0 {
		t.Errorf("30 days: counts %+v, want sync", n)
	}
}

func TestTimeoutFallsBackToAsync(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	want := seed(f)
	f.TimeoutNext(1)
	got, err := c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[:3]) {
		t.Errorf("got %+v", got)
	}
	if n := f.Counts(); n.AsyncRuns != 1 {
		t.Errorf("counts %+v", n)
	}
}

// TestServiceTimeoutFallsBackToAsync: Meta's other synchronous timeout,
// error 2 with subcode 1504038 ("Request Timed Out", Ads Insights API
// Error Codes), also moves the query to an asynchronous report run, and the
// results are the same to the micro-unit.
func TestServiceTimeoutFallsBackToAsync(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	want := seed(f)
	f.TimeoutNextAs(2, 2, 1504038)
	got, err := c.Results(context.Background(), []string{"111", "222"}, day("2026-03-01"), day("2026-03-03"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if n := f.Counts(); n.AsyncRuns != 2 || n.SyncPages != 0 {
		t.Errorf("counts %+v, want both ads through the async report", n)
	}

	// Code 2 with another subcode is not a timeout: it fails the read.
	f.TimeoutNextAs(1, 2, 1504043)
	_, err = c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	var apiErr *ads.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 2 || apiErr.Subcode != 1504043 {
		t.Fatalf("2/1504043: %v", err)
	}
}

func TestAsyncJobFailed(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	c.AsyncAfterDays = -1
	f.FailNextJobs(1)
	_, err := c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	if !errors.Is(err, meta.ErrReportFailed) {
		t.Fatalf("err = %v", err)
	}
}

func TestAsyncNeverDone(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	c.AsyncAfterDays = -1
	c.MaxPolls = 2
	f.PollsBeforeDone = 5
	_, err := c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	if !errors.Is(err, meta.ErrReportFailed) {
		t.Fatalf("err = %v", err)
	}
}

func TestThrottleRetried(t *testing.T) {
	t.Parallel()
	f, c, s := setup(t)
	want := seed(f)
	f.ThrottleNext(2)
	got, err := c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[:3]) {
		t.Errorf("got %+v", got)
	}
	if !reflect.DeepEqual(s.slept, []time.Duration{time.Minute, time.Minute}) {
		t.Errorf("slept %v, want the header's one minute twice", s.slept)
	}
}

func TestThrottleGivesUp(t *testing.T) {
	t.Parallel()
	f, c, s := setup(t)
	seed(f)
	f.ThrottleNext(100)
	_, err := c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	if !errors.Is(err, ads.ErrThrottled) {
		t.Fatalf("err = %v", err)
	}
	var te *ads.ThrottleError
	var ae *ads.APIError
	if !errors.As(err, &te) || te.RetryAfter != time.Minute || !errors.As(err, &ae) || ae.Code != 4 || ae.Subcode != 1504022 {
		t.Errorf("err = %#v", err)
	}
	if n := f.Counts(); n.Throttled != meta.DefaultMaxRetries+1 || len(s.slept) != meta.DefaultMaxRetries {
		t.Errorf("counts %+v, slept %v", n, s.slept)
	}
}

func TestThrottleWaitTooLong(t *testing.T) {
	t.Parallel()
	f, c, s := setup(t)
	c.MaxWait = 10 * time.Second
	f.ThrottleNext(1)
	_, err := c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	if !errors.Is(err, ads.ErrThrottled) || len(s.slept) != 0 {
		t.Fatalf("err = %v, slept %v", err, s.slept)
	}
}

func TestUnauthorized(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	f.ExpireToken()
	_, err := c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	var ae *ads.APIError
	if !errors.Is(err, ads.ErrUnauthorized) || !errors.As(err, &ae) || ae.Subcode != 463 {
		t.Fatalf("err = %v", err)
	}
	_, c2, _ := setup(t)
	c2.AccessToken = "wrong"
	if _, err := c2.Results(context.Background(), []string{"1"}, day("2026-03-01"), day("2026-03-01")); !errors.Is(err, ads.ErrUnauthorized) {
		t.Fatalf("wrong token: err = %v", err)
	}
}

func TestOtherAPIError(t *testing.T) {
	t.Parallel()
	_, c, _ := setup(t)
	c.Version = "v1.0"
	_, err := c.Results(context.Background(), []string{"1"}, day("2026-03-01"), day("2026-03-01"))
	var ae *ads.APIError
	if !errors.As(err, &ae) || ae.Code != 2635 || errors.Is(err, ads.ErrThrottled) || errors.Is(err, ads.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
}

func TestBadRange(t *testing.T) {
	t.Parallel()
	_, c, _ := setup(t)
	if _, err := c.Results(context.Background(), nil, day("2026-03-01"), day("2026-03-01")); err == nil {
		t.Error("no ids accepted")
	}
	if _, err := c.Results(context.Background(), []string{"1"}, day("2026-03-02"), day("2026-03-01")); err == nil {
		t.Error("reversed range accepted")
	}
}

func TestContextCanceled(t *testing.T) {
	t.Parallel()
	f, c, _ := setup(t)
	c.Sleep = nil // the real sleep, which honours the context
	f.ThrottleNext(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Results(ctx, []string{"1"}, day("2026-03-01"), day("2026-03-01")); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestVersion: every request names the pinned version in its path, a
// Client.Version overrides it, and a version the server does not serve
// fails with Meta's error instead of falling back to an unversioned call.
func TestVersion(t *testing.T) {
	t.Parallel()
	f := meta.NewFake("tok")
	f.Version = "v26.0"
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		f.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	want := seed(f)
	c := &meta.Client{BaseURL: srv.URL, AccessToken: "tok", HTTP: srv.Client(), Version: "v26.0"}
	got, err := c.Results(context.Background(), []string{"111", "222"}, day("2026-03-01"), day("2026-03-03"))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("v26.0: %+v, %v", got, err)
	}
	c.Version = ""
	_, err = c.Results(context.Background(), []string{"111"}, day("2026-03-01"), day("2026-03-03"))
	var apiErr *ads.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != 2635 {
		t.Fatalf("default version against a v26.0 server: %v, want error 2635", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if last := paths[len(paths)-1]; !strings.HasPrefix(last, "/"+meta.DefaultVersion+"/") {
		t.Fatalf("default version request to %s", last)
	}
	for _, p := range paths[:len(paths)-1] {
		if !strings.HasPrefix(p, "/v26.0/") {
			t.Fatalf("request to %s, want /v26.0/…", p)
		}
	}
}
