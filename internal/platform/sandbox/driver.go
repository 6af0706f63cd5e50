package sandbox

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/platform"
)

// DriverHandler serves World's driving methods over HTTP, for a demo or a
// test that runs in another process than the payper server. It is not part
// of the simulated network's public API and has NO authentication of its
// own: mount it at Prefix+"/driver/" only behind operator (admin)
// authentication, and never on a server whose sandbox campaigns pay real
// money. Routes (all under Prefix+"/driver"):
//
//	POST   /accounts                        {"handle","followers"} → 201 account
//	GET    /accounts                        → {"data":[account…]}
//	GET    /accounts/{account}              account by id or handle
//	PUT    /accounts/{account}/followers    {"followers":n|null} (null hides the count)
//	POST   /accounts/{account}/posts        {"caption","type","published_at"?} → 201 post
//	GET    /accounts/{account}/posts        → {"data":[post…]}, newest first
//	POST   /accounts/{account}/expire-tokens → {"expired":n}
//	POST   /accounts/{account}/revoke-tokens → {"revoked":n}
//	GET    /posts/{id}                      post with its counters
//	POST   /posts/{id}/counts               {"views":n,"likes":-n,…} adds deltas
//	PATCH  /posts/{id}/counts               {"likes":n,"saves":null,…} sets the named counters
//	DELETE /posts/{id}                      → 204
//	PUT    /rate-limit                      {"account"?,"until"?|"seconds"?,"reason"?} → 204; no until/seconds lifts it
//
// and the cheats (cheat.go: fake engagement, bought followers, a click
// farm, self-purchases, an honest post going viral).
//
// Errors answer {"error":{"code","message","field"}} with 400, 404 or 409.
type DriverHandler struct {
	world *World
	log   *slog.Logger
	mux   *http.ServeMux
}

// NewDriverHandler returns the driver API of w, logging internal errors to
// log (slog.Default() when nil).
func NewDriverHandler(w *World, log *slog.Logger) *DriverHandler {
	if log == nil {
		log = slog.Default()
	}
	d := &DriverHandler{world: w, log: log, mux: http.NewServeMux()}
	p := Prefix + "/driver"
	d.mux.HandleFunc("POST "+p+"/accounts", d.createAccount)
	d.mux.HandleFunc("GET "+p+"/accounts", d.listAccounts)
	d.mux.HandleFunc("GET "+p+"/accounts/{account}", d.getAccount)
	d.mux.HandleFunc("PUT "+p+"/accounts/{account}/followers", d.setFollowers)
	d.mux.HandleFunc("POST "+p+"/accounts/{account}/posts", d.publish)
	d.mux.HandleFunc("GET "+p+"/accounts/{account}/posts", d.listPosts)
	d.mux.HandleFunc("POST "+p+"/accounts/{account}/expire-tokens", d.expireTokens)
	d.mux.HandleFunc("POST "+p+"/accounts/{account}/revoke-tokens", d.revokeTokens)
	d.mux.HandleFunc("GET "+p+"/posts/{id}", d.getPost)
	d.mux.HandleFunc("POST "+p+"/posts/{id}/counts", d.addCounts)
	d.mux.HandleFunc("PATCH "+p+"/posts/{id}/counts", d.setCounts)
	d.mux.HandleFunc("DELETE "+p+"/posts/{id}", d.deletePost)
	d.mux.HandleFunc("PUT "+p+"/rate-limit", d.setRateLimit)
	d.cheatRoutes(p)
	d.clockRoutes(p) // driver_clock.go: GET /clock, POST /clock/advance
	d.mux.HandleFunc(p+"/", func(rw http.ResponseWriter, r *http.Request) {
		apiError(rw, http.StatusNotFound, "not_found", "no such driver endpoint: "+r.Method+" "+r.URL.Path)
	})
	return d
}

// ServeHTTP routes r.
func (d *DriverHandler) ServeHTTP(rw http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(rw, r) }

var driverStatus = map[errs.Kind]int{
	errs.Invalid:  http.StatusBadRequest,
	errs.NotFound: http.StatusNotFound,
	errs.Conflict: http.StatusConflict,
}

func (d *DriverHandler) fail(rw http.ResponseWriter, r *http.Request, err error) {
	var e *errs.Error
	if errors.As(err, &e) {
		if status, ok := driverStatus[e.Kind]; ok {
			var b struct {
				Error struct {
					Code    string `json:"code"`
					Message string `json:"message"`
					Field   string `json:"field,omitempty"`
				} `json:"error"`
			}
			b.Error.Code, b.Error.Message, b.Error.Field = errs.CodeOf(e), e.Message, e.Field
			writeJSON(rw, status, b)
			return
		}
	}
	d.log.ErrorContext(r.Context(), "sandbox driver: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	apiError(rw, http.StatusInternalServerError, "internal_error", "internal error")
}

func decode(rw http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errs.Invalidf("", "invalid_json", "cannot read the request body: %v", err)
	}
	return nil
}

