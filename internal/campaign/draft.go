package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// This file holds a campaign's setup draft: the web wizard's working copy
// of a setup, filled in one step at a time. Each step is checked with the
// same Normalize and Validate that Configure runs, counting only the errors
// on the step's own fields, and stored only when it has none; Configure
// then stores the whole setup (validated whole) and drops the draft.

// SetupDraft is a campaign's setup as a brand is filling it in.
type SetupDraft struct {
	// Setup is the draft (normalized); the campaign's setup when no draft
	// is stored, the zero Setup when there is neither.
	Setup Setup
	// Steps are the steps accepted into the stored draft, in the order
	// they were first accepted. The names are the caller's.
	Steps []string
	// Pending says a draft is stored: changes Configure has not stored yet.
	Pending bool
}

type draftJSON struct {
	Setup Setup    `json:"setup"`
	Steps []string `json:"steps"`
}

// SetupDraft returns the campaign p may see and its setup draft (see
// SetupDraft). It returns NotFound for a campaign p may not see.
func (s *Service) SetupDraft(ctx context.Context, p identity.Principal, campaignID string) (Campaign, SetupDraft, error) {
	var raw string
	c, err := scanDraft(s.db.Read().QueryRowContext(ctx, `SELECT `+cols+`, setup_draft FROM campaigns WHERE id = $1`, campaignID), &raw)
	if c, err = visible(c, err, p, campaignID); err != nil {
		return Campaign{}, SetupDraft{}, err
	}
	d, err := decodeDraft(c, raw)
	return c, d, err
}

func scanDraft(row interface{ Scan(...any) error }, raw *string) (Campaign, error) {
	return scan(scanPlus{row, raw})
}

// scanPlus scans one more column after scan's.
type scanPlus struct {
	row interface{ Scan(...any) error }
	raw *string
}

func (r scanPlus) Scan(dest ...any) error { return r.row.Scan(append(dest, r.raw)...) }

func decodeDraft(c Campaign, raw string) (SetupDraft, error) {
	if raw == "" {
		d := SetupDraft{}
		if c.Setup != nil {
			d.Setup = *c.Setup
		}
		return d, nil
	}
	var dj draftJSON
	if err := json.Unmarshal([]byte(raw), &dj); err != nil {
		return SetupDraft{}, fmt.Errorf("campaign %s: stored setup draft unreadable: %w", c.ID, err)
	}
	return SetupDraft{Setup: dj.Setup, Steps: dj.Steps, Pending: true}, nil
}

// SaveSetupPart stores one step of a campaign's setup draft. setup is the
// whole draft with the step's part changed; fields are the JSON paths the
// step owns, or their prefixes ("goal" covers "goal.primary"). The setup is
// normalized and validated against the campaign's budget as Configure does,
// and only the errors on the step's fields count: when there is any, an
// Invalid error lists every one of them and nothing is stored. Otherwise
// the draft is stored with step among its accepted steps, and returned.
//
// It returns NotFound for a campaign p may not change and a Conflict
// (campaign_locked) once the campaign is past funding, as Configure does.
func (s *Service) SaveSetupPart(ctx context.Context, p identity.Principal, campaignID string, setup Setup, step string, fields []string) (SetupDraft, error) {
	if p.BrandID() == "" {
		return SetupDraft{}, errs.NotFoundf("campaign %s not found", campaignID)
	}
	setup.Normalize()
	var out SetupDraft
	err := s.db.WithTx(ctx, func(tx *store.Tx) error {
		var raw string
		camp, err := scanDraft(tx.QueryRowContext(ctx, `SELECT `+cols+`, setup_draft FROM campaigns WHERE id = $1`+tx.ForUpdate(), campaignID), &raw)
		if camp, err = visible(camp, err, p, campaignID); err != nil {
			return err
		}
		if camp.State != StateDraft && camp.State != StateFunded {
			return errs.Conflictf("campaign_locked", "campaign %s is %s: its setup can change only while it is a draft or funded", camp.ID, camp.State)
		}
		if err := PartErrors(setup.Validate(camp.Budget, s.clock.Now()), fields); err != nil {
			return err
		}
		prev, err := decodeDraft(camp, raw)
		if err != nil {
			return err
		}
		out = SetupDraft{Setup: setup, Steps: prev.Steps, Pending: true}
		if !slices.Contains(out.Steps, step) {
			out.Steps = append(out.Steps, step)
		}
		b, err := json.Marshal(draftJSON{Setup: out.Setup, Steps: out.Steps})
		if err != nil {
			return fmt.Errorf("campaign: encode setup draft: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET setup_draft = $1 WHERE id = $2`, string(b), camp.ID); err != nil {
			return fmt.Errorf("campaign: store setup draft: %w", err)
		}
		return nil
	})
	return out, err
}

// PartErrors keeps, of an Invalid error listing field errors, those on
// fields (a field counts when it is one of them or under one: "goal" covers
// "goal.primary"). It returns nil when none is left, the error itself when
// it is not an Invalid *errs.Error.
func PartErrors(err error, fields []string) error {
	if err == nil {
		return nil
	}
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.Invalid {
		return err
	}
	list := e.Fields
	if len(list) == 0 {
		list = []errs.FieldError{{Field: e.Field, Code: e.Code, Message: e.Message}}
	}
	var c errs.Collector
	for _, f := range list {
		if InPart(f.Field, fields) {
			c.Addf(f.Field, f.Code, "%s", f.Message)
		}
	}
	return c.Err()
}

// InPart reports whether field is one of fields or under one of them.
func InPart(field string, fields []string) bool {
	for _, p := range fields {
		if field == p || strings.HasPrefix(field, p+".") {
			return true
		}
	}
	return false
}

// ParsePercent reads a percentage written by a person ("12.5", "12.5 %",
// "10") as basis points (1,250; 1,000), the unit of commission_bps and
// code_percent_bps; "" is 0. It allows at most two decimals and returns an
// Invalid error (field "") otherwise.
func ParsePercent(s string) (int64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, errs.Invalidf("", "too_many_decimals", "a percentage has at most two decimals, not %q", s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	m, err := money.ParseMicros(whole + frac)
	if err != nil || strings.ContainsAny(whole+frac, ".+") {
		return 0, errs.Invalidf("", "invalid_percent", "%q is not a percentage such as 12.5", s)
	}
	return m / 1_000_000, nil
}

// FormatPercent writes basis points as ParsePercent reads them: 1,250 is
// "12.5", 1,000 "10", 0 "".
func FormatPercent(bps int64) string {
	if bps == 0 {
		return ""
	}
	s := money.FormatMicros(bps * 10_000)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// TypicalPrice returns PRODUCT.md's typical price range of an interaction
// ("view", "like", "comment" or "share"), in micros of EUR, as the pricing
// advisor judges it; ok is false for one without a range (saves).
func TypicalPrice(interaction string) (lo, hi int64, ok bool) {
	r, ok := setupTypical[interaction]
	return r[0], r[1], ok
}
