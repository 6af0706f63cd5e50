package links_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/creator/creatortest"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/links/linkstest"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

var t0 = time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)

const (
	chromeMac    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	safariIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

func TestBotAndDevice(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, ua, purpose string
		bot                       bool
		device                    string
	}{
		{"chrome on a mac", "GET", chromeMac, "", false, links.DeviceDesktop},
		{"safari on an iphone", "GET", safariIPhone, "", false, links.DeviceMobile},
		{"android phone", "GET", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36", "", false, links.DeviceMobile},
		{"android tablet", "GET", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 Chrome/126.0 Safari/537.36", "", false, links.DeviceTablet},
		{"ipad", "GET", "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "", false, links.DeviceTablet},
		{"instagram in-app browser", "GET", safariIPhone + " Instagram 330.0.0", "", false, links.DeviceMobile},
		{"facebook in-app browser (FBAN)", "GET", safariIPhone + " [FBAN/FBIOS;FBAV/470.0]", "", false, links.DeviceMobile},
		{"tiktok in-app browser", "GET", safariIPhone + " musical_ly_35.1.0 BytedanceWebview/d8a21c6", "", false, links.DeviceMobile},
		{"unknown ua", "GET", "SomeTV/1.0", "", false, links.DeviceUnknown},
		{"HEAD from a browser", "HEAD", chromeMac, "", true, links.DeviceBot},
		{"empty user agent", "GET", "", "", true, links.DeviceBot},
		{"googlebot", "GET", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "", true, links.DeviceBot},
		{"bingbot", "GET", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "", true, links.DeviceBot},
		{"facebook link preview", "GET", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "", true, links.DeviceBot},
		{"meta ad fetcher", "GET", "meta-externalads/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)", "", true, links.DeviceBot},
		{"twitterbot", "GET", "Twitterbot/1.0", "", true, links.DeviceBot},
		{"slackbot", "GET", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "", true, links.DeviceBot},
		{"discordbot", "GET", "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)", "", true, links.DeviceBot},
		{"whatsapp preview", "GET", "WhatsApp/2.23.20.0 A", "", true, links.DeviceBot},
		{"telegram preview", "GET", "TelegramBot (like TwitterBot)", "", true, links.DeviceBot},
		{"linkedin preview", "GET", "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", "", true, links.DeviceBot},
		{"curl", "GET", "curl/8.5.0", "", true, links.DeviceBot},
		{"wget", "GET", "Wget/1.21.4", "", true, links.DeviceBot},
		{"python-requests", "GET", "python-requests/2.31.0", "", true, links.DeviceBot},
		{"go http client", "GET", "Go-http-client/1.1", "", true, links.DeviceBot},
		{"tiktok spider", "GET", "Mozilla/5.0 (compatible; TikTokSpider; ttspider-feedback@tiktok.com)", "", true, links.DeviceBot},
		{"bytespider", "GET", "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)", "", true, links.DeviceBot},
		{"ad preloader (Sec-Purpose: prefetch)", "GET", safariIPhone + " musical_ly_35.1.0", "prefetch", true, links.DeviceBot},
		{"preview purpose", "GET", safariIPhone, "preview", true, links.DeviceBot},
		{"headless chrome", "GET", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/126.0 Safari/537.36", "", true, links.DeviceBot},
		{"mastodon preview fetcher (fraud.PreviewFetcher)", "GET", mastodonFetcher, "", true, links.DeviceBot},
	}
	for _, c := range cases {
		v := links.Visit{Method: c.method, UserAgent: c.ua, Purpose: c.purpose, IP: "203.0.113.7"}
		if got := links.IsBot(v); got != c.bot {
			t.Errorf("%s: bot %v, want %v", c.name, got, c.bot)
		}
		if got := links.DeviceOf(v); got != c.device {
			t.Errorf("%s: device %s, want %s", c.name, got, c.device)
		}
	}
	// A browser's agent from a data centre's address is a server's visit
	// (fraud.DataCentre); the same agent from a home address is a person's.
	for ip, bot := range map[string]bool{"52.1.2.3": true, "2a01:4f8::1": true, "::ffff:34.64.0.9": true, "203.0.113.7": false, "": false} {
		if got := links.IsBot(links.Visit{Method: "GET", UserAgent: safariIPhone, IP: ip}); got != bot {
			t.Errorf("safari from %q: bot %v, want %v", ip, got, bot)
		}
	}
}

// mastodonFetcher is the agent Mastodon fetches link cards with: no
// generic bot mark in it, named by fraud's list of preview fetchers.
const mastodonFetcher = "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)"

func TestDestinationMatrix(t *testing.T) {
	t.Parallel()
	base := links.Link{UTMSource: "maria", Medium: links.MediumInfluencer, UTMCampaign: "summer-glow", Placement: "bio"}
	utm := "utm_source=maria&utm_medium=influencer&utm_campaign=summer-glow&utm_content=bio&click_id=CID"
	cases := []struct {
		name, dest, incoming, want string
	}{
		{"plain", "https://shop.example/glow", "", "https://shop.example/glow?" + utm},
		{"existing query kept first", "https://shop.example/glow?color=red&size=m", "", "https://shop.example/glow?color=red&size=m&" + utm},
		{"fragment kept after the query", "https://shop.example/glow#reviews", "", "https://shop.example/glow?" + utm + "#reviews"},
		{"query and fragment", "https://shop.example/glow?a=1#top", "", "https://shop.example/glow?a=1&" + utm + "#top"},
		{"unicode path and fragment", "https://shop.example/café/ハ?q=été#été", "",
			"https://shop.example/caf%C3%A9/%E3%83%8F?q=été&" + utm + "#%C3%A9t%C3%A9"},
		{"already-encoded UTM kept as is", "https://shop.example/glow?utm_source=news%20letter&utm_campaign=x%2By", "",
			"https://shop.example/glow?utm_source=news%20letter&utm_campaign=x%2By&utm_medium=influencer&utm_content=bio&click_id=CID"},
		{"incoming query passes through", "https://shop.example/glow", "ref=story&gclid=abc",
			"https://shop.example/glow?" + utm + "&gclid=abc&ref=story"},
		{"incoming cannot override UTMs or the click id", "https://shop.example/glow", "utm_source=evil&click_id=forged&x=1",
			"https://shop.example/glow?" + utm + "&x=1"},
		{"incoming does not repeat the destination's own keys", "https://shop.example/glow?color=red", "color=blue&n=%C3%A9+x",
			"https://shop.example/glow?color=red&" + utm + "&n=%C3%A9+x"},
		{"incoming repeated key keeps every value", "https://shop.example/glow", "tag=a&tag=b",
			"https://shop.example/glow?" + utm + "&tag=a&tag=b"},
		{"empty query mark", "https://shop.example/glow?", "", "https://shop.example/glow?" + utm},
	}
	for _, c := range cases {
		l := base
		l.Destination = c.dest
		got := links.Destination(l, "CID", c.incoming)
		if got != c.want {
			t.Errorf("%s:\n got  %s\n want %s", c.name, got, c.want)
		}
		if _, err := url.Parse(got); err != nil {
			t.Errorf("%s: result does not parse: %v", c.name, err)
		}
	}
	l := base
	l.UTMSource, l.UTMCampaign, l.Destination = "café_ü", "été-2026", "https://shop.example/"
	if got, want := links.Destination(l, "CID", ""), "https://shop.example/?utm_source=caf%C3%A9_%C3%BC&utm_medium=influencer&utm_campaign=%C3%A9t%C3%A9-2026&utm_content=bio&click_id=CID"; got != want {
		t.Errorf("unicode UTMs: got %s, want %s", got, want)
	}
}

func TestReferrerHost(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "", "https://www.Instagram.com/maria?x=1": "www.instagram.com", "http://u:p@t.co:8080/abc": "t.co",
		"https://[2001:db8::1]:443/x": "2001:db8::1", "android-app://com.zhiliaoapp.musically/": "com.zhiliaoapp.musically",
		"not a url": "", "https://l.facebook.com#frag": "l.facebook.com",
	} {
		if got := links.ReferrerHost(in); got != want {
			t.Errorf("ReferrerHost(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCampaignSlug(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Summer Glow 2026": "summer-glow-2026", "  Été — Crème!! ": "été-crème", "???": "campaign",
		"a_b.c": "a-b-c", strings.Repeat("x", 80): strings.Repeat("x", 60),
	} {
		if got := links.CampaignSlug(in); got != want {
			t.Errorf("CampaignSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

type env struct {
	*creatortest.Env
	campaigns *campaign.Service
	market    *market.Service
	links     *links.Service
}

func setup(t *testing.T, db *store.DB, cfg links.Config) *env {
	t.Helper()
	ce := creatortest.New(t, db, clock.NewFake(t0))
	l, err := ledger.New(db, ce.Clock, ledger.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	camps := campaign.New(db, l, ce.Clock)
	mkt := market.New(db, ce.Clock, camps, ce.Creators)
	if cfg.PublicURL == "" {
		cfg.PublicURL = "https://pay.example"
	}
	ls, err := links.New(context.Background(), db, ce.Clock, camps, mkt, ce.Creators, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ls.Recorder.Close(context.Background()) })
	return &env{Env: ce, campaigns: camps, market: mkt, links: ls}
}

func (e *env) brand(t *testing.T, name string) identity.Principal {
	t.Helper()
	b, _, err := e.Identity.CreateBrand(e.Ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
}

// openCampaign makes an open campaign of brand named name.
func (e *env) openCampaign(t *testing.T, brand identity.Principal, name string) campaign.Campaign {
	t.Helper()
	c, err := e.campaigns.Create(e.Ctx, brand, campaign.Draft{Name: name, Budget: money.New(1000*money.Scale, money.EUR)})
	if err != nil {
		t.Fatal(err)
	}
	s := campaign.Setup{
		Goal:   campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3_500_000},
		Brief:  campaign.Brief{Product: "Glow serum", Message: "Show your routine", LandingURL: "https://shop.example/glow?ref=payper"},
		Prices: campaign.Prices{Like: 20_000, Comment: 100_000},
		EndsAt: t0.Add(30 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox},
			MinFollowers: 1000, MaxFollowers: 25_000},
	}
	if _, err := e.campaigns.Configure(e.Ctx, brand, c.ID, s); err != nil {
		t.Fatal(err)
	}
	if _, err := e.campaigns.Fund(e.Ctx, brand, c.ID, campaign.FundInput{Reference: "ref-" + c.ID}); err != nil {
		t.Fatal(err)
	}
	if c, err = e.campaigns.Transition(e.Ctx, brand, c.ID, campaign.ActionOpen); err != nil {
		t.Fatal(err)
	}
	return c
}

// creator makes a creator with a connected sandbox account, applied to camp
// and accepted when accept is true.
func (e *env) creator(t *testing.T, handle string, brand identity.Principal, camp campaign.Campaign, accept bool) identity.Principal {
	t.Helper()
	p := e.Creator(t, handle, "DE")
	e.SandboxAccount(t, handle, 4200)
	e.Connect(t, p, handle)
	a, err := e.market.Apply(e.Ctx, p, camp.ID, "pitch")
	if err != nil {
		t.Fatal(err)
	}
	if accept {
		if _, err := e.market.Decide(e.Ctx, brand, a.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func count(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateErrors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, links.Config{})
		acme, other := e.brand(t, "Acme"), e.brand(t, "Other")
		camp := e.openCampaign(t, acme, "Summer Glow")
		maria := e.creator(t, "maria", acme, camp, true)
		jon := e.creator(t, "jon", acme, camp, false)

		l, err := e.links.Create(e.Ctx, acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "bio"})
		if err != nil {
			t.Fatal(err)
		}
		if l.Medium != links.MediumInfluencer || l.UTMSource != "maria" || l.UTMCampaign != "summer-glow" ||
			l.Destination != "https://shop.example/glow?ref=payper" || l.ShortURL != "https://pay.example/r/"+l.Slug || len(l.Slug) != 8 {
			t.Fatalf("link: %+v", l)
		}
		cases := []struct {
			name       string
			p          identity.Principal
			campaignID string
			d          links.Draft
			kind       errs.Kind
			code       string
		}{
			{"unknown creator", acme, camp.ID, links.Draft{CreatorID: "crt_00000000000000000000000000", Placement: "story-1"}, errs.Invalid, "unknown_creator"},
			{"not accepted", acme, camp.ID, links.Draft{CreatorID: jon.SubjectID, Placement: "bio"}, errs.Invalid, "not_accepted"},
			{"bad creator id", acme, camp.ID, links.Draft{CreatorID: "maria", Placement: "bio"}, errs.Invalid, "invalid"},
			{"bad placement", acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "Story 1"}, errs.Invalid, "invalid"},
			{"empty placement", acme, camp.ID, links.Draft{CreatorID: maria.SubjectID}, errs.Invalid, "invalid"},
			{"bad medium", acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "ad", Medium: "email"}, errs.Invalid, "invalid"},
			{"http destination", acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "ad", Destination: "http://shop.example/"}, errs.Invalid, "invalid"},
			{"relative destination", acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "ad", Destination: "/glow"}, errs.Invalid, "invalid"},
			{"destination with credentials", acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "ad", Destination: "https://u:p@shop.example/"}, errs.Invalid, "invalid"},
			{"other brand's campaign", other, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "ad"}, errs.NotFound, "not_found"},
			{"a creator", maria, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "ad"}, errs.NotFound, "not_found"},
			{"unknown campaign", acme, "cmp_00000000000000000000000000", links.Draft{CreatorID: maria.SubjectID, Placement: "ad"}, errs.NotFound, "not_found"},
			{"same placement twice", acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "bio"}, errs.Conflict, "link_exists"},
		}
		for _, c := range cases {
			_, err := e.links.Create(e.Ctx, c.p, c.campaignID, c.d)
			if !errs.Is(err, c.kind) || errs.CodeOf(err) != c.code {
				t.Errorf("%s: got %v (%s %s), want %s %s", c.name, err, errs.KindOf(err), errs.CodeOf(err), c.kind, c.code)
			}
		}
		if n := count(t, db, `SELECT COUNT(*) FROM links`); n != 1 {
			t.Fatalf("%d links after the errors, want 1", n)
		}
		ad, err := e.links.Create(e.Ctx, identity.Principal{Role: identity.RoleAdmin}, camp.ID,
			links.Draft{CreatorID: maria.SubjectID, Placement: "ad-variant-b", Medium: links.MediumPaidSocial, Destination: "https://shop.example/ad"})
		if err != nil || ad.Medium != links.MediumPaidSocial || ad.Destination != "https://shop.example/ad" {
			t.Fatalf("admin's paid_social link: %+v, %v", ad, err)
		}
		mine, err := e.links.Mine(e.Ctx, maria)
		if err != nil || len(mine) != 2 {
			t.Fatalf("maria's links: %v, %v", mine, err)
		}
		if mine, _ := e.links.Mine(e.Ctx, jon); len(mine) != 0 {
			t.Fatalf("jon sees links: %v", mine)
		}
		if _, err := e.links.List(e.Ctx, other, camp.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("other brand lists links: %v", err)
		}
	})
}

