// Package instagram is payper's platform.Connector for Instagram, through
// the "Instagram API with Instagram Login" (graph.instagram.com): a creator
// with a professional (business or creator) account connects it, and payper
// reads their profile, their media and the media's insights.
//
// The package also holds Fake, an in-memory Instagram for tests of this and
// other packages.
package instagram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/payper/payper/internal/platform"
)

// DefaultVersion is the Graph API version the data calls on
// graph.instagram.com name (/v27.0/me, /v27.0/{media-id}/insights …) unless
// Config.GraphVersion overrides it. The Instagram API with Instagram Login
// follows the Graph API's versions: v27.0 was released on 2026-11-04 with no
// end date yet ("Introducing Graph API v27.0 and Marketing API v27.0",
// https://developers.facebook.com/blog/post/2026/11/04/introducing-graph-api-v27-and-marketing-api-v27/,
// and the Graph API changelog's version table,
// https://developers.facebook.com/docs/graph-api/changelog). Each version
// works for at least two years; a call naming a version no longer available
// is served by the oldest available one, and an unversioned call by the
// version set in the app dashboard (Platform Versioning,
// https://developers.facebook.com/docs/graph-api/guides/versioning), which
// is why every data call names one. The token endpoints (/access_token,
// /refresh_access_token) are documented without a version and stay so.
//
// To move: read the Instagram Platform changelog for the versions between
// this one and the target (insights metrics above all), change this
// constant, and run this package's tests (the Fake expects DefaultVersion
// unless told otherwise with Fake.ExpectVersion).
const DefaultVersion = "v27.0"

// Default base URLs of the two hosts the connector talks to.
const (
	DefaultAuthBaseURL  = "https://api.instagram.com"
	DefaultGraphBaseURL = "https://graph.instagram.com"
)

// Token lifetimes and rules Instagram documents.
const (
	// LongLivedTTL is how long a long-lived token lasts when the platform
	// does not say (it answers expires_in, about 60 days).
	LongLivedTTL = 60 * 24 * time.Hour
	// MinRefreshAge is how old a long-lived token must be before Instagram
	// refreshes it.
	MinRefreshAge = 24 * time.Hour
)

// The scopes payper asks for.
const (
	ScopeBasic    = "instagram_business_basic"
	ScopeInsights = "instagram_business_manage_insights"
)

// Scopes lists the scopes AuthorizeURL requests.
var Scopes = []string{ScopeBasic, ScopeInsights}

// maxResponse bounds how much of a response the client reads.
const maxResponse = 1 << 20

// parallelism bounds the concurrent requests of Counts and RecentMedia.
const parallelism = 4

// Config configures a Client.
type Config struct {
	// ClientID and ClientSecret are the Instagram app's id and secret
	// (App Dashboard › Instagram › API setup with Instagram login).
	ClientID, ClientSecret string
	// AuthBaseURL serves the consent page and the code exchange
	// (DefaultAuthBaseURL when empty).
	AuthBaseURL string
	// GraphBaseURL serves the Graph API (DefaultGraphBaseURL when empty).
	GraphBaseURL string
	// GraphVersion, e.g. "v27.0", prefixes the paths of data calls
	// (DefaultVersion when empty).
	GraphVersion string
	// HTTP is the client for every request (one with a 30 s timeout when nil).
	HTTP *http.Client
	// Clock dates tokens and decides when a token may be refreshed
	// (time.Now when nil).
	Clock func() time.Time
	// Log receives a warning for each insights call Instagram refuses with
	// code 100 (slog.Default() when nil). It never carries tokens.
	Log *slog.Logger
}

// Client is the Instagram platform.Connector. It holds only configuration
// and the last rate-limit usage Instagram reported, and is safe for
// concurrent use.
type Client struct {
	clientID, clientSecret string
	authBase, graphBase    string
	version                string
	hc                     *http.Client
	now                    func() time.Time
	log                    *slog.Logger
	// refused counts insights calls refused with code 100, by reason.
	refused *prometheus.CounterVec

	mu    sync.Mutex
	usage Usage
}

var _ platform.Connector = (*Client)(nil)

