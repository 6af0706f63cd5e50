package bench

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
)

// PipelineOptions size the pipeline benchmark.
type PipelineOptions struct {
	DBURL    string // "" = temporary SQLite; postgres://… = temporary schema there
	Posts    int    // live sandbox posts
	Creators int    // creators the posts are spread over (one connected account each)
	Rounds   int    // ticks timed, each after fresh growth on every post
	// LedgerRounds is how many batched-accrual rounds of the ledger
	// baseline run after each pipeline round, side by side with it.
	LedgerRounds int
	// CPUProfile, when set, receives a CPU profile of the timed rounds only
	// (not the setup or the ledger baseline), for go tool pprof.
	CPUProfile io.Writer
}

// DefaultPipelineOptions are the figures docs/benchmarks.md records.
var DefaultPipelineOptions = PipelineOptions{Posts: 10_000, Creators: 100, Rounds: 5, LedgerRounds: 2}

// PipelineResult holds the benchmark's figures.
type PipelineResult struct {
	PostsPerSec        float64 // median over rounds of posts / tick time, through the job queue
	PollPostsPerSec    float64 // median over rounds of posts / PollCampaign time (the job's body alone)
	LedgerDeltasPerSec float64
	Ratio              float64 // PostsPerSec / LedgerDeltasPerSec
}

