package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/payper/payper/internal/ads"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/stats"
	"github.com/payper/payper/internal/store"
)

// Ad platforms and placement kinds.
const (
	PlatformMeta    = "meta"
	PlatformTikTok  = "tiktok"
	KindWhitelisted = "whitelisted" // the creator's post run as an ad under their handle
	KindDarkPost    = "dark_post"   // an ad variant of the creator's content, not on their feed
)

// AdPlacementPrefix prefixes ad placement ids.
const AdPlacementPrefix = "adp"

// AdSources returns the client of an ad platform ("meta" or "tiktok") for a
// brand; an error when the platform is not configured.
type AdSources func(brandID, platform string) (ads.Source, error)

// AdPlacement is a whitelisted ad or dark post: one variant of a creator's
// content shown to one audience segment, with its own tracked link.
type AdPlacement struct {
	ID         string       `json:"id"`
	CampaignID string       `json:"campaign_id"`
	CreatorID  string       `json:"creator_id"`
	Platform   string       `json:"platform"`
	Kind       string       `json:"kind"`
	AdID       string       `json:"ad_id"`
	Variant    string       `json:"variant"`
	Segment    string       `json:"segment"`
	Placement  string       `json:"placement"`
	LinkID     string       `json:"link_id"`
	ShortURL   string       `json:"short_url,omitempty"`
	CreatedAt  clock.Micros `json:"created_at"`
}

// AdDraft registers an ad placement.
type AdDraft struct {
	CreatorID   string `json:"creator_id"`
	Platform    string `json:"platform"`
	Kind        string `json:"kind"`
	AdID        string `json:"ad_id"`
	Variant     string `json:"variant"`
	Segment     string `json:"segment"`
	Destination string `json:"destination"`
}

var labelRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
var adIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// CreateAd registers an ad placement of a campaign p may see (its brand or
// the admin) for an accepted creator, making its tracked link (medium
// paid_social, placement "ad-<variant>-<segment>"). Variant and segment are
// lower-case slugs. It returns Invalid for bad fields (every one at once),
// Conflict ad_exists when the ad or the variant and segment pair is
// already registered, and NotFound for a campaign p may not see.
func (s *Service) CreateAd(ctx context.Context, p identity.Principal, links *links.Service, campaignID string, d AdDraft) (AdPlacement, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return AdPlacement{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return AdPlacement{}, err
	}
	d.Variant, d.Segment = strings.ToLower(strings.TrimSpace(d.Variant)), strings.ToLower(strings.TrimSpace(d.Segment))
	var c errs.Collector
	if d.CreatorID == "" {
		c.Addf("creator_id", "required", "creator_id is required")
	}
	if d.Platform != PlatformMeta && d.Platform != PlatformTikTok {
		c.Addf("platform", "invalid", "platform must be meta or tiktok")
	}
	if d.Kind != KindWhitelisted && d.Kind != KindDarkPost {
		c.Addf("kind", "invalid", "kind must be whitelisted or dark_post")
	}
	if !adIDRE.MatchString(d.AdID) {
		c.Addf("ad_id", "invalid", "ad_id must be the platform's ad id: 1 to 64 letters, digits, '_' or '-'")
	}
	if !labelRE.MatchString(d.Variant) {
		c.Addf("variant", "invalid", "variant must be a slug: lower-case letters, digits and '-', at most 40")
	}
	if !labelRE.MatchString(d.Segment) {
		c.Addf("segment", "invalid", "segment must be a slug: lower-case letters, digits and '-', at most 40")
	}
	if n := len("ad-" + d.Variant + "-" + d.Segment); n > 40 {
		c.Addf("segment", "too_long", "the placement ad-<variant>-<segment> would be %d characters; variant and segment together may have 35", n)
	}
	if err := c.Err(); err != nil {
		return AdPlacement{}, err
	}
	a := AdPlacement{ID: id.New(AdPlacementPrefix), CampaignID: camp.ID, CreatorID: d.CreatorID, Platform: d.Platform, Kind: d.Kind,
		AdID: d.AdID, Variant: d.Variant, Segment: d.Segment, Placement: "ad-" + d.Variant + "-" + d.Segment,
		CreatedAt: clock.MicrosOf(s.clock.Now())}
	var n int
	if err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM ad_placements WHERE campaign_id = $1 AND
		((platform = $2 AND ad_id = $3) OR placement = $4)`, camp.ID, a.Platform, a.AdID, a.Placement).Scan(&n); err != nil {
		return AdPlacement{}, fmt.Errorf("report: check ad: %w", err)
	}
	if n > 0 {
		return AdPlacement{}, errs.Conflictf("ad_exists", "campaign %s already has %s ad %s, or an ad whose placement is %s (variant and segment are joined with '-': choose names that do not collide)",
			camp.ID, a.Platform, a.AdID, a.Placement)
	}
	l, err := links.Create(ctx, p, camp.ID, linksDraft(d, a.Placement))
	if err != nil {
		return AdPlacement{}, err
	}
	a.LinkID, a.ShortURL = l.ID, l.ShortURL
	_, err = s.db.Writer().ExecContext(ctx, `INSERT INTO ad_placements (id, campaign_id, creator_id, platform, kind, ad_id, variant, segment,
		placement, link_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		a.ID, a.CampaignID, a.CreatorID, a.Platform, a.Kind, a.AdID, a.Variant, a.Segment, a.Placement, a.LinkID, int64(a.CreatedAt))
	if store.IsUniqueViolation(err) {
		return AdPlacement{}, errs.Conflictf("ad_exists", "campaign %s already has this ad", camp.ID)
	}
	if err != nil {
		return AdPlacement{}, fmt.Errorf("report: insert ad: %w", err)
	}
	return a, nil
}

