package creator_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/creator/creatortest"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

func setup(t *testing.T, db *store.DB) *creatortest.Env {
	t.Helper()
	return creatortest.New(t, db, clock.NewFake(t0))
}

func wantErr(t *testing.T, what string, err error, kind errs.Kind, code string) {
	t.Helper()
	if !errs.Is(err, kind) || errs.CodeOf(err) != code {
		t.Fatalf("%s: got %v (kind %s, code %s), want %s %s", what, err, errs.KindOf(err), errs.CodeOf(err), kind, code)
	}
}

// publish adds a post with the given counters to a sandbox account.
func publish(t *testing.T, e *creatortest.Env, handle string, at time.Time, d sandbox.Delta) sandbox.Post {
	t.Helper()
	p, err := e.World.Publish(e.Ctx, handle, "post", platform.TypeImage, at)
	if err != nil {
		t.Fatal(err)
	}
	if p, err = e.World.AddCounts(e.Ctx, p.ID, d); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTierBoundaries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		followers platform.Count
		want      creator.Tier
	}{
		{platform.Unknown(), creator.TierUnknown},
		{platform.Known(0), creator.TierNone},
		{platform.Known(999), creator.TierNone},
		{platform.Known(1000), creator.TierNano},
		{platform.Known(9999), creator.TierNano},
		{platform.Known(10_000), creator.TierMicro},
		{platform.Known(99_999), creator.TierMicro},
		{platform.Known(100_000), creator.TierMid},
		{platform.Known(499_999), creator.TierMid},
		{platform.Known(500_000), creator.TierMacro},
		{platform.Known(999_999), creator.TierMacro},
		{platform.Known(1_000_000), creator.TierMega},
		{platform.Known(500_000_000), creator.TierMega},
	}
	for _, c := range cases {
		if got := creator.TierOf(c.followers); got != c.want {
			t.Errorf("TierOf(%v) = %s, want %s", c.followers, got, c.want)
		}
	}
}

func TestEngagementRate(t *testing.T) {
	t.Parallel()
	m := func(likes, comments, shares, saves int64) platform.MediaCounts {
		return platform.MediaCounts{Counts: platform.Counts{Views: platform.Known(1_000_000), Likes: platform.Known(likes),
			Comments: platform.Known(comments), Shares: platform.Known(shares), Saves: platform.Known(saves)}}
	}
	unknown := platform.MediaCounts{Counts: platform.Counts{Views: platform.Known(5)}}
	partial := platform.MediaCounts{Counts: platform.Counts{Likes: platform.Known(30)}}
	thirteen := make([]platform.MediaCounts, 13)
	for i := range thirteen {
		thirteen[i] = m(10, 0, 0, 0)
	}
	thirteen[12] = m(1_000_000, 0, 0, 0) // the 13th newest is outside the window
	cases := []struct {
		name      string
		followers platform.Count
		media     []platform.MediaCounts
		ppm       int64
		ok        bool
	}{
		// (118 + 50 + 8) / (3 × 4200) = 0.013968253… → 13968 ppm (rounded down)
		{"three posts", platform.Known(4200), []platform.MediaCounts{m(100, 10, 5, 3), m(50, 0, 0, 0), m(7, 1, 0, 0)}, 13968, true},
		{"views are not engagements", platform.Known(1000), []platform.MediaCounts{m(0, 0, 0, 0)}, 0, true},
		// an item reporting none of the four is left out; a missing metric counts 0
		{"unknown items", platform.Known(1000), []platform.MediaCounts{unknown, partial, m(10, 0, 0, 0)}, 20_000, true},
		{"twelve newest only", platform.Known(1000), thirteen, 10_000, true},
		{"rate above 100 %", platform.Known(10), []platform.MediaCounts{m(25, 0, 0, 0)}, 2_500_000, true},
		{"hidden followers", platform.Unknown(), []platform.MediaCounts{m(1, 1, 1, 1)}, 0, false},
		{"zero followers", platform.Known(0), []platform.MediaCounts{m(1, 1, 1, 1)}, 0, false},
		{"no media", platform.Known(1000), nil, 0, false},
		{"only unknown media", platform.Known(1000), []platform.MediaCounts{unknown}, 0, false},
	}
	for _, c := range cases {
		ppm, ok := creator.EngagementRatePPM(c.followers, c.media)
		if ppm != c.ppm || ok != c.ok {
			t.Errorf("%s: EngagementRatePPM = %d, %v; want %d, %v", c.name, ppm, ok, c.ppm, c.ok)
		}
	}
	if got := creator.FormatPPM(13968); got != "1.3968" {
		t.Errorf("FormatPPM(13968) = %s", got)
	}
}

