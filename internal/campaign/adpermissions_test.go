package campaign_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/payper/payper/internal/campaign"
)

// Ad permissions and UTM defaults: normalized, validated with field-named
// errors, and round-tripped through the API's JSON; a setup without them
// encodes as before.
func TestAdPermissionsAndUTMs(t *testing.T) {
	cases := []struct {
		name  string
		pf    campaign.Performance
		field string // "" for valid
		code  string
	}{
		{"none", campaign.Performance{}, "", ""},
		{"whitelisting 90 days", campaign.Performance{AdPermissions: campaign.AdPermissions{Whitelisting: true, Days: 90}}, "", ""},
		{"dark posts 1 day", campaign.Performance{AdPermissions: campaign.AdPermissions{DarkPosts: true, Days: 1}}, "", ""},
		{"both 365 days", campaign.Performance{AdPermissions: campaign.AdPermissions{Whitelisting: true, DarkPosts: true, Days: 365}}, "", ""},
		{"asked without days", campaign.Performance{AdPermissions: campaign.AdPermissions{Whitelisting: true}}, "performance.ad_permissions.days", "required"},
		{"366 days", campaign.Performance{AdPermissions: campaign.AdPermissions{DarkPosts: true, Days: 366}}, "performance.ad_permissions.days", "out_of_range"},
		{"negative days", campaign.Performance{AdPermissions: campaign.AdPermissions{DarkPosts: true, Days: -1}}, "performance.ad_permissions.days", "out_of_range"},
		{"days without a permission", campaign.Performance{AdPermissions: campaign.AdPermissions{Days: 30}}, "performance.ad_permissions.days", "not_asked"},
		{"utm campaign", campaign.Performance{UTMCampaign: " Summer_26.v2 "}, "", ""},
		{"utm campaign with a space", campaign.Performance{UTMCampaign: "summer 26"}, "performance.utm_campaign", "invalid"},
		{"utm campaign with a handle", campaign.Performance{UTMCampaign: "{HANDLE}"}, "performance.utm_campaign", "invalid"},
		{"utm campaign too long", campaign.Performance{UTMCampaign: strings.Repeat("a", 61)}, "performance.utm_campaign", "invalid"},
		{"utm source rule", campaign.Performance{UTMSource: "IG-{handle}"}, "", ""},
		{"fixed utm source", campaign.Performance{UTMSource: "creators"}, "", ""},
		{"utm source with a slash", campaign.Performance{UTMSource: "ig/{HANDLE}"}, "performance.utm_source", "invalid"},
		{"utm source unknown placeholder", campaign.Performance{UTMSource: "{NAME}"}, "performance.utm_source", "invalid"},
	}
	for _, c := range cases {
		s := validSetup()
		s.Performance = c.pf
		s.Normalize()
		err := s.Validate(setupBudget, setupNow)
		if c.field == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		fe := fieldErrors(t, err)
		if len(fe) != 1 || fe[0].Field != c.field || fe[0].Code != c.code {
			t.Errorf("%s: got %+v, want one %s %s", c.name, fe, c.field, c.code)
		}
	}

	s := validSetup()
	s.Performance = campaign.Performance{AdPermissions: campaign.AdPermissions{Whitelisting: true, DarkPosts: true, Days: 60},
		UTMCampaign: " Summer-26 ", UTMSource: " IG-{Handle} "}
	s.Normalize()
	if s.Performance.UTMCampaign != "summer-26" || s.Performance.UTMSource != "ig-{HANDLE}" {
		t.Fatalf("normalized as %+v", s.Performance)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	want := `"performance":{"attribution_window_days":0,"code_pattern":"","ad_permissions":{"whitelisting":true,"dark_posts":true,"days":60},"utm_campaign":"summer-26","utm_source":"ig-{HANDLE}"}`
	if !strings.Contains(string(b), want) {
		t.Fatalf("JSON %s\nwant it to contain %s", b, want)
	}
	var back campaign.Setup
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Performance != s.Performance {
		t.Fatalf("round trip: %+v, want %+v", back.Performance, s.Performance)
	}
	// Bad JSON types are field errors.
	err = back.UnmarshalJSON([]byte(`{"performance":{"ad_permissions":{"whitelisting":"yes","days":"30","ads":true}}}`))
	got := map[string]string{}
	for _, f := range fieldErrors(t, err) {
		got[f.Field] = f.Code
	}
	if got["performance.ad_permissions.whitelisting"] != "invalid_type" || got["performance.ad_permissions.days"] != "invalid_type" ||
		got["performance.ad_permissions.ads"] != "unknown_field" {
		t.Fatalf("bad ad_permissions JSON: %v", got)
	}
	// Without them a setup encodes as before: no performance at all.
	if b, _ := json.Marshal(validSetup()); strings.Contains(string(b), "performance") {
		t.Fatalf("a setup without performance encodes %s", b)
	}
	if got := campaign.UTMSourceFor("", "maria"); got != "maria" {
		t.Fatalf("default utm_source %q", got)
	}
	if got := campaign.UTMSourceFor("ig-{HANDLE}", "maria"); got != "ig-maria" {
		t.Fatalf("utm_source rule %q", got)
	}
}
