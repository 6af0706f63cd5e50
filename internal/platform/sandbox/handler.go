package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/platform"
)

// Prefix is the path every sandbox route starts with; mount Handler and
// DriverHandler at Prefix+"/" on payper's mux.
const Prefix = "/sandbox"

// MaxCountsIDs is the most media ids one counts request may carry.
const MaxCountsIDs = 50

const maxBody = 64 << 10

// Handler serves the sandbox network's public API: what a real platform
// exposes to payper. Routes (all under Prefix):
//
//	GET  /oauth/authorize   consent: redirects to redirect_uri with code and state
//	POST /oauth/token       grant_type=authorization_code | refresh_token
//	GET  /api/me            the token's account                     (scope profile)
//	GET  /api/media/{id}    one post                                (scope media)
//	GET  /api/media?permalink=…  one post by permalink              (scope media)
//	POST /api/media/counts  {"ids":[≤50]} → cumulative counters     (scope insights)
//	GET  /api/me/media?limit=N  the token's account's newest posts with
//	                        their counters, N from 1 to 50 (default 12)
//	                                                        (scopes media and insights)
//
// The token endpoint answers RFC 6749 errors ({"error":"invalid_grant",
// "error_description":…}); the API answers {"error":{"code","message"}} with
// 401 invalid_token for an unknown, expired or revoked token, 403
// insufficient_scope, 404 not_found, 400 invalid_request, and 429
// rate_limited with a Retry-After header while the World is rate-limited.
type Handler struct {
	world *World
	log   *slog.Logger
	mux   *http.ServeMux
}

