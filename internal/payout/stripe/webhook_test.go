package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payper/payper/internal/payout"
)

// now is the configured clock of the webhook tests, far from the wall
// clock, so a check against the wall clock would fail them.
var now = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

func webhookProvider(t *testing.T) *Provider {
	t.Helper()
	p, err := New(Config{SecretKey: fakeKey, WebhookSecret: webhookSecret, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// eventBody is a Stripe event of type typ about obj, as Stripe sends it.
func eventBody(t *testing.T, id, typ string, obj map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id":          id,
		"object":      "event",
		"api_version": "2020-08-27", // an old one: read all the same
		"created":     now.Unix(),
		"livemode":    false,
		"type":        typ,
		"data":        map[string]any{"object": obj},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func transferObject(reversed bool, amountReversed int64, metadata map[string]string) map[string]any {
	return map[string]any{
		"id":              "tr_9",
		"object":          "transfer",
		"amount":          1234,
		"amount_reversed": amountReversed,
		"currency":        "eur",
		"destination":     "acct_1",
		"reversed":        reversed,
		"transfer_group":  "po_01J8",
		"metadata":        metadata,
	}
}

// withReversals gives a transfer object a reversals list of amounts (in
// order of creation; listed newest first, as Stripe lists them), trr_1…
func withReversals(obj map[string]any, amounts ...int64) map[string]any {
	var data []any
	for i, a := range amounts {
		data = append([]any{map[string]any{"id": "trr_" + strconv.Itoa(i+1), "object": "transfer_reversal",
			"amount": a, "created": now.Unix() + int64(i), "currency": obj["currency"], "transfer": obj["id"]}}, data...)
	}
	obj["reversals"] = map[string]any{"object": "list", "data": data, "has_more": false, "total_count": len(data)}
	return obj
}

func signed(body []byte, secret string, at time.Time) http.Header {
	h := http.Header{}
	h.Set("Stripe-Signature", SignForTest(secret, at, body))
	return h
}

func TestParseWebhookEvents(t *testing.T) {
	t.Parallel()
	p := webhookProvider(t)
	ours := map[string]string{"payout_id": "po_01J8", "creator_id": "crt_42"}
	for _, tc := range []struct {
		name   string
		typ    string
		obj    map[string]any
		want   payout.Event
		reason string // in Reason
	}{
		{"created", "transfer.created", transferObject(false, 0, ours),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8", State: payout.StatePaid}, ""},
		{"created, not ours", "transfer.created", transferObject(false, 0, nil),
			payout.Event{ID: "evt_1", Ref: "tr_9", State: payout.StatePaid}, ""},
		{"created, already reversed", "transfer.created", transferObject(true, 1234, ours),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8"}, ""},
		{"updated", "transfer.updated", transferObject(false, 0, ours),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8"}, ""},
		// An update of a transfer partly reversed: its total, no Amount.
		{"updated, partly reversed", "transfer.updated", withReversals(transferObject(false, 300, ours), 100, 200),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8", State: payout.StateReversed, TotalReversed: eur(3_000_000)}, "3.00 EUR of 12.34 EUR reversed in all"},
		// The whole transfer in one reversal: the zero Amount, the whole payout.
		{"reversed in full", "transfer.reversed", transferObject(true, 1234, ours),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8", State: payout.StateReversed, TotalReversed: eur(12_340_000)}, "12.34 EUR"},
		// A first partial reversal, without a reversals list: all of
		// amount_reversed.
		{"reversed in part", "transfer.reversed", transferObject(false, 234, ours),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8", State: payout.StateReversed, Amount: eur(2_340_000), TotalReversed: eur(2_340_000)}, "2.34 EUR of 12.34 EUR"},
		// The second of two reversals, read from the list (newest first):
		// 1.00 then 2.00, this event's is the 2.00.
		{"second partial reversal", "transfer.reversed", withReversals(transferObject(false, 300, ours), 100, 200),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8", State: payout.StateReversed, Amount: eur(2_000_000), TotalReversed: eur(3_000_000)}, "trr_2"},
		// The reversal completing the transfer after an earlier one: its
		// own amount, not zero (the earlier one was reversed already).
		{"last of two reversals", "transfer.reversed", withReversals(transferObject(true, 1234, ours), 234, 1000),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8", State: payout.StateReversed, Amount: eur(10_000_000), TotalReversed: eur(12_340_000)}, "10.00 EUR of 12.34 EUR"},
		{"reversed, nothing reversed", "transfer.reversed", transferObject(false, 0, ours),
			payout.Event{ID: "evt_1", Ref: "tr_9", PayoutID: "po_01J8"}, ""},
		{"another object", "account.updated", map[string]any{"id": "acct_1", "object": "account", "metadata": ours},
			payout.Event{ID: "evt_1"}, ""},
	} {
		body := eventBody(t, "evt_1", tc.typ, tc.obj)
		ev, err := p.ParseWebhook(signed(body, webhookSecret, now), body)
		if err != nil {
			t.Errorf("%s: ParseWebhook: %v", tc.name, err)
			continue
		}
		if !strings.Contains(ev.Reason, tc.reason) || (tc.want.State == payout.StateReversed) != (ev.Reason != "") {
			t.Errorf("%s: Reason %q, want one containing %q exactly when failed", tc.name, ev.Reason, tc.reason)
		}
		ev.Reason = ""
		if ev != tc.want {
			t.Errorf("%s: ParseWebhook = %+v, want %+v", tc.name, ev, tc.want)
		}
	}
}

func TestParseWebhookBadSignature(t *testing.T) {
	t.Parallel()
	p := webhookProvider(t)
	body := eventBody(t, "evt_1", "transfer.created", transferObject(false, 0, map[string]string{"payout_id": "po_01J8"}))
	good := SignForTest(webhookSecret, now, body)
	v1 := good[strings.Index(good, "v1="):]
	ts := strconv.FormatInt(now.Unix(), 10)
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
	}{
		{"no header", "", body},
		{"garbage header", "garbage", body},
		{"no v1", "t=" + ts, body},
		{"wrong secret", SignForTest("whsec_other", now, body), body},
		{"tampered body", good, []byte(strings.Replace(string(body), "po_01J8", "po_other", 1))},
		{"stale by the clock", SignForTest(webhookSecret, now.Add(-Tolerance-time.Second), body), body},
		{"from the future", SignForTest(webhookSecret, now.Add(Tolerance+time.Second), body), body},
		// stripe-go verifies against the last t=; which one is meant is unclear.
		{"two timestamps", "t=" + strconv.FormatInt(now.Unix()-3600, 10) + ",t=" + ts + "," + v1, body},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("Stripe-Signature", tc.header)
		}
		ev, err := p.ParseWebhook(h, tc.body)
		if !errors.Is(err, payout.ErrBadSignature) {
			t.Errorf("%s: ParseWebhook = %+v, %v; want ErrBadSignature", tc.name, ev, err)
		}
		if ev != (payout.Event{}) {
			t.Errorf("%s: ParseWebhook returned %+v with its error, want a zero Event", tc.name, ev)
		}
	}

	// Within the tolerance on either side, and a rolled secret (two v1s,
	// one of them right), are fine.
	for _, h := range []string{
		SignForTest(webhookSecret, now.Add(-Tolerance), body),
		SignForTest(webhookSecret, now.Add(Tolerance), body),
		"t=" + ts + ",v1=" + strings.Repeat("ab", 32) + "," + v1,
	} {
		hdr := http.Header{}
		hdr.Set("Stripe-Signature", h)
		if _, err := p.ParseWebhook(hdr, body); err != nil {
			t.Errorf("ParseWebhook with %q: %v", h, err)
		}
	}
}

func TestParseWebhookSignedButUnreadable(t *testing.T) {
	t.Parallel()
	p := webhookProvider(t)
	for _, body := range []string{
		`not json`,
		`{"id":"tr_9","object":"transfer"}`,
		`{"id":"evt_1","object":"event","type":"transfer.created","data":{"object":{"object":"transfer"}}}`,
		// Reversals that cannot be: more than the transfer, a reversal
		// larger than all reversed, a negative one, previous_attributes
		// above amount_reversed.
		`{"id":"evt_1","object":"event","type":"transfer.reversed","data":{"object":{"id":"tr_9","amount":100,"amount_reversed":101,"currency":"eur"}}}`,
		`{"id":"evt_1","object":"event","type":"transfer.reversed","data":{"object":{"id":"tr_9","amount":100,"amount_reversed":10,"currency":"eur","reversals":{"data":[{"id":"trr_1","amount":20}]}}}}`,
		`{"id":"evt_1","object":"event","type":"transfer.reversed","data":{"object":{"id":"tr_9","amount":100,"amount_reversed":10,"currency":"eur","reversals":{"data":[{"id":"trr_1","amount":-5}]}}}}`,
		`{"id":"evt_1","object":"event","type":"transfer.reversed","data":{"object":{"id":"tr_9","amount":100,"amount_reversed":10,"currency":"eur"},"previous_attributes":{"amount_reversed":10}}}`,
		`{"id":"evt_1","object":"event","type":"transfer.reversed","data":{"object":{"id":"tr_9","amount":100,"amount_reversed":10,"currency":"eur"},"previous_attributes":{"amount_reversed":"5"}}}`,
	} {
		_, err := p.ParseWebhook(signed([]byte(body), webhookSecret, now), []byte(body))
		if err == nil || errors.Is(err, payout.ErrBadSignature) {
			t.Errorf("ParseWebhook(%s) = %v, want a plain error", body, err)
		}
	}
}

func TestSignForTest(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_1"}`)
	at := time.Unix(1_700_000_000, 0)
	mac := hmac.New(sha256.New, []byte("whsec_x"))
	mac.Write([]byte("1700000000." + string(body)))
	want := "t=1700000000,v1=" + hex.EncodeToString(mac.Sum(nil))
	if got := SignForTest("whsec_x", at, body); got != want {
		t.Errorf("SignForTest = %q, want %q", got, want)
	}
}
