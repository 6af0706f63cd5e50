package app

import (
	"context"
	"time"

	"github.com/payper/payper/internal/creator"
	"github.com/payper/payper/internal/engage"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/market"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// engageAccounts gives the engagement loop creators' connected accounts.
type engageAccounts struct{ c *creator.Service }

var _ engage.Accounts = engageAccounts{}

// ConnectedAccount returns the creator's connected account on p. When the
// only account there needs reconnecting, it says so (409 reconnect_needed)
// rather than that there is none.
func (a engageAccounts) ConnectedAccount(ctx context.Context, creatorID string, p platform.Name) (string, string, error) {
	acc, err := a.c.AccountOn(ctx, creatorID, p)
	if errs.Is(err, errs.NotFound) {
		all, lerr := a.c.Accounts(ctx, identity.Principal{Role: identity.RoleAdmin}, creatorID)
		if lerr != nil {
			return "", "", lerr
		}
		for _, x := range all {
			if x.Platform == p && x.Status == creator.StatusReconnectNeeded {
				return "", "", errs.Conflictf("reconnect_needed", "your %s account @%s must be connected again: %s", p, x.Handle, x.StatusReason)
			}
		}
	}
	if err != nil {
		return "", "", err
	}
	return acc.ID, acc.AccountID, nil
}

func (a engageAccounts) WithToken(ctx context.Context, ref string, fn func(ctx context.Context, c platform.Connector, tok platform.Token) error) error {
	return a.c.WithToken(ctx, ref, fn)
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
