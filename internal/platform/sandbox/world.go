// Package sandbox is payper's built-in social network, for demos and tests:
// accounts with follower counts, posts with captions and publish times, and
// cumulative view/like/comment/share/save counters that go wherever the demo
// or a test drives them (down too, as after unlikes).
//
// It has three parts, kept apart the way a real platform and payper are:
//
//   - World is the network's state, persisted in payper's database (the
//     sandbox_ tables), so a server restarted mid-campaign continues with the
//     same accounts, counters and tokens. Its exported methods drive it.
//   - Handler serves the network's public API under /sandbox/: an OAuth 2.0
//     authorization server (authorization code with mandatory PKCE S256,
//     rotating refresh tokens) and a small bearer-token API. DriverHandler
//     serves World's driving methods over HTTP under /sandbox/driver/, for a
//     demo run from another process; it has no authentication of its own.
//   - Client is the platform.Connector payper reads the network with. It
//     speaks only HTTP to Handler — the same path the real platforms take —
//     and never touches the database.
package sandbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// Id prefixes of the sandbox's objects.
const (
	accountPrefix = "sba"
	postPrefix    = "sbp"
	grantPrefix   = "sbg"
)

// Scopes the sandbox's OAuth server grants. A token reads the profile with
// ScopeProfile, finds media with ScopeMedia and reads counts with
// ScopeInsights; a request without a scope gets all three.
const (
	ScopeProfile  = "profile"
	ScopeMedia    = "media"
	ScopeInsights = "insights"
)

// AllScopes lists every scope the sandbox grants.
var AllScopes = []string{ScopeProfile, ScopeMedia, ScopeInsights}

// PostTypes are the media types a sandbox post may have.
var PostTypes = []string{platform.TypeImage, platform.TypeVideo, platform.TypeCarousel,
	platform.TypeReel, platform.TypeStory, platform.TypeShort}

// MaxCaption is the longest caption a post may have, in characters (Instagram's limit).
const MaxCaption = 2200

// Options configure a World. Zero fields take the defaults.
type Options struct {
	// PermalinkBase starts every post's permalink, e.g.
	// "https://sandbox.payper.invalid" gives
	// "https://sandbox.payper.invalid/@maria/p/0c4n…". Lookups by permalink
	// match the "/p/<shortcode>" part only, so changing it later is harmless.
	PermalinkBase string
	// AccessTokenTTL is how long an access token lives (default 1 h).
	AccessTokenTTL time.Duration
	// RefreshTokenTTL is how long a refresh token lives (default 30 days).
	RefreshTokenTTL time.Duration
	// CodeTTL is how long an authorization code lives (default 10 min).
	CodeTTL time.Duration
}

// DefaultPermalinkBase is the permalink prefix when Options.PermalinkBase is "".
const DefaultPermalinkBase = "https://sandbox.payper.invalid"

// World is the sandbox network's state. It is safe for concurrent use, and
// several payper servers may share one through one PostgreSQL database.
type World struct {
	db    *store.DB
	clock clock.Clock
	opts  Options
}

// NewWorld returns the network stored in db (migrated with the sandbox_
// tables), telling time by clk (clock.System{} when nil).
func NewWorld(db *store.DB, clk clock.Clock, opts Options) *World {
	if clk == nil {
		clk = clock.System{}
	}
	if opts.PermalinkBase == "" {
		opts.PermalinkBase = DefaultPermalinkBase
	}
	opts.PermalinkBase = strings.TrimRight(opts.PermalinkBase, "/")
	if opts.AccessTokenTTL <= 0 {
		opts.AccessTokenTTL = time.Hour
	}
	if opts.RefreshTokenTTL <= 0 {
		opts.RefreshTokenTTL = 30 * 24 * time.Hour
	}
	if opts.CodeTTL <= 0 {
		opts.CodeTTL = 10 * time.Minute
	}
	return &World{db: db, clock: clk, opts: opts}
}

