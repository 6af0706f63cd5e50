// Package clock supplies the current time. Every time-dependent rule in
// payper takes a Clock so tests and the demo move time instead of sleeping.
package clock

import (
	"sync"
	"time"
)

// Clock returns the current time in UTC.
type Clock interface {
	Now() time.Time
}

// System is the real wall clock.
type System struct{}

// Now returns time.Now in UTC.
func (System) Now() time.Time { return time.Now().UTC() }

// Fake is a clock that only moves when told to. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake set to t.
func NewFake(t time.Time) *Fake { return &Fake{now: t.UTC()} }

// Now returns the fake's current time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the fake forward by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// Set moves the fake to t.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.now = t.UTC()
	f.mu.Unlock()
}

// Micros is an instant as unix microseconds (UTC), the form payper stores
// times in. In JSON it is an RFC 3339 string, e.g. "2026-11-21T08:56:12.448202Z".
type Micros int64

// MicrosOf returns t as Micros.
func MicrosOf(t time.Time) Micros { return Micros(t.UnixMicro()) }

// Time returns m as a UTC time.
func (m Micros) Time() time.Time { return time.UnixMicro(int64(m)).UTC() }

// MarshalJSON writes m as an RFC 3339 string.
func (m Micros) MarshalJSON() ([]byte, error) {
	return []byte(`"` + m.Time().Format(time.RFC3339Nano) + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 string; it returns an error for anything else.
func (m *Micros) UnmarshalJSON(b []byte) error {
	var t time.Time
	if err := t.UnmarshalJSON(b); err != nil {
		return err
	}
	*m = MicrosOf(t)
	return nil
}
