package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payper/payper/internal/app"
)

// testAdmin is the admin token of the apps these tests build.
const testAdmin = "api-test-admin-token-0123456789"

// openApp builds the whole app on the database at url, as "payper serve"
// does, without background jobs; it is closed when t ends.
func openApp(t testing.TB, url string) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), app.Config{DatabaseURL: url, AdminToken: testAdmin, NoPeriodicJobs: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PublicURL: "http://payper.test"})
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// answer is one response of the app.
type answer struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    string
}

// errCode returns the error object's code ("" when there is none).
func (a answer) errCode() string {
	e, _ := a.Body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

// errField returns the error object's field ("" when there is none).
func (a answer) errField() string {
	e, _ := a.Body["error"].(map[string]any)
	s, _ := e["field"].(string)
	return s
}

// call sends one request through h.
func call(t testing.TB, h http.Handler, method, path, key, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = bytes.NewBufferString(body)
	}
	req := httptest.NewRequestWithContext(context.Background(), method, path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := answer{Status: rec.Code, Header: rec.Header(), Raw: rec.Body.String()}
	_ = json.Unmarshal(rec.Body.Bytes(), &out.Body)
	return out
}

// must sends a request and fails t unless it answers status.
func must(t testing.TB, h http.Handler, status int, method, path, key, body string) map[string]any {
	t.Helper()
	a := call(t, h, method, path, key, body)
	if a.Status != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, a.Status, status, a.Raw)
	}
	return a.Body
}

// str digs a string out of nested JSON objects.
func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}
