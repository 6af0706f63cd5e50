package fraud

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestDetectClicksAndSalesTx runs DetectClicksTx and DetectSalesTx over
// clicks, orders and conversions stored as payper stores them: a click-farm
// creator and a self-purchasing one are flagged, an honest one is not, and
// the flags hold their earnings in the campaign; Sweep finds the campaign
// and raises each flag once.
func TestDetectClicksAndSalesTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const hour = int64(3600e6)
		day := int64(1_800_000_000e6)
		day -= day % (24 * hour)
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Writer().ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`INSERT INTO brands (id, name, created_at) VALUES ('brd_1', 'Brand', 1)`)
		exec(`INSERT INTO campaigns (id, brand_id, name, currency, budget, state, created_at, updated_at) VALUES ('cmp_1', 'brd_1', 'C', 'EUR', 1000000000, 'active', 1, 1)`)
		for _, c := range []string{"crt_h", "crt_f", "crt_s"} {
			exec(`INSERT INTO creators (id, name, created_at) VALUES ($1, $1, 1)`, c)
			exec(`INSERT INTO links (id, slug, campaign_id, creator_id, placement, medium, destination, utm_source, utm_campaign, created_at)
				VALUES ($1, $2, 'cmp_1', $3, 'bio', 'influencer', 'https://shop.example/', 'payper', 'c', 1)`, "lnk_"+c, "s"+c, c)
		}
		exec(`INSERT INTO users (id, email, email_key, password_hash, kind, creator_id, password_changed_at, created_at)
			VALUES ('usr_s', 'Sam.Seller@gmail.com', 'sam.seller@gmail.com', 'x', 'creator', 'crt_s', 1, 1)`)
		var rows [][]any
		click := func(creator string, i int, at int64, visitor string, bot, unique bool) {
			rows = append(rows, []any{"lnk_" + creator, fmt.Sprintf("%s_%d", creator, i), at, visitor, "", "mobile", "", bot, unique})
		}
		for i := range 200 { // honest: 200 visitors
			click("crt_h", i, day+int64(i)*60e6, fmt.Sprint("h", i), false, true)
		}
		for i := range 300 { // farm: 10 devices over 5 hours
			click("crt_f", i, day+int64(i)*60e6, fmt.Sprint("f", i%10), i%7 == 0, i < 10 && i%7 != 0)
		}
		for i := range 40 {
			click("crt_s", i, day+int64(i)*600e6, fmt.Sprint("s", i), false, true)
		}
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			return tx.BulkInsert(ctx, "clicks", []string{"link_id", "click_id", "at", "visitor", "country", "device", "referrer_host", "bot", "is_unique"}, rows)
		}); err != nil {
			t.Fatal(err)
		}
		order := func(id, creator string, clicked, placed int64) {
			exec(`INSERT INTO orders (id, brand_id, channel, source, external_id, amount, currency, discount_codes, customer_id, click_id, status, placed_at, received_at, updated_at, request_hash)
				VALUES ($1, 'brd_1', 'api', 'api', $1, 10000000, 'EUR', '[]', '', '', 'paid', $2, $2, $2, '')`, id, placed)
			exec(`INSERT INTO conversions (order_id, brand_id, campaign_id, creator_id, method, clicked_at, amount, currency, status, placed_at, created_at, updated_at)
				VALUES ($1, 'brd_1', 'cmp_1', $2, 'click', $3, 10000000, 'EUR', 'paid', $4, $4, $4)`, id, creator, clicked, placed)
		}
		for i := range 3 {
			order(fmt.Sprint("ord_h", i), "crt_h", day+int64(i)*hour, day+int64(i)*hour+900e6)
		}
		for i := range 4 { // within 4 s of the click
			order(fmt.Sprint("ord_s", i), "crt_s", day+int64(i)*hour, day+int64(i)*hour+4e6)
		}
		now := clock.Micros(day + 24*hour)
		var clicksFlags, salesFlags []Flag
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			if clicksFlags, err = DetectClicksTx(ctx, tx, now, "cmp_1", clock.Micros(day), now); err != nil {
				return err
			}
			salesFlags, err = DetectSalesTx(ctx, tx, now, "cmp_1", clock.Micros(day), now, 3)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(clicksFlags) != 1 || clicksFlags[0].CreatorID != "crt_f" || clicksFlags[0].Detector != DetectorClickFarm {
			t.Errorf("click flags %+v", clicksFlags)
		}
		got := map[string]string{}
		for _, f := range salesFlags {
			got[f.Detector] = f.CreatorID
		}
		if len(salesFlags) != 1 || got[DetectorCTIT] != "crt_s" {
			t.Errorf("sales flags %+v", salesFlags)
		}
		// The sweep over the same day finds the campaign and raises nothing
		// new; over the next day (no clicks, no orders) nothing at all.
		res, err := Sweep(ctx, db, now, 24*time.Hour, 3)
		if err != nil || res.Campaigns != 1 || len(res.Flags) != 0 {
			t.Errorf("sweep of the same day: %+v, %v", res, err)
		}
		if res, err := Sweep(ctx, db, now+clock.Micros(24*hour), 24*time.Hour, 3); err != nil || res.Campaigns != 0 || len(res.Flags) != 0 {
			t.Errorf("sweep of the next day: %+v, %v", res, err)
		}
		if !holds(t, db, "ern_f", "cmp_1", "crt_f", day+hour) || !holds(t, db, "ern_s", "cmp_1", "crt_s", day+hour) || holds(t, db, "ern_h", "cmp_1", "crt_h", day+hour) {
			t.Error("holds: the farm's and the self-buyer's earnings held, the honest creator's not")
		}
	})
}

// TestSweepRaises: a sweep over a fresh day raises the click farm's and the
// too-soon orders' flags itself.
func TestSweepRaises(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		day := int64(1_800_000_000e6)
		day -= day % (24 * 3600e6)
		for _, q := range []string{
			`INSERT INTO brands (id, name, created_at) VALUES ('brd_1', 'Brand', 1)`,
			`INSERT INTO campaigns (id, brand_id, name, currency, budget, state, created_at, updated_at) VALUES ('cmp_1', 'brd_1', 'C', 'EUR', 1000000000, 'active', 1, 1)`,
			`INSERT INTO creators (id, name, created_at) VALUES ('crt_f', 'F', 1)`,
			`INSERT INTO links (id, slug, campaign_id, creator_id, placement, medium, destination, utm_source, utm_campaign, created_at)
				VALUES ('lnk_f', 'sf', 'cmp_1', 'crt_f', 'bio', 'influencer', 'https://shop.example/', 'payper', 'c', 1)`,
		} {
			if _, err := db.Writer().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		var rows [][]any
		for i := range 150 {
			rows = append(rows, []any{"lnk_f", fmt.Sprint("f", i), day + int64(i)*60e6, fmt.Sprint("d", i%5), "", "mobile", "", false, i < 5})
		}
		if err := db.WithTx(ctx, func(tx *store.Tx) error {
			return tx.BulkInsert(ctx, "clicks", []string{"link_id", "click_id", "at", "visitor", "country", "device", "referrer_host", "bot", "is_unique"}, rows)
		}); err != nil {
			t.Fatal(err)
		}
		res, err := Sweep(ctx, db, clock.Micros(day+24*3600e6), 24*time.Hour, 3)
		if err != nil || res.Campaigns != 1 || len(res.Flags) != 1 || res.Flags[0].Detector != DetectorClickFarm || res.Flags[0].CreatorID != "crt_f" {
			t.Fatalf("sweep: %+v, %v", res, err)
		}
	})
}
