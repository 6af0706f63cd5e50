package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
)

// common are the flags every database command takes.
type common struct {
	db, adminToken, logLevel string
	feeBps, firstFeeBps      int64
	sandbox                  bool
	sandboxClock             bool // serve only
	engage                   engage.Config
	links                    links.Config
	secretKey, secretKeyFile string
	ads                      app.AdsConfig
	ext                      external
	metricsToken             string // serve only
	smtpURL                  string // serve only
}

func (c *common) register(f *flags) {
	f.str(&c.db, "db", "PAYPER_DATABASE_URL", store.DefaultURL, "database: a SQLite file path, or a postgres:// URL")
	f.str(&c.adminToken, "admin-token", "PAYPER_ADMIN_TOKEN", "", "operator bootstrap token (≥ 16 characters); requests bearing it act as admin")
	f.str(&c.logLevel, "log-level", "PAYPER_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	f.int64(&c.feeBps, "fee-bps", "PAYPER_FEE_BPS", ledger.DefaultConfig.FeeBps, "platform fee in basis points of campaign spend")
	f.int64(&c.firstFeeBps, "first-campaign-fee-bps", "PAYPER_FIRST_CAMPAIGN_FEE_BPS", ledger.DefaultConfig.FirstCampaignFeeBps, "platform fee on a brand's first campaign, in basis points")
	f.duration(&c.engage.PollInterval, "poll-interval", "PAYPER_POLL_INTERVAL", engage.DefaultPollInterval, "how often each live post's engagement is read")
	f.duration(&c.engage.HoldingPeriod, "holding-period", "PAYPER_HOLDING_PERIOD", engage.DefaultHoldingPeriod, "how long earnings stay held before creators can withdraw them")
	f.str(&c.links.Salt, "click-salt", "PAYPER_CLICK_SALT", "", "salt of the visitor hashes of link clicks; empty = generated once and kept in the database")
	f.boolean(&c.links.TrustProxy, "trust-proxy", "PAYPER_TRUST_PROXY", false, "payper runs behind a reverse proxy: take the client address (link clicks, the sign-in throttle) from X-Forwarded-For's last entry, and mark the session cookie Secure when X-Forwarded-Proto or Forwarded says https")
	f.str(&c.links.CountryHeader, "country-header", "PAYPER_COUNTRY_HEADER", "", "request header holding a click's country code (e.g. CF-IPCountry); empty = none")
	f.str(&c.secretKey, "secret-key", "PAYPER_SECRET_KEY", "", "32-byte key (base64 or hex) sealing store credentials at rest; overrides --secret-key-file")
	f.str(&c.ads.MetaToken, "meta-access-token", "PAYPER_META_ACCESS_TOKEN", "", "Meta Marketing API access token (ads_read) to import ad results; empty = Meta not configured")
	f.str(&c.ads.MetaAccount, "meta-ad-account", "PAYPER_META_AD_ACCOUNT", "", "Meta ad account id (digits, without act_)")
	f.str(&c.ads.MetaBaseURL, "meta-api-url", "PAYPER_META_API_URL", "", "Meta Graph API base URL (default https://graph.facebook.com)")
	f.str(&c.ads.TikTokToken, "tiktok-ads-access-token", "PAYPER_TIKTOK_ADS_ACCESS_TOKEN", "", "TikTok Marketing API access token to import ad results")
	f.str(&c.ads.TikTokAdvertiser, "tiktok-advertiser-id", "PAYPER_TIKTOK_ADVERTISER_ID", "", "TikTok advertiser id")
	f.str(&c.ads.TikTokCurrency, "tiktok-ads-currency", "PAYPER_TIKTOK_ADS_CURRENCY", "EUR", "currency of the TikTok ad account (its reports do not say)")
	f.str(&c.ads.TikTokURL, "tiktok-ads-api-url", "PAYPER_TIKTOK_ADS_API_URL", "", "TikTok Business API base URL (default https://business-api.tiktok.com)")
	c.ext.register(f)
	f.str(&c.secretKeyFile, "secret-key-file", "PAYPER_SECRET_KEY_FILE", "", "file holding the key; default on SQLite: <database file>.key, made on first start (PostgreSQL needs a key given)")
}

// key returns the key sealing secrets at rest: --secret-key, else the key
// file (made on first start), else, on SQLite, the file beside the
// database; nil on PostgreSQL without one (stores cannot then be connected).
func (c *common) key() ([]byte, error) {
	if c.secretKey != "" {
		k, err := secret.ParseKey(c.secretKey)
		if err != nil {
			return nil, fmt.Errorf("--secret-key / PAYPER_SECRET_KEY: %w", err)
		}
		return k, nil
	}
	path := c.secretKeyFile
	if path == "" {
		if path = secret.KeyFileFor(c.db); path == "" {
			return nil, nil
		}
	}
	k, err := secret.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	return k, nil
}

func (c *common) open(ctx context.Context, stderr io.Writer) (*app.App, error) {
	return c.openAt(ctx, stderr, "")
}

// openAt opens the app as reachable at publicURL ("" for the default).
func (c *common) openAt(ctx context.Context, stderr io.Writer, publicURL string) (*app.App, error) {
	var clk clock.Clock
	if c.sandboxClock {
		if err := c.checkSandboxClock(); err != nil {
			return nil, err
		}
		clk = app.NewSandboxClock()
	}
	log, err := newLogger(stderr, c.logLevel)
	if err != nil {
		return nil, err
	}
	key, err := c.key()
	if err != nil {
		return nil, err
	}
	conns, err := c.ext.connectors(log)
	if err != nil {
		return nil, err
	}
	providers, pcfg, err := c.ext.payouts()
	if err != nil {
		return nil, err
	}
	cfg := app.Config{DatabaseURL: c.db, Clock: clk, AdminToken: c.adminToken, Log: log, Sandbox: c.sandbox, PublicURL: publicURL, Engage: c.engage, Links: c.links,
		Ledger: ledger.Config{FeeBps: c.feeBps, FirstCampaignFeeBps: c.firstFeeBps}, SecretKey: key, Ads: c.ads, Connectors: conns, PayoutProviders: providers, Payouts: pcfg,
		MetricsToken: c.metricsToken, SMTPURL: c.smtpURL}
	a, err := app.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := a.CheckSandboxClock(ctx, cfg); err != nil { // real stores in the database; only sandbox stores from now on
		a.Close()
		return nil, err
	}
	return a, nil
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c common
	var addr, publicURL, metricsAddr string
	var shutdown int64
	var lim limits
	f := newFlags("serve", getenv, stderr)
	c.register(f)
	lim.register(f)
	f.str(&metricsAddr, "metrics-addr", "PAYPER_METRICS_ADDR", "", "also serve /metrics without authentication on this address (e.g. 127.0.0.1:9464, or a private interface); empty = off")
	f.str(&c.smtpURL, "smtp-url", mail.EnvSMTPURL, "", "SMTP server for the mail outbox, smtp://user:pass@host:587?from=noreply@example.com (STARTTLS required unless tls=none) or smtps://…; empty = mail stays in the outbox (GET /v1/admin/outbox)")
	f.str(&c.metricsToken, "metrics-token", "PAYPER_METRICS_TOKEN", "", "bearer token (≥ 16 characters) that may read /metrics on the main address besides admin keys")
	f.boolean(&c.sandbox, "sandbox", "PAYPER_SANDBOX", true, "serve the built-in sandbox social network under /sandbox/ (its driver needs an admin key)")
	f.boolean(&c.sandboxClock, "sandbox-clock", "PAYPER_SANDBOX_CLOCK", false, "let admin keys move the server's clock forward through the sandbox driver (POST /sandbox/driver/clock/advance), to play a campaign's days from outside; only with the sandbox and no real platform, store, ad account or payout provider")
	f.str(&addr, "addr", "PAYPER_ADDR", "127.0.0.1:8080", "address to listen on (use :8080 to listen on every interface)")
	f.str(&publicURL, "public-url", "PAYPER_PUBLIC_URL", "", "URL browsers and platforms reach this server at (OAuth redirects); default http://<listen address>")
	f.int64(&shutdown, "shutdown-timeout", "PAYPER_SHUTDOWN_TIMEOUT", 15, "seconds to let requests in flight finish on SIGINT/SIGTERM")
	if err := f.parse(args); err != nil {
		return err
	}
	if err := lim.check(); err != nil {
		return err
	}
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	ln := newConnLimiter(raw, lim.maxConns)
	defer ln.Close()
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}
	a, err := c.openAt(ctx, stderr, publicURL)
	if err != nil {
		return err
	}
	defer a.Close()
	if c.adminToken == "" {
		if err := bootstrapAdmin(ctx, a, stderr); err != nil {
			return err
		}
	}
	// The queue outlives the signal's context so Stop can let jobs finish.
	if err := a.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), time.Duration(shutdown)*time.Second)
		defer cancel()
		if err := a.Jobs.Stop(sctx); err != nil {
			a.Log.Warn("stopping the job queue", "err", err)
		}
	}()
	srv := &http.Server{Handler: a.Handler, ReadHeaderTimeout: lim.readHeaderTimeout, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: lim.idleTimeout, MaxHeaderBytes: int(lim.maxHeaderBytes), ConnState: ln.ConnState}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if metricsAddr != "" {
		mln, err := net.Listen("tcp", metricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s (--metrics-addr): %w", metricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", a.API.MetricsHandler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: lim.readHeaderTimeout, IdleTimeout: lim.idleTimeout, MaxHeaderBytes: int(lim.maxHeaderBytes)}
		go func() {
			if err := msrv.Serve(newConnLimiter(mln, 64)); !errors.Is(err, http.ErrServerClosed) {
				a.Log.Error("metrics listener stopped", "err", err)
			}
		}()
		defer msrv.Close()
		fmt.Fprintf(stdout, "payper metrics on http://%s/metrics\n", mln.Addr())
	}
	a.Log.Info("payper serving", "version", app.Version, "database", a.DB.Dialect(), "addr", ln.Addr().String(), "sandbox", a.Sandbox != nil,
		"max_conns", lim.maxConns, "metrics_addr", metricsAddr)
	fmt.Fprintf(stdout, "payper listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: finishing requests in flight", "timeout_s", shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), time.Duration(shutdown)*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	// No redirect runs any more: write the clicks still buffered.
	if err := a.Links.Recorder.Close(sctx); err != nil {
		a.Log.Error("writing the last clicks", "err", err)
	}
	a.Log.Info("clicks written", "recorded", a.Links.Recorder.Recorded(), "dropped", a.Links.Recorder.Dropped())
	a.Log.Info("stopped")
	return nil
}

