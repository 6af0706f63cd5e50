package main

import (
	"context"
	"io"

	"github.com/payper/payper/internal/demo"
)

func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var opt demo.Options
	var asJSON, quiet bool
	var seed int64
	f := newFlags("demo", getenv, stderr)
	f.StringVar(&opt.DBPath, "db", "", "SQLite file to build the demo world in (must not exist); default: a temporary file, removed afterwards")
	f.BoolVar(&asJSON, "json", false, "print the summary as JSON")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	f.Int64Var(&seed, "seed", 1, "seed of the simulated engagement (same seed, same run)")
	f.IntVar(&opt.Days, "days", 14, "days the campaign runs")
	if err := f.parse(args); err != nil {
		return err
	}
	opt.Seed = uint64(seed)
	if !quiet && !asJSON {
		opt.Progress = stderr
	}
	sum, err := demo.Run(ctx, opt)
	if err != nil {
		return err
	}
	if asJSON {
		return demo.JSON(stdout, sum)
	}
	return demo.Print(stdout, sum)
}
