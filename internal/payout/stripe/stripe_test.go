package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v84"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

const (
	fakeKey       = "sk_test_fake"
	webhookSecret = "whsec_test"
)

// request is one request the fake received.
type request struct {
	Method, Path string
	Query        url.Values
	Header       http.Header
	Form         url.Values
}

// emptyList is Stripe's answer to a list request that finds nothing.
const emptyList = `{"object":"list","data":[],"has_more":false,"url":"/v1/transfers"}`

// fake is a small stand-in for Stripe's API: it records every request,
// answers GET /v1/transfers (Send's look for an earlier transfer) with list,
// and everything else with answer.
type fake struct {
	t      *testing.T
	URL    string
	answer func(w http.ResponseWriter, r request)
	list   func(w http.ResponseWriter, r request)

	mu   sync.Mutex
	reqs []request
}

func newFake(t *testing.T, answer func(w http.ResponseWriter, r request)) *fake {
	t.Helper()
	f := &fake{t: t, answer: answer, list: answerJSON(200, emptyList)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("fake: read body: %v", err)
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Errorf("fake: body %q is not form-encoded: %v", body, err)
		}
		req := request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Form: form}
		f.mu.Lock()
		f.reqs = append(f.reqs, req)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_fake")
		f.mu.Lock()
		answer := f.answer
		if r.Method == http.MethodGet && r.URL.Path == "/v1/transfers" {
			answer = f.list
		}
		f.mu.Unlock()
		answer(w, req)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

func (f *fake) requests() []request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]request(nil), f.reqs...)
}