// checkSandboxClock refuses --sandbox-clock without the sandbox or beside
// any real platform, ad account or payout provider, naming the setting:
// moving time there would release and pay real money early. (Real stores
// connected in the database are refused by app.CheckSandboxClock.)
func (c *common) checkSandboxClock() error {
	if !c.sandbox {
		return errors.New("--sandbox-clock / PAYPER_SANDBOX_CLOCK needs the sandbox on (--sandbox / PAYPER_SANDBOX=true)")
	}
	var set []string
	for _, s := range []struct{ val, name string }{
		{c.ext.igID, "--instagram-client-id / PAYPER_INSTAGRAM_CLIENT_ID"},
		{c.ext.ttKey, "--tiktok-client-key / PAYPER_TIKTOK_CLIENT_KEY"},
		{c.ext.ytID, "--youtube-client-id / PAYPER_YOUTUBE_CLIENT_ID"},
		{c.ext.wiseToken, "--wise-api-token / PAYPER_WISE_API_TOKEN"},
		{c.ext.stripeKey, "--stripe-secret-key / PAYPER_STRIPE_SECRET_KEY"},
		{c.ads.MetaToken, "--meta-access-token / PAYPER_META_ACCESS_TOKEN"},
		{c.ads.TikTokToken, "--tiktok-ads-access-token / PAYPER_TIKTOK_ADS_ACCESS_TOKEN"},
	} {
		if s.val != "" {
			set = append(set, s.name)
		}
	}
	if len(set) > 0 {
		return fmt.Errorf("--sandbox-clock / PAYPER_SANDBOX_CLOCK is refused beside a real provider: %s is set; "+
			"a movable clock is for sandbox-only servers", strings.Join(set, ", "))
	}
	return nil
}

