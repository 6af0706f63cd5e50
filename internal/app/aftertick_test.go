package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/store/storetest"
)

// TestMailDoesNotHoldBackPayouts: with a mail server that takes the
// connection and never answers, the work after a tick still runs the
// payouts with the tick's time: mail goes last and spends only what is
// left (it used to go first and use it all, so the payouts query failed
// with "context deadline exceeded").
func TestMailDoesNotHoldBackPayouts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never greeted
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	storetest.EachURL(t, func(t *testing.T, url string) {
		a, err := Open(context.Background(), Config{DatabaseURL: url, NoPeriodicJobs: true, PublicURL: "http://payper.test",
			SMTPURL: "smtp://" + ln.Addr().String() + "?from=noreply@payper.test&tls=none", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.Close() })
		if _, err := a.Accounts.SignUpCreator(context.Background(), account.CreatorSignup{Name: "T", Email: "hang-" + string(a.DB.Dialect()) + "@example.com",
			Password: "correct horse battery"}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		defer cancel()
		if err := a.afterTick(ctx); err != nil {
			t.Fatalf("after the tick, with a mail server that never answers: %v", err)
		}
	})
}
