package engage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
)

// detectionOff holds the Services whose fraud detection is switched off
// (SetFraudDetection), for measuring a tick without it.
var detectionOff sync.Map

// SetFraudDetection switches the engagement detectors on (the default) or
// off for this Service's polls. Off is for benchmarks comparing a tick with
// and without detection; flags already raised still hold their earnings.
func (s *Service) SetFraudDetection(on bool) {
	if on {
		detectionOff.Delete(s)
	} else {
		detectionOff.Store(s, struct{}{})
	}
}

// detect runs the engagement detectors over a billed chunk in its billing
// transaction, after its snapshots are written: each read post's counts go
// through fraud.DetectEngagement against the post's and its creator's
// history in the campaign, and a post removed from the platform while
// earnings that pay for it are still held is flagged (content persistence).
// Flags are raised in tx, so the earning this very tick made is held by a
// burst flag raised in it (the flag holds the creator's earnings in the
// campaign from the burst's start).
func (s *Service) detect(ctx context.Context, tx *store.Tx, campaignID string, ch *chunk) error {
	if _, off := detectionOff.Load(s); off || (len(ch.read) == 0 && len(ch.removals) == 0) {
		return nil
	}
	sens, err := fraud.SensitivityOf(ctx, tx, campaignID)
	if err != nil {
		return err
	}
	now := clock.Micros(ch.now)
	var flags []fraud.Flag
	if len(ch.read) > 0 {
		seen := map[string]bool{}
		var creators []string
		readings := make([]fraud.Reading, len(ch.read))
		for i, p := range ch.read {
			if !seen[p.creator] {
				seen[p.creator] = true
				creators = append(creators, p.creator)
			}
			r := fraud.Reading{PostID: p.id, CreatorID: p.creator, At: ch.now}
			for m := range 5 {
				if v, ok := ch.snaps[i][2+m].(int64); ok {
					r.Counts[m], r.Known[m] = v, true
				}
			}
			readings[i] = r
		}
		sort.Strings(creators)
		var series map[string]*fraud.Series
		if ch.series != nil {
			// Read as the chunk was planned; copied, so a transaction run
			// again starts from what was read.
			series = make(map[string]*fraud.Series, len(ch.series))
			for k, v := range ch.series {
				series[k] = v.Clone()
			}
		} else if series, err = fraud.LoadSeries(ctx, tx, tx.Dialect(), campaignID, creators); err != nil {
			return err
		}
		found, touched := fraud.DetectEngagement(campaignID, sens, series, readings)
		if err := fraud.SaveSeries(ctx, tx, campaignID, touched, ch.now); err != nil {
			return err
		}
		flags = append(flags, found...)
	}
	if len(ch.removals) > 0 {
		creatorOf := map[string]string{}
		for _, g := range ch.groups {
			for _, p := range g.posts {
				creatorOf[p.id] = g.creator
			}
		}
		for _, r := range ch.removals {
			postID, why := r[0].(string), r[2].(string)
			f, ok, err := s.removalFlag(ctx, tx, campaignID, creatorOf[postID], postID, why, now)
			if err != nil {
				return err
			}
			if ok {
				flags = append(flags, f)
			}
		}
	}
	for _, f := range flags {
		got, created, err := fraud.Raise(ctx, tx, now, f)
		if err != nil {
			return err
		}
		if created {
			s.log.Warn("fraud flag raised: earnings held for review", "flag", got.ID, "detector", got.Detector,
				"campaign", got.CampaignID, "creator", got.CreatorID, "subject", got.SubjectID, "reason", got.Reason)
		}
	}
	return nil
}

// preloadSeries reads the detectors' series of every post of groups'
// creators through q as planChunk plans a chunk with read posts — beside
// the billing of the chunk before, or in the relocked transaction — so that
// the billing transaction does not wait for them. A poll that moves the
// marks of these creators also rewrites their series in the same
// transaction, so series read after the marks are as fresh as the marks;
// when the marks moved, the chunk is planned again (relocked) and reads
// them again. nil when detection is off, nothing was read, or the read
// failed (detect then reads them itself).
func (s *Service) preloadSeries(ctx context.Context, q store.Queryer, groups []*creatorMarks, read int) map[string]*fraud.Series {
	if _, off := detectionOff.Load(s); off || read == 0 {
		return nil
	}
	var ids []string
	for _, g := range groups {
		for _, p := range g.posts {
			ids = append(ids, p.id)
		}
	}
	series, err := fraud.LoadSeriesOf(ctx, q, s.db.Dialect(), ids)
	if err != nil {
		s.log.Warn("reading the fraud detectors' series beside billing failed: read in the billing transaction", "err", err)
		return nil
	}
	return series
}

