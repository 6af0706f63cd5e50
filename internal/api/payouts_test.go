package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store/storetest"
)

// payoutCall posts a payout request with an Idempotency-Key header.
func payoutCall(t *testing.T, h http.Handler, key, idem, body string) answer {
	t.Helper()
	req := httptest.NewRequestWithContext(context.Background(), "POST", "/v1/creator/payouts", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := answer{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &out.Body)
	return out
}

// TestPayoutIdempotencyKeyHeader: POST /v1/creator/payouts with an
// Idempotency-Key answers 201 with a new payout, 200 with the same payout
// for the same key and body (also when sent concurrently), and 409
// idempotency_key_reused on field Idempotency-Key for another body; a GBP
// campaign's earnings show among the creator's balances and pay out in GBP.
func TestPayoutIdempotencyKeyHeader(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		ctx := context.Background()
		c := must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Mia"}`)
		key, creator := str(c, "api_key"), str(c, "creator", "id")
		// 100 GBP of earnings released to the creator.
		if _, err := a.Ledger.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_gbp", BrandID: "brd_gbp", Amount: moneyGBP(1000)}); err != nil {
			t.Fatal(err)
		}
		r, err := a.Ledger.Accrue(ctx, "cmp_gbp", ledger.AccrueItem{Key: "a", CreatorID: creator, Amount: 200_000_000})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Ledger.Release(ctx, ledger.ReleaseRequest{Key: "r", CampaignID: "cmp_gbp", CreatorID: creator, Amount: r.Earned}); err != nil {
			t.Fatal(err)
		}
		bals := must(t, h, 200, "GET", "/v1/creators/"+creator+"/balances", key, "")["balances"].([]any)
		if len(bals) != 3 || bals[2].(map[string]any)["currency"] != "GBP" {
			t.Fatalf("balances: %v", bals)
		}
		body := `{"amount":{"amount":"25.00","currency":"GBP"},"currency":"GBP"}`
		first := payoutCall(t, h, key, "retry-1", body)
		if first.Status != 201 {
			t.Fatalf("first: %d %s", first.Status, first.Raw)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		for range 4 {
			wg.Go(func() {
				again := payoutCall(t, h, key, "retry-1", body)
				mu.Lock()
				defer mu.Unlock()
				if again.Status != 200 || again.Body["id"] != first.Body["id"] {
					t.Errorf("replay: %d %s, want 200 with %v", again.Status, again.Raw, first.Body["id"])
				}
			})
		}
		wg.Wait()
		other := payoutCall(t, h, key, "retry-1", `{"amount":{"amount":"26.00","currency":"GBP"},"currency":"GBP"}`)
		if other.Status != 409 || other.errCode() != "idempotency_key_reused" || other.errField() != "Idempotency-Key" {
			t.Fatalf("other body: %d %s", other.Status, other.Raw)
		}
		if bad := payoutCall(t, h, key, "with space", body); bad.Status != 400 || bad.errField() != "Idempotency-Key" {
			t.Fatalf("bad key: %d %s", bad.Status, bad.Raw)
		}
		list := must(t, h, 200, "GET", "/v1/creator/payouts", key, "")["data"].([]any)
		if len(list) != 1 {
			t.Fatalf("%d payouts, want 1: %v", len(list), list)
		}
	})
}

func moneyGBP(units int64) money.Amount { return money.New(units*money.Scale, "GBP") }
