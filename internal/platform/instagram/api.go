package instagram

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

	"github.com/payper/payper/internal/platform"
)

// request is one Graph API GET.
type request struct {
	// tok authenticates the call with a bearer header; nil on the token
	// endpoints, whose query carries the token.
	tok   *platform.Token
	path  string
	query url.Values
	// unversioned calls name no Graph API version (the token endpoints,
	// documented without one); the others name the client's version.
	unversioned bool
	// scope is what the call needs, to tell a missing scope from an app
	// that lacks a permission.
	scope string
	// media calls read one media item: code 100 and 404 mean it is unknown.
	media bool
	// insights calls read a media item's insights: "not enough viewers"
	// (code 10) and unsupported media (code 100) mean there are none.
	insights bool
}

// errNoInsights marks an insights answer saying the item has none to show.
var errNoInsights = errors.New("instagram: no insights for this media")

// graph performs r and decodes a 200 answer into out.
func (c *Client) graph(ctx context.Context, r request, out any) error {
	u := c.graphBase
	if !r.unversioned {
		u += "/" + c.version
	}
	u += r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("instagram: build request: %w", err)
	}
	if r.tok != nil {
		req.Header.Set("Authorization", "Bearer "+r.tok.AccessToken)
	}
	req.Header.Set("Accept", "application/json")
	status, hdr, body, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	account := ""
	if r.tok != nil {
		account = r.tok.AccountID
	}
	c.noteUsage(hdr, account)
	if status != http.StatusOK {
		return c.graphError(status, hdr, body, r)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return c.malformed("answer to GET "+r.path, err)
	}
	return nil
}

// send performs req and reads the answer. Transport failures match
// platform.ErrUnavailable unless ctx ended; their URL is redacted.
func (c *Client) send(ctx context.Context, req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		e := &platform.Error{Platform: platform.Instagram, Message: "request failed", Err: redactError(err)}
		if ctx.Err() == nil {
			e.Kind = platform.ErrUnavailable
		}
		return 0, nil, nil, e
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		e := &platform.Error{Platform: platform.Instagram, Status: resp.StatusCode,
			Message: "reading the response failed", Err: redactError(err)}
		if ctx.Err() == nil {
			e.Kind = platform.ErrUnavailable
		}
		return 0, nil, nil, e
	}
	return resp.StatusCode, resp.Header, b, nil
}

// graphErrorBody is Instagram's error answer: the Graph shape
// {"error":{"message","type","code","error_subcode","fbtrace_id"}}, or the
// older shape api.instagram.com uses {"error_type","code","error_message"}.
type graphErrorBody struct {
	Message     string `json:"message"`
	Type        string `json:"type"`
	Code        int    `json:"code"`
	Subcode     int    `json:"error_subcode"`
	FBTraceID   string `json:"fbtrace_id"`
	IsTransient bool   `json:"is_transient"`
}

func parseGraphError(body []byte) graphErrorBody {
	var outer struct {
		Error        json.RawMessage `json:"error"`
		ErrorType    string          `json:"error_type"`
		Code         int             `json:"code"`
		ErrorMessage string          `json:"error_message"`
	}
	_ = json.Unmarshal(body, &outer)
	var ge graphErrorBody
	if len(outer.Error) > 0 && outer.Error[0] == '{' {
		_ = json.Unmarshal(outer.Error, &ge)
		return ge
	}
	return graphErrorBody{Message: outer.ErrorMessage, Type: outer.ErrorType, Code: outer.Code}
}

// isThrottle reports whether code is one of Instagram's throttling codes.
func isThrottle(code int) bool {
	return code == 4 || code == 17 || code == 32 || code == 613 || (code >= 80000 && code <= 80014)
}

