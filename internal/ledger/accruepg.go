package ledger

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// On PostgreSQL every statement is a round trip, and an accrual batch's
// writes are most of them: the escrow, the campaign creators, the
// transaction rows (COPY: two round trips) and the account balances. The
// batch writes them all with one statement whose data-modifying WITH
// clauses each run exactly once, its arrays bound as parameters so that its
// text — and the statement pgx prepared for it — is the same for any
// number of rows. It returns how many escrow, creator and account rows it
// updated, so that the checks flush and saveCreators make still hold.
const pgAccrualWrite = `WITH
	e AS (UPDATE ledger_escrows SET funded = $2, spent = $3, fees = $4, refunded = $5, closed_at = $6
		WHERE campaign_id = $1 RETURNING 1),
	c AS (UPDATE ledger_campaign_creators AS t SET spent = v.spent, earned = v.earned
		FROM unnest($7::text[], $8::bigint[], $9::bigint[]) AS v(creator_id, spent, earned)
		WHERE t.campaign_id = $1 AND t.creator_id = v.creator_id RETURNING 1),
	a AS (UPDATE ledger_accounts AS t SET posted = v.posted, pending_out = v.pending_out, pending_in = v.pending_in
		FROM unnest($10::text[], $11::bigint[], $12::bigint[], $13::bigint[]) AS v(id, posted, pending_out, pending_in)
		WHERE t.id = v.id RETURNING 1),
	x AS (INSERT INTO ledger_transactions (id, idem_key, request_hash, kind, campaign_id, brand_id, creator_id, result, created_at,
			currency, escrow_amount, held_amount, fee_amount, flags)
		SELECT * FROM unnest($14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[],
			$22::bigint[], $23::text[], $24::bigint[], $25::bigint[], $26::bigint[], $27::integer[]))
	SELECT (SELECT COUNT(*) FROM e), (SELECT COUNT(*) FROM c), (SELECT COUNT(*) FROM a)`

// saveAccrualPG writes what accrueFresh changed — the escrow e, the
// creators' rows crs and w's accounts and accrual rows (recordAccrual's:
// w holds no entry rows) — with pgAccrualWrite, in one round trip. Like
// flush, it reports a unique violation (a concurrent writer committed one
// of the keys first) as retryable.
func saveAccrualPG(ctx context.Context, tx *store.Tx, e *escrowRow, crs map[string]*creatorRow, w *work) error {
	var cIDs []string
	var cSpent, cEarned []int64
	var dirtyCreators []*creatorRow
	for _, c := range crs {
		if c.dirty {
			dirtyCreators = append(dirtyCreators, c)
		}
	}
	sort.Slice(dirtyCreators, func(i, j int) bool { return dirtyCreators[i].CreatorID < dirtyCreators[j].CreatorID })
	for _, c := range dirtyCreators {
		cIDs, cSpent, cEarned = append(cIDs, c.CreatorID), append(cSpent, c.Spent), append(cEarned, c.Earned)
	}
	var dirty []*account
	for _, a := range w.accts {
		if a.dirty {
			dirty = append(dirty, a)
		}
	}
	sort.Slice(dirty, func(i, j int) bool { return dirty[i].ID < dirty[j].ID })
	aIDs := make([]string, len(dirty))
	aPosted, aOut, aIn := make([]int64, len(dirty)), make([]int64, len(dirty)), make([]int64, len(dirty))
	for i, a := range dirty {
		aIDs[i], aPosted[i], aOut[i], aIn[i] = a.ID, a.Posted, a.PendingOut, a.PendingIn
	}
	n := len(w.txRows)
	var text [9][]string // id, idem_key, request_hash, kind, campaign_id, brand_id, creator_id, result; currency
	for i := range text {
		text[i] = make([]string, n)
	}
	created := make([]int64, n)
	var amounts [3][]*int64
	for i := range amounts {
		amounts[i] = make([]*int64, n)
	}
	flags := make([]int32, n)
	for r, row := range w.txRows {
		for i := range 8 {
			text[i][r] = row[i].(string)
		}
		created[r] = row[8].(int64)
		text[8][r] = row[9].(string)
		for i := range amounts {
			if v, ok := row[10+i].(int64); ok {
				amounts[i][r] = &v
			}
		}
		flags[r] = int32(row[13].(int))
	}
	var ne, nc, na int64
	err := tx.QueryRowContext(ctx, pgAccrualWrite, e.CampaignID, e.Funded, e.Spent, e.Fees, e.Refunded, e.ClosedAt,
		cIDs, cSpent, cEarned, aIDs, aPosted, aOut, aIn,
		text[0], text[1], text[2], text[3], text[4], text[5], text[6], text[7], created, text[8], amounts[0], amounts[1], amounts[2], flags,
	).Scan(&ne, &nc, &na)
	if err != nil {
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("ledger: %w: %w", store.ErrRetry, err)
		}
		return fmt.Errorf("ledger: save accruals of %s: %w", e.CampaignID, err)
	}
	if ne != 1 || nc != int64(len(dirtyCreators)) || na != int64(len(dirty)) {
		return fmt.Errorf("ledger: saved %d escrows, %d campaign creators and %d accounts, expected 1, %d and %d",
			ne, nc, na, len(dirtyCreators), len(dirty))
	}
	for _, c := range dirtyCreators {
		c.dirty = false
	}
	for _, a := range dirty {
		a.dirty = false
	}
	w.txRows = w.txRows[:0]
	return nil
}

