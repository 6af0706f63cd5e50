package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
)

// Options configure a demo run.
type Options struct {
	// DBPath is the SQLite file to build the world in; it must not exist
	// yet. "" means a temporary file, removed afterwards.
	DBPath string
	// Seed makes the simulated engagement reproducible.
	Seed uint64
	// Days is how long the campaign runs (default 14).
	Days int
	// Progress receives one line per simulated day (nil: none).
	Progress io.Writer
}

// Summary is what the demo reports.
type Summary struct {
	Database string       `json:"database"`
	Campaign string       `json:"campaign_id"`
	Name     string       `json:"campaign_name"`
	State    string       `json:"state"`
	Reason   string       `json:"state_reason,omitempty"`
	Budget   money.Amount `json:"budget"`
	Funded   money.Amount `json:"funded"`
	Spent    money.Amount `json:"spent"`
	Fee      money.Amount `json:"fee"`
	FeeBps   int64        `json:"fee_bps"`
	// CreatorEarnings is what creators earned net of the fee.
	CreatorEarnings money.Amount `json:"creator_earnings"`
	// Remaining is the escrow left when billing stopped, refunded at close.
	Remaining money.Amount `json:"remaining"`
	Refunded  money.Amount `json:"refunded"`
	Prices    PriceList    `json:"prices"`
	Creators  []CreatorRow `json:"creators"`
	// Refused is the non-compliant post the brief turned away, with what it lacked.
	Refused  []string `json:"refused_post_missing"`
	Days     []DayRow `json:"days"`
	AuditOK  bool     `json:"ledger_audit_ok"`
	Ticks    int      `json:"ticks"`
	Duration string   `json:"duration"`
}

// PriceList is the campaign's per-interaction prices.
type PriceList struct {
	View    money.Amount `json:"view"`
	Like    money.Amount `json:"like"`
	Comment money.Amount `json:"comment"`
	Share   money.Amount `json:"share"`
	Save    money.Amount `json:"save"`
}

// short formats an amount for a table: its decimals without trailing zeros,
// but at least two ("12.50", "0.002").
func short(a money.Amount) string {
	s := money.FormatMicros(a.Micros)
	whole, frac, _ := strings.Cut(s, ".")
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return whole + "." + frac
}

// CreatorRow is one creator's outcome.
type CreatorRow struct {
	Handle         string       `json:"handle"`
	Country        string       `json:"country"`
	Followers      int64        `json:"followers"`
	Tier           string       `json:"tier"`
	EngagementRate string       `json:"engagement_rate_percent"`
	Application    string       `json:"application"`
	Views          int64        `json:"views"`
	Engagements    int64        `json:"engagements"`
	Gross          money.Amount `json:"gross"`
	Earned         money.Amount `json:"earned"`
	Available      money.Amount `json:"available"`
}

// DayRow is the campaign's money after one simulated day.
type DayRow struct {
	Day   int          `json:"day"`
	Spent money.Amount `json:"spent"`
	State string       `json:"state"`
}

type persona struct {
	handle, name, country, city string
	niches                      []string
	followers                   int64
	er                          float64 // likes per view
}

var personas = []persona{
	{"lina.glow", "Lina", "DE", "Berlin", []string{"beauty", "skincare"}, 1_800, 0.09},
	{"marco.fit", "Marco", "IT", "Milan", []string{"fitness"}, 3_200, 0.07},
	{"sofia.daily", "Sofia", "ES", "Valencia", []string{"lifestyle", "beauty"}, 4_900, 0.08},
	{"noor.skin", "Noor", "NL", "Utrecht", []string{"skincare"}, 6_400, 0.06},
	{"jules.run", "Jules", "FR", "Lyon", []string{"fitness", "lifestyle"}, 8_100, 0.05},
	{"emma.makes", "Emma", "DE", "Hamburg", []string{"beauty"}, 9_700, 0.05},
	{"kai.moves", "Kai", "AT", "Vienna", []string{"fitness"}, 12_300, 0.045},
	{"ines.looks", "Inès", "FR", "Paris", []string{"beauty", "fashion"}, 15_600, 0.04},
	{"pablo.eats", "Pablo", "ES", "Seville", []string{"lifestyle"}, 18_900, 0.035},
	{"mia.glow", "Mia", "DE", "Munich", []string{"skincare", "beauty"}, 22_400, 0.03},
	{"theo.trains", "Theo", "BE", "Ghent", []string{"fitness"}, 24_800, 0.03},
	{"ava.big", "Ava", "IE", "Dublin", []string{"beauty"}, 61_000, 0.02}, // above the campaign's follower range
}

