// Package orders takes in a brand's sales: Shopify and WooCommerce webhooks
// from the brand's connected stores (signature-verified, deduplicated by
// delivery id, idempotent by order id) and a server-to-server conversion
// API. It stores orders and their refunds; attributing them to creators and
// paying for them come later.
package orders

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store"
)

// Platforms a store can run on.
const (
	Shopify     = "shopify"
	WooCommerce = "woocommerce"
)

// SourceAPI is the source of orders reported through the conversion API.
const SourceAPI = "api"

// Id prefixes.
const (
	StorePrefix = "sto"
	OrderPrefix = "ord"
)

// WebhookPath is where a store's webhooks are received:
// WebhookPath + platform + "/" + store id.
const WebhookPath = "/webhooks/"

// MaxWebhookBody bounds a webhook body; larger deliveries are refused
// before their signature is checked.
const MaxWebhookBody = 1 << 20

// Limits on free-text identifiers.
const (
	maxOrderID  = 255
	maxCode     = 64
	maxClickID  = 64
	maxCustomer = 255
	minSecret   = 8
	maxSecret   = 512
)

// Store is a brand's connected Shopify shop or WooCommerce site.
type Store struct {
	ID       string `json:"id"`
	BrandID  string `json:"brand_id"`
	Platform string `json:"platform"`
	// Shop is the Shopify shop domain or the WooCommerce site URL.
	Shop string `json:"shop"`
	// WebhookURL is the address to configure in the store's webhooks.
	WebhookURL string       `json:"webhook_url"`
	CreatedAt  clock.Micros `json:"created_at"`
	// Sandbox: a simulated shop served by payper's sandbox.
	Sandbox bool `json:"sandbox"`
	// HasAPI: API credentials were given, so payper can make discount codes
	// in the store.
	HasAPI bool `json:"has_api"`

	secret string
}

// StoreDraft is the input for a new store connection.
type StoreDraft struct {
	Platform string `json:"platform"`
	// ShopDomain is a Shopify shop's domain (glow.myshopify.com).
	ShopDomain string `json:"shop_domain"`
	// SiteURL is a WooCommerce site's URL (https://glow.example).
	SiteURL string `json:"site_url"`
	// WebhookSecret signs the deliveries: the Shopify app's client secret
	// or the secret set on the WooCommerce webhook. A sandbox store makes
	// one when it is empty.
	WebhookSecret string `json:"webhook_secret"`
	// AccessToken is a Shopify Admin API access token with write_discounts,
	// for making the creators' discount codes in the shop (optional).
	AccessToken string `json:"access_token"`
	// ConsumerKey and ConsumerSecret are WooCommerce REST API keys with
	// write access, for making the creators' coupons (optional, together).
	ConsumerKey    string `json:"consumer_key"`
	ConsumerSecret string `json:"consumer_secret"`
	// Sandbox makes a simulated Shopify shop served by payper's sandbox
	// (only when the server runs the sandbox): codes are made through the
	// same Shopify client, and the sandbox driver places its orders.
	Sandbox bool `json:"sandbox"`
}

// StoreAccess is what payper needs to act in a store: its API credentials
// (decrypted) and where its API is.
type StoreAccess struct {
	Store
	// APIBase is the Shopify Admin API base URL ("https://" + shop) or the
	// WooCommerce site URL; the sandbox's own URL for a sandbox store.
	APIBase        string
	AccessToken    string
	ConsumerKey    string
	ConsumerSecret string
	WebhookSecret  string
}

// credentials is the sealed JSON of a store's API credentials.
type credentials struct {
	AccessToken    string `json:"access_token,omitempty"`
	ConsumerKey    string `json:"consumer_key,omitempty"`
	ConsumerSecret string `json:"consumer_secret,omitempty"`
}

// Observer hears of every stored or changed order inside the transaction
// that stored it, so that what it does (attribution, payment) commits or
// rolls back with the order. An error rolls the delivery back: the platform
// retries it.
type Observer interface {
	OrderChangedTx(ctx context.Context, tx *store.Tx, orderID string) error
}

// NewOrderObserver is an Observer that can also be handed an order just
// stored for the first time, with its refunds and its brand, inside the
// transaction that stored it, so that it need not read the order back.
type NewOrderObserver interface {
	Observer
	NewOrderTx(ctx context.Context, tx *store.Tx, o Order, brandID string) error
}

// NewOrder is an order just stored for the first time, with its refunds,
// and its brand.
type NewOrder struct {
	Order   Order
	BrandID string
}

