package wise

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

// scaKeys are the operator's SCA key pair (its public key "uploaded to
// Wise", i.e. given to the Fake) and another key Wise does not know.
var scaKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

func publicPEM(k *rsa.PrivateKey) string {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// recorder keeps what Send records, as the payout service does.
type recorder struct {
	mu       sync.Mutex
	progress string
}

func (r *recorder) record(_ context.Context, p string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = p
	return nil
}

func (r *recorder) transfer(id string, micros int64) payout.Transfer {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := transfer(id, micros, money.EUR, destEUR)
	t.Progress, t.Record = r.progress, r.record
	return t
}

// scaSetup is setup with funding protected by SCA, the operator's public
// key uploaded, and the provider holding key (nil: none configured).
func scaSetup(t *testing.T, key *rsa.PrivateKey) *env {
	t.Helper()
	e := setup(t)
	if err := e.fake.RequireSCA(publicPEM(scaKeys()[0])); err != nil {
		t.Fatal(err)
	}
	e.p.scaKey = key
	e.fake.SetBalance("EUR", 100_000_000)
	return e
}

// TestSendSCAWithoutKey (issue 14, item 4): Wise answers funding with 403
// and x-2fa-approval; with no key configured Send stops with
// ErrActionRequired and the transfer's id (nothing funded), and the next
// attempt reuses the quote, the recipient and the transfer — no second
// transfer, quote or recipient.
func TestSendSCAWithoutKey(t *testing.T) {
	t.Parallel()
	e := scaSetup(t, nil)
	var rec recorder
	for attempt := 1; attempt <= 2; attempt++ {
		sent, err := e.p.Send(context.Background(), rec.transfer("po_sca", 12_340_000))
		if !errors.Is(err, payout.ErrActionRequired) || !strings.Contains(err.Error(), EnvSCAPrivateKeyFile) {
			t.Fatalf("attempt %d: %v, want ErrActionRequired naming %s", attempt, err, EnvSCAPrivateKeyFile)
		}
		trs := e.fake.Transfers()
		if len(trs) != 1 || trs[0].Fundings != 0 || sent.Ref != itoa(trs[0].ID) || sent.Paid {
			t.Fatalf("attempt %d: sent %+v, transfers %+v", attempt, sent, trs)
		}
		if e.fake.Quotes() != 1 || e.fake.Recipients() != 1 || e.fake.Challenges() != attempt {
			t.Fatalf("attempt %d: %d quotes, %d recipients, %d challenges", attempt, e.fake.Quotes(), e.fake.Recipients(), e.fake.Challenges())
		}
	}
	if got := e.fake.Balance("EUR"); got != 100_000_000 {
		t.Fatalf("balance %d: money left without SCA", got)
	}
	// The operator configures the key: the same payout goes through, still
	// one transfer, funded once.
	e.p.scaKey = scaKeys()[0]
	sent, err := e.p.Send(context.Background(), rec.transfer("po_sca", 12_340_000))
	if err != nil {
		t.Fatal(err)
	}
	trs := e.fake.Transfers()
	if len(trs) != 1 || trs[0].Fundings != 1 || sent.Ref != itoa(trs[0].ID) || e.fake.Quotes() != 1 || e.fake.Recipients() != 1 {
		t.Fatalf("after the key: sent %+v, transfers %+v, %d quotes", sent, trs, e.fake.Quotes())
	}
	if got := e.fake.Balance("EUR"); got != 100_000_000-12_340_000 {
		t.Fatalf("balance %d", got)
	}
}

// TestSendSCASigned: with the operator's key the one-time token is signed
// (RSA SHA-256, base64) and funding retried with x-2fa-approval and
// X-Signature, which the Fake verifies with the uploaded public key.
func TestSendSCASigned(t *testing.T) {
	t.Parallel()
	e := scaSetup(t, scaKeys()[0])
	sent, err := e.p.Send(context.Background(), transfer("po_signed", 12_340_000, money.EUR, destEUR))
	if err != nil {
		t.Fatal(err)
	}
	trs := e.fake.Transfers()
	if len(trs) != 1 || trs[0].Fundings != 1 || sent.Ref != itoa(trs[0].ID) || e.fake.Challenges() != 1 {
		t.Fatalf("sent %+v, transfers %+v, %d challenges", sent, trs, e.fake.Challenges())
	}
	calls, _ := e.recorded()
	var statuses []int
	for _, c := range calls {
		if strings.HasSuffix(c.Path, "/payments") {
			statuses = append(statuses, c.Status)
		}
	}
	if len(statuses) != 2 || statuses[0] != 403 || statuses[1] != 200 {
		t.Fatalf("funding calls answered %v, want 403 then 200", statuses)
	}
}

// TestSendSCAWrongKey: a key whose public half Wise does not have is
// refused; Send stops with ErrActionRequired, nothing funded.
func TestSendSCAWrongKey(t *testing.T) {
	t.Parallel()
	e := scaSetup(t, scaKeys()[1])
	sent, err := e.p.Send(context.Background(), transfer("po_wrong", 12_340_000, money.EUR, destEUR))
	if !errors.Is(err, payout.ErrActionRequired) || !strings.Contains(err.Error(), "sca_signature_refused") || sent.Ref == "" {
		t.Fatalf("sent %+v, %v", sent, err)
	}
	if trs := e.fake.Transfers(); len(trs) != 1 || trs[0].Fundings != 0 || e.fake.Balance("EUR") != 100_000_000 {
		t.Fatalf("transfers %+v", trs)
	}
}

// TestSendReusesProgress (issue 14, item 11): a retry after an attempt that
// died before funding passes the recorded progress and makes no new quote
// or recipient; a recorded quote Wise refuses (expired) for a transfer not
// made yet is replaced once.
func TestSendReusesProgress(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.SetBalance("EUR", 50_000_000)
	var rec recorder
	ctx, cancel := context.WithCancel(context.Background())
	e.rt = func(r *http.Request) error {
		if strings.HasSuffix(r.URL.Path, "/payments") {
			cancel()
			return context.Canceled
		}
		return nil
	}
	if sent, err := e.p.Send(ctx, rec.transfer("po_p", 12_340_000)); !errors.Is(err, payout.ErrUnavailable) || sent.Ref == "" {
		t.Fatalf("crashed Send: %+v %v", sent, err)
	}
	e.mu.Lock()
	e.rt = nil
	e.mu.Unlock()
	if !strings.Contains(rec.progress, `"transfer":`) {
		t.Fatalf("progress %q lacks the transfer", rec.progress)
	}
	if _, err := e.p.Send(context.Background(), rec.transfer("po_p", 12_340_000)); err != nil {
		t.Fatal(err)
	}
	if trs := e.fake.Transfers(); len(trs) != 1 || trs[0].Fundings != 1 || e.fake.Quotes() != 1 || e.fake.Recipients() != 1 {
		t.Fatalf("after the retry: %+v, %d quotes, %d recipients", trs, e.fake.Quotes(), e.fake.Recipients())
	}

	// A quote recorded by an attempt that made no transfer, since expired.
	var old recorder
	old.progress = `{"quote":"0b6b1b9e-1111-4222-8333-444455556666","account":` + itoa(e.fake.Transfers()[0].TargetAccount) + `}`
	if _, err := e.p.Send(context.Background(), old.transfer("po_q", 10_000_000)); err != nil {
		t.Fatal(err)
	}
	if trs := e.fake.Transfers(); len(trs) != 2 || trs[1].Fundings != 1 || e.fake.Quotes() != 2 || e.fake.Recipients() != 1 {
		t.Fatalf("after an expired quote: %+v, %d quotes, %d recipients", trs, e.fake.Quotes(), e.fake.Recipients())
	}
}

// TestSCAKeyConfig: the key is read from the PEM, a file, or the file
// PAYPER_WISE_SCA_PRIVATE_KEY_FILE names; a non-RSA or short key is refused.
func TestSCAKeyConfig(t *testing.T) {
	k := scaKeys()[0]
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	file := filepath.Join(t.TempDir(), "sca.pem")
	if err := os.WriteFile(file, []byte(pemText), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Config{APIToken: "t", ProfileID: 1, WebhookPublicKeyPEM: publicPEM(k)}
	for name, cfg := range map[string]Config{"pem": {SCAPrivateKeyPEM: pemText}, "file": {SCAPrivateKeyFile: file}} {
		cfg.APIToken, cfg.ProfileID, cfg.WebhookPublicKeyPEM = base.APIToken, base.ProfileID, base.WebhookPublicKeyPEM
		p, err := New(cfg)
		if err != nil || p.scaKey == nil || !p.scaKey.Equal(k) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	t.Setenv(EnvSCAPrivateKeyFile, file) // read by payper serve's flags, never by the package
	if p, err := New(base); err != nil || p.scaKey != nil {
		t.Fatalf("no key configured: %v, key %v", err, p.scaKey != nil)
	}
	missing := base
	missing.SCAPrivateKeyFile = filepath.Join(t.TempDir(), "none.pem")
	if _, err := New(missing); err == nil || !strings.Contains(err.Error(), "none.pem") {
		t.Fatalf("a key file that does not exist: %v", err)
	}
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	bad := base
	bad.SCAPrivateKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}))
	if _, err := New(bad); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Fatalf("a 1024-bit key: %v", err)
	}
}

// TestSignOneTimeToken: the signature verifies with the public key over
// the SHA-256 of the token, as Wise checks it.
func TestSignOneTimeToken(t *testing.T) {
	k := scaKeys()[0]
	sig, err := SignOneTimeToken(k, "5932d5b5-ec13-452f-8688-308feade7834")
	if err != nil {
		t.Fatal(err)
	}
	f := NewFake("x", 1)
	if err := f.RequireSCA(publicPEM(k)); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.otts["5932d5b5-ec13-452f-8688-308feade7834"] = true
	f.mu.Unlock()
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set(headerApproval, "5932d5b5-ec13-452f-8688-308feade7834")
	r.Header.Set(headerSignature, sig)
	w := httptest.NewRecorder()
	f.mu.Lock()
	ok := f.scaPassed(w, r)
	f.mu.Unlock()
	if !ok || w.Header().Get(headerApprovalResult) != "APPROVED" {
		t.Fatalf("signature refused: %d %v", w.Code, w.Header())
	}
}
