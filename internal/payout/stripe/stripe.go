// Package stripe pays creators through Stripe Connect: each creator has an
// Express connected account (acct_…), and a payout is a transfer from the
// platform's Stripe balance to that account. Stripe then pays the connected
// account out to the creator's bank on its own schedule; for payper the
// payout is paid once the transfer exists.
//
// It uses the official client, github.com/stripe/stripe-go, with the
// library's own retries turned off: a payout that fails with
// payout.ErrUnavailable is retried by payper's job queue under the same
// Idempotency-Key, so a retry never pays twice.
package stripe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	stripego "github.com/stripe/stripe-go/v84"

	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/payout"
)

// DefaultBaseURL is Stripe's API.
const DefaultBaseURL = stripego.APIURL

// Tolerance is how far a webhook's signed timestamp may be from now.
const Tolerance = 300 * time.Second

// maxIdempotencyKey is the longest Idempotency-Key Stripe accepts.
const maxIdempotencyKey = 255

// Config configures a Provider.
type Config struct {
	// SecretKey is the platform's API key (sk_live_…, sk_test_…).
	SecretKey string
	// WebhookSecret is the signing secret of the webhook endpoint (whsec_…)
	// listening to the platform's own events (transfer.*).
	WebhookSecret string
	// ConnectWebhookSecret, optional, is the signing secret of a Connect
	// endpoint (one made with connect=true), which alone receives the events
	// of connected accounts (account.updated, a creator's payout.failed),
	// each endpoint signing with its own secret
	// (https://docs.stripe.com/connect/webhooks). A delivery signed with
	// either secret is accepted.
	ConnectWebhookSecret string
	// BaseURL is the API's address: Stripe's when empty; tests point it at
	// stripe-mock or a fake.
	BaseURL string
	// HTTP sends the requests; stripe-go's default client (80 s timeout)
	// when nil.
	HTTP *http.Client
	// Clock tells the time webhook timestamps are checked against;
	// time.Now when nil.
	Clock func() time.Time
	// PlatformCountry is the ISO 3166-1 alpha-2 country of the platform's
	// own Stripe account (e.g. from PAYPER_STRIPE_PLATFORM_COUNTRY). A
	// creator in another country gets a connected account under the
	// recipient service agreement (see CreateAccount). When empty it is read
	// once from Stripe (GET /v1/account) on the first CreateAccount.
	PlatformCountry string
}

// Provider is the Stripe Connect payout provider. It is safe for concurrent
// use.
type Provider struct {
	api            *stripego.Client
	webhookSecrets []string // WebhookSecret, then ConnectWebhookSecret if set
	clock          func() time.Time

	mu              sync.Mutex
	platformCountry string // configured, or read from Stripe once
}

var (
	_ payout.Provider = (*Provider)(nil)
	_ payout.Finder   = (*Provider)(nil)
)

