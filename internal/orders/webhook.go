package orders

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// Webhook topics payper takes in. Any other topic is answered 200 and
// recorded as ignored, so the platform does not retry it.
const (
	TopicShopifyOrderCreate = "orders/create"
	TopicShopifyOrderPaid   = "orders/paid"
	TopicShopifyRefund      = "refunds/create"
	TopicWooOrderCreated    = "order.created"
	TopicWooOrderUpdated    = "order.updated"
)

// Outcomes of a webhook delivery.
const (
	OutcomeProcessed    = "processed"     // an order or refund was stored or updated
	OutcomeDuplicate    = "duplicate"     // the delivery id was seen before: nothing done
	OutcomeIgnored      = "ignored"       // a topic payper does not take in
	OutcomePing         = "ping"          // WooCommerce's unsigned ping on webhook creation
	OutcomeUnknownOrder = "unknown_order" // a refund of an order payper never received
	OutcomeRejected     = "rejected"      // a signed payload payper refuses: recorded, nothing else changed
)

// Receipt says what a webhook delivery did.
type Receipt struct {
	Outcome string `json:"outcome"`
	// OrderID is payper's id of the order the delivery touched, if any.
	OrderID string `json:"order_id,omitempty"`
	// Error says why a rejected delivery was refused.
	Error *Rejection `json:"error,omitempty"`
}

// Rejection is why a signed delivery was refused: the error's code, its
// message and the payload field it names (as the API's errors do).
type Rejection struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// rejectionOf describes an Invalid error of a payload.
func rejectionOf(err error) *Rejection {
	r := &Rejection{Code: errs.CodeOf(err), Message: err.Error()}
	var e *errs.Error
	if errors.As(err, &e) {
		r.Message, r.Field = e.Message, e.Field
	}
	return r
}

var (
	errNoSignature  = errs.E(errs.Unauthorized, "missing_signature", "the webhook signature header is missing")
	errBadSignature = errs.E(errs.Unauthorized, "bad_signature", "the webhook signature does not match the body")
)

// Sign returns base64(HMAC-SHA256(secret, body)), the signature Shopify and
// WooCommerce send with a webhook.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig (base64, as sent in the header) is the
// HMAC-SHA256 of body under secret, comparing in constant time. It returns
// an Unauthorized error (missing_signature or bad_signature) otherwise.
func Verify(secret string, body []byte, sig string) error {
	if sig == "" {
		return errNoSignature
	}
	got, err := base64.StdEncoding.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return errBadSignature
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	if !hmac.Equal(m.Sum(nil), got) {
		return errBadSignature
	}
	return nil
}

// delivery is a verified webhook, reduced to what payper keeps.
type delivery struct {
	id, event, topic string
	order            *incoming // an order to upsert
	refunds          []incomingRefund
	refundOrder      string // Shopify refunds/create: the platform order id the refunds belong to
	rejected         *Rejection
}

type incoming struct {
	externalID string
	amount     money.Amount
	codes      []string
	customer   string
	clickID    string
	status     string
	placedAt   clock.Micros
	updatedAt  clock.Micros
}

type incomingRefund struct {
	id        string
	amount    money.Amount
	createdAt clock.Micros
}

