package engage

import "context"

// ReadNow reads a campaign's due posts and their counts at once, and
// returns a function that bills them later, as PollCampaign would: the
// marks it then starts from may be stale.
func (s *Service) ReadNow(ctx context.Context, campaignID string) (func() (r PollResult, relocked bool, err error), error) {
	posts, err := s.duePosts(ctx, campaignID, s.clock.Now().UnixMicro())
	if err != nil {
		return nil, err
	}
	readings, deferred := s.read(ctx, posts)
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	return func() (PollResult, bool, error) { return s.billChunk(ctx, campaignID, posts, readings, deferred) }, nil
}
