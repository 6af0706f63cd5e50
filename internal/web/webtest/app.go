package webtest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/mail"
)

// AdminToken is the operator token of the apps NewApp opens (the API's
// admin bearer key: sandbox driver, engagement tick, brand creation).
const AdminToken = "webtest-admin-token-0123456789"

// App is the real payper app (every service, the API, the web pages, the
// sandbox) served by an httptest server.
type App struct {
	*app.App
	// URL is the server's base URL, e.g. http://127.0.0.1:41234 (also the
	// app's PublicURL, so links in mail point at it).
	URL string
	// Clock is the app's clock: a fake starting at the real time now, which
	// a test may Advance (holding periods, date ranges).
	Clock *clock.Fake
}

// CheapPasswordParams are the argon2id costs of NewApp's apps (64 KiB, one
// pass): sign-ups and sign-ins in tests stay fast, above all under -race.
// `payper serve` uses account.DefaultParams (internal/app's tests check it).
var CheapPasswordParams = account.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Option changes the app's configuration before NewApp opens it.
type Option func(*app.Config)

// NewApp opens the real app on dbURL (a storetest URL) as `payper serve`
// would (its default fees), with the sandbox (simulated platform and store)
// on, the job queue started (no periodic tick: tick with POST
// /v1/admin/engagement/tick as AdminToken, or a.Jobs.RunOnce; live posts
// are read when a minute of the clock has passed) and a fake clock, behind
// an httptest server. Everything is closed when t ends.
func NewApp(t testing.TB, dbURL string, opts ...Option) *App {
	t.Helper()
	var h atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hp := h.Load()
		if hp == nil {
			http.Error(w, "the app is not open yet", http.StatusServiceUnavailable)
			return
		}
		(*hp).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	clk := clock.NewFake(time.Now())
	cfg := app.Config{DatabaseURL: dbURL, AdminToken: AdminToken, Clock: clk, Sandbox: true, PublicURL: srv.URL,
		NoPeriodicJobs: true, SecretKey: []byte("0123456789abcdef0123456789abcdef"),
		// serve's fees (20 %, 10 % on a brand's first campaign; a zero
		// Config would charge none), and live posts read every minute of
		// the fake clock.
		Ledger: ledger.DefaultConfig, Engage: engage.Config{PollInterval: time.Minute},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PasswordParams: CheapPasswordParams}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	a, err := app.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("webtest: open the app: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if err := a.Jobs.Start(ctx); err != nil {
		t.Fatalf("webtest: start the job queue: %v", err)
	}
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = a.Jobs.Stop(sctx)
	})
	handler := a.Handler
	h.Store(&handler)
	return &App{App: a, URL: srv.URL, Clock: clk}
}

// Password is the password of the users the helpers make.
const Password = "webtest correct horse battery"

// verifyLink finds a verification link in a mail's text.
var verifyLink = regexp.MustCompile(`https?://\S+/verify/\S+`)

// MailTo returns the newest outbox mail of the kind ("verify", "reset",
// "invite" …) sent to email; it fails t when there is none.
func (a *App) MailTo(t testing.TB, kind, email string) mail.Mail {
	t.Helper()
	all, err := a.Outbox.List(context.Background(), identity.Principal{Role: identity.RoleAdmin}, "", "", 200)
	if err != nil {
		t.Fatalf("webtest: read the outbox: %v", err)
	}
	for _, m := range all { // newest first
		if m.Kind == kind && strings.EqualFold(m.To, email) {
			return m
		}
	}
	t.Fatalf("webtest: no %q mail to %s in the outbox", kind, email)
	return mail.Mail{}
}

// VerifyLink returns the link of the newest verification mail to email, as
// the person would open it from their mailbox.
func (a *App) VerifyLink(t testing.TB, email string) string {
	t.Helper()
	m := a.MailTo(t, "verify", email)
	link := verifyLink.FindString(m.Text)
	if link == "" {
		t.Fatalf("webtest: no /verify/ link in the mail to %s: %q", email, m.Text)
	}
	return link
}

// NewBrand signs a brand up (its owner email, the password Password), verifies the owner's email with the link mailed to it,
// and returns the owner.
func (a *App) NewBrand(t testing.TB, brandName, email string) account.User {
	t.Helper()
	ctx := context.Background()
	su, err := a.Accounts.SignUpBrand(ctx, account.BrandSignup{BrandName: brandName, Email: email, Password: Password})
	if err != nil {
		t.Fatalf("webtest: sign up brand %q: %v", brandName, err)
	}
	link := a.VerifyLink(t, email)
	tok := link[strings.LastIndex(link, "/")+1:]
	u, err := a.Accounts.VerifyEmail(ctx, tok)
	if err != nil {
		t.Fatalf("webtest: verify %s: %v", email, err)
	}
	if !u.EmailVerified || u.ID != su.User.ID {
		t.Fatalf("webtest: verified user %+v, want %s verified", u, su.User.ID)
	}
	return u
}

// SignIn starts a session for email (password Password) through the
// accounts service and gives the browser its cookie, as a sign-in form
// would; the browser's next page is signed in. It also sets b.Base to the
// app's URL.
func (a *App) SignIn(t testing.TB, b *Browser, email string) {
	t.Helper()
	ns, err := a.Accounts.Login(context.Background(), account.Login{Email: email, Password: Password, Address: "127.0.0.1", UserAgent: "webtest"})
	if err != nil {
		t.Fatalf("webtest: sign in %s: %v", email, err)
	}
	b.Base = a.URL
	httpOnly, secure := true, false
	ctx, cancel := b.timeout()
	defer cancel()
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: account.CookieName, Value: ns.Token, URL: a.URL + "/",
		Path: "/", HTTPOnly: &httpOnly, Secure: &secure, SameSite: network.CookieSameSiteLax}); err != nil {
		t.Fatalf("webtest: set the session cookie: %v", err)
	}
}

// SignedInBrand makes a verified brand owner (NewBrand) and signs the
// browser in as it.
func (a *App) SignedInBrand(t testing.TB, b *Browser, brandName, email string) account.User {
	t.Helper()
	u := a.NewBrand(t, brandName, email)
	a.SignIn(t, b, email)
	return u
}
