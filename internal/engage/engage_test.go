package engage_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/platform/sandbox"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

const eur = money.Scale // one euro in micro-units

// accounts connects sandbox accounts through the real OAuth flow and keeps
// their tokens in memory: the engagement loop's view of the creator package.
type accounts struct {
	mu      sync.Mutex
	clk     clock.Clock
	client  *sandbox.Client
	refs    map[string]string // creator → ref
	handles map[string]string // creator → sandbox handle
	toks    map[string]platform.Token
	// counts replace what the sandbox reports for these media ids: readings
	// no real platform would send (see overridden).
	counts map[string]platform.Counts
	// gate, when set, holds every read until it is closed (a platform that
	// does not answer).
	gate chan struct{}
}

// overridden is the sandbox connector with some media items' counts
// replaced by the test's.
type overridden struct {
	*sandbox.Client
	a *accounts
}

func (o overridden) Counts(ctx context.Context, tok platform.Token, ids []string) (map[string]platform.MediaCounts, error) {
	o.a.mu.Lock()
	gate := o.a.gate
	o.a.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	got, err := o.Client.Counts(ctx, tok, ids)
	o.a.mu.Lock()
	defer o.a.mu.Unlock()
	for id, c := range o.a.counts {
		if m, ok := got[id]; ok {
			m.Counts = c
			got[id] = m
		}
	}
	return got, err
}

// setCounts makes the platform report c for media id from now on; clear
// removes the override.
func (a *accounts) setCounts(id string, c platform.Counts, clear bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.counts == nil {
		a.counts = map[string]platform.Counts{}
	}
	if clear {
		delete(a.counts, id)
		return
	}
	a.counts[id] = c
}

func (a *accounts) ConnectedAccount(_ context.Context, creatorID string, p platform.Name) (string, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ref, ok := a.refs[creatorID]
	if !ok || p != platform.Sandbox {
		return "", "", errs.NotFoundf("no %s account", p)
	}
	return ref, a.toks[ref].AccountID, nil
}

// WithToken calls fn with the sandbox client and the account's token,
// refreshed when due, and once more after a refresh when fn says reconnect.
func (a *accounts) WithToken(ctx context.Context, ref string, fn func(ctx context.Context, c platform.Connector, tok platform.Token) error) error {
	tok, err := a.token(ctx, ref, false)
	if err != nil {
		return err
	}
	conn := overridden{Client: a.client, a: a}
	err = fn(ctx, conn, tok)
	if errors.Is(err, platform.ErrReconnect) && tok.CanRefresh(a.clk.Now()) {
		if tok, err = a.token(ctx, ref, true); err != nil {
			return err
		}
		err = fn(ctx, conn, tok)
	}
	return err
}

func (a *accounts) token(ctx context.Context, ref string, force bool) (platform.Token, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tok := a.toks[ref]
	if force || tok.NeedsRefresh(a.clk.Now(), 5*time.Minute) {
		fresh, err := a.client.Refresh(ctx, tok)
		if err != nil {
			return tok, err
		}
		a.toks[ref], tok = fresh, fresh
	}
	return tok, nil
}

// apps records acceptances.
type apps struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (a *apps) AcceptedAt(_ context.Context, _ store.Queryer, campaignID, creatorID string) (time.Time, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.at[campaignID+"/"+creatorID]
	if !ok {
		return time.Time{}, errs.NotFoundf("not accepted")
	}
	return t, nil
}

type env struct {
	t        *testing.T
	ctx      context.Context
	db       *store.DB
	clk      *clock.Fake
	world    *sandbox.World
	ledger   *ledger.Ledger
	camps    *campaign.Service
	ident    *identity.Service
	svc      *engage.Service
	accounts *accounts
	apps     *apps
	brand    identity.Principal
	deps     engage.Deps
	endsAt   time.Time // of the campaigns made next (60 days after t0 by default)
}

