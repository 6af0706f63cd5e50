package links

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
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
		go r.run()
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
