package links

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links/linkstest"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// seedLink inserts the minimum rows a click needs (a brand, a campaign, a
// creator and a link) and returns the link id.
func seedLink(t *testing.T, db *store.DB) string {
	t.Helper()
	ctx := context.Background()
	ident, err := identity.New(db, clock.System{}, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := ident.CreateBrand(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := ident.CreateCreator(ctx, "maria", "DE")
	if err != nil {
		t.Fatal(err)
	}
	campID, linkID := id.New("cmp"), id.New(Prefix)
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, brand_id, name, currency, budget, state, created_at, updated_at)
			VALUES ($1, $2, 'c', 'EUR', 1, 'draft', 0, 0)`, campID, b.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO links (`+linkCols+`) VALUES ($1, $2, $3, $4, 'bio', 'influencer', 'https://x.example/', 'maria', 'c', 0)`,
			linkID, id.Secret(5), campID, c.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return linkID
}

func clicksIn(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM clicks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func click(link string, i int) Click {
	return Click{LinkID: link, ClickID: id.Secret(10), At: clock.Micros(i), Visitor: fmt.Sprintf("v%d", i), Device: DeviceMobile}
}

// TestRecorderOverflowAndClose fills the buffer before the writer starts:
// the clicks beyond it are dropped and counted, the rest are all written in
// batches when the recorder closes, and clicks after Close are counted too.
func TestRecorderOverflowAndClose(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		link := seedLink(t, db)
		r := newRecorder(db, RecorderOptions{Buffer: 10, Batch: 3})
		reg := prometheus.NewRegistry()
		if err := r.RegisterMetrics(reg); err != nil {
			t.Fatal(err)
		}
		for i := range 13 {
			r.Record(click(link, i))
		}
		if r.Dropped() != 3 || metric(t, reg, "payper_clicks_dropped_total") != 3 {
			t.Fatalf("dropped %d, want 3", r.Dropped())
		}
		r.start()
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := clicksIn(t, db); n != 10 || r.Recorded() != 10 || metric(t, reg, "payper_clicks_recorded_total") != 10 {
			t.Fatalf("%d clicks stored, %d recorded, want 10", n, r.Recorded())
		}
		r.Record(click(link, 99))
		if r.Dropped() != 4 {
			t.Fatalf("a click after Close: dropped %d, want 4", r.Dropped())
		}
		if err := r.Flush(context.Background()); err != nil {
			t.Fatalf("flush after close: %v", err)
		}
	})
}

// TestRecorderConcurrent records from many goroutines with flushes in
// between and loses nothing.
func TestRecorderConcurrent(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		link := seedLink(t, db)
		r := NewRecorder(db, RecorderOptions{Batch: 50})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 250 {
					r.Record(click(link, g*1000+i))
				}
			})
		}
		wg.Wait()
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := clicksIn(t, db); n != 2000 {
			t.Fatalf("%d clicks after flush, want 2000", n)
		}
		for i := range 5 {
			r.Record(click(link, 5000+i))
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := clicksIn(t, db); n != 2005 || r.Dropped() != 0 {
			t.Fatalf("%d clicks after close (dropped %d), want 2005", n, r.Dropped())
		}
	})
}

// TestUniqueWindow decides uniqueness per link and visitor over an hour,
// ignoring bot clicks.
func TestUniqueWindow(t *testing.T) {
	t.Parallel()
	r := &Recorder{seen: map[string]int64{}}
	min := int64(60_000_000)
	cases := []struct {
		link, visitor string
		at            int64
		bot, want     bool
	}{
		{"a", "v1", 0, false, true},
		{"a", "v1", 5 * min, false, false},
		{"a", "v1", 5 * min, true, false},
		{"b", "v1", 5 * min, false, true},
		{"a", "v2", 6 * min, true, false},
		{"a", "v2", 7 * min, false, true},
		{"a", "v1", 60*min - 1, false, false},
		{"a", "v1", 60 * min, false, true},
		{"a", "v1", 119 * min, false, false},
		{"a", "v1", 120 * min, false, true},
	}
	for i, c := range cases {
		cl := Click{LinkID: c.link, Visitor: c.visitor, At: clock.Micros(c.at), Bot: c.bot}
		if got := r.unique(&cl); got != c.want {
			t.Errorf("case %d %+v: unique %v, want %v", i, c, got, c.want)
		}
	}
	r.sweep(200 * min)
	if len(r.seen) != 0 {
		t.Fatalf("sweep left %d windows", len(r.seen))
	}
}

