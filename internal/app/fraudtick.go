package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/store"
)

// Fraud sweep settings: the click and sales detectors (fraud.Sweep) run in
// every periodic tick over the window since the last sweep.
const (
	// sweptToSetting names the settings row holding the end (unix
	// microseconds) of the last window swept.
	sweptToSetting = "fraud_swept_to"
	// firstSweepWindow is the first sweep's window, when none ran before.
	firstSweepWindow = 24 * time.Hour
	// maxSweepWindow bounds a window after a long stop: the sweep starts
	// at most this long ago (older clicks and orders are not judged again).
	maxSweepWindow = 7 * 24 * time.Hour
	// sweepHistory is how many earlier windows of the same length a
	// creator's conversion rate is judged against.
	sweepHistory = 7
)

// fraudTick runs the click and sales detectors (fraud.Sweep: click farms,
// coordinated clicking, orders too soon after their click, conversion
// spikes, self-purchases, shared payout destinations) over the window
// since the last sweep, after writing the clicks still buffered so the
// window's clicks are all stored. The flags it raises hold the earnings
// they touch. The window's end is remembered only once the sweep
// succeeded, so a failed sweep is tried again over the same window, and a
// window swept twice raises once (flags are idempotent per window).
func (a *App) fraudTick(ctx context.Context) (fraud.SweepResult, error) {
	if a.Links != nil {
		if err := a.Links.Recorder.Flush(ctx); err != nil {
			return fraud.SweepResult{}, fmt.Errorf("fraud sweep: writing buffered clicks: %w", err)
		}
	}
	now := clock.MicrosOf(a.Clock.Now())
	from := now - clock.Micros(firstSweepWindow.Microseconds())
	var v string
	err := a.DB.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, sweptToSetting).Scan(&v)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fraud.SweepResult{}, fmt.Errorf("fraud sweep: last window: %w", err)
	default:
		last, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil {
			return fraud.SweepResult{}, fmt.Errorf("fraud sweep: last window %q: %w", v, perr)
		}
		from = clock.Micros(last)
	}
	from = max(from, now-clock.Micros(maxSweepWindow.Microseconds()))
	if from >= now {
		return fraud.SweepResult{}, nil
	}
	res, err := fraud.Sweep(ctx, a.DB, now, time.Duration(now-from)*time.Microsecond, sweepHistory)
	if err != nil {
		return res, err
	}
	if err := a.DB.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, sweptToSetting, strconv.FormatInt(int64(now), 10))
		return err
	}); err != nil {
		return res, fmt.Errorf("fraud sweep: remember the window: %w", err)
	}
	if len(res.Flags) > 0 {
		a.Log.Info("fraud sweep raised flags", "flags", len(res.Flags), "campaigns", res.Campaigns)
	}
	return res, nil
}
