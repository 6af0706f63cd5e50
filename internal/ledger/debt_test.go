package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// debtSetup funds cmp_d (EUR, reduced fee 10 %), accrues gross to crt_d and
// releases all of it, so crt_d has 90 % of gross available.
func debtSetup(t *testing.T, ctx context.Context, l *ledger.Ledger, gross int64) int64 {
	t.Helper()
	if _, err := l.Fund(ctx, ledger.FundRequest{Key: "fund", CampaignID: "cmp_d", BrandID: "brd_d", Amount: money.New(1_000*money.Scale, money.EUR)}); err != nil {
		t.Fatal(err)
	}
	a, err := l.Accrue(ctx, "cmp_d", ledger.AccrueItem{Key: "acc", CreatorID: "crt_d", Amount: gross})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Release(ctx, ledger.ReleaseRequest{Key: "rel", CampaignID: "cmp_d", CreatorID: "crt_d", Amount: a.Earned}); err != nil {
		t.Fatal(err)
	}
	return a.Earned
}

// TestVoidedPayoutRepaysDebt is the audit's defect: a refund clawed back
// while a payout was pending becomes debt; voiding (cancel, provider
// failure) or expiring the payout must repay that debt before anything is
// available again, so the clawed-back money can never be paid out.
func TestVoidedPayoutRepaysDebt(t *testing.T) {
	for _, how := range []string{"void", "expire", "partial_post"} {
		t.Run(how, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				l, clk := newLedger(t, db)
				earned := debtSetup(t, ctx, l, 100*money.Scale) // 90.000000 available
				req := ledger.PayoutRequest{Key: "po", CreatorID: "crt_d", Amount: money.New(earned, money.EUR)}
				if how == "expire" {
					req.ExpiresAt = clk.Now().Add(3600e9)
				}
				h, err := l.HoldPayout(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				// A refund of 50 gross: 5 fee reversed, 45 share, all of it debt
				// (the pending payout holds everything available).
				cb, err := l.Clawback(ctx, ledger.ClawbackRequest{Key: "cb", CampaignID: "cmp_d", CreatorID: "crt_d", Amount: 50 * money.Scale})
				if err != nil {
					t.Fatal(err)
				}
				if cb.ToDebt != 45*money.Scale || cb.FromAvailable != 0 {
					t.Fatalf("clawback: %+v", cb)
				}
				var res ledger.HoldResult
				wantRepaid, wantAvail := int64(45*money.Scale), int64(45*money.Scale)
				switch how {
				case "void":
					res, err = l.VoidHold(ctx, "void", h.HoldID)
				case "expire":
					clk.Advance(2 * 3600e9)
					var n int
					if n, err = l.ExpireHolds(ctx); err == nil && n != 1 {
						t.Fatalf("expired %d holds", n)
					}
				case "partial_post":
					// 30 of the 90 went out; the 60 that comes back repays the 45 of debt.
					res, err = l.PostHold(ctx, "post", h.HoldID, 30*money.Scale)
					wantAvail = 15 * money.Scale
				}
				if err != nil {
					t.Fatal(err)
				}
				if how != "expire" && res.DebtRepaid != wantRepaid {
					t.Fatalf("%s repaid %d of debt, want %d", how, res.DebtRepaid, wantRepaid)
				}
				b, err := l.Balance(ctx, "crt_d", money.EUR)
				if err != nil {
					t.Fatal(err)
				}
				if b.Debt != 0 || b.Available != wantAvail || b.PendingPayout != 0 {
					t.Fatalf("after %s: %+v, want debt 0 and available %d", how, b, wantAvail)
				}
				// Nothing more than what is left can be paid out.
				_, err = l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po2", CreatorID: "crt_d", Amount: money.New(wantAvail+1, money.EUR)})
				if errs.KindOf(err) != errs.Conflict {
					t.Fatalf("a payout above what is left: %v", err)
				}
				requireAuditOK(t, l)
				if how == "void" { // a replay repays nothing twice
					again, err := l.VoidHold(ctx, "void", h.HoldID)
					if err != nil || !again.Replayed || again.DebtRepaid != wantRepaid {
						t.Fatalf("replayed void: %+v, %v", again, err)
					}
					if b2, _ := l.Balance(ctx, "crt_d", money.EUR); b2 != b {
						t.Fatalf("replay changed the balance: %+v → %+v", b, b2)
					}
				}
			})
		})
	}
}

