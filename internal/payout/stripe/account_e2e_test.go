package stripe_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/stripe"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store/storetest"
)

// stripeWorld is payper's payout service on one store, through the real
// Provider, against a Stripe Fake of a platform in platformCountry, and a
// creator with 60.004567 EUR available.
type stripeWorld struct {
	ctx     context.Context
	env     *demo.Env
	a       *app.App
	clk     *clock.Fake
	fake    *stripe.Fake
	srvURL  string
	svc     *payout.Service
	creator identity.Principal
}

const e2eKey, e2eSecret = "sk_test_acct", "whsec_acct"

func newStripeWorld(t *testing.T, dbURL, platformCountry string) *stripeWorld {
	t.Helper()
	ctx := context.Background()
	env, err := demo.Start(ctx, dbURL, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), engage.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	w := &stripeWorld{ctx: ctx, env: env, a: env.App, clk: env.Clock}
	w.creator = earn(t, ctx, w.a, 60_004_567)
	w.fake = stripe.NewFake(e2eKey, e2eSecret, platformCountry, env.Clock.Now)
	srv := httptest.NewServer(w.fake)
	t.Cleanup(srv.Close)
	w.srvURL = srv.URL
	prov, err := stripe.New(stripe.Config{SecretKey: e2eKey, WebhookSecret: e2eSecret, BaseURL: srv.URL, Clock: env.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	w.svc = payout.New(w.a.DB, env.Clock, w.a.Ledger, payout.Config{}, nil, prov)
	box, _ := secret.New([]byte("0123456789abcdef0123456789abcdef"))
	w.svc.SetSecretBox(box)
	return w
}

func (w *stripeWorld) hook(t *testing.T, body []byte, h http.Header) {
	t.Helper()
	if err := w.svc.Webhook(w.ctx, payout.ProviderStripe, h, body); err != nil {
		t.Fatalf("Webhook: %v", err)
	}
}

func (w *stripeWorld) dest(t *testing.T) payout.Destination {
	t.Helper()
	ds, err := w.svc.Destinations(w.ctx, w.creator)
	if err != nil || len(ds) != 1 || ds[0].Provider != payout.ProviderStripe {
		t.Fatalf("destinations %+v, %v; want one through stripe", ds, err)
	}
	return ds[0]
}

// check asserts the creator's EUR balance to the micro-unit and the audit.
func (w *stripeWorld) check(t *testing.T, available, pending, paidOut int64) {
	t.Helper()
	b, err := w.a.Ledger.Balance(w.ctx, w.creator.SubjectID, money.EUR)
	if err != nil || b.Available != available || b.PendingPayout != pending || b.PaidOut != paidOut {
		t.Fatalf("balance %+v, %v; want available %d, pending %d, paid out %d", b, err, available, pending, paidOut)
	}
	if rep, err := w.a.Ledger.Audit(w.ctx); err != nil || !rep.OK() {
		t.Fatalf("audit: %+v, %v", rep, err)
	}
}

// TestAccountEventsReachTheService (issue 14, item 6): Stripe's
// account.updated and a connected account's payout.failed, signed as
// Stripe signs them (the Fake's deliveries), reach payper's payout service
// on both stores. A restricted account is shown to its creator and her
// payout waits, requested with the reason, nothing sent to Stripe; a
// redelivery and an older event change nothing; the account becoming ready
// lets the payout go. A payout.failed from her Stripe balance to her bank
// is shown to her and leaves the ledger as it was, to the micro-unit.
func TestAccountEventsReachTheService(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newStripeWorld(t, dbURL, "US")
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); err != nil {
			t.Fatal(err)
		}
		acct := w.fake.Accounts()[0].ID
		if d := w.dest(t); d.Status != "" {
			t.Fatalf("a new account has status %q before Stripe said anything", d.Status)
		}

		// She finished onboarding (that delivery was lost), then Stripe
		// restricted her account.
		if _, _, err := w.fake.CompleteOnboarding(acct); err != nil {
			t.Fatal(err)
		}
		restricted, rh, err := w.fake.Restrict(acct, "requirements.past_due", "individual.verification.document")
		if err != nil {
			t.Fatal(err)
		}
		w.hook(t, restricted, rh)
		d := w.dest(t)
		if d.Status != payout.AccountRestricted || !strings.Contains(d.StatusReason, "requirements.past_due") || d.StatusAt == 0 {
			t.Fatalf("after account.updated (restricted): %+v", d)
		}

		po, err := w.svc.RequestPayout(w.ctx, w.creator, payout.Request{Currency: "EUR", Provider: payout.ProviderStripe,
			Amount: json.RawMessage(`{"amount":"25.50","currency":"EUR"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if po.State != payout.StateRequested || !strings.HasPrefix(po.Reason, "waits for the stripe account: ") {
			t.Fatalf("payout requested to a restricted account: %+v", po)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 0 || len(w.fake.Transfers()) != 0 {
			t.Fatalf("Process sent %d (%v), %d transfers at Stripe: a restricted account was paid", n, err, len(w.fake.Transfers()))
		}
		if got := w.list(t)[0]; got.State != payout.StateRequested || got.Attempts != 0 || !strings.Contains(got.Reason, "requirements.past_due") {
			t.Fatalf("the waiting payout: %+v", got)
		}
		w.check(t, 34_504_567, 25_500_000, 0)

		// Onboarding finished a minute later; then an event older than that
		// one arrives: ignored (Stripe does not order deliveries).
		older, oh, err := w.fake.Restrict(acct, "requirements.past_due", "external_account")
		if err != nil {
			t.Fatal(err)
		}
		w.clk.Advance(time.Minute)
		ready, readyH, err := w.fake.CompleteOnboarding(acct)
		if err != nil {
			t.Fatal(err)
		}
		w.hook(t, ready, readyH)
		w.hook(t, older, oh)
		if d := w.dest(t); d.Status != payout.AccountReady || d.StatusReason != "" {
			t.Fatalf("after ready and an older event: %+v", d)
		}
		if got := w.list(t)[0]; got.Reason != "" {
			t.Fatalf("the payout still says it waits: %+v", got)
		}
		// Restricted again in the same second; the ready event redelivered
		// then is the same event: it changes nothing.
		again, ah, err := w.fake.Restrict(acct, "requirements.past_due", "individual.id_number")
		if err != nil {
			t.Fatal(err)
		}
		w.hook(t, again, ah)
		w.hook(t, ready, readyH)
		w.hook(t, restricted, rh)
		if d := w.dest(t); d.Status != payout.AccountRestricted {
			t.Fatalf("a redelivered ready event changed the status: %+v", d)
		}
		if got := w.list(t)[0]; !strings.HasPrefix(got.Reason, "waits for the stripe account: ") {
			t.Fatalf("the payout does not say it waits again: %+v", got)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 0 {
			t.Fatalf("Process: %d, %v", n, err)
		}
		w.clk.Advance(time.Minute)
		ready, readyH, err = w.fake.CompleteOnboarding(acct)
		if err != nil {
			t.Fatal(err)
		}
		w.hook(t, ready, readyH)
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("Process: %d, %v", n, err)
		}
		trs := w.fake.Transfers()
		if len(trs) != 1 || trs[0].Amount != 2550 || trs[0].Destination != acct || trs[0].Metadata["payout_id"] != po.ID {
			t.Fatalf("transfers: %+v", trs)
		}
		if got := w.list(t)[0]; got.State != payout.StatePaid {
			t.Fatalf("payout %+v, want paid", got)
		}
		w.check(t, 34_504_567, 0, 25_500_000)

		// Her bank refuses Stripe's payout of it: shown to her, the
		// ledger untouched; its redelivery changes nothing either.
		failed, fh, err := w.fake.PayoutFailed(acct, 2550, "eur", "account_closed", "The bank account has been closed.")
		if err != nil {
			t.Fatal(err)
		}
		w.hook(t, failed, fh)
		w.hook(t, failed, fh)
		d = w.dest(t)
		if d.Status != payout.AccountReady || !strings.Contains(d.PayoutFailure, "The bank account has been closed.") ||
			!strings.Contains(d.PayoutFailure, "25.500000 EUR") || d.PayoutFailureAt == 0 {
			t.Fatalf("after payout.failed: %+v", d)
		}
		if got := w.list(t)[0]; got.State != payout.StatePaid {
			t.Fatalf("payout.failed changed payper's payout: %+v", got)
		}
		w.check(t, 34_504_567, 0, 25_500_000)

		// Resuming her onboarding reads her account and makes no other.
		if link, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); err != nil || link == "" {
			t.Fatalf("resuming onboarding: %q, %v", link, err)
		}
		if n := len(w.fake.Accounts()); n != 1 {
			t.Fatalf("resuming onboarding made %d accounts, want the one", n)
		}
		if d := w.dest(t); d.Status != payout.AccountReady || !strings.Contains(d.PayoutFailure, "closed") {
			t.Fatalf("after resuming: %+v", d)
		}
	})
}

// TestRefusedWhileNotReadyWaits (issue 14, item 6): payper heard nothing
// about a new account (its account.updated lost), so the payout is sent and
// Stripe refuses the transfer — the account has no active transfers
// capability (https://docs.stripe.com/connect/account-capabilities#transfers).
// The payout does not fail: the account is read, its status recorded, and
// the payout waits, requested, its money held, until Stripe says the account
// is ready; then it is paid. Both stores, money to the micro-unit.
func TestRefusedWhileNotReadyWaits(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newStripeWorld(t, dbURL, "US")
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); err != nil {
			t.Fatal(err)
		}
		acct := w.fake.Accounts()[0].ID
		po, err := w.svc.RequestPayout(w.ctx, w.creator, payout.Request{Currency: "EUR", Provider: payout.ProviderStripe,
			Amount: json.RawMessage(`{"amount":"12.34","currency":"EUR"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 0 {
			t.Fatalf("Process: %d, %v", n, err)
		}
		got := w.list(t)[0]
		if got.State != payout.StateRequested || !strings.HasPrefix(got.Reason, "waits for the stripe account: onboarding of Stripe account "+acct) {
			t.Fatalf("a payout Stripe refused for an unfinished account: %+v", got)
		}
		if d := w.dest(t); d.Status != payout.AccountOnboarding {
			t.Fatalf("destination %+v, want onboarding", d)
		}
		w.check(t, 47_664_567, 12_340_000, 0)
		if n, err := w.svc.Process(w.ctx); err != nil || n != 0 || len(w.fake.Transfers()) != 0 {
			t.Fatalf("Process sent it again while not ready: %d, %v", n, err)
		}
		w.clk.Advance(time.Second)
		body, h, err := w.fake.CompleteOnboarding(acct)
		if err != nil {
			t.Fatal(err)
		}
		w.hook(t, body, h)
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("Process once ready: %d, %v; %+v", n, err, w.list(t)[0])
		}
		if got := w.list(t)[0]; got.ID != po.ID || got.State != payout.StatePaid || got.Reason != "" {
			t.Fatalf("payout once ready: %+v", got)
		}
		w.check(t, 47_664_567, 0, 12_340_000)
	})
}

func (w *stripeWorld) list(t *testing.T) []payout.Payout {
	t.Helper()
	l, err := w.svc.List(w.ctx, w.creator, "")
	if err != nil || len(l) == 0 {
		t.Fatalf("payouts %+v, %v", l, err)
	}
	return l
}

// TestRecordedAccountEventsThroughTheService feeds Stripe's recorded
// Connect payloads (testdata/webhooks, sources in its README) to the
// service for a creator whose destination is their account, stored before
// migration 0028 (no account key yet: found by opening the sealed
// destinations). Restricted, then ready, then the connected account's
// payout.failed; an event about an account payper does not know is
// accepted and changes nothing.
func TestRecordedAccountEventsThroughTheService(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newStripeWorld(t, dbURL, "US")
		const acct = "acct_1PgafTB7WZ01zgkW"
		if err := w.svc.SetDestination(w.ctx, w.creator, payout.ProviderStripe, acct); err != nil {
			t.Fatal(err)
		}
		if _, err := w.a.DB.Writer().ExecContext(w.ctx, `UPDATE payout_destinations SET account_key = ''`); err != nil {
			t.Fatal(err)
		}
		deliver := func(file string) {
			t.Helper()
			body, err := os.ReadFile(filepath.Join("testdata", "webhooks", file))
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{"Stripe-Signature": {stripe.SignForTest(e2eSecret, w.clk.Now(), body)}}
			w.hook(t, body, h)
		}
		deliver("account.updated.restricted.json")
		if d := w.dest(t); d.Status != payout.AccountRestricted || !strings.Contains(d.StatusReason, "requirements.past_due") ||
			!d.StatusAt.Time().Equal(time.Unix(1721950000, 0)) {
			t.Fatalf("after the recorded restricted event: %+v", d)
		}
		deliver("account.updated.ready.json")
		if d := w.dest(t); d.Status != payout.AccountReady || d.StatusReason != "" {
			t.Fatalf("after the recorded ready event: %+v", d)
		}
		deliver("payout.failed.json")
		if d := w.dest(t); !strings.Contains(d.PayoutFailure, "The bank account has been closed.") || !strings.Contains(d.PayoutFailure, "11.000000 USD") {
			t.Fatalf("after the recorded payout.failed: %+v", d)
		}
		deliver("transfer.reversed.json") // a transfer payper did not make
		w.check(t, 60_004_567, 0, 0)

		// Another creator cannot take her account as his destination.
		cr, _, err := w.a.Identity.CreateCreator(w.ctx, "leo", "DE")
		if err != nil {
			t.Fatal(err)
		}
		leo := identity.Principal{Role: identity.RoleCreator, SubjectID: cr.ID}
		if err := w.svc.SetDestination(w.ctx, leo, payout.ProviderStripe, acct); errs.CodeOf(err) != "destination_in_use" || errs.KindOf(err) != errs.Conflict {
			t.Fatalf("a second creator setting her account: %v", err)
		}

		// Another creator's account: nothing of hers changes.
		body := strings.ReplaceAll(string(mustRead(t, "account.updated.restricted.json")), acct, "acct_1OtherCreator00")
		body = strings.ReplaceAll(body, "evt_1PgcA3B7WZ01zgkWacct0003", "evt_other")
		h := http.Header{"Stripe-Signature": {stripe.SignForTest(e2eSecret, w.clk.Now(), []byte(body))}}
		w.hook(t, []byte(body), h)
		if d := w.dest(t); d.Status != payout.AccountReady {
			t.Fatalf("another account's event changed hers: %+v", d)
		}
	})
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhooks", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOnboardReplacesFullAccountAbroad (issue 14, item 6): a creator whose
// account was made before issue 14 — under the full service agreement, in
// Germany, for a platform in the US, which Stripe cannot pay cross-border
// (https://docs.stripe.com/connect/service-agreement-types) — gets a new
// account under the recipient agreement when she onboards again, and her
// payouts go to it; a creator with a full account in the platform's own
// country resumes hers (its status recorded); a stored account Stripe no
// longer knows is replaced too. Money to the micro-unit, audit after each
// payout.
func TestOnboardReplacesFullAccountAbroad(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newStripeWorld(t, dbURL, "US")
		old := w.legacyAccount(t, "DE")
		if err := w.svc.SetDestination(w.ctx, w.creator, payout.ProviderStripe, old); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); err != nil {
			t.Fatal(err)
		}
		accts := w.fake.Accounts()
		if len(accts) != 2 {
			t.Fatalf("accounts at Stripe: %+v, want the old one and a new one", accts)
		}
		var fresh stripe.FakeAccount
		for _, a := range accts {
			if a.ID != old {
				fresh = a
			}
		}
		if fresh.ServiceAgreement != "recipient" || fresh.Country != "DE" {
			t.Fatalf("the new account: %+v, want a German recipient account", fresh)
		}
		if _, _, err := w.fake.CompleteOnboarding(fresh.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.fake.CompleteOnboarding(old); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.RequestPayout(w.ctx, w.creator, payout.Request{Currency: "EUR", Provider: payout.ProviderStripe,
			Amount: json.RawMessage(`{"amount":"10.00","currency":"EUR"}`)}); err != nil {
			t.Fatal(err)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("Process: %d, %v", n, err)
		}
		if trs := w.fake.Transfers(); len(trs) != 1 || trs[0].Destination != fresh.ID {
			t.Fatalf("transfers %+v, want one to the new account %s", trs, fresh.ID)
		}
		w.check(t, 50_004_567, 0, 10_000_000)

		// A full account in the platform's own country is resumed.
		us := w.legacyAccount(t, "US")
		if err := w.svc.SetDestination(w.ctx, w.creator, payout.ProviderStripe, us); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "US", "maria@example.com", "https://payper.example/back"); err != nil {
			t.Fatal(err)
		}
		if n := len(w.fake.Accounts()); n != 3 {
			t.Fatalf("%d accounts at Stripe, want 3: a usable account was replaced", n)
		}
		if d := w.dest(t); d.Status != payout.AccountOnboarding {
			t.Fatalf("resuming did not record the account's status: %+v", d)
		}

		// An account Stripe does not know is replaced.
		if err := w.svc.SetDestination(w.ctx, w.creator, payout.ProviderStripe, "acct_1Gone00000000000"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); err != nil {
			t.Fatal(err)
		}
		// (Stripe answers the same account-creation request within its
		// idempotency window with the account made for it before.)
		if _, err := w.svc.RequestPayout(w.ctx, w.creator, payout.Request{Currency: "EUR", Provider: payout.ProviderStripe,
			Amount: json.RawMessage(`{"amount":"10.00","currency":"EUR"}`)}); err != nil {
			t.Fatal(err)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("Process: %d, %v", n, err)
		}
		if trs := w.fake.Transfers(); len(trs) != 2 || trs[1].Destination != fresh.ID {
			t.Fatalf("transfers %+v, want the second to %s, not to the unknown account", trs, fresh.ID)
		}
		w.check(t, 40_004_567, 0, 20_000_000)

		// Stripe unavailable: no definite answer about the account, so it
		// is not replaced (the onboarding link fails: 503).
		n := len(w.fake.Accounts())
		w.fake.FailNext(20, http.StatusServiceUnavailable)
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); errs.KindOf(err) != errs.Unavailable {
			t.Fatalf("Onboard with Stripe down: %v, want Unavailable", err)
		}
		w.fake.FailNext(0, 0)
		if got := len(w.fake.Accounts()); got != n {
			t.Fatalf("%d accounts at Stripe, want %d: an account was replaced on no answer", got, n)
		}
	})
}

