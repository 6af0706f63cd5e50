package payout_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store/storetest"
)

const eur = money.Scale

// fakeProvider is a payout provider that records what it is asked: it
// answers each payout id once (idempotent, as the real ones are), and can be
// told to be unavailable or to reject.
type fakeProvider struct {
	mu          sync.Mutex
	sent        map[string]payout.Transfer
	calls       int
	unavailable int // the next n sends fail with ErrUnavailable
	reject      bool
	paidAtOnce  bool
	plainFor    string // this payout's sends fail with an error of no known class
	action      int    // the next n sends fail with ErrActionRequired, the transfer made
	refOnErr    bool   // unavailable sends say the transfer exists (Sent.Ref)
	findErr     error  // FindTransfer cannot answer
}

func (f *fakeProvider) Name() string { return payout.ProviderWise }

func (f *fakeProvider) Send(_ context.Context, t payout.Transfer) (payout.Sent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.action > 0 {
		f.action--
		return payout.Sent{Ref: "tr-" + t.PayoutID}, fmt.Errorf("funding needs strong customer authentication: %w", payout.ErrActionRequired)
	}
	if f.unavailable > 0 {
		f.unavailable--
		if f.refOnErr {
			return payout.Sent{Ref: "tr-" + t.PayoutID}, fmt.Errorf("503: %w", payout.ErrUnavailable)
		}
		return payout.Sent{}, fmt.Errorf("503: %w", payout.ErrUnavailable)
	}
	if f.reject {
		return payout.Sent{}, fmt.Errorf("recipient closed: %w", payout.ErrRejected)
	}
	if t.PayoutID == f.plainFor {
		return payout.Sent{}, fmt.Errorf("unexpected answer")
	}
	if f.sent == nil {
		f.sent = map[string]payout.Transfer{}
	}
	f.sent[t.PayoutID] = t
	return payout.Sent{Ref: "tr-" + t.PayoutID, Paid: f.paidAtOnce}, nil
}

// ParseWebhook reads {"id","ref","state"} signed by a header "ok".
func (f *fakeProvider) ParseWebhook(h http.Header, body []byte) (payout.Event, error) {
	if h.Get("X-Sig") != "ok" {
		return payout.Event{}, payout.ErrBadSignature
	}
	var ev struct {
		ID, Ref, State, Reason string
		Amount                 money.Amount
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return payout.Event{}, err
	}
	return payout.Event{ID: ev.ID, Ref: ev.Ref, State: ev.State, Reason: ev.Reason, Amount: ev.Amount}, nil
}

type world struct {
	ctx      context.Context
	env      *demo.Env
	svc      *payout.Service
	prov     *fakeProvider
	creator  identity.Principal
	admin    identity.Principal
	campaign string
}

// newWorld gives a creator an available balance of avail (a campaign
// accrual, released) and a payout service with the fake provider.
func newWorld(t *testing.T, dbURL string, avail int64) *world {
	t.Helper()
	return newWorldIn(t, dbURL, avail, money.EUR)
}

// newWorldIn is newWorld with a campaign in currency cur.
func newWorldIn(t *testing.T, dbURL string, avail int64, cur money.Currency) *world {
	t.Helper()
	ctx := context.Background()
	env, err := demo.Start(ctx, dbURL, time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), engage.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	a := env.App
	b, _, err := a.Identity.CreateBrand(ctx, "Glow")
	if err != nil {
		t.Fatal(err)
	}
	brand := identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
	c, err := a.Campaigns.Create(ctx, brand, campaign.Draft{Name: "Serum", Budget: money.New(10_000*eur, cur)})
	if err != nil {
		t.Fatal(err)
	}
	setup := campaign.Setup{Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: eur},
		Brief: campaign.Brief{Product: "S", Message: "M", LandingURL: "https://glow.example"}, Prices: campaign.Prices{Like: 50_000},
		EndsAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.Platform(platform.Sandbox)}}}
	if _, err := a.Campaigns.Configure(ctx, brand, c.ID, setup); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Campaigns.Fund(ctx, brand, c.ID, campaign.FundInput{Reference: "pay-1"}); err != nil {
		t.Fatal(err)
	}
	cr, _, err := a.Identity.CreateCreator(ctx, "maria", "DE")
	if err != nil {
		t.Fatal(err)
	}
	// gross such that the net after the 10 % first-campaign fee is avail.
	gross := avail * 10 / 9
	r, err := a.Ledger.Accrue(ctx, c.ID, ledger.AccrueItem{Key: "acc-1", CreatorID: cr.ID, Amount: gross})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ledger.Release(ctx, ledger.ReleaseRequest{Key: "rel-1", CampaignID: c.ID, CreatorID: cr.ID, Amount: r.Earned}); err != nil {
		t.Fatal(err)
	}
	prov := &fakeProvider{}
	svc := payout.New(a.DB, env.Clock, a.Ledger, payout.Config{}, nil, prov)
	box, _ := secret.New([]byte("0123456789abcdef0123456789abcdef"))
	svc.SetSecretBox(box)
	return &world{ctx: ctx, env: env, svc: svc, prov: prov, creator: identity.Principal{Role: identity.RoleCreator, SubjectID: cr.ID},
		admin: identity.Principal{Role: identity.RoleAdmin}, campaign: c.ID}
}

