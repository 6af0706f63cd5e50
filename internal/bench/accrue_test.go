package bench

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
)

// BenchmarkAccrueBatch times one AccrueBatch of 1,000 deltas, for profiling
// (go test -bench AccrueBatch -cpuprofile cpu.out ./internal/bench/). The
// PostgreSQL variant runs when TEST_DATABASE_URL is set.
func BenchmarkAccrueBatch(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchAccrueBatch(b, "") })
	b.Run("postgres", func(b *testing.B) {
		url := os.Getenv("TEST_DATABASE_URL")
		if url == "" {
			b.Skip("TEST_DATABASE_URL not set")
		}
		benchAccrueBatch(b, url)
	})
}

func benchAccrueBatch(b *testing.B, url string) {
	ctx := context.Background()
	db, _, cleanup, err := TempDB(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer cleanup()
	l, err := ledger.New(db, clock.System{}, ledger.DefaultConfig)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_b", BrandID: "brd_b", Amount: money.New(1e15, money.EUR), Reference: "x"}); err != nil {
		b.Fatal(err)
	}
	items := make([]ledger.AccrueItem, 1000)
	b.ResetTimer()
	for r := 0; r < b.N; r++ {
		b.StopTimer()
		for i := range items {
			items[i] = ledger.AccrueItem{Key: fmt.Sprintf("b-%d-%d", r, i), CreatorID: fmt.Sprintf("crt_%d", i%10), Amount: int64(10000 + i)}
		}
		b.StartTimer()
		if _, err := l.AccrueBatch(ctx, "cmp_b", items); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLedgerBenchRuns runs a tiny "payper bench ledger" so the command
// cannot rot: it must print its figures and end with a ratio line.
func TestLedgerBenchRuns(t *testing.T) {
	var out bytesBuffer
	res, err := Ledger(context.Background(), &out, LedgerOptions{Singles: 5, Rounds: 2, BatchSize: 50, Creators: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsPerRound != 150 {
		t.Errorf("rows per round = %d, want 150 (3 entries for each of 50 deltas)", res.RowsPerRound)
	}
	if res.Ratio <= 0 || res.BatchRowsPerSec <= 0 || res.BulkRowsPerSec <= 0 || res.SinglePerSec <= 0 {
		t.Errorf("figures missing: %+v", res)
	}
	lines := out.lines()
	if last := lines[len(lines)-1]; len(last) < 11 || last[:7] != "ratio: " {
		t.Errorf("last line %q is not the ratio", last)
	}
}
