// Package api is payper's HTTP JSON API, version 1: decode the request,
// authenticate, call the domain, encode the answer. Errors are always
// {"error":{"code","message","field"}} with the status the error's kind
// implies; internal errors are logged and shown only as "internal error".
package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/report"
	"github.com/payper/payper/internal/store"
)

//go:embed openapi.json
var openapiDoc []byte

// Deps are the services the API calls.
type Deps struct {
	DB        *store.DB
	Identity  *identity.Service
	Campaigns *campaign.Service
	Ledger    *ledger.Ledger
	Creators  *creator.Service
	Market    *market.Service
	Engage    *engage.Service
	// Links serves tracked links and their redirects.
	Links *links.Service
	// Orders takes in store webhooks and conversions.
	Orders *orders.Service
	// Attrib makes discount codes and lists conversions.
	Attrib *attrib.Service
	// Report builds reports, imports ad results and runs the optimize loop.
	Report *report.Service
	// Payouts requests, sends and settles creator payouts.
	Payouts *payout.Service
	// Outbox is the mail outbox the operator reads (GET /v1/admin/outbox).
	Outbox *mail.Outbox
	// Accounts holds the users and the operator's brand-approval setting
	// (GET/PUT /v1/admin/settings, /v1/admin/brand_signups).
	Accounts *account.Service
	// EngageTick runs one engagement tick through the job queue and waits for it.
	EngageTick func(ctx context.Context) error
	// ReadyChecks are asked by /readyz after the database ping; any error
	// makes the server not ready, named by the check.
	ReadyChecks []ReadyCheck
	// MetricsToken, if set, is a bearer token that may read /metrics
	// besides admin keys (for a Prometheus scrape config).
	MetricsToken string
	Log          *slog.Logger
	Version      string
}

// ReadyCheck is one component's readiness: Check returns nil when the
// component can do its work, or an error saying why not.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Server serves the API.
type Server struct {
	Deps
	mux      *http.ServeMux
	registry *prometheus.Registry
	// reqPrefix and reqSeq make request ids.
	reqPrefix string
	reqSeq    atomic.Uint64
	// The redirect's metric children (redirectFast).
	redirectOnce sync.Once
	redirectObs  prometheus.Observer
	redirect302  prometheus.Counter
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
}

// auth says who may call a route.
type auth int

const (
	public auth = iota // no key needed
	anyKey             // any valid key; the handler checks the role
)

type handler func(w http.ResponseWriter, r *http.Request, p identity.Principal) error

// Route is one documented endpoint.
type Route struct {
	Method  string
	Pattern string
	auth    auth
	h       handler
}

// New builds the server and registers every route.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	s := &Server{Deps: d, mux: http.NewServeMux(), registry: prometheus.NewRegistry(), reqPrefix: id.Secret(5) + "-"}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "payper_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "payper_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	s.registry.MustRegister(s.requests, s.duration, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, rt := range s.Routes() {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, "", s.Log, errs.NotFoundf("no route %s %s", r.Method, r.URL.Path))
	})
	return s
}

// Routes lists every endpoint; the OpenAPI test checks it against openapi.json.
// Each area of the API keeps its routes in its own file.
func (s *Server) Routes() []Route {
	return slices.Concat(s.coreRoutes(), s.lifecycleRoutes(), s.creatorRoutes(), s.marketRoutes(), s.engageRoutes(), s.linksRoutes(), s.ordersRoutes(), s.attribRoutes(), s.reportRoutes(), s.payoutRoutes(), s.keyRoutes(), s.outboxRoutes(), s.evidenceRoutes(), s.fraudRoutes(), s.adminAccountRoutes())
}