func metric(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// linkedClick returns click i on link with the link's campaign, creator and
// placement, so that writing it adds to the rollups; even clicks are bots.
func linkedClick(t *testing.T, db *store.DB, link string, i int) Click {
	t.Helper()
	c := click(link, i)
	if err := db.Read().QueryRowContext(context.Background(), `SELECT campaign_id, creator_id, placement FROM links WHERE id = $1`, link).
		Scan(&c.CampaignID, &c.CreatorID, &c.Placement); err != nil {
		t.Fatal(err)
	}
	c.Bot = i%2 == 0
	return c
}

// checkStoredOnce fails t unless the clicks table holds exactly the clicks
// of want, each once, and the rollups count each once.
func checkStoredOnce(t *testing.T, db *store.DB, want []Click) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Read().QueryContext(ctx, `SELECT click_id FROM clicks`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got[id]++
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	var bots, humans int64
	for _, c := range want {
		if got[c.ClickID] != 1 {
			t.Fatalf("click %s stored %d times, want once", c.ClickID, got[c.ClickID])
		}
		if c.Bot {
			bots++
		} else {
			humans++
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d distinct clicks stored, want %d", len(got), len(want))
	}
	var rh, rb int64
	if err := db.Read().QueryRowContext(ctx, `SELECT COALESCE(SUM(clicks_human), 0), COALESCE(SUM(clicks_bot), 0) FROM rollups`).Scan(&rh, &rb); err != nil {
		t.Fatal(err)
	}
	if rh != humans || rb != bots {
		t.Fatalf("rollups count %d human and %d bot clicks, want %d and %d", rh, rb, humans, bots)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// flushUntilWritten flushes until a flush succeeds: a write attempt that
// began while the database refused clicks may still fail after it accepts
// them again. It gives up after 50 flushes.
func flushUntilWritten(t *testing.T, r *Recorder) {
	t.Helper()
	var err error
	for range 50 {
		if err = r.Flush(context.Background()); err == nil {
			return
		}
	}
	t.Fatalf("clicks still not written after 50 flushes: %v", err)
}

// TestRecorderKeepsClicksWhileWritesFail records clicks from several
// goroutines while the database refuses them: nothing is lost, Ready and
// the metrics say writes fail and how many clicks wait, and once the
// database takes writes again every click is stored exactly once and
// counted once in the rollups.
func TestRecorderKeepsClicksWhileWritesFail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		link := seedLink(t, db)
		var logs syncBuffer
		r := NewRecorder(db, RecorderOptions{Batch: 7, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(&logs, nil))})
		reg := prometheus.NewRegistry()
		if err := r.RegisterMetrics(reg); err != nil {
			t.Fatal(err)
		}
		if err := r.Ready(context.Background()); err != nil {
			t.Fatalf("ready before any write: %v", err)
		}
		restore := linkstest.RefuseClicks(t, db)
		const perG, gs = 40, 5
		want := make([]Click, perG*gs)
		for i := range want {
			want[i] = linkedClick(t, db, link, i)
		}
		var wg sync.WaitGroup
		for g := range gs {
			wg.Go(func() {
				for _, c := range want[g*perG : (g+1)*perG] {
					r.Record(c)
				}
			})
		}
		wg.Wait()
		if err := r.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "clicks refused") {
			t.Fatalf("flush while clicks are refused: %v, want the database's error", err)
		}
		err := r.Ready(context.Background())
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d clicks waiting", len(want))) {
			t.Fatalf("ready while writes fail: %v", err)
		}
		if p := gauge(t, reg, "payper_clicks_pending"); p != float64(len(want)) {
			t.Fatalf("pending gauge %v, want %d", p, len(want))
		}
		if s := gauge(t, reg, "payper_click_writes_failing_since_seconds"); s <= 0 {
			t.Fatalf("failing-since gauge %v while writes fail", s)
		}
		if f := metric(t, reg, "payper_click_write_failures_total"); f < 1 {
			t.Fatalf("write failures %v", f)
		}
		if n := clicksIn(t, db); n != 0 {
			t.Fatalf("%d clicks stored through a refusing database", n)
		}
		if !strings.Contains(logs.String(), "click writes failing") {
			t.Fatalf("no log line says writes fail:\n%s", logs.String())
		}
		restore()
		flushUntilWritten(t, r)
		checkStoredOnce(t, db, want)
		if err := r.Ready(context.Background()); err != nil {
			t.Fatalf("ready after recovery: %v", err)
		}
		if p, s := gauge(t, reg, "payper_clicks_pending"), gauge(t, reg, "payper_click_writes_failing_since_seconds"); p != 0 || s != 0 {
			t.Fatalf("after recovery: pending %v, failing since %v", p, s)
		}
		if r.Dropped() != 0 || r.Recorded() != int64(len(want)) {
			t.Fatalf("dropped %d, recorded %d, want 0 and %d", r.Dropped(), r.Recorded(), len(want))
		}
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "click writes recovered") {
			t.Fatalf("no log line says writes recovered:\n%s", logs.String())
		}
	})
}

