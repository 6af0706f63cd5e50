// Package shopify creates creators' discount codes in a Shopify store through
// the GraphQL Admin API (the REST price_rules API is legacy and not used).
package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/payper/payper/internal/commerce"
)

// DefaultAPIVersion is the Admin API version every request names unless
// Client.APIVersion overrides it: 2026-10, the newest stable version on
// 2026-12-07 (released 2026-10-01; Shopify's 2026-10 release notes,
// https://shopify.dev/changelog/release-notes/2026-10, give it as accessible
// until 2027-10-16 15:00 UTC; 2027-01 is the release candidate).
//
// Shopify supports each stable version for at least 12 months and, once a
// version is no longer accessible, silently answers with the oldest
// accessible one ("falls forward"), naming the version used in the
// X-Shopify-API-Version response header
// (https://shopify.dev/docs/api/usage/versioning). The client logs a
// warning when that header differs from the version it asked for. To move:
// read the release notes of every version between this one and the target
// for changes to discountCodeBasicCreate and DiscountCodeBasicInput, change
// this constant, and run this package's tests (the Fake serves the versions
// accessible on its clock; see Fake.SetNow).
const DefaultAPIVersion = "2026-10"

// VersionHeader is the response header in which Shopify names the API
// version that served a request.
const VersionHeader = "X-Shopify-API-Version"

// MaxRetries is how many times a throttled request is retried before the
// client gives up with commerce.ErrThrottled.
const MaxRetries = 3

const maxBody = 4 << 20

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// Client talks to one shop's GraphQL Admin API. The zero value is not usable:
// Shop (or BaseURL) and Token are required. A Client is safe for concurrent
// use once its fields are set.
type Client struct {
	Shop       string       // shop domain, e.g. glow.myshopify.com
	Token      string       // Admin API access token (shpat_…)
	APIVersion string       // default DefaultAPIVersion when empty
	BaseURL    string       // default "https://"+Shop; tests point it at the fake
	HTTP       *http.Client // default: a client with a 30 s timeout
	// Sleep waits before a retry; default commerce.SleepContext. It must
	// return an error when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
	// Log receives a warning when Shopify answers with another API version
	// than the one requested; default slog.Default().
	Log *slog.Logger
}

var _ commerce.CodeCreator = (*Client)(nil)

const createMutation = `mutation discountCodeBasicCreate($basicCodeDiscount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $basicCodeDiscount) {
    codeDiscountNode { id }
    userErrors { field code message }
  }
}`

// CreateCode creates d as a basic code discount on all items for all
// customers. It returns an error if d is invalid or the client is
// misconfigured; one wrapping commerce.ErrCodeTaken if the shop already has
// the code (in any letter case); commerce.ErrUnauthorized on HTTP 401/403 or an
// ACCESS_DENIED error; commerce.ErrThrottled if still throttled after
// MaxRetries retries; otherwise an error carrying the HTTP status, GraphQL
// errors or user errors. Transport errors and 5xx are not retried, since the
// mutation may have run.
//
// Shopify applies a fixed amount in the shop's currency; d.Currency is not
// sent, so the caller must match it to the shop's currency.
func (c *Client) CreateCode(ctx context.Context, d commerce.Discount) (commerce.Created, error) {
	if err := d.Validate(); err != nil {
		return commerce.Created{}, fmt.Errorf("shopify: %w", err)
	}
	var data struct {
		DiscountCodeBasicCreate *struct {
			CodeDiscountNode *struct {
				ID string `json:"id"`
			} `json:"codeDiscountNode"`
			UserErrors []UserError `json:"userErrors"`
		} `json:"discountCodeBasicCreate"`
	}
	if err := c.do(ctx, createMutation, map[string]any{"basicCodeDiscount": basicCodeDiscount(d)}, &data); err != nil {
		return commerce.Created{}, err
	}
	res := data.DiscountCodeBasicCreate
	if res == nil {
		return commerce.Created{}, errors.New("shopify: discountCodeBasicCreate: response has no result")
	}
	if len(res.UserErrors) > 0 {
		for _, ue := range res.UserErrors {
			if ue.Code == "TAKEN" && (len(ue.Field) == 0 || ue.Field[len(ue.Field)-1] == "code") {
				return commerce.Created{}, fmt.Errorf("shopify: code %q: %s: %w", d.Code, ue.Message, commerce.ErrCodeTaken)
			}
		}
		return commerce.Created{}, fmt.Errorf("shopify: discountCodeBasicCreate: %w", userErrors(res.UserErrors))
	}
	if res.CodeDiscountNode == nil || res.CodeDiscountNode.ID == "" {
		return commerce.Created{}, errors.New("shopify: discountCodeBasicCreate: response has neither a discount id nor user errors")
	}
	return commerce.Created{ExternalID: res.CodeDiscountNode.ID}, nil
}

