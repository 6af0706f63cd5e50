package campaign

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
)

// The lifecycle after funding:
//
//	draft → funded → open ⇄ paused → completed → closed
//
// open: creators may apply and post, and engagement is billed. paused: the
// campaign stays listed for nobody and bills nothing, but keeps its creators
// and posts. completed: billing has stopped for good (budget exhausted, end
// date reached, or the brand ended it); earnings still in their holding
// period are released on schedule. closed: open earnings are settled and the
// unspent escrow is refunded to the brand.
const (
	StateOpen      = "open"
	StatePaused    = "paused"
	StateCompleted = "completed"
	StateClosed    = "closed"
)

// Why a campaign completed.
const (
	CompletedBudget  = "budget_exhausted"
	CompletedEndDate = "end_date_reached"
	CompletedByBrand = "ended_by_brand"
)

// Actions a brand (or the admin) may take on a campaign's lifecycle.
const (
	ActionOpen     = "open"
	ActionPause    = "pause"
	ActionResume   = "resume"
	ActionComplete = "complete"
)

// transitions lists, per action, the states it may start from and the state
// it leads to. Closing is not here: it settles money (see the engagement
// package), and funding moves draft → funded (see Fund).
var transitions = map[string]struct {
	from []string
	to   string
}{
	ActionOpen:     {[]string{StateFunded}, StateOpen},
	ActionPause:    {[]string{StateOpen}, StatePaused},
	ActionResume:   {[]string{StatePaused}, StateOpen},
	ActionComplete: {[]string{StateOpen, StatePaused}, StateCompleted},
}

// Billable reports whether a campaign in state st bills engagement.
func Billable(st string) bool { return st == StateOpen }

// Transition applies a lifecycle action to a campaign of the brand p acts
// for (or any campaign, for the admin). It returns NotFound for a campaign p
// may not see, Invalid for an unknown action, and a Conflict whose message
// gives the reason when the campaign's state does not allow the action.
// Opening needs a setup with at least one price and an end date still ahead.
func (s *Service) Transition(ctx context.Context, p identity.Principal, campaignID, action string) (Campaign, error) {
	tr, ok := transitions[action]
	if !ok {
		return Campaign{}, errs.Invalidf("action", "unknown_action", "unknown action %q: use open, pause, resume or complete", action)
	}
	if p.BrandID() == "" && !p.IsAdmin() {
		return Campaign{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	var out Campaign
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		camp, err := s.LockTx(ctx, tx, p, campaignID)
		if err != nil {
			return err
		}
		if !slices.Contains(tr.from, camp.State) {
			return errs.Conflictf("invalid_transition", "campaign %s is %s; %s needs it to be %s", camp.ID, camp.State, action, OrList(tr.from))
		}
		now := s.clock.Now()
		if action == ActionOpen || action == ActionResume {
			if err := readyToBill(camp, now); err != nil {
				return err
			}
		}
		reason := ""
		if action == ActionComplete {
			reason = CompletedByBrand
		}
		if err := s.SetStateTx(ctx, tx, &camp, tr.to, reason); err != nil {
			return err
		}
		out = camp
		return nil
	})
	return out, err
}

func readyToBill(c Campaign, now time.Time) error {
	switch {
	case c.Setup == nil:
		return errs.Conflictf("setup_required", "campaign %s has no setup yet: PUT /v1/campaigns/%s/setup first", c.ID, c.ID)
	case c.Setup.Prices == Prices{} && !c.Setup.Performance.Pays():
		return errs.Conflictf("setup_required", "campaign %s prices no interaction and sets no performance payment", c.ID)
	case !c.Setup.EndsAt.After(now):
		return errs.Conflictf("campaign_ended", "campaign %s ended at %s", c.ID, c.Setup.EndsAt.Format(time.RFC3339))
	}
	return nil
}

// LockTx reads a campaign p may see inside tx, locking its row (on
// PostgreSQL; SQLite's writer is already exclusive) so that its state cannot
// change until tx ends. It returns NotFound for a campaign p may not see.
func (s *Service) LockTx(ctx context.Context, tx *store.Tx, p identity.Principal, campaignID string) (Campaign, error) {
	camp, err := scan(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM campaigns WHERE id = $1`+tx.ForUpdate(), campaignID))
	return visible(camp, err, p, campaignID)
}

// SetStateTx moves c to state inside tx, recording reason (why it completed;
// "" otherwise). It does not check the transition: callers do.
func (s *Service) SetStateTx(ctx context.Context, tx *store.Tx, c *Campaign, state, reason string) error {
	now := s.clock.Now().UnixMicro()
	if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = $1, state_reason = $2, updated_at = $3 WHERE id = $4`,
		state, reason, now, c.ID); err != nil {
		return fmt.Errorf("campaign: set state of %s: %w", c.ID, err)
	}
	c.State, c.StateReason, c.UpdatedAt = state, reason, clock.Micros(now)
	return nil
}

// Internal reads any campaign, for background work acting for the platform
// itself (billing, completion). It returns NotFound when there is none.
func (s *Service) Internal(ctx context.Context, q store.Queryer, campaignID string) (Campaign, error) {
	c, err := scan(q.QueryRowContext(ctx, `SELECT `+cols+` FROM campaigns WHERE id = $1`, campaignID))
	return visible(c, err, identity.Principal{Role: identity.RoleAdmin}, campaignID)
}

// InState returns every campaign in one of the given states, oldest first,
// for background work and the marketplace.
func (s *Service) InState(ctx context.Context, states ...string) ([]Campaign, error) {
	if len(states) == 0 {
		return []Campaign{}, nil
	}
	cond, arg := store.InText(s.db.Dialect(), "state", 1, states)
	out, err := store.QueryAll(ctx, s.db.Read(), scan, `SELECT `+cols+` FROM campaigns WHERE `+cond+` ORDER BY id`, arg)
	if err != nil {
		return nil, fmt.Errorf("campaign: list by state: %w", err)
	}
	return out, nil
}

// OrList joins words for a message: "a", "a or b", "a, b or c".
func OrList(list []string) string {
	switch len(list) {
	case 0:
		return ""
	case 1:
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}
