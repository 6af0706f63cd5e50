package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
)

// EnvSMTPURL names the environment variable payper serve reads the SMTP
// URL from (--smtp-url); errors about the URL name it.
const EnvSMTPURL = "PAYPER_SMTP_URL"

// SMTPConfig says how to reach the SMTP server. ParseSMTPURL makes one.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password string
	// From is the envelope and header sender, a plain address.
	From string
	// ImplicitTLS dials TLS from the first byte (smtps://, usually port 465).
	ImplicitTLS bool
	// TLS is the STARTTLS policy when ImplicitTLS is false: "required"
	// (the default), "opportunistic" or "none".
	TLS string
	// Timeout bounds one connection and delivery; 0 means 30 seconds.
	Timeout time.Duration
	// TLSConfig, if set, replaces the default TLS settings (the system's
	// roots, ServerName = Host), e.g. to trust a private CA.
	TLSConfig *tls.Config
}

// ParseSMTPURL reads an SMTP URL:
//
//	smtp://user:password@host:587?from=noreply@example.com          STARTTLS required
//	smtp://host:25?from=noreply@example.com&tls=none                 plain (a local relay)
//	smtps://user:password@host:465?from=noreply@example.com         implicit TLS
//
// tls may be required, opportunistic or none. The port defaults to 587 for
// smtp and 465 for smtps. A user and password are sent only over an
// encrypted connection (go-mail picks no plain-text mechanism otherwise), so
// tls=none suits an unauthenticated local relay only. It returns an error
// naming what is wrong.
func ParseSMTPURL(raw string) (SMTPConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return SMTPConfig{}, fmt.Errorf("mail: %s is not a URL: %w", EnvSMTPURL, err)
	}
	var c SMTPConfig
	switch u.Scheme {
	case "smtp":
		c.Port = 587
	case "smtps":
		c.Port, c.ImplicitTLS = 465, true
	default:
		return SMTPConfig{}, fmt.Errorf("mail: %s must start with smtp:// or smtps://", EnvSMTPURL)
	}
	c.Host = u.Hostname()
	if c.Host == "" {
		return SMTPConfig{}, fmt.Errorf("mail: %s has no host", EnvSMTPURL)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return SMTPConfig{}, fmt.Errorf("mail: %s has a bad port %q", EnvSMTPURL, p)
		}
		c.Port = n
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	q := u.Query()
	c.From = q.Get("from")
	if a, err := mail.ParseAddress(c.From); err != nil || a.Name != "" || a.Address != c.From {
		return SMTPConfig{}, fmt.Errorf("mail: %s needs from=<a plain address>, got %q", EnvSMTPURL, c.From)
	}
	c.TLS = q.Get("tls")
	switch c.TLS {
	case "":
		c.TLS = "required"
	case "required", "opportunistic", "none":
	default:
		return SMTPConfig{}, fmt.Errorf("mail: %s: tls must be required, opportunistic or none, got %q", EnvSMTPURL, c.TLS)
	}
	if c.ImplicitTLS && c.TLS == "none" {
		return SMTPConfig{}, fmt.Errorf("mail: %s: smtps:// cannot have tls=none", EnvSMTPURL)
	}
	return c, nil
}

// Transport delivers one mail.
type Transport interface {
	// Send delivers m, or returns why it could not.
	Send(ctx context.Context, m Mail) error
}

// SMTP is a Transport over SMTP with github.com/wneessen/go-mail.
type SMTP struct {
	cfg SMTPConfig
}

// NewSMTP returns an SMTP transport for cfg.
func NewSMTP(cfg SMTPConfig) *SMTP {
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	return &SMTP{cfg: cfg}
}

// Send delivers m in one SMTP session. The Message-ID is derived from the
// outbox id, so a retried mail carries the same id and receivers can drop a
// duplicate. It returns the server's or the connection's error.
func (s *SMTP) Send(ctx context.Context, m Mail) error {
	// go-mail takes ctx for the dial only; after it each read and write has
	// the timeout, so the timeout is cut to what ctx has left: a server that
	// takes the connection and never answers cannot outlast the caller.
	timeout := s.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
	}
	opts := []gomail.Option{gomail.WithPort(s.cfg.Port), gomail.WithTimeout(timeout)}
	switch {
	case s.cfg.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case s.cfg.TLS == "none":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case s.cfg.TLS == "opportunistic":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.cfg.TLSConfig != nil {
		tc := s.cfg.TLSConfig.Clone()
		if tc.ServerName == "" {
			tc.ServerName = s.cfg.Host
		}
		opts = append(opts, gomail.WithTLSConfig(tc))
	}
	if s.cfg.Username != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.cfg.Username), gomail.WithPassword(s.cfg.Password))
	}
	c, err := gomail.NewClient(s.cfg.Host, opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client: %w", err)
	}
	msg := gomail.NewMsg()
	if err := msg.From(s.cfg.From); err != nil {
		return fmt.Errorf("mail: from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	_, domain, _ := strings.Cut(s.cfg.From, "@")
	msg.SetMessageIDWithValue(m.ID + "@" + domain)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: send over SMTP: %w", err)
	}
	return nil
}

