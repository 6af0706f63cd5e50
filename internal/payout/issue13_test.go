package payout_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/wise"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store/storetest"
)

// TestClawedBackMoneyCannotBeWithdrawn is the audit's defect through the
// payout service: a refund clawed back while a payout is pending becomes
// debt; canceling the payout, or the provider failing it, must not make the
// clawed-back money available again.
func TestClawedBackMoneyCannotBeWithdrawn(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 90*eur) // 100 gross at 10 %
		l := w.env.App.Ledger
		clawback := func(key string, gross int64) ledger.ClawbackResult {
			t.Helper()
			cb, err := l.Clawback(w.ctx, ledger.ClawbackRequest{Key: key, CampaignID: w.campaign, CreatorID: w.creator.SubjectID, Amount: gross})
			if err != nil {
				t.Fatal(err)
			}
			return cb
		}
		// Cancel: all 90 pending, a refund of 50 gross takes 45 as debt.
		po, err := w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderManual))
		if err != nil || po.Amount.Micros != 90*eur {
			t.Fatalf("all: %+v %v", po, err)
		}
		if cb := clawback("cb-1", 50*eur); cb.ToDebt != 45*eur {
			t.Fatalf("clawback: %+v", cb)
		}
		if _, err := w.svc.Cancel(w.ctx, w.creator, po.ID); err != nil {
			t.Fatal(err)
		}
		if b := w.balance(t); b.Available != 45*eur || b.Debt != 0 || b.PendingPayout != 0 {
			t.Fatalf("after cancel: %+v, want 45.00 available and no debt", b)
		}
		_, err = w.svc.RequestPayout(w.ctx, w.creator, req("45.01", payout.ProviderManual))
		wantCode(t, err, ledger.ErrInsufficientFunds)
		// Provider failure: 45 pending through the provider, a refund of 20
		// gross takes 18 as debt, the provider rejects the transfer.
		w.payToWise(t)
		po, err = w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderWise))
		if err != nil || po.Amount.Micros != 45*eur {
			t.Fatalf("all: %+v %v", po, err)
		}
		if cb := clawback("cb-2", 20*eur); cb.ToDebt != 18*eur {
			t.Fatalf("clawback: %+v", cb)
		}
		w.prov.reject = true
		if _, err := w.svc.Process(w.ctx); err != nil {
			t.Fatal(err)
		}
		if list, _ := w.svc.List(w.ctx, w.creator, payout.StateFailed); len(list) != 1 || list[0].ID != po.ID {
			t.Fatalf("failed payouts: %+v", list)
		}
		if b := w.balance(t); b.Available != 27*eur || b.Debt != 0 || b.PendingPayout != 0 || b.PaidOut != 0 {
			t.Fatalf("after failure: %+v, want 27.00 available and no debt", b)
		}
		po, err = w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderManual))
		if err != nil || po.Amount.Micros != 27*eur {
			t.Fatalf("what is left: %+v %v", po, err)
		}
		w.audit(t)
	})
}

// TestIdempotencyKey: the same Idempotency-Key with the same request returns
// the payout made the first time (also for "all", after the balance has
// changed), another request with it is a conflict and changes nothing, and
// concurrent identical requests make exactly one payout.
func TestIdempotencyKey(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 200*eur)
		keyed := func(key string, r payout.Request) payout.Request { r.IdempotencyKey = key; return r }
		first, err := w.svc.RequestPayout(w.ctx, w.creator, keyed("k-1", req("20", payout.ProviderManual)))
		if err != nil || first.Replayed {
			t.Fatalf("first: %+v %v", first, err)
		}
		// "20.00" asks what "20" asked.
		again, err := w.svc.RequestPayout(w.ctx, w.creator, keyed("k-1", req("20.00", payout.ProviderManual)))
		if err != nil || !again.Replayed || again.ID != first.ID || again.Amount != first.Amount || again.HoldID != first.HoldID {
			t.Fatalf("replay: %+v %v, want %+v", again, err, first)
		}
		for _, other := range []payout.Request{req("21", payout.ProviderManual), req("all", payout.ProviderManual),
			{Amount: json.RawMessage(`{"amount":"20","currency":"USD"}`), Currency: "USD"}} {
			_, err = w.svc.RequestPayout(w.ctx, w.creator, keyed("k-1", other))
			if errs.KindOf(err) != errs.Conflict || errs.CodeOf(err) != "idempotency_key_reused" {
				t.Fatalf("same key, other request %+v: %v", other, err)
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Field != "Idempotency-Key" {
				t.Fatalf("same key, other request: field %+v", e)
			}
		}
		if b := w.balance(t); b.Available != 180*eur || b.PendingPayout != 20*eur {
			t.Fatalf("after replays and conflicts: %+v", b)
		}
		_, err = w.svc.RequestPayout(w.ctx, w.creator, keyed("bad key", req("20", payout.ProviderManual)))
		wantCode(t, err, "invalid")
		// "all" replays its payout even once the balance has changed.
		all, err := w.svc.RequestPayout(w.ctx, w.creator, keyed("k-all", req("all", payout.ProviderManual)))
		if err != nil || all.Amount.Micros != 180*eur {
			t.Fatalf("all: %+v %v", all, err)
		}
		if _, err := w.svc.Cancel(w.ctx, w.creator, first.ID); err != nil {
			t.Fatal(err)
		}
		again, err = w.svc.RequestPayout(w.ctx, w.creator, keyed("k-all", req("all", payout.ProviderManual)))
		if err != nil || !again.Replayed || again.ID != all.ID || again.Amount.Micros != 180*eur {
			t.Fatalf("all replayed: %+v %v", again, err)
		}
		// Concurrent identical requests: exactly one payout, for each kind.
		for _, r := range []payout.Request{req("10", payout.ProviderManual), req("all", payout.ProviderManual)} {
			before := w.balance(t)
			key := "k-race-" + strconv.FormatBool(r.All)
			var wg sync.WaitGroup
			var mu sync.Mutex
			ids := map[string]int{}
			for range 8 {
				wg.Go(func() {
					po, err := w.svc.RequestPayout(w.ctx, w.creator, keyed(key, r))
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Errorf("concurrent %+v: %v", r, err)
						return
					}
					ids[po.ID]++
				})
			}
			wg.Wait()
			if len(ids) != 1 {
				t.Fatalf("concurrent identical requests made %d payouts: %v", len(ids), ids)
			}
			want := int64(10 * eur)
			if r.All {
				want = before.Available - before.Available%(eur/100)
			}
			if b := w.balance(t); b.PendingPayout != before.PendingPayout+want || b.Available != before.Available-want {
				t.Fatalf("after concurrent %+v: %+v, was %+v", r, b, before)
			}
		}
		list, err := w.svc.List(w.ctx, w.creator, payout.StateRequested)
		if err != nil || len(list) != 3 { // k-all, and one of each race
			t.Fatalf("requested payouts: %d %v", len(list), err)
		}
		w.audit(t)
	})
}

