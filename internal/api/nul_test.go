package api_test

import (
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/payper/payper/internal/api"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/store/storetest"
)

// openAPIDoc is openapi.json, read as a test reads any file beside it.
func openAPIDoc(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// stringFields returns the JSON path of every string field a request body
// schema names (nested objects and arrays' first items included), each with
// a body that sets only that field (and its parents) to s.
func stringFields(doc map[string]any, schema any, s string) map[string]any {
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	out := map[string]any{}
	var walk func(sc any, path string, wrap func(any) any, depth int)
	walk = func(sc any, path string, wrap func(any) any, depth int) {
		m, ok := sc.(map[string]any)
		if !ok || depth > 6 {
			return
		}
		if r, ok := m["$ref"].(string); ok {
			walk(schemas[strings.TrimPrefix(r, "#/components/schemas/")], path, wrap, depth+1)
			return
		}
		for _, k := range []string{"allOf", "oneOf", "anyOf"} {
			if l, ok := m[k].([]any); ok {
				for _, sub := range l {
					walk(sub, path, wrap, depth+1)
				}
			}
		}
		isType := func(want string) bool {
			switch ty := m["type"].(type) {
			case string:
				return ty == want
			case []any:
				for _, x := range ty {
					if x == want {
						return true
					}
				}
			}
			return false
		}
		if props, ok := m["properties"].(map[string]any); ok {
			for name, sub := range props {
				p := name
				if path != "" {
					p = path + "." + name
				}
				name := name
				walk(sub, p, func(v any) any { return wrap(map[string]any{name: v}) }, depth+1)
			}
		}
		if isType("array") {
			walk(m["items"], path+"[0]", func(v any) any { return wrap([]any{v}) }, depth+1)
		}
		if isType("string") && path != "" {
			out[path] = wrap(s)
		}
	}
	walk(schema, "", func(v any) any { return v }, 0)
	return out
}

// TestEveryRouteRefusesControlCharacters sends a NUL (and other control
// characters) in every path value, in a query cursor and in every string
// field of every JSON request body the OpenAPI document describes, as the
// admin, a brand and a creator, on both stores: nothing answers 500; a path
// value answers 404, a body field 400 invalid_text naming the field's JSON
// path (for at least one of the three callers; the others may be refused
// earlier, 403 or 404).
func TestEveryRouteRefusesControlCharacters(t *testing.T) {
	doc := openAPIDoc(t)
	paths := doc["paths"].(map[string]any)
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		brand := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
		creator := str(must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Mia"}`), "api_key")
		camp := str(must(t, h, 201, "POST", "/v1/campaigns", brand, `{"name":"Glow","budget":{"amount":"500","currency":"EUR"}}`), "id")
		keys := map[string]string{"admin": testAdmin, "brand": brand, "creator": creator}
		callers := []string{"admin", "brand", "creator"}
		fill := func(pattern, bad string) string {
			var b strings.Builder
			for rest := pattern; ; {
				i := strings.IndexByte(rest, '{')
				if i < 0 {
					b.WriteString(rest)
					return b.String()
				}
				j := strings.IndexByte(rest, '}')
				b.WriteString(rest[:i])
				name := rest[i+1 : j]
				switch {
				case bad != "":
					b.WriteString(bad)
				case name == "id" && strings.HasPrefix(pattern, "/v1/campaigns/"):
					b.WriteString(camp)
				case name == "id" || strings.HasSuffix(name, "_id"):
					b.WriteString(id.New("zzz"))
				default:
					b.WriteString("sandbox")
				}
				rest = rest[j+1:]
			}
		}
		routes := (&api.Server{}).Routes()
		sort.Slice(routes, func(i, j int) bool { return routes[i].Pattern+routes[i].Method < routes[j].Pattern+routes[j].Method })
		fields := 0
		for _, rt := range routes {
			label := rt.Method + " " + rt.Pattern
			if strings.HasPrefix(rt.Pattern, "/r/") {
				continue // the redirect is the links engineer's, tested there
			}
			// Path values: 404 before anything else, never 500.
			if strings.Contains(rt.Pattern, "{") {
				for _, bad := range []string{"x%00", id.New("cmp") + "%00", "%0A", strings.Repeat("a", 300), "cmp_%FF%FE"} {
					for _, who := range callers {
						r := call(t, h, rt.Method, fill(rt.Pattern, bad), keys[who], "")
						if r.Status != 404 && r.Status != 401 && r.Status != 405 {
							t.Errorf("%s with path value %q as %s: %d %s", label, bad, who, r.Status, r.Raw)
						}
					}
				}
			}
			// A cursor or query value with NUL: 400, never 500.
			for _, who := range callers {
				r := call(t, h, rt.Method, fill(rt.Pattern, "")+"?before=a%00b&state=%00", keys[who], "")
				if r.Status >= 500 {
					t.Errorf("%s with NUL in the query as %s: %d %s", label, who, r.Status, r.Raw)
				} else if r.Status == 400 && r.errCode() != "invalid_text" {
					t.Errorf("%s with NUL in the query as %s: 400 %s", label, who, r.Raw)
				}
			}
			op, _ := paths[rt.Pattern].(map[string]any)[strings.ToLower(rt.Method)].(map[string]any)
			schema := func() any {
				rb, _ := op["requestBody"].(map[string]any)
				c, _ := rb["content"].(map[string]any)
				j, _ := c["application/json"].(map[string]any)
				return j["schema"]
			}()
			if schema == nil || strings.HasPrefix(rt.Pattern, "/webhooks/") {
				continue
			}
			for _, bad := range []string{"a\x00b", "\x01", "a\x7f", "\x1b[31m"} {
				for field, body := range stringFields(doc, schema, bad) {
					fields++
					raw, _ := json.Marshal(body)
					refused := false
					var got []string
					for _, who := range callers {
						r := call(t, h, rt.Method, fill(rt.Pattern, ""), keys[who], string(raw))
						if r.Status >= 500 {
							t.Errorf("%s %s as %s: %d %s", label, raw, who, r.Status, r.Raw)
						}
						if r.Status == 400 && r.errCode() == "invalid_text" && r.errField() == field {
							refused = true
						}
						got = append(got, who+": "+r.Raw)
					}
					if !refused {
						t.Errorf("%s %s: no caller got 400 invalid_text for %s: %v", label, raw, field, got)
					}
				}
			}
		}
		if fields < 50 {
			t.Fatalf("only %d string fields tried: the OpenAPI schemas were not read", fields)
		}
		// Free text keeps tabs and line breaks; names refuse them.
		r := call(t, h, "POST", "/v1/brands", testAdmin, `{"name":"Acme\tInc"}`)
		if r.Status != 400 || r.errCode() != "invalid_text" || r.errField() != "name" {
			t.Fatalf("a name with a tab: %d %s", r.Status, r.Raw)
		}
		r = call(t, h, "POST", "/v1/campaigns", brand, `{"name":"Glow\nTwo","budget":{"amount":"500","currency":"EUR"}}`)
		if r.Status != 400 || r.errCode() != "invalid_text" || r.errField() != "name" {
			t.Fatalf("a campaign name with a line break: %d %s", r.Status, r.Raw)
		}
		// Nothing was written by any of it: still one brand, one campaign.
		var brands, camps int
		if err := a.DB.Read().QueryRowContext(t.Context(), `SELECT (SELECT COUNT(*) FROM brands), (SELECT COUNT(*) FROM campaigns)`).Scan(&brands, &camps); err != nil {
			t.Fatal(err)
		}
		if brands != 1 || camps != 1 {
			t.Fatalf("%d brands and %d campaigns after refused requests, want 1 and 1", brands, camps)
		}
	})
}
