package campaign

import (
	"context"
	"fmt"

	"github.com/payper/payper/internal/store"
)

// Collab is what the optimize loop changed about one creator's
// collaboration in a campaign (table collaborations).
type Collab struct {
	// Cap, when > 0, replaces the campaign's per-creator cap for this
	// creator (doubled for "scale").
	Cap int64
	// EndedAt, when set, ended the collaboration ("cut"): nothing accrues
	// to the creator from then on; what they earned stays theirs.
	EndedAt int64
	// WindowStart, when set, starts the window the next ranking judges the
	// creator on ("refresh").
	WindowStart int64
}

// CapFor returns the cap that applies to a creator: their own, else the
// campaign's (0 = none).
func (c Collab) CapFor(camp Campaign) int64 {
	if c.Cap > 0 {
		return c.Cap
	}
	if camp.Setup != nil {
		return camp.Setup.CreatorCap
	}
	return 0
}

// Collaborations returns a campaign's changed collaborations by creator id
// (creators absent from the map have none).
func Collaborations(ctx context.Context, q store.Queryer, campaignID string) (map[string]Collab, error) {
	type row struct {
		id string
		c  Collab
	}
	rows, err := store.QueryAll(ctx, q, func(r store.Scanner) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.c.Cap, &x.c.EndedAt, &x.c.WindowStart)
	}, `SELECT creator_id, cap, ended_at, window_start FROM collaborations WHERE campaign_id = $1`, campaignID)
	if err != nil {
		return nil, fmt.Errorf("campaign: collaborations of %s: %w", campaignID, err)
	}
	out := make(map[string]Collab, len(rows))
	for _, x := range rows {
		out[x.id] = x.c
	}
	return out, nil
}
