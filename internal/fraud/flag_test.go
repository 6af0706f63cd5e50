package fraud

import (
	"context"
	"testing"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func burstFlag(post string) Flag {
	return Flag{Detector: "burst", Subject: SubjectPost, SubjectID: post, CampaignID: "cmp_1", CreatorID: "crt_1",
		Score: 9.3, Severity: SeverityHigh, Reason: "likes grew 4,812 in 15 minutes", Category: CategoryEngagement,
		Evidence: map[string]float64{"growth": 4812}, Window: "100", Holds: true, HoldsFrom: 100}
}

// holds asks the database whether an open flag holds an earning, through
// HoldsEarning, and checks HoldsOne agrees.
func holds(t *testing.T, db *store.DB, earning, campaign, creator string, at int64) bool {
	t.Helper()
	var n int
	err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM (SELECT CAST($1 AS TEXT) AS id, CAST($2 AS TEXT) AS campaign_id,
		CAST($3 AS TEXT) AS creator_id, CAST($4 AS BIGINT) AS accrued_at) e WHERE `+HoldsEarning("e"), earning, campaign, creator, at).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := HoldingFlags(context.Background(), db.Read(), earning, campaign, creator, clock.Micros(at))
	if err != nil {
		t.Fatal(err)
	}
	if (n == 1) != (len(fl) > 0) {
		t.Fatalf("HoldsEarning says %d, HoldingFlags %d", n, len(fl))
	}
	return n == 1
}

func TestFlagRaiseDecideHold(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		admin := identity.Principal{Role: identity.RoleAdmin}
		var first Flag
		for i := range 2 {
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				f, created, err := Raise(ctx, tx, clock.Micros(200+i), burstFlag("pst_1"))
				if err != nil {
					return err
				}
				if created != (i == 0) {
					t.Errorf("raise %d: created %v", i, created)
				}
				if i == 0 {
					first = f
				} else if f.ID != first.ID || f.RaisedAt != 200 {
					t.Errorf("second raise returned %+v, want the first %s raised at 200", f, first.ID)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			_, _, err := Raise(ctx, tx, 300, Flag{Detector: "burst", Subject: "tweet", SubjectID: "x", Severity: SeverityLow, Reason: "r", Category: CategoryEngagement})
			return err
		}); err == nil {
			t.Fatal("a flag of an unknown subject was raised")
		}
		got, err := List(ctx, db.Read(), admin, Filter{CreatorID: "crt_1"})
		if err != nil || len(got) != 1 || got[0].ID != first.ID || got[0].Evidence["growth"] != 4812 || !got[0].Holds || got[0].State != StateOpen {
			t.Fatalf("list = %+v, %v", got, err)
		}
		if got, err := List(ctx, db.Read(), identity.Principal{Role: identity.RoleBrand, SubjectID: "brd_x"}, Filter{}); err != nil || len(got) != 0 {
			t.Fatalf("another brand lists %+v, %v", got, err)
		}
		if _, err := Get(ctx, db.Read(), identity.Principal{Role: identity.RoleBrand, SubjectID: "brd_x"}, first.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another brand gets the flag: %v", err)
		}
		// Held: the creator's earnings in the campaign from holds_from on.
		for _, c := range []struct {
			earning, campaign, creator string
			at                         int64
			want                       bool
		}{
			{"ern_a", "cmp_1", "crt_1", 100, true},
			{"ern_b", "cmp_1", "crt_1", 99, false},
			{"ern_c", "cmp_2", "crt_1", 150, false},
			{"ern_d", "cmp_1", "crt_2", 150, false},
		} {
			if h := holds(t, db, c.earning, c.campaign, c.creator, c.at); h != c.want {
				t.Errorf("%s held %v, want %v", c.earning, h, c.want)
			}
		}
		decide := func(action, reason string) (Flag, error) {
			var f Flag
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				var err error
				f, err = DecideTx(ctx, tx, admin, 500, first.ID, action, reason)
				return err
			})
			return f, err
		}
		if _, err := decide(ActionConfirm, "  "); !errs.Is(err, errs.Invalid) {
			t.Fatalf("a decision without a reason: %v", err)
		}
		f, err := decide(ActionDismiss, "organic: a TV mention")
		if err != nil || f.State != StateDismissed || f.DecidedBy != "admin" || f.DecidedAt != 500 || f.DecisionReason != "organic: a TV mention" {
			t.Fatalf("dismiss = %+v, %v", f, err)
		}
		if _, err := decide(ActionConfirm, "changed my mind"); !errs.Is(err, errs.Conflict) {
			t.Fatalf("deciding twice: %v", err)
		}
		if holds(t, db, "ern_a", "cmp_1", "crt_1", 100) {
			t.Fatal("a dismissed flag still holds")
		}
		// A dismissed flag is not raised again for the same window.
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			f, created, err := Raise(ctx, tx, 600, burstFlag("pst_1"))
			if err == nil && (created || f.State != StateDismissed) {
				t.Errorf("raised again after dismissal: %+v %v", f, created)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// Sensitivity: default, the operator's, the campaign's own.
		sens := func(c string) Sensitivity {
			v, err := SensitivityOf(ctx, db.Read(), c)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		if sens("cmp_1") != Moderate {
			t.Fatal("default is not moderate")
		}
		set := func(c string, v Sensitivity) {
			if err := db.WithTx(ctx, func(tx *store.Tx) error { return SetSensitivity(ctx, tx, c, v, "admin", 1) }); err != nil {
				t.Fatal(err)
			}
		}
		set("", Strict)
		set("cmp_2", Relaxed)
		if sens("cmp_1") != Strict || sens("cmp_2") != Relaxed {
			t.Fatalf("sensitivities %s %s", sens("cmp_1"), sens("cmp_2"))
		}
	})
}
