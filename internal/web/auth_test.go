package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web"
	"github.com/payper/payper/internal/web/webtest"
)

// coreEnv is the whole app behind an httptest server, on a fake clock.
type coreEnv struct {
	a   *app.App
	srv *httptest.Server
	clk *clock.Fake
	ctx context.Context
}

func newCoreEnv(t *testing.T, dbURL string) *coreEnv {
	t.Helper()
	var (
		mu sync.RWMutex
		h  http.Handler
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		defer mu.RUnlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	cfg := app.Config{DatabaseURL: dbURL, NoPeriodicJobs: true, PublicURL: srv.URL, Clock: clk,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PasswordParams: webtest.CheapPasswordParams}
	a, err := app.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	mu.Lock()
	h = a.Handler
	mu.Unlock()
	return &coreEnv{a: a, srv: srv, clk: clk, ctx: context.Background()}
}

// client is one browser: its own cookies, redirects not followed.
type client struct {
	t   *testing.T
	e   *coreEnv
	c   *http.Client
	hdr http.Header // sent with every request
}

func (e *coreEnv) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, e: e, hdr: http.Header{}, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.e.srv.URL+path, nil)
	return c.do(req)
}

// post sends form to path; hdr are extra header name/value pairs.
func (c *client) post(path string, form url.Values, hdr ...string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

// session returns the client's session cookie value ("" for none).
func (c *client) session() string {
	u, _ := url.Parse(c.e.srv.URL)
	for _, k := range c.c.Jar.Cookies(u) {
		if k.Name == account.CookieName {
			return k.Value
		}
	}
	return ""
}

func wantStatus(t *testing.T, res *http.Response, body string, status int) {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("%s %s = %d; want %d\n%s", res.Request.Method, res.Request.URL.Path, res.StatusCode, status, body)
	}
}

func wantRedirect(t *testing.T, res *http.Response, body, to string) {
	t.Helper()
	wantStatus(t, res, body, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != to {
		t.Fatalf("%s %s redirects to %q; want %q", res.Request.Method, res.Request.URL.Path, loc, to)
	}
}

func wantContains(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("page lacks %q:\n%s", p, body)
		}
	}
}

const pw = "correct horse battery"

// signupBrand signs a brand up through the form; the client is then signed in.
func (c *client) signupBrand(name, email string) {
	c.t.Helper()
	res, body := c.post("/signup/brand", url.Values{"name": {name}, "email": {email}, "password": {pw}})
	wantRedirect(c.t, res, body, "/")
}

func (c *client) signupCreator(name, email string) {
	c.t.Helper()
	res, body := c.post("/signup/creator", url.Values{"name": {name}, "email": {email}, "password": {pw}, "country": {"DE"}})
	wantRedirect(c.t, res, body, "/")
}

func (c *client) signin(email, password string) (*http.Response, string) {
	c.t.Helper()
	return c.post("/signin", url.Values{"email": {email}, "password": {password}})
}

// mailLink returns the path of the newest link of kind ("verify", "reset",
// "invite") mailed to addr, read from the outbox.
func (e *coreEnv) mailLink(t *testing.T, kind, to string) string {
	t.Helper()
	ms, err := e.a.Outbox.List(e.ctx, identity.Principal{Role: identity.RoleAdmin}, mail.StatusPending, "", 200)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(regexp.QuoteMeta(e.srv.URL) + `(/` + kind + `/[0-9a-v]+)`)
	for _, m := range ms { // newest first
		if m.Kind == kind && m.To == to {
			if p := re.FindStringSubmatch(m.Text); p != nil {
				return p[1]
			}
			t.Fatalf("the %s mail to %s has no link to this server: %q", kind, to, m.Text)
		}
	}
	t.Fatalf("no %s mail to %s in the outbox", kind, to)
	return ""
}

