package wise

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

// DefaultBaseURL is Wise's production API.
const DefaultBaseURL = "https://api.wise.com"

// Retry policy for 429, 5xx and network errors: up to maxAttempts calls,
// waiting backoffBase, 2×, 4×… (at most backoffMax) or the server's
// Retry-After (at most retryAfterMax) in between.
const (
	maxAttempts   = 4
	backoffBase   = 250 * time.Millisecond
	backoffMax    = 4 * time.Second
	retryAfterMax = 30 * time.Second
	maxBody       = 1 << 20
)

// Config configures a Provider.
type Config struct {
	// APIToken is the Wise API token, sent as a bearer token. Required.
	APIToken string
	// ProfileID is the Wise business profile that pays. Required.
	ProfileID int64
	// BaseURL defaults to DefaultBaseURL; the sandbox is
	// https://api.sandbox.transferwise.tech.
	BaseURL string
	// WebhookPublicKeyPEM is Wise's webhook signing key (PKIX "PUBLIC KEY"
	// or PKCS #1 "RSA PUBLIC KEY" PEM). Required.
	WebhookPublicKeyPEM string
	// SCAPrivateKeyPEM is the operator's private key (RSA, PKCS #1 "RSA
	// PRIVATE KEY" or PKCS #8 "PRIVATE KEY" PEM) whose public key is
	// uploaded to Wise, to sign the one-time token of strong customer
	// authentication (see the package doc). SCAPrivateKeyFile names a file
	// holding it; when both are empty, the file named by
	// PAYPER_WISE_SCA_PRIVATE_KEY_FILE is read, if set. Without a key, a
	// funding Wise answers with an SCA challenge fails with
	// payout.ErrActionRequired.
	SCAPrivateKeyPEM, SCAPrivateKeyFile string
	// HTTP defaults to a client with a 30 s timeout.
	HTTP *http.Client
	// Sleep waits between retries; it defaults to a timer that stops early
	// (returning ctx.Err()) when ctx is done. Tests inject one that does not
	// wait.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Provider is the Wise payout.Provider. It is safe for concurrent use.
type Provider struct {
	token     string
	profileID int64
	base      string
	pub       *rsa.PublicKey
	scaKey    *rsa.PrivateKey
	http      *http.Client
	sleep     func(ctx context.Context, d time.Duration) error
}

var (
	_ payout.Provider = (*Provider)(nil)
	_ payout.Canceler = (*Provider)(nil)
	_ payout.Finder   = (*Provider)(nil)
)

// New returns a Provider for cfg. It returns an error naming the field when
// the token or profile id is missing, the base URL is not an http(s) URL, or
// the webhook key is not an RSA public key in PEM.
func New(cfg Config) (*Provider, error) {
	if strings.TrimSpace(cfg.APIToken) == "" {
		return nil, errors.New("wise: config: APIToken is required")
	}
	if cfg.ProfileID <= 0 {
		return nil, fmt.Errorf("wise: config: ProfileID must be positive, not %d", cfg.ProfileID)
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("wise: config: BaseURL %q is not an http(s) URL", base)
	}
	pub, err := parsePublicKey(cfg.WebhookPublicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("wise: config: WebhookPublicKeyPEM: %w", err)
	}
	scaKey, err := loadSCAKey(cfg)
	if err != nil {
		return nil, err
	}
	p := &Provider{
		scaKey:    scaKey,
		token:     cfg.APIToken,
		profileID: cfg.ProfileID,
		base:      strings.TrimRight(base, "/"),
		pub:       pub,
		http:      cfg.HTTP,
		sleep:     cfg.Sleep,
	}
	if p.http == nil {
		p.http = &http.Client{Timeout: 30 * time.Second}
	}
	if p.sleep == nil {
		p.sleep = sleepCtx
	}
	return p, nil
}

// EnvSCAPrivateKeyFile is the environment variable payper serve reads the
// SCA signing key's file from (--wise-sca-private-key-file); it is named in
// the error a payout waiting for SCA shows.
const EnvSCAPrivateKeyFile = "PAYPER_WISE_SCA_PRIVATE_KEY_FILE"

// loadSCAKey returns cfg's SCA signing key, nil when none is configured.
func loadSCAKey(cfg Config) (*rsa.PrivateKey, error) {
	pemText, file := cfg.SCAPrivateKeyPEM, cfg.SCAPrivateKeyFile
	if pemText == "" && file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("wise: config: SCA private key: %w", err)
		}
		pemText = string(b)
	}
	if pemText == "" {
		return nil, nil
	}
	k, err := parsePrivateKey(pemText)
	if err != nil {
		return nil, fmt.Errorf("wise: config: SCA private key: %w", err)
	}
	return k, nil
}

