package links

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// Click is one recorded click.
type Click struct {
	LinkID       string
	ClickID      string
	At           clock.Micros
	Visitor      string // VisitorHash
	Country      string
	Device       string
	ReferrerHost string
	Bot          bool
	// Unique is decided by the recorder: the visitor's first human click on
	// the link within UniqueWindow.
	Unique bool
	// CampaignID, CreatorID and Placement are the link's, for the rollups
	// (not stored with the click).
	CampaignID, CreatorID, Placement string
}

// UniqueWindow is how long a visitor's clicks on one link after a unique one
// are not unique.
const UniqueWindow = time.Hour

// RecorderOptions tune a Recorder; zero fields take the defaults.
type RecorderOptions struct {
	Buffer     int           // clicks handed over by redirects and not yet batched, before new ones are dropped (65536)
	Batch      int           // clicks written per transaction at most (2000)
	FlushEvery time.Duration // longest a click waits for its batch (100ms)
	// MaxPending bounds the clicks batched but not yet written (1,000,000,
	// about 250 MB): while writes fail, batches wait for a retry and new
	// ones queue behind them. Beyond it the oldest waiting batches are
	// dropped, counted and logged. At least Batch.
	MaxPending int
	// RetryMin and RetryMax bound the wait between attempts to write a
	// batch whose write failed: RetryMin after the first failure, doubling
	// up to RetryMax (100ms, 30s).
	RetryMin, RetryMax time.Duration
	Log                *slog.Logger
}

// Recorder writes clicks in batches, so the redirect never waits for the
// database. A redirect's click goes into a bounded buffer (when it is full
// the click is dropped and counted); a batcher takes clicks from it, decides
// their uniqueness and queues them in batches; a writer writes the batches
// in order, one transaction each. A batch whose write fails stays queued and
// is tried again with a capped exponential backoff, and the batches behind
// it wait, up to MaxPending clicks; beyond that the oldest are dropped.
// A batch is written at most once: a retried batch is first looked up by
// its first click, since a failed commit may have committed (a transaction
// holds the whole batch, so one click stands for all). While writes fail,
// Ready says so and the metrics show since when and how many clicks wait.
//
// Uniqueness is decided here, in memory, per process: across several
// servers a visitor whose clicks land on different servers within the hour
// is counted unique once per server, so unique counts are then approximate
// (at most one per server too high).
type Recorder struct {
	db  *store.DB
	opt RecorderOptions
	in  chan Click
	// flush asks the batcher to batch every click handed over so far; it
	// answers with the seq of the newest queued batch.
	flush   chan chan uint64
	stop    chan struct{} // closed by Close: batch what is left, then stop
	batched chan struct{} // closed by the batcher when it stops
	done    chan struct{} // closed by the writer when it stops
	work    chan struct{} // (1) a batch was queued
	retry   chan struct{} // (1) Flush or Close wants an attempt now, not after the backoff
	// life is cancelled when Close gives up waiting: the writer stops.
	life    context.Context
	abandon context.CancelFunc

	mu     sync.RWMutex // held for writing only by Close
	closed bool

	// The batches waiting to be written, oldest first, and what the
	// writer last saw; guarded by qmu.
	qmu          sync.Mutex
	q            []*pending
	nq           int           // clicks in q
	seq          uint64        // the newest batch's seq
	changed      chan struct{} // closed and replaced when q shrinks or a write fails
	failures     int64         // failed writes so far
	failingSince time.Time     // zero when the last write succeeded
	lastErr      error         // the last write's error; nil when it succeeded
	failErr      error         // the last failed write's error
	free         [][]Click     // emptied buffers of written batches, for new ones
	unlogged     int           // clicks dropped from q since the last log line
	lastDropLog  time.Time

	recorded, dropped                   atomic.Int64
	recordedC, droppedC, writeFailuresC prometheus.Counter
	pendingG, failingG                  prometheus.GaugeFunc

	// seen maps link id + visitor to the start of its unique window; only
	// the batcher touches it.
	seen      map[string]int64
	lastSweep int64

	// lostReply, when set by a test, makes a write that committed report
	// a failure, as when the connection drops before the commit's answer.
	lostReply func() bool
}