// TestRecorderRetryAfterLostCommit makes writes commit but report a
// failure, as when the connection drops before the commit's answer: the
// retried batches are found stored and not written again.
func TestRecorderRetryAfterLostCommit(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		link := seedLink(t, db)
		r := newRecorder(db, RecorderOptions{Batch: 10, RetryMin: time.Millisecond, RetryMax: time.Millisecond,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		var lost atomic.Int64
		r.lostReply = func() bool { return lost.Add(1)%2 == 1 } // every other committed write
		want := make([]Click, 95)
		for i := range want {
			want[i] = linkedClick(t, db, link, i)
		}
		r.start()
		for _, c := range want {
			r.Record(c)
		}
		flushUntilWritten(t, r)
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if lost.Load() < 2 {
			t.Fatalf("only %d writes: no commit reply was lost", lost.Load())
		}
		checkStoredOnce(t, db, want)
		if r.Recorded() != int64(len(want)) || r.Dropped() != 0 {
			t.Fatalf("recorded %d, dropped %d", r.Recorded(), r.Dropped())
		}
	})
}

// TestRecorderDropsOldestBeyondMaxPending queues more clicks than
// MaxPending while nothing is written: the oldest batch goes, counted and
// logged, and the newest clicks are the ones stored.
func TestRecorderDropsOldestBeyondMaxPending(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		link := seedLink(t, db)
		var logs syncBuffer
		r := newRecorder(db, RecorderOptions{Batch: 5, MaxPending: 10, Log: slog.New(slog.NewTextHandler(&logs, nil))})
		reg := prometheus.NewRegistry()
		if err := r.RegisterMetrics(reg); err != nil {
			t.Fatal(err)
		}
		all := make([]Click, 15)
		for i := range all {
			all[i] = linkedClick(t, db, link, i)
		}
		for i := 0; i < len(all); i += 5 {
			r.enqueue(slices.Clone(all[i : i+5]))
		}
		if r.Dropped() != 5 || metric(t, reg, "payper_clicks_dropped_total") != 5 || r.Pending() != 10 {
			t.Fatalf("dropped %d, pending %d; want 5 and 10", r.Dropped(), r.Pending())
		}
		if !strings.Contains(logs.String(), "clicks lost") || !strings.Contains(logs.String(), "clicks=5") {
			t.Fatalf("no log line counts the dropped clicks:\n%s", logs.String())
		}
		r.start()
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		checkStoredOnce(t, db, all[5:])
	})
}

// TestRecorderCloseWhileWritesFail closes a recorder whose writes fail:
// with time left it keeps trying, and writes everything once the database
// takes writes again; when its context has ended it stops, and the clicks
// it could not write are counted as dropped, logged and returned as an error.
func TestRecorderCloseWhileWritesFail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		link := seedLink(t, db)
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		restore := linkstest.RefuseClicks(t, db)
		r := NewRecorder(db, RecorderOptions{RetryMin: time.Millisecond, RetryMax: time.Millisecond, Log: log})
		want := make([]Click, 30)
		for i := range want {
			want[i] = linkedClick(t, db, link, i)
			r.Record(want[i])
		}
		if err := r.Flush(context.Background()); err == nil {
			t.Fatal("flush succeeded while clicks are refused")
		}
		closed := make(chan error, 1)
		go func() { closed <- r.Close(context.Background()) }()
		restore()
		if err := <-closed; err != nil {
			t.Fatalf("close once writes succeed again: %v", err)
		}
		checkStoredOnce(t, db, want)

		restore = linkstest.RefuseClicks(t, db)
		defer restore()
		r2 := NewRecorder(db, RecorderOptions{RetryMin: time.Millisecond, RetryMax: time.Millisecond, Log: log})
		for i := range 12 {
			r2.Record(linkedClick(t, db, link, 100+i))
		}
		if err := r2.Flush(context.Background()); err == nil {
			t.Fatal("flush succeeded while clicks are refused")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := r2.Close(ctx)
		if err == nil || !strings.Contains(err.Error(), "12 clicks not written") {
			t.Fatalf("close that gave up: %v", err)
		}
		if r2.Dropped() != 12 || r2.Pending() != 0 {
			t.Fatalf("after giving up: dropped %d, pending %d", r2.Dropped(), r2.Pending())
		}
		if !strings.Contains(logs.String(), "not written at shutdown") {
			t.Fatalf("no log line names the clicks lost at shutdown:\n%s", logs.String())
		}
		checkStoredOnce(t, db, want)
	})
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
