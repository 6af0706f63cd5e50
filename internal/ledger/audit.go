package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// AuditReport is the outcome of Audit: the checks it ran and, in words, every
// violation it found (at most maxAuditViolations per check are listed; the
// rest are counted).
type AuditReport struct {
	Checked    []string `json:"checked"`
	Violations []string `json:"violations"`
}

// OK reports whether the audit found no violation.
func (r AuditReport) OK() bool { return len(r.Violations) == 0 }

// String is the report as an operator reads it: one line per violation.
func (r AuditReport) String() string {
	var b strings.Builder
	if r.OK() {
		fmt.Fprintf(&b, "ledger audit OK (%d checks)", len(r.Checked))
		return b.String()
	}
	fmt.Fprintf(&b, "ledger audit FAILED: %d violation(s) in %d checks", len(r.Violations), len(r.Checked))
	for _, v := range r.Violations {
		b.WriteString("\n  - ")
		b.WriteString(v)
	}
	return b.String()
}

// maxAuditViolations bounds how many violations one check lists; a badly
// broken database would otherwise produce a report as large as itself.
const maxAuditViolations = 100

// auditCheck is one invariant (numbered as in the ledger's rules) checked
// from stored state.
type auditCheck struct {
	name string
	run  func(a *auditor, ctx context.Context) error
}

var auditChecks = []auditCheck{
	{"1 every transaction's entries sum to zero per currency, use one currency, and post to existing accounts of that currency", (*auditor).checkTransactions},
	{"2 each account's posted equals the sum of its entries, pending_out/pending_in equal its pending holds, bounded accounts are not overdrawn, debt accounts are never positive", (*auditor).checkAccounts},
	{"3/4 per escrow: escrow account = funded - spent - refunded, fees account = fees = floor(spent*fee_bps/10000), creators' spent sums to spent and earned to spent - fees, a closed escrow is empty", (*auditor).checkEscrows},
	{"5 each brand with escrows has exactly one reduced-fee escrow, and it is the one in ledger_first_campaigns", (*auditor).checkReducedFee},
	{"6 per creator and currency: paid out (less reversals) + pending payouts <= released to available - clawed back from available (by clawbacks and debt repayments)", (*auditor).checkPayouts},
	{"7 per currency: all account balances sum to zero (funded = escrows + creator held/available/debt + fees + paid out + refunded; the external payouts account = posted payouts less their reversals)", (*auditor).checkCurrencies},
	{"9 holds: posted_amount <= amount, 0 <= reversed_amount <= posted_amount (reversed only on posted payouts), states consistent, accounts and creating transaction exist, each resolved at most once", (*auditor).checkHolds},
}

// Audit checks, on the database, every ledger invariant that can be checked
// from stored state (see AuditReport.Checked for the list), and returns a
// report naming each violation in words. It reads one consistent snapshot
// (a read-only REPEATABLE READ transaction on PostgreSQL, a read transaction
// on SQLite), so it can run beside live writers without blocking them and
// without seeing half-applied writes. The work is done by aggregate queries
// (prepared once per database); Go only formats the rows that violate an
// invariant (and the per-currency and per-kind totals). Amounts are summed as BIGINT, so a database whose
// sums do not fit int64 micro-units makes the audit fail with an error.
//
// Invariants about operations rather than state (a replay or a rejected
// write changes nothing, entries are append-only, retries are exactly-once)
// cannot be seen in stored state; the tests check those.
//
// It returns an error only when the database fails; a broken ledger is a
// report whose OK() is false. It backs the operator command
// `payper admin audit`.
func (l *Ledger) Audit(ctx context.Context) (AuditReport, error) {
	var rep AuditReport
	q, done, err := l.auditSnapshot(ctx)
	if err != nil {
		return AuditReport{}, err
	}
	defer done()
	a := &auditor{q: q}
	a.tx, _ = q.(*sql.Tx)
	a.pool = auditPoolFor(l.db.ReadPool())
	for _, c := range auditChecks {
		rep.Checked = append(rep.Checked, c.name)
		a.begin(c.name)
		if err := c.run(a, ctx); err != nil {
			return AuditReport{}, fmt.Errorf("ledger: audit (invariant %s): %w", c.name[:strings.IndexByte(c.name, ' ')], err)
		}
		a.end()
	}
	rep.Violations = a.violations
	return rep, nil
}

