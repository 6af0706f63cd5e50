// Package pgbatch builds the PostgreSQL statements with which a
// group-commit batch of orders writes many rows, or several tables, in one
// round trip: INSERT … SELECT FROM unnest of one array parameter per
// column, whose text — and so the statement pgx prepares and caches for it
// — is the same for any number of rows, and which composes with other
// writes in data-modifying WITH clauses (one statement, one round trip,
// where a COPY per table is one round trip each). On PostgreSQL each
// statement of the batch's transaction is a round trip, and round trips
// are most of what a batch costs (see docs/benchmarks.md, "payper bench
// orders"). SQLite has no arrays; its callers keep their prepared
// multi-row INSERTs (store.Tx.InsertBatch).
package pgbatch

import (
	"fmt"
	"reflect"
	"strings"
)

// Column types Insert accepts: the PostgreSQL type each column's array is
// cast to. NullBigint takes nil (NULL) or an integer.
const (
	Text       = "text"
	Bigint     = "bigint"
	NullBigint = "bigint null"
	Integer    = "integer"
	Boolean    = "boolean"
)

// Insert returns the statement "INSERT INTO table (cols) SELECT * FROM
// unnest($first::type[], …)" and its arguments, one array per column, for
// rows (each with len(cols) values of the column's type: a string kind for
// Text, an integer kind for Bigint and Integer, a bool kind for Boolean,
// and nil or an integer for NullBigint). It returns an error for a value of
// another kind, or a row of the wrong length.
func Insert(table string, cols, types []string, first int, rows [][]any) (string, []any, error) {
	if len(cols) != len(types) {
		return "", nil, fmt.Errorf("pgbatch: %d columns, %d types", len(cols), len(types))
	}
	args := make([]any, len(cols))
	var q strings.Builder
	fmt.Fprintf(&q, "INSERT INTO %s (%s) SELECT * FROM unnest(", table, strings.Join(cols, ", "))
	for c, t := range types {
		if c > 0 {
			q.WriteString(", ")
		}
		pt := t
		switch t {
		case Text:
			args[c] = make([]string, len(rows))
		case Bigint, Integer:
			args[c] = make([]int64, len(rows))
		case NullBigint:
			args[c], pt = make([]*int64, len(rows)), Bigint
		case Boolean:
			args[c] = make([]bool, len(rows))
		default:
			return "", nil, fmt.Errorf("pgbatch: column %s: unknown type %q", cols[c], t)
		}
		fmt.Fprintf(&q, "$%d::%s[]", first+c, pt)
	}
	q.WriteByte(')')
	for r, row := range rows {
		if len(row) != len(cols) {
			return "", nil, fmt.Errorf("pgbatch: row %d of %s has %d values for %d columns", r, table, len(row), len(cols))
		}
		for c, v := range row {
			rv := reflect.ValueOf(v)
			ok := true
			switch a := args[c].(type) {
			case []string:
				if ok = rv.Kind() == reflect.String; ok {
					a[r] = rv.String()
				}
			case []int64:
				if ok = rv.CanInt(); ok {
					a[r] = rv.Int()
				}
			case []*int64:
				if v != nil {
					if ok = rv.CanInt(); ok {
						n := rv.Int()
						a[r] = &n
					}
				}
			case []bool:
				if ok = rv.Kind() == reflect.Bool; ok {
					a[r] = rv.Bool()
				}
			}
			if !ok {
				return "", nil, fmt.Errorf("pgbatch: %s.%s of row %d: %T is not %s", table, cols[c], r, v, types[c])
			}
		}
	}
	return q.String(), args, nil
}
