package youtube

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payper/payper/internal/platform"
)

// Paths the Fake serves; Fake.Config points a Config at them.
const (
	FakeAuthPath      = "/o/oauth2/auth"
	FakeTokenPath     = "/token"
	FakeDataPath      = "/youtube/v3"
	FakeAnalyticsPath = "/v2"
)

// fakeAccessTTL is how long the Fake's access tokens live, as Google's.
const fakeAccessTTL = 3599 * time.Second

// FakeVideo is one video of a Fake channel.
type FakeVideo struct {
	ID          string // an 11-character video id
	Title       string
	Description string
	// PublishedAt is when the video went public (the Fake's now when zero).
	PublishedAt                    time.Time
	Views, Likes, Comments, Shares int64
	// HideLikes leaves likeCount out of the statistics, as for a creator
	// who hid likes.
	HideLikes bool
	// Gone keeps the video in the uploads playlist while videos.list no
	// longer returns it (deleted, private, blocked).
	Gone bool
}

// FakeRequest is one request the Fake received.
type FakeRequest struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values // the token endpoint's form, nil elsewhere
}

// Fake is an in-memory Google: the OAuth consent and token endpoints, the
// YouTube Data API (channels?mine=true, videos, playlistItems) and the
// YouTube Analytics reports endpoint, all served by one http.Handler so
// that tests point every Config URL at one httptest.Server (Config does
// that). It answers Google's JSON shapes, counts as strings, and Google's
// error bodies. It is safe for concurrent use.
type Fake struct {
	clientID, clientSecret string

	mu              sync.Mutex
	now             time.Time
	channels        map[string]*fakeChannel
	channelOrder    []string
	videos          map[string]*fakeVideo
	codes           map[string]fakeCode
	access          map[string]fakeGrant
	refresh         map[string]fakeGrant
	seq             int
	exhaustedDay    string
	failNext        int
	analyticsDenied bool
	pageSize        int
	units           int64
	requests        []FakeRequest
}

type fakeChannel struct {
	id, title   string
	subscribers int64
	hidden      bool
	uploads     []string
}

type fakeVideo struct {
	FakeVideo
	channelID string
}

type fakeCode struct {
	channelID, clientID, redirectURI, challenge string
	scopes                                      []string
}

type fakeGrant struct {
	channelID string
	scopes    []string
	expires   time.Time
}

// NewFake returns an empty Fake that accepts the OAuth client clientID with
// secret clientSecret. Its clock starts at the current time; SetNow moves it.
func NewFake(clientID, clientSecret string) *Fake {
	return &Fake{clientID: clientID, clientSecret: clientSecret, now: time.Now().UTC(),
		channels: map[string]*fakeChannel{}, videos: map[string]*fakeVideo{}, codes: map[string]fakeCode{},
		access: map[string]fakeGrant{}, refresh: map[string]fakeGrant{}}
}

// Config returns a Config for the Fake served at baseURL (an
// httptest.Server's URL), using the Fake's clock and hc (nil: the default).
func (f *Fake) Config(baseURL string, hc *http.Client) Config {
	b := strings.TrimRight(baseURL, "/")
	return Config{ClientID: f.clientID, ClientSecret: f.clientSecret, AuthURL: b + FakeAuthPath,
		TokenURL: b + FakeTokenPath, DataBaseURL: b + FakeDataPath, AnalyticsBaseURL: b + FakeAnalyticsPath,
		HTTP: hc, Clock: f.Now}
}

// Now returns the Fake's clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// SetNow sets the Fake's clock.
func (f *Fake) SetNow(t time.Time) {
	f.mu.Lock()
	f.now = t.UTC()
	f.mu.Unlock()
}

// Advance moves the Fake's clock forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// AddChannel adds (or replaces) the channel id titled title, with
// subscribers subscribers, hidden from the API when hidden. Its handle is
// the title in lower case without spaces; its uploads playlist is "UU"
// followed by id without its "UC".
func (f *Fake) AddChannel(id, title string, subscribers int64, hidden bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.channels[id]; !ok {
		f.channelOrder = append(f.channelOrder, id)
	}
	f.channels[id] = &fakeChannel{id: id, title: title, subscribers: subscribers, hidden: hidden}
}

