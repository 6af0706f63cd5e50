package youtube_test

import (
	"slices"
	"testing"
	"time"

	"github.com/payper/payper/internal/platform/youtube"
)

// TestMinPollInterval: polling keeps within the daily quota less a reserve:
// 900 videos are 18 units a poll, so 9,000 units allow a poll every 172.8 s.
func TestMinPollInterval(t *testing.T) {
	c, err := youtube.New(youtube.Config{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.MinPollInterval([]int{900}); got != 173*time.Second {
		t.Errorf("900 posts of one account: %s, want 2m53s (172.8 s rounded up)", got)
	}
	// 200 channels of one video each: 200 units a poll, 9,000 allow one
	// every 1,920 s.
	if got := c.MinPollInterval(slices.Repeat([]int{1}, 200)); got != 1920*time.Second {
		t.Errorf("200 accounts of one post: %s, want 32m", got)
	}
	if got := c.MinPollInterval(nil); got != 0 {
		t.Errorf("no posts: %s", got)
	}
}
