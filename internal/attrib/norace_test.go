//go:build !race

package attrib_test

// raceEnabled: see race_test.go.
const raceEnabled = false
