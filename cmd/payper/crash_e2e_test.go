package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// payperBin is the payper binary the process tests run, built once by
// buildPayper into binDir (removed by TestMain).
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildPayper builds the payper binary once for the whole test run and
// returns its path.
func buildPayper(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "payper-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "payper")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// serverProc is "payper serve" run as a separate process on one database,
// which a test can kill (as kill -9 does) and start again. The process still
// running when the test ends gets SIGINT and must exit cleanly.
type serverProc struct {
	t   *testing.T
	bin string
	env []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	gen    int    // how many processes were started
	base   string // "" while no process listens
	stderr *syncBuffer
	exited chan error
}

// newServerProc prepares "payper serve" on dbURL with the test's admin
// token and secret key; extra are more KEY=value environment settings.
func newServerProc(t *testing.T, bin, dbURL string, extra ...string) *serverProc {
	t.Helper()
	env := append(os.Environ(), "PAYPER_DATABASE_URL="+dbURL, "PAYPER_ADMIN_TOKEN="+adminToken,
		"PAYPER_LOG_LEVEL=error", "PAYPER_SECRET_KEY="+testSecretKey)
	p := &serverProc{t: t, bin: bin, env: append(env, extra...)}
	t.Cleanup(p.stop)
	return p
}

// start runs the server and returns its base URL once it listens.
func (p *serverProc) start() string {
	p.t.Helper()
	cmd := exec.Command(p.bin, "serve", "--addr", "127.0.0.1:0")
	cmd.Env = p.env
	out := &lineWriter{addr: make(chan string, 1)}
	errb := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, errb
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case a := <-out.addr:
		p.mu.Lock()
		p.cmd, p.base, p.stderr, p.exited = cmd, "http://"+a, errb, exited
		p.gen++
		p.mu.Unlock()
		return "http://" + a
	case err := <-exited:
		p.t.Fatalf("payper serve exited before listening: %v\n%s", err, errb.String())
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		p.t.Fatalf("payper serve did not listen within 60s: %s", errb.String())
	}
	return ""
}

// current returns the running server's base URL ("" while none runs) and
// which start it was (1 for the first).
func (p *serverProc) current() (string, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.base, p.gen
}

// kill sends SIGKILL and waits until the process is gone.
func (p *serverProc) kill() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.base = ""
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		p.t.Errorf("kill -9 payper serve: %v", err)
	}
	<-p.exited
	p.cmd = nil
}

// stop sends SIGINT and checks that the server exits cleanly within 30s.
func (p *serverProc) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.base = ""
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-p.exited:
		if err != nil {
			p.t.Errorf("payper serve exited with %v: %s", err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		p.t.Errorf("payper serve did not stop within 30s: %s", p.stderr.String())
	}
	p.cmd = nil
}

// crashPoll is the poll interval, and so the periodic tick, of the servers
// the crash test runs; crashSlack is what a periodic tick may take beyond it
// on a loaded machine.
const (
	crashPoll  = time.Second
	crashSlack = 3 * time.Second
)

// crashWorld is a funded campaign paying interactions (view €0.002, like
// €0.05, comment €0.25), a 10 % commission, a €2 CPA and a €50 flat fee,
// with creators ana and ben (live sandbox posts, discount codes ANA10 and
// BEN10), a Shopify store and ana's tracked link.
type crashWorld struct {
	*ppiWorld
	storeID, secret, slug string
	codes                 map[string]string // code → handle
}

var crashPrices = map[string]int64{"views": 2_000, "likes": 50_000, "comments": 250_000}

const (
	crashBudget  = 100_000_000_000 // €100,000: no cap is reached
	crashFlatFee = 50_000_000
	crashCPA     = 2_000_000
	crashPayout  = 10_000_000
)

