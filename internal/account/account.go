// Package account owns the people who sign in to payper's web app: users
// with an email and an argon2id-hashed password, each a brand's owner or
// member, a creator, or an operator; sign-up of brands (optionally held for
// an operator's approval) and creators; invitations of teammates; email
// verification and password-reset tokens; and server-side sessions with
// sign-in throttling (session.go). Every token mailed to someone is random,
// stored only as its SHA-256, single-use and expiring, and its mail is
// written to the outbox (internal/mail) in the same transaction.
//
// The brands and creators a sign-up makes are rows of internal/identity's
// tables, so a signed-in user acts as the same identity.Principal an API key
// of that brand or creator does.
package account

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	pmail "github.com/payper/payper/internal/mail"
	"github.com/payper/payper/internal/store"
)

// Kinds of user.
const (
	KindBrand    = "brand"
	KindCreator  = "creator"
	KindOperator = "operator"
)

// Roles of a brand's user.
const (
	RoleOwner  = "owner"
	RoleMember = "member"
)

// States of a signed-up brand.
const (
	BrandPending  = "pending"
	BrandActive   = "active"
	BrandRejected = "rejected"
)

// Id prefixes.
const (
	prefixUser    = "usr"
	prefixSession = "ses"
	prefixToken   = "tok"
)

// SettingRequireBrandApproval names the operator setting that holds new
// brands pending until approved ("true"/"false").
const SettingRequireBrandApproval = "require_brand_approval"

// User is a person who signs in.
type User struct {
	ID            string       `json:"id"`
	Email         string       `json:"email"`
	Kind          string       `json:"kind"`
	BrandID       string       `json:"brand_id,omitempty"`
	BrandRole     string       `json:"brand_role,omitempty"`
	CreatorID     string       `json:"creator_id,omitempty"`
	EmailVerified bool         `json:"email_verified"`
	CreatedAt     clock.Micros `json:"created_at"`
}

// Principal returns who u acts as: the operator, u's brand, or u's creator.
func (u User) Principal() identity.Principal {
	switch u.Kind {
	case KindOperator:
		return identity.Principal{Role: identity.RoleAdmin}
	case KindBrand:
		return identity.Principal{Role: identity.RoleBrand, SubjectID: u.BrandID}
	default:
		return identity.Principal{Role: identity.RoleCreator, SubjectID: u.CreatorID}
	}
}

// IsBrandOwner reports whether u owns its brand (may invite, manage keys).
func (u User) IsBrandOwner() bool { return u.Kind == KindBrand && u.BrandRole == RoleOwner }

// MayManageKeys reports whether u may create and revoke API keys: a
// brand's owner, a creator, the operator; not a brand's member.
func (u User) MayManageKeys() bool { return u.Kind != KindBrand || u.BrandRole == RoleOwner }

// Config tunes a Service; zero fields take the defaults named.
type Config struct {
	// BaseURL starts every link in a mail, e.g. "https://payper.example.com".
	BaseURL string
	// Params are argon2id's costs; zero means DefaultParams.
	Params Params
	// VerifyTTL, ResetTTL and InviteTTL bound how long a mailed link works:
	// 48 hours, 1 hour and 7 days by default.
	VerifyTTL, ResetTTL, InviteTTL time.Duration
	// SessionIdle and SessionAbsolute end a session unused for SessionIdle,
	// and any session SessionAbsolute after sign-in: 30 minutes and 8 hours
	// by default (OWASP's Session Management Cheat Sheet, "Session
	// Expiration": 15–30 minutes idle for low-risk applications, an absolute
	// timeout of 4–8 hours for a working day).
	SessionIdle, SessionAbsolute time.Duration
	// Throttle limits failed sign-ins; zero fields take DefaultThrottle's.
	Throttle Throttle
	// MaxConcurrentHashes bounds argon2 runs at once (each holds
	// Params.Memory); 0 means GOMAXPROCS, at least 2.
	MaxConcurrentHashes int
}

// Service manages users, tokens and sessions.
type Service struct {
	db    *store.DB
	clock clock.Clock
	cfg   Config
	// dummyHash is verified against when no user has the email, so a
	// sign-in takes as long whether or not the account exists; made at the
	// first sign-in (dummyOnce), not at New.
	dummyHash string
	dummyOnce sync.Once
	// hashing bounds concurrent argon2 runs (each takes Params.Memory), so
	// a burst of sign-ins queues instead of exhausting memory.
	hashing chan struct{}
}

