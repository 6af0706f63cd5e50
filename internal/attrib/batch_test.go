package attrib_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
	"pgregory.net/rapid"
)

// TestBatchSettlesAsOneByOne (issue 13, benchmark): the group-commit
// writer hands a batch's new orders to attribution at once (NewOrdersTx),
// which pays each campaign's orders with one ledger batch. For random
// batches of orders — by code of one of three creators or of nobody, in
// EUR or USD (no commission), some cancelled or refunded, in part or in
// full — on two campaigns set up alike (open, paused or completed), with
// budgets small enough to run out mid-batch, a per-creator cap, a
// creator's own cap and an ended collaboration, NewOrdersTx on one campaign's
// orders and NewOrderTx order after order on the other's give the same
// conversions (notes, asked amounts, revisions), earnings, ledger entries
// under the same idempotency keys, account balances, escrow, rollups and
// campaign state, to the micro-unit; the ledger audit holds. Both stores.
func TestBatchSettlesAsOneByOne(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		handles := []string{"anna", "ben", "cleo"}
		for _, h := range handles {
			w.creator(h)
		}
		db := w.env.App.DB
		w.campaign("First", 10*eur, campaign.Performance{CPA: eur}) // a brand's first campaign has a reduced fee
		iter := 0
		sawExhausted, sawCap, sawEnded := false, false, false
		rapid.Check(t, func(rt *rapid.T) {
			if raceEnabled && iter >= 50 { // rapid's checks beyond the first 50 do nothing under -race
				return
			}
			iter++
			// Small budgets half the time, so batches run them out often.
			budget := rapid.OneOf(rapid.Int64Range(5, 12), rapid.Int64Range(5, 120)).Draw(rt, "budget") * eur
			perf := campaign.Performance{CommissionBps: rapid.Int64Range(0, 3000).Draw(rt, "bps"),
				CPA: rapid.Int64Range(0, 4_000_000).Draw(rt, "cpa")}
			if perf.CommissionBps == 0 && perf.CPA == 0 {
				perf.CPA = 1_500_000
			}
			creatorCap := rapid.SampledFrom([]int64{0, 3 * eur, 10 * eur, 25 * eur}).Draw(rt, "cap")
			creatorCap = min(creatorCap, budget) // a cap may not exceed the budget
			if creatorCap > 0 {
				perf.CPA = min(perf.CPA, creatorCap) // nor a CPA the cap
			}
			// The campaign open, paused (pays) or completed early by the brand
			// (pays what is left); ben's collaboration ended by the optimize
			// loop (paid nothing), or cleo's own cap replacing the campaign's.
			action := rapid.SampledFrom([]string{"", "", campaign.ActionPause, campaign.ActionComplete}).Draw(rt, "action")
			benEnded := rapid.IntRange(0, 3).Draw(rt, "benEnded") == 0
			cleoCap := rapid.SampledFrom([]int64{0, 0, eur, 4 * eur}).Draw(rt, "cleoCap")
			n := rapid.IntRange(1, 30).Draw(rt, "orders")
			type draft struct {
				creator             int // index of handles; 3 = an unknown code; 4 = no code
				amount, tax, ship   int64
				currency            money.Currency
				status              string
				refunded, refunded2 int64
			}
			ds := make([]draft, n)
			for i := range ds {
				d := draft{creator: rapid.IntRange(0, 4).Draw(rt, "creator"), amount: rapid.Int64Range(1, 400_000_000).Draw(rt, "amount"),
					currency: money.EUR, status: "paid"}
				if rapid.IntRange(0, 9).Draw(rt, "usd") == 0 {
					d.currency = money.USD
				}
				if rapid.IntRange(0, 9).Draw(rt, "cancel") == 0 {
					d.status = "voided"
				}
				d.tax = rapid.Int64Range(0, d.amount/4).Draw(rt, "tax")
				d.ship = rapid.Int64Range(0, d.amount/4).Draw(rt, "ship")
				switch rapid.IntRange(0, 5).Draw(rt, "refund") {
				case 0:
					d.refunded = d.amount
				case 1:
					d.refunded = rapid.Int64Range(1, d.amount).Draw(rt, "part")
				}
				ds[i] = d
			}
			var camps [2]campaign.Campaign
			var ids [2][]string
			for side := range camps {
				camps[side] = w.cappedCampaign(fmt.Sprintf("Batch %d/%d", iter, side), budget, creatorCap, perf, handles...)
				if action != "" {
					if _, err := w.env.App.Campaigns.Transition(w.ctx, w.brand, camps[side].ID, action); err != nil {
						rt.Fatal(err)
					}
				}
				for _, c := range []struct {
					handle   string
					cap, end int64
				}{{"ben", 0, 1}, {"cleo", cleoCap, 0}} {
					if (c.handle == "ben" && !benEnded) || (c.handle == "cleo" && cleoCap == 0) {
						continue
					}
					if _, err := db.Writer().ExecContext(w.ctx, `INSERT INTO collaborations (campaign_id, creator_id, cap, ended_at) VALUES ($1, $2, $3, $4)`,
						camps[side].ID, w.creators[c.handle].SubjectID, c.cap, c.end); err != nil {
						rt.Fatal(err)
					}
				}
				code := func(k int) string { return fmt.Sprintf("B%dS%dC%d", iter, side, k) }
				for k, h := range handles {
					if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, camps[side].ID,
						attrib.CodeDraft{CreatorID: w.creators[h].SubjectID, Code: code(k)}); err != nil {
						rt.Fatal(err)
					}
				}
				now := clock.MicrosOf(w.env.App.Clock.Now())
				var os []orders.NewOrder
				for i, d := range ds {
					o := orders.Order{ID: id.New(orders.OrderPrefix), Source: orders.SourceAPI, ExternalID: fmt.Sprintf("b%d-%d-%d", iter, side, i),
						Amount: money.New(d.amount, d.currency), Tax: d.tax, Shipping: d.ship, DiscountCodes: []string{}, Status: d.status,
						PlacedAt: now, ReceivedAt: now, UpdatedAt: now, Refunds: []orders.Refund{}}
					switch d.creator {
					case 3:
						o.DiscountCodes = []string{"NOBODY" + code(9)}
					case 4:
					default:
						o.DiscountCodes = []string{"other", strings.ToLower(code(d.creator))}
					}
					if d.refunded > 0 {
						o.Refunds = append(o.Refunds, orders.Refund{ID: "r1", Amount: money.New(d.refunded, d.currency), CreatedAt: now})
					}
					os = append(os, orders.NewOrder{Order: o, BrandID: w.brand.SubjectID})
					ids[side] = append(ids[side], o.ID)
				}
				err := db.WithTx(w.ctx, func(tx *store.Tx) error {
					for _, n := range os {
						o := n.Order
						if _, err := tx.ExecContext(w.ctx, `INSERT INTO orders (id, brand_id, channel, source, external_id, amount, currency,
							discount_codes, customer_id, click_id, status, placed_at, received_at, updated_at, request_hash, tax, shipping)
							VALUES ($1, $2, 'api', 'api', $3, $4, $5, '[]', '', '', $6, $7, $7, $7, '', $8, $9)`,
							o.ID, n.BrandID, o.ExternalID, o.Amount.Micros, string(o.Amount.Currency), o.Status, int64(now), o.Tax, o.Shipping); err != nil {
							return err
						}
					}
					if side == 1 {
						return w.env.App.Attrib.NewOrdersTx(w.ctx, tx, os)
					}
					for _, n := range os {
						if err := w.env.App.Attrib.NewOrderTx(w.ctx, tx, n.Order, n.BrandID); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					rt.Fatal(err)
				}
			}
			one, batch := w.settled(rt, camps[0].ID, ids[0]), w.settled(rt, camps[1].ID, ids[1])
			if len(one) != len(batch) {
				rt.Fatalf("one by one:\n%s\nbatch:\n%s", strings.Join(one, "\n"), strings.Join(batch, "\n"))
			}
			for i := range one {
				if one[i] != batch[i] {
					rt.Fatalf("first difference:\n  one by one: %s\n  batch:      %s\none by one:\n%s", one[i], batch[i], strings.Join(one, "\n"))
				}
			}
			all := strings.Join(one, "\n")
			sawExhausted = sawExhausted || strings.Contains(all, attrib.NoteBudgetExhausted)
			sawCap = sawCap || strings.Contains(all, attrib.NoteCapReached)
			sawEnded = sawEnded || strings.Contains(all, "collaboration_ended")
		})
		// Under -race, 50 checks may miss a case (a budget runs out in about
		// one batch in twelve); the run without -race, 100 checks, asserts it.
		if !raceEnabled && (!sawExhausted || !sawCap || !sawEnded) {
			t.Errorf("the batches never ran a budget out (%v), hit a cap (%v) or met an ended collaboration (%v)", sawExhausted, sawCap, sawEnded)
		}
		w.audit()
	})
}