// Receive takes in one webhook delivery for the store storeID on platform
// (shopify or woocommerce): h are the request's headers, body its raw
// bytes (at most MaxWebhookBody). It returns NotFound for an unknown store,
// Unauthorized when the signature is missing or wrong or the shop header
// names another shop, and Invalid when the delivery id header is missing;
// nothing is stored on error. A signed payload payper refuses (unreadable,
// a negative total, a refund of zero or less, an amount above MaxAmount)
// is no error: answering 4xx would make the store retry it, and Shopify
// and WooCommerce disable a webhook that keeps failing, losing the good
// orders after it (Shopify retries a non-2xx answer 8 times over 4 hours
// and then deletes an API-made subscription:
// https://shopify.dev/docs/apps/build/webhooks/troubleshooting-webhooks;
// WooCommerce disables a webhook after 5 failed deliveries:
// https://github.com/woocommerce/woocommerce/blob/trunk/docs/building-a-woo-store/webhooks.md).
// It is recorded once as OutcomeRejected with the reason in the receipt,
// and nothing else changes. A delivery id seen before does nothing; an
// order already stored is updated, never duplicated; a refund is added once.
// Everything one delivery stores is written in one transaction.
func (s *Service) Receive(ctx context.Context, platform, storeID string, h http.Header, body []byte) (Receipt, error) {
	if platform != Shopify && platform != WooCommerce {
		return Receipt{}, errs.NotFoundf("no webhook endpoint for %q", platform)
	}
	st, err := s.loadStore(ctx, platform, storeID)
	if err != nil {
		return Receipt{}, err
	}
	var d delivery
	now := clock.MicrosOf(s.clock.Now())
	switch platform {
	case Shopify:
		if err := Verify(st.secret, body, h.Get("X-Shopify-Hmac-Sha256")); err != nil {
			return Receipt{}, err
		}
		if shop := strings.ToLower(strings.TrimSpace(h.Get("X-Shopify-Shop-Domain"))); shop != st.Shop {
			return Receipt{}, errs.E(errs.Unauthorized, "wrong_shop", "X-Shopify-Shop-Domain %q is not this store's shop", shop)
		}
		d = delivery{id: h.Get("X-Shopify-Webhook-Id"), event: h.Get("X-Shopify-Event-Id"), topic: h.Get("X-Shopify-Topic")}
	case WooCommerce:
		sig := h.Get("X-WC-Webhook-Signature")
		if sig == "" && isWooPing(h, body) {
			return Receipt{Outcome: OutcomePing}, nil
		}
		if err := Verify(st.secret, body, sig); err != nil {
			return Receipt{}, err
		}
		if src := siteKey(h.Get("X-WC-Webhook-Source")); src != st.Shop {
			return Receipt{}, errs.E(errs.Unauthorized, "wrong_shop", "X-WC-Webhook-Source %q is not this store's site", h.Get("X-WC-Webhook-Source"))
		}
		d = delivery{id: h.Get("X-WC-Webhook-Delivery-ID"), event: h.Get("X-WC-Webhook-ID"), topic: h.Get("X-WC-Webhook-Topic")}
	}
	if !printable(d.id, 255) {
		return Receipt{}, errs.Invalidf("", "missing_delivery_id", "the webhook has no usable delivery id header")
	}
	if len(d.event) > 255 || len(d.topic) > 255 {
		return Receipt{}, errs.Invalidf("", "invalid_header", "webhook event id or topic header is too long")
	}
	if err := d.parse(platform, body, now); err != nil {
		if errs.KindOf(err) != errs.Invalid {
			return Receipt{}, err
		}
		d = delivery{id: d.id, event: d.event, topic: d.topic, rejected: rejectionOf(err)}
	}
	return s.apply(ctx, st, d, now)
}

// parse reads body by the delivery's topic into d: an order, refunds, or
// nothing for a topic payper does not take in. It returns Invalid, naming
// the payload field, for a payload it refuses.
func (d *delivery) parse(platform string, body []byte, now clock.Micros) error {
	var err error
	switch d.topic {
	case TopicShopifyOrderCreate, TopicShopifyOrderPaid:
		if platform == Shopify {
			d.order, err = parseShopifyOrder(body, now)
		}
	case TopicShopifyRefund:
		if platform == Shopify {
			d.refundOrder, d.refunds, err = parseShopifyRefund(body, now)
		}
	case TopicWooOrderCreated, TopicWooOrderUpdated:
		if platform == WooCommerce {
			d.order, d.refunds, err = parseWooOrder(body, now)
		}
	}
	return err
}

