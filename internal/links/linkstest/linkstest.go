// Package linkstest helps tests of tracked links and clicks: a link seeded
// without the services that make one, and a database that refuses clicks.
package linkstest

import (
	"context"
	"testing"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/store"
)

// Link is a seeded link.
type Link struct {
	ID, Slug, CampaignID, CreatorID string
	// Destination, UTMSource, UTMCampaign and Placement are what a
	// redirect adds; the medium is influencer.
	Destination, UTMSource, UTMCampaign, Placement string
}

// SeedLink inserts the rows a link needs (a brand, a draft campaign, a
// creator) and the link, with destination https://shop.example/glow?ref=x,
// and returns it; it fails t on any error.
func SeedLink(t testing.TB, db *store.DB) Link {
	t.Helper()
	ctx := context.Background()
	ident, err := identity.New(db, clock.System{}, "")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := ident.CreateBrand(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := ident.CreateCreator(ctx, "maria", "DE")
	if err != nil {
		t.Fatal(err)
	}
	l := Link{ID: id.New("lnk"), Slug: id.Secret(5), CampaignID: id.New(id.Campaign), CreatorID: c.ID,
		Destination: "https://shop.example/glow?ref=x", UTMSource: "maria", UTMCampaign: "summer-glow", Placement: "bio"}
	err = db.WithTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO campaigns (id, brand_id, name, currency, budget, state, created_at, updated_at)
			VALUES ($1, $2, 'Summer Glow', 'EUR', 1, 'draft', 0, 0)`, l.CampaignID, b.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO links (id, slug, campaign_id, creator_id, placement, medium, destination, utm_source, utm_campaign, created_at)
			VALUES ($1, $2, $3, $4, $5, 'influencer', $6, $7, $8, 0)`,
			l.ID, l.Slug, l.CampaignID, l.CreatorID, l.Placement, l.Destination, l.UTMSource, l.UTMCampaign)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// RefuseClicks makes every insert into clicks fail, as a full disk or a
// database that refuses writes would, until the returned function is
// called; it fails t on any error.
func RefuseClicks(t testing.TB, db *store.DB) (restore func()) {
	t.Helper()
	ctx := context.Background()
	var stmts, undo []string
	if db.Dialect() == store.Postgres {
		stmts = []string{
			`CREATE FUNCTION refuse_clicks() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'clicks refused (test)'; END $$`,
			`CREATE TRIGGER refuse_clicks BEFORE INSERT ON clicks FOR EACH STATEMENT EXECUTE FUNCTION refuse_clicks()`,
		}
		undo = []string{`DROP TRIGGER refuse_clicks ON clicks`, `DROP FUNCTION refuse_clicks()`}
	} else {
		stmts = []string{`CREATE TRIGGER refuse_clicks BEFORE INSERT ON clicks BEGIN SELECT RAISE(ABORT, 'clicks refused (test)'); END`}
		undo = []string{`DROP TRIGGER refuse_clicks`}
	}
	for _, q := range stmts {
		if _, err := db.Writer().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return func() {
		t.Helper()
		for _, q := range undo {
			if _, err := db.Writer().ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}