// cappedCampaign is world.campaign with a per-creator cap (0: none).
func (w *world) cappedCampaign(name string, budget, creatorCap int64, pf campaign.Performance, creators ...string) campaign.Campaign {
	w.t.Helper()
	c, err := w.env.App.Campaigns.Create(w.ctx, w.brand, campaign.Draft{Name: name, Budget: money.New(budget, money.EUR)})
	if err != nil {
		w.t.Fatal(err)
	}
	setup := campaign.Setup{Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3 * eur},
		Brief:       campaign.Brief{Product: "Serum", Message: "Glow", LandingURL: "https://glow.example"},
		Prices:      campaign.Prices{Like: 50_000},
		EndsAt:      t0.Add(90 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.Platform(platform.Sandbox)}},
		CreatorCap:  creatorCap,
		Performance: pf}
	if _, err := w.env.App.Campaigns.Configure(w.ctx, w.brand, c.ID, setup); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.env.App.Campaigns.Fund(w.ctx, w.brand, c.ID, campaign.FundInput{Reference: "pay-" + c.ID}); err != nil {
		w.t.Fatal(err)
	}
	if c, err = w.env.App.Campaigns.Transition(w.ctx, w.brand, c.ID, campaign.ActionOpen); err != nil {
		w.t.Fatal(err)
	}
	for _, h := range creators {
		w.accept(c.ID, h)
	}
	return c
}