// isWooPing reports whether an unsigned request is the ping WooCommerce
// sends when a webhook is created: a form body webhook_id=N and nothing else.
func isWooPing(h http.Header, body []byte) bool {
	v, err := url.ParseQuery(string(bytes.TrimSpace(body)))
	if err != nil || len(v) != 1 || len(v["webhook_id"]) != 1 {
		return false
	}
	n := v.Get("webhook_id")
	if n == "" || len(n) > 20 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

// applyTx stores what one verified delivery carries inside tx and tells
// the observer; the receipt says what it did.
func (s *Service) applyTx(ctx context.Context, tx *store.Tx, st Store, d delivery, now clock.Micros) (Receipt, error) {
	var rc Receipt
	res, err := tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (store_id, delivery_id, event_id, topic, received_at, outcome, order_id)
		VALUES ($1, $2, $3, $4, $5, '', '') ON CONFLICT (store_id, delivery_id) DO NOTHING`, st.ID, d.id, d.event, d.topic, now)
	if err != nil {
		return rc, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return rc, err
	} else if n == 0 {
		rc.Outcome = OutcomeDuplicate
		return rc, nil
	}
	rc.Outcome = OutcomeIgnored
	switch {
	case d.rejected != nil:
		rc.Outcome, rc.Error = OutcomeRejected, d.rejected
		detail, _ := json.Marshal(d.rejected)
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET outcome = $1, detail = $2 WHERE store_id = $3 AND delivery_id = $4`,
			rc.Outcome, string(detail), st.ID, d.id)
		return rc, err
	case d.order != nil:
		var created bool
		if rc.OrderID, created, err = upsertOrder(ctx, tx, st, *d.order, now); err != nil {
			return rc, err
		}
		rc.Outcome = OutcomeProcessed
		if no, ok := s.observer.(NewOrderObserver); ok && created {
			o, err := s.storeNew(ctx, tx, st, rc.OrderID, *d.order, d.refunds, now)
			if err != nil {
				return rc, err
			}
			_, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET outcome = $1, order_id = $2 WHERE store_id = $3 AND delivery_id = $4`,
				rc.Outcome, rc.OrderID, st.ID, d.id)
			if err != nil {
				return rc, err
			}
			return rc, no.NewOrderTx(ctx, tx, o, st.BrandID)
		}
	case d.refundOrder != "":
		err := tx.QueryRowContext(ctx, `SELECT id FROM orders WHERE brand_id = $1 AND channel = $2 AND external_id = $3`,
			st.BrandID, st.ID, d.refundOrder).Scan(&rc.OrderID)
		if errors.Is(err, sql.ErrNoRows) {
			rc.Outcome = OutcomeUnknownOrder
			break
		}
		if err != nil {
			return rc, err
		}
		rc.Outcome = OutcomeProcessed
	}
	if rc.OrderID != "" {
		for _, r := range d.refunds {
			if _, err := tx.ExecContext(ctx, `INSERT INTO order_refunds (order_id, refund_id, amount, currency, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, refund_id) DO NOTHING`,
				rc.OrderID, r.id, r.amount.Micros, string(r.amount.Currency), r.createdAt); err != nil {
				return rc, err
			}
		}
	}
	if _, err = tx.ExecContext(ctx, `UPDATE webhook_deliveries SET outcome = $1, order_id = $2 WHERE store_id = $3 AND delivery_id = $4`,
		rc.Outcome, rc.OrderID, st.ID, d.id); err != nil {
		return rc, err
	}
	return rc, s.notify(ctx, tx, rc.OrderID)
}

// storeNew stores the refunds of an order just inserted (the first of
// each refund id) and returns the order as OrderTx would read it.
func (s *Service) storeNew(ctx context.Context, tx *store.Tx, st Store, oid string, in incoming, refunds []incomingRefund, now clock.Micros) (Order, error) {
	o := Order{ID: oid, StoreID: st.ID, Source: st.Platform, ExternalID: in.externalID, Amount: in.amount, DiscountCodes: in.codes,
		CustomerID: in.customer, ClickID: in.clickID, Status: in.status, PlacedAt: in.placedAt, ReceivedAt: now, UpdatedAt: in.updatedAt,
		Refunds: []Refund{}}
	if o.DiscountCodes == nil {
		o.DiscountCodes = []string{}
	}
	for _, r := range refunds {
		if slices.ContainsFunc(o.Refunds, func(x Refund) bool { return x.ID == r.id }) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_refunds (order_id, refund_id, amount, currency, created_at)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, refund_id) DO NOTHING`,
			oid, r.id, r.amount.Micros, string(r.amount.Currency), r.createdAt); err != nil {
			return o, err
		}
		o.Refunds = append(o.Refunds, Refund{ID: r.id, Amount: r.amount, CreatedAt: r.createdAt})
	}
	return o, nil
}