// New returns a Service on db with cfg's settings (defaults for zero fields).
func New(db *store.DB, clk clock.Clock, cfg Config) *Service {
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.VerifyTTL, 48*time.Hour)
	def(&cfg.ResetTTL, time.Hour)
	def(&cfg.InviteTTL, 7*24*time.Hour)
	def(&cfg.SessionIdle, 30*time.Minute)
	def(&cfg.SessionAbsolute, 8*time.Hour)
	cfg.Throttle = cfg.Throttle.withDefaults()
	if cfg.MaxConcurrentHashes <= 0 {
		cfg.MaxConcurrentHashes = max(2, runtime.GOMAXPROCS(0))
	}
	return &Service{db: db, clock: clk, cfg: cfg, hashing: make(chan struct{}, cfg.MaxConcurrentHashes)}
}

// acquire waits for a hashing slot; it returns ctx's error if ctx ends first.
func (s *Service) acquire(ctx context.Context) error {
	select {
	case s.hashing <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("account: waiting to hash a password: %w", ctx.Err())
	}
}

// hash hashes password with the Service's parameters, at most
// MaxConcurrentHashes at a time.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashing }()
	return HashPassword(password, s.cfg.Params), nil
}

// verify is VerifyPassword, at most MaxConcurrentHashes at a time.
func (s *Service) verify(ctx context.Context, encoded, password string) (ok, stale bool, err error) {
	if err := s.acquire(ctx); err != nil {
		return false, false, err
	}
	defer func() { <-s.hashing }()
	return VerifyPassword(encoded, password, s.cfg.Params)
}

// NormalizeEmail checks an email address and returns it as stored (trimmed,
// domain lower-cased) and its uniqueness key (all lower-cased). It returns
// an Invalid error on field for anything but one plain address of at most
// 254 characters (RFC 5321 §4.5.3.1.3's path limit less the brackets).
func NormalizeEmail(field, raw string) (email, key string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", "", errs.Invalidf(field, "required", "%s is required", field)
	}
	if len(s) > 254 || errs.BadText(field, s, false) != nil {
		return "", "", errs.Invalidf(field, "invalid_email", "%s must be one email address such as ana@example.com", field)
	}
	a, perr := mail.ParseAddress(s)
	if perr != nil || a.Name != "" || a.Address != s || strings.Count(s, "@") != 1 {
		return "", "", errs.Invalidf(field, "invalid_email", "%s must be one email address such as ana@example.com", field)
	}
	local, domain, _ := strings.Cut(s, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.HasPrefix(domain, "[") {
		return "", "", errs.Invalidf(field, "invalid_email", "%s must be one email address with a domain such as example.com", field)
	}
	email = local + "@" + strings.ToLower(domain)
	return email, strings.ToLower(email), nil
}

// checkName checks a single-line name as internal/identity does: present,
// no control characters, at most 200 characters.
func checkName(c *errs.Collector, field, v string) {
	switch {
	case strings.TrimSpace(v) == "":
		c.Addf(field, "required", "%s is required", field)
	case errs.BadText(field, v, false) != nil:
		c.Add(field, errs.BadText(field, v, false))
	case utf8.RuneCountInString(v) > 200:
		c.Addf(field, "too_long", "%s is longer than 200 characters", field)
	}
}

func emailTaken() error {
	return &errs.Error{Kind: errs.Conflict, Code: "email_taken", Field: "email", Message: "an account with this email already exists"}
}

// BrandSignup is what a brand signs up with.
type BrandSignup struct {
	BrandName string `json:"brand_name"`
	Email     string `json:"email"`
	Password  string `json:"password"`
}

