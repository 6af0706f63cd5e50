// Package identity owns brands, creators and API keys, and turns a bearer
// token into a Principal. API keys are random, shown once, and stored only as
// their SHA-256; the operator's bootstrap token (PAYPER_ADMIN_TOKEN) is
// compared in constant time and never stored.
package identity

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/store"
)

// Roles a key can carry.
const (
	RoleAdmin   = "admin"
	RoleBrand   = "brand"
	RoleCreator = "creator"
)

// KeyPrefix starts every payper API key, so leaked keys are easy to scan for.
const KeyPrefix = "pp_"

// Principal is who is calling.
type Principal struct {
	Role      string `json:"role"`
	SubjectID string `json:"subject_id,omitempty"` // brand or creator id; "" for admin
	KeyID     string `json:"key_id,omitempty"`     // "" for the bootstrap token
}

// IsAdmin reports whether p is the operator.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// BrandID returns the brand p acts for, or "".
func (p Principal) BrandID() string {
	if p.Role == RoleBrand {
		return p.SubjectID
	}
	return ""
}

// CreatorID returns the creator p acts for, or "".
func (p Principal) CreatorID() string {
	if p.Role == RoleCreator {
		return p.SubjectID
	}
	return ""
}

// Brand is a company that funds campaigns.
type Brand struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	CreatedAt clock.Micros `json:"created_at"`
}

// Creator is an influencer who earns from campaigns.
type Creator struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Country   string       `json:"country,omitempty"`
	CreatedAt clock.Micros `json:"created_at"`
}

// Service manages identities.
type Service struct {
	db    *store.DB
	clock clock.Clock
	// adminTokenHash is the SHA-256 of PAYPER_ADMIN_TOKEN, or nil.
	adminTokenHash []byte
}

// New returns a Service. adminToken, if not empty, authenticates as the
// operator; it must be at least 16 characters.
func New(db *store.DB, clk clock.Clock, adminToken string) (*Service, error) {
	s := &Service{db: db, clock: clk}
	if adminToken != "" {
		if len(adminToken) < 16 {
			return nil, errs.Invalidf("admin_token", "too_short", "the admin token must be at least 16 characters")
		}
		h := sha256.Sum256([]byte(adminToken))
		s.adminTokenHash = h[:]
	}
	return s, nil
}

func hashKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// validName checks a single-line name: present, valid UTF-8 without control
// characters (no NUL, tab or line break), at most 200 characters.
func validName(c *errs.Collector, field, v string) {
	switch {
	case strings.TrimSpace(v) == "":
		c.Addf(field, "required", "%s is required", field)
	case errs.BadText(field, v, false) != nil:
		c.Add(field, errs.BadText(field, v, false))
	case utf8.RuneCountInString(v) > 200:
		c.Addf(field, "too_long", "%s is longer than 200 characters", field)
	}
}

// CreateBrand creates a brand and its first API key, returning the key's
// secret (shown once). It returns an Invalid error for a bad name.
func (s *Service) CreateBrand(ctx context.Context, name string) (Brand, string, error) {
	var c errs.Collector
	validName(&c, "name", name)
	if err := c.Err(); err != nil {
		return Brand{}, "", err
	}
	b := Brand{ID: id.New(id.Brand), Name: strings.TrimSpace(name), CreatedAt: clock.MicrosOf(s.clock.Now())}
	var secret string
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO brands (id, name, created_at) VALUES ($1, $2, $3)`, b.ID, b.Name, b.CreatedAt); err != nil {
			return fmt.Errorf("identity: insert brand: %w", err)
		}
		var err error
		secret, _, err = s.createKey(ctx, tx, RoleBrand, b.ID, "initial")
		return err
	})
	return b, secret, err
}

// CreateCreator creates a creator and its first API key, returning the key's
// secret (shown once). country, if given, is an ISO 3166-1 alpha-2 code.
func (s *Service) CreateCreator(ctx context.Context, name, country string) (Creator, string, error) {
	var c errs.Collector
	validName(&c, "name", name)
	if country != "" && !validCountry(country) {
		c.Addf("country", "invalid_country", "country must be an ISO 3166-1 alpha-2 code such as DE or US")
	}
	if err := c.Err(); err != nil {
		return Creator{}, "", err
	}
	cr := Creator{ID: id.New(id.Creator), Name: strings.TrimSpace(name), Country: country, CreatedAt: clock.MicrosOf(s.clock.Now())}
	var secret string
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO creators (id, name, country, created_at) VALUES ($1, $2, $3, $4)`, cr.ID, cr.Name, cr.Country, cr.CreatedAt); err != nil {
			return fmt.Errorf("identity: insert creator: %w", err)
		}
		var err error
		secret, _, err = s.createKey(ctx, tx, RoleCreator, cr.ID, "initial")
		return err
	})
	return cr, secret, err
}

