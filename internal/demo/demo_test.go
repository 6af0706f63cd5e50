package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/money"
)

// The demo's books must balance to the micro-unit, and it must show every
// part of the loop: a refused post, a full campaign, tiers, the close.
func TestDemoRuns(t *testing.T) {
	sum, err := demo.Run(context.Background(), demo.Options{Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	// One creator bought likes: caught in the tick that billed them, held,
	// and voided by the brand's confirmation, the reason printed.
	if f := sum.Fraud; f == nil || len(f.Flags) == 0 || f.Held.Micros <= 0 || f.Voided == 0 || f.VoidedGross.Micros <= 0 ||
		f.VoidedGross.Micros > f.Held.Micros || f.Flags[0].Reason == "" {
		t.Fatalf("the cheating creator: %+v", sum.Fraud)
	}
	if sum.Funded.Micros != demo.Budget*money.Scale || sum.Spent.Micros != sum.Fee.Micros+sum.CreatorEarnings.Micros {
		t.Fatalf("funded %s spent %s fee %s earnings %s", sum.Funded, sum.Spent, sum.Fee, sum.CreatorEarnings)
	}
	if sum.Fee.Micros != sum.Spent.Micros*sum.FeeBps/10_000 || sum.FeeBps != 1000 {
		t.Fatalf("fee %s at %d bps on %s", sum.Fee, sum.FeeBps, sum.Spent)
	}
	if sum.Spent.Micros+sum.Remaining.Micros != sum.Funded.Micros || sum.Refunded != sum.Remaining {
		t.Fatalf("spent %s + remaining %s ≠ funded; refunded %s", sum.Spent, sum.Remaining, sum.Refunded)
	}
	var gross, net int64
	accepted := 0
	for _, c := range sum.Creators {
		gross += c.Gross.Micros
		net += c.Earned.Micros
		if c.Application == "accepted" {
			accepted++
			if c.Available != c.Earned || c.Gross.Micros == 0 || c.Gross.Micros > demo.CreatorCap*money.Scale {
				t.Fatalf("%s: gross %s earned %s available %s (cap %d)", c.Handle, c.Gross, c.Earned, c.Available, demo.CreatorCap)
			}
		} else if c.Gross.Micros != 0 {
			t.Fatalf("%s (%s) earned %s", c.Handle, c.Application, c.Gross)
		}
	}
	if gross != sum.Spent.Micros || net != sum.CreatorEarnings.Micros || accepted != 10 {
		t.Fatalf("creators' gross %d net %d (%d accepted) vs spent %s earnings %s", gross, net, accepted, sum.Spent, sum.CreatorEarnings)
	}
	if sum.State != "closed" || len(sum.Refused) != 2 || !sum.AuditOK {
		t.Fatalf("state %s, refused %v, audit %v", sum.State, sum.Refused, sum.AuditOK)
	}
	checkSales(t, sum)
	var b bytes.Buffer
	if err := demo.Print(&b, sum); err != nil || !strings.Contains(b.String(), "campaign state    closed") ||
		!strings.Contains(b.String(), "orders by code") || !strings.Contains(b.String(), "spent by kind") ||
		!strings.Contains(b.String(), "caught by "+sum.Fraud.Flags[0].Detector+" ("+sum.Fraud.Flags[0].Severity+"): "+sum.Fraud.Flags[0].Reason) {
		t.Fatalf("printed %q, %v", b.String(), err)
	}
	b.Reset()
	var back demo.Summary
	if err := demo.JSON(&b, sum); err != nil || json.Unmarshal(b.Bytes(), &back) != nil || back.Spent != sum.Spent ||
		back.Sales != sum.Sales || len(back.Conversions) != len(sum.Conversions) {
		t.Fatalf("JSON %s: %v", b.String(), err)
	}
}

// What payper reports of the audience's clicks and orders must match what
// the demo sent, and every figure of attribution must agree with the others
// and with the ledger: conversions with earnings, earnings by kind with the
// money spent, refunds with what they took back.
func checkSales(t *testing.T, sum demo.Summary) {
	t.Helper()
	sl, sent := sum.Sales, sum.Simulated
	if sl.HumanClicks != int64(sent.HumanClicks) || sl.BotClicks != int64(sent.BotClicks) || sent.BotClicks == 0 {
		t.Errorf("payper counted %d human and %d bot clicks; the demo sent %d and %d", sl.HumanClicks, sl.BotClicks, sent.HumanClicks, sent.BotClicks)
	}
	// Every code wins; every click (the order's or a returning customer's
	// earlier one) is within the window; the rest is nobody's.
	if sl.Orders != sent.Orders || sl.ByCode != sent.WithCode || sl.ByClick != sent.ClickOnly+sent.Returning ||
		sl.Unattributed != sent.Neither || sl.Attributed != sl.ByCode+sl.ByClick || sent.Returning == 0 {
		t.Errorf("sales %+v for what was sent %+v", sl, sent)
	}
	if sl.ByCode == 0 || sl.ByClick == 0 || sl.Unattributed == 0 {
		t.Errorf("want orders by code, by click and unattributed: %+v", sl)
	}
	if sl.Refunds != sent.Refunds || sl.Refunded != sent.Refunded || sent.Refunds != 2 {
		t.Errorf("payper has %d refunds of %s; the demo sent %d of %s", sl.Refunds, sl.Refunded, sent.Refunds, sent.Refunded)
	}
	if k := sl.SpentByKind; k.Total() != sum.Spent.Micros || k.Interactions.Micros == 0 || k.FlatFee.Micros != 10*10*money.Scale {
		t.Errorf("spent by kind %+v (total %d) vs spent %s", k, k.Total(), sum.Spent)
	}
	var clicksH, clicksB int64
	creators := map[string]demo.CreatorRow{}
	for _, c := range sum.Creators {
		creators[c.Handle] = c
		clicksH, clicksB = clicksH+c.HumanClicks, clicksB+c.BotClicks
		if k := c.Kinds; k.Total() != c.Gross.Micros {
			t.Errorf("%s: gross %s ≠ the sum of its kinds %+v", c.Handle, c.Gross, k)
		}
		if accepted := c.Application == "accepted"; accepted != (c.Code != "" && c.Link != "") ||
			accepted != (c.Kinds.FlatFee.Micros == sum.Performance.FlatFee.Micros) {
			t.Errorf("%s (%s): code %q link %q flat fee %s", c.Handle, c.Application, c.Code, c.Link, c.Kinds.FlatFee)
		}
	}
	if clicksH != sl.HumanClicks || clicksB != sl.BotClicks {
		t.Errorf("creators' clicks %d/%d vs the campaign's %d/%d", clicksH, clicksB, sl.HumanClicks, sl.BotClicks)
	}
	// Conversions (per order) against earnings (per creator and kind).
	type paid struct{ commission, cpa, revenue int64 }
	per := map[string]paid{}
	refundedInFull, refundedInPart := 0, 0
	var revenue int64
	for _, cv := range sum.Conversions {
		c, ok := creators[cv.Creator]
		if !ok || c.Code == "" || c.Link == "" {
			t.Fatalf("order %s attributed to %s, who has no code or link", cv.OrderID, cv.Creator)
		}
		if cv.Method == "code" && !strings.EqualFold(cv.Code, c.Code) {
			t.Errorf("order %s attributed by code %q to %s, whose code is %s", cv.ShopOrderID, cv.Code, cv.Creator, c.Code)
		}
		net := cv.Amount.Micros - cv.Refunded.Micros
		if cv.Commission.Micros > money.FloorBps(net, sum.Performance.CommissionBps) || cv.Commission.Micros < 0 ||
			cv.CPA.Micros < 0 || cv.CPA.Micros > sum.Performance.CPA.Micros {
			t.Errorf("order %s: net %d pays commission %s and CPA %s", cv.ShopOrderID, net, cv.Commission, cv.CPA)
		}
		switch {
		case cv.Refunded.Micros == cv.Amount.Micros:
			refundedInFull++
			if cv.Commission.Micros != 0 || cv.CPA.Micros != 0 {
				t.Errorf("order %s refunded in full still pays %s + %s", cv.ShopOrderID, cv.Commission, cv.CPA)
			}
		case cv.Refunded.Micros > 0:
			refundedInPart++
			if cv.Commission.Micros != money.FloorBps(net, sum.Performance.CommissionBps) || cv.CPA != sum.Performance.CPA {
				t.Errorf("order %s refunded in part pays %s + %s", cv.ShopOrderID, cv.Commission, cv.CPA)
			}
		}
		p := per[cv.Creator]
		p.commission, p.cpa, p.revenue = p.commission+cv.Commission.Micros, p.cpa+cv.CPA.Micros, p.revenue+net
		per[cv.Creator] = p
		revenue += net
	}
	if refundedInFull != 1 || refundedInPart != 1 {
		t.Errorf("%d orders refunded in full and %d in part, want 1 and 1", refundedInFull, refundedInPart)
	}
	var commission, cpa int64
	for h, c := range creators {
		if p := per[h]; p.commission != c.Kinds.Commission.Micros || p.cpa != c.Kinds.CPA.Micros || p.revenue != c.Revenue.Micros {
			t.Errorf("%s: conversions pay commission %d, CPA %d on revenue %d; earnings %s, %s; revenue %s", h, p.commission, p.cpa, p.revenue,
				c.Kinds.Commission, c.Kinds.CPA, c.Revenue)
		}
		commission, cpa = commission+c.Kinds.Commission.Micros, cpa+c.Kinds.CPA.Micros
	}
	if commission != sl.SpentByKind.Commission.Micros || cpa != sl.SpentByKind.CPA.Micros || revenue != sl.AttributedRevenue.Micros ||
		commission == 0 || cpa == 0 {
		t.Errorf("commission %d, CPA %d, revenue %d vs the campaign's %+v", commission, cpa, revenue, sl)
	}
	// The refunds took back the full order's commission and CPA and half the
	// other's commission.
	if sl.Clawed.Micros <= 0 || sl.Clawed.Micros > money.FloorBps(sl.Refunded.Micros, sum.Performance.CommissionBps)+sum.Performance.CPA.Micros {
		t.Errorf("refunds of %s clawed back %s", sl.Refunded, sl.Clawed)
	}
}

// TestDemoReportsAndRanking: the run ends with the 14- and 30-day reports
// (the 30-day one covering the whole run: its conversions are every
// attributed order that counts) and a ranking that labels thirds.
func TestDemoReportsAndRanking(t *testing.T) {
	sum, err := demo.Run(context.Background(), demo.Options{Seed: 11, Days: 12})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Reports) != 2 || sum.Reports[0].Window != "14d" || sum.Reports[1].Window != "30d" {
		t.Fatalf("reports %+v", sum.Reports)
	}
	r30 := sum.Reports[1]
	var counted int64
	for _, c := range sum.Conversions {
		if c.Refunded.Micros < c.Amount.Micros {
			counted++
		}
	}
	if r30.Conversions != counted || r30.Clicks != int64(sum.Simulated.HumanClicks) || r30.BotClicks != int64(sum.Simulated.BotClicks) {
		t.Errorf("30-day report: %d conversions, %d clicks, %d bot clicks; the run had %d, %d, %d", r30.Conversions, r30.Clicks, r30.BotClicks,
			counted, sum.Simulated.HumanClicks, sum.Simulated.BotClicks)
	}
	if r30.PaidSocial.Micros == 0 || len(r30.Variants) != 1 || len(r30.Goal) != 2 {
		t.Errorf("30-day report: paid social %s, variants %v, goal %v", r30.PaidSocial, r30.Variants, r30.Goal)
	}
	n := len(sum.Ranking)
	if n < 3 {
		t.Fatalf("ranking %+v", sum.Ranking)
	}
	labels := map[string]int{}
	for i, r := range sum.Ranking {
		labels[r.Label]++
		if r.Rank != i+1 || r.Reason == "" {
			t.Errorf("ranking row %+v", r)
		}
	}
	if labels["scale"] != n/3 || labels["cut"] != n/3 || labels["refresh"] != n-2*(n/3) {
		t.Errorf("labels %v for %d creators", labels, n)
	}
}