// BatchObserver is a NewOrderObserver that can also be handed all the new
// orders of a group-commit batch at once, in the order their deliveries
// were written, inside the batch's transaction (see batch.go). It must do
// exactly what NewOrderTx would do for each of them in turn.
type BatchObserver interface {
	NewOrderObserver
	NewOrdersTx(ctx context.Context, tx *store.Tx, os []NewOrder) error
}

var hostRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$`)

// Validate reports every invalid field at once.
func (d StoreDraft) Validate() error {
	var c errs.Collector
	switch d.Platform {
	case Shopify:
		if !hostRE.MatchString(d.ShopDomain) {
			c.Addf("shop_domain", "invalid", "shop_domain must be the shop's domain, such as glow.myshopify.com")
		}
		if d.SiteURL != "" {
			c.Addf("site_url", "invalid", "site_url is for WooCommerce stores; a Shopify store has a shop_domain")
		}
	case WooCommerce:
		if siteKey(d.SiteURL) == "" {
			c.Addf("site_url", "invalid", "site_url must be the site's absolute http(s) URL, such as https://glow.example")
		}
		if d.ShopDomain != "" {
			c.Addf("shop_domain", "invalid", "shop_domain is for Shopify stores; a WooCommerce store has a site_url")
		}
	default:
		c.Addf("platform", "invalid", "platform must be shopify or woocommerce")
	}
	if n := len(d.WebhookSecret); (n < minSecret && !(d.Sandbox && n == 0)) || n > maxSecret {
		c.Addf("webhook_secret", "invalid", "webhook_secret must be %d to %d bytes", minSecret, maxSecret)
	}
	if d.Sandbox && d.Platform != Shopify {
		c.Addf("sandbox", "invalid", "the sandbox store is a Shopify shop: use platform shopify")
	}
	switch {
	case d.AccessToken != "" && d.Platform != Shopify:
		c.Addf("access_token", "invalid", "access_token is for Shopify stores; a WooCommerce store has consumer_key and consumer_secret")
	case d.AccessToken != "" && d.Sandbox:
		c.Addf("access_token", "invalid", "a sandbox store makes its own access token")
	case d.AccessToken != "" && !printable(d.AccessToken, maxSecret):
		c.Addf("access_token", "invalid", "access_token must be 1 to %d printable characters without spaces", maxSecret)
	}
	if d.ConsumerKey != "" || d.ConsumerSecret != "" {
		switch {
		case d.Platform != WooCommerce:
			c.Addf("consumer_key", "invalid", "consumer_key and consumer_secret are for WooCommerce stores")
		case !strings.HasPrefix(d.ConsumerKey, "ck_") || !printable(d.ConsumerKey, maxSecret):
			c.Addf("consumer_key", "invalid", "consumer_key must be the WooCommerce REST API key, starting ck_")
		case !strings.HasPrefix(d.ConsumerSecret, "cs_") || !printable(d.ConsumerSecret, maxSecret):
			c.Addf("consumer_secret", "invalid", "consumer_secret must be the WooCommerce REST API secret, starting cs_")
		}
	}
	return c.Err()
}

// siteKey is a WooCommerce site URL reduced to what identifies the site:
// lower-case scheme and host, the path without a trailing slash; "" when
// raw is not an absolute http(s) URL.
func siteKey(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return ""
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + strings.TrimRight(u.Path, "/")
}

// Order is a sale reported by a store's webhooks or the conversion API.
type Order struct {
	ID string `json:"id"`
	// StoreID is the store that reported it; "" for the conversion API.
	StoreID string `json:"store_id,omitempty"`
	// Source is shopify, woocommerce or api.
	Source string `json:"source"`
	// ExternalID is the platform's (or the caller's) order id.
	ExternalID string       `json:"order_id"`
	Amount     money.Amount `json:"amount"`
	// Tax and Shipping are what Amount includes of tax and shipping, in its
	// currency, as the store reports them (0 when it does not; always for
	// the conversion API): a campaign's commission is on Amount less both
	// unless its commission_base is "total". Not part of the API's answer.
	Tax           int64    `json:"-"`
	Shipping      int64    `json:"-"`
	DiscountCodes []string `json:"discount_codes"`
	CustomerID    string   `json:"customer_id,omitempty"`
	// CustomerEmail is the customer's address as the store sent it ("" when
	// it sent none). Not part of the API's answer: the fraud detectors and
	// a person reviewing a flag read it.
	CustomerEmail string `json:"-"`
	ClickID       string `json:"click_id,omitempty"`
	// Status is the platform's status (Shopify financial_status,
	// WooCommerce status); "reported" for the conversion API.
	Status     string       `json:"status"`
	PlacedAt   clock.Micros `json:"placed_at"`
	ReceivedAt clock.Micros `json:"received_at"`
	UpdatedAt  clock.Micros `json:"updated_at"`
	Refunds    []Refund     `json:"refunds"`
}

// Refund is money given back on an order.
type Refund struct {
	ID        string       `json:"id"`
	Amount    money.Amount `json:"amount"`
	CreatedAt clock.Micros `json:"created_at"`
}

// Service stores connected stores, deliveries, orders and refunds.
type Service struct {
	db    *store.DB
	clock clock.Clock
	// PublicURL is where platforms reach this server, for webhook URLs.
	publicURL string
	box       *secret.Box
	observer  Observer
	// visitorHash hashes an order's browser address and user agent
	// (SetVisitorHash); nil keeps none.
	visitorHash func(ip, agent string) string
	// sandboxAPI is the sandbox's Shopify base URL; "" when it is off.
	sandboxAPI string
	// batchers group each store's concurrent deliveries into one
	// transaction (batch.go).
	batchMu             sync.Mutex
	batchers            map[string]*batcher
	batchTxs, batchJobs atomic.Int64
}

// SandboxShopPath is where payper's sandbox serves its simulated Shopify
// shops: SandboxShopPath + shop domain + "/admin/api/…".
const SandboxShopPath = "/sandbox/shopify/"

// SetSecretBox sets the key that seals store credentials and webhook
// secrets at rest. Without one, connecting a store is refused.
func (s *Service) SetSecretBox(b *secret.Box) { s.box = b }

// SetVisitorHash sets how the browser address and user agent of a store's
// order become the visitor hash kept with it: the click capture's
// (links.VisitorHash with the server's click salt), so the self-purchase
// detector can compare an order's browser with its click's. Without it,
// orders keep no visitor hash.
func (s *Service) SetVisitorHash(f func(ip, agent string) string) { s.visitorHash = f }

// normEmail is the form of a customer's address that is matched: one
// mailbox (fraud.NormalizeEmail).
func normEmail(e string) string {
	if e == "" {
		return ""
	}
	return fraud.NormalizeEmail(e)
}

// SetObserver sets who hears of order changes (attribution).
func (s *Service) SetObserver(o Observer) { s.observer = o }

// EnableSandbox lets brands connect sandbox stores, served under
// SandboxShopPath of the public URL.
func (s *Service) EnableSandbox() {
	s.sandboxAPI = s.publicURL + strings.TrimSuffix(SandboxShopPath, "/")
}

func (s *Service) notify(ctx context.Context, tx *store.Tx, orderID string) error {
	if s.observer == nil || orderID == "" {
		return nil
	}
	return s.observer.OrderChangedTx(ctx, tx, orderID)
}

// errNoKey answers a store connection when no encryption key is configured.
var errNoKey = errs.E(errs.Unavailable, "encryption_key_missing",
	"store credentials are stored encrypted and this server has no key: set PAYPER_SECRET_KEY (32 bytes, base64) or --secret-key-file")

func sealAAD(storeID, column string) string { return "stores/" + storeID + "/" + column }

// New returns a Service; publicURL (no trailing slash) prefixes the
// webhook URLs it hands out.
func New(db *store.DB, clk clock.Clock, publicURL string) *Service {
	return &Service{db: db, clock: clk, publicURL: strings.TrimRight(publicURL, "/")}
}

var errBrandOnly = errs.E(errs.Forbidden, "forbidden", "only a brand key can do this")

// ConnectStore registers a store for the brand p acts for. It returns
// Forbidden for other keys, Invalid for bad fields and Conflict
// (store_exists) when the brand already connected that shop. Nothing is
// written on error.
func (s *Service) ConnectStore(ctx context.Context, p identity.Principal, d StoreDraft) (Store, error) {
	if p.BrandID() == "" {
		return Store{}, errBrandOnly
	}
	d.Platform = strings.TrimSpace(d.Platform)
	d.ShopDomain = strings.ToLower(strings.TrimSpace(d.ShopDomain))
	d.SiteURL = strings.TrimSpace(d.SiteURL)
	if err := d.Validate(); err != nil {
		return Store{}, err
	}
	if d.Sandbox && s.sandboxAPI == "" {
		return Store{}, errs.Invalidf("sandbox", "sandbox_off", "this server does not run the sandbox (serve --sandbox)")
	}
	if s.box == nil {
		return Store{}, errNoKey
	}
	if d.Sandbox {
		if d.WebhookSecret == "" {
			d.WebhookSecret = id.Secret(24)
		}
		d.AccessToken = "shpat_" + id.Secret(16)
	}
	st := Store{ID: id.New(StorePrefix), BrandID: p.BrandID(), Platform: d.Platform, Shop: d.ShopDomain,
		CreatedAt: clock.MicrosOf(s.clock.Now()), Sandbox: d.Sandbox, HasAPI: d.AccessToken != "" || d.ConsumerKey != "", secret: d.WebhookSecret}
	if d.Platform == WooCommerce {
		st.Shop = siteKey(d.SiteURL)
	}
	sealedSecret, err := s.box.Seal(d.WebhookSecret, sealAAD(st.ID, "webhook_secret"))
	if err != nil {
		return Store{}, fmt.Errorf("orders: seal webhook secret: %w", err)
	}
	sealedCreds := ""
	if st.HasAPI {
		b, _ := json.Marshal(credentials{AccessToken: d.AccessToken, ConsumerKey: d.ConsumerKey, ConsumerSecret: d.ConsumerSecret})
		if sealedCreds, err = s.box.Seal(string(b), sealAAD(st.ID, "credentials")); err != nil {
			return Store{}, fmt.Errorf("orders: seal credentials: %w", err)
		}
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM stores WHERE brand_id = $1 AND platform = $2 AND shop = $3`,
			st.BrandID, st.Platform, st.Shop).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflictf("store_exists", "this brand already connected %s store %s", st.Platform, st.Shop)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO stores (id, brand_id, platform, shop, webhook_secret, created_at, credentials, sandbox)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			st.ID, st.BrandID, st.Platform, st.Shop, sealedSecret, st.CreatedAt, sealedCreds, st.Sandbox)
		if store.IsUniqueViolation(err) {
			return fmt.Errorf("orders: store raced: %w", store.ErrRetry)
		}
		return err
	})
	if err != nil {
		if errs.KindOf(err) != errs.Internal {
			return Store{}, err
		}
		return Store{}, fmt.Errorf("orders: connect store: %w", err)
	}
	st.WebhookURL = s.webhookURL(st)
	return st, nil
}