// pgAccrualRead is, on PostgreSQL, everything an accrual batch reads
// before it writes, in one round trip: it locks the escrow, then the
// campaign creators' rows (in creator order), then the accounts (in id
// order) — the order lockEscrow, lockCreators and work.lock take them in,
// as a UNION ALL runs its branches one after another — and looks the
// idempotency keys up. Each row says what it is (part): 1 the escrow, 2 a
// creator, 3 an account, 4 a stored transaction.
const pgAccrualRead = `WITH
	e AS (SELECT ` + escrowCols + ` FROM ledger_escrows WHERE campaign_id = $1 FOR UPDATE),
	c AS (SELECT creator_id, spent, earned FROM ledger_campaign_creators
		WHERE campaign_id = $1 AND creator_id = ANY($2::text[]) ORDER BY creator_id FOR UPDATE),
	a AS (SELECT id, kind, currency, owner_id, campaign_id, bounded, posted, pending_out, pending_in FROM ledger_accounts
		WHERE id = ANY($3::text[]) ORDER BY id FOR UPDATE),
	k AS (SELECT idem_key, id, request_hash, result, flags, COALESCE(escrow_amount, 0) AS escrow_amount,
		COALESCE(held_amount, 0) AS held_amount, COALESCE(fee_amount, 0) AS fee_amount
		FROM ledger_transactions WHERE idem_key = ANY($4::text[]))
	SELECT 1, campaign_id, brand_id, currency, '', '', fee_bps, funded, spent, fees, refunded, closed_at, reduced_fee FROM e
	UNION ALL SELECT 2, creator_id, '', '', '', '', spent, earned, 0, 0, 0, 0, false FROM c
	UNION ALL SELECT 3, id, kind, currency, owner_id, campaign_id, posted, pending_out, pending_in, 0, 0, 0, bounded FROM a
	UNION ALL SELECT 4, idem_key, id, request_hash, result, '', flags, escrow_amount, held_amount, fee_amount, 0, 0, false FROM k`

// accrualRead is what pgAccrualRead found.
type accrualRead struct {
	escrow   *escrowRow
	creators map[string]*creatorRow
	accounts []*account
	seen     map[string]stored
}

// readAccrualPG runs pgAccrualRead for a batch of items of campaign. The
// escrow is nil when the campaign has none.
func readAccrualPG(ctx context.Context, tx *store.Tx, campaign string, items []AccrueItem) (*accrualRead, error) {
	var creators, keys []string
	for _, it := range items {
		if !slices.Contains(creators, it.CreatorID) {
			creators = append(creators, it.CreatorID)
		}
		keys = append(keys, it.Key)
	}
	slices.Sort(creators)
	accts := []string{escrowAcc(campaign), feesAcc(campaign)}
	for _, c := range creators {
		accts = append(accts, heldAcc(campaign, c))
	}
	slices.Sort(accts)
	out := &accrualRead{creators: map[string]*creatorRow{}, seen: map[string]stored{}}
	rows, err := tx.QueryContext(ctx, pgAccrualRead, campaign, creators, accts, keys)
	if err != nil {
		return nil, fmt.Errorf("ledger: lock escrow %s: %w", campaign, err)
	}
	defer rows.Close()
	for rows.Next() {
		var part int
		var s [5]string
		var n [6]int64
		var b bool
		if err := rows.Scan(&part, &s[0], &s[1], &s[2], &s[3], &s[4], &n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &b); err != nil {
			return nil, fmt.Errorf("ledger: lock escrow %s: %w", campaign, err)
		}
		switch part {
		case 1:
			out.escrow = &escrowRow{CampaignID: s[0], BrandID: s[1], Currency: money.Currency(s[2]), FeeBps: n[0], ReducedFee: b,
				Funded: n[1], Spent: n[2], Fees: n[3], Refunded: n[4], ClosedAt: n[5]}
		case 2:
			out.creators[s[0]] = &creatorRow{CreatorID: s[0], Spent: n[0], Earned: n[1]}
		case 3:
			out.accounts = append(out.accounts, &account{ID: s[0], Kind: s[1], Currency: money.Currency(s[2]), OwnerID: s[3], CampaignID: s[4],
				Bounded: b, Posted: n[0], PendingOut: n[1], PendingIn: n[2]})
		case 4:
			out.seen[s[0]] = stored{id: s[1], hash: s[2], result: s[3], flags: int(n[0]), legs: [3]int64{n[1], n[2], n[3]}}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: lock escrow %s: %w", campaign, err)
	}
	return out, nil
}
