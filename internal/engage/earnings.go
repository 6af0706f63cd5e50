package engage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// Earning is what the ledger granted a creator in one billing tick of a
// campaign. Gross = Fee + Net; Requested is what the growth cost before the
// escrow and the creator's cap cut it down.
type Earning struct {
	ID         string         `json:"id"`
	CampaignID string         `json:"campaign_id"`
	CreatorID  string         `json:"creator_id"`
	Requested  money.Amount   `json:"requested"`
	Gross      money.Amount   `json:"gross"`
	Fee        money.Amount   `json:"fee"`
	Net        money.Amount   `json:"net"`
	Detail     []growthDetail `json:"detail"`
	// Kind is what the earning pays for: interactions (engagement growth),
	// commission or cpa (an attributed order: Source is the order id) or
	// flat_fee (acceptance: Source is the application id).
	Kind   string `json:"kind"`
	Source string `json:"source,omitempty"`
	// Clawed is what refunds took back of the earning after it was made
	// (gross, and the creator's net share of it).
	ClawedGross  money.Amount `json:"clawed_gross"`
	ClawedNet    money.Amount `json:"clawed_net"`
	AccrueTxID   string       `json:"accrue_tx_id"`
	State        string       `json:"state"`
	ReviewReason string       `json:"review_reason,omitempty"`
	AccruedAt    clock.Micros `json:"accrued_at"`
	ReleaseAt    clock.Micros `json:"release_at"`
	ResolvedAt   clock.Micros `json:"resolved_at,omitempty"`
	ResolveTxID  string       `json:"resolve_tx_id,omitempty"`
	// UnderReview: an open fraud flag holds the earning; the holding
	// period's release skips it until a person decides. ReviewCategory is
	// the flag's reason category (fraud.Category…) and ReviewNote what it
	// means for the creator — never the detector's thresholds.
	UnderReview    bool   `json:"under_review,omitempty"`
	ReviewCategory string `json:"review_category,omitempty"`
	ReviewNote     string `json:"review_note,omitempty"`
}

const earningSelect = `id, campaign_id, creator_id, currency, requested, gross, fee, net, detail, accrue_tx_id, state, review_reason,
	accrued_at, release_at, resolved_at, resolve_tx_id, kind, source_id, clawed_gross, clawed_net`

func scanEarning(row interface{ Scan(...any) error }) (Earning, error) {
	var e Earning
	var cur, detail string
	var req, gross, fee, net, cg, cn int64
	if err := row.Scan(&e.ID, &e.CampaignID, &e.CreatorID, &cur, &req, &gross, &fee, &net, &detail, &e.AccrueTxID, &e.State,
		&e.ReviewReason, &e.AccruedAt, &e.ReleaseAt, &e.ResolvedAt, &e.ResolveTxID, &e.Kind, &e.Source, &cg, &cn); err != nil {
		return e, err
	}
	c := money.Currency(cur)
	e.Requested, e.Gross, e.Fee, e.Net = money.New(req, c), money.New(gross, c), money.New(fee, c), money.New(net, c)
	e.ClawedGross, e.ClawedNet = money.New(cg, c), money.New(cn, c)
	if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
		return e, fmt.Errorf("engage: earning %s: stored detail unreadable: %w", e.ID, err)
	}
	return e, nil
}

// ListEarnings returns a campaign's earnings, oldest first, optionally of
// one state and one creator: all of them for its brand or the admin, their
// own for a creator.
func (s *Service) ListEarnings(ctx context.Context, p identity.Principal, campaignID, state, creatorID string) ([]Earning, error) {
	switch state {
	case "", EarningHeld, EarningOnHold, EarningReleased, EarningVoided:
	default:
		return nil, errs.Invalidf("state", "invalid", "state must be held, on_hold, released or voided")
	}
	if c := p.CreatorID(); c != "" {
		creatorID = c
		if _, err := s.apps.AcceptedAt(ctx, s.db.Read(), campaignID, c); err != nil {
			return nil, err
		}
	} else if _, err := s.campaigns.Get(ctx, p, campaignID); err != nil {
		return nil, err
	}
	out, err := store.QueryAll(ctx, s.db.Read(), scanEarning, `SELECT `+earningSelect+` FROM earnings WHERE campaign_id = $1
		AND ($2 = '' OR state = $2) AND ($3 = '' OR creator_id = $3) ORDER BY id`, campaignID, state, creatorID)
	if err != nil {
		return nil, fmt.Errorf("engage: list earnings: %w", err)
	}
	if err := markUnderReview(ctx, s.db.Read(), campaignID, creatorID, out); err != nil {
		return nil, err
	}
	return out, nil
}

