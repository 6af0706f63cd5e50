package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/mail/mailpittest"
	"github.com/payper/payper/internal/store"
	"github.com/payper/payper/internal/store/storetest"
)

var admin = identity.Principal{Role: identity.RoleAdmin}

func enqueue(t *testing.T, db *store.DB, now time.Time, msgs ...Message) []string {
	t.Helper()
	var ids []string
	err := db.WithTx(context.Background(), func(tx *store.Tx) error {
		ids = ids[:0]
		for _, m := range msgs {
			id, err := Enqueue(context.Background(), tx, now, m)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func TestEnqueueAndList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		// A bad message fails the transaction: nothing is written.
		err := db.WithTx(ctx, func(tx *store.Tx) error {
			if _, err := Enqueue(ctx, tx, now, Message{Kind: "verify", To: "ok@example.com", Subject: "s", Text: "t"}); err != nil {
				return err
			}
			_, err := Enqueue(ctx, tx, now, Message{Kind: "verify", To: "Ana <ana@example.com>", Subject: "two\nlines", Text: "t"})
			return err
		})
		if errs.KindOf(err) != errs.Invalid || errs.CodeOf(err) != "invalid_fields" {
			t.Fatalf("bad message: %v", err)
		}
		o := NewOutbox(db)
		if got, _ := o.List(ctx, admin, "", "", 0); len(got) != 0 {
			t.Fatalf("outbox has %d mails after a rolled-back transaction", len(got))
		}
		ids := enqueue(t, db, now,
			Message{Kind: "verify", To: "a@example.com", Subject: "Confirm", Text: "link a"},
			Message{Kind: "reset", To: "b@example.com", Subject: "Reset", Text: "link b"})
		got, err := o.List(ctx, admin, StatusPending, "", 10)
		if err != nil || len(got) != 2 || got[0].ID != ids[1] || got[1].To != "a@example.com" || got[1].Text != "link a" || got[1].Status != StatusPending {
			t.Fatalf("list = %+v, %v", got, err)
		}
		page, err := o.List(ctx, admin, "", ids[1], 10)
		if err != nil || len(page) != 1 || page[0].ID != ids[0] {
			t.Fatalf("page after %s = %+v, %v", ids[1], page, err)
		}
		if sent, _ := o.List(ctx, admin, StatusSent, "", 10); len(sent) != 0 {
			t.Fatalf("sent = %+v", sent)
		}
		_, err = o.List(ctx, identity.Principal{Role: identity.RoleBrand, SubjectID: "brd_x"}, "", "", 10)
		if errs.KindOf(err) != errs.Forbidden {
			t.Fatalf("a brand read the outbox: %v", err)
		}
		if _, err := o.List(ctx, admin, "lost", "", 10); errs.CodeOf(err) != "invalid" {
			t.Fatalf("bad status: %v", err)
		}
		if _, err := o.List(ctx, admin, "", "nope", 10); errs.CodeOf(err) != "invalid_cursor" {
			t.Fatalf("bad cursor: %v", err)
		}
		if m, err := o.Get(ctx, ids[0]); err != nil || m.Subject != "Confirm" {
			t.Fatalf("get = %+v, %v", m, err)
		}
		if _, err := o.Get(ctx, "mal_missing"); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("get missing: %v", err)
		}
	})
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SMTPConfig
		bad  string
	}{
		{in: "smtp://user:p%40ss@mail.example.com?from=noreply@example.com",
			want: SMTPConfig{Host: "mail.example.com", Port: 587, Username: "user", Password: "p@ss", From: "noreply@example.com", TLS: "required"}},
		{in: "smtp://127.0.0.1:1025?from=a@b.test&tls=none",
			want: SMTPConfig{Host: "127.0.0.1", Port: 1025, From: "a@b.test", TLS: "none"}},
		{in: "smtps://u:p@smtp.example.com?from=a@b.test",
			want: SMTPConfig{Host: "smtp.example.com", Port: 465, Username: "u", Password: "p", From: "a@b.test", ImplicitTLS: true, TLS: "required"}},
		{in: "smtp://h:25?from=a@b.test&tls=opportunistic", want: SMTPConfig{Host: "h", Port: 25, From: "a@b.test", TLS: "opportunistic"}},
		{in: "http://h?from=a@b.test", bad: "smtp://"},
		{in: "smtp://?from=a@b.test", bad: "no host"},
		{in: "smtp://h:99999?from=a@b.test", bad: "bad port"},
		{in: "smtp://h", bad: "from="},
		{in: "smtp://h?from=Ana%20%3Ca@b.test%3E", bad: "from="},
		{in: "smtp://h?from=a@b.test&tls=maybe", bad: "tls must be"},
		{in: "smtps://h?from=a@b.test&tls=none", bad: "cannot have tls=none"},
	} {
		got, err := ParseSMTPURL(tc.in)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("ParseSMTPURL(%q) = %+v, %v; want an error about %q", tc.in, got, err, tc.bad)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if s, ok, err := SenderFromURL(nil, clock.System{}, ""); s != nil || ok || err != nil {
		t.Fatalf("SenderFromURL without a URL = %v, %v, %v", s, ok, err)
	}
	if _, ok, err := SenderFromURL(nil, clock.System{}, "smtp://h"); ok || err == nil {
		t.Fatalf("SenderFromURL with a bad URL = %v, %v", ok, err)
	}
}