func TestConnectReadsThePlatform(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		maria := e.Creator(t, "Maria", "DE")
		sb := e.SandboxAccount(t, "maria", 4200)
		publish(t, e, "maria", t0.Add(-3*time.Hour), sandbox.Delta{Views: 9000, Likes: 100, Comments: 10, Shares: 5, Saves: 3})
		publish(t, e, "maria", t0.Add(-2*time.Hour), sandbox.Delta{Likes: 50})
		p3 := publish(t, e, "maria", t0.Add(-time.Hour), sandbox.Delta{Likes: 7, Comments: 1})
		blind := publish(t, e, "maria", t0.Add(-time.Minute), sandbox.Delta{Views: 10})
		gone := publish(t, e, "maria", t0.Add(-30*time.Second), sandbox.Delta{Likes: 4000})
		if _, err := e.World.SetCounts(e.Ctx, blind.ID, map[platform.Metric]platform.Count{platform.Likes: platform.Unknown(),
			platform.Comments: platform.Unknown(), platform.Shares: platform.Unknown(), platform.Saves: platform.Unknown()}); err != nil {
			t.Fatal(err)
		}
		if err := e.World.DeletePost(e.Ctx, gone.ID); err != nil {
			t.Fatal(err)
		}

		q := e.Consent(t, maria, "@maria", nil)
		a, err := e.Creators.Callback(e.Ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if a.CreatorID != maria.SubjectID || a.Platform != platform.Sandbox || a.AccountID != sb.ID || a.Handle != "maria" ||
			a.Followers != platform.Known(4200) || a.Tier != creator.TierNano || a.Status != creator.StatusConnected {
			t.Fatalf("connected %+v", a)
		}
		// (118 + 50 + 8) / (3 × 4200): the blind post and the deleted one are left out.
		if a.EngagementRatePPM == nil || *a.EngagementRatePPM != 13968 || a.EngagementRate != "1.3968" {
			t.Fatalf("engagement rate %v %q, want 13968 ppm", a.EngagementRatePPM, a.EngagementRate)
		}
		// The state is used once.
		_, err = e.Creators.Callback(e.Ctx, q)
		wantErr(t, "replayed state", err, errs.Invalid, "invalid_state")

		got, err := e.Creators.AccountOn(e.Ctx, maria.SubjectID, platform.Sandbox)
		if err != nil || got.ID != a.ID {
			t.Fatalf("AccountOn = %+v, %v", got, err)
		}
		if _, err := e.Creators.AccountOn(e.Ctx, maria.SubjectID, platform.Instagram); !errs.Is(err, errs.NotFound) {
			t.Fatalf("AccountOn instagram: %v", err)
		}
		if _, err := e.Creators.Account(e.Ctx, "acc_nope"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("Account of an unknown id: %v", err)
		}

		// Followers change only on the platform; refresh reads them again.
		if _, err := e.World.SetFollowers(e.Ctx, "maria", platform.Known(10_000)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.World.AddCounts(e.Ctx, p3.ID, sandbox.Delta{Shares: 24}); err != nil {
			t.Fatal(err)
		}
		a, err = e.Creators.RefreshAccount(e.Ctx, maria, a.ID)
		// (118 + 50 + 32) / (3 × 10000) = 0.0066666… → 6666 ppm
		if err != nil || a.Followers != platform.Known(10_000) || a.Tier != creator.TierMicro || *a.EngagementRatePPM != 6666 {
			t.Fatalf("refreshed %+v, %v", a, err)
		}
		if _, err := e.World.SetFollowers(e.Ctx, "maria", platform.Unknown()); err != nil {
			t.Fatal(err)
		}
		a, err = e.Creators.RefreshAccount(e.Ctx, identity.Principal{Role: identity.RoleAdmin}, a.ID)
		if err != nil || a.Followers.Known || a.Tier != creator.TierUnknown || a.EngagementRatePPM != nil {
			t.Fatalf("hidden followers: %+v, %v", a, err)
		}

		// Another creator cannot see or refresh it, nor connect the same platform account.
		jon := e.Creator(t, "Jon", "")
		if _, err := e.Creators.RefreshAccount(e.Ctx, jon, a.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another creator refreshed: %v", err)
		}
		if _, err := e.Creators.Accounts(e.Ctx, jon, maria.SubjectID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another creator listed: %v", err)
		}
		_, err = e.Creators.Callback(e.Ctx, e.Consent(t, jon, "maria", nil))
		wantErr(t, "taken account", err, errs.Conflict, "account_taken")
		if list, err := e.Creators.Accounts(e.Ctx, jon, jon.SubjectID); err != nil || len(list) != 0 {
			t.Fatalf("jon's accounts after a refused connect: %v, %v", list, err)
		}

		// Reconnecting updates the same row.
		if _, err := e.World.SetFollowers(e.Ctx, "maria", platform.Known(999)); err != nil {
			t.Fatal(err)
		}
		again := e.Connect(t, maria, "maria")
		if again.ID != a.ID || again.Followers != platform.Known(999) || again.Tier != creator.TierNone {
			t.Fatalf("reconnected %+v, first %+v", again, a)
		}

		// A second account on the same platform replaces the first.
		e.SandboxAccount(t, "maria.two", 20_000)
		two := e.Connect(t, maria, "maria.two")
		list, err := e.Creators.Accounts(e.Ctx, maria, maria.SubjectID)
		if err != nil || len(list) != 2 {
			t.Fatalf("accounts %v, %v", list, err)
		}
		if list[0].Status != creator.StatusDisconnected || list[0].StatusReason != "replaced by @maria.two" || list[1].ID != two.ID {
			t.Fatalf("after replacing: %+v", list)
		}
		if got, _ := e.Creators.AccountOn(e.Ctx, maria.SubjectID, platform.Sandbox); got.ID != two.ID {
			t.Fatalf("AccountOn after replacing = %s, want %s", got.ID, two.ID)
		}
		_, err = e.Creators.Token(e.Ctx, list[0].ID)
		wantErr(t, "token of a disconnected account", err, errs.Conflict, "account_disconnected")
		if back := e.Connect(t, maria, "maria"); back.ID != a.ID || back.Status != creator.StatusConnected {
			t.Fatalf("connecting the first again: %+v", back)
		}
	})
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		maria := e.Creator(t, "Maria", "DE")
		e.SandboxAccount(t, "maria", 4200)
		brand := identity.Principal{Role: identity.RoleBrand, SubjectID: "brd_x"}

		_, err := e.Creators.StartConnect(e.Ctx, brand, creator.ConnectRequest{Platform: platform.Sandbox})
		wantErr(t, "brand connects", err, errs.Forbidden, "forbidden")
		_, err = e.Creators.StartConnect(e.Ctx, identity.Principal{Role: identity.RoleAdmin}, creator.ConnectRequest{Platform: platform.Sandbox})
		wantErr(t, "admin connects", err, errs.Forbidden, "forbidden")
		_, err = e.Creators.StartConnect(e.Ctx, maria, creator.ConnectRequest{Platform: "myspace", Handle: "two words"})
		var ee *errs.Error
		if !errors.As(err, &ee) || len(ee.Fields) != 2 || ee.Fields[0].Field != "platform" || ee.Fields[0].Code != "unknown_platform" ||
			ee.Fields[1].Field != "handle" {
			t.Fatalf("bad platform and handle: %#v", err)
		}
		_, err = e.Creators.StartConnect(e.Ctx, maria, creator.ConnectRequest{Platform: platform.Instagram})
		wantErr(t, "unconfigured platform", err, errs.Invalid, "platform_unavailable")
		_, err = e.Creators.StartConnect(e.Ctx, maria, creator.ConnectRequest{})
		wantErr(t, "no platform", err, errs.Invalid, "required")

		c, err := e.Creators.StartConnect(e.Ctx, maria, creator.ConnectRequest{Platform: "Sandbox", Handle: "maria"})
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(c.AuthorizeURL)
		if c.RedirectURI != creatortest.CallbackURL || u.Query().Get("redirect_uri") != creatortest.CallbackURL ||
			u.Query().Get("account") != "maria" || u.Query().Get("state") != c.State || u.Query().Get("code_challenge") == "" ||
			!c.ExpiresAt.Time().Equal(t0.Add(15*time.Minute)) {
			t.Fatalf("connection %+v", c)
		}

		// Expired flows.
		q := e.Follow(t, c.AuthorizeURL)
		e.Clock.Advance(15 * time.Minute)
		_, err = e.Creators.Callback(e.Ctx, q)
		wantErr(t, "expired flow", err, errs.Invalid, "connection_expired")
		e.Clock.Set(t0)

		// Declined consent: the state is dropped.
		q = e.Consent(t, maria, "maria", url.Values{"deny": {"1"}})
		_, err = e.Creators.Callback(e.Ctx, q)
		wantErr(t, "declined", err, errs.Invalid, "access_denied")
		if !errors.Is(err, platform.ErrAccessDenied) {
			t.Fatalf("declined does not match ErrAccessDenied: %v", err)
		}
		q.Del("error")
		q.Del("error_description")
		q.Set("code", "sbx_code_whatever")
		_, err = e.Creators.Callback(e.Ctx, q)
		wantErr(t, "state of a declined flow", err, errs.Invalid, "invalid_state")

		// An unknown sandbox handle comes back as access_denied too.
		_, err = e.Creators.Callback(e.Ctx, e.Consent(t, maria, "nobody", nil))
		wantErr(t, "unknown handle", err, errs.Invalid, "access_denied")

		// Missing parameters, a forged code.
		_, err = e.Creators.Callback(e.Ctx, url.Values{"state": {"x"}})
		wantErr(t, "no code", err, errs.Invalid, "required")
		_, err = e.Creators.Callback(e.Ctx, url.Values{"code": {"x"}})
		wantErr(t, "no state", err, errs.Invalid, "required")
		q = e.Consent(t, maria, "maria", nil)
		q.Set("code", "sbx_code_forged")
		_, err = e.Creators.Callback(e.Ctx, q)
		wantErr(t, "forged code", err, errs.Invalid, "invalid_code")

		// Nothing was connected by any of this.
		if list, err := e.Creators.Accounts(e.Ctx, maria, maria.SubjectID); err != nil || len(list) != 0 {
			t.Fatalf("accounts after failures: %v, %v", list, err)
		}

		// The platform throttling us is a 503 the creator can retry.
		q = e.Consent(t, maria, "maria", nil)
		if err := e.World.SetRateLimited(e.Ctx, "", t0.Add(time.Minute), ""); err != nil {
			t.Fatal(err)
		}
		_, err = e.Creators.Callback(e.Ctx, q)
		wantErr(t, "rate limited", err, errs.Unavailable, "platform_rate_limited")
		if !errors.Is(err, platform.ErrRateLimited) {
			t.Fatalf("rate limit error does not match ErrRateLimited: %v", err)
		}
	})
}

