package engage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/store"
)

// The loop's jobs, run by River on payper's own database (SQLite or
// PostgreSQL). Any number of servers sharing the database share the work:
// River hands each job to one of them, and billing's row locks make even a
// job run twice harmless.
//
//	engage_tick     periodic: completes ended campaigns, then enqueues one
//	                engage_poll per open or paused campaign and one
//	                engage_release
//	engage_poll     polls one campaign (PollCampaign)
//	engage_release  releases earnings whose holding period ended
//
// Every server queues the tick of each period (TickArgs.Slot); the queue
// keeps one job per slot. A job is unique only within its slot (polls and
// releases: within the tick's second), so one that a killed server left
// in state running — River rescues it only after RescueStuckJobsAfter —
// never holds back a later tick: billing is guarded by the marks rows'
// versions, not by the queue. Servers do not wait for River's leader
// election (a dead leader's lease lasts about 15 s) to tick after a
// restart.

// TickArgs is the periodic job that fans the loop out. Slot is the start of
// its period (unix milliseconds, wall clock): servers ticking in the same
// period share one job, and a job a killed server left behind never stands
// in for a later period's.
type TickArgs struct {
	Slot int64 `json:"slot"`
}

// Kind names the job.
func (TickArgs) Kind() string { return "engage_tick" }

// InsertOpts keeps one tick per slot, even once it completed (River's
// default unique states).
func (TickArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue, MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// PollArgs polls one campaign. At is the tick's time (the loop's clock,
// whole seconds): servers ticking in the same second share one job, and a
// job a stopped server left behind never stands in for a later tick.
type PollArgs struct {
	CampaignID string `json:"campaign_id"`
	At         int64  `json:"at"`
}

// Kind names the job.
func (PollArgs) Kind() string { return "engage_poll" }

// InsertOpts keeps one poll per campaign waiting at a time.
func (PollArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStateRunning}}}
}

// ReleaseArgs releases due earnings; At as in PollArgs.
type ReleaseArgs struct {
	At int64 `json:"at"`
}

// Kind names the job.
func (ReleaseArgs) Kind() string { return "engage_release" }

// InsertOpts keeps one release job waiting at a time.
func (ReleaseArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStateRunning}}}
}

const queue = "engage"

type tickWorker struct {
	river.WorkerDefaults[TickArgs]
	r *Runner
}

func (w *tickWorker) Work(ctx context.Context, job *river.Job[TickArgs]) error {
	if job.Args.Slot != 0 {
		// A tick that waited this long (a backed-up queue, or rescued from
		// a killed server) has later ticks queued behind it: they do its work.
		if age := time.Since(time.UnixMilli(job.Args.Slot)); age > max(2*w.r.opt.TickEvery, time.Minute) {
			w.r.s.log.Info("skipped a stale tick", "slot", time.UnixMilli(job.Args.Slot).UTC(), "age", age)
			return nil
		}
	}
	if _, err := w.r.s.fanOut(ctx, w.r.client); err != nil {
		return err
	}
	if w.r.opt.OnTick != nil {
		return w.r.opt.OnTick(ctx)
	}
	return nil
}

// queueClient is what the Runner uses of a River client, whatever its
// driver's transaction type.
type queueClient interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
	InsertMany(ctx context.Context, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

type pollWorker struct {
	river.WorkerDefaults[PollArgs]
	r *Runner
}

func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollArgs]) error {
	r, err := w.r.s.PollCampaign(ctx, job.Args.CampaignID)
	if err != nil {
		return err
	}
	w.r.worked(job.ID)
	if r.PostsRead > 0 || r.Deferred > 0 {
		w.r.s.log.Debug("polled campaign", "campaign", r.CampaignID, "read", r.PostsRead, "deferred", r.Deferred,
			"granted", r.Granted, "completed", r.Completed)
	}
	return nil
}

type releaseWorker struct {
	river.WorkerDefaults[ReleaseArgs]
	r *Runner
}

func (w *releaseWorker) Work(ctx context.Context, job *river.Job[ReleaseArgs]) error {
	if _, err := w.r.s.ReleaseDue(ctx); err != nil {
		return err
	}
	w.r.worked(job.ID)
	return nil
}

