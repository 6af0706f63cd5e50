package webtest

import (
	_ "embed" // axe-core, vendored
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core's axe.min.js (axe/VERSIONS names the version,
// licence and source). It is embedded in the tests only: nothing outside
// _test files imports this package.
//
//go:embed axe/axe.min.js
var axeSource string

// AxeNode is one element a rule failed on.
type AxeNode struct {
	Target         []any  `json:"target"` // CSS selectors (nested arrays inside frames/shadow roots)
	HTML           string `json:"html"`
	FailureSummary string `json:"failureSummary"`
}

// AxeViolation is one axe-core rule the page breaks.
type AxeViolation struct {
	ID      string    `json:"id"`
	Impact  string    `json:"impact"` // minor, moderate, serious, critical
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []AxeNode `json:"nodes"`
}

// String is the rule, its impact and help, and every element it failed on.
func (v AxeViolation) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s (%s): %s — %s", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&sb, "\n    %v %s", n.Target, n.HTML)
		if n.FailureSummary != "" {
			fmt.Fprintf(&sb, "\n      %s", strings.ReplaceAll(n.FailureSummary, "\n", "\n      "))
		}
	}
	return sb.String()
}

// Blocking reports whether a violation fails Axe: impact serious or critical.
func (v AxeViolation) Blocking() bool { return v.Impact == "serious" || v.Impact == "critical" }

// AxeCheck runs axe-core (its default rules: WCAG 2.x A and AA and axe's
// best practices) on the current page and returns every violation. Axe is
// injected through DevTools, not the page, so the page's CSP stays as it
// is; after the first AxeCheck every page the tab loads gets it.
func (b *Browser) AxeCheck(t testing.TB) []AxeViolation {
	t.Helper()
	if !b.axeEveryPage {
		// From now on the tab loads axe into every new document before
		// the page's own scripts (outside its CSP, like Evaluate): the
		// browser then reuses the compiled script, which costs a fraction
		// of evaluating its 650 kB on each page.
		ctx, cancel := b.timeout()
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: axeSource})
		cancel()
		if err != nil {
			t.Fatalf("webtest: load axe-core into new pages: %v", err)
		}
		b.axeEveryPage = true
	}
	if !eval[bool](t, b, "typeof window.axe === 'object'") { // a page loaded before
		if _, err := run(b, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
			t.Fatalf("webtest: inject axe-core: %v", err)
		}
	}
	var out []AxeViolation
	raw, err := run(b, chromedp.Evaluate[[]byte](`axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target, html: n.html, failureSummary: n.failureSummary || ''}))})))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("webtest: axe.run: %v", err)
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("webtest: axe.run result %s: %v", raw, err)
	}
	return out
}

// Axe runs axe-core on the current page and fails t for each violation of
// impact serious or critical (naming the rule, its help and the elements);
// lesser ones are logged.
func (b *Browser) Axe(t testing.TB) {
	t.Helper()
	page := b.Location(t)
	for _, v := range b.AxeCheck(t) {
		if v.Blocking() {
			t.Errorf("axe on %s: %s", page, v)
		} else {
			t.Logf("axe on %s (not blocking): %s", page, v)
		}
	}
}
