// Package webtest drives a real Chromium from go test, for browser tests of
// payper's web pages: open a page, fill and submit its forms as a person
// would, read what it shows, take screenshots at phone (390 px) and laptop
// (1280 px) widths, and run axe-core's accessibility checks on it.
//
// It uses chromedp (the DevTools protocol over a pipe; no Node, no driver)
// and the browser installed on the machine: $PAYPER_CHROMIUM, else chromium,
// chromium-browser or google-chrome on PATH (Debian: apt-get install
// chromium). Without one the test is skipped with a message, or failed when
// CI=true.
//
// One browser is started per test binary, at the first Start; each test gets
// a fresh browser context of its own (no cookies or storage shared with other
// tests). A package with browser tests should end the browser with Main:
//
//	func TestMain(m *testing.M) { webtest.Main(m) }
//
// A typical test:
//
//	b := webtest.Start(t)
//	b.Base = srv.URL
//	b.Visit(t, "/signin")
//	b.Fill(t, "#email", "ann@example.com")
//	b.Submit(t, "button[type=submit]")
//	b.Shot(t, "signin")   // internal/web/screenshots/signin-390.png, signin-1280.png
//	b.Axe(t)              // fails on serious or critical violations
//
// Every method takes the test it runs in and fails it (t.Fatal) when the
// browser cannot do what was asked. Uncaught JavaScript exceptions, console
// errors, Content-Security-Policy violations and JavaScript dialogs (alert,
// confirm, prompt: the app has none, so one means injected script ran) are
// recorded, dialogs dismissed, and reported as test errors when the test ends.
package webtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Timeout bounds each browser operation (a navigation, a click, a screenshot).
var Timeout = 20 * time.Second

// Widths are the viewport widths Shot captures: a phone and a laptop.
var Widths = []int{390, 1280}

// FindBrowser returns the Chromium to use: $PAYPER_CHROMIUM, else chromium,
// chromium-browser or google-chrome on PATH. It returns "" when there is none.
func FindBrowser() string {
	if p := os.Getenv("PAYPER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// need skips t when no browser is installed, or fails it under CI=true.
func need(t testing.TB) string {
	t.Helper()
	p := FindBrowser()
	if p == "" {
		msg := "no Chromium found for the browser tests: install it (Debian: apt-get install chromium) or set PAYPER_CHROMIUM to its path"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; under CI=true the browser tests must run")
		}
		t.Skip(msg)
	}
	return p
}

// shared is the one browser of the test binary.
var shared struct {
	mu      sync.Mutex
	ctx     context.Context // the browser's chromedp context
	cancel  func()
	dataDir string
	err     error
}

// browser returns the shared browser's context, starting it on first use.
func browser(path string) (context.Context, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.ctx != nil || shared.err != nil {
		return shared.ctx, shared.err
	}
	dir, err := os.MkdirTemp("", "payper-webtest-chromium-")
	if err != nil {
		shared.err = fmt.Errorf("webtest: user data dir: %w", err)
		return nil, shared.err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox, // tests run as root on CI machines
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(Widths[len(Widths)-1], 900),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	start, scancel := context.WithTimeout(bctx, 60*time.Second)
	defer scancel()
	// The first Do starts the browser; its life is bctx's, not start's
	// (a timeout on the first Run would end the browser with it), so start
	// with bctx and watch the clock beside it.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(bctx) }()
	select {
	case err = <-done:
	case <-start.Done():
		err = errors.New("the browser did not start within 60 s")
	}
	if err != nil {
		bcancel()
		acancel()
		_ = os.RemoveAll(dir)
		shared.err = fmt.Errorf("webtest: start %s: %w", path, err)
		return nil, shared.err
	}
	shared.ctx, shared.dataDir = bctx, dir
	shared.cancel = func() { bcancel(); acancel() }
	return shared.ctx, nil
}

// Close ends the shared browser, if one was started, and removes its
// profile directory. Main calls it after the tests.
func Close() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.dataDir != "" {
		_ = os.RemoveAll(shared.dataDir)
	}
	shared.ctx, shared.cancel, shared.dataDir, shared.err = nil, nil, "", nil
}

// Main runs the package's tests, then ends the shared browser, and exits
// with the tests' code. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Close()
	os.Exit(code)
}

// Browser is one test's tab, in a browser context of its own.
type Browser struct {
	// Base is prepended to paths that Visit is given ("/signin"); empty
	// means Visit takes whole URLs only.
	Base string

	ctx context.Context
	// axeEveryPage says axe-core is loaded into every new document (after
	// the first AxeCheck).
	axeEveryPage bool

	mu       sync.Mutex
	problems []string // exceptions, console errors, CSP violations, dialogs
	dialogs  []string // messages of the dialogs that opened
	notes    []string // other browser log entries (network errors …), logged
}

