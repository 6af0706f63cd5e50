package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// EscrowState is a campaign's money: Funded = Remaining + Spent + Refunded
// (Refunded includes clawbacks after close) and Spent = CreatorEarnings + Fees.
type EscrowState struct {
	CampaignID      string         `json:"campaign_id"`
	BrandID         string         `json:"brand_id"`
	Currency        money.Currency `json:"currency"`
	FeeBps          int64          `json:"fee_bps"`
	ReducedFee      bool           `json:"reduced_fee"`
	Funded          int64          `json:"funded"`
	Spent           int64          `json:"spent"`
	Fees            int64          `json:"fees"`
	CreatorEarnings int64          `json:"creator_earnings"`
	Remaining       int64          `json:"remaining"`
	Refunded        int64          `json:"refunded"`
	Closed          bool           `json:"closed"`
}

// Escrow returns a campaign's money state, or a NotFound error (code
// escrow_not_found) when it was never funded.
func (l *Ledger) Escrow(ctx context.Context, campaignID string) (EscrowState, error) {
	return l.EscrowWith(ctx, l.db.Read(), campaignID)
}

// EscrowWith is Escrow reading through q (e.g. the caller's transaction).
func (l *Ledger) EscrowWith(ctx context.Context, q store.Queryer, campaignID string) (EscrowState, error) {
	e, err := l.readEscrow(ctx, q, campaignID)
	if err != nil {
		return EscrowState{}, err
	}
	var posted, pendingOut int64
	if err := q.QueryRowContext(ctx, `SELECT posted, pending_out FROM ledger_accounts WHERE id = $1`, escrowAcc(campaignID)).Scan(&posted, &pendingOut); err != nil {
		return EscrowState{}, fmt.Errorf("ledger: read escrow account %s: %w", campaignID, err)
	}
	return EscrowState{
		CampaignID: e.CampaignID, BrandID: e.BrandID, Currency: e.Currency, FeeBps: e.FeeBps, ReducedFee: e.ReducedFee,
		Funded: e.Funded, Spent: e.Spent, Fees: e.Fees, CreatorEarnings: e.Spent - e.Fees,
		Remaining: posted - pendingOut, Refunded: e.Refunded, Closed: e.ClosedAt != 0,
	}, nil
}

// CreatorBalance is a creator's money in one currency.
type CreatorBalance struct {
	CreatorID     string         `json:"creator_id"`
	Currency      money.Currency `json:"currency"`
	Held          int64          `json:"held"`           // in holding periods, all campaigns
	Available     int64          `json:"available"`      // can be paid out now (pending payouts excluded)
	PendingPayout int64          `json:"pending_payout"` // reserved by payouts in flight
	Debt          int64          `json:"debt"`           // clawbacks not yet recovered (≥ 0)
	PaidOut       int64          `json:"paid_out"`       // posted payouts less what came back (reversals)
}

// Balance returns a creator's balances in currency c (zeros when the creator
// has none). It returns an error only when the database fails.
func (l *Ledger) Balance(ctx context.Context, creatorID string, c money.Currency) (CreatorBalance, error) {
	return l.BalanceTx(ctx, l.db.Read(), creatorID, c)
}

