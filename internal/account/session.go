package account

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
)

// Throttle limits failed sign-ins, per account and per client address, as
// OWASP's Authentication Cheat Sheet asks ("Login Throttling": lock out
// after a few failed attempts, with the lockout growing; count per account
// so an attacker cannot spread guesses over many addresses, and per address
// so one address cannot spray many accounts). After Limit failures within
// Window a key is locked for Lock, doubled for each further failure up to
// MaxLock. The counts live in the database, so every server sees them.
type Throttle struct {
	AccountLimit int           // failures per account before a lock; 5
	AddressLimit int           // failures per client address before a lock; 20 (offices share addresses)
	Window       time.Duration // failures older than this are forgotten; 15 minutes
	Lock         time.Duration // the first lock; 1 minute
	MaxLock      time.Duration // the longest lock; 1 hour
}

// DefaultThrottle: 5 failures per account or 20 per address in 15 minutes
// lock for 1 minute, then 2, 4, … up to an hour.
var DefaultThrottle = Throttle{AccountLimit: 5, AddressLimit: 20, Window: 15 * time.Minute, Lock: time.Minute, MaxLock: time.Hour}

func (t Throttle) withDefaults() Throttle {
	d := DefaultThrottle
	if t.AccountLimit > 0 {
		d.AccountLimit = t.AccountLimit
	}
	if t.AddressLimit > 0 {
		d.AddressLimit = t.AddressLimit
	}
	if t.Window > 0 {
		d.Window = t.Window
	}
	if t.Lock > 0 {
		d.Lock = t.Lock
	}
	if t.MaxLock > 0 {
		d.MaxLock = t.MaxLock
	}
	return d
}

// ThrottledError says a sign-in was refused without checking the password
// because the account or the address failed too often; it is wrapped in the
// *errs.Error that Login returns (code "too_many_attempts"), for the HTTP
// layer to answer 429 with a Retry-After header.
type ThrottledError struct {
	RetryAfter time.Duration
}

// RetryAfterSeconds is RetryAfter in whole seconds, rounded up, at least 1:
// the value of an HTTP Retry-After header.
func (e *ThrottledError) RetryAfterSeconds() int {
	return max(1, int((e.RetryAfter+time.Second-1)/time.Second))
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins; try again in %s", e.RetryAfter.Round(time.Second))
}

// throttled is the error of a refused attempt: code "too_many_attempts"
// wrapping a *ThrottledError (HTTP: 429 with Retry-After).
func throttled(wait time.Duration) error {
	te := &ThrottledError{RetryAfter: wait}
	return &errs.Error{Kind: errs.Unauthorized, Code: "too_many_attempts", Message: te.Error(), Err: te}
}

// ErrBadCredentials is Login's answer for an unknown email or a wrong
// password (the same for both, so it does not tell who has an account).
var ErrBadCredentials = &errs.Error{Kind: errs.Unauthorized, Code: "invalid_credentials", Message: "wrong email or password"}

// ErrNoSession is Lookup's answer for a missing, unknown, expired or
// revoked session token.
var ErrNoSession = &errs.Error{Kind: errs.Unauthorized, Code: "unauthorized", Message: "not signed in, or the session expired"}

// Auth is a signed-in user, as a session token resolves to.
type Auth struct {
	User User `json:"user"`
	// Principal is who the user acts as, as with an API key.
	Principal identity.Principal `json:"principal"`
	SessionID string             `json:"session_id"`
	// ExpiresAt is the absolute end of the session; IdleExpiresAt when it
	// ends if unused.
	ExpiresAt     clock.Micros `json:"expires_at"`
	IdleExpiresAt clock.Micros `json:"idle_expires_at"`
}

// Login is a sign-in attempt.
type Login struct {
	Email    string
	Password string
	// Address is the client's IP address (from the connection, or from a
	// trusted proxy's header), for the per-address throttle.
	Address   string
	UserAgent string
	// OldToken is the session cookie the browser sent with the sign-in, if
	// any: it is revoked, so a token planted before sign-in is useless after.
	OldToken string
}

// NewSession is a session just made: Token goes in the cookie (shown once;
// only its SHA-256 is stored).
type NewSession struct {
	Token string `json:"-"`
	Auth
}

