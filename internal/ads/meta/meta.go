// Package meta reads daily ad results from the Meta Marketing API insights
// edge (Graph API), synchronously or through an asynchronous report run.
package meta

import (
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

	"github.com/payper/payper/internal/ads"
)

// DefaultVersion is the Marketing API version every request names, unless
// Client.Version overrides it. Meta's "Marketing API version history"
// (https://developers.facebook.com/documentation/ads-commerce/marketing-api/marketing-api-changelog/versions)
// lists v27.0 as released on November 4, 2026 with no expiry set yet; v25.0,
// pinned before, expires on February 23, 2027 and v26.0 has no date yet.
// Marketing API versions live about a year, shorter than the Graph API's:
// to move, read that page and the new version's changelog for the insights
// edge (fields ad_id, spend, impressions, inline_link_clicks, actions,
// action_values, account_currency; async report runs), change this one
// constant (the Fake follows it) and run this package's tests.
const DefaultVersion = "v27.0"

// Defaults of the Client's optional fields.
const (
	DefaultBaseURL            = "https://graph.facebook.com"
	DefaultPurchaseActionType = "omni_purchase"
	DefaultClicksField        = "inline_link_clicks"
	DefaultAsyncAfterDays     = 30
	DefaultMaxRetries         = 3
	DefaultMaxWait            = 5 * time.Minute
	DefaultPollInterval       = 5 * time.Second
	DefaultMaxPolls           = 120
	DefaultPageSize           = 500
)

// Meta error codes the client acts on.
const (
	codeInvalidParam   = 100
	codeService        = 2 // "API Service": a temporary failure on Meta's side
	codeTokenInvalid   = 190
	subcodeTimeout     = 1504018 // with code 100: use the async report
	subcodeTimeout2    = 1504038 // with code 2: the same timeout
	maxIDsPerFiltering = 100
	platformName       = "meta"
)

// ErrReportFailed means an asynchronous report run ended as "Job Failed" or
// "Job Skipped", or never completed within MaxPolls polls.
var ErrReportFailed = errors.New("meta: async report did not complete")

// Client reads ad insights. Only AccessToken is required; the zero values of
// the other fields mean the defaults above. It is safe for concurrent use
// if its fields are not changed.
type Client struct {
	BaseURL     string // scheme and host, default DefaultBaseURL
	Version     string // Marketing API version, e.g. "v27.0", default DefaultVersion
	AccessToken string // sent as "Authorization: Bearer", never in URLs
	// AccountID is the ad account id without "act_". When set, one
	// account-level query (level=ad, filtered by ad.id) serves all ads;
	// otherwise each ad's own /{ad_id}/insights edge is queried.
	AccountID string
	// PurchaseActionType is the ONE action_type read from actions and
	// action_values for Purchases and PurchaseValue; its twins (purchase,
	// offsite_conversion.fb_pixel_purchase, …) are never added.
	PurchaseActionType string
	// ClicksField is "inline_link_clicks" (link clicks, the default) or
	// "clicks" (all clicks).
	ClicksField string
	HTTP        *http.Client // default http.DefaultClient
	// Sleep waits between retries and polls; default ads.Sleep. Tests
	// inject one that records and returns at once.
	Sleep func(ctx context.Context, d time.Duration) error
	// AsyncAfterDays: ranges longer than this many days use the async
	// report (default 30); a negative value means always.
	AsyncAfterDays int
	MaxRetries     int           // throttled retries per request, default 3
	MaxWait        time.Duration // longest single back-off accepted, default 5 min
	PollInterval   time.Duration // between async status polls, default 5 s
	MaxPolls       int           // async status polls before giving up, default 120
	PageSize       int           // "limit" per page, default 500
}

var _ ads.Source = (*Client)(nil)

