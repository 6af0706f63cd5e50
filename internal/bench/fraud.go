package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/store"
)

// FraudOptions configure the fraud benchmark.
type FraudOptions struct {
	DBURL    string // PostgreSQL URL, or "" for a temporary SQLite file
	Seed     uint64
	Creators int // creators, spread over Campaigns campaigns
	Days     int // simulated days, polled every hour
	// Campaigns the creators are spread over (each judged apart).
	Campaigns int
	// CheatShare is the share of creators who cheat (about one in ten).
	CheatShare float64
	// ViralShare is the share of honest creators one of whose posts goes viral.
	ViralShare float64
}

// DefaultFraudOptions is the population: 1,000 creators over 30 days.
var DefaultFraudOptions = FraudOptions{Seed: 1, Creators: 1000, Days: 30, Campaigns: 10, CheatShare: 0.10, ViralShare: 0.08}

// FraudResult is what the fraud benchmark measured.
type FraudResult struct {
	Cheaters, Honest, HonestViral       int
	TruePos, FalsePos, ViralFlagged     int
	Precision, Recall, ViralFPR, F1     float64
	HeldCheat, HeldHonest, EarnedCheat  int64 // micro-units
	EarnedHonest                        int64
	TickBase, TickDetect                time.Duration // mean per tick
	Flags                               int
	Missed                              map[string]int // cheat kind → cheaters of that kind not flagged
	ByKind                              map[string]int // cheat kind → cheaters
	FalseByDetector, TrueByDetector     map[string]int
	Readings, Clicks, Orders, TickCount int
}

// Cheat kinds the population uses.
const (
	kindLikeFarm  = "like_farm"
	kindViewBots  = "view_bots"
	kindClickFarm = "click_farm"
	kindRing      = "click_ring"
	kindSelfBuy   = "self_purchase"
	kindOrders    = "bought_orders"
)

var cheatKinds = []string{kindLikeFarm, kindViewBots, kindClickFarm, kindRing, kindSelfBuy, kindOrders}

// Prices of the simulated campaigns, in micro-units.
const (
	priceView    = 2_000
	priceLike    = 10_000
	priceComment = 50_000
	commission   = 5_000_000
)

type simPost struct {
	id        string
	publish   int // tick
	counts    [5]int64
	viralAt   int // tick the viral rise starts, or -1
	viralPeak float64
	cheatAt   int // tick of the like farm / view bots, or -1
}

type simCreator struct {
	id, email   string
	campaign    int
	reach       float64 // views per hour of a fresh post
	likeRate    float64
	kinds       map[string]bool
	viral       bool
	posts       []*simPost
	ring        int // ring group, or -1
	dayClicks   []int64
	dayBillable []int64
	dayOrders   []int64
}

