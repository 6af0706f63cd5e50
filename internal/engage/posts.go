package engage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// Post is a creator's published media item submitted to a campaign.
type Post struct {
	ID          string        `json:"id"`
	CampaignID  string        `json:"campaign_id"`
	CreatorID   string        `json:"creator_id"`
	Platform    platform.Name `json:"platform"`
	MediaID     string        `json:"media_id"`
	Permalink   string        `json:"permalink,omitempty"`
	Caption     string        `json:"caption"`
	MediaType   string        `json:"media_type,omitempty"`
	PublishedAt clock.Micros  `json:"published_at"`
	State       string        `json:"state"`
	StateReason string        `json:"state_reason,omitempty"`
	// Warnings are brief items the post departs from without being refused.
	Warnings    []Finding    `json:"warnings,omitempty"`
	SubmittedAt clock.Micros `json:"submitted_at"`
	DecidedAt   clock.Micros `json:"decided_at,omitempty"`
	LastPolled  clock.Micros `json:"last_polled_at,omitempty"`
	// Billed holds the high-water mark of each metric: the counts billed up to.
	Billed platform.Counts `json:"billed_counts"`
	// Requested is the gross amount billing asked for this post so far, in
	// micro-units (what the ledger granted can be less: see earnings).
	Requested int64 `json:"requested_micros"`

	accountRef string
}

// SubmitInput is a creator's post submission.
type SubmitInput struct {
	Platform platform.Name
	// Media is the platform's media id, or the post's permalink.
	Media string
}

const postCols = `p.id, p.campaign_id, p.creator_id, p.account_ref, p.platform, p.media_id, p.permalink, p.caption, p.media_type,
	p.published_at, p.state, p.state_reason, p.warnings, p.submitted_at, p.decided_at`

const postFrom = ` FROM posts p `

// scanPost scans a post without its marks (see setMarks).
func scanPost(row interface{ Scan(...any) error }) (Post, error) {
	var p Post
	var plat, warnings string
	if err := row.Scan(&p.ID, &p.CampaignID, &p.CreatorID, &p.accountRef, &plat, &p.MediaID, &p.Permalink, &p.Caption, &p.MediaType,
		&p.PublishedAt, &p.State, &p.StateReason, &warnings, &p.SubmittedAt, &p.DecidedAt); err != nil {
		return p, err
	}
	p.Platform = platform.Name(plat)
	if warnings != "" {
		if err := json.Unmarshal([]byte(warnings), &p.Warnings); err != nil {
			return p, fmt.Errorf("engage: post %s: stored warnings unreadable: %w", p.ID, err)
		}
	}
	return p, nil
}

// setMarks sets what the post's marks say: when it was last read, the
// counts billed up to and the amount requested for it.
func (p *Post) setMarks(m postMark) {
	p.LastPolled = clock.Micros(m.lastPolled)
	p.Billed = platform.Counts{Views: platform.Known(m.hwm[0]), Likes: platform.Known(m.hwm[1]), Comments: platform.Known(m.hwm[2]),
		Shares: platform.Known(m.hwm[3]), Saves: platform.Known(m.hwm[4])}
	p.Requested = m.billed
}

// platformError turns a connector failure into an API error.
func platformError(field string, err error) error {
	var rl *platform.RateLimitError
	switch {
	case errors.Is(err, platform.ErrMediaNotFound):
		return &errs.Error{Kind: errs.Invalid, Code: "media_not_found", Field: field,
			Message: "the platform has no such media item visible to the connected account", Err: err}
	case errors.Is(err, platform.ErrNotOwner):
		return &errs.Error{Kind: errs.Invalid, Code: "not_owner", Field: field,
			Message: "the media item does not belong to your connected account", Err: err}
	case errors.Is(err, platform.ErrReconnect):
		return &errs.Error{Kind: errs.Conflict, Code: "reconnect_needed",
			Message: "the connected account's authorization no longer works: connect it again", Err: err}
	case errors.As(err, &rl):
		return &errs.Error{Kind: errs.Unavailable, Code: "platform_rate_limited",
			Message: fmt.Sprintf("the platform is throttling requests; try again in %s", rl.RetryAfter.Round(time.Second)), Err: err}
	case errors.Is(err, platform.ErrUnavailable):
		return &errs.Error{Kind: errs.Unavailable, Code: "platform_unavailable", Message: "the platform cannot be reached; try again later", Err: err}
	}
	return err
}

