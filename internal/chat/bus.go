package chat

import "context"

// Notice is what travels on the Bus: a committed event, a revocation that
// must close sessions on every node, or one of the ephemeral changes of
// conversation state (receipts, unread counts, notifications, typing,
// presence) that go to some sessions and are never replayed. Exactly one
// field is set.
type Notice struct {
	Event        *Event          `json:"event,omitempty"`
	Revoke       *Revoke         `json:"revoke,omitempty"`
	Receipt      *ReceiptNotice  `json:"receipt,omitempty"`
	Unread       *UnreadNotice   `json:"unread,omitempty"`
	Notification *Notification   `json:"notification,omitempty"`
	Typing       *TypingNotice   `json:"typing,omitempty"`
	Presence     *PresenceNotice `json:"presence,omitempty"`
}

// Revoke names the sessions to close because their token stopped working:
// every session of UserID authenticated by TokenHash, or, when TokenHash is
// nil, every session of UserID except those authenticated by Except.
type Revoke struct {
	UserID    string `json:"user_id"`
	TokenHash []byte `json:"token_hash,omitempty"`
	Except    []byte `json:"except,omitempty"`
}

// Bus tells the hubs of every node that something happened. It is a hint,
// not a record: a notice may be lost, duplicated or arrive out of order, and
// receivers fill gaps from the Store. Implementations: fanout/local in one
// process, fanout/nats across nodes.
type Bus interface {
	// Publish sends n to every subscriber, on this node and others. It does
	// not wait for delivery.
	Publish(ctx context.Context, n Notice) error
	// Subscribe calls h for every notice until stop is called. h also gets a
	// zero Notice after the bus reconnects, which means "notices may have
	// been lost: catch up from the store". h must not block for long.
	Subscribe(h func(Notice)) (stop func())
}
