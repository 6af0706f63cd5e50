package campaign

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

// This file holds a pay-per-interaction campaign's setup: what a brand
// configures (goal, brief, prices, caps, dates, eligibility), the rules it
// must satisfy (Validate), its JSON form for the API, and the pricing advisor
// (Advise). It is pure domain code: no database, no HTTP.

// Metric is a KPI a campaign goal targets. Primary metrics are MetricCPA,
// MetricROAS and MetricRevenue; secondary metrics are MetricRedemptionRate and
// MetricCPE. The KPIs are defined once, in PRODUCT.md.
type Metric string

// The metrics a goal can target, and the unit of their targets.
const (
	MetricCPA            Metric = "cpa"             // primary; target: money per conversion, in micros of the campaign currency
	MetricROAS           Metric = "roas"            // primary; target: revenue/spend ratio in micros (3_500_000 = 3.5×)
	MetricRevenue        Metric = "revenue"         // primary; target: attributed revenue, in micros of the campaign currency
	MetricRedemptionRate Metric = "redemption_rate" // secondary; target: micros of a percent (500_000 = 0.5 %), at most 100 %
	MetricCPE            Metric = "cpe"             // secondary; target: money per engagement, in micros of the campaign currency
)

// IsPrimary reports whether m may be a goal's primary metric (cpa, roas or
// revenue). It never fails: anything else is false.
func (m Metric) IsPrimary() bool {
	return m == MetricCPA || m == MetricROAS || m == MetricRevenue
}

// IsSecondary reports whether m may be a goal's secondary metric
// (redemption_rate or cpe). It never fails: anything else is false.
func (m Metric) IsSecondary() bool {
	return m == MetricRedemptionRate || m == MetricCPE
}

// IsMoney reports whether m's target is an amount of money in the campaign
// currency (cpa, revenue, cpe) rather than a ratio (roas) or a percentage
// (redemption_rate). It never fails.
func (m Metric) IsMoney() bool {
	return m == MetricCPA || m == MetricRevenue || m == MetricCPE
}

// Goal is what a campaign is measured against: one primary metric and,
// optionally, one secondary metric, each with a positive target. Targets are
// exact micro-units; see the Metric constants for each target's unit.
type Goal struct {
	Primary         Metric
	PrimaryTarget   int64
	Secondary       Metric // "" when the goal has no secondary metric
	SecondaryTarget int64
}

// Platform is a social platform a creator posts on.
type Platform string

// The platforms payper knows. PlatformSandbox is the built-in sandbox.
const (
	PlatformInstagram Platform = "instagram"
	PlatformTikTok    Platform = "tiktok"
	PlatformYouTube   Platform = "youtube"
	PlatformSandbox   Platform = "sandbox"
)

// setupPostTypes lists the post types each platform offers.
var setupPostTypes = map[Platform][]string{
	PlatformInstagram: {"feed", "reel", "story", "carousel"},
	PlatformTikTok:    {"video"},
	PlatformYouTube:   {"video", "short"},
	PlatformSandbox:   {"post", "video"},
}

// Valid reports whether p is one of the known platforms. It never fails.
func (p Platform) Valid() bool {
	_, ok := setupPostTypes[p]
	return ok
}

// PostTypes returns the post types a brief may ask for on p, such as "reel"
// for Instagram, as a new slice. It returns nil for an unknown platform.
func (p Platform) PostTypes() []string {
	return slices.Clone(setupPostTypes[p])
}

// BriefItem names a part of a brief a brand can mark as non-negotiable.
type BriefItem string

// The brief items that can be non-negotiable.
const (
	ItemHashtags   BriefItem = "hashtags"
	ItemDisclosure BriefItem = "disclosure"
	ItemCTA        BriefItem = "cta"
	ItemHook       BriefItem = "hook"
	ItemLandingURL BriefItem = "landing_url"
	ItemPostTypes  BriefItem = "post_types"
)

// setupBriefItems lists every BriefItem, in documentation order.
var setupBriefItems = []BriefItem{ItemHashtags, ItemDisclosure, ItemCTA, ItemHook, ItemLandingURL, ItemPostTypes}

// Defaults and limits of a setup.
const (
	DefaultDisclosure   = "#ad"  // the disclosure used when a brief names none
	DefaultMinFollowers = 1_000  // eligibility.min_followers when none is given (nano tier floor)
	DefaultMaxFollowers = 25_000 // eligibility.max_followers when none is given

	MaxTextLen          = 2000   // characters in a brief's product or message
	MaxCTALen           = 500    // characters in a brief's CTA
	MaxDisclosureLen    = 100    // characters in a brief's disclosure
	MaxHashtagLen       = 100    // characters in one hashtag, '#' included
	MaxRequiredHashtags = 30     // required hashtags (Instagram allows 30 per post)
	MaxHookSeconds      = 60     // brief.hook_seconds is 0 (no hook timing) to 60
	MaxURLLen           = 2048   // bytes in a landing URL
	MaxCreatorsLimit    = 10_000 // max_creators is 0 (unlimited) to this
	MaxNiches           = 50     // eligibility niches

	DefaultAttributionWindowDays = 30                  // performance.attribution_window_days when none is given
	MaxAttributionWindowDays     = 365                 // the longest attribution window
	DefaultCodePattern           = "{HANDLE}{PERCENT}" // performance.code_pattern when none is given
	DefaultCodePercentBps        = 1000                // a code's discount when none is given (10 %)
	MaxCodePatternLen            = 64                  // bytes in a code pattern
	MaxAdPermissionDays          = 365                 // the longest ad permission asked of creators
	MaxUTMLen                    = 60                  // characters in performance.utm_campaign and utm_source
	UTMHandle                    = "{HANDLE}"          // in performance.utm_source: the creator's handle
)

// Brief is the creative direction creators follow.
type Brief struct {
	Product string
	Message string
	// RequiredHashtags are lower-case, start with '#' and are unique once
	// normalized; a hashtag is '#' then letters, digits, marks or '_' (any
	// script), not only digits, at most MaxHashtagLen characters in all.
	RequiredHashtags []string
	Disclosure       string                // DefaultDisclosure ("#ad") when empty
	PostTypes        map[Platform][]string // allowed post types per platform; a platform absent here allows all of its types
	CTA              string                // call to action, e.g. "mention code SUMMER10"
	HookSeconds      int                   // the CTA must come within the first HookSeconds seconds; 0 = no constraint
	LandingURL       string                // absolute https URL (http only for localhost); required
	NonNegotiable    []BriefItem           // items creators may not deviate from
}

// Prices are what the campaign pays per verified interaction, in micro-units
// of the campaign currency. Zero means the interaction is not paid; any subset
// may be priced, but at least one must be.
type Prices struct {
	View, Like, Comment, Share, Save int64
}

// Eligibility says which creators may apply. Empty Countries or Niches mean
// any. Followers are inclusive bounds.
type Eligibility struct {
	Platforms    []Platform
	MinFollowers int64 // DefaultMinFollowers when both bounds are zero
	MaxFollowers int64 // DefaultMaxFollowers when both bounds are zero
	Countries    []string
	Niches       []string // slugs: lower-case letters, digits and '-', 1 to 40 characters
}

// Setup is what a brand configures for a pay-per-interaction campaign. Money
// fields are micro-units of the campaign's currency, which the Setup does not
// carry: it is the campaign's (see Campaign.Currency).
type Setup struct {
	Goal        Goal
	Brief       Brief
	Prices      Prices
	CreatorCap  int64 // most one creator can earn, in micros; 0 = no cap
	MaxCreators int   // 0 = unlimited, at most MaxCreatorsLimit
	// ContentApproval: the brand approves each post before billing starts.
	ContentApproval bool
	StartsAt        time.Time
	EndsAt          time.Time // required
	Eligibility     Eligibility
	// Performance holds the payment models for measured sales (commission,
	// CPA) and acceptance (flat fee), and the creators' discount codes.
	Performance Performance
}

