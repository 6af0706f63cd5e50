package instagram

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fake is an in-memory Instagram for tests: one http.Handler serving both
// api.instagram.com (consent page, code exchange) and graph.instagram.com
// (token exchange and refresh, with or without a version prefix; /me,
// media and insights only under the expected version, DefaultVersion unless
// ExpectVersion changes it). Point Config.AuthBaseURL and Config.GraphBaseURL at the
// same httptest server, and Config.Clock at Fake.Now. It is safe for
// concurrent use.
//
// Its consent page approves at once for the consenting account (SetConsent):
// it redirects to the redirect_uri with code and state, as Instagram does
// after the creator approves.
type Fake struct {
	clientID, clientSecret string

	mu        sync.Mutex
	version   string
	now       time.Time
	pageSize  int
	unwrapped bool
	consentAs string
	deny      bool
	accounts  map[string]*fakeAccount
	order     []string // account ids in the order added
	media     map[string]*fakeMedia
	codes     map[string]*fakeCode
	tokens    map[string]*fakeToken
	throttle  int
	regain    int
	fail      int
	usagePct  int
	requests  []FakeRequest
}

// FakeMedia is one media item of the fake.
type FakeMedia struct {
	ID          string
	Caption     string
	MediaType   string // IMAGE, VIDEO or CAROUSEL_ALBUM ("IMAGE" when empty)
	ProductType string // FEED, REELS or STORY ("FEED" when empty)
	Permalink   string // https://www.instagram.com/p/<ID>/ when empty
	Timestamp   time.Time
	// LikeCount and CommentsCount are the media object's like_count and
	// comments_count; negative hides them.
	LikeCount, CommentsCount int64
	// Insights are the metrics the insights endpoint reports (views,
	// reach, likes, comments, shares, saved, total_interactions); a
	// requested metric absent from the map is left out of the answer.
	Insights map[string]int64
	// EmptyValues lists absent metrics with an empty values set instead
	// of leaving them out.
	EmptyValues bool
	// NotEnoughViewers makes insights fail with code 10 "Not enough viewers".
	NotEnoughViewers bool
	// AlbumChild marks an item inside an album: not in the media list, no
	// insights (code 100).
	AlbumChild bool
	// Refuse lists metrics the insights endpoint refuses for this item
	// although the metric table allows them for its product type, with the
	// error Instagram sends for a metric a product type does not support
	// (code 100 naming them). Instagram has narrowed support this way before
	// (impressions and replies on reels); tests use it to check that one
	// refused metric does not hide the others.
	Refuse []string
}

// FakeRequest is one request the fake served.
type FakeRequest struct {
	Method string
	Path   string // as received, with any version prefix
	Query  url.Values
}

type fakeAccount struct {
	id, username       string
	followers, follows int64
	media              []string // newest first
	scopesGranted      []string
	accountType        string
}

type fakeMedia struct {
	FakeMedia
	owner string
}

type fakeCode struct {
	userID, redirectURI string
	scopes              []string
	expires             time.Time
	used                bool
}

type fakeToken struct {
	userID  string
	scopes  []string
	long    bool
	issued  time.Time
	expires time.Time
	revoked bool
}

// Lifetimes the fake gives out, as Instagram documents them.
const (
	fakeCodeTTL  = 10 * time.Minute
	fakeShortTTL = time.Hour
	fakeLongTTL  = 5183944 * time.Second // what Instagram answers: just under 60 days
)

// NewFake returns an empty fake Instagram for the app clientID/clientSecret,
// its clock at 2026-03-01 10:00 UTC, serving media lists 3 items a page.
func NewFake(clientID, clientSecret string) *Fake {
	return &Fake{clientID: clientID, clientSecret: clientSecret, version: DefaultVersion,
		now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), pageSize: 3, usagePct: 1,
		accounts: map[string]*fakeAccount{}, media: map[string]*fakeMedia{},
		codes: map[string]*fakeCode{}, tokens: map[string]*fakeToken{}}
}