// graphError maps a non-200 Graph answer to the platform's error kinds:
//   - throttling codes 4, 17, 32, 613, 80000–80014 (or HTTP 429): a
//     *platform.RateLimitError, RetryAfter from the usage header's
//     estimated_time_to_regain_access (minutes), else Retry-After;
//   - 190 (token expired, invalid or revoked) or HTTP 401: ErrReconnect;
//   - on insights, 10 "Not enough viewers" and 100 (album children, media
//     without insights): errNoInsights;
//   - 10 and 200–299 (permission): ErrReconnect when the token does not
//     hold the scope the call needs (as far as Token.Scopes says; an empty
//     Scopes counts as not holding it), since consenting again grants it;
//     otherwise the creator granted everything and the refusal is the
//     app's (review, account type): no Kind, as reconnecting would not help;
//   - on media calls, 100 and 404: ErrMediaNotFound;
//   - 5xx, 1, 2 or is_transient: ErrUnavailable.
func (c *Client) graphError(status int, hdr http.Header, body []byte, r request) error {
	ge := parseGraphError(body)
	e := platformError(status, ge)
	switch code := ge.Code; {
	case isThrottle(code) || status == http.StatusTooManyRequests:
		return c.rateLimited(hdr, e)
	case code == 190 || status == http.StatusUnauthorized:
		e.Kind = platform.ErrReconnect
	case r.insights && code == 10 && strings.Contains(strings.ToLower(ge.Message), "viewers"),
		r.insights && code == 100:
		e.Err = errNoInsights
	case code == 10 || (code >= 200 && code <= 299):
		if r.tok == nil || len(r.tok.Scopes) == 0 || !r.tok.HasScope(r.scope) {
			e.Kind = platform.ErrReconnect
		}
	case r.media && (code == 100 || status == http.StatusNotFound):
		e.Kind = platform.ErrMediaNotFound
	case status >= 500 || code == 1 || code == 2 || ge.IsTransient:
		e.Kind = platform.ErrUnavailable
	}
	return e
}

func platformError(status int, ge graphErrorBody) *platform.Error {
	e := &platform.Error{Platform: platform.Instagram, Status: status, Message: ge.Message}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if ge.Code != 0 {
		e.Code = strconv.Itoa(ge.Code)
	}
	var extra []string
	if ge.Subcode != 0 {
		extra = append(extra, "subcode "+strconv.Itoa(ge.Subcode))
	}
	if ge.FBTraceID != "" {
		extra = append(extra, "fbtrace_id "+ge.FBTraceID)
	}
	if len(extra) > 0 {
		e.Message += " [" + strings.Join(extra, ", ") + "]"
	}
	return e
}

func (c *Client) rateLimited(hdr http.Header, cause *platform.Error) error {
	retry := time.Duration(0)
	if u, ok := parseUsage(hdr.Get(usageHeader)); ok {
		retry = u.RegainAccess
	}
	if retry == 0 {
		retry = platform.ParseRetryAfter(hdr.Get("Retry-After"), c.clock())
	}
	return &platform.RateLimitError{Platform: platform.Instagram, RetryAfter: retry, Reason: cause.Message, Err: cause}
}

// usageHeader is where Instagram reports Business Use Case rate-limit usage.
const usageHeader = "X-Business-Use-Case-Usage"

// Usage is Instagram's Business Use Case rate-limit usage for one app user
// (a budget of 4800 × impressions calls per 24 h), as a response reported it.
type Usage struct {
	// BusinessID is the id the header keys the usage by.
	BusinessID string
	// AccountID is the Token.AccountID of the call that reported it.
	AccountID string
	// CallCount, TotalCPUTime and TotalTime are percentages of the limits.
	CallCount, TotalCPUTime, TotalTime int
	// RegainAccess is estimated_time_to_regain_access: how long calls stay
	// throttled, 0 when they are not.
	RegainAccess time.Duration
	// At is when the client read it.
	At time.Time
}

// Percent returns the highest of the three usage percentages.
func (u Usage) Percent() int { return max(u.CallCount, u.TotalCPUTime, u.TotalTime) }

// LastUsage returns the rate-limit usage reported by the most recent
// response that carried it, whichever account it was for, and false when no
// response has.
func (c *Client) LastUsage() (Usage, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usage, !c.usage.At.IsZero()
}

func (c *Client) noteUsage(hdr http.Header, account string) {
	u, ok := parseUsage(hdr.Get(usageHeader))
	if !ok {
		return
	}
	u.AccountID, u.At = account, c.clock()
	c.mu.Lock()
	c.usage = u
	c.mu.Unlock()
}

