// Package ledger is the only code in payper that moves money. It keeps
// double-entry accounts per currency, campaign escrows that can never be
// overspent, two-phase holds, and an idempotency key on every write.
//
// Accounts (ids are deterministic, so they sort the same everywhere):
//
//	ext:funding:CUR       money paid in by brands (unbounded; goes negative)
//	escrow:CAMPAIGN       the campaign's escrow (bounded)
//	fees:CAMPAIGN         the platform's fee earned on the campaign (bounded)
//	held:CAMPAIGN:CREATOR creator earnings in their holding period (bounded)
//	available:CREATOR:CUR creator earnings that can be paid out (bounded)
//	debt:CREATOR:CUR      clawbacks the creator could not cover (unbounded; ≤ 0)
//	ext:payouts:CUR       money paid out to creators (unbounded)
//	ext:refunds:CUR       unspent escrow returned to brands (unbounded)
//
// Amounts are int64 micro-units. A credit is a positive entry and a debit a
// negative one; every transaction's entries sum to zero. An account's posted
// balance is the sum of its entries; holds reserve money without moving it.
//
// Every write runs in one database transaction that first locks the campaign
// escrow row (if any), then the touched accounts in id order, so concurrent
// writers never overspend and never deadlock; then it checks the
// idempotency key, so a concurrent duplicate sees the first one's result.
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// Transaction kinds.
const (
	KindFund        = "fund"
	KindAccrue      = "accrue"
	KindRelease     = "release"
	KindClawback    = "clawback"
	KindPayoutHold  = "payout_hold"
	KindHoldPost    = "hold_post"
	KindHoldVoid    = "hold_void"
	KindHoldExpire  = "hold_expire"
	KindCloseEscrow = "close"
	// KindDebtRepay moves a creator's available money to their debt account
	// (see HoldResult.DebtRepaid).
	KindDebtRepay = "debt_repay"
)

// Account kinds.
const (
	AccExtFunding = "ext_funding"
	AccEscrow     = "escrow"
	AccFees       = "fees"
	AccHeld       = "held"
	AccAvailable  = "available"
	AccDebt       = "debt"
	AccExtPayouts = "ext_payouts"
	AccExtRefunds = "ext_refunds"
)

// Hold states.
const (
	HoldPending = "pending"
	HoldPosted  = "posted"
	HoldVoided  = "voided"
	HoldExpired = "expired"
)

// MaxKeyLen bounds idempotency keys.
const MaxKeyLen = 255

// Config sets the platform fee.
type Config struct {
	// FeeBps is the platform fee in basis points of campaign spend (default 2000 = 20 %).
	FeeBps int64
	// FirstCampaignFeeBps applies to a brand's first funded campaign (default 1000 = 10 %).
	FirstCampaignFeeBps int64
}

// DefaultConfig is 20 %, and 10 % on a brand's first campaign.
var DefaultConfig = Config{FeeBps: 2000, FirstCampaignFeeBps: 1000}

// Validate reports a fee outside 0..10000 basis points.
func (c Config) Validate() error {
	var col errs.Collector
	if c.FeeBps < 0 || c.FeeBps > 10000 {
		col.Addf("fee_bps", "out_of_range", "fee must be 0..10000 basis points, got %d", c.FeeBps)
	}
	if c.FirstCampaignFeeBps < 0 || c.FirstCampaignFeeBps > 10000 {
		col.Addf("first_campaign_fee_bps", "out_of_range", "first-campaign fee must be 0..10000 basis points, got %d", c.FirstCampaignFeeBps)
	}
	return col.Err()
}

// Ledger moves money. It is safe for concurrent use by any number of
// goroutines and processes sharing one database.
type Ledger struct {
	db    *store.DB
	clock clock.Clock
	cfg   Config

	// testHookBeforeCommit, when set, runs inside each write transaction
	// just before it commits.
	testHookBeforeCommit func(ctx context.Context)
}

// New returns a Ledger over db. It returns an error for an invalid fee
// configuration, or when its statements do not prepare (tables missing: migrate first).
func New(db *store.DB, clk clock.Clock, cfg Config) (*Ledger, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The batched write path's bulk statements, prepared once (SQLite only).
	ctx := context.Background()
	if err := db.PrepareBulk(ctx, "ledger_transactions", txCols); err != nil {
		return nil, err
	}
	if err := db.PrepareBulk(ctx, "ledger_entries", entryCols); err != nil {
		return nil, err
	}
	return &Ledger{db: db, clock: clk, cfg: cfg}, nil
}

