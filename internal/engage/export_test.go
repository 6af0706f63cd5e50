package engage

import "context"

// ReadNow reads a campaign's due posts and their counts at once, and
// returns a function that bills them later, as PollCampaign would: the
// marks it then starts from may be stale.
func (s *Service) ReadNow(ctx context.Context, campaignID string) (func() (r PollResult, relocked bool, err error), error) {
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
	ch, err := s.planChunk(ctx, s.db.Read(), groups, posts, readings, deferred, false)
	if err != nil {
		return nil, err
	}
	return func() (PollResult, bool, error) { return s.billChunk(ctx, campaignID, ch) }, nil
}

// Schedule returns when a post was last read and is read next (µs).
func (s *Service) Schedule(ctx context.Context, campaignID, creatorID, postID string) (next, last int64, err error) {
	m, err := postMarkOf(ctx, s.db.Read(), campaignID, creatorID, postID)
	return m.nextPoll, m.lastPolled, err
}
