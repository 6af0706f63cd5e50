package stripe

import (
	"os"
	"testing"

	"github.com/payper/payper/internal/payout/stripe/stripemock"
)

// stripeMockKey is an API key stripe-mock accepts.
const stripeMockKey = stripemock.Key

func TestMain(m *testing.M) {
	code := m.Run()
	stripemock.Stop()
	os.Exit(code)
}

// stripeMockURL returns a running stripe-mock's URL (see stripemock.URL).
func stripeMockURL(t *testing.T) string { return stripemock.URL(t) }