func TestTokenRefreshRotates(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		maria := e.Creator(t, "Maria", "DE")
		e.SandboxAccount(t, "maria", 4200)
		a := e.Connect(t, maria, "maria")

		first, err := e.Creators.Token(e.Ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !first.ExpiresAt.Equal(t0.Add(time.Hour)) || first.AccountID != a.AccountID {
			t.Fatalf("first token %v", first)
		}
		// Not yet within the margin: the same token.
		e.Clock.Advance(54 * time.Minute)
		if tok, err := e.Creators.Token(e.Ctx, a.ID); err != nil || tok.AccessToken != first.AccessToken {
			t.Fatalf("token 6 minutes before expiry was refreshed: %v", err)
		}
		// Within five minutes of expiry it is refreshed, and the rotation stored.
		e.Clock.Advance(time.Minute)
		second, err := e.Creators.Token(e.Ctx, a.ID)
		if err != nil || second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken ||
			!second.ExpiresAt.Equal(t0.Add(55*time.Minute+time.Hour)) {
			t.Fatalf("refreshed %v, %v", second, err)
		}
		if again, err := e.Creators.Token(e.Ctx, a.ID); err != nil || again.AccessToken != second.AccessToken || again.RefreshToken != second.RefreshToken {
			t.Fatalf("the rotated token was not stored: %v, %v", again, err)
		}
		if _, err := e.Client.Profile(e.Ctx, second); err != nil {
			t.Fatalf("the refreshed token does not work: %v", err)
		}

		// Concurrent callers, on this server and on another sharing the
		// database, refresh once: the sandbox revokes the whole grant when a
		// rotated refresh token is used twice, so a double refresh would end
		// in reconnect_needed.
		other := creator.New(db, e.Clock, e.Registry, creatortest.CallbackURL)
		e.Clock.Advance(time.Hour)
		var wg sync.WaitGroup
		toks := make([]platform.Token, 12)
		fails := make([]error, 12)
		for i := range toks {
			svc := e.Creators
			if i%2 == 1 {
				svc = other
			}
			wg.Go(func() { toks[i], fails[i] = svc.Token(e.Ctx, a.ID) })
		}
		wg.Wait()
		for i := range toks {
			if fails[i] != nil || toks[i].AccessToken != toks[0].AccessToken {
				t.Fatalf("caller %d: %v, %v; caller 0 got %v", i, toks[i], fails[i], toks[0])
			}
		}
		if toks[0].AccessToken == second.AccessToken {
			t.Fatal("no refresh happened")
		}
		if _, err := e.Client.Profile(e.Ctx, toks[0]); err != nil {
			t.Fatalf("after concurrent refreshes the token does not work: %v", err)
		}
		if got, _ := e.Creators.Account(e.Ctx, a.ID); got.Status != creator.StatusConnected {
			t.Fatalf("status %s after concurrent refreshes", got.Status)
		}
	})
}

