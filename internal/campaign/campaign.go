// Package campaign owns campaigns: drafts with a budget, funding of their
// escrow through a payment, and their money state. Money itself moves only
// through the ledger, inside the same database transaction as the campaign's
// own rows, so a campaign's state and its escrow never disagree.
package campaign

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// Campaign states before launch; lifecycle.go has the rest.
const (
	StateDraft  = "draft"  // created, escrow not yet fully funded
	StateFunded = "funded" // escrow holds the whole budget
)

// Payment providers. Only the sandbox exists so far: it always succeeds.
const ProviderSandbox = "sandbox"

// Campaign is a brand's budget and what it buys.
type Campaign struct {
	ID       string         `json:"id"`
	BrandID  string         `json:"brand_id"`
	Name     string         `json:"name"`
	Currency money.Currency `json:"currency"`
	Budget   money.Amount   `json:"budget"`
	State    string         `json:"state"`
	// StateReason says why a completed campaign completed (CompletedBudget, …).
	StateReason string       `json:"state_reason,omitempty"`
	CreatedAt   clock.Micros `json:"created_at"`
	UpdatedAt   clock.Micros `json:"updated_at"`
	// Setup is the pay-per-interaction configuration, nil until configured.
	Setup *Setup `json:"setup,omitempty"`
	// Warnings is the pricing advisor's advice on the setup (never errors).
	Warnings []Warning `json:"warnings,omitempty"`
}

// Draft is the input for a new campaign.
type Draft struct {
	Name   string
	Budget money.Amount
}

// Validate reports every invalid field at once.
func (d Draft) Validate() error {
	var c errs.Collector
	switch {
	case strings.TrimSpace(d.Name) == "":
		c.Addf("name", "required", "name is required")
	case errs.BadText("name", d.Name, false) != nil:
		// A name is one line: no NUL, tab or line break.
		c.Add("name", errs.BadText("name", d.Name, false))
	case utf8.RuneCountInString(d.Name) > 200:
		c.Addf("name", "invalid", "name must be valid UTF-8 of at most 200 characters")
	}
	switch {
	case !d.Budget.Currency.Valid():
		c.Addf("budget.currency", "unknown_currency", "unknown currency %q", string(d.Budget.Currency))
	case d.Budget.Micros == 0:
		c.Addf("budget.amount", "zero_amount", "budget must be greater than zero")
	case d.Budget.Micros < 0:
		c.Addf("budget.amount", "negative_amount", "budget must not be negative")
	}
	return c.Err()
}

// Service manages campaigns.
type Service struct {
	db     *store.DB
	ledger *ledger.Ledger
	clock  clock.Clock
}

// New returns a Service.
func New(db *store.DB, l *ledger.Ledger, clk clock.Clock) *Service {
	return &Service{db: db, ledger: l, clock: clk}
}

// Create makes a draft campaign for the brand p acts for. It returns
// Forbidden unless p is a brand, and an Invalid error listing every bad field.
func (s *Service) Create(ctx context.Context, p identity.Principal, d Draft) (Campaign, error) {
	if p.BrandID() == "" {
		return Campaign{}, errs.E(errs.Forbidden, "forbidden", "only a brand can create campaigns")
	}
	if err := d.Validate(); err != nil {
		return Campaign{}, err
	}
	now := s.clock.Now().UnixMicro()
	c := Campaign{ID: id.New(id.Campaign), BrandID: p.BrandID(), Name: strings.TrimSpace(d.Name), Currency: d.Budget.Currency,
		Budget: d.Budget, State: StateDraft, CreatedAt: clock.Micros(now), UpdatedAt: clock.Micros(now)}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, brand_id, name, currency, budget, state, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.ID, c.BrandID, c.Name, string(c.Currency), c.Budget.Micros, c.State, now, now)
		if err != nil {
			return fmt.Errorf("campaign: insert: %w", err)
		}
		return nil
	})
	return c, err
}

const cols = `id, brand_id, name, currency, budget, state, state_reason, created_at, updated_at, setup`

