package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// cancelAfter is an http.RoundTripper that, once Stripe answered a
// request at path, reads the answer whole and cancels the caller's
// request context: what the server does after that call fails.
type cancelAfter struct {
	base   http.RoundTripper
	path   string
	cancel context.CancelFunc
}

func (c *cancelAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err != nil || r.URL.Path != c.path || c.cancel == nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	c.cancel()
	return resp, nil
}

// TestOnboardAnswersLinkWhenStatusUnreadable (money brief, item 4): the
// onboarding endpoint reads the creator's destinations after Stripe made
// the account and its link; when that read fails the link is answered
// anyway (200, onboarding_url, no destination) rather than an error that
// loses a link Stripe made. Before the fix it answered the read's error.
func TestOnboardAnswersLinkWhenStatusUnreadable(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
		fake := stripe.NewFake("sk_test_ob", "whsec_ob", "DE", clk.Now)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		rt := &cancelAfter{base: srv.Client().Transport, path: "/v1/account_links"}
		prov, err := stripe.New(stripe.Config{SecretKey: "sk_test_ob", WebhookSecret: "whsec_ob", BaseURL: srv.URL, Clock: clk.Now,
			HTTP: &http.Client{Transport: rt}})
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.Open(ctx, app.Config{DatabaseURL: url, AdminToken: testAdmin, NoPeriodicJobs: true, Clock: clk,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://payper.test",
			SecretKey: []byte("0123456789abcdef0123456789abcdef"), PayoutProviders: []payout.Provider{prov}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		h := a.Handler
		c := must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Mia"}`)
		key := str(c, "api_key")

		reqCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		rt.cancel = cancel
		req := httptest.NewRequestWithContext(reqCtx, "POST", "/v1/creator/payout_destinations/stripe/onboarding",
			strings.NewReader(`{"country":"DE","email":"mia@example.com","return_url":"https://payper.test/back"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		if rec.Code != 200 || !strings.HasPrefix(str(out, "onboarding_url"), "https://connect.stripe.com/") || out["destination"] != nil {
			t.Fatalf("onboarding whose status read failed: %d %s", rec.Code, rec.Body.String())
		}
		rt.cancel = nil
		// The account was stored: the creator's destinations show it.
		data := must(t, h, 200, "GET", "/v1/creator/payout_destinations", key, "")["data"].([]any)
		if len(data) != 1 || len(fake.Accounts()) != 1 {
			t.Fatalf("destinations %v, %d accounts at Stripe", data, len(fake.Accounts()))
		}
	})
}

// lostProvider ("wise") never answers a transfer (unavailable) and cannot
// be asked whether it made one: its payouts end needing the operator.
type lostProvider struct{}

func (lostProvider) Name() string { return payout.ProviderWise }
func (lostProvider) Send(context.Context, payout.Transfer) (payout.Sent, error) {
	return payout.Sent{}, fmt.Errorf("read: connection reset: %w", payout.ErrUnavailable)
}
func (lostProvider) ParseWebhook(http.Header, []byte) (payout.Event, error) {
	return payout.Event{}, nil
}

// TestAdminListsPayoutsNeedingAttention (money brief, item 1): a payout
// whose last attempt lost its answer, its provider unable to say whether
// it made the transfer, shows attention in the API, is listed by GET
// /v1/admin/payouts?attention=true (the operator only; attention with a
// state is 400), keeps its money held, and the operator settles it
// without a transfer id: failed, the money back to the micro-unit.
func TestAdminListsPayoutsNeedingAttention(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC))
		a, err := app.Open(ctx, app.Config{DatabaseURL: url, AdminToken: testAdmin, NoPeriodicJobs: true, Clock: clk,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://payper.test",
			SecretKey: []byte("0123456789abcdef0123456789abcdef"), Payouts: payout.Config{MaxAttempts: 1},
			PayoutProviders: []payout.Provider{lostProvider{}}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		h := a.Handler
		c := must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Mia"}`)
		key, creator := str(c, "api_key"), str(c, "creator", "id")
		if _, err := a.Ledger.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_att", BrandID: "brd_att", Amount: money.New(1000*money.Scale, money.EUR)}); err != nil {
			t.Fatal(err)
		}
		r, err := a.Ledger.Accrue(ctx, "cmp_att", ledger.AccrueItem{Key: "a", CreatorID: creator, Amount: 100_005_075})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Ledger.Release(ctx, ledger.ReleaseRequest{Key: "r", CampaignID: "cmp_att", CreatorID: creator, Amount: r.Earned}); err != nil {
			t.Fatal(err)
		}
		bal := func() ledger.CreatorBalance {
			t.Helper()
			b, err := a.Ledger.Balance(ctx, creator, money.EUR)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		start := bal()
		must(t, h, 200, "PUT", "/v1/creator/payout_destinations/wise", key, `{"destination":{"iban":"DE89370400440532013000"}}`)
		po := must(t, h, 201, "POST", "/v1/creator/payouts", key, `{"amount":{"amount":"40.00","currency":"EUR"},"provider":"wise"}`)
		if _, err := a.Payouts.Process(ctx); err != nil {
			t.Fatal(err)
		}
		got := must(t, h, 200, "GET", "/v1/admin/payouts?attention=true", testAdmin, "")["data"].([]any)
		if len(got) != 1 || str(got[0].(map[string]any), "id") != str(po, "id") || str(got[0].(map[string]any), "state") != "processing" ||
			!strings.Contains(str(got[0].(map[string]any), "attention"), "could not be asked") {
			t.Fatalf("payouts needing attention: %v", got)
		}
		if b := bal(); b.PendingPayout != 40*money.Scale || b.Available != start.Available-40*money.Scale {
			t.Fatalf("the money of a payout that needs the operator: %+v", b)
		}
		if a := call(t, h, "GET", "/v1/admin/payouts?attention=true", key, ""); a.Status != 403 {
			t.Fatalf("a creator listing what needs the operator: %d %s", a.Status, a.Raw)
		}
		if a := call(t, h, "GET", "/v1/admin/payouts?attention=true&state=paid", testAdmin, ""); a.Status != 400 {
			t.Fatalf("attention with a state: %d %s", a.Status, a.Raw)
		}
		m := must(t, h, 200, "POST", "/v1/admin/payouts/"+str(po, "id")+"/mark", testAdmin, `{"state":"failed","reason":"no transfer at Wise"}`)
		if str(m, "state") != "failed" || m["attention"] != nil {
			t.Fatalf("settled: %v", m)
		}
		if b := bal(); b.PendingPayout != 0 || b.Available != start.Available {
			t.Fatalf("after settling failed: %+v, started %+v", b, start)
		}
		if got := must(t, h, 200, "GET", "/v1/admin/payouts?attention=true", testAdmin, "")["data"].([]any); len(got) != 0 {
			t.Fatalf("still needing attention: %v", got)
		}
	})
}
