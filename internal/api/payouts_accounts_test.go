package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/stripe"
	"github.com/payper/payper/internal/store/storetest"
)

// slowProvider is a provider ("wise") whose transfers are made and whose
// webhook never comes: its payouts stay processing, sent.
type slowProvider struct{}

func (slowProvider) Name() string { return payout.ProviderWise }
func (slowProvider) Send(_ context.Context, t payout.Transfer) (payout.Sent, error) {
	return payout.Sent{Ref: "tr-" + t.PayoutID}, nil
}
func (slowProvider) ParseWebhook(http.Header, []byte) (payout.Event, error) {
	return payout.Event{}, nil
}

// stripeHook posts a signed Stripe delivery to the payout webhook.
func stripeHook(t *testing.T, h http.Handler, body []byte, sig http.Header) answer {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), "POST", "/webhooks/payouts/stripe", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", sig.Get("Stripe-Signature"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return answer{Status: rec.Code, Raw: rec.Body.String()}
}

// TestPayoutAccountsOverHTTP (issue 14, item 6 and the operator's
// settlement), on both stores, through the HTTP API with the real Stripe
// provider against its Fake: a creator onboards, Stripe restricts her
// account (signed account.updated to /webhooks/payouts/stripe), GET
// /v1/creator/payout_destinations shows it and her payout waits,
// requested; onboarding finished, it is paid; a payout.failed from her
// Stripe balance shows there too and moves no money. The operator's mark
// on a stuck Wise payout answers 409 payout_in_flight before the settle-
// after time, 400 without a reason, then 200 failed with the money back.
func TestPayoutAccountsOverHTTP(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
		fake := stripe.NewFake("sk_test_api", "whsec_api", "US", clk.Now)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		prov, err := stripe.New(stripe.Config{SecretKey: "sk_test_api", WebhookSecret: "whsec_api", BaseURL: srv.URL, Clock: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.Open(ctx, app.Config{DatabaseURL: url, AdminToken: testAdmin, NoPeriodicJobs: true, Clock: clk,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://payper.test",
			SecretKey: []byte("0123456789abcdef0123456789abcdef"), Payouts: payout.Config{SettleAfter: time.Hour},
			PayoutProviders: []payout.Provider{prov, slowProvider{}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		h := a.Handler
		c := must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Mia"}`)
		key, creator := str(c, "api_key"), str(c, "creator", "id")
		if _, err := a.Ledger.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_api", BrandID: "brd_api", Amount: money.New(1000*money.Scale, money.EUR)}); err != nil {
			t.Fatal(err)
		}
		r, err := a.Ledger.Accrue(ctx, "cmp_api", ledger.AccrueItem{Key: "a", CreatorID: creator, Amount: 100_005_075})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Ledger.Release(ctx, ledger.ReleaseRequest{Key: "r", CampaignID: "cmp_api", CreatorID: creator, Amount: r.Earned}); err != nil {
			t.Fatal(err)
		}
		bal := func() ledger.CreatorBalance {
			t.Helper()
			b, err := a.Ledger.Balance(ctx, creator, money.EUR)
			if err != nil {
				t.Fatal(err)
			}
			if rep, err := a.Ledger.Audit(ctx); err != nil || !rep.OK() {
				t.Fatalf("audit: %v %v", rep, err)
			}
			return b
		}
		start := bal()
		dest := func() map[string]any {
			t.Helper()
			data := must(t, h, 200, "GET", "/v1/creator/payout_destinations", key, "")["data"].([]any)
			if len(data) != 1 {
				t.Fatalf("destinations: %v", data)
			}
			return data[0].(map[string]any)
		}
		if got := call(t, h, "GET", "/v1/creator/payout_destinations", testAdmin, ""); got.Status != 403 {
			t.Fatalf("the admin listing a creator's destinations: %d %s", got.Status, got.Raw)
		}

		ob := must(t, h, 200, "POST", "/v1/creator/payout_destinations/stripe/onboarding", key,
			`{"country":"DE","email":"mia@example.com","return_url":"https://payper.example/back"}`)
		if !strings.HasPrefix(str(ob, "onboarding_url"), "https://connect.stripe.com/") || str(ob, "destination", "provider") != "stripe" {
			t.Fatalf("onboarding: %v", ob)
		}
		acct := fake.Accounts()[0].ID
		if _, _, err := fake.CompleteOnboarding(acct); err != nil {
			t.Fatal(err)
		}
		body, sig, err := fake.Restrict(acct, "requirements.past_due", "individual.verification.document")
		if err != nil {
			t.Fatal(err)
		}
		if got := stripeHook(t, h, body, sig); got.Status != 200 {
			t.Fatalf("account.updated: %d %s", got.Status, got.Raw)
		}
		if d := dest(); d["status"] != "restricted" || !strings.Contains(d["status_reason"].(string), "requirements.past_due") {
			t.Fatalf("destination: %v", d)
		}
		po := must(t, h, 201, "POST", "/v1/creator/payouts", key, `{"amount":{"amount":"25.50","currency":"EUR"},"provider":"stripe"}`)
		if !strings.HasPrefix(str(po, "reason"), "waits for the stripe account") {
			t.Fatalf("payout to a restricted account: %v", po)
		}
		if _, err := a.Payouts.Process(ctx); err != nil || len(fake.Transfers()) != 0 {
			t.Fatalf("Process: %v; transfers %v", err, fake.Transfers())
		}
		clk.Advance(time.Second)
		body, sig, _ = fake.CompleteOnboarding(acct)
		if got := stripeHook(t, h, body, sig); got.Status != 200 {
			t.Fatalf("account.updated: %d %s", got.Status, got.Raw)
		}
		if d := dest(); d["status"] != "ready" {
			t.Fatalf("destination: %v", d)
		}
		// Back from Stripe's page, the onboarding answer says ready too.
		ob = must(t, h, 200, "POST", "/v1/creator/payout_destinations/stripe/onboarding", key,
			`{"country":"DE","email":"mia@example.com","return_url":"https://payper.example/back"}`)
		if str(ob, "destination", "status") != "ready" || len(fake.Accounts()) != 1 {
			t.Fatalf("onboarding resumed: %v (%d accounts)", ob, len(fake.Accounts()))
		}
		if n, err := a.Payouts.Process(ctx); err != nil || n != 1 {
			t.Fatalf("Process: %d %v", n, err)
		}
		if b := bal(); b.Available != start.Available-25_500_000 || b.PaidOut != 25_500_000 {
			t.Fatalf("after the payout: %+v (start %+v)", b, start)
		}
		body, sig, _ = fake.PayoutFailed(acct, 2550, "eur", "account_closed", "The bank account has been closed.")
		if got := stripeHook(t, h, body, sig); got.Status != 200 {
			t.Fatalf("payout.failed: %d %s", got.Status, got.Raw)
		}
		if d := dest(); !strings.Contains(d["payout_failure"].(string), "The bank account has been closed.") || d["payout_failure_at"] == nil {
			t.Fatalf("destination after payout.failed: %v", d)
		}
		if b := bal(); b.Available != start.Available-25_500_000 || b.PaidOut != 25_500_000 {
			t.Fatalf("payout.failed moved money: %+v", b)
		}
		if got := call(t, h, "POST", "/v1/admin/payouts/"+str(po, "id")+"/mark", testAdmin, `{"state":"failed","reason":"x"}`); got.Status != 409 || got.errCode() != "not_markable" {
			t.Fatalf("marking a paid payout: %d %s", got.Status, got.Raw)
		}

		// A Wise payout whose webhook never comes.
		must(t, h, 200, "PUT", "/v1/creator/payout_destinations/wise", key, `{"destination":{"iban":"DE89370400440532013000"}}`)
		wp := must(t, h, 201, "POST", "/v1/creator/payouts", key, `{"amount":{"amount":"30.00","currency":"EUR"},"provider":"wise"}`)
		if _, err := a.Payouts.Process(ctx); err != nil {
			t.Fatal(err)
		}
		markPath := "/v1/admin/payouts/" + str(wp, "id") + "/mark"
		if got := call(t, h, "POST", markPath, testAdmin, `{"state":"failed","reason":"Wise shows it canceled"}`); got.Status != 409 || got.errCode() != "payout_in_flight" {
			t.Fatalf("before the settle-after time: %d %s", got.Status, got.Raw)
		}
		clk.Advance(time.Hour)
		if got := call(t, h, "POST", markPath, testAdmin, `{"state":"failed"}`); got.Status != 400 || got.errField() != "reason" {
			t.Fatalf("without a reason: %d %s", got.Status, got.Raw)
		}
		if got := call(t, h, "POST", markPath, key, `{"state":"failed","reason":"x"}`); got.Status != 403 {
			t.Fatalf("a creator marking: %d %s", got.Status, got.Raw)
		}
		got := must(t, h, 200, "POST", markPath, testAdmin, `{"state":"failed","reason":"Wise shows it canceled"}`)
		if got["state"] != "failed" || got["reason"] != "settled by the operator: Wise shows it canceled" {
			t.Fatalf("settled: %v", got)
		}
		if b := bal(); b.Available != start.Available-25_500_000 || b.PendingPayout != 0 || b.PaidOut != 25_500_000 {
			t.Fatalf("after settling failed: %+v", b)
		}
	})
}