func buildCrashWorld(t *testing.T, c client) *crashWorld {
	t.Helper()
	w := &crashWorld{ppiWorld: &ppiWorld{c: c, admin: adminToken, creators: map[string]string{}, ids: map[string]string{}, posts: map[string]string{}},
		secret: "shpss_crash_e2e_0123456789", codes: map[string]string{}}
	w.brand = str(c.must(201, "POST", "/v1/brands", w.admin, `{"name":"Glow Labs"}`), "api_key")
	w.campaign = str(c.must(201, "POST", "/v1/campaigns", w.brand, `{"name":"Crash Serum","budget":{"amount":"100000","currency":"EUR"}}`), "id")
	now := time.Now().UTC()
	c.must(200, "PUT", "/v1/campaigns/"+w.campaign+"/setup", w.brand, fmt.Sprintf(`{
		"goal": {"primary": "roas", "primary_target": "3"},
		"brief": {"product": "Glow serum", "message": "Morning routine", "required_hashtags": ["#GlowSerum"], "landing_url": "https://glow.example/serum"},
		"prices": {"view": "0.002", "like": "0.05", "comment": "0.25"},
		"performance": {"commission_bps": 1000, "cpa": "2", "flat_fee": "50", "attribution_window_days": 7},
		"starts_at": %q, "ends_at": %q,
		"eligibility": {"platforms": ["sandbox"]}}`, now.Add(-time.Minute).Format(time.RFC3339Nano), now.Add(30*24*time.Hour).Format(time.RFC3339)))
	c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/fund", w.brand, `{"payment":{"reference":"pay-crash"}}`)
	c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/open", w.brand, "")
	for _, h := range []string{"ana", "ben"} {
		rc := c.must(201, "POST", "/v1/creators", w.admin, fmt.Sprintf(`{"name":%q,"country":"DE"}`, h))
		w.creators[h], w.ids[h] = str(rc, "api_key"), str(rc, "creator", "id")
		c.must(201, "POST", "/sandbox/driver/accounts", w.admin, fmt.Sprintf(`{"handle":%q,"followers":5000}`, h))
		w.connect(t, h)
		app := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/applications", w.creators[h], `{"pitch":"I love serums"}`)
		c.must(200, "POST", "/v1/applications/"+str(app, "id")+"/accept", w.brand, "")
		code := strings.ToUpper(h) + "10"
		c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/codes", w.brand, fmt.Sprintf(`{"creator_id":%q,"code":%q}`, w.ids[h], code))
		w.codes[code] = h
	}
	time.Sleep(20 * time.Millisecond) // the posts are published after the acceptances
	for _, h := range []string{"ana", "ben"} {
		post := c.must(201, "POST", "/sandbox/driver/accounts/"+h+"/posts", w.admin, `{"caption":"Morning glow #GlowSerum #ad","type":"reel"}`)
		w.posts[h] = str(post, "id")
		if p := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/posts", w.creators[h], fmt.Sprintf(`{"platform":"sandbox","media":%q}`, w.posts[h])); p["state"] != "live" {
			t.Fatalf("post %v", p)
		}
	}
	w.storeID = str(c.must(201, "POST", "/v1/stores", w.brand, `{"platform":"shopify","shop_domain":"glow.myshopify.com","webhook_secret":"`+w.secret+`"}`), "id")
	w.slug = str(c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/links", w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"bio"}`, w.ids["ana"])), "slug")
	return w
}

// crashOrder is a signed Shopify orders/create delivery of order n.
func (w *crashWorld) crashOrder(n int) (body []byte, h map[string]string, amount int64, code string) {
	code = "ANA10"
	if n%3 == 0 {
		code = "BEN10"
	}
	euros := 10 + n%7
	body = fmt.Appendf(nil, `{"id":%d,"name":"#%d","created_at":%q,"currency":"EUR","total_price":"%d.00","financial_status":"paid",`+
		`"discount_codes":[{"code":%q,"amount":"1.00","type":"percentage"}],"note_attributes":[],"customer":{"id":%d}}`,
		7_000_000+n, 7_000_000+n, time.Now().UTC().Format(time.RFC3339), euros, code, 900+n)
	h = map[string]string{"Content-Type": "application/json", "X-Shopify-Topic": "orders/create", "X-Shopify-Hmac-Sha256": orders.Sign(w.secret, body),
		"X-Shopify-Shop-Domain": "glow.myshopify.com", "X-Shopify-Webhook-Id": fmt.Sprintf("crash-%d", n)}
	return body, h, int64(euros) * 1_000_000, code
}

