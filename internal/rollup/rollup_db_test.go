package rollup_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestFlushKeepsDayTotals (both stores): after many flushes — several
// campaigns, creators, placements and days, claw-backs that cancel a day
// out — every (campaign, day) row of rollup_days is the sum of that day's
// rollups to the unit, and a day whose deltas cancel adds no row.
func TestFlushKeepsDayTotals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(1, 2))
		for range 40 {
			var b rollup.Batch
			for range 1 + rng.IntN(80) {
				k := rollup.Key{Campaign: fmt.Sprintf("cmp_%d", rng.IntN(3)), Creator: fmt.Sprintf("crt_%d", rng.IntN(7)),
					Placement: []string{"", "story", "ad_a"}[rng.IntN(3)], Day: 20_000 + int64(rng.IntN(20))}
				b.Add(k, rollup.Col(rng.IntN(int(rollup.NumCols))), rng.Int64N(5_000_000)-1_000_000)
			}
			if err := db.WithTx(ctx, func(tx *store.Tx) error { return b.Flush(ctx, tx) }); err != nil {
				t.Fatal(err)
			}
		}
		// A day whose deltas cancel within one flush: no day total.
		var c rollup.Batch
		c.Add(rollup.Key{Campaign: "cmp_x", Creator: "crt_1", Day: 19_000}, rollup.Fees, 7)
		c.Add(rollup.Key{Campaign: "cmp_x", Creator: "crt_2", Day: 19_000}, rollup.Fees, -7)
		if err := db.WithTx(ctx, func(tx *store.Tx) error { return c.Flush(ctx, tx) }); err != nil {
			t.Fatal(err)
		}
		sums := make([]string, len(rollup.Cols))
		for i, c := range rollup.Cols {
			sums[i] = "SUM(" + c + ")"
		}
		read := func(q string) map[string][]int64 {
			out := map[string][]int64{}
			rows, err := db.Read().QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var camp string
				var day int64
				v := make([]int64, rollup.NumCols)
				dest := []any{&camp, &day}
				for i := range v {
					dest = append(dest, &v[i])
				}
				if err := rows.Scan(dest...); err != nil {
					t.Fatal(err)
				}
				out[fmt.Sprint(camp, "/", day)] = v
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		}
		want := read(`SELECT campaign_id, day, ` + strings.Join(sums, ", ") + ` FROM rollups GROUP BY campaign_id, day`)
		got := read(`SELECT campaign_id, day, ` + strings.Join(rollup.Cols[:], ", ") + ` FROM rollup_days`)
		zero := make([]int64, rollup.NumCols)
		if w := want["cmp_x/19000"]; w == nil || fmt.Sprint(w) != fmt.Sprint(zero) {
			t.Fatalf("rollups of the cancelling day: %v", w)
		}
		delete(want, "cmp_x/19000")
		if len(want) < 50 || len(got) != len(want) {
			t.Fatalf("%d day totals for %d days of rollups", len(got), len(want))
		}
		for k, w := range want {
			g, ok := got[k]
			if !ok {
				t.Fatalf("no day total for %s", k)
			}
			for i := range w {
				if g[i] != w[i] {
					t.Errorf("%s %s: day total %d, rollups sum to %d", k, rollup.Cols[i], g[i], w[i])
				}
			}
		}
		if _, ok := got["cmp_x/19000"]; ok {
			t.Errorf("a day whose deltas cancel has a day total")
		}
	})
}

// TestDayTotalsBackfill (both stores): a database holding rollups from
// before migration 0049 gets its day totals summed from them when it runs,
// so the daily series keeps the history.
func TestDayTotalsBackfill(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ms, err := store.Migrations(db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Writer().ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		for _, m := range ms {
			if m.Version >= 49 {
				break
			}
			exec(m.SQL)
			exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`, m.Version, m.Name)
		}
		for _, r := range []struct {
			camp, creator, placement string
			day, views, fees         int64
		}{{"cmp_1", "crt_1", "", 20_000, 10, 1_000_001}, {"cmp_1", "crt_2", "bio", 20_000, 5, 2_000_002}, {"cmp_1", "crt_1", "", 20_001, 1, -3},
			{"cmp_2", "crt_1", "", 20_000, 7, 9}} {
			exec(`INSERT INTO rollups (campaign_id, creator_id, placement, day, views, fees) VALUES ($1, $2, $3, $4, $5, $6)`,
				r.camp, r.creator, r.placement, r.day, r.views, r.fees)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Read().QueryContext(ctx, `SELECT campaign_id, day, views, fees, likes FROM rollup_days ORDER BY campaign_id, day`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var camp string
			var day, views, fees, likes int64
			if err := rows.Scan(&camp, &day, &views, &fees, &likes); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintln(camp, day, views, fees, likes))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if want := "cmp_1 20000 15 3000003 0\ncmp_1 20001 1 -3 0\ncmp_2 20000 7 9 0\n"; strings.Join(got, "") != want {
			t.Errorf("day totals %v, want %s", got, want)
		}
	})
}
