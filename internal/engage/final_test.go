package engage_test

import (
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestFinalReadBeforeCompletion: a campaign whose end date passed is read
// one last time before it completes, so engagement that grew since each
// post's last poll is billed — also for a post whose next poll is not due
// yet. After completion nothing more is billed.
func TestFinalReadBeforeCompletion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		ends := t0.Add(2 * time.Hour) // within the sandbox tokens' lifetime
		e.endsAt = ends
		camp := e.campaign(100*eur, campaign.Prices{Like: 100_000}, 0, false) // €0.10 a like
		ana, ben := e.creator("ana", camp), e.creator("ben", camp)
		pa, spa := e.post(ana, "ana", camp, "#glowup #ad")
		_, spb := e.post(ben, "ben", camp, "#glowup #ad")
		e.add(spa.ID, sandbox.Delta{Likes: 10})
		e.add(spb.ID, sandbox.Delta{Likes: 20})
		e.tick()
		if s := e.escrow(camp.ID).Spent; s != 30*100_000 {
			t.Fatalf("spent %d, want 30 likes", s)
		}
		// Ten seconds before the end, ana's post is read (its next poll is
		// a minute later, after the end); then both posts grow.
		e.clk.Set(ends.Add(-10 * time.Second))
		e.add(spa.ID, sandbox.Delta{Likes: 1})
		if r, err := e.svc.PollCampaign(e.ctx, camp.ID); err != nil || r.Granted != 100_000 {
			t.Fatalf("poll before the end: %+v, %v; want ana's like billed", r, err)
		}
		if next, _, err := e.svc.Schedule(e.ctx, camp.ID, ana.SubjectID, pa.ID); err != nil || next <= ends.Add(time.Second).UnixMicro() {
			t.Fatalf("ana's next poll at %d, %v; want it after the end", next, err)
		}
		e.add(spa.ID, sandbox.Delta{Likes: 4})
		e.add(spb.ID, sandbox.Delta{Likes: 7})
		e.clk.Set(ends.Add(time.Second))
		if _, err := e.svc.Tick(e.ctx); err != nil {
			t.Fatal(err)
		}
		got, err := e.camps.Get(e.ctx, e.brand, camp.ID)
		if err != nil || got.State != campaign.StateCompleted || got.StateReason != campaign.CompletedEndDate {
			t.Fatalf("campaign after its end: %s (%s), %v; want completed end_date_reached", got.State, got.StateReason, err)
		}
		// Billed: 30 + 1 before the end, and the 4 + 7 grown since the last reads.
		if s := e.escrow(camp.ID).Spent; s != 42*100_000 {
			t.Fatalf("spent %d after the final read, want 42 likes (%d)", s, 42*100_000)
		}
		if g, _ := e.earned(camp.ID, ana.SubjectID); g != 15*100_000 {
			t.Fatalf("ana gross %d, want 15 likes", g)
		}
		// Completed: growth after the final read is not billed.
		e.add(spb.ID, sandbox.Delta{Likes: 50})
		e.tick()
		if s := e.escrow(camp.ID).Spent; s != 42*100_000 {
			t.Fatalf("spent %d after completion", s)
		}
		if p, err := e.svc.GetPost(e.ctx, e.brand, pa.ID); err != nil || p.State != engage.PostLive || p.Billed.Likes.Value != 15 {
			t.Fatalf("ana's post after completion: %+v, %v", p, err)
		}
		e.audit()
	})
}

// TestFinalReadConcurrentTicks: two servers tick at once after the end
// date: the final reads race, the growth is billed once, the campaign
// completes once.
func TestFinalReadConcurrentTicks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		ends := t0.Add(2 * time.Hour)
		e.endsAt = ends
		camp := e.campaign(100*eur, campaign.Prices{Like: 100_000}, 0, false)
		var posts []string
		for _, h := range []string{"ana", "ben", "cleo"} {
			p := e.creator(h, camp)
			for range 2 {
				_, sp := e.post(p, h, camp, "#glowup #ad")
				posts = append(posts, sp.ID)
			}
		}
		other, err := engage.New(e.deps, engage.Config{PollInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		e.tick()
		for i, id := range posts {
			e.add(id, sandbox.Delta{Likes: int64(i + 1)}) // 21 likes in all
		}
		e.clk.Set(ends.Add(time.Second))
		var wg sync.WaitGroup
		errc := make(chan error, 4)
		for _, s := range []*engage.Service{e.svc, other, e.svc, other} {
			wg.Go(func() {
				_, err := s.Tick(e.ctx)
				errc <- err
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		if s := e.escrow(camp.ID).Spent; s != 21*100_000 {
			t.Fatalf("spent %d, want 21 likes once", s)
		}
		got, err := e.camps.Get(e.ctx, e.brand, camp.ID)
		if err != nil || got.State != campaign.StateCompleted || got.StateReason != campaign.CompletedEndDate {
			t.Fatalf("campaign: %s (%s), %v", got.State, got.StateReason, err)
		}
		e.audit()
	})
}
