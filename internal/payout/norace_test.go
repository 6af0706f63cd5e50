//go:build !race

package payout_test

// raceEnabled: see race_test.go.
const raceEnabled = false
