package wise

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

const (
	testToken   = "test-token"
	testProfile = int64(4242)
	ibanDE      = "DE89370400440532013000"
	destEUR     = `{"currency":"EUR","holderName":"Ada Lovelace","iban":"DE89 3704 0044 0532 0130 00"}`
	destUSD     = `{"currency":"USD","holderName":"Ada Lovelace","routingNumber":"021000021","accountNumber":"123456789",` +
		`"address":{"country":"US","state":"NY","city":"New York","postCode":"10001","firstLine":"1 Main St"}}`
)

// call is one request the fake received.
type call struct {
	Path   string
	Body   string
	Status int
}

type env struct {
	fake *Fake
	p    *Provider

	mu     sync.Mutex
	calls  []call
	sleeps []time.Duration
	// rt, when set, sees each outgoing request first; a non-nil error is
	// the transport's answer.
	rt func(*http.Request) error
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{fake: NewFake(testToken, testProfile)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		e.fake.ServeHTTP(rec, r)
		e.mu.Lock()
		e.calls = append(e.calls, call{Path: r.URL.Path, Body: string(body), Status: rec.status})
		e.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	client := srv.Client()
	base := client.Transport
	client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		e.mu.Lock()
		hook := e.rt
		e.mu.Unlock()
		if hook != nil {
			if err := hook(r); err != nil {
				return nil, err
			}
		}
		return base.RoundTrip(r)
	})
	p, err := New(Config{
		APIToken: testToken, ProfileID: testProfile, BaseURL: srv.URL + "/",
		WebhookPublicKeyPEM: e.fake.PublicKeyPEM(), HTTP: client,
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.sleeps = append(e.sleeps, d)
			e.mu.Unlock()
			return ctx.Err()
		},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.p = p
	return e
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (e *env) recorded() ([]call, []time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]call(nil), e.calls...), append([]time.Duration(nil), e.sleeps...)
}

func transfer(id string, micros int64, cur money.Currency, dest string) payout.Transfer {
	return payout.Transfer{PayoutID: id, CreatorID: "crt_1", Amount: money.New(micros, cur),
		Destination: dest, Reference: "payper " + id}
}

func paths(calls []call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.Path
	}
	return out
}

func TestSendFullEUR(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 100_000_000)

	sent, err := e.p.Send(context.Background(), transfer("po_1", 12_340_000, money.EUR, destEUR))
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	trs := e.fake.Transfers()
	if len(trs) != 1 {
		t.Fatalf("transfers = %d, want 1", len(trs))
	}
	tr := trs[0]
	if want := (payout.Sent{Ref: itoa(tr.ID), Paid: false}); sent != want {
		t.Errorf("Sent = %+v, want %+v", sent, want)
	}
	if tr.Micros != 12_340_000 || tr.Currency != "EUR" || tr.Status != "processing" || tr.Fundings != 1 ||
		tr.CustomerTransactionID != CustomerTransactionID("po_1") || tr.Reference != "payper po_1" {
		t.Errorf("transfer = %+v", tr)
	}
	if got := e.fake.Balance("EUR"); got != 100_000_000-12_340_000 {
		t.Errorf("balance = %d", got)
	}

	calls, sleeps := e.recorded()
	wantPaths := []string{
		"/v3/profiles/4242/quotes", "/v1/accounts", "/v1/transfers",
		"/v3/profiles/4242/transfers/" + itoa(tr.ID) + "/payments",
	}
	if strings.Join(paths(calls), " ") != strings.Join(wantPaths, " ") {
		t.Fatalf("calls = %v, want %v", paths(calls), wantPaths)
	}
	wantBodies := []string{
		`{"sourceCurrency":"EUR","targetCurrency":"EUR","sourceAmount":12.34}`,
		`{"currency":"EUR","type":"iban","profile":4242,"accountHolderName":"Ada Lovelace","details":{"legalType":"PRIVATE","IBAN":"` + ibanDE + `"}}`,
		`{"targetAccount":` + itoa(tr.TargetAccount) + `,"quoteUuid":"` + tr.QuoteUUID + `","customerTransactionId":"` +
			CustomerTransactionID("po_1") + `","details":{"reference":"payper po_1"}}`,
		`{"type":"BALANCE"}`,
	}
	for i, want := range wantBodies {
		if calls[i].Body != want {
			t.Errorf("body %d = %s\nwant %s", i, calls[i].Body, want)
		}
		if calls[i].Status != http.StatusOK {
			t.Errorf("call %d status %d", i, calls[i].Status)
		}
	}
	if len(sleeps) != 0 {
		t.Errorf("slept %v", sleeps)
	}
}

