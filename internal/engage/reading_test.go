package engage_test

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// counts is a reading of views and likes, the other metrics unknown.
func counts(views, likes int64) platform.Counts {
	return platform.Counts{Views: platform.Known(views), Likes: platform.Known(likes)}
}

// TestImpossibleReadingIsFlagged: a post whose platform reports an
// impossible counter (billions of billions of views, int64's maximum, a
// negative count) is flagged with a reason instead of failing its chunk:
// the other creator of the campaign is billed to the micro-unit, the absurd
// reading bills nothing — then or later — and once the brand approves the
// post again, billing resumes from the marks before the absurd reading.
func TestImpossibleReadingIsFlagged(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		for i, absurd := range []int64{7_500_000_000_000_000, math.MaxInt64, -5, engage.MaxPlausibleCount + 1} {
			t.Run(fmt.Sprint(absurd), func(t *testing.T) {
				e.t = t
				prices := campaign.Prices{View: 2_000, Like: 50_000} // €0.002 a view, €0.05 a like
				camp := e.campaign(1000*eur, prices, 0, false)
				ha, hb := fmt.Sprintf("ana%d", i), fmt.Sprintf("ben%d", i)
				ana, ben := e.creator(ha, camp), e.creator(hb, camp)
				pa, spa := e.post(ana, ha, camp, "#glowup #ad")
				_, spb := e.post(ben, hb, camp, "#glowup #ad")
				poll := func() engage.PollResult {
					t.Helper()
					e.clk.Advance(time.Minute)
					r, err := e.svc.PollCampaign(e.ctx, camp.ID)
					if err != nil {
						t.Fatalf("poll: %v", err)
					}
					return r
				}
				e.add(spa.ID, sandbox.Delta{Views: 1000})
				e.add(spb.ID, sandbox.Delta{Views: 400})
				poll()

				// ana's platform reports the absurd count (and 10 new likes);
				// ben grows by 300 views.
				e.accounts.setCounts(pa.MediaID, counts(absurd, 10), false)
				e.add(spb.ID, sandbox.Delta{Views: 300})
				r := poll()
				if r.Flagged != 1 || r.PostsRead != 1 || r.Granted != 300*2_000 {
					t.Fatalf("poll with the absurd reading: %+v; want 1 flagged, ben's 300 views (€0.60) granted", r)
				}
				if g, _ := e.earned(camp.ID, ben.SubjectID); g != 700*2_000 {
					t.Fatalf("ben gross %d, want %d", g, 700*2_000)
				}
				if g, _ := e.earned(camp.ID, ana.SubjectID); g != 1000*2_000 {
					t.Fatalf("ana gross %d after the absurd reading, want her first €2 only", g)
				}
				got, err := e.svc.GetPost(e.ctx, e.brand, pa.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != engage.PostFlagged || !strings.Contains(got.StateReason, "views") || !strings.Contains(got.StateReason, fmt.Sprint(absurd)) {
					t.Fatalf("post after the absurd reading: %s (%q); want flagged naming views and %d", got.State, got.StateReason, absurd)
				}
				if got.Billed.Views.Value != 1000 || got.Billed.Likes.Value != 0 || got.Requested != 1000*2_000 {
					t.Fatalf("marks moved by the absurd reading: billed %+v, requested %d", got.Billed, got.Requested)
				}

				// Flagged, the post is neither read nor billed, whatever it reports.
				e.accounts.setCounts(pa.MediaID, platform.Counts{}, true)
				e.add(spa.ID, sandbox.Delta{Views: 500})
				e.add(spb.ID, sandbox.Delta{Views: 100})
				if r := poll(); r.PostsRead != 1 || r.Granted != 100*2_000 {
					t.Fatalf("poll with the post flagged: %+v", r)
				}

				if _, err := e.svc.Decide(e.ctx, ana, pa.ID, true, ""); err == nil {
					t.Fatal("the creator approved her own flagged post")
				}
				// The brand looks and approves it: billing resumes above the
				// marks from before the absurd reading (1,000 views).
				if p, err := e.svc.Decide(e.ctx, e.brand, pa.ID, true, ""); err != nil || p.State != engage.PostLive {
					t.Fatalf("approve the flagged post: %+v, %v", p, err)
				}
				if r := poll(); r.PostsRead != 2 || r.Granted != 500*2_000 {
					t.Fatalf("poll after approval: %+v; want ana's 500 views (€1)", r)
				}
				if st := e.escrow(camp.ID); st.Spent != (1500+800)*2_000 {
					t.Fatalf("spent %d, want %d", st.Spent, (1500+800)*2_000)
				}
				// An approved post that still reports the impossible is flagged again.
				e.accounts.setCounts(pa.MediaID, counts(absurd, 0), false)
				if r := poll(); r.Flagged != 1 || r.Granted != 0 {
					t.Fatalf("poll with the absurd reading again: %+v", r)
				}
				e.accounts.setCounts(pa.MediaID, platform.Counts{}, true)
				e.audit()
			})
		}
	})
}

