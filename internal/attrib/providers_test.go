package attrib_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store/storetest"
	"pgregory.net/rapid"
)

// recorded reads a recorded webhook payload of the order intake
// (internal/orders/testdata, sources in its README.md), with the
// replacements old→new applied in turn.
func recorded(t *testing.T, name string, oldnew ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "orders", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.NewReplacer(oldnew...).Replace(string(b)))
}

// TestProvidersEndToEnd (issue 14, items 2, 3, 7, 8 and 9), through the
// real HTTP server on both stores: a campaign paying 10 % commission and a
// 2.00 EUR CPA per order by the code ANNA receives
//   - two Shopify orders paid in CAD in an EUR shop (61.20 EUR each), one
//     refunded in full (90.00 CAD), one in part (40.00 CAD = 27.20 EUR);
//   - a Shopify refund (30.00) before its order (89.90);
//   - a Shopify order paid (89.90), then cancelled;
//   - a WooCommerce burst of five orders in one second, under one Delivery-ID;
//   - a refund with "transactions": [] and an order in JPY, answered 200
//     "ignored";
//
// and every delivery again. Every conversion then stands paid exactly what
// its order's shop money left calls for (commission floor(10 % of amount −
// refunds), CPA unless refunded in full or cancelled), to the micro-unit;
// the escrow spent is what they stand paid; the cancellation gives the
// escrow back what the order took; the ledger audit holds.
func TestProvidersEndToEnd(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		c := w.campaign("Serum", 1000*eur, campaign.Performance{CommissionBps: 1000, CPA: 2 * eur}, "anna")
		if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, c.ID, attrib.CodeDraft{CreatorID: w.creators["anna"].SubjectID, Code: "ANNA"}); err != nil {
			t.Fatal(err)
		}
		shop := w.store(orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "amounts.myshopify.com", WebhookSecret: shopSecret})
		woo := w.store(orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://amounts.example", WebhookSecret: wooSecret})
		shopPath, wooPath := orders.WebhookPath+"shopify/"+shop.ID, orders.WebhookPath+"woocommerce/"+woo.ID

		type delivery struct {
			path, topic, id string
			body            []byte
			want            string
		}
		var sent []delivery
		send := func(d delivery) {
			t.Helper()
			h := shopifyDelivery(d.topic, d.id, d.body)
			if d.path == wooPath {
				h = wooDelivery(d.topic, d.id, d.body)
				h.Set("X-WC-Webhook-ID", "17")
			}
			status, out := w.post(d.path, h, d.body)
			if status != 200 || out["outcome"] != d.want {
				t.Fatalf("%s %s: %d %v, want 200 %s", d.topic, d.id, status, out, d.want)
			}
			sent = append(sent, d)
		}
		withCode := func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"discount_codes": []`, `"discount_codes": [{"code": "anna"}]`, 1))
		}

		// Multi-currency orders and refunds (item 3).
		mcA := withCode(recorded(t, "shopify_multicurrency_order.json"))
		mcB := withCode(recorded(t, "shopify_multicurrency_order.json", "5301234567890", "5301234567891"))
		send(delivery{shopPath, "orders/paid", "mc-a", mcA, orders.OutcomeProcessed})
		send(delivery{shopPath, "orders/paid", "mc-b", mcB, orders.OutcomeProcessed})
		send(delivery{shopPath, "refunds/create", "mc-a-r", recorded(t, "shopify_multicurrency_refund_full.json"), orders.OutcomeProcessed})
		send(delivery{shopPath, "refunds/create", "mc-b-r", recorded(t, "shopify_multicurrency_refund_partial.json"), orders.OutcomeProcessed})

		// A refund before its order (item 7).
		send(delivery{shopPath, "refunds/create", "early-r", recorded(t, "shopify_refunds_create.json"), orders.OutcomePending})
		send(delivery{shopPath, "orders/create", "late-o", recorded(t, "shopify_orders_create.json", "maria15", "anna"), orders.OutcomeProcessed})

		// Paid, then cancelled (item 9): the escrow gets back what it paid.
		const cancelID = "820982911946154777"
		before, err := w.env.App.Ledger.Escrow(w.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		send(delivery{shopPath, "orders/paid", "paid-c", recorded(t, "shopify_orders_paid.json", "820982911946154508", cancelID, "maria15", "anna"), orders.OutcomeProcessed})
		paid, err := w.env.App.Ledger.Escrow(w.ctx, c.ID)
		if err != nil || paid.Spent != before.Spent+8_990_000+2*eur {
			t.Fatalf("paid order: escrow %+v (before %+v), %v", paid, before, err)
		}
		send(delivery{shopPath, orders.TopicShopifyOrderCancelled, "cancel-c", recorded(t, "shopify_orders_cancelled.json", "820982911946154508", cancelID, "maria15", "anna"), orders.OutcomeProcessed})
		after, err := w.env.App.Ledger.Escrow(w.ctx, c.ID)
		if err != nil || after.Spent != before.Spent || after.Remaining != before.Remaining {
			t.Fatalf("cancelled order: escrow %+v, want it as before the order %+v (%v)", after, before, err)
		}

		// A WooCommerce burst in one second (item 2): one Delivery-ID.
		const sameSecond = "9f4c2a7be1d0c3f5a6b7c8d9e0f1a2b3"
		for i := range 5 {
			body := fmt.Appendf(nil, `{"id":%d,"status":"processing","currency":"EUR","total":"%d.00","customer_id":0,"coupon_lines":[{"code":"anna"}],
				"date_created_gmt":"2026-11-02T08:00:00","date_modified_gmt":"2026-11-02T08:00:00","refunds":[]}`, 900+i, 10+i)
			send(delivery{wooPath, "order.created", sameSecond, body, orders.OutcomeProcessed})
		}

		// Readable but unused (item 8): answered 200, nothing paid.
		send(delivery{shopPath, "refunds/create", "no-tx", recorded(t, "shopify_refunds_create_no_transactions.json"), orders.OutcomeIgnored})
		send(delivery{shopPath, "orders/create", "jpy", recorded(t, "shopify_orders_create.json", `"currency": "EUR"`, `"currency": "JPY"`,
			"820982911946154508", "1", "maria15", "anna"), orders.OutcomeIgnored})

		state := w.moneyState(c.ID)
		check := func() {
			t.Helper()
			type due struct{ amount, refunded, commission, cpa int64 }
			want := map[string]due{
				"5301234567890": {61_200_000, 61_200_000, 0, 0},
				// Commission on the order less its 6.80 EUR shipping (the
				// default base, issue 14 item 11), reduced by the refund in
				// proportion: 54.40 × 34.00 / 61.20 = 30.222222, 10 % of it.
				"5301234567891":      {61_200_000, 27_200_000, 3_022_222, 2 * eur},
				"820982911946154508": {89_900_000, 30_000_000, 5_990_000, 2 * eur},
				cancelID:             {89_900_000, 0, 0, 0},
			}
			for i := range 5 {
				want[fmt.Sprint(900+i)] = due{int64(10+i) * eur, 0, int64(10+i) * eur / 10, 2 * eur}
			}
			cvs := w.conversions(c.ID)
			if len(cvs) != len(want) {
				t.Fatalf("%d conversions, want %d:\n%s", len(cvs), len(want), w.moneyState(c.ID))
			}
			var standing, due2 int64
			for _, cv := range cvs {
				d, ok := want[cv.ExternalID]
				if !ok || cv.Amount != money.New(d.amount, money.EUR) || cv.Refunded.Micros != d.refunded ||
					cv.Commission != money.New(d.commission, money.EUR) || cv.CPA != money.New(d.cpa, money.EUR) {
					t.Errorf("order %s: amount %v refunded %d commission %v cpa %v; want %+v", cv.ExternalID, cv.Amount, cv.Refunded.Micros,
						cv.Commission, cv.CPA, d)
				}
				standing += cv.Commission.Micros + cv.CPA.Micros
				due2 += d.commission + d.cpa
			}
			st, err := w.env.App.Ledger.Escrow(w.ctx, c.ID)
			if err != nil || st.Spent != standing || standing != due2 {
				t.Errorf("escrow spent %+v (%v), conversions stand paid %d, due %d", st, err, standing, due2)
			}
			w.audit()
		}
		check()

		// Every delivery again, as the stores retry: nothing changes.
		for _, d := range sent {
			h := shopifyDelivery(d.topic, d.id, d.body)
			if d.path == wooPath {
				h = wooDelivery(d.topic, d.id, d.body)
				h.Set("X-WC-Webhook-ID", "17")
			}
			if status, out := w.post(d.path, h, d.body); status != 200 || out["outcome"] != orders.OutcomeDuplicate {
				t.Fatalf("redelivery of %s %s: %d %v", d.topic, d.id, status, out)
			}
		}
		if again := w.moneyState(c.ID); again != state {
			t.Fatalf("redeliveries changed money:\n%s\n%s", state, again)
		}
		check()
	})
}

// TestMultiCurrencyRefundsProperty (item 3): any Shopify order paid in CAD
// in an EUR shop, refunded in up to three parts as Shopify writes them
// (items in both currencies, a shipping refund or a refund discrepancy as
// an adjustment, transactions in CAD), leaves its conversion refunded by
// exactly the parts' shop money, clamped at the order, and paying
// floor(10 %) of what is left and the CPA unless nothing is; the escrow
// spent is what the conversions stand paid and the audit holds.
func TestMultiCurrencyRefundsProperty(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		c := w.campaign("Serum", 100_000*eur, campaign.Performance{CommissionBps: 1000, CPA: 2 * eur}, "anna")
		if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, c.ID, attrib.CodeDraft{CreatorID: w.creators["anna"].SubjectID, Code: "ANNA"}); err != nil {
			t.Fatal(err)
		}
		shop := w.store(orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "amounts.myshopify.com", WebhookSecret: shopSecret})
		cents := func(n int64) string { return money.FormatMicros(n * (eur / 100)) }
		set := func(eurCents, cadCents int64) string {
			return fmt.Sprintf(`{"shop_money":{"amount":%q,"currency_code":"EUR"},"presentment_money":{"amount":%q,"currency_code":"CAD"}}`,
				cents(eurCents), cents(cadCents))
		}
		deliver := func(rt *rapid.T, topic, id string, body []byte) {
			rc, err := w.env.App.Orders.Receive(w.ctx, orders.Shopify, shop.ID, shopifyDelivery(topic, id, body), body)
			if err != nil || rc.Outcome != orders.OutcomeProcessed {
				rt.Fatalf("%s %s: %+v, %v\n%s", topic, id, rc, err, body)
			}
		}
		n := 0
		rapid.Check(t, func(rt *rapid.T) {
			n++
			oid := fmt.Sprint(6_000_000 + n)
			eurCents := rapid.Int64Range(1, 500_000).Draw(rt, "eur_cents")
			cadCents := rapid.Int64Range(1, 800_000).Draw(rt, "cad_cents")
			order := fmt.Appendf(nil, `{"id":%s,"created_at":"2026-11-02T08:00:00Z","updated_at":"2026-11-02T08:00:00Z","currency":"EUR",
				"presentment_currency":"CAD","total_price":%q,"total_price_set":%s,"financial_status":"paid","discount_codes":[{"code":"anna"}]}`,
				oid, cents(eurCents), set(eurCents, cadCents))
			deliver(rt, "orders/paid", "o-"+oid, order)
			var refundedCents int64
			for i := range rapid.IntRange(0, 3).Draw(rt, "refunds") {
				// Items worth a share of the order, less (discrepancy) or
				// plus (shipping) an adjustment.
				itemEUR := rapid.Int64Range(1, eurCents).Draw(rt, "item_eur")
				itemCAD := rapid.Int64Range(1, cadCents).Draw(rt, "item_cad")
				adjEUR := rapid.Int64Range(-itemEUR/2, itemEUR-1).Draw(rt, "adj_eur")
				adjCAD := rapid.Int64Range(-itemCAD/2, itemCAD-1).Draw(rt, "adj_cad")
				kind := "refund_discrepancy"
				if adjEUR < 0 {
					kind = "shipping_refund"
				}
				body := fmt.Appendf(nil, `{"id":%d,"order_id":%s,"refund_line_items":[{"subtotal_set":%s,"total_tax_set":%s}],
					"order_adjustments":[{"kind":%q,"amount_set":%s,"tax_amount_set":%s}],
					"transactions":[{"kind":"refund","status":"success","amount":%q,"currency":"CAD"}]}`,
					i+1, oid, set(itemEUR, itemCAD), set(0, 0), kind, set(adjEUR, adjCAD), set(0, 0), cents(itemCAD-adjCAD))
				deliver(rt, "refunds/create", fmt.Sprintf("r-%s-%d", oid, i), body)
				refundedCents += itemEUR - adjEUR
			}
			var got attrib.Conversion
			for _, x := range w.conversions(c.ID) {
				if x.ExternalID == oid {
					got = x
				}
			}
			amount := eurCents * (eur / 100)
			refunded := min(refundedCents*(eur/100), amount)
			wantCPA := int64(2 * eur)
			if refunded == amount {
				wantCPA = 0
			}
			if got.Amount != money.New(amount, money.EUR) || got.Refunded.Micros != refunded ||
				got.Commission != money.New((amount-refunded)/10, money.EUR) || got.CPA != money.New(wantCPA, money.EUR) {
				rt.Fatalf("order %s of %d EUR cents refunded %d: conversion %+v; want refunded %d commission %d cpa %d",
					oid, eurCents, refundedCents, got, refunded, (amount-refunded)/10, wantCPA)
			}
		})
		var standing int64
		for _, cv := range w.conversions(c.ID) {
			standing += cv.Commission.Micros + cv.CPA.Micros
		}
		if st, err := w.env.App.Ledger.Escrow(w.ctx, c.ID); err != nil || st.Spent != standing {
			t.Errorf("escrow %+v (%v), conversions stand paid %d", st, err, standing)
		}
		w.audit()
	})
}
