package attrib_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store/storetest"
	"pgregory.net/rapid"
)

const (
	shopSecret = "shpss_amounts_0123456789abcdef"
	wooSecret  = "wc-amounts-secret"
)

// post sends body to the running server as a platform or a brand's server
// does, and returns the status and the decoded JSON answer.
func (w *world) post(path string, h http.Header, body []byte) (int, map[string]any) {
	w.t.Helper()
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, w.env.URL+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		w.t.Fatalf("POST %s answered %d %q", path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

func shopifyDelivery(topic, delivery string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Shopify-Topic", topic)
	h.Set("X-Shopify-Hmac-Sha256", orders.Sign(shopSecret, body))
	h.Set("X-Shopify-Shop-Domain", "amounts.myshopify.com")
	h.Set("X-Shopify-Webhook-Id", delivery)
	return h
}

func wooDelivery(topic, delivery string, body []byte) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-WC-Webhook-Source", "https://amounts.example/")
	h.Set("X-WC-Webhook-Topic", topic)
	h.Set("X-WC-Webhook-Signature", orders.Sign(wooSecret, body))
	h.Set("X-WC-Webhook-Delivery-ID", delivery)
	return h
}

func shopOrder(id, total string) []byte {
	return fmt.Appendf(nil, `{"id":%s,"created_at":"2026-11-02T08:00:00Z","updated_at":"2026-11-02T08:00:00Z","currency":"EUR",
		"total_price":%q,"financial_status":"paid","discount_codes":[{"code":"anna"}]}`, id, total)
}

func shopRefund(id, orderID string, amounts ...string) []byte {
	var ts []string
	for _, a := range amounts {
		ts = append(ts, fmt.Sprintf(`{"kind":"refund","amount":%q,"currency":"EUR","status":"success"}`, a))
	}
	return fmt.Appendf(nil, `{"id":%s,"order_id":%s,"transactions":[%s]}`, id, orderID, strings.Join(ts, ","))
}

func wooOrder(id, total, refund string) []byte {
	refunds := ""
	if refund != "" {
		refunds = fmt.Sprintf(`{"id":900,"total":%q}`, refund)
	}
	return fmt.Appendf(nil, `{"id":%s,"status":"processing","currency":"EUR","total":%q,"customer_id":0,"coupon_lines":[{"code":"anna"}],
		"date_created_gmt":"2026-11-02T08:00:00","date_modified_gmt":"2026-11-02T08:00:00","refunds":[%s]}`, id, total, refunds)
}

// money state: everything a refused delivery must leave as it was.
func (w *world) moneyState(campaignID string) string {
	w.t.Helper()
	var b strings.Builder
	q := w.env.App.DB.Read()
	for _, table := range []string{"orders", "order_refunds", "conversions", "ledger_transactions", "earnings"} {
		var n int
		if err := q.QueryRowContext(w.ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			w.t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s=%d ", table, n)
	}
	st, err := w.env.App.Ledger.Escrow(w.ctx, campaignID)
	if err != nil {
		w.t.Fatal(err)
	}
	fmt.Fprintf(&b, "escrow spent=%d remaining=%d\n", st.Spent, st.Remaining)
	var refunded, revenue, commission int64
	if err := q.QueryRowContext(w.ctx, `SELECT COALESCE(SUM(refunded), 0), COALESCE(SUM(revenue), 0), COALESCE(SUM(earn_commission), 0)
		FROM rollups WHERE campaign_id = $1`, campaignID).Scan(&refunded, &revenue, &commission); err != nil {
		w.t.Fatal(err)
	}
	fmt.Fprintf(&b, "rollup refunded=%d revenue=%d commission=%d\n", refunded, revenue, commission)
	var lines []string
	for _, cv := range w.conversions(campaignID) {
		lines = append(lines, fmt.Sprintf("%s amount=%d refunded=%d commission=%d cpa=%d\n", cv.ExternalID, cv.Amount.Micros, cv.Refunded.Micros,
			cv.Commission.Micros, cv.CPA.Micros))
	}
	slices.Sort(lines)
	return b.String() + strings.Join(lines, "")
}

// TestBadAmountsChangeNothing: through the real server, signed Shopify and
// WooCommerce deliveries with a negative refund (Shopify refunds/create of
// -50.00), a negative total_price (a new order, or an attributed one
// turned negative) or WooCommerce's "--2.00" are acknowledged 200 as
// rejected with the field named, the conversion API answers 400 naming
// amount.amount and a refund of a conversion is refused naming it too; none of them stores an order or refund, moves money or
// changes a commission. Refunds reported past an order's amount clamp at
// it: the conversion is refunded in full once, never more.
func TestBadAmountsChangeNothing(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		// A budget the rapid property below cannot exhaust: up to 100 orders
		// of up to 1,000.00 each pay up to 102.00 (10 % and the CPA); with
		// 1,000.00 a run drawing big orders ran out of escrow and saw
		// budget_exhausted where it expected the commission.
		c := w.campaign("Serum", 20_000*eur, campaign.Performance{CommissionBps: 1000, CPA: 2 * eur}, "anna")
		if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, c.ID, attrib.CodeDraft{CreatorID: w.creators["anna"].SubjectID, Code: "ANNA"}); err != nil {
			t.Fatal(err)
		}
		shop := w.store(orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "amounts.myshopify.com", WebhookSecret: shopSecret})
		woo := w.store(orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://amounts.example", WebhookSecret: wooSecret})
		shopPath, wooPath := orders.WebhookPath+"shopify/"+shop.ID, orders.WebhookPath+"woocommerce/"+woo.ID
		apiHeader := func() http.Header {
			h := http.Header{}
			h.Set("Authorization", "Bearer "+w.brandKey)
			h.Set("Content-Type", "application/json")
			return h
		}
		good := []struct {
			path string
			h    http.Header
			body []byte
		}{
			{shopPath, shopifyDelivery("orders/create", "g1", shopOrder("1001", "100.00")), shopOrder("1001", "100.00")},
			{wooPath, wooDelivery("order.created", "g2", wooOrder("727", "50.00", "")), wooOrder("727", "50.00", "")},
		}
		for _, g := range good {
			if status, out := w.post(g.path, g.h, g.body); status != 200 || out["outcome"] != orders.OutcomeProcessed {
				t.Fatalf("good delivery: %d %v", status, out)
			}
		}
		if status, out := w.post("/v1/conversions", apiHeader(), []byte(`{"order_id":"api-1","amount":{"amount":"80.00","currency":"EUR"},"code":"anna"}`)); status != 201 {
			t.Fatalf("conversion: %d %v", status, out)
		}
		before := w.moneyState(c.ID)
		// 10 % of 100 + 50 + 80 and three CPAs of 2.00.
		if !strings.Contains(before, "1001 amount=100000000 refunded=0 commission=10000000 cpa=2000000") ||
			!strings.Contains(before, "escrow spent=29000000") {
			t.Fatalf("before the bad deliveries:\n%s", before)
		}
		bad := []struct {
			name, path, topic string
			body              []byte
			field             string
		}{
			{"shopify refund of -50.00", shopPath, "refunds/create", shopRefund("1", "1001", "-50.00"), "transactions[0].amount"},
			{"shopify refund of 0", shopPath, "refunds/create", shopRefund("2", "1001", "0.00"), "transactions[0].amount"},
			{"shopify new order of -10.00", shopPath, "orders/create", shopOrder("1002", "-10.00"), "total_price"},
			{"shopify order turned negative", shopPath, "orders/paid", []byte(strings.Replace(string(shopOrder("1001", "-100.00")),
				"2026-11-02T08:00:00Z\",\"currency", "2026-11-03T08:00:00Z\",\"currency", 1)), "total_price"},
			{"woo refund of --2.00", wooPath, "order.updated", wooOrder("727", "50.00", "--2.00"), "refunds[0].total"},
			{"woo order of -5.00", wooPath, "order.created", wooOrder("728", "-5.00", ""), "total"},
			{"woo order turned negative", wooPath, "order.updated", wooOrder("727", "-50.00", ""), "total"},
		}
		for i, b := range bad {
			d := fmt.Sprintf("bad-%d", i)
			h := shopifyDelivery(b.topic, d, b.body)
			if b.path == wooPath {
				h = wooDelivery(b.topic, d, b.body)
			}
			status, out := w.post(b.path, h, b.body)
			e, _ := out["error"].(map[string]any)
			if status != 200 || out["outcome"] != orders.OutcomeRejected || e["field"] != b.field || e["code"] == "" || e["message"] == "" {
				t.Errorf("%s: %d %v, want 200 rejected naming %s", b.name, status, out, b.field)
			}
			if after := w.moneyState(c.ID); after != before {
				t.Fatalf("%s changed money:\nbefore %s\nafter  %s", b.name, before, after)
			}
		}
		for _, body := range []string{
			`{"order_id":"api-2","amount":{"amount":"-50.00","currency":"EUR"},"code":"anna"}`,
			`{"order_id":"api-3","amount":{"amount":"0","currency":"EUR"},"code":"anna"}`,
		} {
			status, out := w.post("/v1/conversions", apiHeader(), []byte(body))
			e, _ := out["error"].(map[string]any)
			if status != 400 || e["field"] != "amount.amount" {
				t.Errorf("conversion %s: %d %v, want 400 naming amount.amount", body, status, out)
			}
		}
		_, err := w.env.App.Orders.RefundConversion(w.ctx, w.brand, "api-1", orders.ConversionRefund{RefundID: "r1",
			Amount: json.RawMessage(`{"amount":"-50.00","currency":"EUR"}`)})
		var fe *errs.Error
		if !errors.As(err, &fe) || fe.Kind != errs.Invalid || fe.Field != "amount.amount" {
			t.Errorf("refund of -50.00: %v, want invalid amount.amount", err)
		}
		if after := w.moneyState(c.ID); after != before {
			t.Fatalf("refused conversions changed money:\nbefore %s\nafter  %s", before, after)
		}

		// Refunds of 60, 30 and 30 on an order of 100: refunded clamps at
		// 100, the commission and CPA go back once, the rollup counts 100.
		for i, amt := range []string{"60.00", "30.00", "30.00"} {
			body := shopRefund(fmt.Sprint(10+i), "1001", amt)
			if status, out := w.post(shopPath, shopifyDelivery("refunds/create", fmt.Sprint("r-", i), body), body); status != 200 || out["outcome"] != orders.OutcomeProcessed {
				t.Fatalf("refund %d: %d %v", i, status, out)
			}
		}
		var cv attrib.Conversion
		for _, x := range w.conversions(c.ID) {
			if x.ExternalID == "1001" {
				cv = x
			}
		}
		if cv.Refunded.Micros != 100*eur || cv.Commission.Micros != 0 || cv.CPA.Micros != 0 {
			t.Errorf("after refunds of 120 on 100: %+v", cv)
		}
		var refunded int64
		if err := w.env.App.DB.Read().QueryRowContext(w.ctx, `SELECT SUM(refunded) FROM rollups WHERE campaign_id = $1`, c.ID).Scan(&refunded); err != nil {
			t.Fatal(err)
		}
		if refunded != 100*eur {
			t.Errorf("rollup refunded %d, want 100.00", refunded)
		}
		if st, err := w.env.App.Ledger.Escrow(w.ctx, c.ID); err != nil || st.Spent != 5*eur+2*eur+8*eur+2*eur {
			t.Errorf("escrow %+v, %v; want 17.00 spent (the Woo and API orders)", st, err)
		}
		w.audit()

		// Any refunds of any order: what stands refunded is their sum
		// clamped to 0…the amount, and the commission is on what is left.
		n := 0
		rapid.Check(t, func(rt *rapid.T) {
			n++
			amount := rapid.Int64Range(1, 1_000*eur).Draw(rt, "amount")
			oid := fmt.Sprint(5000 + n)
			body := shopOrder(oid, money.FormatMicros(amount))
			if status, out := w.post(shopPath, shopifyDelivery("orders/create", "p-"+oid, body), body); status != 200 {
				rt.Fatalf("order: %d %v", status, out)
			}
			var sum int64
			for i := range rapid.IntRange(0, 4).Draw(rt, "refunds") {
				r := rapid.Int64Range(1, amount).Draw(rt, "refund")
				sum += r
				body := shopRefund(fmt.Sprint(i+1), oid, money.FormatMicros(r))
				if status, out := w.post(shopPath, shopifyDelivery("refunds/create", fmt.Sprintf("p-%s-%d", oid, i), body), body); status != 200 {
					rt.Fatalf("refund: %d %v", status, out)
				}
			}
			var got attrib.Conversion
			for _, x := range w.conversions(c.ID) {
				if x.ExternalID == oid {
					got = x
				}
			}
			wantRefunded := min(sum, amount)
			wantCPA := int64(2 * eur)
			if wantRefunded == amount {
				wantCPA = 0
			}
			if got.Refunded.Micros != wantRefunded || got.Commission.Micros != (amount-wantRefunded)/10 || got.CPA.Micros != wantCPA {
				rt.Fatalf("order %d refunded %d: conversion %+v, want refunded %d commission %d cpa %d", amount, sum, got,
					wantRefunded, (amount-wantRefunded)/10, wantCPA)
			}
		})
		w.audit()
	})
}

