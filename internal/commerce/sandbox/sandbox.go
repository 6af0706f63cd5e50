// Package sandbox is payper's built-in sandbox store: simulated Shopify
// shops that the demo and tests use like real ones. Their Admin GraphQL API
// (discount codes) is served under orders.SandboxShopPath and answers as
// Shopify documents it; the driver places orders and refunds, which reach
// payper as signed Shopify webhooks over HTTP, through the same path real
// shops use.
package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/commerce/shopify"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
)

// Shops serves the sandbox stores' Shopify Admin API: one simulated shop per
// sandbox store, found by shop domain and access token.
type Shops struct {
	orders *orders.Service
	mu     sync.Mutex
	shops  map[string]*shopify.Fake // by store id
}

// NewShops returns the sandbox shops of the stores in o.
func NewShops(o *orders.Service) *Shops {
	return &Shops{orders: o, shops: map[string]*shopify.Fake{}}
}

// ServeHTTP answers SandboxShopPath + shop + "/admin/api/{version}/graphql.json"
// as Shopify would; an unknown shop or token answers 401 as Shopify does.
func (s *Shops) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, orders.SandboxShopPath)
	shop, _, _ := strings.Cut(rest, "/")
	token := r.Header.Get("X-Shopify-Access-Token")
	storeID, err := s.orders.SandboxStoreFor(r.Context(), shop, token)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":"[API] Invalid API key or access token (unrecognized login or wrong password)"}`)
		return
	}
	s.mu.Lock()
	f, ok := s.shops[storeID]
	if !ok {
		f = shopify.NewFake(shop, token)
		s.shops[storeID] = f
	}
	s.mu.Unlock()
	http.StripPrefix(strings.TrimSuffix(orders.SandboxShopPath, "/")+"/"+shop, f).ServeHTTP(w, r)
}

// Driver places orders and refunds in sandbox stores.
type Driver struct {
	orders *orders.Service
	clock  clock.Clock
	http   *http.Client
	log    *slog.Logger
}

// NewDriver returns a driver delivering webhooks with client.
func NewDriver(o *orders.Service, clk clock.Clock, client *http.Client, log *slog.Logger) *Driver {
	if log == nil {
		log = slog.Default()
	}
	return &Driver{orders: o, clock: clk, http: client, log: log}
}

// Order is a sale to place in a sandbox store.
type Order struct {
	StoreID string `json:"store_id"`
	// OrderID is the shop's order id; a new one when empty.
	OrderID    string          `json:"order_id"`
	Amount     json.RawMessage `json:"amount"`
	Code       string          `json:"code"`
	ClickID    string          `json:"click_id"`
	CustomerID string          `json:"customer_id"`
	// CustomerEmail, BrowserIP and UserAgent are the customer's address
	// and the browser the order is placed from, sent as Shopify does
	// (email and contact_email, browser_ip, client_details.browser_ip and
	// user_agent); each left out when empty.
	CustomerEmail string `json:"customer_email"`
	BrowserIP     string `json:"browser_ip"`
	UserAgent     string `json:"user_agent"`
}

// Refund is a refund to make of a sandbox order.
type Refund struct {
	StoreID string          `json:"store_id"`
	OrderID string          `json:"order_id"`
	Amount  json.RawMessage `json:"amount"`
}

// Delivery is what the driver sent and what payper answered.
type Delivery struct {
	OrderID    string          `json:"order_id"`
	DeliveryID string          `json:"delivery_id"`
	Status     int             `json:"status"`
	Receipt    json.RawMessage `json:"receipt"`
}

// PlaceOrder sends an orders/paid webhook for a new order of the sandbox
// store o.StoreID, signed with its secret, to its webhook URL. It returns
// Invalid for bad fields, NotFound for an unknown sandbox store, and
// Unavailable when the webhook could not be delivered.
func (d *Driver) PlaceOrder(ctx context.Context, o Order) (Delivery, error) {
	var a money.Amount
	var c errs.Collector
	if len(o.Amount) == 0 {
		c.Addf("amount", "required", `amount is required, such as {"amount":"49.90","currency":"EUR"}`)
	} else if err := a.UnmarshalJSON(o.Amount); err != nil {
		c.Add("amount", err)
	} else if a.Micros <= 0 {
		c.Addf("amount.amount", "invalid_amount", "amount must be greater than zero")
	}
	if err := c.Err(); err != nil {
		return Delivery{}, err
	}
	st, err := d.orders.SandboxStore(ctx, o.StoreID)
	if err != nil {
		return Delivery{}, err
	}
	if o.OrderID == "" {
		o.OrderID = strconv.FormatInt(time.Now().UnixNano()%1e15, 10)
	}
	now := d.clock.Now().UTC().Format(time.RFC3339)
	body := map[string]any{
		"id": json.Number(numericOr(o.OrderID)), "name": "#" + o.OrderID, "created_at": now, "updated_at": now,
		"currency": string(a.Currency), "total_price": money.FormatMicros(a.Micros), "financial_status": "paid",
		"discount_codes": []map[string]string{}, "note_attributes": []map[string]string{}, "line_items": []any{},
	}
	if o.Code != "" {
		body["discount_codes"] = []map[string]string{{"code": o.Code, "amount": "0.00", "type": "percentage"}}
	}
	if o.ClickID != "" {
		body["note_attributes"] = []map[string]string{{"name": "payper_click_id", "value": o.ClickID}}
		body["landing_site"] = "/?click_id=" + o.ClickID
	}
	if o.CustomerID != "" {
		body["customer"] = map[string]any{"id": json.Number(numericOr(o.CustomerID))}
	}
	if o.CustomerEmail != "" {
		body["email"], body["contact_email"] = o.CustomerEmail, o.CustomerEmail
		if c, ok := body["customer"].(map[string]any); ok {
			c["email"] = o.CustomerEmail
		}
	}
	if o.BrowserIP != "" {
		body["browser_ip"] = o.BrowserIP
	}
	if o.BrowserIP != "" || o.UserAgent != "" {
		body["client_details"] = map[string]any{"browser_ip": o.BrowserIP, "user_agent": o.UserAgent}
	}
	return d.deliver(ctx, st, orders.TopicShopifyOrderPaid, o.OrderID, body)
}

