package orders

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders/pgbatch"
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
	// more is signalled when a delivery is queued (see linger).
	more chan struct{}
}

// maxLinger bounds how long a leader waits for more deliveries (linger):
// half its last transaction's time, at most maxLinger.
const maxLinger = 5 * time.Millisecond

// apply stores what a verified delivery carries, with the other deliveries
// of its store that arrive meanwhile, and returns when it is committed.
func (s *Service) apply(ctx context.Context, st Store, d delivery, now clock.Micros) (Receipt, error) {
	s.batchMu.Lock()
	if s.batchers == nil {
		s.batchers = map[string]*batcher{}
	}
	b := s.batchers[st.ID]
	if b == nil {
		b = &batcher{more: make(chan struct{}, 1)}
		s.batchers[st.ID] = b
	}
	s.batchMu.Unlock()

	j := &job{st: st, d: d, now: now, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, j)
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	select {
	case b.more <- struct{}{}:
	default:
	}
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
	last := 0
	var took time.Duration
	for {
		if last > 1 {
			b.linger(last, min(took/2, maxLinger))
		}
		b.mu.Lock()
		n := min(len(b.queue), maxBatch)
		last = n
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
		start := time.Now()
		s.write(ctx, batch)
		took = time.Since(start)
		for _, j := range batch {
			close(j.done)
		}
	}
}