// Account is a sandbox account.
type Account struct {
	ID     string `json:"id"`
	Handle string `json:"handle"`
	// Followers is Unknown while the account hides its follower count.
	Followers platform.Count `json:"followers"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Post is a sandbox post with its current counters.
type Post struct {
	ID          string          `json:"id"`
	AccountID   string          `json:"account_id"`
	Handle      string          `json:"handle"`
	Shortcode   string          `json:"shortcode"`
	Permalink   string          `json:"permalink"`
	Caption     string          `json:"caption"`
	Type        string          `json:"type"`
	PublishedAt time.Time       `json:"published_at"`
	Counts      platform.Counts `json:"counts"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	// DeletedAt is when the post was deleted, or zero. The API no longer
	// shows a deleted post.
	DeletedAt time.Time `json:"deleted_at,omitzero"`
}

// Delta is a change to a post's counters; negative values take interactions
// away (unlikes, removed comments).
type Delta struct {
	Views    int64 `json:"views"`
	Likes    int64 `json:"likes"`
	Comments int64 `json:"comments"`
	Shares   int64 `json:"shares"`
	Saves    int64 `json:"saves"`
}

// normalizeHandle strips a leading "@" and lower-cases h, and checks it is
// 1–30 characters of a–z, 0–9, "." and "_", not starting like an account id.
func normalizeHandle(h string) (string, error) {
	h = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(h), "@"))
	if h == "" {
		return "", errs.Invalidf("handle", "required", "handle is required")
	}
	if len(h) > 30 {
		return "", errs.Invalidf("handle", "too_long", "handle %q is longer than 30 characters", h)
	}
	if strings.HasPrefix(h, accountPrefix+"_") {
		return "", errs.Invalidf("handle", "reserved", "handles starting with %q are reserved for account ids", accountPrefix+"_")
	}
	for _, c := range h {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_') {
			return "", errs.Invalidf("handle", "invalid_character", "handle %q may hold only a-z, 0-9, '.' and '_'", h)
		}
	}
	return h, nil
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullCount(c platform.Count) sql.NullInt64 {
	return sql.NullInt64{Int64: c.Value, Valid: c.Known}
}

func countOf(n sql.NullInt64) platform.Count {
	if !n.Valid {
		return platform.Unknown()
	}
	return platform.Known(n.Int64)
}

// CreateAccount adds an account with the given handle (a leading "@" is
// dropped; case is ignored) and follower count. It fails with an errs
// Invalid error for a malformed handle or a negative count, and a Conflict
// error when the handle is taken.
func (w *World) CreateAccount(ctx context.Context, handle string, followers int64) (Account, error) {
	h, err := normalizeHandle(handle)
	if err != nil {
		return Account{}, err
	}
	if followers < 0 {
		return Account{}, errs.Invalidf("followers", "negative", "followers must not be negative, got %d", followers)
	}
	now := w.clock.Now()
	a := Account{ID: id.New(accountPrefix), Handle: h, Followers: platform.Known(followers),
		CreatedAt: fromMicros(micros(now)), UpdatedAt: fromMicros(micros(now))}
	err = w.db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sandbox_accounts (id, handle, followers, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4)`, a.ID, a.Handle, followers, micros(now))
		return err
	})
	if store.IsUniqueViolation(err) {
		return Account{}, errs.Conflictf("handle_taken", "sandbox handle @%s is taken", h)
	}
	if err != nil {
		return Account{}, fmt.Errorf("sandbox: create account @%s: %w", h, err)
	}
	return a, nil
}

const accountCols = `id, handle, followers, created_at, updated_at`

func scanAccount(row interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var followers sql.NullInt64
	var created, updated int64
	if err := row.Scan(&a.ID, &a.Handle, &followers, &created, &updated); err != nil {
		return Account{}, err
	}
	a.Followers = countOf(followers)
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// accountByRef finds an account by id or handle.
func accountByRef(ctx context.Context, q store.Queryer, ref, suffix string) (Account, error) {
	h := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(ref), "@"))
	a, err := scanAccount(q.QueryRowContext(ctx, `SELECT `+accountCols+` FROM sandbox_accounts
		WHERE id = $1 OR handle = $2`+suffix, ref, h))
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, errs.NotFoundf("no sandbox account %q", ref)
	}
	if err != nil {
		return Account{}, fmt.Errorf("sandbox: read account %q: %w", ref, err)
	}
	return a, nil
}

// Account returns the account with the given id or handle, or an errs
// NotFound error.
func (w *World) Account(ctx context.Context, ref string) (Account, error) {
	return accountByRef(ctx, w.db.Read(), ref, "")
}

// Accounts returns up to limit accounts (at most 1000), oldest first.
func (w *World) Accounts(ctx context.Context, limit int) ([]Account, error) {
	limit = max(1, min(limit, 1000))
	rows, err := w.db.Read().QueryContext(ctx, `SELECT `+accountCols+` FROM sandbox_accounts ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("sandbox: list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("sandbox: list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: list accounts: %w", err)
	}
	return out, nil
}

