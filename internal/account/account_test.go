package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct{ in, email, key, code string }{
		{" Ana.Lopez@Example.COM ", "Ana.Lopez@example.com", "ana.lopez@example.com", ""},
		{"ana+brand@shop.co.uk", "ana+brand@shop.co.uk", "ana+brand@shop.co.uk", ""},
		{"", "", "", "required"},
		{"ana", "", "", "invalid_email"},
		{"Ana <ana@example.com>", "", "", "invalid_email"},
		{"ana@example.com, bob@example.com", "", "", "invalid_email"},
		{"ana@localhost", "", "", "invalid_email"},
		{"ana@example.com\n", "ana@example.com", "ana@example.com", ""}, // trimmed
		{"ana@exa\nmple.com", "", "", "invalid_email"},
		{strings.Repeat("a", 250) + "@example.com", "", "", "invalid_email"},
	} {
		email, key, err := NormalizeEmail("email", tc.in)
		if codeOrEmpty(err) != tc.code || email != tc.email || key != tc.key {
			t.Errorf("NormalizeEmail(%q) = %q, %q, %v; want %q, %q, code %q", tc.in, email, key, err, tc.email, tc.key, tc.code)
		}
	}
}

func TestSignUpBrand(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		before := e.counts(t)
		// Every bad field is reported at once, and nothing is written.
		_, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: " ", Email: "not-an-email", Password: "short"})
		wantCode(t, err, errs.Invalid, "invalid_fields")
		var fe *errs.Error
		asErr(err, &fe)
		var fields []string
		for _, f := range fe.Fields {
			fields = append(fields, f.Field+":"+f.Code)
		}
		if got := strings.Join(fields, ","); got != "brand_name:required,email:invalid_email,password:too_short" {
			t.Fatalf("fields = %s", got)
		}
		_, err = e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Acme", Email: "ana@acme.test", Password: "Password2024!"})
		wantCode(t, err, errs.Invalid, "common_password")
		e.sameCounts(t, before)

		su, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: " Acme Shoes ", Email: "Ana@ACME.test", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		u := su.User
		if su.BrandState != BrandActive || u.Kind != KindBrand || u.BrandRole != RoleOwner || u.Email != "Ana@acme.test" || u.EmailVerified {
			t.Fatalf("sign-up = %+v", su)
		}
		if p := u.Principal(); p.Role != identity.RoleBrand || p.BrandID() != u.BrandID {
			t.Fatalf("principal = %+v", p)
		}
		// The brand is internal/identity's brand: an operator reads it there.
		ids, err := identity.New(db, e.clk, "")
		if err != nil {
			t.Fatal(err)
		}
		b, err := ids.GetBrand(e.ctx, identity.Principal{Role: identity.RoleAdmin}, u.BrandID)
		if err != nil || b.Name != "Acme Shoes" {
			t.Fatalf("brand = %+v, %v", b, err)
		}
		if n := e.count(t, "api_keys"); n != 0 {
			t.Fatalf("sign-up made %d API keys; a signed-up brand makes its keys itself", n)
		}
		// The verification mail was written with the token.
		tok := e.lastLink(t, "verify", "Ana@acme.test")
		var stored int
		_ = db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM account_tokens WHERE hash = $1 AND kind = 'verify' AND user_id = $2`, hashToken(tok), u.ID).Scan(&stored)
		var raw int
		_ = db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM account_tokens WHERE hash = $1 OR id = $1`, tok).Scan(&raw)
		if stored != 1 || raw != 0 {
			t.Fatalf("token rows by hash = %d, by raw token = %d; want only the hash stored", stored, raw)
		}
		var hash string
		_ = db.Read().QueryRowContext(e.ctx, `SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&hash)
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(hash, goodPW) {
			t.Fatalf("stored password hash = %q", hash)
		}

		// The same address in another case is taken; nothing is written.
		before = e.counts(t)
		_, err = e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Other", Email: "ana@Acme.TEST", Password: goodPW})
		wantCode(t, err, errs.Conflict, "email_taken")
		if asErr(err, &fe); fe.Field != "email" {
			t.Fatalf("conflict field = %q", fe.Field)
		}
		_, err = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "Ana", Email: "ANA@acme.test", Password: goodPW})
		wantCode(t, err, errs.Conflict, "email_taken")
		e.sameCounts(t, before)
	})
}

func TestSignUpCreator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		before := e.counts(t)
		_, err := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "Lena", Country: "de", Email: "lena@example.com", Password: goodPW})
		wantCode(t, err, errs.Invalid, "invalid_country")
		e.sameCounts(t, before)
		su, err := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "Lena", Country: "DE", Email: "lena@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		if p := su.User.Principal(); p.Role != identity.RoleCreator || p.CreatorID() == "" || su.BrandState != "" {
			t.Fatalf("sign-up = %+v", su)
		}
		ids, _ := identity.New(db, e.clk, "")
		c, err := ids.GetCreator(e.ctx, su.User.Principal(), su.User.CreatorID)
		if err != nil || c.Name != "Lena" || c.Country != "DE" {
			t.Fatalf("creator = %+v, %v", c, err)
		}
		e.lastLink(t, "verify", "lena@example.com")
	})
}

// Two sign-ups of one address at once: exactly one wins, the others get a
// clear conflict, and only the winner's brand exists.
func TestSignUpSameEmailConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		for round := range 3 {
			email := fmt.Sprintf("race%d@example.com", round)
			const n = 6
			errsOut := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					addr := email
					if i%2 == 1 {
						addr = strings.ToUpper(email) // case does not make it another account
					}
					if i%3 == 2 {
						_, errsOut[i] = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "C", Email: addr, Password: goodPW})
					} else {
						_, errsOut[i] = e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "B", Email: addr, Password: goodPW})
					}
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errsOut {
				switch {
				case err == nil:
					wins++
				case errs.KindOf(err) == errs.Conflict && errs.CodeOf(err) == "email_taken":
				default:
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: %d sign-ups won; want exactly 1", round, wins)
			}
		}
		if u, b, c := e.count(t, "users"), e.count(t, "brands"), e.count(t, "creators"); u != 3 || b+c != 3 {
			t.Fatalf("users %d, brands %d, creators %d; want 3 users and 3 brands or creators in all", u, b, c)
		}
	})
}

func TestBrandApproval(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		admin := identity.Principal{Role: identity.RoleAdmin}
		if on, err := e.svc.RequireBrandApproval(e.ctx); err != nil || on {
			t.Fatalf("approval required by default: %v, %v", on, err)
		}
		err := e.svc.SetRequireBrandApproval(e.ctx, identity.Principal{Role: identity.RoleBrand, SubjectID: "brd_x"}, true)
		wantCode(t, err, errs.Forbidden, "forbidden")
		if err := e.svc.SetRequireBrandApproval(e.ctx, admin, true); err != nil {
			t.Fatal(err)
		}
		su, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Pending Co", Email: "p@pending.test", Password: goodPW})
		if err != nil || su.BrandState != BrandPending {
			t.Fatalf("sign-up = %+v, %v; want pending", su, err)
		}
		for range 2 * DefaultThrottle.AccountLimit { // the right password: never throttled
			_, err = e.svc.Login(e.ctx, Login{Email: "p@pending.test", Password: goodPW, Address: "192.0.2.1"})
			wantCode(t, err, errs.Forbidden, "brand_pending")
		}
		pend, err := e.svc.PendingBrands(e.ctx, admin)
		if err != nil || len(pend) != 1 || pend[0].BrandID != su.User.BrandID || pend[0].OwnerEmail != "p@pending.test" || pend[0].Name != "Pending Co" {
			t.Fatalf("pending = %+v, %v", pend, err)
		}
		_, err = e.svc.PendingBrands(e.ctx, su.User.Principal())
		wantCode(t, err, errs.Forbidden, "forbidden")
		wantCode(t, e.svc.DecideBrand(e.ctx, su.User.Principal(), su.User.BrandID, true), errs.Forbidden, "forbidden")
		if err := e.svc.DecideBrand(e.ctx, admin, su.User.BrandID, true); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.DecideBrand(e.ctx, admin, su.User.BrandID, false), errs.NotFound, "not_found")
		if _, err := e.svc.Login(e.ctx, Login{Email: "p@pending.test", Password: goodPW, Address: "192.0.2.1"}); err != nil {
			t.Fatalf("login after approval: %v", err)
		}
		// A rejected brand cannot sign in, and its live sessions stop working.
		su2, _ := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Nope", Email: "n@nope.test", Password: goodPW})
		if err := e.svc.DecideBrand(e.ctx, admin, su2.User.BrandID, false); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Login(e.ctx, Login{Email: "n@nope.test", Password: goodPW})
		wantCode(t, err, errs.Forbidden, "brand_rejected")
		// Approval off again: new brands are active at once.
		if err := e.svc.SetRequireBrandApproval(e.ctx, admin, false); err != nil {
			t.Fatal(err)
		}
		su3, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Open", Email: "o@open.test", Password: goodPW})
		if err != nil || su3.BrandState != BrandActive {
			t.Fatalf("sign-up = %+v, %v; want active", su3, err)
		}
	})
}

func TestVerifyEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		su, err := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "V", Email: "v@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		tok := e.lastLink(t, "verify", "v@example.com")
		_, err = e.svc.VerifyEmail(e.ctx, tok+"x")
		wantCode(t, err, errs.Invalid, "invalid_token")
		u, err := e.svc.VerifyEmail(e.ctx, tok)
		if err != nil || !u.EmailVerified || u.ID != su.User.ID {
			t.Fatalf("verify = %+v, %v", u, err)
		}
		_, err = e.svc.VerifyEmail(e.ctx, tok)
		wantCode(t, err, errs.Invalid, "invalid_token") // single use
		wantCode(t, e.svc.ResendVerification(e.ctx, u.ID), errs.Conflict, "already_verified")

		// A link past its 48 hours no longer works.
		su2, _ := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "W", Email: "w@example.com", Password: goodPW})
		old := e.lastLink(t, "verify", "w@example.com")
		e.clk.Advance(48 * time.Hour)
		_, err = e.svc.VerifyEmail(e.ctx, old)
		wantCode(t, err, errs.Invalid, "invalid_token")
		if err := e.svc.ResendVerification(e.ctx, su2.User.ID); err != nil {
			t.Fatal(err)
		}
		fresh := e.lastLink(t, "verify", "w@example.com")
		if fresh == old {
			t.Fatal("resend mailed the same token")
		}
		if u, err := e.svc.VerifyEmail(e.ctx, fresh); err != nil || !u.EmailVerified {
			t.Fatalf("verify fresh = %+v, %v", u, err)
		}
	})
}

func TestPasswordReset(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		su, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "R", Email: "r@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		// An unknown address gets the same answer and no mail.
		mails := e.count(t, "mail_outbox")
		if err := e.svc.RequestPasswordReset(e.ctx, "nobody@example.com"); err != nil {
			t.Fatal(err)
		}
		if e.count(t, "mail_outbox") != mails {
			t.Fatal("a reset of an unknown address wrote a mail")
		}
		wantCode(t, e.svc.RequestPasswordReset(e.ctx, "nope"), errs.Invalid, "invalid_email")

		s1, err := e.svc.Login(e.ctx, Login{Email: "r@example.com", Password: goodPW, Address: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RequestPasswordReset(e.ctx, "R@EXAMPLE.COM"); err != nil {
			t.Fatal(err)
		}
		tok := e.lastLink(t, "reset", "r@example.com")
		// A refused new password leaves the token usable and nothing changed.
		_, err = e.svc.ResetPassword(e.ctx, tok, "qwertyuiop")
		wantCode(t, err, errs.Invalid, "common_password")
		if _, err := e.svc.Lookup(e.ctx, s1.Token); err != nil {
			t.Fatalf("session ended by a refused reset: %v", err)
		}
		const newPW = "a much better passphrase"
		u, err := e.svc.ResetPassword(e.ctx, tok, newPW)
		if err != nil || u.ID != su.User.ID || !u.EmailVerified {
			t.Fatalf("reset = %+v, %v", u, err)
		}
		_, err = e.svc.Lookup(e.ctx, s1.Token)
		wantCode(t, err, errs.Unauthorized, "unauthorized") // every session ended
		_, err = e.svc.Login(e.ctx, Login{Email: "r@example.com", Password: goodPW, Address: "192.0.2.1"})
		wantCode(t, err, errs.Unauthorized, "invalid_credentials")
		if _, err := e.svc.Login(e.ctx, Login{Email: "r@example.com", Password: newPW, Address: "192.0.2.1"}); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		_, err = e.svc.ResetPassword(e.ctx, tok, "yet another passphrase")
		wantCode(t, err, errs.Invalid, "invalid_token")

		// Two links: using one voids the other. A link expires after an hour.
		_ = e.svc.RequestPasswordReset(e.ctx, "r@example.com")
		a := e.lastLink(t, "reset", "r@example.com")
		_ = e.svc.RequestPasswordReset(e.ctx, "r@example.com")
		b := e.lastLink(t, "reset", "r@example.com")
		if _, err := e.svc.ResetPassword(e.ctx, b, "third passphrase here"); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.ResetPassword(e.ctx, a, "fourth passphrase here")
		wantCode(t, err, errs.Invalid, "invalid_token")
		e.clk.Advance(time.Hour) // past the hourly limit of reset mails
		_ = e.svc.RequestPasswordReset(e.ctx, "r@example.com")
		c := e.lastLink(t, "reset", "r@example.com")
		if c == b {
			t.Fatal("no new reset mail an hour later")
		}
		e.clk.Advance(time.Hour)
		_, err = e.svc.ResetPassword(e.ctx, c, "fifth passphrase here")
		wantCode(t, err, errs.Invalid, "invalid_token")
	})
}

// One reset link used twice at once works once.
func TestResetTokenUsedConcurrently(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if _, err := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "C", Email: "c@example.com", Password: goodPW}); err != nil {
			t.Fatal(err)
		}
		for round := range 5 {
			e.clk.Advance(time.Hour) // under the hourly limit of reset mails
			if err := e.svc.RequestPasswordReset(e.ctx, "c@example.com"); err != nil {
				t.Fatal(err)
			}
			tok := e.lastLink(t, "reset", "c@example.com")
			const n = 4
			out := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, out[i] = e.svc.ResetPassword(e.ctx, tok, fmt.Sprintf("new passphrase %d-%d", round, i))
				}()
			}
			close(start)
			wg.Wait()
			wins, winner := 0, -1
			for i, err := range out {
				if err == nil {
					wins, winner = wins+1, i
				} else if errs.CodeOf(err) != "invalid_token" {
					t.Fatalf("round %d: unexpected error %v", round, err)
				}
			}
			if wins != 1 {
				t.Fatalf("round %d: the token worked %d times; want once", round, wins)
			}
			// The password is the winner's.
			if _, err := e.svc.Login(e.ctx, Login{Email: "c@example.com", Password: fmt.Sprintf("new passphrase %d-%d", round, winner)}); err != nil {
				t.Fatalf("round %d: the winner's password does not work: %v", round, err)
			}
		}
	})
}

func TestInvite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		su, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Team <Co>", Email: "owner@team.test", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		owner := su.User
		before := e.counts(t)
		_, err = e.svc.Invite(e.ctx, owner, "bad", "boss")
		wantCode(t, err, errs.Invalid, "invalid_fields")
		_, err = e.svc.Invite(e.ctx, owner, "OWNER@team.test", RoleMember)
		wantCode(t, err, errs.Conflict, "email_taken")
		e.sameCounts(t, before)

		inv, err := e.svc.Invite(e.ctx, owner, "Mia@Team.test", RoleMember)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Email != "Mia@team.test" || inv.Role != RoleMember || inv.BrandID != owner.BrandID || inv.ExpiresAt.Time() != t0.Add(7*24*time.Hour) {
			t.Fatalf("invitation = %+v", inv)
		}
		tok := e.lastLink(t, "invite", "Mia@team.test")
		_, err = e.svc.AcceptInvite(e.ctx, tok, "short")
		wantCode(t, err, errs.Invalid, "too_short")
		mia, err := e.svc.AcceptInvite(e.ctx, tok, goodPW)
		if err != nil {
			t.Fatal(err)
		}
		if mia.BrandID != owner.BrandID || mia.BrandRole != RoleMember || !mia.EmailVerified || mia.IsBrandOwner() {
			t.Fatalf("member = %+v", mia)
		}
		_, err = e.svc.AcceptInvite(e.ctx, tok, goodPW)
		wantCode(t, err, errs.Invalid, "invalid_token")
		// A member cannot invite.
		_, err = e.svc.Invite(e.ctx, mia, "x@team.test", RoleMember)
		wantCode(t, err, errs.Forbidden, "forbidden")
		team, err := e.svc.Team(e.ctx, mia.Principal(), owner.BrandID)
		if err != nil || len(team) != 2 || team[0].ID != owner.ID || team[1].ID != mia.ID {
			t.Fatalf("team = %+v, %v", team, err)
		}
		other, _ := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Other", Email: "o@other.test", Password: goodPW})
		_, err = e.svc.Team(e.ctx, other.User.Principal(), owner.BrandID)
		wantCode(t, err, errs.NotFound, "not_found")
		// An invitation expires; accepting it late fails; two invitations
		// of one address: the second acceptance meets the first's account.
		_, _ = e.svc.Invite(e.ctx, owner, "late@team.test", RoleOwner)
		late := e.lastLink(t, "invite", "late@team.test")
		e.clk.Advance(7*24*time.Hour + time.Second)
		_, err = e.svc.AcceptInvite(e.ctx, late, goodPW)
		wantCode(t, err, errs.Invalid, "invalid_token")
		_, _ = e.svc.Invite(e.ctx, owner, "twice@team.test", RoleMember)
		first := e.lastLink(t, "invite", "twice@team.test")
		_, _ = e.svc.Invite(e.ctx, owner, "twice@team.test", RoleOwner)
		second := e.lastLink(t, "invite", "twice@team.test")
		if _, err := e.svc.AcceptInvite(e.ctx, second, goodPW); err != nil {
			t.Fatal(err)
		}
		before = e.counts(t)
		_, err = e.svc.AcceptInvite(e.ctx, first, goodPW)
		wantCode(t, err, errs.Conflict, "email_taken")
		e.sameCounts(t, before)
		// The invitation mail names the brand as plain text.
		var subject string
		_ = db.Read().QueryRowContext(e.ctx, `SELECT subject FROM mail_outbox WHERE kind = 'invite' ORDER BY id LIMIT 1`).Scan(&subject)
		if subject != "You are invited to Team <Co> on payper" {
			t.Fatalf("subject = %q", subject)
		}
	})
}

func TestOperator(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		op, err := e.svc.CreateOperator(e.ctx, "ops@payper.test", goodPW)
		if err != nil {
			t.Fatal(err)
		}
		ns, err := e.svc.Login(e.ctx, Login{Email: "ops@payper.test", Password: goodPW})
		if err != nil || !ns.Principal.IsAdmin() || ns.User.ID != op.ID {
			t.Fatalf("operator login = %+v, %v", ns.Auth, err)
		}
	})
}

// At most MaxResetMails reset mails an hour reach one account; the answer
// does not change.
func TestPasswordResetMailLimit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		_, _ = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "F", Email: "f@example.com", Password: goodPW})
		resets := func() int {
			var n int
			_ = db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM mail_outbox WHERE kind = 'reset'`).Scan(&n)
			return n
		}
		for range 5 {
			if err := e.svc.RequestPasswordReset(e.ctx, "f@example.com"); err != nil {
				t.Fatal(err)
			}
			e.clk.Advance(time.Minute)
		}
		if n := resets(); n != MaxResetMails {
			t.Fatalf("%d reset mails in 5 minutes; want %d", n, MaxResetMails)
		}
		e.clk.Advance(time.Hour)
		_ = e.svc.RequestPasswordReset(e.ctx, "f@example.com")
		if n := resets(); n != MaxResetMails+1 {
			t.Fatalf("%d reset mails after an hour; want %d", n, MaxResetMails+1)
		}
	})
}

