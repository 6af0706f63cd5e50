// Package report turns a campaign's rollups into the numbers a brand
// decides with: spend and its parts, views, engagements, clicks,
// conversions, revenue and redemptions, and the KPIs of PRODUCT.md — CPE,
// CPA, ROAS, ROI, redemption rate, revenue per influencer and EPC — per
// campaign, per creator and per placement, over a window; whether the
// campaign's goal is on target; paid-social placements and their imported
// results; and the 14/30-day ranking that cuts, refreshes and scales
// creators. Reports read the rollups (internal/rollup), never raw clicks,
// snapshots or orders; the variant comparison reads the imported daily ad
// results (one row per ad and day).
package report

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// Undefined is a KPI whose denominator is zero.
const Undefined = "undefined"

// Windows a report covers.
const (
	WindowLaunch = "launch" // since launch: every day up to today
	Window14     = "14d"    // the last 14 days, today included
	Window30     = "30d"    // the last 30 days, today included
	WindowCustom = "custom" // From to To, both included
)

// MaxCustomDays bounds a custom window.
const MaxCustomDays = 3660

// Window is the range of UTC days a report covers.
type Window struct {
	Name string `json:"name"`
	// From and To are UTC dates (YYYY-MM-DD), both included; From is empty
	// for since launch.
	From string `json:"from,omitempty"`
	To   string `json:"to"`

	from, to int64 // days; from = minInt for since launch
}

const dateLayout = "2006-01-02"

// ParseWindow reads a window by name (launch when empty); from and to are
// YYYY-MM-DD dates, required for custom and refused otherwise. It returns
// Invalid naming the bad field.
func ParseWindow(name, from, to string, now time.Time) (Window, error) {
	today := rollup.DayOf(now.UnixMicro())
	w := Window{Name: name}
	if name == "" {
		w.Name = WindowLaunch
	}
	if w.Name != WindowCustom && (from != "" || to != "") {
		return w, errs.Invalidf("from", "invalid", "from and to are for window=custom")
	}
	switch w.Name {
	case WindowLaunch:
		w.from, w.to = -1<<40, today
	case Window14:
		w.from, w.to = today-13, today
	case Window30:
		w.from, w.to = today-29, today
	case WindowCustom:
		var c errs.Collector
		f, err1 := time.Parse(dateLayout, from)
		t, err2 := time.Parse(dateLayout, to)
		if err1 != nil {
			c.Addf("from", "invalid_date", "from must be a date YYYY-MM-DD")
		}
		if err2 != nil {
			c.Addf("to", "invalid_date", "to must be a date YYYY-MM-DD")
		}
		if err := c.Err(); err != nil {
			return w, err
		}
		w.from, w.to = rollup.DayOf(f.UnixMicro()), rollup.DayOf(t.UnixMicro())
		switch {
		case w.to < w.from:
			return w, errs.Invalidf("to", "before_from", "to (%s) is before from (%s)", to, from)
		case w.to-w.from >= MaxCustomDays:
			return w, errs.Invalidf("to", "too_long", "a custom window is at most %d days", MaxCustomDays)
		}
	default:
		return w, errs.Invalidf("window", "invalid", "window must be launch, 14d, 30d or custom")
	}
	if w.Name != WindowLaunch {
		w.From = time.UnixMicro(rollup.DayStart(w.from)).UTC().Format(dateLayout)
	}
	w.To = time.UnixMicro(rollup.DayStart(w.to)).UTC().Format(dateLayout)
	return w, nil
}

// Earnings are creator earnings (net of the platform fee, less what was
// clawed back) by payment model.
type Earnings struct {
	Interactions money.Amount `json:"interactions"`
	Commission   money.Amount `json:"commission"`
	CPA          money.Amount `json:"cpa"`
	FlatFee      money.Amount `json:"flat_fee"`
	Total        money.Amount `json:"total"`
}

// Spend is what the campaign cost, in parts: Total = creator earnings +
// platform fees + paid-social spend + the operating cost.
type Spend struct {
	Total         money.Amount `json:"total"`
	Earnings      Earnings     `json:"creator_earnings"`
	Fees          money.Amount `json:"platform_fees"`
	PaidSocial    money.Amount `json:"paid_social"`
	OperatingCost money.Amount `json:"operating_cost"`
}

