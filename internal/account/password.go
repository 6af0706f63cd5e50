package account

import (
	"bufio"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/payper/payper/internal/errs"
)

// Password length limits, in characters. NIST SP 800-63B §3.1.1.2 asks for
// at least 8 and for accepting at least 64; the issue sets 10.
const (
	MinPasswordLen = 10
	MaxPasswordLen = 256
)

// Params are argon2id's cost parameters.
//
// DefaultParams follow OWASP's Password Storage Cheat Sheet ("Argon2id with a
// minimum configuration of 19 MiB of memory, an iteration count of 2, and 1
// degree of parallelism", https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#argon2id),
// which is lighter than RFC 9106 §4's second recommended option (t=3,
// p=4, m=64 MiB) so that a small self-hosted server can take a burst of
// sign-ins; both use a 128-bit salt and a 256-bit tag. The parameters are
// stored in every hash, so raising them later re-hashes each password at its
// next sign-in (see Service.Login) and old hashes keep verifying.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams are OWASP's minimum for argon2id: m=19 MiB, t=2, p=1.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

var b64 = base64.RawStdEncoding

// HashPassword returns password hashed with argon2id under p, in the PHC
// string format: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string, p Params) string {
	salt := make([]byte, p.SaltLen)
	_, _ = rand.Read(salt) // crypto/rand.Read never fails (Go ≥ 1.24)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// parseHash reads a PHC argon2id string. It returns an error for anything
// else.
func parseHash(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("account: not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("account: unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("account: bad argon2 parameters %q: %w", parts[3], err)
	}
	if p.Memory == 0 || p.Time == 0 || p.Threads == 0 || p.Memory > 4<<20 {
		return p, nil, nil, fmt.Errorf("account: argon2 parameters out of range %q", parts[3])
	}
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, fmt.Errorf("account: bad argon2 salt: %w", err)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) == 0 {
		return p, nil, nil, fmt.Errorf("account: bad argon2 hash: %v", err)
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether password matches encoded (made by
// HashPassword, with whatever parameters it names), comparing in constant
// time. stale is true when encoded's parameters are weaker than want, so
// the caller should store a new hash. It returns an error for a malformed
// hash.
func VerifyPassword(encoded, password string, want Params) (ok, stale bool, err error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	ok = subtle.ConstantTimeCompare(got, key) == 1
	stale = p.Memory < want.Memory || p.Time < want.Time || p.Threads < want.Threads || p.KeyLen < want.KeyLen || p.SaltLen < want.SaltLen
	return ok, stale, nil
}

//go:embed common-passwords.txt
var commonList string

var (
	commonOnce sync.Once
	common     map[string]bool
)

func commonSet() map[string]bool {
	commonOnce.Do(func() {
		common = make(map[string]bool, 4096)
		sc := bufio.NewScanner(strings.NewReader(commonList))
		for sc.Scan() {
			if w := strings.ToLower(strings.TrimSpace(sc.Text())); w != "" {
				common[w] = true
			}
		}
	})
	return common
}

// IsCommonPassword reports whether pw is in the embedded common-password
// list (common-passwords.md) ignoring case, is such a word wrapped in digits
// or punctuation ("Password2024!"), such a word repeated ("qwertyqwerty"),
// or one character repeated.
func IsCommonPassword(pw string) bool {
	set := commonSet()
	lw := strings.ToLower(pw)
	if set[lw] {
		return true
	}
	core := strings.TrimFunc(lw, func(r rune) bool { return r < 0x80 && !(r >= 'a' && r <= 'z') })
	if utf8.RuneCountInString(core) >= 4 && set[core] {
		return true
	}
	if core == "" {
		core = lw
	}
	// one character, or one listed word, repeated
	for n := 1; n <= len(core)/2; n++ {
		if len(core)%n != 0 || strings.Repeat(core[:n], len(core)/n) != core {
			continue
		}
		if n == 1 || set[core[:n]] {
			return true
		}
	}
	return false
}

// CheckPassword applies payper's password rules: 10 to 256 characters,
// valid UTF-8, not common (IsCommonPassword), not the email address. It
// returns an Invalid error for field naming the rule broken.
func CheckPassword(field, pw, email string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return errs.Invalidf(field, "invalid_text", "%s is not valid UTF-8", field)
	case n < MinPasswordLen:
		return errs.Invalidf(field, "too_short", "%s must be at least %d characters", field, MinPasswordLen)
	case n > MaxPasswordLen:
		return errs.Invalidf(field, "too_long", "%s must be at most %d characters", field, MaxPasswordLen)
	case IsCommonPassword(pw):
		return errs.Invalidf(field, "common_password", "%s is too common; choose one that is not on lists of leaked passwords", field)
	case email != "" && strings.EqualFold(pw, email):
		return errs.Invalidf(field, "password_is_email", "%s must not be your email address", field)
	}
	return nil
}
