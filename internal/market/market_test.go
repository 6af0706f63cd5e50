package market_test

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/creator/creatortest"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

var admin = identity.Principal{Role: identity.RoleAdmin}

type env struct {
	*creatortest.Env
	campaigns *campaign.Service
	market    *market.Service
}

func setup(t *testing.T, db *store.DB) *env {
	t.Helper()
	ce := creatortest.New(t, db, clock.NewFake(t0))
	l, err := ledger.New(db, ce.Clock, ledger.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	camps := campaign.New(db, l, ce.Clock)
	return &env{Env: ce, campaigns: camps, market: market.New(db, ce.Clock, camps, ce.Creators)}
}

func (e *env) brand(t *testing.T, name string) identity.Principal {
	t.Helper()
	b, _, err := e.Identity.CreateBrand(e.Ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
}

// baseSetup is an eligible setup for a DE creator with 1,000–25,000
// followers on the sandbox.
func baseSetup() campaign.Setup {
	return campaign.Setup{
		Goal:   campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3_500_000},
		Brief:  campaign.Brief{Product: "Glow serum", Message: "Show your routine", LandingURL: "https://shop.example/glow"},
		Prices: campaign.Prices{Like: 20_000, Comment: 100_000},
		EndsAt: t0.Add(30 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox},
			MinFollowers: 1000, MaxFollowers: 25_000},
	}
}

