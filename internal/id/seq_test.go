package id

import (
	"sort"
	"testing"
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