func TestSendFullUSD(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("USD", 5_000_000)

	if _, err := e.p.Send(context.Background(), transfer("po_usd", 5_000_000, money.USD, destUSD)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls, _ := e.recorded()
	if want := `{"sourceCurrency":"USD","targetCurrency":"USD","sourceAmount":5.00}`; calls[0].Body != want {
		t.Errorf("quote body = %s, want %s", calls[0].Body, want)
	}
	want := `{"currency":"USD","type":"aba","profile":4242,"accountHolderName":"Ada Lovelace","details":{"legalType":"PRIVATE",` +
		`"abartn":"021000021","accountNumber":"123456789","accountType":"CHECKING","address":{"country":"US","state":"NY",` +
		`"city":"New York","postCode":"10001","firstLine":"1 Main St"}}}`
	if calls[1].Body != want {
		t.Errorf("recipient body = %s\nwant %s", calls[1].Body, want)
	}
	if got := e.fake.Balance("USD"); got != 0 {
		t.Errorf("balance = %d, want 0", got)
	}
}

func TestSendRetryAfterCrashBeforeFunding(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 50_000_000)
	tr := transfer("po_crash", 12_340_000, money.EUR, destEUR)

	// The process "dies" as it is about to fund: ctx ends, nothing reaches Wise.
	ctx, cancel := context.WithCancel(context.Background())
	e.rt = func(r *http.Request) error {
		if strings.HasSuffix(r.URL.Path, "/payments") {
			cancel()
			return context.Canceled
		}
		return nil
	}
	if _, err := e.p.Send(ctx, tr); !errors.Is(err, payout.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("crashed Send: %v, want ErrUnavailable and context.Canceled", err)
	}
	if trs := e.fake.Transfers(); len(trs) != 1 || trs[0].Status != stateWaiting || trs[0].Fundings != 0 {
		t.Fatalf("after crash: %+v", trs)
	}

	e.mu.Lock()
	e.rt = nil
	e.mu.Unlock()
	sent, err := e.p.Send(context.Background(), tr)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	trs := e.fake.Transfers()
	if len(trs) != 1 || trs[0].Fundings != 1 || trs[0].Status != "processing" || sent.Ref != itoa(trs[0].ID) {
		t.Fatalf("after retry: sent %+v, transfers %+v", sent, trs)
	}
	if got := e.fake.Balance("EUR"); got != 50_000_000-12_340_000 {
		t.Errorf("balance = %d", got)
	}
}

func TestSendIdempotentRepeat(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 50_000_000)
	tr := transfer("po_twice", 10_000_000, money.EUR, destEUR)

	first, err := e.p.Send(context.Background(), tr)
	if err != nil {
		t.Fatalf("first: %v", err)
	}
	second, err := e.p.Send(context.Background(), tr)
	if err != nil {
		t.Fatalf("second: %v", err)
	}
	if first != second {
		t.Errorf("first %+v, second %+v", first, second)
	}
	trs := e.fake.Transfers()
	if len(trs) != 1 || trs[0].Fundings != 1 {
		t.Fatalf("transfers %+v", trs)
	}
	if got := e.fake.Balance("EUR"); got != 40_000_000 {
		t.Errorf("balance = %d, want 40 EUR", got)
	}
	// The second funding was answered "already funded" and taken as success.
	calls, _ := e.recorded()
	last := calls[len(calls)-1]
	if !strings.HasSuffix(last.Path, "/payments") || last.Status != http.StatusUnprocessableEntity {
		t.Errorf("last call %+v, want a 422 funding", last)
	}
}

func TestSendConcurrentSamePayout(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 50_000_000)
	tr := transfer("po_race", 10_000_000, money.EUR, destEUR)
	var wg sync.WaitGroup
	sents := make([]payout.Sent, 4)
	errs := make([]error, 4)
	for i := range sents {
		wg.Go(func() { sents[i], errs[i] = e.p.Send(context.Background(), tr) })
	}
	wg.Wait()
	for i := range sents {
		if errs[i] != nil || sents[i] != sents[0] {
			t.Errorf("send %d: %+v, %v (first %+v)", i, sents[i], errs[i], sents[0])
		}
	}
	if trs := e.fake.Transfers(); len(trs) != 1 || trs[0].Fundings != 1 {
		t.Fatalf("transfers %+v", trs)
	}
}

func TestSendRateLimitedThenOK(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 50_000_000)
	e.fake.FailNext(2, http.StatusTooManyRequests)

	if _, err := e.p.Send(context.Background(), transfer("po_429", 1_000_000, money.EUR, destEUR)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, sleeps := e.recorded()
	if len(sleeps) != 2 || sleeps[0] != time.Second || sleeps[1] != time.Second {
		t.Errorf("sleeps = %v, want the Retry-After of 1s twice", sleeps)
	}
	if trs := e.fake.Transfers(); len(trs) != 1 || trs[0].Fundings != 1 {
		t.Fatalf("transfers %+v", trs)
	}
}