// Performance is how a campaign pays for results other than interactions,
// stackable with the interaction prices: all of it is paid from the same
// escrow, with the same fee and holding period.
type Performance struct {
	// CommissionBps is the creator's share of attributed net revenue
	// (revenue less refunds), in basis points (1,000 = 10 %); 0 = none. It
	// is paid on orders in the campaign's currency only.
	CommissionBps int64
	// CPA is paid per attributed order that is not cancelled or fully
	// refunded, in micros; 0 = none.
	CPA int64
	// FlatFee is paid to each creator once, when accepted (a creative
	// honorarium), in micros; 0 = none.
	FlatFee int64
	// AttributionWindowDays is how long after a click an order is credited
	// to it (DefaultAttributionWindowDays when zero).
	AttributionWindowDays int
	// CodePattern makes the creators' discount codes (DefaultCodePattern
	// when empty): literal letters, digits and '-' with the placeholders
	// {HANDLE}, {CAMPAIGN}, {PERCENT} and {RANDn} (n random characters,
	// 2 to 8).
	CodePattern string
	// CodePercentBps is the discount a creator's code gives, in basis
	// points of the order (1,500 = 15 %); CodeAmountOff a fixed amount off
	// in micros instead. At most one is set; neither means 10 %.
	CodePercentBps int64
	CodeAmountOff  int64
	// CommissionBase is what the commission is a share of:
	// CommissionBaseNet (the default, also when empty) is the order's total
	// less its tax and shipping, as the store reports them;
	// CommissionBaseTotal the whole total, tax and shipping included.
	// Refunds reduce either in proportion to the order's total.
	CommissionBase string
	// AdPermissions is what the brand asks of every accepted creator for
	// paid social: whitelisting and/or dark posts, for how many days. A
	// creator sees it in the marketplace before applying.
	AdPermissions AdPermissions
	// UTMCampaign is the utm_campaign of the campaign's tracked links; ""
	// means the campaign's name as a slug (links.CampaignSlug), as links
	// were always made.
	UTMCampaign string
	// UTMSource is the utm_source rule of the campaign's tracked links:
	// lower-case letters, digits, '-', '_', '.' and the placeholder
	// {HANDLE} (the creator's handle); "" means "{HANDLE}", as links were
	// always made.
	UTMSource string
}

// AdPermissions are the rights a campaign asks of its creators to run
// their content as ads. Days is required (1 to MaxAdPermissionDays) when
// either is asked, and must be 0 when neither is.
type AdPermissions struct {
	// Whitelisting: the brand runs the creator's post as an ad under the
	// creator's handle (Meta's partnership ads, TikTok's Spark Ads).
	Whitelisting bool `json:"whitelisting"`
	// DarkPosts: the brand runs ads under the creator's handle that do
	// not appear on the creator's own profile.
	DarkPosts bool `json:"dark_posts"`
	// Days is how long the permissions last from the post.
	Days int `json:"days"`
}

// Asked reports whether any ad permission is asked.
func (a AdPermissions) Asked() bool { return a.Whitelisting || a.DarkPosts }

// UTMSourceFor is the utm_source of a link of handle in a campaign with
// utm_source rule rule ("" is "{HANDLE}").
func UTMSourceFor(rule, handle string) string {
	if rule == "" {
		return handle
	}
	return strings.ReplaceAll(rule, UTMHandle, handle)
}

// Commission bases (Performance.CommissionBase).
const (
	CommissionBaseNet   = "net"   // the order less tax and shipping (the default)
	CommissionBaseTotal = "total" // the order's whole total
)

// Pays reports whether p pays for anything.
func (p Performance) Pays() bool { return p.CommissionBps > 0 || p.CPA > 0 || p.FlatFee > 0 }

// Window is the attribution window.
func (p Performance) Window() time.Duration {
	d := p.AttributionWindowDays
	if d == 0 {
		d = DefaultAttributionWindowDays
	}
	return time.Duration(d) * 24 * time.Hour
}

// Discount is the code's discount: percent in basis points or a fixed
// amount off in micros (one of them zero), 10 % when neither is set.
func (p Performance) Discount() (percentBps, amountOff int64) {
	if p.CodePercentBps == 0 && p.CodeAmountOff == 0 {
		return DefaultCodePercentBps, 0
	}
	return p.CodePercentBps, p.CodeAmountOff
}

// Normalize fills in defaults and puts free-form fields in their canonical
// form, so that Validate judges what the brand meant:
//   - text fields and the landing URL are trimmed; metrics, platforms,
//     post types and non-negotiable items are trimmed and lower-cased;
//   - an empty disclosure becomes DefaultDisclosure;
//   - hashtags are trimmed, given a leading '#' if they lack one and
//     lower-cased;
//   - countries are trimmed and upper-cased; niches are trimmed, lower-cased
//     and their spaces and underscores turned into '-';
//   - every list drops blank entries and duplicates (keeping the first), and
//     is nil when nothing is left; post types of the same platform merge;
//   - when both follower bounds are zero they become DefaultMinFollowers and
//     DefaultMaxFollowers (set MaxFollowers to allow a minimum of zero);
//   - times are converted to UTC and truncated to the microsecond.
//
// Normalize cannot fail and is idempotent. It does not drop invalid values:
// Validate reports them.
func (s *Setup) Normalize() {
	s.Goal.Primary = Metric(setupLower(string(s.Goal.Primary)))
	s.Goal.Secondary = Metric(setupLower(string(s.Goal.Secondary)))

	b := &s.Brief
	b.Product = strings.TrimSpace(b.Product)
	b.Message = strings.TrimSpace(b.Message)
	b.CTA = strings.TrimSpace(b.CTA)
	b.LandingURL = strings.TrimSpace(b.LandingURL)
	b.Disclosure = strings.TrimSpace(b.Disclosure)
	if b.Disclosure == "" {
		b.Disclosure = DefaultDisclosure
	}
	b.RequiredHashtags = setupUnique(b.RequiredHashtags, func(h string) string {
		h = strings.TrimSpace(h)
		if h != "" && !strings.HasPrefix(h, "#") {
			h = "#" + h
		}
		return strings.ToLower(h)
	})
	b.NonNegotiable = setupUnique(b.NonNegotiable, func(i BriefItem) BriefItem { return BriefItem(setupLower(string(i))) })
	if len(b.PostTypes) > 0 {
		merged := make(map[Platform][]string, len(b.PostTypes))
		keys := make([]Platform, 0, len(b.PostTypes))
		for p := range b.PostTypes {
			keys = append(keys, p)
		}
		slices.Sort(keys) // merge same-platform keys in a fixed order
		for _, p := range keys {
			np := Platform(setupLower(string(p)))
			merged[np] = append(merged[np], b.PostTypes[p]...)
		}
		for p, types := range merged {
			merged[p] = setupUnique(types, setupLower)
			if merged[p] == nil {
				merged[p] = []string{} // keep the platform so Validate reports its empty list
			}
		}
		b.PostTypes = merged
	} else {
		b.PostTypes = nil
	}

	e := &s.Eligibility
	e.Platforms = setupUnique(e.Platforms, func(p Platform) Platform { return Platform(setupLower(string(p))) })
	if e.MinFollowers == 0 && e.MaxFollowers == 0 {
		e.MinFollowers, e.MaxFollowers = DefaultMinFollowers, DefaultMaxFollowers
	}
	e.Countries = setupUnique(e.Countries, func(c string) string { return strings.ToUpper(strings.TrimSpace(c)) })
	e.Niches = setupUnique(e.Niches, func(n string) string {
		n = setupLower(n)
		return strings.Join(strings.FieldsFunc(n, func(r rune) bool { return unicode.IsSpace(r) || r == '_' }), "-")
	})

	s.StartsAt = setupTime(s.StartsAt)
	s.EndsAt = setupTime(s.EndsAt)
	pf := &s.Performance
	pf.CodePattern = strings.ToUpper(strings.TrimSpace(pf.CodePattern))
	pf.CommissionBase = strings.ToLower(strings.TrimSpace(pf.CommissionBase))
	pf.UTMCampaign = setupLower(pf.UTMCampaign)
	pf.UTMSource = strings.ReplaceAll(setupLower(pf.UTMSource), strings.ToLower(UTMHandle), UTMHandle)
	if pf.Pays() {
		if pf.AttributionWindowDays == 0 {
			pf.AttributionWindowDays = DefaultAttributionWindowDays
		}
		if pf.CodePattern == "" {
			pf.CodePattern = DefaultCodePattern
		}
	}
}

