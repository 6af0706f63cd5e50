package tiktok_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/tiktok"
)

const (
	clientKey    = "awtestkey"
	clientSecret = "s3cret"
	redirectURI  = "https://payper.example/connect/tiktok/callback"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// env is one fake TikTok served over HTTP on both hosts, and a client for it.
type env struct {
	ctx    context.Context
	fake   *tiktok.Fake
	srv    *httptest.Server
	client *tiktok.Client
	// browser follows no redirects, so tests can read the Location.
	browser *http.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	f := tiktok.NewFake(clientKey, clientSecret)
	f.SetNow(t0)
	return setupWith(t, f, f)
}

// setupWith serves h (the fake, or a handler around it) with a client whose
// clock is f's.
func setupWith(t *testing.T, f *tiktok.Fake, h http.Handler) *env {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := tiktok.New(tiktok.Config{ClientKey: clientKey, ClientSecret: clientSecret,
		AuthBaseURL: srv.URL, APIBaseURL: srv.URL + "/", HTTP: srv.Client(), Clock: f.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: context.Background(), fake: f, srv: srv, client: c,
		browser: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// authorize follows the consent URL and returns the redirect's query.
func (e *env) authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp, err := e.browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		t.Fatalf("redirected to %s, want the redirect_uri", loc)
	}
	return loc.Query()
}

// startConnect runs the consent step and returns the code.
func (e *env) startConnect(t *testing.T) string {
	t.Helper()
	state := platform.NewState()
	q := e.authorize(t, e.client.AuthorizeURL(platform.AuthRequest{State: state, RedirectURI: redirectURI,
		CodeChallenge: platform.Challenge(platform.NewVerifier())}))
	cb, err := platform.ParseCallback(q)
	if err != nil {
		t.Fatalf("callback %v: %v", q, err)
	}
	if cb.State != state {
		t.Fatalf("state %q came back as %q", state, cb.State)
	}
	return cb.Code
}

// connect runs the whole connect flow for the account that approves.
func (e *env) connect(t *testing.T) platform.Token {
	t.Helper()
	tok, err := e.client.Exchange(e.ctx, e.startConnect(t), redirectURI, "")
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// videos publishes n videos for openID, one an hour before t0 apart, the
// newest first: ids base+0 (newest) … base+n-1 (oldest).
func (e *env) videos(openID string, base int64, n int) []string {
	var ids []string
	for i := range n {
		id := fmt.Sprint(base + int64(i))
		e.fake.AddVideo(openID, tiktok.FakeVideo{ID: id, CreateTime: t0.Add(-time.Duration(i+1) * time.Hour),
			Description: "video " + id, Views: int64(1000 + i), Likes: int32(100 + i), Comments: int32(10 + i), Shares: int32(i)})
		ids = append(ids, id)
	}
	return ids
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want an error matching %v", what, err, kind)
	}
	n := 0
	for _, k := range []error{platform.ErrReconnect, platform.ErrRateLimited, platform.ErrMediaNotFound, platform.ErrUnavailable} {
		if errors.Is(err, k) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%s: %v matches %d error classes, want exactly one", what, err, n)
	}
}

func wantNoKind(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	for _, k := range []error{platform.ErrReconnect, platform.ErrRateLimited, platform.ErrMediaNotFound, platform.ErrUnavailable} {
		if errors.Is(err, k) {
			t.Fatalf("%s: %v matches %v, want no class", what, err, k)
		}
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var pe *platform.Error
	if !errors.As(err, &pe) || pe.Code != code {
		t.Fatalf("%s: got %v, want platform code %q", what, err, code)
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	for _, cfg := range []tiktok.Config{
		{ClientSecret: "s"},
		{ClientKey: "k"},
		{ClientKey: "k", ClientSecret: "s", APIBaseURL: "open.tiktokapis.com"},
		{ClientKey: "k", ClientSecret: "s", AuthBaseURL: "ftp://www.tiktok.com"},
		{ClientKey: "k", ClientSecret: "s", APIBaseURL: "https://x.example/?a=b"},
	} {
		if _, err := tiktok.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
	c, err := tiktok.New(tiktok.Config{ClientKey: "k", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != platform.TikTok {
		t.Fatalf("name %q", c.Name())
	}
	got := c.AuthorizeURL(platform.AuthRequest{State: "st", RedirectURI: redirectURI, CodeChallenge: "ch", LoginHint: "maria"})
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host+u.Path != "https://www.tiktok.com/v2/auth/authorize/" {
		t.Fatalf("authorize URL %s", got)
	}
	want := url.Values{"client_key": {"k"}, "response_type": {"code"}, "redirect_uri": {redirectURI}, "state": {"st"},
		"scope": {"user.info.basic,user.info.profile,user.info.stats,video.list"}}
	if u.Query().Encode() != want.Encode() {
		t.Fatalf("authorize query %v, want exactly %v (no client_id, no PKCE, no hint)", u.Query(), want)
	}
}

func TestConnectFlow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria.makes", 4200)
	e.fake.SetTokenTTLs(2*time.Hour, 180*24*time.Hour)

	code := e.startConnect(t)
	_, err := e.client.Exchange(e.ctx, code, "https://evil.example/callback", "")
	wantKind(t, "other redirect_uri", err, platform.ErrReconnect)
	wantCode(t, "other redirect_uri", err, "invalid_grant")

	tok, err := e.client.Exchange(e.ctx, code, redirectURI, "ignored-verifier")
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.AccountID != "open-maria" || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("token %v", tok)
	}
	if !tok.IssuedAt.Equal(t0) || !tok.ExpiresAt.Equal(t0.Add(2*time.Hour)) || !tok.RefreshExpiresAt.Equal(t0.Add(180*24*time.Hour)) {
		t.Fatalf("issued %v, expires %v, refresh expires %v: want them from expires_in / refresh_expires_in",
			tok.IssuedAt, tok.ExpiresAt, tok.RefreshExpiresAt)
	}
	for _, s := range []string{tiktok.ScopeUserInfoBasic, tiktok.ScopeUserInfoProfile, tiktok.ScopeUserInfoStats, tiktok.ScopeVideoList} {
		if !tok.HasScope(s) {
			t.Fatalf("scopes %v lack %s", tok.Scopes, s)
		}
	}
	if strings.Contains(tok.String(), tok.AccessToken) {
		t.Fatal("token leaks in String")
	}
	reqs := e.fake.RequestsTo("/v2/oauth/token/")
	form := reqs[len(reqs)-1].Form
	want := url.Values{"client_key": {clientKey}, "client_secret": {clientSecret}, "code": {code},
		"grant_type": {"authorization_code"}, "redirect_uri": {redirectURI}}
	if form.Encode() != want.Encode() {
		t.Fatalf("token form %v, want %v", form, want)
	}

	// Codes are single-use and expire.
	_, err = e.client.Exchange(e.ctx, code, redirectURI, "")
	wantKind(t, "replayed code", err, platform.ErrReconnect)
	wantCode(t, "replayed code", err, "invalid_grant")
	code = e.startConnect(t)
	e.fake.Advance(6 * time.Minute)
	_, err = e.client.Exchange(e.ctx, code, redirectURI, "")
	wantKind(t, "expired code", err, platform.ErrReconnect)
	_, err = e.client.Exchange(e.ctx, "", redirectURI, "")
	wantKind(t, "no code", err, platform.ErrReconnect)

	// The creator declines.
	e.fake.Deny()
	q := e.authorize(t, e.client.AuthorizeURL(platform.AuthRequest{State: "st", RedirectURI: redirectURI}))
	_, err = platform.ParseCallback(q)
	if !errors.Is(err, platform.ErrAccessDenied) || q.Get("state") != "st" {
		t.Fatalf("declined consent: %v, %v", q, err)
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria", 4200)
	tok := e.connect(t)

	e.fake.Advance(25 * time.Hour)
	_, err := e.client.Profile(e.ctx, tok)
	wantKind(t, "expired access token", err, platform.ErrReconnect)
	wantCode(t, "expired access token", err, "access_token_invalid")
	if !tok.CanRefresh(e.fake.Now()) {
		t.Fatal("the refresh token should still be usable")
	}

	e.fake.SetTokenTTLs(2*time.Hour, 180*24*time.Hour)
	tok2, err := e.client.Refresh(e.ctx, tok)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	now := e.fake.Now()
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == tok.RefreshToken || tok2.AccountID != tok.AccountID {
		t.Fatalf("refresh did not rotate: %v → %v", tok, tok2)
	}
	if !tok2.ExpiresAt.Equal(now.Add(2*time.Hour)) || !tok2.RefreshExpiresAt.Equal(now.Add(180*24*time.Hour)) || !tok2.IssuedAt.Equal(now) {
		t.Fatalf("refreshed token expires %v / %v", tok2.ExpiresAt, tok2.RefreshExpiresAt)
	}
	reqs := e.fake.RequestsTo("/v2/oauth/token/")
	form := reqs[len(reqs)-1].Form
	want := url.Values{"client_key": {clientKey}, "client_secret": {clientSecret}, "grant_type": {"refresh_token"},
		"refresh_token": {tok.RefreshToken}}
	if form.Encode() != want.Encode() {
		t.Fatalf("refresh form %v, want %v", form, want)
	}
	if _, err := e.client.Profile(e.ctx, tok2); err != nil {
		t.Fatalf("profile with the refreshed token: %v", err)
	}

	// The rotated refresh token is dead; the new one works once.
	_, err = e.client.Refresh(e.ctx, tok)
	wantKind(t, "rotated refresh token", err, platform.ErrReconnect)
	wantCode(t, "rotated refresh token", err, "invalid_grant")
	tok3, err := e.client.Refresh(e.ctx, tok2)
	if err != nil {
		t.Fatalf("refresh with the newest refresh token: %v", err)
	}

	e.fake.RevokeRefreshTokens()
	_, err = e.client.Refresh(e.ctx, tok3)
	wantKind(t, "revoked refresh token", err, platform.ErrReconnect)

	tok4 := e.connect(t)
	e.fake.Advance(181 * 24 * time.Hour)
	_, err = e.client.Refresh(e.ctx, tok4)
	wantKind(t, "expired refresh token", err, platform.ErrReconnect)

	_, err = e.client.Refresh(e.ctx, platform.Token{AccessToken: "x"})
	wantKind(t, "token without refresh token", err, platform.ErrReconnect)
}

func TestProfile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria.makes", 4200)
	e.videos("open-maria", 7300000000000000000, 3)
	tok := e.connect(t)

	p, err := e.client.Profile(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	want := platform.Profile{AccountID: "open-maria", Handle: "maria.makes", DisplayName: "Maria.makes",
		Followers: platform.Known(4200), MediaCount: platform.Known(3)}
	if p != want {
		t.Fatalf("profile %+v, want %+v", p, want)
	}
	reqs := e.fake.RequestsTo("/v2/user/info/")
	if got := reqs[0].Query.Get("fields"); got != "open_id,username,display_name,follower_count,video_count" {
		t.Fatalf("fields %q", got)
	}
	if reqs[0].Authorization != "Bearer "+tok.AccessToken {
		t.Fatalf("authorization %q", reqs[0].Authorization)
	}

	// Without user.info.stats the counts are Unknown, not 0, and not asked for.
	e.fake.Approve("open-maria", tiktok.ScopeUserInfoBasic, tiktok.ScopeUserInfoProfile, tiktok.ScopeVideoList)
	tok = e.connect(t)
	if tok.HasScope(tiktok.ScopeUserInfoStats) {
		t.Fatalf("scopes %v", tok.Scopes)
	}
	p, err = e.client.Profile(e.ctx, tok)
	if err != nil || p.Followers.Known || p.MediaCount.Known || p.Handle != "maria.makes" {
		t.Fatalf("profile without stats: %+v, %v", p, err)
	}

	// A field whose scope was not granted fails the call: reconnect and grant it.
	e.fake.Approve("open-maria", tiktok.ScopeUserInfoBasic, tiktok.ScopeVideoList)
	tok = e.connect(t)
	_, err = e.client.Profile(e.ctx, tok)
	wantKind(t, "username without user.info.profile", err, platform.ErrReconnect)
	wantCode(t, "username without user.info.profile", err, "scope_not_authorized")
	if !strings.Contains(err.Error(), "log_id") {
		t.Fatalf("error %v lacks TikTok's log_id", err)
	}
	e.fake.Approve("open-maria", tiktok.ScopeUserInfoBasic)
	tok = e.connect(t)
	_, err = e.client.RecentMedia(e.ctx, tok, 5)
	wantKind(t, "video list without video.list", err, platform.ErrReconnect)
	wantCode(t, "video list without video.list", err, "scope_not_authorized")
}

func TestFindMedia(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria", 4200)
	e.fake.AddAccount("open-jon", "jon", 900)
	ids := e.videos("open-maria", 7300000000000000000, 44)
	e.fake.AddVideo("open-maria", tiktok.FakeVideo{ID: "7300000000000000999", CreateTime: t0.Add(-100 * time.Hour),
		ShareURL: "https://vm.tiktok.com/ZM8oldest/", Description: "the oldest"})
	jons := e.videos("open-jon", 7400000000000000000, 1)
	tok := e.connect(t)

	m, err := e.client.FindMedia(e.ctx, tok, ids[3])
	if err != nil {
		t.Fatal(err)
	}
	want := platform.Media{ID: ids[3], AccountID: "open-maria", Caption: "video " + ids[3], Type: platform.TypeVideo,
		PublishedAt: t0.Add(-4 * time.Hour),
		Permalink:   "https://www.tiktok.com/@maria/video/" + ids[3] + "?utm_campaign=tt4d_open_api&utm_source=" + clientKey}
	if m != want {
		t.Fatalf("by id: %+v, want %+v", m, want)
	}
	if err := platform.CheckOwner(tok, m); err != nil {
		t.Fatalf("check owner: %v", err)
	}
	q := e.fake.RequestsTo("/v2/video/query/")
	var body struct {
		Filters struct {
			VideoIDs []string `json:"video_ids"`
		} `json:"filters"`
	}
	if err := json.Unmarshal(q[0].Body, &body); err != nil || len(body.Filters.VideoIDs) != 1 || body.Filters.VideoIDs[0] != ids[3] {
		t.Fatalf("query body %s: %v", q[0].Body, err)
	}

	// A share URL carrying the id: one video query, no paging.
	before := len(e.fake.Requests())
	m, err = e.client.FindMedia(e.ctx, tok, "https://www.tiktok.com/@maria/video/"+ids[40]+"?is_from_webapp=1")
	if err != nil || m.ID != ids[40] {
		t.Fatalf("by share URL with id: %+v, %v", m, err)
	}
	if reqs := e.fake.Requests()[before:]; len(reqs) != 1 || reqs[0].Path != "/v2/video/query/" {
		t.Fatalf("by share URL with id: requests %+v", reqs)
	}

	// A share URL without one: paged through, newest first (20 + 20 + 5).
	before = len(e.fake.Requests())
	m, err = e.client.FindMedia(e.ctx, tok, "https://vm.tiktok.com/ZM8oldest?lang=en")
	if err != nil || m.ID != "7300000000000000999" || m.Caption != "the oldest" || m.AccountID != "open-maria" {
		t.Fatalf("by share URL on page 3: %+v, %v", m, err)
	}
	reqs := e.fake.Requests()[before:]
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3 pages", len(reqs))
	}
	for i, r := range reqs {
		var lb map[string]any
		_ = json.Unmarshal(r.Body, &lb)
		if r.Path != "/v2/video/list/" || lb["max_count"] != float64(20) || (i == 0) != (lb["cursor"] == nil) {
			t.Fatalf("page %d: %s %s", i, r.Path, r.Body)
		}
	}

	for _, tc := range []struct{ what, ref string }{
		{"unknown id", "7399999999999999999"},
		{"another creator's video", jons[0]},
		{"another creator's share URL", "https://www.tiktok.com/@jon/video/" + jons[0]},
		{"not an id", "abc"},
		{"empty", " "},
		{"unknown short link", "https://vm.tiktok.com/ZMnothing/"},
	} {
		_, err := e.client.FindMedia(e.ctx, tok, tc.ref)
		wantKind(t, tc.what, err, platform.ErrMediaNotFound)
	}
	e.fake.DeleteVideo(ids[0])
	_, err = e.client.FindMedia(e.ctx, tok, ids[0])
	wantKind(t, "deleted", err, platform.ErrMediaNotFound)

	// CheckOwner: maria's video is not jon's.
	e.fake.Approve("open-jon")
	jonTok := e.connect(t)
	err = platform.CheckOwner(jonTok, m)
	if !errors.Is(err, platform.ErrNotOwner) {
		t.Fatalf("check owner with another account: %v", err)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria", 4200)
	e.fake.AddAccount("open-jon", "jon", 900)
	ids := e.videos("open-maria", 7300000000000000000, 45)
	jons := e.videos("open-jon", 7400000000000000000, 1)
	e.fake.SetCounts(ids[7], 1<<40, 2147483647, 3, 4)
	tok := e.connect(t)

	in := append(append([]string{}, ids...), ids[0], ids[1], "7399999999999999999", "not-an-id", "", jons[0])
	before := len(e.fake.Requests())
	got, err := e.client.Counts(e.ctx, tok, in)
	if err != nil {
		t.Fatal(err)
	}
	reqs := e.fake.Requests()[before:]
	if len(reqs) != 3 {
		t.Fatalf("%d requests for 47 distinct ids, want 3 (20 + 20 + 7)", len(reqs))
	}
	for i, r := range reqs {
		var body struct {
			Filters struct {
				VideoIDs []string `json:"video_ids"`
			} `json:"filters"`
		}
		_ = json.Unmarshal(r.Body, &body)
		if n := len(body.Filters.VideoIDs); r.Path != "/v2/video/query/" || n != []int{20, 20, 7}[i] {
			t.Fatalf("request %d: %s with %d ids", i, r.Path, n)
		}
		if f := r.Query.Get("fields"); f != "id,like_count,comment_count,share_count,view_count" {
			t.Fatalf("fields %q", f)
		}
	}
	if len(got) != 45 {
		t.Fatalf("%d counts, want 45 (unknown ids, non-ids and another creator's video absent)", len(got))
	}
	want := platform.MediaCounts{MediaID: ids[7], AccountID: "open-maria", Counts: platform.Counts{
		Views: platform.Known(1 << 40), Likes: platform.Known(2147483647), Comments: platform.Known(3),
		Shares: platform.Known(4), Saves: platform.Unknown()}}
	if got[ids[7]] != want {
		t.Fatalf("counts %+v, want %+v", got[ids[7]], want)
	}
	for id, c := range got {
		if c.Saves.Known {
			t.Fatalf("%s: saves %v, want Unknown (TikTok has none)", id, c.Saves)
		}
	}

	got, err = e.client.Counts(e.ctx, tok, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v, %v", got, err)
	}
}

func TestCountsKeepsEarlierBatches(t *testing.T) {
	t.Parallel()
	f := tiktok.NewFake(clientKey, clientSecret)
	f.SetNow(t0)
	var queries atomic.Int32
	e := setupWith(t, f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v2/video/query/" && queries.Add(1) == 2 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		f.ServeHTTP(w, r)
	}))
	f.AddAccount("open-maria", "maria", 4200)
	ids := e.videos("open-maria", 7300000000000000000, 45)
	tok := e.connect(t)

	got, err := e.client.Counts(e.ctx, tok, ids)
	wantKind(t, "second batch throttled", err, platform.ErrRateLimited)
	var rl *platform.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
		t.Fatalf("rate limit %v", err)
	}
	if len(got) != 20 {
		t.Fatalf("%d counts kept, want the first batch's 20", len(got))
	}
}

func TestRecentMedia(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria", 4200)
	e.fake.AddAccount("open-jon", "jon", 900)
	tok := e.connect(t)

	got, err := e.client.RecentMedia(e.ctx, tok, 12)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no videos: %v, %v; want an empty slice", got, err)
	}

	ids := e.videos("open-maria", 7300000000000000000, 45)
	e.videos("open-jon", 7400000000000000000, 3)
	for _, tc := range []struct {
		limit, want int
		pages       []int
	}{
		{30, 30, []int{20, 10}},
		{0, 1, []int{1}},
		{-5, 1, []int{1}},
		{20, 20, []int{20}},
		{500, 45, []int{20, 20, 10}},
	} {
		before := len(e.fake.Requests())
		got, err := e.client.RecentMedia(e.ctx, tok, tc.limit)
		if err != nil {
			t.Fatalf("limit %d: %v", tc.limit, err)
		}
		if len(got) != tc.want {
			t.Fatalf("limit %d: %d items, want %d", tc.limit, len(got), tc.want)
		}
		for i, mc := range got {
			if mc.MediaID != ids[i] || mc.AccountID != "open-maria" || mc.Saves.Known ||
				mc.Views != platform.Known(int64(1000+i)) || mc.Likes != platform.Known(int64(100+i)) {
				t.Fatalf("limit %d: item %d is %+v, want %s newest first", tc.limit, i, mc, ids[i])
			}
		}
		reqs := e.fake.Requests()[before:]
		if len(reqs) != len(tc.pages) {
			t.Fatalf("limit %d: %d requests, want %d", tc.limit, len(reqs), len(tc.pages))
		}
		for i, r := range reqs {
			var lb struct {
				MaxCount int `json:"max_count"`
			}
			_ = json.Unmarshal(r.Body, &lb)
			if lb.MaxCount != tc.pages[i] {
				t.Fatalf("limit %d: page %d asked for %d, want %d", tc.limit, i, lb.MaxCount, tc.pages[i])
			}
		}
	}
}

func TestFakeRejectsBigQueries(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria", 4200)
	tok := e.connect(t)
	ids := make([]string, 21)
	for i := range ids {
		ids[i] = fmt.Sprint(7300000000000000000 + i)
	}
	b, _ := json.Marshal(map[string]any{"filters": map[string]any{"video_ids": ids}})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v2/video/query/?fields=id", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&env)
	if resp.StatusCode != http.StatusBadRequest || env.Error.Code != "invalid_params" {
		t.Fatalf("21 ids: %d %s", resp.StatusCode, env.Error.Code)
	}
}

func TestRateLimitAndUnavailable(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria", 4200)
	e.videos("open-maria", 7300000000000000000, 2)
	tok := e.connect(t)

	calls := map[string]func() error{
		"profile":      func() error { _, err := e.client.Profile(e.ctx, tok); return err },
		"find":         func() error { _, err := e.client.FindMedia(e.ctx, tok, "7300000000000000000"); return err },
		"counts":       func() error { _, err := e.client.Counts(e.ctx, tok, []string{"7300000000000000000"}); return err },
		"recent":       func() error { _, err := e.client.RecentMedia(e.ctx, tok, 5); return err },
		"refresh":      func() error { var err error; _, err = e.client.Refresh(e.ctx, tok); return err },
		"by permalink": func() error { _, err := e.client.FindMedia(e.ctx, tok, "https://vm.tiktok.com/x"); return err },
	}
	for name, call := range calls {
		e.fake.SetRetryAfter(0)
		e.fake.RateLimitNext(1)
		err := call()
		wantKind(t, name+" throttled", err, platform.ErrRateLimited)
		var rl *platform.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != tiktok.DefaultRetryAfter || rl.Reason != "rate_limit_exceeded" {
			t.Fatalf("%s: %v, want the default wait", name, err)
		}
		wantCode(t, name+" throttled", err, "rate_limit_exceeded")

		e.fake.SetRetryAfter(7 * time.Second)
		e.fake.RateLimitNext(1)
		err = call()
		if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
			t.Fatalf("%s: %v, want Retry-After 7s", name, err)
		}

		e.fake.FailNext(1)
		err = call()
		wantKind(t, name+" failing", err, platform.ErrUnavailable)
		wantCode(t, name+" failing", err, "internal_error")
	}
}

// TestErrorMapping checks answers the fake does not give: other statuses,
// bodies and envelopes TikTok may send.
func TestErrorMapping(t *testing.T) {
	t.Parallel()
	tok := platform.Token{AccessToken: "at", RefreshToken: "rt", AccountID: "open-maria"}
	for _, tc := range []struct {
		name   string
		status int
		header string
		body   string
		kind   error // nil: no class
		code   string
	}{
		{"gateway HTML", http.StatusBadGateway, "", "<html>bad gateway</html>", platform.ErrUnavailable, ""},
		{"503 envelope", http.StatusServiceUnavailable, "", `{"error":{"code":"internal_error","message":"busy","log_id":"L1"}}`, platform.ErrUnavailable, "internal_error"},
		{"bare 429", http.StatusTooManyRequests, "Retry-After: 12", "", platform.ErrRateLimited, ""},
		{"401 unknown code", http.StatusUnauthorized, "", `{"error":{"code":"something_new","message":"x"}}`, platform.ErrReconnect, "something_new"},
		{"scope missing", http.StatusUnauthorized, "", `{"error":{"code":"scope_permission_missed"}}`, platform.ErrReconnect, "scope_permission_missed"},
		{"200 carrying an error", http.StatusOK, "", `{"data":{},"error":{"code":"access_token_invalid","message":"x","log_id":"L2"}}`, platform.ErrReconnect, "access_token_invalid"},
		{"invalid params", http.StatusBadRequest, "", `{"error":{"code":"invalid_params","message":"bad field"}}`, nil, "invalid_params"},
		{"200 garbage", http.StatusOK, "", `not json`, nil, "malformed_response"},
		{"200 without data", http.StatusOK, "", `{"error":{"code":"ok"}}`, nil, "malformed_response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if k, v, ok := strings.Cut(tc.header, ": "); ok {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := tiktok.New(tiktok.Config{ClientKey: clientKey, ClientSecret: clientSecret, APIBaseURL: srv.URL,
				HTTP: srv.Client(), Clock: func() time.Time { return t0 }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Profile(context.Background(), tok)
			if tc.kind == nil {
				wantNoKind(t, tc.name, err)
			} else {
				wantKind(t, tc.name, err, tc.kind)
			}
			if tc.code != "" {
				wantCode(t, tc.name, err, tc.code)
			}
			if tc.kind == platform.ErrRateLimited {
				var rl *platform.RateLimitError
				if !errors.As(err, &rl) || rl.RetryAfter != 12*time.Second {
					t.Fatalf("%v", err)
				}
			}
		})
	}
}