// Sender delivers the outbox's due mail through a Transport.
type Sender struct {
	db    *store.DB
	clock clock.Clock
	tr    Transport
	// MaxAttempts is how often a mail is tried before it is marked failed;
	// 0 means 6.
	MaxAttempts int
	// Backoff is the wait after the first failure, doubled after each
	// further one (capped at 6 hours); 0 means one minute.
	Backoff time.Duration
	// Lease is how long a claimed mail is hidden from other senders while
	// it is being sent; 0 means 5 minutes.
	Lease time.Duration
}

// NewSender returns a Sender delivering through tr.
func NewSender(db *store.DB, clk clock.Clock, tr Transport) *Sender {
	return &Sender{db: db, clock: clk, tr: tr}
}

// SenderFromURL returns a Sender over SMTP configured by raw, a URL as
// ParseSMTPURL reads it (payper serve's --smtp-url / PAYPER_SMTP_URL). ok
// is false when raw is empty (mail then stays in the outbox); err reports a
// malformed URL.
func SenderFromURL(db *store.DB, clk clock.Clock, raw string) (s *Sender, ok bool, err error) {
	if raw == "" {
		return nil, false, nil
	}
	cfg, err := ParseSMTPURL(raw)
	if err != nil {
		return nil, false, err
	}
	return NewSender(db, clk, NewSMTP(cfg)), true, nil
}

// Result counts what one Deliver did.
type Result struct {
	Sent    int // delivered
	Retried int // failed this time, to be tried again
	Failed  int // failed for good
}

func (s *Sender) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return 6
}

// backoff is the wait after the n-th failed attempt (n ≥ 1).
func (s *Sender) backoff(n int) time.Duration {
	b := s.Backoff
	if b <= 0 {
		b = time.Minute
	}
	const ceiling = 6 * time.Hour
	for i := 1; i < n && b < ceiling; i++ {
		b *= 2
	}
	return min(b, ceiling)
}

// Deliver sends up to limit due mails (0 means 100), oldest first, and
// marks each sent, or pending again with a later NextAttemptAt and the
// error, or failed with the error after MaxAttempts. Each mail is claimed
// just before it is sent (its NextAttemptAt moved a lease ahead of the
// clock then, only if no one else moved it), so servers running Deliver at
// once never send the same mail twice, however long a round takes. It
// returns what it did, and an error only when the database fails.
func (s *Sender) Deliver(ctx context.Context, limit int) (Result, error) {
	if limit <= 0 {
		limit = 100
	}
	lease := s.Lease
	if lease <= 0 {
		lease = 5 * time.Minute
	}
	var res Result
	now := s.clock.Now()
	due, err := store.QueryAll(ctx, s.db.Read(), scanMail, `SELECT `+mailCols+` FROM mail_outbox
		WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2`, now.UnixMicro(), limit)
	if err != nil {
		return res, fmt.Errorf("mail: read due mail: %w", err)
	}
	for _, m := range due {
		claimed := false
		leaseEnd := s.clock.Now().Add(lease).UnixMicro()
		err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			// The lease starts now, not at the round's start: after a few slow
			// sends a lease from then would already be over, and another
			// sender would take this mail too.
			r, err := tx.ExecContext(ctx, `UPDATE mail_outbox SET next_attempt_at = $1 WHERE id = $2 AND status = 'pending' AND next_attempt_at = $3`,
				leaseEnd, m.ID, int64(m.NextAttemptAt))
			if err != nil {
				return fmt.Errorf("mail: claim %s: %w", m.ID, err)
			}
			n, err := r.RowsAffected()
			claimed = n == 1
			return err
		})
		if err != nil {
			return res, err
		}
		if !claimed {
			continue
		}
		sendErr := s.tr.Send(ctx, m)
		if sendErr != nil && ctx.Err() != nil {
			return res, fmt.Errorf("mail: deliver %s: %w", m.ID, errors.Join(ctx.Err(), sendErr))
		}
		end := s.clock.Now()
		attempts := m.Attempts + 1
		var q string
		var args []any
		var counter *int
		switch {
		case sendErr == nil:
			q, args = `UPDATE mail_outbox SET status = 'sent', attempts = $1, last_error = '', sent_at = $2 WHERE id = $3`,
				[]any{attempts, end.UnixMicro(), m.ID}
			counter = &res.Sent
		// A failure is recorded only while the claim holds: if the lease ran
		// out and another sender took the mail, its outcome stands.
		case attempts >= s.maxAttempts():
			q, args = `UPDATE mail_outbox SET status = 'failed', attempts = $1, last_error = $2 WHERE id = $3 AND status = 'pending' AND next_attempt_at = $4`,
				[]any{attempts, errText(sendErr), m.ID, leaseEnd}
			counter = &res.Failed
		default:
			q, args = `UPDATE mail_outbox SET attempts = $1, last_error = $2, next_attempt_at = $3 WHERE id = $4 AND status = 'pending' AND next_attempt_at = $5`,
				[]any{attempts, errText(sendErr), end.Add(s.backoff(attempts)).UnixMicro(), m.ID, leaseEnd}
			counter = &res.Retried
		}
		if err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			r, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if n == 1 {
				*counter++
			}
			return err
		}); err != nil {
			return res, fmt.Errorf("mail: record delivery of %s: %w", m.ID, err)
		}
	}
	return res, nil
}

// errText keeps an error's text short enough for the outbox row.
func errText(err error) string {
	s := err.Error()
	if len(s) > 1000 {
		s = s[:1000]
	}
	return strings.ToValidUTF8(s, "")
}
