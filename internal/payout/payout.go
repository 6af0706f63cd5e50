// Package payout pays creators their available balance on demand, in any
// currency payper handles, through Stripe Connect, Wise or a manual run the operator does
// outside payper. A payout is a ledger hold on the creator's available
// balance while the provider sends it: posted when the provider reports it
// paid, voided — the money back to available — when it fails or is
// canceled. Payouts go out in whole cents; the sub-cent remainder stays
// available.
//
//	requested → processing → paid → reversed
//	          ↘ canceled     ↘ failed
//
// A payout the provider cannot send yet (unavailable, or waiting for the
// operator: Wise's strong customer authentication) is tried again with a
// growing wait, at most Config.MaxAttempts times; then it fails and its
// money is available again — unless the provider may have made its
// transfer: a last attempt that lost the provider's answer is looked up at
// the provider first (Finder), and a payout whose fate the provider cannot
// tell, or whose held transfer cannot be canceled, waits with its money
// held for the operator (Payout.Attention, NeedsAttention, MarkManual).
// A paid payout whose money comes back to the
// platform (a bounced bank transfer, a reversed Stripe transfer) is
// reversed in the ledger: the money is available again and the payout is
// reversed, with the provider's reason.
package payout

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
)

// Prefix prefixes payout ids.
const Prefix = "po"

// DefaultMinimum is the smallest payout (10.00) unless configured.
const DefaultMinimum = 10 * money.Scale

// cent is one cent in micro-units.
const cent = money.Scale / 100

// Payout is one withdrawal.
type Payout struct {
	ID          string       `json:"id"`
	CreatorID   string       `json:"creator_id"`
	Provider    string       `json:"provider"`
	Amount      money.Amount `json:"amount"`
	State       string       `json:"state"`
	HoldID      string       `json:"hold_id"`
	ProviderRef string       `json:"provider_ref,omitempty"`
	Reason      string       `json:"reason,omitempty"`
	RequestedAt clock.Micros `json:"requested_at"`
	UpdatedAt   clock.Micros `json:"updated_at"`
	ResolvedAt  clock.Micros `json:"resolved_at,omitempty"`
	// Attempts is how many times the payout was sent to its provider.
	Attempts int `json:"attempts"`
	// Attention, when not "", says why the operator must act on this
	// payout before payper goes on with it: it is not sent again, its
	// money stays held, and the operator settles it (MarkManual).
	Attention string `json:"attention,omitempty"`
	// progress is the provider's record of what it made (Transfer.Progress).
	progress string
	// nextAttempt is when the payout may be sent again (unix µs; 0: a
	// requested payout at once, a processing one is sent).
	nextAttempt int64
	// Replayed: RequestPayout answered a request whose Idempotency-Key it
	// had seen, with the payout made then.
	Replayed bool `json:"-"`
}

// Request asks for a payout: Amount, or All of the available balance in
// Currency, through Provider.
type Request struct {
	Amount   json.RawMessage `json:"amount"`
	All      bool            `json:"all"`
	Currency string          `json:"currency"`
	Provider string          `json:"provider"`
	// IdempotencyKey (the Idempotency-Key header), when set, makes the
	// request idempotent for its creator: the same key with the same
	// request returns the payout made the first time, with another request
	// it is a Conflict (idempotency_key_reused).
	IdempotencyKey string `json:"-"`
}

// Retry defaults (see Config).
const (
	DefaultMaxAttempts     = 8
	DefaultRetryBackoff    = time.Minute
	DefaultRetryBackoffMax = 6 * time.Hour
)

// Config tunes payouts.
type Config struct {
	// Minimum is the smallest payout in micro-units (DefaultMinimum when 0).
	Minimum int64
	// MaxAttempts caps how many times a payout is sent to its provider
	// (DefaultMaxAttempts, or PAYPER_PAYOUT_MAX_ATTEMPTS, when 0). After the
	// last failed attempt the payout fails and its money is available again
	// — unless a transfer exists at the provider whose fate is unknown:
	// then it waits for the provider's webhook (see Process).
	MaxAttempts int
	// RetryBackoff is the wait after the first failed attempt, doubled after
	// each next one up to RetryBackoffMax (DefaultRetryBackoff and
	// DefaultRetryBackoffMax when 0).
	RetryBackoff, RetryBackoffMax time.Duration
	// SettleAfter is how long a payout sent to its provider (processing,
	// with the provider's transfer, no attempt pending) waits for the
	// provider's webhook before the operator may settle it by hand
	// (MarkManual); DefaultSettleAfter when 0. One that stopped retrying
	// after MaxAttempts may be settled at once.
	SettleAfter time.Duration
}

// backoff is the wait after the n-th failed attempt (n >= 1).
func (c Config) backoff(n int) time.Duration {
	d := c.RetryBackoff
	for i := 1; i < n && d < c.RetryBackoffMax; i++ {
		d *= 2
	}
	return min(d, c.RetryBackoffMax)
}

// Service requests, sends and settles payouts.
type Service struct {
	db        *store.DB
	clock     clock.Clock
	ledger    *ledger.Ledger
	providers map[string]Provider
	box       *secret.Box
	cfg       Config
	log       *slog.Logger
}

// New returns a Service sending through the given providers (manual needs
// none: it is always available).
func New(db *store.DB, clk clock.Clock, l *ledger.Ledger, cfg Config, log *slog.Logger, providers ...Provider) *Service {
	if cfg.Minimum <= 0 {
		cfg.Minimum = DefaultMinimum
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = DefaultRetryBackoff
	}
	if cfg.RetryBackoffMax <= 0 {
		cfg.RetryBackoffMax = DefaultRetryBackoffMax
	}
	cfg.RetryBackoffMax = max(cfg.RetryBackoffMax, cfg.RetryBackoff)
	if cfg.SettleAfter <= 0 {
		cfg.SettleAfter = DefaultSettleAfter
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Service{db: db, clock: clk, ledger: l, providers: map[string]Provider{}, cfg: cfg, log: log}
	for _, p := range providers {
		s.providers[p.Name()] = p
	}
	return s
}

// SetSecretBox sets the key destinations are sealed with at rest.
func (s *Service) SetSecretBox(b *secret.Box) { s.box = b }

// Provider returns the configured provider name, or nil.
func (s *Service) Provider(name string) Provider { return s.providers[name] }

const payoutCols = `id, creator_id, provider, amount, currency, state, hold_id, provider_ref, reason, requested_at, updated_at, resolved_at, attempts, provider_progress, next_attempt_at, attention`

func scanPayout(r store.Scanner) (Payout, error) {
	var p Payout
	var amount int64
	var cur string
	err := r.Scan(&p.ID, &p.CreatorID, &p.Provider, &amount, &cur, &p.State, &p.HoldID, &p.ProviderRef, &p.Reason, &p.RequestedAt, &p.UpdatedAt, &p.ResolvedAt,
		&p.Attempts, &p.progress, &p.nextAttempt, &p.Attention)
	p.Amount = money.New(amount, money.Currency(cur))
	return p, err
}

func destAAD(creatorID, provider string) string {
	return "payout_destinations/" + creatorID + "/" + provider
}

// DestinationValidator is implemented by providers that can check a
// destination before it is stored.
type DestinationValidator interface {
	ValidateDestination(destination string) error
}

// SetDestination stores where the creator p acts for is paid through
// provider (a Stripe connected account id, Wise recipient details as JSON),
// sealed at rest. It returns Forbidden for other keys, Invalid for an
// unconfigured provider or a destination the provider refuses, Conflict
// destination_in_use for an account another creator's payouts go to (with
// a provider that reports on accounts: its events must find one creator),
// and Unavailable when no encryption key is configured.
func (s *Service) SetDestination(ctx context.Context, p identity.Principal, provider, destination string) error {
	if p.CreatorID() == "" {
		return errs.E(errs.Forbidden, "forbidden", "only a creator sets where they are paid")
	}
	prov := s.providers[provider]
	if prov == nil {
		return errs.Invalidf("provider", "not_configured", "payouts through %q are not configured on this server", provider)
	}
	if v, ok := prov.(DestinationValidator); ok {
		if err := v.ValidateDestination(destination); err != nil {
			var e *errs.Error
			if errors.As(err, &e) && e.Kind == errs.Invalid {
				return errs.WithField(err, "destination")
			}
			return &errs.Error{Kind: errs.Invalid, Code: "invalid_destination", Field: "destination", Message: err.Error(), Err: err}
		}
	}
	if s.box == nil {
		return errs.E(errs.Unavailable, "encryption_key_missing", "payout destinations are stored encrypted and this server has no key (PAYPER_SECRET_KEY)")
	}
	sealed, err := s.box.Seal(destination, destAAD(p.CreatorID(), provider))
	if err != nil {
		return fmt.Errorf("payout: seal destination: %w", err)
	}
	// An account the provider reports on is found by its key (events name
	// it); another account than before starts with no status.
	key := ""
	if _, ok := prov.(AccountWatcher); ok {
		key = accountKey(provider, destination)
		var other string
		err := s.db.Read().QueryRowContext(ctx, `SELECT creator_id FROM payout_destinations WHERE provider = $1 AND account_key = $2 AND creator_id <> $3`,
			provider, key, p.CreatorID()).Scan(&other)
		if err == nil {
			if ferr := s.flagSharedDestination(ctx, p.CreatorID(), other, provider, key); ferr != nil {
				return ferr
			}
			return errs.WithField(errs.E(errs.Conflict, "destination_in_use", "this %s account is another creator's payout destination", provider), "destination")
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("payout: look up destination: %w", err)
		}
	}
	_, err = s.db.Writer().ExecContext(ctx, `INSERT INTO payout_destinations (creator_id, provider, destination, updated_at, account_key) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (creator_id, provider) DO UPDATE SET destination = excluded.destination, updated_at = excluded.updated_at,
			status = CASE WHEN payout_destinations.account_key = excluded.account_key AND excluded.account_key <> '' THEN payout_destinations.status ELSE '' END,
			status_reason = CASE WHEN payout_destinations.account_key = excluded.account_key AND excluded.account_key <> '' THEN payout_destinations.status_reason ELSE '' END,
			status_at = CASE WHEN payout_destinations.account_key = excluded.account_key AND excluded.account_key <> '' THEN payout_destinations.status_at ELSE 0 END,
			payout_failure = CASE WHEN payout_destinations.account_key = excluded.account_key AND excluded.account_key <> '' THEN payout_destinations.payout_failure ELSE '' END,
			payout_failure_at = CASE WHEN payout_destinations.account_key = excluded.account_key AND excluded.account_key <> '' THEN payout_destinations.payout_failure_at ELSE 0 END,
			account_key = excluded.account_key`,
		p.CreatorID(), provider, sealed, s.clock.Now().UnixMicro(), key)
	if err != nil {
		return fmt.Errorf("payout: store destination: %w", err)
	}
	return nil
}

func (s *Service) destination(ctx context.Context, q store.Queryer, creatorID, provider string) (string, error) {
	var sealed string
	err := q.QueryRowContext(ctx, `SELECT destination FROM payout_destinations WHERE creator_id = $1 AND provider = $2`, creatorID, provider).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.Invalidf("provider", "no_destination", "set where you are paid through %s first", provider)
	}
	if err != nil {
		return "", fmt.Errorf("payout: read destination: %w", err)
	}
	if s.box == nil {
		return "", errs.E(errs.Unavailable, "encryption_key_missing", "payout destinations are encrypted and this server has no key")
	}
	return s.box.Open(sealed, destAAD(creatorID, provider))
}

