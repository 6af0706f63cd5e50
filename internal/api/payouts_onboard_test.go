package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
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
