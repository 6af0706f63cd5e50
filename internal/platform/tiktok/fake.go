package tiktok

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fake is an in-memory TikTok for tests: the consent page of
// www.tiktok.com and the token, user info, video list and video query
// endpoints of open.tiktokapis.com, on one http.Handler. Serve it with
// httptest.NewServer and point both Config base URLs at the server; use
// fake.Now as the Config's Clock so tokens and the fake agree on time.
//
// It behaves like TikTok where the connector depends on it: single-use
// authorization codes, rotating refresh tokens (a rotated one is refused
// with invalid_grant), scope checks per field, cursor paging newest first,
// at most 20 ids per video query, TikTok's error envelope. Knob methods
// panic on misuse (an unknown account or video), as a test fake may. It is
// safe for concurrent use.
type Fake struct {
	clientKey, clientSecret string

	mu       sync.Mutex
	now      time.Time
	seq      int
	accounts map[string]*fakeAccount
	order    []string // account open_ids in the order added
	videos   map[string]*fakeVideo
	codes    map[string]*fakeCode
	access   map[string]*fakeToken
	refresh  map[string]*fakeToken
	consent  consent
	rateN    int
	retry    time.Duration
	failN    int
	requests []FakeRequest

	accessTTL, refreshTTL, codeTTL time.Duration
}

// FakeVideo is a video a fake account published.
type FakeVideo struct {
	ID          string    // a decimal id, e.g. "7301234567890123456"; required
	CreateTime  time.Time // when it was published; the fake's clock when zero
	Description string
	// ShareURL is its permalink; https://www.tiktok.com/@<username>/video/<id>
	// with TikTok's tracking query when "".
	ShareURL string
	Views    int64
	Likes    int32
	Comments int32
	Shares   int32
}

// FakeRequest is one request the fake received (the consent page
// included).
type FakeRequest struct {
	Method, Path  string
	Query         url.Values
	Form          url.Values // the token endpoint's form, else nil
	Body          []byte     // a JSON body, else nil
	Authorization string
}

type fakeAccount struct {
	openID, username string
	followers        int64
	videos           []string // ids
}

type fakeVideo struct {
	FakeVideo
	owner   string
	deleted bool
}

type fakeCode struct {
	openID, redirectURI string
	scopes              []string
	expires             time.Time
	used                bool
}

type fakeToken struct {
	openID  string
	scopes  []string
	expires time.Time
	dead    bool // rotated or revoked (refresh tokens)
}

type consent struct {
	openID string
	scopes []string // nil: whatever was requested
	deny   bool
}

// fakeScopes are the scopes the fake knows, and fakeUserFields the user
// info fields with the scope each needs.
var (
	fakeScopes     = []string{ScopeUserInfoBasic, ScopeUserInfoProfile, ScopeUserInfoStats, ScopeVideoList}
	fakeUserFields = map[string]string{
		"open_id": ScopeUserInfoBasic, "union_id": ScopeUserInfoBasic, "avatar_url": ScopeUserInfoBasic,
		"display_name": ScopeUserInfoBasic, "username": ScopeUserInfoProfile, "bio_description": ScopeUserInfoProfile,
		"is_verified": ScopeUserInfoProfile, "follower_count": ScopeUserInfoStats, "following_count": ScopeUserInfoStats,
		"likes_count": ScopeUserInfoStats, "video_count": ScopeUserInfoStats,
	}
	fakeVideoFields = []string{"id", "create_time", "share_url", "video_description", "title", "duration",
		"like_count", "comment_count", "share_count", "view_count"}
)

// NewFake returns an empty fake TikTok that accepts the app clientKey /
// clientSecret. Access tokens live 24 h, refresh tokens 365 d, codes 5 min;
// its clock starts at the current second.
func NewFake(clientKey, clientSecret string) *Fake {
	return &Fake{clientKey: clientKey, clientSecret: clientSecret, now: time.Now().UTC().Truncate(time.Second),
		accounts: map[string]*fakeAccount{}, videos: map[string]*fakeVideo{}, codes: map[string]*fakeCode{},
		access: map[string]*fakeToken{}, refresh: map[string]*fakeToken{},
		accessTTL: 24 * time.Hour, refreshTTL: 365 * 24 * time.Hour, codeTTL: 5 * time.Minute}
}