func (w *world) balance(t *testing.T) ledger.CreatorBalance {
	t.Helper()
	b, err := w.env.App.Ledger.Balance(w.ctx, w.creator.SubjectID, money.EUR)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *world) audit(t *testing.T) {
	t.Helper()
	rep, err := w.env.App.Ledger.Audit(w.ctx)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %v %s", err, rep)
	}
}

func req(amount string, provider string) payout.Request {
	r := payout.Request{Currency: "EUR", Provider: provider}
	if amount == "all" {
		r.All = true
	} else {
		r.Amount = json.RawMessage(`{"amount":"` + amount + `","currency":"EUR"}`)
	}
	return r
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("error %v (%s), want %s", err, errs.CodeOf(err), code)
	}
}

// TestRequests: bad requests hold nothing; "all" pays whole cents and
// leaves the sub-cent rest; the available balance is never exceeded, even
// by concurrent requests.
func TestRequests(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100_004_567) // 100.004567 available
		_, err := w.svc.RequestPayout(w.ctx, w.creator, req("9.99", payout.ProviderManual))
		wantCode(t, err, "below_minimum")
		_, err = w.svc.RequestPayout(w.ctx, w.creator, req("10.005", payout.ProviderManual))
		wantCode(t, err, "not_whole_cents")
		_, err = w.svc.RequestPayout(w.ctx, w.creator, req("20", payout.ProviderWise))
		wantCode(t, err, "no_destination")
		_, err = w.svc.RequestPayout(w.ctx, w.creator, req("20", payout.ProviderStripe))
		wantCode(t, err, "not_configured")
		_, err = w.svc.RequestPayout(w.ctx, w.creator, payout.Request{Currency: "XYZ", All: true})
		wantCode(t, err, "invalid")
		_, err = w.svc.RequestPayout(w.ctx, w.creator, payout.Request{Currency: "GBP", All: true}) // nothing in GBP
		wantCode(t, err, "below_minimum")
		_, err = w.svc.RequestPayout(w.ctx, w.creator, req("100.01", payout.ProviderManual))
		wantCode(t, err, ledger.ErrInsufficientFunds)
		_, err = w.svc.RequestPayout(w.ctx, w.admin, req("20", payout.ProviderManual))
		wantCode(t, err, "forbidden")
		if b := w.balance(t); b.Available != 100_004_567 || b.PendingPayout != 0 {
			t.Fatalf("refused requests held money: %+v", b)
		}
		// Concurrent requests of 30.00 from 100.004567: three succeed.
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, insufficient := 0, 0
		for range 8 {
			wg.Go(func() {
				_, err := w.svc.RequestPayout(w.ctx, w.creator, req("30", payout.ProviderManual))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errs.CodeOf(err) == ledger.ErrInsufficientFunds:
					insufficient++
				default:
					t.Errorf("concurrent request: %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 3 || insufficient != 5 {
			t.Fatalf("%d succeeded, %d refused; want 3 and 5", ok, insufficient)
		}
		// "all" takes the whole cents of what is left: 10.00 of 10.004567.
		po, err := w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderManual))
		if err != nil || po.Amount.Micros != 10*eur {
			t.Fatalf("all: %+v %v", po, err)
		}
		if b := w.balance(t); b.Available != 4_567 || b.PendingPayout != 100*eur {
			t.Fatalf("after all: %+v", b)
		}
		_, err = w.svc.RequestPayout(w.ctx, w.creator, req("all", payout.ProviderManual))
		wantCode(t, err, "below_minimum")
		w.audit(t)
	})
}

