package instagram

import (
	"slices"
	"testing"
)

// TestRefusedMetrics reads the code-100 messages Instagram sends on media
// insights.
func TestRefusedMetrics(t *testing.T) {
	t.Parallel()
	asked := []string{"views", "reach", "likes", "comments", "shares", "saved", "total_interactions"}
	for _, tt := range []struct {
		msg  string
		want []string
	}{
		{"(#100) The Media Insights API does not support the likes, comments, saved metric for this media product type. [fbtrace_id AbC]", []string{"likes", "comments", "saved"}},
		{"(#100) Starting from version v22.0 and above, the views metric is no longer supported.", []string{"views"}},
		{"(#100) metric[0] must be one of the following values: views, reach, likes, comments, saved, total_interactions", []string{"shares"}},
		{"(#100) Media Insights API does not support children media.", nil},
		{"(#100) The Media Insights API does not support the impressions metric for this media product type.", nil},
	} {
		if got := refusedMetrics(tt.msg, asked); !slices.Equal(got, tt.want) {
			t.Errorf("refusedMetrics(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}