// Now returns the fake's clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// SetNow sets the fake's clock to t.
func (f *Fake) SetNow(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t.UTC()
}

// Advance moves the fake's clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// SetTokenTTLs sets the lifetimes of the access and refresh tokens issued
// from now on (expires_in and refresh_expires_in).
func (f *Fake) SetTokenTTLs(access, refresh time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.accessTTL, f.refreshTTL = access, refresh
}

// AddAccount adds a creator. The first account added approves consents
// until Approve names another. It panics when openID is taken.
func (f *Fake) AddAccount(openID, username string, followers int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if openID == "" || f.accounts[openID] != nil {
		panic(fmt.Sprintf("tiktok.Fake: account %q is empty or exists", openID))
	}
	f.accounts[openID] = &fakeAccount{openID: openID, username: username, followers: followers}
	f.order = append(f.order, openID)
}

// SetFollowers sets an account's follower count. It panics for an unknown
// account.
func (f *Fake) SetFollowers(openID string, followers int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.account(openID).followers = followers
}

// AddVideo publishes v for account openID. It panics for an unknown
// account, a non-decimal id or an id in use.
func (f *Fake) AddVideo(openID string, v FakeVideo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.account(openID)
	if !isVideoID(v.ID) || f.videos[v.ID] != nil {
		panic(fmt.Sprintf("tiktok.Fake: video id %q is not decimal or exists", v.ID))
	}
	if v.CreateTime.IsZero() {
		v.CreateTime = f.now
	}
	if v.ShareURL == "" {
		v.ShareURL = fmt.Sprintf("https://www.tiktok.com/@%s/video/%s?utm_campaign=tt4d_open_api&utm_source=%s",
			a.username, v.ID, f.clientKey)
	}
	f.videos[v.ID] = &fakeVideo{FakeVideo: v, owner: openID}
	a.videos = append(a.videos, v.ID)
}

// SetCounts sets a video's cumulative counts. It panics for an unknown
// video.
func (f *Fake) SetCounts(videoID string, views int64, likes, comments, shares int32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.videos[videoID]
	if v == nil {
		panic(fmt.Sprintf("tiktok.Fake: no video %q", videoID))
	}
	v.Views, v.Likes, v.Comments, v.Shares = views, likes, comments, shares
}

// DeleteVideo removes a video from every answer. It panics for an unknown
// video.
func (f *Fake) DeleteVideo(videoID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.videos[videoID]
	if v == nil {
		panic(fmt.Sprintf("tiktok.Fake: no video %q", videoID))
	}
	v.deleted = true
}

// Approve makes account openID approve the consents that follow, granting
// scopes (all it was asked for when none are given): a creator unticking
// a scope grants fewer. It panics for an unknown account.
func (f *Fake) Approve(openID string, scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.account(openID)
	f.consent = consent{openID: openID, scopes: slices.Clone(scopes)}
}

// Deny makes the creator decline the consents that follow: the fake
// redirects back with error=access_denied.
func (f *Fake) Deny() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.consent = consent{deny: true}
}

// ExpireAccessTokens expires every access token issued so far.
func (f *Fake) ExpireAccessTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.access {
		t.expires = f.now
	}
}

// RevokeRefreshTokens revokes every refresh token issued so far: refreshing
// answers invalid_grant.
func (f *Fake) RevokeRefreshTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.refresh {
		t.dead = true
	}
}

// RateLimitNext makes the next n API and token requests answer HTTP 429
// rate_limit_exceeded, with the Retry-After set by SetRetryAfter.
func (f *Fake) RateLimitNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateN = n
}

