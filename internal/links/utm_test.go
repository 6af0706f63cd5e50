package links_test

import (
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// A campaign's UTM defaults make its links' utm_campaign and utm_source
// ({HANDLE} the creator's handle); a campaign without them keeps the name's
// slug and the handle (TestCreateErrors).
func TestCreateUsesCampaignUTMDefaults(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, links.Config{})
		acme := e.brand(t, "Acme")
		c, err := e.campaigns.Create(e.Ctx, acme, campaign.Draft{Name: "Summer Glow", Budget: money.New(1000*money.Scale, money.EUR)})
		if err != nil {
			t.Fatal(err)
		}
		s := campaign.Setup{
			Goal:   campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3_500_000},
			Brief:  campaign.Brief{Product: "Glow serum", Message: "Show your routine", LandingURL: "https://shop.example/glow"},
			Prices: campaign.Prices{Like: 20_000},
			EndsAt: t0.Add(30 * 24 * time.Hour),
			Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox},
				MinFollowers: 1000, MaxFollowers: 25_000},
			Performance: campaign.Performance{UTMCampaign: "sg-26", UTMSource: "Creators-{HANDLE}",
				AdPermissions: campaign.AdPermissions{Whitelisting: true, Days: 30}},
		}
		if _, err := e.campaigns.Configure(e.Ctx, acme, c.ID, s); err != nil {
			t.Fatal(err)
		}
		if _, err := e.campaigns.Fund(e.Ctx, acme, c.ID, campaign.FundInput{Reference: "ref-" + c.ID}); err != nil {
			t.Fatal(err)
		}
		if c, err = e.campaigns.Transition(e.Ctx, acme, c.ID, campaign.ActionOpen); err != nil {
			t.Fatal(err)
		}
		maria := e.creator(t, "maria", acme, c, true)
		l, err := e.links.Create(e.Ctx, acme, c.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "bio"})
		if err != nil {
			t.Fatal(err)
		}
		if l.UTMCampaign != "sg-26" || l.UTMSource != "creators-maria" {
			t.Fatalf("link UTMs: source %q campaign %q", l.UTMSource, l.UTMCampaign)
		}
		got, err := e.links.Resolve(e.Ctx, l.Slug)
		if err != nil || got.UTMCampaign != "sg-26" || got.UTMSource != "creators-maria" {
			t.Fatalf("stored link: %+v, %v", got, err)
		}
	})
}
