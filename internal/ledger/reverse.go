package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// KindPayoutReverse moves money of a posted payout back from the external
// payouts account to the creator's available balance: the provider reported
// the payout paid, then the money came back to the platform (a bounced or
// refunded bank transfer, a reversed Stripe transfer).
const KindPayoutReverse = "payout_reverse"

// ReverseResult is what a payout reversal did.
type ReverseResult struct {
	TxID   string `json:"tx_id"`
	HoldID string `json:"hold_id"`
	// Amount is what this reversal moved back to available.
	Amount int64 `json:"amount"`
	// Reversed is the hold's total reversed so far, this one included.
	Reversed int64 `json:"reversed"`
	// DebtRepaid is what of the creator's debt the returned money repaid
	// first (a debt_repay transaction of its own, as for a voided payout).
	DebtRepaid int64 `json:"debt_repaid,omitempty"`
	Replayed   bool  `json:"-"`
}

// ReversePayoutTx reverses amount (0: all that is not reversed yet) of the
// posted payout hold holdID inside the caller's transaction: a new balanced
// transaction moves it from ext:payouts back to the creator's available
// balance, which then repays the creator's debt first, as a voided payout
// does. The hold stays posted; its reversed amount grows (a payout may be
// reversed in parts, never beyond what was posted). The same key replays
// the stored result. It returns Invalid for a bad key, id or negative
// amount, NotFound for an unknown hold, and Conflict for a hold that is not
// a posted payout (hold_not_posted), that is reversed entirely already
// (already_reversed) or an amount above what is left (exceeds_paid).
func (l *Ledger) ReversePayoutTx(ctx context.Context, tx *store.Tx, key, holdID string, amount int64) (ReverseResult, error) {
	var res ReverseResult
	var c errs.Collector
	c.Add("idempotency_key", checkKey(key))
	c.Add("hold_id", checkID("hold_id", holdID))
	if amount < 0 {
		c.Addf("amount", "negative_amount", "amount must not be negative")
	}
	if err := c.Err(); err != nil {
		return res, err
	}
	var reversed int64
	h, err := scanHoldReversed(tx.QueryRowContext(ctx, `SELECT `+holdCols+`, reversed_amount FROM ledger_holds WHERE id = $1`+tx.ForUpdate(), holdID), &reversed)
	if errors.Is(err, sql.ErrNoRows) {
		return res, errs.NotFoundf("hold %s not found", holdID)
	}
	if err != nil {
		return res, fmt.Errorf("ledger: lock hold %s: %w", holdID, err)
	}
	if h.Kind != KindPayoutHold || h.DebitAccount != availAcc(h.OwnerID, h.Currency) || h.CreditAccount != extPayoutsAcc(h.Currency) {
		return res, errs.Conflictf("hold_not_posted", "hold %s is not a payout", holdID)
	}
	w := newWork(tx, l.clock.Now().UnixMicro())
	if err := w.lock(ctx, specFor(AccAvailable, "", h.OwnerID, "", h.Currency), specFor(AccDebt, "", h.OwnerID, "", h.Currency),
		specFor(AccExtPayouts, "", "", "", h.Currency)); err != nil {
		return res, err
	}
	hash := requestHash(KindPayoutReverse, struct {
		HoldID string `json:"hold_id"`
		Amount int64  `json:"amount"`
	}{holdID, amount})
	if found, err := replayOne(ctx, tx, key, hash, &res); found || err != nil {
		res.Replayed = found
		return res, err
	}
	if h.State != HoldPosted {
		return res, errs.Conflictf("hold_not_posted", "payout hold %s is %s: only a posted payout can be reversed", holdID, h.State)
	}
	left := h.PostedAmount - reversed
	if left <= 0 {
		return res, errs.Conflictf("already_reversed", "payout hold %s is reversed entirely already", holdID)
	}
	amt := amount
	if amt == 0 {
		amt = left
	}
	if amt > left {
		return res, &errs.Error{Kind: errs.Conflict, Code: "exceeds_paid", Field: "amount",
			Message: fmt.Sprintf("cannot reverse %s of payout hold %s: %s of the %s paid is left to reverse",
				money.FormatMicros(amt), holdID, money.FormatMicros(left), money.FormatMicros(h.PostedAmount))}
	}
	res = ReverseResult{TxID: newTxID(), HoldID: holdID, Amount: amt, Reversed: reversed + amt}
	if err := w.post(res.TxID, leg{extPayoutsAcc(h.Currency), -amt}, leg{availAcc(h.OwnerID, h.Currency), amt}); err != nil {
		return res, err
	}
	if res.DebtRepaid, err = w.repayDebt(res.TxID, h.OwnerID, h.Currency); err != nil {
		return res, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ledger_holds SET reversed_amount = $1 WHERE id = $2`, res.Reversed, holdID); err != nil {
		return res, fmt.Errorf("ledger: update hold %s: %w", holdID, err)
	}
	if err := w.record(res.TxID, key, hash, KindPayoutReverse, "", "", h.OwnerID, res); err != nil {
		return res, err
	}
	return res, w.flush(ctx)
}

// ReversePayout is ReversePayoutTx in a transaction of its own.
func (l *Ledger) ReversePayout(ctx context.Context, key, holdID string, amount int64) (res ReverseResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.ReversePayoutTx(ctx, tx, key, holdID, amount)
		return err
	})
	return res, err
}

func scanHoldReversed(row interface{ Scan(...any) error }, reversed *int64) (*Hold, error) {
	h := &Hold{}
	var cur string
	err := row.Scan(&h.ID, &h.TxID, &h.Kind, &h.DebitAccount, &h.CreditAccount, &cur, &h.OwnerID, &h.Amount, &h.PostedAmount, &h.State, &h.ExpiresAt, &h.CreatedAt, &h.ResolvedAt, reversed)
	h.Currency = money.Currency(cur)
	return h, err
}