// newSessionToken returns 32 random bytes, base64url-encoded (43 characters).
func newSessionToken() string {
	b := make([]byte, 32)
	readRandom(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func throttleKeys(emailKey, addr string) []string {
	keys := []string{"acct:" + emailKey}
	if addr != "" {
		keys = append(keys, "addr:"+addr)
	}
	return keys
}

// lockedFor returns how long the longest lock on keys still lasts.
func (s *Service) lockedFor(ctx context.Context, keys []string, now time.Time) (time.Duration, error) {
	var wait time.Duration
	for _, k := range keys {
		var until int64
		err := s.db.Read().QueryRowContext(ctx, `SELECT locked_until FROM login_throttle WHERE key = $1`, k).Scan(&until)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("account: read throttle: %w", err)
		}
		if d := time.UnixMicro(until).Sub(now); d > wait {
			wait = d
		}
	}
	return wait, nil
}

// count counts one sign-in attempt against each key and locks a key that
// reached its limit, in one transaction. When a key is locked already it
// counts nothing and returns how long the lock lasts.
func (s *Service) count(ctx context.Context, keys []string, now time.Time) (time.Duration, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	t := s.cfg.Throttle
	var wait time.Duration
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		wait = 0
		type row struct{ failures, start, until int64 }
		rows := make([]row, len(keys))
		for i, k := range keys {
			nowU := now.UnixMicro()
			// Make the row first, so the SELECT … FOR UPDATE below always
			// locks one: two failures at once are both counted.
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, 0, $2, 0)
				ON CONFLICT (key) DO NOTHING`, k, nowU); err != nil {
				return fmt.Errorf("account: record failed sign-in: %w", err)
			}
			var failures, start, until int64
			if err := tx.QueryRowContext(ctx, `SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1`+tx.ForUpdate(), k).
				Scan(&failures, &start, &until); err != nil {
				return fmt.Errorf("account: read throttle: %w", err)
			}
			if until > nowU {
				wait = max(wait, time.UnixMicro(until).Sub(now))
			}
			rows[i] = row{failures, start, until}
		}
		if wait > 0 {
			return nil
		}
		for i, k := range keys {
			limit := t.AccountLimit
			if strings.HasPrefix(k, "addr:") {
				limit = t.AddressLimit
			}
			nowU := now.UnixMicro()
			failures, start, until := rows[i].failures, rows[i].start, rows[i].until
			if nowU >= start+t.Window.Microseconds() {
				failures, start, until = 0, nowU, 0
			}
			failures++
			if failures >= int64(limit) {
				lock := t.Lock
				for i := int64(limit); i < failures && lock < t.MaxLock; i++ {
					lock *= 2
				}
				until = now.Add(min(lock, t.MaxLock)).UnixMicro()
			}
			if _, err := tx.ExecContext(ctx, `UPDATE login_throttle SET failures = $2, window_start = $3, locked_until = $4 WHERE key = $1`,
				k, failures, start, until); err != nil {
				return fmt.Errorf("account: record sign-in attempt: %w", err)
			}
		}
		return nil
	})
	return wait, err
}

// Login checks an email and password and starts a new session. The
// session a browser sent along (OldToken) is revoked, so no token chosen
// before sign-in survives it. A hash made with weaker parameters than the
// Service's is replaced. It returns ErrBadCredentials (with nothing telling
// whether the account exists), Unauthorized "too_many_attempts" wrapping a
// *ThrottledError while the account or address is locked (the password is
// then not even checked), Forbidden "brand_pending" or "brand_rejected" for
// a brand the operator has not approved, or Invalid for a malformed email.
func (s *Service) Login(ctx context.Context, in Login) (NewSession, error) {
	_, key, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return NewSession{}, err
	}
	now := s.clock.Now()
	keys := throttleKeys(key, in.Address)
	if wait, err := s.lockedFor(ctx, keys, now); err != nil {
		return NewSession{}, err
	} else if wait > 0 {
		return NewSession{}, throttled(wait)
	}
	if wait, err := s.count(ctx, keys[:1], now); err != nil {
		return NewSession{}, err
	} else if wait > 0 {
		return NewSession{}, throttled(wait)
	}
	var hash, brandState string
	u, err := scanUser(s.db.Read().QueryRowContext(ctx, `SELECT `+userCols+`, u.password_hash, COALESCE(b.state, '') FROM users u
		LEFT JOIN brand_signups b ON b.brand_id = u.brand_id AND u.brand_id <> '' WHERE u.email_key = $1`, key), &hash, &brandState)
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return NewSession{}, fmt.Errorf("account: read user: %w", err)
	}
	if !found {
		s.dummyOnce.Do(func() { s.dummyHash = HashPassword(id.Secret(16), s.cfg.Params) })
		hash = s.dummyHash
	}
	ok, stale, verr := s.verify(ctx, hash, in.Password)
	if verr != nil {
		return NewSession{}, fmt.Errorf("account: user %s: %w", u.ID, verr)
	}
	if !found || !ok {
		if _, err := s.count(ctx, keys[1:], now); err != nil {
			return NewSession{}, err
		}
		return NewSession{}, ErrBadCredentials
	}
	if brandState == BrandPending || brandState == BrandRejected {
		// The password was right: its attempt does not count.
		if err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, keys[0])
			return err
		}); err != nil {
			return NewSession{}, fmt.Errorf("account: clear throttle: %w", err)
		}
		if brandState == BrandPending {
			return NewSession{}, errs.E(errs.Forbidden, "brand_pending", "your brand is waiting for the operator's approval")
		}
		return NewSession{}, errs.E(errs.Forbidden, "brand_rejected", "the operator did not approve your brand")
	}
	var newHash string
	if stale {
		if newHash, err = s.hash(ctx, in.Password); err != nil {
			return NewSession{}, err
		}
	}
	tok := newSessionToken()
	ns := NewSession{Token: tok, Auth: Auth{User: u, Principal: u.Principal(), SessionID: id.New(prefixSession),
		ExpiresAt: clock.MicrosOf(now.Add(s.cfg.SessionAbsolute)), IdleExpiresAt: clock.MicrosOf(now.Add(s.cfg.SessionIdle))}}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, keys[0]); err != nil {
			return fmt.Errorf("account: clear throttle: %w", err)
		}
		if in.OldToken != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE hash = $2 AND revoked_at = 0`, now.UnixMicro(), hashToken(in.OldToken)); err != nil {
				return fmt.Errorf("account: revoke old session: %w", err)
			}
		}
		if newHash != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3`, newHash, u.ID, hash); err != nil {
				return fmt.Errorf("account: re-hash password: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, id, user_id, created_at, last_seen_at, expires_at, address, user_agent) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)`,
			hashToken(tok), ns.SessionID, u.ID, now.UnixMicro(), int64(ns.ExpiresAt), clip(in.Address, 100), clip(in.UserAgent, 300)); err != nil {
			return fmt.Errorf("account: insert session: %w", err)
		}
		return nil
	})
	if err != nil {
		return NewSession{}, err
	}
	return ns, nil
}

