package stripe

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v84"
	"github.com/stripe/stripe-go/v84/webhook"

	"github.com/payper/payper/internal/payout"
)

// Event types ParseWebhook reads.
const (
	eventTransferCreated  = "transfer.created"
	eventTransferUpdated  = "transfer.updated"
	eventTransferReversed = "transfer.reversed"
)

// ParseWebhook verifies the Stripe-Signature header of a webhook delivery
// against the raw body (stripe-go's webhook package) and reads the event:
//
//   - transfer.created: StatePaid (unless already reversed). Send reports a
//     transfer paid at once, so this only matters when Send's answer was
//     lost; a payout already paid is left alone.
//   - transfer.reversed, when the transfer is fully reversed: StateFailed,
//     the reason saying so. A partial reversal is State "": it does not undo
//     the payout, the operator settles the difference.
//   - transfer.updated and every other event: State "" (ignored); updates
//     carry description or metadata edits and partial reversals, never
//     delivery news.
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
// body is not a Stripe event.
func (p *Provider) ParseWebhook(h http.Header, body []byte) (payout.Event, error) {
	header := h.Get("Stripe-Signature")
	// The time first: a delivery signed outside the tolerance is refused
	// as a bad signature whatever its body (stripe-go would read the body
	// before, and call a stale malformed one a bad payload).
	signed, err := signedAt(header)
	if err != nil {
		return payout.Event{}, fmt.Errorf("stripe: webhook: %w: %w", payout.ErrBadSignature, err)
	}
	if d := p.clock().Sub(signed); d > Tolerance || d < -Tolerance {
		return payout.Event{}, fmt.Errorf("stripe: webhook: %w: signed at %s, %s from now (tolerance %s)",
			payout.ErrBadSignature, signed.UTC().Format(time.RFC3339), d.Round(time.Second), Tolerance)
	}
	ev, err := webhook.ConstructEventWithOptions(body, header, p.webhookSecret, webhook.ConstructEventOptions{
		Tolerance:       Tolerance,
		IgnoreTolerance: true,
		// Only ids, metadata, amounts and the reversed flag are read, which
		// every API version carries alike.
		IgnoreAPIVersionMismatch: true,
	})
	switch {
	case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader),
		errors.Is(err, webhook.ErrNoValidSignature), errors.Is(err, webhook.ErrTooOld):
		return payout.Event{}, fmt.Errorf("stripe: webhook: %w: %w", payout.ErrBadSignature, err)
	case err != nil:
		return payout.Event{}, fmt.Errorf("stripe: webhook: %w", err)
	}
	if ev.ID == "" {
		return payout.Event{}, errors.New("stripe: webhook: the event has no id")
	}
	out := payout.Event{ID: ev.ID}
	switch ev.Type {
	case eventTransferCreated, eventTransferUpdated, eventTransferReversed:
	default:
		return out, nil
	}
	if ev.Data == nil || len(ev.Data.Raw) == 0 {
		return payout.Event{}, fmt.Errorf("stripe: webhook: %s event %s has no object", ev.Type, ev.ID)
	}
	var tr stripego.Transfer
	if err := json.Unmarshal(ev.Data.Raw, &tr); err != nil {
		return payout.Event{}, fmt.Errorf("stripe: webhook: %s event %s: read the transfer: %w", ev.Type, ev.ID, err)
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
	case eventTransferReversed:
		if tr.Reversed || (tr.Amount > 0 && tr.AmountReversed >= tr.Amount) {
			out.State = payout.StateFailed
			out.Reason = fmt.Sprintf("stripe transfer %s was reversed: %s %s returned to the platform",
				tr.ID, cents(tr.AmountReversed), strings.ToUpper(string(tr.Currency)))
		}
	}
	return out, nil
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
