package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/payper/payper/internal/attrib"
	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/links"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
)

// collabRoutes registers applications, posts, codes and conversions (W3).
func (s *Server) collabRoutes() {
	s.handle("GET /campaigns/{id}/applications", s.requireBrand(s.applications))
	s.handle("POST /campaigns/{id}/applications/{aid}/accept", s.requireBrand(s.decideApplication(true)))
	s.handle("POST /campaigns/{id}/applications/{aid}/reject", s.requireBrand(s.decideApplication(false)))
	s.handle("GET /campaigns/{id}/posts", s.requireBrand(s.posts))
	s.handle("POST /campaigns/{id}/posts/{pid}/approve", s.requireBrand(s.decidePost(true)))
	s.handle("POST /campaigns/{id}/posts/{pid}/reject", s.requireBrand(s.decidePost(false)))
	s.handle("GET /campaigns/{id}/codes", s.requireBrand(s.codes))
	s.handle("POST /campaigns/{id}/codes", s.requireBrand(s.createCode))
	s.handle("POST /campaigns/{id}/links", s.requireBrand(s.createLink))
	s.handle("GET /campaigns/{id}/conversions", s.requireBrand(s.conversions))
}

// CollabPage is what the campaign's collaboration pages share: the
// campaign, and the name each creator who applied goes by.
type CollabPage struct {
	Page
	CampaignModel campaign.Campaign
	// Creators maps a creator id to the creator's handle or name.
	Creators map[string]string
}

// CreatorName is how a creator is named on the pages: their handle or
// name, else their id.
func (p *CollabPage) CreatorName(id string) string {
	if n := p.Creators[id]; n != "" {
		return n
	}
	return id
}

// KindName names an earning's kind for people.
func (p *CollabPage) KindName(kind string) string {
	switch kind {
	case engage.KindFlatFee:
		return "flat fee"
	case engage.KindCPA:
		return "CPA"
	}
	return kind
}

// Rate is an account's engagement rate as the domain gives it (parts per
// million), as a percentage; "not measured yet" while the domain has no
// figure (no recent posts read from the platform yet, as for sandbox accounts).
func (p *CollabPage) Rate(a creator.Account) string {
	if a.EngagementRatePPM == nil {
		return "not measured yet"
	}
	return formatPct(*a.EngagementRatePPM)
}

// Amount is micros of the campaign's currency, as the domain gives some
// amounts (a post's requested_micros).
func (p *CollabPage) Amount(micros int64) money.Amount {
	return money.New(micros, p.CampaignModel.Currency)
}

// collabPage reads the campaign (NotFound for another brand's, as the
// domain says) and its applicants, for a page of tab.
func (s *Server) collabPage(r *http.Request, tab, title string) (CollabPage, []market.Reviewed, error) {
	u, _ := userFrom(r)
	camp, err := s.Campaigns.Get(r.Context(), u.Principal(), r.PathValue("id"))
	if err != nil {
		return CollabPage{}, nil, err
	}
	apps, err := s.Market.Applications(r.Context(), u.Principal(), camp.ID, "")
	if err != nil {
		return CollabPage{}, nil, err
	}
	names := make(map[string]string, len(apps))
	for _, a := range apps {
		names[a.CreatorID] = a.Creator.Handle()
	}
	p := CollabPage{Page: Page{Title: title, Nav: "campaigns", Campaign: &CampaignNav{ID: camp.ID, Name: camp.Name, Tab: tab}},
		CampaignModel: camp, Creators: names}
	return p, apps, nil
}

// collabActionFailed tells whether err is one a person can act on (a bad field,
// a conflict such as a full campaign) and the page with it should be shown
// again, with its status; other errors become error pages.
func collabActionFailed(err error) (int, bool) {
	switch {
	case errs.Is(err, errs.Invalid):
		return http.StatusBadRequest, true
	case errs.Is(err, errs.Conflict):
		return http.StatusConflict, true
	}
	return 0, false
}

// collabErrMsg is the message of a domain error for people.
func collabErrMsg(err error) string {
	var e *errs.Error
	if errors.As(err, &e) {
		msg := e.Message
		for _, f := range e.Fields {
			if f.Message != "" && f.Message != msg {
				msg += " " + f.Message + "."
			}
		}
		return msg
	}
	return err.Error()
}

// ---- applications ----

// ApplicationsPage lists a campaign's applications with creator cards.
type ApplicationsPage struct {
	CollabPage
	State        string
	Applications []market.Reviewed
}

// StateFilters are the application states the page filters by.
func (p *ApplicationsPage) StateFilters() []string {
	return []string{"", market.StatePending, market.StateAccepted, market.StateRejected}
}

// Connected returns the creator's connected accounts.
func (p *CollabPage) Connected(c creator.Summary) []creator.Account {
	var out []creator.Account
	for _, a := range c.Accounts {
		if a.Connected() {
			out = append(out, a)
		}
	}
	return out
}

