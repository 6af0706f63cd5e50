package creator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// Token refresh timing.
const (
	// RefreshMargin: a token expiring within this margin is refreshed before
	// use. A long-lived token is refreshed earlier: within a twentieth of its
	// lifetime (see refreshMargin).
	RefreshMargin = 5 * time.Minute
	// refreshLease is how long a server may hold an account's refresh
	// before another server may take over (a crash mid-refresh).
	refreshLease = time.Minute
	// leaseWait bounds how long Token waits (wall clock) for another
	// server's refresh of the same account.
	leaseWait = 15 * time.Second
	leasePoll = 20 * time.Millisecond
)

// Token returns a usable token of the account with row id accountRowID,
// for the engagement pipeline. When the token expires within RefreshMargin
// it is refreshed first, and the rotated token is stored at once; an
// account is never refreshed twice concurrently, by this server or another
// sharing the database. It returns NotFound for an unknown account, an
// error matching platform.ErrReconnect (an errs Conflict, code
// reconnect_needed) when the account needs reconnecting — having marked it
// so when the platform refused the refresh —, a Conflict
// account_disconnected for a replaced account, and an Unavailable error
// (platform_unavailable or platform_rate_limited) when the platform cannot
// refresh now.
func (s *Service) Token(ctx context.Context, accountRowID string) (platform.Token, error) {
	var raw string
	a, err := s.readAccount(ctx, s.db.Read(), accountRowID, "", &raw)
	if err != nil {
		return platform.Token{}, err
	}
	return s.tokenOf(ctx, a, raw)
}

// tokenOf is Token for the account a as read, with its stored token raw.
func (s *Service) tokenOf(ctx context.Context, a Account, raw string) (platform.Token, error) {
	if err := usable(a); err != nil {
		return platform.Token{}, err
	}
	accountRowID := a.ID
	tok, err := s.decodeToken(a.Platform, a.AccountID, raw)
	if err != nil {
		return platform.Token{}, err
	}
	if !tok.NeedsRefresh(s.clock.Now(), refreshMargin(tok)) {
		return tok, nil
	}
	return s.refresh(ctx, accountRowID, tok.AccessToken)
}

// refreshMargin is how long before its expiry tok is refreshed:
// RefreshMargin, or a twentieth of its lifetime when that is longer. A
// token is refreshed only when used, and an Instagram token (60 days, no
// refresh token) cannot be refreshed once expired: with a margin of
// minutes, an account polled every 15 minutes would often miss it and need
// reconnecting; with three days it cannot.
func refreshMargin(tok platform.Token) time.Duration {
	if tok.IssuedAt.IsZero() || !tok.ExpiresAt.After(tok.IssuedAt) {
		return RefreshMargin
	}
	return max(RefreshMargin, tok.ExpiresAt.Sub(tok.IssuedAt)/20)
}

// WithToken calls fn with the account's connector and a usable token (see
// Token). When fn fails with an error matching platform.ErrReconnect while
// the token can still be refreshed, the token is refreshed (unless another
// caller did already) and fn is called once more; when it fails so again,
// the account is marked reconnect_needed and WithToken returns an error
// matching platform.ErrReconnect. fn's other errors are returned with
// rate limits and outages as Unavailable errors (see Token).
func (s *Service) WithToken(ctx context.Context, accountRowID string, fn func(ctx context.Context, c platform.Connector, tok platform.Token) error) error {
	var raw string
	a, err := s.readAccount(ctx, s.db.Read(), accountRowID, "", &raw)
	if err != nil {
		return err
	}
	conn, err := s.platforms.Get(a.Platform)
	if err != nil {
		return err
	}
	tok, err := s.tokenOf(ctx, a, raw)
	if err != nil {
		return err
	}
	err = fn(ctx, conn, tok)
	if errors.Is(err, platform.ErrReconnect) && tok.CanRefresh(s.clock.Now()) {
		tok, err = s.refresh(ctx, accountRowID, tok.AccessToken)
		if err != nil {
			return err
		}
		err = fn(ctx, conn, tok)
	}
	if errors.Is(err, platform.ErrReconnect) {
		if merr := s.MarkReconnect(context.WithoutCancel(ctx), accountRowID, err.Error()); merr != nil {
			return merr
		}
		return reconnectErr(a, err.Error(), err)
	}
	if err != nil {
		return platformErr(a.Platform, err)
	}
	return nil
}

// usable returns nil for a connected account, and the error Token returns
// otherwise.
func usable(a Account) error {
	switch a.Status {
	case StatusConnected:
		return nil
	case StatusReconnectNeeded:
		return reconnectErr(a, a.StatusReason, nil)
	}
	return errs.Conflictf("account_disconnected", "the %s account @%s was disconnected: %s", a.Platform, a.Handle, a.StatusReason)
}

func reconnectErr(a Account, reason string, cause error) error {
	if cause == nil {
		cause = platform.ErrReconnect
	}
	msg := fmt.Sprintf("the %s account @%s must be reconnected", a.Platform, a.Handle)
	if reason != "" {
		msg += ": " + reason
	}
	return &errs.Error{Kind: errs.Conflict, Code: "reconnect_needed", Message: msg, Err: cause}
}

