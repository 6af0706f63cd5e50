package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestConcurrentAccrualsExhaustEscrowExactly: 64 goroutines accrue against
// one escrow, singly and in batches, for several creators (some capped),
// asking for three times the budget. The escrow must end exactly spent, with
// exact fees, no cap exceeded and nothing negative.
func TestConcurrentAccrualsExhaustEscrowExactly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		// The brand's first campaign takes the reduced fee; the hot one pays 20 %.
		must(l.Fund(ctx, ledger.FundRequest{Key: "fund-first", CampaignID: "cmp_first", BrandID: "brd_hot", Amount: money.New(1, money.EUR)}))(t)
		const budget = 250_000_007 // odd, so the fee rounds
		f := must(l.Fund(ctx, ledger.FundRequest{Key: "fund-hot", CampaignID: "cmp_hot", BrandID: "brd_hot", Amount: money.New(budget, money.EUR)}))(t)
		if f.ReducedFee || f.FeeBps != 2000 {
			t.Fatalf("hot campaign fee: %+v", f)
		}
		creators := []string{"crt_a", "crt_b", "crt_c", "crt_d", "crt_e", "crt_f"}
		caps := map[string]int64{"crt_a": 7_000_003, "crt_b": 20_000_000, "crt_c": 1} // others uncapped
		const workers = 64
		type call struct {
			items []ledger.AccrueItem
			batch bool
		}
		// Build every request up front (deterministically), so the
		// expected spend is known: min(budget, Σ uncapped + Σ min(cap, requests)).
		plans := make([][]call, workers)
		requested := map[string]int64{}
		var totalRequested int64
		for w := range plans {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for c := 0; c < 6; c++ {
				n := 1
				batch := c%2 == 1
				if batch {
					n = 1 + rng.IntN(6)
				}
				var items []ledger.AccrueItem
				for i := 0; i < n; i++ {
					cr := creators[rng.IntN(len(creators))]
					amount := 1 + rng.Int64N(8*budget/(workers*13)) // ~13 items per worker: ~4× the budget in all
					if rng.IntN(10) == 0 {
						amount = 1 + rng.Int64N(9) // tiny
					}
					items = append(items, ledger.AccrueItem{Key: fmt.Sprintf("w%d-c%d-i%d", w, c, i), CreatorID: cr, Amount: amount, Cap: caps[cr]})
					requested[cr] += amount
					totalRequested += amount
				}
				plans[w] = append(plans[w], call{items, batch})
			}
		}
		if totalRequested < 3*budget {
			t.Fatalf("requests sum to %d, want at least 3× the budget %d", totalRequested, budget)
		}
		var grantable int64
		for _, cr := range creators {
			if c := caps[cr]; c > 0 {
				grantable += min(c, requested[cr])
			} else {
				grantable += requested[cr]
			}
		}
		wantSpent := min(int64(budget), grantable)

		results := make([][]ledger.AccrueResult, workers)
		errc := make(chan error, workers)
		var start, done sync.WaitGroup
		start.Add(1)
		for w := range plans {
			done.Go(func() {
				start.Wait()
				for _, c := range plans[w] {
					if c.batch {
						rs, err := l.AccrueBatch(ctx, "cmp_hot", c.items)
						if err != nil {
							errc <- err
							return
						}
						results[w] = append(results[w], rs...)
					} else {
						r, err := l.Accrue(ctx, "cmp_hot", c.items[0])
						if err != nil {
							errc <- err
							return
						}
						results[w] = append(results[w], r)
					}
				}
			})
		}
		// Meanwhile the auditor reads snapshots: none may show a half-applied write.
		stop := make(chan struct{})
		var audits int
		var auditErr error
		var auditor sync.WaitGroup
		auditor.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				rep, err := l.Audit(ctx)
				if err != nil || !rep.OK() {
					auditErr = fmt.Errorf("audit during the storm: %v\n%s", err, rep)
					return
				}
				audits++
			}
		})
		start.Done()
		done.Wait()
		close(stop)
		auditor.Wait()
		close(errc)
		for err := range errc {
			t.Fatalf("accrual failed: %v", err)
		}
		if auditErr != nil {
			t.Fatal(auditErr)
		}
		if audits == 0 {
			t.Fatal("no audit ran during the storm")
		}

		var granted, fees, earned int64
		perCreator := map[string]int64{}
		earnedBy := map[string]int64{}
		n := 0
		for w := range results {
			for _, r := range results[w] {
				n++
				if r.Replayed || r.Granted < 0 || r.Fee < 0 || r.Earned < 0 || r.Granted != r.Fee+r.Earned || r.Granted > r.Requested {
					t.Fatalf("bad accrual result: %+v", r)
				}
				granted += r.Granted
				fees += r.Fee
				earned += r.Earned
				perCreator[r.CreatorID] += r.Granted
				earnedBy[r.CreatorID] += r.Earned
			}
		}
		st := must(l.Escrow(ctx, "cmp_hot"))(t)
		wantFees := money.FloorBps(wantSpent, 2000)
		if st.Spent != wantSpent || wantSpent != budget || st.Remaining != 0 || st.Fees != wantFees ||
			st.CreatorEarnings != wantSpent-wantFees || st.Funded != budget {
			t.Fatalf("escrow after the storm: %+v; want spent %d, fees %d, nothing left", st, wantSpent, wantFees)
		}
		if granted != st.Spent || fees != st.Fees || earned != st.CreatorEarnings {
			t.Fatalf("results grant %d (fees %d, earned %d), escrow says %+v", granted, fees, earned, st)
		}
		for _, cr := range creators {
			if c := caps[cr]; c > 0 && perCreator[cr] > c {
				t.Fatalf("creator %s got %d over the cap %d", cr, perCreator[cr], c)
			}
			b := must(l.Balance(ctx, cr, money.EUR))(t)
			if b.Held != earnedBy[cr] || b.Available != 0 || b.Debt != 0 {
				t.Fatalf("balance of %s: %+v, want held %d", cr, b, earnedBy[cr])
			}
		}
		if caps["crt_c"] == 1 && perCreator["crt_c"] > 1 {
			t.Fatalf("crt_c capped at 1 got %d", perCreator["crt_c"])
		}
		t.Logf("%s: %d accruals by %d goroutines asked %d for a budget of %d; %d audits ran meanwhile", storetest.Name(db), n, workers, totalRequested, budget, audits)
		// A late accrual gets nothing, and says why.
		r := must(l.Accrue(ctx, "cmp_hot", ledger.AccrueItem{Key: "late", CreatorID: "crt_f", Amount: 5}))(t)
		if r.Granted != 0 || !r.EscrowExhausted {
			t.Fatalf("late accrual: %+v", r)
		}
		requireAuditOK(t, l)
	})
}

