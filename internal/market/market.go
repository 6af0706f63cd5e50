// Package market is payper's marketplace: creators list the open campaigns
// they are eligible for and apply to them once, with a pitch; brands review
// the applications with each creator's followers, tier and engagement rate
// (read from the platforms by the creator package) and accept or reject
// them, never beyond the campaign's maximum number of creators.
package market

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// Application states.
const (
	StatePending  = "pending"
	StateAccepted = "accepted"
	StateRejected = "rejected"
)

// MaxPitchLen is the longest pitch, in characters.
const MaxPitchLen = 2000

// Service runs the marketplace.
type Service struct {
	db        *store.DB
	clock     clock.Clock
	campaigns *campaign.Service
	creators  *creator.Service
	onAccept  func(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, a Application) error
}

// New returns a Service.
func New(db *store.DB, clk clock.Clock, campaigns *campaign.Service, creators *creator.Service) *Service {
	return &Service{db: db, clock: clk, campaigns: campaigns, creators: creators}
}

// Application is a creator's application to a campaign.
type Application struct {
	ID         string    `json:"id"`
	CampaignID string    `json:"campaign_id"`
	CreatorID  string    `json:"creator_id"`
	Pitch      string    `json:"pitch"`
	State      string    `json:"state"`
	CreatedAt  time.Time `json:"created_at"`
	// DecidedAt is when the brand accepted or rejected it; zero (and absent
	// from JSON) while pending. Posts count only from acceptance on.
	DecidedAt time.Time `json:"decided_at,omitzero"`
}

const appCols = `id, campaign_id, creator_id, pitch, state, created_at, decided_at`

func scanApp(row interface{ Scan(...any) error }) (Application, error) {
	var a Application
	var created, decided int64
	if err := row.Scan(&a.ID, &a.CampaignID, &a.CreatorID, &a.Pitch, &a.State, &created, &decided); err != nil {
		return a, err
	}
	a.CreatedAt = time.UnixMicro(created).UTC()
	if decided != 0 {
		a.DecidedAt = time.UnixMicro(decided).UTC()
	}
	return a, nil
}

func (s *Service) apps(ctx context.Context, q store.Queryer, where string, args ...any) ([]Application, error) {
	out, err := store.QueryAll(ctx, q, scanApp, `SELECT `+appCols+` FROM applications WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("market: list applications: %w", err)
	}
	return out, nil
}

// Accepted returns the creator's accepted application to the campaign, read
// through q (a transaction of the caller's, or the database), for the
// engagement pipeline: posts count only when published after DecidedAt. It
// returns NotFound when the creator has no accepted application there.
func (s *Service) Accepted(ctx context.Context, q store.Queryer, campaignID, creatorID string) (Application, error) {
	a, err := scanApp(q.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE campaign_id = $1 AND creator_id = $2 AND state = $3`,
		campaignID, creatorID, StateAccepted))
	if errors.Is(err, sql.ErrNoRows) {
		return Application{}, errs.NotFoundf("creator %s has no accepted application to campaign %s", creatorID, campaignID)
	}
	if err != nil {
		return Application{}, fmt.Errorf("market: read application: %w", err)
	}
	return a, nil
}

// Unmet is one eligibility criterion a creator does not meet.
type Unmet struct {
	// Criterion is platform, followers, country or niches.
	Criterion string `json:"criterion"`
	Message   string `json:"message"`
}

