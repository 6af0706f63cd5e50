// Package platform is the one interface every social network payper reads
// engagement from implements: Instagram, TikTok, YouTube and the built-in
// sandbox. A Connector turns a creator's authorization into a Token, and a
// Token into the creator's profile, their media and the media's cumulative
// counts. Connectors never touch the database: they return data and typed
// errors (ErrReconnect, *RateLimitError, ErrMediaNotFound, …), and the domain
// decides what to store, bill or retry.
//
// The connect flow the domain runs with any Connector:
//
//	verifier := platform.NewVerifier()         // keep with the pending connection
//	state := platform.NewState()               // keep with the pending connection
//	url := c.AuthorizeURL(platform.AuthRequest{State: state, RedirectURI: cb,
//		CodeChallenge: platform.Challenge(verifier)})
//	// … the creator approves; the platform redirects to cb …
//	got, err := platform.ParseCallback(r.URL.Query()) // ErrAccessDenied when they said no
//	// look the pending connection up by got.State, then:
//	tok, err := c.Exchange(ctx, got.Code, cb, verifier)
//
// Tokens are refreshed before tok.ExpiresAt (Token.NeedsRefresh). Refresh
// tokens may rotate: always store the Token Refresh returns, at once, and
// never refresh one connection twice concurrently (a reused refresh token can
// revoke the whole authorization). A data call failing with ErrReconnect while
// the Token still holds an unexpired refresh token is worth one Refresh and
// one retry; Refresh failing with ErrReconnect means the creator must
// reconnect.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Name names a platform.
type Name string

// The platforms payper reads.
const (
	Sandbox   Name = "sandbox"
	Instagram Name = "instagram"
	TikTok    Name = "tiktok"
	YouTube   Name = "youtube"
)

// Names lists every platform in display order.
var Names = []Name{Instagram, TikTok, YouTube, Sandbox}

// Valid reports whether n is one of Names.
func (n Name) Valid() bool {
	for _, m := range Names {
		if n == m {
			return true
		}
	}
	return false
}

// Connector reads one platform on behalf of creators. Implementations are
// safe for concurrent use and hold only configuration (client id and secret,
// base URL, HTTP client), never per-creator state: every call takes the
// creator's Token.
//
// Every method that talks to the platform returns, on failure, an error that
// matches (errors.Is) at most one of ErrReconnect, ErrRateLimited (then
// errors.As finds a *RateLimitError), ErrMediaNotFound, ErrUnavailable, and
// wraps the cause (usually a *Error carrying the platform's own error code).
// An error matching none of them is a bug on one side or the other.
type Connector interface {
	// Name returns the platform's name.
	Name() Name

	// AuthorizeURL returns the platform's consent page for req: the URL to
	// send the creator's browser to. Platforms without PKCE ignore
	// req.CodeChallenge (the connector then authenticates the exchange with
	// its client secret).
	AuthorizeURL(req AuthRequest) string

	// Exchange trades the code the platform sent to redirectURI for a Token.
	// redirectURI must be the one given to AuthorizeURL; codeVerifier is the
	// PKCE verifier whose Challenge went into it ("" where PKCE is not
	// supported). Connectors whose first token is short-lived swap it for the
	// long-lived one here (Instagram). A used, expired or mismatched code
	// fails with ErrReconnect: start the flow again.
	Exchange(ctx context.Context, code, redirectURI, codeVerifier string) (Token, error)

	// Refresh returns a fresh Token for tok. When the platform rotates
	// refresh tokens the returned RefreshToken replaces tok's, which is dead
	// from then on. When the platform does not allow refreshing yet
	// (Instagram: tokens younger than 24 h) Refresh returns tok unchanged.
	// An expired or revoked authorization fails with ErrReconnect.
	Refresh(ctx context.Context, tok Token) (Token, error)

	// Profile returns the account tok belongs to, with its follower count.
	Profile(ctx context.Context, tok Token) (Profile, error)

	// FindMedia returns one media item by its platform id or by its public
	// permalink (anything containing "://" is taken as a permalink). The item
	// may belong to another account where the platform lets one read it:
	// compare Media.AccountID with tok.AccountID (CheckOwner). An item that
	// does not exist, was deleted or cannot be seen fails with
	// ErrMediaNotFound.
	FindMedia(ctx context.Context, tok Token, idOrPermalink string) (Media, error)

	// Counts returns the cumulative counts of the given media items, keyed
	// by media id, batching requests as the platform requires. Ids the
	// platform does not know (deleted media, typos) are absent from the map;
	// metrics the platform does not report for an item are Unknown, never 0.
	// On error the map holds whatever was read before it (possibly nothing),
	// which the caller may keep.
	Counts(ctx context.Context, tok Token, mediaIDs []string) (map[string]MediaCounts, error)

	// RecentMedia returns the connected account's most recent media items,
	// newest first, at most limit of them (1 to MaxRecentMedia; connectors
	// clamp other values into that range), each with its cumulative counts;
	// metrics the platform does not report for an item are Unknown, never
	// 0. The domain derives the account's engagement rate from them. An
	// account without media returns an empty slice and no error.
	RecentMedia(ctx context.Context, tok Token, limit int) ([]MediaCounts, error)
}