// maxFree is how many emptied batch buffers are kept for reuse.
const maxFree = 4

// pending is one batch waiting to be written.
type pending struct {
	seq    uint64
	clicks []Click
	busy   bool // the writer is writing it
	tried  bool // a write failed: it may have committed anyway
}

var clickCols = []string{"link_id", "click_id", "at", "visitor", "country", "device", "referrer_host", "bot", "is_unique"}

// NewRecorder starts a recorder writing to db.
func NewRecorder(db *store.DB, opt RecorderOptions) *Recorder {
	r := newRecorder(db, opt)
	r.start()
	return r
}

// newRecorder is NewRecorder without starting the batcher and the writer
// (tests fill the buffer first).
func newRecorder(db *store.DB, opt RecorderOptions) *Recorder {
	if opt.Buffer <= 0 {
		opt.Buffer = 65536
	}
	if opt.Batch <= 0 {
		opt.Batch = 2000
	}
	if opt.FlushEvery <= 0 {
		opt.FlushEvery = 100 * time.Millisecond
	}
	if opt.MaxPending <= 0 {
		opt.MaxPending = 1_000_000
	}
	opt.MaxPending = max(opt.MaxPending, opt.Batch)
	if opt.RetryMin <= 0 {
		opt.RetryMin = 100 * time.Millisecond
	}
	if opt.RetryMax <= 0 {
		opt.RetryMax = 30 * time.Second
	}
	opt.RetryMax = max(opt.RetryMax, opt.RetryMin)
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	life, abandon := context.WithCancel(context.Background())
	r := &Recorder{db: db, opt: opt, in: make(chan Click, opt.Buffer), flush: make(chan chan uint64),
		stop: make(chan struct{}), batched: make(chan struct{}), done: make(chan struct{}),
		work: make(chan struct{}, 1), retry: make(chan struct{}, 1), life: life, abandon: abandon,
		changed: make(chan struct{}), seen: map[string]int64{},
		recordedC: prometheus.NewCounter(prometheus.CounterOpts{Name: "payper_clicks_recorded_total", Help: "Clicks written to the database."}),
		droppedC: prometheus.NewCounter(prometheus.CounterOpts{Name: "payper_clicks_dropped_total",
			Help: "Clicks lost: the click buffer was full, the recorder was closed, more clicks waited for a retry than the recorder keeps (the oldest go), or they were still unwritten at shutdown."}),
		writeFailuresC: prometheus.NewCounter(prometheus.CounterOpts{Name: "payper_click_write_failures_total",
			Help: "Attempts to write a batch of clicks that failed; the batch is kept and tried again."}),
	}
	r.pendingG = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "payper_clicks_pending",
		Help: "Clicks batched and not yet written (they wait for a retry while writes fail)."},
		func() float64 { return float64(r.Pending()) })
	r.failingG = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "payper_click_writes_failing_since_seconds",
		Help: "Unix time of the first of the click writes failing now; 0 while they succeed."},
		func() float64 {
			if since := r.FailingSince(); !since.IsZero() {
				return float64(since.UnixNano()) / 1e9
			}
			return 0
		})
	_ = db.PrepareBulk(context.Background(), "clicks", clickCols)
	return r
}

func (r *Recorder) start() {
	go r.run()
	go r.writeLoop()
}

// RegisterMetrics registers the recorder's counters and gauges on reg; it
// returns the registry's error when they are already registered.
func (r *Recorder) RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{r.recordedC, r.droppedC, r.writeFailuresC, r.pendingG, r.failingG} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("links: register metrics: %w", err)
		}
	}
	return nil
}

// Record queues a click without blocking; when the buffer is full, or the
// recorder is closed, the click is dropped and counted.
func (r *Recorder) Record(c Click) {
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		r.drop(1)
		return
	}
	select {
	case r.in <- c:
		r.mu.RUnlock()
	default:
		r.mu.RUnlock()
		r.drop(1)
	}
}

func (r *Recorder) drop(n int) {
	r.dropped.Add(int64(n))
	r.droppedC.Add(float64(n))
}

// Recorded returns how many clicks have been written.
func (r *Recorder) Recorded() int64 { return r.recorded.Load() }

