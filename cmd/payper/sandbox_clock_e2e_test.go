package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// sandboxClockEnv starts payper serve with the movable clock, ticking by
// itself every 2 seconds.
var sandboxClockEnv = map[string]string{"PAYPER_SANDBOX_CLOCK": "true", "PAYPER_POLL_INTERVAL": "2s"}

// TestSandboxClockEndToEnd plays a campaign past its holding period
// against the real serve, moving its clock through the sandbox driver: an
// earning billed now is held, released by a tick after the clock moved 8
// days, and the periodic tick follows the moved clock too. On both stores.
func TestSandboxClockEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		c := client{t: t, base: startServerEnv(t, dbURL, sandboxClockEnv)}
		brandKey := str(c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Outsider"}`), "api_key")

		// Only admin keys; bad durations are 400 naming "by"; nothing moves.
		c.fails(401, "unauthorized", "", "GET", "/sandbox/driver/clock", "", "")
		c.fails(403, "forbidden", "", "POST", "/sandbox/driver/clock/advance", brandKey, `{"by":"1h"}`)
		clk := c.must(200, "GET", "/sandbox/driver/clock", adminToken, "")
		if clk["movable"] != true || clk["offset"] != "0s" {
			t.Fatalf("clock before any advance: %v", clk)
		}
		for _, bad := range []struct{ body, code string }{
			{`{"by":""}`, "required"}, {`{}`, "required"}, {`{"by":"-1h"}`, "not_forward"}, {`{"by":"0s"}`, "not_forward"},
			{`{"by":"soon"}`, "invalid_duration"}, {`{"by":"1.5d"}`, "invalid_duration"}, {`{"by":"0d"}`, "invalid_duration"},
			{`{"by":"9000h"}`, "too_far"},
		} {
			c.fails(400, bad.code, "by", "POST", "/sandbox/driver/clock/advance", adminToken, bad.body)
		}
		c.fails(400, "invalid_json", "", "POST", "/sandbox/driver/clock/advance", adminToken, `{"by":"1h","extra":1}`)
		if got := c.must(200, "GET", "/sandbox/driver/clock", adminToken, ""); got["offset"] != "0s" {
			t.Fatalf("refused advances moved the clock: %v", got)
		}

		start, err := time.Parse(time.RFC3339Nano, str(clk, "now"))
		if err != nil {
			t.Fatal(err)
		}
		advance := func(by string) time.Time {
			t.Helper()
			r := c.must(200, "POST", "/sandbox/driver/clock/advance", adminToken, `{"by":"`+by+`"}`)
			now, err := time.Parse(time.RFC3339Nano, str(r, "now"))
			if err != nil || r["movable"] != true {
				t.Fatalf("advance %s: %v (%v)", by, r, err)
			}
			return now
		}
		w := buildPPIWorld(t, c, adminToken, start, func(d time.Duration) { advance(d.String()) }, nil)
		w.dbURL = dbURL
		tick := func() {
			t.Helper()
			c.must(200, "POST", "/v1/admin/engagement/tick", adminToken, "")
		}
		earning := func(h string) map[string]any {
			t.Helper()
			_, _, l := w.earned(t, h)
			if len(l) != 1 {
				t.Fatalf("%s has %d earnings, want 1: %v", h, len(l), l)
			}
			return l[0].(map[string]any)
		}
		available := func(h string) int64 {
			t.Helper()
			bal := c.must(200, "GET", "/v1/creators/"+w.ids[h]+"/balances", w.creators[h], "")
			bs, _ := bal["balances"].([]any)
			for _, b := range bs {
				if m := b.(map[string]any); m["currency"] == "EUR" {
					return micros(t, m, "available")
				}
			}
			t.Fatalf("%s has no EUR balance: %v", h, bal)
			return 0
		}

		// ana: 10 likes at €0.05, billed by an explicit tick; the first
		// campaign's 10 % fee leaves her €0.45, held for 7 days.
		w.grow(t, "ana", `{"likes":10}`)
		tick()
		if e := earning("ana"); e["state"] != "held" || micros(t, e, "gross") != 500_000 || micros(t, e, "net") != 450_000 {
			t.Fatalf("ana's earning after the first tick: %v", e)
		}
		tick() // a tick without the clock moving releases nothing
		if e := earning("ana"); e["state"] != "held" || available("ana") != 0 {
			t.Fatalf("ana's earning released before the holding period: %v", e)
		}
		now := advance("8d")
		if now.Sub(start) < 8*24*time.Hour {
			t.Fatalf("clock at %s after 8 days from %s", now, start)
		}
		tick()
		if e := earning("ana"); e["state"] != "released" || available("ana") != 450_000 {
			t.Fatalf("ana's earning after 8 days: %v, available %d", e, available("ana"))
		}

		// ben: the periodic tick (every 2 s) bills his 4 likes, and after
		// the clock moves 8 days it releases them with no explicit tick.
		w.grow(t, "ben", `{"likes":4}`)
		waitFor(t, "the periodic tick to bill ben", func() bool {
			_, _, l := w.earned(t, "ben")
			return len(l) == 1
		})
		if e := earning("ben"); e["state"] != "held" || micros(t, e, "net") != 180_000 {
			t.Fatalf("ben's earning from the periodic tick: %v", e)
		}
		advance("192h")
		waitFor(t, "the periodic tick to release ben's earning", func() bool { return earning("ben")["state"] == "released" })
		if got := available("ben"); got != 180_000 {
			t.Fatalf("ben's available balance %d, want 180000", got)
		}
		if got := c.must(200, "GET", "/sandbox/driver/clock", adminToken, "")["offset"]; got != "384h1m0s" { // the world's minute, 8d and 192h
			t.Fatalf("offset after 1m + 8d + 192h: %v", got)
		}

		// Only sandbox stores can be connected while the clock can move.
		c.fails(403, "sandbox_clock", "sandbox", "POST", "/v1/stores", w.brand, `{"platform":"shopify","shop_domain":"glow.myshopify.com","webhook_secret":"s3cret-s3cret"}`)
		c.must(201, "POST", "/v1/stores", w.brand, `{"platform":"shopify","shop_domain":"glow-sandbox.myshopify.com","sandbox":true}`)
		w.audit(t)
	})
}

