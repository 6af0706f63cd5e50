package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/store/storetest"
)

var ppiStart = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// startEnv runs a whole payper server (API, sandbox, job queue) on dbURL
// with a clock the test moves. The periodic tick is off: the test ticks
// through POST /v1/admin/engagement/tick.
func startEnv(t *testing.T, dbURL string, start time.Time) (*demo.Env, client) {
	t.Helper()
	env, err := demo.Start(context.Background(), dbURL, start, engage.Config{PollInterval: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	return env, client{t: t, base: env.URL}
}

// ppiWorld is a brand with a campaign and creators who connected, applied,
// were accepted and posted, all over HTTP.
type ppiWorld struct {
	c        client
	env      *demo.Env
	admin    string
	brand    string
	campaign string
	creators map[string]string // handle → API key
	ids      map[string]string // handle → creator id
	posts    map[string]string // handle → sandbox media id
	dbURL    string            // for the audit when env is nil
}

func (w *ppiWorld) audit(t *testing.T) {
	t.Helper()
	if w.env == nil {
		out, _, err := runCLI(t, map[string]string{"PAYPER_DATABASE_URL": w.dbURL}, "admin", "audit")
		if err != nil || !strings.Contains(out, "ledger audit OK") {
			t.Fatalf("payper admin audit: %v\n%s", err, out)
		}
		return
	}
	rep, err := w.env.App.Ledger.Audit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("ledger audit: %s", rep)
	}
}

func (w *ppiWorld) tick(t *testing.T, d time.Duration) {
	t.Helper()
	w.env.Clock.Advance(d)
	w.c.must(200, "POST", "/v1/admin/engagement/tick", w.admin, "")
	w.audit(t)
}

func (w *ppiWorld) grow(t *testing.T, handle, delta string) {
	t.Helper()
	w.c.must(200, "POST", "/sandbox/driver/posts/"+w.posts[handle]+"/counts", w.admin, delta)
}

func (w *ppiWorld) money(t *testing.T) map[string]any {
	t.Helper()
	return w.c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/money", w.brand, "")
}

func micros(t *testing.T, m map[string]any, field string) int64 {
	t.Helper()
	a, ok := m[field].(map[string]any)
	if !ok {
		t.Fatalf("%s missing in %v", field, m)
	}
	return microsOf(t, a["amount"].(string))
}

// earned sums a creator's earnings in the campaign: gross and net.
func (w *ppiWorld) earned(t *testing.T, handle string) (gross, net int64, list []any) {
	t.Helper()
	r := w.c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/earnings?creator_id="+w.ids[handle], w.brand, "")
	list = r["data"].([]any)
	for _, e := range list {
		gross += micros(t, e.(map[string]any), "gross")
		net += micros(t, e.(map[string]any), "net")
	}
	return gross, net, list
}

// newPPIWorld builds the world over HTTP: budget €60, prices view €0.002,
// like €0.05, comment €0.25; creators ana, ben and cleo.
func newPPIWorld(t *testing.T, env *demo.Env, c client) *ppiWorld {
	t.Helper()
	return buildPPIWorld(t, c, env.AdminToken, env.Clock.Now(), env.Clock.Advance, env)
}

// buildPPIWorld builds the world through c; advance moves time past the
// acceptances before the posts are published. env may be nil (a server in
// another process).
func buildPPIWorld(t *testing.T, c client, admin string, start time.Time, advance func(time.Duration), env *demo.Env) *ppiWorld {
	t.Helper()
	w := &ppiWorld{c: c, env: env, admin: admin, creators: map[string]string{}, ids: map[string]string{}, posts: map[string]string{}}
	w.brand = str(c.must(201, "POST", "/v1/brands", w.admin, `{"name":"Glow Labs"}`), "api_key")
	w.campaign = str(c.must(201, "POST", "/v1/campaigns", w.brand, `{"name":"Serum","budget":{"amount":"60","currency":"EUR"}}`), "id")
	c.must(200, "PUT", "/v1/campaigns/"+w.campaign+"/setup", w.brand, fmt.Sprintf(`{
		"goal": {"primary": "roas", "primary_target": "3"},
		"brief": {"product": "Glow serum", "message": "Morning routine", "required_hashtags": ["#GlowSerum"], "landing_url": "https://glow.example"},
		"prices": {"view": "0.002", "like": "0.05", "comment": "0.25"},
		"starts_at": %q, "ends_at": %q,
		"eligibility": {"platforms": ["sandbox"]}}`, start.Format(time.RFC3339Nano), start.Add(30*24*time.Hour).Format(time.RFC3339)))
	c.fails(409, "invalid_transition", "", "POST", "/v1/campaigns/"+w.campaign+"/open", w.brand, "")
	c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/fund", w.brand, `{"payment":{"reference":"pay-1"}}`)
	if st := str(c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/open", w.brand, ""), "state"); st != "open" {
		t.Fatalf("state %s after open", st)
	}
	for i, h := range []string{"ana", "ben", "cleo"} {
		rc := c.must(201, "POST", "/v1/creators", w.admin, fmt.Sprintf(`{"name":%q,"country":"DE"}`, h))
		key, cid := str(rc, "api_key"), str(rc, "creator", "id")
		w.creators[h], w.ids[h] = key, cid
		c.must(201, "POST", "/sandbox/driver/accounts", w.admin, fmt.Sprintf(`{"handle":%q,"followers":%d}`, h, 3000+1000*i))
		w.connect(t, h)
		app := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/applications", key, `{"pitch":"I love serums"}`)
		c.must(200, "POST", "/v1/applications/"+str(app, "id")+"/accept", w.brand, "")
	}
	advance(time.Minute)
	for _, h := range []string{"ana", "ben", "cleo"} {
		caption := "Morning glow #GlowSerum #ad"
		if h == "cleo" {
			// cleo forgets the brief first: refused, every missing item listed, nothing stored.
			bad := c.must(201, "POST", "/sandbox/driver/accounts/cleo/posts", w.admin, `{"caption":"Morning glow","type":"reel"}`)
			r := c.do("POST", "/v1/campaigns/"+w.campaign+"/posts", w.creators[h], fmt.Sprintf(`{"platform":"sandbox","media":%q}`, str(bad, "permalink")))
			e, _ := r.Body["error"].(map[string]any)
			fields, _ := e["fields"].([]any)
			if r.Status != 400 || e["code"] != "post_noncompliant" || len(fields) != 2 ||
				fields[0].(map[string]any)["code"] != "missing_hashtag" || fields[1].(map[string]any)["code"] != "missing_disclosure" {
				t.Fatalf("non-compliant post: %d %s", r.Status, r.Raw)
			}
		}
		post := c.must(201, "POST", "/sandbox/driver/accounts/"+h+"/posts", w.admin, fmt.Sprintf(`{"caption":%q,"type":"reel"}`, caption))
		w.posts[h] = str(post, "id")
		p := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/posts", w.creators[h], fmt.Sprintf(`{"platform":"sandbox","media":%q}`, str(post, "id")))
		if p["state"] != "live" {
			t.Fatalf("post %v", p)
		}
	}
	if n := len(c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/posts", w.brand, "")["data"].([]any)); n != 3 {
		t.Fatalf("%d posts stored, want 3 (the refused one is not)", n)
	}
	return w
}

// connect runs the creator's OAuth flow through the browser redirect.
func (w *ppiWorld) connect(t *testing.T, h string) map[string]any {
	t.Helper()
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	conn := w.c.must(201, "POST", "/v1/creator/connections", w.creators[h], fmt.Sprintf(`{"platform":"sandbox","handle":%q}`, h))
	resp, err := browser.Get(str(conn, "authorize_url"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return w.c.must(200, "GET", loc.Path+"?"+loc.RawQuery, "", "")
}

// TestReconnectLosesNothing revokes a creator's authorization on the
// platform: the account is marked reconnect_needed, its posts wait (nothing
// billed, nothing lost), a new post is refused with reconnect_needed, and
// after reconnecting the growth from the whole gap is billed once.
func TestReconnectLosesNothing(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, ppiStart)
		w := newPPIWorld(t, env, c)
		w.grow(t, "ana", `{"likes":10}`)
		w.tick(t, time.Minute)
		if s := micros(t, w.money(t), "spent"); s != 500_000 {
			t.Fatalf("spent %d, want 0.50", s)
		}
		c.must(200, "POST", "/sandbox/driver/accounts/ana/revoke-tokens", w.admin, "")
		w.grow(t, "ana", `{"likes":6}`)
		w.tick(t, 2*time.Minute)
		if s := micros(t, w.money(t), "spent"); s != 500_000 {
			t.Fatalf("spent %d while the account needs reconnecting", s)
		}
		accs := c.must(200, "GET", "/v1/creator/accounts", w.creators["ana"], "")["data"].([]any)
		if len(accs) != 1 || accs[0].(map[string]any)["status"] != "reconnect_needed" {
			t.Fatalf("accounts %v, want reconnect_needed", accs)
		}
		post := c.must(201, "POST", "/sandbox/driver/accounts/ana/posts", w.admin, `{"caption":"#GlowSerum #ad","type":"reel"}`)
		c.fails(409, "reconnect_needed", "", "POST", "/v1/campaigns/"+w.campaign+"/posts", w.creators["ana"],
			fmt.Sprintf(`{"platform":"sandbox","media":%q}`, str(post, "id")))
		if st := str(w.connect(t, "ana"), "status"); st != "connected" {
			t.Fatalf("reconnected account %s", st)
		}
		w.grow(t, "ana", `{"likes":4}`)
		w.tick(t, 2*time.Minute)
		if s := micros(t, w.money(t), "spent"); s != 500_000+10*50_000 {
			t.Fatalf("spent %d after reconnecting, want the 10 likes of the gap billed once (1.00)", s)
		}
	})
}

