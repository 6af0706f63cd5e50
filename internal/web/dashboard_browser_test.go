package web_test

import (
	"strings"
	"testing"

	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// A brand opens its campaign's dashboard in a real browser: the headline
// numbers, the charts and the leaderboard, a column sorted by its link, a
// custom range with a bad date shown beside its field. Each page is
// screenshotted at 390 and 1280 px and checked with axe.
func TestBrowserDashboard(t *testing.T) {
	b := webtest.Start(t)
	w := newDashWorld(t, storetest.SQLiteURL(t))
	w.a.SignIn(t, b, "ann@glow.example")
	look := func(name string) {
		t.Helper()
		b.Shot(t, name)
		b.Axe(t)
	}
	if st := b.Visit(t, "/campaigns/"+w.camp); st != 200 {
		t.Fatalf("dashboard answered %d", st)
	}
	if n := b.Count(t, ".tile"); n != 11 {
		t.Fatalf("%d headline tiles; want 11", n)
	}
	if n := b.Count(t, "table.leaderboard tbody tr"); n != 3 {
		t.Fatalf("%d leaderboard rows; want 3", n)
	}
	if got := b.Text(t, "#runout"); !strings.Contains(got, "runs out on") {
		t.Fatalf("run-out line %q", got)
	}
	look("dashboard")

	b.Submit(t, `a[data-sort="creator"]`)
	if got := b.Texts(t, "table.leaderboard tbody th"); len(got) != 3 || got[0] != "@ana_skin" || got[2] != "@mia_glow" {
		t.Fatalf("sorted by creator: %v", got)
	}

	b.Visit(t, "/campaigns/"+w.camp+"?range=14d")
	look("dashboard-14d")

	b.Fill(t, "#f-from", "2026-05-02")
	b.Fill(t, "#f-to", "2026-05-01")
	if st := b.Submit(t, "form.range-form button[type=submit]"); st != 400 {
		t.Fatalf("to before from answered %d; want 400", st)
	}
	if got := b.Text(t, "#f-to-error"); !strings.Contains(got, "before") {
		t.Fatalf("to error %q", got)
	}
	look("dashboard-bad-range")
}
