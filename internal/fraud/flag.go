// Package fraud is payper's fraud detection: the flags detectors raise,
// the holds an open flag puts on earnings, the per-campaign sensitivity,
// and the detectors themselves — small pure functions over data payper
// already has, each naming its published basis (see
// ../shared/reference/fraud.md and the README's "Fraud detection").
//
// A detector calls Raise inside the billing transaction (or after it);
// raising is idempotent per (detector, subject, window). While a flag is
// open the earnings it touches are not released by the holding period's
// release; a person dismisses it (they release on schedule) or confirms it
// (engage voids them through the ledger).
package fraud

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
)

// IDPrefix prefixes flag ids.
const IDPrefix = "flg"

// Subject kinds: what a flag is about.
const (
	SubjectPost        = "post"
	SubjectCreator     = "creator"
	SubjectClick       = "click"
	SubjectOrder       = "order"
	SubjectDestination = "payout_destination"
)

// Severities.
const (
	SeverityLow    = "low"
	SeverityMedium = "medium"
	SeverityHigh   = "high"
)

// Flag states.
const (
	StateOpen      = "open"
	StateDismissed = "dismissed"
	StateConfirmed = "confirmed"
)

// Decisions a person takes on an open flag.
const (
	ActionDismiss = "dismiss"
	ActionConfirm = "confirm"
)

// Reason categories: what the creator is told about a flag on their
// earnings — the kind of problem, never the detector's thresholds.
const (
	CategoryEngagement  = "unusual_engagement"  // bursts, ratios off baseline
	CategoryCounters    = "inconsistent_counts" // counters impossible together, or removed by the platform
	CategoryFollowers   = "unusual_followers"   // follower jumps or purges
	CategoryContent     = "content_unavailable" // the post was deleted, made private, or lost its disclosure
	CategoryClicks      = "invalid_clicks"      // bots, duplicates, coordinated clicking
	CategoryOrders      = "suspicious_orders"   // self-purchases, conversion anomalies
	CategoryDestination = "payout_destination"  // a payout destination shared with another creator
	CategoryBanned      = "account_banned"      // the operator banned the creator
)

// CategoryText is what a creator reads for each category.
var CategoryText = map[string]string{
	CategoryEngagement:  "Engagement on your content grew in a way that needs a person's review.",
	CategoryCounters:    "The platform's counters for your content do not add up and need a person's review.",
	CategoryFollowers:   "Your follower count changed in a way that needs a person's review.",
	CategoryContent:     "Content this amount pays for was removed, made private or lost its disclosure.",
	CategoryClicks:      "Some clicks on your links look automated or repeated and need a person's review.",
	CategoryOrders:      "Some orders attributed to you need a person's review.",
	CategoryDestination: "Your payout destination needs a person's review.",
	CategoryBanned:      "The operator banned your account: amounts not yet released are withheld and no more are earned.",
}

// Flag is what a detector found. Reason is for the brand and the operator
// and carries the numbers; Category is what the creator is told.
type Flag struct {
	ID       string `json:"id"`
	Detector string `json:"detector"`
	// Subject is the kind of thing flagged (post, creator, click, order,
	// payout_destination) and SubjectID its id.
	Subject    string  `json:"subject"`
	SubjectID  string  `json:"subject_id"`
	CampaignID string  `json:"campaign_id,omitempty"`
	CreatorID  string  `json:"creator_id,omitempty"`
	Score      float64 `json:"score"`
	Severity   string  `json:"severity"`
	Reason     string  `json:"reason"`
	Category   string  `json:"category"`
	// Evidence are the numbers behind the reason, by name.
	Evidence map[string]float64 `json:"evidence,omitempty"`
	// Window tells repeats apart: the same detector on the same subject and
	// window raises one flag. Only used to build the key; not stored apart.
	Window string `json:"-"`
	// Holds: while open, the flag holds the creator's earnings in the
	// campaign (in every campaign when CampaignID is "") accrued at or after
	// HoldsFrom. EarningID, when set, is one earning it holds.
	Holds     bool         `json:"holds"`
	HoldsFrom clock.Micros `json:"holds_from,omitempty"`
	EarningID string       `json:"earning_id,omitempty"`

	State          string       `json:"state"`
	RaisedAt       clock.Micros `json:"raised_at"`
	DecidedBy      string       `json:"decided_by,omitempty"`
	DecidedAt      clock.Micros `json:"decided_at,omitempty"`
	DecisionReason string       `json:"decision_reason,omitempty"`
}

