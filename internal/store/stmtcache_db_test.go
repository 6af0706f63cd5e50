package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Full-size bulk chunks and ordinary statements are cached after the
// transaction that first ran them; the short last chunk of a bulk write,
// whose length varies, is not, so it cannot fill the cache.
func TestWriterStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	before := db.wstmts.n.Load() // what migrating cached
	cols := []string{"id", "name", "created_at"}
	full := bulkChunk(len(cols), 1<<30)
	for _, n := range []int{3, full + 7, full + 11} {
		rows := make([][]any, n)
		for i := range rows {
			rows[i] = []any{"brd_" + string(rune('a'+n%26)) + string(rune('0'+i%10)) + string(rune('a'+i/10%26)) + string(rune('a'+i/260%26)), "x", int64(i)}
		}
		if err := db.WithTx(ctx, func(tx *Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE brands SET name = $1 WHERE id = $2`, "y", "nobody"); err != nil {
				return err
			}
			return tx.BulkInsert(ctx, "brands", cols, rows)
		}); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string]bool{
		`UPDATE brands SET name = $1 WHERE id = $2`: true,
		insertSQL("brands", cols, full):             true,
		insertSQL("brands", cols, 3):                false,
		insertSQL("brands", cols, 7):                false,
		insertSQL("brands", cols, 11):               false,
	} {
		if got := db.wstmts.lookup(q) != nil; got != want {
			t.Errorf("cached %v, want %v: %.60s", got, want, q)
		}
	}
	if n := db.wstmts.n.Load() - before; n != 2 {
		t.Errorf("%d statements cached, want 2", n)
	}
}

// The cache stops growing at its bound in bytes of text; statements past it
// still run, unprepared.
func TestStatementCacheBound(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pad := strings.Repeat(" ", 1<<20) // 1 MiB of blanks keeps each text distinct and large
	for i := 0; i < 6; i++ {
		var n int
		q := "SELECT " + strconv.Itoa(i) + pad[:len(pad)-i]
		if err := db.Read().QueryRowContext(ctx, q).Scan(&n); err != nil || n != i {
			t.Fatalf("query %d: %d, %v", i, n, err)
		}
	}
	if got := db.rstmts.bytes.Load(); got > maxCachedBytes || db.rstmts.n.Load() != 3 {
		t.Fatalf("%d statements, %d bytes cached; want 3 under %d", db.rstmts.n.Load(), got, maxCachedBytes)
	}
}

// A one-row query in a transaction is prepared after the transaction that
// first ran it and answers the same through the prepared statement, also
// when the same query runs twice in one transaction, each row scanned
// before the next.
func TestWriterQueryRowCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT name FROM brands WHERE id = $1`
	for i, want := range []string{"one", "two", "three"} {
		id := "brd_" + strconv.Itoa(i)
		err := db.WithTx(ctx, func(tx *Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO brands (id, name, created_at) VALUES ($1, $2, 0)`, id, want); err != nil {
				return err
			}
			for range 2 {
				var got string
				if err := tx.QueryRowContext(ctx, q, id).Scan(&got); err != nil || got != want {
					t.Errorf("round %d: %q, %v; want %q", i, got, err, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if cached := db.wstmts.lookup(q) != nil; !cached {
			t.Errorf("round %d: the query is not cached after its transaction", i)
		}
	}
}

// TestNestedPreparedReads: in a SQLite transaction a query seen before runs
// through its one prepared handle; a QueryAll, QueryRowContext or
// ExecContext of the same text run while a QueryAll of it is still reading
// its rows (inside its scan) must not step that handle, or the outer rows
// come out cut short or wrong.
func TestNestedPreparedReads(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const q = `SELECT id, name FROM brands WHERE name >= $1 ORDER BY id`
	const upd = `UPDATE brands SET created_at = created_at WHERE name >= $1`
	type row struct{ id, name string }
	scanRow := func(r Scanner) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.name)
		return x, err
	}
	if err := db.WithTx(ctx, func(tx *Tx) error {
		for i, n := range []string{"a", "b", "c", "d", "e"} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO brands (id, name, created_at) VALUES ($1, $2, $3)`, "brd_"+n, n, int64(i)); err != nil {
				return err
			}
		}
		_, err := QueryAll(ctx, tx, scanRow, q, "") // seen once: prepared when this transaction ends
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, upd, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if db.wstmts.lookup(q) == nil {
		t.Fatal("the query was not prepared after its first transaction")
	}
	var outer []row
	if err := db.WithTx(ctx, func(tx *Tx) error {
		var err error
		outer, err = QueryAll(ctx, tx, func(r Scanner) (row, error) {
			x, err := scanRow(r)
			if err != nil {
				return x, err
			}
			inner, err := QueryAll(ctx, tx, scanRow, q, "d") // the same text, other arguments
			if err != nil || len(inner) != 2 {
				return x, fmt.Errorf("nested QueryAll: %v, %v", inner, err)
			}
			var first string
			if err := tx.QueryRowContext(ctx, q, "c").Scan(&first, new(string)); err != nil || first != "brd_c" {
				return x, fmt.Errorf("nested QueryRow: %q, %v", first, err)
			}
			if _, err := tx.ExecContext(ctx, upd, "e"); err != nil {
				return x, fmt.Errorf("nested Exec: %w", err)
			}
			return x, nil
		}, q, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(outer); got != "[{brd_a a} {brd_b b} {brd_c c} {brd_d d} {brd_e e}]" {
		t.Fatalf("outer rows %s; want all five brands in order", got)
	}
}
