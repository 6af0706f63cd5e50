package account

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		su, err := e.svc.SignUpBrand(e.ctx, BrandSignup{BrandName: "S", Email: "s@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		verified, err := e.svc.VerifyEmail(e.ctx, e.lastLink(t, "verify", "s@example.com"))
		if err != nil || !verified.EmailVerified {
			t.Fatalf("verify = %+v, %v", verified, err)
		}
		ns, err := e.svc.Login(e.ctx, Login{Email: "S@Example.com", Password: goodPW, Address: "192.0.2.7", UserAgent: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if ns.User != verified {
			t.Fatalf("signed-in user = %+v; want %+v", ns.User, verified)
		}
		if len(ns.Token) != 43 || ns.Principal != (identity.Principal{Role: identity.RoleBrand, SubjectID: su.User.BrandID}) {
			t.Fatalf("session = %+v (token %d chars)", ns.Auth, len(ns.Token))
		}
		// Only the token's SHA-256 is stored.
		h := sha256.Sum256([]byte(ns.Token))
		var n, raw int
		_ = db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM sessions WHERE hash = $1`, hex.EncodeToString(h[:])).Scan(&n)
		_ = db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM sessions WHERE hash = $1 OR id = $1`, ns.Token).Scan(&raw)
		if n != 1 || raw != 0 {
			t.Fatalf("sessions by hash %d, by raw token %d", n, raw)
		}
		a, err := e.svc.Lookup(e.ctx, ns.Token)
		if err != nil || a.User.ID != su.User.ID || a.Principal.BrandID() != su.User.BrandID || a.SessionID != ns.SessionID {
			t.Fatalf("lookup = %+v, %v", a, err)
		}
		for _, bad := range []string{"", "x", ns.Token + "x", strings.Repeat("a", 300)} {
			_, err := e.svc.Lookup(e.ctx, bad)
			wantCode(t, err, errs.Unauthorized, "unauthorized")
		}

		// Idle expiry: used every 20 minutes it lives; 30 idle minutes end it.
		for range 5 {
			e.clk.Advance(20 * time.Minute)
			if _, err := e.svc.Lookup(e.ctx, ns.Token); err != nil {
				t.Fatalf("session ended while in use: %v", err)
			}
		}
		e.clk.Advance(30 * time.Minute)
		_, err = e.svc.Lookup(e.ctx, ns.Token)
		wantCode(t, err, errs.Unauthorized, "unauthorized")

		// Absolute expiry: 8 hours after sign-in, however busy.
		ns2, err := e.svc.Login(e.ctx, Login{Email: "s@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		start := e.clk.Now()
		for e.clk.Now().Before(start.Add(8*time.Hour - 20*time.Minute)) {
			e.clk.Advance(20 * time.Minute)
			if _, err := e.svc.Lookup(e.ctx, ns2.Token); err != nil {
				t.Fatalf("session ended after %s: %v", e.clk.Now().Sub(start), err)
			}
		}
		e.clk.Set(start.Add(8 * time.Hour))
		_, err = e.svc.Lookup(e.ctx, ns2.Token)
		wantCode(t, err, errs.Unauthorized, "unauthorized")

		// Log out ends one session; logging out twice is harmless.
		s3, _ := e.svc.Login(e.ctx, Login{Email: "s@example.com", Password: goodPW})
		s4, _ := e.svc.Login(e.ctx, Login{Email: "s@example.com", Password: goodPW})
		if err := e.svc.Logout(e.ctx, s3.Token); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.Logout(e.ctx, s3.Token); err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Lookup(e.ctx, s3.Token)
		wantCode(t, err, errs.Unauthorized, "unauthorized")
		if _, err := e.svc.Lookup(e.ctx, s4.Token); err != nil {
			t.Fatalf("logout ended another session: %v", err)
		}
		// Log out everywhere ends them all.
		s5, _ := e.svc.Login(e.ctx, Login{Email: "s@example.com", Password: goodPW})
		if n, err := e.svc.LogoutEverywhere(e.ctx, su.User.ID); err != nil || n != 2 {
			t.Fatalf("logout everywhere = %d, %v; want 2", n, err)
		}
		for _, tok := range []string{s4.Token, s5.Token} {
			_, err = e.svc.Lookup(e.ctx, tok)
			wantCode(t, err, errs.Unauthorized, "unauthorized")
		}
	})
}

// A session token a browser held before signing in (planted by an
// attacker, say) is revoked by the sign-in: the new session has a new token.
func TestLoginRevokesOldSession(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		_, _ = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "V", Email: "victim@example.com", Password: goodPW})
		_, _ = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "A", Email: "attacker@example.com", Password: goodPW})
		planted, err := e.svc.Login(e.ctx, Login{Email: "attacker@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		ns, err := e.svc.Login(e.ctx, Login{Email: "victim@example.com", Password: goodPW, OldToken: planted.Token})
		if err != nil {
			t.Fatal(err)
		}
		if ns.Token == planted.Token {
			t.Fatal("sign-in kept the token the browser sent")
		}
		_, err = e.svc.Lookup(e.ctx, planted.Token)
		wantCode(t, err, errs.Unauthorized, "unauthorized")
		if a, err := e.svc.Lookup(e.ctx, ns.Token); err != nil || a.User.Email != "victim@example.com" {
			t.Fatalf("lookup = %+v, %v", a, err)
		}
	})
}