func TestInvitationsListAndRevoke(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		su, _ := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "L", Email: "own@l.test", Password: goodPW})
		owner := su.User
		a, _ := e.svc.Invite(e.ctx, owner, "a@l.test", RoleMember)
		tokA := e.lastLink(t, "invite", "a@l.test")
		b, _ := e.svc.Invite(e.ctx, owner, "b@l.test", RoleOwner)
		list, err := e.svc.Invitations(e.ctx, owner, owner.BrandID)
		if err != nil || len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID || list[0].Role != RoleOwner {
			t.Fatalf("invitations = %+v, %v", list, err)
		}
		other, _ := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "O", Email: "own@o.test", Password: goodPW})
		_, err = e.svc.Invitations(e.ctx, other.User, owner.BrandID)
		wantCode(t, err, errs.NotFound, "not_found")
		wantCode(t, e.svc.RevokeInvitation(e.ctx, other.User, a.ID), errs.NotFound, "not_found")
		if err := e.svc.RevokeInvitation(e.ctx, owner, a.ID); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.svc.RevokeInvitation(e.ctx, owner, a.ID), errs.NotFound, "not_found")
		_, err = e.svc.AcceptInvite(e.ctx, tokA, goodPW)
		wantCode(t, err, errs.Invalid, "invalid_token")
		mem, err := e.svc.AcceptInvite(e.ctx, e.lastLink(t, "invite", "b@l.test"), goodPW)
		if err != nil {
			t.Fatal(err)
		}
		if list, _ := e.svc.Invitations(e.ctx, owner, owner.BrandID); len(list) != 0 {
			t.Fatalf("invitations after accept and revoke = %+v", list)
		}
		// b was invited as an owner, so may manage invitations; a member may not.
		if _, err := e.svc.Invitations(e.ctx, mem, owner.BrandID); err != nil {
			t.Fatalf("invited owner lists invitations: %v", err)
		}
		c, _ := e.svc.Invite(e.ctx, owner, "c@l.test", RoleMember)
		cu, _ := e.svc.AcceptInvite(e.ctx, e.lastLink(t, "invite", "c@l.test"), goodPW)
		_, err = e.svc.Invitations(e.ctx, cu, owner.BrandID)
		wantCode(t, err, errs.Forbidden, "forbidden")
		wantCode(t, e.svc.RevokeInvitation(e.ctx, cu, c.ID), errs.Forbidden, "forbidden")
		op, _ := e.svc.CreateOperator(e.ctx, "ops@payper.test", goodPW)
		if _, err := e.svc.Invitations(e.ctx, op, owner.BrandID); err != nil {
			t.Fatalf("operator lists invitations: %v", err)
		}
	})
}