// Review actions.
const (
	ReviewHold    = "hold"    // keep the earning held past its holding period
	ReviewRelease = "release" // release it to the creator now
	ReviewVoid    = "void"    // return it to the escrow, reversing the fee
)

// Review applies a reviewer's decision to an earning still held or on hold:
// hold keeps it from being released until a later decision; release moves
// it to the creator's available balance now; void returns its gross amount
// to the campaign's escrow (to the brand, once the campaign is closed) and
// reverses the platform fee pro rata. Only the campaign's brand or the admin
// may review. A decided (released or voided) earning is a Conflict.
func (s *Service) Review(ctx context.Context, p identity.Principal, earningID, action, reason string) (Earning, error) {
	switch action {
	case ReviewHold, ReviewRelease, ReviewVoid:
	default:
		return Earning{}, errs.Invalidf("action", "unknown_action", "unknown review action %q: use hold, release or void", action)
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > 1000 {
		return Earning{}, errs.Invalidf("reason", "too_long", "reason is longer than 1000 bytes")
	}
	if action == ReviewHold && reason == "" {
		return Earning{}, errs.Invalidf("reason", "required", "say why the earning is held: the creator sees the reason")
	}
	if p.BrandID() == "" && !p.IsAdmin() {
		return Earning{}, errs.NotFoundf("earning %s not found", earningID)
	}
	var out Earning
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		e, err := s.lockEarning(ctx, tx, p, earningID)
		if err != nil {
			return err
		}
		if e.State != EarningHeld && e.State != EarningOnHold {
			return errs.Conflictf("earning_decided", "earning %s is already %s", e.ID, e.State)
		}
		switch action {
		case ReviewHold:
			e.State, e.ReviewReason = EarningOnHold, reason
			_, err = tx.ExecContext(ctx, `UPDATE earnings SET state = $1, review_reason = $2 WHERE id = $3`, e.State, e.ReviewReason, e.ID)
			if err != nil {
				return fmt.Errorf("engage: hold earning: %w", err)
			}
		case ReviewRelease:
			err = s.releaseTx(ctx, tx, &e, reason)
		case ReviewVoid:
			err = s.voidTx(ctx, tx, &e, reason)
		}
		out = e
		return err
	})
	return out, err
}

func (s *Service) lockEarning(ctx context.Context, tx *store.Tx, p identity.Principal, earningID string) (Earning, error) {
	e, err := scanEarning(tx.QueryRowContext(ctx, `SELECT `+earningSelect+` FROM earnings WHERE id = $1`+tx.ForUpdate(), earningID))
	if errors.Is(err, sql.ErrNoRows) {
		return Earning{}, errs.NotFoundf("earning %s not found", earningID)
	}
	if err != nil {
		return Earning{}, fmt.Errorf("engage: read earning %s: %w", earningID, err)
	}
	if !p.IsAdmin() {
		camp, err := s.campaigns.Internal(ctx, tx, e.CampaignID)
		if err != nil {
			return Earning{}, err
		}
		if camp.BrandID != p.BrandID() {
			return Earning{}, errs.NotFoundf("earning %s not found", earningID)
		}
	}
	return e, nil
}

// releaseTx releases e (held or on hold) to the creator's available
// balance. Clawbacks round the fee they reverse, so what the creator holds
// from the campaign may differ from the sum of their held earnings by a few
// micro-units: the release never takes more than is held.
func (s *Service) releaseTx(ctx context.Context, tx *store.Tx, e *Earning, reason string) error {
	held, err := s.ledger.HeldWith(ctx, tx, e.CampaignID, e.CreatorID)
	if err != nil {
		return err
	}
	txID := ""
	if amount := min(e.Net.Micros-e.ClawedNet.Micros, held); amount > 0 {
		r, err := s.ledger.ReleaseTx(ctx, tx, ledger.ReleaseRequest{Key: "release:" + e.ID, CampaignID: e.CampaignID,
			CreatorID: e.CreatorID, Amount: amount})
		if err != nil {
			return err
		}
		txID = r.TxID
	}
	now := s.clock.Now()
	e.State, e.ResolvedAt, e.ResolveTxID = EarningReleased, clock.MicrosOf(now), txID
	if reason != "" {
		e.ReviewReason = reason
	}
	if _, err := tx.ExecContext(ctx, `UPDATE earnings SET state = $1, resolved_at = $2, resolve_tx_id = $3, review_reason = $4 WHERE id = $5`,
		e.State, now.UnixMicro(), txID, e.ReviewReason, e.ID); err != nil {
		return fmt.Errorf("engage: release earning: %w", err)
	}
	return nil
}

