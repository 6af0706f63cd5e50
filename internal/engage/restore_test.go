package engage_test

import (
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func knownCounts(c [5]int64) platform.Counts {
	return platform.Counts{Views: platform.Known(c[0]), Likes: platform.Known(c[1]), Comments: platform.Known(c[2]),
		Shares: platform.Known(c[3]), Saves: platform.Known(c[4])}
}

// postMarks reads a post's marks as the API shows them.
func (e *env) postMarks(postID string) (platform.Counts, int64, clock.Micros) {
	e.t.Helper()
	p, err := e.svc.GetPost(e.ctx, e.brand, postID)
	if err != nil {
		e.t.Fatalf("get post %s: %v", postID, err)
	}
	return p.Billed, p.Requested, p.LastPolled
}

func (e *env) wantMarks(postID string, billed [5]int64, requested int64, lastPolled clock.Micros) {
	e.t.Helper()
	b, r, lp := e.postMarks(postID)
	if b != knownCounts(billed) || r != requested || lp != lastPolled {
		e.t.Fatalf("post %s marks: billed %+v requested %d last polled %d; want billed %v requested %d last polled %d",
			postID, b, r, lp, billed, requested, lastPolled)
	}
}

// RestoreMarks sets a post's marks; a later poll bills only the growth above
// them. A restore naming a post that is not the creator's in the campaign
// fails and changes nothing, not even the posts named before it.
func TestRestoreMarks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		prices := campaign.Prices{View: 2_000, Like: 50_000, Comment: 250_000, Share: 500_000, Save: 100_000}
		camp := e.campaign(500*eur, prices, 0, false)
		ana := e.creator("ana", camp)
		ben := e.creator("ben", camp)
		const caption = "Morning glow ✨ #GlowUp #ad"
		pa, spa := e.post(ana, "ana", camp, caption)
		pb, spb := e.post(ana, "ana", camp, caption)
		pc, _ := e.post(ben, "ben", camp, caption)
		if pa.State != engage.PostLive || pb.State != engage.PostLive {
			t.Fatalf("post states %s, %s; want live", pa.State, pb.State)
		}
		e.wantMarks(pa.ID, [5]int64{}, 0, 0)
		e.wantMarks(pb.ID, [5]int64{}, 0, 0)

		// ana's first post comes with its history: 1,000 views, 20 likes, 2 comments billed for €3.50.
		restoredAt := clock.MicrosOf(t0.Add(-time.Hour))
		if err := e.svc.RestoreMarks(e.ctx, camp.ID, ana.SubjectID, []engage.ImportedMarks{
			{PostID: pa.ID, Billed: [5]int64{1000, 20, 2, 0, 0}, Requested: 3_500_000, LastPolled: int64(restoredAt)},
		}); err != nil {
			t.Fatalf("restore: %v", err)
		}
		e.wantMarks(pa.ID, [5]int64{1000, 20, 2, 0, 0}, 3_500_000, restoredAt)
		e.wantMarks(pb.ID, [5]int64{}, 0, 0)
		e.wantMarks(pc.ID, [5]int64{}, 0, 0)
		if st := e.escrow(camp.ID); st.Spent != 0 {
			t.Fatalf("restoring marks spent %d of the escrow", st.Spent)
		}

		// The platform shows 1,500 views, 15 likes (below the restored 20), 3 comments:
		// 500 views × €0.002 + 1 comment × €0.25 = €1.25 for the restored post;
		// 100 views × €0.002 = €0.20 for the other post, which has no history.
		e.add(spa.ID, sandbox.Delta{Views: 1500, Likes: 15, Comments: 3})
		e.add(spb.ID, sandbox.Delta{Views: 100})
		e.clk.Advance(time.Minute)
		res, err := e.svc.PollCampaign(e.ctx, camp.ID)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if res.PostsRead != 3 || res.Requested != 1_450_000 || res.Granted != 1_450_000 {
			t.Fatalf("poll %+v; want 3 posts read, 1450000 requested and granted", res)
		}
		if st := e.escrow(camp.ID); st.Spent != 1_450_000 {
			t.Fatalf("escrow spent %d, want 1450000 (growth above the restored marks only)", st.Spent)
		}
		if g, _ := e.earned(camp.ID, ana.SubjectID); g != 1_450_000 {
			t.Fatalf("ana earned %d, want 1450000", g)
		}
		polledAt := clock.MicrosOf(e.clk.Now())
		e.wantMarks(pa.ID, [5]int64{1500, 20, 3, 0, 0}, 3_500_000+1_250_000, polledAt)
		e.wantMarks(pb.ID, [5]int64{100, 0, 0, 0, 0}, 200_000, polledAt)

		// A restore that names an unknown post fails and leaves the post named before it alone.
		err = e.svc.RestoreMarks(e.ctx, camp.ID, ana.SubjectID, []engage.ImportedMarks{
			{PostID: pb.ID, Billed: [5]int64{9_999, 9_999, 9_999, 9_999, 9_999}, Requested: 1, LastPolled: 1},
			{PostID: "pst_unknown", Billed: [5]int64{1, 1, 1, 1, 1}},
		})
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("restore of an unknown post: %v, want not found", err)
		}
		// So does one naming another creator's post in the campaign.
		err = e.svc.RestoreMarks(e.ctx, camp.ID, ana.SubjectID, []engage.ImportedMarks{
			{PostID: pb.ID, Billed: [5]int64{9_999, 0, 0, 0, 0}},
			{PostID: pc.ID, Billed: [5]int64{7, 0, 0, 0, 0}},
		})
		if !errs.Is(err, errs.NotFound) {
			t.Fatalf("restore of ben's post as ana's: %v, want not found", err)
		}
		// And one with a negative count.
		err = e.svc.RestoreMarks(e.ctx, camp.ID, ana.SubjectID, []engage.ImportedMarks{
			{PostID: pb.ID, Billed: [5]int64{9_999, 0, 0, 0, 0}},
			{PostID: pa.ID, Billed: [5]int64{1, -1, 0, 0, 0}},
		})
		if !errs.Is(err, errs.Invalid) {
			t.Fatalf("restore of a negative count: %v, want invalid", err)
		}
		// And ones with a negative amount, or read after now (the post would
		// not be polled until then).
		for _, bad := range []engage.ImportedMarks{
			{PostID: pa.ID, Requested: -1},
			{PostID: pa.ID, LastPolled: e.clk.Now().UnixMicro() + 1},
			{PostID: pa.ID, LastPolled: -1},
		} {
			err = e.svc.RestoreMarks(e.ctx, camp.ID, ana.SubjectID, []engage.ImportedMarks{{PostID: pb.ID, Billed: [5]int64{9_999, 0, 0, 0, 0}}, bad})
			if !errs.Is(err, errs.Invalid) {
				t.Fatalf("restore of %+v: %v, want invalid", bad, err)
			}
		}
		e.wantMarks(pa.ID, [5]int64{1500, 20, 3, 0, 0}, 4_750_000, polledAt)
		e.wantMarks(pb.ID, [5]int64{100, 0, 0, 0, 0}, 200_000, polledAt)
		e.wantMarks(pc.ID, [5]int64{}, 0, polledAt)

		// Billing goes on from the marks the failed restores left alone:
		// 50 more views on the second post bill €0.10.
		e.add(spb.ID, sandbox.Delta{Views: 50})
		e.clk.Advance(time.Minute)
		if _, err := e.svc.PollCampaign(e.ctx, camp.ID); err != nil {
			t.Fatalf("poll: %v", err)
		}
		if st := e.escrow(camp.ID); st.Spent != 1_550_000 {
			t.Fatalf("escrow spent %d, want 1550000", st.Spent)
		}
		e.wantMarks(pb.ID, [5]int64{150, 0, 0, 0, 0}, 300_000, clock.MicrosOf(e.clk.Now()))
		e.audit()
	})
}