// limits bound what clients can hold of the server: connections (and so
// file descriptors), header size and how long a connection may wait.
type limits struct {
	maxConns                       int
	maxConns64, maxHeaderBytes     int64
	idleTimeout, readHeaderTimeout time.Duration
}

func (l *limits) register(f *flags) {
	f.int64(&l.maxConns64, "max-conns", "PAYPER_MAX_CONNS", 0, "most client connections open at once; at the cap a new one replaces the longest-idle one (0 = the file descriptor limit less 512)")
	f.int64(&l.maxHeaderBytes, "max-header-bytes", "PAYPER_MAX_HEADER_BYTES", 64<<10, "largest request header, in bytes")
	f.duration(&l.idleTimeout, "idle-timeout", "PAYPER_IDLE_TIMEOUT", 60*time.Second, "how long a keep-alive connection may wait for its next request")
	f.duration(&l.readHeaderTimeout, "read-header-timeout", "PAYPER_READ_HEADER_TIMEOUT", 10*time.Second, "how long a client may take to send a request's header")
}

// check validates the limits and fills in the derived connection cap.
func (l *limits) check() error {
	switch {
	case l.maxConns64 < 0 || l.maxConns64 > 1<<20:
		return fmt.Errorf("--max-conns / PAYPER_MAX_CONNS must be from 0 (derived) to %d, not %d", 1<<20, l.maxConns64)
	case l.maxConns64 > 0 && l.maxConns64 < 2:
		return fmt.Errorf("--max-conns / PAYPER_MAX_CONNS must be at least 2")
	case l.maxHeaderBytes < 4<<10 || l.maxHeaderBytes > 16<<20:
		return fmt.Errorf("--max-header-bytes / PAYPER_MAX_HEADER_BYTES must be from 4096 to %d, not %d", 16<<20, l.maxHeaderBytes)
	case l.idleTimeout <= 0 || l.readHeaderTimeout <= 0:
		return fmt.Errorf("--idle-timeout and --read-header-timeout must be positive")
	}
	l.maxConns = int(l.maxConns64)
	if l.maxConns == 0 {
		l.maxConns = defaultMaxConns()
	}
	return nil
}

