package stripe_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/payout/stripe"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store/storetest"
)

// TestPayoutsThroughStripeFake runs payper's payout service on both stores
// against the Stripe Fake through the real Provider: a platform in the US
// pays a creator in Germany (a cross-border payout: her account is made
// under the recipient agreement; under the full one, as before issue 14,
// the Fake refuses the transfer as Stripe does), then Stripe reverses the transfer in two parts. Each
// transfer.reversed delivery restores that part of her available balance,
// to the micro-unit; a redelivery changes nothing; the payout ends reversed
// with all of it back, and the ledger audit passes at every step.
func TestPayoutsThroughStripeFake(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		env, err := demo.Start(ctx, dbURL, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), engage.Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { env.Close() })
		a := env.App
		creator := earn(t, ctx, a, 60_000_000) // 60 EUR available

		const whsec = "whsec_e2e"
		fake := stripe.NewFake("sk_test_e2e", whsec, "US", env.Clock.Now)
		srv := httptest.NewServer(fake)
		t.Cleanup(srv.Close)
		prov, err := stripe.New(stripe.Config{SecretKey: "sk_test_e2e", WebhookSecret: whsec, BaseURL: srv.URL, Clock: env.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		svc := payout.New(a.DB, env.Clock, a.Ledger, payout.Config{}, nil, prov)
		box, _ := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		svc.SetSecretBox(box)

		link, err := svc.Onboard(ctx, creator, payout.ProviderStripe, "DE", "maria@example.com", "https://payper.example/back")
		if err != nil || !strings.HasPrefix(link, "https://connect.stripe.com/") {
			t.Fatalf("Onboard: %q, %v", link, err)
		}
		accts := fake.Accounts()
		if len(accts) != 1 || accts[0].Country != "DE" || accts[0].ServiceAgreement != "recipient" {
			t.Fatalf("accounts at Stripe: %+v, want one German recipient account", accts)
		}
		if _, _, err := fake.CompleteOnboarding(accts[0].ID); err != nil {
			t.Fatal(err)
		}

		po, err := svc.RequestPayout(ctx, creator, payout.Request{Currency: "EUR", Provider: payout.ProviderStripe,
			Amount: json.RawMessage(`{"amount":"25.50","currency":"EUR"}`)})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := svc.Process(ctx); err != nil || n != 1 {
			t.Fatalf("Process: %d, %v", n, err)
		}
		trs := fake.Transfers()
		if len(trs) != 1 || trs[0].Amount != 2550 || trs[0].Currency != "eur" || trs[0].Destination != accts[0].ID || trs[0].Metadata["payout_id"] != po.ID {
			t.Fatalf("transfers at Stripe: %+v", trs)
		}
		check := func(state string, available, paidOut int64) {
			t.Helper()
			list, err := svc.List(ctx, creator, "")
			if err != nil || len(list) != 1 || list[0].State != state || list[0].ProviderRef != trs[0].ID {
				t.Fatalf("payouts %+v, %v; want one %s", list, err, state)
			}
			b, err := a.Ledger.Balance(ctx, creator.SubjectID, money.EUR)
			if err != nil || b.Available != available || b.PaidOut != paidOut {
				t.Fatalf("balance %+v, %v; want available %d, paid out %d", b, err, available, paidOut)
			}
			if rep, err := a.Ledger.Audit(ctx); err != nil || !rep.OK() {
				t.Fatalf("audit: %+v, %v", rep, err)
			}
		}
		check(payout.StatePaid, 34_500_000, 25_500_000)

		// 5.00 EUR of it comes back, delivered twice.
		body, h, err := fake.Reverse(trs[0].ID, 500)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := svc.Webhook(ctx, payout.ProviderStripe, h, body); err != nil {
				t.Fatalf("Webhook (partial reversal): %v", err)
			}
		}
		check(payout.StatePaid, 39_500_000, 20_500_000)

		// The rest comes back: the payout is reversed, all 60 EUR available.
		body, h, err = fake.Reverse(trs[0].ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Webhook(ctx, payout.ProviderStripe, h, body); err != nil {
			t.Fatalf("Webhook (the rest reversed): %v", err)
		}
		check(payout.StateReversed, 60_000_000, 0)

		// The creator's bank refusing a Stripe payout is not payper's payout:
		// the service changes nothing.
		body, h, err = fake.PayoutFailed(accts[0].ID, 2050, "eur", "account_closed", "closed")
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Webhook(ctx, payout.ProviderStripe, h, body); err != nil {
			t.Fatalf("Webhook (payout.failed): %v", err)
		}
		check(payout.StateReversed, 60_000_000, 0)
	})
}

// earn makes a brand fund a campaign and a creator in Germany earn avail
// micro-euros from it, available, and returns the creator.
func earn(t *testing.T, ctx context.Context, a *app.App, avail int64) identity.Principal {
	t.Helper()
	b, _, err := a.Identity.CreateBrand(ctx, "Glow")
	if err != nil {
		t.Fatal(err)
	}
	brand := identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
	c, err := a.Campaigns.Create(ctx, brand, campaign.Draft{Name: "Serum", Budget: money.New(10_000*money.Scale, money.EUR)})
	if err != nil {
		t.Fatal(err)
	}
	setup := campaign.Setup{Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: money.Scale},
		Brief: campaign.Brief{Product: "S", Message: "M", LandingURL: "https://glow.example"}, Prices: campaign.Prices{Like: 50_000},
		EndsAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.Platform(platform.Sandbox)}}}
	if _, err := a.Campaigns.Configure(ctx, brand, c.ID, setup); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Campaigns.Fund(ctx, brand, c.ID, campaign.FundInput{Reference: "pay-1"}); err != nil {
		t.Fatal(err)
	}
	cr, _, err := a.Identity.CreateCreator(ctx, "maria", "DE")
	if err != nil {
		t.Fatal(err)
	}
	gross := avail * 10 / 9 // the net after the 10 % first-campaign fee is avail
	r, err := a.Ledger.Accrue(ctx, c.ID, ledger.AccrueItem{Key: "acc-1", CreatorID: cr.ID, Amount: gross})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ledger.Release(ctx, ledger.ReleaseRequest{Key: "rel-1", CampaignID: c.ID, CreatorID: cr.ID, Amount: r.Earned}); err != nil {
		t.Fatal(err)
	}
	return identity.Principal{Role: identity.RoleCreator, SubjectID: cr.ID}
}
