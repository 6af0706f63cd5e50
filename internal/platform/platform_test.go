package platform_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/platform"
)

func TestPKCE(t *testing.T) {
	t.Parallel()
	// RFC 7636, Appendix B.
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if got := platform.Challenge(verifier); got != challenge {
		t.Fatalf("Challenge(RFC 7636 verifier) = %q, want %q", got, challenge)
	}
	if !platform.VerifyChallenge(verifier, challenge) {
		t.Fatal("the RFC 7636 pair does not verify")
	}
	if platform.VerifyChallenge(verifier[:42], platform.Challenge(verifier[:42])) {
		t.Fatal("a 42-character verifier is too short for RFC 7636 but verified")
	}
	bad := strings.Repeat("a", 42) + "!"
	if platform.VerifyChallenge(bad, platform.Challenge(bad)) {
		t.Fatal("a verifier with '!' verified")
	}
	v1, v2 := platform.NewVerifier(), platform.NewVerifier()
	if v1 == v2 || len(v1) != 43 {
		t.Fatalf("NewVerifier gave %q and %q: want two different 43-character values", v1, v2)
	}
	if !platform.VerifyChallenge(v1, platform.Challenge(v1)) || platform.VerifyChallenge(v1, platform.Challenge(v2)) {
		t.Fatal("a new verifier must verify against its own challenge only")
	}
	if s1, s2 := platform.NewState(), platform.NewState(); s1 == s2 || len(s1) < 43 || url.QueryEscape(s1) != s1 {
		t.Fatalf("NewState gave %q and %q: want two different URL-safe values of ≥ 43 characters", s1, s2)
	}
}