// bootstrapAdmin issues an admin key on the very first start of a database
// that has none and no PAYPER_ADMIN_TOKEN, and prints it once, so a newcomer
// can use the API straight away.
func bootstrapAdmin(ctx context.Context, a *app.App, stderr io.Writer) error {
	var n int
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM api_keys WHERE role = 'admin'`).Scan(&n); err != nil {
		return fmt.Errorf("count admin keys: %w", err)
	}
	if n > 0 {
		return nil
	}
	secret, _, err := a.Identity.CreateKey(ctx, identity.RoleAdmin, "", "first start")
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "\nFirst start: created an admin API key. It is shown only this once:\n\n    %s\n\n"+
		"Use it as \"Authorization: Bearer <key>\". More: payper admin create-key.\n\n", secret)
	return nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var db string
	f := newFlags("migrate", getenv, stderr)
	f.str(&db, "db", "PAYPER_DATABASE_URL", store.DefaultURL, "database: a SQLite file path, or a postgres:// URL")
	if err := f.parse(args); err != nil {
		return err
	}
	s, err := store.Open(ctx, db)
	if err != nil {
		return err
	}
	defer s.Close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "database is up to date")
		return nil
	}
	fmt.Fprintf(stdout, "applied migrations %v\n", applied)
	return nil
}

func cmdVersion(stdout io.Writer) error {
	_, err := fmt.Fprintf(stdout, "payper %s\n", app.Version)
	return err
}
