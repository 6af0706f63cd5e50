package payout_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/stripe"
	"github.com/payper/payper/internal/payout/wise"
	"github.com/payper/payper/internal/store/storetest"
)

// lossy is an http.RoundTripper in front of a provider's fake: a request
// lose matches is carried out and its answer dropped (the connection reset
// after the provider acted), one fail matches is never sent.
type lossy struct {
	mu         sync.Mutex
	lose, fail func(r *http.Request) bool
	base       http.RoundTripper
}

func (l *lossy) set(lose, fail func(r *http.Request) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lose, l.fail = lose, fail
}

func (l *lossy) RoundTrip(r *http.Request) (*http.Response, error) {
	l.mu.Lock()
	lose, fail := l.lose, l.fail
	l.mu.Unlock()
	if fail != nil && fail(r) {
		return nil, errors.New("dial tcp: connection refused (test)")
	}
	resp, err := l.base.RoundTrip(r)
	if err != nil || lose == nil || !lose(r) {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil, errors.New("read tcp: connection reset by peer (test: the answer was lost)")
}

func is(method, path string) func(r *http.Request) bool {
	return func(r *http.Request) bool { return r.Method == method && r.URL.Path == path }
}

// TestLostAnswerAtLastAttemptStripe (money brief, item 1): the last
// attempt at a Stripe payout loses Stripe's answer after Stripe made the
// transfer. Before the fix the payout failed at the cap and its money was
// available again while the transfer had reached the creator (a double
// pay); now the transfer is looked up by its transfer_group and adopted:
// the payout is paid. When the look-up cannot answer either, the payout
// stays processing with its money held and needs the operator; it is not
// sent again; marking it failed is refused while Stripe shows the transfer,
// and marking it paid works without a transfer ref, recorded. A transfer
// that was never made (the request never reached Stripe) still fails at
// the cap, money back. Both stores, to the micro-unit.
func TestLostAnswerAtLastAttemptStripe(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur+4_567)
		fake := stripe.NewFake("sk_test_lost", "whsec_lost", "DE", w.env.Clock.Now)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		net := &lossy{base: srv.Client().Transport}
		prov, err := stripe.New(stripe.Config{SecretKey: "sk_test_lost", WebhookSecret: "whsec_lost", BaseURL: srv.URL,
			HTTP: &http.Client{Transport: net}, Clock: w.env.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		w.withService(payout.Config{MaxAttempts: 1}, prov)
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := fake.CompleteOnboarding(fake.Accounts()[0].ID); err != nil {
			t.Fatal(err)
		}
		run := func() {
			t.Helper()
			if _, err := w.svc.Process(w.ctx); err != nil {
				t.Fatal(err)
			}
		}
		request := func(amount string) payout.Payout {
			t.Helper()
			p, err := w.svc.RequestPayout(w.ctx, w.creator, req(amount, payout.ProviderStripe))
			if err != nil {
				t.Fatal(err)
			}
			return p
		}

		// p1: the transfer is made, its answer lost; the look-up finds it.
		p1 := request("40")
		net.set(is(http.MethodPost, "/v1/transfers"), nil)
		run()
		trs := fake.Transfers()
		got := w.payout(t, p1.ID)
		if len(trs) != 1 || got.State != payout.StatePaid || got.ProviderRef != trs[0].ID || got.Attention != "" {
			t.Fatalf("after the lost answer: %+v; Stripe holds %+v", got, trs)
		}
		if b := w.balance(t); b.Available != 60*eur+4_567 || b.PendingPayout != 0 || b.PaidOut != 40*eur {
			t.Fatalf("the money of a transfer Stripe made was freed: %+v", b)
		}

		// p2: the answer is lost and Stripe cannot be asked afterwards.
		p2 := request("30")
		var lost sync.Once
		lostCreate := false
		net.set(func(r *http.Request) bool {
			if is(http.MethodPost, "/v1/transfers")(r) {
				lost.Do(func() { lostCreate = true })
				return true
			}
			return false
		}, func(r *http.Request) bool { return lostCreate && is(http.MethodGet, "/v1/transfers")(r) })
		run()
		got = w.payout(t, p2.ID)
		if got.State != payout.StateProcessing || got.ProviderRef != "" || got.Attention == "" || !strings.Contains(got.Attention, "could not be asked") {
			t.Fatalf("a lost answer that cannot be looked up: %+v", got)
		}
		if b := w.balance(t); b.Available != 30*eur+4_567 || b.PendingPayout != 30*eur || b.PaidOut != 40*eur {
			t.Fatalf("the money of a payout that needs the operator: %+v", b)
		}
		before := fake.Requests()
		w.env.Clock.Advance(24 * time.Hour)
		run()
		if n := fake.Requests(); n != before {
			t.Fatalf("a payout that needs the operator was sent again (%d requests)", n-before)
		}
		net.set(nil, nil)
		_, err = w.svc.MarkManual(w.ctx, w.admin, p2.ID, payout.StateFailed, "not in Stripe")
		if errs.CodeOf(err) != "transfer_exists" || !strings.Contains(err.Error(), fake.Transfers()[1].ID) {
			t.Fatalf("marking failed a payout whose transfer Stripe shows: %v", err)
		}
		if b := w.balance(t); b.PendingPayout != 30*eur {
			t.Fatalf("a refused mark moved money: %+v", b)
		}
		got, err = w.svc.MarkManual(w.ctx, w.admin, p2.ID, payout.StatePaid, "Stripe shows it")
		if err != nil || got.State != payout.StatePaid || got.Attention != "" {
			t.Fatalf("settled paid: %+v, %v", got, err)
		}
		var state, reason string
		if err := w.env.App.DB.Read().QueryRowContext(w.ctx, `SELECT state, reason FROM payout_settlements WHERE payout_id = $1`, p2.ID).
			Scan(&state, &reason); err != nil || state != payout.StatePaid || reason != "Stripe shows it" {
			t.Fatalf("settlement record: %q %q %v", state, reason, err)
		}

		// p3: the transfer request never reached Stripe: nothing to find,
		// the payout fails at the cap and its money is available again.
		p3 := request("20")
		net.set(nil, is(http.MethodPost, "/v1/transfers"))
		run()
		if got := w.payout(t, p3.ID); got.State != payout.StateFailed || !strings.HasPrefix(got.Reason, "failed after 1 attempts: ") {
			t.Fatalf("a transfer never made: %+v", got)
		}
		if b := w.balance(t); b.Available != 30*eur+4_567 || b.PendingPayout != 0 || b.PaidOut != 70*eur || len(fake.Transfers()) != 2 {
			t.Fatalf("after all: %+v, %d transfers", b, len(fake.Transfers()))
		}
		w.audit(t)
	})
}

