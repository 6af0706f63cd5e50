package engage

import "context"

// ReadNow reads a campaign's due posts and their counts at once, and
// returns a function that bills them later, as PollCampaign would: the
// marks it then starts from may be stale.
func (s *Service) ReadNow(ctx context.Context, campaignID string) (func() (r PollResult, relocked bool, err error), error) {
	chunks := make(chan []due, 1000)
	if err := s.streamDue(ctx, campaignID, s.clock.Now().UnixMicro(), 1<<30, chunks); err != nil {
		return nil, err
	}
	close(chunks)
	var posts []due
	for c := range chunks {
		posts = append(posts, c...)
	}
	readings, deferred := s.read(ctx, posts)
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	ch, err := s.planChunk(ctx, s.db.Read(), posts, readings, deferred, nil)
	if err != nil {
		return nil, err
	}
	return func() (PollResult, bool, error) { return s.billChunk(ctx, campaignID, ch) }, nil
}
