package attrib_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/commerce"
	"github.com/payper/payper/internal/commerce/shopify"
	"github.com/payper/payper/internal/commerce/woocommerce"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/demo"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store/storetest"
	"pgregory.net/rapid"
)

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

const eur = money.Scale

// world is a running payper (fake clock) with a brand, creators connected
// to the sandbox, and helpers that call the services directly.
type world struct {
	t        *testing.T
	ctx      context.Context
	env      *demo.Env
	brand    identity.Principal
	brandKey string // the brand's API key
	creators map[string]identity.Principal
}

func newWorld(t *testing.T, dbURL string) *world {
	t.Helper()
	env, err := demo.Start(context.Background(), dbURL, t0, engage.Config{PollInterval: time.Minute, HoldingPeriod: 7 * 24 * time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Close() })
	w := &world{t: t, ctx: context.Background(), env: env, creators: map[string]identity.Principal{}}
	b, key, err := env.App.Identity.CreateBrand(w.ctx, "Glow Labs")
	if err != nil {
		t.Fatal(err)
	}
	w.brand, w.brandKey = identity.Principal{Role: identity.RoleBrand, SubjectID: b.ID}, key
	return w
}

// creator makes a creator with a connected sandbox account (the OAuth flow
// followed as a browser would).
func (w *world) creator(handle string) identity.Principal {
	w.t.Helper()
	if p, ok := w.creators[handle]; ok {
		return p
	}
	c, _, err := w.env.App.Identity.CreateCreator(w.ctx, handle, "DE")
	if err != nil {
		w.t.Fatal(err)
	}
	p := identity.Principal{Role: identity.RoleCreator, SubjectID: c.ID}
	if _, err := w.env.App.Sandbox.CreateAccount(w.ctx, handle, 5000); err != nil {
		w.t.Fatal(err)
	}
	conn, err := w.env.App.Creators.StartConnect(w.ctx, p, creator.ConnectRequest{Platform: platform.Sandbox, Handle: handle})
	if err != nil {
		w.t.Fatal(err)
	}
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(conn.AuthorizeURL)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	resp, err = http.Get(w.env.URL + loc.Path + "?" + loc.RawQuery)
	if err != nil || resp.StatusCode != 200 {
		w.t.Fatalf("callback: %v %v", err, resp)
	}
	resp.Body.Close()
	w.creators[handle] = p
	return p
}

// campaign makes an open campaign with the given budget and performance
// setup, and accepts the creators.
func (w *world) campaign(name string, budget int64, pf campaign.Performance, creators ...string) campaign.Campaign {
	w.t.Helper()
	return w.cappedCampaign(name, budget, 0, pf, creators...)
}

func (w *world) accept(campaignID, handle string) market.Application {
	w.t.Helper()
	a, err := w.env.App.Market.Apply(w.ctx, w.creator(handle), campaignID, "hello")
	if err != nil {
		w.t.Fatal(err)
	}
	if a, err = w.env.App.Market.Decide(w.ctx, w.brand, a.ID, true); err != nil {
		w.t.Fatal(err)
	}
	return a
}