// TestClicks follows a link with a table of visits, moving the clock, and
// checks each click's bot and unique flags as stored, then the counts.
func TestClicks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, links.Config{CountryHeader: "CF-IPCountry", TrustProxy: true})
		acme := e.brand(t, "Acme")
		camp := e.openCampaign(t, acme, "Summer Glow")
		maria := e.creator(t, "maria", acme, camp, true)
		bio, err := e.links.Create(e.Ctx, acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "bio"})
		if err != nil {
			t.Fatal(err)
		}
		story, err := e.links.Create(e.Ctx, acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "story-1"})
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			name        string
			advance     time.Duration
			slug        string
			method, ip  string
			ua, referer string
			bot, unique bool
			device      string
		}{
			{"first visit", 0, bio.Slug, "GET", "203.0.113.7", safariIPhone, "https://www.instagram.com/maria", false, true, links.DeviceMobile},
			{"same visitor 10 min later", 10 * time.Minute, bio.Slug, "GET", "203.0.113.7", safariIPhone, "", false, false, links.DeviceMobile},
			{"same visitor, other link", 0, story.Slug, "GET", "203.0.113.7", safariIPhone, "", false, true, links.DeviceMobile},
			{"same IP, other browser", 0, bio.Slug, "GET", "203.0.113.7", chromeMac, "", false, true, links.DeviceDesktop},
			{"HEAD from the first visitor", 0, bio.Slug, "HEAD", "203.0.113.8", safariIPhone, "", true, false, links.DeviceBot},
			{"link preview", 0, bio.Slug, "GET", "198.51.100.1", "facebookexternalhit/1.1", "", true, false, links.DeviceBot},
			{"link preview again", 0, bio.Slug, "GET", "198.51.100.1", "facebookexternalhit/1.1", "", true, false, links.DeviceBot},
			{"browser agent from a data centre (AWS)", 0, bio.Slug, "GET", "52.1.2.3", safariIPhone, "", true, false, links.DeviceBot},
			{"preview fetcher known by name only (Mastodon)", 0, bio.Slug, "GET", "198.51.100.2", mastodonFetcher, "", true, false, links.DeviceBot},
			{"first visitor at 59 min", 49 * time.Minute, bio.Slug, "GET", "203.0.113.7", safariIPhone, "", false, false, links.DeviceMobile},
			{"first visitor at 60 min", time.Minute, bio.Slug, "GET", "203.0.113.7", safariIPhone, "", false, true, links.DeviceMobile},
			{"first visitor at 61 min", time.Minute, bio.Slug, "GET", "203.0.113.7", safariIPhone, "", false, false, links.DeviceMobile},
		}
		for _, s := range steps {
			e.Clock.Advance(s.advance)
			r := httptest.NewRequest(s.method, "/r/"+s.slug+"?gclid=x", nil)
			r.RemoteAddr = "10.0.0.1:5555"
			r.Header.Set("X-Forwarded-For", "1.1.1.1, "+s.ip)
			r.Header.Set("User-Agent", s.ua)
			r.Header.Set("CF-IPCountry", "de")
			if s.referer != "" {
				r.Header.Set("Referer", s.referer)
			}
			dest, err := e.links.Follow(e.Ctx, s.slug, e.links.VisitOf(r))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(dest, "gclid=x") || !strings.Contains(dest, "click_id=") {
				t.Fatalf("%s: destination %s", s.name, dest)
			}
		}
		if err := e.links.Recorder.Flush(e.Ctx); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Read().QueryContext(e.Ctx, `SELECT visitor, country, device, referrer_host, bot, is_unique, click_id FROM clicks ORDER BY at, click_id`)
		if err != nil {
			t.Fatal(err)
		}
		type got struct {
			visitor, country, device, ref, clickID string
			bot, unique                            bool
		}
		var all []got
		for rows.Next() {
			var g got
			if err := rows.Scan(&g.visitor, &g.country, &g.device, &g.ref, &g.bot, &g.unique, &g.clickID); err != nil {
				t.Fatal(err)
			}
			all = append(all, g)
		}
		rows.Close()
		if len(all) != len(steps) {
			t.Fatalf("%d clicks stored, want %d", len(all), len(steps))
		}
		for _, g := range all {
			if len(g.visitor) != 32 || strings.Contains(g.visitor, "203.0.113") || g.country != "DE" || len(g.clickID) != 24 {
				t.Fatalf("stored click %+v", g)
			}
		}
		var bots, uniques, humans int
		for _, g := range all {
			if g.bot {
				bots++
			} else {
				humans++
			}
			if g.unique {
				uniques++
			}
			if g.bot && g.unique {
				t.Fatalf("a bot click is unique: %+v", g)
			}
		}
		var wantBots, wantUniques int
		for _, s := range steps {
			if s.bot {
				wantBots++
			}
			if s.unique {
				wantUniques++
			}
		}
		if bots != wantBots || uniques != wantUniques {
			t.Fatalf("stored %d bot and %d unique clicks, want %d and %d", bots, uniques, wantBots, wantUniques)
		}
		// The last three steps are alone at their instants: check them in order.
		for i, s := range steps[len(steps)-3:] {
			g := all[len(all)-3+i]
			if g.bot != s.bot || g.unique != s.unique || g.device != s.device {
				t.Fatalf("%s: stored %+v", s.name, g)
			}
		}
		if all[0].ref != "www.instagram.com" {
			t.Fatalf("referrer host %q", all[0].ref)
		}
		list, err := e.links.List(e.Ctx, acme, camp.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("list: %v, %v", list, err)
		}
		if c := list[0].Clicks; c.Human != 6 || c.Bot != 5 || c.Unique != 3 {
			t.Fatalf("bio counts %+v", c)
		}
		if c := list[1].Clicks; c.Human != 1 || c.Bot != 0 || c.Unique != 1 {
			t.Fatalf("story counts %+v", c)
		}
		if _, err := e.links.Follow(e.Ctx, "nosuchslug", links.Visit{Method: "GET"}); !errs.Is(err, errs.NotFound) {
			t.Fatalf("unknown slug: %v", err)
		}
	})
}

