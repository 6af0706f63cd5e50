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
