package app

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
)

// SandboxClock is the wall clock plus an offset that only grows: the clock
// of a server started with --sandbox-clock, which the admin moves forward
// through the sandbox driver (POST /sandbox/driver/clock/advance) so a
// campaign's days and holding periods can be played from outside. Given as
// Config.Clock it is the clock of every service, so ticks, releases, fraud
// holds and sessions all see the moved time. CheckSandboxClock refuses it beside any real
// platform, store, ad account or payout provider. It is safe for
// concurrent use.
type SandboxClock struct {
	adv    sync.Mutex // serializes advances (held while saving)
	mu     sync.Mutex // guards offset only, never held across I/O
	offset time.Duration
	save   func(context.Context, time.Duration) error // keeps the offset; nil = memory only
}

// settingSandboxClock is the settings row keeping the offset (nanoseconds)
// across restarts, so the clock never goes back.
const settingSandboxClock = "sandbox_clock_offset"

var _ sandbox.MovableClock = (*SandboxClock)(nil)

// NewSandboxClock returns a SandboxClock at the wall clock's time.
func NewSandboxClock() *SandboxClock { return &SandboxClock{} }

// Now returns the wall clock's time plus the offset, in UTC.
func (c *SandboxClock) Now() time.Time {
	c.mu.Lock()
	off := c.offset
	c.mu.Unlock()
	return time.Now().UTC().Add(off)
}

// AdvanceBy moves the clock forward by d and returns the new time. It
// refuses a d that is not positive or is more than sandbox.MaxClockAdvance;
// on an App's clock the new offset is saved in the database first (a clock
// that cannot save it does not move).
func (c *SandboxClock) AdvanceBy(d time.Duration) (time.Time, error) {
	if d <= 0 || d > sandbox.MaxClockAdvance {
		return time.Time{}, fmt.Errorf("sandbox clock: cannot advance by %s: from 1ns to %s, forward only", d, sandbox.MaxClockAdvance)
	}
	c.adv.Lock()
	defer c.adv.Unlock()
	next := c.Offset() + d
	if c.save != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.save(ctx, next); err != nil {
			return time.Time{}, fmt.Errorf("sandbox clock: save the offset: %w", err)
		}
	}
	c.mu.Lock()
	c.offset = next
	c.mu.Unlock()
	return c.Now(), nil
}

// Offset is how far the clock has been moved ahead of the wall clock.
func (c *SandboxClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.offset
}

// errSandboxClockStore answers connecting a real store on a sandbox-clock server.
const errSandboxClockStore = "this server runs on a sandbox clock the admin can move (--sandbox-clock): only sandbox stores can be connected"

// CheckSandboxClock restores the offset a SandboxClock reached before a
// restart (kept in the settings table, so time never goes back) and refuses a SandboxClock beside anything real: without
// the sandbox, with a real platform, payout provider or ad account
// configured, or with a real store connected in the database. On an App
// that passes it guards store connections so only sandbox stores can be
// added while it runs. cfg is the Config a was opened with; it does nothing
// unless cfg.Clock is a *SandboxClock. Whoever opens an App on a
// SandboxClock must call it (payper serve does) and close a on an error.
func (a *App) CheckSandboxClock(ctx context.Context, cfg Config) error {
	sc, ok := cfg.Clock.(*SandboxClock)
	if !ok {
		return nil
	}
	var real []string
	if !cfg.Sandbox {
		return errors.New("the sandbox clock needs the sandbox on (Config.Sandbox; payper serve --sandbox)")
	}
	for _, c := range cfg.Connectors {
		real = append(real, "platform "+string(c.Name()))
	}
	for _, p := range cfg.PayoutProviders {
		real = append(real, "payout provider "+p.Name())
	}
	if cfg.Ads.MetaToken != "" {
		real = append(real, "Meta ad account")
	}
	if cfg.Ads.TikTokToken != "" {
		real = append(real, "TikTok ad account")
	}
	var n int
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM stores WHERE sandbox = FALSE`).Scan(&n); err != nil {
		return fmt.Errorf("sandbox clock: count real stores: %w", err)
	}
	if n > 0 {
		real = append(real, fmt.Sprintf("%d real store(s) connected in the database", n))
	}
	if len(real) > 0 {
		return fmt.Errorf("the sandbox clock cannot run beside real providers (%s): moving time would release and pay real money early",
			strings.Join(real, ", "))
	}
	var saved string
	switch err := a.DB.Read().QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, settingSandboxClock).Scan(&saved); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return fmt.Errorf("sandbox clock: read the saved offset: %w", err)
	default:
		n, err := strconv.ParseInt(saved, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("sandbox clock: the saved offset %q is not a number of nanoseconds", saved)
		}
		sc.mu.Lock()
		sc.offset = max(sc.offset, time.Duration(n))
		sc.mu.Unlock()
	}
	sc.save = func(ctx context.Context, off time.Duration) error {
		return a.DB.WithTx(ctx, func(tx *store.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`, settingSandboxClock, strconv.FormatInt(int64(off), 10))
			return err
		})
	}
	a.Handler = sandboxStoresOnly(a.Handler)
	return nil
}

// sandboxStoresOnly refuses connecting a real store (the API's POST
// /v1/stores without "sandbox":true, the web app's POST /settings/stores
// without connect=sandbox) with 403.
func sandboxStoresOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || (r.URL.Path != "/v1/stores" && r.URL.Path != "/settings/stores") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		sandboxStore := false
		if r.URL.Path == "/v1/stores" {
			var d struct {
				Sandbox bool `json:"sandbox"`
			}
			sandboxStore = json.Unmarshal(body, &d) == nil && d.Sandbox
		} else if q, err := url.ParseQuery(string(body)); err == nil {
			sandboxStore = q.Get("connect") == "sandbox"
		}
		if sandboxStore {
			next.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/settings/stores" {
			http.Error(w, errSandboxClockStore, http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "sandbox_clock", "message": errSandboxClockStore, "field": "sandbox"}})
		_, _ = w.Write(append(b, '\n'))
	})
}