func (e *coreEnv) user(t *testing.T, email string) account.User {
	t.Helper()
	s, err := e.a.Accounts.Login(e.ctx, account.Login{Email: email, Password: pw})
	if err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	return s.User
}

// TestAccountPages runs the sign-up, sign-in and settings scenarios below on
// one app per store (opening the app, with its migrations, is most of a
// scenario's cost); each scenario uses addresses of its own.
func TestAccountPages(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		e := newCoreEnv(t, dbURL)
		t.Run("SignupVerifySignin", func(t *testing.T) { testSignupVerifySignin(t, e) })
		t.Run("SignupFieldErrors", func(t *testing.T) { testSignupFieldErrors(t, e) })
		t.Run("SigninWrongPasswordAndThrottle", func(t *testing.T) { testSigninWrongPasswordAndThrottle(t, e) })
		t.Run("SessionFixation", func(t *testing.T) { testSessionFixation(t, e) })
		t.Run("SignoutEverywhere", func(t *testing.T) { testSignoutEverywhere(t, e) })
		t.Run("CrossOriginPostRefused", func(t *testing.T) { testCrossOriginPostRefused(t, e) })
		t.Run("BrandNameEscaped", func(t *testing.T) { testBrandNameEscaped(t, e) })
		t.Run("TeamMemberAndOtherBrand", func(t *testing.T) { testTeamMemberAndOtherBrand(t, e) })
		t.Run("PasswordReset", func(t *testing.T) { testPasswordReset(t, e) })
		t.Run("ChangePasswordPage", func(t *testing.T) { testChangePasswordPage(t, e) })
		t.Run("CreatorOperatorAndResend", func(t *testing.T) { testCreatorOperatorAndResend(t, e) })
		t.Run("SecurityHeadersAndNotFound", func(t *testing.T) { testSecurityHeadersAndNotFound(t, e) })
		t.Run("SecureCookieBehindProxy", func(t *testing.T) { testSecureCookieBehindProxy(t, e) })
		t.Run("PendingBrand", func(t *testing.T) { testPendingBrand(t, e) })
	})
}

// A brand signs up, is signed in, confirms its address through the mailed
// link (whose GET only shows a button: a mail scanner fetching it uses
// nothing), signs out and in again.
func testSignupVerifySignin(t *testing.T, e *coreEnv) {
	c := e.client(t)
	res, body := c.get("/")
	wantRedirect(t, res, body, "/signin")
	res, body = c.get("/signup")
	wantStatus(t, res, body, 200)
	wantContains(t, body, `href="/signup/brand"`, `href="/signup/creator"`)
	res, body = c.get("/signup/brand")
	wantStatus(t, res, body, 200)
	wantContains(t, body, `name="name"`, `name="email"`, `name="password"`, `<label for="f-email">`)

	c.signupBrand("Acme Coffee", "ann@signupverifysignin.example")
	if c.session() == "" {
		t.Fatal("no session cookie after sign-up")
	}
	res, body = c.get("/")
	wantRedirect(t, res, body, "/campaigns")

	link := e.mailLink(t, "verify", "ann@signupverifysignin.example")
	for range 2 { // a scanner, then the person
		res, body = c.get(link)
		wantStatus(t, res, body, 200)
		wantContains(t, body, `action="`+link+`"`, "Confirm my email")
	}
	if e.user(t, "ann@signupverifysignin.example").EmailVerified {
		t.Fatal("a GET of the verification link verified the address")
	}
	res, body = c.get("/settings")
	wantStatus(t, res, body, 200)
	wantContains(t, body, "not confirmed", "Acme Coffee")
	res, body = c.post(link, nil)
	wantRedirect(t, res, body, "/")
	if !e.user(t, "ann@signupverifysignin.example").EmailVerified {
		t.Fatal("the verification POST did not verify the address")
	}
	res, body = c.post(link, nil)
	wantStatus(t, res, body, 400)
	wantContains(t, body, "invalid, has expired or was used")
	res, body = c.get(link) // a used link says so at once
	wantStatus(t, res, body, 400)
	wantContains(t, body, "invalid, has expired or was used")

	res, body = c.post("/signout", nil)
	wantRedirect(t, res, body, "/signin")
	res, body = c.get("/settings")
	wantRedirect(t, res, body, "/signin?next=%2Fsettings")
	res, body = c.get("/signin?next=%2Fsettings")
	wantContains(t, body, "You are signed out.", `name="next" value="/settings"`)

	res, body = c.post("/signin", url.Values{"email": {"ann@signupverifysignin.example"}, "password": {pw}, "next": {"/settings"}})
	wantRedirect(t, res, body, "/settings")
	res, body = c.get("/settings")
	wantStatus(t, res, body, 200)
	wantContains(t, body, "ann@signupverifysignin.example", ">confirmed<")
	// An open redirect is refused: next must be a path here.
	c.post("/signout", nil)
	res, body = c.post("/signin", url.Values{"email": {"ann@signupverifysignin.example"}, "password": {pw}, "next": {"//evil.example/x"}})
	wantRedirect(t, res, body, "/")
}

