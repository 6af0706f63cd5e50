package stripe

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fake is an in-memory Stripe Connect API for tests (an http.Handler, e.g.
// behind httptest.NewServer), built from Stripe's API reference rather than
// from this package's client. It serves what the Provider calls:
//
//   - GET /v1/account: the platform's own account, with its country.
//   - POST /v1/accounts: Express accounts only; tos_acceptance[service_agreement]
//     full (Stripe's default) or recipient, and a recipient account may not
//     ask for card_payments ("Accounts under this agreement can't process
//     payments or request the card_payments capability",
//     https://docs.stripe.com/connect/service-agreement-types). A new
//     account's transfers capability is inactive until CompleteOnboarding.
//   - GET /v1/accounts/{id}: an account made here (404 resource_missing
//     otherwise, https://docs.stripe.com/api/accounts/retrieve).
//   - POST /v1/account_links: account_onboarding links for a known account
//     (https://docs.stripe.com/api/account_links/create).
//   - POST /v1/transfers: refused (400 invalid_request_error, param
//     destination) to an unknown account, to one whose transfers capability
//     is not active, and — the cross-border rule — to an account under the
//     full service agreement outside the platform's region: "You can't make
//     cross-border payouts to connected accounts under a full service
//     agreement" (https://docs.stripe.com/connect/cross-border-payouts,
//     Limitations; "In most scenarios, your platform and any connected
//     account must be in the same region. Attempting to transfer funds across
//     a disallowed border returns an error",
//     https://docs.stripe.com/connect/separate-charges-and-transfers). The
//     Fake's regions are Europe (the EEA, the United Kingdom and
//     Switzerland) and every other country on its own; Stripe's exact wording
//     of the refusal is not published, the Fake's is its own. With a balance
//     set (SetBalance) a transfer beyond it is refused as
//     balance_insufficient.
//   - GET /v1/transfers?transfer_group=…: the transfers of a group, newest
//     first (https://docs.stripe.com/api/transfers/list).
//
// It checks the bearer key (401 otherwise) and replays a POST's answer for
// a repeated Idempotency-Key with the same parameters, refusing one with
// other parameters (400 idempotency_error,
// https://docs.stripe.com/api/idempotent_requests). Errors have Stripe's
// shape ({"error":{"type","code","message","param"}},
// https://docs.stripe.com/api/errors). Its events (Reverse,
// CompleteOnboarding, Restrict, PayoutFailed) are signed as Stripe signs
// webhook deliveries. Safe for concurrent use.
type Fake struct {
	key, webhookSecret, platformCountry string
	clock                               func() time.Time

	mu         sync.Mutex
	accounts   map[string]*FakeAccount
	transfers  []*FakeTransfer
	balances   map[string]int64 // lower-case currency → cents; absent: unlimited
	idem       map[string]fakeReplay
	nextID     int
	failN      int
	failStatus int
	requests   int
}

// FakeAccount is a connected account the Fake holds.
type FakeAccount struct {
	ID, Country, Email string
	// ServiceAgreement is "full" or "recipient".
	ServiceAgreement string
	// Capabilities maps each requested capability to its status
	// (inactive, active).
	Capabilities     map[string]string
	Metadata         map[string]string
	DetailsSubmitted bool
	PayoutsEnabled   bool
	DisabledReason   string
	CurrentlyDue     []string
}

// FakeTransfer is a transfer the Fake holds; amounts are in cents.
type FakeTransfer struct {
	ID, Destination, Currency  string
	Amount, AmountReversed     int64
	TransferGroup, Description string
	IdempotencyKey             string
	Metadata                   map[string]string
	Reversals                  []FakeReversal // oldest first
	Created                    int64
}

// FakeReversal is one reversal of a FakeTransfer.
type FakeReversal struct {
	ID      string
	Amount  int64
	Created int64
}

type fakeReplay struct {
	request string // method, path and sorted form
	status  int
	body    []byte
}

// NewFake returns a Fake accepting the API key key, signing events with
// webhookSecret at the time clock tells (time.Now when nil), for a platform
// in platformCountry (ISO 3166-1 alpha-2, e.g. "DE"). It cannot fail.
func NewFake(key, webhookSecret, platformCountry string, clock func() time.Time) *Fake {
	if clock == nil {
		clock = time.Now
	}
	return &Fake{
		key: key, webhookSecret: webhookSecret, platformCountry: strings.ToUpper(platformCountry), clock: clock,
		accounts: map[string]*FakeAccount{},
		balances: map[string]int64{},
		idem:     map[string]fakeReplay{},
	}
}

// europe is the Fake's one multi-country region: the EEA, the United
// Kingdom and Switzerland.
var europe = map[string]bool{
	"AT": true, "BE": true, "BG": true, "HR": true, "CY": true, "CZ": true, "DK": true, "EE": true, "FI": true,
	"FR": true, "DE": true, "GR": true, "HU": true, "IS": true, "IE": true, "IT": true, "LV": true, "LI": true,
	"LT": true, "LU": true, "MT": true, "NL": true, "NO": true, "PL": true, "PT": true, "RO": true, "SK": true,
	"SI": true, "ES": true, "SE": true, "GB": true, "CH": true,
}

// fakeCountries are the countries the Fake makes connected accounts in:
// Europe and the other countries of Stripe's cross-border payouts
// availability list (US, CA) plus a few Connect countries.
var fakeCountries = func() map[string]bool {
	m := map[string]bool{"US": true, "CA": true, "AU": true, "NZ": true, "SG": true, "HK": true, "JP": true, "MX": true}
	for c := range europe {
		m[c] = true
	}
	return m
}()

func region(country string) string {
	if europe[country] {
		return "europe"
	}
	return country
}

// SetBalance sets the platform's available balance in currency (lower or
// upper case) to cents; transfers beyond it are refused. Without it a
// currency's balance is unlimited.
func (f *Fake) SetBalance(currency string, cents int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.balances[strings.ToLower(currency)] = cents
}

// FailNext makes the next n requests answer status (429 or 5xx) with a
// Stripe error body, doing nothing.
func (f *Fake) FailNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failN, f.failStatus = n, status
}