func setup(t *testing.T, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	w := sandbox.NewWorld(db, clk, sandbox.Options{})
	mux := http.NewServeMux()
	mux.Handle(sandbox.Prefix+"/", sandbox.NewHandler(w, nil))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	l, err := ledger.New(db, clk, ledger.DefaultConfig)
	if err != nil {
		t.Fatal(err)
	}
	ident, err := identity.New(db, clk, "")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, db: db, clk: clk, world: w, ledger: l, camps: campaign.New(db, l, clk), ident: ident,
		accounts: &accounts{clk: clk, client: sandbox.NewClient(srv.URL+sandbox.Prefix, "engage-test", srv.Client(), clk),
			refs: map[string]string{}, handles: map[string]string{}, toks: map[string]platform.Token{}},
		apps: &apps{at: map[string]time.Time{}}, endsAt: t0.Add(60 * 24 * time.Hour)}
	e.deps = engage.Deps{DB: db, Ledger: l, Campaigns: e.camps, Accounts: e.accounts, Applications: e.apps,
		Platforms: platform.NewRegistry(e.accounts.client), Clock: clk}
	e.svc, err = engage.New(e.deps, engage.Config{PollInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := ident.CreateBrand(ctx, "Glow")
	if err != nil {
		t.Fatal(err)
	}
	e.brand = identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}
	return e
}