// Every bad field of a sign-up is shown beside its input, and nothing is
// saved; a creator's start page says its pages come later.
func testSignupFieldErrors(t *testing.T, e *coreEnv) {
	mails := func() int {
		ms, err := e.a.Outbox.List(e.ctx, identity.Principal{Role: identity.RoleAdmin}, "", "", 200)
		if err != nil {
			t.Fatal(err)
		}
		return len(ms)
	}
	before := mails()
	c := e.client(t)
	res, body := c.post("/signup/creator", url.Values{"name": {" "}, "email": {"not-an-email"}, "password": {"short"}, "country": {"Germany"}})
	wantStatus(t, res, body, 400)
	for _, f := range []string{"name", "email", "password", "country"} {
		wantContains(t, body, `id="f-`+f+`-error"`)
	}
	wantContains(t, body, `value="not-an-email"`, `aria-invalid="true"`)
	if strings.Contains(body, `value="short"`) {
		t.Fatal("the password was echoed back into the form")
	}
	if c.session() != "" {
		t.Fatal("a refused sign-up signed in")
	}
	if n := mails() - before; n != 0 {
		t.Fatalf("a refused sign-up wrote %d mails", n)
	}
	c.signupCreator("Cleo", "cleo@signupfielderrors.example.com")
	res, body = c.get("/")
	wantStatus(t, res, body, 200)
	wantContains(t, body, "later release", `href="/settings/keys"`)
	// The same address again: refused beside the email field.
	d := e.client(t)
	res, body = d.post("/signup/brand", url.Values{"name": {"Other"}, "email": {"CLEO@signupfielderrors.example.com"}, "password": {pw}})
	wantStatus(t, res, body, 400)
	wantContains(t, body, `id="f-email-error"`, "already exists")
}

// A wrong password is refused beside the password field; after the
// account's limit of failures even the right one answers 429 with
// Retry-After and "try again in 1 minute", until the lock ends.
func testSigninWrongPasswordAndThrottle(t *testing.T, e *coreEnv) {
	e.client(t).signupCreator("Tess", "tess@signinwrongpasswordandthrottle.example.com")
	c := e.client(t)
	for i := range account.DefaultThrottle.AccountLimit {
		res, body := c.signin("tess@signinwrongpasswordandthrottle.example.com", "wrong password "+string(rune('a'+i)))
		wantStatus(t, res, body, http.StatusUnauthorized)
		wantContains(t, body, `id="f-password-error"`, "Wrong email or password.", `value="tess@signinwrongpasswordandthrottle.example.com"`)
	}
	res, body := c.signin("tess@signinwrongpasswordandthrottle.example.com", pw)
	wantStatus(t, res, body, http.StatusTooManyRequests)
	if ra := res.Header.Get("Retry-After"); ra != "60" {
		t.Fatalf("Retry-After = %q; want 60", ra)
	}
	wantContains(t, body, "Too many attempts. Try again in 1 minute.")
	if c.session() != "" {
		t.Fatal("a throttled sign-in set a session")
	}
	e.clk.Advance(time.Minute)
	res, body = c.signin("tess@signinwrongpasswordandthrottle.example.com", pw)
	wantRedirect(t, res, body, "/")
}