func (s *Server) applicationsPage(r *http.Request) (*ApplicationsPage, error) {
	cp, apps, err := s.collabPage(r, TabApplications, "Applications")
	if err != nil {
		return nil, err
	}
	p := &ApplicationsPage{CollabPage: cp, State: r.URL.Query().Get("state")}
	if p.State == "" {
		p.Applications = apps
		return p, nil
	}
	u, _ := userFrom(r)
	p.Applications, err = s.Market.Applications(r.Context(), u.Principal(), cp.CampaignModel.ID, p.State)
	return p, err
}

func (s *Server) applications(w http.ResponseWriter, r *http.Request) error {
	p, err := s.applicationsPage(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "collab_applications.html", p)
	return nil
}

func (s *Server) decideApplication(accept bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, _ := userFrom(r)
		id := r.PathValue("id")
		if _, err := s.Campaigns.Get(r.Context(), u.Principal(), id); err != nil {
			return err
		}
		a, err := s.Market.Decide(r.Context(), u.Principal(), r.PathValue("aid"), accept)
		if err == nil {
			msg := "Application rejected."
			if accept {
				msg = "Application accepted: the creator can post for the campaign now."
			}
			if a.CampaignID != id {
				id = a.CampaignID
			}
			s.redirect(w, r, "/campaigns/"+url.PathEscape(id)+"/applications", msg)
			return nil
		}
		status, ok := collabActionFailed(err)
		if !ok {
			return err
		}
		p, perr := s.applicationsPage(r)
		if perr != nil {
			return perr
		}
		p.FormError = collabErrMsg(err)
		s.render(w, r, status, "collab_applications.html", p)
		return nil
	}
}

// ---- posts ----

// PostsPage lists a campaign's posts with their compliance result.
type PostsPage struct {
	CollabPage
	Posts []engage.Post
	// Approval says the brief asks for content approval.
	Approval bool
	// Required are what the brief requires of every post (hashtags, disclosure).
	Hashtags   []string
	Disclosure string
}

// Decidable tells whether a post waits for the brand's decision.
func (p *PostsPage) Decidable(post engage.Post) bool {
	return post.State == engage.PostPendingApproval || post.State == engage.PostFlagged
}

func (s *Server) postsPage(r *http.Request) (*PostsPage, error) {
	cp, _, err := s.collabPage(r, TabPosts, "Posts")
	if err != nil {
		return nil, err
	}
	p := &PostsPage{CollabPage: cp}
	if st := cp.CampaignModel.Setup; st != nil {
		p.Approval = st.ContentApproval
		p.Hashtags, p.Disclosure = st.Brief.RequiredHashtags, st.Brief.Disclosure
		if p.Disclosure == "" {
			p.Disclosure = campaign.DefaultDisclosure
		}
	}
	u, _ := userFrom(r)
	p.Posts, err = s.Engage.ListPosts(r.Context(), u.Principal(), cp.CampaignModel.ID)
	return p, err
}

func (s *Server) posts(w http.ResponseWriter, r *http.Request) error {
	p, err := s.postsPage(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "collab_posts.html", p)
	return nil
}

func (s *Server) decidePost(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := parseForm(w, r); err != nil {
			return err
		}
		u, _ := userFrom(r)
		id := r.PathValue("id")
		if _, err := s.Campaigns.Get(r.Context(), u.Principal(), id); err != nil {
			return err
		}
		post, err := s.Engage.Decide(r.Context(), u.Principal(), r.PathValue("pid"), approve, r.PostForm.Get("reason"))
		if err == nil {
			msg := "Post rejected: it is not billed."
			if approve {
				msg = "Post approved: its growth is billed from now on."
			}
			s.redirect(w, r, "/campaigns/"+url.PathEscape(post.CampaignID)+"/posts", msg)
			return nil
		}
		status, ok := collabActionFailed(err)
		if !ok {
			return err
		}
		p, perr := s.postsPage(r)
		if perr != nil {
			return perr
		}
		p.FormError = collabErrMsg(err)
		s.render(w, r, status, "collab_posts.html", p)
		return nil
	}
}

// ---- codes and links ----

// CodesPage lists each creator's discount codes and tracked links, with
// the forms that make new ones.
type CodesPage struct {
	CollabPage
	Codes    []attrib.Code
	Links    []links.Link
	Accepted []market.Reviewed
	Stores   []orders.Store
	// The code and link forms' values, kept when refused.
	Code  CodeForm
	Link  LinkForm
	Which string // "code" or "link": the form Errors belong to
}

// CodeForm is the create-code form.
type CodeForm struct{ CreatorID, StoreID, Code string }

// LinkForm is the create-link form.
type LinkForm struct{ CreatorID, Placement, Medium, Destination string }

