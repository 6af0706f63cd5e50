package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"

	"github.com/payper/payper/internal/bench"
)

func cmdBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("bench: want a benchmark name: fraud, ledger, orders, pipeline, redirect, report or web")
	}
	switch args[0] {
	case "ledger":
		opt := bench.DefaultLedgerOptions
		f := newFlags("bench ledger", getenv, stderr)
		f.StringVar(&opt.DBURL, "db", "", "PostgreSQL URL to benchmark in a temporary schema; empty = a temporary SQLite file")
		f.IntVar(&opt.Singles, "singles", opt.Singles, "single accruals to time")
		f.IntVar(&opt.Rounds, "rounds", opt.Rounds, "batched rounds (each followed by its bulk-load baseline)")
		f.IntVar(&opt.BatchSize, "batch", opt.BatchSize, "interaction deltas per batch")
		f.IntVar(&opt.Creators, "creators", opt.Creators, "creators the deltas are spread over")
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		if opt.Singles < 1 || opt.Rounds < 1 || opt.BatchSize < 1 || opt.Creators < 1 {
			return fmt.Errorf("bench ledger: --singles, --rounds, --batch and --creators must be at least 1")
		}
		_, err := bench.Ledger(ctx, stdout, opt)
		return err
	case "pipeline":
		opt := bench.DefaultPipelineOptions
		f := newFlags("bench pipeline", getenv, stderr)
		f.StringVar(&opt.DBURL, "db", "", "PostgreSQL URL to benchmark in a temporary schema; empty = a temporary SQLite file")
		f.IntVar(&opt.Posts, "posts", opt.Posts, "live sandbox posts billed per tick")
		f.IntVar(&opt.Creators, "creators", opt.Creators, "creators (connected accounts) the posts are spread over")
		f.IntVar(&opt.Rounds, "rounds", opt.Rounds, "ticks timed through the queue (and as many timed directly)")
		f.IntVar(&opt.LedgerRounds, "ledger-rounds", opt.LedgerRounds, "ledger baseline rounds (batched accruals) run after each pipeline round")
		var profile string
		f.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the timed rounds to this file (go tool pprof)")
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		if opt.Posts < 1 || opt.Creators < 1 || opt.Rounds < 1 || opt.LedgerRounds < 1 {
			return fmt.Errorf("bench pipeline: --posts, --creators, --rounds and --ledger-rounds must be at least 1")
		}
		pf, err := createProfile("bench pipeline", profile)
		if err != nil {
			return err
		}
		if pf != nil {
			defer pf.Close()
			opt.CPUProfile = pf // the benchmark profiles its timed rounds only
		}
		_, err = bench.Pipeline(ctx, stdout, opt)
		return err
	case "redirect":
		opt := bench.DefaultRedirectOptions
		f := newFlags("bench redirect", getenv, stderr)
		f.StringVar(&opt.DBURL, "db", "", "PostgreSQL URL to benchmark in a temporary schema; empty = a temporary SQLite file")
		f.DurationVar(&opt.Duration, "duration", opt.Duration, "length of each measured phase (bare, payper, payper at half load)")
		f.IntVar(&opt.Concurrency, "concurrency", opt.Concurrency, "concurrent keep-alive connections of the load generator")
		var profile string
		f.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		if opt.Duration <= 0 || opt.Concurrency < 1 {
			return fmt.Errorf("bench redirect: --duration must be positive and --concurrency at least 1")
		}
		pf, err := createProfile("bench redirect", profile)
		if err != nil {
			return err
		}
		if pf != nil {
			defer pf.Close()
			if err := pprof.StartCPUProfile(pf); err != nil {
				return fmt.Errorf("bench redirect: %w", err)
			}
			defer pprof.StopCPUProfile()
		}
		_, err = bench.Redirect(ctx, stdout, opt)
		return err
	case "orders":
		opt := bench.DefaultOrdersOptions
		f := newFlags("bench orders", getenv, stderr)
		f.StringVar(&opt.DBURL, "db", "", "PostgreSQL URL to benchmark in a temporary schema; empty = a temporary SQLite file")
		f.IntVar(&opt.Orders, "orders", opt.Orders, "signed orders/create webhooks each side receives per round and sender count")
		f.IntVar(&opt.Rounds, "rounds", opt.Rounds, "rounds per side and sender count, bare and payper alternating")
		f.IntVar(&opt.Creators, "creators", opt.Creators, "creators with a discount code (the orders use them in turn)")
		senders := opt.Senders[len(opt.Senders)-1]
		f.IntVar(&senders, "senders", senders, "concurrent senders of the measured high point (1 sender is always measured too); the ratio is taken there")
		var profile string
		f.StringVar(&profile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		if opt.Orders < 1 || opt.Rounds < 1 || opt.Creators < 1 || senders < 1 {
			return fmt.Errorf("bench orders: --orders, --rounds, --creators and --senders must be at least 1")
		}
		opt.Senders = []int{1}
		if senders > 1 {
			opt.Senders = append(opt.Senders, senders)
		}
		pf, err := createProfile("bench orders", profile)
		if err != nil {
			return err
		}
		if pf != nil {
			defer pf.Close()
			if err := pprof.StartCPUProfile(pf); err != nil {
				return fmt.Errorf("bench orders: %w", err)
			}
			defer pprof.StopCPUProfile()
		}
		_, err = bench.Orders(ctx, stdout, opt)
		return err
	case "report":
		opt := bench.DefaultReportOptions
		f := newFlags("bench report", getenv, stderr)
		f.StringVar(&opt.DBURL, "db", "", "PostgreSQL URL to benchmark in a temporary schema; empty = a temporary SQLite file")
		f.IntVar(&opt.Creators, "creators", opt.Creators, "accepted creators (one link, one discount code and 5 posts each)")
		f.IntVar(&opt.Clicks, "clicks", opt.Clicks, "clicks generated (about 5 % by bots)")
		f.IntVar(&opt.Conversions, "conversions", opt.Conversions, "attributed orders generated (by click or by code)")
		f.IntVar(&opt.Snapshots, "snapshots", opt.Snapshots, "engagement snapshots generated")
		f.IntVar(&opt.Days, "days", opt.Days, "days the data spans, ending today")
		f.IntVar(&opt.Calls, "calls", opt.Calls, "report calls timed (after two warm-up calls)")
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		if opt.Creators < 1 || opt.Days < 1 || opt.Calls < 1 || opt.Clicks < 0 || opt.Conversions < 0 || opt.Snapshots < 0 {
			return fmt.Errorf("bench report: --creators, --days and --calls must be at least 1, --clicks, --conversions and --snapshots not negative")
		}
		_, err := bench.Report(ctx, stdout, opt)
		return err
	case "fraud":
		opt := bench.DefaultFraudOptions
		f := newFlags("bench fraud", getenv, stderr)
		f.StringVar(&opt.DBURL, "db", "", "PostgreSQL URL to benchmark in a temporary schema; empty = a temporary SQLite file")
		f.Uint64Var(&opt.Seed, "seed", opt.Seed, "seed of the population")
		f.IntVar(&opt.Creators, "creators", opt.Creators, "creators (about one in ten cheats)")
		f.IntVar(&opt.Days, "days", opt.Days, "simulated days, polled every hour")
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		_, err := bench.Fraud(ctx, stdout, opt)
		return err
	case "web":
		opt := bench.DefaultReportOptions
		f := newFlags("bench web", getenv, stderr)
		f.StringVar(&opt.DBURL, "db", "", "PostgreSQL URL to benchmark in a temporary schema; empty = a temporary SQLite file")
		f.IntVar(&opt.Creators, "creators", opt.Creators, "accepted creators (as bench report)")
		f.IntVar(&opt.Clicks, "clicks", opt.Clicks, "clicks generated (as bench report)")
		f.IntVar(&opt.Conversions, "conversions", opt.Conversions, "attributed orders generated (as bench report)")
		f.IntVar(&opt.Snapshots, "snapshots", opt.Snapshots, "engagement snapshots generated (as bench report)")
		f.IntVar(&opt.Days, "days", opt.Days, "days the data spans, ending today")
		f.IntVar(&opt.Calls, "calls", opt.Calls, "rounds timed, each one JSON report and one dashboard page (after two warm-up rounds)")
		if err := f.parse(args[1:]); err != nil {
			return err
		}
		if opt.Creators < 1 || opt.Days < 1 || opt.Calls < 1 || opt.Clicks < 0 || opt.Conversions < 0 || opt.Snapshots < 0 {
			return fmt.Errorf("bench web: --creators, --days and --calls must be at least 1, --clicks, --conversions and --snapshots not negative")
		}
		_, err := bench.Web(ctx, stdout, opt)
		return err
	}
	return fmt.Errorf("bench: unknown benchmark %q (want fraud, ledger, orders, pipeline, redirect, report or web)", args[0])
}

// createProfile creates the file a --cpuprofile flag names, or returns nil
// when it names none.
func createProfile(cmd, path string) (*os.File, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	return f, nil
}
