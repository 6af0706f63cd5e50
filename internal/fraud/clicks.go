package fraud

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
)

// Click detectors.
//
// What internal/links already does is not repeated here: the redirect marks
// bots by user agent, HEAD and prefetch (links.IsBot), and its recorder
// marks one click per visitor (the salted hash of address + user agent) per
// link per hour as unique (links.UniqueWindow); the rollups count raw and
// unique clicks apart. Billable clicks are the unique human ones
// (CountClicks says how many of each). This file adds what the redirect
// does not know: data-centre addresses and link-preview fetchers by name
// (for the redirect to call, since the address is not stored), a creator
// whose clicks are mostly bots or repeats (a click farm), and coordinated
// clicking across creators (Lockstep).

// Detector names of the click detectors.
const (
	DetectorClickFarm = "clicks.invalid_share"
	DetectorLockstep  = "clicks.lockstep"
)

// previewFetchers are the user-agent marks of link-preview fetchers (lower
// case), the more specific first, and who they are: chat and social apps fetch a link to show its
// card, which is no person's click. Names from each vendor's documentation
// of its crawler.
var previewFetchers = []struct{ mark, name string }{
	{"slackbot", "Slackbot"}, {"slack-imgproxy", "Slack image proxy"},
	{"facebookexternalhit", "Facebook link preview"}, {"facebookcatalog", "Facebook catalog"},
	{"meta-externalagent", "Meta external agent"}, {"telegrambot", "TelegramBot"},
	{"twitterbot", "Twitterbot"}, {"whatsapp", "WhatsApp link preview"},
	{"discordbot", "Discordbot"}, {"linkedinbot", "LinkedInBot"},
	{"skypeuripreview", "Skype link preview"}, {"pinterestbot", "Pinterestbot"},
	{"redditbot", "Redditbot"}, {"embedly", "Embedly"}, {"iframely", "Iframely"},
	{"applebot", "Applebot"}, {"google-pagerenderer", "Google page renderer"},
	{"snapchat", "Snapchat link preview"}, {"viber", "Viber link preview"},
	{"line-poker", "LINE link preview"}, {"mastodon", "Mastodon link preview"},
	{"bluesky", "Bluesky card fetcher"}, {"vkshare", "VK share preview"},
}

// PreviewFetcher reports whether ua is a link-preview fetcher's and which.
func PreviewFetcher(ua string) (string, bool) {
	l := strings.ToLower(ua)
	for _, f := range previewFetchers {
		if strings.Contains(l, f.mark) {
			return f.name, true
		}
	}
	return "", false
}

// dataCentres is a small embedded list of cloud and hosting address ranges:
// a click from one is a server's, not a person's (the MRC's invalid-traffic
// guidelines filter data-centre traffic as general invalid traffic). It is
// a sample, not the whole: some of the largest prefixes published by each
// provider — AWS ip-ranges.json, Google Cloud cloud.json, Microsoft Azure's
// Service Tags file, DigitalOcean's, Hetzner's, OVHcloud's and Linode's
// announced prefixes (RIPE/ARIN) — as of 2026. A fuller list (e.g. the
// providers' own feeds, refreshed daily) would replace it in production.
var dataCentres = []struct{ prefix, provider string }{
	{"3.0.0.0/9", "AWS"}, {"13.32.0.0/12", "AWS"}, {"18.128.0.0/9", "AWS"}, {"34.192.0.0/10", "AWS"},
	{"35.152.0.0/13", "AWS"}, {"52.0.0.0/10", "AWS"}, {"54.64.0.0/11", "AWS"}, {"54.144.0.0/12", "AWS"},
	{"34.64.0.0/10", "Google Cloud"}, {"35.184.0.0/13", "Google Cloud"}, {"35.192.0.0/12", "Google Cloud"},
	{"35.208.0.0/12", "Google Cloud"}, {"104.154.0.0/15", "Google Cloud"}, {"130.211.0.0/16", "Google Cloud"},
	{"13.64.0.0/11", "Microsoft Azure"}, {"20.0.0.0/11", "Microsoft Azure"}, {"40.64.0.0/10", "Microsoft Azure"},
	{"52.224.0.0/11", "Microsoft Azure"}, {"104.40.0.0/13", "Microsoft Azure"},
	{"104.131.0.0/16", "DigitalOcean"}, {"159.203.0.0/16", "DigitalOcean"}, {"167.99.0.0/16", "DigitalOcean"},
	{"138.68.0.0/16", "DigitalOcean"}, {"165.227.0.0/16", "DigitalOcean"}, {"64.225.0.0/16", "DigitalOcean"},
	{"5.9.0.0/16", "Hetzner"}, {"88.198.0.0/16", "Hetzner"}, {"95.216.0.0/15", "Hetzner"},
	{"135.181.0.0/16", "Hetzner"}, {"65.108.0.0/15", "Hetzner"}, {"2a01:4f8::/32", "Hetzner"},
	{"51.68.0.0/16", "OVHcloud"}, {"51.75.0.0/16", "OVHcloud"}, {"54.36.0.0/14", "OVHcloud"}, {"145.239.0.0/16", "OVHcloud"},
	{"45.33.0.0/17", "Linode"}, {"139.162.0.0/16", "Linode"}, {"172.104.0.0/15", "Linode"},
	{"2600:1f00::/24", "AWS"}, {"2600:1900::/28", "Google Cloud"},
}

