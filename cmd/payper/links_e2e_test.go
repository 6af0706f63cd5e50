package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// TestLinksEndToEnd runs "payper serve", builds a campaign with an accepted
// and a pending creator over HTTP, makes a link, checks the API's errors,
// follows the link as browsers and bots, stops the server as SIGTERM does
// (the clicks still buffered must be written then) and reads the counts
// from a second server on the same database.
func TestLinksEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		ctx, cancel := context.WithCancel(context.Background())
		out := &lineWriter{addr: make(chan string, 1)}
		done := make(chan error, 1)
		env := map[string]string{"PAYPER_ADMIN_TOKEN": adminToken, "PAYPER_LOG_LEVEL": "error", "PAYPER_COUNTRY_HEADER": "CF-IPCountry"}
		go func() {
			done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dbURL}, func(k string) string { return env[k] }, out, io.Discard)
		}()
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("server exited with %v after shutdown", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("server did not shut down within 20s")
			}
		}
		t.Cleanup(stop)
		var base string
		select {
		case addr := <-out.addr:
			base = "http://" + addr
		case err := <-done:
			t.Fatalf("server exited before listening: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("server did not start within 30s")
		}
		c := client{t: t, base: base}
		w := &ppiWorld{c: c, admin: adminToken, creators: map[string]string{}, ids: map[string]string{}}
		w.brand = str(c.must(201, "POST", "/v1/brands", w.admin, `{"name":"Glow Labs"}`), "api_key")
		other := str(c.must(201, "POST", "/v1/brands", w.admin, `{"name":"Other"}`), "api_key")
		w.campaign = str(c.must(201, "POST", "/v1/campaigns", w.brand, `{"name":"Summer Serum 2026","budget":{"amount":"60","currency":"EUR"}}`), "id")
		now := time.Now().UTC()
		c.must(200, "PUT", "/v1/campaigns/"+w.campaign+"/setup", w.brand, fmt.Sprintf(`{
			"goal": {"primary": "roas", "primary_target": "3"},
			"brief": {"product": "Glow serum", "message": "Morning routine", "landing_url": "https://glow.example/serum?ref=payper#buy"},
			"prices": {"like": "0.05"}, "starts_at": %q, "ends_at": %q,
			"eligibility": {"platforms": ["sandbox"]}}`, now.Format(time.RFC3339Nano), now.Add(30*24*time.Hour).Format(time.RFC3339)))
		c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/fund", w.brand, `{"payment":{"reference":"pay-1"}}`)
		c.must(200, "POST", "/v1/campaigns/"+w.campaign+"/open", w.brand, "")
		for _, h := range []string{"ana", "ben"} {
			rc := c.must(201, "POST", "/v1/creators", w.admin, fmt.Sprintf(`{"name":%q,"country":"DE"}`, h))
			w.creators[h], w.ids[h] = str(rc, "api_key"), str(rc, "creator", "id")
			c.must(201, "POST", "/sandbox/driver/accounts", w.admin, fmt.Sprintf(`{"handle":%q,"followers":4000}`, h))
			w.connect(t, h)
			app := c.must(201, "POST", "/v1/campaigns/"+w.campaign+"/applications", w.creators[h], `{"pitch":"I love serums"}`)
			if h == "ana" {
				c.must(200, "POST", "/v1/applications/"+str(app, "id")+"/accept", w.brand, "")
			}
		}

		path := "/v1/campaigns/" + w.campaign + "/links"
		c.fails(400, "unknown_creator", "creator_id", "POST", path, w.brand, `{"creator_id":"crt_00000000000000000000000000","placement":"bio"}`)
		c.fails(400, "not_accepted", "creator_id", "POST", path, w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"bio"}`, w.ids["ben"]))
		c.fails(400, "invalid", "placement", "POST", path, w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"My Bio"}`, w.ids["ana"]))
		c.fails(400, "invalid", "destination", "POST", path, w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"bio","destination":"http://glow.example"}`, w.ids["ana"]))
		c.fails(400, "invalid", "medium", "POST", path, w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"bio","medium":"tv"}`, w.ids["ana"]))
		c.fails(404, "not_found", "", "POST", path, other, fmt.Sprintf(`{"creator_id":%q,"placement":"bio"}`, w.ids["ana"]))
		c.fails(404, "not_found", "", "POST", path, w.creators["ana"], fmt.Sprintf(`{"creator_id":%q,"placement":"bio"}`, w.ids["ana"]))
		c.fails(404, "not_found", "", "GET", path, other, "")
		if n := len(c.must(200, "GET", path, w.brand, "")["data"].([]any)); n != 0 {
			t.Fatalf("%d links after the errors, want 0", n)
		}
		link := c.must(201, "POST", path, w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"bio"}`, w.ids["ana"]))
		c.fails(409, "link_exists", "", "POST", path, w.brand, fmt.Sprintf(`{"creator_id":%q,"placement":"bio"}`, w.ids["ana"]))
		slug := str(link, "slug")
		if str(link, "short_url") != base+"/r/"+slug || str(link, "utm_source") != "ana" || str(link, "utm_campaign") != "summer-serum-2026" {
			t.Fatalf("link %v", link)
		}
		if mine := c.must(200, "GET", "/v1/creator/links", w.creators["ana"], "")["data"].([]any); len(mine) != 1 {
			t.Fatalf("ana's links: %v", mine)
		}
		if mine := c.must(200, "GET", "/v1/creator/links", w.creators["ben"], "")["data"].([]any); len(mine) != 0 {
			t.Fatalf("ben's links: %v", mine)
		}

		browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		follow := func(method, ua, query string) *http.Response {
			t.Helper()
			req, _ := http.NewRequest(method, base+"/r/"+slug+query, nil)
			req.Header.Set("User-Agent", ua)
			req.Header.Set("CF-IPCountry", "FR")
			resp, err := browser.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
		resp := follow("GET", iphone, "?gclid=abc&utm_source=spoof")
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("Referrer-Policy") == "" {
			t.Fatalf("redirect: %d %v", resp.StatusCode, resp.Header)
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		if loc.Host != "glow.example" || loc.Path != "/serum" || loc.Fragment != "buy" || q.Get("ref") != "payper" ||
			q.Get("utm_source") != "ana" || q.Get("utm_medium") != "influencer" || q.Get("utm_campaign") != "summer-serum-2026" ||
			q.Get("utm_content") != "bio" || len(q.Get("click_id")) != 24 || q.Get("gclid") != "abc" || len(q["utm_source"]) != 1 {
			t.Fatalf("Location %s", loc)
		}
		if r := follow("HEAD", iphone, ""); r.StatusCode != http.StatusFound {
			t.Fatalf("HEAD: %d", r.StatusCode)
		}
		if r := follow("GET", "facebookexternalhit/1.1", ""); r.StatusCode != http.StatusFound {
			t.Fatalf("preview: %d", r.StatusCode)
		}
		r := c.do("GET", "/r/nosuchslug", "", "")
		if e, _ := r.Body["error"].(map[string]any); r.Status != 404 || e["code"] != "not_found" {
			t.Fatalf("unknown slug: %d %s", r.Status, r.Raw)
		}
		// Many browsers (distinct user agents, so each is unique), fast
		// enough that some are still buffered when the server stops.
		const browsers = 200
		for i := range browsers {
			follow("GET", fmt.Sprintf("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0.%d Safari/537.36", i), "")
		}
		follow("GET", iphone, "") // the first visitor again: not unique
		stop()

		c2 := client{t: t, base: startServer(t, dbURL)}
		got := c2.must(200, "GET", path, w.brand, "")["data"].([]any)
		clicks := got[0].(map[string]any)["clicks"].(map[string]any)
		if clicks["human"] != float64(browsers+2) || clicks["bot"] != float64(2) || clicks["unique"] != float64(browsers+1) {
			t.Fatalf("clicks after a graceful restart: %v", clicks)
		}
	})
}
