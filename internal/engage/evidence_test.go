package engage_test

import (
	"testing"

	"github.com/payper/payper/internal/engage"
)

func TestSplitSumsExactly(t *testing.T) {
	for _, c := range []struct {
		total   int64
		weights []int64
		want    []int64
	}{
		{100, []int64{1, 1, 1}, []int64{34, 33, 33}},
		{10, []int64{2, 0, 3}, []int64{4, 0, 6}},
		{7, []int64{0, 0}, []int64{7, 0}},
		{2_500_000, []int64{2_000_000, 500_000}, []int64{2_000_000, 500_000}},
		{1_000_000, []int64{2_000_000, 500_000}, []int64{800_000, 200_000}},
		{1, []int64{1 << 62, 1 << 62, 1 << 62}, []int64{1, 0, 0}},
		{5, nil, []int64{}},
	} {
		got := engage.Split(c.total, c.weights)
		var sum int64
		for i, v := range got {
			sum += v
			if v != c.want[i] {
				t.Errorf("Split(%d, %v) = %v, want %v", c.total, c.weights, got, c.want)
				break
			}
		}
		if len(c.weights) > 0 && sum != c.total {
			t.Errorf("Split(%d, %v) sums to %d", c.total, c.weights, sum)
		}
	}
}