func setupLower(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func setupTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// setupUnique maps every element of in through norm and returns the
// non-empty results without duplicates, in first-seen order, or nil.
func setupUnique[T ~string](in []T, norm func(T) T) []T {
	var out []T
	seen := make(map[T]bool, len(in))
	for _, v := range in {
		v = norm(v)
		if v == "" || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, v)
	}
	return out
}

// Validate checks s against budget (the campaign's budget and currency) at
// time now, and returns nil or one *errs.Error of kind Invalid whose Fields
// list every problem at once. Field names are the JSON paths of the setup,
// such as "goal.primary", "brief.landing_url", "prices.share" or
// "eligibility.max_followers", plus "budget.amount" and "budget.currency"
// when budget itself is unusable.
//
// Validate judges s as it is; call Normalize first so that defaults are
// filled in and, for example, "summer" is read as "#summer" and "de" as "DE".
// The rules:
//   - goal.primary is cpa, roas or revenue and goal.primary_target is
//     positive; goal.secondary is empty or redemption_rate or cpe, with a
//     positive goal.secondary_target (a redemption rate is at most 100 %);
//     a secondary target needs a secondary metric;
//   - brief.product and brief.message are required, at most MaxTextLen
//     characters; brief.cta at most MaxCTALen; brief.disclosure required, at
//     most MaxDisclosureLen; brief.hook_seconds 0 to MaxHookSeconds;
//     brief.landing_url an absolute https URL without credentials (http only
//     for localhost); hashtags valid and at most MaxRequiredHashtags;
//     post types known for their platform, for a platform in
//     eligibility.platforms, and not an empty list; non-negotiable items
//     known and configured (a non-negotiable CTA needs a CTA, a hook needs
//     hook_seconds, hashtags and post types need at least one);
//   - prices are not negative, at least one is positive, and none exceeds
//     the budget or the creator cap;
//   - creator_cap is not negative and does not exceed the budget;
//     max_creators is 0 to MaxCreatorsLimit;
//   - ends_at is required, after starts_at (when set) and after now; a zero
//     starts_at means "when funded", and a past one is allowed;
//   - eligibility.platforms is non-empty and known; min_followers >= 0 and
//     max_followers >= max(min_followers, 1); countries are ISO 3166-1
//     alpha-2 codes in upper case; niches match ^[a-z0-9][a-z0-9-]{0,39}$,
//     at most MaxNiches;
//   - performance.ad_permissions.days is 1 to MaxAdPermissionDays when
//     whitelisting or dark_posts is asked, and 0 otherwise;
//     performance.utm_campaign and utm_source (when set) are at most
//     MaxUTMLen lower-case letters, digits, '-', '_' and '.', utm_source
//     with the placeholder {HANDLE}.
func (s Setup) Validate(budget money.Amount, now time.Time) error {
	var c errs.Collector
	cur := budget.Currency
	haveBudget := true
	switch {
	case !cur.Valid():
		c.Addf("budget.currency", "unknown_currency", "unsupported currency %q", string(cur))
		haveBudget = false
	case budget.Micros == 0:
		c.Addf("budget.amount", "zero_amount", "budget must be greater than zero")
		haveBudget = false
	case budget.Micros < 0:
		c.Addf("budget.amount", "negative_amount", "budget must not be negative")
		haveBudget = false
	}
	amt := func(m int64) string { return setupAmount(m, cur) }

	// Goal.
	g := s.Goal
	switch {
	case g.Primary == "":
		c.Addf("goal.primary", "required", "a primary metric is required: cpa, roas or revenue")
	case !g.Primary.IsPrimary():
		c.Addf("goal.primary", "invalid_metric", "primary metric %q is not one of cpa, roas or revenue", string(g.Primary))
	}
	setupTarget(&c, "goal.primary_target", g.Primary, g.PrimaryTarget)
	switch {
	case g.Secondary == "" && g.SecondaryTarget != 0:
		c.Addf("goal.secondary", "required", "a secondary target needs a secondary metric: redemption_rate or cpe")
	case g.Secondary == "":
	case !g.Secondary.IsSecondary():
		c.Addf("goal.secondary", "invalid_metric", "secondary metric %q is not one of redemption_rate or cpe", string(g.Secondary))
		setupTarget(&c, "goal.secondary_target", g.Secondary, g.SecondaryTarget)
	default:
		setupTarget(&c, "goal.secondary_target", g.Secondary, g.SecondaryTarget)
	}

	// Brief.
	b := s.Brief
	setupText(&c, "brief.product", b.Product, MaxTextLen, true)
	setupText(&c, "brief.message", b.Message, MaxTextLen, true)
	setupText(&c, "brief.cta", b.CTA, MaxCTALen, false)
	setupText(&c, "brief.disclosure", b.Disclosure, MaxDisclosureLen, true)
	if len(b.RequiredHashtags) > MaxRequiredHashtags {
		c.Addf("brief.required_hashtags", "too_many", "at most %d required hashtags, not %d", MaxRequiredHashtags, len(b.RequiredHashtags))
	}
	for _, h := range b.RequiredHashtags {
		if !ValidHashtag(h) {
			c.Addf("brief.required_hashtags", "invalid_hashtag",
				"%s is not a hashtag: '#' then letters, digits or '_' (not only digits), at most %d characters", setupQuote(h), MaxHashtagLen)
		}
	}
	if b.HookSeconds < 0 || b.HookSeconds > MaxHookSeconds {
		c.Addf("brief.hook_seconds", "out_of_range", "hook_seconds must be 0 (none) to %d, not %d", MaxHookSeconds, b.HookSeconds)
	}
	if err := setupLandingURL(b.LandingURL); err != "" {
		code := "invalid_url"
		if b.LandingURL == "" {
			code = "required"
		}
		c.Addf("brief.landing_url", code, "%s", err)
	}
	eligible := make(map[Platform]bool, len(s.Eligibility.Platforms))
	for _, p := range s.Eligibility.Platforms {
		eligible[p] = true
	}
	platforms := make([]Platform, 0, len(b.PostTypes))
	for p := range b.PostTypes {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms) // report in a stable order
	for _, p := range platforms {
		field := "brief.post_types." + string(p)
		switch {
		case !p.Valid():
			c.Addf(field, "unknown_platform", "unknown platform %s: use instagram, tiktok, youtube or sandbox", setupQuote(string(p)))
			continue
		case len(eligible) > 0 && !eligible[p]:
			c.Addf(field, "platform_not_eligible", "post types are given for %s, which is not in eligibility.platforms", p)
		}
		if len(b.PostTypes[p]) == 0 {
			c.Addf(field, "required", "list at least one post type for %s, or leave the platform out to allow all", p)
		}
		for _, t := range b.PostTypes[p] {
			if !slices.Contains(setupPostTypes[p], t) {
				c.Addf(field, "invalid_post_type", "%s is not a %s post type: use %s", setupQuote(t), p, strings.Join(setupPostTypes[p], ", "))
			}
		}
	}
	for _, item := range b.NonNegotiable {
		if !slices.Contains(setupBriefItems, item) {
			c.Addf("brief.non_negotiable", "unknown_item", "%s is not a brief item: use hashtags, disclosure, cta, hook, landing_url or post_types", setupQuote(string(item)))
			continue
		}
		missing := ""
		switch item {
		case ItemHashtags:
			if len(b.RequiredHashtags) == 0 {
				missing = "hashtags are non-negotiable but no required hashtag is given"
			}
		case ItemCTA:
			if b.CTA == "" {
				missing = "the CTA is non-negotiable but none is given"
			}
		case ItemHook:
			if b.HookSeconds <= 0 {
				missing = "the hook is non-negotiable but hook_seconds is not set"
			}
		case ItemPostTypes:
			if len(b.PostTypes) == 0 {
				missing = "post types are non-negotiable but none are given"
			}
		}
		if missing != "" {
			c.Addf("brief.non_negotiable", "not_configured", "%s", missing)
		}
	}

	// Prices and caps.
	p := s.Prices
	if p.View <= 0 && p.Like <= 0 && p.Comment <= 0 && p.Share <= 0 && p.Save <= 0 && !s.Performance.Pays() {
		c.Addf("prices", "no_price", "price at least one interaction (view, like, comment, share or save) or set a performance payment (commission_bps, cpa or flat_fee)")
	}
	for _, ip := range p.list() {
		field := "prices." + ip.name
		switch {
		case ip.micros < 0:
			c.Addf(field, "negative_amount", "the %s price must not be negative", ip.name)
		case haveBudget && ip.micros > budget.Micros:
			c.Addf(field, "exceeds_budget", "the %s price %s exceeds the budget %s", ip.name, amt(ip.micros), amt(budget.Micros))
		case s.CreatorCap > 0 && ip.micros > s.CreatorCap:
			c.Addf(field, "exceeds_creator_cap", "the %s price %s exceeds the per-creator cap %s", ip.name, amt(ip.micros), amt(s.CreatorCap))
		}
	}
	switch {
	case s.CreatorCap < 0:
		c.Addf("creator_cap", "negative_amount", "creator_cap must not be negative (0 means no cap)")
	case haveBudget && s.CreatorCap > budget.Micros:
		c.Addf("creator_cap", "exceeds_budget", "creator_cap %s exceeds the budget %s", amt(s.CreatorCap), amt(budget.Micros))
	}
	if s.MaxCreators < 0 || s.MaxCreators > MaxCreatorsLimit {
		c.Addf("max_creators", "out_of_range", "max_creators must be 0 (unlimited) to %d, not %d", MaxCreatorsLimit, s.MaxCreators)
	}

	setupPerformance(&c, s.Performance, budget.Micros, haveBudget, s.CreatorCap, amt)

	// Dates.
	switch {
	case s.EndsAt.IsZero():
		c.Addf("ends_at", "required", "an end date is required")
	case !s.StartsAt.IsZero() && !s.EndsAt.After(s.StartsAt):
		c.Addf("ends_at", "not_after_start", "ends_at %s must be after starts_at %s",
			s.EndsAt.UTC().Format(time.RFC3339), s.StartsAt.UTC().Format(time.RFC3339))
	case !s.EndsAt.After(now):
		c.Addf("ends_at", "in_past", "ends_at %s is not in the future", s.EndsAt.UTC().Format(time.RFC3339))
	}

	// Eligibility.
	e := s.Eligibility
	if len(e.Platforms) == 0 {
		c.Addf("eligibility.platforms", "required", "choose at least one platform: instagram, tiktok, youtube or sandbox")
	}
	for _, p := range e.Platforms {
		if !p.Valid() {
			c.Addf("eligibility.platforms", "unknown_platform", "unknown platform %s: use instagram, tiktok, youtube or sandbox", setupQuote(string(p)))
		}
	}
	if e.MinFollowers < 0 {
		c.Addf("eligibility.min_followers", "out_of_range", "min_followers must not be negative")
	}
	if e.MaxFollowers < max(e.MinFollowers, 1) {
		c.Addf("eligibility.max_followers", "out_of_range", "max_followers (%d) must be at least min_followers (%d) and at least 1",
			e.MaxFollowers, e.MinFollowers)
	}
	for _, cc := range e.Countries {
		if !ValidCountry(cc) {
			hint := ""
			if cc == "UK" {
				hint = " (the United Kingdom is GB)"
			}
			c.Addf("eligibility.countries", "invalid_country", "%s is not an upper-case ISO 3166-1 alpha-2 country code%s", setupQuote(cc), hint)
		}
	}
	if len(e.Niches) > MaxNiches {
		c.Addf("eligibility.niches", "too_many", "at most %d niches, not %d", MaxNiches, len(e.Niches))
	}
	for _, n := range e.Niches {
		if !setupNicheRE.MatchString(n) {
			c.Addf("eligibility.niches", "invalid_niche", "%s is not a niche slug: lower-case letters, digits and '-', starting with a letter or digit, at most 40 characters", setupQuote(n))
		}
	}
	return c.Err()
}

