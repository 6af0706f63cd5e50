// Package errs defines payper's one error type. Every error a user can cause
// carries a Kind (which maps to an HTTP status), a machine-readable Code, a
// human message and, where one field is at fault, the field's name.
// Anything else is an internal error: logged, and shown to users only as
// "internal error".
package errs

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error for transport mapping.
type Kind string

// The kinds of error payper reports.
const (
	Invalid      Kind = "invalid"      // bad input: 400
	Unauthorized Kind = "unauthorized" // missing or wrong credentials: 401
	Forbidden    Kind = "forbidden"    // authenticated but not allowed: 403
	NotFound     Kind = "not_found"    // absent, or owned by another tenant: 404
	Conflict     Kind = "conflict"     // state does not allow it: 409
	Internal     Kind = "internal"     // a bug or an outage: 500
	Unavailable  Kind = "unavailable"  // a dependency (a platform) cannot answer now; retry later: 503
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is payper's error type.
type Error struct {
	Kind    Kind
	Code    string // e.g. "too_many_decimals"; defaults to the Kind
	Message string
	Field   string       // the offending field, if any
	Fields  []FieldError // every invalid field, when several are reported at once
	Err     error        // wrapped cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Field != "" {
		fmt.Fprintf(&b, " (field %s)", e.Field)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the wrapped cause.
func (e *Error) Unwrap() error { return e.Err }

// E builds an *Error of the given kind and code with a formatted message.
func E(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalidf reports bad input in one field.
func Invalidf(field, code, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf reports a missing object (or one owned by someone else).
func NotFoundf(format string, args ...any) *Error {
	return &Error{Kind: NotFound, Code: "not_found", Message: fmt.Sprintf(format, args...)}
}

// Conflictf reports a request the current state does not allow.
func Conflictf(code, format string, args ...any) *Error {
	return &Error{Kind: Conflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithField returns a copy of e naming field as the offender; prefix is
// prepended to an existing field name (e.g. "budget" + "amount" = "budget.amount").
func WithField(err error, field string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	if c.Field == "" {
		c.Field = field
	} else if field != "" {
		c.Field = field + "." + c.Field
	}
	return &c
}

// KindOf returns the Kind of err, or Internal for errors that are not *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// CodeOf returns the Code of err ("internal" for non-*Error errors).
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		if e.Code != "" {
			return e.Code
		}
		return string(e.Kind)
	}
	return string(Internal)
}

// Is reports whether err is an *Error of the given kind.
func Is(err error, kind Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}

// Collector gathers field errors so a whole request can be reported at once.
type Collector struct{ fields []FieldError }

// Add records err against field. A nil err is ignored; an *Error keeps its code.
func (c *Collector) Add(field string, err error) {
	if err == nil {
		return
	}
	fe := FieldError{Field: field, Code: "invalid", Message: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		fe.Code = e.Code
		fe.Message = e.Message
		if e.Field != "" && field != "" && e.Field != field {
			fe.Field = field + "." + e.Field
		} else if e.Field != "" {
			fe.Field = e.Field
		}
	}
	c.fields = append(c.fields, fe)
}

// Addf records a field error with a code and message.
func (c *Collector) Addf(field, code, format string, args ...any) {
	c.fields = append(c.fields, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was added, the single error when one field is
// at fault, or an Invalid error listing every field.
func (c *Collector) Err() error {
	switch len(c.fields) {
	case 0:
		return nil
	case 1:
		f := c.fields[0]
		return &Error{Kind: Invalid, Code: f.Code, Field: f.Field, Message: f.Message, Fields: c.fields}
	}
	names := make([]string, len(c.fields))
	for i, f := range c.fields {
		names[i] = f.Field
	}
	return &Error{Kind: Invalid, Code: "invalid_fields", Field: c.fields[0].Field, Fields: c.fields,
		Message: fmt.Sprintf("%d fields are invalid: %s", len(c.fields), strings.Join(names, ", "))}
}
