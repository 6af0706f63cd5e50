package attrib

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/orders/pgbatch"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// Attribution settles the new orders of a group-commit batch together.
var _ orders.BatchObserver = (*Service)(nil)

// NewOrdersTx is NewOrderTx for every order of os, in their order, inside
// the transaction that stored them (orders.BatchObserver), with the same
// result to the micro-unit: the same conversions, notes, ledger keys,
// earnings and balances. It looks the orders' discount codes up at once,
// locks each campaign once (in id order), and pays each campaign's orders
// with one ledger batch whose items are in the orders' order — commission
// then CPA of each — so the escrow and the creators' caps run out exactly
// where NewOrderTx one order after another would have them run out. The
// conversions are inserted together and the rollups flushed once.
func (s *Service) NewOrdersTx(ctx context.Context, tx *store.Tx, os []orders.NewOrder) error {
	codes, err := lookupCodes(ctx, tx, os)
	if err != nil {
		return err
	}
	cvs := make([]convRow, len(os))
	byCampaign := map[string][]int{}
	var campaigns []string
	for i, n := range os {
		found, err := s.attribute(ctx, tx, n.Order, n.BrandID, &cvs[i], codes[n.BrandID])
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		c := cvs[i].CampaignID
		if _, ok := byCampaign[c]; !ok {
			campaigns = append(campaigns, c)
		}
		byCampaign[c] = append(byCampaign[c], i)
	}
	slices.Sort(campaigns) // a fixed lock order: concurrent batches never deadlock on campaigns
	var roll rollup.Batch
	var earnings engage.Earnings
	rows := make([][]any, 0, len(os))
	for _, c := range campaigns {
		camp, err := s.Campaigns.LockTx(ctx, tx, identity.Principal{Role: identity.RoleAdmin}, c)
		if err != nil {
			return err
		}
		idx := byCampaign[c]
		type ask struct {
			cv      *convRow
			kind    string
			asked   *int64
			want    int64
			payment int
		}
		var asks []ask
		var ps []engage.Payment
		for _, i := range idx {
			cv := &cvs[i]
			wantCommission, wantCPA, err := s.update(ctx, tx, &camp, os[i].Order, cv, &roll)
			if err != nil {
				return err
			}
			for _, k := range [...]struct {
				kind  string
				asked *int64
				want  int64
			}{{engage.KindCommission, &cv.commissionAsked, wantCommission}, {engage.KindCPA, &cv.cpaAsked, wantCPA}} {
				if k.want == *k.asked { // a new conversion asked nothing yet
					continue
				}
				asks = append(asks, ask{cv: cv, kind: k.kind, asked: k.asked, want: k.want, payment: len(ps)})
				ps = append(ps, cv.payment(cv.nextKey(k.kind), k.kind, k.want-*k.asked))
			}
		}
		if len(ps) > 0 {
			res, err := s.Engage.PayBatchLaterTx(ctx, tx, &camp, ps, &roll, &earnings)
			if err != nil {
				return err
			}
			for _, a := range asks {
				notePaid(a.cv, res[a.payment], a.want-*a.asked)
				*a.asked = a.want
			}
		}
		for _, i := range idx {
			rows = append(rows, convInsertRow(&cvs[i]))
		}
	}
	if err := roll.Flush(ctx, tx); err != nil {
		return err
	}
	return saveBatch(ctx, tx, &earnings, rows)
}

// saveBatch inserts a batch's earnings and conversions: on PostgreSQL
// with one statement (one round trip, see package pgbatch), on SQLite with
// a prepared INSERT each.
func saveBatch(ctx context.Context, tx *store.Tx, earnings *engage.Earnings, rows [][]any) error {
	if tx.Dialect() != store.Postgres {
		if err := earnings.Insert(ctx, tx); err != nil {
			return err
		}
		if err := tx.InsertBatch(ctx, "conversions", convInsertCols, rows); err != nil {
			return fmt.Errorf("attrib: save conversions: %w", err)
		}
		return nil
	}
	q, args, err := earnings.PGInsert(1)
	if err != nil {
		return err
	}
	if len(rows) > 0 {
		cq, cargs, err := pgbatch.Insert("conversions", convInsertCols, convInsertTypes, len(args)+1, rows)
		if err != nil {
			return fmt.Errorf("attrib: save conversions: %w", err)
		}
		if q != "" {
			q = "WITH e AS (" + q + ") " + cq
		} else {
			q = cq
		}
		args = append(args, cargs...)
	}
	if q == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("attrib: save earnings and conversions: %w", err)
	}
	earnings.Forget()
	return nil
}

// lookupCodes returns, by brand, the creators' discount codes among the
// orders' codes, by code key: one query per brand.
func lookupCodes(ctx context.Context, tx *store.Tx, os []orders.NewOrder) (map[string]map[string]codeHit, error) {
	keys := map[string][]string{}
	for _, n := range os {
		for _, c := range n.Order.DiscountCodes {
			k := strings.ToUpper(c)
			if !slices.Contains(keys[n.BrandID], k) {
				keys[n.BrandID] = append(keys[n.BrandID], k)
			}
		}
	}
	out := make(map[string]map[string]codeHit, len(keys))
	for brand, ks := range keys {
		in, arg := store.InText(tx.Dialect(), "code_key", 2, ks)
		type row struct {
			key string
			h   codeHit
		}
		rs, err := store.QueryAll(ctx, tx, func(r store.Scanner) (row, error) {
			var x row
			err := r.Scan(&x.key, &x.h.campaignID, &x.h.creatorID, &x.h.code)
			return x, err
		}, `SELECT code_key, campaign_id, creator_id, code FROM discount_codes WHERE brand_id = $1 AND `+in, brand, arg)
		if err != nil {
			return nil, fmt.Errorf("attrib: look up codes: %w", err)
		}
		m := make(map[string]codeHit, len(rs))
		for _, x := range rs {
			m[x.key] = x.h
		}
		out[brand] = m
	}
	return out, nil
}

// convInsertCols are the columns of convCols, for BulkInsert.
var convInsertCols = []string{"order_id", "brand_id", "campaign_id", "creator_id", "method", "code", "click_id", "link_id", "clicked_at",
	"amount", "currency", "refunded", "status", "placed_at", "commission_asked", "cpa_asked", "note", "revision", "created_at", "updated_at"}

// convInsertTypes are the PostgreSQL types of convInsertCols.
var convInsertTypes = []string{pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text,
	pgbatch.Bigint, pgbatch.Bigint, pgbatch.Text, pgbatch.Bigint, pgbatch.Text, pgbatch.Bigint, pgbatch.Bigint, pgbatch.Bigint, pgbatch.Text,
	pgbatch.Bigint, pgbatch.Bigint, pgbatch.Bigint}

// convInsertRow is a new conversion's row, as saveConversion inserts it.
func convInsertRow(c *convRow) []any {
	return []any{c.OrderID, c.brandID, c.CampaignID, c.CreatorID, c.Method, c.Code, c.ClickID, c.LinkID, int64(c.Clicked), c.Amount.Micros,
		string(c.Amount.Currency), c.Refunded.Micros, c.Status, int64(c.PlacedAt), c.commissionAsked, c.cpaAsked, c.Note, c.revision,
		int64(c.CreatedAt), int64(c.UpdatedAt)}
}