// ExpectVersion sets the Graph API version the data calls must name, e.g.
// "v28.0" (DefaultVersion until called).
//
// The Fake is stricter than Instagram here: Instagram serves an unversioned
// call under the version set in the app dashboard, and one naming a version
// no longer available under the oldest available one (Platform Versioning,
// https://developers.facebook.com/docs/graph-api/guides/versioning), with
// no error either way. The Fake refuses such calls with code 2635 so that a
// test notices a call the client did not pin.
func (f *Fake) ExpectVersion(v string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.version = v
}

// Now returns the fake's clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// SetNow sets the fake's clock.
func (f *Fake) SetNow(t time.Time) {
	f.mu.Lock()
	f.now = t.UTC()
	f.mu.Unlock()
}

// Advance moves the fake's clock by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// SetPageSize sets the most media items a list page holds (3 by default);
// values below 1 are ignored.
func (f *Fake) SetPageSize(n int) {
	if n < 1 {
		return
	}
	f.mu.Lock()
	f.pageSize = n
	f.mu.Unlock()
}

// SetUnwrappedTokenAnswer makes the code exchange answer the bare object
// instead of {"data":[…]}.
func (f *Fake) SetUnwrappedTokenAnswer(on bool) {
	f.mu.Lock()
	f.unwrapped = on
	f.mu.Unlock()
}

// AddAccount adds a professional account. The first account added is the
// one the consent page connects until SetConsent names another. It panics
// on an empty or duplicate userID, a test's mistake.
func (f *Fake) AddAccount(userID, username string, followers int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if userID == "" || f.accounts[userID] != nil {
		panic(fmt.Sprintf("instagram fake: account id %q empty or taken", userID))
	}
	f.accounts[userID] = &fakeAccount{id: userID, username: username, followers: followers,
		follows: 42, accountType: "MEDIA_CREATOR"}
	f.order = append(f.order, userID)
	if f.consentAs == "" {
		f.consentAs = userID
	}
}

// SetConsent makes the consent page connect userID, granting scopes (all
// requested ones when none are given), or decline when deny is true.
func (f *Fake) SetConsent(userID string, deny bool, scopes ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.consentAs, f.deny = userID, deny
	if a := f.accounts[userID]; a != nil {
		a.scopesGranted = scopes
	}
}

// AddMedia publishes m for userID, newest first in the media list when its
// Timestamp is the newest. It returns an error for an unknown account or a
// taken or non-numeric media id.
func (f *Fake) AddMedia(userID string, m FakeMedia) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.accounts[userID]
	switch {
	case a == nil:
		return fmt.Errorf("instagram fake: no account %q", userID)
	case !validMediaID(m.ID) || f.media[m.ID] != nil:
		return fmt.Errorf("instagram fake: media id %q is not numeric or is taken", m.ID)
	}
	if m.MediaType == "" {
		m.MediaType = "IMAGE"
	}
	if m.ProductType == "" {
		m.ProductType = "FEED"
	}
	if m.Permalink == "" {
		m.Permalink = "https://www.instagram.com/p/" + m.ID + "/"
	}
	if m.Timestamp.IsZero() {
		m.Timestamp = f.now
	}
	m.Insights = cloneCounts(m.Insights)
	f.media[m.ID] = &fakeMedia{FakeMedia: m, owner: userID}
	if !m.AlbumChild {
		a.media = append(a.media, m.ID)
		slices.SortStableFunc(a.media, func(x, y string) int {
			return f.media[y].Timestamp.Compare(f.media[x].Timestamp)
		})
	}
	return nil
}

// SetCounts replaces a media item's like and comment counts (negative hides
// them) and its insights. It returns an error for an unknown media id.
func (f *Fake) SetCounts(mediaID string, likeCount, commentsCount int64, insights map[string]int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.media[mediaID]
	if m == nil {
		return fmt.Errorf("instagram fake: no media %q", mediaID)
	}
	m.LikeCount, m.CommentsCount, m.Insights = likeCount, commentsCount, cloneCounts(insights)
	return nil
}

