package youtube_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/youtube"
)

const (
	redirectURI = "https://payper.example/connect/youtube/callback?from=test"
	maria       = "UCmariamakes0000000000aa"
	other       = "UCotherchannel000000000b"
)

// t0 is 10:00 Pacific (PST), 14 hours before the quota resets.
var t0 = time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)

type env struct {
	ctx    context.Context
	fake   *youtube.Fake
	srv    *httptest.Server
	client *youtube.Client
	// browser follows no redirects, so tests can read the Location.
	browser *http.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	f := youtube.NewFake("payper-test.apps.googleusercontent.com", "s3cret")
	f.SetNow(t0)
	f.AddChannel(maria, "Maria Makes", 1_234_567, false)
	f.AddChannel(other, "Other", 999, false)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := youtube.New(f.Config(srv.URL, srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: context.Background(), fake: f, srv: srv, client: c,
		browser: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func vid(i int) string { return fmt.Sprintf("vid%08d", i) }

// startConnect runs the consent step for channel and returns the code and
// verifier.
func (e *env) startConnect(t *testing.T, channel string) (code, verifier string) {
	t.Helper()
	verifier, state := platform.NewVerifier(), platform.NewState()
	authURL := e.client.AuthorizeURL(platform.AuthRequest{State: state, RedirectURI: redirectURI,
		CodeChallenge: platform.Challenge(verifier), LoginHint: channel})
	return e.consent(t, authURL, state), verifier
}

func (e *env) consent(t *testing.T, authURL, state string) string {
	t.Helper()
	resp, err := e.browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("consent answered %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Query().Get("from") != "test" {
		t.Fatalf("the redirect_uri's own query was dropped: %s", loc)
	}
	cb, err := platform.ParseCallback(loc.Query())
	if err != nil || cb.State != state {
		t.Fatalf("callback %s: %+v, %v", loc, cb, err)
	}
	return cb.Code
}

func (e *env) connect(t *testing.T, channel string) platform.Token {
	t.Helper()
	code, verifier := e.startConnect(t, channel)
	tok, err := e.client.Exchange(e.ctx, code, redirectURI, verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

// calls counts the requests to path since the index from.
func (e *env) calls(from int, path string) (n int, reqs []youtube.FakeRequest) {
	for _, r := range e.fake.Requests()[from:] {
		if r.Path == path {
			n++
			reqs = append(reqs, r)
		}
	}
	return n, reqs
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want an error matching %v", what, err, kind)
	}
	for _, k := range []error{platform.ErrReconnect, platform.ErrRateLimited, platform.ErrMediaNotFound, platform.ErrUnavailable} {
		if k != kind && errors.Is(err, k) {
			t.Fatalf("%s: %v also matches %v", what, err, k)
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

func TestConnectFlow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	verifier := platform.NewVerifier()
	authURL := e.client.AuthorizeURL(platform.AuthRequest{State: "st", RedirectURI: redirectURI,
		CodeChallenge: platform.Challenge(verifier), LoginHint: maria})
	u, _ := url.Parse(authURL)
	q := u.Query()
	for k, want := range map[string]string{
		"access_type": "offline", "prompt": "consent", "response_type": "code", "state": "st",
		"client_id": "payper-test.apps.googleusercontent.com", "redirect_uri": redirectURI, "login_hint": maria,
		"code_challenge": platform.Challenge(verifier), "code_challenge_method": "S256",
		"scope": youtube.ScopeReadonly + " " + youtube.ScopeAnalytics,
	} {
		if q.Get(k) != want {
			t.Errorf("auth URL %s = %q, want %q", k, q.Get(k), want)
		}
	}
	if u.Path != youtube.FakeAuthPath {
		t.Fatalf("auth URL %s", authURL)
	}

	code, verifier := e.startConnect(t, maria)
	_, err := e.client.Exchange(e.ctx, code, redirectURI, platform.NewVerifier())
	wantKind(t, "wrong verifier", err, platform.ErrReconnect)
	wantCode(t, "wrong verifier", err, "invalid_grant")
	_, err = e.client.Exchange(e.ctx, code, "https://evil.example/cb", verifier)
	wantKind(t, "other redirect_uri", err, platform.ErrReconnect)

	before := len(e.fake.Requests())
	tok, err := e.client.Exchange(e.ctx, code, redirectURI, verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.AccountID != maria || tok.AccessToken == "" || tok.RefreshToken == "" || !tok.IssuedAt.Equal(t0) ||
		!tok.ExpiresAt.Equal(t0.Add(3599*time.Second)) || !tok.HasScope(youtube.ScopeReadonly) || !tok.HasScope(youtube.ScopeAnalytics) {
		t.Fatalf("token %v (issued %v, expires %v, scopes %v)", tok, tok.IssuedAt, tok.ExpiresAt, tok.Scopes)
	}
	_, reqs := e.calls(before, youtube.FakeTokenPath)
	if f := reqs[0].Form; f.Get("code_verifier") != verifier || f.Get("client_secret") != "s3cret" || f.Get("grant_type") != "authorization_code" {
		t.Fatalf("token request form %v", f)
	}
	if n, _ := e.calls(before, youtube.FakeDataPath+"/channels"); n != 1 {
		t.Fatalf("exchange read the channel %d times", n)
	}

	_, err = e.client.Exchange(e.ctx, code, redirectURI, verifier)
	wantKind(t, "replayed code", err, platform.ErrReconnect)

	// A Google account whose consent lacks the YouTube scope cannot read its channel.
	verifier, state := platform.NewVerifier(), platform.NewState()
	authURL = e.client.AuthorizeURL(platform.AuthRequest{State: state, RedirectURI: redirectURI,
		CodeChallenge: platform.Challenge(verifier), LoginHint: maria})
	authURL = strings.Replace(authURL, url.QueryEscape(youtube.ScopeReadonly+" "), "", 1)
	code = e.consent(t, authURL, state)
	_, err = e.client.Exchange(e.ctx, code, redirectURI, verifier)
	wantKind(t, "consent without youtube.readonly", err, platform.ErrReconnect)
	wantCode(t, "consent without youtube.readonly", err, "insufficientPermissions")
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := e.connect(t, maria)
	e.fake.Advance(time.Hour)
	if _, err := e.client.Profile(e.ctx, tok); !errors.Is(err, platform.ErrReconnect) {
		t.Fatalf("expired access token: %v", err)
	}
	before := len(e.fake.Requests())
	fresh, err := e.client.Refresh(e.ctx, tok)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken != tok.RefreshToken || fresh.AccountID != maria ||
		!fresh.IssuedAt.Equal(t0.Add(time.Hour)) || !fresh.ExpiresAt.Equal(t0.Add(time.Hour+3599*time.Second)) ||
		!fresh.HasScope(youtube.ScopeAnalytics) {
		t.Fatalf("refreshed %v from %v", fresh, tok)
	}
	_, reqs := e.calls(before, youtube.FakeTokenPath)
	if len(reqs) != 1 || reqs[0].Form.Get("grant_type") != "refresh_token" || reqs[0].Form.Get("refresh_token") != tok.RefreshToken {
		t.Fatalf("refresh requests %+v", reqs)
	}
	if _, err := e.client.Profile(e.ctx, fresh); err != nil {
		t.Fatalf("profile with the fresh token: %v", err)
	}
	// Google does not rotate: the same refresh token works again.
	if _, err := e.client.Refresh(e.ctx, fresh); err != nil {
		t.Fatalf("second refresh: %v", err)
	}

	e.fake.RevokeTokens()
	_, err = e.client.Refresh(e.ctx, fresh)
	wantKind(t, "revoked refresh token", err, platform.ErrReconnect)
	wantCode(t, "revoked refresh token", err, "invalid_grant")
	_, err = e.client.Profile(e.ctx, fresh)
	wantKind(t, "revoked access token", err, platform.ErrReconnect)
	_, err = e.client.Refresh(e.ctx, platform.Token{AccessToken: "x"})
	wantKind(t, "no refresh token", err, platform.ErrReconnect)
}

func TestProfile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(1)})
	tok := e.connect(t, maria)
	p, err := e.client.Profile(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.AccountID != maria || p.Handle != "mariamakes" || p.DisplayName != "Maria Makes" ||
		p.Followers != platform.Known(1_230_000) || !p.FollowersRounded || p.MediaCount != platform.Known(1) {
		t.Fatalf("profile %+v", p)
	}

	e.fake.AddChannel("UChidden", "Shy", 52_345, true)
	p, err = e.client.Profile(e.ctx, e.connect(t, "UChidden"))
	if err != nil || p.Followers.Known || p.FollowersRounded || p.AccountID != "UChidden" {
		t.Fatalf("hidden subscribers: %+v, %v", p, err)
	}
}

func TestFindMedia(t *testing.T) {
	t.Parallel()
	e := setup(t)
	pub := t0.Add(-48 * time.Hour)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: "dQw4w9WgXcQ", Title: "Serum review", Description: "#ad", PublishedAt: pub})
	e.fake.AddVideo(other, youtube.FakeVideo{ID: "otherVid_01"})
	tok := e.connect(t, maria)

	for _, tc := range []struct{ ref, typ, permalink string }{
		{"dQw4w9WgXcQ", platform.TypeVideo, "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
		{"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", platform.TypeVideo, "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
		{"https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ", platform.TypeVideo, "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
		{"https://youtube.com/shorts/dQw4w9WgXcQ?feature=share", platform.TypeShort, "https://www.youtube.com/shorts/dQw4w9WgXcQ"},
		{"https://youtu.be/dQw4w9WgXcQ?si=abc", platform.TypeVideo, "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
		{" https://www.youtube.com/live/dQw4w9WgXcQ ", platform.TypeVideo, "https://www.youtube.com/watch?v=dQw4w9WgXcQ"},
	} {
		m, err := e.client.FindMedia(e.ctx, tok, tc.ref)
		if err != nil {
			t.Fatalf("%s: %v", tc.ref, err)
		}
		if m.ID != "dQw4w9WgXcQ" || m.AccountID != maria || m.Type != tc.typ || m.Permalink != tc.permalink ||
			m.Caption != "Serum review\n\n#ad" || !m.PublishedAt.Equal(pub) || m.PublishedAt.Location() != time.UTC {
			t.Fatalf("%s: %+v", tc.ref, m)
		}
		if err := platform.CheckOwner(tok, m); err != nil {
			t.Fatalf("own video: %v", err)
		}
	}

	m, err := e.client.FindMedia(e.ctx, tok, "otherVid_01")
	if err != nil || m.AccountID != other {
		t.Fatalf("other's video: %+v, %v", m, err)
	}
	if err := platform.CheckOwner(tok, m); !errors.Is(err, platform.ErrNotOwner) {
		t.Fatalf("CheckOwner of another channel's video: %v", err)
	}

	_, err = e.client.FindMedia(e.ctx, tok, "nosuchvideo")
	wantKind(t, "unknown id", err, platform.ErrMediaNotFound)
	before := len(e.fake.Requests())
	for _, ref := range []string{"", "short", "https://vimeo.com/123456789", "https://www.youtube.com/@mariamakes",
		"https://www.youtube.com/watch?v=bad", "ftp://youtu.be/dQw4w9WgXcQ"} {
		_, err = e.client.FindMedia(e.ctx, tok, ref)
		wantKind(t, fmt.Sprintf("reference %q", ref), err, platform.ErrMediaNotFound)
	}
	if got := len(e.fake.Requests()) - before; got != 0 {
		t.Fatalf("malformed references made %d requests", got)
	}
}

func TestVideoID(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]string{
		"dQw4w9WgXcQ": "dQw4w9WgXcQ",
		"https://www.youtube.com/watch?v=dQw4w9WgXcQ":              "dQw4w9WgXcQ",
		"http://youtube.com/watch?v=dQw4w9WgXcQ&list=PL1":          "dQw4w9WgXcQ",
		"https://music.youtube.com/watch?v=dQw4w9WgXcQ":            "dQw4w9WgXcQ",
		"https://www.youtube.com/shorts/dQw4w9WgXcQ":               "dQw4w9WgXcQ",
		"https://youtu.be/dQw4w9WgXcQ":                             "dQw4w9WgXcQ",
		"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?rel=0": "dQw4w9WgXcQ",
		"https://www.youtube.com/v/dQw4w9WgXcQ":                    "dQw4w9WgXcQ",
		"dQw4w9WgXc":                                               "",
		"dQw4w9WgXc!":                                              "",
		"https://youtu.be/":                                        "",
		"https://www.youtube.com/watch":                            "",
		"https://www.youtube.com/channel/UCmariamakes0000000000aa": "",
		"https://evil.example/watch?v=dQw4w9WgXcQ":                 "",
		"https://youtu.be.evil.example/dQw4w9WgXcQ":                "",
	} {
		got, ok := youtube.VideoID(ref)
		if got != want || ok != (want != "") {
			t.Errorf("VideoID(%q) = %q, %v; want %q", ref, got, ok, want)
		}
	}
}

func TestCountsBatching(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var ids []string
	for i := range 120 {
		e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(i), PublishedAt: t0.Add(-time.Duration(i) * time.Hour),
			Views: int64(1000 + i), Likes: int64(i), Comments: 3, Shares: int64(i % 7), HideLikes: i == 7})
		ids = append(ids, vid(i))
	}
	e.fake.AddVideo(other, youtube.FakeVideo{ID: "otherVid_01", Views: 5, Likes: 1, Shares: 9})
	e.fake.SetCounts(vid(0), 3_000_000_000, 12, 4, 2) // beyond int32
	tok := e.connect(t, maria)
	before, unitsBefore := len(e.fake.Requests()), e.client.UnitsUsed()

	got, err := e.client.Counts(e.ctx, tok, append(ids, vid(5), "nosuchvideo", "otherVid_01", "bad id,x"))
	if err != nil {
		t.Fatal(err)
	}
	n, reqs := e.calls(before, youtube.FakeDataPath+"/videos")
	if n != 3 {
		t.Fatalf("%d videos calls for 121 ids, want 3", n)
	}
	for _, r := range reqs {
		if k := len(strings.Split(r.Query.Get("id"), ",")); k > youtube.MaxIDsPerCall {
			t.Fatalf("a videos call with %d ids", k)
		}
	}
	if n, _ := e.calls(before, youtube.FakeAnalyticsPath+"/reports"); n != 3 {
		t.Fatalf("%d analytics calls, want 3", n)
	}
	if u := e.client.UnitsUsed() - unitsBefore; u != 3 || e.client.AnalyticsCalls() != 3 {
		t.Fatalf("units %d, analytics calls %d; want 3 and 3", u, e.client.AnalyticsCalls())
	}
	if len(got) != 121 {
		t.Fatalf("%d counts, want 121", len(got))
	}
	if _, ok := got["nosuchvideo"]; ok {
		t.Fatal("an unknown id is in the map")
	}
	c := got[vid(0)]
	if c.AccountID != maria || c.Views != platform.Known(3_000_000_000) || c.Likes != platform.Known(12) ||
		c.Comments != platform.Known(4) || c.Shares != platform.Known(2) || c.Saves.Known {
		t.Fatalf("counts of %s: %+v", vid(0), c)
	}
	if c := got[vid(100)]; c.Views != platform.Known(1100) || c.Shares != platform.Known(100%7) {
		t.Fatalf("counts of %s: %+v", vid(100), c)
	}
	if c := got[vid(7)]; c.Likes.Known || c.Views != platform.Known(1007) {
		t.Fatalf("hidden likes: %+v", c)
	}
	if c := got["otherVid_01"]; c.AccountID != other || c.Shares.Known || c.Views != platform.Known(5) {
		t.Fatalf("another channel's video: %+v (its shares are not ours to read)", c)
	}
	_, reqs = e.calls(before, youtube.FakeAnalyticsPath+"/reports")
	for _, r := range reqs {
		if strings.Contains(r.Query.Get("filters"), "otherVid_01") || r.Query.Get("endDate") != "2026-03-02" {
			t.Fatalf("analytics query %v", r.Query)
		}
	}

	got, err = e.client.Counts(e.ctx, tok, nil)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no ids: %v, %v", got, err)
	}
}

func TestSharesUnknownWithoutAnalytics(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(1), Views: 10, Likes: 2, Shares: 5})
	tok := e.connect(t, maria)

	got, err := e.client.Counts(e.ctx, tok, []string{vid(1)})
	if err != nil || got[vid(1)].Shares != platform.Known(5) {
		t.Fatalf("shares: %+v, %v", got, err)
	}

	e.fake.DenyAnalytics()
	got, err = e.client.Counts(e.ctx, tok, []string{vid(1)})
	if err != nil {
		t.Fatalf("denied analytics failed the read: %v", err)
	}
	if c := got[vid(1)]; c.Shares.Known || c.Views != platform.Known(10) || c.Likes != platform.Known(2) {
		t.Fatalf("denied analytics: %+v", c)
	}

	// A token granted without the analytics scope does not even ask.
	narrow := tok
	narrow.Scopes = []string{youtube.ScopeReadonly}
	before := len(e.fake.Requests())
	got, err = e.client.Counts(e.ctx, narrow, []string{vid(1)})
	if err != nil || got[vid(1)].Shares.Known {
		t.Fatalf("no analytics scope: %+v, %v", got, err)
	}
	if n, _ := e.calls(before, youtube.FakeAnalyticsPath+"/reports"); n != 0 {
		t.Fatalf("%d analytics calls without the scope", n)
	}
}

func TestAnalyticsFailureKeepsViews(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(1), Views: 10, Shares: 5})
	tok := e.connect(t, maria)
	// Let videos.list through, then fail the analytics call.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, youtube.FakeAnalyticsPath) {
			e.fake.FailNext(1)
		}
		e.fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := youtube.New(e.fake.Config(srv.URL, nil))
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Counts(e.ctx, tok, []string{vid(1)})
	wantKind(t, "analytics 503", err, platform.ErrUnavailable)
	if c := got[vid(1)]; c.Views != platform.Known(10) || c.Shares.Known {
		t.Fatalf("the map after an analytics failure: %+v", got)
	}
}

