package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

const redirectURI = "https://payper.example/connect/sandbox/callback?from=test"

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// env is one sandbox served over a real HTTP server, and a client for it.
type env struct {
	ctx    context.Context
	db     *store.DB
	clk    *clock.Fake
	world  *sandbox.World
	srv    *httptest.Server
	client *sandbox.Client
	// browser follows no redirects, so tests can read the Location.
	browser *http.Client
}

func setup(t *testing.T, db *store.DB) *env {
	t.Helper()
	return setupWith(t, db, clock.NewFake(t0))
}

func setupWith(t *testing.T, db *store.DB, clk *clock.Fake) *env {
	t.Helper()
	w := sandbox.NewWorld(db, clk, sandbox.Options{})
	mux := http.NewServeMux()
	mux.Handle(sandbox.Prefix+"/driver/", sandbox.NewDriverHandler(w, nil))
	mux.Handle(sandbox.Prefix+"/", sandbox.NewHandler(w, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &env{
		ctx: context.Background(), db: db, clk: clk, world: w, srv: srv,
		client: sandbox.NewClient(srv.URL+sandbox.Prefix, "payper-test", srv.Client(), clk),
		browser: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
}

func (e *env) account(t *testing.T, handle string, followers int64) sandbox.Account {
	t.Helper()
	a, err := e.world.CreateAccount(e.ctx, handle, followers)
	if err != nil {
		t.Fatalf("create @%s: %v", handle, err)
	}
	return a
}

func (e *env) publish(t *testing.T, account string) sandbox.Post {
	t.Helper()
	p, err := e.world.Publish(e.ctx, account, "Our new serum #ad", platform.TypeReel, t0.Add(-time.Hour))
	if err != nil {
		t.Fatalf("publish for %s: %v", account, err)
	}
	return p
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
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != "https://payper.example/connect/sandbox/callback" {
		t.Fatalf("redirected to %s, want the redirect_uri", loc)
	}
	if loc.Query().Get("from") != "test" {
		t.Fatalf("the redirect_uri's own query was dropped: %s", loc)
	}
	return loc.Query()
}

// startConnect runs the consent step and returns the code and verifier.
func (e *env) startConnect(t *testing.T, handle string) (code, verifier string) {
	t.Helper()
	verifier, state := platform.NewVerifier(), platform.NewState()
	q := e.authorize(t, e.client.AuthorizeURL(platform.AuthRequest{State: state, RedirectURI: redirectURI,
		CodeChallenge: platform.Challenge(verifier), LoginHint: handle}))
	cb, err := platform.ParseCallback(q)
	if err != nil {
		t.Fatalf("callback %v: %v", q, err)
	}
	if cb.State != state {
		t.Fatalf("state %q came back as %q", state, cb.State)
	}
	return cb.Code, verifier
}

// connect runs the whole connect flow for handle.
func (e *env) connect(t *testing.T, handle string) platform.Token {
	t.Helper()
	code, verifier := e.startConnect(t, handle)
	tok, err := e.client.Exchange(e.ctx, code, redirectURI, verifier)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	return tok
}

func wantKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: got %v, want an error matching %v", what, err, kind)
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
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		maria := e.account(t, "@Maria.Makes", 4200)

		code, verifier := e.startConnect(t, "maria.makes")
		if !strings.HasPrefix(code, "sbx_code_") {
			t.Fatalf("code %q", code)
		}
		_, err := e.client.Exchange(e.ctx, code, redirectURI, platform.NewVerifier())
		wantKind(t, "wrong verifier", err, platform.ErrReconnect)
		wantCode(t, "wrong verifier", err, "invalid_grant")
		_, err = e.client.Exchange(e.ctx, code, "https://evil.example/callback", verifier)
		wantKind(t, "other redirect_uri", err, platform.ErrReconnect)
		other := sandbox.NewClient(e.srv.URL+sandbox.Prefix, "another-app", nil, e.clk)
		_, err = other.Exchange(e.ctx, code, redirectURI, verifier)
		wantKind(t, "other client", err, platform.ErrReconnect)

		tok, err := e.client.Exchange(e.ctx, code, redirectURI, verifier)
		if err != nil {
			t.Fatalf("exchange after rejected attempts: %v", err)
		}
		if tok.AccountID != maria.ID || !strings.HasPrefix(tok.AccessToken, "sbx_at_") || !strings.HasPrefix(tok.RefreshToken, "sbx_rt_") {
			t.Fatalf("token %v for account %s", tok, maria.ID)
		}
		if !tok.ExpiresAt.Equal(t0.Add(time.Hour)) || !tok.RefreshExpiresAt.Equal(t0.Add(30*24*time.Hour)) || !tok.IssuedAt.Equal(t0) {
			t.Fatalf("expiries %v / %v, issued %v", tok.ExpiresAt, tok.RefreshExpiresAt, tok.IssuedAt)
		}
		for _, s := range sandbox.AllScopes {
			if !tok.HasScope(s) {
				t.Fatalf("token scopes %v lack %s", tok.Scopes, s)
			}
		}
		prof, err := e.client.Profile(e.ctx, tok)
		if err != nil || prof.AccountID != maria.ID || prof.Handle != "maria.makes" {
			t.Fatalf("profile %+v, %v", prof, err)
		}

		// The code is single-use; replaying it revokes what it bought.
		_, err = e.client.Exchange(e.ctx, code, redirectURI, verifier)
		wantKind(t, "replayed code", err, platform.ErrReconnect)
		_, err = e.client.Profile(e.ctx, tok)
		wantKind(t, "token of a replayed code", err, platform.ErrReconnect)
		_, err = e.client.Refresh(e.ctx, tok)
		wantKind(t, "refresh token of a replayed code", err, platform.ErrReconnect)

		// Codes expire.
		code, verifier = e.startConnect(t, "maria.makes")
		e.clk.Advance(11 * time.Minute)
		_, err = e.client.Exchange(e.ctx, code, redirectURI, verifier)
		wantKind(t, "expired code", err, platform.ErrReconnect)
	})
}

func TestAuthorizeErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		e.account(t, "jon", 900)
		verifier := platform.NewVerifier()
		base := func() url.Values {
			return url.Values{"response_type": {"code"}, "client_id": {"payper-test"}, "redirect_uri": {redirectURI},
				"state": {"st4te"}, "code_challenge": {platform.Challenge(verifier)}, "code_challenge_method": {"S256"},
				"account": {"maria"}}
		}
		authURL := func(v url.Values) string { return e.srv.URL + sandbox.Prefix + "/oauth/authorize?" + v.Encode() }

		for _, tc := range []struct {
			name, param, value, wantErr string
		}{
			{"no state", "state", "", "invalid_request"},
			{"plain PKCE", "code_challenge_method", "plain", "invalid_request"},
			{"no PKCE", "code_challenge", "", "invalid_request"},
			{"token flow", "response_type", "token", "unsupported_response_type"},
			{"unknown scope", "scope", "profile dms", "invalid_scope"},
			{"unknown account", "account", "nobody", "access_denied"},
			{"user cancels", "deny", "1", "access_denied"},
		} {
			v := base()
			if tc.value == "" {
				v.Del(tc.param)
			} else {
				v.Set(tc.param, tc.value)
			}
			q := e.authorize(t, authURL(v))
			if q.Get("error") != tc.wantErr || q.Get("code") != "" {
				t.Errorf("%s: redirected with %v, want error=%s and no code", tc.name, q, tc.wantErr)
			}
			if tc.param != "state" && q.Get("state") != "st4te" {
				t.Errorf("%s: state not echoed in %v", tc.name, q)
			}
			if tc.name == "user cancels" {
				_, err := platform.ParseCallback(q)
				wantKind(t, "cancel", err, platform.ErrAccessDenied)
			}
		}

		// Without a checked client and redirect URI, no redirect at all.
		for _, v := range []url.Values{
			func() url.Values { v := base(); v.Set("redirect_uri", "/relative"); return v }(),
			func() url.Values { v := base(); v.Set("redirect_uri", "javascript:alert(1)"); return v }(),
			func() url.Values { v := base(); v.Del("client_id"); return v }(),
		} {
			resp, err := e.browser.Get(authURL(v))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("%v: answered %d to %q, want 400 without a redirect", v, resp.StatusCode, resp.Header.Get("Location"))
			}
		}

		// Without an account: a page to choose one, carrying the request along.
		v := base()
		v.Del("account")
		resp, err := e.browser.Get(authURL(v))
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("chooser answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, want := range []string{`value="maria"`, `value="jon"`, `name="state" value="st4te"`, `name="code_challenge"`} {
			if !strings.Contains(string(page), want) {
				t.Errorf("chooser page lacks %s:\n%s", want, page)
			}
		}
	})
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		tok := e.connect(t, "maria")

		e.clk.Advance(61 * time.Minute)
		_, err := e.client.Profile(e.ctx, tok)
		wantKind(t, "expired access token", err, platform.ErrReconnect)
		wantCode(t, "expired access token", err, "invalid_token")
		if !tok.CanRefresh(e.clk.Now()) {
			t.Fatal("the refresh token should still be usable")
		}

		tok2, err := e.client.Refresh(e.ctx, tok)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == tok.RefreshToken || tok2.AccountID != tok.AccountID {
			t.Fatalf("refresh did not rotate: %v → %v", tok, tok2)
		}
		if !tok2.ExpiresAt.Equal(e.clk.Now().Add(time.Hour)) {
			t.Fatalf("refreshed token expires %v", tok2.ExpiresAt)
		}
		if _, err := e.client.Profile(e.ctx, tok2); err != nil {
			t.Fatalf("profile with the refreshed token: %v", err)
		}

		// The spent refresh token is dead, and replaying it kills the family.
		_, err = e.client.Refresh(e.ctx, tok)
		wantKind(t, "reused refresh token", err, platform.ErrReconnect)
		wantCode(t, "reused refresh token", err, "invalid_grant")
		_, err = e.client.Profile(e.ctx, tok2)
		wantKind(t, "access token after refresh-token reuse", err, platform.ErrReconnect)
		_, err = e.client.Refresh(e.ctx, tok2)
		wantKind(t, "refresh token after refresh-token reuse", err, platform.ErrReconnect)

		_, err = e.client.Refresh(e.ctx, platform.Token{AccessToken: "x"})
		wantKind(t, "token without refresh token", err, platform.ErrReconnect)
	})
}

