package payout

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/payper/payper/internal/money"
)

// Provider names.
const (
	ProviderStripe = "stripe"
	ProviderWise   = "wise"
	ProviderManual = "manual"
)

// Transfer is one payout to send: Amount is in whole cents (its micro-units
// are a multiple of 10,000) of a currency the provider supports (see
// CurrencySupporter).
type Transfer struct {
	// PayoutID is payper's payout id: the idempotency key of everything the
	// provider is asked for this payout (Stripe's Idempotency-Key, Wise's
	// customerTransactionId derives from it), so a retry never pays twice.
	PayoutID  string
	CreatorID string
	Amount    money.Amount
	// Destination is where the money goes, as the provider knows it: a
	// Stripe connected account id (acct_…), or for Wise the JSON of the
	// recipient's bank details (see the wise package).
	Destination string
	// Reference is shown to the creator by their bank where possible.
	Reference string
	// Progress is what earlier attempts at this payout recorded through
	// Record ("" on the first): the provider reuses what it made then (for
	// Wise the quote, the recipient and the transfer) rather than making
	// new ones.
	Progress string
	// Record, when set, stores progress for the next attempt at once; the
	// provider calls it as soon as it has made something a retry must
	// reuse. An error from it stops the send (the provider returns it).
	Record func(ctx context.Context, progress string) error
	// RequestedAt is when the payout was requested: no transfer made for
	// it is older (a Finder may list the provider's transfers from then).
	RequestedAt time.Time
}

// Sent is what a provider did with a transfer.
type Sent struct {
	// Ref is the provider's id of the transfer (tr_…, a Wise transfer id).
	// Send returns it with an error too when the transfer exists already
	// (made, but not funded), so the payout shows it.
	Ref string
	// Paid: the provider reports the money delivered already (Stripe
	// transfers to a connected balance); otherwise the payout stays
	// processing until a webhook says paid or failed.
	Paid bool
}

// Event is a provider's webhook about a transfer.
type Event struct {
	// ID is the provider's event id (deduplication).
	ID string
	// Ref is the provider's transfer id; PayoutID payper's, when the
	// provider echoes it (metadata, customerTransactionId).
	Ref, PayoutID string
	// State is StatePaid, StateFailed or StateReversed (the payout was paid
	// and its money came back to the platform: Stripe transfer.reversed,
	// Wise bounced_back / funds_refunded after outgoing_payment_sent); ""
	// for an event about something else (ignored).
	State  string
	Reason string
	// Amount, for StateReversed only, is how much came back when it is part
	// of the payout; the zero Amount means the whole payout. A partial
	// reversal reverses only that amount.
	Amount money.Amount
	// TotalReversed, for StateReversed only and when the provider reports
	// it (a Stripe transfer's amount_reversed), is how much of the
	// transfer came back in all as of this event. When set it decides, not
	// Amount: the payout's reversal is brought up to it, so events in any
	// order, repeated or redelivered under new ids, reverse in all exactly
	// the largest total reported, never twice.
	TotalReversed money.Amount
}

// Provider sends payouts and reads its webhooks. Implementations are safe for
// concurrent use.
type Provider interface {
	// Name returns the provider's name (ProviderStripe, ProviderWise).
	Name() string
	// Send sends t. Calling it again with the same PayoutID sends nothing
	// new and returns the same Sent. Errors: ErrRejected (the provider
	// refused the transfer for good: bad destination, insufficient platform
	// balance…), ErrUnavailable (try again later: network, 5xx, 429), or
	// another error.
	Send(ctx context.Context, t Transfer) (Sent, error)
	// ParseWebhook verifies a webhook delivery's signature over the raw
	// body and reads it. A bad or missing signature is ErrBadSignature.
	ParseWebhook(h http.Header, body []byte) (Event, error)
}

// Finder is implemented by providers that can look up the transfer they
// made for a payout by payper's own key for it (Stripe: the transfer_group
// and metadata payout_id; Wise: the customerTransactionId derived from the
// payout id). Process asks it before failing a payout at its last attempt
// when that attempt got no answer and no transfer id is known: the
// provider may have made the transfer and the answer been lost (a timeout,
// a connection reset), and freeing the money then would let the creator
// withdraw it twice.
type Finder interface {
	// FindTransfer looks for the transfer made for t.PayoutID. It returns
	// found false (and a nil error) only when the provider answered that
	// none exists. A transfer found is returned as Send returns it (Ref;
	// Paid when the provider reports it delivered); one the provider
	// already canceled or refunded is found with an error wrapping
	// ErrRejected. Any other error means the provider could not answer:
	// whether a transfer exists is unknown.
	FindTransfer(ctx context.Context, t Transfer) (s Sent, found bool, err error)
}