func TestRecentMedia(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := e.connect(t, maria)
	got, err := e.client.RecentMedia(e.ctx, tok, 12)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("no videos: %v, %v; want an empty slice", got, err)
	}

	// Ten videos, one an hour; the newest two are gone from videos.list.
	for i := range 10 {
		e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(i), PublishedAt: t0.Add(time.Duration(i-10) * time.Hour),
			Views: int64(i * 10), Likes: int64(i), Shares: 1, Gone: i >= 8})
	}
	e.fake.AddVideo(other, youtube.FakeVideo{ID: "otherVid_01", PublishedAt: t0})
	e.fake.SetPageSize(3)
	before, units := len(e.fake.Requests()), e.client.UnitsUsed()
	got, err = e.client.RecentMedia(e.ctx, tok, 5)
	if err != nil {
		t.Fatal(err)
	}
	var gotIDs []string
	for _, mc := range got {
		gotIDs = append(gotIDs, mc.MediaID)
		var i int
		fmt.Sscanf(mc.MediaID, "vid%d", &i)
		if mc.AccountID != maria || mc.Views != platform.Known(int64(i*10)) || mc.Likes != platform.Known(int64(i)) ||
			mc.Shares != platform.Known(1) || mc.Saves.Known {
			t.Fatalf("item %+v", mc)
		}
	}
	if want := []string{vid(7), vid(6), vid(5), vid(4), vid(3)}; fmt.Sprint(gotIDs) != fmt.Sprint(want) {
		t.Fatalf("recent %v, want %v", gotIDs, want)
	}
	pages, reqs := e.calls(before, youtube.FakeDataPath+"/playlistItems")
	if pages != 3 || reqs[0].Query.Get("pageToken") != "" || reqs[1].Query.Get("pageToken") == "" ||
		reqs[0].Query.Get("playlistId") != "UUmariamakes0000000000aa" {
		t.Fatalf("%d playlist pages: %+v", pages, reqs)
	}
	if u := e.client.UnitsUsed() - units; u != int64(len(e.fake.Requests())-before-e.countAnalytics(before)) {
		t.Fatalf("units %d for %d data requests", u, len(e.fake.Requests())-before)
	}
	if e.fake.UnitsUsed() != e.client.UnitsUsed() {
		t.Fatalf("client counted %d units, Google billed %d", e.client.UnitsUsed(), e.fake.UnitsUsed())
	}

	// Clamping.
	if got, err := e.client.RecentMedia(e.ctx, tok, 0); err != nil || len(got) != 1 || got[0].MediaID != vid(7) {
		t.Fatalf("limit 0: %v, %v", got, err)
	}
	e.fake.SetPageSize(0)
	if got, err := e.client.RecentMedia(e.ctx, tok, 1000); err != nil || len(got) != 8 {
		t.Fatalf("limit 1000: %d items, %v", len(got), err)
	}
}