// SetRetryAfter sets the Retry-After (whole seconds) of rate-limited
// answers; 0, the default, sends none.
func (f *Fake) SetRetryAfter(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.retry = d
}

// FailNext makes the next n API and token requests answer HTTP 500
// internal_error.
func (f *Fake) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failN = n
}

// Requests returns a copy of the requests received so far, oldest first.
func (f *Fake) Requests() []FakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// RequestsTo returns the requests received so far for path, e.g.
// "/v2/video/query/".
func (f *Fake) RequestsTo(path string) []FakeRequest {
	var out []FakeRequest
	for _, r := range f.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

func (f *Fake) account(openID string) *fakeAccount {
	a := f.accounts[openID]
	if a == nil {
		panic(fmt.Sprintf("tiktok.Fake: no account %q", openID))
	}
	return a
}

func (f *Fake) secret(prefix string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // never fails (Go ≥ 1.24)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func (f *Fake) logID() string {
	f.seq++
	return fmt.Sprintf("%s%06X", f.now.Format("20060102150405"), f.seq)
}

// ServeHTTP answers TikTok's endpoints; anything else is 404.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := FakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Authorization: r.Header.Get("Authorization")}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		rec.Form, _ = url.ParseQuery(string(body))
	} else if len(body) > 0 {
		rec.Body = body
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, rec)

	route := r.Method + " " + r.URL.Path
	if route == "GET /v2/auth/authorize/" {
		f.authorize(w, rec.Query)
		return
	}
	known := map[string]bool{"POST /v2/oauth/token/": true, "GET /v2/user/info/": true,
		"POST /v2/video/list/": true, "POST /v2/video/query/": true}
	if !known[route] {
		f.apiError(w, http.StatusNotFound, "invalid_params", "no such endpoint: "+route)
		return
	}
	switch {
	case f.rateN > 0:
		f.rateN--
		if f.retry > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.retry/time.Second)))
		}
		f.apiError(w, http.StatusTooManyRequests, "rate_limit_exceeded", "The API rate limit was exceeded.")
		return
	case f.failN > 0:
		f.failN--
		f.apiError(w, http.StatusInternalServerError, "internal_error", "Something went wrong.")
		return
	}
	if route == "POST /v2/oauth/token/" {
		f.token(w, rec.Form)
		return
	}
	tok := f.access[strings.TrimPrefix(rec.Authorization, "Bearer ")]
	if tok == nil || !f.now.Before(tok.expires) {
		f.apiError(w, http.StatusUnauthorized, "access_token_invalid", "The access token is invalid or not found in the request.")
		return
	}
	fields := strings.Split(rec.Query.Get("fields"), ",")
	switch route {
	case "GET /v2/user/info/":
		f.userInfo(w, tok, fields)
	case "POST /v2/video/list/":
		f.videoList(w, tok, fields, body)
	case "POST /v2/video/query/":
		f.videoQuery(w, tok, fields, body)
	}
}