// Start gives t a new tab in a fresh browser context (its own cookies and
// storage) of the shared browser, closed when t ends. It skips t when no
// browser is installed (fails it under CI=true).
func Start(t testing.TB) *Browser {
	t.Helper()
	path := need(t)
	bctx, err := browser(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	b := &Browser{ctx: ctx}
	// The first Do opens the tab and ties it to the context it is given:
	// ctx itself, not a context with a timeout that would close the tab.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(Widths[len(Widths)-1]), 900)); err != nil {
		cancel()
		t.Fatalf("webtest: open a tab: %v", err)
	}
	if err := chromedp.Listen(ctx, b.listen); err != nil {
		cancel()
		t.Fatalf("webtest: listen: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, n := range b.notes {
			t.Logf("browser: %s", n)
		}
		for _, p := range b.problems {
			t.Errorf("browser: %s", p)
		}
	})
	return b
}

// listen records what the page reports; it runs in the tab's event loop,
// so it sends no command itself (a dialog is dismissed from a goroutine).
func (b *Browser) listen(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		b.problems = append(b.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range ev.Args {
				if a.Value != nil {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			b.problems = append(b.problems, "console."+string(ev.Type)+": "+strings.Join(parts, " "))
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		msg := fmt.Sprintf("%s %s: %s", e.Source, e.Level, e.Text)
		if e.URL != "" {
			msg += " (" + e.URL + ")"
		}
		// A page that breaks its own Content-Security-Policy (inline
		// script or style, a foreign origin) is a defect; so is an error
		// logged by page script. Network noise is only logged.
		if e.Level == log.EntryLevelError && (e.Source == log.EntrySourceSecurity || e.Source == log.EntrySourceJavascript ||
			strings.Contains(e.Text, "Content Security Policy")) {
			b.problems = append(b.problems, msg)
		} else if (e.Level == log.EntryLevelError || e.Level == log.EntryLevelWarning) && !strings.HasSuffix(e.URL, "/favicon.ico") {
			b.notes = append(b.notes, msg)
		}
	case *page.EventJavascriptDialogOpening:
		b.dialogs = append(b.dialogs, ev.Message)
		b.problems = append(b.problems, fmt.Sprintf("a JavaScript %s dialog opened: %q", ev.Type, ev.Message))
		go func() {
			_, _ = chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	}
}

// Dialogs returns the messages of the JavaScript dialogs that opened so far
// (each is also reported as a test error when the test ends).
func (b *Browser) Dialogs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.dialogs...)
}

// Problems returns what the page reported so far that will fail the test
// when it ends: exceptions, console errors, CSP violations, dialogs.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// ForgetProblems drops the problems recorded so far: for a test that
// provokes one on purpose and has checked it with Problems.
func (b *Browser) ForgetProblems() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems, b.dialogs = nil, nil
}

func (b *Browser) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, Timeout)
}

func (b *Browser) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := b.timeout()
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

func run[T any](b *Browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := b.timeout()
	defer cancel()
	return chromedp.Run(ctx, a)
}

// URL resolves a path against Base; a whole URL is returned as it is.
func (b *Browser) URL(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") || b.Base == "" {
		return path
	}
	return strings.TrimRight(b.Base, "/") + "/" + strings.TrimLeft(path, "/")
}

// Visit opens a page (a path under Base, or a whole URL) and waits for it
// to load. It returns the HTTP status of the document (after redirects).
func (b *Browser) Visit(t testing.TB, path string) int {
	t.Helper()
	resp, err := run(b, chromedp.NavigateResponse(b.URL(path)))
	if err != nil {
		t.Fatalf("webtest: visit %s: %v", path, err)
	}
	if resp == nil {
		t.Fatalf("webtest: visit %s: no response", path)
	}
	return int(resp.Status)
}

// Location returns the current page's URL.
func (b *Browser) Location(t testing.TB) string {
	t.Helper()
	u, err := run(b, chromedp.Location())
	if err != nil {
		t.Fatalf("webtest: location: %v", err)
	}
	return u
}

// Path returns the current page's path and query ("/campaigns?x=1").
func (b *Browser) Path(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(b.Location(t))
	if err != nil {
		t.Fatalf("webtest: location: %v", err)
	}
	return u.RequestURI()
}

// eval runs a JavaScript expression in the page and decodes its result.
func eval[T any](t testing.TB, b *Browser, expr string) T {
	t.Helper()
	v, err := run(b, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("webtest: %v", err)
	}
	return v
}