// campaign creates, configures, funds and opens a campaign.
func (e *env) campaign(budget int64, prices campaign.Prices, creatorCap int64, approval bool) campaign.Campaign {
	e.t.Helper()
	c, err := e.camps.Create(e.ctx, e.brand, campaign.Draft{Name: "Summer", Budget: money.New(budget, money.EUR)})
	if err != nil {
		e.t.Fatal(err)
	}
	s := campaign.Setup{Goal: campaign.Goal{Primary: campaign.MetricROAS, PrimaryTarget: 3 * money.Scale}, Brief: campaign.Brief{Product: "Serum", Message: "Morning routine", RequiredHashtags: []string{"#GlowUp"},
		LandingURL: "https://shop.example/glow"}, Prices: prices, CreatorCap: creatorCap, ContentApproval: approval,
		EndsAt: e.endsAt, Eligibility: campaign.Eligibility{Platforms: []campaign.Platform{campaign.PlatformSandbox}}}
	if _, err := e.camps.Configure(e.ctx, e.brand, c.ID, s); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.camps.Fund(e.ctx, e.brand, c.ID, campaign.FundInput{Reference: "pay-" + c.ID}); err != nil {
		e.t.Fatal(err)
	}
	if c, err = e.camps.Transition(e.ctx, e.brand, c.ID, campaign.ActionOpen); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// creator makes a creator with a connected sandbox account, accepted into camp.
func (e *env) creator(handle string, camp campaign.Campaign) identity.Principal {
	e.t.Helper()
	cr, _, err := e.ident.CreateCreator(e.ctx, handle, "DE")
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.world.CreateAccount(e.ctx, handle, 5000); err != nil {
		e.t.Fatal(err)
	}
	verifier, state := platform.NewVerifier(), platform.NewState()
	const cb = "https://payper.example/v1/connect/callback"
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(e.accounts.client.AuthorizeURL(platform.AuthRequest{State: state, RedirectURI: cb,
		CodeChallenge: platform.Challenge(verifier), LoginHint: handle}))
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	got, err := platform.ParseCallback(loc.Query())
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.accounts.client.Exchange(e.ctx, got.Code, cb, verifier)
	if err != nil {
		e.t.Fatal(err)
	}
	e.accounts.mu.Lock()
	e.accounts.refs[cr.ID], e.accounts.toks["acc-"+cr.ID] = "acc-"+cr.ID, tok
	e.accounts.handles[cr.ID] = handle
	e.accounts.mu.Unlock()
	e.apps.mu.Lock()
	e.apps.at[camp.ID+"/"+cr.ID] = e.clk.Now()
	e.apps.mu.Unlock()
	return identity.Principal{Role: identity.RoleCreator, SubjectID: cr.ID}
}

// post publishes on the sandbox and submits it.
func (e *env) post(p identity.Principal, handle string, camp campaign.Campaign, caption string) (engage.Post, sandbox.Post) {
	e.t.Helper()
	sp, err := e.world.Publish(e.ctx, handle, caption, platform.TypeReel, e.clk.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	post, err := e.svc.Submit(e.ctx, p, camp.ID, engage.SubmitInput{Platform: platform.Sandbox, Media: sp.Permalink})
	if err != nil {
		e.t.Fatalf("submit: %v", err)
	}
	return post, sp
}

// accountsCreator returns the id of the creator whose sandbox handle is h.
func (e *env) accountsCreator(h string) string {
	e.t.Helper()
	e.accounts.mu.Lock()
	defer e.accounts.mu.Unlock()
	for creator := range e.accounts.refs {
		if e.accounts.handles[creator] == h {
			return creator
		}
	}
	e.t.Fatalf("no creator @%s", h)
	return ""
}

func (e *env) add(postID string, d sandbox.Delta) {
	e.t.Helper()
	if _, err := e.world.AddCounts(e.ctx, postID, d); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) tick() []engage.PollResult {
	e.t.Helper()
	e.clk.Advance(time.Minute)
	r, err := e.svc.Tick(e.ctx)
	if err != nil {
		e.t.Fatalf("tick: %v", err)
	}
	return r
}

func (e *env) escrow(campaignID string) ledger.EscrowState {
	e.t.Helper()
	st, err := e.ledger.Escrow(e.ctx, campaignID)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) audit() {
	e.t.Helper()
	r, err := e.ledger.Audit(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	if !r.OK() {
		e.t.Fatalf("ledger audit: %s", r)
	}
}

func (e *env) earned(campaignID, creatorID string) (gross, net int64) {
	e.t.Helper()
	list, err := e.svc.ListEarnings(e.ctx, e.brand, campaignID, "", creatorID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, x := range list {
		gross += x.Gross.Micros
		net += x.Net.Micros
	}
	return gross, net
}

// The whole loop on one campaign: exact billing per metric, high-water marks,
// the first-campaign fee, the creator cap, the budget running out, the
// holding period, a void and the close.
func TestBillingLoop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		prices := campaign.Prices{View: 2_000, Like: 50_000, Comment: 250_000, Share: 500_000, Save: 100_000} // €0.002 … €0.50
		camp := e.campaign(60*eur, prices, 40*eur, false)
		ana := e.creator("ana", camp)
		ben := e.creator("ben", camp)
		const caption = "Morning glow ✨ #GlowUp #ad"
		pa, spa := e.post(ana, "ana", camp, caption)
		_, spb := e.post(ben, "ben", camp, caption)
		if pa.State != engage.PostLive {
			t.Fatalf("post state %s, want live", pa.State)
		}

		// Tick 1: ana 1,000 views + 20 likes + 2 comments = 2 + 1 + 0.5 = €3.50; ben 10 shares + 5 saves = €5.50.
		e.add(spa.ID, sandbox.Delta{Views: 1000, Likes: 20, Comments: 2})
		e.add(spb.ID, sandbox.Delta{Shares: 10, Saves: 5})
		e.tick()
		if g, n := e.earned(camp.ID, ana.SubjectID); g != 3_500_000 || n != 3_150_000 {
			t.Fatalf("ana gross %d net %d, want 3500000 / 3150000 (first campaign: 10%% fee)", g, n)
		}
		if g, _ := e.earned(camp.ID, ben.SubjectID); g != 5_500_000 {
			t.Fatalf("ben gross %d, want 5500000", g)
		}
		st := e.escrow(camp.ID)
		if st.Spent != 9_000_000 || st.Fees != 900_000 || st.Remaining != 51_000_000 {
			t.Fatalf("escrow %+v", st)
		}

		// A tick without growth bills nothing.
		e.tick()
		if st2 := e.escrow(camp.ID); st2.Spent != st.Spent {
			t.Fatalf("spent moved without growth: %d → %d", st.Spent, st2.Spent)
		}

		// Likes fall by 15 (unlikes), then rise by 25: only 10 above the old peak bill.
		e.add(spa.ID, sandbox.Delta{Likes: -15})
		e.tick()
		e.add(spa.ID, sandbox.Delta{Likes: 25})
		e.tick()
		if g, _ := e.earned(camp.ID, ana.SubjectID); g != 3_500_000+10*50_000 {
			t.Fatalf("ana gross %d after the dip, want %d", g, 3_500_000+10*50_000)
		}

		// The cap: ben asks for 80 shares = €40 more; only €34.50 fits under his €40 cap.
		e.add(spb.ID, sandbox.Delta{Shares: 80})
		e.tick()
		if g, _ := e.earned(camp.ID, ben.SubjectID); g != 40*eur {
			t.Fatalf("ben gross %d, want the cap %d", g, 40*eur)
		}
		e.add(spb.ID, sandbox.Delta{Shares: 10})
		e.tick()
		if g, _ := e.earned(camp.ID, ben.SubjectID); g != 40*eur {
			t.Fatalf("ben gross %d past his cap", g)
		}

		// Holding period: nothing released before 7 days, everything after.
		bal, _ := e.ledger.Balance(e.ctx, ana.SubjectID, money.EUR)
		if bal.Available != 0 || bal.Held == 0 {
			t.Fatalf("ana balance before the holding period ends: %+v", bal)
		}
		e.clk.Advance(7 * 24 * time.Hour)
		e.tick()
		bal, _ = e.ledger.Balance(e.ctx, ana.SubjectID, money.EUR)
		if bal.Available != 3_600_000 || bal.Held != 0 {
			t.Fatalf("ana balance after the holding period: %+v, want 3.6 available", bal)
		}

		// One more comment: a new held earning of €0.25.
		e.add(spa.ID, sandbox.Delta{Comments: 1})
		e.tick()
		// The budget runs out: €60 − €44.25 spent leaves €15.75; ana asks for 100 shares at €0.50 = €50 and gets €15.75.
		e.add(spa.ID, sandbox.Delta{Shares: 100})
		res := e.tick()
		st = e.escrow(camp.ID)
		if st.Remaining != 0 || st.Spent != 60*eur {
			t.Fatalf("escrow after exhaustion %+v", st)
		}
		completed := false
		for _, r := range res {
			completed = completed || r.Completed
		}
		got, _ := e.camps.Get(e.ctx, e.brand, camp.ID)
		if !completed || got.State != campaign.StateCompleted || got.StateReason != campaign.CompletedBudget {
			t.Fatalf("campaign %s (%s), completed=%v; want completed budget_exhausted", got.State, got.StateReason, completed)
		}
		if g, _ := e.earned(camp.ID, ana.SubjectID); g != 20*eur {
			t.Fatalf("ana gross %d, want €20 (€4.25 + the €15.75 left)", g)
		}
		// No billing after completion.
		e.add(spa.ID, sandbox.Delta{Views: 10_000})
		e.tick()
		if st2 := e.escrow(camp.ID); st2.Spent != 60*eur {
			t.Fatalf("billed after completion: spent %d", st2.Spent)
		}

		// Void ana's last (held) earning: its gross returns to the escrow, fee reversed.
		// (She asked for €50; what a reading asks is capped at the escrow left.)
		held, err := e.svc.ListEarnings(e.ctx, e.brand, camp.ID, engage.EarningHeld, ana.SubjectID)
		if err != nil || len(held) != 2 || held[1].Gross.Micros != 15_750_000 || held[1].Requested.Micros != 15_750_000 {
			t.Fatalf("held earnings %v, %v", held, err)
		}
		last := held[len(held)-1]
		if _, err := e.svc.Review(e.ctx, ana, last.ID, engage.ReviewVoid, "fraud"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("a creator voided an earning: %v", err)
		}
		v, err := e.svc.Review(e.ctx, e.brand, last.ID, engage.ReviewVoid, "bought views")
		if err != nil || v.State != engage.EarningVoided {
			t.Fatalf("void: %+v, %v", v, err)
		}
		st = e.escrow(camp.ID)
		if st.Remaining != last.Gross.Micros || st.Spent != 60*eur-last.Gross.Micros {
			t.Fatalf("after void: %+v, want remaining %d", st, last.Gross.Micros)
		}
		if st.Fees != (st.Spent*1000)/10000 {
			t.Fatalf("fees %d after void, want floor(10%% of %d)", st.Fees, st.Spent)
		}
		if _, err := e.svc.Review(e.ctx, e.brand, last.ID, engage.ReviewRelease, ""); errs.CodeOf(err) != "earning_decided" {
			t.Fatalf("releasing a voided earning: %v", err)
		}

		// Put one on hold: close refuses until it is decided.
		if _, err := e.svc.Review(e.ctx, e.brand, held[0].ID, engage.ReviewHold, ""); errs.CodeOf(err) != "required" {
			t.Fatalf("hold without a reason: %v", err)
		}
		if _, err := e.svc.Review(e.ctx, e.brand, held[0].ID, engage.ReviewHold, "checking"); err != nil {
			t.Fatal(err)
		}
		// On hold, it outlives its holding period.
		e.clk.Advance(8 * 24 * time.Hour)
		e.tick()
		if b, _ := e.ledger.Balance(e.ctx, ana.SubjectID, money.EUR); b.Held != 225_000 {
			t.Fatalf("ana holds %d, want the €0.225 net of the earning on hold", b.Held)
		}
		if _, err := e.svc.Close(e.ctx, e.brand, camp.ID); errs.CodeOf(err) != "earnings_on_hold" {
			t.Fatalf("close with an earning on hold: %v", err)
		}
		if _, err := e.svc.Review(e.ctx, e.brand, held[0].ID, engage.ReviewRelease, "fine"); err != nil {
			t.Fatal(err)
		}
		cr, err := e.svc.Close(e.ctx, e.brand, camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cr.Refunded.Micros != last.Gross.Micros || cr.Campaign.State != campaign.StateClosed {
			t.Fatalf("close: %+v, want refund %d", cr, last.Gross.Micros)
		}
		for _, who := range []identity.Principal{ana, ben} {
			b, _ := e.ledger.Balance(e.ctx, who.SubjectID, money.EUR)
			if b.Held != 0 {
				t.Fatalf("%s still holds %d after close", who.SubjectID, b.Held)
			}
		}
		if _, err := e.svc.Close(e.ctx, e.brand, camp.ID); errs.CodeOf(err) != "invalid_transition" {
			t.Fatalf("closing twice: %v", err)
		}
		e.audit()
	})
}

func TestSubmitChecksThePost(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(500*eur, campaign.Prices{Like: 50_000}, 0, true)
		ana := e.creator("ana", camp)
		sp, err := e.world.Publish(e.ctx, "ana", "Love it", platform.TypeReel, e.clk.Now())
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.Submit(e.ctx, ana, camp.ID, engage.SubmitInput{Platform: platform.Sandbox, Media: sp.ID})
		var ee *errs.Error
		if !asErr(err, &ee) || ee.Code != "post_noncompliant" || len(ee.Fields) != 2 ||
			ee.Fields[0].Code != "missing_hashtag" || !strings.Contains(ee.Fields[0].Message, "#glowup") ||
			ee.Fields[1].Code != "missing_disclosure" {
			t.Fatalf("noncompliant post: %#v", err)
		}
		if posts, _ := e.svc.ListPosts(e.ctx, e.brand, camp.ID); len(posts) != 0 {
			t.Fatalf("a refused post was stored: %v", posts)
		}
		// Published before acceptance.
		old, _ := e.world.Publish(e.ctx, "ana", "#glowup #ad", platform.TypeReel, e.clk.Now().Add(-time.Hour))
		if _, err := e.svc.Submit(e.ctx, ana, camp.ID, engage.SubmitInput{Platform: platform.Sandbox, Media: old.ID}); errs.CodeOf(err) != "published_before_acceptance" {
			t.Fatalf("old post: %v", err)
		}
		// Someone else's post.
		ben := e.creator("ben", camp)
		bens, _ := e.world.Publish(e.ctx, "ben", "#glowup #ad", platform.TypeReel, e.clk.Now())
		if _, err := e.svc.Submit(e.ctx, ana, camp.ID, engage.SubmitInput{Platform: platform.Sandbox, Media: bens.ID}); errs.CodeOf(err) != "not_owner" {
			t.Fatalf("another creator's post: %v", err)
		}
		// Compliant, but the brand approves content first: nothing bills until approval.
		p, sp2 := e.post(ben, "ben", camp, "#GlowUp routine #ad")
		if p.State != engage.PostPendingApproval {
			t.Fatalf("state %s, want pending_approval", p.State)
		}
		if _, err := e.svc.Submit(e.ctx, ben, camp.ID, engage.SubmitInput{Platform: platform.Sandbox, Media: sp2.ID}); errs.CodeOf(err) != "post_already_submitted" {
			t.Fatalf("second submission: %v", err)
		}
		e.add(sp2.ID, sandbox.Delta{Likes: 10})
		e.tick()
		if st := e.escrow(camp.ID); st.Spent != 0 {
			t.Fatalf("billed before approval: %d", st.Spent)
		}
		if _, err := e.svc.Decide(e.ctx, ana, p.ID, true, ""); !errs.Is(err, errs.NotFound) {
			t.Fatalf("a creator approved a post: %v", err)
		}
		if _, err := e.svc.Decide(e.ctx, e.brand, p.ID, true, ""); err != nil {
			t.Fatal(err)
		}
		e.tick()
		if st := e.escrow(camp.ID); st.Spent != 500_000 {
			t.Fatalf("after approval spent %d, want the 10 likes since publication (500000)", st.Spent)
		}
		if _, err := e.svc.Decide(e.ctx, e.brand, p.ID, false, "late"); errs.CodeOf(err) != "post_not_pending" {
			t.Fatalf("deciding twice: %v", err)
		}
	})
}