// Requests returns how many requests the Fake received.
func (f *Fake) Requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Account returns a copy of the account id, and whether it exists.
func (f *Fake) Account(id string) (FakeAccount, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[id]
	if !ok {
		return FakeAccount{}, false
	}
	return cloneAccount(a), true
}

// Accounts returns copies of every account, in creation order.
func (f *Fake) Accounts() []FakeAccount {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FakeAccount, 0, len(f.accounts))
	for _, a := range f.accounts {
		out = append(out, cloneAccount(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Transfers returns copies of every transfer, in creation order.
func (f *Fake) Transfers() []FakeTransfer {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FakeTransfer, len(f.transfers))
	for i, t := range f.transfers {
		out[i] = *t
		out[i].Metadata = clone(t.Metadata)
		out[i].Reversals = slices.Clone(t.Reversals)
	}
	return out
}

func cloneAccount(a *FakeAccount) FakeAccount {
	c := *a
	c.Capabilities = clone(a.Capabilities)
	c.Metadata = clone(a.Metadata)
	c.CurrentlyDue = slices.Clone(a.CurrentlyDue)
	return c
}

func clone(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (f *Fake) newID(prefix string) string {
	f.nextID++
	return fmt.Sprintf("%s1Fake%08d", prefix, f.nextID)
}

// ServeHTTP answers a Stripe API request.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", fmt.Sprintf("req_fake%d", f.requests))
	if f.failN > 0 {
		f.failN--
		typ := "api_error"
		if f.failStatus == http.StatusTooManyRequests {
			typ = "invalid_request_error"
		}
		fakeError(w, f.failStatus, typ, "", "the fake was told to fail", "")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		fakeError(w, http.StatusUnauthorized, "invalid_request_error", "", "Invalid API Key provided", "")
		return
	}
	if err := r.ParseForm(); err != nil {
		fakeError(w, http.StatusBadRequest, "invalid_request_error", "", "unreadable form: "+err.Error(), "")
		return
	}
	var form url.Values
	if r.Method == http.MethodPost {
		form = r.PostForm
	} else {
		form = r.URL.Query()
	}
	key := r.Header.Get("Idempotency-Key")
	request := r.Method + " " + r.URL.Path + "?" + form.Encode() // Encode sorts by key
	if r.Method == http.MethodPost && key != "" {
		if prev, ok := f.idem[key]; ok {
			if prev.request != request {
				fakeError(w, http.StatusBadRequest, "idempotency_error", "",
					"Keys for idempotent requests can only be used with the same parameters they were first used with.", "")
				return
			}
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.status)
			w.Write(prev.body)
			return
		}
	}
	rec := &recorder{header: w.Header(), status: http.StatusOK}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/v1/account":
		rec.json(http.StatusOK, map[string]any{"id": "acct_1FakePlatform", "object": "account", "country": f.platformCountry,
			"type": "standard", "charges_enabled": true, "payouts_enabled": true, "details_submitted": true})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/accounts/"):
		id := strings.TrimPrefix(r.URL.Path, "/v1/accounts/")
		if a, ok := f.accounts[id]; ok {
			rec.json(http.StatusOK, accountJSON(a))
		} else {
			fakeError(rec, http.StatusNotFound, "invalid_request_error", "resource_missing", "No such account: '"+id+"'", "account")
		}
	case r.Method == http.MethodPost && r.URL.Path == "/v1/accounts":
		f.createAccount(rec, form)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/account_links":
		f.createLink(rec, form)
	case r.Method == http.MethodPost && r.URL.Path == "/v1/transfers":
		f.createTransfer(rec, form, key)
	case r.Method == http.MethodGet && r.URL.Path == "/v1/transfers":
		f.listTransfers(rec, form)
	default:
		fakeError(rec, http.StatusNotFound, "invalid_request_error", "", "Unrecognized request URL ("+r.Method+": "+r.URL.Path+")", "")
	}
	// Stripe saves the answer to a key unless the request failed its
	// parameter validation or hit a concurrent request; the Fake saves
	// every answer but 5xx and 429.
	if r.Method == http.MethodPost && key != "" && rec.status < 500 && rec.status != http.StatusTooManyRequests {
		f.idem[key] = fakeReplay{request: request, status: rec.status, body: rec.body}
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body)
}

