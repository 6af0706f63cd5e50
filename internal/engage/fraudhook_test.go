package engage_test

import (
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// organic grows a post for n ticks at about 200 views, 10 likes and a
// comment a tick (varying, as people do).
func (e *env) organic(postID string, n int) {
	e.t.Helper()
	for i := range n {
		e.add(postID, sandbox.Delta{Views: int64(180 + 7*(i%6)), Likes: int64(8 + i%5), Comments: int64(i % 2)})
		e.tick()
	}
}

func (e *env) flags(fl fraud.Filter) []fraud.Flag {
	e.t.Helper()
	got, err := fraud.List(e.ctx, e.db.Read(), e.brand, fl)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// A bought-likes burst is flagged in the tick that bills it; its earning
// is held past the holding period while the earlier ones release; confirm
// voids it (the escrow gets the gross back, the fee is reversed, to the
// micro-unit); a dismissed flag's earning releases on schedule.
func TestFraudBurstHeldAndConfirmed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		prices := campaign.Prices{View: 1_000, Like: 20_000, Comment: 100_000}
		camp := e.campaign(500*eur, prices, 0, false)
		ana := e.creator("ana", camp)
		ben := e.creator("ben", camp)
		_, spa := e.post(ana, "ana", camp, "Morning glow #GlowUp #ad")
		_, spb := e.post(ben, "ben", camp, "Evening glow #GlowUp #ad")
		e.add(spa.ID, sandbox.Delta{Views: 5000, Likes: 250, Comments: 20})
		e.add(spb.ID, sandbox.Delta{Views: 5000, Likes: 250, Comments: 20})
		e.tick()
		for range 10 {
			e.add(spb.ID, sandbox.Delta{Views: 190, Likes: 9})
			e.organic(spa.ID, 1)
		}
		if got := e.flags(fraud.Filter{}); len(got) != 0 {
			t.Fatalf("organic growth flagged: %s", got[0].Reason)
		}
		// ana buys 4,812 likes; ben's post goes viral, every metric together.
		e.add(spa.ID, sandbox.Delta{Views: 210, Likes: 4812})
		e.add(spb.ID, sandbox.Delta{Views: 60000, Likes: 2900, Comments: 240})
		e.tick()
		got := e.flags(fraud.Filter{State: fraud.StateOpen})
		if len(got) != 1 || got[0].CreatorID != ana.SubjectID || got[0].Detector != fraud.DetectorBurst ||
			!strings.HasPrefix(got[0].Reason, "likes grew 4,812 in 60 seconds") {
			t.Fatalf("flags after the burst: %+v", got)
		}
		flag := got[0]
		list, err := e.svc.ListEarnings(e.ctx, ana, camp.ID, "", "")
		if err != nil {
			t.Fatal(err)
		}
		burst := list[len(list)-1]
		if !burst.UnderReview || burst.ReviewCategory != fraud.CategoryEngagement || burst.ReviewNote == "" || burst.Gross.Micros < 4812*20_000 {
			t.Fatalf("the burst's earning %+v", burst)
		}
		for _, x := range list[:len(list)-1] {
			if x.UnderReview {
				t.Fatalf("an earning before the burst is under review: %+v", x)
			}
		}
		// Past the holding period: all released but the burst's.
		e.clk.Advance(8 * 24 * time.Hour)
		e.tick()
		list, _ = e.svc.ListEarnings(e.ctx, ana, camp.ID, "", "")
		for _, x := range list {
			if want := engage.EarningReleased; x.ID != burst.ID && x.State != want && x.AccruedAt < burst.AccruedAt {
				t.Fatalf("earning %s is %s after the holding period", x.ID, x.State)
			}
			if x.ID == burst.ID && (x.State != engage.EarningHeld || !x.UnderReview) {
				t.Fatalf("the flagged earning is %s (under review %v) after the holding period", x.State, x.UnderReview)
			}
		}
		if _, err := e.svc.Close(e.ctx, e.brand, camp.ID); err == nil {
			t.Fatal("closed with a flag open")
		}
		// Another brand cannot decide; a reason is required.
		other := identity.Principal{Role: identity.RoleBrand, SubjectID: "brd_other"}
		if _, err := e.svc.DecideFlag(e.ctx, other, flag.ID, fraud.ActionConfirm, "x"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another brand confirms: %v", err)
		}
		if _, err := e.svc.DecideFlag(e.ctx, e.brand, flag.ID, fraud.ActionConfirm, ""); !errs.Is(err, errs.Invalid) {
			t.Fatalf("confirm without a reason: %v", err)
		}
		before := e.escrow(camp.ID)
		d, err := e.svc.DecideFlag(e.ctx, e.brand, flag.ID, fraud.ActionConfirm, "4,812 likes in a minute with no views: bought")
		if err != nil {
			t.Fatal(err)
		}
		var gross, fee int64
		for _, v := range d.Voided {
			gross += v.Gross.Micros
			fee += v.Fee.Micros
			if v.State != engage.EarningVoided {
				t.Fatalf("voided earning is %s", v.State)
			}
		}
		if len(d.Voided) != 1 || d.Voided[0].ID != burst.ID || d.Flag.State != fraud.StateConfirmed || d.Flag.DecidedBy != "brand:"+e.brand.SubjectID {
			t.Fatalf("decision %+v", d)
		}
		after := e.escrow(camp.ID)
		if after.Remaining != before.Remaining+gross || after.Fees != before.Fees-fee || after.Spent != before.Spent-gross {
			t.Fatalf("escrow before %+v after %+v; voided gross %d fee %d", before, after, gross, fee)
		}
		e.audit()
	})
}