// crashLoad drives a server that may die at any moment: clicks, signed
// orders, engagement growth, payout requests and admin ticks from several
// goroutines. An order or a payout request is sent again (same delivery id,
// same Idempotency-Key) until it gets an answer, as a store and a careful
// client do; the rest is sent once.
type crashLoad struct {
	t   *testing.T
	w   *crashWorld
	srv *serverProc
	hc  *http.Client
	rng *rand.Rand // growth deltas; used by one goroutine only

	quit chan struct{}
	wg   sync.WaitGroup

	mu         sync.Mutex
	nextOrder  int
	orders     map[string]int64  // acknowledged: external order id → amount
	orderCodes map[string]string // external order id → discount code
	nextPayout int
	payouts    map[string]string // acknowledged: payout id → Idempotency-Key
	refused    map[int]int       // payout answers other than 201, by status
	clicks     map[string]int    // click ids of the 302s answered → the server's start
	sent       map[string]int    // requests answered, by kind
}

var errDown = errors.New("no server is running")

// once sends one request to the running server.
func (l *crashLoad) once(method, path string, h map[string]string, body []byte) (int, []byte, error) {
	base, _ := l.srv.current()
	if base == "" {
		return 0, nil, errDown
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := l.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, raw, nil
}

// answered sends a request until some server answers it (bounded: a minute).
func (l *crashLoad) answered(method, path string, h map[string]string, body []byte) (int, []byte) {
	deadline := time.Now().Add(time.Minute)
	for {
		st, raw, err := l.once(method, path, h, body)
		if err == nil {
			return st, raw
		}
		if time.Now().After(deadline) {
			l.t.Errorf("%s %s got no answer within a minute: %v", method, path, err)
			return 0, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *crashLoad) count(kind string) {
	l.mu.Lock()
	l.sent[kind]++
	l.mu.Unlock()
}

// start runs the load's goroutines until stop.
func (l *crashLoad) start() {
	l.quit = make(chan struct{})
	loop := func(pause time.Duration, step func()) {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.quit:
					return
				case <-time.After(pause):
				}
				step()
			}
		}()
	}
	loop(10*time.Millisecond, l.click)
	for range 2 {
		loop(15*time.Millisecond, l.order)
	}
	loop(20*time.Millisecond, func() {
		h := []string{"ana", "ben"}[l.rng.IntN(2)]
		delta := fmt.Sprintf(`{"views":%d,"likes":%d,"comments":%d}`, l.rng.IntN(200), l.rng.IntN(5), l.rng.IntN(2))
		if st, _, err := l.once("POST", "/sandbox/driver/posts/"+l.w.posts[h]+"/counts", map[string]string{"Authorization": "Bearer " + adminToken, "Content-Type": "application/json"}, []byte(delta)); err == nil && st == 200 {
			l.count("growth")
		}
	})
	loop(100*time.Millisecond, l.payout)
	loop(300*time.Millisecond, func() {
		if _, _, err := l.once("POST", "/v1/admin/engagement/tick", map[string]string{"Authorization": "Bearer " + adminToken}, nil); err == nil {
			l.count("admin tick")
		}
	})
}

