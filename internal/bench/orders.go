package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store"
)

// OrdersOptions configure "payper bench orders".
type OrdersOptions struct {
	DBURL    string // "" = temporary SQLite; postgres://… = temporary schema there
	Orders   int    // orders each side receives per round and sender count
	Rounds   int    // rounds per side and sender count, alternating bare and payper
	Creators int    // creators with a discount code; the orders use their codes in turn
	// Senders are the concurrent senders measured; the ratio is taken at
	// the last.
	Senders []int
}

// DefaultOrdersOptions are the defaults of "payper bench orders".
var DefaultOrdersOptions = OrdersOptions{Orders: 400, Rounds: 3, Creators: 8, Senders: []int{1, 16}}

// OrdersLoad is what one side measured at one sender count.
type OrdersLoad struct {
	Orders int
	// Acked is orders answered 200 per second (first send to last answer);
	// Processed is orders stored, attributed and paid per second (first
	// send to the last order done). The bare handler's are the same.
	Acked, Processed float64
	P50, P99         time.Duration
}

// OrdersResult holds the figures of one run, per sender count.
type OrdersResult struct {
	Senders       []int
	Bare, Payper  []OrdersLoad
	Conversions   int // orders attributed with both payments, in all rounds
	Commission    int64
	CommissionDue int64
	Ratio         float64 // payper processed ÷ bare, at the last sender count
}