// upsertOrder stores o, or updates the stored order when o is at least as
// recent (by the platform's modification time), and returns payper's id
// and whether the order is new.
func upsertOrder(ctx context.Context, tx *store.Tx, st Store, o incoming, now clock.Micros) (string, bool, error) {
	var oid string
	newID := id.New(OrderPrefix)
	err := tx.QueryRowContext(ctx, `INSERT INTO orders (id, brand_id, channel, source, external_id, amount, currency, discount_codes,
		customer_id, click_id, status, placed_at, received_at, updated_at, request_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '')
		ON CONFLICT (brand_id, channel, external_id) DO UPDATE SET amount = excluded.amount, currency = excluded.currency,
			discount_codes = excluded.discount_codes, customer_id = excluded.customer_id,
			click_id = CASE WHEN excluded.click_id <> '' THEN excluded.click_id ELSE orders.click_id END,
			status = excluded.status, updated_at = excluded.updated_at
		WHERE excluded.updated_at >= orders.updated_at
		RETURNING id`,
		newID, st.BrandID, st.ID, st.Platform, o.externalID, o.amount.Micros, string(o.amount.Currency), codesJSON(o.codes),
		o.customer, o.clickID, o.status, o.placedAt, now, o.updatedAt).Scan(&oid)
	if errors.Is(err, sql.ErrNoRows) { // a stale delivery: the stored order is newer
		err = tx.QueryRowContext(ctx, `SELECT id FROM orders WHERE brand_id = $1 AND channel = $2 AND external_id = $3`,
			st.BrandID, st.ID, o.externalID).Scan(&oid)
	}
	return oid, err == nil && oid == newID, err
}

// flexID is a platform id sent as a JSON number or string, kept as text
// (Shopify ids exceed a float's exact range).
type flexID string

func (f *flexID) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	if strings.ContainsAny(string(n), ".eE-") {
		return fmt.Errorf("id %s is not a whole number", n)
	}
	*f = flexID(n)
	return nil
}

// badPayload refuses a payload, naming the field at fault ("body" when it
// is not the expected JSON at all).
func badPayload(field, format string, args ...any) error {
	return errs.Invalidf(field, "invalid_payload", format, args...)
}

func decodePayload(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return badPayload("body", "the webhook body is not the expected JSON: %v", err)
	}
	return nil
}

// platformTime parses an RFC 3339 time, or a zone-less one as UTC
// (WooCommerce's *_gmt fields); def when s is empty or unreadable.
func platformTime(s string, def clock.Micros) clock.Micros {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return clock.MicrosOf(t)
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return clock.MicrosOf(t.UTC())
	}
	return def
}

// MaxAmount bounds an order's amount and a refund's, in micro-units (one
// billion of any currency): anything larger is a broken or hostile payload,
// and the bound keeps sums of refunds far from int64's limit.
const MaxAmount int64 = 1_000_000_000 * money.Scale

// Codes of a payload amount refused.
const (
	codeNegativeAmount = "negative_amount" // below zero (an order) or not above it (a refund)
	codeAmountTooLarge = "amount_too_large"
)

// parseAmount reads a payload's decimal amount in currency: Invalid naming
// field (the amount) or currencyField when either is unreadable, and
// negative_amount or amount_too_large when the amount is outside
// 0…MaxAmount.
func parseAmount(field, value, currencyField, currency string) (money.Amount, error) {
	cur := money.Currency(strings.ToUpper(strings.TrimSpace(currency)))
	if !cur.Valid() {
		return money.Amount{}, errs.Invalidf(currencyField, "unknown_currency", "%s %q is not a supported currency", currencyField, currency)
	}
	a, err := money.Parse(strings.TrimSpace(value), cur)
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) {
			c := *e
			c.Field = field
			return money.Amount{}, &c
		}
		return money.Amount{}, errs.Invalidf(field, "invalid_amount", "%s %q is not a decimal amount", field, value)
	}
	switch {
	case a.Micros < 0:
		return money.Amount{}, errs.Invalidf(field, codeNegativeAmount, "%s %q is negative", field, value)
	case a.Micros > MaxAmount:
		return money.Amount{}, errs.Invalidf(field, codeAmountTooLarge, "%s %q is more than %s", field, value, money.FormatMicros(MaxAmount))
	}
	return a, nil
}