func (f *Fake) authorize(w http.ResponseWriter, q url.Values) {
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_key") != f.clientKey || err != nil || !redirect.IsAbs() ||
		(redirect.Scheme != "https" && redirect.Scheme != "http") {
		http.Error(w, "tiktok.Fake: unknown client_key or bad redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	requested := strings.Split(q.Get("scope"), ",")
	switch {
	case q.Get("response_type") != "code":
		back.Set("error", "unsupported_response_type")
	case q.Get("scope") == "" || slices.ContainsFunc(requested, func(s string) bool { return !slices.Contains(fakeScopes, s) }):
		back.Set("error", "invalid_scope")
	case f.consent.deny:
		back.Set("error", "access_denied")
		back.Set("error_description", "The user denied the authorization request.")
	default:
		who := f.consent.openID
		if who == "" && len(f.order) > 0 {
			who = f.order[0]
		}
		if who == "" {
			back.Set("error", "access_denied")
			back.Set("error_description", "No account to log in with.")
			break
		}
		granted := requested
		if f.consent.scopes != nil {
			granted = slices.DeleteFunc(slices.Clone(requested), func(s string) bool { return !slices.Contains(f.consent.scopes, s) })
		}
		code := f.secret("ttcode_")
		f.codes[code] = &fakeCode{openID: who, redirectURI: q.Get("redirect_uri"), scopes: granted, expires: f.now.Add(f.codeTTL)}
		back.Set("code", code)
		back.Set("scopes", strings.Join(granted, ","))
	}
	redirect.RawQuery = back.Encode()
	w.Header().Set("Location", redirect.String())
	w.WriteHeader(http.StatusFound)
}

func (f *Fake) token(w http.ResponseWriter, form url.Values) {
	if form.Get("client_key") != f.clientKey || form.Get("client_secret") != f.clientSecret {
		f.oauthError(w, http.StatusUnauthorized, "invalid_client", "Client key or secret is incorrect.")
		return
	}
	var openID string
	var scopes []string
	switch form.Get("grant_type") {
	case "authorization_code":
		c := f.codes[form.Get("code")]
		switch {
		case c == nil:
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code is invalid.")
			return
		case c.used:
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code has been used.")
			return
		case !f.now.Before(c.expires):
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code is expired.")
			return
		case form.Get("redirect_uri") != c.redirectURI:
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request.")
			return
		}
		c.used = true
		openID, scopes = c.openID, c.scopes
	case "refresh_token":
		t := f.refresh[form.Get("refresh_token")]
		switch {
		case t == nil:
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "Refresh token is invalid.")
			return
		case t.dead:
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "Refresh token is revoked or has been rotated.")
			return
		case !f.now.Before(t.expires):
			f.oauthError(w, http.StatusBadRequest, "invalid_grant", "Refresh token is expired.")
			return
		}
		t.dead = true // TikTok rotates: the old refresh token is spent
		openID, scopes = t.openID, t.scopes
	default:
		f.oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type is not supported.")
		return
	}
	at, rt := f.secret("act."), f.secret("rft.")
	f.access[at] = &fakeToken{openID: openID, scopes: scopes, expires: f.now.Add(f.accessTTL)}
	f.refresh[rt] = &fakeToken{openID: openID, scopes: scopes, expires: f.now.Add(f.refreshTTL)}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": at, "expires_in": int64(f.accessTTL / time.Second), "open_id": openID,
		"refresh_token": rt, "refresh_expires_in": int64(f.refreshTTL / time.Second),
		"scope": strings.Join(scopes, ","), "token_type": "Bearer",
	})
}

func (f *Fake) userInfo(w http.ResponseWriter, tok *fakeToken, fields []string) {
	a := f.accounts[tok.openID]
	user := map[string]any{}
	for _, field := range fields {
		scope, ok := fakeUserFields[field]
		if !ok {
			f.apiError(w, http.StatusBadRequest, "invalid_params", "unknown field "+field)
			return
		}
		if !slices.Contains(tok.scopes, scope) {
			f.apiError(w, http.StatusUnauthorized, "scope_not_authorized",
				fmt.Sprintf("The user did not authorize the scope required for field %s (%s).", field, scope))
			return
		}
		switch field {
		case "open_id":
			user[field] = a.openID
		case "username":
			user[field] = a.username
		case "display_name":
			user[field] = strings.ToUpper(a.username[:min(1, len(a.username))]) + a.username[min(1, len(a.username)):]
		case "follower_count":
			user[field] = a.followers
		case "video_count":
			n := 0
			for _, id := range a.videos {
				if !f.videos[id].deleted {
					n++
				}
			}
			user[field] = n
		default:
			user[field] = ""
		}
	}
	f.ok(w, map[string]any{"user": user})
}