func TestTokenErrorMapping(t *testing.T) {
	t.Parallel()
	old := platform.Token{AccessToken: "at", RefreshToken: "rt", AccountID: "open-maria", Scopes: []string{"video.list"},
		RefreshExpiresAt: t0.Add(time.Hour)}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   error
		code   string
	}{
		{"invalid_grant at 200", http.StatusOK, `{"error":"invalid_grant","error_description":"Refresh token is invalid or expired.","log_id":"L"}`, platform.ErrReconnect, "invalid_grant"},
		{"invalid_grant at 400", http.StatusBadRequest, `{"error":"invalid_grant","error_description":"expired","log_id":"L"}`, platform.ErrReconnect, "invalid_grant"},
		{"envelope", http.StatusOK, `{"error":{"code":"access_token_invalid","message":"x","log_id":"L"}}`, platform.ErrReconnect, "access_token_invalid"},
		{"invalid client", http.StatusUnauthorized, `{"error":"invalid_client","error_description":"bad secret"}`, nil, "invalid_client"},
		{"5xx", http.StatusInternalServerError, ``, platform.ErrUnavailable, ""},
		{"no access token", http.StatusOK, `{"open_id":"x","expires_in":60}`, nil, "malformed_response"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, _ := tiktok.New(tiktok.Config{ClientKey: clientKey, ClientSecret: clientSecret, APIBaseURL: srv.URL,
				HTTP: srv.Client(), Clock: func() time.Time { return t0 }})
			_, err := c.Refresh(context.Background(), old)
			if tc.kind == nil {
				wantNoKind(t, tc.name, err)
			} else {
				wantKind(t, tc.name, err, tc.kind)
			}
			if tc.code != "" {
				wantCode(t, tc.name, err, tc.code)
			}
		})
	}

	// A refresh answer without open_id, scope or a new refresh token keeps
	// the old token's.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"access_token":"at2","expires_in":7200}`))
	}))
	defer srv.Close()
	c, _ := tiktok.New(tiktok.Config{ClientKey: clientKey, ClientSecret: clientSecret, APIBaseURL: srv.URL,
		HTTP: srv.Client(), Clock: func() time.Time { return t0 }})
	got, err := c.Refresh(context.Background(), old)
	if err != nil || got.AccessToken != "at2" || got.AccountID != old.AccountID || got.RefreshToken != "rt" ||
		!got.RefreshExpiresAt.Equal(old.RefreshExpiresAt) || !got.HasScope("video.list") || !got.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Fatalf("sparse refresh answer: %v, %v", got, err)
	}
}

