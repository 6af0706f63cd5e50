package bench

import (
	"context"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// ReportOptions size the report benchmark.
type ReportOptions struct {
	DBURL       string // "" = temporary SQLite; postgres://… = temporary schema there
	Creators    int    // accepted creators, one link and one discount code each
	Clicks      int    // rows of clicks (about 5 % bots)
	Conversions int    // orders, each attributed (by click or by code)
	Snapshots   int    // rows of post_snapshots
	Days        int    // the data spans this many days, ending today
	Calls       int    // report calls timed (after two warm-up calls)
}

// DefaultReportOptions are the figures docs/benchmarks.md records.
var DefaultReportOptions = ReportOptions{Creators: 50, Clicks: 5_000_000, Conversions: 200_000, Snapshots: 1_000_000, Days: 90, Calls: 20}

// ReportResult holds the benchmark's figures.
type ReportResult struct {
	Generate time.Duration // setup and generation of the data, rollups included
	P50, P99 time.Duration // of the timed report calls
	Ratio    float64       // 100 ms ÷ P50
}

// reportTarget is the p50 a campaign report must stay under.
const reportTarget = 100 * time.Millisecond

// postsPerCreator is how many live posts each creator has.
const postsPerCreator = 5

// Report runs the report benchmark: a campaign with Creators accepted
// creators, Clicks clicks, Conversions attributed orders and Snapshots
// engagement snapshots over Days days ending today, bulk-loaded straight
// into the raw tables together with the rollups that summarize exactly
// those rows (the product's event paths would take hours for this much).
// It then times Calls campaign reports through report.Service, cycling
// the windows launch, 14d, 30d and custom. Its last line is "ratio: X.XX"
// = 100 ms ÷ the median call.
func Report(ctx context.Context, out io.Writer, opt ReportOptions) (ReportResult, error) {
	var res ReportResult
	if opt.Creators < 1 || opt.Days < 1 || opt.Calls < 1 || opt.Clicks < 0 || opt.Conversions < 0 || opt.Snapshots < 0 {
		return res, fmt.Errorf("bench report: creators, days and calls must be at least 1, the row counts not negative")
	}
	env, g, now, generate, cleanup, err := loadReportData(ctx, out, "report", "calls", opt)
	if err != nil {
		return res, err
	}
	defer cleanup()
	res.Generate = generate
	today := rollup.DayOf(now.UnixMicro())

	// The data must be what the report reads: since launch, every click
	// and every conversion that counts.
	a := env.App
	launch, err := report.ParseWindow(report.WindowLaunch, "", "", now)
	if err != nil {
		return res, err
	}
	rep, err := a.Report.Campaign(ctx, g.brand, g.campID, launch)
	if err != nil {
		return res, err
	}
	f := rep.Campaign.Figures
	if f.Clicks+f.BotClicks != int64(opt.Clicks) || f.Conversions != g.counted || len(rep.Creators) != opt.Creators {
		return res, fmt.Errorf("bench: the report shows %d clicks, %d conversions, %d creators; want %d, %d, %d",
			f.Clicks+f.BotClicks, f.Conversions, len(rep.Creators), opt.Clicks, g.counted, opt.Creators)
	}
	fmt.Fprintf(out, "since launch: %d clicks (%d by bots), %d conversions, revenue %s, spend %s, ROAS %s\n",
		f.Clicks+f.BotClicks, f.BotClicks, f.Conversions, f.Revenue, f.Spend.Total, rep.Campaign.KPIs.ROAS)

	day := func(d int64) string { return time.UnixMicro(rollup.DayStart(d)).UTC().Format("2006-01-02") }
	var windows []report.Window
	for _, w := range [][3]string{{report.WindowLaunch}, {report.Window14}, {report.Window30}, {report.WindowCustom, day(today - 59), day(today - 30)}} {
		rw, err := report.ParseWindow(w[0], w[1], w[2], now)
		if err != nil {
			return res, err
		}
		windows = append(windows, rw)
	}
	var times []float64
	for i := -2; i < opt.Calls; i++ {
		w := windows[max(i, 0)%len(windows)] // warm-ups: since launch
		st := time.Now()
		rep, err := a.Report.Campaign(ctx, g.brand, g.campID, w)
		el := time.Since(st)
		if err != nil {
			return res, err
		}
		if i < 0 {
			fmt.Fprintf(out, "warm-up  (%-6s): %s\n", w.Name, fmtMS(el))
			continue
		}
		times = append(times, float64(el))
		fmt.Fprintf(out, "call %3d (%-6s): %s  %d creators, %d placements, %d clicks\n", i+1, w.Name, fmtMS(el),
			len(rep.Creators), len(rep.Placements), rep.Campaign.Figures.Clicks+rep.Campaign.Figures.BotClicks)
	}
	res.P50, res.P99 = time.Duration(median(times)), time.Duration(percentile(times, 99))
	res.Ratio = float64(reportTarget) / float64(res.P50)
	fmt.Fprintf(out, "\nreport p50: %s\nreport p99: %s (of %d calls)\n", fmtMS(res.P50), fmtMS(res.P99), len(times))
	fmt.Fprintf(out, "ratio: %.2f\n", res.Ratio)
	return res, nil
}

func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// percentile is the nearest-rank p-th percentile of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(float64(len(s))*p/100+0.999999) - 1
	return s[max(0, min(k, len(s)-1))]
}

