package wise

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payper/payper/internal/money"
)

// fakeKey is the webhook signing key of every Fake: generating a 2048-bit
// RSA key takes a noticeable time, and tests need only one.
var fakeKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("wise: fake: generate key: %v", err))
	}
	return k
})

// Fake is an in-memory Wise API for tests (an http.Handler, e.g. behind
// httptest.NewServer). It checks the bearer token and the profile id,
// validates request shapes the way this package's assumptions about Wise
// go (see the package doc), keeps quotes, recipients and transfers, answers
// a repeated customerTransactionId with the existing transfer, funds
// transfers from settable balances, and signs webhook deliveries. Beyond
// Wise's documented checks it refuses (422) a holder name without first and
// last name, as Wise does, and a reference over 35 characters. Safe for
// concurrent use.
type Fake struct {
	token     string
	profileID int64
	key       *rsa.PrivateKey
	mux       *http.ServeMux

	mu         sync.Mutex
	failN      int
	failStatus int
	balances   map[string]int64
	quotes     map[string]*fakeQuote
	accounts   map[int64]accountRequest
	transfers  []*FakeTransfer
	byCTID     map[string]*FakeTransfer
	nextID     int64
	requests   int
	scaPub     *rsa.PublicKey
	otts       map[string]bool // one-time tokens issued and not used yet
	challenges int
}

type fakeQuote struct {
	currency string
	micros   int64
	used     bool
}

// FakeTransfer is a transfer the Fake holds.
type FakeTransfer struct {
	ID                    int64
	CustomerTransactionID string
	QuoteUUID             string
	TargetAccount         int64
	Currency              string
	Micros                int64
	Reference             string
	Status                string // incoming_payment_waiting until funded, then processing, or what Webhook set
	Fundings              int    // successful funding calls
	Created               time.Time
}

// NewFake returns a Fake accepting token for profile profileID, with empty
// balances. It panics only if the system's random source fails.
func NewFake(token string, profileID int64) *Fake {
	f := &Fake{
		token:     token,
		profileID: profileID,
		key:       fakeKey(),
		balances:  map[string]int64{},
		quotes:    map[string]*fakeQuote{},
		accounts:  map[int64]accountRequest{},
		byCTID:    map[string]*FakeTransfer{},
		nextID:    50_000_000,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v3/profiles/{profile}/quotes", f.quote)
	mux.HandleFunc("POST /v1/accounts", f.account)
	mux.HandleFunc("POST /v1/transfers", f.transfer)
	mux.HandleFunc("GET /v1/transfers", f.listTransfers)
	mux.HandleFunc("POST /v3/profiles/{profile}/transfers/{id}/payments", f.payment)
	mux.HandleFunc("PUT /v1/transfers/{id}/cancel", f.cancel)
	f.mux = mux
	return f
}

// RequireSCA makes funding a transfer protected by strong customer
// authentication, as Wise does for UK and EEA profiles: a funding call
// without a valid signed one-time token answers 403 with headers
// x-2fa-approval (a fresh one-time token) and x-2fa-approval-result:
// REJECTED; the call made again with x-2fa-approval set to that token and
// X-Signature the base64 RSA SHA-256 signature of the token by the private
// key of publicKeyPEM (the key the operator uploaded) goes through, with
// x-2fa-approval-result: APPROVED. A token is good once. (Wise's "One Time
// Token" and "Personal Token SCA" pages:
// https://docs.wise.com/guides/developer/auth-and-security/one-time-token,
// https://docs.wise.com/api-docs/features/strong-customer-authentication-2fa/personal-token-sca;
// the funding sample in transferwise/wise-platform-samples,
// strong-customer-authentication/pages/api/fund-transfer/[transferId].ts.)
// It returns an error for a key that is not an RSA public key.
func (f *Fake) RequireSCA(publicKeyPEM string) error {
	k, err := parsePublicKey(publicKeyPEM)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scaPub, f.otts = k, map[string]bool{}
	return nil
}

// Challenges returns how many SCA challenges (403 with x-2fa-approval) the
// Fake has answered.
func (f *Fake) Challenges() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.challenges
}