// NewHandler returns the public API of w, logging internal errors to log
// (slog.Default() when nil).
func NewHandler(w *World, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	h := &Handler{world: w, log: log, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET "+Prefix+"/oauth/authorize", h.authorize)
	h.mux.HandleFunc("POST "+Prefix+"/oauth/token", h.token)
	h.mux.HandleFunc("GET "+Prefix+"/api/me", h.api(ScopeProfile, h.me))
	h.mux.HandleFunc("GET "+Prefix+"/api/media/{id}", h.api(ScopeMedia, h.mediaByID))
	h.mux.HandleFunc("GET "+Prefix+"/api/media", h.api(ScopeMedia, h.mediaByPermalink))
	h.mux.HandleFunc("POST "+Prefix+"/api/media/counts", h.api(ScopeInsights, h.counts))
	h.mux.HandleFunc("GET "+Prefix+"/api/me/media", h.api(ScopeMedia, h.recentMedia))
	h.mux.HandleFunc(Prefix+"/", func(rw http.ResponseWriter, r *http.Request) {
		apiError(rw, http.StatusNotFound, "not_found", "no such sandbox endpoint: "+r.Method+" "+r.URL.Path)
	})
	return h
}

// ServeHTTP routes r.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(rw, r) }

func writeJSON(rw http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(rw, `{"error":{"code":"internal_error","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(append(b, '\n'))
}

type apiErrorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		RetryAfter int64  `json:"retry_after,omitempty"`
	} `json:"error"`
}

func apiError(rw http.ResponseWriter, status int, code, msg string) {
	var b apiErrorBody
	b.Error.Code, b.Error.Message = code, msg
	writeJSON(rw, status, b)
}

func (h *Handler) internal(rw http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "sandbox: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	apiError(rw, http.StatusInternalServerError, "internal_error", "internal error")
}

// --- OAuth ---------------------------------------------------------------

var chooser = template.Must(template.New("chooser").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sandbox — connect an account</title></head>
<body>
<h1>payper sandbox</h1>
<p>Client <b>{{.ClientID}}</b> asks to read your profile, posts and their counts ({{.Scope}}).</p>
<p>The sandbox has no passwords: choose the account to connect.</p>
<form method="get" action="">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<label>Handle <input name="account" required></label>
<button type="submit">Connect</button>
{{range .Accounts}}<br><button type="submit" name="account" value="{{.Handle}}">@{{.Handle}}</button>
{{end}}<br><button type="submit" name="deny" value="1" formnovalidate>Cancel</button>
</form>
</body></html>
`))

type hiddenField struct{ Name, Value string }

// authorize is the consent endpoint. Without a valid client_id and
// redirect_uri it answers 400 itself (never redirecting to an unchecked
// URI); every later error redirects back with error and state. Without an
// account (or login_hint) it shows a page to choose one.
func (h *Handler) authorize(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	clientID, redirectURI := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" {
		http.Error(rw, "sandbox: client_id is required", http.StatusBadRequest)
		return
	}
	ru, err := url.Parse(redirectURI)
	if err != nil || (ru.Scheme != "http" && ru.Scheme != "https") || ru.Host == "" || ru.Fragment != "" {
		http.Error(rw, "sandbox: redirect_uri must be an absolute http(s) URL without a fragment", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		v := ru.Query()
		v.Set("error", code)
		v.Set("error_description", desc)
		if state != "" {
			v.Set("state", state)
		}
		u := *ru
		u.RawQuery = v.Encode()
		http.Redirect(rw, r, u.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "response_type must be code")
		return
	}
	if state == "" {
		fail("invalid_request", "state is required")
		return
	}
	challenge := q.Get("code_challenge")
	if q.Get("code_challenge_method") != "S256" {
		fail("invalid_request", "PKCE is required: code_challenge_method must be S256")
		return
	}
	if len(challenge) != 43 || strings.ContainsFunc(challenge, func(c rune) bool {
		return !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_')
	}) {
		fail("invalid_request", "code_challenge must be base64url(SHA-256(code_verifier)), 43 characters")
		return
	}
	scopes, bad := parseScopes(q.Get("scope"))
	if bad != "" {
		fail("invalid_scope", fmt.Sprintf("unknown scope %q (the sandbox grants %s)", bad, strings.Join(AllScopes, ", ")))
		return
	}
	if q.Get("deny") != "" {
		fail("access_denied", "the user declined")
		return
	}
	handle := q.Get("account")
	if handle == "" {
		handle = q.Get("login_hint")
	}
	if handle == "" {
		h.showChooser(rw, r, q, clientID, scopes)
		return
	}
	acct, err := h.world.Account(r.Context(), handle)
	if errs.Is(err, errs.NotFound) {
		fail("access_denied", fmt.Sprintf("no sandbox account @%s", strings.TrimPrefix(handle, "@")))
		return
	}
	if err != nil {
		h.internal(rw, r, err)
		return
	}
	code, err := h.world.issueCode(r.Context(), authorization{AccountID: acct.ID, ClientID: clientID,
		RedirectURI: redirectURI, CodeChallenge: challenge, Scopes: scopes})
	if err != nil {
		h.internal(rw, r, err)
		return
	}
	v := ru.Query()
	v.Set("code", code)
	v.Set("state", state)
	u := *ru
	u.RawQuery = v.Encode()
	http.Redirect(rw, r, u.String(), http.StatusFound)
}

func (h *Handler) showChooser(rw http.ResponseWriter, r *http.Request, q url.Values, clientID string, scopes []string) {
	accounts, err := h.world.Accounts(r.Context(), 100)
	if err != nil {
		h.internal(rw, r, err)
		return
	}
	var hidden []hiddenField
	for k, vs := range q {
		if k == "account" || k == "login_hint" || k == "deny" {
			continue
		}
		for _, v := range vs {
			hidden = append(hidden, hiddenField{k, v})
		}
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	err = chooser.Execute(rw, map[string]any{"ClientID": clientID, "Scope": strings.Join(scopes, ", "),
		"Hidden": hidden, "Accounts": accounts})
	if err != nil {
		h.log.ErrorContext(r.Context(), "sandbox: render account chooser", "err", err)
	}
}

// parseScopes splits a space- or comma-separated scope list; empty means
// every scope. It returns the first unknown scope as bad.
func parseScopes(s string) (scopes []string, bad string) {
	fields := strings.FieldsFunc(s, func(c rune) bool { return c == ' ' || c == ',' })
	if len(fields) == 0 {
		return append([]string(nil), AllScopes...), ""
	}
	seen := map[string]bool{}
	for _, f := range fields {
		known := false
		for _, a := range AllScopes {
			known = known || f == a
		}
		if !known {
			return nil, f
		}
		if !seen[f] {
			seen[f] = true
			scopes = append(scopes, f)
		}
	}
	return scopes, ""
}

// tokenResponse is the token endpoint's success body (RFC 6749 §5.1, plus
// refresh_expires_in as TikTok sends and the account id as TikTok's open_id).
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int64  `json:"refresh_expires_in"`
	Scope            string `json:"scope"`
	AccountID        string `json:"account_id"`
}

type oauthErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (h *Handler) token(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Cache-Control", "no-store")
	rw.Header().Set("Pragma", "no-cache")
	reject := func(status int, e *oauthError) {
		writeJSON(rw, status, oauthErrorBody{Error: e.Code, Description: e.Description})
	}
	r.Body = http.MaxBytesReader(rw, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		reject(http.StatusBadRequest, &oauthError{"invalid_request", "the body must be an application/x-www-form-urlencoded form"})
		return
	}
	f := r.PostForm
	clientID := f.Get("client_id")
	if clientID == "" {
		reject(http.StatusBadRequest, &oauthError{"invalid_request", "client_id is required"})
		return
	}
	var ts tokenSet
	var err error
	switch gt := f.Get("grant_type"); gt {
	case "authorization_code":
		for _, p := range []string{"code", "redirect_uri", "code_verifier"} {
			if f.Get(p) == "" {
				reject(http.StatusBadRequest, &oauthError{"invalid_request", p + " is required"})
				return
			}
		}
		ts, err = h.world.exchangeCode(r.Context(), clientID, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
	case "refresh_token":
		if f.Get("refresh_token") == "" {
			reject(http.StatusBadRequest, &oauthError{"invalid_request", "refresh_token is required"})
			return
		}
		ts, err = h.world.refresh(r.Context(), clientID, f.Get("refresh_token"))
	case "":
		reject(http.StatusBadRequest, &oauthError{"invalid_request", "grant_type is required"})
		return
	default:
		reject(http.StatusBadRequest, &oauthError{"unsupported_grant_type", fmt.Sprintf("grant_type %q is not supported", gt)})
		return
	}
	var oe *oauthError
	if errors.As(err, &oe) {
		reject(http.StatusBadRequest, oe)
		return
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "sandbox: token endpoint", "err", err)
		reject(http.StatusInternalServerError, &oauthError{"server_error", "internal error"})
		return
	}
	writeJSON(rw, http.StatusOK, tokenResponse{
		AccessToken: ts.AccessToken, TokenType: "Bearer", ExpiresIn: int64(ts.AccessTTL / time.Second),
		RefreshToken: ts.RefreshToken, RefreshExpiresIn: int64(ts.RefreshTTL / time.Second),
		Scope: strings.Join(ts.Scopes, " "), AccountID: ts.AccountID,
	})
}

// --- API -----------------------------------------------------------------

type sessionKey struct{}

// api wraps an API endpoint: bearer authentication, then the rate-limit
// switch, then the scope check.
func (h *Handler) api(scope string, next http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(tok) == "" {
			rw.Header().Set("WWW-Authenticate", `Bearer realm="sandbox"`)
			apiError(rw, http.StatusUnauthorized, "invalid_token", "an Authorization: Bearer access token is required")
			return
		}
		s, until, reason, err := h.world.authenticate(r.Context(), strings.TrimSpace(tok))
		if errors.Is(err, errInvalidToken) {
			rw.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="sandbox", error="invalid_token", error_description=%q`, err.Error()))
			apiError(rw, http.StatusUnauthorized, "invalid_token", err.Error())
			return
		}
		if err != nil {
			h.internal(rw, r, err)
			return
		}
		if !until.IsZero() {
			secs := int64((until.Sub(h.world.clock.Now()) + time.Second - 1) / time.Second)
			secs = max(secs, 1)
			if reason == "" {
				reason = "too many requests"
			}
			rw.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
			var b apiErrorBody
			b.Error.Code, b.Error.Message, b.Error.RetryAfter = "rate_limited", reason, secs
			writeJSON(rw, http.StatusTooManyRequests, b)
			return
		}
		if !s.has(scope) {
			rw.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="sandbox", error="insufficient_scope", scope=%q`, scope))
			apiError(rw, http.StatusForbidden, "insufficient_scope", fmt.Sprintf("this call needs the %q scope", scope))
			return
		}
		next(rw, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
	}
}