// benchCreator is one generated creator with its link and code.
type benchCreator struct {
	id, linkID, slug, placement, code string
	weight                            float64
}

// clickRef is a click an order will be attributed to.
type clickRef struct {
	creator int
	clickID string
	at      int64
}

// loadReportData opens a temporary database (opt.DBURL's PostgreSQL in a
// schema of its own, else SQLite), prints the benchmark's header (name,
// machine, database, what is generated, calls named by unit), bulk-loads
// the campaign Report and Web measure, prints the table sizes and checks
// the rollups against the raw rows. It returns the environment, the
// generator (ids, the brand), the data's now, how long generating took and
// the cleanup to defer; on error everything it opened is closed.
func loadReportData(ctx context.Context, out io.Writer, name, unit string, opt ReportOptions) (env *demo.Env, g *reportGen, now time.Time, generate time.Duration, cleanup func(), err error) {
	url, desc, dropDB, err := TempURL(ctx, opt.DBURL)
	if err != nil {
		return nil, nil, now, 0, nil, err
	}
	now = time.Now().UTC()
	today := rollup.DayOf(now.UnixMicro())
	start := time.UnixMicro(rollup.DayStart(today - int64(opt.Days) + 1)).UTC()
	env, err = demo.Start(ctx, url, start, engage.Config{}, nil)
	if err != nil {
		dropDB()
		return nil, nil, now, 0, nil, err
	}
	cleanup = func() { env.Close(); dropDB() }
	fail := func(err error) (*demo.Env, *reportGen, time.Time, time.Duration, func(), error) {
		cleanup()
		return nil, nil, now, 0, nil, err
	}
	if env.App.DB.Dialect() == store.Postgres {
		var version string
		_ = env.App.DB.Read().QueryRowContext(ctx, "SHOW server_version").Scan(&version)
		desc = "PostgreSQL " + version + " " + desc
	}
	fmt.Fprintf(out, "payper bench %s\nmachine:  %s\ndatabase: %s\n", name, Machine(), desc)
	fmt.Fprintf(out, "data:     %d creators, %d clicks, %d conversions, %d snapshots over %d days; %d %s\n",
		opt.Creators, opt.Clicks, opt.Conversions, opt.Snapshots, opt.Days, opt.Calls, unit)
	t0 := time.Now()
	g, err = newReportGen(ctx, out, env, opt, start, now)
	if err != nil {
		return fail(err)
	}
	env.Clock.Set(now)
	for _, s := range []struct {
		name string
		fn   func(context.Context, io.Writer) error
	}{{"clicks", g.clicks}, {"snapshots", g.snapshots}, {"conversions", g.conversions}, {"rollups", g.rollups}} {
		st := time.Now()
		if err := s.fn(ctx, out); err != nil {
			return fail(err)
		}
		fmt.Fprintf(out, "%-11s done in %s\n", s.name, time.Since(st).Round(time.Millisecond))
	}
	generate = time.Since(t0)
	fmt.Fprintf(out, "generated in %s\n", generate.Round(time.Second))
	if err := g.printSizes(ctx, out); err != nil {
		return fail(err)
	}
	if err := g.check(ctx, out); err != nil {
		return fail(err)
	}
	return env, g, now, generate, cleanup, nil
}

