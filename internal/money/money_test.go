package money_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"pgregory.net/rapid"
)

const (
	codeInvalid   = "invalid_amount"
	codeDecimals  = "too_many_decimals"
	codeOverflow  = "amount_overflow"
	codeNegative  = "negative_amount"
	codeZero      = "zero_amount"
	codeCurrency  = "unknown_currency"
	codeMismatch  = "currency_mismatch"
	fieldAmount   = "amount"
	fieldCurrency = "currency"
)

var supported = []money.Currency{"EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "CAD", "AUD"}

// checkErr fails t unless err is an *errs.Error of kind Invalid with the
// given field and code.
func checkErr(t rapid.TB, err error, field, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s/%s", field, code)
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	if e.Kind != errs.Invalid || e.Field != field || e.Code != code {
		t.Fatalf("error %q: got kind=%s field=%q code=%q, want kind=invalid field=%q code=%q",
			err, e.Kind, e.Field, e.Code, field, code)
	}
	if e.Message == "" {
		t.Fatalf("error with code %s has an empty message", code)
	}
}

// bigMicros returns the exact value of a decimal string that matches the
// grammar, in micro-units, computed independently with math/big.
func bigMicros(t rapid.TB, s string) *big.Int {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	frac += strings.Repeat("0", 6-len(frac))
	v, ok := new(big.Int).SetString(intPart+frac, 10)
	if !ok {
		t.Fatalf("bigMicros(%q): not a decimal", s)
	}
	if neg {
		v.Neg(v)
	}
	return v
}

var (
	bigMin = big.NewInt(math.MinInt64)
	bigMax = big.NewInt(math.MaxInt64)
)

func fitsInt64(v *big.Int) bool { return v.Cmp(bigMin) >= 0 && v.Cmp(bigMax) <= 0 }

// validParse lists strings ParseMicros accepts, their value and their
// canonical formatting.
var validParse = []struct {
	in     string
	micros int64
	format string
}{
	{"0", 0, "0.000000"},
	{"-0", 0, "0.000000"},
	{"-0.0", 0, "0.000000"},
	{"-000.000000", 0, "0.000000"},
	{"0.0", 0, "0.000000"},
	{"7", 7_000_000, "7.000000"},
	{"-7", -7_000_000, "-7.000000"},
	{"12.5", 12_500_000, "12.500000"},
	{"12.50", 12_500_000, "12.500000"},
	{"12.500000", 12_500_000, "12.500000"},
	{"-12.5", -12_500_000, "-12.500000"},
	{"0.000001", 1, "0.000001"},
	{"-0.000001", -1, "-0.000001"},
	{"0.1", 100_000, "0.100000"},
	{"0.01", 10_000, "0.010000"},
	{"0.999999", 999_999, "0.999999"},
	{"-0.999999", -999_999, "-0.999999"},
	{"1", 1_000_000, "1.000000"},
	{"007.5", 7_500_000, "7.500000"},
	{"-007.5", -7_500_000, "-7.500000"},
	{"000000000000000000000000000000000000001", 1_000_000, "1.000000"},
	{"00000000000000000000000000009223372036854.775807", math.MaxInt64, "9223372036854.775807"},
	{"123456.123456", 123_456_123_456, "123456.123456"},
	{"9223372036854", 9_223_372_036_854_000_000, "9223372036854.000000"},
	{"-9223372036854", -9_223_372_036_854_000_000, "-9223372036854.000000"},
	{"9223372036854.7", 9_223_372_036_854_700_000, "9223372036854.700000"},
	{"9223372036854.775807", math.MaxInt64, "9223372036854.775807"},
	{"9223372036854.775806", math.MaxInt64 - 1, "9223372036854.775806"},
	{"-9223372036854.775807", -math.MaxInt64, "-9223372036854.775807"},
	{"-9223372036854.775808", math.MinInt64, "-9223372036854.775808"},
}

// invalidParse lists strings ParseMicros rejects and the code it must use.
var invalidParse = []struct {
	in   string
	code string
}{
	// Not a decimal string.
	{"", codeInvalid},
	{"-", codeInvalid},
	{"--1", codeInvalid},
	{"+1", codeInvalid},
	{"+-1", codeInvalid},
	{"-+1", codeInvalid},
	{"- 1", codeInvalid},
	{"abc", codeInvalid},
	{"12a", codeInvalid},
	{"a12", codeInvalid},
	{"1.2.3", codeInvalid},
	{"1..5", codeInvalid},
	{"1e5", codeInvalid},
	{"1E5", codeInvalid},
	{"1.5e3", codeInvalid},
	{"1e-6", codeInvalid},
	{".", codeInvalid},
	{"-.", codeInvalid},
	{"1.", codeInvalid},
	{"-1.", codeInvalid},
	{".5", codeInvalid},
	{"-.5", codeInvalid},
	{" 1", codeInvalid},
	{"1 ", codeInvalid},
	{" ", codeInvalid},
	{"\t1", codeInvalid},
	{"1\n", codeInvalid},
	{"\n", codeInvalid},
	{"1 000", codeInvalid},
	{"1,000", codeInvalid},
	{"1,5", codeInvalid},
	{"1_000", codeInvalid},
	{"1'000", codeInvalid},
	{"0x10", codeInvalid},
	{"0b1", codeInvalid},
	{"0o7", codeInvalid},
	{"NaN", codeInvalid},
	{"nan", codeInvalid},
	{"Inf", codeInvalid},
	{"-Inf", codeInvalid},
	{"+Inf", codeInvalid},
	{"Infinity", codeInvalid},
	{"\uff11", codeInvalid},       // fullwidth digit one
	{"\uff11.5", codeInvalid},     // fullwidth digit one
	{"\u0661\u0662", codeInvalid}, // Arabic-Indic digits
	{"\u0663.5", codeInvalid},     // Arabic-Indic digit three
	{"\u00bd", codeInvalid},       // vulgar fraction
	{"1.\uff15", codeInvalid},     // fullwidth five after the point
	{"\u22121", codeInvalid},      // U+2212 minus sign
	{"1\x00", codeInvalid},        // NUL
	{"\x00", codeInvalid},         // NUL
	{"\xff", codeInvalid},         // invalid UTF-8
	{"1.-5", codeInvalid},         // sign after the point
	{"1.5-", codeInvalid},         // trailing sign
	{"1-", codeInvalid},           // trailing sign
	{"1.a", codeInvalid},          // letter after the point
	{"1.5.", codeInvalid},         // second point
	{"1.0000000x", codeInvalid},
	{"99999999999999999999x", codeInvalid},

	// More than six decimals, even if they are zeros.
	{"0.0000001", codeDecimals},
	{"-0.0000001", codeDecimals},
	{"1.0000000", codeDecimals},
	{"1.1234567", codeDecimals},
	{"0.00000000000000000000", codeDecimals},
	{"99999999999999999999.1234567", codeDecimals}, // decimals are checked before range

	// Out of int64 micro-units.
	{"9223372036854.775808", codeOverflow},
	{"9223372036854.775809", codeOverflow},
	{"9223372036854.78", codeOverflow},
	{"9223372036855", codeOverflow},
	{"-9223372036854.775809", codeOverflow},
	{"-9223372036855", codeOverflow},
	{"18446744073709.551615", codeOverflow}, // 2^64-1 micros
	{"18446744073709.551616", codeOverflow}, // 2^64 micros: wraps to 0 in a uint64
	{"36893488147419.103232", codeOverflow}, // 2^65 micros
	{"9223372036854775807", codeOverflow},   // MaxInt64 units, not micros
	{"99999999999999999999", codeOverflow},
	{"-99999999999999999999", codeOverflow},
	{"100000000000000000000000000000", codeOverflow},
	{strings.Repeat("9", 1000), codeOverflow},
	{"-" + strings.Repeat("9", 1000) + ".5", codeOverflow},
}

func TestParseMicrosValid(t *testing.T) {
	for _, tc := range validParse {
		got, err := money.ParseMicros(tc.in)
		if err != nil {
			t.Errorf("ParseMicros(%q): unexpected error %v", tc.in, err)
			continue
		}
		if got != tc.micros {
			t.Errorf("ParseMicros(%q) = %d, want %d", tc.in, got, tc.micros)
		}
		if want := bigMicros(t, tc.in); want.Cmp(big.NewInt(got)) != 0 {
			t.Errorf("ParseMicros(%q) = %d, math/big says %s", tc.in, got, want)
		}
		if f := money.FormatMicros(got); f != tc.format {
			t.Errorf("FormatMicros(ParseMicros(%q)) = %q, want %q", tc.in, f, tc.format)
		}
		// format(parse(s)) is a fixed point.
		again, err := money.ParseMicros(money.FormatMicros(got))
		if err != nil || again != got {
			t.Errorf("ParseMicros(FormatMicros(%d)) = %d, %v", got, again, err)
		}
	}
}

func TestParseMicrosInvalid(t *testing.T) {
	for _, tc := range invalidParse {
		name := tc.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			got, err := money.ParseMicros(tc.in)
			if got != 0 {
				t.Errorf("ParseMicros(%q) returned %d alongside an error, want 0", tc.in, got)
			}
			checkErr(t, err, fieldAmount, tc.code)
			if len(err.Error()) > 300 {
				t.Errorf("error message is %d bytes long; long input must be truncated", len(err.Error()))
			}
		})
	}
}