// settled describes, one line each and sorted, everything a campaign's
// orders (ids, in their order) settled: conversions, earnings, ledger
// entries by idempotency key, account balances, rollups, the escrow and
// the campaign's state, with the campaign and order ids replaced by
// placeholders so that two campaigns can be compared.
func (w *world) settled(rt *rapid.T, campaignID string, ids []string) []string {
	q := w.env.App.DB.Read()
	var lines []string
	add := func(query string, ncols int) {
		rows, err := q.QueryContext(w.ctx, query, campaignID)
		if err != nil {
			rt.Fatalf("%s: %v", query, err)
		}
		defer rows.Close()
		for rows.Next() {
			vals := make([]any, ncols)
			ptrs := make([]any, ncols)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rt.Fatal(err)
			}
			var b strings.Builder
			for i, v := range vals {
				if i > 0 {
					b.WriteString(" ")
				}
				if bs, ok := v.([]byte); ok {
					v = string(bs)
				}
				fmt.Fprint(&b, v)
			}
			lines = append(lines, b.String())
		}
		if err := rows.Err(); err != nil {
			rt.Fatal(err)
		}
	}
	add(`SELECT 'conversion', order_id, creator_id, method, code, amount, currency, refunded, status, commission_asked, cpa_asked, note,
		revision FROM conversions WHERE campaign_id = $1`, 13)
	add(`SELECT 'earning', source_id, kind, creator_id, currency, requested, gross, fee, net, state, clawed_gross, clawed_net
		FROM earnings WHERE campaign_id = $1`, 12)
	add(`SELECT 'entry', t.idem_key, t.kind, t.creator_id, e.seq, e.account_id, e.currency, e.amount FROM ledger_transactions t
		JOIN ledger_all_entries e ON e.tx_id = t.id WHERE t.campaign_id = $1 AND t.kind <> 'fund'`, 8)
	add(`SELECT 'account', id, posted, pending_out, pending_in FROM ledger_accounts WHERE campaign_id = $1`, 5)
	add(`SELECT 'rollup', creator_id, placement, conversions, redemptions, other_currency, revenue, refunded, earn_commission, earn_cpa,
		fees FROM rollups WHERE campaign_id = $1`, 11)
	add(`SELECT 'campaign', state, state_reason FROM campaigns WHERE id = $1`, 3)
	st, err := w.env.App.Ledger.Escrow(w.ctx, campaignID)
	if err != nil {
		rt.Fatal(err)
	}
	lines = append(lines, fmt.Sprintf("escrow %+v", st))
	for i := range lines {
		for k, o := range ids {
			lines[i] = strings.ReplaceAll(lines[i], o, fmt.Sprintf("ORDER%d", k))
		}
		// Codes differ by campaign: B<iter>S<side>C<k>.
		lines[i] = strings.ReplaceAll(lines[i], campaignID, "CAMPAIGN")
	}
	for i := range lines {
		if f := strings.Fields(lines[i]); len(f) > 4 && f[0] == "conversion" {
			f[4] = f[4][strings.LastIndexByte(f[4], 'C'):]
			lines[i] = strings.Join(f, " ")
		}
	}
	slices.Sort(lines)
	return lines
}
