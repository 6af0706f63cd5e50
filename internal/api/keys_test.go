package api_test

import (
	"net/http"
	"testing"

	"github.com/payper/payper/internal/store/storetest"
)

// TestAPIKeysListCreateRevokeRotate checks a brand's own key management on
// both stores: keys are listed as metadata only, a new key works at once, a
// revoked key answers 401 on the very next request, a rotated key is
// replaced by a working one, and nobody manages another's keys (404), while
// the admin may revoke any.
func TestAPIKeysListCreateRevokeRotate(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		acme := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Acme"}`), "api_key")
		other := str(must(t, h, 201, "POST", "/v1/brands", testAdmin, `{"name":"Other"}`), "api_key")
		mia := str(must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Mia"}`), "api_key")

		mine := must(t, h, 200, "GET", "/v1/api_keys", acme, "")["data"].([]any)
		if len(mine) != 1 {
			t.Fatalf("acme's keys %v", mine)
		}
		first := mine[0].(map[string]any)
		if first["role"] != "brand" || first["active"] != true || first["label"] != "initial" || first["api_key"] != nil || first["hash"] != nil {
			t.Fatalf("key metadata %v", first)
		}
		firstID := first["id"].(string)

		ci := must(t, h, 201, "POST", "/v1/api_keys", acme, `{"label":"ci"}`)
		ciKey, ciID := str(ci, "api_key"), str(ci, "id")
		if len(ciKey) < 20 || ci["role"] != "brand" || ci["label"] != "ci" {
			t.Fatalf("new key %v", ci)
		}
		if me := must(t, h, 200, "GET", "/v1/me", ciKey, ""); str(me, "brand", "name") != "Acme" {
			t.Fatalf("new key is %v", me)
		}
		if n := len(must(t, h, 200, "GET", "/v1/api_keys", acme, "")["data"].([]any)); n != 2 {
			t.Fatalf("acme has %d keys, want 2", n)
		}
		// Another tenant's keys are not there.
		for _, k := range must(t, h, 200, "GET", "/v1/api_keys", mia, "")["data"].([]any) {
			if k.(map[string]any)["role"] != "creator" {
				t.Fatalf("mia sees %v", k)
			}
		}
		if r := call(t, h, "POST", "/v1/api_keys/"+ciID+"/revoke", other, ""); r.Status != 404 {
			t.Fatalf("other revoking acme's key: %d %s", r.Status, r.Raw)
		}
		if r := call(t, h, "POST", "/v1/api_keys/"+ciID+"/rotate", mia, ""); r.Status != 404 {
			t.Fatalf("mia rotating acme's key: %d %s", r.Status, r.Raw)
		}
		if r := call(t, h, "POST", "/v1/api_keys", acme, `{"role":"admin"}`); r.Status != 403 {
			t.Fatalf("brand making an admin key: %d %s", r.Status, r.Raw)
		}
		if r := call(t, h, "POST", "/v1/api_keys", acme, `{"label":"a\nb"}`); r.Status != 400 || r.errCode() != "invalid_text" || r.errField() != "label" {
			t.Fatalf("label with a line break: %d %s", r.Status, r.Raw)
		}

		// Revoke: 401 from the next request on; a second revoke is 404.
		rv := must(t, h, 200, "POST", "/v1/api_keys/"+ciID+"/revoke", acme, "")
		if rv["active"] != false || rv["revoked_at"] == nil {
			t.Fatalf("revoked %v", rv)
		}
		if r := call(t, h, "GET", "/v1/me", ciKey, ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("revoked key answered %d", r.Status)
		}
		if r := call(t, h, "POST", "/v1/api_keys/"+ciID+"/revoke", acme, ""); r.Status != 404 {
			t.Fatalf("second revoke: %d %s", r.Status, r.Raw)
		}

		// Rotate the first key at once: the new one works, the old one not.
		rot := must(t, h, 201, "POST", "/v1/api_keys/"+firstID+"/rotate", acme, "")
		newKey := str(rot, "key", "api_key")
		if str(rot, "rotated", "id") != firstID || rot["rotated"].(map[string]any)["active"] != false || newKey == "" {
			t.Fatalf("rotation %v", rot)
		}
		if r := call(t, h, "GET", "/v1/me", acme, ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("rotated-out key answered %d", r.Status)
		}
		must(t, h, 200, "GET", "/v1/me", newKey, "")

		// Rotate with a grace period: both work until it ends.
		graced := must(t, h, 201, "POST", "/v1/api_keys/"+str(rot, "key", "id")+"/rotate", newKey, `{"grace_seconds":3600}`)
		must(t, h, 200, "GET", "/v1/me", newKey, "")
		must(t, h, 200, "GET", "/v1/me", str(graced, "key", "api_key"), "")
		if r := call(t, h, "POST", "/v1/api_keys/"+str(graced, "key", "id")+"/rotate", newKey, `{"grace_seconds":-1}`); r.Status != 400 || r.errField() != "grace_seconds" {
			t.Fatalf("negative grace: %d %s", r.Status, r.Raw)
		}
		// Revoking a key in its grace period ends it at once.
		must(t, h, 200, "POST", "/v1/api_keys/"+str(rot, "key", "id")+"/revoke", str(graced, "key", "api_key"), "")
		if r := call(t, h, "GET", "/v1/me", newKey, ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("key revoked in its grace period answered %d", r.Status)
		}

		// The admin revokes anyone's key.
		miaKeys := must(t, h, 200, "GET", "/v1/api_keys", mia, "")["data"].([]any)
		must(t, h, 200, "POST", "/v1/api_keys/"+miaKeys[0].(map[string]any)["id"].(string)+"/revoke", testAdmin, "")
		if r := call(t, h, "GET", "/v1/me", mia, ""); r.Status != http.StatusUnauthorized {
			t.Fatalf("key revoked by the admin answered %d", r.Status)
		}
		all := must(t, h, 200, "GET", "/v1/api_keys?limit=200", testAdmin, "")["data"].([]any)
		if len(all) != 6 { // acme 4, other 1, mia 1
			t.Fatalf("admin lists %d keys, want 6", len(all))
		}
		if r := call(t, h, "GET", "/v1/api_keys?before=nope", testAdmin, ""); r.Status != 400 || r.errField() != "before" {
			t.Fatalf("bad cursor: %d %s", r.Status, r.Raw)
		}
	})
}
