package wise

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

// TestFindTransfer: FindTransfer finds a payout's transfer by its
// customerTransactionId in Wise's transfer list, through several pages,
// without making one; none found is found false; a cancelled one is found
// with ErrRejected; one of another amount is found with a plain error; a
// Wise that answers 503 throughout cannot answer (ErrUnavailable).
func TestFindTransfer(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	e.fake.SetBalance("EUR", 10_000*money.Scale)
	since := time.Now().Add(-time.Hour)
	// 150 other payouts' transfers first, so the one looked for is on the
	// second page.
	for i := range 150 {
		tr := transfer("po_other"+strconv.Itoa(i), 10*money.Scale, money.EUR, destEUR)
		if _, err := e.p.Send(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	tr := transfer("po_lost", 25*money.Scale, money.EUR, destEUR)
	tr.RequestedAt = since
	if _, found, err := e.p.FindTransfer(ctx, tr); found || err != nil {
		t.Fatalf("before it was made: found %v, %v", found, err)
	}
	n := len(e.fake.Transfers())
	if _, err := e.p.Send(ctx, tr); err != nil {
		t.Fatal(err)
	}
	if len(e.fake.Transfers()) != n+1 {
		t.Fatalf("looking up made a transfer")
	}
	want := strconv.FormatInt(e.fake.Transfers()[n].ID, 10)
	s, found, err := e.p.FindTransfer(ctx, tr)
	if !found || err != nil || s.Ref != want || s.Paid {
		t.Fatalf("found %+v %v %v, want ref %s not paid", s, found, err, want)
	}
	e.fake.Webhook(want, "outgoing_payment_sent")
	if s, found, err := e.p.FindTransfer(ctx, tr); !found || err != nil || !s.Paid {
		t.Fatalf("a sent transfer: %+v %v %v", s, found, err)
	}
	e.fake.Webhook(want, "cancelled")
	if s, found, err := e.p.FindTransfer(ctx, tr); !found || !errors.Is(err, payout.ErrRejected) || s.Ref != want {
		t.Fatalf("a cancelled transfer: %+v %v %v", s, found, err)
	}
	other := tr
	other.Amount = money.New(26*money.Scale, money.EUR)
	if _, found, err := e.p.FindTransfer(ctx, other); !found || err == nil || errors.Is(err, payout.ErrRejected) {
		t.Fatalf("a transfer of another amount: %v %v", found, err)
	}
	// Created before the look-up's window: not listed.
	old := tr
	old.RequestedAt = time.Now().Add(48 * time.Hour)
	if _, found, err := e.p.FindTransfer(ctx, old); found || err != nil {
		t.Fatalf("outside the window: %v %v", found, err)
	}
	e.fake.FailNext(100, 503)
	if _, found, err := e.p.FindTransfer(ctx, tr); found || !errors.Is(err, payout.ErrUnavailable) {
		t.Fatalf("Wise unavailable: %v %v", found, err)
	}
}