// RefundOrder sends a refunds/create webhook refunding r.Amount of a
// sandbox order. Errors as PlaceOrder's.
func (d *Driver) RefundOrder(ctx context.Context, r Refund) (Delivery, error) {
	var a money.Amount
	var c errs.Collector
	if r.OrderID == "" {
		c.Addf("order_id", "required", "order_id is required")
	}
	if len(r.Amount) == 0 {
		c.Addf("amount", "required", `amount is required, such as {"amount":"19.90","currency":"EUR"}`)
	} else if err := a.UnmarshalJSON(r.Amount); err != nil {
		c.Add("amount", err)
	} else if a.Micros <= 0 {
		c.Addf("amount.amount", "invalid_amount", "amount must be greater than zero")
	}
	if err := c.Err(); err != nil {
		return Delivery{}, err
	}
	st, err := d.orders.SandboxStore(ctx, r.StoreID)
	if err != nil {
		return Delivery{}, err
	}
	body := map[string]any{
		"id": json.Number(strconv.FormatInt(time.Now().UnixNano()%1e15, 10)), "order_id": json.Number(numericOr(r.OrderID)),
		"created_at":        d.clock.Now().UTC().Format(time.RFC3339),
		"refund_line_items": []any{}, "order_adjustments": []any{},
		"transactions": []map[string]string{{"kind": "refund", "status": "success", "amount": money.FormatMicros(a.Micros), "currency": string(a.Currency)}},
	}
	return d.deliver(ctx, st, orders.TopicShopifyRefund, r.OrderID, body)
}

// numericOr keeps a numeric id as a JSON number, as Shopify sends ids, and
// quotes anything else.
func numericOr(s string) string {
	if _, err := strconv.ParseUint(s, 10, 63); err == nil {
		return s
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func (d *Driver) deliver(ctx context.Context, st orders.StoreAccess, topic, orderID string, body map[string]any) (Delivery, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return Delivery{}, fmt.Errorf("sandbox store: encode %s: %w", topic, err)
	}
	dl := Delivery{OrderID: orderID, DeliveryID: id.Secret(10)}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, st.WebhookURL, bytes.NewReader(raw))
	if err != nil {
		return dl, fmt.Errorf("sandbox store: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Shopify-Topic", topic)
	req.Header.Set("X-Shopify-Hmac-Sha256", orders.Sign(st.WebhookSecret, raw))
	req.Header.Set("X-Shopify-Shop-Domain", st.Shop)
	req.Header.Set("X-Shopify-Webhook-Id", dl.DeliveryID)
	req.Header.Set("X-Shopify-Event-Id", "evt-"+dl.DeliveryID)
	req.Header.Set("X-Shopify-Triggered-At", d.clock.Now().UTC().Format(time.RFC3339Nano))
	resp, err := d.http.Do(req)
	if err != nil {
		return dl, errs.E(errs.Unavailable, "webhook_failed", "sandbox store %s could not deliver its webhook to %s: %v", st.ID, st.WebhookURL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	dl.Status, dl.Receipt = resp.StatusCode, json.RawMessage(b)
	if !json.Valid(b) {
		dl.Receipt, _ = json.Marshal(string(b))
	}
	return dl, nil
}

// NewDriverHandler serves the driver: POST DriverPath+"orders" and
// DriverPath+"refunds" (the caller restricts it to admin keys).
func NewDriverHandler(d *Driver) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+DriverPath+"orders", func(w http.ResponseWriter, r *http.Request) {
		var o Order
		if !decodeBody(w, r, &o) {
			return
		}
		dl, err := d.PlaceOrder(r.Context(), o)
		answer(w, d.log, dl, err)
	})
	mux.HandleFunc("POST "+DriverPath+"refunds", func(w http.ResponseWriter, r *http.Request) {
		var rf Refund
		if !decodeBody(w, r, &rf) {
			return
		}
		dl, err := d.RefundOrder(r.Context(), rf)
		answer(w, d.log, dl, err)
	})
	return mux
}

func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		answer(w, nil, nil, errs.Invalidf("", "invalid_json", "the body is not the expected JSON object: %v", err))
		return false
	}
	return true
}

// DriverPath is where the driver is served (admin keys only).
const DriverPath = "/sandbox/driver/store/"

var statusOf = map[errs.Kind]int{
	errs.Invalid:     http.StatusBadRequest,
	errs.NotFound:    http.StatusNotFound,
	errs.Conflict:    http.StatusConflict,
	errs.Unavailable: http.StatusServiceUnavailable,
}

func answer(w http.ResponseWriter, log *slog.Logger, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		var e *errs.Error
		status, code, msg, field := http.StatusInternalServerError, "internal", "internal error", ""
		if errors.As(err, &e) && statusOf[e.Kind] != 0 {
			status, code, msg, field = statusOf[e.Kind], errs.CodeOf(e), e.Message, e.Field
		} else if log != nil {
			log.Error("sandbox store driver", "err", err)
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg, "field": field}})
		return
	}
	json.NewEncoder(w).Encode(v)
}
