// Package store opens payper's database — an embedded SQLite file by default,
// PostgreSQL for a postgres:// URL — applies the embedded migrations, and runs
// write transactions with retries. Domain packages own their SQL; this package
// owns only the few places where the two dialects differ.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names a supported database.
type Dialect string

// The supported databases.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultURL is the database payper uses when none is configured.
const DefaultURL = "payper.db"

// ErrRetry marks an error after which the whole transaction may simply be run
// again (e.g. a concurrent writer inserted the same idempotency key first).
var ErrRetry = errors.New("store: transaction should be retried")

// Queryer is satisfied by *sql.DB, *sql.Conn and *sql.Tx.
type Queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// DB is an open payper database.
type DB struct {
	dialect Dialect
	write   *sql.DB // SQLite: exactly one connection, so writers queue in Go rather than spin on SQLITE_BUSY
	read    *sql.DB // SQLite: a pool of readers (WAL lets them run beside the writer); PostgreSQL: same as write
	// MaxAttempts bounds how often WithTx runs a transaction that keeps failing with a retryable error.
	MaxAttempts int
	// MinFreeBytes is the free space on a SQLite database's file system
	// below which CheckWritable reports the disk full; 0 means
	// DefaultMinFreeBytes.
	MinFreeBytes int64
	path         string // SQLite: the database file

	// SQLite: statements prepared once per text, on the reader pool and on
	// the writer (stmtcache.go).
	rstmts, wstmts *stmtCache
	reader         Queryer // read, through rstmts on SQLite

	pgURL  string // PostgreSQL: the URL, for PgxPool
	poolMu sync.Mutex
	pool   *pgxpool.Pool
}

// Open connects to the database named by rawURL: "postgres://…" or
// "postgresql://…" selects PostgreSQL; anything else is a SQLite file path
// (optionally prefixed "sqlite:" or "file:"); "" means DefaultURL. It returns an
// error when the database cannot be reached. Open does not migrate: call Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	if rawURL == "" {
		rawURL = DefaultURL
	}
	var db *DB
	var err error
	if strings.HasPrefix(rawURL, "postgres://") || strings.HasPrefix(rawURL, "postgresql://") {
		db, err = openPostgres(rawURL)
	} else {
		db, err = openSQLite(rawURL)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(rawURL string) (*DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse PostgreSQL URL: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{dialect: Postgres, write: db, read: db, reader: db, MaxAttempts: 10, pgURL: rawURL}, nil
}

func openSQLite(rawURL string) (*DB, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("store: SQLite needs a file path (in-memory databases cannot be shared between connections)")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("store: create directory for %s: %w", path, err)
		}
	}
	pragmas := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(ON)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open SQLite %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	db := &DB{dialect: SQLite, write: w, read: r, MaxAttempts: 10, path: path, rstmts: &stmtCache{db: r}, wstmts: &stmtCache{db: w}}
	db.reader = cachedReader{DB: r, c: db.rstmts}
	return db, nil
}

// Dialect reports which database this is.
func (db *DB) Dialect() Dialect { return db.dialect }

// Read returns a Queryer for reads outside a transaction. On SQLite it runs
// single statements through statements prepared once per text.
func (db *DB) Read() Queryer { return db.reader }

// ReadPool returns the *sql.DB reads go through (on PostgreSQL the one pool),
// for what needs the pool itself: a read-only transaction, say.
func (db *DB) ReadPool() *sql.DB { return db.read }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", db.dialect, err)
	}
	if db.read != db.write {
		if err := db.read.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping %s reader: %w", db.dialect, err)
		}
	}
	return nil
}

// Writer returns the database handle writes go through: on SQLite its single
// connection, on PostgreSQL the pool. It is for libraries that need a
// *sql.DB of their own (the job queue); payper's code uses WithTx.
func (db *DB) Writer() *sql.DB { return db.write }

// PgxPool returns a native pgx pool on the same PostgreSQL database and
// search_path (made on first use, closed by Close), for libraries that need
// one (the job queue). On SQLite it returns an error.
func (db *DB) PgxPool(ctx context.Context) (*pgxpool.Pool, error) {
	if db.dialect != Postgres {
		return nil, fmt.Errorf("store: a pgx pool needs PostgreSQL, not %s", db.dialect)
	}
	db.poolMu.Lock()
	defer db.poolMu.Unlock()
	if db.pool != nil {
		return db.pool, nil
	}
	cfg, err := pgxpool.ParseConfig(db.pgURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse PostgreSQL URL: %w", err)
	}
	cfg.MaxConns = 10
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open pgx pool: %w", err)
	}
	db.pool = pool
	return pool, nil
}

