package youtube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/payper/payper/internal/platform"
)

// The OAuth scopes the connector asks for.
const (
	// ScopeReadonly reads the channel, its videos and their statistics.
	ScopeReadonly = "https://www.googleapis.com/auth/youtube.readonly"
	// ScopeAnalytics reads YouTube Analytics reports (shares).
	ScopeAnalytics = "https://www.googleapis.com/auth/yt-analytics.readonly"
)

// Scopes lists the scopes AuthorizeURL requests.
var Scopes = []string{ScopeReadonly, ScopeAnalytics}

// Google's endpoints, the defaults of Config.
const (
	DefaultAuthURL          = "https://accounts.google.com/o/oauth2/auth"
	DefaultTokenURL         = "https://oauth2.googleapis.com/token"
	DefaultDataBaseURL      = "https://www.googleapis.com/youtube/v3"
	DefaultAnalyticsBaseURL = "https://youtubeanalytics.googleapis.com/v2"
)

// MaxIDsPerCall is the most video ids one videos.list call takes.
const MaxIDsPerCall = 50

// maxResponse bounds how much of a response the client reads.
const maxResponse = 4 << 20

// maxPlaylistPages bounds how many uploads pages RecentMedia reads.
const maxPlaylistPages = 10

// Config configures a Client. Only ClientID is required.
type Config struct {
	// ClientID and ClientSecret identify payper's Google Cloud OAuth client.
	ClientID, ClientSecret string
	// AuthURL and TokenURL are Google's OAuth endpoints (DefaultAuthURL,
	// DefaultTokenURL when empty).
	AuthURL, TokenURL string
	// DataBaseURL is the YouTube Data API v3 (DefaultDataBaseURL when empty).
	DataBaseURL string
	// AnalyticsBaseURL is the YouTube Analytics API v2
	// (DefaultAnalyticsBaseURL when empty).
	AnalyticsBaseURL string
	// HTTP is the client for every call, OAuth included (a client with a
	// 30 s timeout when nil).
	HTTP *http.Client
	// Clock dates tokens and the quota day (time.Now when nil).
	Clock func() time.Time
}

// Client is the YouTube platform.Connector. It holds configuration and the
// count of quota units this process spent today (quota is per Google Cloud
// project, not per creator), and is safe for concurrent use.
type Client struct {
	clientID, clientSecret string
	authURL, tokenURL      string
	dataURL, analyticsURL  string
	hc                     *http.Client
	now                    func() time.Time
	meter                  meter
}

var _ platform.Connector = (*Client)(nil)

// New returns a Client for cfg, filling in Google's URLs where cfg leaves
// them empty. It returns an error when ClientID is empty or a URL is not an
// absolute http(s) URL.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("youtube: Config.ClientID is empty")
	}
	c := &Client{clientID: cfg.ClientID, clientSecret: cfg.ClientSecret, hc: cfg.HTTP, now: cfg.Clock}
	for _, u := range []struct {
		name     string
		dst      *string
		val, def string
	}{
		{"AuthURL", &c.authURL, cfg.AuthURL, DefaultAuthURL},
		{"TokenURL", &c.tokenURL, cfg.TokenURL, DefaultTokenURL},
		{"DataBaseURL", &c.dataURL, cfg.DataBaseURL, DefaultDataBaseURL},
		{"AnalyticsBaseURL", &c.analyticsURL, cfg.AnalyticsBaseURL, DefaultAnalyticsBaseURL},
	} {
		v := cmpOr(strings.TrimSpace(u.val), u.def)
		p, err := url.Parse(v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("youtube: Config.%s %q is not an absolute http(s) URL", u.name, v)
		}
		*u.dst = strings.TrimRight(v, "/")
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Name returns platform.YouTube.
func (c *Client) Name() platform.Name { return platform.YouTube }

// UnitsUsed returns the Data API quota units this Client spent since the
// last midnight Pacific time (every answered call counts, failed ones
// included, as Google bills them). Other processes sharing the project's
// quota are not counted.
func (c *Client) UnitsUsed() int64 {
	u, _ := c.meter.read(c.now())
	return u
}

// AnalyticsCalls returns the Analytics API requests this Client made since
// the last midnight Pacific time; they are billed against the Analytics
// API's own quota, not the Data API's.
func (c *Client) AnalyticsCalls() int64 {
	_, a := c.meter.read(c.now())
	return a
}

func (c *Client) oauthConfig(redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.clientID, ClientSecret: c.clientSecret, RedirectURL: redirectURI,
		Endpoint: oauth2.Endpoint{AuthURL: c.authURL, TokenURL: c.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   Scopes,
	}
}

// AuthorizeURL returns Google's consent URL for req, asking for Scopes
// with access_type=offline and prompt=consent (so Google issues a refresh
// token), the S256 PKCE challenge when req carries one, and req.LoginHint as
// login_hint.
func (c *Client) AuthorizeURL(req platform.AuthRequest) string {
	opts := []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent")}
	if req.CodeChallenge != "" {
		// AuthRequest carries the challenge, not the verifier that
		// oauth2.S256ChallengeOption would hash: set the same two parameters.
		opts = append(opts, oauth2.SetAuthURLParam("code_challenge", req.CodeChallenge),
			oauth2.SetAuthURLParam("code_challenge_method", "S256"))
	}
	if req.LoginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", req.LoginHint))
	}
	return c.oauthConfig(req.RedirectURI).AuthCodeURL(req.State, opts...)
}

