package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/mail/mailpittest"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// walkAPI calls payper's JSON API with a bearer key, as a script would.
type walkAPI struct {
	t    *testing.T
	base string
	key  string
}

// do sends body (JSON, or nothing) and returns the status and decoded body.
func (c walkAPI) do(method, path, body string) (int, map[string]any, string) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &m); err != nil {
			c.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, m, string(raw)
}

// must calls and checks the status.
func (c walkAPI) must(status int, method, path, body string) map[string]any {
	c.t.Helper()
	st, m, raw := c.do(method, path, body)
	if st != status {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, status, raw)
	}
	return m
}

// as is the same client with another key.
func (c walkAPI) as(key string) walkAPI { c.key = key; return c }

// walkStr reads a string at a path of nested JSON objects ("" if absent).
func walkStr(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

// walkMicros parses an API amount ("12.345678") or a page's formatted one
// ("1,234.5 EUR", "−0.25 EUR") into micro-units; ok is false for anything
// else (an empty cell, "—").
func walkMicros(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, ' '); i > 0 && len(s)-i == 4 { // a currency code
		s = s[:i]
	}
	neg := strings.HasPrefix(s, "-") || strings.HasPrefix(s, "−")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "−")
	s = strings.ReplaceAll(s, ",", "")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 6 {
		return 0, false
	}
	var v int64
	for _, ch := range whole + (frac + "000000")[:6] {
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + int64(ch-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// mailpitBinary reports whether mailpit is installed (as mailpittest finds
// it), so the walk reads its mail from a real SMTP server when it can.
func mailpitBinary() bool {
	if os.Getenv("PAYPER_MAILPIT") != "" {
		return true
	}
	if _, err := exec.LookPath("mailpit"); err == nil {
		return true
	}
	home, _ := os.UserHomeDir()
	_, err := os.Stat(filepath.Join(home, "go", "bin", "mailpit"))
	return err == nil
}

var walkVerifyLink = regexp.MustCompile(`https?://\S+/verify/\S+`)

// walk is the state of one walk: the app, the brand's browser, its API
// key, the admin's client.
type walk struct {
	t      *testing.T
	a      *webtest.App
	b      *webtest.Browser
	mp     *mailpittest.Server // nil: mail is read from the outbox
	admin  walkAPI
	brand  walkAPI
	camp   string
	pages  []string // every page looked at, in order
	missed []string // steps left out because their page has not landed
	// shots says whether look screenshots and axe-checks pages: on the
	// first store only. Both stores render the same pages from the same
	// data (the second would overwrite the first's files, and axe would
	// judge the same HTML twice, the most costly part of the walk); the
	// figures are checked against the API on both.
	shots             bool
	shotTime, axeTime time.Duration
}

// look screenshots the current page at 390 and 1280 px as walk-<name>
// and runs axe on it (on the first store; see walk.shots).
func (w *walk) look(name string) {
	w.t.Helper()
	w.pages = append(w.pages, w.b.Path(w.t))
	if !w.shots {
		return
	}
	t0 := time.Now()
	w.b.Shot(w.t, "walk-"+name)
	t1 := time.Now()
	w.b.Axe(w.t)
	w.shotTime += t1.Sub(t0)
	w.axeTime += time.Since(t1)
}

// notLanded records a step left out because its page is not there yet.
func (w *walk) notLanded(step string) {
	w.t.Helper()
	w.missed = append(w.missed, step)
	w.t.Logf("NOT WALKED (its page has not landed): %s — done through the API instead", step)
}

// verifyLink reads the brand's verification mail: from mailpit, through
// the app's SMTP delivery, when it runs; else from the outbox.
func (w *walk) verifyLink(email string) string {
	w.t.Helper()
	if w.mp == nil {
		return w.a.VerifyLink(w.t, email)
	}
	res, err := w.a.Mail.Deliver(context.Background(), 50)
	if err != nil || res.Sent == 0 {
		w.t.Fatalf("deliver the outbox to mailpit: %+v, %v", res, err)
	}
	// mailpit answers for a mail once it has stored it: ask for a while.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		for _, m := range w.mp.Messages(w.t) {
			if len(m.To) == 1 && strings.EqualFold(m.To[0].Address, email) {
				if link := walkVerifyLink.FindString(m.Text); link != "" {
					return link
				}
			}
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("mailpit has no verification mail to %s", email)
		}
	}
}

