package report

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// Labels of the optimize loop.
const (
	LabelScale   = "scale"   // the top third: their cap is doubled
	LabelRefresh = "refresh" // the middle: a fresh 14-day window
	LabelCut     = "cut"     // the bottom third: the collaboration ends
)

// Marks a ranking is made at.
const (
	Mark14     = "14d"       // 14 days after launch: the last 14 days
	Mark30     = "30d"       // 30 days after launch: the last 30 days
	MarkDemand = "on_demand" // whenever the brand asks: since launch
)

// RefreshWindow is the fresh window a refreshed creator is judged on next.
const RefreshWindow = 14 * 24 * time.Hour

// PlanPrefix prefixes optimize plan ids.
const PlanPrefix = "opt"

// Entry is one creator's place in a ranking.
type Entry struct {
	Rank      int    `json:"rank"`
	CreatorID string `json:"creator_id"`
	Handle    string `json:"handle,omitempty"`
	Label     string `json:"label"`
	// Primary and Secondary are the goal metrics' values ("—" when
	// undefined, e.g. a CPA without conversions).
	Primary   string `json:"primary"`
	Secondary string `json:"secondary,omitempty"`
	// TiedWithPrevious: the same primary and secondary values as the entry
	// before (the order between them is by creator id).
	TiedWithPrevious bool         `json:"tied_with_previous,omitempty"`
	Spend            money.Amount `json:"spend"`
	Conversions      int64        `json:"conversions"`
	Revenue          money.Amount `json:"revenue"`
	Engagements      int64        `json:"engagements"`
	// WindowFrom is the first day the creator was judged on (later than
	// the window's for a creator refreshed since).
	WindowFrom string `json:"window_from,omitempty"`
	Reason     string `json:"reason"`
}

// Plan is a ranking and what applying it would do.
type Plan struct {
	ID         string          `json:"id"`
	CampaignID string          `json:"campaign_id"`
	Mark       string          `json:"mark"`
	Window     Window          `json:"window"`
	Primary    campaign.Metric `json:"primary_metric"`
	Secondary  campaign.Metric `json:"secondary_metric,omitempty"`
	Entries    []Entry         `json:"entries"`
	// Auto: the job queue made it when the campaign reached the mark.
	Auto      bool         `json:"auto"`
	CreatedAt clock.Micros `json:"created_at"`
	AppliedAt clock.Micros `json:"applied_at,omitempty"`
}

const undefinedMark = "—"

// Optimize ranks the creators of a campaign p may see (its brand or the
// admin) at a mark — 14d (the last 14 days), 30d (the last 30) or
// on_demand (since launch) — by the goal's primary metric, ties broken by
// the secondary, undefined values last, and labels the top third scale,
// the bottom third cut and the rest refresh, each with its numbers and a
// reason. Creators whose collaboration ended are left out; a refreshed
// creator is judged from their refresh on. The plan is stored, not
// applied: ApplyPlan does that once the brand confirms. It returns
// Conflict goal_required without a goal, and NotFound for a campaign p may
// not see.
func (s *Service) Optimize(ctx context.Context, p identity.Principal, campaignID, mark string) (Plan, error) {
	return s.optimize(ctx, p, campaignID, mark, false, nil)
}

// errPlanExists: the mark's automatic plan was made already.
var errPlanExists = errs.Conflictf("plan_exists", "the mark's plan exists")

