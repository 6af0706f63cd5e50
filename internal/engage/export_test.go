package engage

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/payper/payper/internal/store"
)

// ReadNow reads a campaign's due posts and their counts at once, and
// returns a function that bills them later, as PollCampaign would: the
// marks it then starts from may be stale.
func (s *Service) ReadNow(ctx context.Context, campaignID string) (func() (r PollResult, relocked bool, err error), error) {
	ch, err := s.readPlan(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	return func() (PollResult, bool, error) { return s.billChunk(ctx, campaignID, ch) }, nil
}

// BillRetried reads and bills a campaign's due posts in one chunk, in a
// transaction whose first attempt is rolled back and run again, as
// store.WithTx does after a serialization failure.
func (s *Service) BillRetried(ctx context.Context, campaignID string) (PollResult, error) {
	ch, err := s.readPlan(ctx, campaignID)
	if err != nil {
		return PollResult{}, err
	}
	var r PollResult
	attempts := 0
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		attempts++
		var err error
		if r, err = s.bill(ctx, tx, campaignID, ch); err == nil && attempts == 1 {
			return fmt.Errorf("test: roll the first attempt back: %w", store.ErrRetry)
		}
		return err
	})
	if err == nil && attempts != 2 {
		err = fmt.Errorf("test: billed in %d attempts, want 2", attempts)
	}
	return r, err
}

// readPlan reads a campaign's due posts and plans their billing as one chunk.
func (s *Service) readPlan(ctx context.Context, campaignID string) (*chunk, error) {
	chunks := make(chan []*creatorMarks, 1000)
	now := s.clock.Now().UnixMicro()
	if err := s.streamDue(ctx, campaignID, now, 1<<30, chunks); err != nil {
		return nil, err
	}
	close(chunks)
	var groups []*creatorMarks
	for c := range chunks {
		groups = append(groups, c...)
	}
	posts := dueOf(groups, now)
	readings, deferred := s.read(ctx, posts)
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	return s.planChunk(ctx, s.db.Read(), groups, posts, readings, deferred, false)
}

// Schedule returns when a post was last read and is read next (µs).
func (s *Service) Schedule(ctx context.Context, campaignID, creatorID, postID string) (next, last int64, err error) {
	m, err := postMarkOf(ctx, s.db.Read(), campaignID, creatorID, postID)
	return m.nextPoll, m.lastPolled, err
}

// LeaveTickRunning leaves behind, as a server killed in the middle of a
// tick would, the tick it was running now and one poll of campaignID, in
// state running since an hour ago. It returns their job ids.
func (r *Runner) LeaveTickRunning(ctx context.Context, campaignID string) ([]int64, error) {
	res, err := r.client.InsertMany(ctx, []river.InsertManyParams{
		{Args: TickArgs{Slot: time.Now().Truncate(r.opt.TickEvery).UnixMilli()}},
		{Args: PollArgs{CampaignID: campaignID, At: r.s.clock.Now().Unix()}},
	})
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, j := range res {
		ids = append(ids, j.Job.ID)
	}
	since := `datetime('now', '-1 hour')`
	if r.s.db.Dialect() == store.Postgres {
		since = `now() - interval '1 hour'`
	}
	for _, id := range ids {
		if _, err := r.s.db.Writer().ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = `+since+` WHERE id = $1`, id); err != nil {
			return nil, fmt.Errorf("leave job %d running: %w", id, err)
		}
	}
	return ids, nil
}