// A session cookie planted before sign-in (or the session of an earlier
// sign-in) is useless after it: sign-in makes a new token and revokes the
// one the browser sent.
func testSessionFixation(t *testing.T, e *coreEnv) {
	e.client(t).signupCreator("Vic", "vic@sessionfixation.example.com")
	// The attacker signs in and plants the session token in the victim's browser.
	attacker := e.client(t)
	res, body := attacker.signin("vic@sessionfixation.example.com", pw)
	wantRedirect(t, res, body, "/")
	planted := attacker.session()
	victim := e.client(t)
	u, _ := url.Parse(e.srv.URL)
	victim.c.Jar.SetCookies(u, []*http.Cookie{{Name: account.CookieName, Value: planted, Path: "/"}})
	res, body = victim.signin("vic@sessionfixation.example.com", pw)
	wantRedirect(t, res, body, "/")
	if victim.session() == planted || victim.session() == "" {
		t.Fatal("sign-in kept the planted session token")
	}
	res, body = attacker.get("/settings")
	wantRedirect(t, res, body, "/signin?next=%2Fsettings")
	res, body = victim.get("/settings")
	wantStatus(t, res, body, 200)
	// The cookie's attributes.
	res, _ = e.client(t).signin("vic@sessionfixation.example.com", pw)
	sc := res.Header.Get("Set-Cookie")
	for _, a := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, a) {
			t.Fatalf("session cookie %q lacks %s", sc, a)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Fatalf("session cookie %q is Secure over plain HTTP without a trusted proxy", sc)
	}
}

// Signing out everywhere ends the user's other sessions too.
func testSignoutEverywhere(t *testing.T, e *coreEnv) {
	one := e.client(t)
	one.signupBrand("Acme", "ann@signouteverywhere.example")
	two := e.client(t)
	res, body := two.signin("ann@signouteverywhere.example", pw)
	wantRedirect(t, res, body, "/")
	res, body = one.post("/signout/everywhere", nil)
	wantRedirect(t, res, body, "/signin")
	for _, c := range []*client{one, two} {
		res, body = c.get("/settings")
		wantRedirect(t, res, body, "/signin?next=%2Fsettings")
	}
}

// A cross-origin form post is refused with 403 and changes nothing, whether
// the browser says so with Sec-Fetch-Site or only with Origin.
func testCrossOriginPostRefused(t *testing.T, e *coreEnv) {
	c := e.client(t)
	c.signupBrand("Acme", "ann@crossoriginpostrefused.example")
	u := e.user(t, "ann@crossoriginpostrefused.example")
	for _, hdr := range [][]string{{"Origin", "https://evil.example"}, {"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"}} {
		res, body := c.post("/settings/keys", url.Values{"label": {"stolen"}}, hdr...)
		wantStatus(t, res, body, http.StatusForbidden)
		wantContains(t, body, "another site")
		res, body = c.post("/signout/everywhere", nil, hdr...)
		wantStatus(t, res, body, http.StatusForbidden)
		res, body = c.post("/settings/team/invite", url.Values{"email": {"eve@evil.example"}, "role": {"owner"}}, hdr...)
		wantStatus(t, res, body, http.StatusForbidden)
	}
	keys, err := e.a.Identity.Keys(e.ctx, u.Principal(), "", 10)
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys after refused posts: %v, %v; want none", keys, err)
	}
	invs, err := e.a.Accounts.Invitations(e.ctx, u, u.BrandID)
	if err != nil || len(invs) != 0 {
		t.Fatalf("invitations after refused posts: %v, %v; want none", invs, err)
	}
	res, body := c.get("/settings")
	wantStatus(t, res, body, 200) // still signed in
	// The same form from this site works.
	res, body = c.post("/settings/keys", url.Values{"label": {"mine"}}, "Origin", e.srv.URL, "Sec-Fetch-Site", "same-origin")
	wantStatus(t, res, body, http.StatusCreated)
}

