package engage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payper/payper/internal/campaign"
	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/fraud"
	"github.com/payper/payper/internal/id"
	"github.com/payper/payper/internal/identity"
	"github.com/payper/payper/internal/jsonw"
	"github.com/payper/payper/internal/ledger"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/rollup"
	"github.com/payper/payper/internal/store"
)

// PollResult says what one campaign's poll did.
type PollResult struct {
	CampaignID string `json:"campaign_id"`
	// PostsDue were due for a read; PostsRead were read and stored.
	PostsDue  int `json:"posts_due"`
	PostsRead int `json:"posts_read"`
	// Deferred posts could not be read (rate limit, reconnect needed,
	// platform down) and wait for a later poll; nothing of theirs is lost.
	Deferred int `json:"deferred"`
	// Removed posts are gone from the platform.
	Removed int `json:"removed"`
	// Flagged posts reported an impossible count (PostFlagged): nothing of
	// that reading is billed.
	Flagged int `json:"flagged"`
	// Requested and Granted are gross micro-units of the campaign currency.
	Requested int64 `json:"requested"`
	Granted   int64 `json:"granted"`
	Earnings  int   `json:"earnings"`
	// Completed is set when this poll spent the escrow and completed the campaign.
	Completed bool `json:"completed,omitempty"`
	// Stopped: the campaign was no longer open or paused when billing
	// began, or this poll completed it; later chunks were not billed.
	Stopped bool `json:"-"`
}

// due is a post waiting to be read, with its marks as read outside the
// billing transaction.
type due struct {
	id, creator, ref, mediaID string
	plat                      platform.Name
	marks
}

// dueOf returns the posts of groups due by now: live, with their next poll
// passed.
func dueOf(groups []*creatorMarks, now int64) []due {
	var out []due
	for _, g := range groups {
		for i := range g.posts {
			if p := &g.posts[i]; p.dueBy(now) {
				out = append(out, due{id: p.id, creator: g.creator, ref: p.ref, mediaID: p.mediaID, plat: p.plat, marks: p.marks})
			}
		}
	}
	return out
}

// marks are a post's billing state (its line in creator_marks).
type marks struct {
	hwm        hwm
	billed     int64
	failures   int
	lastPolled int64
}

// reading is what the platform said about one post.
type reading struct {
	counts  platform.Counts
	removed string // why the post is gone, "" when it was read
}

// PollCampaign reads every due live post of a campaign from its platform and
// bills the growth above each metric's high-water mark. Posts go in chunks of
// whole creators (about Config.ChunkPosts posts): while one chunk is billed,
// the next is read. Each chunk is one database transaction under the
// campaign row's lock, which rewrites each creator's marks row only if no
// one wrote it since it was read (its version), and otherwise locks and
// re-reads the rows and bills from them, so a concurrent poll of the same
// campaign (another server) bills nothing twice. Per creator the growth of
// all their posts is one balancing accrual; the per-creator cap holds; an
// escrow spent by this poll completes the campaign. While the campaign is
// paused the marks move but nothing is billed. A campaign in any other
// state is left alone.
func (s *Service) PollCampaign(ctx context.Context, campaignID string) (PollResult, error) {
	return s.pollCampaign(ctx, campaignID, false)
}