// Pacer is implemented by connectors whose daily quota bounds how often
// posts can be read (YouTube): MinPollInterval is the shortest interval at
// which the live posts can each be read all day within the quota, given how
// many each connected account has (livePerAccount, one number per account:
// the engagement loop reads each account's posts in calls of their own).
// The engagement loop polls such a platform's posts no more often.
type Pacer interface {
	MinPollInterval(livePerAccount []int) time.Duration
}

// MaxRecentMedia is the most media items RecentMedia returns at once.
const MaxRecentMedia = 50

// AuthRequest is what AuthorizeURL needs.
type AuthRequest struct {
	// State is an unguessable value (NewState) the platform echoes back to
	// the redirect URI; the domain keys the pending connection by it.
	State string
	// RedirectURI is payper's callback; it must be registered with the
	// platform and passed again to Exchange.
	RedirectURI string
	// CodeChallenge is Challenge(verifier) for PKCE (S256), or "".
	CodeChallenge string
	// LoginHint suggests which account to connect, where the platform takes
	// a hint (Google's login_hint); the sandbox, which has no login page,
	// connects exactly this handle.
	LoginHint string
}

// Token is a creator's authorization on one platform. It is secret: its
// String and LogValue methods redact the tokens.
type Token struct {
	AccessToken  string
	RefreshToken string // "" where the platform refreshes with the access token (Instagram)
	// ExpiresAt is when AccessToken stops working; zero when unknown.
	ExpiresAt time.Time
	// RefreshExpiresAt is when RefreshToken stops working; zero when unknown
	// or when there is no refresh token.
	RefreshExpiresAt time.Time
	// IssuedAt is when the platform issued AccessToken (the connector's clock).
	IssuedAt time.Time
	// Scopes the creator granted, as the platform names them.
	Scopes []string
	// AccountID is the platform's id of the connected account (Instagram
	// user_id, TikTok open_id, YouTube channel id).
	AccountID string
}

// NeedsRefresh reports whether the access token expires within margin of
// now. A token without an expiry never needs refreshing.
func (t Token) NeedsRefresh(now time.Time, margin time.Duration) bool {
	return !t.ExpiresAt.IsZero() && !now.Add(margin).Before(t.ExpiresAt)
}

// CanRefresh reports whether t holds a refresh token that has not expired
// by now (as far as t knows; the platform may still have revoked it).
func (t Token) CanRefresh(now time.Time) bool {
	return t.RefreshToken != "" && (t.RefreshExpiresAt.IsZero() || now.Before(t.RefreshExpiresAt))
}

// HasScope reports whether scope was granted.
func (t Token) HasScope(scope string) bool {
	for _, s := range t.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// String describes t without its secrets.
func (t Token) String() string {
	return fmt.Sprintf("platform.Token{account %s, access %s, refresh %s, expires %s, scopes %s}",
		t.AccountID, redact(t.AccessToken), redact(t.RefreshToken),
		t.ExpiresAt.Format(time.RFC3339), strings.Join(t.Scopes, " "))
}

// GoString describes t without its secrets, for %#v.
func (t Token) GoString() string { return t.String() }

// LogValue describes t for log/slog without its secrets.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("account_id", t.AccountID),
		slog.String("access_token", redact(t.AccessToken)),
		slog.String("refresh_token", redact(t.RefreshToken)),
		slog.Time("expires_at", t.ExpiresAt),
	)
}

