package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/store/storetest"
)

// Without SMTP the mail a sign-up writes waits in the outbox, and the
// operator reads it, link included; no one else may.
func TestOutbox(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		a := openApp(t, url)
		h := a.Handler
		if a.Mail != nil {
			t.Fatal("a mail sender was made without PAYPER_SMTP_URL")
		}
		if _, err := a.Accounts.SignUpCreator(context.Background(), account.CreatorSignup{Name: "Mia", Email: "mia@example.com", Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		got := must(t, h, 200, "GET", "/v1/admin/outbox?status=pending", testAdmin, "")
		data, _ := got["data"].([]any)
		if len(data) != 1 {
			t.Fatalf("outbox = %v", got)
		}
		m := data[0].(map[string]any)
		if m["to"] != "mia@example.com" || m["kind"] != "verify" || m["status"] != "pending" {
			t.Fatalf("mail = %v", m)
		}
		if text, _ := m["text"].(string); !strings.Contains(text, "http://payper.test/verify/") {
			t.Fatalf("mail text has no link to the public URL: %q", text)
		}
		if sent := must(t, h, 200, "GET", "/v1/admin/outbox?status=sent", testAdmin, ""); len(sent["data"].([]any)) != 0 {
			t.Fatalf("sent = %v", sent)
		}
		if r := call(t, h, "GET", "/v1/admin/outbox?status=lost", testAdmin, ""); r.Status != 400 || r.errField() != "status" {
			t.Fatalf("bad status: %d %s", r.Status, r.Raw)
		}
		creator := str(must(t, h, 201, "POST", "/v1/creators", testAdmin, `{"name":"Ola"}`), "api_key")
		if r := call(t, h, "GET", "/v1/admin/outbox", creator, ""); r.Status != 403 {
			t.Fatalf("a creator read the outbox: %d %s", r.Status, r.Raw)
		}
		if r := call(t, h, "GET", "/v1/admin/outbox", "", ""); r.Status != 401 {
			t.Fatalf("no key: %d", r.Status)
		}
	})
}
