package identity

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/store"
)

// MaxGrace is the longest a rotated key may keep working beside its
// successor.
const MaxGrace = 7 * 24 * time.Hour

// Key is an API key's metadata; its secret is shown only when it is made.
type Key struct {
	ID        string       `json:"id"`
	Role      string       `json:"role"`
	SubjectID string       `json:"subject_id,omitempty"`
	Label     string       `json:"label"`
	CreatedAt clock.Micros `json:"created_at"`
	// RevokedAt is when the key stopped (or, after a rotation with a grace
	// period, stops) working; absent while it works for good.
	RevokedAt clock.Micros `json:"revoked_at,omitempty"`
	// Active says whether the key authenticates now.
	Active bool `json:"active"`
}

// NewKey is a key just made, with its secret (shown once).
type NewKey struct {
	Key
	Secret string `json:"api_key"`
}

const keyCols = `id, role, subject_id, label, created_at, revoked_at`

func (s *Service) scanKey(row interface{ Scan(...any) error }) (Key, error) {
	var k Key
	err := row.Scan(&k.ID, &k.Role, &k.SubjectID, &k.Label, &k.CreatedAt, &k.RevokedAt)
	k.Active = err == nil && (k.RevokedAt == 0 || int64(k.RevokedAt) > s.clock.Now().UnixMicro())
	return k, err
}

// owns reports whether p may see and manage k: the admin any key, a brand
// or creator its own keys.
func owns(p Principal, k Key) bool {
	return p.IsAdmin() || (p.SubjectID != "" && k.Role == p.Role && k.SubjectID == p.SubjectID)
}

// validLabel checks a key's label: optional, single-line, at most 200
// characters.
func validLabel(label string) error {
	if err := errs.BadText("label", label, false); err != nil {
		return err
	}
	if utf8.RuneCountInString(label) > 200 {
		return errs.Invalidf("label", "too_long", "label is longer than 200 characters")
	}
	return nil
}

// Keys returns the keys p may manage, newest first, before the key id
// before: the admin's view is every key, a brand's or creator's its own.
// It returns Invalid for a cursor that is not a key id.
func (s *Service) Keys(ctx context.Context, p Principal, before string, limit int) ([]Key, error) {
	if before != "" && !id.Valid(before, id.APIKey) {
		return nil, errs.Invalidf("before", "invalid_cursor", "before must be a key id from next_before")
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	if !p.IsAdmin() && p.SubjectID == "" {
		return []Key{}, nil
	}
	subject, role := p.SubjectID, p.Role
	if p.IsAdmin() {
		subject, role = "", ""
	}
	out, err := store.QueryAll(ctx, s.db.Read(), s.scanKey, `SELECT `+keyCols+` FROM api_keys
		WHERE ($1 = '' OR (subject_id = $1 AND role = $2)) AND ($3 = '' OR id < $3) ORDER BY id DESC LIMIT $4`, subject, role, before, limit)
	if err != nil {
		return nil, fmt.Errorf("identity: list keys: %w", err)
	}
	return out, nil
}

// Issue makes a new key. A brand or creator makes one for itself (role and
// subjectID must be empty or its own); the admin for anyone (CreateKey's
// rules). It returns the key with its secret, shown once; Forbidden for a
// key for someone else, Invalid for a bad label or role, NotFound for an
// unknown subject.
func (s *Service) Issue(ctx context.Context, p Principal, role, subjectID, label string) (NewKey, error) {
	if err := validLabel(label); err != nil {
		return NewKey{}, err
	}
	if !p.IsAdmin() {
		if p.SubjectID == "" || (role != "" && role != p.Role) || (subjectID != "" && subjectID != p.SubjectID) {
			return NewKey{}, errs.E(errs.Forbidden, "forbidden", "a key can be made only for yourself")
		}
		role, subjectID = p.Role, p.SubjectID
	} else if role == "" {
		role = RoleAdmin
	}
	secret, keyID, err := s.CreateKey(ctx, role, subjectID, label)
	if err != nil {
		return NewKey{}, err
	}
	k, err := s.scanKey(s.db.Read().QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = $1`, keyID))
	if err != nil {
		return NewKey{}, fmt.Errorf("identity: read new key: %w", err)
	}
	return NewKey{Key: k, Secret: secret}, nil
}

// lockKey reads a key p may manage that still works, for update. It returns
// NotFound for an unknown key, another's, or one already revoked.
func (s *Service) lockKey(ctx context.Context, tx *store.Tx, p Principal, keyID string) (Key, error) {
	k, err := s.scanKey(tx.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = $1`+tx.ForUpdate(), keyID))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (!owns(p, k) || !k.Active)) {
		return Key{}, errs.NotFoundf("API key %s not found or already revoked", keyID)
	}
	if err != nil {
		return Key{}, fmt.Errorf("identity: read key %s: %w", keyID, err)
	}
	return k, nil
}

// Revoke revokes a key p may manage at once: from the next request on it
// answers 401. It returns the key, or NotFound for an unknown key, another's,
// or one already revoked.
func (s *Service) Revoke(ctx context.Context, p Principal, keyID string) (Key, error) {
	var k Key
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if k, err = s.lockKey(ctx, tx, p, keyID); err != nil {
			return err
		}
		now := s.clock.Now().UnixMicro()
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2`, now, k.ID); err != nil {
			return fmt.Errorf("identity: revoke key: %w", err)
		}
		k.RevokedAt, k.Active = clock.Micros(now), false
		return nil
	})
	return k, err
}

// Rotate replaces a key p may manage: a new key of the same role, subject
// and label, returned with its secret (shown once), and the old key revoked
// after grace (0 = at once, at most MaxGrace), in one transaction. It
// returns NotFound as Revoke does and Invalid for a grace out of range.
func (s *Service) Rotate(ctx context.Context, p Principal, keyID string, grace time.Duration) (NewKey, Key, error) {
	if grace < 0 || grace > MaxGrace {
		return NewKey{}, Key{}, errs.Invalidf("grace_seconds", "out_of_range", "grace_seconds must be from 0 to %d", int64(MaxGrace/time.Second))
	}
	var nk NewKey
	var old Key
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var err error
		if old, err = s.lockKey(ctx, tx, p, keyID); err != nil {
			return err
		}
		now := s.clock.Now()
		secret, newID, err := s.createKey(ctx, tx, old.Role, old.SubjectID, old.Label)
		if err != nil {
			return err
		}
		until := now.Add(grace).UnixMicro()
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE id = $2`, until, old.ID); err != nil {
			return fmt.Errorf("identity: revoke rotated key: %w", err)
		}
		old.RevokedAt, old.Active = clock.Micros(until), grace > 0
		nk = NewKey{Key: Key{ID: newID, Role: old.Role, SubjectID: old.SubjectID, Label: old.Label, CreatedAt: clock.MicrosOf(now), Active: true}, Secret: secret}
		return nil
	})
	return nk, old, err
}
