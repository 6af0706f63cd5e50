package fraud

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Metric indexes, in platform.Metrics order.
const (
	Views = iota
	Likes
	Comments
	Shares
	Saves
)

// MetricNames are the metrics' names, in index order.
var MetricNames = [5]string{"views", "likes", "comments", "shares", "saves"}

// Reading is one poll's counts of a post: Known says which the platform
// reported.
type Reading struct {
	PostID    string
	CreatorID string
	At        int64 // µs
	Counts    [5]int64
	Known     [5]bool
}

// Interval is a post's growth between two polls: Growth[m] is the count at
// At less the count Dt before (negative when a counter fell; 0 when either
// reading did not know the metric), Age the post's age at the interval's
// start (since its first reading), all in µs.
type Interval struct {
	At     int64 // not stored: only the latest interval's is used
	Dt     int64
	Age    int64
	Growth [5]int64
	Known  [5]bool
}

// Series is what the detectors remember of a post between polls: its last
// reading, its highest counts and its recent intervals (at most keepPerAge
// of each age band, the newest; see ageBucket), stored compactly
// (MarshalText).
type Series struct {
	PostID    string
	CreatorID string
	First     int64
	Last      int64
	Counts    [5]int64
	Known     [5]bool
	Peak      [5]int64
	Intervals []Interval
	stored    bool // read from the database (LoadSeries): rewritten, not inserted
}

// keepPerAge is how many intervals a series keeps of each age band.
const keepPerAge = 6

// observe records r as the series' latest reading and returns the interval
// since the one before (ok false for the first reading).
func (s *Series) observe(r Reading) (iv Interval, ok bool) {
	if s.Last != 0 && r.At > s.Last {
		iv = Interval{At: r.At, Dt: r.At - s.Last, Age: s.Last - s.First}
		for m := range 5 {
			if s.Known[m] && r.Known[m] {
				iv.Growth[m], iv.Known[m] = r.Counts[m]-s.Counts[m], true
			}
		}
		ok = true
		s.Intervals = append(s.Intervals, iv)
		// Drop the oldest of the band when it holds more than keepPerAge.
		b, n, first := ageBucket(iv.Age), 0, -1
		for i, x := range s.Intervals {
			if ageBucket(x.Age) == b {
				if first < 0 {
					first = i
				}
				n++
			}
		}
		if n > keepPerAge {
			s.Intervals = append(s.Intervals[:first], s.Intervals[first+1:]...)
		}
	}
	if s.First == 0 {
		s.First = r.At
	}
	s.Last, s.Counts, s.Known = r.At, r.Counts, r.Known
	for m := range 5 {
		if r.Known[m] {
			s.Peak[m] = max(s.Peak[m], r.Counts[m])
		}
	}
	return iv, ok
}

// Thresholds are a sensitivity's detector settings. Starting values, to be
// tuned on the sandbox population (payper bench fraud), not laws.
type Thresholds struct {
	// Z is the modified z-score above which an interval's growth is an
	// outlier against the post's and the creator's history (Iglewicz and
	// Hoaglin suggest 3.5).
	Z float64
	// BurstFactor: the growth rate must also be this many times the post's
	// fastest earlier interval (when it has history).
	BurstFactor float64
	// MinBurst: an interval growing less than this is never a burst.
	MinBurst int64
	// Corroborate: a burst is organic (viral) when the corroborating metric
	// (views, or likes when views are not known) rose with it — the
	// interval's ratio of the two at most this many times the post's
	// ratio before.
	Corroborate float64
	// AboveViews: likes or comments this many above views on a post that
	// reports views.
	AboveViews int64
	// FallMin and FallFrac: a counter falling by at least both between
	// two polls.
	FallMin  int64
	FallFrac float64
	// RatioFactor: a post's engagement ratio this many times the creator's
	// median (or that many times below it, for likes per view), with at
	// least RatioMinNum of the numerator and RatioMinDen of the denominator.
	RatioFactor float64
	RatioMinNum int64
	RatioMinDen int64
	// MinHistory and MinCreatorHistory: intervals needed before the post's
	// own, and the creator's, history are judged against.
	MinHistory        int
	MinCreatorHistory int
}