// Run builds the world and runs the campaign. It prints nothing but
// Progress; see Print and JSON.
func Run(ctx context.Context, opt Options) (Summary, error) {
	began := time.Now()
	var sum Summary
	if opt.Days <= 0 {
		opt.Days = 14
	}
	path := opt.DBPath
	if path == "" {
		dir, err := os.MkdirTemp("", "payper-demo-")
		if err != nil {
			return sum, fmt.Errorf("demo: temp dir: %w", err)
		}
		defer os.RemoveAll(dir)
		path = filepath.Join(dir, "demo.db")
	} else if _, err := os.Stat(path); err == nil {
		return sum, errs.Invalidf("db", "exists", "%s exists: the demo builds a fresh world in a new file", path)
	}
	sum.Database = path
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	env, err := Start(ctx, path, start, engage.Config{PollInterval: time.Hour, HoldingPeriod: 7 * 24 * time.Hour}, nil)
	if err != nil {
		return sum, err
	}
	defer env.Close()
	a := env.App
	rng := rand.New(rand.NewPCG(opt.Seed, 2026))

	// The brand and its campaign.
	b, _, err := a.Identity.CreateBrand(ctx, "Glow Labs")
	if err != nil {
		return sum, err
	}
	brand := identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
	budget := money.New(1_000*money.Scale, money.EUR)
	camp, err := a.Campaigns.Create(ctx, brand, campaign.Draft{Name: "Glow serum summer launch", Budget: budget})
	if err != nil {
		return sum, err
	}
	prices := campaign.Prices{View: 2_000, Like: 40_000, Comment: 200_000, Share: 400_000, Save: 100_000}
	setup := campaign.Setup{
		Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3 * money.Scale, Secondary: campaign.MetricCPE, SecondaryTarget: 80_000},
		Brief: campaign.Brief{Product: "Glow serum", Message: "Show your morning routine with the serum",
			RequiredHashtags: []string{"#glowserum"}, LandingURL: "https://glowlabs.example/serum", CTA: "Code GLOW10 for 10% off"},
		Prices: prices, CreatorCap: 150 * money.Scale, MaxCreators: 10,
		StartsAt: start, EndsAt: start.Add(time.Duration(opt.Days) * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox},
			Niches: []string{"beauty", "skincare", "fitness", "lifestyle"}},
	}
	if _, err := a.Campaigns.Configure(ctx, brand, camp.ID, setup); err != nil {
		return sum, err
	}
	if _, err := a.Campaigns.Fund(ctx, brand, camp.ID, campaign.FundInput{Reference: "demo-payment-1"}); err != nil {
		return sum, err
	}
	if camp, err = a.Campaigns.Transition(ctx, brand, camp.ID, campaign.ActionOpen); err != nil {
		return sum, err
	}
	sum.Campaign, sum.Name, sum.Budget = camp.ID, camp.Name, budget
	m := func(v int64) money.Amount { return money.New(v, money.EUR) }
	sum.Prices = PriceList{View: m(prices.View), Like: m(prices.Like), Comment: m(prices.Comment), Share: m(prices.Share), Save: m(prices.Save)}

	// Creators: a profile, a sandbox account with a little history, connected through OAuth.
	type member struct {
		persona
		p       identity.Principal
		account creator.Account
		app     string // application state
		post    sandbox.Post
	}
	members := make([]*member, len(personas))
	for i, ps := range personas {
		c, _, err := a.Identity.CreateCreator(ctx, ps.name, ps.country)
		if err != nil {
			return sum, err
		}
		p := identity.Principal{Role: identity.RoleCreator, SubjectID: c.ID}
		city, niches := ps.city, ps.niches
		if _, err := a.Creators.UpdateProfile(ctx, p, c.ID, creator.ProfileUpdate{City: &city, Niches: &niches}); err != nil {
			return sum, err
		}
		if _, err := a.Sandbox.CreateAccount(ctx, ps.handle, ps.followers); err != nil {
			return sum, err
		}
		for k := 0; k < 3; k++ { // earlier posts the engagement rate is derived from
			old, err := a.Sandbox.Publish(ctx, ps.handle, "Weekend vibes", platform.TypeImage, start.Add(-time.Duration(k+2)*24*time.Hour))
			if err != nil {
				return sum, err
			}
			views := int64(float64(ps.followers) * (0.3 + 0.2*rng.Float64()))
			likes := int64(float64(views) * ps.er)
			if _, err := a.Sandbox.AddCounts(ctx, old.ID, sandbox.Delta{Views: views, Likes: likes, Comments: likes / 15, Saves: likes / 20}); err != nil {
				return sum, err
			}
		}
		acc, err := env.Connect(ctx, p, ps.handle)
		if err != nil {
			return sum, fmt.Errorf("demo: connect @%s: %w", ps.handle, err)
		}
		members[i] = &member{persona: ps, p: p, account: acc, app: "not eligible"}
	}

	// Marketplace: creators who see the campaign apply; the brand accepts
	// until the campaign is full.
	for _, mb := range members {
		listings, err := a.Market.Marketplace(ctx, mb.p, market.Filter{Platform: platform.Sandbox})
		if err != nil {
			return sum, err
		}
		for _, l := range listings {
			if l.Campaign.ID != camp.ID {
				continue
			}
			if _, err := a.Market.Apply(ctx, mb.p, camp.ID, "I film my morning routine every day; my audience loves skincare."); err != nil {
				return sum, err
			}
			mb.app = market.StatePending
		}
	}
	apps, err := a.Market.Applications(ctx, brand, camp.ID, market.StatePending)
	if err != nil {
		return sum, err
	}
	byCreator := map[string]*member{}
	for _, mb := range members {
		byCreator[mb.p.SubjectID] = mb
	}
	for _, ap := range apps {
		got, err := a.Market.Decide(ctx, brand, ap.ID, true)
		if errs.CodeOf(err) == "campaign_full" || errs.Is(err, errs.Conflict) {
			if got, err = a.Market.Decide(ctx, brand, ap.ID, false); err != nil {
				return sum, err
			}
		} else if err != nil {
			return sum, err
		}
		byCreator[ap.CreatorID].app = got.State
	}

	// Posts. The first creator forgets the brief once: the post is refused.
	env.Clock.Advance(time.Hour)
	first := true
	for _, mb := range members {
		if mb.app != market.StateAccepted {
			continue
		}
		if first {
			first = false
			bad, err := a.Sandbox.Publish(ctx, mb.handle, "My morning routine ☀️", platform.TypeReel, env.Clock.Now())
			if err != nil {
				return sum, err
			}
			_, err = a.Engage.Submit(ctx, mb.p, camp.ID, engage.SubmitInput{Platform: platform.Sandbox, Media: bad.Permalink})
			if e, ok := err.(*errs.Error); ok && e.Code == "post_noncompliant" {
				for _, f := range e.Fields {
					sum.Refused = append(sum.Refused, f.Message)
				}
			} else {
				return sum, fmt.Errorf("demo: the non-compliant post was not refused: %v", err)
			}
		}
		mb.post, err = a.Sandbox.Publish(ctx, mb.handle, "My morning routine with the Glow serum ☀️ #GlowSerum #ad", platform.TypeReel, env.Clock.Now())
		if err != nil {
			return sum, err
		}
		if _, err := a.Engage.Submit(ctx, mb.p, camp.ID, engage.SubmitInput{Platform: platform.Sandbox, Media: mb.post.Permalink}); err != nil {
			return sum, fmt.Errorf("demo: submit @%s: %w", mb.handle, err)
		}
	}

	// The campaign runs: every simulated day each live post gains views and
	// interactions, and the pipeline bills them.
	views := map[string]int64{}
	eng := map[string]int64{}
	state := camp.State
	for day := 1; day <= opt.Days+1 && state != campaign.StateCompleted; day++ {
		env.Clock.Advance(24 * time.Hour)
		for _, mb := range members {
			if mb.post.ID == "" {
				continue
			}
			decay := 1.0 / float64(day)
			v := int64(float64(mb.followers) * (0.15 + 0.25*rng.Float64()) * (0.5 + decay))
			likes := int64(float64(v) * mb.er * (0.8 + 0.4*rng.Float64()))
			d := sandbox.Delta{Views: v, Likes: likes, Comments: likes / 12, Shares: likes / 30, Saves: likes / 18}
			if day > 2 && rng.IntN(6) == 0 {
				d.Likes = -likes / 10 // some unlikes: counts fall and bill nothing until they pass their peak
			}
			if _, err := a.Sandbox.AddCounts(ctx, mb.post.ID, d); err != nil {
				return sum, err
			}
			views[mb.p.SubjectID] += d.Views
			eng[mb.p.SubjectID] += d.Likes + d.Comments + d.Shares + d.Saves
		}
		if err := env.Tick(ctx); err != nil {
			return sum, err
		}
		sum.Ticks++
		mon, err := a.Campaigns.MoneyState(ctx, brand, camp.ID)
		if err != nil {
			return sum, err
		}
		state = mon.State
		sum.Days = append(sum.Days, DayRow{Day: day, Spent: mon.Spent, State: mon.State})
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "day %2d: spent %8s of %s EUR (%s)\n", day, short(mon.Spent), short(budget), mon.State)
		}
	}
	before, err := a.Campaigns.MoneyState(ctx, brand, camp.ID)
	if err != nil {
		return sum, err
	}

	// The holding period ends; earnings are released; the brand closes.
	env.Clock.Advance(7*24*time.Hour + time.Hour)
	if err := env.Tick(ctx); err != nil {
		return sum, err
	}
	sum.Ticks++
	if before.State == campaign.StateCompleted {
		cr, err := a.Engage.Close(ctx, brand, camp.ID)
		if err != nil {
			return sum, err
		}
		sum.Refunded = cr.Refunded
	}
	after, err := a.Campaigns.MoneyState(ctx, brand, camp.ID)
	if err != nil {
		return sum, err
	}
	final, err := a.Campaigns.Get(ctx, brand, camp.ID)
	if err != nil {
		return sum, err
	}
	sum.State, sum.Reason = final.State, final.StateReason
	sum.Funded, sum.Spent, sum.Fee, sum.FeeBps = after.Funded, after.Spent, after.Fees, after.FeeBps
	sum.CreatorEarnings, sum.Remaining = after.CreatorEarnings, before.Remaining

	for _, mb := range members {
		row := CreatorRow{Handle: "@" + mb.handle, Country: mb.country, Followers: mb.account.Followers.Value, Tier: string(mb.account.Tier),
			EngagementRate: mb.account.EngagementRate, Application: mb.app, Views: views[mb.p.SubjectID], Engagements: eng[mb.p.SubjectID],
			Gross: m(0), Earned: m(0)}
		if mb.app == market.StateAccepted {
			es, err := a.Engage.ListEarnings(ctx, brand, camp.ID, "", mb.p.SubjectID)
			if err != nil {
				return sum, err
			}
			for _, e := range es {
				row.Gross.Micros += e.Gross.Micros
				row.Earned.Micros += e.Net.Micros
			}
		}
		bal, err := a.Ledger.Balance(ctx, mb.p.SubjectID, money.EUR)
		if err != nil {
			return sum, err
		}
		row.Available = m(bal.Available)
		sum.Creators = append(sum.Creators, row)
	}
	sort.SliceStable(sum.Creators, func(i, j int) bool { return sum.Creators[i].Gross.Micros > sum.Creators[j].Gross.Micros })
	rep, err := a.Ledger.Audit(ctx)
	if err != nil {
		return sum, err
	}
	sum.AuditOK = rep.OK()
	if !rep.OK() {
		return sum, fmt.Errorf("demo: the ledger audit failed:\n%s", rep)
	}
	sum.Duration = time.Since(began).Round(time.Millisecond).String()
	return sum, nil
}

