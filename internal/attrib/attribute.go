package attrib

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// Attribution methods.
const (
	MethodCode  = "code"  // the order used the creator's discount code
	MethodClick = "click" // the customer clicked the creator's link within the window
)

// Notes on a conversion's payments.
const (
	NoteCurrencyMismatch = "currency_mismatch" // the order's currency is not the campaign's: no commission (no FX)
	NoteCapReached       = "cap_reached"       // the creator's cap cut what the order paid
	NoteBudgetExhausted  = "budget_exhausted"  // the escrow had less left than the order was due
	// A campaign not paying notes "campaign_" + its state (campaign_closed).
)

// cancelled are order statuses that pay nothing (Shopify financial_status,
// WooCommerce status).
var cancelled = []string{"voided", "cancelled", "failed", "trash", "refunded"}

// Conversion is an order attributed to a creator in a campaign, with what
// it paid.
type Conversion struct {
	OrderID string `json:"order_id"`
	// ExternalID is the shop's (or the brand's) order id.
	ExternalID string `json:"external_order_id"`
	CampaignID string `json:"campaign_id"`
	CreatorID  string `json:"creator_id"`
	// Method is how it was attributed: code or click.
	Method  string       `json:"method"`
	Code    string       `json:"code,omitempty"`
	ClickID string       `json:"click_id,omitempty"`
	LinkID  string       `json:"link_id,omitempty"`
	Clicked clock.Micros `json:"clicked_at,omitempty"`
	// Amount is the order's amount in its own currency; Refunded what was
	// refunded of it.
	Amount   money.Amount `json:"amount"`
	Refunded money.Amount `json:"refunded"`
	Status   string       `json:"status"`
	PlacedAt clock.Micros `json:"placed_at"`
	// Commission and CPA are what stands paid for the order (gross, in the
	// campaign's currency): granted less what refunds took back.
	Commission money.Amount `json:"commission"`
	CPA        money.Amount `json:"cpa"`
	Note       string       `json:"note,omitempty"`
	CreatedAt  clock.Micros `json:"created_at"`
	UpdatedAt  clock.Micros `json:"updated_at"`
}

type convRow struct {
	Conversion
	brandID          string
	commissionAsked  int64
	cpaAsked         int64
	revision         int64
	existed          bool
	campaignCurrency money.Currency
}

// OrderChangedTx attributes an order just stored or changed and settles
// what it pays, inside the order's transaction (orders.Observer). A new
// order is attributed to the creator whose discount code it used (the first
// of its codes that is a creator's code at the brand); without one, to the
// latest click among the click id it carries and those of the customer's
// earlier orders, on a link of a campaign of the brand, no later than the
// order and no older than that campaign's attribution window. An order that
// matches nothing stays unattributed (a later change tries again).
//
// An attributed order pays its campaign's commission on net revenue (the
// amount less refunds, in the campaign's currency only) and its CPA (unless
// cancelled or fully refunded). What it should pay is compared with what it
// asked before: growth is paid through the ledger's balancing accrual;
// shrinkage (a refund) is clawed back from held earnings, then available,
// then as debt.
func (s *Service) OrderChangedTx(ctx context.Context, tx *store.Tx, orderID string) error {
	o, brand, err := orders.OrderTx(ctx, tx, orderID)
	if err != nil {
		return err
	}
	cv, err := loadConversion(ctx, tx, orderID)
	if err != nil {
		return err
	}
	return s.orderChanged(ctx, tx, o, brand, cv)
}

// NewOrderTx is OrderChangedTx for an order the intake has just stored for
// the first time and hands over as stored (orders.NewOrderObserver): it has
// no conversion yet, so neither it nor the order is read back.
func (s *Service) NewOrderTx(ctx context.Context, tx *store.Tx, o orders.Order, brandID string) error {
	return s.orderChanged(ctx, tx, o, brandID, convRow{})
}