// DeleteMedia removes a media item; it is unknown from then on.
func (f *Fake) DeleteMedia(mediaID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m := f.media[mediaID]; m != nil {
		a := f.accounts[m.owner]
		a.media = slices.DeleteFunc(a.media, func(id string) bool { return id == mediaID })
		delete(f.media, mediaID)
	}
}

func cloneCounts(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ExpireTokens expires every token issued so far (error 190, subcode 463).
func (f *Fake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tokens {
		if t.expires.After(f.now) {
			t.expires = f.now
		}
	}
}

// RevokeTokens revokes every token issued so far (error 190, subcode 460).
func (f *Fake) RevokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.tokens {
		t.revoked = true
	}
}

// ThrottleNext makes the next n requests (consent page excepted) fail with
// code 4 "Application request limit reached" and a usage header saying
// access returns in regainMinutes.
func (f *Fake) ThrottleNext(n, regainMinutes int) {
	f.mu.Lock()
	f.throttle, f.regain = n, regainMinutes
	f.mu.Unlock()
}

// FailNext makes the next n requests (consent page excepted) fail with HTTP
// 500 and code 2.
func (f *Fake) FailNext(n int) {
	f.mu.Lock()
	f.fail = n
	f.mu.Unlock()
}

// SetUsage sets the call_count percentage the usage header reports.
func (f *Fake) SetUsage(percent int) {
	f.mu.Lock()
	f.usagePct = percent
	f.mu.Unlock()
}

// Requests returns the requests served so far, oldest first.
func (f *Fake) Requests() []FakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// fakeErr is an error answer in Graph's shape.
type fakeErr struct {
	status           int
	code, subcode    int
	typ, message     string
	legacy           bool // api.instagram.com's {"error_type","code","error_message"}
	regainMinutes    int
	hasRegainMinutes bool
}

func gErr(status, code, subcode int, msg string) *fakeErr {
	return &fakeErr{status: status, code: code, subcode: subcode, typ: "OAuthException", message: msg}
}

var versionSegment = regexp.MustCompile(`^/v\d+(\.\d+)?(/|$)`)

// ServeHTTP serves both hosts. It answers failures as Instagram does: the
// Graph error shape {"error":{…}} (the code exchange: {"error_type","code",
// "error_message"}), and the consent page's as a redirect carrying error.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, FakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()})
	path := r.URL.Path
	if path == "/oauth/authorize" && r.Method == http.MethodGet {
		f.authorize(w, r)
		return
	}
	if f.fail > 0 {
		f.fail--
		f.writeErr(w, &fakeErr{status: http.StatusInternalServerError, code: 2, typ: "OAuthException",
			message: "An unexpected error has occurred. Please retry your request later."}, "")
		return
	}
	if f.throttle > 0 {
		f.throttle--
		e := gErr(http.StatusBadRequest, 4, 0, "(#4) Application request limit reached")
		e.regainMinutes, e.hasRegainMinutes = f.regain, true
		f.writeErr(w, e, "")
		return
	}
	if path == "/oauth/access_token" && r.Method == http.MethodPost {
		f.exchangeCode(w, r)
		return
	}
	version := strings.Trim(versionSegment.FindString(path), "/")
	path = versionSegment.ReplaceAllString(path, "/")
	if r.Method != http.MethodGet {
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, "Unsupported method"), "")
		return
	}
	q := r.URL.Query()
	switch path {
	case "/access_token":
		f.exchangeLongLived(w, q)
		return
	case "/refresh_access_token":
		f.refresh(w, q)
		return
	}
	if version != f.version {
		f.writeErr(w, gErr(http.StatusBadRequest, 2635, 0, fmt.Sprintf(
			"(#2635) fake Instagram: this call names Graph API version %q, the test expects %q", version, f.version)), "")
		return
	}
	tok, e := f.authenticate(r)
	if e != nil {
		f.writeErr(w, e, "")
		return
	}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case len(parts) == 1 && parts[0] == "me":
		f.serveMe(w, tok, q)
	case len(parts) == 2 && parts[1] == "media":
		f.serveMediaList(w, r, tok, parts[0], q)
	case len(parts) == 2 && parts[1] == "insights":
		f.serveInsights(w, tok, parts[0], q)
	case len(parts) == 1:
		f.serveMedia(w, tok, parts[0], q)
	default:
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 33, "Unsupported get request."), tok.userID)
	}
}