// recorder keeps an answer so it can be replayed for its idempotency key.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(status int)      { r.status = status }
func (r *recorder) Write(b []byte) (int, error) { r.body = append(r.body, b...); return len(b), nil }

func (r *recorder) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("stripe: fake: marshal: %v", err))
	}
	r.WriteHeader(status)
	r.Write(b)
}

// fakeError answers a Stripe error object.
func fakeError(w http.ResponseWriter, status int, typ, code, msg, param string) {
	e := map[string]string{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
	}
	if param != "" {
		e["param"] = param
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	w.WriteHeader(status)
	w.Write(b)
}

func invalid(w http.ResponseWriter, code, param, format string, args ...any) {
	fakeError(w, http.StatusBadRequest, "invalid_request_error", code, fmt.Sprintf(format, args...), param)
}

// nested returns the keys of form "prefix[key]…" as key → value of the
// rest (e.g. metadata[payout_id]).
func nested(form url.Values, prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range form {
		if rest, ok := strings.CutPrefix(k, prefix+"["); ok {
			if name, ok := strings.CutSuffix(rest, "]"); ok && !strings.Contains(name, "[") {
				out[name] = v[0]
			}
		}
	}
	return out
}

func (f *Fake) createAccount(w *recorder, form url.Values) {
	if t := form.Get("type"); t != "express" {
		invalid(w, "", "type", "The Fake makes Express accounts only, not %q.", t)
		return
	}
	country := form.Get("country")
	if !fakeCountries[country] {
		invalid(w, "", "country", "Connected accounts cannot be created in country %q.", country)
		return
	}
	agreement := form.Get("tos_acceptance[service_agreement]")
	switch agreement {
	case "":
		agreement = "full" // Stripe's default
	case "full", "recipient":
	default:
		invalid(w, "", "tos_acceptance[service_agreement]", "Invalid service agreement %q: must be full or recipient.", agreement)
		return
	}
	caps := map[string]string{}
	for k, v := range form {
		rest, ok := strings.CutPrefix(k, "capabilities[")
		if !ok {
			continue
		}
		name, ok := strings.CutSuffix(rest, "][requested]")
		if !ok {
			invalid(w, "", k, "Unknown capability parameter %s.", k)
			return
		}
		if v[0] == "true" {
			caps[name] = "inactive"
		}
	}
	if _, ok := caps["card_payments"]; ok && agreement == "recipient" {
		invalid(w, "", "capabilities[card_payments]",
			"Accounts under the recipient service agreement cannot request the card_payments capability.")
		return
	}
	a := &FakeAccount{
		ID: f.newID("acct_"), Country: country, Email: form.Get("email"), ServiceAgreement: agreement,
		Capabilities: caps, Metadata: nested(form, "metadata"),
		CurrentlyDue: []string{"external_account", "individual.first_name", "individual.last_name", "tos_acceptance.date", "tos_acceptance.ip"},
	}
	f.accounts[a.ID] = a
	w.json(http.StatusOK, accountJSON(a))
}

// accountJSON is a in Stripe's account object shape
// (https://docs.stripe.com/api/accounts/object), the fields payper reads.
func accountJSON(a *FakeAccount) map[string]any {
	var disabled any
	if a.DisabledReason != "" {
		disabled = a.DisabledReason
	}
	return map[string]any{
		"id": a.ID, "object": "account", "type": "express", "country": a.Country, "email": a.Email,
		"capabilities": a.Capabilities, "metadata": a.Metadata,
		"details_submitted": a.DetailsSubmitted, "payouts_enabled": a.PayoutsEnabled, "charges_enabled": false,
		"requirements": map[string]any{
			"currently_due": a.CurrentlyDue, "eventually_due": a.CurrentlyDue, "past_due": []string{},
			"pending_verification": []string{}, "disabled_reason": disabled, "errors": []any{},
		},
		"tos_acceptance": map[string]any{"service_agreement": a.ServiceAgreement},
	}
}

func (f *Fake) createLink(w *recorder, form url.Values) {
	acct := form.Get("account")
	if _, ok := f.accounts[acct]; !ok {
		invalid(w, "resource_missing", "account", "No such account: '%s'", acct)
		return
	}
	if t := form.Get("type"); t != "account_onboarding" && t != "account_update" {
		invalid(w, "", "type", "Invalid type %q.", t)
		return
	}
	for _, p := range []string{"refresh_url", "return_url"} {
		if u, err := url.Parse(form.Get(p)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			invalid(w, "url_invalid", p, "Not a valid URL")
			return
		}
	}
	now := f.clock().Unix()
	w.json(http.StatusOK, map[string]any{"object": "account_link", "created": now, "expires_at": now + 300,
		"url": "https://connect.stripe.com/setup/e/" + acct + "/" + strconv.Itoa(f.nextID)})
}

func (f *Fake) createTransfer(w *recorder, form url.Values, key string) {
	amount, err := strconv.ParseInt(form.Get("amount"), 10, 64)
	if err != nil || amount <= 0 {
		invalid(w, "", "amount", "Invalid positive integer")
		return
	}
	currency := form.Get("currency")
	if len(currency) != 3 || strings.ToLower(currency) != currency {
		invalid(w, "", "currency", "Invalid currency: %s.", currency)
		return
	}
	dest := form.Get("destination")
	a, ok := f.accounts[dest]
	if !ok {
		invalid(w, "resource_missing", "destination", "No such destination: '%s'", dest)
		return
	}
	if a.Capabilities["transfers"] != "active" {
		invalid(w, "", "destination",
			"Your destination account needs to have at least one of the following capabilities enabled: transfers, legacy_payments")
		return
	}
	if a.ServiceAgreement == "full" && region(a.Country) != region(f.platformCountry) {
		invalid(w, "", "destination",
			"Funds can't be sent to account %s in %s: a platform in %s makes cross-border transfers only to accounts under the recipient service agreement, and %s is under the full service agreement.",
			a.ID, a.Country, f.platformCountry, a.ID)
		return
	}
	if bal, ok := f.balances[currency]; ok {
		if bal < amount {
			invalid(w, "balance_insufficient", "", "You have insufficient available funds in your Stripe account.")
			return
		}
		f.balances[currency] = bal - amount
	}
	t := &FakeTransfer{
		ID: f.newID("tr_"), Destination: dest, Currency: currency, Amount: amount,
		TransferGroup: form.Get("transfer_group"), Description: form.Get("description"),
		IdempotencyKey: key, Metadata: nested(form, "metadata"), Created: f.clock().Unix(),
	}
	f.transfers = append(f.transfers, t)
	w.json(http.StatusOK, transferJSON(t))
}

func (f *Fake) listTransfers(w *recorder, q url.Values) {
	limit := 10
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			invalid(w, "", "limit", "Invalid integer: %s", l)
			return
		}
		limit = n
	}
	group := q.Get("transfer_group")
	var data []any
	for i := len(f.transfers) - 1; i >= 0; i-- {
		t := f.transfers[i]
		if group != "" && t.TransferGroup != group {
			continue
		}
		data = append(data, transferJSON(t))
	}
	more := len(data) > limit
	if more {
		data = data[:limit]
	}
	if data == nil {
		data = []any{}
	}
	w.json(http.StatusOK, map[string]any{"object": "list", "url": "/v1/transfers", "has_more": more, "data": data})
}