// TestWalk is the one walk, on both stores: a brand signs up in a
// real browser, verifies its email from the mail it got, runs the
// new-campaign wizard (a bad price refused beside its field), funds and
// opens; creators are put through the API and the sandbox; the brand
// accepts them, approves a post, a tick runs, and the dashboard shows the
// spend, fee, KPIs and leaderboard of GET …/report and …/money to the
// micro-unit. Every page is screenshotted (walk-*.png) and checked with axe.
func TestWalk(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := &walk{t: t, shots: strings.HasSuffix(t.Name(), "/sqlite")}
		var opts []webtest.Option
		if mailpitBinary() {
			w.mp = mailpittest.Start(t)
			smtp := w.mp.SMTPURL("noreply@payper.test")
			opts = append(opts, func(c *app.Config) { c.SMTPURL = smtp })
		}
		w.a = webtest.NewApp(t, dbURL, opts...)
		w.b = webtest.Start(t)
		w.b.Base = w.a.URL
		w.admin = walkAPI{t: t, base: w.a.URL, key: webtest.AdminToken}
		start := time.Now()

		var took []string
		for _, step := range []struct {
			name string
			run  func()
		}{{"sign-up", w.signUp}, {"key", w.createKey}, {"wizard", w.wizard}, {"creators", w.creators}, {"tick", w.tick},
			{"dashboard", w.dashboard}, {"earnings", w.earnings}, {"reports", w.reports}} {
			t0 := time.Now()
			step.run()
			took = append(took, fmt.Sprintf("%s %v", step.name, time.Since(t0).Round(time.Millisecond)))
		}
		t.Logf("steps: %s; of which screenshots %v, axe %v", strings.Join(took, ", "), w.shotTime.Round(time.Millisecond), w.axeTime.Round(time.Millisecond))

		t.Logf("walked %d pages in %v: %s", len(w.pages), time.Since(start).Round(time.Millisecond), strings.Join(w.pages, " → "))
		if len(w.missed) > 0 {
			t.Logf("steps not walked in the browser: %q", w.missed)
		}
	})
}

const (
	walkEmail = "ann@glow.example"
	walkBrand = "Glow Labs"
)

// signUp: the brand signs up through the form and confirms its address
// with the mailed link.
func (w *walk) signUp() {
	t, b := w.t, w.b
	b.Visit(t, "/signup/brand")
	w.look("signup-brand")
	b.Fill(t, "#f-name", walkBrand)
	b.Fill(t, "#f-email", walkEmail)
	b.Fill(t, "#f-password", webtest.Password)
	b.Submit(t, "form.stack button[type=submit]")
	if p := b.Path(t); p != "/campaigns" {
		t.Fatalf("after sign-up the brand is on %s; want /campaigns", p)
	}
	link := w.verifyLink(walkEmail)
	if !strings.HasPrefix(link, w.a.URL+"/verify/") {
		t.Fatalf("verification link %q does not point at the app", link)
	}
	b.Visit(t, link)
	w.look("verify")
	b.Submit(t, "form.stack button[type=submit]")
	b.Visit(t, "/settings")
	if got := b.Text(t, "main"); !strings.Contains(got, walkEmail) || strings.Contains(got, "not confirmed") {
		t.Fatalf("the profile after verifying: %q", got)
	}
}

// createKey: the brand makes an API key on the settings page; the walk
// reads the API with it, as the brand's own script would.
func (w *walk) createKey() {
	t, b := w.t, w.b
	b.Visit(t, "/settings/keys")
	b.Fill(t, "#f-label", "walk")
	b.Submit(t, `form[action="/settings/keys"] button[type=submit]`)
	key := strings.TrimSpace(b.Text(t, "#new-key"))
	if !strings.HasPrefix(key, "pp_b_") {
		t.Fatalf("new key shown as %q", key)
	}
	w.brand = walkAPI{t: t, base: w.a.URL, key: key}
}

// field is the CSS selector of a wizard input by its name (the setup's
// JSON path: its id, "f-prices.like", has dots a CSS #id would misread).
func field(name string) string { return `[name="` + name + `"]` }

