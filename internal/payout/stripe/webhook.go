package stripe

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v84"
	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

// Event types ParseWebhook and ParseAccountEvent read.
const (
	eventTransferCreated  = "transfer.created"
	eventTransferUpdated  = "transfer.updated"
	eventTransferReversed = "transfer.reversed"
	eventAccountUpdated   = "account.updated"
	eventPayoutFailed     = "payout.failed"
)

// stripeAPIVersion is the API version of stripe-go's requests, and of the
// Fake's events.
const stripeAPIVersion = stripego.APIVersion

// ParseWebhook verifies the Stripe-Signature header of a webhook delivery
// against the raw body (stripe-go's webhook package), with the webhook
// secret or the Connect one (see Config.ConnectWebhookSecret), and reads
// the event:
//
//   - transfer.created: StatePaid (unless already reversed). Send reports a
//     transfer paid at once, so this only matters when Send's answer was
//     lost; a payout already paid is left alone.
//   - transfer.reversed, sent for every reversal, full or partial
//     (https://docs.stripe.com/api/events/types, transfer.reversed):
//     StateReversed, Amount this event's reversal in micro-units of the
//     transfer's currency — or the zero Amount when this one reversal
//     returned the whole transfer — and a Reason naming the transfer and
//     the amount. This event's reversal is the newest in the transfer's
//     reversals list (Stripe lists newest first, and the event's object is
//     the transfer as it was when the event happened); without a list, the
//     growth of amount_reversed over data.previous_attributes; without
//     either, the whole amount_reversed (a first reversal). Each event is
//     one reversal: a payout reversed in three parts gets three events whose
//     Amounts add up to what came back (the last one, completing it, is not
//     zero). A transfer.reversed with nothing reversed is State "".
//     Each also carries TotalReversed, the transfer's amount_reversed as of
//     the event (the object is the transfer as it was then): the service
//     reverses the payout up to it, so the same reversal arriving in
//     several events, or under a new event id, or events out of order, or
//     a list that does not name this event's reversal, reverse in all
//     exactly what Stripe says came back, never twice.
//   - transfer.updated of a transfer with something reversed
//     (amount_reversed > 0): StateReversed with TotalReversed only (Amount
//     zero), so that a reversal whose own event was lost is still taken;
//     Stripe sends updates for description or metadata edits
//     (https://docs.stripe.com/api/events/types, transfer.updated), and
//     their object carries the transfer's amount_reversed as of then. One
//     with nothing reversed is State "".
//   - every other event: State "" (ignored). Connect events about
//     creators' accounts (account.updated, payout.failed) are read by
//     ParseAccountEvent.
//
// Event.ID is the event id, Ref the transfer id and PayoutID the transfer's
// metadata payout_id ("" for a transfer payper did not make).
//
// The signed timestamp must be within Tolerance (300 s) of the configured
// clock, in either direction. stripe-go checks the age against the wall
// clock only, so its check is turned off and this one done instead.
//
// On failure it returns a zero Event and an error wrapping
// payout.ErrBadSignature when the header is missing, malformed, stale or
// matches no signature of the body, or a plain error when a correctly signed
// body is not a Stripe event or its transfer cannot be read.
func (p *Provider) ParseWebhook(h http.Header, body []byte) (payout.Event, error) {
	ev, err := p.verify(h, body)
	if err != nil {
		return payout.Event{}, err
	}
	out := payout.Event{ID: ev.ID}
	switch ev.Type {
	case eventTransferCreated, eventTransferUpdated, eventTransferReversed:
	default:
		return out, nil
	}
	var tr stripego.Transfer
	if err := readObject(ev, &tr); err != nil {
		return payout.Event{}, err
	}
	if tr.ID == "" {
		return payout.Event{}, fmt.Errorf("stripe: webhook: %s event %s: the transfer has no id", ev.Type, ev.ID)
	}
	out.Ref, out.PayoutID = tr.ID, tr.Metadata["payout_id"]
	switch ev.Type {
	case eventTransferCreated:
		if !tr.Reversed {
			out.State = payout.StatePaid
		}
	case eventTransferUpdated:
		if err := checkReversed(&tr); err != nil {
			return payout.Event{}, fmt.Errorf("stripe: webhook: %s event %s: %w", ev.Type, ev.ID, err)
		}
		if tr.AmountReversed == 0 {
			return out, nil
		}
		// An update of a transfer some of which was reversed: its total
		// reversed, which the reversal events may not all have brought.
		cur := strings.ToUpper(string(tr.Currency))
		out.State = payout.StateReversed
		out.TotalReversed = money.New(tr.AmountReversed*centMicros, money.Currency(cur))
		out.Reason = fmt.Sprintf("stripe transfer %s: %s %s of %s %s reversed in all", tr.ID, cents(tr.AmountReversed), cur, cents(tr.Amount), cur)
	case eventTransferReversed:
		rev, err := reversal(&tr, ev.Data.PreviousAttributes)
		if err != nil {
			return payout.Event{}, fmt.Errorf("stripe: webhook: %s event %s: %w", ev.Type, ev.ID, err)
		}
		if rev.cents == 0 {
			return out, nil
		}
		cur := strings.ToUpper(string(tr.Currency))
		out.State = payout.StateReversed
		out.TotalReversed = money.New(tr.AmountReversed*centMicros, money.Currency(cur))
		if rev.cents == tr.Amount {
			out.Reason = fmt.Sprintf("stripe transfer %s was reversed: %s %s returned to the platform", tr.ID, cents(rev.cents), cur)
			return out, nil
		}
		out.Amount = money.New(rev.cents*centMicros, money.Currency(cur))
		how := "was partly reversed"
		if tr.AmountReversed == tr.Amount {
			how = "is now reversed in full, by a last reversal"
		}
		out.Reason = fmt.Sprintf("stripe transfer %s %s%s: %s %s of %s %s returned to the platform",
			tr.ID, how, rev.id, cents(rev.cents), cur, cents(tr.Amount), cur)
	}
	return out, nil
}