// TestConcurrentFirstCampaignsGetOneReducedFee funds several campaigns of a
// new brand at once, many times: exactly one gets the reduced fee.
func TestConcurrentFirstCampaignsGetOneReducedFee(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		const trials = 25
		for trial := 0; trial < trials; trial++ {
			n := 2 + trial%3 // 2, 3 or 4 campaigns racing
			brand := fmt.Sprintf("brd_%d", trial)
			res := make([]ledger.FundResult, n)
			errList := make([]error, n)
			var start, done sync.WaitGroup
			start.Add(1)
			for i := 0; i < n; i++ {
				done.Go(func() {
					start.Wait()
					res[i], errList[i] = l.Fund(ctx, ledger.FundRequest{Key: fmt.Sprintf("f-%d-%d", trial, i),
						CampaignID: fmt.Sprintf("cmp_%d_%d", trial, i), BrandID: brand, Amount: money.New(1_000_000, money.USD)})
				})
			}
			start.Done()
			done.Wait()
			reduced := 0
			for i := 0; i < n; i++ {
				if errList[i] != nil {
					t.Fatalf("trial %d: fund %d: %v", trial, i, errList[i])
				}
				st := must(l.Escrow(ctx, fmt.Sprintf("cmp_%d_%d", trial, i)))(t)
				if st.ReducedFee != res[i].ReducedFee || st.FeeBps != res[i].FeeBps {
					t.Fatalf("trial %d: fund said %+v, escrow says %+v", trial, res[i], st)
				}
				switch {
				case st.ReducedFee && st.FeeBps == 1000:
					reduced++
				case !st.ReducedFee && st.FeeBps == 2000:
				default:
					t.Fatalf("trial %d: escrow %+v", trial, st)
				}
			}
			if reduced != 1 {
				t.Fatalf("trial %d: %d of %d concurrently funded campaigns got the reduced fee", trial, reduced, n)
			}
		}
		requireAuditOK(t, l)
	})
}

