package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// FundRequest moves money paid in by a brand into a campaign's escrow.
type FundRequest struct {
	Key        string       `json:"-"`
	CampaignID string       `json:"campaign_id"`
	BrandID    string       `json:"brand_id"`
	Amount     money.Amount `json:"amount"`
	// MaxFunded, when > 0, rejects funding that would take the escrow's
	// total funding above it (the campaign's budget).
	MaxFunded int64 `json:"max_funded,omitempty"`
	// Reference is the payment's external reference.
	Reference string `json:"reference"`
}

// FundResult is what Fund did.
type FundResult struct {
	TxID       string `json:"tx_id"`
	Amount     int64  `json:"amount"`
	Funded     int64  `json:"funded"` // the escrow's total funding afterwards
	FeeBps     int64  `json:"fee_bps"`
	ReducedFee bool   `json:"reduced_fee"`
	Replayed   bool   `json:"-"`
}

func (r FundRequest) validate() error {
	var c errs.Collector
	c.Add("idempotency_key", checkKey(r.Key))
	c.Add("campaign_id", checkID("campaign_id", r.CampaignID))
	c.Add("brand_id", checkID("brand_id", r.BrandID))
	c.Add("amount.currency", checkCurrency(r.Amount.Currency))
	if err := checkPositive("amount", r.Amount.Micros); err != nil {
		c.Add("", err)
	}
	if r.MaxFunded < 0 {
		c.Addf("max_funded", "negative_amount", "max_funded must not be negative")
	}
	return c.Err()
}

// Fund moves req.Amount from external funding into the campaign's escrow,
// creating the escrow (and deciding its fee) on first funding. It returns an
// Invalid error for bad input, a Conflict when the escrow is closed, its
// currency differs, MaxFunded would be exceeded, or the key was used for
// another request; nothing is written then.
func (l *Ledger) Fund(ctx context.Context, req FundRequest) (res FundResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.FundTx(ctx, tx, req)
		return err
	})
	return res, err
}

// FundTx is Fund inside the caller's transaction.
func (l *Ledger) FundTx(ctx context.Context, tx *store.Tx, req FundRequest) (FundResult, error) {
	var res FundResult
	if err := req.validate(); err != nil {
		return res, err
	}
	now := l.clock.Now().UnixMicro()
	e, err := l.openEscrow(ctx, tx, req.CampaignID, req.BrandID, req.Amount.Currency, now)
	if err != nil {
		return res, err
	}
	hash := requestHash(KindFund, req)
	if found, err := replayOne(ctx, tx, req.Key, hash, &res); found || err != nil {
		res.Replayed = found
		return res, err
	}
	switch {
	case e.BrandID != req.BrandID:
		return res, errs.NotFoundf("campaign %s not found", req.CampaignID)
	case e.Currency != req.Amount.Currency:
		return res, errs.Invalidf("amount.currency", "currency_mismatch", "campaign %s is in %s, not %s", req.CampaignID, e.Currency, req.Amount.Currency)
	case e.ClosedAt != 0:
		return res, e.closedErr()
	}
	funded, err := money.AddMicros(e.Funded, req.Amount.Micros)
	if err != nil {
		return res, errs.WithField(err, "amount")
	}
	if req.MaxFunded > 0 && funded > req.MaxFunded {
		return res, errs.Invalidf("amount", "exceeds_budget", "funding %s would bring the escrow to %s, above the budget of %s",
			money.FormatMicros(req.Amount.Micros), money.FormatMicros(funded), money.FormatMicros(req.MaxFunded))
	}
	w := newWork(tx, now)
	cur := req.Amount.Currency
	if err := w.lock(ctx, specFor(AccExtFunding, "", "", "", cur), specFor(AccEscrow, req.CampaignID, "", req.BrandID, cur)); err != nil {
		return res, err
	}
	res = FundResult{TxID: newTxID(), Amount: req.Amount.Micros, Funded: funded, FeeBps: e.FeeBps, ReducedFee: e.ReducedFee}
	if err := w.post(res.TxID, leg{extFundingAcc(cur), -req.Amount.Micros}, leg{escrowAcc(req.CampaignID), req.Amount.Micros}); err != nil {
		return res, err
	}
	e.Funded = funded
	if err := e.save(ctx, tx); err != nil {
		return res, err
	}
	if err := w.record(res.TxID, req.Key, hash, KindFund, req.CampaignID, req.BrandID, "", res); err != nil {
		return res, err
	}
	return res, w.flush(ctx)
}

