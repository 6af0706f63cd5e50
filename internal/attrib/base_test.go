package attrib_test

import (
	"fmt"
	"testing"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store/storetest"
)

// TestCommissionBase (issue 14, item 11): by default a campaign's
// commission is on the order less the tax and shipping the store reports
// (Shopify total_tax_set / total_shipping_price_set in shop money,
// WooCommerce total_tax / shipping_total), reduced by refunds in
// proportion to the total; a campaign with commission_base "total" pays on
// the whole total less refunds, as before. To the micro-unit, on both
// stores; the audit holds.
func TestCommissionBase(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL)
		net := w.campaign("Net", 1000*eur, campaign.Performance{CommissionBps: 1000}, "anna")
		total := w.campaign("Total", 1000*eur, campaign.Performance{CommissionBps: 1000, CommissionBase: campaign.CommissionBaseTotal}, "ben")
		for _, x := range []struct{ camp, creator, code string }{{net.ID, "anna", "ANNA"}, {total.ID, "ben", "BEN"}} {
			if _, err := w.env.App.Attrib.CreateCode(w.ctx, w.brand, x.camp, attrib.CodeDraft{CreatorID: w.creators[x.creator].SubjectID, Code: x.code}); err != nil {
				t.Fatal(err)
			}
		}
		shop := w.store(orders.StoreDraft{Platform: orders.Shopify, ShopDomain: "amounts.myshopify.com", WebhookSecret: shopSecret})
		woo := w.store(orders.StoreDraft{Platform: orders.WooCommerce, SiteURL: "https://amounts.example", WebhookSecret: wooSecret})
		set := func(a string) string {
			return fmt.Sprintf(`{"shop_money":{"amount":%q,"currency_code":"EUR"},"presentment_money":{"amount":%q,"currency_code":"EUR"}}`, a, a)
		}
		// 121.00 = 90.00 of goods + 19.00 tax + 12.00 shipping.
		shopOrder := func(id, code string) []byte {
			return fmt.Appendf(nil, `{"id":%s,"created_at":"2026-11-02T08:00:00Z","updated_at":"2026-11-02T08:00:00Z","currency":"EUR",
				"total_price":"121.00","total_price_set":%s,"total_tax":"19.00","total_tax_set":%s,"total_shipping_price_set":%s,
				"financial_status":"paid","discount_codes":[{"code":%q}]}`, id, set("121.00"), set("19.00"), set("12.00"), code)
		}
		wooOrder := func(id int, code, refund string) []byte {
			return fmt.Appendf(nil, `{"id":%d,"status":"processing","currency":"EUR","total":"121.00","total_tax":"19.00","shipping_total":"12.00",
				"customer_id":0,"coupon_lines":[{"code":%q}],"date_created_gmt":"2026-11-02T08:00:00","date_modified_gmt":"2026-11-02T08:00:%s",
				"refunds":[%s]}`, id, code, map[bool]string{true: "01", false: "00"}[refund != ""], refund)
		}
		receive := func(platform, storeID, topic, d string, body []byte) {
			t.Helper()
			h := shopifyDelivery(topic, d, body)
			if platform == orders.WooCommerce {
				h = wooDelivery(topic, d, body)
			}
			if rc, err := w.env.App.Orders.Receive(w.ctx, platform, storeID, h, body); err != nil || rc.Outcome != orders.OutcomeProcessed {
				t.Fatalf("%s %s: %+v, %v", topic, d, rc, err)
			}
		}
		receive(orders.Shopify, shop.ID, "orders/paid", "s1", shopOrder("1", "anna"))
		receive(orders.Shopify, shop.ID, "orders/paid", "s2", shopOrder("2", "ben"))
		receive(orders.WooCommerce, woo.ID, "order.created", "w1", wooOrder(11, "anna", ""))
		receive(orders.WooCommerce, woo.ID, "order.created", "w2", wooOrder(12, "ben", ""))
		commission := func(campaignID, ext string) int64 {
			t.Helper()
			for _, cv := range w.conversions(campaignID) {
				if cv.ExternalID == ext {
					if cv.Commission.Currency != money.EUR {
						t.Fatalf("commission %v", cv.Commission)
					}
					return cv.Commission.Micros
				}
			}
			t.Fatalf("no conversion of %s", ext)
			return 0
		}
		for _, c := range []struct {
			camp, ext string
			want      int64
		}{{net.ID, "1", 9_000_000}, {total.ID, "2", 12_100_000}, {net.ID, "11", 9_000_000}, {total.ID, "12", 12_100_000}} {
			if got := commission(c.camp, c.ext); got != c.want {
				t.Errorf("order %s: commission %d, want %d", c.ext, got, c.want)
			}
		}
		// 40.00 refunded of 121.00: net base 90.00 × 81/121 = 60.247933.
		receive(orders.Shopify, shop.ID, "refunds/create", "s1-r", shopRefund("1", "1", "40.00"))
		receive(orders.Shopify, shop.ID, "refunds/create", "s2-r", shopRefund("2", "2", "40.00"))
		receive(orders.WooCommerce, woo.ID, "order.updated", "w1-r", wooOrder(11, "anna", `{"id":901,"total":"-40.00"}`))
		receive(orders.WooCommerce, woo.ID, "order.updated", "w2-r", wooOrder(12, "ben", `{"id":902,"total":"-40.00"}`))
		for _, c := range []struct {
			camp, ext string
			want      int64
		}{{net.ID, "1", 6_024_793}, {total.ID, "2", 8_100_000}, {net.ID, "11", 6_024_793}, {total.ID, "12", 8_100_000}} {
			if got := commission(c.camp, c.ext); got != c.want {
				t.Errorf("order %s after a refund of 40.00: commission %d, want %d", c.ext, got, c.want)
			}
		}
		// The rest refunded: nothing left on either base.
		receive(orders.Shopify, shop.ID, "refunds/create", "s1-r2", shopRefund("3", "1", "81.00"))
		receive(orders.Shopify, shop.ID, "refunds/create", "s2-r2", shopRefund("4", "2", "81.00"))
		for _, c := range []struct{ camp, ext string }{{net.ID, "1"}, {total.ID, "2"}} {
			if got := commission(c.camp, c.ext); got != 0 {
				t.Errorf("order %s refunded in full: commission %d", c.ext, got)
			}
		}
		for _, camp := range []string{net.ID, total.ID} {
			var standing int64
			for _, cv := range w.conversions(camp) {
				standing += cv.Commission.Micros + cv.CPA.Micros
			}
			if st, err := w.env.App.Ledger.Escrow(w.ctx, camp); err != nil || st.Spent != standing {
				t.Errorf("campaign %s: escrow %+v (%v), conversions stand paid %d", camp, st, err, standing)
			}
		}
		w.audit()
	})
}