// SetFollowers sets the follower count of the account with the given id or
// handle; an Unknown count hides it. It returns the updated account, or an
// errs NotFound or Invalid (negative count) error.
func (w *World) SetFollowers(ctx context.Context, account string, followers platform.Count) (Account, error) {
	if followers.Known && followers.Value < 0 {
		return Account{}, errs.Invalidf("followers", "negative", "followers must not be negative, got %d", followers.Value)
	}
	var a Account
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if a, err = accountByRef(ctx, tx, account, tx.ForUpdate()); err != nil {
			return err
		}
		now := w.clock.Now()
		if _, err := tx.ExecContext(ctx, `UPDATE sandbox_accounts SET followers = $1, updated_at = $2 WHERE id = $3`,
			nullCount(followers), micros(now), a.ID); err != nil {
			return fmt.Errorf("sandbox: set followers of @%s: %w", a.Handle, err)
		}
		a.Followers, a.UpdatedAt = followers, fromMicros(micros(now))
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// Publish adds a post to the account with the given id or handle, with all
// counters known and zero. A zero publishedAt means now. It returns the post,
// or an errs NotFound or Invalid (unknown type, caption too long) error.
func (w *World) Publish(ctx context.Context, account, caption, typ string, publishedAt time.Time) (Post, error) {
	if !validType(typ) {
		return Post{}, errs.Invalidf("type", "invalid", "post type %q is not one of %s", typ, strings.Join(PostTypes, ", "))
	}
	if n := utf8.RuneCountInString(caption); n > MaxCaption {
		return Post{}, errs.Invalidf("caption", "too_long", "caption has %d characters, more than %d", n, MaxCaption)
	}
	if !utf8.ValidString(caption) {
		return Post{}, errs.Invalidf("caption", "invalid_utf8", "caption is not valid UTF-8")
	}
	now := w.clock.Now()
	if publishedAt.IsZero() {
		publishedAt = now
	}
	var p Post
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		a, err := accountByRef(ctx, tx, account, tx.ForUpdate())
		if err != nil {
			return err
		}
		code := id.Secret(6)
		zero := platform.Known(0)
		p = Post{ID: id.New(postPrefix), AccountID: a.ID, Handle: a.Handle, Shortcode: code,
			Permalink: w.opts.PermalinkBase + "/@" + a.Handle + "/p/" + code, Caption: caption, Type: typ,
			PublishedAt: fromMicros(micros(publishedAt)),
			Counts:      platform.Counts{Views: zero, Likes: zero, Comments: zero, Shares: zero, Saves: zero},
			CreatedAt:   fromMicros(micros(now)), UpdatedAt: fromMicros(micros(now))}
		_, err = tx.ExecContext(ctx, `INSERT INTO sandbox_posts (id, account_id, shortcode, permalink, caption, type,
			published_at, views, likes, comments, shares, saves, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, 0, 0, 0, $8, $8)`,
			p.ID, p.AccountID, p.Shortcode, p.Permalink, p.Caption, p.Type, micros(publishedAt), micros(now))
		if err != nil {
			return fmt.Errorf("sandbox: publish for @%s: %w", a.Handle, err)
		}
		return nil
	})
	if err != nil {
		return Post{}, err
	}
	return p, nil
}

