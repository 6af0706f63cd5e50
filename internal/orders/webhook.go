package orders

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

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
	// TopicShopifyOrderCancelled is sent when an order is cancelled
	// (ORDERS_CANCELLED in https://shopify.dev/docs/api/admin-graphql/latest/enums/WebhookSubscriptionTopic;
	// topic list: https://shopify.dev/docs/api/webhooks/latest); its payload
	// is the order, with cancelled_at and cancel_reason set.
	TopicShopifyOrderCancelled = "orders/cancelled"
	TopicWooOrderCreated       = "order.created"
	TopicWooOrderUpdated       = "order.updated"
)

// Outcomes of a webhook delivery.
const (
	OutcomeProcessed    = "processed"     // an order or refund was stored or updated
	OutcomeDuplicate    = "duplicate"     // the delivery id was seen before: nothing done
	OutcomeIgnored      = "ignored"       // readable, but nothing payper uses (a topic, a refund without money, a currency): recorded with why
	OutcomePing         = "ping"          // WooCommerce's unsigned ping on webhook creation
	OutcomeUnknownOrder = "unknown_order" // no longer answered: a refund of an unknown order is now OutcomePending
	OutcomePending      = "pending"       // a refund of an order not received yet: kept, applied when the order arrives
	OutcomeRejected     = "rejected"      // a signed payload payper refuses: recorded, nothing else changed
)

// Codes of an ignored delivery's reason.
const (
	ReasonUnusedTopic         = "unused_topic"          // a topic payper does not take in
	ReasonNoRefundTransaction = "no_refund_transaction" // a Shopify refund without a successful refund transaction: no money went back
	ReasonUnsupportedCurrency = "unsupported_currency"  // a currency code (three letters) payper does not support
	ReasonCurrencyMismatch    = "currency_mismatch"     // a refund in another currency than its order
)

// Receipt says what a webhook delivery did.
type Receipt struct {
	Outcome string `json:"outcome"`
	// OrderID is payper's id of the order the delivery touched, if any.
	OrderID string `json:"order_id,omitempty"`
	// Error says why a rejected delivery was refused.
	Error *Rejection `json:"error,omitempty"`
	// Reason says why an ignored delivery was not used.
	Reason *Rejection `json:"reason,omitempty"`
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
	ignored          *Rejection // readable but not used: answered 200 "ignored" with this reason
}

type incoming struct {
	externalID string
	amount     money.Amount
	// tax and shipping are what amount includes of them, in its currency,
	// within 0…amount together.
	tax, shipping int64
	codes         []string
	customer      string
	clickID       string
	status        string
	placedAt      clock.Micros
	updatedAt     clock.Micros
	// email is the customer's address as the store sent it; ip and agent
	// the browser address and user agent the order was placed from (not
	// stored: Receive turns them into visitor, their salted hash).
	email, ip, agent, visitor string
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
	if platform == WooCommerce {
		// WooCommerce's X-WC-Webhook-Delivery-ID is wp_hash(webhook id .
		// strtotime('now')) — the webhook and the current second
		// (WC_Webhook::get_new_delivery_id, plugins/woocommerce/includes/
		// class-wc-webhook.php), so two orders delivered in one second share
		// it. A delivery is identified by what it carries instead: the webhook
		// and a hash of the signed body. A redelivery of the same content is
		// still a duplicate; the header is kept as the event id.
		d.event, d.id = d.id, wooDeliveryKey(h.Get("X-WC-Webhook-ID"), body)
	}
	if len(d.event) > 255 || len(d.topic) > 255 {
		return Receipt{}, errs.Invalidf("", "invalid_header", "webhook event id or topic header is too long")
	}
	if err := d.parse(platform, body, now); err != nil {
		if errs.KindOf(err) != errs.Invalid {
			return Receipt{}, err
		}
		d = delivery{id: d.id, event: d.event, topic: d.topic, rejected: rejectionOf(err)}
		if unused(err) {
			d.rejected, d.ignored = nil, rejectionOf(err)
		}
	}
	if d.order != nil && d.order.ip != "" && d.order.agent != "" && s.visitorHash != nil {
		d.order.visitor = s.visitorHash(d.order.ip, d.order.agent)
	}
	return s.apply(ctx, st, d, now)
}