func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "")
	for len(s) > n {
		s = strings.ToValidUTF8(s[:n], "")
	}
	return s
}

// touchEvery is how stale last_seen_at may get before Lookup writes it:
// at most one write a minute per session, not one per request.
const touchEvery = time.Minute

// Lookup returns who a session token signs in, and extends the session's
// idle expiry. It returns ErrNoSession for an empty, unknown, revoked,
// idle-expired or absolutely expired token, and Forbidden "brand_pending"
// or "brand_rejected" when the user's brand is not approved.
func (s *Service) Lookup(ctx context.Context, tok string) (Auth, error) {
	if tok == "" || len(tok) > 200 {
		return Auth{}, ErrNoSession
	}
	now := s.clock.Now()
	h := hashToken(tok)
	var a Auth
	var lastSeen, revoked int64
	var brandState string
	u, err := scanUser(s.db.Read().QueryRowContext(ctx, `SELECT `+userCols+`, s.id, s.last_seen_at, s.expires_at, s.revoked_at, COALESCE(b.state, '')
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN brand_signups b ON b.brand_id = u.brand_id AND u.brand_id <> ''
		WHERE s.hash = $1`, h), &a.SessionID, &lastSeen, &a.ExpiresAt, &revoked, &brandState)
	if errors.Is(err, sql.ErrNoRows) {
		return Auth{}, ErrNoSession
	}
	if err != nil {
		return Auth{}, fmt.Errorf("account: read session: %w", err)
	}
	nowU := now.UnixMicro()
	if revoked != 0 || nowU >= int64(a.ExpiresAt) || nowU >= lastSeen+s.cfg.SessionIdle.Microseconds() {
		return Auth{}, ErrNoSession
	}
	switch brandState {
	case BrandPending:
		return Auth{}, errs.E(errs.Forbidden, "brand_pending", "your brand is waiting for the operator's approval")
	case BrandRejected:
		return Auth{}, errs.E(errs.Forbidden, "brand_rejected", "the operator did not approve your brand")
	}
	if nowU-lastSeen >= touchEvery.Microseconds() {
		if err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE hash = $2 AND last_seen_at < $1`, nowU, h)
			return err
		}); err != nil {
			return Auth{}, fmt.Errorf("account: touch session: %w", err)
		}
		lastSeen = nowU
	}
	a.User, a.Principal = u, u.Principal()
	a.IdleExpiresAt = clock.Micros(min(lastSeen+s.cfg.SessionIdle.Microseconds(), int64(a.ExpiresAt)))
	return a, nil
}

// Logout revokes the session of tok. An unknown or already revoked token
// is not an error (signing out twice is harmless).
func (s *Service) Logout(ctx context.Context, tok string) error {
	if tok == "" {
		return nil
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE hash = $2 AND revoked_at = 0`, s.clock.Now().UnixMicro(), hashToken(tok)); err != nil {
			return fmt.Errorf("account: revoke session: %w", err)
		}
		return nil
	})
}

