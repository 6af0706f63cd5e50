package bench

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestReportBenchRuns runs a tiny report benchmark on SQLite (and on
// PostgreSQL when TEST_DATABASE_URL is set): the data is generated, the
// rollups agree with the raw tables, the report shows every click and
// conversion, and the last line is the ratio.
func TestReportBenchRuns(t *testing.T) {
	urls := []string{""}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		urls = append(urls, u)
	}
	for _, u := range urls {
		var out strings.Builder
		opt := ReportOptions{DBURL: u, Creators: 3, Clicks: 5_000, Conversions: 400, Snapshots: 1_000, Days: 40, Calls: 4}
		res, err := Report(context.Background(), &out, opt)
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ratio: ") || res.Ratio <= 0 || res.P50 <= 0 || res.P99 < res.P50 {
			t.Fatalf("last line %q, result %+v", last, res)
		}
		for _, want := range []string{"rollups agree with the raw tables", "table sizes: clicks 5000 post_snapshots 1000 orders 400 ",
			"conversions 400 posts 15 links 3 "} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("no %q in\n%s", want, out.String())
			}
		}
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, c := range []struct{ p, want float64 }{{50, 3}, {99, 5}, {20, 1}, {100, 5}} {
		if got := percentile(xs, c.p); got != c.want {
			t.Errorf("percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}
