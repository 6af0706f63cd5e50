package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/platform"
)

func (s *Server) engageRoutes() []Route {
	return []Route{
		{"POST", "/v1/campaigns/{id}/posts", anyKey, s.submitPost},
		{"GET", "/v1/campaigns/{id}/posts", anyKey, s.listPosts},
		{"GET", "/v1/posts/{id}", anyKey, s.getPost},
		{"POST", "/v1/posts/{id}/approve", anyKey, s.decidePost(true)},
		{"POST", "/v1/posts/{id}/reject", anyKey, s.decidePost(false)},
		{"GET", "/v1/campaigns/{id}/earnings", anyKey, s.listEarnings},
		{"POST", "/v1/earnings/{id}/hold", anyKey, s.reviewEarning(engage.ReviewHold)},
		{"POST", "/v1/earnings/{id}/release", anyKey, s.reviewEarning(engage.ReviewRelease)},
		{"POST", "/v1/earnings/{id}/void", anyKey, s.reviewEarning(engage.ReviewVoid)},
		{"POST", "/v1/campaigns/{id}/close", anyKey, s.closeCampaign},
		{"POST", "/v1/admin/engagement/tick", anyKey, s.engagementTick},
	}
}

type submitPostReq struct {
	Platform string `json:"platform"`
	Media    string `json:"media"`
}

func (s *Server) submitPost(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req submitPostReq
	if err := decode(w, r, &req); err != nil {
		return err
	}
	post, err := s.Engage.Submit(r.Context(), p, r.PathValue("id"), engage.SubmitInput{Platform: platform.Name(req.Platform), Media: req.Media})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, post)
}

func (s *Server) listPosts(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	posts, err := s.Engage.ListPosts(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[engage.Post]{Data: posts})
}

func (s *Server) getPost(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	post, err := s.Engage.GetPost(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, post)
}

type reasonReq struct {
	Reason string `json:"reason"`
}

// optionalReason decodes {"reason": …} when the request has a body.
func optionalReason(w http.ResponseWriter, r *http.Request) (string, error) {
	var req reasonReq
	if r.ContentLength == 0 {
		return "", nil
	}
	if err := decode(w, r, &req); err != nil {
		return "", err
	}
	return req.Reason, nil
}

func (s *Server) decidePost(approve bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		reason, err := optionalReason(w, r)
		if err != nil {
			return err
		}
		post, err := s.Engage.Decide(r.Context(), p, r.PathValue("id"), approve, reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, post)
	}
}

func (s *Server) listEarnings(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	q := r.URL.Query()
	es, err := s.Engage.ListEarnings(r.Context(), p, r.PathValue("id"), q.Get("state"), q.Get("creator_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, list[engage.Earning]{Data: es})
}

func (s *Server) reviewEarning(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
		reason, err := optionalReason(w, r)
		if err != nil {
			return err
		}
		e, err := s.Engage.Review(r.Context(), p, r.PathValue("id"), action, reason)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, e)
	}
}

func (s *Server) closeCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	res, err := s.Engage.Close(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// maxTickWait bounds the wait an admin tick may ask for.
const maxTickWait = 5 * time.Minute

// engagementTick runs one whole engagement tick through the job queue now
// and answers when its jobs are done, or when the wait (?wait=, a duration
// such as 10s; default engage.DefaultTickWait) ends, with what happened:
// 200 completed, 202 still running, 503 with Retry-After when a job failed
// (retrying or discarded) or the tick failed. For operators ("poll now")
// and tests.
func (s *Server) engagementTick(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	if !p.IsAdmin() {
		return errAdminOnly
	}
	var wait time.Duration
	if v := r.URL.Query().Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxTickWait {
			return errs.Invalidf("wait", "invalid", "wait must be a duration above 0 and at most %s, such as 10s", maxTickWait)
		}
		wait = d
	}
	rep, err := s.Engage.TickNow(r.Context(), wait)
	if err != nil {
		return err
	}
	status := http.StatusServiceUnavailable
	switch rep.State {
	case engage.TickCompleted:
		status = http.StatusOK
	case engage.TickRunning:
		status = http.StatusAccepted
	default:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int((rep.RetryAfter+time.Second-1)/time.Second))))
	}
	return writeJSON(w, status, rep)
}