// Quotes returns how many quotes the Fake has made.
func (f *Fake) Quotes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.quotes)
}

// Recipients returns how many recipient accounts the Fake has made.
func (f *Fake) Recipients() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.accounts)
}

// scaPassed reports whether r carries a one-time token the Fake issued and
// its valid signature (using the token up), else answers the challenge.
// f.mu is held.
func (f *Fake) scaPassed(w http.ResponseWriter, r *http.Request) bool {
	if f.scaPub == nil {
		return true
	}
	ott := r.Header.Get(headerApproval)
	if f.otts[ott] {
		sig, err := base64.StdEncoding.DecodeString(r.Header.Get(headerSignature))
		sum := sha256.Sum256([]byte(ott))
		if err == nil && rsa.VerifyPKCS1v15(f.scaPub, crypto.SHA256, sum[:], sig) == nil {
			delete(f.otts, ott)
			w.Header().Set(headerApprovalResult, "APPROVED")
			return true
		}
	}
	f.challenges++
	next := randomUUID()
	f.otts[next] = true
	w.Header().Set(headerApproval, next)
	w.Header().Set(headerApprovalResult, "REJECTED")
	writeJSON(w, http.StatusForbidden, map[string]any{"status": 403, "error": "Forbidden",
		"message": "You are forbidden to send this request", "path": r.URL.Path})
	return false
}

// PublicKeyPEM returns the PKIX PEM of the key Webhook signs with, for
// Config.WebhookPublicKeyPEM. It never fails.
func (f *Fake) PublicKeyPEM() string {
	der, err := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	if err != nil {
		panic(fmt.Sprintf("wise: fake: marshal key: %v", err))
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// SetBalance sets the profile's balance in currency, in micro-units.
func (f *Fake) SetBalance(currency string, micros int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.balances[currency] = micros
}

// Balance returns the profile's balance in currency, in micro-units (0 if
// never set).
func (f *Fake) Balance(currency string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.balances[currency]
}

// FailNext makes the next n authenticated requests fail with status (e.g.
// 429, 503, 422) before doing anything; 429 answers carry Retry-After: 1.
func (f *Fake) FailNext(n int, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failN, f.failStatus = n, status
}

// Requests returns how many authenticated requests the Fake has received.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Transfers returns copies of the transfers created, oldest first.
func (f *Fake) Transfers() []FakeTransfer {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FakeTransfer, len(f.transfers))
	for i, t := range f.transfers {
		out[i] = *t
	}
	return out
}

// Webhook sets transfer transferID (decimal) to state and returns a signed
// transfers#state-change delivery about it: the body (schema 2.0.0, the
// common base structure of Wise's event page) and the headers
// (X-Signature-SHA256, X-Delivery-Id, Content-Type; see Sign). An unknown
// transfer id still gives a delivery (with account_id 0).
func (f *Fake) Webhook(transferID, state string) (body []byte, header http.Header) {
	id, _ := strconv.ParseInt(transferID, 10, 64)
	f.mu.Lock()
	var account int64
	previous := ""
	for _, t := range f.transfers {
		if t.ID == id {
			previous, t.Status, account = t.Status, state, t.TargetAccount
		}
	}
	f.mu.Unlock()
	now := time.Now().UTC().Format("2006-01-02T15:04:05Z")
	var d webhookBody
	d.Data.Resource.ID = json.Number(strconv.FormatInt(id, 10))
	d.Data.Resource.ProfileID = f.profileID
	d.Data.Resource.AccountID = account
	d.Data.Resource.Type = "transfer"
	d.Data.CurrentState, d.Data.PreviousState, d.Data.OccurredAt = state, previous, now
	d.SubscriptionID = "01234567-89ab-cdef-0123-456789abcdef"
	d.EventType = EventTransferStateChange
	d.SchemaVersion = "2.0.0"
	d.SentAt = now
	body, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("wise: fake: encode webhook: %v", err))
	}
	return body, f.Sign(body)
}