// Check evaluates a campaign's eligibility rules for a creator. via lists
// the creator's connected accounts that qualify (on an eligible platform —
// only on platform only, when it is not "" — with a known follower count
// within the bounds); unmet lists every criterion the creator misses, empty
// when eligible. The rules: at least one qualifying account; the creator's
// country among e.Countries when that is set; at least one niche in common
// with e.Niches when that is set.
func Check(e campaign.Eligibility, c creator.Summary, only platform.Name) (via []creator.Account, unmet []Unmet) {
	var onPlatform []creator.Account
	for _, a := range c.Accounts {
		if a.Connected() && slices.Contains(e.Platforms, campaign.Platform(a.Platform)) && (only == "" || a.Platform == only) {
			onPlatform = append(onPlatform, a)
		}
	}
	via = []creator.Account{}
	for _, a := range onPlatform {
		if a.Followers.Known && a.Followers.Value >= e.MinFollowers && a.Followers.Value <= e.MaxFollowers {
			via = append(via, a)
		}
	}
	plats := make([]string, 0, len(e.Platforms))
	for _, p := range e.Platforms {
		if only == "" || platform.Name(p) == only {
			plats = append(plats, string(p))
		}
	}
	switch {
	case len(onPlatform) == 0 && len(plats) == 0:
		unmet = append(unmet, Unmet{"platform", fmt.Sprintf("the campaign is not on %s", only)})
	case len(onPlatform) == 0:
		unmet = append(unmet, Unmet{"platform", fmt.Sprintf("needs a connected account on %s", campaign.OrList(plats))})
	case len(via) == 0:
		have := make([]string, len(onPlatform))
		for i, a := range onPlatform {
			have[i] = fmt.Sprintf("@%s on %s has %s", a.Handle, a.Platform, followers(a.Followers))
		}
		unmet = append(unmet, Unmet{"followers", fmt.Sprintf("needs %d to %d followers on an eligible platform; %s",
			e.MinFollowers, e.MaxFollowers, strings.Join(have, ", "))})
	}
	if len(e.Countries) > 0 && !slices.Contains(e.Countries, c.Country) {
		have := "no country in the profile"
		if c.Country != "" {
			have = "the profile says " + c.Country
		}
		unmet = append(unmet, Unmet{"country", fmt.Sprintf("the campaign is for creators in %s; %s", campaign.OrList(e.Countries), have)})
	}
	if len(e.Niches) > 0 && !slices.ContainsFunc(c.Niches, func(n string) bool { return slices.Contains(e.Niches, n) }) {
		have := "the profile has no niches"
		if len(c.Niches) > 0 {
			have = "the profile has " + strings.Join(c.Niches, ", ")
		}
		unmet = append(unmet, Unmet{"niches", fmt.Sprintf("needs one of the niches %s; %s", campaign.OrList(e.Niches), have)})
	}
	return via, unmet
}

func followers(c platform.Count) string {
	if !c.Known {
		return "a hidden follower count"
	}
	return fmt.Sprintf("%d", c.Value)
}

func notEligible(campaignID string, unmet []Unmet) error {
	msgs := make([]string, len(unmet))
	fields := make([]errs.FieldError, len(unmet))
	for i, u := range unmet {
		msgs[i] = u.Criterion + ": " + u.Message
		fields[i] = errs.FieldError{Field: u.Criterion, Code: "unmet", Message: u.Message}
	}
	return &errs.Error{Kind: errs.Conflict, Code: "not_eligible", Fields: fields,
		Message: fmt.Sprintf("not eligible for campaign %s: %s", campaignID, strings.Join(msgs, "; "))}
}

// Filter narrows the marketplace.
type Filter struct {
	// Platform keeps campaigns the creator qualifies for through an account
	// on this platform; "" means any.
	Platform platform.Name
	// Niche keeps campaigns that list this niche; "" means any.
	Niche string
	// MinPrices keeps campaigns paying at least this much (micro-units of
	// the campaign's currency) per interaction, by price name (view, like,
	// comment, share, save).
	MinPrices map[string]int64
}

// priceNames lists the interactions a campaign prices, as the API names them.
var priceNames = []string{"view", "like", "comment", "share", "save"}

func price(p campaign.Prices, name string) int64 {
	switch name {
	case "view":
		return p.View
	case "like":
		return p.Like
	case "comment":
		return p.Comment
	case "share":
		return p.Share
	case "save":
		return p.Save
	}
	return 0
}

