// Package ads holds what the paid-social connectors (Meta, TikTok, CSV
// upload) share: the daily result row they all return, the Source interface
// and the errors the domain acts on. Connectors never touch the database.
package ads

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/money"
)

// DailyResult is one ad's results on one day, as reported by the platform.
type DailyResult struct {
	// Line is the CSV line the row came from (the header is line 1); 0 for
	// rows from a platform's API.
	Line int
	// Platform is "meta", "tiktok", or the value of a CSV's platform
	// column; "" when unknown.
	Platform string
	AdID     string
	// Day is 00:00 UTC of the reported day. Platforms report days in the ad
	// account's time zone; the date is kept as reported.
	Day time.Time
	// Currency is the ISO 4217 code of the ad account, e.g. "EUR".
	Currency string
	// Spend is in micro-units (10⁻⁶) of Currency.
	Spend       int64
	Impressions int64
	// Clicks are link clicks where the platform distinguishes them.
	Clicks int64
	// Purchases counts ONE purchase action type, never summed with its
	// twins (see the connector's configuration).
	Purchases int64
	// PurchaseValue is in micro-units of Currency, for the same action type.
	PurchaseValue int64
}

// Source fetches daily results for ad ids over an inclusive day range.
// Implementations return ErrUnauthorized, ErrThrottled (both matched with
// errors.Is) or an *APIError on failure, and no partial results.
type Source interface {
	Results(ctx context.Context, adIDs []string, from, to time.Time) ([]DailyResult, error)
}

var (
	// ErrUnauthorized means the access token is expired, revoked or invalid:
	// the brand must connect the ad account again.
	ErrUnauthorized = errors.New("ads: access token rejected; reconnect the ad account")
	// ErrThrottled means the platform still throttled us after the bounded
	// retries; try again later.
	ErrThrottled = errors.New("ads: rate limited by the platform")
)

// APIError is a documented error answer of a platform that is neither
// ErrUnauthorized nor ErrThrottled.
type APIError struct {
	Platform string // "meta" or "tiktok"
	Status   int    // HTTP status, 0 if none
	Code     int    // the platform's own error code
	Subcode  int    // Meta's error_subcode, 0 if none
	Message  string
}

// Error describes the failure with the platform's code and message. It
// cannot fail.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: API error %d", e.Platform, e.Code)
	if e.Subcode != 0 {
		fmt.Fprintf(&b, "/%d", e.Subcode)
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// ParseDecimalMicros parses a platform's decimal string ("12.34") into
// micro-units (12_340_000), exactly, with money.ParseMicros' grammar: an
// optional '-', digits, optionally '.' and one to six digits. On failure it
// returns 0 and an error wrapping money's *errs.Error (invalid format, more
// than six decimals, or int64 overflow).
func ParseDecimalMicros(s string) (int64, error) {
	m, err := money.ParseMicros(s)
	if err != nil {
		return 0, fmt.Errorf("ads: parse decimal %q: %w", s, err)
	}
	return m, nil
}

// ParseCount parses a non-negative whole number sent as a string ("1234").
// An empty string is 0, since platforms omit counts that are zero. On
// failure it returns 0 and an error wrapping strconv's.
func ParseCount(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("ads: parse count %q: %w", s, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("ads: parse count %q: negative", s)
	}
	return n, nil
}

// FormatMicros returns m as a decimal string with six decimals, the form the
// fakes answer with. It cannot fail.
func FormatMicros(m int64) string { return money.FormatMicros(m) }

// Day returns 00:00 UTC of t's calendar date (in t's location). It cannot fail.
func Day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ParseDay parses "YYYY-MM-DD" as 00:00 UTC of that day. On failure it
// returns the zero time and an error wrapping time's parse error.
func ParseDay(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("ads: parse day %q: %w", s, err)
	}
	return t, nil
}

// Sleep waits for d or until ctx is done. It returns ctx.Err() if the
// context ends first, else nil. It is the default for the clients' Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// CheckRange validates a Results request: at least one ad id, no empty id,
// and from not after to (compared by day). It returns the two days at 00:00
// UTC, or an error describing the first problem.
func CheckRange(adIDs []string, from, to time.Time) (time.Time, time.Time, error) {
	if len(adIDs) == 0 {
		return time.Time{}, time.Time{}, errors.New("ads: no ad ids given")
	}
	for i, id := range adIDs {
		if strings.TrimSpace(id) == "" {
			return time.Time{}, time.Time{}, fmt.Errorf("ads: ad id %d is empty", i)
		}
	}
	f, t := Day(from), Day(to)
	if f.After(t) {
		return time.Time{}, time.Time{}, fmt.Errorf("ads: range starts %s, after its end %s",
			f.Format(time.DateOnly), t.Format(time.DateOnly))
	}
	return f, t, nil
}

// Days returns the number of days in the inclusive range from..to (both at
// 00:00 UTC); 1 when they are equal. It cannot fail.
func Days(from, to time.Time) int {
	return int(to.Sub(from).Hours()/24) + 1
}

// ThrottleError is returned, wrapped, when a platform still throttles after
// the bounded retries, or asks for a longer wait than a client accepts.
// errors.Is(err, ErrThrottled) is true for it.
type ThrottleError struct {
	Platform string
	// RetryAfter is the platform's estimate of when access returns, or 0
	// when it gave none.
	RetryAfter time.Duration
	Err        error // the platform's last answer, if any
}

// Error describes the throttling and the platform's last answer. It cannot
// fail.
func (e *ThrottleError) Error() string {
	s := e.Platform + ": rate limited"
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is ErrThrottled, so that errors.Is(err,
// ErrThrottled) holds. It cannot fail.
func (e *ThrottleError) Is(target error) bool { return target == ErrThrottled }

// Unwrap returns the platform's last answer, or nil.
func (e *ThrottleError) Unwrap() error { return e.Err }

// Text is a JSON string or number kept as its text: the ad platforms send
// numbers as strings, and sometimes as numbers. null reads as "".
type Text string

// UnmarshalJSON reads a JSON string, number or null; anything else is an
// error.
func (t *Text) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*t = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*t = Text(n)
	return nil
}

// Results gathers an import's daily results, refusing an (ad, day) the
// platform reported twice.
type Results struct {
	platform string
	seen     map[string]bool
	rows     []DailyResult
}

// NewResults returns an empty Results for a platform (named in errors).
func NewResults(platform string) *Results {
	return &Results{platform: platform, seen: map[string]bool{}}
}

// Add adds r; it returns an error when r's ad and day were added before.
func (rs *Results) Add(r DailyResult) error {
	key := r.AdID + "|" + r.Day.Format(time.DateOnly)
	if rs.seen[key] {
		return fmt.Errorf("%s: ad %s reported twice for %s", rs.platform, r.AdID, r.Day.Format(time.DateOnly))
	}
	rs.seen[key] = true
	rs.rows = append(rs.rows, r)
	return nil
}

// Sorted returns the results by ad, then day.
func (rs *Results) Sorted() []DailyResult {
	sort.Slice(rs.rows, func(i, j int) bool {
		if rs.rows[i].AdID != rs.rows[j].AdID {
			return rs.rows[i].AdID < rs.rows[j].AdID
		}
		return rs.rows[i].Day.Before(rs.rows[j].Day)
	})
	return rs.rows
}
