package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// Hold is a two-phase transfer: money reserved on the debit account until it
// is posted (wholly or partly), voided, or expires.
type Hold struct {
	ID            string         `json:"id"`
	TxID          string         `json:"tx_id"`
	Kind          string         `json:"kind"`
	DebitAccount  string         `json:"debit_account"`
	CreditAccount string         `json:"credit_account"`
	Currency      money.Currency `json:"currency"`
	OwnerID       string         `json:"owner_id"`
	Amount        int64          `json:"amount"`
	PostedAmount  int64          `json:"posted_amount"`
	State         string         `json:"state"`
	ExpiresAt     int64          `json:"expires_at,omitempty"` // unix µs; 0 = never
	CreatedAt     int64          `json:"created_at"`
	ResolvedAt    int64          `json:"resolved_at,omitempty"`
}

const holdCols = `id, tx_id, kind, debit_account, credit_account, currency, owner_id, amount, posted_amount, state, expires_at, created_at, resolved_at`

func scanHold(row interface{ Scan(...any) error }) (*Hold, error) {
	h := &Hold{}
	var cur string
	err := row.Scan(&h.ID, &h.TxID, &h.Kind, &h.DebitAccount, &h.CreditAccount, &cur, &h.OwnerID, &h.Amount, &h.PostedAmount, &h.State, &h.ExpiresAt, &h.CreatedAt, &h.ResolvedAt)
	h.Currency = money.Currency(cur)
	return h, err
}

// PayoutRequest reserves part of a creator's available balance for a payout.
type PayoutRequest struct {
	Key       string       `json:"-"`
	CreatorID string       `json:"creator_id"`
	Amount    money.Amount `json:"amount"`
	// ExpiresAt, if set, is when the hold lapses back to available unless posted.
	ExpiresAt time.Time `json:"expires_at"`
	// Intent, when set, is what the caller was asked, and what the request
	// hash covers instead of the amount (the creator, currency and expiry
	// still count): a request whose amount is decided from the balance when
	// it first runs (all that is available) replays by what it asked, and
	// the same key with another Intent is idempotency_key_reused.
	Intent string `json:"intent,omitempty"`
}

// payoutHash is a payout request's hash (see PayoutRequest.Intent).
func payoutHash(req PayoutRequest) string {
	if req.Intent == "" {
		return requestHash(KindPayoutHold, req)
	}
	return requestHash(KindPayoutHold, struct {
		CreatorID string         `json:"creator_id"`
		Currency  money.Currency `json:"currency"`
		ExpiresAt time.Time      `json:"expires_at"`
		Intent    string         `json:"intent"`
	}{req.CreatorID, req.Amount.Currency, req.ExpiresAt, req.Intent})
}

// FindPayoutTx looks up, inside the caller's transaction, the payout hold
// made with req.Key: found reports whether there is one, and res is the
// stored result. A key used for another request (see PayoutRequest.Intent;
// the amount counts only without an Intent) is a Conflict
// (idempotency_key_reused); a bad key is Invalid. It writes nothing.
func (l *Ledger) FindPayoutTx(ctx context.Context, tx *store.Tx, req PayoutRequest) (res HoldResult, found bool, err error) {
	if err := checkKey(req.Key); err != nil {
		return res, false, errs.WithField(err, "idempotency_key")
	}
	found, err = replayOne(ctx, tx, req.Key, payoutHash(req), &res)
	res.Replayed = found
	return res, found, err
}

// HoldResult is what a hold operation did.
type HoldResult struct {
	TxID   string `json:"tx_id"`
	HoldID string `json:"hold_id"`
	State  string `json:"state"`
	Amount int64  `json:"amount"`
	Posted int64  `json:"posted"`
	// DebtRepaid is what of the creator's debt (clawbacks they could not
	// cover) this operation repaid from their available balance, in a
	// debt_repay transaction of its own: a payout request repays it before
	// reserving, and a payout resolved (posted, voided, expired) repays it
	// from the money that comes back, before any of it is available again.
	DebtRepaid int64 `json:"debt_repaid,omitempty"`
	Replayed   bool  `json:"-"`
}

