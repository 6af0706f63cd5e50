package web

import (
	"testing"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
)

func TestFormatMoney(t *testing.T) {
	for _, c := range []struct {
		a    money.Amount
		want string
	}{
		{money.New(0, "EUR"), "0.00 EUR"},
		{money.New(12_500_000, "EUR"), "12.50 EUR"},
		{money.New(1_234_567_890_000, "USD"), "1,234,567.89 USD"},
		{money.New(1_234, "EUR"), "0.001234 EUR"},
		{money.New(-1_000_000_000, "EUR"), "−1,000.00 EUR"},
		{money.New(123_456_000_001, "EUR"), "123,456.000001 EUR"},
	} {
		if got := formatMoney(c.a); got != c.want {
			t.Errorf("money(%d %s) = %q; want %q", c.a.Micros, c.a.Currency, got, c.want)
		}
	}
}

func TestFormatNumAndPct(t *testing.T) {
	for v, want := range map[any]string{0: "0", 999: "999", int64(1000): "1,000", int64(-1234567): "−1,234,567", uint64(12345678): "12,345,678"} {
		if got := formatNum(v); got != want {
			t.Errorf("num(%v) = %q; want %q", v, got, want)
		}
	}
	for v, want := range map[any]string{int64(12345): "1.23%", int64(1_000_000): "100.00%", int64(0): "0.00%",
		"0.012345": "1.23%", "3": "300.00%", "12.5": "1,250.00%", "-0.5": "−50.00%", "undefined": "—", "": "—"} {
		if got := formatPct(v); got != want {
			t.Errorf("pct(%#v) = %q; want %q", v, got, want)
		}
	}
	if got := formatDate(clock.Micros(0)); got != "—" {
		t.Errorf("date(0) = %q", got)
	}
	if got := formatDate(clock.Micros(1796637600000000)); got != "7 Dec 2026" {
		t.Errorf("date = %q", got)
	}
	// a day as the domain writes it (report windows, plans)
	for v, want := range map[string]string{"2026-12-07": "7 Dec 2026", "": "—", "undefined": "—"} {
		if got := formatDate(v); got != want {
			t.Errorf("date(%q) = %q; want %q", v, got, want)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	var c errs.Collector
	c.Addf("email", "invalid_email", "bad email")
	c.Addf("password", "too_short", "too short")
	fe := fieldErrors(c.Err())
	if fe["email"] != "bad email" || fe["password"] != "too short" || len(fe) != 2 {
		t.Fatalf("fieldErrors = %v", fe)
	}
	if fe := fieldErrors(errs.Invalidf("label", "too_long", "long")); fe["label"] != "long" {
		t.Fatalf("one field: %v", fe)
	}
	if fieldErrors(errs.NotFoundf("x")) != nil || fieldErrors(nil) != nil {
		t.Fatal("a non-Invalid error gave field errors")
	}
}