// campaignIn creates a campaign of brand with setup and moves it to state
// (draft, funded, open, paused or completed).
func (e *env) campaignIn(t *testing.T, brand identity.Principal, name, state string, s campaign.Setup) campaign.Campaign {
	t.Helper()
	c, err := e.campaigns.Create(e.Ctx, brand, campaign.Draft{Name: name, Budget: money.New(1000*money.Scale, money.EUR)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.campaigns.Configure(e.Ctx, brand, c.ID, s); err != nil {
		t.Fatalf("configure %s: %v", name, err)
	}
	if state == campaign.StateDraft {
		return c
	}
	if _, err := e.campaigns.Fund(e.Ctx, brand, c.ID, campaign.FundInput{Reference: "ref-" + c.ID}); err != nil {
		t.Fatal(err)
	}
	steps := map[string][]string{
		campaign.StateFunded:    nil,
		campaign.StateOpen:      {campaign.ActionOpen},
		campaign.StatePaused:    {campaign.ActionOpen, campaign.ActionPause},
		campaign.StateCompleted: {campaign.ActionOpen, campaign.ActionComplete},
	}[state]
	for _, a := range steps {
		if c, err = e.campaigns.Transition(e.Ctx, brand, c.ID, a); err != nil {
			t.Fatalf("%s %s: %v", a, name, err)
		}
	}
	return c
}

// creator makes a creator in country with niches and a connected sandbox
// account with the given followers.
func (e *env) creator(t *testing.T, handle, country string, followers int64, niches ...string) identity.Principal {
	t.Helper()
	p := e.Creator(t, handle, country)
	if niches != nil {
		if _, err := e.Creators.UpdateProfile(e.Ctx, p, p.SubjectID, creator.ProfileUpdate{Niches: &niches}); err != nil {
			t.Fatal(err)
		}
	}
	e.SandboxAccount(t, handle, followers)
	e.Connect(t, p, handle)
	return p
}

func wantErr(t *testing.T, what string, err error, kind errs.Kind, code string) {
	t.Helper()
	if !errs.Is(err, kind) || errs.CodeOf(err) != code {
		t.Fatalf("%s: got %v (kind %s, code %s), want %s %s", what, err, errs.KindOf(err), errs.CodeOf(err), kind, code)
	}
}

func TestCheckMatrix(t *testing.T) {
	t.Parallel()
	acct := func(p platform.Name, followers platform.Count, status string) creator.Account {
		return creator.Account{ID: "acc_" + string(p), Platform: p, Handle: "h", Followers: followers, Status: status}
	}
	sandboxOK := acct(platform.Sandbox, platform.Known(4200), creator.StatusConnected)
	who := func(country string, niches []string, accts ...creator.Account) creator.Summary {
		return creator.Summary{Profile: creator.Profile{Country: country, Niches: niches}, Accounts: accts}
	}
	base := campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox, campaign.PlatformTikTok}, MinFollowers: 1000, MaxFollowers: 25_000}
	strict := base
	strict.Countries = []string{"DE", "AT"}
	strict.Niches = []string{"beauty", "fitness"}
	cases := []struct {
		name  string
		e     campaign.Eligibility
		c     creator.Summary
		only  platform.Name
		via   int
		unmet string // criteria, comma-separated
	}{
		{"eligible", base, who("", nil, sandboxOK), "", 1, ""},
		{"no account", base, who("", nil), "", 0, "platform"},
		{"other platform only", base, who("", nil, acct(platform.Instagram, platform.Known(4200), creator.StatusConnected)), "", 0, "platform"},
		{"reconnect needed", base, who("", nil, acct(platform.Sandbox, platform.Known(4200), creator.StatusReconnectNeeded)), "", 0, "platform"},
		{"disconnected", base, who("", nil, acct(platform.Sandbox, platform.Known(4200), creator.StatusDisconnected)), "", 0, "platform"},
		{"999 followers", base, who("", nil, acct(platform.Sandbox, platform.Known(999), creator.StatusConnected)), "", 0, "followers"},
		{"1000 followers", base, who("", nil, acct(platform.Sandbox, platform.Known(1000), creator.StatusConnected)), "", 1, ""},
		{"25000 followers", base, who("", nil, acct(platform.Sandbox, platform.Known(25_000), creator.StatusConnected)), "", 1, ""},
		{"25001 followers", base, who("", nil, acct(platform.Sandbox, platform.Known(25_001), creator.StatusConnected)), "", 0, "followers"},
		{"hidden followers", base, who("", nil, acct(platform.Sandbox, platform.Unknown(), creator.StatusConnected)), "", 0, "followers"},
		{"two platforms, one fits", base, who("", nil, acct(platform.Sandbox, platform.Known(50), creator.StatusConnected),
			acct(platform.TikTok, platform.Known(5000), creator.StatusConnected)), "", 1, ""},
		{"filtered to the platform that does not fit", base, who("", nil, acct(platform.Sandbox, platform.Known(50), creator.StatusConnected),
			acct(platform.TikTok, platform.Known(5000), creator.StatusConnected)), platform.Sandbox, 0, "followers"},
		{"filtered to a platform the campaign lacks", base, who("", nil, sandboxOK), platform.Instagram, 0, "platform"},
		{"country and niche fit", strict, who("AT", []string{"travel", "fitness"}, sandboxOK), "", 1, ""},
		{"no country", strict, who("", []string{"beauty"}, sandboxOK), "", 1, "country"},
		{"other country", strict, who("FR", []string{"beauty"}, sandboxOK), "", 1, "country"},
		{"no niches", strict, who("DE", nil, sandboxOK), "", 1, "niches"},
		{"other niches", strict, who("DE", []string{"gaming"}, sandboxOK), "", 1, "niches"},
		{"everything unmet", strict, who("FR", []string{"gaming"}), "", 0, "platform,country,niches"},
		{"followers, country and niches", strict, who("", nil, acct(platform.Sandbox, platform.Known(10), creator.StatusConnected)), "", 0, "followers,country,niches"},
	}
	for _, c := range cases {
		via, unmet := market.Check(c.e, c.c, c.only)
		var got []string
		for _, u := range unmet {
			if u.Message == "" {
				t.Errorf("%s: criterion %s has no message", c.name, u.Criterion)
			}
			got = append(got, u.Criterion)
		}
		if len(via) != c.via || strings.Join(got, ",") != c.unmet {
			t.Errorf("%s: via %d accounts, unmet %v; want %d, %q", c.name, len(via), got, c.via, c.unmet)
		}
	}
}

