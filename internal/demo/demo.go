package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/payper/payper/internal/ads/csvimport"
	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	shopsandbox "github.com/payper/payper/internal/commerce/sandbox"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/report"
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
	// CreatorCap is the most a creator may earn in the campaign (gross),
	// every kind together.
	CreatorCap money.Amount `json:"creator_cap"`
	// CreatorEarnings is what creators earned net of the fee.
	CreatorEarnings money.Amount `json:"creator_earnings"`
	// Remaining is the escrow left when billing stopped, refunded at close.
	Remaining money.Amount `json:"remaining"`
	Refunded  money.Amount `json:"refunded"`
	Prices    PriceList    `json:"prices"`
	Creators  []CreatorRow `json:"creators"`
	// Refused is the non-compliant post the brief turned away, with what it lacked.
	Refused []string `json:"refused_post_missing"`
	Days    []DayRow `json:"days"`
	// Performance is what the campaign pays for sales and acceptance.
	Performance Terms `json:"performance"`
	// Sales is what the sandbox store sold and payper attributed and paid,
	// read back from payper; Simulated is what the demo sent it.
	Sales     Sales     `json:"sales"`
	Simulated Simulated `json:"simulated"`
	// Conversions are the attributed orders, newest first.
	Conversions []OrderRow `json:"conversions"`
	AuditOK     bool       `json:"ledger_audit_ok"`
	// Reports are the campaign's 14- and 30-day reports at the end of the
	// run; Ranking the optimize loop's ranking at the 14-day mark.
	Reports  []ReportRow `json:"reports"`
	Ranking  []RankRow   `json:"ranking"`
	Ticks    int         `json:"ticks"`
	Duration string      `json:"duration"`
	// Fraud is the creator who bought likes: caught, held and voided.
	Fraud *FraudRow `json:"fraud,omitempty"`
}

// Terms are the campaign's performance terms.
type Terms struct {
	CommissionBps int64        `json:"commission_bps"`
	CPA           money.Amount `json:"cpa"`
	FlatFee       money.Amount `json:"flat_fee"`
	WindowDays    int          `json:"attribution_window_days"`
}

// Sales is the campaign's attribution as payper reports it: its store's
// orders, its links' clicks, its conversions and its earnings by kind.
type Sales struct {
	Store        string `json:"store"`
	Orders       int    `json:"orders"`
	Attributed   int    `json:"attributed_orders"`
	ByCode       int    `json:"orders_by_code"`
	ByClick      int    `json:"orders_by_click"`
	Unattributed int    `json:"unattributed_orders"`
	// Unpaid attributed orders kept revenue but paid no commission or CPA:
	// their creator had reached the cap.
	Unpaid int `json:"unpaid_orders"`
	// Revenue is every order's amount; AttributedRevenue the attributed
	// orders' net of refunds; Refunded what refunds gave back, in Refunds.
	Revenue           money.Amount `json:"revenue"`
	AttributedRevenue money.Amount `json:"attributed_revenue"`
	Refunds           int          `json:"refunds"`
	Refunded          money.Amount `json:"refunded"`
	HumanClicks       int64        `json:"human_clicks"`
	BotClicks         int64        `json:"bot_clicks"`
	// SpentByKind is the escrow spent on each kind of earning (gross, less
	// what refunds clawed back); Clawed is what they clawed back.
	SpentByKind ByKind       `json:"spent_by_kind"`
	Clawed      money.Amount `json:"clawed_back"`
}

// ByKind is money split by what it paid for.
type ByKind struct {
	Interactions money.Amount `json:"interactions"`
	Commission   money.Amount `json:"commission"`
	CPA          money.Amount `json:"cpa"`
	FlatFee      money.Amount `json:"flat_fee"`
}

func (k *ByKind) add(kind string, micros int64) {
	switch kind {
	case engage.KindInteractions:
		k.Interactions.Micros += micros
	case engage.KindCommission:
		k.Commission.Micros += micros
	case engage.KindCPA:
		k.CPA.Micros += micros
	case engage.KindFlatFee:
		k.FlatFee.Micros += micros
	}
}

