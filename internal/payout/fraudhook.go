package payout

import (
	"context"
	"fmt"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/store"
)

// flagSharedDestination raises the fraud flag for creator, who tried to
// save as their payout destination the provider's account (by its key)
// that creator other is already paid to: payout refuses the save, and the
// attempt is itself what fraud's shared-destination rule looks for (one
// payout method behind two partners: Dub, FirstPromoter). The flag holds
// the creator's earnings in every campaign until the operator decides; the
// other creator is not flagged (anyone may type another's account number).
// It is the same flag fraud.DetectSharedDestinationsTx raises for a
// destination stored shared (same detector, subject and window), so the
// two never raise twice.
func (s *Service) flagSharedDestination(ctx context.Context, creator, other, provider, key string) error {
	f := fraud.Flag{Detector: fraud.DetectorSharedDest, Subject: fraud.SubjectDestination, SubjectID: provider + ":" + key[:min(16, len(key))],
		CreatorID: creator, Score: 2, Severity: fraud.SeverityHigh, Category: fraud.CategoryDestination, Window: creator,
		Reason: fmt.Sprintf("this creator tried to save as their %s payout destination the account another creator (%s) is paid to; payout refused it", provider, other),
		Holds:  true}
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		if _, _, err := fraud.Raise(ctx, tx, clock.MicrosOf(s.clock.Now()), f); err != nil {
			return fmt.Errorf("payout: flag a shared destination: %w", err)
		}
		return nil
	})
}
