package payout

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
)

// Destination is what payper knows about where a creator is paid through a
// provider — never the destination itself, which stays sealed: the status
// of their account there (AccountEvent), and the last payout out of that
// account's own balance that failed.
type Destination struct {
	Provider string `json:"provider"`
	// Status is AccountReady, AccountOnboarding, AccountRestricted, or ""
	// when the provider said nothing yet (payouts are sent).
	Status string `json:"status"`
	// StatusReason says why the account is not ready.
	StatusReason string       `json:"status_reason,omitempty"`
	StatusAt     clock.Micros `json:"status_at,omitempty"`
	// PayoutFailure is the provider's message about the last payout from
	// the creator's provider balance to their bank that failed (the money
	// is in that balance; payper's payout stayed paid).
	PayoutFailure   string       `json:"payout_failure,omitempty"`
	PayoutFailureAt clock.Micros `json:"payout_failure_at,omitempty"`
	UpdatedAt       clock.Micros `json:"updated_at"`
}

// waits reports whether payouts to a destination in status wait for it.
func waits(status string) bool { return status == AccountOnboarding || status == AccountRestricted }

// accountKey is the key a provider's account id is found by (the
// account_key column): a hash, as the destination is sealed at rest.
func accountKey(provider, account string) string {
	sum := sha256.Sum256([]byte(provider + ":" + account))
	return hex.EncodeToString(sum[:])
}

// Destinations returns where the creator p acts for is paid, one per
// provider, with what the provider last said about their account. It
// returns Forbidden for other keys.
func (s *Service) Destinations(ctx context.Context, p identity.Principal) ([]Destination, error) {
	if p.CreatorID() == "" {
		return nil, errs.E(errs.Forbidden, "forbidden", "payout destinations are a creator's")
	}
	out, err := store.QueryAll(ctx, s.db.Read(), func(r store.Scanner) (Destination, error) {
		var d Destination
		return d, r.Scan(&d.Provider, &d.Status, &d.StatusReason, &d.StatusAt, &d.PayoutFailure, &d.PayoutFailureAt, &d.UpdatedAt)
	}, `SELECT provider, status, status_reason, status_at, payout_failure, payout_failure_at, updated_at
		FROM payout_destinations WHERE creator_id = $1 ORDER BY provider`, p.CreatorID())
	if err != nil {
		return nil, fmt.Errorf("payout: destinations: %w", err)
	}
	return out, nil
}

// destStatus reads the status of a creator's destination ("" when none).
func (s *Service) destStatus(ctx context.Context, q store.Queryer, creatorID, provider string) (status, reason string, err error) {
	err = q.QueryRowContext(ctx, `SELECT status, status_reason FROM payout_destinations WHERE creator_id = $1 AND provider = $2`,
		creatorID, provider).Scan(&status, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("payout: read destination status: %w", err)
	}
	return status, reason, nil
}

// waitReason is a waiting payout's reason.
func waitReason(provider, status, reason string) string {
	if reason == "" {
		reason = "the account is " + status
	}
	return fmt.Sprintf(waitPrefix+"%s account: %s", provider, reason)
}

