package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// startProcess builds payper once and runs "payper serve" as a separate
// process on dbURL, with a one-second poll interval. It returns the base URL;
// the process gets SIGTERM when the test ends and must exit cleanly.
func startProcess(t *testing.T, bin, dbURL string) string {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "PAYPER_DATABASE_URL="+dbURL, "PAYPER_ADMIN_TOKEN="+adminToken,
		"PAYPER_POLL_INTERVAL=1s", "PAYPER_LOG_LEVEL=error")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, a, ok := strings.Cut(sc.Text(), "listening on http://"); ok {
				addr <- a
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("payper serve exited with %v: %s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("payper serve did not stop within 30s")
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("payper serve did not start: %s", stderr.String())
	}
	return ""
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
	bin := filepath.Join(t.TempDir(), "payper")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
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