// transferJSON is t in Stripe's transfer object shape
// (https://docs.stripe.com/api/transfers/object); its reversals list is
// newest first, as Stripe lists
// (https://docs.stripe.com/api/transfer_reversals/list).
func transferJSON(t *FakeTransfer) map[string]any {
	revs := make([]any, 0, len(t.Reversals))
	for i := len(t.Reversals) - 1; i >= 0; i-- {
		r := t.Reversals[i]
		revs = append(revs, map[string]any{"id": r.ID, "object": "transfer_reversal", "amount": r.Amount,
			"currency": t.Currency, "created": r.Created, "metadata": map[string]string{}, "transfer": t.ID})
	}
	return map[string]any{
		"id": t.ID, "object": "transfer", "amount": t.Amount, "amount_reversed": t.AmountReversed,
		"currency": t.Currency, "destination": t.Destination, "transfer_group": t.TransferGroup,
		"description": t.Description, "metadata": t.Metadata, "reversed": t.AmountReversed >= t.Amount,
		"created": t.Created, "livemode": false,
		"reversals": map[string]any{"object": "list", "data": revs, "has_more": false, "total_count": len(revs),
			"url": "/v1/transfers/" + t.ID + "/reversals"},
	}
}

// event returns a signed delivery of an event of type typ about obj; a
// Connect event (about a connected account's own objects) names account.
func (f *Fake) event(typ, account string, obj map[string]any) ([]byte, http.Header) {
	ev := map[string]any{
		"id": f.newID("evt_"), "object": "event", "api_version": stripeAPIVersion, "created": f.clock().Unix(),
		"livemode": false, "pending_webhooks": 1, "type": typ,
		"request": map[string]any{"id": nil, "idempotency_key": nil},
		"data":    map[string]any{"object": obj},
	}
	if account != "" {
		ev["account"] = account
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("stripe: fake: marshal event: %v", err))
	}
	h := http.Header{}
	h.Set("Stripe-Signature", SignForTest(f.webhookSecret, f.clock(), b))
	return b, h
}

