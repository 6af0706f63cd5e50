// Package attrib attributes sales to creators and pays for them. Each
// accepted creator gets a discount code per campaign, made in the brand's
// store (Shopify, WooCommerce, the sandbox) or entered by hand; every order
// the order intake stores is attributed — a creator's discount code first,
// otherwise the customer's last click on a creator's link within the
// campaign's window — and paid from the campaign's escrow through the ledger
// (commission on net revenue, CPA per order), with refunds clawed back.
// Flat fees are paid when a creator is accepted.
package attrib

import (
	"context"
	"fmt"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/commerce"
	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/orders"
	"github.com/payper/payper/internal/store"
)

// CodePrefix prefixes discount code ids.
const CodePrefix = "dsc"

// CodeMaker returns the client that makes discount codes in a store.
type CodeMaker func(a orders.StoreAccess) (commerce.CodeCreator, error)

// Deps are the services attribution works with.
type Deps struct {
	DB        *store.DB
	Clock     clock.Clock
	Campaigns *campaign.Service
	Market    *market.Service
	Creators  *creator.Service
	Engage    *engage.Service
	Orders    *orders.Service
	// Makers builds store clients; nil uses DefaultCodeMaker.
	Makers CodeMaker
}

// Service makes discount codes, attributes orders and pays for them.
type Service struct {
	Deps
}

// Attribution hears of every order the intake stores, new ones with their
// content.
var _ orders.NewOrderObserver = (*Service)(nil)

// New returns a Service.
func New(d Deps) (*Service, error) {
	if d.DB == nil || d.Clock == nil || d.Campaigns == nil || d.Market == nil || d.Creators == nil || d.Engage == nil || d.Orders == nil {
		return nil, fmt.Errorf("attrib: a dependency is missing")
	}
	if d.Makers == nil {
		d.Makers = DefaultCodeMaker
	}
	return &Service{Deps: d}, nil
}

// FlatFeeTx pays the campaign's flat fee, if it has one, to a creator just
// accepted: market calls it inside the acceptance's transaction, with the
// campaign locked. The ledger key is the application's, so it pays once.
func (s *Service) FlatFeeTx(ctx context.Context, tx *store.Tx, camp *campaign.Campaign, app market.Application) error {
	if camp.Setup == nil || camp.Setup.Performance.FlatFee <= 0 {
		return nil
	}
	_, err := s.Engage.PayTx(ctx, tx, camp, engage.Payment{Key: "flatfee:" + app.ID, CreatorID: app.CreatorID,
		Kind: engage.KindFlatFee, Source: app.ID, Amount: camp.Setup.Performance.FlatFee, Ref: "flat fee for application " + app.ID})
	return err
}