// Results returns the daily results of adIDs from..to (inclusive, by UTC
// date), sorted by ad id then day. It uses the async report when the range
// is longer than AsyncAfterDays, and falls back to it when Meta answers the
// synchronous query with one of its timeout errors (100/1504018, 2/1504038).
//
// On failure it returns nil and an error matching ads.ErrUnauthorized (code
// 190), ads.ErrThrottled (still throttled after MaxRetries; errors.As finds
// an *ads.ThrottleError), ErrReportFailed, an *ads.APIError for other
// documented errors, or a wrapped transport or decoding error.
func (c *Client) Results(ctx context.Context, adIDs []string, from, to time.Time) ([]ads.DailyResult, error) {
	from, to, err := ads.CheckRange(adIDs, from, to)
	if err != nil {
		return nil, fmt.Errorf("meta: %w", err)
	}
	if c.AccessToken == "" {
		return nil, fmt.Errorf("meta: no access token: %w", ads.ErrUnauthorized)
	}
	wanted := make(map[string]bool, len(adIDs))
	var ids []string
	for _, id := range adIDs {
		if !wanted[id] {
			wanted[id] = true
			ids = append(ids, id)
		}
	}
	async := c.asyncAfterDays() < 0 || ads.Days(from, to) > c.asyncAfterDays()

	type query struct {
		node   string
		filter []string
	}
	var queries []query
	if c.AccountID != "" {
		for i := 0; i < len(ids); i += maxIDsPerFiltering {
			queries = append(queries, query{"act_" + c.AccountID, ids[i:min(i+maxIDsPerFiltering, len(ids))]})
		}
	} else {
		for _, id := range ids {
			queries = append(queries, query{node: id})
		}
	}

	results := ads.NewResults("meta")
	for _, q := range queries {
		params := c.params(from, to, q.filter)
		var rows []insightRow
		if async {
			rows, err = c.asyncInsights(ctx, q.node, params)
		} else {
			rows, err = c.syncInsights(ctx, q.node, params)
			if isSyncTimeout(err) {
				rows, err = c.asyncInsights(ctx, q.node, params)
			}
		}
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			if !wanted[row.AdID] {
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

// isSyncTimeout reports whether err is one of the two synchronous "Request
// Timed Out" errors of Meta's "Ads Insights API Error Codes" page
// (https://developers.facebook.com/documentation/ads-commerce/marketing-api/insights/error-codes),
// 100/1504018 and 2/1504038, both answered by using an async job.
func isSyncTimeout(err error) bool {
	var apiErr *ads.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.Code == codeInvalidParam && apiErr.Subcode == subcodeTimeout ||
		apiErr.Code == codeService && apiErr.Subcode == subcodeTimeout2
}

func (c *Client) asyncAfterDays() int {
	if c.AsyncAfterDays == 0 {
		return DefaultAsyncAfterDays
	}
	return c.AsyncAfterDays
}

func (c *Client) purchaseType() string {
	if c.PurchaseActionType == "" {
		return DefaultPurchaseActionType
	}
	return c.PurchaseActionType
}

func (c *Client) clicksField() string {
	if c.ClicksField == "" {
		return DefaultClicksField
	}
	return c.ClicksField
}

func (c *Client) params(from, to time.Time, filter []string) url.Values {
	tr, _ := json.Marshal(map[string]string{
		"since": from.Format(time.DateOnly),
		"until": to.Format(time.DateOnly),
	})
	v := url.Values{}
	v.Set("level", "ad")
	v.Set("time_increment", "1")
	v.Set("time_range", string(tr))
	v.Set("fields", "ad_id,spend,impressions,"+c.clicksField()+",actions,action_values,account_currency")
	if len(filter) > 0 {
		f, _ := json.Marshal([]map[string]any{{"field": "ad.id", "operator": "IN", "value": filter}})
		v.Set("filtering", string(f))
	}
	return v
}

type action struct {
	ActionType string   `json:"action_type"`
	Value      ads.Text `json:"value"`
}

type insightRow struct {
	AdID             string   `json:"ad_id"`
	DateStart        string   `json:"date_start"`
	DateStop         string   `json:"date_stop"`
	AccountCurrency  string   `json:"account_currency"`
	Spend            ads.Text `json:"spend"`
	Impressions      ads.Text `json:"impressions"`
	Clicks           ads.Text `json:"clicks"`
	InlineLinkClicks ads.Text `json:"inline_link_clicks"`
	Actions          []action `json:"actions"`
	ActionValues     []action `json:"action_values"`
}

type page struct {
	Data   []insightRow `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

func (c *Client) convert(row insightRow) (ads.DailyResult, error) {
	fail := func(field string, err error) (ads.DailyResult, error) {
		return ads.DailyResult{}, fmt.Errorf("meta: ad %s on %s: field %s: %w", row.AdID, row.DateStart, field, err)
	}
	if row.DateStart != row.DateStop {
		return fail("date_stop", fmt.Errorf("row spans %s..%s, want one day", row.DateStart, row.DateStop))
	}
	day, err := ads.ParseDay(row.DateStart)
	if err != nil {
		return fail("date_start", err)
	}
	if row.AccountCurrency == "" {
		return fail("account_currency", errors.New("missing"))
	}
	r := ads.DailyResult{Platform: platformName, AdID: row.AdID, Day: day, Currency: row.AccountCurrency}
	if r.Spend, err = amount(row.Spend); err != nil {
		return fail("spend", err)
	}
	if r.Impressions, err = ads.ParseCount(string(row.Impressions)); err != nil {
		return fail("impressions", err)
	}
	clicks := row.InlineLinkClicks
	if c.clicksField() == "clicks" {
		clicks = row.Clicks
	}
	if r.Clicks, err = ads.ParseCount(string(clicks)); err != nil {
		return fail(c.clicksField(), err)
	}
	pt := c.purchaseType()
	if v, ok := findAction(row.Actions, pt); ok {
		if r.Purchases, err = ads.ParseCount(v); err != nil {
			return fail("actions["+pt+"]", err)
		}
	}
	if v, ok := findAction(row.ActionValues, pt); ok {
		if r.PurchaseValue, err = amount(ads.Text(v)); err != nil {
			return fail("action_values["+pt+"]", err)
		}
	}
	return r, nil
}

// amount parses a non-negative decimal string into micro-units; "" is 0.
func amount(s ads.Text) (int64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := ads.ParseDecimalMicros(string(s))
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, fmt.Errorf("negative amount %q", string(s))
	}
	return v, nil
}

// findAction returns the value of the one entry of type t. Twins of other
// types are deliberately ignored.
func findAction(list []action, t string) (string, bool) {
	for _, a := range list {
		if a.ActionType == t {
			return string(a.Value), true
		}
	}
	return "", false
}

func (c *Client) syncInsights(ctx context.Context, node string, params url.Values) ([]insightRow, error) {
	return c.pages(ctx, "/"+node+"/insights", params)
}

// pages reads every page of an insights edge, following the "after" cursor
// while Meta announces a next page.
func (c *Client) pages(ctx context.Context, path string, params url.Values) ([]insightRow, error) {
	params = cloneValues(params)
	params.Set("limit", strconv.Itoa(c.pageSize()))
	var rows []insightRow
	seen := map[string]bool{}
	for {
		var p page
		if err := c.call(ctx, http.MethodGet, path, params, &p); err != nil {
			return nil, err
		}
		rows = append(rows, p.Data...)
		after := p.Paging.Cursors.After
		if p.Paging.Next == "" || after == "" {
			return rows, nil
		}
		if seen[after] {
			return nil, fmt.Errorf("meta: %s: paging cursor %q repeated", path, after)
		}
		seen[after] = true
		params.Set("after", after)
	}
}

func (c *Client) pageSize() int {
	if c.PageSize <= 0 {
		return DefaultPageSize
	}
	return c.PageSize
}

type reportRun struct {
	ID              string   `json:"id"`
	ReportRunID     string   `json:"report_run_id"`
	AsyncStatus     string   `json:"async_status"`
	AsyncPercentage ads.Text `json:"async_percent_completion"`
}

// asyncInsights starts a report run, polls it until "Job Completed" at 100 %
// and reads its pages.
func (c *Client) asyncInsights(ctx context.Context, node string, params url.Values) ([]insightRow, error) {
	start := cloneValues(params)
	start.Set("async", "true")
	var run reportRun
	if err := c.call(ctx, http.MethodPost, "/"+node+"/insights", start, &run); err != nil {
		return nil, err
	}
	if run.ReportRunID == "" {
		return nil, fmt.Errorf("meta: async insights for %s: answer has no report_run_id", node)
	}
	id := run.ReportRunID
	maxPolls := c.MaxPolls
	if maxPolls <= 0 {
		maxPolls = DefaultMaxPolls
	}
	interval := c.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	for i := 0; ; i++ {
		var st reportRun
		if err := c.call(ctx, http.MethodGet, "/"+id, nil, &st); err != nil {
			return nil, err
		}
		switch st.AsyncStatus {
		case "Job Completed":
			if st.AsyncPercentage == "100" {
				return c.pages(ctx, "/"+id+"/insights", url.Values{})
			}
		case "Job Failed", "Job Skipped":
			return nil, fmt.Errorf("%w: report run %s: %s", ErrReportFailed, id, st.AsyncStatus)
		}
		if i+1 >= maxPolls {
			return nil, fmt.Errorf("%w: report run %s still %q at %s %% after %d polls",
				ErrReportFailed, id, st.AsyncStatus, st.AsyncPercentage, maxPolls)
		}
		if err := c.sleep(ctx, interval); err != nil {
			return nil, fmt.Errorf("meta: waiting for report run %s: %w", id, err)
		}
	}
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return ads.Sleep(ctx, d)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// call sends one request, retrying throttled answers up to MaxRetries times,
// and decodes a 200 answer into out.
func (c *Client) call(ctx context.Context, method, path string, params url.Values, out any) error {
	maxRetries := c.MaxRetries
	if maxRetries <= 0 {
		maxRetries = DefaultMaxRetries
	}
	maxWait := c.MaxWait
	if maxWait <= 0 {
		maxWait = DefaultMaxWait
	}
	for attempt := 0; ; attempt++ {
		hint, err := c.once(ctx, method, path, params, out)
		if err == nil {
			return nil
		}
		var apiErr *ads.APIError
		if !errors.As(err, &apiErr) || !isThrottle(apiErr.Code) {
			return err
		}
		wait := time.Second << attempt
		if hint > wait {
			wait = hint
		}
		if attempt >= maxRetries || wait > maxWait {
			return fmt.Errorf("meta: %s %s: %w", method, path,
				&ads.ThrottleError{Platform: platformName, RetryAfter: hint, Err: apiErr})
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("meta: backing off: %w", err)
		}
	}
}

// isThrottle reports whether a Meta error code means "too many calls".
func isThrottle(code int) bool {
	switch code {
	case 4, 17, 32, 613:
		return true
	}
	return code >= 80000 && code <= 80014
}

type graphError struct {
	Error *struct {
		Message      string `json:"message"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		ErrorSubcode int    `json:"error_subcode"`
		FBTraceID    string `json:"fbtrace_id"`
	} `json:"error"`
}

// once sends one request. On a Meta error answer it returns an
// *ads.APIError (wrapped with ads.ErrUnauthorized for code 190) and the
// wait the usage headers ask for.
func (c *Client) once(ctx context.Context, method, path string, params url.Values, out any) (time.Duration, error) {
	base := c.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	version := c.Version
	if version == "" {
		version = DefaultVersion
	}
	u := strings.TrimRight(base, "/") + "/" + version + path
	var body io.Reader
	if method == http.MethodPost {
		body = strings.NewReader(params.Encode())
	} else if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, fmt.Errorf("meta: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.AccessToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("meta: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, fmt.Errorf("meta: %s %s: reading answer: %w", method, path, err)
	}
	var ge graphError
	_ = json.Unmarshal(raw, &ge)
	if ge.Error != nil || resp.StatusCode != http.StatusOK {
		apiErr := &ads.APIError{Platform: platformName, Status: resp.StatusCode}
		if ge.Error != nil {
			apiErr.Code, apiErr.Subcode, apiErr.Message = ge.Error.Code, ge.Error.ErrorSubcode, ge.Error.Message
		} else {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
		if apiErr.Code == codeTokenInvalid {
			return 0, fmt.Errorf("meta: %s %s: %w: %w", method, path, ads.ErrUnauthorized, apiErr)
		}
		return regainHint(resp.Header), fmt.Errorf("meta: %s %s: %w", method, path, apiErr)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return 0, fmt.Errorf("meta: %s %s: decoding answer: %w", method, path, err)
	}
	return 0, nil
}

// regainHint reads the longest wait announced by the usage headers:
// estimated_time_to_regain_access (minutes) in X-Business-Use-Case-Usage or
// X-Ad-Account-Usage, and reset_time_duration (seconds) in
// X-Ad-Account-Usage. Unreadable headers count as no hint.
func regainHint(h http.Header) time.Duration {
	var best time.Duration
	consider := func(d time.Duration) {
		if d > best {
			best = d
		}
	}
	if v := h.Get("X-Business-Use-Case-Usage"); v != "" {
		var buc map[string][]struct {
			Regain json.Number `json:"estimated_time_to_regain_access"`
		}
		if json.Unmarshal([]byte(v), &buc) == nil {
			for _, list := range buc {
				for _, e := range list {
					if m, err := e.Regain.Float64(); err == nil && m > 0 {
						consider(time.Duration(m * float64(time.Minute)))
					}
				}
			}
		}
	}
	if v := h.Get("X-Ad-Account-Usage"); v != "" {
		var acc struct {
			Regain json.Number `json:"estimated_time_to_regain_access"`
			Reset  json.Number `json:"reset_time_duration"`
		}
		if json.Unmarshal([]byte(v), &acc) == nil {
			if m, err := acc.Regain.Float64(); err == nil && m > 0 {
				consider(time.Duration(m * float64(time.Minute)))
			}
			if s, err := acc.Reset.Float64(); err == nil && s > 0 {
				consider(time.Duration(s * float64(time.Second)))
			}
		}
	}
	return best
}