// parseRefundAmount is parseAmount for a refund, which must be more than
// zero.
func parseRefundAmount(field, value, currencyField, currency string) (money.Amount, error) {
	a, err := parseAmount(field, value, currencyField, currency)
	if err == nil && a.Micros == 0 {
		return a, errs.Invalidf(field, codeNegativeAmount, "%s %q must be more than zero", field, value)
	}
	return a, err
}

func normCodes(codes []string) []string {
	out := []string{}
	for _, c := range codes {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" && len(c) <= maxCode {
			out = append(out, c)
		}
	}
	return out
}

func cleanClickID(s string) string {
	s = strings.TrimSpace(s)
	if !printable(s, maxClickID) {
		return ""
	}
	return s
}

// clickIDNames are the note attribute (Shopify) and meta data (WooCommerce)
// names a storefront may carry the click id under.
var clickIDNames = map[string]bool{"click_id": true, "payper_click_id": true, "_payper_click_id": true}

type shopifyOrder struct {
	ID              flexID `json:"id"`
	CreatedAt       string `json:"created_at"`
	UpdatedAt       string `json:"updated_at"`
	Currency        string `json:"currency"`
	TotalPrice      string `json:"total_price"`
	FinancialStatus string `json:"financial_status"`
	DiscountCodes   []struct {
		Code string `json:"code"`
	} `json:"discount_codes"`
	LandingSite    string `json:"landing_site"`
	NoteAttributes []struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
	} `json:"note_attributes"`
	Customer *struct {
		ID flexID `json:"id"`
	} `json:"customer"`
}

// parseShopifyOrder reads an orders/create or orders/paid payload. The click
// id comes from a note attribute named click_id, payper_click_id or
// _payper_click_id, else from the click_id query parameter of landing_site.
func parseShopifyOrder(body []byte, now clock.Micros) (*incoming, error) {
	var p shopifyOrder
	if err := decodePayload(body, &p); err != nil {
		return nil, err
	}
	if !printable(string(p.ID), maxOrderID) {
		return nil, badPayload("id", "the order has no id")
	}
	a, err := parseAmount("total_price", p.TotalPrice, "currency", p.Currency)
	if err != nil {
		return nil, err
	}
	o := &incoming{externalID: string(p.ID), amount: a, status: p.FinancialStatus, placedAt: platformTime(p.CreatedAt, now)}
	o.updatedAt = platformTime(p.UpdatedAt, o.placedAt)
	var codes []string
	for _, dc := range p.DiscountCodes {
		codes = append(codes, dc.Code)
	}
	o.codes = normCodes(codes)
	if p.Customer != nil {
		o.customer = string(p.Customer.ID)
	}
	for _, na := range p.NoteAttributes {
		if v, ok := na.Value.(string); ok && clickIDNames[strings.ToLower(na.Name)] && o.clickID == "" {
			o.clickID = cleanClickID(v)
		}
	}
	if o.clickID == "" && p.LandingSite != "" {
		if u, err := url.Parse(p.LandingSite); err == nil {
			o.clickID = cleanClickID(u.Query().Get("click_id"))
		}
	}
	return o, nil
}

type shopifyRefund struct {
	ID           flexID `json:"id"`
	OrderID      flexID `json:"order_id"`
	CreatedAt    string `json:"created_at"`
	Transactions []struct {
		Kind     string `json:"kind"`
		Amount   string `json:"amount"`
		Currency string `json:"currency"`
		Status   string `json:"status"`
	} `json:"transactions"`
}