// ParseFilter reads ?platform=, ?niche= and ?min_price_<view|like|comment|share|save>=
// (a non-negative decimal in the campaign's currency, e.g. 0.002). It returns
// an Invalid error naming every bad parameter.
func ParseFilter(q url.Values) (Filter, error) {
	var c errs.Collector
	f := Filter{MinPrices: map[string]int64{}}
	if v := strings.ToLower(strings.TrimSpace(q.Get("platform"))); v != "" {
		f.Platform = platform.Name(v)
		if !f.Platform.Valid() {
			c.Addf("platform", "unknown_platform", "unknown platform %q", v)
		}
	}
	if v := q.Get("niche"); v != "" {
		f.Niche = creator.NormalizeNiche(v)
		if !creator.ValidNiche(f.Niche) {
			c.Addf("niche", "invalid_niche", "%q is not a niche slug", v)
		}
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, "min_price_")
		if !ok {
			continue
		}
		if !slices.Contains(priceNames, name) {
			c.Addf(k, "unknown_price", "unknown price %q: use min_price_ followed by %s", name, campaign.OrList(priceNames))
			continue
		}
		m, err := money.ParseMicros(q.Get(k))
		switch {
		case err != nil:
			c.Addf(k, errs.CodeOf(err), "%s must be a decimal amount such as 0.002: %s", k, errMessage(err))
		case m < 0:
			c.Addf(k, "negative_amount", "%s must not be negative", k)
		default:
			f.MinPrices[name] = m
		}
	}
	return f, c.Err()
}

