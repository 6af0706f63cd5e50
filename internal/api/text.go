package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/payper/payper/internal/errs"
)

// checkText walks a JSON body and refuses the first string — a value or an
// object's key — that is not valid UTF-8 or holds a control character other
// than tab, line feed and carriage return, with an Invalid error coded
// invalid_text whose field is the string's JSON path (brief.message,
// items[2].name). Every request body passes through it, so no handler and
// no database (PostgreSQL refuses NUL in text) ever sees such a string;
// single-line names refuse tabs and line breaks too, in their domain's
// Validate. Malformed JSON is left for the decoder to report.
func checkText(body []byte) error {
	if utf8.Valid(body) && !bytes.Contains(body, []byte(`\u`)) && bytes.IndexByte(body, 0x7f) < 0 {
		// Raw control characters inside a string are malformed JSON
		// already; only an escape or DEL could hide one.
		return nil
	}
	type frame struct {
		array   bool
		key     string
		index   int
		wantKey bool
	}
	var stack []frame
	path := func(last string) string {
		var b strings.Builder
		for _, f := range stack {
			if f.array {
				b.WriteString("[" + strconv.Itoa(f.index) + "]")
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
		if last != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(last)
		}
		return b.String()
	}
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].array {
				stack[n-1].index++
			} else {
				stack[n-1].wantKey = true
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF, or a syntax error the decoder will name
		}
		off := dec.InputOffset()
		raw := body[prev:off]
		prev = off
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				stack = append(stack, frame{wantKey: true})
			case '[':
				stack = append(stack, frame{array: true})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			isKey := len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].wantKey
			field := path("")
			if isKey {
				field = path(v)
			}
			if field == "" {
				field = "body"
			}
			if !utf8.Valid(raw) {
				return errs.Invalidf(field, "invalid_text", "%s is not valid UTF-8", field)
			}
			if err := errs.BadText(field, v, true); err != nil {
				return err
			}
			if isKey {
				stack[len(stack)-1].key, stack[len(stack)-1].wantKey = v, false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}