// click follows the tracked link as a browser does and records the click
// id of the redirect.
func (l *crashLoad) click() {
	base, gen := l.srv.current()
	if base == "" {
		return
	}
	req, err := http.NewRequest("GET", base+"/r/"+l.w.slug, nil)
	if err != nil {
		l.t.Error(err)
		return
	}
	l.mu.Lock()
	req.Header.Set("User-Agent", fmt.Sprintf("Mozilla/5.0 (X11; Linux x86_64) Firefox/%d.0", len(l.clicks)))
	l.mu.Unlock()
	resp, err := l.hc.Do(req)
	if err != nil {
		return // killed
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("click_id") == "" {
		l.t.Errorf("/r/%s answered %d, Location %q", l.w.slug, resp.StatusCode, resp.Header.Get("Location"))
		return
	}
	l.mu.Lock()
	l.clicks[loc.Query().Get("click_id")] = gen
	l.mu.Unlock()
}

// order delivers the next order until a server acknowledges it.
func (l *crashLoad) order() {
	l.mu.Lock()
	l.nextOrder++
	n := l.nextOrder
	l.mu.Unlock()
	body, h, amount, code := l.w.crashOrder(n)
	id := strconv.Itoa(7_000_000 + n)
	for {
		st, raw := l.answered("POST", "/webhooks/shopify/"+l.w.storeID, h, body)
		if st == 0 {
			return
		}
		if st/100 == 2 {
			var rc struct{ Outcome string }
			_ = json.Unmarshal(raw, &rc)
			if rc.Outcome == "rejected" {
				l.t.Errorf("order %s rejected: %s", id, raw)
				return
			}
			l.mu.Lock()
			l.orders[id], l.orderCodes[id] = amount, code
			l.mu.Unlock()
			return
		}
		if st < 500 {
			l.t.Errorf("order %s answered %d: %s", id, st, raw)
			return
		}
		time.Sleep(50 * time.Millisecond) // a 5xx: the store retries
	}
}

// payout asks for a €10 manual payout for ana, with an Idempotency-Key,
// until a server answers: the payout made is the one answered, even when
// the first attempt was made by a server killed before it answered.
func (l *crashLoad) payout() {
	l.mu.Lock()
	l.nextPayout++
	key := fmt.Sprintf("crash-payout-%d", l.nextPayout)
	l.mu.Unlock()
	h := map[string]string{"Authorization": "Bearer " + l.w.creators["ana"], "Content-Type": "application/json", "Idempotency-Key": key}
	st, raw := l.answered("POST", "/v1/creator/payouts", h, []byte(`{"amount":{"amount":"10","currency":"EUR"},"provider":"manual"}`))
	l.mu.Lock()
	defer l.mu.Unlock()
	if st == http.StatusCreated || st == http.StatusOK { // 200: a replay of a request a killed server took
		var po struct{ ID string }
		if err := json.Unmarshal(raw, &po); err != nil || po.ID == "" {
			l.t.Errorf("payout %s answered %s", key, raw)
			return
		}
		l.payouts[po.ID] = key
		return
	}
	l.refused[st]++
	if st >= 500 {
		l.t.Errorf("payout %s answered %d: %s", key, st, raw)
	}
}

// stopNew lets the goroutines finish what they are sending (orders and
// payouts wait for an answer) but start nothing new; wait waits for them.
func (l *crashLoad) stopNew() { close(l.quit) }
func (l *crashLoad) wait()    { l.wg.Wait() }

// TestCrashRecovery runs the real binary under mixed load (clicks, signed
// orders, engagement growth, payouts, periodic and admin ticks), kills it
// with SIGKILL at 2–3 random moments (seeded: PAYPER_CRASH_SEED repeats a
// run's moments) and starts it again on the same database. Then: every
// acknowledged order is stored and paid exactly once, every acknowledged
// payout exists exactly once and nothing else was paid out, engagement is
// billed exactly once (each post's high-water marks equal the sandbox's
// final counters; the earnings add up to them at the prices, to the
// micro-unit), the periodic tick resumes within one poll interval of the
// last restart, and "payper admin audit" passes.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary, kills it and runs on the real clock")
	}
	bin := buildPayper(t)
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		seed := uint64(time.Now().UnixNano())
		if s := os.Getenv("PAYPER_CRASH_SEED"); s != "" {
			var err error
			if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
				t.Fatalf("PAYPER_CRASH_SEED=%q: %v", s, err)
			}
		}
		rng := rand.New(rand.NewPCG(seed, 13))
		kills := 2 + rng.IntN(2)
		moments := make([]time.Duration, kills)
		for i := range moments {
			moments[i] = 400*time.Millisecond + time.Duration(rng.Int64N(int64(1600*time.Millisecond)))
		}
		t.Logf("seed %d (PAYPER_CRASH_SEED=%d repeats it): %d kills, each after %v of load", seed, seed, kills, moments)

		srv := newServerProc(t, bin, dbURL, "PAYPER_POLL_INTERVAL="+crashPoll.String(), "PAYPER_HOLDING_PERIOD=1s")
		c := client{t: t, base: srv.start()}
		w := buildCrashWorld(t, c)
		// The flat fees (€45 net each) are released after the 1 s holding
		// period, so payouts can start.
		for deadline := time.Now().Add(20 * time.Second); ; {
			if crashBalance(t, w, "ana")["available"] >= 45_000_000 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ana's flat fee was not released: %v", crashBalance(t, w, "ana"))
			}
			time.Sleep(200 * time.Millisecond)
			c.do("POST", "/v1/admin/engagement/tick", adminToken, "")
		}

		l := &crashLoad{t: t, w: w, srv: srv, hc: &http.Client{Timeout: 20 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
			rng: rand.New(rand.NewPCG(seed, 14)), orders: map[string]int64{}, orderCodes: map[string]string{},
			payouts: map[string]string{}, refused: map[int]int{}, sent: map[string]int{}, clicks: map[string]int{}}
		l.start()
		jobs, err := store.Open(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer jobs.Close()
		var lastTick int64
		for i, d := range moments {
			time.Sleep(d)
			last := i == len(moments)-1
			if last {
				// The last restart must show the periodic tick on its
				// own: the load sends nothing new after this kill
				// (orders and payouts in flight are sent again).
				l.stopNew()
			}
			srv.kill()
			t.Logf("kill -9 #%d after %v", i+1, d)
			if last {
				lastTick = crashLastTick(t, jobs)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(200 * time.Millisecond))))
			w.c.base = srv.start()
		}
		restarted := time.Now()
		c = w.c

		// The periodic tick resumes by itself: a tick job newer than any
		// before the kill completes within one poll interval (+ slack)...
		took, late := crashWithin(crashPoll+crashSlack, restarted, func() bool { return crashTicksAfter(t, jobs, lastTick) > 0 })
		if late != "" {
			t.Errorf("no periodic tick completed within %v of the last restart (kill -9): %s", crashPoll+crashSlack, late)
		}
		l.wait()
		// ... and growth made now is billed without an admin tick. A post
		// read just before the growth waits until it is due again, so
		// this takes up to two intervals.
		probe := w.posts["ana"]
		c.must(200, "POST", "/sandbox/driver/posts/"+probe+"/counts", adminToken, `{"likes":7}`)
		grown := time.Now()
		want := crashCounts(t, c, probe)
		billed, late := crashWithin(2*crashPoll+crashSlack, grown, func() bool { return crashPosts(t, w)["ana"].Billed == want })
		if late != "" {
			t.Errorf("growth after the last restart was not billed by the periodic tick within %v: %s", 2*crashPoll+crashSlack, late)
		}
		t.Logf("after the last restart: a periodic tick completed in %v, new growth was billed in %v", took.Round(time.Millisecond), billed.Round(time.Millisecond))

		// More load on the restarted server, then let it settle.
		l.start()
		time.Sleep(time.Second)
		l.stopNew()
		l.wait()
		l.mu.Lock()
		t.Logf("acknowledged: %d orders, %d payouts (refused %v), %d redirects; answered %v", len(l.orders), len(l.payouts), l.refused, len(l.clicks), l.sent)
		l.mu.Unlock()
		if len(l.orders) == 0 || len(l.payouts) == 0 || l.sent["growth"] == 0 {
			t.Fatalf("the load did too little to test anything: %d orders, %d payouts, %v", len(l.orders), len(l.payouts), l.sent)
		}
		settled := func() string {
			for h, p := range crashPosts(t, w) {
				if want := crashCounts(t, c, p.MediaID); p.Billed != want {
					return fmt.Sprintf("post %s billed %+v, counters %+v", h, p.Billed, want)
				}
			}
			conv := crashConversions(t, w)
			for id := range l.orders {
				if len(conv[id]) == 0 {
					return "order " + id + " has no conversion"
				}
			}
			return ""
		}
		for deadline := time.Now().Add(30 * time.Second); ; {
			why := settled()
			if why == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("not settled within 30s: %s", why)
				break
			}
			l.once("POST", "/v1/admin/engagement/tick", map[string]string{"Authorization": "Bearer " + adminToken}, nil)
			time.Sleep(100 * time.Millisecond)
		}

		w.checkOrders(t, l)
		w.checkEngagement(t)
		w.checkPayouts(t, l)
		w.checkMoney(t)

		srv.stop() // as SIGTERM does: the clicks still buffered are written
		checkClicks(t, jobs, l)
		cmd := exec.Command(bin, "admin", "audit")
		cmd.Env = srv.env
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "ledger audit OK") {
			t.Errorf("payper admin audit: %v\n%s", err, out)
		}
	})
}