// convert reports an order through the conversion API.
func (w *world) convert(orderID, amount, code, clickID string) orders.Order {
	w.t.Helper()
	o, _, err := w.env.App.Orders.Convert(w.ctx, w.brand, orders.Conversion{OrderID: orderID,
		Amount: json.RawMessage(fmt.Sprintf(`{"amount":%q,"currency":"EUR"}`, amount)), Code: code, ClickID: clickID})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

func (w *world) refund(orderID, refundID, amount string) {
	w.t.Helper()
	if _, err := w.env.App.Orders.RefundConversion(w.ctx, w.brand, orderID, orders.ConversionRefund{RefundID: refundID,
		Amount: json.RawMessage(fmt.Sprintf(`{"amount":%q,"currency":"EUR"}`, amount))}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) audit() {
	w.t.Helper()
	rep, err := w.env.App.Ledger.Audit(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	if !rep.OK() {
		w.t.Fatalf("ledger audit: %s", rep)
	}
}

func (w *world) earnings(campaignID, handle string) []engage.Earning {
	w.t.Helper()
	es, err := w.env.App.Engage.ListEarnings(w.ctx, w.brand, campaignID, "", w.creators[handle].SubjectID)
	if err != nil {
		w.t.Fatal(err)
	}
	return es
}

func (w *world) conversions(campaignID string) map[string]attrib.Conversion {
	w.t.Helper()
	cs, err := w.env.App.Attrib.ListConversions(w.ctx, w.brand, campaignID)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]attrib.Conversion{}
	for _, c := range cs {
		out[c.OrderID] = c
	}
	return out
}

func (w *world) store(d orders.StoreDraft) orders.Store {
	w.t.Helper()
	st, err := w.env.App.Orders.ConnectStore(w.ctx, w.brand, d)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func wantErr(t *testing.T, err error, kind errs.Kind, code string) {
	t.Helper()
	if err == nil || errs.KindOf(err) != kind || errs.CodeOf(err) != code {
		t.Fatalf("error = %v (%s/%s), want %s/%s", err, errs.KindOf(err), errs.CodeOf(err), kind, code)
	}
}

func countCodes(t *testing.T, w *world) int {
	t.Helper()
	var n int
	if err := w.env.App.DB.Read().QueryRowContext(w.ctx, `SELECT COUNT(*) FROM discount_codes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCodes: codes come from the pattern; a code taken at the brand or in
// the store is replaced by another (a random suffix); Shopify and
// WooCommerce get the discount in their own terms; store errors and
// exhausted patterns record nothing.
func TestCodes(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		shop := shopify.NewFake("glow.myshopify.com", "shpat_test")
		shopSrv := httptest.NewServer(shop)
		defer shopSrv.Close()
		woo := woocommerce.NewFake("ck_test", "cs_test")
		wooSrv := httptest.NewServer(woo)
		defer wooSrv.Close()
		var failWith error
		svc, err := attrib.New(attrib.Deps{DB: w.env.App.DB, Clock: w.env.Clock, Campaigns: w.env.App.Campaigns, Market: w.env.App.Market,
			Creators: w.env.App.Creators, Engage: w.env.App.Engage, Orders: w.env.App.Orders,
			Makers: func(a orders.StoreAccess) (commerce.CodeCreator, error) {
				if failWith != nil {
					return failingMaker{failWith}, nil
				}
				if a.Platform == orders.Shopify {
					return &shopify.Client{Shop: a.Shop, Token: a.AccessToken, BaseURL: shopSrv.URL, HTTP: shopSrv.Client()}, nil
				}
				return &woocommerce.Client{SiteURL: wooSrv.URL, ConsumerKey: a.ConsumerKey, ConsumerSecret: a.ConsumerSecret, HTTP: wooSrv.Client()}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		sh := w.store(orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "glow.myshopify.com", WebhookSecret: "shpss_0123456789", AccessToken: "shpat_test"})
		wc := w.store(orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://glow.example", WebhookSecret: "wc-secret-123",
			ConsumerKey: "ck_test", ConsumerSecret: "cs_test"})
		bare := w.store(orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "bare.myshopify.com", WebhookSecret: "shpss_0123456789"})

		a := w.campaign("Spring Serum", 500*eur, campaign.Performance{CommissionBps: 1000, CodePattern: "{HANDLE}{PERCENT}", CodePercentBps: 1500}, "anna", "ben", "cleo", "dora")
		ana := w.creators["anna"].SubjectID
		c1, err := svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: ana, StoreID: sh.ID})
		if err != nil {
			t.Fatal(err)
		}
		if c1.Code != "ANNA15" || c1.Source != attrib.SourceShopify || c1.PercentBps != 1500 || !strings.HasPrefix(c1.ExternalID, "gid://shopify/DiscountCodeNode/") {
			t.Fatalf("code = %+v", c1)
		}
		if got := shop.Codes(); len(got) != 1 || got[0].Code != "ANNA15" || got[0].Percentage != "0.15" {
			t.Fatalf("shop holds %+v", got)
		}
		// ben's "BEN15" already exists in the shop (made there by hand): another code.
		if _, err := (&shopify.Client{Shop: "glow.myshopify.com", Token: "shpat_test", BaseURL: shopSrv.URL, HTTP: shopSrv.Client()}).
			CreateCode(w.ctx, commerce.Discount{Code: "ben15", Title: "by hand", PercentBps: 500, StartsAt: t0}); err != nil {
			t.Fatal(err)
		}
		c2, err := svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: w.creators["ben"].SubjectID, StoreID: sh.ID})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c2.Code, "BEN15") || len(c2.Code) != 7 {
			t.Errorf("ben's code %q: want BEN15 and a 2-character suffix", c2.Code)
		}
		// WooCommerce: percent as "15", the coupon id as external id.
		c3, err := svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: w.creators["cleo"].SubjectID, StoreID: wc.ID})
		if err != nil {
			t.Fatal(err)
		}
		if c3.Code != "CLEO15" || c3.Source != attrib.SourceWooCommerce || c3.ExternalID == "" {
			t.Errorf("woo code = %+v", c3)
		}
		if cs := woo.Coupons(); len(cs) != 1 || cs[0].Amount != "15" || cs[0].DiscountType != "percent" {
			t.Errorf("woo holds %+v", cs)
		}
		// The same creator in a second campaign of the brand: ANNA15 is
		// taken at the brand, so another code.
		b := w.campaign("Summer", 500*eur, campaign.Performance{CPA: 2 * eur, CodePercentBps: 1500}, "anna")
		c4, err := svc.CreateCode(w.ctx, w.brand, b.ID, attrib.CodeDraft{CreatorID: ana, StoreID: sh.ID})
		if err != nil {
			t.Fatal(err)
		}
		if c4.Code == "ANNA15" || !strings.HasPrefix(c4.Code, "ANNA15") {
			t.Errorf("second campaign's code %q", c4.Code)
		}
		n := countCodes(t, w)
		// Refusals record nothing.
		dora := w.creators["dora"].SubjectID
		_, err = svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: ana, StoreID: sh.ID})
		wantErr(t, err, errs.Conflict, "code_exists")
		_, err = svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: dora, StoreID: bare.ID})
		wantErr(t, err, errs.Invalid, "store_has_no_api")
		_, err = svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: dora, Code: "anna15"})
		wantErr(t, err, errs.Conflict, "code_taken")
		_, err = svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: dora, Code: "no spaces"})
		wantErr(t, err, errs.Invalid, "invalid")
		_, err = svc.CreateCode(w.ctx, identity.Principal{Role: identity.RoleBrand, SubjectID: "brd_other"}, a.ID, attrib.CodeDraft{CreatorID: dora, Code: "DORA"})
		wantErr(t, err, errs.NotFound, "not_found")
		failWith = commerce.ErrCodeTaken
		_, err = svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: dora, StoreID: sh.ID})
		wantErr(t, err, errs.Conflict, "code_collision")
		failWith = fmt.Errorf("refused: %w", commerce.ErrUnauthorized)
		_, err = svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: dora, StoreID: sh.ID})
		wantErr(t, err, errs.Invalid, "store_unauthorized")
		failWith = fmt.Errorf("still throttled: %w", commerce.ErrThrottled)
		_, err = svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: dora, StoreID: sh.ID})
		wantErr(t, err, errs.Unavailable, "store_throttled")
		if got := countCodes(t, w); got != n {
			t.Errorf("%d codes after refusals, want %d", got, n)
		}
		// A hand-made code: recorded as manual, matched regardless of case.
		failWith = nil
		c5, err := svc.CreateCode(w.ctx, w.brand, a.ID, attrib.CodeDraft{CreatorID: dora, Code: "Dora-Glow"})
		if err != nil || c5.Source != attrib.SourceManual {
			t.Fatalf("manual code %+v, %v", c5, err)
		}
		o := w.convert("o-dora", "20", "DORA-GLOW", "")
		if cv := w.conversions(a.ID)[o.ID]; cv.CreatorID != dora || cv.Method != attrib.MethodCode || cv.Commission.Micros != 2*eur {
			t.Errorf("order with dora's code: %+v", cv)
		}
		w.audit()
	})
}

type failingMaker struct{ err error }

func (f failingMaker) CreateCode(context.Context, commerce.Discount) (commerce.Created, error) {
	return commerce.Created{}, f.err
}

// TestRefundsClawBack: a partial refund before release takes back commission
// pro rata from the held earning (which then releases only what is left); a
// full refund voids what is still held and returns the CPA; fees are
// reversed; the escrow gets the money back. The audit holds throughout.
func TestRefundsClawBack(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		c := w.campaign("Serum", 200*eur, campaign.Performance{CommissionBps: 1250, CPA: 3 * eur, FlatFee: 4 * eur}, "anna")
		ana := w.creators["anna"].SubjectID
		if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, c.ID, attrib.CodeDraft{CreatorID: ana, Code: "ANNA"}); err != nil {
			t.Fatal(err)
		}
		escrow := func() (remaining, spent int64) {
			st, err := w.env.App.Ledger.Escrow(w.ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return st.Remaining, st.Spent
		}
		_, spentFlat := escrow()
		if spentFlat != 4*eur {
			t.Fatalf("flat fee spent %d, want 4.00", spentFlat)
		}
		o := w.convert("o-1", "99.99", "anna", "")
		// 12.5 % of 99.99 = 12.49875 → 12.498750 (micro-units keep it exact).
		if cv := w.conversions(c.ID)[o.ID]; cv.Commission.Micros != 12_498_750 || cv.CPA.Micros != 3*eur {
			t.Fatalf("conversion %+v", cv)
		}
		w.refund("o-1", "r-1", "40")
		cv := w.conversions(c.ID)[o.ID]
		// net 59.99 → 7.49875
		if cv.Commission.Micros != 7_498_750 || cv.CPA.Micros != 3*eur || cv.Refunded.Micros != 40*eur {
			t.Fatalf("after a partial refund %+v", cv)
		}
		var com engage.Earning
		for _, e := range w.earnings(c.ID, "anna") {
			if e.Kind == engage.KindCommission {
				com = e
			}
		}
		if com.State != engage.EarningHeld || com.ClawedGross.Micros != 5*eur || com.Gross.Micros != 12_498_750 {
			t.Fatalf("commission earning %+v", com)
		}
		_, spent := escrow()
		if spent != 4*eur+7_498_750+3*eur {
			t.Errorf("escrow spent %d after the partial refund", spent)
		}
		w.audit()
		// Refund the rest: the commission and CPA earnings still held are voided.
		w.refund("o-1", "r-2", "59.99")
		cv = w.conversions(c.ID)[o.ID]
		if cv.Commission.Micros != 0 || cv.CPA.Micros != 0 {
			t.Fatalf("after a full refund %+v", cv)
		}
		for _, e := range w.earnings(c.ID, "anna") {
			if (e.Kind == engage.KindCommission || e.Kind == engage.KindCPA) && e.State != engage.EarningVoided {
				t.Errorf("earning %s (%s) is %s after a full refund", e.ID, e.Kind, e.State)
			}
		}
		if _, spent := escrow(); spent != 4*eur {
			t.Errorf("escrow spent %d, want only the flat fee", spent)
		}
		w.audit()
		// The holding period ends: only the flat fee's net reaches ana.
		w.env.Clock.Advance(8 * 24 * time.Hour)
		if _, err := w.env.App.Engage.ReleaseDue(w.ctx); err != nil {
			t.Fatal(err)
		}
		b, err := w.env.App.Ledger.Balance(w.ctx, ana, money.EUR)
		if err != nil {
			t.Fatal(err)
		}
		if b.Held != 0 || b.Debt != 0 || b.Available != 3_600_000 { // €4 less the 10 % first-campaign fee
			t.Errorf("ana's balance %+v", b)
		}
		w.audit()
	})
}

// TestAttributionRules: a code beats a click; the last click within the
// window wins among the customer's clicks; clicks after the order, of
// another brand, or unknown do not count; cancelled orders pay nothing;
// a closed campaign pays nothing but still records the conversion.
func TestAttributionRules(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		c := w.campaign("Serum", 300*eur, campaign.Performance{CommissionBps: 1000, AttributionWindowDays: 3}, "anna", "ben")
		ana, ben := w.creators["anna"].SubjectID, w.creators["ben"].SubjectID
		if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, c.ID, attrib.CodeDraft{CreatorID: ana, Code: "ANNA"}); err != nil {
			t.Fatal(err)
		}
		click := func(creatorID, placement string) string {
			t.Helper()
			l, err := w.env.App.Links.Create(w.ctx, w.brand, c.ID, links.Draft{CreatorID: creatorID, Placement: placement})
			if err != nil {
				t.Fatal(err)
			}
			resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(l.ShortURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := w.env.App.Links.Recorder.Flush(w.ctx); err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(resp.Header.Get("Location"))
			return u.Query().Get("click_id")
		}
		anaClick := click(ana, "bio")
		w.env.Clock.Advance(time.Hour)
		benClick := click(ben, "bio")
		w.env.Clock.Advance(time.Hour)
		conv := func(orderID, amount, code, clickID, customer string) attrib.Conversion {
			t.Helper()
			o, _, err := w.env.App.Orders.Convert(w.ctx, w.brand, orders.Conversion{OrderID: orderID,
				Amount: json.RawMessage(`{"amount":"` + amount + `","currency":"EUR"}`), Code: code, ClickID: clickID, CustomerID: customer})
			if err != nil {
				t.Fatal(err)
			}
			return w.conversions(c.ID)[o.ID]
		}
		if cv := conv("o1", "10", "anna", benClick, ""); cv.CreatorID != ana || cv.Method != attrib.MethodCode {
			t.Errorf("code vs click: %+v", cv)
		}
		// Customer 7 clicked ana's link, then ben's; their next order,
		// without a click id, goes to the last click: ben.
		conv("o2", "10", "", anaClick, "cust-7")
		if cv := conv("o3", "10", "", benClick, "cust-7"); cv.CreatorID != ben {
			t.Fatalf("o3: %+v", cv)
		}
		if cv := conv("o4", "20", "", "", "cust-7"); cv.CreatorID != ben || cv.Method != attrib.MethodClick || cv.ClickID != benClick {
			t.Errorf("last click of the customer: %+v", cv)
		}
		if cv := conv("o5", "10", "", "unknown-click", ""); cv.OrderID != "" {
			t.Errorf("unknown click attributed: %+v", cv)
		}
		// Three days after ben's click, his window is over, ana's too.
		w.env.Clock.Advance(3*24*time.Hour - time.Hour + time.Microsecond)
		if cv := conv("o6", "10", "", "", "cust-7"); cv.OrderID != "" {
			t.Errorf("order after every window attributed: %+v", cv)
		}
		// A click of another brand's campaign does not count.
		other := identity.Principal{Role: identity.RoleBrand}
		ob, _, err := w.env.App.Identity.CreateBrand(w.ctx, "Other")
		if err != nil {
			t.Fatal(err)
		}
		other.SubjectID = ob.ID
		o, _, err := w.env.App.Orders.Convert(w.ctx, other, orders.Conversion{OrderID: "x1", Amount: json.RawMessage(`{"amount":"10","currency":"EUR"}`),
			ClickID: anaClick, Code: "ANNA"})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := w.env.App.DB.Read().QueryRowContext(w.ctx, `SELECT COUNT(*) FROM conversions WHERE order_id = $1`, o.ID).Scan(&n); err != nil || n != 0 {
			t.Errorf("another brand's order attributed (%d, %v)", n, err)
		}
		// Closed: the campaign completes and closes; a later order with the
		// code is recorded but pays nothing.
		if _, err := w.env.App.Campaigns.Transition(w.ctx, w.brand, c.ID, campaign.ActionComplete); err != nil {
			t.Fatal(err)
		}
		if _, err := w.env.App.Engage.Close(w.ctx, w.brand, c.ID); err != nil {
			t.Fatal(err)
		}
		if cv := conv("o7", "50", "ANNA", "", ""); cv.CreatorID != ana || cv.Commission.Micros != 0 || cv.Note != "campaign_closed" {
			t.Errorf("order after close: %+v", cv)
		}
		w.audit()
	})
}

// TestPaymentsFollowOrders (property): whatever sequence of orders and
// refunds arrives (duplicates included), every conversion stands paid
// exactly floor(net × commission) and the CPA while its net is positive,
// the escrow has spent exactly what stands paid, and the audit holds.
func TestPaymentsFollowOrders(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		const bps, cpa = 1337, 1_250_000
		c := w.campaign("Serum", 1_000_000*eur, campaign.Performance{CommissionBps: bps, CPA: cpa}, "anna")
		if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, c.ID, attrib.CodeDraft{CreatorID: w.creators["anna"].SubjectID, Code: "ANNA"}); err != nil {
			t.Fatal(err)
		}
		run := 0
		rapid.Check(t, func(rt *rapid.T) {
			run++
			type order struct {
				id             string
				amount, refund int64
				refunds        int
			}
			var os []*order
			nets := map[string]int64{}
			for step := range rapid.IntRange(1, 12).Draw(rt, "steps") {
				switch op := rapid.IntRange(0, 3).Draw(rt, "op"); {
				case op == 0 || len(os) == 0:
					amt := rapid.Int64Range(1, 500_000_000).Draw(rt, "amount")
					o := &order{id: fmt.Sprintf("r%d-%d", run, step), amount: amt}
					got := w.convert(o.id, money.FormatMicros(amt), "anna", "")
					nets[got.ID] = amt
					o.id = got.ExternalID
					os = append(os, o)
					w.convert(o.id, money.FormatMicros(amt), "anna", "") // a duplicate changes nothing
				case op == 1 || op == 2:
					o := os[rapid.IntRange(0, len(os)-1).Draw(rt, "order")]
					left := o.amount - o.refund
					if left == 0 {
						continue
					}
					part := left
					if op == 1 {
						part = rapid.Int64Range(1, left).Draw(rt, "part")
					}
					o.refunds++
					o.refund += part
					w.refund(o.id, fmt.Sprintf("%s-r%d", o.id, o.refunds), money.FormatMicros(part))
				case op == 3:
					w.env.Clock.Advance(8 * 24 * time.Hour)
					if _, err := w.env.App.Engage.ReleaseDue(w.ctx); err != nil {
						rt.Fatal(err)
					}
				}
			}
			byExt := map[string]*order{}
			for _, o := range os {
				byExt[o.id] = o
			}
			var standing int64
			cvs := w.conversions(c.ID)
			for _, cv := range cvs {
				standing += cv.Commission.Micros + cv.CPA.Micros
			}
			for oid := range nets {
				o, err := w.env.App.Orders.Get(w.ctx, w.brand.BrandID(), oid)
				if err != nil {
					rt.Fatal(err)
				}
				m := byExt[o.ExternalID]
				net := m.amount - m.refund
				wantCom, wantCPA := net*bps/10_000, int64(0)
				if net > 0 {
					wantCPA = cpa
				}
				cv := cvs[oid]
				if cv.Commission.Micros != wantCom || cv.CPA.Micros != wantCPA || cv.Refunded.Micros != m.refund {
					rt.Fatalf("order %s (amount %d, refunded %d): commission %d cpa %d refunded %d, want %d %d %d",
						o.ExternalID, m.amount, m.refund, cv.Commission.Micros, cv.CPA.Micros, cv.Refunded.Micros, wantCom, wantCPA, m.refund)
				}
			}
			st, err := w.env.App.Ledger.Escrow(w.ctx, c.ID)
			if err != nil {
				rt.Fatal(err)
			}
			if st.Spent != standing {
				rt.Fatalf("escrow spent %d, conversions stand paid %d", st.Spent, standing)
			}
		})
		w.audit()
	})
}

// TestConcurrentOrders: many orders, duplicate deliveries and refunds at
// once against a small budget: the escrow never goes below zero, the
// campaign completes when it is spent, every euro spent stands paid for a
// conversion, and the audit holds.
func TestConcurrentOrders(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		c := w.campaign("Serum", 40*eur, campaign.Performance{CommissionBps: 1000, CPA: eur}, "anna", "ben")
		for _, h := range []string{"anna", "ben"} {
			if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, c.ID, attrib.CodeDraft{CreatorID: w.creators[h].SubjectID, Code: h}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errc := make(chan error, 64)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 6 {
					id := fmt.Sprintf("g%d-%d", g, i)
					code := []string{"anna", "ben"}[(g+i)%2]
					for range 2 { // each order reported twice
						_, _, err := w.env.App.Orders.Convert(w.ctx, w.brand, orders.Conversion{OrderID: id,
							Amount: json.RawMessage(`{"amount":"30","currency":"EUR"}`), Code: code})
						if err != nil {
							errc <- err
							return
						}
					}
					if i%3 == 0 {
						if _, err := w.env.App.Orders.RefundConversion(w.ctx, w.brand, id, orders.ConversionRefund{RefundID: "r",
							Amount: json.RawMessage(`{"amount":"30","currency":"EUR"}`)}); err != nil {
							errc <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		st, err := w.env.App.Ledger.Escrow(w.ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		cvs := w.conversions(c.ID)
		var standing int64
		for _, cv := range cvs {
			standing += cv.Commission.Micros + cv.CPA.Micros
			if cv.Refunded.Micros == 30*eur && cv.Commission.Micros+cv.CPA.Micros != 0 {
				t.Errorf("refunded order %s still stands paid %+v", cv.OrderID, cv)
			}
			if cv.Commission.Micros > 3*eur || cv.CPA.Micros > eur {
				t.Errorf("order %s paid more than its due: %+v", cv.OrderID, cv)
			}
			if cv.Refunded.Micros == 0 && cv.Commission.Micros+cv.CPA.Micros < 4*eur && cv.Note != attrib.NoteBudgetExhausted {
				t.Errorf("order %s paid %d of 4.00 with note %q, want budget_exhausted", cv.OrderID, cv.Commission.Micros+cv.CPA.Micros, cv.Note)
			}
		}
		if len(cvs) != 48 || st.Spent != standing || st.Spent > 40*eur || st.Remaining < 0 {
			t.Fatalf("%d conversions; escrow %+v; standing %d", len(cvs), st, standing)
		}
		camp, err := w.env.App.Campaigns.Get(w.ctx, w.brand, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		// 32 unrefunded orders want €4 each (€128) from €40: the budget runs out.
		if camp.State != campaign.StateCompleted || camp.StateReason != campaign.CompletedBudget {
			t.Errorf("campaign %s (%s), want completed by budget", camp.State, camp.StateReason)
		}
		w.audit()
	})
}
