// Package woocommerce creates creators' coupon codes in a WooCommerce store
// through the REST API v3 (/wp-json/wc/v3/).
package woocommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/commerce"
)

// MaxRetries is how many times a request answered 429 is retried before the
// client gives up with commerce.ErrThrottled.
const MaxRetries = 3

// maxFindPages bounds how many result pages FindCode reads.
const maxFindPages = 10

const maxBody = 4 << 20

// DateLayout is the layout of the date fields WooCommerce answers with (no
// zone; date_* in site time, date_*_gmt in UTC).
const DateLayout = "2006-01-02T15:04:05"

// instantLayout writes a UTC instant in the form WooCommerce reads with its
// offset (WC_Data::set_date_prop matches "…T15:04:05Z" or "±hh:mm"; see
// ReadDateExpires).
const instantLayout = "2006-01-02T15:04:05Z"

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

// Client talks to one WooCommerce site with a REST API key (read/write). The
// zero value is not usable: SiteURL, ConsumerKey and ConsumerSecret are
// required. A Client is safe for concurrent use once its fields are set.
type Client struct {
	// SiteURL is the WordPress site address, e.g. https://shop.example.com
	// or https://example.com/shop. It must be https, except for loopback
	// hosts (tests): credentials are sent with HTTP Basic auth.
	SiteURL        string
	ConsumerKey    string       // ck_…
	ConsumerSecret string       // cs_…
	HTTP           *http.Client // default: a client with a 30 s timeout
	// Sleep waits before a retry; default commerce.SleepContext. It must
	// return an error when ctx ends.
	Sleep func(ctx context.Context, d time.Duration) error
}

var _ commerce.CodeCreator = (*Client)(nil)

// APIError is an error answer of the WooCommerce REST API.
type APIError struct {
	Status  int    // HTTP status
	Code    string // e.g. "woocommerce_rest_coupon_code_already_exists"; "" if the body was not a WordPress error
	Message string
}

// Error returns the status, code and message.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("woocommerce: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("woocommerce: HTTP %d: %s: %s", e.Status, e.Code, e.Message)
}

// Unwrap maps the API error to commerce.ErrCodeTaken or
// commerce.ErrUnauthorized where it means one of those.
func (e *APIError) Unwrap() error {
	switch {
	case e.Code == "woocommerce_rest_coupon_code_already_exists":
		return commerce.ErrCodeTaken
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return commerce.ErrUnauthorized
	}
	return nil
}

type couponRequest struct {
	Code              string `json:"code"`
	DiscountType      string `json:"discount_type"`
	Amount            string `json:"amount"`
	UsageLimit        *int   `json:"usage_limit,omitempty"`
	UsageLimitPerUser *int   `json:"usage_limit_per_user,omitempty"`
	DateExpires       string `json:"date_expires,omitempty"`
	DateExpiresGMT    string `json:"date_expires_gmt,omitempty"`
	Description       string `json:"description"`
	IndividualUse     bool   `json:"individual_use"`
}

type coupon struct {
	ID   int64  `json:"id"`
	Code string `json:"code"`
}

// CreateCode creates d as a coupon for the whole cart ("percent" or
// "fixed_cart"), described by d.Title. It returns an error if d is invalid or
// the client is misconfigured; a *APIError wrapping commerce.ErrCodeTaken if
// the store already has the code (WooCommerce compares codes lower-cased) or
// commerce.ErrUnauthorized on 401/403; an error wrapping commerce.ErrThrottled
// if still answered 429 after MaxRetries retries; otherwise an error with the
// status and WooCommerce's code and message. Transport errors and 5xx are not
// retried, since the coupon may have been created.
//
// WooCommerce coupons have no start date and use the store's currency:
// d.StartsAt and d.Currency are not sent, so the caller creates the code when
// it should start working and matches the currency to the store's.
//
// d.EndsAt is sent as date_expires with an explicit UTC offset
// ("2026-12-31T23:00:00Z", to the second, rounded down), which WooCommerce
// stores as that instant whatever the site's time zone; without an offset it
// would read the value in the site's time zone. date_expires_gmt is sent
// too, as documented, though WooCommerce drops it on write (see
// ReadDateExpires).
func (c *Client) CreateCode(ctx context.Context, d commerce.Discount) (commerce.Created, error) {
	if err := d.Validate(); err != nil {
		return commerce.Created{}, fmt.Errorf("woocommerce: %w", err)
	}
	req := couponRequest{
		Code:        d.Code,
		Description: d.Title,
	}
	if d.PercentBps > 0 {
		req.DiscountType, req.Amount = "percent", commerce.PercentNumber(d.PercentBps)
	} else {
		req.DiscountType, req.Amount = "fixed_cart", commerce.AmountDecimal(d.AmountOff)
	}
	if d.UsageLimit > 0 {
		req.UsageLimit = &d.UsageLimit
	}
	if d.OncePerCustomer {
		one := 1
		req.UsageLimitPerUser = &one
	}
	if !d.EndsAt.IsZero() {
		end := d.EndsAt.UTC().Truncate(time.Second)
		req.DateExpires = end.Format(instantLayout)
		req.DateExpiresGMT = end.Format(DateLayout)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return commerce.Created{}, fmt.Errorf("woocommerce: encoding coupon: %w", err)
	}
	var out coupon
	if _, err := c.do(ctx, http.MethodPost, "coupons", nil, body, http.StatusCreated, &out); err != nil {
		return commerce.Created{}, fmt.Errorf("woocommerce: creating coupon %q: %w", d.Code, err)
	}
	if out.ID <= 0 {
		return commerce.Created{}, fmt.Errorf("woocommerce: creating coupon %q: response has no id", d.Code)
	}
	return commerce.Created{ExternalID: strconv.FormatInt(out.ID, 10)}, nil
}

