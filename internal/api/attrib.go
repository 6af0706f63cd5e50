package api

import (
	"net/http"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/orders"
)

func (s *Server) attribRoutes() []Route {
	return []Route{
		{"GET", "/v1/stores", anyKey, s.listStores},
		{"POST", "/v1/campaigns/{id}/codes", anyKey, s.createCode},
		{"GET", "/v1/campaigns/{id}/codes", anyKey, s.listCodes},
		{"GET", "/v1/campaigns/{id}/conversions", anyKey, s.listConversions},
		{"POST", "/v1/conversions/{order_id}/refunds", anyKey, s.refundConversion},
	}
}

func (s *Server) listStores(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	sts, err := s.Orders.ListStores(r.Context(), p)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[orders.Store]{Data: sts})
}

func (s *Server) createCode(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var d attrib.CodeDraft
	if err := decode(w, r, &d); err != nil {
		return err
	}
	c, err := s.Attrib.CreateCode(r.Context(), p, r.PathValue("id"), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

func (s *Server) listCodes(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	cs, err := s.Attrib.ListCodes(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[attrib.Code]{Data: cs})
}

func (s *Server) listConversions(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	cs, err := s.Attrib.ListConversions(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[attrib.Conversion]{Data: cs})
}

func (s *Server) refundConversion(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var rf orders.ConversionRefund
	if err := decode(w, r, &rf); err != nil {
		return err
	}
	o, err := s.Orders.RefundConversion(r.Context(), p, r.PathValue("order_id"), rf)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, o)
}
