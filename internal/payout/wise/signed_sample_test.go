package wise

import (
	"errors"
	"net/http"
	"testing"

	"github.com/payper/payper/internal/payout"
)

// wiseSandboxKey, wiseSampleBody and wiseSampleSignature are Wise's own
// signed webhook sample: the sandbox webhook public key, a
// transfers#state-change body and its X-Signature-SHA256, from
// github.com/transferwise/digital-signatures-examples,
// verify-webhook-signature/verify-signature.java (the reference verifier
// https://docs.wise.com/api-docs/features/webhooks-notifications/event-handling
// points to).
const (
	wiseSandboxKey = "-----BEGIN PUBLIC KEY-----\n" +
		"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwpb91cEYuyJNQepZAVfP\n" +
		"ZIlPZfNUefH+n6w9SW3fykqKu938cR7WadQv87oF2VuT+fDt7kqeRziTmPSUhqPU\n" +
		"ys/V2Q1rlfJuXbE+Gga37t7zwd0egQ+KyOEHQOpcTwKmtZ81ieGHynAQzsn1We3j\n" +
		"wt760MsCPJ7GMT141ByQM+yW1Bx+4SG3IGjXWyqOWrcXsxAvIXkpUD/jK/L958Cg\n" +
		"nZEgz0BSEh0QxYLITnW1lLokSx/dTianWPFEhMC9BgijempgNXHNfcVirg1lPSyg\n" +
		"z7KqoKUN0oHqWLr2U1A+7kqrl6O2nx3CKs1bj1hToT1+p4kcMoHXA7kA+VBLUpEs\n" +
		"VwIDAQAB\n" +
		"-----END PUBLIC KEY-----\n"
	wiseSampleBody = `{"data":{"resource":{"id":49983981,"profile_id":16055450,"account_id":14124090,"type":"transfer"},` +
		`"current_state":"incoming_payment_waiting","previous_state":null,"occurred_at":"2021-08-23T10:12:50Z"},` +
		`"subscription_id":"90aa8e14-4ef1-4a56-861c-f3c9cde097ea","event_type":"transfers#state-change","schema_version":"2.0.0",` +
		`"sent_at":"2021-08-23T10:12:50Z"}`
	wiseSampleSignature = "wKcKCYXAzxNgiu7xmoDm943NUni7Rz33QN8JkEA9dWSGebgndonabgSj18Y4C08OrwVmueGsED2s00M7DtJVcYKOS1i3G4TMVx+mgM3aL9djMBkQtiYNBFUd6wrPI7ZUNHv/TrlKSjTMc+6JFvUvJ7owY3z85e3I4jLRLJowMFvO8kvCJ60+1pY9wDwZvtZ//WS93LrwGjk9Dvwzpmu0w+P4J75tETT5qC3Uv0y5G2yO8SEoO3yNP/tg/BOli02niHb53vEOUWUb9bly6thnfMoXoiV/osoGxgF20R58RlvkAmezyyl1Sv542TfS2DpiwVnmjjjkCyXeSUcKookYLQ=="
)

// TestWiseSignedSample: ParseWebhook (and so the Fake's signing, which it
// verifies the same way) accepts Wise's own signed sample with Wise's
// sandbox key — the signature scheme is Wise's, not only the Fake's — and
// refuses it with a byte of the body changed.
func TestWiseSignedSample(t *testing.T) {
	p, err := New(Config{APIToken: "tok", ProfileID: 16055450, WebhookPublicKeyPEM: wiseSandboxKey})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(HeaderSignature, wiseSampleSignature)
	h.Set(HeaderDelivery, "3c3e5bd8-0000-4000-8000-000000000001")
	ev, err := p.ParseWebhook(h, []byte(wiseSampleBody))
	if err != nil {
		t.Fatalf("Wise's signed sample refused: %v", err)
	}
	if ev.Ref != "49983981" || ev.State != "" { // incoming_payment_waiting: nothing to do
		t.Fatalf("Wise's sample read as %+v", ev)
	}
	tampered := []byte(wiseSampleBody)
	tampered[len(tampered)-3] = '1'
	if _, err := p.ParseWebhook(h, tampered); !errors.Is(err, payout.ErrBadSignature) {
		t.Fatalf("a tampered sample: %v", err)
	}
}