// wizard: the brand creates the campaign in the wizard (€60; views €0.002,
// likes €0.05, comments €0.25; content approval on; sandbox creators), has
// a bad price refused beside its field with nothing saved, then funds and
// opens it.
func (w *walk) wizard() {
	t, b := w.t, w.b
	b.Visit(t, "/campaigns")
	w.look("campaigns-empty")
	b.Submit(t, `main a[href="/campaigns/new"]`)
	w.look("wizard-new")
	b.Fill(t, field("name"), "Serum launch")
	b.Fill(t, field("budget.amount"), "60")
	b.Fill(t, field("budget.currency"), "EUR")
	b.Submit(t, `form[action="/campaigns/new"] button[type=submit]`)
	m := regexp.MustCompile(`^/campaigns/([^/]+)/setup/goal$`).FindStringSubmatch(b.Path(t))
	if m == nil {
		t.Fatalf("after creating the draft the brand is on %s; want its goal step", b.Path(t))
	}
	w.camp = m[1]
	next := func(step string) {
		t.Helper()
		if st := b.Submit(t, "main form.stack button[type=submit]"); st != http.StatusOK {
			t.Fatalf("saving the step before %s answered %d at %s: %q", step, st, b.Path(t), b.Texts(t, ".field-error"))
		}
		if p := b.Path(t); p != "/campaigns/"+w.camp+"/setup/"+step {
			t.Fatalf("after saving, the brand is on %s; want the %s step (errors: %q)", p, step, b.Texts(t, ".field-error, .form-error"))
		}
	}

	// 1. Goal and dates.
	b.Fill(t, field("goal.primary"), "roas")
	b.Fill(t, field("goal.primary_target"), "3")
	b.Fill(t, field("ends_at"), w.a.Clock.Now().Add(30*24*time.Hour).Format("2006-01-02"))
	w.look("wizard-goal")
	next("model")

	// 2. Prices: a negative price per like is refused beside its field, the
	// form keeps what was typed, and nothing is saved.
	b.Fill(t, field("prices.view"), "0.002")
	b.Fill(t, field("prices.like"), "-0.05")
	b.Fill(t, field("prices.comment"), "0.25")
	if st := b.Submit(t, "main form.stack button[type=submit]"); st != http.StatusBadRequest {
		t.Fatalf("a negative price answered %d; want 400", st)
	}
	if p := b.Path(t); p != "/campaigns/"+w.camp+"/setup/model" {
		t.Fatalf("after a refused price the brand is on %s", p)
	}
	if msg := b.Text(t, `[id="f-prices.like-error"]`); msg == "" {
		t.Fatal("the refused price has no message beside its field")
	}
	if b.Attr(t, field("prices.like"), "aria-invalid") != "true" || !strings.Contains(b.Attr(t, field("prices.like"), "aria-describedby"), "f-prices.like-error") {
		t.Fatal("the refused price's input is not marked invalid and tied to its message")
	}
	if errs := b.Texts(t, ".field-error"); len(errs) != 1 {
		t.Fatalf("field errors %q; want only the price per like's", errs)
	}
	if b.Attr(t, field("prices.view"), "value") != "0.002" || b.Attr(t, field("prices.like"), "value") != "-0.05" {
		t.Fatal("the refused form did not keep what was typed")
	}
	w.look("wizard-model-refused")
	if c := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp, ""); c["setup"] != nil {
		t.Fatalf("a refused step stored a setup: %v", c["setup"])
	}
	b.Fill(t, field("prices.like"), "0.05")
	next("tier")

	// 3. Tier: sandbox creators of any size.
	b.Check(t, field("eligibility.platforms")+`[value="sandbox"]`, true)
	w.look("wizard-tier")
	next("tracking")

	// 4. Tracking: the defaults.
	w.look("wizard-tracking")
	next("brief")

	// 5. Brief, with content approval.
	b.Fill(t, field("brief.product"), "Glow serum")
	b.Fill(t, field("brief.message"), "Morning routine")
	b.Fill(t, field("brief.required_hashtags"), "#GlowSerum")
	b.Fill(t, field("brief.landing_url"), "https://glow.example")
	b.Check(t, field("content_approval"), true)
	w.look("wizard-brief")
	next("fund")

	// The wizard stored what the API's PUT …/setup would have.
	c := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp, "")
	if walkStr(c, "setup", "prices", "like") != "0.050000" || walkStr(c, "setup", "prices", "view") != "0.002000" ||
		walkStr(c, "setup", "prices", "comment") != "0.250000" || c["setup"].(map[string]any)["content_approval"] != true ||
		walkStr(c, "setup", "goal", "primary") != "roas" {
		t.Fatalf("the wizard's setup as the API reads it: %v", c["setup"])
	}

	// 6. Fund (the sandbox payment), 7. open.
	w.look("wizard-fund")
	b.Submit(t, `form[action="/campaigns/`+w.camp+`/fund"] button[type=submit]`)
	if p := b.Path(t); p != "/campaigns/"+w.camp+"/setup/open" {
		b.Visit(t, "/campaigns/"+w.camp+"/setup/open")
	}
	if got := b.Text(t, "#state"); got != "funded" {
		t.Fatalf("state after funding %q", got)
	}
	w.look("wizard-open")
	b.Submit(t, `form[action="/campaigns/`+w.camp+`/open"] button[type=submit]`)
	if got := b.Text(t, "#state"); !strings.HasPrefix(got, "open") {
		t.Fatalf("state after opening %q", got)
	}
	m2 := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp+"/money", "")
	if c := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp, ""); c["state"] != "open" || walkStr(m2, "funded", "amount") != "60.000000" {
		t.Fatalf("after the wizard: state %v, money %v", c["state"], m2)
	}
}

