package ledger_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store/storetest"
)

// FuzzAccrueItem feeds arbitrary accrual items to AccrueBatch, one after
// another on one SQLite ledger, and holds every outcome (validation error,
// replay, conflict, grant to the micro-unit) to the model of model_test.go.
// Run it with: go test -run '^$' -fuzz FuzzAccrueItem ./internal/ledger/
func FuzzAccrueItem(f *testing.F) {
	f.Add("k1", "crt_1", int64(1_000_000), int64(0), "post_1")
	f.Add("k1", "crt_1", int64(1_000_000), int64(0), "post_1") // a replay
	f.Add("k1", "crt_1", int64(2_000_000), int64(0), "post_1") // a conflict
	f.Add("", "crt_1", int64(1), int64(0), "")
	f.Add("k2", "crt:1", int64(5), int64(-1), "")
	f.Add("k3", "crt_2", int64(0), int64(3), "")
	f.Add("k4", "crt_2", int64(-7), int64(3), "")
	f.Add(strings.Repeat("k", 256), "crt_3", int64(9), int64(0), "")
	f.Add("k\x00", "crt_3", int64(9), int64(0), "")
	f.Add("k5", "crt_4", int64(math.MaxInt64), int64(1), "")
	f.Add("k6", "crt_4", int64(math.MaxInt64), int64(0), "all of it")
	f.Add("k7", strings.Repeat("c", 101), int64(1), int64(0), "")
	f.Add("k8", "\x9a\x9e\"\xcb0", int64(5), int64(22), "0") // found by fuzzing: not UTF-8
	f.Add("k\xff", "crt_5", int64(5), int64(0), "")

	ctx := context.Background()
	db := storetest.Open(f, storetest.SQLiteURL(f))
	l, err := ledger.New(db, clock.NewFake(modelEpoch), ledger.DefaultConfig)
	if err != nil {
		f.Fatal(err)
	}
	m := newModel(modelEpoch)
	fund := ledger.FundRequest{Key: "fund", CampaignID: "cmp_f", BrandID: "brd_f", Amount: money.New(100_000_000, money.EUR)}
	want, next, _ := m.fund(fund)
	got, err := l.Fund(ctx, fund)
	if err != nil || got.Funded != want.Funded {
		f.Fatalf("fund: %+v, %v", got, err)
	}
	next.remember(fund.Key, opFund, fundKeyless(fund), got)
	m = next

	f.Fuzz(func(t *testing.T, key, creator string, amount, capAmount int64, ref string) {
		if !utf8.ValidString(ref) {
			t.Skip("the request hash is of JSON, which cannot tell invalid UTF-8 strings apart")
		}
		item := ledger.AccrueItem{Key: key, CreatorID: creator, Amount: amount, Cap: capAmount, Ref: ref}
		want, _, next, werr := m.accrue("cmp_f", []ledger.AccrueItem{item})
		got, err := l.AccrueBatch(ctx, "cmp_f", []ledger.AccrueItem{item})
		switch {
		case werr != nil:
			if errs.KindOf(err) != werr.kind || errs.CodeOf(err) != werr.code {
				t.Fatalf("AccrueBatch(%+v): %v (%s/%s), model expects %s", item, err, errs.KindOf(err), errs.CodeOf(err), werr)
			}
			return
		case err != nil:
			t.Fatalf("AccrueBatch(%+v): %v", item, err)
		}
		if next != nil {
			want[0].TxID = got[0].TxID
		}
		if !slices.Equal(got, want) {
			t.Fatalf("AccrueBatch(%+v):\n got %+v\nwant %+v", item, got, want)
		}
		if next != nil {
			next.remember(key, opAccrue, itemKeyless("cmp_f", item), got[0])
			m = next
		}
		st, err := l.Escrow(ctx, "cmp_f")
		if err != nil || st.Spent != m.escrows["cmp_f"].spent || st.Fees != floorFee(st.Spent, st.FeeBps) || st.Remaining < 0 {
			t.Fatalf("escrow %+v (%v), model spent %d", st, err, m.escrows["cmp_f"].spent)
		}
	})
}
