package webtest

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/store/storetest"
)

func TestMain(m *testing.M) { Main(m) }

// goodPage is a small accessible page with a form, as the app's pages are:
// a language, a title, a main landmark, labelled fields.
const goodPage = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Sign in · payper</title></head>
<body><main><h1>Sign in</h1>
<form method="post" action="/signin">
<label for="email">Email</label> <input id="email" name="email" type="email" autocomplete="email">
<label for="password">Password</label> <input id="password" name="password" type="password">
<label for="country">Country</label> <select id="country" name="country"><option value="">—</option><option value="DE">Germany</option></select>
<button type="submit">Sign in</button>
</form></main></body></html>`

// badPage breaks two rules of impact critical: an image without alt text
// and a field without a label.
const badPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Bad</title></head>
<body><main><h1>Bad</h1><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form method="post" action="/x"><input name="price" type="text"><button type="submit">Save</button></form></main></body></html>`

func staticSite(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	page := func(body string, csp bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if csp {
				w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'")
			}
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("GET /signin", page(goodPage, true))
	mux.HandleFunc("POST /signin", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/welcome?email="+r.FormValue("email")+"&country="+r.FormValue("country"), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /welcome", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>Welcome</title></head><body><main><h1 id="hi">Hello %s from %s</h1></main></body></html>`,
			strings.ReplaceAll(r.FormValue("email"), "<", "&lt;"), r.FormValue("country"))
	})
	mux.HandleFunc("GET /bad", page(badPage, false))
	mux.HandleFunc("GET /alert", page(`<!doctype html><html lang="en"><head><title>A</title></head><body><main><h1>A</h1><script>alert("xss")</script></main></body></html>`, false))
	mux.HandleFunc("GET /inline", page(`<!doctype html><html lang="en"><head><title>I</title></head><body><main><h1>I</h1><script>document.title = "ran"</script></main></body></html>`, true))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func pngWidth(t *testing.T, file string) int {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: not a PNG: %v", file, err)
	}
	return cfg.Width
}

// A page is visited, filled, submitted (POST answered 303, then the GET),
// read, screenshotted at both widths and passes axe.
func TestFormScreenshotsAxe(t *testing.T) {
	srv := staticSite(t)
	dir := t.TempDir()
	t.Setenv("PAYPER_SCREENSHOTS", dir)
	b := Start(t)
	b.Base = srv.URL
	if st := b.Visit(t, "/signin"); st != 200 {
		t.Fatalf("GET /signin: %d", st)
	}
	if got := b.Text(t, "h1"); got != "Sign in" {
		t.Fatalf("h1 %q", got)
	}
	files := b.Shot(t, "webtest-signin")
	if len(files) != 2 || filepath.Base(files[0]) != "webtest-signin-390.png" || filepath.Base(files[1]) != "webtest-signin-1280.png" {
		t.Fatalf("files %v", files)
	}
	if w := pngWidth(t, files[0]); w != 390 {
		t.Errorf("phone screenshot is %d px wide, want 390", w)
	}
	if w := pngWidth(t, files[1]); w != 1280 {
		t.Errorf("laptop screenshot is %d px wide, want 1280", w)
	}
	if v := b.AxeCheck(t); len(v) != 0 {
		t.Errorf("axe on a clean page: %v", v)
	}
	b.Axe(t)

	b.Fill(t, "#email", "ann@example.com")
	b.Fill(t, "#email", "mia@example.com") // cleared, not appended
	b.Fill(t, "#country", "DE")
	if st := b.Submit(t, "button[type=submit]"); st != 200 {
		t.Fatalf("submit: %d", st)
	}
	if got := b.Text(t, "#hi"); got != "Hello mia@example.com from DE" {
		t.Fatalf("after submit: %q (at %s)", got, b.Path(t))
	}
	if !strings.HasPrefix(b.Path(t), "/welcome?") || b.Has(t, "form") || b.Count(t, "h1") != 1 {
		t.Fatalf("after submit at %s", b.Path(t))
	}
	if p := b.Problems(); len(p) != 0 {
		t.Fatalf("problems on clean pages: %v", p)
	}
}

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Helper()             {}

// Axe fails a page with an image without alt text and a field without a
// label, naming the rules and the elements: a check that cannot fail would
// prove nothing.
func TestAxeFailsSeriousViolations(t *testing.T) {
	srv := staticSite(t)
	b := Start(t)
	b.Base = srv.URL
	b.Visit(t, "/bad")
	ids := map[string]AxeViolation{}
	for _, v := range b.AxeCheck(t) {
		ids[v.ID] = v
	}
	for _, id := range []string{"image-alt", "label"} {
		v, ok := ids[id]
		if !ok || !v.Blocking() || len(v.Nodes) == 0 {
			t.Fatalf("axe: rule %s not reported as serious/critical with its element: %v", id, ids)
		}
	}
	rec := &recorder{TB: t}
	b.Axe(rec)
	all := strings.Join(rec.errors, "\n")
	if len(rec.errors) < 2 || !strings.Contains(all, "image-alt") || !strings.Contains(all, "label") || !strings.Contains(all, `<input name="price"`) {
		t.Fatalf("Axe reported %d errors:\n%s", len(rec.errors), all)
	}
}

// A dialog (injected script ran) and a script the page's CSP blocked are
// recorded as problems, which fail the test when it ends.
func TestDialogsAndCSPViolationsAreProblems(t *testing.T) {
	srv := staticSite(t)
	b := Start(t)
	b.Base = srv.URL
	b.Visit(t, "/alert")
	if d := b.Dialogs(); len(d) != 1 || d[0] != "xss" {
		t.Fatalf("dialogs %v", d)
	}
	b.Visit(t, "/inline")
	if got := eval[string](t, b, "document.title"); got != "I" {
		t.Fatalf("the inline script ran despite the CSP: title %q", got)
	}
	p := strings.Join(b.Problems(), "\n")
	if !strings.Contains(p, "dialog") || !strings.Contains(p, "Content Security Policy") {
		t.Fatalf("problems:\n%s", p)
	}
	b.ForgetProblems()
}

// NewApp serves the real app; NewBrand makes a verified brand owner from
// the mailed link; SignIn gives the browser a session cookie the accounts
// service knows.
func TestAppAndSignIn(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		a := NewApp(t, dbURL)
		resp, err := http.Get(a.URL + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /healthz: %v %v", resp, err)
		}
		resp.Body.Close()
		b := Start(t)
		u := a.SignedInBrand(t, b, "Acme", "owner@acme.example")
		if !u.EmailVerified || u.BrandID == "" || u.BrandRole != account.RoleOwner {
			t.Fatalf("brand owner %+v", u)
		}
		ctx, cancel := context.WithTimeout(b.ctx, Timeout)
		defer cancel()
		res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{a.URL + "/"}})
		if err != nil {
			t.Fatal(err)
		}
		var tok string
		for _, c := range res.Cookies {
			if c.Name == account.CookieName && c.HTTPOnly {
				tok = c.Value
			}
		}
		auth, err := a.Accounts.Lookup(context.Background(), tok)
		if err != nil || auth.User.ID != u.ID {
			t.Fatalf("the browser's session cookie %q: %+v, %v", tok, auth, err)
		}
		// The real handler knows the session: the profile page shows the email.
		if st := b.Visit(t, "/settings"); st != 200 || b.Path(t) != "/settings" || !strings.Contains(b.Text(t, "main"), "owner@acme.example") {
			t.Fatalf("signed in, /settings answered %d at %s: %q", st, b.Path(t), b.Text(t, "main"))
		}
		// Another test's browser context has no cookie: it is sent to sign in.
		other := Start(t)
		ctx2, cancel2 := context.WithTimeout(other.ctx, Timeout)
		defer cancel2()
		if res, err := chromedp.Call(ctx2, network.GetCookies, network.GetCookiesParams{URLs: []string{a.URL + "/"}}); err != nil || len(res.Cookies) != 0 {
			t.Fatalf("a fresh browser context has cookies: %+v %v", res, err)
		}
		other.Base = a.URL
		other.Visit(t, "/settings")
		if p := other.Path(t); !strings.HasPrefix(p, "/signin") {
			t.Fatalf("signed out, /settings led to %s", p)
		}
		other.Shot(t, "webtest-signin")
		other.Axe(t)
	})
}

// stopper is a testing.TB whose Skip and Fatal record the message and end
// the goroutine, as the real ones end the test.
type stopper struct {
	testing.TB
	skipped, failed string
}

func (s *stopper) Skip(args ...any)  { s.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (s *stopper) Fatal(args ...any) { s.failed = fmt.Sprint(args...); runtime.Goexit() }
func (s *stopper) Helper()           {}

// Without a browser a test is skipped with how to install one, or failed
// under CI=true; PAYPER_CHROMIUM names the browser before PATH does.
func TestNoBrowserSkipsOrFailsUnderCI(t *testing.T) {
	t.Setenv("PAYPER_CHROMIUM", "")
	t.Setenv("PATH", t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		s := &stopper{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); need(s) }()
		<-done
		msg := s.skipped + s.failed
		if (ci == "true") != (s.failed != "") || (ci == "") != (s.skipped != "") || !strings.Contains(msg, "apt-get install chromium") {
			t.Errorf("CI=%q: skipped %q, failed %q", ci, s.skipped, s.failed)
		}
	}
	t.Setenv("PAYPER_CHROMIUM", "/opt/my/chrome")
	if got := FindBrowser(); got != "/opt/my/chrome" {
		t.Errorf("FindBrowser with PAYPER_CHROMIUM set = %q", got)
	}
}
