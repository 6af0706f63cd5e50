package fraud

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const q15 = int64(15 * time.Minute / time.Microsecond)

// post is a hand-made post: its counts are cumulative, read every 15 minutes.
type post struct {
	id, creator string
	counts      [5]int64
	known       [5]bool
}

func newPost(id, creator string, views, likes, comments int64) *post {
	return &post{id: id, creator: creator, counts: [5]int64{views, likes, comments}, known: [5]bool{true, true, true, false, false}}
}

func (p *post) grow(views, likes, comments int64) {
	p.counts[0] += views
	p.counts[1] += likes
	p.counts[2] += comments
}

func (p *post) reading(at int64) Reading {
	return Reading{PostID: p.id, CreatorID: p.creator, At: at, Counts: p.counts, Known: p.known}
}

// world runs DetectEngagement poll after poll, as the billing hook does.
type world struct {
	series map[string]*Series
	at     int64
	flags  []Flag
	sens   Sensitivity
}

func newWorld() *world {
	return &world{series: map[string]*Series{}, at: 1_000_000_000_000, sens: Moderate}
}

// poll reads posts at the next 15-minute tick and returns the flags raised.
func (w *world) poll(posts ...*post) []Flag {
	w.at += q15
	rs := make([]Reading, len(posts))
	for i, p := range posts {
		rs[i] = p.reading(w.at)
	}
	f, _ := DetectEngagement("cmp_1", w.sens, w.series, rs)
	w.flags = append(w.flags, f...)
	return f
}

// noisy returns about n (±20 %), at least 0.
func noisy(r *rand.Rand, n float64) int64 {
	return int64(math.Max(0, math.Round(n*(0.8+0.4*r.Float64()))))
}

// steady grows p for n polls at about views/likes/comments per poll.
func (w *world) steady(r *rand.Rand, n int, views, likes, comments float64, p *post, also ...*post) {
	for range n {
		p.grow(noisy(r, views), noisy(r, likes), noisy(r, comments))
		for _, o := range also {
			o.grow(noisy(r, views), noisy(r, likes), noisy(r, comments))
		}
		w.poll(append([]*post{p}, also...)...)
	}
}

func TestCountZ(t *testing.T) {
	xs := []float64{10, 12, 11, 9, 10, 11, 10}
	// median 10, MAD 1: 0.6745·(50−10)/1 ≈ 27, but the scale is at least √10.
	if z := CountZ(50, xs); math.Abs(z-40/math.Sqrt(10)) > 1e-9 {
		t.Fatalf("z = %v", z)
	}
	// MAD 0: the mean absolute deviation: values 100,100,100,100,140:
	// median 100, MAD 0, mean abs dev 8 → scale 1.253314·8 ≈ 10.03.
	if z := CountZ(300, []float64{100, 100, 100, 100, 140}); math.Abs(z-200/(1.253314*8)) > 1e-9 {
		t.Fatalf("MAD=0 z = %v", z)
	}
	// A flat history: the Poisson floor √median.
	if z := CountZ(120, []float64{100, 100, 100}); math.Abs(z-2) > 1e-9 {
		t.Fatalf("flat z = %v", z)
	}
}

func TestBurstOfBoughtLikesIsFlagged(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := newWorld()
	p := newPost("pst_1", "crt_1", 20000, 1000, 100)
	w.poll(p)
	w.steady(r, 12, 200, 10, 1, p)
	if len(w.flags) != 0 {
		t.Fatalf("steady growth flagged: %+v", w.flags)
	}
	p.grow(210, 4812, 2)
	got := w.poll(p)
	if len(got) != 1 || got[0].Detector != DetectorBurst {
		t.Fatalf("bought likes: flags %+v", got)
	}
	f := got[0]
	if !strings.HasPrefix(f.Reason, "likes grew 4,812 in 15 minutes, ") || !strings.Contains(f.Reason, "× this post's fastest earlier growth") ||
		!strings.Contains(f.Reason, "views grew 210 with it") {
		t.Fatalf("reason %q", f.Reason)
	}
	if f.Category != CategoryEngagement || f.Severity != SeverityHigh || !f.Holds || int64(f.HoldsFrom) != w.at-q15+1 ||
		f.CampaignID != "cmp_1" || f.CreatorID != "crt_1" || f.SubjectID != "pst_1" || f.Evidence["likes"] != 4812 {
		t.Fatalf("flag %+v", f)
	}
	if err := validate(f); err != nil {
		t.Fatal(err)
	}
	// The same burst day raises the same flag (its key), not a second one.
	p.grow(200, 3000, 1)
	if again := w.poll(p); len(again) == 1 && again[0].Key() != f.Key() {
		t.Fatalf("a second key the same day: %s vs %s", again[0].Key(), f.Key())
	}
}