// CreatorSignup is what a creator signs up with.
type CreatorSignup struct {
	Name     string `json:"name"`
	Country  string `json:"country,omitempty"` // ISO 3166-1 alpha-2, optional
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Signup is a new account.
type Signup struct {
	User User `json:"user"`
	// BrandState is the brand's state (pending when the operator requires
	// approval), "" for a creator.
	BrandState string `json:"brand_state,omitempty"`
}

// SignUpBrand creates a brand, its owner and a verification mail in one
// transaction. The brand is pending when the operator requires approval. It
// returns Invalid (every bad field) or Conflict "email_taken", and then
// writes nothing.
func (s *Service) SignUpBrand(ctx context.Context, in BrandSignup) (Signup, error) {
	var c errs.Collector
	checkName(&c, "brand_name", in.BrandName)
	email, key, err := NormalizeEmail("email", in.Email)
	c.Add("email", err)
	c.Add("password", CheckPassword("password", in.Password, email))
	if err := c.Err(); err != nil {
		return Signup{}, err
	}
	hash, err := s.hash(ctx, in.Password)
	if err != nil {
		return Signup{}, err
	}
	var out Signup
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		if err := emailFree(ctx, tx, key); err != nil {
			return err
		}
		approval, err := s.requireApproval(ctx, tx)
		if err != nil {
			return err
		}
		state := BrandActive
		if approval {
			state = BrandPending
		}
		brandID := id.New(id.Brand)
		if _, err := tx.ExecContext(ctx, `INSERT INTO brands (id, name, created_at) VALUES ($1, $2, $3)`, brandID, strings.TrimSpace(in.BrandName), now.UnixMicro()); err != nil {
			return fmt.Errorf("account: insert brand: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO brand_signups (brand_id, state, created_at) VALUES ($1, $2, $3)`, brandID, state, now.UnixMicro()); err != nil {
			return fmt.Errorf("account: insert brand sign-up: %w", err)
		}
		u := User{ID: id.New(prefixUser), Email: email, Kind: KindBrand, BrandID: brandID, BrandRole: RoleOwner, CreatedAt: clock.MicrosOf(now)}
		if err := insertUser(ctx, tx, u, key, hash, now); err != nil {
			return err
		}
		if err := s.mailVerification(ctx, tx, u, now); err != nil {
			return err
		}
		out = Signup{User: u, BrandState: state}
		return nil
	})
	return out, err
}

// SignUpCreator creates a creator, its user and a verification mail in one
// transaction. It returns Invalid (every bad field) or Conflict
// "email_taken", and then writes nothing.
func (s *Service) SignUpCreator(ctx context.Context, in CreatorSignup) (Signup, error) {
	var c errs.Collector
	checkName(&c, "name", in.Name)
	if in.Country != "" && !validCountry(in.Country) {
		c.Addf("country", "invalid_country", "country must be an ISO 3166-1 alpha-2 code such as DE or US")
	}
	email, key, err := NormalizeEmail("email", in.Email)
	c.Add("email", err)
	c.Add("password", CheckPassword("password", in.Password, email))
	if err := c.Err(); err != nil {
		return Signup{}, err
	}
	hash, err := s.hash(ctx, in.Password)
	if err != nil {
		return Signup{}, err
	}
	var out Signup
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		if err := emailFree(ctx, tx, key); err != nil {
			return err
		}
		creatorID := id.New(id.Creator)
		if _, err := tx.ExecContext(ctx, `INSERT INTO creators (id, name, country, created_at) VALUES ($1, $2, $3, $4)`, creatorID, strings.TrimSpace(in.Name), in.Country, now.UnixMicro()); err != nil {
			return fmt.Errorf("account: insert creator: %w", err)
		}
		u := User{ID: id.New(prefixUser), Email: email, Kind: KindCreator, CreatorID: creatorID, CreatedAt: clock.MicrosOf(now)}
		if err := insertUser(ctx, tx, u, key, hash, now); err != nil {
			return err
		}
		if err := s.mailVerification(ctx, tx, u, now); err != nil {
			return err
		}
		out = Signup{User: u}
		return nil
	})
	return out, err
}

// CreateOperator creates an operator user (for an admin command; the
// address counts as verified). It returns Invalid or Conflict
// "email_taken", and then writes nothing.
func (s *Service) CreateOperator(ctx context.Context, emailIn, password string) (User, error) {
	var c errs.Collector
	email, key, err := NormalizeEmail("email", emailIn)
	c.Add("email", err)
	c.Add("password", CheckPassword("password", password, email))
	if err := c.Err(); err != nil {
		return User{}, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		if err := emailFree(ctx, tx, key); err != nil {
			return err
		}
		u = User{ID: id.New(prefixUser), Email: email, Kind: KindOperator, EmailVerified: true, CreatedAt: clock.MicrosOf(now)}
		return insertUser(ctx, tx, u, key, hash, now)
	})
	return u, err
}

func validCountry(c string) bool {
	return len(c) == 2 && c[0] >= 'A' && c[0] <= 'Z' && c[1] >= 'A' && c[1] <= 'Z'
}

