// Package csvimport parses the CSV of daily ad results a brand exports by
// hand from an ads manager, all or nothing.
package csvimport

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/ads"
)

// MaxErrors is how many problems an *Errors lists; it counts the rest.
const MaxErrors = 100

// Column names. Header names match case-insensitively and in any order.
const (
	ColAdID          = "ad_id"
	ColDate          = "date"
	ColCurrency      = "currency"
	ColSpend         = "spend"
	ColImpressions   = "impressions"
	ColClicks        = "clicks"
	ColPurchases     = "purchases"
	ColPurchaseValue = "purchase_value"
	ColPlatform      = "platform" // optional
)

// Required lists the columns every file must have.
var Required = []string{ColAdID, ColDate, ColCurrency, ColSpend, ColImpressions, ColClicks, ColPurchases, ColPurchaseValue}

// RowError is one problem in the file.
type RowError struct {
	Line    int    // physical line in the file; the header is line 1
	Column  string // column name, or "" for the whole row
	Message string
}

// String describes the problem with its line and column. It cannot fail.
func (e RowError) String() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Message)
	}
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Message)
}

// Errors lists the problems of a rejected file in file order: at most
// MaxErrors of them, and how many More were found beyond.
type Errors struct {
	Rows []RowError
	More int
}

// Error summarises the problems, naming the first five. It cannot fail.
func (e *Errors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "csvimport: %d problem(s) in the file", len(e.Rows)+e.More)
	for i, r := range e.Rows {
		if i == 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Rows)-5+e.More)
			break
		}
		b.WriteString("; ")
		b.WriteString(r.String())
	}
	if len(e.Rows) <= 5 && e.More > 0 {
		fmt.Fprintf(&b, "; and %d more", e.More)
	}
	return b.String()
}

func (e *Errors) add(line int, col, format string, args ...any) {
	if len(e.Rows) >= MaxErrors {
		e.More++
		return
	}
	e.Rows = append(e.Rows, RowError{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
}

// Parse reads a CSV of daily ad results: a header row, then one row per ad
// and day. The delimiter is ';' if the header has more semicolons than
// commas, else ','. A UTF-8 BOM and CRLF line ends are accepted; rows whose
// fields are all blank are skipped. In a ';' file, amounts may use a
// decimal comma ("12,34"). Amounts are non-negative with at most six
// decimals; counts are non-negative whole numbers; dates are YYYY-MM-DD;
// currency is three letters (upper-cased); each (ad_id, date) appears once.
// Columns other than the known ones are ignored. maxRows ≤ 0 means no limit.
//
// On any problem it returns nil and an *Errors listing every bad row (up to
// MaxErrors); a read error of r is returned wrapped instead.
func Parse(r io.Reader, maxRows int) ([]ads.DailyResult, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	first, err := br.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("csvimport: reading header: %w", err)
	}
	comma := ','
	if strings.Count(first, ";") > strings.Count(first, ",") {
		comma = ';'
	}
	cr := csv.NewReader(io.MultiReader(strings.NewReader(first), br))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true

	errs := &Errors{}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		errs.add(1, "", "the file is empty: a header row is required")
		return nil, errs
	}
	if err != nil {
		return nil, readError(err, errs)
	}
	cols := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if name == "" {
			continue
		}
		if _, dup := cols[name]; dup {
			errs.add(1, name, "column appears twice in the header")
			continue
		}
		cols[name] = i
	}
	for _, name := range Required {
		if _, ok := cols[name]; !ok {
			errs.add(1, name, "missing column in the header (need %s)", strings.Join(Required, ", "))
		}
	}
	if len(errs.Rows) > 0 {
		return nil, errs
	}
	_, hasPlatform := cols[ColPlatform]

	var out []ads.DailyResult
	firstLine := map[string]int{}
	rows := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, readError(err, errs)
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		rows++
		if maxRows > 0 && rows > maxRows {
			errs.add(line, "", "the file has more than %d data rows", maxRows)
			break
		}
		if len(rec) < len(header) {
			errs.add(line, "", "row has %d fields, the header has %d", len(rec), len(header))
			continue
		}
		if len(rec) > len(header) && !blank(rec[len(header):]) {
			errs.add(line, "", "row has %d fields, the header has %d", len(rec), len(header))
			continue
		}
		res, ok := parseRow(rec, cols, hasPlatform, comma == ';', line, errs)
		if !ok {
			continue
		}
		key := res.AdID + "|" + res.Day.Format(time.DateOnly)
		if prev, dup := firstLine[key]; dup {
			errs.add(line, ColAdID, "duplicate of line %d (same ad_id %q and date %s)", prev, res.AdID, res.Day.Format(time.DateOnly))
			continue
		}
		firstLine[key] = line
		res.Line = line
		out = append(out, res)
	}
	if len(errs.Rows) > 0 {
		return nil, errs
	}
	return out, nil
}