func asErr(err error, target **errs.Error) bool {
	e, ok := err.(*errs.Error)
	if ok {
		*target = e
	}
	return ok
}

// Rate limits defer posts without losing growth; pausing moves the marks
// without billing.
func TestRateLimitAndPause(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(500*eur, campaign.Prices{Like: 50_000}, 0, false)
		ana := e.creator("ana", camp)
		_, sp := e.post(ana, "ana", camp, "#glowup #ad")
		e.add(sp.ID, sandbox.Delta{Likes: 10})
		acc, _ := e.world.Account(e.ctx, "ana")
		if err := e.world.SetRateLimited(e.ctx, acc.ID, e.clk.Now().Add(10*time.Minute), "too many calls"); err != nil {
			t.Fatal(err)
		}
		r := e.tick()
		if len(r) != 1 || r[0].Deferred != 1 || e.escrow(camp.ID).Spent != 0 {
			t.Fatalf("rate-limited tick: %+v spent %d", r, e.escrow(camp.ID).Spent)
		}
		e.clk.Advance(15 * time.Minute)
		e.tick()
		if s := e.escrow(camp.ID).Spent; s != 500_000 {
			t.Fatalf("after the limit lifted spent %d, want 500000", s)
		}
		// Paused: growth during the pause is not billed, and not billed later either.
		if _, err := e.camps.Transition(e.ctx, e.brand, camp.ID, campaign.ActionPause); err != nil {
			t.Fatal(err)
		}
		e.add(sp.ID, sandbox.Delta{Likes: 7})
		e.clk.Advance(time.Hour)
		e.tick()
		if _, err := e.camps.Transition(e.ctx, e.brand, camp.ID, campaign.ActionResume); err != nil {
			t.Fatal(err)
		}
		e.add(sp.ID, sandbox.Delta{Likes: 3})
		e.clk.Advance(time.Hour)
		e.tick()
		if s := e.escrow(camp.ID).Spent; s != 650_000 {
			t.Fatalf("after pause and resume spent %d, want 500000 + 3 likes", s)
		}
		if _, err := e.camps.Transition(e.ctx, e.brand, camp.ID, campaign.ActionResume); errs.CodeOf(err) != "invalid_transition" {
			t.Fatalf("resume an open campaign: %v", err)
		}
		// The end date completes it.
		e.clk.Set(t0.Add(61 * 24 * time.Hour))
		e.tick()
		got, _ := e.camps.Get(e.ctx, e.brand, camp.ID)
		if got.State != campaign.StateCompleted || got.StateReason != campaign.CompletedEndDate {
			t.Fatalf("after the end date: %s %s", got.State, got.StateReason)
		}
		e.audit()
	})
}

