package chat

import (
	"context"
	"fmt"
	"sync"
)

// MaxBulkUsers bounds the accounts one BulkUsers call creates.
const MaxBulkUsers = 10_000

// bulkWriters is how many goroutines create accounts at once: the store
// groups concurrent writes into one commit, so a few writers share fsyncs.
const bulkWriters = 16

// BulkUser is one account BulkUsers created, with a token for it.
type BulkUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Token    string `json:"token"`
}

// BulkUsers creates count accounts named prefix0, prefix1, … that share
// one password, and signs each in. It is for load tests and demo servers:
// the password is hashed once, so creating thousands of accounts takes
// seconds instead of the minutes that one argon2id hash per account would.
// Only a server admin may call it. It is not atomic: if a name is taken,
// the accounts created before the failure remain.
func (s *Service) BulkUsers(ctx context.Context, a Auth, prefix string, count int, password string) ([]BulkUser, error) {
	if !a.User.IsAdmin {
		return nil, ErrForbidden
	}
	if count < 1 || count > MaxBulkUsers {
		return nil, Invalid("count", "out_of_range", fmt.Sprintf("must be 1–%d", MaxBulkUsers))
	}
	if prefix == "" || !ValidUsername(prefix+"0") || !ValidUsername(fmt.Sprint(prefix, count-1)) {
		return nil, Invalid("prefix", "invalid", "prefix and number must form a valid username")
	}
	if err := checkPassword("password", password); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return nil, err
	}

	out := make([]BulkUser, count)
	errs := make([]error, bulkWriters)
	var wg sync.WaitGroup
	for w := range bulkWriters {
		wg.Go(func() {
			for i := w; i < count && errs[w] == nil; i += bulkWriters {
				out[i], errs[w] = s.bulkUser(ctx, fmt.Sprint(prefix, i), hash)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) bulkUser(ctx context.Context, username, hash string) (BulkUser, error) {
	now := s.clock.Now()
	u, err := s.store.CreateUser(ctx, User{ID: NewID(now), Username: username, DisplayName: username, CreatedAt: now}, hash)
	if err != nil {
		return BulkUser{}, err
	}
	token, err := s.issueToken(ctx, u.ID)
	return BulkUser{ID: u.ID, Username: u.Username, Token: token}, err
}
