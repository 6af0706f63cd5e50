package payout_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/payout"
	"github.com/payper/payper/internal/secret"
	"github.com/payper/payper/internal/store/storetest"
)

// watchingProvider is the fake provider reporting on accounts (as Stripe
// does), so payout keeps each destination's account key.
type watchingProvider struct{ *fakeProvider }

func (watchingProvider) ParseAccountWebhook(http.Header, []byte) (payout.AccountEvent, error) {
	return payout.AccountEvent{}, nil
}

func (watchingProvider) CheckAccount(context.Context, string) (payout.AccountEvent, error) {
	return payout.AccountEvent{}, nil
}

// TestSharedDestinationFlagged: a second creator saving the account
// another creator is paid to is refused (destination_in_use) and flagged
// for the operator (fraud's shared-destination rule), the flag holding his
// earnings; the first creator is not flagged; a second attempt raises no
// second flag. Both stores.
func TestSharedDestinationFlagged(t *testing.T) {
	storetest.EachURL(t, func(t *testing.T, dbURL string) {
		w := newWorld(t, dbURL, 100*eur)
		a := w.env.App
		svc := payout.New(a.DB, w.env.Clock, a.Ledger, payout.Config{}, nil, watchingProvider{&fakeProvider{}})
		box, _ := secret.New([]byte("0123456789abcdef0123456789abcdef"))
		svc.SetSecretBox(box)
		const acct = "GB33BUKB20201555555555"
		if err := svc.SetDestination(w.ctx, w.creator, payout.ProviderWise, acct); err != nil {
			t.Fatal(err)
		}
		cr, _, err := a.Identity.CreateCreator(w.ctx, "leo", "DE")
		if err != nil {
			t.Fatal(err)
		}
		leo := identity.Principal{Role: identity.RoleCreator, SubjectID: cr.ID}
		list := func() []fraud.Flag {
			t.Helper()
			fs, err := fraud.List(w.ctx, a.DB.Read(), w.admin, fraud.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			return fs
		}
		if fs := list(); len(fs) != 0 {
			t.Fatalf("flags before the second creator: %+v", fs)
		}
		for range 2 {
			if err := svc.SetDestination(w.ctx, leo, payout.ProviderWise, acct); errs.CodeOf(err) != "destination_in_use" || errs.KindOf(err) != errs.Conflict {
				t.Fatalf("a second creator saving her account: %v", err)
			}
		}
		fs := list()
		if len(fs) != 1 {
			t.Fatalf("flags after the second creator's attempts: %+v", fs)
		}
		f := fs[0]
		if f.Detector != fraud.DetectorSharedDest || f.CreatorID != cr.ID || f.State != fraud.StateOpen || !f.Holds || f.CampaignID != "" ||
			f.Category != fraud.CategoryDestination || f.Severity != fraud.SeverityHigh || !strings.Contains(f.Reason, w.creator.SubjectID) ||
			strings.Contains(f.SubjectID, acct) {
			t.Fatalf("flag %+v", f)
		}
		// It holds leo's earnings everywhere, not maria's.
		if !f.HoldsOne("ern_x", w.campaign, cr.ID, 1) || f.HoldsOne("ern_y", w.campaign, w.creator.SubjectID, 1) {
			t.Fatalf("flag holds the wrong earnings: %+v", f)
		}
		// A destination of his own is saved as before.
		if err := svc.SetDestination(w.ctx, leo, payout.ProviderWise, "DE89370400440532013000"); err != nil {
			t.Fatal(err)
		}
		if len(list()) != 1 {
			t.Fatalf("flags after leo's own destination: %+v", list())
		}
	})
}
