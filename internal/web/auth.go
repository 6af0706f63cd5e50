package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

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
	s.handle("GET /signup", s.signupChoice)
	s.handle("GET /signup/brand", s.signupForm(kindBrand))
	s.handle("POST /signup/brand", s.signup(kindBrand))
	s.handle("GET /signup/creator", s.signupForm(kindCreator))
	s.handle("POST /signup/creator", s.signup(kindCreator))
	s.handle("GET /verify", s.requireUser(s.verifyInfo))
	s.handle("POST /verify", s.requireUser(s.resendVerification))
	s.handle("GET /verify/{token}", s.verifyForm)
	s.handle("POST /verify/{token}", s.verify)
	s.handle("GET /reset", s.resetRequestForm)
	s.handle("POST /reset", s.resetRequest)
	s.handle("GET /reset/{token}", s.resetForm)
	s.handle("POST /reset/{token}", s.reset)
	s.handle("GET /invite/{token}", s.inviteForm)
	s.handle("POST /invite/{token}", s.acceptInvite)
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

// ---- sign-up ----

const (
	kindBrand   = account.KindBrand
	kindCreator = account.KindCreator
)

func (s *Server) signupChoice(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "auth_signup.html", &SignupPage{Page: Page{Title: "Create an account", Nav: "signup"}})
	return nil
}

// SignupPage is the sign-up form of a brand or a creator (Kind; "" is the
// page that offers both).
type SignupPage struct {
	Page
	Kind                 string
	Name, Email, Country string
}

func signupTitle(kind string) string {
	if kind == kindBrand {
		return "Sign up as a brand"
	}
	return "Sign up as a creator"
}

func (s *Server) signupForm(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		s.render(w, r, http.StatusOK, "auth_signup_form.html", &SignupPage{Page: Page{Title: signupTitle(kind), Nav: "signup"}, Kind: kind})
		return nil
	}
}

// signup creates the brand (or creator) and its user, which mails a link
// to confirm the address, and signs the new user in. Every bad field is
// shown beside its input and nothing is saved.
func (s *Server) signup(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(w, r); err != nil {
			return err
		}
		f := r.PostForm
		p := &SignupPage{Page: Page{Title: signupTitle(kind), Nav: "signup"}, Kind: kind,
			Name: f.Get("name"), Email: f.Get("email"), Country: strings.ToUpper(strings.TrimSpace(f.Get("country")))}
		var err error
		if kind == kindBrand {
			_, err = s.Accounts.SignUpBrand(r.Context(), account.BrandSignup{BrandName: p.Name, Email: p.Email, Password: f.Get("password")})
			err = renameField(err, "brand_name", "name")
		} else {
			_, err = s.Accounts.SignUpCreator(r.Context(), account.CreatorSignup{Name: p.Name, Country: p.Country, Email: p.Email, Password: f.Get("password")})
		}
		if err != nil {
			if fe := fieldErrors(err); fe != nil || errs.CodeOf(err) == "email_taken" {
				if fe == nil {
					fe = map[string]string{"email": "An account with this email already exists. Sign in, or reset your password."}
				}
				p.Errors = fe
				s.render(w, r, http.StatusBadRequest, "auth_signup_form.html", p)
				return nil
			}
			return err
		}
		return s.startSession(w, r, p.Email, f.Get("password"), "/", "Welcome to payper. We sent a link to "+p.Email+" to confirm your address.")
	}
}

// renameField returns err with field errors on from named to instead (the
// form's name for what the domain calls otherwise).
func renameField(err error, from, to string) error {
	var e *errs.Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	if c.Field == from {
		c.Field = to
	}
	c.Fields = slices.Clone(e.Fields)
	for i := range c.Fields {
		if c.Fields[i].Field == from {
			c.Fields[i].Field = to
		}
	}
	return &c
}

// startSession signs email in after a sign-up, a reset or an invitation
// and goes to target with flash; a brand held for approval sees the
// pending page instead.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, email, password, target, flash string) error {
	var old string
	if c, err := r.Cookie(account.CookieName); err == nil {
		old = c.Value
	}
	ns, err := s.Accounts.Login(r.Context(), account.Login{Email: email, Password: password, Address: s.clientAddr(r), UserAgent: r.UserAgent(), OldToken: old})
	switch {
	case errs.CodeOf(err) == "brand_pending" || errs.CodeOf(err) == "brand_rejected":
		return s.pendingPage(w, r, err)
	case err != nil:
		// The account exists; only the automatic sign-in failed.
		s.redirect(w, r, "/signin", flash+" Please sign in.")
		return nil
	}
	http.SetCookie(w, account.SessionCookie(r, s.TrustProxy, ns.Token, ns.ExpiresAt.Time(), s.Clock.Now()))
	s.redirect(w, r, target, flash)
	return nil
}

// ---- email verification ----

// TokenPage is the page a mailed link opens: a button that POSTs the token
// (a mail scanner fetching the link uses nothing), with a password form
// for a reset or an invitation.
type TokenPage struct {
	Page
	Action string // the form's action: the link's own path
	Kind   string // "verify", "reset", "invite"
	// Invitation is what an invitation link offers (Kind "invite").
	Invitation *account.InvitationInfo
}

func (s *Server) verifyInfo(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "auth_verify_info.html", &Page{Title: "Confirm your email", Nav: "settings"})
	return nil
}

