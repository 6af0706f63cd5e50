package secret

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// LoadOrCreateKeyFile returns the key stored in the file at path, in any
// format ParseKey accepts. If the file does not exist it creates it, and any
// missing parent directories (mode 0700), holding a new key from GenerateKey
// with mode 0600. Creation is atomic: the key is written to a temporary file
// that is then linked to path only if path is still absent, so processes that
// race on a fresh path all end with the key of the first one to finish.
//
// It returns an error if the file cannot be read or written, does not hold a
// valid key, or (on Unix) grants any permission to group or others.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKeyFile(path); err != nil {
		return nil, err
	}
	return readKeyFile(path)
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	if perm := info.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("secret: key file %s has mode %04o, refusing a key that group or others can access (chmod 600 it)", path, perm)
	}
	data, err := readAllLimited(f, 4096)
	if err != nil {
		return nil, fmt.Errorf("secret: key file %s: %w", path, err)
	}
	key, err := ParseKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

func readAllLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("larger than %d bytes", limit)
	}
	return data, nil
}

func createKeyFile(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret: creating key directory: %w", err)
	}
	// os.CreateTemp opens with O_EXCL and mode 0600.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("secret: creating key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		tmp.Close()
		return fmt.Errorf("secret: creating key file: %w", err)
	}
	if _, err := tmp.WriteString(GenerateKey() + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("secret: writing key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("secret: writing key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("secret: writing key file: %w", err)
	}
	// A hard link, unlike rename, fails when the target exists, so a key
	// written by a concurrent process is never replaced.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return fmt.Errorf("secret: installing key file: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // best effort: make the new directory entry durable
		d.Close()
	}
	return nil
}

// KeyFileFor returns the default key file of a database URL: the SQLite
// file's path + ".key", or "" for PostgreSQL, whose servers must share a
// key given to each of them.
func KeyFileFor(dbURL string) string {
	if dbURL == "" {
		dbURL = "payper.db"
	}
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		return ""
	}
	p := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "file:")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p + ".key"
}