func TestFormatMicros(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0.000000"},
		{1, "0.000001"},
		{-1, "-0.000001"},
		{10, "0.000010"},
		{999_999, "0.999999"},
		{-999_999, "-0.999999"},
		{1_000_000, "1.000000"},
		{-1_000_000, "-1.000000"},
		{1_000_001, "1.000001"},
		{12_500_000, "12.500000"},
		{-12_500_000, "-12.500000"},
		{123_456_789_012, "123456.789012"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MaxInt64 - 1, "9223372036854.775806"},
		{-math.MaxInt64, "-9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
		{math.MinInt64 + 1, "-9223372036854.775807"},
	}
	for _, tc := range tests {
		if got := money.FormatMicros(tc.in); got != tc.want {
			t.Errorf("FormatMicros(%d) = %q, want %q", tc.in, got, tc.want)
		}
		back, err := money.ParseMicros(tc.want)
		if err != nil || back != tc.in {
			t.Errorf("ParseMicros(%q) = %d, %v; want %d", tc.want, back, err, tc.in)
		}
	}
}

func TestParseCurrency(t *testing.T) {
	for _, c := range supported {
		got, err := money.ParseCurrency(string(c))
		if err != nil || got != c {
			t.Errorf("ParseCurrency(%q) = %q, %v", c, got, err)
		}
		if !c.Valid() {
			t.Errorf("%q.Valid() = false", c)
		}
	}
	if !money.EUR.Valid() || !money.USD.Valid() || money.EUR != "EUR" || money.USD != "USD" {
		t.Error("EUR/USD constants are wrong")
	}
	for _, s := range []string{
		"", "eur", "Eur", "eUR", "usd", "EURO", "EU", "E", "XXX", "JPY", "BTC",
		" EUR", "EUR ", "EUR\n", "E R", "\uff25\uff35\uff32", "EUR\x00", "\u20ac",
	} {
		got, err := money.ParseCurrency(s)
		if got != "" {
			t.Errorf("ParseCurrency(%q) returned %q alongside an error", s, got)
		}
		checkErr(t, err, fieldCurrency, codeCurrency)
		if money.Currency(s).Valid() {
			t.Errorf("Currency(%q).Valid() = true", s)
		}
	}
}

