package shopify

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FakeCode is a discount code the Fake created, as received on the wire.
type FakeCode struct {
	ID                string // gid://shopify/DiscountCodeNode/N
	Code              string
	Title             string
	Percentage        string // the decimal as received, e.g. "0.15"; "" for a fixed amount
	Amount            string // the decimal as received, e.g. "12.50"; "" for a percentage
	AppliesOnEachItem bool
	UsageLimit        int // 0 = none sent
	OncePerCustomer   bool
	StartsAt          time.Time
	EndsAt            time.Time // zero = none sent
}

// Fake is an http.Handler answering like the GraphQL Admin API of one shop,
// for discountCodeBasicCreate only. Use it with httptest.NewServer and point
// Client.BaseURL at the server. It is safe for concurrent use.
//
// It serves the API versions Shopify would on its clock (FakeNow unless
// SetNow moves it) and falls forward like Shopify for any other; see
// ServeVersion.
type Fake struct {
	shop, token string

	mu       sync.Mutex
	now      time.Time
	codes    []FakeCode
	throttle int
	requests int
	served   []string
}

// FakeNow is the Fake's clock until SetNow moves it: the day
// DefaultAPIVersion was last checked against Shopify's release notes.
var FakeNow = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

// SetNow moves the clock by which the Fake decides which API versions are
// accessible.
func (f *Fake) SetNow(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
}

// ServedVersions returns, oldest first, the API version that served each
// request whose path named a well-formed version (what the Fake sent in
// the X-Shopify-API-Version header).
func (f *Fake) ServedVersions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.served...)
}

// ServeVersion returns the version Shopify serves at now for a request
// naming requested, as "About Shopify API versioning"
// (https://shopify.dev/docs/api/usage/versioning) describes it:
//   - stable versions are quarterly (YYYY-01, -04, -07, -10), released on
//     the first of the month at 17:00 UTC, and supported for at least 12
//     months; the 2026-10 release notes
//     (https://shopify.dev/changelog/release-notes/2026-10) give the end as
//     the 16th of the same month a year later at 15:00 UTC, which the Fake
//     applies to every version;
//   - the next quarter's version is the release candidate, and "unstable"
//     is always served;
//   - a request naming a version that is not accessible "falls forward" to
//     the oldest accessible stable version, with a normal answer; the
//     response's X-Shopify-API-Version header names the version used. The
//     page documents this for retired versions; the Fake treats a handle
//     that was never released (2026-05, 2031-01) the same way, which was
//     not verified against Shopify.
func ServeVersion(requested string, now time.Time) string {
	if requested == "unstable" {
		return requested
	}
	// Quarters from the one before last year's to next year's, oldest first.
	var oldest, newest, candidate string
	for y := now.Year() - 2; y <= now.Year()+1; y++ {
		for _, m := range []time.Month{1, 4, 7, 10} {
			released := time.Date(y, m, 1, 17, 0, 0, 0, time.UTC)
			until := time.Date(y+1, m, 16, 15, 0, 0, 0, time.UTC)
			handle := released.Format("2006-01")
			switch {
			case !now.Before(released) && now.Before(until):
				if oldest == "" {
					oldest = handle
				}
				newest = handle
			case now.Before(released) && candidate == "" && newest != "":
				candidate = handle
			}
		}
	}
	if quarterly(requested) && (requested == candidate || requested >= oldest && requested <= newest) {
		return requested
	}
	return oldest
}

func quarterly(v string) bool {
	if !validVersion(v) || v == "unstable" {
		return false
	}
	switch v[5:] {
	case "01", "04", "07", "10":
		return true
	}
	return false
}

// Cost values the Fake reports: a mutation costs fakeCost points out of a
// bucket of fakeBucket restored at fakeRestore points per second. A throttled
// answer reports an empty bucket, so the client should wait
// fakeCost/fakeRestore seconds (100 ms).
const (
	fakeCost    = 10
	fakeBucket  = 2000
	fakeRestore = 100
)

// NewFake returns a Fake for shop accepting only token.
func NewFake(shop, token string) *Fake {
	return &Fake{shop: shop, token: token, now: FakeNow}
}