// TestSaltSurvivesRestart checks that without a configured salt one is
// generated once and reused.
func TestSaltSurvivesRestart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, links.Config{})
		var first string
		if err := db.Read().QueryRowContext(e.Ctx, `SELECT value FROM settings WHERE name = 'click_salt'`).Scan(&first); err != nil || len(first) < 32 {
			t.Fatalf("salt %q, %v", first, err)
		}
		again, err := links.New(e.Ctx, db, e.Clock, e.campaigns, e.market, e.Creators, links.Config{})
		if err != nil {
			t.Fatal(err)
		}
		again.Recorder.Close(e.Ctx)
		if n := count(t, db, `SELECT COUNT(*) FROM settings WHERE name = 'click_salt' AND value = $1`, first); n != 1 {
			t.Fatal("the salt changed on restart")
		}
	})
}

// TestClickIDs: a click id names its link's slug and its millisecond, read
// back whatever the 40-bit millisecond's wrap; anything else is refused.
func TestClickIDs(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 21, 9, 30, 15, 123_456_789, time.UTC)
	cid := links.ClickID("k3v9q0ab", at)
	if len(cid) != 24 || !strings.HasPrefix(cid, "k3v9q0ab") {
		t.Fatalf("click id %q", cid)
	}
	for _, near := range []time.Time{at, at.Add(time.Second), at.Add(30 * 24 * time.Hour), at.Add(30 * 365 * 24 * time.Hour)} {
		ref, ok := links.ParseClickID(cid, near)
		from := clock.MicrosOf(at.Truncate(time.Millisecond))
		if !ok || ref.Slug != "k3v9q0ab" || ref.From != from || ref.To != from+1000 {
			t.Errorf("near %s: %+v %v, want slug k3v9q0ab and [%d, %d)", near, ref, ok, from, from+1000)
		}
	}
	// Just across a wrap of the millisecond counter (every 2^40 ms).
	wrap := time.UnixMilli(1 << 41).UTC()
	before := wrap.Add(-time.Millisecond)
	if ref, ok := links.ParseClickID(links.ClickID("abc", before), wrap.Add(time.Hour)); !ok || ref.From != clock.MicrosOf(before) {
		t.Errorf("across the wrap: %+v %v, want from %d", ref, ok, clock.MicrosOf(before))
	}
	for _, bad := range []string{"", "short", "k3v9q0ab" + "!!!!!!!!!!!!!!!!", "0123456789abcdef", "k3v9q0ab" + "ZZZZZZZZZZZZZZZZ"} {
		if _, ok := links.ParseClickID(bad, at); ok {
			t.Errorf("%q parsed as a click id", bad)
		}
	}
}