func TestSendServerErrorForever(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 50_000_000)
	e.fake.FailNext(1000, http.StatusServiceUnavailable)

	_, err := e.p.Send(context.Background(), transfer("po_503", 1_000_000, money.EUR, destEUR))
	if !errors.Is(err, payout.ErrUnavailable) || errors.Is(err, payout.ErrRejected) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
		t.Errorf("err = %v, want an *APIError with status 503", err)
	}
	_, sleeps := e.recorded()
	want := []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second}
	if len(sleeps) != len(want) {
		t.Fatalf("sleeps = %v, want %v", sleeps, want)
	}
	for i := range want {
		if sleeps[i] != want[i] {
			t.Errorf("sleeps = %v, want %v", sleeps, want)
		}
	}
	if n := e.fake.Requests(); n != maxAttempts {
		t.Errorf("requests = %d, want %d", n, maxAttempts)
	}
}

func TestSendNetworkErrorRetried(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 50_000_000)
	failures := 1
	e.rt = func(r *http.Request) error {
		if strings.HasSuffix(r.URL.Path, "/v1/transfers") && failures > 0 {
			failures--
			return errors.New("connection reset")
		}
		return nil
	}
	if _, err := e.p.Send(context.Background(), transfer("po_net", 1_000_000, money.EUR, destEUR)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if trs := e.fake.Transfers(); len(trs) != 1 {
		t.Fatalf("transfers %+v", trs)
	}
}

func TestSendRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		tr        payout.Transfer
		wantInErr []string
		wantCalls bool // whether Wise was asked at all
	}{
		{
			name:      "wise validation: holder name",
			tr:        transfer("po_v1", 1_000_000, money.EUR, `{"currency":"EUR","holderName":"Cher","iban":"`+ibanDE+`"}`),
			wantInErr: []string{"create recipient", "HTTP 422", "accountHolderName", "Please enter the recipients first and last name."},
			wantCalls: true,
		},
		{
			name: "wise validation: reference",
			tr: payout.Transfer{PayoutID: "po_v2", Amount: money.New(1_000_000, money.EUR), Destination: destEUR,
				Reference: strings.Repeat("x", 40)},
			wantInErr: []string{"create transfer", "reference", "Reference must be at most 35 characters."},
			wantCalls: true,
		},
		{
			name:      "bad IBAN",
			tr:        transfer("po_v3", 1_000_000, money.EUR, `{"currency":"EUR","holderName":"Ada Lovelace","iban":"DE89370400440532013001"}`),
			wantInErr: []string{"check digits"},
		},
		{
			name:      "not JSON",
			tr:        transfer("po_v4", 1_000_000, money.EUR, `acct_123`),
			wantInErr: []string{"not valid JSON"},
		},
		{
			name:      "unknown field",
			tr:        transfer("po_v5", 1_000_000, money.EUR, `{"currency":"EUR","holderName":"Ada Lovelace","iban":"`+ibanDE+`","bic":"X"}`),
			wantInErr: []string{"not valid JSON", "bic"},
		},
		{
			name:      "currency mismatch",
			tr:        transfer("po_v6", 1_000_000, money.USD, destEUR),
			wantInErr: []string{"in EUR but the payout is in USD"},
		},
		{
			name:      "fraction of a cent",
			tr:        transfer("po_v7", 1_234_567, money.EUR, destEUR),
			wantInErr: []string{"whole cents", "1.234567"},
		},
		{
			name:      "zero",
			tr:        transfer("po_v8", 0, money.EUR, destEUR),
			wantInErr: []string{"positive"},
		},
		{
			name:      "no payout id",
			tr:        transfer("", 1_000_000, money.EUR, destEUR),
			wantInErr: []string{"payout id is required"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.fake.SetBalance("EUR", 50_000_000)
			_, err := e.p.Send(context.Background(), tt.tr)
			if !errors.Is(err, payout.ErrRejected) || errors.Is(err, payout.ErrUnavailable) {
				t.Fatalf("err = %v, want ErrRejected", err)
			}
			for _, s := range tt.wantInErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %q, want it to mention %q", err, s)
				}
			}
			if calls, _ := e.recorded(); (len(calls) > 0) != tt.wantCalls {
				t.Errorf("calls = %v", paths(calls))
			}
			if trs := e.fake.Transfers(); len(trs) != 0 {
				t.Errorf("transfers %+v", trs)
			}
		})
	}
}