// CurrencySupporter is implemented by providers that pay out in some of
// payper's currencies only; a provider that does not implement it is asked
// to pay out in any of them.
type CurrencySupporter interface {
	// SupportsCurrency reports whether the provider pays out in c.
	SupportsCurrency(c money.Currency) bool
}

// Errors a Provider returns (wrapped).
var (
	ErrRejected     = errors.New("payout: the provider rejected the transfer")
	ErrUnavailable  = errors.New("payout: the provider is unavailable; try again later")
	ErrBadSignature = errors.New("payout: webhook signature missing or wrong")
	// ErrActionRequired: the provider will not send until the operator acts
	// (Wise's strong customer authentication with no signing key
	// configured, or a signature Wise refuses); nothing was paid. The
	// payout goes back to requested with the reason, so it can be canceled,
	// and is tried again later (within the attempts cap).
	ErrActionRequired = errors.New("payout: the provider needs the operator to act before it sends; nothing was paid")
	// ErrInvalid: the provider refused a request because of what the caller
	// gave it (Stripe's 400 invalid_request_error, e.g. a country it does not
	// support) — the caller's fault, not the provider being unavailable.
	// Wrap it in an *InvalidError to name the offending field.
	ErrInvalid = errors.New("payout: the provider refused the request as invalid")
)

// InvalidError is an ErrInvalid naming the field at fault (in payper's
// terms: "country", "email"…; "" when the provider does not say).
// errors.Is(err, ErrInvalid) holds for it.
type InvalidError struct {
	// Field is the offending request field, "" when unknown.
	Field string
	// Message is the provider's explanation.
	Message string
}

// Error returns the provider's message.
func (e *InvalidError) Error() string {
	if e.Field != "" {
		return "payout: the provider refused " + e.Field + ": " + e.Message
	}
	return "payout: the provider refused the request: " + e.Message
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Payout states.
const (
	StateRequested  = "requested"  // the amount is held from the available balance
	StateProcessing = "processing" // sent to the provider
	StatePaid       = "paid"       // delivered: the hold is posted
	StateFailed     = "failed"     // the provider failed it: the hold is voided, money back to available
	StateCanceled   = "canceled"   // canceled before it was sent: the hold is voided
	// StateReversed: it was paid, then its money came back to the platform
	// (Stripe transfer.reversed, Wise bounced_back / funds_refunded after
	// outgoing_payment_sent); the posted payout is reversed in the ledger
	// and the money is available again.
	StateReversed = "reversed"
)

// Statuses of a creator's account at a provider (AccountEvent.Status, and
// Destination.Status; "" when payper has heard nothing about it).
const (
	// AccountReady: the provider can pay the account.
	AccountReady = "ready"
	// AccountOnboarding: the creator has not finished the provider's
	// onboarding, or the provider is still verifying it; payouts wait.
	AccountOnboarding = "onboarding"
	// AccountRestricted: the provider stopped paying the account until the
	// creator gives it what is due (or for good); payouts wait.
	AccountRestricted = "restricted"
)

// AccountEvent is a provider's news about a creator's account there (a
// Stripe connected account): its status changed (account.updated), or a
// payout from the account's own balance to the creator's bank failed (a
// connected account's payout.failed — the money is the creator's, in their
// provider balance, and payper's ledger is not touched).
type AccountEvent struct {
	// ID is the provider's event id (de-duplication); "" for CheckAccount.
	ID string
	// Account is the provider's account id: the creator's stored destination.
	Account string
	// Status is AccountReady, AccountOnboarding or AccountRestricted; ""
	// when the event is not about the account's status.
	Status string
	// Reason says why the account is not ready ("" when ready).
	Reason string
	// PayoutFailure, for a failed payout out of the account's balance, is
	// the provider's failure message (with the amount); "" otherwise.
	PayoutFailure string
	// At is when the event happened at the provider (the zero time: now);
	// an older status than the one stored is ignored.
	At time.Time
	// Country and ServiceAgreement are the account's, when known.
	Country, ServiceAgreement string
	// Unusable (CheckAccount only): the account can never receive the
	// platform's payouts (a Stripe account under the full service agreement
	// in another region than the platform's): onboarding makes a new one.
	Unusable bool
}

// AccountWatcher is implemented by providers that report on creators'
// accounts (Stripe Connect).
type AccountWatcher interface {
	// ParseAccountWebhook verifies a webhook delivery as ParseWebhook does
	// and reads an event about a creator's account; an event about
	// something else is an AccountEvent with Account "". A bad signature is
	// ErrBadSignature.
	ParseAccountWebhook(h http.Header, body []byte) (AccountEvent, error)
	// CheckAccount reads account's current status from the provider. An
	// account the provider does not know wraps ErrInvalid; an unreachable
	// provider ErrUnavailable.
	CheckAccount(ctx context.Context, account string) (AccountEvent, error)
}