// TestRedirectsDuringWriteOutage follows a link while the database refuses
// clicks: every redirect is answered, and once the database takes writes
// again each click is stored once and counted once.
func TestRedirectsDuringWriteOutage(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db, links.Config{Recorder: links.RecorderOptions{Batch: 16, RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond}})
		acme := e.brand(t, "Acme")
		camp := e.openCampaign(t, acme, "Outage")
		maria := e.creator(t, "maria", acme, camp, true)
		bio, err := e.links.Create(e.Ctx, acme, camp.ID, links.Draft{CreatorID: maria.SubjectID, Placement: "bio"})
		if err != nil {
			t.Fatal(err)
		}
		restore := linkstest.RefuseClicks(t, db)
		const n = 100
		ids := map[string]bool{}
		for i := range n {
			r := httptest.NewRequest("GET", "/r/"+bio.Slug, nil)
			r.Header.Set("User-Agent", safariIPhone)
			if i%4 == 0 {
				r.Header.Set("User-Agent", "facebookexternalhit/1.1")
			}
			dest, err := e.links.Follow(e.Ctx, bio.Slug, e.links.VisitOf(r))
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(dest)
			if err != nil {
				t.Fatal(err)
			}
			ids[u.Query().Get("click_id")] = true
			if i == n/2 {
				if err := e.links.Recorder.Flush(e.Ctx); err == nil {
					t.Fatal("flush succeeded while the database refuses clicks")
				}
			}
		}
		if err := e.links.Recorder.Flush(e.Ctx); err == nil {
			t.Fatal("flush succeeded while the database refuses clicks")
		}
		restore()
		var ferr error
		for range 50 {
			if ferr = e.links.Recorder.Flush(e.Ctx); ferr == nil {
				break
			}
		}
		if ferr != nil {
			t.Fatalf("clicks not written once the database takes them: %v", ferr)
		}
		if got := count(t, db, `SELECT COUNT(*) FROM clicks`); got != n || len(ids) != n {
			t.Fatalf("%d clicks stored (%d distinct ids answered), want %d", got, len(ids), n)
		}
		for id := range ids {
			if got := count(t, db, `SELECT COUNT(*) FROM clicks WHERE click_id = $1`, id); got != 1 {
				t.Fatalf("click %s stored %d times", id, got)
			}
		}
		list, err := e.links.List(e.Ctx, acme, camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c := list[0].Clicks; c.Human != n*3/4 || c.Bot != n/4 || c.Unique != 1 {
			t.Fatalf("counts %+v, want %d human (1 unique) and %d bot", c, n*3/4, n/4)
		}
		if e.links.Recorder.Dropped() != 0 {
			t.Fatalf("%d clicks dropped", e.links.Recorder.Dropped())
		}
	})
}