// Fraud runs the fraud benchmark: a seeded population of creators (about
// one in ten cheating in one or two ways, some honest ones with a post that
// goes viral) simulated hour by hour over Days. Each tick the posts'
// readings and earnings are written to the database (the base tick); with
// detection, the engagement detectors (fraud.DetectEngagement) judge the
// readings per campaign each tick and the click and sales detectors judge
// each day's clicks and orders (coordinated clicking across campaigns too),
// raising flags with fraud.Raise in the same
// database. It prints precision and recall per creator, the false-positive
// rate among honest creators with a viral post, the money held, and the
// time per tick with and without detection; the last line is "ratio: X.XX"
// = F1.
//
// It is not the full HTTP pipeline: the sandbox platform's counters, the
// redirect and the store webhooks are played in process (the same
// detectors, the same flags and holds), so that 1,000 creators over 30 days
// run in minutes on a 2-core machine.
func Fraud(ctx context.Context, out io.Writer, opt FraudOptions) (FraudResult, error) {
	var res FraudResult
	if opt.Creators < 10 || opt.Days < 3 || opt.Campaigns < 1 {
		return res, fmt.Errorf("bench fraud: at least 10 creators, 3 days and 1 campaign")
	}
	db, desc, cleanup, err := TempDB(ctx, opt.DBURL)
	if err != nil {
		return res, err
	}
	defer cleanup()
	if _, err := db.Writer().ExecContext(ctx, `CREATE TABLE bench_readings (post_id TEXT NOT NULL, at BIGINT NOT NULL,
		views BIGINT NOT NULL, likes BIGINT NOT NULL, comments BIGINT NOT NULL, shares BIGINT NOT NULL, saves BIGINT NOT NULL)`); err != nil {
		return res, fmt.Errorf("bench fraud: %w", err)
	}
	if _, err := db.Writer().ExecContext(ctx, `CREATE TABLE bench_earnings (creator_id TEXT NOT NULL, campaign_id TEXT NOT NULL,
		accrued_at BIGINT NOT NULL, amount BIGINT NOT NULL)`); err != nil {
		return res, fmt.Errorf("bench fraud: %w", err)
	}
	fmt.Fprintf(out, "payper bench fraud: %d creators over %d days (hourly ticks), %d campaigns, seed %d, on %s\n",
		opt.Creators, opt.Days, opt.Campaigns, opt.Seed, desc)

	r := rand.New(rand.NewPCG(opt.Seed, 0xf4a0d))
	ticks := opt.Days * 24
	const hour = int64(time.Hour / time.Microsecond)
	t0 := int64(1_800_000_000) * 1_000_000
	t0 -= t0 % (24 * hour)
	cs := population(r, opt, ticks)
	res.ByKind, res.Missed = map[string]int{}, map[string]int{}
	res.TrueByDetector, res.FalseByDetector = map[string]int{}, map[string]int{}
	for _, c := range cs {
		if len(c.kinds) > 0 {
			res.Cheaters++
			for k := range c.kinds {
				res.ByKind[k]++
			}
		} else {
			res.Honest++
			if c.viral {
				res.HonestViral++
			}
		}
	}
	camp := func(i int) string { return fmt.Sprintf("cmp_%02d", i) }
	series := make([]map[string]*fraud.Series, opt.Campaigns)
	for i := range series {
		series[i] = map[string]*fraud.Series{}
	}
	flagged := map[string][]fraud.Flag{}
	earnings := map[string][]earning{}
	var dayClicks [][]fraud.Click
	var dayOrders [][]fraud.Order
	ringVisitors := 12

	var base, detect time.Duration
	for tick := 0; tick < ticks; tick++ {
		at := t0 + int64(tick+1)*hour
		day := tick / 24
		if tick%24 == 0 {
			dayClicks = make([][]fraud.Click, opt.Campaigns)
			dayOrders = make([][]fraud.Order, opt.Campaigns)
		}
		start := time.Now()
		// The base tick: grow the posts, read them, bill the growth, and
		// generate the hour's clicks and orders.
		readings := make([][]fraud.Reading, opt.Campaigns)
		var rows, erows [][]any
		for _, c := range cs {
			var earned int64
			for _, p := range c.posts {
				if tick < p.publish || tick > p.publish+7*24 {
					continue
				}
				before := p.counts
				grow(r, c, p, tick)
				rd := fraud.Reading{PostID: p.id, CreatorID: c.id, At: at, Counts: p.counts, Known: [5]bool{true, true, true, true, true}}
				readings[c.campaign] = append(readings[c.campaign], rd)
				rows = append(rows, []any{p.id, at, p.counts[0], p.counts[1], p.counts[2], p.counts[3], p.counts[4]})
				d := [5]int64{}
				for m := range d {
					d[m] = max(0, p.counts[m]-before[m])
				}
				earned += d[0]*priceView + d[1]*priceLike + d[2]*priceComment
			}
			cl, or := clicksAndOrders(r, c, tick, at, hour, day, ringVisitors)
			dayClicks[c.campaign] = append(dayClicks[c.campaign], cl...)
			dayOrders[c.campaign] = append(dayOrders[c.campaign], or...)
			earned += int64(len(or)) * commission
			res.Clicks += len(cl)
			res.Orders += len(or)
			if earned > 0 {
				earnings[c.id] = append(earnings[c.id], earning{campaign: camp(c.campaign), at: at, amount: earned})
				erows = append(erows, []any{c.id, camp(c.campaign), at, earned})
			}
		}
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			if err := tx.BulkInsert(ctx, "bench_readings", []string{"post_id", "at", "views", "likes", "comments", "shares", "saves"}, rows); err != nil {
				return err
			}
			return tx.BulkInsert(ctx, "bench_earnings", []string{"creator_id", "campaign_id", "accrued_at", "amount"}, erows)
		}); err != nil {
			return res, fmt.Errorf("bench fraud: tick %d: %w", tick, err)
		}
		res.Readings += len(rows)
		mid := time.Now()
		base += mid.Sub(start)

		// Detection.
		var fs []fraud.Flag
		for i := range readings {
			f, _ := fraud.DetectEngagement(camp(i), fraud.Moderate, series[i], readings[i])
			fs = append(fs, f...)
		}
		if tick%24 == 23 {
			from, to := clock.Micros(t0+int64(day)*24*hour), clock.Micros(t0+int64(day+1)*24*hour)
			var all []fraud.Click
			for i := range dayClicks {
				all = append(all, dayClicks[i]...)
			}
			fs = append(fs, fraud.LockstepFlags(all, fraud.Moderate, from, to)...)
			for i := range dayClicks {
				fs = append(fs, fraud.ClickFlags(dayClicks[i], fraud.Moderate, camp(i), from, to)...)
				in := fraud.SalesInput{CampaignID: camp(i), From: from, To: to, Orders: dayOrders[i],
					Billable: map[string]int64{}, History: map[string][]float64{}, CreatorEmails: map[string][]string{}}
				for _, c := range cs {
					if c.campaign != i {
						continue
					}
					in.Billable[c.id] = c.dayBillable[day]
					in.CreatorEmails[c.id] = []string{c.email}
					for d := max(0, day-7); d < day; d++ {
						if c.dayBillable[d] > 0 {
							in.History[c.id] = append(in.History[c.id], float64(c.dayOrders[d])/float64(c.dayBillable[d]))
						}
					}
				}
				fs = append(fs, fraud.SalesFlags(in, fraud.Moderate)...)
			}
		}
		if len(fs) > 0 {
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				for _, f := range fs {
					got, created, err := fraud.Raise(ctx, tx, clock.Micros(at), f)
					if err != nil {
						return err
					}
					if created {
						flagged[got.CreatorID] = append(flagged[got.CreatorID], got)
					}
				}
				return nil
			}); err != nil {
				return res, fmt.Errorf("bench fraud: raise: %w", err)
			}
		}
		detect += time.Since(mid)
	}
	res.TickCount = ticks
	res.TickBase, res.TickDetect = base/time.Duration(ticks), detect/time.Duration(ticks)

	for _, c := range cs {
		cheat := len(c.kinds) > 0
		fl := flagged[c.id]
		res.Flags += len(fl)
		var earned, held int64
		for _, e := range earnings[c.id] {
			earned += e.amount
			for _, f := range fl {
				if f.HoldsOne("", e.campaign, c.id, clock.Micros(e.at)) {
					held += e.amount
					break
				}
			}
		}
		dets := map[string]bool{}
		for _, f := range fl {
			dets[f.Detector] = true
		}
		switch {
		case cheat && len(fl) > 0:
			res.TruePos++
			for d := range dets {
				res.TrueByDetector[d]++
			}
		case cheat:
			for k := range c.kinds {
				res.Missed[k]++
			}
		case len(fl) > 0:
			res.FalsePos++
			for d := range dets {
				res.FalseByDetector[d]++
			}
			if c.viral {
				res.ViralFlagged++
			}
		}
		if cheat {
			res.EarnedCheat += earned
			res.HeldCheat += held
		} else {
			res.EarnedHonest += earned
			res.HeldHonest += held
		}
	}
	if res.TruePos+res.FalsePos > 0 {
		res.Precision = float64(res.TruePos) / float64(res.TruePos+res.FalsePos)
	}
	if res.Cheaters > 0 {
		res.Recall = float64(res.TruePos) / float64(res.Cheaters)
	}
	if res.HonestViral > 0 {
		res.ViralFPR = float64(res.ViralFlagged) / float64(res.HonestViral)
	}
	if res.Precision+res.Recall > 0 {
		res.F1 = 2 * res.Precision * res.Recall / (res.Precision + res.Recall)
	}
	printFraud(out, res)
	return res, nil
}

