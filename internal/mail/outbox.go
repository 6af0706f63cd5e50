// Package mail keeps payper's outgoing mail in an outbox table and delivers
// it over SMTP. A mail is written with Enqueue inside the transaction that
// makes what it announces (an invitation, a verification or reset token), so
// the two are committed together or not at all. A Sender delivers pending
// mail when SMTP is configured (PAYPER_SMTP_URL); without it the mail stays
// in the outbox, where the operator reads it with Outbox.List.
package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
)

// IDPrefix starts every outbox mail's id.
const IDPrefix = "mal"

// Statuses of a mail in the outbox.
const (
	StatusPending = "pending" // not sent yet; tried again at NextAttemptAt
	StatusSent    = "sent"
	StatusFailed  = "failed" // given up after MaxAttempts; LastError says why
)

// Message is a mail to write to the outbox.
type Message struct {
	Kind    string // what it is for: "invite", "verify", "reset" …
	To      string // one address
	Subject string
	Text    string // plain-text body
}

// Mail is a mail in the outbox.
type Mail struct {
	ID            string       `json:"id"`
	Kind          string       `json:"kind"`
	To            string       `json:"to"`
	Subject       string       `json:"subject"`
	Text          string       `json:"text"`
	Status        string       `json:"status"`
	Attempts      int          `json:"attempts"`
	LastError     string       `json:"last_error,omitempty"`
	NextAttemptAt clock.Micros `json:"next_attempt_at"`
	CreatedAt     clock.Micros `json:"created_at"`
	SentAt        clock.Micros `json:"sent_at,omitempty"`
}

// Validate checks a message: one valid To address, a single-line subject,
// a kind and a body. It returns an Invalid error naming the field.
func (m Message) Validate() error {
	var c errs.Collector
	if a, err := mail.ParseAddress(m.To); err != nil || a.Name != "" || a.Address != m.To {
		c.Addf("to", "invalid_email", "to must be one plain email address")
	}
	if strings.TrimSpace(m.Subject) == "" {
		c.Addf("subject", "required", "subject is required")
	} else if err := errs.BadText("subject", m.Subject, false); err != nil {
		c.Add("subject", err)
	} else if utf8.RuneCountInString(m.Subject) > 200 {
		c.Addf("subject", "too_long", "subject is longer than 200 characters")
	}
	if m.Kind == "" {
		c.Addf("kind", "required", "kind is required")
	}
	if strings.TrimSpace(m.Text) == "" {
		c.Addf("text", "required", "text is required")
	}
	return c.Err()
}

// Enqueue writes m to the outbox in tx, due at once, and returns its id. It
// returns an Invalid error for a bad message (nothing written).
func Enqueue(ctx context.Context, tx *store.Tx, now time.Time, m Message) (string, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	mid := id.New(IDPrefix)
	at := now.UnixMicro()
	if _, err := tx.ExecContext(ctx, `INSERT INTO mail_outbox (id, kind, to_addr, subject, body_text, status, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6)`, mid, m.Kind, m.To, m.Subject, m.Text, at); err != nil {
		return "", fmt.Errorf("mail: enqueue: %w", err)
	}
	return mid, nil
}

// Outbox reads the outbox.
type Outbox struct {
	db *store.DB
}

// NewOutbox returns an Outbox on db.
func NewOutbox(db *store.DB) *Outbox { return &Outbox{db: db} }

const mailCols = `id, kind, to_addr, subject, body_text, status, attempts, last_error, next_attempt_at, created_at, sent_at`

func scanMail(row store.Scanner) (Mail, error) {
	var m Mail
	err := row.Scan(&m.ID, &m.Kind, &m.To, &m.Subject, &m.Text, &m.Status, &m.Attempts, &m.LastError, &m.NextAttemptAt, &m.CreatedAt, &m.SentAt)
	return m, err
}

// List returns outbox mail, newest first, for the operator only: status ""
// means every status; before, if set, is a mail id from a previous page. It
// returns Forbidden for anyone but the operator and Invalid for a bad status
// or cursor.
func (o *Outbox) List(ctx context.Context, p identity.Principal, status, before string, limit int) ([]Mail, error) {
	if !p.IsAdmin() {
		return nil, errs.E(errs.Forbidden, "forbidden", "only the operator reads the outbox")
	}
	switch status {
	case "", StatusPending, StatusSent, StatusFailed:
	default:
		return nil, errs.Invalidf("status", "invalid", "status must be pending, sent or failed")
	}
	if before != "" && !id.Valid(before, IDPrefix) {
		return nil, errs.Invalidf("before", "invalid_cursor", "before must be a mail id")
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	out, err := store.QueryAll(ctx, o.db.Read(), scanMail, `SELECT `+mailCols+` FROM mail_outbox
		WHERE ($1 = '' OR status = $1) AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`, status, before, limit)
	if err != nil {
		return nil, fmt.Errorf("mail: list outbox: %w", err)
	}
	return out, nil
}

// Get returns one mail by id, or NotFound.
func (o *Outbox) Get(ctx context.Context, mailID string) (Mail, error) {
	m, err := scanMail(o.db.Read().QueryRowContext(ctx, `SELECT `+mailCols+` FROM mail_outbox WHERE id = $1`, mailID))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Mail{}, errs.NotFoundf("mail %s not found", mailID)
		}
		return Mail{}, fmt.Errorf("mail: read %s: %w", mailID, err)
	}
	return m, nil
}
