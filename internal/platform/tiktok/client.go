// Package tiktok is payper's platform.Connector for TikTok: Login Kit v2
// for the creator's authorization and the Display API (user info, video
// list, video query) for the profile, the videos and their counts.
//
// The connector talks HTTP only, to www.tiktok.com (the consent page) and
// open.tiktokapis.com (tokens and data); both base URLs are configurable so
// tests point them at a Fake.
//
// TikTok differs from the other platforms in ways the domain sees:
//   - No PKCE: the web authorize URL of the reference carries only
//     client_key, scope, response_type, redirect_uri and state (TikTok
//     documents code_verifier for its desktop and mobile kits), so
//     AuthorizeURL ignores the code challenge and Exchange the verifier;
//     the client secret authenticates the code.
//   - Refresh tokens rotate: store the Token Refresh returns at once.
//   - The Display API reads only the connected creator's own videos, so a
//     media item of another account is ErrMediaNotFound, never a Media with
//     another owner.
//   - TikTok reports no saves: Counts.Saves is always Unknown.
package tiktok

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/payper/payper/internal/platform"
)

// Default base URLs of the two hosts TikTok's API lives on.
const (
	DefaultAuthBaseURL = "https://www.tiktok.com"
	DefaultAPIBaseURL  = "https://open.tiktokapis.com"
)

// The scopes AuthorizeURL requests, as TikTok names them.
const (
	ScopeUserInfoBasic   = "user.info.basic"   // open_id, display_name
	ScopeUserInfoProfile = "user.info.profile" // username
	ScopeUserInfoStats   = "user.info.stats"   // follower_count, video_count
	ScopeVideoList       = "video.list"        // video list and video query
)

var requestedScopes = []string{ScopeUserInfoBasic, ScopeUserInfoProfile, ScopeUserInfoStats, ScopeVideoList}

// Limits of the Display API.
const (
	// MaxQueryIDs is the most video ids one video query takes.
	MaxQueryIDs = 20
	// MaxPageSize is the most videos one video list page holds (max_count).
	MaxPageSize = 20
	// MaxPermalinkPages is how many video list pages FindMedia reads looking
	// for a permalink it cannot take a video id from (1000 videos).
	MaxPermalinkPages = 50
)

// DefaultRetryAfter is the wait a *platform.RateLimitError carries when
// TikTok throttles without a Retry-After header: TikTok's limit is 600
// requests a minute per endpoint, so a minute always clears the window.
const DefaultRetryAfter = time.Minute

// maxResponse bounds how much of a response the client reads.
const maxResponse = 1 << 20

const (
	userFields  = "open_id,username,display_name"
	statsFields = "follower_count,video_count"
	countFields = "id,like_count,comment_count,share_count,view_count"
	mediaFields = "id,create_time,share_url,video_description,like_count,comment_count,share_count,view_count"
)

// Config configures a Client.
type Config struct {
	// ClientKey and ClientSecret are the app's credentials from the TikTok
	// developer portal (TikTok's name for the OAuth client id is client_key).
	ClientKey, ClientSecret string
	// AuthBaseURL serves the consent page; DefaultAuthBaseURL when "".
	AuthBaseURL string
	// APIBaseURL serves tokens and data; DefaultAPIBaseURL when "".
	APIBaseURL string
	// HTTP is the HTTP client; one with a 30 s timeout when nil.
	HTTP *http.Client
	// Clock dates tokens and Retry-After dates; time.Now when nil.
	Clock func() time.Time
}

// Client is the TikTok platform.Connector. It holds configuration only and
// is safe for concurrent use.
//
// Its methods fail with a *platform.Error (Code and Message carry TikTok's
// error code, message and log_id) or a *platform.RateLimitError, matching:
//   - platform.ErrReconnect: access_token_invalid; scope_not_authorized or
//     scope_permission_missed (the creator did not grant a scope the call
//     needs: only a new consent granting it helps); invalid_grant from the
//     token endpoint (code used, expired or mismatched; refresh token
//     expired, revoked or already rotated); any other HTTP 401.
//   - platform.ErrRateLimited: rate_limit_exceeded or HTTP 429, waiting
//     Retry-After, or DefaultRetryAfter when TikTok sends none.
//   - platform.ErrUnavailable: internal_error, HTTP 5xx, network failure.
//   - platform.ErrMediaNotFound: FindMedia only.
//   - none of them: invalid_params, invalid_client and other requests
//     TikTok calls malformed, and answers the connector cannot read
//     (code malformed_response) — a bug on one side.
//
// A cancelled or expired ctx fails with an error wrapping ctx.Err() and
// matching none of the classes.
type Client struct {
	key, secret       string
	authBase, apiBase string
	hc                *http.Client
	now               func() time.Time
}

