// Package demo builds a sandbox world inside a real payper server — a brand,
// creators with connected sandbox accounts, a funded campaign — and runs
// simulated engagement through the real engagement pipeline (the job queue,
// the connector over HTTP, the ledger) on a clock it moves. "payper demo"
// prints what happened; "payper bench pipeline" reuses the same Env.
package demo

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
)

// Env is a payper server on 127.0.0.1 over one database, its job queue
// started, its clock a clock.Fake the caller moves.
type Env struct {
	App   *app.App
	Clock *clock.Fake
	URL   string
	// AdminToken authenticates as the operator (PAYPER_ADMIN_TOKEN).
	AdminToken string
	srv        *http.Server
	ln         net.Listener
}

// Start opens the database dbURL (migrating it), serves the API and the
// sandbox on a free port and starts the job queue without its periodic
// tick: call Tick. log may be nil (discard).
func Start(ctx context.Context, dbURL string, start time.Time, cfg engage.Config, log *slog.Logger) (*Env, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: listen: %w", err)
	}
	clk := clock.NewFake(start)
	admin := id.Secret(24)
	// Secrets are sealed with the database's own key file (as serve uses),
	// or, on PostgreSQL, a key derived from the database URL, so that every
	// Env on one database (restarts, several servers) shares it. Demo and
	// tests only: a real server takes its key from configuration.
	var key []byte
	if f := secret.KeyFileFor(dbURL); f != "" {
		key, err = secret.LoadOrCreateKeyFile(f)
	} else {
		sum := sha256.Sum256([]byte("payper demo key|" + dbURL))
		key = sum[:]
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("demo: secret key: %w", err)
	}
	a, err := app.Open(ctx, app.Config{DatabaseURL: dbURL, AdminToken: admin, Ledger: ledger.DefaultConfig, Clock: clk,
		Log: log, Sandbox: true, PublicURL: "http://" + ln.Addr().String(), Engage: cfg, NoPeriodicJobs: true, SecretKey: key})
	if err != nil {
		ln.Close()
		return nil, err
	}
	e := &Env{App: a, Clock: clk, URL: "http://" + ln.Addr().String(), ln: ln, AdminToken: admin,
		srv: &http.Server{Handler: a.Handler, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = e.srv.Serve(ln) }()
	if err := a.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close stops the queue and the server and closes the database.
func (e *Env) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.App.Jobs.Stop(ctx)
	// Requests in flight get a second; a connection opened but never used
	// (which Shutdown would wait 5 s for) is then cut.
	sctx, scancel := context.WithTimeout(ctx, time.Second)
	defer scancel()
	if serr := e.srv.Shutdown(sctx); serr != nil {
		err = errors.Join(err, e.srv.Close())
	}
	return errors.Join(err, e.App.Close())
}

// Tick runs one engagement tick through the job queue and waits for it.
func (e *Env) Tick(ctx context.Context) error { return e.App.Jobs.RunOnce(ctx) }

// Connect connects the creator p's sandbox account handle through the real
// OAuth flow: payper's authorize URL, the sandbox's consent redirect, and
// payper's callback.
func (e *Env) Connect(ctx context.Context, p identity.Principal, handle string) (creator.Account, error) {
	conn, err := e.App.Creators.StartConnect(ctx, p, creator.ConnectRequest{Platform: platform.Sandbox, Handle: handle})
	if err != nil {
		return creator.Account{}, err
	}
	browser := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, conn.AuthorizeURL, nil)
	if err != nil {
		return creator.Account{}, fmt.Errorf("demo: authorize: %w", err)
	}
	resp, err := browser.Do(req)
	if err != nil {
		return creator.Account{}, fmt.Errorf("demo: authorize: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return creator.Account{}, fmt.Errorf("demo: the sandbox's consent page answered %d, not a redirect", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return creator.Account{}, fmt.Errorf("demo: consent redirect: %w", err)
	}
	return e.App.Creators.Callback(ctx, loc.Query())
}

// DB is the environment's database.
func (e *Env) DB() *store.DB { return e.App.DB }
