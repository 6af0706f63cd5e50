// Package money represents exact amounts of money.
//
// An Amount is a signed count of micro-units (10^-6 of the currency unit) in
// an int64, tagged with an ISO 4217 currency. There are no floating-point
// numbers anywhere in this package: amounts are parsed from and formatted to
// decimal strings, all arithmetic is overflow-checked, and JSON carries the
// amount as a string, never as a JSON number.
//
// Every error a caller can cause is an *errs.Error of kind errs.Invalid whose
// Field is "amount" or "currency" and whose Code is one of invalid_amount,
// too_many_decimals, amount_overflow, negative_amount, zero_amount,
// unknown_currency or currency_mismatch.
package money

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/bits"
	"strconv"

	"github.com/payper/payper/internal/errs"
)

// Error codes carried by the *errs.Error values this package returns.
const (
	codeInvalidAmount    = "invalid_amount"    // not a decimal string, or malformed amount JSON
	codeTooManyDecimals  = "too_many_decimals" // more than 6 digits after the point
	codeAmountOverflow   = "amount_overflow"   // does not fit int64 micro-units
	codeNegativeAmount   = "negative_amount"   // negative where a positive amount is required
	codeZeroAmount       = "zero_amount"       // zero where a positive amount is required
	codeUnknownCurrency  = "unknown_currency"  // currency not supported
	codeCurrencyMismatch = "currency_mismatch" // arithmetic or comparison across currencies
)

// Field names used in the errors this package returns.
const (
	fieldAmount   = "amount"
	fieldCurrency = "currency"
)

// Currency is an ISO 4217 currency code such as "EUR". Only the supported
// codes (see Valid) are accepted by the parsing functions.
type Currency string

// Currencies referred to by name elsewhere in payper.
const (
	EUR Currency = "EUR"
	USD Currency = "USD"
)

// supported lists every currency payper handles. Codes are exactly three
// uppercase ASCII letters; lookups are case-sensitive on purpose.
var supported = map[Currency]struct{}{
	"EUR": {}, "USD": {}, "GBP": {}, "CHF": {}, "SEK": {}, "NOK": {},
	"DKK": {}, "PLN": {}, "CZK": {}, "CAD": {}, "AUD": {},
}

// ParseCurrency returns s as a Currency if it is one of the supported codes,
// written exactly (three uppercase letters: "eur" is not accepted). On
// failure it returns "" and an *errs.Error with field "currency" and code
// unknown_currency.
func ParseCurrency(s string) (Currency, error) {
	c := Currency(s)
	if !c.Valid() {
		return "", errUnknownCurrency(s)
	}
	return c, nil
}

// Valid reports whether c is one of the supported currencies: EUR, USD, GBP,
// CHF, SEK, NOK, DKK, PLN, CZK, CAD or AUD. It never fails; any other value,
// including the empty string and lowercase codes, is reported as false.
func (c Currency) Valid() bool {
	_, ok := supported[c]
	return ok
}

// Scale is the number of micro-units in one unit of currency.
const Scale = 1_000_000

// maxFracDigits is the number of decimal places an amount can carry.
const maxFracDigits = 6

// centMicros is the number of micro-units in one cent.
const centMicros = Scale / 100

// Amount is an exact amount of money: Micros micro-units (10^-6 of the unit)
// of Currency. The zero value is zero of no currency, which is not a valid
// amount for Parse, MarshalJSON or UnmarshalJSON.
type Amount struct {
	Micros   int64
	Currency Currency
}

// New returns the amount of micros micro-units of c. It cannot fail and does
// not validate c; use Parse or ParseCurrency for untrusted input.
func New(micros int64, c Currency) Amount {
	return Amount{Micros: micros, Currency: c}
}