// TestLostAnswerAtLastAttemptWise (money brief, items 1 and 3): the last
// attempt at a Wise payout loses every answer to its transfer creation
// (the client's own retries included) after Wise made the transfer. Before
// the fix the payout failed at the cap and its money was freed while the
// transfer stood at Wise; now the transfer is found by its
// customerTransactionId in Wise's transfer list and adopted: the payout
// waits for its webhook, money held. The operator marking it failed
// cancels the transfer at Wise first (money back only then); a transfer
// Wise will not cancel (sent) refuses the mark. When Wise cannot be asked,
// the payout needs the operator, who may settle it without a ref.
func TestLostAnswerAtLastAttemptWise(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur+4_567)
		fake := wise.NewFake("tok", 77)
		fake.SetBalance("EUR", 1_000*eur)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		t.Setenv(wise.EnvSCAPrivateKeyFile, "")
		net := &lossy{base: srv.Client().Transport}
		prov, err := wise.New(wise.Config{APIToken: "tok", ProfileID: 77, BaseURL: srv.URL, WebhookPublicKeyPEM: fake.PublicKeyPEM(),
			HTTP: &http.Client{Transport: net}, Sleep: func(context.Context, time.Duration) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		w.withService(payout.Config{MaxAttempts: 1}, prov)
		if err := w.svc.SetDestination(w.ctx, w.creator, payout.ProviderWise, wiseDest); err != nil {
			t.Fatal(err)
		}
		run := func() {
			t.Helper()
			if _, err := w.svc.Process(w.ctx); err != nil {
				t.Fatal(err)
			}
		}

		p1, err := w.svc.RequestPayout(w.ctx, w.creator, req("40", payout.ProviderWise))
		if err != nil {
			t.Fatal(err)
		}
		net.set(is(http.MethodPost, "/v1/transfers"), nil)
		run()
		trs := fake.Transfers()
		got := w.payout(t, p1.ID)
		if len(trs) != 1 || got.State != payout.StateProcessing || got.ProviderRef != strconv.FormatInt(trs[0].ID, 10) || got.Attention != "" {
			t.Fatalf("after the lost answers: %+v; Wise holds %+v", got, trs)
		}
		if b := w.balance(t); b.Available != 60*eur+4_567 || b.PendingPayout != 40*eur {
			t.Fatalf("the money of a transfer Wise made was freed: %+v", b)
		}
		net.set(nil, nil)
		got, err = w.svc.MarkManual(w.ctx, w.admin, p1.ID, payout.StateFailed, "the transfer was never funded")
		if err != nil || got.State != payout.StateFailed || !strings.Contains(got.Reason, "canceled") {
			t.Fatalf("marked failed: %+v, %v", got, err)
		}
		if trs := fake.Transfers(); trs[0].Status != "cancelled" {
			t.Fatalf("the Wise transfer of a payout marked failed is %s", trs[0].Status)
		}
		if b := w.balance(t); b.Available != 100*eur+4_567 || b.PendingPayout != 0 {
			t.Fatalf("after failing: %+v", b)
		}

		// p2 is sent and delivered at Wise, its webhook lost: marking it
		// failed is refused, Wise will not cancel it.
		p2, err := w.svc.RequestPayout(w.ctx, w.creator, req("30", payout.ProviderWise))
		if err != nil {
			t.Fatal(err)
		}
		run()
		ref := w.payout(t, p2.ID).ProviderRef
		fake.Webhook(ref, "outgoing_payment_sent") // delivered, its delivery lost
		w.env.Clock.Advance(payout.DefaultSettleAfter)
		if _, err := w.svc.MarkManual(w.ctx, w.admin, p2.ID, payout.StateFailed, "no news"); errs.CodeOf(err) != "not_cancelable" {
			t.Fatalf("failing a payout Wise sent: %v", err)
		}
		if b := w.balance(t); b.Available != 70*eur+4_567 || b.PendingPayout != 30*eur {
			t.Fatalf("a refused mark moved money: %+v", b)
		}

		// p3: its answers are lost and Wise cannot be asked.
		p3, err := w.svc.RequestPayout(w.ctx, w.creator, req("20", payout.ProviderWise))
		if err != nil {
			t.Fatal(err)
		}
		net.set(is(http.MethodPost, "/v1/transfers"), is(http.MethodGet, "/v1/transfers"))
		run()
		got = w.payout(t, p3.ID)
		if got.State != payout.StateProcessing || got.ProviderRef != "" || got.Attention == "" {
			t.Fatalf("a lost answer that cannot be looked up: %+v", got)
		}
		// The operator, Wise still unreachable for the look-up, fails it.
		net.set(nil, is(http.MethodGet, "/v1/transfers"))
		got, err = w.svc.MarkManual(w.ctx, w.admin, p3.ID, payout.StateFailed, "Wise shows no such transfer")
		if err != nil || got.State != payout.StateFailed {
			t.Fatalf("settling without a ref: %+v, %v", got, err)
		}
		if b := w.balance(t); b.Available != 70*eur+4_567 || b.PendingPayout != 30*eur || b.PaidOut != 0 {
			t.Fatalf("after all: %+v", b)
		}
		w.audit(t)
	})
}

