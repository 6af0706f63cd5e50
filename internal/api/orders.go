package api

import (
	"io"
	"net/http"

	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/orders"
)

func (s *Server) ordersRoutes() []Route {
	return []Route{
		{"POST", "/v1/stores", anyKey, s.connectStore},
		{"POST", "/v1/conversions", anyKey, s.convert},
		{"GET", "/v1/orders", anyKey, s.listOrders},
		// The signature over the raw body is a webhook's credential.
		{"POST", orders.WebhookPath + "shopify/{store_id}", public, s.webhook(orders.Shopify)},
		{"POST", orders.WebhookPath + "woocommerce/{store_id}", public, s.webhook(orders.WooCommerce)},
	}
}

func (s *Server) connectStore(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var d orders.StoreDraft
	if err := decode(w, r, &d); err != nil {
		return err
	}
	st, err := s.Orders.ConnectStore(r.Context(), p, d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, st)
}

func (s *Server) convert(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var c orders.Conversion
	if err := decode(w, r, &c); err != nil {
		return err
	}
	o, created, err := s.Orders.Convert(r.Context(), p, c)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, o)
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	before, limit, err := page(r)
	if err != nil {
		return err
	}
	os, err := s.Orders.List(r.Context(), p, before, limit)
	if err != nil {
		return err
	}
	out := list[orders.Order]{Data: os}
	if len(os) == limit {
		out.NextBefore = os[len(os)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

// webhook receives a store's deliveries: the raw body (at most
// orders.MaxWebhookBody) and the headers go to the domain, which verifies
// the signature before anything is parsed or stored.
func (s *Server) webhook(platform string) handler {
	return func(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, orders.MaxWebhookBody))
		if err != nil {
			return err
		}
		rc, err := s.Orders.Receive(r.Context(), platform, r.PathValue("store_id"), r.Header, body)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, rc)
	}
}