// A brand named <script>alert(1)</script> is shown as text.
func testBrandNameEscaped(t *testing.T, e *coreEnv) {
	c := e.client(t)
	c.signupBrand("<script>alert(1)</script>", "x@brandnameescaped.example")
	res, body := c.get("/settings")
	wantStatus(t, res, body, 200)
	wantContains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	if strings.Contains(body, "<script>alert") {
		t.Fatal("the brand's name reached the page unescaped")
	}
}

// The owner invites a member through the team page; the member accepts
// through the mailed link, sees the team read-only, and gets 403 on every
// key-management page and action. Another brand's key or invitation
// answers 404 and stays as it was.
func testTeamMemberAndOtherBrand(t *testing.T, e *coreEnv) {
	owner := e.client(t)
	owner.signupBrand("Acme", "ann@teammemberandotherbrand.example")
	res, body := owner.post("/settings/keys", url.Values{"label": {"reporting"}})
	wantStatus(t, res, body, http.StatusCreated)
	wantContains(t, body, "shown only this once", "pp_b_")
	ou := e.user(t, "ann@teammemberandotherbrand.example")
	keys, _ := e.a.Identity.Keys(e.ctx, ou.Principal(), "", 10)
	if len(keys) != 1 || !strings.Contains(body, keys[0].ID) {
		t.Fatalf("keys %+v; want one, listed on the page", keys)
	}
	keyID := keys[0].ID
	res, body = owner.get("/settings/keys")
	if strings.Contains(body, "pp_b_") {
		t.Fatal("the key's secret is shown again")
	}

	res, body = owner.post("/settings/team/invite", url.Values{"email": {"bob@teammemberandotherbrand.example"}, "role": {"member"}})
	wantRedirect(t, res, body, "/settings/team")
	res, body = owner.get("/settings/team")
	wantContains(t, body, "bob@teammemberandotherbrand.example", "We mailed an invitation")
	link := e.mailLink(t, "invite", "bob@teammemberandotherbrand.example")

	member := e.client(t)
	res, body = member.get(link)
	wantStatus(t, res, body, 200)
	wantContains(t, body, `action="`+link+`"`, `name="password"`, "<strong>Acme</strong>", "as a member", "bob@teammemberandotherbrand.example")
	res, body = member.get(link) // a second GET (a mail scanner's) used nothing
	wantStatus(t, res, body, 200)
	res, body = member.get(link + "x")
	wantStatus(t, res, body, 400)
	wantContains(t, body, "invalid, has expired or was used")
	res, body = member.post(link, url.Values{"password": {"short"}})
	wantStatus(t, res, body, 400)
	wantContains(t, body, `id="f-password-error"`)
	res, body = member.post(link, url.Values{"password": {pw}})
	wantRedirect(t, res, body, "/")

	res, body = member.get("/settings/team")
	wantStatus(t, res, body, 200)
	wantContains(t, body, "ann@teammemberandotherbrand.example", "bob@teammemberandotherbrand.example", "Only an owner")
	if strings.Contains(body, `action="/settings/team/invite"`) {
		t.Fatal("a member sees the invite form")
	}
	res, body = member.post("/settings/team/invite", url.Values{"email": {"eve@teammemberandotherbrand.example"}, "role": {"owner"}})
	wantStatus(t, res, body, http.StatusForbidden)
	res, body = member.get("/settings/keys")
	wantStatus(t, res, body, http.StatusForbidden)
	res, body = member.post("/settings/keys", url.Values{"label": {"mine"}})
	wantStatus(t, res, body, http.StatusForbidden)
	res, body = member.post("/settings/keys/"+keyID+"/revoke", nil)
	wantStatus(t, res, body, http.StatusForbidden)

	// Another brand.
	other := e.client(t)
	other.signupBrand("Globex", "gus@gteammemberandotherbrand.example")
	res, body = other.post("/settings/team/invite", url.Values{"email": {"zed@teammemberandotherbrand.example"}, "role": {"member"}})
	wantRedirect(t, res, body, "/settings/team")
	gu := e.user(t, "gus@gteammemberandotherbrand.example")
	invs, _ := e.a.Accounts.Invitations(e.ctx, gu, gu.BrandID)
	res, body = other.post("/settings/keys/"+keyID+"/revoke", nil)
	wantStatus(t, res, body, http.StatusNotFound)
	res, body = owner.post("/settings/team/invitations/"+invs[0].ID+"/revoke", nil)
	wantStatus(t, res, body, http.StatusNotFound)
	keys, _ = e.a.Identity.Keys(e.ctx, ou.Principal(), "", 10)
	if !keys[0].Active {
		t.Fatal("another brand revoked the key")
	}
	if invs, _ = e.a.Accounts.Invitations(e.ctx, gu, gu.BrandID); len(invs) != 1 {
		t.Fatal("another brand revoked the invitation")
	}
	// Its owner can.
	res, body = other.post("/settings/team/invitations/"+invs[0].ID+"/revoke", nil)
	wantRedirect(t, res, body, "/settings/team")
	res, body = owner.post("/settings/keys/"+keyID+"/revoke", nil)
	wantRedirect(t, res, body, "/settings/keys")
	keys, _ = e.a.Identity.Keys(e.ctx, ou.Principal(), "", 10)
	if keys[0].Active {
		t.Fatal("the owner's revoke did not revoke the key")
	}
}

