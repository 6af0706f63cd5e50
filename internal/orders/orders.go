// Package orders takes in a brand's sales: Shopify and WooCommerce webhooks
// from the brand's connected stores (signature-verified, deduplicated by
// delivery id, idempotent by order id) and a server-to-server conversion
// API. It stores orders and their refunds; attributing them to creators and
// paying for them come later.
package orders

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
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
	// or the secret set on the WooCommerce webhook.
	WebhookSecret string `json:"webhook_secret"`
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
	if n := len(d.WebhookSecret); n < minSecret || n > maxSecret {
		c.Addf("webhook_secret", "invalid", "webhook_secret must be %d to %d bytes", minSecret, maxSecret)
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
	ExternalID    string       `json:"order_id"`
	Amount        money.Amount `json:"amount"`
	DiscountCodes []string     `json:"discount_codes"`
	CustomerID    string       `json:"customer_id,omitempty"`
	ClickID       string       `json:"click_id,omitempty"`
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
}

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
	st := Store{ID: id.New(StorePrefix), BrandID: p.BrandID(), Platform: d.Platform, Shop: d.ShopDomain,
		CreatedAt: clock.MicrosOf(s.clock.Now()), secret: d.WebhookSecret}
	if d.Platform == WooCommerce {
		st.Shop = siteKey(d.SiteURL)
	}
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM stores WHERE brand_id = $1 AND platform = $2 AND shop = $3`,
			st.BrandID, st.Platform, st.Shop).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflictf("store_exists", "this brand already connected %s store %s", st.Platform, st.Shop)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO stores (id, brand_id, platform, shop, webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			st.ID, st.BrandID, st.Platform, st.Shop, st.secret, st.CreatedAt)
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
	err := s.db.Read().QueryRowContext(ctx, `SELECT brand_id, shop, webhook_secret, created_at FROM stores WHERE id = $1 AND platform = $2`,
		storeID, platform).Scan(&st.BrandID, &st.Shop, &st.secret, &st.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, errs.NotFoundf("%s store %s not found", platform, storeID)
	}
	if err != nil {
		return st, fmt.Errorf("orders: load store %s: %w", storeID, err)
	}
	return st, nil
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
			return nil
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

const orderCols = `id, channel, source, external_id, amount, currency, discount_codes, customer_id, click_id, status, placed_at, received_at, updated_at`

func scanOrder(row store.Scanner) (Order, error) {
	var o Order
	var channel, codes, cur string
	err := row.Scan(&o.ID, &channel, &o.Source, &o.ExternalID, &o.Amount.Micros, &cur, &codes, &o.CustomerID, &o.ClickID,
		&o.Status, &o.PlacedAt, &o.ReceivedAt, &o.UpdatedAt)
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