// optimize makes a plan; at, when set, is the window to judge on (the
// automatic plans judge the days up to their mark, however late they run).
func (s *Service) optimize(ctx context.Context, p identity.Principal, campaignID, mark string, auto bool, at *Window) (Plan, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return Plan{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return Plan{}, err
	}
	if camp.Setup == nil || camp.Setup.Goal.Primary == "" {
		return Plan{}, errs.Conflictf("goal_required", "campaign %s has no goal to rank creators by", camp.ID)
	}
	wname := map[string]string{Mark14: Window14, Mark30: Window30, MarkDemand: WindowLaunch, "": WindowLaunch}[mark]
	if wname == "" {
		return Plan{}, errs.Invalidf("mark", "invalid", "mark must be 14d, 30d or on_demand")
	}
	if mark == "" {
		mark = MarkDemand
	}
	now := s.clock.Now()
	w, err := ParseWindow(wname, "", "", now)
	if err != nil {
		return Plan{}, err
	}
	if at != nil {
		w = *at
	}
	plan := Plan{ID: id.New(PlanPrefix), CampaignID: camp.ID, Mark: mark, Window: w, Primary: camp.Setup.Goal.Primary,
		Secondary: camp.Setup.Goal.Secondary, Entries: []Entry{}, Auto: auto, CreatedAt: clock.MicrosOf(now)}
	q := s.db.Read()
	collabs, err := campaign.Collaborations(ctx, q, camp.ID)
	if err != nil {
		return Plan{}, err
	}
	creators, err := s.acceptedCreators(ctx, q, camp.ID)
	if err != nil {
		return Plan{}, err
	}
	type scored struct {
		e          Entry
		prim, sec  int64
		pOK, sOK   bool
		lowerFirst [2]bool
	}
	var list []scored
	var ids []string
	for _, c := range creators {
		if collabs[c].EndedAt != 0 {
			continue
		}
		ids = append(ids, c)
	}
	handles := map[string]string{}
	if s.handles != nil && len(ids) > 0 {
		if handles, err = s.handles(ctx, ids); err != nil {
			return Plan{}, err
		}
	}
	for _, c := range ids {
		from := w.from
		if ws := collabs[c].WindowStart; ws != 0 {
			from = max(from, rollup.DayOf(ws))
		}
		v, err := s.creatorSums(ctx, q, camp.ID, c, from, w.to)
		if err != nil {
			return Plan{}, err
		}
		r := row(v, camp.Currency, 0, 1)
		e := Entry{CreatorID: c, Handle: handles[c], Spend: r.Figures.Spend.Total, Conversions: r.Figures.Conversions,
			Revenue: r.Figures.Revenue, Engagements: r.Figures.Engagements}
		if from != w.from {
			e.WindowFrom = time.UnixMicro(rollup.DayStart(from)).UTC().Format(dateLayout)
		}
		sc := scored{e: e}
		sc.prim, sc.pOK, e.Primary = metricValue(plan.Primary, r)
		sc.lowerFirst[0] = lowerIsBetter(plan.Primary)
		if plan.Secondary != "" {
			sc.sec, sc.sOK, e.Secondary = metricValue(plan.Secondary, r)
			sc.lowerFirst[1] = lowerIsBetter(plan.Secondary)
		}
		sc.e = e
		list = append(list, sc)
	}
	better := func(a, b int64, lower bool) bool {
		if lower {
			return a < b
		}
		return a > b
	}
	cmpMetric := func(av, bv int64, aOK, bOK, lower bool) int {
		switch {
		case aOK && !bOK:
			return -1
		case !aOK && bOK:
			return 1
		case !aOK && !bOK, av == bv:
			return 0
		case better(av, bv, lower):
			return -1
		}
		return 1
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if c := cmpMetric(a.prim, b.prim, a.pOK, b.pOK, a.lowerFirst[0]); c != 0 {
			return c < 0
		}
		if c := cmpMetric(a.sec, b.sec, a.sOK, b.sOK, a.lowerFirst[1]); c != 0 {
			return c < 0
		}
		return a.e.CreatorID < b.e.CreatorID
	})
	n := len(list)
	third := n / 3
	for i := range list {
		e := &list[i].e
		e.Rank = i + 1
		if i > 0 && list[i].e.Primary == list[i-1].e.Primary && list[i].e.Secondary == list[i-1].e.Secondary {
			e.TiedWithPrevious = true
		}
		switch {
		case i < third:
			e.Label = LabelScale
		case i >= n-third:
			e.Label = LabelCut
		default:
			e.Label = LabelRefresh
		}
		e.Reason = reason(*e, plan, n, camp.Currency)
		plan.Entries = append(plan.Entries, *e)
	}
	b, err := json.Marshal(plan)
	if err != nil {
		return Plan{}, fmt.Errorf("report: encode plan: %w", err)
	}
	_, err = s.db.Writer().ExecContext(ctx, `INSERT INTO optimize_plans (id, campaign_id, mark, plan, auto, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		plan.ID, plan.CampaignID, plan.Mark, string(b), auto, int64(plan.CreatedAt))
	if auto && store.IsUniqueViolation(err) {
		return Plan{}, errPlanExists
	}
	if err != nil {
		return Plan{}, fmt.Errorf("report: store plan: %w", err)
	}
	return plan, nil
}

// AutoMarks makes, once each, the ranking of every open or paused campaign
// that reached its 14- or 30-day mark since launch (its start date, else
// its creation), for the brand to review and apply, judged on the days from
// launch to the mark whenever it runs. The job queue's tick runs it;
// servers racing on one mark make one plan. It returns how many plans it
// made, and the failures of campaigns it could not rank (the others are
// ranked regardless).
func (s *Service) AutoMarks(ctx context.Context) (int, error) {
	camps, err := s.campaigns.InState(ctx, campaign.StateOpen, campaign.StatePaused)
	if err != nil {
		return 0, err
	}
	admin := identity.Principal{Role: identity.RoleAdmin}
	now := s.clock.Now()
	made := 0
	var failed []error
	for _, c := range camps {
		if c.Setup == nil || c.Setup.Goal.Primary == "" {
			continue
		}
		launch := c.Setup.StartsAt
		if launch.IsZero() {
			launch = time.UnixMicro(int64(c.CreatedAt))
		}
		for _, m := range []struct {
			mark string
			at   time.Duration
		}{{Mark14, 14 * 24 * time.Hour}, {Mark30, 30 * 24 * time.Hour}} {
			if now.Before(launch.Add(m.at)) {
				continue
			}
			var n int
			if err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM optimize_plans WHERE campaign_id = $1 AND mark = $2 AND auto`,
				c.ID, m.mark).Scan(&n); err != nil {
				return made, fmt.Errorf("report: auto plans: %w", err)
			}
			if n > 0 {
				continue
			}
			// The mark's days: from launch to the day before the mark.
			first := launch.UTC().Truncate(24 * time.Hour)
			w, err := ParseWindow(WindowCustom, first.Format(dateLayout), first.Add(m.at-24*time.Hour).Format(dateLayout), now)
			if err == nil {
				_, err = s.optimize(ctx, admin, c.ID, m.mark, true, &w)
			}
			switch {
			case errors.Is(err, errPlanExists):
			case err != nil:
				// One campaign's failure does not hold the others' plans back.
				failed = append(failed, fmt.Errorf("report: %s plan of %s: %w", m.mark, c.ID, err))
			default:
				made++
			}
		}
	}
	return made, errors.Join(failed...)
}

