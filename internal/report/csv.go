package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/payper/payper/internal/money"
)

// csvHeader names the CSV export's columns.
var csvHeader = []string{"level", "creator_id", "handle", "placement", "window_from", "window_to", "currency",
	"spend", "creator_earnings", "earnings_interactions", "earnings_commission", "earnings_cpa", "earnings_flat_fee",
	"platform_fees", "paid_social_spend", "operating_cost", "views", "engagements", "likes", "comments", "shares", "saves",
	"clicks", "bot_clicks", "unique_clicks", "conversions", "redemptions", "conversions_other_currency", "revenue", "refunded",
	"ad_impressions", "ad_clicks", "ad_purchases", "ad_purchase_value",
	"cpe", "cpa", "roas", "roi", "redemption_rate_percent", "revenue_per_influencer", "epc"}

// WriteCSV writes rep as CSV: a header, the campaign's row, one row per
// creator and one per placement. Amounts are decimals in the campaign's
// currency; undefined KPIs read "undefined". It returns the writer's error.
func WriteCSV(w io.Writer, rep Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("report: write CSV: %w", err)
	}
	line := func(level string, r Row) []string {
		f, k := r.Figures, r.KPIs
		m := func(a money.Amount) string { return money.FormatMicros(a.Micros) }
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		return []string{level, r.CreatorID, r.Handle, r.Placement, rep.Window.From, rep.Window.To, string(rep.Currency),
			m(f.Spend.Total), m(f.Spend.Earnings.Total), m(f.Spend.Earnings.Interactions), m(f.Spend.Earnings.Commission),
			m(f.Spend.Earnings.CPA), m(f.Spend.Earnings.FlatFee), m(f.Spend.Fees), m(f.Spend.PaidSocial), m(f.Spend.OperatingCost),
			n(f.Views), n(f.Engagements), n(f.Likes), n(f.Comments), n(f.Shares), n(f.Saves), n(f.Clicks), n(f.BotClicks), n(f.Unique),
			n(f.Conversions), n(f.Redemptions), n(f.OtherCurrency), m(f.Revenue), m(f.Refunded),
			n(f.Ads.Impressions), n(f.Ads.Clicks), n(f.Ads.Purchases), m(f.Ads.PurchaseValue),
			k.CPE, k.CPA, k.ROAS, k.ROI, k.RedemptionRate, k.RevenuePerInfluencer, k.EPC}
	}
	rows := [][]string{line("campaign", rep.Campaign)}
	for _, r := range rep.Creators {
		rows = append(rows, line("creator", r))
	}
	for _, r := range rep.Placements {
		rows = append(rows, line("placement", r))
	}
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("report: write CSV: %w", err)
	}
	return nil
}
