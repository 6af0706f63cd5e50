package instagram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payper/payper/internal/platform"
)

// AuthorizeURL returns Instagram's consent page for req, asking for Scopes.
// Instagram supports neither PKCE nor login hints: req.CodeChallenge and
// req.LoginHint are ignored, and Exchange authenticates with the client
// secret instead.
func (c *Client) AuthorizeURL(req platform.AuthRequest) string {
	return c.oauthConfig(req.RedirectURI).AuthCodeURL(req.State)
}

// Exchange trades code for a short-lived token (1 h) and at once for a
// long-lived one (about 60 days), and names the account with /me's user_id,
// the id media owners carry. codeVerifier is ignored. A used, expired or
// mismatched code — any 4xx from the code exchange, which Instagram does not
// tell apart — fails with platform.ErrReconnect; a failure after the code was
// spent fails with the kind of that failure, and the flow must be started
// again.
func (c *Client) Exchange(ctx context.Context, code, redirectURI, codeVerifier string) (platform.Token, error) {
	// Instagram appends "#_" to the redirect; tolerate a code copied with it.
	code = strings.TrimSuffix(code, "#_")
	short, err := c.exchangeCode(ctx, code, redirectURI)
	if err != nil {
		return platform.Token{}, err
	}
	now := c.clock()
	var long longLivedResponse
	if err := c.graph(ctx, request{path: "/access_token", unversioned: true, query: url.Values{
		"grant_type": {"ig_exchange_token"}, "client_secret": {c.clientSecret}, "access_token": {short.AccessToken},
	}}, &long); err != nil {
		return platform.Token{}, fmt.Errorf("instagram: long-lived token: %w", err)
	}
	tok, err := c.longLivedToken(long, now)
	if err != nil {
		return platform.Token{}, err
	}
	tok.Scopes, tok.AccountID = short.Permissions, string(short.UserID)
	me, err := c.me(ctx, tok, "user_id,username")
	if err != nil {
		return platform.Token{}, fmt.Errorf("instagram: identify the connected account: %w", err)
	}
	if me.UserID != "" {
		tok.AccountID = string(me.UserID)
	}
	if tok.AccountID == "" {
		return platform.Token{}, c.malformed("token answer", errors.New("user_id missing"))
	}
	return tok, nil
}

// Refresh returns a new long-lived token for tok, valid about 60 days from
// now. Instagram refreshes with the access token (there is no refresh token)
// and only tokens at least MinRefreshAge old: a younger tok (by IssuedAt) is
// returned unchanged. An expired tok fails with platform.ErrReconnect without
// asking Instagram, a revoked one with platform.ErrReconnect after.
func (c *Client) Refresh(ctx context.Context, tok platform.Token) (platform.Token, error) {
	now := c.clock()
	switch {
	case tok.AccessToken == "":
		return platform.Token{}, &platform.Error{Platform: platform.Instagram, Kind: platform.ErrReconnect,
			Code: "no_access_token", Message: "the token has no access token to refresh"}
	case !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt):
		return platform.Token{}, &platform.Error{Platform: platform.Instagram, Kind: platform.ErrReconnect,
			Code: "token_expired", Message: "the access token expired at " + tok.ExpiresAt.Format(time.RFC3339) +
				" and can no longer be refreshed"}
	case !tok.IssuedAt.IsZero() && now.Sub(tok.IssuedAt) < MinRefreshAge:
		return tok, nil
	}
	var long longLivedResponse
	if err := c.graph(ctx, request{path: "/refresh_access_token", unversioned: true, query: url.Values{
		"grant_type": {"ig_refresh_token"}, "access_token": {tok.AccessToken},
	}}, &long); err != nil {
		return platform.Token{}, fmt.Errorf("instagram: refresh: %w", err)
	}
	fresh, err := c.longLivedToken(long, now)
	if err != nil {
		return platform.Token{}, err
	}
	fresh.Scopes, fresh.AccountID = append([]string(nil), tok.Scopes...), tok.AccountID
	return fresh, nil
}

type longLivedResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

func (c *Client) longLivedToken(r longLivedResponse, now time.Time) (platform.Token, error) {
	if r.AccessToken == "" {
		return platform.Token{}, c.malformed("long-lived token answer", errors.New("access_token missing"))
	}
	ttl := LongLivedTTL
	if r.ExpiresIn > 0 {
		ttl = time.Duration(r.ExpiresIn) * time.Second
	}
	return platform.Token{AccessToken: r.AccessToken, ExpiresAt: now.Add(ttl), IssuedAt: now}, nil
}

// shortLived is the code exchange's answer.
type shortLived struct {
	AccessToken string
	UserID      flexID
	Permissions []string
}

// exchangeCode posts the code to api.instagram.com. x/oauth2's Exchange
// cannot be used: it rejects the documented {"data":[…]} answer as
// "missing access_token", after the single-use code is spent.
func (c *Client) exchangeCode(ctx context.Context, code, redirectURI string) (shortLived, error) {
	form := url.Values{"client_id": {c.clientID}, "client_secret": {c.clientSecret},
		"grant_type": {"authorization_code"}, "redirect_uri": {redirectURI}, "code": {code}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.authBase+"/oauth/access_token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return shortLived{}, fmt.Errorf("instagram: build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, hdr, body, err := c.send(ctx, req)
	if err != nil {
		return shortLived{}, err
	}
	c.noteUsage(hdr, "")
	if status != http.StatusOK {
		ge := parseGraphError(body)
		e := platformError(status, ge)
		switch {
		case isThrottle(ge.Code) || status == http.StatusTooManyRequests:
			return shortLived{}, c.rateLimited(hdr, e)
		case status >= 500 || ge.IsTransient:
			e.Kind = platform.ErrUnavailable
		case status >= 400:
			e.Kind = platform.ErrReconnect
		}
		e.Message = "code exchange refused: " + e.Message
		return shortLived{}, e
	}
	var answer struct {
		shortLivedJSON
		Data []shortLivedJSON `json:"data"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return shortLived{}, c.malformed("token answer", err)
	}
	sl := answer.shortLivedJSON
	if len(answer.Data) > 0 {
		sl = answer.Data[0]
	}
	if sl.AccessToken == "" {
		return shortLived{}, c.malformed("token answer", errors.New("access_token missing"))
	}
	return shortLived{AccessToken: sl.AccessToken, UserID: sl.UserID, Permissions: sl.Permissions}, nil
}

type shortLivedJSON struct {
	AccessToken string      `json:"access_token"`
	UserID      flexID      `json:"user_id"`
	Permissions permissions `json:"permissions"`
}

// permissions are the granted scopes, sent as a comma-separated string or
// as an array.
type permissions []string

// UnmarshalJSON accepts "a,b", ["a","b"] or null.
func (p *permissions) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("permissions %s are neither a string nor a list", b)
		}
		list = strings.Split(s, ",")
	}
	*p = (*p)[:0]
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			*p = append(*p, s)
		}
	}
	return nil
}
