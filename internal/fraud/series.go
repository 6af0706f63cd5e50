package fraud

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
)

// MarshalText writes the series compactly — space-separated integers:
// first, last, the 5 counts, a bit mask of the known ones, the 5 peaks,
// then per interval its length, the post's age at its start, the 5
// growths and their known mask. A poll rewrites one per post read, so it
// is kept small and quick to read (JSON was a third of a tick).
func (s *Series) MarshalText() ([]byte, error) {
	b := make([]byte, 0, 64+len(s.Intervals)*40)
	b = strconv.AppendInt(b, s.First, 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, s.Last, 10)
	for _, c := range s.Counts {
		b = append(b, ' ')
		b = strconv.AppendInt(b, c, 10)
	}
	b = append(b, ' ')
	b = strconv.AppendInt(b, mask(s.Known), 10)
	for _, p := range s.Peak {
		b = append(b, ' ')
		b = strconv.AppendInt(b, p, 10)
	}
	for _, iv := range s.Intervals {
		b = append(b, ' ')
		b = strconv.AppendInt(b, iv.Dt, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, iv.Age, 10)
		for _, g := range iv.Growth {
			b = append(b, ' ')
			b = strconv.AppendInt(b, g, 10)
		}
		b = append(b, ' ')
		b = strconv.AppendInt(b, mask(iv.Known), 10)
	}
	return b, nil
}

// UnmarshalText reads what MarshalText wrote.
func (s *Series) UnmarshalText(text []byte) error {
	vals := make([]int64, 0, 16+len(text)/4)
	for i := 0; i < len(text); {
		j, neg := i, false
		if text[j] == '-' {
			neg, j = true, j+1
		}
		var v int64
		start := j
		for ; j < len(text) && text[j] != ' '; j++ {
			c := text[j]
			if c < '0' || c > '9' || j-start >= 18 {
				return fmt.Errorf("fraud: series: bad number at byte %d", j)
			}
			v = v*10 + int64(c-'0')
		}
		if j == start {
			return fmt.Errorf("fraud: series: empty field at byte %d", j)
		}
		if neg {
			v = -v
		}
		vals = append(vals, v)
		i = j + 1
	}
	const head, per = 13, 8
	if len(vals) < head || (len(vals)-head)%per != 0 {
		return errors.New("fraud: series: wrong number of fields")
	}
	s.First, s.Last = vals[0], vals[1]
	copy(s.Counts[:], vals[2:7])
	s.Known = unmask(vals[7])
	copy(s.Peak[:], vals[8:13])
	s.Intervals = make([]Interval, 0, (len(vals)-head)/per)
	for i := head; i < len(vals); i += per {
		iv := Interval{Dt: vals[i], Age: vals[i+1], Known: unmask(vals[i+7])}
		copy(iv.Growth[:], vals[i+2:i+7])
		s.Intervals = append(s.Intervals, iv)
	}
	return nil
}

func mask(k [5]bool) int64 {
	var m int64
	for i, v := range k {
		if v {
			m |= 1 << i
		}
	}
	return m
}

func unmask(m int64) (k [5]bool) {
	for i := range k {
		k[i] = m&(1<<i) != 0
	}
	return k
}

func scanSeries(r store.Scanner) (*Series, error) {
	s := &Series{stored: true}
	var data string
	if err := r.Scan(&s.PostID, &s.CreatorID, &data); err != nil {
		return nil, err
	}
	if err := s.UnmarshalText([]byte(data)); err != nil {
		return nil, fmt.Errorf("fraud: series of %s: %w", s.PostID, err)
	}
	return s, nil
}

// LoadSeries returns the series of every post of creators in campaign
// campaignID, by post id.
func LoadSeries(ctx context.Context, q store.Queryer, d store.Dialect, campaignID string, creators []string) (map[string]*Series, error) {
	out := map[string]*Series{}
	if len(creators) == 0 {
		return out, nil
	}
	cond, arg := store.InText(d, "creator_id", 2, creators)
	rows, err := store.QueryAll(ctx, q, scanSeries, `SELECT post_id, creator_id, data FROM fraud_post_series WHERE campaign_id = $1 AND `+cond, campaignID, arg)
	if err != nil {
		return nil, fmt.Errorf("fraud: load series: %w", err)
	}
	for _, s := range rows {
		out[s.PostID] = s
	}
	return out, nil
}

// LoadSeriesOf returns the stored series of posts, by post id.
func LoadSeriesOf(ctx context.Context, q store.Queryer, d store.Dialect, posts []string) (map[string]*Series, error) {
	out := make(map[string]*Series, len(posts))
	if len(posts) == 0 {
		return out, nil
	}
	cond, arg := store.InText(d, "post_id", 1, posts)
	rows, err := store.QueryAll(ctx, q, scanSeries, `SELECT post_id, creator_id, data FROM fraud_post_series WHERE `+cond, arg)
	if err != nil {
		return nil, fmt.Errorf("fraud: load series: %w", err)
	}
	for _, s := range rows {
		out[s.PostID] = s
	}
	return out, nil
}