// Print writes the summary for people.
func Print(w io.Writer, s Summary) error {
	var b strings.Builder
	fmt.Fprintf(&b, "payper demo — %s (%s)\n\n", s.Name, s.Campaign)
	fmt.Fprintf(&b, "prices: view %s · like %s · comment %s · share %s · save %s (EUR)\n",
		short(s.Prices.View), short(s.Prices.Like), short(s.Prices.Comment), short(s.Prices.Share), short(s.Prices.Save))
	if len(s.Refused) > 0 {
		fmt.Fprintf(&b, "refused post (does not follow the brief): %s\n", strings.Join(s.Refused, "; "))
	}
	fmt.Fprintln(&b)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "creator\tfollowers\ttier\teng. rate %\tapplication\tviews\tengagements\tgross\tearned (net)\tavailable\t")
	for _, c := range s.Creators {
		er := c.EngagementRate
		if er == "" {
			er = "—"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t\n", c.Handle, c.Followers, c.Tier, er, c.Application,
			c.Views, c.Engagements, short(c.Gross), short(c.Earned), short(c.Available))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "funded            %s EUR\n", short(s.Funded))
	fmt.Fprintf(&b, "spent             %s EUR over %d days\n", short(s.Spent), len(s.Days))
	fmt.Fprintf(&b, "platform fee      %s EUR (%d.%02d %%, the brand's first campaign)\n", short(s.Fee), s.FeeBps/100, s.FeeBps%100)
	fmt.Fprintf(&b, "creator earnings  %s EUR\n", short(s.CreatorEarnings))
	fmt.Fprintf(&b, "remaining escrow  %s EUR when billing stopped; %s EUR refunded to the brand at close\n", short(s.Remaining), short(s.Refunded))
	reason := ""
	if s.Reason != "" {
		reason = " (" + strings.ReplaceAll(s.Reason, "_", " ") + ")"
	}
	fmt.Fprintf(&b, "campaign state    %s%s\n", s.State, reason)
	audit := "ok"
	if !s.AuditOK {
		audit = "FAILED"
	}
	fmt.Fprintf(&b, "ledger audit      %s · %d engagement ticks through the job queue · %s\n", audit, s.Ticks, s.Duration)
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON writes the summary as indented JSON.
func JSON(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}