func scan(row interface{ Scan(...any) error }) (Campaign, error) {
	var c Campaign
	var cur, setup string
	if err := row.Scan(&c.ID, &c.BrandID, &c.Name, &cur, &c.Budget.Micros, &c.State, &c.StateReason, &c.CreatedAt, &c.UpdatedAt, &setup); err != nil {
		return c, err
	}
	c.Currency = money.Currency(cur)
	c.Budget.Currency = c.Currency
	if setup != "" {
		c.Setup = &Setup{}
		if err := json.Unmarshal([]byte(setup), c.Setup); err != nil {
			return c, fmt.Errorf("campaign %s: stored setup unreadable: %w", c.ID, err)
		}
		c.Warnings = Advise(*c.Setup, c.Budget, DefaultFXRates())
	}
	return c, nil
}

// Configure stores the pay-per-interaction setup of a campaign of the brand p
// acts for, after normalizing it, and returns the campaign with the pricing
// advisor's warnings. It returns NotFound for a campaign p may not change, a
// Conflict once the campaign is past funding, and an Invalid error listing
// every bad field; nothing is stored then. Storing a setup drops the
// campaign's setup draft (SaveSetupPart), which it supersedes.
func (s *Service) Configure(ctx context.Context, p identity.Principal, campaignID string, setup Setup) (Campaign, error) {
	if p.BrandID() == "" {
		return Campaign{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	setup.Normalize()
	var out Campaign
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		camp, err := scan(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM campaigns WHERE id = $1`+tx.ForUpdate(), campaignID))
		if camp, err = visible(camp, err, p, campaignID); err != nil {
			return err
		}
		if camp.State != StateDraft && camp.State != StateFunded {
			return errs.Conflictf("campaign_locked", "campaign %s is %s: its setup can change only while it is a draft or funded", camp.ID, camp.State)
		}
		now := s.clock.Now()
		if err := setup.Validate(camp.Budget, now); err != nil {
			return err
		}
		b, err := json.Marshal(setup)
		if err != nil {
			return fmt.Errorf("campaign: encode setup: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET setup = $1, setup_draft = '', updated_at = $2 WHERE id = $3`, string(b), now.UnixMicro(), camp.ID); err != nil {
			return fmt.Errorf("campaign: store setup: %w", err)
		}
		camp.Setup, camp.UpdatedAt = &setup, clock.MicrosOf(now)
		camp.Warnings = Advise(setup, camp.Budget, DefaultFXRates())
		out = camp
		return nil
	})
	return out, err
}