// emailFree returns Conflict "email_taken" when a user has key. The unique
// index on users.email_key decides races; this check only gives the early,
// clear answer.
func emailFree(ctx context.Context, tx *store.Tx, key string) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE email_key = $1`, key).Scan(&n); err != nil {
		return fmt.Errorf("account: look up email: %w", err)
	}
	if n > 0 {
		return emailTaken()
	}
	return nil
}

func insertUser(ctx context.Context, tx *store.Tx, u User, key, hash string, now time.Time) error {
	var verified int64
	if u.EmailVerified {
		verified = now.UnixMicro()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, email_key, password_hash, kind, brand_id, brand_role, creator_id, email_verified_at, password_changed_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)`,
		u.ID, u.Email, key, hash, u.Kind, u.BrandID, u.BrandRole, u.CreatorID, verified, now.UnixMicro())
	if store.IsUniqueViolation(err) {
		return emailTaken()
	}
	if err != nil {
		return fmt.Errorf("account: insert user: %w", err)
	}
	return nil
}

const userCols = `u.id, u.email, u.kind, u.brand_id, u.brand_role, u.creator_id, u.email_verified_at, u.created_at`

func scanUser(row store.Scanner, extra ...any) (User, error) {
	var u User
	var verified int64
	err := row.Scan(append([]any{&u.ID, &u.Email, &u.Kind, &u.BrandID, &u.BrandRole, &u.CreatorID, &verified, &u.CreatedAt}, extra...)...)
	u.EmailVerified = verified != 0
	return u, err
}

// userByID reads the user with id userID through q, or returns NotFound.
func userByID(ctx context.Context, q store.Queryer, userID string) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = $1`, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, errs.NotFoundf("user %s not found", userID)
	}
	if err != nil {
		return User{}, fmt.Errorf("account: read user: %w", err)
	}
	return u, nil
}

// GetUser returns the user with id userID, or NotFound.
func (s *Service) GetUser(ctx context.Context, userID string) (User, error) {
	return userByID(ctx, s.db.Read(), userID)
}

// Team returns the users of a brand, oldest first, to a user of that brand
// or the operator; anyone else gets NotFound.
func (s *Service) Team(ctx context.Context, p identity.Principal, brandID string) ([]User, error) {
	if !p.IsAdmin() && p.BrandID() != brandID {
		return nil, errs.NotFoundf("brand %s not found", brandID)
	}
	out, err := store.QueryAll(ctx, s.db.Read(), func(r store.Scanner) (User, error) { return scanUser(r) },
		`SELECT `+userCols+` FROM users u WHERE u.brand_id = $1 ORDER BY u.id`, brandID)
	if err != nil {
		return nil, fmt.Errorf("account: list team: %w", err)
	}
	return out, nil
}

// ---- operator settings and brand approval ----

func (s *Service) requireApproval(ctx context.Context, q store.Queryer) (bool, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM account_settings WHERE name = $1`, SettingRequireBrandApproval).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("account: read settings: %w", err)
	}
	return v == "true", nil
}

// RequireBrandApproval reports whether new brands wait for the operator's
// approval (off until the operator turns it on).
func (s *Service) RequireBrandApproval(ctx context.Context) (bool, error) {
	return s.requireApproval(ctx, s.db.Read())
}

// SetRequireBrandApproval turns approval of new brands on or off. Only the
// operator may; others get Forbidden.
func (s *Service) SetRequireBrandApproval(ctx context.Context, p identity.Principal, on bool) error {
	if !p.IsAdmin() {
		return errs.E(errs.Forbidden, "forbidden", "only the operator changes this setting")
	}
	v := "false"
	if on {
		v = "true"
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO account_settings (name, value, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, SettingRequireBrandApproval, v, s.clock.Now().UnixMicro())
		if err != nil {
			return fmt.Errorf("account: save setting: %w", err)
		}
		return nil
	})
}

// PendingBrand is a signed-up brand waiting for the operator.
type PendingBrand struct {
	BrandID    string       `json:"brand_id"`
	Name       string       `json:"name"`
	OwnerEmail string       `json:"owner_email"`
	CreatedAt  clock.Micros `json:"created_at"`
}

// PendingBrands lists brands waiting for approval, oldest first, to the
// operator; others get Forbidden.
func (s *Service) PendingBrands(ctx context.Context, p identity.Principal) ([]PendingBrand, error) {
	if !p.IsAdmin() {
		return nil, errs.E(errs.Forbidden, "forbidden", "only the operator approves brands")
	}
	out, err := store.QueryAll(ctx, s.db.Read(), func(r store.Scanner) (PendingBrand, error) {
		var b PendingBrand
		return b, r.Scan(&b.BrandID, &b.Name, &b.OwnerEmail, &b.CreatedAt)
	}, `SELECT b.id, b.name, COALESCE((SELECT MIN(u.email) FROM users u WHERE u.brand_id = b.id AND u.brand_role = 'owner'), ''), s.created_at
		FROM brand_signups s JOIN brands b ON b.id = s.brand_id WHERE s.state = 'pending' ORDER BY s.created_at, b.id`)
	if err != nil {
		return nil, fmt.Errorf("account: list pending brands: %w", err)
	}
	return out, nil
}

