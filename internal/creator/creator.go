// Package creator owns creators' profiles and their connected social
// accounts: the OAuth connect flow with any platform.Connector, follower
// counts and engagement rates read from the platform (never typed in), tiers
// derived from them, and the accounts' tokens, which it refreshes (one
// refresh per account at a time, across servers) and hands to the
// engagement pipeline.
package creator

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
)

// Limits of a profile.
const (
	MaxNameLen = 200 // characters in a name
	MaxCityLen = 100 // characters in a city
	MaxNiches  = 20  // niches per creator
)

// Service manages creators' profiles and connected accounts.
type Service struct {
	db          *store.DB
	clock       clock.Clock
	platforms   *platform.Registry
	callbackURL string
	// locks holds one *sync.Mutex per account row id, so that this server
	// refreshes an account's token once at a time without polling; the
	// lease in creator_accounts does the same across servers.
	locks sync.Map
	// box seals tokens at rest; nil stores them as plain JSON (only
	// allowed without a real platform, see app).
	box *secret.Box
}

// SetSecretBox sets the key tokens are sealed with at rest. Tokens stored
// before stay readable and are sealed when next refreshed.
func (s *Service) SetSecretBox(b *secret.Box) { s.box = b }

// New returns a Service that connects accounts through the connectors in
// platforms, with callbackURL (publicURL + "/v1/connect/callback") as the
// OAuth redirect URI.
func New(db *store.DB, clk clock.Clock, platforms *platform.Registry, callbackURL string) *Service {
	return &Service{db: db, clock: clk, platforms: platforms, callbackURL: callbackURL}
}

// CallbackPath is the path of the OAuth redirect URI under the public URL.
const CallbackPath = "/v1/connect/callback"

// Profile is a creator's public profile.
type Profile struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Country string `json:"country"` // ISO 3166-1 alpha-2, "" when not given
	City    string `json:"city"`
	// Niches are slugs like campaign eligibility niches ("beauty",
	// "home-fitness"), in the creator's order.
	Niches    []string     `json:"niches"`
	CreatedAt clock.Micros `json:"created_at"`
}

// ProfileUpdate changes the fields that are not nil; an empty Country or
// City clears it, an empty Niches list removes every niche.
type ProfileUpdate struct {
	Name    *string   `json:"name"`
	Country *string   `json:"country"`
	City    *string   `json:"city"`
	Niches  *[]string `json:"niches"`
}

var nicheRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// NormalizeNiche puts a niche in the form campaigns use: trimmed,
// lower-cased, runs of spaces and underscores turned into '-'.
func NormalizeNiche(n string) string {
	n = strings.ToLower(strings.TrimSpace(n))
	return strings.Join(strings.FieldsFunc(n, func(r rune) bool { return unicode.IsSpace(r) || r == '_' }), "-")
}

// ValidNiche reports whether n is a niche slug: lower-case letters, digits
// and '-', starting with a letter or digit, at most 40 characters.
func ValidNiche(n string) bool { return nicheRE.MatchString(n) }

