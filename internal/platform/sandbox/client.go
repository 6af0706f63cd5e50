package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/platform"
)

// maxResponse bounds how much of a response the client reads.
const maxResponse = 1 << 20

// Client is the sandbox's platform.Connector. It talks to a Handler over
// HTTP only, exactly as the Instagram, TikTok and YouTube connectors talk to
// their platforms, and never touches the database. It is safe for
// concurrent use once configured.
type Client struct {
	baseURL  string
	clientID string
	hc       *http.Client
	clock    clock.Clock
	// Scopes are requested by AuthorizeURL; NewClient sets AllScopes.
	Scopes []string
}

var _ platform.Connector = (*Client)(nil)

// NewClient returns a connector for the sandbox served at baseURL — the
// URL Handler is mounted under, ending in Prefix, e.g.
// "http://127.0.0.1:8080/sandbox". clientID identifies payper to the
// sandbox's OAuth server (any non-empty string). hc is the HTTP client (a
// client with a 30 s timeout when nil); clk dates the tokens
// (clock.System{} when nil).
func NewClient(baseURL, clientID string, hc *http.Client, clk clock.Clock) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	if clk == nil {
		clk = clock.System{}
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), clientID: clientID, hc: hc, clock: clk,
		Scopes: append([]string(nil), AllScopes...)}
}

// Name returns platform.Sandbox.
func (c *Client) Name() platform.Name { return platform.Sandbox }

// AuthorizeURL returns the sandbox's consent URL for req. req.LoginHint
// names the handle to connect; without it the sandbox shows a page to pick
// one.
func (c *Client) AuthorizeURL(req platform.AuthRequest) string {
	v := url.Values{}
	v.Set("response_type", "code")
	v.Set("client_id", c.clientID)
	v.Set("redirect_uri", req.RedirectURI)
	v.Set("state", req.State)
	v.Set("scope", strings.Join(c.Scopes, " "))
	if req.CodeChallenge != "" {
		v.Set("code_challenge", req.CodeChallenge)
		v.Set("code_challenge_method", "S256")
	}
	if req.LoginHint != "" {
		v.Set("account", req.LoginHint)
	}
	return c.baseURL + "/oauth/authorize?" + v.Encode()
}

// Exchange redeems code for a Token. A used, expired or mismatched code, or
// a wrong verifier, fails with platform.ErrReconnect.
func (c *Client) Exchange(ctx context.Context, code, redirectURI, codeVerifier string) (platform.Token, error) {
	v := url.Values{}
	v.Set("grant_type", "authorization_code")
	v.Set("client_id", c.clientID)
	v.Set("code", code)
	v.Set("redirect_uri", redirectURI)
	v.Set("code_verifier", codeVerifier)
	return c.tokenRequest(ctx, v)
}

// Refresh rotates tok's refresh token and returns the new Token; tok's
// refresh token is dead afterwards. A token without a refresh token, or an
// expired, revoked or already used one, fails with platform.ErrReconnect.
func (c *Client) Refresh(ctx context.Context, tok platform.Token) (platform.Token, error) {
	if tok.RefreshToken == "" {
		return platform.Token{}, &platform.Error{Platform: platform.Sandbox, Kind: platform.ErrReconnect,
			Code: "no_refresh_token", Message: "the token has no refresh token"}
	}
	v := url.Values{}
	v.Set("grant_type", "refresh_token")
	v.Set("client_id", c.clientID)
	v.Set("refresh_token", tok.RefreshToken)
	return c.tokenRequest(ctx, v)
}

