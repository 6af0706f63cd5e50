// Command payper is the one binary of payper, a self-hostable platform for
// performance influencer marketing.
//
//	payper serve             run the HTTP API (SQLite file payper.db by default)
//	payper migrate           apply database migrations and exit
//	payper version           print the version
//	payper admin create-key  issue an API key (admin by default)
//	payper admin create-operator  create an operator user (email and password)
//	payper admin audit       check the ledger's invariants
//	payper demo              run a sandbox campaign end to end and print a summary
//	payper bench NAME        run a benchmark: ledger, orders, pipeline, redirect or report
//
// Every server setting has an environment override, named in its help text.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "payper:", err)
		os.Exit(1)
	}
}

const usage = `payper — pay creators for outcomes, out of an escrowed budget.

Usage:
  payper serve              run the HTTP API server
  payper demo               run a whole sandbox campaign on a fresh SQLite file and print the outcome
  payper migrate            apply database migrations and exit
  payper version            print the version
  payper admin create-key   issue an API key (admin, or --role brand|creator --subject ID)
  payper admin create-operator --email E   create an operator user; password from PAYPER_OPERATOR_PASSWORD
  payper admin audit        check the ledger's invariants against the database
  payper bench ledger       benchmark the ledger (see docs/benchmarks.md)
  payper bench orders       benchmark signed Shopify order webhooks against a bare HMAC check and insert
  payper bench pipeline     benchmark one engagement tick over 10,000 posts
  payper bench redirect     benchmark /r/{slug} with click capture against a bare 302
  payper bench report       benchmark campaign reports over 5 million clicks and 200,000 conversions

Run "payper <command> -h" for a command's flags.
`

// run executes one command. getenv supplies environment overrides.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "version":
		return cmdVersion(stdout)
	case "admin":
		return cmdAdmin(ctx, rest, getenv, stdout, stderr)
	case "bench":
		return cmdBench(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// flags builds a FlagSet whose defaults come from the environment.
type flags struct {
	*flag.FlagSet
	getenv func(string) string
	errs   []error
}

func newFlags(name string, getenv func(string) string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flags{FlagSet: fs, getenv: getenv}
}

func (f *flags) str(p *string, name, env, def, help string) {
	if v := f.getenv(env); v != "" {
		def = v
	}
	f.StringVar(p, name, def, help+" (env "+env+")")
}

func (f *flags) int64(p *int64, name, env string, def int64, help string) {
	if v := f.getenv(env); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not an integer", env, v))
		} else {
			def = n
		}
	}
	f.Int64Var(p, name, def, help+" (env "+env+")")
}

func (f *flags) duration(p *time.Duration, name, env string, def time.Duration, help string) {
	if v := f.getenv(env); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not a duration (e.g. 15m, 168h)", env, v))
		} else {
			def = d
		}
	}
	f.DurationVar(p, name, def, help+" (env "+env+")")
}

func (f *flags) boolean(p *bool, name, env string, def bool, help string) {
	if v := f.getenv(env); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q is not true or false", env, v))
		} else {
			def = b
		}
	}
	f.BoolVar(p, name, def, help+" (env "+env+")")
}

func (f *flags) parse(args []string) error {
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", f.Name(), f.Arg(0))
	}
	return errors.Join(f.errs...)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}