// AddVideo publishes v on channel channelID. It panics when the channel is
// unknown or the video id is taken, which is a mistake in the test.
func (f *Fake) AddVideo(channelID string, v FakeVideo) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.channels[channelID]
	if !ok {
		panic(fmt.Sprintf("youtube.Fake: AddVideo to unknown channel %q", channelID))
	}
	if _, ok := f.videos[v.ID]; ok {
		panic(fmt.Sprintf("youtube.Fake: video %q added twice", v.ID))
	}
	if v.PublishedAt.IsZero() {
		v.PublishedAt = f.now
	}
	f.videos[v.ID] = &fakeVideo{FakeVideo: v, channelID: channelID}
	ch.uploads = append(ch.uploads, v.ID)
}

// SetCounts sets the counts of video id. It panics when the video is
// unknown.
func (f *Fake) SetCounts(id string, views, likes, comments, shares int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.videos[id]
	if !ok {
		panic(fmt.Sprintf("youtube.Fake: SetCounts of unknown video %q", id))
	}
	v.Views, v.Likes, v.Comments, v.Shares = views, likes, comments, shares
}

// RevokeTokens revokes every access and refresh token issued so far: data
// calls answer 401, refreshes invalid_grant.
func (f *Fake) RevokeTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.access)
	clear(f.refresh)
}

// ExhaustQuota makes Data API calls answer 403 quotaExceeded until the
// Fake's clock passes the next midnight Pacific time.
func (f *Fake) ExhaustQuota() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exhaustedDay = pacificDay(f.now)
}

// FailNext makes the next n requests to the token, Data and Analytics
// endpoints answer 503 backendError.
func (f *Fake) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = n
}

// DenyAnalytics makes the Analytics reports endpoint answer 403 forbidden
// (the caller may not read this channel's reports).
func (f *Fake) DenyAnalytics() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.analyticsDenied = true
}

// SetPageSize caps the items per playlistItems page below what the
// request asks (0: no cap), to exercise paging.
func (f *Fake) SetPageSize(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pageSize = n
}

// UnitsUsed returns the Data API units the Fake billed: one per Data API
// request received, failed ones included.
func (f *Fake) UnitsUsed() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.units
}

// Requests returns a copy of every request received so far, in order.
func (f *Fake) Requests() []FakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.requests)
}

// ServeHTTP serves Google's endpoints under the Fake paths, and 404 for
// anything else.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := FakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()}
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			oauthErr(w, http.StatusBadRequest, "invalid_request", "unreadable form")
			return
		}
		rec.Form = r.PostForm
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, rec)
	if strings.HasPrefix(r.URL.Path, FakeDataPath+"/") {
		f.units++
	}
	if r.URL.Path != FakeAuthPath && f.failNext > 0 {
		f.failNext--
		googleErr(w, http.StatusServiceUnavailable, "backendError", "The service is currently unavailable.", "UNAVAILABLE", "global")
		return
	}
	switch {
	case r.URL.Path == FakeAuthPath && r.Method == http.MethodGet:
		f.consent(w, r)
	case r.URL.Path == FakeTokenPath && r.Method == http.MethodPost:
		f.token(w, r, rec.Form)
	case r.URL.Path == FakeDataPath+"/channels" && r.Method == http.MethodGet:
		if g, ok := f.authorize(w, r, ScopeReadonly, true); ok {
			f.channelsList(w, r, g)
		}
	case r.URL.Path == FakeDataPath+"/videos" && r.Method == http.MethodGet:
		if _, ok := f.authorize(w, r, ScopeReadonly, true); ok {
			f.videosList(w, r)
		}
	case r.URL.Path == FakeDataPath+"/playlistItems" && r.Method == http.MethodGet:
		if _, ok := f.authorize(w, r, ScopeReadonly, true); ok {
			f.playlistItemsList(w, r)
		}
	case r.URL.Path == FakeAnalyticsPath+"/reports" && r.Method == http.MethodGet:
		if g, ok := f.authorize(w, r, ScopeAnalytics, false); ok {
			f.reports(w, r, g)
		}
	default:
		googleErr(w, http.StatusNotFound, "notFound", "Not Found", "NOT_FOUND", "global")
	}
}

func (f *Fake) nextSecret(prefix string) string {
	f.seq++
	return prefix + strconv.Itoa(f.seq)
}