// Two servers polling the same campaigns at the same time bill every unit of
// growth exactly once.
func TestConcurrentPollsBillOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(1000*eur, campaign.Prices{View: 1_000, Like: 10_000}, 0, false)
		var posts []string
		for _, h := range []string{"ana", "ben", "cleo", "dan"} {
			p := e.creator(h, camp)
			for i := 0; i < 3; i++ {
				_, sp := e.post(p, h, camp, "#glowup #ad")
				posts = append(posts, sp.ID)
			}
		}
		other, err := engage.New(e.deps, engage.Config{PollInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for round := 0; round < 5; round++ {
			for i, id := range posts {
				d := sandbox.Delta{Views: int64(100 * (i + round + 1)), Likes: int64(i + round)}
				e.add(id, d)
				want += d.Views*1_000 + d.Likes*10_000
			}
			e.clk.Advance(time.Minute)
			var wg sync.WaitGroup
			errc := make(chan error, 4)
			for _, s := range []*engage.Service{e.svc, other, e.svc, other} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.PollCampaign(e.ctx, camp.ID)
					errc <- err
				}()
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if st := e.escrow(camp.ID); st.Spent != want {
			t.Fatalf("spent %d, want %d", st.Spent, want)
		}
		e.audit()
	})
}

// The job queue runs the same loop: River on the store's own database.
func TestRunnerOnTheQueue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		if err := engage.Migrate(e.ctx, db); err != nil {
			t.Fatal(err)
		}
		camp := e.campaign(100*eur, campaign.Prices{Comment: 250_000}, 0, false)
		ana := e.creator("ana", camp)
		_, sp := e.post(ana, "ana", camp, "#glowup #ad")
		r, err := engage.NewRunner(e.ctx, e.svc, db, engage.RunnerOptions{NoPeriodic: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Start(e.ctx); err != nil {
			t.Fatal(err)
		}
		defer r.Stop(context.Background())
		e.add(sp.ID, sandbox.Delta{Comments: 8})
		e.clk.Advance(time.Minute)
		ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
		defer cancel()
		if err := r.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if s := e.escrow(camp.ID).Spent; s != 2*eur {
			t.Fatalf("spent %d through the queue, want 8 × €0.25", s)
		}
		// Running it again bills nothing new.
		e.clk.Advance(time.Minute)
		if err := r.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if s := e.escrow(camp.ID).Spent; s != 2*eur {
			t.Fatalf("spent %d after a second tick without growth", s)
		}
	})
}

