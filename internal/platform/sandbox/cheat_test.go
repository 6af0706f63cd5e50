package sandbox_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func (e *env) drive(t *testing.T, path string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	res, err := e.srv.Client().Post(e.srv.URL+sandbox.Prefix+"/driver"+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil && res.StatusCode == http.StatusOK {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode
}

func counts(p sandbox.Post) [5]int64 {
	c := p.Counts
	return [5]int64{c.Views.Value, c.Likes.Value, c.Comments.Value, c.Shares.Value, c.Saves.Value}
}

func TestCheatsOnPosts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		a := e.account(t, "cheater", 5000)
		p := e.publish(t, a.ID)
		if _, err := e.world.AddCounts(e.ctx, p.ID, sandbox.Delta{Views: 10_000, Likes: 500, Comments: 20, Shares: 30, Saves: 40}); err != nil {
			t.Fatal(err)
		}
		var got sandbox.Post
		// A like farm: 5,000 likes, 100 views, 25 comments — likes above views.
		if s := e.drive(t, "/posts/"+p.ID+"/cheat", sandbox.Cheat{Kind: sandbox.CheatLikeFarm, Amount: 5000}, &got); s != 200 {
			t.Fatalf("like farm: %d", s)
		}
		if c := counts(got); c != [5]int64{10_100, 5500, 45, 30, 40} {
			t.Errorf("after the like farm: %v", c)
		}
		// The platform takes 4,000 of them back: the counter falls.
		if s := e.drive(t, "/posts/"+p.ID+"/cheat", sandbox.Cheat{Kind: sandbox.CheatRemoveLikes, Amount: 4000}, &got); s != 200 || got.Counts.Likes.Value != 1500 {
			t.Errorf("remove likes: %d, likes %d", s, got.Counts.Likes.Value)
		}
		// View bots: 50,000 views, 50 likes.
		if s := e.drive(t, "/posts/"+p.ID+"/cheat", sandbox.Cheat{Kind: sandbox.CheatViewBots, Amount: 50_000}, &got); s != 200 {
			t.Fatalf("view bots: %d", s)
		}
		if c := counts(got); c != [5]int64{60_100, 1550, 45, 30, 40} {
			t.Errorf("after view bots: %v", c)
		}
		if s := e.drive(t, "/posts/"+p.ID+"/cheat", sandbox.Cheat{Kind: "sleep", Amount: 1}, nil); s != 400 {
			t.Errorf("an unknown cheat: %d", s)
		}
		if s := e.drive(t, "/posts/pst_nope/cheat", sandbox.Cheat{Kind: sandbox.CheatViewBots, Amount: 1}, nil); s != 404 {
			t.Errorf("an unknown post: %d", s)
		}
	})
}

// Going viral keeps the post's own proportions: every metric rises
// together, within ±15 % of its ratio to views.
func TestCheatViralIsOrganic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		a := e.account(t, "honest", 5000)
		p := e.publish(t, a.ID)
		before, err := e.world.AddCounts(e.ctx, p.ID, sandbox.Delta{Views: 10_000, Likes: 800, Comments: 40, Shares: 50, Saves: 60})
		if err != nil {
			t.Fatal(err)
		}
		var got sandbox.Post
		for step := range 5 {
			if s := e.drive(t, "/posts/"+p.ID+"/cheat", sandbox.Cheat{Kind: sandbox.CheatViral, Amount: 100_000 * int64(step+1), Seed: uint64(step)}, &got); s != 200 {
				t.Fatalf("viral step %d: %d", step, s)
			}
		}
		b, c := counts(before), counts(got)
		dv := float64(c[0] - b[0])
		if dv != 1_500_000 {
			t.Fatalf("views grew %v", dv)
		}
		for m, per := range []float64{0, 0.08, 0.004, 0.005, 0.006} {
			if m == 0 {
				continue
			}
			r := float64(c[m]-b[m]) / dv
			if r < per*0.85 || r > per*1.15 {
				t.Errorf("metric %d grew %.5f per view, want %.4f ± 15 %%", m, r, per)
			}
		}
	})
}

