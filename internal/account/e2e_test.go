package account

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/mail/mailpittest"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

var mailLinkRE = regexp.MustCompile(`https://payper\.test/(verify|invite|reset)/([0-9a-v]+)`)

// mailpitLink returns the token of the newest link of kind in a message to
// addr that mailpit received.
func mailpitLink(t *testing.T, mp *mailpittest.Server, kind, to string) string {
	t.Helper()
	for _, m := range mp.Messages(t) { // newest first
		if len(m.To) == 1 && strings.EqualFold(m.To[0].Address, to) {
			if l := mailLinkRE.FindStringSubmatch(m.Text); l != nil && l[1] == kind {
				return l[2]
			}
		}
	}
	t.Fatalf("mailpit has no %s mail to %s", kind, to)
	return ""
}

// The whole mailed path through a real SMTP server: a brand signs up, its
// verification mail leaves over SMTP, the link read from mailpit verifies
// the address; the owner invites a teammate, who accepts from the mail and
// signs in as the same brand; a forgotten password is reset from the mail.
func TestMailedLinksOverSMTP(t *testing.T) {
	mp := mailpittest.Start(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		cfg, err := mail.ParseSMTPURL(mp.SMTPURL("noreply@payper.test"))
		if err != nil {
			t.Fatal(err)
		}
		sender := mail.NewSender(db, e.clk, mail.NewSMTP(cfg))
		deliver := func(want int) {
			t.Helper()
			if res, err := sender.Deliver(e.ctx, 0); err != nil || res.Sent != want {
				t.Fatalf("deliver = %+v, %v; want %d sent", res, err, want)
			}
		}
		owner := "owner@" + storetest.Name(db) + ".test"
		su, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Mailed", Email: owner, Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		deliver(1)
		u, err := e.svc.VerifyEmail(e.ctx, mailpitLink(t, mp, "verify", owner))
		if err != nil || !u.EmailVerified {
			t.Fatalf("verify from mailpit = %+v, %v", u, err)
		}
		mate := "mate@" + storetest.Name(db) + ".test"
		if _, err := e.svc.Invite(e.ctx, su.User, mate, RoleMember); err != nil {
			t.Fatal(err)
		}
		deliver(1)
		m, err := e.svc.AcceptInvite(e.ctx, mailpitLink(t, mp, "invite", mate), goodPW)
		if err != nil {
			t.Fatal(err)
		}
		ns, err := e.svc.Login(e.ctx, Login{Email: mate, Password: goodPW})
		if err != nil || ns.Principal != (identity.Principal{Role: identity.RoleBrand, SubjectID: su.User.BrandID}) || ns.User.ID != m.ID {
			t.Fatalf("teammate login = %+v, %v", ns.Auth, err)
		}
		if err := e.svc.RequestPasswordReset(e.ctx, owner); err != nil {
			t.Fatal(err)
		}
		deliver(1)
		if _, err := e.svc.ResetPassword(e.ctx, mailpitLink(t, mp, "reset", owner), "reset from the mail"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Login(e.ctx, Login{Email: owner, Password: "reset from the mail"}); err != nil {
			t.Fatal(err)
		}
	})
}

// Without SMTP the mail stays in the outbox, where the operator reads the
// link, and it works.
func TestMailedLinksFromOutbox(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if _, err := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "Off", Email: "offline@example.com", Password: goodPW}); err != nil {
			t.Fatal(err)
		}
		list, err := mail.NewOutbox(db).List(e.ctx, identity.Principal{Role: identity.RoleAdmin}, mail.StatusPending, "", 10)
		if err != nil || len(list) != 1 || list[0].Kind != "verify" || list[0].To != "offline@example.com" {
			t.Fatalf("outbox = %+v, %v", list, err)
		}
		l := mailLinkRE.FindStringSubmatch(list[0].Text)
		if l == nil {
			t.Fatalf("no link in %q", list[0].Text)
		}
		if u, err := e.svc.VerifyEmail(e.ctx, l[2]); err != nil || !u.EmailVerified {
			t.Fatalf("verify = %+v, %v", u, err)
		}
	})
}

func TestPurge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		_, _ = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "P", Email: "p@example.com", Password: goodPW})
		live, _ := e.svc.Login(e.ctx, Login{Email: "p@example.com", Password: goodPW})
		old, _ := e.svc.Login(e.ctx, Login{Email: "p@example.com", Password: goodPW})
		_ = e.svc.Logout(e.ctx, old.Token)
		_, _ = e.svc.Login(e.ctx, Login{Email: "p@example.com", Password: "wrong password!", Address: "192.0.2.1"})
		e.clk.Advance(2 * time.Hour)
		if _, err := e.svc.Lookup(e.ctx, live.Token); err == nil {
			t.Fatal("an idle session survived 2 hours")
		}
		live2, _ := e.svc.Login(e.ctx, Login{Email: "p@example.com", Password: goodPW})
		n, err := e.svc.Purge(e.ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// the revoked session, the throttle rows (account cleared by the
		// sign-in, the address one stale); the verify token is still valid.
		if n != 2 || e.count(t, "login_throttle") != 0 || e.count(t, "account_tokens") != 1 {
			t.Fatalf("purged %d; throttle rows %d, tokens %d", n, e.count(t, "login_throttle"), e.count(t, "account_tokens"))
		}
		if _, err := e.svc.Lookup(e.ctx, live2.Token); err != nil {
			t.Fatalf("purge ended a live session: %v", err)
		}
		e.clk.Advance(60 * time.Hour)
		if _, err := e.svc.Purge(e.ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		if s, tk := e.count(t, "sessions"), e.count(t, "account_tokens"); s != 0 || tk != 0 {
			t.Fatalf("after expiry: sessions %d, tokens %d; want 0", s, tk)
		}
	})
}

// NormalizeEmail is idempotent, its key is the lower-cased address, and two
// addresses differing only in case share a key.
func TestNormalizeEmailProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		local := rapid.StringMatching(`[A-Za-z0-9][A-Za-z0-9._+-]{0,20}[A-Za-z0-9]`).Draw(t, "local")
		domain := rapid.StringMatching(`[A-Za-z0-9]{1,10}\.[A-Za-z]{2,6}`).Draw(t, "domain")
		raw := local + "@" + domain
		email, key, err := NormalizeEmail("email", raw)
		if err != nil {
			if strings.Contains(local, "..") || strings.HasSuffix(local, ".") {
				return // RFC 5322 refuses these dot-atoms
			}
			t.Fatalf("NormalizeEmail(%q): %v", raw, err)
		}
		if key != strings.ToLower(email) {
			t.Fatalf("key %q is not lower(%q)", key, email)
		}
		e2, k2, err := NormalizeEmail("email", email)
		if err != nil || e2 != email || k2 != key {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", raw, email, e2, err)
		}
		_, k3, err := NormalizeEmail("email", strings.ToUpper(raw))
		if err != nil || k3 != key {
			t.Fatalf("upper-cased %q has key %q, want %q (%v)", raw, k3, key, err)
		}
	})
}