// write applies batch in one transaction, or, when that fails, each job
// in its own.
func (s *Service) write(ctx context.Context, batch []*job) {
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		if ok, err := s.writeNewTx(ctx, tx, batch); ok || err != nil {
			return err
		}
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

// writeNewTx writes a batch made only of orders new to payper with a few
// statements for the whole batch instead of several per delivery: one
// look-up of the orders, one insert of the deliveries (already recording
// their outcome), one of the orders, one lock of their keys (PostgreSQL),
// one look-up of refunds waiting for them; then the BatchObserver settles
// them together. It does exactly what applyTx does for each delivery in
// turn, and takes a lone new order too (fewer statements than applyTx's
// path, on SQLite and on PostgreSQL alike). It reports false, having written nothing, when the batch is not
// of that kind (an order already stored or twice in the batch, a
// delivery id twice, a delivery that is not an order or carries refunds,
// two orders of one customer, or no BatchObserver): the caller then
// applies each delivery in turn. (Attribution looks at the customer's
// stored orders for clicks: an order must not see one of its customer's
// delivered after it, as it would if both were stored before either was
// attributed.)
func (s *Service) writeNewTx(ctx context.Context, tx *store.Tx, batch []*job) (bool, error) {
	bo, ok := s.observer.(BatchObserver)
	if !ok || len(batch) == 0 {
		return false, nil
	}
	st := batch[0].st
	exts := make([]string, 0, len(batch))
	dids := make([]string, 0, len(batch))
	var customers []string
	for _, j := range batch {
		d := j.d
		if j.st.ID != st.ID || d.order == nil || d.rejected != nil || d.ignored != nil || len(d.refunds) > 0 ||
			slices.Contains(exts, d.order.externalID) || slices.Contains(dids, d.id) ||
			(d.order.customer != "" && slices.Contains(customers, d.order.customer)) {
			return false, nil
		}
		exts = append(exts, d.order.externalID)
		dids = append(dids, d.id)
		if d.order.customer != "" {
			customers = append(customers, d.order.customer)
		}
	}
	ids := id.NewSeq(OrderPrefix, len(batch))
	var stored []string
	if tx.Dialect() == store.Postgres {
		var n int
		var err error
		if n, stored, err = claimPG(ctx, tx, st, batch, exts, ids); err != nil || n > 0 {
			return false, err
		}
	} else {
		in, arg := store.InText(tx.Dialect(), "external_id", 3, exts)
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM orders WHERE brand_id = $1 AND channel = $2 AND `+in,
			st.BrandID, st.ID, arg).Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return false, nil
		}
		// The deliveries, each recorded as processing its new order (as
		// applyTx's record does); a delivery seen before is not inserted.
		var q strings.Builder
		q.WriteString(`INSERT INTO webhook_deliveries (store_id, delivery_id, event_id, topic, received_at, outcome, order_id) VALUES `)
		args := make([]any, 0, 7*len(batch))
		for i, j := range batch {
			if i > 0 {
				q.WriteByte(',')
			}
			k := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7)
			args = append(args, st.ID, j.d.id, j.d.event, j.d.topic, j.now, OutcomeProcessed, ids[i])
		}
		q.WriteString(` ON CONFLICT (store_id, delivery_id) DO NOTHING RETURNING delivery_id`)
		var err error
		if stored, err = store.QueryAll(ctx, tx, func(r store.Scanner) (string, error) {
			var v string
			err := r.Scan(&v)
			return v, err
		}, q.String(), args...); err != nil {
			return false, err
		}
	}
	var fresh []int // of batch, in order
	var rows [][]any
	var keys []int64
	for i, j := range batch {
		if !slices.Contains(stored, j.d.id) {
			j.rc = Receipt{Outcome: OutcomeDuplicate}
			continue
		}
		fresh = append(fresh, i)
		o := j.d.order
		rows = append(rows, []any{ids[i], st.BrandID, st.ID, st.Platform, o.externalID, o.amount.Micros, string(o.amount.Currency),
			codesJSON(o.codes), o.customer, o.clickID, o.status, int64(o.placedAt), int64(j.now), int64(o.updatedAt), "", o.tax, o.shipping,
			o.email, normEmail(o.email), o.visitor})
		h := fnv.New64a()
		fmt.Fprintf(h, "pending_refunds|%s|%s", st.ID, o.externalID)
		keys = append(keys, int64(h.Sum64()))
	}
	if len(fresh) == 0 {
		return true, nil
	}
	// As applyTx does for a new order: under the order key's lock (see
	// lockOrderKey), the refunds that arrived before it. On PostgreSQL the
	// orders are inserted and their keys locked in one statement (one
	// round trip); the refunds are read by the next, which sees what a
	// refund that held a lock committed.
	if tx.Dialect() == store.Postgres {
		slices.Sort(keys)
		ins, args, err := pgbatch.Insert("orders", orderInsertCols, orderInsertTypes, 1, rows)
		if err != nil {
			return false, err
		}
		args = append(args, keys)
		if _, err := tx.ExecContext(ctx, `WITH o AS (`+ins+fmt.Sprintf(`) SELECT pg_advisory_xact_lock(k) FROM unnest($%d::bigint[]) AS k`, len(args)),
			args...); err != nil {
			return false, fmt.Errorf("insert orders: %w", err)
		}
	} else if err := tx.InsertBatch(ctx, "orders", orderInsertCols, rows); err != nil {
		return false, err
	}
	freshExts := make([]string, len(fresh))
	for n, i := range fresh {
		freshExts[n] = batch[i].d.order.externalID
	}
	in, arg := store.InText(tx.Dialect(), "order_ext", 2, freshExts)
	type waiting struct {
		ext string
		r   incomingRefund
	}
	ws, err := store.QueryAll(ctx, tx, func(r store.Scanner) (waiting, error) {
		var x waiting
		var c string
		err := r.Scan(&x.ext, &x.r.id, &x.r.amount.Micros, &c, &x.r.createdAt)
		x.r.amount.Currency = money.Currency(c)
		return x, err
	}, `SELECT order_ext, refund_id, amount, currency, created_at FROM pending_refunds WHERE store_id = $1 AND `+in+`
		ORDER BY created_at, refund_id`, st.ID, arg)
	if err != nil {
		return false, err
	}
	news := make([]NewOrder, 0, len(fresh))
	for _, i := range fresh {
		j := batch[i]
		var refunds []incomingRefund
		if slices.ContainsFunc(ws, func(x waiting) bool { return x.ext == j.d.order.externalID }) {
			if refunds, err = takePending(ctx, tx, st.ID, j.d.order.externalID, j.d.order.amount.Currency); err != nil {
				return false, err
			}
		}
		o, err := s.storeNew(ctx, tx, st, ids[i], *j.d.order, refunds, j.now)
		if err != nil {
			return false, err
		}
		j.rc = Receipt{Outcome: OutcomeProcessed, OrderID: ids[i]}
		news = append(news, NewOrder{Order: o, BrandID: st.BrandID})
	}
	return true, bo.NewOrdersTx(ctx, tx, news)
}

// orderInsertCols are the columns upsertOrder inserts of a new order.
var orderInsertCols = []string{"id", "brand_id", "channel", "source", "external_id", "amount", "currency", "discount_codes",
	"customer_id", "click_id", "status", "placed_at", "received_at", "updated_at", "request_hash", "tax", "shipping",
	"customer_email", "customer_email_norm", "customer_visitor"}

// claimPG is, on PostgreSQL, writeNewTx's first two statements in one
// round trip: it counts the batch's orders already stored (exts) and,
// when there are none, inserts the deliveries, each recorded as processing
// its new order ids[i] (as applyTx's record does); a delivery seen before
// is not inserted. It returns the count and the ids of the deliveries
// inserted.
func claimPG(ctx context.Context, tx *store.Tx, st Store, batch []*job, exts, ids []string) (int, []string, error) {
	rows := make([][]any, len(batch))
	for i, j := range batch {
		rows[i] = []any{st.ID, j.d.id, j.d.event, j.d.topic, int64(j.now), OutcomeProcessed, ids[i]}
	}
	ins, args, err := pgbatch.Insert("webhook_deliveries", deliveryInsertCols, deliveryInsertTypes, 4, rows)
	if err != nil {
		return 0, nil, err
	}
	q := `WITH n AS (SELECT COUNT(*) AS n FROM orders WHERE brand_id = $1 AND channel = $2 AND external_id = ANY($3::text[])),
		d AS (` + ins + ` WHERE (SELECT n FROM n) = 0 ON CONFLICT (store_id, delivery_id) DO NOTHING RETURNING delivery_id)
		SELECT n, '' FROM n UNION ALL SELECT 0, delivery_id FROM d`
	type row struct {
		n  int
		id string
	}
	rs, err := store.QueryAll(ctx, tx, func(r store.Scanner) (row, error) {
		var x row
		err := r.Scan(&x.n, &x.id)
		return x, err
	}, q, append([]any{st.BrandID, st.ID, exts}, args...)...)
	if err != nil {
		return 0, nil, fmt.Errorf("claim deliveries: %w", err)
	}
	n := 0
	var stored []string
	for _, x := range rs {
		if x.id == "" {
			n = x.n
		} else {
			stored = append(stored, x.id)
		}
	}
	return n, stored, nil
}

// deliveryInsertCols are the columns writeNewTx inserts of a delivery,
// and deliveryInsertTypes their PostgreSQL types.
var (
	deliveryInsertCols  = []string{"store_id", "delivery_id", "event_id", "topic", "received_at", "outcome", "order_id"}
	deliveryInsertTypes = []string{pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Bigint, pgbatch.Text, pgbatch.Text}
)

// orderInsertTypes are the PostgreSQL types of orderInsertCols.
var orderInsertTypes = []string{pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Bigint, pgbatch.Text,
	pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Text, pgbatch.Bigint, pgbatch.Bigint, pgbatch.Bigint, pgbatch.Text, pgbatch.Bigint,
	pgbatch.Bigint, pgbatch.Text, pgbatch.Text, pgbatch.Text}

// linger waits, after a batch of last deliveries, until the deliveries
// queued meanwhile are joined by as many again (the senders just answered
// coming back), or wait passes, or the batch would be full, so that
// the next transaction carries more deliveries: a batch's statements cost
// much the same for 2 deliveries as for 16. It is a group commit's commit
// delay (PostgreSQL's commit_delay). The leader lingers only after a batch
// of more than one delivery (last > 1), so deliveries that come one at a
// time never wait; but one arriving alone just after such a batch waits
// up to half that batch's transaction time (at most maxLinger) before its
// own transaction starts. Every delivery is still answered only after its
// transaction commits.
func (b *batcher) linger(last int, wait time.Duration) {
	b.mu.Lock()
	want := min(len(b.queue)+last, maxBatch)
	b.mu.Unlock()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		b.mu.Lock()
		n := len(b.queue)
		b.mu.Unlock()
		if n >= want {
			return
		}
		select {
		case <-b.more:
		case <-timer.C:
			return
		}
	}
}
