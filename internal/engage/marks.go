package engage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/payper/payper/internal/errs"
	"github.com/payper/payper/internal/platform"
	"github.com/payper/payper/internal/store"
)

// The billing state of a creator's posts in a campaign — what a poll reads
// each post by, its liveness, high-water marks, billed total and schedule —
// is one row of creator_marks: a poll reads, bills and rewrites a creator's
// posts together (one balancing accrual per creator per tick), so it
// rewrites one row per creator, not one per post. The row's marks column
// holds a line per post (see appendMarks); version is bumped by every write,
// so a poll's rewrite can tell whether another server wrote the row since it
// was read (compare-and-set); next_poll_at is the earliest next poll of the
// row's live posts, so the due query skips creators with nothing due.

// postMark is one post's line in its creator's marks row.
type postMark struct {
	id, ref, mediaID string
	plat             platform.Name
	live             bool
	marks
	nextPoll int64
}

// dueBy reports whether the post is live and its next poll has come by now.
func (p *postMark) dueBy(now int64) bool { return p.live && p.nextPoll <= now }

// creatorMarks is one creator_marks row, decoded.
type creatorMarks struct {
	seq     int64
	creator string
	version int64
	posts   []postMark
}

// neverPoll is next_poll_at of a row without live posts.
const neverPoll = math.MaxInt64

// marksFields is the number of tab-separated fields of a post's line.
const marksFields = 14

// appendMarks appends the lines of posts to b, one per post ending in '\n',
// fields separated by '\t': post id, account ref, platform, media id, live
// (1 or 0), the high-water marks of views, likes, comments, shares and saves,
// the billed total, last_polled_at, next_poll_at and failures. Text fields
// have '%', '\t' and '\n' percent-escaped (payper's own ids never hold them;
// a platform's media id might).
func appendMarks(b []byte, posts []postMark) []byte {
	for i := range posts {
		p := &posts[i]
		b = appendField(b, p.id)
		b = append(b, '\t')
		b = appendField(b, p.ref)
		b = append(b, '\t')
		b = appendField(b, string(p.plat))
		b = append(b, '\t')
		b = appendField(b, p.mediaID)
		if p.live {
			b = append(b, "\t1"...)
		} else {
			b = append(b, "\t0"...)
		}
		for _, v := range p.hwm {
			b = append(b, '\t')
			b = strconv.AppendInt(b, v, 10)
		}
		for _, v := range [...]int64{p.billed, p.lastPolled, p.nextPoll, int64(p.failures)} {
			b = append(b, '\t')
			b = strconv.AppendInt(b, v, 10)
		}
		b = append(b, '\n')
	}
	return b
}

func appendField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, "%\t\n") {
		return append(b, s...)
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '%':
			b = append(b, "%25"...)
		case '\t':
			b = append(b, "%09"...)
		case '\n':
			b = append(b, "%0A"...)
		default:
			b = append(b, s[i])
		}
	}
	return b
}

func unescapeField(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "%25"):
			b.WriteByte('%')
		case strings.HasPrefix(s[i:], "%09"):
			b.WriteByte('\t')
		case strings.HasPrefix(s[i:], "%0A"):
			b.WriteByte('\n')
		default:
			return "", fmt.Errorf("bad escape at %q", s[i:min(len(s), i+3)])
		}
		i += 2
	}
	return b.String(), nil
}

