package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store/storetest"
)

// TestAdminTickAnswersWhatHappened: POST /v1/admin/engagement/tick answers
// 200 with state completed when its jobs ran, 202 running when they had not
// finished by ?wait=, and 503 with Retry-After, the failing job and its
// errors when a job fails (here the release: its table is gone) or the tick
// cannot queue its jobs (the campaigns table is gone). A bad wait is refused.
func TestAdminTickAnswersWhatHappened(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		// The jobs of ticks in the same second are shared: the clock moves a
		// second before each tick that must queue its own.
		clk := clock.NewFake(time.Now())
		ctx := context.Background()
		a, err := app.Open(ctx, app.Config{DatabaseURL: url, AdminToken: testAdmin, NoPeriodicJobs: true, Clock: clk,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://payper.test"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		h := a.Handler
		const path = "/v1/admin/engagement/tick"

		// No worker runs yet, so the release job this tick queues cannot
		// finish within its 1 ms wait however fast it is (an empty release
		// once did, before the wait began).
		if r := call(t, h, "POST", path+"?wait=1ms", testAdmin, ""); r.Status != http.StatusAccepted || r.Body["state"] != "running" {
			t.Fatalf("tick with a 1 ms wait: %d %s; want 202 running", r.Status, r.Raw)
		}
		if err := a.Jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Jobs.Stop(context.Background()) })
		// (This one shares the release job the first one left queued.)
		body := must(t, h, 200, "POST", path, testAdmin, "")
		if body["state"] != "completed" || body["jobs"] != 1.0 || body["job_id"] == 0.0 || body["kind"] != "engage_release" {
			t.Fatalf("tick: %v; want completed, its one release job", body)
		}
		if errs, ok := body["errors"].([]any); !ok || len(errs) != 0 {
			t.Fatalf("tick errors %v, want []", body["errors"])
		}
		for _, bad := range []string{"soon", "0s", "-1s", "1h"} {
			if r := call(t, h, "POST", path+"?wait="+bad, testAdmin, ""); r.Status != 400 || r.errField() != "wait" {
				t.Fatalf("wait=%s: %d %s; want 400 naming wait", bad, r.Status, r.Raw)
			}
		}

		// The release job fails: River retries it; the tick says so.
		if _, err := a.DB.Writer().ExecContext(ctx, `ALTER TABLE earnings RENAME TO earnings_gone`); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		r := call(t, h, "POST", path+"?wait=2s", testAdmin, "")
		errs, _ := r.Body["errors"].([]any)
		if r.Status != http.StatusServiceUnavailable || r.Body["state"] != "retrying" || r.Body["kind"] != "engage_release" ||
			len(errs) == 0 || !strings.Contains(errs[0].(string), "earnings") {
			t.Fatalf("tick with a failing release: %d %s; want 503 retrying with the error", r.Status, r.Raw)
		}
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
		}
		if _, err := a.DB.Writer().ExecContext(ctx, `ALTER TABLE earnings_gone RENAME TO earnings`); err != nil {
			t.Fatal(err)
		}

		// The tick cannot even queue its jobs.
		if _, err := a.DB.Writer().ExecContext(ctx, `ALTER TABLE campaigns RENAME TO campaigns_gone`); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		r = call(t, h, "POST", path, testAdmin, "")
		if r.Status != http.StatusServiceUnavailable || r.Body["state"] != "failed" || r.Header.Get("Retry-After") == "" {
			t.Fatalf("tick that cannot queue its jobs: %d %s; want 503 failed", r.Status, r.Raw)
		}
		if _, err := a.DB.Writer().ExecContext(ctx, `ALTER TABLE campaigns_gone RENAME TO campaigns`); err != nil {
			t.Fatal(err)
		}
	})
}