// A dismissed flag's earnings release on schedule; a removed post with
// earnings still held is flagged (content persistence).
func TestFraudDismissReleasesAndRemovalFlags(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(500*eur, campaign.Prices{View: 1_000, Like: 20_000, Comment: 100_000}, 0, false)
		ana := e.creator("ana", camp)
		_, spa := e.post(ana, "ana", camp, "Morning glow #GlowUp #ad")
		e.add(spa.ID, sandbox.Delta{Views: 50, Likes: 3})
		e.tick()
		// Likes above views: counter integrity.
		e.add(spa.ID, sandbox.Delta{Likes: 900})
		e.tick()
		got := e.flags(fraud.Filter{CreatorID: ana.SubjectID})
		if len(got) != 1 || got[0].Detector != fraud.DetectorAboveViews {
			t.Fatalf("flags %+v", got)
		}
		e.clk.Advance(8 * 24 * time.Hour)
		e.tick()
		held, _ := e.svc.ListEarnings(e.ctx, e.brand, camp.ID, engage.EarningHeld, "")
		if len(held) != 2 {
			t.Fatalf("%d earnings held by the flag, want both (it holds from the post's first reading)", len(held))
		}
		d, err := e.svc.DecideFlag(e.ctx, e.brand, got[0].ID, fraud.ActionDismiss, "the platform's view counter lagged")
		if err != nil || d.Flag.State != fraud.StateDismissed || len(d.Voided) != 0 {
			t.Fatalf("dismiss: %+v %v", d, err)
		}
		if _, err := e.svc.DecideFlag(e.ctx, e.brand, got[0].ID, fraud.ActionConfirm, "again"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("deciding twice: %v", err)
		}
		e.tick()
		if held, _ := e.svc.ListEarnings(e.ctx, e.brand, camp.ID, engage.EarningReleased, ""); len(held) != 2 {
			t.Fatalf("%d released after the dismissal, want 2", len(held))
		}
		// A new earning, then the post is deleted while it is held.
		e.add(spa.ID, sandbox.Delta{Likes: 20})
		e.tick()
		if err := e.world.DeletePost(e.ctx, spa.ID); err != nil {
			t.Fatal(err)
		}
		e.tick()
		got = e.flags(fraud.Filter{State: fraud.StateOpen})
		if len(got) != 1 || got[0].Detector != fraud.DetectorContentRemoved || !strings.Contains(got[0].Reason, "1 earning(s) paying for it (0.36 EUR to the creator)") {
			t.Fatalf("after the deletion: %+v", got)
		}
		e.audit()
	})
}

// The operator bans a creator: every unreleased earning voided (escrow and
// fee back to the micro-unit), the collaboration ended so nothing more
// accrues, the ban recorded; once only, and only by the operator.
func TestBanCreator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(500*eur, campaign.Prices{View: 1_000, Like: 20_000}, 0, false)
		ana := e.creator("ana", camp)
		_, spa := e.post(ana, "ana", camp, "Morning glow #GlowUp #ad")
		e.add(spa.ID, sandbox.Delta{Views: 500, Likes: 20})
		e.tick()
		e.add(spa.ID, sandbox.Delta{Views: 300, Likes: 10})
		e.tick()
		before := e.escrow(camp.ID)
		gross, _ := e.earned(camp.ID, ana.SubjectID)
		admin := identity.Principal{Role: identity.RoleAdmin}
		if _, err := e.svc.BanCreator(e.ctx, e.brand, ana.SubjectID, "x"); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a brand bans: %v", err)
		}
		if _, err := e.svc.BanCreator(e.ctx, admin, ana.SubjectID, " "); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a ban without a reason: %v", err)
		}
		r, err := e.svc.BanCreator(e.ctx, admin, ana.SubjectID, "runs a like farm")
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Voided) != 2 || len(r.CampaignsCut) != 1 || r.CampaignsCut[0] != camp.ID || r.Flag.Detector != engage.DetectorBan ||
			r.Flag.State != fraud.StateConfirmed || r.Flag.DecidedBy != "admin" || r.Flag.Category != fraud.CategoryBanned {
			t.Fatalf("ban %+v", r)
		}
		var fee int64
		for _, v := range r.Voided {
			fee += v.Fee.Micros
		}
		after := e.escrow(camp.ID)
		if after.Remaining != before.Remaining+gross || after.Fees != before.Fees-fee {
			t.Fatalf("escrow before %+v after %+v; gross %d fee %d", before, after, gross, fee)
		}
		// Nothing more accrues.
		e.add(spa.ID, sandbox.Delta{Views: 300, Likes: 10})
		e.tick()
		if st := e.escrow(camp.ID); st.Spent != after.Spent {
			t.Fatalf("a banned creator billed: spent %d → %d", after.Spent, st.Spent)
		}
		if _, err := e.svc.BanCreator(e.ctx, admin, ana.SubjectID, "again"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("banned twice: %v", err)
		}
		if _, err := e.svc.BanCreator(e.ctx, admin, "crt_nobody", "x"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("ban of no one: %v", err)
		}
		e.audit()
	})
}
