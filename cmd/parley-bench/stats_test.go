package main

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var h Hist
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}, {1, time.Millisecond}} {
		got := h.Quantile(c.q)
		if got < c.want || float64(got) > float64(c.want)*1.04 {
			t.Errorf("q%v = %v, want %v within 4%%", c.q, got, c.want)
		}
	}
	if h.Mean() < 500*time.Microsecond || h.Mean() > 501*time.Microsecond {
		t.Errorf("mean = %v", h.Mean())
	}
	var empty Hist
	if empty.Quantile(0.99) != 0 {
		t.Error("empty histogram has a quantile")
	}
}

func TestHistBuckets(t *testing.T) {
	prev := int64(-1)
	for i := range 1500 {
		v := histValue(i)
		if v <= prev {
			t.Fatalf("bucket %d ends at %d, not after %d", i, v, prev)
		}
		if histIndex(v) != i || histIndex(prev+1) != i {
			t.Fatalf("bucket %d = [%d, %d] maps to %d and %d", i, prev+1, v, histIndex(prev+1), histIndex(v))
		}
		prev = v
	}
}

func TestHistMerge(t *testing.T) {
	var a, b Hist
	for i := range 100 {
		a.Add(time.Duration(i) * time.Millisecond)
		b.Add(time.Duration(100+i) * time.Millisecond)
	}
	a.Merge(&b)
	if a.N != 200 || a.Max != int64(199*time.Millisecond) {
		t.Fatalf("merged N=%d max=%d", a.N, a.Max)
	}
	if q := a.Quantile(0.5); q < 99*time.Millisecond || q > 103*time.Millisecond {
		t.Errorf("median of merge = %v", q)
	}
}

func TestLedger(t *testing.T) {
	l := NewLedger(3)
	a, b, c := msgKey{0, 0}, msgKey{0, 1}, msgKey{1, 0}
	l.Acked(a, 3)
	l.Acked(b, 3)
	for r := range 3 {
		l.Received(r, a) // everyone got a
	}
	l.Received(0, b) // b reached one of three, twice
	l.Received(0, b)
	l.Received(2, c) // c was never acknowledged
	got := l.Tally()
	want := Tally{Acked: 2, Expected: 6, Delivered: 6, Lost: 2, Duplicated: 1, Unacked: 1}
	if got != want {
		t.Errorf("tally = %+v, want %+v", got, want)
	}
	if sum := got.Add(want); sum.Lost != 4 || sum.Delivered != 12 {
		t.Errorf("sum = %+v", sum)
	}
}

// A histogram's JSON carries each bucket's upper bound and the summary,
// and still decodes into the same histogram (shards send theirs so).
func TestHistJSON(t *testing.T) {
	var h Hist
	for i := 1; i <= 100; i++ {
		h.Add(time.Duration(i) * time.Millisecond)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Counts  []uint64 `json:"counts"`
		UpperNS []int64  `json:"upper_ns"`
		Summary Latency  `json:"summary"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.UpperNS) != len(out.Counts) {
		t.Fatalf("%d bounds for %d buckets", len(out.UpperNS), len(out.Counts))
	}
	var below int64 // the bound of the bucket holding the 99th value
	var seen uint64
	for i, c := range out.Counts {
		if seen += c; seen >= 99 {
			below = out.UpperNS[i]
			break
		}
	}
	if below < int64(99*time.Millisecond) || float64(below) > 1.04*float64(99*time.Millisecond) {
		t.Errorf("the 99th value's bucket ends at %v", time.Duration(below))
	}
	if out.Summary.N != 100 || out.Summary.P99 < 99 || out.Summary.P99 > 99*1.04 {
		t.Errorf("summary %+v", out.Summary)
	}
	var back Hist
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, h) {
		t.Error("the histogram did not decode back to itself")
	}
}
