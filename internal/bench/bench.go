// Package bench holds payper's self-contained benchmarks, run by
// "payper bench <name>". Each prints its figures and, on its last line,
// "ratio: X.XX" against a baseline measured side by side in the same run,
// because these machines are shared and absolute times are noise.
package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/store"
)

// TempDB opens a fresh, migrated database for a benchmark: a SQLite file in
// a temporary directory when dbURL is "", or a new schema in the PostgreSQL
// database dbURL names. cleanup removes it.
func TempDB(ctx context.Context, dbURL string) (db *store.DB, desc string, cleanup func(), err error) {
	u, desc, drop, err := TempURL(ctx, dbURL)
	if err != nil {
		return nil, "", nil, err
	}
	db, err = store.Open(ctx, u)
	if err != nil {
		drop()
		return nil, "", nil, err
	}
	cleanup = func() { db.Close(); drop() }
	if _, err := db.Migrate(ctx); err != nil {
		cleanup()
		return nil, "", nil, err
	}
	if db.Dialect() == store.Postgres {
		var version string
		_ = db.Read().QueryRowContext(ctx, "SHOW server_version").Scan(&version)
		desc = "PostgreSQL " + version + " " + desc
	}
	return db, desc, cleanup, nil
}

// TempURL makes room for a fresh benchmark database and returns its URL: a
// file in a new temporary directory when dbURL is "", or dbURL with its
// search_path set to a new schema. cleanup removes the directory or schema
// (close the database first).
func TempURL(ctx context.Context, dbURL string) (u, desc string, cleanup func(), err error) {
	if dbURL == "" || !(strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://")) {
		if dbURL != "" {
			return "", "", nil, fmt.Errorf("--db must be empty (temporary SQLite) or a postgres:// URL")
		}
		dir, err := os.MkdirTemp("", "payper-bench-")
		if err != nil {
			return "", "", nil, fmt.Errorf("bench: temp dir: %w", err)
		}
		path := filepath.Join(dir, "bench.db")
		return path, "SQLite (temporary file " + path + ")", func() { os.RemoveAll(dir) }, nil
	}
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		return "", "", nil, fmt.Errorf("bench: open %s: %w", dbURL, err)
	}
	schema := "bench_" + strings.ToLower(id.Secret(8))
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", "", nil, fmt.Errorf("bench: create schema: %w", err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}
	pu, err := url.Parse(dbURL)
	if err != nil {
		drop()
		return "", "", nil, fmt.Errorf("bench: parse URL: %w", err)
	}
	q := pu.Query()
	q.Set("search_path", schema)
	pu.RawQuery = q.Encode()
	return pu.String(), "(temporary schema " + schema + ")", drop, nil
}

// Machine describes where a benchmark ran.
func Machine() string {
	host, _ := os.Hostname()
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs (%s), %s %s/%s", host, runtime.NumCPU(), cpu, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func perSec(n int, d time.Duration) float64 { return float64(n) / d.Seconds() }
