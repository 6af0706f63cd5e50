package fraud

import (
	"context"
	"fmt"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
)

// SweepResult counts what Sweep raised.
type SweepResult struct {
	Campaigns int
	Flags     []Flag
}

// Sweep runs the click and sales detectors over the window of length
// window ending at now, for the server's campaigns that had clicks or
// attributed orders in it: per campaign DetectClicksTx and DetectSalesTx
// (against the history previous windows of the same length), then
// coordinated clicking across campaigns (LockstepFlags, at the operator's
// default sensitivity) and shared payout destinations. Each campaign is its
// own transaction. It is for a periodic job (a day's window once a day, or
// an hour's every hour); the flags it raises are idempotent per window,
// so a window swept twice raises once.
func Sweep(ctx context.Context, db *store.DB, now clock.Micros, window time.Duration, history int) (SweepResult, error) {
	var res SweepResult
	from := now - clock.Micros(window.Microseconds())
	camps, err := store.QueryAll(ctx, db.Read(), func(r store.Scanner) (string, error) {
		var c string
		return c, r.Scan(&c)
	}, `SELECT DISTINCT l.campaign_id FROM clicks c JOIN links l ON l.id = c.link_id WHERE c.at >= $1 AND c.at < $2
		UNION SELECT DISTINCT campaign_id FROM conversions WHERE placed_at >= $1 AND placed_at < $2 ORDER BY 1`, int64(from), int64(now))
	if err != nil {
		return res, fmt.Errorf("fraud: sweep: campaigns: %w", err)
	}
	var all []Click
	for _, c := range camps {
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			fs, err := DetectClicksTx(ctx, tx, now, c, from, now)
			if err != nil {
				return err
			}
			ss, err := DetectSalesTx(ctx, tx, now, c, from, now, history)
			if err != nil {
				return err
			}
			res.Flags = append(append(res.Flags, fs...), ss...)
			return nil
		}); err != nil {
			return res, fmt.Errorf("fraud: sweep campaign %s: %w", c, err)
		}
		clicks, err := LoadClicks(ctx, db.Read(), c, from, now)
		if err != nil {
			return res, err
		}
		all = append(all, clicks...)
		res.Campaigns++
	}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		sens, err := SensitivityOf(ctx, tx, "")
		if err != nil {
			return err
		}
		fs, err := raiseAll(ctx, tx, now, LockstepFlags(all, sens, from, now))
		if err != nil {
			return err
		}
		ds, err := DetectSharedDestinationsTx(ctx, tx, now)
		if err != nil {
			return err
		}
		res.Flags = append(append(res.Flags, fs...), ds...)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("fraud: sweep: %w", err)
	}
	return res, nil
}