func TestDeliverOverSMTP(t *testing.T) {
	mp := mailpittest.Start(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		before := len(mp.Messages(t))
		ids := enqueue(t, db, clk.Now(),
			Message{Kind: "verify", To: "ana@example.com", Subject: "Confirm your email " + storetest.Name(db), Text: "Open https://payper.test/verify/abc\n"},
			Message{Kind: "reset", To: "bob@example.com", Subject: "Grüße, reset " + storetest.Name(db), Text: "Open https://payper.test/reset/xyz — once.\n"})
		cfg, err := ParseSMTPURL(fmt.Sprintf("smtp://127.0.0.1:%d?from=noreply@payper.test&tls=none", mp.SMTPPort))
		if err != nil {
			t.Fatal(err)
		}
		s := NewSender(db, clk, NewSMTP(cfg))
		res, err := s.Deliver(ctx, 0)
		if err != nil || res != (Result{Sent: 2}) {
			t.Fatalf("deliver = %+v, %v", res, err)
		}
		got := mp.Messages(t)
		if len(got) != before+2 {
			t.Fatalf("mailpit has %d new messages; want 2", len(got)-before)
		}
		bySubject := map[string]mailpittest.Message{}
		for _, m := range got {
			bySubject[m.Subject] = m
		}
		for i, want := range []struct{ to, subject, text string }{
			{"ana@example.com", "Confirm your email " + storetest.Name(db), "Open https://payper.test/verify/abc"},
			{"bob@example.com", "Grüße, reset " + storetest.Name(db), "Open https://payper.test/reset/xyz — once."},
		} {
			m, ok := bySubject[want.subject]
			if !ok {
				t.Fatalf("no message %q in mailpit: %+v", want.subject, got)
			}
			if len(m.To) != 1 || m.To[0].Address != want.to || m.From.Address != "noreply@payper.test" || !strings.Contains(m.Text, want.text) || m.MessageID != ids[i]+"@payper.test" {
				t.Fatalf("message = %+v", m)
			}
		}
		o := NewOutbox(db)
		for _, id := range ids {
			m, _ := o.Get(ctx, id)
			if m.Status != StatusSent || m.Attempts != 1 || m.SentAt.Time() != clk.Now() || m.LastError != "" {
				t.Fatalf("outbox row after delivery = %+v", m)
			}
		}
		// Nothing is due any more: a second run sends nothing.
		if res, err := s.Deliver(ctx, 0); err != nil || res != (Result{}) {
			t.Fatalf("second deliver = %+v, %v", res, err)
		}
	})
}

// With authentication over STARTTLS, as a real provider requires:
// mailpit with a certificate from a test CA, STARTTLS required, any
// credentials accepted. Over plain SMTP the same credentials are refused by
// the client (never sent in clear).
func TestDeliverWithAuthOverSTARTTLS(t *testing.T) {
	dir := t.TempDir()
	pool := writeTestCert(t, dir)
	mp := mailpittest.Start(t, "--smtp-tls-cert", filepath.Join(dir, "cert.pem"), "--smtp-tls-key", filepath.Join(dir, "key.pem"),
		"--smtp-require-starttls", "--smtp-auth-accept-any")
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		before := len(mp.Messages(t))
		ids := enqueue(t, db, clk.Now(), Message{Kind: "invite", To: "mia@example.com", Subject: "Invite " + storetest.Name(db), Text: "join"})
		cfg, err := ParseSMTPURL(fmt.Sprintf("smtp://payper:secret@127.0.0.1:%d?from=noreply@payper.test", mp.SMTPPort))
		if err != nil {
			t.Fatal(err)
		}
		plain := cfg
		plain.TLS = "none"
		if res, err := NewSender(db, clk, NewSMTP(plain)).Deliver(ctx, 0); err != nil || res != (Result{Retried: 1}) {
			t.Fatalf("deliver without TLS = %+v, %v; want refused", res, err)
		}
		// Refused by the client before any credentials went out, not only by
		// the server's STARTTLS requirement.
		if m, _ := NewOutbox(db).Get(ctx, ids[0]); !strings.Contains(m.LastError, "authentication mechanism") {
			t.Fatalf("refusal without TLS = %q; want go-mail finding no mechanism to send the password with", m.LastError)
		}
		clk.Advance(time.Minute)
		cfg.TLSConfig = &tls.Config{RootCAs: pool}
		if res, err := NewSender(db, clk, NewSMTP(cfg)).Deliver(ctx, 0); err != nil || res != (Result{Sent: 1}) {
			m, _ := NewOutbox(db).Get(ctx, ids[0])
			t.Fatalf("deliver over STARTTLS = %+v, %v; outbox %+v", res, err, m)
		}
		if got := len(mp.Messages(t)) - before; got != 1 {
			t.Fatalf("mailpit received %d; want 1", got)
		}
	})
}