// TestHugeReadingAsksAtMostTheEscrow: a reading within the plausible range
// whose growth × price does not fit in int64 asks for the escrow left (it is
// not an error): the campaign's budget is spent exactly and it completes.
func TestHugeReadingAsksAtMostTheEscrow(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(100*eur, campaign.Prices{View: 10 * eur}, 0, false) // €10 a view: 10^12 views overflow
		ana, ben := e.creator("ana", camp), e.creator("ben", camp)
		pa, _ := e.post(ana, "ana", camp, "#glowup #ad")
		pa2, _ := e.post(ana, "ana", camp, "#glowup #ad again")
		_, spb := e.post(ben, "ben", camp, "#glowup #ad")
		e.accounts.setCounts(pa.MediaID, counts(engage.MaxPlausibleCount, 0), false)
		e.accounts.setCounts(pa2.MediaID, counts(engage.MaxPlausibleCount/2, 0), false)
		e.add(spb.ID, sandbox.Delta{Views: 3})
		e.clk.Advance(time.Minute)
		r, err := e.svc.PollCampaign(e.ctx, camp.ID)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if !r.Completed || r.Granted != 100*eur || r.Flagged != 0 {
			t.Fatalf("poll: %+v; want the whole €100 granted and the campaign completed", r)
		}
		// Ben asks €30; ana, for both her posts, the €100 the escrow held,
		// not 1.5 × 10^13 euros; her earning's details add up to it.
		if r.Requested != 130*eur {
			t.Fatalf("requested %d, want %d (ana capped at the escrow left)", r.Requested, 130*eur)
		}
		es, err := e.svc.ListEarnings(e.ctx, e.brand, camp.ID, "", ana.SubjectID)
		if err != nil || len(es) != 1 {
			t.Fatalf("ana's earnings %+v, %v", es, err)
		}
		var sum int64
		for _, d := range es[0].Detail {
			sum += d.Amount
		}
		if es[0].Requested.Micros != 100*eur || sum != 100*eur {
			t.Fatalf("ana's earning asks %d, its details add up to %d; want both %d", es[0].Requested.Micros, sum, 100*eur)
		}
		got, err := e.svc.GetPost(e.ctx, e.brand, pa.ID)
		if err != nil || got.Requested != 100*eur || got.Billed.Views.Value != engage.MaxPlausibleCount {
			t.Fatalf("ana's post: requested %d, billed %+v, %v", got.Requested, got.Billed, err)
		}
		if st := e.escrow(camp.ID); st.Spent != 100*eur || st.Remaining != 0 {
			t.Fatalf("escrow %+v", st)
		}
		e.audit()
	})
}