// Exchange redeems code for a Token, then reads the channel it authorizes
// (one channels.list unit) to fill Token.AccountID. A used, expired or
// mismatched code or a wrong verifier fails with platform.ErrReconnect, as
// does a Google account without a YouTube channel (code "no_channel"); a
// failure reading the channel returns that call's error and no Token (the
// code is spent: start the flow again).
func (c *Client) Exchange(ctx context.Context, code, redirectURI, codeVerifier string) (platform.Token, error) {
	var opts []oauth2.AuthCodeOption
	if codeVerifier != "" {
		opts = append(opts, oauth2.VerifierOption(codeVerifier))
	}
	now := c.now()
	ot, err := c.oauthConfig(redirectURI).Exchange(c.oauthContext(ctx), code, opts...)
	if err != nil {
		return platform.Token{}, c.tokenError(ctx, "code exchange", err)
	}
	tok, err := c.token(ot, now, nil)
	if err != nil {
		return platform.Token{}, err
	}
	ch, err := c.mine(ctx, tok, "id")
	if err != nil {
		return platform.Token{}, err
	}
	tok.AccountID = ch.ID
	return tok, nil
}

// Refresh returns a new access token for tok through x/oauth2. Google does
// not rotate refresh tokens: its answer carries none, and the returned Token
// keeps tok's RefreshToken, AccountID and (unless Google names them) Scopes.
// A token without a refresh token, or a revoked or expired one, fails with
// platform.ErrReconnect.
func (c *Client) Refresh(ctx context.Context, tok platform.Token) (platform.Token, error) {
	if tok.RefreshToken == "" {
		return platform.Token{}, &platform.Error{Platform: platform.YouTube, Kind: platform.ErrReconnect,
			Code: "no_refresh_token", Message: "the token has no refresh token"}
	}
	now := c.now()
	ot, err := c.oauthConfig("").TokenSource(c.oauthContext(ctx), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		return platform.Token{}, c.tokenError(ctx, "token refresh", err)
	}
	out, err := c.token(ot, now, tok.Scopes)
	if err != nil {
		return platform.Token{}, err
	}
	if out.RefreshToken == "" {
		out.RefreshToken = tok.RefreshToken
	}
	out.RefreshExpiresAt = tok.RefreshExpiresAt
	out.AccountID = tok.AccountID
	return out, nil
}

func (c *Client) oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.hc)
}

// token converts x/oauth2's token, dating it with the connector's clock.
func (c *Client) token(ot *oauth2.Token, now time.Time, scopes []string) (platform.Token, error) {
	if ot.AccessToken == "" {
		return platform.Token{}, c.malformed("token response", errors.New("access_token missing"))
	}
	tok := platform.Token{AccessToken: ot.AccessToken, RefreshToken: ot.RefreshToken, IssuedAt: now, Scopes: scopes}
	switch {
	case ot.ExpiresIn > 0:
		tok.ExpiresAt = now.Add(time.Duration(ot.ExpiresIn) * time.Second)
	case !ot.Expiry.IsZero():
		tok.ExpiresAt = ot.Expiry
	}
	if s, ok := ot.Extra("scope").(string); ok && s != "" {
		tok.Scopes = strings.Fields(s)
	}
	return tok, nil
}