// Password hashing waits for a free slot; a request whose context ends
// while waiting fails with that error and writes nothing.
func TestHashingIsBounded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		clk := e0(t, db)
		svc := New(db, clk, Config{Params: cheap, MaxConcurrentHashes: 1})
		svc.hashing <- struct{}{} // the one slot is busy
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := svc.SignUpCreator(ctx, CreatorSignup{Name: "Q", Email: "q@example.com", Password: goodPW})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("sign-up while hashing is saturated = %v; want the context's deadline", err)
		}
		<-svc.hashing
		if _, err := svc.SignUpCreator(context.Background(), CreatorSignup{Name: "Q", Email: "q@example.com", Password: goodPW}); err != nil {
			t.Fatalf("sign-up with a free slot: %v", err)
		}
	})
}

func e0(t *testing.T, db *store.DB) *clock.Fake { return setup(t, db).clk }

// Verification mails to an address not proven yet are capped at
// MaxVerifyMails an hour, the sign-up's included: someone who signed up
// with another person's address cannot flood it by asking again and again.
func TestResendVerificationCapped(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		su, err := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "F", Email: "f@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		for range MaxVerifyMails - 1 {
			e.clk.Advance(time.Minute)
			if err := e.svc.ResendVerification(e.ctx, su.User.ID); err != nil {
				t.Fatal(err)
			}
		}
		before := e.counts(t)
		wantCode(t, e.svc.ResendVerification(e.ctx, su.User.ID), errs.Conflict, "too_many_mails")
		e.sameCounts(t, before)
		e.clk.Advance(time.Hour - time.Duration(MaxVerifyMails-2)*time.Minute) // the sign-up's mail is now over an hour old
		if err := e.svc.ResendVerification(e.ctx, su.User.ID); err != nil {
			t.Fatalf("an hour after the first mail: %v", err)
		}
	})
}