func TestCountJSON(t *testing.T) {
	t.Parallel()
	c := platform.Counts{Views: platform.Known(1200), Likes: platform.Known(0), Saves: platform.Unknown()}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"views":1200,"likes":0,"comments":null,"shares":null,"saves":null}`; string(b) != want {
		t.Fatalf("marshal = %s, want %s (unknown is null, zero is 0)", b, want)
	}
	var back platform.Counts
	if err := json.Unmarshal(b, &back); err != nil || back != c {
		t.Fatalf("round trip = %+v, %v; want %+v", back, err, c)
	}
	// YouTube sends counts as strings.
	var yt struct{ ViewCount platform.Count }
	if err := json.Unmarshal([]byte(`{"ViewCount":"98765"}`), &yt); err != nil || yt.ViewCount != platform.Known(98765) {
		t.Fatalf("string count = %+v, %v; want known 98765", yt.ViewCount, err)
	}
	for _, in := range []string{`-1`, `1.5`, `"x"`, `"01"`, `true`, `1e3`} {
		var c platform.Count
		if err := json.Unmarshal([]byte(in), &c); err == nil {
			t.Errorf("unmarshal %s = %+v, want an error", in, c)
		}
	}
	if got := c.Get(platform.Views); got != platform.Known(1200) {
		t.Fatalf("Get(views) = %v", got)
	}
	if got := c.Get("impressions"); got.Known {
		t.Fatalf("Get(impressions) = %v, want unknown", got)
	}
	if platform.Unknown().String() != "unknown" || platform.Known(0).String() != "0" {
		t.Fatal("String must tell unknown from zero")
	}
}

func TestErrorsMatchKindAndCause(t *testing.T) {
	t.Parallel()
	cause := errors.New("HTTP 401 from upstream")
	var err error = &platform.Error{Platform: platform.TikTok, Kind: platform.ErrReconnect, Status: 401,
		Code: "access_token_invalid", Message: "token rejected", Err: cause}
	err = fmt.Errorf("reading counts: %w", err)
	if !errors.Is(err, platform.ErrReconnect) || !errors.Is(err, cause) {
		t.Fatalf("%v: want it to match ErrReconnect and its cause", err)
	}
	if errors.Is(err, platform.ErrRateLimited) || errors.Is(err, platform.ErrMediaNotFound) {
		t.Fatalf("%v matches a kind it is not", err)
	}
	var pe *platform.Error
	if !errors.As(err, &pe) || pe.Code != "access_token_invalid" {
		t.Fatalf("errors.As found %+v", pe)
	}
	if msg := err.Error(); !strings.Contains(msg, "tiktok") || !strings.Contains(msg, "access_token_invalid") || !strings.Contains(msg, "HTTP 401") {
		t.Fatalf("message %q lacks platform, code or status", msg)
	}

	err = fmt.Errorf("poll: %w", &platform.RateLimitError{Platform: platform.YouTube, RetryAfter: 2 * time.Minute,
		Reason: "quotaExceeded", Err: cause})
	var rl *platform.RateLimitError
	if !errors.Is(err, platform.ErrRateLimited) || !errors.As(err, &rl) || rl.RetryAfter != 2*time.Minute || !errors.Is(err, cause) {
		t.Fatalf("%v: want ErrRateLimited, a *RateLimitError of 2m, and the cause", err)
	}
	if errors.Is(err, platform.ErrReconnect) {
		t.Fatal("a rate limit is not a reconnect")
	}
}

func TestCheckOwner(t *testing.T) {
	t.Parallel()
	tok := platform.Token{AccountID: "acc_1"}
	if err := platform.CheckOwner(tok, platform.Media{ID: "m", AccountID: "acc_1"}); err != nil {
		t.Fatalf("own media: %v", err)
	}
	for _, owner := range []string{"acc_2", ""} {
		if err := platform.CheckOwner(tok, platform.Media{ID: "m", AccountID: owner}); !errors.Is(err, platform.ErrNotOwner) {
			t.Fatalf("media of %q: %v, want ErrNotOwner", owner, err)
		}
	}
}

func TestParseCallback(t *testing.T) {
	t.Parallel()
	cb, err := platform.ParseCallback(url.Values{"code": {"c1"}, "state": {"s1"}})
	if err != nil || cb != (platform.Callback{Code: "c1", State: "s1"}) {
		t.Fatalf("ParseCallback = %+v, %v", cb, err)
	}
	cb, err = platform.ParseCallback(url.Values{"error": {"access_denied"}, "error_reason": {"user_denied"}, "state": {"s1"}})
	if !errors.Is(err, platform.ErrAccessDenied) || cb.State != "s1" || !strings.Contains(err.Error(), "user_denied") {
		t.Fatalf("denied: %+v, %v; want ErrAccessDenied with the state and reason", cb, err)
	}
	_, err = platform.ParseCallback(url.Values{"error": {"invalid_scope"}, "state": {"s1"}})
	var pe *platform.Error
	if !errors.As(err, &pe) || pe.Code != "invalid_scope" || errors.Is(err, platform.ErrAccessDenied) {
		t.Fatalf("invalid_scope: %v", err)
	}
	if _, err := platform.ParseCallback(url.Values{"code": {"c1"}}); err == nil {
		t.Fatal("a callback without state was accepted")
	}
	if _, err := platform.ParseCallback(url.Values{"state": {"s1"}}); err == nil {
		t.Fatal("a callback without code was accepted")
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"", 0}, {"-3", 0}, {"soon", 0},
	} {
		if got := platform.ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestTokenHelpersAndRedaction(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tok := platform.Token{AccessToken: "secret-access", RefreshToken: "secret-refresh", AccountID: "acc_1",
		ExpiresAt: now.Add(10 * time.Minute), RefreshExpiresAt: now.Add(time.Hour), Scopes: []string{"a", "b"}}
	if tok.NeedsRefresh(now, 5*time.Minute) || !tok.NeedsRefresh(now, 10*time.Minute) {
		t.Fatal("NeedsRefresh: a token expiring in 10 min needs refreshing within a 10 min margin, not a 5 min one")
	}
	if (platform.Token{}).NeedsRefresh(now, time.Hour) {
		t.Fatal("a token without expiry never needs refreshing")
	}
	if !tok.CanRefresh(now) || tok.CanRefresh(now.Add(time.Hour)) || (platform.Token{}).CanRefresh(now) {
		t.Fatal("CanRefresh: true before RefreshExpiresAt only, and never without a refresh token")
	}
	if !tok.HasScope("b") || tok.HasScope("c") {
		t.Fatal("HasScope")
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("connected", "token", tok)
	for _, s := range []string{fmt.Sprint(tok), fmt.Sprintf("%+v", tok), fmt.Sprintf("%#v", tok), logged.String()} {
		if strings.Contains(s, "secret") || !strings.Contains(s, "acc_1") {
			t.Errorf("%q leaks a secret or lacks the account", s)
		}
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	for _, n := range platform.Names {
		if !n.Valid() {
			t.Errorf("%s is not valid", n)
		}
	}
	if platform.Name("myspace").Valid() {
		t.Error("myspace is valid")
	}
}