func TestConcurrentRefreshHasOneWinner(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		tok := e.connect(t, "maria")
		const n = 8
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = e.client.Refresh(e.ctx, tok)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			if err == nil {
				ok++
			} else if !errors.Is(err, platform.ErrReconnect) {
				t.Errorf("concurrent refresh: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d of %d concurrent refreshes of one token succeeded, want exactly 1", ok, n)
		}
	})
}

func TestProfileFollowers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		tok := e.connect(t, "maria")
		e.publish(t, "maria")
		e.publish(t, "maria")

		prof, err := e.client.Profile(e.ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		if prof.Followers != platform.Known(4200) || prof.MediaCount != platform.Known(2) || prof.Handle != "maria" {
			t.Fatalf("profile %+v, want 4200 followers and 2 posts", prof)
		}
		if _, err := e.world.SetFollowers(e.ctx, "maria", platform.Known(15300)); err != nil {
			t.Fatal(err)
		}
		if prof, _ = e.client.Profile(e.ctx, tok); prof.Followers != platform.Known(15300) {
			t.Fatalf("followers %v after SetFollowers(15300)", prof.Followers)
		}
		if _, err := e.world.SetFollowers(e.ctx, "maria", platform.Unknown()); err != nil {
			t.Fatal(err)
		}
		if prof, err = e.client.Profile(e.ctx, tok); err != nil || prof.Followers.Known {
			t.Fatalf("hidden followers read as %v, %v; want unknown", prof.Followers, err)
		}
		if _, err := e.world.SetFollowers(e.ctx, "maria", platform.Known(-1)); err == nil {
			t.Fatal("negative followers accepted")
		}
	})
}