// resendVerification mails the signed-in user a new link.
func (s *Server) resendVerification(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	err := s.Accounts.ResendVerification(r.Context(), u.ID)
	switch errs.CodeOf(err) {
	case "already_verified":
		s.redirect(w, r, "/settings", "Your email address is already confirmed.")
		return nil
	case "too_many_mails":
		s.redirect(w, r, "/settings", "We sent you several links in the last hour already: look in your spam folder, or ask again later.")
		return nil
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/settings", "We sent a new link to "+u.Email+".")
	return nil
}

func (s *Server) verifyForm(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.CheckLink(r.Context(), "verify", r.PathValue("token")); errs.CodeOf(err) == "invalid_token" {
		return s.badLink(w, r, "Confirm your email")
	} else if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "auth_token.html", &TokenPage{Page: Page{Title: "Confirm your email"}, Action: r.URL.Path, Kind: "verify"})
	return nil
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	_, err := s.Accounts.VerifyEmail(r.Context(), r.PathValue("token"))
	if errs.CodeOf(err) == "invalid_token" {
		return s.badLink(w, r, "Confirm your email")
	}
	if err != nil {
		return err
	}
	target := "/signin"
	if _, ok := userFrom(r); ok {
		target = "/"
	}
	s.redirect(w, r, target, "Thank you: your email address is confirmed.")
	return nil
}

// badLink shows that a mailed link is unknown, expired or used.
func (s *Server) badLink(w http.ResponseWriter, r *http.Request, title string) error {
	s.render(w, r, http.StatusBadRequest, "error.html", &ErrorPage{Page: Page{Title: title}, Status: http.StatusBadRequest,
		Message: "This link is invalid, has expired or was used already. Ask for a new one."})
	return nil
}

// ---- password reset ----

// ResetRequestPage asks for the email to send a reset link to.
type ResetRequestPage struct {
	Page
	Email string
}

func (s *Server) resetRequestForm(w http.ResponseWriter, r *http.Request) error {
	s.render(w, r, http.StatusOK, "auth_reset_request.html", &ResetRequestPage{Page: Page{Title: "Reset your password", Nav: "signin"}})
	return nil
}

// resetRequest mails a reset link if the address has an account; the
// answer is the same either way.
func (s *Server) resetRequest(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	p := &ResetRequestPage{Page: Page{Title: "Reset your password", Nav: "signin"}, Email: r.PostForm.Get("email")}
	if err := s.Accounts.RequestPasswordReset(r.Context(), p.Email); err != nil {
		if fe := fieldErrors(err); fe != nil {
			p.Errors = fe
			s.render(w, r, http.StatusBadRequest, "auth_reset_request.html", p)
			return nil
		}
		return err
	}
	s.redirect(w, r, "/signin", "If an account has this address, we sent it a link to choose a new password. It works for an hour.")
	return nil
}

func (s *Server) resetForm(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.CheckLink(r.Context(), "reset", r.PathValue("token")); errs.CodeOf(err) == "invalid_token" {
		return s.badLink(w, r, "Choose a new password")
	} else if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "auth_token.html", &TokenPage{Page: Page{Title: "Choose a new password"}, Action: r.URL.Path, Kind: "reset"})
	return nil
}

func (s *Server) reset(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	password := r.PostForm.Get("password")
	u, err := s.Accounts.ResetPassword(r.Context(), r.PathValue("token"), password)
	if errs.CodeOf(err) == "invalid_token" {
		return s.badLink(w, r, "Choose a new password")
	}
	if fe := fieldErrors(err); fe != nil {
		s.render(w, r, http.StatusBadRequest, "auth_token.html", &TokenPage{Page: Page{Title: "Choose a new password", Errors: fe}, Action: r.URL.Path, Kind: "reset"})
		return nil
	}
	if err != nil {
		return err
	}
	return s.startSession(w, r, u.Email, password, "/", "Your new password is set, and every other session is signed out.")
}

// ---- invitations ----

// inviteForm shows who invites whom (read without using the token) and
// asks for a password; an unknown, used or expired link says so at once.
func (s *Server) inviteForm(w http.ResponseWriter, r *http.Request) error {
	in, err := s.Accounts.PeekInvitation(r.Context(), r.PathValue("token"))
	if errs.CodeOf(err) == "invalid_token" {
		return s.badLink(w, r, "Join your team on payper")
	}
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "auth_token.html", &TokenPage{Page: Page{Title: "Join your team on payper"}, Action: r.URL.Path, Kind: "invite", Invitation: &in})
	return nil
}

func (s *Server) acceptInvite(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	password := r.PostForm.Get("password")
	u, err := s.Accounts.AcceptInvite(r.Context(), r.PathValue("token"), password)
	if errs.CodeOf(err) == "invalid_token" {
		return s.badLink(w, r, "Join your team on payper")
	}
	if errs.CodeOf(err) == "email_taken" {
		s.redirect(w, r, "/signin", "This address has an account already: sign in with it.")
		return nil
	}
	if fe := fieldErrors(err); fe != nil {
		p := &TokenPage{Page: Page{Title: "Join your team on payper", Errors: fe}, Action: r.URL.Path, Kind: "invite"}
		if in, err := s.Accounts.PeekInvitation(r.Context(), r.PathValue("token")); err == nil {
			p.Invitation = &in
		}
		s.render(w, r, http.StatusBadRequest, "auth_token.html", p)
		return nil
	}
	if err != nil {
		return err
	}
	return s.startSession(w, r, u.Email, password, "/", "Welcome to the team.")
}
