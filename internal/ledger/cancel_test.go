package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// Invariant 13: a cancelled context mid-transaction, then a retry with the
// same key, gives exactly-once effects; so does a write that committed but
// whose result the caller never saw.

// cancelBeforeCommit makes the ledger's next write cancel its own context
// just before committing, and returns that context.
func cancelBeforeCommit(l *ledger.Ledger) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	l.SetTestHookBeforeCommit(func(hookCtx context.Context) {
		if hookCtx == ctx {
			cancel()
		}
	})
	return ctx
}

// writeOp is one ledger write, run with ctx; it returns the transaction ids
// it reports and whether every result was a replay.
type writeOp func(ctx context.Context) (txIDs []string, replayed bool, err error)

// checkExactlyOnce runs op with a context cancelled just before commit
// (nothing may change), then with a fresh context (applied once: effect
// must hold), then again (a replay with the same transactions, nothing
// changes).
func checkExactlyOnce(t *testing.T, db *store.DB, l *ledger.Ledger, op writeOp, effect func(t *testing.T)) {
	t.Helper()
	before := dumpLedger(t, db.Read())
	ctx := cancelBeforeCommit(l)
	// The write must fail. database/sql reports the cancellation as
	// context.Canceled, or as ErrTxDone when its context watcher rolled the
	// transaction back before Commit looked (a race inside database/sql).
	if _, _, err := op(ctx); ctx.Err() == nil || !(errors.Is(err, context.Canceled) || errors.Is(err, sql.ErrTxDone)) {
		t.Fatalf("write whose context was cancelled before commit: err = %v (context: %v), want it to fail as cancelled", err, ctx.Err())
	}
	l.SetTestHookBeforeCommit(nil)
	if after := dumpLedger(t, db.Read()); after != before {
		t.Fatalf("a write cancelled before commit changed the ledger:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	requireAuditOK(t, l)

	ids, replayed, err := op(context.Background())
	if err != nil || replayed || len(ids) == 0 {
		t.Fatalf("retry after cancellation: ids %v, replayed %t, err %v; want a fresh write", ids, replayed, err)
	}
	effect(t)
	requireAuditOK(t, l)

	applied := dumpLedger(t, db.Read())
	ids2, replayed, err := op(context.Background())
	if err != nil || !replayed || !slices.Equal(ids, ids2) {
		t.Fatalf("second retry: ids %v (first %v), replayed %t, err %v; want a replay", ids2, ids, replayed, err)
	}
	if after := dumpLedger(t, db.Read()); after != applied {
		t.Fatalf("a replay changed the ledger:\nbefore:\n%s\nafter:\n%s", applied, after)
	}
	effect(t)
}

func TestCancelledWriteThenRetryIsExactlyOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		l, _ := newLedger(t, db)
		bg := context.Background()

		fund := ledger.FundRequest{Key: "psp-42", CampaignID: "cmp_c", BrandID: "brd_c", Amount: money.New(90_000_000, money.EUR), Reference: "psp-42"}
		checkExactlyOnce(t, db, l, func(ctx context.Context) ([]string, bool, error) {
			r, err := l.Fund(ctx, fund)
			return []string{r.TxID}, r.Replayed, err
		}, func(t *testing.T) {
			if st := must(l.Escrow(bg, "cmp_c"))(t); st.Funded != 90_000_000 || st.Remaining != 90_000_000 || !st.ReducedFee {
				t.Fatalf("escrow after the funding: %+v", st)
			}
		})

		items := []ledger.AccrueItem{
			{Key: "tick-1/crt_1", CreatorID: "crt_1", Amount: 10_000_001},
			{Key: "tick-1/crt_2", CreatorID: "crt_2", Amount: 20_000_000, Cap: 15_000_000},
			{Key: "tick-1/crt_3", CreatorID: "crt_3", Amount: 3},
		}
		checkExactlyOnce(t, db, l, func(ctx context.Context) ([]string, bool, error) {
			rs, err := l.AccrueBatch(ctx, "cmp_c", items)
			var ids []string
			replayed := len(rs) > 0
			for _, r := range rs {
				ids = append(ids, r.TxID)
				replayed = replayed && r.Replayed
				if !r.Replayed && r.Granted != min(r.Requested, 15_000_000) {
					t.Errorf("accrual %+v", r)
				}
			}
			return ids, replayed, err
		}, func(t *testing.T) {
			// 10 % fee, cumulative: spent 25_000_004 → fees 2_500_000.
			if st := must(l.Escrow(bg, "cmp_c"))(t); st.Spent != 25_000_004 || st.Fees != 2_500_000 || st.Remaining != 64_999_996 {
				t.Fatalf("escrow after the batch: %+v", st)
			}
		})

		must(l.Release(bg, ledger.ReleaseRequest{Key: "rel-1", CampaignID: "cmp_c", CreatorID: "crt_1", Amount: 9_000_000}))(t)
		payout := ledger.PayoutRequest{Key: "po-1", CreatorID: "crt_1", Amount: money.New(7_500_000, money.EUR)}
		checkExactlyOnce(t, db, l, func(ctx context.Context) ([]string, bool, error) {
			r, err := l.HoldPayout(ctx, payout)
			return []string{r.TxID, r.HoldID}, r.Replayed, err
		}, func(t *testing.T) {
			if b := must(l.Balance(bg, "crt_1", money.EUR))(t); b.PendingPayout != 7_500_000 || b.Available != 1_500_000 {
				t.Fatalf("balance after the payout hold: %+v", b)
			}
		})
	})
}