func TestFindMedia(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		maria := e.account(t, "maria", 4200)
		jon := e.account(t, "jon", 900)
		tok := e.connect(t, "maria")
		p := e.publish(t, "maria")

		byID, err := e.client.FindMedia(e.ctx, tok, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := platform.Media{ID: p.ID, AccountID: maria.ID, Permalink: p.Permalink, Caption: "Our new serum #ad",
			Type: platform.TypeReel, PublishedAt: t0.Add(-time.Hour)}
		if byID != want {
			t.Fatalf("by id: %+v\nwant %+v", byID, want)
		}
		if !strings.HasPrefix(p.Permalink, sandbox.DefaultPermalinkBase+"/@maria/p/") {
			t.Fatalf("permalink %q", p.Permalink)
		}
		for _, link := range []string{p.Permalink, p.Permalink + "/?utm_source=share",
			"http://localhost:8080/sandbox/@maria/p/" + p.Shortcode} {
			got, err := e.client.FindMedia(e.ctx, tok, link)
			if err != nil || got != want {
				t.Fatalf("by permalink %q: %+v, %v", link, got, err)
			}
		}
		if err := platform.CheckOwner(tok, byID); err != nil {
			t.Fatalf("own post: %v", err)
		}

		// Another account's post is readable and names its real owner.
		jp := e.publish(t, "jon")
		got, err := e.client.FindMedia(e.ctx, tok, jp.Permalink)
		if err != nil || got.AccountID != jon.ID {
			t.Fatalf("jon's post read by maria: %+v, %v; want owner %s", got, err, jon.ID)
		}
		wantKind(t, "jon's post", platform.CheckOwner(tok, got), platform.ErrNotOwner)

		for _, ref := range []string{"sbp_nope", "https://sandbox.payper.invalid/@maria/p/zzzz", "https://example.com/no-post-here", "  ", "../api/me"} {
			_, err := e.client.FindMedia(e.ctx, tok, ref)
			wantKind(t, "missing media "+ref, err, platform.ErrMediaNotFound)
		}
		if err := e.world.DeletePost(e.ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.client.FindMedia(e.ctx, tok, p.ID)
		wantKind(t, "deleted post", err, platform.ErrMediaNotFound)
		_, err = e.client.FindMedia(e.ctx, tok, p.Permalink)
		wantKind(t, "deleted post by permalink", err, platform.ErrMediaNotFound)
	})
}

func TestCounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		maria := e.account(t, "maria", 4200)
		jon := e.account(t, "jon", 900)
		tok := e.connect(t, "maria")
		p1, p2, pj := e.publish(t, "maria"), e.publish(t, "maria"), e.publish(t, "jon")
		mustAdd := func(id string, d sandbox.Delta) {
			t.Helper()
			if _, err := e.world.AddCounts(e.ctx, id, d); err != nil {
				t.Fatal(err)
			}
		}
		mustAdd(p1.ID, sandbox.Delta{Views: 1500, Likes: 80, Comments: 7, Shares: 3, Saves: 11})
		mustAdd(p2.ID, sandbox.Delta{Views: 300, Likes: 12})
		mustAdd(pj.ID, sandbox.Delta{Views: 50, Likes: 5})

		got, err := e.client.Counts(e.ctx, tok, []string{p1.ID, p2.ID, pj.ID, "sbp_missing", p1.ID})
		if err != nil {
			t.Fatal(err)
		}
		k := platform.Known
		want := map[string]platform.MediaCounts{
			p1.ID: {MediaID: p1.ID, AccountID: maria.ID, Counts: platform.Counts{Views: k(1500), Likes: k(80), Comments: k(7), Shares: k(3), Saves: k(11)}},
			p2.ID: {MediaID: p2.ID, AccountID: maria.ID, Counts: platform.Counts{Views: k(300), Likes: k(12), Comments: k(0), Shares: k(0), Saves: k(0)}},
			pj.ID: {MediaID: pj.ID, AccountID: jon.ID, Counts: platform.Counts{Views: k(50), Likes: k(5), Comments: k(0), Shares: k(0), Saves: k(0)}},
		}
		if len(got) != len(want) {
			t.Fatalf("counts for %d posts, want %d (the unknown id absent): %+v", len(got), len(want), got)
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("counts of %s = %+v\nwant %+v", id, got[id], w)
			}
		}

		// Counts go down (unlikes), and a metric can become unknown.
		mustAdd(p1.ID, sandbox.Delta{Likes: -30, Views: 10})
		if _, err := e.world.SetCounts(e.ctx, p1.ID, map[platform.Metric]platform.Count{
			platform.Comments: k(5), platform.Saves: platform.Unknown()}); err != nil {
			t.Fatal(err)
		}
		got, err = e.client.Counts(e.ctx, tok, []string{p1.ID})
		if err != nil {
			t.Fatal(err)
		}
		if c := got[p1.ID].Counts; c != (platform.Counts{Views: k(1510), Likes: k(50), Comments: k(5), Shares: k(3), Saves: platform.Unknown()}) {
			t.Fatalf("after unlikes and SetCounts: %+v", c)
		}
		// Deltas leave an unknown metric unknown; going below zero changes nothing.
		mustAdd(p1.ID, sandbox.Delta{Saves: 4})
		if _, err := e.world.AddCounts(e.ctx, p1.ID, sandbox.Delta{Views: 1, Likes: -51}); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("likes below zero: %v, want an Invalid error", err)
		}
		if _, err := e.world.SetCounts(e.ctx, p1.ID, map[platform.Metric]platform.Count{"impressions": k(1)}); err == nil {
			t.Fatal("SetCounts accepted an unknown metric")
		}
		post, err := e.world.Post(e.ctx, p1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if post.Counts.Saves.Known || post.Counts.Views != k(1510) || post.Counts.Likes != k(50) {
			t.Fatalf("a rejected change left a trace, or a delta revealed an unknown metric: %+v", post.Counts)
		}

		// A deleted post drops out of the answer.
		if err := e.world.DeletePost(e.ctx, p2.ID); err != nil {
			t.Fatal(err)
		}
		got, err = e.client.Counts(e.ctx, tok, []string{p1.ID, p2.ID})
		if _, ok := got[p2.ID]; err != nil || ok || len(got) != 1 {
			t.Fatalf("after deleting p2: %+v, %v", got, err)
		}
		if got, err := e.client.Counts(e.ctx, tok, nil); err != nil || len(got) != 0 {
			t.Fatalf("no ids: %+v, %v", got, err)
		}
	})
}

