package main

import (
	"encoding/json"
	"math/bits"
	"sync"
	"time"
)

// Hist is a latency histogram with about 3% precision from 1 ns to hours:
// values below 64 ns have a bucket each, then every power of two is cut
// into 32 buckets. It is mergeable, so the shards of a run can add theirs.
// Its zero value is empty and ready; it is not safe for concurrent use.
type Hist struct {
	Counts []uint64 `json:"counts"`
	N      uint64   `json:"n"`
	Max    int64    `json:"max_ns"`
	Sum    float64  `json:"sum_ns"`
}

const histSub = 32

func histIndex(v int64) int {
	if v < 2*histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - 6 // shift that leaves 6 significant bits
	return 2*histSub + (e-1)*histSub + int(v>>e) - histSub
}

// histValue returns the upper bound of bucket i.
func histValue(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	e := (i-2*histSub)/histSub + 1
	m := int64((i-2*histSub)%histSub + histSub)
	return (m+1)<<e - 1
}

// Add records one value.
func (h *Hist) Add(d time.Duration) {
	i := histIndex(int64(d))
	if i >= len(h.Counts) {
		h.Counts = append(h.Counts, make([]uint64, i+1-len(h.Counts))...)
	}
	h.Counts[i]++
	h.N++
	h.Sum += float64(d)
	h.Max = max(h.Max, int64(d))
}

// Merge adds o's values to h.
func (h *Hist) Merge(o *Hist) {
	if len(o.Counts) > len(h.Counts) {
		h.Counts = append(h.Counts, make([]uint64, len(o.Counts)-len(h.Counts))...)
	}
	for i, c := range o.Counts {
		h.Counts[i] += c
	}
	h.N += o.N
	h.Sum += o.Sum
	h.Max = max(h.Max, o.Max)
}

// Quantile returns the value under which a fraction q of the values lie,
// to the precision of the buckets (never more than the maximum seen).
func (h *Hist) Quantile(q float64) time.Duration {
	if h.N == 0 {
		return 0
	}
	rank := uint64(q*float64(h.N) + 0.5)
	rank = min(max(rank, 1), h.N)
	var seen uint64
	for i, c := range h.Counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(histValue(i), h.Max))
		}
	}
	return time.Duration(h.Max)
}

// Mean returns the average value.
func (h *Hist) Mean() time.Duration {
	if h.N == 0 {
		return 0
	}
	return time.Duration(h.Sum / float64(h.N))
}

// Latency is a histogram summary for reports.
type Latency struct {
	N    uint64  `json:"n"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

// MarshalJSON writes h with its summary and each bucket's upper bound, so
// that a reader of the JSON needs no knowledge of the bucket scheme.
func (h Hist) MarshalJSON() ([]byte, error) {
	type plain Hist // without this method
	upper := make([]int64, len(h.Counts))
	for i := range upper {
		upper[i] = histValue(i)
	}
	return json.Marshal(struct {
		plain
		UpperNS []int64 `json:"upper_ns"`
		Summary Latency `json:"summary"`
	}{plain(h), upper, h.Summary()})
}

// Summary returns h's summary in milliseconds.
func (h *Hist) Summary() Latency {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return Latency{N: h.N, Mean: ms(h.Mean()), P50: ms(h.Quantile(0.5)), P99: ms(h.Quantile(0.99)),
		P999: ms(h.Quantile(0.999)), Max: ms(time.Duration(h.Max))}
}

// SyncHist is a Hist behind a mutex, for recording from many goroutines.
type SyncHist struct {
	mu sync.Mutex
	h  Hist
}

// Add records one value.
func (s *SyncHist) Add(d time.Duration) {
	s.mu.Lock()
	s.h.Add(d)
	s.mu.Unlock()
}

// Snapshot returns a copy of the histogram.
func (s *SyncHist) Snapshot() Hist {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.h
	h.Counts = append([]uint64(nil), s.h.Counts...)
	return h
}

// msgKey names one sent message: its sender's number and the sender's
// count of it.
type msgKey struct {
	sender int32
	n      int32
}

// Ledger accounts for deliveries: every acknowledged message must reach
// each member of its room exactly once. Senders record what the server
// acknowledged; each receiver records what it got, under a lock of its own
// so that receivers do not contend.
type Ledger struct {
	mu    sync.Mutex
	acked map[msgKey]int // acknowledged, with the room's audience
	recv  []receiverLog
}

type receiverLog struct {
	mu        sync.Mutex
	seen      map[msgKey]bool
	dups      int64
	delivered int64
}

// NewLedger returns a ledger for receivers numbered 0..receivers-1.
func NewLedger(receivers int) *Ledger {
	l := &Ledger{acked: map[msgKey]int{}, recv: make([]receiverLog, receivers)}
	for i := range l.recv {
		l.recv[i].seen = map[msgKey]bool{}
	}
	return l
}

// Acked records that the server acknowledged k, which audience members
// should receive.
func (l *Ledger) Acked(k msgKey, audience int) {
	l.mu.Lock()
	l.acked[k] = audience
	l.mu.Unlock()
}

// Received records that receiver r got k.
func (l *Ledger) Received(r int, k msgKey) {
	rl := &l.recv[r]
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.delivered++
	if rl.seen[k] {
		rl.dups++
		return
	}
	rl.seen[k] = true
}

// Progress returns the deliveries recorded (duplicates included) and the
// deliveries expected of the messages acknowledged so far.
func (l *Ledger) Progress() (delivered, expected int64) {
	for i := range l.recv {
		rl := &l.recv[i]
		rl.mu.Lock()
		delivered += rl.delivered
		rl.mu.Unlock()
	}
	l.mu.Lock()
	for _, a := range l.acked {
		expected += int64(a)
	}
	l.mu.Unlock()
	return delivered, expected
}

// Tally is the outcome of a ledger.
type Tally struct {
	Acked      int64 `json:"acked"`
	Expected   int64 `json:"expected_deliveries"`
	Delivered  int64 `json:"deliveries"`
	Lost       int64 `json:"lost"`
	Duplicated int64 `json:"duplicated"`
	// Unacked counts distinct deliveries of messages whose send was not
	// acknowledged (it failed or timed out, yet the message was stored).
	Unacked int64 `json:"unacked_deliveries"`
}

// Tally counts what was lost and duplicated.
func (l *Ledger) Tally() Tally {
	got := map[msgKey]int{}
	var t Tally
	for i := range l.recv {
		rl := &l.recv[i]
		rl.mu.Lock()
		t.Delivered += rl.delivered
		t.Duplicated += rl.dups
		for k := range rl.seen {
			got[k]++
		}
		rl.mu.Unlock()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Acked = int64(len(l.acked))
	for k, audience := range l.acked {
		t.Expected += int64(audience)
		t.Lost += int64(max(audience-got[k], 0))
	}
	for k, n := range got {
		if _, ok := l.acked[k]; !ok {
			t.Unacked += int64(n)
		}
	}
	return t
}

// Add sums two tallies, for merging shards.
func (t Tally) Add(o Tally) Tally {
	return Tally{Acked: t.Acked + o.Acked, Expected: t.Expected + o.Expected, Delivered: t.Delivered + o.Delivered,
		Lost: t.Lost + o.Lost, Duplicated: t.Duplicated + o.Duplicated, Unacked: t.Unacked + o.Unacked}
}