// TestPayPerInteractionEndToEnd runs issue 3's whole loop over HTTP on both
// stores: connect, apply, accept, post, engagement billed to the micro-unit
// with the first-campaign fee, the budget running out mid-tick, a void, the
// holding period, the close — the ledger audited after every tick.
func TestPayPerInteractionEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, ppiStart)
		w := newPPIWorld(t, env, c)

		// Tick 1: ana 1,000 views + 10 likes = €2.50; ben 4 comments = €1.00; cleo nothing.
		w.grow(t, "ana", `{"views":1000,"likes":10}`)
		w.grow(t, "ben", `{"comments":4}`)
		w.tick(t, time.Minute)
		if g, n, _ := w.earned(t, "ana"); g != 2_500_000 || n != 2_250_000 {
			t.Fatalf("ana gross %d net %d, want 2.50 / 2.25 (10%% first-campaign fee)", g, n)
		}
		if g, _, _ := w.earned(t, "ben"); g != 1_000_000 {
			t.Fatalf("ben gross %d, want 1.00", g)
		}
		m := w.money(t)
		if micros(t, m, "spent") != 3_500_000 || micros(t, m, "fees") != 350_000 || m["fee_bps"] != float64(1000) || m["reduced_fee"] != true {
			t.Fatalf("money %v", m)
		}

		// Likes fall then rise: only growth past the old peak bills.
		w.grow(t, "ana", `{"likes":-6}`)
		w.tick(t, time.Minute)
		w.grow(t, "ana", `{"likes":10}`)
		w.tick(t, time.Minute)
		if g, _, _ := w.earned(t, "ana"); g != 2_500_000+4*50_000 {
			t.Fatalf("ana gross %d after the dip, want %d", g, 2_500_000+4*50_000)
		}

		// ben's next earning will be voided later; a hold with no reason is refused.
		w.grow(t, "ben", `{"comments":8}`)
		w.tick(t, time.Minute)
		_, _, bens := w.earned(t, "ben")
		voidID := bens[len(bens)-1].(map[string]any)["id"].(string)
		c.fails(400, "required", "reason", "POST", "/v1/earnings/"+voidID+"/hold", w.brand, `{}`)
		c.fails(404, "not_found", "", "POST", "/v1/earnings/"+voidID+"/void", w.creators["ben"], `{"reason":"x"}`)

		// The budget runs out: €60 − €5.70 spent = €54.30 left; cleo asks for 30,000 views = €60.
		spent := micros(t, w.money(t), "spent")
		if spent != 5_700_000 {
			t.Fatalf("spent %d before the big tick, want 5.70", spent)
		}
		w.grow(t, "cleo", `{"views":30000}`)
		w.tick(t, time.Minute)
		m = w.money(t)
		if micros(t, m, "spent") != 60_000_000 || micros(t, m, "remaining") != 0 || micros(t, m, "fees") != 6_000_000 {
			t.Fatalf("money after exhaustion %v", m)
		}
		g, _, cl := w.earned(t, "cleo")
		last := cl[len(cl)-1].(map[string]any)
		// (The €60 her views were worth are asked only up to the escrow left.)
		if g != 54_300_000 || micros(t, last, "requested") != 54_300_000 {
			t.Fatalf("cleo gross %d (requested %v), want only the 54.30 left", g, last["requested"])
		}
		camp := c.must(200, "GET", "/v1/campaigns/"+w.campaign, w.brand, "")
		if camp["state"] != "completed" || camp["state_reason"] != "budget_exhausted" {
			t.Fatalf("campaign %v %v, want completed budget_exhausted", camp["state"], camp["state_reason"])
		}
		// Nothing bills after completion.
		w.grow(t, "ana", `{"views":5000}`)
		w.tick(t, time.Minute)
		if s := micros(t, w.money(t), "spent"); s != 60_000_000 {
			t.Fatalf("spent %d after completion", s)
		}

		// Void ben's €2.00 earning: back to the escrow, fee reversed.
		v := c.must(200, "POST", "/v1/earnings/"+voidID+"/void", w.brand, `{"reason":"comments from a pod"}`)
		if v["state"] != "voided" {
			t.Fatalf("void %v", v)
		}
		m = w.money(t)
		if micros(t, m, "remaining") != 2_000_000 || micros(t, m, "spent") != 58_000_000 || micros(t, m, "fees") != 5_800_000 {
			t.Fatalf("money after void %v", m)
		}
		c.fails(409, "earning_decided", "", "POST", "/v1/earnings/"+voidID+"/release", w.brand, "")

		// Before the holding period ends nothing is available; after it, everything.
		bal := func(h string) (held, avail int64) {
			r := c.must(200, "GET", "/v1/creators/"+w.ids[h]+"/balances", w.creators[h], "")
			for _, b := range r["balances"].([]any) {
				bm := b.(map[string]any)
				held += micros(t, bm, "held")
				avail += micros(t, bm, "available")
			}
			return held, avail
		}
		if h, a := bal("cleo"); a != 0 || h != 48_870_000 {
			t.Fatalf("cleo held %d available %d, want 48.87 held", h, a)
		}
		w.tick(t, 7*24*time.Hour)
		for _, h := range []string{"ana", "ben", "cleo"} {
			_, net, _ := w.earned(t, h)
			if h == "ben" {
				net -= 1_800_000 // the voided earning's net
			}
			if held, avail := bal(h); held != 0 || avail != net {
				t.Fatalf("%s after the holding period: held %d available %d, want 0 / %d", h, held, avail, net)
			}
		}

		// Close: the remaining €2.00 goes back to the brand.
		c.fails(404, "not_found", "", "POST", "/v1/campaigns/"+w.campaign+"/close", w.creators["ana"], "")
		cr := c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/close", w.brand, "")
		if microsOf(t, cr["refunded"].(map[string]any)["amount"].(string)) != 2_000_000 || str(cr, "campaign", "state") != "closed" {
			t.Fatalf("close %v", cr)
		}
		c.fails(409, "invalid_transition", "", "POST", "/v1/campaigns/"+w.campaign+"/close", w.brand, "")
		w.audit(t)
	})
}