// Figures are a row's measured counts and sums.
type Figures struct {
	Spend       Spend `json:"spend"`
	Views       int64 `json:"views"`
	Engagements int64 `json:"engagements"` // likes + comments + shares + saves
	Likes       int64 `json:"likes"`
	Comments    int64 `json:"comments"`
	Shares      int64 `json:"shares"`
	Saves       int64 `json:"saves"`
	Clicks      int64 `json:"clicks"`        // by people (bots apart)
	BotClicks   int64 `json:"bot_clicks"`    // kept and shown apart
	Unique      int64 `json:"unique_clicks"` // people's first click within an hour
	Conversions int64 `json:"conversions"`   // attributed orders not cancelled or fully refunded
	Redemptions int64 `json:"redemptions"`   // of which by discount code
	// OtherCurrency counts conversions in another currency than the
	// campaign's: in Conversions, not in Revenue (no FX).
	OtherCurrency int64        `json:"conversions_other_currency"`
	Revenue       money.Amount `json:"revenue"` // attributed, net of refunds
	Refunded      money.Amount `json:"refunded"`
	Ads           AdFigures    `json:"ads"`
}

// AdFigures are imported paid-social results.
type AdFigures struct {
	Spend         money.Amount `json:"spend"`
	Impressions   int64        `json:"impressions"`
	Clicks        int64        `json:"clicks"`
	Purchases     int64        `json:"purchases"`
	PurchaseValue money.Amount `json:"purchase_value"`
}

// KPIs are PRODUCT.md's definitions, each a decimal string (money KPIs in
// the campaign's currency, ratios as decimals, the redemption rate in
// percent), floored to six decimals, or "undefined" when the denominator is
// zero.
type KPIs struct {
	CPE                  string `json:"cpe"`                    // spend / engagements
	CPA                  string `json:"cpa"`                    // spend / conversions
	ROAS                 string `json:"roas"`                   // revenue / spend
	ROI                  string `json:"roi"`                    // (revenue − spend) / spend
	RedemptionRate       string `json:"redemption_rate"`        // redemptions / views, in percent
	RevenuePerInfluencer string `json:"revenue_per_influencer"` // revenue / creators
	EPC                  string `json:"epc"`                    // creator earnings / clicks by people
}

// Row is one line of a report: the figures and KPIs of the campaign, a
// creator or a placement.
type Row struct {
	CreatorID string  `json:"creator_id,omitempty"`
	Handle    string  `json:"handle,omitempty"`
	Placement string  `json:"placement,omitempty"`
	Figures   Figures `json:"figures"`
	KPIs      KPIs    `json:"kpis"`
}

// GoalStatus says whether a goal metric is on target in the window.
type GoalStatus struct {
	Metric campaign.Metric `json:"metric"`
	Target string          `json:"target"`
	Value  string          `json:"value"`
	// Status is on_target, off_target, undefined (the metric is undefined
	// in the window) or no_target (the goal sets no target for it).
	Status string `json:"status"`
}

// Report is a campaign's report over a window.
type Report struct {
	CampaignID string           `json:"campaign_id"`
	Name       string           `json:"campaign_name"`
	Currency   money.Currency   `json:"currency"`
	Window     Window           `json:"window"`
	Campaign   Row              `json:"campaign"`
	Goal       []GoalStatus     `json:"goal"`
	Creators   []Row            `json:"creators"`
	Placements []Row            `json:"placements"`
	Variants   []VariantCompare `json:"variant_comparisons,omitempty"`
}

// Service builds reports.
type Service struct {
	db        *store.DB
	clock     clock.Clock
	campaigns *campaign.Service
	market    *market.Service
	handles   func(ctx context.Context, creatorIDs []string) (map[string]string, error)
	sources   AdSources
}

