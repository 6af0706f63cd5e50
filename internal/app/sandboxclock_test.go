package app

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// TestSandboxClockMovesForwardOnly: advances add up, Now follows, and a
// zero, negative or too large advance is refused without moving it; Now and
// AdvanceBy are safe together (run with -race).
func TestSandboxClockMovesForwardOnly(t *testing.T) {
	c := NewSandboxClock()
	for _, d := range []time.Duration{0, -time.Hour, 367 * 24 * time.Hour} {
		if _, err := c.AdvanceBy(d); err == nil {
			t.Fatalf("advance by %s accepted", d)
		}
	}
	if c.Offset() != 0 {
		t.Fatalf("refused advances moved the clock by %s", c.Offset())
	}
	wall := time.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = c.AdvanceBy(3 * time.Hour) }()
		go func() { defer wg.Done(); _ = c.Now() }()
	}
	wg.Wait()
	if c.Offset() != 24*time.Hour {
		t.Fatalf("offset %s after 8 advances of 3h", c.Offset())
	}
	if got := c.Now().Sub(wall); got < 24*time.Hour || got > 25*time.Hour {
		t.Fatalf("Now is %s ahead of the wall clock, want 24h", got)
	}
}

// TestCheckSandboxClockRefusesRealProviders: an App on a SandboxClock is
// refused without the sandbox and beside a real ad account, naming it; on a
// sandbox-only App the check passes and the clock is saved with each advance.
func TestCheckSandboxClockRefusesRealProviders(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		cfg := Config{DatabaseURL: url, NoPeriodicJobs: true, Sandbox: true, Clock: NewSandboxClock(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		a, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		for _, tc := range []struct {
			mod  func(*Config)
			want string
		}{
			{func(c *Config) { c.Sandbox = false }, "sandbox on"},
			{func(c *Config) { c.Ads.MetaToken = "tok" }, "Meta ad account"},
			{func(c *Config) { c.Ads.TikTokToken = "tok" }, "TikTok ad account"},
		} {
			bad := cfg
			tc.mod(&bad)
			if err := a.CheckSandboxClock(ctx, bad); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("check with %s: %v", tc.want, err)
			}
		}
		if err := a.CheckSandboxClock(ctx, cfg); err != nil {
			t.Fatalf("sandbox-only: %v", err)
		}
		if _, err := cfg.Clock.(*SandboxClock).AdvanceBy(5 * time.Hour); err != nil {
			t.Fatal(err)
		}
		var saved string
		if err := a.DB.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, settingSandboxClock).Scan(&saved); err != nil || saved != "18000000000000" {
			t.Fatalf("saved offset %q, %v", saved, err)
		}
	})
}