func TestSendInsufficientBalance(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 12_330_000)
	tr := transfer("po_poor", 12_340_000, money.EUR, destEUR)

	_, err := e.p.Send(context.Background(), tr)
	if !errors.Is(err, payout.ErrRejected) || !strings.Contains(err.Error(), "insufficient balance") {
		t.Fatalf("err = %v, want ErrRejected for insufficient balance", err)
	}
	trs := e.fake.Transfers()
	if len(trs) != 1 || trs[0].Fundings != 0 || e.fake.Balance("EUR") != 12_330_000 {
		t.Fatalf("transfers %+v, balance %d", trs, e.fake.Balance("EUR"))
	}
	// Topped up, the same payout funds the same transfer.
	e.fake.SetBalance("EUR", 20_000_000)
	sent, err := e.p.Send(context.Background(), tr)
	if err != nil || sent.Ref != itoa(trs[0].ID) {
		t.Fatalf("after top-up: %+v, %v", sent, err)
	}
	if got := e.fake.Transfers(); len(got) != 1 || got[0].Fundings != 1 {
		t.Fatalf("transfers %+v", got)
	}
}

func TestSendRetryAfterTerminalState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state    string
		wantErr  error
		wantPaid bool
	}{
		{state: "outgoing_payment_sent", wantPaid: true},
		{state: "cancelled", wantErr: payout.ErrRejected},
		{state: "funds_refunded", wantErr: payout.ErrRejected},
		{state: "processing"},
	}
	for _, tt := range tests {
		t.Run(tt.state, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			e.fake.SetBalance("EUR", 50_000_000)
			tr := transfer("po_term", 1_000_000, money.EUR, destEUR)
			first, err := e.p.Send(context.Background(), tr)
			if err != nil {
				t.Fatal(err)
			}
			e.fake.Webhook(first.Ref, tt.state)
			again, err := e.p.Send(context.Background(), tr)
			if !errors.Is(err, tt.wantErr) || (err == nil && (again.Paid != tt.wantPaid || again.Ref != first.Ref)) {
				t.Fatalf("retry: %+v, %v; want paid %v, err %v", again, err, tt.wantPaid, tt.wantErr)
			}
			if trs := e.fake.Transfers(); len(trs) != 1 || trs[0].Fundings != 1 {
				t.Fatalf("transfers %+v", trs)
			}
		})
	}
}

func TestSendWrongToken(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p, err := New(Config{APIToken: "nope", ProfileID: testProfile, BaseURL: e.p.base,
		WebhookPublicKeyPEM: e.fake.PublicKeyPEM(), HTTP: e.p.http, Sleep: e.p.sleep})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(context.Background(), transfer("po_tok", 1_000_000, money.EUR, destEUR))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || !ae.HasCode("invalid_token") ||
		errors.Is(err, payout.ErrRejected) || errors.Is(err, payout.ErrUnavailable) {
		t.Fatalf("err = %v, want a plain 401 *APIError", err)
	}
}

func TestCustomerTransactionID(t *testing.T) {
	t.Parallel()
	// Known vector (Python's uuid.uuid5(NAMESPACE_DNS, "python.org")).
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got, want := uuidV5(dns, "python.org"), "886313e1-3b8a-5372-9b90-0c9aee199e5d"; got != want {
		t.Errorf("uuidV5 = %s, want %s", got, want)
	}
	a, b := CustomerTransactionID("po_1"), CustomerTransactionID("po_2")
	if a != CustomerTransactionID("po_1") || a == b || !uuidRE.MatchString(a) || a[14] != '5' {
		t.Errorf("CustomerTransactionID: %s, %s", a, b)
	}
}

func TestNewConfig(t *testing.T) {
	t.Parallel()
	key := NewFake("x", 1).PublicKeyPEM()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no token", Config{ProfileID: 1, WebhookPublicKeyPEM: key}, "APIToken"},
		{"no profile", Config{APIToken: "t", WebhookPublicKeyPEM: key}, "ProfileID"},
		{"bad url", Config{APIToken: "t", ProfileID: 1, BaseURL: "ftp://x", WebhookPublicKeyPEM: key}, "BaseURL"},
		{"no key", Config{APIToken: "t", ProfileID: 1}, "WebhookPublicKeyPEM"},
		{"not a key", Config{APIToken: "t", ProfileID: 1, WebhookPublicKeyPEM: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}, "WebhookPublicKeyPEM"},
	}
	for _, tt := range tests {
		if _, err := New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one naming %s", tt.name, err, tt.want)
		}
	}
	p, err := New(Config{APIToken: "t", ProfileID: 1, WebhookPublicKeyPEM: key})
	if err != nil || p.base != DefaultBaseURL || p.Name() != payout.ProviderWise {
		t.Errorf("defaults: %v, %+v", err, p)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