type earning struct {
	campaign string
	at       int64
	amount   int64
}

// population makes the seeded creators.
func population(r *rand.Rand, opt FraudOptions, ticks int) []*simCreator {
	cs := make([]*simCreator, opt.Creators)
	ringSize, ring, inRing := 5, 0, 0
	for i := range cs {
		c := &simCreator{id: fmt.Sprintf("crt_%04d", i), campaign: i % opt.Campaigns, kinds: map[string]bool{}, ring: -1,
			reach: math.Exp(5 + 2*r.NormFloat64()*0.6), likeRate: 0.03 + 0.05*r.Float64()}
		c.email = fmt.Sprintf("creator.%d@gmail.com", i)
		c.dayClicks, c.dayBillable, c.dayOrders = make([]int64, opt.Days), make([]int64, opt.Days), make([]int64, opt.Days)
		if r.Float64() < opt.CheatShare {
			n := 1 + r.IntN(2)
			for range n {
				c.kinds[cheatKinds[r.IntN(len(cheatKinds))]] = true
			}
		} else if r.Float64() < opt.ViralShare {
			c.viral = true
		}
		posts := 2 + r.IntN(3)
		for j := range posts {
			p := &simPost{id: fmt.Sprintf("pst_%04d_%d", i, j), publish: r.IntN(max(1, ticks-7*24)), viralAt: -1, cheatAt: -1}
			c.posts = append(c.posts, p)
		}
		sort.Slice(c.posts, func(a, b int) bool { return c.posts[a].publish < c.posts[b].publish })
		if c.viral {
			p := c.posts[len(c.posts)-1]
			p.viralAt, p.viralPeak = p.publish+2+r.IntN(30), 10+40*r.Float64()
		}
		if c.kinds[kindLikeFarm] || c.kinds[kindViewBots] {
			p := c.posts[len(c.posts)-1]
			p.cheatAt = p.publish + 12 + r.IntN(72)
		}
		cs[i] = c
	}
	// Ring members click each other's links: groups of ringSize (a last
	// group smaller than 3 is dissolved into click farms).
	var members []*simCreator
	for _, c := range cs {
		if c.kinds[kindRing] {
			members = append(members, c)
		}
	}
	for i, c := range members {
		if len(members)-i+inRing < 3 && inRing == 0 {
			delete(c.kinds, kindRing)
			c.kinds[kindClickFarm] = true
			continue
		}
		c.ring = ring
		if inRing++; inRing == ringSize {
			ring, inRing = ring+1, 0
		}
	}
	return cs
}

