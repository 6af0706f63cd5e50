package csvimport_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/ads"
	"github.com/payper/payper/internal/ads/csvimport"
)

// micros formats micro-units as a decimal with six places.
func micros(v int64) string { return fmt.Sprintf("%d.%06d", v/1_000_000, v%1_000_000) }

// FuzzParse feeds arbitrary bytes to Parse. An accepted file yields rows
// with amounts and counts ≥ 0, a real date at 00:00 UTC, an upper-case
// currency, an ad id without NUL or other control characters (tab and line
// breaks aside), increasing line numbers and no (ad_id, date)
// twice — and the rows, written back as CSV, parse to the same rows. A
// refused file is an *Errors whose every problem names a line within the
// file and, when about one field, a column the file has or needs.
func FuzzParse(f *testing.F) {
	f.Add([]byte(header + "111,2026-03-01,EUR,12.34,1000,30,2,99.99\n222,2026-03-02,usd,0.000001,0,0,0,0\n"))
	f.Add([]byte("\uFEFFDate;AD_ID;Currency;Spend;Impressions;Clicks;Purchases;Purchase_Value\r\n2026-03-01;111;EUR;12,34;1000;30;2;99,99\r\n"))
	f.Add([]byte("platform," + header + "Meta,111,2026-03-01,EUR,12.34,1000,30,2,99.99\n"))
	f.Add([]byte(header + "111,2026-02-30,EUR,-1,1e3,x,2,99.9999999\n111,2026-02-30,EUR,1,1,1,1,1\n"))
	f.Add([]byte(header + "\"a\x00b\",2026-03-01,EUR,1,1,1,1,1\n"))
	f.Add([]byte("ad_id,ad_id,date\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := csvimport.Parse(bytes.NewReader(data), 1000)
		lines := bytes.Count(data, []byte("\n")) + 1
		if err != nil {
			var e *csvimport.Errors
			if !errors.As(err, &e) || len(e.Rows) == 0 || rows != nil {
				t.Fatalf("refused with %T %v and %d rows", err, err, len(rows))
			}
			lower := strings.ToLower(string(data))
			for _, r := range e.Rows {
				if r.Line < 1 || r.Line > lines {
					t.Fatalf("problem on line %d of a %d-line file: %s", r.Line, lines, r)
				}
				if r.Column != "" && !slices.Contains(csvimport.Required, r.Column) && r.Column != csvimport.ColPlatform && !strings.Contains(lower, r.Column) {
					t.Fatalf("problem names column %q the file neither has nor needs: %s", r.Column, r)
				}
				if r.Message == "" {
					t.Fatalf("problem without a message on line %d", r.Line)
				}
			}
			return
		}
		seen := map[string]bool{}
		prev := 1
		for _, r := range rows {
			if r.Spend < 0 || r.PurchaseValue < 0 || r.Impressions < 0 || r.Clicks < 0 || r.Purchases < 0 {
				t.Fatalf("negative figure accepted: %+v", r)
			}
			if r.Day.Location() != time.UTC || !r.Day.Equal(r.Day.Truncate(24*time.Hour)) || r.Day.Year() < 2000 || r.Day.Year() > 9999 {
				t.Fatalf("day %v is not a date at 00:00 UTC", r.Day)
			}
			if len(r.Currency) != 3 || strings.ToUpper(r.Currency) != r.Currency || strings.Trim(r.Currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
				t.Fatalf("currency %q accepted", r.Currency)
			}
			if r.AdID == "" || !utf8.ValidString(r.AdID) || strings.ContainsFunc(r.AdID, func(c rune) bool { return c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f }) {
				t.Fatalf("ad id %q accepted", r.AdID)
			}
			if r.Line <= prev || r.Line > lines {
				t.Fatalf("line %d after %d in a %d-line file", r.Line, prev, lines)
			}
			prev = r.Line
			key := r.AdID + "|" + r.Day.Format(time.DateOnly)
			if seen[key] {
				t.Fatalf("(ad_id, date) %s accepted twice", key)
			}
			seen[key] = true
		}
		// Written back, the rows parse to themselves.
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		hasPlatform := len(rows) > 0 && strings.Contains(strings.ToLower(string(data)), "platform")
		head := slices.Clone(csvimport.Required)
		if hasPlatform {
			head = append(head, csvimport.ColPlatform)
		}
		_ = w.Write(head)
		for _, r := range rows {
			rec := []string{r.AdID, r.Day.Format(time.DateOnly), r.Currency, micros(r.Spend), strconv.FormatInt(r.Impressions, 10),
				strconv.FormatInt(r.Clicks, 10), strconv.FormatInt(r.Purchases, 10), micros(r.PurchaseValue)}
			if hasPlatform {
				rec = append(rec, r.Platform)
			}
			_ = w.Write(rec)
		}
		w.Flush()
		again, err := csvimport.Parse(&buf, 1000)
		if err != nil {
			t.Fatalf("rows written back refused: %v\n%s", err, buf.String())
		}
		strip := func(rs []ads.DailyResult) []ads.DailyResult {
			out := make([]ads.DailyResult, len(rs))
			for i, r := range rs {
				r.Line = 0
				out[i] = r
			}
			return out
		}
		if !reflect.DeepEqual(strip(rows), strip(again)) {
			t.Fatalf("round trip changed the rows:\n%+v\n%+v", rows, again)
		}
	})
}