func sessionOf(r *http.Request) session { s, _ := r.Context().Value(sessionKey{}).(session); return s }

// meResponse is GET /api/me's body.
type meResponse struct {
	ID         string         `json:"id"`
	Handle     string         `json:"handle"`
	Followers  platform.Count `json:"followers"` // null while hidden
	MediaCount int64          `json:"media_count"`
}

func (h *Handler) me(rw http.ResponseWriter, r *http.Request) {
	a, err := h.world.Account(r.Context(), sessionOf(r).AccountID)
	if err != nil {
		h.internal(rw, r, err) // tokens reference their account: it cannot vanish
		return
	}
	var n int64
	if err := h.world.db.Read().QueryRowContext(r.Context(),
		`SELECT COUNT(*) FROM sandbox_posts WHERE account_id = $1 AND deleted_at = 0`, a.ID).Scan(&n); err != nil {
		h.internal(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, meResponse{ID: a.ID, Handle: a.Handle, Followers: a.Followers, MediaCount: n})
}

// mediaResponse is the body of the media endpoints.
type mediaResponse struct {
	ID          string    `json:"id"`
	AccountID   string    `json:"account_id"`
	Handle      string    `json:"handle"`
	Permalink   string    `json:"permalink"`
	Caption     string    `json:"caption"`
	Type        string    `json:"type"`
	PublishedAt time.Time `json:"published_at"`
}

func (h *Handler) writeMedia(rw http.ResponseWriter, r *http.Request, p Post, err error) {
	if errs.Is(err, errs.NotFound) || (err == nil && !p.DeletedAt.IsZero()) {
		apiError(rw, http.StatusNotFound, "not_found", "no such media")
		return
	}
	if err != nil {
		h.internal(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, mediaResponse{ID: p.ID, AccountID: p.AccountID, Handle: p.Handle,
		Permalink: p.Permalink, Caption: p.Caption, Type: p.Type, PublishedAt: p.PublishedAt})
}

func (h *Handler) mediaByID(rw http.ResponseWriter, r *http.Request) {
	p, err := h.world.Post(r.Context(), r.PathValue("id"))
	h.writeMedia(rw, r, p, err)
}

func (h *Handler) mediaByPermalink(rw http.ResponseWriter, r *http.Request) {
	link := r.URL.Query().Get("permalink")
	if link == "" {
		apiError(rw, http.StatusBadRequest, "invalid_request", "permalink is required (or use /api/media/{id})")
		return
	}
	p, err := h.world.PostByPermalink(r.Context(), link)
	h.writeMedia(rw, r, p, err)
}

// countsRequest is POST /api/media/counts's body.
type countsRequest struct {
	IDs []string `json:"ids"`
}

// countsItem is one post's counters; a metric the network does not report
// for the post is null. The counters are plain optional numbers on the
// wire (encoding/json handles *int64 on its fast path; platform.Count's own
// methods cost a call and a re-scan per value).
type countsItem struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Views     *int64 `json:"views"`
	Likes     *int64 `json:"likes"`
	Comments  *int64 `json:"comments"`
	Shares    *int64 `json:"shares"`
	Saves     *int64 `json:"saves"`
}

// counts returns the item's counters; a negative one is an error.
func (it countsItem) counts() (platform.Counts, error) {
	var c [5]platform.Count
	for i, v := range [5]*int64{it.Views, it.Likes, it.Comments, it.Shares, it.Saves} {
		if v == nil {
			continue
		}
		if *v < 0 {
			return platform.Counts{}, fmt.Errorf("media %s: %s is negative (%d)", it.ID, platform.Metrics[i], *v)
		}
		c[i] = platform.Known(*v)
	}
	return platform.Counts{Views: c[0], Likes: c[1], Comments: c[2], Shares: c[3], Saves: c[4]}, nil
}

// countsResponse lists the counters of the requested posts that exist, in
// request order; unknown and deleted ids are left out.
type countsResponse struct {
	Data []countsItem `json:"data"`
}

func (h *Handler) counts(rw http.ResponseWriter, r *http.Request) {
	var req countsRequest
	dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		apiError(rw, http.StatusBadRequest, "invalid_request", "the body must be {\"ids\":[…]}: "+err.Error())
		return
	}
	ids := dedupe(req.IDs)
	if len(ids) == 0 {
		apiError(rw, http.StatusBadRequest, "invalid_request", "ids must name at least one media item")
		return
	}
	if len(ids) > MaxCountsIDs {
		apiError(rw, http.StatusBadRequest, "invalid_request", fmt.Sprintf("at most %d ids per request, got %d", MaxCountsIDs, len(ids)))
		return
	}
	found, err := h.world.liveCounts(r.Context(), ids)
	if err != nil {
		h.internal(rw, r, err)
		return
	}
	resp := countsResponse{Data: make([]countsItem, 0, len(found))}
	for _, id := range ids {
		if it, ok := found[id]; ok {
			resp.Data = append(resp.Data, it)
		}
	}
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(append(appendCounts(make([]byte, 0, 160*len(resp.Data)+16), resp), '\n'))
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// DefaultRecentMedia is how many posts GET /api/me/media returns without a limit.
const DefaultRecentMedia = 12

// recentItem is one post of GET /api/me/media: the post and its counters.
type recentItem struct {
	mediaResponse
	Counts platform.Counts `json:"counts"`
}

// recentResponse is GET /api/me/media's body, newest post first.
type recentResponse struct {
	Data []recentItem `json:"data"`
}

// recentMedia lists the token's account's newest live posts with their
// counters. Counters are insights, so the token needs that scope as well.
func (h *Handler) recentMedia(rw http.ResponseWriter, r *http.Request) {
	s := sessionOf(r)
	if !s.has(ScopeInsights) {
		rw.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="sandbox", error="insufficient_scope", scope=%q`, ScopeInsights))
		apiError(rw, http.StatusForbidden, "insufficient_scope", fmt.Sprintf("this call needs the %q scope", ScopeInsights))
		return
	}
	limit := DefaultRecentMedia
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > platform.MaxRecentMedia {
			apiError(rw, http.StatusBadRequest, "invalid_request", fmt.Sprintf("limit must be an integer from 1 to %d", platform.MaxRecentMedia))
			return
		}
		limit = n
	}
	rows, err := h.world.db.Read().QueryContext(r.Context(), `SELECT `+postCols+postFrom+`WHERE p.account_id = $1 AND p.deleted_at = 0
		ORDER BY p.published_at DESC, p.id DESC LIMIT $2`, s.AccountID, limit)
	if err != nil {
		h.internal(rw, r, err)
		return
	}
	defer rows.Close()
	resp := recentResponse{Data: []recentItem{}}
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			h.internal(rw, r, err)
			return
		}
		resp.Data = append(resp.Data, recentItem{mediaResponse: mediaResponse{ID: p.ID, AccountID: p.AccountID, Handle: p.Handle,
			Permalink: p.Permalink, Caption: p.Caption, Type: p.Type, PublishedAt: p.PublishedAt}, Counts: p.Counts})
	}
	if err := rows.Err(); err != nil {
		h.internal(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, resp)
}