// RequestPayout holds an amount of the available balance of the creator p
// acts for and queues its payout: Amount (whole cents), or All of the
// available balance less any debt, rounded down to whole cents (the
// sub-cent rest stays available), in any currency payper handles that the
// provider pays out in, through a configured provider (manual always is,
// in every currency). With an IdempotencyKey, a request seen before returns
// its payout (Replayed). It returns Invalid for bad fields (every one at
// once) — below the minimum, not whole cents, an unconfigured provider, a
// currency it does not pay out in, no destination, a bad key —, Conflict
// insufficient_funds when the available balance is smaller, debt_outstanding
// when it is but a debt takes it first, idempotency_key_reused for a key
// used for another request, and Forbidden for other keys. Nothing is held
// on error.
func (s *Service) RequestPayout(ctx context.Context, p identity.Principal, r Request) (Payout, error) {
	if p.CreatorID() == "" {
		return Payout{}, errs.E(errs.Forbidden, "forbidden", "only a creator requests payouts")
	}
	var c errs.Collector
	cur := money.Currency(strings.ToUpper(strings.TrimSpace(r.Currency)))
	var amount money.Amount
	switch {
	case r.All && len(r.Amount) > 0:
		c.Addf("amount", "conflict", "give an amount or all, not both")
	case !r.All && len(r.Amount) == 0:
		c.Addf("amount", "required", `give an amount such as {"amount":"25.00","currency":"EUR"} or "all": true`)
	case !r.All:
		if err := amount.UnmarshalJSON(r.Amount); err != nil {
			c.Add("amount", err)
		} else {
			if cur == "" {
				cur = amount.Currency
			}
			switch {
			case amount.Currency != cur:
				c.Addf("amount.currency", "currency_mismatch", "amount is in %s, currency says %s", amount.Currency, cur)
			case amount.Micros%cent != 0:
				c.Addf("amount.amount", "not_whole_cents", "payouts go out in whole cents, not %s", money.FormatMicros(amount.Micros))
			case amount.Micros < s.cfg.Minimum:
				c.Addf("amount.amount", "below_minimum", "the smallest payout is %s", money.FormatMicros(s.cfg.Minimum))
			}
		}
	}
	if !cur.Valid() {
		c.Addf("currency", "invalid", "currency %q is not one payper handles (EUR, USD, GBP, CHF, SEK, NOK, DKK, PLN, CZK, CAD or AUD)", string(cur))
	}
	provider := r.Provider
	if provider == "" {
		provider = ProviderManual
	}
	if prov := s.providers[provider]; provider != ProviderManual && prov == nil {
		c.Addf("provider", "not_configured", "payouts through %q are not configured on this server: use %s", provider, strings.Join(s.names(), ", "))
	} else if cs, ok := prov.(CurrencySupporter); ok && cur.Valid() && !cs.SupportsCurrency(cur) {
		c.Addf("currency", "unsupported_currency", "%s does not pay out in %s here: use another provider (%s)", provider, cur, strings.Join(s.namesFor(cur), ", "))
	}
	if r.IdempotencyKey != "" {
		if err := checkIdempotencyKey(r.IdempotencyKey); err != nil {
			c.Add("Idempotency-Key", err)
		}
	}
	if err := c.Err(); err != nil {
		return Payout{}, err
	}
	wait := ""
	if provider != ProviderManual {
		if _, err := s.destination(ctx, s.db.Read(), p.CreatorID(), provider); err != nil {
			return Payout{}, err
		}
		if _, ok := s.providers[provider].(AccountWatcher); ok {
			status, reason, err := s.destStatus(ctx, s.db.Read(), p.CreatorID(), provider)
			if err != nil {
				return Payout{}, err
			}
			if waits(status) {
				wait = waitReason(provider, status, reason)
			}
		}
	}
	now := s.clock.Now().UnixMicro()
	po := Payout{ID: id.New(Prefix), CreatorID: p.CreatorID(), Provider: provider, State: StateRequested,
		RequestedAt: clock.Micros(now), UpdatedAt: clock.Micros(now)}
	// The ledger's idempotency key: the payout's own id, or the client's
	// Idempotency-Key (per creator), whose request hash covers what was
	// asked (Intent) rather than the amount "all" comes to.
	lreq := ledger.PayoutRequest{Key: "payout:" + po.ID, CreatorID: p.CreatorID(), Amount: money.New(0, cur)}
	if r.IdempotencyKey != "" {
		lreq.Key = "payout-request:" + p.CreatorID() + ":" + r.IdempotencyKey
		lreq.Intent = intent(r.All, amount, cur, provider)
	}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		po.Replayed = false
		if r.IdempotencyKey != "" {
			h, found, err := s.ledger.FindPayoutTx(ctx, tx, lreq)
			if err != nil {
				return keyErr(err, r.IdempotencyKey)
			}
			if found {
				return s.replayed(ctx, tx, h.HoldID, &po)
			}
		}
		amt := amount
		if r.All {
			bal, err := s.ledger.BalanceTx(ctx, tx, p.CreatorID(), cur)
			if err != nil {
				return err
			}
			// What is left after any debt is repaid from it (see the
			// ledger's HoldPayout), in whole cents.
			left := max(bal.Available-bal.Debt, 0)
			amt = money.New(left-left%cent, cur)
			if amt.Micros < s.cfg.Minimum && r.IdempotencyKey != "" {
				// A concurrent request with the same key may have taken it
				// all since the look-up above (PostgreSQL reads each
				// statement afresh): then this one is its replay.
				if h, found, err := s.ledger.FindPayoutTx(ctx, tx, lreq); err != nil || found {
					if err != nil {
						return keyErr(err, r.IdempotencyKey)
					}
					return s.replayed(ctx, tx, h.HoldID, &po)
				}
			}
			if amt.Micros < s.cfg.Minimum {
				return errs.Invalidf("amount", "below_minimum", "your available balance (%s %s, less %s owed) is below the smallest payout (%s)",
					money.FormatMicros(bal.Available), cur, money.FormatMicros(bal.Debt), money.FormatMicros(s.cfg.Minimum))
			}
		}
		lreq.Amount = amt
		h, err := s.ledger.HoldPayoutTx(ctx, tx, lreq)
		if err != nil {
			return keyErr(err, r.IdempotencyKey)
		}
		if h.Replayed { // a concurrent request with the same key came first
			return s.replayed(ctx, tx, h.HoldID, &po)
		}
		po.Amount, po.HoldID, po.Reason = amt, h.HoldID, wait
		_, err = tx.ExecContext(ctx, `INSERT INTO payouts (`+payoutCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $9, $8, $8, 0, 0, '', 0, '')`,
			po.ID, po.CreatorID, po.Provider, amt.Micros, string(cur), po.State, po.HoldID, now, wait)
		return err
	})
	if err != nil {
		if errs.KindOf(err) != errs.Internal {
			return Payout{}, err
		}
		return Payout{}, fmt.Errorf("payout: request: %w", err)
	}
	return po, nil
}

func (s *Service) names() []string {
	out := []string{ProviderManual}
	for n := range s.providers {
		out = append(out, n)
	}
	slices.Sort(out[1:])
	return out
}

// namesFor lists the configured providers that pay out in cur.
func (s *Service) namesFor(cur money.Currency) []string {
	var out []string
	for _, n := range s.names() {
		if cs, ok := s.providers[n].(CurrencySupporter); ok && !cs.SupportsCurrency(cur) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// MaxIdempotencyKeyLen bounds a payout request's Idempotency-Key.
const MaxIdempotencyKeyLen = 200

// checkIdempotencyKey accepts 1..MaxIdempotencyKeyLen printable ASCII
// characters (a UUID, say).
func checkIdempotencyKey(k string) error {
	if len(k) > MaxIdempotencyKeyLen {
		return errs.Invalidf("Idempotency-Key", "too_long", "the Idempotency-Key is longer than %d characters", MaxIdempotencyKeyLen)
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return errs.Invalidf("Idempotency-Key", "invalid", "the Idempotency-Key may hold only printable ASCII characters without spaces")
		}
	}
	return nil
}

// keyErr says a ledger idempotency_key_reused error in the client's terms
// (their Idempotency-Key, not the ledger's key); other errors pass.
func keyErr(err error, key string) error {
	if errs.CodeOf(err) != "idempotency_key_reused" {
		return err
	}
	return &errs.Error{Kind: errs.Conflict, Code: "idempotency_key_reused", Field: "Idempotency-Key",
		Message: fmt.Sprintf("Idempotency-Key %q was already used for a different payout request", key), Err: err}
}

// intent is the canonical form of what a payout request asked (see
// ledger.PayoutRequest.Intent): "25.00" and "25" ask the same.
func intent(all bool, amount money.Amount, cur money.Currency, provider string) string {
	a := ""
	if !all {
		a = money.FormatMicros(amount.Micros)
	}
	return fmt.Sprintf("all=%t amount=%s currency=%s provider=%s", all, a, cur, provider)
}

// replayed fills po with the payout made for the ledger hold holdID, the
// answer to a request whose Idempotency-Key was seen before.
func (s *Service) replayed(ctx context.Context, tx *store.Tx, holdID string, po *Payout) error {
	got, err := lock(ctx, tx, `hold_id = $1`, holdID)
	if err != nil {
		return fmt.Errorf("payout: the payout of hold %s: %w", holdID, err)
	}
	*po = got
	po.Replayed = true
	return nil
}

// List returns payouts, newest first: the creator's own for a creator key,
// every payout (optionally of one state) for the admin.
func (s *Service) List(ctx context.Context, p identity.Principal, state string) ([]Payout, error) {
	creator := p.CreatorID()
	if creator == "" && !p.IsAdmin() {
		return nil, errs.E(errs.Forbidden, "forbidden", "payouts are a creator's or the operator's")
	}
	out, err := store.QueryAll(ctx, s.db.Read(), scanPayout, `SELECT `+payoutCols+` FROM payouts WHERE ($1 = '' OR creator_id = $1)
		AND ($2 = '' OR state = $2) ORDER BY id DESC LIMIT 1000`, creator, state)
	if err != nil {
		return nil, fmt.Errorf("payout: list: %w", err)
	}
	return out, nil
}

// NeedsAttention returns every payout that needs the operator (Attention
// set: its transfer's existence unknown after a lost answer, or a held
// transfer that cannot be canceled), oldest first, for the operator to
// check at the provider and settle (MarkManual). Admin only (Forbidden).
func (s *Service) NeedsAttention(ctx context.Context, p identity.Principal) ([]Payout, error) {
	if !p.IsAdmin() {
		return nil, errs.E(errs.Forbidden, "forbidden", "only the operator lists the payouts that need them")
	}
	out, err := store.QueryAll(ctx, s.db.Read(), scanPayout, `SELECT `+payoutCols+` FROM payouts WHERE attention <> '' ORDER BY id LIMIT 1000`)
	if err != nil {
		return nil, fmt.Errorf("payout: needing attention: %w", err)
	}
	return out, nil
}

// lock reads a payout inside tx, locking it (PostgreSQL).
func lock(ctx context.Context, tx *store.Tx, where string, args ...any) (Payout, error) {
	p, err := scanPayout(tx.QueryRowContext(ctx, `SELECT `+payoutCols+` FROM payouts WHERE `+where+tx.ForUpdate(), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return p, errs.NotFoundf("payout not found")
	}
	if err != nil {
		return p, fmt.Errorf("payout: read: %w", err)
	}
	return p, nil
}

// settle moves a payout to paid (posting its hold) or failed/canceled
// (voiding it) inside tx; a payout already settled is left alone.
func (s *Service) settle(ctx context.Context, tx *store.Tx, po *Payout, state, reason string) error {
	if po.State == StatePaid || po.State == StateFailed || po.State == StateCanceled || po.State == StateReversed {
		return nil
	}
	var err error
	if state == StatePaid {
		_, err = s.ledger.PostHoldTx(ctx, tx, "payout-post:"+po.ID, po.HoldID, 0)
	} else {
		_, err = s.ledger.VoidHoldTx(ctx, tx, "payout-void:"+po.ID, po.HoldID)
	}
	if err != nil {
		return err
	}
	now := s.clock.Now().UnixMicro()
	po.State, po.Reason, po.UpdatedAt, po.ResolvedAt, po.Attention = state, reason, clock.Micros(now), clock.Micros(now), ""
	_, err = tx.ExecContext(ctx, `UPDATE payouts SET state = $1, reason = $2, updated_at = $3, resolved_at = $3, attention = '' WHERE id = $4`,
		state, reason, now, po.ID)
	return err
}

// Canceler is implemented by providers that can cancel a transfer they made
// but that was not funded (a Wise payout held for strong customer
// authentication), so nobody can fund it after its payout is canceled.
type Canceler interface {
	// CancelTransfer cancels the provider's transfer ref. It returns an
	// error wrapping ErrRejected when the provider refuses (the money may
	// have left), ErrUnavailable when it cannot be reached.
	CancelTransfer(ctx context.Context, ref string) error
}

// Cancel cancels a payout still requested (not yet sent): its hold is
// voided and the money is available again. A requested payout the provider
// already made a transfer for (one held for the operator, e.g. Wise's SCA)
// has that transfer canceled at the provider first (Canceler). The creator
// may cancel their own, the admin any. It returns NotFound for a payout p
// may not see, Conflict not_cancelable once it was sent or when the
// provider refuses to cancel its transfer, and Unavailable when the
// provider cannot be reached.
func (s *Service) Cancel(ctx context.Context, p identity.Principal, payoutID string) (Payout, error) {
	check := func(po Payout) error {
		if !p.IsAdmin() && po.CreatorID != p.CreatorID() {
			return errs.NotFoundf("payout %s not found", payoutID)
		}
		if po.State != StateRequested {
			return errs.Conflictf("not_cancelable", "payout %s is %s: only a requested payout can be canceled", po.ID, po.State)
		}
		return nil
	}
	// The provider's transfer is canceled outside the database transaction
	// (no lock held over the network); a claim in between finds it
	// canceled and fails the payout, money back.
	po, err := scanPayout(s.db.Read().QueryRowContext(ctx, `SELECT `+payoutCols+` FROM payouts WHERE id = $1`, payoutID))
	if errors.Is(err, sql.ErrNoRows) {
		return Payout{}, errs.NotFoundf("payout %s not found", payoutID)
	}
	if err != nil {
		return Payout{}, fmt.Errorf("payout: read: %w", err)
	}
	if err := check(po); err != nil {
		return Payout{}, err
	}
	if c, ok := s.providers[po.Provider].(Canceler); ok && po.ProviderRef != "" {
		if err := c.CancelTransfer(ctx, po.ProviderRef); errors.Is(err, ErrRejected) {
			return Payout{}, &errs.Error{Kind: errs.Conflict, Code: "not_cancelable", Err: err,
				Message: fmt.Sprintf("payout %s: %s will not cancel its transfer %s (it may be funded already): %v", po.ID, po.Provider, po.ProviderRef, err)}
		} else if err != nil {
			return Payout{}, &errs.Error{Kind: errs.Unavailable, Code: "provider_error", Err: err,
				Message: fmt.Sprintf("payout %s: canceling %s transfer %s: %v", po.ID, po.Provider, po.ProviderRef, err)}
		}
	}
	var out Payout
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		po, err := lock(ctx, tx, `id = $1`, payoutID)
		if err != nil {
			return err
		}
		if err := check(po); err != nil {
			return err
		}
		if err := s.settle(ctx, tx, &po, StateCanceled, "canceled"); err != nil {
			return err
		}
		out = po
		return nil
	})
	return out, err
}

// Process sends every due payout of a configured provider (not the manual
// ones: the operator exports those). A payout is first claimed (requested →
// processing, after which it can no longer be canceled; one attempt more),
// then sent: paid at once when the provider says so, else processing until
// its webhook; failed (hold voided) when the provider rejects it.
//
// An attempt that does not get an answer — the provider unavailable, an
// unexpected error, or the server stopping before the answer is stored — is
// tried again after Config.RetryBackoff, doubled each time (the claim
// itself sets that time, so a crash mid-send is retried too). One the
// provider holds for the operator (ErrActionRequired: Wise's strong
// customer authentication with no key) goes back to requested with the
// reason and the provider's transfer id, so its creator can cancel it, and
// is tried again the same way; at its last attempt its transfer is canceled
// at the provider (Canceler) before it fails, and if the provider refuses
// (the operator funded it by hand) or cannot be reached, it stays requested
// and is tried again after the backoff, past MaxAttempts — at most
// HeldCancelRetries times: then it stops, processing with its money held,
// and needs the operator (Attention) — until Wise's webhook, a cancel or
// the operator settles it. Sending is idempotent by payout id and each
// attempt passes the provider what earlier ones made (Transfer.Progress), so
// a payout is never paid twice and Wise never gets a second quote,
// recipient or transfer. After Config.MaxAttempts attempts it fails with
// the last reason and its money is available again; but when a transfer
// exists at the provider whose fate is unknown (not refused, not held for
// the operator), it stays processing with that reference and its reason
// and waits for the provider's webhook, since the money may have left.
// When the last attempt got no answer and no transfer reference is known
// (the answer lost after the provider may have made the transfer), the
// provider is asked for the payout's transfer first (Finder): one found is
// adopted (paid when the provider says so, else it waits for the webhook),
// none found fails the payout as above, and when the provider cannot
// answer (or cannot be asked) the payout stays processing, its money held,
// with Attention for the operator, and is not sent again (see MarkManual).
//
// A requested payout to an account its provider reported not ready
// (AccountWatcher: onboarding unfinished, restricted) is not claimed: it
// waits, requested, with the reason. A transfer the provider refuses
// (ErrRejected) while the account is not ready — the provider's news
// missed — does not fail the payout either: the account's status is read
// (CheckAccount) and recorded, and the payout goes back to requested to wait.
//
// A payout whose provider is not configured here or whose destination
// cannot be read is logged and not claimed: it stays requested, so its
// creator can still cancel it. None holds up the others. It returns how
// many it sent, and an error only when the due payouts cannot be read or
// claimed.
func (s *Service) Process(ctx context.Context) (int, error) {
	type duePayout struct{ id, provider, creator string }
	now := s.clock.Now().UnixMicro()
	dues, err := store.QueryAll(ctx, s.db.Read(), func(r store.Scanner) (duePayout, error) {
		var d duePayout
		return d, r.Scan(&d.id, &d.provider, &d.creator)
	}, `SELECT id, provider, creator_id FROM payouts WHERE provider <> $1
		AND ((state = $2 AND next_attempt_at <= $4)
		  OR (state = $3 AND ((next_attempt_at > 0 AND next_attempt_at <= $4) OR (next_attempt_at = 0 AND provider_ref = '' AND attention = ''))))
		ORDER BY id LIMIT 500`, ProviderManual, StateRequested, StateProcessing, now)
	if err != nil {
		return 0, fmt.Errorf("payout: due: %w", err)
	}
	sent := 0
	for _, d := range dues {
		pid := d.id
		// What sending needs is checked before the claim: a payout that
		// cannot be sent stays requested, so its creator can still cancel it.
		prov := s.providers[d.provider]
		if prov == nil {
			s.log.Warn("payout provider not configured on this server; the payout waits", "payout", pid, "provider", d.provider)
			continue
		}
		dest, err := s.destination(ctx, s.db.Read(), d.creator, d.provider)
		if err != nil {
			// This payout waits for the creator or the operator; the others still go.
			s.log.Error("payout destination unusable; the payout waits", "payout", pid, "provider", d.provider, "err", err)
			continue
		}
		// A requested payout to an account the provider says it cannot pay
		// yet (onboarding unfinished, restricted) waits, requested, with
		// the reason, until the provider says the account is ready.
		wait := ""
		if _, ok := prov.(AccountWatcher); ok {
			status, reason, err := s.destStatus(ctx, s.db.Read(), d.creator, d.provider)
			if err != nil {
				s.log.Error("payout destination status unreadable; the payout waits", "payout", pid, "provider", d.provider, "err", err)
				continue
			}
			if waits(status) {
				wait = waitReason(d.provider, status, reason)
			}
		}
		var po Payout
		err = s.db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			if po, err = lock(ctx, tx, `id = $1`, pid); err != nil {
				return err
			}
			if wait != "" && po.State == StateRequested {
				if po.Reason != wait {
					if _, err := tx.ExecContext(ctx, `UPDATE payouts SET reason = $1, updated_at = $2 WHERE id = $3`,
						wait, s.clock.Now().UnixMicro(), po.ID); err != nil {
						return err
					}
				}
				po = Payout{}
				return nil
			}
			if !po.due(s.clock.Now().UnixMicro()) {
				po = Payout{}
				return nil
			}
			po.State = StateProcessing
			po.Attempts++
			// The claim is a lease: unless this attempt's answer is stored
			// first, the payout is due again after the backoff.
			po.nextAttempt = s.clock.Now().Add(s.cfg.backoff(po.Attempts)).UnixMicro()
			_, err = tx.ExecContext(ctx, `UPDATE payouts SET state = $1, attempts = $2, next_attempt_at = $3, updated_at = $4 WHERE id = $5`,
				StateProcessing, po.Attempts, po.nextAttempt, s.clock.Now().UnixMicro(), po.ID)
			return err
		})
		if err != nil {
			return sent, fmt.Errorf("payout: claim %s: %w", pid, err)
		}
		if po.ID == "" {
			continue
		}
		record := func(ctx context.Context, progress string) error {
			_, err := s.db.Writer().ExecContext(ctx, `UPDATE payouts SET provider_progress = $1 WHERE id = $2`, progress, po.ID)
			if err != nil {
				return fmt.Errorf("payout: record progress of %s: %w", po.ID, err)
			}
			return nil
		}
		tr := Transfer{PayoutID: po.ID, CreatorID: po.CreatorID, Amount: po.Amount, Destination: dest,
			Reference: po.ID, // 29 characters: within Wise's 35
			Progress:  po.progress, Record: record, RequestedAt: time.UnixMicro(int64(po.RequestedAt))}
		res, sendErr := prov.Send(ctx, tr)
		// The last attempt got no answer and no transfer id is known: the
		// provider may have made the transfer and the answer been lost (a
		// timeout, a connection reset). Before the payout fails and its
		// money is freed, the provider is asked (Finder).
		var lost *lookup
		if sendErr != nil && !errors.Is(sendErr, ErrRejected) && !errors.Is(sendErr, ErrActionRequired) &&
			po.Attempts >= s.cfg.MaxAttempts && res.Ref == "" && po.ProviderRef == "" {
			lost = s.findLost(ctx, prov, tr)
		}
		// The last attempt at a payout held for the operator: its transfer
		// is canceled at the provider before the payout fails, so nobody
		// can fund it afterwards.
		var cancelErr error
		if c, ok := prov.(Canceler); ok && errors.Is(sendErr, ErrActionRequired) && po.Attempts >= s.cfg.MaxAttempts && res.Ref != "" {
			cancelErr = c.CancelTransfer(ctx, res.Ref)
		}
		// A transfer the provider refused because the creator's account
		// cannot take it yet (onboarding unfinished, restricted — news
		// payper missed) is not a failed payout: the account's status is
		// read and recorded, and the payout waits for it, requested.
		notReady := ""
		if aw, ok := prov.(AccountWatcher); ok && errors.Is(sendErr, ErrRejected) {
			if st, err := aw.CheckAccount(ctx, dest); err == nil && waits(st.Status) {
				if err := s.recordStatus(ctx, po.CreatorID, po.Provider, st); err != nil {
					s.log.Error("payout account status not stored", "payout", po.ID, "err", err)
				}
				notReady = waitReason(po.Provider, st.Status, st.Reason)
			}
		}
		err = s.db.WithTx(ctx, func(tx *store.Tx) error {
			cur, err := lock(ctx, tx, `id = $1`, po.ID)
			if err != nil {
				return err
			}
			if cur.State != StateProcessing {
				return nil // a webhook settled it meanwhile
			}
			switch {
			case notReady != "":
				_, err := tx.ExecContext(ctx, `UPDATE payouts SET state = $1, reason = $2, next_attempt_at = 0, updated_at = $3 WHERE id = $4`,
					StateRequested, notReady, s.clock.Now().UnixMicro(), cur.ID)
				return err
			case errors.Is(sendErr, ErrRejected):
				return s.settle(ctx, tx, &cur, StateFailed, sendErr.Error())
			case lost != nil && (lost.found || lost.err != nil):
				return s.resolveLost(ctx, tx, &cur, sendErr, lost)
			case sendErr != nil:
				return s.retryLater(ctx, tx, &cur, res.Ref, sendErr, cancelErr)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE payouts SET provider_ref = $1, reason = '', next_attempt_at = 0, updated_at = $2 WHERE id = $3`,
				res.Ref, s.clock.Now().UnixMicro(), cur.ID); err != nil {
				return err
			}
			cur.ProviderRef, cur.Reason = res.Ref, ""
			if res.Paid {
				return s.settle(ctx, tx, &cur, StatePaid, "")
			}
			return nil
		})
		if err != nil {
			// A database error on this payout: it is due again after its
			// lease; the others still go.
			s.log.Error("payout answer not stored; will retry", "payout", po.ID, "provider", po.Provider, "err", err)
			continue
		}
		if lost != nil && lost.found && lost.err == nil {
			s.log.Warn("payout's lost answer found at the provider: its transfer is adopted", "payout", po.ID, "provider", po.Provider,
				"ref", lost.sent.Ref, "paid", lost.sent.Paid, "err", sendErr)
			sent++
			continue
		}
		if sendErr != nil {
			s.log.Warn("payout not sent", "payout", po.ID, "provider", po.Provider, "attempt", po.Attempts, "err", sendErr)
			continue
		}
		sent++
	}
	return sent, nil
}

