package payout_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store/storetest"
)

// withService replaces w's service by one with cfg and provs (w.prov when
// none is given).
func (w *world) withService(cfg payout.Config, provs ...payout.Provider) {
	if len(provs) == 0 {
		provs = []payout.Provider{w.prov}
	}
	w.svc = payout.New(w.env.App.DB, w.env.Clock, w.env.App.Ledger, cfg, nil, provs...)
	box, _ := secret.New([]byte("0123456789abcdef0123456789abcdef"))
	w.svc.SetSecretBox(box)
}

// payToWise sets a test IBAN as the creator's Wise destination.
func (w *world) payToWise(t *testing.T) {
	t.Helper()
	if err := w.svc.SetDestination(w.ctx, w.creator, payout.ProviderWise, `{"iban":"DE89370400440532013000"}`); err != nil {
		t.Fatal(err)
	}
}

// requestWise pays the creator through Wise (payToWise) and requests a
// payout of amount there.
func (w *world) requestWise(t *testing.T, amount string) payout.Payout {
	t.Helper()
	w.payToWise(t)
	p, err := w.svc.RequestPayout(w.ctx, w.creator, req(amount, payout.ProviderWise))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (w *world) payout(t *testing.T, id string) payout.Payout {
	t.Helper()
	list, err := w.svc.List(w.ctx, w.creator, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("payout %s not listed", id)
	return payout.Payout{}
}

func (w *world) hook(t *testing.T, body string) error {
	t.Helper()
	h := http.Header{}
	h.Set("X-Sig", "ok")
	return w.svc.Webhook(w.ctx, payout.ProviderWise, h, []byte(body))
}

// TestRetriesCapped (issue 14, item 11): the attempts column is read. A
// payout the provider cannot take is tried again only after a growing
// wait, at most MaxAttempts times; then it fails with the reason and the
// money is available again, to the micro-unit. When a transfer exists at
// the provider (its fate unknown) it is not voided at the cap: it waits,
// processing with the reference, for the provider's webhook.
func TestRetriesCapped(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur+4_567)
		w.withService(payout.Config{MaxAttempts: 3, RetryBackoff: time.Minute, RetryBackoffMax: 3 * time.Minute})
		p1 := w.requestWise(t, "40")
		w.prov.unavailable = 1000
		run := func() {
			t.Helper()
			if _, err := w.svc.Process(w.ctx); err != nil {
				t.Fatal(err)
			}
		}
		run()
		run() // within the backoff: not sent again
		if w.prov.calls != 1 {
			t.Fatalf("%d sends, want 1: the retry did not wait", w.prov.calls)
		}
		if p := w.payout(t, p1.ID); p.State != payout.StateProcessing || p.Attempts != 1 || !strings.Contains(p.Reason, "unavailable") {
			t.Fatalf("after one unavailable attempt: %+v", p)
		}
		w.env.Clock.Advance(time.Minute)
		run()
		w.env.Clock.Advance(time.Minute) // the second wait is 2 minutes
		run()
		if w.prov.calls != 2 {
			t.Fatalf("%d sends, want 2: the backoff did not double", w.prov.calls)
		}
		w.env.Clock.Advance(time.Minute)
		run()
		p := w.payout(t, p1.ID)
		if w.prov.calls != 3 || p.State != payout.StateFailed || p.Attempts != 3 || !strings.HasPrefix(p.Reason, "failed after 3 attempts: ") {
			t.Fatalf("after %d sends: %+v", w.prov.calls, p)
		}
		if b := w.balance(t); b.Available != 100*eur+4_567 || b.PendingPayout != 0 {
			t.Fatalf("the money is not back: %+v", b)
		}
		w.env.Clock.Advance(24 * time.Hour)
		run()
		if w.prov.calls != 3 {
			t.Fatalf("a failed payout was sent again")
		}

		// A transfer exists at the provider: at the cap the payout waits for
		// the webhook instead of giving the money back.
		w.prov.refOnErr = true
		p2, err := w.svc.RequestPayout(w.ctx, w.creator, req("30", payout.ProviderWise))
		if err != nil {
			t.Fatal(err)
		}
		for range 5 {
			run()
			w.env.Clock.Advance(time.Hour)
		}
		p = w.payout(t, p2.ID)
		if w.prov.calls != 6 || p.State != payout.StateProcessing || p.ProviderRef != "tr-"+p2.ID || !strings.Contains(p.Reason, "stopped retrying after 3 attempts") {
			t.Fatalf("after %d sends: %+v", w.prov.calls, p)
		}
		if b := w.balance(t); b.PendingPayout != 30*eur {
			t.Fatalf("the held money was released with a transfer out: %+v", b)
		}
		if err := w.hook(t, `{"id":"e-p2","ref":"tr-`+p2.ID+`","state":"paid"}`); err != nil {
			t.Fatal(err)
		}
		if b := w.balance(t); b.PaidOut != 30*eur || b.Available != 70*eur+4_567 {
			t.Fatalf("after the webhook: %+v", b)
		}
		w.audit(t)
	})
}

