package engage

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/platform"
)

// markText draws a text field: pieces that need escaping, look like
// escapes, or are unicode, arbitrary strings and arbitrary bytes.
func markText() *rapid.Generator[string] {
	piece := rapid.OneOf(
		rapid.SampledFrom([]string{"", "%", "\t", "\n", "%25", "%09", "%0A", "%0a", "%2", "%%", "%ZZ", "%2525", "\t\n%",
			"ä", "✨", "日本", "\r", "\x00", "\xff", "pst_01hzx", "sandbox"}),
		rapid.String(),
		rapid.Map(rapid.SliceOf(rapid.Byte()), func(b []byte) string { return string(b) }),
	)
	return rapid.Custom(func(t *rapid.T) string {
		n := rapid.IntRange(0, 6).Draw(t, "pieces")
		var b strings.Builder
		for range n {
			b.WriteString(piece.Draw(t, "piece"))
		}
		return b.String()
	})
}

func markInt() *rapid.Generator[int64] {
	return rapid.OneOf(rapid.Int64(),
		rapid.SampledFrom([]int64{math.MinInt64, math.MinInt64 + 1, -1, 0, 1, math.MaxInt64 - 1, math.MaxInt64}))
}

func drawPostMark(t *rapid.T) postMark {
	text, num := markText(), markInt()
	p := postMark{
		id:      text.Draw(t, "id"),
		ref:     text.Draw(t, "ref"),
		plat:    platform.Name(text.Draw(t, "plat")),
		mediaID: text.Draw(t, "mediaID"),
		live:    rapid.Bool().Draw(t, "live"),
	}
	for i := range p.hwm {
		p.hwm[i] = num.Draw(t, "hwm")
	}
	p.billed = num.Draw(t, "billed")
	p.lastPolled = num.Draw(t, "lastPolled")
	p.nextPoll = num.Draw(t, "nextPoll")
	p.failures = rapid.OneOf(rapid.IntRange(0, math.MaxInt32), rapid.SampledFrom([]int{0, 1, math.MaxInt32})).Draw(t, "failures")
	return p
}

// Whatever a post's fields hold, its line reads back as it was written.
func TestMarksRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 8).Draw(t, "posts")
		posts := make([]postMark, n)
		for i := range posts {
			posts[i] = drawPostMark(t)
		}
		prefix := []byte(rapid.String().Draw(t, "prefix"))
		enc := appendMarks(bytes.Clone(prefix), posts)
		if !bytes.HasPrefix(enc, prefix) {
			t.Fatalf("appendMarks changed what it appended to: %q does not start with %q", enc, prefix)
		}
		text := string(enc[len(prefix):])
		if got := strings.Count(text, "\n"); got != n {
			t.Fatalf("%d line ends for %d posts: %q", got, n, text)
		}
		if n > 0 && !strings.HasSuffix(text, "\n") {
			t.Fatalf("encoding does not end in a line end: %q", text)
		}
		lines := strings.SplitAfter(text, "\n")
		for i, line := range lines[:n] {
			if got := strings.Count(line, "\t"); got != marksFields-1 {
				t.Fatalf("line %d has %d tabs, want %d: %q", i+1, got, marksFields-1, line)
			}
			// Each line decodes alone to its post.
			one, err := decodeMarks(line)
			if err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			if len(one) != 1 || !reflect.DeepEqual(one[0], posts[i]) {
				t.Fatalf("line %d decodes to %+v, want %+v", i+1, one, posts[i])
			}
		}
		got, err := decodeMarks(text)
		if err != nil {
			t.Fatalf("decode %q: %v", text, err)
		}
		if got == nil || !reflect.DeepEqual(got, posts) {
			t.Fatalf("decode(encode(posts)):\n got %#v\nwant %#v", got, posts)
		}
	})
}

func TestAppendMarksExact(t *testing.T) {
	posts := []postMark{
		{id: "pst_1", ref: "acc-1", plat: platform.Sandbox, mediaID: "a%b\tc\nd%25", live: true,
			marks:    marks{hwm: hwm{1, 2, 3, 4, 5}, billed: -6, failures: 3, lastPolled: 7},
			nextPoll: math.MaxInt64},
		{id: "pst_2", ref: "", plat: "ig", mediaID: "m✨", live: false,
			marks:    marks{hwm: hwm{math.MinInt64, 0, 0, 0, 10}, billed: 1_500_000, failures: math.MaxInt32, lastPolled: 1_780_000_000_000_000},
			nextPoll: 0},
	}
	const want = "pst_1\tacc-1\tsandbox\ta%25b%09c%0Ad%2525\t1\t1\t2\t3\t4\t5\t-6\t7\t9223372036854775807\t3\n" +
		"pst_2\t\tig\tm✨\t0\t-9223372036854775808\t0\t0\t0\t10\t1500000\t1780000000000000\t0\t2147483647\n"
	if got := string(appendMarks([]byte("row:"), posts)); got != "row:"+want {
		t.Fatalf("appendMarks:\n got %q\nwant %q", got, "row:"+want)
	}
	if got := string(appendMarks(nil, nil)); got != "" {
		t.Fatalf("appendMarks of no posts = %q, want \"\"", got)
	}
	got, err := decodeMarks(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, posts) {
		t.Fatalf("decodeMarks:\n got %#v\nwant %#v", got, posts)
	}
}

