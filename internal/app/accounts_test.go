package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/mail/mailpittest"
	"github.com/payper/payper/internal/store/storetest"
)

func openTestApp(t *testing.T, url, smtpURL string) (*App, error) {
	t.Helper()
	a, err := Open(context.Background(), Config{DatabaseURL: url, NoPeriodicJobs: true, PublicURL: "http://payper.test", SMTPURL: smtpURL,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil {
		t.Cleanup(func() { _ = a.Close() })
	}
	return a, err
}

// With Config.SMTPURL (PAYPER_SMTP_URL) set, the periodic tick's mail step delivers the
// outbox over SMTP; a malformed URL stops the server from starting.
func TestMailTickDelivers(t *testing.T) {
	mp := mailpittest.Start(t)
	storetest.EachURL(t, func(t *testing.T, url string) {
		a, err := openTestApp(t, url, mp.SMTPURL("noreply@payper.test"))
		if err != nil {
			t.Fatal(err)
		}
		if a.Mail == nil {
			t.Fatal("no mail sender with an SMTP URL set")
		}
		to := "tick-" + string(a.DB.Dialect()) + "@example.com"
		if _, err := a.Accounts.SignUpCreator(context.Background(), account.CreatorSignup{Name: "T", Email: to, Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		// A zero Config.PasswordParams (what `payper serve` passes) hashes
		// at production cost, account.DefaultParams.
		var hash string
		if err := a.DB.Read().QueryRowContext(context.Background(), `SELECT password_hash FROM users WHERE email = $1`, to).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		p := account.DefaultParams
		if want := fmt.Sprintf("$m=%d,t=%d,p=%d$", p.Memory, p.Time, p.Threads); !strings.Contains(hash, want) || p.Memory < 19*1024 || p.Time < 2 {
			t.Fatalf("password hash %q; want production costs %s (OWASP's minimum: m=19456,t=2)", hash, want)
		}
		a.mailTick(context.Background())
		found := false
		for _, m := range mp.Messages(t) {
			if len(m.To) == 1 && m.To[0].Address == to && strings.Contains(m.Text, "http://payper.test/verify/") {
				found = true
			}
		}
		if !found {
			t.Fatalf("mailpit did not receive the verification mail to %s", to)
		}
		sent, err := a.Outbox.List(context.Background(), identity.Principal{Role: identity.RoleAdmin}, mail.StatusSent, "", 10)
		if err != nil || len(sent) != 1 {
			t.Fatalf("sent = %+v, %v", sent, err)
		}
		if _, err := openTestApp(t, url, "smtp://no-from-address"); err == nil || !strings.Contains(err.Error(), "from=") {
			t.Fatalf("Open with a malformed PAYPER_SMTP_URL = %v; want an error naming from=", err)
		}
	})
}
