package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

func newBox(t *testing.T) *Box {
	t.Helper()
	key, err := ParseKey(GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	for _, plain := range []string{"", "shpat_0123456789abcdef", strings.Repeat("é", 500)} {
		sealed, err := b.Seal(plain, "stores/sto_123/api_token")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1.") || strings.ContainsAny(sealed, "+/=") {
			t.Fatalf("sealed = %q, want v1. + unpadded base64url", sealed)
		}
		got, err := b.Open(sealed, "stores/sto_123/api_token")
		if err != nil {
			t.Fatal(err)
		}
		if got != plain {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
	}
}

func TestSealDiffers(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	s1, _ := b.Seal("token", "a")
	s2, _ := b.Seal("token", "a")
	if s1 == s2 {
		t.Fatal("two seals of the same text are equal")
	}
}

func TestOpenFailures(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	other := newBox(t)
	const aad = "stores/sto_123/api_token"
	sealed, err := b.Seal("shpat_secret", aad)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "v1."))
	flip := func(i int) string {
		c := bytes.Clone(raw)
		c[i] ^= 1
		return "v1." + base64.RawURLEncoding.EncodeToString(c)
	}
	tests := []struct {
		name, sealed, aad string
		box               *Box
	}{
		{"wrong key", sealed, aad, other},
		{"wrong aad", sealed, "stores/sto_124/api_token", b},
		{"empty aad", sealed, "", b},
		{"flipped nonce byte", flip(0), aad, b},
		{"flipped ciphertext byte", flip(13), aad, b},
		{"flipped tag byte", flip(len(raw) - 1), aad, b},
		{"truncated", sealed[:len(sealed)-3], aad, b},
		{"truncated to nonce", "v1." + base64.RawURLEncoding.EncodeToString(raw[:12]), aad, b},
		{"no prefix", strings.TrimPrefix(sealed, "v1."), aad, b},
		{"bad prefix", "v2." + strings.TrimPrefix(sealed, "v1."), aad, b},
		{"empty", "", aad, b},
		{"only prefix", "v1.", aad, b},
		{"bad encoding", "v1.!!!!" + strings.TrimPrefix(sealed, "v1."), aad, b},
		{"padded", sealed + "==", aad, b},
		{"std alphabet", "v1." + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 40)), aad, b},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.box.Open(tt.sealed, tt.aad)
			if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open err = %v, want ErrOpen", err)
			}
			if got != "" {
				t.Fatalf("Open returned %q with an error", got)
			}
		})
	}
}

func TestNewKeyLength(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New(%d bytes) succeeded", n)
		}
	}
}

func TestBoxDoesNotPrintKey(t *testing.T) {
	t.Parallel()
	b := newBox(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, b); s != "secret.Box{…}" {
			t.Errorf("Sprintf(%s) = %q", verb, s)
		}
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i*7 + 250) // includes bytes giving + / - _ in base64
	}
	tests := []struct {
		name, in string
		wantErr  string // substring; empty = success
	}{
		{"std padded", base64.StdEncoding.EncodeToString(key), ""},
		{"std raw", base64.RawStdEncoding.EncodeToString(key), ""},
		{"url padded", base64.URLEncoding.EncodeToString(key), ""},
		{"url raw", base64.RawURLEncoding.EncodeToString(key), ""},
		{"hex lower", hex.EncodeToString(key), ""},
		{"hex upper", strings.ToUpper(hex.EncodeToString(key)), ""},
		{"surrounding space", "  " + base64.StdEncoding.EncodeToString(key) + "\n", ""},
		{"empty", "", "empty"},
		{"blank", " \n", "empty"},
		{"short base64", base64.StdEncoding.EncodeToString(key[:16]), "16 bytes, want 32"},
		{"long base64", base64.StdEncoding.EncodeToString(append(key, key...)), "64 bytes, want 32"},
		{"short hex", hex.EncodeToString(key[:31]), "want 32"},
		{"not base64", "this is not a key!", "neither base64 nor"},
		{"hex with junk", strings.Repeat("g", 64), "48 bytes, want 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKey(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, key) {
					t.Fatalf("ParseKey = %x, want %x", got, key)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseKey err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	t.Parallel()
	k1, k2 := GenerateKey(), GenerateKey()
	if k1 == k2 {
		t.Fatal("GenerateKey repeated itself")
	}
	if _, err := base64.StdEncoding.DecodeString(k1); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKey(k1); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "payper.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Fatalf("key is %d bytes", len(k1))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %04o, want 0600", info.Mode().Perm())
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Fatal("second call returned a different key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateKeyFileFormats(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{0xab}, 32)
	path := filepath.Join(t.TempDir(), "k")
	if err := os.WriteFile(path, []byte("\n"+hex.EncodeToString(key)+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, key) {
		t.Fatalf("key = %x", got)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKeyFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("garbage key file: err = %v, want an error naming the file", err)
	}
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	t.Parallel()
	for round := range 5 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("race-%d.key", round))
		var wg sync.WaitGroup
		keys := make([][]byte, 8)
		errs := make([]error, 8)
		for i := range keys {
			wg.Go(func() { keys[i], errs[i] = LoadOrCreateKeyFile(path) })
		}
		wg.Wait()
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("goroutine %d: %v", i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("goroutine %d got a different key", i)
			}
		}
		onDisk, err := LoadOrCreateKeyFile(path)
		if err != nil || !bytes.Equal(onDisk, keys[0]) {
			t.Fatalf("key on disk differs from the returned key (err %v)", err)
		}
	}
}

func TestLoadOrCreateKeyFileRefusesOpenMode(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660} {
		path := filepath.Join(t.TempDir(), "k")
		if err := os.WriteFile(path, []byte(GenerateKey()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKeyFile(path)
		if err == nil || !strings.Contains(err.Error(), "group or others") {
			t.Fatalf("mode %04o: err = %v, want refusal", mode, err)
		}
	}
}