func TestCountsBatches(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		tok := e.connect(t, "maria")
		var ids []string
		for i := range 120 {
			p := e.publish(t, "maria")
			if _, err := e.world.AddCounts(e.ctx, p.ID, sandbox.Delta{Views: int64(i)}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		got, err := e.client.Counts(e.ctx, tok, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(ids) {
			t.Fatalf("%d of %d posts counted", len(got), len(ids))
		}
		for i, id := range ids {
			if got[id].Views != platform.Known(int64(i)) {
				t.Fatalf("post %d: views %v", i, got[id].Views)
			}
		}
		// The API itself refuses more than 50 ids in one request.
		body := `{"ids":["` + strings.Join(ids[:sandbox.MaxCountsIDs+1], `","`) + `"]}`
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+sandbox.Prefix+"/api/media/counts", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("51 ids answered %d, want 400", resp.StatusCode)
		}
	})
}

func TestConcurrentCounts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		p := e.publish(t, "maria")
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 10 {
					if _, err := e.world.AddCounts(e.ctx, p.ID, sandbox.Delta{Views: 3, Likes: 1}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		got, err := e.world.Post(e.ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Counts.Views != platform.Known(240) || got.Counts.Likes != platform.Known(80) {
			t.Fatalf("80 concurrent additions gave %+v, want 240 views and 80 likes", got.Counts)
		}
	})
}

func TestScopes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		p := e.publish(t, "maria")
		e.client.Scopes = []string{sandbox.ScopeProfile}
		tok := e.connect(t, "maria")
		if len(tok.Scopes) != 1 || !tok.HasScope(sandbox.ScopeProfile) {
			t.Fatalf("granted %v, want only profile", tok.Scopes)
		}
		if _, err := e.client.Profile(e.ctx, tok); err != nil {
			t.Fatalf("profile with the profile scope: %v", err)
		}
		_, err := e.client.Counts(e.ctx, tok, []string{p.ID})
		wantKind(t, "counts without insights", err, platform.ErrReconnect)
		wantCode(t, "counts without insights", err, "insufficient_scope")
		_, err = e.client.FindMedia(e.ctx, tok, p.ID)
		wantKind(t, "media without the media scope", err, platform.ErrReconnect)
	})
}