// New returns a Provider for cfg. It fails if SecretKey or WebhookSecret is
// empty or BaseURL is not an absolute http(s) URL.
func New(cfg Config) (*Provider, error) {
	if strings.TrimSpace(cfg.SecretKey) == "" {
		return nil, errors.New("stripe: config: SecretKey is required")
	}
	if strings.TrimSpace(cfg.WebhookSecret) == "" {
		return nil, errors.New("stripe: config: WebhookSecret is required")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("stripe: config: BaseURL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("stripe: config: BaseURL %q is not an absolute http(s) URL", base)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = time.Now
	}
	secrets := []string{cfg.WebhookSecret}
	if cfg.ConnectWebhookSecret != "" && cfg.ConnectWebhookSecret != cfg.WebhookSecret {
		secrets = append(secrets, cfg.ConnectWebhookSecret)
	}
	platform := strings.ToUpper(strings.TrimSpace(cfg.PlatformCountry))
	if platform != "" && !isCountry(platform) {
		return nil, fmt.Errorf("stripe: config: PlatformCountry %q is not a two-letter ISO 3166-1 code", cfg.PlatformCountry)
	}
	backends := stripego.NewBackendsWithConfig(&stripego.BackendConfig{
		URL:               stripego.String(strings.TrimRight(base, "/")),
		HTTPClient:        cfg.HTTP,
		MaxNetworkRetries: stripego.Int64(0),
		EnableTelemetry:   stripego.Bool(false),
		LeveledLogger:     &stripego.LeveledLogger{Level: stripego.LevelNull},
	})
	return &Provider{
		api:             stripego.NewClient(cfg.SecretKey, stripego.WithBackends(backends)),
		webhookSecrets:  secrets,
		clock:           clock,
		platformCountry: platform,
	}, nil
}

// isCountry reports whether s looks like an ISO 3166-1 alpha-2 code: two
// upper-case ASCII letters.
func isCountry(s string) bool {
	return len(s) == 2 && 'A' <= s[0] && s[0] <= 'Z' && 'A' <= s[1] && s[1] <= 'Z'
}

// PlatformCountry returns the country of the platform's Stripe account:
// Config.PlatformCountry, or else the country Stripe gives for the account
// of the API key (GET /v1/account), read once and kept. On failure it
// returns "" and an error wrapping payout.ErrUnavailable when Stripe cannot
// be reached or answers 429/5xx, or a plain one (a refused API key, an
// answer without a country).
func (p *Provider) PlatformCountry(ctx context.Context) (string, error) {
	p.mu.Lock()
	c := p.platformCountry
	p.mu.Unlock()
	if c != "" {
		return c, nil
	}
	acct, err := p.api.V1Accounts.Retrieve(ctx, &stripego.AccountRetrieveParams{})
	if err != nil {
		return "", fmt.Errorf("stripe: read the platform account's country: %w", classify(err, nil))
	}
	c = strings.ToUpper(acct.Country)
	if !isCountry(c) {
		return "", fmt.Errorf("stripe: the platform account %s has no country (%q); set PlatformCountry", acct.ID, acct.Country)
	}
	p.mu.Lock()
	p.platformCountry = c
	p.mu.Unlock()
	return c, nil
}

// Name returns payout.ProviderStripe. It cannot fail.
func (p *Provider) Name() string { return payout.ProviderStripe }

// SupportsCurrency implements payout.CurrencySupporter: Stripe transfers
// to connected accounts in every currency payper handles.
func (p *Provider) SupportsCurrency(c money.Currency) bool { return c.Valid() }

// CreateAccount makes an Express connected account for a creator, able to
// receive transfers, and returns its id (acct_…). country is the creator's
// ISO 3166-1 alpha-2 country; creatorID is kept in the account's metadata.
// Retrying with the same arguments within Stripe's 24 h idempotency window
// returns the same account.
//
// A creator in the platform's country (see PlatformCountry) gets an account
// under Stripe's default, full service agreement, asking for the transfers
// capability. A creator in another country gets one under the recipient
// service agreement (tos_acceptance[service_agreement]=recipient), asking
// for the transfers capability only, never card_payments, which recipient
// accounts cannot have: Stripe makes cross-border payouts only to accounts
// under the recipient agreement, and an agreement cannot be changed once
// accepted (https://docs.stripe.com/connect/service-agreement-types,
// https://docs.stripe.com/connect/cross-border-payouts "Limitations").
//
// On failure it returns "" and an error: one wrapping payout.ErrInvalid (a
// *payout.InvalidError naming the field, with Stripe's message and param)
// for invalid arguments or a request Stripe refuses as invalid (400
// invalid_request_error: a country it does not support…), one wrapping
// payout.ErrUnavailable when Stripe cannot be reached or answers 429/5xx,
// or a plain one otherwise (a refused API key).
func (p *Provider) CreateAccount(ctx context.Context, creatorID, country, email string) (string, error) {
	if creatorID == "" {
		return "", errors.New("stripe: create account: creator id is required")
	}
	country = strings.ToUpper(country)
	if !isCountry(country) {
		return "", fmt.Errorf("stripe: create account: %w", &payout.InvalidError{Field: "country",
			Message: fmt.Sprintf("%q is not a two-letter ISO 3166-1 code", country)})
	}
	if !strings.Contains(email, "@") {
		return "", fmt.Errorf("stripe: create account: %w", &payout.InvalidError{Field: "email",
			Message: fmt.Sprintf("%q is not an email address", email)})
	}
	platform, err := p.PlatformCountry(ctx)
	if err != nil {
		return "", fmt.Errorf("stripe: create account: %w", err)
	}
	params := accountParams(creatorID, country, email, platform)
	acct, err := p.api.V1Accounts.Create(ctx, params)
	if err != nil {
		return "", fmt.Errorf("stripe: create account: %w", classifyInvalid(err))
	}
	if acct.ID == "" {
		return "", errors.New("stripe: create account: the answer has no account id")
	}
	return acct.ID, nil
}

// accountParams builds the request for a creator's account in country made
// by a platform in platform (both upper case), with its idempotency key.
func accountParams(creatorID, country, email, platform string) *stripego.AccountCreateParams {
	params := &stripego.AccountCreateParams{
		Type:    stripego.String(string(stripego.AccountTypeExpress)),
		Country: stripego.String(country),
		Email:   stripego.String(email),
		Capabilities: &stripego.AccountCreateCapabilitiesParams{
			Transfers: &stripego.AccountCreateCapabilitiesTransfersParams{Requested: stripego.Bool(true)},
		},
	}
	agreement := string(stripego.AccountTOSAcceptanceServiceAgreementFull) // Stripe's default: not sent
	if country != platform {
		agreement = string(stripego.AccountTOSAcceptanceServiceAgreementRecipient)
		params.TOSAcceptance = &stripego.AccountCreateTOSAcceptanceParams{ServiceAgreement: stripego.String(agreement)}
	}
	params.AddMetadata("creator_id", creatorID)
	// The agreement is in the key: the same creator asked for under another
	// platform country is another request, not a replay.
	sum := sha256.Sum256([]byte(creatorID + "\x00" + country + "\x00" + email + "\x00" + agreement))
	params.SetIdempotencyKey("account:" + hex.EncodeToString(sum[:16]))
	return params
}

// OnboardingLink returns the URL of a new account link the creator opens to
// finish onboarding accountID (type account_onboarding). Stripe sends the
// creator to returnURL when done and to refreshURL when the link has expired
// or was used already; refreshURL should make a new link.
//
// On failure it returns "" and an error: one wrapping payout.ErrInvalid (a
// *payout.InvalidError naming the field) for invalid arguments or a request
// Stripe refuses as invalid (400 invalid_request_error: an unknown
// account…), one wrapping payout.ErrUnavailable when Stripe cannot be
// reached or answers 429/5xx, or a plain one otherwise.
func (p *Provider) OnboardingLink(ctx context.Context, accountID, refreshURL, returnURL string) (string, error) {
	if !strings.HasPrefix(accountID, "acct_") {
		return "", fmt.Errorf("stripe: onboarding link: %w", &payout.InvalidError{Field: "account",
			Message: fmt.Sprintf("%q is not a connected account id (acct_…)", accountID)})
	}
	for _, u := range []struct{ field, v string }{{"refresh_url", refreshURL}, {"return_url", returnURL}} {
		if err := checkURL(u.v); err != nil {
			return "", fmt.Errorf("stripe: onboarding link: %w", &payout.InvalidError{Field: invalidField(u.field),
				Message: u.field + ": " + err.Error()})
		}
	}
	link, err := p.api.V1AccountLinks.Create(ctx, &stripego.AccountLinkCreateParams{
		Account:    stripego.String(accountID),
		RefreshURL: stripego.String(refreshURL),
		ReturnURL:  stripego.String(returnURL),
		Type:       stripego.String(string(stripego.AccountLinkTypeAccountOnboarding)),
	})
	if err != nil {
		return "", fmt.Errorf("stripe: onboarding link: %w", classifyInvalid(err))
	}
	if link.URL == "" {
		return "", errors.New("stripe: onboarding link: the answer has no URL")
	}
	return link.URL, nil
}

// Send transfers t.Amount from the platform's balance to the connected
// account t.Destination (acct_…), with Idempotency-Key "payout:"+PayoutID
// (then ":N" after N refusals: Stripe saves a refused request's 400 for its
// key, https://docs.stripe.com/api/idempotent_requests, and a refused
// transfer made nothing, so a payout sent again once its creator's account
// is fixed — see payout.Process — needs a new key; each refusal is recorded
// through t.Record as progress "rejected:N"),
// transfer_group PayoutID and metadata payout_id and creator_id; t.Reference
// becomes the transfer's description. A transfer to a connected account's
// balance is immediate, so Send returns Sent{Ref: tr_…, Paid: true}.
//
// Calling it again for the same payout returns the same transfer: Stripe
// replays the answer to a key for 24 hours, and because keys expire, Send
// first looks for a transfer already made for the payout (listing its
// transfer_group) and returns that one without sending anything.
//
// On failure it returns a zero Sent and an error wrapping
// payout.ErrUnavailable (network, timeout, 429, 409 concurrent use of the
// key, 5xx: try again later) or payout.ErrRejected with Stripe's message
// (an invalid request or card error: unknown destination, insufficient
// platform balance…, or a destination that is not acct_…), or a plain
// error: t is invalid (an amount that is not a positive whole number of
// cents, a currency payper does not handle), the idempotency key was used before with
// other parameters, or the API key is refused (401, 403).
func (p *Provider) Send(ctx context.Context, t payout.Transfer) (payout.Sent, error) {
	params, err := transferParams(t)
	if err != nil {
		return payout.Sent{}, fmt.Errorf("stripe: send payout %s: %w", t.PayoutID, err)
	}
	if sent, found, err := p.sent(ctx, t, params); err != nil || found {
		return sent, err
	}
	tr, err := p.api.V1Transfers.Create(ctx, params)
	if err != nil {
		err = classify(err, payout.ErrRejected)
		if errors.Is(err, payout.ErrRejected) && t.Record != nil {
			// Stripe refused it, so made nothing; it keeps that answer for
			// the key, so a later attempt (the account fixed meanwhile)
			// needs another key.
			if rerr := t.Record(ctx, progressRejected+strconv.Itoa(rejections(t.Progress)+1)); rerr != nil {
				return payout.Sent{}, fmt.Errorf("stripe: send payout %s: %w (and recording it: %w)", t.PayoutID, err, rerr)
			}
		}
		return payout.Sent{}, fmt.Errorf("stripe: send payout %s: %w", t.PayoutID, err)
	}
	if tr.ID == "" {
		return payout.Sent{}, fmt.Errorf("stripe: send payout %s: the answer has no transfer id", t.PayoutID)
	}
	return payout.Sent{Ref: tr.ID, Paid: true}, nil
}

// sent looks for the transfer made for t already, by transfer_group and
// metadata payout_id; found is false when there is none. It fails like Send
// (ErrUnavailable when Stripe cannot answer), and with a plain error when
// the transfer found was reversed or differs from params.
func (p *Provider) sent(ctx context.Context, t payout.Transfer, params *stripego.TransferCreateParams) (s payout.Sent, found bool, err error) {
	const limit = 10
	list := &stripego.TransferListParams{TransferGroup: stripego.String(t.PayoutID)}
	list.Limit = stripego.Int64(limit)
	n := 0
	for tr, err := range p.api.V1Transfers.List(ctx, list) {
		if err != nil {
			return payout.Sent{}, false, fmt.Errorf("stripe: send payout %s: look for an earlier transfer: %w", t.PayoutID, classify(err, nil))
		}
		if n++; n > limit {
			break // one page is plenty: payper makes one transfer per payout
		}
		if tr.ID == "" || tr.TransferGroup != t.PayoutID || tr.Metadata["payout_id"] != t.PayoutID {
			continue
		}
		switch {
		case tr.Reversed:
			return payout.Sent{}, true, fmt.Errorf("stripe: send payout %s: transfer %s was made for it already and reversed", t.PayoutID, tr.ID)
		case tr.Amount != *params.Amount || string(tr.Currency) != *params.Currency ||
			params.Destination != nil && (tr.Destination == nil || tr.Destination.ID != *params.Destination):
			return payout.Sent{}, true, fmt.Errorf("stripe: send payout %s: transfer %s was made for it already, of %s %s to %s",
				t.PayoutID, tr.ID, cents(tr.Amount), strings.ToUpper(string(tr.Currency)), destinationID(tr))
		}
		return payout.Sent{Ref: tr.ID, Paid: true}, true, nil
	}
	return payout.Sent{}, false, nil
}

// FindTransfer implements payout.Finder: it looks for the transfer made for
// t.PayoutID by listing the transfers of its transfer_group (GET
// /v1/transfers?transfer_group=…, https://docs.stripe.com/api/transfers/list)
// and keeping the one whose metadata payout_id is the payout's — the same
// look-up Send makes before it sends, since Stripe replays an
// Idempotency-Key's answer for 24 hours only
// (https://docs.stripe.com/api/idempotent_requests). A transfer found is
// Paid (a transfer to a connected account's balance is immediate). found
// is false when Stripe lists none. It returns an error wrapping
// payout.ErrUnavailable when Stripe cannot answer, and a plain one (found
// true) for a transfer that was reversed or differs from t (its amount,
// currency or, when t names one, destination): the operator must look.
func (p *Provider) FindTransfer(ctx context.Context, t payout.Transfer) (payout.Sent, bool, error) {
	if t.PayoutID == "" {
		return payout.Sent{}, false, errors.New("stripe: find transfer: payout id is required")
	}
	cents, rest := t.Amount.Cents()
	if rest != 0 || cents <= 0 || !t.Amount.Currency.Valid() {
		return payout.Sent{}, false, fmt.Errorf("stripe: find transfer of payout %s: amount %s is not a positive whole number of cents", t.PayoutID, t.Amount)
	}
	params := &stripego.TransferCreateParams{
		Amount:   stripego.Int64(cents),
		Currency: stripego.String(strings.ToLower(string(t.Amount.Currency))),
	}
	if t.Destination != "" {
		params.Destination = stripego.String(t.Destination)
	}
	return p.sent(ctx, t, params)
}

func destinationID(tr *stripego.Transfer) string {
	if tr.Destination == nil {
		return "no destination"
	}
	return tr.Destination.ID
}

// ValidateDestination refuses a destination that is not a Stripe connected
// account id (acct_ and letters or digits), before it is stored: a payout
// to it could never be sent.
func (p *Provider) ValidateDestination(destination string) error {
	return validAccountID(destination)
}

func validAccountID(id string) error {
	rest, ok := strings.CutPrefix(id, "acct_")
	if !ok || rest == "" || len(id) > 255 || strings.ContainsFunc(rest, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}) {
		return fmt.Errorf("destination %q is not a Stripe connected account id (acct_ and letters or digits)", id)
	}
	return nil
}