// setupPerformance checks the performance payment models and code settings.
func setupPerformance(c *errs.Collector, pf Performance, budget int64, haveBudget bool, creatorCap int64, amt func(int64) string) {
	if pf.CommissionBps < 0 || pf.CommissionBps > 10_000 {
		c.Addf("performance.commission_bps", "out_of_range", "commission_bps must be 0 (none) to 10000 (100 %%), not %d", pf.CommissionBps)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"cpa", pf.CPA}, {"flat_fee", pf.FlatFee}} {
		field := "performance." + f.name
		switch {
		case f.v < 0:
			c.Addf(field, "negative_amount", "%s must not be negative", f.name)
		case haveBudget && f.v > budget:
			c.Addf(field, "exceeds_budget", "the %s %s exceeds the budget %s", f.name, amt(f.v), amt(budget))
		case creatorCap > 0 && f.v > creatorCap:
			c.Addf(field, "exceeds_creator_cap", "the %s %s exceeds the per-creator cap %s", f.name, amt(f.v), amt(creatorCap))
		}
	}
	if pf.AttributionWindowDays < 0 || pf.AttributionWindowDays > MaxAttributionWindowDays {
		c.Addf("performance.attribution_window_days", "out_of_range", "attribution_window_days must be 1 to %d (0 means %d), not %d",
			MaxAttributionWindowDays, DefaultAttributionWindowDays, pf.AttributionWindowDays)
	}
	if pf.CodePattern != "" {
		if err := CheckCodePattern(pf.CodePattern); err != nil {
			c.Addf("performance.code_pattern", "invalid_pattern", "%s", err.Error())
		}
	}
	setupAdPermissions(c, pf.AdPermissions)
	if pf.UTMCampaign != "" {
		if msg := checkUTM(pf.UTMCampaign, false); msg != "" {
			c.Addf("performance.utm_campaign", "invalid", "utm_campaign %s", msg)
		}
	}
	if pf.UTMSource != "" {
		if msg := checkUTM(pf.UTMSource, true); msg != "" {
			c.Addf("performance.utm_source", "invalid", "utm_source %s", msg)
		}
	}
	if pf.CommissionBase != "" && pf.CommissionBase != CommissionBaseNet && pf.CommissionBase != CommissionBaseTotal {
		c.Addf("performance.commission_base", "invalid", "commission_base must be %q (the order less tax and shipping, the default) or %q (the whole total), not %q",
			CommissionBaseNet, CommissionBaseTotal, pf.CommissionBase)
	}
	switch {
	case pf.CodePercentBps < 0 || pf.CodePercentBps > 10_000:
		c.Addf("performance.code_percent_bps", "out_of_range", "code_percent_bps must be 1 to 10000 (0 means none), not %d", pf.CodePercentBps)
	case pf.CodeAmountOff < 0:
		c.Addf("performance.code_amount_off", "negative_amount", "code_amount_off must not be negative")
	case pf.CodePercentBps > 0 && pf.CodeAmountOff > 0:
		c.Addf("performance.code_amount_off", "conflict", "a code gives a percentage or an amount off, not both: set code_percent_bps or code_amount_off")
	}
}

// setupAdPermissions checks the ad permissions asked of creators.
func setupAdPermissions(c *errs.Collector, a AdPermissions) {
	switch {
	case a.Asked() && a.Days == 0:
		c.Addf("performance.ad_permissions.days", "required", "say for how many days creators grant the ad permissions: 1 to %d", MaxAdPermissionDays)
	case a.Asked() && (a.Days < 1 || a.Days > MaxAdPermissionDays):
		c.Addf("performance.ad_permissions.days", "out_of_range", "ad permissions last 1 to %d days, not %d", MaxAdPermissionDays, a.Days)
	case !a.Asked() && a.Days != 0:
		c.Addf("performance.ad_permissions.days", "not_asked", "days apply only when whitelisting or dark posts are asked")
	}
}