// Dropped returns how many clicks were lost (buffer full, recorder closed,
// over MaxPending while writes failed, or unwritten at shutdown).
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Pending returns how many clicks are batched and not yet written.
func (r *Recorder) Pending() int {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	return r.nq
}

// FailingSince returns when the click writes failing now began to fail, or
// the zero time when the last write succeeded.
func (r *Recorder) FailingSince() time.Time {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	return r.failingSince
}

// Ready returns nil while clicks are written, and an error saying since when
// and how many clicks wait while writes fail (for /readyz).
func (r *Recorder) Ready(context.Context) error {
	r.qmu.Lock()
	since, n := r.failingSince, r.nq
	r.qmu.Unlock()
	if since.IsZero() {
		return nil
	}
	return fmt.Errorf("click writes failing since %s; %d clicks waiting to be written", since.UTC().Format(time.RFC3339), n)
}

// Flush writes every click handed over before it was called. It returns
// nil once they are written, the write error when an attempt to write them
// fails (they stay queued and are tried again), an error when the recorder
// stopped before writing them, or ctx's error.
func (r *Recorder) Flush(ctx context.Context) error {
	reply := make(chan uint64, 1)
	select {
	case r.flush <- reply:
	case <-r.batched:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	var target uint64
	select {
	case target = <-reply:
	case <-ctx.Done():
		return ctx.Err()
	}
	r.qmu.Lock()
	failures := r.failures
	r.qmu.Unlock()
	poke(r.retry)
	for {
		r.qmu.Lock()
		written := len(r.q) == 0 || r.q[0].seq > target
		failed, err, changed := r.failures > failures, r.failErr, r.changed
		r.qmu.Unlock()
		switch {
		case written:
			return nil
		case failed:
			return err
		}
		select {
		case <-changed:
		case <-r.done:
			if r.Pending() > 0 {
				return fmt.Errorf("links: the recorder stopped with clicks unwritten")
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops taking clicks and writes every queued one, retrying failed
// writes until ctx ends; then it stops. Call it after the HTTP server has
// shut down. It returns nil when every click was written, or an error
// (the clicks left are counted as dropped and logged).
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already {
		close(r.stop)
	}
	poke(r.retry)
	var gaveUp error
	select {
	case <-r.done:
	case <-ctx.Done():
		gaveUp = ctx.Err()
		r.abandon()
		<-r.done
	}
	r.qmu.Lock()
	n, last := r.nq, r.lastErr
	r.q, r.nq = nil, 0
	r.qmu.Unlock()
	if n == 0 {
		return nil
	}
	r.drop(n)
	r.opt.Log.Error("clicks lost: not written at shutdown", "clicks", n, "err", last, "gave_up", gaveUp)
	return fmt.Errorf("links: %d clicks not written at shutdown: %w", n, errors.Join(gaveUp, last))
}

// poke wakes whoever waits on c without blocking.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// run is the batcher: it takes clicks from the buffer and queues them in
// batches of at most Batch, every FlushEvery, on Flush and on Close. It
// looks at the buffer every 10 ms (or FlushEvery, when shorter) and takes
// its clicks early when a batch's worth waits, rather than waking for each
// click: a redirect's send then never has to wake it.
func (r *Recorder) run() {
	defer close(r.batched)
	batch := make([]Click, 0, r.opt.Batch)
	t := time.NewTicker(min(r.opt.FlushEvery, 10*time.Millisecond))
	defer t.Stop()
	last := time.Now()
	drain := func() {
		for {
			select {
			case c := <-r.in:
				batch = append(batch, c)
				if len(batch) == cap(batch) {
					r.enqueue(batch)
					batch = batch[:0]
				}
			default:
				if len(batch) > 0 {
					r.enqueue(batch)
					batch = batch[:0]
				}
				return
			}
		}
	}
	for {
		select {
		case now := <-t.C:
			if len(r.in) >= r.opt.Batch || now.Sub(last) >= r.opt.FlushEvery {
				drain()
				last = now
			}
		case reply := <-r.flush:
			drain()
			r.qmu.Lock()
			reply <- r.seq
			r.qmu.Unlock()
		case <-r.stop:
			drain()
			return
		}
	}
}

// enqueue decides the uniqueness of a batch's clicks and queues a copy of
// it, joined to the newest queued batch when that one is waiting, untried
// and has room; then it drops the oldest batches beyond MaxPending.
func (r *Recorder) enqueue(batch []Click) {
	for i := range batch {
		batch[i].Unique = r.unique(&batch[i])
	}
	r.sweep(int64(batch[len(batch)-1].At))
	r.qmu.Lock()
	if n := len(r.q); n > 0 && !r.q[n-1].busy && !r.q[n-1].tried && len(r.q[n-1].clicks)+len(batch) <= r.opt.Batch {
		r.q[n-1].clicks = append(r.q[n-1].clicks, batch...)
	} else {
		var buf []Click
		if n := len(r.free); n > 0 {
			buf, r.free = r.free[n-1], r.free[:n-1]
		} else {
			buf = make([]Click, 0, r.opt.Batch)
		}
		r.seq++
		r.q = append(r.q, &pending{seq: r.seq, clicks: append(buf, batch...)})
	}
	r.nq += len(batch)
	lost := 0
	for r.nq > r.opt.MaxPending {
		i := 0
		if r.q[0].busy {
			i = 1
		}
		if i >= len(r.q) {
			break
		}
		n := len(r.q[i].clicks)
		r.q = slices.Delete(r.q, i, i+1)
		r.nq -= n
		lost += n
	}
	var logNow int
	if lost > 0 {
		r.unlogged += lost
		if now := time.Now(); now.Sub(r.lastDropLog) >= 10*time.Second {
			logNow, r.unlogged, r.lastDropLog = r.unlogged, 0, now
		}
	}
	waiting, last := r.nq, r.lastErr
	r.qmu.Unlock()
	poke(r.work)
	if lost > 0 {
		r.drop(lost)
	}
	if logNow > 0 {
		r.opt.Log.Error("clicks lost: more clicks wait to be written than the recorder keeps; the oldest were dropped",
			"clicks", logNow, "waiting", waiting, "max_pending", r.opt.MaxPending, "err", last)
	}
}

// writeLoop is the writer: it writes the queued batches oldest first, and
// after a failed write waits (RetryMin, doubling up to RetryMax; at most a
// second once Close was called) before trying the same batch again. It
// stops when the batcher has stopped and the queue is empty, or when Close
// gives up.
func (r *Recorder) writeLoop() {
	defer close(r.done)
	var wait time.Duration
	for {
		b := r.next()
		if b == nil {
			select {
			case <-r.work:
			case <-r.retry:
			case <-r.batched:
				if r.Pending() == 0 {
					return
				}
			case <-r.life.Done():
				return
			}
			continue
		}
		err := r.write(b)
		r.settle(b, err, wait)
		if err == nil {
			wait = 0
			continue
		}
		if r.life.Err() != nil {
			return
		}
		wait = min(max(2*wait, r.opt.RetryMin), r.opt.RetryMax)
		d := wait
		select {
		case <-r.stop:
			d = min(d, time.Second)
		default:
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.retry:
		case <-r.life.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

// next marks the oldest queued batch busy and returns it, or nil.
func (r *Recorder) next() *pending {
	r.qmu.Lock()
	defer r.qmu.Unlock()
	if len(r.q) == 0 {
		return nil
	}
	r.q[0].busy = true
	return r.q[0]
}

// settle records the outcome of writing b: written, it leaves the queue;
// failed, it stays, marked tried. wait is the backoff before this attempt.
func (r *Recorder) settle(b *pending, err error, wait time.Duration) {
	r.qmu.Lock()
	b.busy = false
	var since time.Time
	first := false
	if err == nil {
		if i := slices.Index(r.q, b); i >= 0 {
			r.q = slices.Delete(r.q, i, i+1)
			r.nq -= len(b.clicks)
		}
		if cap(b.clicks) == r.opt.Batch && len(r.free) < maxFree {
			clear(b.clicks)
			r.free = append(r.free, b.clicks[:0])
		}
		since, r.failingSince, r.lastErr = r.failingSince, time.Time{}, nil
	} else {
		b.tried = true
		r.failures++
		r.lastErr, r.failErr = err, err
		if r.failingSince.IsZero() {
			r.failingSince, first = time.Now(), true
		}
	}
	waiting := r.nq
	// The counters and the log say what happened before anyone waiting on
	// changed (Flush) is told, so what Flush returns is already counted.
	switch {
	case err == nil:
		r.recorded.Add(int64(len(b.clicks)))
		r.recordedC.Add(float64(len(b.clicks)))
		if !since.IsZero() {
			r.opt.Log.Info("click writes recovered", "failing_for", time.Since(since).Round(time.Millisecond), "waiting", waiting)
		}
	case first:
		r.writeFailuresC.Inc()
		r.opt.Log.Error("click writes failing: the clicks are kept and written again later", "clicks", len(b.clicks), "waiting", waiting, "err", err)
	default:
		r.writeFailuresC.Inc()
		r.opt.Log.Warn("click write failed again", "clicks", len(b.clicks), "waiting", waiting, "waited", wait, "err", err)
	}
	close(r.changed)
	r.changed = make(chan struct{})
	r.qmu.Unlock()
}

// write inserts one batch and adds it to the rollups, in one transaction.
// A batch tried before is first looked up by its first click: when that
// one is stored, the earlier attempt committed and nothing is written.
func (r *Recorder) write(b *pending) error {
	rows := make([][]any, len(b.clicks))
	vals := make([]any, len(b.clicks)*len(clickCols))
	var roll rollup.Batch
	for i := range b.clicks {
		c := &b.clicks[i]
		row := vals[i*len(clickCols) : (i+1)*len(clickCols) : (i+1)*len(clickCols)]
		row[0], row[1], row[2], row[3], row[4] = c.LinkID, c.ClickID, int64(c.At), c.Visitor, c.Country
		row[5], row[6], row[7], row[8] = c.Device, c.ReferrerHost, c.Bot, c.Unique
		rows[i] = row
		if c.CampaignID == "" {
			continue
		}
		k := rollup.Key{Campaign: c.CampaignID, Creator: c.CreatorID, Placement: c.Placement, Day: rollup.DayOf(int64(c.At))}
		switch {
		case c.Bot:
			roll.Add(k, rollup.ClicksBot, 1)
		case c.Unique:
			roll.Add(k, rollup.ClicksHuman, 1)
			roll.Add(k, rollup.ClicksUnique, 1)
		default:
			roll.Add(k, rollup.ClicksHuman, 1)
		}
	}
	ctx, cancel := context.WithTimeout(r.life, 30*time.Second)
	defer cancel()
	err := r.db.WithTx(ctx, func(tx *store.Tx) error {
		if b.tried {
			first := b.clicks[0]
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM clicks WHERE link_id = $1 AND at = $2 AND click_id = $3`,
				first.LinkID, int64(first.At), first.ClickID).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
		}
		if err := tx.BulkInsert(ctx, "clicks", clickCols, rows); err != nil {
			return err
		}
		return roll.Flush(ctx, tx)
	})
	if err == nil && r.lostReply != nil && r.lostReply() {
		err = errors.New("the connection dropped before the commit's answer (test)")
	}
	if err != nil {
		return fmt.Errorf("links: write %d clicks: %w", len(b.clicks), err)
	}
	return nil
}

// unique reports whether c opens a new unique window: a human click with no
// unique click of the same visitor on the same link in the UniqueWindow
// before it.
func (r *Recorder) unique(c *Click) bool {
	if c.Bot {
		return false
	}
	key := c.LinkID + "|" + c.Visitor
	if start, ok := r.seen[key]; ok && int64(c.At)-start < UniqueWindow.Microseconds() {
		return false
	}
	r.seen[key] = int64(c.At)
	return true
}

// sweep forgets unique windows that have ended, at most once a minute.
func (r *Recorder) sweep(now int64) {
	if now-r.lastSweep < time.Minute.Microseconds() {
		return
	}
	r.lastSweep = now
	for k, start := range r.seen {
		if now-start >= UniqueWindow.Microseconds() {
			delete(r.seen, k)
		}
	}
}
