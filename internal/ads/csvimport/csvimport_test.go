package csvimport_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/ads"
	"github.com/payper/payper/internal/ads/csvimport"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

const header = "ad_id,date,currency,spend,impressions,clicks,purchases,purchase_value\n"

func TestParseGood(t *testing.T) {
	t.Parallel()
	a := ads.DailyResult{AdID: "111", Day: day("2026-03-01"), Currency: "EUR", Spend: 12_340_000,
		Impressions: 1000, Clicks: 30, Purchases: 2, PurchaseValue: 99_990_000}
	b := ads.DailyResult{AdID: "222", Day: day("2026-03-02"), Currency: "USD", Spend: 1,
		Impressions: 0, Clicks: 0, Purchases: 0, PurchaseValue: 0}
	withPlatform := func(r ads.DailyResult, p string) ads.DailyResult { r.Platform = p; return r }
	for _, tc := range []struct {
		name string
		in   string
		want []ads.DailyResult
	}{
		{"comma", header + "111,2026-03-01,EUR,12.34,1000,30,2,99.99\n222,2026-03-02,usd,0.000001,0,0,0,0\n", []ads.DailyResult{a, b}},
		{"no final newline", header + "111,2026-03-01,EUR,12.34,1000,30,2,99.99", []ads.DailyResult{a}},
		{"header only", header, nil},
		{"BOM, CRLF, semicolons, decimal comma, any order and case",
			"\uFEFFDate;AD_ID;Currency;Spend;Impressions;Clicks;Purchases;Purchase_Value;Notes\r\n" +
				"2026-03-01;111;EUR;12,34;1000;30;2;99,99;x\r\n" +
				";;;;;;;;\r\n" +
				"2026-03-02;222;USD;0.000001;0;0;0;0;\r\n",
			[]ads.DailyResult{a, b}},
		{"quoted, spaces, blank lines, trailing empty field",
			header + "\n\"111\", 2026-03-01 ,EUR,\"12.34\",1000,30,2,99.99,\n\n", []ads.DailyResult{a}},
		{"platform column", "platform," + header + "Meta,111,2026-03-01,EUR,12.34,1000,30,2,99.99\n",
			[]ads.DailyResult{withPlatform(a, "meta")}},
	} {
		got, err := csvimport.Parse(strings.NewReader(tc.in), 10)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		lines := make([]int, len(got))
		for i := range got {
			lines[i], got[i].Line = got[i].Line, 0
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
		if want := wantLines[tc.name]; len(lines)+len(want) > 0 && !reflect.DeepEqual(lines, want) {
			t.Errorf("%s: rows from lines %v, want %v", tc.name, lines, want)
		}
	}
}

// wantLines are the file lines the good cases' rows come from.
var wantLines = map[string][]int{
	"comma": {2, 3}, "no final newline": {2}, "BOM, CRLF, semicolons, decimal comma, any order and case": {2, 4},
	"quoted, spaces, blank lines, trailing empty field": {3}, "platform column": {2},
}

func TestParseBad(t *testing.T) {
	t.Parallel()
	type re = csvimport.RowError
	for _, tc := range []struct {
		name string
		in   string
		want []re
	}{
		{"empty", "", []re{{1, "", "the file is empty: a header row is required"}}},
		{"missing columns", "ad_id,date,currency,spend,impressions,clicks\n1,2026-03-01,EUR,1,1,1\n", []re{
			{1, "purchases", "missing column in the header (need ad_id, date, currency, spend, impressions, clicks, purchases, purchase_value)"},
			{1, "purchase_value", "missing column in the header (need ad_id, date, currency, spend, impressions, clicks, purchases, purchase_value)"},
		}},
		{"duplicate column", "spend," + header, []re{{1, "spend", "column appears twice in the header"}}},
		{"every kind of bad value, line numbers physical",
			header +
				"111,2026-03-01,EUR,12.34,1000,30,2,99.99\n" + // line 2 good
				"\n" + // line 3 blank
				"112,2026-02-30,EURO,-1,1.5,-3,x,1.1234567\n" + // line 4
				"\"multi\nline\",2026-03-01,EUR,1,1,1,1,1\n" + // lines 5-6 good
				"111,2026-03-01,EUR,1,1,1,1,1\n" + // line 7 duplicate of 2
				"113,2026-03-01,EUR,1,1\n" + // line 8 short
				",,EUR,1e3,99999999999999999999,1,1,99999999999999\n", // line 9
			[]re{
				{4, "date", `"2026-02-30" is not a date as YYYY-MM-DD`},
				{4, "currency", `"EURO" is not a three-letter ISO 4217 currency code`},
				{4, "spend", `"-1" is negative`},
				{4, "purchase_value", `"1.1234567" has more than 6 decimals`},
				{4, "impressions", `"1.5" is not a whole number`},
				{4, "clicks", `"-3" is negative`},
				{4, "purchases", `"x" is not a whole number`},
				{7, "ad_id", `duplicate of line 2 (same ad_id "111" and date 2026-03-01)`},
				{8, "", "row has 5 fields, the header has 8"},
				{9, "ad_id", "missing value"},
				{9, "date", "missing value"},
				{9, "spend", `"1e3" is not a decimal number (like 12.34)`},
				{9, "purchase_value", `"99999999999999" is too large`},
				{9, "impressions", `"99999999999999999999" is too large`},
			}},
		{"bad quote stops reading", header + "111,2026-03-01,EUR,1,1,1,1,1\n112,\"bad\"x,EUR,1,1,1,1,1\n113,bad,EUR,1,1,1,1,1\n", []re{
			{3, "", `unreadable CSV (extraneous or missing " in quoted-field); lines after it were not checked`},
		}},
		{"platform bad", "platform," + header + "me ta,111,2026-03-01,EUR,1,1,1,1,1\n",
			[]re{{2, "platform", `"me ta" is not a platform name (letters, digits, '_', '-', at most 32)`}}},
	} {
		got, err := csvimport.Parse(strings.NewReader(tc.in), 100)
		var errs *csvimport.Errors
		if !errors.As(err, &errs) {
			t.Errorf("%s: err = %v, rows %+v", tc.name, err, got)
			continue
		}
		if got != nil {
			t.Errorf("%s: rows returned with an error", tc.name)
		}
		if !reflect.DeepEqual(errs.Rows, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, errs.Rows, tc.want)
		}
	}
}