func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var k *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		var err error
		if k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return nil, fmt.Errorf("parse RSA private key: %w", err)
		}
	case "PRIVATE KEY":
		pk, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse private key: %w", err)
		}
		rk, ok := pk.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the key is a %T, not RSA (Wise takes RSA keys only)", pk)
		}
		k = rk
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if k.N.BitLen() < 2048 {
		return nil, fmt.Errorf("the key has %d bits; Wise requires at least 2048", k.N.BitLen())
	}
	return k, nil
}

// SignOneTimeToken signs Wise's one-time token as "Personal Token SCA"
// documents: the SHA-256 of the token's bytes signed with RSA (PKCS #1
// v1.5), base64 — what `printf '<token>' | openssl sha256 -sign
// private.pem | base64` prints
// (https://docs.wise.com/api-docs/features/strong-customer-authentication-2fa/personal-token-sca).
func SignOneTimeToken(k *rsa.PrivateKey, ott string) (string, error) {
	sum := sha256.Sum256([]byte(ott))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign the one-time token: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse public key: %w", err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("the key is a %T, not RSA", k)
		}
		return rk, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parse RSA public key: %w", err)
		}
		return k, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
}

// Name returns payout.ProviderWise.
func (p *Provider) Name() string { return payout.ProviderWise }

// CustomerTransactionID returns the customerTransactionId Send uses for a
// payout: the version-5 (SHA-1, name-based) UUID of the name
// "urn:payper:payout:<payoutID>" in the RFC 9562 URL namespace. The same
// payout id always gives the same UUID. It never fails.
func CustomerTransactionID(payoutID string) string {
	return uuidV5(namespaceURL, "urn:payper:payout:"+payoutID)
}

// namespaceURL is RFC 9562's URL namespace 6ba7b811-9dad-11d1-80b4-00c04fd430c8.
var namespaceURL = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

func uuidV5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return formatUUID(u)
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// Wire shapes.
type (
	quoteRequest struct {
		SourceCurrency string      `json:"sourceCurrency"`
		TargetCurrency string      `json:"targetCurrency"`
		SourceAmount   json.Number `json:"sourceAmount"`
	}
	quoteAnswer struct {
		ID string `json:"id"`
	}
	accountAnswer struct {
		ID int64 `json:"id"`
	}
	transferRequest struct {
		TargetAccount         int64           `json:"targetAccount"`
		QuoteUUID             string          `json:"quoteUuid"`
		CustomerTransactionID string          `json:"customerTransactionId"`
		Details               transferDetails `json:"details"`
	}
	transferDetails struct {
		Reference string `json:"reference"`
	}
	transferAnswer struct {
		ID                    int64       `json:"id"`
		Status                string      `json:"status"`
		CustomerTransactionID string      `json:"customerTransactionId,omitempty"`
		SourceCurrency        string      `json:"sourceCurrency,omitempty"`
		SourceValue           json.Number `json:"sourceValue,omitempty"`
	}
	paymentRequest struct {
		Type string `json:"type"`
	}
	paymentAnswer struct {
		Type      string `json:"type"`
		Status    string `json:"status"`
		ErrorCode string `json:"errorCode,omitempty"`
	}
)

// Transfer states Send acts on (Wise's transfer status values).
const (
	stateWaiting   = "incoming_payment_waiting"
	stateSent      = "outgoing_payment_sent"
	stateRefunded  = "funds_refunded"
	stateCancelled = "cancelled"
	stateBounced   = "bounced_back"
)

// failedStates are the terminal states payper treats as a failed payout.
var failedStates = map[string]bool{stateRefunded: true, stateCancelled: true, stateBounced: true}

// Funding error codes.
const (
	codeInsufficientFunds = "transfer.insufficient_funds"
	codeInvalidState      = "transfer.invalid-state"
)