// walkCreators are the creators the walk puts through the API: handle,
// followers, and the engagement their post gets before the tick.
var walkCreators = []struct {
	handle    string
	followers int
	counts    string
}{
	{"ana", 3000, `{"views":1000,"likes":10}`},    // 2.00 + 0.50 = 2.50
	{"ben", 4000, `{"comments":4,"likes":3}`},     // 1.00 + 0.15 = 1.15
	{"cleo", 5000, `{"views":2500,"comments":1}`}, // 5.00 + 0.25 = 5.25
}

// creators: each creator is made by the operator, connects its sandbox
// account through the OAuth redirect, applies; the brand accepts; each
// posts, and the brand approves the posts.
func (w *walk) creators() {
	t := w.t
	ids, keys, appIDs := map[string]string{}, map[string]string{}, map[string]string{}
	for _, c := range walkCreators {
		rc := w.admin.must(201, "POST", "/v1/creators", fmt.Sprintf(`{"name":%q,"country":"DE"}`, c.handle))
		keys[c.handle], ids[c.handle] = walkStr(rc, "api_key"), walkStr(rc, "creator", "id")
		w.admin.must(201, "POST", "/sandbox/driver/accounts", fmt.Sprintf(`{"handle":%q,"followers":%d}`, c.handle, c.followers))
		cr := w.admin.as(keys[c.handle])
		conn := cr.must(201, "POST", "/v1/creator/connections", fmt.Sprintf(`{"platform":"sandbox","handle":%q}`, c.handle))
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(walkStr(conn, "authorize_url"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		w.admin.as("").must(200, "GET", loc.RequestURI(), "")
		ap := cr.must(201, "POST", "/v1/campaigns/"+w.camp+"/applications", `{"pitch":"I film morning routines"}`)
		appIDs[c.handle] = walkStr(ap, "id")
	}

	// The brand accepts each application on the applications page.
	b := w.b
	b.Visit(t, "/campaigns/"+w.camp+"/applications?state=pending")
	w.look("applications")
	for _, c := range walkCreators {
		sel := `form[action="/campaigns/` + w.camp + `/applications/` + appIDs[c.handle] + `/accept"] button`
		if st := b.Submit(t, sel); st != http.StatusOK {
			t.Fatalf("accepting %s answered %d", c.handle, st)
		}
	}
	b.Visit(t, "/campaigns/"+w.camp+"/applications")
	w.look("applications-accepted")
	for _, c := range walkCreators {
		if got := b.Text(t, "#app-"+appIDs[c.handle]+" .badge"); got != "accepted" {
			t.Fatalf("%s's application shows %q after accepting", c.handle, got)
		}
	}
	if n := len(w.brand.must(200, "GET", "/v1/campaigns/"+w.camp+"/applications?state=accepted", "")["data"].([]any)); n != len(walkCreators) {
		t.Fatalf("%d accepted applications through the API, want %d", n, len(walkCreators))
	}

	w.a.Clock.Advance(time.Minute) // the posts come after the acceptances
	posts := map[string]string{}
	for _, c := range walkCreators {
		media := w.admin.must(201, "POST", "/sandbox/driver/accounts/"+c.handle+"/posts", `{"caption":"Morning glow #GlowSerum #ad","type":"reel"}`)
		p := w.admin.as(keys[c.handle]).must(201, "POST", "/v1/campaigns/"+w.camp+"/posts", fmt.Sprintf(`{"platform":"sandbox","media":%q}`, walkStr(media, "id")))
		if p["state"] != "pending_approval" {
			t.Fatalf("post %v: want pending_approval (content approval is on)", p)
		}
		posts[c.handle] = walkStr(p, "id")
		w.admin.must(200, "POST", "/sandbox/driver/posts/"+walkStr(media, "id")+"/counts", c.counts)
	}
	// The brand approves each post on the posts page.
	b.Visit(t, "/campaigns/"+w.camp+"/posts")
	w.look("posts-pending")
	for _, c := range walkCreators {
		if st := b.Submit(t, `form[action="/campaigns/`+w.camp+`/posts/`+posts[c.handle]+`/approve"] button`); st != http.StatusOK {
			t.Fatalf("approving %s's post answered %d", c.handle, st)
		}
	}
	b.Visit(t, "/campaigns/"+w.camp+"/posts")
	w.look("posts-approved")
	for _, c := range walkCreators {
		if got := b.Text(t, "#post-"+posts[c.handle]+" .badge"); got != "live" {
			t.Fatalf("%s's post shows %q after approving", c.handle, got)
		}
	}
	_ = ids
}

// tick: the operator runs an engagement tick a minute later.
func (w *walk) tick() {
	w.a.Clock.Advance(time.Minute)
	if r := w.admin.must(200, "POST", "/v1/admin/engagement/tick?wait=2m", ""); r["state"] != "completed" {
		w.t.Fatalf("tick: %v", r)
	}
	m := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp+"/money", "")
	// 2.50 + 1.15 + 5.25 = 8.90 spent, 10 % first-campaign fee.
	if walkStr(m, "spent", "amount") != "8.900000" || walkStr(m, "fees", "amount") != "0.890000" {
		w.t.Fatalf("money after the tick: %v; want 8.90 spent, 0.89 fees", m)
	}
}

// walkTile is a headline number as the dashboard shows it.
type walkTile struct {
	Key   string `json:"key"`
	Value string `json:"value"` // the machine-readable <data value>
	Text  string `json:"text"`  // what a person reads
	Hint  string `json:"hint"`
}

// walkLeader is a leaderboard row as the dashboard shows it.
type walkLeader struct {
	Creator string `json:"creator"`
	Handle  string `json:"handle"`
	Cells   []struct {
		Value string `json:"value"`
		Text  string `json:"text"`
	} `json:"cells"`
}

// walkNum reads a JSON number or numeric string as it is written.
func walkNum(v any) string {
	switch x := v.(type) {
	case float64:
		return fmt.Sprintf("%d", int64(x))
	case string:
		return x
	case map[string]any: // an amount
		return walkStr(x, "amount")
	}
	return fmt.Sprint(v)
}

// sameFigure checks that what the page shows (its value and its text)
// is the API's figure want: money and counts to the unit, KPIs as the
// same decimal string (or "undefined" shown as something that is no number).
func (w *walk) sameFigure(what, value, text, want string) {
	w.t.Helper()
	if value != want {
		w.t.Errorf("%s: the page's value is %q, the API's %q", what, value, want)
		return
	}
	wm, wok := walkMicros(want)
	tm, tok := walkMicros(strings.TrimSuffix(strings.TrimSuffix(strings.ReplaceAll(text, "×", ""), "%"), " "))
	switch {
	case !wok: // "undefined"
		if tok {
			w.t.Errorf("%s: the API says %q, the page shows the number %q", what, want, text)
		}
	case strings.HasSuffix(text, "%"):
		// a percentage of a ratio the domain gives; its value matched
	case !tok || tm != wm:
		w.t.Errorf("%s: the page shows %q, the API says %s", what, text, want)
	}
}

// dashboard: the campaign list and the dashboard show the figures of the
// API's GET …/money and …/report, to the micro-unit.
func (w *walk) dashboard() {
	t, b := w.t, w.b
	money := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp+"/money", "")
	rep := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp+"/report?window=launch", "")
	fig := rep["campaign"].(map[string]any)["figures"].(map[string]any)
	kpis := rep["campaign"].(map[string]any)["kpis"].(map[string]any)
	spend := fig["spend"].(map[string]any)
	// The API agrees with itself and with the walk's own sums.
	if walkStr(spend, "total", "amount") != "8.900000" || walkStr(spend, "platform_fees", "amount") != walkStr(money, "fees", "amount") ||
		walkStr(spend, "total", "amount") != walkStr(money, "spent", "amount") {
		t.Fatalf("report spend %v against money %v", spend, money)
	}

	// The campaign list.
	b.Visit(t, "/campaigns")
	w.look("campaigns")
	row := "#c-" + w.camp
	for _, f := range []struct{ cell, field string }{{".budget", "budget"}, {".spent", "spent"}, {".remaining", "remaining"}} {
		got := b.Text(t, row+" "+f.cell)
		want := walkStr(money, f.field, "amount")
		if m, ok := walkMicros(got); !ok || fmt.Sprintf("%d.%06d", m/1e6, m%1e6) != want {
			t.Errorf("campaign list %s shows %q; the API's money says %s", f.field, got, want)
		}
	}
	if got := b.Text(t, row+" .badge"); got != "open" {
		t.Errorf("campaign list state %q", got)
	}

	// The dashboard: headline numbers.
	if st := b.Visit(t, "/campaigns/"+w.camp); st != http.StatusOK {
		t.Fatalf("GET the dashboard: %d", st)
	}
	w.look("dashboard")
	var tiles []walkTile
	b.Eval(t, `Array.from(document.querySelectorAll('data[data-kpi]'), d => {
		const tile = d.closest('.tile'); const hint = tile && tile.querySelector('.tile-hint');
		return {key: d.dataset.kpi, value: d.value, text: d.innerText, hint: hint ? hint.innerText : ''}; })`, &tiles)
	want := map[string]string{
		"spend": walkStr(spend, "total", "amount"), "escrow_left": walkStr(money, "remaining", "amount"),
		"views": walkNum(fig["views"]), "engagements": walkNum(fig["engagements"]), "clicks": walkNum(fig["clicks"]),
		"conversions": walkNum(fig["conversions"]), "revenue": walkStr(fig, "revenue", "amount"),
		"cpe": walkNum(kpis["cpe"]), "cpa": walkNum(kpis["cpa"]), "roas": walkNum(kpis["roas"]), "redemption_rate": walkNum(kpis["redemption_rate"]),
	}
	seen := map[string]bool{}
	for _, tl := range tiles {
		exp, ok := want[tl.Key]
		if !ok {
			continue
		}
		seen[tl.Key] = true
		w.sameFigure("headline "+tl.Key, tl.Value, tl.Text, exp)
		if tl.Key == "spend" {
			// The fee is shown with the spend, in the campaign's currency.
			fee := regexp.MustCompile(`platform fees? ([−\-]?[\d,]+\.\d+ [A-Z]{3})`).FindStringSubmatch(tl.Hint)
			if fee == nil {
				t.Errorf("the spend's hint %q does not show the platform fee", tl.Hint)
			} else if m, ok := walkMicros(fee[1]); !ok || fmt.Sprintf("%d.%06d", m/1e6, m%1e6) != walkStr(money, "fees", "amount") {
				t.Errorf("the dashboard shows the fee %q; the API's money says %s", fee[1], walkStr(money, "fees", "amount"))
			}
		}
	}
	for k := range want {
		if !seen[k] {
			t.Errorf("the dashboard has no headline %q", k)
		}
	}
	// By hand: 8.90 spent of 60, 3,500 views, 10+3+4+1 = 18 engagements.
	if want["views"] != "3500" || want["engagements"] != "18" || want["escrow_left"] != "51.100000" {
		t.Errorf("the API's figures: views %s, engagements %s, escrow left %s; want 3500, 18, 51.100000", want["views"], want["engagements"], want["escrow_left"])
	}

	// The leaderboard: every creator, every column, the report's figures.
	var cols []string
	b.Eval(t, `Array.from(document.querySelectorAll('table.leaderboard thead [data-sort]'), a => a.dataset.sort)`, &cols)
	var rows []walkLeader
	b.Eval(t, `Array.from(document.querySelectorAll('table.leaderboard tbody tr'), tr => ({creator: tr.dataset.creator,
		handle: tr.querySelector('th').innerText,
		cells: Array.from(tr.querySelectorAll('td data'), d => ({value: d.value, text: d.innerText}))}))`, &rows)
	creators := rep["creators"].([]any)
	if len(rows) != len(creators) || len(rows) != len(walkCreators) {
		t.Fatalf("the leaderboard has %d rows; the report %d creators; the walk %d", len(rows), len(creators), len(walkCreators))
	}
	if len(cols) == 0 || cols[0] != "creator" {
		t.Fatalf("leaderboard columns %q", cols)
	}
	byID := map[string]map[string]any{}
	for _, c := range creators {
		byID[walkStr(c.(map[string]any), "creator_id")] = c.(map[string]any)
	}
	handSpend := map[string]string{"ana": "2.500000", "ben": "1.150000", "cleo": "5.250000"}
	prev := int64(1 << 62)
	for _, r := range rows {
		c := byID[r.Creator]
		if c == nil {
			t.Fatalf("the leaderboard shows creator %q, not in the report", r.Creator)
		}
		if len(r.Cells) != len(cols)-1 {
			t.Fatalf("row %s has %d cells for %d columns", r.Handle, len(r.Cells), len(cols)-1)
		}
		f := c["figures"].(map[string]any)
		k := c["kpis"].(map[string]any)
		sp := f["spend"].(map[string]any)
		exp := map[string]string{"spend": walkStr(sp, "total", "amount"), "earnings": walkStr(sp, "creator_earnings", "total", "amount"),
			"views": walkNum(f["views"]), "engagements": walkNum(f["engagements"]), "clicks": walkNum(f["clicks"]),
			"conversions": walkNum(f["conversions"]), "redemptions": walkNum(f["redemptions"]), "revenue": walkStr(f, "revenue", "amount"),
			"cpe": walkNum(k["cpe"]), "cpa": walkNum(k["cpa"]), "roas": walkNum(k["roas"]), "roi": walkNum(k["roi"]),
			"redemption_rate": walkNum(k["redemption_rate"]), "epc": walkNum(k["epc"])}
		for i, col := range cols[1:] {
			e, ok := exp[col]
			if !ok {
				t.Errorf("leaderboard column %q has no API figure to compare with", col)
				continue
			}
			w.sameFigure("leaderboard "+r.Handle+" "+col, r.Cells[i].Value, r.Cells[i].Text, e)
		}
		h := strings.TrimPrefix(r.Handle, "@")
		if hs, ok := handSpend[h]; !ok || exp["spend"] != hs {
			t.Errorf("%s spent %s by the report; by hand %s", r.Handle, exp["spend"], hs)
		}
		m, _ := walkMicros(exp["spend"])
		if m > prev {
			t.Errorf("the leaderboard is not sorted by spend, high first: %s after a lower one", r.Handle)
		}
		prev = m
	}
}