// orderChanged attributes o (when cv does not exist yet) and settles what
// it pays.
func (s *Service) orderChanged(ctx context.Context, tx *store.Tx, o orders.Order, brand string, cv convRow) error {
	if !cv.existed {
		found, err := s.attribute(ctx, tx, o, brand, &cv, nil)
		if err != nil || !found {
			return err
		}
	}
	camp, err := s.Campaigns.LockTx(ctx, tx, identity.Principal{Role: identity.RoleAdmin}, cv.CampaignID)
	if err != nil {
		return err
	}
	var roll rollup.Batch
	wantCommission, wantCPA, err := s.update(ctx, tx, &camp, o, &cv, &roll)
	if err != nil {
		return err
	}
	if err := roll.Flush(ctx, tx); err != nil {
		return err
	}
	if err := s.settle(ctx, tx, &camp, &cv, engage.KindCommission, &cv.commissionAsked, wantCommission); err != nil {
		return err
	}
	if err := s.settle(ctx, tx, &camp, &cv, engage.KindCPA, &cv.cpaAsked, wantCPA); err != nil {
		return err
	}
	return saveConversion(ctx, tx, &cv)
}

// update brings cv, attributed to a campaign of camp, up to date with o:
// what it adds to the rollups goes to roll (less what it added before, when
// it existed), and it returns the commission and CPA o should pay now.
func (s *Service) update(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, o orders.Order, cv *convRow, roll *rollup.Batch) (wantCommission, wantCPA int64, err error) {
	placement := ""
	if cv.LinkID != "" {
		if err := tx.QueryRowContext(ctx, `SELECT placement FROM links WHERE id = $1`, cv.LinkID).Scan(&placement); err != nil {
			return 0, 0, fmt.Errorf("attrib: link of %s: %w", cv.OrderID, err)
		}
	}
	rk := rollup.Key{Campaign: cv.CampaignID, Creator: cv.CreatorID, Placement: placement, Day: rollup.DayOf(int64(cv.PlacedAt))}
	if cv.existed {
		contribute(roll, rk, *cv, camp.Currency, -1)
	}
	refunded := refundedOf(o)
	now := clock.MicrosOf(s.Clock.Now())
	cv.Amount, cv.Refunded, cv.Status, cv.UpdatedAt = o.Amount, money.New(refunded, o.Amount.Currency), o.Status, now
	contribute(roll, rk, *cv, camp.Currency, 1)
	var perf campaign.Performance
	if camp.Setup != nil {
		perf = camp.Setup.Performance
	}
	net := max(o.Amount.Micros-refunded, 0)
	live := counts(*cv)
	if perf.CommissionBps > 0 && live {
		if o.Amount.Currency == camp.Currency {
			wantCommission = money.FloorBps(commissionable(o, net, perf.CommissionBase), perf.CommissionBps)
		} else {
			cv.Note = NoteCurrencyMismatch
		}
	}
	if perf.CPA > 0 && live {
		wantCPA = perf.CPA
	}
	return wantCommission, wantCPA, nil
}

// commissionable is what the commission is a share of, for an order with
// net (its amount less refunds) left: with the campaign's base "total", net
// itself; with "net" (the default), the order's amount less its tax and
// shipping, reduced by refunds in proportion to the amount (a full refund
// leaves nothing), rounded down to the micro-unit.
func commissionable(o orders.Order, net int64, base string) int64 {
	if base == campaign.CommissionBaseTotal || o.Tax+o.Shipping == 0 || o.Amount.Micros <= 0 {
		return net
	}
	b := max(o.Amount.Micros-o.Tax-o.Shipping, 0)
	if net >= o.Amount.Micros {
		return b
	}
	x := new(big.Int).Mul(big.NewInt(b), big.NewInt(net))
	return x.Quo(x, big.NewInt(o.Amount.Micros)).Int64()
}

// refundedOf is what was refunded of an order in its own currency, clamped
// to 0…its amount: a store may report refunds that add up to more than the
// order (or an order edited down below them), and a conversion never takes
// back more than the sale.
func refundedOf(o orders.Order) int64 {
	var refunded int64
	for _, r := range o.Refunds {
		if r.Amount.Currency == o.Amount.Currency && r.Amount.Micros > 0 {
			refunded = min(refunded+r.Amount.Micros, max(o.Amount.Micros, 0))
		}
	}
	return refunded
}

