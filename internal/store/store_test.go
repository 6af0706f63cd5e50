package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func count(t *testing.T, db *store.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Read().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestStoreConformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		t.Run("migrate is idempotent", func(t *testing.T) {
			applied, err := db.Migrate(ctx)
			if err != nil || len(applied) != 0 {
				t.Fatalf("second migrate applied %v, err %v; want nothing", applied, err)
			}
			ms, _ := store.Migrations(db.Dialect())
			if n := count(t, db, `SELECT COUNT(*) FROM schema_migrations`); n != len(ms) || n == 0 {
				t.Fatalf("schema_migrations has %d rows, want %d", n, len(ms))
			}
		})

		t.Run("failed transaction leaves nothing", func(t *testing.T) {
			boom := errors.New("boom")
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO brands (id, name, created_at) VALUES ('brd_rollback', 'x', 1)`); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("WithTx returned %v, want boom", err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM brands WHERE id = 'brd_rollback'`); n != 0 {
				t.Fatalf("rolled-back row is visible")
			}
		})

		t.Run("ErrRetry runs the transaction again", func(t *testing.T) {
			attempts := 0
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				attempts++
				if _, err := tx.ExecContext(ctx, `INSERT INTO brands (id, name, created_at) VALUES ('brd_retry', 'x', 1)`); err != nil {
					return err
				}
				if attempts < 3 {
					return fmt.Errorf("try again: %w", store.ErrRetry)
				}
				return nil
			})
			if err != nil || attempts != 3 {
				t.Fatalf("attempts %d, err %v; want 3, nil", attempts, err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM brands WHERE id = 'brd_retry'`); n != 1 {
				t.Fatalf("retried insert landed %d times, want once", n)
			}
		})

		t.Run("unique violation is recognised", func(t *testing.T) {
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO brands (id, name, created_at) VALUES ('brd_retry', 'dup', 1)`)
				return err
			})
			if !store.IsUniqueViolation(err) {
				t.Fatalf("duplicate primary key: %v is not recognised as a unique violation", err)
			}
			if store.IsUniqueViolation(errors.New("other")) {
				t.Fatal("a plain error is not a unique violation")
			}
		})

		t.Run("bulk insert and InText", func(t *testing.T) {
			var rows [][]any
			var ids []string
			for i := 0; i < 1234; i++ { // more than one SQLite chunk
				id := fmt.Sprintf("tx_bulk_%04d", i)
				rows = append(rows, []any{id, i % 3, "acct", "EUR", int64(i) - 600})
				if i%100 == 0 {
					ids = append(ids, id)
				}
			}
			// Prepared once for the database: full chunks reuse it, the
			// last, shorter chunk is prepared in the transaction.
			if err := db.PrepareBulk(ctx, "ledger_entries", []string{"tx_id", "seq", "account_id", "currency", "amount"}); err != nil {
				t.Fatal(err)
			}
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				return tx.BulkInsert(ctx, "ledger_entries", []string{"tx_id", "seq", "account_id", "currency", "amount"}, rows)
			})
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			if err := db.Read().QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE tx_id LIKE 'tx_bulk_%'`).Scan(&sum); err != nil {
				t.Fatal(err)
			}
			if want := int64(1233*1234/2 - 600*1234); sum != want {
				t.Fatalf("bulk-inserted amounts sum to %d, want %d", sum, want)
			}
			cond, arg := store.InText(db.Dialect(), "tx_id", 1, ids)
			if n := count(t, db, `SELECT COUNT(*) FROM ledger_entries WHERE `+cond, arg); n != len(ids) {
				t.Fatalf("InText matched %d rows, want %d", n, len(ids))
			}
			// A failed bulk insert (duplicate key) leaves nothing.
			err = db.WithTx(ctx, func(tx *store.Tx) error {
				return tx.BulkInsert(ctx, "ledger_entries", []string{"tx_id", "seq", "account_id", "currency", "amount"},
					[][]any{{"tx_bulk_new", 0, "a", "EUR", int64(1)}, rows[0]})
			})
			if !store.IsUniqueViolation(err) {
				t.Fatalf("duplicate in bulk insert: %v", err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM ledger_entries WHERE tx_id = 'tx_bulk_new'`); n != 0 {
				t.Fatal("a failed bulk insert left rows behind")
			}
		})

		t.Run("bulk update and QueryAll", func(t *testing.T) {
			// 1,234 brands (more than one SQLite chunk), then rename every
			// other one and change its created_at in one BulkUpdate.
			var rows, upd [][]any
			for i := 0; i < 1234; i++ {
				id := fmt.Sprintf("brd_bu_%05d", i)
				rows = append(rows, []any{id, "before", int64(i)})
				if i%2 == 0 {
					upd = append(upd, []any{id, fmt.Sprintf("after %d", i), int64(-i)})
				}
			}
			if err := db.PrepareBulkUpdate(ctx, "brands", "id", "", []string{"name", "created_at"}); err != nil {
				t.Fatal(err)
			}
			var n int64
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				if err := tx.BulkInsert(ctx, "brands", []string{"id", "name", "created_at"}, rows); err != nil {
					return err
				}
				var err error
				n, err = tx.BulkUpdate(ctx, "brands", "id", []string{"name", "created_at"}, upd)
				return err
			})
			if err != nil || n != int64(len(upd)) {
				t.Fatalf("bulk update: %d rows, %v; want %d", n, err, len(upd))
			}
			type brand struct {
				id, name string
				at       int64
			}
			got, err := store.QueryAll(ctx, db.Read(), func(r store.Scanner) (brand, error) {
				var b brand
				err := r.Scan(&b.id, &b.name, &b.at)
				return b, err
			}, `SELECT id, name, created_at FROM brands WHERE id LIKE 'brd_bu_%' ORDER BY id`)
			if err != nil || len(got) != 1234 {
				t.Fatalf("QueryAll: %d rows, %v", len(got), err)
			}
			for i, b := range got {
				want := brand{fmt.Sprintf("brd_bu_%05d", i), "before", int64(i)}
				if i%2 == 0 {
					want.name, want.at = fmt.Sprintf("after %d", i), int64(-i)
				}
				if b != want {
					t.Fatalf("row %d is %+v, want %+v", i, b, want)
				}
			}
			none, err := store.QueryAll(ctx, db.Read(), func(r store.Scanner) (string, error) {
				var s string
				err := r.Scan(&s)
				return s, err
			}, `SELECT id FROM brands WHERE id = 'nobody'`)
			if err != nil || none == nil || len(none) != 0 {
				t.Fatalf("QueryAll without rows: %#v, %v; want an empty slice", none, err)
			}
			// Compare-and-set: only rows whose guard still holds change.
			var moved int64
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				var err error
				moved, err = tx.BulkUpdateIf(ctx, "brands", "id", "created_at", []string{"name"}, [][]any{
					{"brd_bu_00000", int64(0), "guarded"},   // created_at is 0: changes
					{"brd_bu_00001", int64(999), "ignored"}, // created_at is 1: stays
				})
				return err
			}); err != nil || moved != 1 {
				t.Fatalf("BulkUpdateIf moved %d rows, %v; want 1", moved, err)
			}
			var n0, n1 string
			if err := db.Read().QueryRowContext(ctx, `SELECT name FROM brands WHERE id = 'brd_bu_00000'`).Scan(&n0); err != nil {
				t.Fatal(err)
			}
			if err := db.Read().QueryRowContext(ctx, `SELECT name FROM brands WHERE id = 'brd_bu_00001'`).Scan(&n1); err != nil {
				t.Fatal(err)
			}
			if n0 != "guarded" || n1 != "before" {
				t.Fatalf("after BulkUpdateIf: %q, %q", n0, n1)
			}
			// A mismatched row is an error before anything is written.
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.BulkUpdate(ctx, "brands", "id", []string{"name"}, [][]any{{"brd_bu_00000"}})
				return err
			}); err == nil {
				t.Fatal("a row without its values was accepted")
			}
		})

		t.Run("statements run again after a failure, a rollback and with rows open", func(t *testing.T) {
			// On SQLite the same text runs through one prepared statement
			// (stmtcache.go): it must behave as if parsed afresh each time.
			ins := `INSERT INTO brands (id, name, created_at) VALUES ($1, $2, $3)`
			for i := 0; i < 3; i++ {
				if err := db.WithTx(ctx, func(tx *store.Tx) error {
					_, err := tx.ExecContext(ctx, ins, fmt.Sprintf("brd_sc_%d", i), "x", int64(i))
					return err
				}); err != nil {
					t.Fatalf("insert %d: %v", i, err)
				}
			}
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, ins, "brd_sc_1", "again", int64(9))
				return err
			})
			if !store.IsUniqueViolation(err) {
				t.Fatalf("a duplicate through the cached statement: %v, want a unique violation", err)
			}
			boom := errors.New("boom")
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				if _, err := tx.ExecContext(ctx, ins, "brd_sc_rolled", "x", int64(5)); err != nil {
					return err
				}
				return boom
			}); !errors.Is(err, boom) {
				t.Fatalf("rollback: %v", err)
			}
			if err := db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, ins, "brd_sc_3", "x", int64(3))
				return err
			}); err != nil {
				t.Fatalf("insert after a failure and a rollback: %v", err)
			}
			if n := count(t, db, `SELECT COUNT(*) FROM brands WHERE id LIKE 'brd_sc_%'`); n != 4 {
				t.Fatalf("%d brands brd_sc_*, want 4 (0–3, not the rolled-back one)", n)
			}
			// Two iterations of one query at once, and the same query inside
			// the loop: each sees its own rows.
			q := `SELECT id FROM brands WHERE id LIKE $1 ORDER BY id`
			outer, err := db.Read().QueryContext(ctx, q, "brd_sc_%")
			if err != nil {
				t.Fatal(err)
			}
			defer outer.Close()
			var seen []string
			for outer.Next() {
				var id string
				if err := outer.Scan(&id); err != nil {
					t.Fatal(err)
				}
				var inner int
				rows, err := db.Read().QueryContext(ctx, q, id)
				if err != nil {
					t.Fatal(err)
				}
				for rows.Next() {
					inner++
				}
				rows.Close()
				if inner != 1 {
					t.Fatalf("the nested query for %s saw %d rows, want 1", id, inner)
				}
				seen = append(seen, id)
			}
			if err := outer.Err(); err != nil || len(seen) != 4 || seen[3] != "brd_sc_3" {
				t.Fatalf("the outer query saw %v, %v", seen, err)
			}
		})

		t.Run("concurrent writers serialise", func(t *testing.T) {
			if _, err := db.Read().ExecContext(ctx, `SELECT 1`); err != nil {
				t.Fatal(err)
			}
			err := db.WithTx(ctx, func(tx *store.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO brands (id, name, created_at) VALUES ('brd_counter', 'n', 0)`)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			errc := make(chan error, 32)
			for i := 0; i < 32; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errc <- db.WithTx(ctx, func(tx *store.Tx) error {
						var n int64
						if err := tx.QueryRowContext(ctx, `SELECT created_at FROM brands WHERE id = 'brd_counter'`+tx.ForUpdate()).Scan(&n); err != nil {
							return err
						}
						_, err := tx.ExecContext(ctx, `UPDATE brands SET created_at = $1 WHERE id = 'brd_counter'`, n+1)
						return err
					})
				}()
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				if err != nil {
					t.Fatal(err)
				}
			}
			if n := count(t, db, `SELECT created_at FROM brands WHERE id = 'brd_counter'`); n != 32 {
				t.Fatalf("32 read-modify-write transactions left the counter at %d: lost updates", n)
			}
		})
	})
}

func TestOpenRejectsMemory(t *testing.T) {
	if _, err := store.Open(context.Background(), ":memory:"); err == nil {
		t.Fatal("opening :memory: should fail: it cannot be shared between connections")
	}
}