// reportGen generates the benchmark's data and the rollups of it.
type reportGen struct {
	db          *store.DB
	engage      *engage.Service
	opt         ReportOptions
	rng         *rand.Rand
	brand       identity.Principal
	brandID     string
	campID      string
	prices      campaign.Prices
	commission  int64 // bps
	creators    []benchCreator
	posts       [][2]string // post id, creator id, in id order
	postCreator []int       // index in creators of each post's creator
	from, to    int64       // unix micros of the data's span
	roll        rollup.Batch
	convClicks  []clickRef
	counted     int64 // conversions that count (not fully refunded)
}

// feeBps is the platform fee on a brand's first campaign
// (ledger.DefaultConfig), taken from every earning the rollups carry.
const feeBps = 1000

func newReportGen(ctx context.Context, out io.Writer, env *demo.Env, opt ReportOptions, start, now time.Time) (*reportGen, error) {
	a := env.App
	g := &reportGen{db: a.DB, engage: a.Engage, opt: opt, rng: rand.New(rand.NewPCG(2026, 11)), from: start.UnixMicro(), to: now.UnixMicro(), commission: 1_000}
	b, _, err := a.Identity.CreateBrand(ctx, "Bench")
	if err != nil {
		return nil, err
	}
	g.brandID = b.ID
	g.brand = identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
	camp, err := a.Campaigns.Create(ctx, g.brand, campaign.Draft{Name: "Bench", Budget: money.New(100_000_000*money.Scale, money.EUR)})
	if err != nil {
		return nil, err
	}
	g.campID = camp.ID
	g.prices = campaign.Prices{View: 1_000, Like: 20_000, Comment: 100_000, Share: 200_000, Save: 50_000}
	setup := campaign.Setup{Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 2 * money.Scale},
		Brief:  campaign.Brief{Product: "Bench", Message: "Bench", LandingURL: "https://bench.example", RequiredHashtags: []string{"#bench"}},
		Prices: g.prices, Performance: campaign.Performance{CommissionBps: g.commission},
		StartsAt: start, EndsAt: start.Add(365 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox}, MinFollowers: 1_000, MaxFollowers: 1_000_000}}
	if _, err := a.Campaigns.Configure(ctx, g.brand, camp.ID, setup); err != nil {
		return nil, err
	}
	if _, err := a.Campaigns.Fund(ctx, g.brand, camp.ID, campaign.FundInput{Reference: "bench"}); err != nil {
		return nil, err
	}
	if _, err := a.Campaigns.Transition(ctx, g.brand, camp.ID, campaign.ActionOpen); err != nil {
		return nil, err
	}

	// Creators connected, accepted, with live posts, a link and a code,
	// through the services as the product makes them.
	st := time.Now()
	placements := []string{"bio", "story-1", "reel-2", "newsletter"}
	for i := 0; i < opt.Creators; i++ {
		handle := fmt.Sprintf("bench_%04d", i)
		c, _, err := a.Identity.CreateCreator(ctx, handle, "DE")
		if err != nil {
			return nil, err
		}
		p := identity.Principal{Role: identity.RoleCreator, SubjectID: c.ID}
		if _, err := a.Sandbox.CreateAccount(ctx, handle, 5_000+int64(i)); err != nil {
			return nil, err
		}
		acc, err := env.Connect(ctx, p, handle)
		if err != nil {
			return nil, err
		}
		ap, err := a.Market.Apply(ctx, p, camp.ID, "bench")
		if err != nil {
			return nil, err
		}
		if _, err := a.Market.Decide(ctx, g.brand, ap.ID, true); err != nil {
			return nil, err
		}
		sp, err := a.Sandbox.PublishMany(ctx, handle, postsPerCreator, "#bench #ad", platform.TypeReel, env.Clock.Now())
		if err != nil {
			return nil, err
		}
		media := make([]platform.Media, len(sp))
		for k, s := range sp {
			media[k] = platform.Media{ID: s.ID, AccountID: s.AccountID, Permalink: s.Permalink, Caption: s.Caption, Type: s.Type, PublishedAt: s.PublishedAt}
		}
		if err := a.Engage.RecordVerified(ctx, camp.ID, c.ID, acc.ID, platform.Sandbox, media); err != nil {
			return nil, err
		}
		l, err := a.Links.Create(ctx, g.brand, camp.ID, links.Draft{CreatorID: c.ID, Placement: placements[i%len(placements)]})
		if err != nil {
			return nil, err
		}
		code, err := a.Attrib.CreateCode(ctx, g.brand, camp.ID, attrib.CodeDraft{CreatorID: c.ID, Code: fmt.Sprintf("BENCH%04d", i)})
		if err != nil {
			return nil, err
		}
		g.creators = append(g.creators, benchCreator{id: c.ID, linkID: l.ID, slug: l.Slug, placement: l.Placement, code: code.Code,
			weight: 0.5 + 1.5*g.rng.Float64()})
	}
	byID := map[string]int{}
	for i, c := range g.creators {
		byID[c.id] = i
	}
	rows, err := store.QueryAll(ctx, a.DB.Read(), func(r store.Scanner) ([2]string, error) {
		var v [2]string
		return v, r.Scan(&v[0], &v[1])
	}, `SELECT id, creator_id FROM posts WHERE campaign_id = $1 ORDER BY id`, camp.ID)
	if err != nil {
		return nil, fmt.Errorf("bench: posts: %w", err)
	}
	g.posts = rows
	for _, r := range rows {
		g.postCreator = append(g.postCreator, byID[r[1]])
	}
	fmt.Fprintf(out, "setup:    %d creators connected and accepted, %d posts, links and codes in %s\n",
		opt.Creators, len(g.posts), time.Since(st).Round(time.Millisecond))
	return g, nil
}