// HoldPayout reserves req.Amount of the creator's available balance as a
// pending payout (available → external payouts). It returns a Conflict
// (insufficient_funds) when the available balance, less other pending
// payouts, is smaller, writing nothing.
func (l *Ledger) HoldPayout(ctx context.Context, req PayoutRequest) (res HoldResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.HoldPayoutTx(ctx, tx, req)
		return err
	})
	return res, err
}

// HoldPayoutTx is HoldPayout inside the caller's transaction.
func (l *Ledger) HoldPayoutTx(ctx context.Context, tx *store.Tx, req PayoutRequest) (HoldResult, error) {
	var res HoldResult
	var c errs.Collector
	c.Add("idempotency_key", checkKey(req.Key))
	c.Add("creator_id", checkID("creator_id", req.CreatorID))
	c.Add("amount.currency", checkCurrency(req.Amount.Currency))
	if err := checkPositive("amount", req.Amount.Micros); err != nil {
		c.Add("", err)
	}
	if err := c.Err(); err != nil {
		return res, err
	}
	now := l.clock.Now()
	cur := req.Amount.Currency
	w := newWork(tx, now.UnixMicro())
	if err := w.lock(ctx, specFor(AccAvailable, "", req.CreatorID, "", cur), specFor(AccDebt, "", req.CreatorID, "", cur),
		specFor(AccExtPayouts, "", "", "", cur)); err != nil {
		return res, err
	}
	hash := payoutHash(req)
	if found, err := replayOne(ctx, tx, req.Key, hash, &res); found || err != nil {
		res.Replayed = found
		return res, err
	}
	// Checked after the replay: a retry of a hold that has since expired
	// must still return the stored result.
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(now) {
		return res, errs.Invalidf("expires_at", "in_past", "expires_at must be in the future")
	}
	avail, ext := w.acct(availAcc(req.CreatorID, cur)), w.acct(extPayoutsAcc(cur))
	debt := max(-w.acct(debtAcc(req.CreatorID, cur)).Posted, 0)
	if spendable := avail.spendable(); spendable-debt < req.Amount.Micros {
		if debt > 0 {
			return res, &errs.Error{Kind: errs.Conflict, Code: ErrDebtOutstanding, Field: "amount",
				Message: fmt.Sprintf("available balance is %s %s but %s %s of clawed-back earnings is owed first: at most %s can be paid out, not %s",
					money.FormatMicros(spendable), cur, money.FormatMicros(debt), cur, money.FormatMicros(max(spendable-debt, 0)), money.FormatMicros(req.Amount.Micros))}
		}
		return res, &errs.Error{Kind: errs.Conflict, Code: ErrInsufficientFunds, Field: "amount",
			Message: fmt.Sprintf("available balance is %s %s, cannot pay out %s", money.FormatMicros(spendable), cur, money.FormatMicros(req.Amount.Micros))}
	}
	var expires int64
	if !req.ExpiresAt.IsZero() {
		expires = req.ExpiresAt.UnixMicro()
	}
	res = HoldResult{TxID: newTxID(), HoldID: id.New(id.Hold), State: HoldPending, Amount: req.Amount.Micros}
	// Debt is repaid before anything is reserved: the creator is paid what
	// is left of their earnings after the clawbacks, never the clawed-back money.
	repaid, err := w.repayDebt(res.TxID, req.CreatorID, cur)
	if err != nil {
		return res, err
	}
	res.DebtRepaid = repaid
	avail.PendingOut += req.Amount.Micros
	ext.PendingIn += req.Amount.Micros
	avail.dirty, ext.dirty = true, true
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_holds (`+holdCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,0,$9,$10,$11,0)`,
		res.HoldID, res.TxID, KindPayoutHold, avail.ID, ext.ID, string(cur), req.CreatorID, req.Amount.Micros, HoldPending, expires, w.now); err != nil {
		return res, fmt.Errorf("ledger: insert hold: %w", err)
	}
	if err := w.record(res.TxID, req.Key, hash, KindPayoutHold, "", "", req.CreatorID, res); err != nil {
		return res, err
	}
	return res, w.flush(ctx)
}