// checkUTM returns what is wrong with a UTM value (lower-case letters and
// digits of any script, '-', '_', '.', at most MaxUTMLen characters, and
// {HANDLE} when handle is allowed), or "".
func checkUTM(v string, handle bool) string {
	rest := v
	if handle {
		rest = strings.ReplaceAll(v, UTMHandle, "h")
	}
	if utf8.RuneCountInString(rest) > MaxUTMLen {
		return fmt.Sprintf("must be at most %d characters", MaxUTMLen)
	}
	for _, r := range rest {
		if !(unicode.IsLower(r) || unicode.IsDigit(r) || (unicode.IsLetter(r) && !unicode.IsUpper(r)) || r == '-' || r == '_' || r == '.') {
			if handle {
				return fmt.Sprintf("may hold only lower-case letters, digits, '-', '_', '.' and %s, not %q", UTMHandle, string(r))
			}
			return fmt.Sprintf("may hold only lower-case letters, digits, '-', '_' and '.', not %q", string(r))
		}
	}
	return ""
}

// codePlaceholders are the placeholders a code pattern may use.
var codePlaceholders = []string{"{HANDLE}", "{CAMPAIGN}", "{PERCENT}"}

// CheckCodePattern reports what is wrong with a discount code pattern: it
// must be 1 to MaxCodePatternLen bytes of A–Z, 0–9 and '-' (lower case is
// upper-cased when codes are made) and the placeholders {HANDLE},
// {CAMPAIGN}, {PERCENT} and {RANDn} (2 ≤ n ≤ 8); it must vary per creator,
// so it needs {HANDLE} or a {RANDn}.
func CheckCodePattern(p string) error {
	if len(p) == 0 || len(p) > MaxCodePatternLen {
		return fmt.Errorf("code_pattern must be 1 to %d bytes", MaxCodePatternLen)
	}
	varies := false
	for i := 0; i < len(p); {
		if p[i] == '{' {
			j := strings.IndexByte(p[i:], '}')
			if j < 0 {
				return fmt.Errorf("code_pattern has an unclosed '{' at byte %d", i)
			}
			ph := strings.ToUpper(p[i : i+j+1])
			switch {
			case ph == "{HANDLE}":
				varies = true
			case slices.Contains(codePlaceholders, ph):
			case len(ph) == 7 && strings.HasPrefix(ph, "{RAND") && ph[5] >= '2' && ph[5] <= '8':
				varies = true
			default:
				return fmt.Errorf("code_pattern has an unknown placeholder %s: use {HANDLE}, {CAMPAIGN}, {PERCENT} or {RANDn} with n from 2 to 8", p[i:i+j+1])
			}
			i += j + 1
			continue
		}
		ch := p[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return fmt.Errorf("code_pattern may hold only letters, digits, '-' and placeholders, not %q", string(rune(ch)))
		}
		i++
	}
	if !varies {
		return fmt.Errorf("code_pattern must contain {HANDLE} or a {RANDn} so each creator's code differs")
	}
	return nil
}

// setupTarget checks a goal target for metric m.
func setupTarget(c *errs.Collector, field string, m Metric, target int64) {
	switch {
	case target == 0:
		c.Addf(field, "required", "a positive target is required")
	case target < 0:
		c.Addf(field, "not_positive", "the target must be greater than zero")
	case m == MetricRedemptionRate && target > 100*money.Scale:
		c.Addf(field, "out_of_range", "a redemption rate target is a percentage: at most 100, not %s", setupDecimal(target))
	}
}

// setupText checks a free-text field: valid UTF-8, at most maxLen characters,
// and not blank when required.
func setupText(c *errs.Collector, field, s string, maxLen int, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		c.Addf(field, "required", "%s is required", field[strings.LastIndexByte(field, '.')+1:])
	case !utf8.ValidString(s):
		c.Addf(field, "invalid", "text must be valid UTF-8")
	case utf8.RuneCountInString(s) > maxLen:
		c.Addf(field, "too_long", "at most %d characters, not %d", maxLen, utf8.RuneCountInString(s))
	}
}

