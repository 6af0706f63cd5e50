package api

import (
	"net/http"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
)

// adminAccountRoutes are the operator's account settings: whether new
// brands wait for approval, and the brands waiting.
func (s *Server) adminAccountRoutes() []Route {
	return []Route{
		{"GET", "/v1/admin/settings", anyKey, s.adminSettings},
		{"PUT", "/v1/admin/settings", anyKey, s.putAdminSettings},
		{"GET", "/v1/admin/brand_signups", anyKey, s.listBrandSignups},
		{"POST", "/v1/admin/brand_signups/{id}/approve", anyKey, s.decideBrandSignup(true)},
		{"POST", "/v1/admin/brand_signups/{id}/reject", anyKey, s.decideBrandSignup(false)},
	}
}

// adminSettingsOut is the operator's settings as the API shows them.
type adminSettingsOut struct {
	// RequireBrandApproval: brands that sign themselves up wait for the
	// operator's approval before they can sign in.
	RequireBrandApproval bool `json:"require_brand_approval"`
}

// accounts returns the account service, or NotFound on a server without
// one (the API alone, without the web app's accounts).
func (s *Server) accounts() (*account.Service, error) {
	if s.Accounts == nil {
		return nil, errs.NotFoundf("this server has no user accounts")
	}
	return s.Accounts, nil
}

func adminOnly(p identity.Principal) error {
	if !p.IsAdmin() {
		return errs.E(errs.Forbidden, "forbidden", "only the operator manages accounts")
	}
	return nil
}

func (s *Server) adminSettings(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	a, err := s.accounts()
	if err != nil {
		return err
	}
	on, err := a.RequireBrandApproval(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, adminSettingsOut{RequireBrandApproval: on})
}

// putAdminSettings sets the operator's settings: {"require_brand_approval": true}.
// Brands already signed up are not affected; only new sign-ups wait.
func (s *Server) putAdminSettings(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	a, err := s.accounts()
	if err != nil {
		return err
	}
	var in struct {
		RequireBrandApproval *bool `json:"require_brand_approval"`
	}
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.RequireBrandApproval == nil {
		return errs.Invalidf("require_brand_approval", "required", "require_brand_approval is required: true or false")
	}
	if err := a.SetRequireBrandApproval(r.Context(), p, *in.RequireBrandApproval); err != nil {
		return err
	}
	on, err := a.RequireBrandApproval(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, adminSettingsOut{RequireBrandApproval: on})
}

// listBrandSignups lists the brands waiting for approval, oldest first.
func (s *Server) listBrandSignups(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if err := adminOnly(p); err != nil {
		return err
	}
	a, err := s.accounts()
	if err != nil {
		return err
	}
	pending, err := a.PendingBrands(r.Context(), p)
	if err != nil {
		return err
	}
	if pending == nil {
		pending = []account.PendingBrand{}
	}
	return writeJSON(w, http.StatusOK, list[account.PendingBrand]{Data: pending})
}

// decideBrandSignup approves or rejects a pending brand (by its brand id);
// a brand that is not pending is 404.
func (s *Server) decideBrandSignup(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		if err := adminOnly(p); err != nil {
			return err
		}
		a, err := s.accounts()
		if err != nil {
			return err
		}
		brandID := r.PathValue("id")
		if err := a.DecideBrand(r.Context(), p, brandID, approve); err != nil {
			return err
		}
		state := account.BrandRejected
		if approve {
			state = account.BrandActive
		}
		return writeJSON(w, http.StatusOK, map[string]string{"brand_id": brandID, "state": state})
	}
}