// split divides n over the creators by weight; the shares add up to n.
func (g *reportGen) split(n int) []int {
	var sum float64
	for _, c := range g.creators {
		sum += c.weight
	}
	out := make([]int, len(g.creators))
	left := n
	for i, c := range g.creators {
		out[i] = int(float64(n) * c.weight / sum)
		left -= out[i]
	}
	for i := 0; left > 0; i = (i + 1) % len(out) {
		out[i]++
		left--
	}
	return out
}

// loader writes rows in chunks, one transaction each, and reports progress
// every tenth of total.
type loader struct {
	db           *store.DB
	out          io.Writer
	name, table  string
	cols         []string
	total, done  int
	nextProgress int
	rows         [][]any
	start        time.Time
	// before runs before each write (to write what the rows reference).
	before func(context.Context) error
}

const loadChunk = 10_000

func newLoader(ctx context.Context, db *store.DB, out io.Writer, name, table string, cols []string, total int) (*loader, error) {
	if err := db.PrepareBulk(ctx, table, cols); err != nil {
		return nil, err
	}
	return &loader{db: db, out: out, name: name, table: table, cols: cols, total: total, nextProgress: (total + 9) / 10, start: time.Now()}, nil
}

func (l *loader) add(ctx context.Context, row ...any) error {
	l.rows = append(l.rows, row)
	if len(l.rows) >= loadChunk {
		return l.flush(ctx)
	}
	return nil
}