// ParseMicros parses a decimal string into micro-units: "12.5" is 12_500_000,
// "-0.000001" is -1 and "7" is 7_000_000.
//
// The grammar is: an optional leading '-', one or more ASCII digits, then
// optionally '.' followed by one to six ASCII digits. Leading zeros are
// allowed and "-0" is 0. There is no '+', exponent, whitespace or digit
// grouping.
//
// On failure it returns 0 and an *errs.Error with field "amount" and code
// invalid_amount (s does not follow the grammar), too_many_decimals (more
// than six digits after the point, even if they are zeros) or amount_overflow
// (the value is outside [math.MinInt64, math.MaxInt64] micro-units).
func ParseMicros(s string) (int64, error) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intDigits := s[intStart:i]
	if len(intDigits) == 0 {
		return 0, errInvalidAmount(s)
	}
	var fracDigits string
	if i < len(s) {
		if s[i] != '.' {
			return 0, errInvalidAmount(s)
		}
		i++
		fracStart := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		fracDigits = s[fracStart:i]
		if i != len(s) || len(fracDigits) == 0 {
			return 0, errInvalidAmount(s)
		}
		if len(fracDigits) > maxFracDigits {
			return 0, errs.Invalidf(fieldAmount, codeTooManyDecimals,
				"amount %s has more than %d decimal places", quote(s), maxFracDigits)
		}
	}

	// Accumulate the magnitude in micro-units, checking every step against
	// the largest magnitude the sign allows (2^63 for negatives, 2^63-1
	// otherwise), so that no intermediate value can wrap.
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	var mag uint64
	ok := true
	for j := 0; ok && j < len(intDigits); j++ {
		mag, ok = pushDigit(mag, intDigits[j], limit)
	}
	for j := 0; ok && j < maxFracDigits; j++ {
		d := byte('0')
		if j < len(fracDigits) {
			d = fracDigits[j]
		}
		mag, ok = pushDigit(mag, d, limit)
	}
	if !ok {
		return 0, errs.Invalidf(fieldAmount, codeAmountOverflow,
			"amount %s is out of range (%s to %s)", quote(s),
			FormatMicros(math.MinInt64), FormatMicros(math.MaxInt64))
	}
	if neg {
		// -mag wraps to exactly math.MinInt64 when mag is 2^63.
		return int64(-mag), nil
	}
	return int64(mag), nil
}

// pushDigit returns mag*10 + digit, or false if that would exceed limit.
func pushDigit(mag uint64, digit byte, limit uint64) (uint64, bool) {
	d := uint64(digit - '0')
	if mag > (limit-d)/10 {
		return 0, false
	}
	return mag*10 + d, true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// Parse parses s as with ParseMicros and pairs it with c. On failure it
// returns the zero Amount and an *errs.Error: the ParseMicros error for a bad
// amount (checked first), or field "currency" with code unknown_currency if c
// is not supported.
func Parse(s string, c Currency) (Amount, error) {
	m, err := ParseMicros(s)
	if err != nil {
		return Amount{}, err
	}
	if !c.Valid() {
		return Amount{}, errUnknownCurrency(string(c))
	}
	return Amount{Micros: m, Currency: c}, nil
}

// ParsePositive is Parse for amounts that must be greater than zero. On
// failure it returns the zero Amount and an *errs.Error: any error Parse
// returns, or field "amount" with code zero_amount for zero (including "-0")
// or negative_amount for a negative value.
func ParsePositive(s string, c Currency) (Amount, error) {
	a, err := Parse(s, c)
	if err != nil {
		return Amount{}, err
	}
	switch {
	case a.Micros == 0:
		return Amount{}, errs.Invalidf(fieldAmount, codeZeroAmount, "amount must be greater than zero")
	case a.Micros < 0:
		return Amount{}, errs.Invalidf(fieldAmount, codeNegativeAmount,
			"amount %s must be greater than zero", quote(s))
	}
	return a, nil
}

// FormatMicros formats m micro-units as a decimal string with exactly six
// decimal places: 12_500_000 is "12.500000", -1 is "-0.000001" and
// math.MinInt64 is "-9223372036854.775808". It cannot fail, and its result
// always parses back to m with ParseMicros.
func FormatMicros(m int64) string {
	u := uint64(m)
	neg := m < 0
	if neg {
		u = -u // two's complement: correct for math.MinInt64 too
	}
	var buf [32]byte
	b := buf[:0]
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, u/Scale, 10)
	b = append(b, '.')
	frac := u % Scale
	var f [maxFracDigits]byte
	for i := len(f) - 1; i >= 0; i-- {
		f[i] = byte('0' + frac%10)
		frac /= 10
	}
	b = append(b, f[:]...)
	return string(b)
}

// String returns the amount with six decimals and its currency, such as
// "12.500000 EUR". It cannot fail.
func (a Amount) String() string {
	return FormatMicros(a.Micros) + " " + string(a.Currency)
}

// IsZero reports whether a is zero, whatever its currency. It cannot fail.
func (a Amount) IsZero() bool { return a.Micros == 0 }

// IsNegative reports whether a is less than zero. It cannot fail.
func (a Amount) IsNegative() bool { return a.Micros < 0 }

// Add returns a + b. On failure it returns the zero Amount and an
// *errs.Error: field "currency" with code currency_mismatch if the
// currencies differ, or field "amount" with code amount_overflow if the sum
// does not fit in int64 micro-units.
func (a Amount) Add(b Amount) (Amount, error) {
	if a.Currency != b.Currency {
		return Amount{}, errMismatch("add", a.Currency, b.Currency)
	}
	m, err := AddMicros(a.Micros, b.Micros)
	if err != nil {
		return Amount{}, err
	}
	return Amount{Micros: m, Currency: a.Currency}, nil
}

