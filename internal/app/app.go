// Package app wires payper's services together from configuration. The
// binary's commands and the end-to-end tests build the same App.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/ads"
	"github.com/payper/payper/internal/ads/meta"
	"github.com/payper/payper/internal/ads/tiktok"
	"github.com/payper/payper/internal/api"
	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	storesandbox "github.com/payper/payper/internal/commerce/sandbox"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/web"
	"github.com/prometheus/client_golang/prometheus"
)

// Version is payper's version, set at build time with
// -ldflags "-X github.com/payper/payper/internal/app.Version=…".
var Version = "dev"

// Config is everything configurable.
type Config struct {
	DatabaseURL string
	AdminToken  string
	Ledger      ledger.Config
	Clock       clock.Clock // nil means the system clock
	Log         *slog.Logger
	// Sandbox serves the built-in simulated social network under /sandbox/
	// (its driver, which can invent engagement, only to admin keys).
	Sandbox bool
	// PublicURL is where browsers and platforms reach this server (OAuth
	// redirect URIs, the sandbox connector's base URL), without a trailing
	// slash, e.g. "http://127.0.0.1:8080".
	PublicURL string
	// Engage tunes the engagement loop (poll interval, holding period).
	Engage engage.Config
	// NoPeriodicJobs leaves the periodic engagement tick out: the demo and
	// tests tick by hand (Jobs.RunOnce) on a clock they move.
	NoPeriodicJobs bool
	// Links configures tracked links and click capture (salt, proxy trust,
	// country header); its PublicURL is the App's.
	Links links.Config
	// SecretKey (32 bytes) seals store credentials and webhook secrets at
	// rest; nil leaves stores unconnectable.
	SecretKey []byte
	// Ads configures the ad accounts results are imported from.
	Ads AdsConfig
	// Payouts tunes payouts; PayoutProviders are the configured providers
	// (manual payouts need none).
	Payouts         payout.Config
	PayoutProviders []payout.Provider
	// Connectors are the real platforms configured (Instagram, TikTok,
	// YouTube), beside the sandbox. Their tokens are secrets: Open refuses
	// them without a SecretKey.
	Connectors []platform.Connector
	// MetricsToken, if set (at least 16 characters), is a bearer token
	// that may read /metrics besides admin keys.
	MetricsToken string
	// SMTPURL, if set (smtp:// or smtps://…?from=…, see mail.ParseSMTPURL),
	// delivers the mail outbox over SMTP; without it mail stays in the
	// outbox for the operator to read.
	SMTPURL string
	// PasswordParams are argon2id's costs for passwords; zero means
	// account.DefaultParams, what `payper serve` uses. Tests set cheap ones.
	PasswordParams account.Params
}

// AdsConfig is the server's Meta and TikTok ad accounts (one of each, for
// every brand of this server); a platform without a token is not
// configured. The base URLs default to the platforms' own.
type AdsConfig struct {
	MetaToken, MetaAccount, MetaBaseURL                      string
	TikTokToken, TikTokAdvertiser, TikTokCurrency, TikTokURL string
}

// sources returns the configured ad platforms' clients.
func (c AdsConfig) sources() report.AdSources {
	return func(_, platform string) (ads.Source, error) {
		switch {
		case platform == report.PlatformMeta && c.MetaToken != "":
			return &meta.Client{BaseURL: c.MetaBaseURL, AccessToken: c.MetaToken, AccountID: c.MetaAccount, HTTP: platformHTTPClient()}, nil
		case platform == report.PlatformTikTok && c.TikTokToken != "":
			return &tiktok.Client{BaseURL: c.TikTokURL, AccessToken: c.TikTokToken, AdvertiserID: c.TikTokAdvertiser,
				Currency: c.TikTokCurrency, HTTP: platformHTTPClient()}, nil
		}
		return nil, fmt.Errorf("no %s ad account is configured on this server (PAYPER_META_ACCESS_TOKEN or PAYPER_TIKTOK_ADS_ACCESS_TOKEN)", platform)
	}
}