// waitFor polls ok for up to 30 seconds.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestSandboxClockRefused: the movable clock is refused at startup beside a
// real provider (naming the setting), without the sandbox, and beside a real
// store in the database; a server without it answers advance 404.
func TestSandboxClockRefused(t *testing.T) {
	serve := func(env map[string]string, db string) error {
		env["PAYPER_ADMIN_TOKEN"], env["PAYPER_SECRET_KEY"], env["PAYPER_SANDBOX_CLOCK"] = adminToken, testSecretKey, "true"
		return run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--db", db}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}
	nodb := "postgres://nobody@127.0.0.1:1/none"
	for _, tc := range []struct{ env, val, want string }{
		{"PAYPER_INSTAGRAM_CLIENT_ID", "app", "PAYPER_INSTAGRAM_CLIENT_ID"},
		{"PAYPER_TIKTOK_CLIENT_KEY", "key", "PAYPER_TIKTOK_CLIENT_KEY"},
		{"PAYPER_YOUTUBE_CLIENT_ID", "id", "PAYPER_YOUTUBE_CLIENT_ID"},
		{"PAYPER_WISE_API_TOKEN", "tok", "PAYPER_WISE_API_TOKEN"},
		{"PAYPER_STRIPE_SECRET_KEY", "sk_test_1", "PAYPER_STRIPE_SECRET_KEY"},
		{"PAYPER_META_ACCESS_TOKEN", "tok", "PAYPER_META_ACCESS_TOKEN"},
		{"PAYPER_TIKTOK_ADS_ACCESS_TOKEN", "tok", "PAYPER_TIKTOK_ADS_ACCESS_TOKEN"},
		{"PAYPER_SANDBOX", "false", "PAYPER_SANDBOX=true"},
	} {
		err := serve(map[string]string{tc.env: tc.val}, nodb)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "PAYPER_SANDBOX_CLOCK") {
			t.Errorf("serve --sandbox-clock with %s=%s: %v, want an error naming %s", tc.env, tc.val, err, tc.want)
		}
	}

	// Without the flag the clock is fixed: advance is 404, the clock says so.
	db := filepath.Join(t.TempDir(), "clock.db")
	c := client{t: t, base: startServerEnv(t, db, nil)}
	c.fails(404, "clock_fixed", "", "POST", "/sandbox/driver/clock/advance", adminToken, `{"by":"1h"}`)
	if got := c.must(200, "GET", "/sandbox/driver/clock", adminToken, ""); got["movable"] != false || got["offset"] != "0s" {
		t.Fatalf("fixed clock: %v", got)
	}
	// A real store connected there: the clock is refused on that database.
	brand := str(c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Real"}`), "api_key")
	c.must(201, "POST", "/v1/stores", brand, `{"platform":"shopify","shop_domain":"real.myshopify.com","webhook_secret":"s3cret-s3cret"}`)
	if err := serve(map[string]string{}, db); err == nil || !strings.Contains(err.Error(), "real store") {
		t.Fatalf("serve --sandbox-clock on a database with a real store: %v", err)
	}
}

// TestSandboxClockKeptAcrossRestart: the offset is saved, so a restarted
// server's clock does not go back to the wall clock. On both stores.
func TestSandboxClockKeptAcrossRestart(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		serve := func() (client, func()) {
			ctx, cancel := context.WithCancel(context.Background())
			out := &lineWriter{addr: make(chan string, 1)}
			done := make(chan error, 1)
			env := map[string]string{"PAYPER_ADMIN_TOKEN": adminToken, "PAYPER_LOG_LEVEL": "error", "PAYPER_SECRET_KEY": testSecretKey, "PAYPER_SANDBOX_CLOCK": "true"}
			go func() {
				done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dbURL}, func(k string) string { return env[k] }, out, io.Discard)
			}()
			select {
			case addr := <-out.addr:
				return client{t: t, base: "http://" + addr}, func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("server exited with %v", err)
					}
				}
			case err := <-done:
				cancel()
				t.Fatalf("server exited before listening: %v", err)
			case <-time.After(30 * time.Second):
				cancel()
				t.Fatal("server did not start within 30s")
			}
			return client{}, nil
		}
		c, stop := serve()
		moved := c.must(200, "POST", "/sandbox/driver/clock/advance", adminToken, `{"by":"3d"}`)
		stop()
		c, stop = serve()
		defer stop()
		got := c.must(200, "GET", "/sandbox/driver/clock", adminToken, "")
		before, _ := time.Parse(time.RFC3339Nano, str(moved, "now"))
		after, _ := time.Parse(time.RFC3339Nano, str(got, "now"))
		if got["offset"] != "72h0m0s" || after.Before(before) {
			t.Fatalf("after a restart the clock is %v, before it %v", got, moved)
		}
	})
}