// TestActionRequired (issue 14, item 4): a provider that waits for the
// operator (Wise's strong customer authentication without a key) leaves
// the payout requested with the reason and the transfer's reference, so
// the creator can see it and cancel it — the money back to available — and
// the next attempt, once due, reuses what the first made.
func TestActionRequired(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur)
		p1 := w.requestWise(t, "40")
		w.prov.action = 2
		if n, err := w.svc.Process(w.ctx); err != nil || n != 0 {
			t.Fatalf("process: %d %v", n, err)
		}
		p := w.payout(t, p1.ID)
		if p.State != payout.StateRequested || p.ProviderRef != "tr-"+p1.ID || !strings.Contains(p.Reason, "strong customer authentication") || p.Attempts != 1 {
			t.Fatalf("after SCA: %+v", p)
		}
		// Within the backoff nothing is sent; after it, sent again.
		if _, err := w.svc.Process(w.ctx); err != nil || w.prov.calls != 1 {
			t.Fatalf("sent again before the backoff: %d calls, %v", w.prov.calls, err)
		}
		w.env.Clock.Advance(time.Minute)
		if _, err := w.svc.Process(w.ctx); err != nil || w.prov.calls != 2 {
			t.Fatalf("not retried after the backoff: %d calls, %v", w.prov.calls, err)
		}
		if got, err := w.svc.Cancel(w.ctx, w.creator, p1.ID); err != nil || got.State != payout.StateCanceled {
			t.Fatalf("cancel while waiting for SCA: %+v %v", got, err)
		}
		if b := w.balance(t); b.Available != 100*eur || b.PendingPayout != 0 {
			t.Fatalf("after cancel: %+v", b)
		}
		// Cleared: the next payout goes out.
		p2, _ := w.svc.RequestPayout(w.ctx, w.creator, req("25", payout.ProviderWise))
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		if p := w.payout(t, p2.ID); p.State != payout.StateProcessing || p.ProviderRef != "tr-"+p2.ID || p.Reason != "" {
			t.Fatalf("sent: %+v", p)
		}
		w.audit(t)
	})
}

