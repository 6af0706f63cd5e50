// Package id makes payper's identifiers: a short type prefix and a
// time-ordered UUIDv7 in lower-case base32hex, e.g. "cmp_068bd1q5…". Ids of
// the same prefix sort by creation time, which keyset pagination relies on.
package id

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Prefixes of payper's object ids.
const (
	Brand       = "brd"
	Creator     = "crt"
	Campaign    = "cmp"
	Transaction = "ltx"
	Hold        = "hld"
	APIKey      = "key"
	Payment     = "pay"
	Account     = "acc" // a creator's connected social account
	Application = "apl" // a creator's application to a campaign
	Post        = "pst"
	Earning     = "ern"
)

// base32hex's alphabet is in ascending ASCII order, so encoded ids sort like their bytes.
var enc = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// New returns prefix + "_" + a new time-ordered id. It panics only if the
// system's random source fails, which Go treats as fatal anyway.
func New(prefix string) string {
	u := uuid.Must(uuid.NewV7())
	return prefix + "_" + enc.EncodeToString(u[:])
}

// Valid reports whether s looks like an id with the given prefix.
func Valid(s, prefix string) bool {
	rest, ok := strings.CutPrefix(s, prefix+"_")
	if !ok || len(rest) != 26 {
		return false
	}
	_, err := enc.DecodeString(rest)
	return err == nil
}

// Secret returns n random bytes encoded in lower-case base32hex, for API keys
// and tracking slugs.
func Secret(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error (Go ≥ 1.24)
	return enc.EncodeToString(b)
}

// Click returns a 16-character click id: 5 bytes of the time in
// milliseconds (wrapping every 34 years) then 5 random bytes, in lower-case
// base32hex, so ids made one after another sort together and an index on
// them grows at its end (a random id would land anywhere in the B-tree).
func Click(now time.Time) string {
	var b [10]byte
	ms := uint64(now.UnixMilli())
	for i := 4; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[5:])
	return enc.EncodeToString(b[:])
}

// ClickMillis returns the millisecond (modulo 2^40) a Click id was made at;
// ok is false when s is not a Click id.
func ClickMillis(s string) (ms int64, ok bool) {
	if len(s) != 16 {
		return 0, false
	}
	b, err := enc.DecodeString(s)
	if err != nil || len(b) != 10 {
		return 0, false
	}
	for _, c := range b[:5] {
		ms = ms<<8 | int64(c)
	}
	return ms, true
}