func TestParse(t *testing.T) {
	a, err := money.Parse("12.5", money.EUR)
	if err != nil || a != (money.Amount{Micros: 12_500_000, Currency: money.EUR}) {
		t.Fatalf("Parse = %+v, %v", a, err)
	}
	a, err = money.Parse("-0.000001", "CHF")
	if err != nil || a != money.New(-1, "CHF") {
		t.Fatalf("Parse = %+v, %v", a, err)
	}

	tests := []struct {
		s           string
		c           money.Currency
		field, code string
	}{
		{"1.2.3", money.EUR, fieldAmount, codeInvalid},
		{"0.0000001", money.EUR, fieldAmount, codeDecimals},
		{"9223372036854.775808", money.EUR, fieldAmount, codeOverflow},
		{"12.5", "eur", fieldCurrency, codeCurrency},
		{"12.5", "", fieldCurrency, codeCurrency},
		{"12.5", "JPY", fieldCurrency, codeCurrency},
		{"x", "xx", fieldAmount, codeInvalid}, // the amount is checked first
	}
	for _, tc := range tests {
		a, err := money.Parse(tc.s, tc.c)
		if a != (money.Amount{}) {
			t.Errorf("Parse(%q, %q) returned %+v alongside an error", tc.s, tc.c, a)
		}
		checkErr(t, err, tc.field, tc.code)
	}
}

func TestParsePositive(t *testing.T) {
	ok := []struct {
		s    string
		want int64
	}{
		{"0.000001", 1},
		{"1", 1_000_000},
		{"9223372036854.775807", math.MaxInt64},
	}
	for _, tc := range ok {
		a, err := money.ParsePositive(tc.s, money.USD)
		if err != nil || a != money.New(tc.want, money.USD) {
			t.Errorf("ParsePositive(%q) = %+v, %v", tc.s, a, err)
		}
	}
	bad := []struct {
		s           string
		c           money.Currency
		field, code string
	}{
		{"0", money.EUR, fieldAmount, codeZero},
		{"-0", money.EUR, fieldAmount, codeZero},
		{"0.000000", money.EUR, fieldAmount, codeZero},
		{"-0.000000", money.EUR, fieldAmount, codeZero},
		{"-0.000001", money.EUR, fieldAmount, codeNegative},
		{"-1", money.EUR, fieldAmount, codeNegative},
		{"-9223372036854.775808", money.EUR, fieldAmount, codeNegative},
		{"-9223372036854.775809", money.EUR, fieldAmount, codeOverflow},
		{"9223372036854.775808", money.EUR, fieldAmount, codeOverflow},
		{"0.0000001", money.EUR, fieldAmount, codeDecimals},
		{"abc", money.EUR, fieldAmount, codeInvalid},
		{"", money.EUR, fieldAmount, codeInvalid},
		{"1", "gbp", fieldCurrency, codeCurrency},
		{"1", "", fieldCurrency, codeCurrency},
	}
	for _, tc := range bad {
		a, err := money.ParsePositive(tc.s, tc.c)
		if a != (money.Amount{}) {
			t.Errorf("ParsePositive(%q, %q) returned %+v alongside an error", tc.s, tc.c, a)
		}
		checkErr(t, err, tc.field, tc.code)
	}
}