// TestLifecycle: a provider payout is claimed and sent once even when the
// provider is unavailable at first; a webhook pays it (redeliveries and bad
// signatures change nothing); a rejected one fails with the money back;
// cancel works only before sending; manual payouts are exported and marked.
func TestLifecycle(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 200*eur)
		p1 := w.requestWise(t, "50")
		w.prov.unavailable = 2
		for range 3 {
			if _, err := w.svc.Process(w.ctx); err != nil {
				t.Fatal(err)
			}
			w.env.Clock.Advance(time.Hour) // past the retry backoff
		}
		if len(w.prov.sent) != 1 || w.prov.calls != 3 {
			t.Fatalf("sent %d distinct in %d calls, want 1 in 3", len(w.prov.sent), w.prov.calls)
		}
		if _, err := w.svc.Cancel(w.ctx, w.creator, p1.ID); errs.CodeOf(err) != "not_cancelable" {
			t.Fatalf("cancel after sending: %v", err)
		}
		list, _ := w.svc.List(w.ctx, w.creator, "")
		if list[0].State != payout.StateProcessing || list[0].ProviderRef != "tr-"+p1.ID {
			t.Fatalf("after sending: %+v", list[0])
		}
		hook := func(sig, body string) error {
			h := http.Header{}
			h.Set("X-Sig", sig)
			return w.svc.Webhook(w.ctx, payout.ProviderWise, h, []byte(body))
		}
		if err := hook("bad", `{"id":"e1","ref":"tr-`+p1.ID+`","state":"paid"}`); errs.CodeOf(err) != "bad_signature" {
			t.Fatalf("bad signature: %v", err)
		}
		for range 2 {
			if err := hook("ok", `{"id":"e1","ref":"tr-`+p1.ID+`","state":"paid"}`); err != nil {
				t.Fatal(err)
			}
		}
		// A later "failed" event for a paid payout changes nothing.
		if err := hook("ok", `{"id":"e2","ref":"tr-`+p1.ID+`","state":"failed"}`); err != nil {
			t.Fatal(err)
		}
		if b := w.balance(t); b.PaidOut != 50*eur || b.Available != 150*eur || b.PendingPayout != 0 {
			t.Fatalf("after paid: %+v", b)
		}
		// Rejected: failed, money back.
		p2, _ := w.svc.RequestPayout(w.ctx, w.creator, req("40", payout.ProviderWise))
		w.prov.reject = true
		if _, err := w.svc.Process(w.ctx); err != nil {
			t.Fatal(err)
		}
		list, _ = w.svc.List(w.ctx, w.creator, payout.StateFailed)
		if len(list) != 1 || list[0].ID != p2.ID || !strings.Contains(list[0].Reason, "recipient closed") {
			t.Fatalf("failed payouts %+v", list)
		}
		// Canceled before sending.
		w.prov.reject = false
		p3, _ := w.svc.RequestPayout(w.ctx, w.creator, req("25", payout.ProviderWise))
		if _, err := w.svc.Cancel(w.ctx, w.creator, p3.ID); err != nil {
			t.Fatal(err)
		}
		if b := w.balance(t); b.Available != 150*eur || b.PendingPayout != 0 {
			t.Fatalf("after failed and canceled: %+v", b)
		}
		// A payout the provider answers oddly stays processing and does
		// not hold up the next one.
		p4, _ := w.svc.RequestPayout(w.ctx, w.creator, req("10", payout.ProviderWise))
		p5, _ := w.svc.RequestPayout(w.ctx, w.creator, req("11", payout.ProviderWise))
		w.prov.plainFor = p4.ID
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("process with one odd payout: sent %d, %v", n, err)
		}
		states := map[string]payout.Payout{}
		all, _ := w.svc.List(w.ctx, w.creator, "")
		for _, p := range all {
			states[p.ID] = p
		}
		if states[p4.ID].State != payout.StateProcessing || states[p4.ID].ProviderRef != "" || states[p5.ID].ProviderRef != "tr-"+p5.ID {
			t.Fatalf("odd payout %+v, next one %+v", states[p4.ID], states[p5.ID])
		}
		w.prov.plainFor = ""
		if n, err := w.svc.Process(w.ctx); err != nil || n != 0 {
			t.Fatalf("the odd payout was retried before its backoff: sent %d, %v", n, err)
		}
		w.env.Clock.Advance(time.Minute) // Config.RetryBackoff's default
		if n, err := w.svc.Process(w.ctx); err != nil || n != 1 {
			t.Fatalf("retry of the odd payout: sent %d, %v", n, err)
		}
		for _, id := range []string{p4.ID, p5.ID} {
			if err := hook("ok", `{"id":"paid-`+id+`","ref":"tr-`+id+`","state":"paid"}`); err != nil {
				t.Fatal(err)
			}
		}
		// Manual: exported, then marked.
		m1, _ := w.svc.RequestPayout(w.ctx, w.creator, req("30", payout.ProviderManual))
		m2, _ := w.svc.RequestPayout(w.ctx, w.creator, req("20", payout.ProviderManual))
		if _, _, err := w.svc.ExportManual(w.ctx, w.creator); errs.CodeOf(err) != "forbidden" {
			t.Fatalf("creator export: %v", err)
		}
		csv, n, err := w.svc.ExportManual(w.ctx, w.admin)
		if err != nil || n != 2 || !strings.Contains(string(csv), m1.ID+","+w.creator.SubjectID+",30.000000,EUR") {
			t.Fatalf("export %d: %s %v", n, csv, err)
		}
		// A second export (the first was lost, say) lists them again, as exported before.
		again, n, _ := w.svc.ExportManual(w.ctx, w.admin)
		if n != 0 || !strings.Contains(string(again), m1.ID+","+w.creator.SubjectID+",30.000000,EUR,") || !strings.Contains(string(again), ",true\n") {
			t.Fatalf("second export (%d new): %s", n, again)
		}
		if _, err := w.svc.MarkManual(w.ctx, w.admin, m1.ID, payout.StatePaid, ""); err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.MarkManual(w.ctx, w.admin, m2.ID, payout.StateFailed, "")
		wantCode(t, err, "required")
		if _, err := w.svc.MarkManual(w.ctx, w.admin, m2.ID, payout.StateFailed, "IBAN closed"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.MarkManual(w.ctx, w.admin, m2.ID, payout.StatePaid, ""); errs.CodeOf(err) != "not_markable" {
			t.Fatalf("marking twice: %v", err)
		}
		if b := w.balance(t); b.PaidOut != 101*eur || b.Available != 99*eur {
			t.Fatalf("end: %+v", b)
		}
		w.audit(t)
	})
}

