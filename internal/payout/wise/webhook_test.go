package wise

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payper/payper/internal/payout"
)

func TestParseWebhookStates(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		state, wantState, wantReason string
	}{
		{"outgoing_payment_sent", payout.StatePaid, ""},
		// The money came back (issue 14, item 5): the service reverses a
		// paid payout and fails one not yet paid.
		{"funds_refunded", payout.StateReversed, "funds_refunded"},
		{"bounced_back", payout.StateReversed, "bounced_back"},
		{"cancelled", payout.StateFailed, "cancelled"},
		{"processing", "", ""},
		{"funds_converted", "", ""},
		{"incoming_payment_waiting", "", ""},
		{"charged_back", "", ""},
	}
	for _, tt := range tests {
		body, h := e.fake.Webhook("50000042", tt.state)
		ev, err := e.p.ParseWebhook(h, body)
		if err != nil {
			t.Errorf("%s: %v", tt.state, err)
			continue
		}
		want := payout.Event{ID: h.Get(HeaderDelivery), Ref: "50000042", State: tt.wantState, Reason: tt.wantReason}
		if ev != want || ev.ID == "" {
			t.Errorf("%s: event %+v, want %+v", tt.state, ev, want)
		}
	}
}

func TestParseWebhookWireShape(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// A delivery written out by hand in Wise's documented shape.
	body := []byte(`{"data":{"resource":{"id":111,"profile_id":222,"account_id":333,"type":"transfer"},` +
		`"current_state":"outgoing_payment_sent","previous_state":"processing","occurred_at":"2026-11-21T12:00:00Z"},` +
		`"subscription_id":"01234567-89ab-cdef-0123-456789abcdef","event_type":"transfers#state-change",` +
		`"schema_version":"2.0.0","sent_at":"2026-11-21T12:00:01Z"}`)
	h := e.fake.Sign(body)
	h.Del(HeaderDelivery)
	ev, err := e.p.ParseWebhook(h, body)
	want := payout.Event{ID: "111:outgoing_payment_sent:2026-11-21T12:00:00Z", Ref: "111", State: payout.StatePaid}
	if err != nil || ev != want {
		t.Fatalf("event %+v, %v; want %+v", ev, err, want)
	}
}

func TestParseWebhookIgnored(t *testing.T) {
	t.Parallel()
	e := setup(t)
	other := []byte(`{"data":{"resource":{"id":1,"type":"balance"}},"event_type":"balances#credit","schema_version":"2.0.0"}`)
	if ev, err := e.p.ParseWebhook(e.fake.Sign(other), other); err != nil || ev.State != "" || ev.Ref != "" {
		t.Errorf("other event type: %+v, %v", ev, err)
	}
	body, h := e.fake.Webhook("7", "outgoing_payment_sent")
	h.Set("X-Test-Notification", "true")
	if ev, err := e.p.ParseWebhook(h, body); err != nil || ev.State != "" {
		t.Errorf("test notification: %+v, %v", ev, err)
	}
}

func TestParseWebhookBadSignature(t *testing.T) {
	t.Parallel()
	e := setup(t)
	body, h := e.fake.Webhook("50000042", "outgoing_payment_sent")

	otherKey, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	otherSig, err := rsa.SignPKCS1v15(rand.Reader, otherKey, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}

	tampered := []byte(strings.Replace(string(body), "50000042", "50000043", 1))
	with := func(sig string) http.Header {
		c := h.Clone()
		if sig == "" {
			c.Del(HeaderSignature)
		} else {
			c.Set(HeaderSignature, sig)
		}
		return c
	}
	tests := []struct {
		name string
		h    http.Header
		body []byte
	}{
		{"tampered body", h, tampered},
		{"wrong key", with(base64.StdEncoding.EncodeToString(otherSig)), body},
		{"missing header", with(""), body},
		{"not base64", with("%%%"), body},
		{"truncated", with(h.Get(HeaderSignature)[:20]), body},
	}
	for _, tt := range tests {
		ev, err := e.p.ParseWebhook(tt.h, tt.body)
		if !errors.Is(err, payout.ErrBadSignature) || ev != (payout.Event{}) {
			t.Errorf("%s: %+v, %v; want ErrBadSignature", tt.name, ev, err)
		}
	}
}

func TestParseWebhookUnreadable(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, body := range []string{`not json`,
		`{"data":{"resource":{"id":"abc","type":"transfer"},"current_state":"cancelled"},"event_type":"transfers#state-change"}`} {
		_, err := e.p.ParseWebhook(e.fake.Sign([]byte(body)), []byte(body))
		if err == nil || errors.Is(err, payout.ErrBadSignature) {
			t.Errorf("%s: err = %v, want a read error", body, err)
		}
	}
}

// TestRecordedReversals (issue 14, item 5): the recorded bounced_back and
// funds_refunded deliveries after outgoing_payment_sent (testdata/webhooks)
// read as payout.StateReversed of the whole transfer, with the state as the
// reason.
func TestRecordedReversals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, state := range []string{"bounced_back", "funds_refunded"} {
		body, err := os.ReadFile(filepath.Join("testdata", "webhooks", "transfers-state-change."+state+".json"))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := e.p.ParseWebhook(e.fake.Sign(body), body)
		if err != nil {
			t.Fatal(err)
		}
		if ev.State != payout.StateReversed || ev.Reason != state || ev.Ref != "50000042" || !ev.Amount.IsZero() {
			t.Fatalf("%s: %+v", state, ev)
		}
	}
}
