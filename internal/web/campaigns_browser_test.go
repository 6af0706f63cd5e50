package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// css makes a selector for an input id holding dots ("f-prices.like").
func css(id string) string { return `[id="` + id + `"]` }

// A brand runs the new-campaign wizard in a real browser: its empty list,
// a draft, every setup step (a bad price refused beside its field, the
// pricing advisor's advice shown), funding, opening, then ends and closes
// the campaign with the refund shown. Every page is screenshotted at 390
// and 1280 px and checked with axe.
func TestBrowserWizard(t *testing.T) {
	b := webtest.Start(t)
	a := webtest.NewApp(t, storetest.SQLiteURL(t))
	a.SignedInBrand(t, b, "Acme Coffee", "ann@acme.example")
	look := func(name string) {
		t.Helper()
		b.Shot(t, name)
		b.Axe(t)
	}
	submit := func(want int) {
		t.Helper()
		if st := b.Submit(t, "main form.stack button[type=submit]"); st != want {
			t.Fatalf("submit on %s answered %d; want %d: %s", b.Path(t), st, want, b.Text(t, "main"))
		}
	}

	b.Visit(t, "/campaigns")
	look("campaigns-empty")
	b.Submit(t, `main a[href="/campaigns/new"]`)
	look("wizard-new")
	b.Fill(t, "#f-name", "")
	b.Fill(t, css("f-budget.amount"), "ten")
	submit(400)
	if got := b.Text(t, css("f-name-error")); !strings.Contains(got, "required") {
		t.Fatalf("name error %q", got)
	}
	look("wizard-new-errors")
	b.Fill(t, "#f-name", "Summer cold brew")
	b.Fill(t, css("f-budget.amount"), "150")
	submit(200)

	// goal
	if p := b.Path(t); !strings.HasSuffix(p, "/setup/goal") {
		t.Fatalf("after creating the draft on %s", p)
	}
	id := strings.Split(b.Path(t), "/")[2]
	look("wizard-goal")
	b.Fill(t, css("f-goal.primary"), "roas")
	b.Fill(t, css("f-goal.primary_target"), "3.5")
	b.Fill(t, css("f-ends_at"), a.Clock.Now().Add(30*24*time.Hour).UTC().Format("2006-01-02"))
	submit(200)

	// model: the advisor's advice as the brand types (static/wizard.js).
	look("wizard-model")
	advised := func(want bool) string {
		t.Helper()
		var text string
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			var shown bool
			b.Eval(t, `!document.querySelector('[id="f-prices-warning"]').hidden`, &shown)
			if shown == want {
				return b.Text(t, css("f-prices-warning"))
			}
		}
		t.Fatalf("the only-likes advice shown=%v while typing; want %v (%q)", !want, want, text)
		return ""
	}
	b.Fill(t, css("f-prices.like"), "0.05")
	if got := advised(true); !strings.Contains(got, "like") {
		t.Fatalf("advice while typing %q", got)
	}
	look("wizard-model-typing")
	b.Fill(t, css("f-prices.comment"), "0.25")
	advised(false)

	// a bad price, refused beside its field.
	b.Fill(t, css("f-prices.comment"), "")
	b.Fill(t, css("f-prices.like"), "-0.05")
	b.Fill(t, css("f-prices.view"), "0.002")
	submit(400)
	if got := b.Text(t, css("f-prices.like-error")); !strings.Contains(got, "negative") {
		t.Fatalf("like price error %q", got)
	}
	look("wizard-model-errors")
	b.Fill(t, css("f-prices.view"), "")
	b.Fill(t, css("f-prices.like"), "0.05")
	submit(200)
	b.Visit(t, "/campaigns/"+id+"/setup/model")
	if got := b.Text(t, css("f-prices-warning")) + b.Text(t, css("f-budget-warning")); !strings.Contains(got, "like") || !strings.Contains(got, "200") {
		t.Fatalf("advisor's advice %q; want only-likes and the small budget", got)
	}
	look("wizard-model-advice")
	b.Fill(t, css("f-prices.view"), "0.002")
	b.Fill(t, css("f-prices.comment"), "0.25")
	b.Fill(t, css("f-performance.commission_bps"), "10")
	submit(200)

	// tier, tracking, brief
	look("wizard-tier")
	b.Check(t, css("f-eligibility.platforms-3"), true) // sandbox
	b.Check(t, css("f-eligibility.platforms-0"), true) // instagram
	submit(200)
	look("wizard-tracking")
	submit(200)
	look("wizard-brief")
	b.Fill(t, css("f-brief.product"), "Cold brew in cans")
	b.Fill(t, css("f-brief.message"), "Summer mornings, no barista needed")
	b.Fill(t, css("f-brief.required_hashtags"), "#coldbrew")
	b.Fill(t, css("f-brief.landing_url"), "https://shop.example.com/cold-brew")
	b.Check(t, css("f-brief.post_types.instagram-1"), true) // reels
	b.Check(t, css("f-content_approval"), true)
	submit(200)

	// fund, open
	if p := b.Path(t); !strings.HasSuffix(p, "/setup/fund") {
		t.Fatalf("after the brief on %s: %s", p, b.Text(t, "main"))
	}
	look("wizard-fund")
	submit(200)
	if got := b.Text(t, "#state"); got != "funded" {
		t.Fatalf("state after funding %q", got)
	}
	look("wizard-open")
	if st := b.Submit(t, `form[action="/campaigns/`+id+`/open"] button`); st != 200 {
		t.Fatalf("open answered %d", st)
	}
	if got := b.Text(t, "#state"); got != "open" {
		t.Fatalf("state after opening %q", got)
	}
	look("wizard-opened")

	b.Visit(t, "/campaigns")
	if got := b.Text(t, "#c-"+id+" .budget"); got != "150.00 EUR" {
		t.Fatalf("list budget %q", got)
	}
	look("campaigns-list")

	// end and close
	b.Visit(t, "/campaigns/"+id+"/setup/open")
	b.Submit(t, `form[action="/campaigns/`+id+`/complete"] button`)
	b.Submit(t, `a[href="/campaigns/`+id+`/close"]`)
	if got := b.Text(t, "#to-refund"); got != "150.00 EUR" {
		t.Fatalf("to be refunded %q", got)
	}
	look("campaigns-close")
	b.Submit(t, `form[action="/campaigns/`+id+`/close"] button`)
	if got := b.Text(t, "#refunded"); got != "150.00 EUR" {
		t.Fatalf("refunded %q", got)
	}
	look("campaigns-closed")
}
