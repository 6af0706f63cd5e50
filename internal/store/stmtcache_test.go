package store

import "testing"

func TestCacheable(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                             true,
		"  select id FROM brands WHERE id = ?": true,
		"INSERT INTO t (a) VALUES (?);":        true,
		"UPDATE t SET a = 1":                   true,
		"DELETE FROM t":                        true,
		"WITH x AS (SELECT 1) SELECT * FROM x": true,
		"CREATE TABLE t (a INT)":               false,
		"DROP TABLE t":                         false,
		"SELECT 1; SELECT 2":                   false,
		"PRAGMA foreign_keys":                  false,
		"":                                     false,
	} {
		if got := cacheable(q); got != want {
			t.Errorf("cacheable(%q) = %v, want %v", q, got, want)
		}
	}
}