func (e *env) countAnalytics(from int) int {
	n, _ := e.calls(from, youtube.FakeAnalyticsPath+"/reports")
	return n
}

func TestQuota(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(1)})
	tok := e.connect(t, maria)
	if u := e.client.UnitsUsed(); u != 1 {
		t.Fatalf("units after connecting: %d, want 1", u)
	}
	e.fake.ExhaustQuota()
	_, err := e.client.Counts(e.ctx, tok, []string{vid(1)})
	wantKind(t, "quota exceeded", err, platform.ErrRateLimited)
	var rl *platform.RateLimitError
	if !errors.As(err, &rl) || rl.Reason != "quotaExceeded" {
		t.Fatalf("quota exceeded: %v", err)
	}
	// 10:00 PST → midnight PST is 14 h away.
	if rl.RetryAfter != 14*time.Hour {
		t.Fatalf("RetryAfter %v, want 14h", rl.RetryAfter)
	}
	if u := e.client.UnitsUsed(); u != 2 {
		t.Fatalf("units %d, want 2 (refused calls are billed too)", u)
	}
	_, err = e.client.Profile(e.ctx, tok)
	wantKind(t, "profile without quota", err, platform.ErrRateLimited)

	// Midnight Pacific: the quota and the meter reset.
	e.fake.Advance(rl.RetryAfter)
	tok, err = e.client.Refresh(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if u := e.client.UnitsUsed(); u != 0 {
		t.Fatalf("units after midnight Pacific: %d", u)
	}
	if _, err := e.client.Counts(e.ctx, tok, []string{vid(1)}); err != nil {
		t.Fatalf("after the reset: %v", err)
	}
	if u := e.client.UnitsUsed(); u != 1 {
		t.Fatalf("units: %d, want 1", u)
	}
}