// writeTestCert writes a CA-signed certificate for 127.0.0.1 to dir
// (cert.pem, key.pem) and returns a pool trusting the CA.
func writeTestCert(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "payper test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pool
}

// A server that cannot be reached: the mail is retried with a doubling
// wait, the error kept, and after MaxAttempts it is failed for good.
func TestDeliverRetriesThenFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		ids := enqueue(t, db, clk.Now(), Message{Kind: "verify", To: "ana@example.com", Subject: "Confirm", Text: "link"})
		// A port nothing listens on: connection refused, a real failure.
		cfg := SMTPConfig{Host: "127.0.0.1", Port: mailpittest.FreePort(t), From: "noreply@payper.test", TLS: "none", Timeout: 5 * time.Second}
		s := NewSender(db, clk, NewSMTP(cfg))
		s.MaxAttempts = 3
		o := NewOutbox(db)
		if res, err := s.Deliver(ctx, 0); err != nil || res != (Result{Retried: 1}) {
			t.Fatalf("first deliver = %+v, %v", res, err)
		}
		m, _ := o.Get(ctx, ids[0])
		if m.Status != StatusPending || m.Attempts != 1 || !strings.Contains(m.LastError, "refused") || m.NextAttemptAt.Time() != clk.Now().Add(time.Minute) {
			t.Fatalf("after one failure = %+v", m)
		}
		// Not due yet: nothing happens.
		clk.Advance(59 * time.Second)
		if res, _ := s.Deliver(ctx, 0); res != (Result{}) {
			t.Fatalf("deliver before due = %+v", res)
		}
		clk.Advance(time.Second)
		if res, _ := s.Deliver(ctx, 0); res != (Result{Retried: 1}) {
			t.Fatalf("second deliver = %+v", res)
		}
		m, _ = o.Get(ctx, ids[0])
		if m.Attempts != 2 || m.NextAttemptAt.Time() != clk.Now().Add(2*time.Minute) {
			t.Fatalf("after two failures = %+v; want the wait doubled", m)
		}
		clk.Advance(2 * time.Minute)
		if res, _ := s.Deliver(ctx, 0); res != (Result{Failed: 1}) {
			t.Fatalf("third deliver = %+v", res)
		}
		m, _ = o.Get(ctx, ids[0])
		if m.Status != StatusFailed || m.Attempts != 3 || m.LastError == "" {
			t.Fatalf("after giving up = %+v", m)
		}
		if failed, _ := o.List(ctx, admin, StatusFailed, "", 10); len(failed) != 1 {
			t.Fatalf("failed list = %+v", failed)
		}
		clk.Advance(24 * time.Hour)
		if res, _ := s.Deliver(ctx, 0); res != (Result{}) {
			t.Fatalf("a failed mail was tried again: %+v", res)
		}
	})
}

// countingTransport counts sends per mail id, failing none.
type countingTransport struct {
	mu    sync.Mutex
	sends map[string]int
	inner Transport
}

func (c *countingTransport) Send(ctx context.Context, m Mail) error {
	c.mu.Lock()
	c.sends[m.ID]++
	c.mu.Unlock()
	return c.inner.Send(ctx, m)
}

