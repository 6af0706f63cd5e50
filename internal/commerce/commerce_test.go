package commerce_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/commerce"
)

var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := commerce.Discount{Code: "ANNA15", Title: "payper: Spring — anna", PercentBps: 1500, StartsAt: start}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	fixed := commerce.Discount{Code: "ANNA5", Title: "t", AmountOff: 5_000_000, Currency: "EUR", StartsAt: start,
		EndsAt: start.Add(time.Hour), UsageLimit: 10, OncePerCustomer: true}
	if err := fixed.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		edit  func(*commerce.Discount)
		field string
	}{
		{"empty code", func(d *commerce.Discount) { d.Code = "" }, "Code"},
		{"spaced code", func(d *commerce.Discount) { d.Code = " ANNA" }, "Code"},
		{"control in code", func(d *commerce.Discount) { d.Code = "AN\nNA" }, "Code"},
		{"long code", func(d *commerce.Discount) { d.Code = strings.Repeat("A", 256) }, "Code"},
		{"empty title", func(d *commerce.Discount) { d.Title = " " }, "Title"},
		{"both", func(d *commerce.Discount) { d.AmountOff, d.Currency = 1, "EUR" }, "both"},
		{"neither", func(d *commerce.Discount) { d.PercentBps = 0 }, "neither"},
		{"negative percent", func(d *commerce.Discount) { d.PercentBps = -1 }, "PercentBps"},
		{"over 100 %", func(d *commerce.Discount) { d.PercentBps = 10_001 }, "PercentBps"},
		{"negative amount", func(d *commerce.Discount) { d.PercentBps, d.AmountOff = 0, -5 }, "AmountOff"},
		{"amount without currency", func(d *commerce.Discount) { d.PercentBps, d.AmountOff = 0, 5 }, "Currency"},
		{"lower-case currency", func(d *commerce.Discount) { d.PercentBps, d.AmountOff, d.Currency = 0, 5, "eur" }, "Currency"},
		{"no start", func(d *commerce.Discount) { d.StartsAt = time.Time{} }, "StartsAt"},
		{"end before start", func(d *commerce.Discount) { d.EndsAt = start }, "EndsAt"},
		{"negative limit", func(d *commerce.Discount) { d.UsageLimit = -1 }, "UsageLimit"},
	}
	for _, tt := range tests {
		d := ok
		tt.edit(&d)
		if err := d.Validate(); err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: err = %v, want naming %s", tt.name, err, tt.field)
		}
	}
}

func TestFormatting(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{commerce.AmountDecimal(12_500_000), "12.50"},
		{commerce.AmountDecimal(5_000_000), "5.00"},
		{commerce.AmountDecimal(1_234_500), "1.2345"},
		{commerce.AmountDecimal(1), "0.000001"},
		{commerce.AmountDecimal(10_000), "0.01"},
		{commerce.AmountDecimal(-12_500_000), "-12.50"},
		{commerce.AmountDecimal(-9223372036854775808), "-9223372036854.775808"},
		{commerce.FormatMicros(15_000_000, 0), "15"},
		{commerce.FormatMicros(15_000_000, 9), "15.000000"},
		{commerce.PercentFraction(1500), "0.15"},
		{commerce.PercentFraction(1550), "0.155"},
		{commerce.PercentFraction(10_000), "1"},
		{commerce.PercentFraction(1), "0.0001"},
		{commerce.PercentNumber(1500), "15"},
		{commerce.PercentNumber(1550), "15.5"},
		{commerce.PercentNumber(1525), "15.25"},
		{commerce.PercentNumber(10_000), "100"},
		{commerce.PercentNumber(1), "0.01"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("case %d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"2", 2 * time.Second, true},
		{"2.0", 2 * time.Second, true},
		{"0.5", 500 * time.Millisecond, true},
		{"-3", 0, true},
		{"86400", commerce.MaxRetryWait, true},
		{now.Add(5 * time.Second).Format(http.TimeFormat), 5 * time.Second, true},
		{now.Add(-5 * time.Second).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"soon", 0, false},
		{"NaN", 0, false},
	}
	for _, tt := range tests {
		got, ok := commerce.RetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://shop.example.com/":    "https://shop.example.com",
		"https://example.com/shop/":    "https://example.com/shop",
		"http://127.0.0.1:8080":        "http://127.0.0.1:8080",
		"http://localhost:1/":          "http://localhost:1",
		"http://[::1]:9":               "http://[::1]:9",
		" https://glow.myshopify.com ": "https://glow.myshopify.com",
	} {
		u, err := commerce.CheckBaseURL(in)
		if err != nil || u.String() != want {
			t.Errorf("CheckBaseURL(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, in := range []string{
		"", "shop.example.com", "http://shop.example.com", "http://10.0.0.1", "ftp://x",
		"https://u:p@x", "https://x/?a=1", "https://x/#f", "http://localhost.evil.com",
	} {
		if _, err := commerce.CheckBaseURL(in); err == nil {
			t.Errorf("CheckBaseURL(%q) succeeded", in)
		}
	}
}

func TestSleepContext(t *testing.T) {
	t.Parallel()
	if err := commerce.SleepContext(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	if err := commerce.SleepContext(ctx, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(began) > time.Second {
		t.Fatal("slept despite a cancelled context")
	}
}
