package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/store"
)

// escrowRow is a campaign escrow's money state, locked for update.
type escrowRow struct {
	CampaignID string
	BrandID    string
	Currency   money.Currency
	FeeBps     int64
	ReducedFee bool
	Funded     int64
	Spent      int64
	Fees       int64
	Refunded   int64
	ClosedAt   int64
}

const escrowCols = `campaign_id, brand_id, currency, fee_bps, reduced_fee, funded, spent, fees, refunded, closed_at`

func scanEscrow(row interface{ Scan(...any) error }) (*escrowRow, error) {
	e := &escrowRow{}
	var cur string
	if err := row.Scan(&e.CampaignID, &e.BrandID, &cur, &e.FeeBps, &e.ReducedFee, &e.Funded, &e.Spent, &e.Fees, &e.Refunded, &e.ClosedAt); err != nil {
		return nil, err
	}
	e.Currency = money.Currency(cur)
	return e, nil
}

// lockEscrow locks and returns a campaign's escrow row, or a NotFound error.
func lockEscrow(ctx context.Context, tx *store.Tx, campaign string) (*escrowRow, error) {
	e, err := scanEscrow(tx.QueryRowContext(ctx, `SELECT `+escrowCols+` FROM ledger_escrows WHERE campaign_id = $1`+tx.ForUpdate(), campaign))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, noEscrow(campaign)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: lock escrow %s: %w", campaign, err)
	}
	return e, nil
}

// noEscrow is the NotFound error of a campaign without an escrow.
func noEscrow(campaign string) error {
	return &errs.Error{Kind: errs.NotFound, Code: "escrow_not_found", Field: "campaign_id",
		Message: fmt.Sprintf("campaign %s has no escrow: fund it first", campaign)}
}

