package engage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// Reading is one metric of one post an interactions earning was billed
// from: the platform's count read at ReadAt, the count it was billed from
// (the post's high-water mark before the read: growth only past the old
// peak is billed), the price, and what the earning paid for it.
type Reading struct {
	PostID    string        `json:"post_id"`
	Platform  platform.Name `json:"platform"`
	Permalink string        `json:"permalink,omitempty"`
	Metric    string        `json:"metric"`
	// ReadAt is when the platform was read (the earning's accrual time).
	ReadAt clock.Micros `json:"read_at"`
	// Before is the count billed up to before this read, After the count
	// read; null when the stored reading is missing.
	Before platform.Count `json:"before"`
	After  platform.Count `json:"after"`
	// Growth is what was billed of the metric: After − Before.
	Growth int64 `json:"growth"`
	// Price is the campaign's price of one unit of the metric, Priced is
	// Price × Growth (what the growth asked for).
	Price  money.Amount `json:"price"`
	Priced money.Amount `json:"priced"`
	// Amount is the part of the earning's gross paid for this reading. The
	// amounts of an earning's readings sum to its gross exactly: when the
	// escrow or the creator's cap granted less than was asked (Requested),
	// the gross is split over the posts in proportion to what each asked,
	// and over a post's metrics in proportion to Priced (largest remainder,
	// to the micro-unit).
	Amount money.Amount `json:"amount"`
}

// Evidence is what an earning was paid for, as far as engagement knows:
// the earning and, for an interactions earning, the platform readings it
// was billed from. (Orders, conversions and applications, which pay the
// other kinds, are added by attrib.Evidence.)
type Evidence struct {
	Earning  Earning   `json:"earning"`
	Readings []Reading `json:"readings,omitempty"`
}

// EarningFor returns an earning p may see: the campaign's brand's, any for
// the admin, a creator's own. It returns NotFound otherwise.
func (s *Service) EarningFor(ctx context.Context, p identity.Principal, earningID string) (Earning, error) {
	notFound := errs.NotFoundf("earning %s not found", earningID)
	e, err := scanEarning(s.db.Read().QueryRowContext(ctx, `SELECT `+earningSelect+` FROM earnings WHERE id = $1`, earningID))
	if errors.Is(err, sql.ErrNoRows) {
		return Earning{}, notFound
	}
	if err != nil {
		return Earning{}, fmt.Errorf("engage: read earning %s: %w", earningID, err)
	}
	switch {
	case p.IsAdmin():
	case p.CreatorID() != "":
		if p.CreatorID() != e.CreatorID {
			return Earning{}, notFound
		}
	case p.BrandID() != "":
		camp, err := s.campaigns.Internal(ctx, s.db.Read(), e.CampaignID)
		if err != nil {
			return Earning{}, err
		}
		if camp.BrandID != p.BrandID() {
			return Earning{}, notFound
		}
	default:
		return Earning{}, notFound
	}
	return e, nil
}

// Evidence returns an earning p may see (EarningFor) with, for an
// interactions earning, the readings it was billed from: per post and
// metric, the read time, the counts before and after, the price and the
// amount, the amounts summing to the earning's gross.
func (s *Service) Evidence(ctx context.Context, p identity.Principal, earningID string) (Evidence, error) {
	e, err := s.EarningFor(ctx, p, earningID)
	if err != nil {
		return Evidence{}, err
	}
	ev := Evidence{Earning: e}
	if e.Kind != KindInteractions {
		return ev, nil
	}
	ev.Readings, err = s.readingsOf(ctx, s.db.Read(), e)
	return ev, err
}