// Two servers delivering the same outbox at once send each mail once.
func TestDeliverConcurrentSenders(t *testing.T) {
	mp := mailpittest.Start(t)
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		before := len(mp.Messages(t))
		var msgs []Message
		for i := range 12 {
			msgs = append(msgs, Message{Kind: "verify", To: fmt.Sprintf("u%d@example.com", i), Subject: fmt.Sprintf("m%d %s", i, storetest.Name(db)), Text: "x"})
		}
		ids := enqueue(t, db, clk.Now(), msgs...)
		cfg := SMTPConfig{Host: "127.0.0.1", Port: mp.SMTPPort, From: "noreply@payper.test", TLS: "none"}
		ct := &countingTransport{sends: map[string]int{}, inner: NewSMTP(cfg)}
		var wg sync.WaitGroup
		results := make([]Result, 3)
		errsOut := make([]error, 3)
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errsOut[i] = NewSender(db, clk, ct).Deliver(ctx, 0)
			}()
		}
		wg.Wait()
		total := 0
		for i := range 3 {
			if err := errors.Join(errsOut[i]); err != nil {
				t.Fatal(err)
			}
			total += results[i].Sent
		}
		if total != len(ids) {
			t.Fatalf("sent %d in all; want %d", total, len(ids))
		}
		for _, id := range ids {
			if ct.sends[id] != 1 {
				t.Fatalf("mail %s sent %d times", id, ct.sends[id])
			}
		}
		if got := len(mp.Messages(t)) - before; got != len(ids) {
			t.Fatalf("mailpit received %d; want %d", got, len(ids))
		}
	})
}

// slowTransport advances the clock past the lease on each send, and while
// sending the second mail lets another sender run a whole round.
type slowTransport struct {
	clk   *clock.Fake
	d     time.Duration
	sends map[string]int
	n     int
	other func()
}

func (s *slowTransport) Send(ctx context.Context, m Mail) error {
	s.sends[m.ID]++
	s.n++
	if s.n == 2 && s.other != nil {
		s.other()
	}
	s.clk.Advance(s.d)
	return nil
}

// A round longer than the lease: a mail claimed late in it is leased from
// its claim, so a sender starting meanwhile does not send it again.
func TestDeliverLeaseFromClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		ids := enqueue(t, db, clk.Now(),
			Message{Kind: "verify", To: "a@example.com", Subject: "a", Text: "x"},
			Message{Kind: "verify", To: "b@example.com", Subject: "b", Text: "x"})
		tr := &slowTransport{clk: clk, d: 6 * time.Minute, sends: map[string]int{}}
		var otherRes Result
		var otherErr error
		tr.other = func() { otherRes, otherErr = NewSender(db, clk, tr).Deliver(ctx, 0) }
		res, err := NewSender(db, clk, tr).Deliver(ctx, 0)
		if err != nil || res != (Result{Sent: 2}) || otherErr != nil || otherRes != (Result{}) {
			t.Fatalf("deliver = %+v, %v; other sender = %+v, %v", res, err, otherRes, otherErr)
		}
		for _, id := range ids {
			if tr.sends[id] != 1 {
				t.Fatalf("mail %s sent %d times", id, tr.sends[id])
			}
		}
	})
}

// failAfterOther fails its send, but only after the lease ran out and
// another sender delivered the same mail meanwhile.
type failAfterOther struct {
	clk   *clock.Fake
	other func()
}

func (f *failAfterOther) Send(ctx context.Context, m Mail) error {
	f.clk.Advance(6 * time.Minute)
	f.other()
	return errors.New("timed out")
}

// okTransport delivers nothing and succeeds.
type okTransport struct{}

func (okTransport) Send(context.Context, Mail) error { return nil }

// A sender whose lease ran out does not overwrite what the sender that
// took the mail over recorded: a delivered mail is not marked failed.
func TestDeliverLateFailureKeepsOthersOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := clock.NewFake(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
		ids := enqueue(t, db, clk.Now(), Message{Kind: "verify", To: "a@example.com", Subject: "a", Text: "x"})
		var otherRes Result
		var otherErr error
		tr := &failAfterOther{clk: clk, other: func() { otherRes, otherErr = NewSender(db, clk, okTransport{}).Deliver(ctx, 0) }}
		late := NewSender(db, clk, tr)
		late.MaxAttempts = 1
		if res, err := late.Deliver(ctx, 0); err != nil || res != (Result{}) || otherErr != nil || otherRes != (Result{Sent: 1}) {
			t.Fatalf("deliver = %+v, %v; other sender = %+v, %v", res, err, otherRes, otherErr)
		}
		m, _ := NewOutbox(db).Get(ctx, ids[0])
		if m.Status != StatusSent || m.Attempts != 1 || m.LastError != "" {
			t.Fatalf("outbox row = %+v; want sent by the other sender", m)
		}
	})
}
