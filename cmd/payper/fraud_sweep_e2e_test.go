package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// TestFraudSweepEndToEnd: the click and sales detectors run in the
// periodic tick. A click farm (the sandbox driver's generator) is replayed
// against ana's tracked link over HTTP; the next tick's sweep flags it, the
// brand's queue lists the flag with its reason, and ana's earning accrued
// in that window is held past the holding period while cleo's releases.
func TestFraudSweepEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, ppiStart)
		w := newPPIWorld(t, env, c)
		// Honest minutes first: a tick with clicks from people flags nothing.
		link := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/links", w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"bio"}`, w.ids["ana"]))
		slug := str(link, "slug")
		browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		follow := func(ua string) {
			t.Helper()
			req, _ := http.NewRequest("GET", env.URL+"/r/"+slug, nil)
			req.Header.Set("User-Agent", ua)
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("redirect: %d", resp.StatusCode)
			}
		}
		for i := range 5 {
			follow(fmt.Sprintf("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Mobile/15E148 Safari/604.1 person/%d", i))
		}
		for _, h := range []string{"ana", "cleo"} {
			w.grow(t, h, `{"views":100,"likes":4}`)
		}
		w.tick(t, time.Minute)
		if got := c.must(200, "GET", "/v1/fraud/flags", w.brand, "")["data"].([]any); len(got) != 0 {
			t.Fatalf("honest clicks flagged: %v", got)
		}
		// A quiet minute: its sweep's window ends where the farm's begins
		// (a flag holds the earnings accrued from its window's start).
		w.tick(t, time.Minute)

		// The farm: 400 clicks from 8 phones (and their proxies) in a minute.
		farm := c.must(200, "POST", "/sandbox/driver/cheats/click-farm", w.admin, `{"clicks":400,"devices":8,"seconds":60,"seed":7}`)["data"].([]any)
		for _, v := range farm {
			follow(str(v.(map[string]any), "user_agent"))
		}
		for _, h := range []string{"ana", "cleo"} {
			w.grow(t, h, `{"views":100,"likes":4}`)
		}
		w.tick(t, time.Minute)

		q := c.must(200, "GET", "/v1/fraud/flags?state=open", w.brand, "")
		flags := q["data"].([]any)
		if len(flags) != 1 {
			t.Fatalf("flags after the click farm: %v", q)
		}
		f := flags[0].(map[string]any)
		if f["detector"] != "clicks.invalid_share" || str(f, "creator_id") != w.ids["ana"] || f["campaign_id"] != w.campaign ||
			f["category"] != "invalid_clicks" || f["holds"] != true || !strings.Contains(str(f, "reason"), "400") {
			t.Fatalf("flag %v", f)
		}
		// A tick more sweeps a new window: the farm is not flagged twice.
		w.tick(t, time.Minute)
		if got := c.must(200, "GET", "/v1/fraud/flags", w.brand, "")["data"].([]any); len(got) != 1 {
			t.Fatalf("flags after another tick: %v", got)
		}

		// Past the holding period: ana's earning of the farm's window is held,
		// her earlier one and all of cleo's released.
		w.tick(t, 8*24*time.Hour)
		for _, h := range []string{"ana", "cleo"} {
			_, _, l := w.earned(t, h)
			if len(l) != 2 {
				t.Fatalf("%s has %d earnings, want 2: %v", h, len(l), l)
			}
			for i, e := range l {
				m := e.(map[string]any)
				want := "released"
				if h == "ana" && i == 1 {
					want = "held"
				}
				if m["state"] != want {
					t.Fatalf("%s's earning %d is %v after the holding period, want %s", h, i, m["state"], want)
				}
			}
		}
		r := c.do("GET", "/v1/campaigns/"+w.campaign+"/earnings", w.creators["ana"], "")
		if !strings.Contains(r.Raw, `"review_category":"invalid_clicks"`) {
			t.Fatalf("ana's earnings: %s", r.Raw)
		}
	})
}
