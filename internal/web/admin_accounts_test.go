package web_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store/storetest"
)

// apiCall sends method path with key and body (JSON, "" for none) to the
// app and returns the status and the decoded answer.
func (e *coreEnv) apiCall(t *testing.T, key, method, path, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s = %d, not JSON: %s", method, path, res.StatusCode, b)
	}
	return res.StatusCode, m
}

// The operator's brand-approval setting over the API (GET/PUT
// /v1/admin/settings, /v1/admin/brand_signups and their approve / reject):
// a brand signing up while it is on sees the pending page and cannot sign
// in until approved; approve lets it in, reject keeps it out; only an
// admin key may use any of it (a brand's key: 403).
func TestAdminBrandApprovalAPI(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		e := newCoreEnv(t, dbURL)
		admin := identity.Principal{Role: identity.RoleAdmin}
		ak, err := e.a.Identity.Issue(e.ctx, admin, "", "", "operator")
		if err != nil {
			t.Fatal(err)
		}
		key := ak.Secret

		// A brand's key is refused everywhere.
		early := e.client(t)
		early.signupBrand("Early Co", "eve@early.example")
		earlyID := e.user(t, "eve@early.example").BrandID
		bk, err := e.a.Identity.Issue(e.ctx, admin, identity.RoleBrand, earlyID, "brand")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/v1/admin/settings", ""}, {"PUT", "/v1/admin/settings", `{"require_brand_approval":false}`},
			{"GET", "/v1/admin/brand_signups", ""}, {"POST", "/v1/admin/brand_signups/" + earlyID + "/approve", ""},
			{"POST", "/v1/admin/brand_signups/" + earlyID + "/reject", ""},
		} {
			if st, m := e.apiCall(t, bk.Secret, c.method, c.path, c.body); st != http.StatusForbidden {
				t.Fatalf("a brand's key: %s %s = %d %v", c.method, c.path, st, m)
			}
		}
		if on, _ := e.a.Accounts.RequireBrandApproval(e.ctx); on {
			t.Fatal("a brand's key turned the setting on")
		}

		if st, m := e.apiCall(t, key, "GET", "/v1/admin/settings", ""); st != 200 || m["require_brand_approval"] != false {
			t.Fatalf("settings: %d %v", st, m)
		}
		if st, m := e.apiCall(t, key, "PUT", "/v1/admin/settings", `{}`); st != 400 || m["error"].(map[string]any)["field"] != "require_brand_approval" {
			t.Fatalf("empty PUT: %d %v", st, m)
		}
		if st, m := e.apiCall(t, key, "PUT", "/v1/admin/settings", `{"require_brand_approval":true}`); st != 200 || m["require_brand_approval"] != true {
			t.Fatalf("PUT on: %d %v", st, m)
		}
		if st, m := e.apiCall(t, key, "GET", "/v1/admin/settings", ""); st != 200 || m["require_brand_approval"] != true {
			t.Fatalf("settings after PUT: %d %v", st, m)
		}

		// Two brands sign up while it is on: both see the pending page and get no session.
		wait, nope := e.client(t), e.client(t)
		for _, s := range []struct {
			c           *client
			name, email string
		}{{wait, "Wait Co", "w@wait.example"}, {nope, "Nope Co", "n@nope.example"}} {
			res, body := s.c.post("/signup/brand", url.Values{"name": {s.name}, "email": {s.email}, "password": {pw}})
			wantStatus(t, res, body, http.StatusForbidden)
			wantContains(t, body, "waiting for the operator")
			res, body = s.c.signin(s.email, pw)
			wantStatus(t, res, body, http.StatusForbidden)
			if s.c.session() != "" {
				t.Fatalf("%s got a session while pending", s.name)
			}
			res, body = s.c.get("/campaigns")
			if res.StatusCode == 200 {
				t.Fatalf("%s reads its campaigns while pending", s.name)
			}
		}
		// The early brand is not affected.
		if res, body := early.get("/campaigns"); res.StatusCode != 200 {
			t.Fatalf("an active brand after the setting: %d %s", res.StatusCode, body)
		}

		st, m := e.apiCall(t, key, "GET", "/v1/admin/brand_signups", "")
		data, _ := m["data"].([]any)
		if st != 200 || len(data) != 2 {
			t.Fatalf("brand signups: %d %v", st, m)
		}
		ids := map[string]string{}
		for _, d := range data {
			b := d.(map[string]any)
			ids[b["owner_email"].(string)] = b["brand_id"].(string)
			if b["name"] == "" || b["created_at"] == nil {
				t.Fatalf("pending brand %v", b)
			}
		}
		if ids["w@wait.example"] == "" || ids["n@nope.example"] == "" {
			t.Fatalf("pending brands by owner: %v", ids)
		}

		// Approve one, reject the other.
		if st, m := e.apiCall(t, key, "POST", "/v1/admin/brand_signups/"+ids["w@wait.example"]+"/approve", ""); st != 200 || m["state"] != "active" {
			t.Fatalf("approve: %d %v", st, m)
		}
		if st, m := e.apiCall(t, key, "POST", "/v1/admin/brand_signups/"+ids["n@nope.example"]+"/reject", ""); st != 200 || m["state"] != "rejected" {
			t.Fatalf("reject: %d %v", st, m)
		}
		// Decided brands are no longer pending: deciding again is 404.
		if st, m := e.apiCall(t, key, "POST", "/v1/admin/brand_signups/"+ids["w@wait.example"]+"/reject", ""); st != 404 {
			t.Fatalf("reject an approved brand: %d %v", st, m)
		}
		if st, m := e.apiCall(t, key, "GET", "/v1/admin/brand_signups", ""); st != 200 || len(m["data"].([]any)) != 0 {
			t.Fatalf("brand signups after deciding: %d %v", st, m)
		}

		res, body := wait.signin("w@wait.example", pw)
		wantStatus(t, res, body, http.StatusSeeOther)
		if wait.session() == "" {
			t.Fatal("an approved brand got no session")
		}
		res, body = wait.get("/campaigns")
		wantStatus(t, res, body, 200)
		res, body = nope.signin("n@nope.example", pw)
		wantStatus(t, res, body, http.StatusForbidden)
		wantContains(t, body, "did not approve")
		if nope.session() != "" {
			t.Fatal("a rejected brand got a session")
		}
	})
}