func validType(t string) bool {
	for _, v := range PostTypes {
		if t == v {
			return true
		}
	}
	return false
}

const postCols = `p.id, p.account_id, a.handle, p.shortcode, p.permalink, p.caption, p.type, p.published_at,
	p.views, p.likes, p.comments, p.shares, p.saves, p.created_at, p.updated_at, p.deleted_at`

const postFrom = ` FROM sandbox_posts p JOIN sandbox_accounts a ON a.id = p.account_id `

func scanPost(row interface{ Scan(...any) error }) (Post, error) {
	var p Post
	var views, likes, comments, shares, saves sql.NullInt64
	var published, created, updated, deleted int64
	if err := row.Scan(&p.ID, &p.AccountID, &p.Handle, &p.Shortcode, &p.Permalink, &p.Caption, &p.Type, &published,
		&views, &likes, &comments, &shares, &saves, &created, &updated, &deleted); err != nil {
		return Post{}, err
	}
	p.PublishedAt, p.CreatedAt, p.UpdatedAt, p.DeletedAt = fromMicros(published), fromMicros(created), fromMicros(updated), fromMicros(deleted)
	p.Counts = platform.Counts{Views: countOf(views), Likes: countOf(likes), Comments: countOf(comments),
		Shares: countOf(shares), Saves: countOf(saves)}
	return p, nil
}

func postByID(ctx context.Context, q store.Queryer, postID, suffix string) (Post, error) {
	p, err := scanPost(q.QueryRowContext(ctx, `SELECT `+postCols+postFrom+`WHERE p.id = $1`+suffix, postID))
	if errors.Is(err, sql.ErrNoRows) {
		return Post{}, errs.NotFoundf("no sandbox post %q", postID)
	}
	if err != nil {
		return Post{}, fmt.Errorf("sandbox: read post %q: %w", postID, err)
	}
	return p, nil
}

// Post returns the post with the given id, deleted or not, or an errs
// NotFound error.
func (w *World) Post(ctx context.Context, postID string) (Post, error) {
	return postByID(ctx, w.db.Read(), postID, "")
}

