package api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"github.com/payper/payper/internal/store/storetest"
)

// wantUnavailable checks a 503 with code want and a Retry-After in seconds.
func wantUnavailable(t *testing.T, a answer, code string) {
	t.Helper()
	if a.Status != http.StatusServiceUnavailable || a.errCode() != code {
		t.Fatalf("answered %d %s, want 503 %s: %s", a.Status, a.errCode(), code, a.Raw)
	}
	if n, err := strconv.Atoi(a.Header.Get("Retry-After")); err != nil || n <= 0 {
		t.Fatalf("Retry-After = %q, want a number of seconds", a.Header.Get("Retry-After"))
	}
}

// TestSQLiteFullAnswers503 fills the SQLite database for real
// (max_page_count caps the file at its size, so SQLite itself fails the
// write with SQLITE_FULL, as on a full disk): /readyz turns 503, and writes
// answer 503 unavailable with Retry-After — never 500 — and store nothing.
func TestSQLiteFullAnswers503(t *testing.T) {
	a := openApp(t, storetest.SQLiteURL(t))
	h := a.Handler
	must(t, h, 200, "GET", "/readyz", "", "")
	ctx := context.Background()
	w := a.DB.Writer()
	// No free pages left to reuse, then no page may be added.
	if _, err := w.ExecContext(ctx, `VACUUM`); err != nil {
		t.Fatal(err)
	}
	var pages int64
	if err := w.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `PRAGMA max_page_count = `+strconv.FormatInt(pages, 10)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = w.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`) })

	r := call(t, h, "GET", "/readyz", "", "")
	wantUnavailable(t, r, "not_ready")
	if msg := str(r.Body, "error", "message"); msg != "database cannot take writes: disk full" {
		t.Fatalf("/readyz message %q", msg)
	}
	must(t, h, 200, "GET", "/healthz", "", "")

	var before int
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM brands`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	// The pages left hold a few more small rows; the file fills within a
	// few hundred brands, each answered 201 or 503.
	created, full := 0, false
	for i := 0; i < 2000 && !full; i++ {
		r := call(t, h, "POST", "/v1/brands", testAdmin, `{"name":"Brand `+strconv.Itoa(i)+` with a name long enough to fill pages quickly, quickly, quickly"}`)
		switch r.Status {
		case http.StatusCreated:
			created++
		case http.StatusServiceUnavailable:
			wantUnavailable(t, r, "unavailable")
			full = true
		default:
			t.Fatalf("brand %d: %d: %s", i, r.Status, r.Raw)
		}
	}
	if !full {
		t.Fatal("2000 brands fitted in a full database")
	}
	var after int
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM brands`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before+created {
		t.Fatalf("brands %d → %d with %d created: the refused write stored something", before, after, created)
	}
	// Room again: ready again.
	if _, err := w.ExecContext(ctx, `PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	must(t, h, 200, "GET", "/readyz", "", "")
	must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"After"}`)
}

// TestSQLiteLowDiskNotReady checks the free-space half of the write check:
// with less free space than the minimum, /readyz is 503 disk full.
func TestSQLiteLowDiskNotReady(t *testing.T) {
	a := openApp(t, storetest.SQLiteURL(t))
	must(t, a.Handler, 200, "GET", "/readyz", "", "")
	a.DB.MinFreeBytes = 1 << 62 // more than any disk has free
	r := call(t, a.Handler, "GET", "/readyz", "", "")
	wantUnavailable(t, r, "not_ready")
	if msg := str(r.Body, "error", "message"); msg != "database cannot take writes: disk full" {
		t.Fatalf("/readyz message %q", msg)
	}
}

// proxy forwards TCP connections to target until it is cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.cutOff)
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cutOff closes the listener and every connection: the database is gone.
func (p *proxy) cutOff() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestPostgresGoneAnswers503 points the app at PostgreSQL through a proxy
// and cuts it: writes (and reads) answer 503 unavailable with Retry-After,
// not 500, and /readyz is 503.
func TestPostgresGoneAnswers503(t *testing.T) {
	raw := storetest.PostgresURL(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := newProxy(t, host)
	u.Host = p.ln.Addr().String()
	a := openApp(t, u.String())
	h := a.Handler
	b := must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Before"}`)
	brandKey := str(b, "api_key")
	must(t, h, 200, "GET", "/readyz", "", "")

	p.cutOff()
	wantUnavailable(t, call(t, h, "POST", "/v1/brands", testAdmin, `{"name":"During"}`), "unavailable")
	wantUnavailable(t, call(t, h, "POST", "/v1/campaigns", brandKey, `{"name":"C","budget":{"amount":"10","currency":"EUR"}}`), "unavailable")
	wantUnavailable(t, call(t, h, "GET", "/readyz", "", ""), "not_ready")
	must(t, h, 200, "GET", "/healthz", "", "")
}
