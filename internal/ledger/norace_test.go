//go:build !race

package ledger_test

// raceEnabled: see race_test.go.
const raceEnabled = false