func TestChangePassword(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		_, _ = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "P", Email: "p@example.com", Password: goodPW})
		here, _ := e.svc.Login(e.ctx, Login{Email: "p@example.com", Password: goodPW})
		there, _ := e.svc.Login(e.ctx, Login{Email: "p@example.com", Password: goodPW})
		wantCode(t, e.svc.ChangePassword(e.ctx, here.Token, "wrong current pw", "brand new passphrase"), errs.Invalid, "wrong_password")
		wantCode(t, e.svc.ChangePassword(e.ctx, here.Token, goodPW, "iloveyou123"), errs.Invalid, "common_password")
		if _, err := e.svc.Lookup(e.ctx, there.Token); err != nil {
			t.Fatalf("a refused change ended a session: %v", err)
		}
		if err := e.svc.ChangePassword(e.ctx, here.Token, goodPW, "brand new passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Lookup(e.ctx, here.Token); err != nil {
			t.Fatalf("the session that changed the password ended: %v", err)
		}
		_, err := e.svc.Lookup(e.ctx, there.Token)
		wantCode(t, err, errs.Unauthorized, "unauthorized")
		_, err = e.svc.Login(e.ctx, Login{Email: "p@example.com", Password: goodPW})
		wantCode(t, err, errs.Unauthorized, "invalid_credentials")
		if _, err := e.svc.Login(e.ctx, Login{Email: "p@example.com", Password: "brand new passphrase"}); err != nil {
			t.Fatal(err)
		}
	})
}

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	wantCode(t, err, errs.Unauthorized, "too_many_attempts")
	var te *ThrottledError
	if !errors.As(err, &te) {
		t.Fatalf("%v does not wrap a *ThrottledError", err)
	}
	return te.RetryAfter
}

func TestLoginThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		// A second server on the same database: the counts are shared.
		other := New(db, e.clk, Config{Params: cheap})
		_, _ = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "T", Email: "t@example.com", Password: goodPW})
		login := func(s *Service, pw, addr string) error {
			_, err := s.Login(e.ctx, Login{Email: "t@example.com", Password: pw, Address: addr})
			return err
		}
		for i := range 5 {
			s := e.svc
			if i%2 == 1 {
				s = other
			}
			wantCode(t, login(s, "wrong password!", "192.0.2.1"), errs.Unauthorized, "invalid_credentials")
		}
		// Locked for a minute: even the right password, from anywhere, on either server.
		if d := retryAfter(t, login(e.svc, goodPW, "198.51.100.9")); d != time.Minute {
			t.Fatalf("retry after %s; want 1m", d)
		}
		retryAfter(t, login(other, goodPW, ""))
		e.clk.Advance(time.Minute)
		// Each further failure doubles the lock.
		wantCode(t, login(e.svc, "wrong password!", "192.0.2.1"), errs.Unauthorized, "invalid_credentials")
		if d := retryAfter(t, login(e.svc, goodPW, "192.0.2.1")); d != 2*time.Minute {
			t.Fatalf("retry after %s; want 2m", d)
		}
		e.clk.Advance(2 * time.Minute)
		wantCode(t, login(e.svc, "wrong password!", "192.0.2.1"), errs.Unauthorized, "invalid_credentials")
		if d := retryAfter(t, login(e.svc, goodPW, "192.0.2.1")); d != 4*time.Minute {
			t.Fatalf("retry after %s; want 4m", d)
		}
		e.clk.Advance(4 * time.Minute)
		if err := login(e.svc, goodPW, "192.0.2.1"); err != nil {
			t.Fatalf("right password after the lock: %v", err)
		}
		// Success forgets the account's failures: four more do not lock.
		for range 4 {
			wantCode(t, login(e.svc, "wrong password!", "192.0.2.1"), errs.Unauthorized, "invalid_credentials")
		}
		if err := login(e.svc, goodPW, "192.0.2.1"); err != nil {
			t.Fatalf("locked after 4 failures: %v", err)
		}
		// Failures older than the 15-minute window are forgotten.
		for range 4 {
			_ = login(e.svc, "wrong password!", "192.0.2.2")
		}
		e.clk.Advance(16 * time.Minute)
		_ = login(e.svc, "wrong password!", "192.0.2.2")
		if err := login(e.svc, goodPW, "192.0.2.2"); err != nil {
			t.Fatalf("old failures still counted: %v", err)
		}
	})
}

