package fraud

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func TestPreviewFetcherAndDataCentre(t *testing.T) {
	for ua, want := range map[string]string{
		"Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)":                "Slackbot",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)": "Facebook link preview",
		"Twitterbot/1.0":                           "Twitterbot",
		"WhatsApp/2.23.20.0 A":                     "WhatsApp link preview",
		"TelegramBot (like TwitterBot)":            "TelegramBot",
		"Mozilla/5.0 (compatible; Discordbot/2.0)": "Discordbot",
		"LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)":     "LinkedInBot",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148": "",
	} {
		got, ok := PreviewFetcher(ua)
		if got != want || ok != (want != "") {
			t.Errorf("PreviewFetcher(%q) = %q, %v; want %q", ua, got, ok, want)
		}
	}
	for ip, want := range map[string]string{
		"52.14.1.9": "AWS", "34.120.0.1": "Google Cloud", "20.1.2.3": "Microsoft Azure", "167.99.3.4": "DigitalOcean",
		"::ffff:5.9.10.11": "Hetzner", "2a01:4f8:1:2::3": "Hetzner",
		"81.2.69.142": "", "192.168.1.1": "", "not an ip": "", "": "",
	} {
		got, ok := DataCentre(ip)
		if got != want || ok != (want != "") {
			t.Errorf("DataCentre(%q) = %q, %v; want %q", ip, got, ok, want)
		}
	}
	if r := InvalidVisit("52.14.1.9", "Mozilla/5.0 (Windows NT 10.0)"); r != "data-centre address (AWS)" {
		t.Errorf("InvalidVisit from AWS = %q", r)
	}
	if r := InvalidVisit("81.2.69.142", "Twitterbot/1.0"); r != "link preview (Twitterbot)" {
		t.Errorf("InvalidVisit of Twitterbot = %q", r)
	}
	if r := InvalidVisit("81.2.69.142", "Mozilla/5.0 (Windows NT 10.0)"); r != "" {
		t.Errorf("InvalidVisit of a person = %q", r)
	}
}

func clicksOf(creator string, n int, at func(i int) int64, visitor func(i int) string, bot func(i int) bool) []Click {
	out := make([]Click, n)
	seen := map[string]int64{}
	for i := range out {
		c := Click{LinkID: "lnk_" + creator, CreatorID: creator, At: clock.Micros(at(i)), Visitor: visitor(i), Bot: bot(i)}
		if !c.Bot {
			if s, ok := seen[c.Visitor]; !ok || int64(c.At)-s >= time.Hour.Microseconds() {
				c.Unique, seen[c.Visitor] = true, int64(c.At)
			}
		}
		out[i] = c
	}
	return out
}

func TestClickFarm(t *testing.T) {
	min := time.Minute.Microseconds()
	// An honest link: 300 clicks from 270 visitors, a few preview fetchers.
	honest := clicksOf("crt_h", 300, func(i int) int64 { return int64(i) * min }, func(i int) string { return fmt.Sprint("v", i%270) },
		func(i int) bool { return i%25 == 0 })
	c := Count(honest)
	if c.Raw != 300 || c.Bots != 12 || c.Raw != c.Bots+c.Repeats+c.Billable {
		t.Fatalf("honest counts %+v", c)
	}
	if bad, _, _ := ClickFarm(c, ClickFarmRuleFor(Moderate), "24 hours"); bad {
		t.Errorf("honest link flagged: %+v", c)
	}
	// A farm: 400 clicks from 20 devices within 4 hours: mostly repeats.
	farm := clicksOf("crt_f", 400, func(i int) int64 { return int64(i) * 36 * 1e6 }, func(i int) string { return fmt.Sprint("d", i%20) },
		func(int) bool { return false })
	c = Count(farm)
	if c.Billable != 80 || c.Repeats != 320 {
		t.Fatalf("farm counts %+v, want 80 billable (20 devices × 4 hours) and 320 repeats", c)
	}
	bad, share, reason := ClickFarm(c, ClickFarmRuleFor(Moderate), "24 hours")
	if !bad || share != 0.8 {
		t.Fatalf("farm not flagged: %v %v", bad, share)
	}
	if want := "of 400 clicks on the creator's links in 24 hours, 320 (80 %) were bots (0) or repeats of the same visitor within the hour (320); only 80 were billable"; reason != want {
		t.Errorf("reason %q\nwant   %q", reason, want)
	}
	// Too few clicks to judge, however bad.
	if bad, _, _ := ClickFarm(ClickCounts{Raw: 40, Bots: 40}, ClickFarmRuleFor(Moderate), "1 hour"); bad {
		t.Error("40 clicks flagged at moderate (at least 100)")
	}
	if bad, _, _ := ClickFarm(ClickCounts{Raw: 60, Bots: 40, Billable: 20}, ClickFarmRuleFor(Strict), "1 hour"); !bad {
		t.Error("60 clicks, two thirds bots, not flagged at strict")
	}
}