// basicCodeDiscount builds the DiscountCodeBasicInput for d. Amounts are JSON
// numbers or strings formatted from integers, never floats.
func basicCodeDiscount(d commerce.Discount) map[string]any {
	var value map[string]any
	if d.PercentBps > 0 {
		value = map[string]any{"percentage": json.Number(commerce.PercentFraction(d.PercentBps))}
	} else {
		value = map[string]any{"discountAmount": map[string]any{
			"amount":            commerce.AmountDecimal(d.AmountOff),
			"appliesOnEachItem": false,
		}}
	}
	in := map[string]any{
		"title":             d.Title,
		"code":              d.Code,
		"startsAt":          d.StartsAt.UTC().Format(time.RFC3339),
		"customerSelection": map[string]any{"all": true},
		"customerGets": map[string]any{
			"value": value,
			"items": map[string]any{"all": true},
		},
		"appliesOncePerCustomer": d.OncePerCustomer,
	}
	if !d.EndsAt.IsZero() {
		in["endsAt"] = d.EndsAt.UTC().Format(time.RFC3339)
	}
	if d.UsageLimit > 0 {
		in["usageLimit"] = d.UsageLimit
	}
	return in
}

// UserError is one entry of a mutation's userErrors.
type UserError struct {
	Field   []string `json:"field"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
}

type userErrors []UserError

func (ue userErrors) Error() string {
	parts := make([]string, len(ue))
	for i, e := range ue {
		parts[i] = fmt.Sprintf("%s: %s (%s)", strings.Join(e.Field, "."), e.Message, e.Code)
	}
	return "user errors: " + strings.Join(parts, "; ")
}

// Cost is the extensions.cost object of every GraphQL Admin API response.
type Cost struct {
	RequestedQueryCost float64        `json:"requestedQueryCost"`
	ActualQueryCost    float64        `json:"actualQueryCost"`
	ThrottleStatus     ThrottleStatus `json:"throttleStatus"`
}

// ThrottleStatus is the state of the shop's leaky bucket.
type ThrottleStatus struct {
	MaximumAvailable   float64 `json:"maximumAvailable"`
	CurrentlyAvailable float64 `json:"currentlyAvailable"`
	RestoreRate        float64 `json:"restoreRate"`
}

// wait is how long until the bucket holds the requested cost again, at
// least 100 ms and at most commerce.MaxRetryWait; 1 s if the cost fields are
// missing.
func (c Cost) wait() time.Duration {
	rate := c.ThrottleStatus.RestoreRate
	if rate <= 0 || c.RequestedQueryCost <= 0 {
		return time.Second
	}
	secs := (c.RequestedQueryCost - c.ThrottleStatus.CurrentlyAvailable) / rate
	if secs >= commerce.MaxRetryWait.Seconds() {
		return commerce.MaxRetryWait
	}
	return max(time.Duration(secs*float64(time.Second)), 100*time.Millisecond)
}

type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

type gqlResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     json.RawMessage `json:"errors"`
	Extensions struct {
		Cost *Cost `json:"cost"`
	} `json:"extensions"`
}

// do posts one GraphQL operation, retrying throttled attempts, and decodes
// data into out.
func (c *Client) do(ctx context.Context, query string, variables map[string]any, out any) error {
	endpoint, version, err := c.endpoint()
	if err != nil {
		return err
	}
	if c.Token == "" {
		return errors.New("shopify: client has no access token")
	}
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		return fmt.Errorf("shopify: encoding request: %w", err)
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = commerce.SleepContext
	}
	for attempt := 0; ; attempt++ {
		wait, err := c.attempt(ctx, endpoint, version, body, out)
		if wait == 0 {
			return err
		}
		if attempt == MaxRetries {
			return fmt.Errorf("shopify: after %d retries: %w", MaxRetries, commerce.ErrThrottled)
		}
		if err := sleep(ctx, wait); err != nil {
			return fmt.Errorf("shopify: waiting out throttling: %w", err)
		}
	}
}

// attempt makes one request. A positive wait means the request was throttled
// and may be retried after that long.
func (c *Client) attempt(ctx context.Context, endpoint, version string, body []byte, out any) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("shopify: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Shopify-Access-Token", c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("shopify: %w", err)
	}
	defer resp.Body.Close()
	c.checkVersion(version, resp.Header.Get(VersionHeader))
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, fmt.Errorf("shopify: reading response (HTTP %d): %w", resp.StatusCode, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return 0, fmt.Errorf("shopify: HTTP %d: %s: %w", resp.StatusCode, snippet(raw), commerce.ErrUnauthorized)
	case resp.StatusCode == http.StatusTooManyRequests:
		wait, ok := commerce.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok || wait <= 0 {
			wait = time.Second
		}
		return wait, nil
	case resp.StatusCode != http.StatusOK:
		return 0, fmt.Errorf("shopify: HTTP %d: %s", resp.StatusCode, snippet(raw))
	}
	var r gqlResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return 0, fmt.Errorf("shopify: decoding response: %w", err)
	}
	if len(r.Errors) > 0 && string(r.Errors) != "null" {
		var errs []gqlError
		if err := json.Unmarshal(r.Errors, &errs); err != nil {
			// Some failures carry a string or an object instead of a list.
			return 0, fmt.Errorf("shopify: %s", snippet(r.Errors))
		}
		msgs := make([]string, 0, len(errs))
		throttled, denied := false, false
		for _, e := range errs {
			switch e.Extensions.Code {
			case "THROTTLED":
				throttled = true
			case "ACCESS_DENIED":
				denied = true
			}
			msgs = append(msgs, e.Message)
		}
		switch {
		case throttled:
			cost := Cost{}
			if r.Extensions.Cost != nil {
				cost = *r.Extensions.Cost
			}
			return cost.wait(), nil
		case denied:
			return 0, fmt.Errorf("shopify: %s: %w", strings.Join(msgs, "; "), commerce.ErrUnauthorized)
		case len(msgs) > 0:
			return 0, fmt.Errorf("shopify: GraphQL errors: %s", strings.Join(msgs, "; "))
		}
	}
	if len(r.Data) == 0 || string(r.Data) == "null" {
		return 0, errors.New("shopify: response has no data")
	}
	if err := json.Unmarshal(r.Data, out); err != nil {
		return 0, fmt.Errorf("shopify: decoding response data: %w", err)
	}
	return 0, nil
}

// checkVersion warns when Shopify served another API version than the one
// requested: the requested version is no longer accessible and the answer
// came from a schema the client was not written against.
func (c *Client) checkVersion(requested, served string) {
	if served == "" || served == requested {
		return
	}
	log := c.Log
	if log == nil {
		log = slog.Default()
	}
	log.Warn("shopify: Admin API version fell forward; move shopify.DefaultAPIVersion or Client.APIVersion",
		"shop", c.Shop, "requested", requested, "served", served)
}

// endpoint returns the GraphQL URL and the API version it names.
func (c *Client) endpoint() (string, string, error) {
	base := c.BaseURL
	if base == "" {
		if !validShop(c.Shop) {
			return "", "", fmt.Errorf("shopify: shop domain %q is not a host name like glow.myshopify.com", c.Shop)
		}
		base = "https://" + c.Shop
	}
	u, err := commerce.CheckBaseURL(base)
	if err != nil {
		return "", "", fmt.Errorf("shopify: %w", err)
	}
	version := c.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if !validVersion(version) {
		return "", "", fmt.Errorf("shopify: API version %q is not like %s", version, DefaultAPIVersion)
	}
	return u.String() + "/admin/api/" + version + "/graphql.json", version, nil
}

func validShop(s string) bool {
	if s == "" || len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") || !strings.Contains(s, ".") {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r == '.' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') {
			return false
		}
	}
	return true
}

func validVersion(v string) bool {
	if v == "unstable" {
		return true
	}
	if len(v) != 7 || v[4] != '-' {
		return false
	}
	for i, r := range v {
		if i != 4 && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