// Key is the flag's idempotency key: detector, subject and window.
func (f Flag) Key() string {
	return f.Detector + "|" + f.Subject + "|" + f.SubjectID + "|" + f.Window
}

const flagCols = `id, detector, subject_kind, subject_id, campaign_id, creator_id, score, severity, reason, category, evidence,
	holds, holds_from, earning_id, state, raised_at, decided_by, decided_at, decision_reason`

func scanFlag(r store.Scanner) (Flag, error) {
	var f Flag
	var ev string
	if err := r.Scan(&f.ID, &f.Detector, &f.Subject, &f.SubjectID, &f.CampaignID, &f.CreatorID, &f.Score, &f.Severity, &f.Reason,
		&f.Category, &ev, &f.Holds, &f.HoldsFrom, &f.EarningID, &f.State, &f.RaisedAt, &f.DecidedBy, &f.DecidedAt, &f.DecisionReason); err != nil {
		return f, err
	}
	if ev != "" && ev != "{}" {
		if err := json.Unmarshal([]byte(ev), &f.Evidence); err != nil {
			return f, fmt.Errorf("fraud: flag %s: stored evidence unreadable: %w", f.ID, err)
		}
	}
	return f, nil
}

func validate(f Flag) error {
	switch f.Subject {
	case SubjectPost, SubjectCreator, SubjectClick, SubjectOrder, SubjectDestination:
	default:
		return fmt.Errorf("fraud: flag subject %q unknown", f.Subject)
	}
	switch f.Severity {
	case SeverityLow, SeverityMedium, SeverityHigh:
	default:
		return fmt.Errorf("fraud: flag severity %q unknown", f.Severity)
	}
	if _, ok := CategoryText[f.Category]; !ok {
		return fmt.Errorf("fraud: flag category %q unknown", f.Category)
	}
	if f.Detector == "" || f.SubjectID == "" || f.Reason == "" {
		return errors.New("fraud: a flag needs a detector, a subject id and a reason")
	}
	if (f.Holds || f.EarningID != "") && f.CreatorID == "" {
		return errors.New("fraud: a flag that holds earnings needs the creator")
	}
	return nil
}

