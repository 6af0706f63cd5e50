package api_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/store/storetest"
)

// TestMetricsNeedAdminOrToken checks that /metrics, which shows money
// totals, answers only an admin key or the metrics token: 401 without a key
// or with a wrong one, 403 for a brand's or creator's key.
func TestMetricsNeedAdminOrToken(t *testing.T) {
	const token = "metrics-token-0123456789"
	a, err := app.Open(context.Background(), app.Config{DatabaseURL: storetest.SQLiteURL(t), AdminToken: testAdmin, NoPeriodicJobs: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MetricsToken: token})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	h := a.Handler
	brand := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
	creator := str(must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Mia"}`), "api_key")
	for _, c := range []struct {
		key    string
		status int
	}{{"", 401}, {"wrong-token-0123456789", 401}, {token + "x", 401}, {brand, 403}, {creator, 403}} {
		r := call(t, h, "GET", "/metrics", c.key, "")
		if r.Status != c.status || strings.Contains(r.Raw, "payper_") {
			t.Fatalf("/metrics with %q: %d, want %d: %.200s", c.key, r.Status, c.status, r.Raw)
		}
	}
	for _, key := range []string{testAdmin, token} {
		r := call(t, h, "GET", "/metrics", key, "")
		if r.Status != 200 || !strings.Contains(r.Raw, "payper_http_requests_total") {
			t.Fatalf("/metrics with %q: %d %.200s", key, r.Status, r.Raw)
		}
	}
	if _, err := app.Open(context.Background(), app.Config{DatabaseURL: storetest.SQLiteURL(t), NoPeriodicJobs: true,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MetricsToken: "short"}); err == nil {
		t.Fatal("a 5-character metrics token was accepted")
	}
}