// readingsOf works out e's readings from its detail, the campaign's
// prices (fixed once a campaign opens) and the snapshots taken when it was
// billed.
func (s *Service) readingsOf(ctx context.Context, q store.Queryer, e Earning) ([]Reading, error) {
	out := []Reading{}
	if len(e.Detail) == 0 {
		return out, nil
	}
	camp, err := s.campaigns.Internal(ctx, q, e.CampaignID)
	if err != nil {
		return nil, err
	}
	var prices [5]int64
	if camp.Setup != nil {
		prices = pricesOf(camp.Setup.Prices)
	}
	cur := e.Gross.Currency
	ids := make([]string, len(e.Detail))
	asked := make([]int64, len(e.Detail))
	for i, d := range e.Detail {
		ids[i], asked[i] = d.PostID, d.Amount
	}
	type postInfo struct {
		plat      platform.Name
		permalink string
	}
	posts := map[string]postInfo{}
	cond, arg := store.InText(s.db.Dialect(), "id", 1, ids)
	rows, err := q.QueryContext(ctx, `SELECT id, platform, permalink FROM posts WHERE `+cond, arg)
	if err != nil {
		return nil, fmt.Errorf("engage: evidence posts: %w", err)
	}
	for rows.Next() {
		var id, plat, link string
		if err := rows.Scan(&id, &plat, &link); err != nil {
			rows.Close()
			return nil, fmt.Errorf("engage: evidence posts: %w", err)
		}
		posts[id] = postInfo{platform.Name(plat), link}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("engage: evidence posts: %w", err)
	}
	snaps := map[string][5]platform.Count{}
	cond, arg = store.InText(s.db.Dialect(), "post_id", 2, ids)
	rows, err = q.QueryContext(ctx, `SELECT post_id, views, likes, comments, shares, saves FROM post_snapshots
		WHERE taken_at = $1 AND `+cond, int64(e.AccruedAt), arg)
	if err != nil {
		return nil, fmt.Errorf("engage: evidence snapshots: %w", err)
	}
	for rows.Next() {
		var id string
		var v [5]sql.NullInt64
		if err := rows.Scan(&id, &v[0], &v[1], &v[2], &v[3], &v[4]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("engage: evidence snapshots: %w", err)
		}
		var c [5]platform.Count
		for i, n := range v {
			if n.Valid {
				c[i] = platform.Known(n.Int64)
			}
		}
		snaps[id] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("engage: evidence snapshots: %w", err)
	}

	perPost := Split(e.Gross.Micros, asked)
	for i, d := range e.Detail {
		var metrics []int
		var priced []int64
		for m, name := range platform.Metrics {
			if g := d.Growth[string(name)]; g > 0 {
				metrics = append(metrics, m)
				priced = append(priced, satMul(prices[m], g))
			}
		}
		paid := Split(perPost[i], priced)
		info := posts[d.PostID]
		snap, haveSnap := snaps[d.PostID]
		for j, m := range metrics {
			g := d.Growth[string(platform.Metrics[m])]
			r := Reading{PostID: d.PostID, Platform: info.plat, Permalink: info.permalink, Metric: string(platform.Metrics[m]),
				ReadAt: e.AccruedAt, Growth: g, Price: money.New(prices[m], cur), Priced: money.New(priced[j], cur),
				Amount: money.New(paid[j], cur)}
			if haveSnap && snap[m].Known {
				r.After, r.Before = snap[m], platform.Known(snap[m].Value-g)
			}
			out = append(out, r)
		}
		if len(metrics) == 0 && perPost[i] != 0 {
			// A detail line without growth (never written by billing) still
			// shows what it was paid, so the amounts add up.
			out = append(out, Reading{PostID: d.PostID, Platform: info.plat, Permalink: info.permalink, ReadAt: e.AccruedAt,
				Price: money.New(0, cur), Priced: money.New(0, cur), Amount: money.New(perPost[i], cur)})
		}
	}
	return out, nil
}

// Split divides total into parts in proportion to weights (each ≥ 0) by
// largest remainder: the parts sum to total exactly, and a remainder goes
// to the parts with the largest fractions, the earlier first on a tie.
// With no positive weight the whole total goes to the first part (none
// for no parts).
func Split(total int64, weights []int64) []int64 {
	out := make([]int64, len(weights))
	if len(weights) == 0 {
		return out
	}
	sum := new(big.Int)
	for _, w := range weights {
		if w > 0 {
			sum.Add(sum, big.NewInt(w))
		}
	}
	if sum.Sign() == 0 {
		out[0] = total
		return out
	}
	rems := make([]*big.Int, len(weights))
	var given int64
	t := big.NewInt(total)
	for i, w := range weights {
		rems[i] = new(big.Int)
		if w <= 0 {
			continue
		}
		q, r := new(big.Int).QuoRem(new(big.Int).Mul(t, big.NewInt(w)), sum, new(big.Int))
		out[i], rems[i] = q.Int64(), r
		given += out[i]
	}
	for left := total - given; left > 0; left-- {
		best := -1
		for i, r := range rems {
			if weights[i] > 0 && (best < 0 || r.Cmp(rems[best]) > 0) {
				best = i
			}
		}
		out[best]++
		rems[best] = new(big.Int).Sub(rems[best], sum) // taken: below every other
	}
	return out
}
