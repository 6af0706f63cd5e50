package youtube_test

import (
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
	if got := c.MinPollInterval(900); got != 173*time.Second {
		t.Errorf("900 posts: %s, want 2m53s (172.8 s rounded up)", got)
	}
	if got := c.MinPollInterval(0); got != 0 {
		t.Errorf("no posts: %s", got)
	}
}