// TestPartialReversalWithoutEventID: a partial reversal whose event has no
// id (nothing for the webhook to deduplicate it by) delivered twice is
// reversed once and mails the creator once: the ledger's replay changes
// nothing more.
func TestPartialReversalWithoutEventID(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur)
		w.prov.paidAtOnce = true
		if _, err := w.env.App.DB.Writer().ExecContext(w.ctx, `INSERT INTO users (id, email, email_key, password_hash, kind, creator_id, password_changed_at, created_at)
			VALUES ('usr_mia', 'mia@example.com', 'mia@example.com', 'x', 'creator', $1, 0, 0)`, w.creator.SubjectID); err != nil {
			t.Fatal(err)
		}
		p1 := w.requestWise(t, "60")
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		part := `{"ref":"tr-` + p1.ID + `","state":"reversed","reason":"transfer.reversed","amount":{"amount":"15.00","currency":"EUR"}}`
		for range 2 {
			if err := w.hook(t, part); err != nil {
				t.Fatal(err)
			}
		}
		if b := w.balance(t); b.PaidOut != 45*eur || b.Available != 55*eur {
			t.Fatalf("after the reversal and its redelivery: %+v", b)
		}
		var n int
		if err := w.env.App.DB.Read().QueryRowContext(w.ctx, `SELECT COUNT(*) FROM mail_outbox WHERE kind = 'payout_reversed'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("reversal mails: %d, %v", n, err)
		}
		w.audit(t)
	})
}

// TestReversedAfterPaid (issue 14, item 5): the provider reports a paid
// payout's money back (all or part of it): the ledger reverses it, the
// money is available again to the micro-unit, the payout says so, a
// redelivery does nothing, the audit passes, and the money can be paid out
// again. A reversal of a payout not yet paid fails it.
func TestReversedAfterPaid(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur+4_567)
		w.payToWise(t)
		w.prov.paidAtOnce = true
		// The creator signed up with an email: each reversal mails her.
		if _, err := w.env.App.DB.Writer().ExecContext(w.ctx, `INSERT INTO users (id, email, email_key, password_hash, kind, creator_id, password_changed_at, created_at)
			VALUES ('usr_mia', 'Mia@example.com', 'mia@example.com', 'x', 'creator', $1, 0, 0)`, w.creator.SubjectID); err != nil {
			t.Fatal(err)
		}
		mails := func() (out []string) {
			t.Helper()
			rows, err := w.env.App.DB.Read().QueryContext(w.ctx, `SELECT kind, to_addr, subject, body_text FROM mail_outbox ORDER BY created_at, id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var kind, to, subject, text string
				if err := rows.Scan(&kind, &to, &subject, &text); err != nil {
					t.Fatal(err)
				}
				out = append(out, kind+"|"+to+"|"+subject+"|"+text)
			}
			return out
		}
		p1, _ := w.svc.RequestPayout(w.ctx, w.creator, req("60", payout.ProviderWise))
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		if b := w.balance(t); b.PaidOut != 60*eur || b.Available != 40*eur+4_567 {
			t.Fatalf("paid: %+v", b)
		}
		// 15.00 comes back first.
		part := `{"id":"rev-1","ref":"tr-` + p1.ID + `","state":"reversed","reason":"transfer.reversed","amount":{"amount":"15.00","currency":"EUR"}}`
		if err := w.hook(t, part); err != nil {
			t.Fatal(err)
		}
		p := w.payout(t, p1.ID)
		if p.State != payout.StatePaid || !strings.HasPrefix(p.Reason, "partly reversed: 15.000000 EUR of 60.000000 EUR") {
			t.Fatalf("after a partial reversal: %+v", p)
		}
		if b := w.balance(t); b.PaidOut != 45*eur || b.Available != 55*eur+4_567 {
			t.Fatalf("after a partial reversal: %+v", b)
		}
		if err := w.hook(t, part); err != nil { // redelivered
			t.Fatal(err)
		}
		if b := w.balance(t); b.PaidOut != 45*eur {
			t.Fatalf("a redelivery reversed again: %+v", b)
		}
		if m := mails(); len(m) != 1 || !strings.HasPrefix(m[0], "payout_reversed|Mia@example.com|Your payout "+p1.ID+" came back|") ||
			!strings.Contains(m[0], "15.000000 EUR of it is in your available balance again") {
			t.Fatalf("mails after a partial reversal and its redelivery: %q", m)
		}
		// The rest comes back: bounced.
		all := `{"id":"rev-2","ref":"tr-` + p1.ID + `","state":"reversed","reason":"bounced_back"}`
		if err := w.hook(t, all); err != nil {
			t.Fatal(err)
		}
		if err := w.hook(t, strings.Replace(all, "rev-2", "rev-3", 1)); err != nil { // another event, same news
			t.Fatal(err)
		}
		p = w.payout(t, p1.ID)
		if p.State != payout.StateReversed || p.Reason != "bounced_back" {
			t.Fatalf("after the whole reversal: %+v", p)
		}
		if b := w.balance(t); b.PaidOut != 0 || b.Available != 100*eur+4_567 || b.PendingPayout != 0 {
			t.Fatalf("after the whole reversal: %+v", b)
		}
		if m := mails(); len(m) != 2 || !strings.Contains(m[1], "came back to us: bounced_back.") ||
			!strings.Contains(m[1], "45.000000 EUR of it is in your available balance again") {
			t.Fatalf("mails after the whole reversal: %q", m)
		}
		// A late "paid" changes nothing.
		if err := w.hook(t, `{"id":"late","ref":"tr-`+p1.ID+`","state":"paid"}`); err != nil {
			t.Fatal(err)
		}
		w.audit(t)
		// The money goes out again.
		p2, err := w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderWise))
		if err != nil || p2.Amount.Micros != 100*eur {
			t.Fatalf("second payout: %+v %v", p2, err)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		if b := w.balance(t); b.PaidOut != 100*eur || b.Available != 4_567 {
			t.Fatalf("after the second payout: %+v", b)
		}
		// Reversed before it was paid: it fails, the money back.
		w.prov.paidAtOnce = false
		if err := w.hook(t, `{"id":"rev-p2","ref":"tr-`+p2.ID+`","state":"reversed","reason":"bounced_back"}`); err != nil {
			t.Fatal(err)
		}
		if p := w.payout(t, p2.ID); p.State != payout.StateReversed {
			t.Fatalf("p2 (paid at once) after its reversal: %+v", p)
		}
		p3, _ := w.svc.RequestPayout(w.ctx, w.creator, req("20", payout.ProviderWise))
		if _, err := w.svc.Process(w.ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.hook(t, `{"id":"rev-p3","ref":"tr-`+p3.ID+`","state":"reversed","reason":"funds_refunded"}`); err != nil {
			t.Fatal(err)
		}
		if p := w.payout(t, p3.ID); p.State != payout.StateFailed || p.Reason != "funds_refunded" {
			t.Fatalf("reversed before paid: %+v", p)
		}
		if b := w.balance(t); b.Available != 100*eur+4_567 || b.PaidOut != 0 {
			t.Fatalf("at the end: %+v", b)
		}
		w.audit(t)
	})
}

