package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payper/payper/internal/store/storetest"
)

// TestReadyzFollowsTheDatabase checks that /readyz answers 200 while the
// database answers and 503 not_ready once it does not, while /healthz (the
// process) stays 200.
func TestReadyzFollowsTheDatabase(t *testing.T) {
	db := storetest.Open(t, storetest.SQLiteURL(t))
	s := New(Deps{DB: db, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	get := func(path string) (int, map[string]any) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, path, nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("%s: %v in %q", path, err, rec.Body.String())
		}
		return rec.Code, body
	}
	if code, body := get("/readyz"); code != 200 || body["database"] != "sqlite" {
		t.Fatalf("ready database: %d %v", code, body)
	}
	db.Close()
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable {
		t.Fatalf("closed database: /readyz answered %d, want 503", code)
	}
	if e, _ := body["error"].(map[string]any); e["code"] != "not_ready" {
		t.Fatalf("closed database: body %v", body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz answered %d with the database down; it reports the process only", code)
	}
}