// progress is what Send made for a payout (payout.Transfer.Progress), so
// a retry reuses it: Wise's ids of the quote, the recipient and the transfer.
type progress struct {
	Quote    string `json:"quote,omitempty"`
	Account  int64  `json:"account,omitempty"`
	Transfer int64  `json:"transfer,omitempty"`
}

// Send quotes t.Amount, creates the recipient from t.Destination (a Recipient
// as JSON), creates the transfer with customerTransactionId =
// CustomerTransactionID(t.PayoutID) and funds it from the Wise balance. It
// returns Sent{Ref: the Wise transfer id}, Paid only if Wise already reports
// the transfer outgoing_payment_sent (a retry after delivery).
//
// Each id is recorded through t.Record as soon as Wise answers it, and a
// retry (t.Progress) reuses the quote, the recipient and the transfer
// already made rather than making new ones (a new quote only when Wise
// refuses the old one for a transfer not made yet, e.g. expired). Creating
// the transfer again with the same customerTransactionId returns the same
// transfer, so it is funded at most once. Funding that Wise answers with a
// strong customer authentication challenge (403, x-2fa-approval) is retried
// with the one-time token signed by the configured key; with no key (or a
// signature Wise refuses) Send returns payout.ErrActionRequired and the
// transfer's Ref: nothing was paid.
//
// Errors (wrapped), with Sent.Ref set once the transfer exists:
// payout.ErrRejected for a bad transfer or destination (with the
// *errs.Error naming the fields), Wise validation errors (naming Wise's
// codes, paths and messages), insufficient balance, or a transfer Wise
// already cancelled or refunded; payout.ErrUnavailable when 429, 5xx or
// network errors outlast the retries or ctx ends; payout.ErrActionRequired
// as above; a plain error for anything else (e.g. a wrong token, an
// unreadable answer or progress, a payout id already used for a different
// amount, t.Record failing).
func (p *Provider) Send(ctx context.Context, t payout.Transfer) (payout.Sent, error) {
	amount, rcpt, err := checkTransfer(t)
	if err != nil {
		return payout.Sent{}, fmt.Errorf("wise: payout %s: %w: %w", t.PayoutID, payout.ErrRejected, err)
	}
	cur := string(t.Amount.Currency)
	var pr progress
	if t.Progress != "" {
		if err := json.Unmarshal([]byte(t.Progress), &pr); err != nil {
			return payout.Sent{}, fmt.Errorf("wise: payout %s: progress %q: %w", t.PayoutID, t.Progress, err)
		}
	}
	record := func() error {
		if t.Record == nil {
			return nil
		}
		b, err := json.Marshal(pr)
		if err != nil {
			return fmt.Errorf("wise: payout %s: encode progress: %w", t.PayoutID, err)
		}
		if err := t.Record(ctx, string(b)); err != nil {
			return fmt.Errorf("wise: payout %s: %w", t.PayoutID, err)
		}
		return nil
	}
	quote := func() error {
		var q quoteAnswer
		err := p.call(ctx, "create quote", fmt.Sprintf("/v3/profiles/%d/quotes", p.profileID),
			quoteRequest{SourceCurrency: cur, TargetCurrency: cur, SourceAmount: json.Number(amount)}, &q)
		if err != nil {
			return fmt.Errorf("wise: payout %s: %w", t.PayoutID, err)
		}
		if q.ID == "" {
			return fmt.Errorf("wise: payout %s: create quote: the answer has no id", t.PayoutID)
		}
		pr.Quote = q.ID
		return record()
	}
	if pr.Quote == "" {
		if err := quote(); err != nil {
			return payout.Sent{}, err
		}
	}
	if pr.Account <= 0 {
		var acct accountAnswer
		if err := p.call(ctx, "create recipient", "/v1/accounts", recipientBody(rcpt, p.profileID), &acct); err != nil {
			return payout.Sent{}, fmt.Errorf("wise: payout %s: %w", t.PayoutID, err)
		}
		if acct.ID <= 0 {
			return payout.Sent{}, fmt.Errorf("wise: payout %s: create recipient: the answer has no id", t.PayoutID)
		}
		pr.Account = acct.ID
		if err := record(); err != nil {
			return payout.Sent{}, err
		}
	}

	ctid := CustomerTransactionID(t.PayoutID)
	var tr transferAnswer
	create := func() error {
		return p.call(ctx, "create transfer", "/v1/transfers", transferRequest{
			TargetAccount:         pr.Account,
			QuoteUUID:             pr.Quote,
			CustomerTransactionID: ctid,
			Details:               transferDetails{Reference: t.Reference},
		}, &tr)
	}
	err = create()
	var ae *APIError
	if err != nil && pr.Transfer == 0 && errors.As(err, &ae) && ae.HasPath("quoteUuid") && t.Progress != "" {
		// The quote of an earlier attempt is refused (expired): one new one.
		if err := quote(); err != nil {
			return payout.Sent{}, err
		}
		err = create()
	}
	if err != nil {
		return payout.Sent{}, fmt.Errorf("wise: payout %s: %w", t.PayoutID, err)
	}
	if err := checkTransferAnswer(tr, ctid, t.Amount); err != nil {
		return payout.Sent{}, fmt.Errorf("wise: payout %s: create transfer: %w", t.PayoutID, err)
	}
	sent := payout.Sent{Ref: strconv.FormatInt(tr.ID, 10)}
	if pr.Transfer != tr.ID {
		pr.Transfer = tr.ID
		if err := record(); err != nil {
			return sent, err
		}
	}
	switch {
	case failedStates[tr.Status]:
		return sent, fmt.Errorf("wise: payout %s: transfer %d is %s: %w", t.PayoutID, tr.ID, tr.Status, payout.ErrRejected)
	case tr.Status == stateSent:
		sent.Paid = true
		return sent, nil
	}
	if err := p.fund(ctx, tr.ID); err != nil {
		return sent, fmt.Errorf("wise: payout %s: transfer %d: %w", t.PayoutID, tr.ID, err)
	}
	return sent, nil
}