var _ platform.Connector = (*Client)(nil)

// New returns a Client for cfg. It fails when the client key or secret is
// missing or a base URL is not an absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	if cfg.ClientKey == "" || cfg.ClientSecret == "" {
		return nil, errors.New("tiktok: ClientKey and ClientSecret are required")
	}
	c := &Client{key: cfg.ClientKey, secret: cfg.ClientSecret, hc: cfg.HTTP, now: cfg.Clock}
	var err error
	if c.authBase, err = baseURL("AuthBaseURL", cfg.AuthBaseURL, DefaultAuthBaseURL); err != nil {
		return nil, err
	}
	if c.apiBase, err = baseURL("APIBaseURL", cfg.APIBaseURL, DefaultAPIBaseURL); err != nil {
		return nil, err
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func baseURL(field, s, def string) (string, error) {
	if s == "" {
		s = def
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("tiktok: %s: %w", field, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("tiktok: %s %q is not an absolute http(s) URL without query", field, s)
	}
	return strings.TrimRight(s, "/"), nil
}

// Name returns platform.TikTok.
func (c *Client) Name() platform.Name { return platform.TikTok }

// AuthorizeURL returns TikTok's consent page for req, requesting
// user.info.basic, user.info.profile, user.info.stats and video.list.
// TikTok's web flow takes no PKCE and no login hint, so req.CodeChallenge
// and req.LoginHint are ignored. It cannot fail.
//
// The URL is written by hand rather than with oauth2.Config.AuthCodeURL:
// TikTok names the client id client_key (AuthCodeURL always sends
// client_id) and separates scopes with commas (AuthCodeURL joins them with
// spaces).
func (c *Client) AuthorizeURL(req platform.AuthRequest) string {
	v := url.Values{}
	v.Set("client_key", c.key)
	v.Set("scope", strings.Join(requestedScopes, ","))
	v.Set("response_type", "code")
	v.Set("redirect_uri", req.RedirectURI)
	v.Set("state", req.State)
	return c.authBase + "/v2/auth/authorize/?" + v.Encode()
}

// Exchange redeems code for a Token; codeVerifier is ignored (no PKCE on
// TikTok's web flow). A used, expired or mismatched code fails with
// platform.ErrReconnect; other failures are classed as Client describes.
func (c *Client) Exchange(ctx context.Context, code, redirectURI, codeVerifier string) (platform.Token, error) {
	if code == "" {
		return platform.Token{}, &platform.Error{Platform: platform.TikTok, Kind: platform.ErrReconnect,
			Code: "invalid_grant", Message: "no authorization code given"}
	}
	v := url.Values{}
	v.Set("client_key", c.key)
	v.Set("client_secret", c.secret)
	v.Set("code", code)
	v.Set("grant_type", "authorization_code")
	v.Set("redirect_uri", redirectURI)
	return c.tokenRequest(ctx, v, platform.Token{})
}

// Refresh returns a fresh Token for tok. TikTok rotates refresh tokens: the
// returned RefreshToken replaces tok's, which TikTok refuses from then on.
// A token without a refresh token, or an expired, revoked or already
// rotated one, fails with platform.ErrReconnect; other failures are classed
// as Client describes. Lifetimes come from expires_in and
// refresh_expires_in, never assumed: the reference notes they "differ
// between doc versions (2 h / 180 d vs 24 h / 365 d): use expires_in".
func (c *Client) Refresh(ctx context.Context, tok platform.Token) (platform.Token, error) {
	if tok.RefreshToken == "" {
		return platform.Token{}, &platform.Error{Platform: platform.TikTok, Kind: platform.ErrReconnect,
			Code: "no_refresh_token", Message: "the token has no refresh token"}
	}
	v := url.Values{}
	v.Set("client_key", c.key)
	v.Set("client_secret", c.secret)
	v.Set("grant_type", "refresh_token")
	v.Set("refresh_token", tok.RefreshToken)
	return c.tokenRequest(ctx, v, tok)
}

// tokenResponse is the token endpoint's answer: the token on success, an
// OAuth error (error is a string) or an API error (error is an object) on
// failure.
type tokenResponse struct {
	AccessToken      string          `json:"access_token"`
	ExpiresIn        int64           `json:"expires_in"`
	OpenID           string          `json:"open_id"`
	RefreshToken     string          `json:"refresh_token"`
	RefreshExpiresIn int64           `json:"refresh_expires_in"`
	Scope            string          `json:"scope"`
	Error            json.RawMessage `json:"error"`
	ErrorDescription string          `json:"error_description"`
	LogID            string          `json:"log_id"`
}

// tokenRequest posts form to the token endpoint. old is the token being
// refreshed (zero for an exchange): its account and scopes stand in for
// fields a refresh answer leaves out.
//
// The POST is written by hand rather than with oauth2.Config.Exchange and
// TokenSource: x/oauth2 cannot send client_key, its refresh path takes no
// extra parameters, and it cannot decode TikTok's {"error":{…}} envelope (a
// 200 carrying one fails as an opaque "cannot parse json" error, losing the
// code the error classes hang on).
func (c *Client) tokenRequest(ctx context.Context, form url.Values, old platform.Token) (platform.Token, error) {
	now := c.now().UTC()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.apiBase+"/v2/oauth/token/", strings.NewReader(form.Encode()))
	if err != nil {
		return platform.Token{}, fmt.Errorf("tiktok: build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, hdr, body, err := c.send(ctx, req)
	if err != nil {
		return platform.Token{}, err
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(body, &tr)
	code, msg, logID := "", tr.ErrorDescription, tr.LogID
	if len(tr.Error) > 0 && string(tr.Error) != "null" {
		var s string
		var ae apiError
		switch {
		case json.Unmarshal(tr.Error, &s) == nil:
			code = s
		case json.Unmarshal(tr.Error, &ae) == nil:
			code, msg = ae.Code, ae.Message
			if ae.LogID != "" {
				logID = ae.LogID
			}
		}
	}
	if status != http.StatusOK || (code != "" && code != "ok") {
		if msg == "" {
			msg = "token request refused"
		}
		return platform.Token{}, c.fail(status, hdr, code, msg, logID)
	}
	if jsonErr != nil {
		return platform.Token{}, c.malformed("token response", jsonErr)
	}
	if tr.OpenID == "" {
		tr.OpenID = old.AccountID
	}
	if tr.AccessToken == "" || tr.OpenID == "" || tr.ExpiresIn <= 0 {
		return platform.Token{}, c.malformed("token response", errors.New("access_token, open_id or expires_in missing"))
	}
	tok := platform.Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken,
		ExpiresAt: now.Add(time.Duration(tr.ExpiresIn) * time.Second), IssuedAt: now,
		Scopes: splitScopes(tr.Scope), AccountID: tr.OpenID}
	if tok.Scopes == nil {
		tok.Scopes = old.Scopes
	}
	switch {
	case tr.RefreshToken != "" && tr.RefreshExpiresIn > 0:
		tok.RefreshExpiresAt = now.Add(time.Duration(tr.RefreshExpiresIn) * time.Second)
	case tr.RefreshToken == "" && old.RefreshToken != "":
		// A refresh that rotates nothing leaves the old refresh token valid.
		tok.RefreshToken, tok.RefreshExpiresAt = old.RefreshToken, old.RefreshExpiresAt
	}
	return tok, nil
}

// splitScopes reads TikTok's comma-separated scope list (spaces tolerated).
func splitScopes(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		out = append(out, f)
	}
	return out
}

// Profile returns the connected account: open_id, username, display name
// and, when the token holds user.info.stats (or its scopes are unknown),
// follower and video counts; without that scope both are Unknown. TikTok
// refusing a field's scope (scope_not_authorized: "a field without its
// scope fails the whole call") fails with platform.ErrReconnect: the creator
// must connect again and grant it. Other failures are classed as Client
// describes.
func (c *Client) Profile(ctx context.Context, tok platform.Token) (platform.Profile, error) {
	fields := userFields
	if len(tok.Scopes) == 0 || tok.HasScope(ScopeUserInfoStats) {
		fields += "," + statsFields
	}
	var resp struct {
		User struct {
			OpenID        string         `json:"open_id"`
			Username      string         `json:"username"`
			DisplayName   string         `json:"display_name"`
			FollowerCount platform.Count `json:"follower_count"`
			VideoCount    platform.Count `json:"video_count"`
		} `json:"user"`
	}
	if err := c.api(ctx, tok, http.MethodGet, "/v2/user/info/", fields, nil, &resp); err != nil {
		return platform.Profile{}, err
	}
	u := resp.User
	if u.OpenID == "" {
		return platform.Profile{}, c.malformed("user info", errors.New("open_id missing"))
	}
	return platform.Profile{AccountID: u.OpenID, Handle: strings.TrimPrefix(u.Username, "@"),
		DisplayName: u.DisplayName, Followers: u.FollowerCount, MediaCount: u.VideoCount}, nil
}

// video is one item of data.videos. Counts absent from the answer stay
// Unknown.
type video struct {
	ID          flexID         `json:"id"`
	CreateTime  int64          `json:"create_time"`
	ShareURL    string         `json:"share_url"`
	Description string         `json:"video_description"`
	Likes       platform.Count `json:"like_count"`
	Comments    platform.Count `json:"comment_count"`
	Shares      platform.Count `json:"share_count"`
	Views       platform.Count `json:"view_count"`
}

// flexID decodes an id sent as a JSON string or number.
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("tiktok: video id %s: %w", b, err)
	}
	*f = flexID(n.String())
	return nil
}