// parseShopifyRefund reads a refunds/create payload: the refund's amount is
// the sum of its successful refund transactions.
func parseShopifyRefund(body []byte, now clock.Micros) (string, []incomingRefund, error) {
	var p shopifyRefund
	if err := decodePayload(body, &p); err != nil {
		return "", nil, err
	}
	if !printable(string(p.ID), 255) {
		return "", nil, badPayload("id", "the refund has no id")
	}
	if !printable(string(p.OrderID), maxOrderID) {
		return "", nil, badPayload("order_id", "the refund has no order_id")
	}
	r := incomingRefund{id: string(p.ID), createdAt: platformTime(p.CreatedAt, now)}
	for i, t := range p.Transactions {
		if t.Kind != "refund" || (t.Status != "success" && t.Status != "") {
			continue
		}
		field := fmt.Sprintf("transactions[%d].amount", i)
		a, err := parseRefundAmount(field, t.Amount, fmt.Sprintf("transactions[%d].currency", i), t.Currency)
		if err != nil {
			return "", nil, err
		}
		if r.amount.Currency == "" {
			r.amount.Currency = a.Currency
		}
		if a.Currency != r.amount.Currency {
			return "", nil, errs.Invalidf(fmt.Sprintf("transactions[%d].currency", i), "currency_mismatch",
				"the refund's transactions are in %s and %s", r.amount.Currency, a.Currency)
		}
		if r.amount.Micros += a.Micros; r.amount.Micros > MaxAmount {
			return "", nil, errs.Invalidf(field, codeAmountTooLarge, "the refund's transactions total more than %s", money.FormatMicros(MaxAmount))
		}
	}
	if r.amount.Currency == "" {
		return "", nil, badPayload("transactions", "refund %s has no successful refund transaction", p.ID)
	}
	return string(p.OrderID), []incomingRefund{r}, nil
}

type wooOrder struct {
	ID              flexID `json:"id"`
	Status          string `json:"status"`
	Currency        string `json:"currency"`
	Total           string `json:"total"`
	CustomerID      flexID `json:"customer_id"`
	DateCreatedGMT  string `json:"date_created_gmt"`
	DateModifiedGMT string `json:"date_modified_gmt"`
	CouponLines     []struct {
		Code string `json:"code"`
	} `json:"coupon_lines"`
	Refunds []struct {
		ID    flexID `json:"id"`
		Total string `json:"total"`
	} `json:"refunds"`
	MetaData []struct {
		Key   string `json:"key"`
		Value any    `json:"value"`
	} `json:"meta_data"`
}

// parseWooOrder reads an order.created or order.updated payload with its
// refunds (WooCommerce sends refund totals negative; they are stored
// positive, and a refund of nothing is left out). The click id comes from a meta_data entry keyed click_id,
// payper_click_id or _payper_click_id. customer_id 0 is a guest.
func parseWooOrder(body []byte, now clock.Micros) (*incoming, []incomingRefund, error) {
	var p wooOrder
	if err := decodePayload(body, &p); err != nil {
		return nil, nil, err
	}
	if !printable(string(p.ID), maxOrderID) {
		return nil, nil, badPayload("id", "the order has no id")
	}
	a, err := parseAmount("total", p.Total, "currency", p.Currency)
	if err != nil {
		return nil, nil, err
	}
	o := &incoming{externalID: string(p.ID), amount: a, status: p.Status, placedAt: platformTime(p.DateCreatedGMT, now)}
	o.updatedAt = platformTime(p.DateModifiedGMT, o.placedAt)
	if p.CustomerID != "0" {
		o.customer = string(p.CustomerID)
	}
	var codes []string
	for _, c := range p.CouponLines {
		codes = append(codes, c.Code)
	}
	o.codes = normCodes(codes)
	for _, m := range p.MetaData {
		if v, ok := m.Value.(string); ok && clickIDNames[strings.ToLower(m.Key)] && o.clickID == "" {
			o.clickID = cleanClickID(v)
		}
	}
	var refunds []incomingRefund
	for i, r := range p.Refunds {
		if !printable(string(r.ID), 255) {
			return nil, nil, badPayload(fmt.Sprintf("refunds[%d].id", i), "refunds[%d] has no id", i)
		}
		// WooCommerce writes a refund's total negative ("-12.50"): one
		// minus sign is its convention, anything else ("--2.00") is refused.
		ra, err := parseAmount(fmt.Sprintf("refunds[%d].total", i), strings.TrimPrefix(strings.TrimSpace(r.Total), "-"), "currency", p.Currency)
		if err != nil {
			return nil, nil, err
		}
		if ra.Micros == 0 { // a refund of items alone gives no money back
			continue
		}
		refunds = append(refunds, incomingRefund{id: string(r.ID), amount: ra, createdAt: o.updatedAt})
	}
	return o, refunds, nil
}