func TestExpireAndRevoke(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		e.account(t, "jon", 900)
		tok := e.connect(t, "maria")
		jonTok := e.connect(t, "jon")

		n, err := e.world.ExpireTokens(e.ctx, "maria")
		if err != nil || n != 1 {
			t.Fatalf("ExpireTokens = %d, %v; want 1 token", n, err)
		}
		_, err = e.client.Profile(e.ctx, tok)
		wantKind(t, "expired token", err, platform.ErrReconnect)
		if _, err := e.client.Profile(e.ctx, jonTok); err != nil {
			t.Fatalf("jon's token suffered from maria's expiry: %v", err)
		}
		tok, err = e.client.Refresh(e.ctx, tok)
		if err != nil {
			t.Fatalf("refresh after expiry: %v", err)
		}
		if _, err := e.client.Profile(e.ctx, tok); err != nil {
			t.Fatalf("profile after refresh: %v", err)
		}

		code, verifier := e.startConnect(t, "maria") // a consent in flight when access is revoked
		if n, err := e.world.RevokeTokens(e.ctx, "@maria"); err != nil || n == 0 {
			t.Fatalf("RevokeTokens = %d, %v", n, err)
		}
		_, err = e.client.Profile(e.ctx, tok)
		wantKind(t, "revoked token", err, platform.ErrReconnect)
		_, err = e.client.Refresh(e.ctx, tok)
		wantKind(t, "refresh after revoke", err, platform.ErrReconnect)
		_, err = e.client.Exchange(e.ctx, code, redirectURI, verifier)
		wantKind(t, "code issued before the revoke", err, platform.ErrReconnect)
		if _, err := e.client.Profile(e.ctx, e.connect(t, "maria")); err != nil {
			t.Fatalf("reconnecting after a revoke: %v", err)
		}
		if _, err := e.world.RevokeTokens(e.ctx, "nobody"); err == nil {
			t.Fatal("revoking an unknown account's tokens succeeded")
		}
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		e.account(t, "jon", 900)
		tok, jonTok := e.connect(t, "maria"), e.connect(t, "jon")
		p := e.publish(t, "maria")

		if err := e.world.SetRateLimited(e.ctx, "", e.clk.Now().Add(90*time.Second), "app quota used up"); err != nil {
			t.Fatal(err)
		}
		_, err := e.client.Counts(e.ctx, tok, []string{p.ID})
		var rl *platform.RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, platform.ErrRateLimited) {
			t.Fatalf("rate-limited counts: %v, want a *RateLimitError", err)
		}
		if rl.RetryAfter != 90*time.Second || rl.Reason != "app quota used up" || rl.Platform != platform.Sandbox {
			t.Fatalf("rate limit %+v, want 90s and the reason", rl)
		}
		e.clk.Advance(60 * time.Second)
		_, err = e.client.Profile(e.ctx, jonTok)
		if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
			t.Fatalf("60 s later: %v, want 30 s left", err)
		}
		e.clk.Advance(31 * time.Second)
		if _, err := e.client.Counts(e.ctx, tok, []string{p.ID}); err != nil {
			t.Fatalf("after the limit ran out: %v", err)
		}

		// One account only; lifting it early.
		if err := e.world.SetRateLimited(e.ctx, "maria", e.clk.Now().Add(time.Hour), ""); err != nil {
			t.Fatal(err)
		}
		_, err = e.client.Profile(e.ctx, tok)
		wantKind(t, "maria limited", err, platform.ErrRateLimited)
		if _, err := e.client.Profile(e.ctx, jonTok); err != nil {
			t.Fatalf("jon suffers maria's limit: %v", err)
		}
		if err := e.world.SetRateLimited(e.ctx, "maria", time.Time{}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.Profile(e.ctx, tok); err != nil {
			t.Fatalf("after lifting: %v", err)
		}
	})
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "upstream exploded", http.StatusBadGateway)
	}))
	defer down.Close()
	c := sandbox.NewClient(down.URL+sandbox.Prefix, "payper-test", nil, nil)
	tok := platform.Token{AccessToken: "x", RefreshToken: "y"}
	_, err := c.Profile(context.Background(), tok)
	wantKind(t, "502 on profile", err, platform.ErrUnavailable)
	_, err = c.Refresh(context.Background(), tok)
	wantKind(t, "502 on refresh", err, platform.ErrUnavailable)

	addr := down.URL
	down.Close()
	c = sandbox.NewClient(addr+sandbox.Prefix, "payper-test", nil, nil)
	_, err = c.Counts(context.Background(), tok, []string{"a"})
	wantKind(t, "connection refused", err, platform.ErrUnavailable)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Profile(ctx, tok)
	if !errors.Is(err, context.Canceled) || errors.Is(err, platform.ErrUnavailable) {
		t.Fatalf("cancelled call: %v, want context.Canceled and not ErrUnavailable", err)
	}
}