// Raise records f as an open flag raised at now, unless the same detector
// already raised one on the same subject and window (whatever its state
// since): then it returns that flag and created false. It runs in the
// caller's transaction, so a detector in the billing transaction holds the
// earning that transaction makes.
func Raise(ctx context.Context, tx *store.Tx, now clock.Micros, f Flag) (Flag, bool, error) {
	if err := validate(f); err != nil {
		return Flag{}, false, err
	}
	ev := []byte("{}")
	if len(f.Evidence) > 0 {
		var err error
		if ev, err = json.Marshal(f.Evidence); err != nil {
			return Flag{}, false, fmt.Errorf("fraud: flag evidence: %w", err)
		}
	}
	f.ID, f.State, f.RaisedAt = id.New(IDPrefix), StateOpen, now
	f.DecidedBy, f.DecidedAt, f.DecisionReason = "", 0, ""
	res, err := tx.ExecContext(ctx, `INSERT INTO fraud_flags (id, dedup_key, detector, subject_kind, subject_id, campaign_id, creator_id,
		score, severity, reason, category, evidence, holds, holds_from, earning_id, state, raised_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (dedup_key) DO NOTHING`,
		f.ID, f.Key(), f.Detector, f.Subject, f.SubjectID, f.CampaignID, f.CreatorID, f.Score, f.Severity, f.Reason, f.Category,
		string(ev), f.Holds, int64(f.HoldsFrom), f.EarningID, f.State, int64(now))
	if err != nil {
		return Flag{}, false, fmt.Errorf("fraud: raise flag: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return Flag{}, false, fmt.Errorf("fraud: raise flag: %w", err)
	} else if n == 1 {
		return f, true, nil
	}
	got, err := scanFlag(tx.QueryRowContext(ctx, `SELECT `+flagCols+` FROM fraud_flags WHERE dedup_key = $1`, f.Key()))
	if err != nil {
		return Flag{}, false, fmt.Errorf("fraud: read flag %s: %w", f.Key(), err)
	}
	return got, false, nil
}

// Get returns flag id as p may see it: the operator any, a brand those of
// its campaigns, a creator none (creators see categories on their
// earnings). Not found otherwise.
func Get(ctx context.Context, q store.Queryer, p identity.Principal, flagID string) (Flag, error) {
	f, err := scanFlag(q.QueryRowContext(ctx, `SELECT `+flagCols+` FROM fraud_flags WHERE id = $1`, flagID))
	if errors.Is(err, sql.ErrNoRows) {
		return Flag{}, errs.NotFoundf("flag %s not found", flagID)
	}
	if err != nil {
		return Flag{}, fmt.Errorf("fraud: read flag %s: %w", flagID, err)
	}
	if err := canSee(ctx, q, p, f); err != nil {
		return Flag{}, err
	}
	return f, nil
}

// canSee is nil when p may see and decide f.
func canSee(ctx context.Context, q store.Queryer, p identity.Principal, f Flag) error {
	if p.IsAdmin() {
		return nil
	}
	if b := p.BrandID(); b != "" && f.CampaignID != "" {
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM campaigns WHERE id = $1 AND brand_id = $2`, f.CampaignID, b).Scan(&n); err != nil {
			return fmt.Errorf("fraud: campaign of flag %s: %w", f.ID, err)
		}
		if n == 1 {
			return nil
		}
	}
	return errs.NotFoundf("flag %s not found", f.ID)
}

// Filter narrows List. Empty fields match all.
type Filter struct {
	CampaignID string
	CreatorID  string
	State      string
	Detector   string
	// AfterCreator and After are the creator and id of the last flag of
	// the page before: only flags after it in List's order (pages of Limit).
	AfterCreator string
	After        string
	Limit        int
}

// List returns the flags p may see that match fl, ordered by creator then
// id (a queue grouped per creator): a brand's are those of its campaigns,
// the operator's all.
func List(ctx context.Context, q store.Queryer, p identity.Principal, fl Filter) ([]Flag, error) {
	switch fl.State {
	case "", StateOpen, StateDismissed, StateConfirmed:
	default:
		return nil, errs.Invalidf("state", "invalid", "state must be open, dismissed or confirmed")
	}
	brand := ""
	if !p.IsAdmin() {
		if brand = p.BrandID(); brand == "" {
			return nil, errs.NotFoundf("no flags")
		}
	}
	if fl.Limit <= 0 || fl.Limit > 1000 {
		fl.Limit = 1000
	}
	out, err := store.QueryAll(ctx, q, scanFlag, `SELECT `+flagCols+` FROM fraud_flags
		WHERE ($1 = '' OR campaign_id IN (SELECT id FROM campaigns WHERE brand_id = $1))
		AND ($2 = '' OR campaign_id = $2) AND ($3 = '' OR creator_id = $3) AND ($4 = '' OR state = $4)
		AND ($5 = '' OR detector = $5) AND (creator_id > $6 OR (creator_id = $6 AND id > $7))
		ORDER BY creator_id, id LIMIT `+fmt.Sprint(fl.Limit), brand, fl.CampaignID, fl.CreatorID, fl.State, fl.Detector, fl.AfterCreator, fl.After)
	if err != nil {
		return nil, fmt.Errorf("fraud: list flags: %w", err)
	}
	return out, nil
}

// Who names p for a decision's record.
func Who(p identity.Principal) string {
	var b strings.Builder
	b.WriteString(p.Role)
	if p.SubjectID != "" {
		b.WriteString(":" + p.SubjectID)
	}
	if p.KeyID != "" {
		b.WriteString(" (key " + p.KeyID + ")")
	}
	return b.String()
}

// DecideTx records p's decision (ActionDismiss or ActionConfirm) on open
// flag flagID, with a reason (required), under the flag row's lock, and
// returns the flag as decided. A flag already decided is a Conflict. What
// the decision does to earnings is the caller's (engage's) part, in the
// same transaction.
func DecideTx(ctx context.Context, tx *store.Tx, p identity.Principal, now clock.Micros, flagID, action, reason string) (Flag, error) {
	state := ""
	switch action {
	case ActionDismiss:
		state = StateDismissed
	case ActionConfirm:
		state = StateConfirmed
	default:
		return Flag{}, errs.Invalidf("action", "unknown_action", "unknown decision %q: use dismiss or confirm", action)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return Flag{}, errs.Invalidf("reason", "required", "say why: every decision on a flag is recorded with its reason")
	}
	if len(reason) > 1000 {
		return Flag{}, errs.Invalidf("reason", "too_long", "reason is longer than 1000 bytes")
	}
	f, err := scanFlag(tx.QueryRowContext(ctx, `SELECT `+flagCols+` FROM fraud_flags WHERE id = $1`+tx.ForUpdate(), flagID))
	if errors.Is(err, sql.ErrNoRows) {
		return Flag{}, errs.NotFoundf("flag %s not found", flagID)
	}
	if err != nil {
		return Flag{}, fmt.Errorf("fraud: read flag %s: %w", flagID, err)
	}
	if err := canSee(ctx, tx, p, f); err != nil {
		return Flag{}, err
	}
	if f.State != StateOpen {
		return Flag{}, errs.Conflictf("flag_decided", "flag %s is already %s", f.ID, f.State)
	}
	f.State, f.DecidedBy, f.DecidedAt, f.DecisionReason = state, Who(p), now, reason
	if _, err := tx.ExecContext(ctx, `UPDATE fraud_flags SET state = $1, decided_by = $2, decided_at = $3, decision_reason = $4 WHERE id = $5`,
		f.State, f.DecidedBy, int64(now), f.DecisionReason, f.ID); err != nil {
		return Flag{}, fmt.Errorf("fraud: decide flag %s: %w", f.ID, err)
	}
	return f, nil
}

// HoldsEarning is an SQL condition true when an open flag holds the earning
// whose table alias is e (columns id, campaign_id, creator_id, accrued_at).
func HoldsEarning(e string) string {
	return `EXISTS (SELECT 1 FROM fraud_flags ff WHERE ff.creator_id = ` + e + `.creator_id AND ff.state = 'open'
		AND (ff.earning_id = ` + e + `.id OR (ff.holds AND (ff.campaign_id = '' OR ff.campaign_id = ` + e + `.campaign_id)
		AND ff.holds_from <= ` + e + `.accrued_at)))`
}

// HoldingFlags returns the open flags holding the earning (id, campaign,
// creator, accrued at), oldest first.
func HoldingFlags(ctx context.Context, q store.Queryer, earningID, campaignID, creatorID string, accruedAt clock.Micros) ([]Flag, error) {
	out, err := store.QueryAll(ctx, q, scanFlag, `SELECT `+flagCols+` FROM fraud_flags WHERE creator_id = $1 AND state = 'open'
		AND (earning_id = $2 OR (holds AND (campaign_id = '' OR campaign_id = $3) AND holds_from <= $4)) ORDER BY id`,
		creatorID, earningID, campaignID, int64(accruedAt))
	if err != nil {
		return nil, fmt.Errorf("fraud: flags holding %s: %w", earningID, err)
	}
	return out, nil
}

// HoldsOne reports whether f, open, holds the earning (id, campaign, creator,
// accrued at): the same rule as HoldsEarning.
func (f Flag) HoldsOne(earningID, campaignID, creatorID string, accruedAt clock.Micros) bool {
	if f.State != StateOpen || f.CreatorID != creatorID {
		return false
	}
	if f.EarningID != "" && f.EarningID == earningID {
		return true
	}
	return f.Holds && (f.CampaignID == "" || f.CampaignID == campaignID) && f.HoldsFrom <= accruedAt
}