func TestAmountBasics(t *testing.T) {
	a := money.New(12_500_000, money.EUR)
	if a.Micros != 12_500_000 || a.Currency != money.EUR {
		t.Fatalf("New = %+v", a)
	}
	strs := []struct {
		a    money.Amount
		want string
	}{
		{money.New(12_500_000, money.EUR), "12.500000 EUR"},
		{money.New(-1, money.USD), "-0.000001 USD"},
		{money.New(0, "SEK"), "0.000000 SEK"},
		{money.New(math.MinInt64, "GBP"), "-9223372036854.775808 GBP"},
		{money.New(math.MaxInt64, "GBP"), "9223372036854.775807 GBP"},
	}
	for _, tc := range strs {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.a, got, tc.want)
		}
	}
	preds := []struct {
		m             int64
		zero, negativ bool
	}{
		{0, true, false},
		{1, false, false},
		{-1, false, true},
		{math.MaxInt64, false, false},
		{math.MinInt64, false, true},
	}
	for _, tc := range preds {
		a := money.New(tc.m, money.EUR)
		if a.IsZero() != tc.zero || a.IsNegative() != tc.negativ {
			t.Errorf("%d: IsZero=%v IsNegative=%v", tc.m, a.IsZero(), a.IsNegative())
		}
	}
}

func TestAddSub(t *testing.T) {
	const (
		max = math.MaxInt64
		min = math.MinInt64
	)
	tests := []struct {
		a, b         int64
		sum, diff    int64
		sumOK, difOK bool
	}{
		{0, 0, 0, 0, true, true},
		{1, 2, 3, -1, true, true},
		{-1, -2, -3, 1, true, true},
		{max, 0, max, max, true, true},
		{max, 1, 0, max - 1, false, true},
		{max, -1, max - 1, 0, true, false},
		{max, max, 0, 0, false, true},
		{min, 0, min, min, true, true},
		{min, -1, 0, min + 1, false, true},
		{min, 1, min + 1, 0, true, false},
		{min, min, 0, 0, false, true},
		{min, max, -1, 0, true, false},
		{max, min, -1, 0, true, false},
		{0, min, min, 0, true, false},
		{-1, min, 0, max, false, true},
		{0, max, max, -max, true, true},
		{-1, max, max - 1, min, true, true},
		{-2, max, max - 2, 0, true, false},
	}
	for _, tc := range tests {
		s, err := money.AddMicros(tc.a, tc.b)
		checkArith(t, "AddMicros", tc.a, tc.b, s, err, tc.sum, tc.sumOK)
		as, err := money.New(tc.a, money.EUR).Add(money.New(tc.b, money.EUR))
		checkArith(t, "Add", tc.a, tc.b, as.Micros, err, tc.sum, tc.sumOK)
		if err == nil && as.Currency != money.EUR {
			t.Errorf("Add lost the currency: %+v", as)
		}

		d, err := money.SubMicros(tc.a, tc.b)
		checkArith(t, "SubMicros", tc.a, tc.b, d, err, tc.diff, tc.difOK)
		ad, err := money.New(tc.a, money.EUR).Sub(money.New(tc.b, money.EUR))
		checkArith(t, "Sub", tc.a, tc.b, ad.Micros, err, tc.diff, tc.difOK)
		if err == nil && ad.Currency != money.EUR {
			t.Errorf("Sub lost the currency: %+v", ad)
		}

		// The table must agree with math/big.
		bs := new(big.Int).Add(big.NewInt(tc.a), big.NewInt(tc.b))
		bd := new(big.Int).Sub(big.NewInt(tc.a), big.NewInt(tc.b))
		if fitsInt64(bs) != tc.sumOK || fitsInt64(bd) != tc.difOK {
			t.Errorf("table row %d,%d disagrees with math/big", tc.a, tc.b)
		}
	}
}

func checkArith(t *testing.T, op string, a, b, got int64, err error, want int64, ok bool) {
	t.Helper()
	if !ok {
		checkErr(t, err, fieldAmount, codeOverflow)
		if got != 0 {
			t.Errorf("%s(%d, %d) returned %d alongside an error", op, a, b, got)
		}
		return
	}
	if err != nil || got != want {
		t.Errorf("%s(%d, %d) = %d, %v; want %d", op, a, b, got, err, want)
	}
}

func TestAddSubCurrencyMismatch(t *testing.T) {
	pairs := [][2]money.Currency{{money.EUR, money.USD}, {money.USD, money.EUR}, {money.EUR, ""}, {"", money.EUR}, {money.EUR, "eur"}}
	for _, p := range pairs {
		a, b := money.New(1, p[0]), money.New(1, p[1])
		r, err := a.Add(b)
		checkErr(t, err, fieldCurrency, codeMismatch)
		if r != (money.Amount{}) {
			t.Errorf("Add returned %+v alongside an error", r)
		}
		r, err = a.Sub(b)
		checkErr(t, err, fieldCurrency, codeMismatch)
		if r != (money.Amount{}) {
			t.Errorf("Sub returned %+v alongside an error", r)
		}
	}
	// The currency is checked before the range.
	_, err := money.New(math.MaxInt64, money.EUR).Add(money.New(1, money.USD))
	checkErr(t, err, fieldCurrency, codeMismatch)
}