func TestDetectLockstep(t *testing.T) {
	base := int64(1_800_000_000_000_000)
	base -= base % DefaultLockstep.Window.Microseconds() // the start of a bucket
	var clicks []Click
	// A ring of 6 visitors clicks creators a..e within 10 minutes.
	for v := range 6 {
		for i, cr := range []string{"a", "b", "c", "d", "e"} {
			clicks = append(clicks, Click{CreatorID: cr, Visitor: fmt.Sprint("ring", v), At: clock.Micros(base + int64(v*60+i*30)*1e6), Unique: true})
		}
	}
	// Honest traffic: 200 visitors each clicking one creator, and 4 who
	// browse three creators in the same quarter (fewer than MinVisitors).
	for v := range 200 {
		cr := []string{"a", "b", "f", "g"}[v%4]
		clicks = append(clicks, Click{CreatorID: cr, Visitor: fmt.Sprint("h", v), At: clock.Micros(base + int64(v)*1e6), Unique: true})
	}
	for v := range 4 {
		for _, cr := range []string{"f", "g", "h"} {
			clicks = append(clicks, Click{CreatorID: cr, Visitor: fmt.Sprint("browser", v), At: clock.Micros(base + int64(v)*1e6), Unique: true})
		}
	}
	// Bots across many creators do not count (already not billable).
	for v := range 10 {
		for _, cr := range []string{"f", "g", "h"} {
			clicks = append(clicks, Click{CreatorID: cr, Visitor: fmt.Sprint("bot", v), At: clock.Micros(base), Bot: true})
		}
	}
	got := DetectLockstep(clicks, DefaultLockstep)
	if len(got) != 5 {
		t.Fatalf("lockstep found %+v, want creators a..e", got)
	}
	for i, l := range got {
		if l.CreatorID != string(rune('a'+i)) || l.Visitors != 6 || l.Creators != 5 || l.Clicks != 6 || int64(l.From) != base {
			t.Errorf("lockstep %d = %+v", i, l)
		}
	}
	// Strict (3 visitors) also flags the creators the 4 browsers clicked.
	strict := DetectLockstep(clicks, LockstepRuleFor(Strict))
	if len(strict) != 8 {
		t.Errorf("strict found %d creators, want 8 (a..e and f, g, h)", len(strict))
	}
	if relaxed := DetectLockstep(clicks, LockstepRuleFor(Relaxed)); len(relaxed) != 0 {
		t.Errorf("relaxed (8 visitors) found %+v", relaxed)
	}
	// Across campaigns: the flags hold in every campaign.
	fs := LockstepFlags(clicks, Moderate, clock.Micros(base), clock.Micros(base+3600e6))
	open := fs[0]
	open.State = StateOpen // as raised
	if len(fs) != 5 || fs[0].CampaignID != "" || !open.HoldsOne("e", "cmp_any", "a", clock.Micros(base)) {
		t.Fatalf("lockstep flags %+v", fs)
	}
	if want := "6 visitors clicked this creator's links between 2027-01-15 08:00 and 08:15 UTC while each also clicked at least 3 different creators' links in those 15 minutes (5 creators in all, 6 clicks on this creator's): coordinated clicking"; fs[0].Reason != want {
		t.Errorf("reason %q\nwant   %q", fs[0].Reason, want)
	}
}

func TestClickFlagsRaiseOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		from := clock.Micros(1_800_000_000_000_000 - 1_800_000_000_000_000%DefaultLockstep.Window.Microseconds())
		to := from + clock.Micros(24*time.Hour.Microseconds())
		farm := clicksOf("crt_f", 400, func(i int) int64 { return int64(from) + int64(i)*36*1e6 }, func(i int) string { return fmt.Sprint("d", i%20) },
			func(int) bool { return false })
		fs := ClickFlags(farm, Moderate, "cmp_1", from, to)
		if len(fs) != 1 || fs[0].Detector != DetectorClickFarm || fs[0].CreatorID != "crt_f" || !fs[0].Holds || fs[0].HoldsFrom != from {
			t.Fatalf("flags %+v", fs)
		}
		for i := range 2 {
			var got []Flag
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				var err error
				got, err = raiseAll(ctx, tx, to, fs)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != 1-i {
				t.Fatalf("raise %d: %d new flags", i, len(got))
			}
		}
		if !holds(t, db, "ern_1", "cmp_1", "crt_f", int64(from)+1) || holds(t, db, "ern_2", "cmp_1", "crt_h", int64(from)+1) {
			t.Error("the click-farm flag does not hold the farm's earning alone")
		}
		if !strings.Contains(fs[0].Reason, "320 (80 %)") {
			t.Errorf("reason %q", fs[0].Reason)
		}
	})
}