func (c *Client) tokenRequest(ctx context.Context, form url.Values) (platform.Token, error) {
	now := c.clock.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.baseURL+"/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return platform.Token{}, fmt.Errorf("sandbox: build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, hdr, body, err := c.send(ctx, req)
	if err != nil {
		return platform.Token{}, err
	}
	if status != http.StatusOK {
		var oe oauthErrorBody
		_ = json.Unmarshal(body, &oe)
		if status == http.StatusTooManyRequests || status >= 500 || oe.Error == "" {
			return platform.Token{}, c.statusError(status, hdr, body, nil)
		}
		e := &platform.Error{Platform: platform.Sandbox, Status: status, Code: oe.Error, Message: "token request refused"}
		if oe.Description != "" {
			e.Message += ": " + oe.Description
		}
		if oe.Error == "invalid_grant" {
			e.Kind = platform.ErrReconnect
		}
		return platform.Token{}, e
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return platform.Token{}, c.malformed("token response", err)
	}
	if tr.AccessToken == "" || tr.AccountID == "" || tr.ExpiresIn <= 0 {
		return platform.Token{}, c.malformed("token response", errors.New("access_token, account_id or expires_in missing"))
	}
	tok := platform.Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken,
		ExpiresAt: now.Add(time.Duration(tr.ExpiresIn) * time.Second), IssuedAt: now,
		Scopes: strings.Fields(tr.Scope), AccountID: tr.AccountID}
	if tr.RefreshToken != "" && tr.RefreshExpiresIn > 0 {
		tok.RefreshExpiresAt = now.Add(time.Duration(tr.RefreshExpiresIn) * time.Second)
	}
	return tok, nil
}

// Profile returns the connected account with its follower count (Unknown
// while the account hides it).
func (c *Client) Profile(ctx context.Context, tok platform.Token) (platform.Profile, error) {
	var me meResponse
	if err := c.api(ctx, tok, http.MethodGet, "/api/me", nil, nil, &me); err != nil {
		return platform.Profile{}, err
	}
	if me.ID == "" {
		return platform.Profile{}, c.malformed("profile", errors.New("id missing"))
	}
	return platform.Profile{AccountID: me.ID, Handle: me.Handle, Followers: me.Followers,
		MediaCount: platform.Known(me.MediaCount)}, nil
}

// FindMedia returns a post by id or, when idOrPermalink contains "://", by
// permalink. A post of another account is returned with its real owner in
// AccountID. An unknown or deleted post fails with platform.ErrMediaNotFound.
func (c *Client) FindMedia(ctx context.Context, tok platform.Token, idOrPermalink string) (platform.Media, error) {
	ref := strings.TrimSpace(idOrPermalink)
	if ref == "" {
		return platform.Media{}, &platform.Error{Platform: platform.Sandbox, Kind: platform.ErrMediaNotFound,
			Code: "empty_reference", Message: "no media id or permalink given"}
	}
	path := "/api/media/" + url.PathEscape(ref)
	if strings.Contains(ref, "://") {
		path = "/api/media?" + url.Values{"permalink": {ref}}.Encode()
	}
	var m mediaResponse
	if err := c.api(ctx, tok, http.MethodGet, path, nil, platform.ErrMediaNotFound, &m); err != nil {
		return platform.Media{}, err
	}
	if m.ID == "" || m.AccountID == "" || m.PublishedAt.IsZero() {
		return platform.Media{}, c.malformed("media", errors.New("id, account_id or published_at missing"))
	}
	return platform.Media{ID: m.ID, AccountID: m.AccountID, Permalink: m.Permalink, Caption: m.Caption,
		Type: m.Type, PublishedAt: m.PublishedAt.UTC()}, nil
}