// lookup is what a Finder said about a payout whose last attempt lost its
// answer: found (sent) or not, or err when the provider could not answer
// (or cannot look transfers up at all). A transfer found that the provider
// canceled or refunded has found true and err wrapping ErrRejected.
type lookup struct {
	sent  Sent
	found bool
	err   error
}

// findLost asks prov for the transfer of t (see Finder); a provider that
// cannot look transfers up cannot answer either.
func (s *Service) findLost(ctx context.Context, prov Provider, t Transfer) *lookup {
	f, ok := prov.(Finder)
	if !ok {
		return &lookup{err: fmt.Errorf("%s cannot be asked whether it made the transfer", prov.Name())}
	}
	sent, found, err := f.FindTransfer(ctx, t)
	return &lookup{sent: sent, found: found, err: err}
}

// resolveLost stores, inside tx, what the provider said about the transfer
// of po (processing), whose last attempt failed with sendErr and no
// transfer id: a transfer found is adopted (its id stored; paid when the
// provider says so, else the payout waits for its webhook as one with a
// known transfer does); one found canceled or refunded fails the payout
// (money back); and when the provider could not answer the payout stays
// processing with its money held and needs the operator (Attention): it
// is not sent again, and MarkManual settles it without a transfer id.
func (s *Service) resolveLost(ctx context.Context, tx *store.Tx, po *Payout, sendErr error, l *lookup) error {
	now := s.clock.Now().UnixMicro()
	switch {
	case l.found && errors.Is(l.err, ErrRejected):
		po.ProviderRef = l.sent.Ref
		if _, err := tx.ExecContext(ctx, `UPDATE payouts SET provider_ref = $1, next_attempt_at = 0, updated_at = $2 WHERE id = $3`, l.sent.Ref, now, po.ID); err != nil {
			return err
		}
		return s.settle(ctx, tx, po, StateFailed, fmt.Sprintf("failed after %d attempts: %v", po.Attempts, l.err))
	case l.found && l.err == nil:
		po.ProviderRef, po.nextAttempt = l.sent.Ref, 0
		po.Reason = fmt.Sprintf("the answer to attempt %d was lost (%v); %s transfer %s made for it was found and its webhook settles this payout",
			po.Attempts, sendErr, po.Provider, l.sent.Ref)
		if l.sent.Paid {
			po.Reason = ""
		}
		if _, err := tx.ExecContext(ctx, `UPDATE payouts SET provider_ref = $1, reason = $2, next_attempt_at = 0, updated_at = $3 WHERE id = $4`,
			l.sent.Ref, po.Reason, now, po.ID); err != nil {
			return err
		}
		if l.sent.Paid {
			return s.settle(ctx, tx, po, StatePaid, "")
		}
		return nil
	}
	po.nextAttempt = 0
	po.Reason = fmt.Sprintf("stopped after %d attempts: the last got no answer (%v)", po.Attempts, sendErr)
	po.Attention = fmt.Sprintf("%s may have made the transfer of this payout (the answer to its last attempt was lost) and could not be asked (%v): "+
		"check at %s for a transfer of payout %s, then mark it paid or failed", po.Provider, l.err, po.Provider, po.ID)
	s.log.Error("payout needs the operator: its transfer's existence is unknown", "payout", po.ID, "provider", po.Provider, "send_err", sendErr, "lookup_err", l.err)
	_, err := tx.ExecContext(ctx, `UPDATE payouts SET reason = $1, attention = $2, next_attempt_at = 0, updated_at = $3 WHERE id = $4`,
		po.Reason, po.Attention, now, po.ID)
	return err
}