// PeekInvitation reads an invitation's email, brand and role without using
// it: the token still works after any number of peeks, and a used, revoked
// or expired one is invalid_token.
func TestPeekInvitation(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		su, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "Peek & Co", Email: "owner@peek.test", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		inv, err := e.svc.Invite(e.ctx, su.User, "ida@peek.test", RoleOwner)
		if err != nil {
			t.Fatal(err)
		}
		tok := e.lastLink(t, "invite", "ida@peek.test")
		for range 2 {
			in, err := e.svc.PeekInvitation(e.ctx, tok)
			if err != nil || in != (InvitationInfo{Email: "ida@peek.test", BrandName: "Peek & Co", Role: RoleOwner, ExpiresAt: inv.ExpiresAt}) {
				t.Fatalf("peek = %+v, %v", in, err)
			}
		}
		_, err = e.svc.PeekInvitation(e.ctx, tok+"x")
		wantCode(t, err, errs.Invalid, "invalid_token")
		if _, err := e.svc.AcceptInvite(e.ctx, tok, goodPW); err != nil {
			t.Fatalf("accept after peeks: %v", err)
		}
		_, err = e.svc.PeekInvitation(e.ctx, tok)
		wantCode(t, err, errs.Invalid, "invalid_token")

		inv2, _ := e.svc.Invite(e.ctx, su.User, "rev@peek.test", RoleMember)
		rev := e.lastLink(t, "invite", "rev@peek.test")
		if err := e.svc.RevokeInvitation(e.ctx, su.User, inv2.ID); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.PeekInvitation(e.ctx, rev)
		wantCode(t, err, errs.Invalid, "invalid_token")

		_, _ = e.svc.Invite(e.ctx, su.User, "late@peek.test", RoleMember)
		late := e.lastLink(t, "invite", "late@peek.test")
		e.clk.Advance(7*24*time.Hour + time.Second)
		_, err = e.svc.PeekInvitation(e.ctx, late)
		wantCode(t, err, errs.Invalid, "invalid_token")
	})
}