// One address guessing across many accounts is locked after 20 failures,
// for every account, while other addresses still sign in. Unknown accounts
// count like known ones.
func TestLoginThrottlePerAddress(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		_, _ = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "T", Email: "t@example.com", Password: goodPW})
		for i := range 20 {
			_, err := e.svc.Login(e.ctx, Login{Email: "user" + string(rune('a'+i)) + "@example.com", Password: "guess guess guess", Address: "203.0.113.5"})
			wantCode(t, err, errs.Unauthorized, "invalid_credentials")
		}
		_, err := e.svc.Login(e.ctx, Login{Email: "t@example.com", Password: goodPW, Address: "203.0.113.5"})
		if d := retryAfter(t, err); d != time.Minute {
			t.Fatalf("retry after %s", d)
		}
		if _, err := e.svc.Login(e.ctx, Login{Email: "t@example.com", Password: goodPW, Address: "203.0.113.6"}); err != nil {
			t.Fatalf("another address is locked too: %v", err)
		}
	})
}

// A hash made with weaker parameters than the service's is replaced at the
// next sign-in.
func TestLoginRehashes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		su, _ := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "H", Email: "h@example.com", Password: goodPW})
		stronger := Params{Memory: 128, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
		s2 := New(db, e.clk, Config{Params: stronger})
		if _, err := s2.Login(e.ctx, Login{Email: "h@example.com", Password: goodPW}); err != nil {
			t.Fatal(err)
		}
		var hash string
		_ = db.Read().QueryRowContext(e.ctx, `SELECT password_hash FROM users WHERE id = $1`, su.User.ID).Scan(&hash)
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=128,t=2,p=1$") {
			t.Fatalf("hash after sign-in = %q; want the stronger parameters", hash)
		}
		if _, err := s2.Login(e.ctx, Login{Email: "h@example.com", Password: goodPW}); err != nil {
			t.Fatalf("sign-in with the re-hashed password: %v", err)
		}
	})
}

func TestSessionCookie(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	exp := now.Add(8 * time.Hour)
	plain := httptest.NewRequest("POST", "http://payper.test/login", nil)
	c := SessionCookie(plain, false, "tok", exp, now)
	if c.Name != CookieName || c.Value != "tok" || !c.HttpOnly || c.SameSite != 2 /* http.SameSiteLaxMode */ || c.Path != "/" || c.Secure || c.MaxAge != 8*3600 {
		t.Fatalf("cookie = %+v", c)
	}
	if s := c.String(); !strings.Contains(s, "HttpOnly") || !strings.Contains(s, "SameSite=Lax") || strings.Contains(s, "Secure") {
		t.Fatalf("Set-Cookie = %s", s)
	}
	overTLS := httptest.NewRequest("POST", "https://payper.test/login", nil)
	overTLS.TLS = &tls.ConnectionState{}
	if c := SessionCookie(overTLS, false, "tok", exp, now); !c.Secure || !strings.Contains(c.String(), "; Secure") {
		t.Fatalf("cookie over TLS not Secure: %s", c)
	}
	proxied := httptest.NewRequest("POST", "http://payper.test/login", nil)
	proxied.Header.Set("X-Forwarded-Proto", "https")
	if SessionCookie(proxied, false, "tok", exp, now).Secure {
		t.Fatal("an untrusted X-Forwarded-Proto made the cookie Secure")
	}
	if !SessionCookie(proxied, true, "tok", exp, now).Secure {
		t.Fatal("a trusted proxy's X-Forwarded-Proto: https did not make the cookie Secure")
	}
	fwd := httptest.NewRequest("POST", "http://payper.test/login", nil)
	fwd.Header.Set("Forwarded", `for=192.0.2.60;proto=https;by=203.0.113.43`)
	if !SessionCookie(fwd, true, "tok", exp, now).Secure {
		t.Fatal("a trusted proxy's Forwarded proto=https did not make the cookie Secure")
	}
	httpFwd := httptest.NewRequest("POST", "http://payper.test/login", nil)
	httpFwd.Header.Set("X-Forwarded-Proto", "http")
	if SessionCookie(httpFwd, true, "tok", exp, now).Secure {
		t.Fatal("X-Forwarded-Proto: http made the cookie Secure")
	}
	cl := ClearSessionCookie(overTLS, false)
	if cl.MaxAge != -1 || cl.Value != "" || !cl.HttpOnly || !cl.Secure || !strings.Contains(cl.String(), "Max-Age=0") {
		t.Fatalf("clear cookie = %s", cl)
	}
}

