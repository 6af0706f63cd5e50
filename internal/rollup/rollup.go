// Package rollup keeps the daily counters reports read (table rollups, see
// migration 0015). Each event that changes a counter — clicks written,
// engagement read, earnings made or clawed back, an order attributed or
// refunded, ad results imported — adds its delta in its own transaction, so
// the rollups always agree with what they summarize and reports never scan
// raw rows. The same flush keeps each campaign's day totals (table
// rollup_days, migration 0049), which the daily series reads.
package rollup

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/payper/payper/internal/store"
)

// Col is one counter of a rollup row.
type Col int

// The counters, in the order of Cols.
const (
	Views Col = iota
	Likes
	Comments
	Shares
	Saves
	ClicksHuman
	ClicksBot
	ClicksUnique
	Conversions
	Redemptions
	OtherCurrency
	Revenue
	Refunded
	EarnInteractions
	EarnCommission
	EarnCPA
	EarnFlatFee
	Fees
	AdSpend
	AdImpressions
	AdClicks
	AdPurchases
	AdRevenue
	NumCols
)

// Cols are the counters' column names, indexed by Col.
var Cols = [NumCols]string{"views", "likes", "comments", "shares", "saves", "clicks_human", "clicks_bot", "clicks_unique",
	"conversions", "redemptions", "other_currency", "revenue", "refunded", "earn_interactions", "earn_commission", "earn_cpa",
	"earn_flat_fee", "fees", "ad_spend", "ad_impressions", "ad_clicks", "ad_purchases", "ad_revenue"}

// EarnCol is the earnings counter of an earning kind (interactions,
// commission, cpa, flat_fee); -1 for another kind.
func EarnCol(kind string) Col {
	switch kind {
	case "interactions":
		return EarnInteractions
	case "commission":
		return EarnCommission
	case "cpa":
		return EarnCPA
	case "flat_fee":
		return EarnFlatFee
	}
	return -1
}

// Key names a rollup row.
type Key struct {
	Campaign, Creator, Placement string
	Day                          int64 // days since 1970-01-01 UTC
}

// microsPerDay is a day in microseconds.
const microsPerDay = 86_400_000_000

// DayOf returns the UTC day (days since 1970-01-01) of a time in unix
// microseconds.
func DayOf(micros int64) int64 {
	d := micros / microsPerDay
	if micros%microsPerDay < 0 {
		d--
	}
	return d
}

// DayStart returns the first microsecond of day.
func DayStart(day int64) int64 { return day * microsPerDay }

// Delta is what to add to one row.
type Delta struct {
	Key
	V [NumCols]int64
}

// Batch gathers deltas, merging those of the same row.
type Batch struct {
	rows map[Key]*[NumCols]int64
}

// Add adds v to counter c of the row k.
func (b *Batch) Add(k Key, c Col, v int64) {
	if v == 0 || c < 0 || c >= NumCols {
		return
	}
	if b.rows == nil {
		b.rows = map[Key]*[NumCols]int64{}
	}
	r := b.rows[k]
	if r == nil {
		r = new([NumCols]int64)
		b.rows[k] = r
	}
	r[c] += v
}

// Len is how many rows the batch touches.
func (b *Batch) Len() int { return len(b.rows) }