var dataCentrePrefixes = func() []struct {
	p        netip.Prefix
	provider string
} {
	out := make([]struct {
		p        netip.Prefix
		provider string
	}, len(dataCentres))
	for i, d := range dataCentres {
		out[i].p, out[i].provider = netip.MustParsePrefix(d.prefix), d.provider
	}
	return out
}()

// DataCentre reports whether ip (an address alone, as links.ClientIP gives
// it) is in a known data-centre range and whose.
func DataCentre(ip string) (string, bool) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "", false
	}
	a = a.Unmap()
	for _, d := range dataCentrePrefixes {
		if d.p.Contains(a) {
			return d.provider, true
		}
	}
	return "", false
}

// InvalidVisit is what payper's own lists say of a visit that links.IsBot
// let through: "" for a person, else why not (a preview fetcher, a
// data-centre address). The redirect should count such a click as a bot.
func InvalidVisit(ip, ua string) string {
	if name, ok := PreviewFetcher(ua); ok {
		return "link preview (" + name + ")"
	}
	if p, ok := DataCentre(ip); ok {
		return "data-centre address (" + p + ")"
	}
	return ""
}

// Click is what the click detectors read of a stored click.
type Click struct {
	LinkID    string
	CreatorID string
	At        clock.Micros
	Visitor   string // the salted hash of address + user agent
	Bot       bool
	Unique    bool // the visitor's first human click on the link in the hour: billable
}

// ClickCounts are a set of clicks counted apart: Raw all of them, Bots
// those marked as bots, Repeats the human clicks after a visitor's billable
// one on the same link within the hour, Billable the rest.
type ClickCounts struct {
	Raw, Bots, Repeats, Billable int64
}

// Invalid is the bots and repeats together.
func (c ClickCounts) Invalid() int64 { return c.Bots + c.Repeats }

// Count counts clicks apart.
func Count(clicks []Click) ClickCounts {
	var c ClickCounts
	for _, k := range clicks {
		c.Raw++
		switch {
		case k.Bot:
			c.Bots++
		case k.Unique:
			c.Billable++
		default:
			c.Repeats++
		}
	}
	return c
}

// ClickFarmRule is the invalid-share rule's thresholds: a creator's clicks
// in a window are flagged when at least MinClicks were made and more than
// MaxInvalidShare of them were bots or repeats. Ordinary links see some
// preview fetchers and a few double taps (a fifth or so); a bought click
// farm with few devices makes most clicks repeats, a bot farm most bots.
type ClickFarmRule struct {
	MinClicks       int64
	MaxInvalidShare float64
}

// ClickFarmRuleFor returns the rule at a sensitivity.
func ClickFarmRuleFor(s Sensitivity) ClickFarmRule {
	switch s {
	case Relaxed:
		return ClickFarmRule{MinClicks: 200, MaxInvalidShare: 0.75}
	case Strict:
		return ClickFarmRule{MinClicks: 50, MaxInvalidShare: 0.5}
	}
	return ClickFarmRule{MinClicks: 100, MaxInvalidShare: 0.6}
}

// ClickFarm is the invalid-share detector: it returns whether counts c
// break rule r, with a readable reason. Basis: the IAB/MRC invalid-traffic
// guidelines (known bots and non-browser agents filtered first) and Dub's
// record-click (one billable click per visitor per link per hour); a high
// share of what those filters remove is itself the sign of a click farm.
func ClickFarm(c ClickCounts, r ClickFarmRule, window string) (bool, float64, string) {
	if c.Raw < r.MinClicks || c.Raw == 0 {
		return false, 0, ""
	}
	share := float64(c.Invalid()) / float64(c.Raw)
	if share <= r.MaxInvalidShare {
		return false, share, ""
	}
	return true, share, fmt.Sprintf("of %d clicks on the creator's links in %s, %d (%.0f %%) were bots (%d) or repeats of the same visitor within the hour (%d); only %d were billable",
		c.Raw, window, c.Invalid(), 100*share, c.Bots, c.Repeats, c.Billable)
}