// counts reports whether an order counts as a conversion: not cancelled
// and not fully refunded.
func counts(cv convRow) bool {
	return cv.Amount.Micros-cv.Refunded.Micros > 0 && !slices.Contains(cancelled, strings.ToLower(cv.Status))
}

// contribute adds (sign 1) or takes back (sign -1) what a conversion adds
// to its rollup row: one conversion (a redemption when by code; in another
// currency, counted apart with no revenue), its net revenue and refunds.
func contribute(b *rollup.Batch, k rollup.Key, cv convRow, cur money.Currency, sign int64) {
	same := cv.Amount.Currency == cur
	if same {
		b.Add(k, rollup.Refunded, sign*cv.Refunded.Micros)
	}
	if !counts(cv) {
		return
	}
	b.Add(k, rollup.Conversions, sign)
	if cv.Method == MethodCode {
		b.Add(k, rollup.Redemptions, sign)
	}
	if !same {
		b.Add(k, rollup.OtherCurrency, sign)
		return
	}
	b.Add(k, rollup.Revenue, sign*(cv.Amount.Micros-cv.Refunded.Micros))
}

// settle moves what the order pays of one kind from what it asked to want.
func (s *Service) settle(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, cv *convRow, kind string, asked *int64, want int64) error {
	if want == *asked {
		return nil
	}
	key := cv.nextKey(kind)
	if want > *asked {
		res, err := s.Engage.PayTx(ctx, tx, camp, cv.payment(key, kind, want-*asked))
		if err != nil {
			return err
		}
		notePaid(cv, res, want-*asked)
		*asked = want
		return nil
	}
	paid, err := s.Engage.PaidFor(ctx, tx, cv.OrderID, kind)
	if err != nil {
		return err
	}
	if paid > want {
		if _, err := s.Engage.ReverseTx(ctx, tx, cv.CampaignID, cv.CreatorID, kind, cv.OrderID, paid-want, key,
			kind+" on order "+cv.OrderID+" reversed: refunded or cancelled"); err != nil {
			return err
		}
	}
	*asked = want
	return nil
}

// nextKey moves cv to its next revision and returns the ledger key of its
// payment (or reversal) of kind at that revision.
func (cv *convRow) nextKey(kind string) string {
	cv.revision++
	return "conv:" + cv.OrderID + ":" + kind + ":" + strconv.FormatInt(cv.revision, 10)
}

// payment is cv's payment of amount more of kind under key.
func (cv *convRow) payment(key, kind string, amount int64) engage.Payment {
	return engage.Payment{Key: key, CreatorID: cv.CreatorID, Kind: kind, Source: cv.OrderID, Amount: amount, Ref: kind + " on order " + cv.OrderID}
}

// notePaid sets cv's note after a payment that asked for ask more.
func notePaid(cv *convRow, res engage.PayResult, ask int64) {
	switch {
	case res.Skipped != "":
		cv.Note = res.Skipped
	case res.Granted < ask && res.CapReached:
		cv.Note = NoteCapReached
	case res.Granted < ask:
		cv.Note = NoteBudgetExhausted
	case cv.Note != NoteCurrencyMismatch:
		cv.Note = "" // paid in full: an earlier shortfall's note no longer applies
	}
}

// codeHit is a creator's discount code found at a brand.
type codeHit struct{ campaignID, creatorID, code string }

