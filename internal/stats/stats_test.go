package stats_test

import (
	"math"
	"testing"

	"github.com/payper/payper/internal/stats"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestTextbook(t *testing.T) {
	t.Parallel()
	// Pooled p = 450/2000 = 0.225; SE = √(0.225·0.775·(2/1000)) = 0.018675;
	// z = 0.05/0.018675 = 2.6774; two-sided p = 0.00742.
	c := stats.CompareRates(200, 1000, 250, 1000)
	if !near(c.Z, 2.6774, 0.0005) || !near(c.PValue, 0.00742, 0.00005) || !near(c.Confidence, 0.99258, 0.00005) {
		t.Errorf("got %+v", c)
	}
	if c.Winner != "B" || c.Verdict != "variant B converts better (25.0 % vs 20.0 %), 99 % confidence" {
		t.Errorf("winner %q verdict %q", c.Winner, c.Verdict)
	}
	r := stats.CompareRates(250, 1000, 200, 1000)
	if r.Winner != "A" || !near(r.Z, -2.6774, 0.0005) || r.PValue != c.PValue {
		t.Errorf("mirrored: %+v", r)
	}
}

func TestNoClearDifference(t *testing.T) {
	t.Parallel()
	// Pooled p = 190/1000 = 0.19; SE = √(0.19·0.81·(2/500)) = 0.024811;
	// z = 0.02/0.024811 = 0.8061; two-sided p = 0.4202, confidence 57 %.
	c := stats.CompareRates(90, 500, 100, 500)
	if !near(c.Z, 0.8061, 0.0005) || !near(c.PValue, 0.4202, 0.0005) || c.Winner != "" ||
		c.Verdict != "no clear difference yet (confidence 57 %)" {
		t.Errorf("got %+v", c)
	}
	same := stats.CompareRates(20, 100, 20, 100)
	if same.Z != 0 || same.PValue != 1 || same.Confidence != 0 || same.Winner != "" {
		t.Errorf("equal: %+v", same)
	}
}

func TestNotEnoughData(t *testing.T) {
	t.Parallel()
	for _, tc := range [][4]int64{
		{0, 0, 0, 0},        // zero trials
		{5, 29, 50, 100},    // A under 30 trials
		{4, 100, 50, 100},   // A under 5 conversions
		{100, 100, 50, 100}, // A all converted
		{50, 100, 96, 100},  // B only 4 non-conversions
		{0, 1000, 0, 1000},  // nobody converted
	} {
		c := stats.CompareRates(tc[0], tc[1], tc[2], tc[3])
		if c.Winner != "" || c.Z != 0 || c.PValue != 1 || c.Confidence != 0 ||
			c.Verdict != "not enough data yet (each variant needs 30 trials and 5 conversions and non-conversions)" {
			t.Errorf("%v: %+v", tc, c)
		}
	}
	if c := stats.CompareRates(30, 30, 0, 0); c.RateA != 1 || c.RateB != 0 {
		t.Errorf("rates: %+v", c)
	}
}

func TestInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range [][4]int64{{-1, 10, 1, 10}, {11, 10, 1, 10}, {1, 10, 1, -10}} {
		c := stats.CompareRates(tc[0], tc[1], tc[2], tc[3])
		if c.Winner != "" || c.RateA != 0 || c.PValue != 1 || len(c.Verdict) < 12 || c.Verdict[:12] != "invalid data" {
			t.Errorf("%v: %+v", tc, c)
		}
	}
}

func TestNeverNaN(t *testing.T) {
	t.Parallel()
	bad := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
	ns := []int64{0, 1, 5, 29, 30, 31, 100, 1 << 40, math.MaxInt64}
	for _, nA := range ns {
		for _, nB := range ns {
			for _, cA := range []int64{0, 1, 5, nA / 2, nA - 5, nA} {
				for _, cB := range []int64{0, 5, nB / 3, nB} {
					c := stats.CompareRates(cA, nA, cB, nB)
					if bad(c.RateA) || bad(c.RateB) || bad(c.Z) || bad(c.PValue) || bad(c.Confidence) || c.Verdict == "" {
						t.Fatalf("(%d/%d, %d/%d): %+v", cA, nA, cB, nB, c)
					}
				}
			}
		}
	}
}
