package payout_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestMigration0021KeepsPayouts: a database with payouts from before
// migration 0021 (EUR and USD only) keeps every payout, column for column,
// when 0021 widens the currency check (SQLite rebuilds the table); GBP is
// refused before and taken after, a currency payper does not handle still
// is refused.
func TestMigration0021KeepsPayouts(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ms, err := store.Migrations(db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) error {
			_, err := db.Writer().ExecContext(ctx, q, args...)
			return err
		}
		must := func(q string, args ...any) {
			t.Helper()
			if err := exec(q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		must(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		for _, m := range ms {
			if m.Version >= 21 {
				break
			}
			must(m.SQL)
			must(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`, m.Version, m.Name)
		}
		must(`INSERT INTO creators (id, name, country, created_at) VALUES ('crt_1', 'Ana', 'DE', 0)`)
		const ins = `INSERT INTO payouts (id, creator_id, provider, amount, currency, state, hold_id, provider_ref, reason, attempts, requested_at, updated_at, resolved_at)
			VALUES ($1, 'crt_1', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
		must(ins, "po_1", "wise", 25_000_000, "EUR", "paid", "hld_1", "50000042", "", 2, 100, 200, 200)
		must(ins, "po_2", "manual", 10_000_000, "USD", "failed", "hld_2", "", "bank closed", 0, 300, 400, 400)
		if err := exec(ins, "po_3", "stripe", 10_000_000, "GBP", "requested", "hld_3", "", "", 0, 1, 1, 0); err == nil {
			t.Fatal("GBP payout taken before migration 0021")
		}
		dump := func() string {
			t.Helper()
			rows, err := db.Read().QueryContext(ctx, `SELECT id, creator_id, provider, amount, currency, state, hold_id, provider_ref, reason, attempts,
				requested_at, updated_at, resolved_at FROM payouts ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := ""
			for rows.Next() {
				var id, cr, prov, cur, st, hold, ref, reason string
				var amount, attempts, req, upd, res int64
				if err := rows.Scan(&id, &cr, &prov, &amount, &cur, &st, &hold, &ref, &reason, &attempts, &req, &upd, &res); err != nil {
					t.Fatal(err)
				}
				out += id + "|" + cr + "|" + prov + "|" + cur + "|" + st + "|" + hold + "|" + ref + "|" + reason + "|" +
					itoa(amount) + "|" + itoa(attempts) + "|" + itoa(req) + "|" + itoa(upd) + "|" + itoa(res) + "\n"
			}
			return out
		}
		before := dump()
		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) == 0 || applied[0] != 21 {
			t.Fatalf("applied %v, want 21 first", applied)
		}
		if after := dump(); after != before {
			t.Fatalf("payouts changed by the migration:\n%s\n%s", before, after)
		}
		must(ins, "po_3", "stripe", 10_000_000, "GBP", "requested", "hld_3", "", "", 0, 1, 1, 0)
		if err := exec(ins, "po_4", "stripe", 10_000_000, "XYZ", "requested", "hld_4", "", "", 0, 1, 1, 0); err == nil {
			t.Fatal("a payout in XYZ was taken")
		}
		var id string
		if err := db.Read().QueryRowContext(ctx, `SELECT id FROM payouts WHERE hold_id = 'hld_2'`).Scan(&id); err != nil || id != "po_2" {
			t.Fatalf("payout of hold hld_2: %q %v", id, err)
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
