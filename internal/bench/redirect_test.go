package bench

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRedirectBenchRuns runs a short redirect benchmark on SQLite (and on
// PostgreSQL when TEST_DATABASE_URL is set): every phase answers, every
// redirect is a click in the database, and the last line is the ratio.
func TestRedirectBenchRuns(t *testing.T) {
	urls := []string{""}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		urls = append(urls, u)
	}
	for _, u := range urls {
		var out strings.Builder
		res, err := Redirect(context.Background(), &out, RedirectOptions{DBURL: u, Duration: 200 * time.Millisecond, Concurrency: 4})
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ratio: ") || res.Ratio <= 0 {
			t.Fatalf("last line %q (ratio %v)", last, res.Ratio)
		}
		if res.Clicks == 0 || res.Bare.Requests == 0 || res.Payper.Requests == 0 || res.Half.Requests == 0 || res.Payper.P99 == 0 {
			t.Fatalf("result %+v", res)
		}
	}
}
