// Package stats compares ad variants. Its numbers are statistics, not money:
// floats are fine here and never flow back into amounts.
package stats

import (
	"fmt"
	"math"
)

// Thresholds of CompareRates.
const (
	// MinTrials is the fewest trials (clicks) each variant needs.
	MinTrials = 30
	// MinOutcomes is the fewest conversions AND non-conversions each
	// variant needs for the normal approximation to hold.
	MinOutcomes = 5
	// WinnerConfidence is the confidence (1 − two-sided p) above which a
	// variant is declared the winner.
	WinnerConfidence = 0.95
)

// Comparison is the outcome of CompareRates. No field is ever NaN or ±Inf.
type Comparison struct {
	RateA, RateB float64 // conversions / trials; 0 when trials is 0 or the input is invalid
	// Z is the two-proportion z statistic, (RateB − RateA) / pooled standard
	// error: positive when B converts better.
	Z float64
	// PValue is the two-sided p-value, erfc(|Z|/√2).
	PValue float64
	// Confidence is 1 − PValue.
	Confidence float64
	Winner     string // "A", "B" or "" when there is none
	Verdict    string // the result in plain words, for the dashboard
}

// CompareRates compares the conversion rates convA/trialsA and
// convB/trialsB (e.g. purchases per click) of two variants with a pooled
// two-proportion z-test, two-sided.
//
// Rules, applied in order:
//   - negative counts, or conversions above trials, are invalid: Winner "",
//     Z 0, PValue 1, Confidence 0, rates 0, Verdict "invalid data: …";
//   - if either variant has fewer than MinTrials (30) trials, or fewer than
//     MinOutcomes (5) conversions or non-conversions (trials − conversions),
//     the verdict is "not enough data yet": Winner "", Z 0, PValue 1,
//     Confidence 0, the rates as observed (0 for zero trials);
//   - otherwise the z-test runs; a variant wins when Confidence exceeds
//     WinnerConfidence (95 %), e.g. "variant B converts better (25.0 % vs
//     20.0 %), 99 % confidence"; else "no clear difference yet (confidence
//     62 %)". Confidence percentages are rounded down, so 99.99 % reads 99 %.
//
// It cannot fail and never returns NaN or infinities.
func CompareRates(convA, trialsA, convB, trialsB int64) Comparison {
	if convA < 0 || trialsA < 0 || convB < 0 || trialsB < 0 || convA > trialsA || convB > trialsB {
		return Comparison{PValue: 1, Verdict: fmt.Sprintf(
			"invalid data: conversions must be between 0 and the trials (A %d/%d, B %d/%d)",
			convA, trialsA, convB, trialsB)}
	}
	c := Comparison{RateA: rate(convA, trialsA), RateB: rate(convB, trialsB), PValue: 1}
	if !enough(convA, trialsA) || !enough(convB, trialsB) {
		c.Verdict = fmt.Sprintf("not enough data yet (each variant needs %d trials and %d conversions and non-conversions)",
			MinTrials, MinOutcomes)
		return c
	}
	nA, nB := float64(trialsA), float64(trialsB)
	pooled := float64(convA+convB) / (nA + nB)
	se := math.Sqrt(pooled * (1 - pooled) * (1/nA + 1/nB))
	if se > 0 && !math.IsNaN(se) && !math.IsInf(se, 0) {
		c.Z = (c.RateB - c.RateA) / se
		c.PValue = math.Erfc(math.Abs(c.Z) / math.Sqrt2)
	}
	c.Confidence = 1 - c.PValue
	pct := math.Floor(c.Confidence * 100)
	switch {
	case c.Confidence > WinnerConfidence && c.Z > 0:
		c.Winner = "B"
		c.Verdict = fmt.Sprintf("variant B converts better (%.1f %% vs %.1f %%), %.0f %% confidence", c.RateB*100, c.RateA*100, pct)
	case c.Confidence > WinnerConfidence && c.Z < 0:
		c.Winner = "A"
		c.Verdict = fmt.Sprintf("variant A converts better (%.1f %% vs %.1f %%), %.0f %% confidence", c.RateA*100, c.RateB*100, pct)
	default:
		c.Verdict = fmt.Sprintf("no clear difference yet (confidence %.0f %%)", pct)
	}
	return c
}

func rate(conv, trials int64) float64 {
	if trials == 0 {
		return 0
	}
	return float64(conv) / float64(trials)
}

func enough(conv, trials int64) bool {
	return trials >= MinTrials && conv >= MinOutcomes && trials-conv >= MinOutcomes
}