// pollCampaign is PollCampaign; final reads every live post, due or not
// (the read before an ended campaign completes).
func (s *Service) pollCampaign(ctx context.Context, campaignID string, final bool) (PollResult, error) {
	res := PollResult{CampaignID: campaignID}
	camp, err := s.campaigns.Internal(ctx, s.db.Read(), campaignID)
	if err != nil {
		return res, err
	}
	if camp.State != campaign.StateOpen && camp.State != campaign.StatePaused {
		return res, nil
	}
	if err := s.prepare(ctx); err != nil {
		return res, err
	}
	// A pipeline: the due posts stream in creator order and are cut into
	// chunks of whole creators; one chunk is read from the platform while
	// the one before it is billed.
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	chunks := make(chan []*creatorMarks, 1)
	var dueErr error
	dueDone := make(chan struct{})
	dueAt := s.clock.Now().UnixMicro()
	if final {
		dueAt = neverPoll // every live post is due
	}
	go func() {
		defer close(dueDone)
		dueErr = s.streamDue(rctx, campaignID, dueAt, s.cfg.ChunkPosts, chunks)
		close(chunks)
	}()
	reads := make(chan *chunk, 1)
	go func() {
		defer close(reads)
		for c := range chunks {
			posts := dueOf(c, dueAt)
			r, d := s.read(rctx, posts)
			// The chunk's rows are worked out here, beside the billing of
			// the chunk before, so the single writer only writes them.
			ch, err := s.planChunk(rctx, s.db.Read(), c, posts, r, d, false)
			if err != nil {
				ch = &chunk{groups: c, posts: posts, readings: r, deferred: d, err: err}
			}
			select {
			case reads <- ch:
			case <-rctx.Done():
				return
			}
		}
	}()
	// finish stops the stages and waits for them to end.
	finish := func() {
		stop()
		for range reads {
		}
		<-dueDone
	}
	for ch := range reads {
		res.PostsDue += len(ch.posts)
		r, _, err := s.billChunk(ctx, campaignID, ch)
		if err != nil {
			finish()
			return res, err
		}
		res.PostsRead += r.PostsRead
		res.Deferred += r.Deferred
		res.Removed += r.Removed
		res.Flagged += r.Flagged
		res.Requested += r.Requested
		res.Granted += r.Granted
		res.Earnings += r.Earnings
		res.Completed = res.Completed || r.Completed
		if r.Stopped {
			break // the campaign completed (or changed state): the rest is not billed now
		}
	}
	finish()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if dueErr != nil && !errors.Is(dueErr, context.Canceled) {
		return res, dueErr
	}
	return res, nil
}

// billChunk bills one chunk in its own transaction: first as planned from
// the marks read before the platform, and if another server moved any of
// them since, again with the marks locked and re-read (relocked).
func (s *Service) billChunk(ctx context.Context, campaignID string, ch *chunk) (r PollResult, relocked bool, err error) {
	if ch.err == nil {
		err = s.db.WithTx(ctx, func(tx *store.Tx) error {
			var err error
			r, err = s.bill(ctx, tx, campaignID, ch)
			return err
		})
		if !errors.Is(err, errMarksMoved) {
			return r, false, err
		}
	}
	err = s.db.WithTx(ctx, func(tx *store.Tx) error {
		cur, err := s.lockMarks(ctx, tx, campaignID, ch.groups)
		if err != nil {
			return err
		}
		fresh, err := s.planChunk(ctx, tx, cur, ch.posts, ch.readings, ch.deferred, true)
		if err != nil {
			return err
		}
		r, err = s.bill(ctx, tx, campaignID, fresh)
		return err
	})
	return r, true, err
}

