package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/payper/payper/internal/app"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// RedirectOptions configure "payper bench redirect".
type RedirectOptions struct {
	DBURL       string        // "" = temporary SQLite; postgres://… = temporary schema there
	Duration    time.Duration // per measured phase
	Concurrency int           // concurrent keep-alive connections of the load generator
}

// DefaultRedirectOptions are the defaults of "payper bench redirect".
var DefaultRedirectOptions = RedirectOptions{Duration: 5 * time.Second, Concurrency: 32}

// RedirectResult holds the figures of one run.
type RedirectResult struct {
	Bare, Payper Load
	// Half is payper at half the bare maximum rate; BareHalf the bare
	// handler at the same rate (what the machine and the load generator
	// alone give).
	Half, BareHalf Load
	// HalfRate is the offered rate of the Half phase, requests/s.
	HalfRate float64
	// Clicks is how many clicks the database holds after the flush; it
	// equals the redirects payper answered.
	Clicks int64
	Ratio  float64 // Payper.RPS ÷ Bare.RPS
}

// Load is what one load phase measured.
type Load struct {
	Requests int
	RPS      float64
	P50, P99 time.Duration
}

// Redirect measures payper's /r/{slug} (click capture included) against a
// bare net/http handler answering the same 302, both on loopback listeners
// driven by the same keep-alive load generator in this process, alternating
// two rounds each; then payper alone at half the bare maximum rate (p99
// measured from each request's scheduled time, so queueing counts), after
// the bare handler at that rate for comparison. It
// flushes the click recorder and fails unless every redirect payper
// answered is a click in the database. Its last line is "ratio: X.XX" =
// payper ÷ bare throughput.
func Redirect(ctx context.Context, out io.Writer, opt RedirectOptions) (RedirectResult, error) {
	var res RedirectResult
	if opt.Duration <= 0 || opt.Concurrency < 1 {
		return res, fmt.Errorf("bench redirect: duration and concurrency must be positive")
	}
	u, desc, drop, err := TempURL(ctx, opt.DBURL)
	if err != nil {
		return res, err
	}
	defer drop()
	a, err := app.Open(ctx, app.Config{DatabaseURL: u, AdminToken: id.Secret(16), NoPeriodicJobs: true, PublicURL: "http://127.0.0.1",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return res, err
	}
	defer a.Close()
	if a.DB.Dialect() == store.Postgres {
		var version string
		_ = a.DB.Read().QueryRowContext(ctx, "SHOW server_version").Scan(&version)
		desc = "PostgreSQL " + version + " " + desc
	}
	fmt.Fprintf(out, "payper bench redirect\nmachine:  %s\ndatabase: %s\nload:     %d keep-alive connections, %s per phase\n", Machine(), desc, opt.Concurrency, opt.Duration)

	slug, err := seedLink(ctx, a)
	if err != nil {
		return res, err
	}
	payper, stopPayper, err := serve(a.Handler)
	if err != nil {
		return res, err
	}
	defer stopPayper()
	// The bare handler answers what payper answers for this link, without
	// resolving, recording or metrics.
	l, err := a.Links.Resolve(ctx, slug)
	if err != nil {
		return res, err
	}
	loc := links.Destination(l, "0123456789abcdef", "")
	bare, stopBare, err := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Location"] = []string{loc}
		h["Cache-Control"] = []string{"no-store"}
		h["Referrer-Policy"] = []string{"strict-origin-when-cross-origin"}
		w.WriteHeader(http.StatusFound)
	}))
	if err != nil {
		return res, err
	}
	defer stopBare()

	gen := newLoadGen(opt.Concurrency)
	defer gen.close()
	var payperSent int
	warm := min(opt.Duration/5, time.Second)
	if _, err := gen.run(ctx, bare+"/r/"+slug, warm, 0); err != nil {
		return res, err
	}
	w, err := gen.run(ctx, payper+"/r/"+slug, warm, 0)
	if err != nil {
		return res, err
	}
	payperSent += w.n
	var bareRuns, payRuns []run
	for range 2 {
		b, err := gen.run(ctx, bare+"/r/"+slug, opt.Duration/2, 0)
		if err != nil {
			return res, err
		}
		p, err := gen.run(ctx, payper+"/r/"+slug, opt.Duration/2, 0)
		if err != nil {
			return res, err
		}
		bareRuns, payRuns = append(bareRuns, b), append(payRuns, p)
		payperSent += p.n
	}
	res.Bare, res.Payper = merge(bareRuns), merge(payRuns)
	res.HalfRate = res.Bare.RPS / 2
	bh, err := gen.run(ctx, bare+"/r/"+slug, opt.Duration, res.HalfRate)
	if err != nil {
		return res, err
	}
	h, err := gen.run(ctx, payper+"/r/"+slug, opt.Duration, res.HalfRate)
	if err != nil {
		return res, err
	}
	payperSent += h.n
	res.Half, res.BareHalf = merge([]run{h}), merge([]run{bh})
	res.Ratio = res.Payper.RPS / res.Bare.RPS

	fctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	flushStart := time.Now()
	if err := a.Links.Recorder.Flush(fctx); err != nil {
		return res, err
	}
	flushTook := time.Since(flushStart)
	if err := a.DB.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM clicks`).Scan(&res.Clicks); err != nil {
		return res, fmt.Errorf("bench redirect: count clicks: %w", err)
	}
	show := func(name string, l Load) {
		fmt.Fprintf(out, "%-28s %9.0f redirects/s   p50 %7.3f ms   p99 %7.3f ms   (%d requests)\n", name, l.RPS,
			ms(l.P50), ms(l.P99), l.Requests)
	}
	show("bare net/http 302:", res.Bare)
	show("payper /r/{slug} + clicks:", res.Payper)
	show(fmt.Sprintf("bare at %.0f/s (half):", res.HalfRate), res.BareHalf)
	show(fmt.Sprintf("payper at %.0f/s (half):", res.HalfRate), res.Half)
	fmt.Fprintf(out, "clicks in the database:      %d of %d redirects (dropped %d; last flush %.1f ms)\n",
		res.Clicks, payperSent, a.Links.Recorder.Dropped(), ms(flushTook))
	if res.Clicks != int64(payperSent) {
		return res, fmt.Errorf("bench redirect: %d clicks in the database after the flush, want %d", res.Clicks, payperSent)
	}
	fmt.Fprintf(out, "ratio: %.2f\n", res.Ratio)
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// seedLink makes a brand, a campaign and a creator through the services and
// inserts one link for them directly (creating it through links.Create
// would need an open campaign and an accepted application, which the
// redirect does not look at). It returns the slug.
func seedLink(ctx context.Context, a *app.App) (string, error) {
	b, _, err := a.Identity.CreateBrand(ctx, "Bench brand")
	if err != nil {
		return "", err
	}
	c, _, err := a.Identity.CreateCreator(ctx, "bench", "DE")
	if err != nil {
		return "", err
	}
	camp, err := a.Campaigns.Create(ctx, identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID},
		campaign.Draft{Name: "Bench Summer", Budget: money.New(1000*money.Scale, money.EUR)})
	if err != nil {
		return "", err
	}
	slug := id.Secret(5)
	err = a.DB.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO links (id, slug, campaign_id, creator_id, placement, medium, destination, utm_source, utm_campaign, created_at)
			VALUES ($1, $2, $3, $4, 'bio', 'influencer', 'https://shop.example/summer?ref=payper', 'bench', $5, 0)`,
			id.New(links.Prefix), slug, camp.ID, c.ID, links.CampaignSlug(camp.Name))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("bench redirect: insert link: %w", err)
	}
	return slug, nil
}