func (s *Service) webhookURL(st Store) string {
	return s.publicURL + WebhookPath + st.Platform + "/" + st.ID
}

// loadStore returns the store with the given id on the given platform, or
// NotFound.
func (s *Service) loadStore(ctx context.Context, platform, storeID string) (Store, error) {
	st := Store{ID: storeID, Platform: platform}
	if !id.Valid(storeID, StorePrefix) {
		return st, errs.NotFoundf("store %s not found", storeID)
	}
	var creds string
	err := s.db.Read().QueryRowContext(ctx, `SELECT brand_id, shop, webhook_secret, created_at, sandbox, credentials FROM stores WHERE id = $1 AND platform = $2`,
		storeID, platform).Scan(&st.BrandID, &st.Shop, &st.secret, &st.CreatedAt, &st.Sandbox, &creds)
	if errors.Is(err, sql.ErrNoRows) {
		return st, errs.NotFoundf("%s store %s not found", platform, storeID)
	}
	if err != nil {
		return st, fmt.Errorf("orders: load store %s: %w", storeID, err)
	}
	st.HasAPI = creds != ""
	if st.secret, err = s.open(st.secret, st.ID, "webhook_secret"); err != nil {
		return st, err
	}
	return st, nil
}

// open returns a sealed column's value; a value stored before sealing
// (not starting "v1.") is returned as it is.
func (s *Service) open(v, storeID, column string) (string, error) {
	if !strings.HasPrefix(v, "v1.") {
		return v, nil
	}
	if s.box == nil {
		return "", fmt.Errorf("orders: store %s: %s is encrypted and this server has no key: %w", storeID, column, errNoKey)
	}
	out, err := s.box.Open(v, sealAAD(storeID, column))
	if err != nil {
		return "", fmt.Errorf("orders: store %s: %s does not open with this server's key: %w", storeID, column, err)
	}
	return out, nil
}