// Total is the sum of every kind.
func (k ByKind) Total() int64 {
	return k.Interactions.Micros + k.Commission.Micros + k.CPA.Micros + k.FlatFee.Micros
}

// Simulated counts what the demo sent: clicks on the links and orders and
// refunds through the sandbox store's driver.
type Simulated struct {
	HumanClicks int `json:"human_clicks"`
	BotClicks   int `json:"bot_clicks"`
	Orders      int `json:"orders"`
	// WithCode orders carried a creator's code (some a click id too);
	// ClickOnly a click id alone; Returning only the id of a customer whose
	// earlier order carried a click id; Neither nothing to attribute.
	WithCode  int          `json:"with_code"`
	ClickOnly int          `json:"click_only"`
	Returning int          `json:"returning_customer"`
	Neither   int          `json:"neither"`
	Refunds   int          `json:"refunds"`
	Refunded  money.Amount `json:"refunded"`
}

// OrderRow is one attributed order, as payper's conversions report it.
type OrderRow struct {
	OrderID     string       `json:"order_id"`
	ShopOrderID string       `json:"shop_order_id"`
	Creator     string       `json:"creator"`
	Method      string       `json:"method"`
	Code        string       `json:"code,omitempty"`
	Amount      money.Amount `json:"amount"`
	Refunded    money.Amount `json:"refunded"`
	Commission  money.Amount `json:"commission"`
	CPA         money.Amount `json:"cpa"`
	Note        string       `json:"note,omitempty"`
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
	Handle         string `json:"handle"`
	Country        string `json:"country"`
	Followers      int64  `json:"followers"`
	Tier           string `json:"tier"`
	EngagementRate string `json:"engagement_rate_percent"`
	Application    string `json:"application"`
	Views          int64  `json:"views"`
	Engagements    int64  `json:"engagements"`
	// Gross and Earned (net of the fee) are what the creator's earnings of
	// every kind stand at, less what refunds clawed back.
	Gross     money.Amount `json:"gross"`
	Earned    money.Amount `json:"earned"`
	Available money.Amount `json:"available"`
	// Code and Link are the creator's discount code and bio link.
	Code          string `json:"code,omitempty"`
	Link          string `json:"link,omitempty"`
	HumanClicks   int64  `json:"human_clicks"`
	BotClicks     int64  `json:"bot_clicks"`
	OrdersByCode  int    `json:"orders_by_code"`
	OrdersByClick int    `json:"orders_by_click"`
	// Revenue is the attributed orders' amount net of refunds.
	Revenue money.Amount `json:"revenue"`
	// Kinds splits Gross by what it paid for.
	Kinds ByKind `json:"gross_by_kind"`
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
	budget := money.New(Budget*money.Scale, money.EUR)
	camp, err := a.Campaigns.Create(ctx, brand, campaign.Draft{Name: "Glow serum summer launch", Budget: budget})
	if err != nil {
		return sum, err
	}
	prices := campaign.Prices{View: 2_000, Like: 40_000, Comment: 200_000, Share: 400_000, Save: 100_000}
	setup := campaign.Setup{
		Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3 * money.Scale, Secondary: campaign.MetricCPE, SecondaryTarget: 80_000},
		Brief: campaign.Brief{Product: "Glow serum", Message: "Show your morning routine with the serum",
			RequiredHashtags: []string{"#glowserum"}, LandingURL: "https://glowlabs.example/serum", CTA: "Link in bio, or my code for 10% off"},
		Prices: prices, CreatorCap: CreatorCap * money.Scale, MaxCreators: 10,
		StartsAt: start, EndsAt: start.Add(time.Duration(opt.Days) * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox},
			Niches: []string{"beauty", "skincare", "fitness", "lifestyle"}},
		Performance: campaign.Performance{CommissionBps: 1_000, CPA: 1_500_000, FlatFee: 10 * money.Scale, AttributionWindowDays: 30},
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
	sum.Campaign, sum.Name, sum.Budget, sum.CreatorCap = camp.ID, camp.Name, budget, money.New(setup.CreatorCap, money.EUR)
	m := func(v int64) money.Amount { return money.New(v, money.EUR) }
	sum.Prices = PriceList{View: m(prices.View), Like: m(prices.Like), Comment: m(prices.Comment), Share: m(prices.Share), Save: m(prices.Save)}
	pf := setup.Performance
	sum.Performance = Terms{CommissionBps: pf.CommissionBps, CPA: m(pf.CPA), FlatFee: m(pf.FlatFee), WindowDays: pf.AttributionWindowDays}

	// Creators: a profile, a sandbox account with a little history, connected through OAuth.
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

	// The brand connects its sandbox store; each accepted creator gets a
	// discount code made in it and a tracked link for their bio.
	st, err := a.Orders.ConnectStore(ctx, brand, orders.StoreDraft{Platform: orders.Shopify, ShopDomain: ShopDomain, Sandbox: true})
	if err != nil {
		return sum, err
	}
	sum.Sales.Store = st.Shop
	for _, mb := range members {
		if mb.app != market.StateAccepted {
			continue
		}
		code, err := a.Attrib.CreateCode(ctx, brand, camp.ID, attrib.CodeDraft{CreatorID: mb.p.SubjectID, StoreID: st.ID})
		if err != nil {
			return sum, fmt.Errorf("demo: code for @%s: %w", mb.handle, err)
		}
		link, err := a.Links.Create(ctx, brand, camp.ID, links.Draft{CreatorID: mb.p.SubjectID, Placement: "bio"})
		if err != nil {
			return sum, fmt.Errorf("demo: link for @%s: %w", mb.handle, err)
		}
		mb.code, mb.link = code.Code, link.ShortURL
	}
	// Dark posts: two variants of the first accepted creator's content to
	// one audience, each with its own link; their daily results are
	// imported at the end as the brand would upload them (CSV).
	var darkPosts []report.AdPlacement
	for _, mb := range members {
		if mb.app != market.StateAccepted {
			continue
		}
		for i, v := range []string{"a", "b"} {
			ad, err := a.Report.CreateAd(ctx, brand, a.Links, camp.ID, report.AdDraft{CreatorID: mb.p.SubjectID, Platform: report.PlatformMeta,
				Kind: report.KindDarkPost, AdID: fmt.Sprintf("1202100%02d", i+1), Variant: v, Segment: "25-34"})
			if err != nil {
				return sum, fmt.Errorf("demo: dark post: %w", err)
			}
			darkPosts = append(darkPosts, ad)
		}
		break
	}
	shop := newShopper(env, st.ID)

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
		env.Clock.Advance(24*time.Hour - shopHours)
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
			mb.today = d.Views
		}
		var cheater *member
		if day == min(cheatDay, opt.Days) {
			for _, mb := range members {
				if mb.post.ID != "" {
					cheater = mb
					break
				}
			}
			if cheater != nil {
				if err := cheat(ctx, a, cheater, opt.Seed); err != nil {
					return sum, err
				}
			}
		}
		if err := env.Tick(ctx); err != nil {
			return sum, err
		}
		sum.Ticks++
		if cheater != nil {
			if sum.Fraud, err = catch(ctx, a, brand, camp.ID, cheater, day); err != nil {
				return sum, err
			}
		}
		// The audience clicks links and buys in the store in the two hours
		// after the tick (so that the day still lasts 24 hours).
		if err := shop.day(ctx, rng, day, members); err != nil {
			return sum, err
		}
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

	// The dark posts' results, then the 14- and 30-day reports and the
	// ranking, as the brand reads them at the end of the run.
	if err := importDarkPosts(ctx, a, brand, camp.ID, darkPosts, rng, opt.Days, env.Clock.Now()); err != nil {
		return sum, err
	}
	if err := readReports(ctx, a, brand, camp.ID, env.Clock.Now(), &sum); err != nil {
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

	rows := map[string]*CreatorRow{}
	for _, mb := range members {
		row := &CreatorRow{Handle: "@" + mb.handle, Country: mb.country, Followers: mb.account.Followers.Value, Tier: string(mb.account.Tier),
			EngagementRate: mb.account.EngagementRate, Application: mb.app, Views: views[mb.p.SubjectID], Engagements: eng[mb.p.SubjectID],
			Gross: m(0), Earned: m(0), Code: mb.code, Link: mb.link, Revenue: m(0), Kinds: zeroKinds()}
		bal, err := a.Ledger.Balance(ctx, mb.p.SubjectID, money.EUR)
		if err != nil {
			return sum, err
		}
		row.Available = m(bal.Available)
		rows[mb.p.SubjectID] = row
	}
	sum.Simulated = shop.sent
	if err := readSales(ctx, a, brand, camp.ID, rows, &sum); err != nil {
		return sum, err
	}
	for _, mb := range members {
		sum.Creators = append(sum.Creators, *rows[mb.p.SubjectID])
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

// ReportRow is one window's campaign report in the summary: figures and
// KPIs as the report API gives them ("undefined" when a denominator is 0).
type ReportRow struct {
	Window      string       `json:"window"`
	From        string       `json:"from"`
	To          string       `json:"to"`
	Spend       money.Amount `json:"spend"`
	PaidSocial  money.Amount `json:"paid_social"`
	Views       int64        `json:"views"`
	Engagements int64        `json:"engagements"`
	Clicks      int64        `json:"clicks"`
	BotClicks   int64        `json:"bot_clicks"`
	Conversions int64        `json:"conversions"`
	Redemptions int64        `json:"redemptions"`
	Revenue     money.Amount `json:"revenue"`
	KPIs        report.KPIs  `json:"kpis"`
	Goal        []string     `json:"goal"`
	Variants    []string     `json:"variant_verdicts,omitempty"`
}

// RankRow is one creator's place in the ranking at the end of the run.
type RankRow struct {
	Rank      int    `json:"rank"`
	Handle    string `json:"handle"`
	Label     string `json:"label"`
	Primary   string `json:"primary"`
	Secondary string `json:"secondary,omitempty"`
	Reason    string `json:"reason"`
}

// importDarkPosts uploads a CSV of the dark posts' daily results (variant
// a converting better than b), drawn from rng, for the run's days.
func importDarkPosts(ctx context.Context, a *app.App, brand identity.Principal, campaignID string, ads []report.AdPlacement, rng *rand.Rand, days int, now time.Time) error {
	if len(ads) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\n")
	for d := days - 1; d >= 0; d-- {
		date := now.AddDate(0, 0, -d).Format("2006-01-02")
		for i, ad := range ads {
			clicks := 60 + rng.IntN(40)
			rate := []int{9, 5}[i%2] // purchases per 100 clicks
			purchases := clicks * rate / 100
			fmt.Fprintf(&b, "%s,%s,EUR,%d.%02d,%d,%d,%d,%d.90\n", ad.AdID, date, 6+rng.IntN(5), rng.IntN(100), clicks*25+rng.IntN(200),
				clicks, purchases, purchases*39)
		}
	}
	rows, err := csvimport.Parse(strings.NewReader(b.String()), 10_000)
	if err != nil {
		return fmt.Errorf("demo: dark posts CSV: %w", err)
	}
	if _, err := a.Report.ImportRows(ctx, brand, campaignID, "csv", rows); err != nil {
		return fmt.Errorf("demo: import dark posts: %w", err)
	}
	return nil
}

// readReports reads the 14- and 30-day reports and the ranking (the
// optimize loop's plan at the 14-day mark, not applied).
func readReports(ctx context.Context, a *app.App, brand identity.Principal, campaignID string, now time.Time, sum *Summary) error {
	for _, name := range []string{report.Window14, report.Window30} {
		w, err := report.ParseWindow(name, "", "", now)
		if err != nil {
			return err
		}
		rep, err := a.Report.Campaign(ctx, brand, campaignID, w)
		if err != nil {
			return err
		}
		f := rep.Campaign.Figures
		row := ReportRow{Window: name, From: w.From, To: w.To, Spend: f.Spend.Total, PaidSocial: f.Spend.PaidSocial, Views: f.Views,
			Engagements: f.Engagements, Clicks: f.Clicks, BotClicks: f.BotClicks, Conversions: f.Conversions, Redemptions: f.Redemptions,
			Revenue: f.Revenue, KPIs: rep.Campaign.KPIs, Goal: []string{}}
		for _, g := range rep.Goal {
			row.Goal = append(row.Goal, fmt.Sprintf("%s %s (target %s): %s", g.Metric, g.Value, g.Target, strings.ReplaceAll(g.Status, "_", " ")))
		}
		for _, v := range rep.Variants {
			if v.Segment == "" {
				row.Variants = append(row.Variants, v.Verdict)
			}
		}
		sum.Reports = append(sum.Reports, row)
	}
	plan, err := a.Report.Optimize(ctx, brand, campaignID, report.Mark14)
	if err != nil {
		return err
	}
	for _, e := range plan.Entries {
		sum.Ranking = append(sum.Ranking, RankRow{Rank: e.Rank, Handle: "@" + e.Handle, Label: e.Label, Primary: e.Primary,
			Secondary: e.Secondary, Reason: e.Reason})
	}
	return nil
}

// The demo's campaign: its budget and per-creator cap (EUR) leave room for
// interactions, commission, CPA and the flat fee over the run, and its
// brand's sandbox store.
const (
	Budget     = 2_000
	CreatorCap = 300
	ShopDomain = "glow-sandbox.myshopify.com"
)

// shopHours is how long after each day's engagement tick the audience
// clicks and shops.
const shopHours = 2 * time.Hour

type member struct {
	persona
	p          identity.Principal
	account    creator.Account
	app        string // application state
	post       sandbox.Post
	code, link string // discount code, short URL
	today      int64  // views gained today
}

// browsers are the user agents of people following links; bots those of
// link previewers and crawlers, which payper counts apart.
var (
	browsers = []string{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 330.0.0.40.92",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
	}
	bots = []string{
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
	}
	// baskets are order totals in cents.
	baskets = []int64{1990, 2990, 3990, 4990, 5990, 8990}
)

// shopper is the campaign's audience. It follows the creators' links as a
// browser does (and link previewers as bots do), and buys in the sandbox
// store through its driver, which sends payper signed Shopify webhooks: all
// over HTTP, as real traffic arrives.
type shopper struct {
	env       *Env
	web       *http.Client
	storeID   string
	orders    int // last shop order number
	customers int // last customer number
	sent      Simulated
	placed    []sale
	returning []string // customers whose order carried a click id
}

// sale is an order the shopper placed.
type sale struct {
	shopID      string
	amount      int64
	day         int
	code, click bool
	refunded    bool
}

func newShopper(env *Env, storeID string) *shopper {
	return &shopper{env: env, storeID: storeID, orders: 5000, customers: 70000, sent: Simulated{Refunded: money.New(0, money.EUR)},
		web: &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// day simulates a day's clicks and sales, moving the clock shopHours: each
// creator's link gets clicks in proportion to the day's views, plus a few
// previews by bots; some clicks turn into orders (a few of them with another
// creator's code, which wins), creators' followers buy with their codes,
// earlier customers come back, some orders come from elsewhere; on days 4
// and 6 an order is refunded, in full and in half.
func (s *shopper) day(ctx context.Context, rng *rand.Rand, day int, members []*member) error {
	var live []*member
	for _, mb := range members {
		if mb.link != "" {
			live = append(live, mb)
		}
	}
	s.env.Clock.Advance(shopHours / 2)
	if len(live) == 0 {
		s.env.Clock.Advance(shopHours / 2)
		return nil
	}
	var clicks []string
	for _, mb := range live {
		for range int(mb.today/1_200) + rng.IntN(2) {
			id, err := s.click(ctx, mb.link, browsers[rng.IntN(len(browsers))])
			if err != nil {
				return err
			}
			clicks = append(clicks, id)
			s.sent.HumanClicks++
		}
	}
	for range rng.IntN(3) {
		if _, err := s.click(ctx, live[rng.IntN(len(live))].link, bots[rng.IntN(len(bots))]); err != nil {
			return err
		}
		s.sent.BotClicks++
	}
	// Clicks are written in batches: the orders below look them up.
	if err := s.env.App.Links.Recorder.Flush(ctx); err != nil {
		return fmt.Errorf("demo: flush clicks: %w", err)
	}
	s.env.Clock.Advance(shopHours / 2)

	for _, c := range clicks {
		if rng.IntN(8) != 0 {
			continue
		}
		o := shopsandbox.Order{ClickID: c}
		if rng.IntN(2) == 0 {
			s.customers++
			o.CustomerID = strconv.Itoa(s.customers)
			s.returning = append(s.returning, o.CustomerID)
		}
		if rng.IntN(6) == 0 {
			o.Code = strings.ToLower(live[rng.IntN(len(live))].code) // typed by hand
		}
		if err := s.place(ctx, rng, day, o); err != nil {
			return err
		}
	}
	for _, mb := range live {
		if rng.Float64() < 0.05+float64(mb.followers)/60_000 {
			if err := s.place(ctx, rng, day, shopsandbox.Order{Code: mb.code}); err != nil {
				return err
			}
		}
	}
	if len(s.returning) > 0 && rng.IntN(3) == 0 {
		if err := s.place(ctx, rng, day, shopsandbox.Order{CustomerID: s.returning[rng.IntN(len(s.returning))]}); err != nil {
			return err
		}
	}
	for range rng.IntN(3) {
		if err := s.place(ctx, rng, day, shopsandbox.Order{}); err != nil {
			return err
		}
	}

	switch day {
	case 4: // a code order of the first days, refunded in full
		return s.refund(ctx, func(x sale) bool { return x.code && x.day <= 2 }, 1)
	case 6: // a click order, refunded in half
		return s.refund(ctx, func(x sale) bool { return x.click && !x.code && x.day <= 4 }, 2)
	}
	return nil
}

// click follows a short link and returns the click id payper put in the
// redirect.
func (s *shopper) click(ctx context.Context, shortURL, userAgent string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, shortURL, nil)
	if err != nil {
		return "", fmt.Errorf("demo: click: %w", err)
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := s.web.Do(req)
	if err != nil {
		return "", fmt.Errorf("demo: click: %w", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		return "", fmt.Errorf("demo: %s answered %d, not a redirect (%v)", shortURL, resp.StatusCode, err)
	}
	id := loc.Query().Get("click_id")
	if id == "" {
		return "", fmt.Errorf("demo: %s redirected to %s, without a click id", shortURL, loc)
	}
	return id, nil
}

// place places o in the sandbox store with a new shop order id and a
// basket from baskets.
func (s *shopper) place(ctx context.Context, rng *rand.Rand, day int, o shopsandbox.Order) error {
	s.orders++
	amount := baskets[rng.IntN(len(baskets))] * (money.Scale / 100)
	o.StoreID, o.OrderID = s.storeID, strconv.Itoa(s.orders)
	var err error
	if o.Amount, err = money.New(amount, money.EUR).MarshalJSON(); err != nil {
		return err
	}
	if err := s.drive(ctx, "orders", o); err != nil {
		return err
	}
	s.sent.Orders++
	switch {
	case o.Code != "":
		s.sent.WithCode++
	case o.ClickID != "":
		s.sent.ClickOnly++
	case o.CustomerID != "":
		s.sent.Returning++
	default:
		s.sent.Neither++
	}
	s.placed = append(s.placed, sale{shopID: o.OrderID, amount: amount, day: day, code: o.Code != "", click: o.ClickID != ""})
	return nil
}

// refund refunds 1/part of the first order placed that is not refunded yet
// and matches, rounded down to the cent.
func (s *shopper) refund(ctx context.Context, match func(sale) bool, part int64) error {
	for i, x := range s.placed {
		if x.refunded || !match(x) {
			continue
		}
		amount := x.amount / part / (money.Scale / 100) * (money.Scale / 100)
		raw, err := money.New(amount, money.EUR).MarshalJSON()
		if err != nil {
			return err
		}
		if err := s.drive(ctx, "refunds", shopsandbox.Refund{StoreID: s.storeID, OrderID: x.shopID, Amount: raw}); err != nil {
			return err
		}
		s.placed[i].refunded = true
		s.sent.Refunds++
		s.sent.Refunded.Micros += amount
		return nil
	}
	return nil
}

// drive posts body to the sandbox store's driver with the admin key and
// checks that payper took the webhook it sent.
func (s *shopper) drive(ctx context.Context, what string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("demo: sandbox store %s: %w", what, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.env.URL+shopsandbox.DriverPath+what, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("demo: sandbox store %s: %w", what, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.env.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.web.Do(req)
	if err != nil {
		return fmt.Errorf("demo: sandbox store %s: %w", what, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var dl shopsandbox.Delivery
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &dl) != nil || dl.Status != http.StatusOK {
		return fmt.Errorf("demo: sandbox store %s %s: driver answered %d: %s", what, b, resp.StatusCode, raw)
	}
	return nil
}

func zeroKinds() ByKind {
	z := money.New(0, money.EUR)
	return ByKind{Interactions: z, Commission: z, CPA: z, FlatFee: z}
}

// readSales reads back from payper what the campaign's audience did and
// what it paid: the brand's orders (it has one store and one campaign), the
// links' clicks, the conversions and the earnings by kind, into sum and the
// creators' rows (by creator id).
func readSales(ctx context.Context, a *app.App, brand identity.Principal, campaignID string, rows map[string]*CreatorRow, sum *Summary) error {
	eur := money.New(0, money.EUR)
	sl := &sum.Sales
	sl.Revenue, sl.AttributedRevenue, sl.Refunded, sl.Clawed, sl.SpentByKind = eur, eur, eur, eur, zeroKinds()
	shopIDs := map[string]string{}
	const page = 200
	for before := ""; ; {
		os, err := a.Orders.List(ctx, brand, before, page)
		if err != nil {
			return err
		}
		for _, o := range os {
			sl.Orders++
			shopIDs[o.ID] = o.ExternalID
			if o.Amount.Currency == money.EUR {
				sl.Revenue.Micros += o.Amount.Micros
			}
			for _, r := range o.Refunds {
				sl.Refunds++
				if r.Amount.Currency == money.EUR {
					sl.Refunded.Micros += r.Amount.Micros
				}
			}
		}
		if len(os) < page {
			break
		}
		before = os[len(os)-1].ID
	}
	ls, err := a.Links.List(ctx, brand, campaignID)
	if err != nil {
		return err
	}
	for _, l := range ls {
		if l.Clicks == nil {
			continue
		}
		sl.HumanClicks += l.Clicks.Human
		sl.BotClicks += l.Clicks.Bot
		if r := rows[l.CreatorID]; r != nil {
			r.HumanClicks += l.Clicks.Human
			r.BotClicks += l.Clicks.Bot
		}
	}
	cvs, err := a.Attrib.ListConversions(ctx, brand, campaignID)
	if err != nil {
		return err
	}
	for _, c := range cvs {
		r := rows[c.CreatorID]
		if r == nil {
			return fmt.Errorf("demo: order %s attributed to %s, who is not one of the demo's creators", c.OrderID, c.CreatorID)
		}
		sl.Attributed++
		switch c.Method {
		case attrib.MethodCode:
			sl.ByCode++
			r.OrdersByCode++
		case attrib.MethodClick:
			sl.ByClick++
			r.OrdersByClick++
		}
		if c.Amount.Currency == money.EUR {
			net := c.Amount.Micros - c.Refunded.Micros
			sl.AttributedRevenue.Micros += net
			r.Revenue.Micros += net
			if net > 0 && c.Commission.Micros == 0 && c.CPA.Micros == 0 && c.Note == "" {
				sl.Unpaid++
			}
		}
		sum.Conversions = append(sum.Conversions, OrderRow{OrderID: c.OrderID, ShopOrderID: shopIDs[c.OrderID], Creator: r.Handle, Method: c.Method,
			Code: c.Code, Amount: c.Amount, Refunded: c.Refunded, Commission: c.Commission, CPA: c.CPA, Note: c.Note})
	}
	sl.Unattributed = sl.Orders - sl.Attributed
	es, err := a.Engage.ListEarnings(ctx, brand, campaignID, "", "")
	if err != nil {
		return err
	}
	for _, e := range es {
		sl.Clawed.Micros += e.ClawedGross.Micros
		if e.State == engage.EarningVoided {
			continue
		}
		gross := e.Gross.Micros - e.ClawedGross.Micros
		sl.SpentByKind.add(e.Kind, gross)
		if r := rows[e.CreatorID]; r != nil {
			r.Kinds.add(e.Kind, gross)
			r.Gross.Micros += gross
			r.Earned.Micros += e.Net.Micros - e.ClawedNet.Micros
		}
	}
	return nil
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
	pf := s.Performance
	fmt.Fprintf(&b, "performance: commission %s %% · CPA %s · flat fee %s (EUR) · attribution window %d days · every kind within the cap of %s per creator\n",
		strings.TrimSuffix(strings.TrimRight(money.FormatMicros(pf.CommissionBps*money.Scale/100), "0"), "."), short(pf.CPA), short(pf.FlatFee),
		pf.WindowDays, short(s.CreatorCap))
	fmt.Fprintf(&b, "sandbox store %s: a discount code and a bio link per accepted creator\n\n", s.Sales.Store)
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "creator\tcode\tclicks\tbot clicks\torders by code\tby click\trevenue\tinteractions\tcommission\tcpa\tflat fee\t")
	for _, c := range s.Creators {
		if c.Code == "" && c.Link == "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n", c.Handle, c.Code, c.HumanClicks, c.BotClicks, c.OrdersByCode,
			c.OrdersByClick, short(c.Revenue), short(c.Kinds.Interactions), short(c.Kinds.Commission), short(c.Kinds.CPA), short(c.Kinds.FlatFee))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(&b)
	sl := s.Sales
	fmt.Fprintf(&b, "clicks            %d by people · %d by bots (counted apart)\n", sl.HumanClicks, sl.BotClicks)
	fmt.Fprintf(&b, "orders            %d in the store, %s EUR: %d attributed (%d by code, %d by click), %d not\n",
		sl.Orders, short(sl.Revenue), sl.Attributed, sl.ByCode, sl.ByClick, sl.Unattributed)
	if sl.Unpaid > 0 {
		fmt.Fprintf(&b, "unpaid            %d attributed orders paid no commission or CPA: their creators had reached the cap\n", sl.Unpaid)
	}
	fmt.Fprintf(&b, "refunds           %d, %s EUR: %s EUR of commission and CPA clawed back\n", sl.Refunds, short(sl.Refunded), short(sl.Clawed))
	fmt.Fprintf(&b, "sales revenue     %s EUR attributed, net of refunds\n", short(sl.AttributedRevenue))
	k := sl.SpentByKind
	fmt.Fprintf(&b, "spent by kind     interactions %s · commission %s · cpa %s · flat fee %s (EUR, gross)\n",
		short(k.Interactions), short(k.Commission), short(k.CPA), short(k.FlatFee))
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
	for _, r := range s.Reports {
		fmt.Fprintf(&b, "\nreport, last %s (%s to %s): spend %s EUR (paid social %s) · %d views · %d engagements · %d clicks (+%d bots) · %d conversions (%d redemptions) · revenue %s EUR\n",
			strings.TrimSuffix(r.Window, "d")+" days", r.From, r.To, short(r.Spend), short(r.PaidSocial), r.Views, r.Engagements, r.Clicks, r.BotClicks,
			r.Conversions, r.Redemptions, short(r.Revenue))
		k := r.KPIs
		fmt.Fprintf(&b, "  CPE %s · CPA %s · ROAS %s · ROI %s · redemption rate %s %% · revenue per influencer %s · EPC %s\n",
			k.CPE, k.CPA, k.ROAS, k.ROI, k.RedemptionRate, k.RevenuePerInfluencer, k.EPC)
		for _, g := range r.Goal {
			fmt.Fprintf(&b, "  goal: %s\n", g)
		}
		for _, v := range r.Variants {
			fmt.Fprintf(&b, "  dark posts: %s\n", v)
		}
	}
	if len(s.Ranking) > 0 {
		b.WriteString("\nranking at the 14-day mark (not applied):\n")
		rt := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, r := range s.Ranking {
			fmt.Fprintf(rt, "  %d\t%s\t%s\t%s\n", r.Rank, r.Handle, r.Label, r.Reason)
		}
		if err := rt.Flush(); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	printFraud(&b, s.Fraud)
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
