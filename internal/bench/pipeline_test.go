package bench

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestPipelineBenchRuns runs a tiny pipeline benchmark on SQLite (and on
// PostgreSQL when TEST_DATABASE_URL is set). The benchmark itself fails
// unless every round bills exactly posts × the per-post price of the
// growth and the ledger audit passes; here the ledger rounds must also
// have run between the pipeline's, and the last line is the ratio.
func TestPipelineBenchRuns(t *testing.T) {
	urls := []string{""}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		urls = append(urls, u)
	}
	for _, u := range urls {
		var out strings.Builder
		opt := PipelineOptions{DBURL: u, Posts: 120, Creators: 6, Rounds: 2, LedgerRounds: 1}
		res, err := Pipeline(context.Background(), &out, opt)
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		text := out.String()
		lines := strings.Split(strings.TrimSpace(text), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ratio: ") || res.Ratio <= 0 || res.PostsPerSec <= 0 || res.LedgerDeltasPerSec <= 0 {
			t.Fatalf("last line %q, result %+v", last, res)
		}
		if n := strings.Count(text, "posts billed in"); n != 4 {
			t.Fatalf("%d rounds reported, want 4:\n%s", n, text)
		}
		if n := strings.Count(text, "; ledger "); n != 4 || !strings.Contains(text, "(median of 4, interleaved)") {
			t.Fatalf("the ledger rounds did not run after each pipeline round:\n%s", text)
		}
	}
}