// progressRejected starts the Transfer.Progress Send records when Stripe
// refuses a payout's transfer: "rejected:N", N the refusals so far.
const progressRejected = "rejected:"

// rejections reads how many times Stripe refused the payout's transfer
// from its progress (0 for anything else).
func rejections(progress string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(progress, progressRejected))
	if err != nil || n < 0 || !strings.HasPrefix(progress, progressRejected) {
		return 0
	}
	return n
}

// transferParams builds the request for t, or fails if t cannot be sent.
func transferParams(t payout.Transfer) (*stripego.TransferCreateParams, error) {
	if t.PayoutID == "" {
		return nil, errors.New("payout id is required")
	}
	key := "payout:" + t.PayoutID
	if n := rejections(t.Progress); n > 0 {
		key += ":" + strconv.Itoa(n)
	}
	if len(key) > maxIdempotencyKey {
		return nil, fmt.Errorf("payout id is longer than %d bytes", maxIdempotencyKey-len("payout:"))
	}
	if err := validAccountID(t.Destination); err != nil {
		// The creator's destination, not payper's request: the payout fails
		// and its money returns to the creator's balance.
		return nil, fmt.Errorf("%w: %w", err, payout.ErrRejected)
	}
	// Every currency payper handles is a two-decimal currency to Stripe,
	// given in lower case: https://docs.stripe.com/currencies ("Currencies
	// shown as links are zero-decimal currencies"; none of payper's is).
	if !t.Amount.Currency.Valid() {
		return nil, fmt.Errorf("currency %q is not supported", t.Amount.Currency)
	}
	currency := strings.ToLower(string(t.Amount.Currency))
	cents, rest := t.Amount.Cents()
	if rest != 0 {
		return nil, fmt.Errorf("amount %s is not a whole number of cents", t.Amount)
	}
	if cents <= 0 {
		return nil, fmt.Errorf("amount %s is not positive", t.Amount)
	}
	params := &stripego.TransferCreateParams{
		Amount:        stripego.Int64(cents),
		Currency:      stripego.String(currency),
		Destination:   stripego.String(t.Destination),
		TransferGroup: stripego.String(t.PayoutID),
	}
	if t.Reference != "" {
		params.Description = stripego.String(t.Reference)
	}
	params.AddMetadata("payout_id", t.PayoutID)
	if t.CreatorID != "" {
		params.AddMetadata("creator_id", t.CreatorID)
	}
	params.SetIdempotencyKey(key)
	return params, nil
}