// DB returns the ledger's database, so domain packages can compose ledger
// operations with their own writes in one transaction (the *Tx methods).
func (l *Ledger) DB() *store.DB { return l.db }

// Account id builders.
func escrowAcc(campaign string) string        { return "escrow:" + campaign }
func feesAcc(campaign string) string          { return "fees:" + campaign }
func heldAcc(campaign, creator string) string { return "held:" + campaign + ":" + creator }
func availAcc(creator string, c money.Currency) string {
	return "available:" + creator + ":" + string(c)
}
func debtAcc(creator string, c money.Currency) string { return "debt:" + creator + ":" + string(c) }
func extFundingAcc(c money.Currency) string           { return "ext:funding:" + string(c) }
func extPayoutsAcc(c money.Currency) string           { return "ext:payouts:" + string(c) }
func extRefundsAcc(c money.Currency) string           { return "ext:refunds:" + string(c) }

// AccountID names the account of a kind; campaign, creator and currency are
// used where the kind needs them. It is how callers find accounts in entries.
func AccountID(kind, campaign, creator string, c money.Currency) string {
	switch kind {
	case AccExtFunding:
		return extFundingAcc(c)
	case AccEscrow:
		return escrowAcc(campaign)
	case AccFees:
		return feesAcc(campaign)
	case AccHeld:
		return heldAcc(campaign, creator)
	case AccAvailable:
		return availAcc(creator, c)
	case AccDebt:
		return debtAcc(creator, c)
	case AccExtPayouts:
		return extPayoutsAcc(c)
	case AccExtRefunds:
		return extRefundsAcc(c)
	}
	return ""
}

// requestHash is the SHA-256 of an operation's canonical JSON.
func requestHash(op string, req any) string {
	b, err := json.Marshal(struct {
		Op  string `json:"op"`
		Req any    `json:"req"`
	}{op, req})
	if err != nil {
		panic(fmt.Sprintf("ledger: marshal request: %v", err)) // requests are plain structs
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func checkKey(key string) error {
	switch {
	case key == "":
		return errs.Invalidf("idempotency_key", "required", "an idempotency key is required")
	case len(key) > MaxKeyLen:
		return errs.Invalidf("idempotency_key", "too_long", "idempotency key is longer than %d bytes", MaxKeyLen)
	case strings.ContainsAny(key, "\x00"):
		return errs.Invalidf("idempotency_key", "invalid", "idempotency key contains a NUL byte")
	case !utf8.ValidString(key):
		return errs.Invalidf("idempotency_key", "invalid", "idempotency key is not valid UTF-8")
	}
	return nil
}

func checkID(field, v string) error {
	if v == "" {
		return errs.Invalidf(field, "required", "%s is required", field)
	}
	if len(v) > 100 || strings.ContainsAny(v, ": \x00") || !utf8.ValidString(v) {
		return errs.Invalidf(field, "invalid", "%s %q is not a valid id", field, v)
	}
	return nil
}

func checkPositive(field string, v int64) error {
	switch {
	case v == 0:
		return errs.Invalidf(field, "zero_amount", "%s must be greater than zero", field)
	case v < 0:
		return errs.Invalidf(field, "negative_amount", "%s must not be negative", field)
	}
	return nil
}

func checkCurrency(c money.Currency) error {
	if !c.Valid() {
		return errs.Invalidf("currency", "unknown_currency", "unknown currency %q", string(c))
	}
	return nil
}

// ErrInsufficientFunds is the code of a debit a bounded account cannot cover.
const ErrInsufficientFunds = "insufficient_funds"

// ErrDebtOutstanding is the code of a payout refused because the creator's
// debt (clawbacks not yet recovered) leaves too little of their available
// balance to cover it.
const ErrDebtOutstanding = "debt_outstanding"

// run executes fn in a write transaction, then runs the commit test hook.
func (l *Ledger) run(ctx context.Context, fn func(tx *store.Tx) error) error {
	return l.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if l.testHookBeforeCommit != nil {
			l.testHookBeforeCommit(ctx)
		}
		return nil
	})
}