// Sub returns a - b. On failure it returns the zero Amount and an
// *errs.Error: field "currency" with code currency_mismatch if the
// currencies differ, or field "amount" with code amount_overflow if the
// difference does not fit in int64 micro-units.
func (a Amount) Sub(b Amount) (Amount, error) {
	if a.Currency != b.Currency {
		return Amount{}, errMismatch("subtract", a.Currency, b.Currency)
	}
	m, err := SubMicros(a.Micros, b.Micros)
	if err != nil {
		return Amount{}, err
	}
	return Amount{Micros: m, Currency: a.Currency}, nil
}

// AddMicros returns a + b. On overflow it returns 0 and an *errs.Error with
// field "amount" and code amount_overflow.
func AddMicros(a, b int64) (int64, error) {
	s := a + b
	// Overflow iff a and b share a sign and s has the other one.
	if (a^s)&(b^s) < 0 {
		return 0, errOverflow("%s + %s", a, b)
	}
	return s, nil
}

// SubMicros returns a - b. On overflow it returns 0 and an *errs.Error with
// field "amount" and code amount_overflow.
func SubMicros(a, b int64) (int64, error) {
	d := a - b
	// Overflow iff a and b differ in sign and d's sign differs from a's.
	if (a^b)&(a^d) < 0 {
		return 0, errOverflow("%s - %s", a, b)
	}
	return d, nil
}

// MulMicros returns m * n, for example a price per view in micro-units times
// a number of views. On overflow it returns 0 and an *errs.Error with field
// "amount" and code amount_overflow.
func MulMicros(m int64, n int64) (int64, error) {
	neg := (m < 0) != (n < 0)
	hi, lo := bits.Mul64(absU64(m), absU64(n))
	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if hi != 0 || lo > limit {
		return 0, errs.Invalidf(fieldAmount, codeAmountOverflow,
			"amount overflow: %d × %d does not fit", m, n)
	}
	if neg {
		return int64(-lo), nil
	}
	return int64(lo), nil
}

// absU64 returns |x| as a uint64; it is exact for math.MinInt64.
func absU64(x int64) uint64 {
	if x < 0 {
		return -uint64(x)
	}
	return uint64(x)
}

// FloorBps returns floor(m * bps / 10000): the share of m given by bps basis
// points, rounded down. The product is computed in 128 bits, so the result
// is exact for every m up to math.MaxInt64, and it never exceeds m.
//
// It has no error result: m must be >= 0 and bps in [0, 10000]. Anything
// else is a programming error and FloorBps panics.
func FloorBps(m int64, bps int64) int64 {
	if m < 0 {
		panic("money.FloorBps: negative amount " + strconv.FormatInt(m, 10))
	}
	if bps < 0 || bps > 10_000 {
		panic("money.FloorBps: basis points out of range [0, 10000]: " + strconv.FormatInt(bps, 10))
	}
	hi, lo := bits.Mul64(uint64(m), uint64(bps))
	// hi < 10000 because m < 2^63 and bps <= 10000, so Div64 cannot panic,
	// and the quotient is <= m, so it fits in an int64.
	q, _ := bits.Div64(hi, lo, 10_000)
	return int64(q)
}

// Cents splits a into whole cents (10_000 micro-units each) and the sub-cent
// remainder in micro-units: 1_234_567 micros is 123 cents and 4_567 micros.
// Division truncates toward zero, so for a non-negative amount cents is the
// floor and 0 <= remainder < 10_000; for a negative amount both results are
// <= 0 (-1_234_567 is -123 cents and -4_567). Always
// cents*10_000 + remainder == a.Micros. It cannot fail.
func (a Amount) Cents() (cents int64, remainder int64) {
	return a.Micros / centMicros, a.Micros % centMicros
}

// MarshalJSON encodes a as {"amount":"12.500000","currency":"EUR"}: the
// amount is always a string with six decimals, never a JSON number. It fails
// with an *errs.Error (field "currency", code unknown_currency) if a's
// currency is not supported, so that nothing unreadable is ever written.
func (a Amount) MarshalJSON() ([]byte, error) {
	if !a.Currency.Valid() {
		return nil, errUnknownCurrency(string(a.Currency))
	}
	b := make([]byte, 0, 64)
	b = append(b, `{"amount":"`...)
	b = append(b, FormatMicros(a.Micros)...)
	b = append(b, `","currency":"`...)
	b = append(b, a.Currency...)
	b = append(b, `"}`...)
	return b, nil
}