// grow adds one hour's growth to post p of creator c at tick.
func grow(r *rand.Rand, c *simCreator, p *simPost, tick int) {
	age := float64(tick - p.publish)
	hourOfDay := tick % 24
	diurnal := 0.6 + 0.8*math.Max(0, math.Sin(float64(hourOfDay-6)/24*2*math.Pi))
	v := c.reach * (math.Exp(-age/18) + 0.05) * diurnal
	if p.viralAt >= 0 && tick >= p.viralAt {
		x := float64(tick - p.viralAt)
		// A logistic rise over about 8 hours, then a slow fall.
		v *= 1 + p.viralPeak/(1+math.Exp(-(x-6)/1.5))*math.Exp(-math.Max(0, x-18)/24)
	}
	noise := func(x float64) int64 { return int64(math.Max(0, math.Round(x*(0.8+0.4*r.Float64())))) }
	views := noise(v)
	likes := noise(float64(views) * c.likeRate)
	p.counts[0] += views
	p.counts[1] += likes
	p.counts[2] += noise(float64(likes) * 0.04)
	p.counts[3] += noise(float64(views) * 0.004)
	p.counts[4] += noise(float64(views) * 0.005)
	if tick == p.cheatAt {
		if c.kinds[kindLikeFarm] {
			n := int64(2000 + r.IntN(15000))
			p.counts[1] += n
			p.counts[0] += n / 50
			p.counts[2] += n / 200
		}
		if c.kinds[kindViewBots] {
			n := int64(20_000 + r.IntN(80_000))
			p.counts[0] += n
			p.counts[1] += n / 1000
		}
	}
}