// PostByPermalink returns the post whose permalink is (or ends like)
// permalink, deleted or not, or an errs NotFound error.
func (w *World) PostByPermalink(ctx context.Context, permalink string) (Post, error) {
	code, ok := shortcodeOf(permalink)
	if !ok {
		return Post{}, errs.NotFoundf("%q is not a sandbox permalink", permalink)
	}
	p, err := scanPost(w.db.Read().QueryRowContext(ctx, `SELECT `+postCols+postFrom+`WHERE p.shortcode = $1`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return Post{}, errs.NotFoundf("no sandbox post with permalink %q", permalink)
	}
	if err != nil {
		return Post{}, fmt.Errorf("sandbox: read post by permalink: %w", err)
	}
	return p, nil
}

// shortcodeOf extracts the shortcode from a permalink ".../p/<code>[/][?…]".
func shortcodeOf(permalink string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(permalink))
	if err != nil {
		return "", false
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := len(segs) - 2; i >= 0; i-- {
		if segs[i] == "p" && segs[i+1] != "" {
			return segs[i+1], true
		}
	}
	return "", false
}

// Posts returns the posts of the account with the given id or handle, newest
// first, deleted ones included; or an errs NotFound error.
func (w *World) Posts(ctx context.Context, account string) ([]Post, error) {
	a, err := w.Account(ctx, account)
	if err != nil {
		return nil, err
	}
	rows, err := w.db.Read().QueryContext(ctx, `SELECT `+postCols+postFrom+`WHERE p.account_id = $1
		ORDER BY p.published_at DESC, p.id DESC`, a.ID)
	if err != nil {
		return nil, fmt.Errorf("sandbox: list posts of @%s: %w", a.Handle, err)
	}
	defer rows.Close()
	var out []Post
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, fmt.Errorf("sandbox: list posts of @%s: %w", a.Handle, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: list posts of @%s: %w", a.Handle, err)
	}
	return out, nil
}

// AddCounts adds d to the post's counters in one transaction. Counters the
// network does not report for the post (Unknown) stay unknown. It returns
// the updated post, or an errs NotFound error, or an Invalid error (and
// changes nothing) when a counter would go below zero.
func (w *World) AddCounts(ctx context.Context, postID string, d Delta) (Post, error) {
	return w.updateCounts(ctx, postID, func(c *platform.Counts) error {
		var col errs.Collector
		add := func(name string, cnt *platform.Count, delta int64) {
			if !cnt.Known || delta == 0 {
				return
			}
			if cnt.Value+delta < 0 {
				col.Addf(name, "negative", "%s would go below zero (%d %+d)", name, cnt.Value, delta)
				return
			}
			cnt.Value += delta
		}
		add("views", &c.Views, d.Views)
		add("likes", &c.Likes, d.Likes)
		add("comments", &c.Comments, d.Comments)
		add("shares", &c.Shares, d.Shares)
		add("saves", &c.Saves, d.Saves)
		return col.Err()
	})
}

// SetCounts sets the given counters of the post (others keep their values);
// an Unknown count makes the network stop reporting that metric for the
// post. It returns the updated post, or an errs NotFound error, or an
// Invalid error for a negative count or an unknown metric.
func (w *World) SetCounts(ctx context.Context, postID string, set map[platform.Metric]platform.Count) (Post, error) {
	return w.updateCounts(ctx, postID, func(c *platform.Counts) error {
		var col errs.Collector
		for m, v := range set {
			var dst *platform.Count
			switch m {
			case platform.Views:
				dst = &c.Views
			case platform.Likes:
				dst = &c.Likes
			case platform.Comments:
				dst = &c.Comments
			case platform.Shares:
				dst = &c.Shares
			case platform.Saves:
				dst = &c.Saves
			default:
				col.Addf(string(m), "unknown_metric", "%q is not a metric (views, likes, comments, shares, saves)", m)
				continue
			}
			if v.Known && v.Value < 0 {
				col.Addf(string(m), "negative", "%s must not be negative, got %d", m, v.Value)
				continue
			}
			*dst = v
		}
		return col.Err()
	})
}

func (w *World) updateCounts(ctx context.Context, postID string, change func(*platform.Counts) error) (Post, error) {
	var p Post
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if p, err = postByID(ctx, tx, postID, tx.ForUpdate()); err != nil {
			return err
		}
		if err := change(&p.Counts); err != nil {
			return err
		}
		now := w.clock.Now()
		c := p.Counts
		if _, err := tx.ExecContext(ctx, `UPDATE sandbox_posts SET views = $1, likes = $2, comments = $3, shares = $4,
			saves = $5, updated_at = $6 WHERE id = $7`, nullCount(c.Views), nullCount(c.Likes), nullCount(c.Comments),
			nullCount(c.Shares), nullCount(c.Saves), micros(now), p.ID); err != nil {
			return fmt.Errorf("sandbox: update counts of %s: %w", p.ID, err)
		}
		p.UpdatedAt = fromMicros(micros(now))
		return nil
	})
	if err != nil {
		return Post{}, err
	}
	return p, nil
}

// DeletePost deletes the post: the API answers "not found" for it from now
// on, and counts no longer include it. Deleting a deleted post does nothing.
// It fails with an errs NotFound error for an unknown post.
func (w *World) DeletePost(ctx context.Context, postID string) error {
	return w.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := postByID(ctx, tx, postID, tx.ForUpdate()); err != nil {
			return err
		}
		now := micros(w.clock.Now())
		if _, err := tx.ExecContext(ctx, `UPDATE sandbox_posts SET deleted_at = $1, updated_at = $1
			WHERE id = $2 AND deleted_at = 0`, now, postID); err != nil {
			return fmt.Errorf("sandbox: delete post %s: %w", postID, err)
		}
		return nil
	})
}

