package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/payout/wise"
	"github.com/payper/payper/internal/platform/instagram"
	"github.com/payper/payper/internal/store/storetest"
)

// startServerEnv is startServer with more environment.
func startServerEnv(t *testing.T, dbURL string, extra map[string]string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	env := map[string]string{"PAYPER_ADMIN_TOKEN": adminToken, "PAYPER_LOG_LEVEL": "error", "PAYPER_SECRET_KEY": testSecretKey}
	for k, v := range extra {
		env[k] = v
	}
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dbURL}, func(k string) string { return env[k] }, out, testLog())
	}()
	select {
	case addr := <-out.addr:
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Error("server did not shut down within 20s")
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	return ""
}

// TestServeRefusesRealPlatformsWithoutKey: a real connector's tokens must be
// encrypted at rest, so serve will not start with one and no key.
func TestServeRefusesRealPlatformsWithoutKey(t *testing.T) {
	env := map[string]string{"PAYPER_INSTAGRAM_CLIENT_ID": "app", "PAYPER_INSTAGRAM_CLIENT_SECRET": "secret", "PAYPER_ADMIN_TOKEN": adminToken}
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://nobody@127.0.0.1:1/none"},
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PAYPER_SECRET_KEY") {
		t.Fatalf("serve with Instagram and no key: %v", err)
	}
	env["PAYPER_INSTAGRAM_CLIENT_SECRET"] = ""
	err = run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://nobody@127.0.0.1:1/none"},
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "secret") {
		t.Fatalf("serve with an Instagram id and no secret: %v", err)
	}
}

// TestServeRefusesBadStripeCountry: a platform country that is not a
// two-letter code stops serve before it opens anything, naming the setting.
func TestServeRefusesBadStripeCountry(t *testing.T) {
	env := map[string]string{"PAYPER_STRIPE_SECRET_KEY": "sk_test_123", "PAYPER_STRIPE_WEBHOOK_SECRET": "whsec_123",
		"PAYPER_STRIPE_PLATFORM_COUNTRY": "USA", "PAYPER_SECRET_KEY": strings.Repeat("ab", 32), "PAYPER_ADMIN_TOKEN": adminToken}
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://nobody@127.0.0.1:1/none"},
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PlatformCountry") || !strings.Contains(err.Error(), "USA") {
		t.Fatalf("serve with PAYPER_STRIPE_PLATFORM_COUNTRY=USA: %v", err)
	}
}

// TestServeRefusesBadPayoutSettings: payout retries out of range, and a Wise
// SCA key file that cannot be read, stop serve naming the setting.
func TestServeRefusesBadPayoutSettings(t *testing.T) {
	for _, tc := range []struct{ env, val, want string }{
		{"PAYPER_PAYOUT_MAX_ATTEMPTS", "0", "--payout-max-attempts 0"},
		{"PAYPER_PAYOUT_SETTLE_AFTER", "10s", "--payout-settle-after 10s"},
		{"PAYPER_WISE_SCA_PRIVATE_KEY_FILE", "/nonexistent/sca.pem", "/nonexistent/sca.pem"},
	} {
		env := map[string]string{"PAYPER_WISE_API_TOKEN": "tok", "PAYPER_WISE_PROFILE_ID": "1", "PAYPER_WISE_WEBHOOK_PUBLIC_KEY": wise.NewFake("tok", 1).PublicKeyPEM(),
			"PAYPER_SECRET_KEY": strings.Repeat("ab", 32), "PAYPER_ADMIN_TOKEN": adminToken, tc.env: tc.val}
		err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://nobody@127.0.0.1:1/none"},
			func(k string) string { return env[k] }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("serve with %s=%s: %v, want an error naming %s", tc.env, tc.val, err, tc.want)
		}
	}
}