// Billing in chunks of whole creators: every chunk bills exactly its growth,
// and when the escrow runs out in one chunk the later chunks bill nothing.
func TestChunkedBilling(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		var err error
		e.svc, err = engage.New(e.deps, engage.Config{PollInterval: time.Minute, ChunkPosts: 3})
		if err != nil {
			t.Fatal(err)
		}
		camp := e.campaign(20*eur, campaign.Prices{Like: 100_000}, 0, false) // €0.10 a like
		var posts []string
		for _, h := range []string{"ana", "ben", "cleo", "dan"} {
			p := e.creator(h, camp)
			for i := 0; i < 3; i++ {
				_, sp := e.post(p, h, camp, "#glowup #ad")
				posts = append(posts, sp.ID)
			}
		}
		// 12 posts × 5 likes = €6: four chunks, all billed.
		for _, id := range posts {
			e.add(id, sandbox.Delta{Likes: 5})
		}
		e.clk.Advance(time.Minute)
		r, err := e.svc.PollCampaign(e.ctx, camp.ID)
		if err != nil || r.PostsRead != 12 || r.Granted != 6*eur || r.Earnings != 4 || r.Completed {
			t.Fatalf("chunked poll: %+v, %v", r, err)
		}
		// 12 posts × 20 likes = €24 asked, €14 left. In creator order: ana €6,
		// ben €6, cleo gets the €2 left and completes the campaign, and dan's
		// chunk bills nothing.
		for _, id := range posts {
			e.add(id, sandbox.Delta{Likes: 20})
		}
		e.clk.Advance(time.Minute)
		r, err = e.svc.PollCampaign(e.ctx, camp.ID)
		if err != nil || !r.Completed || r.Granted != 14*eur {
			t.Fatalf("exhausting poll: %+v, %v", r, err)
		}
		if st := e.escrow(camp.ID); st.Spent != 20*eur || st.Remaining != 0 {
			t.Fatalf("escrow %+v", st)
		}
		var total int64
		for _, h := range []string{"ana", "ben", "cleo", "dan"} {
			es, err := e.svc.ListEarnings(e.ctx, e.brand, camp.ID, "", e.accountsCreator(h))
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range es {
				total += x.Gross.Micros
			}
		}
		if total != 20*eur {
			t.Fatalf("earnings add up to %d, want the whole budget", total)
		}
		e.audit()
	})
}