// tokenError maps a failure of Google's token endpoint.
func (c *Client) tokenError(ctx context.Context, what string, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		e := &platform.Error{Platform: platform.YouTube, Message: what + " failed", Err: err}
		if ctx.Err() == nil {
			e.Kind = platform.ErrUnavailable
		}
		return e
	}
	status := 0
	var hdr http.Header
	if re.Response != nil {
		status, hdr = re.Response.StatusCode, re.Response.Header
	}
	e := &platform.Error{Platform: platform.YouTube, Status: status, Code: re.ErrorCode,
		Message: what + " refused", Err: err}
	if re.ErrorDescription != "" {
		e.Message += ": " + re.ErrorDescription
	}
	switch {
	case status == http.StatusTooManyRequests:
		return &platform.RateLimitError{Platform: platform.YouTube, Reason: cmpOr(re.ErrorCode, "too_many_requests"),
			RetryAfter: platform.ParseRetryAfter(hdr.Get("Retry-After"), c.now()), Err: e}
	case status >= 500:
		e.Kind = platform.ErrUnavailable
	case re.ErrorCode == "invalid_grant", re.ErrorCode == "redirect_uri_mismatch",
		status == http.StatusUnauthorized && re.ErrorCode == "":
		e.Kind = platform.ErrReconnect
	}
	return e
}

// Profile returns the connected channel (one channels.list unit):
// Handle is its @handle without the @ ("" when it has none), Followers its
// subscriber count, rounded by YouTube to three significant figures, or
// Unknown when the channel hides it. A Google account without a channel
// fails with platform.ErrReconnect (code "no_channel").
func (c *Client) Profile(ctx context.Context, tok platform.Token) (platform.Profile, error) {
	ch, err := c.mine(ctx, tok, "statistics,snippet,contentDetails")
	if err != nil {
		return platform.Profile{}, err
	}
	p := platform.Profile{AccountID: ch.ID, Handle: strings.TrimPrefix(ch.Snippet.CustomURL, "@"),
		DisplayName: ch.Snippet.Title, MediaCount: ch.Statistics.VideoCount}
	if !ch.Statistics.HiddenSubscriberCount && ch.Statistics.SubscriberCount.Known {
		p.Followers, p.FollowersRounded = ch.Statistics.SubscriberCount, true
	}
	return p, nil
}

// FindMedia returns a video by id or by permalink (youtube.com/watch?v=,
// /shorts/, /live/, /embed/, youtu.be/; see VideoID), with its owner in
// AccountID and title and description in Caption (one videos.list unit).
// A reference naming no video, or a video that does not exist or cannot be
// seen, fails with platform.ErrMediaNotFound.
func (c *Client) FindMedia(ctx context.Context, tok platform.Token, idOrPermalink string) (platform.Media, error) {
	id, short, ok := parseRef(idOrPermalink)
	if !ok {
		return platform.Media{}, &platform.Error{Platform: platform.YouTube, Kind: platform.ErrMediaNotFound,
			Code: "invalid_reference", Message: fmt.Sprintf("%q is neither a video id nor a YouTube video link", idOrPermalink)}
	}
	vs, err := c.videos(ctx, tok, []string{id}, platform.ErrMediaNotFound)
	if err != nil {
		return platform.Media{}, err
	}
	if len(vs) == 0 {
		return platform.Media{}, &platform.Error{Platform: platform.YouTube, Kind: platform.ErrMediaNotFound,
			Code: "videoNotFound", Message: "no video " + id}
	}
	v := vs[0]
	m := platform.Media{ID: v.ID, AccountID: v.Snippet.ChannelID, Caption: v.Snippet.Title,
		Type: platform.TypeVideo, Permalink: "https://www.youtube.com/watch?v=" + v.ID, PublishedAt: v.Snippet.PublishedAt.UTC()}
	if v.Snippet.Description != "" {
		m.Caption += "\n\n" + v.Snippet.Description
	}
	if short {
		m.Type, m.Permalink = platform.TypeShort, "https://www.youtube.com/shorts/"+v.ID
	}
	return m, nil
}