// legacyAccount makes an Express account in country as payper did before
// issue 14: no service agreement sent, so Stripe's default, full.
func (w *stripeWorld) legacyAccount(t *testing.T, country string) string {
	t.Helper()
	form := url.Values{"type": {"express"}, "country": {country}, "email": {"maria@example.com"},
		"capabilities[transfers][requested]": {"true"}, "capabilities[card_payments][requested]": {"true"}}
	req, _ := http.NewRequestWithContext(w.ctx, "POST", w.srvURL+"/v1/accounts", strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a struct {
		ID            string `json:"id"`
		TOSAcceptance struct {
			ServiceAgreement string `json:"service_agreement"`
		} `json:"tos_acceptance"`
	}
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil || res.StatusCode != 200 || a.TOSAcceptance.ServiceAgreement != "full" {
		t.Fatalf("legacy account: %d %+v %v", res.StatusCode, a, err)
	}
	return a.ID
}

// TestAccountEventsOutOfOrder: Stripe does not order deliveries
// (https://docs.stripe.com/webhooks#event-ordering). Twelve account.updated
// events a second apart, alternately restricted and ready, delivered at
// once in a shuffled order with each one twice: the destination ends with
// the newest event's status, whatever the order. Both stores.
func TestAccountEventsOutOfOrder(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newStripeWorld(t, dbURL, "US")
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); err != nil {
			t.Fatal(err)
		}
		acct := w.fake.Accounts()[0].ID
		type delivery struct {
			body []byte
			h    http.Header
		}
		var ds []delivery
		for i := range 12 {
			w.clk.Advance(time.Second)
			var body []byte
			var h http.Header
			var err error
			if i%2 == 0 {
				body, h, err = w.fake.Restrict(acct, "requirements.past_due", "individual.id_number")
			} else {
				body, h, err = w.fake.CompleteOnboarding(acct)
			}
			if err != nil {
				t.Fatal(err)
			}
			ds = append(ds, delivery{body, h}, delivery{body, h})
		}
		rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
		var wg sync.WaitGroup
		for _, d := range ds {
			wg.Go(func() {
				if err := w.svc.Webhook(w.ctx, payout.ProviderStripe, d.h, d.body); err != nil {
					t.Errorf("Webhook: %v", err)
				}
			})
		}
		wg.Wait()
		if d := w.dest(t); d.Status != payout.AccountReady || !d.StatusAt.Time().Equal(w.clk.Now().Truncate(time.Second)) {
			t.Fatalf("after out-of-order deliveries: %+v, want ready as of %s", d, w.clk.Now())
		}
	})
}
