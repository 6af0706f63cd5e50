// Package web is payper's web app: server-rendered html/template pages,
// embedded in the binary, for the people who use payper in a browser. A
// handler decodes the form, authorizes, calls the same domain service the
// API calls, and renders; no SQL, KPI formula or money arithmetic lives
// here. Every form is a plain POST answered with a 303 redirect.
//
// Security: server-side sessions (internal/account) in an HttpOnly,
// SameSite=Lax cookie; http.CrossOriginProtection on every unsafe method; a
// strict Content-Security-Policy (no inline script or style), and every
// user-supplied string escaped by html/template.
package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/report"
)

// Deps are the domain services the pages call: the same ones the API calls.
type Deps struct {
	Accounts  *account.Service
	Identity  *identity.Service
	Campaigns *campaign.Service
	Creators  *creator.Service
	Market    *market.Service
	Engage    *engage.Service
	Links     *links.Service
	Orders    *orders.Service
	Attrib    *attrib.Service
	Report    *report.Service
	Payouts   *payout.Service
	Ledger    *ledger.Ledger
	Outbox    *mail.Outbox
	// EngageTick runs one engagement tick and waits for it (as the API's).
	EngageTick func(ctx context.Context) error
	Clock      clock.Clock
	Log        *slog.Logger
	// TrustProxy says payper runs behind a reverse proxy whose
	// X-Forwarded-Proto / Forwarded header can be believed: the session
	// cookie is then Secure when the proxy says the browser used HTTPS, and
	// the client address for the sign-in throttle is the proxy's
	// X-Forwarded-For's last entry.
	TrustProxy bool
	// PublicURL is where browsers reach this server, e.g. "https://payper.example.com".
	PublicURL string
	Version   string
}

// Server serves the web app. It is an http.Handler.
type Server struct {
	Deps
	mux   *http.ServeMux
	cop   *http.CrossOriginProtection
	pages map[string]*pageTemplate
	h     http.Handler
}

// handler is a page handler. An error it returns is shown as an HTML error
// page with the status its errs.Kind implies (s.fail); a handler that shows
// field errors beside a form renders the form itself and returns nil.
type handler func(w http.ResponseWriter, r *http.Request) error

// New builds the server, parses every page template (it panics on a
// template that does not parse: they are embedded, so that is a bug caught
// by any test) and registers every page group's routes.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	s := &Server{Deps: d, mux: http.NewServeMux(), cop: http.NewCrossOriginProtection()}
	s.pages = mustParsePages()
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "This form was sent from another site, so it was refused. Go back to payper and send it again.")
	}))
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", staticHandler()))
	s.authRoutes()
	s.settingsRoutes()
	s.campaignRoutes()
	s.wizardRoutes()
	s.dashboardRoutes()
	s.collabRoutes()
	s.earningsRoutes()
	s.reportRoutes()
	s.fraudRoutes()
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "There is no page at this address.")
	})
	s.h = s.cop.Handler(s.mux)
	return s
}

// ServeHTTP serves a page with payper's security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// Pages carry tokens in their paths (/reset/{token}): never send them on.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if account.IsHTTPS(r, s.TrustProxy) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	s.h.ServeHTTP(w, r)
}

// CSP is the Content-Security-Policy of every page: no inline script or
// style, nothing loaded from elsewhere, forms posted only here, no framing.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// handle registers h at pattern (a net/http ServeMux pattern such as
// "GET /campaigns/{id}"). The signed-in user, if any, is looked up first
// (userFrom); an error h returns is shown as an error page.
func (s *Server) handle(pattern string, h handler) {
	s.mux.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = s.withSession(w, r)
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}))
}

type ctxKey int

const (
	authKey ctxKey = iota
	sessionErrKey
)

