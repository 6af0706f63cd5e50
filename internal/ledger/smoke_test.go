package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func newLedger(t *testing.T, db *store.DB) (*ledger.Ledger, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	l, err := ledger.New(db, clk, ledger.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	return l, clk
}

func TestSmokeFlow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, _ := newLedger(t, db)
		f, err := l.Fund(ctx, ledger.FundRequest{Key: "fund-1", CampaignID: "cmp_a", BrandID: "brd_a", Amount: money.New(100_000_000, money.EUR), Reference: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		if !f.ReducedFee || f.FeeBps != 1000 {
			t.Fatalf("first campaign fee: %+v", f)
		}
		r, err := l.Accrue(ctx, "cmp_a", ledger.AccrueItem{Key: "acc-1", CreatorID: "crt_1", Amount: 33_333_333})
		if err != nil {
			t.Fatal(err)
		}
		if r.Granted != 33_333_333 || r.Fee != 3_333_333 || r.Earned != 30_000_000 {
			t.Fatalf("accrue: %+v", r)
		}
		st, err := l.Escrow(ctx, "cmp_a")
		if err != nil {
			t.Fatal(err)
		}
		if st.Remaining != 66_666_667 || st.Spent != 33_333_333 || st.Fees != 3_333_333 {
			t.Fatalf("escrow: %+v", st)
		}
		if _, err := l.Release(ctx, ledger.ReleaseRequest{Key: "rel-1", CampaignID: "cmp_a", CreatorID: "crt_1", Amount: 30_000_000}); err != nil {
			t.Fatal(err)
		}
		h, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-1", CreatorID: "crt_1", Amount: money.New(10_000_000, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.PostHold(ctx, "po-1-post", h.HoldID, 0); err != nil {
			t.Fatal(err)
		}
		c, err := l.Clawback(ctx, ledger.ClawbackRequest{Key: "cb-1", CampaignID: "cmp_a", CreatorID: "crt_1", Amount: 33_333_333})
		if err != nil {
			t.Fatal(err)
		}
		if c.ToDebt != 10_000_000 || c.FromAvailable != 20_000_000 || c.FeeReversed != 3_333_333 {
			t.Fatalf("clawback: %+v", c)
		}
		cl, err := l.Close(ctx, "close-1", "cmp_a")
		if err != nil {
			t.Fatal(err)
		}
		if cl.Refunded != 100_000_000 {
			t.Fatalf("close: %+v", cl)
		}
		txs, err := l.Transactions(ctx, ledger.TxFilter{CreatorID: "crt_1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(txs) != 5 {
			t.Fatalf("creator txs: %d", len(txs))
		}
	})
}
