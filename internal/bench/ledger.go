package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

var bulkCols = []string{"tx_id", "seq", "account_id", "currency", "amount"}

// LedgerOptions sizes the ledger benchmark.
type LedgerOptions struct {
	DBURL     string // "" = temporary SQLite; postgres://… = temporary schema there
	Singles   int    // single accruals, each its own database transaction
	Rounds    int    // batched rounds, each followed by a bulk-load baseline of the same rows
	BatchSize int    // interaction deltas per batch
	Creators  int    // creators the deltas are spread over
}

// DefaultLedgerOptions are the figures docs/benchmarks.md records.
var DefaultLedgerOptions = LedgerOptions{Singles: 1000, Rounds: 15, BatchSize: 1000, Creators: 10}

// LedgerResult holds the benchmark's figures.
type LedgerResult struct {
	SinglePerSec      float64
	BatchRowsPerSec   float64 // median over rounds, ledger entry rows/s
	BulkRowsPerSec    float64 // median over rounds
	Ratio             float64 // BatchRowsPerSec / BulkRowsPerSec
	RowsPerRound      int
	BatchDeltasPerSec float64
}

// Ledger runs the ledger benchmark, printing as it goes; the last line is
// "ratio: X.XX" = batched-accrual entry rows/s ÷ bulk-load rows/s.
func Ledger(ctx context.Context, out io.Writer, opt LedgerOptions) (LedgerResult, error) {
	var res LedgerResult
	rig, err := newLedgerRig(ctx, opt)
	if err != nil {
		return res, err
	}
	defer rig.cleanup()
	fmt.Fprintf(out, "payper bench ledger\nmachine:  %s\ndatabase: %s\n", Machine(), rig.desc)
	db, l, creator := rig.db, rig.l, rig.creator

	// 1. Single accruals, one database transaction each.
	start := time.Now()
	for i := 0; i < opt.Singles; i++ {
		if _, err := l.Accrue(ctx, ledgerCampaign, ledger.AccrueItem{Key: fmt.Sprintf("single-%d", i), CreatorID: creator(i),
			Amount: int64(1_000 + i%997*1_013), Ref: "bench single"}); err != nil {
			return res, err
		}
	}
	res.SinglePerSec = perSec(opt.Singles, time.Since(start))
	fmt.Fprintf(out, "single accruals:  %d in %s = %.0f accruals/s (each its own transaction: 3 entries, 1 transaction row)\n",
		opt.Singles, time.Since(start).Round(time.Millisecond), res.SinglePerSec)

	// 2 and 3, interleaved round by round: a batch of accruals, then a bulk
	// load of as many rows into a bare table of the entries' shape.
	if err := db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE bench_entries (tx_id TEXT NOT NULL, seq INTEGER NOT NULL, account_id TEXT NOT NULL, currency TEXT NOT NULL, amount BIGINT NOT NULL)`)
		return err
	}); err != nil {
		return res, fmt.Errorf("bench: create bare table: %w", err)
	}
	if err := db.PrepareBulk(ctx, "bench_entries", bulkCols); err != nil {
		return res, err
	}
	var batchRates, bulkRates, deltaRates []float64
	for r := 0; r < opt.Rounds; r++ {
		b, err := rig.batchRound(ctx)
		if err != nil {
			return res, err
		}
		rows := b.rows
		res.RowsPerRound = rows
		batchRates = append(batchRates, perSec(rows, b.elapsed))
		deltaRates = append(deltaRates, perSec(b.deltas, b.elapsed))

		bulk := make([][]any, rows)
		for i := range bulk {
			bulk[i] = []any{fmt.Sprintf("ltx_bulk%018d", r*rows+i/3), i % 3, fmt.Sprintf("held:cmp_bench:crt_bench_%03d", i%opt.Creators), "EUR", int64(12_345 + i)}
		}
		start = time.Now()
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			return tx.BulkInsert(ctx, "bench_entries", bulkCols, bulk)
		}); err != nil {
			return res, fmt.Errorf("bench: bulk load: %w", err)
		}
		bulkRates = append(bulkRates, perSec(rows, time.Since(start)))
	}
	res.BatchRowsPerSec, res.BulkRowsPerSec, res.BatchDeltasPerSec = median(batchRates), median(bulkRates), median(deltaRates)
	res.Ratio = res.BatchRowsPerSec / res.BulkRowsPerSec
	fmt.Fprintf(out, "batched accrual:  %d rounds × %d deltas (each its own balanced transaction, one database transaction per round) = %d entry rows/round; median %.0f entry rows/s (%.0f deltas/s)\n",
		opt.Rounds, opt.BatchSize, res.RowsPerRound, res.BatchRowsPerSec, res.BatchDeltasPerSec)
	method := "prepared multi-row INSERTs in one transaction"
	if db.Dialect() == store.Postgres {
		method = "COPY in one transaction"
	}
	fmt.Fprintf(out, "bulk baseline:    the same rows into a bare table of the same shape, %s; median %.0f rows/s\n", method, res.BulkRowsPerSec)
	fmt.Fprintf(out, "ratio: %.2f\n", res.Ratio)
	return res, nil
}

const ledgerCampaign = "cmp_bench"

// ledgerRig is the ledger benchmark's setting: a temporary database with a
// ledger, a funded campaign and creators whose accounts exist. Other
// benchmarks run its batched rounds as their baseline, side by side with
// their own.
type ledgerRig struct {
	opt     LedgerOptions
	db      *store.DB
	desc    string
	l       *ledger.Ledger
	cleanup func() // removes the temporary database
	creator func(i int) string
	round   int
}

func newLedgerRig(ctx context.Context, opt LedgerOptions) (*ledgerRig, error) {
	db, desc, cleanup, err := TempDB(ctx, opt.DBURL)
	if err != nil {
		return nil, err
	}
	rig := &ledgerRig{opt: opt, db: db, desc: desc, cleanup: cleanup,
		creator: func(i int) string { return fmt.Sprintf("crt_bench_%03d", i%opt.Creators) }}
	if rig.l, err = ledger.New(db, clock.System{}, ledger.DefaultConfig); err != nil {
		cleanup()
		return nil, err
	}
	if _, err := rig.l.Fund(ctx, ledger.FundRequest{Key: "bench-fund", CampaignID: ledgerCampaign, BrandID: "brd_bench",
		Amount: money.New(1_000_000_000*money.Scale, money.EUR), Reference: "bench"}); err != nil {
		cleanup()
		return nil, err
	}
	// Warm up: create the creators' accounts and the connection pool.
	for i := 0; i < opt.Creators; i++ {
		if _, err := rig.l.Accrue(ctx, ledgerCampaign, ledger.AccrueItem{Key: fmt.Sprintf("warm-%d", i), CreatorID: rig.creator(i), Amount: 1_000_000}); err != nil {
			cleanup()
			return nil, err
		}
	}
	return rig, nil
}

// batchResult is one timed batched accrual.
type batchResult struct {
	deltas, rows int // rows: the ledger entries it wrote
	elapsed      time.Duration
}

// batchRound times one batched accrual of opt.BatchSize deltas over the
// creators: each delta its own balanced transaction, all in one database
// transaction. It collects garbage first, untimed.
func (rig *ledgerRig) batchRound(ctx context.Context) (batchResult, error) {
	r := rig.round
	rig.round++
	items := make([]ledger.AccrueItem, rig.opt.BatchSize)
	for i := range items {
		items[i] = ledger.AccrueItem{Key: fmt.Sprintf("batch-%d-%d", r, i), CreatorID: rig.creator(i),
			Amount: int64(10_000 + (r*rig.opt.BatchSize+i)%991*1_009), Ref: "bench batch"}
	}
	runtime.GC() // start clean: no garbage of an earlier round (or of another benchmark) is collected in this one
	start := time.Now()
	results, err := rig.l.AccrueBatch(ctx, ledgerCampaign, items)
	if err != nil {
		return batchResult{}, err
	}
	b := batchResult{deltas: len(items), elapsed: time.Since(start)}
	for _, x := range results {
		if x.Granted > 0 {
			b.rows += 2
		}
		if x.Fee > 0 {
			b.rows++
		}
	}
	return b, nil
}