// auditSnapshot opens a read-only transaction on the read pool.
func (l *Ledger) auditSnapshot(ctx context.Context) (store.Queryer, func(), error) {
	b := l.db.ReadPool()
	opts := &sql.TxOptions{ReadOnly: true}
	if l.db.Dialect() == store.Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := b.BeginTx(ctx, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("ledger: audit: begin read transaction: %w", err)
	}
	return tx, func() { _ = tx.Rollback() }, nil
}

type auditor struct {
	q          store.Queryer
	tx         *sql.Tx    // the snapshot, when there is one
	pool       *auditPool // prepared statements on the read pool
	violations []string

	check      string // current check's number, prefixed to its violations
	n          int    // violations found by the current check
	suppressed int
}

func (a *auditor) begin(name string) {
	a.check, a.n, a.suppressed = name[:strings.IndexByte(name, ' ')], 0, 0
}

func (a *auditor) end() {
	if a.suppressed > 0 {
		a.violations = append(a.violations, fmt.Sprintf("[%s] … and %d more violations of this invariant", a.check, a.suppressed))
	}
}

func (a *auditor) violate(format string, args ...any) {
	a.violatef(a.check, format, args...)
}

// violatef records a violation of the invariant numbered check (a query
// run for one check may find violations of another).
func (a *auditor) violatef(check, format string, args ...any) {
	a.n++
	if a.n > maxAuditViolations {
		a.suppressed++
		return
	}
	a.violations = append(a.violations, "["+check+"] "+fmt.Sprintf(format, args...))
}

// each runs query and calls fn after scanning every row into dest.
func (a *auditor) each(ctx context.Context, query string, dest []any, fn func(), args ...any) error {
	var rows *sql.Rows
	var err error
	if st := a.stmt(ctx, query); st != nil {
		defer st.Close()
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = a.q.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		fn()
	}
	return rows.Err()
}

// stmt returns query prepared on the read pool and bound to the audit's
// transaction, or nil when it cannot be (the query then runs unprepared).
func (a *auditor) stmt(ctx context.Context, query string) *sql.Stmt {
	if a.pool == nil || a.tx == nil {
		return nil
	}
	st := a.pool.stmt(ctx, query)
	if st == nil {
		return nil
	}
	return a.tx.StmtContext(ctx, st)
}

// auditPools caches the audit's prepared statements per read pool, so an
// audit run often (by a monitor, or by tests after every operation) does not
// parse and plan its queries every time; on SQLite that is most of the cost
// of auditing a small ledger. It remembers the maxAuditPools most recently
// audited pools; a forgotten pool's statements are not closed (an audit may
// still be using them) and go when the pool closes.
var auditPools struct {
	sync.Mutex
	pools []*auditPool // most recently used first
}

const maxAuditPools = 8

type auditPool struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func auditPoolFor(db *sql.DB) *auditPool {
	auditPools.Lock()
	defer auditPools.Unlock()
	ps := auditPools.pools
	for i, p := range ps {
		if p.db == db {
			copy(ps[1:i+1], ps[:i])
			ps[0] = p
			return p
		}
	}
	p := &auditPool{db: db, stmts: map[string]*sql.Stmt{}}
	if len(ps) < maxAuditPools {
		ps = append(ps, nil)
	}
	copy(ps[1:], ps)
	ps[0] = p
	auditPools.pools = ps
	return p
}

func (p *auditPool) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.Lock()
	st := p.stmts[query]
	p.mu.Unlock()
	if st != nil {
		return st
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev := p.stmts[query]; prev != nil {
		st.Close()
		return prev
	}
	p.stmts[query] = st
	return st
}

// fm formats micro-units for a violation message.
func fm(m int64) string { return money.FormatMicros(m) }

func sqlList(vals ...string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + v + "'" // only package constants, never input
	}
	return "(" + strings.Join(q, ", ") + ")"
}

var boundedKinds = sqlList(AccEscrow, AccFees, AccHeld, AccAvailable)

// sqlFalse is a boolean false on both databases (SQLite stores booleans as 0 and 1).
const sqlFalse = "(1 = 0)"

