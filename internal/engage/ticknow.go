package engage

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/payper/payper/internal/errs"
)

// What an admin tick's jobs came to by the time it answered (TickReport.State).
const (
	TickCompleted = "completed" // every job ran, and the after-tick work (RunnerOptions.OnTick) too
	TickRunning   = "running"   // some job had not finished when the wait ended; none failed so far
	TickRetrying  = "retrying"  // some job failed and River will run it again
	TickDiscarded = "discarded" // some job failed for good (out of attempts) or was cancelled
	TickFailed    = "failed"    // the tick could not queue its jobs, or the after-tick work failed
)

// DefaultTickWait is how long an admin tick waits for its jobs by default.
const DefaultTickWait = 30 * time.Second

// TickReport says what an admin tick (Runner.Tick) did by the time it
// answered. When jobs are in different states the report is about the
// worst (discarded, failed, retrying, running, completed, in that order):
// JobID, Kind, Attempts and Errors are the first such job's.
type TickReport struct {
	State string `json:"state"`
	// JobID is the queue's id of the job the state is about (0 when the
	// tick queued none: failed before).
	JobID int64  `json:"job_id"`
	Kind  string `json:"kind,omitempty"`
	// Attempts is how many times that job ran so far.
	Attempts int `json:"attempts"`
	// Errors are that job's errors, one per failed attempt, oldest first
	// (for failed: what failed).
	Errors []string `json:"errors"`
	// Jobs is how many jobs the tick queued (one poll per open or paused
	// campaign, and a release).
	Jobs int `json:"jobs"`
	// RetryAfter is when asking again makes sense: when River runs a
	// retrying job again; a tick period after a failure.
	RetryAfter time.Duration `json:"-"`
}

// TickNow runs one tick on the Runner made for s (NewRunner) and waits at
// most wait for its jobs (DefaultTickWait when wait ≤ 0): see Runner.Tick.
// Without a Runner it returns an errs Unavailable error.
func (s *Service) TickNow(ctx context.Context, wait time.Duration) (TickReport, error) {
	s.runnerMu.Lock()
	r := s.runner
	s.runnerMu.Unlock()
	if r == nil {
		return TickReport{}, &errs.Error{Kind: errs.Unavailable, Code: "no_job_queue", Message: "this server runs no job queue"}
	}
	return r.Tick(ctx, wait)
}

// rank orders tick states from best to worst.
var rank = map[string]int{TickCompleted: 0, TickRunning: 1, TickRetrying: 2, TickFailed: 3, TickDiscarded: 4}

