package account

import (
	"crypto/rand"
	"net/http"
	"strings"
	"time"
)

// CookieName is the session cookie's name.
const CookieName = "payper_session"

func readRandom(b []byte) { _, _ = rand.Read(b) } // crypto/rand.Read never fails (Go ≥ 1.24)

// IsHTTPS reports whether r reached payper over TLS: directly (r.TLS), or,
// when trustProxy is set because payper runs behind a reverse proxy that
// sets them, by the proxy's X-Forwarded-Proto or RFC 7239 Forwarded
// "proto=https". Without trustProxy the headers are ignored: a client
// could send them itself.
func IsHTTPS(r *http.Request, trustProxy bool) bool {
	if r.TLS != nil {
		return true
	}
	if !trustProxy {
		return false
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		first, _, _ := strings.Cut(p, ",")
		return strings.EqualFold(strings.TrimSpace(first), "https")
	}
	if f := r.Header.Get("Forwarded"); f != "" {
		first, _, _ := strings.Cut(f, ",")
		for _, pair := range strings.Split(first, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
			if strings.EqualFold(k, "proto") {
				return strings.EqualFold(strings.Trim(v, `"`), "https")
			}
		}
	}
	return false
}

// SessionCookie returns the cookie that carries a session token: HttpOnly
// (no script reads it), SameSite=Lax (not sent on cross-site POSTs), Path
// "/", Secure when the request came over HTTPS (IsHTTPS), and expiring with
// the session's absolute expiry.
func SessionCookie(r *http.Request, trustProxy bool, token string, expires time.Time, now time.Time) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		Expires:  expires.UTC(),
		MaxAge:   max(1, int(expires.Sub(now)/time.Second)),
		HttpOnly: true,
		Secure:   IsHTTPS(r, trustProxy),
		SameSite: http.SameSiteLaxMode,
	}
}

// ClearSessionCookie returns a cookie that makes the browser drop the
// session cookie (at sign-out), with the same attributes.
func ClearSessionCookie(r *http.Request, trustProxy bool) *http.Cookie {
	return &http.Cookie{
		Name:     CookieName,
		Value:    "",
		Path:     "/",
		Expires:  time.Unix(0, 0).UTC(),
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   IsHTTPS(r, trustProxy),
		SameSite: http.SameSiteLaxMode,
	}
}