// setupLandingURL returns why raw is not an acceptable landing URL, or "".
func setupLandingURL(raw string) string {
	if raw == "" {
		return "a landing URL is required"
	}
	if len(raw) > MaxURLLen {
		return fmt.Sprintf("the landing URL is longer than %d bytes", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || strings.ContainsAny(raw, " \t\r\n") {
		return fmt.Sprintf("%s is not an absolute URL such as https://shop.example/summer", setupQuote(raw))
	}
	if u.User != nil {
		return "the landing URL must not contain a user name or password"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		host := strings.ToLower(u.Hostname())
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return ""
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			return ""
		}
		return "the landing URL must use https (http is allowed only for localhost)"
	}
	return fmt.Sprintf("the landing URL must use https, not %s", setupQuote(u.Scheme))
}

// ValidHashtag reports whether h is a valid hashtag: '#' followed by one or
// more letters, digits, combining marks or '_' (any script, so "#café" and
// "#ハッシュタグ" are valid), not only digits, at most MaxHashtagLen
// characters including the '#'. Case is not judged. It never fails.
func ValidHashtag(h string) bool {
	body, ok := strings.CutPrefix(h, "#")
	if !ok || body == "" || !utf8.ValidString(h) || utf8.RuneCountInString(h) > MaxHashtagLen {
		return false
	}
	onlyDigits := true
	for _, r := range body {
		switch {
		case unicode.IsDigit(r):
		case unicode.IsLetter(r) || unicode.IsMark(r) || r == '_':
			onlyDigits = false
		default:
			return false
		}
	}
	return !onlyDigits
}

var setupNicheRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// setupCountries holds the officially assigned ISO 3166-1 alpha-2 codes, plus
// XK (Kosovo), a user-assigned code in wide use, the social platforms' too.
var setupCountries = func() map[string]bool {
	const codes = `AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ  EC EE EG EH ER ES ET  FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU  ID IE IL IM IN IO IQ IR IS IT  JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ  LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ  OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY  QA  RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ  UA UG UM US UY UZ
VA VC VE VG VI VN VU  WF WS  XK  YE YT  ZA ZM ZW`
	m := make(map[string]bool, 250)
	for _, c := range strings.Fields(codes) {
		m[c] = true
	}
	return m
}()

// ValidCountry reports whether cc is an upper-case ISO 3166-1 alpha-2 country
// code such as "DE" (or XK, Kosovo). It never fails: lower case, "UK" and
// unassigned codes are false.
func ValidCountry(cc string) bool { return setupCountries[cc] }

// setupInteraction is one interaction's price.
type setupInteraction struct {
	name   string // JSON name: view, like, comment, share, save
	micros int64
}

// list returns the prices in a fixed order.
func (p Prices) list() []setupInteraction {
	return []setupInteraction{{"view", p.View}, {"like", p.Like}, {"comment", p.Comment}, {"share", p.Share}, {"save", p.Save}}
}

// setupAmount formats micros of cur for a message, without trailing zeros.
func setupAmount(m int64, cur money.Currency) string {
	return setupDecimal(m) + " " + string(cur)
}

// setupDecimal formats micros as a decimal without trailing zeros: 500_000 is "0.5".
func setupDecimal(m int64) string {
	s := strings.TrimRight(money.FormatMicros(m), "0")
	return strings.TrimSuffix(s, ".")
}

// setupQuote quotes a user-supplied value for a message, shortened if long.
func setupQuote(s string) string {
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// ---- Pricing advisor -------------------------------------------------------

// Warning is advice about a setup that is valid but likely to disappoint. It
// is returned alongside the campaign, never instead of it.
type Warning struct {
	Code    string `json:"code"`  // e.g. "only_likes_priced"
	Field   string `json:"field"` // the JSON path concerned, e.g. "prices.share"
	Message string `json:"message"`
}

// Codes of the warnings Advise returns.
const (
	WarnOnlyLikesPriced        = "only_likes_priced"
	WarnSharesNotAboveComments = "shares_not_above_comments"
	WarnPriceBelowTypical      = "price_below_typical"
	WarnPriceAboveTypical      = "price_above_typical"
	WarnBudgetBelowMinimum     = "budget_below_minimum"
)

// MinAdvisedBudgetEUR is the budget, in micros of EUR, below which a campaign
// funds too few interactions to give a signal (PRODUCT.md: about €200).
const MinAdvisedBudgetEUR = 200 * money.Scale

// FXRates gives, for each currency, how many micros of EUR one unit of it is
// worth: EUR is 1_000_000 and a currency worth €0.86 is 860_000. The advisor
// uses them only to compare with euro thresholds; a currency that is missing
// or has a rate <= 0 is not compared at all.
type FXRates map[money.Currency]int64

// DefaultFXRates returns rough static rates for every supported currency,
// good enough for advice and nothing else: they are approximations of early
// 2026 market rates, not live quotes. Deployments that care should pass
// their own FXRates. Each call returns a new map the caller may change.
func DefaultFXRates() FXRates {
	return FXRates{
		"EUR": 1_000_000,
		"USD": 860_000,   // about 1.16 USD per EUR
		"GBP": 1_150_000, // about 0.87 GBP per EUR
		"CHF": 1_070_000, // about 0.93 CHF per EUR
		"SEK": 90_000,    // about 11 SEK per EUR
		"NOK": 85_000,    // about 11.8 NOK per EUR
		"DKK": 134_000,   // pegged near 7.46 DKK per EUR
		"PLN": 235_000,   // about 4.25 PLN per EUR
		"CZK": 40_000,    // about 25 CZK per EUR
		"CAD": 620_000,   // about 1.6 CAD per EUR
		"AUD": 560_000,   // about 1.78 AUD per EUR
	}
}

// setupTypical is PRODUCT.md's typical price range of an interaction, in
// micros of EUR. Saves have no published range and are not judged.
var setupTypical = map[string][2]int64{
	"view":    {1_000, 10_000},      // €0.001–0.01
	"like":    {10_000, 100_000},    // €0.01–0.10
	"comment": {50_000, 500_000},    // €0.05–0.50
	"share":   {100_000, 1_000_000}, // €0.10–1.00
}

// Advise returns pricing advice for s with the given budget, whose currency
// is the currency of s's prices; it returns an empty, non-nil slice when all
// is well, in this order:
//   - only_likes_priced (field "prices"): likes are priced and nothing else;
//   - shares_not_above_comments ("prices.share"): shares and comments are
//     both priced and a share pays no more than a comment;
//   - price_below_typical / price_above_typical ("prices.view", "prices.like",
//     "prices.comment", "prices.share"): a positive price is far outside
//     PRODUCT.md's typical range, meaning, in EUR equivalent, strictly below
//     half the range's minimum or strictly above twice its maximum (so a
//     €0.0005 view is not flagged, a €0.000499 view is; a €0.02 view is not,
//     €0.020001 is); saves have no typical range;
//   - budget_below_minimum ("budget"): a positive budget is strictly below
//     the equivalent of €200 (MinAdvisedBudgetEUR).
//
// Conversions use rates exactly, in 128-bit integer arithmetic. When rates
// has no usable rate for budget's currency, the EUR-based warnings (price
// ranges and budget) are skipped rather than guessed. Advise never fails and
// does not validate: run Validate for errors.
func Advise(s Setup, budget money.Amount, rates FXRates) []Warning {
	out := []Warning{}
	p := s.Prices
	cur := budget.Currency
	if p.Like > 0 && p.View <= 0 && p.Comment <= 0 && p.Share <= 0 && p.Save <= 0 {
		out = append(out, Warning{Code: WarnOnlyLikesPriced, Field: "prices",
			Message: "only likes are priced: likes signal the least; also price comments and shares to reward real conversation"})
	}
	if p.Share > 0 && p.Comment > 0 && p.Share <= p.Comment {
		out = append(out, Warning{Code: WarnSharesNotAboveComments, Field: "prices.share",
			Message: fmt.Sprintf("a share (%s) pays no more than a comment (%s): shares re-broadcast your message and are usually worth the most",
				setupAmount(p.Share, cur), setupAmount(p.Comment, cur))})
	}
	rate, ok := rates[cur]
	if !ok || rate <= 0 {
		return out
	}
	r := uint64(rate)
	for _, ip := range p.list() {
		rng, ok := setupTypical[ip.name]
		if !ok || ip.micros <= 0 {
			continue
		}
		price := uint64(ip.micros)
		typical := fmt.Sprintf("€%s–€%s per %s", setupDecimal(rng[0]), setupDecimal(rng[1]), ip.name)
		switch {
		// price·rate/Scale < min/2  ⇔  2·price·rate < min·Scale
		case setupCmp128(2*price, r, uint64(rng[0]), money.Scale) < 0:
			out = append(out, Warning{Code: WarnPriceBelowTypical, Field: "prices." + ip.name,
				Message: fmt.Sprintf("the %s price %s is less than half the low end of the typical %s: creators may ignore the campaign",
					ip.name, setupAmount(ip.micros, cur), typical)})
		// price·rate/Scale > 2·max  ⇔  price·rate > 2·max·Scale
		case setupCmp128(price, r, 2*uint64(rng[1]), money.Scale) > 0:
			out = append(out, Warning{Code: WarnPriceAboveTypical, Field: "prices." + ip.name,
				Message: fmt.Sprintf("the %s price %s is more than twice the high end of the typical %s: the budget will buy little",
					ip.name, setupAmount(ip.micros, cur), typical)})
		}
	}
	if budget.Micros > 0 && setupCmp128(uint64(budget.Micros), r, MinAdvisedBudgetEUR, money.Scale) < 0 {
		out = append(out, Warning{Code: WarnBudgetBelowMinimum, Field: "budget",
			Message: fmt.Sprintf("a budget of %s is below the equivalent of €200 and buys too few interactions for a signal; €500–€2,000 is a sensible first test",
				setupAmount(budget.Micros, cur))})
	}
	return out
}

// setupCmp128 compares a·b with c·d exactly, returning -1, 0 or +1.
func setupCmp128(a, b, c, d uint64) int {
	h1, l1 := bits.Mul64(a, b)
	h2, l2 := bits.Mul64(c, d)
	switch {
	case h1 != h2:
		return setupCmpU64(h1, h2)
	default:
		return setupCmpU64(l1, l2)
	}
}

func setupCmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ---- JSON ------------------------------------------------------------------

// setupOut is the JSON form of a Setup.
type setupOut struct {
	Goal        goalOut         `json:"goal"`
	Brief       briefOut        `json:"brief"`
	Prices      pricesOut       `json:"prices"`
	CreatorCap  string          `json:"creator_cap,omitempty"`
	MaxCreators int             `json:"max_creators"`
	Approval    bool            `json:"content_approval"`
	StartsAt    string          `json:"starts_at,omitempty"`
	EndsAt      string          `json:"ends_at,omitempty"`
	Eligibility eligibilityOut  `json:"eligibility"`
	Performance *performanceOut `json:"performance,omitempty"`
}

type performanceOut struct {
	CommissionBps         int64          `json:"commission_bps,omitempty"`
	CPA                   string         `json:"cpa,omitempty"`
	FlatFee               string         `json:"flat_fee,omitempty"`
	AttributionWindowDays int            `json:"attribution_window_days"`
	CodePattern           string         `json:"code_pattern"`
	CodePercentBps        int64          `json:"code_percent_bps,omitempty"`
	CodeAmountOff         string         `json:"code_amount_off,omitempty"`
	CommissionBase        string         `json:"commission_base,omitempty"`
	AdPermissions         *AdPermissions `json:"ad_permissions,omitempty"`
	UTMCampaign           string         `json:"utm_campaign,omitempty"`
	UTMSource             string         `json:"utm_source,omitempty"`
}

type goalOut struct {
	Primary         Metric `json:"primary,omitempty"`
	PrimaryTarget   string `json:"primary_target,omitempty"`
	Secondary       Metric `json:"secondary,omitempty"`
	SecondaryTarget string `json:"secondary_target,omitempty"`
}

type briefOut struct {
	Product          string                `json:"product"`
	Message          string                `json:"message"`
	RequiredHashtags []string              `json:"required_hashtags,omitempty"`
	Disclosure       string                `json:"disclosure,omitempty"`
	PostTypes        map[Platform][]string `json:"post_types,omitempty"`
	CTA              string                `json:"cta,omitempty"`
	HookSeconds      int                   `json:"hook_seconds"`
	LandingURL       string                `json:"landing_url"`
	NonNegotiable    []BriefItem           `json:"non_negotiable,omitempty"`
}

type pricesOut struct {
	View    string `json:"view,omitempty"`
	Like    string `json:"like,omitempty"`
	Comment string `json:"comment,omitempty"`
	Share   string `json:"share,omitempty"`
	Save    string `json:"save,omitempty"`
}

type eligibilityOut struct {
	Platforms    []Platform `json:"platforms,omitempty"`
	MinFollowers int64      `json:"min_followers"`
	MaxFollowers int64      `json:"max_followers"`
	Countries    []string   `json:"countries,omitempty"`
	Niches       []string   `json:"niches,omitempty"`
}

// MarshalJSON encodes s as the API shows it:
//
//	{"goal":{"primary":"roas","primary_target":"3.500000"},
//	 "brief":{"product":"…","message":"…","disclosure":"#ad","hook_seconds":0,"landing_url":"https://…"},
//	 "prices":{"view":"0.002000","comment":"0.250000"},
//	 "creator_cap":"50.000000","max_creators":20,
//	 "starts_at":"2026-06-01T00:00:00Z","ends_at":"2026-07-01T00:00:00Z",
//	 "eligibility":{"platforms":["instagram"],"min_followers":1000,"max_followers":25000,"countries":["DE"]}}
//
// Prices, the creator cap and goal targets are decimal strings with six
// decimals (a redemption rate in percent, a ROAS as a ratio), never JSON
// numbers; zero prices, a zero cap, unset targets, zero times and empty lists
// are left out; times are RFC 3339 in UTC. It cannot fail for any Setup.
func (s Setup) MarshalJSON() ([]byte, error) {
	dec := func(m int64) string {
		if m == 0 {
			return ""
		}
		return money.FormatMicros(m)
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	b, e := s.Brief, s.Eligibility
	return json.Marshal(setupOut{
		Goal: goalOut{Primary: s.Goal.Primary, PrimaryTarget: dec(s.Goal.PrimaryTarget),
			Secondary: s.Goal.Secondary, SecondaryTarget: dec(s.Goal.SecondaryTarget)},
		Brief: briefOut{Product: b.Product, Message: b.Message, RequiredHashtags: b.RequiredHashtags, Disclosure: b.Disclosure,
			PostTypes: b.PostTypes, CTA: b.CTA, HookSeconds: b.HookSeconds, LandingURL: b.LandingURL, NonNegotiable: b.NonNegotiable},
		Prices: pricesOut{View: dec(s.Prices.View), Like: dec(s.Prices.Like), Comment: dec(s.Prices.Comment),
			Share: dec(s.Prices.Share), Save: dec(s.Prices.Save)},
		CreatorCap:  dec(s.CreatorCap),
		MaxCreators: s.MaxCreators,
		Approval:    s.ContentApproval,
		StartsAt:    ts(s.StartsAt),
		EndsAt:      ts(s.EndsAt),
		Eligibility: eligibilityOut{Platforms: e.Platforms, MinFollowers: e.MinFollowers, MaxFollowers: e.MaxFollowers,
			Countries: e.Countries, Niches: e.Niches},
		Performance: perfOut(s.Performance, dec),
	})
}

// perfOut is the JSON form of pf, nil when pf is the zero value.
func perfOut(pf Performance, dec func(int64) string) *performanceOut {
	if pf == (Performance{}) {
		return nil
	}
	return &performanceOut{CommissionBps: pf.CommissionBps, CPA: dec(pf.CPA), FlatFee: dec(pf.FlatFee),
		AttributionWindowDays: pf.AttributionWindowDays, CodePattern: pf.CodePattern,
		CodePercentBps: pf.CodePercentBps, CodeAmountOff: dec(pf.CodeAmountOff), CommissionBase: pf.CommissionBase,
		AdPermissions: adOut(pf.AdPermissions), UTMCampaign: pf.UTMCampaign, UTMSource: pf.UTMSource}
}

// adOut is the JSON form of a, nil when nothing is asked.
func adOut(a AdPermissions) *AdPermissions {
	if a == (AdPermissions{}) {
		return nil
	}
	return &a
}

// UnmarshalJSON decodes the form MarshalJSON writes, reporting every bad
// field at once. Every key is optional (Validate decides what is required)
// and null means absent; unknown keys are errors. Prices, creator_cap and
// goal targets must be JSON strings holding a decimal with at most six
// places ("0.05", "3.5"; the empty string means zero); times must be RFC 3339
// strings (or "" for none); hook_seconds, max_creators and follower bounds
// must be JSON integers. An absent min_followers or max_followers decodes as
// its default (1,000 / 25,000), so that an explicit 0 minimum survives.
// Nothing is normalized: call Normalize, then Validate.
//
// On failure s is unchanged and the error is an *errs.Error of kind Invalid
// listing every bad field by its JSON path, with code invalid_json
// (malformed JSON), invalid_type (wrong JSON type), unknown_field,
// invalid_amount (not a decimal string: a JSON number for a price is one),
// too_many_decimals, amount_overflow, out_of_range (an integer too large) or
// invalid_time.
func (s *Setup) UnmarshalJSON(data []byte) error {
	if !json.Valid(data) {
		return errs.Invalidf("", "invalid_json", "malformed JSON for a campaign setup")
	}
	var d setupDecoder
	var out Setup
	top := d.object(data, "", "goal", "brief", "prices", "creator_cap", "max_creators", "content_approval", "starts_at", "ends_at", "eligibility", "performance")
	if top == nil && d.c.Err() == nil && bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		return nil // null leaves s unchanged, as encoding/json does
	}

	if g := d.object(top["goal"], "goal", "primary", "primary_target", "secondary", "secondary_target"); g != nil {
		out.Goal.Primary = Metric(d.str(g["primary"], "goal.primary"))
		out.Goal.PrimaryTarget = d.micros(g["primary_target"], "goal.primary_target")
		out.Goal.Secondary = Metric(d.str(g["secondary"], "goal.secondary"))
		out.Goal.SecondaryTarget = d.micros(g["secondary_target"], "goal.secondary_target")
	}

	if b := d.object(top["brief"], "brief", "product", "message", "required_hashtags", "disclosure", "post_types",
		"cta", "hook_seconds", "landing_url", "non_negotiable"); b != nil {
		br := &out.Brief
		br.Product = d.str(b["product"], "brief.product")
		br.Message = d.str(b["message"], "brief.message")
		br.RequiredHashtags = d.strs(b["required_hashtags"], "brief.required_hashtags")
		br.Disclosure = d.str(b["disclosure"], "brief.disclosure")
		if pt := d.object(b["post_types"], "brief.post_types"); pt != nil {
			br.PostTypes = make(map[Platform][]string, len(pt))
			for k, v := range pt {
				types := d.strs(v, "brief.post_types."+k)
				if types == nil {
					types = []string{} // an empty list is kept for Validate to report
				}
				br.PostTypes[Platform(k)] = types
			}
		}
		br.CTA = d.str(b["cta"], "brief.cta")
		br.HookSeconds = int(d.integer(b["hook_seconds"], "brief.hook_seconds", 0))
		br.LandingURL = d.str(b["landing_url"], "brief.landing_url")
		for _, item := range d.strs(b["non_negotiable"], "brief.non_negotiable") {
			br.NonNegotiable = append(br.NonNegotiable, BriefItem(item))
		}
	}

	if p := d.object(top["prices"], "prices", "view", "like", "comment", "share", "save"); p != nil {
		out.Prices = Prices{
			View:    d.micros(p["view"], "prices.view"),
			Like:    d.micros(p["like"], "prices.like"),
			Comment: d.micros(p["comment"], "prices.comment"),
			Share:   d.micros(p["share"], "prices.share"),
			Save:    d.micros(p["save"], "prices.save"),
		}
	}
	out.CreatorCap = d.micros(top["creator_cap"], "creator_cap")
	out.MaxCreators = int(d.integer(top["max_creators"], "max_creators", 0))
	out.ContentApproval = d.boolean(top["content_approval"], "content_approval")
	out.StartsAt = d.time(top["starts_at"], "starts_at")
	out.EndsAt = d.time(top["ends_at"], "ends_at")

	out.Eligibility.MinFollowers, out.Eligibility.MaxFollowers = DefaultMinFollowers, DefaultMaxFollowers
	if e := d.object(top["eligibility"], "eligibility", "platforms", "min_followers", "max_followers", "countries", "niches"); e != nil {
		el := &out.Eligibility
		for _, p := range d.strs(e["platforms"], "eligibility.platforms") {
			el.Platforms = append(el.Platforms, Platform(p))
		}
		el.MinFollowers = d.integer(e["min_followers"], "eligibility.min_followers", DefaultMinFollowers)
		el.MaxFollowers = d.integer(e["max_followers"], "eligibility.max_followers", DefaultMaxFollowers)
		el.Countries = d.strs(e["countries"], "eligibility.countries")
		el.Niches = d.strs(e["niches"], "eligibility.niches")
	}

	if pf := d.object(top["performance"], "performance", "commission_bps", "cpa", "flat_fee", "attribution_window_days",
		"code_pattern", "code_percent_bps", "code_amount_off", "commission_base", "ad_permissions", "utm_campaign", "utm_source"); pf != nil {
		out.Performance = Performance{
			CommissionBps:         d.integer(pf["commission_bps"], "performance.commission_bps", 0),
			CPA:                   d.micros(pf["cpa"], "performance.cpa"),
			FlatFee:               d.micros(pf["flat_fee"], "performance.flat_fee"),
			AttributionWindowDays: int(d.integer(pf["attribution_window_days"], "performance.attribution_window_days", 0)),
			CodePattern:           d.str(pf["code_pattern"], "performance.code_pattern"),
			CodePercentBps:        d.integer(pf["code_percent_bps"], "performance.code_percent_bps", 0),
			CodeAmountOff:         d.micros(pf["code_amount_off"], "performance.code_amount_off"),
			CommissionBase:        d.str(pf["commission_base"], "performance.commission_base"),
			UTMCampaign:           d.str(pf["utm_campaign"], "performance.utm_campaign"),
			UTMSource:             d.str(pf["utm_source"], "performance.utm_source"),
		}
		if ap := d.object(pf["ad_permissions"], "performance.ad_permissions", "whitelisting", "dark_posts", "days"); ap != nil {
			out.Performance.AdPermissions = AdPermissions{
				Whitelisting: d.boolean(ap["whitelisting"], "performance.ad_permissions.whitelisting"),
				DarkPosts:    d.boolean(ap["dark_posts"], "performance.ad_permissions.dark_posts"),
				Days:         int(d.integer(ap["days"], "performance.ad_permissions.days", 0)),
			}
		}
	}

	if err := d.c.Err(); err != nil {
		return err
	}
	*s = out
	return nil
}

// setupDecoder reads JSON values field by field, collecting every error.
type setupDecoder struct{ c errs.Collector }

// setupAbsent reports whether a raw value is missing or null.
func setupAbsent(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || bytes.Equal(t, []byte("null"))
}

// setupJSONKind names the JSON type of a raw value for messages.
func setupJSONKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "the JSON number " + string(t)
}

// object decodes raw as a JSON object. With keys, any other key is reported
// as unknown_field; with none, any key is allowed. It returns nil for an
// absent value or an error.
func (d *setupDecoder) object(raw json.RawMessage, field string, keys ...string) map[string]json.RawMessage {
	if setupAbsent(raw) {
		return nil
	}
	var m map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); t[0] != '{' || json.Unmarshal(t, &m) != nil {
		what := field
		if what == "" {
			what = "a campaign setup"
		}
		d.c.Addf(field, "invalid_type", "%s must be a JSON object, not %s", what, setupJSONKind(raw))
		return nil
	}
	if len(keys) > 0 {
		var unknown []string
		for k := range m {
			if !slices.Contains(keys, k) {
				unknown = append(unknown, k)
			}
		}
		slices.Sort(unknown)
		for _, k := range unknown {
			f := k
			if k == "" {
				f = `""` // an empty key is still a field the client sent: name it as written
			}
			if field != "" {
				f = field + "." + f
			}
			d.c.Addf(f, "unknown_field", "unknown field %q", f)
		}
	}
	if m == nil {
		m = map[string]json.RawMessage{}
	}
	return m
}