// DecideBrand approves (approve true) or rejects a pending brand. Only the
// operator may (others: Forbidden); a brand that is not pending gives
// NotFound.
func (s *Service) DecideBrand(ctx context.Context, p identity.Principal, brandID string, approve bool) error {
	if !p.IsAdmin() {
		return errs.E(errs.Forbidden, "forbidden", "only the operator approves brands")
	}
	state := BrandRejected
	if approve {
		state = BrandActive
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE brand_signups SET state = $1, decided_at = $2 WHERE brand_id = $3 AND state = 'pending'`, state, s.clock.Now().UnixMicro(), brandID)
		if err != nil {
			return fmt.Errorf("account: decide brand: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errs.NotFoundf("no pending brand %s", brandID), err)
		}
		return nil
	})
}

// ---- mailed tokens ----

// hashToken is what is stored for a mailed token or a session token: its
// SHA-256 in hex.
func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// newToken returns a random token of 32 bytes (256 bits), base32hex-encoded.
func newToken() string { return id.Secret(32) }

type tokenRow struct {
	ID, Kind, UserID, Email, BrandID, BrandRole string
}

// issueToken stores a new token's hash and returns the token and its row's id.
func (s *Service) issueToken(ctx context.Context, tx *store.Tx, now time.Time, ttl time.Duration, t tokenRow, createdBy string) (tok, tokenID string, err error) {
	tok = newToken()
	t.ID = id.New(prefixToken)
	if _, err := tx.ExecContext(ctx, `INSERT INTO account_tokens (hash, id, kind, user_id, email, brand_id, brand_role, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, hashToken(tok), t.ID, t.Kind, t.UserID, t.Email, t.BrandID, t.BrandRole, createdBy, now.UnixMicro(), now.Add(ttl).UnixMicro()); err != nil {
		return "", "", fmt.Errorf("account: insert token: %w", err)
	}
	return tok, t.ID, nil
}

func badToken() error {
	return errs.Invalidf("token", "invalid_token", "this link is invalid, expired or already used")
}

// consumeToken marks a token of kind used, once: of two transactions using
// the same token only one sees its UPDATE change a row. It returns the
// token's row, or Invalid "invalid_token" for an unknown, expired or used
// token.
func consumeToken(ctx context.Context, tx *store.Tx, now time.Time, kind, tok string) (tokenRow, error) {
	if tok == "" || len(tok) > 200 {
		return tokenRow{}, badToken()
	}
	h := hashToken(tok)
	r, err := tx.ExecContext(ctx, `UPDATE account_tokens SET used_at = $1 WHERE hash = $2 AND kind = $3 AND used_at = 0 AND expires_at > $1`, now.UnixMicro(), h, kind)
	if err != nil {
		return tokenRow{}, fmt.Errorf("account: use token: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return tokenRow{}, fmt.Errorf("account: use token: %w", err)
	} else if n != 1 {
		return tokenRow{}, badToken()
	}
	var t tokenRow
	if err := tx.QueryRowContext(ctx, `SELECT id, kind, user_id, email, brand_id, brand_role FROM account_tokens WHERE hash = $1`, h).
		Scan(&t.ID, &t.Kind, &t.UserID, &t.Email, &t.BrandID, &t.BrandRole); err != nil {
		return tokenRow{}, fmt.Errorf("account: read token: %w", err)
	}
	return t, nil
}

func (s *Service) link(path, tok string) string { return s.cfg.BaseURL + path + tok }

func (s *Service) mailVerification(ctx context.Context, tx *store.Tx, u User, now time.Time) error {
	tok, _, err := s.issueToken(ctx, tx, now, s.cfg.VerifyTTL, tokenRow{Kind: "verify", UserID: u.ID, Email: u.Email}, u.ID)
	if err != nil {
		return err
	}
	_, err = pmail.Enqueue(ctx, tx, now, pmail.Message{Kind: "verify", To: u.Email, Subject: "Confirm your email address for payper",
		Text: "Hello,\n\nplease confirm that this is your email address by opening this link:\n\n" + s.link("/verify/", tok) +
			"\n\nThe link works once and for " + human(s.cfg.VerifyTTL) + ". If you did not sign up for payper, ignore this mail.\n"})
	return err
}

func human(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		if d == 24*time.Hour {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", d/time.Hour)
	default:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
}

// MaxVerifyMails is how many verification mails one account is sent in an
// hour, the sign-up's included.
const MaxVerifyMails = 3

// ResendVerification mails a new verification link to a user whose email
// is not verified yet, at most MaxVerifyMails an hour (the address is not
// proven yet: someone who signed up with another person's address must not
// flood their mailbox). It returns NotFound for an unknown user, Conflict
// "already_verified" for a verified one and Conflict "too_many_mails" past
// the limit.
func (s *Service) ResendVerification(ctx context.Context, userID string) error {
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		u, err := userByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		if u.EmailVerified {
			return errs.Conflictf("already_verified", "the email address is already verified")
		}
		now := s.clock.Now()
		var recent int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_tokens WHERE user_id = $1 AND kind = 'verify' AND created_at > $2`,
			u.ID, now.Add(-time.Hour).UnixMicro()).Scan(&recent); err != nil {
			return fmt.Errorf("account: count verification mails: %w", err)
		}
		if recent >= MaxVerifyMails {
			return errs.Conflictf("too_many_mails", "%d verification links were sent in the last hour; check your spam folder, or ask again later", recent)
		}
		return s.mailVerification(ctx, tx, u, now)
	})
}

// VerifyEmail marks the email of the token's user verified. It returns the
// user, or Invalid "invalid_token".
func (s *Service) VerifyEmail(ctx context.Context, tok string) (User, error) {
	var u User
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		t, err := consumeToken(ctx, tx, now, "verify", tok)
		if err != nil {
			return err
		}
		// The token verifies the address it was mailed to, not one changed since.
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email_verified_at = $1 WHERE id = $2 AND email = $3 AND email_verified_at = 0`, now.UnixMicro(), t.UserID, t.Email); err != nil {
			return fmt.Errorf("account: verify email: %w", err)
		}
		u, err = userByID(ctx, tx, t.UserID)
		return err
	})
	return u, err
}