func TestReconnectNeeded(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		maria := e.Creator(t, "Maria", "DE")
		e.SandboxAccount(t, "maria", 4200)
		a := e.Connect(t, maria, "maria")

		// An access token expired early (refresh token alive): one refresh
		// and a retry, and the account stays connected.
		if _, err := e.World.ExpireTokens(e.Ctx, "maria"); err != nil {
			t.Fatal(err)
		}
		if got, err := e.Creators.RefreshAccount(e.Ctx, maria, a.ID); err != nil || got.Status != creator.StatusConnected {
			t.Fatalf("refresh after an early expiry: %+v, %v", got, err)
		}

		// A revoked authorization: the refresh is refused, the account
		// marked, and later calls fail without asking the platform.
		if _, err := e.World.RevokeTokens(e.Ctx, "maria"); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(2 * time.Hour)
		_, err := e.Creators.Token(e.Ctx, a.ID)
		wantErr(t, "revoked", err, errs.Conflict, "reconnect_needed")
		if !errors.Is(err, platform.ErrReconnect) {
			t.Fatalf("%v does not match platform.ErrReconnect", err)
		}
		got, _ := e.Creators.Account(e.Ctx, a.ID)
		if got.Status != creator.StatusReconnectNeeded || !strings.Contains(got.StatusReason, "refresh") {
			t.Fatalf("after a refused refresh: %+v", got)
		}
		_, err = e.Creators.Token(e.Ctx, a.ID)
		if !errors.Is(err, platform.ErrReconnect) {
			t.Fatalf("token of a reconnect_needed account: %v", err)
		}
		_, err = e.Creators.RefreshAccount(e.Ctx, maria, a.ID)
		wantErr(t, "refresh of a reconnect_needed account", err, errs.Conflict, "reconnect_needed")
		if _, err := e.Creators.AccountOn(e.Ctx, maria.SubjectID, platform.Sandbox); !errs.Is(err, errs.NotFound) {
			t.Fatalf("AccountOn of a reconnect_needed account: %v", err)
		}

		// Connecting again heals it.
		back := e.Connect(t, maria, "maria")
		if back.ID != a.ID || back.Status != creator.StatusConnected || back.StatusReason != "" {
			t.Fatalf("reconnected %+v", back)
		}
		if _, err := e.Creators.Token(e.Ctx, a.ID); err != nil {
			t.Fatal(err)
		}

		// The engagement pipeline's own verdict.
		if err := e.Creators.MarkReconnect(e.Ctx, a.ID, "media read refused"); err != nil {
			t.Fatal(err)
		}
		got, _ = e.Creators.Account(e.Ctx, a.ID)
		if got.Status != creator.StatusReconnectNeeded || got.StatusReason != "media read refused" {
			t.Fatalf("after MarkReconnect: %+v", got)
		}
		if err := e.Creators.MarkReconnect(e.Ctx, "acc_nope", "x"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("MarkReconnect of an unknown account: %v", err)
		}

		// A data call refused with a token that cannot be refreshed either.
		e.Connect(t, maria, "maria")
		if _, err := e.World.RevokeTokens(e.Ctx, "maria"); err != nil {
			t.Fatal(err)
		}
		err = e.Creators.WithToken(e.Ctx, a.ID, func(ctx context.Context, c platform.Connector, tok platform.Token) error {
			_, err := c.Profile(ctx, tok)
			return err
		})
		wantErr(t, "WithToken after a revoke", err, errs.Conflict, "reconnect_needed")
		if got, _ := e.Creators.Account(e.Ctx, a.ID); got.Status != creator.StatusReconnectNeeded {
			t.Fatalf("after WithToken failed: %+v", got)
		}
	})
}