// ExpireTokens ends the life of every live access token of the account with
// the given id or handle, as if their time had run out; its refresh tokens
// still work. It returns how many tokens it expired, or an errs NotFound
// error.
func (w *World) ExpireTokens(ctx context.Context, account string) (int, error) {
	var n int64
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		a, err := accountByRef(ctx, tx, account, tx.ForUpdate())
		if err != nil {
			return err
		}
		now := micros(w.clock.Now())
		res, err := tx.ExecContext(ctx, `UPDATE sandbox_oauth_tokens SET expires_at = $1
			WHERE account_id = $2 AND kind = 'access' AND expires_at > $1 AND revoked_at = 0`, now, a.ID)
		if err != nil {
			return fmt.Errorf("sandbox: expire tokens of @%s: %w", a.Handle, err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// RevokeTokens revokes every token and unused authorization code of the
// account with the given id or handle, as when a creator removes the app:
// only a new connect flow gives access again. It returns how many tokens it
// revoked, or an errs NotFound error.
func (w *World) RevokeTokens(ctx context.Context, account string) (int, error) {
	var n int64
	err := w.db.WithTx(ctx, func(tx *store.Tx) error {
		a, err := accountByRef(ctx, tx, account, tx.ForUpdate())
		if err != nil {
			return err
		}
		now := micros(w.clock.Now())
		res, err := tx.ExecContext(ctx, `UPDATE sandbox_oauth_tokens SET revoked_at = $1
			WHERE account_id = $2 AND revoked_at = 0`, now, a.ID)
		if err != nil {
			return fmt.Errorf("sandbox: revoke tokens of @%s: %w", a.Handle, err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sandbox_oauth_codes SET expires_at = $1
			WHERE account_id = $2 AND used_at = 0 AND expires_at > $1`, now, a.ID); err != nil {
			return fmt.Errorf("sandbox: revoke codes of @%s: %w", a.Handle, err)
		}
		return nil
	})
	return int(n), err
}

// SetRateLimited makes the API answer 429 Too Many Requests, with a
// Retry-After counting down to until, to calls made with a token of the
// account with the given id or handle — or to every call when account is
// "". A zero or past until lifts the limit. reason is sent along ("" gives a
// generic one). It fails with an errs NotFound error for an unknown account.
func (w *World) SetRateLimited(ctx context.Context, account string, until time.Time, reason string) error {
	return w.db.WithTx(ctx, func(tx *store.Tx) error {
		scope := ""
		if account != "" {
			a, err := accountByRef(ctx, tx, account, tx.ForUpdate())
			if err != nil {
				return err
			}
			scope = a.ID
		}
		if until.IsZero() || !until.After(w.clock.Now()) {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sandbox_rate_limits WHERE scope = $1`, scope); err != nil {
				return fmt.Errorf("sandbox: lift rate limit: %w", err)
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sandbox_rate_limits (scope, limited_until, reason) VALUES ($1, $2, $3)
			ON CONFLICT (scope) DO UPDATE SET limited_until = excluded.limited_until, reason = excluded.reason`,
			scope, micros(until), reason); err != nil {
			return fmt.Errorf("sandbox: set rate limit: %w", err)
		}
		return nil
	})
}

// liveCounts returns the owner and counters of the posts among ids that
// exist and are not deleted, by id: all a counts request needs, read without
// the rest of each post.
func (w *World) liveCounts(ctx context.Context, ids []string) (map[string]countsItem, error) {
	cond, arg := store.InText(w.db.Dialect(), "id", 1, ids)
	rows, err := w.db.Read().QueryContext(ctx, `SELECT id, account_id, views, likes, comments, shares, saves
		FROM sandbox_posts WHERE deleted_at = 0 AND `+cond, arg)
	if err != nil {
		return nil, fmt.Errorf("sandbox: read counts: %w", err)
	}
	defer rows.Close()
	out := make(map[string]countsItem, len(ids))
	for rows.Next() {
		var it countsItem
		if err := rows.Scan(&it.ID, &it.AccountID, &it.Views, &it.Likes, &it.Comments, &it.Shares, &it.Saves); err != nil {
			return nil, fmt.Errorf("sandbox: read counts: %w", err)
		}
		out[it.ID] = it
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sandbox: read counts: %w", err)
	}
	return out, nil
}