// Access returns what payper needs to act in a store of the brand brandID,
// credentials decrypted. It returns NotFound for another brand's store.
func (s *Service) Access(ctx context.Context, q store.Queryer, brandID, storeID string) (StoreAccess, error) {
	var a StoreAccess
	var creds string
	err := q.QueryRowContext(ctx, `SELECT platform, shop, webhook_secret, created_at, sandbox, credentials FROM stores WHERE id = $1 AND brand_id = $2`,
		storeID, brandID).Scan(&a.Platform, &a.Shop, &a.WebhookSecret, &a.CreatedAt, &a.Sandbox, &creds)
	if errors.Is(err, sql.ErrNoRows) {
		return a, errs.NotFoundf("store %s not found", storeID)
	}
	if err != nil {
		return a, fmt.Errorf("orders: load store %s: %w", storeID, err)
	}
	a.ID, a.BrandID, a.HasAPI = storeID, brandID, creds != ""
	a.WebhookURL = s.webhookURL(a.Store)
	if a.WebhookSecret, err = s.open(a.WebhookSecret, storeID, "webhook_secret"); err != nil {
		return a, err
	}
	if creds != "" {
		plain, err := s.open(creds, storeID, "credentials")
		if err != nil {
			return a, err
		}
		var c credentials
		if err := json.Unmarshal([]byte(plain), &c); err != nil {
			return a, fmt.Errorf("orders: store %s: credentials unreadable: %w", storeID, err)
		}
		a.AccessToken, a.ConsumerKey, a.ConsumerSecret = c.AccessToken, c.ConsumerKey, c.ConsumerSecret
	}
	switch {
	case a.Sandbox:
		a.APIBase = s.sandboxAPI + "/" + a.Shop
	case a.Platform == Shopify:
		a.APIBase = "https://" + a.Shop
	default:
		a.APIBase = a.Shop
	}
	return a, nil
}