func (s *Service) accountLock(rowID string) *sync.Mutex {
	mu, _ := s.locks.LoadOrStore(rowID, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

// refresh refreshes the account's token unless its stored access token is
// no longer seenAccess (someone refreshed it meanwhile: that one is
// returned). One caller per account refreshes at a time: callers in this
// process queue on a mutex, and servers sharing the database take a lease
// on the account row (refresh_lease_owner/until) in a short transaction, so
// no database transaction stays open during the platform call (the sandbox
// may share the database, and SQLite has one writer).
func (s *Service) refresh(ctx context.Context, rowID, seenAccess string) (platform.Token, error) {
	mu := s.accountLock(rowID)
	mu.Lock()
	defer mu.Unlock()
	deadline := time.Now().Add(leaseWait)
	owner := id.Secret(10)
	for {
		var a Account
		var tok platform.Token
		var done, claimed bool
		err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			var raw, leaseOwner string
			var leaseUntil int64
			var err error
			done, claimed = false, false
			a, err = s.readAccount(ctx, tx, rowID, tx.ForUpdate(), &raw, &leaseOwner, &leaseUntil)
			if err != nil {
				return err
			}
			if err := usable(a); err != nil {
				return err
			}
			if tok, err = s.decodeToken(a.Platform, a.AccountID, raw); err != nil {
				return err
			}
			now := s.clock.Now()
			if tok.AccessToken != seenAccess {
				done = true
				return nil
			}
			if leaseOwner != "" && leaseOwner != owner && leaseUntil > now.UnixMicro() {
				return nil // another server is refreshing
			}
			if _, err := tx.ExecContext(ctx, `UPDATE creator_accounts SET refresh_lease_owner = $1, refresh_lease_until = $2 WHERE id = $3`,
				owner, now.Add(refreshLease).UnixMicro(), rowID); err != nil {
				return fmt.Errorf("creator: take refresh lease: %w", err)
			}
			claimed = true
			return nil
		})
		switch {
		case err != nil:
			return platform.Token{}, err
		case done:
			return tok, nil
		case !claimed:
			if time.Now().After(deadline) {
				return platform.Token{}, errs.Conflictf("refresh_in_progress", "the token of account %s is being refreshed by another server: try again", rowID)
			}
			t := time.NewTimer(leasePoll)
			select {
			case <-ctx.Done():
				t.Stop()
				return platform.Token{}, ctx.Err()
			case <-t.C:
			}
			continue
		}
		return s.refreshLeased(ctx, a, tok, owner)
	}
}

// refreshLeased calls the platform holding the lease, and stores the
// outcome at once (even if ctx ends meanwhile: a rotated refresh token that
// is not stored is lost).
func (s *Service) refreshLeased(ctx context.Context, a Account, tok platform.Token, owner string) (platform.Token, error) {
	bg := context.WithoutCancel(ctx)
	release := func(set string, args ...any) error {
		args = append(args, a.ID, owner)
		n := len(args)
		q := fmt.Sprintf(`UPDATE creator_accounts SET %s refresh_lease_owner = '', refresh_lease_until = 0 WHERE id = $%d AND refresh_lease_owner = $%d`, set, n-1, n)
		return s.db.WithTx(bg, func(tx *store.Tx) error {
			_, err := tx.ExecContext(bg, q, args...)
			if err != nil {
				return fmt.Errorf("creator: end refresh of %s: %w", a.ID, err)
			}
			return nil
		})
	}
	conn, err := s.platforms.Get(a.Platform)
	if err != nil {
		return platform.Token{}, errors.Join(err, release(""))
	}
	fresh, err := conn.Refresh(ctx, tok)
	now := s.clock.Now().UnixMicro()
	switch {
	case errors.Is(err, platform.ErrReconnect):
		reason := trimReason("token refresh refused: " + err.Error())
		if rerr := release(`status = $1, status_reason = $2, updated_at = $3,`, StatusReconnectNeeded, reason, now); rerr != nil {
			return platform.Token{}, rerr
		}
		return platform.Token{}, reconnectErr(a, reason, err)
	case err != nil:
		return platform.Token{}, errors.Join(platformErr(a.Platform, err), release(""))
	}
	if fresh.AccountID == "" {
		fresh.AccountID = tok.AccountID
	}
	enc, err := s.encodeToken(a.Platform, a.AccountID, fresh)
	if err != nil {
		return platform.Token{}, errors.Join(err, release(""))
	}
	if err := release(`token = $1, updated_at = $2,`, enc, now); err != nil {
		return platform.Token{}, err
	}
	return fresh, nil
}

func trimReason(r string) string {
	const maxReason = 500
	if len(r) <= maxReason {
		return r
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(r[cut]) {
		cut--
	}
	return r[:cut]
}

// MarkReconnect marks the account reconnect_needed with reason (shown to
// the creator), as the engagement pipeline does when the platform refuses
// the account's token for good. A disconnected account stays disconnected.
// It returns NotFound for an unknown account.
func (s *Service) MarkReconnect(ctx context.Context, accountRowID, reason string) error {
	if reason == "" {
		reason = "the platform refused the account's authorization"
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		a, err := s.readAccount(ctx, tx, accountRowID, tx.ForUpdate())
		if err != nil {
			return err
		}
		if a.Status == StatusDisconnected {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE creator_accounts SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4`,
			StatusReconnectNeeded, trimReason(reason), s.clock.Now().UnixMicro(), accountRowID); err != nil {
			return fmt.Errorf("creator: mark %s reconnect_needed: %w", accountRowID, err)
		}
		return nil
	})
}
