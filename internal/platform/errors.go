package platform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The kinds of failure the domain acts on. Connectors return errors that
// match one of them with errors.Is and wrap the platform's own error.
var (
	// ErrReconnect: the authorization no longer works (token expired,
	// revoked or invalid, refresh token used or expired, scope missing, code
	// used or mismatched). Ask the creator to connect the account again.
	ErrReconnect = errors.New("platform: the account must be reconnected")
	// ErrRateLimited: the platform throttles us. errors.As finds a
	// *RateLimitError saying for how long.
	ErrRateLimited = errors.New("platform: rate limited")
	// ErrMediaNotFound: no such media item, or it was deleted, or it cannot
	// be seen with this token.
	ErrMediaNotFound = errors.New("platform: media not found")
	// ErrNotOwner: the media item belongs to another account than the
	// connected one (see CheckOwner).
	ErrNotOwner = errors.New("platform: media belongs to another account")
	// ErrAccessDenied: the creator declined the consent screen.
	ErrAccessDenied = errors.New("platform: the creator denied access")
	// ErrUnavailable: the platform failed or could not be reached (network
	// error, 5xx, timeout). Try again later.
	ErrUnavailable = errors.New("platform: unavailable")
)

// Error is a failure reported by a platform (or on the way to it).
type Error struct {
	Platform Name
	// Kind is the sentinel the error matches (ErrReconnect, …), or nil when
	// it is none of them.
	Kind error
	// Status is the HTTP status the platform answered, or 0.
	Status int
	// Code is the platform's own error code ("invalid_grant", "190",
	// "access_token_invalid"), or "".
	Code    string
	Message string
	Err     error // the cause, if any
}

// Error describes the failure.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Platform != "" {
		b.WriteString(string(e.Platform))
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s", e.Code)
		if e.Status != 0 {
			fmt.Fprintf(&b, ", HTTP %d", e.Status)
		}
		b.WriteString(")")
	} else if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the Kind and the cause, so errors.Is and errors.As see both.
func (e *Error) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// RateLimitError says the platform throttles us, and for how long.
// It matches ErrRateLimited with errors.Is.
type RateLimitError struct {
	Platform Name
	// RetryAfter is how long to wait before the next call, or 0 when the
	// platform did not say (back off on your own then).
	RetryAfter time.Duration
	// Reason is the platform's explanation, e.g. "rate_limit_exceeded".
	Reason string
	Err    error // the cause, if any
}

// Error describes the throttling.
func (e *RateLimitError) Error() string {
	var b strings.Builder
	if e.Platform != "" {
		b.WriteString(string(e.Platform))
		b.WriteString(": ")
	}
	b.WriteString("rate limited")
	if e.Reason != "" {
		b.WriteString(" (")
		b.WriteString(e.Reason)
		b.WriteString(")")
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Unwrap returns the cause.
func (e *RateLimitError) Unwrap() error { return e.Err }

// ParseRetryAfter reads an HTTP Retry-After header: delay-seconds or an
// HTTP date (relative to now). It returns 0 for an absent, malformed or past
// value.
func ParseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(365*24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Callback is what the platform sent back to the redirect URI.
type Callback struct {
	Code  string
	State string
}

// ParseCallback reads the query of an OAuth redirect back to payper. It
// returns an error matching ErrAccessDenied when the creator declined, a
// *Error carrying the platform's code for any other error it reports, and an
// error when code or state is missing. The caller still has to check that
// State is one it issued.
func ParseCallback(q url.Values) (Callback, error) {
	if e := q.Get("error"); e != "" {
		err := &Error{Code: e, Message: "authorization failed"}
		if d := firstNonEmpty(q.Get("error_description"), q.Get("error_reason")); d != "" {
			err.Message = "authorization failed: " + d
		}
		if e == "access_denied" {
			err.Kind = ErrAccessDenied
		}
		return Callback{State: q.Get("state")}, err
	}
	cb := Callback{Code: q.Get("code"), State: q.Get("state")}
	if cb.Code == "" {
		return cb, &Error{Code: "invalid_request", Message: "the callback carries no code"}
	}
	if cb.State == "" {
		return cb, &Error{Code: "invalid_request", Message: "the callback carries no state"}
	}
	return cb, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Send does req with hc and reads at most limit bytes of the answer. A
// request that fails, or an answer that cannot be read, is a *Error of the
// named platform, of kind ErrUnavailable unless ctx ended (then it only
// wraps the cause, which matches ctx's error). Any status is returned as
// is: the connector decides what it means.
func Send(ctx context.Context, hc *http.Client, name Name, req *http.Request, limit int64) (int, http.Header, []byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		e := &Error{Platform: name, Message: "request failed", Err: err}
		if ctx.Err() == nil {
			e.Kind = ErrUnavailable
		}
		return 0, nil, nil, e
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		e := &Error{Platform: name, Status: resp.StatusCode, Message: "reading the response failed", Err: err}
		if ctx.Err() == nil {
			e.Kind = ErrUnavailable
		}
		return 0, nil, nil, e
	}
	return resp.StatusCode, resp.Header, b, nil
}