// Sign returns the headers of a delivery of body signed with the Fake's key
// (X-Signature-SHA256, a fresh X-Delivery-Id, Content-Type), as Wise signs
// its webhook deliveries: "Signatures are generated using an RSA key and
// SHA256 digest of the message body. They are transmitted using the
// X-Signature-SHA256 request header and are Base64 encoded", and "each
// outgoing notification is assigned a unique delivery UUID" in
// X-Delivery-Id (https://docs.wise.com/api-docs/features/webhooks-notifications/event-handling,
// whose reference verifiers are in
// github.com/transferwise/digital-signatures-examples, verify-webhook-signature).
// The padding, RSA PKCS #1 v1.5, is what those verifiers' SHA256withRSA
// means (Java's Signature.getInstance("SHA256WithRSA") in
// verify-signature.java; TestWiseSignedSample checks ParseWebhook against
// that file's signed sample); the page itself does not name it. It panics only if signing
// fails, which a valid key does not.
func (f *Fake) Sign(body []byte) http.Header {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("wise: fake: sign webhook: %v", err))
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	h.Set(HeaderDelivery, randomUUID())
	return h
}

// ServeHTTP answers Wise API requests.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{
			"error": "invalid_token", "error_description": "Invalid token"})
		return
	}
	f.mu.Lock()
	f.requests++
	fail, status := f.failN > 0, f.failStatus
	if fail {
		f.failN--
	}
	f.mu.Unlock()
	if fail {
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeErrors(w, status, Problem{Code: "fake.injected", Message: fmt.Sprintf("injected failure %d", status)})
		return
	}
	f.mux.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErrors(w http.ResponseWriter, status int, ps ...Problem) {
	for i := range ps {
		if ps[i].Arguments == nil {
			ps[i].Arguments = []any{}
		}
	}
	writeJSON(w, status, map[string]any{"errors": ps})
}

// decode reads the body strictly into v, answering 400 on failure.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		writeErrors(w, http.StatusBadRequest, Problem{Code: "BAD_REQUEST", Message: err.Error()})
		return false
	}
	return true
}

func (f *Fake) profileOK(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("profile") != strconv.FormatInt(f.profileID, 10) {
		writeJSON(w, http.StatusForbidden, map[string]any{"status": 403, "error": "unauthorized", "message": "Unauthorized"})
		return false
	}
	return true
}

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	amountRE   = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)
	uuidRE     = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// quote creates a quote (POST /v3/profiles/{profileId}/quotes,
// https://docs.wise.com/api-reference/quote#create): ISO 4217 currencies
// and a positive sourceAmount, answered with the quote's id (a UUID) that a
// transfer then names as quoteUuid.
func (f *Fake) quote(w http.ResponseWriter, r *http.Request) {
	if !f.profileOK(w, r) {
		return
	}
	var q quoteRequest
	if !decode(w, r, &q) {
		return
	}
	var ps []Problem
	for _, c := range []struct{ path, v string }{{"sourceCurrency", q.SourceCurrency}, {"targetCurrency", q.TargetCurrency}} {
		if !currencyRE.MatchString(c.v) {
			ps = append(ps, Problem{Code: "CurrencyCode", Path: c.path,
				Message: "That wasn't a valid ISO-4217 currency code (like GBP, USD or EUR)."})
		}
	}
	micros, err := money.ParseMicros(q.SourceAmount.String())
	switch {
	case !amountRE.MatchString(q.SourceAmount.String()) || err != nil:
		ps = append(ps, Problem{Code: "ERROR", Path: "sourceAmount", Message: "sourceAmount must be a number with at most 2 decimals"})
	case micros <= 0:
		ps = append(ps, Problem{Code: "error.greaterThanZero", Path: "sourceAmount", Message: "Please type in a number that's larger than 0."})
	}
	if len(ps) > 0 {
		writeErrors(w, http.StatusBadRequest, ps...)
		return
	}
	id := randomUUID()
	f.mu.Lock()
	f.quotes[id] = &fakeQuote{currency: q.SourceCurrency, micros: micros}
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "sourceCurrency": q.SourceCurrency, "targetCurrency": q.TargetCurrency,
		"sourceAmount": q.SourceAmount, "rate": 1, "status": "PENDING", "profile": f.profileID,
	})
}

