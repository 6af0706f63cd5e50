package account

import (
	"strings"
	"testing"
)

// FuzzParseHash: a stored hash of any shape is parsed without panicking,
// and what parses has parameters in range.
func FuzzParseHash(f *testing.F) {
	f.Add(HashPassword("correct horse battery", cheap))
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=-1,t=2,p=1$AA$AA")
	f.Add("$argon2id$v=19$m=99999999999,t=2,p=1$AA$AA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parseHash(s)
		if err != nil {
			return
		}
		if p.Memory == 0 || p.Memory > 4<<20 || p.Time == 0 || p.Threads == 0 || len(key) == 0 || int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("parseHash(%q) = %+v, salt %d, key %d", s, p, len(salt), len(key))
		}
	})
}

// FuzzNormalizeEmail: any input either fails with a field error or gives an
// address that normalises to itself, whose key is its lower-case form.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"ana@example.com", " Ana@Example.COM ", "a@b", "\"quoted local\"@example.com", "a@[127.0.0.1]", "ä@example.com", "a@b.c\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		email, key, err := NormalizeEmail("email", s)
		if err != nil {
			return
		}
		if key != strings.ToLower(email) || len(email) > 254 {
			t.Fatalf("NormalizeEmail(%q) = %q, %q", s, email, key)
		}
		e2, k2, err := NormalizeEmail("email", email)
		if err != nil || e2 != email || k2 != key {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, email, e2, err)
		}
	})
}