// MaxResetMails is how many reset mails one account is sent in an hour.
const MaxResetMails = 3

// RequestPasswordReset mails a reset link to the user with this email (at
// most MaxResetMails an hour; further requests are dropped quietly). For
// an address no one has it does nothing and still returns nil, so the
// answer does not tell who has an account. It returns Invalid only for a
// malformed address.
func (s *Service) RequestPasswordReset(ctx context.Context, emailIn string) error {
	_, key, err := NormalizeEmail("email", emailIn)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		u, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users u WHERE u.email_key = $1`, key))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("account: read user: %w", err)
		}
		now := s.clock.Now()
		// At most MaxResetMails an hour per account, so the form cannot be
		// used to flood someone's mailbox (OWASP Forgot Password Cheat
		// Sheet: protect the mechanism against abuse). The answer is the same.
		var recent int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM account_tokens WHERE user_id = $1 AND kind = 'reset' AND created_at > $2`,
			u.ID, now.Add(-time.Hour).UnixMicro()).Scan(&recent); err != nil {
			return fmt.Errorf("account: count reset mails: %w", err)
		}
		if recent >= MaxResetMails {
			return nil
		}
		tok, _, err := s.issueToken(ctx, tx, now, s.cfg.ResetTTL, tokenRow{Kind: "reset", UserID: u.ID, Email: u.Email}, "")
		if err != nil {
			return err
		}
		_, err = pmail.Enqueue(ctx, tx, now, pmail.Message{Kind: "reset", To: u.Email, Subject: "Reset your payper password",
			Text: "Hello,\n\nsomeone asked to reset the password of your payper account. To choose a new one, open this link:\n\n" +
				s.link("/reset/", tok) + "\n\nThe link works once and for " + human(s.cfg.ResetTTL) +
				". If it was not you, ignore this mail: your password stays as it is.\n"})
		return err
	})
}

// ResetPassword sets a new password with a reset token, once. It signs the
// user out everywhere, voids the user's other reset links, and marks the
// email verified (the mail reached it). It returns the user, Invalid
// "invalid_token", or Invalid on field password; nothing changes on error.
func (s *Service) ResetPassword(ctx context.Context, tok, password string) (User, error) {
	var u User
	err := s.useTokenWithPassword(ctx, "reset", tok, password, func(tx *store.Tx, now time.Time, t tokenRow, hash string) error {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2,
			email_verified_at = CASE WHEN email_verified_at = 0 AND email = $4 THEN $2 ELSE email_verified_at END WHERE id = $3`,
			hash, now.UnixMicro(), t.UserID, t.Email); err != nil {
			return fmt.Errorf("account: set password: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE account_tokens SET used_at = $1 WHERE user_id = $2 AND kind = 'reset' AND used_at = 0`, now.UnixMicro(), t.UserID); err != nil {
			return fmt.Errorf("account: void reset links: %w", err)
		}
		if err := revokeSessions(ctx, tx, now, t.UserID, ""); err != nil {
			return err
		}
		var err error
		u, err = userByID(ctx, tx, t.UserID)
		return err
	})
	return u, err
}

