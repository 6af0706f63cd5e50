package report

import (
	"context"
	"fmt"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// PaceDays is how many days, today included, the burn pace is measured
// over.
const PaceDays = 7

// Run-out statuses of a campaign's escrow (Burn.Status).
const (
	BurnUnfunded = "unfunded" // nothing was ever funded
	BurnSpent    = "spent"    // nothing is left in the escrow
	BurnNoPace   = "no_pace"  // money is left but too little was spent in the last PaceDays days to run out within 100 years
	BurnPacing   = "pacing"   // money is left and spent: RunOutDate says when it runs out
)

// Day is one UTC day of a campaign's daily series: what its rollups
// counted that day.
type Day struct {
	// Date is the day, YYYY-MM-DD (UTC).
	Date string `json:"date"`
	// EscrowSpend is what the escrow paid that day: creator earnings (all
	// models, less claw-backs) plus platform fees.
	EscrowSpend money.Amount `json:"escrow_spend"`
	// EscrowSpentToDate is EscrowSpend summed over every day up to and
	// including this one (since launch, not only the window's days).
	EscrowSpentToDate money.Amount `json:"escrow_spent_to_date"`
	// PaidSocial is the imported paid-social spend of the day (not from
	// the escrow).
	PaidSocial  money.Amount `json:"paid_social"`
	Views       int64        `json:"views"`
	Engagements int64        `json:"engagements"` // likes + comments + shares + saves
	Clicks      int64        `json:"clicks"`      // by people (bots apart)
	Conversions int64        `json:"conversions"` // attributed orders
	Revenue     money.Amount `json:"revenue"`
}

// Burn is how fast the escrow is spent and when it runs out at that pace.
type Burn struct {
	// State and Budget are the campaign's (as GET /v1/campaigns/{id}/money).
	State  string       `json:"state"`
	Budget money.Amount `json:"budget"`
	// Funded, Spent and Remaining are the ledger's escrow figures (as GET
	// /v1/campaigns/{id}/money).
	Funded    money.Amount `json:"funded"`
	Spent     money.Amount `json:"spent"`
	Remaining money.Amount `json:"remaining"`
	// PaceDays is the number of days the pace is measured over, today
	// included; PacePerDay is the escrow spend of those days divided by
	// PaceDays, floored to the micro-unit.
	PaceDays   int64        `json:"pace_days"`
	PacePerDay money.Amount `json:"pace_per_day"`
	// RunOutDate is the day the remaining escrow runs out at PacePerDay:
	// today + ceil(Remaining / PacePerDay) days. Empty unless Status is
	// pacing.
	RunOutDate string `json:"run_out_date,omitempty"`
	// EndsAt is the campaign's end date (YYYY-MM-DD of its last day), empty
	// before it is configured; RunsOutBeforeEnd says RunOutDate comes
	// before it.
	EndsAt           string `json:"ends_at,omitempty"`
	RunsOutBeforeEnd bool   `json:"runs_out_before_end"`
	// Status is unfunded, spent, no_pace or pacing.
	Status string `json:"status"`
}

// Series is a campaign's daily series over a window and the burn of its
// escrow.
type Series struct {
	CampaignID string         `json:"campaign_id"`
	Currency   money.Currency `json:"currency"`
	Window     Window         `json:"window"`
	// Days are every day of the window, oldest first, days without
	// anything included (zeros). Since launch starts at the campaign's
	// start date (or the first day with figures, when earlier).
	Days []Day `json:"days"`
	Burn Burn  `json:"burn"`
}

// Series returns the daily series of a campaign p may see (its brand or the
// admin) over window w, and its escrow's burn: the pace over the last
// PaceDays days and the day the escrow runs out at that pace. The window's
// days sum to the report's figures for the same window (Campaign). It
// returns NotFound for a campaign p may not see.
func (s *Service) Series(ctx context.Context, p identity.Principal, campaignID string, w Window) (Series, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return Series{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return Series{}, err
	}
	mon, err := s.campaigns.MoneyState(ctx, p, campaignID)
	if err != nil {
		return Series{}, err
	}
	q := s.db.Read()
	cols := []rollup.Col{rollup.EarnInteractions, rollup.EarnCommission, rollup.EarnCPA, rollup.EarnFlatFee, rollup.Fees,
		rollup.AdSpend, rollup.Views, rollup.Likes, rollup.Comments, rollup.Shares, rollup.Saves, rollup.ClicksHuman,
		rollup.Conversions, rollup.Revenue}
	sel := ""
	for _, c := range cols {
		sel += ", " + rollup.Cols[c]
	}
	type dayRow struct {
		day int64
		v   sums
	}
	today := rollup.DayOf(s.clock.Now().UnixMicro())
	// Days from the window's first (or the pace's, when earlier) to the
	// window's last (or today, when later), from the campaign's day totals
	// (rollup_days, kept by the rollup flush beside the per-creator rows:
	// one row per day, along its key); what came before is only needed as
	// one sum, of at most one row per earlier day.
	lo, hi := min(w.from, today-PaceDays+1), max(w.to, today)
	rows, err := store.QueryAll(ctx, q, func(r store.Scanner) (dayRow, error) {
		var d dayRow
		dest := []any{&d.day}
		for _, c := range cols {
			dest = append(dest, &d.v[c])
		}
		return d, r.Scan(dest...)
	}, `SELECT day`+sel+` FROM rollup_days WHERE campaign_id = $1 AND day >= $2 AND day <= $3 ORDER BY day`, camp.ID, lo, hi)
	if err != nil {
		return Series{}, fmt.Errorf("report: read daily rollups: %w", err)
	}
	var before int64
	if w.Name != WindowLaunch {
		if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(earn_interactions + earn_commission + earn_cpa + earn_flat_fee + fees), 0)
			FROM rollup_days WHERE campaign_id = $1 AND day < $2`, camp.ID, lo).Scan(&before); err != nil {
			return Series{}, fmt.Errorf("report: read rollups before the window: %w", err)
		}
	}
	escrow := func(v *sums) int64 {
		return v[rollup.EarnInteractions] + v[rollup.EarnCommission] + v[rollup.EarnCPA] + v[rollup.EarnFlatFee] + v[rollup.Fees]
	}
	from := w.from
	if w.Name == WindowLaunch {
		from = rollup.DayOf(int64(camp.CreatedAt))
		if camp.Setup != nil && !camp.Setup.StartsAt.IsZero() {
			from = rollup.DayOf(camp.Setup.StartsAt.UnixMicro())
		}
		if len(rows) > 0 && rows[0].day < from {
			from = rows[0].day
		}
		from = min(from, w.to)
	}
	cur := camp.Currency
	m := func(v int64) money.Amount { return money.New(v, cur) }
	ser := Series{CampaignID: camp.ID, Currency: cur, Window: w, Days: make([]Day, 0, w.to-from+1)}
	toDate, pace := before, int64(0)
	i := 0
	for ; i < len(rows) && rows[i].day < from; i++ {
		toDate += escrow(&rows[i].v)
	}
	for d := from; d <= w.to; d++ {
		var v sums
		if i < len(rows) && rows[i].day == d {
			v = rows[i].v
			i++
		}
		toDate += escrow(&v)
		ser.Days = append(ser.Days, Day{
			Date:              time.UnixMicro(rollup.DayStart(d)).UTC().Format(dateLayout),
			EscrowSpend:       m(escrow(&v)),
			EscrowSpentToDate: m(toDate),
			PaidSocial:        m(v[rollup.AdSpend]),
			Views:             v[rollup.Views],
			Engagements:       v[rollup.Likes] + v[rollup.Comments] + v[rollup.Shares] + v[rollup.Saves],
			Clicks:            v[rollup.ClicksHuman],
			Conversions:       v[rollup.Conversions],
			Revenue:           m(v[rollup.Revenue]),
		})
	}
	for _, r := range rows {
		if r.day > today-PaceDays && r.day <= today {
			pace += escrow(&r.v)
		}
	}
	ser.Burn = burn(camp, mon, pace, today)
	return ser, nil
}

// burn judges the escrow's run-out: paceSum is the escrow spend of the
// last PaceDays days up to today.
func burn(camp campaign.Campaign, mon campaign.Money, paceSum, today int64) Burn {
	b := Burn{State: mon.State, Budget: mon.Budget, Funded: mon.Funded, Spent: mon.Spent, Remaining: mon.Remaining, PaceDays: PaceDays,
		PacePerDay: money.New(max(paceSum, 0)/PaceDays, camp.Currency)}
	end := int64(-1)
	if camp.Setup != nil && !camp.Setup.EndsAt.IsZero() {
		end = rollup.DayOf(camp.Setup.EndsAt.UnixMicro() - 1)
		b.EndsAt = dayDate(end)
	}
	switch {
	case mon.Funded.Micros == 0:
		b.Status = BurnUnfunded
	case mon.Remaining.Micros <= 0:
		b.Status = BurnSpent
	case b.PacePerDay.Micros <= 0 || mon.Remaining.Micros/b.PacePerDay.Micros >= maxRunOutDays:
		b.Status = BurnNoPace
	default:
		b.Status = BurnPacing
		pace := b.PacePerDay.Micros
		days := (mon.Remaining.Micros + pace - 1) / pace
		out := today + days
		b.RunOutDate = dayDate(out)
		b.RunsOutBeforeEnd = end >= 0 && out < end
	}
	return b
}

// maxRunOutDays bounds a projected run-out: about 100 years.
const maxRunOutDays = 36_525

func dayDate(day int64) string { return time.UnixMicro(rollup.DayStart(day)).UTC().Format(dateLayout) }
