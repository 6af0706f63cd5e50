package ledger

import (
	"context"
	"fmt"

	"github.com/payper/payper/internal/store"
)

// HeldWith returns what a creator holds from one campaign (their earnings
// still in the holding period), read through q — pass the caller's
// transaction to read under its locks. A creator with no earnings holds 0.
func (l *Ledger) HeldWith(ctx context.Context, q store.Queryer, campaignID, creatorID string) (int64, error) {
	var held int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(posted), 0) FROM ledger_accounts WHERE id = $1`, heldAcc(campaignID, creatorID)).Scan(&held)
	if err != nil {
		return 0, fmt.Errorf("ledger: read held earnings of %s in %s: %w", creatorID, campaignID, err)
	}
	return held, nil
}
