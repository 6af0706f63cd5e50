package errs

import (
	"fmt"
	"unicode/utf8"
)

// BadText returns an Invalid error with code "invalid_text" naming field
// when s is not valid UTF-8 or holds a control character: any C0 control
// (U+0000–U+001F) or DEL, except tab, line feed and carriage return when
// multiline is true (free text such as a brief or a pitch); a single-line
// value (a name, a label) allows none of them. It returns nil for good text.
// PostgreSQL refuses NUL in text outright, so such input must be stopped
// before it reaches SQL on either database.
func BadText(field, s string, multiline bool) error {
	if !utf8.ValidString(s) {
		return Invalidf(field, "invalid_text", "%s is not valid UTF-8", field)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != 0x7f {
			continue
		}
		if multiline && (c == '\t' || c == '\n' || c == '\r') {
			continue
		}
		what := "control characters"
		if multiline {
			what = "control characters other than tab and line breaks"
		}
		return Invalidf(field, "invalid_text", "%s must not contain %s (found %s at byte %d)", field, what, fmt.Sprintf("%U", rune(c)), i)
	}
	return nil
}