func TestQuotaResetsAtPacificMidnightInSummer(t *testing.T) {
	t.Parallel()
	if _, err := time.LoadLocation("America/Los_Angeles"); err != nil {
		t.Skip("no time zone database: the fixed UTC−8 fallback is used")
	}
	e := setup(t)
	e.fake.SetNow(time.Date(2026, 7, 1, 6, 30, 0, 0, time.UTC)) // 23:30 PDT
	tok := e.connect(t, maria)
	e.fake.ExhaustQuota()
	_, err := e.client.Profile(e.ctx, tok)
	var rl *platform.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Minute {
		t.Fatalf("RetryAfter at 23:30 PDT: %v", err)
	}
}

func TestPollIntervalFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		posts []int // per account
		quota int64
		want  time.Duration
	}{
		{[]int{120}, youtube.DailyQuota, 26 * time.Second}, // 3 units a poll: 86400·3/10000 = 25.92 s
		{[]int{50}, youtube.DailyQuota, 9 * time.Second},   // 8.64 s
		{[]int{51}, youtube.DailyQuota, 18 * time.Second},  // 2 units: 17.28 s
		{[]int{1}, 24, time.Hour},
		{[]int{5000}, 1000, 2*time.Hour + 24*time.Minute}, // 100 units: 86400·100/1000 s
		{[]int{0}, youtube.DailyQuota, 0},
		{nil, youtube.DailyQuota, 0},
		{[]int{10}, 0, 24 * time.Hour},
		// Each account is read in its own calls: 120 videos over 3 accounts
		// of 40 are 3 units, over 120 accounts of one, 120 units.
		{[]int{40, 40, 40}, youtube.DailyQuota, 26 * time.Second},
		{slices.Repeat([]int{1}, 120), youtube.DailyQuota, 1037 * time.Second}, // 86400·120/10000 = 1036.8 s
		{[]int{51, 0, 1}, youtube.DailyQuota, 26 * time.Second},                // 2 + 0 + 1 units
	} {
		if got := youtube.PollIntervalFor(tc.posts, tc.quota); got != tc.want {
			t.Errorf("PollIntervalFor(%v, %d) = %v, want %v", tc.posts, tc.quota, got, tc.want)
		}
	}
}

