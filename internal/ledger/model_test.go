package ledger_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/big"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// This file checks the ledger against an in-memory model written from the
// rules (shared/reference/ledger.md) and the ledger's doc comments: plain
// maps of balances, updated by the documented flows, with fees computed with
// big integers. Only the precedence of errors (which check wins when several
// would fail) follows the implementation where the docs are silent. Random
// operation sequences run against both; after every step the operation's
// result (to the micro-unit) or error code, every balance read through the
// public API, the holds, the audit and the invariants must agree, and a
// rejected or replayed operation must leave the database as it was.

// ---------------------------------------------------------------- model --

// mErr is an expected error: its kind and code.
type mErr struct {
	kind errs.Kind
	code string
}

func mInvalid(code string) *mErr  { return &mErr{errs.Invalid, code} }
func mConflict(code string) *mErr { return &mErr{errs.Conflict, code} }
func mNotFound(code string) *mErr { return &mErr{errs.NotFound, code} }

func (e *mErr) String() string {
	if e == nil {
		return "success"
	}
	return string(e.kind) + "/" + e.code
}

// Operation names, as the model records them against idempotency keys.
const (
	opFund     = "fund"
	opAccrue   = "accrue"
	opRelease  = "release"
	opClawback = "clawback"
	opClose    = "close"
	opPayout   = "payout"
	opPost     = "post"
	opVoid     = "void"
	opReverse  = "reverse"
)

type mCC struct{ spent, earned int64 }

type mEscrow struct {
	brand          string
	cur            money.Currency
	feeBps         int64
	reduced        bool
	funded, spent  int64
	fees, refunded int64
	escrowBal      int64 // the escrow account
	feesBal        int64 // the platform's fee account for the campaign
	closed         bool
	creators       map[string]*mCC
}

func (e *mEscrow) cc(creator string) *mCC {
	c := e.creators[creator]
	if c == nil {
		c = &mCC{}
		e.creators[creator] = c
	}
	return c
}

type mCreatorKey struct {
	creator string
	cur     money.Currency
}

// mCreator is a creator's money in one currency. debt is what they owe (≥ 0).
type mCreator struct {
	avail, pending, debt, paidOut int64
	// What the operations reported, for invariant 6 (fromAvail: taken
	// from available by clawbacks and by debt repayments).
	released, debtRepaid, fromAvail int64
}

type mHold struct {
	creator       string
	cur           money.Currency
	amount        int64
	posted        int64
	reversed      int64 // of posted, came back (payout_reverse)
	state         string
	expiresAt     int64 // unix µs; 0 = never
	resolvedTimes int
}

// mStored is what an idempotency key was used for, and the result returned then.
type mStored struct {
	op  string
	req any // the request without its key (comparable)
	res any
}

type heldKey struct{ campaign, creator string }

type model struct {
	now      time.Time
	escrows  map[string]*mEscrow
	first    map[string]string // brand → its reduced-fee campaign
	held     map[heldKey]int64
	creators map[mCreatorKey]*mCreator
	// External accounts per currency, as positive totals.
	fundedIn, paidOut, payoutsPending, refunded map[money.Currency]int64
	holds                                       map[string]*mHold
	holdList                                    []string
	keys                                        map[string]mStored
	keyList                                     []string
}

