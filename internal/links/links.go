// Package links owns tracked links: one short link per (campaign, creator,
// placement), served at /r/{slug} as a 302 to the campaign's landing page
// with UTM parameters and a click id, and the clicks on them, recorded off
// the redirect's path by a Recorder.
package links

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/store"
)

// Mediums a link's utm_medium can be.
const (
	MediumInfluencer = "influencer"  // the creator's own posts (the default)
	MediumPaidSocial = "paid_social" // the brand's ads run on the creator's content
)

// Prefix is the id prefix of links.
const Prefix = "lnk"

// RedirectPath is where short links are served: RedirectPath + slug.
const RedirectPath = "/r/"

// Link is one tracked short link.
type Link struct {
	ID         string `json:"id"`
	Slug       string `json:"slug"`
	ShortURL   string `json:"short_url"`
	CampaignID string `json:"campaign_id"`
	CreatorID  string `json:"creator_id"`
	Placement  string `json:"placement"`
	Medium     string `json:"medium"`
	// Destination is the landing page before UTMs are added.
	Destination string       `json:"destination"`
	UTMSource   string       `json:"utm_source"`
	UTMCampaign string       `json:"utm_campaign"`
	CreatedAt   clock.Micros `json:"created_at"`
	// Clicks are the link's click counts; present in lists only.
	Clicks *Counts `json:"clicks,omitempty"`

	tmpl *destTemplate // set on links Resolve caches
}

// Counts are a link's clicks: human and bot, and the unique human ones (the
// first of each visitor within an hour).
type Counts struct {
	Human  int64 `json:"human"`
	Bot    int64 `json:"bot"`
	Unique int64 `json:"unique"`
}

// Draft is the input for a new link.
type Draft struct {
	CreatorID string `json:"creator_id"`
	// Placement names where the link is used: bio, story-1, ad-variant-b …
	Placement string `json:"placement"`
	// Medium is MediumInfluencer (when empty) or MediumPaidSocial.
	Medium string `json:"medium"`
	// Destination overrides the campaign's brief.landing_url; an absolute
	// https URL.
	Destination string `json:"destination"`
}

var placementRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// Validate reports every invalid field at once (the creator is checked
// against the campaign by Create).
func (d Draft) Validate() error {
	var c errs.Collector
	if !id.Valid(d.CreatorID, id.Creator) {
		c.Addf("creator_id", "invalid", "creator_id must be a creator id (crt_…)")
	}
	if !placementRE.MatchString(d.Placement) {
		c.Addf("placement", "invalid", "placement must be 1–40 lower-case letters, digits or '-', starting with a letter or digit (e.g. bio, story-1, ad-variant-b)")
	}
	if d.Medium != "" && d.Medium != MediumInfluencer && d.Medium != MediumPaidSocial {
		c.Addf("medium", "invalid", "medium must be influencer or paid_social")
	}
	if d.Destination != "" {
		if why := checkDestination(d.Destination); why != "" {
			c.Addf("destination", "invalid", "%s", why)
		}
	}
	return c.Err()
}

func checkDestination(raw string) string {
	if len(raw) > campaign.MaxURLLen {
		return fmt.Sprintf("destination is longer than %d bytes", campaign.MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || strings.ContainsAny(raw, " \t\r\n") {
		return "destination must be an absolute https URL such as https://shop.example/summer"
	}
	if u.Scheme != "https" {
		return "destination must use https"
	}
	if u.User != nil {
		return "destination must not contain a user name or password"
	}
	return ""
}

// CampaignSlug is the utm_campaign of a campaign name: lower-case letters and
// digits (any script) with every other run of characters turned into one
// '-', at most 60 characters; "campaign" when nothing is left.
func CampaignSlug(name string) string {
	var b strings.Builder
	dash := false
	n := 0
	for _, r := range strings.ToLower(name) {
		if n >= 60 {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
				n++
			}
			b.WriteRune(r)
			n++
			dash = false
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "campaign"
	}
	return b.String()
}

// Config configures the links service and the redirect.
type Config struct {
	// PublicURL is where the server is reached, for short URLs.
	PublicURL string
	// Salt salts visitor hashes; when "", one is generated and kept in the
	// database (settings.click_salt) so it survives restarts.
	Salt string
	// TrustProxy takes the client address from X-Forwarded-For's last entry
	// (the one the proxy in front of payper added) instead of the peer's.
	TrustProxy bool
	// CountryHeader names the request header holding the visitor's ISO
	// country code (e.g. CF-IPCountry); "" records no country.
	CountryHeader string
	// CacheTTL is how long a resolved slug is served from memory
	// (DefaultCacheTTL when 0).
	CacheTTL time.Duration
	// Recorder tunes click capture.
	Recorder RecorderOptions
}

// DefaultCacheTTL is how long a resolved slug stays cached.
const DefaultCacheTTL = 30 * time.Second

// Service manages links and serves redirects.
type Service struct {
	db        *store.DB
	clock     clock.Clock
	campaigns *campaign.Service
	market    *market.Service
	creators  *creator.Service
	cfg       Config
	salt      string
	// Recorder captures clicks; Close it on shutdown.
	Recorder *Recorder

	mu    sync.RWMutex
	cache map[string]cached

	uaMu sync.RWMutex
	uas  map[string]uaClass
}

type cached struct {
	link    Link
	expires time.Time
}

// New returns a Service and starts its click recorder. It returns an error
// when the salt cannot be read or stored.
func New(ctx context.Context, db *store.DB, clk clock.Clock, camps *campaign.Service, mkt *market.Service, crs *creator.Service, cfg Config) (*Service, error) {
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	salt, err := loadSalt(ctx, db, cfg.Salt)
	if err != nil {
		return nil, err
	}
	s := &Service{db: db, clock: clk, campaigns: camps, market: mkt, creators: crs, cfg: cfg, salt: salt, cache: map[string]cached{}, uas: map[string]uaClass{}}
	s.Recorder = NewRecorder(db, cfg.Recorder)
	return s, nil
}

func loadSalt(ctx context.Context, db *store.DB, configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	var salt string
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'click_salt'`).Scan(&salt)
		if errors.Is(err, sql.ErrNoRows) {
			salt = id.Secret(32)
			_, err = tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ('click_salt', $1)`, salt)
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("links: click salt: %w", err)
	}
	return salt, nil
}

