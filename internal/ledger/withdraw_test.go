package ledger_test

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// withdrawChecks is how many random sequences TestNeverWithdrawMoreThanNetEarnings
// runs per store: few under -race, where the package is already the long pole.
func withdrawChecks() int {
	switch {
	case raceEnabled:
		return 6
	case testing.Short():
		return 10
	}
	return 40
}

// TestNeverWithdrawMoreThanNetEarnings runs random sequences of accrue,
// release, clawback, payout request, cancel (void), fail (the hold lapses and
// expires) and paid (posted, wholly or partly) for one creator, and checks
// after every step, from the operations' own results:
//
//   - a payout request succeeds exactly when what the creator has withdrawn
//     (paid out + pending payouts) plus the request stays within their net
//     earnings (released to them less what clawbacks took from available or
//     put in debt), so a creator can never withdraw clawed-back money;
//   - the balances are exactly those: available = max(net - withdrawn, 0),
//     debt = max(withdrawn - net, 0) (a debt only from a refund that hit a
//     payout already in flight), never both at once;
//   - the ledger audit passes.
func TestNeverWithdrawMoreThanNetEarnings(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		var ran atomic.Int64
		limit := int64(withdrawChecks())
		failed := false
		rapid.Check(t, func(t *rapid.T) {
			if ran.Load() >= limit && !failed {
				return
			}
			ran.Add(1)
			defer func() {
				if p := recover(); p != nil {
					failed = true
					panic(p)
				}
			}()
			withdrawProperty(t, db)
		})
	})
}

// withdrawRun is one sequence's state, as the operations reported it.
type withdrawRun struct {
	ctx       context.Context
	l         *ledger.Ledger
	clk       *clock.Fake
	cur       money.Currency
	n         int
	held      int64 // in the holding period
	net       int64 // released − clawed back from available − put in debt
	paid      int64
	pending   map[string]int64 // hold id → amount
	pendTotal int64
	spent     int64 // gross spend on the creator (what clawbacks may take)
}

const (
	wCampaign = "cmp_w"
	wCreator  = "crt_w"
)

func (r *withdrawRun) key(op string) string {
	r.n++
	return fmt.Sprintf("%s-%d", op, r.n)
}

