package report_test

import (
	"slices"
	"testing"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/report"
)

// TestSortRows: figures and KPIs sort both ways, an undefined KPI last
// either way, ties and names in a fixed order, an unknown key changes
// nothing.
func TestSortRows(t *testing.T) {
	row := func(id, handle string, spend int64, cpe string) report.Row {
		r := report.Row{CreatorID: id, Handle: handle}
		r.Figures.Spend.Total = money.New(spend, money.EUR)
		r.KPIs.CPE = cpe
		return r
	}
	rows := []report.Row{row("c1", "mia", 5, "0.500000"), row("c2", "Ana", 7, report.Undefined), row("c3", "jon", 5, "0.049999"),
		row("c4", "bo", 9, "10.000000")}
	order := func(key string, desc bool) []string {
		rs := slices.Clone(rows)
		report.SortRows(rs, key, desc)
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.CreatorID)
		}
		return ids
	}
	for _, c := range []struct {
		key  string
		desc bool
		want []string
	}{
		{"spend", true, []string{"c4", "c2", "c1", "c3"}},
		{"spend", false, []string{"c1", "c3", "c2", "c4"}},
		{"cpe", false, []string{"c3", "c1", "c4", "c2"}},
		{"cpe", true, []string{"c4", "c1", "c3", "c2"}},
		{"creator", false, []string{"c2", "c4", "c3", "c1"}},
		{"nonsense", true, []string{"c1", "c2", "c3", "c4"}},
	} {
		if got := order(c.key, c.desc); !slices.Equal(got, c.want) {
			t.Errorf("%s desc=%v: %v, want %v", c.key, c.desc, got, c.want)
		}
	}
}