// classify maps an error of the Stripe client to payper's: ErrUnavailable
// for anything worth retrying (no answer, an unreadable answer, 409, 429,
// 5xx), rejected (when not nil) for an invalid_request_error or card_error
// about the request, and a plain error carrying Stripe's message otherwise
// (a reused idempotency key, a refused API key). The result wraps err.
func classify(err error, rejected error) error {
	var se *stripego.Error
	if !errors.As(err, &se) {
		// No answer, or not one the client could read: the request may or
		// may not have been carried out, and a retry under the same
		// idempotency key is safe.
		return fmt.Errorf("%w: %w", payout.ErrUnavailable, err)
	}
	switch {
	case se.HTTPStatusCode == http.StatusTooManyRequests,
		se.HTTPStatusCode == http.StatusConflict, // idempotency_key_in_use: a concurrent request with the key
		se.HTTPStatusCode >= 500,
		se.Type == stripego.ErrorTypeAPI:
		return &apiError{kind: payout.ErrUnavailable, err: se}
	case se.Type == stripego.ErrorTypeIdempotency:
		return &apiError{prefix: "idempotency key reused with other parameters", err: se}
	case se.HTTPStatusCode == http.StatusUnauthorized, se.HTTPStatusCode == http.StatusForbidden:
		// The platform's key, not the transfer: fix the configuration.
		return &apiError{prefix: "stripe refused the API key", err: se}
	case rejected != nil && (se.Type == stripego.ErrorTypeInvalidRequest || se.Type == stripego.ErrorTypeCard):
		return &apiError{kind: rejected, err: se}
	default:
		return &apiError{prefix: "stripe refused the request", err: se}
	}
}