// canned answers every request with one status, header and body.
func canned(t *testing.T, status int, hdr map[string]string, body string) *youtube.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := youtube.New(youtube.Config{ClientID: "id", ClientSecret: "secret", AuthURL: srv.URL + "/auth",
		TokenURL: srv.URL + "/token", DataBaseURL: srv.URL + "/youtube/v3", AnalyticsBaseURL: srv.URL + "/v2",
		HTTP: srv.Client(), Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func gErr(status int, reason, message string) string {
	return fmt.Sprintf(`{"error":{"code":%d,"message":%q,"errors":[{"domain":"global","reason":%q,"message":%q}]}}`,
		status, message, reason, message)
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tok := platform.Token{AccessToken: "at", RefreshToken: "rt", AccountID: maria}
	profile := func(c *youtube.Client) error { _, err := c.Profile(ctx, tok); return err }
	find := func(c *youtube.Client) error { _, err := c.FindMedia(ctx, tok, "dQw4w9WgXcQ"); return err }
	refresh := func(c *youtube.Client) error { _, err := c.Refresh(ctx, tok); return err }
	exchange := func(c *youtube.Client) error { _, err := c.Exchange(ctx, "code", redirectURI, ""); return err }
	for _, tc := range []struct {
		name   string
		status int
		hdr    map[string]string
		body   string
		call   func(*youtube.Client) error
		kind   error // nil: none of the classes
		code   string
	}{
		{"401", 401, nil, gErr(401, "authError", "Invalid Credentials"), profile, platform.ErrReconnect, "authError"},
		{"403 insufficientPermissions", 403, nil, gErr(403, "insufficientPermissions", "Insufficient Permission"), profile, platform.ErrReconnect, "insufficientPermissions"},
		{"403 scope by header", 403, map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope"`}, gErr(403, "forbidden", "Forbidden"), profile, platform.ErrReconnect, "forbidden"},
		{"403 forbidden", 403, nil, gErr(403, "forbidden", "Access forbidden."), profile, nil, "forbidden"},
		{"403 quotaExceeded", 403, nil, `{"error":{"code":403,"message":"quota","errors":[{"domain":"youtube.quota","reason":"quotaExceeded"}]}}`, profile, platform.ErrRateLimited, ""},
		{"403 rateLimitExceeded", 403, map[string]string{"Retry-After": "30"}, gErr(403, "rateLimitExceeded", "slow down"), profile, platform.ErrRateLimited, ""},
		{"429", 429, map[string]string{"Retry-After": "7"}, `{}`, find, platform.ErrRateLimited, ""},
		{"404 videoNotFound", 404, nil, gErr(404, "videoNotFound", "not found"), find, platform.ErrMediaNotFound, "videoNotFound"},
		{"404 on profile", 404, nil, gErr(404, "channelNotFound", "not found"), profile, nil, "channelNotFound"},
		{"400 invalidPageToken", 400, nil, gErr(400, "invalidPageToken", "bad token"), profile, nil, "invalidPageToken"},
		{"500", 500, nil, gErr(500, "backendError", "oops"), find, platform.ErrUnavailable, "backendError"},
		{"503 no body", 503, nil, ``, profile, platform.ErrUnavailable, ""},
		{"200 garbage", 200, nil, `{"items":[{"id":"x","statistics":{"subscriberCount":12.5}}]}`, profile, nil, "malformed_response"},
		{"200 empty video list", 200, nil, `{"items":[]}`, find, platform.ErrMediaNotFound, "videoNotFound"},
		{"200 no channel", 200, nil, `{"items":[]}`, profile, platform.ErrReconnect, "no_channel"},
		{"refresh invalid_grant", 400, nil, `{"error":"invalid_grant","error_description":"Token has been expired or revoked."}`, refresh, platform.ErrReconnect, "invalid_grant"},
		{"refresh 401 invalid_client", 401, nil, `{"error":"invalid_client","error_description":"Unauthorized"}`, refresh, nil, "invalid_client"},
		{"refresh 503", 503, nil, `{"error":"internal_failure"}`, refresh, platform.ErrUnavailable, "internal_failure"},
		{"refresh 429", 429, map[string]string{"Retry-After": "5"}, `{"error":"rate_limit_exceeded"}`, refresh, platform.ErrRateLimited, ""},
		{"exchange invalid_grant", 400, nil, `{"error":"invalid_grant","error_description":"Bad Request"}`, exchange, platform.ErrReconnect, "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.call(canned(t, tc.status, tc.hdr, tc.body))
			if err == nil {
				t.Fatal("no error")
			}
			if tc.kind != nil {
				wantKind(t, tc.name, err, tc.kind)
			} else {
				for _, k := range []error{platform.ErrReconnect, platform.ErrRateLimited, platform.ErrMediaNotFound, platform.ErrUnavailable} {
					if errors.Is(err, k) {
						t.Fatalf("%v matches %v", err, k)
					}
				}
			}
			if tc.code != "" {
				wantCode(t, tc.name, err, tc.code)
			}
			var rl *platform.RateLimitError
			if errors.As(err, &rl) {
				want := map[string]time.Duration{"403 quotaExceeded": 14 * time.Hour, "403 rateLimitExceeded": 30 * time.Second,
					"429": 7 * time.Second, "refresh 429": 5 * time.Second}[tc.name]
				if rl.RetryAfter != want {
					t.Fatalf("RetryAfter %v, want %v", rl.RetryAfter, want)
				}
			}
		})
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(1)})
	tok := e.connect(t, maria)
	e.fake.FailNext(1)
	_, err := e.client.Counts(e.ctx, tok, []string{vid(1)})
	wantKind(t, "503 on videos", err, platform.ErrUnavailable)
	e.fake.FailNext(1)
	_, err = e.client.Refresh(e.ctx, tok)
	wantKind(t, "503 on refresh", err, platform.ErrUnavailable)

	// Nobody listening.
	srv := httptest.NewServer(http.NotFoundHandler())
	cfg := e.fake.Config(srv.URL, nil)
	srv.Close()
	c, err := youtube.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Profile(e.ctx, tok)
	wantKind(t, "connection refused", err, platform.ErrUnavailable)
	_, err = c.Refresh(e.ctx, tok)
	wantKind(t, "connection refused on refresh", err, platform.ErrUnavailable)
}

func TestContextCancelled(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(1)})
	tok := e.connect(t, maria)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	code, verifier := e.startConnect(t, maria)
	for name, call := range map[string]func() error{
		"profile":  func() error { _, err := e.client.Profile(ctx, tok); return err },
		"counts":   func() error { _, err := e.client.Counts(ctx, tok, []string{vid(1)}); return err },
		"recent":   func() error { _, err := e.client.RecentMedia(ctx, tok, 5); return err },
		"find":     func() error { _, err := e.client.FindMedia(ctx, tok, vid(1)); return err },
		"refresh":  func() error { _, err := e.client.Refresh(ctx, tok); return err },
		"exchange": func() error { _, err := e.client.Exchange(ctx, code, redirectURI, verifier); return err },
	} {
		err := call()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: %v, want context.Canceled", name, err)
		}
		if errors.Is(err, platform.ErrUnavailable) || errors.Is(err, platform.ErrReconnect) {
			t.Fatalf("%s: a cancelled call is classed: %v", name, err)
		}
	}
}