func redact(s string) string {
	if s == "" {
		return `""`
	}
	return "[redacted]"
}

// Profile is a connected account.
type Profile struct {
	AccountID   string
	Handle      string // the @name, without the @
	DisplayName string // "" when the platform has none
	// Followers is Unknown when the account hides it (YouTube
	// hiddenSubscriberCount) or the token lacks the scope to read it.
	Followers Count
	// FollowersRounded is true when the platform rounds the count (YouTube:
	// three significant figures), so small changes are invisible.
	FollowersRounded bool
	// MediaCount is the number of media items the account has published.
	MediaCount Count
}

// Media types, normalised across platforms.
const (
	TypeImage    = "image"
	TypeVideo    = "video"
	TypeCarousel = "carousel"
	TypeReel     = "reel"
	TypeStory    = "story"
	TypeShort    = "short"
)

// Media is one published item.
type Media struct {
	ID        string
	AccountID string // the owner, which may differ from the token's account
	Permalink string
	Caption   string
	Type      string // one of the Type constants, "" when the platform does not say
	// PublishedAt is when the item went public, in UTC.
	PublishedAt time.Time
}

// CheckOwner returns nil when m belongs to tok's account, and an error
// matching ErrNotOwner otherwise.
func CheckOwner(tok Token, m Media) error {
	if m.AccountID != "" && m.AccountID == tok.AccountID {
		return nil
	}
	return &Error{Kind: ErrNotOwner, Code: "not_owner",
		Message: fmt.Sprintf("media %s belongs to account %q, not the connected account %q", m.ID, m.AccountID, tok.AccountID)}
}

// Metric names one kind of interaction.
type Metric string

// The metrics payper prices.
const (
	Views    Metric = "views"
	Likes    Metric = "likes"
	Comments Metric = "comments"
	Shares   Metric = "shares"
	Saves    Metric = "saves"
)

// Metrics lists every Metric in display order.
var Metrics = []Metric{Views, Likes, Comments, Shares, Saves}

// Count is one cumulative counter as the platform reported it. An unknown
// count (the platform did not report it) is not zero: Value is then 0 and
// means nothing. It marshals to JSON as a number, or null when unknown.
type Count struct {
	Value int64
	Known bool
}

// Known returns a known count of v.
func Known(v int64) Count { return Count{Value: v, Known: true} }

// Unknown returns the count of a metric the platform did not report.
func Unknown() Count { return Count{} }

// String returns the value, or "unknown".
func (c Count) String() string {
	if !c.Known {
		return "unknown"
	}
	return fmt.Sprint(c.Value)
}

// MarshalJSON encodes c as a number, or null when unknown.
func (c Count) MarshalJSON() ([]byte, error) {
	if !c.Known {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, c.Value, 10), nil
}

// UnmarshalJSON decodes a number (or a string holding one, as YouTube sends)
// into a known count, and null into an unknown one. Anything else, including
// a fraction or a negative number, is an error.
func (c *Count) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*c = Count{}
		return nil
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, `"`), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || strconv.FormatInt(v, 10) != s {
		return fmt.Errorf("platform: count %s is not a non-negative integer", b)
	}
	*c = Known(v)
	return nil
}

// Counts are one media item's cumulative counters.
type Counts struct {
	Views    Count `json:"views"`
	Likes    Count `json:"likes"`
	Comments Count `json:"comments"`
	Shares   Count `json:"shares"`
	Saves    Count `json:"saves"`
}

// Get returns the counter for m, or Unknown for a metric Counts does not hold.
func (c Counts) Get(m Metric) Count {
	switch m {
	case Views:
		return c.Views
	case Likes:
		return c.Likes
	case Comments:
		return c.Comments
	case Shares:
		return c.Shares
	case Saves:
		return c.Saves
	}
	return Unknown()
}

// MediaCounts are the counts of one media item and who owns it.
type MediaCounts struct {
	MediaID   string
	AccountID string // the owner, which may differ from the token's account
	Counts
}