func (f *Fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_id") != f.clientID || err != nil || !redirect.IsAbs() ||
		(redirect.Scheme != "https" && redirect.Scheme != "http") {
		http.Error(w, "Invalid client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	requested := strings.Split(q.Get("scope"), ",")
	a := f.accounts[f.consentAs]
	switch {
	case q.Get("response_type") != "code" || q.Get("scope") == "":
		back.Set("error", "invalid_request")
		back.Set("error_description", "response_type=code and scope are required")
	case f.deny || a == nil:
		back.Set("error", "access_denied")
		back.Set("error_reason", "user_denied")
		back.Set("error_description", "The user denied your request")
	default:
		granted := requested
		if len(a.scopesGranted) > 0 {
			granted = a.scopesGranted
		}
		code := "AQ" + randomHex(24)
		f.codes[code] = &fakeCode{userID: a.id, redirectURI: q.Get("redirect_uri"), scopes: granted,
			expires: f.now.Add(fakeCodeTTL)}
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	redirect.Fragment = "_" // Instagram appends #_ to the redirect
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (f *Fake) exchangeCode(w http.ResponseWriter, r *http.Request) {
	refuse := func(msg string) {
		f.writeErr(w, &fakeErr{status: http.StatusBadRequest, code: 400, typ: "OAuthException", message: msg, legacy: true}, "")
	}
	if r.PostForm.Get("client_id") != f.clientID || r.PostForm.Get("client_secret") != f.clientSecret {
		refuse("Invalid platform app")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		refuse("Unsupported grant_type")
		return
	}
	c := f.codes[r.PostForm.Get("code")]
	switch {
	case c == nil:
		refuse("Invalid authorization code")
		return
	case c.used:
		refuse("This authorization code has been used")
		return
	case !f.now.Before(c.expires):
		refuse("This authorization code has expired")
		return
	case c.redirectURI != r.PostForm.Get("redirect_uri"):
		refuse("Error validating verification code. Please make sure your redirect_uri is identical to the one you used in the OAuth dialog request")
		return
	}
	c.used = true
	tok := f.issue(c.userID, c.scopes, false)
	answer := map[string]any{"access_token": tok, "user_id": json.Number(c.userID),
		"permissions": strings.Join(c.scopes, ",")}
	if f.unwrapped {
		writeJSON(w, answer)
		return
	}
	writeJSON(w, map[string]any{"data": []any{answer}})
}

func (f *Fake) issue(userID string, scopes []string, long bool) string {
	prefix, ttl := "IGQshort", fakeShortTTL
	if long {
		prefix, ttl = "IGAAlong", fakeLongTTL
	}
	s := prefix + randomHex(24)
	f.tokens[s] = &fakeToken{userID: userID, scopes: slices.Clone(scopes), long: long, issued: f.now,
		expires: f.now.Add(ttl)}
	return s
}

// check validates an access token as the Graph API does.
func (f *Fake) check(s string) (*fakeToken, *fakeErr) {
	t := f.tokens[s]
	switch {
	case s == "" || t == nil:
		return nil, gErr(http.StatusBadRequest, 190, 0, "Invalid OAuth access token - Cannot parse access token")
	case t.revoked:
		return nil, gErr(http.StatusBadRequest, 190, 460,
			"Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.")
	case !f.now.Before(t.expires):
		return nil, gErr(http.StatusBadRequest, 190, 463, "Error validating access token: Session has expired.")
	}
	return t, nil
}

func (f *Fake) authenticate(r *http.Request) (*fakeToken, *fakeErr) {
	s := r.URL.Query().Get("access_token")
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		s = strings.TrimPrefix(h, "Bearer ")
	}
	return f.check(s)
}

func (f *Fake) exchangeLongLived(w http.ResponseWriter, q url.Values) {
	if q.Get("grant_type") != "ig_exchange_token" {
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, "Unsupported grant_type"), "")
		return
	}
	if q.Get("client_secret") != f.clientSecret {
		f.writeErr(w, gErr(http.StatusBadRequest, 101, 0, "Error validating client secret."), "")
		return
	}
	t, e := f.check(q.Get("access_token"))
	if e != nil {
		f.writeErr(w, e, "")
		return
	}
	if t.long {
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, "The access token is already long-lived"), t.userID)
		return
	}
	writeJSON(w, map[string]any{"access_token": f.issue(t.userID, t.scopes, true), "token_type": "bearer",
		"expires_in": int64(fakeLongTTL / time.Second)})
}