type videosData struct {
	Videos  []video `json:"videos"`
	Cursor  int64   `json:"cursor"`
	HasMore bool    `json:"has_more"`
}

type listRequest struct {
	Cursor   *int64 `json:"cursor,omitempty"`
	MaxCount int    `json:"max_count"`
}

type queryRequest struct {
	Filters struct {
		VideoIDs []string `json:"video_ids"`
	} `json:"filters"`
}

func (v video) media(owner string) platform.Media {
	return platform.Media{ID: string(v.ID), AccountID: owner, Permalink: v.ShareURL, Caption: v.Description,
		Type: platform.TypeVideo, PublishedAt: time.Unix(v.CreateTime, 0).UTC()}
}

func (v video) counts(owner string) platform.MediaCounts {
	return platform.MediaCounts{MediaID: string(v.ID), AccountID: owner, Counts: platform.Counts{
		Views: v.Views, Likes: v.Likes, Comments: v.Comments, Shares: v.Shares, Saves: platform.Unknown()}}
}

// FindMedia returns one of the creator's videos by id or by permalink. A
// permalink holding /video/<id> (TikTok's share_url form) is looked up by
// that id with one video query; any other permalink is compared (host and
// path, query ignored) with the share_url of the creator's videos, newest
// first, over at most MaxPermalinkPages pages. The Media's AccountID is the
// token's open_id: TikTok shows a token only its own creator's videos. A
// video that does not exist, was deleted, belongs to someone else or lies
// beyond the pages read fails with platform.ErrMediaNotFound; other
// failures are classed as Client describes.
func (c *Client) FindMedia(ctx context.Context, tok platform.Token, idOrPermalink string) (platform.Media, error) {
	ref := strings.TrimSpace(idOrPermalink)
	id := ref
	if strings.Contains(ref, "://") {
		id = videoIDFromURL(ref)
		if id == "" {
			return c.findByPermalink(ctx, tok, ref)
		}
	}
	if !isVideoID(id) {
		return platform.Media{}, notFound(ref, "is not a TikTok video id")
	}
	var data videosData
	if err := c.api(ctx, tok, http.MethodPost, "/v2/video/query/", mediaFields, queryBody([]string{id}), &data); err != nil {
		return platform.Media{}, err
	}
	for _, v := range data.Videos {
		if string(v.ID) == id {
			if v.CreateTime <= 0 {
				return platform.Media{}, c.malformed("video", errors.New("create_time missing"))
			}
			return v.media(tok.AccountID), nil
		}
	}
	return platform.Media{}, notFound(ref, "is not among the connected creator's videos")
}

