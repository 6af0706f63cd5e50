package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

// fakeStripe starts a Fake for a platform in platformCountry and returns it
// with a Provider configured with providerCountry ("" : read from the Fake)
// pointed at it.
func fakeStripe(t *testing.T, platformCountry, providerCountry string) (*Fake, *Provider) {
	t.Helper()
	f := NewFake(fakeKey, webhookSecret, platformCountry, func() time.Time { return now })
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	p, err := New(Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, BaseURL: srv.URL,
		PlatformCountry: providerCountry, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return f, p
}

// onboard makes and onboards a creator's account in country through p and
// f, and returns its id.
func onboard(t *testing.T, f *Fake, p *Provider, creator, country string) string {
	t.Helper()
	acct, err := p.CreateAccount(context.Background(), creator, country, creator+"@example.com")
	if err != nil {
		t.Fatalf("CreateAccount(%s, %s): %v", creator, country, err)
	}
	if _, _, err := f.CompleteOnboarding(acct); err != nil {
		t.Fatal(err)
	}
	return acct
}

func payoutTo(id, acct string, amount money.Amount) payout.Transfer {
	return payout.Transfer{PayoutID: id, CreatorID: "crt_" + id, Amount: amount, Destination: acct}
}

// TestCrossBorderPayouts: a platform in Germany pays creators in the US,
// France and Germany. Stripe makes cross-border payouts only to accounts
// under the recipient service agreement; the Fake refuses a transfer to a
// full-agreement account outside the platform's region, as Stripe does
// (see Fake). Before the fix every account was made under the full
// agreement, so the US creator's payouts all failed — which the
// misconfigured provider below still shows.
func TestCrossBorderPayouts(t *testing.T) {
	t.Parallel()
	f, p := fakeStripe(t, "DE", "") // the platform's country read from GET /v1/account
	ctx := context.Background()
	us := onboard(t, f, p, "ana", "US")
	fr := onboard(t, f, p, "bo", "FR")
	de := onboard(t, f, p, "cy", "DE")
	for _, tc := range []struct {
		acct, agreement string
		caps            map[string]string
	}{
		{us, "recipient", map[string]string{"transfers": "active"}},
		{fr, "recipient", map[string]string{"transfers": "active"}},
		{de, "full", map[string]string{"transfers": "active"}},
	} {
		a, _ := f.Account(tc.acct)
		if a.ServiceAgreement != tc.agreement || len(a.Capabilities) != len(tc.caps) || a.Capabilities["transfers"] != "active" {
			t.Errorf("account %s in %s: agreement %s, capabilities %v; want %s, %v", a.ID, a.Country, a.ServiceAgreement, a.Capabilities, tc.agreement, tc.caps)
		}
	}
	for i, tr := range []payout.Transfer{
		payoutTo("po_us", us, money.New(25_500_000, money.USD)),
		payoutTo("po_fr", fr, eur(12_340_000)),
		payoutTo("po_de", de, eur(10_000)),
	} {
		sent, err := p.Send(ctx, tr)
		if err != nil || !sent.Paid || !strings.HasPrefix(sent.Ref, "tr_") {
			t.Fatalf("Send(%s): %+v, %v", tr.PayoutID, sent, err)
		}
		got := f.Transfers()[i]
		wantCents, _ := tr.Amount.Cents()
		if got.ID != sent.Ref || got.Amount != wantCents || got.Currency != strings.ToLower(string(tr.Amount.Currency)) || got.Destination != tr.Destination {
			t.Errorf("transfer %+v for %+v", got, tr)
		}
	}

	// The same platform believing it is in the US (as before the fix, with
	// no agreement chosen): the US creator's account is made under the full
	// agreement and every payout to it is refused, and the payout fails.
	wrong, err := New(Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, BaseURL: serverURL(t, f), PlatformCountry: "US"})
	if err != nil {
		t.Fatal(err)
	}
	full := onboard(t, f, wrong, "dee", "US")
	if a, _ := f.Account(full); a.ServiceAgreement != "full" {
		t.Fatalf("account %+v, want the full agreement", a)
	}
	n := len(f.Transfers())
	_, err = wrong.Send(ctx, payoutTo("po_full", full, money.New(1_000_000, money.USD)))
	if !errors.Is(err, payout.ErrRejected) || !strings.Contains(err.Error(), "recipient service agreement") {
		t.Errorf("Send to a cross-border full-agreement account: %v, want ErrRejected naming the recipient agreement", err)
	}
	if len(f.Transfers()) != n {
		t.Error("the Fake made a cross-border transfer to a full-agreement account")
	}
	// A full-agreement account in the platform's region (Europe) is paid.
	fullFR := fakePost(t, f, "/v1/accounts", "", url.Values{"type": {"express"}, "country": {"FR"},
		"capabilities[transfers][requested]": {"true"}})
	if _, _, err := f.CompleteOnboarding(fullFR); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(ctx, payoutTo("po_fr_full", fullFR, eur(10_000))); err != nil {
		t.Errorf("Send to a full-agreement account in France from Germany: %v", err)
	}
}

