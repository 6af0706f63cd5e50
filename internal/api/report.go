package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payper/payper/internal/ads/csvimport"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/report"
)

func (s *Server) reportRoutes() []Route {
	return []Route{
		{"GET", "/v1/campaigns/{id}/report", anyKey, s.campaignReport},
		{"GET", "/v1/campaigns/{id}/report/series", anyKey, s.campaignSeries},
		{"PUT", "/v1/campaigns/{id}/operating_cost", anyKey, s.setOperatingCost},
		{"POST", "/v1/campaigns/{id}/ads", anyKey, s.createAd},
		{"GET", "/v1/campaigns/{id}/ads", anyKey, s.listAds},
		{"POST", "/v1/campaigns/{id}/ads/results", anyKey, s.uploadAdResults},
		{"POST", "/v1/campaigns/{id}/ads/import", anyKey, s.importAds},
		{"POST", "/v1/campaigns/{id}/optimize", anyKey, s.optimize},
		{"GET", "/v1/campaigns/{id}/optimize", anyKey, s.listPlans},
		{"GET", "/v1/campaigns/{id}/optimize/{plan_id}/preview", anyKey, s.previewPlan},
		{"POST", "/v1/campaigns/{id}/optimize/{plan_id}/apply", anyKey, s.applyPlan},
	}
}

// campaignReport answers JSON, or CSV with format=csv or Accept: text/csv.
func (s *Server) campaignReport(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	q := r.URL.Query()
	win, err := report.ParseWindow(q.Get("window"), q.Get("from"), q.Get("to"), s.Report.Now())
	if err != nil {
		return err
	}
	format := q.Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
		format = "csv"
	}
	if format != "" && format != "csv" && format != "json" {
		return errs.Invalidf("format", "invalid", "format must be json or csv")
	}
	rep, err := s.Report.Campaign(r.Context(), p, r.PathValue("id"), win)
	if err != nil {
		return err
	}
	if format != "csv" {
		return writeJSON(w, http.StatusOK, rep)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report-`+rep.CampaignID+`-`+win.Name+`.csv"`)
	return report.WriteCSV(w, rep)
}

// campaignSeries answers the campaign's daily series over the window and
// its escrow's burn (report.Series): the figures the web dashboard's charts
// draw.
func (s *Server) campaignSeries(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	q := r.URL.Query()
	win, err := report.ParseWindow(q.Get("window"), q.Get("from"), q.Get("to"), s.Report.Now())
	if err != nil {
		return err
	}
	ser, err := s.Report.Series(r.Context(), p, r.PathValue("id"), win)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ser)
}

func (s *Server) setOperatingCost(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var in struct {
		Amount json.RawMessage `json:"amount"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var a money.Amount
	if len(in.Amount) == 0 {
		return errs.Invalidf("amount", "required", `amount is required, such as {"amount":"250","currency":"EUR"}`)
	}
	if err := a.UnmarshalJSON(in.Amount); err != nil {
		return errs.WithField(err, "amount")
	}
	got, err := s.Report.SetOperatingCost(r.Context(), p, r.PathValue("id"), a)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"operating_cost": got})
}

func (s *Server) createAd(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var d report.AdDraft
	if err := decode(w, r, &d); err != nil {
		return err
	}
	a, err := s.Report.CreateAd(r.Context(), p, s.Links, r.PathValue("id"), d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) listAds(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	as, err := s.Report.ListAds(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[report.AdPlacement]{Data: as})
}

// maxCSV bounds an uploaded CSV of ad results.
const maxCSV = 8 << 20

// uploadAdResults takes a CSV body (text/csv) of daily ad results.
func (s *Server) uploadAdResults(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	rows, err := csvimport.Parse(http.MaxBytesReader(w, r.Body, maxCSV), 100_000)
	var ce *csvimport.Errors
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return err
	case errors.As(err, &ce):
		e := &errs.Error{Kind: errs.Invalid, Code: "invalid_csv", Message: ce.Error()}
		for _, row := range ce.Rows {
			field := "line " + strconv.Itoa(row.Line)
			if row.Column != "" {
				field += " " + row.Column
			}
			e.Fields = append(e.Fields, errs.FieldError{Field: field, Code: "invalid_row", Message: row.Message})
		}
		if len(e.Fields) > 0 {
			e.Field = e.Fields[0].Field
		}
		return e
	case err != nil:
		return errs.Invalidf("", "invalid_csv", "%v", err)
	}
	res, err := s.Report.ImportRows(r.Context(), p, r.PathValue("id"), "csv", rows)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) importAds(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var in struct {
		Platform string `json:"platform"`
		From     string `json:"from"`
		To       string `json:"to"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	var c errs.Collector
	from, err1 := time.Parse("2006-01-02", in.From)
	to, err2 := time.Parse("2006-01-02", in.To)
	if err1 != nil {
		c.Addf("from", "invalid_date", "from must be a date YYYY-MM-DD")
	}
	if err2 != nil {
		c.Addf("to", "invalid_date", "to must be a date YYYY-MM-DD")
	}
	if err := c.Err(); err != nil {
		return err
	}
	res, err := s.Report.Import(r.Context(), p, r.PathValue("id"), in.Platform, from, to)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) optimize(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var in struct {
		Mark string `json:"mark"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	plan, err := s.Report.Optimize(r.Context(), p, r.PathValue("id"), in.Mark)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, plan)
}

func (s *Server) applyPlan(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var in struct {
		Confirm bool `json:"confirm"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	res, err := s.Report.ApplyPlan(r.Context(), p, r.PathValue("id"), r.PathValue("plan_id"), in.Confirm)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// previewPlan answers what applying the plan would change if it ran now
// (report.PreviewPlan, the figures the web's optimize page shows), changing
// nothing.
func (s *Server) previewPlan(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	res, err := s.Report.PreviewPlan(r.Context(), p, r.PathValue("id"), r.PathValue("plan_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	plans, err := s.Report.Plans(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[report.Plan]{Data: plans})
}