// onboarder is a provider with onboarding whose CreateAccount fails with err.
type onboarder struct {
	fakeProvider
	err error
}

func (o *onboarder) Name() string { return payout.ProviderStripe }
func (o *onboarder) CreateAccount(context.Context, string, string, string) (string, error) {
	return "", o.err
}
func (o *onboarder) OnboardingLink(context.Context, string, string, string) (string, error) {
	return "https://connect.example/x", nil
}

// TestOnboardInvalid (issue 14, item 11): a provider refusing what the
// creator gave (Stripe's 400, e.g. a country it does not support) is a 400
// naming the field; other provider errors stay 503.
func TestOnboardInvalid(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 10*eur)
		ob := &onboarder{err: &payout.InvalidError{Field: "country", Message: "XK is not supported"}}
		w.withService(payout.Config{}, ob)
		_, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "XK", "m@example.com", "https://payper.example/back")
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != errs.Invalid || e.Code != "provider_invalid" || e.Field != "country" || !strings.Contains(e.Message, "XK is not supported") {
			t.Fatalf("a refused country: %#v", err)
		}
		ob.err = errors.Join(errors.New("stripe: 400"), payout.ErrInvalid)
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "m@example.com", "https://payper.example/back"); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("ErrInvalid without a field: %v", err)
		}
		ob.err = errors.New("stripe: 500")
		if _, err := w.svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "m@example.com", "https://payper.example/back"); errs.KindOf(err) != errs.Unavailable {
			t.Fatalf("a provider failure: %v", err)
		}
	})
}

// TestConcurrentReversals (issue 14, item 5): reversal deliveries racing
// each other — redeliveries of one event, distinct partial events adding up
// to more than was paid, and whole-reversal events — reverse the payout
// exactly once in total: the money available again to the micro-unit,
// never more, and the audit passes.
func TestConcurrentReversals(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 60*eur+4_567)
		w.payToWise(t)
		w.prov.paidAtOnce = true
		p1, _ := w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderWise))
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		var bodies []string
		for i := range 8 { // 8 × 10.00 of a 60.00 payout
			bodies = append(bodies, fmt.Sprintf(`{"id":"part-%d","ref":"tr-%s","state":"reversed","reason":"transfer.reversed","amount":{"amount":"10.00","currency":"EUR"}}`, i, p1.ID))
		}
		for i := range 3 {
			bodies = append(bodies, fmt.Sprintf(`{"id":"all-%d","ref":"tr-%s","state":"reversed","reason":"bounced_back"}`, i%2, p1.ID))
		}
		var wg sync.WaitGroup
		for _, b := range bodies {
			wg.Go(func() {
				h := http.Header{}
				h.Set("X-Sig", "ok")
				if err := w.svc.Webhook(w.ctx, payout.ProviderWise, h, []byte(b)); err != nil {
					t.Errorf("webhook %s: %v", b, err)
				}
			})
		}
		wg.Wait()
		if p := w.payout(t, p1.ID); p.State != payout.StateReversed {
			t.Fatalf("after the deliveries: %+v", p)
		}
		if b := w.balance(t); b.Available != 60*eur+4_567 || b.PaidOut != 0 || b.PendingPayout != 0 {
			t.Fatalf("after the deliveries: %+v", b)
		}
		w.audit(t)
	})
}