func TestParseFilter(t *testing.T) {
	t.Parallel()
	f, err := market.ParseFilter(url.Values{"platform": {"Sandbox"}, "niche": {"Home Fitness"}, "min_price_view": {"0.002"}, "min_price_like": {"0"}})
	if err != nil || f.Platform != platform.Sandbox || f.Niche != "home-fitness" || f.MinPrices["view"] != 2000 || f.MinPrices["like"] != 0 || len(f.MinPrices) != 2 {
		t.Fatalf("filter %+v, %v", f, err)
	}
	_, err = market.ParseFilter(url.Values{"platform": {"myspace"}, "niche": {"-x"}, "min_price_view": {"abc"},
		"min_price_like": {"-1"}, "min_price_tip": {"1"}, "min_price_share": {"0.0000001"}})
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		t.Fatalf("bad filter: %v", err)
	}
	var fields []string
	for _, f := range e.Fields {
		fields = append(fields, f.Field+":"+f.Code)
	}
	want := "platform:unknown_platform niche:invalid_niche min_price_like:negative_amount min_price_share:too_many_decimals min_price_tip:unknown_price min_price_view:invalid_amount"
	if strings.Join(fields, " ") != want {
		t.Fatalf("fields %v\nwant %s", fields, want)
	}
}

func TestMarketplace(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		acme := e.brand(t, "Acme")
		maria := e.creator(t, "maria", "DE", 4200, "beauty")

		beauty := baseSetup()
		beauty.Eligibility.Niches = []string{"beauty"}
		a := e.campaignIn(t, acme, "beauty", campaign.StateOpen, beauty)
		views := baseSetup()
		views.Prices.View = 5000
		views.MaxCreators = 2
		f := e.campaignIn(t, acme, "views", campaign.StateOpen, views)
		france := baseSetup()
		france.Eligibility.Countries = []string{"FR"}
		e.campaignIn(t, acme, "france", campaign.StateOpen, france)
		big := baseSetup()
		big.Eligibility.MinFollowers, big.Eligibility.MaxFollowers = 10_000, 100_000
		e.campaignIn(t, acme, "big", campaign.StateOpen, big)
		tiktok := baseSetup()
		tiktok.Eligibility.Platforms = []campaign.Platform{campaign.PlatformTikTok}
		e.campaignIn(t, acme, "tiktok", campaign.StateOpen, tiktok)
		for _, st := range []string{campaign.StateDraft, campaign.StateFunded, campaign.StatePaused, campaign.StateCompleted} {
			e.campaignIn(t, acme, st, st, baseSetup())
		}

		names := func(f market.Filter) string {
			t.Helper()
			list, err := e.market.Marketplace(e.Ctx, maria, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, l := range list {
				out = append(out, l.Campaign.Name)
			}
			return strings.Join(out, ",")
		}
		if got := names(market.Filter{}); got != "views,beauty" {
			t.Fatalf("marketplace %q, want views,beauty (newest first)", got)
		}
		if got := names(market.Filter{Niche: "beauty"}); got != "beauty" {
			t.Fatalf("niche=beauty: %q", got)
		}
		if got := names(market.Filter{MinPrices: map[string]int64{"view": 2000}}); got != "views" {
			t.Fatalf("min_price_view=0.002: %q", got)
		}
		if got := names(market.Filter{MinPrices: map[string]int64{"like": 20_000, "comment": 100_000}}); got != "views,beauty" {
			t.Fatalf("min like and comment: %q", got)
		}
		if got := names(market.Filter{MinPrices: map[string]int64{"like": 20_001}}); got != "" {
			t.Fatalf("min_price_like above every price: %q", got)
		}
		if got := names(market.Filter{Platform: platform.Sandbox}); got != "views,beauty" {
			t.Fatalf("platform=sandbox: %q", got)
		}
		if got := names(market.Filter{Platform: platform.TikTok}); got != "" {
			t.Fatalf("platform=tiktok: %q", got)
		}

		list, _ := e.market.Marketplace(e.Ctx, maria, market.Filter{})
		v := list[0]
		if v.Campaign.ID != f.ID || v.RemainingSlots == nil || *v.RemainingSlots != 2 || len(v.EligibleVia) != 1 ||
			v.EligibleVia[0].Handle != "maria" || v.Application != nil || !strings.Contains(string(v.Campaign.Setup), `"view":"0.005000"`) ||
			strings.Contains(string(v.Campaign.Setup), "goal") {
			t.Fatalf("listing %+v setup %s", v, v.Campaign.Setup)
		}
		if list[1].Campaign.ID != a.ID || list[1].RemainingSlots != nil {
			t.Fatalf("unlimited campaign: %+v", list[1])
		}

		// Accepting a creator takes a slot; the creator's own application shows.
		jon := e.creator(t, "jon", "DE", 5000)
		app, err := e.market.Apply(e.Ctx, jon, f.ID, "I post daily")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.market.Decide(e.Ctx, acme, app.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.market.Apply(e.Ctx, maria, f.ID, "Me too"); err != nil {
			t.Fatal(err)
		}
		list, _ = e.market.Marketplace(e.Ctx, maria, market.Filter{})
		if *list[0].RemainingSlots != 1 || list[0].AcceptedCreators != 1 || list[0].Application == nil || list[0].Application.State != market.StatePending {
			t.Fatalf("after one accept: %+v", list[0])
		}

		// A campaign past its end date is not listed.
		e.Clock.Advance(31 * 24 * time.Hour)
		if got := names(market.Filter{}); got != "" {
			t.Fatalf("after the end date: %q", got)
		}
		if _, err := e.market.Marketplace(e.Ctx, acme, market.Filter{}); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a brand browsing: %v", err)
		}
	})
}

