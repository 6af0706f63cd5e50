//go:build race

package payout_test

// raceEnabled: the tests run under the race detector, several times slower,
// so the property tests run fewer checks (the package came near Go's
// 10-minute test timeout in a race run on a loaded machine).
const raceEnabled = true
