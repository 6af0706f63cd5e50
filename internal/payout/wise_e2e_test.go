package payout_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/wise"
	"github.com/payper/payper/internal/store/storetest"
)

const wiseDest = `{"currency":"EUR","holderName":"Ada Lovelace","iban":"DE89 3704 0044 0532 0130 00"}`

// wiseWorld is a world paying through the real Wise client against its
// Fake (funding protected by SCA when scaPub is set), with the provider
// holding scaKey.
func wiseWorld(t *testing.T, dbURL string, avail int64, scaPub string, scaKey string, cfg ...payout.Config) (*world, *wise.Fake) {
	t.Helper()
	w := newWorld(t, dbURL, avail)
	fake := wise.NewFake("tok", 77)
	fake.SetBalance("EUR", 1_000*eur)
	if scaPub != "" {
		if err := fake.RequireSCA(scaPub); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	t.Setenv(wise.EnvSCAPrivateKeyFile, "")
	prov, err := wise.New(wise.Config{APIToken: "tok", ProfileID: 77, BaseURL: srv.URL, WebhookPublicKeyPEM: fake.PublicKeyPEM(),
		SCAPrivateKeyPEM: scaKey, HTTP: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	w.withService(append(cfg, payout.Config{})[0], prov)
	if err := w.svc.SetDestination(w.ctx, w.creator, payout.ProviderWise, wiseDest); err != nil {
		t.Fatal(err)
	}
	return w, fake
}

func (w *world) wiseHook(t *testing.T, fake *wise.Fake, ref, state string) {
	t.Helper()
	body, h := fake.Webhook(ref, state)
	if err := w.svc.Webhook(w.ctx, payout.ProviderWise, h, body); err != nil {
		t.Fatalf("webhook %s %s: %v", ref, state, err)
	}
}

// TestWiseBouncedAfterPaid (issue 14, item 5): a Wise payout paid
// (outgoing_payment_sent), then bounced_back: the creator's available
// balance is restored to the micro-unit, the payout is reversed with the
// reason, the audit passes, a redelivery and the later funds_refunded do
// nothing more, and a second payout can then be made.
func TestWiseBouncedAfterPaid(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w, fake := wiseWorld(t, dbURL, 80*eur+4_567, "", "")
		p1, err := w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderWise))
		if err != nil || p1.Amount.Micros != 80*eur {
			t.Fatalf("request: %+v %v", p1, err)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		ref := w.payout(t, p1.ID).ProviderRef
		w.wiseHook(t, fake, ref, "outgoing_payment_sent")
		if b := w.balance(t); b.PaidOut != 80*eur || b.Available != 4_567 {
			t.Fatalf("paid: %+v", b)
		}
		body, h := fake.Webhook(ref, "bounced_back")
		for range 2 { // delivered, then redelivered
			if err := w.svc.Webhook(w.ctx, payout.ProviderWise, h, body); err != nil {
				t.Fatal(err)
			}
		}
		w.wiseHook(t, fake, ref, "funds_refunded")
		p := w.payout(t, p1.ID)
		if p.State != payout.StateReversed || p.Reason != "bounced_back" {
			t.Fatalf("after bounced_back: %+v", p)
		}
		if b := w.balance(t); b.PaidOut != 0 || b.Available != 80*eur+4_567 || b.PendingPayout != 0 || b.Debt != 0 {
			t.Fatalf("after bounced_back: %+v", b)
		}
		w.audit(t)
		p2, err := w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderWise))
		if err != nil || p2.Amount.Micros != 80*eur {
			t.Fatalf("second payout: %+v %v", p2, err)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		w.wiseHook(t, fake, w.payout(t, p2.ID).ProviderRef, "outgoing_payment_sent")
		if b := w.balance(t); b.PaidOut != 80*eur || b.Available != 4_567 {
			t.Fatalf("after the second payout: %+v", b)
		}
		if trs := fake.Transfers(); len(trs) != 2 {
			t.Fatalf("%d Wise transfers, want 2", len(trs))
		}
		w.audit(t)
	})
}