func TestViewBotsAreFlagged(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	w := newWorld()
	p := newPost("pst_1", "crt_1", 1000, 50, 5)
	w.poll(p)
	w.steady(r, 12, 200, 10, 1, p)
	p.grow(20000, 9, 1)
	got := w.poll(p)
	if len(got) != 1 || got[0].Detector != DetectorBurst || !strings.HasPrefix(got[0].Reason, "views grew 20,000 in 15 minutes") {
		t.Fatalf("view bots: %+v", got)
	}
}

// An honest viral post: every metric rises steeply together for hours.
func TestViralPostIsNotFlagged(t *testing.T) {
	for _, sens := range []Sensitivity{Relaxed, Moderate} {
		r := rand.New(rand.NewPCG(5, 6))
		w := newWorld()
		w.sens = sens
		other := newPost("pst_0", "crt_1", 5000, 250, 25)
		p := newPost("pst_1", "crt_1", 1000, 50, 5)
		w.poll(p, other)
		w.steady(r, 12, 200, 10, 1, p, other)
		v := 200.0
		for range 8 { // ×2.5 a poll, then it holds
			v *= 2.5
			p.grow(noisy(r, v), noisy(r, v*0.05), noisy(r, v*0.005))
			other.grow(noisy(r, 200), noisy(r, 10), noisy(r, 1))
			w.poll(p, other)
		}
		w.steady(r, 40, v, v*0.05, v*0.005, p)
		if len(w.flags) != 0 {
			t.Fatalf("%s: viral post flagged: %s", sens, w.flags[0].Reason)
		}
	}
}

// A creator's first post grows fast in its first hours: nothing to judge
// it against, and nothing flags it.
func TestFirstPostIsNotFlagged(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	w := newWorld()
	p := newPost("pst_1", "crt_1", 0, 0, 0)
	w.poll(p)
	v := 3000.0
	for range 96 { // a day, decaying
		p.grow(noisy(r, v), noisy(r, v*0.06), noisy(r, v*0.004))
		v *= 0.96
		w.poll(p)
	}
	if len(w.flags) != 0 {
		t.Fatalf("first post flagged: %s", w.flags[0].Reason)
	}
}

// A post that slowly keeps growing for weeks, its growth creeping up.
func TestSlowGrowthForWeeksIsNotFlagged(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	w := newWorld()
	others := []*post{newPost("pst_a", "crt_1", 900, 40, 4), newPost("pst_b", "crt_1", 1100, 60, 6), newPost("pst_c", "crt_1", 1000, 50, 3)}
	p := newPost("pst_1", "crt_1", 100, 5, 0)
	v := 20.0
	for range 3 * 7 * 24 * 4 { // three weeks of 15-minute polls
		p.grow(noisy(r, v), noisy(r, v*0.05), noisy(r, v*0.005))
		for _, o := range others {
			o.grow(noisy(r, 20), noisy(r, 1), noisy(r, 0.1))
		}
		v *= 1.0005
		w.poll(append([]*post{p}, others...)...)
	}
	if len(w.flags) != 0 {
		t.Fatalf("slow growth flagged: %s", w.flags[0].Reason)
	}
}

// A new post of a creator whose earlier posts grew as fast in their first
// hours is judged against them at the same age, and not flagged.
func TestYoungPostAgainstCreatorsHistory(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	w := newWorld()
	old := newPost("pst_old", "crt_1", 0, 0, 0)
	w.poll(old)
	v := 2000.0
	for range 30 {
		old.grow(noisy(r, v), noisy(r, v*0.05), noisy(r, v*0.005))
		v *= 0.93
		w.poll(old)
	}
	w.steady(r, 100, v, v*0.05, v*0.005, old)
	young := newPost("pst_new", "crt_1", 0, 0, 0)
	w.poll(young)
	v = 2000
	for range 30 {
		young.grow(noisy(r, v), noisy(r, v*0.05), noisy(r, v*0.005))
		v *= 0.93
		w.poll(young)
	}
	if len(w.flags) != 0 {
		t.Fatalf("young post flagged: %s", w.flags[0].Reason)
	}
	// Bought likes in the young post's third hour stand out against the
	// creator's earlier post at that age.
	young.grow(noisy(r, v), 6000, 1)
	if got := w.poll(young); len(got) != 1 || got[0].Detector != DetectorBurst || !strings.Contains(got[0].Reason, "the creator's median at this age") {
		t.Fatalf("burst on a young post: %+v", got)
	}
}