// Tick runs one whole tick like RunOnce — completes ended campaigns, queues
// every campaign's poll and a release, waits for those jobs and then runs
// OnTick — but waits for the jobs at most wait (DefaultTickWait when
// wait ≤ 0; completing and queueing, and OnTick, have at least that long), and
// reports what happened instead of waiting through River's retries: state
// completed when every job ran; running when some had not finished by
// then; retrying when one failed and River will run it again; discarded
// when one failed for good (it answers at once then); failed when the jobs
// could not be queued or OnTick failed. Jobs still running or retrying go
// on after it answers. It returns an error only when ctx ends.
func (r *Runner) Tick(ctx context.Context, wait time.Duration) (TickReport, error) {
	if wait <= 0 {
		wait = DefaultTickWait
	}
	failed := func(err error) (TickReport, error) {
		if ctx.Err() != nil {
			return TickReport{}, ctx.Err()
		}
		return TickReport{State: TickFailed, Attempts: 1, Errors: []string{err.Error()}, RetryAfter: r.retryAfterFailure()}, nil
	}
	events, unsubscribe := r.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled, river.EventKindJobSnoozed)
	defer unsubscribe()
	// Completing ended campaigns (with their final reads) and queueing the
	// jobs is work, not waiting: it has at least DefaultTickWait.
	fctx, cancelFan := context.WithTimeout(ctx, max(wait, DefaultTickWait))
	jobs, err := r.s.fanOut(fctx, r.client)
	cancelFan()
	if err != nil {
		return failed(fmt.Errorf("queue the tick's jobs: %w", err))
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	latest := make(map[int64]*rivertype.JobRow, len(jobs))
	waiting := map[int64]bool{}
	for _, j := range jobs {
		latest[j.ID] = j
		if !final(j.State) {
			waiting[j.ID] = true
		}
	}
	check := time.NewTicker(20 * time.Millisecond)
	defer check.Stop()
wait:
	for len(waiting) > 0 && !anyDiscarded(latest) { // a discarded job decides the report
		here, changed := r.workedHere(waiting)
		for _, id := range here {
			done := *latest[id]
			done.State, done.Attempt = rivertype.JobStateCompleted, max(done.Attempt, 1)
			latest[id] = &done
			delete(waiting, id)
		}
		if len(waiting) == 0 {
			break
		}
		select {
		case <-changed:
		case <-wctx.Done():
			if ctx.Err() != nil {
				return TickReport{}, ctx.Err()
			}
			break wait
		case <-check.C:
			for id := range waiting {
				j, err := r.client.JobGet(wctx, id)
				if err != nil {
					if wctx.Err() != nil {
						continue // the wait is over; the report says what was known
					}
					return failed(fmt.Errorf("look up job %d: %w", id, err))
				}
				latest[id] = j
				if final(j.State) {
					delete(waiting, id)
				}
			}
		case ev, ok := <-events:
			if !ok {
				break wait
			}
			if ev.Job != nil && waiting[ev.Job.ID] {
				latest[ev.Job.ID] = ev.Job
				if final(ev.Job.State) {
					delete(waiting, ev.Job.ID)
				}
			}
		}
	}
	rep := TickReport{State: TickCompleted, Jobs: len(jobs), Errors: []string{}}
	first := true
	for _, j := range jobs {
		row := latest[j.ID]
		st := stateOf(row)
		if !first && rank[st] <= rank[rep.State] {
			continue
		}
		first = false
		rep.State, rep.JobID, rep.Kind, rep.Attempts = st, row.ID, row.Kind, row.Attempt
		rep.Errors = []string{}
		for _, e := range row.Errors {
			rep.Errors = append(rep.Errors, fmt.Sprintf("attempt %d: %s", e.Attempt, e.Error))
		}
		switch st {
		case TickRetrying:
			rep.RetryAfter = max(time.Until(row.ScheduledAt), time.Second)
		case TickDiscarded:
			rep.RetryAfter = r.retryAfterFailure()
		}
	}
	if rep.State != TickCompleted || r.opt.OnTick == nil {
		return rep, nil
	}
	// The after-tick work (payouts, auto marks) is work, not waiting, like
	// the fan-out: it gets DefaultTickWait of its own rather than what the
	// jobs left of the wait (which could be nothing).
	octx, cancelOn := context.WithTimeout(ctx, DefaultTickWait)
	defer cancelOn()
	if err := r.opt.OnTick(octx); err != nil {
		rep, _ := failed(fmt.Errorf("after the tick: %w", err))
		rep.Jobs = len(jobs)
		return rep, ctx.Err()
	}
	return rep, nil
}

// anyDiscarded reports whether a job gave up or was cancelled.
func anyDiscarded(rows map[int64]*rivertype.JobRow) bool {
	for _, j := range rows {
		if stateOf(j) == TickDiscarded {
			return true
		}
	}
	return false
}

// retryAfterFailure is how long to wait before ticking by hand again after
// a failure: a tick period, between 1 s and a minute.
func (r *Runner) retryAfterFailure() time.Duration {
	return min(max(r.opt.TickEvery, time.Second), time.Minute)
}

// final reports whether a job in state st will not run again.
func final(st rivertype.JobState) bool {
	return st == rivertype.JobStateCompleted || st == rivertype.JobStateCancelled || st == rivertype.JobStateDiscarded
}

// stateOf says what a job's row means for a tick's report.
func stateOf(j *rivertype.JobRow) string {
	switch {
	case j.State == rivertype.JobStateCompleted:
		return TickCompleted
	case j.State == rivertype.JobStateCancelled || j.State == rivertype.JobStateDiscarded:
		return TickDiscarded
	case j.State == rivertype.JobStateRetryable || len(j.Errors) > 0:
		return TickRetrying
	}
	return TickRunning
}
