package account

import (
	"strings"
	"testing"

	"github.com/payper/payper/internal/errs"
)

// cheap are argon2id parameters that keep tests fast; production uses
// DefaultParams.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashPassword(t *testing.T) {
	h := HashPassword("correct horse battery", DefaultParams)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry OWASP's parameters", h)
	}
	if h2 := HashPassword("correct horse battery", DefaultParams); h2 == h {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	ok, stale, err := VerifyPassword(h, "correct horse battery", DefaultParams)
	if err != nil || !ok || stale {
		t.Fatalf("verify = %v, %v, %v; want true, false, nil", ok, stale, err)
	}
	if ok, _, _ := VerifyPassword(h, "correct horse batterx", DefaultParams); ok {
		t.Fatal("a wrong password verified")
	}
	// A hash made with weaker parameters still verifies and is reported stale.
	weak := HashPassword("correct horse battery", cheap)
	ok, stale, err = VerifyPassword(weak, "correct horse battery", DefaultParams)
	if err != nil || !ok || !stale {
		t.Fatalf("verify weak = %v, %v, %v; want true, true, nil", ok, stale, err)
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=16$m=64,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=0,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=64,t=1,p=1$!!$AAAA"} {
		if _, _, err := VerifyPassword(bad, "x", DefaultParams); err == nil {
			t.Errorf("VerifyPassword(%q) accepted a malformed hash", bad)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct{ pw, code string }{
		{"short", "too_short"},
		{"123456789", "too_short"},
		{strings.Repeat("x", 257) + "Ab1", "too_long"},
		{"qwertyuiop", "common_password"},    // listed as is
		{"QwertyUIOP", "common_password"},    // case does not matter
		{"password1234!", "common_password"}, // a listed word wrapped in digits and punctuation
		{"2024dragon!!", "common_password"},
		{"monkeymonkey", "common_password"}, // a listed word repeated
		{"aaaaaaaaaaaa", "common_password"}, // one character repeated
		{"0000000000", "common_password"},
		{"ana@example.com", "password_is_email"},
		{"\xff\xfe bad utf-8 bytes", "invalid_text"},
		{"correct horse battery", ""},
		{"Tr0ub4dor&3-xk", ""},
		{"passwordless-sunrise", ""},
	} {
		err := CheckPassword("password", tc.pw, "ana@example.com")
		if got := codeOrEmpty(err); got != tc.code {
			t.Errorf("CheckPassword(%q) = %v; want code %q", tc.pw, err, tc.code)
		}
		if err != nil {
			var e *errs.Error
			if !errs.Is(err, errs.Invalid) || !asErr(err, &e) || e.Field != "password" {
				t.Errorf("CheckPassword(%q) = %#v; want Invalid on field password", tc.pw, err)
			}
		}
	}
	if n := len(commonSet()); n < 3000 {
		t.Fatalf("embedded common-password list has %d entries; want the 3,546 of password.lst", n)
	}
}

func codeOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return errs.CodeOf(err)
}