func TestDecodeMarksRefusesMalformed(t *testing.T) {
	// fields of a good line, to spoil one at a time.
	good := func() []string {
		return []string{"pst_1", "acc-1", "sandbox", "m%25", "1", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	}
	line := func(edit func(f []string) []string) string {
		return strings.Join(edit(good()), "\t") + "\n"
	}
	set := func(i int, v string) func(f []string) []string {
		return func(f []string) []string { f[i] = v; return f }
	}
	ok := line(func(f []string) []string { return f })
	// The good line itself decodes.
	if got, err := decodeMarks(ok + ok); err != nil || len(got) != 2 || got[0].mediaID != "m%" || got[1].failures != 9 {
		t.Fatalf("good lines: %+v, %v", got, err)
	}
	for _, c := range []struct{ name, in string }{
		{"no final newline", strings.TrimSuffix(ok, "\n")},
		{"second line without newline", ok + strings.TrimSuffix(ok, "\n")},
		{"empty line", "\n"},
		{"empty line after a good one", ok + "\n"},
		{"13 fields", line(func(f []string) []string { return f[:13] })},
		{"1 field", "pst_1\n"},
		{"15 fields", line(func(f []string) []string { return append(f, "0") })},
		{"trailing tab", line(func(f []string) []string { return append(f, "") })},
		{"too many fields on line 2", ok + line(func(f []string) []string { return append(f, "x") })},
		{"live 2", line(set(4, "2"))},
		{"live empty", line(set(4, ""))},
		{"live true", line(set(4, "true"))},
		{"live 01", line(set(4, "01"))},
		{"hwm not a number", line(set(5, "x"))},
		{"hwm empty", line(set(7, ""))},
		{"hwm fraction", line(set(9, "1.5"))},
		{"billed not a number", line(set(10, "1e6"))},
		{"lastPolled with space", line(set(11, " 7"))},
		{"nextPoll not a number", line(set(12, "never"))},
		{"failures not a number", line(set(13, "x"))},
		{"hwm overflows int64", line(set(6, "9223372036854775808"))},
		{"billed underflows int64", line(set(10, "-9223372036854775809"))},
		{"nextPoll overflows int64", line(set(12, "99999999999999999999"))},
		{"negative failures", line(set(13, "-1"))},
		{"failures above MaxInt32", line(set(13, "2147483648"))},
		{"failures at MaxInt64", line(set(13, "9223372036854775807"))},
		{"bad escape %ZZ in id", line(set(0, "pst%ZZ"))},
		{"trailing %2 in media id", line(set(3, "m%2"))},
		{"trailing % in ref", line(set(1, "acc%"))},
		{"bad escape in platform", line(set(2, "%41"))},
		{"bad escape on line 2", ok + line(set(3, "%zz"))},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeMarks(c.in)
			if err == nil {
				t.Fatalf("decodeMarks(%q) = %+v, want an error", c.in, got)
			}
			if got != nil {
				t.Fatalf("decodeMarks(%q) returned posts %+v with its error", c.in, got)
			}
			if !strings.HasPrefix(err.Error(), "engage: marks line ") {
				t.Fatalf("error %q does not name the line", err)
			}
		})
	}
	got, err := decodeMarks("")
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf(`decodeMarks("") = %#v, %v; want an empty slice`, got, err)
	}
}

func TestNextPollOf(t *testing.T) {
	live := func(next int64) postMark { return postMark{id: "l", live: true, nextPoll: next} }
	dead := func(next int64) postMark { return postMark{id: "d", nextPoll: next} }
	for _, c := range []struct {
		name  string
		posts []postMark
		want  int64
	}{
		{"no posts", nil, neverPoll},
		{"empty", []postMark{}, neverPoll},
		{"only non-live", []postMark{dead(5), dead(math.MinInt64)}, neverPoll},
		{"one live", []postMark{live(42)}, 42},
		{"min of live, non-live smaller ignored", []postMark{live(300), dead(1), live(200), live(250), dead(-7)}, 200},
		{"live first and smallest", []postMark{live(-5), live(0), dead(-10)}, -5},
		{"live at neverPoll", []postMark{live(math.MaxInt64), dead(3)}, math.MaxInt64},
		{"live at MinInt64", []postMark{dead(0), live(math.MinInt64)}, math.MinInt64},
	} {
		if got := nextPollOf(c.posts); got != c.want {
			t.Errorf("%s: nextPollOf = %d, want %d", c.name, got, c.want)
		}
	}
	if neverPoll != math.MaxInt64 {
		t.Fatalf("neverPoll = %d, want MaxInt64", int64(neverPoll))
	}
}