// centMicros is the micro-units in a cent; maxCents the most cents an
// Amount holds.
const (
	centMicros = 10_000
	maxCents   = math.MaxInt64 / centMicros
)

// reversalOf is one event's reversal: cents (0: none) and " (trr_…)" when
// its id is known.
type reversalOf struct {
	cents int64
	id    string
}

// reversal finds the reversal a transfer.reversed event is about (see
// ParseWebhook). It fails for amounts that cannot be: negative, more than
// the transfer, beyond an Amount.
func reversal(tr *stripego.Transfer, prev map[string]interface{}) (reversalOf, error) {
	if err := checkReversed(tr); err != nil {
		return reversalOf{}, err
	}
	if tr.AmountReversed == 0 {
		return reversalOf{}, nil
	}
	var out reversalOf
	switch {
	case tr.Reversals != nil && len(tr.Reversals.Data) > 0:
		var newest *stripego.TransferReversal
		for _, r := range tr.Reversals.Data {
			if r != nil && (newest == nil || r.Created > newest.Created) {
				newest = r
			}
		}
		if newest == nil {
			return reversalOf{}, fmt.Errorf("transfer %s: its reversals list holds no reversal", tr.ID)
		}
		out.cents = newest.Amount
		if newest.ID != "" {
			out.id = " (" + newest.ID + ")"
		}
	case prev != nil && prev["amount_reversed"] != nil:
		before, ok := prev["amount_reversed"].(float64)
		if !ok || before != math.Trunc(before) || before < 0 || before >= float64(tr.AmountReversed) {
			return reversalOf{}, fmt.Errorf("transfer %s: previous amount_reversed %v is not a whole number of cents below %d", tr.ID, prev["amount_reversed"], tr.AmountReversed)
		}
		out.cents = tr.AmountReversed - int64(before)
	default:
		out.cents = tr.AmountReversed
	}
	if out.cents <= 0 || out.cents > tr.AmountReversed {
		return reversalOf{}, fmt.Errorf("transfer %s: a reversal of %d cents, %d of %d reversed in all, cannot be", tr.ID, out.cents, tr.AmountReversed, tr.Amount)
	}
	return out, nil
}