func (l *loader) flush(ctx context.Context) error {
	if len(l.rows) == 0 {
		return nil
	}
	if l.before != nil {
		if err := l.before(ctx); err != nil {
			return err
		}
	}
	if err := l.db.WithTx(ctx, func(tx *store.Tx) error { return tx.BulkInsert(ctx, l.table, l.cols, l.rows) }); err != nil {
		return err
	}
	l.done += len(l.rows)
	l.rows = l.rows[:0]
	if l.total > 0 && l.done >= l.nextProgress {
		fmt.Fprintf(l.out, "%s %d/%d (%s)\n", l.name, l.done, l.total, time.Since(l.start).Round(100*time.Millisecond))
		for l.done >= l.nextProgress {
			l.nextProgress += (l.total + 9) / 10
		}
	}
	return nil
}

var clickEnc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// clickID makes a click id as links.ClickID does (the slug, then 5 bytes
// of the millisecond and 5 more), with a counter in place of the random
// bytes so it is unique and the run repeatable.
func clickID(slug string, micros int64, n uint64) string {
	var b [10]byte
	ms := uint64(micros / 1000)
	for i := 4; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	for i := 9; i >= 5; i-- {
		b[i] = byte(n)
		n >>= 8
	}
	return slug + clickEnc.EncodeToString(b[:])
}

var (
	benchCountries = []string{"DE", "DE", "DE", "AT", "CH", "FR", "NL", "US", "GB", "PL"}
	benchDevices   = []string{"mobile", "mobile", "mobile", "desktop", "tablet"}
	benchReferrers = []string{"instagram.com", "l.instagram.com", "tiktok.com", "youtube.com", "", "t.co"}
)

// clicks writes the clicks, link by link in time order (as the clustered
// SQLite table and clicks_link keep them), and picks those orders will be
// attributed to.
func (g *reportGen) clicks(ctx context.Context, out io.Writer) error {
	cols := []string{"link_id", "click_id", "at", "visitor", "country", "device", "referrer_host", "bot", "is_unique"}
	l, err := newLoader(ctx, g.db, out, "clicks", "clicks", cols, g.opt.Clicks)
	if err != nil {
		return err
	}
	// About 55 % of the orders come through a click, the rest by code.
	byClick := float64(g.opt.Conversions) * 0.55 / (0.95 * float64(max(g.opt.Clicks, 1)))
	var n uint64
	var vis [16]byte
	for ci, c := range g.split(g.opt.Clicks) {
		cr := g.creators[ci]
		at := make([]int64, c)
		for i := range at {
			at[i] = g.from + g.rng.Int64N(g.to-g.from)
		}
		slices.Sort(at)
		for _, t := range at {
			n++
			bot := g.rng.Float64() < 0.05
			unique := !bot && g.rng.Float64() < 0.6
			v := g.rng.Uint64N(1_500_000)
			for i := range 8 {
				vis[i], vis[8+i] = byte(v>>(8*i)), byte(v*0x9e3779b97f4a7c15>>(8*i))
			}
			cid := clickID(cr.slug, t, n)
			if err := l.add(ctx, cr.linkID, cid, t, hex.EncodeToString(vis[:]), benchCountries[g.rng.IntN(len(benchCountries))],
				benchDevices[g.rng.IntN(len(benchDevices))], benchReferrers[g.rng.IntN(len(benchReferrers))], bot, unique); err != nil {
				return err
			}
			k := rollup.Key{Campaign: g.campID, Creator: cr.id, Placement: cr.placement, Day: rollup.DayOf(t)}
			switch {
			case bot:
				g.roll.Add(k, rollup.ClicksBot, 1)
			case unique:
				g.roll.Add(k, rollup.ClicksHuman, 1)
				g.roll.Add(k, rollup.ClicksUnique, 1)
			default:
				g.roll.Add(k, rollup.ClicksHuman, 1)
			}
			if !bot && len(g.convClicks) < g.opt.Conversions && g.rng.Float64() < byClick {
				g.convClicks = append(g.convClicks, clickRef{creator: ci, clickID: cid, at: t})
			}
		}
	}
	return l.flush(ctx)
}