func (a *auditor) checkTransactions(ctx context.Context) error {
	var txID, curMin, curMax string
	var sum int64
	var unrecorded bool
	// Grouped by transaction, then joined: one seek per transaction, not per entry.
	return a.each(ctx, `SELECT s.tx_id, s.total, s.cmin, s.cmax, t.id IS NULL FROM
			(SELECT tx_id, CAST(SUM(amount) AS BIGINT) AS total, MIN(currency) AS cmin, MAX(currency) AS cmax
			 FROM ledger_all_entries GROUP BY tx_id) s
		LEFT JOIN ledger_transactions t ON t.id = s.tx_id
		WHERE s.total <> 0 OR s.cmin <> s.cmax OR t.id IS NULL ORDER BY s.tx_id`,
		[]any{&txID, &sum, &curMin, &curMax, &unrecorded}, func() {
			if curMin != curMax {
				a.violate("transaction %s mixes currencies (%s … %s); its entries sum to %s", txID, curMin, curMax, fm(sum))
			} else if sum != 0 {
				a.violate("transaction %s: %s entries sum to %s, not zero", txID, curMin, fm(sum))
			}
			if unrecorded {
				a.violate("entries belong to transaction %s, which is not recorded", txID)
			}
		})
}

func (a *auditor) checkAccounts(ctx context.Context) error {
	var id, kind, cur, curMin, curMax string
	var sum, posted, pout, hout, pin, hin int64
	var bounded, hasEntries bool
	// Each account against the sum and currencies of its entries, its
	// pending holds, its bounds and its kind. (Joins on grouped subqueries,
	// not correlated subqueries: one pass over entries and one over holds.)
	if err := a.each(ctx, `SELECT a.id, a.kind, a.currency, a.bounded, a.posted,
			s.account_id IS NOT NULL, COALESCE(s.total, 0), COALESCE(s.cmin, ''), COALESCE(s.cmax, ''),
			a.pending_out, COALESCE(h.out_total, 0), a.pending_in, COALESCE(h.in_total, 0)
		FROM ledger_accounts a
		LEFT JOIN (SELECT account_id, CAST(SUM(amount) AS BIGINT) AS total, MIN(currency) AS cmin, MAX(currency) AS cmax
			FROM ledger_all_entries GROUP BY account_id) s ON s.account_id = a.id
		LEFT JOIN (SELECT account_id, CAST(SUM(out_amount) AS BIGINT) AS out_total, CAST(SUM(in_amount) AS BIGINT) AS in_total FROM
				(SELECT debit_account AS account_id, amount AS out_amount, 0 AS in_amount FROM ledger_holds WHERE state = '`+HoldPending+`'
				 UNION ALL
				 SELECT credit_account, 0, amount FROM ledger_holds WHERE state = '`+HoldPending+`') p
			GROUP BY account_id) h ON h.account_id = a.id
		WHERE a.posted <> COALESCE(s.total, 0) OR s.cmin <> a.currency OR s.cmax <> a.currency
		   OR a.pending_out <> COALESCE(h.out_total, 0) OR a.pending_in <> COALESCE(h.in_total, 0)
		   OR a.pending_out < 0 OR a.pending_in < 0 OR (a.bounded AND a.posted - a.pending_out < 0)
		   OR (a.kind IN `+boundedKinds+`) <> a.bounded
		   OR a.kind NOT IN `+sqlList(AccExtFunding, AccEscrow, AccFees, AccHeld, AccAvailable, AccDebt, AccExtPayouts, AccExtRefunds)+`
		   OR (a.kind = '`+AccDebt+`' AND a.posted > 0)
		ORDER BY a.id`,
		[]any{&id, &kind, &cur, &bounded, &posted, &hasEntries, &sum, &curMin, &curMax, &pout, &hout, &pin, &hin}, func() {
			switch {
			case hasEntries && (curMin != cur || curMax != cur):
				a.violate("account %s is in %s but has entries in %s … %s", id, cur, curMin, curMax)
			case posted != sum && hasEntries:
				a.violate("account %s: posted is %s but its entries sum to %s", id, fm(posted), fm(sum))
			case posted != sum:
				a.violate("account %s: posted is %s but it has no entries", id, fm(posted))
			}
			if pout != hout {
				a.violate("account %s: pending_out is %s but its pending holds debit %s", id, fm(pout), fm(hout))
			}
			if pin != hin {
				a.violate("account %s: pending_in is %s but its pending holds credit %s", id, fm(pin), fm(hin))
			}
			if pout < 0 || pin < 0 || (bounded && posted-pout < 0) {
				a.violate("account %s is overdrawn or has negative pending amounts: posted %s, pending_out %s, pending_in %s",
					id, fm(posted), fm(pout), fm(pin))
			}
			if want, known := accountBounded[kind]; !known || want != bounded {
				a.violate("account %s of kind %q has bounded = %t", id, kind, bounded)
			}
			if kind == AccDebt && posted > 0 {
				a.violatef("9", "debt account %s is positive: %s", id, fm(posted))
			}
		}); err != nil {
		return err
	}
	// Entries on accounts that do not exist.
	return a.each(ctx, `SELECT e.account_id, MIN(e.currency), CAST(SUM(e.amount) AS BIGINT), COUNT(*)
		FROM ledger_all_entries e LEFT JOIN ledger_accounts a ON a.id = e.account_id
		WHERE a.id IS NULL GROUP BY e.account_id ORDER BY e.account_id`,
		[]any{&id, &cur, &sum, &posted}, func() {
			a.violate("%d %s entries summing to %s post to account %s, which does not exist", posted, cur, fm(sum), id)
		})
}

