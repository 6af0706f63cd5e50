// Package stripemock runs Stripe's own mock server, stripe-mock, for tests:
// one process per test binary, started on first use, found as $STRIPE_MOCK,
// on PATH, in $(go env GOBIN) or $(go env GOPATH)/bin, or /tmp/gobin.
// Without the binary tests skip, except under CI=true, where they fail
// saying how to install it. Call Stop from TestMain.
package stripemock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Install is how to get the stripe-mock these tests expect.
const Install = "go install github.com/stripe/stripe-mock@v0.203.0"

// Key is an API key stripe-mock accepts (any sk_test_… does).
const Key = "sk_test_123"

// mock is the one stripe-mock a test binary shares: started on first use
// by URL, stopped by Stop.
var mock struct {
	once    sync.Once
	url     string
	bin     string
	missing string // why no binary was found; the tests skip (fail on CI)
	err     error  // the binary was found but would not start
	cmd     *exec.Cmd
	exited  chan struct{}
}

// URL returns the base URL of a running stripe-mock, starting it on first
// use. Without a stripe-mock binary the test is skipped, except with
// CI=true, where it fails saying how to install one.
func URL(t testing.TB) string {
	t.Helper()
	mock.once.Do(startStripeMock)
	switch {
	case mock.missing != "" && os.Getenv("CI") == "true":
		t.Fatalf("stripe-mock is required on CI: %s; install it with `%s` or set STRIPE_MOCK to its path", mock.missing, Install)
	case mock.missing != "":
		t.Skipf("skipping: %s (install it with `%s`, or set STRIPE_MOCK)", mock.missing, Install)
	case mock.err != nil:
		t.Fatalf("stripe-mock: %v", mock.err)
	}
	t.Logf("using %s at %s", mock.bin, mock.url)
	return mock.url
}

// findStripeMock returns the path of the stripe-mock binary: $STRIPE_MOCK,
// else stripe-mock on PATH, else in $(go env GOBIN) or $(go env GOPATH)/bin,
// else /tmp/gobin/stripe-mock. It fails with the places it looked.
func findStripeMock() (string, error) {
	if p := os.Getenv("STRIPE_MOCK"); p != "" {
		if isFile(p) {
			return p, nil
		}
		return "", fmt.Errorf("STRIPE_MOCK=%s is not a file", p)
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	looked := []string{"stripe-mock on PATH"}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output(); err == nil {
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(lines) == 2 {
			if lines[0] != "" {
				dirs = append(dirs, lines[0])
			}
			for _, gp := range filepath.SplitList(lines[1]) {
				if gp != "" {
					dirs = append(dirs, filepath.Join(gp, "bin"))
				}
			}
		}
	}
	dirs = append(dirs, "/tmp/gobin")
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if isFile(p) {
			return p, nil
		}
		looked = append(looked, p)
	}
	return "", errors.New("no stripe-mock binary (looked for " + strings.Join(looked, ", ") + ")")
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// startStripeMock starts stripe-mock on a free port and waits until it
// answers, recording the outcome in mock.
func startStripeMock() {
	bin, err := findStripeMock()
	if err != nil {
		if os.Getenv("STRIPE_MOCK") != "" {
			mock.err = err
		} else {
			mock.missing = err.Error()
		}
		return
	}
	// The free port may be taken between finding and using it: try again.
	for attempt := 0; attempt < 3; attempt++ {
		var retry bool
		retry, err = runStripeMock(bin)
		if err == nil || !retry {
			break
		}
	}
	mock.err = err
}

// runStripeMock starts bin on a free port; retry reports whether a failure
// was the port being taken.
func runStripeMock(bin string) (retry bool, err error) {
	port, err := freePort()
	if err != nil {
		return false, err
	}
	out := &syncBuffer{}
	cmd := exec.Command(bin, "-http-port", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if answers(ctx, url) {
			mock.url, mock.bin, mock.cmd, mock.exited = url, bin, cmd, exited
			return false, nil
		}
		select {
		case <-exited:
			msg := strings.TrimSpace(out.String())
			return strings.Contains(msg, "address already in use"),
				fmt.Errorf("%s -http-port %d exited before answering: %s", bin, port, msg)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return false, fmt.Errorf("%s -http-port %d did not answer within 30 s: %s", bin, port, strings.TrimSpace(out.String()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// answers reports whether a stripe-mock at url answers an API request.
func answers(ctx context.Context, url string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/v1/balance", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+Key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// freePort returns a TCP port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Stop stops the stripe-mock started, if any (call it from TestMain).
func Stop() {
	if mock.cmd == nil {
		return
	}
	_ = mock.cmd.Process.Kill()
	<-mock.exited
	mock.cmd = nil
}

// syncBuffer is a bytes.Buffer safe for a process writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