// snapshots writes each post's snapshots, evenly spaced over the span with
// growing counts, and rolls up the growth between them (the first
// snapshot's counts are growth from zero) and the earnings it pays.
func (g *reportGen) snapshots(ctx context.Context, out io.Writer) error {
	if len(g.posts) == 0 {
		return nil
	}
	cols := []string{"post_id", "taken_at", "views", "likes", "comments", "shares", "saves", "billable"}
	l, err := newLoader(ctx, g.db, out, "snapshots", "post_snapshots", cols, g.opt.Snapshots)
	if err != nil {
		return err
	}
	type mark struct {
		post   string
		counts [5]int64
		last   int64
	}
	marks := make([]mark, 0, len(g.posts))
	gross := map[rollup.Key]int64{}
	price := [5]int64{g.prices.View, g.prices.Like, g.prices.Comment, g.prices.Share, g.prices.Save}
	maxGrowth := [5]int64{400, 30, 6, 3, 4}
	per, extra := g.opt.Snapshots/len(g.posts), g.opt.Snapshots%len(g.posts)
	for pi, p := range g.posts {
		n := per
		if pi < extra {
			n++
		}
		cr := g.creators[g.postCreator[pi]]
		var counts [5]int64
		step := (g.to - g.from) / int64(n+1)
		var t int64
		for k := 0; k < n; k++ {
			t = g.from + int64(k+1)*step + g.rng.Int64N(max(step/2, 1))
			key := rollup.Key{Campaign: g.campID, Creator: cr.id, Day: rollup.DayOf(t)}
			for m := range counts {
				d := g.rng.Int64N(maxGrowth[m] + 1)
				counts[m] += d
				g.roll.Add(key, rollup.Views+rollup.Col(m), d)
				gross[key] += d * price[m]
			}
			if err := l.add(ctx, p[0], t, counts[0], counts[1], counts[2], counts[3], counts[4], true); err != nil {
				return err
			}
		}
		marks = append(marks, mark{post: p[0], counts: counts, last: t})
	}
	if err := l.flush(ctx); err != nil {
		return err
	}
	for k, v := range gross {
		fee := money.FloorBps(v, feeBps)
		g.roll.Add(k, rollup.EarnInteractions, v-fee)
		g.roll.Add(k, rollup.Fees, fee)
	}
	// The posts' high-water marks are where their last snapshot left them.
	byCreator := map[string][]engage.ImportedMarks{}
	for i, m := range marks {
		var billed int64
		for k, c := range m.counts {
			billed += c * price[k]
		}
		cr := g.creators[g.postCreator[i]].id
		byCreator[cr] = append(byCreator[cr], engage.ImportedMarks{PostID: m.post, Billed: m.counts, Requested: billed, LastPolled: m.last})
	}
	for cr, ms := range byCreator {
		if err := g.engage.RestoreMarks(ctx, g.campID, cr, ms); err != nil {
			return fmt.Errorf("bench: post marks: %w", err)
		}
	}
	return nil
}