// ListStores returns the stores of the brand p acts for, oldest first,
// without their secrets. It returns Forbidden for other keys.
func (s *Service) ListStores(ctx context.Context, p identity.Principal) ([]Store, error) {
	if p.BrandID() == "" {
		return nil, errBrandOnly
	}
	out, err := store.QueryAll(ctx, s.db.Read(), func(r store.Scanner) (Store, error) {
		var st Store
		err := r.Scan(&st.ID, &st.Platform, &st.Shop, &st.CreatedAt, &st.Sandbox, &st.HasAPI)
		st.BrandID = p.BrandID()
		st.WebhookURL = s.webhookURL(st)
		return st, err
	}, `SELECT id, platform, shop, created_at, sandbox, credentials <> '' FROM stores WHERE brand_id = $1 ORDER BY id`, p.BrandID())
	if err != nil {
		return nil, fmt.Errorf("orders: list stores: %w", err)
	}
	return out, nil
}

// Conversion is a sale reported by the brand's server.
type Conversion struct {
	OrderID    string          `json:"order_id"`
	Amount     json.RawMessage `json:"amount"`
	Code       string          `json:"code"`
	ClickID    string          `json:"click_id"`
	CustomerID string          `json:"customer_id"`
}

// printable reports whether s is non-empty ASCII without spaces or control
// characters, at most max bytes.
func printable(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// parse validates c, reporting every invalid field at once.
func (c Conversion) parse() (money.Amount, error) {
	var col errs.Collector
	if !printable(c.OrderID, maxOrderID) {
		col.Addf("order_id", "invalid", "order_id must be 1 to %d printable ASCII characters without spaces", maxOrderID)
	}
	var a money.Amount
	if len(c.Amount) == 0 {
		col.Addf("amount", "required", `amount is required, such as {"amount":"49.90","currency":"EUR"}`)
	} else if err := a.UnmarshalJSON(c.Amount); err != nil {
		col.Add("amount", err)
	} else if a.Micros <= 0 {
		col.Addf("amount.amount", "invalid_amount", "amount must be greater than zero")
	} else if a.Micros > MaxAmount {
		col.Addf("amount.amount", codeAmountTooLarge, "amount must be at most %s", money.FormatMicros(MaxAmount))
	}
	if c.Code != "" && !printable(c.Code, maxCode) {
		col.Addf("code", "invalid", "code must be 1 to %d printable ASCII characters without spaces", maxCode)
	}
	if c.ClickID != "" && !printable(c.ClickID, maxClickID) {
		col.Addf("click_id", "invalid", "click_id must be 1 to %d printable ASCII characters without spaces", maxClickID)
	}
	if c.CustomerID != "" && !printable(c.CustomerID, maxCustomer) {
		col.Addf("customer_id", "invalid", "customer_id must be 1 to %d printable ASCII characters without spaces", maxCustomer)
	}
	return a, col.Err()
}

// Convert records a conversion for the brand p acts for, once per order id.
// It returns the order and whether it was new: a repeat with the same
// content returns the stored order and false. It returns Forbidden for
// other keys, Invalid for bad fields and Conflict (order_conflict) when the
// order id was already reported with other content. Nothing is written on
// error.
func (s *Service) Convert(ctx context.Context, p identity.Principal, c Conversion) (Order, bool, error) {
	if p.BrandID() == "" {
		return Order{}, false, errBrandOnly
	}
	a, err := c.parse()
	if err != nil {
		return Order{}, false, err
	}
	codes := []string{}
	if c.Code != "" {
		codes = append(codes, strings.ToUpper(c.Code))
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%q|%d|%s|%q|%q|%q", c.OrderID, a.Micros, a.Currency, strings.ToUpper(c.Code), c.ClickID, c.CustomerID))
	now := clock.MicrosOf(s.clock.Now())
	o := Order{ID: id.New(OrderPrefix), Source: SourceAPI, ExternalID: c.OrderID, Amount: a, DiscountCodes: codes,
		CustomerID: c.CustomerID, ClickID: c.ClickID, Status: "reported", PlacedAt: now, ReceivedAt: now, UpdatedAt: now, Refunds: []Refund{}}
	hash := hex.EncodeToString(h[:])
	created := false
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO orders (id, brand_id, channel, source, external_id, amount, currency, discount_codes,
			customer_id, click_id, status, placed_at, received_at, updated_at, request_hash)
			VALUES ($1, $2, 'api', 'api', $3, $4, $5, $6, $7, $8, $9, $10, $10, $10, $11)
			ON CONFLICT (brand_id, channel, external_id) DO NOTHING`,
			o.ID, p.BrandID(), o.ExternalID, a.Micros, string(a.Currency), codesJSON(codes), o.CustomerID, o.ClickID, o.Status, now, hash)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			created = true
			return s.notify(ctx, tx, o.ID)
		}
		var prev, prevID string
		if err := tx.QueryRowContext(ctx, `SELECT id, request_hash FROM orders WHERE brand_id = $1 AND channel = 'api' AND external_id = $2`,
			p.BrandID(), c.OrderID).Scan(&prevID, &prev); err != nil {
			return err
		}
		if prev != hash {
			return errs.Conflictf("order_conflict", "order %s was already reported with a different amount, code, click_id or customer_id", c.OrderID)
		}
		o.ID = prevID
		return nil
	})
	if err != nil {
		if errs.KindOf(err) != errs.Internal {
			return Order{}, false, err
		}
		return Order{}, false, fmt.Errorf("orders: convert %s: %w", c.OrderID, err)
	}
	if created {
		return o, true, nil
	}
	got, err := s.get(ctx, p.BrandID(), o.ID)
	return got, false, err
}

func codesJSON(codes []string) string {
	if codes == nil {
		codes = []string{}
	}
	b, _ := json.Marshal(codes)
	return string(b)
}

const orderCols = `id, channel, source, external_id, amount, currency, discount_codes, customer_id, click_id, status, placed_at, received_at, updated_at,
	tax, shipping, customer_email`

func scanOrder(row store.Scanner) (Order, error) {
	var o Order
	var channel, codes, cur string
	err := row.Scan(&o.ID, &channel, &o.Source, &o.ExternalID, &o.Amount.Micros, &cur, &codes, &o.CustomerID, &o.ClickID,
		&o.Status, &o.PlacedAt, &o.ReceivedAt, &o.UpdatedAt, &o.Tax, &o.Shipping, &o.CustomerEmail)
	if err != nil {
		return o, err
	}
	o.Amount.Currency = money.Currency(cur)
	if channel != SourceAPI {
		o.StoreID = channel
	}
	if err := json.Unmarshal([]byte(codes), &o.DiscountCodes); err != nil {
		return o, fmt.Errorf("discount codes of %s: %w", o.ID, err)
	}
	o.Refunds = []Refund{}
	return o, nil
}

func (s *Service) get(ctx context.Context, brandID, orderID string) (Order, error) {
	o, err := scanOrder(s.db.Read().QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders WHERE brand_id = $1 AND id = $2`, brandID, orderID))
	if errors.Is(err, sql.ErrNoRows) {
		return o, errs.NotFoundf("order %s not found", orderID)
	}
	if err != nil {
		return o, fmt.Errorf("orders: get %s: %w", orderID, err)
	}
	os := []Order{o}
	if err := s.addRefunds(ctx, os); err != nil {
		return o, err
	}
	return os[0], nil
}