// CancelTransfer cancels Wise transfer ref (PUT /v1/transfers/{id}/cancel;
// Wise cancels a transfer still incoming_payment_waiting, i.e. not
// funded, and answers 409 transfer.cancellation.not.allowed otherwise:
// https://docs.wise.com/api-reference/transfer/transfercancel). It
// implements payout.Canceler. Errors: payout.ErrRejected (wrapped) when
// Wise refuses, payout.ErrUnavailable after retries, another error for a
// ref that is not a transfer id or other answers.
func (p *Provider) CancelTransfer(ctx context.Context, ref string) error {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("wise: cancel transfer %q: not a transfer id", ref)
	}
	var tr transferAnswer
	err = p.callMethod(ctx, http.MethodPut, "cancel transfer", fmt.Sprintf("/v1/transfers/%d/cancel", id), nil, &tr)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict {
		return fmt.Errorf("wise: %w: %w", payout.ErrRejected, ae)
	}
	if err != nil {
		return fmt.Errorf("wise: %w", err)
	}
	return nil
}

// Listing transfers (see FindTransfer): a page of listLimit, at most
// listPages pages.
const (
	listLimit = 100
	listPages = 50
)

// FindTransfer implements payout.Finder: it looks for the transfer made for
// t.PayoutID — the one whose customerTransactionId is
// CustomerTransactionID(t.PayoutID) — among the profile's transfers created
// since a day before t.RequestedAt, listing them page by page (GET
// /v1/transfers?profile=…&createdDateStart=…&limit=…&offset=…; the
// transfer list and the transfer's customerTransactionId field:
// https://docs.wise.com/api-docs/api-reference/transfer). It does not make
// a transfer: Wise documents creating one again with the same
// customerTransactionId as the way to recover a lost answer
// (https://docs.wise.com/guides/product/send-money/standard-api-transfers,
// "Avoiding duplicate transfers"), but that makes the transfer when it did
// not exist, which this look-up must not.
//
// A transfer found is Sent{Ref: its id}, Paid when it is
// outgoing_payment_sent; one cancelled, refunded or bounced back is found
// with an error wrapping payout.ErrRejected; one of another amount or
// currency is found with a plain error. found is false when no listed
// transfer has the id. An error with found false means Wise could not
// answer (payout.ErrUnavailable after retries, or any other failure).
func (p *Provider) FindTransfer(ctx context.Context, t payout.Transfer) (payout.Sent, bool, error) {
	if t.PayoutID == "" {
		return payout.Sent{}, false, errors.New("wise: find transfer: payout id is required")
	}
	ctid := CustomerTransactionID(t.PayoutID)
	since := t.RequestedAt.Add(-24 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	for page := 0; page < listPages; page++ {
		q := url.Values{}
		q.Set("profile", strconv.FormatInt(p.profileID, 10))
		q.Set("createdDateStart", since)
		q.Set("limit", strconv.Itoa(listLimit))
		q.Set("offset", strconv.Itoa(page*listLimit))
		var list []transferAnswer
		if err := p.callMethod(ctx, http.MethodGet, "list transfers", "/v1/transfers?"+q.Encode(), nil, &list); err != nil {
			return payout.Sent{}, false, fmt.Errorf("wise: find the transfer of payout %s: %w", t.PayoutID, err)
		}
		for _, tr := range list {
			if !strings.EqualFold(tr.CustomerTransactionID, ctid) {
				continue
			}
			sent := payout.Sent{Ref: strconv.FormatInt(tr.ID, 10), Paid: tr.Status == stateSent}
			if err := checkTransferAnswer(tr, ctid, t.Amount); err != nil {
				return sent, true, fmt.Errorf("wise: find the transfer of payout %s: %w", t.PayoutID, err)
			}
			if failedStates[tr.Status] {
				return sent, true, fmt.Errorf("wise: payout %s: transfer %d is %s: %w", t.PayoutID, tr.ID, tr.Status, payout.ErrRejected)
			}
			return sent, true, nil
		}
		if len(list) < listLimit {
			return payout.Sent{}, false, nil
		}
	}
	return payout.Sent{}, false, fmt.Errorf("wise: find the transfer of payout %s: more than %d transfers since %s: look in Wise", t.PayoutID, listPages*listLimit, since)
}

// checkTransfer returns t's amount as Wise's decimal and its recipient, or an
// *errs.Error naming the bad field.
func checkTransfer(t payout.Transfer) (string, Recipient, error) {
	if t.PayoutID == "" {
		return "", Recipient{}, errs.Invalidf("payoutId", "required", "the payout id is required")
	}
	if !supportsCurrency(string(t.Amount.Currency)) {
		return "", Recipient{}, errs.Invalidf("amount.currency", "unsupported_currency",
			"currency %q is not supported by Wise payouts here (EUR, GBP, CHF, DKK, NOK, PLN, SEK or USD)", t.Amount.Currency)
	}
	cents, rem := t.Amount.Cents()
	if t.Amount.Micros <= 0 || rem != 0 {
		return "", Recipient{}, errs.Invalidf("amount", "invalid_amount",
			"the amount must be a positive number of whole cents, not %s", money.FormatMicros(t.Amount.Micros))
	}
	r, err := ParseRecipient(t.Destination)
	if err != nil {
		return "", Recipient{}, errs.WithField(err, "destination")
	}
	if r.Currency != string(t.Amount.Currency) {
		return "", Recipient{}, errs.Invalidf("destination.currency", "currency_mismatch",
			"the recipient's account is in %s but the payout is in %s", r.Currency, t.Amount.Currency)
	}
	return fmt.Sprintf("%d.%02d", cents/100, cents%100), r, nil
}

// checkTransferAnswer refuses an answer that is not about this payout: no id,
// another customerTransactionId, or (a reused payout id) another amount.
func checkTransferAnswer(tr transferAnswer, ctid string, a money.Amount) error {
	if tr.ID <= 0 {
		return errors.New("the answer has no id")
	}
	if tr.CustomerTransactionID != "" && !strings.EqualFold(tr.CustomerTransactionID, ctid) {
		return fmt.Errorf("transfer %d has customerTransactionId %s, not %s", tr.ID, tr.CustomerTransactionID, ctid)
	}
	if tr.SourceCurrency != "" && tr.SourceCurrency != string(a.Currency) {
		return fmt.Errorf("transfer %d is in %s, not %s: was the payout id reused?", tr.ID, tr.SourceCurrency, a.Currency)
	}
	if tr.SourceValue != "" {
		m, err := money.ParseMicros(tr.SourceValue.String())
		if err != nil {
			return fmt.Errorf("transfer %d: sourceValue %q: %w", tr.ID, tr.SourceValue, err)
		}
		if m != a.Micros {
			return fmt.Errorf("transfer %d is for %s %s, not %s: was the payout id reused?",
				tr.ID, tr.SourceValue, tr.SourceCurrency, a)
		}
	}
	return nil
}

// fund pays transfer id from the balance. Already funded is success.
func (p *Provider) fund(ctx context.Context, id int64) error {
	var ans paymentAnswer
	err := p.call(ctx, "fund transfer", fmt.Sprintf("/v3/profiles/%d/transfers/%d/payments", p.profileID, id),
		paymentRequest{Type: "BALANCE"}, &ans)
	var ae *APIError
	if errors.As(err, &ae) && ae.HasCode(codeInvalidState) {
		// Funded already (by the call a crash interrupted) or past funding;
		// a cancellation was caught from the transfer's status or comes by
		// webhook.
		return nil
	}
	if err != nil {
		return err
	}
	switch ans.Status {
	case "COMPLETED":
		return nil
	case "REJECTED":
		if ans.ErrorCode == codeInsufficientFunds {
			return fmt.Errorf("fund transfer: %w: insufficient balance (%s)", payout.ErrRejected, ans.ErrorCode)
		}
		return fmt.Errorf("fund transfer: %w: funding rejected (%s)", payout.ErrRejected, ans.ErrorCode)
	}
	return fmt.Errorf("fund transfer: unexpected funding status %q (errorCode %q)", ans.Status, ans.ErrorCode)
}

// APIError is an error answer from Wise. Send wraps it together with
// payout.ErrRejected or payout.ErrUnavailable where that applies.
type APIError struct {
	Op     string // "create quote", "create recipient", "create transfer", "fund transfer"
	Status int    // HTTP status
	// Problems are Wise's errors[] entries, or one built from the
	// {"error","error_description"} or funding {"errorCode"} shapes.
	Problems []Problem
	// Body is the start of a body that none of those shapes fit.
	Body string
}

// Problem is one of Wise's {"code","message","path","arguments"} errors.
type Problem struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Path      string `json:"path,omitempty"`
	Arguments []any  `json:"arguments,omitempty"`
}