func newModel(now time.Time) *model {
	return &model{
		now: now, escrows: map[string]*mEscrow{}, first: map[string]string{}, held: map[heldKey]int64{},
		creators: map[mCreatorKey]*mCreator{}, fundedIn: map[money.Currency]int64{}, paidOut: map[money.Currency]int64{},
		payoutsPending: map[money.Currency]int64{}, refunded: map[money.Currency]int64{},
		holds: map[string]*mHold{}, keys: map[string]mStored{},
	}
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	c := make(map[K]V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func (m *model) clone() *model {
	n := *m
	n.escrows = make(map[string]*mEscrow, len(m.escrows))
	for k, e := range m.escrows {
		ce := *e
		ce.creators = make(map[string]*mCC, len(e.creators))
		for c, v := range e.creators {
			cv := *v
			ce.creators[c] = &cv
		}
		n.escrows[k] = &ce
	}
	n.first = cloneMap(m.first)
	n.held = cloneMap(m.held)
	n.creators = make(map[mCreatorKey]*mCreator, len(m.creators))
	for k, v := range m.creators {
		cv := *v
		n.creators[k] = &cv
	}
	n.fundedIn, n.paidOut = cloneMap(m.fundedIn), cloneMap(m.paidOut)
	n.payoutsPending, n.refunded = cloneMap(m.payoutsPending), cloneMap(m.refunded)
	n.holds = make(map[string]*mHold, len(m.holds))
	for k, v := range m.holds {
		cv := *v
		n.holds[k] = &cv
	}
	n.holdList = slices.Clone(m.holdList)
	n.keys = cloneMap(m.keys)
	n.keyList = slices.Clone(m.keyList)
	return &n
}

func (m *model) creator(id string, c money.Currency) *mCreator {
	k := mCreatorKey{id, c}
	cr := m.creators[k]
	if cr == nil {
		cr = &mCreator{}
		m.creators[k] = cr
	}
	return cr
}

func (m *model) remember(key, op string, req, res any) {
	if _, ok := m.keys[key]; !ok {
		m.keyList = append(m.keyList, key)
	}
	m.keys[key] = mStored{op, req, res}
}

// lookup reports a stored key: (stored, true, nil) for a replay of the same
// request, or a conflict when the key was used for something else.
func (m *model) lookup(key, op string, req any) (mStored, bool, *mErr) {
	st, ok := m.keys[key]
	if !ok {
		return mStored{}, false, nil
	}
	if st.op != op || st.req != req {
		return mStored{}, false, mConflict("idempotency_key_reused")
	}
	return st, true, nil
}

// floorFee is floor(spent × bps / 10000), computed with big integers.
func floorFee(spent, bps int64) int64 {
	v := new(big.Int).Mul(big.NewInt(spent), big.NewInt(bps))
	v.Quo(v, big.NewInt(10000))
	return v.Int64()
}

// Input validation, from the rules: every write needs a key (≤ 255 bytes,
// UTF-8, no NUL); ids are non-empty, ≤ 100 bytes, UTF-8, without ':', ' ' or
// NUL; amounts are
// positive; currencies are supported ones. One bad field gives its own code,
// several give invalid_fields.
func vKey(k string) string {
	switch {
	case k == "":
		return "required"
	case len(k) > 255:
		return "too_long"
	case strings.Contains(k, "\x00") || !utf8.ValidString(k):
		return "invalid"
	}
	return ""
}

func vID(v string) string {
	switch {
	case v == "":
		return "required"
	case len(v) > 100 || strings.ContainsAny(v, ": \x00") || !utf8.ValidString(v):
		return "invalid"
	}
	return ""
}

func vPos(n int64) string {
	switch {
	case n == 0:
		return "zero_amount"
	case n < 0:
		return "negative_amount"
	}
	return ""
}

func vNonNeg(n int64) string {
	if n < 0 {
		return "negative_amount"
	}
	return ""
}

func vCur(c money.Currency) string {
	if !c.Valid() {
		return "unknown_currency"
	}
	return ""
}

func collect(codes ...string) *mErr {
	var bad []string
	for _, c := range codes {
		if c != "" {
			bad = append(bad, c)
		}
	}
	switch len(bad) {
	case 0:
		return nil
	case 1:
		return mInvalid(bad[0])
	}
	return mInvalid("invalid_fields")
}

func fundKeyless(r ledger.FundRequest) ledger.FundRequest { r.Key = ""; return r }

// fund: a brand's payment moves from external funding into the campaign's
// escrow; the first funding creates the escrow and decides its fee (the
// brand's first campaign gets the reduced fee).
func (m *model) fund(req ledger.FundRequest) (ledger.FundResult, *model, *mErr) {
	var zero ledger.FundResult
	if e := collect(vKey(req.Key), vID(req.CampaignID), vID(req.BrandID), vCur(req.Amount.Currency),
		vPos(req.Amount.Micros), vNonNeg(req.MaxFunded)); e != nil {
		return zero, nil, e
	}
	if st, ok, e := m.lookup(req.Key, opFund, fundKeyless(req)); e != nil || ok {
		if ok {
			r := st.res.(ledger.FundResult)
			r.Replayed = true
			return r, nil, nil
		}
		return zero, nil, e
	}
	var funded int64
	if e := m.escrows[req.CampaignID]; e != nil {
		switch {
		case e.brand != req.BrandID:
			return zero, nil, mNotFound("not_found")
		case e.cur != req.Amount.Currency:
			return zero, nil, mInvalid("currency_mismatch")
		case e.closed:
			return zero, nil, mConflict("escrow_closed")
		}
		funded = e.funded
	}
	if funded > math.MaxInt64-req.Amount.Micros {
		return zero, nil, mInvalid("amount_overflow")
	}
	funded += req.Amount.Micros
	if req.MaxFunded > 0 && funded > req.MaxFunded {
		return zero, nil, mInvalid("exceeds_budget")
	}
	n := m.clone()
	e := n.escrows[req.CampaignID]
	if e == nil {
		e = &mEscrow{brand: req.BrandID, cur: req.Amount.Currency, feeBps: 2000, creators: map[string]*mCC{}}
		if _, taken := n.first[req.BrandID]; !taken {
			n.first[req.BrandID] = req.CampaignID
			e.reduced, e.feeBps = true, 1000
		}
		n.escrows[req.CampaignID] = e
	}
	e.funded = funded
	e.escrowBal += req.Amount.Micros
	n.fundedIn[e.cur] += req.Amount.Micros
	return ledger.FundResult{Amount: req.Amount.Micros, Funded: funded, FeeBps: e.feeBps, ReducedFee: e.reduced}, n, nil
}

type accrueKeyless struct {
	campaign string
	item     ledger.AccrueItem
}

func itemKeyless(campaign string, it ledger.AccrueItem) accrueKeyless {
	it.Key = ""
	return accrueKeyless{campaign, it}
}

// accrue: each fresh item grants min(requested, escrow left, cap left); the
// fee is cumulative per campaign; items replaying a stored key (or an earlier
// item of the batch) return that result. dupOf[i] is the earlier item i
// repeats, or -1.
func (m *model) accrue(campaign string, items []ledger.AccrueItem) (want []ledger.AccrueResult, dupOf []int, next *model, err *mErr) {
	codes := []string{vID(campaign)}
	if len(items) == 0 {
		codes = append(codes, "required")
	}
	for _, it := range items {
		codes = append(codes, vKey(it.Key), vID(it.CreatorID), vPos(it.Amount), vNonNeg(it.Cap))
	}
	if e := collect(codes...); e != nil {
		return nil, nil, nil, e
	}
	e := m.escrows[campaign]
	if e == nil {
		return nil, nil, nil, mNotFound("escrow_not_found")
	}
	want = make([]ledger.AccrueResult, len(items))
	dupOf = make([]int, len(items))
	firstOf := map[string]int{}
	var fresh []int
	for i, it := range items {
		dupOf[i] = -1
		req := itemKeyless(campaign, it)
		if st, ok, e := m.lookup(it.Key, opAccrue, req); e != nil || ok {
			if e != nil {
				return nil, nil, nil, e
			}
			r := st.res.(ledger.AccrueResult)
			r.Key, r.Replayed = it.Key, true
			want[i] = r
			continue
		}
		if j, ok := firstOf[it.Key]; ok {
			if itemKeyless(campaign, items[j]) != req {
				return nil, nil, nil, mConflict("idempotency_key_reused")
			}
			dupOf[i] = j
			continue
		}
		firstOf[it.Key] = i
		fresh = append(fresh, i)
	}
	if len(fresh) == 0 {
		return want, dupOf, nil, nil
	}
	if e.closed {
		return nil, nil, nil, mConflict("escrow_closed")
	}
	next = m.clone()
	ne := next.escrows[campaign]
	for _, i := range fresh {
		it := items[i]
		cc := ne.cc(it.CreatorID)
		grant := min(it.Amount, ne.escrowBal)
		capReached := false
		if it.Cap > 0 {
			if left := max(it.Cap-cc.spent, 0); left < grant {
				grant, capReached = left, true
			}
		}
		fees := floorFee(ne.spent+grant, ne.feeBps)
		fee := fees - ne.fees
		earned := grant - fee
		ne.spent, ne.fees = ne.spent+grant, fees
		ne.escrowBal -= grant
		ne.feesBal += fee
		cc.spent += grant
		cc.earned += earned
		next.held[heldKey{campaign, it.CreatorID}] += earned
		want[i] = ledger.AccrueResult{Key: it.Key, CreatorID: it.CreatorID, Requested: it.Amount, Granted: grant,
			Fee: fee, Earned: earned, EscrowExhausted: ne.escrowBal <= 0, CapReached: capReached}
	}
	for i, j := range dupOf {
		if j >= 0 {
			want[i] = want[j]
			want[i].Replayed = true
		}
	}
	return want, dupOf, next, nil
}

func releaseKeyless(r ledger.ReleaseRequest) ledger.ReleaseRequest { r.Key = ""; return r }

// release: held → available after the holding period, repaying debt first.
func (m *model) release(req ledger.ReleaseRequest) (ledger.ReleaseResult, *model, *mErr) {
	var zero ledger.ReleaseResult
	if e := collect(vKey(req.Key), vID(req.CampaignID), vID(req.CreatorID), vPos(req.Amount)); e != nil {
		return zero, nil, e
	}
	e := m.escrows[req.CampaignID]
	if e == nil {
		return zero, nil, mNotFound("escrow_not_found")
	}
	if st, ok, err := m.lookup(req.Key, opRelease, releaseKeyless(req)); err != nil || ok {
		if ok {
			r := st.res.(ledger.ReleaseResult)
			r.Replayed = true
			return r, nil, nil
		}
		return zero, nil, err
	}
	hk := heldKey{req.CampaignID, req.CreatorID}
	if m.held[hk] < req.Amount {
		return zero, nil, mConflict(ledger.ErrInsufficientFunds)
	}
	n := m.clone()
	cr := n.creator(req.CreatorID, e.cur)
	repay := min(req.Amount, cr.debt)
	n.held[hk] -= req.Amount
	cr.debt -= repay
	cr.avail += req.Amount - repay
	cr.released += req.Amount
	cr.debtRepaid += repay
	return ledger.ReleaseResult{Released: req.Amount, DebtRepaid: repay, ToAvailable: req.Amount - repay}, n, nil
}

func clawbackKeyless(r ledger.ClawbackRequest) ledger.ClawbackRequest { r.Key = ""; return r }

// clawback: gross spend on a creator returns to the escrow (to the brand once
// closed); the fee is reversed so fees stay floor(spent × bps); the creator's
// share comes from held, then available (not what pending payouts reserve),
// then becomes debt.
func (m *model) clawback(req ledger.ClawbackRequest) (ledger.ClawbackResult, *model, *mErr) {
	var zero ledger.ClawbackResult
	if e := collect(vKey(req.Key), vID(req.CampaignID), vID(req.CreatorID), vPos(req.Amount)); e != nil {
		return zero, nil, e
	}
	e := m.escrows[req.CampaignID]
	if e == nil {
		return zero, nil, mNotFound("escrow_not_found")
	}
	if st, ok, err := m.lookup(req.Key, opClawback, clawbackKeyless(req)); err != nil || ok {
		if ok {
			r := st.res.(ledger.ClawbackResult)
			r.Replayed = true
			return r, nil, nil
		}
		return zero, nil, err
	}
	var ccSpent int64
	if cc := e.creators[req.CreatorID]; cc != nil {
		ccSpent = cc.spent
	}
	if req.Amount > ccSpent {
		return zero, nil, mConflict("exceeds_spend")
	}
	n := m.clone()
	ne := n.escrows[req.CampaignID]
	cr := n.creator(req.CreatorID, ne.cur)
	hk := heldKey{req.CampaignID, req.CreatorID}
	spent := ne.spent - req.Amount
	fees := floorFee(spent, ne.feeBps)
	r := ledger.ClawbackResult{Amount: req.Amount, FeeReversed: ne.fees - fees, Refunded: ne.closed}
	share := req.Amount - r.FeeReversed
	r.FromHeld = min(share, n.held[hk])
	r.FromAvailable = min(share-r.FromHeld, cr.avail-cr.pending)
	r.ToDebt = share - r.FromHeld - r.FromAvailable
	n.held[hk] -= r.FromHeld
	cr.avail -= r.FromAvailable
	cr.debt += r.ToDebt
	cr.fromAvail += r.FromAvailable
	ne.spent, ne.fees = spent, fees
	ne.feesBal -= r.FeeReversed
	cc := ne.cc(req.CreatorID)
	cc.spent -= req.Amount
	cc.earned -= share
	if ne.closed {
		ne.refunded += req.Amount
		n.refunded[ne.cur] += req.Amount
	} else {
		ne.escrowBal += req.Amount
	}
	return r, n, nil
}

type closeKeyless struct{ campaign string }

// closeEscrow: the unspent escrow goes back to the brand; the escrow then
// takes no more funding or accruals.
func (m *model) closeEscrow(key, campaign string) (ledger.CloseResult, *model, *mErr) {
	var zero ledger.CloseResult
	if e := collect(vKey(key), vID(campaign)); e != nil {
		return zero, nil, e
	}
	e := m.escrows[campaign]
	if e == nil {
		return zero, nil, mNotFound("escrow_not_found")
	}
	if st, ok, err := m.lookup(key, opClose, closeKeyless{campaign}); err != nil || ok {
		if ok {
			r := st.res.(ledger.CloseResult)
			r.Replayed = true
			return r, nil, nil
		}
		return zero, nil, err
	}
	if e.closed {
		return zero, nil, mConflict("escrow_closed")
	}
	n := m.clone()
	ne := n.escrows[campaign]
	r := ledger.CloseResult{Refunded: ne.escrowBal}
	ne.refunded += ne.escrowBal
	n.refunded[ne.cur] += ne.escrowBal
	ne.escrowBal = 0
	ne.closed = true
	return r, n, nil
}

func payoutKeyless(r ledger.PayoutRequest) ledger.PayoutRequest { r.Key = ""; return r }

// payout: reserve part of the available balance (less other pending payouts)
// as a pending hold. The hold itself is added by the caller, who learns its id.
func (m *model) payout(req ledger.PayoutRequest) (ledger.HoldResult, *model, *mErr) {
	var zero ledger.HoldResult
	if e := collect(vKey(req.Key), vID(req.CreatorID), vCur(req.Amount.Currency), vPos(req.Amount.Micros)); e != nil {
		return zero, nil, e
	}
	// A replay returns the stored result whatever the time is now.
	if st, ok, err := m.lookup(req.Key, opPayout, payoutKeyless(req)); err != nil || ok {
		if ok {
			r := st.res.(ledger.HoldResult)
			r.Replayed = true
			return r, nil, nil
		}
		return zero, nil, err
	}
	if !req.ExpiresAt.IsZero() && !req.ExpiresAt.After(m.now) {
		return zero, nil, mInvalid("in_past")
	}
	cur := req.Amount.Currency
	var spendable, debt int64
	if cr := m.creators[mCreatorKey{req.CreatorID, cur}]; cr != nil {
		spendable, debt = cr.avail-cr.pending, cr.debt
	}
	// Debt is repaid from available first: only what is left can go.
	if spendable-debt < req.Amount.Micros {
		if debt > 0 {
			return zero, nil, mConflict(ledger.ErrDebtOutstanding)
		}
		return zero, nil, mConflict(ledger.ErrInsufficientFunds)
	}
	n := m.clone()
	cr := n.creator(req.CreatorID, cur)
	r := ledger.HoldResult{State: ledger.HoldPending, Amount: req.Amount.Micros, DebtRepaid: cr.repayDebt()}
	cr.pending += req.Amount.Micros
	n.payoutsPending[cur] += req.Amount.Micros
	return r, n, nil
}

// repayDebt repays the creator's debt from their spendable available
// balance, as far as it goes, and returns what it repaid.
func (cr *mCreator) repayDebt() int64 {
	r := min(cr.debt, cr.avail-cr.pending)
	if r <= 0 {
		return 0
	}
	cr.avail -= r
	cr.debt -= r
	cr.fromAvail += r
	return r
}

func (m *model) addHold(id string, req ledger.PayoutRequest) {
	var exp int64
	if !req.ExpiresAt.IsZero() {
		exp = req.ExpiresAt.UnixMicro()
	}
	m.holds[id] = &mHold{creator: req.CreatorID, cur: req.Amount.Currency, amount: req.Amount.Micros, state: ledger.HoldPending, expiresAt: exp}
	m.holdList = append(m.holdList, id)
}

type resolveKeyless struct {
	hold   string
	amount int64
}

// resolve posts (wholly, or amount of it), voids or expires a pending hold.
func (m *model) resolve(op, key, holdID string, amount int64) (ledger.HoldResult, *model, *mErr) {
	var zero ledger.HoldResult
	if e := collect(vKey(key), vID(holdID), vNonNeg(amount)); e != nil {
		return zero, nil, e
	}
	h := m.holds[holdID]
	if h == nil {
		return zero, nil, mNotFound("not_found")
	}
	if st, ok, err := m.lookup(key, op, resolveKeyless{holdID, amount}); err != nil || ok {
		if ok {
			r := st.res.(ledger.HoldResult)
			r.Replayed = true
			return r, nil, nil
		}
		return zero, nil, err
	}
	if h.state != ledger.HoldPending {
		return zero, nil, mConflict("hold_resolved")
	}
	expired := h.expiresAt > 0 && h.expiresAt <= m.now.UnixMicro()
	if op == opPost && expired {
		return zero, nil, mConflict("hold_expired")
	}
	if amount > h.amount {
		return zero, nil, mInvalid("exceeds_hold")
	}
	n := m.clone()
	nh := n.holds[holdID]
	cr := n.creator(nh.creator, nh.cur)
	cr.pending -= nh.amount
	n.payoutsPending[nh.cur] -= nh.amount
	nh.resolvedTimes++
	r := ledger.HoldResult{HoldID: holdID, Amount: nh.amount}
	if op == opPost {
		r.State, r.Posted = ledger.HoldPosted, nh.amount
		if amount > 0 {
			r.Posted = amount
		}
		cr.avail -= r.Posted
		cr.paidOut += r.Posted
		n.paidOut[nh.cur] += r.Posted
		nh.posted = r.Posted
	} else {
		r.State = ledger.HoldVoided
	}
	// What comes back to available repays debt first.
	r.DebtRepaid = cr.repayDebt()
	nh.state = r.State
	return r, n, nil
}

// reverse moves amount (0: all that is left) of a posted payout hold back
// to available, debt repaid first (issue 14, item 5).
func (m *model) reverse(key, holdID string, amount int64) (ledger.ReverseResult, *model, *mErr) {
	var zero ledger.ReverseResult
	if e := collect(vKey(key), vID(holdID), vNonNeg(amount)); e != nil {
		return zero, nil, e
	}
	h := m.holds[holdID]
	if h == nil {
		return zero, nil, mNotFound("not_found")
	}
	if st, ok, err := m.lookup(key, opReverse, resolveKeyless{holdID, amount}); err != nil || ok {
		if ok {
			r := st.res.(ledger.ReverseResult)
			r.Replayed = true
			return r, nil, nil
		}
		return zero, nil, err
	}
	if h.state != ledger.HoldPosted {
		return zero, nil, mConflict("hold_not_posted")
	}
	left := h.posted - h.reversed
	if left <= 0 {
		return zero, nil, mConflict("already_reversed")
	}
	amt := amount
	if amt == 0 {
		amt = left
	}
	if amt > left {
		return zero, nil, mConflict("exceeds_paid")
	}
	n := m.clone()
	nh := n.holds[holdID]
	cr := n.creator(nh.creator, nh.cur)
	cr.avail += amt
	cr.paidOut -= amt
	n.paidOut[nh.cur] -= amt
	nh.reversed += amt
	r := ledger.ReverseResult{HoldID: holdID, Amount: amt, Reversed: nh.reversed}
	r.DebtRepaid = cr.repayDebt()
	return r, n, nil
}

// expire expires every pending hold whose expiry has passed.
func (m *model) expire() (int, *model) {
	n := m.clone()
	count := 0
	for _, id := range n.holdList {
		h := n.holds[id]
		if h.state != ledger.HoldPending || h.expiresAt == 0 || h.expiresAt > n.now.UnixMicro() {
			continue
		}
		h.state = ledger.HoldExpired
		h.resolvedTimes++
		cr := n.creator(h.creator, h.cur)
		cr.pending -= h.amount
		cr.repayDebt()
		n.payoutsPending[h.cur] -= h.amount
		count++
	}
	if count == 0 {
		return 0, nil
	}
	return count, n
}

// -------------------------------------------------------------- harness --

type mCampaign struct {
	id, brand string
	cur       money.Currency
}

// modelStats counts what the property test did, per stream.
type modelStats struct {
	ops      int
	checks   int
	outcomes map[string]int // op + " " + outcome
	// target is the number of operations after which the remaining checks
	// of a rapid round are skipped, unless failed: once a check has failed,
	// rapid re-runs the property to shrink the failing case, and those runs
	// must not be cut short.
	target int
	failed bool
}

type modelRun struct {
	ctx       context.Context
	db        *store.DB
	l         *ledger.Ledger
	clk       *clock.Fake
	m         *model
	campaigns []mCampaign
	creators  []string
	brands    []string
	nextKey   int
	ops       int // in this sequence
	txIDs     map[string]bool
	stats     *modelStats
}

var modelEpoch = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

var ledgerTables = []string{"ledger_entries", "ledger_transactions", "ledger_holds", "ledger_accounts",
	"ledger_escrows", "ledger_first_campaigns", "ledger_campaign_creators"}

// resetLedger empties the ledger tables and checks that they are empty.
func resetLedger(t tb, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	err := db.WithTx(ctx, func(tx *store.Tx) error {
		for _, tbl := range ledgerTables {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+tbl); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reset ledger: %v", err)
	}
	for _, tbl := range ledgerTables {
		var n int
		if err := db.Read().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+tbl).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%s not empty after reset: %d rows, %v", tbl, n, err)
		}
	}
}

// testStmts caches the tests' own prepared statements (parsing SQL is a
// large part of a small query's cost on SQLite under -race).
var testStmts sync.Map // struct{db *sql.DB; query string} → *sql.Stmt

type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// querier is what prepared returns: a prepared statement, or the query
// bound to q when q cannot prepare.
type querier interface {
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
}

type unprepared struct {
	q     store.Queryer
	query string
}

func (u unprepared) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return u.q.QueryContext(ctx, u.query, args...)
}

