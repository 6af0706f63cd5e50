package app

import (
	"context"
	"time"

	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// engageAccounts gives the engagement loop creators' connected accounts.
type engageAccounts struct{ c *creator.Service }

var _ engage.Accounts = engageAccounts{}

func (a engageAccounts) ConnectedAccount(ctx context.Context, creatorID string, p platform.Name) (string, string, error) {
	acc, err := a.c.AccountOn(ctx, creatorID, p)
	if err != nil {
		return "", "", err
	}
	return acc.ID, acc.AccountID, nil
}

func (a engageAccounts) Token(ctx context.Context, ref string) (platform.Token, error) {
	return a.c.Token(ctx, ref)
}

// engageApps tells the engagement loop when creators were accepted.
type engageApps struct{ m *market.Service }

var _ engage.Applications = engageApps{}

func (a engageApps) AcceptedAt(ctx context.Context, q store.Queryer, campaignID, creatorID string) (time.Time, error) {
	app, err := a.m.Accepted(ctx, q, campaignID, creatorID)
	if err != nil {
		return time.Time{}, err
	}
	return app.DecidedAt, nil
}
