// Package creatortest runs the creator service against a real sandbox
// social network served over HTTP, for tests of the creator package and of
// the packages built on it (marketplace, engagement, API).
package creatortest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
)

// CallbackURL is the redirect URI the Env's creator service uses.
const CallbackURL = "https://payper.example" + creator.CallbackPath

// Env is a creator service whose sandbox network (sharing the service's
// database, as in a payper server) is served by an httptest server.
type Env struct {
	Ctx      context.Context
	DB       *store.DB
	Clock    *clock.Fake
	World    *sandbox.World
	Server   *httptest.Server
	Client   *sandbox.Client
	Registry *platform.Registry
	Identity *identity.Service
	Creators *creator.Service
	// Browser follows no redirects, so the consent's Location can be read.
	Browser *http.Client
}

// New starts a sandbox over db telling time by clk, and a creator service
// connecting to it.
func New(t testing.TB, db *store.DB, clk *clock.Fake) *Env {
	t.Helper()
	w := sandbox.NewWorld(db, clk, sandbox.Options{})
	mux := http.NewServeMux()
	mux.Handle(sandbox.Prefix+"/", sandbox.NewHandler(w, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cl := sandbox.NewClient(srv.URL+sandbox.Prefix, "payper-test", srv.Client(), clk)
	reg := platform.NewRegistry(cl)
	ident, err := identity.New(db, clk, "")
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Ctx: context.Background(), DB: db, Clock: clk, World: w, Server: srv, Client: cl, Registry: reg, Identity: ident,
		Creators: creator.New(db, clk, reg, CallbackURL),
		Browser:  &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Creator creates a creator and returns its principal.
func (e *Env) Creator(t testing.TB, name, country string) identity.Principal {
	t.Helper()
	c, _, err := e.Identity.CreateCreator(e.Ctx, name, country)
	if err != nil {
		t.Fatalf("create creator %s: %v", name, err)
	}
	return identity.Principal{Role: identity.RoleCreator, SubjectID: c.ID}
}

// SandboxAccount creates a sandbox account.
func (e *Env) SandboxAccount(t testing.TB, handle string, followers int64) sandbox.Account {
	t.Helper()
	a, err := e.World.CreateAccount(e.Ctx, handle, followers)
	if err != nil {
		t.Fatalf("create sandbox account @%s: %v", handle, err)
	}
	return a
}

// Consent starts connecting handle for p and follows the consent URL (with
// extra query parameters, e.g. deny=1), returning the query the sandbox
// redirected to the callback with.
func (e *Env) Consent(t testing.TB, p identity.Principal, handle string, extra url.Values) url.Values {
	t.Helper()
	c, err := e.Creators.StartConnect(e.Ctx, p, creator.ConnectRequest{Platform: platform.Sandbox, Handle: handle})
	if err != nil {
		t.Fatalf("start connect @%s: %v", handle, err)
	}
	u := c.AuthorizeURL
	if len(extra) > 0 {
		u += "&" + extra.Encode()
	}
	return e.Follow(t, u)
}

// Follow requests authURL as the creator's browser would and returns the
// query of the redirect to the callback.
func (e *Env) Follow(t testing.TB, authURL string) url.Values {
	t.Helper()
	resp, err := e.Browser.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("consent answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != CallbackURL {
		t.Fatalf("consent redirected to %s, want %s", got, CallbackURL)
	}
	return loc.Query()
}

// Connect runs the whole connect flow of the sandbox account handle for p.
func (e *Env) Connect(t testing.TB, p identity.Principal, handle string) creator.Account {
	t.Helper()
	a, err := e.Creators.Callback(e.Ctx, e.Consent(t, p, handle, nil))
	if err != nil {
		t.Fatalf("connect @%s: %v", handle, err)
	}
	return a
}