// ThresholdsFor returns sensitivity v's thresholds.
func ThresholdsFor(v Sensitivity) Thresholds {
	switch v {
	case Relaxed:
		return Thresholds{Z: 8, BurstFactor: 5, MinBurst: 500, Corroborate: 4, AboveViews: 100, FallMin: 200, FallFrac: 0.10,
			RatioFactor: 8, RatioMinNum: 200, RatioMinDen: 500, MinHistory: 4, MinCreatorHistory: 8}
	case Strict:
		return Thresholds{Z: 3.5, BurstFactor: 2, MinBurst: 30, Corroborate: 2, AboveViews: 5, FallMin: 20, FallFrac: 0.02,
			RatioFactor: 3, RatioMinNum: 30, RatioMinDen: 100, MinHistory: 3, MinCreatorHistory: 5}
	default:
		return Thresholds{Z: 5, BurstFactor: 3, MinBurst: 100, Corroborate: 3, AboveViews: 25, FallMin: 50, FallFrac: 0.05,
			RatioFactor: 5, RatioMinNum: 100, RatioMinDen: 200, MinHistory: 3, MinCreatorHistory: 5}
	}
}

// Finding is what an engagement detector saw on a post.
type Finding struct {
	Detector string
	Score    float64
	Severity string
	Category string
	Reason   string
	Evidence map[string]float64
	// Window tells repeats apart (see Flag.Window); HoldsFrom is when the
	// earnings it holds start (µs).
	Window    string
	HoldsFrom int64
}

// Detector names.
const (
	DetectorAboveViews     = "counter_above_views"
	DetectorCounterFell    = "counter_fell"
	DetectorBurst          = "engagement_burst"
	DetectorRatio          = "ratio_off_baseline"
	DetectorContentRemoved = "content_removed"
)

// Robust is a history's median and scale for the modified z-score.
type Robust struct {
	Median, Scale float64
	N             int
}

// RobustOf returns the median and the modified z-score's scale of xs
// (Iglewicz and Hoaglin, "How to Detect and Handle Outliers", 1993):
// MAD/0.6745, and when the MAD is 0, 1.253314 × the mean absolute
// deviation. Counts are noisy even when a history is flat, so the scale is
// never below √median (the Poisson standard deviation) nor 1.
func RobustOf(xs []float64) Robust {
	if len(xs) == 0 {
		return Robust{Scale: 1}
	}
	med := medianOf(xs)
	dev := make([]float64, len(xs))
	sum := 0.0
	for i, v := range xs {
		dev[i] = math.Abs(v - med)
		sum += dev[i]
	}
	scale := medianOf(dev) / 0.6745
	if scale == 0 {
		scale = 1.253314 * sum / float64(len(xs))
	}
	return Robust{Median: med, Scale: max(scale, math.Sqrt(math.Max(med, 0)), 1), N: len(xs)}
}

// Z is x's modified z-score against the history: (x − median)/scale, that
// is 0.6745·(x − median)/MAD.
func (r Robust) Z(x float64) float64 { return (x - r.Median) / r.Scale }

// CountZ is the modified z-score of x against xs for counts: RobustOf(xs).Z(x).
func CountZ(x float64, xs []float64) float64 { return RobustOf(xs).Z(x) }

// medianOf returns the median of xs (xs is not modified); 0 for none.
func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// perHour is an interval's growth of metric m per hour.
func perHour(iv Interval, m int) float64 {
	return float64(iv.Growth[m]) * float64(time.Hour.Microseconds()) / float64(max(iv.Dt, 1))
}

// CounterIntegrity checks a reading against the post's series before it
// (nil for the first reading). Basis: Sen et al., "Worth its Weight in
// Likes: Towards Detecting Fake Likes on Instagram" (WebSci 2018) — likes
// on a video that has about no views are fake; and Marciel et al.,
// "Understanding the Detection of View Fraud in Video Content Portals"
// (arXiv 1507.08874) — platforms remove bought engagement later, so a
// counter that falls back is a trace of it. It finds likes or comments
// above views (once per post), and a counter falling by at least FallMin
// and FallFrac of its value since the last poll (honest unlikes are a few).
func CounterIntegrity(prev *Series, r Reading, th Thresholds) []Finding {
	var out []Finding
	from := r.At
	if prev != nil && prev.First != 0 {
		from = prev.First
	}
	if r.Known[Views] {
		for _, m := range []int{Likes, Comments} {
			if !r.Known[m] || r.Counts[m]-r.Counts[Views] < th.AboveViews {
				continue
			}
			v, c := r.Counts[Views], r.Counts[m]
			out = append(out, Finding{Detector: DetectorAboveViews, Score: float64(c) / float64(max(v, 1)),
				Severity: SeverityHigh, Category: CategoryCounters,
				Reason: fmt.Sprintf("%s %s on a post with %s views: more %s than views is impossible for real viewers (engagement bought without views)",
					num(c), MetricNames[m], num(v), MetricNames[m]),
				Evidence: map[string]float64{MetricNames[m]: float64(c), "views": float64(v)},
				Window:   "above_views", HoldsFrom: from})
		}
	}
	if prev == nil {
		return out
	}
	for m := range 5 {
		if !prev.Known[m] || !r.Known[m] {
			continue
		}
		was, now := prev.Counts[m], r.Counts[m]
		drop := was - now
		if drop < th.FallMin || float64(drop) < th.FallFrac*float64(was) {
			continue
		}
		out = append(out, Finding{Detector: DetectorCounterFell, Score: float64(drop) / float64(max(was, 1)),
			Severity: SeverityHigh, Category: CategoryCounters,
			Reason: fmt.Sprintf("%s fell from %s to %s (−%s, %.1f%%) in %s: platforms remove engagement they find bought",
				MetricNames[m], num(was), num(now), num(drop), 100*float64(drop)/float64(max(was, 1)), span(r.At-prev.Last)),
			Evidence: map[string]float64{"before": float64(was), "after": float64(now), "drop": float64(drop)},
			Window:   fmt.Sprintf("fell:%s:%d", MetricNames[m], r.At), HoldsFrom: from})
	}
	return out
}

