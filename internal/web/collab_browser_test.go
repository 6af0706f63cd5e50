package web_test

import (
	"strings"
	"testing"

	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// A brand works through its campaign's collaboration pages in a real
// browser: accepts a creator on a card, approves a post, sees codes and
// links (copied with the copy button), conversions, earnings, a hold
// refused without a reason beside its field, and the evidence of an
// interactions earning (cut by the creator's cap), a commission and a flat
// fee. Every page is screenshotted at 390 and 1280 px and checked with axe.
func TestBrowserCollabPages(t *testing.T) {
	b := webtest.Start(t)
	w := newCollabWorld(t, storetest.SQLiteURL(t))
	w.a.SignIn(t, b, "ann@glow.example")
	base := "/campaigns/" + w.campaign
	look := func(name string) {
		t.Helper()
		b.Shot(t, name)
		b.Axe(t)
	}

	b.Visit(t, base+"/applications")
	if n := b.Count(t, "article.card"); n != 3 {
		t.Fatalf("%d creator cards; want 3", n)
	}
	look("collab-applications")
	b.Submit(t, "#app-"+w.apps["ana"]+` form[action$="/accept"] button`)
	if got := b.Text(t, ".flash"); !strings.Contains(got, "accepted") {
		t.Fatalf("flash after accept: %q", got)
	}
	if got := b.Text(t, "#app-"+w.apps["ana"]+" h2"); !strings.Contains(got, "accepted") {
		t.Fatalf("ana's card after accept: %q", got)
	}
	w.decideAndPost(false) // the rest as the test client and the API would

	b.Visit(t, base+"/posts")
	look("collab-posts-pending")
	b.Submit(t, "#decide-"+w.posts["ana"]+` form[action$="/approve"] button`)
	if got := b.Text(t, "#post-"+w.posts["ana"]); !strings.Contains(got, "live") {
		t.Fatalf("ana's post after approval: %q", got)
	}
	w.approveBillAndConvert(false)
	w.a.SignIn(t, b, "ann@glow.example") // an hour passed: the session went idle

	b.Visit(t, base+"/posts")
	look("collab-posts")
	b.Visit(t, base+"/codes")
	if b.Attr(t, "button[data-copy]", "data-copy") != "ANA10" {
		t.Fatalf("copy button copies %q", b.Attr(t, "button[data-copy]", "data-copy"))
	}
	look("collab-codes")
	b.Visit(t, base+"/conversions")
	look("collab-conversions")
	b.Visit(t, base+"/earnings")
	look("earnings-list")

	var inter, comm, flat string
	for _, e := range w.earnings() {
		switch {
		case e.Kind == engage.KindInteractions && e.Requested != e.Gross:
			inter = e.ID
		case e.Kind == engage.KindCommission:
			comm = e.ID
		case e.Kind == engage.KindFlatFee:
			flat = e.ID
		}
	}
	if inter == "" || comm == "" || flat == "" {
		t.Fatalf("earnings: cut interactions %q, commission %q, flat fee %q", inter, comm, flat)
	}
	b.Visit(t, base+"/earnings/"+flat)
	look("earnings-evidence-flat-fee")
	b.Visit(t, base+"/earnings/"+comm)
	look("earnings-evidence-commission")
	b.Visit(t, base+"/earnings/"+inter)
	// A hold without a reason: refused, the reason's field says why.
	if st := b.Submit(t, `form.stack button.secondary`); st != 400 {
		t.Fatalf("a hold without a reason answered %d; want 400", st)
	}
	if got := b.Text(t, "#f-reason-error"); !strings.Contains(got, "say why") {
		t.Fatalf("reason error %q", got)
	}
	look("earnings-evidence-interactions")
	if n := b.Count(t, "#readings tbody tr"); n < 2 {
		t.Fatalf("%d readings shown", n)
	}
}
