package account

import (
	"context"
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/store"
)

func asErr(err error, target **errs.Error) bool { return errors.As(err, target) }

var t0 = time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)

type env struct {
	db  *store.DB
	clk *clock.Fake
	svc *Service
	ctx context.Context
}

func setup(t *testing.T, db *store.DB) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	return &env{db: db, clk: clk, ctx: context.Background(),
		svc: New(db, clk, Config{BaseURL: "https://payper.test/", Params: cheap})}
}

// count returns the number of rows of table.
func (e *env) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := e.db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// counts snapshots the tables a request may write.
func (e *env) counts(t *testing.T) map[string]int {
	m := map[string]int{}
	for _, tb := range []string{"users", "brands", "creators", "brand_signups", "account_tokens", "mail_outbox", "sessions", "api_keys"} {
		m[tb] = e.count(t, tb)
	}
	return m
}

func (e *env) sameCounts(t *testing.T, before map[string]int) {
	t.Helper()
	after := e.counts(t)
	for k, v := range before {
		if after[k] != v {
			t.Errorf("table %s went from %d to %d rows; a refused request must write nothing", k, v, after[k])
		}
	}
}

var linkRE = regexp.MustCompile(`https://payper\.test(/[a-z]+/)([0-9a-v]+)`)

// lastLink returns the token of the newest mail of kind to addr, read from
// its link.
func (e *env) lastLink(t *testing.T, kind, to string) string {
	t.Helper()
	var body string
	if err := e.db.Read().QueryRowContext(e.ctx, `SELECT body_text FROM mail_outbox WHERE kind = $1 AND to_addr = $2 ORDER BY id DESC LIMIT 1`, kind, to).Scan(&body); err != nil {
		t.Fatalf("no %s mail to %s: %v", kind, to, err)
	}
	m := linkRE.FindStringSubmatch(body)
	if m == nil || m[1] != "/"+map[string]string{"verify": "verify", "reset": "reset", "invite": "invite"}[kind]+"/" {
		t.Fatalf("%s mail has no %s link: %q", kind, kind, body)
	}
	return m[2]
}

func wantCode(t *testing.T, err error, kind errs.Kind, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error; want %s %s", kind, code)
	}
	if errs.KindOf(err) != kind || errs.CodeOf(err) != code {
		t.Fatalf("got %v (kind %s, code %s); want kind %s, code %s", err, errs.KindOf(err), errs.CodeOf(err), kind, code)
	}
}

const goodPW = "correct horse battery"