// clicksAndOrders makes creator c's clicks and orders in the hour ending
// at at.
func clicksAndOrders(r *rand.Rand, c *simCreator, tick int, at, hour int64, day, ringVisitors int) ([]fraud.Click, []fraud.Order) {
	var views int64
	for _, p := range c.posts {
		if tick >= p.publish && tick <= p.publish+7*24 {
			views += int64(c.reach * (math.Exp(-float64(tick-p.publish)/18) + 0.05))
			if p.viralAt >= 0 && tick >= p.viralAt && tick < p.viralAt+36 {
				views += int64(c.reach * p.viralPeak / 2)
			}
		}
	}
	from := at - hour
	var cl []fraud.Click
	var or []fraud.Order
	seen := map[string]bool{}
	add := func(visitor string, t int64, bot bool) fraud.Click {
		k := fraud.Click{LinkID: "lnk_" + c.id, CreatorID: c.id, At: clock.Micros(t), Visitor: visitor, Bot: bot}
		if !bot && !seen[visitor] {
			k.Unique, seen[visitor] = true, true
		}
		cl = append(cl, k)
		return k
	}
	n := poisson(r, float64(views)*0.004)
	for range n {
		t := from + r.Int64N(hour)
		v := fmt.Sprintf("v%d", r.Int64())
		k := add(v, t, r.Float64() < 0.05)
		if !k.Bot && r.Float64() < 0.08 {
			add(v, t+r.Int64N(hour/4), false)
		}
		if k.Unique && r.Float64() < 0.025 {
			ctit := int64(15e6 + r.ExpFloat64()*20*60e6)
			if r.Float64() < 0.01 {
				ctit = int64(3e6 + r.Int64N(6e6))
			}
			or = append(or, fraud.Order{OrderID: fmt.Sprintf("ord_%s_%d_%d", c.id, tick, len(or)), CreatorID: c.id,
				ClickedAt: clock.Micros(t), PlacedAt: clock.Micros(t + ctit), ClickVisitor: v, OrderVisitor: fmt.Sprintf("o%d", r.Int64()),
				CustomerEmail: fmt.Sprintf("buyer%d@example.org", r.Int64N(1e9))})
		}
	}
	hod := tick % 24
	if c.kinds[kindClickFarm] && hod >= 9 && hod < 15 {
		devices := 10 + r.IntN(10)
		for range 40 + r.IntN(40) {
			d := r.IntN(devices)
			add(fmt.Sprintf("farm_%s_%d", c.id, d), from+r.Int64N(hour), r.Float64() < 0.2)
		}
	}
	if c.ring >= 0 && hod == 20 && day%2 == 0 {
		base := from + int64(30*60e6)
		for v := range ringVisitors {
			add(fmt.Sprintf("ring_%d_%d", c.ring, v), base+r.Int64N(int64(10*60e6)), false)
		}
	}
	if c.kinds[kindSelfBuy] && hod == 21 && day%3 == 1 {
		t := from + r.Int64N(hour/2)
		k := add(fmt.Sprintf("self_%s", c.id), t, false)
		email := c.email
		if r.IntN(2) == 0 {
			email = strings.Replace(strings.Replace(c.email, ".", "", 1), "@", fmt.Sprintf("+%d@", day), 1)
		}
		or = append(or, fraud.Order{OrderID: fmt.Sprintf("ord_%s_%d_self", c.id, tick), CreatorID: c.id, ClickedAt: k.At,
			PlacedAt: k.At + clock.Micros(2e6+r.Int64N(5e6)), ClickVisitor: k.Visitor, OrderVisitor: k.Visitor, CustomerEmail: email})
	}
	if c.kinds[kindOrders] && hod == 14 && day%4 == 2 {
		for i := range 8 + r.IntN(10) {
			t := from + r.Int64N(hour)
			or = append(or, fraud.Order{OrderID: fmt.Sprintf("ord_%s_%d_b%d", c.id, tick, i), CreatorID: c.id, PlacedAt: clock.Micros(t),
				CustomerEmail: fmt.Sprintf("buyer%d@example.org", r.Int64N(1e9))})
		}
	}
	for _, k := range cl {
		c.dayClicks[day]++
		if k.Unique {
			c.dayBillable[day]++
		}
	}
	c.dayOrders[day] += int64(len(or))
	return cl, or
}