// A password reset: the request answers the same for unknown addresses; the
// mailed link's GET shows the form; a bad password is shown beside the
// field; the reset signs in and ends other sessions.
func testPasswordReset(t *testing.T, e *coreEnv) {
	old := e.client(t)
	old.signupCreator("Rae", "rae@passwordreset.example.com")
	c := e.client(t)
	res, body := c.post("/reset", url.Values{"email": {"nobody@passwordreset.example.com"}})
	wantRedirect(t, res, body, "/signin")
	res, body = c.post("/reset", url.Values{"email": {"rae@passwordreset.example.com"}})
	wantRedirect(t, res, body, "/signin")
	res, body = c.post("/reset", url.Values{"email": {"nope"}})
	wantStatus(t, res, body, 400)
	wantContains(t, body, `id="f-email-error"`)
	link := e.mailLink(t, "reset", "rae@passwordreset.example.com")
	res, body = c.get(link)
	wantStatus(t, res, body, 200)
	wantContains(t, body, `action="`+link+`"`)
	res, body = c.post(link, url.Values{"password": {"password123"}})
	wantStatus(t, res, body, 400)
	wantContains(t, body, `id="f-password-error"`)
	res, body = c.post(link, url.Values{"password": {"a whole new passphrase"}})
	wantRedirect(t, res, body, "/")
	res, body = c.get(link)
	wantStatus(t, res, body, 400)
	wantContains(t, body, "invalid, has expired or was used")
	res, body = old.get("/settings")
	wantRedirect(t, res, body, "/signin?next=%2Fsettings")
	res, body = c.signin("rae@passwordreset.example.com", pw)
	wantStatus(t, res, body, http.StatusUnauthorized)
	res, body = c.signin("rae@passwordreset.example.com", "a whole new passphrase")
	wantRedirect(t, res, body, "/")
}

