package attrib

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/money"
	"github.com/payper/payper/internal/orders"
)

// Evidence is what an earning was paid for: for an interactions earning the
// platform readings it was billed from (engage.Evidence); for a commission
// or CPA earning the attributed order, with how it was attributed (the
// code, or the click and its link); for a flat fee the accepted
// application.
type Evidence struct {
	engage.Evidence
	// Conversion is the attribution of the order a commission or CPA
	// earning paid for (with what stands paid for it now).
	Conversion *Conversion `json:"conversion,omitempty"`
	// Order is that order as the store (or the conversion API) reported it,
	// with its refunds; for the brand and the admin only.
	Order *orders.Order `json:"order,omitempty"`
	// Application is the accepted application a flat fee paid for.
	Application *market.Application `json:"application,omitempty"`
}

// Evidence returns the evidence of an earning p may see: the campaign's
// brand, the admin, or the creator it pays (who is not shown the order
// itself, only its attribution). It returns NotFound for an earning p may
// not see.
func (s *Service) Evidence(ctx context.Context, p identity.Principal, earningID string) (Evidence, error) {
	ev, err := s.Engage.Evidence(ctx, p, earningID)
	if err != nil {
		return Evidence{}, err
	}
	out := Evidence{Evidence: ev}
	e := ev.Earning
	switch e.Kind {
	case engage.KindCommission, engage.KindCPA:
		camp, err := s.Campaigns.Internal(ctx, s.DB.Read(), e.CampaignID)
		if err != nil {
			return Evidence{}, err
		}
		cv, err := scanConv(s.DB.Read().QueryRowContext(ctx, `SELECT `+convCols+` FROM conversions WHERE order_id = $1`, e.Source))
		found := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Evidence{}, fmt.Errorf("attrib: evidence conversion: %w", err)
		}
		o, err := s.Orders.Get(ctx, camp.BrandID, e.Source)
		if err != nil {
			return Evidence{}, fmt.Errorf("attrib: evidence order %s: %w", e.Source, err)
		}
		if found {
			c := cv.Conversion
			c.ExternalID = o.ExternalID
			paid, err := s.paidFor(ctx, e.CampaignID, e.Source, camp.Currency)
			if err != nil {
				return Evidence{}, err
			}
			c.Commission, c.CPA = paid[engage.KindCommission], paid[engage.KindCPA]
			out.Conversion = &c
		}
		if p.CreatorID() == "" {
			out.Order = &o
		}
	case engage.KindFlatFee:
		a, err := s.Market.Accepted(ctx, s.DB.Read(), e.CampaignID, e.CreatorID)
		if err != nil {
			return Evidence{}, fmt.Errorf("attrib: evidence application: %w", err)
		}
		out.Application = &a
	}
	return out, nil
}

// paidFor returns what stands paid for an order in a campaign, by kind
// (commission, cpa): granted less what refunds took back, voided earnings
// left out (as ListConversions).
func (s *Service) paidFor(ctx context.Context, campaignID, orderID string, cur money.Currency) (map[string]money.Amount, error) {
	out := map[string]money.Amount{engage.KindCommission: money.New(0, cur), engage.KindCPA: money.New(0, cur)}
	rows, err := s.DB.Read().QueryContext(ctx, `SELECT kind, SUM(gross - clawed_gross) FROM earnings WHERE campaign_id = $1 AND source_id = $2
		AND kind IN ($3, $4) AND state <> 'voided' GROUP BY kind`, campaignID, orderID, engage.KindCommission, engage.KindCPA)
	if err != nil {
		return nil, fmt.Errorf("attrib: evidence payments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var v int64
		if err := rows.Scan(&kind, &v); err != nil {
			return nil, fmt.Errorf("attrib: evidence payments: %w", err)
		}
		out[kind] = money.New(v, cur)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("attrib: evidence payments: %w", err)
	}
	return out, nil
}