// str decodes a JSON string; absent is "".
func (d *setupDecoder) str(raw json.RawMessage, field string) string {
	if setupAbsent(raw) {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.c.Addf(field, "invalid_type", "%s must be a JSON string, not %s", field, setupJSONKind(raw))
	}
	return s
}

// strs decodes a JSON array of strings; absent or empty is nil.
func (d *setupDecoder) strs(raw json.RawMessage, field string) []string {
	if setupAbsent(raw) {
		return nil
	}
	var s []string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.c.Addf(field, "invalid_type", "%s must be a JSON array of strings", field)
		return nil
	}
	if len(s) == 0 {
		return nil
	}
	return s
}

// integer decodes a JSON integer; absent is def.
func (d *setupDecoder) integer(raw json.RawMessage, field string, def int64) int64 {
	if setupAbsent(raw) {
		return def
	}
	t := bytes.TrimSpace(raw)
	if t[0] != '-' && (t[0] < '0' || t[0] > '9') {
		d.c.Addf(field, "invalid_type", "%s must be a JSON integer, not %s", field, setupJSONKind(raw))
		return 0
	}
	n, err := strconv.ParseInt(string(t), 10, 64)
	switch {
	case err == nil && int64(int(n)) == n:
		return n
	case err == nil || errors.Is(err, strconv.ErrRange):
		d.c.Addf(field, "out_of_range", "%s is too large", field)
	default:
		d.c.Addf(field, "invalid_type", "%s must be a whole number, not %s", field, t)
	}
	return 0
}