func TestRestartKeepsTheWorld(t *testing.T) {
	t.Parallel()
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		clk := clock.NewFake(t0)
		db := storetest.Open(t, dbURL)
		e := setupWith(t, db, clk)
		e.account(t, "maria", 4200)
		tok := e.connect(t, "maria")
		p := e.publish(t, "maria")
		if _, err := e.world.AddCounts(e.ctx, p.ID, sandbox.Delta{Views: 900, Likes: 40, Saves: 2}); err != nil {
			t.Fatal(err)
		}
		e.srv.Close()
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		// A new server process on the same database.
		e2 := setupWith(t, storetest.Open(t, dbURL), clk)
		got, err := e2.client.Counts(e2.ctx, tok, []string{p.ID})
		if err != nil {
			t.Fatalf("old token after restart: %v", err)
		}
		if c := got[p.ID]; c.Views != platform.Known(900) || c.Likes != platform.Known(40) || c.Saves != platform.Known(2) {
			t.Fatalf("counters after restart: %+v", c)
		}
		if _, err := e2.world.AddCounts(e2.ctx, p.ID, sandbox.Delta{Likes: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := e2.client.Refresh(e2.ctx, tok); err != nil {
			t.Fatalf("refresh after restart: %v", err)
		}
		if post, err := e2.world.Post(e2.ctx, p.ID); err != nil || post.Counts.Likes != platform.Known(41) {
			t.Fatalf("post after restart: %+v, %v", post.Counts, err)
		}
	})
}

func TestWorldValidation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		a := e.account(t, " @Maria_Makes ", 10)
		if a.Handle != "maria_makes" || a.Followers != platform.Known(10) {
			t.Fatalf("account %+v", a)
		}
		for _, h := range []string{"", "@", "has space", "émile", strings.Repeat("x", 31), a.ID} {
			if _, err := e.world.CreateAccount(e.ctx, h, 1); err == nil {
				t.Errorf("handle %q accepted", h)
			}
		}
		if _, err := e.world.CreateAccount(e.ctx, "MARIA_MAKES", 1); err == nil {
			t.Error("a taken handle (other case) accepted")
		}
		if _, err := e.world.CreateAccount(e.ctx, "neg", -1); err == nil {
			t.Error("negative followers accepted")
		}
		if _, err := e.world.Publish(e.ctx, "maria_makes", "x", "podcast", time.Time{}); err == nil {
			t.Error("post type podcast accepted")
		}
		if _, err := e.world.Publish(e.ctx, "maria_makes", strings.Repeat("é", sandbox.MaxCaption+1), platform.TypeImage, time.Time{}); err == nil {
			t.Error("an over-long caption accepted")
		}
		if _, err := e.world.Publish(e.ctx, "nobody", "x", platform.TypeImage, time.Time{}); err == nil {
			t.Error("a post for an unknown account accepted")
		}
		p, err := e.world.Publish(e.ctx, a.ID, "by id", platform.TypeImage, time.Time{})
		if err != nil || !p.PublishedAt.Equal(t0) || p.Counts.Views != platform.Known(0) {
			t.Fatalf("publish by account id with no time: %+v, %v; want published now with zero counts", p, err)
		}
		posts, err := e.world.Posts(e.ctx, "maria_makes")
		if err != nil || len(posts) != 1 || posts[0].ID != p.ID {
			t.Fatalf("Posts = %+v, %v", posts, err)
		}
	})
}