// checkReversed fails for a transfer's amounts that cannot be: negative,
// more reversed than the transfer, beyond an Amount.
func checkReversed(tr *stripego.Transfer) error {
	if tr.Amount < 0 || tr.Amount > maxCents || tr.AmountReversed < 0 || tr.AmountReversed > tr.Amount {
		return fmt.Errorf("transfer %s: %d of %d cents reversed cannot be", tr.ID, tr.AmountReversed, tr.Amount)
	}
	return nil
}

// verify checks a delivery's signature and time and reads its event (see
// ParseWebhook for the errors).
func (p *Provider) verify(h http.Header, body []byte) (stripego.Event, error) {
	header := h.Get("Stripe-Signature")
	// The time first: a delivery signed outside the tolerance is refused
	// as a bad signature whatever its body (stripe-go would read the body
	// before, and call a stale malformed one a bad payload).
	signed, err := signedAt(header)
	if err != nil {
		return stripego.Event{}, fmt.Errorf("stripe: webhook: %w: %w", payout.ErrBadSignature, err)
	}
	if d := p.clock().Sub(signed); d > Tolerance || d < -Tolerance {
		return stripego.Event{}, fmt.Errorf("stripe: webhook: %w: signed at %s, %s from now (tolerance %s)",
			payout.ErrBadSignature, signed.UTC().Format(time.RFC3339), d.Round(time.Second), Tolerance)
	}
	var ev stripego.Event
	for _, secret := range p.webhookSecrets {
		ev, err = webhook.ConstructEventWithOptions(body, header, secret, webhook.ConstructEventOptions{
			Tolerance:       Tolerance,
			IgnoreTolerance: true,
			// Only ids, metadata, amounts, flags and statuses are read,
			// which every API version carries alike.
			IgnoreAPIVersionMismatch: true,
		})
		if !errors.Is(err, webhook.ErrNoValidSignature) {
			break // signed with this secret (or not a signature at all)
		}
	}
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
		errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
		return stripego.Event{}, fmt.Errorf("stripe: webhook: %w: %w", payout.ErrBadSignature, err)
	case err != nil:
		return stripego.Event{}, fmt.Errorf("stripe: webhook: %w", err)
	}
	if ev.ID == "" {
		return stripego.Event{}, errors.New("stripe: webhook: the event has no id")
	}
	return ev, nil
}

// readObject reads ev's data.object into v.
func readObject(ev stripego.Event, v any) error {
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return fmt.Errorf("stripe: webhook: %s event %s has no object", ev.Type, ev.ID)
	}
	if err := json.Unmarshal(ev.Data.Raw, v); err != nil {
		return fmt.Errorf("stripe: webhook: %s event %s: read the object: %w", ev.Type, ev.ID, err)
	}
	return nil
}

// signedAt reads the one timestamp (t=) of a Stripe-Signature header.
func signedAt(header string) (time.Time, error) {
	var ts []string
	for _, pair := range strings.Split(header, ",") {
		if v, ok := strings.CutPrefix(pair, "t="); ok {
			ts = append(ts, v)
		}
	}
	if len(ts) != 1 {
		return time.Time{}, fmt.Errorf("the Stripe-Signature header has %d timestamps, want 1", len(ts))
	}
	sec, err := strconv.ParseInt(ts[0], 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("the Stripe-Signature timestamp %q: %w", ts[0], err)
	}
	return time.Unix(sec, 0), nil
}

// cents formats an amount in minor units as "12.34".
func cents(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	return fmt.Sprintf("%s%d.%02d", sign, n/100, n%100)
}

// SignForTest returns a Stripe-Signature header value ("t=…,v1=…") signing
// body with secret at time t, as Stripe would. It is for tests of code that
// receives Stripe webhooks; it cannot fail.
func SignForTest(secret string, t time.Time, body []byte) string {
	return fmt.Sprintf("t=%d,v1=%s", t.Unix(), hex.EncodeToString(webhook.ComputeSignature(t, body, secret)))
}
