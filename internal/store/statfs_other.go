//go:build !unix

package store

// freeBytes returns -1 (unknown) where statfs is not available: the write
// probe alone then decides.
func freeBytes(string) (int64, error) { return -1, nil }