// conversions writes the orders, their refunds and their conversions: one
// per picked click (method click), the rest by discount code; about 3 %
// refunded, two thirds of those in full. It rolls up what attribution
// would: conversions, redemptions, net revenue and refunds under the
// link's placement for clicks and ” for codes, and the commission earned
// (net of the fee) under ”.
func (g *reportGen) conversions(ctx context.Context, out io.Writer) error {
	total := g.opt.Conversions
	ol, err := newLoader(ctx, g.db, io.Discard, "orders", "orders", []string{"id", "brand_id", "channel", "source", "external_id", "amount",
		"currency", "discount_codes", "customer_id", "click_id", "status", "placed_at", "received_at", "updated_at", "request_hash"}, total)
	if err != nil {
		return err
	}
	cl, err := newLoader(ctx, g.db, out, "conversions", "conversions", []string{"order_id", "brand_id", "campaign_id", "creator_id", "method",
		"code", "click_id", "link_id", "clicked_at", "amount", "currency", "refunded", "status", "placed_at", "commission_asked",
		"cpa_asked", "note", "revision", "created_at", "updated_at"}, total)
	if err != nil {
		return err
	}
	rl, err := newLoader(ctx, g.db, io.Discard, "refunds", "order_refunds", []string{"order_id", "refund_id", "amount", "currency", "created_at"}, 0)
	if err != nil {
		return err
	}
	rl.before, cl.before = ol.flush, ol.flush
	var weights []float64
	var sum float64
	for _, c := range g.creators {
		sum += c.weight
		weights = append(weights, sum)
	}
	cur := string(money.EUR)
	for i := 0; i < total; i++ {
		var (
			cr        int
			method    = attrib.MethodCode
			clickID   string
			clickedAt int64
			placed    int64
		)
		if i < len(g.convClicks) {
			c := g.convClicks[i]
			cr, method, clickID, clickedAt = c.creator, attrib.MethodClick, c.clickID, c.at
			placed = min(c.at+1_000_000*(60+g.rng.Int64N(3*86_400)), g.to-1)
		} else {
			x := g.rng.Float64() * sum
			cr, _ = slices.BinarySearch(weights, x)
			cr = min(cr, len(g.creators)-1)
			placed = g.from + g.rng.Int64N(g.to-g.from)
		}
		c := g.creators[cr]
		amount := (10_00 + g.rng.Int64N(240_00)) * 10_000 // 10.00 to 249.99 EUR
		status, refunded := "paid", int64(0)
		if g.rng.Float64() < 0.03 {
			if g.rng.IntN(3) < 2 {
				status, refunded = "refunded", amount
			} else {
				status, refunded = "partially_refunded", amount/2/10_000*10_000
			}
		}
		updated := placed + 1_000_000
		if refunded > 0 {
			updated = min(placed+2*86_400_000_000, g.to-1)
		}
		oid := id.New(orders.OrderPrefix)
		codes, code, linkID := "[]", "", c.linkID
		if method == attrib.MethodCode {
			code, linkID = c.code, ""
			codes = `["` + code + `"]`
		}
		net := amount - refunded
		var commission, revision int64
		if net > 0 {
			commission, revision = money.FloorBps(net, g.commission), 1
		}
		if refunded > 0 {
			revision++ // paid in full first, then taken back (in part)
		}
		if err := ol.add(ctx, oid, g.brandID, "api", "api", "bench-"+strconv.Itoa(i), amount, cur, codes,
			"cus_"+strconv.FormatUint(g.rng.Uint64N(uint64(max(total*3/4, 1))), 10), clickID, status, placed, placed+1_000_000, updated, ""); err != nil {
			return err
		}
		if refunded > 0 {
			if err := rl.add(ctx, oid, "r1", refunded, cur, updated); err != nil {
				return err
			}
		}
		if err := cl.add(ctx, oid, g.brandID, g.campID, c.id, method, code, clickID, linkID,
			clickedAt, amount, cur, refunded, status, placed, commission, int64(0), "", revision, placed+1_000_000, updated); err != nil {
			return err
		}
		placement := ""
		if method == attrib.MethodClick {
			placement = c.placement
		}
		k := rollup.Key{Campaign: g.campID, Creator: c.id, Placement: placement, Day: rollup.DayOf(placed)}
		g.roll.Add(k, rollup.Refunded, refunded)
		if net > 0 && status != "refunded" {
			g.counted++
			g.roll.Add(k, rollup.Conversions, 1)
			if method == attrib.MethodCode {
				g.roll.Add(k, rollup.Redemptions, 1)
			}
			g.roll.Add(k, rollup.Revenue, net)
		}
		ek := rollup.Key{Campaign: g.campID, Creator: c.id, Day: rollup.DayOf(placed)}
		fee := money.FloorBps(commission, feeBps)
		g.roll.Add(ek, rollup.EarnCommission, commission-fee)
		g.roll.Add(ek, rollup.Fees, fee)
	}
	if err := rl.flush(ctx); err != nil {
		return err
	}
	return cl.flush(ctx)
}