// LockstepRule is the coordinated-clicking rule's thresholds.
type LockstepRule struct {
	// Window is the length of the time buckets visitors are compared in.
	Window time.Duration
	// MinCreators is how many different creators' links one visitor must
	// click in one bucket to count as acting in lockstep there.
	MinCreators int
	// MinVisitors is how many such visitors a creator's links must draw in
	// one bucket for the creator to be flagged.
	MinVisitors int
}

// DefaultLockstep is the rule at moderate sensitivity.
var DefaultLockstep = LockstepRule{Window: 15 * time.Minute, MinCreators: 3, MinVisitors: 5}

// LockstepRuleFor returns the rule at a sensitivity.
func LockstepRuleFor(s Sensitivity) LockstepRule {
	r := DefaultLockstep
	switch s {
	case Relaxed:
		r.MinCreators, r.MinVisitors = 4, 8
	case Strict:
		r.MinVisitors = 3
	}
	return r
}

// Lockstep is one creator's part in coordinated clicking: in bucket From
// (of the rule's window), Visitors visitors who each clicked at least
// MinCreators creators' links in that bucket clicked this creator's;
// Creators is how many creators those visitors clicked in all.
type Lockstep struct {
	CreatorID string
	From      clock.Micros
	Visitors  int
	Creators  int
	Clicks    int
}

// DetectLockstep finds coordinated clicking: the same visitors clicking
// many creators' links in the same short window. Basis: CopyCatch
// (Beutel et al., WWW 2013: a group of users acting on the same set of
// targets within a short window — a temporal near-bipartite core) and
// SynchroTrap (Cao et al., CCS 2014: accounts doing the same actions at
// about the same time). Simplified: time is cut into fixed buckets of
// r.Window; in each, a visitor who clicked ≥ r.MinCreators different
// creators' links is "in lockstep", and every creator whose links drew
// ≥ r.MinVisitors lockstep visitors in that bucket is reported, once per
// creator (its worst bucket). A person browsing several creators' links in
// a quarter of an hour happens, but rarely several people doing it over the
// same creators at once. Bot clicks are left out (already not billable).
func DetectLockstep(clicks []Click, r LockstepRule) []Lockstep {
	w := r.Window.Microseconds()
	if w <= 0 {
		w = DefaultLockstep.Window.Microseconds()
	}
	type vb struct {
		visitor string
		bucket  int64
	}
	seen := map[vb]map[string]int{}
	for _, c := range clicks {
		if c.Bot || c.CreatorID == "" {
			continue
		}
		k := vb{c.Visitor, int64(c.At) / w}
		if seen[k] == nil {
			seen[k] = map[string]int{}
		}
		seen[k][c.CreatorID]++
	}
	type cb struct {
		creator string
		bucket  int64
	}
	hits := map[cb]*Lockstep{}
	others := map[cb]map[string]bool{}
	for k, creators := range seen {
		if len(creators) < r.MinCreators {
			continue
		}
		for cr, n := range creators {
			key := cb{cr, k.bucket}
			h := hits[key]
			if h == nil {
				h = &Lockstep{CreatorID: cr, From: clock.Micros(k.bucket * w)}
				hits[key], others[key] = h, map[string]bool{}
			}
			h.Visitors++
			h.Clicks += n
			for o := range creators {
				others[key][o] = true
			}
		}
	}
	best := map[string]Lockstep{}
	for key, h := range hits {
		if h.Visitors < r.MinVisitors {
			continue
		}
		h.Creators = len(others[key])
		if b, ok := best[h.CreatorID]; !ok || h.Visitors > b.Visitors || (h.Visitors == b.Visitors && h.From < b.From) {
			best[h.CreatorID] = *h
		}
	}
	out := make([]Lockstep, 0, len(best))
	for _, h := range best {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatorID < out[j].CreatorID })
	return out
}

// LoadClicks reads the clicks on campaign campaignID's links in [from, to).
func LoadClicks(ctx context.Context, q store.Queryer, campaignID string, from, to clock.Micros) ([]Click, error) {
	out, err := store.QueryAll(ctx, q, func(r store.Scanner) (Click, error) {
		var c Click
		err := r.Scan(&c.LinkID, &c.CreatorID, &c.At, &c.Visitor, &c.Bot, &c.Unique)
		return c, err
	}, `SELECT c.link_id, l.creator_id, c.at, c.visitor, c.bot, c.is_unique FROM clicks c JOIN links l ON l.id = c.link_id
		WHERE l.campaign_id = $1 AND c.at >= $2 AND c.at < $3 ORDER BY c.at`, campaignID, int64(from), int64(to))
	if err != nil {
		return nil, fmt.Errorf("fraud: clicks of campaign %s: %w", campaignID, err)
	}
	return out, nil
}