// TestPayoutNetsDebt: a creator who carries debt and has money available
// (a ledger written before voids repaid debt) repays the debt from
// available when requesting a payout, and cannot be paid more than what is
// left; a refused request writes nothing.
func TestPayoutNetsDebt(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		l, _ := newLedger(t, db)
		debtSetup(t, ctx, l, 100*money.Scale) // 90 available
		// Build the legacy state directly: 30 of debt beside 90 available.
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			for _, q := range []string{
				`INSERT INTO ledger_accounts (id, kind, currency, owner_id, campaign_id, bounded, created_at) VALUES ('debt:crt_d:EUR', 'debt', 'EUR', 'crt_d', '', false, 0) ON CONFLICT (id) DO NOTHING`,
				`UPDATE ledger_accounts SET posted = posted - 30000000 WHERE id = 'debt:crt_d:EUR'`,
				`UPDATE ledger_accounts SET posted = posted + 30000000 WHERE id = 'ext:funding:EUR'`,
			} {
				if _, err := tx.ExecContext(ctx, q); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		before := dumpLedger(t, db.Read())
		_, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-big", CreatorID: "crt_d", Amount: money.New(60*money.Scale+1, money.EUR)})
		if errs.KindOf(err) != errs.Conflict || errs.CodeOf(err) != ledger.ErrDebtOutstanding {
			t.Fatalf("a payout above available less debt: %v (%s)", err, errs.CodeOf(err))
		}
		if after := dumpLedger(t, db.Read()); after != before {
			t.Fatalf("a refused payout changed the ledger:\n%s\n%s", before, after)
		}
		h, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po", CreatorID: "crt_d", Amount: money.New(60*money.Scale, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		if h.DebtRepaid != 30*money.Scale {
			t.Fatalf("hold: %+v, want 30 of debt repaid", h)
		}
		b, _ := l.Balance(ctx, "crt_d", money.EUR)
		if b.Debt != 0 || b.Available != 0 || b.PendingPayout != 60*money.Scale {
			t.Fatalf("balance after netting: %+v", b)
		}
	})
}

// TestClawbackRacingPayoutCancel races a refund's clawback against the
// cancel of the payout that holds the creator's whole available balance:
// whichever commits first, the creator ends with their earnings less the
// clawback available and no debt, and can withdraw exactly that.
func TestClawbackRacingPayoutCancel(t *testing.T) {
	t.Parallel()
	rounds := 16
	if raceEnabled || testing.Short() {
		rounds = 4
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		if _, err := l.Fund(ctx, ledger.FundRequest{Key: "fund", CampaignID: "cmp_r", BrandID: "brd_r", Amount: money.New(100_000*money.Scale, money.EUR)}); err != nil {
			t.Fatal(err)
		}
		order := map[string]int{}
		for i := range rounds {
			cr := fmt.Sprintf("crt_%d", i)
			a, err := l.Accrue(ctx, "cmp_r", ledger.AccrueItem{Key: "acc-" + cr, CreatorID: cr, Amount: 100 * money.Scale})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Release(ctx, ledger.ReleaseRequest{Key: "rel-" + cr, CampaignID: "cmp_r", CreatorID: cr, Amount: a.Earned}); err != nil {
				t.Fatal(err)
			}
			h, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-" + cr, CreatorID: cr, Amount: money.New(a.Earned, money.EUR)})
			if err != nil {
				t.Fatal(err)
			}
			var cb ledger.ClawbackResult
			var void ledger.HoldResult
			var cbErr, voidErr error
			start := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() {
				<-start
				cb, cbErr = l.Clawback(ctx, ledger.ClawbackRequest{Key: "cb-" + cr, CampaignID: "cmp_r", CreatorID: cr, Amount: 50 * money.Scale})
			})
			wg.Go(func() {
				<-start
				void, voidErr = l.VoidHold(ctx, "cancel-"+cr, h.HoldID)
			})
			close(start)
			wg.Wait()
			if cbErr != nil || voidErr != nil {
				t.Fatalf("round %d: clawback %v, cancel %v", i, cbErr, voidErr)
			}
			share := cb.Amount - cb.FeeReversed
			switch {
			case cb.ToDebt == share && void.DebtRepaid == share:
				order["clawback first"]++
			case cb.FromAvailable == share && void.DebtRepaid == 0:
				order["cancel first"]++
			default:
				t.Fatalf("round %d: clawback %+v, cancel %+v", i, cb, void)
			}
			b, err := l.Balance(ctx, cr, money.EUR)
			if err != nil {
				t.Fatal(err)
			}
			if want := a.Earned - share; b.Debt != 0 || b.Available != want || b.PendingPayout != 0 {
				t.Fatalf("round %d: %+v, want %d available and no debt", i, b, want)
			}
			if _, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po2-" + cr, CreatorID: cr, Amount: money.New(b.Available+1, money.EUR)}); errs.CodeOf(err) != ledger.ErrInsufficientFunds {
				t.Fatalf("round %d: a payout above what is left: %v", i, err)
			}
		}
		requireAuditOK(t, l)
		t.Logf("%s: %v", storetest.Name(db), order)
	})
}