// classifyInvalid is classify for the onboarding calls (accounts, account
// links): a 400 invalid_request_error is the caller's fault, a
// *payout.InvalidError (so payout.ErrInvalid) naming the field at fault in
// payper's terms (see invalidField) with Stripe's message, type, code and
// param; everything else as classify, with no rejection.
func classifyInvalid(err error) error {
	var se *stripego.Error
	if errors.As(err, &se) && se.HTTPStatusCode == http.StatusBadRequest && se.Type == stripego.ErrorTypeInvalidRequest {
		return &apiError{kind: &payout.InvalidError{Field: invalidField(se.Param), Message: describe(se)}, err: se}
	}
	return classify(err, nil)
}

// invalidField names, in payper's terms, the field behind a Stripe param
// of an account or account link request: country for the country and what
// follows from it (the service agreement, the capabilities), email,
// return_url for either URL (payper sends its return URL as both), account
// for the account; any other param as Stripe names it, "" when Stripe
// names none.
func invalidField(param string) string {
	switch {
	case param == "country", strings.HasPrefix(param, "tos_acceptance"), strings.HasPrefix(param, "capabilities"):
		return "country"
	case param == "email":
		return "email"
	case param == "return_url", param == "refresh_url":
		return "return_url"
	default:
		return param
	}
}