// Plans returns a campaign's plans, newest first.
func (s *Service) Plans(ctx context.Context, p identity.Principal, campaignID string) ([]Plan, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return nil, errs.NotFoundf("campaign %s not found", campaignID)
	}
	camp, err := s.campaigns.Get(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	raws, err := store.QueryAll(ctx, s.db.Read(), func(r store.Scanner) (Plan, error) {
		var raw string
		var applied int64
		if err := r.Scan(&raw, &applied); err != nil {
			return Plan{}, err
		}
		var pl Plan
		if err := json.Unmarshal([]byte(raw), &pl); err != nil {
			return pl, fmt.Errorf("plan unreadable: %w", err)
		}
		pl.AppliedAt = clock.Micros(applied)
		return pl, nil
	}, `SELECT plan, applied_at FROM optimize_plans WHERE campaign_id = $1 ORDER BY id DESC`, camp.ID)
	if err != nil {
		return nil, fmt.Errorf("report: plans: %w", err)
	}
	return raws, nil
}

func lowerIsBetter(m campaign.Metric) bool { return m == campaign.MetricCPA || m == campaign.MetricCPE }

// metricValue reads a goal metric from a row: its micro-unit value, whether
// it is defined, and its display ("—" when undefined).
func metricValue(m campaign.Metric, r Row) (int64, bool, string) {
	var s string
	switch m {
	case campaign.MetricCPA:
		s = r.KPIs.CPA
	case campaign.MetricROAS:
		s = r.KPIs.ROAS
	case campaign.MetricRevenue:
		s = money.FormatMicros(r.Figures.Revenue.Micros)
	case campaign.MetricRedemptionRate:
		s = r.KPIs.RedemptionRate
	case campaign.MetricCPE:
		s = r.KPIs.CPE
	}
	v, err := money.ParseMicros(s)
	if s == Undefined || err != nil {
		return 0, false, undefinedMark
	}
	return v, true, s
}