// due reports whether Process should send p now.
func (p Payout) due(now int64) bool {
	switch p.State {
	case StateRequested:
		return p.nextAttempt <= now
	case StateProcessing:
		return (p.nextAttempt > 0 && p.nextAttempt <= now) || (p.nextAttempt == 0 && p.ProviderRef == "" && p.Attention == "")
	}
	return false
}

// HeldCancelRetries bounds the attempts at a payout held for the operator
// (ErrActionRequired: Wise's strong customer authentication) past
// Config.MaxAttempts while its transfer cannot be canceled at the
// provider: after MaxAttempts+HeldCancelRetries attempts it is no longer
// tried (it was tried every RetryBackoffMax, forever) but waits,
// processing with its money held, for the operator (Attention).
const HeldCancelRetries = 3

// retryLater stores a failed attempt at po (processing) inside tx: tried
// again after the backoff, back to requested for an ErrActionRequired, or,
// after the last attempt, failed (hold voided) — unless the transfer ref
// exists at the provider with its fate unknown: then it waits, processing,
// for the provider's webhook; or a held payout's transfer could not be
// canceled at the provider (cancelErr): then it stays requested and the
// next attempt tries again, at most HeldCancelRetries times past the cap,
// after which it needs the operator (processing, Attention).
func (s *Service) retryLater(ctx context.Context, tx *store.Tx, po *Payout, ref string, sendErr, cancelErr error) error {
	now := s.clock.Now()
	reason := sendErr.Error()
	held := errors.Is(sendErr, ErrActionRequired)
	if ref == "" {
		ref = po.ProviderRef
	}
	if po.Attempts >= s.cfg.MaxAttempts+HeldCancelRetries && held && cancelErr != nil {
		// Canceling keeps failing: no more attempts; the operator checks
		// the transfer at the provider and settles the payout (MarkManual).
		po.State, po.ProviderRef, po.nextAttempt = StateProcessing, ref, 0
		po.Reason = fmt.Sprintf("%s; after %d attempts its %s transfer %s still could not be canceled (%v)", reason, po.Attempts, po.Provider, ref, cancelErr)
		po.Attention = fmt.Sprintf("%s transfer %s of this payout, held for strong customer authentication, could not be canceled in %d attempts (%v): "+
			"check it at %s; canceled or never funded: mark the payout failed (payper cancels the transfer first); funded: wait for its webhook or mark it paid",
			po.Provider, ref, po.Attempts-s.cfg.MaxAttempts+1, cancelErr, po.Provider)
		s.log.Error("payout needs the operator: its held transfer cannot be canceled", "payout", po.ID, "provider", po.Provider, "ref", ref, "attempts", po.Attempts, "err", cancelErr)
		_, err := tx.ExecContext(ctx, `UPDATE payouts SET state = $1, reason = $2, provider_ref = $3, attention = $4, next_attempt_at = 0, updated_at = $5 WHERE id = $6`,
			po.State, po.Reason, ref, po.Attention, now.UnixMicro(), po.ID)
		return err
	} else if po.Attempts >= s.cfg.MaxAttempts && held && cancelErr != nil {
		reason = fmt.Sprintf("%s; after %d attempts its %s transfer %s could not be canceled (%v), so the payout waits", reason, po.Attempts, po.Provider, ref, cancelErr)
	} else if po.Attempts >= s.cfg.MaxAttempts {
		if held || ref == "" {
			return s.settle(ctx, tx, po, StateFailed, fmt.Sprintf("failed after %d attempts: %s", po.Attempts, reason))
		}
		po.Reason = fmt.Sprintf("stopped retrying after %d attempts (%s); %s transfer %s exists and its webhook settles this payout", po.Attempts, reason, po.Provider, ref)
		po.ProviderRef, po.nextAttempt = ref, 0
		_, err := tx.ExecContext(ctx, `UPDATE payouts SET provider_ref = $1, reason = $2, next_attempt_at = 0, updated_at = $3 WHERE id = $4`,
			ref, po.Reason, now.UnixMicro(), po.ID)
		return err
	}
	state := StateProcessing
	if held {
		// Nothing left: the creator may cancel it while it waits.
		state = StateRequested
	}
	po.State, po.Reason, po.ProviderRef = state, reason, ref
	po.nextAttempt = now.Add(s.cfg.backoff(po.Attempts)).UnixMicro()
	_, err := tx.ExecContext(ctx, `UPDATE payouts SET state = $1, reason = $2, provider_ref = $3, next_attempt_at = $4, updated_at = $5 WHERE id = $6`,
		state, reason, ref, po.nextAttempt, now.UnixMicro(), po.ID)
	return err
}

