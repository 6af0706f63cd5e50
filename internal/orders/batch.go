package orders

import (
	"context"
	"fmt"
	"sync"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
)

// maxBatch bounds how many deliveries one transaction takes in.
const maxBatch = 64

// Deliveries of one store arriving together are written in one
// transaction (group commit): the first delivery queued starts a leader,
// which takes everything queued for that store into one transaction, again
// and again until the queue is empty; each delivery is answered once its
// transaction has committed, so an acknowledged delivery is durable, as
// before. One commit, and on PostgreSQL one wait for the campaign's escrow
// row, serve many orders. If a batch's transaction fails, each of its
// deliveries is tried again alone, so one bad delivery fails only itself.
// With a BatchObserver (attribution), the new orders of a batch are handed
// to it together at the end of the batch (or before any other delivery
// that tells it of an order), so that it settles them at once.

// job is a delivery waiting for its transaction.
type job struct {
	st   Store
	d    delivery
	now  clock.Micros
	rc   Receipt
	err  error
	done chan struct{}
}

// batcher queues one store's deliveries.
type batcher struct {
	mu      sync.Mutex
	queue   []*job
	leading bool
}

// apply stores what a verified delivery carries, with the other deliveries
// of its store that arrive meanwhile, and returns when it is committed.
func (s *Service) apply(ctx context.Context, st Store, d delivery, now clock.Micros) (Receipt, error) {
	s.batchMu.Lock()
	if s.batchers == nil {
		s.batchers = map[string]*batcher{}
	}
	b := s.batchers[st.ID]
	if b == nil {
		b = &batcher{}
		s.batchers[st.ID] = b
	}
	s.batchMu.Unlock()

	j := &job{st: st, d: d, now: now, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, j)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	if lead {
		// The leader serves other requests too: it must not end with this
		// one's (a client hanging up), nor keep this one waiting for
		// batches after its own.
		go s.lead(context.WithoutCancel(ctx), b)
	}
	<-j.done
	if j.err != nil {
		return Receipt{}, fmt.Errorf("orders: store %s delivery %s: %w", st.ID, d.id, j.err)
	}
	return j.rc, nil
}

// lead writes b's queued deliveries, a batch per transaction, until the
// queue is empty.
func (s *Service) lead(ctx context.Context, b *batcher) {
	for {
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		if n == 0 {
			b.leading = false
			b.mu.Unlock()
			return
		}
		batch := b.queue[:n:n]
		b.queue = b.queue[n:]
		b.mu.Unlock()
		s.batchTxs.Add(1)
		s.batchJobs.Add(int64(len(batch)))
		s.write(ctx, batch)
		for _, j := range batch {
			close(j.done)
		}
	}
}

// write applies batch in one transaction, or, when that fails, each job
// in its own.
func (s *Service) write(ctx context.Context, batch []*job) {
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var pending []NewOrder
		for _, j := range batch {
			rc, err := s.applyTx(ctx, tx, j.st, j.d, j.now, &pending)
			if err != nil {
				return err
			}
			j.rc = rc
		}
		return s.flushNew(ctx, tx, &pending)
	})
	if err == nil {
		return
	}
	if len(batch) == 1 {
		batch[0].err = err
		return
	}
	for _, j := range batch {
		j.err = s.db.WithTx(ctx, func(tx *store.Tx) error {
			rc, err := s.applyTx(ctx, tx, j.st, j.d, j.now, nil)
			j.rc = rc
			return err
		})
	}
}

// BatchStats returns how many batches of deliveries were written and how
// many deliveries they held, since the service started.
func (s *Service) BatchStats() (batches, deliveries int64) {
	return s.batchTxs.Load(), s.batchJobs.Load()
}