// Clone returns a copy of s that shares nothing with it.
func (s *Series) Clone() *Series {
	c := *s
	c.Intervals = slices.Clone(s.Intervals)
	return &c
}

// SaveSeries writes ss, the series of posts of campaign campaignID: those
// LoadSeries read are rewritten, new ones inserted.
func SaveSeries(ctx context.Context, tx *store.Tx, campaignID string, ss []*Series, now int64) error {
	var upd, ins [][]any
	for _, s := range ss {
		b, err := s.MarshalText()
		if err != nil {
			return err
		}
		if s.stored {
			upd = append(upd, []any{s.PostID, string(b), now})
		} else {
			ins = append(ins, []any{s.PostID, campaignID, s.CreatorID, string(b), now})
		}
	}
	if n, err := tx.BulkUpdate(ctx, "fraud_post_series", "post_id", []string{"data", "updated_at"}, upd); err != nil {
		return fmt.Errorf("fraud: save series: %w", err)
	} else if n != int64(len(upd)) {
		return fmt.Errorf("fraud: save series: %d of %d rows updated", n, len(upd))
	}
	if err := tx.BulkInsert(ctx, "fraud_post_series", []string{"post_id", "campaign_id", "creator_id", "data", "updated_at"}, ins); err != nil {
		return fmt.Errorf("fraud: save series: %w", err)
	}
	for _, s := range ss {
		s.stored = true
	}
	return nil
}

// DetectEngagement runs the engagement detectors over one poll's readings
// of a campaign's posts: series holds the stored series of every post of
// the readings' creators in the campaign (LoadSeries) and is updated in
// place. It returns the flags to raise (subject post, holding the
// creator's earnings in the campaign from when the anomaly began) and the
// series to save. Each creator's history and ratio baseline are summed up
// once, from the series as they were before this poll.
func DetectEngagement(campaignID string, sens Sensitivity, series map[string]*Series, readings []Reading) ([]Flag, []*Series) {
	th := ThresholdsFor(sens)
	byCreator := map[string][]*Series{}
	for _, s := range series {
		byCreator[s.CreatorID] = append(byCreator[s.CreatorID], s)
	}
	// The age bands each creator's readings will be judged at: the band of
	// the interval each post's reading closes.
	bands := map[string][]int{}
	for _, r := range readings {
		b := bands[r.CreatorID]
		if s := series[r.PostID]; s != nil && s.Last != 0 && r.At > s.Last {
			if a := ageBucket(s.Last - s.First); !slices.Contains(b, a) {
				b = append(b, a)
			}
		}
		bands[r.CreatorID] = b
	}
	history := map[string]*History{}
	ratios := map[string]*ratioBaseline{}
	for c, b := range bands {
		if len(b) > 0 {
			history[c] = CreatorHistory(byCreator[c], b...)
		}
		ratios[c] = newRatioBaseline(byCreator[c], th)
	}
	var flags []Flag
	touched := make([]*Series, 0, len(readings))
	for _, r := range readings {
		s := series[r.PostID]
		var prev *Series
		if s == nil {
			s = &Series{PostID: r.PostID, CreatorID: r.CreatorID}
			series[r.PostID] = s
			byCreator[r.CreatorID] = append(byCreator[r.CreatorID], s)
		} else {
			cp := *s
			prev = &cp
		}
		found := CounterIntegrity(prev, r, th)
		_, ok := s.observe(r)
		touched = append(touched, s)
		if ok {
			if f, hit := Burst(s, history[r.CreatorID], th); hit {
				found = append(found, f)
			}
		}
		var med [4]float64
		var cnt [4]int
		for i := range ratioPairs {
			med[i], cnt[i] = ratios[r.CreatorID].medianWithout(s, i)
		}
		found = append(found, ratioOff(s, med, cnt, th)...)
		for _, f := range found {
			flags = append(flags, f.Flag(campaignID, r.CreatorID, SubjectPost, r.PostID))
		}
	}
	sort.SliceStable(flags, func(i, j int) bool { return flags[i].Key() < flags[j].Key() })
	return flags, touched
}

// Flag makes the finding a flag on subject (kind, id) of a creator in a
// campaign, holding the creator's earnings in it from f.HoldsFrom.
func (f Finding) Flag(campaignID, creatorID, kind, subjectID string) Flag {
	return Flag{Detector: f.Detector, Subject: kind, SubjectID: subjectID, CampaignID: campaignID, CreatorID: creatorID,
		Score: f.Score, Severity: f.Severity, Reason: f.Reason, Category: f.Category, Evidence: f.Evidence,
		Window: f.Window, Holds: true, HoldsFrom: clock.Micros(f.HoldsFrom)}
}