func TestMulMicros(t *testing.T) {
	const (
		max = math.MaxInt64
		min = math.MinInt64
	)
	tests := []struct {
		m, n int64
		want int64
		ok   bool
	}{
		{0, 0, 0, true},
		{1_500, 1_000_000, 1_500_000_000, true}, // 0.0015 per view × a million views
		{0, min, 0, true},
		{min, 0, 0, true},
		{0, max, 0, true},
		{1, min, min, true},
		{min, 1, min, true},
		{-1, min, 0, false},
		{min, -1, 0, false},
		{max, 1, max, true},
		{max, -1, -max, true},
		{-1, max, -max, true},
		{max, 2, 0, false},
		{min, 2, 0, false},
		{min, min, 0, false},
		{max, max, 0, false},
		{1 << 62, 2, 0, false},
		{1 << 62, -2, min, true},
		{-(1 << 62), 2, min, true},
		{-(1 << 62), -2, 0, false},
		{3_037_000_499, 3_037_000_499, 9_223_372_030_926_249_001, true},
		{3_037_000_500, 3_037_000_500, 0, false},
		{-3_037_000_500, 3_037_000_500, 0, false},
		{1 << 32, 1 << 32, 0, false}, // exactly 2^64: low word is zero
		{1 << 32, 1 << 31, 0, false}, // exactly 2^63
		{-(1 << 32), 1 << 31, min, true},
		{-7, 6, -42, true},
		{-7, -6, 42, true},
	}
	for _, tc := range tests {
		got, err := money.MulMicros(tc.m, tc.n)
		checkArith(t, "MulMicros", tc.m, tc.n, got, err, tc.want, tc.ok)
		p := new(big.Int).Mul(big.NewInt(tc.m), big.NewInt(tc.n))
		if fitsInt64(p) != tc.ok || (tc.ok && p.Int64() != tc.want) {
			t.Errorf("table row %d×%d disagrees with math/big (%s)", tc.m, tc.n, p)
		}
	}
}

// bigFloorBps computes floor(m*bps/10000) with math/big.
func bigFloorBps(m, bps int64) *big.Int {
	p := new(big.Int).Mul(big.NewInt(m), big.NewInt(bps))
	return p.Quo(p, big.NewInt(10_000)) // operands are non-negative, so Quo floors
}

func TestFloorBps(t *testing.T) {
	const max = math.MaxInt64
	tests := []struct {
		m, bps, want int64
	}{
		{0, 0, 0},
		{0, 10_000, 0},
		{1, 10_000, 1},
		{1, 9_999, 0},
		{9_999, 1, 0},
		{10_000, 1, 1},
		{19_999, 1, 1},
		{20_000, 1, 2},
		{1_000_000, 250, 25_000},
		{12_345_678, 1_234, 1_523_456},
		{max, 0, 0},
		{max, 1, 922_337_203_685_477},
		{max, 5_000, 4_611_686_018_427_387_903},
		{max, 9_999, 9_222_449_699_651_090_329},
		{max, 10_000, max},
		{max - 1, 10_000, max - 1},
	}
	for _, tc := range tests {
		if got := money.FloorBps(tc.m, tc.bps); got != tc.want {
			t.Errorf("FloorBps(%d, %d) = %d, want %d", tc.m, tc.bps, got, tc.want)
		}
		if b := bigFloorBps(tc.m, tc.bps); b.Cmp(big.NewInt(tc.want)) != 0 {
			t.Errorf("table row FloorBps(%d, %d) disagrees with math/big (%s)", tc.m, tc.bps, b)
		}
	}
	// Exhaustively near MaxInt64, where m*bps overflows 64 bits.
	for k := int64(0); k < 200; k++ {
		for _, bps := range []int64{0, 1, 2, 3, 7, 333, 3_333, 5_000, 6_667, 9_998, 9_999, 10_000} {
			m := max - k
			if got, want := money.FloorBps(m, bps), bigFloorBps(m, bps); want.Cmp(big.NewInt(got)) != 0 {
				t.Fatalf("FloorBps(%d, %d) = %d, math/big says %s", m, bps, got, want)
			}
		}
	}
}

func TestFloorBpsPanics(t *testing.T) {
	cases := [][2]int64{
		{-1, 0}, {-1, 100}, {math.MinInt64, 5_000},
		{0, -1}, {100, 10_001}, {100, math.MaxInt64}, {100, math.MinInt64},
	}
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FloorBps(%d, %d) did not panic", c[0], c[1])
				}
			}()
			money.FloorBps(c[0], c[1])
		}()
	}
}

func TestCents(t *testing.T) {
	tests := []struct {
		m, cents, rem int64
	}{
		{0, 0, 0},
		{1, 0, 1},
		{9_999, 0, 9_999},
		{10_000, 1, 0},
		{10_001, 1, 1},
		{1_234_567, 123, 4_567},
		{12_500_000, 1_250, 0},
		{math.MaxInt64, 922_337_203_685_477, 5_807},
		{-1, 0, -1},
		{-10_000, -1, 0},
		{-1_234_567, -123, -4_567},
		{math.MinInt64, -922_337_203_685_477, -5_808},
	}
	for _, tc := range tests {
		c, r := money.New(tc.m, money.EUR).Cents()
		if c != tc.cents || r != tc.rem {
			t.Errorf("Cents(%d) = %d, %d; want %d, %d", tc.m, c, r, tc.cents, tc.rem)
		}
		checkCentsInvariant(t, tc.m, c, r)
	}
}