// findAccount returns the creator whose destination through provider is
// account, inside tx. Destinations stored before their account_key existed
// are keyed on the way. It returns NotFound for an account payper does not
// know.
func (s *Service) findAccount(ctx context.Context, tx *store.Tx, provider, account string) (string, error) {
	key := accountKey(provider, account)
	find := func() (string, error) {
		var creator string
		err := tx.QueryRowContext(ctx, `SELECT creator_id FROM payout_destinations WHERE provider = $1 AND account_key = $2`+tx.ForUpdate(),
			provider, key).Scan(&creator)
		if errors.Is(err, sql.ErrNoRows) {
			return "", errs.NotFoundf("no creator is paid to %s account %s", provider, account)
		}
		return creator, err
	}
	creator, err := find()
	if !errs.Is(err, errs.NotFound) || s.box == nil {
		return creator, err
	}
	type row struct{ creator, sealed string }
	old, err := store.QueryAll(ctx, tx, func(r store.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.creator, &x.sealed)
	}, `SELECT creator_id, destination FROM payout_destinations WHERE provider = $1 AND account_key = ''`, provider)
	if err != nil {
		return "", err
	}
	for _, o := range old {
		dest, err := s.box.Open(o.sealed, destAAD(o.creator, provider))
		if err != nil {
			s.log.Warn("payout destination cannot be opened to key it", "creator", o.creator, "provider", provider, "err", err)
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payout_destinations SET account_key = $1 WHERE creator_id = $2 AND provider = $3`,
			accountKey(provider, dest), o.creator, provider); err != nil {
			return "", err
		}
	}
	return find()
}

// accountEvent takes a provider's news about a creator's account (see
// Webhook) inside one transaction: de-duplicated by event id, the status
// recorded on the creator's destination unless older than the one stored,
// a failed payout out of the account's balance recorded and logged (the
// ledger is not touched: the money is in the creator's provider balance).
// An account payper does not know is logged and ignored.
func (s *Service) accountEvent(ctx context.Context, provider string, ev AccountEvent) error {
	now := s.clock.Now()
	at := ev.At
	if at.IsZero() || at.After(now) {
		at = now
	}
	var creator string
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		creator, err = s.findAccount(ctx, tx, provider, ev.Account)
		if errs.Is(err, errs.NotFound) {
			creator = ""
			return nil
		}
		if err != nil {
			return err
		}
		if ev.ID != "" {
			res, err := tx.ExecContext(ctx, `INSERT INTO payout_events (provider, event_id, payout_id, received_at) VALUES ($1, $2, '', $3)
				ON CONFLICT (provider, event_id) DO NOTHING`, provider, ev.ID, now.UnixMicro())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				creator = ""
				return nil // a redelivery
			}
		}
		if ev.Status != "" {
			res, err := tx.ExecContext(ctx, `UPDATE payout_destinations SET status = $1, status_reason = $2, status_at = $3
				WHERE creator_id = $4 AND provider = $5 AND status_at <= $3`, ev.Status, ev.Reason, at.UnixMicro(), creator, provider)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				if err := s.markWaiting(ctx, tx, creator, provider, ev.Status, ev.Reason); err != nil {
					return err
				}
			}
		}
		if ev.PayoutFailure != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE payout_destinations SET payout_failure = $1, payout_failure_at = $2
				WHERE creator_id = $3 AND provider = $4 AND payout_failure_at <= $2`, ev.PayoutFailure, at.UnixMicro(), creator, provider); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("payout: account event: %w", err)
	}
	switch {
	case creator == "":
		s.log.Info("payout account event ignored (unknown account or redelivery)", "provider", provider, "event", ev.ID)
	case ev.PayoutFailure != "":
		s.log.Warn("a creator's payout from their provider balance failed; payper's ledger is unchanged", "provider", provider,
			"creator", creator, "event", ev.ID, "failure", ev.PayoutFailure)
	case ev.Status != "":
		s.log.Info("payout account status", "provider", provider, "creator", creator, "event", ev.ID, "status", ev.Status, "reason", ev.Reason)
	}
	return nil
}

// waitPrefix starts the reason of a payout waiting for its account.
const waitPrefix = "waits for the "

// markWaiting says on the creator's requested payouts through provider why
// they wait for an account in status (or that they no longer do).
func (s *Service) markWaiting(ctx context.Context, tx *store.Tx, creatorID, provider, status, reason string) error {
	wait := ""
	if waits(status) {
		wait = waitReason(provider, status, reason)
	}
	_, err := tx.ExecContext(ctx, `UPDATE payouts SET reason = $1, updated_at = $2
		WHERE creator_id = $3 AND provider = $4 AND state = $5 AND (reason = '' OR reason LIKE $6) AND reason <> $1`,
		wait, s.clock.Now().UnixMicro(), creatorID, provider, StateRequested, waitPrefix+"%")
	return err
}

// recordStatus stores the status CheckAccount read for a creator's
// destination, as of now.
func (s *Service) recordStatus(ctx context.Context, creatorID, provider string, ev AccountEvent) error {
	now := s.clock.Now().UnixMicro()
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE payout_destinations SET status = $1, status_reason = $2, status_at = $3
			WHERE creator_id = $4 AND provider = $5 AND status_at <= $3`, ev.Status, ev.Reason, now, creatorID, provider)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return s.markWaiting(ctx, tx, creatorID, provider, ev.Status, ev.Reason)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("payout: record account status: %w", err)
	}
	return nil
}

// DefaultSettleAfter is how long a payout sent to its provider waits for
// the provider's webhook before the operator may settle it by hand (see
// MarkManual), unless configured.
const DefaultSettleAfter = 72 * time.Hour