// sqlFloorBps is SQL for floor(m * bps / 10000) that cannot overflow BIGINT:
// with m = 10000q + r, it is q*bps + floor(r*bps / 10000), exact for m >= 0
// and bps in 0..10000 (integer division truncates on both databases).
func sqlFloorBps(m, bps string) string {
	return fmt.Sprintf("((%[1]s / 10000) * %[2]s + ((%[1]s %% 10000) * %[2]s) / 10000)", m, bps)
}

// accountBounded says, per account kind, whether the account may not go below zero.
var accountBounded = map[string]bool{
	AccExtFunding: false, AccEscrow: true, AccFees: true, AccHeld: true,
	AccAvailable: true, AccDebt: false, AccExtPayouts: false, AccExtRefunds: false,
}

func orMissing(cur string) string {
	if cur == "" {
		return "missing"
	}
	return cur
}

func (a *auditor) checkEscrows(ctx context.Context) error {
	var campaign, brand, cur, ecur, fcur string
	var bps, funded, spent, fees, refunded, closed, eposted, fposted, ccSpent, ccEarned int64
	var hasEscrowAcc, hasFeesAcc bool
	// SQL evaluates the fee formula without overflow (sqlFloorBps) to find
	// the violating rows; Go recomputes each flagged row with
	// money.FloorBps to word it.
	if err := a.each(ctx, `SELECT e.campaign_id, e.brand_id, e.currency, e.fee_bps, e.funded, e.spent, e.fees, e.refunded, e.closed_at,
			ea.id IS NOT NULL, COALESCE(ea.currency, ''), COALESCE(ea.posted, 0),
			fa.id IS NOT NULL, COALESCE(fa.currency, ''), COALESCE(fa.posted, 0),
			COALESCE(cc.spent, 0), COALESCE(cc.earned, 0)
		FROM ledger_escrows e
		LEFT JOIN ledger_accounts ea ON ea.id = 'escrow:' || e.campaign_id
		LEFT JOIN ledger_accounts fa ON fa.id = 'fees:' || e.campaign_id
		LEFT JOIN (SELECT campaign_id, CAST(SUM(spent) AS BIGINT) AS spent, CAST(SUM(earned) AS BIGINT) AS earned
			FROM ledger_campaign_creators GROUP BY campaign_id) cc ON cc.campaign_id = e.campaign_id
		WHERE ea.id IS NULL OR ea.currency <> e.currency OR (fa.id IS NOT NULL AND fa.currency <> e.currency)
		   OR e.funded < 0 OR e.spent < 0 OR e.fees < 0 OR e.refunded < 0 OR e.fee_bps < 0 OR e.fee_bps > 10000
		   OR COALESCE(ea.posted, 0) <> e.funded - e.spent - e.refunded
		   OR COALESCE(fa.posted, 0) <> e.fees
		   OR e.fees <> `+sqlFloorBps("e.spent", "e.fee_bps")+`
		   OR COALESCE(cc.spent, 0) <> e.spent
		   OR COALESCE(cc.earned, 0) <> e.spent - e.fees
		   OR (e.closed_at <> 0 AND COALESCE(ea.posted, 0) <> 0)
		ORDER BY e.campaign_id`,
		[]any{&campaign, &brand, &cur, &bps, &funded, &spent, &fees, &refunded, &closed,
			&hasEscrowAcc, &ecur, &eposted, &hasFeesAcc, &fcur, &fposted, &ccSpent, &ccEarned},
		func() {
			before := a.n
			switch {
			case !hasEscrowAcc:
				a.violate("escrow %s has no escrow account", campaign)
			case ecur != cur:
				a.violate("escrow %s is in %s but its escrow account is in %s", campaign, cur, ecur)
			}
			if hasFeesAcc && fcur != cur {
				a.violate("escrow %s is in %s but its fees account is in %s", campaign, cur, fcur)
			}
			if funded < 0 || spent < 0 || fees < 0 || refunded < 0 {
				a.violate("escrow %s has a negative total: funded %s, spent %s, fees %s, refunded %s", campaign, fm(funded), fm(spent), fm(fees), fm(refunded))
			}
			if bps < 0 || bps > 10000 {
				a.violate("escrow %s has fee_bps %d, outside 0..10000", campaign, bps)
			}
			if want := funded - spent - refunded; eposted != want {
				a.violate("escrow %s: escrow account holds %s, but funded %s - spent %s - refunded %s = %s",
					campaign, fm(eposted), fm(funded), fm(spent), fm(refunded), fm(want))
			}
			if fposted != fees {
				a.violate("escrow %s: fees account holds %s, but the escrow records fees of %s", campaign, fm(fposted), fm(fees))
			}
			if spent >= 0 && bps >= 0 && bps <= 10000 {
				if want := money.FloorBps(spent, bps); fees != want {
					a.violate("escrow %s: fees are %s, but floor(spent %s × %d bps / 10000) = %s", campaign, fm(fees), fm(spent), bps, fm(want))
				}
			}
			if ccSpent != spent {
				a.violate("escrow %s: creators' spent sums to %s, but the escrow spent %s", campaign, fm(ccSpent), fm(spent))
			}
			if ccEarned != spent-fees {
				a.violate("escrow %s: creators' earnings sum to %s, but spent %s - fees %s = %s", campaign, fm(ccEarned), fm(spent), fm(fees), fm(spent-fees))
			}
			if closed != 0 && eposted != 0 {
				a.violate("escrow %s is closed but its escrow account still holds %s", campaign, fm(eposted))
			}
			if a.n == before {
				a.violate("escrow %s (brand %s) is inconsistent", campaign, brand)
			}
		}); err != nil {
		return err
	}
	// Per-campaign rows (creator spend, escrow/fees/held accounts) whose
	// campaign has no escrow, or whose account is in another currency.
	var what, id string
	return a.each(ctx, `SELECT 'campaign creator', cc.campaign_id || '/' || cc.creator_id, '', COALESCE(e.currency, '')
			FROM ledger_campaign_creators cc LEFT JOIN ledger_escrows e ON e.campaign_id = cc.campaign_id
			WHERE e.campaign_id IS NULL OR cc.spent < 0
		UNION ALL
		SELECT a.kind || ' account', a.id, a.currency, COALESCE(e.currency, '')
			FROM ledger_accounts a LEFT JOIN ledger_escrows e ON e.campaign_id = a.campaign_id
			WHERE a.kind IN `+sqlList(AccEscrow, AccFees, AccHeld)+` AND (e.campaign_id IS NULL OR e.currency <> a.currency)
		ORDER BY 2`,
		[]any{&what, &id, &cur, &ecur}, func() {
			if cur == "" {
				a.violate("%s %s has no escrow, or a negative spend", what, id)
			} else {
				a.violate("%s %s is in %s but its campaign's escrow is %s", what, id, cur, orMissing(ecur))
			}
		})
}

