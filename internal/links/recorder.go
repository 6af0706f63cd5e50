package links

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	Buffer     int           // clicks waiting to be written before new ones are dropped (65536)
	Batch      int           // clicks written per transaction at most (2000)
	FlushEvery time.Duration // longest a click waits for its batch (100ms)
	Log        *slog.Logger
}

// Recorder writes clicks in batches from a bounded buffer, so the redirect
// never waits for the database. When the buffer is full a click is dropped
// and counted. Uniqueness is decided here, in memory, per process: across
// several servers a visitor whose clicks land on different servers within
// the hour is counted unique once per server, so unique counts are then
// approximate (at most one per server too high).
type Recorder struct {
	db    *store.DB
	opt   RecorderOptions
	in    chan Click
	flush chan chan error
	done  chan struct{}
	stop  chan struct{}

	mu     sync.RWMutex // held for writing only by Close
	closed bool

	recorded, dropped, failed atomic.Int64
	recordedC, droppedC       prometheus.Counter

	// seen maps link id + visitor to the start of its unique window; only
	// the writer goroutine touches it.
	seen      map[string]int64
	lastSweep int64
}

var clickCols = []string{"link_id", "click_id", "at", "visitor", "country", "device", "referrer_host", "bot", "is_unique"}

// NewRecorder starts a recorder writing to db.
func NewRecorder(db *store.DB, opt RecorderOptions) *Recorder {
	r := newRecorder(db, opt)
	go r.run()
	return r
}

// newRecorder is NewRecorder without starting the writer (tests fill the
// buffer first).
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
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	r := &Recorder{db: db, opt: opt, in: make(chan Click, opt.Buffer), flush: make(chan chan error),
		done: make(chan struct{}), stop: make(chan struct{}), seen: map[string]int64{},
		recordedC: prometheus.NewCounter(prometheus.CounterOpts{Name: "payper_clicks_recorded_total", Help: "Clicks written to the database."}),
		droppedC:  prometheus.NewCounter(prometheus.CounterOpts{Name: "payper_clicks_dropped_total", Help: "Clicks lost: the click buffer was full, the recorder closed, or their batch failed to write."}),
	}
	_ = db.PrepareBulk(context.Background(), "clicks", clickCols)
	return r
}

// RegisterMetrics registers the recorded and dropped click counters on reg;
// it returns the registry's error when they are already registered.
func (r *Recorder) RegisterMetrics(reg prometheus.Registerer) error {
	if err := reg.Register(r.recordedC); err != nil {
		return fmt.Errorf("links: register metrics: %w", err)
	}
	if err := reg.Register(r.droppedC); err != nil {
		return fmt.Errorf("links: register metrics: %w", err)
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
// or a batch that failed to write).
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Flush writes every click queued before it was called and returns the
// first write error since the previous flush, or ctx's error.
func (r *Recorder) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case r.flush <- reply:
	case <-r.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops taking clicks, writes every queued one and stops the writer.
// Call it after the HTTP server has shut down; it returns ctx's error when
// the writing outlasts it, or a write error.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	already := r.closed
	r.closed = true
	r.mu.Unlock()
	if !already {
		close(r.stop)
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if n := r.failed.Load(); n > 0 {
		return fmt.Errorf("links: %d clicks failed to write", n)
	}
	return nil
}

func (r *Recorder) run() {
	defer close(r.done)
	batch := make([]Click, 0, r.opt.Batch)
	t := time.NewTicker(r.opt.FlushEvery)
	defer t.Stop()
	var pending error
	write := func() {
		if len(batch) == 0 {
			return
		}
		if err := r.write(batch); err != nil {
			pending = errors.Join(pending, err)
		}
		batch = batch[:0]
	}
	drain := func() {
		for {
			select {
			case c := <-r.in:
				batch = append(batch, c)
				if len(batch) == cap(batch) {
					write()
				}
			default:
				write()
				return
			}
		}
	}
	for {
		select {
		case c := <-r.in:
			batch = append(batch, c)
			if len(batch) == cap(batch) {
				write()
			}
		case <-t.C:
			write()
		case reply := <-r.flush:
			drain()
			reply <- pending
			pending = nil
		case <-r.stop:
			drain()
			return
		}
	}
}

// write decides uniqueness and inserts one batch in one transaction.
func (r *Recorder) write(batch []Click) error {
	rows := make([][]any, len(batch))
	var roll rollup.Batch
	for i := range batch {
		c := &batch[i]
		c.Unique = r.unique(c)
		rows[i] = []any{c.LinkID, c.ClickID, int64(c.At), c.Visitor, c.Country, c.Device, c.ReferrerHost, c.Bot, c.Unique}
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
	r.sweep(int64(batch[len(batch)-1].At))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.BulkInsert(ctx, "clicks", clickCols, rows); err != nil {
			return err
		}
		return roll.Flush(ctx, tx)
	})
	if err != nil {
		r.failed.Add(int64(len(batch)))
		r.drop(len(batch))
		r.opt.Log.Error("clicks lost: batch failed to write", "clicks", len(batch), "err", err)
		return fmt.Errorf("links: write %d clicks: %w", len(batch), err)
	}
	r.recorded.Add(int64(len(batch)))
	r.recordedC.Add(float64(len(batch)))
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
