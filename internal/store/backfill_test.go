package store_test

import (
	"context"
	"database/sql"
	"strconv"
	"testing"

	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestRollupBackfill: a database holding clicks, engagement earnings and
// read posts from before the rollups existed (migrations up to 0014) gets
// them summarized when migration 0015 runs, so reports and link counts do
// not lose the history.
func TestRollupBackfill(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, url string) {
		ctx := context.Background()
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ms, err := store.Migrations(db.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		exec := func(q string, args ...any) {
			t.Helper()
			if _, err := db.Writer().ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		for _, m := range ms {
			if m.Version >= 15 {
				break
			}
			exec(m.SQL)
			exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)`, m.Version, m.Name)
		}
		const day = int64(86_400_000_000)
		d := 20_000 * day // a day in 2024
		exec(`INSERT INTO brands (id, name, created_at) VALUES ('brd_1', 'Glow', 0)`)
		exec(`INSERT INTO creators (id, name, country, created_at) VALUES ('crt_1', 'Ana', 'DE', 0)`)
		exec(`INSERT INTO campaigns (id, brand_id, name, currency, budget, state, created_at, updated_at) VALUES ('cmp_1', 'brd_1', 'S', 'EUR', 100000000, 'open', 0, 0)`)
		exec(`INSERT INTO links (id, slug, campaign_id, creator_id, placement, medium, destination, utm_source, utm_campaign, created_at)
			VALUES ('lnk_1', 'abc', 'cmp_1', 'crt_1', 'bio', 'influencer', 'https://glow.example', 'ana', 's', 0)`)
		for i, c := range []struct {
			at          int64
			bot, unique bool
		}{{d + 1, false, true}, {d + 2, false, false}, {d + 3, true, false}, {d + day + 5, false, true}} {
			exec(`INSERT INTO clicks (link_id, click_id, at, visitor, country, device, referrer_host, bot, is_unique)
				VALUES ('lnk_1', $1, $2, 'v', 'DE', 'mobile', '', $3, $4)`, string(rune('a'+i)), c.at, c.bot, c.unique)
		}
		exec(`INSERT INTO posts (id, campaign_id, creator_id, account_ref, platform, media_id, published_at, state, submitted_at)
			VALUES ('pst_1', 'cmp_1', 'crt_1', 'acc_1', 'sandbox', 'm1', 0, 'live', 0)`)
		exec(`INSERT INTO post_marks (post_id, campaign_id, hwm_views, hwm_likes, hwm_comments, last_polled_at, next_poll_at) VALUES ('pst_1', 'cmp_1', 900, 40, 3, $1, 60)`, d+day+9)
		exec(`INSERT INTO posts (id, campaign_id, creator_id, account_ref, platform, media_id, published_at, state, submitted_at)
			VALUES ('pst_2', 'cmp_1', 'crt_1', 'acc_1', 'sandbox', 'm2', 0, 'removed', 0)`)
		exec(`INSERT INTO post_marks (post_id, campaign_id, hwm_views, billed, next_poll_at) VALUES ('pst_2', 'cmp_1', 7, 1234, 40)`)
		exec(`INSERT INTO posts (id, campaign_id, creator_id, account_ref, platform, media_id, published_at, state, submitted_at)
			VALUES ('pst_3', 'cmp_1', 'crt_1', 'acc_1', 'sandbox', $1, 0, 'live', 0)`, "odd%09\tid\n")
		exec(`INSERT INTO post_marks (post_id, campaign_id, hwm_saves, failures, next_poll_at) VALUES ('pst_3', 'cmp_1', 5, 2, 50)`)
		exec(`INSERT INTO post_snapshots (post_id, taken_at, views, likes, comments, shares, saves, billable) VALUES ('pst_1', $1, 900, 40, 3, NULL, 0, TRUE)`, d+day+9)
		for i, e := range []struct {
			net, fee int64
			state    string
		}{{9_000_000, 1_000_000, "released"}, {4_500_000, 500_000, "held"}, {1_800_000, 200_000, "voided"}} {
			exec(`INSERT INTO earnings (id, campaign_id, creator_id, currency, requested, gross, fee, net, detail, accrue_tx_id, state, accrued_at, release_at)
				VALUES ($1, 'cmp_1', 'crt_1', 'EUR', $2, $2, $3, $4, '[]', 'ltx', $5, $6, 0)`, "ern_"+string(rune('a'+i)), e.net+e.fee, e.fee, e.net, e.state, d+10)
		}
		exec(`INSERT INTO earnings (id, campaign_id, creator_id, currency, requested, gross, fee, net, detail, accrue_tx_id, state, accrued_at,
			release_at, kind, source_id, clawed_gross, clawed_net) VALUES ('ern_k', 'cmp_1', 'crt_1', 'EUR', 3000000, 3000000, 300000, 2700000, '[]', 'ltx',
			'held', $1, 0, 'commission', 'ord_1', 1000000, 900000)`, d+20)
		exec(`INSERT INTO orders (id, brand_id, channel, source, external_id, amount, currency, discount_codes, customer_id, click_id, status,
			placed_at, received_at, updated_at, request_hash) VALUES ('ord_1', 'brd_1', 'api', 'api', 'A1', 50000000, 'EUR', '["ANA"]', '', '', 'paid', $1, $1, $1, '')`, d+30)
		exec(`INSERT INTO conversions (order_id, brand_id, campaign_id, creator_id, method, code, amount, currency, refunded, status, placed_at,
			created_at, updated_at) VALUES ('ord_1', 'brd_1', 'cmp_1', 'crt_1', 'code', 'ANA', 50000000, 'EUR', 10000000, 'paid', $1, $1, $1)`, d+30)
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		type row struct {
			placement                                   string
			day, human, bot, unique, views, likes, earn int64
			commission, fees, conversions, revenue      int64
		}
		rows, err := store.QueryAll(ctx, db.Read(), func(r store.Scanner) (row, error) {
			var x row
			return x, r.Scan(&x.placement, &x.day, &x.human, &x.bot, &x.unique, &x.views, &x.likes, &x.earn, &x.commission, &x.fees, &x.conversions, &x.revenue)
		}, `SELECT placement, day, clicks_human, clicks_bot, clicks_unique, views, likes, earn_interactions, earn_commission, fees,
			conversions, revenue FROM rollups
			WHERE campaign_id = 'cmp_1' ORDER BY placement, day`)
		if err != nil {
			t.Fatal(err)
		}
		want := []row{
			// The voided earning returned its money; the commission lost
			// 1.00 gross (0.90 net) to a refund; the code sale is net of it.
			{"", 20_000, 0, 0, 0, 0, 0, 13_500_000, 1_800_000, 1_700_000, 1, 40_000_000},
			{"", 20_001, 0, 0, 0, 900, 40, 0, 0, 0, 0, 0}, // high-water marks, on the last read's day
			{"bio", 20_000, 2, 1, 1, 0, 0, 0, 0, 0, 0, 0},
			{"bio", 20_001, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0},
		}
		if len(rows) != len(want) {
			t.Fatalf("rollups %+v, want %+v", rows, want)
		}

		// 0018 and 0019: the billing state of a creator's posts in a
		// campaign is one creator_marks row, a line per post keeping its
		// account, platform, media id (escaped), liveness and marks; the
		// row's next poll is the earliest of its live posts.
		var next, version int64
		var text string
		if err := db.Read().QueryRowContext(ctx, `SELECT next_poll_at, version, marks FROM creator_marks WHERE campaign_id = 'cmp_1' AND creator_id = 'crt_1'`).
			Scan(&next, &version, &text); err != nil {
			t.Fatal(err)
		}
		wantText := "pst_1\tacc_1\tsandbox\tm1\t1\t900\t40\t3\t0\t0\t0\t" + strconv.FormatInt(d+day+9, 10) + "\t60\t0\n" +
			"pst_2\tacc_1\tsandbox\tm2\t0\t7\t0\t0\t0\t0\t1234\t0\t40\t0\n" +
			"pst_3\tacc_1\tsandbox\todd%2509%09id%0A\t1\t0\t0\t0\t0\t5\t0\t0\t50\t2\n"
		if next != 50 || version != 0 || text != wantText {
			t.Errorf("creator_marks after 0019: next %d, version %d, marks\n%q\nwant next 50, version 0, marks\n%q", next, version, text, wantText)
		}
		var n int
		if err := db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM creator_marks`).Scan(&n); err != nil || n != 1 {
			t.Errorf("creator_marks rows: %d, %v; want 1", n, err)
		}
		var snapViews, snapAt int64
		var shares sql.NullInt64
		if err := db.Read().QueryRowContext(ctx, `SELECT views, taken_at, shares FROM post_snapshots WHERE post_id = 'pst_1'`).Scan(&snapViews, &snapAt, &shares); err != nil ||
			snapViews != 900 || snapAt != d+day+9 || shares.Valid {
			t.Errorf("snapshot after 0018: views %d at %d, shares %v, %v", snapViews, snapAt, shares, err)
		}
		for i := range want {
			if rows[i] != want[i] {
				t.Errorf("row %d: %+v, want %+v", i, rows[i], want[i])
			}
		}
	})
}