// Error names the operation, the status and every problem.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", e.Op, e.Status)
	for i, pr := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(pr.Code)
		if pr.Path != "" {
			fmt.Fprintf(&b, " at %s", pr.Path)
		}
		if pr.Message != "" {
			fmt.Fprintf(&b, ": %s", pr.Message)
		}
	}
	if len(e.Problems) == 0 && e.Body != "" {
		fmt.Fprintf(&b, ": %s", e.Body)
	}
	return b.String()
}

// HasPath reports whether one of e's problems is about the field path.
func (e *APIError) HasPath(path string) bool {
	for _, pr := range e.Problems {
		if strings.EqualFold(pr.Path, path) {
			return true
		}
	}
	return false
}

// HasCode reports whether one of e's problems has the code.
func (e *APIError) HasCode(code string) bool {
	for _, pr := range e.Problems {
		if pr.Code == code {
			return true
		}
	}
	return false
}

func parseAPIError(op string, status int, body []byte) *APIError {
	e := &APIError{Op: op, Status: status}
	var shape struct {
		Errors           []Problem `json:"errors"`
		Error            string    `json:"error"`
		ErrorDescription string    `json:"error_description"`
		Message          string    `json:"message"`
		ErrorCode        string    `json:"errorCode"`
	}
	if json.Unmarshal(body, &shape) == nil {
		e.Problems = shape.Errors
		if shape.ErrorCode != "" {
			e.Problems = append(e.Problems, Problem{Code: shape.ErrorCode, Message: shape.Message})
		}
		if shape.Error != "" {
			msg := shape.ErrorDescription
			if msg == "" {
				msg = shape.Message
			}
			e.Problems = append(e.Problems, Problem{Code: shape.Error, Message: msg})
		}
	}
	if len(e.Problems) == 0 && len(body) > 0 {
		e.Body = compactJSON(body)
	}
	return e
}

