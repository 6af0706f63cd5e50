package ledger_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestReversePayoutTo: totals reported in any order and repeated reverse,
// in all, exactly the largest one, capped at what was paid; a total not
// above what is reversed writes nothing; a hold not posted is refused.
func TestReversePayoutTo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, _ := newLedger(t, db)
		earned := debtSetup(t, ctx, l, 100*money.Scale) // 90.000000 available
		h, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po", CreatorID: "crt_d", Amount: money.New(40*money.Scale, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		to := func(total int64) (ledger.ReverseResult, error) {
			var r ledger.ReverseResult
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				var err error
				r, err = l.ReversePayoutToTx(ctx, tx, "rev-to:"+strconv.FormatInt(total, 10), h.HoldID, total)
				return err
			})
			return r, err
		}
		if _, err := to(10 * money.Scale); errs.CodeOf(err) != "hold_not_posted" {
			t.Fatalf("a pending payout: %v", err)
		}
		if _, err := to(0); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a zero total: %v", err)
		}
		if _, err := l.PostHold(ctx, "post", h.HoldID, 0); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ total, amount, reversed int64 }{
			{15 * money.Scale, 15 * money.Scale, 15 * money.Scale},
			{5 * money.Scale, 0, 15 * money.Scale},  // older, smaller: nothing
			{15 * money.Scale, 0, 15 * money.Scale}, // the same again: nothing
			{25 * money.Scale, 10 * money.Scale, 25 * money.Scale},
			{99 * money.Scale, 15 * money.Scale, 40 * money.Scale}, // capped at what was paid
			{40 * money.Scale, 0, 40 * money.Scale},
		} {
			r, err := to(c.total)
			if err != nil || r.Amount != c.amount || r.Reversed != c.reversed {
				t.Fatalf("to %d: %+v, %v; want %d reversed now, %d in all", c.total, r, err, c.amount, c.reversed)
			}
			requireAuditOK(t, l)
		}
		b, _ := l.Balance(ctx, "crt_d", money.EUR)
		if b.Available != earned || b.PaidOut != 0 || b.PendingPayout != 0 {
			t.Fatalf("after reversing it all: %+v (earned %d)", b, earned)
		}
	})
}