// serve serves h on a loopback port and returns its base URL.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("bench redirect: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// loadGen drives a URL from n goroutines over n keep-alive connections.
type loadGen struct {
	n      int
	client *http.Client
	tr     *http.Transport
}

func newLoadGen(n int) *loadGen {
	tr := &http.Transport{MaxIdleConns: 4 * n, MaxIdleConnsPerHost: 2 * n, MaxConnsPerHost: n, DisableCompression: true,
		IdleConnTimeout: time.Minute}
	return &loadGen{n: n, tr: tr, client: &http.Client{Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (g *loadGen) close() { g.tr.CloseIdleConnections() }

type run struct {
	n   int
	d   time.Duration
	lat []time.Duration
}

// userAgents are what the load's "browsers" send: a few, so the unique
// window's map stays small and most clicks are repeats.
var userAgents = []string{
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
}

// run requests url for d from g.n workers. rate 0 means as fast as
// possible (closed loop, latency from send to answer); otherwise requests
// are scheduled at rate per second in all, and latency runs from each
// request's scheduled time.
func (g *loadGen) run(ctx context.Context, url string, d time.Duration, rate float64) (run, error) {
	var mu sync.Mutex
	var all []time.Duration
	var firstErr error
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := range g.n {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1<<14)
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			req.Header.Set("User-Agent", userAgents[w%len(userAgents)])
			req.Header.Set("Referer", "https://www.instagram.com/")
			var interval time.Duration
			next := start
			if rate > 0 {
				interval = time.Duration(float64(time.Second) * float64(g.n) / rate)
				next = start.Add(interval * time.Duration(w) / time.Duration(g.n))
			}
			for {
				var t0 time.Time
				if rate > 0 {
					if next.After(end) {
						break
					}
					if wait := time.Until(next); wait > 0 {
						time.Sleep(wait)
					}
					t0 = next
					next = next.Add(interval)
				} else {
					t0 = time.Now()
					if !t0.Before(end) {
						break
					}
				}
				resp, err := g.client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusFound {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					firstErr = errors.Join(firstErr, err)
					mu.Unlock()
					break
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if firstErr != nil {
		return run{}, fmt.Errorf("bench redirect: %w", firstErr)
	}
	return run{n: len(all), d: time.Since(start), lat: all}, nil
}

// merge sums runs into one Load.
func merge(runs []run) Load {
	var l Load
	var d time.Duration
	var lat []time.Duration
	for _, r := range runs {
		l.Requests += r.n
		d += r.d
		lat = append(lat, r.lat...)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		l.P50 = lat[len(lat)/2]
		l.P99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	if d > 0 {
		l.RPS = float64(l.Requests) / d.Seconds()
	}
	return l
}
