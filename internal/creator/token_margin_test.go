package creator

import (
	"testing"
	"time"

	"github.com/payper/payper/internal/platform"
)

// A token is refreshed within a twentieth of its lifetime, never less than
// RefreshMargin: a 60-day Instagram token three days ahead, a one-hour
// token five minutes ahead.
func TestRefreshMargin(t *testing.T) {
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, c := range []struct {
		name    string
		tok     platform.Token
		want    time.Duration
		refresh time.Time // a moment it must be refreshed at
		keep    time.Time // a moment it must not be
	}{
		{"instagram 60 days", platform.Token{IssuedAt: t0, ExpiresAt: t0.Add(60 * day)}, 3 * day, t0.Add(57*day + time.Minute), t0.Add(57*day - time.Minute)},
		{"tiktok 24 hours", platform.Token{IssuedAt: t0, ExpiresAt: t0.Add(day)}, 72 * time.Minute, t0.Add(day - 72*time.Minute), t0.Add(day - 73*time.Minute)},
		{"one hour", platform.Token{IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}, RefreshMargin, t0.Add(55 * time.Minute), t0.Add(54 * time.Minute)},
		{"issue time unknown", platform.Token{ExpiresAt: t0.Add(60 * day)}, RefreshMargin, t0.Add(60*day - 4*time.Minute), t0.Add(59 * day)},
		{"expiry before issue", platform.Token{IssuedAt: t0, ExpiresAt: t0.Add(-time.Hour)}, RefreshMargin, t0, t0.Add(-2 * time.Hour)},
	} {
		got := refreshMargin(c.tok)
		if got != c.want {
			t.Errorf("%s: margin %s, want %s", c.name, got, c.want)
		}
		if !c.tok.NeedsRefresh(c.refresh, got) || c.tok.NeedsRefresh(c.keep, got) {
			t.Errorf("%s: refresh at %s %v, at %s %v; want true, false", c.name, c.refresh, c.tok.NeedsRefresh(c.refresh, got),
				c.keep, c.tok.NeedsRefresh(c.keep, got))
		}
	}
}