// reason says in words why an entry got its label.
func reason(e Entry, p Plan, n int, cur money.Currency) string {
	name := strings.ToUpper(string(p.Primary))
	if p.Primary == campaign.MetricRevenue {
		name = "revenue"
	}
	var b strings.Builder
	if e.Primary == undefinedMark {
		fmt.Fprintf(&b, "%s undefined (%d conversions, spend %s %s)", name, e.Conversions, money.FormatMicros(e.Spend.Micros), cur)
	} else {
		fmt.Fprintf(&b, "%s %s, rank %d of %d", name, e.Primary, e.Rank, n)
	}
	if e.TiedWithPrevious {
		b.WriteString(", tied with the creator above")
	}
	switch e.Label {
	case LabelScale:
		b.WriteString(": top third — double their cap")
	case LabelCut:
		b.WriteString(": bottom third — end the collaboration (earned money stays theirs)")
	default:
		b.WriteString(": middle third — refresh with a new 14-day window")
	}
	return b.String()
}

func (s *Service) creatorSums(ctx context.Context, q store.Queryer, campaignID, creatorID string, from, to int64) (sums, error) {
	var v sums
	sel := ""
	dest := make([]any, len(v))
	for i, c := range rollup.Cols {
		if i > 0 {
			sel += ", "
		}
		sel += "COALESCE(SUM(" + c + "), 0)"
		dest[i] = &v[i]
	}
	err := q.QueryRowContext(ctx, `SELECT `+sel+` FROM rollups WHERE campaign_id = $1 AND creator_id = $2 AND day >= $3 AND day <= $4`,
		campaignID, creatorID, from, to).Scan(dest...)
	if err != nil {
		return v, fmt.Errorf("report: creator sums: %w", err)
	}
	return v, nil
}

// ApplyResult is what applying a plan did.
type ApplyResult struct {
	Plan    Plan          `json:"plan"`
	Changes []ApplyChange `json:"changes"`
}

// ApplyChange is one creator's change.
type ApplyChange struct {
	CreatorID string        `json:"creator_id"`
	Label     string        `json:"label"`
	OldCap    *money.Amount `json:"old_cap,omitempty"`
	NewCap    *money.Amount `json:"new_cap,omitempty"`
	Note      string        `json:"note"`
}