// ageBands are the bounds of the age bands, growth slowing as a post
// ages: under an hour, 3 hours, 6 hours, a day, 3 days, a week, older.
var ageBands = [...]int64{1, 3, 6, 24, 72, 168}

// nBands is how many age bands there are.
const nBands = len(ageBands) + 1

// ageBucket returns the age band of a post's age (µs).
func ageBucket(age int64) int {
	h := age / time.Hour.Microseconds()
	for i, b := range ageBands {
		if h < b {
			return i
		}
	}
	return len(ageBands)
}

// History is a creator's growth history in a campaign: per age band and
// metric, the median and scale of the growth per hour of their posts'
// intervals (CreatorHistory), for the bands summed up.
type History struct {
	has [nBands]bool
	r   [nBands][5]Robust
}

// At returns the history of metric m at age band b (N = 0 when there is
// none or the band was not summed up).
func (h *History) At(b, m int) Robust {
	if h == nil || !h.has[b] {
		return Robust{Scale: 1}
	}
	return h.r[b][m]
}

// CreatorHistory sums up the intervals of a creator's posts (as their
// series were before this poll) per age band and metric — only bands when
// given, every band otherwise: the creator's history a post's interval is
// judged against.
func CreatorHistory(posts []*Series, bands ...int) *History {
	h := &History{}
	if len(bands) == 0 {
		for b := range nBands {
			bands = append(bands, b)
		}
	}
	for _, b := range bands {
		if h.has[b] {
			continue
		}
		h.has[b] = true
		var rates [5][]float64
		for _, o := range posts {
			for _, x := range o.Intervals {
				if ageBucket(x.Age) != b {
					continue
				}
				for m := range 5 {
					if x.Known[m] {
						rates[m] = append(rates[m], perHour(x, m))
					}
				}
			}
		}
		for m := range 5 {
			h.r[b][m] = RobustOf(rates[m])
		}
	}
	return h
}

// corroborator is the metric a burst of m must rise with to be organic:
// views, or likes for views and where views are not known.
func corroborator(m int, known [5]bool) int {
	if m != Views && known[Views] {
		return Views
	}
	if m != Likes && known[Likes] {
		return Likes
	}
	return -1
}

