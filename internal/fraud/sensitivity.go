package fraud

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/store"
)

// Sensitivity is how readily a campaign's detectors flag: relaxed flags
// only the clearest cases, strict flags more (and so more honest ones).
type Sensitivity string

// Sensitivities.
const (
	Relaxed  Sensitivity = "relaxed"
	Moderate Sensitivity = "moderate"
	Strict   Sensitivity = "strict"
)

// DefaultSensitivity is the default when the operator set none.
const DefaultSensitivity = Moderate

// ParseSensitivity checks s.
func ParseSensitivity(s string) (Sensitivity, error) {
	switch v := Sensitivity(s); v {
	case Relaxed, Moderate, Strict:
		return v, nil
	}
	return "", errs.Invalidf("sensitivity", "invalid", "sensitivity must be relaxed, moderate or strict")
}

// SensitivityOf returns campaign campaignID's sensitivity: its own, else
// the operator's default, else DefaultSensitivity.
func SensitivityOf(ctx context.Context, q store.Queryer, campaignID string) (Sensitivity, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT sensitivity FROM fraud_sensitivity WHERE campaign_id IN ($1, '')
		ORDER BY campaign_id DESC LIMIT 1`, campaignID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSensitivity, nil
	}
	if err != nil {
		return "", fmt.Errorf("fraud: sensitivity of %s: %w", campaignID, err)
	}
	return Sensitivity(v), nil
}

// SetSensitivity sets campaign campaignID's sensitivity ("" sets the
// operator's default), recording who set it. Callers check that who may.
func SetSensitivity(ctx context.Context, tx *store.Tx, campaignID string, v Sensitivity, who string, now clock.Micros) error {
	if _, err := ParseSensitivity(string(v)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO fraud_sensitivity (campaign_id, sensitivity, updated_by, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (campaign_id) DO UPDATE SET sensitivity = excluded.sensitivity, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
		campaignID, string(v), who, int64(now)); err != nil {
		return fmt.Errorf("fraud: set sensitivity of %q: %w", campaignID, err)
	}
	return nil
}
