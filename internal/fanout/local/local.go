// Package local is the in-process chat.Bus: notices reach the subscribers of
// this process only, synchronously, in the order they are published.
package local

import (
	"context"
	"sync"

	"github.com/parley-chat/parley/internal/chat"
)

// Bus is an in-process chat.Bus. Its zero value is ready to use.
type Bus struct {
	mu       sync.RWMutex
	handlers map[int]func(chat.Notice)
	next     int
}

// New returns an empty Bus.
func New() *Bus { return &Bus{} }

// Publish calls every subscriber with n before it returns, on the caller's
// goroutine: fan-out cost is paid by the request that caused it, which
// bounds it by the rate of requests.
func (b *Bus) Publish(ctx context.Context, n chat.Notice) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, h := range b.handlers {
		h(n)
	}
	return nil
}

// Subscribe calls h for every notice published until stop is called. An
// in-process bus never loses notices, so h never gets a reconnect notice.
func (b *Bus) Subscribe(h func(chat.Notice)) (stop func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.handlers == nil {
		b.handlers = map[int]func(chat.Notice){}
	}
	id := b.next
	b.next++
	b.handlers[id] = h
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.handlers, id)
	}
}