func TestProfile(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		maria := e.Creator(t, "Maria", "DE")
		jon := e.Creator(t, "Jon", "")
		s := func(v string) *string { return &v }

		p, err := e.Creators.UpdateProfile(e.Ctx, maria, maria.SubjectID, creator.ProfileUpdate{
			City: s("  Berlin "), Country: s("at"), Niches: &[]string{"Beauty", "home fitness", "beauty", " "}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Maria" || p.Country != "AT" || p.City != "Berlin" || strings.Join(p.Niches, ",") != "beauty,home-fitness" {
			t.Fatalf("profile %+v", p)
		}
		if got, err := e.Creators.Profile(e.Ctx, maria, maria.SubjectID); err != nil || got.City != "Berlin" || len(got.Niches) != 2 {
			t.Fatalf("read back %+v, %v", got, err)
		}

		// Every invalid field at once, and nothing changes.
		_, err = e.Creators.UpdateProfile(e.Ctx, maria, maria.SubjectID, creator.ProfileUpdate{
			Name: s(" "), Country: s("XX"), City: s(strings.Repeat("x", 101)), Niches: &[]string{"ok", "-bad"}})
		var ee *errs.Error
		if !errors.As(err, &ee) || ee.Kind != errs.Invalid || len(ee.Fields) != 4 {
			t.Fatalf("invalid update: %#v", err)
		}
		for i, f := range []string{"name", "country", "city", "niches"} {
			if ee.Fields[i].Field != f {
				t.Fatalf("field %d = %s, want %s", i, ee.Fields[i].Field, f)
			}
		}
		if got, _ := e.Creators.Profile(e.Ctx, maria, maria.SubjectID); got.Country != "AT" || got.Name != "Maria" {
			t.Fatalf("a rejected update changed %+v", got)
		}
		many := make([]string, creator.MaxNiches+1)
		for i := range many {
			many[i] = "n" + strings.Repeat("x", i)
		}
		_, err = e.Creators.UpdateProfile(e.Ctx, maria, maria.SubjectID, creator.ProfileUpdate{Niches: &many})
		wantErr(t, "too many niches", err, errs.Invalid, "too_many")

		// Others see nothing; the admin may change it; clearing works.
		if _, err := e.Creators.Profile(e.Ctx, jon, maria.SubjectID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("jon read maria: %v", err)
		}
		if _, err := e.Creators.UpdateProfile(e.Ctx, jon, maria.SubjectID, creator.ProfileUpdate{City: s("Paris")}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("jon changed maria: %v", err)
		}
		p, err = e.Creators.UpdateProfile(e.Ctx, identity.Principal{Role: identity.RoleAdmin}, maria.SubjectID,
			creator.ProfileUpdate{Name: s("Maria K."), Country: s(""), Niches: &[]string{}})
		if err != nil || p.Name != "Maria K." || p.Country != "" || len(p.Niches) != 0 || p.City != "Berlin" {
			t.Fatalf("admin update %+v, %v", p, err)
		}
		if _, err := e.Creators.UpdateProfile(e.Ctx, identity.Principal{Role: identity.RoleAdmin}, "crt_nope", creator.ProfileUpdate{}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown creator: %v", err)
		}
	})
}