// TestHeldCancelBounded (money brief, item 3): a Wise payout held for
// strong customer authentication (no signing key) whose transfer Wise
// cannot be reached to cancel at its last attempt was tried again every
// RetryBackoffMax forever. Now it is tried at most HeldCancelRetries times
// past MaxAttempts, then waits, processing with its money held, for the
// operator (attention) and is not sent again; the operator marking it
// failed cancels the transfer at Wise first, and the money is back.
func TestHeldCancelBounded(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 50*eur+4_567)
		fake := wise.NewFake("tok", 77)
		fake.SetBalance("EUR", 1_000*eur)
		if err := fake.RequireSCA(pub); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		t.Setenv(wise.EnvSCAPrivateKeyFile, "")
		net := &lossy{base: srv.Client().Transport}
		prov, err := wise.New(wise.Config{APIToken: "tok", ProfileID: 77, BaseURL: srv.URL, WebhookPublicKeyPEM: fake.PublicKeyPEM(),
			HTTP: &http.Client{Transport: net}, Sleep: func(context.Context, time.Duration) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		w.withService(payout.Config{MaxAttempts: 2, RetryBackoff: time.Minute, RetryBackoffMax: time.Hour}, prov)
		if err := w.svc.SetDestination(w.ctx, w.creator, payout.ProviderWise, wiseDest); err != nil {
			t.Fatal(err)
		}
		cancels := 0
		net.set(nil, func(r *http.Request) bool {
			if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/cancel") {
				cancels++
				return true
			}
			return false
		})
		p1, err := w.svc.RequestPayout(w.ctx, w.creator, req("30", payout.ProviderWise))
		if err != nil {
			t.Fatal(err)
		}
		for range 40 { // 40 hours: past the cap, every hour
			if _, err := w.svc.Process(w.ctx); err != nil {
				t.Fatal(err)
			}
			w.env.Clock.Advance(time.Hour)
		}
		got := w.payout(t, p1.ID)
		want := 2 + payout.HeldCancelRetries
		if got.Attempts != want || got.State != payout.StateProcessing || got.Attention == "" || got.ProviderRef == "" {
			t.Fatalf("after 40 hours: %+v; want %d attempts, processing, needing the operator", got, want)
		}
		if cancels == 0 {
			t.Fatal("no cancel was tried")
		}
		if b := w.balance(t); b.Available != 20*eur+4_567 || b.PendingPayout != 30*eur {
			t.Fatalf("the money of a payout that needs the operator: %+v", b)
		}
		// Wise reachable again: the operator fails it, the transfer is
		// canceled at Wise first.
		net.set(nil, nil)
		got, err = w.svc.MarkManual(w.ctx, w.admin, p1.ID, payout.StateFailed, "never funded")
		if err != nil || got.State != payout.StateFailed || got.Attention != "" {
			t.Fatalf("marked failed: %+v, %v", got, err)
		}
		if trs := fake.Transfers(); len(trs) != 1 || trs[0].Status != "cancelled" || trs[0].Fundings != 0 {
			t.Fatalf("Wise transfers: %+v", trs)
		}
		if b := w.balance(t); b.Available != 50*eur+4_567 || b.PendingPayout != 0 {
			t.Fatalf("after failing: %+v", b)
		}
		w.audit(t)
	})
}