// TestRestartBillsNothingTwice stops a server mid-campaign and starts
// another on the same database: growth already billed stays billed once.
func TestRestartBillsNothingTwice(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, ppiStart)
		w := newPPIWorld(t, env, c)
		w.grow(t, "ana", `{"views":1000,"likes":10}`)
		w.tick(t, time.Minute)
		spent := micros(t, w.money(t), "spent")
		if spent != 2_500_000 {
			t.Fatalf("spent %d", spent)
		}
		now := env.Clock.Now()
		if err := env.Close(); err != nil {
			t.Fatal(err)
		}

		env2, c2 := startEnv(t, dbURL, now)
		w.env, w.c, w.admin = env2, c2, env2.AdminToken
		w.tick(t, time.Minute)
		w.tick(t, time.Minute)
		if s := micros(t, w.money(t), "spent"); s != spent {
			t.Fatalf("spent %d after a restart without growth, want %d", s, spent)
		}
		w.grow(t, "ana", `{"likes":4}`)
		w.tick(t, time.Minute)
		if s := micros(t, w.money(t), "spent"); s != spent+200_000 {
			t.Fatalf("spent %d after new growth, want %d", s, spent+200_000)
		}
	})
}

// TestTwoServersBillOnce runs two servers on one database, each with its
// own connection pool and job queue client, both ticking at once: totals
// are exact.
func TestTwoServersBillOnce(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		env, c := startEnv(t, dbURL, ppiStart)
		w := newPPIWorld(t, env, c)
		env2, c2 := startEnv(t, dbURL, env.Clock.Now())
		var want int64
		for round := 1; round <= 6; round++ {
			w.grow(t, "ana", fmt.Sprintf(`{"views":%d,"likes":%d}`, 100*round, round))
			w.grow(t, "ben", fmt.Sprintf(`{"comments":%d}`, round%3))
			want += int64(100*round)*2_000 + int64(round)*50_000 + int64(round%3)*250_000
			env.Clock.Advance(time.Minute)
			env2.Clock.Advance(time.Minute)
			var wg sync.WaitGroup
			for _, cl := range []struct {
				c   client
				key string
			}{{c, env.AdminToken}, {c2, env2.AdminToken}, {c, env.AdminToken}, {c2, env2.AdminToken}} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r := cl.c.do("POST", "/v1/admin/engagement/tick", cl.key, ""); r.Status != 200 {
						t.Errorf("tick: %d %s", r.Status, r.Raw)
					}
				}()
			}
			wg.Wait()
		}
		if s := micros(t, w.money(t), "spent"); s != want {
			t.Fatalf("spent %d with two servers, want %d", s, want)
		}
		w.audit(t)
	})
}