func (f *Fake) refresh(w http.ResponseWriter, q url.Values) {
	if q.Get("grant_type") != "ig_refresh_token" {
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, "Unsupported grant_type"), "")
		return
	}
	t, e := f.check(q.Get("access_token"))
	if e != nil {
		f.writeErr(w, e, "")
		return
	}
	switch {
	case !t.long:
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, "Only long-lived tokens can be refreshed"), t.userID)
		return
	case f.now.Sub(t.issued) < 24*time.Hour:
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 0,
			"The access token must be at least 24 hours old to be refreshed"), t.userID)
		return
	}
	writeJSON(w, map[string]any{"access_token": f.issue(t.userID, t.scopes, true), "token_type": "bearer",
		"expires_in": int64(fakeLongTTL / time.Second)})
}

func has(list []string, s string) bool { return slices.Contains(list, s) }

// fields returns the requested fields, or "id" when none are.
func fields(q url.Values) []string {
	fs := strings.Split(q.Get("fields"), ",")
	if q.Get("fields") == "" {
		fs = []string{"id"}
	}
	return fs
}

func (f *Fake) serveMe(w http.ResponseWriter, t *fakeToken, q url.Values) {
	if !has(t.scopes, ScopeBasic) {
		f.writeErr(w, gErr(http.StatusForbidden, 10, 0, "(#10) Application does not have permission for this action"), t.userID)
		return
	}
	a := f.accounts[t.userID]
	all := map[string]any{"id": "app-scoped-" + a.id, "user_id": a.id, "username": a.username,
		"account_type": a.accountType, "followers_count": a.followers, "follows_count": a.follows,
		"media_count": len(a.media)}
	out := map[string]any{"id": all["id"]}
	for _, k := range fields(q) {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	f.writeOK(w, out, t.userID)
}

func (f *Fake) mediaJSON(m *fakeMedia, t *fakeToken, fs []string) map[string]any {
	all := map[string]any{"id": m.ID, "caption": m.Caption, "media_type": m.MediaType,
		"media_product_type": m.ProductType, "permalink": m.Permalink,
		"timestamp": m.Timestamp.UTC().Format("2006-01-02T15:04:05-0700"),
		"username":  f.accounts[m.owner].username}
	if m.LikeCount >= 0 {
		all["like_count"] = m.LikeCount
	}
	if m.CommentsCount >= 0 {
		all["comments_count"] = m.CommentsCount
	}
	if m.owner == t.userID { // Instagram names the owner to the owner only
		all["owner"] = map[string]any{"id": m.owner}
	}
	out := map[string]any{"id": m.ID}
	for _, k := range fs {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

func (f *Fake) serveMedia(w http.ResponseWriter, t *fakeToken, id string, q url.Values) {
	if !has(t.scopes, ScopeBasic) {
		f.writeErr(w, gErr(http.StatusForbidden, 10, 0, "(#10) Application does not have permission for this action"), t.userID)
		return
	}
	m := f.media[id]
	if m == nil {
		f.writeErr(w, &fakeErr{status: http.StatusBadRequest, code: 100, subcode: 33, typ: "GraphMethodException",
			message: fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", id)}, t.userID)
		return
	}
	f.writeOK(w, f.mediaJSON(m, t, fields(q)), t.userID)
}

func (f *Fake) serveMediaList(w http.ResponseWriter, r *http.Request, t *fakeToken, user string, q url.Values) {
	if user == "me" {
		user = t.userID
	}
	if user != t.userID || !has(t.scopes, ScopeBasic) {
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 33, "Unsupported get request."), t.userID)
		return
	}
	a := f.accounts[user]
	start := 0
	if after := q.Get("after"); after != "" {
		b, err := base64.RawURLEncoding.DecodeString(after)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(b), "pos:"))
		if err != nil || err2 != nil || n < 0 || n > len(a.media) {
			f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, "Invalid cursor"), t.userID)
			return
		}
		start = n
	}
	size := f.pageSize
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 {
		size = min(size, l)
	}
	end := min(start+size, len(a.media))
	data := make([]any, 0, end-start)
	for _, id := range a.media[start:end] {
		data = append(data, f.mediaJSON(f.media[id], t, fields(q)))
	}
	cursor := func(n int) string { return base64.RawURLEncoding.EncodeToString([]byte("pos:" + strconv.Itoa(n))) }
	out := map[string]any{"data": data}
	if end > start {
		paging := map[string]any{"cursors": map[string]string{"before": cursor(start), "after": cursor(end)}}
		if end < len(a.media) {
			next := *r.URL
			nq := r.URL.Query()
			nq.Set("after", cursor(end))
			next.RawQuery = nq.Encode()
			next.Scheme, next.Host = "https", "graph.instagram.com"
			paging["next"] = next.String()
		}
		out["paging"] = paging
	}
	f.writeOK(w, out, t.userID)
}