// openEscrow returns the campaign's escrow, creating it on first funding.
// Creating it decides the fee atomically: the brand's first campaign to
// claim the ledger_first_campaigns row gets the reduced fee.
func (l *Ledger) openEscrow(ctx context.Context, tx *store.Tx, campaign, brand string, cur money.Currency, now int64) (*escrowRow, error) {
	e, err := lockEscrow(ctx, tx, campaign)
	if err == nil || !errs.Is(err, errs.NotFound) {
		return e, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_first_campaigns (brand_id, campaign_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, brand, campaign); err != nil {
		return nil, fmt.Errorf("ledger: claim first campaign: %w", err)
	}
	var first string
	if err := tx.QueryRowContext(ctx, `SELECT campaign_id FROM ledger_first_campaigns WHERE brand_id = $1`, brand).Scan(&first); err != nil {
		return nil, fmt.Errorf("ledger: read first campaign: %w", err)
	}
	reduced := first == campaign
	fee := l.cfg.FeeBps
	if reduced {
		fee = l.cfg.FirstCampaignFeeBps
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_escrows (campaign_id, brand_id, currency, fee_bps, reduced_fee, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (campaign_id) DO NOTHING`, campaign, brand, string(cur), fee, reduced, now); err != nil {
		return nil, fmt.Errorf("ledger: create escrow: %w", err)
	}
	return lockEscrow(ctx, tx, campaign)
}

func (e *escrowRow) save(ctx context.Context, tx *store.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE ledger_escrows SET funded = $1, spent = $2, fees = $3, refunded = $4, closed_at = $5 WHERE campaign_id = $6`,
		e.Funded, e.Spent, e.Fees, e.Refunded, e.ClosedAt, e.CampaignID)
	if err != nil {
		return fmt.Errorf("ledger: save escrow %s: %w", e.CampaignID, err)
	}
	return nil
}

func (e *escrowRow) closedErr() error {
	return errs.Conflictf("escrow_closed", "campaign %s is closed: its escrow was refunded", e.CampaignID)
}

// creatorRow is a creator's spend within one campaign, locked for update.
type creatorRow struct {
	CreatorID string
	Spent     int64
	Earned    int64
	dirty     bool
}

// lockCreators creates missing rows and locks the (campaign, creator) rows
// in creator order.
func lockCreators(ctx context.Context, tx *store.Tx, campaign string, creators []string) (map[string]*creatorRow, error) {
	out := make(map[string]*creatorRow, len(creators))
	if len(creators) == 0 {
		return out, nil
	}
	if err := loadCreators(ctx, tx, campaign, creators, out); err != nil {
		return nil, err
	}
	if len(out) == len(creators) {
		return out, nil
	}
	var args []any
	q := `INSERT INTO ledger_campaign_creators (campaign_id, creator_id) VALUES `
	for _, c := range creators {
		if _, ok := out[c]; ok {
			continue
		}
		if len(args) > 0 {
			q += ","
		}
		q += fmt.Sprintf("($%d,$%d)", len(args)+1, len(args)+2)
		args = append(args, campaign, c)
	}
	// A concurrent creator of the same row makes ON CONFLICT wait for it.
	if _, err := tx.ExecContext(ctx, q+` ON CONFLICT DO NOTHING`, args...); err != nil {
		return nil, fmt.Errorf("ledger: create campaign creators: %w", err)
	}
	if err := loadCreators(ctx, tx, campaign, creators, out); err != nil {
		return nil, err
	}
	if len(out) != len(creators) {
		return nil, fmt.Errorf("ledger: campaign creators of %s vanished after creation", campaign)
	}
	return out, nil
}

// loadCreators locks and reads the existing (campaign, creator) rows, in
// creator order, into out.
func loadCreators(ctx context.Context, tx *store.Tx, campaign string, creators []string, out map[string]*creatorRow) error {
	cond, arg := store.InText(tx.Dialect(), "creator_id", 2, creators)
	rows, err := store.QueryAll(ctx, tx, func(r store.Scanner) (*creatorRow, error) {
		c := &creatorRow{}
		err := r.Scan(&c.CreatorID, &c.Spent, &c.Earned)
		return c, err
	}, `SELECT creator_id, spent, earned FROM ledger_campaign_creators
		WHERE campaign_id = $1 AND `+cond+` ORDER BY creator_id`+tx.ForUpdate(), campaign, arg)
	if err != nil {
		return fmt.Errorf("ledger: lock campaign creators: %w", err)
	}
	for _, c := range rows {
		out[c.CreatorID] = c
	}
	return nil
}

// saveCreators writes the changed rows back in one statement (they are locked already).
func saveCreators(ctx context.Context, tx *store.Tx, campaign string, rows map[string]*creatorRow) error {
	var dirty []*creatorRow
	for _, c := range rows {
		if c.dirty {
			dirty = append(dirty, c)
		}
	}
	if len(dirty) == 0 {
		return nil
	}
	sort.Slice(dirty, func(i, j int) bool { return dirty[i].CreatorID < dirty[j].CreatorID })
	var b strings.Builder
	b.WriteString(`UPDATE ledger_campaign_creators SET spent = v.column2, earned = v.column3 FROM (VALUES `)
	args := make([]any, 0, 3*len(dirty)+1)
	for i, c := range dirty {
		if i > 0 {
			b.WriteByte(',')
		}
		n := 3 * i
		fmt.Fprintf(&b, "(CAST($%d AS TEXT), CAST($%d AS BIGINT), CAST($%d AS BIGINT))", n+1, n+2, n+3)
		args = append(args, c.CreatorID, c.Spent, c.Earned)
	}
	args = append(args, campaign)
	fmt.Fprintf(&b, `) AS v WHERE ledger_campaign_creators.campaign_id = $%d AND ledger_campaign_creators.creator_id = v.column1`, len(args))
	r, err := tx.ExecContext(ctx, b.String(), args...)
	if err != nil {
		return fmt.Errorf("ledger: save campaign creators: %w", err)
	}
	if n, err := r.RowsAffected(); err == nil && n != int64(len(dirty)) {
		return fmt.Errorf("ledger: saved %d campaign creators, expected %d", n, len(dirty))
	}
	for _, c := range dirty {
		c.dirty = false
	}
	return nil
}