// TestConcurrentDuplicateKeys sends the same request with the same key from
// 16 goroutines at once: exactly one effect, and every caller sees the same
// transaction. The same key with different requests: exactly one wins, the
// others are told the key was reused.
func TestConcurrentDuplicateKeys(t *testing.T) {
	t.Parallel()
	const callers = 16
	// race runs fn from callers goroutines at once.
	race := func(fn func(i int)) {
		var start, done sync.WaitGroup
		start.Add(1)
		for i := 0; i < callers; i++ {
			done.Go(func() {
				start.Wait()
				fn(i)
			})
		}
		start.Done()
		done.Wait()
	}
	// oneEffect checks that exactly one caller applied the request and all
	// got the same transaction id.
	oneEffect := func(t *testing.T, what string, txIDs []string, replayed []bool, errList []error) {
		t.Helper()
		fresh := 0
		for i := range txIDs {
			if errList[i] != nil {
				t.Fatalf("%s: caller %d: %v", what, i, errList[i])
			}
			if txIDs[i] == "" || txIDs[i] != txIDs[0] {
				t.Fatalf("%s: callers got transactions %v", what, txIDs)
			}
			if !replayed[i] {
				fresh++
			}
		}
		if fresh != 1 {
			t.Fatalf("%s: %d callers applied the request, want exactly 1", what, fresh)
		}
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		txIDs, replayed, errList := make([]string, callers), make([]bool, callers), make([]error, callers)

		fund := ledger.FundRequest{Key: "pay-1", CampaignID: "cmp_dup", BrandID: "brd_dup", Amount: money.New(80_000_000, money.EUR), Reference: "psp-1"}
		race(func(i int) {
			r, err := l.Fund(ctx, fund)
			txIDs[i], replayed[i], errList[i] = r.TxID, r.Replayed, err
		})
		oneEffect(t, "Fund", txIDs, replayed, errList)
		if st := must(l.Escrow(ctx, "cmp_dup"))(t); st.Funded != 80_000_000 || st.Remaining != 80_000_000 {
			t.Fatalf("after 16 identical fundings: %+v", st)
		}

		item := ledger.AccrueItem{Key: "views-1", CreatorID: "crt_1", Amount: 12_345_678}
		race(func(i int) {
			var r ledger.AccrueResult
			var err error
			if i%2 == 0 {
				r, err = l.Accrue(ctx, "cmp_dup", item)
			} else {
				var rs []ledger.AccrueResult
				rs, err = l.AccrueBatch(ctx, "cmp_dup", []ledger.AccrueItem{{Key: fmt.Sprintf("other-%d", i), CreatorID: "crt_2", Amount: 1}, item})
				if err == nil {
					r = rs[1]
				}
			}
			txIDs[i], replayed[i], errList[i] = r.TxID, r.Replayed, err
		})
		oneEffect(t, "Accrue", txIDs, replayed, errList)
		st := must(l.Escrow(ctx, "cmp_dup"))(t)
		if st.Spent != 12_345_678+callers/2 {
			t.Fatalf("after 16 identical accruals (and 8 other ones of 1): %+v", st)
		}

		must(l.Release(ctx, ledger.ReleaseRequest{Key: "rel-1", CampaignID: "cmp_dup", CreatorID: "crt_1", Amount: 5_000_000}))(t)
		hold := ledger.PayoutRequest{Key: "po-1", CreatorID: "crt_1", Amount: money.New(4_000_000, money.EUR)}
		holdIDs := make([]string, callers)
		race(func(i int) {
			r, err := l.HoldPayout(ctx, hold)
			txIDs[i], replayed[i], errList[i], holdIDs[i] = r.TxID, r.Replayed, err, r.HoldID
		})
		oneEffect(t, "HoldPayout", txIDs, replayed, errList)
		for _, h := range holdIDs {
			if h != holdIDs[0] {
				t.Fatalf("callers got holds %v", holdIDs)
			}
		}
		if b := must(l.Balance(ctx, "crt_1", money.EUR))(t); b.PendingPayout != 4_000_000 || b.Available != 1_000_000 {
			t.Fatalf("after 16 identical payout holds: %+v", b)
		}

		// The same key for 16 different fundings: one wins, the rest conflict.
		race(func(i int) {
			r, err := l.Fund(ctx, ledger.FundRequest{Key: "pay-2", CampaignID: "cmp_dup", BrandID: "brd_dup",
				Amount: money.New(int64(1_000_000*(i+1)), money.EUR), Reference: "psp-2"})
			txIDs[i], replayed[i], errList[i] = r.TxID, r.Replayed, err
		})
		won := -1
		for i, err := range errList {
			switch {
			case err == nil && !replayed[i]:
				if won >= 0 {
					t.Fatalf("callers %d and %d both applied key pay-2", won, i)
				}
				won = i
			case errs.CodeOf(err) != "idempotency_key_reused":
				t.Fatalf("caller %d: %+v, %v; want idempotency_key_reused", i, txIDs[i], err)
			}
		}
		if won < 0 {
			t.Fatal("nobody applied key pay-2")
		}
		if st := must(l.Escrow(ctx, "cmp_dup"))(t); st.Funded != 80_000_000+int64(1_000_000*(won+1)) {
			t.Fatalf("escrow after the conflicting fundings (winner %d): %+v", won, st)
		}
		requireAuditOK(t, l)
	})
}

