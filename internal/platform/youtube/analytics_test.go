package youtube_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/platform"

	"github.com/payper/payper/internal/platform/youtube"
)

// TestFakeAnalyticsRefusesWhatGoogleRefuses checks the Fake's Analytics
// endpoint against the published rules of the two reports the connector
// uses (see the comment on the Fake's reports handler): the Top videos
// report needs a descending sort on one of its sort metrics, maxResults ≤
// 200 and no video filter; a report without dimensions may filter videos.
// Google answers anything else 400 badRequest "The query is not supported".
func TestFakeAnalyticsRefusesWhatGoogleRefuses(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(1), Views: 10, Shares: 5})
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(2), Views: 30, Shares: 1})
	tok := e.connect(t, maria)
	base := url.Values{"ids": {"channel==MINE"}, "startDate": {"2026-03-01"}, "endDate": {"2026-03-02"}}
	with := func(kv ...string) url.Values {
		q := url.Values{}
		for k, v := range base {
			q[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		return q
	}
	for _, tc := range []struct {
		name  string
		query url.Values
		ok    bool
	}{
		// The query the connector used to send: a video dimension with a video filter, no sort, no maxResults.
		{"old client query", with("metrics", "shares", "dimensions", "video", "filters", "video=="+vid(1)+","+vid(2)), false},
		{"top videos without sort", with("metrics", "views,shares", "dimensions", "video", "maxResults", "10"), false},
		{"top videos without maxResults", with("metrics", "views,shares", "dimensions", "video", "sort", "-views"), false},
		{"top videos, 201 results", with("metrics", "views,shares", "dimensions", "video", "sort", "-views", "maxResults", "201"), false},
		{"top videos past the 200th", with("metrics", "views,shares", "dimensions", "video", "sort", "-views", "maxResults", "200", "startIndex", "2"), false},
		{"top videos ascending", with("metrics", "views,shares", "dimensions", "video", "sort", "views", "maxResults", "10"), false},
		{"top videos sorted by shares", with("metrics", "views,shares", "dimensions", "video", "sort", "-shares", "maxResults", "10"), false},
		{"top videos sorted by a metric not asked", with("metrics", "shares", "dimensions", "video", "sort", "-views", "maxResults", "10"), false},
		{"top videos with a video filter", with("metrics", "views,shares", "dimensions", "video", "sort", "-views", "maxResults", "10", "filters", "video=="+vid(1)), false},
		{"an unknown dimension pair", with("metrics", "shares", "dimensions", "video,day", "filters", "video=="+vid(1)), false},
		{"top videos", with("metrics", "views,shares", "dimensions", "video", "sort", "-views", "maxResults", "200"), true},
		{"one video's totals", with("metrics", "shares", "filters", "video=="+vid(1)), true},
		{"channel totals", with("metrics", "views,shares"), true},
	} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+youtube.FakeAnalyticsPath+"/reports?"+tc.query.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Errors  []struct {
					Reason string `json:"reason"`
				} `json:"errors"`
			} `json:"error"`
			Rows [][]json.RawMessage `json:"rows"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.ok {
			if resp.StatusCode != http.StatusOK || len(body.Rows) == 0 {
				t.Errorf("%s: %d %+v, want 200 with rows", tc.name, resp.StatusCode, body)
			}
			continue
		}
		if resp.StatusCode != http.StatusBadRequest || body.Error.Code != 400 || len(body.Error.Errors) != 1 ||
			body.Error.Errors[0].Reason != "badRequest" || !strings.HasPrefix(body.Error.Message, "The query is not supported.") {
			t.Errorf("%s: %d %+v, want 400 badRequest \"The query is not supported\"", tc.name, resp.StatusCode, body)
		}
	}
}

// TestSharesBeyondTheTop200 reads the shares of a channel with 260 viewed
// videos: the ones among its 200 most viewed come from one Top videos
// report, each other one from its own filtered report, and every share
// count is the video's own.
func TestSharesBeyondTheTop200(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 260 {
		// vid(0) is the most viewed; vid(200) and beyond are outside the top 200.
		e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(i), PublishedAt: t0.Add(-time.Duration(i+1) * time.Hour),
			Views: int64(100_000 - i), Shares: int64(i*7 + 1)})
	}
	tok := e.connect(t, maria)
	ids := []string{vid(0), vid(150), vid(199), vid(200), vid(259)}
	before := len(e.fake.Requests())
	analyticsBefore := e.client.AnalyticsCalls()

	got, err := e.client.Counts(e.ctx, tok, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		var i int
		fmt.Sscanf(id, "vid%08d", &i)
		if c := got[id]; c.Shares != platform.Known(int64(i*7+1)) || c.Views != platform.Known(int64(100_000-i)) {
			t.Errorf("%s: %+v, want %d shares", id, c, i*7+1)
		}
	}
	_, reqs := e.calls(before, youtube.FakeAnalyticsPath+"/reports")
	if len(reqs) != 3 || e.client.AnalyticsCalls()-analyticsBefore != 3 {
		t.Fatalf("%d analytics requests (counted %d), want 1 top videos + 2 single videos", len(reqs), e.client.AnalyticsCalls()-analyticsBefore)
	}
	top := reqs[0].Query
	if top.Get("dimensions") != "video" || top.Get("sort") != "-views" || top.Get("maxResults") != "200" || top.Has("filters") ||
		top.Get("startDate") != "2026-02-19" || top.Get("endDate") != "2026-03-02" { // vid(259) went up 260 h before t0
		t.Fatalf("top videos query %v", top)
	}
	for i, id := range []string{vid(200), vid(259)} {
		q := reqs[1+i].Query
		if q.Has("dimensions") || q.Get("filters") != "video=="+id || q.Get("metrics") != "shares" {
			t.Fatalf("single video query %v", q)
		}
	}
}

// TestSharesOneVideoOneReport: a single video of the channel costs one
// report without dimensions, filtered to it, and a video the report has
// no row for (published after endDate in the Fake: no data yet) stays
// Unknown.
func TestSharesOneVideoOneReport(t *testing.T) {
	t.Parallel()
	e := setup(t)
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(1), Views: 10, Shares: 4})
	e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(2), Views: 10, Shares: 4, PublishedAt: t0.Add(72 * time.Hour)})
	tok := e.connect(t, maria)
	before := len(e.fake.Requests())
	got, err := e.client.Counts(e.ctx, tok, []string{vid(1)})
	if err != nil || got[vid(1)].Shares != platform.Known(4) {
		t.Fatalf("one video: %+v, %v", got, err)
	}
	_, reqs := e.calls(before, youtube.FakeAnalyticsPath+"/reports")
	if len(reqs) != 1 || reqs[0].Query.Has("dimensions") || reqs[0].Query.Get("filters") != "video=="+vid(1) {
		t.Fatalf("analytics requests %+v", reqs)
	}
	got, err = e.client.Counts(e.ctx, tok, []string{vid(2)})
	if err != nil || got[vid(2)].Shares.Known || got[vid(2)].Views != platform.Known(10) {
		t.Fatalf("a video without data yet: %+v, %v", got, err)
	}
}

// TestSharesProperty: for any channel (1–260 videos with random views and
// shares, some tied) and any set of ids asked (its videos, another
// channel's, unknown ones), Counts answers without error, every video of the
// channel asked has exactly its shares, no other video has shares, and the
// Analytics requests are at most one per batch of 50 plus one per video
// outside the channel's 200 most viewed.
func TestSharesProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		e := setup(t)
		n := rapid.IntRange(1, 260).Draw(rt, "videos")
		views := make([]int64, n)
		shares := make([]int64, n)
		for i := range n {
			views[i] = rapid.Int64Range(0, 50).Draw(rt, "views")
			shares[i] = rapid.Int64Range(0, 1_000_000).Draw(rt, "shares")
			e.fake.AddVideo(maria, youtube.FakeVideo{ID: vid(i), PublishedAt: t0.Add(-time.Duration(rapid.IntRange(0, 24*90).Draw(rt, "age")) * time.Hour),
				Views: views[i], Shares: shares[i]})
		}
		e.fake.AddVideo(other, youtube.FakeVideo{ID: "otherVid_01", Views: 1_000, Shares: 77})
		asked := rapid.SliceOfNDistinct(rapid.IntRange(0, n+1), 1, 120, rapid.ID[int]).Draw(rt, "asked")
		var ids []string
		for _, i := range asked {
			switch {
			case i < n:
				ids = append(ids, vid(i))
			case i == n:
				ids = append(ids, "otherVid_01")
			default:
				ids = append(ids, "nosuchvideo")
			}
		}
		tok := e.connect(t, maria)
		before := e.client.AnalyticsCalls()
		got, err := e.client.Counts(e.ctx, tok, ids)
		if err != nil {
			rt.Fatalf("counts: %v", err)
		}
		// The rank of each video in the Fake's top videos (views descending, then id).
		outside := 0
		for _, i := range asked {
			if i >= n {
				continue
			}
			rank := 0
			for j := range n {
				if views[j] > views[i] || views[j] == views[i] && j < i {
					rank++
				}
			}
			if rank >= youtube.TopVideosMax {
				outside++
			}
			if c := got[vid(i)]; c.Shares != platform.Known(shares[i]) {
				rt.Fatalf("%s: shares %v, want %d", vid(i), c.Shares, shares[i])
			}
		}
		if c, ok := got["otherVid_01"]; ok && c.Shares.Known {
			rt.Fatalf("another channel's video has shares: %+v", c)
		}
		batches := (len(ids) + youtube.MaxIDsPerCall - 1) / youtube.MaxIDsPerCall
		if calls := e.client.AnalyticsCalls() - before; calls > int64(batches+outside) {
			rt.Fatalf("%d analytics requests for %d batches and %d videos outside the top %d", calls, batches, outside, youtube.TopVideosMax)
		}
	})
}
