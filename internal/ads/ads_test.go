package ads_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/payper/payper/internal/ads"
)

func TestParseDecimalMicros(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12.34", 12_340_000, true},
		{"0", 0, true},
		{"7", 7_000_000, true},
		{"0.000001", 1, true},
		{"-1.5", -1_500_000, true},
		{"9223372036854.775807", 9223372036854775807, true},
		{"9223372036854.775808", 0, false},
		{"1.1234567", 0, false},
		{"1.0000000", 0, false},
		{"", 0, false},
		{"1,5", 0, false},
		{"1e3", 0, false},
		{" 1", 0, false},
		{".5", 0, false},
		{"5.", 0, false},
	} {
		got, err := ads.ParseDecimalMicros(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseDecimalMicros(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestThrottleErrorIs(t *testing.T) {
	t.Parallel()
	inner := &ads.APIError{Platform: "meta", Status: 400, Code: 17, Message: "limit"}
	err := fmt.Errorf("wrap: %w", &ads.ThrottleError{Platform: "meta", RetryAfter: time.Minute, Err: inner})
	var ae *ads.APIError
	if !errors.Is(err, ads.ErrThrottled) || errors.Is(err, ads.ErrUnauthorized) || !errors.As(err, &ae) || ae.Code != 17 {
		t.Fatalf("err = %v", err)
	}
	if got := inner.Error(); got != "meta: API error 17 (HTTP 400): limit" {
		t.Errorf("Error() = %q", got)
	}
}

func TestCheckRange(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC)
	to := time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC)
	f, tt, err := ads.CheckRange([]string{"1"}, from, to)
	if err != nil || ads.Days(f, tt) != 3 || f.Hour() != 0 {
		t.Fatalf("CheckRange = %v %v %v", f, tt, err)
	}
	if _, _, err := ads.CheckRange([]string{""}, from, to); err == nil {
		t.Error("empty id accepted")
	}
}

// TestText: numbers as strings, as numbers, and null read as their text.
func TestText(t *testing.T) {
	var v struct{ A, B, C ads.Text }
	if err := json.Unmarshal([]byte(`{"A":"12.34","B":1234567890123456789,"C":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.A != "12.34" || v.B != "1234567890123456789" || v.C != "" {
		t.Errorf("read %+v", v)
	}
	if err := json.Unmarshal([]byte(`{"A":true}`), &v); err == nil {
		t.Error("a boolean read as text")
	}
}