// useTokenWithPassword checks password and hashes it outside the
// transaction (argon2 takes a while); then, in one transaction, it uses the
// token of kind once, checks password against the email the token was
// mailed to, and runs fn with the token and the hash. Nothing changes when
// any step fails: the token stays usable.
func (s *Service) useTokenWithPassword(ctx context.Context, kind, tok, password string, fn func(tx *store.Tx, now time.Time, t tokenRow, hash string) error) error {
	if err := CheckPassword("password", password, ""); err != nil {
		return err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		t, err := consumeToken(ctx, tx, now, kind, tok)
		if err != nil {
			return err
		}
		if err := CheckPassword("password", password, t.Email); err != nil {
			return err
		}
		return fn(tx, now, t, hash)
	})
}

// ---- invitations ----

// Invitation is a pending invitation of a teammate.
type Invitation struct {
	ID        string       `json:"id"`
	Email     string       `json:"email"`
	BrandID   string       `json:"brand_id"`
	Role      string       `json:"role"`
	ExpiresAt clock.Micros `json:"expires_at"`
}

// Invite invites email to inviter's brand with role (owner or member) and
// mails the link, in one transaction. Only a brand owner may invite
// (others: Forbidden). It returns Invalid for a bad email or role and
// Conflict "email_taken" when the address already has an account.
func (s *Service) Invite(ctx context.Context, inviter User, emailIn, role string) (Invitation, error) {
	if !inviter.IsBrandOwner() {
		return Invitation{}, errs.E(errs.Forbidden, "forbidden", "only a brand's owner invites teammates")
	}
	var c errs.Collector
	email, key, err := NormalizeEmail("email", emailIn)
	c.Add("email", err)
	if role != RoleOwner && role != RoleMember {
		c.Addf("role", "invalid_role", "role must be owner or member")
	}
	if err := c.Err(); err != nil {
		return Invitation{}, err
	}
	var inv Invitation
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now()
		if err := emailFree(ctx, tx, key); err != nil {
			return err
		}
		var brandName string
		if err := tx.QueryRowContext(ctx, `SELECT name FROM brands WHERE id = $1`, inviter.BrandID).Scan(&brandName); err != nil {
			return fmt.Errorf("account: read brand: %w", err)
		}
		t := tokenRow{Kind: "invite", Email: email, BrandID: inviter.BrandID, BrandRole: role}
		tok, invID, err := s.issueToken(ctx, tx, now, s.cfg.InviteTTL, t, inviter.ID)
		if err != nil {
			return err
		}
		if _, err := pmail.Enqueue(ctx, tx, now, pmail.Message{Kind: "invite", To: email, Subject: "You are invited to " + oneLine(brandName) + " on payper",
			Text: "Hello,\n\n" + inviter.Email + " invites you to join " + oneLine(brandName) + " on payper as " + role +
				". To accept and choose your password, open this link:\n\n" + s.link("/invite/", tok) +
				"\n\nThe link works once and for " + human(s.cfg.InviteTTL) + ".\n"}); err != nil {
			return err
		}
		inv = Invitation{ID: invID, Email: email, BrandID: inviter.BrandID, Role: role, ExpiresAt: clock.MicrosOf(now.Add(s.cfg.InviteTTL))}
		return nil
	})
	return inv, err
}

// oneLine keeps a name to 80 characters for a subject line.
func oneLine(s string) string {
	if utf8.RuneCountInString(s) <= 80 {
		return s
	}
	r := []rune(s)
	return string(r[:79]) + "…"
}

