package campaign_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

// setupNow is the clock every setup test runs at.
var setupNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// setupBudget is a comfortable EUR budget.
var setupBudget = money.New(1000*money.Scale, money.EUR)

// validSetup returns a normalized setup that passes Validate at setupNow with
// setupBudget and draws no advice.
func validSetup() campaign.Setup {
	return campaign.Setup{
		Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3_500_000,
			Secondary: campaign.MetricCPE, SecondaryTarget: 80_000},
		Brief: campaign.Brief{
			Product:          "Glow serum 30 ml",
			Message:          "Show your morning routine with the serum.",
			RequiredHashtags: []string{"#glowup", "#skincare"},
			Disclosure:       "#ad",
			PostTypes:        map[campaign.Platform][]string{campaign.PlatformInstagram: {"reel", "story"}},
			CTA:              "Say the code GLOW10",
			HookSeconds:      3,
			LandingURL:       "https://shop.example/glow?utm_source=payper",
			NonNegotiable:    []campaign.BriefItem{campaign.ItemDisclosure, campaign.ItemHashtags},
		},
		Prices:      campaign.Prices{View: 2_000, Like: 20_000, Comment: 200_000, Share: 500_000, Save: 50_000},
		CreatorCap:  100 * money.Scale,
		MaxCreators: 20,
		StartsAt:    setupNow.Add(24 * time.Hour),
		EndsAt:      setupNow.Add(31 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{
			Platforms:    []campaign.Platform{campaign.PlatformInstagram, campaign.PlatformTikTok},
			MinFollowers: 1_000, MaxFollowers: 25_000,
			Countries: []string{"DE", "AT"},
			Niches:    []string{"beauty", "skin-care"},
		},
	}
}

// fieldErrors returns the field errors of err, failing t unless err is an
// Invalid *errs.Error.
func fieldErrors(t *testing.T, err error) []errs.FieldError {
	t.Helper()
	if err == nil {
		t.Fatal("got nil error, want an invalid-fields error")
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	if e.Kind != errs.Invalid {
		t.Fatalf("kind = %s, want invalid (error %v)", e.Kind, err)
	}
	if len(e.Fields) == 0 {
		t.Fatalf("error %v lists no fields", err)
	}
	return e.Fields
}

// fieldCode is a field and the code expected for it.
type fieldCode struct{ field, code string }

func codesOf(fs []errs.FieldError) []fieldCode {
	out := make([]fieldCode, len(fs))
	for i, f := range fs {
		out[i] = fieldCode{f.Field, f.Code}
	}
	return out
}

func TestSetupValidateAccepts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		mutate func(*campaign.Setup)
	}{
		{"base", func(*campaign.Setup) {}},
		{"no secondary goal", func(s *campaign.Setup) { s.Goal.Secondary, s.Goal.SecondaryTarget = "", 0 }},
		{"cpa primary", func(s *campaign.Setup) { s.Goal.Primary, s.Goal.PrimaryTarget = campaign.MetricCPA, 12_500_000 }},
		{"revenue primary", func(s *campaign.Setup) {
			s.Goal.Primary, s.Goal.PrimaryTarget = campaign.MetricRevenue, 5000*money.Scale
		}},
		{"redemption rate of 100 %", func(s *campaign.Setup) {
			s.Goal.Secondary, s.Goal.SecondaryTarget = campaign.MetricRedemptionRate, 100*money.Scale
		}},
		{"start empty means when funded", func(s *campaign.Setup) { s.StartsAt = time.Time{} }},
		{"start in the past", func(s *campaign.Setup) { s.StartsAt = setupNow.Add(-time.Hour) }},
		{"end one microsecond from now", func(s *campaign.Setup) { s.StartsAt, s.EndsAt = time.Time{}, setupNow.Add(time.Microsecond) }},
		{"product of 2000 characters", func(s *campaign.Setup) { s.Brief.Product = strings.Repeat("é", 2000) }},
		{"hashtag of 100 characters", func(s *campaign.Setup) { s.Brief.RequiredHashtags = []string{"#" + strings.Repeat("a", 99)} }},
		{"30 hashtags", func(s *campaign.Setup) { s.Brief.RequiredHashtags = nTags(30) }},
		{"unicode hashtags", func(s *campaign.Setup) {
			s.Brief.RequiredHashtags = []string{"#café", "#ハッシュタグ", "#नमस्ते", "#ad_2026"}
		}},
		{"no hashtags, not non-negotiable", func(s *campaign.Setup) {
			s.Brief.RequiredHashtags, s.Brief.NonNegotiable = nil, nil
		}},
		{"every non-negotiable item configured", func(s *campaign.Setup) {
			s.Brief.NonNegotiable = []campaign.BriefItem{"hashtags", "disclosure", "cta", "hook", "landing_url", "post_types"}
		}},
		{"no post types", func(s *campaign.Setup) { s.Brief.PostTypes = nil }},
		{"post types on every platform", func(s *campaign.Setup) {
			s.Eligibility.Platforms = []campaign.Platform{"instagram", "tiktok", "youtube", "sandbox"}
			s.Brief.PostTypes = map[campaign.Platform][]string{"instagram": {"feed", "reel", "story", "carousel"},
				"tiktok": {"video"}, "youtube": {"video", "short"}, "sandbox": {"post", "video"}}
		}},
		{"hook 0 and 60", func(s *campaign.Setup) { s.Brief.HookSeconds = 60 }},
		{"no hook", func(s *campaign.Setup) { s.Brief.HookSeconds = 0 }},
		{"no CTA", func(s *campaign.Setup) { s.Brief.CTA = "" }},
		{"http on localhost", func(s *campaign.Setup) { s.Brief.LandingURL = "http://localhost:8080/shop" }},
		{"http on a .localhost name", func(s *campaign.Setup) { s.Brief.LandingURL = "http://shop.localhost/x" }},
		{"http on 127.0.0.1", func(s *campaign.Setup) { s.Brief.LandingURL = "http://127.0.0.1:8080/" }},
		{"http on ::1", func(s *campaign.Setup) { s.Brief.LandingURL = "http://[::1]:8080/" }},
		{"only saves priced", func(s *campaign.Setup) { s.Prices = campaign.Prices{Save: 1} }},
		{"price equal to budget and cap", func(s *campaign.Setup) {
			s.CreatorCap = setupBudget.Micros
			s.Prices = campaign.Prices{Share: setupBudget.Micros}
		}},
		{"no creator cap", func(s *campaign.Setup) { s.CreatorCap = 0; s.Prices.Share = 900 * money.Scale }},
		{"max creators 0 and 10000", func(s *campaign.Setup) { s.MaxCreators = 10_000 }},
		{"unlimited creators", func(s *campaign.Setup) { s.MaxCreators = 0 }},
		{"min followers 0", func(s *campaign.Setup) { s.Eligibility.MinFollowers = 0 }},
		{"min equals max", func(s *campaign.Setup) { s.Eligibility.MinFollowers, s.Eligibility.MaxFollowers = 5000, 5000 }},
		{"any country, any niche", func(s *campaign.Setup) { s.Eligibility.Countries, s.Eligibility.Niches = nil, nil }},
		{"Kosovo", func(s *campaign.Setup) { s.Eligibility.Countries = []string{"XK"} }},
		{"niche of 40 characters", func(s *campaign.Setup) { s.Eligibility.Niches = []string{"a" + strings.Repeat("-", 39)} }},
		{"50 niches", func(s *campaign.Setup) { s.Eligibility.Niches = nNiches(50) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSetup()
			tc.mutate(&s)
			if err := s.Validate(setupBudget, setupNow); err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
		})
	}
}