// PostHold completes a pending hold: Amount (0 = all of it) moves, the rest
// returns to the debit account. It returns a Conflict when the hold is not
// pending or has expired, and an Invalid error when Amount exceeds the hold.
func (l *Ledger) PostHold(ctx context.Context, key, holdID string, amount int64) (res HoldResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.resolveHold(ctx, tx, key, holdID, KindHoldPost, amount)
		return err
	})
	return res, err
}

// PostHoldTx is PostHold inside the caller's transaction.
func (l *Ledger) PostHoldTx(ctx context.Context, tx *store.Tx, key, holdID string, amount int64) (HoldResult, error) {
	return l.resolveHold(ctx, tx, key, holdID, KindHoldPost, amount)
}

// VoidHold cancels a pending hold, returning all of it to the debit account.
// It returns a Conflict when the hold is not pending.
func (l *Ledger) VoidHold(ctx context.Context, key, holdID string) (res HoldResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.resolveHold(ctx, tx, key, holdID, KindHoldVoid, 0)
		return err
	})
	return res, err
}

// VoidHoldTx is VoidHold inside the caller's transaction.
func (l *Ledger) VoidHoldTx(ctx context.Context, tx *store.Tx, key, holdID string) (HoldResult, error) {
	return l.resolveHold(ctx, tx, key, holdID, KindHoldVoid, 0)
}