// decodeMarks reads the lines appendMarks wrote. The posts' text fields
// share s's memory.
func decodeMarks(s string) ([]postMark, error) {
	out := make([]postMark, 0, strings.Count(s, "\n"))
	var f [marksFields]string
	for line := 1; s != ""; line++ {
		end := strings.IndexByte(s, '\n')
		if end < 0 {
			return nil, fmt.Errorf("engage: marks line %d: no line end", line)
		}
		rest := s[:end]
		s = s[end+1:]
		for i := range f {
			tab := strings.IndexByte(rest, '\t')
			if (tab < 0) != (i == len(f)-1) {
				return nil, fmt.Errorf("engage: marks line %d: want %d fields", line, marksFields)
			}
			if tab < 0 {
				f[i] = rest
				break
			}
			f[i], rest = rest[:tab], rest[tab+1:]
		}
		var p postMark
		var err error
		for i, dst := range []*string{&p.id, &p.ref, (*string)(&p.plat), &p.mediaID} {
			if *dst, err = unescapeField(f[i]); err != nil {
				return nil, fmt.Errorf("engage: marks line %d: field %d: %w", line, i+1, err)
			}
		}
		switch f[4] {
		case "1":
			p.live = true
		case "0":
		default:
			return nil, fmt.Errorf("engage: marks line %d: live is %q", line, f[4])
		}
		var nums [9]int64
		for i := range nums {
			if nums[i], err = strconv.ParseInt(f[5+i], 10, 64); err != nil {
				return nil, fmt.Errorf("engage: marks line %d: field %d: %w", line, 6+i, err)
			}
		}
		copy(p.hwm[:], nums[:5])
		p.billed, p.lastPolled, p.nextPoll = nums[5], nums[6], nums[7]
		if nums[8] < 0 || nums[8] > math.MaxInt32 {
			return nil, fmt.Errorf("engage: marks line %d: failures %d out of range", line, nums[8])
		}
		p.failures = int(nums[8])
		out = append(out, p)
	}
	return out, nil
}

// nextPollOf is a row's next_poll_at: the earliest next poll of its live
// posts, neverPoll without one.
func nextPollOf(posts []postMark) int64 {
	next := int64(neverPoll)
	for i := range posts {
		if posts[i].live {
			next = min(next, posts[i].nextPoll)
		}
	}
	return next
}

// editMarks changes the marks row of a creator in a campaign in tx: it
// creates the row when there is none, locks it and rewrites it with what
// edit returns (edit may change posts in place). A poll that read the row
// before sees it moved and bills from the new state.
func editMarks(ctx context.Context, tx *store.Tx, campaignID, creatorID string, edit func(posts []postMark) ([]postMark, error)) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO creator_marks (campaign_id, creator_id, next_poll_at, marks) VALUES ($1, $2, $3, '')
		ON CONFLICT (campaign_id, creator_id) DO NOTHING`, campaignID, creatorID, int64(neverPoll)); err != nil {
		return fmt.Errorf("engage: create marks of %s: %w", creatorID, err)
	}
	var seq int64
	var text string
	if err := tx.QueryRowContext(ctx, `SELECT seq, marks FROM creator_marks WHERE campaign_id = $1 AND creator_id = $2`+tx.ForUpdate(),
		campaignID, creatorID).Scan(&seq, &text); err != nil {
		return fmt.Errorf("engage: lock marks of %s: %w", creatorID, err)
	}
	posts, err := decodeMarks(text)
	if err != nil {
		return fmt.Errorf("engage: marks of %s in %s: %w", creatorID, campaignID, err)
	}
	if posts, err = edit(posts); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE creator_marks SET marks = $1, next_poll_at = $2, version = version + 1 WHERE seq = $3`,
		string(appendMarks(nil, posts)), nextPollOf(posts), seq); err != nil {
		return fmt.Errorf("engage: write marks of %s: %w", creatorID, err)
	}
	return nil
}

// marksOf returns the marks of a campaign's posts by post id: all of them,
// or one creator's.
func marksOf(ctx context.Context, q store.Queryer, campaignID, creatorID string) (map[string]postMark, error) {
	rows, err := q.QueryContext(ctx, `SELECT marks FROM creator_marks WHERE campaign_id = $1 AND ($2 = '' OR creator_id = $2)`, campaignID, creatorID)
	if err != nil {
		return nil, fmt.Errorf("engage: read marks: %w", err)
	}
	defer rows.Close()
	out := map[string]postMark{}
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return nil, fmt.Errorf("engage: read marks: %w", err)
		}
		posts, err := decodeMarks(text)
		if err != nil {
			return nil, fmt.Errorf("engage: marks in %s: %w", campaignID, err)
		}
		for _, p := range posts {
			out[p.id] = p
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("engage: read marks: %w", err)
	}
	return out, nil
}

