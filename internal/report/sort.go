package report

import (
	"cmp"
	"slices"
	"strings"

	"github.com/payper/payper/internal/money"
)

// SortKeys are the keys SortRows sorts by: a creator's handle, figures
// and KPIs.
var SortKeys = []string{"creator", "spend", "earnings", "views", "engagements", "clicks", "conversions", "redemptions",
	"revenue", "cpe", "cpa", "roas", "roi", "redemption_rate", "epc"}

// ValidSortKey says whether key is one of SortKeys.
func ValidSortKey(key string) bool { return slices.Contains(SortKeys, key) }

// SortRows sorts rows in place by key (one of SortKeys; an unknown key
// leaves them as they are), descending when desc. A KPI that is undefined
// sorts last either way; ties keep the creator id order.
func SortRows(rows []Row, key string, desc bool) {
	if !ValidSortKey(key) {
		return
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		va, oka := sortValue(a, key)
		vb, okb := sortValue(b, key)
		switch {
		case !oka && !okb:
			return cmp.Compare(a.CreatorID, b.CreatorID)
		case !oka:
			return 1
		case !okb:
			return -1
		}
		var c int
		if key == "creator" {
			c = strings.Compare(strings.ToLower(a.Handle), strings.ToLower(b.Handle))
		} else {
			c = cmp.Compare(va, vb)
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = cmp.Compare(a.CreatorID, b.CreatorID)
		}
		return c
	})
}

// sortValue is a row's value for key, false when the KPI is undefined.
func sortValue(r Row, key string) (int64, bool) {
	f, k := r.Figures, r.KPIs
	kpi := func(s string) (int64, bool) {
		v, err := money.ParseMicros(s)
		return v, err == nil && s != Undefined && s != ""
	}
	switch key {
	case "creator":
		return 0, true
	case "spend":
		return f.Spend.Total.Micros, true
	case "earnings":
		return f.Spend.Earnings.Total.Micros, true
	case "views":
		return f.Views, true
	case "engagements":
		return f.Engagements, true
	case "clicks":
		return f.Clicks, true
	case "conversions":
		return f.Conversions, true
	case "redemptions":
		return f.Redemptions, true
	case "revenue":
		return f.Revenue.Micros, true
	case "cpe":
		return kpi(k.CPE)
	case "cpa":
		return kpi(k.CPA)
	case "roas":
		return kpi(k.ROAS)
	case "roi":
		return kpi(k.ROI)
	case "redemption_rate":
		return kpi(k.RedemptionRate)
	case "epc":
		return kpi(k.EPC)
	}
	return 0, false
}