// A server whose read of the marks went stale (another server billed the
// same posts in between) falls back to locking and re-reading them, and
// bills nothing twice.
func TestStaleMarksRelock(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(100*eur, campaign.Prices{Like: 100_000}, 0, false)
		ana := e.creator("ana", camp)
		_, sp := e.post(ana, "ana", camp, "#glowup #ad")
		e.add(sp.ID, sandbox.Delta{Likes: 10})
		e.clk.Advance(time.Minute)
		stale, err := e.svc.ReadNow(e.ctx, camp.ID) // reads 10 likes and marks at 0
		if err != nil {
			t.Fatal(err)
		}
		e.add(sp.ID, sandbox.Delta{Likes: 5})
		e.clk.Advance(time.Second)
		if _, err := e.svc.PollCampaign(e.ctx, camp.ID); err != nil { // bills 15 likes
			t.Fatal(err)
		}
		r, relocked, err := stale()
		if err != nil || !relocked || r.Granted != 0 {
			t.Fatalf("stale bill: %+v relocked=%v err=%v; want a relock and nothing billed", r, relocked, err)
		}
		if s := e.escrow(camp.ID).Spent; s != 15*100_000 {
			t.Fatalf("spent %d, want 15 likes once", s)
		}
		// Without interference the first, optimistic attempt is enough.
		e.add(sp.ID, sandbox.Delta{Likes: 2})
		e.clk.Advance(time.Minute)
		fresh, err := e.svc.ReadNow(e.ctx, camp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r, relocked, err := fresh(); err != nil || relocked || r.Granted != 200_000 {
			t.Fatalf("fresh bill: %+v relocked=%v err=%v", r, relocked, err)
		}
		e.audit()
	})
}

