package pgbatch_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/payper/payper/internal/orders/pgbatch"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

type state string // a string kind, as the services' state types are

// TestInsertRoundTrip inserts rows of every column type (NULLs, typed
// strings and integers, values that need quoting) through one Insert in a
// WITH clause beside another write, and reads back exactly those rows.
func TestInsertRoundTrip(t *testing.T) {
	db := storetest.Open(t, storetest.PostgresURL(t))
	ctx := context.Background()
	if _, err := db.Writer().ExecContext(ctx, `CREATE TABLE pgb (s TEXT NOT NULL, n BIGINT NOT NULL, m BIGINT, i INTEGER NOT NULL, b BOOLEAN NOT NULL);
		CREATE TABLE pgb_other (k TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"a'b\"c;--", int64(-9_223_372_036_854_775_808), nil, 7, true},
		{state("held"), int64(9_223_372_036_854_775_807), int64(-5), int32(-2), false},
		{"", 0, 42, 0, false},
	}
	q, args, err := pgbatch.Insert("pgb", []string{"s", "n", "m", "i", "b"},
		[]string{pgbatch.Text, pgbatch.Bigint, pgbatch.NullBigint, pgbatch.Integer, pgbatch.Boolean}, 2, rows)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `WITH x AS (`+q+`) INSERT INTO pgb_other (k) VALUES ($1)`, append([]any{"other"}, args...)...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got, err := store.QueryAll(ctx, db.Read(), func(r store.Scanner) (string, error) {
		var s string
		var n, i int64
		var m *int64
		var b bool
		err := r.Scan(&s, &n, &m, &i, &b)
		ms := "NULL"
		if m != nil {
			ms = strconv.FormatInt(*m, 10)
		}
		return s + "|" + strconv.FormatInt(n, 10) + "|" + ms + "|" + strconv.FormatInt(i, 10) + "|" + map[bool]string{true: "t", false: "f"}[b], err
	}, `SELECT s, n, m, i, b FROM pgb ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`a'b"c;--|-9223372036854775808|NULL|7|t`, `|0|42|0|f`, `held|9223372036854775807|-5|-2|f`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var other int
	if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM pgb_other WHERE k = 'other'`).Scan(&other); err != nil || other != 1 {
		t.Fatalf("other write: %d, %v", other, err)
	}
}

// TestInsertRefuses checks that a value of the wrong kind, a row of the
// wrong length and an unknown type are errors naming what is wrong, and
// that the statement's text does not depend on the number of rows.
func TestInsertRefuses(t *testing.T) {
	cols, types := []string{"s", "n"}, []string{pgbatch.Text, pgbatch.Bigint}
	for _, c := range []struct {
		rows  [][]any
		types []string
		want  string
	}{
		{[][]any{{"x", "1"}}, types, "pgb.n of row 0: string is not bigint"},
		{[][]any{{1, 1}}, types, "pgb.s of row 0: int is not text"},
		{[][]any{{"x", nil}}, types, "pgb.n of row 0: <nil> is not bigint"},
		{[][]any{{"x", 1}, {"y"}}, types, "row 1 of pgb has 1 values for 2 columns"},
		{[][]any{{"x", 1}}, []string{pgbatch.Text, "money"}, `column n: unknown type "money"`},
	} {
		if _, _, err := pgbatch.Insert("pgb", cols, c.types, 1, c.rows); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("rows %v types %v: error %v, want %q", c.rows, c.types, err, c.want)
		}
	}
	q1, _, err1 := pgbatch.Insert("pgb", cols, types, 3, [][]any{{"x", 1}})
	q2, args, err2 := pgbatch.Insert("pgb", cols, types, 3, [][]any{{"x", 1}, {"y", 2}, {"z", 3}})
	if err1 != nil || err2 != nil || q1 != q2 || q1 != `INSERT INTO pgb (s, n) SELECT * FROM unnest($3::text[], $4::bigint[])` {
		t.Fatalf("statements %q, %q (%v, %v)", q1, q2, err1, err2)
	}
	if s, n := args[0].([]string), args[1].([]int64); strings.Join(s, ",") != "x,y,z" || n[2] != 3 {
		t.Fatalf("args %v", args)
	}
}
