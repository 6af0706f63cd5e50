package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsUnavailable reports whether err says the database cannot serve writes
// (or reads) right now, through no fault of the request: the server cannot
// be reached or went away, it is shutting down or out of resources (disk,
// memory, connections), or the SQLite file is full, unwritable, failing
// I/O or still locked once the busy timeout and WithTx's retries are spent.
// A caller answers such an error with "try again later" (HTTP 503), not as a
// bug. Bad SQL, constraint violations and a request's own cancellation are
// not unavailability.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgUnavailable(pgErr.Code)
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
			sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_NOMEM:
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case errors.As(err, &connErr), errors.As(err, &opErr):
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT), errors.Is(err, syscall.EROFS),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	case pgconn.Timeout(err):
		return true
	}
	// pgx reports a connection it has found closed (the server went away
	// between statements) without a typed error.
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "sql: database is closed") ||
		strings.Contains(msg, "failed to connect to")
}

// pgUnavailable reports whether a PostgreSQL SQLSTATE is an outage: class
// 08 (connection exception), 53 (insufficient resources: 53100 disk_full,
// 53200 out_of_memory, 53300 too_many_connections), 57P01–57P03
// (admin/crash shutdown, cannot connect now), 58 (system error: I/O) and
// 25006 (read-only transaction: a standby after failover).
func pgUnavailable(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"), strings.HasPrefix(code, "58"):
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", "57P05", "25006":
		return true
	}
	return false
}

// DefaultMinFreeBytes is the free space below which CheckWritable calls a
// SQLite database's disk full: room for a WAL's worth of writes and a
// checkpoint, so the server says so before SQLite fails a commit.
const DefaultMinFreeBytes = 64 << 20

// CheckWritable reports whether the database can take a write now, without
// writing anything lasting. On SQLite it checks the free space of the
// file system holding the database (at least MinFreeBytes, which
// statfs reads without touching the disk) and runs a write that needs a new
// page in a transaction it rolls back — which fails like a real write when
// the file may not grow (SQLITE_FULL), is read-only or stays locked; a
// rolled-back transaction in WAL mode writes nothing to the file, so the
// check does not wear the disk; while another write holds the one writer
// connection, the free-space check alone answers. On PostgreSQL it takes a transaction id in
// a rolled-back transaction, which fails on a read-only standby and when the
// server refuses writes. It returns an error saying why not.
func (db *DB) CheckWritable(ctx context.Context) error {
	if db.dialect == SQLite && db.path != "" {
		min := db.MinFreeBytes
		if min == 0 {
			min = DefaultMinFreeBytes
		}
		free, err := freeBytes(filepath.Dir(db.path))
		if err != nil {
			return fmt.Errorf("store: free space of %s: %w", filepath.Dir(db.path), err)
		}
		if free >= 0 && free < min {
			return fmt.Errorf("store: disk full: %d bytes free beside %s, fewer than %d: %w", free, db.path, min, syscall.ENOSPC)
		}
	}
	if db.dialect == SQLite && db.write.Stats().InUse > 0 {
		// The one writer is busy with a write: the database is taking
		// writes, and waiting behind a long one would call a busy server
		// not ready. The free-space check above stands.
		return nil
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: get connection: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	probe := `SELECT txid_current()`
	if db.dialect == SQLite {
		// A table of its own and a row larger than a page: the write
		// allocates pages as any insert would, and is rolled back.
		if _, err := tx.ExecContext(ctx, `CREATE TABLE payper_write_probe (b BLOB)`); err != nil {
			return fmt.Errorf("store: write probe: %w", err)
		}
		probe = `INSERT INTO payper_write_probe (b) VALUES (zeroblob(8192))`
	}
	if _, err := tx.ExecContext(ctx, probe); err != nil {
		return fmt.Errorf("store: write probe: %w", err)
	}
	return nil
}
