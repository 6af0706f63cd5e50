package youtube

import (
	"math"
	"sync"
	"time"

	"github.com/payper/payper/internal/platform"
)

// DailyQuota is the Data API's default daily quota per Google Cloud project,
// in units; it resets at midnight Pacific time.
const DailyQuota = 10_000

// PollIntervalFor returns the shortest interval at which the videos of
// connected accounts — postsPerAccount holds how many each has — can be
// polled without spending more than quota Data API units a day.
//
// Each account's videos are read with its own token, so one poll of an
// account with n videos costs ceil(n/50) units: one videos.list call (1
// unit) per MaxIDsPerCall ids; the shares read alongside go to the
// Analytics API, whose quota is separate (and not paced here: one Top
// videos report per MaxIDsPerCall videos, plus one request per video outside
// the channel's TopVideosMax most viewed; see Client.shares). 200 accounts of one video each
// cost 200 units a poll, not 4. A day then allows quota/cost polls, one
// every 24 h·cost/quota, rounded up to the second. For example one account
// with 120 videos costs 3 units a poll; with the default 10,000 units that
// is one poll every 26 s (25.92 s). Pass as quota what remains after the
// units kept for other calls (connects, Profile, RecentMedia, FindMedia:
// about 1 to 3 units each).
//
// It returns 0 when there is nothing to poll and 24 h when quota ≤ 0.
func PollIntervalFor(postsPerAccount []int, quota int64) time.Duration {
	var cost int64
	for _, n := range postsPerAccount {
		if n > 0 {
			cost += int64((n + MaxIDsPerCall - 1) / MaxIDsPerCall)
		}
	}
	if cost == 0 {
		return 0
	}
	if quota <= 0 {
		return 24 * time.Hour
	}
	const day = int64(24 * time.Hour / time.Second)
	if cost > math.MaxInt64/day {
		return time.Duration(math.MaxInt64)
	}
	secs := (day*cost + quota - 1) / quota
	if secs > int64(math.MaxInt64/int64(time.Second)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(secs) * time.Second
}

// pacific returns America/Los_Angeles, or a fixed UTC−8 when the time zone
// database is missing (then off by an hour during daylight saving time).
var pacific = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return loc
	}
	return time.FixedZone("PST", -8*60*60)
})

// untilPacificMidnight returns how long from now to the next midnight in
// Pacific time, when the Data API quota resets.
func untilPacificMidnight(now time.Time) time.Duration {
	t := now.In(pacific())
	y, m, d := t.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, t.Location()).Sub(now)
}

// pacificDay names now's day in Pacific time, the quota's day.
func pacificDay(now time.Time) string { return now.In(pacific()).Format(time.DateOnly) }

// meter counts the quota spent on one Pacific day.
type meter struct {
	mu               sync.Mutex
	day              string
	units, analytics int64
}

func (m *meter) roll(now time.Time) {
	if d := pacificDay(now); d != m.day {
		m.day, m.units, m.analytics = d, 0, 0
	}
}

func (m *meter) add(now time.Time, units, analytics int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(now)
	m.units += units
	m.analytics += analytics
}

func (m *meter) read(now time.Time) (units, analytics int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.roll(now)
	return m.units, m.analytics
}

// quotaReserve is the part of the daily quota kept for connects, profiles
// and post submissions, not spent on polling.
const quotaReserve = 1_000

// MinPollInterval implements platform.Pacer: polling the accounts' live
// videos no more often than this spends at most the daily quota less
// quotaReserve.
func (c *Client) MinPollInterval(livePerAccount []int) time.Duration {
	return PollIntervalFor(livePerAccount, DailyQuota-quotaReserve)
}

var _ platform.Pacer = (*Client)(nil)