// Webhook takes a provider's webhook delivery: its signature is verified
// over the raw body, a redelivered event does nothing, and the payout it is
// about becomes paid (hold posted) or failed (hold voided, money back to
// available). A StateReversed event about a paid payout reverses it in the
// ledger (see reverse): the money that came back is available again; about
// a payout not yet paid, it fails it. An event about no transfer is read
// as an account event by a provider that reports on accounts
// (AccountWatcher; see accountEvent): the status of the creator's account
// there is recorded on their destination (payouts wait while it is not
// ready), a failed payout from the account's own balance is recorded and
// logged, the ledger untouched; each event once. It returns NotFound for an
// unknown provider, Unauthorized for a bad signature, and nil for events
// about nothing payper knows.
func (s *Service) Webhook(ctx context.Context, provider string, h http.Header, body []byte) error {
	prov := s.providers[provider]
	if prov == nil {
		return errs.NotFoundf("no payout webhook for %q", provider)
	}
	ev, err := prov.ParseWebhook(h, body)
	if errors.Is(err, ErrBadSignature) {
		return &errs.Error{Kind: errs.Unauthorized, Code: "bad_signature", Message: "the webhook signature does not match the body", Err: err}
	}
	if err != nil {
		return &errs.Error{Kind: errs.Invalid, Code: "invalid_payload", Message: err.Error(), Err: err}
	}
	if ev.State == "" {
		if aw, ok := prov.(AccountWatcher); ok {
			ae, err := aw.ParseAccountWebhook(h, body)
			if err != nil {
				return &errs.Error{Kind: errs.Invalid, Code: "invalid_payload", Message: err.Error(), Err: err}
			}
			if ae.Account != "" {
				return s.accountEvent(ctx, provider, ae)
			}
		}
		return nil
	}
	if ev.Ref == "" && ev.PayoutID == "" {
		return nil
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		var po Payout
		var err error
		if ev.PayoutID != "" {
			po, err = lock(ctx, tx, `id = $1 AND provider = $2`, ev.PayoutID, provider)
		} else {
			po, err = lock(ctx, tx, `provider = $1 AND provider_ref = $2`, provider, ev.Ref)
		}
		if errs.Is(err, errs.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if ev.ID != "" {
			res, err := tx.ExecContext(ctx, `INSERT INTO payout_events (provider, event_id, payout_id, received_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (provider, event_id) DO NOTHING`, provider, ev.ID, po.ID, s.clock.Now().UnixMicro())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return nil
			}
		}
		if ev.State == StateReversed {
			return s.reverse(ctx, tx, &po, ev)
		}
		if ev.State == StatePaid && po.State == StateFailed {
			// Failed by hand (MarkManual) or by payper, yet the provider
			// paid it: the money left twice unless the operator recovers it.
			s.log.Error("the provider reports paid a payout that is failed: its money is available to the creator again; recover it or reconcile by hand",
				"payout", po.ID, "provider", provider, "ref", po.ProviderRef, "event", ev.ID, "reason", po.Reason)
		}
		return s.settle(ctx, tx, &po, ev.State, ev.Reason)
	})
	if err != nil {
		if errs.KindOf(err) != errs.Internal {
			return err
		}
		return fmt.Errorf("payout: webhook: %w", err)
	}
	return nil
}

