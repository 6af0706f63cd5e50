package clock

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMicrosJSON(t *testing.T) {
	at := time.Date(2026, 11, 21, 8, 56, 12, 448202000, time.UTC)
	b, err := json.Marshal(MicrosOf(at))
	if err != nil || string(b) != `"2026-11-21T08:56:12.448202Z"` {
		t.Fatalf("marshal: %s %v", b, err)
	}
	var m Micros
	if err := json.Unmarshal([]byte(`"2026-11-21T09:56:12.448202+01:00"`), &m); err != nil || !m.Time().Equal(at) {
		t.Fatalf("unmarshal: %v %v", m.Time(), err)
	}
	if err := json.Unmarshal([]byte(`1795251372448202`), &m); err == nil {
		t.Fatal("a bare number is not a time")
	}
}

func TestFake(t *testing.T) {
	f := NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("x", 3600)))
	if f.Now().Location() != time.UTC {
		t.Fatal("fake clock must be UTC")
	}
	before := f.Now()
	f.Advance(90 * time.Minute)
	if got := f.Now().Sub(before); got != 90*time.Minute {
		t.Fatalf("advanced %v", got)
	}
}