func (a *auditor) checkReducedFee(ctx context.Context) error {
	var brand, campaign, fbrand, fcampaign string
	var n int64
	var reduced bool
	// Per brand: how many reduced-fee escrows, and which first campaign is recorded.
	if err := a.each(ctx, `SELECT e.brand_id, CAST(SUM(CASE WHEN e.reduced_fee THEN 1 ELSE 0 END) AS BIGINT), COALESCE(MAX(f.campaign_id), '')
		FROM ledger_escrows e LEFT JOIN ledger_first_campaigns f ON f.brand_id = e.brand_id
		GROUP BY e.brand_id
		HAVING SUM(CASE WHEN e.reduced_fee THEN 1 ELSE 0 END) <> 1 OR MAX(f.campaign_id) IS NULL
		ORDER BY e.brand_id`,
		[]any{&brand, &n, &fcampaign}, func() {
			if n != 1 {
				a.violate("brand %s has %d reduced-fee escrows", brand, n)
			}
			if fcampaign == "" {
				a.violate("brand %s has escrows but no first (reduced-fee) campaign", brand)
			}
		}); err != nil {
		return err
	}
	// Each escrow against ledger_first_campaigns, and each recorded first campaign against its escrow.
	return a.each(ctx, `SELECT e.campaign_id, e.brand_id, e.reduced_fee, COALESCE(f.brand_id, '') FROM ledger_escrows e
			LEFT JOIN ledger_first_campaigns f ON f.campaign_id = e.campaign_id
			WHERE (e.reduced_fee AND (f.brand_id IS NULL OR f.brand_id <> e.brand_id))
			   OR (NOT e.reduced_fee AND f.brand_id IS NOT NULL)
		UNION ALL
		SELECT f.campaign_id, COALESCE(e.brand_id, ''), COALESCE(e.reduced_fee, `+sqlFalse+`), f.brand_id FROM ledger_first_campaigns f
			LEFT JOIN ledger_escrows e ON e.campaign_id = f.campaign_id
			WHERE e.campaign_id IS NULL OR e.brand_id <> f.brand_id
		ORDER BY 1`,
		[]any{&campaign, &brand, &reduced, &fbrand}, func() {
			switch {
			case brand != fbrand && fbrand != "":
				a.violate("brand %s's first campaign %s has no escrow of that brand", fbrand, campaign)
			case reduced:
				a.violate("escrow %s of brand %s has the reduced fee but is not the brand's first campaign", campaign, brand)
			default:
				a.violate("escrow %s of brand %s is recorded as brand %s's first campaign but does not have the reduced fee", campaign, brand, fbrand)
			}
		})
}