func checkCentsInvariant(t rapid.TB, m, c, r int64) {
	t.Helper()
	// cents*10000 + remainder == m, computed without overflow.
	sum := new(big.Int).Mul(big.NewInt(c), big.NewInt(10_000))
	sum.Add(sum, big.NewInt(r))
	if sum.Cmp(big.NewInt(m)) != 0 {
		t.Fatalf("Cents(%d) = %d, %d does not add up", m, c, r)
	}
	if m >= 0 && (r < 0 || r >= 10_000) {
		t.Fatalf("Cents(%d): remainder %d out of [0, 10000)", m, r)
	}
	if m < 0 && (r > 0 || r <= -10_000 || c > 0) {
		t.Fatalf("Cents(%d) = %d, %d: want both <= 0", m, c, r)
	}
}

func TestMarshalJSON(t *testing.T) {
	tests := []struct {
		a    money.Amount
		want string
	}{
		{money.New(12_500_000, money.EUR), `{"amount":"12.500000","currency":"EUR"}`},
		{money.New(0, money.USD), `{"amount":"0.000000","currency":"USD"}`},
		{money.New(-1, "GBP"), `{"amount":"-0.000001","currency":"GBP"}`},
		{money.New(math.MaxInt64, "AUD"), `{"amount":"9223372036854.775807","currency":"AUD"}`},
		{money.New(math.MinInt64, "CAD"), `{"amount":"-9223372036854.775808","currency":"CAD"}`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.a)
		if err != nil || string(b) != tc.want {
			t.Errorf("json.Marshal(%v) = %s, %v; want %s", tc.a, b, err, tc.want)
		}
		b, err = tc.a.MarshalJSON()
		if err != nil || string(b) != tc.want {
			t.Errorf("MarshalJSON(%v) = %s, %v; want %s", tc.a, b, err, tc.want)
		}
		var back money.Amount
		if err := json.Unmarshal(b, &back); err != nil || back != tc.a {
			t.Errorf("round trip of %v: got %v, %v", tc.a, back, err)
		}
	}

	// Inside a struct, by value and by pointer.
	type payout struct {
		Budget money.Amount  `json:"budget"`
		Fee    *money.Amount `json:"fee"`
	}
	fee := money.New(1, money.EUR)
	b, err := json.Marshal(payout{Budget: money.New(7_000_000, money.EUR), Fee: &fee})
	want := `{"budget":{"amount":"7.000000","currency":"EUR"},"fee":{"amount":"0.000001","currency":"EUR"}}`
	if err != nil || string(b) != want {
		t.Errorf("json.Marshal(payout) = %s, %v; want %s", b, err, want)
	}
	var p payout
	if err := json.Unmarshal(b, &p); err != nil || p.Budget != money.New(7_000_000, money.EUR) || p.Fee == nil || *p.Fee != fee {
		t.Errorf("json.Unmarshal(payout) = %+v, %v", p, err)
	}

	// An unsupported currency is never written.
	for _, c := range []money.Currency{"", "eur", "JPY"} {
		b, err := money.New(1, c).MarshalJSON()
		if b != nil {
			t.Errorf("MarshalJSON with currency %q wrote %s", c, b)
		}
		checkErr(t, err, fieldCurrency, codeCurrency)
		_, err = json.Marshal(payout{Budget: money.New(1, c)})
		checkErr(t, err, fieldCurrency, codeCurrency)
	}
}

func TestUnmarshalJSONValid(t *testing.T) {
	tests := []struct {
		in   string
		want money.Amount
	}{
		{`{"amount":"12.5","currency":"EUR"}`, money.New(12_500_000, money.EUR)},
		{`{"amount":"12.500000","currency":"EUR"}`, money.New(12_500_000, money.EUR)},
		{`{"currency":"USD","amount":"7"}`, money.New(7_000_000, money.USD)},
		{` { "amount" : "-0.000001" , "currency" : "GBP" } `, money.New(-1, "GBP")},
		{"{\n\t\"amount\": \"007.5\",\n\t\"currency\": \"SEK\"\n}\n", money.New(7_500_000, "SEK")},
		{`{"amount":"-0","currency":"NOK"}`, money.New(0, "NOK")},
		{`{"amount":"9223372036854.775807","currency":"DKK"}`, money.New(math.MaxInt64, "DKK")},
		{`{"amount":"-9223372036854.775808","currency":"PLN"}`, money.New(math.MinInt64, "PLN")},
		{`{"amount":"\u0031\u0032.5","currency":"\u0043ZK"}`, money.New(12_500_000, "CZK")}, // JSON escapes are just string syntax
	}
	for _, tc := range tests {
		var a money.Amount
		if err := json.Unmarshal([]byte(tc.in), &a); err != nil || a != tc.want {
			t.Errorf("json.Unmarshal(%s) = %v, %v; want %v", tc.in, a, err, tc.want)
		}
		var b money.Amount
		if err := b.UnmarshalJSON([]byte(tc.in)); err != nil || b != tc.want {
			t.Errorf("UnmarshalJSON(%s) = %v, %v; want %v", tc.in, b, err, tc.want)
		}
	}
}