// TestConcurrentPayoutHoldsNeverOverdraw races payout holds (and
// clawbacks, which take from available what payouts have not reserved) for
// the same available balance.
func TestConcurrentPayoutHoldsNeverOverdraw(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		must(l.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_p", BrandID: "brd_p", Amount: money.New(1_000_000_000, money.EUR)}))(t)
		const trials = 20
		for trial := 0; trial < trials; trial++ {
			cr := fmt.Sprintf("crt_%d", trial)
			// 10 % fee, cumulative over the campaign: the creator earns about 10_000_001.
			a := must(l.Accrue(ctx, "cmp_p", ledger.AccrueItem{Key: "acc-" + cr, CreatorID: cr, Amount: 11_111_112}))(t)
			must(l.Release(ctx, ledger.ReleaseRequest{Key: "rel-" + cr, CampaignID: "cmp_p", CreatorID: cr, Amount: a.Earned}))(t)
			avail := a.Earned
			// Two holds of 60 % each race: exactly one fits. Then 16 of 15 %
			// race for the rest, and a clawback races them for it.
			big := avail * 6 / 10
			small := avail * 15 / 100
			var mu sync.Mutex
			var held int64
			var okBig, okSmall int
			var done sync.WaitGroup
			try := func(start *sync.WaitGroup, key string, amount int64, ok *int) {
				start.Wait()
				_, err := l.HoldPayout(ctx, ledger.PayoutRequest{Key: key, CreatorID: cr, Amount: money.New(amount, money.EUR)})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					held += amount
					*ok++
				case errs.CodeOf(err) != ledger.ErrInsufficientFunds:
					t.Errorf("hold %s: %v", key, err)
				}
			}
			var start1 sync.WaitGroup
			start1.Add(1)
			for i := 0; i < 2; i++ {
				done.Go(func() { try(&start1, fmt.Sprintf("big-%s-%d", cr, i), big, &okBig) })
			}
			start1.Done()
			done.Wait()
			if okBig != 1 {
				t.Fatalf("trial %d: %d holds of %d fit in %d", trial, okBig, big, avail)
			}
			var clawed ledger.ClawbackResult
			var clawErr error
			var start2 sync.WaitGroup
			start2.Add(1)
			for i := 0; i < 16; i++ {
				done.Go(func() { try(&start2, fmt.Sprintf("small-%s-%d", cr, i), small, &okSmall) })
			}
			done.Go(func() {
				start2.Wait()
				// Takes the held part first (none left), then from available what is not reserved.
				clawed, clawErr = l.Clawback(ctx, ledger.ClawbackRequest{Key: "cb-" + cr, CampaignID: "cmp_p", CreatorID: cr, Amount: 1_111_112})
			})
			start2.Done()
			done.Wait()
			if clawErr != nil {
				t.Fatalf("trial %d: clawback: %v", trial, clawErr)
			}
			b := must(l.Balance(ctx, cr, money.EUR))(t)
			share := clawed.Amount - clawed.FeeReversed
			if clawed.FromHeld != 0 || clawed.FromAvailable+clawed.ToDebt != share {
				t.Fatalf("trial %d: clawback %+v", trial, clawed)
			}
			if b.PendingPayout != held || b.Available < 0 || b.Available != avail-held-clawed.FromAvailable || b.Debt != clawed.ToDebt {
				t.Fatalf("trial %d: balance %+v; held %d of %d, clawback %+v", trial, b, held, avail, clawed)
			}
			if held > avail || held+clawed.FromAvailable > avail {
				t.Fatalf("trial %d: overdrawn: held %d + clawed %d > available %d", trial, held, clawed.FromAvailable, avail)
			}
			// Without the clawback, floor((avail-big)/small) small holds would fit; with
			// it, fewer may; never more.
			if most := (avail - big) / small; int64(okSmall) > most {
				t.Fatalf("trial %d: %d small holds fit, at most %d can", trial, okSmall, most)
			}
		}
		requireAuditOK(t, l)
	})
}
