package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v84"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

// Account states an account.updated event reports (AccountEvent.Status).
const (
	// AccountOnboarding: the creator has not finished Stripe's onboarding
	// (details_submitted false), or Stripe is still verifying what they
	// gave; transfers to the account would be refused.
	AccountOnboarding = payout.AccountOnboarding
	// AccountReady: details submitted, payouts enabled and the transfers
	// capability active: payouts to the account can be sent.
	AccountReady = payout.AccountReady
	// AccountRestricted: Stripe disabled the account or took its transfers
	// or payouts away after onboarding (requirements.disabled_reason says
	// why: requirements.past_due, rejected.fraud, …); the creator must give
	// Stripe what is due (a new onboarding link) or cannot be paid there.
	AccountRestricted = payout.AccountRestricted
)

// AccountEvent is a Connect event about a creator's connected account, read
// by ParseAccountEvent. Type tells which fields are set.
type AccountEvent struct {
	// ID is the event id (deduplication).
	ID string
	// Type is "account.updated", "payout.failed", or "" for an event
	// about something else (ignore it).
	Type string
	// Account is the connected account (acct_…): the creator's payout
	// destination.
	Account string
	// Created is when the event happened (the event's created); zero for
	// Account.
	Created time.Time

	// account.updated: CreatorID is the account's metadata creator_id
	// ("" for an account payper did not make); Status one of
	// AccountOnboarding, AccountReady, AccountRestricted; the rest as Stripe
	// gives them (https://docs.stripe.com/api/accounts/object).
	CreatorID        string
	Status           string
	Country          string // the account's country, "" when not given
	ServiceAgreement string // tos_acceptance.service_agreement: full, recipient, "" when not given
	DetailsSubmitted bool
	PayoutsEnabled   bool
	Transfers        string   // capabilities.transfers: active, inactive, pending, "" when not requested
	DisabledReason   string   // requirements.disabled_reason, "" when none
	CurrentlyDue     []string // requirements.currently_due

	// payout.failed: a payout from the connected account's Stripe balance
	// to the creator's bank failed (https://docs.stripe.com/api/payouts/object):
	// Payout is its id (po_…), Amount its amount (micro-units; the currency
	// as Stripe gives it, upper case), FailureCode and FailureMessage
	// Stripe's. The money is the creator's, in their Stripe balance, not the
	// platform's: payper's payout stays paid, and the creator must fix their
	// bank details with Stripe (a new onboarding link).
	Payout                      string
	Amount                      money.Amount
	FailureCode, FailureMessage string

	// Reason is a sentence for the creator and the operator: why the
	// account is not ready, or why the payout failed ("" when ready).
	Reason string
}

