package fraud

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
)

// Sales detectors: orders far too soon after their click, a conversion
// rate spike, self-purchase, one payout destination shared by creators.
//
// The customer's email and the hash of the address + user agent an order
// was placed from are kept by the store webhooks' parsing (internal/orders:
// Shopify email/contact_email, browser_ip, client_details.user_agent;
// WooCommerce billing.email, customer_ip_address, customer_user_agent);
// LoadOrders reads them with the attributed click's visitor hash, so
// SelfPurchase runs on the server's orders too.

// Detector names of the sales detectors.
const (
	DetectorCTIT         = "sales.ctit_glut"
	DetectorConvSpike    = "sales.conversion_spike"
	DetectorSelfPurchase = "sales.self_purchase"
	DetectorSharedDest   = "sales.shared_destination"
)

// Order is what the sales detectors read of an attributed order.
type Order struct {
	OrderID    string
	CampaignID string
	CreatorID  string
	// ClickedAt is the attributed click's time (0 for a code conversion),
	// PlacedAt the order's.
	ClickedAt, PlacedAt clock.Micros
	// What the store said of the customer, when it did: their email, and
	// the hash of address + user agent they ordered from (the same hash as
	// the click's, links.VisitorHash with the server's salt).
	CustomerEmail, OrderVisitor string
	// ClickVisitor is the attributed click's visitor hash ("" when none).
	ClickVisitor string
}

// CTITRule is the click-to-install-time (here click-to-order) rule.
type CTITRule struct {
	Within   time.Duration // an order this soon after its click is "too soon"
	MinCount int           // at least this many too-soon orders
	MinShare float64       // making more than this share of the creator's click orders
}

// CTITRuleFor returns the rule at a sensitivity.
func CTITRuleFor(s Sensitivity) CTITRule {
	switch s {
	case Relaxed:
		return CTITRule{Within: 10 * time.Second, MinCount: 5, MinShare: 0.5}
	case Strict:
		return CTITRule{Within: 10 * time.Second, MinCount: 2, MinShare: 0.2}
	}
	return CTITRule{Within: 10 * time.Second, MinCount: 3, MinShare: 0.3}
}

// CTIT is the click-to-order-time detector over one creator's orders: it
// reports the orders placed within r.Within of their click, and whether
// they are a glut. Basis: the mobile-attribution click-to-install-time
// distribution (AppsFlyer's CTIT glossary: a glut within 3–10 s means
// click injection or the buyer clicking right before paying — a
// self-purchase; people take minutes, ~75 % within the hour). Orders
// without a click (code conversions) are left out.
func CTIT(orders []Order, r CTITRule) (soon []Order, withClick int, glut bool) {
	for _, o := range orders {
		if o.ClickedAt == 0 {
			continue
		}
		withClick++
		if d := o.PlacedAt - o.ClickedAt; d >= 0 && d < clock.Micros(r.Within.Microseconds()) {
			soon = append(soon, o)
		}
	}
	glut = len(soon) >= r.MinCount && float64(len(soon)) > r.MinShare*float64(withClick)
	return soon, withClick, glut
}

// SpikeRule is the conversion-rate spike rule.
type SpikeRule struct {
	MinOrders int     // orders in the window, at least
	MaxRate   float64 // orders per billable click above which a window is a spike with no history to judge by
	MaxZ      float64 // modified z-score against the creator's earlier windows above which it is a spike
	MinRate   float64 // a rate this low is never a spike, whatever the history
}

// SpikeRuleFor returns the rule at a sensitivity.
func SpikeRuleFor(s Sensitivity) SpikeRule {
	switch s {
	case Relaxed:
		return SpikeRule{MinOrders: 8, MaxRate: 0.25, MaxZ: 5, MinRate: 0.10}
	case Strict:
		return SpikeRule{MinOrders: 3, MaxRate: 0.10, MaxZ: 3.5, MinRate: 0.05}
	}
	return SpikeRule{MinOrders: 5, MaxRate: 0.15, MaxZ: 3.5, MinRate: 0.08}
}

