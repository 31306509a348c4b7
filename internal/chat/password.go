package chat

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// HashCost is the work factor of argon2id: passes over memory, and KiB of
// memory per hash.
type HashCost struct {
	Time   uint32
	Memory uint32
}

// DefaultHashCost follows RFC 9106's second recommended option with memory
// lowered to 64 MiB. Hashes record their cost, so changing it later keeps old
// hashes valid.
var DefaultHashCost = HashCost{Time: 2, Memory: 64 * 1024}

const (
	argonThreads = 1
	argonKeyLen  = 32
)

// Hasher hashes and checks passwords with argon2id. At most a fixed number
// of hashes run at once, since each takes 64 MiB: a login flood waits in line
// instead of exhausting memory.
type Hasher struct {
	slots chan struct{}
	cost  HashCost
}

// NewHasher returns a Hasher that runs at most concurrency hashes at once,
// at cost (zero means DefaultHashCost).
func NewHasher(concurrency int, cost HashCost) *Hasher {
	if cost == (HashCost{}) {
		cost = DefaultHashCost
	}
	return &Hasher{slots: make(chan struct{}, max(concurrency, 1)), cost: cost}
}

// Hash returns the PHC-style encoding of password's argon2id hash.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := h.derive(ctx, password, salt)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.cost.Memory, h.cost.Time, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Check reports whether password matches encoded, a hash made by Hash.
func (h *Hasher) Check(ctx context.Context, password, encoded string) (bool, error) {
	var version int
	var mem, iter uint32
	var threads uint8
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, fmt.Errorf("password hash: unknown format")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil {
		return false, fmt.Errorf("password hash: version: %w", err)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iter, &threads); err != nil {
		return false, fmt.Errorf("password hash: parameters: %w", err)
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false, fmt.Errorf("password hash: bad encoding")
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, iter, mem, threads, uint32(len(want)))
	<-h.slots
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// Dummy burns the time of one Check, so that a login for a user who does not
// exist takes as long as one with a wrong password.
func (h *Hasher) Dummy(ctx context.Context, password string) {
	h.derive(ctx, password, make([]byte, 16))
}

func (h *Hasher) derive(ctx context.Context, password string, salt []byte) ([]byte, error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-h.slots }()
	return argon2.IDKey([]byte(password), salt, h.cost.Time, h.cost.Memory, argonThreads, argonKeyLen), nil
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
