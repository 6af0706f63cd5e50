package money_test

import (
	"errors"
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

// The grammar of ParseMicros, written independently of the parser.
var (
	// A well-formed amount: it parses unless it is out of range.
	grammarRE = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,6})?$`)
	// Well-formed except for having more than six decimals.
	tooManyDecimalsRE = regexp.MustCompile(`^-?[0-9]+\.[0-9]{7,}$`)
)

func FuzzParseMicros(f *testing.F) {
	for _, tc := range validParse {
		f.Add(tc.in)
		f.Add(tc.format)
	}
	for _, tc := range invalidParse {
		f.Add(tc.in)
	}
	for _, s := range []string{
		"9223372036854.775807", "9223372036854.775808", "-9223372036854.775808", "-9223372036854.775809",
		"18446744073709.551616", "0.000000", "-0", "1.0000000", "٣", "0x1p3", "1e+5", "٫5",
	} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, s string) {
		got, err := money.ParseMicros(s) // must not panic

		if err != nil {
			if got != 0 {
				t.Fatalf("ParseMicros(%q) returned %d alongside an error", s, got)
			}
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("ParseMicros(%q): error %v (%T) is not an *errs.Error", s, err, err)
			}
			if e.Kind != errs.Invalid || e.Field != "amount" {
				t.Fatalf("ParseMicros(%q): error kind=%s field=%q, want invalid/amount", s, e.Kind, e.Field)
			}
			// The code must be the one the grammar predicts.
			var want string
			switch {
			case grammarRE.MatchString(s):
				want = "amount_overflow"
				if fitsInt64(bigMicros(t, s)) {
					t.Fatalf("ParseMicros(%q) rejected an in-range amount: %v", s, err)
				}
			case tooManyDecimalsRE.MatchString(s):
				want = "too_many_decimals"
			default:
				want = "invalid_amount"
			}
			if e.Code != want {
				t.Fatalf("ParseMicros(%q): code %q, want %q (%v)", s, e.Code, want, err)
			}
			return
		}

		if !grammarRE.MatchString(s) {
			t.Fatalf("ParseMicros(%q) = %d, but the input does not match the grammar", s, got)
		}
		if want := bigMicros(t, s); want.Cmp(big.NewInt(got)) != 0 {
			t.Fatalf("ParseMicros(%q) = %d, math/big says %s", s, got, want)
		}
		canon := money.FormatMicros(got)
		if !grammarRE.MatchString(canon) || !strings.Contains(canon, ".") || len(canon)-strings.IndexByte(canon, '.') != 7 {
			t.Fatalf("FormatMicros(%d) = %q is not canonical", got, canon)
		}
		again, err := money.ParseMicros(canon)
		if err != nil || again != got {
			t.Fatalf("ParseMicros(FormatMicros(%d)) = ParseMicros(%q) = %d, %v", got, canon, again, err)
		}
	})
}
