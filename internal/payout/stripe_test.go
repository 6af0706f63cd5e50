package payout_test

import (
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/stripe"
	"github.com/payper/payper/internal/payout/stripe/stripemock"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store/storetest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	stripemock.Stop()
	os.Exit(code)
}

// TestStripePayouts: through the Stripe provider against Stripe's own
// stripe-mock, a creator onboards (a connected account is made and stored),
// withdraws, and the transfer pays the payout at once; a webhook with a bad
// signature answers 401 and changes nothing.
func TestStripePayouts(t *testing.T) {
	url := stripemock.URL(t)
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 60*eur)
		prov, err := stripe.New(stripe.Config{SecretKey: stripemock.Key, WebhookSecret: "whsec_test", BaseURL: url})
		if err != nil {
			t.Fatal(err)
		}
		svc := payout.New(w.env.App.DB, w.env.Clock, w.env.App.Ledger, payout.Config{}, nil, prov)
		box, _ := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		svc.SetSecretBox(box)
		link, err := svc.Onboard(w.ctx, w.creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back")
		if err != nil || link == "" {
			t.Fatalf("onboarding: %q %v", link, err)
		}
		po, err := svc.RequestPayout(w.ctx, w.creator, req("25.50", payout.ProviderStripe))
		if err != nil {
			t.Fatal(err)
		}
		if n, err := svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		list, _ := svc.List(w.ctx, w.creator, "")
		if list[0].ID != po.ID || list[0].State != payout.StatePaid || list[0].ProviderRef == "" {
			t.Fatalf("payout after Stripe %+v", list[0])
		}
		if b := w.balance(t); b.PaidOut != 25_500_000 || b.Available != 34_500_000 {
			t.Fatalf("balance %+v", b)
		}
		h := http.Header{}
		h.Set("Stripe-Signature", stripe.SignForTest("whsec_wrong", time.Now(), []byte(`{"id":"evt_1"}`)))
		if err := svc.Webhook(w.ctx, payout.ProviderStripe, h, []byte(`{"id":"evt_1"}`)); errs.CodeOf(err) != "bad_signature" || errs.KindOf(err) != errs.Unauthorized {
			t.Fatalf("a badly signed webhook: %v", err)
		}
		if b := w.balance(t); b.PaidOut != 25_500_000 {
			t.Fatalf("a bad webhook changed the balance: %+v", b)
		}
		w.audit(t)
	})
}
