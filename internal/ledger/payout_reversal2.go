package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/store"
)

// ReversePayoutToTx brings the reversed amount of the posted payout hold
// holdID up to total, inside the caller's transaction: when the hold has
// less than total reversed (capped at what was posted), the difference is
// reversed as ReversePayoutTx does, under key; when it has total or more
// reversed already, nothing is written and the result's Amount is 0. It
// is for a provider that reports how much of a payout came back in all (a
// Stripe transfer's amount_reversed): applying every such report, in any
// order, any number of times, reverses exactly the largest total reported,
// never twice. The caller's key should name total (the same key is only
// ever used for the same total). It returns Invalid for a bad key, id or
// a total that is not positive, NotFound for an unknown hold, and Conflict
// hold_not_posted for a hold that is not a posted payout.
func (l *Ledger) ReversePayoutToTx(ctx context.Context, tx *store.Tx, key, holdID string, total int64) (ReverseResult, error) {
	var c errs.Collector
	c.Add("idempotency_key", checkKey(key))
	c.Add("hold_id", checkID("hold_id", holdID))
	if total <= 0 {
		c.Addf("total", "not_positive", "the total reversed must be positive")
	}
	if err := c.Err(); err != nil {
		return ReverseResult{}, err
	}
	var reversed int64
	h, err := scanHoldReversed(tx.QueryRowContext(ctx, `SELECT `+holdCols+`, reversed_amount FROM ledger_holds WHERE id = $1`+tx.ForUpdate(), holdID), &reversed)
	if errors.Is(err, sql.ErrNoRows) {
		return ReverseResult{}, errs.NotFoundf("hold %s not found", holdID)
	}
	if err != nil {
		return ReverseResult{}, fmt.Errorf("ledger: lock hold %s: %w", holdID, err)
	}
	if h.Kind != KindPayoutHold || h.State != HoldPosted {
		return ReverseResult{}, errs.Conflictf("hold_not_posted", "hold %s is not a posted payout", holdID)
	}
	want := min(total, h.PostedAmount)
	if want <= reversed {
		return ReverseResult{HoldID: holdID, Reversed: reversed}, nil
	}
	return l.ReversePayoutTx(ctx, tx, key, holdID, want-reversed)
}