// TestLostResultThenRetryIsExactlyOnce: the write commits, but the caller
// never sees the result (its context is cancelled right after, or the
// response is lost); a retry with the same key must replay it.
func TestLostResultThenRetryIsExactlyOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		clk := clock.NewFake(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
		l := must(ledger.New(db, clk, ledger.DefaultConfig))(t)
		bg := context.Background()
		// lose runs a write whose caller goes away as soon as it returns.
		lose := func(op func(ctx context.Context) error) {
			ctx, cancel := context.WithCancel(bg)
			err := op(ctx)
			cancel()
			if err != nil {
				t.Fatalf("lost write failed: %v", err)
			}
		}

		var lostFund ledger.FundResult
		fund := ledger.FundRequest{Key: "psp-7", CampaignID: "cmp_l", BrandID: "brd_l", Amount: money.New(50_000_000, money.USD)}
		lose(func(ctx context.Context) (err error) { lostFund, err = l.Fund(ctx, fund); return })
		before := dumpLedger(t, db.Read())
		f := must(l.Fund(bg, fund))(t)
		if !f.Replayed || f.TxID != lostFund.TxID || f.Funded != 50_000_000 {
			t.Fatalf("retried funding %+v, lost one %+v", f, lostFund)
		}
		if after := dumpLedger(t, db.Read()); after != before {
			t.Fatalf("the replay changed the ledger:\nbefore:\n%s\nafter:\n%s", before, after)
		}

		var lostAcc []ledger.AccrueResult
		items := []ledger.AccrueItem{{Key: "t1/a", CreatorID: "crt_a", Amount: 30_000_000}, {Key: "t1/b", CreatorID: "crt_b", Amount: 30_000_000}}
		lose(func(ctx context.Context) (err error) { lostAcc, err = l.AccrueBatch(ctx, "cmp_l", items); return })
		// The retry comes with one more item: the lost ones replay, the new one applies.
		more := append(append([]ledger.AccrueItem(nil), items...), ledger.AccrueItem{Key: "t1/c", CreatorID: "crt_c", Amount: 1})
		rs := must(l.AccrueBatch(bg, "cmp_l", more))(t)
		for i := range items {
			if !rs[i].Replayed || rs[i].TxID != lostAcc[i].TxID || rs[i].Granted != lostAcc[i].Granted {
				t.Fatalf("retried accrual %d: %+v, lost %+v", i, rs[i], lostAcc[i])
			}
		}
		if lostAcc[1].Granted != 20_000_000 || rs[2].Replayed || rs[2].Granted != 0 || !rs[2].EscrowExhausted {
			t.Fatalf("the second lost accrual should have drained the escrow, the new one get nothing: %+v, %+v", lostAcc, rs)
		}
		if st := must(l.Escrow(bg, "cmp_l"))(t); st.Spent != 50_000_000 || st.Remaining != 0 {
			t.Fatalf("escrow: %+v", st)
		}

		must(l.Release(bg, ledger.ReleaseRequest{Key: "rel-a", CampaignID: "cmp_l", CreatorID: "crt_a", Amount: 20_000_000}))(t)
		var lostHold ledger.HoldResult
		payout := ledger.PayoutRequest{Key: "po-a", CreatorID: "crt_a", Amount: money.New(20_000_000, money.USD), ExpiresAt: clk.Now().Add(time.Hour)}
		lose(func(ctx context.Context) (err error) { lostHold, err = l.HoldPayout(ctx, payout); return })
		// The retry comes after the hold expired and was released again.
		clk.Advance(2 * time.Hour)
		if n := must(l.ExpireHolds(bg))(t); n != 1 {
			t.Fatalf("expired %d holds", n)
		}
		before = dumpLedger(t, db.Read())
		h, err := l.HoldPayout(bg, payout)
		if err != nil || !h.Replayed || h.TxID != lostHold.TxID || h.HoldID != lostHold.HoldID {
			t.Fatalf("retried payout hold after it expired: %+v, %v; lost %+v", h, err, lostHold)
		}
		if after := dumpLedger(t, db.Read()); after != before {
			t.Fatalf("the replay changed the ledger:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if b := must(l.Balance(bg, "crt_a", money.USD))(t); b.Available != 20_000_000 || b.PendingPayout != 0 {
			t.Fatalf("balance: %+v", b)
		}
		requireAuditOK(t, l)
	})
}
