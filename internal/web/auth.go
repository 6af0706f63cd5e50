package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/links"
)

// authRoutes registers the start page, sign-up, sign-in, sign-out and the
// pages mailed links land on.
func (s *Server) authRoutes() {
	s.handle("GET /{$}", s.home)
	s.handle("GET /signin", s.signinForm)
	s.handle("POST /signin", s.signin)
	s.handle("POST /signout", s.signout)
	s.handle("POST /signout/everywhere", s.requireUser(s.signoutEverywhere))
}

// maxForm bounds a form body.
const maxForm = 64 << 10

// parseForm reads a POSTed form of at most maxForm bytes and refuses text
// with control characters in any field but the multiline ones.
func parseForm(w http.ResponseWriter, r *http.Request, multiline ...string) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return errs.Invalidf("", "invalid_form", "the form could not be read")
	}
	for k, vs := range r.PostForm {
		for _, v := range vs {
			if err := errs.BadText(k, v, slices.Contains(multiline, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// clientAddr is the client's address for the sign-in throttle: the peer's,
// or behind a trusted proxy the last X-Forwarded-For entry.
func (s *Server) clientAddr(r *http.Request) string {
	var xff []string
	if s.TrustProxy {
		xff = r.Header.Values("X-Forwarded-For")
	}
	return links.ClientIP(r.RemoteAddr, xff)
}

// SigninPage is the sign-in form.
type SigninPage struct {
	Page
	Email string
	Next  string
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) error {
	if _, ok := userFrom(r); ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "auth_signin.html", &SigninPage{Page: Page{Title: "Sign in", Nav: "signin"}, Next: safeNext(r.URL.Query().Get("next"))})
	return nil
}

// signin checks the email and password, starts a new session (revoking any
// session cookie the browser sent, so a planted one is useless) and goes to
// the page asked for. A wrong password is shown on the form; too many
// attempts answer 429 with Retry-After; a brand held for approval sees the
// pending page.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	p := &SigninPage{Page: Page{Title: "Sign in", Nav: "signin"}, Email: r.PostForm.Get("email"), Next: safeNext(r.PostForm.Get("next"))}
	var old string
	if c, err := r.Cookie(account.CookieName); err == nil {
		old = c.Value
	}
	ns, err := s.Accounts.Login(r.Context(), account.Login{Email: p.Email, Password: r.PostForm.Get("password"),
		Address: s.clientAddr(r), UserAgent: r.UserAgent(), OldToken: old})
	var te *account.ThrottledError
	switch {
	case err == nil:
	case errors.As(err, &te):
		w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		p.FormError = tooManyMessage(te)
		s.render(w, r, http.StatusTooManyRequests, "auth_signin.html", p)
		return nil
	case errs.CodeOf(err) == "brand_pending" || errs.CodeOf(err) == "brand_rejected":
		return s.pendingPage(w, r, err)
	case errs.Is(err, errs.Unauthorized):
		p.Errors = map[string]string{"password": "Wrong email or password."}
		s.render(w, r, http.StatusUnauthorized, "auth_signin.html", p)
		return nil
	case errs.Is(err, errs.Invalid):
		p.Errors = fieldErrors(err)
		s.render(w, r, http.StatusBadRequest, "auth_signin.html", p)
		return nil
	default:
		return err
	}
	http.SetCookie(w, account.SessionCookie(r, s.TrustProxy, ns.Token, ns.ExpiresAt.Time(), s.Clock.Now()))
	next := p.Next
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// signout ends this browser's session.
func (s *Server) signout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(account.CookieName); err == nil {
		if err := s.Accounts.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	http.SetCookie(w, account.ClearSessionCookie(r, s.TrustProxy))
	s.redirect(w, r, "/signin", "You are signed out.")
	return nil
}

// signoutEverywhere ends every session of the signed-in user, this one too.
func (s *Server) signoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	n, err := s.Accounts.LogoutEverywhere(r.Context(), u.ID)
	if err != nil {
		return err
	}
	http.SetCookie(w, account.ClearSessionCookie(r, s.TrustProxy))
	msg := "You are signed out everywhere."
	if n > 1 {
		msg = fmt.Sprintf("You are signed out everywhere (%d sessions ended).", n)
	}
	s.redirect(w, r, "/signin", msg)
	return nil
}

// HomePage is the start page of a signed-in creator or operator.
type HomePage struct {
	Page
}

// home sends a brand to its campaigns, shows creators and operators a
// simple start page, and sends anyone signed out to the sign-in page.
func (s *Server) home(w http.ResponseWriter, r *http.Request) error {
	u, ok := userFrom(r)
	if !ok {
		if err, _ := r.Context().Value(sessionErrKey).(error); err != nil {
			return s.pendingPage(w, r, err)
		}
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return nil
	}
	if u.Kind == account.KindBrand {
		http.Redirect(w, r, "/campaigns", http.StatusSeeOther)
		return nil
	}
	s.render(w, r, http.StatusOK, "auth_home.html", &HomePage{Page: Page{Title: "Welcome", Nav: "home"}})
	return nil
}

// PendingPage tells a brand held for approval (or refused) why it cannot
// sign in.
type PendingPage struct {
	Page
	Rejected bool
}

// pendingPage shows a brand that the operator has not approved it (yet).
func (s *Server) pendingPage(w http.ResponseWriter, r *http.Request, err error) error {
	rejected := errs.CodeOf(err) == "brand_rejected"
	title := "Waiting for approval"
	if rejected {
		title = "Not approved"
	}
	s.render(w, r, http.StatusForbidden, "auth_pending.html", &PendingPage{Page: Page{Title: title}, Rejected: rejected})
	return nil
}