func linksDraft(d AdDraft, placement string) links.Draft {
	return links.Draft{CreatorID: d.CreatorID, Placement: placement, Medium: links.MediumPaidSocial, Destination: d.Destination}
}

// ListAds returns a campaign's ad placements, oldest first.
func (s *Service) ListAds(ctx context.Context, p identity.Principal, campaignID string) ([]AdPlacement, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return nil, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	return s.ads(ctx, s.db.Read(), camp.ID)
}

func (s *Service) ads(ctx context.Context, q store.Queryer, campaignID string) ([]AdPlacement, error) {
	out, err := store.QueryAll(ctx, q, func(r store.Scanner) (AdPlacement, error) {
		var a AdPlacement
		return a, r.Scan(&a.ID, &a.CampaignID, &a.CreatorID, &a.Platform, &a.Kind, &a.AdID, &a.Variant, &a.Segment, &a.Placement, &a.LinkID, &a.CreatedAt)
	}, `SELECT id, campaign_id, creator_id, platform, kind, ad_id, variant, segment, placement, link_id, created_at
		FROM ad_placements WHERE campaign_id = $1 ORDER BY id`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("report: list ads: %w", err)
	}
	return out, nil
}

// ImportResult says what an import did.
type ImportResult struct {
	Rows      int `json:"rows"`      // rows received
	Changed   int `json:"changed"`   // days whose results were new or different
	Unchanged int `json:"unchanged"` // days already imported with the same results
}

