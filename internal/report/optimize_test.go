package report_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store/storetest"
)

// TestRanking: 20 creators ranked by CPA, ties broken by CPE, creators
// without conversions last with "—"; thirds labelled scale / refresh / cut;
// applying the confirmed plan doubles caps, ends the cut collaborations (a
// later sale pays them nothing) and refreshes the middle.
func TestRanking(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		letters := make([]string, 20)
		for i := range letters {
			letters[i] = fmt.Sprintf("%c", 'a'+i)
		}
		w := newWorld(t, dbURL, d0.Add(20*24*time.Hour), 10*eur,
			campaign.Goal{Primary: campaign.MetricCPA, PrimaryTarget: 5 * eur, Secondary: campaign.MetricCPE, SecondaryTarget: eur}, letters...)
		// Creator i (0-based) spends 10 + i euros of earnings on day 15 with
		// conversions so that CPA = (10 + i) / 2 for i < 14; i = 14, 15
		// tie on CPA with 12 and 13 … see below. 16–19 have no conversions.
		spend := func(i int) int64 { return int64(10+i) * eur }
		for i, l := range letters {
			v := map[rollup.Col]int64{rollup.EarnInteractions: spend(i), rollup.Likes: int64(100 + i)}
			switch {
			case i < 14:
				v[rollup.Conversions] = 2
			case i == 14 || i == 15:
				// CPA (24 or 25) / 2 would break the order: give them
				// 10 + i = 24, 25 euros and 2 conversions, but the same CPA
				// as each other: spend 26 each, then CPE breaks the tie.
				v[rollup.EarnInteractions] = 26 * eur
				v[rollup.Conversions] = 2
				v[rollup.Likes] = int64(1100 - 100*(i-14)) // o (i = 14) has more likes: the lower CPE
			case i >= 18:
				delete(v, rollup.Likes) // s and t: neither CPA nor CPE, a full tie
			}
			w.put(l, "", 15, v)
		}
		_, err := w.env.App.Report.Optimize(w.ctx, w.brand, w.camp.ID, "weekly")
		if errs.CodeOf(err) != "invalid" {
			t.Fatalf("bad mark: %v", err)
		}
		plan, err := w.env.App.Report.Optimize(w.ctx, w.brand, w.camp.ID, report.MarkDemand)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Entries) != 20 {
			t.Fatalf("%d entries", len(plan.Entries))
		}
		byID := map[string]string{}
		for l, id := range w.creators {
			byID[id] = l
		}
		var order, labels string
		for _, e := range plan.Entries {
			order += byID[e.CreatorID]
			labels += e.Label[:1]
		}
		// a–n by CPA 5.00 … 11.50; o and p tie at 13.00 and o's CPE is
		// lower; q–t have no conversions: CPA undefined, last, q and r by
		// CPE, s and t (no CPE either) by id.
		if order != "abcdefghijklmnopqrst" {
			t.Errorf("order %s", order)
		}
		if labels != "ssssssrrrrrrrrcccccc" { // 20 / 3 = 6 scale, 6 cut, 8 refresh
			t.Errorf("labels %s", labels)
		}
		e := plan.Entries
		if e[0].Primary != "5.000000" || e[0].Secondary != "0.100000" || e[19].Primary != "—" {
			t.Errorf("first %+v, last %+v", e[0], e[19])
		}
		if e[15].TiedWithPrevious || e[17].TiedWithPrevious || !e[19].TiedWithPrevious || e[19].Secondary != "—" {
			t.Errorf("ties: p (same CPA, other CPE) %+v; r %+v; t (nothing defined, like s) %+v", e[15], e[17], e[19])
		}
		if e[14].Primary != "13.000000" || e[15].Primary != "13.000000" || e[14].Secondary >= e[15].Secondary {
			t.Errorf("tie broken by CPE: %+v %+v", e[14], e[15])
		}
		if e[19].Reason == "" || e[0].Reason == "" {
			t.Errorf("reasons: %q %q", e[0].Reason, e[19].Reason)
		}
		// A plan made before another plan was applied is stale then.
		older, err := w.env.App.Report.Optimize(w.ctx, w.brand, w.camp.ID, report.MarkDemand)
		if err != nil {
			t.Fatal(err)
		}
		plan, err = w.env.App.Report.Optimize(w.ctx, w.brand, w.camp.ID, report.MarkDemand)
		if err != nil {
			t.Fatal(err)
		}
		// Apply needs confirmation, then works once.
		_, err = w.env.App.Report.ApplyPlan(w.ctx, w.brand, w.camp.ID, plan.ID, false)
		if errs.CodeOf(err) != "confirm_required" {
			t.Fatalf("unconfirmed apply: %v", err)
		}
		// The preview says exactly what applying will do, and changes nothing.
		before, err := campaign.Collaborations(w.ctx, w.env.App.DB.Read(), w.camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		preview, err := w.env.App.Report.PreviewPlan(w.ctx, w.brand, w.camp.ID, plan.ID)
		if err != nil {
			t.Fatal(err)
		}
		after, err := campaign.Collaborations(w.ctx, w.env.App.DB.Read(), w.camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(before, after) || preview.Plan.AppliedAt != 0 {
			t.Fatalf("a preview changed collaborations or applied the plan: %+v → %+v, applied %d", before, after, preview.Plan.AppliedAt)
		}
		res, err := w.env.App.Report.ApplyPlan(w.ctx, w.brand, w.camp.ID, plan.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(preview.Changes, res.Changes) || len(res.Changes) != len(plan.Entries) {
			t.Fatalf("preview %+v; applied %+v", preview.Changes, res.Changes)
		}
		if _, err := w.env.App.Report.PreviewPlan(w.ctx, w.brand, w.camp.ID, plan.ID); errs.CodeOf(err) != "plan_applied" {
			t.Fatalf("preview of an applied plan: %v", err)
		}
		if _, err := w.env.App.Report.ApplyPlan(w.ctx, w.brand, w.camp.ID, plan.ID, true); errs.CodeOf(err) != "plan_applied" {
			t.Fatalf("second apply: %v", err)
		}
		if _, err := w.env.App.Report.ApplyPlan(w.ctx, w.brand, w.camp.ID, older.ID, true); errs.CodeOf(err) != "plan_stale" {
			t.Fatalf("applying a plan older than the applied one: %v", err)
		}
		if c := res.Changes[0]; c.NewCap == nil || c.NewCap.Micros != 20*eur || c.OldCap.Micros != 10*eur {
			t.Errorf("scale change %+v", c)
		}
		collabs, err := campaign.Collaborations(w.ctx, w.env.App.DB.Read(), w.camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if collabs[w.creators["a"]].Cap != 20*eur || collabs[w.creators["t"]].EndedAt == 0 || collabs[w.creators["h"]].WindowStart == 0 {
			t.Errorf("collaborations %+v", collabs)
		}
		// A cut creator's sale is attributed but pays nothing; a scaled
		// creator may now earn up to the doubled cap.
		for _, l := range []string{"t", "a"} {
			if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, w.camp.ID, attrib.CodeDraft{CreatorID: w.creators[l], Code: "CODE" + l}); err != nil {
				t.Fatal(err)
			}
			o, _, err := w.env.App.Orders.Convert(w.ctx, w.brand, orders.Conversion{OrderID: "o-" + l,
				Amount: json.RawMessage(`{"amount":"150","currency":"EUR"}`), Code: "code" + l})
			if err != nil {
				t.Fatal(err)
			}
			cvs, err := w.env.App.Attrib.ListConversions(w.ctx, w.brand, w.camp.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, cv := range cvs {
				if cv.OrderID != o.ID {
					continue
				}
				switch l {
				case "t":
					if cv.Commission.Micros+cv.CPA.Micros != 0 || cv.Note != "collaboration_ended" {
						t.Errorf("cut creator's sale: %+v", cv)
					}
				case "a":
					// commission €15 + CPA €1, within the doubled €20 cap
					// (a had earned nothing through the ledger before).
					if cv.Commission.Micros != 15*eur || cv.CPA.Micros != eur {
						t.Errorf("scaled creator's sale: %+v", cv)
					}
				}
			}
		}
		// The refreshed creators are judged from the refresh on.
		w.env.Clock.Advance(24 * time.Hour)
		next, err := w.env.App.Report.Optimize(w.ctx, w.brand, w.camp.ID, report.Mark14)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range next.Entries {
			if byID[e.CreatorID] == "t" {
				t.Errorf("an ended collaboration is ranked again: %+v", e)
			}
			if byID[e.CreatorID] == "h" && (e.WindowFrom == "" || e.Primary != "—") {
				t.Errorf("refreshed creator h: %+v", e)
			}
		}
		if len(next.Entries) != 14 {
			t.Errorf("%d ranked after 6 cuts, want 14", len(next.Entries))
		}
	})
}
