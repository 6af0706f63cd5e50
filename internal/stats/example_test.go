package stats_test

import (
	"fmt"

	"github.com/payper/payper/internal/stats"
)

func ExampleCompareRates() {
	c := stats.CompareRates(200, 1000, 250, 1000)
	fmt.Printf("z=%.2f p=%.4f winner=%s\n%s\n", c.Z, c.PValue, c.Winner, c.Verdict)
	fmt.Println(stats.CompareRates(3, 20, 9, 25).Verdict)
	// Output:
	// z=2.68 p=0.0074 winner=B
	// variant B converts better (25.0 % vs 20.0 %), 99 % confidence
	// not enough data yet (each variant needs 30 trials and 5 conversions and non-conversions)
}