func TestConcurrentReads(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 60 {
		e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(i), Views: int64(i)})
	}
	tok := e.connect(t, maria)
	ids := make([]string, 60)
	for i := range ids {
		ids[i] = vid(i)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got, err := e.client.Counts(e.ctx, tok, ids); err != nil || len(got) != 60 {
				t.Errorf("counts: %d, %v", len(got), err)
			}
		})
	}
	wg.Wait()
	if u := e.client.UnitsUsed(); u != 1+8*2 || u != e.fake.UnitsUsed() {
		t.Fatalf("units %d (fake %d), want 17", u, e.fake.UnitsUsed())
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	if _, err := youtube.New(youtube.Config{}); err == nil {
		t.Fatal("no client id accepted")
	}
	if _, err := youtube.New(youtube.Config{ClientID: "x", DataBaseURL: "www.googleapis.com/youtube/v3"}); err == nil {
		t.Fatal("a relative data URL accepted")
	}
	c, err := youtube.New(youtube.Config{ClientID: "x"})
	if err != nil || c.Name() != platform.YouTube {
		t.Fatalf("%v, %v", c, err)
	}
	if u, _ := url.Parse(c.AuthorizeURL(platform.AuthRequest{State: "s", RedirectURI: redirectURI})); u.Host != "accounts.google.com" ||
		u.Query().Has("code_challenge") {
		t.Fatalf("default auth URL %s", u)
	}
}
