package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/money"
)

var errAdminOnly = errs.E(errs.Forbidden, "forbidden", "this operation needs an admin key")

func (s *Server) me(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	out := map[string]any{"role": p.Role}
	switch p.Role {
	case identity.RoleBrand:
		b, err := s.Identity.GetBrand(r.Context(), p, p.SubjectID)
		if err != nil {
			return err
		}
		out["brand"] = b
	case identity.RoleCreator:
		c, err := s.Identity.GetCreator(r.Context(), p, p.SubjectID)
		if err != nil {
			return err
		}
		out["creator"] = c
	}
	return writeJSON(w, http.StatusOK, out)
}

type createBrandReq struct {
	Name string `json:"name"`
}

func (s *Server) createBrand(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if !p.IsAdmin() {
		return errAdminOnly
	}
	var req createBrandReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	b, key, err := s.Identity.CreateBrand(r.Context(), req.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"brand": b, "api_key": key})
}

func (s *Server) getBrand(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	b, err := s.Identity.GetBrand(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, b)
}

type createCreatorReq struct {
	Name    string `json:"name"`
	Country string `json:"country"`
}

func (s *Server) createCreator(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if !p.IsAdmin() {
		return errAdminOnly
	}
	var req createCreatorReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	c, key, err := s.Identity.CreateCreator(r.Context(), req.Name, req.Country)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, map[string]any{"creator": c, "api_key": key})
}

func (s *Server) getCreator(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	c, err := s.Identity.GetCreator(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

type balanceOut struct {
	Currency      money.Currency `json:"currency"`
	Held          money.Amount   `json:"held"`
	Available     money.Amount   `json:"available"`
	PendingPayout money.Amount   `json:"pending_payout"`
	Debt          money.Amount   `json:"debt"`
	PaidOut       money.Amount   `json:"paid_out"`
}

func (s *Server) creatorBalances(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	c, err := s.Identity.GetCreator(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	bs, err := s.Ledger.Balances(r.Context(), c.ID)
	if err != nil {
		return err
	}
	out := []balanceOut{}
	for _, b := range bs {
		cur := b.Currency
		m := func(v int64) money.Amount { return money.New(v, cur) }
		out = append(out, balanceOut{Currency: cur, Held: m(b.Held), Available: m(b.Available), PendingPayout: m(b.PendingPayout), Debt: m(b.Debt), PaidOut: m(b.PaidOut)})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"creator_id": c.ID, "balances": out})
}

type createCampaignReq struct {
	Name     string          `json:"name"`
	Currency string          `json:"currency"`
	Budget   json.RawMessage `json:"budget"`
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if p.BrandID() == "" {
		return errs.E(errs.Forbidden, "forbidden", "only a brand can create campaigns")
	}
	var req createCampaignReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	var c errs.Collector
	d := campaign.Draft{Name: req.Name}
	if len(req.Budget) == 0 {
		c.Addf("budget", "required", `budget is required, e.g. {"amount":"500.00","currency":"EUR"}`)
	} else if b, err := amountField(req.Budget, "budget"); err != nil {
		c.Add("", err)
	} else {
		d.Budget = b
		if req.Currency != "" && req.Currency != string(b.Currency) {
			c.Addf("currency", "currency_mismatch", "currency %q differs from the budget's %s", req.Currency, b.Currency)
		}
	}
	if err := d.Validate(); err != nil && c.Err() == nil {
		return err
	} else if err := c.Err(); err != nil {
		return err
	}
	camp, err := s.Campaigns.Create(r.Context(), p, d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, camp)
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	before, limit, err := page(r)
	if err != nil {
		return err
	}
	cs, err := s.Campaigns.List(r.Context(), p, before, limit)
	if err != nil {
		return err
	}
	out := list[campaign.Campaign]{Data: cs}
	if len(cs) == limit {
		out.NextBefore = cs[len(cs)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if p.CreatorID() != "" {
		// An accepted creator reads the campaign it works for as an offer:
		// brief, prices and dates, not the brand's money.
		o, err := s.Market.AcceptedOffer(r.Context(), p, r.PathValue("id"))
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, o)
	}
	c, err := s.Campaigns.Get(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (s *Server) configureCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var setup campaign.Setup
	if err := decode(w, r, &setup); err != nil {
		return err
	}
	c, err := s.Campaigns.Configure(r.Context(), p, r.PathValue("id"), setup)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

type fundReq struct {
	Amount  json.RawMessage `json:"amount"`
	Payment struct {
		Provider  string `json:"provider"`
		Reference string `json:"reference"`
	} `json:"payment"`
}

func (s *Server) fundCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req fundReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	in := campaign.FundInput{Provider: req.Payment.Provider, Reference: req.Payment.Reference}
	if len(req.Amount) > 0 && string(req.Amount) != "null" {
		a, err := amountField(req.Amount, "amount")
		if err != nil {
			return err
		}
		in.Amount = &a
	}
	res, err := s.Campaigns.Fund(r.Context(), p, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if res.Replayed {
		status = http.StatusOK
	}
	return writeJSON(w, status, map[string]any{
		"payment": res.Payment, "campaign": res.Campaign, "money": campaign.MoneyFrom(res.Campaign, res.Money), "replayed": res.Replayed,
	})
}

func (s *Server) campaignMoney(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	m, err := s.Campaigns.MoneyState(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

type entryOut struct {
	AccountID string       `json:"account_id"`
	Amount    money.Amount `json:"amount"`
}

type txOut struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	CampaignID string     `json:"campaign_id,omitempty"`
	CreatorID  string     `json:"creator_id,omitempty"`
	CreatedAt  time.Time  `json:"created_at"`
	Entries    []entryOut `json:"entries"`
}

func (s *Server) listTransactions(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	before, limit, err := page(r)
	if err != nil {
		return err
	}
	f := ledger.TxFilter{Before: before, Limit: limit}
	switch p.Role {
	case identity.RoleBrand:
		f.BrandID = p.SubjectID
	case identity.RoleCreator:
		f.CreatorID = p.SubjectID
	case identity.RoleAdmin:
	default:
		return errs.E(errs.Forbidden, "forbidden", "unknown role")
	}
	txs, err := s.Ledger.Transactions(r.Context(), f)
	if err != nil {
		return err
	}
	out := list[txOut]{Data: make([]txOut, 0, len(txs))}
	for _, t := range txs {
		o := txOut{ID: t.ID, Kind: t.Kind, CampaignID: t.CampaignID, CreatorID: t.CreatorID,
			CreatedAt: time.UnixMicro(t.CreatedAt).UTC(), Entries: make([]entryOut, len(t.Entries))}
		for i, e := range t.Entries {
			o.Entries[i] = entryOut{AccountID: e.AccountID, Amount: money.New(e.Amount, e.Currency)}
		}
		out.Data = append(out.Data, o)
	}
	if len(txs) == limit {
		out.NextBefore = txs[len(txs)-1].ID
	}
	return writeJSON(w, http.StatusOK, out)
}