// withSession resolves the session cookie, if any, and puts who it signs in
// into r's context. An unknown or expired session is dropped from the browser.
func (s *Server) withSession(w http.ResponseWriter, r *http.Request) *http.Request {
	c, err := r.Cookie(account.CookieName)
	if err != nil || c.Value == "" {
		return r
	}
	a, err := s.Accounts.Lookup(r.Context(), c.Value)
	switch {
	case err == nil:
		w.Header().Set("Cache-Control", "no-store")
		return r.WithContext(context.WithValue(r.Context(), authKey, &a))
	case errs.Is(err, errs.Forbidden): // a brand pending or refused approval
		return r.WithContext(context.WithValue(r.Context(), sessionErrKey, err))
	case errs.Is(err, errs.Unauthorized):
		http.SetCookie(w, account.ClearSessionCookie(r, s.TrustProxy))
		return r
	default:
		s.Log.Warn("web: looking up a session", "err", err)
		return r
	}
}

// authFrom returns the signed-in session of r, or nil when signed out.
func authFrom(r *http.Request) *account.Auth {
	a, _ := r.Context().Value(authKey).(*account.Auth)
	return a
}

// userFrom returns the signed-in user of r and whether there is one. Its
// Principal() is who domain calls are made as.
func userFrom(r *http.Request) (account.User, bool) {
	if a := authFrom(r); a != nil {
		return a.User, true
	}
	return account.User{}, false
}

// requireUser lets only a signed-in user reach h; anyone else is sent to
// the sign-in page (with the page they wanted, to come back to), and a
// brand held for approval sees the pending page.
func (s *Server) requireUser(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, ok := userFrom(r); ok {
			return h(w, r)
		}
		if err, _ := r.Context().Value(sessionErrKey).(error); err != nil {
			return s.pendingPage(w, r, err)
		}
		next := r.URL.Path
		if r.Method != http.MethodGet {
			next = ""
		}
		target := "/signin"
		if next != "" && next != "/" {
			target += "?next=" + url.QueryEscape(next)
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
}

// requireBrand lets only a signed-in user of a brand (owner or member)
// reach h; other signed-in users get a 403 page.
func (s *Server) requireBrand(h handler) handler {
	return s.requireUser(func(w http.ResponseWriter, r *http.Request) error {
		if u, _ := userFrom(r); u.Kind != account.KindBrand {
			return errs.E(errs.Forbidden, "forbidden", "These pages are for brands.")
		}
		return h(w, r)
	})
}

// safeNext returns next when it is a path on this site ("/…", not "//…"),
// else "".
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return ""
	}
	return next
}

// redirect answers 303 See Other to target, with an optional flash message
// shown once on the next page.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, target, flash string) {
	if flash != "" {
		setFlash(w, r, s.TrustProxy, flash)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// statusOf maps an error kind to the page's status.
var statusOf = map[errs.Kind]int{
	errs.Invalid:      http.StatusBadRequest,
	errs.Unauthorized: http.StatusUnauthorized,
	errs.Forbidden:    http.StatusForbidden,
	errs.NotFound:     http.StatusNotFound,
	errs.Conflict:     http.StatusConflict,
	errs.Unavailable:  http.StatusServiceUnavailable,
}

// fail shows err as an error page: the domain's message for an errs.Error
// of a user's making (404 for another tenant's object, as the domain says),
// a 429 with Retry-After for a throttle, "internal error" for anything else
// (logged).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var te *account.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		s.errorPage(w, r, http.StatusTooManyRequests, tooManyMessage(te))
		return
	}
	var e *errs.Error
	if errors.As(err, &e) && e.Kind != errs.Internal {
		if st, ok := statusOf[e.Kind]; ok {
			if e.Kind == errs.Unavailable {
				w.Header().Set("Retry-After", "5")
			}
			s.errorPage(w, r, st, e.Message)
			return
		}
	}
	s.Log.Error("web: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	s.errorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side. It was logged; please try again.")
}

// tooManyMessage says how long to wait after too many failed sign-ins, in
// whole minutes (rounded up).
func tooManyMessage(te *account.ThrottledError) string {
	mins := (te.RetryAfterSeconds() + 59) / 60
	unit := "minutes"
	if mins == 1 {
		unit = "minute"
	}
	return "Too many attempts. Try again in " + strconv.Itoa(mins) + " " + unit + "."
}
