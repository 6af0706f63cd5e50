// Package mailpittest runs mailpit (https://mailpit.axllent.org), a real
// SMTP server with an HTTP API, for tests that must see mail arrive: it
// starts one on free ports with its own database file and reads back what it
// received.
//
// The binary is found via $PAYPER_MAILPIT, else "mailpit" on PATH, else
// $GOPATH/bin/mailpit (default ~/go/bin, where
// `go install github.com/axllent/mailpit@v1.33.1` puts it). Without it the
// test is skipped, or failed under CI=true.
package mailpittest

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Version is the mailpit release the tests are written against.
const Version = "v1.33.1"

// Binary returns mailpit's path, or skips t (fails it under CI=true).
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("PAYPER_MAILPIT"); p != "" {
		return p
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	if gopath != "" {
		if p := filepath.Join(gopath, "bin", "mailpit"); fileExists(p) {
			return p
		}
	}
	msg := "mailpit not found (set PAYPER_MAILPIT, or `go install github.com/axllent/mailpit@" + Version + "`)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": under CI the SMTP tests must run")
	}
	t.Skip(msg)
	return ""
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Server is a running mailpit.
type Server struct {
	SMTPPort int
	API      string // e.g. http://127.0.0.1:43123
}

// Start runs mailpit on free ports with its own database file, with extra
// command-line flags, and stops it when t ends. It fails t when mailpit
// does not answer within 15 seconds.
func Start(t testing.TB, extra ...string) *Server {
	t.Helper()
	bin := Binary(t)
	mp := &Server{SMTPPort: FreePort(t)}
	httpPort := FreePort(t)
	mp.API = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	args := append([]string{"--smtp", fmt.Sprintf("127.0.0.1:%d", mp.SMTPPort), "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(t.TempDir(), "mailpit.db"), "--quiet"}, extra...)
	cmd := exec.Command(bin, args...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mailpit: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(mp.API + "/api/v1/info")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return mp
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not answer on %s: %v\n%s", mp.API, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SMTPURL returns a PAYPER_SMTP_URL for this server, plain SMTP without
// authentication, sending from from.
func (mp *Server) SMTPURL(from string) string {
	return fmt.Sprintf("smtp://127.0.0.1:%d?from=%s&tls=none", mp.SMTPPort, from)
}

// Address is a mail address as mailpit's API gives it.
type Address struct {
	Name    string
	Address string
}

// Message is the part of a message this package reads. Mailpit's API
// reference (https://mailpit.axllent.org/docs/api-v1/, "List messages"):
// GET /api/v1/messages answers {"total": n, "messages": [{"ID",
// "MessageID", "From": {"Name","Address"}, "To": [{"Name","Address"}],
// "Subject", "Snippet", …}]}, newest first; GET /api/v1/message/{ID}
// answers the message with its "Text" body.
type Message struct {
	ID        string
	MessageID string
	From      Address
	To        []Address
	Subject   string
	Text      string
}

// Messages returns every message mailpit holds, newest first, with bodies.
func (mp *Server) Messages(t testing.TB) []Message {
	t.Helper()
	var list struct {
		Total    int
		Messages []Message
	}
	getJSON(t, mp.API+"/api/v1/messages", &list)
	if list.Total != len(list.Messages) {
		t.Fatalf("mailpit total %d, listed %d", list.Total, len(list.Messages))
	}
	for i := range list.Messages {
		var full Message
		getJSON(t, mp.API+"/api/v1/message/"+list.Messages[i].ID, &full)
		list.Messages[i].Text = full.Text
	}
	return list.Messages
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