// New returns a connector configured by cfg. It returns an error when
// ClientID or ClientSecret is missing or a base URL is not an absolute
// http(s) URL.
func New(cfg Config) (*Client, error) {
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("instagram: Config.ClientID is required")
	}
	if strings.TrimSpace(cfg.ClientSecret) == "" {
		return nil, errors.New("instagram: Config.ClientSecret is required")
	}
	c := &Client{clientID: cfg.ClientID, clientSecret: cfg.ClientSecret, hc: cfg.HTTP, now: cfg.Clock,
		version: strings.Trim(cfg.GraphVersion, "/")}
	if c.version == "" {
		c.version = DefaultVersion
	}
	if !graphVersion.MatchString(c.version) {
		return nil, fmt.Errorf("instagram: Config.GraphVersion %q is not like %s", cfg.GraphVersion, DefaultVersion)
	}
	var err error
	if c.authBase, err = baseURL("AuthBaseURL", cfg.AuthBaseURL, DefaultAuthBaseURL); err != nil {
		return nil, err
	}
	if c.graphBase, err = baseURL("GraphBaseURL", cfg.GraphBaseURL, DefaultGraphBaseURL); err != nil {
		return nil, err
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.log = cfg.Log
	if c.log == nil {
		c.log = slog.Default()
	}
	c.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "payper_instagram_insights_code100_total",
		Help: "Instagram media insights calls refused with error code 100, by reason: unsupported_metric " +
			"(Instagram named metrics it does not support for the item; the call was retried without them) " +
			"or no_insights (the item has no insights, e.g. inside an album; its views, shares and saves stay unknown)."},
		[]string{"reason"})
	for _, reason := range []string{"unsupported_metric", "no_insights"} {
		c.refused.WithLabelValues(reason) // exported at 0 from the start, so a rate over it is defined
	}
	return c, nil
}

// RegisterMetrics registers the connector's metrics
// (payper_instagram_insights_code100_total) with r. It returns an error if
// r refuses them, e.g. when registered twice.
func (c *Client) RegisterMetrics(r prometheus.Registerer) error {
	if err := r.Register(c.refused); err != nil {
		return fmt.Errorf("instagram: register metrics: %w", err)
	}
	return nil
}