// DetectClicksTx runs the click detectors over campaign campaignID's clicks
// in [from, to) at its sensitivity and raises a flag per creator found,
// holding the creator's earnings in the campaign accrued from `from` on.
// It returns the flags it raised (new ones only).
func DetectClicksTx(ctx context.Context, tx *store.Tx, now clock.Micros, campaignID string, from, to clock.Micros) ([]Flag, error) {
	sens, err := SensitivityOf(ctx, tx, campaignID)
	if err != nil {
		return nil, err
	}
	clicks, err := LoadClicks(ctx, tx, campaignID, from, to)
	if err != nil {
		return nil, err
	}
	return raiseAll(ctx, tx, now, ClickFlags(clicks, sens, campaignID, from, to))
}

// ClickFlags are the flags the click detectors find in clicks (one
// campaign's, in [from, to)), not raised yet.
func ClickFlags(clicks []Click, sens Sensitivity, campaignID string, from, to clock.Micros) []Flag {
	window := fmt.Sprintf("%d-%d", from, to)
	span := humanSpan(time.Duration(to-from) * time.Microsecond)
	per := map[string][]Click{}
	for _, c := range clicks {
		per[c.CreatorID] = append(per[c.CreatorID], c)
	}
	creators := make([]string, 0, len(per))
	for cr := range per {
		creators = append(creators, cr)
	}
	sort.Strings(creators)
	var out []Flag
	rule := ClickFarmRuleFor(sens)
	for _, cr := range creators {
		c := Count(per[cr])
		if bad, share, reason := ClickFarm(c, rule, span); bad {
			out = append(out, Flag{Detector: DetectorClickFarm, Subject: SubjectCreator, SubjectID: cr, CampaignID: campaignID,
				CreatorID: cr, Score: share, Severity: SeverityMedium, Reason: reason, Category: CategoryClicks, Window: window,
				Evidence: map[string]float64{"raw": float64(c.Raw), "bots": float64(c.Bots), "repeats": float64(c.Repeats),
					"billable": float64(c.Billable), "invalid_share": share},
				Holds: true, HoldsFrom: from})
		}
	}
	for _, f := range LockstepFlags(clicks, sens, from, to) {
		f.CampaignID = campaignID
		out = append(out, f)
	}
	return out
}

// LockstepFlags are the coordinated-clicking flags over clicks of any
// campaigns (the whole server's, in [from, to)): a ring clicking creators
// of different campaigns is only seen across them. Each flag holds the
// creator's earnings in every campaign from `from` (campaign ""), so only
// the operator sees it.
func LockstepFlags(clicks []Click, sens Sensitivity, from, to clock.Micros) []Flag {
	window := fmt.Sprintf("%d-%d", from, to)
	lr := LockstepRuleFor(sens)
	var out []Flag
	for _, l := range DetectLockstep(clicks, lr) {
		out = append(out, Flag{Detector: DetectorLockstep, Subject: SubjectCreator, SubjectID: l.CreatorID,
			CreatorID: l.CreatorID, Score: float64(l.Visitors), Severity: SeverityHigh, Category: CategoryClicks, Window: window,
			Reason: fmt.Sprintf("%d visitors clicked this creator's links between %s and %s UTC while each also clicked at least %d different creators' links in those %s (%d creators in all, %d clicks on this creator's): coordinated clicking",
				l.Visitors, l.From.Time().UTC().Format("2006-01-02 15:04"), (l.From + clock.Micros(lr.Window.Microseconds())).Time().UTC().Format("15:04"),
				lr.MinCreators, humanSpan(lr.Window), l.Creators, l.Clicks),
			Evidence: map[string]float64{"visitors": float64(l.Visitors), "creators": float64(l.Creators), "clicks": float64(l.Clicks)},
			Holds:    true, HoldsFrom: from})
	}
	return out
}

// raiseAll raises fs and returns those newly raised.
func raiseAll(ctx context.Context, tx *store.Tx, now clock.Micros, fs []Flag) ([]Flag, error) {
	var out []Flag
	for _, f := range fs {
		got, created, err := Raise(ctx, tx, now, f)
		if err != nil {
			return out, err
		}
		if created {
			out = append(out, got)
		}
	}
	return out, nil
}

// humanSpan writes d as people do: "15 minutes", "24 hours", "7 days".
func humanSpan(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= 2*time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d == time.Hour:
		return "an hour"
	case d >= time.Minute && d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
	return d.String()
}