func TestCounterIntegrity(t *testing.T) {
	th := ThresholdsFor(Moderate)
	r := Reading{PostID: "p", At: 100, Counts: [5]int64{120, 5000, 3}, Known: [5]bool{true, true, true}}
	got := CounterIntegrity(nil, r, th)
	if len(got) != 1 || got[0].Detector != DetectorAboveViews || got[0].Reason != "5,000 likes on a post with 120 views: more likes than views is impossible for real viewers (engagement bought without views)" {
		t.Fatalf("likes above views: %+v", got)
	}
	// Views unknown (a photo): nothing to compare.
	r.Known[Views] = false
	if got := CounterIntegrity(nil, r, th); len(got) != 0 {
		t.Fatalf("views unknown: %+v", got)
	}
	// A counter falling back: 10,230 likes, then 5,100.
	prev := &Series{First: 10, Last: 100, Counts: [5]int64{90000, 10230, 40}, Known: [5]bool{true, true, true}}
	r = Reading{PostID: "p", At: 100 + q15, Counts: [5]int64{90500, 5100, 40}, Known: [5]bool{true, true, true}}
	got = CounterIntegrity(prev, r, th)
	if len(got) != 1 || got[0].Detector != DetectorCounterFell || got[0].HoldsFrom != 10 ||
		got[0].Reason != "likes fell from 10,230 to 5,100 (−5,130, 50.1%) in 15 minutes: platforms remove engagement they find bought" {
		t.Fatalf("fall: %+v", got)
	}
	// Honest unlikes: a few.
	r.Counts[Likes] = 10200
	if got := CounterIntegrity(prev, r, th); len(got) != 0 {
		t.Fatalf("30 unlikes flagged: %+v", got)
	}
}

func TestRatioOffBaseline(t *testing.T) {
	th := ThresholdsFor(Moderate)
	mk := func(v, l, c int64) *Series {
		return &Series{First: 5, Counts: [5]int64{v, l, c}, Known: [5]bool{true, true, true}}
	}
	others := []*Series{mk(10000, 500, 50), mk(8000, 350, 30), mk(12000, 650, 60), mk(9000, 450, 40)}
	if got := RatioOffBaseline(mk(10000, 600, 55), others, th); len(got) != 0 {
		t.Fatalf("ordinary post: %+v", got)
	}
	got := RatioOffBaseline(mk(10000, 4000, 55), others, th)
	if len(got) != 1 || got[0].Window != "ratio:likes/views" || got[0].HoldsFrom != 5 ||
		!strings.HasPrefix(got[0].Reason, "likes per view is 0.4 (4,000 likes, 10,000 views), 8.0× above the creator's median of 0.05 over 4 other posts") {
		t.Fatalf("bought likes ratio: %+v", got)
	}
	// Too few other posts: no baseline.
	if got := RatioOffBaseline(mk(10000, 4000, 55), others[:2], th); len(got) != 0 {
		t.Fatalf("two posts as a baseline: %+v", got)
	}
	// View bots: likes per view far below.
	if got := RatioOffBaseline(mk(400000, 600, 55), others, th); len(got) != 1 || !strings.Contains(got[0].Reason, "below the creator's median") {
		t.Fatalf("view bots ratio: %+v", got)
	}
}

// A post nobody saw for its first polls, then shown to 30,000 people at
// once: silence is no history, and nothing is flagged.
func TestFirstAudienceIsNotABurst(t *testing.T) {
	w := newWorld()
	p := newPost("pst_1", "crt_1", 0, 0, 0)
	for range 5 {
		w.poll(p)
	}
	p.grow(30000, 0, 0)
	w.poll(p)
	p.grow(2000, 90, 4)
	w.poll(p)
	if len(w.flags) != 0 {
		t.Fatalf("first audience flagged: %s", w.flags[0].Reason)
	}
}

func TestSeriesText(t *testing.T) {
	s := &Series{First: 10, Last: 900, Counts: [5]int64{5000, -1, 30, 0, 7}, Known: [5]bool{true, true, true, false, true}, Peak: [5]int64{5000, 400, 30, 0, 7},
		Intervals: []Interval{{Dt: 60, Age: 0, Growth: [5]int64{100, -5, 1, 0, 2}, Known: [5]bool{true, true, true, false, true}}, {Dt: 70, Age: 60}}}
	b, err := s.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	var got Series
	if err := got.UnmarshalText(b); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.First, got.Last, got.Counts, got.Known, got.Peak, got.Intervals) != fmt.Sprint(s.First, s.Last, s.Counts, s.Known, s.Peak, s.Intervals) {
		t.Fatalf("round trip %q: %+v", b, got)
	}
	if err := got.UnmarshalText([]byte("1 2 3")); err == nil {
		t.Fatal("a short series read")
	}
}

func TestRatioBaselineLeavesThePostOut(t *testing.T) {
	th := ThresholdsFor(Moderate)
	mk := func(v, l int64) *Series { return &Series{Counts: [5]int64{v, l}, Known: [5]bool{true, true}} }
	posts := []*Series{mk(1000, 10), mk(1000, 20), mk(1000, 30), mk(1000, 400)}
	b := newRatioBaseline(posts, th)
	if m, n := b.medianWithout(posts[3], 0); n != 3 || m != 0.02 {
		t.Fatalf("without the outlier: %v over %d", m, n)
	}
	if m, n := b.medianWithout(posts[1], 0); n != 3 || m != 0.03 {
		t.Fatalf("without the second: %v over %d", m, n)
	}
	if m, n := b.medianWithout(mk(5, 5), 0); n != 4 || m != 0.025 {
		t.Fatalf("a post not in the baseline: %v over %d", m, n)
	}
}
