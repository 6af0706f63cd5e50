package sandbox

import (
	"encoding/json"
	"testing"

	"github.com/payper/payper/internal/platform"
)

// The counts endpoint's items: numbers are known counts, null (or absent)
// unknown ones, and a negative count is refused.
func TestCountsItemWire(t *testing.T) {
	var it countsItem
	if err := json.Unmarshal([]byte(`{"id":"m1","account_id":"a1","views":1500,"likes":0,"comments":null,"shares":7}`), &it); err != nil {
		t.Fatal(err)
	}
	got, err := it.counts()
	want := platform.Counts{Views: platform.Known(1500), Likes: platform.Known(0), Comments: platform.Unknown(),
		Shares: platform.Known(7), Saves: platform.Unknown()}
	if err != nil || got != want {
		t.Fatalf("counts() = %+v, %v; want %+v", got, err, want)
	}
	b, err := json.Marshal(it)
	if err != nil || string(b) != `{"id":"m1","account_id":"a1","views":1500,"likes":0,"comments":null,"shares":7,"saves":null}` {
		t.Fatalf("encoded as %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"id":"m1","views":-3}`), &it); err != nil {
		t.Fatal(err)
	}
	if _, err := it.counts(); err == nil {
		t.Fatal("a negative count was accepted")
	}
	if err := json.Unmarshal([]byte(`{"id":"m1","views":1.5}`), &it); err == nil {
		t.Fatal("a fractional count was accepted")
	}
}
