package market_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// A creator browsing the marketplace sees the ad permissions a campaign
// asks before applying: in the listing's ad_permissions (false, false, 0
// for a campaign that asks none) and in its setup.
func TestMarketplaceShowsAdPermissions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		acme := e.brand(t, "Acme")
		maria := e.creator(t, "maria", "DE", 4200)
		asks := baseSetup()
		asks.Performance.AdPermissions = campaign.AdPermissions{Whitelisting: true, DarkPosts: true, Days: 60}
		e.campaignIn(t, acme, "asks", campaign.StateOpen, asks)
		e.campaignIn(t, acme, "plain", campaign.StateOpen, baseSetup())

		list, err := e.market.Marketplace(e.Ctx, maria, market.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, l := range list {
			b, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			got[l.Campaign.Name] = string(b)
		}
		if !strings.Contains(got["asks"], `"ad_permissions":{"whitelisting":true,"dark_posts":true,"days":60}`) ||
			!strings.Contains(got["asks"], `"performance":{"attribution_window_days":0,"code_pattern":"","ad_permissions":{"whitelisting":true,"dark_posts":true,"days":60}}`) {
			t.Fatalf("listing of a campaign asking ad permissions: %s", got["asks"])
		}
		if !strings.Contains(got["plain"], `"ad_permissions":{"whitelisting":false,"dark_posts":false,"days":0}`) {
			t.Fatalf("listing of a campaign asking none: %s", got["plain"])
		}
	})
}