// reverse takes a StateReversed event about po inside tx. A paid payout is
// reversed in the ledger and becomes reversed with ev.Reason once all of it
// came back; a partly reversed payout stays paid, its reason saying how
// much came back. How much: with ev.TotalReversed (the provider's total
// reversed so far), whatever the ledger has not reversed of it yet —
// nothing for an event repeated, redelivered under a new id or older than
// one taken, so every order of events reverses exactly the largest total;
// otherwise ev.Amount (the zero Amount: all that is not reversed yet),
// never beyond what was paid. A payout not yet paid fails (its hold is
// voided: the money never reached the creator) — unless the provider's
// total is only part of it: then the rest was delivered, and it is paid
// and reversed in part. A payout already reversed, failed or canceled is
// left alone, and so is one whose reversal the ledger replays (taken
// before). An amount in another currency is Invalid.
func (s *Service) reverse(ctx context.Context, tx *store.Tx, po *Payout, ev Event) error {
	total := ev.TotalReversed.Micros
	if total < 0 || (total > 0 && ev.TotalReversed.Currency != po.Amount.Currency) {
		return errs.Invalidf("amount", "invalid", "%s %s reversed in all does not fit payout %s of %s",
			money.FormatMicros(total), ev.TotalReversed.Currency, po.ID, po.Amount)
	}
	switch po.State {
	case StateRequested, StateProcessing:
		reason := ev.Reason
		if reason == "" {
			reason = "reversed"
		}
		if total == 0 || total >= po.Amount.Micros {
			return s.settle(ctx, tx, po, StateFailed, reason)
		}
		// Part of a transfer that exists came back: the rest was delivered,
		// so the payout is paid, then reversed in part below.
		if err := s.settle(ctx, tx, po, StatePaid, ""); err != nil {
			return err
		}
	case StatePaid:
	default:
		return nil
	}
	var r ledger.ReverseResult
	var err error
	if total > 0 {
		// The provider's total decides (see Event.TotalReversed): the
		// ledger is brought up to it, once per total.
		r, err = s.ledger.ReversePayoutToTx(ctx, tx, fmt.Sprintf("payout-reverse:%s:to:%d", po.ID, total), po.HoldID, total)
		if err != nil {
			return err
		}
		if r.Amount == 0 {
			return nil // reversed that far already (a repeat, or an older event)
		}
	} else {
		amount := ev.Amount.Micros
		if amount < 0 || (amount > 0 && ev.Amount.Currency != po.Amount.Currency) {
			return errs.Invalidf("amount", "invalid", "a reversal of %s %s does not fit payout %s of %s", money.FormatMicros(amount), ev.Amount.Currency, po.ID, po.Amount)
		}
		key := "payout-reverse:" + po.ID
		if amount > 0 {
			key += ":" + ev.ID
		}
		r, err = s.ledger.ReversePayoutTx(ctx, tx, key, po.HoldID, amount)
		switch errs.CodeOf(err) {
		case "already_reversed":
			return nil
		case "exceeds_paid": // more than is left came back: reverse the rest
			r, err = s.ledger.ReversePayoutTx(ctx, tx, key+":rest", po.HoldID, 0)
		}
		if err != nil {
			return err
		}
	}
	if r.Replayed {
		// Taken before (an event without an id, redelivered): the payout
		// and the creator's mail were written with it.
		return nil
	}
	reason := ev.Reason
	if reason == "" {
		reason = "the provider returned the money"
	}
	now := s.clock.Now().UnixMicro()
	state := StateReversed
	if r.Reversed < po.Amount.Micros {
		state = StatePaid
		reason = fmt.Sprintf("partly reversed: %s %s of %s %s came back (%s)", money.FormatMicros(r.Reversed), po.Amount.Currency,
			money.FormatMicros(po.Amount.Micros), po.Amount.Currency, reason)
	}
	s.log.Info("payout reversed", "payout", po.ID, "creator", po.CreatorID, "amount", money.FormatMicros(r.Amount), "reversed", money.FormatMicros(r.Reversed), "reason", reason)
	po.State, po.Reason, po.UpdatedAt = state, reason, clock.Micros(now)
	if _, err = tx.ExecContext(ctx, `UPDATE payouts SET state = $1, reason = $2, updated_at = $3 WHERE id = $4`, state, reason, now, po.ID); err != nil {
		return err
	}
	return s.tellReversed(ctx, tx, po, r.Amount)
}