// postMarkOf returns one post's marks.
func postMarkOf(ctx context.Context, q store.Queryer, campaignID, creatorID, postID string) (postMark, error) {
	var text string
	err := q.QueryRowContext(ctx, `SELECT marks FROM creator_marks WHERE campaign_id = $1 AND creator_id = $2`, campaignID, creatorID).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return postMark{}, fmt.Errorf("engage: post %s has no marks row: %w", postID, err)
	}
	if err != nil {
		return postMark{}, fmt.Errorf("engage: read marks of post %s: %w", postID, err)
	}
	posts, err := decodeMarks(text)
	if err != nil {
		return postMark{}, fmt.Errorf("engage: marks of post %s: %w", postID, err)
	}
	for _, p := range posts {
		if p.id == postID {
			return p, nil
		}
	}
	return postMark{}, fmt.Errorf("engage: post %s missing from its marks row", postID)
}

// ImportedMarks are a post's marks as an import leaves them.
type ImportedMarks struct {
	PostID string
	// Billed are the counts the post was billed up to (its high-water
	// marks), in platform.Metrics order.
	Billed [5]int64
	// Requested is the gross amount billing asked for the post (µ).
	Requested int64
	// LastPolled is when the post was last read (µs).
	LastPolled int64
}

// RestoreMarks sets the marks of a creator's posts in a campaign, for
// benchmarks and imports that bring the posts' history along (as
// RecordVerified brings the posts): later polls bill only growth above
// them. Every post must be the creator's in the campaign; on error nothing
// is changed.
func (s *Service) RestoreMarks(ctx context.Context, campaignID, creatorID string, marks []ImportedMarks) error {
	now := s.clock.Now().UnixMicro()
	return s.db.WithTx(ctx, func(tx *store.Tx) error {
		return editMarks(ctx, tx, campaignID, creatorID, func(posts []postMark) ([]postMark, error) {
			at := make(map[string]int, len(posts))
			for i := range posts {
				at[posts[i].id] = i
			}
			for _, m := range marks {
				i, ok := at[m.PostID]
				if !ok {
					return nil, errs.NotFoundf("post %s of creator %s not found in campaign %s", m.PostID, creatorID, campaignID)
				}
				for _, v := range m.Billed {
					if v < 0 {
						return nil, errs.Invalidf("billed", "negative", "post %s: billed counts must not be negative", m.PostID)
					}
				}
				if m.Requested < 0 {
					return nil, errs.Invalidf("requested", "negative", "post %s: the requested amount must not be negative", m.PostID)
				}
				// A post read "in the future" would not be polled until then.
				if m.LastPolled < 0 || m.LastPolled > now {
					return nil, errs.Invalidf("last_polled", "out_of_range", "post %s: last read at %d µs, not between 0 and now (%d)", m.PostID, m.LastPolled, now)
				}
				posts[i].hwm, posts[i].billed, posts[i].lastPolled = m.Billed, m.Requested, m.LastPolled
			}
			return posts, nil
		})
	})
}

// BilledCounts returns, summed over a campaign's posts, the counts each was
// billed up to (its high-water marks), in platform.Metrics order.
func BilledCounts(ctx context.Context, q store.Queryer, campaignID string) ([5]int64, error) {
	var sum [5]int64
	marks, err := marksOf(ctx, q, campaignID, "")
	if err != nil {
		return sum, err
	}
	for _, m := range marks {
		for i, v := range m.hwm {
			sum[i] += v
		}
	}
	return sum, nil
}