// Mediums are the link mediums the form offers.
func (p *CodesPage) Mediums() []string {
	return []string{links.MediumInfluencer, links.MediumPaidSocial}
}

// Percent shows a discount in basis points as a percentage (1000 is "10.00%").
func (p *CodesPage) Percent(bps int64) string { return formatPct(bps * 100) }

// ErrorsFor returns the field errors when they belong to form which.
func (p *CodesPage) ErrorsFor(which string) map[string]string {
	if p.Which == which {
		return p.Errors
	}
	return nil
}

func (s *Server) codesPage(r *http.Request) (*CodesPage, error) {
	cp, apps, err := s.collabPage(r, TabCodes, "Codes & links")
	if err != nil {
		return nil, err
	}
	p := &CodesPage{CollabPage: cp}
	for _, a := range apps {
		if a.State == market.StateAccepted {
			p.Accepted = append(p.Accepted, a)
		}
	}
	u, _ := userFrom(r)
	ctx := r.Context()
	if p.Codes, err = s.Attrib.ListCodes(ctx, u.Principal(), cp.CampaignModel.ID); err != nil {
		return nil, err
	}
	if p.Links, err = s.Links.List(ctx, u.Principal(), cp.CampaignModel.ID); err != nil {
		return nil, err
	}
	if p.Stores, err = s.Orders.ListStores(ctx, u.Principal()); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Server) codes(w http.ResponseWriter, r *http.Request) error {
	p, err := s.codesPage(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "collab_codes.html", p)
	return nil
}

func (s *Server) createCode(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	f := CodeForm{CreatorID: r.PostForm.Get("creator_id"), StoreID: r.PostForm.Get("store_id"), Code: r.PostForm.Get("code")}
	c, err := s.Attrib.CreateCode(r.Context(), u.Principal(), r.PathValue("id"), attrib.CodeDraft{CreatorID: f.CreatorID, StoreID: f.StoreID, Code: f.Code})
	if err == nil {
		s.redirect(w, r, "/campaigns/"+url.PathEscape(c.CampaignID)+"/codes", "Code "+c.Code+" created.")
		return nil
	}
	return s.codesFailed(w, r, err, "code", func(p *CodesPage) { p.Code = f })
}

func (s *Server) createLink(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	u, _ := userFrom(r)
	f := LinkForm{CreatorID: r.PostForm.Get("creator_id"), Placement: r.PostForm.Get("placement"), Medium: r.PostForm.Get("medium"),
		Destination: r.PostForm.Get("destination")}
	l, err := s.Links.Create(r.Context(), u.Principal(), r.PathValue("id"), links.Draft{CreatorID: f.CreatorID, Placement: f.Placement,
		Medium: f.Medium, Destination: f.Destination})
	if err == nil {
		s.redirect(w, r, "/campaigns/"+url.PathEscape(l.CampaignID)+"/codes", "Link "+l.ShortURL+" created.")
		return nil
	}
	return s.codesFailed(w, r, err, "link", func(p *CodesPage) { p.Link = f })
}

// codesFailed shows the codes page again with what was wrong beside the
// form which, or an error page for an error no one can fix in the form.
func (s *Server) codesFailed(w http.ResponseWriter, r *http.Request, err error, which string, keep func(*CodesPage)) error {
	status, ok := collabActionFailed(err)
	if !ok && !errs.Is(err, errs.Unavailable) {
		return err
	}
	if !ok {
		status = http.StatusServiceUnavailable
	}
	p, perr := s.codesPage(r)
	if perr != nil {
		return perr
	}
	keep(p)
	p.Which = which
	if fe := fieldErrors(err); fe != nil {
		p.Errors = fe
		if msg := fe[""]; msg != "" {
			p.FormError = msg
		}
	} else {
		p.FormError = collabErrMsg(err)
	}
	s.render(w, r, status, "collab_codes.html", p)
	return nil
}

// ---- conversions ----

// ConversionsPage lists a campaign's attributed orders.
type ConversionsPage struct {
	CollabPage
	Conversions []attrib.Conversion
	// Placements maps a link id to its placement (bio, story-1 …).
	Placements map[string]string
}

func (s *Server) conversions(w http.ResponseWriter, r *http.Request) error {
	cp, _, err := s.collabPage(r, TabConversions, "Conversions")
	if err != nil {
		return err
	}
	p := &ConversionsPage{CollabPage: cp}
	u, _ := userFrom(r)
	if p.Conversions, err = s.Attrib.ListConversions(r.Context(), u.Principal(), cp.CampaignModel.ID); err != nil {
		return err
	}
	ls, err := s.Links.List(r.Context(), u.Principal(), cp.CampaignModel.ID)
	if err != nil {
		return err
	}
	p.Placements = make(map[string]string, len(ls))
	for _, l := range ls {
		p.Placements[l.ID] = l.Placement
	}
	s.render(w, r, http.StatusOK, "collab_conversions.html", p)
	return nil
}