// CheckLink tells whether a verification or reset link still works without
// using it.
func TestCheckLink(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if _, err := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "K", Email: "k@example.com", Password: goodPW}); err != nil {
			t.Fatal(err)
		}
		v := e.lastLink(t, "verify", "k@example.com")
		for range 2 {
			if err := e.svc.CheckLink(e.ctx, "verify", v); err != nil {
				t.Fatalf("check a fresh link: %v", err)
			}
		}
		wantCode(t, e.svc.CheckLink(e.ctx, "reset", v), errs.Invalid, "invalid_token") // another kind's
		wantCode(t, e.svc.CheckLink(e.ctx, "verify", v+"x"), errs.Invalid, "invalid_token")
		if _, err := e.svc.VerifyEmail(e.ctx, v); err != nil {
			t.Fatalf("verify after checks: %v", err)
		}
		wantCode(t, e.svc.CheckLink(e.ctx, "verify", v), errs.Invalid, "invalid_token") // used
		if err := e.svc.RequestPasswordReset(e.ctx, "k@example.com"); err != nil {
			t.Fatal(err)
		}
		r := e.lastLink(t, "reset", "k@example.com")
		if err := e.svc.CheckLink(e.ctx, "reset", r); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Hour)
		wantCode(t, e.svc.CheckLink(e.ctx, "reset", r), errs.Invalid, "invalid_token") // expired
	})
}
