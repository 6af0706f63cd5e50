package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store/storetest"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return out.String(), errb.String(), err
}

func TestCLIMigrateVersionKeys(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cli.db")
	env := map[string]string{"PAYPER_DATABASE_URL": db, "PAYPER_LOG_LEVEL": "error"}
	out, _, err := runCLI(t, env, "migrate")
	if err != nil || !strings.Contains(out, "applied migrations [1") {
		t.Fatalf("first migrate: %q %v", out, err)
	}
	if out, _, err := runCLI(t, env, "migrate"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate: %q %v", out, err)
	}
	if out, _, err := runCLI(t, nil, "version"); err != nil || !strings.HasPrefix(out, "payper ") {
		t.Fatalf("version: %q %v", out, err)
	}
	key, _, err := runCLI(t, env, "admin", "create-key")
	if err != nil || !strings.HasPrefix(key, "pp_a_") {
		t.Fatalf("create-key: %q %v", key, err)
	}
	if _, _, err := runCLI(t, env, "admin", "create-key", "--role", "brand", "--subject", "brd_nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("create-key for a missing brand: %v", err)
	}
	// An operator user: its password from the environment, checked as any
	// password is; a second operator with the same email (in other case) is
	// refused; the operator can sign in.
	if _, _, err := runCLI(t, env, "admin", "create-operator", "--email", "ops@example.com"); err == nil || !strings.Contains(err.Error(), "PAYPER_OPERATOR_PASSWORD") {
		t.Fatalf("create-operator without a password: %v", err)
	}
	weak := map[string]string{"PAYPER_DATABASE_URL": db, "PAYPER_LOG_LEVEL": "error", "PAYPER_OPERATOR_PASSWORD": "password123"}
	if _, _, err := runCLI(t, weak, "admin", "create-operator", "--email", "ops@example.com"); err == nil || !strings.Contains(err.Error(), "password") {
		t.Fatalf("create-operator with a common password: %v", err)
	}
	ops := map[string]string{"PAYPER_DATABASE_URL": db, "PAYPER_LOG_LEVEL": "error", "PAYPER_OPERATOR_PASSWORD": "lantern-orchard-47"}
	if id, _, err := runCLI(t, ops, "admin", "create-operator", "--email", "ops@example.com"); err != nil || !strings.HasPrefix(id, "usr_") {
		t.Fatalf("create-operator: %q %v", id, err)
	}
	if _, _, err := runCLI(t, ops, "admin", "create-operator", "--email", "OPS@example.com"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second operator with the same email: %v", err)
	}
	a, err := app.Open(context.Background(), app.Config{DatabaseURL: db, NoPeriodicJobs: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	sess, err := a.Accounts.Login(context.Background(), account.Login{Email: "Ops@Example.com", Password: "lantern-orchard-47", Address: "192.0.2.1"})
	a.Close()
	if err != nil || sess.Token == "" || sess.Principal.Role != identity.RoleAdmin {
		t.Fatalf("the operator signs in: %+v, %v; want an admin session", sess.Auth, err)
	}
	if _, _, err := runCLI(t, env, "nonsense"); err == nil {
		t.Fatal("unknown command accepted")
	}
	if _, _, err := runCLI(t, map[string]string{"PAYPER_FEE_BPS": "twenty"}, "migrate", "--db", db); err != nil {
		t.Fatalf("migrate does not read PAYPER_FEE_BPS: %v", err)
	}
	if _, _, err := runCLI(t, map[string]string{"PAYPER_FEE_BPS": "twenty", "PAYPER_DATABASE_URL": db}, "admin", "audit"); err == nil || !strings.Contains(err.Error(), "PAYPER_FEE_BPS") {
		t.Fatalf("a bad PAYPER_FEE_BPS must be reported by name: %v", err)
	}
	if _, _, err := runCLI(t, map[string]string{"PAYPER_FEE_BPS": "12000", "PAYPER_DATABASE_URL": db}, "admin", "audit"); err == nil || !strings.Contains(err.Error(), "fee") {
		t.Fatalf("a fee above 100%% must be refused: %v", err)
	}
}

func TestCLIAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.db")
	db := storetest.Open(t, path)
	l, err := ledger.New(db, clock.System{}, ledger.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_1", BrandID: "brd_1", Amount: money.New(50_000_000, money.EUR), Reference: "r"}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Accrue(ctx, "cmp_1", ledger.AccrueItem{Key: "a", CreatorID: "crt_1", Amount: 7_000_001}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PAYPER_DATABASE_URL": path, "PAYPER_LOG_LEVEL": "error"}
	out, _, err := runCLI(t, env, "admin", "audit")
	if err != nil || !strings.Contains(out, "ledger audit OK") {
		t.Fatalf("healthy ledger: %q %v", out, err)
	}
	// Tamper with a stored balance behind the ledger's back: the audit must see it.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE ledger_accounts SET posted = posted + 1 WHERE id = 'escrow:cmp_1'`); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, env, "admin", "audit")
	if err == nil || !strings.Contains(out, "FAILED") || !strings.Contains(out, "escrow:cmp_1") {
		t.Fatalf("tampered ledger: audit said %q, err %v", out, err)
	}
}

// TestFirstStartAdminKey checks that the first serve of an empty database
// without PAYPER_ADMIN_TOKEN prints one admin key that works, and that a
// second start prints none.
func TestFirstStartAdminKey(t *testing.T) {
	db := filepath.Join(t.TempDir(), "first.db")
	start := func() (string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		out := &lineWriter{addr: make(chan string, 1)}
		var errb syncBuffer
		done := make(chan error, 1)
		go func() {
			done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--log-level", "error"}, func(string) string { return "" }, out, &errb)
		}()
		select {
		case <-out.addr:
		case err := <-done:
			t.Fatalf("serve exited: %v", err)
		}
		return errb.String(), func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
	}
	stderr, stop := start()
	stop()
	var key string
	for _, f := range strings.Fields(stderr) {
		if strings.HasPrefix(f, "pp_a_") {
			key = f
		}
	}
	if key == "" {
		t.Fatalf("first start printed no admin key: %q", stderr)
	}
	a := storetest.Open(t, db)
	var n int
	if err := a.Read().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM api_keys WHERE role = 'admin'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("admin keys stored: %d, %v", n, err)
	}
	ident, err := identity.New(a, clock.System{}, "")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := ident.Authenticate(context.Background(), key); err != nil || !p.IsAdmin() {
		t.Fatalf("the printed key does not authenticate as admin: %+v, %v", p, err)
	}
	stderr, stop = start()
	stop()
	if strings.Contains(stderr, "pp_a_") {
		t.Fatalf("second start printed a key again: %q", stderr)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// payper demo runs a whole campaign; --json prints the same summary as JSON,
// and --db refuses a file that exists.
func TestCLIDemo(t *testing.T) {
	out, _, err := runCLI(t, nil, "demo", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		State    string `json:"state"`
		Creators []struct {
			Tier string `json:"tier"`
		} `json:"creators"`
		Spent struct {
			Amount string `json:"amount"`
		} `json:"spent"`
		AuditOK bool `json:"ledger_audit_ok"`
		Sales   struct {
			Orders      int `json:"orders"`
			ByCode      int `json:"orders_by_code"`
			ByClick     int `json:"orders_by_click"`
			SpentByKind map[string]struct {
				Amount string `json:"amount"`
			} `json:"spent_by_kind"`
		} `json:"sales"`
		Conversions []struct {
			Method     string `json:"method"`
			Commission struct {
				Amount string `json:"amount"`
			} `json:"commission"`
		} `json:"conversions"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("demo --json printed %q: %v", out, err)
	}
	if sum.State != "closed" || len(sum.Creators) != 12 || sum.Creators[0].Tier == "" || !sum.AuditOK || microsOf(t, sum.Spent.Amount) == 0 {
		t.Fatalf("demo summary %+v", sum)
	}
	// Sales from the sandbox store, attributed by code and by click, paid
	// by kind: the kinds add up to what was spent.
	var kinds, commission int64
	for _, k := range []string{"interactions", "commission", "cpa", "flat_fee"} {
		v := microsOf(t, sum.Sales.SpentByKind[k].Amount)
		if v <= 0 {
			t.Fatalf("demo spent %d on %s: %+v", v, k, sum.Sales)
		}
		kinds += v
	}
	for _, c := range sum.Conversions {
		commission += microsOf(t, c.Commission.Amount)
	}
	if sum.Sales.ByCode == 0 || sum.Sales.ByClick == 0 || sum.Sales.ByCode+sum.Sales.ByClick != len(sum.Conversions) ||
		sum.Sales.Orders <= len(sum.Conversions) || kinds != microsOf(t, sum.Spent.Amount) ||
		commission != microsOf(t, sum.Sales.SpentByKind["commission"].Amount) {
		t.Fatalf("demo sales %+v, %d conversions paying %d commission; kinds add up to %d", sum.Sales, len(sum.Conversions), commission, kinds)
	}
	text, _, err := runCLI(t, nil, "demo", "--quiet")
	if err != nil || !strings.Contains(text, "creator earnings") || !strings.Contains(text, "ledger audit      ok") ||
		!strings.Contains(text, "orders by code") || !strings.Contains(text, "spent by kind") {
		t.Fatalf("demo printed %q, %v", text, err)
	}
	existing := filepath.Join(t.TempDir(), "taken.db")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, nil, "demo", "--db", existing); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("demo on an existing file: %v", err)
	}
}
