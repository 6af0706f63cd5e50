package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/store/storetest"
)

const adminToken = "e2e-admin-token-0123456789"

// lineWriter signals the address once the server prints it.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	addr chan string
	sent bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if _, rest, ok := strings.Cut(w.buf.String(), "listening on http://"); ok {
			if addr, _, ok := strings.Cut(rest, "\n"); ok {
				w.sent = true
				w.addr <- addr
			}
		}
	}
	return len(p), nil
}

// testSecretKey seals store secrets in the servers the tests start.
const testSecretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// startServer runs "payper serve" on port 0 and returns its base URL. The
// server is stopped (as by SIGTERM) when the test ends, and must exit cleanly.
func startServer(t *testing.T, dbURL string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	env := map[string]string{"PAYPER_ADMIN_TOKEN": adminToken, "PAYPER_LOG_LEVEL": "error", "PAYPER_SECRET_KEY": testSecretKey}
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dbURL}, func(k string) string { return env[k] }, out, io.Discard)
	}()
	select {
	case addr := <-out.addr:
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("server exited with %v after shutdown", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("server did not shut down within 20s")
			}
		})
		return "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("server did not start within 30s")
	}
	return ""
}

type client struct {
	t    *testing.T
	base string
}

type reply struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (c client) do(method, path, key, body string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			c.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return r
}

// must calls and checks the status.
func (c client) must(status int, method, path, key, body string) map[string]any {
	c.t.Helper()
	r := c.do(method, path, key, body)
	if r.Status != status {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, status, r.Raw)
	}
	return r.Body
}

