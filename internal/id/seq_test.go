package id

import (
	"sort"
	"testing"
	"time"
)

func TestNewSeq(t *testing.T) {
	before := New(Transaction)
	ids := NewSeq(Transaction, 1000)
	after := New(Transaction)
	if len(ids) != 1000 {
		t.Fatalf("got %d ids", len(ids))
	}
	all := append(append([]string{before}, ids...), after)
	if !sort.StringsAreSorted(all) {
		t.Fatal("ids do not sort in creation order")
	}
	seen := map[string]bool{}
	for _, s := range all {
		if !Valid(s, Transaction) {
			t.Fatalf("%q is not a valid id", s)
		}
		if seen[s] {
			t.Fatalf("%q made twice", s)
		}
		seen[s] = true
	}
	if NewSeq(Transaction, 0) != nil {
		t.Fatal("NewSeq(0) is not empty")
	}
}

func TestClick(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	a, b, c := Click(t0), Click(t0), Click(t0.Add(time.Millisecond))
	if len(a) != 16 || a == b {
		t.Fatalf("ids %q %q: want 16 characters, distinct", a, b)
	}
	if a[:8] != b[:8] || !(a < c && b < c) {
		t.Errorf("ids of one millisecond %q %q should share their time prefix and sort before the next millisecond's %q", a, b, c)
	}
}