func TestApply(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		acme := e.brand(t, "Acme")
		maria := e.creator(t, "maria", "DE", 4200, "beauty")
		open := e.campaignIn(t, acme, "open", campaign.StateOpen, baseSetup())

		_, err := e.market.Apply(e.Ctx, maria, open.ID, "  ")
		wantErr(t, "empty pitch", err, errs.Invalid, "required")
		_, err = e.market.Apply(e.Ctx, maria, open.ID, strings.Repeat("é", market.MaxPitchLen+1))
		wantErr(t, "long pitch", err, errs.Invalid, "too_long")
		_, err = e.market.Apply(e.Ctx, acme, open.ID, "pitch")
		wantErr(t, "brand applies", err, errs.Forbidden, "forbidden")
		_, err = e.market.Apply(e.Ctx, maria, "cmp_nope", "pitch")
		wantErr(t, "unknown campaign", err, errs.NotFound, "not_found")

		app, err := e.market.Apply(e.Ctx, maria, open.ID, " "+strings.Repeat("é", market.MaxPitchLen)+" ")
		if err != nil {
			t.Fatal(err)
		}
		if app.State != market.StatePending || app.CreatorID != maria.SubjectID || app.CampaignID != open.ID ||
			!app.CreatedAt.Equal(t0) || !app.DecidedAt.IsZero() || len([]rune(app.Pitch)) != market.MaxPitchLen {
			t.Fatalf("application %+v", app)
		}
		_, err = e.market.Apply(e.Ctx, maria, open.ID, "again")
		wantErr(t, "second application", err, errs.Conflict, "already_applied")

		// Every unmet criterion is reported.
		strict := baseSetup()
		strict.Eligibility.MinFollowers, strict.Eligibility.MaxFollowers = 10_000, 50_000
		strict.Eligibility.Countries = []string{"FR"}
		strict.Eligibility.Niches = []string{"gaming"}
		hard := e.campaignIn(t, acme, "hard", campaign.StateOpen, strict)
		_, err = e.market.Apply(e.Ctx, maria, hard.ID, "pitch")
		wantErr(t, "not eligible", err, errs.Conflict, "not_eligible")
		var ee *errs.Error
		errors.As(err, &ee)
		if len(ee.Fields) != 3 || ee.Fields[0].Field != "followers" || ee.Fields[1].Field != "country" || ee.Fields[2].Field != "niches" ||
			!strings.Contains(ee.Message, "@maria on sandbox has 4200") || !strings.Contains(ee.Message, "FR") || !strings.Contains(ee.Message, "gaming") {
			t.Fatalf("not eligible: %q %+v", ee.Message, ee.Fields)
		}

		for _, st := range []string{campaign.StateDraft, campaign.StateFunded, campaign.StatePaused, campaign.StateCompleted} {
			c := e.campaignIn(t, acme, st, st, baseSetup())
			_, err = e.market.Apply(e.Ctx, maria, c.ID, "pitch")
			wantErr(t, "apply to a "+st+" campaign", err, errs.Conflict, "campaign_not_open")
		}

		// A full campaign takes no more applications.
		one := baseSetup()
		one.MaxCreators = 1
		full := e.campaignIn(t, acme, "full", campaign.StateOpen, one)
		jon := e.creator(t, "jon", "DE", 5000)
		first, err := e.market.Apply(e.Ctx, jon, full.ID, "pitch")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.market.Decide(e.Ctx, acme, first.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = e.market.Apply(e.Ctx, maria, full.ID, "pitch")
		wantErr(t, "full campaign", err, errs.Conflict, "campaign_full")

		// Only the one good application was stored.
		mine, err := e.market.Mine(e.Ctx, maria)
		if err != nil || len(mine) != 1 || mine[0].ID != app.ID || mine[0].CampaignName != "open" || mine[0].CampaignState != campaign.StateOpen {
			t.Fatalf("maria's applications %+v, %v", mine, err)
		}
		if _, err := e.market.Mine(e.Ctx, acme); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a brand's applications: %v", err)
		}
	})
}