func (s *Server) coreRoutes() []Route {
	return []Route{
		{"GET", "/healthz", public, s.healthz},
		{"GET", "/readyz", public, s.readyz},
		{"GET", "/metrics", public, s.metrics},
		{"GET", "/openapi.json", public, s.openapi},
		{"GET", "/v1/me", anyKey, s.me},
		{"POST", "/v1/brands", anyKey, s.createBrand},
		{"GET", "/v1/brands/{id}", anyKey, s.getBrand},
		{"POST", "/v1/creators", anyKey, s.createCreator},
		{"GET", "/v1/creators/{id}", anyKey, s.getCreator},
		{"GET", "/v1/creators/{id}/balances", anyKey, s.creatorBalances},
		{"POST", "/v1/campaigns", anyKey, s.createCampaign},
		{"GET", "/v1/campaigns", anyKey, s.listCampaigns},
		{"GET", "/v1/campaigns/{id}", anyKey, s.getCampaign},
		{"PUT", "/v1/campaigns/{id}/setup", anyKey, s.configureCampaign},
		{"POST", "/v1/campaigns/{id}/fund", anyKey, s.fundCampaign},
		{"GET", "/v1/campaigns/{id}/money", anyKey, s.campaignMoney},
		{"GET", "/v1/ledger/transactions", anyKey, s.listTransactions},
	}
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.redirectFast(w, r) {
		return
	}
	s.mux.ServeHTTP(w, r)
}

// redirectMetrics counts a redirect served by redirectFast under the same
// route label as the mux's, with children looked up once.
func (s *Server) redirectMetrics(status int, took time.Duration) {
	s.redirectOnce.Do(func() {
		label := "GET " + links.RedirectPath + "{slug}"
		s.redirectObs = s.duration.WithLabelValues(label)
		s.redirect302 = s.requests.WithLabelValues(label, http.MethodGet, "302")
	})
	if status == http.StatusFound {
		s.redirect302.Inc()
	} else {
		s.requests.WithLabelValues("GET "+links.RedirectPath+"{slug}", http.MethodGet, strconv.Itoa(status)).Inc()
	}
	s.redirectObs.Observe(took.Seconds())
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (s *Server) wrap(rt Route) http.Handler {
	label := rt.Method + " " + rt.Pattern
	// The route's metric children are looked up once, not per request (the
	// redirect is the hot path).
	observe := s.duration.WithLabelValues(label)
	var counters sync.Map // status → prometheus.Counter
	count := func(status int) prometheus.Counter {
		if c, ok := counters.Load(status); ok {
			return c.(prometheus.Counter)
		}
		c, _ := counters.LoadOrStore(status, s.requests.WithLabelValues(label, rt.Method, strconv.Itoa(status)))
		return c.(prometheus.Counter)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		reqID := r.Header.Get("X-Request-Id")
		if reqID == "" || len(reqID) > 64 {
			reqID = s.newRequestID()
		}
		sw.Header()["X-Request-Id"] = []string{reqID}
		err := s.serve(rt, sw, r)
		if err != nil {
			writeError(sw, r, reqID, s.Log, err)
		}
		count(sw.status).Inc()
		observe.Observe(time.Since(start).Seconds())
	})
}

// newRequestID returns a request id unique to this process's life: a random
// prefix chosen at start and a counter.
func (s *Server) newRequestID() string {
	return s.reqPrefix + strconv.FormatUint(s.reqSeq.Add(1), 36)
}

func (s *Server) serve(rt Route, w http.ResponseWriter, r *http.Request) error {
	var p identity.Principal
	if err := checkQuery(r); err != nil {
		return err
	}
	if rt.auth != public {
		token, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="payper"`)
			return identity.ErrUnauthenticated
		}
		var err error
		if p, err = s.Identity.Authenticate(r.Context(), token); err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="payper", error="invalid_token"`)
			return err
		}
	}
	if err := checkPath(rt.Pattern, r); err != nil {
		return err
	}
	return rt.h(w, r, p)
}

// payperIDs are the path wildcards that always hold an id payper made
// ({order_id} is the store's own order id, any text).
var payperIDs = map[string]bool{"id": true, "plan_id": true, "store_id": true}

