package ledger_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

// TestAccrualRecordedBeforeLeanLayoutReplays: an accrual recorded before
// migration 0010 (JSON request hash and result, entries in ledger_entries)
// still replays its stored result, and its key still refuses another request.
func TestAccrualRecordedBeforeLeanLayoutReplays(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		must(l.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_a", BrandID: "brd_a", Amount: money.New(100_000_000, money.EUR)}))(t)
		item := ledger.AccrueItem{Key: "old-1", CreatorID: "crt_1", Amount: 5_000_000, Cap: 9_000_000, Ref: "post 1"}
		// As the old code stored a zero grant (so no entries and no balance change).
		old := ledger.AccrueResult{TxID: "ltx_0legacy0000000000000000000", CreatorID: "crt_1", Requested: 5_000_000, CapReached: true}
		result, err := json.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		execSQL(t, db, `INSERT INTO ledger_transactions (id, idem_key, request_hash, kind, campaign_id, brand_id, creator_id, result, created_at)
			VALUES ($1, $2, $3, 'accrue', 'cmp_a', 'brd_a', 'crt_1', $4, 1)`, old.TxID, item.Key, ledger.LegacyAccrueHash("cmp_a", item), string(result))
		got := must(l.Accrue(ctx, "cmp_a", item))(t)
		old.Key, old.Replayed = item.Key, true
		if got != old {
			t.Fatalf("replay of a legacy accrual:\n got %+v\nwant %+v", got, old)
		}
		other := item
		other.Amount++
		_, err = l.Accrue(ctx, "cmp_a", other)
		if errs.CodeOf(err) != "idempotency_key_reused" {
			t.Fatalf("legacy key reused for another request: %v", err)
		}
		requireAuditOK(t, l)
	})
}

// TestAccrualReplayRebuildsResult: a replayed accrual, whose result is
// rebuilt from its row, equals the first answer in every field, including
// the escrow-exhausted and cap-reached flags and a zero grant.
func TestAccrualReplayRebuildsResult(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		t.Parallel()
		ctx := context.Background()
		l, _ := newLedger(t, db)
		must(l.Fund(ctx, ledger.FundRequest{Key: "f", CampaignID: "cmp_a", BrandID: "brd_a", Amount: money.New(10_000_000, money.EUR)}))(t)
		items := []ledger.AccrueItem{
			{Key: "a", CreatorID: "crt_1", Amount: 3_000_000, Cap: 2_000_000, Ref: "capped"},
			{Key: "b", CreatorID: "crt_2", Amount: 1},
			{Key: "c", CreatorID: "crt_2", Amount: 9_000_000, Ref: "exhausts"},
			{Key: "d", CreatorID: "crt_1", Amount: 4_000_000, Ref: "nothing left"},
		}
		first := must(l.AccrueBatch(ctx, "cmp_a", items))(t)
		if !first[0].CapReached || first[1].Fee != 0 || !first[2].EscrowExhausted || first[3].Granted != 0 {
			t.Fatalf("fixture does not cover the flags: %+v", first)
		}
		again := must(l.AccrueBatch(ctx, "cmp_a", items))(t)
		for i := range items {
			want := first[i]
			want.Replayed = true
			if again[i] != want {
				t.Errorf("item %d replayed as %+v, want %+v", i, again[i], want)
			}
		}
		requireAuditOK(t, l)
	})
}