func (a *auditor) checkPayouts(ctx context.Context) error {
	var id string
	var released, clawed, other, paid, pending int64
	// Only available accounts' entries are summed.
	return a.each(ctx, `SELECT a.id, COALESCE(r.released, 0), COALESCE(r.clawed, 0), COALESCE(r.other, 0),
			COALESCE(h.paid, 0), COALESCE(h.pending, 0)
		FROM ledger_accounts a
		LEFT JOIN (SELECT e.account_id,
				CAST(SUM(CASE WHEN t.kind = '`+KindRelease+`' THEN e.amount ELSE 0 END) AS BIGINT) AS released,
				CAST(SUM(CASE WHEN t.kind IN `+sqlList(KindClawback, KindDebtRepay)+` THEN -e.amount ELSE 0 END) AS BIGINT) AS clawed,
				CAST(SUM(CASE WHEN t.kind IN `+sqlList(KindRelease, KindClawback, KindHoldPost, KindDebtRepay, KindPayoutReverse)+` THEN 0 ELSE 1 END) AS BIGINT) AS other
			FROM ledger_all_entries e JOIN ledger_transactions t ON t.id = e.tx_id
			WHERE e.account_id IN (SELECT id FROM ledger_accounts WHERE kind = '`+AccAvailable+`')
			GROUP BY e.account_id) r ON r.account_id = a.id
		LEFT JOIN (SELECT debit_account,
				CAST(SUM(CASE WHEN state = '`+HoldPosted+`' THEN posted_amount - reversed_amount ELSE 0 END) AS BIGINT) AS paid,
				CAST(SUM(CASE WHEN state = '`+HoldPending+`' THEN amount ELSE 0 END) AS BIGINT) AS pending
			FROM ledger_holds WHERE kind = '`+KindPayoutHold+`' GROUP BY debit_account) h ON h.debit_account = a.id
		WHERE a.kind = '`+AccAvailable+`'
		  AND (COALESCE(h.paid, 0) + COALESCE(h.pending, 0) > COALESCE(r.released, 0) - COALESCE(r.clawed, 0)
		       OR COALESCE(r.other, 0) <> 0)
		ORDER BY a.id`,
		[]any{&id, &released, &clawed, &other, &paid, &pending}, func() {
			if other != 0 {
				a.violate("available account %s has %d entries from transactions other than release, clawback, payout, payout reversal and debt repayment", id, other)
			}
			if paid+pending > released-clawed {
				a.violate("available account %s: paid out %s + pending payouts %s exceed released %s - clawed back %s",
					id, fm(paid), fm(pending), fm(released), fm(clawed))
			}
		})
}