// voidTx claws back to the escrow what is left of e's gross amount.
func (s *Service) voidTx(ctx context.Context, tx *store.Tx, e *Earning, reason string) error {
	r := ledger.ClawbackResult{}
	if amount := e.Gross.Micros - e.ClawedGross.Micros; amount > 0 {
		var err error
		r, err = s.ledger.ClawbackTx(ctx, tx, ledger.ClawbackRequest{Key: "void:" + e.ID, CampaignID: e.CampaignID,
			CreatorID: e.CreatorID, Amount: amount, Reason: "earning " + e.ID + " voided: " + reason})
		if err != nil {
			return err
		}
		if !r.Replayed {
			var roll rollup.Batch
			k := rollup.Key{Campaign: e.CampaignID, Creator: e.CreatorID, Day: rollup.DayOf(int64(e.AccruedAt))}
			roll.Add(k, rollup.EarnCol(e.Kind), -(r.Amount - r.FeeReversed))
			roll.Add(k, rollup.Fees, -r.FeeReversed)
			if err := roll.Flush(ctx, tx); err != nil {
				return err
			}
		}
	}
	now := s.clock.Now()
	e.State, e.ResolvedAt, e.ResolveTxID = EarningVoided, clock.MicrosOf(now), r.TxID
	if reason != "" {
		e.ReviewReason = reason
	}
	if _, err := tx.ExecContext(ctx, `UPDATE earnings SET state = $1, resolved_at = $2, resolve_tx_id = $3, review_reason = $4 WHERE id = $5`,
		e.State, now.UnixMicro(), r.TxID, e.ReviewReason, e.ID); err != nil {
		return fmt.Errorf("engage: void earning: %w", err)
	}
	return nil
}

