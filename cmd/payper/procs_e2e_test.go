package main

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// startProcess runs "payper serve" (bin, see buildPayper) as a separate
// process on dbURL, with a one-second poll interval. It returns the base URL;
// the process gets SIGINT when the test ends and must exit cleanly.
func startProcess(t *testing.T, bin, dbURL string) string {
	t.Helper()
	return newServerProc(t, bin, dbURL, "PAYPER_POLL_INTERVAL=1s").start()
}

// TestTwoProcessesOnePostgres runs two payper server processes on one
// PostgreSQL database. Both run the periodic engagement tick on the real
// clock, and the test also ticks both at once, round after round: every unit
// of growth is billed exactly once.
func TestTwoProcessesOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs on the real clock")
	}
	dbURL := storetest.PostgresURL(t)
	if dbURL == "" {
		return
	}
	bin := buildPayper(t)
	a := startProcess(t, bin, dbURL)
	b := startProcess(t, bin, dbURL)
	ca, cb := client{t: t, base: a}, client{t: t, base: b}
	w := buildPPIWorld(t, ca, adminToken, time.Now().UTC().Add(-time.Minute), func(time.Duration) { time.Sleep(20 * time.Millisecond) }, nil)
	w.dbURL = dbURL

	var want int64
	for round := 1; round <= 5; round++ {
		w.grow(t, "ana", fmt.Sprintf(`{"views":%d,"likes":%d}`, 100*round, round))
		w.grow(t, "ben", fmt.Sprintf(`{"comments":%d}`, round%3+1))
		w.grow(t, "cleo", `{"views":50}`)
		want += int64(100*round)*2_000 + int64(round)*50_000 + int64(round%3+1)*250_000 + 50*2_000
		time.Sleep(1100 * time.Millisecond) // the posts are due again
		var wg sync.WaitGroup
		for _, c := range []client{ca, cb, ca, cb} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if r := c.do("POST", "/v1/admin/engagement/tick", adminToken, ""); r.Status != 200 {
					t.Errorf("tick on %s: %d %s", c.base, r.Status, r.Raw)
				}
			}()
		}
		wg.Wait()
	}
	deadline := time.Now().Add(20 * time.Second)
	var spent int64
	for {
		spent = micros(t, w.money(t), "spent")
		if spent >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if spent != want {
		t.Fatalf("spent %d with two processes, want %d", spent, want)
	}
	// Both keep ticking on their own: nothing more is billed.
	time.Sleep(2500 * time.Millisecond)
	if again := micros(t, w.money(t), "spent"); again != want {
		t.Fatalf("spent %d after more ticks without growth, want %d", again, want)
	}
	w.audit(t)
}
