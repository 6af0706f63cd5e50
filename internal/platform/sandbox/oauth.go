package sandbox

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// Prefixes of the sandbox's secrets, so a leaked one is easy to recognise.
const (
	codePrefix    = "sbx_code_"
	accessPrefix  = "sbx_at_"
	refreshPrefix = "sbx_rt_"
)

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// oauthError is an RFC 6749 error: error code and description.
type oauthError struct {
	Code        string // invalid_request, invalid_grant, …
	Description string
}

// Error returns "code: description".
func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func grantErr(format string, args ...any) *oauthError {
	return &oauthError{Code: "invalid_grant", Description: fmt.Sprintf(format, args...)}
}

// authorization is one approved consent: what a code is issued for.
type authorization struct {
	AccountID, ClientID, RedirectURI, CodeChallenge string
	Scopes                                          []string
}

// issueCode stores a new authorization code for az and returns it.
func (w *World) issueCode(ctx context.Context, az authorization) (string, error) {
	code := codePrefix + id.Secret(24)
	now := w.clock.Now()
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sandbox_oauth_codes (hash, grant_id, account_id, client_id,
			redirect_uri, code_challenge, scopes, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			hashSecret(code), id.New(grantPrefix), az.AccountID, az.ClientID, az.RedirectURI, az.CodeChallenge,
			strings.Join(az.Scopes, " "), micros(now.Add(w.opts.CodeTTL)), micros(now))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("sandbox: issue code: %w", err)
	}
	return code, nil
}

// tokenSet is what the token endpoint returns.
type tokenSet struct {
	AccessToken, RefreshToken     string
	AccessExpires, RefreshExpires time.Time
	AccessTTL, RefreshTTL         time.Duration
	Scopes                        []string
	AccountID                     string
}

func (w *World) issueTokens(ctx context.Context, tx *store.Tx, grantID, accountID, clientID, scopes string) (tokenSet, error) {
	now := w.clock.Now()
	ts := tokenSet{
		AccessToken: accessPrefix + id.Secret(32), RefreshToken: refreshPrefix + id.Secret(32),
		AccessExpires: now.Add(w.opts.AccessTokenTTL), RefreshExpires: now.Add(w.opts.RefreshTokenTTL),
		AccessTTL: w.opts.AccessTokenTTL, RefreshTTL: w.opts.RefreshTokenTTL,
		Scopes: strings.Fields(scopes), AccountID: accountID,
	}
	for _, t := range []struct {
		kind, secret string
		expires      time.Time
	}{{"access", ts.AccessToken, ts.AccessExpires}, {"refresh", ts.RefreshToken, ts.RefreshExpires}} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO sandbox_oauth_tokens (hash, kind, grant_id, account_id, client_id,
			scopes, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			hashSecret(t.secret), t.kind, grantID, accountID, clientID, scopes, micros(t.expires), micros(now)); err != nil {
			return tokenSet{}, fmt.Errorf("sandbox: issue %s token: %w", t.kind, err)
		}
	}
	return ts, nil
}

// revokeGrant revokes every token of one grant (after a replayed code or
// refresh token, per RFC 6749 §4.1.2 and the OAuth 2.0 Security BCP).
func (w *World) revokeGrant(ctx context.Context, tx *store.Tx, grantID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE sandbox_oauth_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at = 0`,
		micros(w.clock.Now()), grantID)
	if err != nil {
		return fmt.Errorf("sandbox: revoke grant %s: %w", grantID, err)
	}
	return nil
}

// exchangeCode redeems an authorization code. The returned error is an
// *oauthError for anything the client did wrong.
func (w *World) exchangeCode(ctx context.Context, clientID, code, redirectURI, verifier string) (tokenSet, error) {
	var ts tokenSet
	var rejected *oauthError
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		rejected = nil
		var grantID, accountID, codeClient, codeRedirect, challenge, scopes string
		var expires, used int64
		err := tx.QueryRowContext(ctx, `SELECT grant_id, account_id, client_id, redirect_uri, code_challenge, scopes,
			expires_at, used_at FROM sandbox_oauth_codes WHERE hash = $1`+tx.ForUpdate(), hashSecret(code)).
			Scan(&grantID, &accountID, &codeClient, &codeRedirect, &challenge, &scopes, &expires, &used)
		if errors.Is(err, sql.ErrNoRows) {
			rejected = grantErr("unknown authorization code")
			return nil
		}
		if err != nil {
			return fmt.Errorf("sandbox: read code: %w", err)
		}
		now := micros(w.clock.Now())
		switch {
		case used != 0:
			// A replayed code: someone else may hold the tokens it bought. Revoke them (committed).
			rejected = grantErr("authorization code already used; the tokens issued for it are revoked")
			return w.revokeGrant(ctx, tx, grantID)
		case expires <= now:
			rejected = grantErr("authorization code expired")
		case clientID != codeClient:
			rejected = grantErr("authorization code was issued to another client")
		case redirectURI != codeRedirect:
			rejected = grantErr("redirect_uri does not match the one in the authorization request")
		case !platform.VerifyChallenge(verifier, challenge):
			rejected = grantErr("code_verifier does not match the code_challenge")
		}
		if rejected != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sandbox_oauth_codes SET used_at = $1 WHERE hash = $2`, now, hashSecret(code)); err != nil {
			return fmt.Errorf("sandbox: use code: %w", err)
		}
		ts, err = w.issueTokens(ctx, tx, grantID, accountID, clientID, scopes)
		return err
	})
	if err != nil {
		return tokenSet{}, err
	}
	if rejected != nil {
		return tokenSet{}, rejected
	}
	return ts, nil
}