// TestWiseSCA (issue 14, item 4): funding protected by SCA. With no key
// configured the payout goes back to requested with the reason and the
// Wise transfer id; later attempts make no second transfer, quote or
// recipient; the creator can cancel it. With the operator's key the
// one-time token is signed and the payout goes out.
func TestWiseSCA(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	priv := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w, fake := wiseWorld(t, dbURL, 50*eur, pub, "")
		p1, err := w.svc.RequestPayout(w.ctx, w.creator, req("30", payout.ProviderWise))
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if _, err := w.svc.Process(w.ctx); err != nil {
				t.Fatal(err)
			}
			w.env.Clock.Advance(time.Hour)
		}
		p := w.payout(t, p1.ID)
		trs := fake.Transfers()
		if p.State != payout.StateRequested || len(trs) != 1 || p.ProviderRef == "" || p.ProviderRef != itoa(trs[0].ID) ||
			!strings.Contains(p.Reason, "strong customer authentication") || p.Attempts != 3 {
			t.Fatalf("payout %+v, transfers %+v", p, trs)
		}
		if fake.Quotes() != 1 || fake.Recipients() != 1 || fake.Challenges() != 3 || trs[0].Fundings != 0 {
			t.Fatalf("%d quotes, %d recipients, %d challenges, %d fundings", fake.Quotes(), fake.Recipients(), fake.Challenges(), trs[0].Fundings)
		}
		if got, err := w.svc.Cancel(w.ctx, w.creator, p1.ID); err != nil || got.State != payout.StateCanceled {
			t.Fatalf("cancel: %+v %v", got, err)
		}
		// The Wise transfer is canceled too: nobody can fund it any more.
		if trs := fake.Transfers(); trs[0].Status != "cancelled" {
			t.Fatalf("the Wise transfer after cancel: %+v", trs[0])
		}
		if b := w.balance(t); b.Available != 50*eur || b.PendingPayout != 0 || fake.Balance("EUR") != 1_000*eur {
			t.Fatalf("after cancel: %+v, Wise balance %d", b, fake.Balance("EUR"))
		}
		// The operator funds a held transfer by hand on Wise's website: the
		// creator can no longer cancel it, and Wise's webhook pays it.
		p2, _ := w.svc.RequestPayout(w.ctx, w.creator, req("20", payout.ProviderWise))
		if _, err := w.svc.Process(w.ctx); err != nil {
			t.Fatal(err)
		}
		ref := w.payout(t, p2.ID).ProviderRef
		fake.Webhook(ref, "processing") // funded by hand
		if _, err := w.svc.Cancel(w.ctx, w.creator, p2.ID); errs.CodeOf(err) != "not_cancelable" {
			t.Fatalf("cancel of a funded transfer: %v", err)
		}
		if p := w.payout(t, p2.ID); p.State != payout.StateRequested {
			t.Fatalf("after a refused cancel: %+v", p)
		}
		w.wiseHook(t, fake, ref, "outgoing_payment_sent")
		if b := w.balance(t); b.PaidOut != 20*eur || b.Available != 30*eur || b.PendingPayout != 0 {
			t.Fatalf("after the webhook: %+v", b)
		}
		w.audit(t)
	})
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w, fake := wiseWorld(t, dbURL, 50*eur, pub, priv)
		p1, _ := w.svc.RequestPayout(w.ctx, w.creator, req("30", payout.ProviderWise))
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		trs := fake.Transfers()
		if p := w.payout(t, p1.ID); p.State != payout.StateProcessing || len(trs) != 1 || trs[0].Fundings != 1 || p.ProviderRef != itoa(trs[0].ID) {
			t.Fatalf("payout %+v, transfers %+v", p, trs)
		}
		if fake.Balance("EUR") != 970*eur {
			t.Fatalf("Wise balance %d", fake.Balance("EUR"))
		}
	})
}

// TestWiseSCAGivesUp (issue 14, items 4 and 11): a payout held for SCA
// with no key fails after the last attempt with the reason, its money
// available again — and its Wise transfer is canceled first, so it cannot
// be funded afterwards. When Wise refuses the cancellation (funded by
// hand meanwhile) the payout does not fail: it waits for Wise.
func TestWiseSCAGivesUp(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w, fake := wiseWorld(t, dbURL, 50*eur+4_567, pub, "", payout.Config{MaxAttempts: 2})
		p1, _ := w.svc.RequestPayout(w.ctx, w.creator, req("30", payout.ProviderWise))
		for range 2 {
			if _, err := w.svc.Process(w.ctx); err != nil {
				t.Fatal(err)
			}
			w.env.Clock.Advance(time.Hour)
		}
		p := w.payout(t, p1.ID)
		trs := fake.Transfers()
		if p.State != payout.StateFailed || !strings.HasPrefix(p.Reason, "failed after 2 attempts: ") || len(trs) != 1 || trs[0].Status != "cancelled" {
			t.Fatalf("payout %+v, transfers %+v", p, trs)
		}
		if b := w.balance(t); b.Available != 50*eur+4_567 || b.PendingPayout != 0 {
			t.Fatalf("after giving up: %+v", b)
		}
		// Funded by hand before the last attempt: Wise will not cancel it.
		p2, _ := w.svc.RequestPayout(w.ctx, w.creator, req("20", payout.ProviderWise))
		if _, err := w.svc.Process(w.ctx); err != nil {
			t.Fatal(err)
		}
		ref := w.payout(t, p2.ID).ProviderRef
		fake.Webhook(ref, "processing")
		w.env.Clock.Advance(time.Hour)
		if _, err := w.svc.Process(w.ctx); err != nil {
			t.Fatal(err)
		}
		if p := w.payout(t, p2.ID); p.State == payout.StateFailed || p.State == payout.StateCanceled {
			t.Fatalf("a payout whose transfer Wise funded was given up: %+v", p)
		}
		w.wiseHook(t, fake, ref, "outgoing_payment_sent")
		if b := w.balance(t); b.PaidOut != 20*eur || b.Available != 30*eur+4_567 || b.PendingPayout != 0 {
			t.Fatalf("after Wise paid it: %+v", b)
		}
		w.audit(t)
	})
}
