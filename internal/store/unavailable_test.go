package store_test

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payper/payper/internal/store"
)

// TestIsUnavailable checks which errors are outages (503 and retry) and
// which are not (a bug, a conflict, the client's own cancellation).
func TestIsUnavailable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("campaign: insert: %w", err) }
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("syntax error at or near"), false},
		{context.Canceled, false},
		{wrap(store.ErrRetry), false},
		{&pgconn.PgError{Code: "23505"}, false}, // unique violation
		{&pgconn.PgError{Code: "40001"}, false}, // serialization failure, retried by WithTx
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined table: a bug
		{&pgconn.PgError{Code: "22021"}, false}, // bad byte sequence: the input's fault
		{wrap(&pgconn.PgError{Code: "08006"}), true},
		{wrap(&pgconn.PgError{Code: "53100"}), true}, // disk_full
		{&pgconn.PgError{Code: "53300"}, true},       // too_many_connections
		{&pgconn.PgError{Code: "57P01"}, true},       // admin_shutdown
		{&pgconn.PgError{Code: "57P03"}, true},       // cannot_connect_now
		{&pgconn.PgError{Code: "25006"}, true},       // read-only (a standby)
		{wrap(context.DeadlineExceeded), true},
		{wrap(driver.ErrBadConn), true},
		{wrap(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true},
		{wrap(syscall.ECONNRESET), true},
		{wrap(syscall.ENOSPC), true},
		{wrap(io.ErrUnexpectedEOF), true},
	} {
		if got := store.IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