// App is a running set of services over one database.
type App struct {
	DB        *store.DB
	Clock     clock.Clock
	Ledger    *ledger.Ledger
	Identity  *identity.Service
	Campaigns *campaign.Service
	API       *api.Server
	Sandbox   *sandbox.World // nil when the sandbox is off
	// Platforms holds the configured connectors (the sandbox's, when on).
	Platforms *platform.Registry
	PublicURL string
	Creators  *creator.Service
	Market    *market.Service
	Engage    *engage.Service
	// Links serves tracked links; its Recorder is closed by Close.
	Links *links.Service
	// Orders takes in store webhooks and conversions.
	Orders *orders.Service
	// Attrib makes discount codes and attributes and pays for orders.
	Attrib *attrib.Service
	// Report builds reports and runs the optimize loop.
	Report *report.Service
	// Payouts pays creators.
	Payouts *payout.Service
	// Accounts signs people in (users, sessions); Outbox holds the mail it
	// writes; Mail delivers it over SMTP (nil without PAYPER_SMTP_URL).
	Accounts *account.Service
	Outbox   *mail.Outbox
	Mail     *mail.Sender
	// Jobs runs the engagement loop on the job queue; Start it to work jobs.
	Jobs *engage.Runner
	Log  *slog.Logger
	// Web is the web app, served at every path the API does not own.
	Web *web.Server
	// Handler serves everything: the API, the web app, and the sandbox when it is on.
	Handler http.Handler
}

