package ledger_test

import (
	"context"
	"errors"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestReversePayout (issue 14, item 5): a payout the provider paid and
// whose money came back is reversed by a new balanced transaction —
// ext:payouts back to available, the creator's debt repaid first —, in
// parts or whole, never beyond what was paid, idempotent by key; the audit
// passes after each step and a second payout can spend the money again.
func TestReversePayout(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, _ := newLedger(t, db)
		earned := debtSetup(t, ctx, l, 100*money.Scale) // 90.000000 available
		h, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po", CreatorID: "crt_d", Amount: money.New(earned, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		// Not posted yet: nothing to reverse.
		if _, err := l.ReversePayout(ctx, "rev-early", h.HoldID, 0); errs.CodeOf(err) != "hold_not_posted" {
			t.Fatalf("reversing a pending payout: %v", err)
		}
		if _, err := l.PostHold(ctx, "post", h.HoldID, 0); err != nil {
			t.Fatal(err)
		}
		// A refund after the payout went out: 10 gross → 9 share, all debt.
		if _, err := l.Clawback(ctx, ledger.ClawbackRequest{Key: "cb", CampaignID: "cmp_d", CreatorID: "crt_d", Amount: 10 * money.Scale}); err != nil {
			t.Fatal(err)
		}
		// 20.000001 comes back first (a partial reversal): 9 repays the debt.
		part := int64(20*money.Scale + 1)
		r1, err := l.ReversePayout(ctx, "rev-1", h.HoldID, part)
		if err != nil {
			t.Fatal(err)
		}
		if r1.Amount != part || r1.Reversed != part || r1.DebtRepaid != 9*money.Scale {
			t.Fatalf("partial reversal: %+v", r1)
		}
		b, _ := l.Balance(ctx, "crt_d", money.EUR)
		if b.Available != part-9*money.Scale || b.Debt != 0 || b.PaidOut != earned-part {
			t.Fatalf("after the partial reversal: %+v", b)
		}
		requireAuditOK(t, l)
		// A redelivery replays; the same key with another amount is refused.
		again, err := l.ReversePayout(ctx, "rev-1", h.HoldID, part)
		if err != nil || !again.Replayed || again.TxID != r1.TxID {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		if _, err := l.ReversePayout(ctx, "rev-1", h.HoldID, 1); errs.CodeOf(err) != "idempotency_key_reused" {
			t.Fatalf("key reused: %v", err)
		}
		// More than is left is refused, writing nothing.
		var e *errs.Error
		if _, err := l.ReversePayout(ctx, "rev-big", h.HoldID, earned-part+1); errs.CodeOf(err) != "exceeds_paid" || !errors.As(err, &e) || e.Field != "amount" {
			t.Fatalf("beyond what was paid: %v", err)
		}
		if _, err := l.ReversePayout(ctx, "rev-neg", h.HoldID, -1); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a negative amount: %v", err)
		}
		if after, _ := l.Balance(ctx, "crt_d", money.EUR); after != b {
			t.Fatalf("a refused reversal wrote: %+v, was %+v", after, b)
		}
		// The rest (0 = all that is left).
		r2, err := l.ReversePayout(ctx, "rev-2", h.HoldID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if r2.Amount != earned-part || r2.Reversed != earned || r2.DebtRepaid != 0 {
			t.Fatalf("the rest: %+v", r2)
		}
		if _, err := l.ReversePayout(ctx, "rev-3", h.HoldID, 0); errs.CodeOf(err) != "already_reversed" {
			t.Fatalf("reversing twice: %v", err)
		}
		b, _ = l.Balance(ctx, "crt_d", money.EUR)
		if b.Available != earned-9*money.Scale || b.Debt != 0 || b.PaidOut != 0 || b.PendingPayout != 0 {
			t.Fatalf("after the whole reversal: %+v (earned %d)", b, earned)
		}
		requireAuditOK(t, l)
		// The money can be paid out again, to the micro-unit.
		h2, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po2", CreatorID: "crt_d", Amount: money.New(b.Available, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.PostHold(ctx, "post2", h2.HoldID, 0); err != nil {
			t.Fatal(err)
		}
		b, _ = l.Balance(ctx, "crt_d", money.EUR)
		if b.Available != 0 || b.PaidOut != earned-9*money.Scale {
			t.Fatalf("after paying it again: %+v", b)
		}
		requireAuditOK(t, l)
	})
}

// TestAuditCatchesBadReversal: a reversed amount beyond the posted one, or
// on a hold that is not posted, is a violation.
func TestAuditCatchesBadReversal(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, _ := newLedger(t, db)
		earned := debtSetup(t, ctx, l, 100*money.Scale)
		h, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po", CreatorID: "crt_d", Amount: money.New(earned, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Writer().ExecContext(ctx, `UPDATE ledger_holds SET reversed_amount = 1 WHERE id = $1`, h.HoldID); err != nil {
			t.Fatal(err)
		}
		if rep := mustAudit(t, l); rep.OK() {
			t.Fatal("the audit passed a reversal on a pending hold")
		}
	})
}