// visible returns the campaign if p may see it: the admin, or its brand.
func visible(c Campaign, err error, p identity.Principal, campaignID string) (Campaign, error) {
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !p.IsAdmin() && c.BrandID != p.BrandID()) {
		return Campaign{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	if err != nil {
		return Campaign{}, fmt.Errorf("campaign: read %s: %w", campaignID, err)
	}
	return c, nil
}

// Get returns a campaign p may see, or NotFound (also for another brand's).
func (s *Service) Get(ctx context.Context, p identity.Principal, campaignID string) (Campaign, error) {
	c, err := scan(s.db.Read().QueryRowContext(ctx, `SELECT `+cols+` FROM campaigns WHERE id = $1`, campaignID))
	return visible(c, err, p, campaignID)
}

// List returns the campaigns p may see, newest first, before the id before.
func (s *Service) List(ctx context.Context, p identity.Principal, before string, limit int) ([]Campaign, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q := `SELECT ` + cols + ` FROM campaigns WHERE ($1 = '' OR brand_id = $1) AND ($2 = '' OR id < $2) ORDER BY id DESC LIMIT $3`
	brand := p.BrandID()
	if !p.IsAdmin() && brand == "" {
		return []Campaign{}, nil
	}
	out, err := store.QueryAll(ctx, s.db.Read(), scan, q, brand, before, limit)
	if err != nil {
		return nil, fmt.Errorf("campaign: list: %w", err)
	}
	return out, nil
}

// Payment is money a brand paid into a campaign's escrow.
type Payment struct {
	ID         string       `json:"id"`
	CampaignID string       `json:"campaign_id"`
	Provider   string       `json:"provider"`
	Reference  string       `json:"reference"`
	Amount     money.Amount `json:"amount"`
	Status     string       `json:"status"`
	LedgerTxID string       `json:"ledger_tx_id"`
	CreatedAt  clock.Micros `json:"created_at"`
}

// FundInput pays into a campaign's escrow. A nil Amount means the whole
// unfunded rest of the budget.
type FundInput struct {
	Amount    *money.Amount
	Provider  string // "" means sandbox
	Reference string // the provider's payment reference; funding is idempotent on it
}

// FundResult is the payment and the campaign after funding.
type FundResult struct {
	Payment  Payment            `json:"payment"`
	Campaign Campaign           `json:"campaign"`
	Money    ledger.EscrowState `json:"-"`
	Replayed bool               `json:"replayed"`
}

// Fund records a sandbox payment and moves it into the campaign's escrow. The
// same reference funds once: a repeat returns the first result (Replayed), and
// a repeat with a different amount is a Conflict. It returns NotFound for a
// campaign p may not fund, Invalid for bad input, a Conflict
// (exceeds_budget, field amount) for an amount above the unfunded budget and
// (fully_funded) for funding the rest of a funded one, and changes nothing
// on any error.
func (s *Service) Fund(ctx context.Context, p identity.Principal, campaignID string, in FundInput) (FundResult, error) {
	var res FundResult
	var c errs.Collector
	if in.Provider == "" {
		in.Provider = ProviderSandbox
	}
	if in.Provider != ProviderSandbox {
		c.Addf("payment.provider", "unsupported_provider", "payment provider %q is not available; use %q", in.Provider, ProviderSandbox)
	}
	switch {
	case strings.TrimSpace(in.Reference) == "":
		c.Addf("payment.reference", "required", "a payment reference is required (it makes funding idempotent)")
	case len(in.Reference) > 200:
		c.Addf("payment.reference", "too_long", "payment reference is longer than 200 bytes")
	}
	if err := c.Err(); err != nil {
		return res, err
	}
	if p.BrandID() == "" {
		return res, errs.NotFoundf("campaign %s not found", campaignID)
	}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		camp, err := scan(tx.QueryRowContext(ctx, `SELECT `+cols+` FROM campaigns WHERE id = $1`+tx.ForUpdate(), campaignID))
		if camp, err = visible(camp, err, p, campaignID); err != nil {
			return err
		}
		amount := money.Amount{Currency: camp.Currency}
		if in.Amount != nil {
			amount = *in.Amount
			if amount.Currency != camp.Currency {
				return errs.Invalidf("amount.currency", "currency_mismatch", "campaign %s is funded in %s, not %s", camp.ID, camp.Currency, amount.Currency)
			}
		} else if err := tx.QueryRowContext(ctx, `SELECT amount FROM payments WHERE provider = $1 AND brand_id = $2 AND external_ref = $3`,
			in.Provider, camp.BrandID, in.Reference).Scan(&amount.Micros); err == nil {
			// A retry of "fund the rest": replay the first payment.
		} else if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("campaign: read payment: %w", err)
		} else {
			funded := int64(0)
			if st, err := s.ledger.EscrowWith(ctx, tx, camp.ID); err == nil {
				funded = st.Funded
			} else if !errs.Is(err, errs.NotFound) {
				return err
			}
			amount.Micros = camp.Budget.Micros - funded
			if amount.Micros <= 0 {
				return errs.Conflictf("fully_funded", "campaign %s is already fully funded", camp.ID)
			}
		}
		fr, err := s.ledger.FundTx(ctx, tx, ledger.FundRequest{
			// One reference funds once per brand: reusing it for another
			// campaign or amount is an idempotency conflict.
			Key:        "fund:" + in.Provider + ":" + camp.BrandID + ":" + in.Reference,
			CampaignID: camp.ID, BrandID: camp.BrandID, Amount: amount, MaxFunded: camp.Budget.Micros,
			Reference: in.Provider + ":" + in.Reference,
		})
		if errs.CodeOf(err) == "exceeds_budget" {
			// More than the budget has room for is a conflict with the
			// escrow's state, like funding a funded campaign: one status
			// (409) for one conflict.
			var e *errs.Error
			errors.As(err, &e)
			return &errs.Error{Kind: errs.Conflict, Code: e.Code, Field: "amount", Message: e.Message}
		}
		if err != nil {
			return err
		}
		now := s.clock.Now().UnixMicro()
		res.Replayed = fr.Replayed
		res.Payment = Payment{ID: id.New(id.Payment), CampaignID: camp.ID, Provider: in.Provider, Reference: in.Reference,
			Amount: money.New(fr.Amount, camp.Currency), Status: "succeeded", LedgerTxID: fr.TxID, CreatedAt: clock.Micros(now)}
		if _, err := tx.ExecContext(ctx, `INSERT INTO payments (id, brand_id, campaign_id, provider, external_ref, amount, currency, status, ledger_tx_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (provider, brand_id, external_ref) DO NOTHING`,
			res.Payment.ID, camp.BrandID, camp.ID, in.Provider, in.Reference, fr.Amount, string(camp.Currency), res.Payment.Status, fr.TxID, now); err != nil {
			return fmt.Errorf("campaign: record payment: %w", err)
		}
		if fr.Replayed {
			if err := tx.QueryRowContext(ctx, `SELECT id, created_at FROM payments WHERE provider = $1 AND brand_id = $2 AND external_ref = $3`, in.Provider, camp.BrandID, in.Reference).
				Scan(&res.Payment.ID, &res.Payment.CreatedAt); err != nil {
				return fmt.Errorf("campaign: read payment: %w", err)
			}
		}
		if camp.State == StateDraft && fr.Funded >= camp.Budget.Micros {
			camp.State, camp.UpdatedAt = StateFunded, clock.Micros(now)
			if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = $1, updated_at = $2 WHERE id = $3`, camp.State, now, camp.ID); err != nil {
				return fmt.Errorf("campaign: update state: %w", err)
			}
		}
		res.Campaign = camp
		res.Money, err = s.ledger.EscrowWith(ctx, tx, camp.ID)
		return err
	})
	return res, err
}

// Money is a campaign's money state as the API shows it.
type Money struct {
	CampaignID      string       `json:"campaign_id"`
	State           string       `json:"state"`
	Budget          money.Amount `json:"budget"`
	Funded          money.Amount `json:"funded"`
	Spent           money.Amount `json:"spent"`
	Fees            money.Amount `json:"fees"`
	CreatorEarnings money.Amount `json:"creator_earnings"`
	Remaining       money.Amount `json:"remaining"`
	Refunded        money.Amount `json:"refunded"`
	FeeBps          int64        `json:"fee_bps"`
	ReducedFee      bool         `json:"reduced_fee"`
}

// MoneyState returns the campaign's money: all zeros before it is funded
// (fee_bps then 0: the fee is decided at first funding). It returns NotFound
// for a campaign p may not see.
func (s *Service) MoneyState(ctx context.Context, p identity.Principal, campaignID string) (Money, error) {
	camp, err := s.Get(ctx, p, campaignID)
	if err != nil {
		return Money{}, err
	}
	st, err := s.ledger.Escrow(ctx, camp.ID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return Money{}, err
	}
	return MoneyFrom(camp, st), nil
}

// MoneyFrom combines a campaign and its escrow state.
func MoneyFrom(camp Campaign, st ledger.EscrowState) Money {
	m := func(v int64) money.Amount { return money.New(v, camp.Currency) }
	return Money{CampaignID: camp.ID, State: camp.State, Budget: camp.Budget, Funded: m(st.Funded), Spent: m(st.Spent),
		Fees: m(st.Fees), CreatorEarnings: m(st.CreatorEarnings), Remaining: m(st.Remaining), Refunded: m(st.Refunded),
		FeeBps: st.FeeBps, ReducedFee: st.ReducedFee}
}