func (c *Client) findByPermalink(ctx context.Context, tok platform.Token, permalink string) (platform.Media, error) {
	want := normalizeURL(permalink)
	if want == "" {
		return platform.Media{}, notFound(permalink, "is not a URL")
	}
	var cursor *int64
	for range MaxPermalinkPages {
		data, err := c.listPage(ctx, tok, mediaFields, cursor, MaxPageSize)
		if err != nil {
			return platform.Media{}, err
		}
		for _, v := range data.Videos {
			if v.ShareURL != "" && normalizeURL(v.ShareURL) == want {
				return v.media(tok.AccountID), nil
			}
		}
		if !data.HasMore {
			return platform.Media{}, notFound(permalink, "is the share_url of none of the connected creator's videos")
		}
		if cursor, err = c.nextCursor(cursor, data); err != nil {
			return platform.Media{}, err
		}
	}
	return platform.Media{}, notFound(permalink,
		fmt.Sprintf("is the share_url of none of the connected creator's newest %d videos", MaxPermalinkPages*MaxPageSize))
}

// Counts returns the cumulative counts of the creator's given videos,
// MaxQueryIDs per video query. Saves are always Unknown (TikTok has none);
// ids TikTok does not return (deleted, another creator's, not a video id at
// all) are absent from the map. On error (classed as Client describes) the
// map holds the batches read before it.
func (c *Client) Counts(ctx context.Context, tok platform.Token, mediaIDs []string) (map[string]platform.MediaCounts, error) {
	seen := make(map[string]bool, len(mediaIDs))
	var ids []string
	for _, id := range mediaIDs {
		id = strings.TrimSpace(id)
		if isVideoID(id) && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	out := make(map[string]platform.MediaCounts, len(ids))
	for start := 0; start < len(ids); start += MaxQueryIDs {
		chunk := ids[start:min(start+MaxQueryIDs, len(ids))]
		var data videosData
		if err := c.api(ctx, tok, http.MethodPost, "/v2/video/query/", countFields, queryBody(chunk), &data); err != nil {
			return out, err
		}
		for _, v := range data.Videos {
			if v.ID == "" {
				return out, c.malformed("video query", errors.New("a video has no id"))
			}
			if seen[string(v.ID)] {
				out[string(v.ID)] = v.counts(tok.AccountID)
			}
		}
	}
	return out, nil
}

// RecentMedia returns the creator's newest videos, newest first, at most
// limit of them (clamped to 1…platform.MaxRecentMedia), reading video list
// pages of up to MaxPageSize. Saves are Unknown. A creator without videos
// gets an empty slice; a failure (classed as Client describes) returns no
// items.
func (c *Client) RecentMedia(ctx context.Context, tok platform.Token, limit int) ([]platform.MediaCounts, error) {
	limit = max(1, min(limit, platform.MaxRecentMedia))
	var vids []video
	var cursor *int64
	for len(vids) < limit {
		data, err := c.listPage(ctx, tok, mediaFields, cursor, min(MaxPageSize, limit-len(vids)))
		if err != nil {
			return nil, err
		}
		for _, v := range data.Videos {
			if v.ID == "" {
				return nil, c.malformed("video list", errors.New("a video has no id"))
			}
		}
		vids = append(vids, data.Videos...)
		if !data.HasMore {
			break
		}
		if cursor, err = c.nextCursor(cursor, data); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(vids, func(i, j int) bool { return vids[i].CreateTime > vids[j].CreateTime })
	out := make([]platform.MediaCounts, 0, min(len(vids), limit))
	for _, v := range vids[:min(len(vids), limit)] {
		out = append(out, v.counts(tok.AccountID))
	}
	return out, nil
}

func (c *Client) listPage(ctx context.Context, tok platform.Token, fields string, cursor *int64, n int) (videosData, error) {
	var data videosData
	err := c.api(ctx, tok, http.MethodPost, "/v2/video/list/", fields, listRequest{Cursor: cursor, MaxCount: n}, &data)
	return data, err
}

// nextCursor returns the cursor of the page after data, refusing paging
// that would not advance.
func (c *Client) nextCursor(prev *int64, data videosData) (*int64, error) {
	if len(data.Videos) == 0 || (prev != nil && data.Cursor == *prev) {
		return nil, c.malformed("video list", errors.New("has_more is set but the cursor does not advance"))
	}
	next := data.Cursor
	return &next, nil
}

func queryBody(ids []string) queryRequest {
	var q queryRequest
	q.Filters.VideoIDs = ids
	return q
}

// isVideoID reports whether s can be a TikTok video id (a decimal number).
// Anything else is not looked up: TikTok would fail the whole batch with
// invalid_params.
func isVideoID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// videoIDFromURL returns the <id> of a …/video/<id> URL, or "".
func videoIDFromURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "video" && isVideoID(parts[i+1]) {
			return parts[i+1]
		}
	}
	return ""
}

