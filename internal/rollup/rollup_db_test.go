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