// refresh rotates a refresh token: the old one is spent, a new access and
// refresh token are returned. A spent refresh token presented again revokes
// its whole grant. The returned error is an *oauthError for anything the
// client did wrong.
func (w *World) refresh(ctx context.Context, clientID, refreshToken string) (tokenSet, error) {
	var ts tokenSet
	var rejected *oauthError
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		rejected = nil
		var grantID, accountID, tokClient, scopes string
		var expires, used, revoked int64
		err := tx.QueryRowContext(ctx, `SELECT grant_id, account_id, client_id, scopes, expires_at, used_at, revoked_at
			FROM sandbox_oauth_tokens WHERE hash = $1 AND kind = 'refresh'`+tx.ForUpdate(), hashSecret(refreshToken)).
			Scan(&grantID, &accountID, &tokClient, &scopes, &expires, &used, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			rejected = grantErr("unknown refresh token")
			return nil
		}
		if err != nil {
			return fmt.Errorf("sandbox: read refresh token: %w", err)
		}
		now := micros(w.clock.Now())
		switch {
		case revoked != 0:
			rejected = grantErr("refresh token revoked")
		case used != 0:
			rejected = grantErr("refresh token already used (they rotate: use the newest); every token of this authorization is revoked")
			return w.revokeGrant(ctx, tx, grantID)
		case expires <= now:
			rejected = grantErr("refresh token expired")
		case clientID != tokClient:
			rejected = grantErr("refresh token was issued to another client")
		}
		if rejected != nil {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sandbox_oauth_tokens SET used_at = $1 WHERE hash = $2`,
			now, hashSecret(refreshToken)); err != nil {
			return fmt.Errorf("sandbox: spend refresh token: %w", err)
		}
		ts, err = w.issueTokens(ctx, tx, grantID, accountID, clientID, scopes)
		return err
	})
	if err != nil {
		return tokenSet{}, err
	}
	if rejected != nil {
		return tokenSet{}, rejected
	}
	return ts, nil
}

// session is what a valid access token grants.
type session struct {
	AccountID string
	Scopes    []string
}

func (s session) has(scope string) bool {
	for _, v := range s.Scopes {
		if v == scope {
			return true
		}
	}
	return false
}

// errInvalidToken is returned (wrapped) by authenticate for an unknown,
// expired or revoked access token.
var errInvalidToken = errors.New("invalid access token")

// authenticate returns the session of a live access token, with the
// latest end of a rate limit on its account's calls still in force and its
// reason (a zero time when none is): one query, as every API call asks both.
func (w *World) authenticate(ctx context.Context, accessToken string) (session, time.Time, string, error) {
	var s session
	var scopes, reason string
	var expires, revoked, until int64
	now := micros(w.clock.Now())
	err := w.db.Read().QueryRowContext(ctx, `SELECT t.account_id, t.scopes, t.expires_at, t.revoked_at,
		COALESCE((SELECT limited_until FROM sandbox_rate_limits WHERE (scope = '' OR scope = t.account_id) AND limited_until > $2
			ORDER BY limited_until DESC LIMIT 1), 0),
		COALESCE((SELECT reason FROM sandbox_rate_limits WHERE (scope = '' OR scope = t.account_id) AND limited_until > $2
			ORDER BY limited_until DESC LIMIT 1), '')
		FROM sandbox_oauth_tokens t WHERE t.hash = $1 AND t.kind = 'access'`, hashSecret(accessToken), now).
		Scan(&s.AccountID, &scopes, &expires, &revoked, &until, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return session{}, time.Time{}, "", fmt.Errorf("unknown access token: %w", errInvalidToken)
	}
	if err != nil {
		return session{}, time.Time{}, "", fmt.Errorf("sandbox: read access token: %w", err)
	}
	switch {
	case revoked != 0:
		return session{}, time.Time{}, "", fmt.Errorf("access token revoked: %w", errInvalidToken)
	case expires <= now:
		return session{}, time.Time{}, "", fmt.Errorf("access token expired: %w", errInvalidToken)
	}
	s.Scopes = strings.Fields(scopes)
	if until == 0 {
		return s, time.Time{}, "", nil
	}
	return s, fromMicros(until), reason, nil
}
