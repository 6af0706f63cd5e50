package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store/storetest"
	"github.com/payper/payper/internal/web/webtest"
)

// A person signs a brand up in a real browser (a refused password shown
// beside its field first), confirms the address through the mailed link,
// uses the settings pages (team, API keys), signs out, fails and then
// succeeds to sign in. Every page is screenshotted at 390 and 1280 px and
// checked with axe.
func TestBrowserSignupSigninSettings(t *testing.T) {
	b := webtest.Start(t)
	a := webtest.NewApp(t, storetest.SQLiteURL(t))
	b.Base = a.URL
	look := func(name string) {
		t.Helper()
		b.Shot(t, name)
		b.Axe(t)
	}

	b.Visit(t, "/")
	if p := b.Path(t); p != "/signin" {
		t.Fatalf("/ signed out lands on %s; want /signin", p)
	}
	look("auth-signin")
	b.Visit(t, "/signup")
	look("auth-signup")
	b.Submit(t, `a[href="/signup/brand"]`)
	look("auth-signup-brand")
	b.Fill(t, "#f-name", "Acme Coffee")
	b.Fill(t, "#f-email", "ann@acme.example")
	b.Fill(t, "#f-password", "short")
	if st := b.Submit(t, "form.stack button[type=submit]"); st != 400 {
		t.Fatalf("a short password answered %d; want 400", st)
	}
	if got := b.Text(t, "#f-password-error"); !strings.Contains(got, "10") {
		t.Fatalf("password error %q; want the 10-character rule", got)
	}
	if b.Attr(t, "#f-email", "value") != "ann@acme.example" {
		t.Fatal("the email was not kept in the refused form")
	}
	look("auth-signup-errors")
	b.Fill(t, "#f-password", webtest.Password)
	b.Submit(t, "form.stack button[type=submit]")
	if p := b.Path(t); p != "/campaigns" {
		t.Fatalf("after sign-up the brand is on %s; want /campaigns", p)
	}

	b.Visit(t, a.VerifyLink(t, "ann@acme.example"))
	look("auth-verify")
	b.Submit(t, "form.stack button[type=submit]")
	b.Visit(t, "/settings")
	if got := b.Text(t, ".facts"); !strings.Contains(got, "confirmed") || strings.Contains(got, "not confirmed") {
		t.Fatalf("profile after verifying: %q", got)
	}
	look("settings-profile")

	b.Visit(t, "/settings/team")
	b.Fill(t, "#f-email", "bob@acme.example")
	b.Fill(t, "#f-role", "member")
	b.Submit(t, `form[action="/settings/team/invite"] button[type=submit]`)
	if got := b.Text(t, "main"); !strings.Contains(got, "bob@acme.example") {
		t.Fatalf("the team page does not list the invitation: %q", got)
	}
	look("settings-team")

	b.Visit(t, "/settings/keys")
	b.Fill(t, "#f-label", "reporting script")
	b.Submit(t, `form[action="/settings/keys"] button[type=submit]`)
	if got := b.Text(t, "#new-key"); !strings.HasPrefix(got, "pp_b_") {
		t.Fatalf("new key shown as %q", got)
	}
	look("settings-keys")

	b.Submit(t, "form.signout button")
	if p := b.Path(t); p != "/signin" {
		t.Fatalf("after sign-out on %s", p)
	}
	b.Fill(t, "#f-email", "ann@acme.example")
	b.Fill(t, "#f-password", "not the password")
	if st := b.Submit(t, "form.stack button[type=submit]"); st != 401 {
		t.Fatalf("a wrong password answered %d; want 401", st)
	}
	if got := b.Text(t, "#f-password-error"); got != "Wrong email or password." {
		t.Fatalf("password error %q", got)
	}
	look("auth-signin-wrong")
	b.Fill(t, "#f-password", webtest.Password)
	b.Submit(t, "form.stack button[type=submit]")
	if p := b.Path(t); p != "/campaigns" {
		t.Fatalf("after sign-in on %s; want /campaigns", p)
	}
	b.Visit(t, "/reset")
	look("auth-reset")

	// The invited teammate opens the mailed link in a browser of their own.
	m := webtest.Start(t)
	m.Base = a.URL
	link := inviteLink.FindString(a.MailTo(t, "invite", "bob@acme.example").Text)
	if link == "" {
		t.Fatal("no invitation link in the mail")
	}
	m.Visit(t, link)
	m.Shot(t, "auth-invite")
	m.Axe(t)
	m.Fill(t, "#f-password", webtest.Password)
	m.Submit(t, "form.stack button[type=submit]")
	m.Visit(t, "/settings/team")
	if m.Has(t, `form[action="/settings/team/invite"]`) {
		t.Fatal("a member sees the invite form")
	}
	if st := m.Visit(t, "/settings/keys"); st != 403 {
		t.Fatalf("a member's /settings/keys answered %d; want 403", st)
	}
	m.Shot(t, "settings-keys-member-403")
	m.Axe(t)

	// A brand held for the operator's approval.
	if err := a.Accounts.SetRequireBrandApproval(context.Background(), identity.Principal{Role: identity.RoleAdmin}, true); err != nil {
		t.Fatal(err)
	}
	p := webtest.Start(t)
	p.Base = a.URL
	p.Visit(t, "/signup/brand")
	p.Fill(t, "#f-name", "Wait Co")
	p.Fill(t, "#f-email", "w@wait.example")
	p.Fill(t, "#f-password", webtest.Password)
	if st := p.Submit(t, "form.stack button[type=submit]"); st != 403 {
		t.Fatalf("a pending brand's sign-up answered %d; want 403", st)
	}
	if got := p.Text(t, "main"); !strings.Contains(got, "waiting for the operator") {
		t.Fatalf("pending page says %q", got)
	}
	p.Shot(t, "auth-pending")
	p.Axe(t)
}

var inviteLink = regexp.MustCompile(`https?://\S+/invite/\S+`)