// Reverse reverses cents of transfer id (0: all that is left), as the
// platform does with POST /v1/transfers/{id}/reversals, and returns the
// signed transfer.reversed delivery Stripe then sends ("Occurs whenever a
// transfer is reversed, including partial reversals",
// https://docs.stripe.com/api/events/types#event_types-transfer.reversed):
// its object is the transfer after the reversal. It fails for an unknown
// transfer or more than is left.
func (f *Fake) Reverse(id string, cents int64) ([]byte, http.Header, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.transfers, func(t *FakeTransfer) bool { return t.ID == id })
	if i < 0 {
		return nil, nil, fmt.Errorf("stripe: fake: no transfer %s", id)
	}
	t := f.transfers[i]
	left := t.Amount - t.AmountReversed
	if cents == 0 {
		cents = left
	}
	if cents <= 0 || cents > left {
		return nil, nil, fmt.Errorf("stripe: fake: cannot reverse %d of transfer %s, %d left", cents, id, left)
	}
	t.Reversals = append(t.Reversals, FakeReversal{ID: f.newID("trr_"), Amount: cents, Created: f.clock().Unix()})
	t.AmountReversed += cents
	if _, ok := f.balances[t.Currency]; ok {
		f.balances[t.Currency] += cents
	}
	b, h := f.event(eventTransferReversed, "", transferJSON(t))
	return b, h, nil
}