// A billing transaction that the database makes run again (a
// serialization failure) bills and records the same as one that ran once.
func TestBillingRetriedTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		camp := e.campaign(100*eur, campaign.Prices{Like: 100_000, View: 1_000}, 0, false)
		ana := e.creator("ana", camp)
		post, sp := e.post(ana, "ana", camp, "#glowup #ad")
		e.add(sp.ID, sandbox.Delta{Likes: 10, Views: 300})
		e.clk.Advance(time.Minute)
		r, err := e.svc.BillRetried(e.ctx, camp.ID)
		const want = 10*100_000 + 300*1_000
		if err != nil || r.Granted != want || r.PostsRead != 1 {
			t.Fatalf("retried bill: %+v, %v; want %d granted for one post", r, err, want)
		}
		if s := e.escrow(camp.ID).Spent; s != want {
			t.Fatalf("spent %d, want %d", s, want)
		}
		got, err := e.svc.GetPost(e.ctx, ana, post.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Requested != want || got.Billed.Likes.Value != 10 || got.Billed.Views.Value != 300 {
			t.Fatalf("post after a retried bill: requested %d, billed %+v; want %d, 10 likes, 300 views", got.Requested, got.Billed, want)
		}
		e.audit()
	})
}

// pacedSandbox is the sandbox connector with a daily quota, like YouTube's.
type pacedSandbox struct {
	*sandbox.Client
	perPost time.Duration
}

func (p pacedSandbox) MinPollInterval(livePerAccount []int) time.Duration {
	n := 0
	for _, v := range livePerAccount {
		n += v
	}
	return time.Duration(n) * p.perPost
}

// TestQuotaStretchesPolling: a platform whose quota cannot read its live
// posts every poll interval (a platform.Pacer) is polled less often.
func TestQuotaStretchesPolling(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		e := setup(t, db)
		e.deps.Platforms = platform.NewRegistry(pacedSandbox{Client: e.accounts.client, perPost: 2 * time.Minute})
		svc, err := engage.New(e.deps, engage.Config{PollInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		e.svc = svc
		camp := e.campaign(100*eur, campaign.Prices{Like: 10_000}, 0, false)
		var posts []engage.Post
		for _, h := range []string{"ana", "ben"} {
			p := e.creator(h, camp)
			post, _ := e.post(p, h, camp, "Glow #glowup #ad")
			posts = append(posts, post)
		}
		e.tick()
		for _, p := range posts {
			next, last, err := e.svc.Schedule(e.ctx, camp.ID, p.CreatorID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			// Two live posts × 2 minutes: every 4 minutes, not every minute.
			if last == 0 || next-last != (4*time.Minute).Microseconds() {
				t.Errorf("post %s: last read %d, next %d µs after it, want 4 minutes", p.ID, last, next-last)
			}
		}
	})
}
