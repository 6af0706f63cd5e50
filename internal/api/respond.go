package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Field   string            `json:"field,omitempty"`
	Fields  []errs.FieldError `json:"fields,omitempty"`
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

var statusOf = map[errs.Kind]int{
	errs.Invalid:      http.StatusBadRequest,
	errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden:    http.StatusForbidden,
	errs.NotFound:     http.StatusNotFound,
	errs.Conflict:     http.StatusConflict,
	errs.Internal:     http.StatusInternalServerError,
	errs.Unavailable:  http.StatusServiceUnavailable,
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("api: encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

func writeError(w http.ResponseWriter, r *http.Request, reqID string, log *slog.Logger, err error) {
	var e *errs.Error
	status := http.StatusInternalServerError
	body := errorBody{Error: errorDetail{Code: "internal", Message: "internal error"}}
	var tooBig *http.MaxBytesError
	var throttled retryAfterError
	switch {
	case errors.As(err, &tooBig):
		status = http.StatusRequestEntityTooLarge
		body.Error = errorDetail{Code: "too_large", Message: fmt.Sprintf("request body is larger than %d bytes", tooBig.Limit)}
	case errors.As(err, &throttled) && errors.As(err, &e):
		// Too many attempts (account.ThrottledError): 429, not the 401 its
		// kind says, with how long to wait.
		status = http.StatusTooManyRequests
		body.Error = errorDetail{Code: errs.CodeOf(e), Message: e.Message, Field: e.Field}
		w.Header().Set("Retry-After", strconv.Itoa(throttled.RetryAfterSeconds()))
	case errors.As(err, &e) && e.Kind != errs.Internal:
		status = statusOf[e.Kind]
		body.Error = errorDetail{Code: errs.CodeOf(e), Message: e.Message, Field: e.Field}
		if len(e.Fields) > 1 {
			body.Error.Fields = e.Fields
		}
		if e.Kind == errs.Unavailable && w.Header().Get("Retry-After") == "" {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		}
	case store.IsUnavailable(err):
		// An outage, not a bug: the client should come back, and the
		// operator sees a warning with the cause.
		status = http.StatusServiceUnavailable
		body.Error = errorDetail{Code: "unavailable", Message: "the database is unavailable; retry later"}
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		log.Warn("database unavailable", "method", r.Method, "path", r.URL.Path, "request_id", reqID, "err", err)
	default:
		log.Error("internal error", "method", r.Method, "path", r.URL.Path, "request_id", reqID, "err", err)
	}
	_ = writeJSON(w, status, body)
}

// retryAfterError is an error that says when to try again: a throttled
// sign-in (account.ThrottledError). It is answered 429 with Retry-After.
type retryAfterError interface {
	error
	RetryAfterSeconds() int
}

// retryAfterSeconds is the Retry-After of a 503: long enough for a
// database to restart or a failover to finish, short enough that clients
// do not give up on a blip.
const retryAfterSeconds = 5

// maxBody bounds request bodies.
const maxBody = 1 << 20

// decode reads exactly one JSON object into v (whatever the declared
// Content-Type), rejecting strings with control characters or bad UTF-8
// (checkText: 400 invalid_text naming the field), unknown fields,
// trailing data and bodies over maxBody, with an Invalid error naming the
// offending field where there is one.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	// The body is read as JSON whatever Content-Type says (curl -d sends
	// a form type); a declared type only sharpens the error message.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return errs.Invalidf("", "invalid_json", "request body could not be read: %v", err)
	}
	if err := checkText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		err = jsonError(err)
		if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") && errs.CodeOf(err) == "invalid_json" {
			var e *errs.Error
			if errors.As(err, &e) {
				e.Message += fmt.Sprintf(" (the request says Content-Type %q; send JSON as application/json)", ct)
			}
		}
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errs.Invalidf("", "invalid_json", "request body must hold exactly one JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	var e *errs.Error
	switch {
	case errors.Is(err, io.EOF):
		return errs.Invalidf("", "invalid_json", "request body is empty: a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.Invalidf("", "invalid_json", "request body is truncated JSON")
	case errors.As(err, &syn):
		return errs.Invalidf("", "invalid_json", "malformed JSON at byte %d: %s", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		if typ.Field == "" {
			return errs.Invalidf("", "invalid_json", "request body must be a JSON object")
		}
		return errs.Invalidf(typ.Field, "invalid_type", "%s must be a JSON %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	case errors.As(err, &tooBig):
		return err
	case errors.As(err, &e):
		return err
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		if f == "" {
			f = `""` // an empty key is still a field the client sent: name it as written
		}
		return errs.Invalidf(f, "unknown_field", "unknown field %q", f)
	}
	return errs.Invalidf("", "invalid_json", "invalid JSON: %v", err)
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "int", "int64", "int32", "uint", "uint64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	}
	return "object"
}

// amountField decodes a money object held in a raw field, naming field in errors.
func amountField(raw json.RawMessage, field string) (money.Amount, error) {
	var a money.Amount
	if err := a.UnmarshalJSON(raw); err != nil {
		return a, errs.WithField(err, field)
	}
	return a, nil
}

// page reads ?limit= and ?before= for keyset pagination.
func page(r *http.Request) (before string, limit int, err error) {
	q := r.URL.Query()
	limit = 50
	if v := q.Get("limit"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 200 {
			return "", 0, errs.Invalidf("limit", "out_of_range", "limit must be an integer from 1 to 200")
		}
		limit = n
	}
	before = q.Get("before")
	if before != "" && !idShaped(before) {
		return "", 0, errs.Invalidf("before", "invalid_cursor", "before must be the next_before of a previous page")
	}
	return before, limit, nil
}

// list is a page of results; NextBefore is the cursor for the next page.
type list[T any] struct {
	Data       []T    `json:"data"`
	NextBefore string `json:"next_before,omitempty"`
}