// Counts returns the views, likes and comments of the given videos, 50 per
// videos.list call (one unit each), and, for videos of the connected
// channel, their shares from one Analytics report per call. Ids YouTube does
// not return (unknown, deleted, private, malformed) are absent. Hidden likes,
// disabled comments and shares that cannot be read are Unknown; Saves always
// is. On error the map holds the videos read before it.
func (c *Client) Counts(ctx context.Context, tok platform.Token, mediaIDs []string) (map[string]platform.MediaCounts, error) {
	var ids []string
	seen := make(map[string]bool, len(mediaIDs))
	for _, id := range mediaIDs {
		if validID(id) && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	out := make(map[string]platform.MediaCounts, len(ids))
	for start := 0; start < len(ids); start += MaxIDsPerCall {
		got, err := c.countBatch(ctx, tok, ids[start:min(start+MaxIDsPerCall, len(ids))])
		for _, mc := range got {
			out[mc.MediaID] = mc.MediaCounts
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// RecentMedia returns the connected channel's newest videos, newest first,
// at most limit (clamped to 1…platform.MaxRecentMedia), with their counts as
// Counts reads them. It reads the channel's uploads playlist page by page
// (one channels.list and one playlistItems.list unit per page, plus one
// videos.list unit per batch) until it has limit live videos or the playlist
// ends. A channel without videos returns an empty slice.
func (c *Client) RecentMedia(ctx context.Context, tok platform.Token, limit int) ([]platform.MediaCounts, error) {
	limit = max(1, min(limit, platform.MaxRecentMedia))
	ch, err := c.mine(ctx, tok, "contentDetails")
	if err != nil {
		return nil, err
	}
	uploads := ch.ContentDetails.RelatedPlaylists.Uploads
	var got []datedCounts
	if uploads == "" {
		return []platform.MediaCounts{}, nil
	}
	var pending []string
	seen := map[string]bool{}
	pageToken := ""
	for page := 0; len(got) < limit; page++ {
		if page == maxPlaylistPages {
			break
		}
		q := url.Values{"part": {"contentDetails"}, "playlistId": {uploads}, "maxResults": {strconv.Itoa(MaxIDsPerCall)}}
		if pageToken != "" {
			q.Set("pageToken", pageToken)
		}
		var pl playlistItemList
		if err := c.get(ctx, tok, c.dataURL, "/playlistItems", q, nil, &pl); err != nil {
			var pe *platform.Error
			if page == 0 && errors.As(err, &pe) && pe.Status == http.StatusNotFound {
				return []platform.MediaCounts{}, nil // a channel that never uploaded
			}
			return nil, err
		}
		for _, it := range pl.Items {
			if id := it.ContentDetails.VideoID; validID(id) && !seen[id] {
				seen[id] = true
				pending = append(pending, id)
			}
		}
		next := pl.NextPageToken
		if next == pageToken {
			next = ""
		}
		pageToken = next
		// Read counts once enough candidates wait, or the playlist ended.
		for len(pending) > 0 && len(got) < limit && (len(pending) >= limit-len(got) || pageToken == "") {
			batch := pending[:min(len(pending), limit-len(got))]
			pending = pending[len(batch):]
			vs, err := c.countBatch(ctx, tok, batch)
			if err != nil {
				return nil, err
			}
			got = append(got, vs...)
		}
		if pageToken == "" {
			break
		}
	}
	slices.SortStableFunc(got, func(a, b datedCounts) int { return b.published.Compare(a.published) })
	out := make([]platform.MediaCounts, 0, len(got))
	for _, d := range got {
		out = append(out, d.MediaCounts)
	}
	return out, nil
}

// datedCounts are one video's counts and when it was published.
type datedCounts struct {
	platform.MediaCounts
	published time.Time
}

// countBatch reads ≤ MaxIDsPerCall videos, in the order given, and their
// shares. On an Analytics failure other than a permission one it returns the
// videos (shares Unknown) and the error.
func (c *Client) countBatch(ctx context.Context, tok platform.Token, ids []string) ([]datedCounts, error) {
	vs, err := c.videos(ctx, tok, ids, nil)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]int, len(vs))
	out := make([]datedCounts, 0, len(vs))
	var own []string
	published := make(map[string]time.Time, len(vs))
	for _, v := range vs {
		if v.ID == "" {
			return nil, c.malformed("videos", errors.New("an item has no id"))
		}
		st := v.Statistics
		out = append(out, datedCounts{published: v.Snippet.PublishedAt, MediaCounts: platform.MediaCounts{
			MediaID: v.ID, AccountID: v.Snippet.ChannelID,
			Counts: platform.Counts{Views: st.ViewCount, Likes: st.LikeCount, Comments: st.CommentCount},
		}})
		if tok.AccountID != "" && v.Snippet.ChannelID == tok.AccountID {
			byID[v.ID] = len(out) - 1
			own = append(own, v.ID)
			published[v.ID] = v.Snippet.PublishedAt
		}
	}
	// Keep the order asked for (the API does not promise it).
	pos := make(map[string]int, len(ids))
	for i, id := range ids {
		pos[id] = i
	}
	slices.SortStableFunc(out, func(a, b datedCounts) int { return pos[a.MediaID] - pos[b.MediaID] })
	for i := range out {
		if _, ok := byID[out[i].MediaID]; ok {
			byID[out[i].MediaID] = i
		}
	}
	if len(own) == 0 || (len(tok.Scopes) > 0 && !tok.HasScope(ScopeAnalytics)) {
		return out, nil
	}
	shares, err := c.shares(ctx, tok, own, published)
	for id, n := range shares {
		if i, ok := byID[id]; ok {
			out[i].Shares = n
		}
	}
	if err != nil {
		var pe *platform.Error
		if errors.As(err, &pe) && !errors.Is(err, platform.ErrRateLimited) &&
			(pe.Status == http.StatusForbidden || pe.Status == http.StatusUnauthorized) {
			return out, nil // no permission to read Analytics: shares stay Unknown
		}
		return out, err
	}
	return out, nil
}

// TopVideosMax is the most rows the Analytics API's Top videos report
// returns: maxResults may not exceed it, nor startIndex+maxResults-1 (the
// "Top videos" report of "Channel reports",
// https://developers.google.com/youtube/analytics/channel_reports).
const TopVideosMax = 200

// shares reads the lifetime shares of the connected channel's videos ids
// (published maps each to its publication time) from the Analytics API.
//
// A report with the video dimension exists only as the Top videos report:
// sorted in descending order on views (shares is not one of its sort
// metrics), at most TopVideosMax rows, and without a video filter — any other
// query with dimensions=video is refused with 400. So:
//
//   - one video: one basic report without dimensions, filtered to it
//     (filters=video==ID), whose single row is that video's total;
//   - several: one Top videos report (metrics views,shares, sort -views,
//     maxResults 200) from the Pacific day of the earliest publication to
//     today, the channel's most viewed videos in that window. When it holds
//     fewer than 200 rows it lists every video viewed in the window, and a
//     video of ids it lacks has no data yet (Unknown, as Analytics lags a day
//     or two); when it is full, each video of ids it lacks (one outside the
//     channel's 200 most viewed) is read with its own filtered report.
//
// A batch thus costs one Analytics request, plus one per video outside the
// top 200 of a channel with more than 200 viewed videos. A video whose
// report has no row is absent from the map (Unknown). On error the map holds
// what was read before it.
func (c *Client) shares(ctx context.Context, tok platform.Token, ids []string, published map[string]time.Time) (map[string]platform.Count, error) {
	out := make(map[string]platform.Count, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rest := ids
	if len(ids) > 1 {
		var earliest time.Time
		for _, id := range ids {
			if p := published[id]; !p.IsZero() && (earliest.IsZero() || p.Before(earliest)) {
				earliest = p
			}
		}
		q := c.reportQuery(earliest)
		q.Set("metrics", "views,shares")
		q.Set("dimensions", "video")
		q.Set("sort", "-views")
		q.Set("maxResults", strconv.Itoa(TopVideosMax))
		rows, err := c.report(ctx, tok, q, "video")
		if err != nil {
			return out, err
		}
		for _, r := range rows {
			if slices.Contains(ids, r.video) {
				out[r.video] = r.shares
			}
		}
		if len(rows) < TopVideosMax {
			return out, nil // every video viewed in the window is listed
		}
		rest = nil
		for _, id := range ids {
			if _, ok := out[id]; !ok {
				rest = append(rest, id)
			}
		}
	}
	for _, id := range rest {
		q := c.reportQuery(published[id])
		q.Set("metrics", "shares")
		q.Set("filters", "video=="+id)
		rows, err := c.report(ctx, tok, q, "")
		if err != nil {
			return out, err
		}
		if len(rows) > 0 {
			out[id] = rows[0].shares
		}
	}
	return out, nil
}

// reportQuery returns the common parameters of an Analytics report on the
// token's channel from the Pacific day of since (today when zero or later)
// to today.
func (c *Client) reportQuery(since time.Time) url.Values {
	loc := pacific()
	end := c.now().In(loc).Format(time.DateOnly)
	start := end
	if !since.IsZero() {
		if s := since.In(loc).Format(time.DateOnly); s < end {
			start = s
		}
	}
	return url.Values{"ids": {"channel==MINE"}, "startDate": {start}, "endDate": {end}}
}

// shareRow is one row of an Analytics report: its video ("" without the
// video dimension) and its shares.
type shareRow struct {
	video  string
	shares platform.Count
}

// report runs the Analytics query q and reads its shares column and, when
// dim is "video", its video column.
func (c *Client) report(ctx context.Context, tok platform.Token, q url.Values, dim string) ([]shareRow, error) {
	var rep report
	if err := c.get(ctx, tok, c.analyticsURL, "/reports", q, nil, &rep); err != nil {
		return nil, err
	}
	vi, si := -1, -1
	for i, h := range rep.ColumnHeaders {
		switch h.Name {
		case "video":
			vi = i
		case "shares":
			si = i
		}
	}
	if si < 0 || (dim == "video" && vi < 0) {
		if len(rep.Rows) == 0 {
			return nil, nil
		}
		return nil, c.malformed("analytics report", errors.New("no video or shares column"))
	}
	out := make([]shareRow, 0, len(rep.Rows))
	for _, row := range rep.Rows {
		if len(row) <= max(vi, si) {
			return nil, c.malformed("analytics report", errors.New("a row is too short"))
		}
		var r shareRow
		if vi >= 0 {
			if err := json.Unmarshal(row[vi], &r.video); err != nil {
				return nil, c.malformed("analytics report", err)
			}
		}
		if err := json.Unmarshal(row[si], &r.shares); err != nil {
			return nil, c.malformed("analytics report", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// mine reads the token's channel.
func (c *Client) mine(ctx context.Context, tok platform.Token, part string) (channel, error) {
	var cl channelList
	if err := c.get(ctx, tok, c.dataURL, "/channels", url.Values{"part": {part}, "mine": {"true"}}, nil, &cl); err != nil {
		return channel{}, err
	}
	if len(cl.Items) == 0 {
		return channel{}, &platform.Error{Platform: platform.YouTube, Kind: platform.ErrReconnect, Code: "no_channel",
			Message: "the connected Google account has no YouTube channel; connect the account that owns the channel"}
	}
	if cl.Items[0].ID == "" {
		return channel{}, c.malformed("channels", errors.New("the channel has no id"))
	}
	return cl.Items[0], nil
}

// videos reads ≤ MaxIDsPerCall videos with their snippet and statistics.
func (c *Client) videos(ctx context.Context, tok platform.Token, ids []string, notFound error) ([]video, error) {
	var vl videoList
	q := url.Values{"part": {"snippet,statistics"}, "id": {strings.Join(ids, ",")}}
	if err := c.get(ctx, tok, c.dataURL, "/videos", q, notFound, &vl); err != nil {
		return nil, err
	}
	return vl.Items, nil
}

// get performs one bearer-authenticated GET on base+path and decodes a 200
// answer into out. notFound is the Kind a 404 maps to.
func (c *Client) get(ctx context.Context, tok platform.Token, base, path string, q url.Values, notFound error, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+q.Encode(), nil)
	if err != nil {
		return fmt.Errorf("youtube: build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		e := &platform.Error{Platform: platform.YouTube, Message: "GET " + path + " failed", Err: err}
		if ctx.Err() == nil {
			e.Kind = platform.ErrUnavailable
		}
		return e
	}
	defer resp.Body.Close()
	if base == c.analyticsURL {
		c.meter.add(c.now(), 0, 1)
	} else {
		c.meter.add(c.now(), 1, 0)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		e := &platform.Error{Platform: platform.YouTube, Status: resp.StatusCode, Message: "reading GET " + path + " failed", Err: err}
		if ctx.Err() == nil {
			e.Kind = platform.ErrUnavailable
		}
		return e
	}
	if resp.StatusCode != http.StatusOK {
		return c.apiError(resp.StatusCode, resp.Header, body, notFound)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return c.malformed("GET "+path+" answer", err)
	}
	return nil
}

func (c *Client) malformed(what string, err error) error {
	return &platform.Error{Platform: platform.YouTube, Code: "malformed_response",
		Message: "unexpected " + what + " from YouTube", Err: err}
}