// Changing the password: a wrong current one is shown beside its field,
// and too many answer 429 with Retry-After.
func testChangePasswordPage(t *testing.T, e *coreEnv) {
	c := e.client(t)
	c.signupCreator("Cy", "cy@changepasswordpage.example.com")
	for i := range account.DefaultThrottle.AccountLimit {
		res, body := c.post("/settings/password", url.Values{"current_password": {"not it " + string(rune('a'+i))}, "password": {"a whole new passphrase"}})
		wantStatus(t, res, body, 400)
		wantContains(t, body, `id="f-current_password-error"`)
	}
	res, body := c.post("/settings/password", url.Values{"current_password": {pw}, "password": {"a whole new passphrase"}})
	wantStatus(t, res, body, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") != "60" {
		t.Fatalf("Retry-After = %q; want 60", res.Header.Get("Retry-After"))
	}
	wantContains(t, body, "Try again in 1 minute")
	e.clk.Advance(time.Minute)
	res, body = c.post("/settings/password", url.Values{"current_password": {pw}, "password": {"a whole new passphrase"}})
	wantRedirect(t, res, body, "/settings")
}

// A brand held for the operator's approval sees a page saying so, at
// sign-up and at sign-in.
func testPendingBrand(t *testing.T, e *coreEnv) {
	admin := identity.Principal{Role: identity.RoleAdmin}
	if err := e.a.Accounts.SetRequireBrandApproval(e.ctx, admin, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.a.Accounts.SetRequireBrandApproval(e.ctx, admin, false) })
	c := e.client(t)
	res, body := c.post("/signup/brand", url.Values{"name": {"Wait Co"}, "email": {"w@wpendingbrand.example"}, "password": {pw}})
	wantStatus(t, res, body, http.StatusForbidden)
	wantContains(t, body, "waiting for the operator")
	res, body = c.signin("w@wpendingbrand.example", pw)
	wantStatus(t, res, body, http.StatusForbidden)
	wantContains(t, body, "waiting for the operator")
	if c.session() != "" {
		t.Fatal("a pending brand got a session")
	}
}

// Every page carries the CSP and security headers; an unknown page is an
// HTML 404; an unknown /v1/ path is still the API's JSON 404.
func testSecurityHeadersAndNotFound(t *testing.T, e *coreEnv) {
	anon := e.client(t)
	brand := e.client(t)
	brand.signupBrand("Acme", "ann@securityheadersandnotfound.example")
	creator := e.client(t)
	creator.signupCreator("Cleo", "cleo@securityheadersandnotfound.example.com")
	pages := map[*client][]string{
		anon:    {"/", "/signin", "/signup", "/signup/brand", "/signup/creator", "/reset", "/reset/abc", "/verify/abc", "/invite/abc", "/no/such/page", "/static/app.css"},
		brand:   {"/", "/settings", "/settings/team", "/settings/keys", "/verify"},
		creator: {"/", "/settings", "/settings/keys", "/settings/team"},
	}
	for c, paths := range pages {
		for _, p := range paths {
			res, body := c.get(p)
			if got := res.Header.Get("Content-Security-Policy"); got != web.CSP {
				t.Fatalf("GET %s: CSP %q; want %q", p, got, web.CSP)
			}
			for h, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
				if res.Header.Get(h) != v {
					t.Fatalf("GET %s: %s = %q; want %q", p, h, res.Header.Get(h), v)
				}
			}
			if res.StatusCode >= 500 {
				t.Fatalf("GET %s = %d\n%s", p, res.StatusCode, body)
			}
		}
	}
	res, body := anon.get("/no/such/page")
	wantStatus(t, res, body, 404)
	wantContains(t, body, "<!doctype html>", "Page not found")
	res, body = creator.get("/settings/team") // brands only
	wantStatus(t, res, body, 403)
	res, body = anon.get("/v1/no/such")
	wantStatus(t, res, body, 404)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || !strings.Contains(body, `"not_found"`) {
		t.Fatalf("/v1/ 404 is not the API's JSON: %s %s", res.Header.Get("Content-Type"), body)
	}
	res, body = anon.get("/healthz")
	wantStatus(t, res, body, 200)
}

