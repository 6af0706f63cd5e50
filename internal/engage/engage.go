// Package engage runs the pay-per-interaction loop after a creator is
// accepted: posts submitted and verified against the platform, engagement
// read on a schedule, growth above each metric's high-water mark billed from
// the escrow through the ledger, earnings held for a holding period and then
// released, reviews (hold, release, void), campaign completion and closing.
//
// Billing is safe to run from any number of servers at once: each campaign's
// tick runs in one database transaction that locks the campaign row and its
// posts, re-reads the high-water marks, and moves them in the same
// transaction as the ledger accrual, so the same growth can never be billed
// twice.
package engage

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Post states.
const (
	PostPendingApproval = "pending_approval" // the brand reviews the content before billing starts
	PostLive            = "live"             // polled and billed
	PostRejected        = "rejected"         // the brand declined the content
	PostRemoved         = "removed"          // deleted on the platform, or no longer visible
	// PostFlagged: the platform reported an impossible count for the post
	// (see MaxPlausibleCount); it is neither read nor billed until the brand
	// or an admin approves it again (Decide).
	PostFlagged = "flagged"
)

// MaxPlausibleCount is the largest counter a reading may report: a
// thousand billion, some fifty times the most-viewed video's views. A
// reading with a count above it, or below zero, is impossible: the post is
// flagged (PostFlagged, with the counter in its state reason) and the
// reading bills nothing.
const MaxPlausibleCount = 1_000_000_000_000

// Earning states.
const (
	EarningHeld     = "held"     // in its holding period; released when it ends
	EarningOnHold   = "on_hold"  // under review: not released until a reviewer decides
	EarningReleased = "released" // moved to the creator's available balance
	EarningVoided   = "voided"   // returned to the escrow, fee reversed
)

// Config tunes the engagement loop. Zero fields take the defaults.
type Config struct {
	// PollInterval is how often a live post is read (default 15 minutes).
	PollInterval time.Duration
	// HoldingPeriod is how long earnings stay held before release (default 7 days).
	HoldingPeriod time.Duration
	// MaxBackoff bounds the wait after repeated read failures (default 6 hours).
	MaxBackoff time.Duration
	// ReadConcurrency is how many accounts are read at once (default 8).
	ReadConcurrency int
	// ChunkPosts is about how many posts one billing transaction takes
	// (default 2500; a creator's posts are never split): the next chunk is
	// read from the platform while one is billed.
	ChunkPosts int
}

// Defaults.
const (
	DefaultPollInterval    = 15 * time.Minute
	DefaultHoldingPeriod   = 7 * 24 * time.Hour
	DefaultMaxBackoff      = 6 * time.Hour
	DefaultReadConcurrency = 8
	DefaultChunkPosts      = 2500
)

func (c Config) withDefaults() Config {
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.HoldingPeriod <= 0 {
		c.HoldingPeriod = DefaultHoldingPeriod
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.ReadConcurrency <= 0 {
		c.ReadConcurrency = DefaultReadConcurrency
	}
	if c.ChunkPosts <= 0 {
		c.ChunkPosts = DefaultChunkPosts
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.PollInterval < 0 || c.HoldingPeriod < 0 || c.MaxBackoff < 0 || c.ReadConcurrency < 0 || c.ChunkPosts < 0 {
		return fmt.Errorf("engage: intervals and concurrency must not be negative")
	}
	if c.PollInterval > 0 && c.PollInterval < time.Second {
		return fmt.Errorf("engage: poll interval %s is below one second", c.PollInterval)
	}
	return nil
}

// Accounts gives the engagement loop creators' connected accounts and usable
// tokens. The creator package implements it.
type Accounts interface {
	// ConnectedAccount returns the row id (ref) and the platform's account id
	// of the creator's connected account on p, or an errs NotFound error.
	ConnectedAccount(ctx context.Context, creatorID string, p platform.Name) (ref, platformAccountID string, err error)
	// WithToken calls fn with the account's connector and a usable token,
	// refreshing it when due. When fn fails with platform.ErrReconnect it
	// refreshes once and retries where the token allows, and otherwise marks
	// the account as needing reconnection and returns an error matching
	// platform.ErrReconnect. Rate limits still match platform.ErrRateLimited.
	WithToken(ctx context.Context, ref string, fn func(ctx context.Context, c platform.Connector, tok platform.Token) error) error
}

// Applications tells when a creator was accepted into a campaign. The market
// package implements it.
type Applications interface {
	// AcceptedAt returns when the creator was accepted, or an errs NotFound
	// error when they were not (or not yet).
	AcceptedAt(ctx context.Context, q store.Queryer, campaignID, creatorID string) (time.Time, error)
}

// Service is the engagement loop.
type Service struct {
	db        *store.DB
	ledger    *ledger.Ledger
	campaigns *campaign.Service
	accounts  Accounts
	apps      Applications
	platforms *platform.Registry
	clock     clock.Clock
	cfg       Config
	log       *slog.Logger
	m         metrics

	// runner is the Runner made for the Service last (NewRunner): the one
	// an admin tick runs on (TickNow).
	runnerMu sync.Mutex
	runner   *Runner
}

// Deps are what the Service needs.
type Deps struct {
	DB           *store.DB
	Ledger       *ledger.Ledger
	Campaigns    *campaign.Service
	Accounts     Accounts
	Applications Applications
	Platforms    *platform.Registry
	Clock        clock.Clock
	Log          *slog.Logger
}

// New returns the engagement Service.
func New(d Deps, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Service{db: d.DB, ledger: d.Ledger, campaigns: d.Campaigns, accounts: d.Accounts, apps: d.Applications,
		platforms: d.Platforms, clock: d.Clock, cfg: cfg.withDefaults(), log: d.Log, m: newMetrics()}
	return s, nil
}

// Config returns the configuration in effect, defaults filled in.
func (s *Service) Config() Config { return s.cfg }

type metrics struct {
	reads       *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	billed      *prometheus.CounterVec
	polled      prometheus.Counter
	// limitedUntil is when the last rate limit seen on a platform lifts
	// (unix seconds; 0 once a read succeeds again).
	limitedUntil *prometheus.GaugeVec
}

func newMetrics() metrics {
	return metrics{
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payper_platform_reads_total",
			Help: "Counts reads from platforms by platform and outcome (ok, rate_limited, reconnect, unavailable, error)."}, []string{"platform", "outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payper_platform_rate_limited_total",
			Help: "Reads a platform refused for rate limits, by platform."}, []string{"platform"}),
		billed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payper_engagement_billed_micros_total",
			Help: "Gross micro-units granted by engagement billing, by currency."}, []string{"currency"}),
		polled: prometheus.NewCounter(prometheus.CounterOpts{Name: "payper_posts_polled_total", Help: "Post reads stored."}),
		limitedUntil: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "payper_platform_rate_limited_until_seconds",
			Help: "When the last rate limit or quota a platform reported lifts (unix seconds), 0 when reads succeed."}, []string{"platform"}),
	}
}

// RegisterMetrics registers the loop's metrics (platform reads and rate
// limits, posts polled, money billed) with r.
func (s *Service) RegisterMetrics(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{s.m.reads, s.m.rateLimited, s.m.billed, s.m.polled, s.m.limitedUntil} {
		if err := r.Register(c); err != nil {
			return fmt.Errorf("engage: register metrics: %w", err)
		}
	}
	return nil
}
