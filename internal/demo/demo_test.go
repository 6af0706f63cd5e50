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
	if sum.Funded.Micros != 1_000*money.Scale || sum.Spent.Micros != sum.Fee.Micros+sum.CreatorEarnings.Micros {
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
			if c.Available != c.Earned || c.Gross.Micros == 0 || c.Gross.Micros > 150*money.Scale {
				t.Fatalf("%s: gross %s earned %s available %s (cap 150)", c.Handle, c.Gross, c.Earned, c.Available)
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
	var b bytes.Buffer
	if err := demo.Print(&b, sum); err != nil || !strings.Contains(b.String(), "campaign state    closed") {
		t.Fatalf("printed %q, %v", b.String(), err)
	}
	b.Reset()
	var back demo.Summary
	if err := demo.JSON(&b, sum); err != nil || json.Unmarshal(b.Bytes(), &back) != nil || back.Spent != sum.Spent {
		t.Fatalf("JSON %s: %v", b.String(), err)
	}
}