func TestUnmarshalJSONInvalid(t *testing.T) {
	tests := []struct {
		in          string
		field, code string
	}{
		// A JSON number is never an amount (floats and integers alike).
		{`{"amount":12.5,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":12,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":0,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":-0.000001,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":1e5,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":1e999,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":9223372036854775808,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"currency":"EUR","amount":12.5}`, fieldAmount, codeInvalid},
		// Other non-string amounts.
		{`{"amount":true,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":null,"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":["1"],"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":{"value":"1"},"currency":"EUR"}`, fieldAmount, codeInvalid},
		// Bad amount strings.
		{`{"amount":"","currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":" 1","currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"1e5","currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"1,5","currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"NaN","currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"0.0000001","currency":"EUR"}`, fieldAmount, codeDecimals},
		{`{"amount":"1.0000000","currency":"EUR"}`, fieldAmount, codeDecimals},
		{`{"amount":"9223372036854.775808","currency":"EUR"}`, fieldAmount, codeOverflow},
		{`{"amount":"-9223372036854.775809","currency":"EUR"}`, fieldAmount, codeOverflow},
		{`{"amount":"99999999999999999999","currency":"EUR"}`, fieldAmount, codeOverflow},
		// Bad currencies.
		{`{"amount":"12.5","currency":"eur"}`, fieldCurrency, codeCurrency},
		{`{"amount":"12.5","currency":"JPY"}`, fieldCurrency, codeCurrency},
		{`{"amount":"12.5","currency":""}`, fieldCurrency, codeCurrency},
		{`{"amount":"12.5","currency":" EUR"}`, fieldCurrency, codeCurrency},
		{`{"amount":"12.5","currency":1}`, fieldCurrency, codeCurrency},
		{`{"amount":"12.5","currency":null}`, fieldCurrency, codeCurrency},
		{`{"amount":"12.5","currency":["EUR"]}`, fieldCurrency, codeCurrency},
		{`{"amount":"x","currency":"xx"}`, fieldAmount, codeInvalid}, // the amount is checked first
		// Missing keys.
		{`{"currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"12.5"}`, fieldCurrency, codeCurrency},
		{`{}`, fieldAmount, codeInvalid},
		// Unknown, misspelt and duplicate keys.
		{`{"amount":"1","currency":"EUR","note":"x"}`, fieldAmount, codeInvalid},
		{`{"note":"x","amount":"1","currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"Amount":"1","currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"1","Currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"1","amount":"2","currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"1","currency":"EUR","currency":"USD"}`, fieldAmount, codeInvalid},
		// Not an amount object at all.
		{`null`, fieldAmount, codeInvalid},
		{`"12.5"`, fieldAmount, codeInvalid},
		{`12.5`, fieldAmount, codeInvalid},
		{`12`, fieldAmount, codeInvalid},
		{`true`, fieldAmount, codeInvalid},
		{`[]`, fieldAmount, codeInvalid},
		{`["12.5","EUR"]`, fieldAmount, codeInvalid},
		// Malformed JSON (only reachable by calling UnmarshalJSON directly).
		{``, fieldAmount, codeInvalid},
		{` `, fieldAmount, codeInvalid},
		{`{`, fieldAmount, codeInvalid},
		{`{"amount":"1","currency":"EUR"`, fieldAmount, codeInvalid},
		{`{"amount":"1","currency":"EUR",}`, fieldAmount, codeInvalid},
		{`{"amount":"1" "currency":"EUR"}`, fieldAmount, codeInvalid},
		{`{"amount":"1","currency":"EUR"}x`, fieldAmount, codeInvalid},
		{`{"amount":"1","currency":"EUR"}{}`, fieldAmount, codeInvalid},
		{`{"amount":"1","currency":"EUR"}}`, fieldAmount, codeInvalid},
		{`{amount:"1",currency:"EUR"}`, fieldAmount, codeInvalid},
		{`{'amount':'1','currency':'EUR'}`, fieldAmount, codeInvalid},
		{`{"amount":"1,"currency":"EUR"}`, fieldAmount, codeInvalid},
	}
	sentinel := money.New(42, "CHF")
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			a := sentinel
			err := a.UnmarshalJSON([]byte(tc.in))
			checkErr(t, err, tc.field, tc.code)
			if a != sentinel {
				t.Errorf("UnmarshalJSON modified the amount on error: %+v", a)
			}
			if json.Valid([]byte(tc.in)) {
				b := sentinel
				err := json.Unmarshal([]byte(tc.in), &b)
				checkErr(t, err, tc.field, tc.code)
				if b != sentinel {
					t.Errorf("json.Unmarshal modified the amount on error: %+v", b)
				}
			}
		})
	}
}

func TestUnmarshalJSONNumberMessage(t *testing.T) {
	for _, in := range []string{`{"amount":12.5,"currency":"EUR"}`, `{"amount":100,"currency":"EUR"}`} {
		var a money.Amount
		err := json.Unmarshal([]byte(in), &a)
		checkErr(t, err, fieldAmount, codeInvalid)
		var e *errs.Error
		errors.As(err, &e)
		if !strings.Contains(e.Message, "amounts must be strings") {
			t.Errorf("message %q does not say amounts must be strings", e.Message)
		}
	}
}

func TestUnmarshalJSONMalformedWrapsCause(t *testing.T) {
	var a money.Amount
	err := a.UnmarshalJSON([]byte(`{"amount":`))
	checkErr(t, err, fieldAmount, codeInvalid)
	if errors.Unwrap(err) == nil {
		t.Errorf("error %v does not wrap the JSON syntax error", err)
	}
}