// Counts returns the cumulative counters of the given posts, MaxCountsIDs
// per request. Unknown and deleted posts are absent from the map; posts of
// other accounts are present with their real owner.
func (c *Client) Counts(ctx context.Context, tok platform.Token, mediaIDs []string) (map[string]platform.MediaCounts, error) {
	ids := dedupe(mediaIDs)
	out := make(map[string]platform.MediaCounts, len(ids))
	for start := 0; start < len(ids); start += MaxCountsIDs {
		chunk := ids[start:min(start+MaxCountsIDs, len(ids))]
		var body []byte
		if err := c.api(ctx, tok, http.MethodPost, "/api/media/counts", countsRequest{IDs: chunk}, nil, &body); err != nil {
			return out, err
		}
		items, err := decodeCounts(body)
		if err != nil {
			return out, c.malformed("POST /api/media/counts", err)
		}
		for _, it := range items {
			if it.ID == "" {
				return out, c.malformed("counts", errors.New("an item has no id"))
			}
			counts, err := it.counts()
			if err != nil {
				return out, c.malformed("counts", err)
			}
			out[it.ID] = platform.MediaCounts{MediaID: it.ID, AccountID: it.AccountID, Counts: counts}
		}
	}
	return out, nil
}

// RecentMedia returns the account's newest live posts, newest first, at most
// limit of them (clamped to 1…platform.MaxRecentMedia), with their counters.
func (c *Client) RecentMedia(ctx context.Context, tok platform.Token, limit int) ([]platform.MediaCounts, error) {
	limit = max(1, min(limit, platform.MaxRecentMedia))
	var resp recentResponse
	if err := c.api(ctx, tok, http.MethodGet, "/api/me/media?limit="+strconv.Itoa(limit), nil, nil, &resp); err != nil {
		return nil, err
	}
	out := make([]platform.MediaCounts, 0, len(resp.Data))
	for _, it := range resp.Data {
		if it.ID == "" {
			return nil, c.malformed("recent media", errors.New("an item has no id"))
		}
		out = append(out, platform.MediaCounts{MediaID: it.ID, AccountID: it.AccountID, Counts: it.Counts})
	}
	return out, nil
}

// api performs one bearer-authenticated API call and decodes a 200 answer
// into out (a *[]byte receives the body as it is). notFound is the Kind a
// 404 maps to.
func (c *Client) api(ctx context.Context, tok platform.Token, method, path string, in any, notFound error, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("sandbox: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return fmt.Errorf("sandbox: build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	status, hdr, respBody, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return c.statusError(status, hdr, respBody, notFound)
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = respBody // the caller decodes it
		return nil
	}
	if err := json.Unmarshal(respBody, out); err != nil {
		return c.malformed(method+" "+strings.SplitN(path, "?", 2)[0], err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, req *http.Request) (int, http.Header, []byte, error) {
	return platform.Send(ctx, c.hc, platform.Sandbox, req, maxResponse)
}

// statusError maps a non-200 answer to the platform's error kinds.
func (c *Client) statusError(status int, hdr http.Header, body []byte, notFound error) error {
	var eb apiErrorBody
	_ = json.Unmarshal(body, &eb)
	code, msg := eb.Error.Code, eb.Error.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	if status == http.StatusTooManyRequests {
		retry := platform.ParseRetryAfter(hdr.Get("Retry-After"), c.clock.Now())
		if retry == 0 && eb.Error.RetryAfter > 0 {
			retry = time.Duration(eb.Error.RetryAfter) * time.Second
		}
		return &platform.RateLimitError{Platform: platform.Sandbox, RetryAfter: retry, Reason: msg,
			Err: &platform.Error{Platform: platform.Sandbox, Status: status, Code: code, Message: msg}}
	}
	e := &platform.Error{Platform: platform.Sandbox, Status: status, Code: code, Message: msg}
	switch {
	case status == http.StatusUnauthorized:
		e.Kind = platform.ErrReconnect
	case status == http.StatusForbidden && code == "insufficient_scope":
		e.Kind = platform.ErrReconnect
	case status == http.StatusNotFound:
		e.Kind = notFound
	case status >= 500:
		e.Kind = platform.ErrUnavailable
	}
	return e
}

func (c *Client) malformed(what string, err error) error {
	return &platform.Error{Platform: platform.Sandbox, Code: "malformed_response",
		Message: "unexpected " + what + " from the sandbox", Err: err}
}