// fanOut completes ended campaigns and enqueues their polls and a release
// job, returning the jobs it inserted.
func (s *Service) fanOut(ctx context.Context, c queueClient) ([]*rivertype.JobRow, error) {
	if _, err := s.CompleteEnded(ctx); err != nil {
		return nil, err
	}
	camps, err := s.campaigns.InState(ctx, campaign.StateOpen, campaign.StatePaused)
	if err != nil {
		return nil, err
	}
	at := s.clock.Now().Unix()
	params := make([]river.InsertManyParams, 0, len(camps)+1)
	for _, cp := range camps {
		params = append(params, river.InsertManyParams{Args: PollArgs{CampaignID: cp.ID, At: at}})
	}
	params = append(params, river.InsertManyParams{Args: ReleaseArgs{At: at}})
	res, err := c.InsertMany(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("engage: enqueue polls: %w", err)
	}
	rows := make([]*rivertype.JobRow, len(res))
	for i, r := range res {
		rows[i] = r.Job
	}
	return rows, nil
}

// Runner runs the loop's jobs on River.
type Runner struct {
	s      *Service
	client queueClient
	opt    RunnerOptions

	// stopTicks ends the loop that queues the periodic ticks; ticksDone is
	// closed when it has.
	stopTicks context.CancelFunc
	ticksDone chan struct{}

	// River records a finished job a little later, in batches; RunOnce
	// learns from this server's own workers at once.
	mu      sync.Mutex
	done    map[int64]bool
	changed chan struct{} // closed and replaced whenever done grows
}

// worked records that this server's worker finished job id successfully.
func (r *Runner) worked(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.done) > 10_000 {
		clear(r.done)
	}
	r.done[id] = true
	close(r.changed)
	r.changed = make(chan struct{})
}

// workedHere reports which of ids this server's workers finished, and a
// channel closed when that may have changed.
func (r *Runner) workedHere(ids map[int64]bool) ([]int64, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []int64
	for id := range ids {
		if r.done[id] {
			out = append(out, id)
		}
	}
	return out, r.changed
}

// RunnerOptions tune the Runner.
type RunnerOptions struct {
	// TickEvery is how often the periodic tick runs (default: the poll
	// interval, at most one minute). Posts are read when due, whatever the
	// tick rate.
	TickEvery time.Duration
	// Workers is how many jobs one server runs at once (default 4).
	Workers int
	// NoPeriodic leaves the periodic tick out (tests and the demo tick by hand).
	NoPeriodic bool
	// Log receives River's logs (slog.Default() when nil).
	Log *slog.Logger
	// OnTick, when set, runs in each tick after the polls are queued (the
	// optimize loop's 14- and 30-day marks); its error fails the tick.
	OnTick func(ctx context.Context) error
}

// Migrate creates or updates River's tables in db.
func Migrate(ctx context.Context, db *store.DB) error {
	var err error
	if db.Dialect() == store.Postgres {
		pool, perr := db.PgxPool(ctx)
		if perr != nil {
			return perr
		}
		var m *rivermigrate.Migrator[pgx.Tx]
		if m, err = rivermigrate.New(riverpgxv5.New(pool), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	} else {
		var m *rivermigrate.Migrator[*sql.Tx]
		if m, err = rivermigrate.New(riversqlite.New(db.Writer()), nil); err == nil {
			_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		}
	}
	if err != nil {
		return fmt.Errorf("engage: migrate the job queue: %w", err)
	}
	return nil
}

// NewRunner returns a Runner for s on db. Call Migrate first.
func NewRunner(ctx context.Context, s *Service, db *store.DB, o RunnerOptions) (*Runner, error) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.TickEvery <= 0 {
		o.TickEvery = min(s.cfg.PollInterval, time.Minute)
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	r := &Runner{s: s, opt: o, done: map[int64]bool{}, changed: make(chan struct{})}
	workers := river.NewWorkers()
	river.AddWorker(workers, &tickWorker{r: r})
	river.AddWorker(workers, &pollWorker{r: r})
	river.AddWorker(workers, &releaseWorker{r: r})
	cfg := &river.Config{
		Queues:  map[string]river.QueueConfig{queue: {MaxWorkers: o.Workers}},
		Workers: workers,
		Logger:  o.Log,
		// SQLite has no LISTEN/NOTIFY: River polls for new jobs, and a
		// tick's poll jobs wait up to this long to start. PostgreSQL is
		// notified at once and polls only as a fallback.
		FetchPollInterval: 50 * time.Millisecond,
		FetchCooldown:     20 * time.Millisecond,
		JobTimeout:        jobTimeout,
		// A job still running this long after it started belongs to a
		// server that died (a live one's job is cancelled at JobTimeout):
		// River makes it retryable (River's default is an hour more).
		RescueStuckJobsAfter: jobTimeout + 5*time.Minute,
	}
	var err error
	if db.Dialect() == store.Postgres {
		pool, perr := db.PgxPool(ctx)
		if perr != nil {
			return nil, perr
		}
		r.client, err = river.NewClient(riverpgxv5.New(pool), cfg)
	} else {
		r.client, err = river.NewClient(riversqlite.New(db.Writer()), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("engage: job queue: %w", err)
	}
	s.runnerMu.Lock()
	s.runner = r
	s.runnerMu.Unlock()
	return r, nil
}

// jobTimeout is how long a job may run before its context is cancelled.
const jobTimeout = 10 * time.Minute

// Start starts working jobs until Stop and, unless NoPeriodic, queues the
// periodic tick: at once, then at the start of every TickEvery period.
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("engage: start the job queue: %w", err)
	}
	if !r.opt.NoPeriodic && r.stopTicks == nil {
		tctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		r.stopTicks, r.ticksDone = stop, make(chan struct{})
		go r.queueTicks(tctx)
	}
	return nil
}