// Behind a trusted proxy (serve --trust-proxy) the session cookie is
// Secure when the proxy says the browser used HTTPS; without the flag the
// same header is ignored (a client could send it itself).
func testSecureCookieBehindProxy(t *testing.T, e *coreEnv) {
	a := e.a
	proxied := httptest.NewServer(web.New(web.Deps{Accounts: a.Accounts, Identity: a.Identity, Campaigns: a.Campaigns, Creators: a.Creators,
		Market: a.Market, Engage: a.Engage, Links: a.Links, Orders: a.Orders, Attrib: a.Attrib, Report: a.Report, Payouts: a.Payouts,
		Ledger: a.Ledger, Outbox: a.Outbox, Clock: a.Clock, Log: a.Log, TrustProxy: true}))
	t.Cleanup(proxied.Close)
	behind := *e
	behind.srv = proxied
	email := "p@securecookie.example"
	e.client(t).signupCreator("P", email)
	for _, trust := range []bool{true, false} {
		env := e
		if trust {
			env = &behind
		}
		for _, hdr := range [][]string{{"X-Forwarded-Proto", "https"}, {"Forwarded", `for=192.0.2.1;proto=https`}, nil} {
			c := env.client(t)
			res, body := c.post("/signin", url.Values{"email": {email}, "password": {pw}}, hdr...)
			wantRedirect(t, res, body, "/")
			secure := strings.Contains(res.Header.Get("Set-Cookie"), "Secure")
			if want := trust && hdr != nil; secure != want {
				t.Fatalf("trust proxy %v, header %v: Secure = %v; want %v (%s)", trust, hdr, secure, want, res.Header.Get("Set-Cookie"))
			}
		}
	}
}

// A creator manages its own keys; the operator's start page links to
// settings; a signed-in user without a confirmed address asks for a new
// link, which is mailed.
func testCreatorOperatorAndResend(t *testing.T, e *coreEnv) {
	c := e.client(t)
	c.signupCreator("Cleo", "cleo@creatoroperatorandresend.example.com")
	first := e.mailLink(t, "verify", "cleo@creatoroperatorandresend.example.com")
	res, body := c.get("/verify")
	wantStatus(t, res, body, 200)
	wantContains(t, body, `action="/verify"`)
	e.clk.Advance(time.Second)
	res, body = c.post("/verify", nil)
	wantRedirect(t, res, body, "/settings")
	if second := e.mailLink(t, "verify", "cleo@creatoroperatorandresend.example.com"); second == first {
		t.Fatal("no new verification link was mailed")
	}
	c.post("/verify", nil) // the third mail of the hour
	res, body = c.post("/verify", nil)
	wantRedirect(t, res, body, "/settings")
	res, body = c.get("/settings")
	wantContains(t, body, "several links in the last hour")
	res, body = c.post("/settings/keys", url.Values{"label": {"my script"}})
	wantStatus(t, res, body, http.StatusCreated)
	wantContains(t, body, "pp_c_", "my script")
	res, body = c.get("/settings/team") // brands only
	wantStatus(t, res, body, http.StatusForbidden)

	if _, err := e.a.Accounts.CreateOperator(e.ctx, "ops@creatoroperatorandresend.example.com", pw); err != nil {
		t.Fatal(err)
	}
	op := e.client(t)
	res, body = op.signin("ops@creatoroperatorandresend.example.com", pw)
	wantRedirect(t, res, body, "/")
	res, body = op.get("/")
	wantStatus(t, res, body, 200)
	wantContains(t, body, "operator", "later release", `href="/settings/keys"`)
	res, body = op.get("/settings")
	wantStatus(t, res, body, 200)
	wantContains(t, body, "Operator")
}