// boolean decodes true or false; absent is false.
func (d *setupDecoder) boolean(raw json.RawMessage, field string) bool {
	if setupAbsent(raw) {
		return false
	}
	switch t := string(bytes.TrimSpace(raw)); t {
	case "true":
		return true
	case "false":
		return false
	}
	d.c.Addf(field, "invalid_type", "%s must be a JSON boolean, not %s", field, setupJSONKind(raw))
	return false
}

// micros decodes a decimal string into micro-units; absent or "" is 0.
func (d *setupDecoder) micros(raw json.RawMessage, field string) int64 {
	if setupAbsent(raw) {
		return 0
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.c.Addf(field, "invalid_amount", `%s must be a decimal string such as "0.05", not %s`, field, setupJSONKind(raw))
		return 0
	}
	if s == "" {
		return 0
	}
	m, err := money.ParseMicros(s)
	if err != nil {
		// Keep the code, but name this field rather than money's "amount".
		msg := err.Error()
		var e *errs.Error
		if errors.As(err, &e) {
			msg = e.Message
		}
		d.c.Addf(field, errs.CodeOf(err), "%s", msg)
		return 0
	}
	return m
}

// time decodes an RFC 3339 string; absent or "" is the zero time.
func (d *setupDecoder) time(raw json.RawMessage, field string) time.Time {
	s := d.str(raw, field)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		d.c.Addf(field, "invalid_time", "%s must be an RFC 3339 time such as 2026-06-01T09:00:00Z, not %s", field, setupQuote(s))
		return time.Time{}
	}
	return t.UTC()
}

// BriefPostType names a platform media type (platform.TypeImage, …) as the
// brief's post types for p name it: an Instagram image is a "feed" post, a
// TikTok video a "video", a YouTube short a "short", and on the sandbox
// videos, reels and shorts are "video" and everything else a "post". It
// returns "" for a type the platform does not publish.
func BriefPostType(p Platform, mediaType string) string {
	switch p {
	case PlatformInstagram:
		switch mediaType {
		case "image", "video":
			return "feed"
		case "carousel", "reel", "story":
			return mediaType
		}
	case PlatformTikTok:
		if mediaType == "video" {
			return "video"
		}
	case PlatformYouTube:
		if mediaType == "video" || mediaType == "short" {
			return mediaType
		}
	case PlatformSandbox:
		switch mediaType {
		case "video", "reel", "short":
			return "video"
		case "image", "carousel", "story", "":
			return "post"
		}
	}
	return ""
}
