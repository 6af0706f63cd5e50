package bench

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestWebBenchRuns runs a tiny web benchmark on SQLite (and on PostgreSQL
// when TEST_DATABASE_URL is set): the data is generated and checked, the
// dashboard page shows the JSON report's spend and every creator (Web
// fails otherwise), both are timed, and the last line is the ratio.
func TestWebBenchRuns(t *testing.T) {
	urls := []string{""}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		urls = append(urls, u)
	}
	for _, u := range urls {
		var out strings.Builder
		opt := ReportOptions{DBURL: u, Creators: 3, Clicks: 5_000, Conversions: 400, Snapshots: 1_000, Days: 40, Calls: 4}
		res, err := Web(context.Background(), &out, opt)
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ratio: ") || res.Ratio <= 0 || res.PageP50 <= 0 || res.ReportP50 <= 0 ||
			res.PageP99 < res.PageP50 || res.PageBytes < 1000 || res.JSONBytes < 1000 {
			t.Fatalf("last line %q, result %+v", last, res)
		}
		for _, want := range []string{"rollups agree with the raw tables", "since launch: JSON report ", "round   4 (custom)"} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("no %q in\n%s", want, out.String())
			}
		}
	}
}