// attribute finds who an order is credited to, filling cv; false when
// nobody. codes, when not nil, holds every creator's code among the
// order's (by code key), already looked up.
func (s *Service) attribute(ctx context.Context, tx *store.Tx, o orders.Order, brand string, cv *convRow, codes map[string]codeHit) (bool, error) {
	now := clock.MicrosOf(s.Clock.Now())
	cv.OrderID, cv.brandID, cv.PlacedAt, cv.CreatedAt = o.ID, brand, o.PlacedAt, now
	for _, code := range o.DiscountCodes {
		if codes != nil {
			h, ok := codes[strings.ToUpper(code)]
			if !ok {
				continue
			}
			cv.CampaignID, cv.CreatorID, cv.Code, cv.Method = h.campaignID, h.creatorID, h.code, MethodCode
			return true, nil
		}
		err := tx.QueryRowContext(ctx, `SELECT campaign_id, creator_id, code FROM discount_codes WHERE brand_id = $1 AND code_key = $2`,
			brand, strings.ToUpper(code)).Scan(&cv.CampaignID, &cv.CreatorID, &cv.Code)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("attrib: look up code: %w", err)
		}
		cv.Method = MethodCode
		return true, nil
	}
	ids := []string{}
	if o.ClickID != "" {
		ids = append(ids, o.ClickID)
	}
	if o.CustomerID != "" {
		earlier, err := store.QueryAll(ctx, tx, scanString, `SELECT click_id FROM orders WHERE brand_id = $1 AND customer_id = $2
			AND click_id <> '' AND id <> $3 AND placed_at <= $4 ORDER BY placed_at DESC LIMIT 20`, brand, o.CustomerID, o.ID, int64(o.PlacedAt))
		if err != nil {
			return false, fmt.Errorf("attrib: customer's clicks: %w", err)
		}
		for _, c := range earlier {
			if !slices.Contains(ids, c) {
				ids = append(ids, c)
			}
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	type hit struct {
		clickID, linkID, campaignID, creatorID string
		at                                     clock.Micros
	}
	var hits []hit
	for _, cid := range ids {
		ref, ok := links.ParseClickID(cid, time.UnixMicro(int64(max(o.PlacedAt, now))))
		if !ok {
			continue
		}
		// Through the link's (link_id, at) index: the id names the link and
		// the millisecond.
		hs, err := store.QueryAll(ctx, tx, func(r store.Scanner) (hit, error) {
			var h hit
			err := r.Scan(&h.clickID, &h.linkID, &h.campaignID, &h.creatorID, &h.at)
			return h, err
		}, `SELECT c.click_id, c.link_id, l.campaign_id, l.creator_id, c.at FROM links l JOIN campaigns m ON m.id = l.campaign_id
			JOIN clicks c ON c.link_id = l.id AND c.at >= $3 AND c.at < $4
			WHERE l.slug = $1 AND m.brand_id = $2 AND c.click_id = $5`, ref.Slug, brand, int64(ref.From), int64(ref.To), cid)
		if err != nil {
			return false, fmt.Errorf("attrib: look up click: %w", err)
		}
		hits = append(hits, hs...)
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Or(cmp.Compare(b.at, a.at), strings.Compare(a.clickID, b.clickID)) })
	windows := map[string]int64{}
	for _, h := range hits {
		if h.at > o.PlacedAt {
			continue
		}
		w, ok := windows[h.campaignID]
		if !ok {
			camp, err := s.Campaigns.Internal(ctx, tx, h.campaignID)
			if err != nil {
				return false, err
			}
			var perf campaign.Performance
			if camp.Setup != nil {
				perf = camp.Setup.Performance
			}
			w = perf.Window().Microseconds()
			windows[h.campaignID] = w
		}
		if int64(o.PlacedAt)-int64(h.at) > w {
			continue
		}
		cv.Method, cv.ClickID, cv.LinkID, cv.Clicked = MethodClick, h.clickID, h.linkID, h.at
		cv.CampaignID, cv.CreatorID = h.campaignID, h.creatorID
		return true, nil
	}
	return false, nil
}

const convCols = `order_id, brand_id, campaign_id, creator_id, method, code, click_id, link_id, clicked_at, amount, currency, refunded,
	status, placed_at, commission_asked, cpa_asked, note, revision, created_at, updated_at`

func scanConv(r store.Scanner) (convRow, error) {
	var c convRow
	var cur string
	var refunded int64
	err := r.Scan(&c.OrderID, &c.brandID, &c.CampaignID, &c.CreatorID, &c.Method, &c.Code, &c.ClickID, &c.LinkID, &c.Clicked,
		&c.Amount.Micros, &cur, &refunded, &c.Status, &c.PlacedAt, &c.commissionAsked, &c.cpaAsked, &c.Note, &c.revision,
		&c.CreatedAt, &c.UpdatedAt)
	c.Amount.Currency = money.Currency(cur)
	c.Refunded = money.New(refunded, c.Amount.Currency)
	c.existed = true
	return c, err
}