// queueTicks queues the tick of the current period now and of each next
// period when it starts, until ctx ends. Every server does: the queue keeps
// one job per period (TickArgs.Slot).
func (r *Runner) queueTicks(ctx context.Context) {
	defer close(r.ticksDone)
	for {
		now := time.Now()
		slot := now.Truncate(r.opt.TickEvery)
		if _, err := r.client.InsertMany(ctx, []river.InsertManyParams{{Args: TickArgs{Slot: slot.UnixMilli()}}}); err != nil && ctx.Err() == nil {
			r.opt.Log.Warn("engage: queue the periodic tick", "slot", slot.UTC(), "err", err)
		}
		t := time.NewTimer(slot.Add(r.opt.TickEvery).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// Stop stops queueing ticks, waits for running jobs to finish (or ctx to
// end) and stops.
func (r *Runner) Stop(ctx context.Context) error {
	if r.stopTicks != nil {
		r.stopTicks()
		<-r.ticksDone
		r.stopTicks = nil
	}
	if err := r.client.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("engage: stop the job queue: %w", err)
	}
	return nil
}

// RunOnce runs one whole tick through the queue — the fan-out, every
// campaign's poll and the release — and waits until those jobs have run. The
// Runner must be started; OnTick runs last. It is what the demo and the
// benchmark drive.
func (r *Runner) RunOnce(ctx context.Context) error {
	events, cancel := r.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobCancelled, river.EventKindJobSnoozed)
	defer cancel()
	jobs, err := r.s.fanOut(ctx, r.client)
	if err != nil {
		return err
	}
	waiting := map[int64]bool{}
	for _, j := range jobs {
		if j.State != rivertype.JobStateCompleted {
			waiting[j.ID] = true
		}
	}
	// Events come only for jobs this client works; a poll already queued by
	// another server (the same unique job) finishes there, so the wait also
	// looks the jobs up.
	check := time.NewTicker(20 * time.Millisecond)
	defer check.Stop()
	var failed []string
	for len(waiting) > 0 {
		here, changed := r.workedHere(waiting)
		for _, id := range here {
			delete(waiting, id)
		}
		if len(waiting) == 0 {
			break
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-check.C:
			for id := range waiting {
				j, err := r.client.JobGet(ctx, id)
				if err != nil {
					return fmt.Errorf("engage: look up job %d: %w", id, err)
				}
				if err := finished(j, waiting); err != nil {
					return err
				}
			}
		case ev, ok := <-events:
			if !ok {
				return errors.New("engage: job queue stopped")
			}
			if ev.Job == nil || !waiting[ev.Job.ID] {
				continue
			}
			if ev.Kind == river.EventKindJobFailed && ev.Job.State == rivertype.JobStateRetryable {
				failed = append(failed, fmt.Sprintf("%s %d: %v", ev.Job.Kind, ev.Job.ID, lastError(ev.Job)))
				continue // River retries it; keep waiting
			}
			if err := finished(ev.Job, waiting); err != nil {
				return fmt.Errorf("%w (earlier failures: %v)", err, failed)
			}
		}
	}
	if r.opt.OnTick != nil {
		return r.opt.OnTick(ctx)
	}
	return nil
}

// finished drops j from waiting once it reached a final state, and returns
// an error when that state is not completed.
func finished(j *rivertype.JobRow, waiting map[int64]bool) error {
	switch j.State {
	case rivertype.JobStateCompleted:
		delete(waiting, j.ID)
	case rivertype.JobStateCancelled, rivertype.JobStateDiscarded:
		delete(waiting, j.ID)
		return fmt.Errorf("engage: job %s %d ended %s: %v", j.Kind, j.ID, j.State, lastError(j))
	}
	return nil
}

func lastError(j *rivertype.JobRow) string {
	if len(j.Errors) == 0 {
		return ""
	}
	return j.Errors[len(j.Errors)-1].Error
}
