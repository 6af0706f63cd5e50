package ledger

import "context"

// SetTestHookBeforeCommit installs f to run inside every write transaction
// just before it commits (nil removes it). Set it before the ledger is used
// concurrently.
func (l *Ledger) SetTestHookBeforeCommit(f func(ctx context.Context)) { l.testHookBeforeCommit = f }

// SQLFloorBps exposes the audit's SQL fee formula to tests.
func SQLFloorBps(m, bps string) string { return sqlFloorBps(m, bps) }

// LegacyAccrueHash is an accrual's request hash as stored before migration
// 0010 (the SHA-256 of its canonical JSON).
func LegacyAccrueHash(campaignID string, it AccrueItem) string {
	return requestHash(KindAccrue, accrueHashed{campaignID, it})
}
