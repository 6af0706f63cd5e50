package app

import (
	"context"
	"time"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/mail"
)

// openAccounts builds the accounts service (users, sessions; links in mail
// point at PublicURL), the mail outbox, and the SMTP sender when
// smtpURL (Config.SMTPURL) is set; passwords are hashed with params
// (Config.PasswordParams; zero means account.DefaultParams). It returns an
// error for a malformed SMTP URL.
func (a *App) openAccounts(smtpURL string, params account.Params) error {
	a.Accounts = account.New(a.DB, a.Clock, account.Config{BaseURL: a.PublicURL, Params: params})
	a.Outbox = mail.NewOutbox(a.DB)
	s, ok, err := mail.SenderFromURL(a.DB, a.Clock, smtpURL)
	if err != nil {
		return err
	}
	if ok {
		a.Mail = s
	}
	return nil
}

// mailTick runs in each periodic tick: it delivers due mail (when SMTP is
// configured) and purges dead sessions and tokens. It never fails the tick:
// a slow or unreachable mail server is logged and the mail retried later.
func (a *App) mailTick(ctx context.Context) {
	if a.Mail != nil {
		dctx, cancel := context.WithTimeout(ctx, 45*time.Second)
		res, err := a.Mail.Deliver(dctx, 50)
		cancel()
		if err != nil {
			a.Log.Warn("mail: deliver", "err", err)
		}
		if res.Retried > 0 || res.Failed > 0 {
			a.Log.Warn("mail: deliveries failed", "retried", res.Retried, "failed", res.Failed, "sent", res.Sent)
		}
	}
	if a.Accounts != nil {
		if _, err := a.Accounts.Purge(ctx, 24*time.Hour); err != nil {
			a.Log.Warn("accounts: purge", "err", err)
		}
	}
}
