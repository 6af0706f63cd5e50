package shopify_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/payper/payper/internal/commerce/shopify"
)

func TestFakeRejects(t *testing.T) {
	t.Parallel()
	fake := shopify.NewFake(shop, token)
	const path = "/admin/api/2026-10/graphql.json"
	const query = `mutation { discountCodeBasicCreate }`
	in := func(extra string) string {
		return `{"query":"` + query + `","variables":{"basicCodeDiscount":{` + extra + `}}}`
	}
	ok := `"title":"t","code":"C","startsAt":"2026-03-01T09:00:00Z","customerGets":{"items":{"all":true},`
	tests := []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"wrong method", "GET", path, token, "", 405, "Method Not Allowed"},
		{"wrong path", "POST", "/admin/api/2026-10/other.json", token, in(""), 404, "Not Found"},
		{"wrong token", "POST", path, "nope", in(""), 401, "Invalid API key or access token"},
		{"not json", "POST", path, token, "{", 400, "Required parameter missing"},
		{"other query", "POST", path, token, `{"query":"{ shop { name } }"}`, 200, "only discountCodeBasicCreate"},
		{"no variable", "POST", path, token, `{"query":"` + query + `"}`, 200, "INVALID_VARIABLE"},
		{"wrong type", "POST", path, token, in(`"title":5`), 200, "INVALID_VARIABLE"},
		{"missing fields", "POST", path, token, in(`"customerGets":{"items":{"all":true},"value":{"percentage":0.1}}`), 200, `"Title can't be blank"`},
		{"both values", "POST", path, token, in(ok + `"value":{"percentage":0.1,"discountAmount":{"amount":"1.00"}}}`), 200, "Only one of"},
		{"no value", "POST", path, token, in(ok + `"value":{}}`), 200, "Value can't be blank"},
		{"percentage over 1", "POST", path, token, in(ok + `"value":{"percentage":15}}`), 200, "between 0 and 1"},
		{"no items", "POST", path, token, in(`"title":"t","code":"C","startsAt":"2026-03-01T09:00:00Z","customerGets":{"value":{"percentage":0.1}}`), 200, "Items"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			r.Header.Set("X-Shopify-Access-Token", tt.token)
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			fake.ServeHTTP(w, r)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("got %d %s, want %d containing %q", w.Code, w.Body, tt.status, tt.want)
			}
			if tt.status == 200 {
				var v struct {
					Extensions struct {
						Cost map[string]any `json:"cost"`
					} `json:"extensions"`
				}
				if json.Unmarshal(w.Body.Bytes(), &v) != nil || v.Extensions.Cost["throttleStatus"] == nil {
					t.Fatalf("no extensions.cost in %s", w.Body)
				}
			}
		})
	}
	if n := len(fake.Codes()); n != 0 {
		t.Fatalf("%d codes stored from bad requests", n)
	}
}