// Flush adds the batch to the rollups inside tx (rows in a fixed order, so
// concurrent transactions never deadlock on them). The batch is kept, so a
// transaction retried from the start flushes it again. It returns the
// database's error.
func (b *Batch) Flush(ctx context.Context, tx *store.Tx) error {
	if len(b.rows) == 0 {
		return nil
	}
	keys := make([]Key, 0, len(b.rows))
	for k, r := range b.rows {
		if *r != ([NumCols]int64{}) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, c Key) int {
		return cmpKeys(a, c)
	})
	// The campaign's day totals (table rollup_days, migration 0049): the
	// same deltas summed per (campaign, day), after the per-creator rows
	// and in the same order on every flush.
	days := map[Key]*[NumCols]int64{}
	var dayKeys []Key
	for _, k := range keys {
		dk := Key{Campaign: k.Campaign, Day: k.Day}
		d := days[dk]
		if d == nil {
			d = new([NumCols]int64)
			days[dk] = d
			dayKeys = append(dayKeys, dk)
		}
		for i, v := range b.rows[k] {
			d[i] += v
		}
	}
	const perStmt = 50
	for len(keys) > 0 {
		n := min(len(keys), perStmt)
		if err := upsert(ctx, tx, keys[:n], b.rows); err != nil {
			return err
		}
		keys = keys[n:]
	}
	dayKeys = slices.DeleteFunc(dayKeys, func(k Key) bool { return *days[k] == ([NumCols]int64{}) })
	slices.SortFunc(dayKeys, cmpKeys)
	for len(dayKeys) > 0 {
		n := min(len(dayKeys), perStmt)
		if err := upsertDays(ctx, tx, dayKeys[:n], days); err != nil {
			return err
		}
		dayKeys = dayKeys[n:]
	}
	return nil
}

func cmpKeys(a, b Key) int {
	if c := strings.Compare(a.Campaign, b.Campaign); c != 0 {
		return c
	}
	if c := strings.Compare(a.Creator, b.Creator); c != 0 {
		return c
	}
	if c := strings.Compare(a.Placement, b.Placement); c != 0 {
		return c
	}
	switch {
	case a.Day < b.Day:
		return -1
	case a.Day > b.Day:
		return 1
	}
	return 0
}

var upsertTail, upsertDaysTail = tail("rollups", "campaign_id, creator_id, placement, day"), tail("rollup_days", "campaign_id, day")

func tail(table, key string) string {
	var b strings.Builder
	fmt.Fprintf(&b, " ON CONFLICT (%s) DO UPDATE SET ", key)
	for i, c := range Cols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = %s.%s + excluded.%s", c, table, c, c)
	}
	return b.String()
}

// upsertDays adds the campaigns' day totals to rollup_days.
func upsertDays(ctx context.Context, tx *store.Tx, keys []Key, rows map[Key]*[NumCols]int64) error {
	err := upsertInto(ctx, tx, "rollup_days (campaign_id, day, ", 2, upsertDaysTail, keys, rows,
		func(k Key, args []any) []any { return append(args, k.Campaign, k.Day) })
	if err != nil {
		return fmt.Errorf("rollup: upsert %d day totals: %w", len(keys), err)
	}
	return nil
}

// upsert adds rows to rollups, per campaign, creator, placement and day.
func upsert(ctx context.Context, tx *store.Tx, keys []Key, rows map[Key]*[NumCols]int64) error {
	err := upsertInto(ctx, tx, "rollups (campaign_id, creator_id, placement, day, ", 4, upsertTail, keys, rows,
		func(k Key, args []any) []any { return append(args, k.Campaign, k.Creator, k.Placement, k.Day) })
	if err != nil {
		return fmt.Errorf("rollup: upsert %d rows: %w", len(keys), err)
	}
	return nil
}

// upsertInto writes one multi-row INSERT … ON CONFLICT into target (the
// table and its nkey key columns, open-ended for Cols), each row's key
// values appended by keyArgs and then its counters.
func upsertInto(ctx context.Context, tx *store.Tx, target string, nkey int, tail string, keys []Key, rows map[Key]*[NumCols]int64,
	keyArgs func(Key, []any) []any) error {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(target)
	b.WriteString(strings.Join(Cols[:], ", "))
	b.WriteString(") VALUES ")
	width := nkey + int(NumCols)
	args := make([]any, 0, len(keys)*width)
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := 0; j < width; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "$%d", len(args)+j+1)
		}
		b.WriteByte(')')
		args = keyArgs(k, args)
		for _, v := range rows[k] {
			args = append(args, v)
		}
	}
	b.WriteString(tail)
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}