// TestTokensSealedAtRest: with a key, tokens are stored sealed (the access
// and refresh tokens never in clear), read back, and rotated tokens are
// sealed again; a token stored before the key was set stays readable and is
// sealed at its next refresh; another key opens nothing; a sealed token
// copied to another account's row does not open there.
func TestTokensSealedAtRest(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		stored := func(rowID string) string {
			t.Helper()
			var raw string
			if err := db.Read().QueryRowContext(e.Ctx, `SELECT token FROM creator_accounts WHERE id = $1`, rowID).Scan(&raw); err != nil {
				t.Fatal(err)
			}
			return raw
		}
		// Before a key: plain JSON.
		ana := e.Creator(t, "Ana", "DE")
		e.SandboxAccount(t, "ana", 4200)
		legacy := e.Connect(t, ana, "ana")
		if raw := stored(legacy.ID); !strings.HasPrefix(raw, "{") {
			t.Fatalf("token without a key stored as %q", raw)
		}
		box, err := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		e.Creators.SetSecretBox(box)
		maria := e.Creator(t, "Maria", "DE")
		e.SandboxAccount(t, "maria", 4200)
		a := e.Connect(t, maria, "maria")
		tok, err := e.Creators.Token(e.Ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		raw := stored(a.ID)
		if !strings.HasPrefix(raw, "v1.") || strings.Contains(raw, tok.AccessToken) || strings.Contains(raw, tok.RefreshToken) {
			t.Fatalf("token stored in clear: %q", raw)
		}
		// A refresh stores the rotated token sealed; the legacy one gets sealed too.
		e.Clock.Advance(time.Hour)
		fresh, err := e.Creators.Token(e.Ctx, a.ID)
		if err != nil || fresh.AccessToken == tok.AccessToken {
			t.Fatalf("refresh: %v %v", fresh, err)
		}
		if raw2 := stored(a.ID); raw2 == raw || !strings.HasPrefix(raw2, "v1.") {
			t.Errorf("rotated token stored as %q", raw2)
		}
		if _, err := e.Creators.Token(e.Ctx, legacy.ID); err != nil {
			t.Fatalf("legacy token: %v", err)
		}
		if raw := stored(legacy.ID); !strings.HasPrefix(raw, "v1.") {
			t.Errorf("legacy token not sealed at its refresh: %q", raw)
		}
		// Another key opens nothing.
		other, _ := secret.New([]byte("fedcba9876543210fedcba9876543210"))
		svc := creator.New(db, e.Clock, e.Registry, creatortest.CallbackURL)
		svc.SetSecretBox(other)
		if _, err := svc.Token(e.Ctx, a.ID); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("another key: %v", err)
		}
		// Copied into the other account's row, the ciphertext does not open.
		if _, err := db.Writer().ExecContext(e.Ctx, `UPDATE creator_accounts SET token = $1 WHERE id = $2`, stored(a.ID), legacy.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Creators.Token(e.Ctx, legacy.ID); !errors.Is(err, secret.ErrOpen) {
			t.Errorf("moved ciphertext: %v", err)
		}
	})
}