func withdrawProperty(t *rapid.T, db *store.DB) {
	resetLedger(t, db)
	clk := clock.NewFake(modelEpoch)
	l, err := ledger.New(db, clk, ledger.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	r := &withdrawRun{ctx: context.Background(), l: l, clk: clk, pending: map[string]int64{},
		cur: rapid.SampledFrom([]money.Currency{money.EUR, "GBP", "CHF"}).Draw(t, "currency")}
	if _, err := l.Fund(r.ctx, ledger.FundRequest{Key: "fund", CampaignID: wCampaign, BrandID: "brd_w",
		Amount: money.New(1_000_000*money.Scale, r.cur)}); err != nil {
		t.Fatal(err)
	}
	amount := func(label string, limit int64) int64 {
		if limit > 0 && rapid.IntRange(0, 4).Draw(t, label+"_mode") > 0 {
			return rapid.Int64Range(1, limit).Draw(t, label)
		}
		return rapid.Int64Range(1, 200*money.Scale).Draw(t, label)
	}
	steps := rapid.IntRange(5, 40).Draw(t, "steps")
	for range steps {
		switch op := rapid.IntRange(0, 7).Draw(t, "op"); op {
		case 0, 1: // accrue
			a, err := l.Accrue(r.ctx, wCampaign, ledger.AccrueItem{Key: r.key("acc"), CreatorID: wCreator, Amount: amount("accrue", 100*money.Scale)})
			if err != nil {
				t.Fatalf("accrue: %v", err)
			}
			r.held += a.Earned
			r.spent += a.Granted
		case 2: // release
			if r.held == 0 {
				continue
			}
			a := r.held // usually all of it, so that payouts have something to take
			if rapid.Bool().Draw(t, "release_part") {
				a = rapid.Int64Range(1, r.held).Draw(t, "release")
			}
			res, err := l.Release(r.ctx, ledger.ReleaseRequest{Key: r.key("rel"), CampaignID: wCampaign, CreatorID: wCreator, Amount: a})
			if err != nil {
				t.Fatalf("release %d: %v", a, err)
			}
			r.held -= a
			r.net += res.Released
		case 3: // clawback (a refund, a voided earning)
			if r.spent == 0 {
				continue
			}
			a := r.spent // often all of it, so that it reaches past held into available and debt
			if rapid.Bool().Draw(t, "clawback_part") {
				a = rapid.Int64Range(1, r.spent).Draw(t, "clawback")
			}
			res, err := l.Clawback(r.ctx, ledger.ClawbackRequest{Key: r.key("cb"), CampaignID: wCampaign, CreatorID: wCreator, Amount: a})
			if err != nil {
				t.Fatalf("clawback: %v", err)
			}
			r.spent -= res.Amount
			r.held -= res.FromHeld
			r.net -= res.FromAvailable + res.ToDebt
		case 4: // payout request
			a := amount("payout", r.net-r.paid-r.pendTotal)
			var exp time.Time
			if rapid.Bool().Draw(t, "expires") {
				exp = r.clk.Now().Add(time.Hour)
			}
			h, err := l.HoldPayout(r.ctx, ledger.PayoutRequest{Key: r.key("po"), CreatorID: wCreator, Amount: money.New(a, r.cur), ExpiresAt: exp})
			fits := r.paid+r.pendTotal+a <= r.net
			switch {
			case fits && err != nil:
				t.Fatalf("payout of %d refused with withdrawn %d + %d within net %d: %v", a, r.paid, r.pendTotal, r.net, err)
			case !fits && err == nil:
				t.Fatalf("payout of %d allowed with withdrawn %d + %d beyond net %d", a, r.paid, r.pendTotal, r.net)
			case !fits && (errs.KindOf(err) != errs.Conflict || (errs.CodeOf(err) != ledger.ErrInsufficientFunds && errs.CodeOf(err) != ledger.ErrDebtOutstanding)):
				t.Fatalf("payout refused with %v, want insufficient_funds or debt_outstanding", err)
			}
			if err == nil {
				r.pending[h.HoldID] = a
				r.pendTotal += a
			}
		case 5, 6, 7: // resolve a pending payout: cancel, fail, paid
			id := r.pick(t)
			if id == "" {
				continue
			}
			amt := r.pending[id]
			switch rapid.IntRange(0, 2).Draw(t, "resolve") {
			case 0: // canceled by the creator
				if _, err := l.VoidHold(r.ctx, r.key("void"), id); err != nil {
					t.Fatalf("void: %v", err)
				}
			case 1: // failed: the hold lapses and the sweep expires it
				r.clk.Advance(2 * time.Hour)
				if _, err := l.ExpireHolds(r.ctx); err != nil {
					t.Fatalf("expire: %v", err)
				}
				r.sweepExpired(t)
				if _, ok := r.pending[id]; ok { // never expires: void it as a failure
					if _, err := l.VoidHold(r.ctx, r.key("fail"), id); err != nil {
						t.Fatalf("void (failed): %v", err)
					}
				} else {
					amt = 0
				}
			case 2: // paid, wholly or partly
				post := rapid.Int64Range(0, amt).Draw(t, "post")
				h, err := l.PostHold(r.ctx, r.key("post"), id, post)
				if errs.CodeOf(err) == "hold_expired" {
					if _, err := l.VoidHold(r.ctx, r.key("fail"), id); err != nil {
						t.Fatalf("void (expired): %v", err)
					}
					break
				}
				if err != nil {
					t.Fatalf("post: %v", err)
				}
				r.paid += h.Posted
			}
			if amt != 0 {
				delete(r.pending, id)
				r.pendTotal -= amt
			}
		}
		r.check(t)
	}
}

// pick draws a pending payout, or "" when there is none.
func (r *withdrawRun) pick(t *rapid.T) string {
	if len(r.pending) == 0 {
		return ""
	}
	ids := make([]string, 0, len(r.pending))
	for id := range r.pending {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids[rapid.IntRange(0, len(ids)-1).Draw(t, "hold")]
}

// sweepExpired drops the payouts the sweep expired from pending.
func (r *withdrawRun) sweepExpired(t *rapid.T) {
	for id, amt := range r.pending {
		h, err := r.l.GetHold(r.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if h.State == ledger.HoldExpired {
			delete(r.pending, id)
			r.pendTotal -= amt
		}
	}
}

func (r *withdrawRun) check(t *rapid.T) {
	b, err := r.l.Balance(r.ctx, wCreator, r.cur)
	if err != nil {
		t.Fatal(err)
	}
	withdrawn := r.paid + r.pendTotal
	want := ledger.CreatorBalance{CreatorID: wCreator, Currency: r.cur, Held: r.held, Available: max(r.net-withdrawn, 0),
		PendingPayout: r.pendTotal, Debt: max(withdrawn-r.net, 0), PaidOut: r.paid}
	if b != want {
		t.Fatalf("balance:\n got %+v\nwant %+v (net earnings %d)", b, want, r.net)
	}
	rep, err := r.l.Audit(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("audit:\n%s", rep)
	}
}
