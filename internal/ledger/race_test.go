//go:build race

package ledger_test

// raceEnabled: the tests run under the race detector, about ten times
// slower, so the property tests that size themselves by it run fewer checks.
const raceEnabled = true