// tellReversed writes a mail to the creator's user, when the creator has one
// (a creator who signed up with an email), in the payout's transaction: the
// money of payout po came back and amount of it is available again. A
// creator without a user sees it in the payout's state and reason only.
func (s *Service) tellReversed(ctx context.Context, tx *store.Tx, po *Payout, amount int64) error {
	var to string
	err := tx.QueryRowContext(ctx, `SELECT email FROM users WHERE creator_id = $1`, po.CreatorID).Scan(&to)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("payout: the creator's email: %w", err)
	}
	cur := string(po.Amount.Currency)
	text := fmt.Sprintf("The payout %s of %s %s you were sent came back to us: %s.\n\n"+
		"%s %s of it is in your available balance again; you can withdraw it once your payout details are right.\n",
		po.ID, money.FormatMicros(po.Amount.Micros), cur, po.Reason, money.FormatMicros(amount), cur)
	_, err = mail.Enqueue(ctx, tx, s.clock.Now(), mail.Message{Kind: "payout_reversed", To: to,
		Subject: "Your payout " + po.ID + " came back", Text: text})
	return err
}

// ExportManual returns every manual payout awaiting the operator's mark
// as CSV (id, creator, amount, currency, requested at, exported before) for
// the operator to pay outside payper, and marks the newly requested ones
// processing (from then on they cannot be canceled); a lost export is
// simply asked for again. It returns the CSV and how many were new. Admin
// only.
func (s *Service) ExportManual(ctx context.Context, p identity.Principal) ([]byte, int, error) {
	if !p.IsAdmin() {
		return nil, 0, errs.E(errs.Forbidden, "forbidden", "only the operator exports payouts")
	}
	var buf bytes.Buffer
	n := 0
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		buf.Reset()
		n = 0
		ps, err := store.QueryAll(ctx, tx, scanPayout, `SELECT `+payoutCols+` FROM payouts WHERE state IN ($1, $2) AND provider = $3 ORDER BY id`+tx.ForUpdate(),
			StateRequested, StateProcessing, ProviderManual)
		if err != nil {
			return err
		}
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"payout_id", "creator_id", "amount", "currency", "requested_at", "exported_before"})
		now := s.clock.Now().UnixMicro()
		for _, po := range ps {
			_ = w.Write([]string{po.ID, po.CreatorID, money.FormatMicros(po.Amount.Micros), string(po.Amount.Currency),
				strconv.FormatInt(int64(po.RequestedAt), 10), strconv.FormatBool(po.State == StateProcessing)})
			if po.State == StateRequested {
				if _, err := tx.ExecContext(ctx, `UPDATE payouts SET state = $1, updated_at = $2 WHERE id = $3`, StateProcessing, now, po.ID); err != nil {
					return err
				}
				n++
			}
		}
		w.Flush()
		return w.Error()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("payout: export: %w", err)
	}
	return buf.Bytes(), n, nil
}

// MarkManual records the outcome of a payout the operator settles by
// hand: paid (its hold posted) or failed (its hold voided, the money
// available to the creator again), with a reason the creator sees.
//
// A manual payout is marked once exported (processing); a reason is needed
// to fail it. A payout of another provider (Stripe, Wise) is marked only
// when stuck: processing, and either needing the operator (Attention: its
// last attempt lost the provider's answer and the provider could not be
// asked whether it made the transfer — settled with or without a transfer
// ref), or sent to the provider (its transfer ref known, no attempt
// pending) and either out of attempts (Config.MaxAttempts: it stopped
// retrying with the transfer's fate unknown) or waiting for the provider's
// webhook for Config.SettleAfter since its last change — the operator
// having checked at the provider what became of the money. A reason is
// needed either way; the settlement is recorded (who, when, why, the
// provider's ref) and the payout's reason says the operator settled it. A
// webhook arriving later leaves it as settled (one reporting it paid after
// it was failed is logged as an error to reconcile).
//
// Failing a provider's payout first stops its transfer at the provider, so
// that the money freed cannot also arrive: a transfer the provider can
// cancel (Canceler: Wise cancels one not funded yet) is canceled — if the
// provider refuses (funded or sent already) the mark is refused, 409
// not_cancelable; a transfer that cannot be canceled but that the provider
// reports delivered (a Finder's answer: a Stripe transfer exists, and
// Stripe's API has no way to cancel a transfer, only to reverse it, and
// that only while the connected account's balance covers it:
// https://docs.stripe.com/api/transfer_reversals) refuses the mark, 409
// transfer_exists — reverse it at the provider (its reversal webhook gives
// the money back) or mark it paid. A payout needing the operator
// without a ref is looked up first (Finder); when the provider cannot
// answer, the operator's word stands.
//
// Admin only (Forbidden). It returns Invalid for a bad state or a missing
// reason, NotFound for an unknown payout, Conflict: payout_in_flight for a
// provider's payout that may still be in flight (an attempt pending, or
// waiting less than SettleAfter: the message says until when),
// not_markable for any other payout not processing, not_cancelable and
// transfer_exists as above, and Unavailable when the provider cannot be
// reached to cancel the transfer.
func (s *Service) MarkManual(ctx context.Context, p identity.Principal, payoutID, state, reason string) (Payout, error) {
	if !p.IsAdmin() {
		return Payout{}, errs.E(errs.Forbidden, "forbidden", "only the operator marks payouts")
	}
	if state != StatePaid && state != StateFailed {
		return Payout{}, errs.Invalidf("state", "invalid", "state must be paid or failed")
	}
	reason = strings.TrimSpace(reason)
	if len(reason) > 1000 {
		return Payout{}, errs.Invalidf("reason", "too_long", "the reason is longer than 1000 characters")
	}
	check := func(po Payout) error {
		if po.State != StateProcessing {
			return errs.Conflictf("not_markable", "payout %s is a %s payout in state %s: only a processing payout is marked", po.ID, po.Provider, po.State)
		}
		if po.Provider == ProviderManual {
			if state == StateFailed && reason == "" {
				return errs.Invalidf("reason", "required", "say why the payout failed: the creator sees it")
			}
			return nil
		}
		if reason == "" {
			return errs.Invalidf("reason", "required", "say what the provider shows for this payout's transfer: the creator sees it")
		}
		now := s.clock.Now()
		switch {
		case po.Attention != "":
			// The operator was asked: settled with or without a ref.
		case po.nextAttempt != 0 || po.ProviderRef == "":
			return errs.Conflictf("payout_in_flight", "payout %s is being sent to %s (attempt %d of %d pending): wait for its answer",
				po.ID, po.Provider, po.Attempts, s.cfg.MaxAttempts)
		case po.Attempts < s.cfg.MaxAttempts && now.Sub(time.UnixMicro(int64(po.UpdatedAt))) < s.cfg.SettleAfter:
			from := time.UnixMicro(int64(po.UpdatedAt)).Add(s.cfg.SettleAfter).UTC()
			return errs.Conflictf("payout_in_flight", "payout %s: %s transfer %s may still be delivered and its webhook settle it: it can be settled by hand from %s",
				po.ID, po.Provider, po.ProviderRef, from.Format(time.RFC3339))
		}
		return nil
	}
	// The provider's transfer is stopped outside the database transaction
	// (no lock held over the network); the transaction checks again.
	po, err := scanPayout(s.db.Read().QueryRowContext(ctx, `SELECT `+payoutCols+` FROM payouts WHERE id = $1`, payoutID))
	if errors.Is(err, sql.ErrNoRows) {
		return Payout{}, errs.NotFoundf("payout not found")
	}
	if err != nil {
		return Payout{}, fmt.Errorf("payout: read: %w", err)
	}
	if err := check(po); err != nil {
		return Payout{}, err
	}
	ref, note := po.ProviderRef, ""
	if state == StateFailed && po.Provider != ProviderManual {
		if ref, note, err = s.stopTransfer(ctx, po); err != nil {
			return Payout{}, err
		}
	}
	var out Payout
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		po, err := lock(ctx, tx, `id = $1`, payoutID)
		if err != nil {
			return err
		}
		if err := check(po); err != nil {
			return err
		}
		if po.Provider == ProviderManual {
			if err := s.settle(ctx, tx, &po, state, reason); err != nil {
				return err
			}
			out = po
			return nil
		}
		if ref == "" {
			ref = po.ProviderRef
		}
		now := s.clock.Now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO payout_settlements (payout_id, provider, provider_ref, state, reason, attempts, operator_key, settled_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, po.ID, po.Provider, ref, state, reason, po.Attempts, p.KeyID, now.UnixMicro()); err != nil {
			return err
		}
		if ref != po.ProviderRef {
			if _, err := tx.ExecContext(ctx, `UPDATE payouts SET provider_ref = $1 WHERE id = $2`, ref, po.ID); err != nil {
				return err
			}
			po.ProviderRef = ref
		}
		if err := s.settle(ctx, tx, &po, state, "settled by the operator: "+reason+note); err != nil {
			return err
		}
		s.log.Info("payout settled by the operator", "payout", po.ID, "provider", po.Provider, "ref", po.ProviderRef, "state", state, "reason", reason, "key", p.KeyID)
		out = po
		return nil
	})
	return out, err
}

