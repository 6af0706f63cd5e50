package engage_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestTicksResumeAfterAKill: a server killed in the middle of a tick leaves
// its tick and a poll in state running (River rescues such jobs only much
// later). A new server must tick and bill at once regardless, and keep
// ticking: billing is safe against a dead job that still looks running.
func TestTicksResumeAfterAKill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if err := engage.Migrate(e.ctx, db); err != nil {
			t.Fatal(err)
		}
		camp := e.campaign(100*eur, campaign.Prices{Comment: 250_000}, 0, false)
		ana := e.creator("ana", camp)
		_, sp := e.post(ana, "ana", camp, "#glowup #ad")

		const every = time.Second
		// The dead server ticked at the same pace: its tick may be the one of
		// the period the new server starts in.
		dead, err := engage.NewRunner(e.ctx, e.svc, db, engage.RunnerOptions{NoPeriodic: true, TickEvery: every})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dead.LeaveTickRunning(e.ctx, camp.ID); err != nil {
			t.Fatal(err)
		}

		e.add(sp.ID, sandbox.Delta{Comments: 8})
		e.clk.Advance(time.Minute)
		r, err := engage.NewRunner(e.ctx, e.svc, db, engage.RunnerOptions{TickEvery: every})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(e.ctx); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(context.Background())
		// The first tick runs when the server starts; a generous bound only
		// keeps a blocked queue from hanging the test (before the fix,
		// nothing ran for an hour and ten minutes).
		deadline := time.Now().Add(30 * time.Second)
		for e.escrow(camp.ID).Spent != 2*eur {
			if time.Now().After(deadline) {
				t.Fatalf("nothing billed 30 s after the restart (spent %d): the dead tick blocks the new ones", e.escrow(camp.ID).Spent)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// And the ticks go on: the next slot's tick bills new growth.
		deadline = time.Now().Add(30 * time.Second)
		e.add(sp.ID, sandbox.Delta{Comments: 4})
		e.clk.Advance(time.Minute)
		for e.escrow(camp.ID).Spent != 3*eur {
			if time.Now().After(deadline) {
				dumpJobs(t, db)
				t.Fatalf("later growth not billed (spent %d): ticks did not go on", e.escrow(camp.ID).Spent)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// TestTickAfterWorkHasItsOwnTime: the work after a tick's jobs (payouts,
// auto marks: RunnerOptions.OnTick) gets DefaultTickWait of its own, not
// what the jobs left of the caller's wait, which under load can be nothing
// (its payouts query then failed with "context deadline exceeded").
func TestTickAfterWorkHasItsOwnTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if err := engage.Migrate(e.ctx, db); err != nil {
			t.Fatal(err)
		}
		camp := e.campaign(100*eur, campaign.Prices{Comment: 250_000}, 0, false)
		_, _ = e.post(e.creator("ana", camp), "ana", camp, "#glowup #ad")
		var left time.Duration
		r, err := engage.NewRunner(e.ctx, e.svc, db, engage.RunnerOptions{NoPeriodic: true, OnTick: func(ctx context.Context) error {
			dl, ok := ctx.Deadline()
			if !ok {
				return errors.New("no deadline")
			}
			left = time.Until(dl)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(e.ctx); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(context.Background())
		e.clk.Advance(time.Minute)
		rep, err := r.Tick(e.ctx, 3*time.Second)
		if err != nil || rep.State != engage.TickCompleted {
			t.Fatalf("tick: %+v, %v", rep, err)
		}
		if left <= 3*time.Second || left > engage.DefaultTickWait {
			t.Fatalf("the after-tick work had %v left; want more than the 3 s wait, at most %v", left, engage.DefaultTickWait)
		}
	})
}

// TestAdminTick: the tick run by hand answers within its wait with what
// happened: completed with the jobs it ran; running while a poll waits on
// a platform that does not answer; retrying, with the error, while a poll
// fails (its marks row is unreadable) and River runs it again.
func TestAdminTick(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if err := engage.Migrate(e.ctx, db); err != nil {
			t.Fatal(err)
		}
		camp := e.campaign(100*eur, campaign.Prices{Comment: 250_000}, 0, false)
		ana := e.creator("ana", camp)
		_, sp := e.post(ana, "ana", camp, "#glowup #ad")
		if _, err := e.svc.TickNow(e.ctx, time.Second); errs.CodeOf(err) != "no_job_queue" {
			t.Fatalf("tick without a job queue: %v", err)
		}
		r, err := engage.NewRunner(e.ctx, e.svc, db, engage.RunnerOptions{NoPeriodic: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(e.ctx); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(context.Background())

		e.add(sp.ID, sandbox.Delta{Comments: 4})
		e.clk.Advance(time.Minute)
		rep, err := e.svc.TickNow(e.ctx, 0)
		if err != nil || rep.State != engage.TickCompleted || rep.Jobs != 2 || rep.JobID == 0 || rep.Attempts < 1 || len(rep.Errors) != 0 {
			t.Fatalf("tick: %+v, %v; want completed, 2 jobs (a poll and a release)", rep, err)
		}
		if s := e.escrow(camp.ID).Spent; s != eur {
			t.Fatalf("spent %d, want 4 × €0.25", s)
		}

		// The platform does not answer: after the wait the poll still runs.
		gate := make(chan struct{})
		e.accounts.mu.Lock()
		e.accounts.gate = gate
		e.accounts.mu.Unlock()
		e.add(sp.ID, sandbox.Delta{Comments: 4})
		e.clk.Advance(time.Minute)
		rep, err = e.svc.TickNow(e.ctx, 300*time.Millisecond)
		if err != nil || rep.State != engage.TickRunning || rep.Kind != "engage_poll" || rep.JobID == 0 || len(rep.Errors) != 0 {
			t.Fatalf("tick with a platform that does not answer: %+v, %v; want the poll running", rep, err)
		}
		// A tick in the same second shares that poll; when the poll is
		// discarded (as River does after its last attempt), the tick says
		// so at once rather than at the end of its wait.
		type answer struct {
			rep engage.TickReport
			err error
		}
		releases := func() (n int) {
			t.Helper()
			if err := db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'engage_release'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := releases()
		got := make(chan answer, 1)
		go func() {
			rep, err := e.svc.TickNow(e.ctx, time.Minute)
			got <- answer{rep, err}
		}()
		for releases() == before { // its jobs are queued when its own release job is
			time.Sleep(10 * time.Millisecond)
		}
		now := "datetime('now')"
		if db.Dialect() == store.Postgres {
			now = "now()"
		}
		if _, err := db.Writer().ExecContext(e.ctx, `UPDATE river_job SET state = 'discarded', finalized_at = `+now+`
			WHERE id = $1`, rep.JobID); err != nil {
			t.Fatal(err)
		}
		if a := <-got; a.err != nil || a.rep.State != engage.TickDiscarded || a.rep.JobID != rep.JobID || a.rep.RetryAfter < time.Second {
			t.Fatalf("tick sharing a discarded poll: %+v, %v; want discarded, job %d", a.rep, a.err, rep.JobID)
		}
		e.accounts.mu.Lock()
		e.accounts.gate = nil
		e.accounts.mu.Unlock()
		close(gate)
		deadline := time.Now().Add(30 * time.Second)
		for e.escrow(camp.ID).Spent != 2*eur { // the poll goes on after the answer
			if time.Now().After(deadline) {
				t.Fatalf("the poll left running never billed: spent %d", e.escrow(camp.ID).Spent)
			}
			time.Sleep(20 * time.Millisecond)
		}

		// The poll fails (its creator's marks cannot be read): River retries it.
		if _, err := db.Writer().ExecContext(e.ctx, `UPDATE creator_marks SET marks = 'unreadable' WHERE campaign_id = $1`, camp.ID); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Minute)
		rep, err = e.svc.TickNow(e.ctx, 3*time.Second)
		if err != nil || rep.State != engage.TickRetrying || rep.Kind != "engage_poll" || rep.Attempts < 1 || len(rep.Errors) == 0 ||
			!strings.Contains(rep.Errors[0], "marks") || rep.RetryAfter < time.Second {
			t.Fatalf("tick with a failing poll: %+v, %v; want it retrying with the marks error", rep, err)
		}
	})
}

// dumpJobs logs the queue's jobs, for a failure's diagnosis.
func dumpJobs(t *testing.T, db *store.DB) {
	rows, err := db.Read().QueryContext(context.Background(), `SELECT id, kind, state, args, attempt, errors FROM river_job ORDER BY id`)
	if err != nil {
		t.Logf("jobs: %v", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var id, attempt int64
		var kind, state string
		var args, errors []byte
		if err := rows.Scan(&id, &kind, &state, &args, &attempt, &errors); err != nil {
			t.Logf("jobs: %v", err)
			return
		}
		t.Logf("job %d %s %s %s attempt %d errors %s", id, kind, state, args, attempt, errors)
	}
}