// parseUsage reads the usage header
// {"<id>":[{"type":"instagram","call_count":N,"total_cputime":N,"total_time":N,"estimated_time_to_regain_access":MIN}]},
// keeping the highest figures of all entries.
func parseUsage(h string) (Usage, bool) {
	if strings.TrimSpace(h) == "" {
		return Usage{}, false
	}
	var m map[string][]struct {
		CallCount    json.Number `json:"call_count"`
		TotalCPUTime json.Number `json:"total_cputime"`
		TotalTime    json.Number `json:"total_time"`
		Regain       json.Number `json:"estimated_time_to_regain_access"`
	}
	if err := json.Unmarshal([]byte(h), &m); err != nil || len(m) == 0 {
		return Usage{}, false
	}
	num := func(n json.Number) int {
		f, err := n.Float64()
		if err != nil || f < 0 {
			return 0
		}
		return int(min(f, 1e6))
	}
	var u Usage
	for id, entries := range m {
		if u.BusinessID == "" || id < u.BusinessID {
			u.BusinessID = id
		}
		for _, e := range entries {
			u.CallCount = max(u.CallCount, num(e.CallCount))
			u.TotalCPUTime = max(u.TotalCPUTime, num(e.TotalCPUTime))
			u.TotalTime = max(u.TotalTime, num(e.TotalTime))
			u.RegainAccess = max(u.RegainAccess, time.Duration(num(e.Regain))*time.Minute)
		}
	}
	return u, true
}

// redactError hides the secrets a transport error's URL carries in its
// query (the token endpoints take access_token and client_secret there).
func redactError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	for _, k := range []string{"access_token", "client_secret", "code"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// flexID is an id Instagram sends as a JSON string or as a number (user_id
// in the token answer, which may exceed float64's exact integers).
type flexID string

// UnmarshalJSON accepts a string, an integer literal or null.
func (f *flexID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
	default:
		if _, err := strconv.ParseUint(string(b), 10, 64); err != nil {
			return fmt.Errorf("id %s is neither a string nor an integer", b)
		}
		*f = flexID(b)
	}
	return nil
}

type meResponse struct {
	ID             flexID `json:"id"`
	UserID         flexID `json:"user_id"`
	Username       string `json:"username"`
	AccountType    string `json:"account_type"`
	FollowersCount *int64 `json:"followers_count"`
	FollowsCount   *int64 `json:"follows_count"`
	MediaCount     *int64 `json:"media_count"`
}

type mediaObject struct {
	ID            flexID `json:"id"`
	Caption       string `json:"caption"`
	MediaType     string `json:"media_type"`
	ProductType   string `json:"media_product_type"`
	Permalink     string `json:"permalink"`
	Timestamp     string `json:"timestamp"`
	LikeCount     *int64 `json:"like_count"`
	CommentsCount *int64 `json:"comments_count"`
	Owner         struct {
		ID flexID `json:"id"`
	} `json:"owner"`
	Username string `json:"username"`
}

type mediaPage struct {
	Data   []mediaObject `json:"data"`
	Paging struct {
		Cursors struct {
			Before string `json:"before"`
			After  string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

type insightsResponse struct {
	Data []struct {
		Name   string `json:"name"`
		Values []struct {
			Value json.RawMessage `json:"value"`
		} `json:"values"`
		TotalValue *struct {
			Value json.RawMessage `json:"value"`
		} `json:"total_value"`
	} `json:"data"`
}

// values returns the metrics the answer reports with a count; a metric
// absent, with no values or with a value that is not a count is left out.
func (r insightsResponse) values() map[string]platform.Count {
	out := make(map[string]platform.Count, len(r.Data))
	for _, d := range r.Data {
		var raw json.RawMessage
		if n := len(d.Values); n > 0 {
			raw = d.Values[n-1].Value
		} else if d.TotalValue != nil {
			raw = d.TotalValue.Value
		}
		var c platform.Count
		if len(raw) == 0 || c.UnmarshalJSON(raw) != nil || !c.Known {
			continue
		}
		out[d.Name] = c
	}
	return out
}