func TestDriverHandler(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		base := e.srv.URL + sandbox.Prefix + "/driver"
		call := func(method, path, body string, wantStatus int) string {
			t.Helper()
			req, err := http.NewRequest(method, base+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != wantStatus {
				t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, resp.StatusCode, b, wantStatus)
			}
			return string(b)
		}
		call("POST", "/accounts", `{"handle":"maria","followers":4200}`, 201)
		if b := call("POST", "/accounts", `{"handle":"Maria","followers":1}`, 409); !strings.Contains(b, `"handle_taken"`) {
			t.Fatalf("duplicate handle: %s", b)
		}
		call("POST", "/accounts", `{"handle":"bad handle"}`, 400)
		call("PUT", "/accounts/maria/followers", `{"followers":5000}`, 200)
		call("PUT", "/accounts/maria/followers", `{}`, 400)
		call("PUT", "/accounts/ghost/followers", `{"followers":1}`, 404)

		body := call("POST", "/accounts/maria/posts", `{"caption":"hello","type":"video","published_at":"2026-02-28T09:00:00Z"}`, 201)
		posts, err := e.world.Posts(e.ctx, "maria")
		if err != nil || len(posts) != 1 || !strings.Contains(body, posts[0].ID) {
			t.Fatalf("published %s; world has %+v, %v", body, posts, err)
		}
		p := posts[0]
		if !p.PublishedAt.Equal(time.Date(2026, 2, 28, 9, 0, 0, 0, time.UTC)) {
			t.Fatalf("published_at %v", p.PublishedAt)
		}
		call("POST", "/posts/"+p.ID+"/counts", `{"views":100,"likes":10}`, 200)
		call("POST", "/posts/"+p.ID+"/counts", `{"likes":-4}`, 200)
		call("POST", "/posts/"+p.ID+"/counts", `{"likes":-7}`, 400)
		call("POST", "/posts/"+p.ID+"/counts", `{"hearts":1}`, 400)
		b := call("PATCH", "/posts/"+p.ID+"/counts", `{"comments":9,"saves":null}`, 200)
		if !strings.Contains(b, `"views":100,"likes":6,"comments":9,"shares":0,"saves":null`) {
			t.Fatalf("counts after driving: %s", b)
		}
		call("POST", "/posts/sbp_nope/counts", `{"views":1}`, 404)

		tok := e.connect(t, "maria")
		if b := call("POST", "/accounts/maria/expire-tokens", ``, 200); !strings.Contains(b, `"expired":1`) {
			t.Fatalf("expire: %s", b)
		}
		_, err = e.client.Profile(e.ctx, tok)
		wantKind(t, "driver-expired token", err, platform.ErrReconnect)
		tok, err = e.client.Refresh(e.ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		call("PUT", "/rate-limit", `{"seconds":45,"reason":"demo"}`, 204)
		_, err = e.client.Profile(e.ctx, tok)
		var rl *platform.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != 45*time.Second {
			t.Fatalf("driver rate limit: %v", err)
		}
		call("PUT", "/rate-limit", `{}`, 204)
		if prof, err := e.client.Profile(e.ctx, tok); err != nil || prof.Followers != platform.Known(5000) {
			t.Fatalf("after lifting the limit: %+v, %v", prof, err)
		}
		call("DELETE", "/posts/"+p.ID, ``, 204)
		_, err = e.client.FindMedia(e.ctx, tok, p.ID)
		wantKind(t, "driver-deleted post", err, platform.ErrMediaNotFound)
		if b := call("GET", "/accounts", ``, 200); !strings.Contains(b, `"handle":"maria"`) {
			t.Fatalf("accounts: %s", b)
		}
		call("GET", "/nothing-here", ``, 404)

		// The driver is not reachable through the public API's routes.
		resp, err := http.Post(e.srv.URL+sandbox.Prefix+"/api/accounts", "application/json", strings.NewReader(`{"handle":"x"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("public API create account answered %d", resp.StatusCode)
		}
	})
}

// Example_connect shows the connect flow and a counts read end to end.
func Example_connect() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sandbox-example")
	defer os.RemoveAll(dir)
	db, _ := store.Open(ctx, dir+"/payper.db")
	defer db.Close()
	_, _ = db.Migrate(ctx)

	world := sandbox.NewWorld(db, nil, sandbox.Options{})
	srv := httptest.NewServer(sandbox.NewHandler(world, nil))
	defer srv.Close()
	_, _ = world.CreateAccount(ctx, "maria", 4200)
	post, _ := world.Publish(ctx, "maria", "new serum #ad", platform.TypeReel, time.Time{})
	_, _ = world.AddCounts(ctx, post.ID, sandbox.Delta{Views: 1500, Likes: 80})

	var conn platform.Connector = sandbox.NewClient(srv.URL+sandbox.Prefix, "payper", nil, nil)
	verifier, state := platform.NewVerifier(), platform.NewState()
	authURL := conn.AuthorizeURL(platform.AuthRequest{State: state, RedirectURI: "https://payper.example/cb",
		CodeChallenge: platform.Challenge(verifier), LoginHint: "maria"})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, _ := noFollow.Get(authURL) // the creator's browser
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	cb, _ := platform.ParseCallback(loc.Query())
	tok, _ := conn.Exchange(ctx, cb.Code, "https://payper.example/cb", verifier)

	counts, _ := conn.Counts(ctx, tok, []string{post.ID})
	c := counts[post.ID]
	fmt.Println(cb.State == state, c.Views, c.Likes, c.Saves)
	// Output: true 1500 80 0
}