// readError turns a CSV syntax error into a RowError (reading stops there:
// the rest of the file cannot be trusted) and returns other errors wrapped.
func readError(err error, errs *Errors) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		errs.add(pe.StartLine, "", "unreadable CSV (%v); lines after it were not checked", pe.Err)
		return errs
	}
	return fmt.Errorf("csvimport: reading: %w", err)
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// parseRow parses one data row, adding a RowError per bad field.
func parseRow(rec []string, cols map[string]int, hasPlatform, decimalComma bool, line int, errs *Errors) (ads.DailyResult, bool) {
	ok := true
	get := func(col string) string { return strings.TrimSpace(rec[cols[col]]) }
	bad := func(col, format string, args ...any) {
		ok = false
		errs.add(line, col, format, args...)
	}
	var r ads.DailyResult

	switch r.AdID = get(ColAdID); {
	case r.AdID == "":
		bad(ColAdID, "missing value")
	case !printable(r.AdID):
		// PostgreSQL refuses NUL in text: such an id would fail the import
		// at the database, not here.
		bad(ColAdID, "%q is not valid UTF-8 or has control characters other than tab and line breaks", r.AdID)
	case utf8.RuneCountInString(r.AdID) > 200:
		bad(ColAdID, "is longer than 200 characters")
	}
	if s := get(ColDate); s == "" {
		bad(ColDate, "missing value")
	} else if d, err := time.Parse(time.DateOnly, s); err != nil {
		bad(ColDate, "%q is not a date as YYYY-MM-DD", s)
	} else if d.Year() < 2000 {
		bad(ColDate, "%q is before 2000: no ad results are that old", s)
	} else {
		r.Day = d
	}
	if s := get(ColCurrency); !isCurrency(s) {
		bad(ColCurrency, "%q is not a three-letter ISO 4217 currency code", s)
	} else {
		r.Currency = strings.ToUpper(s)
	}
	for _, m := range []struct {
		col string
		dst *int64
	}{{ColSpend, &r.Spend}, {ColPurchaseValue, &r.PurchaseValue}} {
		v, msg := parseAmount(get(m.col), decimalComma)
		if msg != "" {
			bad(m.col, "%s", msg)
		}
		*m.dst = v
	}
	for _, m := range []struct {
		col string
		dst *int64
	}{{ColImpressions, &r.Impressions}, {ColClicks, &r.Clicks}, {ColPurchases, &r.Purchases}} {
		v, msg := parseCount(get(m.col))
		if msg != "" {
			bad(m.col, "%s", msg)
		}
		*m.dst = v
	}
	if hasPlatform {
		p := strings.ToLower(get(ColPlatform))
		if !isPlatform(p) {
			bad(ColPlatform, "%q is not a platform name (letters, digits, '_', '-', at most 32)", p)
		}
		r.Platform = p
	}
	return r, ok
}

// printable reports whether s is valid UTF-8 without control characters
// other than tab and line breaks (a quoted CSV field may span lines).
func printable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, func(c rune) bool {
		return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f
	})
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isPlatform(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// parseAmount parses a non-negative amount into micro-units; msg explains a
// failure.
func parseAmount(s string, decimalComma bool) (v int64, msg string) {
	if s == "" {
		return 0, "missing value"
	}
	n := s
	if decimalComma && strings.Count(n, ",") == 1 && !strings.Contains(n, ".") {
		n = strings.Replace(n, ",", ".", 1)
	}
	if strings.HasPrefix(n, "-") {
		return 0, fmt.Sprintf("%q is negative", s)
	}
	if i := strings.IndexByte(n, '.'); i >= 0 && len(n)-i-1 > 6 {
		return 0, fmt.Sprintf("%q has more than 6 decimals", s)
	}
	v, err := ads.ParseDecimalMicros(n)
	if err != nil {
		if strings.Trim(n, "0123456789.") == "" && strings.Count(n, ".") <= 1 && !strings.HasPrefix(n, ".") && !strings.HasSuffix(n, ".") {
			return 0, fmt.Sprintf("%q is too large", s)
		}
		return 0, fmt.Sprintf("%q is not a decimal number (like 12.34)", s)
	}
	return v, ""
}

// parseCount parses a non-negative whole number; msg explains a failure.
func parseCount(s string) (v int64, msg string) {
	if s == "" {
		return 0, "missing value"
	}
	if strings.HasPrefix(s, "-") {
		return 0, fmt.Sprintf("%q is negative", s)
	}
	if strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Sprintf("%q is not a whole number", s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Sprintf("%q is too large", s)
	}
	return v, ""
}