// UnmarshalJSON decodes an object of the form
// {"amount":"12.5","currency":"EUR"}. The amount must be a JSON string
// following the ParseMicros grammar (any number of decimals up to six); the
// currency must be a supported code. Both keys are required, and nothing else
// is allowed: not other keys, not duplicate keys, not null.
//
// On failure *a is left unchanged and the error is an *errs.Error: field
// "amount" with code invalid_amount (malformed JSON, null, not an object,
// missing, duplicate or unknown key, or an amount that is not a string,
// including a JSON number) or any ParseMicros code; or field "currency" with
// code unknown_currency (missing, not a string or not supported).
func (a *Amount) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // never turn a JSON number into a float

	tok, err := dec.Token()
	if err != nil {
		return errMalformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errs.Invalidf(fieldAmount, codeInvalidAmount,
			`an amount must be a JSON object such as {"amount":"12.50","currency":"EUR"}`)
	}
	var amountStr, currencyStr string
	var haveAmount, haveCurrency bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errMalformed(err)
		}
		key, ok := tok.(string)
		if !ok {
			return errMalformed(nil)
		}
		switch key {
		case "amount", "currency":
		default:
			return errs.Invalidf(fieldAmount, codeInvalidAmount,
				"unknown key %s in amount object: only \"amount\" and \"currency\" are allowed", quote(key))
		}
		if (key == "amount" && haveAmount) || (key == "currency" && haveCurrency) {
			return errs.Invalidf(fieldAmount, codeInvalidAmount, "duplicate key %q in amount object", key)
		}
		val, err := dec.Token()
		if err != nil {
			return errMalformed(err)
		}
		str, isStr := val.(string)
		if key == "amount" {
			if !isStr {
				return errs.Invalidf(fieldAmount, codeInvalidAmount,
					`amounts must be strings, such as "12.50", not %s`, jsonKind(val))
			}
			amountStr, haveAmount = str, true
		} else {
			if !isStr {
				return errs.Invalidf(fieldCurrency, codeUnknownCurrency,
					`currency must be a string such as "EUR", not %s`, jsonKind(val))
			}
			currencyStr, haveCurrency = str, true
		}
	}
	tok, err = dec.Token()
	if err != nil {
		return errMalformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '}' {
		return errMalformed(nil)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		e := errs.Invalidf(fieldAmount, codeInvalidAmount, "unexpected data after amount object")
		e.Err = err
		return e
	}

	if !haveAmount {
		return errs.Invalidf(fieldAmount, codeInvalidAmount, `amount object is missing "amount"`)
	}
	if !haveCurrency {
		return errs.Invalidf(fieldCurrency, codeUnknownCurrency, `amount object is missing "currency"`)
	}
	// Report a bad amount before a bad currency, like Parse does.
	m, err := ParseMicros(amountStr)
	if err != nil {
		return err
	}
	c, err := ParseCurrency(currencyStr)
	if err != nil {
		return err
	}
	*a = Amount{Micros: m, Currency: c}
	return nil
}

// jsonKind names the JSON type of a token returned by json.Decoder.Token.
func jsonKind(tok json.Token) string {
	switch v := tok.(type) {
	case json.Number:
		return "the JSON number " + quote(string(v))
	case bool:
		return "a boolean"
	case nil:
		return "null"
	case json.Delim:
		if v == '[' {
			return "an array"
		}
		return "an object"
	}
	return "a non-string value"
}

func errMalformed(cause error) error {
	e := errs.Invalidf(fieldAmount, codeInvalidAmount,
		`malformed amount: expected a JSON object such as {"amount":"12.50","currency":"EUR"}`)
	e.Err = cause
	return e
}

func errInvalidAmount(s string) error {
	return errs.Invalidf(fieldAmount, codeInvalidAmount,
		`amount %s is not a decimal number such as "12.50"`, quote(s))
}

func errUnknownCurrency(s string) error {
	return errs.Invalidf(fieldCurrency, codeUnknownCurrency, "unsupported currency %s", quote(s))
}

func errMismatch(op string, a, b Currency) error {
	return errs.Invalidf(fieldCurrency, codeCurrencyMismatch,
		"cannot %s amounts in different currencies (%s and %s)", op, quote(string(a)), quote(string(b)))
}

func errOverflow(format string, a, b int64) error {
	return errs.Invalidf(fieldAmount, codeAmountOverflow, "amount overflow: "+format+" does not fit",
		FormatMicros(a), FormatMicros(b))
}

// quote returns s quoted for an error message, shortened if it is long so
// that hostile input cannot bloat logs and responses.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}
