// Package tiktok reads daily ad results from the TikTok Marketing API
// (Business API) integrated report, synchronously and page by page.
//
// The reference documents no asynchronous report task for this endpoint,
// so there is none here; long ranges are split into MaxDaysPerRequest-day
// windows instead.
package tiktok

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/ads"
)

// Defaults of the Client's optional fields.
const (
	DefaultBaseURL           = "https://business-api.tiktok.com"
	ReportPath               = "/open_api/v1.3/report/integrated/get/"
	DefaultMaxRetries        = 3
	DefaultPageSize          = 1000 // the documented maximum
	DefaultMaxDaysPerRequest = 30
	platformName             = "tiktok"
)

// TikTok answer codes the client acts on. Errors come as HTTP 200 with a
// non-zero code.
const (
	CodeOK          = 0
	CodeRateLimited = 40100 // too many requests: back off and retry
	CodeTokenEmpty  = 40104 // no access token
	CodeTokenBad    = 40105 // access token incorrect or revoked
)

// Metrics is what the client asks for, as the reference names them.
var Metrics = []string{"spend", "impressions", "clicks", "complete_payment", "complete_payment_roas"}

// Client reads an advertiser's integrated report. AccessToken, AdvertiserID
// and Currency are required; the zero values of the other fields mean the
// defaults above. It is safe for concurrent use if its fields are not changed.
type Client struct {
	BaseURL      string // scheme and host, default DefaultBaseURL
	AccessToken  string // sent in the Access-Token header
	AdvertiserID string
	// Currency is the advertiser account's ISO 4217 currency: the report
	// rows do not carry it.
	Currency string
	// PurchaseValueMetric, when set, names a metric requested as well and
	// read as the purchase value in currency units. When empty, the value
	// is complete_payment_roas × spend, computed exactly in integers and
	// rounded half up to the micro-unit; it is only as precise as the ROAS
	// TikTok reports.
	PurchaseValueMetric string
	HTTP                *http.Client // default http.DefaultClient
	// Sleep waits between retries; default ads.Sleep.
	Sleep             func(ctx context.Context, d time.Duration) error
	MaxRetries        int // throttled retries per request, default 3
	PageSize          int // page_size, default and maximum 1000
	MaxDaysPerRequest int // days per report request, default 30
}

var _ ads.Source = (*Client)(nil)

// Results returns the daily results of adIDs from..to (inclusive, by date in
// the advertiser's time zone as TikTok reports it), sorted by ad id then day.
// Purchases are complete_payment.
//
// On failure it returns nil and an error matching ads.ErrUnauthorized
// (codes 40104, 40105), ads.ErrThrottled (code 40100 or HTTP 429 after
// MaxRetries retries; errors.As finds an *ads.ThrottleError), an
// *ads.APIError for other non-zero codes, or a wrapped transport, decoding
// or configuration error.
func (c *Client) Results(ctx context.Context, adIDs []string, from, to time.Time) ([]ads.DailyResult, error) {
	from, to, err := ads.CheckRange(adIDs, from, to)
	if err != nil {
		return nil, fmt.Errorf("tiktok: %w", err)
	}
	switch {
	case c.AccessToken == "":
		return nil, fmt.Errorf("tiktok: no access token: %w", ads.ErrUnauthorized)
	case c.AdvertiserID == "":
		return nil, errors.New("tiktok: no advertiser id configured")
	case len(c.Currency) != 3:
		return nil, fmt.Errorf("tiktok: advertiser currency %q is not an ISO 4217 code", c.Currency)
	}
	wanted := make(map[string]bool, len(adIDs))
	for _, id := range adIDs {
		wanted[id] = true
	}
	span := c.MaxDaysPerRequest
	if span <= 0 {
		span = DefaultMaxDaysPerRequest
	}
	results := ads.NewResults("tiktok")
	for start := from; !start.After(to); start = start.AddDate(0, 0, span) {
		end := start.AddDate(0, 0, span-1)
		if end.After(to) {
			end = to
		}
		rows, err := c.window(ctx, start, end)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if !wanted[string(row.Dimensions["ad_id"])] {
				continue
			}
			r, err := c.convert(row)
			if err != nil {
				return nil, err
			}
			if err := results.Add(r); err != nil {
				return nil, err
			}
		}
	}
	return results.Sorted(), nil
}