// call POSTs in as JSON to path and decodes a 2xx answer into out, retrying
// 429, 5xx and network errors. Errors: *APIError wrapped with ErrUnavailable
// (retries exhausted) or ErrRejected (400, 422), a bare *APIError for other
// statuses, ErrUnavailable for network errors or ctx's end.
func (p *Provider) call(ctx context.Context, op, path string, in, out any) error {
	return p.callMethod(ctx, http.MethodPost, op, path, in, out)
}

// callMethod is call with another method; a nil in sends no body.
func (p *Provider) callMethod(ctx context.Context, method, op, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("%s: encode: %w", op, err)
		}
	}
	var last error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w: %w", op, payout.ErrUnavailable, err)
		}
		wait, err := p.try(ctx, method, op, path, body, out, nil)
		if err == nil {
			return nil
		}
		if wait < 0 { // not retryable
			return err
		}
		last = err
		if attempt+1 >= maxAttempts {
			break
		}
		if wait == 0 {
			wait = min(backoffBase<<attempt, backoffMax)
		}
		if err := p.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s: %w: %w (after %v)", op, payout.ErrUnavailable, err, last)
		}
	}
	return fmt.Errorf("%w: %d attempts: %w", payout.ErrUnavailable, maxAttempts, last)
}

// Strong customer authentication headers (Wise's "One Time Token" and
// "Personal Token SCA" pages): a protected call answers 403 with
// x-2fa-approval (the one-time token) and x-2fa-approval-result: REJECTED;
// the call is made again with x-2fa-approval and X-Signature, the token
// signed (SignOneTimeToken).
const (
	headerApproval       = "X-2fa-Approval"
	headerApprovalResult = "X-2fa-Approval-Result"
	headerSignature      = "X-Signature"
)