// A payout that cannot be sent — its provider is not configured on the
// server that processes, or the creator's destination is gone — is not
// claimed: it stays requested, nothing is sent, and its creator can still
// cancel it, which returns the money.
func TestUnsendablePayoutStaysRequested(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur)
		p1 := w.requestWise(t, "30")
		// Another server, without Wise configured, processes.
		bare := payout.New(w.env.App.DB, w.env.Clock, w.env.App.Ledger, payout.Config{}, nil)
		if n, err := bare.Process(w.ctx); err != nil || n != 0 {
			t.Fatalf("process without the provider: sent %d, %v", n, err)
		}
		// The destination is gone: the row is removed behind the service's back.
		if _, err := w.env.App.DB.Writer().ExecContext(w.ctx, `DELETE FROM payout_destinations`); err != nil {
			t.Fatal(err)
		}
		if n, err := w.svc.Process(w.ctx); err != nil || n != 0 {
			t.Fatalf("process without a destination: sent %d, %v", n, err)
		}
		if w.prov.calls != 0 {
			t.Fatalf("the provider was called %d times", w.prov.calls)
		}
		list, err := w.svc.List(w.ctx, w.creator, "")
		if err != nil || len(list) != 1 || list[0].State != payout.StateRequested {
			t.Fatalf("payouts %+v, %v; want one still requested", list, err)
		}
		if _, err := w.svc.Cancel(w.ctx, w.creator, p1.ID); err != nil {
			t.Fatalf("cancel: %v", err)
		}
		if b := w.balance(t); b.Available != 100*eur || b.PendingPayout != 0 {
			t.Fatalf("after cancel: %+v", b)
		}
		w.audit(t)
	})
}

// FindTransfer implements payout.Finder: a transfer exists for the payouts
// it answered (and, with refOnErr, for those whose answer said it exists).
func (f *fakeProvider) FindTransfer(_ context.Context, t payout.Transfer) (payout.Sent, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.findErr != nil {
		return payout.Sent{}, false, f.findErr
	}
	if _, ok := f.sent[t.PayoutID]; ok || f.refOnErr {
		return payout.Sent{Ref: "tr-" + t.PayoutID, Paid: f.paidAtOnce}, true, nil
	}
	return payout.Sent{}, false, nil
}
