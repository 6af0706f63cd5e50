//go:build race

package attrib_test

// raceEnabled: the tests run under the race detector, several times slower,
// so the property tests that size themselves by it run fewer checks (the
// package was the second-longest of CI's race run).
const raceEnabled = true