func TestErrorCap(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString(header)
	for i := 0; i < 130; i++ {
		fmt.Fprintf(&b, "%d,bad,EUR,1,1,1,1,1\n", i)
	}
	_, err := csvimport.Parse(strings.NewReader(b.String()), 0)
	var errs *csvimport.Errors
	if !errors.As(err, &errs) || len(errs.Rows) != csvimport.MaxErrors || errs.More != 30 {
		t.Fatalf("err = %v", err)
	}
	if errs.Rows[99].Line != 101 {
		t.Errorf("last listed line %d", errs.Rows[99].Line)
	}
	if !strings.Contains(err.Error(), "130 problem(s)") || !strings.Contains(err.Error(), "and 125 more") {
		t.Errorf("Error() = %s", err)
	}
}

func TestMaxRows(t *testing.T) {
	t.Parallel()
	in := header + "111,2026-03-01,EUR,1,1,1,1,1\n\n112,2026-03-01,EUR,1,1,1,1,1\n113,2026-03-01,EUR,1,1,1,1,1\n"
	if got, err := csvimport.Parse(strings.NewReader(in), 3); err != nil || len(got) != 3 {
		t.Fatalf("3 rows, max 3: %v %v", got, err)
	}
	_, err := csvimport.Parse(strings.NewReader(in), 2)
	var errs *csvimport.Errors
	want := []csvimport.RowError{{Line: 5, Message: "the file has more than 2 data rows"}}
	if !errors.As(err, &errs) || !reflect.DeepEqual(errs.Rows, want) {
		t.Fatalf("err = %v", err)
	}
}