// stopTransfer makes sure the transfer of provider payout po, about to be
// marked failed, cannot deliver the money (see MarkManual). It returns the
// transfer's ref (looked up when po has none and needs the operator) and a
// note for the payout's reason.
func (s *Service) stopTransfer(ctx context.Context, po Payout) (ref, note string, err error) {
	prov := s.providers[po.Provider]
	if prov == nil {
		return po.ProviderRef, "", nil
	}
	ref = po.ProviderRef
	var found Sent
	known := false
	if f, ok := prov.(Finder); ok {
		t := Transfer{PayoutID: po.ID, CreatorID: po.CreatorID, Amount: po.Amount, Progress: po.progress,
			RequestedAt: time.UnixMicro(int64(po.RequestedAt))}
		sent, ok, ferr := f.FindTransfer(ctx, t)
		switch {
		case ok && errors.Is(ferr, ErrRejected):
			// Canceled or refunded at the provider already: nothing can land.
			return sent.Ref, "", nil
		case ok && ferr == nil:
			found, known = sent, true
			if ref == "" {
				ref = sent.Ref
			}
		case ferr != nil:
			// The provider cannot answer: the operator's word stands.
			s.log.Warn("payout marked failed without asking the provider about its transfer", "payout", po.ID, "provider", po.Provider, "err", ferr)
		}
	}
	if ref == "" {
		return "", "", nil
	}
	if c, ok := prov.(Canceler); ok {
		switch err := c.CancelTransfer(ctx, ref); {
		case errors.Is(err, ErrRejected):
			return "", "", &errs.Error{Kind: errs.Conflict, Code: "not_cancelable", Err: err,
				Message: fmt.Sprintf("payout %s: %s will not cancel its transfer %s (it may be funded or sent already), so it cannot be marked failed: wait for its webhook or mark it paid: %v", po.ID, po.Provider, ref, err)}
		case err != nil:
			return "", "", &errs.Error{Kind: errs.Unavailable, Code: "provider_error", Err: err,
				Message: fmt.Sprintf("payout %s: canceling %s transfer %s: %v", po.ID, po.Provider, ref, err)}
		}
		s.log.Info("payout's transfer canceled at the provider before it is marked failed", "payout", po.ID, "provider", po.Provider, "ref", ref)
		return ref, fmt.Sprintf(" (%s transfer %s canceled)", po.Provider, ref), nil
	}
	if known && found.Paid {
		return "", "", errs.Conflictf("transfer_exists", "payout %s: %s transfer %s exists and %s reports it delivered; it cannot be canceled, only reversed: "+
			"reverse it at %s (its reversal webhook gives the money back to the creator) or mark the payout paid", po.ID, po.Provider, ref, po.Provider, po.Provider)
	}
	return ref, "", nil
}

// Onboarder is implemented by providers whose creators open an account
// with the provider through an onboarding page (Stripe Connect).
type Onboarder interface {
	CreateAccount(ctx context.Context, creatorID, country, email string) (string, error)
	OnboardingLink(ctx context.Context, accountID, refreshURL, returnURL string) (string, error)
}

// Onboard starts or resumes the creator p acts for's onboarding with a
// provider that has one (Stripe): their connected account is made once and
// stored as their destination, and the returned URL is the provider's page
// to finish it, which sends them back to returnURL. With a provider that
// reports on accounts (AccountWatcher), an existing account's status is
// read and recorded; one the provider no longer knows or can never pay
// (CheckAccount's Unusable: a Stripe account made under the full service
// agreement in another region than the platform's) is replaced by a new
// account (in country), which starts with no status. It returns Invalid for
// a provider without onboarding or bad fields — also when the provider
// refuses a field (ErrInvalid, e.g. a country Stripe does not support:
// code provider_invalid, with the field when the provider names it) —,
// Unavailable when the provider cannot be reached or fails otherwise.
func (s *Service) Onboard(ctx context.Context, p identity.Principal, provider, country, email, returnURL string) (string, error) {
	if p.CreatorID() == "" {
		return "", errs.E(errs.Forbidden, "forbidden", "only a creator onboards for payouts")
	}
	ob, ok := s.providers[provider].(Onboarder)
	if !ok {
		return "", errs.Invalidf("provider", "no_onboarding", "%q has no onboarding: set the destination instead", provider)
	}
	var c errs.Collector
	if len(country) != 2 || strings.ToUpper(country) != country {
		c.Addf("country", "invalid", "country must be an ISO 3166-1 alpha-2 code in upper case")
	}
	if !strings.Contains(email, "@") || len(email) > 254 {
		c.Addf("email", "invalid", "email must be the creator's email address")
	}
	if !strings.HasPrefix(returnURL, "https://") && !strings.HasPrefix(returnURL, "http://") {
		c.Addf("return_url", "invalid", "return_url must be an absolute http(s) URL")
	}
	if err := c.Err(); err != nil {
		return "", err
	}
	acct, err := s.destination(ctx, s.db.Read(), p.CreatorID(), provider)
	if err == nil {
		if aw, ok := ob.(AccountWatcher); ok {
			// The account made before is resumed only if the provider can
			// still pay it: one it no longer knows, or one it can never pay
			// from this platform (a Stripe account under the full service
			// agreement in another region), is replaced by a new one.
			st, cerr := aw.CheckAccount(ctx, acct)
			switch {
			case errors.Is(cerr, ErrInvalid), cerr == nil && st.Unusable:
				why := st.Reason
				if cerr != nil {
					why = cerr.Error()
				}
				s.log.Warn("payout account replaced by a new one at onboarding", "creator", p.CreatorID(), "provider", provider, "reason", why)
				err = errs.Invalidf("provider", "no_destination", "replace the account")
			case cerr != nil:
				// Not a definite answer (Stripe unreachable…): the account
				// is resumed as it was, and its link says whether Stripe works.
				s.log.Warn("payout account not checked at onboarding; resumed", "creator", p.CreatorID(), "provider", provider, "err", cerr)
			default:
				if err := s.recordStatus(ctx, p.CreatorID(), provider, st); err != nil {
					return "", err
				}
			}
		}
	}
	if errs.CodeOf(err) == "no_destination" {
		if acct, err = ob.CreateAccount(ctx, p.CreatorID(), country, email); err != nil {
			return "", providerErr(provider, err)
		}
		if err := s.SetDestination(ctx, p, provider, acct); err != nil {
			return "", err
		}
	} else if err != nil {
		return "", err
	}
	link, err := ob.OnboardingLink(ctx, acct, returnURL, returnURL)
	if err != nil {
		return "", providerErr(provider, err)
	}
	return link, nil
}

// providerErr says an Onboarder's error in the API's terms: the provider
// refusing what the caller gave (ErrInvalid) is Invalid provider_invalid
// with the field (return_url for an OnboardingLink's URLs); anything else
// is Unavailable provider_error.
func providerErr(provider string, err error) error {
	if errors.Is(err, ErrInvalid) {
		e := &errs.Error{Kind: errs.Invalid, Code: "provider_invalid", Message: fmt.Sprintf("%s refused it: %v", provider, err), Err: err}
		var ie *InvalidError
		if errors.As(err, &ie) {
			e.Field = ie.Field
			e.Message = fmt.Sprintf("%s refused it: %s", provider, ie.Message)
		}
		return e
	}
	return &errs.Error{Kind: errs.Unavailable, Code: "provider_error", Message: fmt.Sprintf("%s: %v", provider, err), Err: err}
}
