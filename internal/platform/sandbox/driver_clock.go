package sandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
)

// MovableClock is a clock the driver may move forward: the one payper serve
// runs on with --sandbox-clock (app.SandboxClock). Every service of the
// server reads the same clock, so moving it moves the engagement ticks, the
// holding period's releases, fraud holds and sessions together.
type MovableClock interface {
	clock.Clock
	// AdvanceBy moves the clock forward by d (d > 0) and returns the new time.
	AdvanceBy(d time.Duration) (time.Time, error)
	// Offset is how far the clock has been moved ahead of the wall clock.
	Offset() time.Duration
}

// MaxClockAdvance is the most one advance may move the clock.
const MaxClockAdvance = 366 * 24 * time.Hour

// clockRoutes serves the clock under p:
//
//	GET  /clock          → {"now","offset","movable"}
//	POST /clock/advance  {"by":"36h"|"2d"} → {"now","offset","movable":true}; 404 clock_fixed when the server's clock cannot be moved
func (d *DriverHandler) clockRoutes(p string) {
	d.mux.HandleFunc("GET "+p+"/clock", d.getClock)
	d.mux.HandleFunc("POST "+p+"/clock/advance", d.advanceClock)
}

type clockState struct {
	Now     time.Time `json:"now"`
	Offset  string    `json:"offset"`
	Movable bool      `json:"movable"`
}

func (d *DriverHandler) clockState() clockState {
	s := clockState{Now: d.world.clock.Now().UTC(), Offset: time.Duration(0).String()}
	if mc, ok := d.world.clock.(MovableClock); ok {
		s.Movable, s.Offset = true, mc.Offset().String()
	}
	return s
}

func (d *DriverHandler) getClock(rw http.ResponseWriter, _ *http.Request) {
	writeJSON(rw, http.StatusOK, d.clockState())
}

func (d *DriverHandler) advanceClock(rw http.ResponseWriter, r *http.Request) {
	mc, ok := d.world.clock.(MovableClock)
	if !ok {
		d.fail(rw, r, errs.E(errs.NotFound, "clock_fixed",
			"this server's clock cannot be moved: start payper serve with --sandbox-clock (PAYPER_SANDBOX_CLOCK=true) and no real provider configured"))
		return
	}
	var req struct {
		By string `json:"by"`
	}
	if err := decode(rw, r, &req); err != nil {
		d.fail(rw, r, err)
		return
	}
	by, err := ParseAdvance(req.By)
	if err != nil {
		d.fail(rw, r, err)
		return
	}
	if _, err := mc.AdvanceBy(by); err != nil {
		d.fail(rw, r, err)
		return
	}
	d.log.InfoContext(r.Context(), "sandbox clock advanced", "by", by, "now", mc.Now(), "offset", mc.Offset())
	writeJSON(rw, http.StatusOK, d.clockState())
}

// ParseAdvance reads how far to move the clock: a Go duration ("90m",
// "36h") or whole days ("2d"), more than zero and at most MaxClockAdvance.
// Errors are Invalid naming the field "by".
func ParseAdvance(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errs.Invalidf("by", "required", `give how far to move the clock, e.g. "36h" or "2d"`)
	}
	var by time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n <= 0 || n > int64(MaxClockAdvance/(24*time.Hour)) {
			return 0, errs.Invalidf("by", "invalid_duration", "%q is not a number of days from 1 to %d", s, int64(MaxClockAdvance/(24*time.Hour)))
		}
		by = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if by, err = time.ParseDuration(s); err != nil {
			return 0, errs.Invalidf("by", "invalid_duration", `%q is not a duration (e.g. "90m", "36h", "2d")`, s)
		}
	}
	if by <= 0 {
		return 0, errs.Invalidf("by", "not_forward", "the clock only moves forward: %q is not more than zero", s)
	}
	if by > MaxClockAdvance {
		return 0, errs.Invalidf("by", "too_far", "%q is more than one advance may move the clock (%s)", s, MaxClockAdvance)
	}
	return by, nil
}
