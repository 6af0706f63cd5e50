package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/errs"
)

// A throttled sign-in (its kind is Unauthorized, wrapping an
// account.ThrottledError) is answered 429 with Retry-After in whole seconds
// rounded up, not 401.
func TestThrottledIs429(t *testing.T) {
	te := &account.ThrottledError{RetryAfter: 90*time.Second + time.Millisecond}
	err := &errs.Error{Kind: errs.Unauthorized, Code: "too_many_attempts", Message: te.Error(), Err: te}
	w := httptest.NewRecorder()
	writeError(w, httptest.NewRequest("POST", "/v1/x", nil), "", slog.New(slog.NewTextHandler(io.Discard, nil)), err)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "91" {
		t.Fatalf("status %d, Retry-After %q; want 429, 91", w.Code, w.Header().Get("Retry-After"))
	}
	var body errorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error.Code != "too_many_attempts" {
		t.Fatalf("body %s (%v); want code too_many_attempts", w.Body, err)
	}
}