// Open connects to the database, applies pending migrations and builds the
// services. It returns an error, having closed what it opened, when the
// database is unreachable or the configuration is invalid.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if (len(cfg.Connectors) > 0 || len(cfg.PayoutProviders) > 0) && cfg.SecretKey == nil {
		return nil, errors.New("real platforms or payout providers are configured but no secret key is: their tokens and creators' payout details " +
			"must be encrypted at rest; set PAYPER_SECRET_KEY (32 bytes, base64) or PAYPER_SECRET_KEY_FILE")
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	a, err := build(ctx, db, cfg)
	if err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func build(ctx context.Context, db *store.DB, cfg Config) (*App, error) {
	applied, err := db.Migrate(ctx)
	if err != nil {
		return nil, err
	}
	if len(applied) > 0 {
		cfg.Log.Info("applied migrations", "versions", applied, "database", db.Dialect())
	}
	l, err := ledger.New(db, cfg.Clock, cfg.Ledger)
	if err != nil {
		return nil, fmt.Errorf("ledger configuration: %w", err)
	}
	ident, err := identity.New(db, cfg.Clock, cfg.AdminToken)
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	a := &App{DB: db, Clock: cfg.Clock, Ledger: l, Identity: ident, Log: cfg.Log,
		Platforms: platform.NewRegistry(), PublicURL: strings.TrimRight(cfg.PublicURL, "/")}
	if a.PublicURL == "" {
		a.PublicURL = "http://127.0.0.1:8080"
	}
	if err := a.openAccounts(cfg.SMTPURL, cfg.PasswordParams); err != nil {
		return nil, err
	}
	a.Campaigns = campaign.New(db, l, cfg.Clock)
	if cfg.Sandbox {
		a.Sandbox = sandbox.NewWorld(db, cfg.Clock, sandbox.Options{})
		a.Platforms.Set(sandbox.NewClient(a.PublicURL+sandbox.Prefix, "payper", platformHTTPClient(), cfg.Clock))
	}
	for _, c := range cfg.Connectors {
		a.Platforms.Set(c)
	}
	a.Creators = creator.New(db, cfg.Clock, a.Platforms, a.PublicURL+creator.CallbackPath)
	a.Market = market.New(db, cfg.Clock, a.Campaigns, a.Creators)
	a.Engage, err = engage.New(engage.Deps{DB: db, Ledger: l, Campaigns: a.Campaigns, Accounts: engageAccounts{a.Creators},
		Applications: engageApps{a.Market}, Platforms: a.Platforms, Clock: cfg.Clock, Log: cfg.Log}, cfg.Engage)
	if err != nil {
		return nil, err
	}
	if err := engage.Migrate(ctx, db); err != nil {
		return nil, err
	}
	if a.Jobs, err = engage.NewRunner(ctx, a.Engage, db, engage.RunnerOptions{Log: cfg.Log, NoPeriodic: cfg.NoPeriodicJobs,
		OnTick: a.afterTick}); err != nil {
		return nil, err
	}
	lcfg := cfg.Links
	lcfg.PublicURL = a.PublicURL
	lcfg.Recorder.Log = cfg.Log
	if a.Links, err = links.New(ctx, db, cfg.Clock, a.Campaigns, a.Market, a.Creators, lcfg); err != nil {
		return nil, err
	}
	a.Orders = orders.New(db, cfg.Clock, a.PublicURL)
	if err := a.setOrderVisitorHash(ctx, db, lcfg.Salt); err != nil {
		return nil, err
	}
	var box *secret.Box
	if cfg.SecretKey != nil {
		box, err = secret.New(cfg.SecretKey)
		if err != nil {
			a.Links.Recorder.Close(ctx)
			return nil, fmt.Errorf("secret key: %w", err)
		}
		a.Orders.SetSecretBox(box)
		a.Creators.SetSecretBox(box)
	}
	if cfg.Sandbox {
		a.Orders.EnableSandbox()
	}
	if a.Attrib, err = attrib.New(attrib.Deps{DB: db, Clock: cfg.Clock, Campaigns: a.Campaigns, Market: a.Market, Creators: a.Creators,
		Engage: a.Engage, Orders: a.Orders}); err != nil {
		a.Links.Recorder.Close(ctx)
		return nil, err
	}
	a.Orders.SetObserver(a.Attrib)
	a.Market.OnAccept(a.Attrib.FlatFeeTx)
	a.Payouts = payout.New(db, cfg.Clock, l, cfg.Payouts, cfg.Log, cfg.PayoutProviders...)
	if box != nil {
		a.Payouts.SetSecretBox(box)
	}
	a.Report = report.New(report.Deps{DB: db, Clock: cfg.Clock, Campaigns: a.Campaigns, Market: a.Market, Sources: cfg.Ads.sources(),
		Handles: func(ctx context.Context, ids []string) (map[string]string, error) {
			sums, err := a.Creators.Summaries(ctx, db.Read(), ids)
			if err != nil {
				return nil, err
			}
			out := make(map[string]string, len(sums))
			for id, s := range sums {
				out[id] = s.Handle()
			}
			return out, nil
		}})
	if cfg.MetricsToken != "" && len(cfg.MetricsToken) < 16 {
		a.Links.Recorder.Close(ctx)
		return nil, errors.New("metrics token: it must be at least 16 characters")
	}
	a.API = api.New(api.Deps{DB: db, Identity: ident, MetricsToken: cfg.MetricsToken, Campaigns: a.Campaigns, Ledger: l, Log: cfg.Log, Version: Version,
		Creators: a.Creators, Market: a.Market, Engage: a.Engage, EngageTick: a.Jobs.RunOnce, Links: a.Links, Orders: a.Orders, Attrib: a.Attrib, Report: a.Report, Payouts: a.Payouts, Outbox: a.Outbox, Accounts: a.Accounts})
	if err := a.Engage.RegisterMetrics(a.API.Registry()); err != nil {
		a.Links.Recorder.Close(ctx)
		return nil, err
	}
	if err := a.Links.Recorder.RegisterMetrics(a.API.Registry()); err != nil {
		a.Links.Recorder.Close(ctx)
		return nil, err
	}
	for _, c := range cfg.Connectors { // connectors with metrics of their own (Instagram's refused insights)
		if m, ok := c.(interface {
			RegisterMetrics(prometheus.Registerer) error
		}); ok {
			if err := m.RegisterMetrics(a.API.Registry()); err != nil {
				a.Links.Recorder.Close(ctx)
				return nil, err
			}
		}
	}
	a.API.ReadyChecks = append(a.API.ReadyChecks, api.ReadyCheck{Name: "click recorder", Check: a.Links.Recorder.Ready})
	a.Web = web.New(web.Deps{Accounts: a.Accounts, Identity: ident, Campaigns: a.Campaigns, Creators: a.Creators, Market: a.Market,
		Engage: a.Engage, Links: a.Links, Orders: a.Orders, Attrib: a.Attrib, Report: a.Report, Payouts: a.Payouts, Ledger: l,
		Outbox: a.Outbox, EngageTick: a.Jobs.RunOnce, Clock: cfg.Clock, Log: cfg.Log, TrustProxy: cfg.Links.TrustProxy,
		PublicURL: a.PublicURL, Version: Version})
	a.Handler = mountWeb(a.API, a.Web)
	if cfg.Sandbox {
		mux := http.NewServeMux()
		mux.Handle("/", a.Handler)
		mux.Handle(sandbox.Prefix+"/", sandbox.NewHandler(a.Sandbox, cfg.Log))
		mux.Handle(sandbox.Prefix+"/driver/", a.API.AdminOnly(sandbox.Prefix+"/driver/", sandbox.NewDriverHandler(a.Sandbox, cfg.Log)))
		mux.Handle(orders.SandboxShopPath, storesandbox.NewShops(a.Orders))
		mux.Handle(storesandbox.DriverPath, a.API.AdminOnly(storesandbox.DriverPath,
			storesandbox.NewDriverHandler(storesandbox.NewDriver(a.Orders, cfg.Clock, platformHTTPClient(), cfg.Log))))
		a.Handler = mux
	}
	return a, nil
}