// fakePost sends a POST to f as Stripe's API would be called, with an
// Idempotency-Key when key is not "", and returns the id of the object
// made; it fails the test on an error answer.
func fakePost(t interface {
	Helper()
	Fatalf(string, ...any)
}, f *Fake, path, key string, form url.Values) string {
	t.Helper()
	status, body := fakeDo(f, http.MethodPost, path, key, form)
	if status != http.StatusOK {
		t.Fatalf("POST %s %v: %d %s", path, form, status, body)
	}
	var obj struct{ ID string }
	if err := json.Unmarshal([]byte(body), &obj); err != nil {
		t.Fatalf("%v", err)
	}
	return obj.ID
}

func fakeDo(f *Fake, method, path, key string, form url.Values) (int, string) {
	r := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("Authorization", "Bearer "+fakeKey)
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	f.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

// TestFakeFollowsStripe: the Fake's refusals, each as Stripe documents it
// (see Fake), and that the Provider reads them as payper's errors.
func TestFakeFollowsStripe(t *testing.T) {
	t.Parallel()
	f, p := fakeStripe(t, "GB", "GB")
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		form  url.Values
		param string
	}{
		{"recipient with card payments", url.Values{"type": {"express"}, "country": {"US"},
			"tos_acceptance[service_agreement]": {"recipient"}, "capabilities[card_payments][requested]": {"true"},
			"capabilities[transfers][requested]": {"true"}}, "capabilities[card_payments]"},
		{"unknown agreement", url.Values{"type": {"express"}, "country": {"US"}, "tos_acceptance[service_agreement]": {"partial"}},
			"tos_acceptance[service_agreement]"},
		{"unknown country", url.Values{"type": {"express"}, "country": {"XX"}}, "country"},
		{"standard account", url.Values{"type": {"standard"}, "country": {"GB"}}, "type"},
	} {
		status, body := fakeDo(f, http.MethodPost, "/v1/accounts", "", tc.form)
		if status != 400 || !strings.Contains(body, `"param":"`+tc.param+`"`) || !strings.Contains(body, "invalid_request_error") {
			t.Errorf("%s: %d %s, want 400 invalid_request_error on %s", tc.name, status, body, tc.param)
		}
	}
	// Through the Provider: a country Stripe refuses is the caller's fault.
	_, err := p.CreateAccount(ctx, "crt_1", "XX", "ana@example.com")
	var inv *payout.InvalidError
	if !errors.As(err, &inv) || inv.Field != "country" || errors.Is(err, payout.ErrUnavailable) {
		t.Errorf("CreateAccount in XX: %v, want ErrInvalid on country", err)
	}
	if _, err := p.OnboardingLink(ctx, "acct_1Missing", "https://payper.example/r", "https://payper.example/d"); !errors.As(err, &inv) || inv.Field != "account" {
		t.Errorf("OnboardingLink for an unknown account: %v, want ErrInvalid on account", err)
	}

	// Not yet onboarded: the transfers capability is inactive, and Stripe
	// refuses the transfer; the payout fails, nothing is sent.
	acct, err := p.CreateAccount(ctx, "crt_2", "GB", "bo@example.com")
	if err != nil {
		t.Fatal(err)
	}
	link, err := p.OnboardingLink(ctx, acct, "https://payper.example/r", "https://payper.example/d")
	if err != nil || !strings.HasPrefix(link, "https://connect.stripe.com/") {
		t.Errorf("OnboardingLink = %q, %v", link, err)
	}
	gbp := money.New(5_000_000, "GBP")
	if _, err := p.Send(ctx, payoutTo("po_early", acct, gbp)); !errors.Is(err, payout.ErrRejected) {
		t.Errorf("Send before onboarding: %v, want ErrRejected", err)
	}
	if _, _, err := f.CompleteOnboarding(acct); err != nil {
		t.Fatal(err)
	}

	// The platform's balance: a transfer beyond it is refused, one within
	// it is made once however often it is sent.
	f.SetBalance("gbp", 700)
	if _, err := p.Send(ctx, payoutTo("po_big", acct, money.New(7_010_000, "GBP"))); !errors.Is(err, payout.ErrRejected) || !strings.Contains(err.Error(), "insufficient") {
		t.Errorf("Send beyond the balance: %v, want ErrRejected", err)
	}
	for range 3 {
		if _, err := p.Send(ctx, payoutTo("po_ok", acct, gbp)); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	if n := len(f.Transfers()); n != 1 {
		t.Errorf("%d transfers, want 1", n)
	}

	// Stripe down: ErrUnavailable, and the retry under the same key makes
	// one account.
	f.FailNext(1, 503)
	if _, err := p.CreateAccount(ctx, "crt_3", "GB", "cy@example.com"); !errors.Is(err, payout.ErrUnavailable) {
		t.Errorf("CreateAccount while Stripe is down: %v, want ErrUnavailable", err)
	}
	before := len(f.Accounts())
	a1, err1 := p.CreateAccount(ctx, "crt_3", "GB", "cy@example.com")
	a2, err2 := p.CreateAccount(ctx, "crt_3", "GB", "cy@example.com")
	if err1 != nil || err2 != nil || a1 != a2 || len(f.Accounts()) != before+1 {
		t.Errorf("CreateAccount twice: %s %v, %s %v; %d accounts made, want 1", a1, err1, a2, err2, len(f.Accounts())-before)
	}

	// An idempotency key reused with other parameters.
	form := url.Values{"type": {"express"}, "country": {"GB"}}
	fakePost(t, f, "/v1/accounts", "k1", form)
	form.Set("country", "FR")
	if status, body := fakeDo(f, http.MethodPost, "/v1/accounts", "k1", form); status != 400 || !strings.Contains(body, "idempotency_error") {
		t.Errorf("a key reused with other parameters: %d %s", status, body)
	}
	// A wrong key.
	bad, err := New(Config{SecretKey: "sk_test_wrong", WebhookSecret: webhookSecret, BaseURL: serverURL(t, f), PlatformCountry: "GB"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.CreateAccount(ctx, "crt_4", "GB", "d@example.com"); err == nil || errors.Is(err, payout.ErrInvalid) || errors.Is(err, payout.ErrUnavailable) {
		t.Errorf("CreateAccount with a wrong key: %v, want a plain error", err)
	}
}

// TestAccountEvents: the Fake's account.updated and payout.failed
// deliveries through ParseAccountEvent (and ignored by ParseWebhook).
func TestAccountEvents(t *testing.T) {
	t.Parallel()
	f, p := fakeStripe(t, "DE", "DE")
	acct, err := p.CreateAccount(context.Background(), "crt_42", "US", "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(body []byte, h http.Header, err error) AccountEvent {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		ev, err := p.ParseWebhook(h, body)
		if err != nil || ev.State != "" || ev.ID == "" {
			t.Errorf("ParseWebhook of a Connect event: %+v, %v; want it ignored", ev, err)
		}
		ae, err := p.ParseAccountEvent(h, body)
		if err != nil {
			t.Fatalf("ParseAccountEvent: %v", err)
		}
		if ae.ID != ev.ID || ae.Account != acct {
			t.Errorf("account event %+v, want id %s about %s", ae, ev.ID, acct)
		}
		return ae
	}
	ready := parse(f.CompleteOnboarding(acct))
	if ready.Type != "account.updated" || ready.Status != AccountReady || ready.CreatorID != "crt_42" || ready.Reason != "" ||
		!ready.DetailsSubmitted || !ready.PayoutsEnabled || ready.Transfers != "active" {
		t.Errorf("onboarded: %+v", ready)
	}
	restricted := parse(f.Restrict(acct, "requirements.past_due", "individual.verification.document"))
	if restricted.Status != AccountRestricted || restricted.DisabledReason != "requirements.past_due" ||
		!strings.Contains(restricted.Reason, "individual.verification.document") {
		t.Errorf("restricted: %+v", restricted)
	}
	failed := parse(f.PayoutFailed(acct, 2550, "usd", "account_closed", "The bank account has been closed."))
	if failed.Type != "payout.failed" || failed.Amount != money.New(25_500_000, money.USD) || failed.FailureCode != "account_closed" ||
		!strings.HasPrefix(failed.Payout, "po_") || !strings.Contains(failed.Reason, "25.50 USD") {
		t.Errorf("payout failed: %+v", failed)
	}
}

// TestRecordedAccountEvents reads the recorded Connect payloads
// (testdata/webhooks, sources in its README) through ParseAccountEvent.
func TestRecordedAccountEvents(t *testing.T) {
	t.Parallel()
	p := webhookProvider(t)
	const acct = "acct_1PgafTB7WZ01zgkW"
	for file, want := range map[string]AccountEvent{
		"account.updated.json": {ID: "evt_1PgcA1B7WZ01zgkWacct0001", Type: "account.updated", Account: acct, Status: AccountOnboarding,
			Country: "US", Transfers: "active", DisabledReason: "requirements.past_due"},
		"account.updated.ready.json": {ID: "evt_1PgcA2B7WZ01zgkWacct0002", Type: "account.updated", Account: acct, Status: AccountReady,
			Country: "US", ServiceAgreement: "recipient", CreatorID: "crt_06h4ujbrg1qa96k1", DetailsSubmitted: true, PayoutsEnabled: true, Transfers: "active"},
		"account.updated.restricted.json": {ID: "evt_1PgcA3B7WZ01zgkWacct0003", Type: "account.updated", Account: acct, Status: AccountRestricted,
			Country: "US", ServiceAgreement: "recipient", CreatorID: "crt_06h4ujbrg1qa96k1", DetailsSubmitted: true, Transfers: "inactive", DisabledReason: "requirements.past_due"},
		"payout.failed.json": {ID: "evt_1PgcA4B7WZ01zgkWpout0004", Type: "payout.failed", Account: acct, Payout: "po_1Pgc79B7WZ01zgkWu1KToYf4",
			Amount: money.New(11_000_000, money.USD), FailureCode: "account_closed", FailureMessage: "The bank account has been closed."},
		"transfer.reversed.json": {ID: "evt_1MiN4ZLkdIwHu7ixwz4c5wGl"},
		"balance.available.json": {ID: "evt_1NG8Du2eZvKYlo2CUI79vXWy"},
	} {
		body, err := os.ReadFile(filepath.Join("testdata", "webhooks", file))
		if err != nil {
			t.Fatal(err)
		}
		ae, err := p.ParseAccountEvent(http.Header{"Stripe-Signature": {SignForTest(webhookSecret, now, body)}}, body)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if wantReason := want.Type != "" && want.Status != AccountReady; (ae.Reason != "") != wantReason {
			t.Errorf("%s: reason %q, want one: %t", file, ae.Reason, wantReason)
		}
		var created struct {
			Created int64 `json:"created"`
		}
		if err := json.Unmarshal(body, &created); err != nil || created.Created == 0 || !ae.Created.Equal(time.Unix(created.Created, 0)) {
			t.Errorf("%s: created %s, want the event's created %d (%v)", file, ae.Created, created.Created, err)
		}
		ae.Reason, ae.CurrentlyDue, ae.Created = "", nil, time.Time{}
		if !reflect.DeepEqual(ae, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", file, ae, want)
		}
	}
}

// TestConnectWebhookSecret: Connect events come from a Connect endpoint,
// signed with its own secret; a delivery signed with either configured
// secret is read, one signed with another is ErrBadSignature.
func TestConnectWebhookSecret(t *testing.T) {
	t.Parallel()
	p, err := New(Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, ConnectWebhookSecret: "whsec_connect",
		Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	body := eventBody(t, "evt_7", "account.updated", map[string]any{"id": "acct_1", "object": "account", "details_submitted": false})
	for secret, ok := range map[string]bool{webhookSecret: true, "whsec_connect": true, "whsec_other": false} {
		h := signed(body, secret, now)
		ae, err := p.ParseAccountEvent(h, body)
		_, err2 := p.ParseWebhook(h, body)
		if ok && (err != nil || err2 != nil || ae.Status != AccountOnboarding) {
			t.Errorf("signed with %s: %+v, %v, %v", secret, ae, err, err2)
		}
		if !ok && (!errors.Is(err, payout.ErrBadSignature) || !errors.Is(err2, payout.ErrBadSignature)) {
			t.Errorf("signed with %s: %v, %v; want ErrBadSignature", secret, err, err2)
		}
	}
}

// TestReversalsAddUp is a property test of transfer.reversed: a paid
// transfer reversed in any number of parts, the Fake's events delivered in
// any order, each read once: the Amounts (the zero Amount: the whole
// transfer) add up to what came back, to the micro-unit, never above the
// transfer, and each event names the transfer and its payout.
func TestReversalsAddUp(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		f := NewFake(fakeKey, webhookSecret, "DE", func() time.Time { return now })
		p, err := New(Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, BaseURL: "http://127.0.0.1:1",
			Clock: func() time.Time { return now }})
		if err != nil {
			rt.Fatal(err)
		}
		acct := fakePost(rt, f, "/v1/accounts", "", url.Values{"type": {"express"}, "country": {"DE"},
			"capabilities[transfers][requested]": {"true"}})
		if _, _, err := f.CompleteOnboarding(acct); err != nil {
			rt.Fatal(err)
		}
		amount := rapid.Int64Range(1, 1_000_000_00).Draw(rt, "cents")
		cur := rapid.SampledFrom([]string{"eur", "usd", "gbp", "chf"}).Draw(rt, "currency")
		tr := fakePost(rt, f, "/v1/transfers", "", url.Values{"amount": {strconv.FormatInt(amount, 10)}, "currency": {cur},
			"destination": {acct}, "metadata[payout_id]": {"po_1"}})
		var bodies [][]byte
		left := amount
		for left > 0 && rapid.Bool().Draw(rt, "reverse more") {
			part := rapid.Int64Range(1, left).Draw(rt, "part")
			body, _, err := f.Reverse(tr, part)
			if err != nil {
				rt.Fatal(err)
			}
			bodies = append(bodies, body)
			left -= part
		}
		back := amount - left
		order := rapid.Permutation(bodies).Draw(rt, "delivery order")
		var sum int64
		for _, body := range order {
			ev, err := p.ParseWebhook(signed(body, webhookSecret, now), body)
			if err != nil {
				rt.Fatalf("ParseWebhook: %v", err)
			}
			if ev.State != payout.StateReversed || ev.Ref != tr || ev.PayoutID != "po_1" || ev.Reason == "" {
				rt.Fatalf("event %+v", ev)
			}
			switch {
			case ev.Amount == (money.Amount{}):
				if len(bodies) != 1 || back != amount {
					rt.Fatalf("the zero Amount (whole payout) for one of %d reversals, %d of %d back", len(bodies), back, amount)
				}
				sum += amount * centMicros
			case ev.Amount.Currency != money.Currency(strings.ToUpper(cur)) || ev.Amount.Micros <= 0:
				rt.Fatalf("amount %v of a %s transfer", ev.Amount, cur)
			default:
				sum += ev.Amount.Micros
			}
			if sum > amount*centMicros {
				rt.Fatalf("%d micro-units reversed of a %d-cent transfer", sum, amount)
			}
		}
		if sum != back*centMicros {
			rt.Fatalf("the events reverse %d micro-units, %d cents came back", sum, back)
		}
	})
}

// serverURL serves f on a new test server and returns its URL.
func serverURL(t *testing.T, f *Fake) string {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestAccountLookup: Account reads an account as account.updated would,
// with its country and service agreement, so a full-agreement account in
// another country (made before issue 14) can be found.
func TestAccountLookup(t *testing.T) {
	t.Parallel()
	f, p := fakeStripe(t, "DE", "DE")
	ctx := context.Background()
	acct, err := p.CreateAccount(ctx, "crt_42", "US", "ana@example.com")
	if err != nil {
		t.Fatal(err)
	}
	a, err := p.Account(ctx, acct)
	if err != nil || a.Account != acct || a.Country != "US" || a.ServiceAgreement != "recipient" || a.Status != AccountOnboarding ||
		a.CreatorID != "crt_42" || a.Transfers != "inactive" || a.Type != "" || a.ID != "" {
		t.Errorf("Account before onboarding: %+v, %v", a, err)
	}
	if _, _, err := f.CompleteOnboarding(acct); err != nil {
		t.Fatal(err)
	}
	if a, err := p.Account(ctx, acct); err != nil || a.Status != AccountReady {
		t.Errorf("Account after onboarding: %+v, %v", a, err)
	}
	var inv *payout.InvalidError
	if _, err := p.Account(ctx, "acct_1Unknown"); !errors.As(err, &inv) || inv.Field != "account" {
		t.Errorf("Account of an unknown account: %v, want ErrInvalid on account", err)
	}
	if _, err := p.Account(ctx, "crt_42"); !errors.Is(err, payout.ErrInvalid) {
		t.Errorf("Account of a creator id: %v, want ErrInvalid", err)
	}
	f.FailNext(1, 502)
	if _, err := p.Account(ctx, acct); !errors.Is(err, payout.ErrUnavailable) {
		t.Errorf("Account with Stripe down: %v, want ErrUnavailable", err)
	}
}

// TestConcurrentSends: the same payout sent from eight goroutines at once
// (two servers' job queues, a retry racing the first try) makes one
// transfer, and every Send that succeeds names it.
func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	f, p := fakeStripe(t, "DE", "DE")
	acct := onboard(t, f, p, "ana", "DE")
	var wg sync.WaitGroup
	refs := make([]string, 8)
	errs := make([]error, 8)
	for i := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent, err := p.Send(context.Background(), payoutTo("po_race", acct, eur(12_340_000)))
			refs[i], errs[i] = sent.Ref, err
		}()
	}
	wg.Wait()
	trs := f.Transfers()
	if len(trs) != 1 || trs[0].Amount != 1234 {
		t.Fatalf("transfers %+v, want one of 1234 cents", trs)
	}
	for i := range refs {
		if errs[i] != nil || refs[i] != trs[0].ID {
			t.Errorf("Send %d: %q, %v; want %s", i, refs[i], errs[i], trs[0].ID)
		}
	}
}