// Close closes every connection.
func (db *DB) Close() error {
	db.poolMu.Lock()
	if db.pool != nil {
		db.pool.Close()
		db.pool = nil
	}
	db.poolMu.Unlock()
	for _, c := range []*stmtCache{db.rstmts, db.wstmts} {
		if c != nil {
			c.close()
		}
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	return err
}

// Tx is a write transaction. It embeds *sql.Tx and knows its dialect.
type Tx struct {
	*sql.Tx
	conn    *sql.Conn
	dialect Dialect
	db      *DB
	// unprepared lists statements new to the SQLite statement cache, to be
	// prepared once the transaction is over.
	unprepared []string
	// busy marks the prepared queries whose rows QueryAll is reading.
	busy map[string]bool
}

// Dialect reports which database the transaction runs on.
func (tx *Tx) Dialect() Dialect { return tx.dialect }

// WithTx runs fn in a write transaction and commits it, or rolls it back when
// fn returns an error. On SQLite the transaction is BEGIN IMMEDIATE. When the
// database reports a serialization failure, a deadlock or a busy lock, or fn
// returns an error wrapping ErrRetry, the whole transaction runs again (up to
// MaxAttempts), so fn must not have effects outside the transaction. It
// returns fn's error, or the commit's.
func (db *DB) WithTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 1; ; attempt++ {
		var unprepared []string
		unprepared, err = db.tryTx(ctx, fn)
		if len(unprepared) > 0 && ctx.Err() == nil {
			db.prepareLater(ctx, unprepared)
		}
		if err == nil || !retryable(err) || attempt >= db.MaxAttempts || ctx.Err() != nil {
			return err
		}
		backoff := time.Duration(attempt*attempt) * time.Millisecond
		backoff += time.Duration(rand.Int64N(int64(backoff) + 1))
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
	}
}

// tryTx runs fn in one transaction. It also returns the statements the
// transaction ran that the SQLite statement cache should prepare.
func (db *DB) tryTx(ctx context.Context, fn func(tx *Tx) error) (unprepared []string, err error) {
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: get connection: %w", err)
	}
	defer conn.Close()
	stx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	tx := &Tx{Tx: stx, conn: conn, dialect: db.dialect, db: db}
	defer func() {
		if p := recover(); p != nil {
			_ = stx.Rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		_ = stx.Rollback()
		return tx.unprepared, err
	}
	if err := stx.Commit(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// database/sql may report a cancelled transaction as "already
			// rolled back"; name the cause the caller can act on.
			return tx.unprepared, fmt.Errorf("store: commit: %w (%v)", cerr, err)
		}
		return tx.unprepared, fmt.Errorf("store: commit: %w", err)
	}
	return tx.unprepared, nil
}