// ParseAccountEvent verifies a webhook delivery as ParseWebhook does and
// reads the Connect events about creators' accounts that ParseWebhook
// ignores (State ""): account.updated (onboarding finished, or the account
// restricted) and a connected account's payout.failed, both carrying the
// account in the event's account field (https://docs.stripe.com/connect/webhooks).
// Any other event gives AccountEvent{ID: …} with Type "".
//
// Status follows Stripe's "handle verification updates" reading of the
// account: rejected.* disabled reasons are AccountRestricted whatever else;
// an account whose details are not submitted is AccountOnboarding; one with
// payouts enabled and transfers active is AccountReady; one Stripe is still
// verifying (disabled reason requirements.pending_verification or
// under_review, or none) is AccountOnboarding; anything else is
// AccountRestricted.
//
// On failure it returns a zero AccountEvent and an error wrapping
// payout.ErrBadSignature for a bad, missing or stale signature, or a plain
// error when a signed body is not a Stripe event or its object cannot be
// read (an event of these types without an account).
func (p *Provider) ParseAccountEvent(h http.Header, body []byte) (AccountEvent, error) {
	ev, err := p.verify(h, body)
	if err != nil {
		return AccountEvent{}, err
	}
	out := AccountEvent{ID: ev.ID, Created: time.Unix(ev.Created, 0).UTC()}
	switch ev.Type {
	case eventAccountUpdated:
		var a stripego.Account
		if err := readObject(ev, &a); err != nil {
			return AccountEvent{}, err
		}
		acct := ev.Account
		if acct == "" {
			acct = a.ID
		}
		if acct == "" {
			return AccountEvent{}, fmt.Errorf("stripe: webhook: %s event %s names no account", ev.Type, ev.ID)
		}
		readAccount(&out, &a)
		out.Type, out.Account = string(ev.Type), acct
	case eventPayoutFailed:
		if ev.Account == "" {
			// The platform's own payout to its bank: not a creator's.
			return out, nil
		}
		var po stripego.Payout
		if err := readObject(ev, &po); err != nil {
			return AccountEvent{}, err
		}
		if po.Amount < 0 || po.Amount > maxCents {
			return AccountEvent{}, fmt.Errorf("stripe: webhook: %s event %s: payout amount %d cannot be", ev.Type, ev.ID, po.Amount)
		}
		cur := strings.ToUpper(string(po.Currency))
		out.Type, out.Account, out.Payout = string(ev.Type), ev.Account, po.ID
		out.Amount = money.New(po.Amount*centMicros, money.Currency(cur))
		out.FailureCode, out.FailureMessage = string(po.FailureCode), po.FailureMessage
		why := out.FailureMessage
		if why == "" {
			why = out.FailureCode
		}
		out.Reason = fmt.Sprintf("Stripe could not pay %s %s out of account %s to the bank: %s; the money stays in the Stripe balance until the bank details are fixed",
			cents(po.Amount), cur, ev.Account, why)
	}
	return out, nil
}

// readAccount fills e's account.updated fields from a.
func readAccount(e *AccountEvent, a *stripego.Account) {
	e.Account, e.CreatorID = a.ID, a.Metadata["creator_id"]
	e.Country = strings.ToUpper(a.Country)
	e.DetailsSubmitted, e.PayoutsEnabled = a.DetailsSubmitted, a.PayoutsEnabled
	if a.TOSAcceptance != nil {
		e.ServiceAgreement = string(a.TOSAcceptance.ServiceAgreement)
	}
	if a.Capabilities != nil {
		e.Transfers = string(a.Capabilities.Transfers)
	}
	if a.Requirements != nil {
		e.DisabledReason = string(a.Requirements.DisabledReason)
		e.CurrentlyDue = slices.Clone(a.Requirements.CurrentlyDue)
	}
	e.Status, e.Reason = accountStatus(*e)
}

// Account reads connected account id from Stripe (GET /v1/accounts/{id})
// as an account.updated event would give it, with Type and ID "": for the
// creator's return from onboarding, since Stripe sends them to the return
// URL "upon leaving or completing" the flow
// (https://docs.stripe.com/api/account_links/create, return_url), or to find an account made before issue 14 under the full
// service agreement in another country than the platform's, which Stripe
// cannot pay cross-border (ServiceAgreement, Country; see CreateAccount).
//
// On failure it returns a zero AccountEvent and an error wrapping
// payout.ErrInvalid for an id that is not acct_… or an account Stripe does
// not know (400/404 invalid_request_error, field account),
// payout.ErrUnavailable when Stripe cannot be reached or answers 429/5xx,
// or a plain one otherwise.
func (p *Provider) Account(ctx context.Context, id string) (AccountEvent, error) {
	if err := validAccountID(id); err != nil {
		return AccountEvent{}, fmt.Errorf("stripe: read account: %w", &payout.InvalidError{Field: "account", Message: err.Error()})
	}
	a, err := p.api.V1Accounts.GetByID(ctx, id, nil)
	if err != nil {
		var se *stripego.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusNotFound && se.Type == stripego.ErrorTypeInvalidRequest {
			return AccountEvent{}, fmt.Errorf("stripe: read account: %w",
				&apiError{kind: &payout.InvalidError{Field: "account", Message: describe(se)}, err: se})
		}
		return AccountEvent{}, fmt.Errorf("stripe: read account: %w", classifyInvalid(err))
	}
	var out AccountEvent
	readAccount(&out, a)
	if out.Account == "" {
		out.Account = id
	}
	return out, nil
}

