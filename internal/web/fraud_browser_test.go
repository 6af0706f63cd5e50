package web_test

import (
	"strings"
	"testing"

	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// A brand reviews its campaign's fraud flags in a real browser: the Fraud
// tab, flags per creator with the held amount, a confirm refused without a
// reason beside that flag's field, a dismiss with one, and the sensitivity
// changed. Screenshots at 390 and 1280 px, axe on each state.
func TestBrowserFraudPage(t *testing.T) {
	b := webtest.Start(t)
	w := newCollabWorld(t, storetest.SQLiteURL(t))
	w.decideAndPost(true)
	w.approveBillAndConvert(true)
	flags := w.raiseFlags()
	w.a.SignIn(t, b, "ann@glow.example")
	base := "/campaigns/" + w.campaign

	b.Visit(t, base+"/earnings")
	b.Submit(t, `nav.tabs a[href$="/flags"]`)
	if b.Path(t) != base+"/flags" || b.Count(t, "article.flag") != 3 || b.Count(t, "section.card[id^=creator-]") != 2 {
		t.Fatalf("the Fraud tab: %s, %d flags", b.Path(t), b.Count(t, "article.flag"))
	}
	b.Shot(t, "fraud-flags")
	b.Axe(t)

	fa := flags["ana"][0]
	b.Submit(t, "#flag-"+fa.ID+` button[formaction$="/confirm"]`)
	if got := b.Text(t, "#flag-"+fa.ID+" .field-error"); got == "" {
		t.Fatal("no error beside the reason after confirming without one")
	}
	b.Shot(t, "fraud-flags-reason-required")
	b.Axe(t)

	fb := flags["ben"][0]
	b.Fill(t, "#reason-"+fb.ID, "a giveaway drove the clicks")
	b.Submit(t, "#flag-"+fb.ID+` button[type=submit]`)
	if got := b.Text(t, ".flash"); !strings.Contains(got, "dismissed") {
		t.Fatalf("flash after dismiss: %q", got)
	}
	if b.Has(t, "#flag-"+fb.ID) {
		t.Fatal("the dismissed flag is still listed")
	}
	b.Fill(t, "#f-sensitivity", "strict")
	b.Submit(t, "#sensitivity button")
	if got := b.Text(t, ".flash"); !strings.Contains(got, "strict") {
		t.Fatalf("flash after the sensitivity: %q", got)
	}
	b.Shot(t, "fraud-flags-after")
	b.Axe(t)
}