func prepared(q store.Queryer, query string) querier {
	db, ok := q.(*sql.DB)
	if !ok {
		return unprepared{q, query}
	}
	type key struct {
		db    *sql.DB
		query string
	}
	if st, ok := testStmts.Load(key{db, query}); ok {
		return st.(*sql.Stmt)
	}
	st, err := db.PrepareContext(context.Background(), query)
	if err != nil {
		return unprepared{q, query}
	}
	if prev, loaded := testStmts.LoadOrStore(key{db, query}, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	return st
}

// dumpLedger renders the ledger's state, to prove an operation changed
// nothing: every row of the tables that change in place (accounts, escrows,
// campaign creators, first campaigns, holds), and the size and newest row of
// the append-only journal (transactions, entries), which can only grow.
func dumpLedger(t tb, q store.Queryer) string {
	t.Helper()
	var b strings.Builder
	for _, query := range []string{
		`SELECT id, kind, currency, owner_id, campaign_id, bounded, posted, pending_out, pending_in FROM ledger_accounts ORDER BY id`,
		`SELECT campaign_id, brand_id, currency, fee_bps, reduced_fee, funded, spent, fees, refunded, closed_at FROM ledger_escrows ORDER BY campaign_id`,
		`SELECT campaign_id, creator_id, spent, earned FROM ledger_campaign_creators ORDER BY campaign_id, creator_id`,
		`SELECT brand_id, campaign_id FROM ledger_first_campaigns ORDER BY brand_id`,
		`SELECT id, tx_id, state, amount, posted_amount, expires_at, resolved_at FROM ledger_holds ORDER BY id`,
		`SELECT COUNT(*), COALESCE(MAX(id), '') FROM ledger_transactions`,
		`SELECT COUNT(*), COALESCE(MAX(tx_id), '') FROM ledger_all_entries`,
	} {
		rows, err := prepared(q, query).QueryContext(context.Background())
		if err != nil {
			t.Fatalf("dump: %v", err)
		}
		cols, _ := rows.Columns()
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatalf("dump: %v", err)
			}
			for _, v := range vals {
				b.WriteString(v.String)
				b.WriteByte('|')
			}
			b.WriteByte('\n')
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("dump: %v", err)
		}
		rows.Close()
		b.WriteString("--\n")
	}
	return b.String()
}

func (r *modelRun) key() string {
	r.nextKey++
	return fmt.Sprintf("k%d", r.nextKey)
}

// count records an operation and what the model expects of it (the log
// shows the operations of a failing case when rapid reports it).
func (r *modelRun) count(t *rapid.T, what, op string, e *mErr, replay bool) {
	r.stats.ops++
	out := e.String()
	if replay {
		out = "replay"
	}
	r.stats.outcomes[op+" "+out]++
	r.ops++
	t.Logf("op %d: %s → model: %s", r.ops, what, out)
}

// expectErr compares an error with the model's; it reports whether the
// operation succeeded (and both agree it should have).
func expectErr(t *rapid.T, what string, want *mErr, got error) bool {
	t.Helper()
	switch {
	case want == nil && got == nil:
		return true
	case want == nil:
		t.Fatalf("%s: unexpected error %v (%s/%s)", what, got, errs.KindOf(got), errs.CodeOf(got))
	case got == nil:
		t.Fatalf("%s: succeeded, but the model expects %s", what, want)
	case errs.KindOf(got) != want.kind || errs.CodeOf(got) != want.code:
		t.Fatalf("%s: error %s/%s (%v), model expects %s", what, errs.KindOf(got), errs.CodeOf(got), got, want)
	}
	return false
}