func TestUnmarshalJSONInStruct(t *testing.T) {
	type req struct {
		Budget money.Amount  `json:"budget"`
		Fee    *money.Amount `json:"fee"`
	}
	// null for a value field is rejected: the amount is required.
	var r req
	err := json.Unmarshal([]byte(`{"budget":null}`), &r)
	checkErr(t, err, fieldAmount, codeInvalid)
	// null for a pointer field is handled by encoding/json: the pointer stays nil.
	r = req{}
	err = json.Unmarshal([]byte(`{"budget":{"amount":"1","currency":"EUR"},"fee":null}`), &r)
	if err != nil || r.Fee != nil || r.Budget != money.New(1_000_000, money.EUR) {
		t.Errorf("got %+v, %v", r, err)
	}
	// A float in a nested amount is rejected with a structured error.
	err = json.Unmarshal([]byte(`{"budget":{"amount":12.5,"currency":"EUR"}}`), &r)
	checkErr(t, err, fieldAmount, codeInvalid)
	// errs.WithField can prefix the field for the caller.
	if f := errs.WithField(err, "budget"); errs.CodeOf(f) != codeInvalid {
		t.Errorf("WithField lost the code: %v", f)
	} else {
		var e *errs.Error
		errors.As(f, &e)
		if e.Field != "budget.amount" {
			t.Errorf("WithField field = %q", e.Field)
		}
	}
}

// ---- Property tests ----

func TestPropFormatParseRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.Int64().Draw(t, "m")
		s := money.FormatMicros(m)
		got, err := money.ParseMicros(s)
		if err != nil || got != m {
			t.Fatalf("ParseMicros(FormatMicros(%d)) = ParseMicros(%q) = %d, %v", m, s, got, err)
		}
		if want := bigMicros(t, s); want.Cmp(big.NewInt(m)) != 0 {
			t.Fatalf("FormatMicros(%d) = %q, which math/big reads as %s", m, s, want)
		}
	})
}

func TestPropParseMatchesBig(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringMatching(`-?[0-9]{1,22}(\.[0-9]{1,6})?`).Draw(t, "s")
		got, err := money.ParseMicros(s)
		want := bigMicros(t, s)
		if !fitsInt64(want) {
			checkErr(t, err, fieldAmount, codeOverflow)
			return
		}
		if err != nil || big.NewInt(got).Cmp(want) != 0 {
			t.Fatalf("ParseMicros(%q) = %d, %v; math/big says %s", s, got, err, want)
		}
	})
}

func TestPropFloorBpsMatchesBig(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.OneOf(rapid.Int64Range(0, math.MaxInt64), rapid.Int64Range(math.MaxInt64-1_000_000, math.MaxInt64)).Draw(t, "m")
		bps := rapid.Int64Range(0, 10_000).Draw(t, "bps")
		got := money.FloorBps(m, bps)
		if want := bigFloorBps(m, bps); want.Cmp(big.NewInt(got)) != 0 {
			t.Fatalf("FloorBps(%d, %d) = %d, math/big says %s", m, bps, got, want)
		}
		if got > m || got < 0 {
			t.Fatalf("FloorBps(%d, %d) = %d is outside [0, m]", m, bps, got)
		}
	})
}

func TestPropAddSubMulMatchBig(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := rapid.Int64().Draw(t, "a")
		b := rapid.Int64().Draw(t, "b")
		ba, bb := big.NewInt(a), big.NewInt(b)

		check := func(op string, got int64, err error, want *big.Int) {
			if fitsInt64(want) {
				if err != nil || got != want.Int64() {
					t.Fatalf("%s(%d, %d) = %d, %v; math/big says %s", op, a, b, got, err, want)
				}
				return
			}
			checkErr(t, err, fieldAmount, codeOverflow)
		}
		s, err := money.AddMicros(a, b)
		check("AddMicros", s, err, new(big.Int).Add(ba, bb))
		d, err := money.SubMicros(a, b)
		check("SubMicros", d, err, new(big.Int).Sub(ba, bb))
		p, err := money.MulMicros(a, b)
		check("MulMicros", p, err, new(big.Int).Mul(ba, bb))

		c := rapid.SampledFrom(supported).Draw(t, "currency")
		as, err := money.New(a, c).Add(money.New(b, c))
		check("Add", as.Micros, err, new(big.Int).Add(ba, bb))
		ad, err := money.New(a, c).Sub(money.New(b, c))
		check("Sub", ad.Micros, err, new(big.Int).Sub(ba, bb))
	})
}

func TestPropJSONRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := money.New(rapid.Int64().Draw(t, "m"), rapid.SampledFrom(supported).Draw(t, "c"))
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("json.Marshal(%v): %v", a, err)
		}
		var back money.Amount
		if err := json.Unmarshal(b, &back); err != nil || back != a {
			t.Fatalf("round trip of %v via %s = %v, %v", a, b, back, err)
		}
	})
}

func TestPropCents(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := rapid.Int64().Draw(t, "m")
		c, r := money.New(m, money.EUR).Cents()
		checkCentsInvariant(t, m, c, r)
	})
}
