package store

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// SQLite (modernc.org/sqlite) parses and plans a statement's text every time
// it runs unless the statement is prepared; database/sql prepares nothing by
// itself. Parsing showed as a tenth of the engagement pipeline's CPU, so on
// SQLite the reader pool and write transactions run the usual single-statement
// DML through statements prepared once per text. PostgreSQL needs none of
// this: pgx caches prepared statements per connection already.

// Each cache is bounded, in statements and in bytes of SQL text (a
// prepared statement's size follows its text's): multi-row statements built
// for a varying number of rows (rollup upserts, ledger account updates) come
// in many lengths, and must not grow it without end. Past a bound, new
// statements run unprepared; those cached stay.
const (
	maxCachedStmts = 1024
	maxCachedBytes = 4 << 20
)

// stmtCache maps SQL text to a statement prepared on one *sql.DB.
type stmtCache struct {
	db    *sql.DB
	m     sync.Map // string → *sql.Stmt
	n     atomic.Int64
	bytes atomic.Int64 // of the cached texts
}

// wants reports whether query should be prepared and cached: one statement
// of the usual kinds, with room left under the bounds.
func (c *stmtCache) wants(query string) bool {
	return cacheable(query) && c.n.Load() < maxCachedStmts && c.bytes.Load()+int64(len(query)) <= maxCachedBytes
}

// get returns the prepared statement for query, preparing it on first use,
// or nil when query is not worth caching or does not prepare (the caller
// then runs it unprepared, and reports its error as usual).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	if s, ok := c.m.Load(query); ok {
		return s.(*sql.Stmt)
	}
	if !c.wants(query) {
		return nil
	}
	s, _ := c.prepare(ctx, query) // the caller runs it unprepared and reports the error
	return s
}

// lookup returns query's statement if it is cached, else nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	if s, ok := c.m.Load(query); ok {
		return s.(*sql.Stmt)
	}
	return nil
}

// prepare prepares query on the pool and caches it.
func (c *stmtCache) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(query, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	c.n.Add(1)
	c.bytes.Add(int64(len(query)))
	return s, nil
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.m.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		c.m.Delete(k)
		return true
	})
	c.n.Store(0)
	c.bytes.Store(0)
}

// cacheable: one SELECT, INSERT, UPDATE, DELETE or WITH statement. Scripts
// (several statements) and schema changes run unprepared.
func cacheable(query string) bool {
	q := strings.TrimSpace(query)
	if i := strings.IndexByte(q, ';'); i >= 0 && i < len(q)-1 {
		return false
	}
	if len(q) < 6 {
		return false
	}
	switch strings.ToUpper(q[:6]) {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
		return true
	}
	return strings.EqualFold(q[:4], "WITH")
}

// cachedReader is the SQLite reader pool's Queryer. A statement prepared on
// the pool is prepared again on each connection it first runs on; a
// connection with open rows is busy, so no prepared statement is ever
// stepped by two queries at once.
type cachedReader struct {
	*sql.DB
	c *stmtCache
}

// ExecContext runs query through its cached statement.
func (r cachedReader) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := r.c.get(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return r.DB.ExecContext(ctx, query, args...)
}

// QueryContext runs query through its cached statement.
func (r cachedReader) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := r.c.get(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return r.DB.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query through its cached statement.
func (r cachedReader) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := r.c.get(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return r.DB.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement in the transaction. On SQLite, a statement
// run before is run through a statement prepared once on the writer's
// connection. The writer has that one connection, held by this
// transaction, so a statement new to the cache runs unprepared and is
// prepared when the transaction is over (WithTx). A statement whose rows
// QueryAll is still reading (see queryAll) runs unprepared.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if tx.dialect == SQLite && tx.db != nil {
		if s := tx.db.wstmts.lookup(query); s != nil && !tx.busy[query] {
			return tx.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
		}
		if tx.db.wstmts.wants(query) && !slices.Contains(tx.unprepared, query) {
			tx.unprepared = append(tx.unprepared, query)
		}
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryRowContext runs a one-row query in the transaction. On SQLite, like
// ExecContext, a query run before goes through its statement prepared once
// on the writer's connection (parsing was a fifth of an order webhook's
// CPU). A row is read by Scan right away, so unlike QueryContext's rows it
// does not keep the statement stepping while another query runs; but the
// statement of a QueryAll whose rows are open (see queryAll) is not used.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if tx.dialect == SQLite && tx.db != nil {
		if s := tx.db.wstmts.lookup(query); s != nil && !tx.busy[query] {
			return tx.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
		}
		if tx.db.wstmts.wants(query) && !slices.Contains(tx.unprepared, query) {
			tx.unprepared = append(tx.unprepared, query)
		}
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// prepareLater prepares, on the writer, the statements a finished
// transaction ran unprepared. It must run with no transaction open in this
// goroutine (the writer's connection is then free, or soon will be).
func (db *DB) prepareLater(ctx context.Context, queries []string) {
	for _, q := range queries {
		if db.wstmts.lookup(q) == nil {
			_, _ = db.wstmts.prepare(ctx, q) // if it does not prepare, it runs unprepared next time
		}
	}
}

// queryAll runs a query for QueryAll in the transaction. On SQLite, a query
// run before goes through its statement prepared once on the writer's
// connection, like ExecContext: such a statement has one SQLite handle per
// connection, which two open Rows must never step at once, so the
// statement is marked busy until QueryAll has read every row and closed
// them (release), and a query whose statement is busy — QueryAll,
// QueryRowContext or ExecContext of the same text nested in a QueryAll —
// runs unprepared. The transaction is used
// by one goroutine at a time, as database/sql requires of a *sql.Tx.
func (tx *Tx) queryAll(ctx context.Context, query string, args ...any) (rows *sql.Rows, release func(), err error) {
	if tx.dialect == SQLite && tx.db != nil {
		if s := tx.db.wstmts.lookup(query); s != nil && !tx.busy[query] {
			if tx.busy == nil {
				tx.busy = map[string]bool{}
			}
			tx.busy[query] = true
			rows, err := tx.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
			return rows, func() { delete(tx.busy, query) }, err
		}
		if tx.db.wstmts.wants(query) && !slices.Contains(tx.unprepared, query) {
			tx.unprepared = append(tx.unprepared, query)
		}
	}
	rows, err = tx.Tx.QueryContext(ctx, query, args...)
	return rows, func() {}, err
}