// TestReadingsProperty: over random sequences of readings of one creator's
// post — ordinary growth, falls, the plausible extreme and impossible values
// (negative, above MaxPlausibleCount, up to int64's limits) — polling never
// fails, never spends more than the escrow, bills the other creator of the
// campaign exactly, and bills the first creator exactly the priced growth of
// her plausible readings until one is impossible (then nothing more).
func TestReadingsProperty(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		const pv, pl = 2_000, 50_000 // €0.002 a view, €0.05 a like
		run := 0
		rapid.Check(t, func(rt *rapid.T) {
			run++
			if run > 50 { // each run is a campaign on a real database: a few are plenty
				return
			}
			const budget = 100 * eur
			camp := e.campaign(budget, campaign.Prices{View: pv, Like: pl}, 0, false)
			ha, hb := fmt.Sprintf("pa%d", run), fmt.Sprintf("pb%d", run)
			ana, ben := e.creator(ha, camp), e.creator(hb, camp)
			pa, _ := e.post(ana, ha, camp, "#glowup #ad")
			_, spb := e.post(ben, hb, camp, "#glowup #ad")
			defer e.accounts.setCounts(pa.MediaID, platform.Counts{}, true)
			extreme := rapid.SampledFrom([]int64{math.MaxInt64, math.MinInt64, 7_500_000_000_000_000, -1,
				engage.MaxPlausibleCount, engage.MaxPlausibleCount + 1, 0})
			var hwm [2]int64
			var wantAna, wantBen int64
			flagged, exhausted := false, false
			for tick := range rapid.IntRange(1, 6).Draw(rt, "ticks") {
				// ana's next reading: her marks plus some growth (or a fall),
				// or an extreme value, or any int64 at all.
				reading := [2]int64{max(0, hwm[0]+rapid.Int64Range(-50, 2_000).Draw(rt, fmt.Sprintf("views%d", tick))),
					max(0, hwm[1]+rapid.Int64Range(-5, 50).Draw(rt, fmt.Sprintf("likes%d", tick)))}
				switch rapid.IntRange(0, 3).Draw(rt, fmt.Sprintf("kind%d", tick)) {
				case 1:
					reading[0] = extreme.Draw(rt, fmt.Sprintf("extreme%d", tick))
				case 2:
					reading[0] = rapid.Int64().Draw(rt, fmt.Sprintf("any%d", tick))
				}
				benViews := rapid.Int64Range(0, 1_000).Draw(rt, fmt.Sprintf("ben%d", tick))
				e.accounts.setCounts(pa.MediaID, counts(reading[0], reading[1]), false)
				e.add(spb.ID, sandbox.Delta{Views: benViews})
				e.clk.Advance(time.Minute)
				r, err := e.svc.PollCampaign(e.ctx, camp.ID)
				if err != nil {
					rt.Fatalf("tick %d: poll failed: %v", tick, err)
				}
				st := e.escrow(camp.ID)
				if st.Spent > budget || st.Remaining < 0 || r.Requested < 0 || r.Granted < 0 || r.Granted > r.Requested {
					rt.Fatalf("tick %d: escrow %+v after %+v", tick, st, r)
				}
				if exhausted {
					if st.Spent != budget || r.Granted != 0 {
						rt.Fatalf("tick %d: billed after the escrow ran out: %+v", tick, st)
					}
					continue
				}
				var anaAsk int64
				if !flagged {
					if reading[0] < 0 || reading[1] < 0 || reading[0] > engage.MaxPlausibleCount || reading[1] > engage.MaxPlausibleCount {
						flagged = true
						if r.Flagged != 1 {
							rt.Fatalf("tick %d: reading %v not flagged: %+v", tick, reading, r)
						}
					} else {
						for m, price := range [2]int64{pv, pl} {
							if reading[m] > hwm[m] {
								// (reading - hwm) × price ≤ 10^12 × 50,000: no overflow here.
								anaAsk += (reading[m] - hwm[m]) * price
								hwm[m] = reading[m]
							}
						}
					}
				}
				benAsk := benViews * pv
				if ask := anaAsk + benAsk; ask > 0 && ask >= budget-wantAna-wantBen {
					// The escrow runs out this tick: whatever the order, it is spent exactly.
					exhausted = true
					if st.Spent != budget || !r.Completed {
						rt.Fatalf("tick %d: asked %d + %d with %d left: escrow %+v, poll %+v", tick, anaAsk, benAsk, budget-wantAna-wantBen, st, r)
					}
					continue
				}
				wantAna += anaAsk
				wantBen += benAsk
				if g, _ := e.earned(camp.ID, ana.SubjectID); g != wantAna {
					rt.Fatalf("tick %d: ana gross %d, want %d", tick, g, wantAna)
				}
				if g, _ := e.earned(camp.ID, ben.SubjectID); g != wantBen {
					rt.Fatalf("tick %d: ben gross %d, want %d", tick, g, wantBen)
				}
				if st.Spent != wantAna+wantBen {
					rt.Fatalf("tick %d: spent %d, want %d", tick, st.Spent, wantAna+wantBen)
				}
			}
		})
		e.audit()
	})
}

// TestImpossibleReadingConcurrentPolls: four polls of the campaign at once
// (two servers, twice each) while one post reports an impossible count:
// none fails, the post is flagged, and the other creators' growth is billed
// exactly once.
func TestImpossibleReadingConcurrentPolls(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(1000*eur, campaign.Prices{View: 1_000, Like: 10_000}, 0, false)
		var posts []string
		var absurd engage.Post
		for i, h := range []string{"ana", "ben", "cleo"} {
			p := e.creator(h, camp)
			post, sp := e.post(p, h, camp, "#glowup #ad")
			if i == 0 {
				absurd = post
				continue
			}
			posts = append(posts, sp.ID)
		}
		other, err := engage.New(e.deps, engage.Config{PollInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for round := range 3 {
			if round == 1 {
				e.accounts.setCounts(absurd.MediaID, counts(math.MaxInt64, 7), false)
			}
			for i, id := range posts {
				d := sandbox.Delta{Views: int64(100 * (i + round + 1)), Likes: int64(i + round)}
				e.add(id, d)
				want += d.Views*1_000 + d.Likes*10_000
			}
			e.clk.Advance(time.Minute)
			var wg sync.WaitGroup
			errc := make(chan error, 4)
			for _, s := range []*engage.Service{e.svc, other, e.svc, other} {
				wg.Go(func() {
					_, err := s.PollCampaign(e.ctx, camp.ID)
					errc <- err
				})
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				if err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
		if st := e.escrow(camp.ID); st.Spent != want {
			t.Fatalf("spent %d, want %d (the two other creators' growth, once)", st.Spent, want)
		}
		got, err := e.svc.GetPost(e.ctx, e.brand, absurd.ID)
		if err != nil || got.State != engage.PostFlagged || got.Requested != 0 {
			t.Fatalf("the absurd post: %+v, %v; want flagged, nothing asked", got, err)
		}
		e.accounts.setCounts(absurd.MediaID, platform.Counts{}, true)
		e.audit()
	})
}