const linkCols = `id, slug, campaign_id, creator_id, placement, medium, destination, utm_source, utm_campaign, created_at`

func (s *Service) scan(row store.Scanner) (Link, error) {
	var l Link
	err := row.Scan(&l.ID, &l.Slug, &l.CampaignID, &l.CreatorID, &l.Placement, &l.Medium, &l.Destination, &l.UTMSource, &l.UTMCampaign, &l.CreatedAt)
	l.ShortURL = s.cfg.PublicURL + RedirectPath + l.Slug
	return l, err
}

// Create makes a link for a creator accepted in a campaign of the brand p
// acts for (or any campaign, for the admin). It returns NotFound for a
// campaign p may not see, Invalid for bad fields, an unknown creator
// (unknown_creator), a creator not accepted in the campaign (not_accepted)
// or a campaign without a landing URL and no destination (no_destination),
// and Conflict (link_exists) when the creator already has a link for that
// placement. Nothing is written on error.
func (s *Service) Create(ctx context.Context, p identity.Principal, campaignID string, d Draft) (Link, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return Link{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return Link{}, err
	}
	d.Placement, d.Destination = strings.TrimSpace(d.Placement), strings.TrimSpace(d.Destination)
	if err := d.Validate(); err != nil {
		return Link{}, err
	}
	if d.Medium == "" {
		d.Medium = MediumInfluencer
	}
	if d.Destination == "" {
		if camp.Setup == nil || camp.Setup.Brief.LandingURL == "" {
			return Link{}, errs.Invalidf("destination", "no_destination", "campaign %s has no landing URL yet: configure its setup or give a destination", camp.ID)
		}
		d.Destination = camp.Setup.Brief.LandingURL
	}
	sums, err := s.creators.Summaries(ctx, s.db.Read(), []string{d.CreatorID})
	if err != nil {
		return Link{}, fmt.Errorf("links: read creator: %w", err)
	}
	sum, ok := sums[d.CreatorID]
	if !ok {
		return Link{}, errs.Invalidf("creator_id", "unknown_creator", "creator %s not found", d.CreatorID)
	}
	if _, err := s.market.Accepted(ctx, s.db.Read(), camp.ID, d.CreatorID); err != nil {
		if errs.Is(err, errs.NotFound) {
			return Link{}, errs.Invalidf("creator_id", "not_accepted", "creator %s is not accepted in campaign %s", d.CreatorID, camp.ID)
		}
		return Link{}, err
	}
	l := Link{CampaignID: camp.ID, CreatorID: d.CreatorID, Placement: d.Placement, Medium: d.Medium,
		Destination: d.Destination, UTMSource: handleOf(sum), UTMCampaign: CampaignSlug(camp.Name),
		CreatedAt: clock.MicrosOf(s.clock.Now())}
	if camp.Setup != nil { // the campaign's UTM defaults; "" keeps the handle and the name's slug
		l.UTMSource = campaign.UTMSourceFor(camp.Setup.Performance.UTMSource, l.UTMSource)
		if u := camp.Setup.Performance.UTMCampaign; u != "" {
			l.UTMCampaign = u
		}
	}
	for attempt := 0; ; attempt++ {
		l.ID, l.Slug = id.New(Prefix), id.Secret(5)
		err = s.db.WithTx(ctx, func(tx *store.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM links WHERE campaign_id = $1 AND creator_id = $2 AND placement = $3`,
				l.CampaignID, l.CreatorID, l.Placement).Scan(&n); err != nil {
				return fmt.Errorf("links: check placement: %w", err)
			}
			if n > 0 {
				return errs.Conflictf("link_exists", "creator %s already has a %s link in campaign %s", l.CreatorID, l.Placement, l.CampaignID)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO links (`+linkCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				l.ID, l.Slug, l.CampaignID, l.CreatorID, l.Placement, l.Medium, l.Destination, l.UTMSource, l.UTMCampaign, l.CreatedAt)
			return err
		})
		// A unique violation is a slug collision (or a concurrent request
		// for the same placement, which the next attempt reports).
		if err != nil && store.IsUniqueViolation(err) && attempt < 5 {
			continue
		}
		break
	}
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			return Link{}, err
		}
		return Link{}, fmt.Errorf("links: insert: %w", err)
	}
	l.ShortURL = s.cfg.PublicURL + RedirectPath + l.Slug
	return l, nil
}