// apiError is an error answer of Stripe's, classified: it reads as kind (or
// prefix) followed by Stripe's message, and unwraps to both kind and the
// *stripe.Error.
type apiError struct {
	kind   error
	prefix string
	err    *stripego.Error
}

func (e *apiError) Error() string {
	if inv, ok := e.kind.(*payout.InvalidError); ok {
		return inv.Error() // its message is describe(e.err) already
	}
	head := e.prefix
	if e.kind != nil {
		head = e.kind.Error()
	}
	return head + ": " + describe(e.err)
}

func (e *apiError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// describe is Stripe's message with its status, type, code and parameter.
func describe(se *stripego.Error) string {
	var b strings.Builder
	b.WriteString(se.Msg)
	if b.Len() == 0 {
		b.WriteString(http.StatusText(se.HTTPStatusCode))
	}
	fmt.Fprintf(&b, " (status %d", se.HTTPStatusCode)
	if se.Type != "" {
		fmt.Fprintf(&b, ", %s", se.Type)
	}
	if se.Code != "" {
		fmt.Fprintf(&b, ", code %s", se.Code)
	}
	if se.Param != "" {
		fmt.Fprintf(&b, ", param %s", se.Param)
	}
	if se.RequestID != "" {
		fmt.Fprintf(&b, ", request %s", se.RequestID)
	}
	b.WriteString(")")
	return b.String()
}

// checkURL fails unless s is an absolute http(s) URL.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q: %w", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}