// deprecatedMetrics were retired on 2025-04-21; asking for them is an error.
var deprecatedMetrics = []string{"plays", "impressions", "video_views", "clips_replays_count"}

var knownMetrics = []string{"views", "reach", "likes", "comments", "shares", "saved", "total_interactions",
	"replies", "follows", "profile_visits", "navigation", "profile_activity", "ig_reels_avg_watch_time",
	"ig_reels_video_view_total_time"}

// metricProductTypes is, for each known metric, the media product types the
// metric table of the Instagram Media Insights reference
// (https://developers.facebook.com/documentation/instagram-platform/reference/instagram-media/insights)
// lists it for.
var metricProductTypes = map[string][]string{
	"views": {"FEED", "REELS", "STORY"}, "reach": {"FEED", "REELS", "STORY"},
	"shares": {"FEED", "REELS", "STORY"}, "total_interactions": {"FEED", "REELS", "STORY"},
	"likes": {"FEED", "REELS"}, "comments": {"FEED", "REELS"}, "saved": {"FEED", "REELS"},
	"follows": {"FEED", "STORY"}, "profile_visits": {"FEED", "STORY"}, "profile_activity": {"FEED", "STORY"},
	"replies": {"STORY"}, "navigation": {"STORY"},
	"ig_reels_avg_watch_time": {"REELS"}, "ig_reels_video_view_total_time": {"REELS"},
}