// Failed sign-ins at once are all counted (none lost to a concurrent
// write), so parallel guessing does not slip past the limit.
func TestLoginThrottleConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		_, _ = e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "T", Email: "t@example.com", Password: goodPW})
		const n = 12
		out := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, out[i] = e.svc.Login(e.ctx, Login{Email: "t@example.com", Password: "wrong password!"})
			}()
		}
		close(start)
		wg.Wait()
		bad := 0
		for _, err := range out {
			switch errs.CodeOf(err) {
			case "invalid_credentials":
				bad++
			case "too_many_attempts":
			default:
				t.Fatalf("unexpected %v", err)
			}
		}
		var failures int
		if err := db.Read().QueryRowContext(e.ctx, `SELECT failures FROM login_throttle WHERE key = 'acct:t@example.com'`).Scan(&failures); err != nil {
			t.Fatal(err)
		}
		if failures != bad {
			t.Fatalf("%d wrong passwords were checked but %d counted", bad, failures)
		}
		if bad != DefaultThrottle.AccountLimit {
			t.Fatalf("%d of %d parallel guesses were checked; want the limit, %d", bad, n, DefaultThrottle.AccountLimit)
		}
		_, err := e.svc.Login(e.ctx, Login{Email: "t@example.com", Password: goodPW})
		retryAfter(t, err)
	})
}

// Wrong current passwords in ChangePassword are throttled as sign-ins are:
// after AccountLimit failures even the right one is refused (not checked)
// until the lock ends; the lock does not stop the user signing in, and a
// success clears the count.
func TestChangePasswordThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if _, err := e.svc.SignUpCreator(e.ctx, CreatorSignup{Name: "Q", Email: "q@example.com", Password: goodPW}); err != nil {
			t.Fatal(err)
		}
		s, err := e.svc.Login(e.ctx, Login{Email: "q@example.com", Password: goodPW})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < DefaultThrottle.AccountLimit; i++ {
			wantCode(t, e.svc.ChangePassword(e.ctx, s.Token, "wrong guess "+string(rune('a'+i)), "brand new passphrase"), errs.Invalid, "wrong_password")
		}
		err = e.svc.ChangePassword(e.ctx, s.Token, goodPW, "brand new passphrase")
		if d := retryAfter(t, err); d != DefaultThrottle.Lock {
			t.Fatalf("locked for %s; want %s", d, DefaultThrottle.Lock)
		}
		if _, err := e.svc.Login(e.ctx, Login{Email: "q@example.com", Password: goodPW}); err != nil {
			t.Fatalf("a locked password change stopped sign-in: %v", err)
		}
		e.clk.Advance(DefaultThrottle.Lock)
		// Lookup must still find the session (idle 30 min > 1 min).
		if err := e.svc.ChangePassword(e.ctx, s.Token, goodPW, "brand new passphrase"); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
		var n int
		if err := db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM login_throttle WHERE key = $1`, "chpw:"+s.User.ID).Scan(&n); err != nil || n != 0 {
			t.Fatalf("throttle rows after a success = %d, %v; want 0", n, err)
		}
		if _, err := e.svc.Login(e.ctx, Login{Email: "q@example.com", Password: "brand new passphrase"}); err != nil {
			t.Fatal(err)
		}
	})
}