// Burst judges a post's latest interval iv (the last of s.Intervals)
// against the post's own earlier intervals and its creator's history at the
// same age (creator, from CreatorHistory; nil for none). Basis: the modified z-score
// (Iglewicz and Hoaglin 1993), M = 0.6745·(x − median)/MAD over growth per
// hour, as in robust spike detection (Twitter's S-H-ESD uses the same
// median/MAD residuals); like farms deliver in bursts (De Cristofaro et al.,
// "Paying for Likes?", IMC 2014). A metric bursts when M exceeds Z against
// every history it has enough of (the post's own, MinHistory intervals; the
// creator's, MinCreatorHistory), it grew at least MinBurst and, with own
// history, BurstFactor times its fastest earlier interval. A burst is
// organic — a post going viral — when its corroborating metric (views; likes
// for views) rose with it: the interval's ratio of the two within
// Corroborate of the post's ratio before. A post without either history (a
// creator's first post in its first hours, or a metric still at zero
// before the interval: the post had not been shown yet) is not judged.
func Burst(s *Series, creator *History, th Thresholds) (Finding, bool) {
	if len(s.Intervals) == 0 {
		return Finding{}, false
	}
	iv := s.Intervals[len(s.Intervals)-1]
	earlier := s.Intervals[:len(s.Intervals)-1]
	type hit struct {
		m                   int
		growth              int64
		zPost, zCreator, xf float64
		note                string
	}
	var hits []hit
	score := math.Inf(1)
	for m := range 5 {
		if !iv.Known[m] || iv.Growth[m] < th.MinBurst {
			continue
		}
		x := perHour(iv, m)
		var own []float64
		fastest := 0.0
		for _, e := range earlier {
			if e.Known[m] {
				r := perHour(e, m)
				own = append(own, r)
				fastest = max(fastest, r)
			}
		}
		h := hit{m: m, growth: iv.Growth[m], zPost: math.NaN(), zCreator: math.NaN()}
		judged := false
		sc := math.Inf(1)
		// A metric still at zero before the interval has no history to
		// judge by: the post had not been shown yet, its first audience is
		// no anomaly against silence.
		if len(own) >= th.MinHistory && s.Counts[m]-iv.Growth[m] > 0 {
			h.zPost = CountZ(x, own)
			h.xf = x / max(fastest, 1)
			if h.zPost < th.Z || h.xf < th.BurstFactor {
				continue
			}
			judged, sc = true, min(sc, h.zPost)
		}
		if c := creator.At(ageBucket(iv.Age), m); c.N >= th.MinCreatorHistory {
			h.zCreator = c.Z(x)
			if h.zCreator < th.Z {
				continue
			}
			judged, sc = true, min(sc, h.zCreator)
			h.note = fmt.Sprintf("%.1f× the creator's median at this age", x/max(c.Median, 1))
		}
		if !judged {
			continue
		}
		// Organic when the corroborating metric rose with it.
		if c := corroborator(m, iv.Known); c >= 0 && s.Counts[c]-iv.Growth[c] > 0 && s.Counts[m]-iv.Growth[m] > 0 {
			before := float64(s.Counts[m]-iv.Growth[m]) / float64(s.Counts[c]-iv.Growth[c])
			now := float64(iv.Growth[m]) / float64(max(iv.Growth[c], 1))
			if now <= th.Corroborate*before {
				continue // rose together: organic (for views: likes followed the views, not bots)
			}
			if h.note != "" {
				h.note += "; "
			}
			h.note += fmt.Sprintf("%s grew %s with it (%s per %s %.3g in the burst against %.3g before)",
				MetricNames[c], num(iv.Growth[c]), MetricNames[m], strings.TrimSuffix(MetricNames[c], "s"), now, before)
		}
		hits = append(hits, h)
		score = min(score, sc)
	}
	if len(hits) == 0 {
		return Finding{}, false
	}
	var parts []string
	ev := map[string]float64{"interval_seconds": float64(iv.Dt) / 1e6}
	for _, h := range hits {
		p := fmt.Sprintf("%s grew %s in %s", MetricNames[h.m], num(h.growth), span(iv.Dt))
		if !math.IsNaN(h.zPost) {
			p += fmt.Sprintf(", %.1f× this post's fastest earlier growth", h.xf)
			ev[MetricNames[h.m]+"_z_post"] = round1(h.zPost)
		}
		if h.note != "" {
			p += ", " + h.note
		}
		if !math.IsNaN(h.zCreator) {
			ev[MetricNames[h.m]+"_z_creator"] = round1(h.zCreator)
		}
		ev[MetricNames[h.m]] = float64(h.growth)
		parts = append(parts, p)
	}
	sev := SeverityMedium
	if score >= 2*th.Z {
		sev = SeverityHigh
	}
	day := iv.At / (24 * time.Hour.Microseconds())
	return Finding{Detector: DetectorBurst, Score: round1(score), Severity: sev, Category: CategoryEngagement,
		Reason:   strings.Join(parts, "; ") + fmt.Sprintf(" (post %s old; modified z-score %.1f)", span(iv.Age+iv.Dt), score),
		Evidence: ev, Window: fmt.Sprintf("burst:%d", day), HoldsFrom: iv.At - iv.Dt + 1}, true // after the poll before (its earning is not the burst's)
}

// ratioPairs are the engagement ratios RatioOffBaseline compares:
// numerator, denominator.
var ratioPairs = [][2]int{{Likes, Views}, {Comments, Likes}, {Shares, Views}, {Saves, Views}}

