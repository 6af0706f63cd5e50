package fraud

import (
	"context"
	"fmt"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// HeldByCreator returns, per creator, the gross of campaign campaignID's
// earnings still held (states held and on_hold) that an open flag holds
// (HoldsEarning): the amount under review, one sum per currency the
// campaign's earnings are in (a campaign has one). It is what the brand's
// review page shows beside a creator's flags. The caller checks that the
// reader may see the campaign.
func HeldByCreator(ctx context.Context, q store.Queryer, campaignID string) (map[string]money.Amount, error) {
	type row struct {
		creator, cur string
		micros       int64
	}
	rows, err := store.QueryAll(ctx, q, func(r store.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.creator, &x.cur, &x.micros)
	}, `SELECT e.creator_id, e.currency, SUM(e.gross) FROM earnings e
		WHERE e.campaign_id = $1 AND e.state IN ('held', 'on_hold') AND `+HoldsEarning("e")+`
		GROUP BY e.creator_id, e.currency ORDER BY e.creator_id`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("fraud: amounts held in campaign %s: %w", campaignID, err)
	}
	out := make(map[string]money.Amount, len(rows))
	for _, x := range rows {
		out[x.creator] = money.New(x.micros, money.Currency(x.cur))
	}
	return out, nil
}