// Pipeline runs the pipeline benchmark: Posts live sandbox posts, all with
// growth, billed in one engagement tick — the fan-out and the poll job on
// the job queue, the counts read over HTTP from the sandbox through the
// connector, snapshots, high-water marks and one balancing accrual per
// creator in the ledger. Its last line is "ratio: X.XX" = posts/s ÷ the
// batched-accrual deltas/s of the ledger benchmark, whose rounds run in the
// same process on the same kind of database, interleaved with the
// pipeline's: after each pipeline round, opt.LedgerRounds ledger rounds. The
// machine's load changes by the minute; measured side by side, both figures
// see the same.
func Pipeline(ctx context.Context, out io.Writer, opt PipelineOptions) (PipelineResult, error) {
	var res PipelineResult
	url, desc, cleanup, err := TempURL(ctx, opt.DBURL)
	if err != nil {
		return res, err
	}
	defer cleanup()
	fmt.Fprintf(out, "payper bench pipeline\nmachine:  %s\ndatabase: %s\n", Machine(), desc)
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	env, err := demo.Start(ctx, url, start, engage.Config{PollInterval: time.Minute, ReadConcurrency: 8}, nil)
	if err != nil {
		return res, err
	}
	defer env.Close()
	a := env.App

	// A campaign big enough never to run out, open to everyone.
	b, _, err := a.Identity.CreateBrand(ctx, "Bench")
	if err != nil {
		return res, err
	}
	brand := identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
	camp, err := a.Campaigns.Create(ctx, brand, campaign.Draft{Name: "Bench", Budget: money.New(100_000_000*money.Scale, money.EUR)})
	if err != nil {
		return res, err
	}
	prices := campaign.Prices{View: 1_000, Like: 20_000, Comment: 100_000, Share: 200_000, Save: 50_000}
	setup := campaign.Setup{Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 2 * money.Scale},
		Brief:  campaign.Brief{Product: "Bench", Message: "Bench", LandingURL: "https://bench.example", RequiredHashtags: []string{"#bench"}},
		Prices: prices, StartsAt: start, EndsAt: start.Add(365 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox}, MinFollowers: 1_000, MaxFollowers: 1_000_000}}
	if _, err := a.Campaigns.Configure(ctx, brand, camp.ID, setup); err != nil {
		return res, err
	}
	if _, err := a.Campaigns.Fund(ctx, brand, camp.ID, campaign.FundInput{Reference: "bench"}); err != nil {
		return res, err
	}
	if _, err := a.Campaigns.Transition(ctx, brand, camp.ID, campaign.ActionOpen); err != nil {
		return res, err
	}

	// Creators with connected sandbox accounts, accepted, each with their share of the posts.
	setupStart := time.Now()
	perCreator := (opt.Posts + opt.Creators - 1) / opt.Creators
	posts := 0
	for i := 0; i < opt.Creators && posts < opt.Posts; i++ {
		handle := fmt.Sprintf("bench_%04d", i)
		c, _, err := a.Identity.CreateCreator(ctx, handle, "DE")
		if err != nil {
			return res, err
		}
		p := identity.Principal{Role: identity.RoleCreator, SubjectID: c.ID}
		if _, err := a.Sandbox.CreateAccount(ctx, handle, 5_000+int64(i)); err != nil {
			return res, err
		}
		acc, err := env.Connect(ctx, p, handle)
		if err != nil {
			return res, err
		}
		ap, err := a.Market.Apply(ctx, p, camp.ID, "bench")
		if err != nil {
			return res, err
		}
		if _, err := a.Market.Decide(ctx, brand, ap.ID, true); err != nil {
			return res, err
		}
		n := min(perCreator, opt.Posts-posts)
		sp, err := a.Sandbox.PublishMany(ctx, handle, n, "#bench #ad", platform.TypeReel, env.Clock.Now())
		if err != nil {
			return res, err
		}
		media := make([]platform.Media, len(sp))
		for k, s := range sp {
			media[k] = platform.Media{ID: s.ID, AccountID: s.AccountID, Permalink: s.Permalink, Caption: s.Caption, Type: s.Type, PublishedAt: s.PublishedAt}
		}
		if err := a.Engage.RecordVerified(ctx, camp.ID, c.ID, acc.ID, platform.Sandbox, media); err != nil {
			return res, err
		}
		posts += n
	}
	fmt.Fprintf(out, "setup:    %d live posts over %d creators in %s\n", posts, opt.Creators, time.Since(setupStart).Round(time.Millisecond))

	// The ledger baseline: payper bench ledger's batched accrual, on its own
	// temporary database of the same kind.
	lopt := DefaultLedgerOptions
	lopt.DBURL = opt.DBURL
	rig, err := newLedgerRig(ctx, lopt)
	if err != nil {
		return res, err
	}
	defer rig.cleanup()
	fmt.Fprintf(out, "baseline: payper bench ledger's batched accrual (%d deltas over %d creators, one database transaction), %d round(s) after each pipeline round, on %s\n",
		lopt.BatchSize, lopt.Creators, opt.LedgerRounds, rig.desc)
	if _, err := rig.batchRound(ctx); err != nil { // warm-up, not counted
		return res, err
	}

	// Each round: every post grows, the clock moves past the poll interval,
	// one tick bills it all. Even rounds go through the queue, odd ones call
	// the poll job's body directly, so both are measured side by side.
	d := sandbox.Delta{Views: 100, Likes: 7, Comments: 2, Shares: 1, Saves: 1}
	perPost := d.Views*prices.View + d.Likes*prices.Like + d.Comments*prices.Comment + d.Shares*prices.Share + d.Saves*prices.Save
	var viaQueue, direct, ledgerRates []float64
	stopProfile := func() {}
	if opt.CPUProfile != nil {
		if err := pprof.StartCPUProfile(opt.CPUProfile); err != nil {
			return res, fmt.Errorf("bench: %w", err)
		}
		stopProfile = sync.OnceFunc(pprof.StopCPUProfile)
		defer stopProfile()
	}
	for r := 0; r < 2*opt.Rounds; r++ {
		if err := a.Sandbox.GrowAll(ctx, d); err != nil {
			return res, err
		}
		env.Clock.Advance(2 * time.Minute)
		before, err := a.Ledger.Escrow(ctx, camp.ID)
		if err != nil {
			return res, err
		}
		runtime.GC() // as before each ledger round: nothing left over is collected in the timed tick
		t0 := time.Now()
		how := "queue"
		if r%2 == 0 {
			err = env.Tick(ctx)
		} else {
			how = "direct"
			var pr engage.PollResult
			if pr, err = a.Engage.PollCampaign(ctx, camp.ID); err == nil && pr.PostsRead != posts {
				err = fmt.Errorf("bench: the poll read %d posts, want %d", pr.PostsRead, posts)
			}
		}
		el := time.Since(t0)
		if err != nil {
			return res, err
		}
		after, err := a.Ledger.Escrow(ctx, camp.ID)
		if err != nil {
			return res, err
		}
		if got, want := after.Spent-before.Spent, perPost*int64(posts); got != want {
			return res, fmt.Errorf("bench: round %d billed %d µ, want %d (%d posts × %d)", r+1, got, want, posts, perPost)
		}
		rate := perSec(posts, el)
		if how == "queue" {
			viaQueue = append(viaQueue, rate)
		} else {
			direct = append(direct, rate)
		}
		line := fmt.Sprintf("round %2d (%-6s): %d posts billed in %s = %.0f posts/s; ledger", r+1, how, posts, el.Round(time.Millisecond), rate)
		for k := 0; k < opt.LedgerRounds; k++ {
			b, err := rig.batchRound(ctx)
			if err != nil {
				return res, err
			}
			ledgerRates = append(ledgerRates, perSec(b.deltas, b.elapsed))
			line += fmt.Sprintf(" %.0f", ledgerRates[len(ledgerRates)-1])
		}
		fmt.Fprintf(out, "%s deltas/s\n", line)
	}
	stopProfile()
	res.PostsPerSec, res.PollPostsPerSec = median(viaQueue), median(direct)
	if rep, err := a.Ledger.Audit(ctx); err != nil {
		return res, err
	} else if !rep.OK() {
		return res, fmt.Errorf("bench: ledger audit failed:\n%s", rep)
	}

	res.LedgerDeltasPerSec = median(ledgerRates)
	res.Ratio = res.PostsPerSec / res.LedgerDeltasPerSec
	fmt.Fprintf(out, "\npipeline, one tick through the job queue: %.0f posts/s (median of %d)\n", res.PostsPerSec, len(viaQueue))
	fmt.Fprintf(out, "pipeline, the poll job's body alone:      %.0f posts/s (median of %d)\n", res.PollPostsPerSec, len(direct))
	fmt.Fprintf(out, "ledger batched accrual:                   %.0f deltas/s (median of %d, interleaved)\n", res.LedgerDeltasPerSec, len(ledgerRates))
	fmt.Fprintf(out, "ratio: %.2f\n", res.Ratio)
	return res, nil
}