// RatioOffBaseline compares a post's engagement ratios (likes per view,
// comments per like, shares and saves per view) with the median of the
// creator's other posts (at least 3 with enough counts). Basis:
// HypeAuditor's Audience Quality Score and Modash's credibility judge
// engagement against what is normal for the account; bought likes raise
// likes per view, bought views lower it. It finds a ratio RatioFactor times
// the creator's median (for likes per view also that many times below),
// once per post and ratio.
func RatioOffBaseline(s *Series, others []*Series, th Thresholds) []Finding {
	var med [4]float64
	var n [4]int
	for i, p := range ratioPairs {
		var base []float64
		for _, o := range others {
			if r, ok := ratioOf(o, p, th); ok {
				base = append(base, r)
			}
		}
		med[i], n[i] = medianOf(base), len(base)
	}
	return ratioOff(s, med, n, th)
}

// ratioOf is a series' ratio p (numerator, denominator) when both are
// known and the denominator is at least RatioMinDen.
func ratioOf(s *Series, p [2]int, th Thresholds) (float64, bool) {
	if !s.Known[p[0]] || !s.Known[p[1]] || s.Counts[p[1]] < th.RatioMinDen {
		return 0, false
	}
	return float64(s.Counts[p[0]]) / float64(s.Counts[p[1]]), true
}

// ratioOff is RatioOffBaseline against the creator's median of each ratio
// (med) over n other posts.
func ratioOff(s *Series, med [4]float64, cnt [4]int, th Thresholds) []Finding {
	var out []Finding
	for i, p := range ratioPairs {
		n, d := p[0], p[1]
		r, ok := ratioOf(s, p, th)
		if !ok || cnt[i] < 3 {
			continue
		}
		high := s.Counts[n] >= th.RatioMinNum && med[i] > 0 && r >= th.RatioFactor*med[i]
		low := n == Likes && med[i] > 0 && r*th.RatioFactor <= med[i] && s.Counts[d] >= th.RatioMinNum*20
		if !high && !low {
			continue
		}
		name := MetricNames[n] + " per " + strings.TrimSuffix(MetricNames[d], "s")
		f := r / med[i]
		how := "above"
		if low {
			f, how = med[i]/max(r, 1e-9), "below"
		}
		out = append(out, Finding{Detector: DetectorRatio, Score: round1(f), Severity: SeverityMedium, Category: CategoryEngagement,
			Reason: fmt.Sprintf("%s is %.3g (%s %s, %s %s), %.1f× %s the creator's median of %.3g over %d other posts",
				name, r, num(s.Counts[n]), MetricNames[n], num(s.Counts[d]), MetricNames[d], f, how, med[i], cnt[i]),
			Evidence: map[string]float64{"ratio": r, "creator_median": med[i], "posts": float64(cnt[i])},
			Window:   "ratio:" + MetricNames[n] + "/" + MetricNames[d], HoldsFrom: s.First})
	}
	return out
}

// ratioBaseline is a creator's ratios over their posts, sorted per pair,
// as the series were before this poll, and each post's own.
type ratioBaseline struct {
	sorted [4][]float64
	own    map[*Series][4]float64 // NaN where the post has none
}

func newRatioBaseline(posts []*Series, th Thresholds) *ratioBaseline {
	b := &ratioBaseline{own: make(map[*Series][4]float64, len(posts))}
	for _, o := range posts {
		var own [4]float64
		for i, p := range ratioPairs {
			own[i] = math.NaN()
			if r, ok := ratioOf(o, p, th); ok {
				own[i] = r
				b.sorted[i] = append(b.sorted[i], r)
			}
		}
		b.own[o] = own
	}
	for i := range b.sorted {
		slices.Sort(b.sorted[i])
	}
	return b
}

// medianWithout is the median and count of pair i's ratios without s's own.
func (b *ratioBaseline) medianWithout(s *Series, i int) (float64, int) {
	xs := b.sorted[i]
	own, ok := b.own[s]
	skip := -1
	if ok && !math.IsNaN(own[i]) {
		skip, _ = slices.BinarySearch(xs, own[i])
	}
	n := len(xs)
	if skip >= 0 {
		n--
	}
	at := func(k int) float64 {
		if skip >= 0 && k >= skip {
			return xs[k+1]
		}
		return xs[k]
	}
	switch {
	case n <= 0:
		return 0, 0
	case n%2 == 1:
		return at(n / 2), n
	}
	return (at(n/2-1) + at(n/2)) / 2, n
}

// num writes n with thousands separators.
func num(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// span writes a duration in µs for people: "15 minutes", "3 hours", "2 days".
func span(us int64) string {
	d := time.Duration(us) * time.Microsecond
	switch {
	case d < 2*time.Minute:
		return fmt.Sprintf("%d seconds", int64(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%d minutes", int64(d.Minutes()+0.5))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d hours", int64(d.Hours()+0.5))
	}
	return fmt.Sprintf("%d days", int64(d.Hours()/24+0.5))
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
