package engage

import (
	"context"
	"fmt"
	"math/bits"
	"slices"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders/pgbatch"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// Earning kinds: what an earning pays for.
const (
	KindInteractions = "interactions" // engagement growth on posts (billing ticks)
	KindCommission   = "commission"   // a share of an attributed order's revenue
	KindCPA          = "cpa"          // a fixed amount per attributed order
	KindFlatFee      = "flat_fee"     // a fixed amount per accepted creator
)

// Payment asks a campaign's escrow to pay a creator for one result other
// than engagement: an attributed order (commission, CPA) or an acceptance
// (flat fee). Amount is gross: the platform fee comes out of it.
type Payment struct {
	// Key makes the payment idempotent in the ledger: the same key pays once.
	Key       string
	CreatorID string
	Kind      string // KindCommission, KindCPA or KindFlatFee
	// Source is what is paid for: the order id or the application id.
	Source string
	Amount int64
	// Ref describes the payment in the ledger.
	Ref string
}

// PayResult is what PayTx did.
type PayResult struct {
	// Granted is the gross amount the ledger granted: Amount cut down by
	// what the escrow and the creator's cap had left.
	Granted int64
	// Earning is the held earning made, nil when nothing was granted.
	Earning *Earning
	// Skipped says why nothing was asked of the ledger: the campaign's
	// state ("campaign_draft", "campaign_closed", …); "" when it was asked.
	Skipped string
	// Completed: the escrow ran out and the campaign completed.
	Completed bool
	// CapReached: the creator's cap cut the payment (to zero, maybe).
	CapReached bool
}

// PayTx pays p from the escrow of camp, which the caller has locked
// (campaign.Service.LockTx) in tx: the ledger's balancing accrual (cap
// honoured) and, when anything is granted, a held earning released after the
// holding period like any other. A campaign that is not open, paused or
// completed, or a collaboration the optimize loop ended, pays nothing
// (Skipped says why); a creator's own cap (see campaign.Collab) replaces
// the campaign's. When the escrow runs out, an
// open or paused campaign completes (budget_exhausted). It returns the
// ledger's errors (a Conflict when the key was used for another payment).
func (s *Service) PayTx(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, p Payment) (PayResult, error) {
	var res PayResult
	switch p.Kind {
	case KindCommission, KindCPA, KindFlatFee:
	default:
		return res, fmt.Errorf("engage: pay: unknown kind %q", p.Kind)
	}
	if p.Amount <= 0 {
		return res, nil
	}
	switch camp.State {
	case campaign.StateOpen, campaign.StatePaused, campaign.StateCompleted:
	default:
		res.Skipped = "campaign_" + string(camp.State)
		return res, nil
	}
	collabs, err := campaign.Collaborations(ctx, tx, camp.ID)
	if err != nil {
		return res, err
	}
	collab := collabs[p.CreatorID]
	if collab.EndedAt != 0 {
		res.Skipped = "collaboration_ended"
		return res, nil
	}
	capMicros := collab.CapFor(*camp)
	rs, err := s.ledger.AccrueBatchTx(ctx, tx, camp.ID, []ledger.AccrueItem{{Key: p.Key, CreatorID: p.CreatorID, Amount: p.Amount,
		Cap: capMicros, Ref: p.Ref}})
	if err != nil {
		return res, err
	}
	r := rs[0]
	res.Granted, res.CapReached = r.Granted, r.CapReached
	if r.Granted > 0 && !r.Replayed {
		now := s.clock.Now().UnixMicro()
		e := Earning{ID: id.New(id.Earning), CampaignID: camp.ID, CreatorID: p.CreatorID,
			Requested: money.New(r.Requested, camp.Currency), Gross: money.New(r.Granted, camp.Currency),
			Fee: money.New(r.Fee, camp.Currency), Net: money.New(r.Earned, camp.Currency), Detail: []growthDetail{},
			Kind: p.Kind, Source: p.Source, ClawedGross: money.New(0, camp.Currency), ClawedNet: money.New(0, camp.Currency),
			AccrueTxID: r.TxID, State: EarningHeld, AccruedAt: clock.Micros(now), ReleaseAt: clock.Micros(now + s.cfg.HoldingPeriod.Microseconds())}
		if _, err := tx.ExecContext(ctx, `INSERT INTO earnings (id, campaign_id, creator_id, currency, requested, gross, fee, net, detail,
			accrue_tx_id, state, accrued_at, release_at, kind, source_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '[]', $9, $10, $11, $12, $13, $14)`,
			e.ID, e.CampaignID, e.CreatorID, string(camp.Currency), r.Requested, r.Granted, r.Fee, r.Earned, r.TxID, e.State,
			now, int64(e.ReleaseAt), e.Kind, e.Source); err != nil {
			return res, fmt.Errorf("engage: record %s earning: %w", p.Kind, err)
		}
		res.Earning = &e
		s.m.billed.WithLabelValues(string(camp.Currency)).Add(float64(r.Granted))
		var roll rollup.Batch
		k := rollup.Key{Campaign: camp.ID, Creator: p.CreatorID, Day: rollup.DayOf(now)}
		roll.Add(k, rollup.EarnCol(p.Kind), r.Earned)
		roll.Add(k, rollup.Fees, r.Fee)
		if err := roll.Flush(ctx, tx); err != nil {
			return res, err
		}
	}
	if camp.State != campaign.StateOpen && camp.State != campaign.StatePaused {
		return res, nil
	}
	exhausted := r.EscrowExhausted || (r.Granted < r.Requested && !r.CapReached)
	if !exhausted {
		st, err := s.ledger.EscrowWith(ctx, tx, camp.ID)
		if err != nil {
			return res, err
		}
		exhausted = st.Remaining == 0
	}
	if exhausted {
		if err := s.campaigns.SetStateTx(ctx, tx, camp, campaign.StateCompleted, campaign.CompletedBudget); err != nil {
			return res, err
		}
		res.Completed = true
	}
	return res, nil
}

// PayBatchTx is PayTx for several payments from the escrow of camp, which
// the caller has locked in tx: it gives each payment exactly what PayTx
// would give it if the payments were made one after another in their
// order, with one read of the collaborations, one ledger accrual batch
// (items in the payments' order, so the escrow and the creators' caps run
// out in that order) and one insert of the earnings. What the earnings add
// to the rollups is added to roll, which the caller flushes in tx; when
// roll is nil, PayBatchTx flushes its own. Results come back in the payments' order; Completed is set on the
// result of the payment after which the campaign completed. It returns
// the ledger's errors, and the first payment of an unknown kind.
func (s *Service) PayBatchTx(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, ps []Payment, roll *rollup.Batch) ([]PayResult, error) {
	return s.payBatch(ctx, tx, camp, ps, roll, nil)
}

// PayBatchLaterTx is PayBatchTx, except that it leaves the earnings it
// makes in later instead of inserting them: the caller must insert them in
// tx before anything reads them (later.Insert, or the statement
// later.PGInsert returns), so that on PostgreSQL they can go with the
// caller's own rows in one round trip.
func (s *Service) PayBatchLaterTx(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, ps []Payment, roll *rollup.Batch, later *Earnings) ([]PayResult, error) {
	return s.payBatch(ctx, tx, camp, ps, roll, later)
}

// Earnings are new earnings rows that PayBatchLaterTx made and left for
// the caller to insert.
type Earnings struct {
	rows [][]any
}

// Insert inserts the earnings in tx and forgets them.
func (e *Earnings) Insert(ctx context.Context, tx *store.Tx) error {
	if len(e.rows) == 0 {
		return nil
	}
	if err := tx.InsertBatch(ctx, "earnings", earningInsertCols, e.rows); err != nil {
		return fmt.Errorf("engage: record earnings: %w", err)
	}
	e.rows = nil
	return nil
}

// PGInsert returns PostgreSQL's statement inserting the earnings, its
// parameters numbered from first, and its arguments (see package
// pgbatch); "" when there are none. The caller runs it (in a WITH clause
// of its own statement, say) and then calls Forget.
func (e *Earnings) PGInsert(first int) (string, []any, error) {
	if len(e.rows) == 0 {
		return "", nil, nil
	}
	q, args, err := pgbatch.Insert("earnings", earningInsertCols, earningInsertTypes, first, e.rows)
	if err != nil {
		return "", nil, fmt.Errorf("engage: record earnings: %w", err)
	}
	return q, args, nil
}

// Forget drops the earnings once the caller has inserted them.
func (e *Earnings) Forget() { e.rows = nil }

func (s *Service) payBatch(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, ps []Payment, roll *rollup.Batch, later *Earnings) ([]PayResult, error) {
	out := make([]PayResult, len(ps))
	for _, p := range ps {
		switch p.Kind {
		case KindCommission, KindCPA, KindFlatFee:
		default:
			return nil, fmt.Errorf("engage: pay: unknown kind %q", p.Kind)
		}
	}
	switch camp.State {
	case campaign.StateOpen, campaign.StatePaused, campaign.StateCompleted:
	default:
		for i, p := range ps {
			if p.Amount > 0 {
				out[i].Skipped = "campaign_" + string(camp.State)
			}
		}
		return out, nil
	}
	collabs, err := campaign.Collaborations(ctx, tx, camp.ID)
	if err != nil {
		return nil, err
	}
	items := make([]ledger.AccrueItem, 0, len(ps))
	at := make([]int, 0, len(ps)) // the payment of each item
	for i, p := range ps {
		if p.Amount <= 0 {
			continue
		}
		collab := collabs[p.CreatorID]
		if collab.EndedAt != 0 {
			out[i].Skipped = "collaboration_ended"
			continue
		}
		items = append(items, ledger.AccrueItem{Key: p.Key, CreatorID: p.CreatorID, Amount: p.Amount, Cap: collab.CapFor(*camp), Ref: p.Ref})
		at = append(at, i)
	}
	if len(items) == 0 {
		return out, nil
	}
	rs, err := s.ledger.AccrueBatchTx(ctx, tx, camp.ID, items)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now().UnixMicro()
	releaseAt := now + s.cfg.HoldingPeriod.Microseconds()
	var rows [][]any
	own := roll == nil
	if own {
		roll = &rollup.Batch{}
	}
	ids := id.NewSeq(id.Earning, len(rs))
	var granted int64
	exhaustedAt := -1
	for n, r := range rs {
		i, p := at[n], ps[at[n]]
		out[i].Granted, out[i].CapReached = r.Granted, r.CapReached
		if exhaustedAt < 0 && (r.EscrowExhausted || (r.Granted < r.Requested && !r.CapReached)) {
			exhaustedAt = i
		}
		if r.Granted <= 0 || r.Replayed {
			continue
		}
		e := Earning{ID: ids[n], CampaignID: camp.ID, CreatorID: p.CreatorID,
			Requested: money.New(r.Requested, camp.Currency), Gross: money.New(r.Granted, camp.Currency),
			Fee: money.New(r.Fee, camp.Currency), Net: money.New(r.Earned, camp.Currency), Detail: []growthDetail{},
			Kind: p.Kind, Source: p.Source, ClawedGross: money.New(0, camp.Currency), ClawedNet: money.New(0, camp.Currency),
			AccrueTxID: r.TxID, State: EarningHeld, AccruedAt: clock.Micros(now), ReleaseAt: clock.Micros(releaseAt)}
		rows = append(rows, []any{e.ID, e.CampaignID, e.CreatorID, string(camp.Currency), r.Requested, r.Granted, r.Fee, r.Earned, "[]",
			r.TxID, e.State, now, releaseAt, e.Kind, e.Source})
		out[i].Earning = &e
		granted += r.Granted
		k := rollup.Key{Campaign: camp.ID, Creator: p.CreatorID, Day: rollup.DayOf(now)}
		roll.Add(k, rollup.EarnCol(p.Kind), r.Earned)
		roll.Add(k, rollup.Fees, r.Fee)
	}
	if len(rows) > 0 {
		if later != nil {
			later.rows = append(later.rows, rows...)
		} else if err := tx.InsertBatch(ctx, "earnings", earningInsertCols, rows); err != nil {
			return nil, fmt.Errorf("engage: record earnings: %w", err)
		}
		s.m.billed.WithLabelValues(string(camp.Currency)).Add(float64(granted))
	}
	if own {
		if err := roll.Flush(ctx, tx); err != nil {
			return nil, err
		}
	}
	if camp.State != campaign.StateOpen && camp.State != campaign.StatePaused {
		return out, nil
	}
	// A fresh accrual says whether it left the escrow empty (what PayTx
	// reads back); only a batch made of replays must read the escrow.
	if exhaustedAt < 0 && !slices.ContainsFunc(rs, func(r ledger.AccrueResult) bool { return !r.Replayed }) {
		st, err := s.ledger.EscrowWith(ctx, tx, camp.ID)
		if err != nil {
			return nil, err
		}
		if st.Remaining != 0 {
			return out, nil
		}
		exhaustedAt = at[len(at)-1]
	}
	if exhaustedAt < 0 {
		return out, nil
	}
	if err := s.campaigns.SetStateTx(ctx, tx, camp, campaign.StateCompleted, campaign.CompletedBudget); err != nil {
		return nil, err
	}
	out[exhaustedAt].Completed = true
	return out, nil
}

// earningInsertCols are the columns PayBatchTx writes of a new earning.
var earningInsertCols = []string{"id", "campaign_id", "creator_id", "currency", "requested", "gross", "fee", "net", "detail",
	"accrue_tx_id", "state", "accrued_at", "release_at", "kind", "source_id"}

// earningInsertTypes are the PostgreSQL types of earningInsertCols.
var earningInsertTypes = []string{pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Bigint, pgbatch.Bigint, pgbatch.Bigint,
	pgbatch.Bigint, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Bigint, pgbatch.Bigint, pgbatch.Text, pgbatch.Text}

// PaidFor returns the gross amount still standing of the earnings of one
// kind made for source (what was granted less what refunds took back; voided
// earnings count nothing).
func (s *Service) PaidFor(ctx context.Context, q store.Queryer, source, kind string) (int64, error) {
	var paid int64
	if err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(gross - clawed_gross), 0) FROM earnings WHERE source_id = $1 AND kind = $2 AND state <> $3`,
		source, kind, EarningVoided).Scan(&paid); err != nil {
		return 0, fmt.Errorf("engage: paid for %s: %w", source, err)
	}
	return paid, nil
}

// ReverseTx takes back up to amount of the gross paid to creatorID in
// campaignID for (kind, source) — a refunded or cancelled order — through
// the ledger's clawback: the fee is reversed, and the creator's share comes
// from held earnings, then the available balance, and otherwise becomes a
// debt that later releases repay. The earnings concerned, newest first,
// record what was taken back; one still held that loses all of its gross is
// voided. It returns the clawback (zero when nothing was left to take) and
// the ledger's errors; key makes it idempotent.
func (s *Service) ReverseTx(ctx context.Context, tx *store.Tx, campaignID, creatorID, kind, source string, amount int64, key, reason string) (ledger.ClawbackResult, error) {
	var res ledger.ClawbackResult
	es, err := store.QueryAll(ctx, tx, scanEarning, `SELECT `+earningSelect+` FROM earnings WHERE source_id = $1 AND kind = $2 AND state <> $3
		AND campaign_id = $4 AND creator_id = $5 ORDER BY id DESC`+tx.ForUpdate(), source, kind, EarningVoided, campaignID, creatorID)
	if err != nil {
		return res, fmt.Errorf("engage: earnings for %s: %w", source, err)
	}
	var standing int64
	for _, e := range es {
		standing += e.Gross.Micros - e.ClawedGross.Micros
	}
	amount = min(amount, standing)
	if amount <= 0 {
		return res, nil
	}
	res, err = s.ledger.ClawbackTx(ctx, tx, ledger.ClawbackRequest{Key: key, CampaignID: campaignID, CreatorID: creatorID,
		Amount: amount, Reason: reason})
	if err != nil {
		return res, err
	}
	if res.Replayed {
		return res, nil
	}
	share := res.Amount - res.FeeReversed
	left, shareLeft := amount, share
	now := s.clock.Now().UnixMicro()
	var roll rollup.Batch
	for i, e := range es {
		if left == 0 {
			break
		}
		g := min(left, e.Gross.Micros-e.ClawedGross.Micros)
		if g <= 0 {
			continue
		}
		n := mulDiv(share, g, amount) // the creator's part of g, pro rata
		if g == left || i == len(es)-1 {
			n = shareLeft
		}
		left, shareLeft = left-g, shareLeft-n
		k := rollup.Key{Campaign: campaignID, Creator: creatorID, Day: rollup.DayOf(int64(e.AccruedAt))}
		roll.Add(k, rollup.EarnCol(e.Kind), -n)
		roll.Add(k, rollup.Fees, -(g - n))
		e.ClawedGross.Micros += g
		e.ClawedNet.Micros += n
		if (e.State == EarningHeld || e.State == EarningOnHold) && e.ClawedGross.Micros == e.Gross.Micros {
			_, err = tx.ExecContext(ctx, `UPDATE earnings SET state = $1, resolved_at = $2, resolve_tx_id = $3, review_reason = $4,
				clawed_gross = $5, clawed_net = $6 WHERE id = $7`, EarningVoided, now, res.TxID, reason, e.ClawedGross.Micros, e.ClawedNet.Micros, e.ID)
		} else {
			_, err = tx.ExecContext(ctx, `UPDATE earnings SET clawed_gross = $1, clawed_net = $2 WHERE id = $3`,
				e.ClawedGross.Micros, e.ClawedNet.Micros, e.ID)
		}
		if err != nil {
			return res, fmt.Errorf("engage: record clawback on %s: %w", e.ID, err)
		}
	}
	return res, roll.Flush(ctx, tx)
}

// mulDiv returns floor(a × b / c) for non-negative a, b and positive c,
// exactly (the product may exceed int64).
func mulDiv(a, b, c int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	q, _ := bits.Div64(hi, lo, uint64(c))
	return int64(q)
}
