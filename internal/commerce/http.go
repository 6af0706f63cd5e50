package commerce

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxRetryWait bounds any single wait a client makes before retrying a
// throttled request, whatever the store asks for.
const MaxRetryWait = 60 * time.Second

// SleepContext waits for d or until ctx is done. It returns nil after the
// wait, or ctx's error (wrapped) if ctx ends first.
func SleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("commerce: waiting to retry: %w", ctx.Err())
	}
}

// RetryAfter parses a Retry-After header value, in seconds (Shopify sends
// "2.0") or as an HTTP date relative to now, and clamps it to
// 0..MaxRetryWait. It returns false if the value is empty or unparsable.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs != secs { // NaN
			return 0, false
		}
		d = time.Duration(min(secs, MaxRetryWait.Seconds()) * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return max(0, min(d, MaxRetryWait)), true
}

// CheckBaseURL parses a store's base URL and returns it without a trailing
// slash. It returns an error unless the URL is absolute https, or plain http
// to a loopback host (localhost, 127.0.0.0/8, ::1) as used by tests: store
// credentials are never sent in clear over a network.
func CheckBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("commerce: store URL: %w", err)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("commerce: store URL %q must be like https://shop.example.com, without credentials, query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("commerce: store URL %q uses plain http; refusing to send credentials unencrypted (use https)", raw)
		}
	default:
		return nil, fmt.Errorf("commerce: store URL %q must use https", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
