package bench

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestFraudBenchRuns runs a small fraud benchmark on SQLite (and on
// PostgreSQL when TEST_DATABASE_URL is set): cheaters are flagged, the
// figures are consistent, and the last line is the ratio (F1).
func TestFraudBenchRuns(t *testing.T) {
	urls := []string{""}
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		urls = append(urls, u)
	}
	for _, u := range urls {
		var out strings.Builder
		opt := DefaultFraudOptions
		opt.DBURL, opt.Creators, opt.Days, opt.Campaigns, opt.CheatShare = u, 60, 6, 2, 0.3
		res, err := Fraud(context.Background(), &out, opt)
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "ratio: ") {
			t.Fatalf("last line %q", last)
		}
		if res.Cheaters == 0 || res.TruePos == 0 || res.Cheaters+res.Honest != 60 || res.Readings == 0 || res.Clicks == 0 {
			t.Fatalf("result %+v\n%s", res, out.String())
		}
		if res.HeldCheat == 0 || res.HeldCheat > res.EarnedCheat || res.HeldHonest > res.EarnedHonest {
			t.Errorf("held %d of %d from cheaters, %d of %d from honest", res.HeldCheat, res.EarnedCheat, res.HeldHonest, res.EarnedHonest)
		}
		t.Log(out.String())
	}
}