func validCountry(c string) bool {
	if len(c) != 2 {
		return false
	}
	for _, r := range c {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// CreateKey issues a new API key for role and subject (a brand or creator
// id; "" for admin) and returns its secret, shown once, and its id. It
// returns NotFound when the subject does not exist.
func (s *Service) CreateKey(ctx context.Context, role, subjectID, label string) (secret, keyID string, err error) {
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		switch role {
		case RoleAdmin:
			if subjectID != "" {
				return errs.Invalidf("subject_id", "invalid", "admin keys have no subject")
			}
		case RoleBrand, RoleCreator:
			table := map[string]string{RoleBrand: "brands", RoleCreator: "creators"}[role]
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE id = $1`, subjectID).Scan(&n); err != nil {
				return fmt.Errorf("identity: find %s: %w", role, err)
			}
			if n == 0 {
				return errs.NotFoundf("%s %s not found", role, subjectID)
			}
		default:
			return errs.Invalidf("role", "invalid", "role must be admin, brand or creator")
		}
		var err error
		secret, keyID, err = s.createKey(ctx, tx, role, subjectID, label)
		return err
	})
	return secret, keyID, err
}

func (s *Service) createKey(ctx context.Context, tx *store.Tx, role, subject, label string) (string, string, error) {
	secret := KeyPrefix + role[:1] + "_" + id.Secret(32)
	keyID := id.New(id.APIKey)
	if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, hash, role, subject_id, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		keyID, hashKey(secret), role, subject, label, s.clock.Now().UnixMicro()); err != nil {
		return "", "", fmt.Errorf("identity: insert API key: %w", err)
	}
	return secret, keyID, nil
}

// ErrUnauthenticated is the error for a missing, unknown or revoked key.
var ErrUnauthenticated = &errs.Error{Kind: errs.Unauthorized, Code: "unauthorized", Message: "missing or invalid API key"}

// Authenticate resolves a bearer token to a Principal. It returns
// ErrUnauthenticated for an empty, unknown or revoked token.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > 200 {
		return Principal{}, ErrUnauthenticated
	}
	h := sha256.Sum256([]byte(token))
	if s.adminTokenHash != nil && subtle.ConstantTimeCompare(h[:], s.adminTokenHash) == 1 {
		return Principal{Role: RoleAdmin}, nil
	}
	var p Principal
	var revoked int64
	// The lookup is by hash, so timing reveals nothing about the secret.
	// Every request reads revoked_at: a revoked key is refused at once.
	err := s.db.Read().QueryRowContext(ctx, `SELECT id, role, subject_id, revoked_at FROM api_keys WHERE hash = $1`, hex.EncodeToString(h[:])).
		Scan(&p.KeyID, &p.Role, &p.SubjectID, &revoked)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && revoked != 0 && revoked <= s.clock.Now().UnixMicro()) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("identity: look up API key: %w", err)
	}
	return p, nil
}

// RevokeKey revokes an API key at once (also one still in a rotation's
// grace period). It returns NotFound for an unknown or revoked key.
func (s *Service) RevokeKey(ctx context.Context, keyID string) error {
	_, err := s.Revoke(ctx, Principal{Role: RoleAdmin}, keyID)
	return err
}

// GetBrand returns a brand visible to p (the admin, or the brand itself),
// or NotFound.
func (s *Service) GetBrand(ctx context.Context, p Principal, brandID string) (Brand, error) {
	if !p.IsAdmin() && p.BrandID() != brandID {
		return Brand{}, errs.NotFoundf("brand %s not found", brandID)
	}
	var b Brand
	err := s.db.Read().QueryRowContext(ctx, `SELECT id, name, created_at FROM brands WHERE id = $1`, brandID).Scan(&b.ID, &b.Name, &b.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Brand{}, errs.NotFoundf("brand %s not found", brandID)
	}
	if err != nil {
		return Brand{}, fmt.Errorf("identity: read brand: %w", err)
	}
	return b, nil
}

// GetCreator returns a creator visible to p (the admin, or the creator
// itself), or NotFound.
func (s *Service) GetCreator(ctx context.Context, p Principal, creatorID string) (Creator, error) {
	if !p.IsAdmin() && p.CreatorID() != creatorID {
		return Creator{}, errs.NotFoundf("creator %s not found", creatorID)
	}
	var c Creator
	err := s.db.Read().QueryRowContext(ctx, `SELECT id, name, country, created_at FROM creators WHERE id = $1`, creatorID).Scan(&c.ID, &c.Name, &c.Country, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Creator{}, errs.NotFoundf("creator %s not found", creatorID)
	}
	if err != nil {
		return Creator{}, fmt.Errorf("identity: read creator: %w", err)
	}
	return c, nil
}