// LogoutEverywhere revokes every session of userID and returns how many
// were still live.
func (s *Service) LogoutEverywhere(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0 AND expires_at > $1`, s.clock.Now().UnixMicro(), userID)
		if err != nil {
			return fmt.Errorf("account: revoke sessions: %w", err)
		}
		n, err = r.RowsAffected()
		return err
	})
	return int(n), err
}

// revokeSessions revokes every live session of userID but the one whose
// hash is keep ("" keeps none).
func revokeSessions(ctx context.Context, tx *store.Tx, now time.Time, userID, keep string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0 AND hash <> $3`, now.UnixMicro(), userID, keep); err != nil {
		return fmt.Errorf("account: revoke sessions: %w", err)
	}
	return nil
}

// ChangePassword sets a new password for the user signed in with tok after
// checking the current one, and signs out every other session of that
// user (tok's stays). Wrong current passwords are throttled as sign-ins
// are (Throttle's AccountLimit per user, on a key of their own). It returns
// ErrNoSession for a bad token, Invalid on field current_password for a
// wrong current password, "too_many_attempts" wrapping a *ThrottledError
// while locked (the password is then not checked), or Invalid on field
// password for a new one that breaks the rules; nothing changes on error.
func (s *Service) ChangePassword(ctx context.Context, tok, current, password string) error {
	a, err := s.Lookup(ctx, tok)
	if err != nil {
		return err
	}
	if err := CheckPassword("password", password, a.User.Email); err != nil {
		return err
	}
	// The current-password check is throttled like a sign-in, on a key of
	// its own (a stolen session must not guess the password freely, nor
	// lock the owner out of signing in).
	keys := []string{"chpw:" + a.User.ID}
	now := s.clock.Now()
	if wait, err := s.lockedFor(ctx, keys, now); err != nil {
		return err
	} else if wait > 0 {
		return throttled(wait)
	}
	if wait, err := s.count(ctx, keys, now); err != nil {
		return err
	} else if wait > 0 {
		return throttled(wait)
	}
	var hash string
	if err := s.db.Read().QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = $1`, a.User.ID).Scan(&hash); err != nil {
		return fmt.Errorf("account: read user: %w", err)
	}
	ok, _, err := s.verify(ctx, hash, current)
	if err != nil {
		return fmt.Errorf("account: user %s: %w", a.User.ID, err)
	}
	if !ok {
		return errs.Invalidf("current_password", "wrong_password", "the current password is wrong")
	}
	newHash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		r, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3 AND password_hash = $4`, newHash, now.UnixMicro(), a.User.ID, hash)
		if err != nil {
			return fmt.Errorf("account: set password: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errs.Conflictf("password_changed", "the password was changed meanwhile; sign in again"), err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE key = $1`, keys[0]); err != nil {
			return fmt.Errorf("account: clear throttle: %w", err)
		}
		return revokeSessions(ctx, tx, now, a.User.ID, hashToken(tok))
	})
}

// Purge deletes what can no longer be used: sessions and mailed tokens
// that expired or were revoked or used more than keep ago, and throttle
// rows neither locked nor counting. Run it now and then (a periodic job);
// it returns how many rows it deleted.
func (s *Service) Purge(ctx context.Context, keep time.Duration) (int64, error) {
	now := s.clock.Now()
	cut := now.Add(-keep).UnixMicro()
	var total int64
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		total = 0
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`DELETE FROM sessions WHERE expires_at < $1 OR (revoked_at <> 0 AND revoked_at < $1)`, []any{cut}},
			{`DELETE FROM account_tokens WHERE expires_at < $1 OR (used_at <> 0 AND used_at < $1)`, []any{cut}},
			{`DELETE FROM login_throttle WHERE locked_until < $1 AND window_start < $2`, []any{now.UnixMicro(), now.Add(-s.cfg.Throttle.Window).UnixMicro()}},
		} {
			r, err := tx.ExecContext(ctx, q.sql, q.args...)
			if err != nil {
				return fmt.Errorf("account: purge: %w", err)
			}
			n, err := r.RowsAffected()
			if err != nil {
				return fmt.Errorf("account: purge: %w", err)
			}
			total += n
		}
		return nil
	})
	return total, err
}