// rateZ is Iglewicz and Hoaglin's modified z-score of a rate x against
// rates xs: (x − median)/scale, the scale being MAD/0.6745, or
// 1.253314·mean absolute deviation when the MAD is 0, and never below
// minRateScale (half a percentage point: a creator whose rate never moved
// is not infinitely surprised by any order); 0 when xs is empty. Unlike
// ModifiedZ (for counts) its floor is not 1, which would swallow any rate.
func rateZ(x float64, xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	med := rateMedian(xs)
	dev := make([]float64, len(xs))
	var sum float64
	for i, v := range xs {
		dev[i] = math.Abs(v - med)
		sum += dev[i]
	}
	scale := rateMedian(dev) / 0.6745
	if scale == 0 {
		scale = 1.253314 * sum / float64(len(xs))
	}
	return (x - med) / max(scale, minRateScale)
}

// minRateScale is rateZ's least scale.
const minRateScale = 0.005

func rateMedian(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ConversionSpike judges one creator's conversion rate in a window: orders
// per billable click, against the creator's rates in earlier windows
// (history; at least 3 to judge by, else the absolute ceiling r.MaxRate).
// Basis: Opticks' conversion-rate triggers (above 5 % low / 15 % high over
// 2 h for a source) and the modified z-score (Iglewicz & Hoaglin) for the
// creator's own baseline. An honest post going viral brings clicks and
// orders together, so its rate stays; bought or self-made orders raise
// orders without clicks.
func ConversionSpike(orders, billable int64, history []float64, r SpikeRule) (rate, z float64, spike bool) {
	if orders < int64(r.MinOrders) {
		return 0, 0, false
	}
	if billable <= 0 {
		billable = 1
	}
	rate = float64(orders) / float64(billable)
	if rate < r.MinRate {
		return rate, 0, false
	}
	if len(history) < 3 {
		return rate, 0, rate > r.MaxRate
	}
	z = rateZ(rate, history)
	return rate, z, z > r.MaxZ
}

// NormalizeEmail returns an address as one mailbox: lower case, without a
// "+tag", and for Gmail without dots in the local part (googlemail.com as
// gmail.com). Basis: the affiliate self-referral checks of Dub, Rewardful
// and FirstPromoter.
func NormalizeEmail(e string) string {
	e = strings.ToLower(strings.TrimSpace(e))
	local, domain, ok := strings.Cut(e, "@")
	if !ok || local == "" || domain == "" {
		return e
	}
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if domain == "googlemail.com" {
		domain = "gmail.com"
	}
	if domain == "gmail.com" {
		local = strings.ReplaceAll(local, ".", "")
	}
	return local + "@" + domain
}

// SelfPurchase reports why order o looks like its creator's own purchase
// ("" when it does not): the customer's email is the creator's (as one
// mailbox, NormalizeEmail), or the order came from the same address and
// user agent as the click it is attributed to — address and agent
// together, not the address alone (a household or an office shares one).
// Basis: Dub's fraud rules (customer email matches the partner's; same
// address + agent at click and order) and Rewardful's self-referral check.
func SelfPurchase(o Order, creatorEmails []string) string {
	if o.CustomerEmail != "" {
		c := NormalizeEmail(o.CustomerEmail)
		for _, e := range creatorEmails {
			if e != "" && NormalizeEmail(e) == c {
				return "the customer's email " + o.CustomerEmail + " is the creator's own address (" + e + ")"
			}
		}
	}
	if o.OrderVisitor != "" && o.OrderVisitor == o.ClickVisitor {
		return "the order was placed from the same address and browser that clicked the creator's link"
	}
	return ""
}

// SharedDestinations returns the payout destinations (any key: a provider
// and account, or their hash) used by more than one creator, each with its
// creators sorted. Basis: the affiliate programs' "one payout method shared
// by two partners" rule (Dub, FirstPromoter).
func SharedDestinations(dest map[string]string) map[string][]string {
	by := map[string][]string{}
	for creator, d := range dest {
		if d != "" {
			by[d] = append(by[d], creator)
		}
	}
	out := map[string][]string{}
	for d, cs := range by {
		if len(cs) > 1 {
			sort.Strings(cs)
			out[d] = cs
		}
	}
	return out
}

// SalesInput is what SalesFlags judges for one campaign's window.
type SalesInput struct {
	CampaignID string
	From, To   clock.Micros
	// Orders attributed in the window.
	Orders []Order
	// Billable clicks per creator in the window, and each creator's
	// conversion rates in earlier windows of the same length.
	Billable map[string]int64
	History  map[string][]float64
	// CreatorEmails are each creator's account addresses.
	CreatorEmails map[string][]string
}

// SalesFlags are the flags the sales detectors find in in, not raised yet.
// Each holds the creator's earnings in the campaign: from the first
// suspicious order's time (self-purchase, CTIT) or the window's start.
func SalesFlags(in SalesInput, sens Sensitivity) []Flag {
	window := fmt.Sprintf("%d-%d", in.From, in.To)
	per := map[string][]Order{}
	for _, o := range in.Orders {
		per[o.CreatorID] = append(per[o.CreatorID], o)
	}
	creators := make([]string, 0, len(per))
	for c := range per {
		creators = append(creators, c)
	}
	sort.Strings(creators)
	var out []Flag
	cr, sr := CTITRuleFor(sens), SpikeRuleFor(sens)
	for _, c := range creators {
		os := per[c]
		for _, o := range os {
			if why := SelfPurchase(o, in.CreatorEmails[c]); why != "" {
				out = append(out, Flag{Detector: DetectorSelfPurchase, Subject: SubjectOrder, SubjectID: o.OrderID,
					CampaignID: in.CampaignID, CreatorID: c, Score: 1, Severity: SeverityHigh, Category: CategoryOrders,
					Reason: "order " + o.OrderID + " looks like the creator's own purchase: " + why,
					Holds:  true, HoldsFrom: o.PlacedAt})
			}
		}
		if soon, n, glut := CTIT(os, cr); glut {
			first := soon[0].PlacedAt
			for _, o := range soon {
				first = min(first, o.PlacedAt)
			}
			out = append(out, Flag{Detector: DetectorCTIT, Subject: SubjectCreator, SubjectID: c, CampaignID: in.CampaignID,
				CreatorID: c, Score: float64(len(soon)) / float64(n), Severity: SeverityHigh, Category: CategoryOrders, Window: window,
				Reason: fmt.Sprintf("%d of the %d orders attributed to this creator's clicks were placed less than %s after their click (people take minutes: about three in four within the hour)",
					len(soon), n, humanSecs(cr.Within)),
				Evidence: map[string]float64{"too_soon": float64(len(soon)), "click_orders": float64(n), "within_seconds": cr.Within.Seconds()},
				Holds:    true, HoldsFrom: first})
		}
		if rate, z, spike := ConversionSpike(int64(len(os)), in.Billable[c], in.History[c], sr); spike {
			reason := fmt.Sprintf("%d orders from %d billable clicks in %s: a conversion rate of %.1f %%", len(os), in.Billable[c],
				humanSpan(time.Duration(in.To-in.From)*time.Microsecond), 100*rate)
			if len(in.History[c]) >= 3 {
				reason += fmt.Sprintf(", against this creator's usual %.1f %% (modified z-score %.1f)", 100*rateMedian(in.History[c]), z)
			} else {
				reason += fmt.Sprintf(", above %.0f %%", 100*sr.MaxRate)
			}
			out = append(out, Flag{Detector: DetectorConvSpike, Subject: SubjectCreator, SubjectID: c, CampaignID: in.CampaignID,
				CreatorID: c, Score: rate, Severity: SeverityMedium, Category: CategoryOrders, Window: window, Reason: reason,
				Evidence: map[string]float64{"orders": float64(len(os)), "billable_clicks": float64(in.Billable[c]), "rate": rate, "z": z},
				Holds:    true, HoldsFrom: in.From})
		}
	}
	return out
}

func humanSecs(d time.Duration) string { return fmt.Sprintf("%d seconds", int(d.Seconds())) }

// LoadOrders reads the orders attributed in campaign campaignID placed in
// [from, to), with their click's time and visitor hash and what the store
// said of the customer (the orders' customer_email and customer_visitor;
// empty when it said nothing).
func LoadOrders(ctx context.Context, q store.Queryer, campaignID string, from, to clock.Micros) ([]Order, error) {
	out, err := store.QueryAll(ctx, q, func(r store.Scanner) (Order, error) {
		var o Order
		err := r.Scan(&o.OrderID, &o.CampaignID, &o.CreatorID, &o.ClickedAt, &o.PlacedAt, &o.CustomerEmail, &o.OrderVisitor, &o.ClickVisitor)
		return o, err
	}, `SELECT c.order_id, c.campaign_id, c.creator_id, c.clicked_at, c.placed_at, o.customer_email, o.customer_visitor,
			COALESCE((SELECT k.visitor FROM clicks k WHERE c.click_id <> '' AND k.link_id = c.link_id AND k.at = c.clicked_at
				AND k.click_id = c.click_id LIMIT 1), '')
		FROM conversions c JOIN orders o ON o.id = c.order_id
		WHERE c.campaign_id = $1 AND c.placed_at >= $2 AND c.placed_at < $3 ORDER BY c.placed_at, c.order_id`, campaignID, int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("fraud: orders of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// billableClicks counts each creator's unique human clicks on campaign
// campaignID's links in [from, to).
func billableClicks(ctx context.Context, q store.Queryer, campaignID string, from, to clock.Micros) (map[string]int64, error) {
	type row struct {
		creator string
		n       int64
	}
	rows, err := store.QueryAll(ctx, q, func(r store.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.creator, &x.n)
	}, `SELECT l.creator_id, COUNT(*) FROM clicks c JOIN links l ON l.id = c.link_id
		WHERE l.campaign_id = $1 AND c.at >= $2 AND c.at < $3 AND c.is_unique AND NOT c.bot GROUP BY l.creator_id`, campaignID, int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("fraud: billable clicks of campaign %s: %w", campaignID, err)
	}
	out := make(map[string]int64, len(rows))
	for _, x := range rows {
		out[x.creator] = x.n
	}
	return out, nil
}

// creatorEmails reads the account addresses of creators.
func creatorEmails(ctx context.Context, q store.Queryer, creators []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, c := range creators {
		es, err := store.QueryAll(ctx, q, func(r store.Scanner) (string, error) {
			var e string
			return e, r.Scan(&e)
		}, `SELECT email FROM users WHERE creator_id = $1`, c)
		if err != nil {
			return nil, fmt.Errorf("fraud: emails of creator %s: %w", c, err)
		}
		out[c] = es
	}
	return out, nil
}

// DetectSalesTx runs the sales detectors over campaign campaignID's orders
// placed in [from, to), judging conversion rates against the same
// creators' previous `history` windows of the same length, and raises the
// flags found (returning the new ones). Call it where orders are
// attributed (after the conversions are written, in that transaction) or
// on a schedule.
func DetectSalesTx(ctx context.Context, tx *store.Tx, now clock.Micros, campaignID string, from, to clock.Micros, history int) ([]Flag, error) {
	sens, err := SensitivityOf(ctx, tx, campaignID)
	if err != nil {
		return nil, err
	}
	in := SalesInput{CampaignID: campaignID, From: from, To: to, History: map[string][]float64{}}
	if in.Orders, err = LoadOrders(ctx, tx, campaignID, from, to); err != nil || len(in.Orders) == 0 {
		return nil, err
	}
	if in.Billable, err = billableClicks(ctx, tx, campaignID, from, to); err != nil {
		return nil, err
	}
	var creators []string
	for _, o := range in.Orders {
		if _, ok := in.CreatorEmails[o.CreatorID]; !ok {
			creators = append(creators, o.CreatorID)
		}
	}
	if in.CreatorEmails, err = creatorEmails(ctx, tx, creators); err != nil {
		return nil, err
	}
	span := to - from
	for i := 1; i <= history; i++ {
		f, t := from-clock.Micros(i)*span, to-clock.Micros(i)*span
		os, err := LoadOrders(ctx, tx, campaignID, f, t)
		if err != nil {
			return nil, err
		}
		bc, err := billableClicks(ctx, tx, campaignID, f, t)
		if err != nil {
			return nil, err
		}
		n := map[string]int64{}
		for _, o := range os {
			n[o.CreatorID]++
		}
		for c := range in.Billable {
			if bc[c] > 0 {
				in.History[c] = append(in.History[c], float64(n[c])/float64(bc[c]))
			}
		}
	}
	return raiseAll(ctx, tx, now, SalesFlags(in, sens))
}

// DetectSharedDestinationsTx flags every creator whose payout destination
// (the provider's account, by its key: payout keeps the hash of provider
// and account for providers that report on accounts) is another
// creator's too, holding all their earnings in every campaign.
// payout refuses a second creator such a destination when it is saved;
// this finds those saved before, or by a race.
func DetectSharedDestinationsTx(ctx context.Context, tx *store.Tx, now clock.Micros) ([]Flag, error) {
	type row struct{ creator, provider, key string }
	rows, err := store.QueryAll(ctx, tx, func(r store.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.creator, &x.provider, &x.key)
	}, `SELECT creator_id, provider, account_key FROM payout_destinations WHERE account_key <> '' ORDER BY creator_id`)
	if err != nil {
		return nil, fmt.Errorf("fraud: payout destinations: %w", err)
	}
	var fs []Flag
	byProvider := map[string]map[string]string{}
	for _, x := range rows {
		if byProvider[x.provider] == nil {
			byProvider[x.provider] = map[string]string{}
		}
		byProvider[x.provider][x.creator] = x.key
	}
	providers := make([]string, 0, len(byProvider))
	for p := range byProvider {
		providers = append(providers, p)
	}
	sort.Strings(providers)
	for _, p := range providers {
		shared := SharedDestinations(byProvider[p])
		keys := make([]string, 0, len(shared))
		for k := range shared {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fs = append(fs, SharedDestinationFlags(p, k, shared[k])...)
		}
	}
	return raiseAll(ctx, tx, now, fs)
}

// SharedDestinationFlags are the flags for creators sharing one payout
// destination of provider (key names the destination, not shown): one per
// creator, holding all their earnings in every campaign (the money would
// go to the shared destination, whenever it was earned).
func SharedDestinationFlags(provider, key string, creators []string) []Flag {
	var out []Flag
	for _, c := range creators {
		others := make([]string, 0, len(creators)-1)
		for _, o := range creators {
			if o != c {
				others = append(others, o)
			}
		}
		out = append(out, Flag{Detector: DetectorSharedDest, Subject: SubjectDestination, SubjectID: provider + ":" + key[:min(16, len(key))],
			CreatorID: c, Score: float64(len(creators)), Severity: SeverityHigh, Category: CategoryDestination, Window: c,
			Reason: fmt.Sprintf("this creator's %s payout destination is also %d other creator(s)' (%s)", provider, len(others), strings.Join(others, ", ")),
			Holds:  true})
	}
	return out
}
