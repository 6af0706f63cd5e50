package sandbox_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func TestRecentMedia(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.account(t, "maria", 4200)
		e.account(t, "other", 10)
		tok := e.connect(t, "maria")

		got, err := e.client.RecentMedia(e.ctx, tok, 12)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("no posts: %v, %v; want an empty slice", got, err)
		}

		var ids []string
		for i := range 5 {
			p, err := e.world.Publish(e.ctx, "maria", "post", platform.TypeImage, t0.Add(time.Duration(-10+i)*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.world.AddCounts(e.ctx, p.ID, sandbox.Delta{Likes: int64(i + 1), Views: 100}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, p.ID)
		}
		if _, err := e.world.Publish(e.ctx, "other", "not mine", platform.TypeImage, t0); err != nil {
			t.Fatal(err)
		}
		if err := e.world.DeletePost(e.ctx, ids[4]); err != nil {
			t.Fatal(err)
		}
		if _, err := e.world.SetCounts(e.ctx, ids[3], map[platform.Metric]platform.Count{platform.Saves: platform.Unknown()}); err != nil {
			t.Fatal(err)
		}

		got, err = e.client.RecentMedia(e.ctx, tok, 3)
		if err != nil {
			t.Fatal(err)
		}
		// Newest first, the deleted post and the other account's left out.
		want := []string{ids[3], ids[2], ids[1]}
		if len(got) != len(want) {
			t.Fatalf("got %d items, want %d: %+v", len(got), len(want), got)
		}
		for i, m := range got {
			if m.MediaID != want[i] || m.AccountID != tok.AccountID {
				t.Fatalf("item %d = %+v, want media %s", i, m, want[i])
			}
		}
		if c := got[0].Counts; c.Likes != platform.Known(4) || c.Views != platform.Known(100) || c.Saves.Known {
			t.Fatalf("counts of the newest: %+v", c)
		}
		if all, err := e.client.RecentMedia(e.ctx, tok, 1000); err != nil || len(all) != 4 {
			t.Fatalf("a too large limit is clamped: %d items, %v", len(all), err)
		}

		// The raw endpoint checks its limit and needs the insights scope.
		req, _ := http.NewRequest("GET", e.srv.URL+sandbox.Prefix+"/api/me/media?limit=0", nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("limit=0 answered %d, want 400", resp.StatusCode)
		}
		e.client.Scopes = []string{sandbox.ScopeProfile, sandbox.ScopeMedia}
		narrow := e.connect(t, "maria")
		_, err = e.client.RecentMedia(e.ctx, narrow, 12)
		wantKind(t, "recent media without insights", err, platform.ErrReconnect)
		wantCode(t, "recent media without insights", err, "insufficient_scope")
	})
}