// accountStatus reads an account.updated event's account (see
// ParseAccountEvent) into a status and a reason ("" when ready).
func accountStatus(e AccountEvent) (status, reason string) {
	due := ""
	if len(e.CurrentlyDue) > 0 {
		due = "; due: " + strings.Join(e.CurrentlyDue, ", ")
	}
	switch {
	case strings.HasPrefix(e.DisabledReason, "rejected."):
		return AccountRestricted, "Stripe rejected account " + e.Account + " (" + e.DisabledReason + ")"
	case !e.DetailsSubmitted:
		return AccountOnboarding, "onboarding of Stripe account " + e.Account + " is not finished" + due
	case e.PayoutsEnabled && e.Transfers == string(stripego.AccountCapabilityStatusActive):
		return AccountReady, ""
	case e.DisabledReason == "" || e.DisabledReason == "requirements.pending_verification" || e.DisabledReason == "under_review":
		return AccountOnboarding, "Stripe is verifying account " + e.Account + due
	default:
		return AccountRestricted, "Stripe restricted account " + e.Account + " (" + e.DisabledReason + ")" + due
	}
}

// ParseAccountWebhook implements payout.AccountWatcher: ParseAccountEvent
// in payper's terms. account.updated gives the account's status and reason;
// a connected account's payout.failed its PayoutFailure (Stripe's failure
// message, or its code, with the amount; https://docs.stripe.com/api/payouts/object
// failure_message). Any other event is a payout.AccountEvent with Account
// "". Its errors are ParseAccountEvent's.
func (p *Provider) ParseAccountWebhook(h http.Header, body []byte) (payout.AccountEvent, error) {
	e, err := p.ParseAccountEvent(h, body)
	if err != nil {
		return payout.AccountEvent{}, err
	}
	out := payout.AccountEvent{ID: e.ID, At: e.Created}
	switch e.Type {
	case eventAccountUpdated:
		out.Account, out.Status, out.Reason = e.Account, e.Status, e.Reason
		out.Country, out.ServiceAgreement = e.Country, e.ServiceAgreement
	case eventPayoutFailed:
		why := e.FailureMessage
		if why == "" {
			why = e.FailureCode
		}
		out.Account = e.Account
		out.PayoutFailure = fmt.Sprintf("Stripe could not pay %s %s out of your Stripe balance to your bank: %s. The money stays in your Stripe balance: update your bank details with Stripe.",
			money.FormatMicros(e.Amount.Micros), e.Amount.Currency, why)
	}
	return out, nil
}

// CheckAccount implements payout.AccountWatcher with Account: the
// account's status now, and Unusable when Stripe cannot pay it from this
// platform — an account made under the full service agreement (Stripe's
// default, as payper made them before issue 14) in another region than the
// platform's: "Cross-border payouts only work with accounts under the
// recipient service agreement", and an accepted agreement "can't be
// modified" (https://docs.stripe.com/connect/service-agreement-types); the
// regions are the Fake's (Europe — the EEA, the UK and Switzerland — as one,
// every other country its own; https://docs.stripe.com/connect/cross-border-payouts).
// Its errors are Account's and PlatformCountry's.
func (p *Provider) CheckAccount(ctx context.Context, account string) (payout.AccountEvent, error) {
	a, err := p.Account(ctx, account)
	if err != nil {
		return payout.AccountEvent{}, err
	}
	out := payout.AccountEvent{Account: a.Account, Status: a.Status, Reason: a.Reason, Country: a.Country, ServiceAgreement: a.ServiceAgreement}
	if a.ServiceAgreement == string(stripego.AccountTOSAcceptanceServiceAgreementFull) && a.Country != "" {
		platform, err := p.PlatformCountry(ctx)
		if err != nil {
			return payout.AccountEvent{}, fmt.Errorf("stripe: check account: %w", err)
		}
		if region(a.Country) != region(platform) {
			out.Unusable = true
			out.Reason = fmt.Sprintf("Stripe account %s in %s is under the full service agreement, which Stripe cannot pay from a platform in %s; a new account under the recipient agreement is needed",
				a.Account, a.Country, platform)
		}
	}
	return out, nil
}