// mountWeb serves the API at /v1/, at each of its routes outside /v1 (health,
// metrics, webhooks) and at tracked links, and the web app everywhere else:
// an unknown /v1/ path still gets the API's JSON 404.
func mountWeb(apiSrv *api.Server, webSrv *web.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", webSrv)
	mux.Handle("/v1/", apiSrv)
	mux.Handle(links.RedirectPath, apiSrv)
	for _, rt := range apiSrv.Routes() {
		if !strings.HasPrefix(rt.Pattern, "/v1/") && !strings.HasPrefix(rt.Pattern, links.RedirectPath) {
			mux.Handle(rt.Method+" "+rt.Pattern, apiSrv)
		}
	}
	return mux
}

// platformHTTPClient is the HTTP client connectors share: it keeps enough
// idle connections per host for the engagement loop's concurrent reads
// (Go's default keeps two, so the rest would reconnect on every request).
func platformHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	t.MaxIdleConns = 256
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Close writes the clicks still buffered (waiting at most 10 seconds) and
// closes the database. It returns the first error of either.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := a.Links.Recorder.Close(ctx)
	if err != nil {
		a.Log.Error("writing the last clicks", "err", err)
	}
	return errors.Join(err, a.DB.Close())
}

// afterTick is the work of each tick after its jobs: the fraud sweep (its
// flags hold earnings before anything is paid), automatic marks, the
// payouts due, then mail. Mail goes last, so a slow or unreachable mail
// server spends only what the rest left of the tick's time and never holds
// back a payout.
func (a *App) afterTick(ctx context.Context) error {
	_, ferr := a.fraudTick(ctx)
	if ferr != nil {
		a.Log.Warn("fraud: sweep", "err", ferr)
	}
	var err error
	if a.Report != nil && a.Payouts != nil {
		if _, err = a.Report.AutoMarks(ctx); err == nil {
			_, err = a.Payouts.Process(ctx)
		}
	}
	a.mailTick(ctx)
	return errors.Join(ferr, err)
}

// setOrderVisitorHash makes store orders keep the hash of their browser
// address and user agent with the click capture's salt (the configured one,
// else the one links.New stored), so the self-purchase detector can compare
// an order's browser with its click's.
func (a *App) setOrderVisitorHash(ctx context.Context, db *store.DB, salt string) error {
	if salt == "" {
		if err := db.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = 'click_salt'`).Scan(&salt); err != nil {
			return fmt.Errorf("app: click salt: %w", err)
		}
	}
	a.Orders.SetVisitorHash(func(ip, agent string) string { return links.VisitorHash(salt, ip, agent) })
	return nil
}