type list[T any] struct {
	Data []T `json:"data"`
}

func (d *DriverHandler) createAccount(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Handle    string `json:"handle"`
		Followers int64  `json:"followers"`
	}
	if err := decode(rw, r, &req); err != nil {
		d.fail(rw, r, err)
		return
	}
	a, err := d.world.CreateAccount(r.Context(), req.Handle, req.Followers)
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusCreated, a)
}

func (d *DriverHandler) listAccounts(rw http.ResponseWriter, r *http.Request) {
	as, err := d.world.Accounts(r.Context(), 1000)
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, list[Account]{Data: append([]Account{}, as...)})
}

func (d *DriverHandler) getAccount(rw http.ResponseWriter, r *http.Request) {
	a, err := d.world.Account(r.Context(), r.PathValue("account"))
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, a)
}

func (d *DriverHandler) setFollowers(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Followers json.RawMessage `json:"followers"`
	}
	if err := decode(rw, r, &req); err != nil {
		d.fail(rw, r, err)
		return
	}
	if len(req.Followers) == 0 {
		d.fail(rw, r, errs.Invalidf("followers", "required", "followers is required (a count, or null to hide it)"))
		return
	}
	var c platform.Count
	if err := json.Unmarshal(req.Followers, &c); err != nil {
		d.fail(rw, r, errs.Invalidf("followers", "invalid", "followers must be a non-negative integer or null"))
		return
	}
	a, err := d.world.SetFollowers(r.Context(), r.PathValue("account"), c)
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, a)
}

func (d *DriverHandler) publish(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Caption     string    `json:"caption"`
		Type        string    `json:"type"`
		PublishedAt time.Time `json:"published_at"`
	}
	if err := decode(rw, r, &req); err != nil {
		d.fail(rw, r, err)
		return
	}
	p, err := d.world.Publish(r.Context(), r.PathValue("account"), req.Caption, req.Type, req.PublishedAt)
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusCreated, p)
}

func (d *DriverHandler) listPosts(rw http.ResponseWriter, r *http.Request) {
	ps, err := d.world.Posts(r.Context(), r.PathValue("account"))
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, list[Post]{Data: append([]Post{}, ps...)})
}

func (d *DriverHandler) expireTokens(rw http.ResponseWriter, r *http.Request) {
	n, err := d.world.ExpireTokens(r.Context(), r.PathValue("account"))
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]int{"expired": n})
}

func (d *DriverHandler) revokeTokens(rw http.ResponseWriter, r *http.Request) {
	n, err := d.world.RevokeTokens(r.Context(), r.PathValue("account"))
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, map[string]int{"revoked": n})
}

func (d *DriverHandler) getPost(rw http.ResponseWriter, r *http.Request) {
	p, err := d.world.Post(r.Context(), r.PathValue("id"))
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, p)
}

func (d *DriverHandler) addCounts(rw http.ResponseWriter, r *http.Request) {
	var delta Delta
	if err := decode(rw, r, &delta); err != nil {
		d.fail(rw, r, err)
		return
	}
	p, err := d.world.AddCounts(r.Context(), r.PathValue("id"), delta)
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, p)
}

func (d *DriverHandler) setCounts(rw http.ResponseWriter, r *http.Request) {
	var raw map[string]platform.Count
	if err := decode(rw, r, &raw); err != nil {
		d.fail(rw, r, err)
		return
	}
	set := make(map[platform.Metric]platform.Count, len(raw))
	for k, v := range raw {
		set[platform.Metric(k)] = v
	}
	p, err := d.world.SetCounts(r.Context(), r.PathValue("id"), set)
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	writeJSON(rw, http.StatusOK, p)
}

func (d *DriverHandler) deletePost(rw http.ResponseWriter, r *http.Request) {
	if err := d.world.DeletePost(r.Context(), r.PathValue("id")); err != nil {
		d.fail(rw, r, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

// maxLimitSeconds bounds a rate limit set in seconds (a year).
const maxLimitSeconds = 366 * 24 * 3600

func (d *DriverHandler) setRateLimit(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		Account string    `json:"account"`
		Until   time.Time `json:"until"`
		Seconds int64     `json:"seconds"`
		Reason  string    `json:"reason"`
	}
	if err := decode(rw, r, &req); err != nil {
		d.fail(rw, r, err)
		return
	}
	if req.Seconds < 0 || req.Seconds > maxLimitSeconds || (req.Seconds > 0 && !req.Until.IsZero()) {
		d.fail(rw, r, errs.Invalidf("seconds", "invalid", "give either until or a number of seconds from 1 to %d", maxLimitSeconds))
		return
	}
	until := req.Until
	if req.Seconds > 0 {
		until = d.world.clock.Now().Add(time.Duration(req.Seconds) * time.Second)
	}
	if err := d.world.SetRateLimited(r.Context(), req.Account, until, req.Reason); err != nil {
		d.fail(rw, r, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}