// wooDeliveryKey is what a WooCommerce delivery is de-duplicated on: its
// webhook id and the SHA-256 of its body.
func wooDeliveryKey(webhookID string, body []byte) string {
	h := sha256.Sum256(body)
	if !printable(webhookID, 64) {
		webhookID = "-"
	}
	return "wc:" + webhookID + ":" + hex.EncodeToString(h[:])
}

// unused reports whether a payload refusal is of something readable that
// payper does not use (answered "ignored"), rather than a broken payload
// ("rejected"): a refund that gave no money back, a currency payper does
// not support. Both answer 200: Shopify retries any other answer 8 times
// over 4 hours (https://shopify.dev/changelog/updates-to-webhook-retry-mechanism)
// and then deletes a subscription made through the Admin API
// (https://shopify.dev/docs/apps/build/webhooks/troubleshooting-webhooks),
// cutting off every later order of the topic.
func unused(err error) bool {
	switch errs.CodeOf(err) {
	case ReasonNoRefundTransaction, ReasonUnsupportedCurrency:
		return true
	}
	return false
}

// parse reads body by the delivery's topic into d: an order, refunds, or
// nothing for a topic payper does not take in. It returns Invalid, naming
// the payload field, for a payload it refuses.
func (d *delivery) parse(platform string, body []byte, now clock.Micros) error {
	var err error
	switch d.topic {
	case TopicShopifyOrderCreate, TopicShopifyOrderPaid, TopicShopifyOrderCancelled:
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
// the observer; the receipt says what it did. With pending not nil and a
// BatchObserver, a new order is added to *pending instead, for the batch's
// one NewOrdersTx; anything else that tells the observer first hands it
// the orders pending, so it hears of every order in the deliveries' order.
func (s *Service) applyTx(ctx context.Context, tx *store.Tx, st Store, d delivery, now clock.Micros, pending *[]NewOrder) (Receipt, error) {
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
	return s.applyStoredTx(ctx, tx, st, d, now, pending)
}

// applyStoredTx is applyTx once the delivery is stored (with no outcome
// yet): it stores what the delivery carries and records its outcome.
func (s *Service) applyStoredTx(ctx context.Context, tx *store.Tx, st Store, d delivery, now clock.Micros, pending *[]NewOrder) (Receipt, error) {
	var rc Receipt
	var err error
	rc.Outcome = OutcomeIgnored
	record := func(why *Rejection) error {
		detail := ""
		if why != nil {
			b, _ := json.Marshal(why)
			detail = string(b)
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET outcome = $1, order_id = $2, detail = $3 WHERE store_id = $4 AND delivery_id = $5`,
			rc.Outcome, rc.OrderID, detail, st.ID, d.id)
		return err
	}
	refunds := d.refunds
	switch {
	case d.rejected != nil:
		rc.Outcome, rc.Error = OutcomeRejected, d.rejected
		return rc, record(d.rejected)
	case d.ignored != nil:
		rc.Reason = d.ignored
		return rc, record(d.ignored)
	case d.order != nil:
		// A new order waiting for attribution must not see this one of its
		// customer (see writeNewTx): it is settled first.
		if pending != nil && d.order.customer != "" &&
			slices.ContainsFunc(*pending, func(n NewOrder) bool { return n.Order.CustomerID == d.order.customer }) {
			if err := s.flushNew(ctx, tx, pending); err != nil {
				return rc, err
			}
		}
		var created bool
		if rc.OrderID, created, err = upsertOrder(ctx, tx, st, *d.order, now); err != nil {
			return rc, err
		}
		rc.Outcome = OutcomeProcessed
		// Refunds that arrived before the order are applied with it (only
		// a new order can have any: a refund of a stored one finds it).
		if created {
			if err := lockOrderKey(ctx, tx, st.ID, d.order.externalID); err != nil {
				return rc, err
			}
			pending, err := takePending(ctx, tx, st.ID, d.order.externalID, d.order.amount.Currency)
			if err != nil {
				return rc, err
			}
			refunds = append(slices.Clip(refunds), pending...)
		}
		if no, ok := s.observer.(NewOrderObserver); ok && created {
			o, err := s.storeNew(ctx, tx, st, rc.OrderID, *d.order, refunds, now)
			if err != nil {
				return rc, err
			}
			if err := record(nil); err != nil {
				return rc, err
			}
			if _, ok := no.(BatchObserver); ok && pending != nil {
				*pending = append(*pending, NewOrder{Order: o, BrandID: st.BrandID})
				return rc, nil
			}
			return rc, no.NewOrderTx(ctx, tx, o, st.BrandID)
		}
	case d.refundOrder != "":
		var cur string
		find := func() error {
			return tx.QueryRowContext(ctx, `SELECT id, currency FROM orders WHERE brand_id = $1 AND channel = $2 AND external_id = $3`,
				st.BrandID, st.ID, d.refundOrder).Scan(&rc.OrderID, &cur)
		}
		err := find()
		if errors.Is(err, sql.ErrNoRows) {
			// The order may be being stored by another server right now:
			// under the order's lock, look again (see lockOrderKey).
			if err := lockOrderKey(ctx, tx, st.ID, d.refundOrder); err != nil {
				return rc, err
			}
			err = find()
		}
		if errors.Is(err, sql.ErrNoRows) {
			// Shopify does not order its deliveries: the refund is kept
			// until its order arrives (its retries last only 4 hours).
			rc.Outcome = OutcomePending
			for _, r := range d.refunds {
				if _, err := tx.ExecContext(ctx, `INSERT INTO pending_refunds (store_id, order_ext, refund_id, amount, currency, created_at, received_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (store_id, order_ext, refund_id) DO NOTHING`,
					st.ID, d.refundOrder, r.id, r.amount.Micros, string(r.amount.Currency), r.createdAt, now); err != nil {
					return rc, err
				}
			}
			return rc, record(nil)
		}
		if err != nil {
			return rc, err
		}
		rc.Outcome = OutcomeProcessed
		for _, r := range d.refunds {
			if string(r.amount.Currency) != cur {
				rc.Outcome, rc.Reason = OutcomeIgnored, &Rejection{Code: ReasonCurrencyMismatch, Field: "transactions",
					Message: fmt.Sprintf("refund %s is in %s and its order in %s", r.id, r.amount.Currency, cur)}
				return rc, record(rc.Reason)
			}
		}
	default:
		rc.Reason = &Rejection{Code: ReasonUnusedTopic, Message: fmt.Sprintf("payper does not take in %q deliveries", d.topic)}
		return rc, record(rc.Reason)
	}
	if rc.OrderID != "" {
		for _, r := range refunds {
			if _, err := tx.ExecContext(ctx, `INSERT INTO order_refunds (order_id, refund_id, amount, currency, created_at)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id, refund_id) DO NOTHING`,
				rc.OrderID, r.id, r.amount.Micros, string(r.amount.Currency), r.createdAt); err != nil {
				return rc, err
			}
		}
	}
	if err := record(nil); err != nil {
		return rc, err
	}
	if err := s.flushNew(ctx, tx, pending); err != nil {
		return rc, err
	}
	return rc, s.notify(ctx, tx, rc.OrderID)
}

// flushNew hands the new orders pending to the BatchObserver, and empties
// the list.
func (s *Service) flushNew(ctx context.Context, tx *store.Tx, pending *[]NewOrder) error {
	if pending == nil || len(*pending) == 0 {
		return nil
	}
	os := *pending
	*pending = nil
	return s.observer.(BatchObserver).NewOrdersTx(ctx, tx, os)
}

// lockOrderKey takes, on PostgreSQL, a transaction lock on the store's
// order ext, so that a refund kept pending and the order it waits for,
// written at once by two servers, cannot miss each other: the refund looks
// for the order again under the lock, and the new order takes its pending
// refunds under it, each statement seeing what the other committed
// (READ COMMITTED). On SQLite writers are serialized already.
func lockOrderKey(ctx context.Context, tx *store.Tx, storeID, ext string) error {
	if tx.Dialect() != store.Postgres {
		return nil
	}
	h := fnv.New64a()
	fmt.Fprintf(h, "pending_refunds|%s|%s", storeID, ext)
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64()))
	return err
}

// takePending removes and returns the refunds of the store's order ext
// that arrived before it, in the order's currency cur (one in another
// currency stays pending: it cannot reduce this order).
func takePending(ctx context.Context, tx *store.Tx, storeID, ext string, cur money.Currency) ([]incomingRefund, error) {
	rs, err := store.QueryAll(ctx, tx, func(r store.Scanner) (incomingRefund, error) {
		var x incomingRefund
		var c string
		err := r.Scan(&x.id, &x.amount.Micros, &c, &x.createdAt)
		x.amount.Currency = money.Currency(c)
		return x, err
	}, `SELECT refund_id, amount, currency, created_at FROM pending_refunds WHERE store_id = $1 AND order_ext = $2 AND currency = $3
		ORDER BY created_at, refund_id`, storeID, ext, string(cur))
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM pending_refunds WHERE store_id = $1 AND order_ext = $2 AND currency = $3`, storeID, ext, string(cur))
	return rs, err
}

// storeNew stores the refunds of an order just inserted (the first of
// each refund id) and returns the order as OrderTx would read it.
func (s *Service) storeNew(ctx context.Context, tx *store.Tx, st Store, oid string, in incoming, refunds []incomingRefund, now clock.Micros) (Order, error) {
	o := Order{ID: oid, StoreID: st.ID, Source: st.Platform, ExternalID: in.externalID, Amount: in.amount, Tax: in.tax, Shipping: in.shipping,
		DiscountCodes: in.codes,
		CustomerID:    in.customer, CustomerEmail: in.email, ClickID: in.clickID, Status: in.status, PlacedAt: in.placedAt, ReceivedAt: now, UpdatedAt: in.updatedAt,
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
// and whether the order is new. A cancelled Shopify order stays cancelled:
// Shopify has no way to reopen one that we know of, so an orders/paid as
// recent as the orders/cancelled (Shopify does not order deliveries) must
// not undo it.
func upsertOrder(ctx context.Context, tx *store.Tx, st Store, o incoming, now clock.Micros) (string, bool, error) {
	var oid string
	newID := id.New(OrderPrefix)
	err := tx.QueryRowContext(ctx, `INSERT INTO orders (id, brand_id, channel, source, external_id, amount, currency, discount_codes,
		customer_id, click_id, status, placed_at, received_at, updated_at, request_hash, tax, shipping,
		customer_email, customer_email_norm, customer_visitor)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '', $15, $16, $17, $18, $19)
		ON CONFLICT (brand_id, channel, external_id) DO UPDATE SET amount = excluded.amount, currency = excluded.currency,
			customer_email = CASE WHEN excluded.customer_email <> '' THEN excluded.customer_email ELSE orders.customer_email END,
			customer_email_norm = CASE WHEN excluded.customer_email <> '' THEN excluded.customer_email_norm ELSE orders.customer_email_norm END,
			customer_visitor = CASE WHEN excluded.customer_visitor <> '' THEN excluded.customer_visitor ELSE orders.customer_visitor END,
			tax = excluded.tax, shipping = excluded.shipping,
			discount_codes = excluded.discount_codes, customer_id = excluded.customer_id,
			click_id = CASE WHEN excluded.click_id <> '' THEN excluded.click_id ELSE orders.click_id END,
			status = excluded.status, updated_at = excluded.updated_at
		WHERE excluded.updated_at >= orders.updated_at
			AND (orders.source <> 'shopify' OR orders.status <> 'cancelled' OR excluded.status = 'cancelled')
		RETURNING id`,
		newID, st.BrandID, st.ID, st.Platform, o.externalID, o.amount.Micros, string(o.amount.Currency), codesJSON(o.codes),
		o.customer, o.clickID, o.status, o.placedAt, now, o.updatedAt, o.tax, o.shipping,
		o.email, normEmail(o.email), o.visitor).Scan(&oid)
	if errors.Is(err, sql.ErrNoRows) { // a stale delivery: the stored order is newer
		err = tx.QueryRowContext(ctx, `SELECT id FROM orders WHERE brand_id = $1 AND channel = $2 AND external_id = $3`,
			st.BrandID, st.ID, o.externalID).Scan(&oid)
	}
	return oid, err == nil && oid == newID, err
}

// Longest customer fields kept; longer ones are cut (an email) or dropped.
const (
	maxEmail = 254 // RFC 5321's path limit
	maxIP    = 64
	maxAgent = 1024
)

// cleanField is s trimmed, or "" when it is longer than max or holds a
// control character or invalid UTF-8 (a user agent has spaces).
func cleanField(s string, max int) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > max || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return ""
	}
	return s
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
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
// field (the amount) or currencyField when either is unreadable
// (unsupported_currency for a three-letter code payper does not support,
// which Receive answers as ignored; unknown_currency for anything else),
// and negative_amount or amount_too_large when the amount is outside
// 0…MaxAmount.
func parseAmount(field, value, currencyField, currency string) (money.Amount, error) {
	cur := money.Currency(strings.ToUpper(strings.TrimSpace(currency)))
	if !cur.Valid() && isoShaped(string(cur)) {
		return money.Amount{}, errs.Invalidf(currencyField, ReasonUnsupportedCurrency, "%s %q is a currency payper does not support", currencyField, currency)
	}
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

// isoShaped reports whether s has the shape of an ISO 4217 code: three
// letters A–Z.
func isoShaped(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
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

// shopifyMoney is one side of a Shopify price set: a decimal amount (sent
// as a string, sometimes as a number) and its currency.
type shopifyMoney struct {
	Amount       flexAmount `json:"amount"`
	CurrencyCode string     `json:"currency_code"`
}

// shopifyMoneySet is a Shopify price set (a MoneyBag): the amount in the
// shop's currency and in the currency the customer paid in.
type shopifyMoneySet struct {
	ShopMoney        *shopifyMoney `json:"shop_money"`
	PresentmentMoney *shopifyMoney `json:"presentment_money"`
}

// flexAmount is a decimal amount sent as a JSON string or number, kept as
// its text.
type flexAmount string

func (f *flexAmount) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexAmount(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexAmount(n)
	return nil
}

type shopifyOrder struct {
	ID            flexID           `json:"id"`
	CreatedAt     string           `json:"created_at"`
	UpdatedAt     string           `json:"updated_at"`
	CancelledAt   *string          `json:"cancelled_at"`
	Currency      string           `json:"currency"`
	TotalPrice    string           `json:"total_price"`
	TotalPriceSet *shopifyMoneySet `json:"total_price_set"`
	TotalTax      string           `json:"total_tax"`
	TotalTaxSet   *shopifyMoneySet `json:"total_tax_set"`
	// TotalShippingPriceSet is the shipping the order charged, in both
	// currencies (the REST Order has no plain-number twin).
	TotalShippingPriceSet *shopifyMoneySet `json:"total_shipping_price_set"`
	FinancialStatus       string           `json:"financial_status"`
	DiscountCodes         []struct {
		Code string `json:"code"`
	} `json:"discount_codes"`
	LandingSite    string `json:"landing_site"`
	NoteAttributes []struct {
		Name  string `json:"name"`
		Value any    `json:"value"`
	} `json:"note_attributes"`
	Customer *struct {
		ID    flexID `json:"id"`
		Email string `json:"email"`
	} `json:"customer"`
	// Email and ContactEmail are the customer's address (the Order
	// resource's email and contact_email); BrowserIP and ClientDetails the
	// browser the order was placed from
	// (https://shopify.dev/docs/api/admin-rest/latest/resources/order:
	// browser_ip, client_details.browser_ip, client_details.user_agent).
	Email         string `json:"email"`
	ContactEmail  string `json:"contact_email"`
	BrowserIP     string `json:"browser_ip"`
	ClientDetails *struct {
		BrowserIP string `json:"browser_ip"`
		UserAgent string `json:"user_agent"`
	} `json:"client_details"`
}

// StatusCancelled is the status of a Shopify order whose cancelled_at is
// set: it pays no commission or CPA, whatever its financial_status.
const StatusCancelled = "cancelled"

// parseShopifyOrder reads an orders/create, orders/paid or orders/cancelled
// payload. The amount is in the shop's currency: total_price_set.shop_money
// when it is sent, else total_price and currency, which Shopify documents
// in the shop's currency too (the customer's are presentment_currency and
// total_price_set.presentment_money:
// https://shopify.dev/docs/api/admin-rest/latest/resources/order), so that
// refunds, read in shop money as well, reduce it in the same currency. An
// order with cancelled_at set has status cancelled. The click id comes from
// a note attribute named click_id, payper_click_id or _payper_click_id,
// else from the click_id query parameter of landing_site.
func parseShopifyOrder(body []byte, now clock.Micros) (*incoming, error) {
	var p shopifyOrder
	if err := decodePayload(body, &p); err != nil {
		return nil, err
	}
	if !printable(string(p.ID), maxOrderID) {
		return nil, badPayload("id", "the order has no id")
	}
	var a money.Amount
	var err error
	if sm := p.TotalPriceSet; sm != nil && sm.ShopMoney != nil {
		a, err = parseAmount("total_price_set.shop_money.amount", string(sm.ShopMoney.Amount), "total_price_set.shop_money.currency_code", sm.ShopMoney.CurrencyCode)
	} else {
		a, err = parseAmount("total_price", p.TotalPrice, "currency", p.Currency)
	}
	if err != nil {
		return nil, err
	}
	o := &incoming{externalID: string(p.ID), amount: a, status: p.FinancialStatus, placedAt: platformTime(p.CreatedAt, now)}
	// Tax and shipping in the same (shop) money as the total.
	tax, taxField := shopMoneyOf(p.TotalTaxSet, a.Currency), "total_tax_set.shop_money.amount"
	if p.TotalTaxSet == nil {
		tax, taxField = p.TotalTax, "total_tax"
	}
	if o.tax, o.shipping, err = taxAndShipping(a, taxField, tax, "total_shipping_price_set.shop_money.amount",
		shopMoneyOf(p.TotalShippingPriceSet, a.Currency)); err != nil {
		return nil, err
	}
	if p.CancelledAt != nil && *p.CancelledAt != "" {
		o.status = StatusCancelled
	}
	o.updatedAt = platformTime(p.UpdatedAt, o.placedAt)
	var codes []string
	for _, dc := range p.DiscountCodes {
		codes = append(codes, dc.Code)
	}
	o.codes = normCodes(codes)
	if p.Customer != nil {
		o.customer = string(p.Customer.ID)
	}
	o.email = firstOf(p.Email, p.ContactEmail)
	if o.email == "" && p.Customer != nil {
		o.email = p.Customer.Email
	}
	o.ip = p.BrowserIP
	if p.ClientDetails != nil {
		o.ip = firstOf(o.ip, p.ClientDetails.BrowserIP)
		o.agent = p.ClientDetails.UserAgent
	}
	o.email, o.ip, o.agent = cleanField(o.email, maxEmail), cleanField(o.ip, maxIP), cleanField(o.agent, maxAgent)
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

// shopMoneyOf is the shop-money amount of a price set in currency cur;
// "" when the set is absent or in another currency (not taken into
// account).
func shopMoneyOf(ms *shopifyMoneySet, cur money.Currency) string {
	if ms == nil || ms.ShopMoney == nil || money.Currency(strings.ToUpper(strings.TrimSpace(ms.ShopMoney.CurrencyCode))) != cur {
		return ""
	}
	return string(ms.ShopMoney.Amount)
}

// taxAndShipping reads an order's tax and shipping (decimal strings in the
// currency of its total; "" is none): Invalid naming the field when one is
// unreadable or negative, or when together they exceed the total.
func taxAndShipping(total money.Amount, taxField, tax, shipField, ship string) (int64, int64, error) {
	var out [2]int64
	for i, f := range []struct{ field, value string }{{taxField, tax}, {shipField, ship}} {
		v := strings.TrimSpace(f.value)
		if v == "" {
			continue
		}
		a, err := money.Parse(v, total.Currency)
		if err != nil {
			return 0, 0, errs.Invalidf(f.field, "invalid_amount", "%s %q is not a decimal amount", f.field, f.value)
		}
		if a.Micros < 0 {
			return 0, 0, errs.Invalidf(f.field, codeNegativeAmount, "%s %q is negative", f.field, f.value)
		}
		if a.Micros > total.Micros {
			return 0, 0, errs.Invalidf(f.field, "exceeds_total", "%s %q is more than the order's total %s", f.field, f.value, money.FormatMicros(total.Micros))
		}
		out[i] = a.Micros
	}
	if out[0]+out[1] > total.Micros {
		return 0, 0, errs.Invalidf(shipField, "exceeds_total", "tax and shipping add up to more than the order's total %s", money.FormatMicros(total.Micros))
	}
	return out[0], out[1], nil
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
	RefundLineItems []struct {
		SubtotalSet *shopifyMoneySet `json:"subtotal_set"`
		TotalTaxSet *shopifyMoneySet `json:"total_tax_set"`
	} `json:"refund_line_items"`
	OrderAdjustments []struct {
		AmountSet    *shopifyMoneySet `json:"amount_set"`
		TaxAmountSet *shopifyMoneySet `json:"tax_amount_set"`
	} `json:"order_adjustments"`
	RefundShippingLines []struct {
		SubtotalAmountSet *shopifyMoneySet `json:"subtotal_amount_set"`
	} `json:"refund_shipping_lines"`
	TotalDutiesSet *shopifyMoneySet `json:"total_duties_set"`
}

// setSum adds up the shop and presentment sides of price sets, each with
// its sign; ok is false when a side is missing, unreadable or in two
// currencies.
type setSum struct {
	shop, pres       money.Amount
	n                int
	bad              bool
	shopCur, presCur money.Currency
}

func (t *setSum) add(sign int64, ms *shopifyMoneySet) {
	if ms == nil {
		return
	}
	if ms.ShopMoney == nil || ms.PresentmentMoney == nil {
		t.bad = true
		return
	}
	side := func(m *shopifyMoney, sum *money.Amount) {
		cur := money.Currency(strings.ToUpper(strings.TrimSpace(m.CurrencyCode)))
		a, err := money.Parse(strings.TrimSpace(string(m.Amount)), cur)
		if err != nil || !cur.Valid() || (sum.Currency != "" && sum.Currency != cur) || a.Micros > MaxAmount || a.Micros < -MaxAmount {
			t.bad = true
			return
		}
		sum.Currency = cur
		sum.Micros += sign * a.Micros
	}
	side(ms.ShopMoney, &t.shop)
	side(ms.PresentmentMoney, &t.pres)
	t.n++
}

// parseShopifyRefund reads a refunds/create payload. Money went back only
// through successful refund transactions: a refund without one (a restock,
// "transactions": []) is refused as no_refund_transaction, which Receive
// answers as ignored. The transactions are in the currency the customer
// paid in (presentment); the refund is kept in the shop's currency, as its
// order is: the shop money of what it refunds — refund_line_items'
// subtotal_set and total_tax_set, refund_shipping_lines' subtotal_amount_set
// and total_duties_set, less order_adjustments' amount_set and
// tax_amount_set (Shopify sends a refunded shipping cost there as a
// negative adjustment, and a refund of items for less than their price as a
// positive one) — when their presentment side adds up to the transactions,
// as Shopify makes it (https://shopify.dev/docs/api/admin-rest/latest/resources/refund).
// When it does not, the transactions are converted at the rate of those
// parts; without parts in shop money, the transactions are kept as they are
// (the order's currency decides whether they count).
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
		return "", nil, errs.Invalidf("transactions", ReasonNoRefundTransaction, "refund %s has no successful refund transaction: no money went back", p.ID)
	}
	var parts setSum
	for _, li := range p.RefundLineItems {
		parts.add(1, li.SubtotalSet)
		parts.add(1, li.TotalTaxSet)
	}
	for _, sl := range p.RefundShippingLines {
		parts.add(1, sl.SubtotalAmountSet)
	}
	parts.add(1, p.TotalDutiesSet)
	for _, oa := range p.OrderAdjustments {
		parts.add(-1, oa.AmountSet)
		parts.add(-1, oa.TaxAmountSet)
	}
	if parts.n > 0 && !parts.bad && parts.shop.Micros > 0 && parts.pres.Micros > 0 && parts.pres.Currency == r.amount.Currency {
		shop := parts.shop
		if parts.pres.Micros != r.amount.Micros {
			// transactions × shop/presentment, to the cent, half up.
			x := new(big.Int).Mul(big.NewInt(r.amount.Micros), big.NewInt(parts.shop.Micros))
			x.Mul(x, big.NewInt(100))
			q, m := new(big.Int).QuoRem(x, big.NewInt(parts.pres.Micros*money.Scale), new(big.Int))
			if new(big.Int).Mul(m, big.NewInt(2)).Cmp(big.NewInt(parts.pres.Micros*money.Scale)) >= 0 {
				q.Add(q, big.NewInt(1))
			}
			shop.Micros = q.Int64() * (money.Scale / 100)
		}
		switch {
		case shop.Micros <= 0:
			return "", nil, errs.Invalidf("refund_line_items", codeNegativeAmount, "the refund's shop money %s must be more than zero", money.FormatMicros(shop.Micros))
		case shop.Micros > MaxAmount:
			return "", nil, errs.Invalidf("refund_line_items", codeAmountTooLarge, "the refund's shop money is more than %s", money.FormatMicros(MaxAmount))
		}
		r.amount = shop
	}
	return string(p.OrderID), []incomingRefund{r}, nil
}

type wooOrder struct {
	ID            flexID `json:"id"`
	Status        string `json:"status"`
	Currency      string `json:"currency"`
	Total         string `json:"total"`
	TotalTax      string `json:"total_tax"`
	ShippingTotal string `json:"shipping_total"`
	CustomerID    flexID `json:"customer_id"`
	// Billing.Email is the customer's address, CustomerIPAddress and
	// CustomerUserAgent the browser the order was placed from
	// (https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties:
	// billing.email, customer_ip_address, customer_user_agent).
	Billing struct {
		Email string `json:"email"`
	} `json:"billing"`
	CustomerIPAddress string `json:"customer_ip_address"`
	CustomerUserAgent string `json:"customer_user_agent"`
	DateCreatedGMT    string `json:"date_created_gmt"`
	DateModifiedGMT   string `json:"date_modified_gmt"`
	CouponLines       []struct {
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
	// total_tax includes the shipping's tax; shipping_total excludes it
	// (https://woocommerce.github.io/woocommerce-rest-api-docs/#order-properties).
	if o.tax, o.shipping, err = taxAndShipping(a, "total_tax", p.TotalTax, "shipping_total", p.ShippingTotal); err != nil {
		return nil, nil, err
	}
	if p.CustomerID != "0" {
		o.customer = string(p.CustomerID)
	}
	o.email = cleanField(p.Billing.Email, maxEmail)
	o.ip, o.agent = cleanField(p.CustomerIPAddress, maxIP), cleanField(p.CustomerUserAgent, maxAgent)
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