// Orders measures payper's Shopify order intake — signed orders/create
// webhooks of one campaign's discount codes, each stored, attributed to the
// code's creator and paid (commission and CPA through the ledger) — against
// a bare handler that checks the same HMAC and inserts the raw body into a
// table of the same database, both on loopback HTTP servers driven by the
// same senders, alternating rounds. The payper clock runs from the first
// send until the last order of the round is processed, checked in the
// database: a round fails unless every order it sent is a conversion with
// its commission and CPA paid. Its last line is "ratio: X.XX" = payper ÷
// bare processed orders/s at the last sender count.
func Orders(ctx context.Context, out io.Writer, opt OrdersOptions) (OrdersResult, error) {
	var res OrdersResult
	if opt.Orders < 1 || opt.Rounds < 1 || opt.Creators < 1 || len(opt.Senders) == 0 {
		return res, fmt.Errorf("bench orders: orders, rounds, creators and senders must be at least 1")
	}
	for _, s := range opt.Senders {
		if s < 1 {
			return res, fmt.Errorf("bench orders: senders must be at least 1")
		}
	}
	u, desc, drop, err := TempURL(ctx, opt.DBURL)
	if err != nil {
		return res, err
	}
	defer drop()
	env, err := demo.Start(ctx, u, time.Now().UTC(), engage.Config{}, nil)
	if err != nil {
		return res, err
	}
	defer env.Close()
	a := env.App
	if a.DB.Dialect() == store.Postgres {
		var version string
		_ = a.DB.Read().QueryRowContext(ctx, "SHOW server_version").Scan(&version)
		desc = "PostgreSQL " + version + " " + desc
	}
	fmt.Fprintf(out, "payper bench orders\nmachine:  %s\ndatabase: %s\n", Machine(), desc)
	fmt.Fprintf(out, "load:     %d signed Shopify orders/create per round and side, %d rounds, senders %v, %d creators' codes\n",
		opt.Orders, opt.Rounds, opt.Senders, opt.Creators)

	seed, err := seedOrders(ctx, env, opt.Creators)
	if err != nil {
		return res, err
	}
	if _, err := a.DB.Writer().ExecContext(ctx, `CREATE TABLE bench_raw_webhooks (delivery_id TEXT PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		return res, fmt.Errorf("bench orders: baseline table: %w", err)
	}
	// The bare handler: the same body limit and HMAC check, the raw body
	// inserted, 200.
	bare, stopBare, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, orders.MaxWebhookBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := orders.Verify(shopSecret, body, r.Header.Get("X-Shopify-Hmac-Sha256")); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if _, err := a.DB.Writer().ExecContext(r.Context(), `INSERT INTO bench_raw_webhooks (delivery_id, body) VALUES ($1, $2)`,
			r.Header.Get("X-Shopify-Webhook-Id"), string(body)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"outcome":"stored"}`))
	}))
	if err != nil {
		return res, err
	}
	defer stopBare()
	payperURL := env.URL + orders.WebhookPath + orders.Shopify + "/" + seed.storeID

	gen := &orderGen{rng: rand.New(rand.NewPCG(2026, 12)), codes: seed.codes}
	// Warm both sides up (connections, statement caches) with 2 % of a
	// round; these orders are checked with the rest.
	warm := max(opt.Orders/50, 1)
	maxSenders := 0
	for _, s := range opt.Senders {
		maxSenders = max(maxSenders, s)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * maxSenders, MaxIdleConnsPerHost: 2 * maxSenders, DisableCompression: true,
		IdleConnTimeout: time.Minute}}
	defer client.CloseIdleConnections()
	sent := 0
	if _, err := sendOrders(ctx, client, bare, gen.batch(warm), maxSenders, false); err != nil {
		return res, err
	}
	wb := gen.batch(warm)
	if _, err := sendOrders(ctx, client, payperURL, wb, maxSenders, true); err != nil {
		return res, err
	}
	res.CommissionDue += due(wb)
	sent += warm
	res.Senders = opt.Senders
	for _, s := range opt.Senders {
		var bareRuns, payRuns []ordersRun
		for range opt.Rounds {
			b, err := sendOrders(ctx, client, bare, gen.batch(opt.Orders), s, false)
			if err != nil {
				return res, err
			}
			batch := gen.batch(opt.Orders)
			p, err := sendOrders(ctx, client, payperURL, batch, s, true)
			if err != nil {
				return res, err
			}
			// Processing is done in the request today: the check finds
			// every order of the round done when the last answer came.
			// Were it moved off the request path, the clock would stop
			// at the first check that finds them all.
			done, err := waitProcessed(ctx, a.DB, batch, p.start)
			if err != nil {
				return res, err
			}
			if done.After(p.done) {
				p.done = done
			}
			sent += len(batch)
			res.CommissionDue += due(batch)
			bareRuns, payRuns = append(bareRuns, b), append(payRuns, p)
		}
		res.Bare, res.Payper = append(res.Bare, mergeOrders(bareRuns)), append(res.Payper, mergeOrders(payRuns))
	}

	// Every order payper acknowledged is a conversion with its commission
	// (10 % of the total, floored to the micro-unit) and its CPA paid.
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM conversions c WHERE c.campaign_id = $1
		AND EXISTS (SELECT 1 FROM earnings e WHERE e.source_id = c.order_id AND e.kind = 'commission')
		AND EXISTS (SELECT 1 FROM earnings e WHERE e.source_id = c.order_id AND e.kind = 'cpa')`, seed.campaignID).Scan(&res.Conversions); err != nil {
		return res, fmt.Errorf("bench orders: count conversions: %w", err)
	}
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COALESCE(SUM(gross), 0) FROM earnings WHERE campaign_id = $1 AND kind = 'commission'`,
		seed.campaignID).Scan(&res.Commission); err != nil {
		return res, fmt.Errorf("bench orders: sum commissions: %w", err)
	}
	var raw int
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM bench_raw_webhooks`).Scan(&raw); err != nil {
		return res, fmt.Errorf("bench orders: count raw: %w", err)
	}
	batches, deliveries := a.Orders.BatchStats()
	fmt.Fprintf(out, "payper wrote %d deliveries in %d transactions (%.1f a transaction)\n", deliveries, batches, float64(deliveries)/float64(max(batches, 1)))
	for i, s := range res.Senders {
		b, p := res.Bare[i], res.Payper[i]
		fmt.Fprintf(out, "senders %2d: bare HMAC + insert %7.0f orders/s (p50 %6.2f ms, p99 %6.2f ms)   payper acked %7.0f/s, processed %7.0f/s (p50 %6.2f ms, p99 %6.2f ms)   %.2f\n",
			s, b.Processed, ms(b.P50), ms(b.P99), p.Acked, p.Processed, ms(p.P50), ms(p.P99), p.Processed/b.Processed)
	}
	fmt.Fprintf(out, "checked:    %d of %d orders sent to payper are conversions with commission and CPA paid; commissions %s, due %s; %d raw bodies stored by the bare handler\n",
		res.Conversions, sent, money.FormatMicros(res.Commission), money.FormatMicros(res.CommissionDue), raw)
	if res.Conversions != sent || res.Commission != res.CommissionDue {
		return res, fmt.Errorf("bench orders: %d of %d orders processed, commissions %d of %d due", res.Conversions, sent, res.Commission, res.CommissionDue)
	}
	last := len(res.Senders) - 1
	res.Ratio = res.Payper[last].Processed / res.Bare[last].Processed
	fmt.Fprintf(out, "ratio: %.2f\n", res.Ratio)
	return res, nil
}

const shopSecret = "shpss_bench_0123456789abcdef0123456789"

type ordersSeed struct {
	storeID, campaignID string
	codes               []string
}

// seedOrders makes a brand with a Shopify store, an open campaign paying
// 10 % commission and a €0.50 CPA from a large budget, and creators
// connected, accepted and given a discount code, through the services.
func seedOrders(ctx context.Context, env *demo.Env, creators int) (ordersSeed, error) {
	var s ordersSeed
	a := env.App
	b, _, err := a.Identity.CreateBrand(ctx, "Bench brand")
	if err != nil {
		return s, err
	}
	brand := identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
	camp, err := a.Campaigns.Create(ctx, brand, campaign.Draft{Name: "Bench orders", Budget: money.New(100_000_000*money.Scale, money.EUR)})
	if err != nil {
		return s, err
	}
	s.campaignID = camp.ID
	now := env.Clock.Now()
	setup := campaign.Setup{Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 2 * money.Scale},
		Brief:  campaign.Brief{Product: "Bench", Message: "Bench", LandingURL: "https://bench.example"},
		Prices: campaign.Prices{Like: 10_000}, Performance: campaign.Performance{CommissionBps: 1000, CPA: money.Scale / 2},
		StartsAt: now, EndsAt: now.Add(365 * 24 * time.Hour),
		Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox}}}
	if _, err := a.Campaigns.Configure(ctx, brand, camp.ID, setup); err != nil {
		return s, err
	}
	if _, err := a.Campaigns.Fund(ctx, brand, camp.ID, campaign.FundInput{Reference: "bench"}); err != nil {
		return s, err
	}
	if _, err := a.Campaigns.Transition(ctx, brand, camp.ID, campaign.ActionOpen); err != nil {
		return s, err
	}
	for i := range creators {
		handle := fmt.Sprintf("bench_%04d", i)
		c, _, err := a.Identity.CreateCreator(ctx, handle, "DE")
		if err != nil {
			return s, err
		}
		p := identity.Principal{Role: identity.RoleCreator, SubjectID: c.ID}
		if _, err := a.Sandbox.CreateAccount(ctx, handle, 5_000); err != nil {
			return s, err
		}
		if _, err := env.Connect(ctx, p, handle); err != nil {
			return s, err
		}
		ap, err := a.Market.Apply(ctx, p, camp.ID, "bench")
		if err != nil {
			return s, err
		}
		if _, err := a.Market.Decide(ctx, brand, ap.ID, true); err != nil {
			return s, err
		}
		code, err := a.Attrib.CreateCode(ctx, brand, camp.ID, attrib.CodeDraft{CreatorID: c.ID, Code: fmt.Sprintf("BENCH%04d", i)})
		if err != nil {
			return s, err
		}
		s.codes = append(s.codes, code.Code)
	}
	st, err := a.Orders.ConnectStore(ctx, brand, orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "bench.myshopify.com", WebhookSecret: shopSecret})
	if err != nil {
		return s, err
	}
	s.storeID = st.ID
	return s, nil
}

// orderGen makes signed orders/create deliveries, each a new order using
// one of the codes in turn.
type orderGen struct {
	rng   *rand.Rand
	codes []string
	n     int
}

// due adds up the commission ds are due.
func due(ds []delivery) int64 {
	var sum int64
	for _, d := range ds {
		sum += d.commission
	}
	return sum
}

type delivery struct {
	id, externalID string
	body           []byte
	sig            string
	commission     int64 // 10 % of the total, floored
}

func (g *orderGen) batch(n int) []delivery {
	out := make([]delivery, n)
	for i := range out {
		g.n++
		micros := (10 + g.rng.Int64N(190)) * money.Scale / 100 * 100 // 10.00 … 199.00
		micros += g.rng.Int64N(100) * money.Scale / 100              // and cents
		ext := fmt.Sprintf("%d", 5_000_000_000+g.n)
		body := fmt.Appendf(nil, `{"id":%s,"name":"#%d","created_at":%q,"updated_at":%q,"currency":"EUR","total_price":%q,`+
			`"subtotal_price":%q,"financial_status":"paid","discount_codes":[{"code":%q,"amount":"0.00","type":"percentage"}],`+
			`"customer":{"id":%d},"line_items":[{"id":%d,"title":"Glow serum","quantity":1,"price":%q}]}`,
			ext, g.n, time.Now().UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339), money.FormatMicros(micros),
			money.FormatMicros(micros), strings.ToLower(g.codes[g.n%len(g.codes)]), 7_000_000+g.n, 9_000_000+g.n, money.FormatMicros(micros))
		out[i] = delivery{id: fmt.Sprintf("bench-%d", g.n), externalID: ext, body: body, sig: orders.Sign(shopSecret, body),
			commission: money.FloorBps(micros, 1000)}
	}
	return out
}

type ordersRun struct {
	n           int
	start, done time.Time
	acked       time.Duration
	lat         []time.Duration
}

// sendOrders posts the deliveries from senders goroutines, each taking the
// next, and returns when all are answered. Payper's answers must be
// "processed".
func sendOrders(ctx context.Context, client *http.Client, url string, ds []delivery, senders int, payper bool) (ordersRun, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	lat := make([]time.Duration, len(ds))
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ds) || ctx.Err() != nil {
					return
				}
				d := ds[i]
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(d.body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Shopify-Topic", orders.TopicShopifyOrderCreate)
				req.Header.Set("X-Shopify-Hmac-Sha256", d.sig)
				req.Header.Set("X-Shopify-Shop-Domain", "bench.myshopify.com")
				req.Header.Set("X-Shopify-Webhook-Id", d.id)
				req.Header.Set("X-Shopify-Event-Id", "evt-"+d.id)
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || (payper && !bytes.Contains(b, []byte(`"outcome":"processed"`))) {
						err = fmt.Errorf("%s answered %d %s", url, resp.StatusCode, b)
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return ordersRun{}, fmt.Errorf("bench orders: %w", firstErr)
	}
	done := time.Now()
	return ordersRun{n: len(ds), start: start, done: done, acked: done.Sub(start), lat: lat}, nil
}

// waitProcessed polls until every order of ds is stored, attributed and
// paid (a conversion with commission and CPA earnings), and returns when
// that was first seen.
func waitProcessed(ctx context.Context, db *store.DB, ds []delivery, since time.Time) (time.Time, error) {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.externalID
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var n int
		in, arg := store.InText(db.Dialect(), "o.external_id", 1, ids)
		err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM orders o JOIN conversions c ON c.order_id = o.id
			WHERE `+in+` AND EXISTS (SELECT 1 FROM earnings e WHERE e.source_id = o.id AND e.kind = 'commission')
			AND EXISTS (SELECT 1 FROM earnings e WHERE e.source_id = o.id AND e.kind = 'cpa')`, arg).Scan(&n)
		if err != nil {
			return time.Time{}, fmt.Errorf("bench orders: check processed: %w", err)
		}
		now := time.Now()
		if n == len(ds) {
			return now, nil
		}
		if now.After(deadline) {
			return time.Time{}, fmt.Errorf("bench orders: %d of %d orders processed %s after the round began", n, len(ds), now.Sub(since).Round(time.Second))
		}
		time.Sleep(time.Millisecond)
	}
}

func mergeOrders(runs []ordersRun) OrdersLoad {
	var l OrdersLoad
	var acked, processed time.Duration
	var lat []time.Duration
	for _, r := range runs {
		l.Orders += r.n
		acked += r.acked
		processed += r.done.Sub(r.start)
		lat = append(lat, r.lat...)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		l.P50 = lat[len(lat)/2]
		l.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	l.Acked = perSec(l.Orders, acked)
	l.Processed = perSec(l.Orders, processed)
	return l
}