// handleOf is the creator's utm_source: the handle of their oldest connected
// account, else their name as a slug.
func handleOf(sum creator.Summary) string {
	for _, a := range sum.Accounts {
		if a.Connected() && a.Handle != "" {
			return strings.TrimPrefix(a.Handle, "@")
		}
	}
	return CampaignSlug(sum.Name)
}

// List returns the links of a campaign p may see, oldest first, with their
// click counts. It returns NotFound for a campaign p may not see.
func (s *Service) List(ctx context.Context, p identity.Principal, campaignID string) ([]Link, error) {
	if _, err := s.campaigns.Get(ctx, p, campaignID); err != nil {
		return nil, err
	}
	return s.list(ctx, `campaign_id = $1`, campaignID)
}

// Mine returns the links of the creator p acts for, oldest first, with
// their click counts; none for other principals.
func (s *Service) Mine(ctx context.Context, p identity.Principal) ([]Link, error) {
	if p.CreatorID() == "" {
		return []Link{}, nil
	}
	return s.list(ctx, `creator_id = $1`, p.CreatorID())
}

func (s *Service) list(ctx context.Context, where string, arg string) ([]Link, error) {
	ls, err := store.QueryAll(ctx, s.db.Read(), s.scan, `SELECT `+linkCols+` FROM links WHERE `+where+` ORDER BY id`, arg)
	if err != nil {
		return nil, fmt.Errorf("links: list: %w", err)
	}
	counts := map[string]*Counts{}
	// From the rollups, which the recorder updates with every batch of
	// clicks it writes (a link is its campaign, creator and placement).
	rows, err := s.db.Read().QueryContext(ctx, `SELECT l.id, COALESCE(SUM(r.clicks_human), 0), COALESCE(SUM(r.clicks_bot), 0),
			COALESCE(SUM(r.clicks_unique), 0)
		FROM links l JOIN rollups r ON r.campaign_id = l.campaign_id AND r.creator_id = l.creator_id AND r.placement = l.placement
		WHERE l.`+where+` GROUP BY l.id`, arg)
	if err != nil {
		return nil, fmt.Errorf("links: count clicks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var lid string
		var c Counts
		if err := rows.Scan(&lid, &c.Human, &c.Bot, &c.Unique); err != nil {
			return nil, fmt.Errorf("links: count clicks: %w", err)
		}
		counts[lid] = &c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("links: count clicks: %w", err)
	}
	for i := range ls {
		if c := counts[ls[i].ID]; c != nil {
			ls[i].Clicks = c
		} else {
			ls[i].Clicks = &Counts{}
		}
	}
	return ls, nil
}

// MaxSlugLen is the longest slug Resolve looks up.
const MaxSlugLen = 64

// ValidSlug reports whether slug could be a link's: 1 to MaxSlugLen ASCII
// letters, digits, '-' or '_' (Create makes 8 lower-case base32hex
// characters). Anything else, a NUL or invalid UTF-8 included, cannot be
// one, so it is never sent to the database.
func ValidSlug(slug string) bool {
	if len(slug) == 0 || len(slug) > MaxSlugLen {
		return false
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// Resolve returns the link with the given slug, from a short-lived cache
// when it was resolved recently, or NotFound (also for a slug that cannot
// be one, without asking the database).
func (s *Service) Resolve(ctx context.Context, slug string) (Link, error) {
	if !ValidSlug(slug) {
		return Link{}, errs.NotFoundf("no such link")
	}
	now := time.Now()
	s.mu.RLock()
	c, ok := s.cache[slug]
	s.mu.RUnlock()
	if ok && now.Before(c.expires) {
		return c.link, nil
	}
	l, err := s.scan(s.db.Read().QueryRowContext(ctx, `SELECT `+linkCols+` FROM links WHERE slug = $1`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return Link{}, errs.NotFoundf("no link %s", slug)
	}
	if err != nil {
		return Link{}, fmt.Errorf("links: resolve %s: %w", slug, err)
	}
	l.tmpl = newTemplate(l)
	s.mu.Lock()
	if len(s.cache) > 100_000 {
		clear(s.cache)
	}
	s.cache[slug] = cached{link: l, expires: now.Add(s.cfg.CacheTTL)}
	s.mu.Unlock()
	return l, nil
}
