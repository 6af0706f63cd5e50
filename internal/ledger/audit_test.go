package ledger_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// tb is what the helpers need of *testing.T and *rapid.T.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

// must returns v, failing t when err is not nil: must(l.Fund(ctx, req))(t).
func must[T any](v T, err error) func(t tb) T {
	return func(t tb) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// execSQL runs statements in one write transaction (to corrupt a database on purpose).
func execSQL(t tb, db *store.DB, query string, args ...any) {
	t.Helper()
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.ExecContext(context.Background(), query, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func mustAudit(t tb, l *ledger.Ledger) ledger.AuditReport {
	t.Helper()
	rep, err := l.Audit(context.Background())
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	return rep
}

func requireAuditOK(t tb, l *ledger.Ledger) {
	t.Helper()
	if rep := mustAudit(t, l); !rep.OK() {
		t.Fatalf("audit found violations:\n%s", rep)
	}
}

// auditFixture builds a ledger touching every account kind and hold state:
// two brands, EUR and USD escrows, accruals, releases, payouts that are
// posted, partly posted, voided, expired and still pending, a clawback into
// debt, and a closed campaign with a clawback after close.
func auditFixture(t *testing.T, db *store.DB) *ledger.Ledger {
	t.Helper()
	ctx := context.Background()
	l, clk := newLedger(t, db)
	eur := func(m int64) money.Amount { return money.New(m, money.EUR) }
	must(l.Fund(ctx, ledger.FundRequest{Key: "fund-a", CampaignID: "cmp_a", BrandID: "brd_a", Amount: eur(100_000_000)}))(t)
	must(l.Fund(ctx, ledger.FundRequest{Key: "fund-b", CampaignID: "cmp_b", BrandID: "brd_a", Amount: eur(50_000_000)}))(t)
	must(l.Fund(ctx, ledger.FundRequest{Key: "fund-c", CampaignID: "cmp_c", BrandID: "brd_b", Amount: money.New(70_000_000, money.USD)}))(t)
	must(l.AccrueBatch(ctx, "cmp_a", []ledger.AccrueItem{
		{Key: "acc-a1", CreatorID: "crt_1", Amount: 40_000_001},
		{Key: "acc-a2", CreatorID: "crt_2", Amount: 10_000_003, Cap: 5_000_000},
	}))(t)
	must(l.Accrue(ctx, "cmp_b", ledger.AccrueItem{Key: "acc-b1", CreatorID: "crt_1", Amount: 20_000_000}))(t)
	must(l.Accrue(ctx, "cmp_c", ledger.AccrueItem{Key: "acc-c1", CreatorID: "crt_1", Amount: 9_999_999}))(t)
	must(l.Release(ctx, ledger.ReleaseRequest{Key: "rel-a1", CampaignID: "cmp_a", CreatorID: "crt_1", Amount: 30_000_000}))(t)
	must(l.Release(ctx, ledger.ReleaseRequest{Key: "rel-c1", CampaignID: "cmp_c", CreatorID: "crt_1", Amount: 5_000_000}))(t)
	h1 := must(l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-1", CreatorID: "crt_1", Amount: eur(10_000_000)}))(t)
	must(l.PostHold(ctx, "po-1-post", h1.HoldID, 0))(t)
	h2 := must(l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-2", CreatorID: "crt_1", Amount: eur(3_000_000)}))(t)
	must(l.PostHold(ctx, "po-2-post", h2.HoldID, 1_000_000))(t)
	h3 := must(l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-3", CreatorID: "crt_1", Amount: eur(2_000_000)}))(t)
	must(l.VoidHold(ctx, "po-3-void", h3.HoldID))(t)
	must(l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-4", CreatorID: "crt_1", Amount: eur(4_000_000), ExpiresAt: clk.Now().Add(time.Hour)}))(t)
	clk.Advance(2 * time.Hour)
	if n := must(l.ExpireHolds(ctx))(t); n != 1 {
		t.Fatalf("expired %d holds, want 1", n)
	}
	must(l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-5", CreatorID: "crt_1", Amount: eur(5_000_000)}))(t)
	must(l.HoldPayout(ctx, ledger.PayoutRequest{Key: "po-6", CreatorID: "crt_1", Amount: money.New(4_000_000, money.USD)}))(t)
	// crt_1 in cmp_a: held 36_000_001 - 30_000_000 = 6_000_001 (10 % fee on brd_a's first campaign).
	// Clawing back 40_000_001 takes the held 6_000_001, then available, then debt.
	c := must(l.Clawback(ctx, ledger.ClawbackRequest{Key: "cb-a1", CampaignID: "cmp_a", CreatorID: "crt_1", Amount: 40_000_001}))(t)
	if c.ToDebt == 0 {
		t.Fatalf("fixture clawback did not create debt: %+v", c)
	}
	must(l.Close(ctx, "close-b", "cmp_b"))(t)
	must(l.Clawback(ctx, ledger.ClawbackRequest{Key: "cb-b1", CampaignID: "cmp_b", CreatorID: "crt_1", Amount: 1_000_000}))(t)
	return l
}

func TestAuditEmptyLedger(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		l, _ := newLedger(t, db)
		rep := mustAudit(t, l)
		if !rep.OK() || len(rep.Checked) != 7 {
			t.Fatalf("empty ledger: %+v", rep)
		}
	})
}

// TestAuditDetectsCorruption corrupts a healthy ledger one way at a time and
// expects the audit to name the broken invariant; undoing the corruption
// must make the audit pass again.
func TestAuditDetectsCorruption(t *testing.T) {
	t.Parallel()
	txOf := func(key string) string {
		return `(SELECT id FROM ledger_transactions WHERE idem_key = '` + key + `')`
	}
	type sqlStep struct {
		query string
		args  []any
	}
	cases := []struct {
		name string
		do   []sqlStep
		undo []sqlStep
		want []string // each must be a substring of some violation
	}{
		{
			name: "unbalanced entry",
			do:   []sqlStep{{`UPDATE ledger_entries SET amount = amount + 1 WHERE tx_id = ` + txOf("fund-a") + ` AND seq = 1`, nil}},
			undo: []sqlStep{{`UPDATE ledger_entries SET amount = amount - 1 WHERE tx_id = ` + txOf("fund-a") + ` AND seq = 1`, nil}},
			want: []string{"[1] transaction ltx_", "EUR entries sum to 0.000001, not zero", "[2] account escrow:cmp_a: posted is 95.000000 but its entries sum to 95.000001"},
		},
		{
			name: "entry in another currency",
			do:   []sqlStep{{`UPDATE ledger_entries SET currency = 'USD' WHERE tx_id = ` + txOf("fund-a") + ` AND seq = 1`, nil}},
			undo: []sqlStep{{`UPDATE ledger_entries SET currency = 'EUR' WHERE tx_id = ` + txOf("fund-a") + ` AND seq = 1`, nil}},
			want: []string{"mixes currencies (EUR … USD)", "[2] account escrow:cmp_a is in EUR but has entries in EUR … USD"},
		},
		{
			name: "entry of an unrecorded transaction",
			// (An accrual's entries are inline in its transaction row, so
			// they cannot lose it; a funding's are in ledger_entries.)
			do:   []sqlStep{{`UPDATE ledger_entries SET tx_id = 'ltx_ghost' WHERE tx_id = ` + txOf("fund-b"), nil}},
			undo: []sqlStep{{`UPDATE ledger_entries SET tx_id = ` + txOf("fund-b") + ` WHERE tx_id = 'ltx_ghost'`, nil}},
			want: []string{"[1] entries belong to transaction ltx_ghost, which is not recorded"},
		},
		{
			name: "entry on a missing account",
			// (An accrual's row names its held account by its campaign and creator.)
			do:   []sqlStep{{`UPDATE ledger_transactions SET creator_id = 'ghost' WHERE idem_key = 'acc-c1'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_transactions SET creator_id = 'crt_1' WHERE idem_key = 'acc-c1'`, nil}},
			want: []string{"[2] 1 USD entries summing to 9.000000 post to account held:cmp_c:ghost, which does not exist",
				"[2] account held:cmp_c:crt_1: posted is 4.000000 but its entries sum to -5.000000"},
		},
		{
			name: "posted without entries",
			do:   []sqlStep{{`UPDATE ledger_accounts SET posted = 2 WHERE id = 'ext:payouts:USD'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_accounts SET posted = 0 WHERE id = 'ext:payouts:USD'`, nil}},
			want: []string{"[2] account ext:payouts:USD: posted is 0.000002 but it has no entries", "[7] USD: external payouts account holds 0.000002, but posted payout holds total 0.000000"},
		},
		{
			name: "posted drifts from entries",
			do:   []sqlStep{{`UPDATE ledger_accounts SET posted = posted + 5 WHERE id = 'held:cmp_c:crt_1'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_accounts SET posted = posted - 5 WHERE id = 'held:cmp_c:crt_1'`, nil}},
			want: []string{"[2] account held:cmp_c:crt_1: posted is", "[7] USD: account balances sum to 0.000005, not zero"},
		},
		{
			name: "pending_out drifts from holds",
			do:   []sqlStep{{`UPDATE ledger_accounts SET pending_out = pending_out - 1 WHERE id = 'available:crt_1:EUR'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_accounts SET pending_out = pending_out + 1 WHERE id = 'available:crt_1:EUR'`, nil}},
			want: []string{"[2] account available:crt_1:EUR: pending_out is 4.999999 but its pending holds debit 5.000000"},
		},
		{
			name: "bounded account marked unbounded",
			do:   []sqlStep{{`UPDATE ledger_accounts SET bounded = $1 WHERE id = 'escrow:cmp_a'`, []any{false}}},
			undo: []sqlStep{{`UPDATE ledger_accounts SET bounded = $1 WHERE id = 'escrow:cmp_a'`, []any{true}}},
			want: []string{`[2] account escrow:cmp_a of kind "escrow" has bounded = false`},
		},
		{
			name: "escrow fees off by one",
			do:   []sqlStep{{`UPDATE ledger_escrows SET fees = fees + 1 WHERE campaign_id = 'cmp_c'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_escrows SET fees = fees - 1 WHERE campaign_id = 'cmp_c'`, nil}},
			want: []string{"[3/4] escrow cmp_c: fees account holds 0.999999, but the escrow records fees of 1.000000",
				"[3/4] escrow cmp_c: fees are 1.000000, but floor(spent 9.999999 × 1000 bps / 10000) = 0.999999",
				"[3/4] escrow cmp_c: creators' earnings sum to 9.000000, but spent 9.999999 - fees 1.000000 = 8.999999"},
		},
		{
			name: "escrow funded drifts",
			do:   []sqlStep{{`UPDATE ledger_escrows SET funded = funded + 7 WHERE campaign_id = 'cmp_a'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_escrows SET funded = funded - 7 WHERE campaign_id = 'cmp_a'`, nil}},
			want: []string{"[3/4] escrow cmp_a: escrow account holds", "[7] EUR: external funding account paid in 150.000000, but escrows record 150.000007 funded"},
		},
		{
			name: "creator spend drifts",
			do:   []sqlStep{{`UPDATE ledger_campaign_creators SET spent = spent + 1 WHERE campaign_id = 'cmp_a' AND creator_id = 'crt_2'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_campaign_creators SET spent = spent - 1 WHERE campaign_id = 'cmp_a' AND creator_id = 'crt_2'`, nil}},
			want: []string{"[3/4] escrow cmp_a: creators' spent sums to 5.000001, but the escrow spent 5.000000"},
		},
		{
			name: "closed escrow not empty",
			do: []sqlStep{
				{`UPDATE ledger_accounts SET posted = posted + 3 WHERE id = 'escrow:cmp_b'`, nil},
				{`UPDATE ledger_accounts SET posted = posted - 3 WHERE id = 'ext:refunds:EUR'`, nil},
			},
			undo: []sqlStep{
				{`UPDATE ledger_accounts SET posted = posted - 3 WHERE id = 'escrow:cmp_b'`, nil},
				{`UPDATE ledger_accounts SET posted = posted + 3 WHERE id = 'ext:refunds:EUR'`, nil},
			},
			want: []string{"[3/4] escrow cmp_b is closed but its escrow account still holds 0.000003"},
		},
		{
			name: "two reduced-fee escrows",
			do:   []sqlStep{{`UPDATE ledger_escrows SET reduced_fee = $1 WHERE campaign_id = 'cmp_b'`, []any{true}}},
			undo: []sqlStep{{`UPDATE ledger_escrows SET reduced_fee = $1 WHERE campaign_id = 'cmp_b'`, []any{false}}},
			want: []string{"[5] brand brd_a has 2 reduced-fee escrows", "[5] escrow cmp_b of brand brd_a has the reduced fee but is not the brand's first campaign"},
		},
		{
			name: "first campaign lost",
			do:   []sqlStep{{`DELETE FROM ledger_first_campaigns WHERE brand_id = 'brd_b'`, nil}},
			undo: []sqlStep{{`INSERT INTO ledger_first_campaigns (brand_id, campaign_id) VALUES ('brd_b', 'cmp_c')`, nil}},
			want: []string{"[5] brand brd_b has escrows but no first (reduced-fee) campaign", "[5] escrow cmp_c of brand brd_b has the reduced fee but is not the brand's first campaign"},
		},
		{
			name: "first campaign without an escrow",
			do:   []sqlStep{{`INSERT INTO ledger_first_campaigns (brand_id, campaign_id) VALUES ('brd_ghost', 'cmp_ghost')`, nil}},
			undo: []sqlStep{{`DELETE FROM ledger_first_campaigns WHERE brand_id = 'brd_ghost'`, nil}},
			want: []string{"[5] brand brd_ghost's first campaign cmp_ghost has no escrow of that brand"},
		},
		{
			name: "release relabelled",
			do:   []sqlStep{{`UPDATE ledger_transactions SET kind = 'fund' WHERE idem_key = 'rel-c1'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_transactions SET kind = 'release' WHERE idem_key = 'rel-c1'`, nil}},
			want: []string{"[6] available account available:crt_1:USD has 1 entries from transactions other than release",
				"[6] available account available:crt_1:USD: paid out 0.000000 + pending payouts 4.000000 exceed released 0.000000 - clawed back 0.000000"},
		},
		{
			name: "pending hold grows",
			do:   []sqlStep{{`UPDATE ledger_holds SET amount = amount + 900000000 WHERE state = 'pending' AND currency = 'EUR'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_holds SET amount = amount - 900000000 WHERE state = 'pending' AND currency = 'EUR'`, nil}},
			want: []string{"[2] account available:crt_1:EUR: pending_out is 5.000000 but its pending holds debit 905.000000",
				"[6] available account available:crt_1:EUR: paid out 11.000000 + pending payouts 905.000000 exceed released"},
		},
		{
			name: "pending hold with a posted amount",
			do:   []sqlStep{{`UPDATE ledger_holds SET posted_amount = 1 WHERE state = 'pending' AND currency = 'EUR'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_holds SET posted_amount = 0 WHERE state = 'pending' AND currency = 'EUR'`, nil}},
			want: []string{"[9] hold hld_", "is inconsistent: state pending, amount 5.000000, posted 0.000001"},
		},
		{
			name: "hold resolved twice",
			do: []sqlStep{{`INSERT INTO ledger_transactions (id, idem_key, request_hash, kind, result, created_at)
				VALUES ('ltx_twice', 'po-1-post-again', 'x', 'hold_post', '{}', 1)`, nil}},
			undo: []sqlStep{{`DELETE FROM ledger_transactions WHERE id = 'ltx_twice'`, nil}},
			want: []string{"[9] 3 hold_post transactions but 2 posted holds"},
		},
		{
			name: "expired hold that never expired",
			do:   []sqlStep{{`UPDATE ledger_holds SET expires_at = 0 WHERE state = 'expired'`, nil}},
			undo: []sqlStep{{`UPDATE ledger_holds SET expires_at = resolved_at - 3600000000 WHERE state = 'expired'`, nil}},
			want: []string{"[9] hold hld_", "is inconsistent: state expired"},
		},
		{
			name: "positive debt",
			do: []sqlStep{
				{`UPDATE ledger_accounts SET posted = -posted WHERE id = 'debt:crt_1:EUR'`, nil},
				{`UPDATE ledger_entries SET amount = -amount WHERE account_id = 'debt:crt_1:EUR'`, nil},
			},
			undo: []sqlStep{
				{`UPDATE ledger_accounts SET posted = -posted WHERE id = 'debt:crt_1:EUR'`, nil},
				{`UPDATE ledger_entries SET amount = -amount WHERE account_id = 'debt:crt_1:EUR'`, nil},
			},
			want: []string{"[9] debt account debt:crt_1:EUR is positive"},
		},
	}
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		l := auditFixture(t, db)
		requireAuditOK(t, l)
		for _, c := range cases {
			for _, s := range c.do {
				execSQL(t, db, s.query, s.args...)
			}
			rep := mustAudit(t, l)
			if rep.OK() {
				t.Fatalf("%s: audit passed a corrupted ledger", c.name)
			}
			all := strings.Join(rep.Violations, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("%s: no violation mentions %q; got:\n%s", c.name, w, all)
				}
			}
			for _, s := range c.undo {
				execSQL(t, db, s.query, s.args...)
			}
			if rep := mustAudit(t, l); !rep.OK() {
				t.Fatalf("%s: audit still fails after undoing the corruption:\n%s", c.name, rep)
			}
		}
	})
}

// TestAuditCapsViolations checks that a badly broken ledger gives a bounded report.
func TestAuditCapsViolations(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		must(l.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_x", BrandID: "brd_x", Amount: money.New(1_000_000_000, money.EUR)}))(t)
		items := make([]ledger.AccrueItem, 300)
		for i := range items {
			items[i] = ledger.AccrueItem{Key: "k" + string(rune('a'+i/26)) + string(rune('a'+i%26)), CreatorID: "crt_1", Amount: 1000}
		}
		must(l.AccrueBatch(ctx, "cmp_x", items))(t)
		requireAuditOK(t, l)
		// (Each accrual's held credit is in its row.)
		execSQL(t, db, `UPDATE ledger_transactions SET held_amount = held_amount + 1 WHERE kind = 'accrue' AND campaign_id = 'cmp_x' AND creator_id = 'crt_1'`)
		rep := mustAudit(t, l)
		var unbalanced int
		for _, v := range rep.Violations {
			if strings.HasPrefix(v, "[1] transaction ") {
				unbalanced++
			}
		}
		if unbalanced != 100 {
			t.Errorf("listed %d unbalanced transactions, want the cap of 100", unbalanced)
		}
		if !strings.Contains(strings.Join(rep.Violations, "\n"), "[1] … and 200 more violations of this invariant") {
			t.Errorf("no summary of the suppressed violations:\n%s", rep)
		}
	})
}

// TestAuditFeeFormulaMatchesFloorBps: the audit finds wrong fees with a SQL
// formula; on both databases it must equal money.FloorBps for every spend
// that fits int64 and every fee from 0 to 100 %.
func TestAuditFeeFormulaMatchesFloorBps(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		query := "SELECT " + ledger.SQLFloorBps("CAST($1 AS BIGINT)", "CAST($2 AS BIGINT)")
		check := func(t tb, spent, bps int64) {
			var got int64
			if err := db.Read().QueryRowContext(context.Background(), query, spent, bps).Scan(&got); err != nil {
				t.Fatalf("floor(%d × %d / 10000) in SQL: %v", spent, bps, err)
			}
			if want := money.FloorBps(spent, bps); got != want {
				t.Fatalf("floor(%d × %d / 10000): SQL says %d, money.FloorBps %d", spent, bps, got, want)
			}
		}
		for _, c := range [][2]int64{{0, 0}, {math.MaxInt64, 10000}, {math.MaxInt64, 9999}, {math.MaxInt64, 1}, {9999, 1}, {10001, 9999}, {33_333_333, 1000}} {
			check(t, c[0], c[1])
		}
		rapid.Check(t, func(t *rapid.T) {
			check(t, rapid.Int64Range(0, math.MaxInt64).Draw(t, "spent"), rapid.Int64Range(0, 10000).Draw(t, "bps"))
		})
	})
}
