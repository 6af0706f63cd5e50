package sandbox

import (
	"encoding/json"
	"testing"

	"pgregory.net/rapid"

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

func drawCounts(t *rapid.T) countsResponse {
	n := rapid.IntRange(0, 5).Draw(t, "items")
	resp := countsResponse{Data: make([]countsItem, n)}
	for i := range resp.Data {
		it := countsItem{
			ID:        rapid.OneOf(rapid.StringMatching(`sbp_[0-9a-z]{26}`), rapid.String()).Draw(t, "id"),
			AccountID: rapid.OneOf(rapid.StringMatching(`sba_[0-9a-z]{26}`), rapid.String()).Draw(t, "account"),
		}
		for _, p := range []**int64{&it.Views, &it.Likes, &it.Comments, &it.Shares, &it.Saves} {
			if rapid.Bool().Draw(t, "known") {
				v := rapid.Int64Range(0, 1<<62).Draw(t, "count")
				*p = &v
			}
		}
		resp.Data[i] = it
	}
	return resp
}

// The counts body is written as encoding/json writes it and read back as
// encoding/json reads it.
func TestCountsWireMatchesEncodingJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		resp := drawCounts(t)
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		got := appendCounts(nil, resp)
		if string(got) != string(want) {
			t.Fatalf("appendCounts wrote\n%s\nencoding/json writes\n%s", got, want)
		}
		items, err := decodeCounts(got)
		if err != nil {
			t.Fatalf("decodeCounts(%s): %v", got, err)
		}
		var std countsResponse
		if err := json.Unmarshal(got, &std); err != nil {
			t.Fatal(err)
		}
		if len(items) != len(std.Data) {
			t.Fatalf("decoded %d items, encoding/json %d", len(items), len(std.Data))
		}
		for i := range items {
			a, _ := json.Marshal(items[i])
			b, _ := json.Marshal(std.Data[i])
			if string(a) != string(b) {
				t.Fatalf("item %d: decodeCounts read %s, encoding/json %s", i, a, b)
			}
		}
	})
}

func TestDecodeCounts(t *testing.T) {
	ok := map[string]string{
		// whitespace, field order, unknown fields, absent metrics
		"{ \"data\" : [ { \"likes\" : 3 , \"id\" : \"m1\" , \"extra\" : {\"x\":[1]} , \"account_id\" : \"a1\" , \"views\" : null } ] }\n": `[{"id":"m1","account_id":"a1","views":null,"likes":3,"comments":null,"shares":null,"saves":null}]`,
		`{"data":[]}`: `[]`,
		`{"data":[{"id":"m\u00e9","account_id":"a"}]}`: `[{"id":"mé","account_id":"a","views":null,"likes":null,"comments":null,"shares":null,"saves":null}]`,
	}
	for body, want := range ok {
		items, err := decodeCounts([]byte(body))
		if err != nil {
			t.Fatalf("decodeCounts(%s): %v", body, err)
		}
		if items == nil {
			items = []countsItem{}
		}
		got, _ := json.Marshal(items)
		if string(got) != want {
			t.Errorf("decodeCounts(%s) = %s, want %s", body, got, want)
		}
	}
	for _, body := range []string{
		``, `{"data":[{"id":"m1"}`, `[]`, `{"data":{}}`, `{"data":[1]}`, `{"data":[{"id":7}]}`,
		`{"data":[{"id":"m","account_id":false}]}`, `{"data":[{"id":"m","views":"12"}]}`,
		`{"data":[{"id":"m","views":1.5}]}`, `{"data":[{"id":"m","views":1e3}]}`,
		`{"data":[{"id":"m","likes":99999999999999999999}]}`,
	} {
		if items, err := decodeCounts([]byte(body)); err == nil {
			t.Errorf("decodeCounts(%s) = %+v, want an error", body, items)
		}
		var std countsResponse
		if err := json.Unmarshal([]byte(body), &std); err == nil {
			t.Errorf("encoding/json reads %s without error; the test case is wrong", body)
		}
	}
}