// normalizeURL reduces a URL to host and path for comparison: no scheme,
// query, fragment, "www." or trailing slash; "" when s is not a URL.
func normalizeURL(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || u.Host == "" {
		return ""
	}
	host := strings.TrimPrefix(strings.ToLower(u.Host), "www.")
	return host + strings.TrimRight(u.Path, "/")
}

func notFound(ref, why string) error {
	return &platform.Error{Platform: platform.TikTok, Kind: platform.ErrMediaNotFound, Code: "video_not_found",
		Message: fmt.Sprintf("%q %s", ref, why)}
}

// apiError is the error object every Display API answer carries.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	LogID   string `json:"log_id"`
}

// api performs one bearer-authenticated Display API call with
// ?fields=fields and decodes the answer's data into out.
func (c *Client) api(ctx context.Context, tok platform.Token, method, path, fields string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("tiktok: encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	// fields is a comma-separated list of [a-z_] names: nothing to escape.
	req, err := http.NewRequestWithContext(ctx, method, c.apiBase+path+"?fields="+fields, body)
	if err != nil {
		return fmt.Errorf("tiktok: build request: %w", err)
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
	var env struct {
		Data  json.RawMessage `json:"data"`
		Error *apiError       `json:"error"`
	}
	jsonErr := json.Unmarshal(respBody, &env)
	var ae apiError
	if env.Error != nil {
		ae = *env.Error
	}
	if status != http.StatusOK || (ae.Code != "" && ae.Code != "ok") {
		return c.fail(status, hdr, ae.Code, ae.Message, ae.LogID)
	}
	if jsonErr != nil {
		return c.malformed(method+" "+path, jsonErr)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return c.malformed(method+" "+path, errors.New("data missing"))
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		return c.malformed(method+" "+path, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, req *http.Request) (int, http.Header, []byte, error) {
	return platform.Send(ctx, c.hc, platform.TikTok, req, maxResponse)
}

// Error codes by the class they fall in. Codes in neither list fall back on
// the HTTP status (401 reconnect, 5xx unavailable).
var (
	reconnectCodes = map[string]bool{
		"access_token_invalid": true, // expired, revoked or unknown access token
		// The creator did not grant a scope the call needs: only a new
		// consent, granting it, helps.
		"scope_not_authorized":    true,
		"scope_permission_missed": true,
		"invalid_grant":           true, // code used, expired or mismatched; refresh token expired, revoked or rotated
		"access_denied":           true,
	}
	// Codes that are payper's or the app's fault: reconnecting or waiting
	// will not help.
	bugCodes = map[string]bool{
		"invalid_params": true, "invalid_request": true, "invalid_client": true, "invalid_scope": true,
		"unauthorized_client": true, "unsupported_grant_type": true, "unsupported_response_type": true,
	}
)

// fail maps a failed answer to the connector's error classes.
func (c *Client) fail(status int, hdr http.Header, code, msg, logID string) error {
	if msg == "" {
		msg = http.StatusText(status)
	}
	if logID != "" {
		msg += " [log_id " + logID + "]"
	}
	e := &platform.Error{Platform: platform.TikTok, Status: status, Code: code, Message: msg}
	if code == "rate_limit_exceeded" || status == http.StatusTooManyRequests {
		retry := platform.ParseRetryAfter(hdr.Get("Retry-After"), c.now())
		if retry == 0 {
			retry = DefaultRetryAfter
		}
		reason := code
		if reason == "" {
			reason = "HTTP 429"
		}
		return &platform.RateLimitError{Platform: platform.TikTok, RetryAfter: retry, Reason: reason, Err: e}
	}
	switch {
	case reconnectCodes[code]:
		e.Kind = platform.ErrReconnect
	case code == "internal_error":
		e.Kind = platform.ErrUnavailable
	case bugCodes[code]:
	case status == http.StatusUnauthorized:
		e.Kind = platform.ErrReconnect
	case status >= 500:
		e.Kind = platform.ErrUnavailable
	}
	return e
}

func (c *Client) malformed(what string, err error) error {
	return &platform.Error{Platform: platform.TikTok, Code: "malformed_response",
		Message: "unexpected " + what + " from TikTok", Err: err}
}
