package wise

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/payper/payper/internal/payout"
)

// Webhook headers.
const (
	HeaderSignature = "X-Signature-SHA256"
	HeaderDelivery  = "X-Delivery-Id"
	headerTest      = "X-Test-Notification"
)

// EventTransferStateChange is the webhook event type ParseWebhook reads.
const EventTransferStateChange = "transfers#state-change"

// webhookBody is a transfers#state-change delivery (schema 2.0.0).
type webhookBody struct {
	Data struct {
		Resource struct {
			ID        json.Number `json:"id"`
			ProfileID int64       `json:"profile_id"`
			AccountID int64       `json:"account_id"`
			Type      string      `json:"type"`
		} `json:"resource"`
		CurrentState  string `json:"current_state"`
		PreviousState string `json:"previous_state"`
		OccurredAt    string `json:"occurred_at"`
	} `json:"data"`
	SubscriptionID string `json:"subscription_id"`
	EventType      string `json:"event_type"`
	SchemaVersion  string `json:"schema_version"`
	SentAt         string `json:"sent_at"`
}

// ParseWebhook verifies the X-Signature-SHA256 header (base64 RSA PKCS #1
// v1.5 SHA-256 signature over the raw body, by the configured Wise key) and
// reads a transfers#state-change delivery: current_state
// "outgoing_payment_sent" is payout.StatePaid; "bounced_back" and
// "funds_refunded" are payout.StateReversed with the state as Reason (Wise's
// transfer statuses: after outgoing_payment_sent the money can still come
// back — bounced_back, then funds_refunded to the sender —; the payout
// service reverses a paid payout and fails one not yet paid, so a refund
// before sending fails the payout as before), with the zero Amount (all of
// it: Wise returns the whole transfer); "cancelled" is payout.StateFailed;
// any other state, event type or a test delivery gives State "".
// Event.ID is X-Delivery-Id, or if absent "<transfer id>:<state>:<occurred
// at>"; Event.Ref is the transfer id in decimal; PayoutID is empty (Wise does
// not echo the customerTransactionId).
//
// A missing or wrong signature returns payout.ErrBadSignature (wrapped); a
// signed body that cannot be read returns another error.
func (p *Provider) ParseWebhook(h http.Header, body []byte) (payout.Event, error) {
	if err := verify(p.pub, h.Get(HeaderSignature), body); err != nil {
		return payout.Event{}, fmt.Errorf("wise: webhook: %w", err)
	}
	var w webhookBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return payout.Event{}, fmt.Errorf("wise: webhook: decode body: %w", err)
	}
	ev := payout.Event{ID: h.Get(HeaderDelivery)}
	if w.EventType != EventTransferStateChange || strings.EqualFold(h.Get(headerTest), "true") {
		return ev, nil
	}
	id, err := w.Data.Resource.ID.Int64()
	if err != nil || id <= 0 {
		return payout.Event{}, fmt.Errorf("wise: webhook: transfer id %q is not a positive integer", w.Data.Resource.ID)
	}
	ev.Ref = fmt.Sprint(id)
	state := w.Data.CurrentState
	if ev.ID == "" {
		ev.ID = ev.Ref + ":" + state + ":" + w.Data.OccurredAt
	}
	switch state {
	case stateSent:
		ev.State = payout.StatePaid
	case stateBounced, stateRefunded:
		ev.State = payout.StateReversed
		ev.Reason = state
	case stateCancelled:
		ev.State = payout.StateFailed
		ev.Reason = state
	}
	return ev, nil
}

func verify(pub *rsa.PublicKey, sigHeader string, body []byte) error {
	if sigHeader == "" {
		return fmt.Errorf("%w: no %s header", payout.ErrBadSignature, HeaderSignature)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sigHeader))
	if err != nil {
		return fmt.Errorf("%w: %s is not base64", payout.ErrBadSignature, HeaderSignature)
	}
	sum := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("%w: %w", payout.ErrBadSignature, err)
	}
	return nil
}