// streamDue sends the marks rows of the campaign's creators with posts due
// by now to out, in creator order, in chunks of about size due posts (the
// first a fifth of that, so billing starts sooner): a creator's posts are
// never split, so each creator is billed once per tick. It closes nothing;
// it returns the first error of the query, or ctx's.
func (s *Service) streamDue(ctx context.Context, campaignID string, now int64, size int, out chan<- []*creatorMarks) error {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT seq, creator_id, version, marks FROM creator_marks
		WHERE campaign_id = $1 AND next_poll_at <= $2 ORDER BY creator_id`, campaignID, now)
	if err != nil {
		return fmt.Errorf("engage: due posts: %w", err)
	}
	defer rows.Close()
	send := func(c []*creatorMarks) error {
		select {
		case out <- c:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	target := max(1, size/5)
	var cur []*creatorMarks
	n := 0 // due posts in cur
	for rows.Next() {
		g, err := scanMarks(rows)
		if err != nil {
			return fmt.Errorf("engage: due posts: %w", err)
		}
		if len(cur) > 0 && n >= target {
			if err := send(cur); err != nil {
				return err
			}
			cur, n, target = nil, 0, size
		}
		cur = append(cur, g)
		for i := range g.posts {
			if g.posts[i].dueBy(now) {
				n++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("engage: due posts: %w", err)
	}
	if len(cur) > 0 {
		return send(cur)
	}
	return nil
}

// scanMarks scans a creator_marks row's seq, creator_id, version and marks.
func scanMarks(r store.Scanner) (*creatorMarks, error) {
	g := &creatorMarks{}
	var text string
	if err := r.Scan(&g.seq, &g.creator, &g.version, &text); err != nil {
		return nil, err
	}
	var err error
	if g.posts, err = decodeMarks(text); err != nil {
		return nil, fmt.Errorf("creator %s: %w", g.creator, err)
	}
	return g, nil
}

// read fetches the counts of posts, one Counts call per connected account,
// ReadConcurrency accounts at a time. Posts it could not read are returned
// in deferred with how long to wait before the next try.
func (s *Service) read(ctx context.Context, posts []due) (map[string]reading, map[string]time.Duration) {
	byRef := map[string][]due{}
	var refs []string
	for _, p := range posts {
		if _, ok := byRef[p.ref]; !ok {
			refs = append(refs, p.ref)
		}
		byRef[p.ref] = append(byRef[p.ref], p)
	}
	var mu sync.Mutex
	readings := make(map[string]reading, len(posts))
	deferred := map[string]time.Duration{}
	sem := make(chan struct{}, s.cfg.ReadConcurrency)
	var wg sync.WaitGroup
	for _, ref := range refs {
		group := byRef[ref]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			got, wait := s.readAccount(ctx, ref, group)
			mu.Lock()
			defer mu.Unlock()
			for k, v := range got {
				readings[k] = v
			}
			for _, p := range group {
				if _, ok := got[p.id]; !ok {
					deferred[p.id] = wait(p)
				}
			}
		}()
	}
	wg.Wait()
	return readings, deferred
}

// readAccount reads the posts of one connected account. wait says, for a
// post it could not read, how long to wait.
func (s *Service) readAccount(ctx context.Context, ref string, posts []due) (map[string]reading, func(due) time.Duration) {
	plat := posts[0].plat
	out := map[string]reading{}
	backoff := func(d due) time.Duration { return s.backoff(d.failures + 1) }
	if _, err := s.platforms.Get(plat); err != nil {
		s.m.reads.WithLabelValues(string(plat), "unconfigured").Inc()
		s.log.Warn("posts of an unconfigured platform wait", "platform", plat, "posts", len(posts))
		return out, backoff
	}
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.mediaID
	}
	var counts map[string]platform.MediaCounts
	var tok platform.Token
	err := s.accounts.WithToken(ctx, ref, func(ctx context.Context, c platform.Connector, t platform.Token) error {
		var err error
		tok = t
		got, err := c.Counts(ctx, t, ids)
		if counts == nil || len(got) > 0 {
			counts = got // a retry after a refresh reads again; keep what was read
		}
		return err
	})
	for _, p := range posts {
		c, ok := counts[p.mediaID]
		switch {
		case ok && c.AccountID != "" && c.AccountID != tok.AccountID:
			out[p.id] = reading{removed: "the media item now belongs to another account"}
		case ok:
			out[p.id] = reading{counts: c.Counts}
		case err == nil:
			out[p.id] = reading{removed: "the media item was deleted or is no longer visible"}
		}
	}
	if err != nil {
		return out, s.readFailed(plat, ref, err, backoff)
	}
	s.m.reads.WithLabelValues(string(plat), "ok").Inc()
	s.m.limitedUntil.WithLabelValues(string(plat)).Set(0)
	return out, backoff
}

// readFailed logs and counts a failed read and says how long its posts wait.
func (s *Service) readFailed(plat platform.Name, ref string, err error, backoff func(due) time.Duration) func(due) time.Duration {
	var rl *platform.RateLimitError
	switch {
	case errors.As(err, &rl):
		s.m.reads.WithLabelValues(string(plat), "rate_limited").Inc()
		s.m.rateLimited.WithLabelValues(string(plat)).Inc()
		s.m.limitedUntil.WithLabelValues(string(plat)).Set(float64(s.clock.Now().Add(rl.RetryAfter).Unix()))
		s.log.Info("platform rate limit: posts wait", "platform", plat, "account", ref, "retry_after", rl.RetryAfter)
		return func(d due) time.Duration { return max(rl.RetryAfter, backoff(d)) }
	case errors.Is(err, platform.ErrReconnect):
		s.m.reads.WithLabelValues(string(plat), "reconnect").Inc()
		s.log.Info("account needs reconnecting: its posts wait", "platform", plat, "account", ref)
		// Try again at the normal pace: once reconnected, growth is billed.
		return func(due) time.Duration { return s.cfg.PollInterval }
	case errors.Is(err, platform.ErrUnavailable):
		s.m.reads.WithLabelValues(string(plat), "unavailable").Inc()
	default:
		s.m.reads.WithLabelValues(string(plat), "error").Inc()
	}
	s.log.Warn("reading posts failed: they wait", "platform", plat, "account", ref, "err", err)
	return backoff
}

// backoff is the wait after n consecutive failures: the poll interval
// doubled each time, at most MaxBackoff.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.PollInterval
	for i := 1; i < n && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

// hwm are a post's high-water marks, in platform.Metrics order.
type hwm [5]int64

func countsOf(c platform.Counts) [5]platform.Count {
	return [5]platform.Count{c.Views, c.Likes, c.Comments, c.Shares, c.Saves}
}

func pricesOf(p campaign.Prices) [5]int64 {
	return [5]int64{p.View, p.Like, p.Comment, p.Share, p.Save}
}

// growthDetail is one post's billed growth in an earning's detail, as it
// is read back.
type growthDetail struct {
	PostID string           `json:"post_id"`
	Growth map[string]int64 `json:"growth"`
	Amount int64            `json:"amount"`
}

// billedPost is one post's billed growth as billing collects it: growth in
// platform.Metrics order, 0 where nothing of that metric was billed.
type billedPost struct {
	postID string
	growth [5]int64
	amount int64
}

// metricsByName are the indexes of platform.Metrics in the order of their
// names, the order encoding/json writes a map's keys in.
var metricsByName = func() []int {
	idx := make([]int, len(platform.Metrics))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return platform.Metrics[idx[a]] < platform.Metrics[idx[b]] })
	return idx
}()

// appendDetail appends the JSON of an earning's detail — the same bytes
// json.Marshal writes for the []growthDetail it stands for — to b. Billing
// writes one per creator per tick, and encoding/json's reflection over a
// map per post was a twentieth of a tick. Post ids are payper's own
// (letters, digits and '_'); a character JSON would escape is escaped all
// the same.
func appendDetail(b []byte, posts []billedPost) []byte {
	b = append(b, '[')
	for i, p := range posts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"post_id":`...)
		b = jsonw.AppendString(b, p.postID)
		b = append(b, `,"growth":{`...)
		first := true
		for _, m := range metricsByName {
			if p.growth[m] == 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, '"')
			b = append(b, platform.Metrics[m]...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, p.growth[m], 10)
		}
		b = append(b, `},"amount":`...)
		b = strconv.AppendInt(b, p.amount, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

// chunk is a chunk of due posts as read from the platform, and its billing
// worked out from the marks it was read with: what each post grew by above
// its high-water marks, and the rows that record it. Only what the
// campaign's state, prices and collaborations decide — what is paid — is
// left for bill, under the campaign's lock.
type chunk struct {
	groups   []*creatorMarks // the creators' marks rows as read
	posts    []due           // their due posts
	readings map[string]reading
	deferred map[string]time.Duration
	err      error // planning failed: bill with the marks locked, which plans again

	now  int64 // when the posts were read (µs): their snapshots' time
	read []readPost
	// writes are the creators' marks rows as the poll leaves them; the
	// billed total of each read post is set by bill.
	writes []*creatorMarks
	// snaps are the read posts' snapshots (snapshotCols), in the order of
	// read; each one's billable flag is set by bill.
	snaps    [][]any
	removals [][]any
	flags    [][]any // posts whose reading was impossible: id, PostFlagged, why
	waits    int     // deferred posts
	// growth sums each creator's read growth (views…saves), billed or not.
	growth map[string]*[5]int64
	// relocked: the marks were locked and re-read in bill's transaction.
	relocked bool
	// series are the fraud detectors' memory of the chunk's creators'
	// posts, read as the chunk is planned (fraudhook.go); nil: detect reads them.
	series map[string]*fraud.Series
}

// readPost is one read post of a chunk.
type readPost struct {
	id, creator string
	growth      [5]int64 // above the high-water marks, platform.Metrics order
	billed      int64    // gross billed for the post before this read
	// mark is the post's line in its creator's row as the poll leaves it;
	// bill sets its billed total (from billed, so that a transaction run
	// again sets the same).
	mark *postMark
}

// snapBillable is the position, in a snapshot row, of what bill fills in:
// taken_at, post_id, 5 counts, billable.
const snapBillable = 7

// planChunk works out the chunk's rows from groups, the creators' marks
// rows: as read with the due posts, or locked and re-read (relocked). q
// reads how many posts a paced platform has live.
func (s *Service) planChunk(ctx context.Context, q store.Queryer, groups []*creatorMarks, posts []due, readings map[string]reading, deferred map[string]time.Duration, relocked bool) (*chunk, error) {
	now := s.clock.Now().UnixMicro()
	ch := &chunk{groups: groups, posts: posts, readings: readings, deferred: deferred, now: now, relocked: relocked,
		growth: map[string]*[5]int64{}}
	nextOf, err := s.nextPolls(ctx, q, posts, now)
	if err != nil {
		return nil, err
	}
	ch.read = make([]readPost, 0, len(posts))
	ch.snaps = make([][]any, 0, len(posts))
	for _, g := range groups {
		w := &creatorMarks{seq: g.seq, creator: g.creator, version: g.version, posts: slices.Clone(g.posts)}
		touched := false
		for i := range w.posts {
			p := &w.posts[i]
			if !p.live || p.lastPolled >= now {
				continue // rejected or removed meanwhile, or polled by another server at this very time
			}
			if wait, ok := deferred[p.id]; ok {
				p.nextPoll, p.failures = now+wait.Microseconds(), p.failures+1
				ch.waits++
				touched = true
				continue
			}
			r, ok := readings[p.id]
			if !ok {
				continue // not due in this chunk
			}
			touched = true
			if r.removed != "" {
				ch.removals = append(ch.removals, []any{p.id, PostRemoved, r.removed})
				p.live = false
				continue
			}
			if why := implausible(r.counts); why != "" {
				// Neither billed nor recorded: the marks stay where they were,
				// and the post waits for a person (Decide).
				ch.flags = append(ch.flags, []any{p.id, PostFlagged, why})
				p.live = false
				continue
			}
			rp := readPost{id: p.id, creator: g.creator, billed: p.billed, mark: p}
			snap := make([]any, 2, len(snapshotCols))
			snap[0], snap[1] = now, p.id
			for i, cnt := range countsOf(r.counts) {
				if !cnt.Known {
					snap = append(snap, nil)
					continue
				}
				snap = append(snap, cnt.Value)
				if cnt.Value > p.hwm[i] { // a count that falls bills nothing until it passes its old peak
					rp.growth[i] = cnt.Value - p.hwm[i]
					p.hwm[i] = cnt.Value
				}
			}
			p.lastPolled, p.nextPoll, p.failures = now, nextOf[p.plat], 0
			gr := ch.growth[g.creator]
			if gr == nil {
				gr = new([5]int64)
				ch.growth[g.creator] = gr
			}
			for i, v := range rp.growth {
				gr[i] += v
			}
			ch.read = append(ch.read, rp)
			ch.snaps = append(ch.snaps, append(snap, false))
		}
		if touched {
			ch.writes = append(ch.writes, w)
		}
	}
	ch.series = s.preloadSeries(ctx, q, groups, len(ch.read)) // fraudhook.go
	return ch, nil
}

// implausible says why a reading is impossible — a known count below zero
// or above MaxPlausibleCount — or returns "" for a plausible one.
func implausible(c platform.Counts) string {
	var why []string
	for i, cnt := range countsOf(c) {
		if cnt.Known && (cnt.Value < 0 || cnt.Value > MaxPlausibleCount) {
			why = append(why, fmt.Sprintf("%s %d", platform.Metrics[i], cnt.Value))
		}
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprintf("impossible reading: %s (a count must be between 0 and %d)", strings.Join(why, ", "), int64(MaxPlausibleCount))
}

// satAdd returns a + b for amounts ≥ 0, math.MaxInt64 where that overflows.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// satMul returns a × b for a, b ≥ 0, math.MaxInt64 where that overflows.
func satMul(a, b int64) int64 {
	if hi, lo := bits.Mul64(uint64(a), uint64(b)); hi != 0 || lo > math.MaxInt64 {
		return math.MaxInt64
	}
	return a * b
}

// lockMarks locks and re-reads the marks rows of groups' creators.
func (s *Service) lockMarks(ctx context.Context, tx *store.Tx, campaignID string, groups []*creatorMarks) ([]*creatorMarks, error) {
	creators := make([]string, len(groups))
	for i, g := range groups {
		creators[i] = g.creator
	}
	cond, arg := store.InText(tx.Dialect(), "creator_id", 2, creators)
	out, err := store.QueryAll(ctx, tx, scanMarks, `SELECT seq, creator_id, version, marks FROM creator_marks
		WHERE campaign_id = $1 AND `+cond+` ORDER BY creator_id`+tx.ForUpdate(), campaignID, arg)
	if err != nil {
		return nil, fmt.Errorf("engage: lock marks: %w", err)
	}
	return out, nil
}

// bill writes a planned chunk in tx: under the campaign's lock it prices
// the growth, moves the marks (only where unchanged since they were read,
// unless relocked; errMarksMoved otherwise), accrues one balancing accrual
// per creator, records earnings, snapshots and rollups, and completes the
// campaign when the escrow is spent.
func (s *Service) bill(ctx context.Context, tx *store.Tx, campaignID string, ch *chunk) (PollResult, error) {
	res := PollResult{CampaignID: campaignID, PostsDue: len(ch.posts), Deferred: ch.waits, Removed: len(ch.removals),
		Flagged: len(ch.flags), PostsRead: len(ch.read)}
	camp, err := s.campaigns.LockTx(ctx, tx, identity.Principal{Role: identity.RoleAdmin}, campaignID)
	if err != nil {
		return res, err
	}
	if camp.State != campaign.StateOpen && camp.State != campaign.StatePaused {
		return PollResult{CampaignID: campaignID, PostsDue: len(ch.posts), Stopped: true}, nil
	}
	now := time.UnixMicro(ch.now)
	today := rollup.DayOf(ch.now)
	var roll rollup.Batch
	// A campaign past its end date bills until it is completed: the final
	// read (CompleteEnded) bills what grew up to it.
	billable := camp.State == campaign.StateOpen && camp.Setup != nil && !now.Before(camp.Setup.StartsAt)
	collabs, err := campaign.Collaborations(ctx, tx, camp.ID)
	if err != nil {
		return res, err
	}
	var prices [5]int64
	if camp.Setup != nil {
		prices = pricesOf(camp.Setup.Prices)
	}
	for creator, g := range ch.growth {
		k := rollup.Key{Campaign: camp.ID, Creator: creator, Day: today}
		for i, v := range g {
			if v != 0 {
				roll.Add(k, rollup.Col(i), v) // Views…Saves
			}
		}
	}

	// Price the growth: each post's amount, its billed total, and per creator
	// the posts and the sum. The arithmetic saturates and no amount asks for
	// more than the escrow holds, so a reading however large (within
	// MaxPlausibleCount) asks for at most the rest of the budget.
	amounts := map[string]int64{}
	details := map[string][]billedPost{}
	left := int64(-1) // the escrow left, read when something is to be billed
	for i, p := range ch.read {
		ch.snaps[i][snapBillable] = billable
		p.mark.billed = p.billed
		if !billable || collabs[p.creator].EndedAt != 0 {
			continue
		}
		var amount int64
		var growth [5]int64
		for m, g := range p.growth {
			if g == 0 || prices[m] <= 0 {
				continue
			}
			growth[m] = g
			amount = satAdd(amount, satMul(prices[m], g))
		}
		if amount <= 0 {
			continue
		}
		if left < 0 {
			st, err := s.ledger.EscrowWith(ctx, tx, camp.ID)
			if err != nil {
				return res, err
			}
			left = max(st.Remaining, 0)
		}
		// What the creator's posts ask together stays within the escrow
		// left, and their details add up to it.
		if amount = min(amount, left-amounts[p.creator]); amount == 0 {
			continue
		}
		amounts[p.creator] += amount
		details[p.creator] = append(details[p.creator], billedPost{postID: p.id, growth: growth, amount: amount})
		p.mark.billed = satAdd(p.billed, amount)
	}

	// Move the marks first, each creator's row only if no other server
	// wrote it since it was read (version unchanged).
	rows := make([][]any, len(ch.writes))
	var buf []byte
	for i, w := range ch.writes {
		buf = appendMarks(buf[:0], w.posts)
		rows[i] = []any{w.seq, w.version, string(buf), nextPollOf(w.posts), w.version + 1}
	}
	n, err := tx.BulkUpdateIf(ctx, "creator_marks", "seq", "version", marksCols, rows)
	if err != nil {
		return res, err
	}
	if n != int64(len(rows)) {
		if ch.relocked {
			return res, fmt.Errorf("engage: %d of %d marks rows moved under their lock", int64(len(rows))-n, len(rows))
		}
		return res, errMarksMoved
	}

	// Bill: one balancing accrual per creator.
	if len(amounts) > 0 {
		creators := make([]string, 0, len(amounts))
		for c := range amounts {
			creators = append(creators, c)
		}
		sort.Strings(creators)
		batch := id.Secret(8)
		items := make([]ledger.AccrueItem, len(creators))
		for i, c := range creators {
			items[i] = ledger.AccrueItem{Key: "ppi:" + camp.ID + ":" + c + ":" + batch, CreatorID: c, Amount: amounts[c],
				Cap: collabs[c].CapFor(camp), Ref: fmt.Sprintf("engagement on %d posts", len(details[c]))}
		}
		results, err := s.ledger.AccrueBatchTx(ctx, tx, camp.ID, items)
		if err != nil {
			return res, err
		}
		var earnRows [][]any
		exhausted := false
		for i, r := range results {
			res.Requested += r.Requested
			res.Granted += r.Granted
			if r.EscrowExhausted || (r.Granted < r.Requested && !r.CapReached) {
				exhausted = true
			}
			if r.Granted == 0 {
				continue
			}
			detail := appendDetail(nil, details[creators[i]])
			earnRows = append(earnRows, []any{id.New(id.Earning), camp.ID, creators[i], string(camp.Currency), r.Requested, r.Granted,
				r.Fee, r.Earned, string(detail), r.TxID, EarningHeld, ch.now, ch.now + s.cfg.HoldingPeriod.Microseconds()})
			k := rollup.Key{Campaign: camp.ID, Creator: creators[i], Day: today}
			roll.Add(k, rollup.EarnInteractions, r.Earned)
			roll.Add(k, rollup.Fees, r.Fee)
		}
		if err := tx.BulkInsert(ctx, "earnings", earningCols, earnRows); err != nil {
			return res, err
		}
		res.Earnings = len(earnRows)
		s.m.billed.WithLabelValues(string(camp.Currency)).Add(float64(res.Granted))
		if !exhausted {
			st, err := s.ledger.EscrowWith(ctx, tx, camp.ID)
			if err != nil {
				return res, err
			}
			exhausted = st.Remaining == 0
		}
		if exhausted {
			if err := s.campaigns.SetStateTx(ctx, tx, &camp, campaign.StateCompleted, campaign.CompletedBudget); err != nil {
				return res, err
			}
			res.Completed, res.Stopped = true, true
		}
	}

	if _, err := tx.BulkUpdate(ctx, "posts", "id", []string{"state", "state_reason"}, append(ch.removals, ch.flags...)); err != nil {
		return res, err
	}
	for _, f := range ch.flags {
		s.log.Warn("impossible reading: post flagged, nothing billed", "campaign", camp.ID, "post", f[0], "reason", f[2])
	}
	if err := tx.BulkInsert(ctx, "post_snapshots", snapshotCols, ch.snaps); err != nil {
		return res, err
	}
	if err := s.detect(ctx, tx, camp.ID, ch); err != nil { // fraud detectors: fraudhook.go
		return res, err
	}
	if err := roll.Flush(ctx, tx); err != nil {
		return res, err
	}
	s.m.polled.Add(float64(len(ch.snaps)))
	return res, nil
}

// prepare readies the bulk statements billing runs (SQLite parses a
// statement of hundreds of rows only once). It must run outside a transaction.
func (s *Service) prepare(ctx context.Context) error {
	if err := s.db.PrepareBulk(ctx, "post_snapshots", snapshotCols); err != nil {
		return err
	}
	return s.db.PrepareBulkUpdate(ctx, "creator_marks", "seq", "version", marksCols)
}

var (
	marksCols    = []string{"marks", "next_poll_at", "version"}
	earningCols  = []string{"id", "campaign_id", "creator_id", "currency", "requested", "gross", "fee", "net", "detail", "accrue_tx_id", "state", "accrued_at", "release_at"}
	snapshotCols = []string{"taken_at", "post_id", "views", "likes", "comments", "shares", "saves", "billable"}
)

// CompleteEnded completes every open or paused campaign whose end date has
// passed (state_reason end_date_reached) and returns their ids. An open one
// is first read one last time — every live post, due or not — and the
// growth up to that read is billed (at most the escrow left): engagement
// that came after a post's last poll and before the end is not lost, and
// neither is what came between the end and this read, which the creators
// cannot tell apart. Posts the platform cannot read then (rate limit,
// outage) are not billed for it.
func (s *Service) CompleteEnded(ctx context.Context) ([]string, error) {
	camps, err := s.campaigns.InState(ctx, campaign.StateOpen, campaign.StatePaused)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var done []string
	for _, c := range camps {
		if c.Setup == nil || now.Before(c.Setup.EndsAt) {
			continue
		}
		if c.State == campaign.StateOpen {
			r, err := s.pollCampaign(ctx, c.ID, true)
			if err != nil {
				return done, fmt.Errorf("engage: final read of %s: %w", c.ID, err)
			}
			if r.Deferred > 0 {
				s.log.Warn("final read before completion: some posts could not be read and are not billed for it",
					"campaign", c.ID, "unread", r.Deferred)
			}
		}
		err := s.db.WithTx(ctx, func(tx *store.Tx) error {
			locked, err := s.campaigns.LockTx(ctx, tx, identity.Principal{Role: identity.RoleAdmin}, c.ID)
			if err != nil {
				return err
			}
			if locked.State != campaign.StateOpen && locked.State != campaign.StatePaused {
				return errAlreadyDone
			}
			return s.campaigns.SetStateTx(ctx, tx, &locked, campaign.StateCompleted, campaign.CompletedEndDate)
		})
		if errors.Is(err, errAlreadyDone) {
			continue
		}
		if err != nil {
			return done, err
		}
		done = append(done, c.ID)
	}
	return done, nil
}

var errAlreadyDone = errs.Conflictf("already_done", "another server did it first")

// errMarksMoved: another server polled some of the chunk's posts since their
// marks were read; bill again with the marks locked and re-read.
var errMarksMoved = errors.New("engage: marks moved since they were read")

// nextPolls returns, per platform of posts, when its posts are read next:
// after the poll interval, or later when the platform's daily quota cannot
// read all its live posts that often (a platform.Pacer: YouTube).
func (s *Service) nextPolls(ctx context.Context, q store.Queryer, posts []due, nowUS int64) (map[platform.Name]int64, error) {
	out := map[platform.Name]int64{}
	for _, p := range posts {
		if _, ok := out[p.plat]; ok {
			continue
		}
		interval := s.cfg.PollInterval
		if c, err := s.platforms.Get(p.plat); err == nil {
			if pacer, ok := c.(platform.Pacer); ok {
				perAccount, err := store.QueryAll(ctx, q, func(r store.Scanner) (int, error) {
					var n int
					return n, r.Scan(&n)
				}, `SELECT COUNT(*) FROM posts WHERE platform = $1 AND state = $2 GROUP BY account_ref`, string(p.plat), PostLive)
				if err != nil {
					return nil, fmt.Errorf("engage: live %s posts: %w", p.plat, err)
				}
				interval = max(interval, pacer.MinPollInterval(perAccount))
			}
		}
		out[p.plat] = nowUS + interval.Microseconds()
	}
	return out, nil
}