// freshTx checks that a new transaction got a new, non-empty id.
func (r *modelRun) freshTx(t *rapid.T, what, id string) {
	t.Helper()
	if id == "" || r.txIDs[id] {
		t.Fatalf("%s: transaction id %q is empty or reused", what, id)
	}
	r.txIDs[id] = true
}

// guard snapshots the database before an operation the model says changes
// nothing, and returns a function that checks it still does not.
func (r *modelRun) guard(t *rapid.T, changes bool) func(what string) {
	if changes {
		return func(string) {}
	}
	before := dumpLedger(t, r.db.Read())
	return func(what string) {
		t.Helper()
		if after := dumpLedger(t, r.db.Read()); after != before {
			t.Fatalf("%s was rejected or replayed but changed the database:\nbefore:\n%s\nafter:\n%s", what, before, after)
		}
	}
}

func (r *modelRun) fund(t *rapid.T, req ledger.FundRequest) {
	want, next, werr := r.m.fund(req)
	unchanged := r.guard(t, next != nil)
	got, err := r.l.Fund(r.ctx, req)
	what := fmt.Sprintf("Fund(%+v)", req)
	r.count(t, what, opFund, werr, want.Replayed)
	if expectErr(t, what, werr, err) {
		if next != nil {
			r.freshTx(t, what, got.TxID)
			want.TxID = got.TxID
		}
		if got != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
		if next != nil {
			next.remember(req.Key, opFund, fundKeyless(req), got)
			r.m = next
		}
	}
	unchanged(what)
}