func (a *auditor) checkCurrencies(ctx context.Context) error {
	type totals struct {
		byKind           map[string]int64
		funded, refunded int64
		paidOut          int64
	}
	per := map[string]*totals{}
	var src, cur, kind string
	var sum int64
	if err := a.each(ctx, `SELECT 'account', currency, kind, CAST(SUM(posted) AS BIGINT) FROM ledger_accounts GROUP BY currency, kind
		UNION ALL SELECT 'funded', currency, '', CAST(SUM(funded) AS BIGINT) FROM ledger_escrows GROUP BY currency
		UNION ALL SELECT 'refunded', currency, '', CAST(SUM(refunded) AS BIGINT) FROM ledger_escrows GROUP BY currency
		UNION ALL SELECT 'paid', currency, '', CAST(SUM(posted_amount - reversed_amount) AS BIGINT) FROM ledger_holds
			WHERE kind = '`+KindPayoutHold+`' AND state = '`+HoldPosted+`' GROUP BY currency`,
		[]any{&src, &cur, &kind, &sum}, func() {
			t := per[cur]
			if t == nil {
				t = &totals{byKind: map[string]int64{}}
				per[cur] = t
			}
			switch src {
			case "account":
				t.byKind[kind] += sum
			case "funded":
				t.funded = sum
			case "refunded":
				t.refunded = sum
			case "paid":
				t.paidOut = sum
			}
		}); err != nil {
		return err
	}
	curs := make([]string, 0, len(per))
	for c := range per {
		curs = append(curs, c)
	}
	sort.Strings(curs)
	for _, c := range curs {
		t := per[c]
		var total int64
		for _, v := range t.byKind {
			total += v
		}
		k := t.byKind
		if total != 0 {
			a.violate("%s: account balances sum to %s, not zero: funded %s vs escrows %s + held %s + available %s + debt %s + fees %s + paid out %s + refunded %s",
				c, fm(total), fm(-k[AccExtFunding]), fm(k[AccEscrow]), fm(k[AccHeld]), fm(k[AccAvailable]), fm(k[AccDebt]),
				fm(k[AccFees]), fm(k[AccExtPayouts]), fm(k[AccExtRefunds]))
		}
		if -k[AccExtFunding] != t.funded {
			a.violate("%s: external funding account paid in %s, but escrows record %s funded", c, fm(-k[AccExtFunding]), fm(t.funded))
		}
		if k[AccExtRefunds] != t.refunded {
			a.violate("%s: external refunds account holds %s, but escrows record %s refunded", c, fm(k[AccExtRefunds]), fm(t.refunded))
		}
		if k[AccExtPayouts] != t.paidOut {
			a.violate("%s: external payouts account holds %s, but posted payout holds total %s (net of reversals)", c, fm(k[AccExtPayouts]), fm(t.paidOut))
		}
	}
	return nil
}