// earnings: the earnings page lists what the API's GET …/earnings does,
// and cleo's earning opens to the readings it was billed from (views and
// a comment on her post), as GET /v1/earnings/{id}/evidence answers.
func (w *walk) earnings() {
	t, b := w.t, w.b
	list := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp+"/earnings", "")["data"].([]any)
	if len(list) != len(walkCreators) {
		t.Fatalf("%d earnings through the API, want one per creator", len(list))
	}
	b.Visit(t, "/campaigns/"+w.camp+"/earnings")
	w.look("earnings")
	var cleo string
	for _, e := range list {
		e := e.(map[string]any)
		id := walkStr(e, "id")
		row := "#earning-" + id
		for i, f := range []string{"gross", "fee", "net"} {
			got := b.Text(t, row+` td[data-label="`+[]string{"Gross", "Fee", "Net"}[i]+`"]`)
			got, _, _ = strings.Cut(got, "\n") // a refund note may follow
			if m, ok := walkMicros(got); !ok || fmt.Sprintf("%d.%06d", m/1e6, m%1e6) != walkStr(e, f, "amount") {
				t.Errorf("earning %s: the page's %s %q; the API's %s", id, f, got, walkStr(e, f, "amount"))
			}
		}
		if walkStr(e, "gross", "amount") == "5.250000" {
			cleo = id
		}
	}
	if cleo == "" {
		t.Fatalf("no 5.25 earning (cleo's) in %v", list)
	}
	b.Submit(t, `#earning-`+cleo+` a[href="/campaigns/`+w.camp+`/earnings/`+cleo+`"]`)
	w.look("earning-evidence")
	ev := w.brand.must(200, "GET", "/v1/earnings/"+cleo+"/evidence", "")
	readings := ev["readings"].([]any)
	var rows []struct {
		Metric string `json:"metric"`
		Growth string `json:"growth"`
		Price  string `json:"price"`
		Amount string `json:"amount"`
	}
	b.Eval(t, `Array.from(document.querySelectorAll('#readings tbody tr'), tr => ({
		metric: tr.querySelector('[data-label="Metric"]').innerText, growth: tr.querySelector('[data-label="Growth"]').innerText,
		price: tr.querySelector('[data-label="Price"]').innerText, amount: tr.querySelector('[data-label="Amount"]').innerText.split('\n')[0]}))`, &rows)
	if len(rows) != len(readings) || len(rows) != 2 {
		t.Fatalf("the evidence page shows %d readings, the API %d; want 2 (views, comments)", len(rows), len(readings))
	}
	var sum int64
	for i, r := range rows {
		api := readings[i].(map[string]any)
		am, ok := walkMicros(r.Amount)
		if r.Metric != walkStr(api, "metric") || strings.ReplaceAll(r.Growth, ",", "") != walkNum(api["growth"]) ||
			!ok || fmt.Sprintf("%d.%06d", am/1e6, am%1e6) != walkStr(api, "amount", "amount") {
			t.Errorf("reading %d: the page shows %+v; the API %v", i, r, api)
		}
		sum += am
	}
	if total, ok := walkMicros(b.Text(t, "#readings tfoot td")); !ok || total != 5_250_000 || sum != total {
		t.Errorf("the evidence's amounts sum to %d, its total shows %q; want 5.25 EUR", sum, b.Text(t, "#readings tfoot td"))
	}
}