func (r *modelRun) accrue(t *rapid.T, campaign string, items []ledger.AccrueItem) {
	want, dupOf, next, werr := r.m.accrue(campaign, items)
	unchanged := r.guard(t, next != nil)
	var got []ledger.AccrueResult
	var err error
	if len(items) == 1 && rapid.Bool().Draw(t, "single") {
		var one ledger.AccrueResult
		if one, err = r.l.Accrue(r.ctx, campaign, items[0]); err == nil {
			got = []ledger.AccrueResult{one}
		}
	} else {
		got, err = r.l.AccrueBatch(r.ctx, campaign, items)
	}
	what := fmt.Sprintf("AccrueBatch(%s, %+v)", campaign, items)
	r.count(t, what, opAccrue, werr, next == nil && werr == nil)
	if expectErr(t, what, werr, err) {
		if len(got) != len(want) {
			t.Fatalf("%s: %d results for %d items", what, len(got), len(items))
		}
		for i := range want {
			if !want[i].Replayed {
				r.freshTx(t, what, got[i].TxID)
				want[i].TxID = got[i].TxID
			}
		}
		for i, j := range dupOf {
			if j >= 0 {
				want[i].TxID = want[j].TxID
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
		if next != nil {
			for i, it := range items {
				if !want[i].Replayed {
					next.remember(it.Key, opAccrue, itemKeyless(campaign, it), got[i])
				}
			}
			r.m = next
		}
	}
	unchanged(what)
}

func (r *modelRun) release(t *rapid.T, req ledger.ReleaseRequest) {
	want, next, werr := r.m.release(req)
	unchanged := r.guard(t, next != nil)
	got, err := r.l.Release(r.ctx, req)
	what := fmt.Sprintf("Release(%+v)", req)
	r.count(t, what, opRelease, werr, want.Replayed)
	if expectErr(t, what, werr, err) {
		if next != nil {
			r.freshTx(t, what, got.TxID)
			want.TxID = got.TxID
		}
		if got != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
		if next != nil {
			next.remember(req.Key, opRelease, releaseKeyless(req), got)
			r.m = next
		}
	}
	unchanged(what)
}

func (r *modelRun) clawback(t *rapid.T, req ledger.ClawbackRequest) {
	want, next, werr := r.m.clawback(req)
	unchanged := r.guard(t, next != nil)
	got, err := r.l.Clawback(r.ctx, req)
	what := fmt.Sprintf("Clawback(%+v)", req)
	r.count(t, what, opClawback, werr, want.Replayed)
	if expectErr(t, what, werr, err) {
		if next != nil {
			r.freshTx(t, what, got.TxID)
			want.TxID = got.TxID
		}
		if got != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
		if next != nil {
			next.remember(req.Key, opClawback, clawbackKeyless(req), got)
			r.m = next
		}
	}
	unchanged(what)
}

func (r *modelRun) closeEscrow(t *rapid.T, key, campaign string) {
	want, next, werr := r.m.closeEscrow(key, campaign)
	unchanged := r.guard(t, next != nil)
	got, err := r.l.Close(r.ctx, key, campaign)
	what := fmt.Sprintf("Close(%q, %s)", key, campaign)
	r.count(t, what, opClose, werr, want.Replayed)
	if expectErr(t, what, werr, err) {
		if next != nil {
			r.freshTx(t, what, got.TxID)
			want.TxID = got.TxID
		}
		if got != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
		if next != nil {
			next.remember(key, opClose, closeKeyless{campaign}, got)
			r.m = next
		}
	}
	unchanged(what)
}

func (r *modelRun) payout(t *rapid.T, req ledger.PayoutRequest) {
	want, next, werr := r.m.payout(req)
	unchanged := r.guard(t, next != nil)
	got, err := r.l.HoldPayout(r.ctx, req)
	what := fmt.Sprintf("HoldPayout(%+v) at %s", req, r.m.now.Format(time.RFC3339))
	r.count(t, what, opPayout, werr, want.Replayed)
	if expectErr(t, what, werr, err) {
		if next != nil {
			r.freshTx(t, what, got.TxID)
			if got.HoldID == "" || r.m.holds[got.HoldID] != nil {
				t.Fatalf("%s: hold id %q is empty or reused", what, got.HoldID)
			}
			want.TxID, want.HoldID = got.TxID, got.HoldID
		}
		if got != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
		if next != nil {
			next.addHold(got.HoldID, req)
			next.remember(req.Key, opPayout, payoutKeyless(req), got)
			r.m = next
		}
	}
	unchanged(what)
}

func (r *modelRun) resolve(t *rapid.T, op, key, holdID string, amount int64) {
	want, next, werr := r.m.resolve(op, key, holdID, amount)
	unchanged := r.guard(t, next != nil)
	var got ledger.HoldResult
	var err error
	if op == opPost {
		got, err = r.l.PostHold(r.ctx, key, holdID, amount)
	} else {
		got, err = r.l.VoidHold(r.ctx, key, holdID)
	}
	what := fmt.Sprintf("%s(%q, %s, %d) at %s", op, key, holdID, amount, r.m.now.Format(time.RFC3339))
	r.count(t, what, op, werr, want.Replayed)
	if expectErr(t, what, werr, err) {
		if next != nil {
			r.freshTx(t, what, got.TxID)
			want.TxID = got.TxID
		}
		if got != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
		if next != nil {
			next.remember(key, op, resolveKeyless{holdID, amount}, got)
			r.m = next
		}
	}
	unchanged(what)
}

func (r *modelRun) reverse(t *rapid.T, key, holdID string, amount int64) {
	want, next, werr := r.m.reverse(key, holdID, amount)
	unchanged := r.guard(t, next != nil)
	got, err := r.l.ReversePayout(r.ctx, key, holdID, amount)
	what := fmt.Sprintf("ReversePayout(%q, %s, %d)", key, holdID, amount)
	r.count(t, what, opReverse, werr, want.Replayed)
	if expectErr(t, what, werr, err) {
		if next != nil {
			r.freshTx(t, what, got.TxID)
			want.TxID = got.TxID
		}
		if got != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
		if next != nil {
			next.remember(key, opReverse, resolveKeyless{holdID, amount}, got)
			r.m = next
		}
	}
	unchanged(what)
}

func (r *modelRun) expire(t *rapid.T) {
	want, next := r.m.expire()
	unchanged := r.guard(t, next != nil)
	got, err := r.l.ExpireHolds(r.ctx)
	r.count(t, "ExpireHolds at "+r.m.now.Format(time.RFC3339), "expire", nil, false)
	if err != nil {
		t.Fatalf("ExpireHolds: %v", err)
	}
	if got != want {
		t.Fatalf("ExpireHolds at %s expired %d holds, model expects %d", r.m.now.Format(time.RFC3339), got, want)
	}
	if next != nil {
		r.m = next
	}
	unchanged("ExpireHolds")
}

// ------------------------------------------------------------- generators --

// uniform draws 0..n-1 uniformly from unbiased bits (rapid's integer
// generators favour small values, which would skew the mix of operations);
// shrinking still moves it towards 0.
func uniform(t *rapid.T, n int, label string) int {
	bitsNeeded := 0
	for 1<<bitsNeeded < n {
		bitsNeeded++
	}
	var v int
	for try := 0; ; try++ {
		v = 0
		for i := 0; i < bitsNeeded; i++ {
			v <<= 1
			if rapid.Bool().Draw(t, label) {
				v |= 1
			}
		}
		if v < n || try == 3 {
			return v % n
		}
	}
}

// drawAmount draws a positive amount: tiny, small, medium or large.
func drawAmount(t *rapid.T, label string) int64 {
	switch rapid.IntRange(0, 3).Draw(t, label+"_size") {
	case 0:
		return rapid.Int64Range(1, 20).Draw(t, label)
	case 1:
		return rapid.Int64Range(1, 5_000_000).Draw(t, label)
	case 2:
		return rapid.Int64Range(1_000_000, 80_000_000).Draw(t, label)
	}
	return rapid.Int64Range(50_000_000, 400_000_000).Draw(t, label)
}

// drawAround draws an amount relative to a limit: mostly within it or
// exactly it, sometimes one above it, or anything.
func drawAround(t *rapid.T, label string, limit int64) int64 {
	switch mode := rapid.IntRange(0, 9).Draw(t, label+"_mode"); {
	case mode < 4 && limit > 0:
		return rapid.Int64Range(1, limit).Draw(t, label)
	case mode < 6 && limit > 0:
		return limit
	case mode < 8:
		return limit + 1
	}
	return drawAmount(t, label)
}

func (r *modelRun) drawCampaign(t *rapid.T) mCampaign {
	return r.campaigns[uniform(t, len(r.campaigns), "campaign")]
}

func (r *modelRun) drawCreator(t *rapid.T) string {
	return r.creators[uniform(t, len(r.creators), "creator")]
}

// drawKey is a fresh key, or sometimes a used one (a replay or a conflict,
// as the model decides).
func (r *modelRun) drawKey(t *rapid.T) string {
	if len(r.m.keyList) > 0 && rapid.IntRange(0, 9).Draw(t, "reuse_key") == 0 {
		return r.m.keyList[uniform(t, len(r.m.keyList), "used_key")]
	}
	return r.key()
}

func (r *modelRun) fundRequest(t *rapid.T) ledger.FundRequest {
	c := r.drawCampaign(t)
	req := ledger.FundRequest{Key: r.drawKey(t), CampaignID: c.id, BrandID: c.brand, Amount: money.New(drawAmount(t, "fund"), c.cur),
		Reference: fmt.Sprintf("pay_%d", rapid.IntRange(0, 3).Draw(t, "ref"))}
	switch rapid.IntRange(0, 9).Draw(t, "fund_variant") {
	case 1, 2: // a budget: sometimes exactly met, sometimes exceeded
		var funded int64
		if e := r.m.escrows[c.id]; e != nil {
			funded = e.funded
		}
		req.MaxFunded = funded + req.Amount.Micros - rapid.Int64Range(-5, 2).Draw(t, "budget_slack")
		if req.MaxFunded < 0 {
			req.MaxFunded = 0
		}
	case 3: // the wrong currency
		if req.Amount.Currency == money.EUR {
			req.Amount.Currency = money.USD
		} else {
			req.Amount.Currency = money.EUR
		}
	case 4: // another brand
		req.BrandID = r.brands[rapid.IntRange(0, len(r.brands)-1).Draw(t, "brand")]
	}
	return req
}

func (r *modelRun) accrueItem(t *rapid.T, key string) ledger.AccrueItem {
	it := ledger.AccrueItem{Key: key, CreatorID: r.drawCreator(t), Amount: drawAmount(t, "accrue"),
		Ref: fmt.Sprintf("post_%d", rapid.IntRange(0, 2).Draw(t, "accrue_ref"))}
	switch rapid.IntRange(0, 4).Draw(t, "cap_kind") {
	case 1:
		it.Cap = rapid.Int64Range(1, 1000).Draw(t, "cap")
	case 2:
		it.Cap = rapid.Int64Range(1, 60_000_000).Draw(t, "cap")
	}
	return it
}

func (r *modelRun) held(campaign, creator string) int64 { return r.m.held[heldKey{campaign, creator}] }

func (r *modelRun) actFund(t *rapid.T) { r.fund(t, r.fundRequest(t)) }

// drawFunded picks, usually, a campaign whose escrow has money left.
func (r *modelRun) drawFunded(t *rapid.T) mCampaign {
	var hits []mCampaign
	for _, c := range r.campaigns {
		if e := r.m.escrows[c.id]; e != nil && e.escrowBal > 0 {
			hits = append(hits, c)
		}
	}
	if len(hits) > 0 && rapid.IntRange(0, 3).Draw(t, "funded_any") != 0 {
		return hits[uniform(t, len(hits), "funded")]
	}
	return r.drawCampaign(t)
}

func (r *modelRun) actAccrue(t *rapid.T) {
	c := r.drawFunded(t)
	r.accrue(t, c.id, []ledger.AccrueItem{r.accrueItem(t, r.drawKey(t))})
}

func (r *modelRun) actAccrueBatch(t *rapid.T) {
	c := r.drawFunded(t)
	n := rapid.IntRange(2, 8).Draw(t, "batch_size")
	items := make([]ledger.AccrueItem, 0, n)
	for i := 0; i < n; i++ {
		switch {
		case i > 0 && rapid.IntRange(0, 7).Draw(t, "batch_dup") == 0:
			// The same key again in the batch: an identical item (a
			// replay of the first) or a different one (a conflict).
			it := items[rapid.IntRange(0, i-1).Draw(t, "dup_of")]
			if rapid.Bool().Draw(t, "dup_differs") {
				it.Amount++
			}
			items = append(items, it)
		default:
			items = append(items, r.accrueItem(t, r.drawKey(t)))
		}
	}
	r.accrue(t, c.id, items)
}

// drawPair picks a (campaign, creator) pair: usually one where value is
// positive (so operations on it can succeed), otherwise any.
func (r *modelRun) drawPair(t *rapid.T, value func(campaign, creator string) int64) (mCampaign, string) {
	var hits [][2]int
	for i, c := range r.campaigns {
		for j, cr := range r.creators {
			if value(c.id, cr) > 0 {
				hits = append(hits, [2]int{i, j})
			}
		}
	}
	if len(hits) > 0 && rapid.IntRange(0, 3).Draw(t, "pair_any") != 0 {
		h := hits[uniform(t, len(hits), "pair")]
		return r.campaigns[h[0]], r.creators[h[1]]
	}
	return r.drawCampaign(t), r.drawCreator(t)
}

func (r *modelRun) ccSpent(campaign, creator string) int64 {
	if e := r.m.escrows[campaign]; e != nil && e.creators[creator] != nil {
		return e.creators[creator].spent
	}
	return 0
}

func (r *modelRun) actRelease(t *rapid.T) {
	c, cr := r.drawPair(t, r.held)
	r.release(t, ledger.ReleaseRequest{Key: r.drawKey(t), CampaignID: c.id, CreatorID: cr, Amount: drawAround(t, "release", r.held(c.id, cr))})
}

func (r *modelRun) actClawback(t *rapid.T) {
	c, cr := r.drawPair(t, r.ccSpent)
	r.clawback(t, ledger.ClawbackRequest{Key: r.drawKey(t), CampaignID: c.id, CreatorID: cr, Amount: drawAround(t, "clawback", r.ccSpent(c.id, cr)),
		Reason: fmt.Sprintf("r%d", rapid.IntRange(0, 1).Draw(t, "reason"))})
}

func (r *modelRun) spendable(creator string, cur money.Currency) int64 {
	if b := r.m.creators[mCreatorKey{creator, cur}]; b != nil {
		return b.avail - b.pending
	}
	return 0
}

func (r *modelRun) actPayout(t *rapid.T) {
	// Usually a creator and currency with money available (or a debt).
	var hits []mCreatorKey
	for _, cr := range r.creators {
		for _, cur := range modelCurrencies {
			if b := r.m.creators[mCreatorKey{cr, cur}]; r.spendable(cr, cur) > 0 || (b != nil && b.debt > 0) {
				hits = append(hits, mCreatorKey{cr, cur})
			}
		}
	}
	var k mCreatorKey
	if len(hits) > 0 && rapid.IntRange(0, 3).Draw(t, "payout_any") != 0 {
		k = hits[uniform(t, len(hits), "payout_to")]
	} else {
		k = mCreatorKey{r.drawCreator(t), rapid.SampledFrom(modelCurrencies).Draw(t, "payout_cur")}
	}
	req := ledger.PayoutRequest{Key: r.drawKey(t), CreatorID: k.creator, Amount: money.New(drawAround(t, "payout", r.spendable(k.creator, k.cur)), k.cur)}
	if rapid.Bool().Draw(t, "expires") {
		req.ExpiresAt = r.m.now.Add(time.Duration(rapid.IntRange(1, 72).Draw(t, "expires_h")) * time.Hour)
	}
	r.payout(t, req)
}

// drawHold is usually a pending hold, else any known hold (any state), or
// sometimes one that does not exist.
func (r *modelRun) drawHold(t *rapid.T) string {
	if len(r.m.holdList) == 0 || rapid.IntRange(0, 15).Draw(t, "unknown_hold") == 0 {
		return "hld_unknown"
	}
	var pending, lapsed []string
	for _, id := range r.m.holdList {
		if h := r.m.holds[id]; h.state == ledger.HoldPending {
			pending = append(pending, id)
			if h.expiresAt > 0 && h.expiresAt <= r.m.now.UnixMicro() {
				lapsed = append(lapsed, id) // past its expiry, not yet swept
			}
		}
	}
	if len(lapsed) > 0 && rapid.Bool().Draw(t, "lapsed_hold") {
		return lapsed[uniform(t, len(lapsed), "lapsed")]
	}
	if len(pending) > 0 && rapid.IntRange(0, 3).Draw(t, "hold_any") != 0 {
		return pending[uniform(t, len(pending), "pending_hold")]
	}
	return r.m.holdList[uniform(t, len(r.m.holdList), "hold")]
}

func (r *modelRun) actPost(t *rapid.T) {
	id := r.drawHold(t)
	var amount int64
	if h := r.m.holds[id]; h != nil {
		switch rapid.IntRange(0, 3).Draw(t, "post_kind") {
		case 1:
			amount = rapid.Int64Range(1, h.amount).Draw(t, "post_amount")
		case 2:
			amount = h.amount
		case 3:
			amount = h.amount + 1
		}
	}
	r.resolve(t, opPost, r.drawKey(t), id, amount)
}

// actReverse reverses all or part of a posted payout (or tries one that
// is not posted, or more than is left).
func (r *modelRun) actReverse(t *rapid.T) {
	var posted []string
	for _, id := range r.m.holdList {
		if r.m.holds[id].state == ledger.HoldPosted {
			posted = append(posted, id)
		}
	}
	id := r.drawHold(t)
	if len(posted) > 0 && rapid.IntRange(0, 3).Draw(t, "reverse_posted") != 0 {
		id = posted[uniform(t, len(posted), "reverse_hold")]
	}
	var amount int64
	if h := r.m.holds[id]; h != nil && h.posted > h.reversed {
		left := h.posted - h.reversed
		switch rapid.IntRange(0, 3).Draw(t, "reverse_kind") {
		case 1:
			amount = rapid.Int64Range(1, left).Draw(t, "reverse_amount")
		case 2:
			amount = left
		case 3:
			amount = left + 1
		}
	}
	r.reverse(t, r.drawKey(t), id, amount)
}

func (r *modelRun) actVoid(t *rapid.T) { r.resolve(t, opVoid, r.drawKey(t), r.drawHold(t), 0) }

// actExpire moves the clock on, and usually expires the holds that lapsed
// (otherwise they stay pending, past their expiry, until a later sweep).
func (r *modelRun) actExpire(t *rapid.T) {
	d := time.Duration(rapid.IntRange(0, 48*60).Draw(t, "advance_min")) * time.Minute
	r.clk.Advance(d)
	r.m.now = r.clk.Now()
	t.Logf("clock +%s → %s", d, r.m.now.Format(time.RFC3339))
	if rapid.Bool().Draw(t, "sweep") {
		r.expire(t)
	}
}

// actLapse posts or voids a pending hold whose expiry has passed but which
// no sweep has expired yet, or, when there is none, moves the clock on
// without sweeping so that some lapse.
func (r *modelRun) actLapse(t *rapid.T) {
	var lapsed []string
	for _, id := range r.m.holdList {
		if h := r.m.holds[id]; h.state == ledger.HoldPending && h.expiresAt > 0 && h.expiresAt <= r.m.now.UnixMicro() {
			lapsed = append(lapsed, id)
		}
	}
	if len(lapsed) == 0 {
		d := time.Duration(rapid.IntRange(1, 72).Draw(t, "lapse_h")) * time.Hour
		r.clk.Advance(d)
		r.m.now = r.clk.Now()
		t.Logf("clock +%s → %s", d, r.m.now.Format(time.RFC3339))
		return
	}
	id := lapsed[uniform(t, len(lapsed), "lapsed")]
	if rapid.IntRange(0, 2).Draw(t, "lapsed_op") != 0 {
		r.resolve(t, opPost, r.drawKey(t), id, 0)
	} else {
		r.resolve(t, opVoid, r.drawKey(t), id, 0)
	}
}

func (r *modelRun) actClose(t *rapid.T) {
	var closed []string
	for _, c := range r.campaigns {
		if e := r.m.escrows[c.id]; e != nil && e.closed {
			closed = append(closed, c.id)
		}
	}
	if len(closed) > 0 && rapid.IntRange(0, 2).Draw(t, "close_again") == 0 {
		r.closeEscrow(t, r.drawKey(t), closed[uniform(t, len(closed), "closed")])
		return
	}
	r.closeEscrow(t, r.drawKey(t), r.drawCampaign(t).id)
}

// actReplay repeats an earlier successful request with its key.
func (r *modelRun) actReplay(t *rapid.T) {
	if len(r.m.keyList) == 0 {
		r.actFund(t)
		return
	}
	// Pick the kind of operation first, so rare ones get replayed too.
	byOp := map[string][]string{}
	for _, k := range r.m.keyList {
		byOp[r.m.keys[k].op] = append(byOp[r.m.keys[k].op], k)
	}
	ops := make([]string, 0, len(byOp))
	for op := range byOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	keys := byOp[ops[uniform(t, len(ops), "replay_op")]]
	key := keys[uniform(t, len(keys), "replay_key")]
	st := r.m.keys[key]
	switch req := st.req.(type) {
	case ledger.FundRequest:
		req.Key = key
		r.fund(t, req)
	case accrueKeyless:
		req.item.Key = key
		items := []ledger.AccrueItem{req.item}
		if rapid.Bool().Draw(t, "replay_in_batch") {
			items = append(items, r.accrueItem(t, r.key()))
		}
		r.accrue(t, req.campaign, items)
	case ledger.ReleaseRequest:
		req.Key = key
		r.release(t, req)
	case ledger.ClawbackRequest:
		req.Key = key
		r.clawback(t, req)
	case closeKeyless:
		r.closeEscrow(t, key, req.campaign)
	case ledger.PayoutRequest:
		req.Key = key
		r.payout(t, req)
	case resolveKeyless:
		if st.op == opReverse {
			r.reverse(t, key, req.hold, req.amount)
			break
		}
		r.resolve(t, st.op, key, req.hold, req.amount)
	default:
		t.Fatalf("unknown stored request %T", st.req)
	}
}

// actConflict reuses an earlier key for a different request.
func (r *modelRun) actConflict(t *rapid.T) {
	if len(r.m.keyList) == 0 {
		r.actAccrue(t)
		return
	}
	key := r.m.keyList[uniform(t, len(r.m.keyList), "conflict_key")]
	switch rapid.IntRange(0, 3).Draw(t, "conflict_op") {
	case 0:
		req := r.fundRequest(t)
		req.Key = key
		r.fund(t, req)
	case 1:
		c := r.drawCampaign(t)
		r.accrue(t, c.id, []ledger.AccrueItem{r.accrueItem(t, key)})
	case 2:
		cr := r.drawCreator(t)
		r.payout(t, ledger.PayoutRequest{Key: key, CreatorID: cr, Amount: money.New(drawAmount(t, "payout"), money.EUR)})
	default:
		c, cr := r.drawCampaign(t), r.drawCreator(t)
		r.release(t, ledger.ReleaseRequest{Key: key, CampaignID: c.id, CreatorID: cr, Amount: drawAmount(t, "release")})
	}
}

// actInvalid sends a request with exactly one invalid field.
func (r *modelRun) actInvalid(t *rapid.T) {
	c, cr := r.drawCampaign(t), r.drawCreator(t)
	key := r.key()
	defect := rapid.IntRange(0, 10).Draw(t, "defect")
	amount := int64(1_000_000)
	switch defect {
	case 0:
		key = ""
	case 1:
		amount = 0
	case 2:
		amount = -rapid.Int64Range(1, 1_000_000).Draw(t, "negative")
	case 3:
		key = strings.Repeat("k", 256)
	}
	before := r.stats.ops
	switch defect {
	case 4:
		r.fund(t, ledger.FundRequest{Key: key, CampaignID: c.id, BrandID: c.brand, Amount: money.New(amount, "XXX")})
	case 5:
		r.fund(t, ledger.FundRequest{Key: key, CampaignID: "cmp:bad", BrandID: c.brand, Amount: money.New(amount, c.cur)})
	case 6:
		r.fund(t, ledger.FundRequest{Key: key, CampaignID: c.id, BrandID: c.brand, Amount: money.New(amount, c.cur), MaxFunded: -1})
	case 7:
		r.accrue(t, c.id, nil)
	case 8:
		r.accrue(t, c.id, []ledger.AccrueItem{{Key: key, CreatorID: cr, Amount: amount, Cap: -1}})
	case 9:
		r.payout(t, ledger.PayoutRequest{Key: key, CreatorID: cr, Amount: money.New(amount, money.EUR), ExpiresAt: r.m.now.Add(-time.Duration(rapid.IntRange(0, 60).Draw(t, "ago_s")) * time.Second)})
	case 10:
		r.resolve(t, opPost, key, r.drawHold(t), -1)
	default:
		switch rapid.IntRange(0, 6).Draw(t, "invalid_op") {
		case 0:
			r.fund(t, ledger.FundRequest{Key: key, CampaignID: c.id, BrandID: c.brand, Amount: money.New(amount, c.cur)})
		case 1:
			r.accrue(t, c.id, []ledger.AccrueItem{{Key: key, CreatorID: cr, Amount: amount}})
		case 2:
			r.release(t, ledger.ReleaseRequest{Key: key, CampaignID: c.id, CreatorID: cr, Amount: amount})
		case 3:
			r.clawback(t, ledger.ClawbackRequest{Key: key, CampaignID: c.id, CreatorID: cr, Amount: amount})
		case 4:
			r.payout(t, ledger.PayoutRequest{Key: key, CreatorID: cr, Amount: money.New(amount, c.cur)})
		case 5:
			if key == "" || len(key) > 255 {
				r.closeEscrow(t, key, c.id)
			} else {
				r.closeEscrow(t, key, "") // the campaign id is the invalid field
			}
		default:
			if key == "" || len(key) > 255 {
				r.resolve(t, opVoid, key, r.drawHold(t), 0)
			} else {
				r.resolve(t, opVoid, key, "", 0)
			}
		}
	}
	if r.stats.ops != before+1 {
		t.Fatalf("invalid request was not sent")
	}
}

// ------------------------------------------------------------- checking --

// observed is everything verify reads from the ledger after a step.
type observed struct {
	escrows  []ledger.EscrowState
	escErrs  []error
	balances []ledger.CreatorBalance // creators × (EUR, USD)
	balErrs  []error
	holds    []ledger.Hold // in the order of the model's holdList
	holdErrs []error
	accruals int
	countErr error
	audit    ledger.AuditReport
	auditErr error
}

var modelCurrencies = []money.Currency{money.EUR, money.USD}

// observe reads the ledger through its public API (and the audit) in three
// concurrent readers; the database is quiet meanwhile.
func (r *modelRun) observe() *observed {
	ctx := r.ctx
	o := &observed{
		escrows: make([]ledger.EscrowState, len(r.campaigns)), escErrs: make([]error, len(r.campaigns)),
		balances: make([]ledger.CreatorBalance, len(r.creators)*len(modelCurrencies)), balErrs: make([]error, len(r.creators)*len(modelCurrencies)),
		holds: make([]ledger.Hold, len(r.m.holdList)), holdErrs: make([]error, len(r.m.holdList)),
	}
	var wg sync.WaitGroup
	wg.Go(func() { o.audit, o.auditErr = r.l.Audit(ctx) })
	wg.Go(func() {
		for i, c := range r.campaigns {
			o.escrows[i], o.escErrs[i] = r.l.Escrow(ctx, c.id)
		}
		for i, id := range r.m.holdList {
			o.holds[i], o.holdErrs[i] = r.l.GetHold(ctx, id)
		}
		rows, err := prepared(r.db.Read(), `SELECT COUNT(*) FROM ledger_transactions WHERE kind = 'accrue'`).QueryContext(ctx)
		if o.countErr = err; err == nil {
			for rows.Next() {
				o.countErr = rows.Scan(&o.accruals)
			}
			rows.Close()
		}
	})
	wg.Go(func() {
		for i, cr := range r.creators {
			for j, cur := range modelCurrencies {
				k := i*len(modelCurrencies) + j
				o.balances[k], o.balErrs[k] = r.l.Balance(ctx, cr, cur)
			}
		}
	})
	wg.Wait()
	return o
}

// verify compares every balance readable through the public API with the
// model, checks the holds, runs the audit, and asserts invariants 3–7, 9 and
// 12 on the model and on what the API returns.
func (r *modelRun) verify(t *rapid.T) {
	t.Helper()
	o := r.observe()
	m := r.m
	type curTotals struct{ funded, remaining, fees, refunded, creators, paidOut int64 }
	api := map[money.Currency]*curTotals{money.EUR: {}, money.USD: {}}
	reducedPerBrand := map[string][]string{}
	for i, c := range r.campaigns {
		st, err := o.escrows[i], o.escErrs[i]
		e := m.escrows[c.id]
		if e == nil {
			if errs.KindOf(err) != errs.NotFound || errs.CodeOf(err) != "escrow_not_found" {
				t.Fatalf("Escrow(%s) of an unfunded campaign: %+v, %v", c.id, st, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Escrow(%s): %v", c.id, err)
		}
		want := ledger.EscrowState{CampaignID: c.id, BrandID: e.brand, Currency: e.cur, FeeBps: e.feeBps, ReducedFee: e.reduced,
			Funded: e.funded, Spent: e.spent, Fees: e.fees, CreatorEarnings: e.spent - e.fees, Remaining: e.escrowBal,
			Refunded: e.refunded, Closed: e.closed}
		if st != want {
			t.Fatalf("Escrow(%s):\n got %+v\nwant %+v", c.id, st, want)
		}
		tot := api[st.Currency]
		tot.funded += st.Funded
		tot.remaining += st.Remaining
		tot.fees += st.Fees
		tot.refunded += st.Refunded
		// 3: the escrow is never negative and holds what was funded and not spent or refunded.
		if st.Remaining < 0 || st.Remaining != st.Funded-st.Spent-st.Refunded {
			t.Fatalf("invariant 3: escrow %s: %+v", c.id, st)
		}
		if st.Closed && st.Remaining != 0 {
			t.Fatalf("closed escrow %s still holds %d", c.id, st.Remaining)
		}
		// 4: creator earnings + fees = spend, fees = floor(spend × fee_bps / 10000), exactly.
		var sumSpent, sumEarned int64
		for _, cc := range e.creators {
			sumSpent += cc.spent
			sumEarned += cc.earned
		}
		if st.Fees != floorFee(st.Spent, st.FeeBps) || sumSpent != st.Spent || sumEarned+st.Fees != st.Spent || e.feesBal != st.Fees {
			t.Fatalf("invariant 4: escrow %s: %+v; creators spent %d, earned %d; fees account %d", c.id, st, sumSpent, sumEarned, e.feesBal)
		}
		// 5: the reduced fee is 10 %, the normal one 20 %.
		if (st.ReducedFee && st.FeeBps != 1000) || (!st.ReducedFee && st.FeeBps != 2000) {
			t.Fatalf("invariant 5: escrow %s: reduced %t with fee %d bps", c.id, st.ReducedFee, st.FeeBps)
		}
		if st.ReducedFee {
			reducedPerBrand[st.BrandID] = append(reducedPerBrand[st.BrandID], c.id)
		}
		// 12: spend is exactly the grants of distinct accrual keys less clawbacks.
		var granted, clawed int64
		for _, sk := range m.keys {
			switch res := sk.res.(type) {
			case ledger.AccrueResult:
				if sk.req.(accrueKeyless).campaign == c.id {
					granted += res.Granted
				}
			case ledger.ClawbackResult:
				if sk.req.(ledger.ClawbackRequest).CampaignID == c.id {
					clawed += res.Amount
				}
			}
		}
		if st.Spent != granted-clawed {
			t.Fatalf("invariant 12: escrow %s spent %d, but distinct accruals granted %d and clawbacks took %d", c.id, st.Spent, granted, clawed)
		}
	}
	// 5: exactly one reduced-fee campaign per brand that has escrows: its first.
	for _, b := range r.brands {
		funded := false
		for _, c := range r.campaigns {
			if e := m.escrows[c.id]; e != nil && e.brand == b {
				funded = true
			}
		}
		got := reducedPerBrand[b]
		switch {
		case funded && (len(got) != 1 || got[0] != m.first[b]):
			t.Fatalf("invariant 5: brand %s has reduced-fee escrows %v, want exactly [%s]", b, got, m.first[b])
		case !funded && len(got) != 0:
			t.Fatalf("invariant 5: brand %s has no escrow but reduced-fee campaigns %v", b, got)
		}
	}
	for i, cr := range r.creators {
		for j, cur := range modelCurrencies {
			b, err := o.balances[i*len(modelCurrencies)+j], o.balErrs[i*len(modelCurrencies)+j]
			if err != nil {
				t.Fatalf("Balance(%s, %s): %v", cr, cur, err)
			}
			want := ledger.CreatorBalance{CreatorID: cr, Currency: cur}
			for _, c := range r.campaigns {
				if e := m.escrows[c.id]; e != nil && e.cur == cur {
					want.Held += m.held[heldKey{c.id, cr}]
				}
			}
			mc := m.creators[mCreatorKey{cr, cur}]
			if mc == nil {
				mc = &mCreator{}
			}
			want.Available, want.PendingPayout, want.Debt, want.PaidOut = mc.avail-mc.pending, mc.pending, mc.debt, mc.paidOut
			if b != want {
				t.Fatalf("Balance(%s, %s):\n got %+v\nwant %+v", cr, cur, b, want)
			}
			if b.Held < 0 || b.Available < 0 || b.PendingPayout < 0 || b.Debt < 0 {
				t.Fatalf("negative creator balance: %+v", b)
			}
			// 6: paid out + pending payout ≤ released − clawed back (from
			// available, or recovered from later releases as debt repaid).
			if b.PaidOut+b.PendingPayout > mc.released-mc.fromAvail-mc.debtRepaid {
				t.Fatalf("invariant 6: %s %s paid %d + pending %d > released %d - clawed back %d - %d",
					cr, cur, b.PaidOut, b.PendingPayout, mc.released, mc.fromAvail, mc.debtRepaid)
			}
			// 6b: no money can leave while a debt is outstanding: debt is
			// repaid from whatever becomes available before it can be paid out.
			if b.Debt > 0 && b.Available > 0 {
				t.Fatalf("invariant 6b: %s %s owes %d with %d available", cr, cur, b.Debt, b.Available)
			}
			tot := api[cur]
			tot.creators += b.Held + b.Available + b.PendingPayout - b.Debt
			tot.paidOut += b.PaidOut
		}
	}
	// 7: per currency, funded = escrow + creator balances + fees + paid out + refunded,
	// from the public API and in the model.
	for _, cur := range modelCurrencies {
		a := api[cur]
		if a.funded != a.remaining+a.creators+a.fees+a.paidOut+a.refunded {
			t.Fatalf("invariant 7 (%s): funded %d != escrows %d + creators %d + fees %d + paid out %d + refunded %d",
				cur, a.funded, a.remaining, a.creators, a.fees, a.paidOut, a.refunded)
		}
		if a.funded != m.fundedIn[cur] || a.paidOut != m.paidOut[cur] || a.refunded != m.refunded[cur] {
			t.Fatalf("invariant 7 (%s): API funded %d, paid %d, refunded %d; model %d, %d, %d",
				cur, a.funded, a.paidOut, a.refunded, m.fundedIn[cur], m.paidOut[cur], m.refunded[cur])
		}
	}
	// 9: each hold resolves at most once, posted ≤ held; the database agrees.
	for i, id := range m.holdList {
		h := m.holds[id]
		got, err := o.holds[i], o.holdErrs[i]
		if err != nil {
			t.Fatalf("GetHold(%s): %v", id, err)
		}
		if got.State != h.state || got.Amount != h.amount || got.PostedAmount != h.posted || got.OwnerID != h.creator ||
			got.Currency != h.cur || got.ExpiresAt != h.expiresAt || got.Kind != ledger.KindPayoutHold {
			t.Fatalf("hold %s:\n got %+v\nwant %+v", id, got, *h)
		}
		if h.resolvedTimes > 1 || h.posted > h.amount || (h.state == ledger.HoldPending) != (h.resolvedTimes == 0) ||
			(h.state != ledger.HoldPosted && h.posted != 0) {
			t.Fatalf("invariant 9: hold %s: %+v", id, *h)
		}
	}
	// 12: one accrual transaction per distinct accrual key, whatever was replayed.
	var keys int
	accruals := o.accruals
	if o.countErr != nil {
		t.Fatal(o.countErr)
	}
	for _, st := range m.keys {
		if st.op == opAccrue {
			keys++
		}
	}
	if accruals != keys {
		t.Fatalf("invariant 12: %d accrual transactions for %d distinct accrual keys", accruals, keys)
	}
	if o.auditErr != nil {
		t.Fatalf("audit: %v", o.auditErr)
	}
	if !o.audit.OK() {
		t.Fatalf("audit found violations:\n%s", o.audit)
	}
}

type modelAction struct {
	name   string
	weight int
	run    func(r *modelRun, t *rapid.T)
}

var modelActions = []modelAction{
	{"fund", 8, (*modelRun).actFund},
	{"accrue", 10, (*modelRun).actAccrue},
	{"accrue_batch", 5, (*modelRun).actAccrueBatch},
	{"release", 8, (*modelRun).actRelease},
	{"clawback", 4, (*modelRun).actClawback},
	{"payout", 8, (*modelRun).actPayout},
	{"post", 5, (*modelRun).actPost},
	{"void", 3, (*modelRun).actVoid},
	{"reverse", 2, (*modelRun).actReverse},
	{"expire", 3, (*modelRun).actExpire},
	{"lapse", 2, (*modelRun).actLapse},
	{"replay", 5, (*modelRun).actReplay},
	{"conflict", 2, (*modelRun).actConflict},
	{"invalid", 3, (*modelRun).actInvalid},
	{"close", 1, (*modelRun).actClose},
}

// modelProperty is one rapid check: a fresh ledger, a random universe and a
// random sequence of operations, verified after every step.
func modelProperty(db *store.DB, stats *modelStats) func(t *rapid.T) {
	var weighted []int
	for i, a := range modelActions {
		for j := 0; j < a.weight; j++ {
			weighted = append(weighted, i)
		}
	}
	return func(t *rapid.T) {
		if stats.target > 0 && stats.ops >= stats.target && !stats.failed {
			return // this stream has run its share
		}
		defer func() {
			if p := recover(); p != nil { // rapid stops a failing check by panicking
				stats.failed = true
				panic(p)
			}
		}()
		resetLedger(t, db)
		clk := clock.NewFake(modelEpoch)
		l, err := ledger.New(db, clk, ledger.DefaultConfig)
		if err != nil {
			t.Fatal(err)
		}
		r := &modelRun{ctx: context.Background(), db: db, l: l, clk: clk, m: newModel(clk.Now()),
			brands: []string{"brd_1", "brd_2"}, txIDs: map[string]bool{}, stats: stats}
		for i := range rapid.IntRange(3, 4).Draw(t, "campaigns") {
			r.campaigns = append(r.campaigns, mCampaign{
				id:    fmt.Sprintf("cmp_%d", i+1),
				brand: rapid.SampledFrom(r.brands).Draw(t, "brand"),
				cur:   rapid.SampledFrom([]money.Currency{money.EUR, money.USD}).Draw(t, "currency"),
			})
		}
		for i := range rapid.IntRange(3, 4).Draw(t, "creators") {
			r.creators = append(r.creators, fmt.Sprintf("crt_%d", i+1))
		}
		stats.checks++
		steps := 12 + uniform(t, 101, "steps") // 12..112, ~62 on average
		for range steps {
			a := modelActions[weighted[uniform(t, len(weighted), "action")]]
			a.run(r, t)
			r.verify(t)
		}
	}
}

// TestLedgerModel runs random operation sequences against the ledger and the
// model on each store, in modelWorkers concurrent streams per store (each on
// its own database), every step verified in full.
//
// Under CI (CI=true) it runs, and insists on, at least modelMinOps
// operations per store: about 3¼ minutes for the package under -race on two
// idle cores (PostgreSQL ~70 s, SQLite ~190 s, side by side). Elsewhere it
// runs modelLocalOps per store (SQLite ~55 s), so that `go test ./...`
// stays well inside the default 10-minute timeout on a shared machine.
// PAYPER_MODEL_OPS sets the number (e.g. 10000 to run the CI load, or much
// more for a nightly soak); -short runs a tenth; -rapid.seed and the other
// rapid flags work as usual.
func TestLedgerModel(t *testing.T) {
	t.Parallel()
	const (
		modelMinOps   = 10_000
		modelLocalOps = 3_000
		modelWorkers  = 2
	)
	ci := os.Getenv("CI") == "true"
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		target := modelLocalOps
		switch {
		case ci:
			target = modelMinOps
		case testing.Short():
			target = modelLocalOps / 10
		}
		if v, err := strconv.Atoi(os.Getenv("PAYPER_MODEL_OPS")); err == nil && v > 0 {
			if ci {
				target = max(target, v) // CI may ask for more, never for less
			} else {
				target = v
			}
		}
		var mu sync.Mutex
		total := &modelStats{outcomes: map[string]int{}}
		start := time.Now()
		// The streams are subtests run from their own goroutines rather than
		// parallel subtests, which -parallel (GOMAXPROCS) would queue.
		var wg sync.WaitGroup
		for w := range modelWorkers {
			wdb := db
			if w > 0 {
				wdb = openLike(t, db)
			}
			wg.Go(func() {
				t.Run(fmt.Sprintf("stream%d", w), func(t *testing.T) {
					stats := &modelStats{outcomes: map[string]int{}, target: (target + modelWorkers - 1) / modelWorkers}
					for round := 0; stats.ops < stats.target && round < 20; round++ {
						rapid.Check(t, modelProperty(wdb, stats))
					}
					mu.Lock()
					defer mu.Unlock()
					total.ops += stats.ops
					total.checks += stats.checks
					for k, v := range stats.outcomes {
						total.outcomes[k] += v
					}
				})
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		elapsed := time.Since(start)
		outs := make([]string, 0, len(total.outcomes))
		for k, v := range total.outcomes {
			outs = append(outs, fmt.Sprintf("%s: %d", k, v))
		}
		sort.Strings(outs)
		t.Logf("%s: %d operations in %d checks, %s (%.2f ms/op per stream)\n%s", storetest.Name(db), total.ops, total.checks,
			elapsed.Round(time.Millisecond), float64(elapsed.Microseconds()*modelWorkers)/1000/float64(max(total.ops, 1)), strings.Join(outs, "\n"))
		if ci && total.ops < modelMinOps {
			t.Fatalf("only %d operations ran on %s; CI requires at least %d", total.ops, storetest.Name(db), modelMinOps)
		}
		// The generators must reach every outcome that matters, or the
		// property proves less than it claims.
		for _, want := range []string{
			"fund success", "fund replay", "fund invalid/exceeds_budget", "fund invalid/currency_mismatch", "fund not_found/not_found",
			"fund conflict/escrow_closed", "fund conflict/idempotency_key_reused", "fund invalid/unknown_currency",
			"accrue success", "accrue replay", "accrue conflict/idempotency_key_reused", "accrue conflict/escrow_closed",
			"accrue not_found/escrow_not_found", "accrue invalid/zero_amount",
			"release success", "release replay", "release conflict/insufficient_funds",
			"clawback success", "clawback replay", "clawback conflict/exceeds_spend",
			"payout success", "payout replay", "payout conflict/insufficient_funds", "payout invalid/in_past",
			"post success", "post replay", "post conflict/hold_resolved", "post conflict/hold_expired", "post invalid/exceeds_hold",
			"post not_found/not_found", "void success", "close success", "close replay", "close conflict/escrow_closed",
		} {
			if total.outcomes[want] == 0 && target >= modelMinOps {
				t.Errorf("no operation ended in %q: the generators miss it", want)
			}
		}
	})
}

// openLike opens a fresh, migrated database of db's kind.
func openLike(t *testing.T, db *store.DB) *store.DB {
	if db.Dialect() == store.Postgres {
		return storetest.Open(t, storetest.PostgresURL(t))
	}
	return storetest.Open(t, storetest.SQLiteURL(t))
}

// TestBalancesNeverOverflow: no write may wrap an account balance around
// int64, not the escrow's (Fund checks its total) nor the external funding
// account, which sums every escrow of the currency.
func TestBalancesNeverOverflow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		huge := int64(math.MaxInt64 - 10)
		must(l.Fund(ctx, ledger.FundRequest{Key: "f1", CampaignID: "cmp_a", BrandID: "brd_a", Amount: money.New(huge, money.EUR)}))(t)
		requireAuditOK(t, l)
		before := dumpLedger(t, db.Read())
		for _, req := range []ledger.FundRequest{
			{Key: "f2", CampaignID: "cmp_a", BrandID: "brd_a", Amount: money.New(100, money.EUR)}, // the escrow's own total
			{Key: "f3", CampaignID: "cmp_b", BrandID: "brd_a", Amount: money.New(100, money.EUR)}, // the currency's funding total
			{Key: "f4", CampaignID: "cmp_c", BrandID: "brd_c", Amount: money.New(math.MaxInt64, money.EUR)},
		} {
			_, err := l.Fund(ctx, req)
			if errs.KindOf(err) != errs.Invalid || errs.CodeOf(err) != "amount_overflow" {
				t.Fatalf("Fund(%s, %d) over the int64 range: %v, want invalid/amount_overflow", req.CampaignID, req.Amount.Micros, err)
			}
			if after := dumpLedger(t, db.Read()); after != before {
				t.Fatalf("rejected funding changed the ledger:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		}
		// Other currencies have their own funding account.
		must(l.Fund(ctx, ledger.FundRequest{Key: "f5", CampaignID: "cmp_d", BrandID: "brd_a", Amount: money.New(huge, money.USD)}))(t)
		// What fits still fits.
		must(l.Fund(ctx, ledger.FundRequest{Key: "f6", CampaignID: "cmp_e", BrandID: "brd_a", Amount: money.New(10, money.EUR)}))(t)
		var posted int64
		if err := db.Read().QueryRowContext(ctx, `SELECT posted FROM ledger_accounts WHERE id = 'ext:funding:EUR'`).Scan(&posted); err != nil || posted != -math.MaxInt64 {
			t.Fatalf("ext:funding:EUR = %d (%v), want %d", posted, err, -int64(math.MaxInt64))
		}
		requireAuditOK(t, l)
	})
}

// TestIdsMustBeUTF8: keys and ids that are not UTF-8 are invalid input on
// both stores. (Found by FuzzAccrueItem: SQLite stored such an id but could
// not find it again, PostgreSQL refused it, both as internal errors.)
func TestIdsMustBeUTF8(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		must(l.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_u", BrandID: "brd_u", Amount: money.New(1_000_000, money.EUR)}))(t)
		before := dumpLedger(t, db.Read())
		for what, call := range map[string]func() error{
			"fund key": func() error {
				_, err := l.Fund(ctx, ledger.FundRequest{Key: "f\xff", CampaignID: "cmp_u", BrandID: "brd_u", Amount: money.New(1, money.EUR)})
				return err
			},
			"campaign id": func() error {
				_, err := l.Fund(ctx, ledger.FundRequest{Key: "f2", CampaignID: "cmp_\xfe", BrandID: "brd_u", Amount: money.New(1, money.EUR)})
				return err
			},
			"creator id": func() error {
				_, err := l.AccrueBatch(ctx, "cmp_u", []ledger.AccrueItem{{Key: "a1", CreatorID: "\x9a\x9e\"\xcb0", Amount: 5}})
				return err
			},
			"batch keys": func() error {
				_, err := l.AccrueBatch(ctx, "cmp_u", []ledger.AccrueItem{{Key: "a\xff", CreatorID: "crt_1", Amount: 5}, {Key: "b\xfe", CreatorID: "crt_1", Amount: 5}})
				return err
			},
		} {
			if err := call(); errs.KindOf(err) != errs.Invalid || (errs.CodeOf(err) != "invalid" && errs.CodeOf(err) != "invalid_fields") {
				t.Errorf("%s not UTF-8: %v (%s/%s), want invalid", what, err, errs.KindOf(err), errs.CodeOf(err))
			}
		}
		if after := dumpLedger(t, db.Read()); after != before {
			t.Fatalf("rejected requests changed the ledger:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}