// poisson draws a Poisson count of mean m (normal approximation above 30).
func poisson(r *rand.Rand, m float64) int {
	if m <= 0 {
		return 0
	}
	if m > 30 {
		return max(0, int(math.Round(m+math.Sqrt(m)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-m), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func eur(micros int64) string { return fmt.Sprintf("%.2f EUR", float64(micros)/1e6) }

func printFraud(out io.Writer, res FraudResult) {
	fmt.Fprintf(out, "population: %d cheaters, %d honest (%d with a viral post); %d ticks, %d readings, %d clicks, %d orders, %d flags\n",
		res.Cheaters, res.Honest, res.HonestViral, res.TickCount, res.Readings, res.Clicks, res.Orders, res.Flags)
	kinds := make([]string, 0, len(res.ByKind))
	for k := range res.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(out, "  cheat %-14s %3d cheaters, %3d of them not flagged\n", k, res.ByKind[k], res.Missed[k])
	}
	for _, m := range []struct {
		name string
		by   map[string]int
	}{{"cheaters flagged by", res.TrueByDetector}, {"honest flagged by", res.FalseByDetector}} {
		ds := make([]string, 0, len(m.by))
		for d := range m.by {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		for _, d := range ds {
			fmt.Fprintf(out, "  %s %-22s %d\n", m.name, d, m.by[d])
		}
	}
	fmt.Fprintf(out, "precision: %.3f (%d of %d flagged creators cheat)\n", res.Precision, res.TruePos, res.TruePos+res.FalsePos)
	fmt.Fprintf(out, "recall: %.3f (%d of %d cheaters flagged)\n", res.Recall, res.TruePos, res.Cheaters)
	fmt.Fprintf(out, "honest viral false-positive rate: %.3f (%d of %d)\n", res.ViralFPR, res.ViralFlagged, res.HonestViral)
	fmt.Fprintf(out, "held from cheaters: %s of %s earned; from honest creators: %s of %s\n",
		eur(res.HeldCheat), eur(res.EarnedCheat), eur(res.HeldHonest), eur(res.EarnedHonest))
	over := 0.0
	if res.TickBase > 0 {
		over = float64(res.TickDetect) / float64(res.TickBase)
	}
	fmt.Fprintf(out, "time per tick: %v without detection, %v with (+%.0f %%)\n", res.TickBase.Round(time.Microsecond),
		(res.TickBase + res.TickDetect).Round(time.Microsecond), 100*over)
	fmt.Fprintf(out, "ratio: %.2f\n", res.F1)
}