// Eval runs a JavaScript expression in the page (DevTools' evaluation, not
// subject to the page's CSP) and decodes its JSON result into out (nil to
// ignore it).
func (b *Browser) Eval(t testing.TB, expr string, out any) {
	t.Helper()
	raw := eval[[]byte](t, b, expr)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("webtest: eval %s: decode %s: %v", expr, raw, err)
		}
	}
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// Count returns how many elements match a CSS selector now (no waiting:
// pages are rendered by the server).
func (b *Browser) Count(t testing.TB, sel string) int {
	t.Helper()
	return eval[int](t, b, "document.querySelectorAll("+jsString(sel)+").length")
}

// Has reports whether an element matches a CSS selector now.
func (b *Browser) Has(t testing.TB, sel string) bool {
	t.Helper()
	return b.Count(t, sel) > 0
}

// Text returns the rendered text (innerText, as a person sees it) of the
// first element matching a CSS selector; it fails t when there is none.
func (b *Browser) Text(t testing.TB, sel string) string {
	t.Helper()
	var r struct {
		Found bool   `json:"found"`
		Text  string `json:"text"`
	}
	b.Eval(t, "(() => { const e = document.querySelector("+jsString(sel)+"); return e ? {found: true, text: e.innerText} : {found: false}; })()", &r)
	if !r.Found {
		t.Fatalf("webtest: no element matches %q on %s", sel, b.Location(t))
	}
	return r.Text
}

// Texts returns the rendered text of every element matching a CSS selector.
func (b *Browser) Texts(t testing.TB, sel string) []string {
	t.Helper()
	var out []string
	b.Eval(t, "Array.from(document.querySelectorAll("+jsString(sel)+"), e => e.innerText)", &out)
	return out
}

// Attr returns an attribute of the first element matching a CSS selector
// ("" when the element has none); it fails t when no element matches.
func (b *Browser) Attr(t testing.TB, sel, name string) string {
	t.Helper()
	var r struct {
		Found bool   `json:"found"`
		Value string `json:"value"`
	}
	b.Eval(t, "(() => { const e = document.querySelector("+jsString(sel)+"); return e ? {found: true, value: e.getAttribute("+jsString(name)+") || ''} : {found: false}; })()", &r)
	if !r.Found {
		t.Fatalf("webtest: no element matches %q on %s", sel, b.Location(t))
	}
	return r.Value
}

// Title returns the page's title, as the browser tab shows it.
func (b *Browser) Title(t testing.TB) string {
	t.Helper()
	return eval[string](t, b, "document.title")
}

// Fetched is what Fetch got.
type Fetched struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType"`
	Body        string `json:"body"`
}