// List returns the orders of the brand p acts for, newest first, with their
// refunds: limit of them, before the order id before when it is set. It
// returns Forbidden for other keys.
func (s *Service) List(ctx context.Context, p identity.Principal, before string, limit int) ([]Order, error) {
	if p.BrandID() == "" {
		return nil, errBrandOnly
	}
	if before == "" {
		before = "~"
	}
	os, err := store.QueryAll(ctx, s.db.Read(), scanOrder,
		`SELECT `+orderCols+` FROM orders WHERE brand_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, p.BrandID(), before, limit)
	if err != nil {
		return nil, fmt.Errorf("orders: list: %w", err)
	}
	if err := s.addRefunds(ctx, os); err != nil {
		return nil, err
	}
	return os, nil
}

func (s *Service) addRefunds(ctx context.Context, os []Order) error {
	if len(os) == 0 {
		return nil
	}
	ids := make([]string, len(os))
	at := map[string]int{}
	for i, o := range os {
		ids[i] = o.ID
		at[o.ID] = i
	}
	in, arg := store.InText(s.db.Dialect(), "order_id", 1, ids)
	type row struct {
		order string
		r     Refund
	}
	rs, err := store.QueryAll(ctx, s.db.Read(), func(sc store.Scanner) (row, error) {
		var x row
		var cur string
		err := sc.Scan(&x.order, &x.r.ID, &x.r.Amount.Micros, &cur, &x.r.CreatedAt)
		x.r.Amount.Currency = money.Currency(cur)
		return x, err
	}, `SELECT order_id, refund_id, amount, currency, created_at FROM order_refunds WHERE `+in+` ORDER BY created_at, refund_id`, arg)
	if err != nil {
		return fmt.Errorf("orders: refunds: %w", err)
	}
	for _, x := range rs {
		i := at[x.order]
		os[i].Refunds = append(os[i].Refunds, x.r)
	}
	return nil
}

// ConversionRefund is money the brand's server reports refunded on an
// order it reported through the conversion API.
type ConversionRefund struct {
	RefundID string          `json:"refund_id"`
	Amount   json.RawMessage `json:"amount"`
}

// RefundConversion records a refund of the order the brand p acts for
// reported with the given order id, once per refund id (a repeat with the
// same amount does nothing and returns the order; with another amount it is
// a Conflict, refund_conflict). The refunds of an order may not exceed its
// amount (Invalid, exceeds_order) and must be in its currency (Invalid,
// currency_mismatch). It returns NotFound for an order id never reported,
// and the order with its refunds.
func (s *Service) RefundConversion(ctx context.Context, p identity.Principal, orderID string, r ConversionRefund) (Order, error) {
	if p.BrandID() == "" {
		return Order{}, errBrandOnly
	}
	var col errs.Collector
	if !printable(r.RefundID, maxOrderID) {
		col.Addf("refund_id", "invalid", "refund_id must be 1 to %d printable ASCII characters without spaces", maxOrderID)
	}
	var a money.Amount
	if len(r.Amount) == 0 {
		col.Addf("amount", "required", `amount is required, such as {"amount":"19.90","currency":"EUR"}`)
	} else if err := a.UnmarshalJSON(r.Amount); err != nil {
		col.Add("amount", err)
	} else if a.Micros <= 0 {
		col.Addf("amount.amount", "invalid_amount", "amount must be greater than zero")
	} else if a.Micros > MaxAmount {
		col.Addf("amount.amount", codeAmountTooLarge, "amount must be at most %s", money.FormatMicros(MaxAmount))
	}
	if err := col.Err(); err != nil {
		return Order{}, err
	}
	var oid string
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var amount, refunded int64
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT id, amount, currency FROM orders WHERE brand_id = $1 AND channel = 'api' AND external_id = $2`+tx.ForUpdate(),
			p.BrandID(), orderID).Scan(&oid, &amount, &cur)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFoundf("order %s was never reported", orderID)
		}
		if err != nil {
			return err
		}
		var prev int64
		err = tx.QueryRowContext(ctx, `SELECT amount FROM order_refunds WHERE order_id = $1 AND refund_id = $2`, oid, r.RefundID).Scan(&prev)
		switch {
		case err == nil && prev == a.Micros:
			return nil
		case err == nil:
			return errs.Conflictf("refund_conflict", "refund %s of order %s was already reported with another amount", r.RefundID, orderID)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if string(a.Currency) != cur {
			return errs.Invalidf("amount.currency", "currency_mismatch", "order %s is in %s, not %s", orderID, cur, a.Currency)
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM order_refunds WHERE order_id = $1`, oid).Scan(&refunded); err != nil {
			return err
		}
		if refunded+a.Micros > amount {
			return errs.Invalidf("amount.amount", "exceeds_order", "refunds of order %s would total %s, more than its %s",
				orderID, money.FormatMicros(refunded+a.Micros), money.FormatMicros(amount))
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_refunds (order_id, refund_id, amount, currency, created_at) VALUES ($1, $2, $3, $4, $5)`,
			oid, r.RefundID, a.Micros, cur, s.clock.Now().UnixMicro()); err != nil {
			return err
		}
		return s.notify(ctx, tx, oid)
	})
	if err != nil {
		if errs.KindOf(err) != errs.Internal {
			return Order{}, err
		}
		return Order{}, fmt.Errorf("orders: refund %s: %w", orderID, err)
	}
	return s.get(ctx, p.BrandID(), oid)
}