// CompleteOnboarding marks account id as onboarded (details submitted,
// payouts enabled, its requested capabilities active, nothing due) and
// returns the signed account.updated delivery Stripe sends to a Connect
// endpoint (https://docs.stripe.com/connect/webhooks: an event about a
// connected account carries its id in account). It fails for an unknown
// account.
func (f *Fake) CompleteOnboarding(id string) ([]byte, http.Header, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[id]
	if !ok {
		return nil, nil, fmt.Errorf("stripe: fake: no account %s", id)
	}
	a.DetailsSubmitted, a.PayoutsEnabled, a.DisabledReason, a.CurrentlyDue = true, true, "", nil
	for c := range a.Capabilities {
		a.Capabilities[c] = "active"
	}
	b, h := f.event(eventAccountUpdated, a.ID, accountJSON(a))
	return b, h, nil
}

// Restrict disables account id for reason (a requirements.disabled_reason
// such as "requirements.past_due"), with due still to provide: payouts and
// transfers stop. It returns the signed account.updated delivery, and fails
// for an unknown account.
func (f *Fake) Restrict(id, reason string, due ...string) ([]byte, http.Header, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.accounts[id]
	if !ok {
		return nil, nil, fmt.Errorf("stripe: fake: no account %s", id)
	}
	a.PayoutsEnabled, a.DisabledReason, a.CurrentlyDue = false, reason, due
	for c := range a.Capabilities {
		a.Capabilities[c] = "inactive"
	}
	b, h := f.event(eventAccountUpdated, a.ID, accountJSON(a))
	return b, h, nil
}

// PayoutFailed returns the signed payout.failed delivery of a payout of
// cents in currency from account id's balance to its bank that the bank
// refused with code and message (https://docs.stripe.com/api/payouts/object,
// failure_code and failure_message). It fails for an unknown account.
func (f *Fake) PayoutFailed(id string, cents int64, currency, code, message string) ([]byte, http.Header, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.accounts[id]; !ok {
		return nil, nil, fmt.Errorf("stripe: fake: no account %s", id)
	}
	now := f.clock().Unix()
	b, h := f.event(eventPayoutFailed, id, map[string]any{
		"id": f.newID("po_"), "object": "payout", "amount": cents, "currency": strings.ToLower(currency),
		"arrival_date": now, "automatic": true, "created": now, "method": "standard", "type": "bank_account",
		"status": "failed", "failure_code": code, "failure_message": message, "metadata": map[string]string{},
		"destination": "ba_1FakeBank", "livemode": false,
	})
	return b, h, nil
}