// ImportRows stores daily ad results for the ad placements of a campaign
// p may see: a day already imported is replaced (the rollups move by the
// difference), so re-importing an overlapping range never doubles. Every
// row must name a registered ad of the campaign and be in the campaign's
// currency; otherwise nothing is imported and the Invalid error lists every
// bad row (by CSV line where there is one). source is "csv", "meta" or
// "tiktok".
func (s *Service) ImportRows(ctx context.Context, p identity.Principal, campaignID, source string, rows []ads.DailyResult) (ImportResult, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return ImportResult{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return ImportResult{}, err
	}
	placements, err := s.ads(ctx, s.db.Read(), camp.ID)
	if err != nil {
		return ImportResult{}, err
	}
	byAd := map[string]AdPlacement{}
	for _, a := range placements {
		byAd[a.AdID] = a
	}
	var c errs.Collector
	where := func(i int, r ads.DailyResult) string {
		if r.Line > 0 {
			return fmt.Sprintf("line %d", r.Line)
		}
		return fmt.Sprintf("row %d (ad %s, %s)", i+1, r.AdID, r.Day.Format(dateLayout))
	}
	seen := map[string]bool{}
	for i, r := range rows {
		a, ok := byAd[r.AdID]
		switch {
		case !ok:
			c.Addf(where(i, r), "unknown_ad", "%s: ad %s is not registered in campaign %s", where(i, r), r.AdID, camp.ID)
		case source != "csv" && a.Platform != source:
			c.Addf(where(i, r), "wrong_platform", "%s: ad %s is a %s ad", where(i, r), r.AdID, a.Platform)
		case money.Currency(r.Currency) != camp.Currency:
			c.Addf(where(i, r), "currency_mismatch", "%s: results in %s, the campaign is in %s", where(i, r), r.Currency, camp.Currency)
		case r.Spend < 0 || r.Impressions < 0 || r.Clicks < 0 || r.Purchases < 0 || r.PurchaseValue < 0:
			c.Addf(where(i, r), "negative", "%s: negative figures", where(i, r))
		}
		k := r.AdID + "|" + r.Day.Format(dateLayout)
		if seen[k] {
			c.Addf(where(i, r), "duplicate", "%s: ad %s on %s appears twice", where(i, r), r.AdID, r.Day.Format(dateLayout))
		}
		seen[k] = true
	}
	if err := c.Err(); err != nil {
		return ImportResult{}, err
	}
	res := ImportResult{Rows: len(rows)}
	now := s.clock.Now().UnixMicro()
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		res.Changed, res.Unchanged = 0, 0
		// Lock the placements imported into, in a fixed order, so two
		// imports of the same days (PostgreSQL runs them at once) apply one
		// after the other: each reads the other's rows as its old values.
		ids := make([]string, 0, len(rows))
		for _, r := range rows {
			ids = append(ids, byAd[r.AdID].ID)
		}
		slices.Sort(ids)
		for _, pid := range slices.Compact(ids) {
			var got string
			if err := tx.QueryRowContext(ctx, `SELECT id FROM ad_placements WHERE id = $1`+tx.ForUpdate(), pid).Scan(&got); err != nil {
				return err
			}
		}
		var roll rollup.Batch
		for _, r := range rows {
			a := byAd[r.AdID]
			day := rollup.DayOf(r.Day.UnixMicro())
			var old [5]int64
			err := tx.QueryRowContext(ctx, `SELECT spend, impressions, clicks, purchases, purchase_value FROM ad_results
				WHERE placement_id = $1 AND day = $2`+tx.ForUpdate(), a.ID, day).Scan(&old[0], &old[1], &old[2], &old[3], &old[4])
			found := err == nil
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			cur := [5]int64{r.Spend, r.Impressions, r.Clicks, r.Purchases, r.PurchaseValue}
			if found && cur == old {
				res.Unchanged++
				continue
			}
			res.Changed++
			if _, err := tx.ExecContext(ctx, `INSERT INTO ad_results (placement_id, day, currency, spend, impressions, clicks, purchases,
				purchase_value, source, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
				ON CONFLICT (placement_id, day) DO UPDATE SET spend = excluded.spend, impressions = excluded.impressions,
				clicks = excluded.clicks, purchases = excluded.purchases, purchase_value = excluded.purchase_value,
				source = excluded.source, imported_at = excluded.imported_at`,
				a.ID, day, r.Currency, r.Spend, r.Impressions, r.Clicks, r.Purchases, r.PurchaseValue, source, now); err != nil {
				return err
			}
			k := rollup.Key{Campaign: camp.ID, Creator: a.CreatorID, Placement: a.Placement, Day: day}
			for i, col := range []rollup.Col{rollup.AdSpend, rollup.AdImpressions, rollup.AdClicks, rollup.AdPurchases, rollup.AdRevenue} {
				roll.Add(k, col, cur[i]-old[i])
			}
		}
		return roll.Flush(ctx, tx)
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("report: import ad results: %w", err)
	}
	return res, nil
}