// videoFields checks the fields and the video.list scope; false when it
// has answered an error.
func (f *Fake) videoFields(w http.ResponseWriter, tok *fakeToken, fields []string) bool {
	for _, field := range fields {
		if !slices.Contains(fakeVideoFields, field) {
			f.apiError(w, http.StatusBadRequest, "invalid_params", "unknown field "+field)
			return false
		}
	}
	if !slices.Contains(tok.scopes, ScopeVideoList) {
		f.apiError(w, http.StatusUnauthorized, "scope_not_authorized", "The user did not authorize the scope video.list.")
		return false
	}
	return true
}

func (f *Fake) render(v *fakeVideo, fields []string) map[string]any {
	out := map[string]any{}
	for _, field := range fields {
		switch field {
		case "id":
			out[field] = v.ID
		case "create_time":
			out[field] = v.CreateTime.Unix()
		case "share_url":
			out[field] = v.ShareURL
		case "video_description", "title":
			out[field] = v.Description
		case "duration":
			out[field] = 30
		case "like_count":
			out[field] = v.Likes
		case "comment_count":
			out[field] = v.Comments
		case "share_count":
			out[field] = v.Shares
		case "view_count":
			out[field] = v.Views
		}
	}
	return out
}

func (f *Fake) videoList(w http.ResponseWriter, tok *fakeToken, fields []string, body []byte) {
	if !f.videoFields(w, tok, fields) {
		return
	}
	var req struct {
		Cursor   *int64 `json:"cursor"`
		MaxCount *int   `json:"max_count"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.apiError(w, http.StatusBadRequest, "invalid_params", "body: "+err.Error())
		return
	}
	n := 10
	if req.MaxCount != nil {
		n = *req.MaxCount
	}
	if n < 1 || n > MaxPageSize {
		f.apiError(w, http.StatusBadRequest, "invalid_params", "max_count must be between 1 and 20")
		return
	}
	var vids []*fakeVideo
	for _, id := range f.accounts[tok.openID].videos {
		if v := f.videos[id]; !v.deleted && (req.Cursor == nil || v.CreateTime.UnixMilli() < *req.Cursor) {
			vids = append(vids, v)
		}
	}
	sort.Slice(vids, func(i, j int) bool { return vids[i].CreateTime.After(vids[j].CreateTime) })
	hasMore := len(vids) > n
	vids = vids[:min(n, len(vids))]
	var cursor int64
	if req.Cursor != nil {
		cursor = *req.Cursor
	}
	page := make([]map[string]any, 0, len(vids))
	for _, v := range vids {
		page = append(page, f.render(v, fields))
		cursor = v.CreateTime.UnixMilli()
	}
	f.ok(w, map[string]any{"videos": page, "cursor": cursor, "has_more": hasMore})
}

func (f *Fake) videoQuery(w http.ResponseWriter, tok *fakeToken, fields []string, body []byte) {
	if !f.videoFields(w, tok, fields) {
		return
	}
	var req struct {
		Filters struct {
			VideoIDs []string `json:"video_ids"`
		} `json:"filters"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		f.apiError(w, http.StatusBadRequest, "invalid_params", "body: "+err.Error())
		return
	}
	ids := req.Filters.VideoIDs
	if len(ids) == 0 || len(ids) > MaxQueryIDs {
		f.apiError(w, http.StatusBadRequest, "invalid_params", "filters.video_ids must hold 1 to 20 ids")
		return
	}
	page := []map[string]any{}
	for _, id := range ids {
		if v := f.videos[id]; v != nil && !v.deleted && v.owner == tok.openID {
			page = append(page, f.render(v, fields))
		}
	}
	f.ok(w, map[string]any{"videos": page, "cursor": 0, "has_more": false})
}

func (f *Fake) ok(w http.ResponseWriter, data any) {
	writeJSON(w, http.StatusOK, map[string]any{"data": data,
		"error": map[string]string{"code": "ok", "message": "", "log_id": f.logID()}})
}

func (f *Fake) apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"data": map[string]any{},
		"error": map[string]string{"code": code, "message": msg, "log_id": f.logID()}})
}

// oauthError answers in the token endpoint's OAuth form: error is a string.
func (f *Fake) oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc, "log_id": f.logID()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