func TestReviewAndDecide(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		acme := e.brand(t, "Acme")
		other := e.brand(t, "Other")
		maria := e.creator(t, "maria", "DE", 4200, "beauty")
		jon := e.creator(t, "jon", "AT", 12_000)
		camp := e.campaignIn(t, acme, "open", campaign.StateOpen, func() campaign.Setup {
			s := baseSetup()
			s.Eligibility.MaxFollowers = 50_000
			return s
		}())
		am, err := e.market.Apply(e.Ctx, maria, camp.ID, "Maria's pitch")
		if err != nil {
			t.Fatal(err)
		}
		aj, err := e.market.Apply(e.Ctx, jon, camp.ID, "Jon's pitch")
		if err != nil {
			t.Fatal(err)
		}

		list, err := e.market.Applications(e.Ctx, acme, camp.ID, "")
		if err != nil || len(list) != 2 {
			t.Fatalf("applications %v, %v", list, err)
		}
		m := list[0]
		if m.ID != am.ID || m.Creator.Name != "maria" || m.Creator.Country != "DE" || len(m.Creator.Niches) != 1 ||
			len(m.Creator.Accounts) != 1 || m.Creator.Accounts[0].Followers != platform.Known(4200) || m.Creator.Accounts[0].Tier != creator.TierNano {
			t.Fatalf("maria's application as reviewed: %+v", m)
		}
		if list[1].Creator.Accounts[0].Tier != creator.TierMicro {
			t.Fatalf("jon's tier: %+v", list[1].Creator.Accounts)
		}
		if _, err := e.market.Applications(e.Ctx, acme, camp.ID, "maybe"); !errs.Is(err, errs.Invalid) {
			t.Fatalf("state=maybe: %v", err)
		}
		for _, p := range []identity.Principal{other, maria} {
			if _, err := e.market.Applications(e.Ctx, p, camp.ID, ""); !errs.Is(err, errs.NotFound) {
				t.Fatalf("%s listed another brand's applications: %v", p.SubjectID, err)
			}
			_, err := e.market.Decide(e.Ctx, p, am.ID, true)
			wantErr(t, p.Role+" decides", err, errs.NotFound, "not_found")
		}
		_, err = e.market.Decide(e.Ctx, acme, "apl_nope", true)
		wantErr(t, "unknown application", err, errs.NotFound, "not_found")
		if _, err := e.market.Accepted(e.Ctx, db.Read(), camp.ID, maria.SubjectID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("Accepted of a pending application: %v", err)
		}

		e.Clock.Advance(time.Hour)
		got, err := e.market.Decide(e.Ctx, acme, am.ID, true)
		if err != nil || got.State != market.StateAccepted || !got.DecidedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("accept: %+v, %v", got, err)
		}
		_, err = e.market.Decide(e.Ctx, acme, am.ID, true)
		wantErr(t, "accept twice", err, errs.Conflict, "already_decided")
		_, err = e.market.Decide(e.Ctx, acme, am.ID, false)
		wantErr(t, "reject an accepted one", err, errs.Conflict, "already_decided")
		acc, err := e.market.Accepted(e.Ctx, db.Read(), camp.ID, maria.SubjectID)
		if err != nil || acc.ID != am.ID || !acc.DecidedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("Accepted: %+v, %v", acc, err)
		}

		got, err = e.market.Decide(e.Ctx, admin, aj.ID, false)
		if err != nil || got.State != market.StateRejected {
			t.Fatalf("admin rejects: %+v, %v", got, err)
		}
		_, err = e.market.Decide(e.Ctx, acme, aj.ID, true)
		wantErr(t, "accept a rejected one", err, errs.Conflict, "already_decided")
		if _, err := e.market.Accepted(e.Ctx, db.Read(), camp.ID, jon.SubjectID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("Accepted of a rejected application: %v", err)
		}
		for state, want := range map[string]string{market.StatePending: "", market.StateAccepted: am.ID, market.StateRejected: aj.ID} {
			list, err := e.market.Applications(e.Ctx, acme, camp.ID, state)
			var ids []string
			for _, a := range list {
				ids = append(ids, a.ID)
			}
			if err != nil || strings.Join(ids, ",") != want {
				t.Fatalf("state=%s: %v, %v; want %s", state, ids, err, want)
			}
		}

		// Accepting needs the campaign open or paused.
		ana := e.creator(t, "ana", "DE", 3000)
		bo := e.creator(t, "bo", "DE", 3000)
		aa, _ := e.market.Apply(e.Ctx, ana, camp.ID, "pitch")
		ab, _ := e.market.Apply(e.Ctx, bo, camp.ID, "pitch")
		if _, err := e.campaigns.Transition(e.Ctx, acme, camp.ID, campaign.ActionPause); err != nil {
			t.Fatal(err)
		}
		if got, err := e.market.Decide(e.Ctx, acme, aa.ID, true); err != nil || got.State != market.StateAccepted {
			t.Fatalf("accept while paused: %+v, %v", got, err)
		}
		if _, err := e.campaigns.Transition(e.Ctx, acme, camp.ID, campaign.ActionComplete); err != nil {
			t.Fatal(err)
		}
		_, err = e.market.Decide(e.Ctx, acme, ab.ID, true)
		wantErr(t, "accept in a completed campaign", err, errs.Conflict, "campaign_not_open")
		if got, err := e.market.Decide(e.Ctx, acme, ab.ID, false); err != nil || got.State != market.StateRejected {
			t.Fatalf("reject in a completed campaign: %+v, %v", got, err)
		}
	})
}

func TestMaxCreatorsUnderConcurrentAccepts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		acme := e.brand(t, "Acme")
		s := baseSetup()
		s.MaxCreators = 3
		camp := e.campaignIn(t, acme, "three", campaign.StateOpen, s)
		var apps []market.Application
		for i := range 10 {
			c := e.creator(t, fmt.Sprintf("c%d", i), "DE", 2000)
			a, err := e.market.Apply(e.Ctx, c, camp.ID, "pitch")
			if err != nil {
				t.Fatal(err)
			}
			apps = append(apps, a)
		}
		var wg sync.WaitGroup
		results := make([]error, len(apps))
		for i, a := range apps {
			wg.Go(func() { _, results[i] = e.market.Decide(e.Ctx, acme, a.ID, true) })
		}
		wg.Wait()
		ok := 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case errs.CodeOf(err) != "campaign_full":
				t.Fatalf("unexpected error: %v", err)
			}
		}
		accepted, err := e.market.Applications(e.Ctx, acme, camp.ID, market.StateAccepted)
		if ok != 3 || err != nil || len(accepted) != 3 {
			t.Fatalf("%d accepts succeeded, %d accepted (%v); want 3", ok, len(accepted), err)
		}
	})
}