// Import fetches the results of a campaign's ads on platform over the
// days from..to (inclusive, at most 93 days) from the platform's API and
// stores them as ImportRows does. It returns Invalid for a bad range or an
// unconfigured platform, Unavailable when the platform throttles or fails,
// and Invalid (platform_unauthorized) when it refuses the credentials.
func (s *Service) Import(ctx context.Context, p identity.Principal, campaignID, platform string, from, to time.Time) (ImportResult, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return ImportResult{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return ImportResult{}, err
	}
	switch {
	case platform != PlatformMeta && platform != PlatformTikTok:
		return ImportResult{}, errs.Invalidf("platform", "invalid", "platform must be meta or tiktok")
	case to.Before(from):
		return ImportResult{}, errs.Invalidf("to", "before_from", "to is before from")
	case to.Sub(from) > 92*24*time.Hour:
		return ImportResult{}, errs.Invalidf("to", "too_long", "import at most 93 days at once")
	case s.sources == nil:
		return ImportResult{}, errs.Invalidf("platform", "not_configured", "no %s ad account is configured on this server", platform)
	}
	src, err := s.sources(camp.BrandID, platform)
	if err != nil {
		return ImportResult{}, errs.Invalidf("platform", "not_configured", "%v", err)
	}
	placements, err := s.ads(ctx, s.db.Read(), camp.ID)
	if err != nil {
		return ImportResult{}, err
	}
	var adIDs []string
	for _, a := range placements {
		if a.Platform == platform {
			adIDs = append(adIDs, a.AdID)
		}
	}
	if len(adIDs) == 0 {
		return ImportResult{}, nil
	}
	rows, err := src.Results(ctx, adIDs, from, to)
	switch {
	case errors.Is(err, ads.ErrUnauthorized):
		return ImportResult{}, &errs.Error{Kind: errs.Invalid, Code: "platform_unauthorized", Field: "platform",
			Message: fmt.Sprintf("%s refused the configured access token: renew it", platform), Err: err}
	case errors.Is(err, ads.ErrThrottled):
		return ImportResult{}, &errs.Error{Kind: errs.Unavailable, Code: "platform_throttled", Message: fmt.Sprintf("%s is throttling: try later", platform), Err: err}
	case err != nil:
		return ImportResult{}, &errs.Error{Kind: errs.Unavailable, Code: "platform_error", Message: fmt.Sprintf("%s: %v", platform, err), Err: err}
	}
	return s.ImportRows(ctx, p, camp.ID, platform, rows)
}

// VariantCompare compares the two best-converting variants of one
// creator's ads over a window: purchases per ad click, as the platform
// reported them.
type VariantCompare struct {
	CreatorID string `json:"creator_id"`
	// Segment is the audience segment compared within, or "" for all
	// segments together.
	Segment string         `json:"segment,omitempty"`
	A       VariantFigures `json:"a"`
	B       VariantFigures `json:"b"`
	Z       float64        `json:"z"`
	PValue  float64        `json:"p_value"`
	// Winner is the name of the variant that converts better, "" when
	// there is no clear winner yet.
	Winner  string `json:"winner,omitempty"`
	Verdict string `json:"verdict"`
}

// VariantFigures are one variant's ad results in a comparison.
type VariantFigures struct {
	Variant   string       `json:"variant"`
	Spend     money.Amount `json:"spend"`
	Clicks    int64        `json:"clicks"`
	Purchases int64        `json:"purchases"`
	CTR       string       `json:"ctr"` // clicks / impressions
	CPA       string       `json:"cpa"` // spend / purchases
	ROAS      string       `json:"roas"`
}