// AccrueItem asks to pay a creator from a campaign's escrow for measured
// results. Amount is gross: the platform fee comes out of it.
type AccrueItem struct {
	Key       string `json:"-"`
	CreatorID string `json:"creator_id"`
	Amount    int64  `json:"amount"`
	// Cap, when > 0, is the most the campaign may spend (gross) on this creator.
	Cap int64 `json:"cap,omitempty"`
	// Ref says what is paid for (e.g. a post, a metric and a count range).
	Ref string `json:"ref,omitempty"`
}

// AccrueResult is what one accrual granted. Granted = Fee + Earned.
type AccrueResult struct {
	Key       string `json:"-"`
	TxID      string `json:"tx_id"`
	CreatorID string `json:"creator_id"`
	Requested int64  `json:"requested"`
	Granted   int64  `json:"granted"`
	Fee       int64  `json:"fee"`
	Earned    int64  `json:"earned"`
	// EscrowExhausted: the escrow had nothing left after this accrual.
	EscrowExhausted bool `json:"escrow_exhausted,omitempty"`
	// CapReached: the creator's cap stopped (part of) this accrual.
	CapReached bool `json:"cap_reached,omitempty"`
	Replayed   bool `json:"-"`
}

// Accrue is AccrueBatch with one item.
func (l *Ledger) Accrue(ctx context.Context, campaignID string, item AccrueItem) (AccrueResult, error) {
	rs, err := l.AccrueBatch(ctx, campaignID, []AccrueItem{item})
	if err != nil {
		return AccrueResult{}, err
	}
	return rs[0], nil
}

// AccrueBatch pays creators from the campaign's escrow, one balanced ledger
// transaction per item, all in one database transaction. Each accrual is
// balancing: it grants min(requested, escrow left, creator cap left), and a
// zero grant is recorded too (so the key is spent). The fee is cumulative per
// campaign: fees = floor(spent × fee_bps / 10000) after every item. Results
// come back in item order; an item whose key was seen before returns its
// stored result (Replayed). It returns an error, and writes nothing, for any
// invalid item, a key reused for a different request, or a closed escrow.
func (l *Ledger) AccrueBatch(ctx context.Context, campaignID string, items []AccrueItem) (res []AccrueResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.AccrueBatchTx(ctx, tx, campaignID, items)
		return err
	})
	return res, err
}

// accrueHashed is what the request hash of an accrual covered before
// accrueHash; replays of accruals recorded then are still recognised.
type accrueHashed struct {
	CampaignID string `json:"campaign_id"`
	AccrueItem
}

// accrueHashPrefix marks request hashes made by accrueHash; a stored hash
// without it was made by requestHash.
const accrueHashPrefix = "a2:"

// accrueHash is an accrual's request hash: the SHA-256 of its fields,
// length-prefixed so that no two requests encode alike. It covers exactly
// what requestHash covers, without encoding/json on the batch's hot path.
func accrueHash(campaignID string, it AccrueItem) string {
	var buf [256]byte
	b := buf[:0]
	b = append(b, KindAccrue...)
	for _, s := range [...]string{campaignID, it.CreatorID, it.Ref} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, it.Amount)
	b = binary.AppendVarint(b, it.Cap)
	sum := sha256.Sum256(b)
	out := make([]byte, len(accrueHashPrefix)+hex.EncodedLen(len(sum)))
	copy(out, accrueHashPrefix)
	hex.Encode(out[len(accrueHashPrefix):], sum[:])
	return string(out)
}