// checkPath answers 404, before any handler or SQL runs, for a path value
// that cannot name anything: one with control characters or bad UTF-8, one
// over 128 bytes, or one of payperIDs that is not shaped like payper's ids
// (a lower-case prefix, "_", 26 base32hex characters).
func checkPath(pattern string, r *http.Request) error {
	for rest := pattern; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil
		}
		name := strings.TrimSuffix(rest[i+1:i+j], "...")
		rest = rest[i+j+1:]
		v := r.PathValue(name)
		if len(v) > 128 || errs.BadText(name, v, false) != nil ||
			(payperIDs[name] && !idShaped(v)) {
			return errs.NotFoundf("no %s %q here", name, v)
		}
	}
}

// idShaped reports whether s has the shape of an id made by package id.
func idShaped(s string) bool {
	p, rest, ok := strings.Cut(s, "_")
	if !ok || len(p) < 2 || len(p) > 8 || len(rest) != 26 {
		return false
	}
	for _, c := range []byte(p) {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	for _, c := range []byte(rest) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'v') {
			return false
		}
	}
	return true
}

// checkQuery refuses a query parameter whose name or value has control
// characters or bad UTF-8: 400 invalid_text naming the parameter.
func checkQuery(r *http.Request) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	for k, vs := range r.URL.Query() {
		if err := errs.BadText("query parameter", k, false); err != nil {
			return err
		}
		for _, v := range vs {
			if err := errs.BadText(k, v, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", false
	}
	return strings.TrimSpace(token), true
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	notReady := func(msg string) error {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		return writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errorDetail{Code: "not_ready", Message: msg}})
	}
	if err := s.DB.Ping(ctx); err != nil {
		s.Log.Warn("readiness check failed", "err", err)
		return notReady("database unreachable")
	}
	// A database that answers may still refuse writes (a full disk, a
	// read-only standby): a server that cannot take money is not ready.
	if err := s.DB.CheckWritable(ctx); err != nil {
		s.Log.Warn("readiness check failed", "check", "database writes", "err", err)
		msg := "database cannot take writes (the server log says why)"
		if errors.Is(err, syscall.ENOSPC) || store.IsUnavailable(err) && strings.Contains(err.Error(), "full") {
			msg = "database cannot take writes: disk full"
		}
		return notReady(msg)
	}
	for _, c := range s.ReadyChecks {
		if err := c.Check(ctx); err != nil {
			s.Log.Warn("readiness check failed", "check", c.Name, "err", err)
			return notReady(c.Name + ": " + err.Error())
		}
	}
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "database": string(s.DB.Dialect())})
}

// metrics serves the Prometheus metrics to an admin key or the metrics
// token: they show money totals and activity no tenant may read.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
	token, ok := bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="payper"`)
		return identity.ErrUnauthenticated
	}
	if s.MetricsToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.MetricsToken)) != 1 {
		p, err := s.Identity.Authenticate(r.Context(), token)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="payper", error="invalid_token"`)
			return err
		}
		if !p.IsAdmin() {
			return errs.E(errs.Forbidden, "forbidden", "metrics need an admin key or the metrics token")
		}
	}
	s.MetricsHandler().ServeHTTP(w, r)
	return nil
}

// MetricsHandler serves the metrics without asking for a key, for a
// listener of their own (serve --metrics-addr) that only scrapers reach.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openapiDoc)
	return err
}

// AdminOnly wraps h, a handler mounted beside the API (the sandbox driver),
// so that only requests bearing an admin key reach it; everyone else gets the
// API's 401 or 403 error. label names it in the request metrics.
func (s *Server) AdminOnly(label string, h http.Handler) http.Handler {
	return s.wrap(Route{Method: "ANY", Pattern: label, auth: anyKey,
		h: func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
			if !p.IsAdmin() {
				return errAdminOnly
			}
			h.ServeHTTP(w, r)
			return nil
		}})
}

// Registry returns the server's Prometheus registry, for other components'
// metrics.
func (s *Server) Registry() *prometheus.Registry { return s.registry }