// compareVariants compares, per creator, the variants of their ads: all
// segments together, and within each segment that has two variants or more.
func (s *Service) compareVariants(ctx context.Context, q store.Queryer, campaignID string, w Window) ([]VariantCompare, error) {
	type agg struct {
		creator, variant, segment, currency          string
		spend, impressions, clicks, purchases, value int64
	}
	rows, err := store.QueryAll(ctx, q, func(r store.Scanner) (agg, error) {
		var a agg
		return a, r.Scan(&a.creator, &a.variant, &a.segment, &a.currency, &a.spend, &a.impressions, &a.clicks, &a.purchases, &a.value)
	}, `SELECT p.creator_id, p.variant, p.segment, c.currency, COALESCE(SUM(r.spend), 0), COALESCE(SUM(r.impressions), 0),
		COALESCE(SUM(r.clicks), 0), COALESCE(SUM(r.purchases), 0), COALESCE(SUM(r.purchase_value), 0)
		FROM ad_placements p JOIN campaigns c ON c.id = p.campaign_id
		LEFT JOIN ad_results r ON r.placement_id = p.id AND r.day >= $2 AND r.day <= $3
		WHERE p.campaign_id = $1 GROUP BY p.creator_id, p.variant, p.segment, c.currency ORDER BY p.creator_id, p.variant, p.segment`,
		campaignID, w.from, w.to)
	if err != nil {
		return nil, fmt.Errorf("report: ad variants: %w", err)
	}
	type gkey struct{ creator, segment string }
	groups := map[gkey]map[string]*agg{}
	var order []gkey
	put := func(k gkey, a agg) {
		g := groups[k]
		if g == nil {
			g = map[string]*agg{}
			groups[k] = g
			order = append(order, k)
		}
		v := g[a.variant]
		if v == nil {
			v = &agg{creator: a.creator, variant: a.variant, segment: k.segment, currency: a.currency}
			g[a.variant] = v
		}
		v.spend += a.spend
		v.impressions += a.impressions
		v.clicks += a.clicks
		v.purchases += a.purchases
		v.value += a.value
	}
	segments := map[string]map[string]bool{}
	for _, a := range rows {
		if segments[a.creator] == nil {
			segments[a.creator] = map[string]bool{}
		}
		segments[a.creator][a.segment] = true
	}
	for _, a := range rows {
		put(gkey{a.creator, ""}, a)
		if len(segments[a.creator]) > 1 { // with one segment it is the overall comparison again
			put(gkey{a.creator, a.segment}, a)
		}
	}
	out := []VariantCompare{}
	for _, k := range order {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		vs := make([]*agg, 0, len(g))
		for _, v := range g {
			vs = append(vs, v)
		}
		// The two best by conversion rate (ties: more clicks, then name).
		sort.Slice(vs, func(i, j int) bool {
			li, lj := vs[i].purchases*max(vs[j].clicks, 1), vs[j].purchases*max(vs[i].clicks, 1)
			if li != lj {
				return li > lj
			}
			if vs[i].clicks != vs[j].clicks {
				return vs[i].clicks > vs[j].clicks
			}
			return vs[i].variant < vs[j].variant
		})
		a, b := vs[0], vs[1]
		cmp := stats.CompareRates(a.purchases, a.clicks, b.purchases, b.clicks)
		fig := func(v *agg) VariantFigures {
			return VariantFigures{Variant: v.variant, Spend: money.New(v.spend, money.Currency(v.currency)), Clicks: v.clicks, Purchases: v.purchases,
				CTR: ratio(v.clicks, v.impressions, money.Scale), CPA: ratio(v.spend, v.purchases, 1), ROAS: ratio(v.value, v.spend, money.Scale)}
		}
		vc := VariantCompare{CreatorID: k.creator, Segment: k.segment, A: fig(a), B: fig(b), Z: cmp.Z, PValue: cmp.PValue}
		verdict := strings.NewReplacer("variant A", "variant "+a.variant, "variant B", "variant "+b.variant).Replace(cmp.Verdict)
		switch cmp.Winner {
		case "A":
			vc.Winner = a.variant
		case "B":
			vc.Winner = b.variant
		}
		vc.Verdict = verdict
		out = append(out, vc)
	}
	return out, nil
}