// fails checks an error answer: status, code and (if given) field.
func (c client) fails(status int, code, field, method, path, key, body string) {
	c.t.Helper()
	r := c.do(method, path, key, body)
	if r.Status != status {
		c.t.Fatalf("%s %s %s: status %d, want %d: %s", method, path, body, r.Status, status, r.Raw)
	}
	e, _ := r.Body["error"].(map[string]any)
	if e == nil {
		c.t.Fatalf("%s %s: no error object in %s", method, path, r.Raw)
	}
	if e["code"] != code {
		c.t.Fatalf("%s %s %s: code %v, want %s: %s", method, path, body, e["code"], code, r.Raw)
	}
	if field != "" && e["field"] != field {
		c.t.Fatalf("%s %s %s: field %v, want %s: %s", method, path, body, e["field"], field, r.Raw)
	}
	if msg, _ := e["message"].(string); msg == "" {
		c.t.Fatalf("%s %s: empty error message", method, path)
	}
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

func TestEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		c := client{t: t, base: startServer(t, dbURL)}

		// Operations endpoints.
		c.must(200, "GET", "/healthz", "", "")
		if r := c.must(200, "GET", "/readyz", "", ""); r["status"] != "ready" {
			t.Fatalf("readyz: %v", r)
		}
		if r := c.do("GET", "/metrics", adminToken, ""); r.Status != 200 || !strings.Contains(r.Raw, `payper_http_requests_total{code="200",method="GET",route="GET /readyz"} 1`) {
			t.Fatalf("metrics: %d %.300s", r.Status, r.Raw)
		}
		if r := c.must(200, "GET", "/openapi.json", "", ""); r["openapi"] != "3.1.0" {
			t.Fatalf("openapi: %v", r["openapi"])
		}

		// Authentication.
		c.fails(401, "unauthorized", "", "GET", "/v1/me", "", "")
		c.fails(401, "unauthorized", "", "GET", "/v1/me", "pp_b_wrong", "")
		if r := c.must(200, "GET", "/v1/me", adminToken, ""); r["role"] != "admin" {
			t.Fatalf("me: %v", r)
		}

		// Admin creates tenants; keys are shown once and work.
		ra := c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Acme Coffee"}`)
		brandA, keyA := str(ra, "brand", "id"), str(ra, "api_key")
		rb := c.must(201, "POST", "/v1/brands", adminToken, `{"name":"Bolt Bikes"}`)
		keyB := str(rb, "api_key")
		rc := c.must(201, "POST", "/v1/creators", adminToken, `{"name":"Mia","country":"DE"}`)
		creator, keyC := str(rc, "creator", "id"), str(rc, "api_key")
		if !strings.HasPrefix(keyA, "pp_b_") || !strings.HasPrefix(keyC, "pp_c_") {
			t.Fatalf("key formats: %q %q", keyA, keyC)
		}
		if r := c.must(200, "GET", "/v1/me", keyA, ""); str(r, "brand", "id") != brandA {
			t.Fatalf("me as brand: %v", r)
		}
		c.fails(403, "forbidden", "", "POST", "/v1/brands", keyA, `{"name":"x"}`)
		c.fails(400, "required", "name", "POST", "/v1/brands", adminToken, `{"name":"  "}`)
		c.fails(400, "invalid_country", "country", "POST", "/v1/creators", adminToken, `{"name":"Z","country":"Germany"}`)
		c.fails(404, "not_found", "", "GET", "/v1/brands/"+brandA, keyB, "")

		// Campaign drafts.
		camp := c.must(201, "POST", "/v1/campaigns", keyA, `{"name":"Autumn launch","budget":{"amount":"500","currency":"EUR"}}`)
		campA := camp["id"].(string)
		if camp["state"] != "draft" || str(camp, "budget", "amount") != "500.000000" {
			t.Fatalf("draft: %v", camp)
		}
		for _, ts := range []string{str(camp, "created_at"), str(ra, "brand", "created_at"), str(rc, "creator", "created_at")} {
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				t.Fatalf("timestamps must be RFC 3339 strings, got %q: %v", ts, err)
			}
		}
		campB := c.must(201, "POST", "/v1/campaigns", keyB, `{"name":"B's","budget":{"amount":"100.50","currency":"USD"}}`)["id"].(string)

		// The state every bad request must leave untouched.
		snapshot := func() string {
			var b strings.Builder
			for _, k := range []struct{ key, camp string }{{keyA, campA}, {keyB, campB}} {
				fmt.Fprintln(&b, c.do("GET", "/v1/campaigns/"+k.camp+"/money", k.key, "").Raw)
				fmt.Fprintln(&b, c.do("GET", "/v1/campaigns/"+k.camp, k.key, "").Raw)
			}
			fmt.Fprintln(&b, c.do("GET", "/v1/creators/"+creator+"/balances", keyC, "").Raw)
			fmt.Fprintln(&b, c.do("GET", "/v1/ledger/transactions", adminToken, "").Raw)
			fmt.Fprintln(&b, c.do("GET", "/v1/campaigns?limit=200", adminToken, "").Raw)
			return b.String()
		}
		before := snapshot()
		bad := []struct {
			status      int
			code, field string
			method      string
			path, key   string
			body        string
		}{
			{400, "invalid_json", "", "POST", "/v1/campaigns", keyA, `{"name":"x","budget":`},
			{400, "invalid_json", "", "POST", "/v1/campaigns", keyA, `{"name":"x"}{"name":"y"}`},
			{400, "invalid_json", "", "POST", "/v1/campaigns", keyA, ``},
			{400, "invalid_json", "", "POST", "/v1/campaigns", keyA, `name=x&budget=5`},
			{400, "unknown_field", "budgett", "POST", "/v1/campaigns", keyA, `{"name":"x","budgett":{"amount":"1","currency":"EUR"}}`},
			{400, "required", "budget", "POST", "/v1/campaigns", keyA, `{"name":"x"}`},
			{400, "negative_amount", "budget.amount", "POST", "/v1/campaigns", keyA, `{"name":"x","budget":{"amount":"-5","currency":"EUR"}}`},
			{400, "too_many_decimals", "budget.amount", "POST", "/v1/campaigns", keyA, `{"name":"x","budget":{"amount":"1.0000001","currency":"EUR"}}`},
			{400, "unknown_currency", "budget.currency", "POST", "/v1/campaigns", keyA, `{"name":"x","budget":{"amount":"5","currency":"XXX"}}`},
			{400, "invalid_amount", "budget.amount", "POST", "/v1/campaigns", keyA, `{"name":"x","budget":{"amount":5,"currency":"EUR"}}`},
			{400, "amount_overflow", "budget.amount", "POST", "/v1/campaigns", keyA, `{"name":"x","budget":{"amount":"99999999999999","currency":"EUR"}}`},
			{400, "invalid_fields", "name", "POST", "/v1/campaigns", keyA, `{"name":"","budget":{"amount":"0","currency":"EUR"}}`},
			{403, "forbidden", "", "POST", "/v1/campaigns", keyC, `{"name":"x","budget":{"amount":"5","currency":"EUR"}}`},
			{401, "unauthorized", "", "POST", "/v1/campaigns", "", `{"name":"x","budget":{"amount":"5","currency":"EUR"}}`},
			{401, "unauthorized", "", "POST", "/v1/campaigns/" + campA + "/fund", keyA + "x", `{"payment":{"reference":"r0"}}`},
			{400, "negative_amount", "amount", "POST", "/v1/campaigns/" + campA + "/fund", keyA, `{"amount":{"amount":"-1","currency":"EUR"},"payment":{"reference":"r0"}}`},
			{400, "too_many_decimals", "amount.amount", "POST", "/v1/campaigns/" + campA + "/fund", keyA, `{"amount":{"amount":"0.0000001","currency":"EUR"},"payment":{"reference":"r0"}}`},
			{400, "unknown_currency", "amount.currency", "POST", "/v1/campaigns/" + campA + "/fund", keyA, `{"amount":{"amount":"1","currency":"eur"},"payment":{"reference":"r0"}}`},
			{400, "currency_mismatch", "amount.currency", "POST", "/v1/campaigns/" + campA + "/fund", keyA, `{"amount":{"amount":"1","currency":"USD"},"payment":{"reference":"r0"}}`},
			{409, "exceeds_budget", "amount", "POST", "/v1/campaigns/" + campA + "/fund", keyA, `{"amount":{"amount":"500.000001","currency":"EUR"},"payment":{"reference":"r0"}}`},
			{400, "required", "payment.reference", "POST", "/v1/campaigns/" + campA + "/fund", keyA, `{"amount":{"amount":"1","currency":"EUR"},"payment":{}}`},
			{400, "unsupported_provider", "payment.provider", "POST", "/v1/campaigns/" + campA + "/fund", keyA, `{"payment":{"provider":"stripe","reference":"r0"}}`},
			{404, "not_found", "", "POST", "/v1/campaigns/" + campA + "/fund", keyB, `{"amount":{"amount":"1","currency":"EUR"},"payment":{"reference":"r0"}}`},
			{404, "not_found", "", "POST", "/v1/campaigns/" + campA + "/fund", keyC, `{"payment":{"reference":"r0"}}`},
			{404, "not_found", "", "GET", "/v1/campaigns/" + campA, keyB, ``},
			{404, "not_found", "", "GET", "/v1/campaigns/" + campA + "/money", keyB, ``},
			{404, "not_found", "", "GET", "/v1/creators/" + creator + "/balances", keyA, ``},
			{400, "out_of_range", "limit", "GET", "/v1/ledger/transactions?limit=0", keyA, ``},
			{404, "not_found", "", "GET", "/v1/nothing-here", keyA, ``},
		}
		for _, b := range bad {
			c.fails(b.status, b.code, b.field, b.method, b.path, b.key, b.body)
		}
		if after := snapshot(); after != before {
			t.Fatalf("bad requests changed state:\nbefore %s\nafter  %s", before, after)
		}

		// Funding: partial, replay, conflicting replay, the rest.
		f1 := c.must(201, "POST", "/v1/campaigns/"+campA+"/fund", keyA, `{"amount":{"amount":"200.000001","currency":"EUR"},"payment":{"reference":"pay-1"}}`)
		if str(f1, "money", "funded", "amount") != "200.000001" || str(f1, "campaign", "state") != "draft" {
			t.Fatalf("first funding: %v", f1)
		}
		f1again := c.must(200, "POST", "/v1/campaigns/"+campA+"/fund", keyA, `{"amount":{"amount":"200.000001","currency":"EUR"},"payment":{"reference":"pay-1"}}`)
		if str(f1again, "payment", "ledger_tx_id") != str(f1, "payment", "ledger_tx_id") || f1again["replayed"] != true {
			t.Fatalf("replay differs: %v vs %v", f1again, f1)
		}
		mid := snapshot()
		c.fails(409, "idempotency_key_reused", "idempotency_key", "POST", "/v1/campaigns/"+campA+"/fund", keyA, `{"amount":{"amount":"1","currency":"EUR"},"payment":{"reference":"pay-1"}}`)
		c.fails(409, "exceeds_budget", "amount", "POST", "/v1/campaigns/"+campA+"/fund", keyA, `{"amount":{"amount":"300","currency":"EUR"},"payment":{"reference":"pay-2"}}`)
		if after := snapshot(); after != mid {
			t.Fatalf("rejected funding changed state")
		}
		f2 := c.must(201, "POST", "/v1/campaigns/"+campA+"/fund", keyA, `{"payment":{"reference":"pay-2"}}`)
		if str(f2, "payment", "amount", "amount") != "299.999999" || str(f2, "campaign", "state") != "funded" {
			t.Fatalf("funding the rest: %v", f2)
		}
		c.must(200, "POST", "/v1/campaigns/"+campA+"/fund", keyA, `{"payment":{"reference":"pay-2"}}`) // retry of "the rest" replays
		c.fails(409, "fully_funded", "", "POST", "/v1/campaigns/"+campA+"/fund", keyA, `{"payment":{"reference":"pay-3"}}`)

		// The pay-per-interaction setup: warnings come with the campaign,
		// every bad field is reported at once, and nothing changes then.
		setupOK := `{"goal":{"primary":"roas","primary_target":"3"},
			"brief":{"product":"Cold brew","message":"Your morning, slower","required_hashtags":["ColdBrew"],"landing_url":"https://acme.example/cold"},
			"prices":{"like":"0.02"},"ends_at":"2030-01-01T00:00:00Z","eligibility":{"platforms":["sandbox"]}}`
		cs := c.must(200, "PUT", "/v1/campaigns/"+campA+"/setup", keyA, setupOK)
		if str(cs, "setup", "prices", "like") != "0.020000" || str(cs, "setup", "brief", "disclosure") != "#ad" {
			t.Fatalf("stored setup: %v", cs["setup"])
		}
		ws, _ := cs["warnings"].([]any)
		if len(ws) != 1 || ws[0].(map[string]any)["code"] != "only_likes_priced" {
			t.Fatalf("warnings: %v", cs["warnings"])
		}
		got := c.must(200, "GET", "/v1/campaigns/"+campA, keyA, "")
		tags, _ := got["setup"].(map[string]any)["brief"].(map[string]any)["required_hashtags"].([]any)
		if len(tags) != 1 || tags[0] != "#coldbrew" || len(got["warnings"].([]any)) != 1 {
			t.Fatalf("setup read back: %v, warnings %v", got["setup"], got["warnings"])
		}
		beforeSetup := snapshot()
		r := c.do("PUT", "/v1/campaigns/"+campA+"/setup", keyA, `{"brief":{"product":"","message":"m","landing_url":"ftp://x"},"prices":{"like":"-1"},"ends_at":"2000-01-01T00:00:00Z"}`)
		if r.Status != 400 {
			t.Fatalf("bad setup: %d %s", r.Status, r.Raw)
		}
		fields := map[string]bool{}
		for _, f := range r.Body["error"].(map[string]any)["fields"].([]any) {
			fields[f.(map[string]any)["field"].(string)] = true
		}
		for _, want := range []string{"brief.product", "brief.landing_url", "prices.like"} {
			if !fields[want] {
				t.Errorf("bad setup: field %s not reported in %v", want, fields)
			}
		}
		c.fails(400, "too_many_decimals", "prices.view", "PUT", "/v1/campaigns/"+campA+"/setup", keyA, `{"prices":{"view":"0.0000001"}}`)
		c.fails(400, "unknown_field", "", "PUT", "/v1/campaigns/"+campA+"/setup", keyA, `{"pricez":{}}`)
		c.fails(404, "not_found", "", "PUT", "/v1/campaigns/"+campA+"/setup", keyB, setupOK)
		if after := snapshot(); after != beforeSetup {
			t.Fatalf("rejected setups changed state")
		}

		// First campaign of brand A: reduced fee. A second one: the standard fee.
		m := c.must(200, "GET", "/v1/campaigns/"+campA+"/money", keyA, "")
		if m["fee_bps"] != 1000.0 || m["reduced_fee"] != true || str(m, "funded", "amount") != "500.000000" || str(m, "remaining", "amount") != "500.000000" {
			t.Fatalf("money A: %v", m)
		}
		campA2 := c.must(201, "POST", "/v1/campaigns", keyA, `{"name":"Winter","budget":{"amount":"50","currency":"EUR"}}`)["id"].(string)
		c.must(201, "POST", "/v1/campaigns/"+campA2+"/fund", keyA, `{"payment":{"reference":"pay-w"}}`)
		if m := c.must(200, "GET", "/v1/campaigns/"+campA2+"/money", keyA, ""); m["fee_bps"] != 2000.0 || m["reduced_fee"] != false {
			t.Fatalf("money A2: %v", m)
		}

		// Accrue through the ledger on the same database, as the engagement
		// pipeline will: the API must show it to the micro-unit.
		db := storetest.Open(t, dbURL)
		l, err := ledger.New(db, clock.System{}, ledger.DefaultConfig)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Accrue(context.Background(), campA, ledger.AccrueItem{Key: "e2e-acc", CreatorID: creator, Amount: 123_456_789}); err != nil {
			t.Fatal(err)
		}
		m = c.must(200, "GET", "/v1/campaigns/"+campA+"/money", keyA, "")
		want := map[string]string{"spent": "123.456789", "fees": "12.345678", "creator_earnings": "111.111111", "remaining": "376.543211"}
		for k, v := range want {
			if got := str(m, k, "amount"); got != v {
				t.Errorf("%s = %s, want %s", k, got, v)
			}
		}
		bal := c.must(200, "GET", "/v1/creators/"+creator+"/balances", keyC, "")
		eur := bal["balances"].([]any)[0].(map[string]any)
		if str(eur, "held", "amount") != "111.111111" || str(eur, "available", "amount") != "0.000000" {
			t.Fatalf("creator balances: %v", bal)
		}

		// Each tenant lists only its own transactions.
		txA := c.must(200, "GET", "/v1/ledger/transactions", keyA, "")["data"].([]any)
		txB := c.must(200, "GET", "/v1/ledger/transactions", keyB, "")["data"].([]any)
		txC := c.must(200, "GET", "/v1/ledger/transactions", keyC, "")["data"].([]any)
		if len(txA) != 4 || len(txB) != 0 || len(txC) != 1 {
			t.Fatalf("transactions: brand A %d (want 4), brand B %d (want 0), creator %d (want 1)", len(txA), len(txB), len(txC))
		}
		for _, tx := range txA {
			sum := map[string]int64{}
			for _, e := range tx.(map[string]any)["entries"].([]any) {
				a := e.(map[string]any)["amount"].(map[string]any)
				sum[a["currency"].(string)] += microsOf(t, a["amount"].(string))
			}
			for cur, s := range sum {
				if s != 0 {
					t.Errorf("transaction %v: %s entries sum to %d", tx.(map[string]any)["id"], cur, s)
				}
			}
		}
		page1 := c.must(200, "GET", "/v1/ledger/transactions?limit=3", keyA, "")
		if len(page1["data"].([]any)) != 3 || page1["next_before"] == nil {
			t.Fatalf("page 1: %v", page1)
		}
		page2 := c.must(200, "GET", "/v1/ledger/transactions?limit=3&before="+page1["next_before"].(string), keyA, "")
		if len(page2["data"].([]any)) != 1 {
			t.Fatalf("page 2: %v", page2)
		}
		if cs := c.must(200, "GET", "/v1/campaigns", keyA, "")["data"].([]any); len(cs) != 2 {
			t.Fatalf("brand A sees %d campaigns, want 2", len(cs))
		}
	})
}

func microsOf(t *testing.T, s string) int64 {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var v int64
	for _, ch := range whole + (frac + "000000")[:6] {
		v = v*10 + int64(ch-'0')
	}
	if neg {
		v = -v
	}
	return v
}