func (f *Fake) serveInsights(w http.ResponseWriter, t *fakeToken, id string, q url.Values) {
	m := f.media[id]
	switch {
	case m == nil:
		f.writeErr(w, &fakeErr{status: http.StatusBadRequest, code: 100, subcode: 33, typ: "GraphMethodException",
			message: fmt.Sprintf("Unsupported get request. Object with ID '%s' does not exist.", id)}, t.userID)
		return
	case !has(t.scopes, ScopeInsights) || m.owner != t.userID:
		f.writeErr(w, gErr(http.StatusForbidden, 10, 0, "(#10) Application does not have permission for this action"), t.userID)
		return
	}
	metrics := strings.Split(q.Get("metric"), ",")
	for _, name := range metrics {
		switch {
		case has(deprecatedMetrics, name):
			f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, fmt.Sprintf(
				"(#100) Starting from version v22.0 and above, the %s metric is no longer supported.", name)), t.userID)
			return
		case !has(knownMetrics, name):
			f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, fmt.Sprintf("(#100) metric[0] must be one of the following values: %s",
				strings.Join(knownMetrics, ", "))), t.userID)
			return
		}
	}
	// One answer names every refused metric, as in this answer to a reels
	// item a developer reported (https://www.volcengine.com/article/1139570):
	// "(#100) The Media Insights API does not support the impressions,
	// replies metric for this media product type."
	var unsupported []string
	for _, name := range metrics {
		if !has(metricProductTypes[name], m.ProductType) || has(m.Refuse, name) {
			unsupported = append(unsupported, name)
		}
	}
	if len(unsupported) > 0 {
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, fmt.Sprintf(
			"(#100) The Media Insights API does not support the %s metric for this media product type.",
			strings.Join(unsupported, ", "))), t.userID)
		return
	}
	switch {
	case m.AlbumChild:
		f.writeErr(w, gErr(http.StatusBadRequest, 100, 0, "(#100) Media Insights API does not support children media."), t.userID)
		return
	case m.NotEnoughViewers:
		f.writeErr(w, gErr(http.StatusBadRequest, 10, 0, "(#10) Not enough viewers for the media to show insights"), t.userID)
		return
	}
	data := []any{}
	for _, name := range metrics {
		v, ok := m.Insights[name]
		entry := map[string]any{"name": name, "period": "lifetime", "title": name,
			"id": id + "/insights/" + name + "/lifetime", "values": []any{}}
		switch {
		case ok:
			entry["values"] = []any{map[string]any{"value": v}}
		case !m.EmptyValues:
			continue
		}
		data = append(data, entry)
	}
	f.writeOK(w, map[string]any{"data": data}, t.userID)
}

func (f *Fake) usageHeader(w http.ResponseWriter, userID string, regain int) {
	if userID == "" {
		userID = "0"
	}
	pct := f.usagePct
	if regain > 0 {
		pct = 100
	}
	b, _ := json.Marshal(map[string]any{userID: []any{map[string]any{"type": "instagram", "call_count": pct,
		"total_cputime": 1, "total_time": 1, "estimated_time_to_regain_access": regain}}})
	w.Header().Set(usageHeader, string(b))
}

func (f *Fake) writeOK(w http.ResponseWriter, v any, userID string) {
	f.usageHeader(w, userID, 0)
	writeJSON(w, v)
}

func (f *Fake) writeErr(w http.ResponseWriter, e *fakeErr, userID string) {
	if e.hasRegainMinutes {
		f.usageHeader(w, userID, e.regainMinutes)
	}
	var body any
	if e.legacy {
		body = map[string]any{"error_type": e.typ, "code": e.code, "error_message": e.message}
	} else {
		inner := map[string]any{"message": e.message, "type": e.typ, "code": e.code, "fbtrace_id": "A" + randomHex(8)}
		if e.subcode != 0 {
			inner["error_subcode"] = e.subcode
		}
		if e.status >= 500 {
			inner["is_transient"] = true
		}
		body = map[string]any{"error": inner}
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.Join(errors.New("instagram fake: no randomness"), err))
	}
	return hex.EncodeToString(b)
}