// ThrottleNext makes the next n authenticated requests answer THROTTLED with
// an empty bucket.
func (f *Fake) ThrottleNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle = n
}

// Codes returns a copy of the codes created so far, oldest first.
func (f *Fake) Codes() []FakeCode {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]FakeCode(nil), f.codes...)
}

// Requests returns how many requests reached the handler.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// ServeHTTP answers one Admin API request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++

	version, ok := strings.CutPrefix(r.URL.Path, "/admin/api/")
	version, ok2 := strings.CutSuffix(version, "/graphql.json")
	if !ok || !ok2 || !validVersion(version) {
		writeJSON(w, http.StatusNotFound, map[string]any{"errors": "Not Found"})
		return
	}
	served := ServeVersion(version, f.now)
	f.served = append(f.served, served)
	w.Header().Set(VersionHeader, served)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"errors": "Method Not Allowed"})
		return
	}
	if r.Header.Get("X-Shopify-Access-Token") != f.token || f.token == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]any{
			"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)",
		})
		return
	}
	if f.throttle > 0 {
		f.throttle--
		writeJSON(w, http.StatusOK, map[string]any{
			"errors": []any{map[string]any{
				"message":    "Throttled",
				"extensions": map[string]any{"code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"},
			}},
			"extensions": cost(fakeCost, nil, 0),
		})
		return
	}

	var req struct {
		Query     string                     `json:"query"`
		Variables map[string]json.RawMessage `json:"variables"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || json.Unmarshal(body, &req) != nil || req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": map[string]any{"query": "Required parameter missing or invalid"}})
		return
	}
	if !strings.Contains(req.Query, "discountCodeBasicCreate") {
		f.graphQLError(w, "fake shopify: only discountCodeBasicCreate is supported", "UNSUPPORTED")
		return
	}
	in, msg := parseInput(req.Variables["basicCodeDiscount"])
	if msg != "" {
		f.graphQLError(w, "Variable $basicCodeDiscount of type DiscountCodeBasicInput! was provided invalid value: "+msg, "INVALID_VARIABLE")
		return
	}
	userErrs := in.validate()
	if len(userErrs) == 0 {
		for _, c := range f.codes {
			if strings.EqualFold(c.Code, in.Code) {
				userErrs = append(userErrs, UserError{
					Field:   []string{"basicCodeDiscount", "code"},
					Code:    "TAKEN",
					Message: "Code must be unique. Please try a different code.",
				})
				break
			}
		}
	}
	result := map[string]any{"codeDiscountNode": nil, "userErrors": []UserError{}}
	if len(userErrs) == 0 {
		in.ID = "gid://shopify/DiscountCodeNode/" + strconv.Itoa(1000+len(f.codes)+1)
		f.codes = append(f.codes, in.FakeCode)
		result["codeDiscountNode"] = map[string]any{"id": in.ID}
	} else {
		result["userErrors"] = userErrs
	}
	actual := float64(fakeCost)
	writeJSON(w, http.StatusOK, map[string]any{
		"data":       map[string]any{"discountCodeBasicCreate": result},
		"extensions": cost(fakeCost, &actual, fakeBucket-fakeCost),
	})
}

func (f *Fake) graphQLError(w http.ResponseWriter, msg, code string) {
	writeJSON(w, http.StatusOK, map[string]any{
		"errors":     []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code}}},
		"extensions": cost(1, nil, fakeBucket-1),
	})
}

func cost(requested int, actual *float64, available float64) map[string]any {
	return map[string]any{"cost": map[string]any{
		"requestedQueryCost": requested,
		"actualQueryCost":    actual,
		"throttleStatus": map[string]any{
			"maximumAvailable":   float64(fakeBucket),
			"currentlyAvailable": available,
			"restoreRate":        float64(fakeRestore),
		},
	}}
}

type fakeInput struct {
	FakeCode
	hasStart, hasValue, hasItems bool
	badDate                      string
	valueCount                   int
}

// parseInput decodes the variable like GraphQL input coercion would: a
// wrong JSON type is a top-level error (returned as msg); missing or
// out-of-range values are left for validate to report as user errors.
func parseInput(raw json.RawMessage) (in fakeInput, msg string) {
	var v struct {
		Title             *string             `json:"title"`
		Code              *string             `json:"code"`
		StartsAt          *string             `json:"startsAt"`
		EndsAt            *string             `json:"endsAt"`
		UsageLimit        *int                `json:"usageLimit"`
		OncePerCustomer   *bool               `json:"appliesOncePerCustomer"`
		CustomerSelection *struct{ All bool } `json:"customerSelection"`
		CustomerGets      *struct {
			Value *struct {
				Percentage     *json.Number `json:"percentage"`
				DiscountAmount *struct {
					Amount            json.RawMessage `json:"amount"`
					AppliesOnEachItem bool            `json:"appliesOnEachItem"`
				} `json:"discountAmount"`
			} `json:"value"`
			Items *struct {
				All bool `json:"all"`
			} `json:"items"`
		} `json:"customerGets"`
	}
	if len(raw) == 0 || string(raw) == "null" {
		return in, "Expected value to not be null"
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return in, err.Error()
	}
	if v.Title != nil {
		in.Title = *v.Title
	}
	if v.Code != nil {
		in.Code = *v.Code
	}
	parse := func(s *string, dst *time.Time, field string) bool {
		if s == nil {
			return false
		}
		t, err := time.Parse(time.RFC3339, *s)
		if err != nil {
			in.badDate = field
			return true
		}
		*dst = t.UTC()
		return true
	}
	in.hasStart = parse(v.StartsAt, &in.StartsAt, "startsAt")
	parse(v.EndsAt, &in.EndsAt, "endsAt")
	if v.UsageLimit != nil {
		in.UsageLimit = *v.UsageLimit
	}
	if v.OncePerCustomer != nil {
		in.OncePerCustomer = *v.OncePerCustomer
	}
	if g := v.CustomerGets; g != nil {
		in.hasItems = g.Items != nil && g.Items.All
		if val := g.Value; val != nil {
			in.hasValue = true
			if val.Percentage != nil {
				in.valueCount++
				in.Percentage = val.Percentage.String()
			}
			if a := val.DiscountAmount; a != nil {
				in.valueCount++
				// Decimal accepts a string or a number.
				var s string
				if json.Unmarshal(a.Amount, &s) != nil {
					s = string(a.Amount)
				}
				in.Amount = s
				in.AppliesOnEachItem = a.AppliesOnEachItem
			}
		}
	}
	return in, ""
}

func (in fakeInput) validate() []UserError {
	var errs []UserError
	add := func(field, code, msg string) {
		errs = append(errs, UserError{Field: []string{"basicCodeDiscount", field}, Code: code, Message: msg})
	}
	if strings.TrimSpace(in.Title) == "" {
		add("title", "BLANK", "Title can't be blank")
	}
	if strings.TrimSpace(in.Code) == "" {
		add("code", "BLANK", "Code can't be blank")
	}
	if !in.hasStart {
		add("startsAt", "BLANK", "Starts at can't be blank")
	}
	if in.badDate != "" {
		add(in.badDate, "INVALID", "Date is invalid")
	}
	if !in.EndsAt.IsZero() && !in.EndsAt.After(in.StartsAt) {
		add("endsAt", "INVALID", "Ends at needs to be after starts_at")
	}
	if in.UsageLimit < 0 {
		add("usageLimit", "GREATER_THAN", "Usage limit must be greater than 0")
	}
	if !in.hasItems {
		add("customerGets", "BLANK", "Items in customer gets can't be blank")
	}
	switch {
	case !in.hasValue || in.valueCount == 0:
		add("customerGets", "BLANK", "Value can't be blank")
	case in.valueCount > 1:
		add("customerGets", "INVALID", "Only one of percentage or discountAmount can be set")
	case in.Percentage != "":
		p, err := strconv.ParseFloat(in.Percentage, 64)
		if err != nil || p <= 0 || p > 1 {
			add("customerGets", "VALUE_OUTSIDE_RANGE", "Percentage must be between 0 and 1")
		}
	default:
		a, err := strconv.ParseFloat(in.Amount, 64)
		if err != nil || a <= 0 {
			add("customerGets", "GREATER_THAN", "Amount must be greater than 0")
		}
	}
	return errs
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client gone away is not the fake's problem
}