// Deps are what a Service needs. Handles returns creators' display
// handles (may be nil).
type Deps struct {
	DB        *store.DB
	Clock     clock.Clock
	Campaigns *campaign.Service
	Market    *market.Service
	Handles   func(ctx context.Context, creatorIDs []string) (map[string]string, error)
	// Sources builds the ad platforms' clients (nil: imports by CSV only).
	Sources AdSources
}

// Now is the service's clock reading (windows end today).
func (s *Service) Now() time.Time { return s.clock.Now() }

// New returns a Service.
func New(d Deps) *Service {
	return &Service{db: d.DB, clock: d.Clock, campaigns: d.Campaigns, market: d.Market, handles: d.Handles, sources: d.Sources}
}

// sums is one group's rollup sums.
type sums [rollup.NumCols]int64

func (s *sums) add(o sums) {
	for i := range s {
		s[i] += o[i]
	}
}

// Campaign returns the report of a campaign p may see (its brand or the
// admin) over window w: the campaign's row, one row per creator (every
// creator with anything in the window, and every accepted creator), one
// per placement that has anything in the window, the goal's status and the
// comparison of ad variants. It returns NotFound for a campaign p may not
// see.
func (s *Service) Campaign(ctx context.Context, p identity.Principal, campaignID string, w Window) (Report, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return Report{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return Report{}, err
	}
	q := s.db.Read()
	type group struct {
		creator, placement string
		v                  sums
	}
	sel := ""
	for _, c := range rollup.Cols {
		sel += ", COALESCE(SUM(" + c + "), 0)"
	}
	groups, err := store.QueryAll(ctx, q, func(r store.Scanner) (group, error) {
		var g group
		dest := []any{&g.creator, &g.placement}
		for i := range g.v {
			dest = append(dest, &g.v[i])
		}
		return g, r.Scan(dest...)
	}, `SELECT creator_id, placement`+sel+` FROM rollups WHERE campaign_id = $1 AND day >= $2 AND day <= $3
		GROUP BY creator_id, placement ORDER BY creator_id, placement`, camp.ID, w.from, w.to)
	if err != nil {
		return Report{}, fmt.Errorf("report: read rollups: %w", err)
	}
	accepted, err := s.acceptedCreators(ctx, q, camp.ID)
	if err != nil {
		return Report{}, err
	}
	opCost, err := s.operatingCost(ctx, q, camp, w)
	if err != nil {
		return Report{}, err
	}
	var total sums
	byCreator := map[string]*sums{}
	var creatorIDs []string
	for _, c := range accepted {
		byCreator[c] = new(sums)
		creatorIDs = append(creatorIDs, c)
	}
	var placements []group
	for _, g := range groups {
		total.add(g.v)
		cs, ok := byCreator[g.creator]
		if !ok {
			cs = new(sums)
			byCreator[g.creator] = cs
			creatorIDs = append(creatorIDs, g.creator)
		}
		cs.add(g.v)
		if g.placement != "" {
			placements = append(placements, g)
		}
	}
	handles := map[string]string{}
	if s.handles != nil && len(creatorIDs) > 0 {
		if handles, err = s.handles(ctx, creatorIDs); err != nil {
			return Report{}, err
		}
	}
	cur := camp.Currency
	rep := Report{CampaignID: camp.ID, Name: camp.Name, Currency: cur, Window: w, Creators: []Row{}, Placements: []Row{}}
	rep.Campaign = row(total, cur, opCost, int64(len(creatorIDs)))
	sortStrings(creatorIDs)
	for _, c := range creatorIDs {
		r := row(*byCreator[c], cur, 0, 1)
		r.CreatorID, r.Handle = c, handles[c]
		rep.Creators = append(rep.Creators, r)
	}
	for _, g := range placements {
		r := placementRow(g.v, cur)
		r.CreatorID, r.Handle, r.Placement = g.creator, handles[g.creator], g.placement
		rep.Placements = append(rep.Placements, r)
	}
	rep.Goal = goalStatus(camp, rep.Campaign)
	if rep.Variants, err = s.compareVariants(ctx, q, camp.ID, w); err != nil {
		return Report{}, err
	}
	return rep, nil
}

