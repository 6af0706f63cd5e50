package engage

import "testing"

// TestMulDiv: the pro-rata share of a clawback is exact where a × b
// overflows int64 (two amounts above about 3,037 units each).
func TestMulDiv(t *testing.T) {
	for _, c := range []struct{ a, b, c, want int64 }{
		{9_000_000, 5_000_000, 10_000_000, 4_500_000},
		{4_000_000_000, 5_000_000_000, 10_000_000_000, 2_000_000_000},
		{7, 3, 2, 10},
		{0, 5, 3, 0},
	} {
		if got := mulDiv(c.a, c.b, c.c); got != c.want {
			t.Errorf("mulDiv(%d, %d, %d) = %d, want %d", c.a, c.b, c.c, got, c.want)
		}
	}
}