// account creates a recipient account (POST /v1/accounts,
// https://docs.wise.com/api-reference/legacy/recipient/recipientcreate):
// the profile must be the caller's; the details each type needs (sort_code,
// iban, aba) are checked and refused with 422 and the field's path.
func (f *Fake) account(w http.ResponseWriter, r *http.Request) {
	var a accountRequest
	if !decode(w, r, &a) {
		return
	}
	if a.Profile != f.profileID {
		writeJSON(w, http.StatusForbidden, map[string]any{"status": 403, "error": "unauthorized", "message": "Unauthorized"})
		return
	}
	var ps []Problem
	if names := strings.Fields(a.AccountHolderName); len(names) < 2 {
		ps = append(ps, Problem{Code: "NOT_VALID", Path: "accountHolderName",
			Message: "Please enter the recipients first and last name.", Arguments: []any{"accountHolderName", a.AccountHolderName}})
	}
	if a.Details.LegalType != "PRIVATE" && a.Details.LegalType != "BUSINESS" {
		ps = append(ps, Problem{Code: "NOT_VALID", Path: "legalType", Message: "Please choose PRIVATE or BUSINESS."})
	}
	switch {
	case a.Type == "sort_code" && a.Currency == "GBP":
		if len(a.Details.SortCode) != 6 || !allDigits(a.Details.SortCode) {
			ps = append(ps, Problem{Code: "NOT_VALID", Path: "sortCode", Message: "Please specify a valid sort code."})
		}
		if len(a.Details.AccountNumber) != 8 || !allDigits(a.Details.AccountNumber) {
			ps = append(ps, Problem{Code: "NOT_VALID", Path: "accountNumber", Message: "Please specify a valid account number."})
		}
	case a.Type == "iban" && ibanCurrencies[a.Currency]:
		if checkIBAN(a.Details.IBAN) != nil || a.Details.IBAN != normalizeIBAN(a.Details.IBAN) {
			ps = append(ps, Problem{Code: "NOT_VALID", Path: "IBAN", Message: "Please specify an IBAN."})
		}
	case a.Type == "aba" && a.Currency == "USD":
		if checkABA(a.Details.ABARTN) != nil {
			ps = append(ps, Problem{Code: "NOT_VALID", Path: "abartn", Message: "Please specify a valid ACH routing number."})
		}
		if !allDigits(a.Details.AccountNumber) {
			ps = append(ps, Problem{Code: "NOT_VALID", Path: "accountNumber", Message: "Please specify an account number."})
		}
		if a.Details.AccountType != "CHECKING" && a.Details.AccountType != "SAVINGS" {
			ps = append(ps, Problem{Code: "NOT_VALID", Path: "accountType", Message: "Please choose CHECKING or SAVINGS."})
		}
		if ad := a.Details.Address; ad == nil || ad.Country == "" || ad.City == "" || ad.PostCode == "" || ad.FirstLine == "" {
			ps = append(ps, Problem{Code: "NOT_VALID", Path: "address", Message: "Please specify the recipient's address."})
		}
	default:
		ps = append(ps, Problem{Code: "NOT_VALID", Path: "type", Message: fmt.Sprintf("type %q is not supported for %q", a.Type, a.Currency)})
	}
	if len(ps) > 0 {
		writeErrors(w, http.StatusUnprocessableEntity, ps...)
		return
	}
	f.mu.Lock()
	f.nextID++
	id := f.nextID
	f.accounts[id] = a
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"id": id, "profile": a.Profile, "currency": a.Currency, "type": a.Type,
		"accountHolderName": a.AccountHolderName, "details": a.Details, "active": true,
	})
}