// Normalize trims the update's text, upper-cases the country and normalizes
// and deduplicates the niches. It cannot fail.
func (u *ProfileUpdate) Normalize() {
	trim := func(p *string) {
		if p != nil {
			v := strings.TrimSpace(*p)
			*p = v
		}
	}
	trim(u.Name)
	trim(u.City)
	if u.Country != nil {
		v := strings.ToUpper(strings.TrimSpace(*u.Country))
		u.Country = &v
	}
	if u.Niches != nil {
		out := []string{}
		seen := map[string]bool{}
		for _, n := range *u.Niches {
			n = NormalizeNiche(n)
			if n != "" && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
		u.Niches = &out
	}
}

// Validate reports every invalid field at once (fields name, country, city
// and niches), as one errs Invalid error, or nil. Call Normalize first.
func (u ProfileUpdate) Validate() error {
	var c errs.Collector
	if u.Name != nil {
		switch v := *u.Name; {
		case v == "":
			c.Addf("name", "required", "name must not be empty")
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
			c.Addf("name", "invalid", "name must be valid UTF-8 without control characters")
		case utf8.RuneCountInString(v) > MaxNameLen:
			c.Addf("name", "too_long", "name is longer than %d characters", MaxNameLen)
		}
	}
	if u.Country != nil && *u.Country != "" && !campaign.ValidCountry(*u.Country) {
		c.Addf("country", "invalid_country", "country must be an ISO 3166-1 alpha-2 code such as DE or US, not %q", *u.Country)
	}
	if u.City != nil {
		switch v := *u.City; {
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
			c.Addf("city", "invalid", "city must be valid UTF-8 without control characters")
		case utf8.RuneCountInString(v) > MaxCityLen:
			c.Addf("city", "too_long", "city is longer than %d characters", MaxCityLen)
		}
	}
	if u.Niches != nil {
		if len(*u.Niches) > MaxNiches {
			c.Addf("niches", "too_many", "at most %d niches, not %d", MaxNiches, len(*u.Niches))
		}
		for _, n := range *u.Niches {
			if !ValidNiche(n) {
				c.Addf("niches", "invalid_niche", "%q is not a niche slug: lower-case letters, digits and '-', starting with a letter or digit, at most 40 characters", n)
			}
		}
	}
	return c.Err()
}

func joinNiches(n []string) string { return strings.Join(n, ",") }

func splitNiches(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

const profileCols = `id, name, country, city, niches, created_at`

func scanProfile(row interface{ Scan(...any) error }) (Profile, error) {
	var p Profile
	var niches string
	if err := row.Scan(&p.ID, &p.Name, &p.Country, &p.City, &niches, &p.CreatedAt); err != nil {
		return p, err
	}
	p.Niches = splitNiches(niches)
	return p, nil
}

// mayManage reports whether p may read and change creatorID's profile and
// accounts: the admin, or the creator itself.
func mayManage(p identity.Principal, creatorID string) bool {
	return p.IsAdmin() || (p.CreatorID() != "" && p.CreatorID() == creatorID)
}

// Profile returns the profile of creatorID as p may see it (the admin or
// the creator itself), or NotFound.
func (s *Service) Profile(ctx context.Context, p identity.Principal, creatorID string) (Profile, error) {
	if !mayManage(p, creatorID) {
		return Profile{}, errs.NotFoundf("creator %s not found", creatorID)
	}
	return s.profile(ctx, s.db.Read(), creatorID)
}

func (s *Service) profile(ctx context.Context, q store.Queryer, creatorID string) (Profile, error) {
	pr, err := scanProfile(q.QueryRowContext(ctx, `SELECT `+profileCols+` FROM creators WHERE id = $1`, creatorID))
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{}, errs.NotFoundf("creator %s not found", creatorID)
	}
	if err != nil {
		return Profile{}, fmt.Errorf("creator: read profile %s: %w", creatorID, err)
	}
	return pr, nil
}

// UpdateProfile changes the profile of creatorID, which p must be (or p is
// the admin), and returns it. It returns NotFound for a creator p may not
// change and an Invalid error listing every bad field; nothing changes then.
func (s *Service) UpdateProfile(ctx context.Context, p identity.Principal, creatorID string, u ProfileUpdate) (Profile, error) {
	u.Normalize()
	if err := u.Validate(); err != nil {
		return Profile{}, err
	}
	if !mayManage(p, creatorID) {
		return Profile{}, errs.NotFoundf("creator %s not found", creatorID)
	}
	var out Profile
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		pr, err := scanProfile(tx.QueryRowContext(ctx, `SELECT `+profileCols+` FROM creators WHERE id = $1`+tx.ForUpdate(), creatorID))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFoundf("creator %s not found", creatorID)
		}
		if err != nil {
			return fmt.Errorf("creator: read profile %s: %w", creatorID, err)
		}
		if u.Name != nil {
			pr.Name = *u.Name
		}
		if u.Country != nil {
			pr.Country = *u.Country
		}
		if u.City != nil {
			pr.City = *u.City
		}
		if u.Niches != nil {
			pr.Niches = *u.Niches
		}
		if _, err := tx.ExecContext(ctx, `UPDATE creators SET name = $1, country = $2, city = $3, niches = $4 WHERE id = $5`,
			pr.Name, pr.Country, pr.City, joinNiches(pr.Niches), creatorID); err != nil {
			return fmt.Errorf("creator: update profile %s: %w", creatorID, err)
		}
		out = pr
		return nil
	})
	return out, err
}

// Tier is a creator account's size class by followers (PRODUCT.md).
type Tier string

// The tiers. Follower bounds are inclusive below and exclusive above:
// nano 1,000–9,999, micro 10,000–99,999, mid 100,000–499,999, macro
// 500,000–999,999, mega 1,000,000 and more. Accounts below 1,000 followers
// have TierNone; accounts whose follower count is hidden have TierUnknown.
const (
	TierUnknown Tier = "unknown"
	TierNone    Tier = "none"
	TierNano    Tier = "nano"
	TierMicro   Tier = "micro"
	TierMid     Tier = "mid"
	TierMacro   Tier = "macro"
	TierMega    Tier = "mega"
)

// TierOf returns the tier of an account with the given follower count.
func TierOf(followers platform.Count) Tier {
	switch v := followers.Value; {
	case !followers.Known:
		return TierUnknown
	case v >= 1_000_000:
		return TierMega
	case v >= 500_000:
		return TierMacro
	case v >= 100_000:
		return TierMid
	case v >= 10_000:
		return TierMicro
	case v >= 1_000:
		return TierNano
	}
	return TierNone
}

// ERWindow is how many of an account's most recent media items its
// engagement rate is computed over.
const ERWindow = 12

// EngagementRatePPM returns an account's engagement rate in parts per
// million: the mean, over the first ERWindow items of media (newest first),
// of engagements / followers, where an item's engagements are its likes +
// comments + shares + saves (PRODUCT.md; views are not engagements). A
// metric the platform does not report for an item counts as 0; an item
// reporting none of the four is left out. The result is rounded down to a
// whole ppm and computed exactly (no floating point). ok is false — the
// rate is unknown — when followers is unknown or zero or no item is left.
func EngagementRatePPM(followers platform.Count, media []platform.MediaCounts) (ppm int64, ok bool) {
	if !followers.Known || followers.Value <= 0 {
		return 0, false
	}
	sum := new(big.Int)
	n := int64(0)
	for _, m := range media[:min(len(media), ERWindow)] {
		known := false
		for _, c := range []platform.Count{m.Likes, m.Comments, m.Shares, m.Saves} {
			if c.Known {
				known = true
				sum.Add(sum, big.NewInt(c.Value))
			}
		}
		if known {
			n++
		}
	}
	if n == 0 {
		return 0, false
	}
	num := sum.Mul(sum, big.NewInt(1_000_000))
	den := new(big.Int).Mul(big.NewInt(n), big.NewInt(followers.Value))
	q := num.Quo(num, den)
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// FormatPPM formats a ppm rate as a percentage with four decimals:
// 42_500 is "4.2500".
func FormatPPM(ppm int64) string {
	return fmt.Sprintf("%d.%04d", ppm/10_000, ppm%10_000)
}