// graphVersion is the form of a Graph API version.
var graphVersion = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,2}$`)

func baseURL(field, v, def string) (string, error) {
	if v == "" {
		v = def
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("instagram: Config.%s %q is not an absolute http(s) URL", field, v)
	}
	return strings.TrimRight(v, "/"), nil
}

// Name returns platform.Instagram.
func (c *Client) Name() platform.Name { return platform.Instagram }

func (c *Client) clock() time.Time { return c.now().UTC() }

// oauthConfig is the x/oauth2 view of the app, for the consent URL.
func (c *Client) oauthConfig(redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: c.clientID, ClientSecret: c.clientSecret, RedirectURL: redirectURI,
		// Instagram separates scopes with commas, x/oauth2 with spaces: pass one.
		Scopes: []string{strings.Join(Scopes, ",")},
		Endpoint: oauth2.Endpoint{AuthURL: c.authBase + "/oauth/authorize",
			TokenURL: c.authBase + "/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams},
	}
}

// Fields the connector asks for.
const (
	profileFields = "user_id,username,account_type,followers_count,follows_count,media_count"
	// Instagram returns owner only to the media's own account, username to anyone.
	mediaFields  = "id,caption,media_type,media_product_type,permalink,timestamp,owner,username"
	countFields  = "id,media_type,media_product_type,like_count,comments_count,owner,username"
	listFields   = "id,caption,media_type,media_product_type,permalink,timestamp,like_count,comments_count"
	listPageSize = 100
	// maxPermalinkScan bounds how many of the account's media FindMedia
	// reads looking for a permalink.
	maxPermalinkScan = 2000
)

// Profile returns the connected account, with its follower and media
// counts. It fails with platform.ErrReconnect when the token no longer works,
// and with the other platform error kinds as documented on
// platform.Connector.
func (c *Client) Profile(ctx context.Context, tok platform.Token) (platform.Profile, error) {
	me, err := c.me(ctx, tok, profileFields)
	if err != nil {
		return platform.Profile{}, err
	}
	p := platform.Profile{AccountID: string(me.UserID), Handle: me.Username,
		Followers: knownOrUnknown(me.FollowersCount), MediaCount: knownOrUnknown(me.MediaCount)}
	if p.AccountID == "" {
		p.AccountID = string(me.ID)
	}
	if p.AccountID == "" || p.Handle == "" {
		return platform.Profile{}, c.malformed("profile", errors.New("user_id or username missing"))
	}
	return p, nil
}

func (c *Client) me(ctx context.Context, tok platform.Token, fields string) (meResponse, error) {
	var me meResponse
	err := c.graph(ctx, request{tok: &tok, path: "/me", query: url.Values{"fields": {fields}}, scope: ScopeBasic}, &me)
	return me, err
}

// FindMedia returns one of the account's media items by its id, or by its
// permalink (anything containing "://"), which it looks for in the
// account's newest maxPermalinkScan items. A media item of another account,
// where Instagram shows it at all, comes back with AccountID "" (Instagram
// names its owner only to the owner), so platform.CheckOwner refuses it. An
// unknown, deleted or invisible item, a malformed id or a permalink not
// found fails with platform.ErrMediaNotFound.
func (c *Client) FindMedia(ctx context.Context, tok platform.Token, idOrPermalink string) (platform.Media, error) {
	ref := strings.TrimSpace(idOrPermalink)
	if strings.Contains(ref, "://") {
		return c.findByPermalink(ctx, tok, ref)
	}
	if !validMediaID(ref) {
		return platform.Media{}, &platform.Error{Platform: platform.Instagram, Kind: platform.ErrMediaNotFound,
			Code: "invalid_media_id", Message: fmt.Sprintf("%q is not an Instagram media id", ref)}
	}
	var m mediaObject
	if err := c.graph(ctx, request{tok: &tok, path: "/" + ref, query: url.Values{"fields": {mediaFields}},
		scope: ScopeBasic, media: true}, &m); err != nil {
		return platform.Media{}, err
	}
	return c.toMedia(m, string(m.Owner.ID))
}

func (c *Client) findByPermalink(ctx context.Context, tok platform.Token, permalink string) (platform.Media, error) {
	want := permalinkKey(permalink)
	var found *mediaObject
	err := c.listMedia(ctx, tok, maxPermalinkScan, func(m mediaObject) bool {
		if m.Permalink != "" && permalinkKey(m.Permalink) == want {
			found = &m
			return false
		}
		return true
	})
	if err != nil {
		return platform.Media{}, err
	}
	if found == nil {
		return platform.Media{}, &platform.Error{Platform: platform.Instagram, Kind: platform.ErrMediaNotFound,
			Code:    "permalink_not_found",
			Message: fmt.Sprintf("no media with permalink %s among the account's %d newest", permalink, maxPermalinkScan)}
	}
	return c.toMedia(*found, tok.AccountID)
}

func (c *Client) toMedia(m mediaObject, owner string) (platform.Media, error) {
	if m.ID == "" || m.Timestamp == "" {
		return platform.Media{}, c.malformed("media", errors.New("id or timestamp missing"))
	}
	at, err := parseTimestamp(m.Timestamp)
	if err != nil {
		return platform.Media{}, c.malformed("media", err)
	}
	return platform.Media{ID: string(m.ID), AccountID: owner, Permalink: m.Permalink, Caption: m.Caption,
		Type: mediaType(m.MediaType, m.ProductType), PublishedAt: at}, nil
}

// listMedia walks the account's media newest first, at most limit items,
// calling yield for each until it returns false. It pages with
// paging.cursors.after and stops where paging.next is absent.
func (c *Client) listMedia(ctx context.Context, tok platform.Token, limit int, yield func(mediaObject) bool) error {
	seen, after := 0, ""
	for seen < limit {
		q := url.Values{"fields": {listFields}, "limit": {strconv.Itoa(min(listPageSize, limit-seen))}}
		if after != "" {
			q.Set("after", after)
		}
		var page mediaPage
		if err := c.graph(ctx, request{tok: &tok, path: "/me/media", query: q, scope: ScopeBasic}, &page); err != nil {
			return err
		}
		for _, m := range page.Data {
			if m.ID == "" {
				return c.malformed("media list", errors.New("an item has no id"))
			}
			seen++
			if !yield(m) || seen >= limit {
				return nil
			}
		}
		next := page.Paging.Cursors.After
		if page.Paging.Next == "" || next == "" || next == after || len(page.Data) == 0 {
			return nil
		}
		after = next
	}
	return nil
}

// Counts returns the cumulative counts of the given media, one media
// request and (for the account's own media) one insights request per id,
// a few at a time. Views, shares and saves come from the insights; likes and
// comments from the insights, else from the media's like_count and
// comments_count. A metric Instagram does not report — not in the insights
// answer, an album's child, a story's likes, a metric Instagram refuses for
// the item (code 100; the others are still read), or an item with "not
// enough viewers" (code 10) — is Unknown. Media of other accounts get only like and
// comment counts, and AccountID "". Unknown, deleted and malformed ids are
// absent from the map. On error the map holds the items read before it.
func (c *Client) Counts(ctx context.Context, tok platform.Token, mediaIDs []string) (map[string]platform.MediaCounts, error) {
	ids := dedupe(mediaIDs)
	out := make(map[string]platform.MediaCounts, len(ids))
	var mu sync.Mutex
	err := forEach(ctx, len(ids), func(ctx context.Context, i int) error {
		var m mediaObject
		err := c.graph(ctx, request{tok: &tok, path: "/" + ids[i], query: url.Values{"fields": {countFields}},
			scope: ScopeBasic, media: true}, &m)
		if errors.Is(err, platform.ErrMediaNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if m.ID == "" {
			return c.malformed("media", errors.New("id missing"))
		}
		mc, err := c.countsOf(ctx, tok, m, string(m.Owner.ID))
		if err != nil {
			return err
		}
		mu.Lock()
		out[ids[i]] = mc
		mu.Unlock()
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	return out, err
}

// RecentMedia returns the account's newest media items (stories excluded, as
// Instagram lists them), newest first, at most limit of them (clamped to
// 1…platform.MaxRecentMedia), each with its counts as Counts reads them.
func (c *Client) RecentMedia(ctx context.Context, tok platform.Token, limit int) ([]platform.MediaCounts, error) {
	limit = max(1, min(limit, platform.MaxRecentMedia))
	var items []mediaObject
	if err := c.listMedia(ctx, tok, limit, func(m mediaObject) bool {
		items = append(items, m)
		return true
	}); err != nil {
		return nil, err
	}
	out := make([]platform.MediaCounts, len(items))
	err := forEach(ctx, len(items), func(ctx context.Context, i int) error {
		mc, err := c.countsOf(ctx, tok, items[i], tok.AccountID)
		out[i] = mc
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Insight metrics by media_product_type, from the metric table of the
// Instagram Media Insights reference
// (https://developers.facebook.com/documentation/instagram-platform/reference/instagram-media/insights):
// views, reach, shares and total_interactions exist for FEED, REELS and
// STORY; likes, comments and saved for FEED and REELS only; asking a story
// for them is refused with code 100 ("The Media Insights API does not
// support the likes metric for this media product type."). plays,
// impressions, video_views, clips_replays_count and
// ig_reels_aggregated_all_plays_count were deprecated (v22.0, then every
// version on 2025-04-21): never ask for them. Anything else (FEED, AD, a
// type added later) gets the FEED list.
var (
	feedMetrics  = []string{"views", "reach", "likes", "comments", "shares", "saved", "total_interactions"}
	storyMetrics = []string{"views", "reach", "shares", "total_interactions"}
)

// metricsFor returns the metrics to request for a media_product_type.
func metricsFor(productType string) []string {
	if productType == "STORY" {
		return storyMetrics
	}
	return feedMetrics
}

// countsOf reads the insights of m (when owner is the token's account) and
// merges them with the media object's like and comment counts.
func (c *Client) countsOf(ctx context.Context, tok platform.Token, m mediaObject, owner string) (platform.MediaCounts, error) {
	mc := platform.MediaCounts{MediaID: string(m.ID), AccountID: owner}
	mc.Likes, mc.Comments = knownOrUnknown(m.LikeCount), knownOrUnknown(m.CommentsCount)
	mc.Views, mc.Shares, mc.Saves = platform.Unknown(), platform.Unknown(), platform.Unknown()
	if owner == "" || owner != tok.AccountID {
		return mc, nil
	}
	got, err := c.insights(ctx, tok, m)
	if err != nil {
		return platform.MediaCounts{}, err
	}
	set := func(dst *platform.Count, name string) {
		if v, ok := got[name]; ok {
			*dst = v
		}
	}
	set(&mc.Views, "views")
	set(&mc.Likes, "likes")
	set(&mc.Comments, "comments")
	set(&mc.Shares, "shares")
	set(&mc.Saves, "saved")
	return mc, nil
}

// insights reads m's insight metrics. When Instagram refuses the call with
// code 100 naming metrics it does not support for the item, it logs that,
// counts it and asks once more without them, so one refused metric does not
// hide the others. Any other code 100 (an album's child, media Instagram
// keeps no insights for) and "not enough viewers" (code 10) give no metrics;
// code 100 is logged and counted. Other failures are returned.
func (c *Client) insights(ctx context.Context, tok platform.Token, m mediaObject) (map[string]platform.Count, error) {
	metrics := metricsFor(m.ProductType)
	for attempt := 0; ; attempt++ {
		var ins insightsResponse
		err := c.graph(ctx, request{tok: &tok, path: "/" + string(m.ID) + "/insights",
			query: url.Values{"metric": {strings.Join(metrics, ",")}}, scope: ScopeInsights, insights: true}, &ins)
		if err == nil {
			return ins.values(), nil
		}
		if !errors.Is(err, errNoInsights) {
			return nil, err
		}
		var pe *platform.Error
		if !errors.As(err, &pe) || pe.Code != "100" {
			return map[string]platform.Count{}, nil // code 10: not enough viewers, documented and expected
		}
		refused := refusedMetrics(pe.Message, metrics)
		rest := slices.DeleteFunc(slices.Clone(metrics), func(n string) bool { return slices.Contains(refused, n) })
		if attempt == 0 && len(refused) > 0 && len(rest) > 0 {
			c.noteRefused(ctx, m, metrics, refused, "unsupported_metric", pe.Message)
			metrics = rest
			continue
		}
		c.noteRefused(ctx, m, metrics, refused, "no_insights", pe.Message)
		return map[string]platform.Count{}, nil
	}
}

// noteRefused logs and counts an insights call refused with code 100.
func (c *Client) noteRefused(ctx context.Context, m mediaObject, requested, refused []string, reason, message string) {
	c.refused.WithLabelValues(reason).Inc()
	c.log.WarnContext(ctx, "instagram: insights refused with code 100",
		"reason", reason, "media_id", string(m.ID), "media_product_type", m.ProductType,
		"metrics", strings.Join(requested, ","), "refused_metrics", strings.Join(refused, ","), "message", message)
}

// refusedMetrics returns the metrics of requested that a code 100 message
// refuses: those it names ("The Media Insights API does not support the
// impressions, replies metric for this media product type.", "the plays
// metric is no longer supported"), or, when it lists the valid values
// ("metric[0] must be one of the following values: …"), those it does not
// list. A message naming no metric (an album's child) refuses none.
func refusedMetrics(message string, requested []string) []string {
	msg := strings.ToLower(message)
	if !strings.Contains(msg, "metric") {
		return nil
	}
	notName := func(r rune) bool { return !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') }
	_, valid, listing := strings.Cut(msg, "must be one of")
	words := strings.FieldsFunc(msg, notName)
	if listing {
		words = strings.FieldsFunc(valid, notName)
	}
	var out []string
	for _, name := range requested {
		if slices.Contains(words, name) != listing {
			out = append(out, name)
		}
	}
	return out
}

// forEach runs fn for 0…n-1, parallelism at a time, and returns the first
// error, after which it starts no more calls and cancels the running ones.
func forEach(parent context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	sem := make(chan struct{}, parallelism)
loop:
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break loop
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if first == nil && parent.Err() != nil {
		return &platform.Error{Platform: platform.Instagram, Message: "request abandoned", Err: parent.Err()}
	}
	return first
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if !validMediaID(id) || seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

// validMediaID reports whether id looks like an Instagram media id (digits,
// with an underscore in older ids), so it cannot name another Graph node.
func validMediaID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// permalinkKey reduces an Instagram permalink to what identifies the item:
// the shortcode after /p/, /reel/, /reels/ or /tv/, whatever the host,
// query or trailing slash; other URLs to host and path.
func permalinkKey(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return s
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		switch parts[i] {
		case "p", "reel", "reels", "tv":
			return "shortcode:" + parts[i+1]
		}
	}
	return strings.TrimPrefix(strings.ToLower(u.Host), "www.") + "/" + strings.Join(parts, "/")
}

// parseTimestamp reads Instagram's "2026-03-01T10:00:00+0000" (no colon in
// the offset, which RFC 3339 requires), or RFC 3339.
func parseTimestamp(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is not ISO 8601", s)
}

// mediaType normalises media_type and media_product_type.
func mediaType(mt, product string) string {
	switch product {
	case "STORY":
		return platform.TypeStory
	case "REELS":
		return platform.TypeReel
	}
	switch mt {
	case "IMAGE":
		return platform.TypeImage
	case "VIDEO":
		return platform.TypeVideo
	case "CAROUSEL_ALBUM":
		return platform.TypeCarousel
	}
	return ""
}

func knownOrUnknown(v *int64) platform.Count {
	if v == nil || *v < 0 {
		return platform.Unknown()
	}
	return platform.Known(*v)
}

func (c *Client) malformed(what string, err error) error {
	return &platform.Error{Platform: platform.Instagram, Code: "malformed_response",
		Message: "unexpected " + what + " from Instagram", Err: err}
}