// ReleaseDue releases every held earning whose holding period has ended,
// each in its own transaction, and returns how many it released. Earnings on
// hold stay until a reviewer decides, and so do those an open fraud flag
// holds (under review) until the flag is dismissed or confirmed.
func (s *Service) ReleaseDue(ctx context.Context) (int, error) {
	ids, err := store.QueryAll(ctx, s.db.Read(), scanString, `SELECT e.id FROM earnings e WHERE e.state = $1 AND e.release_at <= $2
		AND NOT `+fraud.HoldsEarning("e")+` ORDER BY e.release_at, e.id LIMIT 10000`,
		EarningHeld, s.clock.Now().UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("engage: due earnings: %w", err)
	}
	n := 0
	admin := identity.Principal{Role: identity.RoleAdmin}
	for _, id := range ids {
		err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			e, err := s.lockEarning(ctx, tx, admin, id)
			if err != nil {
				return err
			}
			if e.State != EarningHeld {
				return errAlreadyDone // reviewed or released by another server meanwhile
			}
			if flags, err := fraud.HoldingFlags(ctx, tx, e.ID, e.CampaignID, e.CreatorID, e.AccruedAt); err != nil {
				return err
			} else if len(flags) > 0 {
				return errAlreadyDone // a flag was raised meanwhile: under review
			}
			return s.releaseTx(ctx, tx, &e, "")
		})
		if errors.Is(err, errAlreadyDone) {
			continue
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// CloseResult is what closing a campaign did.
type CloseResult struct {
	Campaign campaign.Campaign `json:"campaign"`
	// Released is how many held earnings were released early at close.
	Released int `json:"released"`
	// Refunded is the unspent escrow returned to the brand.
	Refunded money.Amount `json:"refunded"`
	RefundTx string       `json:"refund_tx_id,omitempty"`
}

// Close closes a completed campaign: earnings still in their holding period
// are released to the creators, and the unspent escrow is refunded to the
// brand, all in one transaction. Earnings on hold must be decided first
// (release or void): until then Close is a Conflict naming how many wait.
func (s *Service) Close(ctx context.Context, p identity.Principal, campaignID string) (CloseResult, error) {
	var res CloseResult
	if p.BrandID() == "" && !p.IsAdmin() {
		return res, errs.NotFoundf("campaign %s not found", campaignID)
	}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		res = CloseResult{}
		camp, err := s.campaigns.LockTx(ctx, tx, p, campaignID)
		if err != nil {
			return err
		}
		if camp.State != campaign.StateCompleted {
			return errs.Conflictf("invalid_transition", "campaign %s is %s; close needs it to be completed (complete it first)", camp.ID, camp.State)
		}
		var onHold int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM earnings WHERE campaign_id = $1 AND state = $2`, camp.ID, EarningOnHold).Scan(&onHold); err != nil {
			return fmt.Errorf("engage: count earnings on hold: %w", err)
		}
		if onHold > 0 {
			return errs.Conflictf("earnings_on_hold", "campaign %s has %d earnings on hold: release or void them before closing", camp.ID, onHold)
		}
		var flagged int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM earnings e WHERE e.campaign_id = $1 AND e.state = $2 AND `+fraud.HoldsEarning("e"),
			camp.ID, EarningHeld).Scan(&flagged); err != nil {
			return fmt.Errorf("engage: count earnings under review: %w", err)
		}
		if flagged > 0 {
			return errs.Conflictf("earnings_under_review", "campaign %s has %d earnings held by open fraud flags: dismiss or confirm the flags before closing", camp.ID, flagged)
		}
		held, err := store.QueryAll(ctx, tx, scanEarning, `SELECT `+earningSelect+` FROM earnings WHERE campaign_id = $1 AND state = $2 ORDER BY id`+tx.ForUpdate(), camp.ID, EarningHeld)
		if err != nil {
			return fmt.Errorf("engage: held earnings: %w", err)
		}
		for i := range held {
			if err := s.releaseTx(ctx, tx, &held[i], "released at close"); err != nil {
				return err
			}
		}
		res.Released = len(held)
		if err := s.sweepHeld(ctx, tx, camp.ID); err != nil {
			return err
		}
		cr, err := s.ledger.CloseTx(ctx, tx, "close:"+camp.ID, camp.ID)
		if err != nil {
			return err
		}
		res.Refunded, res.RefundTx = money.New(cr.Refunded, camp.Currency), cr.TxID
		if err := s.campaigns.SetStateTx(ctx, tx, &camp, campaign.StateClosed, camp.StateReason); err != nil {
			return err
		}
		res.Campaign = camp
		return nil
	})
	return res, err
}

// sweepHeld releases the few micro-units fee rounding may leave held once
// every earning of the campaign is decided, so nothing stays held after close.
func (s *Service) sweepHeld(ctx context.Context, tx *store.Tx, campaignID string) error {
	creators, err := store.QueryAll(ctx, tx, scanString, `SELECT DISTINCT creator_id FROM earnings WHERE campaign_id = $1 ORDER BY creator_id`, campaignID)
	if err != nil {
		return fmt.Errorf("engage: creators of %s: %w", campaignID, err)
	}
	for _, c := range creators {
		held, err := s.ledger.HeldWith(ctx, tx, campaignID, c)
		if err != nil {
			return err
		}
		if held <= 0 {
			continue
		}
		if _, err := s.ledger.ReleaseTx(ctx, tx, ledger.ReleaseRequest{Key: "close-sweep:" + campaignID + ":" + c,
			CampaignID: campaignID, CreatorID: c, Amount: held}); err != nil {
			return err
		}
	}
	return nil
}

// Tick runs one pass of the whole loop for every campaign: completes those
// whose end date passed, polls the open and paused ones, and releases the
// earnings whose holding period ended. The job queue runs the same steps as
// separate jobs; Tick is for tests, the demo and single-process use.
func (s *Service) Tick(ctx context.Context) ([]PollResult, error) {
	if _, err := s.CompleteEnded(ctx); err != nil {
		return nil, err
	}
	camps, err := s.campaigns.InState(ctx, campaign.StateOpen, campaign.StatePaused)
	if err != nil {
		return nil, err
	}
	var out []PollResult
	for _, c := range camps {
		r, err := s.PollCampaign(ctx, c.ID)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	if _, err := s.ReleaseDue(ctx); err != nil {
		return out, err
	}
	return out, nil
}

// scanString scans a one-column row.
func scanString(r store.Scanner) (string, error) {
	var v string
	err := r.Scan(&v)
	return v, err
}
