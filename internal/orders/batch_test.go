package orders_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// failOn is an observer that fails for one order (by its platform id) and
// records every other order it hears of.
type failOn struct {
	external string
	mu       sync.Mutex
	seen     map[string]int
}

func (f *failOn) OrderChangedTx(ctx context.Context, tx *store.Tx, orderID string) error {
	o, _, err := orders.OrderTx(ctx, tx, orderID)
	if err != nil {
		return err
	}
	if o.ExternalID == f.external {
		return errors.New("observer refuses " + f.external)
	}
	f.mu.Lock()
	f.seen[o.ExternalID]++
	f.mu.Unlock()
	return nil
}

// TestBatchedDeliveries sends many deliveries of one store at once, so
// they are written several to a transaction: every order is stored once,
// duplicates do nothing, and a delivery whose observer fails fails alone —
// the others batched with it are still stored and answered.
func TestBatchedDeliveries(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		obs := &failOn{external: "13", seen: map[string]int{}}
		e.svc.SetObserver(obs)
		const senders, each = 16, 8
		var wg sync.WaitGroup
		errc := make(chan error, senders*each*2)
		for g := range senders {
			wg.Go(func() {
				for i := range each {
					n := g*each + i
					body := fmt.Appendf(nil, `{"id":%d,"currency":"EUR","total_price":"10.00","updated_at":"2026-11-20T10:00:00Z"}`, n)
					for k := range 2 { // each delivery twice
						rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", fmt.Sprint("d-", n), body), body)
						switch {
						case n == 13 && err == nil:
							errc <- fmt.Errorf("order 13 answered %+v, want the observer's error", rc)
						case n != 13 && err != nil:
							errc <- err
						case n != 13 && k == 0 && rc.Outcome != orders.OutcomeProcessed:
							errc <- fmt.Errorf("order %d: %+v", n, rc)
						case n != 13 && k == 1 && rc.Outcome != orders.OutcomeDuplicate:
							errc <- fmt.Errorf("order %d again: %+v", n, rc)
						}
					}
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		if n := count(t, db, "orders"); n != senders*each-1 {
			t.Errorf("%d orders, want %d", n, senders*each-1)
		}
		if n := count(t, db, "webhook_deliveries"); n != senders*each-1 {
			t.Errorf("%d deliveries recorded, want %d", n, senders*each-1)
		}
		for i := range senders * each {
			if got := obs.seen[fmt.Sprint(i)]; i != 13 && got < 1 {
				t.Errorf("order %d: observer heard %d times", i, got)
			}
		}
		if b, d := e.svc.BatchStats(); d < int64(senders*each*2) || b > d {
			t.Errorf("batch stats %d batches of %d deliveries", b, d)
		}
	})
}

// batchObs is a BatchObserver that records the new orders it is handed,
// one by one or in batches, and fails for one order (by its platform id).
type batchObs struct {
	failOn
	batches int // NewOrdersTx calls with more than one order
	news    map[string]orders.Order
	// shared lists the customers two orders of one NewOrdersTx call had.
	shared []string
}

func (b *batchObs) NewOrderTx(ctx context.Context, tx *store.Tx, o orders.Order, brandID string) error {
	return b.NewOrdersTx(ctx, tx, []orders.NewOrder{{Order: o, BrandID: brandID}})
}

func (b *batchObs) NewOrdersTx(ctx context.Context, tx *store.Tx, os []orders.NewOrder) error {
	for _, n := range os {
		if n.Order.ExternalID == b.external {
			return errors.New("observer refuses " + b.external)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(os) > 1 {
		b.batches++
	}
	for i, n := range os {
		for _, m := range os[:i] {
			if c := n.Order.CustomerID; c != "" && c == m.Order.CustomerID {
				b.shared = append(b.shared, c)
			}
		}
		b.seen[n.Order.ExternalID]++
		b.news[n.Order.ExternalID] = n.Order
	}
	return nil
}

// TestBatchedNewOrders (issue 13, benchmark): batches made only of new
// orders are written with a few statements for the whole batch
// (writeNewTx). Sent by 16 senders at once, each new order twice (the
// second a duplicate), with refunds of some of them delivered before
// them (kept pending) and one order the observer refuses: every order is
// stored once and handed to the observer with its pending refunds, which
// are stored on it and leave pending_refunds; each delivery is recorded
// processed with its order's id, duplicates do nothing, and the refused
// one fails alone. Some batches did go through the batch path. The first
// order of each sender is of one customer: no two orders of a customer
// are handed over at once (attribution would see the later one's click
// when settling the earlier). Both stores.
func TestBatchedNewOrders(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		obs := &batchObs{failOn: failOn{external: "13", seen: map[string]int{}}, news: map[string]orders.Order{}}
		e.svc.SetObserver(obs)
		const senders, each = 16, 8
		refunded := func(n int) bool { return n%10 == 3 }
		for n := range senders * each {
			if !refunded(n) {
				continue
			}
			body := fmt.Appendf(nil, `{"id":%d,"order_id":%d,"created_at":"2026-11-20T09:00:00Z",
				"transactions":[{"kind":"refund","amount":"2.50","currency":"EUR","status":"success"}]}`, 5000+n, n)
			rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("refunds/create", fmt.Sprint("r-", n), body), body)
			if err != nil || rc.Outcome != orders.OutcomePending {
				t.Fatalf("refund of %d: %+v, %v", n, rc, err)
			}
		}
		var wg sync.WaitGroup
		errc := make(chan error, senders*each*2)
		ids := make([]string, senders*each)
		for g := range senders {
			wg.Go(func() {
				for i := range each {
					n := g*each + i
					customer := ""
					if i == 0 {
						customer = `,"customer":{"id":777}`
					}
					body := fmt.Appendf(nil, `{"id":%d,"currency":"EUR","total_price":"10.00","updated_at":"2026-11-20T10:00:00Z",
						"financial_status":"paid","discount_codes":[{"code":"c%d"}]%s}`, n, n, customer)
					for k := range 2 {
						rc, err := e.svc.Receive(e.ctx, orders.Shopify, e.shop.ID, shopifyHeaders("orders/create", fmt.Sprint("d-", n), body), body)
						switch {
						case n == 13 && err == nil:
							errc <- fmt.Errorf("order 13 answered %+v, want the observer's error", rc)
						case n != 13 && err != nil:
							errc <- err
						case n != 13 && k == 0 && (rc.Outcome != orders.OutcomeProcessed || rc.OrderID == ""):
							errc <- fmt.Errorf("order %d: %+v", n, rc)
						case n != 13 && k == 1 && rc.Outcome != orders.OutcomeDuplicate:
							errc <- fmt.Errorf("order %d again: %+v", n, rc)
						}
						if k == 0 {
							ids[n] = rc.OrderID
						}
					}
				}
			})
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Error(err)
		}
		if n := count(t, db, "orders"); n != senders*each-1 {
			t.Errorf("%d orders, want %d", n, senders*each-1)
		}
		var pending int
		if err := db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM pending_refunds`).Scan(&pending); err != nil || pending != 1 {
			t.Errorf("%d refunds still pending (%v), want 1 (order 13's)", pending, err)
		}
		for n := range senders * each {
			if n == 13 {
				continue
			}
			o, ok := obs.news[fmt.Sprint(n)]
			if !ok || obs.seen[fmt.Sprint(n)] != 1 || o.ID != ids[n] {
				t.Errorf("order %d: heard %d times as %+v, receipt's id %s", n, obs.seen[fmt.Sprint(n)], o, ids[n])
				continue
			}
			if o.Amount.Micros != 10_000_000 || o.Status != "paid" || len(o.DiscountCodes) != 1 || o.DiscountCodes[0] != fmt.Sprintf("C%d", n) {
				t.Errorf("order %d handed over as %+v", n, o)
			}
			wantRefunds := 0
			if refunded(n) {
				wantRefunds = 1
			}
			if len(o.Refunds) != wantRefunds || (wantRefunds == 1 && o.Refunds[0].Amount.Micros != 2_500_000) {
				t.Errorf("order %d handed over with refunds %+v", n, o.Refunds)
			}
			var outcome, orderID string
			var stored int
			if err := db.Read().QueryRowContext(e.ctx, `SELECT outcome, order_id FROM webhook_deliveries WHERE delivery_id = $1`,
				fmt.Sprint("d-", n)).Scan(&outcome, &orderID); err != nil || outcome != orders.OutcomeProcessed || orderID != ids[n] {
				t.Errorf("delivery of %d recorded %q %q (%v)", n, outcome, orderID, err)
			}
			if err := db.Read().QueryRowContext(e.ctx, `SELECT COUNT(*) FROM order_refunds WHERE order_id = $1`, ids[n]).Scan(&stored); err != nil || stored != wantRefunds {
				t.Errorf("order %d: %d refunds stored (%v), want %d", n, stored, err, wantRefunds)
			}
		}
		if obs.batches == 0 {
			t.Error("no batch of new orders was handed over at once")
		}
		if len(obs.shared) > 0 {
			t.Errorf("orders of one customer were handed over at once: %v", obs.shared)
		}
	})
}
