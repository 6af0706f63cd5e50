package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// A setup draft keeps each step that passed its own fields' checks and
// nothing of a step that did not; Configure stores the whole and drops the
// draft; another brand's campaign is not found; a funded-past campaign is
// locked.
func TestSaveSetupPart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		l, err := ledger.New(db, clk, ledger.DefaultConfig)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := identity.New(db, clk, "")
		if err != nil {
			t.Fatal(err)
		}
		svc := campaign.New(db, l, clk)
		b1, _, err := ids.CreateBrand(ctx, "One")
		if err != nil {
			t.Fatal(err)
		}
		b2, _, err := ids.CreateBrand(ctx, "Two")
		if err != nil {
			t.Fatal(err)
		}
		p1 := identity.Principal{Role: identity.RoleBrand, SubjectID: b1.ID}
		p2 := identity.Principal{Role: identity.RoleBrand, SubjectID: b2.ID}
		c, err := svc.Create(ctx, p1, campaign.Draft{Name: "Draft", Budget: money.New(500_000_000, "EUR")})
		if err != nil {
			t.Fatal(err)
		}
		goal := []string{"goal", "starts_at", "ends_at"}
		model := []string{"prices", "creator_cap"}

		// A goal alone passes its own fields, though the setup is far from whole.
		s := campaign.Setup{Goal: campaign.Goal{Primary: "ROAS", PrimaryTarget: 3_000_000}, EndsAt: clk.Now().Add(48 * time.Hour)}
		d, err := svc.SaveSetupPart(ctx, p1, c.ID, s, "goal", goal)
		if err != nil {
			t.Fatal(err)
		}
		if d.Setup.Goal.Primary != campaign.MetricROAS || len(d.Steps) != 1 || !d.Pending {
			t.Fatalf("draft %+v", d)
		}
		// A price above the budget is the model step's error: nothing saved.
		s = d.Setup
		s.Prices.Like = 600_000_000
		_, err = svc.SaveSetupPart(ctx, p1, c.ID, s, "model", model)
		if errs.KindOf(err) != errs.Invalid || errs.CodeOf(err) != "exceeds_budget" {
			t.Fatalf("a like above the budget: %v", err)
		}
		var e *errs.Error
		if e, _ = err.(*errs.Error); e == nil || e.Field != "prices.like" || len(e.Fields) != 1 {
			t.Fatalf("errors %+v; want only prices.like", err)
		}
		camp, d, err := svc.SetupDraft(ctx, p1, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Setup.Prices.Like != 0 || len(d.Steps) != 1 || camp.Setup != nil {
			t.Fatalf("after a refused step: draft %+v, setup %v", d, camp.Setup)
		}
		if _, _, err := svc.SetupDraft(ctx, p2, c.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another brand reads the draft: %v", err)
		}
		if _, err := svc.SaveSetupPart(ctx, p2, c.ID, s, "goal", goal); !errs.Is(err, errs.NotFound) {
			t.Fatalf("another brand saves a step: %v", err)
		}

		// The whole setup: Configure stores it and drops the draft.
		s = d.Setup
		s.Prices.Like = 50_000
		s.Eligibility.Platforms = []campaign.Platform{campaign.PlatformSandbox}
		s.Brief = campaign.Brief{Product: "P", Message: "M", LandingURL: "https://shop.example"}
		if _, err := svc.SaveSetupPart(ctx, p1, c.ID, s, "model", model); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Configure(ctx, p1, c.ID, s); err != nil {
			t.Fatal(err)
		}
		camp, d, err = svc.SetupDraft(ctx, p1, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d.Pending || camp.Setup == nil || d.Setup.Prices.Like != 50_000 {
			t.Fatalf("after Configure: draft %+v", d)
		}

		// Past funding the setup is locked.
		if _, err := svc.Fund(ctx, p1, c.ID, campaign.FundInput{Reference: "r"}); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Transition(ctx, p1, c.ID, campaign.ActionOpen); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.SaveSetupPart(ctx, p1, c.ID, s, "goal", goal); errs.CodeOf(err) != "campaign_locked" {
			t.Fatalf("an open campaign's step: %v", err)
		}
	})
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "10": 1000, "12.5": 1250, "12.5 %": 1250, "0.01": 1, "100": 10000} {
		got, err := campaign.ParsePercent(in)
		if err != nil || got != want {
			t.Errorf("ParsePercent(%q) = %d, %v; want %d", in, got, err, want)
		}
		if in != "" && in != "12.5 %" {
			if back := campaign.FormatPercent(got); back != in {
				t.Errorf("FormatPercent(%d) = %q; want %q", got, back, in)
			}
		}
	}
	for _, in := range []string{"1.234", "ten", "1e3", "+5", "1..2"} {
		if _, err := campaign.ParsePercent(in); errs.KindOf(err) != errs.Invalid {
			t.Errorf("ParsePercent(%q): %v; want Invalid", in, err)
		}
	}
}