// CheckLink reports whether a mailed link of kind ("verify" or "reset")
// still works, without using it: nil, or Invalid "invalid_token" for an
// unknown, expired or used token (a page can say so before asking for a
// new password).
func (s *Service) CheckLink(ctx context.Context, kind, tok string) error {
	if tok == "" || len(tok) > 200 || (kind != "verify" && kind != "reset") {
		return badToken()
	}
	var n int
	if err := s.db.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM account_tokens WHERE hash = $1 AND kind = $2 AND used_at = 0 AND expires_at > $3`,
		hashToken(tok), kind, s.clock.Now().UnixMicro()).Scan(&n); err != nil {
		return fmt.Errorf("account: read token: %w", err)
	}
	if n == 0 {
		return badToken()
	}
	return nil
}

// InvitationInfo is what the page of an invitation link shows before it
// is accepted.
type InvitationInfo struct {
	Email     string       `json:"email"`
	BrandName string       `json:"brand_name"`
	Role      string       `json:"role"`
	ExpiresAt clock.Micros `json:"expires_at"`
}

// PeekInvitation reads the invitation of a token without using it (for
// the page a mailed link opens; a mail scanner fetching it changes
// nothing). It returns Invalid "invalid_token" for an unknown, expired,
// used or revoked token.
func (s *Service) PeekInvitation(ctx context.Context, tok string) (InvitationInfo, error) {
	if tok == "" || len(tok) > 200 {
		return InvitationInfo{}, badToken()
	}
	var in InvitationInfo
	err := s.db.Read().QueryRowContext(ctx, `SELECT t.email, b.name, t.brand_role, t.expires_at FROM account_tokens t JOIN brands b ON b.id = t.brand_id
		WHERE t.hash = $1 AND t.kind = 'invite' AND t.used_at = 0 AND t.expires_at > $2`, hashToken(tok), s.clock.Now().UnixMicro()).
		Scan(&in.Email, &in.BrandName, &in.Role, &in.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return InvitationInfo{}, badToken()
	}
	if err != nil {
		return InvitationInfo{}, fmt.Errorf("account: read invitation: %w", err)
	}
	return in, nil
}

// AcceptInvite uses an invitation once: it creates the invited user as a
// member (or owner) of the brand with password, email verified (the link
// reached it). It returns the user, Invalid "invalid_token", Invalid on
// field password, or Conflict "email_taken"; nothing changes on error.
func (s *Service) AcceptInvite(ctx context.Context, tok, password string) (User, error) {
	var u User
	err := s.useTokenWithPassword(ctx, "invite", tok, password, func(tx *store.Tx, now time.Time, t tokenRow, hash string) error {
		u = User{ID: id.New(prefixUser), Email: t.Email, Kind: KindBrand, BrandID: t.BrandID, BrandRole: t.BrandRole, EmailVerified: true, CreatedAt: clock.MicrosOf(now)}
		return insertUser(ctx, tx, u, strings.ToLower(t.Email), hash, now)
	})
	return u, err
}

// Invitations returns a brand's invitations not yet accepted, expired or
// revoked, newest first, to its owners and the operator; anyone else gets
// NotFound (another brand's) or Forbidden (a member).
func (s *Service) Invitations(ctx context.Context, by User, brandID string) ([]Invitation, error) {
	if by.Kind != KindOperator {
		if by.BrandID != brandID {
			return nil, errs.NotFoundf("brand %s not found", brandID)
		}
		if !by.IsBrandOwner() {
			return nil, errs.E(errs.Forbidden, "forbidden", "only a brand's owner manages invitations")
		}
	}
	out, err := store.QueryAll(ctx, s.db.Read(), func(r store.Scanner) (Invitation, error) {
		var inv Invitation
		return inv, r.Scan(&inv.ID, &inv.Email, &inv.BrandID, &inv.Role, &inv.ExpiresAt)
	}, `SELECT id, email, brand_id, brand_role, expires_at FROM account_tokens
		WHERE kind = 'invite' AND brand_id = $1 AND used_at = 0 AND expires_at > $2 ORDER BY id DESC`, brandID, s.clock.Now().UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("account: list invitations: %w", err)
	}
	return out, nil
}

// RevokeInvitation voids a pending invitation of by's brand, so its link no
// longer works. Only the brand's owners may (members: Forbidden); an
// unknown, used, expired or another brand's invitation gives NotFound.
func (s *Service) RevokeInvitation(ctx context.Context, by User, invitationID string) error {
	if !by.IsBrandOwner() {
		return errs.E(errs.Forbidden, "forbidden", "only a brand's owner manages invitations")
	}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		now := s.clock.Now().UnixMicro()
		r, err := tx.ExecContext(ctx, `UPDATE account_tokens SET used_at = $1 WHERE id = $2 AND kind = 'invite' AND brand_id = $3 AND used_at = 0 AND expires_at > $1`,
			now, invitationID, by.BrandID)
		if err != nil {
			return fmt.Errorf("account: revoke invitation: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n != 1 {
			return errors.Join(errs.NotFoundf("invitation %s not found", invitationID), err)
		}
		return nil
	})
}