// TestServeRefusesBadSMTPURL: an SMTP URL without its from= address stops
// serve naming what is missing (mail would otherwise fail only when sent).
func TestServeRefusesBadSMTPURL(t *testing.T) {
	env := map[string]string{"PAYPER_SMTP_URL": "smtp://mail.example.com:587", "PAYPER_ADMIN_TOKEN": adminToken}
	err := run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "smtp.db")},
		func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "from=") || !strings.Contains(err.Error(), "PAYPER_SMTP_URL") {
		t.Fatalf("serve with an SMTP URL without from=: %v", err)
	}
}

// TestInstagramEndToEnd: a creator connects Instagram through the (fake)
// OAuth flow, submits a post, and the campaign bills the platform's counts;
// the token expires, the account asks to reconnect, nothing is billed
// meanwhile, and after reconnecting the growth of the gap is billed once.
// On both stores, through the real connector over HTTP.
func TestInstagramEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		fake := instagram.NewFake("ig-app", "ig-secret")
		fake.SetNow(time.Now())
		fake.AddAccount("17841400000000001", "mia.glow", 8000)
		fake.ExpectVersion("v26.0") // the version set by PAYPER_INSTAGRAM_GRAPH_VERSION; any other is refused
		ig := httptest.NewServer(fake)
		defer ig.Close()
		base := startServerEnv(t, dbURL, map[string]string{"PAYPER_INSTAGRAM_CLIENT_ID": "ig-app", "PAYPER_INSTAGRAM_CLIENT_SECRET": "ig-secret",
			"PAYPER_INSTAGRAM_AUTH_URL": ig.URL, "PAYPER_INSTAGRAM_GRAPH_URL": ig.URL, "PAYPER_INSTAGRAM_GRAPH_VERSION": "v26.0", "PAYPER_POLL_INTERVAL": "1s"})
		c := client{t: t, base: base}
		// Instagram's refused-insights counter is served on /metrics.
		if m := c.do("GET", "/metrics", adminToken, "").Raw; !strings.Contains(m, `payper_instagram_insights_code100_total{reason="unsupported_metric"} 0`) {
			t.Fatalf("/metrics lacks the Instagram counter:\n%.2000s", m)
		}
		brand := str(c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Glow Labs"}`), "api_key")
		camp := str(c.must(201, "POST", "/v1/campaigns", brand, `{"name":"Serum","budget":{"amount":"100","currency":"EUR"}}`), "id")
		now := time.Now().UTC()
		c.must(200, "PUT", "/v1/campaigns/"+camp+"/setup", brand, fmt.Sprintf(`{
			"goal": {"primary": "roas", "primary_target": "3"},
			"brief": {"product": "Glow serum", "message": "Morning routine", "required_hashtags": ["#GlowSerum"], "landing_url": "https://glow.example"},
			"prices": {"view": "0.002", "like": "0.05", "comment": "0.25"},
			"ends_at": %q, "eligibility": {"platforms": ["instagram"]}}`, now.Add(30*24*time.Hour).Format(time.RFC3339)))
		c.must(201, "POST", "/v1/campaigns/"+camp+"/fund", brand, `{"payment":{"reference":"pay-ig"}}`)
		c.must(200, "POST", "/v1/campaigns/"+camp+"/open", brand, "")
		rc := c.must(201, "POST", "/v1/creators", adminToken, `{"name":"Mia","country":"DE"}`)
		mia := str(rc, "api_key")
		connect := func() map[string]any {
			t.Helper()
			conn := c.must(201, "POST", "/v1/creator/connections", mia, `{"platform":"instagram"}`)
			if !strings.HasPrefix(str(conn, "authorize_url"), ig.URL+"/oauth/authorize?") {
				t.Fatalf("authorize url %s", str(conn, "authorize_url"))
			}
			browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := browser.Get(str(conn, "authorize_url"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			return c.must(200, "GET", loc.Path+"?"+loc.RawQuery, "", "")
		}
		acc := connect()
		if acc["status"] != "connected" || acc["handle"] != "mia.glow" {
			t.Fatalf("connected account %v", acc)
		}
		app := c.must(201, "POST", "/v1/campaigns/"+camp+"/applications", mia, `{"pitch":"skincare nerd"}`)
		c.must(200, "POST", "/v1/applications/"+str(app, "id")+"/accept", brand, "")
		time.Sleep(1100 * time.Millisecond) // Instagram's timestamps are to the second: publish after the acceptance
		fake.SetNow(time.Now())
		if err := fake.AddMedia("17841400000000001", instagram.FakeMedia{ID: "18000000000000001", Caption: "Morning glow #GlowSerum #ad",
			MediaType: "VIDEO", ProductType: "REELS", Timestamp: time.Now().UTC(), LikeCount: 0, CommentsCount: 0,
			Insights: map[string]int64{"views": 0, "likes": 0, "comments": 0, "shares": 0, "saved": 0}}); err != nil {
			t.Fatal(err)
		}
		post := c.must(201, "POST", "/v1/campaigns/"+camp+"/posts", mia, `{"platform":"instagram","media":"18000000000000001"}`)
		if post["state"] != "live" {
			t.Fatalf("post %v", post)
		}
		spent := func() int64 {
			t.Helper()
			return micros(t, c.must(200, "GET", "/v1/campaigns/"+camp+"/money", brand, ""), "spent")
		}
		tick := func() { // posts are due again after the 1 s poll interval
			t.Helper()
			time.Sleep(1100 * time.Millisecond)
			c.must(200, "POST", "/v1/admin/engagement/tick", adminToken, "")
		}
		status := func() string {
			t.Helper()
			accs := c.must(200, "GET", "/v1/creator/accounts", mia, "")["data"].([]any)
			if len(accs) != 1 {
				t.Fatalf("accounts %v", accs)
			}
			return accs[0].(map[string]any)["status"].(string)
		}
		// until ticks (each after the 1 s poll interval) until cond holds, at
		// most 6 times: the poll jobs run on the queue, so under load a post
		// may be due one tick later.
		until := func(what string, cond func() bool) {
			t.Helper()
			for range 6 {
				tick()
				if cond() {
					return
				}
			}
			t.Fatalf("after 6 ticks: %s never happened (spent %d, account %s)", what, spent(), status())
		}
		tick() // the first read sets the marks
		if err := fake.SetCounts("18000000000000001", 40, 4, map[string]int64{"views": 1000, "likes": 40, "comments": 4, "shares": 1, "saved": 2}); err != nil {
			t.Fatal(err)
		}
		// 1000 views × 0.002 + 40 likes × 0.05 + 4 comments × 0.25 = 5.00
		until("5.00 billed", func() bool { return spent() == 5_000_000 })
		// The token expires: reconnect needed, nothing billed, nothing lost.
		fake.ExpireTokens()
		_ = fake.SetCounts("18000000000000001", 50, 4, map[string]int64{"views": 1500, "likes": 50, "comments": 4, "shares": 1, "saved": 2})
		until("reconnect_needed", func() bool { return status() == "reconnect_needed" })
		if s := spent(); s != 5_000_000 {
			t.Fatalf("spent %d while the token is dead", s)
		}
		if acc := connect(); acc["status"] != "connected" {
			t.Fatalf("reconnect %v", acc)
		}
		// The gap: 500 views × 0.002 + 10 likes × 0.05 = 1.50, billed once.
		until("the gap billed", func() bool { return spent() != 5_000_000 })
		if s := spent(); s != 6_500_000 {
			t.Fatalf("spent %d after reconnecting, want 6.50", s)
		}
		tick()
		if s := spent(); s != 6_500_000 {
			t.Fatalf("spent %d after another tick, want 6.50", s)
		}
		// Tokens are sealed at rest.
		if strings.Contains(c.do("GET", "/v1/creator/accounts", mia, "").Raw, "access_token") {
			t.Fatal("the API shows the token")
		}
	})
}

// testLog is where servers started by tests log: nowhere, unless
// PAYPER_TEST_LOG is set (then stderr).
func testLog() io.Writer {
	if os.Getenv("PAYPER_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