func (s *Service) acceptedCreators(ctx context.Context, q store.Queryer, campaignID string) ([]string, error) {
	ids, err := store.QueryAll(ctx, q, func(r store.Scanner) (string, error) {
		var v string
		return v, r.Scan(&v)
	}, `SELECT creator_id FROM applications WHERE campaign_id = $1 AND state = 'accepted' ORDER BY creator_id`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("report: accepted creators: %w", err)
	}
	return ids, nil
}

// operatingCost is the campaign's operating cost for the window: all of it
// since launch; for another window, the share of its days that fall in the
// campaign's run (start to end date), floored to the micro-unit.
func (s *Service) operatingCost(ctx context.Context, q store.Queryer, camp campaign.Campaign, w Window) (int64, error) {
	var cost int64
	if err := q.QueryRowContext(ctx, `SELECT operating_cost FROM campaigns WHERE id = $1`, camp.ID).Scan(&cost); err != nil {
		return 0, fmt.Errorf("report: operating cost: %w", err)
	}
	if cost == 0 || w.Name == WindowLaunch || camp.Setup == nil {
		return cost, nil
	}
	start := camp.Setup.StartsAt
	if start.IsZero() {
		start = time.UnixMicro(int64(camp.CreatedAt))
	}
	first, last := rollup.DayOf(start.UnixMicro()), rollup.DayOf(camp.Setup.EndsAt.UnixMicro()-1)
	days := last - first + 1
	if days <= 0 {
		return cost, nil
	}
	overlap := min(last, w.to) - max(first, w.from) + 1
	if overlap <= 0 {
		return 0, nil
	}
	return mulDiv(cost, overlap, days), nil
}

// SetOperatingCost sets the operating cost (agency fees, tooling…) counted
// in a campaign's spend, for its brand or the admin; amount must be in the
// campaign's currency and not negative (Invalid otherwise).
func (s *Service) SetOperatingCost(ctx context.Context, p identity.Principal, campaignID string, amount money.Amount) (money.Amount, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return money.Amount{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return money.Amount{}, err
	}
	switch {
	case amount.Currency != camp.Currency:
		return money.Amount{}, errs.Invalidf("amount.currency", "currency_mismatch", "the campaign is in %s", camp.Currency)
	case amount.Micros < 0:
		return money.Amount{}, errs.Invalidf("amount.amount", "negative_amount", "the operating cost must not be negative")
	}
	if _, err := s.db.Writer().ExecContext(ctx, `UPDATE campaigns SET operating_cost = $1 WHERE id = $2`, amount.Micros, camp.ID); err != nil {
		return money.Amount{}, fmt.Errorf("report: set operating cost: %w", err)
	}
	return amount, nil
}

// row computes a row's figures and KPIs; creators is the denominator of
// revenue per influencer.
func row(v sums, cur money.Currency, opCost, creators int64) Row {
	m := func(c rollup.Col) money.Amount { return money.New(v[c], cur) }
	var f Figures
	f.Views, f.Likes, f.Comments, f.Shares, f.Saves = v[rollup.Views], v[rollup.Likes], v[rollup.Comments], v[rollup.Shares], v[rollup.Saves]
	f.Engagements = f.Likes + f.Comments + f.Shares + f.Saves
	f.Clicks, f.BotClicks, f.Unique = v[rollup.ClicksHuman], v[rollup.ClicksBot], v[rollup.ClicksUnique]
	f.Conversions, f.Redemptions, f.OtherCurrency = v[rollup.Conversions], v[rollup.Redemptions], v[rollup.OtherCurrency]
	f.Revenue, f.Refunded = m(rollup.Revenue), m(rollup.Refunded)
	e := &f.Spend.Earnings
	e.Interactions, e.Commission, e.CPA, e.FlatFee = m(rollup.EarnInteractions), m(rollup.EarnCommission), m(rollup.EarnCPA), m(rollup.EarnFlatFee)
	earn := v[rollup.EarnInteractions] + v[rollup.EarnCommission] + v[rollup.EarnCPA] + v[rollup.EarnFlatFee]
	e.Total = money.New(earn, cur)
	f.Spend.Fees, f.Spend.PaidSocial, f.Spend.OperatingCost = m(rollup.Fees), m(rollup.AdSpend), money.New(opCost, cur)
	spend := earn + v[rollup.Fees] + v[rollup.AdSpend] + opCost
	f.Spend.Total = money.New(spend, cur)
	f.Ads = AdFigures{Spend: m(rollup.AdSpend), Impressions: v[rollup.AdImpressions], Clicks: v[rollup.AdClicks],
		Purchases: v[rollup.AdPurchases], PurchaseValue: m(rollup.AdRevenue)}
	rev := v[rollup.Revenue]
	return Row{Figures: f, KPIs: KPIs{
		CPE:                  ratio(spend, f.Engagements, 1),
		CPA:                  ratio(spend, f.Conversions, 1),
		ROAS:                 ratio(rev, spend, money.Scale),
		ROI:                  ratio(rev-spend, spend, money.Scale),
		RedemptionRate:       ratio(f.Redemptions*100, f.Views, money.Scale),
		RevenuePerInfluencer: ratio(rev, creators, 1),
		EPC:                  ratio(earn, f.Clicks, 1),
	}}
}