// Submit records a post the creator p published for a campaign they were
// accepted into. The platform read proves the media item exists, belongs to
// the creator's connected account and was published after acceptance; the
// caption must carry every required hashtag and the disclosure. A refused
// post is reported with every missing item (code post_noncompliant) and
// nothing is stored. The post goes live at once, or waits for the brand's
// approval when the campaign's setup asks for content approval.
func (s *Service) Submit(ctx context.Context, p identity.Principal, campaignID string, in SubmitInput) (Post, error) {
	var c errs.Collector
	switch {
	case in.Platform == "":
		c.Addf("platform", "required", "platform is required")
	case !in.Platform.Valid():
		c.Addf("platform", "unknown_platform", "unknown platform %q", string(in.Platform))
	}
	in.Media = strings.TrimSpace(in.Media)
	switch {
	case in.Media == "":
		c.Addf("media", "required", "media (the media id or the post's permalink) is required")
	case len(in.Media) > 2048:
		c.Addf("media", "too_long", "media is longer than 2048 bytes")
	}
	if err := c.Err(); err != nil {
		return Post{}, err
	}
	creatorID := p.CreatorID()
	if creatorID == "" {
		return Post{}, errs.E(errs.Forbidden, "forbidden", "only a creator can submit posts")
	}
	camp, err := s.campaigns.Internal(ctx, s.db.Read(), campaignID)
	if err != nil {
		return Post{}, err
	}
	acceptedAt, err := s.apps.AcceptedAt(ctx, s.db.Read(), camp.ID, creatorID)
	if errs.Is(err, errs.NotFound) {
		// Campaigns a creator was not accepted into are not theirs to see.
		return Post{}, errs.NotFoundf("campaign %s not found", campaignID)
	} else if err != nil {
		return Post{}, err
	}
	if camp.State != campaign.StateOpen {
		return Post{}, errs.Conflictf("campaign_not_open", "campaign %s is %s: posts are accepted only while it is open", camp.ID, camp.State)
	}
	if camp.Setup == nil {
		return Post{}, errs.Conflictf("setup_required", "campaign %s has no setup", camp.ID)
	}
	if el := camp.Setup.Eligibility.Platforms; len(el) > 0 && !slices.Contains(el, campaign.Platform(in.Platform)) {
		return Post{}, errs.Invalidf("platform", "platform_not_eligible", "campaign %s runs on %s, not %s", camp.ID, joinPlatforms(el), in.Platform)
	}
	ref, _, err := s.accounts.ConnectedAccount(ctx, creatorID, in.Platform)
	if errs.Is(err, errs.NotFound) {
		return Post{}, errs.Conflictf("no_connected_account", "connect your %s account before submitting a post from it", in.Platform)
	} else if err != nil {
		return Post{}, err
	}
	var m platform.Media
	var tok platform.Token
	err = s.accounts.WithToken(ctx, ref, func(ctx context.Context, c platform.Connector, t platform.Token) error {
		var err error
		tok = t
		m, err = c.FindMedia(ctx, t, in.Media)
		return err
	})
	if err != nil {
		return Post{}, platformError("media", err)
	}
	if err := platform.CheckOwner(tok, m); err != nil {
		return Post{}, platformError("media", err)
	}
	if m.PublishedAt.Before(acceptedAt) {
		return Post{}, errs.Invalidf("media", "published_before_acceptance",
			"the post was published at %s, before you were accepted at %s: only posts made for the campaign count",
			m.PublishedAt.UTC().Format(time.RFC3339), acceptedAt.UTC().Format(time.RFC3339))
	}
	missing, warnings := Check(camp.Setup.Brief, campaign.Platform(in.Platform), m)
	if len(missing) > 0 {
		return Post{}, noncompliant(missing)
	}
	now := s.clock.Now()
	post := Post{ID: id.New(id.Post), CampaignID: camp.ID, CreatorID: creatorID, Platform: in.Platform, MediaID: m.ID,
		Permalink: m.Permalink, Caption: m.Caption, MediaType: m.Type, PublishedAt: clock.MicrosOf(m.PublishedAt),
		State: PostLive, Warnings: warnings, SubmittedAt: clock.MicrosOf(now), accountRef: ref,
		Billed: platform.Counts{Views: platform.Known(0), Likes: platform.Known(0), Comments: platform.Known(0),
			Shares: platform.Known(0), Saves: platform.Known(0)}}
	if camp.Setup.ContentApproval {
		post.State = PostPendingApproval
	}
	var warnJSON string
	if len(warnings) > 0 {
		b, err := json.Marshal(warnings)
		if err != nil {
			return Post{}, fmt.Errorf("engage: encode warnings: %w", err)
		}
		warnJSON = string(b)
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		// Re-check under the campaign's lock: it may have closed meanwhile.
		locked, err := s.campaigns.LockTx(ctx, tx, identity.Principal{Role: identity.RoleAdmin}, camp.ID)
		if err != nil {
			return err
		}
		if locked.State != campaign.StateOpen {
			return errs.Conflictf("campaign_not_open", "campaign %s is %s: posts are accepted only while it is open", camp.ID, locked.State)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO posts (id, campaign_id, creator_id, account_ref, platform, media_id, permalink, caption,
			media_type, published_at, state, warnings, submitted_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			post.ID, post.CampaignID, post.CreatorID, ref, string(post.Platform), post.MediaID, post.Permalink, post.Caption,
			post.MediaType, int64(post.PublishedAt), post.State, warnJSON, now.UnixMicro())
		if store.IsUniqueViolation(err) {
			return errs.Conflictf("post_already_submitted", "this %s media item was already submitted to a campaign", post.Platform)
		}
		if err != nil {
			return fmt.Errorf("engage: insert post: %w", err)
		}
		return editMarks(ctx, tx, post.CampaignID, post.CreatorID, func(posts []postMark) ([]postMark, error) {
			return append(posts, postMark{id: post.ID, ref: ref, mediaID: post.MediaID, plat: post.Platform,
				live: post.State == PostLive, nextPoll: now.UnixMicro()}), nil
		})
	})
	if err != nil {
		return Post{}, err
	}
	return post, nil
}