func errMessage(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// Offer is a campaign as creators see it: no budget, goal or spend.
type Offer struct {
	ID       string         `json:"id"`
	Name     string         `json:"name"`
	BrandID  string         `json:"brand_id"`
	Currency money.Currency `json:"currency"`
	State    string         `json:"state"`
	// Setup holds brief, prices, creator_cap, max_creators, starts_at,
	// ends_at and eligibility as in the campaign's setup.
	Setup json.RawMessage `json:"setup"`
	// AdPermissions is what the brand asks of accepted creators for paid
	// social (whitelisting, dark posts, for how many days), always shown
	// so a creator knows before applying; all false and 0 when nothing.
	AdPermissions campaign.AdPermissions `json:"ad_permissions"`
}

func offerOf(c campaign.Campaign) (Offer, error) {
	o := Offer{ID: c.ID, Name: c.Name, BrandID: c.BrandID, Currency: c.Currency, State: c.State, Setup: json.RawMessage("{}")}
	if c.Setup == nil {
		return o, nil
	}
	o.AdPermissions = c.Setup.Performance.AdPermissions
	b, err := json.Marshal(c.Setup)
	if err != nil {
		return o, fmt.Errorf("market: encode setup of %s: %w", c.ID, err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return o, fmt.Errorf("market: decode setup of %s: %w", c.ID, err)
	}
	delete(m, "goal") // the brand's own targets
	if o.Setup, err = json.Marshal(m); err != nil {
		return o, fmt.Errorf("market: encode offer of %s: %w", c.ID, err)
	}
	return o, nil
}

// AcceptedOffer returns the campaign as a creator accepted into it sees it
// (its brief, prices and dates; not its budget, goal or spend), for the
// creator p acts for. It returns NotFound — the same answer as for a campaign
// that does not exist — unless p is a creator whose application to it was
// accepted: a pending, rejected or other creator learns nothing.
func (s *Service) AcceptedOffer(ctx context.Context, p identity.Principal, campaignID string) (Offer, error) {
	if p.CreatorID() == "" {
		return Offer{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	if _, err := s.Accepted(ctx, s.db.Read(), campaignID, p.CreatorID()); err != nil {
		if errs.Is(err, errs.NotFound) {
			return Offer{}, errs.NotFoundf("campaign %s not found", campaignID)
		}
		return Offer{}, err
	}
	c, err := s.campaigns.Internal(ctx, s.db.Read(), campaignID)
	if err != nil {
		return Offer{}, err
	}
	return offerOf(c)
}

// Listing is one campaign of the marketplace.
type Listing struct {
	Campaign         Offer `json:"campaign"`
	AcceptedCreators int   `json:"accepted_creators"`
	// RemainingSlots is MaxCreators minus the accepted creators; nil when
	// the campaign takes any number.
	RemainingSlots *int `json:"remaining_slots"`
	// EligibleVia lists the creator's accounts that make them eligible.
	EligibleVia []creator.Account `json:"eligible_via"`
	// Application is the creator's own application, if they applied.
	Application *Application `json:"application,omitempty"`
}

// Marketplace returns the open campaigns the creator p acts for is eligible
// for, newest first, narrowed by f. It returns Forbidden unless p is a
// creator.
func (s *Service) Marketplace(ctx context.Context, p identity.Principal, f Filter) ([]Listing, error) {
	if p.CreatorID() == "" {
		return nil, errs.E(errs.Forbidden, "forbidden", "only creators browse the marketplace")
	}
	sums, err := s.creators.Summaries(ctx, s.db.Read(), []string{p.CreatorID()})
	if err != nil {
		return nil, err
	}
	me, ok := sums[p.CreatorID()]
	if !ok {
		return nil, errs.NotFoundf("creator %s not found", p.CreatorID())
	}
	camps, err := s.campaigns.InState(ctx, campaign.StateOpen)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	type hit struct {
		c   campaign.Campaign
		via []creator.Account
	}
	var hits []hit
	var ids []string
	for _, c := range slices.Backward(camps) {
		if c.Setup == nil || !c.Setup.EndsAt.After(now) {
			continue
		}
		if f.Niche != "" && !slices.Contains(c.Setup.Eligibility.Niches, f.Niche) {
			continue
		}
		pricey := true
		for name, least := range f.MinPrices {
			pricey = pricey && price(c.Setup.Prices, name) >= least
		}
		if !pricey {
			continue
		}
		via, unmet := Check(c.Setup.Eligibility, me, f.Platform)
		if len(unmet) > 0 {
			continue
		}
		hits = append(hits, hit{c, via})
		ids = append(ids, c.ID)
	}
	accepted, err := s.acceptedCounts(ctx, s.db.Read(), ids)
	if err != nil {
		return nil, err
	}
	mine, err := s.apps(ctx, s.db.Read(), `creator_id = $1`, p.CreatorID())
	if err != nil {
		return nil, err
	}
	byCampaign := map[string]Application{}
	for _, a := range mine {
		byCampaign[a.CampaignID] = a
	}
	out := make([]Listing, 0, len(hits))
	for _, h := range hits {
		o, err := offerOf(h.c)
		if err != nil {
			return nil, err
		}
		l := Listing{Campaign: o, AcceptedCreators: accepted[h.c.ID], EligibleVia: h.via}
		if limit := h.c.Setup.MaxCreators; limit > 0 {
			left := max(0, limit-l.AcceptedCreators)
			l.RemainingSlots = &left
		}
		if a, ok := byCampaign[h.c.ID]; ok {
			l.Application = &a
		}
		out = append(out, l)
	}
	return out, nil
}

func (s *Service) acceptedCounts(ctx context.Context, q store.Queryer, campaignIDs []string) (map[string]int, error) {
	out := map[string]int{}
	if len(campaignIDs) == 0 {
		return out, nil
	}
	cond, arg := store.InText(s.db.Dialect(), "campaign_id", 2, campaignIDs)
	rows, err := q.QueryContext(ctx, `SELECT campaign_id, COUNT(*) FROM applications WHERE state = $1 AND `+cond+` GROUP BY campaign_id`, StateAccepted, arg)
	if err != nil {
		return nil, fmt.Errorf("market: count accepted: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("market: count accepted: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("market: count accepted: %w", err)
	}
	return out, nil
}

func (s *Service) countAccepted(ctx context.Context, q store.Queryer, campaignID string) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM applications WHERE campaign_id = $1 AND state = $2`, campaignID, StateAccepted).Scan(&n); err != nil {
		return 0, fmt.Errorf("market: count accepted of %s: %w", campaignID, err)
	}
	return n, nil
}

// Apply records the application of the creator p acts for to a campaign,
// with a pitch (required, at most MaxPitchLen characters). It returns
// Forbidden unless p is a creator, Invalid (field pitch) for a bad pitch,
// NotFound for an unknown campaign, and a Conflict: already_applied (once
// per campaign), campaign_not_open, campaign_ended, campaign_full, or
// not_eligible with every unmet criterion in its message and fields.
// Nothing is stored on any error.
func (s *Service) Apply(ctx context.Context, p identity.Principal, campaignID, pitch string) (Application, error) {
	if p.CreatorID() == "" {
		return Application{}, errs.E(errs.Forbidden, "forbidden", "only a creator can apply to a campaign")
	}
	pitch = strings.TrimSpace(pitch)
	switch {
	case pitch == "":
		return Application{}, errs.Invalidf("pitch", "required", "pitch is required: tell the brand why you fit")
	case !utf8.ValidString(pitch):
		return Application{}, errs.Invalidf("pitch", "invalid", "pitch must be valid UTF-8")
	case utf8.RuneCountInString(pitch) > MaxPitchLen:
		return Application{}, errs.Invalidf("pitch", "too_long", "pitch is longer than %d characters", MaxPitchLen)
	}
	var out Application
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		camp, err := s.campaigns.Internal(ctx, tx, campaignID)
		if err != nil {
			return err
		}
		if _, err := s.mine(ctx, tx, campaignID, p.CreatorID()); err == nil {
			return errs.Conflictf("already_applied", "you already applied to campaign %s", campaignID)
		} else if !errs.Is(err, errs.NotFound) {
			return err
		}
		if camp.State != campaign.StateOpen || camp.Setup == nil {
			return errs.Conflictf("campaign_not_open", "campaign %s is %s: applications are taken only while it is open", camp.ID, camp.State)
		}
		now := s.clock.Now()
		if !camp.Setup.EndsAt.After(now) {
			return errs.Conflictf("campaign_ended", "campaign %s ended at %s", camp.ID, camp.Setup.EndsAt.Format(time.RFC3339))
		}
		sums, err := s.creators.Summaries(ctx, tx, []string{p.CreatorID()})
		if err != nil {
			return err
		}
		if _, unmet := Check(camp.Setup.Eligibility, sums[p.CreatorID()], ""); len(unmet) > 0 {
			return notEligible(camp.ID, unmet)
		}
		if limit := camp.Setup.MaxCreators; limit > 0 {
			n, err := s.countAccepted(ctx, tx, camp.ID)
			if err != nil {
				return err
			}
			if n >= limit {
				return errs.Conflictf("campaign_full", "campaign %s has accepted its %d creators", camp.ID, limit)
			}
		}
		out = Application{ID: id.New(id.Application), CampaignID: camp.ID, CreatorID: p.CreatorID(), Pitch: pitch,
			State: StatePending, CreatedAt: now.Truncate(time.Microsecond)}
		_, err = tx.ExecContext(ctx, `INSERT INTO applications (id, campaign_id, creator_id, pitch, state, created_at, decided_at)
			VALUES ($1, $2, $3, $4, $5, $6, 0)`, out.ID, out.CampaignID, out.CreatorID, out.Pitch, out.State, now.UnixMicro())
		if store.IsUniqueViolation(err) {
			return errs.Conflictf("already_applied", "you already applied to campaign %s", campaignID)
		}
		if err != nil {
			return fmt.Errorf("market: insert application: %w", err)
		}
		return nil
	})
	return out, err
}

func (s *Service) mine(ctx context.Context, q store.Queryer, campaignID, creatorID string) (Application, error) {
	a, err := scanApp(q.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE campaign_id = $1 AND creator_id = $2`, campaignID, creatorID))
	if errors.Is(err, sql.ErrNoRows) {
		return Application{}, errs.NotFoundf("no application to campaign %s", campaignID)
	}
	if err != nil {
		return Application{}, fmt.Errorf("market: read application: %w", err)
	}
	return a, nil
}

// Reviewed is an application with the applicant as the brand sees them:
// profile, and connected accounts with followers, tier and engagement rate.
type Reviewed struct {
	Application
	Creator creator.Summary `json:"creator"`
}

func validState(state string) error {
	if state != "" && state != StatePending && state != StateAccepted && state != StateRejected {
		return errs.Invalidf("state", "invalid_state", "state must be pending, accepted or rejected, not %q", state)
	}
	return nil
}

// Applications returns the applications to a campaign of the brand p acts
// for (any campaign, for the admin), oldest first, in the given state (""
// for all). It returns Invalid (field state) for an unknown state and
// NotFound for a campaign p may not see.
func (s *Service) Applications(ctx context.Context, p identity.Principal, campaignID, state string) ([]Reviewed, error) {
	if err := validState(state); err != nil {
		return nil, err
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	apps, err := s.apps(ctx, s.db.Read(), `campaign_id = $1 AND ($2 = '' OR state = $2)`, camp.ID, state)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(apps))
	for i, a := range apps {
		ids[i] = a.CreatorID
	}
	sums, err := s.creators.Summaries(ctx, s.db.Read(), ids)
	if err != nil {
		return nil, err
	}
	out := make([]Reviewed, len(apps))
	for i, a := range apps {
		out[i] = Reviewed{Application: a, Creator: sums[a.CreatorID]}
	}
	return out, nil
}

// Decide accepts (accept true) or rejects a pending application to a
// campaign of the brand p acts for (any, for the admin), and returns it.
// Accepting needs the campaign open or paused and, when it has a maximum
// number of creators, a free slot: the accepted creators are counted under
// the campaign's row lock, so concurrent accepts never exceed it. It
// returns NotFound for an application p may not see, and a Conflict:
// already_decided, campaign_not_open or campaign_full.
func (s *Service) Decide(ctx context.Context, p identity.Principal, applicationID string, accept bool) (Application, error) {
	notFound := errs.NotFoundf("application %s not found", applicationID)
	if p.BrandID() == "" && !p.IsAdmin() {
		return Application{}, notFound
	}
	var out Application
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var campaignID string
		err := tx.QueryRowContext(ctx, `SELECT campaign_id FROM applications WHERE id = $1`, applicationID).Scan(&campaignID)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound
		}
		if err != nil {
			return fmt.Errorf("market: read application: %w", err)
		}
		camp, err := s.campaigns.LockTx(ctx, tx, p, campaignID)
		if errs.Is(err, errs.NotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		a, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM applications WHERE id = $1`+tx.ForUpdate(), applicationID))
		if err != nil {
			return fmt.Errorf("market: read application: %w", err)
		}
		if a.State != StatePending {
			return errs.Conflictf("already_decided", "application %s is already %s", a.ID, a.State)
		}
		to := StateRejected
		if accept {
			to = StateAccepted
			if camp.State != campaign.StateOpen && camp.State != campaign.StatePaused {
				return errs.Conflictf("campaign_not_open", "campaign %s is %s: creators are accepted only while it is open or paused", camp.ID, camp.State)
			}
			if limit := maxCreators(camp); limit > 0 {
				n, err := s.countAccepted(ctx, tx, camp.ID)
				if err != nil {
					return err
				}
				if n >= limit {
					return errs.Conflictf("campaign_full", "campaign %s has accepted its %d creators", camp.ID, limit)
				}
			}
		}
		now := s.clock.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE applications SET state = $1, decided_at = $2 WHERE id = $3`, to, now.UnixMicro(), a.ID); err != nil {
			return fmt.Errorf("market: decide application: %w", err)
		}
		a.State, a.DecidedAt = to, now.Truncate(time.Microsecond)
		out = a
		if accept && s.onAccept != nil {
			return s.onAccept(ctx, tx, &camp, a)
		}
		return nil
	})
	return out, err
}