// TestGBPEarningsPaidOut: a GBP campaign's earnings are listed among the
// creator's balances and paid out through Wise to a UK account by sort code
// (the Wise fake, as the real client talks to it), and the webhook settles
// the payout: paid, the hold posted, to the penny.
func TestGBPEarningsPaidOut(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		const gbp = money.Currency("GBP")
		w := newWorldIn(t, dbURL, 123_454_567, gbp) // 123.454567 available (137.171741 gross at 10 %)
		fake := wise.NewFake("wise-token", 4242)
		fake.SetBalance("GBP", 1_000*eur)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		prov, err := wise.New(wise.Config{APIToken: "wise-token", ProfileID: 4242, BaseURL: srv.URL, WebhookPublicKeyPEM: fake.PublicKeyPEM()})
		if err != nil {
			t.Fatal(err)
		}
		a := w.env.App
		svc := payout.New(a.DB, w.env.Clock, a.Ledger, payout.Config{}, nil, prov)
		box, _ := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		svc.SetSecretBox(box)
		bs, err := a.Ledger.Balances(w.ctx, w.creator.SubjectID)
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 3 || bs[0].Currency != money.EUR || bs[1].Currency != money.USD || bs[2].Currency != gbp || bs[2].Available != 123_454_567 {
			t.Fatalf("balances: %+v", bs)
		}
		if err := svc.SetDestination(w.ctx, w.creator, payout.ProviderWise,
			`{"currency":"GBP","holderName":"Maria Silva","sortCode":"231470","accountNumber":"28821822"}`); err != nil {
			t.Fatal(err)
		}
		// Wise does not pay CAD here: refused with the providers that do.
		_, err = svc.RequestPayout(w.ctx, w.creator, payout.Request{Currency: "CAD", All: true, Provider: payout.ProviderWise})
		wantCode(t, err, "unsupported_currency")
		po, err := svc.RequestPayout(w.ctx, w.creator, payout.Request{Currency: "GBP", All: true, Provider: payout.ProviderWise})
		if err != nil || po.Amount != money.New(123_450_000, gbp) {
			t.Fatalf("GBP payout: %+v %v", po, err)
		}
		if n, err := svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process: %d %v", n, err)
		}
		trs := fake.Transfers()
		if len(trs) != 1 || trs[0].Currency != "GBP" || trs[0].Micros != 123_450_000 {
			t.Fatalf("Wise transfers: %+v", trs)
		}
		body, h := fake.Webhook(strconv.FormatInt(trs[0].ID, 10), "outgoing_payment_sent")
		if err := svc.Webhook(w.ctx, payout.ProviderWise, h, body); err != nil {
			t.Fatal(err)
		}
		list, _ := svc.List(w.ctx, w.creator, "")
		if len(list) != 1 || list[0].State != payout.StatePaid || list[0].Amount.Currency != gbp {
			t.Fatalf("payouts: %+v", list)
		}
		b, err := a.Ledger.Balance(w.ctx, w.creator.SubjectID, gbp)
		if err != nil {
			t.Fatal(err)
		}
		if b.PaidOut != 123_450_000 || b.Available != 4_567 || b.PendingPayout != 0 {
			t.Fatalf("GBP balance after payout: %+v", b)
		}
		if fake.Balance("GBP") != 1_000*eur-123_450_000 {
			t.Fatalf("Wise GBP balance %d", fake.Balance("GBP"))
		}
		w.audit(t)
	})
}