// replayAccrual fills out from the stored accrual s when it was made by the
// same request (hash), and returns a conflict error otherwise.
func replayAccrual(campaignID string, it AccrueItem, s stored, hash string, out *AccrueResult) error {
	if s.hash != hash && (strings.HasPrefix(s.hash, accrueHashPrefix) || s.hash != requestHash(KindAccrue, accrueHashed{campaignID, it})) {
		return keyReused(it.Key)
	}
	if s.result != "" { // recorded before results were rebuilt from the row
		return replay(it.Key, stored{hash: hash, result: s.result}, hash, out)
	}
	// The same request: what it asked is what this one asks; the row holds
	// the rest (escrow debit, held credit, fee credit; flags).
	*out = AccrueResult{TxID: s.id, CreatorID: it.CreatorID, Requested: it.Amount,
		Granted: -s.legs[0], Earned: s.legs[1], Fee: s.legs[2],
		EscrowExhausted: s.flags&flagEscrowExhausted != 0, CapReached: s.flags&flagCapReached != 0}
	return nil
}

// AccrueBatchTx is AccrueBatch inside the caller's transaction.
func (l *Ledger) AccrueBatchTx(ctx context.Context, tx *store.Tx, campaignID string, items []AccrueItem) ([]AccrueResult, error) {
	var c errs.Collector
	c.Add("campaign_id", checkID("campaign_id", campaignID))
	if len(items) == 0 {
		c.Addf("items", "required", "at least one accrual is required")
	}
	for i, it := range items {
		kerr, cerr, aerr := checkKey(it.Key), checkID("creator_id", it.CreatorID), checkPositive("amount", it.Amount)
		if kerr == nil && cerr == nil && aerr == nil && it.Cap >= 0 {
			continue // the common case: no field names to build
		}
		p := fmt.Sprintf("items[%d].", i)
		c.Add(p+"idempotency_key", kerr)
		c.Add(p+"creator_id", cerr)
		c.Add(p+"amount", aerr)
		if it.Cap < 0 {
			c.Addf(p+"cap", "negative_amount", "cap must not be negative")
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	// On PostgreSQL one statement locks the escrow, the creators and the
	// accounts and looks the keys up (readAccrualPG); one more writes
	// everything (saveAccrualPG).
	var pre *accrualRead
	var e *escrowRow
	var err error
	if tx.Dialect() == store.Postgres {
		if pre, err = readAccrualPG(ctx, tx, campaignID, items); err != nil {
			return nil, err
		}
		if e = pre.escrow; e == nil {
			return nil, noEscrow(campaignID)
		}
	} else if e, err = lockEscrow(ctx, tx, campaignID); err != nil {
		return nil, err
	}
	hashes := make([]string, len(items))
	for i, it := range items {
		hashes[i] = accrueHash(campaignID, it)
	}
	// On SQLite, where a statement costs CPU and no round trip, a batch
	// of new keys goes optimistically (accrueOptimistic); on PostgreSQL
	// the keys were looked up with the locks, where a savepoint and its
	// release would be two more round trips.
	if pre != nil {
		return l.accrueWith(ctx, tx, e, items, hashes, pre.seen, pre)
	}
	if e.ClosedAt == 0 {
		saved := *e
		if out, ok, err := l.accrueOptimistic(ctx, tx, e, items, hashes); ok || err != nil {
			return out, err
		}
		*e = saved
	}
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	seen, err := lookup(ctx, tx, tx.Dialect(), keys)
	if err != nil {
		return nil, err
	}
	return l.accrueWith(ctx, tx, e, items, hashes, seen, nil)
}

// accrueOptimistic runs the batch as if none of its keys had been used
// before, without looking them up: the unique index on idempotency keys
// refuses the batch if one was (or if a concurrent writer commits one
// first). It runs inside a savepoint; on any error but a cancelled context
// it rolls back to the savepoint and reports ok = false, and the caller
// runs the batch again the careful way (look the keys up, replay the ones
// found). So its result is the careful way's whenever it is ok, and a batch
// of new keys, the common case, spends no lookup.
func (l *Ledger) accrueOptimistic(ctx context.Context, tx *store.Tx, e *escrowRow, items []AccrueItem, hashes []string) (out []AccrueResult, ok bool, err error) {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT ledger_accrue`); err != nil {
		return nil, false, fmt.Errorf("ledger: savepoint: %w", err)
	}
	out, err = l.accrueWith(ctx, tx, e, items, hashes, nil, nil)
	if err == nil {
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT ledger_accrue`); err != nil {
			return nil, false, fmt.Errorf("ledger: release savepoint: %w", err)
		}
		return out, true, nil
	}
	if ctx.Err() != nil {
		return nil, false, err
	}
	if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT ledger_accrue`); rerr != nil {
		return nil, false, errors.Join(err, fmt.Errorf("ledger: roll back to savepoint: %w", rerr))
	}
	if _, rerr := tx.ExecContext(ctx, `RELEASE SAVEPOINT ledger_accrue`); rerr != nil {
		return nil, false, fmt.Errorf("ledger: release savepoint: %w", rerr)
	}
	return nil, false, nil
}

// accrueWith runs the batch on the locked escrow e: the items whose keys
// are in seen replay their stored result, the others accrue. pre, when
// not nil, holds the creators' rows and accounts already locked.
func (l *Ledger) accrueWith(ctx context.Context, tx *store.Tx, e *escrowRow, items []AccrueItem, hashes []string, seen map[string]stored, pre *accrualRead) ([]AccrueResult, error) {
	out := make([]AccrueResult, len(items))
	fresh := make([]int, 0, len(items))
	firstIdx := make(map[string]int, len(items)) // key → index of its first occurrence in this batch
	var creators []string
	creatorSeen := map[string]bool{}
	for i, it := range items {
		if s, ok := seen[it.Key]; ok {
			if err := replayAccrual(e.CampaignID, it, s, hashes[i], &out[i]); err != nil {
				return nil, errs.WithField(err, fmt.Sprintf("items[%d]", i))
			}
			out[i].Key, out[i].Replayed = it.Key, true
			continue
		}
		if j, dup := firstIdx[it.Key]; dup {
			if hashes[j] != hashes[i] {
				return nil, &errs.Error{Kind: errs.Conflict, Code: "idempotency_key_reused", Field: fmt.Sprintf("items[%d].idempotency_key", i),
					Message: fmt.Sprintf("idempotency key %q appears twice in the batch with different requests", it.Key)}
			}
			continue // filled from its first occurrence below
		}
		firstIdx[it.Key] = i
		fresh = append(fresh, i)
		if !creatorSeen[it.CreatorID] {
			creatorSeen[it.CreatorID] = true
			creators = append(creators, it.CreatorID)
		}
	}
	if len(fresh) > 0 {
		if e.ClosedAt != 0 {
			return nil, e.closedErr()
		}
		if err := l.accrueFresh(ctx, tx, e, items, hashes, fresh, creators, out, pre); err != nil {
			return nil, err
		}
	}
	for i, it := range items {
		if j, ok := firstIdx[it.Key]; ok && j != i {
			out[i] = out[j]
			out[i].Replayed = true
		}
	}
	return out, nil
}

func (l *Ledger) accrueFresh(ctx context.Context, tx *store.Tx, e *escrowRow, items []AccrueItem, hashes []string, fresh []int, creators []string, out []AccrueResult, pre *accrualRead) error {
	now := l.clock.Now().UnixMicro()
	var crs map[string]*creatorRow
	if pre != nil && !slices.ContainsFunc(creators, func(c string) bool { return pre.creators[c] == nil }) {
		crs = pre.creators
	} else {
		var err error
		if crs, err = lockCreators(ctx, tx, e.CampaignID, slices.Sorted(slices.Values(creators))); err != nil {
			return err
		}
	}
	w := newWork(tx, now)
	if pre != nil {
		for _, a := range pre.accounts {
			w.accts[a.ID] = a // locked; lock below creates and locks only the missing
		}
	}
	specs := []spec{specFor(AccEscrow, e.CampaignID, "", e.BrandID, e.Currency), specFor(AccFees, e.CampaignID, "", e.BrandID, e.Currency)}
	for _, cr := range creators {
		specs = append(specs, specFor(AccHeld, e.CampaignID, cr, "", e.Currency))
	}
	if err := w.lock(ctx, specs...); err != nil {
		return err
	}
	esc, fee := w.acct(escrowAcc(e.CampaignID)), w.acct(feesAcc(e.CampaignID))
	type creatorAccs struct {
		accs [3]*account // escrow, held, fees: the order of recordAccrual's amounts
		row  accrualRow
	}
	per := make(map[string]*creatorAccs, len(creators))
	for _, cr := range creators {
		per[cr] = &creatorAccs{accs: [3]*account{esc, w.acct(heldAcc(e.CampaignID, cr)), fee},
			row: w.accrualTemplate(e.CampaignID, e.BrandID, cr, e.Currency)}
	}
	txIDs := id.NewSeq(id.Transaction, len(fresh))
	for n, i := range fresh {
		it := items[i]
		cr := crs[it.CreatorID]
		r := AccrueResult{Key: it.Key, TxID: txIDs[n], CreatorID: it.CreatorID, Requested: it.Amount}
		grant := min(it.Amount, max(esc.spendable(), 0))
		if it.Cap > 0 {
			left := max(it.Cap-cr.Spent, 0)
			if left < grant {
				grant = left
				r.CapReached = true
			}
		}
		if grant > 0 {
			spent := e.Spent + grant // ≤ funded, cannot overflow
			fees := money.FloorBps(spent, e.FeeBps)
			r.Granted, r.Fee, r.Earned = grant, fees-e.Fees, grant-(fees-e.Fees)
			e.Spent, e.Fees = spent, fees
			cr.Spent += grant
			cr.Earned += r.Earned
			cr.dirty = true
		}
		// Escrow debit, creator held credit, fee credit: in this order in
		// the row (see replayAccrual).
		c := per[it.CreatorID]
		legs := [3]leg{{esc.ID, -r.Granted}, {c.accs[1].ID, r.Earned}, {fee.ID, r.Fee}}
		if err := w.apply(r.TxID, legs[:], c.accs[:]); err != nil {
			return err
		}
		r.EscrowExhausted = esc.spendable() <= 0
		flags := 0
		if r.EscrowExhausted {
			flags |= flagEscrowExhausted
		}
		if r.CapReached {
			flags |= flagCapReached
		}
		w.recordAccrual(c.row, r.TxID, it.Key, hashes[i], flags, [3]int64{-r.Granted, r.Earned, r.Fee})
		out[i] = r
	}
	if tx.Dialect() == store.Postgres && len(w.entryRows) == 0 {
		return saveAccrualPG(ctx, tx, e, crs, w)
	}
	if err := e.save(ctx, tx); err != nil {
		return err
	}
	if err := saveCreators(ctx, tx, e.CampaignID, crs); err != nil {
		return err
	}
	return w.flush(ctx)
}

// ReleaseRequest moves a creator's held earnings in a campaign to their
// available balance at the end of the holding period.
type ReleaseRequest struct {
	Key        string `json:"-"`
	CampaignID string `json:"campaign_id"`
	CreatorID  string `json:"creator_id"`
	Amount     int64  `json:"amount"`
}

// ReleaseResult is what Release did. Released = DebtRepaid + ToAvailable.
type ReleaseResult struct {
	TxID        string `json:"tx_id"`
	Released    int64  `json:"released"`
	DebtRepaid  int64  `json:"debt_repaid"`
	ToAvailable int64  `json:"to_available"`
	Replayed    bool   `json:"-"`
}

// Release moves req.Amount from held to available, first repaying any debt
// the creator carries from earlier clawbacks. It returns a Conflict
// (insufficient_funds) when less than req.Amount is held, writing nothing.
func (l *Ledger) Release(ctx context.Context, req ReleaseRequest) (res ReleaseResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.ReleaseTx(ctx, tx, req)
		return err
	})
	return res, err
}

// ReleaseTx is Release inside the caller's transaction.
func (l *Ledger) ReleaseTx(ctx context.Context, tx *store.Tx, req ReleaseRequest) (ReleaseResult, error) {
	var res ReleaseResult
	var c errs.Collector
	c.Add("idempotency_key", checkKey(req.Key))
	c.Add("campaign_id", checkID("campaign_id", req.CampaignID))
	c.Add("creator_id", checkID("creator_id", req.CreatorID))
	c.Add("amount", checkPositive("amount", req.Amount))
	if err := c.Err(); err != nil {
		return res, err
	}
	e, err := l.readEscrow(ctx, tx, req.CampaignID)
	if err != nil {
		return res, err
	}
	now := l.clock.Now().UnixMicro()
	w := newWork(tx, now)
	cur := e.Currency
	if err := w.lock(ctx, specFor(AccHeld, req.CampaignID, req.CreatorID, "", cur),
		specFor(AccAvailable, "", req.CreatorID, "", cur), specFor(AccDebt, "", req.CreatorID, "", cur)); err != nil {
		return res, err
	}
	hash := requestHash(KindRelease, req)
	if found, err := replayOne(ctx, tx, req.Key, hash, &res); found || err != nil {
		res.Replayed = found
		return res, err
	}
	debt := w.acct(debtAcc(req.CreatorID, cur))
	repay := min(req.Amount, max(-debt.Posted, 0))
	res = ReleaseResult{TxID: newTxID(), Released: req.Amount, DebtRepaid: repay, ToAvailable: req.Amount - repay}
	if err := w.post(res.TxID,
		leg{heldAcc(req.CampaignID, req.CreatorID), -req.Amount},
		leg{debtAcc(req.CreatorID, cur), repay},
		leg{availAcc(req.CreatorID, cur), req.Amount - repay}); err != nil {
		return res, err
	}
	if err := w.record(res.TxID, req.Key, hash, KindRelease, req.CampaignID, "", req.CreatorID, res); err != nil {
		return res, err
	}
	return res, w.flush(ctx)
}

// ClawbackRequest takes back gross spend on a creator in a campaign (a
// voided earning, a refunded sale). The fee on it is reversed so that fees
// stay floor(spent × fee_bps / 10000); the creator's share comes out of held
// earnings first, then available, and whatever is left becomes debt that
// future releases repay.
type ClawbackRequest struct {
	Key        string `json:"-"`
	CampaignID string `json:"campaign_id"`
	CreatorID  string `json:"creator_id"`
	Amount     int64  `json:"amount"`
	Reason     string `json:"reason,omitempty"`
}

// ClawbackResult is what Clawback did. Amount = FeeReversed + FromHeld +
// FromAvailable + ToDebt. Refunded: the campaign was closed, so the money went
// back to the brand instead of to the escrow.
type ClawbackResult struct {
	TxID          string `json:"tx_id"`
	Amount        int64  `json:"amount"`
	FeeReversed   int64  `json:"fee_reversed"`
	FromHeld      int64  `json:"from_held"`
	FromAvailable int64  `json:"from_available"`
	ToDebt        int64  `json:"to_debt"`
	Refunded      bool   `json:"refunded,omitempty"`
	Replayed      bool   `json:"-"`
}

// Clawback returns req.Amount of spend on the creator to the campaign's
// escrow (or, once closed, to the brand). It returns a Conflict
// (exceeds_spend) when the campaign spent less than that on the creator.
func (l *Ledger) Clawback(ctx context.Context, req ClawbackRequest) (res ClawbackResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.ClawbackTx(ctx, tx, req)
		return err
	})
	return res, err
}

// ClawbackTx is Clawback inside the caller's transaction.
func (l *Ledger) ClawbackTx(ctx context.Context, tx *store.Tx, req ClawbackRequest) (ClawbackResult, error) {
	var res ClawbackResult
	var c errs.Collector
	c.Add("idempotency_key", checkKey(req.Key))
	c.Add("campaign_id", checkID("campaign_id", req.CampaignID))
	c.Add("creator_id", checkID("creator_id", req.CreatorID))
	c.Add("amount", checkPositive("amount", req.Amount))
	if err := c.Err(); err != nil {
		return res, err
	}
	e, err := lockEscrow(ctx, tx, req.CampaignID)
	if err != nil {
		return res, err
	}
	crs, err := lockCreators(ctx, tx, req.CampaignID, []string{req.CreatorID})
	if err != nil {
		return res, err
	}
	cur := e.Currency
	target := specFor(AccEscrow, req.CampaignID, "", e.BrandID, cur)
	if e.ClosedAt != 0 {
		target = specFor(AccExtRefunds, "", "", "", cur)
	}
	now := l.clock.Now().UnixMicro()
	w := newWork(tx, now)
	if err := w.lock(ctx, target, specFor(AccFees, req.CampaignID, "", e.BrandID, cur),
		specFor(AccHeld, req.CampaignID, req.CreatorID, "", cur),
		specFor(AccAvailable, "", req.CreatorID, "", cur), specFor(AccDebt, "", req.CreatorID, "", cur)); err != nil {
		return res, err
	}
	hash := requestHash(KindClawback, req)
	if found, err := replayOne(ctx, tx, req.Key, hash, &res); found || err != nil {
		res.Replayed = found
		return res, err
	}
	cr := crs[req.CreatorID]
	if req.Amount > cr.Spent {
		return res, &errs.Error{Kind: errs.Conflict, Code: "exceeds_spend", Field: "amount",
			Message: fmt.Sprintf("campaign %s spent %s on creator %s, cannot claw back %s", req.CampaignID,
				money.FormatMicros(cr.Spent), req.CreatorID, money.FormatMicros(req.Amount))}
	}
	spent := e.Spent - req.Amount
	fees := money.FloorBps(spent, e.FeeBps)
	share := req.Amount - (e.Fees - fees)
	held, avail := w.acct(heldAcc(req.CampaignID, req.CreatorID)), w.acct(availAcc(req.CreatorID, cur))
	res = ClawbackResult{TxID: newTxID(), Amount: req.Amount, FeeReversed: e.Fees - fees, Refunded: e.ClosedAt != 0}
	res.FromHeld = min(share, max(held.spendable(), 0))
	res.FromAvailable = min(share-res.FromHeld, max(avail.spendable(), 0))
	res.ToDebt = share - res.FromHeld - res.FromAvailable
	if err := w.post(res.TxID,
		leg{heldAcc(req.CampaignID, req.CreatorID), -res.FromHeld},
		leg{availAcc(req.CreatorID, cur), -res.FromAvailable},
		leg{debtAcc(req.CreatorID, cur), -res.ToDebt},
		leg{feesAcc(req.CampaignID), -res.FeeReversed},
		leg{target.ID, req.Amount}); err != nil {
		return res, err
	}
	e.Spent, e.Fees = spent, fees
	if e.ClosedAt != 0 {
		e.Refunded += req.Amount
	}
	cr.Spent -= req.Amount
	cr.Earned -= share
	cr.dirty = true
	if err := e.save(ctx, tx); err != nil {
		return res, err
	}
	if err := saveCreators(ctx, tx, req.CampaignID, crs); err != nil {
		return res, err
	}
	if err := w.record(res.TxID, req.Key, hash, KindClawback, req.CampaignID, e.BrandID, req.CreatorID, res); err != nil {
		return res, err
	}
	return res, w.flush(ctx)
}

// CloseResult is what Close did.
type CloseResult struct {
	TxID     string `json:"tx_id"`
	Refunded int64  `json:"refunded"`
	Replayed bool   `json:"-"`
}

// Close refunds a campaign's unspent escrow to the brand and closes the
// escrow to further funding and accruals. It returns a Conflict when the
// escrow has open holds or is already closed (unless this is a replay).
func (l *Ledger) Close(ctx context.Context, key, campaignID string) (res CloseResult, err error) {
	err = l.run(ctx, func(tx *store.Tx) error {
		res, err = l.CloseTx(ctx, tx, key, campaignID)
		return err
	})
	return res, err
}

// CloseTx is Close inside the caller's transaction.
func (l *Ledger) CloseTx(ctx context.Context, tx *store.Tx, key, campaignID string) (CloseResult, error) {
	var res CloseResult
	var c errs.Collector
	c.Add("idempotency_key", checkKey(key))
	c.Add("campaign_id", checkID("campaign_id", campaignID))
	if err := c.Err(); err != nil {
		return res, err
	}
	e, err := lockEscrow(ctx, tx, campaignID)
	if err != nil {
		return res, err
	}
	hash := requestHash(KindCloseEscrow, struct {
		CampaignID string `json:"campaign_id"`
	}{campaignID})
	if found, err := replayOne(ctx, tx, key, hash, &res); found || err != nil {
		res.Replayed = found
		return res, err
	}
	if e.ClosedAt != 0 {
		return res, e.closedErr()
	}
	now := l.clock.Now().UnixMicro()
	w := newWork(tx, now)
	if err := w.lock(ctx, specFor(AccEscrow, campaignID, "", e.BrandID, e.Currency), specFor(AccExtRefunds, "", "", "", e.Currency)); err != nil {
		return res, err
	}
	esc := w.acct(escrowAcc(campaignID))
	if esc.PendingOut != 0 || esc.PendingIn != 0 {
		return res, errs.Conflictf("open_holds", "campaign %s has open holds on its escrow: settle them before closing", campaignID)
	}
	res = CloseResult{TxID: newTxID(), Refunded: esc.Posted}
	if err := w.post(res.TxID, leg{escrowAcc(campaignID), -esc.Posted}, leg{extRefundsAcc(e.Currency), esc.Posted}); err != nil {
		return res, err
	}
	e.Refunded += res.Refunded
	e.ClosedAt = now
	if err := e.save(ctx, tx); err != nil {
		return res, err
	}
	if err := w.record(res.TxID, key, hash, KindCloseEscrow, campaignID, e.BrandID, "", res); err != nil {
		return res, err
	}
	return res, w.flush(ctx)
}

// readEscrow reads an escrow without locking it (for its currency and brand,
// which never change).
func (l *Ledger) readEscrow(ctx context.Context, q store.Queryer, campaign string) (*escrowRow, error) {
	e, err := scanEscrow(q.QueryRowContext(ctx, `SELECT `+escrowCols+` FROM ledger_escrows WHERE campaign_id = $1`, campaign))
	if err != nil {
		if isNoRows(err) {
			return nil, &errs.Error{Kind: errs.NotFound, Code: "escrow_not_found", Field: "campaign_id",
				Message: fmt.Sprintf("campaign %s has no escrow: fund it first", campaign)}
		}
		return nil, fmt.Errorf("ledger: read escrow %s: %w", campaign, err)
	}
	return e, nil
}