// Fetch GETs a path (or URL) from the current page with the browser's
// cookies, as a download link would, without leaving the page: for files
// such as a CSV export that a browser saves rather than shows.
func (b *Browser) Fetch(t testing.TB, path string) Fetched {
	t.Helper()
	var out Fetched
	raw, err := run(b, chromedp.Evaluate[[]byte](`fetch(`+jsString(b.URL(path))+`, {credentials: 'same-origin'}).then(r => r.text().then(body => ({
		status: r.status, contentType: r.headers.get('Content-Type') || '', body})))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("webtest: fetch %s: %v", path, err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("webtest: fetch %s: %v", path, err)
	}
	return out
}

// HTML returns the whole document's HTML as the browser has it now.
func (b *Browser) HTML(t testing.TB) string {
	t.Helper()
	return eval[string](t, b, "document.documentElement.outerHTML")
}

// kind returns the tag and type of the first element matching sel.
func (b *Browser) kind(t testing.TB, sel string) (tag, typ string) {
	t.Helper()
	var r struct {
		Found bool   `json:"found"`
		Tag   string `json:"tag"`
		Type  string `json:"type"`
	}
	b.Eval(t, "(() => { const e = document.querySelector("+jsString(sel)+"); return e ? {found: true, tag: e.tagName.toLowerCase(), type: (e.type || '').toLowerCase()} : {found: false}; })()", &r)
	if !r.Found {
		t.Fatalf("webtest: no element matches %q on %s", sel, b.Location(t))
	}
	return r.Tag, r.Type
}

// Fill sets a form field to value as a person would: a text field is
// cleared and typed into (key by key, so scripts listening to input see
// it); a select, date or time field is set and sent input and change events.
func (b *Browser) Fill(t testing.TB, sel, value string) {
	t.Helper()
	tag, typ := b.kind(t, sel)
	var err error
	switch {
	case tag == "select" || typ == "date" || typ == "datetime-local" || typ == "time" || typ == "month" || typ == "color" || typ == "range":
		err = b.do(chromedp.SetValue(chromedp.CSS(sel), value),
			chromedp.Evaluate[chromedp.Void]("(() => { const e = document.querySelector("+jsString(sel)+
				"); e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true})); })()"))
	case typ == "checkbox" || typ == "radio" || typ == "file" || typ == "submit" || typ == "button":
		t.Fatalf("webtest: Fill %q: a %s input; use Check or Click", sel, typ)
	default:
		// chromedp.Clear empties the value attribute, not what was typed:
		// empty the property, as selecting all and deleting would.
		err = b.do(chromedp.Evaluate[chromedp.Void]("(() => { const e = document.querySelector(" + jsString(sel) +
			"); e.focus(); if (e.value !== '') { e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); } })()"))
		if err == nil && value != "" {
			err = b.do(chromedp.SendKeys(chromedp.CSS(sel), value))
		}
	}
	if err != nil {
		t.Fatalf("webtest: fill %q: %v", sel, err)
	}
}

// Check sets a checkbox (or radio button) to on or off, clicking it only
// when it is not already so.
func (b *Browser) Check(t testing.TB, sel string, on bool) {
	t.Helper()
	if eval[bool](t, b, "!!(document.querySelector("+jsString(sel)+") || {}).checked") != on {
		b.Click(t, sel)
	}
}

// Click clicks the first element matching a CSS selector, without waiting
// for a page load (use Submit for a click that navigates).
func (b *Browser) Click(t testing.TB, sel string) {
	t.Helper()
	if err := b.do(chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("webtest: click %q: %v", sel, err)
	}
}

// Submit clicks the element matching sel (a submit button or a link) and
// waits for the page it leads to (after any redirect, as for a POST answered
// 303) to load. It returns that page's HTTP status. When sel matches a form,
// the form is submitted as its first submit button would submit it.
func (b *Browser) Submit(t testing.TB, sel string) int {
	t.Helper()
	tag, _ := b.kind(t, sel)
	action := chromedp.Click(chromedp.CSS(sel))
	if tag == "form" {
		action = chromedp.Evaluate[chromedp.Void]("document.querySelector(" + jsString(sel) + ").requestSubmit()")
	}
	ctx, cancel := b.timeout()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, action)
	if err != nil {
		// The usual cause: the browser's own validation held the form back.
		var invalid []string
		b.Eval(t, "Array.from(document.querySelectorAll(':invalid'), e => (e.name || e.id || e.tagName) + ': ' + e.validationMessage)", &invalid)
		t.Fatalf("webtest: submit %q on %s: %v (fields the browser finds invalid: %q)", sel, b.Location(t), err, invalid)
	}
	if resp == nil {
		t.Fatalf("webtest: submit %q: no page loaded", sel)
	}
	return int(resp.Status)
}

// ScreenshotDir is where Shot writes: $PAYPER_SCREENSHOTS, else
// internal/web/screenshots under the module root (git-ignored).
func ScreenshotDir() (string, error) {
	if d := os.Getenv("PAYPER_SCREENSHOTS"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "internal", "web", "screenshots"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("webtest: no go.mod above the working directory; set PAYPER_SCREENSHOTS")
		}
		dir = parent
	}
}

var shotName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// Shot writes full-page PNG screenshots of the current page at each of
// Widths: <dir>/<name>-390.png and <dir>/<name>-1280.png, dir being
// ScreenshotDir. The phone width is emulated as a mobile viewport (the
// page's meta viewport applies). It returns the files written.
func (b *Browser) Shot(t testing.TB, name string) []string {
	t.Helper()
	if !shotName.MatchString(name) {
		t.Fatalf("webtest: screenshot name %q: use lower-case letters, digits, '.', '-' and '_'", name)
	}
	dir, err := ScreenshotDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("webtest: %v", err)
	}
	var files []string
	for _, w := range Widths {
		var opts []chromedp.EmulateViewportOption
		if w < 600 {
			opts = append(opts, chromedp.EmulateMobile)
		}
		png, err := run(b, chromedp.Action[[]byte](func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
			if _, err := chromedp.Steps(
				chromedp.EmulateViewport(int64(w), 900, opts...),
				// Reading the layout makes the browser lay the page out
				// again at the new width before the capture.
				chromedp.Evaluate[chromedp.Void]("document.documentElement.getBoundingClientRect().height"),
			)(ctx, tg); err != nil {
				return nil, err
			}
			return chromedp.FullScreenshot(100)(ctx, tg)
		}))
		if err != nil {
			t.Fatalf("webtest: screenshot %s at %d px: %v", name, w, err)
		}
		f := filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, w))
		if err := os.WriteFile(f, png, 0o644); err != nil {
			t.Fatalf("webtest: %v", err)
		}
		files = append(files, f)
	}
	if err := b.do(chromedp.EmulateViewport(int64(Widths[len(Widths)-1]), 900)); err != nil {
		t.Fatalf("webtest: reset the viewport: %v", err)
	}
	return files
}