type row struct {
	Dimensions map[string]ads.Text `json:"dimensions"`
	Metrics    map[string]ads.Text `json:"metrics"`
}

type envelope struct {
	Code      int    `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
	Data      struct {
		List     []row `json:"list"`
		PageInfo struct {
			Page        int `json:"page"`
			PageSize    int `json:"page_size"`
			TotalNumber int `json:"total_number"`
			TotalPage   int `json:"total_page"`
		} `json:"page_info"`
	} `json:"data"`
}

// window reads every page of the report for one date window.
func (c *Client) window(ctx context.Context, from, to time.Time) ([]row, error) {
	metrics := append([]string(nil), Metrics...)
	if c.PurchaseValueMetric != "" {
		metrics = append(metrics, c.PurchaseValueMetric)
	}
	dims, _ := json.Marshal([]string{"ad_id", "stat_time_day"})
	mets, _ := json.Marshal(metrics)
	size := c.PageSize
	if size <= 0 || size > DefaultPageSize {
		size = DefaultPageSize
	}
	q := url.Values{}
	q.Set("advertiser_id", c.AdvertiserID)
	q.Set("report_type", "BASIC")
	q.Set("data_level", "AUCTION_AD")
	q.Set("dimensions", string(dims))
	q.Set("metrics", string(mets))
	q.Set("start_date", from.Format(time.DateOnly))
	q.Set("end_date", to.Format(time.DateOnly))
	q.Set("page_size", strconv.Itoa(size))
	var rows []row
	for page := 1; ; page++ {
		q.Set("page", strconv.Itoa(page))
		env, err := c.call(ctx, q)
		if err != nil {
			return nil, err
		}
		rows = append(rows, env.Data.List...)
		if page >= env.Data.PageInfo.TotalPage || len(env.Data.List) == 0 {
			return rows, nil
		}
	}
}

// call sends one report request, retrying throttled answers.
func (c *Client) call(ctx context.Context, q url.Values) (*envelope, error) {
	maxRetries := c.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultMaxRetries
	}
	for attempt := 0; ; attempt++ {
		env, err := c.once(ctx, q)
		if err == nil {
			return env, nil
		}
		var apiErr *ads.APIError
		if !errors.As(err, &apiErr) || (apiErr.Code != CodeRateLimited && apiErr.Status != http.StatusTooManyRequests) {
			return nil, err
		}
		if attempt >= maxRetries {
			return nil, fmt.Errorf("tiktok: report page %s: %w", q.Get("page"),
				&ads.ThrottleError{Platform: platformName, Err: apiErr})
		}
		sleep := c.Sleep
		if sleep == nil {
			sleep = ads.Sleep
		}
		if err := sleep(ctx, time.Second<<attempt); err != nil {
			return nil, fmt.Errorf("tiktok: backing off: %w", err)
		}
	}
}

func (c *Client) once(ctx context.Context, q url.Values) (*envelope, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+ReportPath+"?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("tiktok: report: %w", err)
	}
	req.Header.Set("Access-Token", c.AccessToken)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tiktok: report: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("tiktok: report: reading answer: %w", err)
	}
	var env envelope
	decodeErr := json.Unmarshal(raw, &env)
	if resp.StatusCode != http.StatusOK {
		apiErr := &ads.APIError{Platform: platformName, Status: resp.StatusCode, Code: env.Code, Message: env.Message}
		if decodeErr != nil || apiErr.Message == "" {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
		return nil, fmt.Errorf("tiktok: report: %w", apiErr)
	}
	if decodeErr != nil {
		return nil, fmt.Errorf("tiktok: report: decoding answer: %w", decodeErr)
	}
	if env.Code != CodeOK {
		apiErr := &ads.APIError{Platform: platformName, Status: resp.StatusCode, Code: env.Code,
			Message: strings.TrimSpace(env.Message + " (request_id " + env.RequestID + ")")}
		if env.Code == CodeTokenEmpty || env.Code == CodeTokenBad {
			return nil, fmt.Errorf("tiktok: report: %w: %w", ads.ErrUnauthorized, apiErr)
		}
		return nil, fmt.Errorf("tiktok: report: %w", apiErr)
	}
	return &env, nil
}

func (c *Client) convert(rw row) (ads.DailyResult, error) {
	adID := string(rw.Dimensions["ad_id"])
	dayText := string(rw.Dimensions["stat_time_day"])
	fail := func(field string, err error) (ads.DailyResult, error) {
		return ads.DailyResult{}, fmt.Errorf("tiktok: ad %s on %s: %s: %w", adID, dayText, field, err)
	}
	if adID == "" {
		return fail("ad_id", errors.New("missing"))
	}
	// stat_time_day comes as "YYYY-MM-DD HH:MM:SS"; accept the bare date too.
	ds := dayText
	if len(ds) > 10 && ds[10] == ' ' {
		ds = ds[:10]
	}
	day, err := ads.ParseDay(ds)
	if err != nil {
		return fail("stat_time_day", err)
	}
	r := ads.DailyResult{Platform: platformName, AdID: adID, Day: day, Currency: c.Currency}
	m := rw.Metrics
	if r.Spend, err = decimal(m["spend"]); err != nil {
		return fail("spend", err)
	}
	if r.Impressions, err = ads.ParseCount(string(m["impressions"])); err != nil {
		return fail("impressions", err)
	}
	if r.Clicks, err = ads.ParseCount(string(m["clicks"])); err != nil {
		return fail("clicks", err)
	}
	if r.Purchases, err = ads.ParseCount(string(m["complete_payment"])); err != nil {
		return fail("complete_payment", err)
	}
	if c.PurchaseValueMetric != "" {
		if r.PurchaseValue, err = decimal(m[c.PurchaseValueMetric]); err != nil {
			return fail(c.PurchaseValueMetric, err)
		}
		return r, nil
	}
	roas, err := decimal(m["complete_payment_roas"])
	if err != nil {
		return fail("complete_payment_roas", err)
	}
	if r.PurchaseValue, err = MulMicros(r.Spend, roas); err != nil {
		return fail("complete_payment_roas × spend", err)
	}
	return r, nil
}

// decimal parses a non-negative money-like metric; "" is 0.
func decimal(t ads.Text) (int64, error) {
	if t == "" {
		return 0, nil
	}
	v, err := ads.ParseDecimalMicros(string(t))
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("negative value %q", string(t))
	}
	return v, nil
}

// MulMicros returns a × b / 10⁶ for two non-negative micro-unit values (an
// amount times a ratio such as ROAS), rounded half up, computed exactly in
// 128-bit integers. It returns 0 and an error if either is negative or the
// result overflows int64.
func MulMicros(a, b int64) (int64, error) {
	if a < 0 || b < 0 {
		return 0, fmt.Errorf("MulMicros(%d, %d): negative operand", a, b)
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	const scale = 1_000_000
	if hi >= scale {
		return 0, fmt.Errorf("MulMicros(%d, %d): overflow", a, b)
	}
	q, r := bits.Div64(hi, lo, scale)
	if r*2 >= scale {
		q++
	}
	if q > math.MaxInt64 {
		return 0, fmt.Errorf("MulMicros(%d, %d): overflow", a, b)
	}
	return int64(q), nil
}