// try makes one request (with the SCA headers sca, when not nil). wait < 0:
// the error is final; otherwise the call may be retried after wait (0: the
// default backoff). An SCA challenge is answered once, at once, by signing
// its one-time token with the configured key.
func (p *Provider) try(ctx context.Context, method, op, path string, body []byte, out any, sca http.Header) (wait time.Duration, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.base+path, rd)
	if err != nil {
		return -1, fmt.Errorf("%s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	for k, v := range sca {
		req.Header[k] = v
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, fmt.Errorf("%s: read answer: %w", op, err)
	}
	switch s := resp.StatusCode; {
	case s >= 200 && s < 300:
		if err := json.Unmarshal(raw, out); err != nil {
			return -1, fmt.Errorf("%s: decode answer (%s): %w", op, compactJSON(raw), err)
		}
		return -1, nil
	case s == http.StatusTooManyRequests || s >= 500 || s == http.StatusRequestTimeout:
		return retryAfter(resp.Header.Get("Retry-After")), parseAPIError(op, s, raw)
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		ae := parseAPIError(op, s, raw)
		if op == "fund transfer" && ae.HasCode(codeInvalidState) {
			return -1, ae // the caller decides
		}
		return -1, fmt.Errorf("%w: %w", payout.ErrRejected, ae)
	case s == http.StatusForbidden && resp.Header.Get(headerApproval) != "":
		ott := resp.Header.Get(headerApproval)
		ae := parseAPIError(op, s, raw)
		switch {
		case sca != nil:
			ae.Problems = append(ae.Problems, Problem{Code: "sca_signature_refused",
				Message: "Wise refused the signed one-time token: is the public key of the configured SCA key uploaded to Wise?"})
			return -1, fmt.Errorf("%w: %w", payout.ErrActionRequired, ae)
		case p.scaKey == nil:
			ae.Problems = append(ae.Problems, Problem{Code: "sca_required",
				Message: "Wise asks for strong customer authentication and no signing key is configured (" + EnvSCAPrivateKeyFile + "); nothing was paid"})
			return -1, fmt.Errorf("%w: %w", payout.ErrActionRequired, ae)
		}
		sig, err := SignOneTimeToken(p.scaKey, ott)
		if err != nil {
			return -1, fmt.Errorf("%s: %w", op, err)
		}
		h := http.Header{}
		h.Set(headerApproval, ott)
		h.Set(headerSignature, sig)
		return p.try(ctx, method, op, path, body, out, h)
	default:
		return -1, parseAPIError(op, s, raw)
	}
}

// retryAfter reads a Retry-After in seconds (dates are ignored), capped.
func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n <= 0 {
		return 0
	}
	return min(time.Duration(n)*time.Second, retryAfterMax)
}
