package api_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payper/payper/internal/api"
	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/id"
)

// fuzzApp is a whole app on SQLite behind a real listener (the sandbox's
// connect flow calls back into it over HTTP), with an admin, a brand, a
// creator and a campaign.
type fuzzApp struct {
	*app.App
	keys     [3]string // admin, brand, creator
	campaign string
}

func newFuzzApp(f *testing.F) *fuzzApp {
	f.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	a, err := app.Open(context.Background(), app.Config{DatabaseURL: filepath.Join(f.TempDir(), "payper.db"), AdminToken: testAdmin,
		NoPeriodicJobs: true, Sandbox: true, PublicURL: "http://" + ln.Addr().String(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(a.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	f.Cleanup(func() { srv.Close(); _ = a.Close() })
	h := a.Handler
	fa := &fuzzApp{App: a}
	fa.keys[0] = testAdmin
	fa.keys[1] = str(must(f, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
	fa.keys[2] = str(must(f, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Mia"}`), "api_key")
	fa.campaign = str(must(f, h, 201, "POST", "/v1/campaigns", fa.keys[1], `{"name":"Glow","budget":{"amount":"500","currency":"EUR"}}`), "id")
	return fa
}

// counts returns the number of rows of every table.
func (fa *fuzzApp) counts(t testing.TB) map[string]int {
	t.Helper()
	ctx := context.Background()
	rows, err := fa.DB.Read().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]int{}
	for _, tb := range tables {
		var n int
		if err := fa.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM "`+tb+`"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}

// fieldCodes are error codes that are always one field's fault.
var fieldCodes = map[string]bool{"invalid_text": true, "invalid_type": true, "unknown_field": true, "required": true,
	"too_long": true, "invalid_cursor": true, "too_many_decimals": true, "unknown_currency": true, "negative_amount": true}

// writeRoutes returns the routes that change state, but the engagement tick
// (it waits for a job queue the fuzz app does not run).
func writeRoutes() []api.Route {
	var out []api.Route
	for _, rt := range (&api.Server{}).Routes() {
		if rt.Method != http.MethodGet && !strings.Contains(rt.Pattern, "tick") {
			out = append(out, rt)
		}
	}
	return out
}

// fillPath puts the campaign's id in a campaign route, a fresh well-formed
// id in other ids, and "sandbox" elsewhere.
func (fa *fuzzApp) fillPath(pattern string) string {
	var b strings.Builder
	for rest := pattern; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		j := strings.IndexByte(rest, '}')
		b.WriteString(rest[:i])
		switch name := rest[i+1 : j]; {
		case name == "id" && strings.HasPrefix(pattern, "/v1/campaigns/"):
			b.WriteString(fa.campaign)
		case name == "id" || strings.HasSuffix(name, "_id"):
			b.WriteString(id.New("zzz"))
		default:
			b.WriteString("sandbox")
		}
		rest = rest[j+1:]
	}
}

// FuzzWriteRoutes sends fuzzed JSON to a write route chosen from the route
// table, as the admin, a brand or a creator, through the whole app on
// SQLite: nothing answers 500; every 4xx has a code and a message, and a
// field when the code says one field is at fault (a body that is not an
// object at all is the body's fault); and a 4xx changes no row of any
// table.
func FuzzWriteRoutes(f *testing.F) {
	routes := writeRoutes()
	for i := range routes {
		f.Add(uint8(i), uint8(1), []byte(`{}`))
		f.Add(uint8(i), uint8(i), []byte(`{"name":"a\u0000b","amount":{"amount":"1","currency":"EUR"},"payment":{"reference":"r"}}`))
	}
	f.Add(uint8(0), uint8(1), []byte(`{"name":"Glow","budget":{"amount":"500.1234567","currency":"EUR"}}`))
	f.Add(uint8(0), uint8(2), []byte(`{"pitch":"me","label":"x\ty"}`))
	f.Add(uint8(3), uint8(0), []byte(`[1,2,{"a":"\ud800"}]`))
	fa := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, route, who uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		path := fa.fillPath(rt.Pattern)
		before := fa.counts(t)
		r := call(t, fa.Handler, rt.Method, path, fa.keys[int(who)%3], string(body))
		if r.Status >= 500 {
			t.Fatalf("%s %s %q: %d %s", rt.Method, path, body, r.Status, r.Raw)
		}
		if r.Status < 400 {
			return
		}
		e, _ := r.Body["error"].(map[string]any)
		if e == nil || e["code"] == "" || e["message"] == "" {
			t.Fatalf("%s %s %q: %d without a code and message: %s", rt.Method, path, body, r.Status, r.Raw)
		}
		isObject := strings.HasPrefix(strings.TrimSpace(string(body)), "{")
		if fieldCodes[r.errCode()] && r.errField() == "" && (isObject || r.errCode() != "invalid_type") {
			t.Fatalf("%s %s %q: %s names no field: %s", rt.Method, path, body, r.errCode(), r.Raw)
		}
		after := fa.counts(t)
		for tb, n := range before {
			if after[tb] != n {
				t.Fatalf("%s %s %q answered %d but table %s went from %d to %d rows", rt.Method, path, body, r.Status, tb, n, after[tb])
			}
		}
	})
}

// FuzzConnectCallback sends fuzzed OAuth callback parameters to GET
// /v1/connect/callback, with a made-up state or with the state of a connect
// flow just started: nothing answers 500, a state that was never issued is a
// 4xx, and no account is written (no code the fuzzer makes is one the
// platform issued).
func FuzzConnectCallback(f *testing.F) {
	f.Add("", "", "", false)
	f.Add("st", "code", "", false)
	f.Add("", "code", "access_denied", true)
	f.Add("x", "not-a-code", "", true)
	f.Add("a\x00b", "c\x00d", "e\x00", true)
	f.Add(strings.Repeat("s", 300), "c", "invalid_scope", false)
	fa := newFuzzApp(f)
	h := fa.Handler
	must(f, h, 201, "POST", "/sandbox/driver/accounts", testAdmin, `{"handle":"mia","followers":4000}`)
	f.Fuzz(func(t *testing.T, state, code, errParam string, real bool) {
		if real {
			conn := must(t, h, 201, "POST", "/v1/creator/connections", fa.keys[2], `{"platform":"sandbox","handle":"mia"}`)
			u, err := url.Parse(str(conn, "authorize_url"))
			if err != nil {
				t.Fatal(err)
			}
			state = u.Query().Get("state")
		}
		q := url.Values{}
		for k, v := range map[string]string{"state": state, "code": code, "error": errParam} {
			if v != "" {
				q.Set(k, v)
			}
		}
		before := fa.counts(t)["creator_accounts"]
		r := call(t, h, "GET", "/v1/connect/callback?"+q.Encode(), "", "")
		if r.Status >= 500 && r.Status != http.StatusServiceUnavailable {
			t.Fatalf("callback %v: %d %s", q, r.Status, r.Raw)
		}
		if !real && (r.Status < 400 || r.Status >= 500) {
			t.Fatalf("callback with a state never issued %v: %d %s", q, r.Status, r.Raw)
		}
		if r.Status >= 400 && r.errCode() == "" {
			t.Fatalf("callback %v: %d without a code: %s", q, r.Status, r.Raw)
		}
		if after := fa.counts(t)["creator_accounts"]; after != before {
			t.Fatalf("callback %v answered %d and wrote %d accounts", q, r.Status, after-before)
		}
	})
}