// removalFlag flags a post removed from the platform while earnings that
// pay for it (their detail names it) are still held or on hold. Basis:
// content persistence as IZEA, Pop Pays and Dub's bounties check it — the
// post must still be live at payout; void if deleted. It holds the
// creator's unreleased earnings in the campaign.
func (s *Service) removalFlag(ctx context.Context, tx *store.Tx, campaignID, creatorID, postID, why string, now clock.Micros) (fraud.Flag, bool, error) {
	if creatorID == "" {
		return fraud.Flag{}, false, nil
	}
	var n int
	var net int64
	var cur string
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(net), 0), COALESCE(MIN(currency), '') FROM earnings
		WHERE campaign_id = $1 AND creator_id = $2 AND state IN ($3, $4) AND detail LIKE $5`,
		campaignID, creatorID, EarningHeld, EarningOnHold, `%"post_id":"`+postID+`"%`).Scan(&n, &net, &cur)
	if err != nil {
		return fraud.Flag{}, false, fmt.Errorf("engage: earnings of removed post %s: %w", postID, err)
	}
	if n == 0 {
		return fraud.Flag{}, false, nil
	}
	return fraud.Flag{Detector: fraud.DetectorContentRemoved, Subject: fraud.SubjectPost, SubjectID: postID,
		CampaignID: campaignID, CreatorID: creatorID, Score: 1, Severity: fraud.SeverityMedium, Category: fraud.CategoryContent,
		Reason: fmt.Sprintf("post %s was removed from the platform (%s) while %d earning(s) paying for it (%s to the creator) were still in their holding period",
			postID, why, n, centsText(net, cur)),
		Evidence: map[string]float64{"earnings": float64(n), "net_micros": float64(net)},
		Window:   "removed", Holds: true, HoldsFrom: 0}, true, nil
}

// centsText writes micro-units for people, to the cent: "0.36 EUR".
func centsText(micros int64, cur string) string {
	c := (micros + 5_000) / 10_000
	return fmt.Sprintf("%d.%02d %s", c/100, c%100, cur)
}

// markUnderReview marks the earnings an open flag holds: UnderReview, and
// the first holding flag's category for the creator to read.
func markUnderReview(ctx context.Context, q store.Queryer, campaignID, creatorID string, es []Earning) error {
	if len(es) == 0 {
		return nil
	}
	flags, err := store.QueryAll(ctx, q, func(r store.Scanner) (fraud.Flag, error) {
		var f fraud.Flag
		err := r.Scan(&f.ID, &f.CampaignID, &f.CreatorID, &f.Category, &f.Holds, &f.HoldsFrom, &f.EarningID)
		f.State = fraud.StateOpen
		return f, err
	}, `SELECT id, campaign_id, creator_id, category, holds, holds_from, earning_id FROM fraud_flags
		WHERE state = 'open' AND (campaign_id = $1 OR campaign_id = '') AND ($2 = '' OR creator_id = $2) ORDER BY id`, campaignID, creatorID)
	if err != nil {
		return fmt.Errorf("engage: flags on earnings: %w", err)
	}
	if len(flags) == 0 {
		return nil
	}
	for i := range es {
		e := &es[i]
		if e.State != EarningHeld && e.State != EarningOnHold {
			continue
		}
		for _, f := range flags {
			if f.HoldsOne(e.ID, e.CampaignID, e.CreatorID, e.AccruedAt) {
				e.UnderReview, e.ReviewCategory, e.ReviewNote = true, f.Category, fraud.CategoryText[f.Category]
				break
			}
		}
	}
	return nil
}

// FlagDecision is what deciding a fraud flag did.
type FlagDecision struct {
	Flag fraud.Flag `json:"flag"`
	// Voided are the earnings a confirmation voided: their gross went back
	// to the escrow and the platform fee was reversed.
	Voided []Earning `json:"voided"`
	// StillHeld counts the earnings the flag held that another open flag
	// still holds.
	StillHeld int `json:"still_held"`
}

// DecideFlag records p's decision on an open fraud flag, with a reason
// (required): dismiss lets the earnings it held release on schedule
// (unless another open flag holds them); confirm voids them through the
// ledger (Review's void: the gross back to the escrow, the fee reversed),
// all in one transaction. Only the operator and the brand of the flag's
// campaign may decide.
func (s *Service) DecideFlag(ctx context.Context, p identity.Principal, flagID, action, reason string) (FlagDecision, error) {
	var out FlagDecision
	if p.BrandID() == "" && !p.IsAdmin() {
		return out, errs.NotFoundf("flag %s not found", flagID)
	}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = s.decideFlagTx(ctx, tx, p, flagID, action, reason)
		return err
	})
	return out, err
}

// decideFlagTx is DecideFlag in tx.
func (s *Service) decideFlagTx(ctx context.Context, tx *store.Tx, p identity.Principal, flagID, action, reason string) (FlagDecision, error) {
	out := FlagDecision{Voided: []Earning{}}
	f, err := fraud.DecideTx(ctx, tx, p, clock.MicrosOf(s.clock.Now()), flagID, action, reason)
	if err != nil {
		return out, err
	}
	out.Flag = f
	open := f
	open.State = fraud.StateOpen
	held, err := store.QueryAll(ctx, tx, scanEarning, `SELECT `+earningSelect+` FROM earnings WHERE creator_id = $1
		AND ($2 = '' OR campaign_id = $2) AND state IN ($3, $4) AND (id = $5 OR accrued_at >= $6) ORDER BY id`+tx.ForUpdate(),
		f.CreatorID, f.CampaignID, EarningHeld, EarningOnHold, f.EarningID, holdsFromOf(f))
	if err != nil {
		return out, fmt.Errorf("engage: earnings held by flag %s: %w", f.ID, err)
	}
	for i := range held {
		e := &held[i]
		if !open.HoldsOne(e.ID, e.CampaignID, e.CreatorID, e.AccruedAt) {
			continue
		}
		if action == fraud.ActionConfirm {
			why := "fraud flag " + f.ID + " confirmed: " + strings.TrimSpace(reason)
			if len(why) > 1000 {
				why = why[:1000]
			}
			if err := s.voidTx(ctx, tx, e, why); err != nil {
				return out, err
			}
			out.Voided = append(out.Voided, *e)
			continue
		}
		others, err := fraud.HoldingFlags(ctx, tx, e.ID, e.CampaignID, e.CreatorID, e.AccruedAt)
		if err != nil {
			return out, err
		}
		if len(others) > 0 {
			out.StillHeld++
		}
	}
	return out, nil
}

// BanResult is what banning a creator did.
type BanResult struct {
	FlagDecision
	// CampaignsCut are the campaigns whose collaboration with the creator
	// the ban ended: nothing more accrues to them there.
	CampaignsCut []string `json:"campaigns_cut"`
}

// DetectorBan names the operator's ban in the flags.
const DetectorBan = "operator_ban"

// BanCreator is the operator banning a creator, with a reason (required),
// in one transaction: a confirmed flag records who, when and why (detector
// operator_ban, subject the creator); every earning of theirs not yet
// released, in every campaign, is voided (the gross back to the escrow,
// the fee reversed); and their collaboration in every campaign that
// accepted them (or where they posted or earned) is ended, so nothing more
// accrues to them (as the optimize loop's cut). A creator banned already is
// a Conflict. It does not stop them applying to new campaigns or
// withdrawing what was already released.
func (s *Service) BanCreator(ctx context.Context, p identity.Principal, creatorID, reason string) (BanResult, error) {
	var out BanResult
	if !p.IsAdmin() {
		return out, errs.E(errs.Forbidden, "forbidden", "only the operator bans creators")
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return out, errs.Invalidf("reason", "required", "say why: a ban is recorded with its reason")
	}
	if len(reason) > 900 {
		return out, errs.Invalidf("reason", "too_long", "reason is longer than 900 bytes")
	}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		out = BanResult{CampaignsCut: []string{}}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM creators WHERE id = $1`, creatorID).Scan(&n); err != nil {
			return fmt.Errorf("engage: read creator %s: %w", creatorID, err)
		}
		if n == 0 {
			return errs.NotFoundf("creator %s not found", creatorID)
		}
		now := s.clock.Now().UnixMicro()
		f, created, err := fraud.Raise(ctx, tx, clock.Micros(now), fraud.Flag{Detector: DetectorBan, Subject: fraud.SubjectCreator,
			SubjectID: creatorID, CreatorID: creatorID, Score: 1, Severity: fraud.SeverityHigh, Category: fraud.CategoryBanned,
			Reason: "banned by the operator: " + reason, Window: "ban", Holds: true})
		if err != nil {
			return err
		}
		if !created && f.State != fraud.StateOpen {
			return errs.Conflictf("creator_banned", "creator %s was banned already (%s)", creatorID, f.ID)
		}
		camps, err := store.QueryAll(ctx, tx, scanString, `SELECT campaign_id FROM applications WHERE creator_id = $1 AND state = 'accepted'
			UNION SELECT campaign_id FROM creator_marks WHERE creator_id = $1
			UNION SELECT campaign_id FROM earnings WHERE creator_id = $1 ORDER BY campaign_id`, creatorID)
		if err != nil {
			return fmt.Errorf("engage: campaigns of %s: %w", creatorID, err)
		}
		for _, c := range camps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO collaborations (campaign_id, creator_id, ended_at) VALUES ($1, $2, $3)
				ON CONFLICT (campaign_id, creator_id) DO UPDATE SET ended_at = CASE WHEN collaborations.ended_at = 0
				THEN excluded.ended_at ELSE collaborations.ended_at END`, c, creatorID, now); err != nil {
				return fmt.Errorf("engage: end the collaboration of %s in %s: %w", creatorID, c, err)
			}
		}
		out.CampaignsCut = camps
		out.FlagDecision, err = s.decideFlagTx(ctx, tx, p, f.ID, fraud.ActionConfirm, reason)
		return err
	})
	return out, err
}

// holdsFromOf is the earliest accrual a flag's holds reach: its HoldsFrom
// when it holds by time, else never (only its one earning).
func holdsFromOf(f fraud.Flag) int64 {
	if f.Holds {
		return int64(f.HoldsFrom)
	}
	return 1<<63 - 1
}