// posts returns the POST requests the fake received.
func (f *fake) posts() []request {
	var out []request
	for _, r := range f.requests() {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

// setList makes the fake answer list requests with list.
func (f *fake) setList(list func(http.ResponseWriter, request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = list
}

// answerJSON answers status with body.
func answerJSON(status int, body string) func(http.ResponseWriter, request) {
	return func(w http.ResponseWriter, _ request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func newProvider(t *testing.T, baseURL, key string) *Provider {
	t.Helper()
	p, err := New(Config{SecretKey: key, WebhookSecret: webhookSecret, BaseURL: baseURL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func eur(micros int64) money.Amount { return money.New(micros, money.EUR) }

func transfer() payout.Transfer {
	return payout.Transfer{
		PayoutID:    "po_01J8",
		CreatorID:   "crt_42",
		Amount:      eur(12_340_000),
		Destination: "acct_1Nv0FGQ9RKHgCVdK",
		Reference:   "payper payout po_01J8",
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no secret key", Config{WebhookSecret: webhookSecret}},
		{"no webhook secret", Config{SecretKey: fakeKey}},
		{"relative base URL", Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, BaseURL: "localhost:12111"}},
		{"ftp base URL", Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, BaseURL: "ftp://example.com"}},
	} {
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("%s: New succeeded, want an error", tc.name)
		}
	}
	p, err := New(Config{SecretKey: fakeKey, WebhookSecret: webhookSecret})
	if err != nil {
		t.Fatalf("New with Stripe's default URL: %v", err)
	}
	if got := p.Name(); got != payout.ProviderStripe {
		t.Errorf("Name() = %q, want %q", got, payout.ProviderStripe)
	}
}

func TestSendRequest(t *testing.T) {
	t.Parallel()
	f := newFake(t, answerJSON(200, `{"id":"tr_1","object":"transfer","amount":1234,"currency":"eur"}`))
	p := newProvider(t, f.URL, fakeKey)

	usd := transfer()
	usd.PayoutID, usd.Amount, usd.Reference, usd.CreatorID = "po_usd", money.New(1_000_000, money.USD), "", ""
	for _, tc := range []struct {
		tr   payout.Transfer
		key  string
		form url.Values
	}{
		{transfer(), "payout:po_01J8", url.Values{
			"amount":               {"1234"},
			"currency":             {"eur"},
			"destination":          {"acct_1Nv0FGQ9RKHgCVdK"},
			"transfer_group":       {"po_01J8"},
			"description":          {"payper payout po_01J8"},
			"metadata[payout_id]":  {"po_01J8"},
			"metadata[creator_id]": {"crt_42"},
		}},
		{usd, "payout:po_usd", url.Values{
			"amount":              {"100"},
			"currency":            {"usd"},
			"destination":         {"acct_1Nv0FGQ9RKHgCVdK"},
			"transfer_group":      {"po_usd"},
			"metadata[payout_id]": {"po_usd"},
		}},
	} {
		// Twice: a retry sends the very same request under the same key.
		for range 2 {
			sent, err := p.Send(context.Background(), tc.tr)
			if err != nil {
				t.Fatalf("Send(%s): %v", tc.tr.PayoutID, err)
			}
			if want := (payout.Sent{Ref: "tr_1", Paid: true}); sent != want {
				t.Errorf("Send(%s) = %+v, want %+v", tc.tr.PayoutID, sent, want)
			}
		}
		reqs := f.requests()
		for i, r := range reqs[len(reqs)-4:] {
			if i%2 == 0 {
				want := url.Values{"transfer_group": {tc.tr.PayoutID}, "limit": {"10"}}
				if r.Method != http.MethodGet || r.Path != "/v1/transfers" || !reflect.DeepEqual(r.Query, want) {
					t.Errorf("request %s %s?%s, want GET /v1/transfers?%s first", r.Method, r.Path, r.Query.Encode(), want.Encode())
				}
				continue
			}
			if r.Method != http.MethodPost || r.Path != "/v1/transfers" {
				t.Errorf("request %s %s, want POST /v1/transfers", r.Method, r.Path)
			}
			if got := r.Header.Get("Authorization"); got != "Bearer "+fakeKey {
				t.Errorf("Authorization = %q, want the secret key as bearer", got)
			}
			if got := r.Header.Get("Idempotency-Key"); got != tc.key {
				t.Errorf("Idempotency-Key = %q, want %q", got, tc.key)
			}
			if !reflect.DeepEqual(r.Form, tc.form) {
				t.Errorf("form = %v\nwant %v", r.Form, tc.form)
			}
		}
	}
	if n := len(f.requests()); n != 8 {
		t.Errorf("fake got %d requests, want 8", n)
	}
}

func TestSendRefusesBadTransfers(t *testing.T) {
	t.Parallel()
	f := newFake(t, answerJSON(200, `{"id":"tr_1","object":"transfer"}`))
	p := newProvider(t, f.URL, fakeKey)
	for _, tc := range []struct {
		name     string
		edit     func(*payout.Transfer)
		rejected bool // the creator's destination: the payout fails (ErrRejected); else a plain error
	}{
		{"sub-cent amount", func(tr *payout.Transfer) { tr.Amount = eur(12_345_000) }, false},
		{"one micro-unit over", func(tr *payout.Transfer) { tr.Amount = eur(10_000_001) }, false},
		{"zero", func(tr *payout.Transfer) { tr.Amount = eur(0) }, false},
		{"negative", func(tr *payout.Transfer) { tr.Amount = eur(-10_000) }, false},
		{"unknown currency", func(tr *payout.Transfer) { tr.Amount = money.New(10_000, money.Currency("XYZ")) }, false},
		{"lower-case currency", func(tr *payout.Transfer) { tr.Amount = money.New(10_000, money.Currency("gbp")) }, false},
		{"no currency", func(tr *payout.Transfer) { tr.Amount = money.New(10_000, "") }, false},
		{"no destination", func(tr *payout.Transfer) { tr.Destination = "" }, true},
		{"Wise destination", func(tr *payout.Transfer) { tr.Destination = `{"iban":"DE89370400440532013000"}` }, true},
		{"acct_ alone", func(tr *payout.Transfer) { tr.Destination = "acct_" }, true},
		{"no payout id", func(tr *payout.Transfer) { tr.PayoutID = "" }, false},
		{"payout id too long for a key", func(tr *payout.Transfer) { tr.PayoutID = strings.Repeat("p", 249) }, false},
	} {
		tr := transfer()
		tc.edit(&tr)
		sent, err := p.Send(context.Background(), tr)
		if err == nil {
			t.Errorf("%s: Send = %+v, want an error", tc.name, sent)
			continue
		}
		if errors.Is(err, payout.ErrUnavailable) || errors.Is(err, payout.ErrRejected) != tc.rejected {
			t.Errorf("%s: Send error %v: ErrRejected %v, want %v (and never ErrUnavailable)", tc.name, err, errors.Is(err, payout.ErrRejected), tc.rejected)
		}
	}
	for _, d := range []string{"", "acct_", "acct_1Nv0 FGQ", "tr_1Nv0FGQ9RKHgCVdK", "acct_1Nv0FGQ9RKHgCVdK\n", `{"iban":"DE89"}`} {
		if err := p.ValidateDestination(d); err == nil {
			t.Errorf("ValidateDestination(%q) = nil, want an error", d)
		}
	}
	if err := p.ValidateDestination("acct_1Nv0FGQ9RKHgCVdK"); err != nil {
		t.Errorf("ValidateDestination of a real account id: %v", err)
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("fake got %d requests for invalid transfers, want none", n)
	}

	// The longest payout id a key allows is fine.
	tr := transfer()
	tr.PayoutID = strings.Repeat("p", 248)
	if _, err := p.Send(context.Background(), tr); err != nil {
		t.Errorf("Send with a 248-byte payout id: %v", err)
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	const (
		rejected    = "rejected"
		unavailable = "unavailable"
		plain       = "plain"
	)
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   string
		msg    string // in the error
	}{
		{"unknown destination", 400,
			`{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such destination: 'acct_missing'","param":"destination"}}`,
			rejected, "No such destination: 'acct_missing'"},
		{"insufficient platform balance", 400,
			`{"error":{"type":"invalid_request_error","code":"balance_insufficient","message":"You have insufficient available funds in your Stripe account."}}`,
			rejected, "insufficient available funds"},
		{"card error", 402,
			`{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}`,
			rejected, "Your card was declined."},
		{"rate limited", 429,
			`{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`,
			unavailable, "Too many requests"},
		{"server error", 500,
			`{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`,
			unavailable, "Something went wrong"},
		{"bad gateway, not JSON", 502, `<html>502 Bad Gateway</html>`, unavailable, "502"},
		{"key in use by a concurrent request", 409,
			`{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Idempotent Key."}}`,
			unavailable, "another in-progress request"},
		{"key reused with other parameters", 400,
			`{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`,
			plain, "idempotency key reused"},
		{"bad API key", 401,
			`{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****fake"}}`,
			plain, "Invalid API Key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, answerJSON(tc.status, tc.body))
			p := newProvider(t, f.URL, fakeKey)
			sent, err := p.Send(context.Background(), transfer())
			if err == nil {
				t.Fatalf("Send = %+v, want an error", sent)
			}
			if sent != (payout.Sent{}) {
				t.Errorf("Send returned %+v with its error, want a zero Sent", sent)
			}
			isRejected, isUnavailable := errors.Is(err, payout.ErrRejected), errors.Is(err, payout.ErrUnavailable)
			switch tc.want {
			case rejected:
				if !isRejected || isUnavailable {
					t.Errorf("error %q: want ErrRejected only", err)
				}
			case unavailable:
				if !isUnavailable || isRejected {
					t.Errorf("error %q: want ErrUnavailable only", err)
				}
			case plain:
				if isRejected || isUnavailable {
					t.Errorf("error %q: want neither ErrRejected nor ErrUnavailable", err)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not contain %q", err, tc.msg)
			}
			var se *stripego.Error
			if tc.status != 502 && !errors.As(err, &se) {
				t.Errorf("error %q does not wrap the *stripe.Error", err)
			}
			if n := len(f.posts()); n != 1 {
				t.Errorf("fake got %d POSTs, want 1 (no retries inside Send)", n)
			}
		})
	}
}

func TestSendFindsEarlierTransfer(t *testing.T) {
	t.Parallel()
	tr := transfer()
	earlier := func(id, payoutID string, amount int64, reversed bool) string {
		b, err := json.Marshal(map[string]any{
			"id": id, "object": "transfer", "amount": amount, "currency": "eur",
			"destination": tr.Destination, "transfer_group": tr.PayoutID, "reversed": reversed,
			"metadata": map[string]string{"payout_id": payoutID},
		})
		if err != nil {
			t.Fatal(err)
		}
		return `{"object":"list","has_more":false,"url":"/v1/transfers","data":[` + string(b) + `]}`
	}
	for _, tc := range []struct {
		name  string
		list  func(http.ResponseWriter, request)
		want  payout.Sent
		err   error // nil: any error; unused when want is set
		posts int
	}{
		{"made before", answerJSON(200, earlier("tr_old", tr.PayoutID, 1234, false)),
			payout.Sent{Ref: "tr_old", Paid: true}, nil, 0},
		{"another payout's in the group", answerJSON(200, earlier("tr_other", "po_other", 1234, false)),
			payout.Sent{Ref: "tr_new", Paid: true}, nil, 1},
		{"made before and reversed", answerJSON(200, earlier("tr_old", tr.PayoutID, 1234, true)),
			payout.Sent{}, nil, 0},
		{"made before for another amount", answerJSON(200, earlier("tr_old", tr.PayoutID, 999, false)),
			payout.Sent{}, nil, 0},
		{"cannot look", answerJSON(500, `{"error":{"type":"api_error","message":"boom"}}`),
			payout.Sent{}, payout.ErrUnavailable, 0},
	} {
		f := newFake(t, answerJSON(200, `{"id":"tr_new","object":"transfer"}`))
		f.setList(tc.list)
		p := newProvider(t, f.URL, fakeKey)
		sent, err := p.Send(context.Background(), tr)
		switch {
		case tc.want != (payout.Sent{}):
			if err != nil || sent != tc.want {
				t.Errorf("%s: Send = %+v, %v; want %+v", tc.name, sent, err, tc.want)
			}
		case err == nil:
			t.Errorf("%s: Send = %+v, want an error", tc.name, sent)
		case tc.err != nil && !errors.Is(err, tc.err):
			t.Errorf("%s: Send error %v, want %v", tc.name, err, tc.err)
		case tc.err == nil && (errors.Is(err, payout.ErrRejected) || errors.Is(err, payout.ErrUnavailable)):
			t.Errorf("%s: Send error %v, want a plain error", tc.name, err)
		}
		if n := len(f.posts()); n != tc.posts {
			t.Errorf("%s: %d transfers created, want %d", tc.name, n, tc.posts)
		}
	}
}

func TestSendNoAnswer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	p := newProvider(t, base, fakeKey)
	if _, err := p.Send(context.Background(), transfer()); !errors.Is(err, payout.ErrUnavailable) {
		t.Errorf("Send to a closed server: %v, want ErrUnavailable", err)
	}

	// The connection drops after the request arrived: the outcome is
	// unknown, a retry under the same key is the way to find out.
	f := newFake(t, func(w http.ResponseWriter, _ request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	})
	p = newProvider(t, f.URL, fakeKey)
	if _, err := p.Send(context.Background(), transfer()); !errors.Is(err, payout.ErrUnavailable) {
		t.Errorf("Send, connection dropped: %v, want ErrUnavailable", err)
	}

	// The caller gives up: ErrUnavailable, and still the context's error.
	slow := newFake(t, func(w http.ResponseWriter, _ request) { time.Sleep(200 * time.Millisecond) })
	p = newProvider(t, slow.URL, fakeKey)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := p.Send(ctx, transfer())
	if !errors.Is(err, payout.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send past its deadline: %v, want ErrUnavailable and context.DeadlineExceeded", err)
	}
}

// providerIn returns a Provider for a platform in country ("" : read from
// Stripe) against baseURL.
func providerIn(t *testing.T, baseURL, country string) *Provider {
	t.Helper()
	p, err := New(Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, BaseURL: baseURL, PlatformCountry: country})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestCreateAccountRequest(t *testing.T) {
	t.Parallel()
	f := newFake(t, answerJSON(200, `{"id":"acct_new","object":"account","type":"express"}`))
	p := providerIn(t, f.URL, "de")
	id, err := p.CreateAccount(context.Background(), "crt_42", "de", "ana@example.com")
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if id != "acct_new" {
		t.Errorf("CreateAccount = %q, want acct_new", id)
	}
	if _, err := p.CreateAccount(context.Background(), "crt_42", "DE", "ana@example.com"); err != nil {
		t.Fatalf("CreateAccount again: %v", err)
	}
	// A creator outside the platform's country: the recipient service
	// agreement, transfers only
	// (https://docs.stripe.com/connect/service-agreement-types).
	if _, err := p.CreateAccount(context.Background(), "crt_43", "US", "bo@example.com"); err != nil {
		t.Fatalf("CreateAccount in the US: %v", err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("fake got %d requests, want 3 (the platform's country is configured: no GET /v1/account)", len(reqs))
	}
	domestic := url.Values{
		"type":                               {"express"},
		"country":                            {"DE"},
		"email":                              {"ana@example.com"},
		"capabilities[transfers][requested]": {"true"},
		"metadata[creator_id]":               {"crt_42"},
	}
	crossBorder := url.Values{
		"type":                               {"express"},
		"country":                            {"US"},
		"email":                              {"bo@example.com"},
		"capabilities[transfers][requested]": {"true"},
		"tos_acceptance[service_agreement]":  {"recipient"},
		"metadata[creator_id]":               {"crt_43"},
	}
	for i, r := range reqs {
		want := domestic
		if i == 2 {
			want = crossBorder
		}
		if r.Method != http.MethodPost || r.Path != "/v1/accounts" {
			t.Errorf("request %s %s, want POST /v1/accounts", r.Method, r.Path)
		}
		if !reflect.DeepEqual(r.Form, want) {
			t.Errorf("form = %v\nwant %v", r.Form, want)
		}
		if k := r.Header.Get("Idempotency-Key"); !strings.HasPrefix(k, "account:") || len(k) > 255 {
			t.Errorf("Idempotency-Key = %q, want account:…", k)
		}
	}
	if k0, k1 := reqs[0].Header.Get("Idempotency-Key"), reqs[1].Header.Get("Idempotency-Key"); k0 != k1 {
		t.Errorf("the same account asked twice used keys %q and %q, want one", k0, k1)
	}

	for _, tc := range []struct{ name, creator, country, email, field string }{
		{"no creator", "", "DE", "ana@example.com", ""},
		{"country name", "crt_42", "Germany", "ana@example.com", "country"},
		{"digits for a country", "crt_42", "D1", "ana@example.com", "country"},
		{"no email", "crt_42", "DE", "", "email"},
	} {
		_, err := p.CreateAccount(context.Background(), tc.creator, tc.country, tc.email)
		if err == nil {
			t.Errorf("%s: CreateAccount succeeded, want an error", tc.name)
			continue
		}
		var inv *payout.InvalidError
		if tc.field != "" && (!errors.As(err, &inv) || inv.Field != tc.field) {
			t.Errorf("%s: CreateAccount error %v, want an InvalidError on %s", tc.name, err, tc.field)
		}
	}
	if n := len(f.requests()); n != 3 {
		t.Errorf("invalid arguments reached Stripe: %d requests, want 3", n)
	}
}

// TestPlatformCountryFromStripe: without a configured country the
// platform's is read once from GET /v1/account
// (https://docs.stripe.com/api/accounts/retrieve), and an account in it is
// made under the full agreement, one elsewhere under the recipient one.
func TestPlatformCountryFromStripe(t *testing.T) {
	t.Parallel()
	f := newFake(t, func(w http.ResponseWriter, r request) {
		if r.Method == http.MethodGet && r.Path == "/v1/account" {
			io.WriteString(w, `{"id":"acct_platform","object":"account","country":"GB"}`)
			return
		}
		io.WriteString(w, `{"id":"acct_new","object":"account","type":"express"}`)
	})
	p := providerIn(t, f.URL, "")
	for _, c := range []string{"GB", "FR", "gb"} {
		if _, err := p.CreateAccount(context.Background(), "crt_"+c, c, "ana@example.com"); err != nil {
			t.Fatalf("CreateAccount(%s): %v", c, err)
		}
	}
	var gets, recipients int
	for _, r := range f.requests() {
		if r.Method == http.MethodGet {
			gets++
		}
		if r.Form.Get("tos_acceptance[service_agreement]") == "recipient" {
			recipients++
			if r.Form.Get("country") != "FR" {
				t.Errorf("an account in %s under the recipient agreement, for a platform in GB", r.Form.Get("country"))
			}
		}
	}
	if gets != 1 || recipients != 1 {
		t.Errorf("%d GET /v1/account and %d recipient accounts, want 1 and 1", gets, recipients)
	}

	noCountry := newFake(t, answerJSON(200, `{"id":"acct_platform","object":"account"}`))
	if _, err := providerIn(t, noCountry.URL, "").CreateAccount(context.Background(), "crt_1", "DE", "ana@example.com"); err == nil {
		t.Error("CreateAccount with a platform account without a country succeeded")
	}
	down := newFake(t, answerJSON(503, `{"error":{"type":"api_error","message":"down"}}`))
	if _, err := providerIn(t, down.URL, "").CreateAccount(context.Background(), "crt_1", "DE", "ana@example.com"); !errors.Is(err, payout.ErrUnavailable) {
		t.Errorf("CreateAccount with Stripe down: %v, want ErrUnavailable", err)
	}
	if _, err := New(Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, PlatformCountry: "Germany"}); err == nil {
		t.Error("New with PlatformCountry Germany succeeded")
	}
}

// TestAccountErrors: a 400 invalid_request_error of Stripe's on the
// onboarding calls is the caller's fault (payout.ErrInvalid, naming the
// field); 429, 5xx and no answer are ErrUnavailable; a refused key neither.
func TestAccountErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		invalid string // the field, "-" for none: not ErrInvalid
		unavail bool
		msg     string
	}{
		{"unknown country", 400, `{"error":{"type":"invalid_request_error","message":"Country 'XX' is unknown.","param":"country"}}`,
			"country", false, "Country 'XX' is unknown. (status 400, invalid_request_error, param country"},
		{"recipient agreement refused", 400, `{"error":{"type":"invalid_request_error","message":"The recipient service agreement is not available in XX.","param":"tos_acceptance[service_agreement]"}}`,
			"country", false, "param tos_acceptance[service_agreement]"},
		{"bad email", 400, `{"error":{"type":"invalid_request_error","code":"email_invalid","message":"Invalid email address: ana@","param":"email"}}`,
			"email", false, "Invalid email address"},
		{"no param", 400, `{"error":{"type":"invalid_request_error","message":"Something about the request."}}`,
			"", false, "Something about the request."},
		{"rate limited", 429, `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests."}}`,
			"-", true, "Too many requests."},
		{"server error", 500, `{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`,
			"-", true, "Something went wrong"},
		{"bad gateway", 502, `<html>502</html>`, "-", true, ""},
		{"bad key", 401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****fake"}}`,
			"-", false, "Invalid API Key"},
	} {
		f := newFake(t, answerJSON(tc.status, tc.body))
		p := providerIn(t, f.URL, "DE")
		_, err := p.CreateAccount(context.Background(), "crt_42", "XX", "ana@example.com")
		check := func(call string, err error, field string) {
			t.Helper()
			var inv *payout.InvalidError
			switch {
			case err == nil:
				t.Errorf("%s: %s succeeded", tc.name, call)
			case errors.Is(err, payout.ErrUnavailable) != tc.unavail:
				t.Errorf("%s: %s: %v; ErrUnavailable %v, want %v", tc.name, call, err, !tc.unavail, tc.unavail)
			case field == "-" && errors.Is(err, payout.ErrInvalid):
				t.Errorf("%s: %s: %v is ErrInvalid, want not", tc.name, call, err)
			case field != "-" && (!errors.Is(err, payout.ErrInvalid) || !errors.As(err, &inv) || inv.Field != field):
				t.Errorf("%s: %s: %v, want ErrInvalid on field %q", tc.name, call, err, field)
			case !strings.Contains(err.Error(), tc.msg):
				t.Errorf("%s: %s: %q does not contain %q", tc.name, call, err, tc.msg)
			case errors.Is(err, payout.ErrRejected):
				t.Errorf("%s: %s: %v is ErrRejected: that is for transfers", tc.name, call, err)
			}
		}
		check("CreateAccount", err, tc.invalid)
		_, err = p.OnboardingLink(context.Background(), "acct_x", "https://payper.example/r", "https://payper.example/d")
		check("OnboardingLink", err, tc.invalid)
	}

	missing := newFake(t, answerJSON(400, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such account: 'acct_x'","param":"account"}}`))
	_, err := providerIn(t, missing.URL, "DE").OnboardingLink(context.Background(), "acct_x", "https://payper.example/r", "https://payper.example/d")
	var inv *payout.InvalidError
	if !errors.As(err, &inv) || inv.Field != "account" || !strings.Contains(err.Error(), "No such account") {
		t.Errorf("OnboardingLink for an unknown account: %v, want ErrInvalid on account", err)
	}
}

func TestOnboardingLinkRequest(t *testing.T) {
	t.Parallel()
	f := newFake(t, answerJSON(200, `{"object":"account_link","url":"https://connect.stripe.com/setup/e/acct_1/abc","expires_at":1700000300}`))
	p := newProvider(t, f.URL, fakeKey)
	link, err := p.OnboardingLink(context.Background(), "acct_1", "https://payper.example/stripe/refresh", "https://payper.example/stripe/done")
	if err != nil {
		t.Fatalf("OnboardingLink: %v", err)
	}
	if link != "https://connect.stripe.com/setup/e/acct_1/abc" {
		t.Errorf("OnboardingLink = %q", link)
	}
	reqs := f.requests()
	if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/v1/account_links" {
		t.Fatalf("requests %+v, want one POST /v1/account_links", reqs)
	}
	want := url.Values{
		"account":     {"acct_1"},
		"refresh_url": {"https://payper.example/stripe/refresh"},
		"return_url":  {"https://payper.example/stripe/done"},
		"type":        {"account_onboarding"},
	}
	if !reflect.DeepEqual(reqs[0].Form, want) {
		t.Errorf("form = %v\nwant %v", reqs[0].Form, want)
	}

	for _, tc := range []struct{ name, account, refresh, ret, field string }{
		{"not an account", "crt_42", "https://payper.example/r", "https://payper.example/d", "account"},
		{"relative refresh URL", "acct_1", "/r", "https://payper.example/d", "return_url"}, // payper's one URL field
		{"no return URL", "acct_1", "https://payper.example/r", "", "return_url"},
	} {
		_, err := p.OnboardingLink(context.Background(), tc.account, tc.refresh, tc.ret)
		var inv *payout.InvalidError
		if !errors.As(err, &inv) || inv.Field != tc.field {
			t.Errorf("%s: OnboardingLink: %v, want an InvalidError on %s", tc.name, err, tc.field)
		}
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("invalid arguments reached Stripe: %d requests, want 1", n)
	}
}

// TestStripeMock runs the provider against stripe-mock, which checks every
// request against Stripe's OpenAPI spec and answers fixtures (it keeps no
// state: the ids it returns are not the ones sent).
func TestStripeMock(t *testing.T) {
	t.Parallel()
	p := newProvider(t, stripeMockURL(t), stripeMockKey)
	ctx := context.Background()

	// stripe-mock's platform account (GET /v1/account) is in the US: a
	// creator in Germany gets the recipient service agreement, which
	// stripe-mock checks against Stripe's OpenAPI spec, and one in the US
	// the default.
	if c, err := p.PlatformCountry(ctx); err != nil || c != "US" {
		t.Fatalf("PlatformCountry = %q, %v; want stripe-mock's US", c, err)
	}
	acct, err := p.CreateAccount(ctx, "crt_42", "DE", "ana@example.com")
	if err != nil {
		t.Fatalf("CreateAccount: %v", err)
	}
	if !strings.HasPrefix(acct, "acct_") {
		t.Errorf("CreateAccount = %q, want acct_…", acct)
	}
	if a, err := p.CreateAccount(ctx, "crt_43", "US", "bo@example.com"); err != nil || !strings.HasPrefix(a, "acct_") {
		t.Errorf("CreateAccount in the US = %q, %v", a, err)
	}
	if a, err := p.Account(ctx, acct); err != nil || a.Account == "" || a.Status == "" {
		t.Errorf("Account(%s) = %+v, %v", acct, a, err)
	}
	// What CreateAccount sends for a cross-border creator, asked directly:
	// stripe-mock accepts it, and refuses an onboarding link of an unknown
	// type as invalid (ErrInvalid, not ErrUnavailable).
	if _, err := p.api.V1Accounts.Create(ctx, accountParams("crt_44", "CA", "cy@example.com", "US")); err != nil {
		t.Errorf("stripe-mock refused a recipient account: %v", err)
	}
	_, err = p.api.V1AccountLinks.Create(ctx, &stripego.AccountLinkCreateParams{Account: stripego.String(acct),
		RefreshURL: stripego.String("https://payper.example/r"), ReturnURL: stripego.String("https://payper.example/d"),
		Type: stripego.String("not_a_type")})
	if err := classifyInvalid(err); !errors.Is(err, payout.ErrInvalid) || errors.Is(err, payout.ErrUnavailable) {
		t.Errorf("stripe-mock's refusal of a link: %v, want ErrInvalid", err)
	}

	link, err := p.OnboardingLink(ctx, acct, "https://payper.example/stripe/refresh", "https://payper.example/stripe/done")
	if err != nil {
		t.Fatalf("OnboardingLink: %v", err)
	}
	if u, err := url.Parse(link); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		t.Errorf("OnboardingLink = %q, want an absolute URL", link)
	}

	eurTr := transfer()
	eurTr.Destination = acct
	usdTr := eurTr
	usdTr.PayoutID, usdTr.Amount, usdTr.Reference = "po_usd", money.New(250_000_000, money.USD), ""
	for _, tr := range []payout.Transfer{eurTr, usdTr, eurTr} {
		sent, err := p.Send(ctx, tr)
		if err != nil {
			t.Fatalf("Send(%s): %v", tr.PayoutID, err)
		}
		if !strings.HasPrefix(sent.Ref, "tr_") || !sent.Paid {
			t.Errorf("Send(%s) = %+v, want {Ref: tr_…, Paid: true}", tr.PayoutID, sent)
		}
	}
}

// TestStripeMockRejectsBadRequest checks that stripe-mock's validation
// reaches the caller as Stripe's own invalid_request_error would.
func TestStripeMockRejectsBadRequest(t *testing.T) {
	t.Parallel()
	p := newProvider(t, stripeMockURL(t), stripeMockKey)
	// An unknown parameter, which Stripe and stripe-mock refuse.
	params := &stripego.TransferCreateParams{
		Amount:      stripego.Int64(100),
		Currency:    stripego.String("eur"),
		Destination: stripego.String("acct_1"),
	}
	params.AddExtra("not_a_parameter", "x")
	_, err := p.api.V1Transfers.Create(context.Background(), params)
	if err == nil {
		t.Fatal("stripe-mock accepted an unknown parameter")
	}
	if err := classify(err, payout.ErrRejected); !errors.Is(err, payout.ErrRejected) {
		t.Errorf("stripe-mock's refusal classified as %v, want ErrRejected", err)
	}
}
