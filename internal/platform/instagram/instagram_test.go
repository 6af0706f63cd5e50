package instagram_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/instagram"
)

const (
	clientID     = "ig-app-1234"
	clientSecret = "ig-secret-5678"
	redirectURI  = "https://payper.example/connect/instagram/callback?from=test"
	// Instagram user ids exceed float64's exact integers (2^53).
	maria = "17841400000000001"
	jon   = "17841400000000002"
)

// env is one fake Instagram served over a real HTTP server, and a client for it.
type env struct {
	ctx    context.Context
	fake   *instagram.Fake
	srv    *httptest.Server
	client *instagram.Client
	// browser follows no redirects, so tests can read the Location.
	browser *http.Client
}

func setup(t *testing.T) *env {
	t.Helper()
	f := instagram.NewFake(clientID, clientSecret)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := instagram.New(instagram.Config{ClientID: clientID, ClientSecret: clientSecret,
		AuthBaseURL: srv.URL, GraphBaseURL: srv.URL + "/", HTTP: srv.Client(), Clock: f.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.AddAccount(maria, "maria.makes", 4200)
	f.AddAccount(jon, "jon.films", 900)
	return &env{ctx: context.Background(), fake: f, srv: srv, client: c,
		browser: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
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
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != "https://payper.example/connect/instagram/callback" {
		t.Fatalf("redirected to %s, want the redirect_uri", loc)
	}
	if loc.Query().Get("from") != "test" {
		t.Fatalf("the redirect_uri's own query was dropped: %s", loc)
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

// connect runs the whole connect flow for the consenting account.
func (e *env) connect(t *testing.T) platform.Token {
	t.Helper()
	tok, err := e.client.Exchange(e.ctx, e.startConnect(t), redirectURI, "")
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func (e *env) addMedia(t *testing.T, user string, m instagram.FakeMedia) {
	t.Helper()
	if err := e.fake.AddMedia(user, m); err != nil {
		t.Fatal(err)
	}
}

// requests returns the requests whose path (version prefix removed) ends in suffix.
func (e *env) requests(suffix string) []instagram.FakeRequest {
	var out []instagram.FakeRequest
	for _, r := range e.fake.Requests() {
		if strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

var kinds = []error{platform.ErrReconnect, platform.ErrRateLimited, platform.ErrMediaNotFound, platform.ErrUnavailable}

// wantKind checks that err matches kind and no other kind.
func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want an error matching %v", what, err, kind)
	}
	for _, k := range kinds {
		if k != kind && errors.Is(err, k) {
			t.Fatalf("%s: %v matches %v as well as %v", what, err, k, kind)
		}
	}
}

func wantNoKind(t *testing.T, what string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error", what)
	}
	for _, k := range kinds {
		if errors.Is(err, k) {
			t.Fatalf("%s: %v matches %v", what, err, k)
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
	for _, cfg := range []instagram.Config{
		{ClientSecret: "s"},
		{ClientID: "id"},
		{ClientID: "id", ClientSecret: "s", GraphBaseURL: "graph.instagram.com"},
	} {
		if _, err := instagram.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	c, err := instagram.New(instagram.Config{ClientID: "id", ClientSecret: "s"})
	if err != nil || c.Name() != platform.Instagram {
		t.Fatalf("New: %v, %v", c, err)
	}
	u, _ := url.Parse(c.AuthorizeURL(platform.AuthRequest{State: "st", RedirectURI: "https://x.example/cb"}))
	if u.Host != "api.instagram.com" || u.Path != "/oauth/authorize" {
		t.Fatalf("default consent URL %s", u)
	}
}

func TestConnectFlow(t *testing.T) {
	t.Parallel()
	e := setup(t)
	t0 := e.fake.Now()

	authURL := e.client.AuthorizeURL(platform.AuthRequest{State: "st4te", RedirectURI: redirectURI,
		CodeChallenge: "ignored", LoginHint: "ignored"})
	u, _ := url.Parse(authURL)
	q := u.Query()
	if u.Path != "/oauth/authorize" || q.Get("client_id") != clientID || q.Get("redirect_uri") != redirectURI ||
		q.Get("response_type") != "code" || q.Get("state") != "st4te" ||
		q.Get("scope") != "instagram_business_basic,instagram_business_manage_insights" {
		t.Fatalf("consent URL %s", authURL)
	}
	if q.Has("code_challenge") || q.Has("client_secret") {
		t.Fatalf("consent URL carries PKCE or the secret: %s", authURL)
	}

	code := e.startConnect(t)
	_, err := e.client.Exchange(e.ctx, code, "https://evil.example/callback", "")
	wantKind(t, "other redirect_uri", err, platform.ErrReconnect)
	wantCode(t, "other redirect_uri", err, "400")

	tok, err := e.client.Exchange(e.ctx, code+"#_", redirectURI, "")
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.AccountID != maria || tok.RefreshToken != "" || !tok.IssuedAt.Equal(t0) ||
		!tok.HasScope(instagram.ScopeBasic) || !tok.HasScope(instagram.ScopeInsights) {
		t.Fatalf("token %v issued %v", tok, tok.IssuedAt)
	}
	if life := tok.ExpiresAt.Sub(t0); life < 59*24*time.Hour || life > 60*24*time.Hour {
		t.Fatalf("long-lived token lasts %v, want about 60 days", life)
	}
	if strings.Contains(tok.String(), tok.AccessToken) {
		t.Fatalf("token leaks its secret: %s", tok)
	}
	// The short-lived token was swapped for a long-lived one, on the unversioned path.
	ex := e.requests("/access_token")
	if len(ex) != 3 || ex[2].Path != "/access_token" || ex[2].Query.Get("grant_type") != "ig_exchange_token" ||
		ex[2].Query.Get("client_secret") != clientSecret {
		t.Fatalf("token requests %+v", ex)
	}
	if _, err := e.client.Profile(e.ctx, tok); err != nil {
		t.Fatalf("profile with the new token: %v", err)
	}

	_, err = e.client.Exchange(e.ctx, code, redirectURI, "")
	wantKind(t, "replayed code", err, platform.ErrReconnect)

	e.fake.Advance(11 * time.Minute)
	_, err = e.client.Exchange(e.ctx, e.startConnect(t), redirectURI, "")
	if err != nil {
		t.Fatalf("second connect: %v", err)
	}
	code = e.startConnect(t)
	e.fake.Advance(11 * time.Minute)
	_, err = e.client.Exchange(e.ctx, code, redirectURI, "")
	wantKind(t, "expired code", err, platform.ErrReconnect)

	// Some clients see the token answer unwrapped.
	e.fake.SetUnwrappedTokenAnswer(true)
	e.fake.SetConsent(jon, false)
	if tok := e.connect(t); tok.AccountID != jon || !tok.HasScope(instagram.ScopeInsights) {
		t.Fatalf("unwrapped answer gave %v", tok)
	}

	e.fake.SetConsent(jon, true)
	q = e.authorize(t, e.client.AuthorizeURL(platform.AuthRequest{State: "st", RedirectURI: redirectURI}))
	_, err = platform.ParseCallback(q)
	if !errors.Is(err, platform.ErrAccessDenied) {
		t.Fatalf("declined consent: %v", err)
	}
}

func TestRefresh(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tok := e.connect(t)

	same, err := e.client.Refresh(e.ctx, tok)
	if err != nil || same.AccessToken != tok.AccessToken || !same.ExpiresAt.Equal(tok.ExpiresAt) {
		t.Fatalf("refresh of a fresh token: %v, %v", same, err)
	}
	if n := len(e.requests("/refresh_access_token")); n != 0 {
		t.Fatalf("a token younger than 24 h was sent to refresh (%d requests)", n)
	}

	// The fake refuses young tokens, as Instagram documents; that is no kind we know.
	young := tok
	young.IssuedAt = time.Time{}
	_, err = e.client.Refresh(e.ctx, young)
	wantNoKind(t, "young token the client could not date", err)

	e.fake.Advance(25 * time.Hour)
	fresh, err := e.client.Refresh(e.ctx, tok)
	if err != nil {
		t.Fatalf("refresh after 25 h: %v", err)
	}
	now := e.fake.Now()
	if fresh.AccessToken == tok.AccessToken || fresh.AccountID != maria || fresh.RefreshToken != "" ||
		!fresh.IssuedAt.Equal(now) || !fresh.HasScope(instagram.ScopeInsights) {
		t.Fatalf("refreshed token %v", fresh)
	}
	if life := fresh.ExpiresAt.Sub(now); life < 59*24*time.Hour || life > 60*24*time.Hour {
		t.Fatalf("refreshed token lasts %v", life)
	}
	r := e.requests("/refresh_access_token")
	if len(r) != 2 || r[1].Path != "/refresh_access_token" || r[1].Query.Get("grant_type") != "ig_refresh_token" {
		t.Fatalf("refresh requests %+v", r)
	}
	if _, err := e.client.Profile(e.ctx, fresh); err != nil {
		t.Fatalf("profile with the refreshed token: %v", err)
	}

	// An expired token is dead without asking.
	e.fake.Advance(61 * 24 * time.Hour)
	_, err = e.client.Refresh(e.ctx, fresh)
	wantKind(t, "expired token", err, platform.ErrReconnect)
	if n := len(e.requests("/refresh_access_token")); n != 2 {
		t.Fatalf("an expired token was sent to refresh")
	}

	tok = e.connect(t)
	e.fake.Advance(30 * time.Hour)
	e.fake.RevokeTokens()
	_, err = e.client.Refresh(e.ctx, tok)
	wantKind(t, "revoked token", err, platform.ErrReconnect)
	wantCode(t, "revoked token", err, "190")
	_, err = e.client.Refresh(e.ctx, platform.Token{})
	wantKind(t, "empty token", err, platform.ErrReconnect)
}

func TestProfile(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.addMedia(t, maria, instagram.FakeMedia{ID: "1001"})
	tok := e.connect(t)
	p, err := e.client.Profile(e.ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.AccountID != maria || p.Handle != "maria.makes" || p.Followers != platform.Known(4200) ||
		p.MediaCount != platform.Known(1) || p.FollowersRounded {
		t.Fatalf("profile %+v", p)
	}
	me := e.requests("/me")
	if got := me[len(me)-1]; got.Path != "/"+instagram.DefaultVersion+"/me" ||
		got.Query.Get("fields") != "user_id,username,account_type,followers_count,follows_count,media_count" {
		t.Fatalf("profile request %+v", got)
	}
	if got := me[len(me)-1].Query.Get("access_token"); got != "" {
		t.Fatalf("data call carries the token in its URL")
	}
	u, ok := e.client.LastUsage()
	if !ok || u.AccountID != maria || u.CallCount != 1 || u.Percent() != 1 || u.RegainAccess != 0 {
		t.Fatalf("usage %+v, %v", u, ok)
	}
}

func TestFindMedia(t *testing.T) {
	t.Parallel()
	e := setup(t)
	t0 := e.fake.Now().Truncate(time.Second)
	for i := range 8 { // three pages of three
		e.addMedia(t, maria, instagram.FakeMedia{ID: fmt.Sprint(1000 + i), Caption: fmt.Sprint("post ", i),
			Timestamp: t0.Add(time.Duration(i-10) * time.Hour)})
	}
	e.addMedia(t, maria, instagram.FakeMedia{ID: "2000", MediaType: "VIDEO", ProductType: "REELS",
		Permalink: "https://www.instagram.com/reel/DAbC-12x/", Timestamp: t0.Add(-20 * time.Hour), Caption: "the reel #ad"})
	e.addMedia(t, jon, instagram.FakeMedia{ID: "3000", MediaType: "CAROUSEL_ALBUM", Timestamp: t0})
	tok := e.connect(t)

	m, err := e.client.FindMedia(e.ctx, tok, "2000")
	if err != nil {
		t.Fatal(err)
	}
	want := platform.Media{ID: "2000", AccountID: maria, Permalink: "https://www.instagram.com/reel/DAbC-12x/",
		Caption: "the reel #ad", Type: platform.TypeReel, PublishedAt: t0.Add(-20 * time.Hour)}
	if m != want {
		t.Fatalf("by id: %+v, want %+v", m, want)
	}
	if err := platform.CheckOwner(tok, m); err != nil {
		t.Fatal(err)
	}

	// The reel is the oldest item, on the last page; the link is a shared variant.
	before := len(e.requests("/media"))
	m, err = e.client.FindMedia(e.ctx, tok, "https://instagram.com/reel/DAbC-12x?igsh=MWQ1ZGUxMzBk")
	if err != nil || m != want {
		t.Fatalf("by permalink: %+v, %v", m, err)
	}
	pages := e.requests("/media")[before:]
	if len(pages) != 3 || pages[0].Query.Get("after") != "" || pages[2].Query.Get("after") == "" {
		t.Fatalf("pages read %+v", pages)
	}

	other, err := e.client.FindMedia(e.ctx, tok, "3000")
	if err != nil || other.Type != platform.TypeCarousel {
		t.Fatalf("another account's media: %+v, %v", other, err)
	}
	if err := platform.CheckOwner(tok, other); !errors.Is(err, platform.ErrNotOwner) {
		t.Fatalf("CheckOwner of another account's media: %v", err)
	}

	for _, ref := range []string{"999999", "me", "1000/insights", "", "https://www.instagram.com/p/nope/",
		"https://www.instagram.com/p/" + "3000/"} {
		_, err := e.client.FindMedia(e.ctx, tok, ref)
		wantKind(t, "find "+ref, err, platform.ErrMediaNotFound)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	e := setup(t)
	full := map[string]int64{"views": 5000, "reach": 4000, "likes": 310, "comments": 12, "shares": 7, "saved": 30,
		"total_interactions": 359}
	for _, m := range []instagram.FakeMedia{
		{ID: "1", ProductType: "REELS", MediaType: "VIDEO", LikeCount: 300, CommentsCount: 11, Insights: full},
		{ID: "2", LikeCount: 50, CommentsCount: 2, Insights: map[string]int64{"views": 900, "likes": 51, "comments": 2}},
		{ID: "3", LikeCount: 8, CommentsCount: 1, Insights: map[string]int64{"views": 90}, EmptyValues: true},
		{ID: "4", LikeCount: 3, CommentsCount: 0, NotEnoughViewers: true},
		{ID: "5", LikeCount: 4, CommentsCount: -1, AlbumChild: true},
		{ID: "6", ProductType: "STORY", LikeCount: -1, CommentsCount: -1, Insights: map[string]int64{"views": 77, "shares": 1}},
	} {
		e.addMedia(t, maria, m)
	}
	e.addMedia(t, jon, instagram.FakeMedia{ID: "9", LikeCount: 99, CommentsCount: 9, Insights: full})
	tok := e.connect(t)

	got, err := e.client.Counts(e.ctx, tok, []string{"1", "2", "3", "4", "5", "6", "9", "404", "1", "not-an-id"})
	if err != nil {
		t.Fatal(err)
	}
	k, u := platform.Known, platform.Unknown()
	want := map[string]platform.MediaCounts{
		"1": {MediaID: "1", AccountID: maria, Counts: platform.Counts{Views: k(5000), Likes: k(310), Comments: k(12), Shares: k(7), Saves: k(30)}},
		"2": {MediaID: "2", AccountID: maria, Counts: platform.Counts{Views: k(900), Likes: k(51), Comments: k(2), Shares: u, Saves: u}},
		"3": {MediaID: "3", AccountID: maria, Counts: platform.Counts{Views: k(90), Likes: k(8), Comments: k(1), Shares: u, Saves: u}},
		"4": {MediaID: "4", AccountID: maria, Counts: platform.Counts{Views: u, Likes: k(3), Comments: k(0), Shares: u, Saves: u}},
		"5": {MediaID: "5", AccountID: maria, Counts: platform.Counts{Views: u, Likes: k(4), Comments: u, Shares: u, Saves: u}},
		"6": {MediaID: "6", AccountID: maria, Counts: platform.Counts{Views: k(77), Likes: u, Comments: u, Shares: k(1), Saves: u}},
		"9": {MediaID: "9", AccountID: "", Counts: platform.Counts{Views: u, Likes: k(99), Comments: k(9), Shares: u, Saves: u}},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d items, want %d: %v", len(got), len(want), got)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("media %s: %+v, want %+v", id, got[id], w)
		}
	}

	// Counts move; the next read sees them.
	if err := e.fake.SetCounts("2", 60, 3, map[string]int64{"views": 1200, "likes": 61, "comments": 3, "saved": 4}); err != nil {
		t.Fatal(err)
	}
	got, err = e.client.Counts(e.ctx, tok, []string{"2"})
	if err != nil || got["2"].Views != k(1200) || got["2"].Saves != k(4) || got["2"].Shares != u {
		t.Fatalf("after SetCounts: %+v, %v", got, err)
	}

	// Only the documented metrics are asked for, never the deprecated ones.
	ins := e.requests("/insights")
	if len(ins) == 0 {
		t.Fatal("no insights requested")
	}
	for _, r := range ins {
		m := r.Query.Get("metric")
		for _, dead := range []string{"plays", "impressions", "video_views", "clips_replays_count"} {
			if strings.Contains(m, dead) {
				t.Fatalf("%s asks for the deprecated %s", r.Path, dead)
			}
		}
		if m != "views,reach,likes,comments,shares,saved,total_interactions" && m != "views,reach,shares,total_interactions" {
			t.Fatalf("%s asks for %q", r.Path, m)
		}
		if r.Path == "/"+instagram.DefaultVersion+"/9/insights" {
			t.Fatal("insights requested for another account's media")
		}
	}

	got, err = e.client.Counts(e.ctx, tok, nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("no ids: %v, %v", got, err)
	}
}

func TestRecentMedia(t *testing.T) {
	t.Parallel()
	e := setup(t)
	t0 := e.fake.Now()
	tok := e.connect(t)
	got, err := e.client.RecentMedia(e.ctx, tok, 10)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("account without media: %v, %v", got, err)
	}
	for i := range platform.MaxRecentMedia + 5 {
		e.addMedia(t, maria, instagram.FakeMedia{ID: fmt.Sprint(5000 + i), Timestamp: t0.Add(time.Duration(i) * time.Minute),
			LikeCount: int64(i), CommentsCount: 1, Insights: map[string]int64{"views": int64(100 * i), "likes": int64(i)}})
	}
	for _, tc := range []struct{ limit, want int }{{0, 1}, {-3, 1}, {7, 7}, {1000, platform.MaxRecentMedia}} {
		got, err := e.client.RecentMedia(e.ctx, tok, tc.limit)
		if err != nil {
			t.Fatalf("limit %d: %v", tc.limit, err)
		}
		if len(got) != tc.want {
			t.Fatalf("limit %d: %d items, want %d", tc.limit, len(got), tc.want)
		}
		newest := platform.MaxRecentMedia + 4
		for i, mc := range got {
			n := newest - i
			if mc.MediaID != fmt.Sprint(5000+n) || mc.AccountID != maria || mc.Views != platform.Known(int64(100*n)) ||
				mc.Likes != platform.Known(int64(n)) || mc.Shares.Known {
				t.Fatalf("limit %d, item %d: %+v", tc.limit, i, mc)
			}
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.addMedia(t, maria, instagram.FakeMedia{ID: "1001", Insights: map[string]int64{"views": 1}})
	tok := e.connect(t)
	calls := map[string]func(platform.Token) error{
		"profile": func(tok platform.Token) error { _, err := e.client.Profile(e.ctx, tok); return err },
		"find":    func(tok platform.Token) error { _, err := e.client.FindMedia(e.ctx, tok, "1001"); return err },
		"counts":  func(tok platform.Token) error { _, err := e.client.Counts(e.ctx, tok, []string{"1001"}); return err },
		"recent":  func(tok platform.Token) error { _, err := e.client.RecentMedia(e.ctx, tok, 5); return err },
	}
	for name, call := range calls {
		e.fake.ThrottleNext(1, 7)
		err := call(tok)
		wantKind(t, name+" throttled", err, platform.ErrRateLimited)
		var rl *platform.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Minute || rl.Platform != platform.Instagram {
			t.Fatalf("%s throttled: %#v", name, err)
		}
		wantCode(t, name+" throttled", err, "4")
		if u, _ := e.client.LastUsage(); u.Percent() != 100 || u.RegainAccess != 7*time.Minute {
			t.Fatalf("usage while throttled %+v", u)
		}

		e.fake.FailNext(1)
		wantKind(t, name+" 500", call(tok), platform.ErrUnavailable)
		if err := call(tok); err != nil {
			t.Fatalf("%s after the failures: %v", name, err)
		}
	}
	_, err := e.client.FindMedia(e.ctx, tok, "424242")
	wantKind(t, "unknown media", err, platform.ErrMediaNotFound)
	wantCode(t, "unknown media", err, "100")

	// A token without the insights scope must reconnect to read counts.
	e.fake.SetConsent(maria, false, instagram.ScopeBasic)
	basic := e.connect(t)
	_, err = e.client.Counts(e.ctx, basic, []string{"1001"})
	wantKind(t, "counts without insights scope", err, platform.ErrReconnect)
	wantCode(t, "counts without insights scope", err, "10")
	// With every scope granted, a permission error is the app's: no kind.
	granted := basic
	granted.Scopes = instagram.Scopes
	_, err = e.client.Counts(e.ctx, granted, []string{"1001"})
	wantNoKind(t, "app lacking a permission", err)

	// Exchange classes.
	e.fake.SetConsent(maria, false)
	code := e.startConnect(t)
	e.fake.ThrottleNext(1, 3)
	_, err = e.client.Exchange(e.ctx, code, redirectURI, "")
	var rl *platform.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 3*time.Minute {
		t.Fatalf("throttled exchange: %v", err)
	}
	e.fake.FailNext(1)
	_, err = e.client.Exchange(e.ctx, code, redirectURI, "")
	wantKind(t, "exchange 500", err, platform.ErrUnavailable)

	for name, call := range calls {
		e.fake.ExpireTokens()
		wantKind(t, name+" expired", call(tok), platform.ErrReconnect)
	}
	tok = e.connect(t)
	e.fake.RevokeTokens()
	for name, call := range calls {
		err := call(tok)
		wantKind(t, name+" revoked", err, platform.ErrReconnect)
		wantCode(t, name+" revoked", err, "190")
	}

	// Unreachable: ErrUnavailable, and no secret in the message.
	e.srv.Close()
	e.fake.Advance(25 * time.Hour)
	_, err = e.client.Refresh(e.ctx, tok)
	wantKind(t, "server down", err, platform.ErrUnavailable)
	if strings.Contains(err.Error(), tok.AccessToken) {
		t.Fatalf("error leaks the token: %v", err)
	}
	_, err = e.client.Exchange(e.ctx, "code", redirectURI, "")
	wantKind(t, "exchange, server down", err, platform.ErrUnavailable)
	if strings.Contains(err.Error(), clientSecret) {
		t.Fatalf("error leaks the secret: %v", err)
	}
}

func TestContextCancellation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.addMedia(t, maria, instagram.FakeMedia{ID: "1001"})
	tok := e.connect(t)
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	for name, err := range map[string]error{
		"profile": func() error { _, err := e.client.Profile(ctx, tok); return err }(),
		"find":    func() error { _, err := e.client.FindMedia(ctx, tok, "1001"); return err }(),
		"counts":  func() error { _, err := e.client.Counts(ctx, tok, []string{"1001"}); return err }(),
		"recent":  func() error { _, err := e.client.RecentMedia(ctx, tok, 5); return err }(),
		"refresh": func() error {
			old := tok
			old.IssuedAt = old.IssuedAt.Add(-48 * time.Hour)
			_, err := e.client.Refresh(ctx, old)
			return err
		}(),
		"exchange": func() error { _, err := e.client.Exchange(ctx, "c", redirectURI, ""); return err }(),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", name, err)
		}
		for _, k := range kinds {
			if errors.Is(err, k) {
				t.Errorf("%s: a cancelled call matches %v", name, k)
			}
		}
	}

	// A call in flight ends when its context does.
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(block)
	c, err := instagram.New(instagram.Config{ClientID: clientID, ClientSecret: clientSecret,
		GraphBaseURL: slow.URL, HTTP: slow.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithTimeout(e.ctx, 50*time.Millisecond)
	defer cancel()
	_, err = c.Profile(ctx, tok)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("in-flight cancel: %v", err)
	}
}

// TestOddAnswers covers answers the fake does not give: a string user_id and
// a permissions list, no expires_in, HTTP 429 with Retry-After, and garbage.
func TestOddAnswers(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"data":[{"access_token":"short","user_id":"17841400000000003","permissions":["instagram_business_basic"]}]}`)
	})
	mux.HandleFunc("GET /access_token", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"access_token":"long","token_type":"bearer"}`)
	})
	mux.HandleFunc("GET /"+instagram.DefaultVersion+"/me", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer garbage" {
			fmt.Fprint(w, `<html>`)
			return
		}
		fmt.Fprint(w, `{"id":"99","username":"odd"}`)
	})
	mux.HandleFunc("GET /"+instagram.DefaultVersion+"/me/media", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "42")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	c, err := instagram.New(instagram.Config{ClientID: clientID, ClientSecret: clientSecret, AuthBaseURL: srv.URL,
		GraphBaseURL: srv.URL, HTTP: srv.Client(), Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.Exchange(context.Background(), "code", redirectURI, "")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccountID != "17841400000000003" || !tok.ExpiresAt.Equal(t0.Add(instagram.LongLivedTTL)) ||
		!tok.HasScope(instagram.ScopeBasic) || tok.HasScope(instagram.ScopeInsights) {
		t.Fatalf("token %v", tok)
	}
	p, err := c.Profile(context.Background(), tok)
	if err != nil || p.AccountID != "99" || p.Followers.Known || p.MediaCount.Known {
		t.Fatalf("profile without user_id or counts: %+v, %v", p, err)
	}
	_, err = c.RecentMedia(context.Background(), tok, 3)
	var rl *platform.RateLimitError
	if !errors.As(err, &rl) || rl.RetryAfter != 42*time.Second {
		t.Fatalf("429: %v", err)
	}
	tok.AccessToken = "garbage"
	_, err = c.Profile(context.Background(), tok)
	wantNoKind(t, "garbage answer", err)
	wantCode(t, "garbage answer", err, "malformed_response")
}

// TestVersion: every data call names DefaultVersion (or Config.GraphVersion),
// the token calls none; a client pinned to another version than the one the
// fake expects fails, and a malformed version is refused up front.
func TestVersion(t *testing.T) {
	t.Parallel()
	if instagram.DefaultVersion != "v27.0" {
		t.Fatalf("DefaultVersion = %s; update README's External services table with it", instagram.DefaultVersion)
	}
	e := setup(t)
	e.addMedia(t, maria, instagram.FakeMedia{ID: "1001", Insights: map[string]int64{"views": 10}})
	tok := e.connect(t)
	if _, err := e.client.Counts(e.ctx, tok, []string{"1001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.Refresh(e.ctx, tok); err != nil {
		t.Fatal(err)
	}
	data := 0
	for _, r := range e.fake.Requests() {
		switch {
		case r.Path == "/oauth/authorize" || r.Path == "/oauth/access_token" || r.Path == "/access_token" || r.Path == "/refresh_access_token":
		case strings.HasPrefix(r.Path, "/v27.0/"):
			data++
		default:
			t.Errorf("%s %s names no or another version", r.Method, r.Path)
		}
	}
	if data < 3 {
		t.Fatalf("only %d data calls", data)
	}

	// Overridden on the client, expected by the fake.
	e.fake.ExpectVersion("v28.0")
	if _, err := e.client.Profile(e.ctx, tok); err == nil || !strings.Contains(err.Error(), "2635") {
		t.Fatalf("client on v27.0, fake expecting v28.0: %v", err)
	}
	c, err := instagram.New(instagram.Config{ClientID: clientID, ClientSecret: clientSecret, AuthBaseURL: e.srv.URL,
		GraphBaseURL: e.srv.URL, GraphVersion: "v28.0", HTTP: e.srv.Client(), Clock: e.fake.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Profile(e.ctx, tok); err != nil {
		t.Fatalf("GraphVersion v28.0: %v", err)
	}
	for _, bad := range []string{"27.0", "v27", "v27.0/../me", "latest"} {
		if _, err := instagram.New(instagram.Config{ClientID: clientID, ClientSecret: clientSecret, GraphVersion: bad}); err == nil {
			t.Errorf("GraphVersion %q accepted", bad)
		}
	}
}

// TestInsightsCode100 covers the two documented kinds of code 100 on media
// insights. A refused metric (the Fake's Refuse, answered as Instagram
// answers a metric a product type does not support) used to hide every
// metric of the item silently; now the call is logged, counted and retried
// without it. An item without insights (an album's child) still has none,
// but is logged and counted too.
func TestInsightsCode100(t *testing.T) {
	t.Parallel()
	e := setup(t)
	logs := &syncBuffer{}
	c, err := instagram.New(instagram.Config{ClientID: clientID, ClientSecret: clientSecret, AuthBaseURL: e.srv.URL,
		GraphBaseURL: e.srv.URL, HTTP: e.srv.Client(), Clock: e.fake.Now, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	if err := c.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	e.addMedia(t, maria, instagram.FakeMedia{ID: "1", ProductType: "REELS", MediaType: "VIDEO", LikeCount: 300, CommentsCount: 11,
		Insights: map[string]int64{"views": 5000, "likes": 310, "comments": 12, "shares": 7, "saved": 30}, Refuse: []string{"shares", "saved"}})
	e.addMedia(t, maria, instagram.FakeMedia{ID: "2", LikeCount: 4, CommentsCount: 1, AlbumChild: true})
	tok := e.connect(t)

	got, err := c.Counts(e.ctx, tok, []string{"1", "2"})
	if err != nil {
		t.Fatal(err)
	}
	k, u := platform.Known, platform.Unknown()
	want := map[string]platform.MediaCounts{
		"1": {MediaID: "1", AccountID: maria, Counts: platform.Counts{Views: k(5000), Likes: k(310), Comments: k(12), Shares: u, Saves: u}},
		"2": {MediaID: "2", AccountID: maria, Counts: platform.Counts{Views: u, Likes: k(4), Comments: k(1), Shares: u, Saves: u}},
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("media %s: %+v, want %+v", id, got[id], w)
		}
	}
	var asked []string
	for _, r := range e.requests("/1/insights") {
		asked = append(asked, r.Query.Get("metric"))
	}
	if wantAsked := []string{"views,reach,likes,comments,shares,saved,total_interactions", "views,reach,likes,comments,total_interactions"}; !slices.Equal(asked, wantAsked) {
		t.Fatalf("insights asked %q, want %q", asked, wantAsked)
	}

	s := logs.String()
	for _, want := range []string{
		"reason=unsupported_metric media_id=1 media_product_type=REELS metrics=views,reach,likes,comments,shares,saved,total_interactions refused_metrics=shares,saved",
		"reason=no_insights media_id=2 media_product_type=FEED metrics=views,reach,likes,comments,shares,saved,total_interactions refused_metrics=\"\"",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("log lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, tok.AccessToken) || strings.Contains(s, clientSecret) {
		t.Fatalf("log leaks a secret:\n%s", s)
	}
	counts := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "payper_instagram_insights_code100_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			counts[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if counts["unsupported_metric"] != 1 || counts["no_insights"] != 1 {
		t.Fatalf("payper_instagram_insights_code100_total = %v", counts)
	}
	if err := c.RegisterMetrics(reg); err == nil {
		t.Fatal("registering twice succeeded")
	}
}

// TestFakeInsightsByProductType: the Fake refuses, in one answer naming
// them all, the metrics the reference's table does not list for an item's
// product type, and the client never asks for them.
func TestFakeInsightsByProductType(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.addMedia(t, maria, instagram.FakeMedia{ID: "7", ProductType: "STORY", Insights: map[string]int64{"views": 3}})
	e.addMedia(t, maria, instagram.FakeMedia{ID: "8", ProductType: "REELS", Insights: map[string]int64{"views": 3}})
	tok := e.connect(t)
	for _, tt := range []struct{ id, metric, want string }{
		{"7", "views,likes,comments,saved", "does not support the likes, comments, saved metric for this media product type"},
		{"8", "views,replies,navigation", "does not support the replies, navigation metric for this media product type"},
		{"7", "views,impressions", "the impressions metric is no longer supported"},
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/"+instagram.DefaultVersion+"/"+tt.id+"/insights?metric="+tt.metric, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body strings.Builder
		_, _ = io.Copy(&body, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(body.String(), tt.want) || !strings.Contains(body.String(), `"code":100`) {
			t.Errorf("%s %s: %d %s", tt.id, tt.metric, resp.StatusCode, body.String())
		}
	}
	got, err := e.client.Counts(e.ctx, tok, []string{"7", "8"})
	if err != nil || got["7"].Views != platform.Known(3) || got["8"].Views != platform.Known(3) {
		t.Fatalf("counts %+v, %v", got, err)
	}
}

// syncBuffer is a concurrency-safe sink for a test's slog output.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