func joinPlatforms(ps []campaign.Platform) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p)
	}
	return strings.Join(out, ", ")
}

// Decide approves or rejects a post waiting for the brand's approval, or
// one flagged for an impossible reading (PostFlagged). Only the campaign's
// brand (or the admin) may; approve makes it live — its engagement since
// publication, or for a flagged post its growth above the marks it had
// before the impossible reading, is then billed; a reading still
// impossible flags it again —, reject ends it with reason. It returns a
// Conflict when the post is neither waiting for approval nor flagged.
func (s *Service) Decide(ctx context.Context, p identity.Principal, postID string, approve bool, reason string) (Post, error) {
	if len(reason) > 1000 {
		return Post{}, errs.Invalidf("reason", "too_long", "reason is longer than 1000 bytes")
	}
	var out Post
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		post, err := s.postFor(ctx, tx, p, postID, true)
		if err != nil {
			return err
		}
		if !p.IsAdmin() && p.BrandID() == "" { // its creator sees the post, but does not decide it
			return errs.NotFoundf("post %s not found", postID)
		}
		if post.State != PostPendingApproval && post.State != PostFlagged {
			return errs.Conflictf("post_not_pending", "post %s is %s, not waiting for approval", post.ID, post.State)
		}
		now := s.clock.Now()
		post.State, post.StateReason, post.DecidedAt = PostLive, "", clock.MicrosOf(now)
		if !approve {
			post.State, post.StateReason = PostRejected, strings.TrimSpace(reason)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE posts SET state = $1, state_reason = $2, decided_at = $3 WHERE id = $4`,
			post.State, post.StateReason, now.UnixMicro(), post.ID); err != nil {
			return fmt.Errorf("engage: decide post: %w", err)
		}
		if err := editMarks(ctx, tx, post.CampaignID, post.CreatorID, func(posts []postMark) ([]postMark, error) {
			for i := range posts {
				if posts[i].id == post.ID {
					posts[i].live, posts[i].nextPoll = post.State == PostLive, now.UnixMicro()
					return posts, nil
				}
			}
			return nil, fmt.Errorf("engage: post %s missing from its marks row", post.ID)
		}); err != nil {
			return err
		}
		out = post
		return nil
	})
	return out, err
}

// postFor reads a post the principal may see: its creator, the campaign's
// brand, or the admin. lock locks the row for the rest of tx.
func (s *Service) postFor(ctx context.Context, q store.Queryer, p identity.Principal, postID string, lock bool) (Post, error) {
	query := `SELECT ` + postCols + postFrom + `WHERE p.id = $1`
	if tx, ok := q.(*store.Tx); ok && lock {
		query += tx.ForUpdate()
	}
	post, err := scanPost(q.QueryRowContext(ctx, query, postID))
	if errors.Is(err, sql.ErrNoRows) {
		return Post{}, errs.NotFoundf("post %s not found", postID)
	}
	if err != nil {
		return Post{}, fmt.Errorf("engage: read post %s: %w", postID, err)
	}
	allowed := p.IsAdmin() || p.CreatorID() == post.CreatorID
	if b := p.BrandID(); b != "" && !allowed {
		camp, err := s.campaigns.Internal(ctx, q, post.CampaignID)
		if err != nil {
			return Post{}, err
		}
		allowed = camp.BrandID == b
	}
	if !allowed {
		return Post{}, errs.NotFoundf("post %s not found", postID)
	}
	m, err := postMarkOf(ctx, q, post.CampaignID, post.CreatorID, post.ID)
	if err != nil {
		return Post{}, err
	}
	post.setMarks(m)
	return post, nil
}

// GetPost returns a post its creator, the campaign's brand or the admin may see.
func (s *Service) GetPost(ctx context.Context, p identity.Principal, postID string) (Post, error) {
	return s.postFor(ctx, s.db.Read(), p, postID, false)
}

// ListPosts returns a campaign's posts, oldest first: all of them for its
// brand or the admin, a creator's own for a creator.
func (s *Service) ListPosts(ctx context.Context, p identity.Principal, campaignID string) ([]Post, error) {
	creator := p.CreatorID()
	if creator == "" {
		if _, err := s.campaigns.Get(ctx, p, campaignID); err != nil {
			return nil, err
		}
	}
	out, err := store.QueryAll(ctx, s.db.Read(), scanPost, `SELECT `+postCols+postFrom+`WHERE p.campaign_id = $1 AND ($2 = '' OR p.creator_id = $2) ORDER BY p.id`,
		campaignID, creator)
	if err != nil {
		return nil, fmt.Errorf("engage: list posts: %w", err)
	}
	if len(out) > 0 {
		marks, err := marksOf(ctx, s.db.Read(), campaignID, creator)
		if err != nil {
			return nil, err
		}
		for i := range out {
			m, ok := marks[out[i].ID]
			if !ok {
				return nil, fmt.Errorf("engage: post %s missing from its marks row", out[i].ID)
			}
			out[i].setMarks(m)
		}
	}
	if creator != "" && len(out) == 0 {
		if _, err := s.apps.AcceptedAt(ctx, s.db.Read(), campaignID, creator); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RecordVerified stores posts as live without reading the platform, for
// benchmarks and bulk imports whose media were verified elsewhere: each
// belongs to the creator's connected account accountRef and follows the
// brief. It writes them all in one transaction, and nothing on error.
func (s *Service) RecordVerified(ctx context.Context, campaignID, creatorID, accountRef string, p platform.Name, media []platform.Media) error {
	now := s.clock.Now().UnixMicro()
	rows := make([][]any, len(media))
	marks := make([]postMark, len(media))
	for i, m := range media {
		pid := id.New(id.Post)
		rows[i] = []any{pid, campaignID, creatorID, accountRef, string(p), m.ID, m.Permalink, m.Caption, m.Type,
			m.PublishedAt.UnixMicro(), PostLive, now}
		marks[i] = postMark{id: pid, ref: accountRef, mediaID: m.ID, plat: p, live: true, nextPoll: now}
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if err := tx.BulkInsert(ctx, "posts", []string{"id", "campaign_id", "creator_id", "account_ref", "platform", "media_id", "permalink",
			"caption", "media_type", "published_at", "state", "submitted_at"}, rows); err != nil {
			return err
		}
		return editMarks(ctx, tx, campaignID, creatorID, func(posts []postMark) ([]postMark, error) {
			return append(posts, marks...), nil
		})
	})
}