// transfer creates a transfer (POST /v1/transfers,
// https://docs.wise.com/api-reference/transfer#create) from a quote and a
// recipient, in state incoming_payment_waiting until funded. The
// customerTransactionId is the transfer's idempotency key: a repeated one
// answers the transfer it made, never a second one
// (https://docs.wise.com/guides/developer/errors/transfers).
func (f *Fake) transfer(w http.ResponseWriter, r *http.Request) {
	var in transferRequest
	if !decode(w, r, &in) {
		return
	}
	if !uuidRE.MatchString(in.CustomerTransactionID) {
		writeErrors(w, http.StatusUnprocessableEntity, Problem{Code: "NOT_VALID", Path: "customerTransactionId",
			Message: "customerTransactionId must be a UUID"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.byCTID[in.CustomerTransactionID]; ok {
		writeJSON(w, http.StatusOK, transferJSON(t))
		return
	}
	q, qok := f.quotes[in.QuoteUUID]
	a, aok := f.accounts[in.TargetAccount]
	var ps []Problem
	switch {
	case !qok:
		ps = append(ps, Problem{Code: "NOT_VALID", Path: "quoteUuid", Message: "Quote not found"})
	case q.used:
		ps = append(ps, Problem{Code: "NOT_VALID", Path: "quoteUuid", Message: "Quote has already been used"})
	}
	if !aok {
		ps = append(ps, Problem{Code: "NOT_VALID", Path: "targetAccount", Message: "Recipient not found"})
	} else if qok && a.Currency != q.currency {
		ps = append(ps, Problem{Code: "NOT_VALID", Path: "targetAccount", Message: "Recipient currency does not match the quote"})
	}
	if len([]rune(in.Details.Reference)) > 35 {
		ps = append(ps, Problem{Code: "NOT_VALID", Path: "reference", Message: "Reference must be at most 35 characters."})
	}
	if len(ps) > 0 {
		writeErrors(w, http.StatusUnprocessableEntity, ps...)
		return
	}
	q.used = true
	f.nextID++
	t := &FakeTransfer{
		ID: f.nextID, CustomerTransactionID: in.CustomerTransactionID, QuoteUUID: in.QuoteUUID,
		TargetAccount: in.TargetAccount, Currency: q.currency, Micros: q.micros,
		Reference: in.Details.Reference, Status: stateWaiting, Created: time.Now().UTC(),
	}
	f.transfers = append(f.transfers, t)
	f.byCTID[t.CustomerTransactionID] = t
	writeJSON(w, http.StatusOK, transferJSON(t))
}

// listTransfers lists the profile's transfers (GET /v1/transfers, in the
// transfer resource's endpoints at
// https://docs.wise.com/api-docs/api-reference/transfer), oldest first, as
// a JSON array of transfer objects: profile is required (403 for another
// profile's), createdDateStart (ISO 8601) keeps those created since,
// limit (1..1000, default 100) and offset page through them. Wise's page
// does not spell these query parameters out in the text payper has; they
// are the ones Wise's API clients send (e.g. n8n's Wise node).
func (f *Fake) listTransfers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("profile") != strconv.FormatInt(f.profileID, 10) {
		writeJSON(w, http.StatusForbidden, map[string]any{"status": 403, "error": "unauthorized", "message": "Unauthorized"})
		return
	}
	var since time.Time
	if v := q.Get("createdDateStart"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeErrors(w, http.StatusBadRequest, Problem{Code: "NOT_VALID", Path: "createdDateStart", Message: "createdDateStart must be an ISO 8601 date-time"})
			return
		}
		since = t
	}
	limit, offset := 100, 0
	for _, p := range []struct {
		name     string
		v        *int
		min, max int
	}{{"limit", &limit, 1, 1000}, {"offset", &offset, 0, 1 << 30}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < p.min || n > p.max {
				writeErrors(w, http.StatusBadRequest, Problem{Code: "NOT_VALID", Path: p.name, Message: p.name + " is out of range"})
				return
			}
			*p.v = n
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []any{}
	for _, t := range f.transfers {
		if !since.IsZero() && t.Created.Before(since) {
			continue
		}
		if offset > 0 {
			offset--
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, transferJSON(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func transferJSON(t *FakeTransfer) map[string]any {
	v := json.Number(money.FormatMicros(t.Micros))
	return map[string]any{
		"id": t.ID, "targetAccount": t.TargetAccount, "quoteUuid": t.QuoteUUID,
		"customerTransactionId": t.CustomerTransactionID, "status": t.Status,
		"reference": t.Reference, "rate": 1,
		"sourceCurrency": t.Currency, "sourceValue": v, "targetCurrency": t.Currency, "targetValue": v,
	}
}

// payment funds a transfer from the balance (POST
// /v3/profiles/{profileId}/transfers/{transferId}/payments with type
// BALANCE, https://docs.wise.com/guides/product/send-money/funding/fund-from-balance),
// behind SCA when RequireSCA was called (scaPassed). As Wise documents
// (https://docs.wise.com/guides/developer/errors/funding), a refused
// funding can be a 200 answer: status REJECTED with errorCode
// transfer.insufficient_funds when the balance is short; a funded
// transfer answers status COMPLETED with errorCode null.
func (f *Fake) payment(w http.ResponseWriter, r *http.Request) {
	if !f.profileOK(w, r) {
		return
	}
	var in paymentRequest
	if !decode(w, r, &in) {
		return
	}
	if in.Type != "BALANCE" {
		writeErrors(w, http.StatusUnprocessableEntity, Problem{Code: "balance.payment-option-unavailable", Path: "type",
			Message: "Only BALANCE is supported"})
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.transfers, func(t *FakeTransfer) bool { return t.ID == id })
	if i < 0 {
		writeErrors(w, http.StatusNotFound, Problem{Code: "transfer.not-found", Message: "Transfer not found"})
		return
	}
	t := f.transfers[i]
	if !f.scaPassed(w, r) {
		return
	}
	if t.Status != stateWaiting {
		writeErrors(w, http.StatusUnprocessableEntity, Problem{Code: codeInvalidState,
			Message: fmt.Sprintf("Transfer is in state %s and cannot be funded", t.Status)})
		return
	}
	if f.balances[t.Currency] < t.Micros {
		writeJSON(w, http.StatusOK, map[string]any{"type": "BALANCE", "status": "REJECTED", "errorCode": codeInsufficientFunds})
		return
	}
	f.balances[t.Currency] -= t.Micros
	t.Status = "processing"
	t.Fundings++
	writeJSON(w, http.StatusOK, map[string]any{"type": "BALANCE", "status": "COMPLETED", "errorCode": nil})
}

// cancel cancels a transfer not funded yet (incoming_payment_waiting) and
// answers it; any other state is 409 transfer.cancellation.not.allowed
// (https://docs.wise.com/api-reference/transfer/transfercancel).
func (f *Fake) cancel(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.transfers, func(t *FakeTransfer) bool { return t.ID == id })
	if i < 0 {
		writeErrors(w, http.StatusNotFound, Problem{Code: "transfer.not-found", Message: "Transfer not found"})
		return
	}
	t := f.transfers[i]
	if t.Status != stateWaiting {
		writeErrors(w, http.StatusConflict, Problem{Code: "transfer.cancellation.not.allowed",
			Message: fmt.Sprintf("Transfer in state %s cannot be cancelled", t.Status)})
		return
	}
	t.Status = stateCancelled
	writeJSON(w, http.StatusOK, transferJSON(t))
}

func randomUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(fmt.Sprintf("wise: fake: random: %v", err))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return formatUUID(u)
}