// rollups writes the rollups of everything generated, in one transaction.
func (g *reportGen) rollups(ctx context.Context, out io.Writer) error {
	fmt.Fprintf(out, "rollups %d rows\n", g.roll.Len())
	return g.db.WithTx(ctx, func(tx *store.Tx) error { return g.roll.Flush(ctx, tx) })
}

func (g *reportGen) printSizes(ctx context.Context, out io.Writer) error {
	fmt.Fprintf(out, "table sizes:")
	for _, t := range []string{"clicks", "post_snapshots", "orders", "order_refunds", "conversions", "posts", "links", "rollups"} {
		var n int64
		if err := g.db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t).Scan(&n); err != nil {
			return fmt.Errorf("bench: count %s: %w", t, err)
		}
		fmt.Fprintf(out, " %s %d", t, n)
	}
	fmt.Fprintln(out)
	return nil
}

// check compares the rollups with the raw tables they summarize: clicks
// (human, bot, unique), conversions that count, net revenue, refunds and
// views (each post's last snapshot).
func (g *reportGen) check(ctx context.Context, out io.Writer) error {
	st := time.Now()
	q := g.db.Read()
	pairs := []struct{ what, raw, roll string }{
		{"clicks", `SELECT COALESCE(SUM(CASE WHEN bot THEN 0 ELSE 1 END), 0), COALESCE(SUM(CASE WHEN bot THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN is_unique THEN 1 ELSE 0 END), 0) FROM clicks`,
			`SELECT COALESCE(SUM(clicks_human), 0), COALESCE(SUM(clicks_bot), 0), COALESCE(SUM(clicks_unique), 0) FROM rollups`},
		{"conversions", `SELECT COUNT(*), COALESCE(SUM(amount - refunded), 0), COALESCE(SUM(CASE WHEN method = 'code' THEN 1 ELSE 0 END), 0)
			FROM conversions WHERE amount > refunded AND status <> 'refunded'`,
			`SELECT COALESCE(SUM(conversions), 0), COALESCE(SUM(revenue), 0), COALESCE(SUM(redemptions), 0) FROM rollups`},
		{"engagement", `SELECT (SELECT COALESCE(SUM(refunded), 0) FROM conversions), COALESCE(SUM(v), 0), COALESCE(SUM(l), 0)
			FROM (SELECT MAX(views) AS v, MAX(likes) AS l FROM post_snapshots GROUP BY post_id) s`,
			`SELECT COALESCE(SUM(refunded), 0), COALESCE(SUM(views), 0), COALESCE(SUM(likes), 0) FROM rollups`},
	}
	for _, p := range pairs {
		var raw, roll [3]int64
		if err := q.QueryRowContext(ctx, p.raw).Scan(&raw[0], &raw[1], &raw[2]); err != nil {
			return fmt.Errorf("bench: check %s: %w", p.what, err)
		}
		if err := q.QueryRowContext(ctx, p.roll).Scan(&roll[0], &roll[1], &roll[2]); err != nil {
			return fmt.Errorf("bench: check %s: %w", p.what, err)
		}
		if raw != roll {
			return fmt.Errorf("bench: %s: the raw tables give %v, the rollups %v", p.what, raw, roll)
		}
	}
	fmt.Fprintf(out, "rollups agree with the raw tables (clicks, conversions, revenue, refunds, views, likes), checked in %s\n",
		time.Since(st).Round(time.Millisecond))
	return nil
}