// BalanceTx is Balance read through q (a transaction, to decide on the
// balance it will change).
func (l *Ledger) BalanceTx(ctx context.Context, q store.Queryer, creatorID string, c money.Currency) (CreatorBalance, error) {
	b := CreatorBalance{CreatorID: creatorID, Currency: c}
	rows, err := q.QueryContext(ctx, `SELECT kind, posted, pending_out FROM ledger_accounts WHERE owner_id = $1 AND currency = $2`, creatorID, string(c))
	if err != nil {
		return b, fmt.Errorf("ledger: read balances of %s: %w", creatorID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var posted, pending int64
		if err := rows.Scan(&kind, &posted, &pending); err != nil {
			return b, fmt.Errorf("ledger: read balances of %s: %w", creatorID, err)
		}
		switch kind {
		case AccHeld:
			b.Held += posted
		case AccAvailable:
			b.Available += posted - pending
			b.PendingPayout += pending
		case AccDebt:
			b.Debt += -posted
		}
	}
	if err := rows.Err(); err != nil {
		return b, fmt.Errorf("ledger: read balances of %s: %w", creatorID, err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(posted_amount - reversed_amount), 0) FROM ledger_holds WHERE owner_id = $1 AND currency = $2 AND kind = $3 AND state = $4`,
		creatorID, string(c), KindPayoutHold, HoldPosted).Scan(&b.PaidOut); err != nil {
		return b, fmt.Errorf("ledger: read payouts of %s: %w", creatorID, err)
	}
	return b, nil
}

// Balances returns a creator's balances in EUR and USD, then in every other
// currency they have a ledger account in (earnings held or released, a
// debt, a payout) in alphabetical order. It returns an error only when the
// database fails.
func (l *Ledger) Balances(ctx context.Context, creatorID string) ([]CreatorBalance, error) {
	q := l.db.Read()
	curs := []string{string(money.EUR), string(money.USD)}
	rows, err := q.QueryContext(ctx, `SELECT DISTINCT currency FROM ledger_accounts WHERE owner_id = $1`, creatorID)
	if err != nil {
		return nil, fmt.Errorf("ledger: read currencies of %s: %w", creatorID, err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ledger: read currencies of %s: %w", creatorID, err)
		}
		if !slices.Contains(curs, c) {
			curs = append(curs, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: read currencies of %s: %w", creatorID, err)
	}
	slices.Sort(curs[2:])
	out := make([]CreatorBalance, 0, len(curs))
	for _, c := range curs {
		b, err := l.BalanceTx(ctx, q, creatorID, money.Currency(c))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// GetHold returns a hold, or a NotFound error.
func (l *Ledger) GetHold(ctx context.Context, holdID string) (Hold, error) {
	h, err := scanHold(l.db.Read().QueryRowContext(ctx, `SELECT `+holdCols+` FROM ledger_holds WHERE id = $1`, holdID))
	if isNoRows(err) {
		return Hold{}, errs.NotFoundf("hold %s not found", holdID)
	}
	if err != nil {
		return Hold{}, fmt.Errorf("ledger: read hold %s: %w", holdID, err)
	}
	return *h, nil
}

// Entry is one line of a transaction.
type Entry struct {
	AccountID string         `json:"account_id"`
	Currency  money.Currency `json:"currency"`
	Amount    int64          `json:"amount"` // > 0 credit, < 0 debit
}

// Transaction is a ledger write as stored.
type Transaction struct {
	ID         string  `json:"id"`
	Kind       string  `json:"kind"`
	CampaignID string  `json:"campaign_id,omitempty"`
	BrandID    string  `json:"brand_id,omitempty"`
	CreatorID  string  `json:"creator_id,omitempty"`
	CreatedAt  int64   `json:"created_at"` // unix µs
	Entries    []Entry `json:"entries"`
}

// TxFilter selects transactions: those of a brand, of a creator, or (both
// empty) all of them, newest first, before the id Before.
type TxFilter struct {
	BrandID   string
	CreatorID string
	Before    string
	Limit     int // 1..500, default 50
}

// Transactions lists transactions with their entries, newest first. It
// returns an error only when the database fails.
func (l *Ledger) Transactions(ctx context.Context, f TxFilter) ([]Transaction, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	q := `SELECT id, kind, campaign_id, brand_id, creator_id, created_at, currency,
		escrow_amount, held_amount, fee_amount FROM ledger_transactions WHERE 1=1`
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		q += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.BrandID != "" {
		add("brand_id = $%d", f.BrandID)
	}
	if f.CreatorID != "" {
		add("creator_id = $%d", f.CreatorID)
	}
	if f.Before != "" {
		add("id < $%d", f.Before)
	}
	args = append(args, f.Limit)
	q += fmt.Sprintf(" ORDER BY id DESC LIMIT $%d", len(args))
	db := l.db.Read()
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: list transactions: %w", err)
	}
	var out []Transaction
	idx := map[string]int{}
	var ids []string // of the transactions whose entries are in ledger_entries
	for rows.Next() {
		var t Transaction
		var cur string
		var amts [3]sql.NullInt64 // an accrual's entries in its row (see recordAccrual)
		if err := rows.Scan(&t.ID, &t.Kind, &t.CampaignID, &t.BrandID, &t.CreatorID, &t.CreatedAt, &cur,
			&amts[0], &amts[1], &amts[2]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("ledger: list transactions: %w", err)
		}
		t.Entries = []Entry{}
		inline := false
		if t.Kind == KindAccrue {
			accts := [3]string{escrowAcc(t.CampaignID), heldAcc(t.CampaignID, t.CreatorID), feesAcc(t.CampaignID)}
			for i, m := range amts {
				if m.Valid {
					inline = true
					t.Entries = append(t.Entries, Entry{AccountID: accts[i], Currency: money.Currency(cur), Amount: m.Int64})
				}
			}
		}
		if !inline {
			ids = append(ids, t.ID)
		}
		idx[t.ID] = len(out)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: list transactions: %w", err)
	}
	if len(ids) == 0 {
		return out, nil
	}
	cond, arg := store.InText(l.db.Dialect(), "tx_id", 1, ids)
	erows, err := db.QueryContext(ctx, `SELECT tx_id, account_id, currency, amount FROM ledger_entries WHERE `+cond+` ORDER BY tx_id, seq`, arg)
	if err != nil {
		return nil, fmt.Errorf("ledger: list entries: %w", err)
	}
	defer erows.Close()
	for erows.Next() {
		var txID, cur string
		var e Entry
		if err := erows.Scan(&txID, &e.AccountID, &cur, &e.Amount); err != nil {
			return nil, fmt.Errorf("ledger: list entries: %w", err)
		}
		e.Currency = money.Currency(cur)
		out[idx[txID]].Entries = append(out[idx[txID]].Entries, e)
	}
	if err := erows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: list entries: %w", err)
	}
	return out, nil
}