// ExpireHolds expires every pending hold whose expiry has passed, each in
// its own transaction (key "expire:<hold id>"), and returns how many it expired.
func (l *Ledger) ExpireHolds(ctx context.Context) (int, error) {
	now := l.clock.Now().UnixMicro()
	rows, err := l.db.Read().QueryContext(ctx, `SELECT id FROM ledger_holds WHERE state = $1 AND expires_at > 0 AND expires_at <= $2 ORDER BY id`, HoldPending, now)
	if err != nil {
		return 0, fmt.Errorf("ledger: find expired holds: %w", err)
	}
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, fmt.Errorf("ledger: find expired holds: %w", err)
		}
		ids = append(ids, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("ledger: find expired holds: %w", err)
	}
	n := 0
	for _, h := range ids {
		err := l.run(ctx, func(tx *store.Tx) error {
			_, err := l.resolveHold(ctx, tx, "expire:"+h, h, KindHoldExpire, 0)
			return err
		})
		if errs.Is(err, errs.Conflict) {
			continue // posted or voided meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (l *Ledger) resolveHold(ctx context.Context, tx *store.Tx, key, holdID, kind string, amount int64) (HoldResult, error) {
	var res HoldResult
	var c errs.Collector
	c.Add("idempotency_key", checkKey(key))
	c.Add("hold_id", checkID("hold_id", holdID))
	if amount < 0 {
		c.Addf("amount", "negative_amount", "amount must not be negative")
	}
	if err := c.Err(); err != nil {
		return res, err
	}
	h, err := scanHold(tx.QueryRowContext(ctx, `SELECT `+holdCols+` FROM ledger_holds WHERE id = $1`+tx.ForUpdate(), holdID))
	if errors.Is(err, sql.ErrNoRows) {
		return res, errs.NotFoundf("hold %s not found", holdID)
	}
	if err != nil {
		return res, fmt.Errorf("ledger: lock hold %s: %w", holdID, err)
	}
	now := l.clock.Now().UnixMicro()
	w := newWork(tx, now)
	payout := h.Kind == KindPayoutHold && h.DebitAccount == availAcc(h.OwnerID, h.Currency) && h.CreditAccount == extPayoutsAcc(h.Currency)
	if payout {
		// The creator's debt account is locked with the hold's accounts (in
		// id order): what comes back to available repays it first.
		err = w.lock(ctx, specFor(AccAvailable, "", h.OwnerID, "", h.Currency), specFor(AccDebt, "", h.OwnerID, "", h.Currency),
			specFor(AccExtPayouts, "", "", "", h.Currency))
	} else {
		err = w.lockExisting(ctx, h.DebitAccount, h.CreditAccount)
	}
	if err != nil {
		return res, err
	}
	hash := requestHash(kind, struct {
		HoldID string `json:"hold_id"`
		Amount int64  `json:"amount"`
	}{holdID, amount})
	if found, err := replayOne(ctx, tx, key, hash, &res); found || err != nil {
		res.Replayed = found
		return res, err
	}
	if h.State != HoldPending {
		return res, errs.Conflictf("hold_resolved", "hold %s is already %s", holdID, h.State)
	}
	expired := h.ExpiresAt > 0 && h.ExpiresAt <= now
	switch {
	case kind == KindHoldPost && expired:
		return res, errs.Conflictf("hold_expired", "hold %s expired and can no longer be posted", holdID)
	case kind == KindHoldExpire && !expired:
		return res, errs.Conflictf("hold_not_expired", "hold %s has not expired", holdID)
	case amount > h.Amount:
		return res, errs.Invalidf("amount", "exceeds_hold", "cannot post %s of a %s hold", money.FormatMicros(amount), money.FormatMicros(h.Amount))
	}
	debit, credit := w.acct(h.DebitAccount), w.acct(h.CreditAccount)
	debit.PendingOut -= h.Amount
	credit.PendingIn -= h.Amount
	debit.dirty, credit.dirty = true, true
	res = HoldResult{TxID: newTxID(), HoldID: holdID, Amount: h.Amount}
	switch kind {
	case KindHoldPost:
		res.State = HoldPosted
		res.Posted = h.Amount
		if amount > 0 {
			res.Posted = amount
		}
		if err := w.post(res.TxID, leg{h.DebitAccount, -res.Posted}, leg{h.CreditAccount, res.Posted}); err != nil {
			return res, err
		}
	case KindHoldVoid:
		res.State = HoldVoided
	case KindHoldExpire:
		res.State = HoldExpired
	}
	// What came back to available (all of a void or an expiry, the rest of
	// a partial post) repays the creator's debt before it can be paid out
	// again: a clawback that hit a pending payout became debt.
	if payout {
		if res.DebtRepaid, err = w.repayDebt(res.TxID, h.OwnerID, h.Currency); err != nil {
			return res, err
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ledger_holds SET state = $1, posted_amount = $2, resolved_at = $3 WHERE id = $4`,
		res.State, res.Posted, now, holdID); err != nil {
		return res, fmt.Errorf("ledger: update hold %s: %w", holdID, err)
	}
	if err := w.record(res.TxID, key, hash, kind, "", "", h.OwnerID, res); err != nil {
		return res, err
	}
	return res, w.flush(ctx)
}

// DebtRepayResult is what a debt_repay transaction did: Amount moved from
// the creator's available balance to their debt account.
type DebtRepayResult struct {
	TxID   string `json:"tx_id"`
	Of     string `json:"of"` // the transaction that caused it
	Amount int64  `json:"amount"`
}

// repayDebt repays as much of the creator's debt in cur as their spendable
// available balance covers, as a debt_repay transaction recorded under the
// key "debt-repay:" + the transaction of, which caused it (its replay
// replays this too, as part of it). The accounts must be locked. It returns
// the amount repaid (0: no transaction).
func (w *work) repayDebt(of, creator string, cur money.Currency) (int64, error) {
	avail, debt := w.acct(availAcc(creator, cur)), w.acct(debtAcc(creator, cur))
	amount := min(max(-debt.Posted, 0), max(avail.spendable(), 0))
	if amount == 0 {
		return 0, nil
	}
	r := DebtRepayResult{TxID: newTxID(), Of: of, Amount: amount}
	if err := w.post(r.TxID, leg{avail.ID, -amount}, leg{debt.ID, amount}); err != nil {
		return 0, err
	}
	key := "debt-repay:" + of
	return amount, w.record(r.TxID, key, requestHash(KindDebtRepay, r), KindDebtRepay, "", "", creator, r)
}

// lockExisting locks accounts that must already exist, in id order.
func (w *work) lockExisting(ctx context.Context, ids ...string) error {
	sort.Strings(ids)
	var want []string
	for _, s := range ids {
		if _, ok := w.accts[s]; !ok {
			want = append(want, s)
		}
	}
	if err := w.load(ctx, want); err != nil {
		return err
	}
	for _, s := range want {
		if _, ok := w.accts[s]; !ok {
			return fmt.Errorf("ledger: account %s does not exist", s)
		}
	}
	return nil
}