func TestNetworkFailure(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := tiktok.New(tiktok.Config{ClientKey: clientKey, ClientSecret: clientSecret, APIBaseURL: url,
		HTTP: &http.Client{Timeout: time.Second}})
	_, err := c.Profile(context.Background(), platform.Token{AccessToken: "at"})
	wantKind(t, "closed server", err, platform.ErrUnavailable)
	_, err = c.Exchange(context.Background(), "code", redirectURI, "")
	wantKind(t, "closed server, token", err, platform.ErrUnavailable)
}

func TestContextCancellation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddAccount("open-maria", "maria", 4200)
	tok := e.connect(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.Profile(ctx, tok)
	if !errors.Is(err, context.Canceled) || errors.Is(err, platform.ErrUnavailable) {
		t.Fatalf("canceled profile: %v, want context.Canceled and no class", err)
	}
	_, err = e.client.Refresh(ctx, tok)
	if !errors.Is(err, context.Canceled) || errors.Is(err, platform.ErrReconnect) {
		t.Fatalf("canceled refresh: %v", err)
	}

	// Cancelled while TikTok is slow to answer.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	c, _ := tiktok.New(tiktok.Config{ClientKey: clientKey, ClientSecret: clientSecret, APIBaseURL: slow.URL, HTTP: slow.Client()})
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.RecentMedia(ctx, tok, 10)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, platform.ErrUnavailable) {
		t.Fatalf("timed-out recent media: %v", err)
	}
}
