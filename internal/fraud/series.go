package fraud

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/payper/payper/internal/clock"
	"github.com/payper/payper/internal/store"
)

// LoadSeries returns the series of every post of creators in campaign
// campaignID, by post id.
func LoadSeries(ctx context.Context, q store.Queryer, d store.Dialect, campaignID string, creators []string) (map[string]*Series, error) {
	out := map[string]*Series{}
	if len(creators) == 0 {
		return out, nil
	}
	cond, arg := store.InText(d, "creator_id", 2, creators)
	rows, err := store.QueryAll(ctx, q, func(r store.Scanner) (*Series, error) {
		s := &Series{}
		var data string
		if err := r.Scan(&s.PostID, &s.CreatorID, &data); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(data), s); err != nil {
			return nil, fmt.Errorf("fraud: series of %s unreadable: %w", s.PostID, err)
		}
		return s, nil
	}, `SELECT post_id, creator_id, data FROM fraud_post_series WHERE campaign_id = $1 AND `+cond, campaignID, arg)
	if err != nil {
		return nil, fmt.Errorf("fraud: load series: %w", err)
	}
	for _, s := range rows {
		out[s.PostID] = s
	}
	return out, nil
}

// SaveSeries writes ss, the series of posts of campaign campaignID, over
// what was stored.
func SaveSeries(ctx context.Context, tx *store.Tx, campaignID string, ss []*Series, now int64) error {
	if len(ss) == 0 {
		return nil
	}
	ids := make([]string, len(ss))
	rows := make([][]any, len(ss))
	for i, s := range ss {
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("fraud: series of %s: %w", s.PostID, err)
		}
		ids[i] = s.PostID
		rows[i] = []any{s.PostID, campaignID, s.CreatorID, string(b), now}
	}
	cond, arg := store.InText(tx.Dialect(), "post_id", 1, ids)
	if _, err := tx.ExecContext(ctx, `DELETE FROM fraud_post_series WHERE `+cond, arg); err != nil {
		return fmt.Errorf("fraud: save series: %w", err)
	}
	return tx.BulkInsert(ctx, "fraud_post_series", []string{"post_id", "campaign_id", "creator_id", "data", "updated_at"}, rows)
}

// DetectEngagement runs the engagement detectors over one poll's readings
// of a campaign's posts: series holds the stored series of every post of
// the readings' creators in the campaign (LoadSeries) and is updated in
// place. It returns the flags to raise (subject post, holding the
// creator's earnings in the campaign from when the anomaly began) and the
// series to save.
func DetectEngagement(campaignID string, sens Sensitivity, series map[string]*Series, readings []Reading) ([]Flag, []*Series) {
	th := ThresholdsFor(sens)
	byCreator := map[string][]*Series{}
	for _, s := range series {
		byCreator[s.CreatorID] = append(byCreator[s.CreatorID], s)
	}
	var flags []Flag
	var touched []*Series
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
		iv, ok := s.observe(r)
		touched = append(touched, s)
		var others []*Series
		for _, o := range byCreator[r.CreatorID] {
			if o != s {
				others = append(others, o)
			}
		}
		if ok {
			if f, hit := Burst(s, CreatorRates(others, iv), th); hit {
				found = append(found, f)
			}
		}
		found = append(found, RatioOffBaseline(s, others, th)...)
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
		Window: f.Window, Holds: true, HoldsFrom: clockMicros(f.HoldsFrom)}
}

func clockMicros(us int64) clock.Micros { return clock.Micros(us) }
