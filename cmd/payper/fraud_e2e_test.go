package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// TestFraudEndToEnd runs the fraud review over HTTP on a whole server with
// the sandbox: ana and ben buy likes (the sandbox driver adds them in one
// poll interval) while cleo grows honestly. Both bursts are flagged in the
// tick that bills them and their earnings are held past the holding period
// (the creator sees "under review" and the category, not the thresholds);
// confirming ana's flag returns her burst's gross to the escrow and reverses
// its fee to the micro-unit; dismissing ben's lets his earning release. The
// ledger audit passes after every tick.
func TestFraudEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, ppiStart)
		w := newPPIWorld(t, env, c)
		camp := "/v1/campaigns/" + w.campaign

		// Sensitivity: the operator's default, a campaign's own.
		c.fails(403, "forbidden", "", "PUT", "/v1/admin/fraud/sensitivity", w.brand, `{"sensitivity":"strict"}`)
		c.must(200, "PUT", "/v1/admin/fraud/sensitivity", w.admin, `{"sensitivity":"strict"}`)
		if v := str(c.must(200, "GET", camp+"/fraud-sensitivity", w.brand, ""), "sensitivity"); v != "strict" {
			t.Fatalf("campaign sensitivity %s, want the operator's default strict", v)
		}
		c.fails(400, "invalid", "sensitivity", "PUT", camp+"/fraud-sensitivity", w.brand, `{"sensitivity":"paranoid"}`)
		c.must(200, "PUT", camp+"/fraud-sensitivity", w.brand, `{"sensitivity":"moderate"}`)
		if v := str(c.must(200, "GET", camp+"/fraud-sensitivity", w.brand, ""), "sensitivity"); v != "moderate" {
			t.Fatalf("campaign sensitivity %s, want moderate", v)
		}

		// Twelve minutes of honest growth for everyone.
		for i := range 12 {
			for j, h := range []string{"ana", "ben", "cleo"} {
				w.grow(t, h, fmt.Sprintf(`{"views":%d,"likes":%d}`, 90+5*((i+j)%4), 3+(i+j)%3))
			}
			w.tick(t, time.Minute)
		}
		flags := c.must(200, "GET", "/v1/fraud/flags", w.brand, "")["data"].([]any)
		if len(flags) != 0 {
			t.Fatalf("honest growth flagged: %v", flags)
		}
		// ana buys 300 likes, ben 200; cleo goes on honestly.
		w.grow(t, "ana", `{"views":5,"likes":300}`)
		w.grow(t, "ben", `{"views":4,"likes":200}`)
		w.grow(t, "cleo", `{"views":95,"likes":4}`)
		w.tick(t, time.Minute)

		q := c.must(200, "GET", "/v1/fraud/flags?state=open", w.brand, "")
		flags = q["data"].([]any)
		if len(flags) != 2 || len(q["creators"].([]any)) != 2 {
			t.Fatalf("flags after the bursts: %v", q)
		}
		byCreator := map[string]map[string]any{}
		for _, f := range flags {
			m := f.(map[string]any)
			byCreator[str(m, "creator_id")] = m
			if m["detector"] != "engagement_burst" || m["state"] != "open" || m["category"] != "unusual_engagement" {
				t.Fatalf("flag %v", m)
			}
		}
		fa, fb := byCreator[w.ids["ana"]], byCreator[w.ids["ben"]]
		if fa == nil || fb == nil || !strings.HasPrefix(str(fa, "reason"), "likes grew 300 in 60 seconds, ") ||
			!strings.HasPrefix(str(fb, "reason"), "likes grew 200 in 60 seconds, ") {
			t.Fatalf("flags %v", flags)
		}
		if got := c.must(200, "GET", "/v1/fraud/flags?creator_id="+w.ids["ana"], w.admin, "")["data"].([]any); len(got) != 1 {
			t.Fatalf("the operator's queue for ana: %v", got)
		}
		c.fails(403, "forbidden", "", "GET", "/v1/fraud/flags", w.creators["ana"], "")
		other := str(c.must(201, "POST", "/v1/brands", w.admin, `{"name":"Other"}`), "api_key")
		if got := c.must(200, "GET", "/v1/fraud/flags", other, "")["data"].([]any); len(got) != 0 {
			t.Fatalf("another brand sees %v", got)
		}
		c.fails(404, "not_found", "", "POST", "/v1/fraud/flags/"+str(fa, "id")+"/confirm", other, `{"reason":"x"}`)

		// The creator sees her burst's earning under review, with the
		// category, and none of the detector's numbers.
		r := c.do("GET", camp+"/earnings", w.creators["ana"], "")
		list := r.Body["data"].([]any)
		burst := list[len(list)-1].(map[string]any)
		if burst["under_review"] != true || burst["review_category"] != "unusual_engagement" || str(burst, "review_note") == "" ||
			strings.Contains(r.Raw, "z-score") || strings.Contains(r.Raw, "likes grew") {
			t.Fatalf("ana's earnings: %s", r.Raw)
		}
		if g := micros(t, burst, "gross"); g != 300*50_000+5*2_000 {
			t.Fatalf("burst earning gross %d", g)
		}

		// Past the holding period: everything released but the two bursts.
		w.tick(t, 8*24*time.Hour)
		for _, h := range []string{"ana", "ben", "cleo"} {
			_, _, l := w.earned(t, h)
			for i, e := range l {
				m := e.(map[string]any)
				want := "released"
				if h != "cleo" && i == len(l)-1 {
					want = "held"
				}
				if m["state"] != want {
					t.Fatalf("%s's earning %d is %v after the holding period, want %s", h, i, m["state"], want)
				}
			}
		}

		// Confirm ana's: a reason is needed; the escrow gets the gross back
		// and the fee is reversed, to the micro-unit.
		c.fails(400, "required", "reason", "POST", "/v1/fraud/flags/"+str(fa, "id")+"/confirm", w.brand, `{"reason":" "}`)
		before := w.money(t)
		d := c.must(200, "POST", "/v1/fraud/flags/"+str(fa, "id")+"/confirm", w.brand, `{"reason":"300 likes in a minute on 5 views"}`)
		voided := d["voided"].([]any)
		if len(voided) != 1 || str(voided[0].(map[string]any), "id") != str(burst, "id") || str(d, "flag", "state") != "confirmed" ||
			!strings.HasPrefix(str(d, "flag", "decided_by"), "brand:") || str(d, "flag", "decision_reason") != "300 likes in a minute on 5 views" {
			t.Fatalf("confirm: %v", d)
		}
		gross, fee := micros(t, burst, "gross"), micros(t, burst, "fee")
		after := w.money(t)
		if micros(t, after, "remaining") != micros(t, before, "remaining")+gross || micros(t, after, "fees") != micros(t, before, "fees")-fee ||
			micros(t, after, "spent") != micros(t, before, "spent")-gross {
			t.Fatalf("money before %v after %v; voided gross %d fee %d", before, after, gross, fee)
		}
		c.fails(409, "flag_decided", "", "POST", "/v1/fraud/flags/"+str(fa, "id")+"/dismiss", w.brand, `{"reason":"no"}`)
		w.audit(t)

		// Dismiss ben's: his earning releases with the next tick.
		d = c.must(200, "POST", "/v1/fraud/flags/"+str(fb, "id")+"/dismiss", w.brand, `{"reason":"a shout-out from a bigger account"}`)
		if str(d, "flag", "state") != "dismissed" || len(d["voided"].([]any)) != 0 {
			t.Fatalf("dismiss: %v", d)
		}
		w.tick(t, time.Minute)
		_, _, l := w.earned(t, "ben")
		if last := l[len(l)-1].(map[string]any); last["state"] != "released" || last["under_review"] == true {
			t.Fatalf("ben's dismissed earning: %v", last)
		}
		if got := c.must(200, "GET", "/v1/fraud/flags/"+str(fb, "id"), w.admin, ""); str(got, "decision_reason") != "a shout-out from a bigger account" {
			t.Fatalf("flag record %v", got)
		}
		w.audit(t)

		// The operator bans cleo: recorded, her collaboration ended.
		c.fails(403, "forbidden", "", "POST", "/v1/admin/creators/"+w.ids["cleo"]+"/ban", w.brand, `{"reason":"x"}`)
		c.fails(400, "required", "reason", "POST", "/v1/admin/creators/"+w.ids["cleo"]+"/ban", w.admin, `{"reason":""}`)
		ban := c.must(200, "POST", "/v1/admin/creators/"+w.ids["cleo"]+"/ban", w.admin, `{"reason":"sold her account"}`)
		if cut := ban["campaigns_cut"].([]any); len(cut) != 1 || cut[0] != w.campaign || str(ban, "flag", "detector") != "operator_ban" ||
			str(ban, "flag", "state") != "confirmed" {
			t.Fatalf("ban %v", ban)
		}
		c.fails(409, "creator_banned", "", "POST", "/v1/admin/creators/"+w.ids["cleo"]+"/ban", w.admin, `{"reason":"again"}`)
		if st := str(c.must(200, "GET", camp, w.brand, ""), "state"); st != "open" {
			t.Fatalf("campaign %s: the check below would prove nothing", st)
		}
		spent := micros(t, w.money(t), "spent")
		w.grow(t, "cleo", `{"views":95,"likes":4}`)
		w.tick(t, time.Minute)
		if s := micros(t, w.money(t), "spent"); s != spent {
			t.Fatalf("a banned creator billed: spent %d → %d", spent, s)
		}
	})
}
