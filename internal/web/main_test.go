package web_test

import (
	"testing"

	"github.com/payper/payper/internal/web/webtest"
)

// TestMain runs the package's tests and then ends the shared Chromium of
// the browser tests (webtest). It is the package's only TestMain.
func TestMain(m *testing.M) { webtest.Main(m) }
