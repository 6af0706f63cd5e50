package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/links/linkstest"
	"github.com/payper/payper/internal/store/storetest"
)

// openRedirectApp builds the whole app on the database at url behind a
// trusted proxy that sets CF-IPCountry, with one seeded link; it is closed
// when t ends.
func openRedirectApp(t testing.TB, dbURL string) (*app.App, linkstest.Link) {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{DatabaseURL: dbURL, AdminToken: testAdmin, NoPeriodicJobs: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://payper.test",
		Links: links.Config{TrustProxy: true, CountryHeader: "CF-IPCountry",
			Recorder: links.RecorderOptions{RetryMin: 1e6, RetryMax: 1e6}}}) // 1 ms
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a, linkstest.SeedLink(t, a.DB)
}

// visit is one request for a short link; the path and headers are taken
// as given, bytes a client cannot send through net/http included.
type visit struct {
	path, query                       string
	ua, referer, xff, country, remote string
}

func (v visit) serve(h http.Handler) *httptest.ResponseRecorder {
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
	req.URL = &url.URL{Path: v.path, RawQuery: v.query}
	req.RequestURI = ""
	req.RemoteAddr = v.remote
	for k, val := range map[string]string{"User-Agent": v.ua, "Referer": v.referer, "X-Forwarded-For": v.xff, "CF-IPCountry": v.country} {
		if val != "" {
			req.Header[http.CanonicalHeaderKey(k)] = []string{val}
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// storedClick is one clicks row's request-derived fields.
type storedClick struct{ visitor, country, device, referrer string }

func clickByID(t testing.TB, a *app.App, clickID string) (storedClick, int) {
	t.Helper()
	rows, err := a.DB.Read().QueryContext(context.Background(),
		`SELECT visitor, country, device, referrer_host FROM clicks WHERE click_id = $1`, clickID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var c storedClick
	n := 0
	for rows.Next() {
		if err := rows.Scan(&c.visitor, &c.country, &c.device, &c.referrer); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return c, n
}

// checkRedirect fails t unless rec is a 302 to l's destination with its
// UTMs and a click id of l, and returns the click id.
func checkRedirect(t testing.TB, rec *httptest.ResponseRecorder, l linkstest.Link) string {
	t.Helper()
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusFound {
		t.Fatalf("status %d (%s), want 302", rec.Code, rec.Body.String())
	}
	if strings.ContainsAny(loc, "\x00\r\n") || !utf8.ValidString(loc) {
		t.Fatalf("Location %q is not a valid header value", loc)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	q := u.Query()
	want := map[string]string{"ref": "x", "utm_source": l.UTMSource, "utm_medium": links.MediumInfluencer,
		"utm_campaign": l.UTMCampaign, "utm_content": l.Placement}
	for k, v := range want {
		if got := q[k]; len(got) != 1 || got[0] != v {
			t.Fatalf("Location %s: %s = %q, want [%q]", loc, k, got, v)
		}
	}
	if u.Scheme != "https" || u.Host != "shop.example" || u.Path != "/glow" {
		t.Fatalf("Location %s is not the link's destination", loc)
	}
	clickID := q.Get("click_id")
	if ref, ok := links.ParseClickID(clickID, time.Now().Add(time.Minute)); !ok || ref.Slug != l.Slug || len(q["click_id"]) != 1 {
		t.Fatalf("Location %s: click_id %q is not one of link %s", loc, clickID, l.Slug)
	}
	return clickID
}

// checkClickFields fails t unless c's fields are valid UTF-8 without NUL.
func checkClickFields(t testing.TB, c storedClick) {
	t.Helper()
	for _, f := range []string{c.visitor, c.country, c.device, c.referrer} {
		if !utf8.ValidString(f) || strings.IndexByte(f, 0) >= 0 {
			t.Fatalf("stored click %+v has a field with NUL or invalid UTF-8", c)
		}
	}
}

// flushClicks flushes the app's click recorder until a flush succeeds (an
// attempt begun while clicks were refused may fail after), at most 50 times.
func flushClicks(t testing.TB, a *app.App) {
	t.Helper()
	var err error
	for range 50 {
		if err = a.Links.Recorder.Flush(context.Background()); err == nil {
			return
		}
	}
	t.Fatalf("clicks not written: %v", err)
}

// TestRedirectBadBytes sends short-link requests with NUL bytes, invalid
// UTF-8 and overlong slugs: a slug that cannot exist answers 404
// not_found without the database seeing it, and a real link's redirect
// with such bytes in its user agent, referrer, X-Forwarded-For, country
// header or query answers its 302, and its click is stored with valid
// fields (PostgreSQL refuses NUL and invalid UTF-8 in text).
func TestRedirectBadBytes(t *testing.T) {
	t.Parallel()
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		a, l := openRedirectApp(t, dbURL)
		for _, p := range []string{"/r/\x00", "/r/ab\x00cd", "/r/\xff\xfe", "/r/" + l.Slug + "\x00", "/r/" + strings.Repeat("a", 65),
			"/r/caf\u00e9", "/r/" + l.Slug + "\xc3", "/r/nosuchslug"} {
			rec := visit{path: p, ua: "Mozilla/5.0", remote: "192.0.2.1:4000"}.serve(a.Handler)
			if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `"code":"not_found"`) {
				t.Fatalf("GET %q: %d %s, want 404 not_found", p, rec.Code, rec.Body.String())
			}
		}
		for _, raw := range []string{"/r/%00", "/r/%00%ff?x=1", "/r/" + l.Slug + "%00"} {
			rec := httptest.NewRecorder()
			a.Handler.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, raw, nil))
			if rec.Code != http.StatusNotFound {
				t.Fatalf("GET %s: %d %s, want 404", raw, rec.Code, rec.Body.String())
			}
		}
		cases := []struct {
			name string
			v    visit
			ref  string // the referrer host stored
		}{
			{"NUL everywhere", visit{query: "a=%00&b=%ff&utm_source=evil&c=\x00", ua: "Mozilla/5.0 (iPhone) \x00\xff\xfe",
				referer: "https://ex\x00ample.com/p", xff: "\x00, 203.0.113.9\xff", country: "D\x00", remote: "192.0.2.1:4000"}, ""},
			{"Latin-1 referrer", visit{ua: "Mozilla/5.0 (Macintosh)", referer: "https://b\xfccher.example/", xff: "203.0.113.9", remote: "192.0.2.1:4000"}, ""},
			{"UTF-8 referrer", visit{ua: "Mozilla/5.0 (Macintosh)", referer: "https://b\u00fccher.example/x", remote: "[2001:db8::1]:4000"}, "b\u00fccher.example"},
			{"control character in referrer", visit{ua: "Mozilla/5.0", referer: "https://a\tb.example/", remote: "bogus"}, ""},
			{"plain", visit{ua: "Mozilla/5.0", referer: "https://WWW.Instagram.com/maria", country: "de", remote: "192.0.2.1:4000"}, "www.instagram.com"},
		}
		ids := make([]string, len(cases))
		for i, c := range cases {
			c.v.path = "/r/" + l.Slug
			ids[i] = checkRedirect(t, c.v.serve(a.Handler), l)
		}
		flushClicks(t, a)
		for i, c := range cases {
			got, n := clickByID(t, a, ids[i])
			if n != 1 {
				t.Fatalf("%s: click stored %d times, want once", c.name, n)
			}
			checkClickFields(t, got)
			if got.referrer != c.ref {
				t.Fatalf("%s: referrer host %q, want %q", c.name, got.referrer, c.ref)
			}
		}
		if got, _ := clickByID(t, a, ids[len(ids)-1]); got.country != "DE" {
			t.Fatalf("country %q, want DE", got.country)
		}
		if got, _ := clickByID(t, a, ids[0]); got.country != "" {
			t.Fatalf("country %q from a header with NUL, want none", got.country)
		}
		if d := a.Links.Recorder.Dropped(); d != 0 {
			t.Fatalf("%d clicks dropped", d)
		}
	})
}

// TestReadyzNamesClickRecorder refuses clicks in the database: /readyz
// answers 503 naming the click recorder and how many clicks wait, the
// metrics show them, and once the database takes clicks again the click is
// stored once and /readyz answers 200.
func TestReadyzNamesClickRecorder(t *testing.T) {
	t.Parallel()
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		a, l := openRedirectApp(t, dbURL)
		must(t, a.Handler, 200, "GET", "/readyz", "", "")
		restore := linkstest.RefuseClicks(t, a.DB)
		id := checkRedirect(t, visit{path: "/r/" + l.Slug, ua: "Mozilla/5.0", remote: "192.0.2.1:4000"}.serve(a.Handler), l)
		if err := a.Links.Recorder.Flush(context.Background()); err == nil {
			t.Fatal("flush succeeded while the database refuses clicks")
		}
		r := call(t, a.Handler, "GET", "/readyz", "", "")
		e, _ := r.Body["error"].(map[string]any)
		msg, _ := e["message"].(string)
		if r.Status != http.StatusServiceUnavailable || r.errCode() != "not_ready" ||
			!strings.HasPrefix(msg, "click recorder: ") || !strings.Contains(msg, "1 clicks waiting") {
			t.Fatalf("/readyz while clicks are refused: %d %s", r.Status, r.Raw)
		}
		m := call(t, a.Handler, "GET", "/metrics", testAdmin, "").Raw
		if !strings.Contains(m, "\npayper_clicks_pending 1\n") || strings.Contains(m, "\npayper_click_writes_failing_since_seconds 0\n") ||
			!strings.Contains(m, "\npayper_click_writes_failing_since_seconds ") {
			t.Fatalf("metrics while clicks are refused:\n%s", m)
		}
		restore()
		flushClicks(t, a)
		must(t, a.Handler, 200, "GET", "/readyz", "", "")
		if _, n := clickByID(t, a, id); n != 1 {
			t.Fatalf("click stored %d times, want once", n)
		}
		m = call(t, a.Handler, "GET", "/metrics", testAdmin, "").Raw
		if !strings.Contains(m, "\npayper_clicks_pending 0\n") || !strings.Contains(m, "\npayper_click_writes_failing_since_seconds 0\n") {
			t.Fatalf("metrics after recovery:\n%s", m)
		}
	})
}