// checkClicks, once the last server stopped: no click is stored twice, and
// every redirect the last server answered is stored (those answered by a
// killed server may have died in its buffer: they are counted, not failed).
func checkClicks(t *testing.T, db *store.DB, l *crashLoad) {
	t.Helper()
	stored := map[string]int{}
	ids, err := store.QueryAll(context.Background(), db.Read(), func(r store.Scanner) (string, error) {
		var id string
		return id, r.Scan(&id)
	}, `SELECT click_id FROM clicks`)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if stored[id]++; stored[id] == 2 {
			t.Errorf("click %s stored twice", id)
		}
	}
	_, last := l.srv.current()
	lost, unanswered := 0, 0
	for id, gen := range l.clicks {
		switch {
		case stored[id] > 0:
		case gen == last:
			t.Errorf("click %s, answered by the server that stopped cleanly, was not stored", id)
		default:
			lost++
		}
	}
	for id := range stored {
		if _, ok := l.clicks[id]; !ok {
			unanswered++
		}
	}
	t.Logf("clicks: %d redirects answered, %d clicks stored; %d answered by killed servers died in their buffers, %d stored were not answered before a kill",
		len(l.clicks), len(stored), lost, unanswered)
}

// crashWithin waits until ok holds, up to d after since. It returns how
// long after since it held, and "" if that was in time, else when it held (up
// to half a minute after since), which tells a slow tick from a stuck one.
func crashWithin(d time.Duration, since time.Time, ok func() bool) (time.Duration, string) {
	for !ok() {
		if time.Since(since) > d {
			for time.Since(since) < 30*time.Second {
				if ok() {
					return time.Since(since), "it did only after " + time.Since(since).Round(100*time.Millisecond).String()
				}
				time.Sleep(100 * time.Millisecond)
			}
			return time.Since(since), "not even within 30s"
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(since), ""
}

// crashLastTick returns the id of the newest periodic engagement tick in
// the job queue (0 without one).
func crashLastTick(t *testing.T, db *store.DB) int64 {
	t.Helper()
	var id int64
	if err := db.Read().QueryRowContext(context.Background(), `SELECT COALESCE(MAX(id), 0) FROM river_job WHERE kind = 'engage_tick'`).Scan(&id); err != nil {
		t.Fatalf("read the job queue: %v", err)
	}
	return id
}

// crashTicksAfter returns how many periodic engagement ticks newer than
// job id after have completed.
func crashTicksAfter(t *testing.T, db *store.DB, after int64) int64 {
	t.Helper()
	var n int64
	if err := db.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM river_job
		WHERE kind = 'engage_tick' AND state = 'completed' AND id > $1`, after).Scan(&n); err != nil {
		t.Fatalf("read the job queue: %v", err)
	}
	return n
}

// crashPost is what the API shows of a post: its high-water marks and what
// billing asked for it.
type crashPost struct {
	ID        string `json:"id"`
	MediaID   string `json:"media_id"`
	CreatorID string `json:"creator_id"`
	Billed    counts `json:"billed_counts"`
	Requested int64  `json:"requested_micros"`
}

// counts are the priced counters of a post.
type counts struct {
	Views    int64 `json:"views"`
	Likes    int64 `json:"likes"`
	Comments int64 `json:"comments"`
}

func (c counts) get(metric string) int64 {
	return map[string]int64{"views": c.Views, "likes": c.Likes, "comments": c.Comments}[metric]
}

// crashPosts returns the campaign's posts by handle.
func crashPosts(t *testing.T, w *crashWorld) map[string]crashPost {
	t.Helper()
	var out struct{ Data []crashPost }
	decodeJSON(t, w.c.do("GET", "/v1/campaigns/"+w.campaign+"/posts", w.brand, ""), &out)
	m := map[string]crashPost{}
	for _, p := range out.Data {
		for h, media := range w.posts {
			if p.MediaID == media {
				m[h] = p
			}
		}
	}
	if len(m) != len(w.posts) {
		t.Fatalf("posts %+v, want one for each of %v", out.Data, w.posts)
	}
	return m
}

// crashCounts returns a sandbox post's counters.
func crashCounts(t *testing.T, c client, media string) counts {
	t.Helper()
	var p struct{ Counts counts }
	decodeJSON(t, c.do("GET", "/sandbox/driver/posts/"+media, adminToken, ""), &p)
	return p.Counts
}

func decodeJSON(t *testing.T, r reply, v any) {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("status %d: %s", r.Status, r.Raw)
	}
	if err := json.Unmarshal([]byte(r.Raw), v); err != nil {
		t.Fatalf("%s: %v", r.Raw, err)
	}
}

// crashBalance returns h's EUR balances in micro-units.
func crashBalance(t *testing.T, w *crashWorld, h string) map[string]int64 {
	t.Helper()
	for _, b := range w.c.must(200, "GET", "/v1/creators/"+w.ids[h]+"/balances", w.creators[h], "")["balances"].([]any) {
		bm := b.(map[string]any)
		if bm["currency"] != "EUR" {
			continue
		}
		out := map[string]int64{}
		for _, k := range []string{"held", "available", "pending_payout", "debt", "paid_out"} {
			out[k] = micros(t, bm, k)
		}
		return out
	}
	t.Fatalf("%s has no EUR balance", h)
	return nil
}

// crashConversions returns the campaign's conversions by external order id.
func crashConversions(t *testing.T, w *crashWorld) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, cv := range w.c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/conversions", w.brand, "")["data"].([]any) {
		m := cv.(map[string]any)
		out[str(m, "external_order_id")] = append(out[str(m, "external_order_id")], m)
	}
	return out
}

// crashEarning is an earning as the API shows it, amounts in micro-units.
type crashEarning struct {
	ID, CreatorID, Kind, Source, State string
	Requested, Gross, Net, Clawed      int64
	Detail                             []struct {
		PostID string           `json:"post_id"`
		Growth map[string]int64 `json:"growth"`
		Amount int64            `json:"amount"`
	}
}

func crashEarnings(t *testing.T, w *crashWorld) []crashEarning {
	t.Helper()
	var out []crashEarning
	for _, e := range w.c.must(200, "GET", "/v1/campaigns/"+w.campaign+"/earnings", w.brand, "")["data"].([]any) {
		m := e.(map[string]any)
		ce := crashEarning{ID: str(m, "id"), CreatorID: str(m, "creator_id"), Kind: str(m, "kind"), Source: str(m, "source"), State: str(m, "state"),
			Requested: micros(t, m, "requested"), Gross: micros(t, m, "gross"), Net: micros(t, m, "net"), Clawed: micros(t, m, "clawed_gross")}
		raw, _ := json.Marshal(m["detail"])
		if err := json.Unmarshal(raw, &ce.Detail); err != nil {
			t.Fatalf("detail of %s: %v", ce.ID, err)
		}
		out = append(out, ce)
	}
	return out
}

// checkOrders: every acknowledged order is listed once, attributed once to
// its code's creator and paid its commission and CPA once.
func (w *crashWorld) checkOrders(t *testing.T, l *crashLoad) {
	t.Helper()
	listed := map[string]int{}
	for before := ""; ; {
		page := w.c.must(200, "GET", "/v1/orders?limit=200&before="+before, w.brand, "")
		for _, o := range page["data"].([]any) {
			listed[str(o.(map[string]any), "order_id")]++
		}
		if before = str(page, "next_before"); before == "" {
			break
		}
	}
	for id := range l.orders {
		if listed[id] != 1 {
			t.Errorf("acknowledged order %s is listed %d times, want once", id, listed[id])
		}
	}
	if len(listed) != len(l.orders) {
		t.Errorf("%d orders listed, %d acknowledged (every delivery was sent until acknowledged)", len(listed), len(l.orders))
	}
	conv := crashConversions(t, w)
	paid := map[string]map[string]int64{} // internal order id → kind → gross
	for _, e := range crashEarnings(t, w) {
		if e.Kind == "commission" || e.Kind == "cpa" {
			if paid[e.Source] == nil {
				paid[e.Source] = map[string]int64{}
			}
			if _, twice := paid[e.Source][e.Kind]; twice {
				t.Errorf("order %s paid %s twice", e.Source, e.Kind)
			}
			paid[e.Source][e.Kind] += e.Gross
		}
	}
	for id, amount := range l.orders {
		cs := conv[id]
		if len(cs) != 1 {
			t.Errorf("order %s has %d conversions, want 1", id, len(cs))
			continue
		}
		cv := cs[0]
		wantCreator := w.ids[w.codes[l.orderCodes[id]]]
		if cv["creator_id"] != wantCreator || micros(t, cv, "commission") != amount/10 || micros(t, cv, "cpa") != crashCPA {
			t.Errorf("order %s (€%d, code %s): conversion %v, want creator %s, commission %d, CPA %d", id, amount/1_000_000, l.orderCodes[id], cv, wantCreator, amount/10, crashCPA)
		}
		if p := paid[str(cv, "order_id")]; p["commission"] != amount/10 || p["cpa"] != crashCPA {
			t.Errorf("order %s: earnings paid %v, want commission %d and CPA %d", id, p, amount/10, crashCPA)
		}
	}
	if len(conv) != len(l.orders) {
		t.Errorf("%d orders have conversions, %d were acknowledged", len(conv), len(l.orders))
	}
}

// checkEngagement: each post's marks are the sandbox's final counters, what
// billing asked for is those counters at the prices, and the earnings'
// details add up to exactly that: nothing billed twice, nothing lost.
func (w *crashWorld) checkEngagement(t *testing.T) {
	t.Helper()
	byPost := map[string]counts{}
	amount := map[string]int64{}
	gross := map[string]int64{}
	for _, e := range crashEarnings(t, w) {
		if e.Kind != "interactions" {
			continue
		}
		var sum int64
		for _, d := range e.Detail {
			c := byPost[d.PostID]
			c.Views += d.Growth["views"]
			c.Likes += d.Growth["likes"]
			c.Comments += d.Growth["comments"]
			byPost[d.PostID] = c
			amount[d.PostID] += d.Amount
			sum += d.Amount
		}
		if sum != e.Requested || e.Gross != e.Requested {
			t.Errorf("earning %s: details add up to %d, requested %d, gross %d", e.ID, sum, e.Requested, e.Gross)
		}
		gross[e.CreatorID] += e.Gross
	}
	for h, p := range crashPosts(t, w) {
		final := crashCounts(t, w.c, p.MediaID)
		var want int64
		for m, price := range crashPrices {
			want += final.get(m) * price
		}
		if p.Billed != final || byPost[p.ID] != final {
			t.Errorf("%s's post: counters %+v, marks %+v, earnings' growth %+v: want all three equal", h, final, p.Billed, byPost[p.ID])
		}
		if p.Requested != want || amount[p.ID] != want {
			t.Errorf("%s's post: requested %d, earnings %d, want %d (the counters at the prices)", h, p.Requested, amount[p.ID], want)
		}
		if gross[p.CreatorID] != want {
			t.Errorf("%s earned %d gross for interactions, want %d", h, gross[p.CreatorID], want)
		}
	}
}

// checkPayouts: the payouts are exactly the acknowledged ones, and ana's
// balances add up to what she earned net.
func (w *crashWorld) checkPayouts(t *testing.T, l *crashLoad) {
	t.Helper()
	var sum int64
	seen := map[string]bool{}
	for _, p := range w.c.must(200, "GET", "/v1/creator/payouts", w.creators["ana"], "")["data"].([]any) {
		m := p.(map[string]any)
		id := str(m, "id")
		if seen[id] {
			t.Errorf("payout %s listed twice", id)
		}
		seen[id] = true
		if _, ok := l.payouts[id]; !ok {
			t.Errorf("payout %v was never acknowledged (a retried request made a second payout?)", m)
		}
		if micros(t, m, "amount") != crashPayout || m["state"] != "requested" {
			t.Errorf("payout %v, want €10 requested", m)
		}
		sum += micros(t, m, "amount")
	}
	for id, key := range l.payouts {
		if !seen[id] {
			t.Errorf("acknowledged payout %s (%s) is missing", id, key)
		}
	}
	var net int64
	for _, e := range crashEarnings(t, w) {
		if e.CreatorID == w.ids["ana"] && e.State != "voided" {
			net += e.Net
		}
	}
	b := crashBalance(t, w, "ana")
	if b["pending_payout"] != sum || b["held"]+b["available"]+b["pending_payout"]+b["paid_out"]-b["debt"] != net {
		t.Errorf("ana's balances %v: pending payouts want %d, and all of it want %d (her earnings net)", b, sum, net)
	}
}

// checkMoney: the campaign spent exactly what its earnings were granted.
func (w *crashWorld) checkMoney(t *testing.T) {
	t.Helper()
	var gross int64
	for _, e := range crashEarnings(t, w) {
		if e.State != "voided" {
			gross += e.Gross - e.Clawed
		}
	}
	m := w.money(t)
	if micros(t, m, "spent") != gross || micros(t, m, "remaining") != crashBudget-gross {
		t.Errorf("money %v: want spent %d (the earnings' gross) and remaining %d", m, gross, crashBudget-gross)
	}
	if gross < 2*crashFlatFee {
		t.Errorf("spent %d, less than the two flat fees", gross)
	}
}