// OnAccept sets what runs inside an acceptance's transaction, with the
// campaign locked (paying a flat fee); its error rolls the acceptance back.
func (s *Service) OnAccept(fn func(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, a Application) error) {
	s.onAccept = fn
}

func maxCreators(c campaign.Campaign) int {
	if c.Setup == nil {
		return 0
	}
	return c.Setup.MaxCreators
}

// Mine is an application of the creator's own, with its campaign.
type Mine struct {
	Application
	CampaignName  string `json:"campaign_name"`
	CampaignState string `json:"campaign_state"`
}

// Mine returns the applications of the creator p acts for, oldest first.
// It returns Forbidden unless p is a creator.
func (s *Service) Mine(ctx context.Context, p identity.Principal) ([]Mine, error) {
	if p.CreatorID() == "" {
		return nil, errs.E(errs.Forbidden, "forbidden", "only creators have applications")
	}
	apps, err := s.apps(ctx, s.db.Read(), `creator_id = $1`, p.CreatorID())
	if err != nil {
		return nil, err
	}
	camps := map[string]campaign.Campaign{}
	out := make([]Mine, len(apps))
	for i, a := range apps {
		c, ok := camps[a.CampaignID]
		if !ok {
			if c, err = s.campaigns.Internal(ctx, s.db.Read(), a.CampaignID); err != nil {
				return nil, err
			}
			camps[a.CampaignID] = c
		}
		out[i] = Mine{Application: a, CampaignName: c.Name, CampaignState: c.State}
	}
	return out, nil
}