// FuzzRedirect sends GET /r/{slug}?{query} through the whole app (SQLite)
// with fuzzed user agent, referrer, X-Forwarded-For and country; when own
// is true the slug is the seeded link's. The answer is a 302 to the link's
// destination with its UTMs and a click id of its own exactly when the
// slug is the link's, else a 404 (or the mux's redirect to a cleaned
// path); the click of a 302 is stored once with valid UTF-8 fields free of
// NUL.
func FuzzRedirect(f *testing.F) {
	a, l := openRedirectApp(f, storetest.SQLiteURL(f))
	f.Add(true, "", "gclid=abc&utm_source=evil", "Mozilla/5.0 (iPhone)", "https://www.instagram.com/maria", "1.1.1.1, 203.0.113.7", "de")
	f.Add(false, "\x00", "", "", "", "", "")
	f.Add(true, "", "a=%00&b=%ff;c", "\xff\xfe", "https://ex\x00ample.com/", "\x00", "D\x00")
	f.Add(false, l.Slug+"/x", "", "curl/8.0", "", "", "")
	f.Add(false, "../v1/campaigns", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, own bool, slug, query, ua, referer, xff, country string) {
		if own {
			slug = l.Slug
		}
		p := "/r/" + slug
		rec := visit{path: p, query: query, ua: ua, referer: referer, xff: xff, country: country, remote: "192.0.2.1:4000"}.serve(a.Handler)
		switch {
		case slug == l.Slug:
			id := checkRedirect(t, rec, l)
			flushClicks(t, a)
			c, n := clickByID(t, a, id)
			if n != 1 {
				t.Fatalf("click %s stored %d times", id, n)
			}
			checkClickFields(t, c)
		case (rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect) && path.Clean(p) != p:
		case rec.Code != http.StatusNotFound:
			t.Fatalf("GET %q: %d %s, want 404", p, rec.Code, rec.Body.String())
		}
	})
}