// FindCode looks code up in the store, ignoring letter case. It returns the
// coupon and true if found, an empty Created and false if not, or an error
// (wrapping commerce.ErrUnauthorized or commerce.ErrThrottled where those
// apply) if the store could not be asked.
func (c *Client) FindCode(ctx context.Context, code string) (commerce.Created, bool, error) {
	if strings.TrimSpace(code) == "" {
		return commerce.Created{}, false, errors.New("woocommerce: FindCode: code is empty")
	}
	for page := 1; page <= maxFindPages; page++ {
		q := url.Values{"code": {code}, "per_page": {"100"}, "page": {strconv.Itoa(page)}}
		var list []coupon
		h, err := c.do(ctx, http.MethodGet, "coupons", q, nil, http.StatusOK, &list)
		if err != nil {
			return commerce.Created{}, false, fmt.Errorf("woocommerce: finding coupon %q: %w", code, err)
		}
		for _, cp := range list {
			if strings.EqualFold(cp.Code, code) && cp.ID > 0 {
				return commerce.Created{ExternalID: strconv.FormatInt(cp.ID, 10)}, true, nil
			}
		}
		pages, err := strconv.Atoi(h.Get("X-WP-TotalPages"))
		if err != nil || page >= pages || len(list) == 0 {
			break
		}
	}
	return commerce.Created{}, false, nil
}

// do sends one API request, retrying on 429, and decodes a wantStatus answer
// into out. It returns the response headers.
func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte, wantStatus int, out any) (http.Header, error) {
	endpoint, err := c.endpoint(path, q)
	if err != nil {
		return nil, err
	}
	sleep := c.Sleep
	if sleep == nil {
		sleep = commerce.SleepContext
	}
	for attempt := 0; ; attempt++ {
		h, wait, err := c.attempt(ctx, method, endpoint, body, wantStatus, out)
		if wait == 0 {
			return h, err
		}
		if attempt == MaxRetries {
			return nil, fmt.Errorf("after %d retries: %w", MaxRetries, commerce.ErrThrottled)
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("waiting out throttling: %w", err)
		}
	}
}

// attempt makes one request. A positive wait means the answer was 429 and
// the request may be retried after that long.
func (c *Client) attempt(ctx context.Context, method, endpoint string, body []byte, wantStatus int, out any) (http.Header, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, rd)
	if err != nil {
		return nil, 0, err
	}
	req.SetBasicAuth(c.ConsumerKey, c.ConsumerSecret)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, 0, fmt.Errorf("reading response (HTTP %d): %w", resp.StatusCode, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		wait, ok := commerce.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if !ok || wait <= 0 {
			wait = time.Second
		}
		return nil, wait, nil
	}
	if resp.StatusCode != wantStatus {
		return nil, 0, apiError(resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return nil, 0, fmt.Errorf("decoding response (HTTP %d): %w", resp.StatusCode, err)
	}
	return resp.Header, 0, nil
}

func apiError(status int, raw []byte) *APIError {
	var wpErr struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &wpErr) == nil && wpErr.Code != "" {
		return &APIError{Status: status, Code: wpErr.Code, Message: wpErr.Message}
	}
	msg := strings.TrimSpace(string(raw))
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return &APIError{Status: status, Message: msg}
}

func (c *Client) endpoint(path string, q url.Values) (string, error) {
	if c.SiteURL == "" {
		return "", errors.New("woocommerce: client has no SiteURL")
	}
	if c.ConsumerKey == "" || c.ConsumerSecret == "" {
		return "", errors.New("woocommerce: client has no consumer key or secret")
	}
	u, err := commerce.CheckBaseURL(c.SiteURL)
	if err != nil {
		return "", fmt.Errorf("woocommerce: %w", err)
	}
	u.Path += "/wp-json/wc/v3/" + path
	u.RawQuery = q.Encode()
	return u.String(), nil
}
