package bench

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestOrdersBenchRuns runs a tiny orders benchmark on SQLite (and on
// PostgreSQL when TEST_DATABASE_URL is set): every order sent to payper is
// processed and paid to the micro-unit, both sides are measured at each
// sender count, and the last line is the ratio.
func TestOrdersBenchRuns(t *testing.T) {
	urls := []string{""}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		urls = append(urls, u)
	}
	for _, u := range urls {
		var out strings.Builder
		res, err := Orders(context.Background(), &out, OrdersOptions{DBURL: u, Orders: 20, Rounds: 1, Creators: 2, Senders: []int{1, 4}})
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ratio: ") || res.Ratio <= 0 {
			t.Fatalf("last line %q (ratio %v)", last, res.Ratio)
		}
		if res.Conversions != 20*2+1 || res.Commission != res.CommissionDue || res.Commission <= 0 || len(res.Bare) != 2 || len(res.Payper) != 2 ||
			res.Payper[1].Processed <= 0 || res.Bare[1].Processed <= 0 {
			t.Fatalf("result %+v\n%s", res, out.String())
		}
	}
}