// consent approves the consent screen at once for the channel named by
// login_hint, or the only channel, and redirects back with code and state.
func (f *Fake) consent(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	switch {
	case q.Get("client_id") != f.clientID:
		http.Error(w, "Error 401: invalid_client", http.StatusUnauthorized)
		return
	case err != nil || !redirect.IsAbs():
		http.Error(w, "Error 400: redirect_uri_mismatch", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "Error 400: unsupported_response_type", http.StatusBadRequest)
		return
	case q.Get("code_challenge") != "" && q.Get("code_challenge_method") != "S256":
		http.Error(w, "Error 400: invalid_request (code_challenge_method)", http.StatusBadRequest)
		return
	}
	channelID := q.Get("login_hint")
	if channelID == "" && len(f.channelOrder) == 1 {
		channelID = f.channelOrder[0]
	}
	if _, ok := f.channels[channelID]; !ok {
		http.Error(w, "the fake needs login_hint naming a channel", http.StatusBadRequest)
		return
	}
	code := f.nextSecret("4/fake-code-")
	f.codes[code] = fakeCode{channelID: channelID, clientID: f.clientID, redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), scopes: strings.Fields(q.Get("scope"))}
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// token serves the authorization_code and refresh_token grants.
func (f *Fake) token(w http.ResponseWriter, r *http.Request, form url.Values) {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	if id != f.clientID || secret != f.clientSecret {
		oauthErr(w, http.StatusUnauthorized, "invalid_client", "Unauthorized")
		return
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		code, ok := f.codes[form.Get("code")]
		switch {
		case !ok:
			oauthErr(w, http.StatusBadRequest, "invalid_grant", "Malformed auth code.")
		case code.redirectURI != form.Get("redirect_uri"):
			oauthErr(w, http.StatusBadRequest, "redirect_uri_mismatch", "Bad Request")
		case code.challenge == "" && form.Get("code_verifier") != "":
			oauthErr(w, http.StatusBadRequest, "invalid_grant", "code_verifier or verifier is not needed.")
		case code.challenge != "" && !platform.VerifyChallenge(form.Get("code_verifier"), code.challenge):
			oauthErr(w, http.StatusBadRequest, "invalid_grant", "Invalid code verifier.")
		default:
			delete(f.codes, form.Get("code"))
			g := fakeGrant{channelID: code.channelID, scopes: code.scopes}
			rt := f.nextSecret("1//fake-refresh-")
			f.refresh[rt] = g
			f.issue(w, g, rt)
		}
	case "refresh_token":
		g, ok := f.refresh[form.Get("refresh_token")]
		if !ok {
			oauthErr(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			return
		}
		f.issue(w, g, "") // Google sends no new refresh token
	default:
		oauthErr(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+form.Get("grant_type"))
	}
}

func (f *Fake) issue(w http.ResponseWriter, g fakeGrant, refreshToken string) {
	at := f.nextSecret("ya29.fake-access-")
	g.expires = f.now.Add(fakeAccessTTL)
	f.access[at] = g
	out := map[string]any{"access_token": at, "expires_in": int(fakeAccessTTL / time.Second),
		"scope": strings.Join(g.scopes, " "), "token_type": "Bearer"}
	if refreshToken != "" {
		out["refresh_token"] = refreshToken
	}
	writeJSON(w, http.StatusOK, out)
}

// authorize checks the bearer token and its scope, and for the Data API the
// quota.
func (f *Fake) authorize(w http.ResponseWriter, r *http.Request, scope string, data bool) (fakeGrant, bool) {
	at, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g, ok := f.access[at]
	if !ok || !f.now.Before(g.expires) {
		googleErr(w, http.StatusUnauthorized, "authError",
			"Request had invalid authentication credentials. Expected OAuth 2 access token.", "UNAUTHENTICATED", "global")
		return fakeGrant{}, false
	}
	if !slices.Contains(g.scopes, scope) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="`+scope+`"`)
		googleErr(w, http.StatusForbidden, "insufficientPermissions",
			"Request had insufficient authentication scopes.", "PERMISSION_DENIED", "global")
		return fakeGrant{}, false
	}
	if data && f.exhaustedDay != "" && f.exhaustedDay == pacificDay(f.now) {
		googleErr(w, http.StatusForbidden, "quotaExceeded",
			"The request cannot be completed because you have exceeded your quota.", "", "youtube.quota")
		return fakeGrant{}, false
	}
	return g, true
}

func (f *Fake) channelsList(w http.ResponseWriter, r *http.Request, g fakeGrant) {
	q := r.URL.Query()
	if q.Get("mine") != "true" || q.Get("part") == "" {
		googleErr(w, http.StatusBadRequest, "missingRequiredParameter", "the fake serves part=…&mine=true only", "", "youtube.parameter")
		return
	}
	parts := strings.Split(q.Get("part"), ",")
	ch := f.channels[g.channelID]
	items := []map[string]any{}
	if ch != nil {
		it := map[string]any{"kind": "youtube#channel", "id": ch.id}
		if slices.Contains(parts, "snippet") {
			it["snippet"] = map[string]any{"title": ch.title,
				"customUrl": "@" + strings.ToLower(strings.ReplaceAll(ch.title, " ", ""))}
		}
		if slices.Contains(parts, "statistics") {
			st := map[string]any{"hiddenSubscriberCount": ch.hidden, "videoCount": strconv.Itoa(len(ch.uploads)), "viewCount": "0"}
			if !ch.hidden {
				st["subscriberCount"] = strconv.FormatInt(roundDown3(ch.subscribers), 10)
			}
			it["statistics"] = st
		}
		if slices.Contains(parts, "contentDetails") {
			it["contentDetails"] = map[string]any{"relatedPlaylists": map[string]any{"likes": "", "uploads": uploadsID(ch.id)}}
		}
		items = append(items, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "youtube#channelListResponse", "items": items,
		"pageInfo": map[string]int{"totalResults": len(items), "resultsPerPage": 5}})
}

// roundDown3 keeps three significant figures, as the API does for
// subscriberCount.
func roundDown3(n int64) int64 {
	p := int64(1)
	for n/p >= 1000 {
		p *= 10
	}
	return n / p * p
}

func uploadsID(channelID string) string {
	return "UU" + strings.TrimPrefix(channelID, "UC")
}

func (f *Fake) videosList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ids := strings.Split(q.Get("id"), ",")
	switch {
	case q.Get("part") == "" || q.Get("id") == "":
		googleErr(w, http.StatusBadRequest, "missingRequiredParameter", "part and id are required", "", "youtube.parameter")
		return
	case len(ids) > MaxIDsPerCall:
		googleErr(w, http.StatusBadRequest, "invalidFilters", "The request specifies more than 50 video ids.", "", "youtube.parameter")
		return
	case q.Has("maxResults"):
		googleErr(w, http.StatusBadRequest, "invalidParameter", "maxResults is not supported with id", "", "youtube.parameter")
		return
	}
	parts := strings.Split(q.Get("part"), ",")
	items := []map[string]any{}
	for _, id := range ids {
		v, ok := f.videos[id]
		if !ok || v.Gone {
			continue
		}
		it := map[string]any{"kind": "youtube#video", "id": v.ID}
		if slices.Contains(parts, "snippet") {
			it["snippet"] = map[string]any{"publishedAt": v.PublishedAt.UTC().Format(time.RFC3339), "channelId": v.channelID,
				"title": v.Title, "description": v.Description, "channelTitle": f.channels[v.channelID].title}
		}
		if slices.Contains(parts, "statistics") {
			st := map[string]string{"viewCount": strconv.FormatInt(v.Views, 10), "favoriteCount": "0",
				"commentCount": strconv.FormatInt(v.Comments, 10)}
			if !v.HideLikes {
				st["likeCount"] = strconv.FormatInt(v.Likes, 10)
			}
			it["statistics"] = st
		}
		items = append(items, it)
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": "youtube#videoListResponse", "items": items,
		"pageInfo": map[string]int{"totalResults": len(items), "resultsPerPage": len(items)}})
}

func (f *Fake) playlistItemsList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var ch *fakeChannel
	for _, c := range f.channels {
		if uploadsID(c.id) == q.Get("playlistId") {
			ch = c
		}
	}
	if q.Get("part") == "" || q.Get("playlistId") == "" {
		googleErr(w, http.StatusBadRequest, "missingRequiredParameter", "part and playlistId are required", "", "youtube.parameter")
		return
	}
	if ch == nil {
		googleErr(w, http.StatusNotFound, "playlistNotFound", "The playlist identified with the request's playlistId parameter cannot be found.", "", "youtube.playlistItem")
		return
	}
	size := 5
	if s := q.Get("maxResults"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > MaxIDsPerCall {
			googleErr(w, http.StatusBadRequest, "invalidParameter", "maxResults must be 0 to 50", "", "youtube.parameter")
			return
		}
		size = n
	}
	if f.pageSize > 0 {
		size = min(size, f.pageSize)
	}
	offset := 0
	if t := q.Get("pageToken"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "PT"))
		if !strings.HasPrefix(t, "PT") || err != nil || n < 0 || n > len(ch.uploads) {
			googleErr(w, http.StatusBadRequest, "invalidPageToken", "The request specifies an invalid page token.", "", "youtube.parameter")
			return
		}
		offset = n
	}
	order := slices.Clone(ch.uploads) // newest first
	slices.Reverse(order)
	slices.SortStableFunc(order, func(a, b string) int { return f.videos[b].PublishedAt.Compare(f.videos[a].PublishedAt) })
	end := min(offset+size, len(order))
	items := []map[string]any{}
	for i, id := range order[offset:end] {
		v := f.videos[id]
		items = append(items, map[string]any{"kind": "youtube#playlistItem", "id": fmt.Sprintf("PLI%d", offset+i),
			"contentDetails": map[string]string{"videoId": id, "videoPublishedAt": v.PublishedAt.UTC().Format(time.RFC3339)}})
	}
	out := map[string]any{"kind": "youtube#playlistItemListResponse", "items": items,
		"pageInfo": map[string]int{"totalResults": len(order), "resultsPerPage": size}}
	if end < len(order) {
		out["nextPageToken"] = "PT" + strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, out)
}

// The YouTube Analytics API's rules for the two reports the Fake serves,
// as published in "Channel reports"
// (https://developers.google.com/youtube/analytics/channel_reports) and
// reports.query
// (https://developers.google.com/youtube/analytics/reference/reports/query):
//
//   - no dimensions: the "basic user activity" report, one row of totals,
//     which may be filtered to videos with filters=video==ID[,ID…] (up to 500
//     ids, the totals of all of them together);
//   - dimensions=video: the "Top videos" report. It needs maxResults (at most
//     200), a sort in descending order ("-" prefix) on one of its sort
//     metrics, which must be among the requested metrics, and takes no video
//     filter (only country, continent or subContinent); it cannot be paged
//     past the 200th video (startIndex + maxResults ≤ 201).
//
// Any other combination is refused with 400 "The query is not supported",
// reason badRequest — the answer quoted in public reports of these mistakes,
// e.g. https://github.com/MarkEdmondson1234/youtubeAnalyticsR/issues/2
// (dimensions=video without sort) and the Go client's
// "googleapi: Error 400: The query is not supported. …, badRequest".
const (
	fakeTopVideosMax   = 200
	fakeUnsupportedMsg = "The query is not supported. Check the documentation at https://developers.google.com/youtube/analytics/v2/available_reports for a list of supported queries."
	fakeMaxFilterIDs   = 500
)

// fakeTopVideosSort are the metrics the Top videos report sorts on
// (channel reports, "Top videos": views, redViews, estimatedMinutesWatched,
// estimatedRedMinutesWatched, subscribersGained, subscribersLost, and the
// revenue metrics). shares is not one of them.
var fakeTopVideosSort = []string{"views", "redViews", "estimatedMinutesWatched", "estimatedRedMinutesWatched",
	"subscribersGained", "subscribersLost", "estimatedRevenue", "estimatedRedPartnerRevenue"}

// fakeMetrics are the metrics the Fake can report (both are video metrics
// of the two reports above).
var fakeMetrics = []string{"views", "shares"}

// reports serves the two Analytics reports above for the token's channel,
// from lifetime counts of the videos published by endDate, and answers
// 400 badRequest to any query those reports do not support.
func (f *Fake) reports(w http.ResponseWriter, r *http.Request, g fakeGrant) {
	if f.analyticsDenied {
		googleErr(w, http.StatusForbidden, "forbidden", "The caller does not have permission", "PERMISSION_DENIED", "global")
		return
	}
	q := r.URL.Query()
	unsupported := func() {
		googleErr(w, http.StatusBadRequest, "badRequest", fakeUnsupportedMsg, "INVALID_ARGUMENT", "global")
	}
	start, err1 := time.ParseInLocation(time.DateOnly, q.Get("startDate"), pacific())
	end, err2 := time.ParseInLocation(time.DateOnly, q.Get("endDate"), pacific())
	metrics := strings.Split(q.Get("metrics"), ",")
	switch {
	case q.Get("ids") != "channel==MINE":
		googleErr(w, http.StatusBadRequest, "invalid", "the fake serves ids=channel==MINE only", "INVALID_ARGUMENT", "global")
		return
	case err1 != nil || err2 != nil || end.Before(start):
		googleErr(w, http.StatusBadRequest, "invalid", "startDate and endDate must be dates, in order", "INVALID_ARGUMENT", "global")
		return
	case q.Get("metrics") == "":
		googleErr(w, http.StatusBadRequest, "required", "Required", "INVALID_ARGUMENT", "global")
		return
	}
	for i, m := range metrics {
		if !slices.Contains(fakeMetrics, m) || slices.Contains(metrics[:i], m) {
			googleErr(w, http.StatusBadRequest, "invalid", "the fake serves the metrics views and shares, each once", "INVALID_ARGUMENT", "global")
			return
		}
	}
	var want []string
	if fl := q.Get("filters"); fl != "" {
		ids, ok := strings.CutPrefix(fl, "video==")
		if !ok || strings.Contains(ids, ";") {
			googleErr(w, http.StatusBadRequest, "invalid", "the fake serves filters=video==… only", "INVALID_ARGUMENT", "global")
			return
		}
		want = strings.Split(ids, ",")
	}
	var live []*fakeVideo // the channel's videos published by endDate
	for _, id := range f.channels[g.channelID].uploads {
		if v := f.videos[id]; !v.Gone && !v.PublishedAt.After(end.AddDate(0, 0, 1)) {
			live = append(live, v)
		}
	}
	value := func(v *fakeVideo, m string) int64 {
		if m == "views" {
			return v.Views
		}
		return v.Shares
	}
	headers := func(dims ...string) []map[string]string {
		var hs []map[string]string
		for _, d := range dims {
			hs = append(hs, map[string]string{"name": d, "columnType": "DIMENSION", "dataType": "STRING"})
		}
		for _, m := range metrics {
			hs = append(hs, map[string]string{"name": m, "columnType": "METRIC", "dataType": "INTEGER"})
		}
		return hs
	}
	switch q.Get("dimensions") {
	case "":
		// Basic user activity: one row of totals, optionally for some videos.
		if len(want) > fakeMaxFilterIDs {
			unsupported()
			return
		}
		row := make([]any, len(metrics))
		sums := make([]int64, len(metrics))
		matched := false
		for _, v := range live {
			if want != nil && !slices.Contains(want, v.ID) {
				continue
			}
			matched = true
			for i, m := range metrics {
				sums[i] += value(v, m)
			}
		}
		for i := range sums {
			row[i] = sums[i]
		}
		out := map[string]any{"kind": "youtubeAnalytics#resultTable", "columnHeaders": headers()}
		if matched {
			out["rows"] = [][]any{row}
		}
		writeJSON(w, http.StatusOK, out)
	case "video":
		// Top videos.
		maxResults, err := strconv.Atoi(q.Get("maxResults"))
		startIndex := 1
		if s := q.Get("startIndex"); s != "" {
			if startIndex, err = strconv.Atoi(s); err != nil || startIndex < 1 {
				unsupported()
				return
			}
		}
		if err != nil || maxResults < 1 || maxResults > fakeTopVideosMax || startIndex+maxResults > fakeTopVideosMax+1 ||
			want != nil || q.Get("sort") == "" {
			unsupported()
			return
		}
		sortBy := strings.Split(q.Get("sort"), ",")
		for _, s := range sortBy {
			m, desc := strings.CutPrefix(s, "-")
			if !desc || !slices.Contains(fakeTopVideosSort, m) || !slices.Contains(metrics, m) {
				unsupported()
				return
			}
		}
		slices.SortStableFunc(live, func(a, b *fakeVideo) int {
			for _, s := range sortBy {
				m := strings.TrimPrefix(s, "-")
				if c := cmpInt64(value(b, m), value(a, m)); c != 0 {
					return c
				}
			}
			return strings.Compare(a.ID, b.ID)
		})
		rows := [][]any{}
		for _, v := range live[min(startIndex-1, len(live)):min(startIndex-1+maxResults, len(live))] {
			row := []any{v.ID}
			for _, m := range metrics {
				row = append(row, value(v, m))
			}
			rows = append(rows, row)
		}
		writeJSON(w, http.StatusOK, map[string]any{"kind": "youtubeAnalytics#resultTable",
			"columnHeaders": headers("video"), "rows": rows})
	default:
		unsupported()
	}
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// googleErr writes Google's API error body.
func googleErr(w http.ResponseWriter, status int, reason, message, st, domain string) {
	body := map[string]any{"code": status, "message": message,
		"errors": []map[string]string{{"message": message, "domain": domain, "reason": reason}}}
	if st != "" {
		body["status"] = st
	}
	writeJSON(w, status, map[string]any{"error": body})
}