// placementRow is a placement's row: its spend is its paid-social spend
// (creator earnings are the creator's, not a placement's).
func placementRow(v sums, cur money.Currency) Row {
	ads := v
	for _, c := range []rollup.Col{rollup.EarnInteractions, rollup.EarnCommission, rollup.EarnCPA, rollup.EarnFlatFee, rollup.Fees} {
		ads[c] = 0
	}
	r := row(ads, cur, 0, 1)
	r.KPIs.RevenuePerInfluencer = ""
	return r
}

// ratio returns floor(num × scale / den) as a decimal with six places of
// micro-units (num and the result in micro-units when scale is 1, a plain
// ratio when scale is money.Scale), or Undefined when den is zero. It
// never overflows: the product is computed exactly.
func ratio(num, den, scale int64) string {
	if den == 0 {
		return Undefined
	}
	n := new(big.Int).Mul(big.NewInt(num), big.NewInt(scale))
	d := big.NewInt(den)
	if d.Sign() < 0 {
		n.Neg(n)
		d.Neg(d)
	}
	q := new(big.Int).Div(n, d) // Euclidean: floor for d > 0
	if !q.IsInt64() {
		return Undefined
	}
	return money.FormatMicros(q.Int64())
}

// mulDiv returns floor(a × b / c) for non-negative a, b and positive c.
func mulDiv(a, b, c int64) int64 {
	n := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	return n.Div(n, big.NewInt(c)).Int64()
}

// goalStatus judges the campaign's goal metrics on the campaign's row.
func goalStatus(camp campaign.Campaign, r Row) []GoalStatus {
	out := []GoalStatus{}
	if camp.Setup == nil {
		return out
	}
	g := camp.Setup.Goal
	add := func(m campaign.Metric, target int64) {
		if m == "" {
			return
		}
		gs := GoalStatus{Metric: m, Target: money.FormatMicros(target)}
		var higherBetter bool
		switch m {
		case campaign.MetricCPA:
			gs.Value = r.KPIs.CPA
		case campaign.MetricROAS:
			gs.Value, higherBetter = r.KPIs.ROAS, true
		case campaign.MetricRevenue:
			gs.Value, higherBetter = money.FormatMicros(r.Figures.Revenue.Micros), true
		case campaign.MetricRedemptionRate:
			gs.Value, higherBetter = r.KPIs.RedemptionRate, true
		case campaign.MetricCPE:
			gs.Value = r.KPIs.CPE
		default:
			return
		}
		v, err := money.ParseMicros(gs.Value)
		switch {
		case gs.Value == Undefined || err != nil:
			gs.Status = Undefined
		case target == 0:
			gs.Status = "no_target"
		case higherBetter && v >= target, !higherBetter && v <= target:
			gs.Status = "on_target"
		default:
			gs.Status = "off_target"
		}
		out = append(out, gs)
	}
	add(g.Primary, g.PrimaryTarget)
	add(g.Secondary, g.SecondaryTarget)
	return out
}

func sortStrings(s []string) { slices.Sort(s) }