func retryable(err error) bool {
	if errors.Is(err, ErrRetry) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// IsUniqueViolation reports whether err is a unique or primary-key constraint violation.
func IsUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// ForUpdate returns the row-locking suffix for a SELECT inside a write
// transaction: " FOR UPDATE" on PostgreSQL, "" on SQLite (whose immediate
// transactions already hold the database's one write lock).
func (tx *Tx) ForUpdate() string {
	if tx.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// InText returns an SQL condition "expr matches one of the strings bound to
// placeholder $n", and the argument to bind there.
func InText(d Dialect, expr string, n int, vals []string) (string, any) {
	if d == Postgres {
		return fmt.Sprintf("%s = ANY($%d::text[])", expr, n), vals
	}
	b, _ := json.Marshal(vals) // []string always marshals
	return fmt.Sprintf("%s IN (SELECT value FROM json_each($%d))", expr, n), string(b)
}

// BulkInsert appends rows to table as fast as the database allows: COPY on
// PostgreSQL, prepared multi-row INSERTs on SQLite. Every row must have
// len(cols) values. It returns the first error; the caller's transaction is
// then unusable.
func (tx *Tx) BulkInsert(ctx context.Context, table string, cols []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if tx.dialect == Postgres {
		return tx.conn.Raw(func(dc any) error {
			pc := dc.(*stdlib.Conn).Conn()
			_, err := pc.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("store: copy into %s: %w", table, err)
			}
			return nil
		})
	}
	chunk := bulkChunk(len(cols), len(rows))
	args := make([]any, 0, chunk*len(cols))
	for start := 0; start < len(rows); start += chunk {
		end := min(start+chunk, len(rows))
		args = args[:0]
		for _, r := range rows[start:end] {
			args = append(args, r...)
		}
		if _, err := tx.execBulk(ctx, end-start == bulkChunk(len(cols), 1<<30), insertSQL(table, cols, end-start), args); err != nil {
			return fmt.Errorf("store: insert into %s: %w", table, err)
		}
	}
	return nil
}

// maxCachedBatchRows bounds the rows of an InsertBatch that SQLite runs
// through a cached statement (one per row count and table).
const maxCachedBatchRows = 32

// InsertBatch is BulkInsert for the few rows one group-commit batch writes
// (earnings, conversions, orders of a batch of webhooks): on SQLite, up to
// maxCachedBatchRows rows go in one INSERT prepared and cached for its row
// count, which BulkInsert leaves unprepared (parsing them was a tenth of an
// order webhook's CPU); more rows, and PostgreSQL, go through BulkInsert.
func (tx *Tx) InsertBatch(ctx context.Context, table string, cols []string, rows [][]any) error {
	if tx.dialect != SQLite || len(rows) == 0 || len(rows) > maxCachedBatchRows {
		return tx.BulkInsert(ctx, table, cols, rows)
	}
	args := make([]any, 0, len(rows)*len(cols))
	for _, r := range rows {
		args = append(args, r...)
	}
	if _, err := tx.ExecContext(ctx, insertSQL(table, cols, len(rows)), args...); err != nil {
		return fmt.Errorf("store: insert into %s: %w", table, err)
	}
	return nil
}

// execBulk runs one chunk of a SQLite bulk statement: a full-size one
// through the statement cache, a shorter one (the last of a bulk write, any
// length) unprepared, so those do not fill the cache.
func (tx *Tx) execBulk(ctx context.Context, full bool, query string, args []any) (sql.Result, error) {
	if full {
		return tx.ExecContext(ctx, query, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// bulkChunk is how many rows one SQLite bulk INSERT statement carries.
func bulkChunk(cols, rows int) int {
	const maxParams = 30000
	return max(1, min(rows, 500, maxParams/cols))
}

// PrepareBulk prepares, once for the database, the full-size statement that
// BulkInsert uses for table and cols on SQLite, so transactions reuse it
// instead of parsing it again. Call it outside any transaction (the SQLite
// writer has one connection). On PostgreSQL, which bulk-loads with COPY, it
// does nothing. It returns an error when the statement does not prepare.
func (db *DB) PrepareBulk(ctx context.Context, table string, cols []string) error {
	if db.dialect != SQLite {
		return nil
	}
	return db.prepareOnce(ctx, insertSQL(table, cols, bulkChunk(len(cols), 1<<30)))
}

func insertSQL(table string, cols []string, n int) string {
	var b strings.Builder
	row := "(" + strings.Repeat("?,", len(cols)-1) + "?)"
	b.Grow(len(table) + 40 + n*(len(row)+1))
	fmt.Fprintf(&b, "INSERT INTO %s (%s) VALUES ", table, strings.Join(cols, ","))
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	return b.String()
}

// BulkUpdate sets cols of the rows of table whose key column equals each
// row's first value: rows[i] is (key, cols[0], cols[1], …). On PostgreSQL
// the values go as one array per column into one UPDATE … FROM unnest(…);
// on SQLite they go in chunks of UPDATE … FROM (VALUES …) with anonymous
// parameters (prepared once per database by PrepareBulkUpdate, when
// called). Values must be string, int64 or bool. It returns how many rows
// of table were updated.
func (tx *Tx) BulkUpdate(ctx context.Context, table, key string, cols []string, rows [][]any) (int64, error) {
	return tx.bulkUpdate(ctx, table, key, "", cols, rows)
}

// BulkUpdateIf is BulkUpdate where each row also names the value its guard
// column must still hold: rows[i] is (key, guard value, cols[0], …). Rows
// whose guard column holds anything else are left alone, so the count it
// returns tells whether another writer got there first (compare-and-set).
func (tx *Tx) BulkUpdateIf(ctx context.Context, table, key, guard string, cols []string, rows [][]any) (int64, error) {
	return tx.bulkUpdate(ctx, table, key, guard, cols, rows)
}

func (tx *Tx) bulkUpdate(ctx context.Context, table, key, guard string, cols []string, rows [][]any) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	lead := []string{key}
	if guard != "" {
		lead = append(lead, "guard_old")
	}
	if len(rows[0]) != len(cols)+len(lead) {
		return 0, fmt.Errorf("store: bulk update of %s: rows have %d values for %d columns", table, len(rows[0]), len(cols)+len(lead))
	}
	if tx.dialect == SQLite {
		return tx.bulkUpdateSQLite(ctx, table, key, guard, cols, rows)
	}
	// PostgreSQL: one UPDATE … FROM unnest($1::type[], $2::type[], …), a
	// parameter array per column: no temporary table to create and drop.
	all := append(lead[:len(lead):len(lead)], cols...)
	args := make([]any, len(all))
	types := make([]string, len(all))
	for i, c := range all {
		switch rows[0][i].(type) {
		case string:
			types[i], args[i] = "text[]", column[string](rows, i)
		case int64:
			types[i], args[i] = "bigint[]", column[int64](rows, i)
		case bool:
			types[i], args[i] = "boolean[]", column[bool](rows, i)
		default:
			return 0, fmt.Errorf("store: bulk update of %s: column %s has unsupported type %T", table, c, rows[0][i])
		}
		if args[i] == nil {
			return 0, fmt.Errorf("store: bulk update of %s: column %s mixes types", table, c)
		}
	}
	params := make([]string, len(all))
	for i := range all {
		params[i] = fmt.Sprintf("$%d::%s", i+1, types[i])
	}
	sets := make([]string, len(cols))
	for i, c := range cols {
		sets[i] = c + " = v." + c
	}
	where := table + "." + key + " = v." + key
	if guard != "" {
		where += " AND " + table + "." + guard + " = v.guard_old"
	}
	res, err := tx.ExecContext(ctx, "UPDATE "+table+" SET "+strings.Join(sets, ", ")+" FROM unnest("+strings.Join(params, ", ")+") AS v("+
		strings.Join(all, ", ")+") WHERE "+where, args...)
	if err != nil {
		return 0, fmt.Errorf("store: bulk update of %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: bulk update of %s: %w", table, err)
	}
	return n, nil
}

// column returns the i-th values of rows as a []T, or nil when one of them
// is not a T.
func column[T any](rows [][]any, i int) any {
	out := make([]T, len(rows))
	for r, row := range rows {
		v, ok := row[i].(T)
		if !ok {
			return nil
		}
		out[r] = v
	}
	return out
}

func (tx *Tx) bulkUpdateSQLite(ctx context.Context, table, key, guard string, cols []string, rows [][]any) (int64, error) {
	width := len(rows[0])
	chunk := bulkChunk(width, len(rows))
	args := make([]any, 0, chunk*width)
	var total int64
	for start := 0; start < len(rows); start += chunk {
		end := min(start+chunk, len(rows))
		args = args[:0]
		for _, r := range rows[start:end] {
			args = append(args, r...)
		}
		res, err := tx.execBulk(ctx, end-start == bulkChunk(width, 1<<30), updateSQL(table, key, guard, cols, end-start), args)
		if err != nil {
			return total, fmt.Errorf("store: bulk update of %s: %w", table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("store: bulk update of %s: %w", table, err)
		}
		total += n
	}
	return total, nil
}

// PrepareBulkUpdate prepares, once for the database, the full-size statement
// BulkUpdate (guard "") or BulkUpdateIf uses on SQLite for table, key, guard
// and cols. Call it outside any transaction; on PostgreSQL it does nothing.
func (db *DB) PrepareBulkUpdate(ctx context.Context, table, key, guard string, cols []string) error {
	if db.dialect != SQLite {
		return nil
	}
	width := len(cols) + 1
	if guard != "" {
		width++
	}
	return db.prepareOnce(ctx, updateSQL(table, key, guard, cols, bulkChunk(width, 1<<30)))
}

func (db *DB) prepareOnce(ctx context.Context, query string) error {
	if db.wstmts.lookup(query) != nil {
		return nil
	}
	if _, err := db.wstmts.prepare(ctx, query); err != nil {
		return fmt.Errorf("store: prepare %.60s…: %w", query, err)
	}
	return nil
}

// updateSQL is SQLite's UPDATE … FROM (VALUES …) for n rows; VALUES columns
// are named column1, column2, … in order: the key, the guard's expected
// value when there is a guard, then cols.
func updateSQL(table, key, guard string, cols []string, n int) string {
	lead := 1
	if guard != "" {
		lead = 2
	}
	var b strings.Builder
	fmt.Fprintf(&b, "UPDATE %s SET ", table)
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = v.column%d", c, i+lead+1)
	}
	b.WriteString(" FROM (VALUES ")
	row := "(" + strings.Repeat("?,", len(cols)+lead-1) + "?)"
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	fmt.Fprintf(&b, ") AS v WHERE %s.%s = v.column1", table, key)
	if guard != "" {
		fmt.Fprintf(&b, " AND %s.%s = v.column2", table, guard)
	}
	return b.String()
}

// Scanner is a row that can be scanned: *sql.Row or *sql.Rows.
type Scanner = interface{ Scan(dest ...any) error }

// QueryAll runs query on q and scans every row with scan, in order. It
// returns an empty (non-nil) slice when there are no rows, and the first
// error of the query, a scan or the iteration.
//
// In a SQLite write transaction (*Tx), a query run before goes through its
// prepared statement (see Tx.queryAll).
func QueryAll[T any](ctx context.Context, q Queryer, scan func(Scanner) (T, error), query string, args ...any) ([]T, error) {
	var rows *sql.Rows
	var err error
	if tx, ok := q.(*Tx); ok {
		var release func()
		rows, release, err = tx.queryAll(ctx, query, args...)
		defer release() // after rows.Close below
	} else {
		rows, err = q.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