// reports: the reports page shows GET …/report's figures for the campaign
// and each creator, and its CSV download is the API's CSV, byte for byte.
func (w *walk) reports() {
	t, b := w.t, w.b
	rep := w.brand.must(200, "GET", "/v1/campaigns/"+w.camp+"/report?window=launch", "")
	b.Visit(t, "/campaigns/"+w.camp+"/reports?window=launch")
	w.look("reports")
	amount := func(sel, want string) {
		t.Helper()
		got := b.Text(t, sel)
		if m, ok := walkMicros(got); !ok || fmt.Sprintf("%d.%06d", m/1e6, m%1e6) != want {
			t.Errorf("reports %s shows %q; the API says %s", sel, got, want)
		}
	}
	count := func(sel, want string) {
		t.Helper()
		if got := strings.ReplaceAll(b.Text(t, sel), ",", ""); got != want {
			t.Errorf("reports %s shows %q; the API says %s", sel, got, want)
		}
	}
	c := rep["campaign"].(map[string]any)["figures"].(map[string]any)
	sp := c["spend"].(map[string]any)
	amount(`[data-row="campaign"] [data-k="spend"]`, walkStr(sp, "total", "amount"))
	amount(`[data-row="campaign"] [data-k="earnings"]`, walkStr(sp, "creator_earnings", "total", "amount"))
	amount(`[data-row="campaign"] [data-k="fees"]`, walkStr(sp, "platform_fees", "amount"))
	count(`[data-row="campaign"] [data-k="views"]`, walkNum(c["views"]))
	count(`[data-row="campaign"] [data-k="engagements"]`, walkNum(c["engagements"]))
	for _, cr := range rep["creators"].([]any) {
		cr := cr.(map[string]any)
		f := cr["figures"].(map[string]any)
		row := `tr[data-row="` + walkStr(cr, "creator_id") + `"]`
		amount(row+` [data-k="spend"]`, walkStr(f, "spend", "total", "amount"))
		count(row+` [data-k="views"]`, walkNum(f["views"]))
		count(row+` [data-k="engagements"]`, walkNum(f["engagements"]))
	}

	// The download link's CSV, fetched with the brand's session, is the API's.
	href := b.Attr(t, `a[href*="/reports.csv"]`, "href")
	got := b.Fetch(t, href)
	_, _, want := w.brand.do("GET", "/v1/campaigns/"+w.camp+"/report?window=launch&format=csv", "")
	if got.Status != http.StatusOK || !strings.HasPrefix(got.ContentType, "text/csv") || got.Body != want || !strings.Contains(want, "8.900000") {
		t.Errorf("the page's CSV (%s: %d %s, %d bytes) is not the API's (%d bytes):\n%s\n---\n%s", href, got.Status, got.ContentType, len(got.Body), len(want), got.Body, want)
	}
}