func loadConversion(ctx context.Context, tx *store.Tx, orderID string) (convRow, error) {
	c, err := scanConv(tx.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversions WHERE order_id = $1`+tx.ForUpdate(), orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return convRow{}, nil
	}
	if err != nil {
		return c, fmt.Errorf("attrib: read conversion %s: %w", orderID, err)
	}
	return c, nil
}

func saveConversion(ctx context.Context, tx *store.Tx, c *convRow) error {
	var err error
	if c.existed {
		_, err = tx.ExecContext(ctx, `UPDATE conversions SET amount = $1, currency = $2, refunded = $3, status = $4, commission_asked = $5,
			cpa_asked = $6, note = $7, revision = $8, updated_at = $9 WHERE order_id = $10`,
			c.Amount.Micros, string(c.Amount.Currency), c.Refunded.Micros, c.Status, c.commissionAsked, c.cpaAsked, c.Note, c.revision,
			int64(c.UpdatedAt), c.OrderID)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO conversions (`+convCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
			$14, $15, $16, $17, $18, $19, $20)`, convInsertRow(c)...)
	}
	if err != nil {
		return fmt.Errorf("attrib: save conversion %s: %w", c.OrderID, err)
	}
	return nil
}

// ListConversions returns a campaign's conversions, newest first, with what
// each stands paid: all of them for its brand or the admin, their own for a
// creator accepted in it (so creators see how each sale was attributed).
func (s *Service) ListConversions(ctx context.Context, p identity.Principal, campaignID string) ([]Conversion, error) {
	camp, creatorID, err := s.visible(ctx, p, campaignID)
	if err != nil {
		return nil, err
	}
	rows, err := store.QueryAll(ctx, s.DB.Read(), scanConv, `SELECT `+convCols+` FROM conversions WHERE campaign_id = $1
		AND ($2 = '' OR creator_id = $2) ORDER BY placed_at DESC, order_id DESC`, camp.ID, creatorID)
	if err != nil {
		return nil, fmt.Errorf("attrib: list conversions: %w", err)
	}
	type ext struct{ id, external string }
	exts, err := store.QueryAll(ctx, s.DB.Read(), func(r store.Scanner) (ext, error) {
		var x ext
		err := r.Scan(&x.id, &x.external)
		return x, err
	}, `SELECT o.id, o.external_id FROM conversions c JOIN orders o ON o.id = c.order_id WHERE c.campaign_id = $1
		AND ($2 = '' OR c.creator_id = $2)`, camp.ID, creatorID)
	if err != nil {
		return nil, fmt.Errorf("attrib: list conversions: %w", err)
	}
	type paid struct{ source, kind string }
	sums := map[paid]int64{}
	type sum struct {
		paid
		v int64
	}
	ps, err := store.QueryAll(ctx, s.DB.Read(), func(r store.Scanner) (sum, error) {
		var x sum
		err := r.Scan(&x.source, &x.kind, &x.v)
		return x, err
	}, `SELECT source_id, kind, SUM(gross - clawed_gross) FROM earnings WHERE campaign_id = $1 AND kind IN ($2, $3) AND state <> 'voided'
		GROUP BY source_id, kind`, camp.ID, engage.KindCommission, engage.KindCPA)
	if err != nil {
		return nil, fmt.Errorf("attrib: conversion payments: %w", err)
	}
	for _, x := range ps {
		sums[x.paid] = x.v
	}
	external := make(map[string]string, len(exts))
	for _, x := range exts {
		external[x.id] = x.external
	}
	out := make([]Conversion, len(rows))
	for i, r := range rows {
		c := r.Conversion
		c.ExternalID = external[c.OrderID]
		c.Commission = money.New(sums[paid{c.OrderID, engage.KindCommission}], camp.Currency)
		c.CPA = money.New(sums[paid{c.OrderID, engage.KindCPA}], camp.Currency)
		out[i] = c
	}
	return out, nil
}

func scanString(r store.Scanner) (string, error) {
	var v string
	err := r.Scan(&v)
	return v, err
}