func nTags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("#tag%d", i)
	}
	return out
}

func nNiches(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("niche-%d", i)
	}
	return out
}

func TestSetupValidateRejects(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name   string
		mutate func(*campaign.Setup)
		budget *money.Amount
		want   []fieldCode
	}{
		// Goal.
		{"primary missing", func(s *campaign.Setup) { s.Goal.Primary = "" }, nil, []fieldCode{{"goal.primary", "required"}}},
		{"primary is a secondary metric", func(s *campaign.Setup) { s.Goal.Primary = campaign.MetricCPE }, nil,
			[]fieldCode{{"goal.primary", "invalid_metric"}}},
		{"primary unknown", func(s *campaign.Setup) { s.Goal.Primary = "clicks" }, nil, []fieldCode{{"goal.primary", "invalid_metric"}}},
		{"primary target zero", func(s *campaign.Setup) { s.Goal.PrimaryTarget = 0 }, nil, []fieldCode{{"goal.primary_target", "required"}}},
		{"primary target negative", func(s *campaign.Setup) { s.Goal.PrimaryTarget = -1 }, nil,
			[]fieldCode{{"goal.primary_target", "not_positive"}}},
		{"secondary is a primary metric", func(s *campaign.Setup) { s.Goal.Secondary = campaign.MetricCPA }, nil,
			[]fieldCode{{"goal.secondary", "invalid_metric"}}},
		{"secondary without target", func(s *campaign.Setup) { s.Goal.SecondaryTarget = 0 }, nil,
			[]fieldCode{{"goal.secondary_target", "required"}}},
		{"secondary target negative", func(s *campaign.Setup) { s.Goal.SecondaryTarget = -5 }, nil,
			[]fieldCode{{"goal.secondary_target", "not_positive"}}},
		{"secondary target without metric", func(s *campaign.Setup) { s.Goal.Secondary = "" }, nil,
			[]fieldCode{{"goal.secondary", "required"}}},
		{"redemption rate above 100 %", func(s *campaign.Setup) {
			s.Goal.Secondary, s.Goal.SecondaryTarget = campaign.MetricRedemptionRate, 100*money.Scale+1
		}, nil, []fieldCode{{"goal.secondary_target", "out_of_range"}}},

		// Brief text.
		{"product missing", func(s *campaign.Setup) { s.Brief.Product = "" }, nil, []fieldCode{{"brief.product", "required"}}},
		{"product blank", func(s *campaign.Setup) { s.Brief.Product = " \t " }, nil, []fieldCode{{"brief.product", "required"}}},
		{"product too long", func(s *campaign.Setup) { s.Brief.Product = strings.Repeat("é", 2001) }, nil,
			[]fieldCode{{"brief.product", "too_long"}}},
		{"product not UTF-8", func(s *campaign.Setup) { s.Brief.Product = "serum \xff" }, nil, []fieldCode{{"brief.product", "invalid"}}},
		{"message missing", func(s *campaign.Setup) { s.Brief.Message = "" }, nil, []fieldCode{{"brief.message", "required"}}},
		{"message too long", func(s *campaign.Setup) { s.Brief.Message = long(2001) }, nil, []fieldCode{{"brief.message", "too_long"}}},
		{"cta too long", func(s *campaign.Setup) { s.Brief.CTA = long(501) }, nil, []fieldCode{{"brief.cta", "too_long"}}},
		{"disclosure empty (not normalized)", func(s *campaign.Setup) { s.Brief.Disclosure = "" }, nil,
			[]fieldCode{{"brief.disclosure", "required"}}},
		{"disclosure too long", func(s *campaign.Setup) { s.Brief.Disclosure = long(101) }, nil,
			[]fieldCode{{"brief.disclosure", "too_long"}}},

		// Hashtags.
		{"hashtag with a space", func(s *campaign.Setup) { s.Brief.RequiredHashtags = []string{"#glow up"} }, nil,
			[]fieldCode{{"brief.required_hashtags", "invalid_hashtag"}}},
		{"hashtag without #", func(s *campaign.Setup) { s.Brief.RequiredHashtags = []string{"glowup"} }, nil,
			[]fieldCode{{"brief.required_hashtags", "invalid_hashtag"}}},
		{"hashtag of digits only", func(s *campaign.Setup) { s.Brief.RequiredHashtags = []string{"#2026"} }, nil,
			[]fieldCode{{"brief.required_hashtags", "invalid_hashtag"}}},
		{"hashtag with punctuation", func(s *campaign.Setup) { s.Brief.RequiredHashtags = []string{"#glow-up", "#ok", "#hi!"} }, nil,
			[]fieldCode{{"brief.required_hashtags", "invalid_hashtag"}, {"brief.required_hashtags", "invalid_hashtag"}}},
		{"bare #", func(s *campaign.Setup) { s.Brief.RequiredHashtags = []string{"#"} }, nil,
			[]fieldCode{{"brief.required_hashtags", "invalid_hashtag"}}},
		{"hashtag of 101 characters", func(s *campaign.Setup) { s.Brief.RequiredHashtags = []string{"#" + long(100)} }, nil,
			[]fieldCode{{"brief.required_hashtags", "invalid_hashtag"}}},
		{"31 hashtags", func(s *campaign.Setup) { s.Brief.RequiredHashtags = nTags(31) }, nil,
			[]fieldCode{{"brief.required_hashtags", "too_many"}}},

		// Post types.
		{"post types for an unknown platform", func(s *campaign.Setup) {
			s.Brief.PostTypes = map[campaign.Platform][]string{"facebook": {"post"}}
		}, nil, []fieldCode{{"brief.post_types.facebook", "unknown_platform"}}},
		{"post types for a platform not eligible", func(s *campaign.Setup) {
			s.Brief.PostTypes = map[campaign.Platform][]string{"youtube": {"short"}}
		}, nil, []fieldCode{{"brief.post_types.youtube", "platform_not_eligible"}}},
		{"post type foreign to the platform", func(s *campaign.Setup) {
			s.Brief.PostTypes = map[campaign.Platform][]string{"instagram": {"reel", "short"}, "tiktok": {"story"}}
		}, nil, []fieldCode{{"brief.post_types.instagram", "invalid_post_type"}, {"brief.post_types.tiktok", "invalid_post_type"}}},
		{"empty post type list", func(s *campaign.Setup) {
			s.Brief.PostTypes = map[campaign.Platform][]string{"tiktok": {}}
		}, nil, []fieldCode{{"brief.post_types.tiktok", "required"}}},

		// Hook, URL, non-negotiables.
		{"hook 61 s", func(s *campaign.Setup) { s.Brief.HookSeconds = 61 }, nil, []fieldCode{{"brief.hook_seconds", "out_of_range"}}},
		{"hook negative", func(s *campaign.Setup) { s.Brief.HookSeconds = -1 }, nil, []fieldCode{{"brief.hook_seconds", "out_of_range"}}},
		{"landing URL missing", func(s *campaign.Setup) { s.Brief.LandingURL = "" }, nil, []fieldCode{{"brief.landing_url", "required"}}},
		{"landing URL http", func(s *campaign.Setup) { s.Brief.LandingURL = "http://shop.example/glow" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL http on another host", func(s *campaign.Setup) { s.Brief.LandingURL = "http://10.0.0.1/glow" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL http on a localhost look-alike", func(s *campaign.Setup) { s.Brief.LandingURL = "http://localhost.example/" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL ftp", func(s *campaign.Setup) { s.Brief.LandingURL = "ftp://shop.example/glow" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL relative", func(s *campaign.Setup) { s.Brief.LandingURL = "/glow" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL scheme-relative", func(s *campaign.Setup) { s.Brief.LandingURL = "//shop.example/glow" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL without host", func(s *campaign.Setup) { s.Brief.LandingURL = "https:///glow" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL with credentials", func(s *campaign.Setup) { s.Brief.LandingURL = "https://shop.example@evil.example/" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL javascript", func(s *campaign.Setup) { s.Brief.LandingURL = "javascript:alert(1)" }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"landing URL too long", func(s *campaign.Setup) { s.Brief.LandingURL = "https://shop.example/" + long(2048) }, nil,
			[]fieldCode{{"brief.landing_url", "invalid_url"}}},
		{"unknown non-negotiable", func(s *campaign.Setup) { s.Brief.NonNegotiable = []campaign.BriefItem{"tone"} }, nil,
			[]fieldCode{{"brief.non_negotiable", "unknown_item"}}},
		{"non-negotiable CTA without CTA", func(s *campaign.Setup) {
			s.Brief.CTA, s.Brief.NonNegotiable = "", []campaign.BriefItem{"cta"}
		}, nil, []fieldCode{{"brief.non_negotiable", "not_configured"}}},
		{"non-negotiable hook without hook", func(s *campaign.Setup) {
			s.Brief.HookSeconds, s.Brief.NonNegotiable = 0, []campaign.BriefItem{"hook"}
		}, nil, []fieldCode{{"brief.non_negotiable", "not_configured"}}},
		{"non-negotiable hashtags without hashtags", func(s *campaign.Setup) { s.Brief.RequiredHashtags = nil }, nil,
			[]fieldCode{{"brief.non_negotiable", "not_configured"}}},
		{"non-negotiable post types without post types", func(s *campaign.Setup) {
			s.Brief.PostTypes, s.Brief.NonNegotiable = nil, []campaign.BriefItem{"post_types"}
		}, nil, []fieldCode{{"brief.non_negotiable", "not_configured"}}},

		// Prices and caps.
		{"nothing priced", func(s *campaign.Setup) { s.Prices = campaign.Prices{} }, nil, []fieldCode{{"prices", "no_price"}}},
		{"negative view price", func(s *campaign.Setup) { s.Prices.View = -1 }, nil, []fieldCode{{"prices.view", "negative_amount"}}},
		{"only a negative price", func(s *campaign.Setup) { s.Prices = campaign.Prices{Like: -10} }, nil,
			[]fieldCode{{"prices", "no_price"}, {"prices.like", "negative_amount"}}},
		{"price above budget", func(s *campaign.Setup) {
			s.CreatorCap = 0
			s.Prices.Share = setupBudget.Micros + 1
		}, nil, []fieldCode{{"prices.share", "exceeds_budget"}}},
		{"price above creator cap", func(s *campaign.Setup) { s.Prices.Comment = s.CreatorCap + 1 }, nil,
			[]fieldCode{{"prices.comment", "exceeds_creator_cap"}}},
		{"creator cap negative", func(s *campaign.Setup) { s.CreatorCap = -1 }, nil, []fieldCode{{"creator_cap", "negative_amount"}}},
		{"creator cap above budget", func(s *campaign.Setup) { s.CreatorCap = setupBudget.Micros + 1 }, nil,
			[]fieldCode{{"creator_cap", "exceeds_budget"}}},
		{"max creators negative", func(s *campaign.Setup) { s.MaxCreators = -1 }, nil, []fieldCode{{"max_creators", "out_of_range"}}},
		{"max creators 10001", func(s *campaign.Setup) { s.MaxCreators = 10_001 }, nil, []fieldCode{{"max_creators", "out_of_range"}}},

		// Dates.
		{"no end", func(s *campaign.Setup) { s.EndsAt = time.Time{} }, nil, []fieldCode{{"ends_at", "required"}}},
		{"end equals start", func(s *campaign.Setup) { s.EndsAt = s.StartsAt }, nil, []fieldCode{{"ends_at", "not_after_start"}}},
		{"end before start", func(s *campaign.Setup) { s.EndsAt = s.StartsAt.Add(-time.Second) }, nil,
			[]fieldCode{{"ends_at", "not_after_start"}}},
		{"end now", func(s *campaign.Setup) { s.StartsAt, s.EndsAt = time.Time{}, setupNow }, nil, []fieldCode{{"ends_at", "in_past"}}},
		{"end in the past", func(s *campaign.Setup) {
			s.StartsAt, s.EndsAt = setupNow.Add(-48*time.Hour), setupNow.Add(-time.Hour)
		}, nil, []fieldCode{{"ends_at", "in_past"}}},

		// Eligibility.
		{"no platform", func(s *campaign.Setup) { s.Eligibility.Platforms = nil }, nil,
			[]fieldCode{{"eligibility.platforms", "required"}}},
		{"unknown platform", func(s *campaign.Setup) { s.Eligibility.Platforms = append(s.Eligibility.Platforms, "myspace") }, nil,
			[]fieldCode{{"eligibility.platforms", "unknown_platform"}}},
		{"negative min followers", func(s *campaign.Setup) { s.Eligibility.MinFollowers = -1 }, nil,
			[]fieldCode{{"eligibility.min_followers", "out_of_range"}}},
		{"max below min", func(s *campaign.Setup) { s.Eligibility.MaxFollowers = 999 }, nil,
			[]fieldCode{{"eligibility.max_followers", "out_of_range"}}},
		{"zero range", func(s *campaign.Setup) { s.Eligibility.MinFollowers, s.Eligibility.MaxFollowers = 0, 0 }, nil,
			[]fieldCode{{"eligibility.max_followers", "out_of_range"}}},
		{"UK is not a code", func(s *campaign.Setup) { s.Eligibility.Countries = []string{"UK"} }, nil,
			[]fieldCode{{"eligibility.countries", "invalid_country"}}},
		{"lower-case country", func(s *campaign.Setup) { s.Eligibility.Countries = []string{"de"} }, nil,
			[]fieldCode{{"eligibility.countries", "invalid_country"}}},
		{"unassigned country", func(s *campaign.Setup) { s.Eligibility.Countries = []string{"ZZ", "DEU"} }, nil,
			[]fieldCode{{"eligibility.countries", "invalid_country"}, {"eligibility.countries", "invalid_country"}}},
		{"upper-case niche", func(s *campaign.Setup) { s.Eligibility.Niches = []string{"Beauty"} }, nil,
			[]fieldCode{{"eligibility.niches", "invalid_niche"}}},
		{"niche starting with -", func(s *campaign.Setup) { s.Eligibility.Niches = []string{"-beauty"} }, nil,
			[]fieldCode{{"eligibility.niches", "invalid_niche"}}},
		{"niche of 41 characters", func(s *campaign.Setup) { s.Eligibility.Niches = []string{long(41)} }, nil,
			[]fieldCode{{"eligibility.niches", "invalid_niche"}}},
		{"51 niches", func(s *campaign.Setup) { s.Eligibility.Niches = nNiches(51) }, nil,
			[]fieldCode{{"eligibility.niches", "too_many"}}},

		// The budget the setup is checked against.
		{"zero budget", func(*campaign.Setup) {}, &money.Amount{Currency: money.EUR}, []fieldCode{{"budget.amount", "zero_amount"}}},
		{"negative budget", func(*campaign.Setup) {}, &money.Amount{Micros: -1, Currency: money.EUR},
			[]fieldCode{{"budget.amount", "negative_amount"}}},
		{"unknown currency", func(*campaign.Setup) {}, &money.Amount{Micros: 1000 * money.Scale, Currency: "XYZ"},
			[]fieldCode{{"budget.currency", "unknown_currency"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSetup()
			tc.mutate(&s)
			budget := setupBudget
			if tc.budget != nil {
				budget = *tc.budget
			}
			got := codesOf(fieldErrors(t, s.Validate(budget, setupNow)))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fields = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestSetupValidateReportsEveryFieldAtOnce(t *testing.T) {
	t.Parallel()
	s := campaign.Setup{
		Goal: campaign.Goal{Primary: "likes", PrimaryTarget: -1, SecondaryTarget: 3},
		Brief: campaign.Brief{RequiredHashtags: []string{"#ok", "#not ok"}, HookSeconds: 99, LandingURL: "http://shop.example",
			NonNegotiable: []campaign.BriefItem{"vibes"}},
		Prices:      campaign.Prices{View: -1, Share: 2000 * money.Scale},
		CreatorCap:  -5,
		MaxCreators: 20_000,
		StartsAt:    setupNow.Add(time.Hour),
		EndsAt:      setupNow,
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{"friendster"}, MinFollowers: 10, MaxFollowers: 5,
			Countries: []string{"XX"}, Niches: []string{"Food & Drink"}},
	}
	err := s.Validate(setupBudget, setupNow)
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != "invalid_fields" {
		t.Fatalf("error = %v, want one invalid_fields error", err)
	}
	want := []fieldCode{
		{"goal.primary", "invalid_metric"},
		{"goal.primary_target", "not_positive"},
		{"goal.secondary", "required"},
		{"brief.product", "required"},
		{"brief.message", "required"},
		{"brief.disclosure", "required"},
		{"brief.required_hashtags", "invalid_hashtag"},
		{"brief.hook_seconds", "out_of_range"},
		{"brief.landing_url", "invalid_url"},
		{"brief.non_negotiable", "unknown_item"},
		{"prices.view", "negative_amount"},
		{"prices.share", "exceeds_budget"},
		{"creator_cap", "negative_amount"},
		{"max_creators", "out_of_range"},
		{"ends_at", "not_after_start"},
		{"eligibility.platforms", "unknown_platform"},
		{"eligibility.max_followers", "out_of_range"},
		{"eligibility.countries", "invalid_country"},
		{"eligibility.niches", "invalid_niche"},
	}
	if got := codesOf(e.Fields); !reflect.DeepEqual(got, want) {
		t.Fatalf("fields =\n%v\nwant\n%v", got, want)
	}
	for _, f := range want {
		if !strings.Contains(e.Message, f.field) {
			t.Errorf("message %q does not name %s", e.Message, f.field)
		}
	}
	for _, f := range e.Fields {
		if f.Message == "" {
			t.Errorf("field %s has no message", f.Field)
		}
	}
}

func TestSetupNormalizeDefaults(t *testing.T) {
	t.Parallel()
	var s campaign.Setup
	s.Normalize()
	if s.Brief.Disclosure != "#ad" {
		t.Errorf("disclosure = %q, want #ad", s.Brief.Disclosure)
	}
	if s.Eligibility.MinFollowers != 1_000 || s.Eligibility.MaxFollowers != 25_000 {
		t.Errorf("followers = %d..%d, want 1000..25000", s.Eligibility.MinFollowers, s.Eligibility.MaxFollowers)
	}
	if !s.StartsAt.IsZero() || !s.EndsAt.IsZero() {
		t.Errorf("zero times became %v, %v", s.StartsAt, s.EndsAt)
	}
	if s.Brief.RequiredHashtags != nil || s.Brief.PostTypes != nil || s.Eligibility.Countries != nil {
		t.Errorf("empty lists became non-nil: %+v", s)
	}

	// Explicit choices are kept.
	s = campaign.Setup{Brief: campaign.Brief{Disclosure: "  #werbung "},
		Eligibility: campaign.Eligibility{MinFollowers: 0, MaxFollowers: 5_000}}
	s.Normalize()
	if s.Brief.Disclosure != "#werbung" {
		t.Errorf("disclosure = %q, want #werbung", s.Brief.Disclosure)
	}
	if s.Eligibility.MinFollowers != 0 || s.Eligibility.MaxFollowers != 5_000 {
		t.Errorf("followers = %d..%d, want 0..5000", s.Eligibility.MinFollowers, s.Eligibility.MaxFollowers)
	}

	// Only a fully unset range gets the defaults; a half-set one is left for
	// Validate to judge.
	s = campaign.Setup{Eligibility: campaign.Eligibility{MinFollowers: 5_000}}
	s.Normalize()
	if s.Eligibility.MinFollowers != 5_000 || s.Eligibility.MaxFollowers != 0 {
		t.Errorf("followers = %d..%d, want 5000..0", s.Eligibility.MinFollowers, s.Eligibility.MaxFollowers)
	}
}

func TestSetupNormalizeHashtags(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, want []string
	}{
		{nil, nil},
		{[]string{"", "  "}, nil},
		{[]string{"GlowUp"}, []string{"#glowup"}},
		{[]string{" #SkinCare ", "skincare", "#SKINCARE", "#skincare"}, []string{"#skincare"}},
		{[]string{"#b", "#a", "#b"}, []string{"#b", "#a"}},
		{[]string{"#Café", "ÉTÉ"}, []string{"#café", "#été"}},
		{[]string{"#not valid"}, []string{"#not valid"}}, // kept for Validate to report
		{[]string{"#"}, []string{"#"}},
	}
	for _, tc := range cases {
		s := campaign.Setup{Brief: campaign.Brief{RequiredHashtags: tc.in}}
		s.Normalize()
		if !reflect.DeepEqual(s.Brief.RequiredHashtags, tc.want) {
			t.Errorf("Normalize(%q) = %q, want %q", tc.in, s.Brief.RequiredHashtags, tc.want)
		}
	}
}

func TestSetupNormalizeFields(t *testing.T) {
	t.Parallel()
	berlin := time.FixedZone("CEST", 2*3600)
	s := campaign.Setup{
		Goal: campaign.Goal{Primary: " ROAS ", Secondary: "CPE"},
		Brief: campaign.Brief{Product: "  Serum ", Message: "\tHi\n", CTA: " Code GLOW10 ", LandingURL: " https://shop.example ",
			PostTypes: map[campaign.Platform][]string{
				"Instagram": {"Reel", "story"}, "instagram": {"reel", " feed "}, "TikTok": {"VIDEO", "video"},
			},
			NonNegotiable: []campaign.BriefItem{"CTA", "cta", " Hook "}},
		StartsAt: time.Date(2026, 6, 1, 10, 0, 0, 123_456_789, berlin),
		EndsAt:   time.Date(2026, 7, 1, 2, 0, 0, 0, berlin),
		Eligibility: campaign.Eligibility{
			Platforms: []campaign.Platform{"Instagram", "instagram", " tiktok"},
			Countries: []string{"de", " AT ", "DE", ""},
			Niches:    []string{"Home Decor", "home-decor", "food_and  drink", " Beauty"},
		},
	}
	s.Normalize()
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("primary", s.Goal.Primary, campaign.MetricROAS)
	check("secondary", s.Goal.Secondary, campaign.MetricCPE)
	check("product", s.Brief.Product, "Serum")
	check("message", s.Brief.Message, "Hi")
	check("cta", s.Brief.CTA, "Code GLOW10")
	check("landing url", s.Brief.LandingURL, "https://shop.example")
	check("post types", s.Brief.PostTypes, map[campaign.Platform][]string{
		"instagram": {"reel", "story", "feed"}, "tiktok": {"video"},
	})
	check("non-negotiable", s.Brief.NonNegotiable, []campaign.BriefItem{"cta", "hook"})
	check("platforms", s.Eligibility.Platforms, []campaign.Platform{"instagram", "tiktok"})
	check("countries", s.Eligibility.Countries, []string{"DE", "AT"})
	check("niches", s.Eligibility.Niches, []string{"home-decor", "food-and-drink", "beauty"})
	check("starts at", s.StartsAt, time.Date(2026, 6, 1, 8, 0, 0, 123_456_000, time.UTC))
	check("ends at", s.EndsAt, time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC))

	// Idempotent.
	again := s
	again.Brief.PostTypes = map[campaign.Platform][]string{}
	for k, v := range s.Brief.PostTypes {
		again.Brief.PostTypes[k] = slices.Clone(v)
	}
	again.Normalize()
	check("normalized twice", again, s)
}

func TestSetupNormalizeThenValidate(t *testing.T) {
	t.Parallel()
	// What a brand might type: Normalize makes it valid.
	s := validSetup()
	s.Brief.Disclosure = ""
	s.Brief.RequiredHashtags = []string{"GlowUp", "#glowup", "SkinCare"}
	s.Eligibility.Countries = []string{"de", "at"}
	s.Eligibility.Niches = []string{"Skin Care"}
	s.Eligibility.MinFollowers, s.Eligibility.MaxFollowers = 0, 0
	if err := s.Validate(setupBudget, setupNow); err == nil {
		t.Fatal("Validate before Normalize = nil, want errors for the raw input")
	}
	s.Normalize()
	if err := s.Validate(setupBudget, setupNow); err != nil {
		t.Fatalf("Validate after Normalize = %v", err)
	}
	if s.Brief.Disclosure != "#ad" || !reflect.DeepEqual(s.Brief.RequiredHashtags, []string{"#glowup", "#skincare"}) {
		t.Fatalf("brief = %+v", s.Brief)
	}
}

func TestValidHashtag(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"#ad": true, "#Ad": true, "#glow_up": true, "#_": true, "#2026sale": true, "#café": true,
		"#ハッシュタグ": true, "#नमस्ते": true, "#" + strings.Repeat("a", 99): true,
		"": false, "#": false, "ad": false, "##ad": false, "#glow up": false, "#glow-up": false,
		"#2026": false, "#a.b": false, "#" + strings.Repeat("a", 100): false, "#a\xff": false, "#🔥": false,
	}
	for h, want := range cases {
		if got := campaign.ValidHashtag(h); got != want {
			t.Errorf("ValidHashtag(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestValidCountry(t *testing.T) {
	t.Parallel()
	for _, cc := range []string{"DE", "AT", "GB", "US", "FR", "CH", "SE", "JP", "BR", "XK", "AX", "ZW"} {
		if !campaign.ValidCountry(cc) {
			t.Errorf("ValidCountry(%q) = false, want true", cc)
		}
	}
	for _, cc := range []string{"", "D", "de", "De", "UK", "EU", "ZZ", "XX", "DEU", " DE"} {
		if campaign.ValidCountry(cc) {
			t.Errorf("ValidCountry(%q) = true, want false", cc)
		}
	}
}

func TestPlatformPostTypes(t *testing.T) {
	t.Parallel()
	if got := campaign.PlatformInstagram.PostTypes(); !reflect.DeepEqual(got, []string{"feed", "reel", "story", "carousel"}) {
		t.Errorf("instagram post types = %q", got)
	}
	if got := campaign.PlatformYouTube.PostTypes(); !reflect.DeepEqual(got, []string{"video", "short"}) {
		t.Errorf("youtube post types = %q", got)
	}
	if got := campaign.Platform("myspace").PostTypes(); got != nil || campaign.Platform("myspace").Valid() {
		t.Errorf("unknown platform has post types %q", got)
	}
	got := campaign.PlatformTikTok.PostTypes()
	got[0] = "changed"
	if campaign.PlatformTikTok.PostTypes()[0] != "video" {
		t.Error("PostTypes returned the internal slice")
	}
}

func TestMetricKinds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		m                         campaign.Metric
		primary, secondary, money bool
	}{
		{campaign.MetricCPA, true, false, true},
		{campaign.MetricROAS, true, false, false},
		{campaign.MetricRevenue, true, false, true},
		{campaign.MetricRedemptionRate, false, true, false},
		{campaign.MetricCPE, false, true, true},
		{"CPA", false, false, false},
		{"", false, false, false},
	}
	for _, tc := range cases {
		if tc.m.IsPrimary() != tc.primary || tc.m.IsSecondary() != tc.secondary || tc.m.IsMoney() != tc.money {
			t.Errorf("%q: primary %v secondary %v money %v", tc.m, tc.m.IsPrimary(), tc.m.IsSecondary(), tc.m.IsMoney())
		}
	}
}

// ---- advisor ----

// eurOnly is a rate table that makes conversions trivial.
var eurOnly = campaign.FXRates{money.EUR: 1_000_000, money.USD: 800_000}

func adviceCodes(ws []campaign.Warning) []fieldCode {
	out := []fieldCode{}
	for _, w := range ws {
		out = append(out, fieldCode{w.Field, w.Code})
	}
	return out
}

func TestAdvise(t *testing.T) {
	t.Parallel()
	eur := func(m int64) money.Amount { return money.New(m, money.EUR) }
	big := eur(1000 * money.Scale)
	cases := []struct {
		name   string
		prices campaign.Prices
		budget money.Amount
		want   []fieldCode
	}{
		{"balanced prices", validSetup().Prices, big, nil},
		{"only likes", campaign.Prices{Like: 20_000}, big, []fieldCode{{"prices", "only_likes_priced"}}},
		{"likes and saves", campaign.Prices{Like: 20_000, Save: 50_000}, big, nil},
		{"likes and views", campaign.Prices{Like: 20_000, View: 2_000}, big, nil},
		{"only comments", campaign.Prices{Comment: 200_000}, big, nil},
		{"share equal to comment", campaign.Prices{Comment: 200_000, Share: 200_000}, big,
			[]fieldCode{{"prices.share", "shares_not_above_comments"}}},
		{"share below comment", campaign.Prices{Comment: 300_000, Share: 200_000}, big,
			[]fieldCode{{"prices.share", "shares_not_above_comments"}}},
		{"share one micro above comment", campaign.Prices{Comment: 200_000, Share: 200_001}, big, nil},
		{"share without comment", campaign.Prices{Share: 200_000}, big, nil},
		{"comment without share", campaign.Prices{Comment: 200_000, Like: 20_000}, big, nil},

		// Range edges: half the minimum and twice the maximum are still fine.
		{"view at half min", campaign.Prices{View: 500}, big, nil},
		{"view below half min", campaign.Prices{View: 499}, big, []fieldCode{{"prices.view", "price_below_typical"}}},
		{"view at twice max", campaign.Prices{View: 20_000}, big, nil},
		{"view above twice max", campaign.Prices{View: 20_001}, big, []fieldCode{{"prices.view", "price_above_typical"}}},
		{"like at half min", campaign.Prices{Like: 5_000, Comment: 100_000}, big, nil},
		{"like below half min", campaign.Prices{Like: 4_999, Comment: 100_000}, big, []fieldCode{{"prices.like", "price_below_typical"}}},
		{"like at twice max", campaign.Prices{Like: 200_000, Comment: 100_000}, big, nil},
		{"like above twice max", campaign.Prices{Like: 200_001, Comment: 100_000}, big, []fieldCode{{"prices.like", "price_above_typical"}}},
		{"comment at half min", campaign.Prices{Comment: 25_000}, big, nil},
		{"comment below half min", campaign.Prices{Comment: 24_999}, big, []fieldCode{{"prices.comment", "price_below_typical"}}},
		{"comment at twice max", campaign.Prices{Comment: 1_000_000}, big, nil},
		{"comment above twice max", campaign.Prices{Comment: 1_000_001}, big, []fieldCode{{"prices.comment", "price_above_typical"}}},
		{"share at half min", campaign.Prices{Share: 50_000}, big, nil},
		{"share below half min", campaign.Prices{Share: 49_999}, big, []fieldCode{{"prices.share", "price_below_typical"}}},
		{"share at twice max", campaign.Prices{Share: 2_000_000}, big, nil},
		{"share above twice max", campaign.Prices{Share: 2_000_001}, big, []fieldCode{{"prices.share", "price_above_typical"}}},
		{"saves are never out of range", campaign.Prices{Save: 1, Comment: 100_000}, big, nil},
		{"huge save", campaign.Prices{Save: 900 * money.Scale, Comment: 100_000}, big, nil},
		{"negative price is not advice", campaign.Prices{View: -1, Comment: 100_000}, big, nil},

		// Budget edge.
		{"budget exactly €200", validSetup().Prices, eur(200 * money.Scale), nil},
		{"budget one micro below €200", validSetup().Prices, eur(200*money.Scale - 1), []fieldCode{{"budget", "budget_below_minimum"}}},
		{"zero budget is an error, not advice", validSetup().Prices, eur(0), nil},

		// Several at once, in order.
		{"everything", campaign.Prices{Like: 1}, eur(10 * money.Scale),
			[]fieldCode{{"prices", "only_likes_priced"}, {"prices.like", "price_below_typical"}, {"budget", "budget_below_minimum"}}},
		{"shares cheap and out of range", campaign.Prices{View: 100_000, Comment: 2_000_000, Share: 1_000}, big,
			[]fieldCode{{"prices.share", "shares_not_above_comments"}, {"prices.view", "price_above_typical"},
				{"prices.comment", "price_above_typical"}, {"prices.share", "price_below_typical"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSetup()
			s.Prices = tc.prices
			ws := campaign.Advise(s, tc.budget, eurOnly)
			want := tc.want
			if want == nil {
				want = []fieldCode{}
			}
			if got := adviceCodes(ws); !reflect.DeepEqual(got, want) {
				t.Fatalf("warnings = %v, want %v", got, want)
			}
			for _, w := range ws {
				if w.Message == "" {
					t.Errorf("warning %s has no message", w.Code)
				}
			}
		})
	}
}

func TestAdviseReturnsEmptySliceNotNil(t *testing.T) {
	t.Parallel()
	ws := campaign.Advise(validSetup(), setupBudget, campaign.DefaultFXRates())
	if ws == nil || len(ws) != 0 {
		t.Fatalf("Advise = %#v, want an empty non-nil slice", ws)
	}
	b, err := json.Marshal(ws)
	if err != nil || string(b) != "[]" {
		t.Fatalf("json = %s, %v; want []", b, err)
	}
}

func TestAdviseFX(t *testing.T) {
	t.Parallel()
	usd := func(m int64) money.Amount { return money.New(m, money.USD) }
	s := validSetup()
	s.Prices = campaign.Prices{Comment: 200_000, Share: 500_000}

	// At 0.80 EUR per USD, €200 is exactly 250 USD.
	if ws := campaign.Advise(s, usd(250*money.Scale), eurOnly); len(ws) != 0 {
		t.Errorf("250 USD: warnings %v, want none", adviceCodes(ws))
	}
	if got := adviceCodes(campaign.Advise(s, usd(250*money.Scale-1), eurOnly)); !reflect.DeepEqual(got, []fieldCode{{"budget", "budget_below_minimum"}}) {
		t.Errorf("249.999999 USD: warnings %v, want budget_below_minimum", got)
	}
	// 200 USD is far below €200's equivalent even though the number is 200.
	if got := adviceCodes(campaign.Advise(s, usd(200*money.Scale), eurOnly)); len(got) != 1 || got[0].code != "budget_below_minimum" {
		t.Errorf("200 USD: warnings %v, want budget_below_minimum", got)
	}

	// Price ranges are compared in EUR: 0.000625 USD = €0.0005 (half the view minimum).
	s.Prices.View = 625
	if ws := campaign.Advise(s, usd(1000*money.Scale), eurOnly); len(ws) != 0 {
		t.Errorf("view 0.000625 USD: warnings %v, want none", adviceCodes(ws))
	}
	s.Prices.View = 624
	if got := adviceCodes(campaign.Advise(s, usd(1000*money.Scale), eurOnly)); !reflect.DeepEqual(got, []fieldCode{{"prices.view", "price_below_typical"}}) {
		t.Errorf("view 0.000624 USD: warnings %v, want price_below_typical", got)
	}
	// 0.025 USD = €0.02 (twice the view maximum); one micro more is too much.
	s.Prices.View = 25_000
	if ws := campaign.Advise(s, usd(1000*money.Scale), eurOnly); len(ws) != 0 {
		t.Errorf("view 0.025 USD: warnings %v, want none", adviceCodes(ws))
	}
	s.Prices.View = 25_001
	if got := adviceCodes(campaign.Advise(s, usd(1000*money.Scale), eurOnly)); !reflect.DeepEqual(got, []fieldCode{{"prices.view", "price_above_typical"}}) {
		t.Errorf("view 0.025001 USD: warnings %v, want price_above_typical", got)
	}
}

func TestAdviseDefaultRatesBudgetThreshold(t *testing.T) {
	t.Parallel()
	rates := campaign.DefaultFXRates()
	s := validSetup()
	s.Prices = campaign.Prices{Comment: 100_000, Share: 300_000}
	for _, cur := range []money.Currency{"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD"} {
		rate := rates[cur]
		// The smallest budget worth €200: ceil(200·10^6·10^6 / rate) micros.
		first := (campaign.MinAdvisedBudgetEUR*money.Scale + rate - 1) / rate
		below := hasWarning(campaign.Advise(s, money.New(first-1, cur), rates), "budget_below_minimum")
		at := hasWarning(campaign.Advise(s, money.New(first, cur), rates), "budget_below_minimum")
		if !below || at {
			t.Errorf("%s (rate %d): warning at %s = %v, at %s = %v; want true, false",
				cur, rate, money.FormatMicros(first-1), below, money.FormatMicros(first), at)
		}
	}
}

func hasWarning(ws []campaign.Warning, code string) bool {
	return slices.ContainsFunc(ws, func(w campaign.Warning) bool { return w.Code == code })
}

func TestAdviseWithoutRate(t *testing.T) {
	t.Parallel()
	s := validSetup()
	s.Prices = campaign.Prices{Like: 1} // only likes, and far below range
	tiny := money.New(1, "CHF")
	for name, rates := range map[string]campaign.FXRates{
		"missing":  {money.EUR: 1_000_000},
		"zero":     {money.EUR: 1_000_000, "CHF": 0},
		"negative": {money.EUR: 1_000_000, "CHF": -1},
		"nil":      nil,
	} {
		got := adviceCodes(campaign.Advise(s, tiny, rates))
		if !reflect.DeepEqual(got, []fieldCode{{"prices", "only_likes_priced"}}) {
			t.Errorf("%s rate: warnings %v, want only only_likes_priced (no EUR-based advice)", name, got)
		}
	}
	// With a rate, the same setup draws the EUR-based warnings too.
	got := adviceCodes(campaign.Advise(s, tiny, campaign.DefaultFXRates()))
	if len(got) != 3 {
		t.Errorf("with default rates: warnings %v, want 3", got)
	}
}

func TestAdviseNoOverflow(t *testing.T) {
	t.Parallel()
	s := validSetup()
	const maxI64 = int64(^uint64(0) >> 1)
	s.Prices = campaign.Prices{View: maxI64, Like: maxI64, Comment: maxI64, Share: maxI64, Save: maxI64}
	rates := campaign.FXRates{"GBP": maxI64}
	got := adviceCodes(campaign.Advise(s, money.New(maxI64, "GBP"), rates))
	want := []fieldCode{{"prices.share", "shares_not_above_comments"}, {"prices.view", "price_above_typical"},
		{"prices.like", "price_above_typical"}, {"prices.comment", "price_above_typical"}, {"prices.share", "price_above_typical"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("warnings = %v, want %v", got, want)
	}
}

func TestDefaultFXRates(t *testing.T) {
	t.Parallel()
	rates := campaign.DefaultFXRates()
	if rates[money.EUR] != 1_000_000 {
		t.Errorf("EUR rate = %d, want 1000000", rates[money.EUR])
	}
	for _, cur := range []money.Currency{"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD"} {
		if !cur.Valid() {
			t.Fatalf("test lists unsupported currency %s", cur)
		}
		if rates[cur] <= 0 {
			t.Errorf("no default rate for %s", cur)
		}
	}
	if len(rates) != 11 {
		t.Errorf("%d default rates, want 11", len(rates))
	}
	rates[money.USD] = 1
	if campaign.DefaultFXRates()[money.USD] == 1 {
		t.Error("DefaultFXRates returned a shared map")
	}
}

// ---- JSON ----

func TestSetupJSONRoundTrip(t *testing.T) {
	t.Parallel()
	full := validSetup()
	full.Goal = campaign.Goal{Primary: campaign.MetricCPA, PrimaryTarget: 12_345_678,
		Secondary: campaign.MetricRedemptionRate, SecondaryTarget: 500_000}
	full.StartsAt = time.Date(2026, 6, 1, 9, 30, 0, 123_456_000, time.UTC)
	sparse := campaign.Setup{
		Goal:        campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3_500_000},
		Brief:       campaign.Brief{Product: "P", Message: "M", LandingURL: "https://x.example"},
		Prices:      campaign.Prices{Save: 1},
		EndsAt:      setupNow.Add(time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{"sandbox"}, MinFollowers: 0, MaxFollowers: 100},
	}
	for name, s := range map[string]campaign.Setup{"full": full, "sparse": sparse} {
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("%s: Marshal: %v", name, err)
		}
		var got campaign.Setup
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: Unmarshal(%s): %v", name, b, err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v\njson %s", name, got, s, b)
		}
		// Pointer and value marshal the same.
		pb, err := json.Marshal(&s)
		if err != nil || string(pb) != string(b) {
			t.Errorf("%s: pointer marshal = %s, %v", name, pb, err)
		}
	}

	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"prices":{"view":"0.002000","like":"0.020000","comment":"0.200000","share":"0.500000","save":"0.050000"}`,
		`"goal":{"primary":"cpa","primary_target":"12.345678","secondary":"redemption_rate","secondary_target":"0.500000"}`,
		`"creator_cap":"100.000000"`,
		`"starts_at":"2026-06-01T09:30:00.123456Z"`,
		`"ends_at":"2026-06-01T12:00:00Z"`,
		`"min_followers":1000,"max_followers":25000`,
		`"post_types":{"instagram":["reel","story"]}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b)
		}
	}
	// Zero prices and an unset start are left out.
	b, err = json.Marshal(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"prices":{"save":"0.000001"}`) || strings.Contains(string(b), "starts_at") ||
		strings.Contains(string(b), "creator_cap") {
		t.Errorf("sparse JSON = %s", b)
	}
}

func TestSetupJSONDecode(t *testing.T) {
	t.Parallel()
	const body = `{
		"goal": {"primary": "roas", "primary_target": "3.5", "secondary": "redemption_rate", "secondary_target": "0.5"},
		"brief": {"product": "Glow serum", "message": "Morning routine", "required_hashtags": ["GlowUp"],
			"post_types": {"instagram": ["reel"]}, "cta": "Code GLOW10", "hook_seconds": 3,
			"landing_url": "https://shop.example/glow", "non_negotiable": ["cta", "hook"]},
		"prices": {"view": "0.002", "comment": "0.25", "share": "", "save": null},
		"creator_cap": "50",
		"max_creators": 20,
		"starts_at": "2026-06-01T11:00:00+02:00",
		"ends_at": "2026-07-01T00:00:00Z",
		"eligibility": {"platforms": ["instagram"], "countries": ["de"], "niches": ["beauty"], "max_followers": 50000}
	}`
	var s campaign.Setup
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	want := campaign.Setup{
		Goal: campaign.Goal{Primary: "roas", PrimaryTarget: 3_500_000, Secondary: "redemption_rate", SecondaryTarget: 500_000},
		Brief: campaign.Brief{Product: "Glow serum", Message: "Morning routine", RequiredHashtags: []string{"GlowUp"},
			PostTypes: map[campaign.Platform][]string{"instagram": {"reel"}}, CTA: "Code GLOW10", HookSeconds: 3,
			LandingURL: "https://shop.example/glow", NonNegotiable: []campaign.BriefItem{"cta", "hook"}},
		Prices:      campaign.Prices{View: 2_000, Comment: 250_000},
		CreatorCap:  50 * money.Scale,
		MaxCreators: 20,
		StartsAt:    time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC),
		EndsAt:      time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{"instagram"}, MinFollowers: 1_000, MaxFollowers: 50_000,
			Countries: []string{"de"}, Niches: []string{"beauty"}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("decoded\n %+v\nwant\n %+v", s, want)
	}
	s.Normalize()
	if err := s.Validate(setupBudget, setupNow); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if s.Brief.Disclosure != "#ad" || s.Brief.RequiredHashtags[0] != "#glowup" || s.Eligibility.Countries[0] != "DE" {
		t.Fatalf("normalized brief %+v, eligibility %+v", s.Brief, s.Eligibility)
	}

	// An empty object decodes to the follower defaults and nothing else.
	var empty campaign.Setup
	if err := json.Unmarshal([]byte(`{}`), &empty); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(empty, campaign.Setup{Eligibility: campaign.Eligibility{MinFollowers: 1000, MaxFollowers: 25000}}) {
		t.Fatalf("{} decoded as %+v", empty)
	}
	// Empty lists decode as nil, like absent ones.
	var lists campaign.Setup
	if err := json.Unmarshal([]byte(`{"brief":{"required_hashtags":[]},"eligibility":{"countries":[],"niches":null}}`), &lists); err != nil {
		t.Fatal(err)
	}
	if lists.Brief.RequiredHashtags != nil || lists.Eligibility.Countries != nil || lists.Eligibility.Niches != nil {
		t.Fatalf("empty lists decoded as %#v, %#v", lists.Brief.RequiredHashtags, lists.Eligibility)
	}
	// An explicit zero minimum survives.
	var zeroMin campaign.Setup
	if err := json.Unmarshal([]byte(`{"eligibility":{"min_followers":0}}`), &zeroMin); err != nil {
		t.Fatal(err)
	}
	if zeroMin.Eligibility.MinFollowers != 0 || zeroMin.Eligibility.MaxFollowers != 25_000 {
		t.Fatalf("followers = %d..%d, want 0..25000", zeroMin.Eligibility.MinFollowers, zeroMin.Eligibility.MaxFollowers)
	}
}

func TestSetupJSONRejects(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       []fieldCode
	}{
		{"price as JSON number", `{"prices":{"like":0.05}}`, []fieldCode{{"prices.like", "invalid_amount"}}},
		{"integer price as JSON number", `{"prices":{"view":1}}`, []fieldCode{{"prices.view", "invalid_amount"}}},
		{"price as boolean", `{"prices":{"save":true}}`, []fieldCode{{"prices.save", "invalid_amount"}}},
		{"too many decimals", `{"prices":{"like":"0.0000001"}}`, []fieldCode{{"prices.like", "too_many_decimals"}}},
		{"not a decimal", `{"prices":{"comment":"5 cents"}}`, []fieldCode{{"prices.comment", "invalid_amount"}}},
		{"exponent", `{"prices":{"share":"1e-3"}}`, []fieldCode{{"prices.share", "invalid_amount"}}},
		{"overflow", `{"prices":{"view":"9999999999999999"}}`, []fieldCode{{"prices.view", "amount_overflow"}}},
		{"cap as number", `{"creator_cap":50}`, []fieldCode{{"creator_cap", "invalid_amount"}}},
		{"goal target as number", `{"goal":{"primary":"roas","primary_target":3.5}}`, []fieldCode{{"goal.primary_target", "invalid_amount"}}},
		{"goal target decimals", `{"goal":{"secondary_target":"0.12345678"}}`, []fieldCode{{"goal.secondary_target", "too_many_decimals"}}},
		{"metric not a string", `{"goal":{"primary":1}}`, []fieldCode{{"goal.primary", "invalid_type"}}},
		{"max creators as string", `{"max_creators":"10"}`, []fieldCode{{"max_creators", "invalid_type"}}},
		{"max creators fractional", `{"max_creators":1.5}`, []fieldCode{{"max_creators", "invalid_type"}}},
		{"max creators exponent", `{"max_creators":1e3}`, []fieldCode{{"max_creators", "invalid_type"}}},
		{"followers too large", `{"eligibility":{"max_followers":99999999999999999999}}`,
			[]fieldCode{{"eligibility.max_followers", "out_of_range"}}},
		{"hook as string", `{"brief":{"hook_seconds":"3"}}`, []fieldCode{{"brief.hook_seconds", "invalid_type"}}},
		{"date without time", `{"ends_at":"2026-07-01"}`, []fieldCode{{"ends_at", "invalid_time"}}},
		{"time as number", `{"starts_at":1767225600}`, []fieldCode{{"starts_at", "invalid_type"}}},
		{"hashtags not a list", `{"brief":{"required_hashtags":"#ad"}}`, []fieldCode{{"brief.required_hashtags", "invalid_type"}}},
		{"hashtags list of numbers", `{"brief":{"required_hashtags":[1]}}`, []fieldCode{{"brief.required_hashtags", "invalid_type"}}},
		{"post types not an object", `{"brief":{"post_types":["reel"]}}`, []fieldCode{{"brief.post_types", "invalid_type"}}},
		{"post types list not strings", `{"brief":{"post_types":{"instagram":"reel"}}}`,
			[]fieldCode{{"brief.post_types.instagram", "invalid_type"}}},
		{"goal not an object", `{"goal":"roas"}`, []fieldCode{{"goal", "invalid_type"}}},
		{"prices an array", `{"prices":["0.01"]}`, []fieldCode{{"prices", "invalid_type"}}},
		{"unknown top-level key", `{"budget":"100"}`, []fieldCode{{"budget", "unknown_field"}}},
		{"empty keys", `{"":1,"prices":{"":"0.1"}}`, []fieldCode{{`""`, "unknown_field"}, {`prices.""`, "unknown_field"}}},
		{"unknown nested keys", `{"prices":{"click":"0.1","follow":"0.2"}}`,
			[]fieldCode{{"prices.click", "unknown_field"}, {"prices.follow", "unknown_field"}}},
		{"not an object", `["goal"]`, []fieldCode{{"", "invalid_type"}}},
		{"many at once", `{"goal":{"primary_target":3},"prices":{"view":"x","like":0.1,"comment":"0.0000001"},
			"max_creators":"many","ends_at":"tomorrow","eligibility":{"platforms":"instagram","extra":1}}`,
			[]fieldCode{
				{"goal.primary_target", "invalid_amount"},
				{"prices.view", "invalid_amount"},
				{"prices.like", "invalid_amount"},
				{"prices.comment", "too_many_decimals"},
				{"max_creators", "invalid_type"},
				{"ends_at", "invalid_time"},
				{"eligibility.extra", "unknown_field"},
				{"eligibility.platforms", "invalid_type"},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := validSetup()
			before := validSetup()
			got := codesOf(fieldErrors(t, json.Unmarshal([]byte(tc.body), &s)))
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("fields = %v, want %v", got, tc.want)
			}
			if !reflect.DeepEqual(s, before) {
				t.Fatal("a failed decode changed the setup")
			}
		})
	}
}

func TestSetupJSONMalformed(t *testing.T) {
	t.Parallel()
	var s campaign.Setup
	err := s.UnmarshalJSON([]byte(`{"prices":`))
	if errs.CodeOf(err) != "invalid_json" || errs.KindOf(err) != errs.Invalid {
		t.Fatalf("error = %v (code %s), want invalid_json", err, errs.CodeOf(err))
	}
	// null is a no-op, as for any encoding/json value.
	s = validSetup()
	if err := s.UnmarshalJSON([]byte(`null`)); err != nil || !reflect.DeepEqual(s, validSetup()) {
		t.Fatalf("null: err %v, setup changed: %v", err, !reflect.DeepEqual(s, validSetup()))
	}
}

func TestSetupJSONInsideRequest(t *testing.T) {
	t.Parallel()
	// How the API embeds a setup: the field error survives encoding/json.
	var req struct {
		Name  string         `json:"name"`
		Setup campaign.Setup `json:"setup"`
	}
	err := json.Unmarshal([]byte(`{"name":"x","setup":{"prices":{"like":0.05}}}`), &req)
	if got := codesOf(fieldErrors(t, err)); !reflect.DeepEqual(got, []fieldCode{{"prices.like", "invalid_amount"}}) {
		t.Fatalf("fields = %v", got)
	}
	if err := json.Unmarshal([]byte(`{"name":"x","setup":{"prices":{"like":"0.05"}}}`), &req); err != nil {
		t.Fatal(err)
	}
	if req.Setup.Prices.Like != 50_000 {
		t.Fatalf("like = %d, want 50000", req.Setup.Prices.Like)
	}
}