func TestCheatFollowers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "buyer", 2000)
		var a sandbox.Account
		if s := e.drive(t, "/accounts/buyer/cheat", sandbox.Cheat{Kind: sandbox.CheatBuyFollowers, Amount: 30_000}, &a); s != 200 || a.Followers.Value != 32_000 {
			t.Fatalf("bought followers: %d, %d followers", s, a.Followers.Value)
		}
		if s := e.drive(t, "/accounts/buyer/cheat", sandbox.Cheat{Kind: sandbox.CheatPurgeFollowers, Amount: 25_000}, &a); s != 200 || a.Followers.Value != 7000 {
			t.Fatalf("purge: %d, %d followers", s, a.Followers.Value)
		}
		if s := e.drive(t, "/accounts/buyer/cheat", sandbox.Cheat{Kind: sandbox.CheatPurgeFollowers, Amount: 25_000}, &a); s != 200 || a.Followers.Value != 0 {
			t.Fatalf("purge below zero: %d, %d followers", s, a.Followers.Value)
		}
		if _, err := e.world.SetFollowers(e.ctx, "buyer", platform.Count{}); err != nil {
			t.Fatal(err)
		}
		if s := e.drive(t, "/accounts/buyer/cheat", sandbox.Cheat{Kind: sandbox.CheatBuyFollowers, Amount: 1}, nil); s != 400 {
			t.Errorf("hidden followers: %d", s)
		}
		if s := e.drive(t, "/accounts/buyer/cheat", sandbox.Cheat{Kind: sandbox.CheatViral, Amount: 1}, nil); s != 400 {
			t.Errorf("a post's cheat on an account: %d", s)
		}
	})
}

func TestCheatClickFarmAndSelfPurchases(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		var farm struct{ Data []sandbox.Visit }
		if s := e.drive(t, "/cheats/click-farm", map[string]any{"clicks": 500, "devices": 12, "seconds": 3600, "seed": 7}, &farm); s != 200 || len(farm.Data) != 500 {
			t.Fatalf("click farm: %d, %d visits", s, len(farm.Data))
		}
		if again := sandbox.ClickFarm(500, 12, time.Hour, 7); again[99] != farm.Data[99] {
			t.Error("the click farm is not seeded")
		}
		visitors, dc := map[string]bool{}, 0
		for _, v := range farm.Data {
			visitors[v.IP+v.UserAgent] = true
			if _, ok := fraud.DataCentre(v.IP); ok {
				dc++
			}
			if v.After < 0 || v.After >= time.Hour {
				t.Fatalf("visit after %v", v.After)
			}
		}
		if dc < 70 || dc > 130 {
			t.Errorf("%d of 500 from data centres, want about 100", dc)
		}
		if n := len(visitors) - dc; n > 12 {
			t.Errorf("%d farm visitors outside data centres, want at most 12 devices", n)
		}
		var sp struct{ Data []sandbox.SelfPurchase }
		if s := e.drive(t, "/cheats/self-purchases", map[string]any{"email": "sam@gmail.com", "orders": 3, "seed": 1}, &sp); s != 200 || len(sp.Data) != 3 {
			t.Fatalf("self-purchases: %d %d", s, len(sp.Data))
		}
		for _, p := range sp.Data {
			if fraud.NormalizeEmail(p.CustomerEmail) != "sam@gmail.com" || p.CustomerEmail == "sam@gmail.com" {
				t.Errorf("customer email %q", p.CustomerEmail)
			}
			if p.OrderAfter >= 10*time.Second || p.OrderAfter < 2*time.Second {
				t.Errorf("ordered %v after the click", p.OrderAfter)
			}
		}
		if s := e.drive(t, "/cheats/click-farm", map[string]any{"clicks": 0}, nil); s != 400 {
			t.Errorf("no clicks: %d", s)
		}
		if !strings.HasPrefix(sp.Data[1].Visit.UserAgent, "Mozilla/5.0") {
			t.Error("self-purchaser's browser")
		}
	})
}
