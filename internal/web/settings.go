package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/payper/payper/internal/account"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
)

// settingsRoutes registers the settings pages: profile, team and API keys.
func (s *Server) settingsRoutes() {
	s.handle("GET /settings", s.requireUser(s.profile))
	s.handle("POST /settings/password", s.requireUser(s.changePassword))
	s.handle("GET /settings/team", s.requireBrand(s.team))
	s.handle("POST /settings/team/invite", s.requireBrand(s.invite))
	s.handle("POST /settings/team/invitations/{id}/revoke", s.requireBrand(s.revokeInvitation))
	s.handle("GET /settings/keys", s.requireUser(s.keyManager(s.keys)))
	s.handle("POST /settings/keys", s.requireUser(s.keyManager(s.createKey)))
	s.handle("POST /settings/keys/{id}/revoke", s.requireUser(s.keyManager(s.revokeKey)))
}

// Settings tabs (Page.SettingsTab).
const (
	SettingsProfile = "profile"
	SettingsTeam    = "team"
	SettingsKeys    = "keys"
	SettingsStores  = "stores"
)

func settingsPage(title, tab string) Page {
	return Page{Title: title, Nav: "settings", SettingsTab: tab}
}

// ProfilePage shows the signed-in user's email, brand or creator name, and
// the password form.
type ProfilePage struct {
	Page
	// Name is the user's brand's or creator's name ("" for the operator).
	Name string
}

func (s *Server) profilePage(r *http.Request) (*ProfilePage, error) {
	u, _ := userFrom(r)
	p := &ProfilePage{Page: settingsPage("Settings", SettingsProfile)}
	switch u.Kind {
	case account.KindBrand:
		b, err := s.Identity.GetBrand(r.Context(), u.Principal(), u.BrandID)
		if err != nil {
			return nil, err
		}
		p.Name = b.Name
	case account.KindCreator:
		c, err := s.Identity.GetCreator(r.Context(), u.Principal(), u.CreatorID)
		if err != nil {
			return nil, err
		}
		p.Name = c.Name
	}
	return p, nil
}

func (s *Server) profile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.profilePage(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "settings_profile.html", p)
	return nil
}

// changePassword checks the current password (throttled like sign-in),
// sets the new one and signs out every other session.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	c, _ := r.Cookie(account.CookieName)
	err := s.Accounts.ChangePassword(r.Context(), c.Value, r.PostForm.Get("current_password"), r.PostForm.Get("password"))
	if err == nil {
		s.redirect(w, r, "/settings", "Your password is changed, and every other session is signed out.")
		return nil
	}
	p, perr := s.profilePage(r)
	if perr != nil {
		return perr
	}
	var te *account.ThrottledError
	switch {
	case errors.As(err, &te):
		w.Header().Set("Retry-After", strconv.Itoa(te.RetryAfterSeconds()))
		p.FormError = tooManyMessage(te)
		s.render(w, r, http.StatusTooManyRequests, "settings_profile.html", p)
		return nil
	case fieldErrors(err) != nil:
		p.Errors = fieldErrors(err)
		s.render(w, r, http.StatusBadRequest, "settings_profile.html", p)
		return nil
	case errs.CodeOf(err) == "password_changed":
		p.FormError = "Your password was changed meanwhile. Sign in again."
		s.render(w, r, http.StatusConflict, "settings_profile.html", p)
		return nil
	}
	return err
}

// ---- team ----

// TeamPage lists a brand's users and, to its owners, the pending
// invitations and the invite form.
type TeamPage struct {
	Page
	Members     []account.User
	Invitations []account.Invitation
	Owner       bool
	Email, Role string
}

func (s *Server) teamPage(r *http.Request, p *TeamPage) error {
	u, _ := userFrom(r)
	p.Page = settingsPage("Team", SettingsTeam)
	p.Owner = u.IsBrandOwner()
	var err error
	if p.Members, err = s.Accounts.Team(r.Context(), u.Principal(), u.BrandID); err != nil {
		return err
	}
	if p.Owner {
		if p.Invitations, err = s.Accounts.Invitations(r.Context(), u, u.BrandID); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) team(w http.ResponseWriter, r *http.Request) error {
	p := &TeamPage{Role: account.RoleMember}
	if err := s.teamPage(r, p); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "settings_team.html", p)
	return nil
}

// invite mails an invitation (owners only: a member gets a 403 page).
func (s *Server) invite(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	email, role := r.PostForm.Get("email"), r.PostForm.Get("role")
	_, err := s.Accounts.Invite(r.Context(), u, email, role)
	if fe := fieldErrors(err); fe != nil || errs.CodeOf(err) == "email_taken" {
		if fe == nil {
			fe = map[string]string{"email": "This address has a payper account already."}
		}
		p := &TeamPage{Email: email, Role: role}
		if err := s.teamPage(r, p); err != nil {
			return err
		}
		p.Errors = fe
		s.render(w, r, http.StatusBadRequest, "settings_team.html", p)
		return nil
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/settings/team", "We mailed an invitation to "+email+". The link works for 7 days.")
	return nil
}

func (s *Server) revokeInvitation(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	if err := s.Accounts.RevokeInvitation(r.Context(), u, r.PathValue("id")); err != nil {
		return err
	}
	s.redirect(w, r, "/settings/team", "The invitation is revoked: its link no longer works.")
	return nil
}

// ---- API keys ----

// KeysPage lists the user's API keys; NewKey is a key just made, its
// secret shown only on this one answer.
type KeysPage struct {
	Page
	Keys   []identity.Key
	NewKey *identity.NewKey
	Label  string
}

// keyManager lets only users who may manage API keys reach h: a brand's
// member gets a 403 page (owners, creators and operators may).
func (s *Server) keyManager(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if u, _ := userFrom(r); !u.MayManageKeys() {
			return errs.E(errs.Forbidden, "forbidden", "Only an owner of your brand manages API keys.")
		}
		return h(w, r)
	}
}

func (s *Server) keysPage(r *http.Request, p *KeysPage) error {
	u, _ := userFrom(r)
	p.Page = settingsPage("API keys", SettingsKeys)
	var err error
	p.Keys, err = s.Identity.Keys(r.Context(), u.Principal(), "", 200)
	return err
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) error {
	p := &KeysPage{}
	if err := s.keysPage(r, p); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "settings_keys.html", p)
	return nil
}

// createKey makes a key and shows its secret once, on this answer (not
// after a redirect: the secret is never stored anywhere it could be shown
// again).
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	label := r.PostForm.Get("label")
	nk, err := s.Identity.Issue(r.Context(), u.Principal(), "", "", label)
	if fe := fieldErrors(err); fe != nil {
		p := &KeysPage{Label: label}
		if err := s.keysPage(r, p); err != nil {
			return err
		}
		p.Errors = fe
		s.render(w, r, http.StatusBadRequest, "settings_keys.html", p)
		return nil
	}
	if err != nil {
		return err
	}
	p := &KeysPage{NewKey: &nk}
	if err := s.keysPage(r, p); err != nil {
		return err
	}
	s.render(w, r, http.StatusCreated, "settings_keys.html", p)
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	u, _ := userFrom(r)
	if _, err := s.Identity.Revoke(r.Context(), u.Principal(), r.PathValue("id")); err != nil {
		return err
	}
	s.redirect(w, r, "/settings/keys", "The key is revoked: requests with it are refused from now on.")
	return nil
}