// Get returns an order of the brand brandID with its refunds, or NotFound.
func (s *Service) Get(ctx context.Context, brandID, orderID string) (Order, error) {
	return s.get(ctx, brandID, orderID)
}

// OrderTx reads an order with its refunds inside tx, locking it (on
// PostgreSQL) until tx ends, and returns its brand too. It returns NotFound
// for an unknown id.
func OrderTx(ctx context.Context, tx *store.Tx, orderID string) (Order, string, error) {
	var brand string
	var o Order
	err := tx.QueryRowContext(ctx, `SELECT brand_id FROM orders WHERE id = $1`+tx.ForUpdate(), orderID).Scan(&brand)
	if errors.Is(err, sql.ErrNoRows) {
		return o, "", errs.NotFoundf("order %s not found", orderID)
	}
	if err != nil {
		return o, "", fmt.Errorf("orders: lock %s: %w", orderID, err)
	}
	o, err = scanOrder(tx.QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders WHERE id = $1`, orderID))
	if err != nil {
		return o, "", fmt.Errorf("orders: read %s: %w", orderID, err)
	}
	o.Refunds, err = store.QueryAll(ctx, tx, func(r store.Scanner) (Refund, error) {
		var rf Refund
		var cur string
		err := r.Scan(&rf.ID, &rf.Amount.Micros, &cur, &rf.CreatedAt)
		rf.Amount.Currency = money.Currency(cur)
		return rf, err
	}, `SELECT refund_id, amount, currency, created_at FROM order_refunds WHERE order_id = $1 ORDER BY created_at, refund_id`, orderID)
	if err != nil {
		return o, "", fmt.Errorf("orders: refunds of %s: %w", orderID, err)
	}
	return o, brand, nil
}

// SandboxStore returns the sandbox store with the given id, credentials
// decrypted, whatever its brand (for the sandbox's own driver). It returns
// NotFound when there is no such sandbox store.
func (s *Service) SandboxStore(ctx context.Context, storeID string) (StoreAccess, error) {
	var brand string
	err := s.db.Read().QueryRowContext(ctx, `SELECT brand_id FROM stores WHERE id = $1 AND sandbox`, storeID).Scan(&brand)
	if errors.Is(err, sql.ErrNoRows) {
		return StoreAccess{}, errs.NotFoundf("sandbox store %s not found", storeID)
	}
	if err != nil {
		return StoreAccess{}, fmt.Errorf("orders: sandbox store %s: %w", storeID, err)
	}
	return s.Access(ctx, s.db.Read(), brand, storeID)
}

// SandboxStoreFor returns the id of the sandbox store of the given shop
// domain whose access token is token, for the sandbox's simulated Shopify
// API; NotFound when none matches.
func (s *Service) SandboxStoreFor(ctx context.Context, shop, token string) (string, error) {
	type row struct{ id, brand string }
	rows, err := store.QueryAll(ctx, s.db.Read(), func(r store.Scanner) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.brand)
		return x, err
	}, `SELECT id, brand_id FROM stores WHERE shop = $1 AND platform = 'shopify' AND sandbox ORDER BY id`, strings.ToLower(shop))
	if err != nil {
		return "", fmt.Errorf("orders: sandbox shop %s: %w", shop, err)
	}
	for _, x := range rows {
		a, err := s.Access(ctx, s.db.Read(), x.brand, x.id)
		if err != nil {
			return "", err
		}
		if token != "" && hmac.Equal([]byte(a.AccessToken), []byte(token)) {
			return x.id, nil
		}
	}
	return "", errs.NotFoundf("no sandbox shop %s with that access token", shop)
}