// TestConcurrentWebhookOrders: 16 senders deliver signed orders of one
// store at once (each delivered twice, some refunded in full), so they are
// written several to a transaction: every order is attributed and paid
// exactly once to the micro-unit, the refunded ones stand at zero, the
// escrow spent is what the conversions stand paid, and the audit holds.
func TestConcurrentWebhookOrders(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		c := w.campaign("Serum", 1000*eur, campaign.Performance{CommissionBps: 1000, CPA: eur / 2}, "anna")
		if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, c.ID, attrib.CodeDraft{CreatorID: w.creators["anna"].SubjectID, Code: "ANNA"}); err != nil {
			t.Fatal(err)
		}
		shop := w.store(orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "amounts.myshopify.com", WebhookSecret: shopSecret})
		const senders, each = 16, 6
		var wg sync.WaitGroup
		errc := make(chan error, senders*each*3)
		amount := func(n int) int64 { return int64(10+n)*eur + int64(n)*10_001 }
		for g := range senders {
			wg.Go(func() {
				for i := range each {
					n := g*each + i
					oid := fmt.Sprint(7000 + n)
					body := shopOrder(oid, money.FormatMicros(amount(n)))
					for range 2 {
						rc, err := w.env.App.Orders.Receive(w.ctx, orders.Shopify, shop.ID, shopifyDelivery("orders/create", "c-"+oid, body), body)
						if err != nil || (rc.Outcome != orders.OutcomeProcessed && rc.Outcome != orders.OutcomeDuplicate) {
							errc <- fmt.Errorf("order %s: %+v, %v", oid, rc, err)
						}
					}
					if n%5 == 0 {
						body := shopRefund("1", oid, money.FormatMicros(amount(n)))
						if rc, err := w.env.App.Orders.Receive(w.ctx, orders.Shopify, shop.ID, shopifyDelivery("refunds/create", "r-"+oid, body), body); err != nil || rc.Outcome != orders.OutcomeProcessed {
							errc <- fmt.Errorf("refund of %s: %+v, %v", oid, rc, err)
						}
					}
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		cvs := w.conversions(c.ID)
		if len(cvs) != senders*each {
			t.Fatalf("%d conversions, want %d", len(cvs), senders*each)
		}
		var standing, want int64
		for _, cv := range cvs {
			var n int
			fmt.Sscan(cv.ExternalID, &n)
			n -= 7000
			wantCom, wantCPA := amount(n)/10, int64(eur/2)
			if n%5 == 0 {
				wantCom, wantCPA = 0, 0
			}
			if cv.Commission.Micros != wantCom || cv.CPA.Micros != wantCPA {
				t.Errorf("order %s: commission %d cpa %d, want %d %d", cv.ExternalID, cv.Commission.Micros, cv.CPA.Micros, wantCom, wantCPA)
			}
			standing += cv.Commission.Micros + cv.CPA.Micros
			want += wantCom + wantCPA
		}
		st, err := w.env.App.Ledger.Escrow(w.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Spent != standing || standing != want {
			t.Errorf("escrow spent %d, conversions stand paid %d, due %d", st.Spent, standing, want)
		}
		w.audit()
	})
}
