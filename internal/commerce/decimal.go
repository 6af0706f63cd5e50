package commerce

import "strconv"

// FormatMicros formats an amount in micro-units as a decimal string with at
// least minFrac and at most 6 fractional digits, dropping trailing zeros
// beyond minFrac: FormatMicros(12_500_000, 2) = "12.50",
// FormatMicros(1_234_500, 2) = "1.2345", FormatMicros(15_000_000, 0) = "15".
// minFrac outside 0..6 is clamped. It never fails and does no float
// arithmetic.
func FormatMicros(micros int64, minFrac int) string {
	return formatScaled(micros, 6, minFrac)
}

// AmountDecimal formats micro-units as a money amount with at least two
// decimals: 12_500_000 → "12.50". It never fails.
func AmountDecimal(micros int64) string { return FormatMicros(micros, 2) }

// PercentFraction formats basis points as a fraction of one, as Shopify's
// percentage field wants: 1500 → "0.15", 1550 → "0.155", 10000 → "1",
// 1 → "0.0001". It never fails.
func PercentFraction(bps int64) string { return formatScaled(bps, 4, 0) }

// PercentNumber formats basis points as a percentage, as WooCommerce's
// amount field wants: 1500 → "15", 1550 → "15.5", 1525 → "15.25". It never
// fails.
func PercentNumber(bps int64) string { return formatScaled(bps, 2, 0) }

// formatScaled formats v / 10^scale with between minFrac and scale fractional
// digits.
func formatScaled(v int64, scale, minFrac int) string {
	minFrac = max(0, min(minFrac, scale))
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	digits := strconv.FormatUint(u, 10)
	for len(digits) <= scale {
		digits = "0" + digits
	}
	whole, frac := digits[:len(digits)-scale], digits[len(digits)-scale:]
	for len(frac) > minFrac && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	s := whole
	if frac != "" {
		s += "." + frac
	}
	if neg {
		s = "-" + s
	}
	return s
}
