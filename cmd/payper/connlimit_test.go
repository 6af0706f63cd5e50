package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/store/storetest"
)

// startLimited serves a /healthz that answers ok behind a connLimiter of
// max connections, with keep-alive connections allowed to idle for an hour.
func startLimited(t *testing.T, max int) (*connLimiter, string) {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newConnLimiter(raw, max)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ConnState: ln.ConnState, IdleTimeout: time.Hour, ReadHeaderTimeout: time.Hour}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln, raw.Addr().String()
}

// keepAlive opens a connection, sends one request on it and reads the
// answer, leaving the connection open and idle.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("request on a fresh connection: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return c
}

// healthz asks /healthz on a connection of its own.
func healthz(t *testing.T, addr string) {
	t.Helper()
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), "ok") {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, b)
	}
}

// closedByServer reports whether the server has closed c (a read ends at
// once with EOF rather than waiting).
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !errors.Is(err, os.ErrDeadlineExceeded)
}

// TestIdleFloodCannotStarveHealthChecks opens five times the cap of idle
// keep-alive connections and of silent ones (that never send a byte): the
// server never holds more than the cap, closes the longest-idle ones to
// make room, and /healthz answers on a new connection throughout.
func TestIdleFloodCannotStarveHealthChecks(t *testing.T) {
	const max = 8
	ln, addr := startLimited(t, max)
	var idle []net.Conn
	for i := 0; i < 5*max; i++ {
		idle = append(idle, keepAlive(t, addr))
		if n := ln.Open(); n > max {
			t.Fatalf("%d connections open, cap %d", n, max)
		}
	}
	healthz(t, addr)
	var silent []net.Conn
	for i := 0; i < 5*max; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		silent = append(silent, c)
	}
	healthz(t, addr)
	if n := ln.Open(); n > max {
		t.Fatalf("%d connections open, cap %d", n, max)
	}
	// The oldest idle connections were the ones closed.
	if !closedByServer(idle[0]) {
		t.Fatal("the longest-idle connection is still open")
	}
	if ln.Evicted() < int64(len(idle)+len(silent)-max) {
		t.Fatalf("%d evicted, want at least %d", ln.Evicted(), len(idle)+len(silent)-max)
	}
}

// TestBusyConnectionsAreNotEvicted checks that requests in flight keep
// their connections: with the cap taken by busy requests a new connection
// waits, and is served once one of them finishes.
func TestBusyConnectionsAreNotEvicted(t *testing.T) {
	const max = 3
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newConnLimiter(raw, max)
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(max)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started.Done()
			<-release
		}
		io.WriteString(w, "ok")
	}), ConnState: ln.ConnState}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := raw.Addr().String()
	cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	slow := make(chan error, max)
	for i := 0; i < max; i++ {
		go func() {
			resp, err := cl.Get("http://" + addr + "/slow")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(b) != "ok" {
					err = fmt.Errorf("slow answered %q", b)
				}
			}
			slow <- err
		}()
	}
	started.Wait()
	fast := make(chan error, 1)
	go func() {
		resp, err := cl.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		fast <- err
	}()
	close(release)
	for i := 0; i < max; i++ {
		if err := <-slow; err != nil {
			t.Fatalf("a busy request was cut: %v", err)
		}
	}
	if err := <-fast; err != nil {
		t.Fatalf("the waiting request: %v", err)
	}
	if ln.Evicted() != 0 {
		t.Fatalf("%d busy connections evicted", ln.Evicted())
	}
}

// TestServeLimitsFlags checks the limits' flags and environment overrides.
func TestServeLimitsFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--max-conns", "-1"}, nil, "--max-conns"},
		{[]string{"--max-conns", "1"}, nil, "at least 2"},
		{nil, map[string]string{"PAYPER_MAX_HEADER_BYTES": "100"}, "--max-header-bytes"},
		{[]string{"--idle-timeout", "0s"}, nil, "--idle-timeout"},
		{nil, map[string]string{"PAYPER_MAX_CONNS": "many"}, "PAYPER_MAX_CONNS"},
	} {
		var l limits
		f := newFlags("serve", func(k string) string { return c.env[k] }, io.Discard)
		l.register(f)
		err := f.parse(c.args)
		if err == nil {
			err = l.check()
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: %v, want an error naming %s", c.args, c.env, err, c.want)
		}
	}
	var l limits
	f := newFlags("serve", func(k string) string { return map[string]string{"PAYPER_MAX_CONNS": "100"}[k] }, io.Discard)
	l.register(f)
	if err := f.parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := l.check(); err != nil || l.maxConns != 100 || l.maxHeaderBytes != 64<<10 || l.idleTimeout != time.Minute {
		t.Fatalf("limits %+v, %v", l, err)
	}
	l = limits{maxHeaderBytes: 64 << 10, idleTimeout: time.Minute, readHeaderTimeout: time.Second}
	if err := l.check(); err != nil || l.maxConns < 32 {
		t.Fatalf("derived cap %d, %v", l.maxConns, err)
	}
}

// TestServeCapsConnectionsAndServesMetricsApart runs "payper serve" with a
// cap of 4 connections and a metrics listener: 20 idle keep-alive
// connections do not keep /healthz out, /metrics on the main address wants
// a key, and the metrics address serves them without one.
func TestServeCapsConnectionsAndServesMetricsApart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{addr: make(chan string, 1)}
	done := make(chan error, 1)
	env := map[string]string{"PAYPER_ADMIN_TOKEN": adminToken, "PAYPER_LOG_LEVEL": "error", "PAYPER_SECRET_KEY": testSecretKey,
		"PAYPER_MAX_CONNS": "4", "PAYPER_METRICS_ADDR": "127.0.0.1:0"}
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", storetest.SQLiteURL(t)}, func(k string) string { return env[k] }, out, io.Discard)
	}()
	var addr string
	select {
	case addr = <-out.addr:
	case err := <-done:
		cancel()
		t.Fatalf("server exited: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server exited with %v", err)
		}
	})
	out.mu.Lock()
	_, rest, _ := strings.Cut(out.buf.String(), "payper metrics on http://")
	metricsAddr, _, _ := strings.Cut(rest, "/metrics")
	out.mu.Unlock()
	if metricsAddr == "" {
		t.Fatalf("no metrics address in %q", out.buf.String())
	}
	for i := 0; i < 20; i++ {
		keepAlive(t, addr)
	}
	healthz(t, addr)
	c := client{t, "http://" + addr}
	c.fails(401, "unauthorized", "", "GET", "/metrics", "", "")
	if r := c.do("GET", "/metrics", adminToken, ""); r.Status != 200 || !strings.Contains(r.Raw, "payper_http_requests_total") {
		t.Fatalf("/metrics with the admin token: %d", r.Status)
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), `route="GET /healthz"`) {
		t.Fatalf("metrics address: %d %.200s", resp.StatusCode, b)
	}
}