// ApplyPlan applies a stored plan once the brand confirms (confirm must
// be true): "scale" creators get double their cap (their own, else the
// campaign's; a campaign without a cap has nothing to double); "cut"
// collaborations end — no new accruals of any model, earned money
// untouched; "refresh" creators are judged from now on over a fresh
// 14-day window. Caps only bound what the escrow may pay each creator, so
// no money moves: every later accrual is still the ledger's balancing
// accrual from the same escrow. A plan applies once (Conflict
// plan_applied), not after a later plan was applied (Conflict plan_stale:
// its ranking no longer describes the campaign), and only while the
// campaign is open or paused (Conflict campaign_not_open).
func (s *Service) ApplyPlan(ctx context.Context, p identity.Principal, campaignID, planID string, confirm bool) (ApplyResult, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return ApplyResult{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	if !confirm {
		return ApplyResult{}, errs.Invalidf("confirm", "confirm_required", `applying a plan changes caps and ends collaborations: send {"confirm": true}`)
	}
	return s.applyPlan(ctx, p, campaignID, planID, true)
}

// PreviewPlan returns what ApplyPlan would do with a stored plan if it ran
// now, changing nothing: the same changes, computed by the same code (old
// and new caps, collaborations ended, windows refreshed), for the brand to
// confirm before applying. Its AppliedAt stays zero. It returns the errors
// ApplyPlan would (NotFound, Conflict plan_applied, plan_stale,
// campaign_not_open), but never asks for confirm.
func (s *Service) PreviewPlan(ctx context.Context, p identity.Principal, campaignID, planID string) (ApplyResult, error) {
	if p.BrandID() == "" && !p.IsAdmin() {
		return ApplyResult{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	return s.applyPlan(ctx, p, campaignID, planID, false)
}

// applyPlan computes a plan's changes and, when write is set, makes them.
func (s *Service) applyPlan(ctx context.Context, p identity.Principal, campaignID, planID string, write bool) (ApplyResult, error) {
	var res ApplyResult
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		res = ApplyResult{Changes: []ApplyChange{}}
		camp, err := s.campaigns.LockTx(ctx, tx, p, campaignID)
		if err != nil {
			return err
		}
		if camp.State != campaign.StateOpen && camp.State != campaign.StatePaused {
			return errs.Conflictf("campaign_not_open", "campaign %s is %s: plans apply while it is open or paused", camp.ID, camp.State)
		}
		var raw string
		var applied int64
		err = tx.QueryRowContext(ctx, `SELECT plan, applied_at FROM optimize_plans WHERE id = $1 AND campaign_id = $2`+tx.ForUpdate(),
			planID, camp.ID).Scan(&raw, &applied)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFoundf("plan %s not found", planID)
		}
		if err != nil {
			return err
		}
		if applied != 0 {
			return errs.Conflictf("plan_applied", "plan %s was already applied", planID)
		}
		var newer int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM optimize_plans WHERE campaign_id = $1 AND applied_at > 0 AND id > $2`,
			camp.ID, planID).Scan(&newer); err != nil {
			return err
		}
		if newer > 0 {
			return errs.Conflictf("plan_stale", "a plan made after %s was applied since: rank again and apply the new plan", planID)
		}
		if err := json.Unmarshal([]byte(raw), &res.Plan); err != nil {
			return fmt.Errorf("report: stored plan %s unreadable: %w", planID, err)
		}
		collabs, err := campaign.Collaborations(ctx, tx, camp.ID)
		if err != nil {
			return err
		}
		now := s.clock.Now().UnixMicro()
		var campCap int64
		if camp.Setup != nil {
			campCap = camp.Setup.CreatorCap
		}
		for _, e := range res.Plan.Entries {
			c := collabs[e.CreatorID]
			ch := ApplyChange{CreatorID: e.CreatorID, Label: e.Label}
			switch e.Label {
			case LabelScale:
				old := c.Cap
				if old == 0 {
					old = campCap
				}
				if old == 0 {
					ch.Note = "the campaign has no per-creator cap: nothing to double"
					break
				}
				nc := old * 2
				if nc/2 != old {
					nc = old
				}
				o, n := money.New(old, camp.Currency), money.New(nc, camp.Currency)
				ch.OldCap, ch.NewCap, c.Cap = &o, &n, nc
				ch.Note = "cap doubled"
			case LabelCut:
				c.EndedAt = now
				ch.Note = "collaboration ended: no new accruals"
			case LabelRefresh:
				c.WindowStart = now
				ch.Note = "judged from now on over a fresh 14-day window"
			}
			res.Changes = append(res.Changes, ch)
			if !write {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO collaborations (campaign_id, creator_id, cap, ended_at, window_start)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (campaign_id, creator_id) DO UPDATE SET cap = excluded.cap,
				ended_at = excluded.ended_at, window_start = excluded.window_start`,
				camp.ID, e.CreatorID, c.Cap, c.EndedAt, c.WindowStart); err != nil {
				return fmt.Errorf("report: apply to %s: %w", e.CreatorID, err)
			}
		}
		if !write {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE optimize_plans SET applied_at = $1 WHERE id = $2`, now, planID); err != nil {
			return err
		}
		res.Plan.AppliedAt = clock.Micros(now)
		return nil
	})
	return res, err
}