func (a *auditor) checkHolds(ctx context.Context) error {
	var id, kind, state, cur, debit, dcur, credit, ccur, txKind string
	var amount, posted, reversed, expires, resolved int64
	if err := a.each(ctx, `SELECT h.id, h.kind, h.state, h.currency, h.amount, h.posted_amount, h.reversed_amount, h.expires_at, h.resolved_at,
			h.debit_account, COALESCE(d.currency, ''), h.credit_account, COALESCE(c.currency, ''), COALESCE(t.kind, '')
		FROM ledger_holds h
		LEFT JOIN ledger_accounts d ON d.id = h.debit_account
		LEFT JOIN ledger_accounts c ON c.id = h.credit_account
		LEFT JOIN ledger_transactions t ON t.id = h.tx_id
		WHERE h.amount <= 0 OR h.posted_amount < 0 OR h.posted_amount > h.amount
		   OR h.reversed_amount < 0 OR h.reversed_amount > h.posted_amount
		   OR (h.reversed_amount <> 0 AND (h.state <> '`+HoldPosted+`' OR h.kind <> '`+KindPayoutHold+`'))
		   OR h.state NOT IN `+sqlList(HoldPending, HoldPosted, HoldVoided, HoldExpired)+`
		   OR (h.state = '`+HoldPending+`' AND (h.posted_amount <> 0 OR h.resolved_at <> 0))
		   OR (h.state = '`+HoldPosted+`' AND (h.posted_amount = 0 OR h.resolved_at = 0))
		   OR (h.state IN `+sqlList(HoldVoided, HoldExpired)+` AND (h.posted_amount <> 0 OR h.resolved_at = 0))
		   OR (h.state = '`+HoldExpired+`' AND (h.expires_at = 0 OR h.expires_at > h.resolved_at))
		   OR d.id IS NULL OR c.id IS NULL OR d.currency <> h.currency OR c.currency <> h.currency
		   OR t.id IS NULL OR t.kind <> h.kind
		ORDER BY h.id`,
		[]any{&id, &kind, &state, &cur, &amount, &posted, &reversed, &expires, &resolved, &debit, &dcur, &credit, &ccur, &txKind}, func() {
			if reversed < 0 || reversed > posted || (reversed != 0 && (state != HoldPosted || kind != KindPayoutHold)) {
				a.violate("hold %s (%s, %s) has %s reversed of %s posted", id, kind, state, fm(reversed), fm(posted))
			}
			if amount <= 0 || posted < 0 || posted > amount || !holdStateOK(state, posted, expires, resolved) {
				a.violate("hold %s is inconsistent: state %s, amount %s, posted %s, expires_at %d, resolved_at %d",
					id, state, fm(amount), fm(posted), expires, resolved)
			}
			if dcur != cur || ccur != cur {
				a.violatef("2", "hold %s (%s) debits %s (%s) and credits %s (%s): missing account or wrong currency",
					id, cur, debit, orMissing(dcur), credit, orMissing(ccur))
			}
			if txKind != kind {
				a.violate("hold %s of kind %s was created by a transaction of kind %q", id, kind, txKind)
			}
		}); err != nil {
		return err
	}
	// Each hold resolves at most once: one posting, voiding or expiring
	// transaction per resolved hold, and one creating transaction per hold.
	var n int64
	counts := map[string]int64{}
	if err := a.each(ctx, `SELECT 'state:' || state, COUNT(*) FROM ledger_holds GROUP BY state
		UNION ALL SELECT 'kind:' || kind, COUNT(*) FROM ledger_holds GROUP BY kind
		UNION ALL SELECT 'tx:' || kind, COUNT(*) FROM ledger_transactions
			WHERE kind IN `+sqlList(KindPayoutHold, KindHoldPost, KindHoldVoid, KindHoldExpire)+` GROUP BY kind`,
		[]any{&kind, &n}, func() { counts[kind] = n }); err != nil {
		return err
	}
	for _, c := range []struct{ txKind, state string }{{KindHoldPost, HoldPosted}, {KindHoldVoid, HoldVoided}, {KindHoldExpire, HoldExpired}} {
		if counts["tx:"+c.txKind] != counts["state:"+c.state] {
			a.violate("%d %s transactions but %d %s holds", counts["tx:"+c.txKind], c.txKind, counts["state:"+c.state], c.state)
		}
	}
	if counts["tx:"+KindPayoutHold] != counts["kind:"+KindPayoutHold] {
		a.violate("%d %s transactions but %d payout holds", counts["tx:"+KindPayoutHold], KindPayoutHold, counts["kind:"+KindPayoutHold])
	}
	return nil
}

// holdStateOK reports whether a hold's amounts and times fit its state.
func holdStateOK(state string, posted, expires, resolved int64) bool {
	switch state {
	case HoldPending:
		return posted == 0 && resolved == 0
	case HoldPosted:
		return posted > 0 && resolved != 0
	case HoldVoided:
		return posted == 0 && resolved != 0
	case HoldExpired:
		return posted == 0 && resolved != 0 && expires != 0 && expires <= resolved
	}
	return false
}
