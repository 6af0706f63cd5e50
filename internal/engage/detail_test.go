package engage

import (
	"encoding/json"
	"testing"

	"pgregory.net/rapid"

	"github.com/payper/payper/internal/platform"
)

// appendDetail must write exactly what json.Marshal writes for the same
// detail, so earnings written before and after it read back alike.
func TestAppendDetailMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 6).Draw(t, "posts")
		posts := make([]billedPost, n)
		want := make([]growthDetail, n)
		for i := range posts {
			id := rapid.OneOf(rapid.StringMatching(`pst_[0-9a-z]{26}`), rapid.String()).Draw(t, "id")
			g := map[string]int64{}
			var growth [5]int64
			for m := range growth {
				if rapid.Bool().Draw(t, "billed") {
					growth[m] = rapid.Int64Range(1, 1<<62).Draw(t, "growth")
					g[string(platform.Metrics[m])] = growth[m]
				}
			}
			amount := rapid.Int64().Draw(t, "amount")
			posts[i] = billedPost{postID: id, growth: growth, amount: amount}
			want[i] = growthDetail{PostID: id, Growth: g, Amount: amount}
		}
		exp, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendDetail(nil, posts); string(got) != string(exp) {
			t.Fatalf("appendDetail wrote\n%s\nencoding/json writes\n%s", got, exp)
		}
	})
}
