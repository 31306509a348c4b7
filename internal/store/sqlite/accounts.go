package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// userCols are the columns scanUser reads, from users aliased u.
const userCols = `u.id, u.username, u.display_name, u.is_admin, u.created_at`

// returningUser is userCols for a RETURNING clause, which takes no alias.
const returningUser = `RETURNING id, username, display_name, is_admin, created_at`

type scanner interface{ Scan(dest ...any) error }

// scanUser reads userCols, then the rest of the row into more.
func scanUser(sc scanner, more ...any) (chat.User, error) {
	var u chat.User
	var created int64
	dest := append([]any{&u.ID, &u.Username, &u.DisplayName, &u.IsAdmin, &created}, more...)
	if err := sc.Scan(dest...); err != nil {
		return chat.User{}, err
	}
	u.CreatedAt = fromMS(created)
	return u, nil
}

func loadUser(ctx context.Context, q querier, id string) (chat.User, error) {
	u, err := scanUser(q.queryRow(ctx, `SELECT `+userCols+` FROM users u WHERE u.id = ?`, id))
	return u, rowErr(err, "user %s", id)
}

// CreateUser stores u; the first user is made an admin in the same
// statement, so two first users cannot both become admins.
func (s *Store) CreateUser(ctx context.Context, u chat.User, passwordHash string) (chat.User, error) {
	u.CreatedAt = norm(u.CreatedAt)
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		err := tx.queryRow(ctx, `INSERT INTO users
			(id, username, username_key, display_name, is_admin, password_hash, created_at)
			VALUES (?, ?, ?, ?, ? OR NOT EXISTS (SELECT 1 FROM users), ?, ?)
			RETURNING is_admin`,
			u.ID, u.Username, key(u.Username), u.DisplayName, u.IsAdmin,
			passwordHash, ms(u.CreatedAt)).Scan(&u.IsAdmin)
		switch {
		case isUnique(err, "users.username_key"):
			return fmt.Errorf("sqlite: username %q: %w", u.Username, chat.ErrUsernameTaken)
		case isUnique(err, ""):
			return fmt.Errorf("sqlite: user %s: %w", u.ID, chat.ErrConflict)
		case err != nil:
			return fmt.Errorf("sqlite: create user: %w", err)
		}
		return nil
	})
	if err != nil {
		return chat.User{}, err
	}
	return u, nil
}

// User returns the user with id.
func (s *Store) User(ctx context.Context, id string) (chat.User, error) {
	return loadUser(ctx, s.rq, id)
}

// Credentials returns a user and its password hash by username.
func (s *Store) Credentials(ctx context.Context, username string) (chat.Credentials, error) {
	var c chat.Credentials
	var err error
	c.User, err = scanUser(s.rq.queryRow(ctx,
		`SELECT `+userCols+`, u.password_hash FROM users u WHERE u.username_key = ?`,
		key(username)), &c.PasswordHash)
	if err != nil {
		return chat.Credentials{}, rowErr(err, "username %q", username)
	}
	return c, nil
}

// maxRune sorts after every character, so [p, p+maxRune) holds exactly the
// keys that start with p and the index on username_key answers the search.
const maxRune = "\U0010FFFF"

// SearchUsers returns up to limit users whose username starts with prefix.
func (s *Store) SearchUsers(ctx context.Context, prefix string, limit int) ([]chat.User, error) {
	users := []chat.User{}
	if limit <= 0 {
		return users, nil
	}
	p := key(prefix)
	rows, err := s.rq.query(ctx, `SELECT `+userCols+` FROM users u
		WHERE u.username_key >= ? AND u.username_key < ?
		ORDER BY u.username_key LIMIT ?`, p, p+maxRune, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: search users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: search users: %w", err)
	}
	return users, nil
}

// UpdateUser stores u's display name and returns the user as stored.
func (s *Store) UpdateUser(ctx context.Context, u chat.User) (chat.User, error) {
	var out chat.User
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		out, err = scanUser(tx.queryRow(ctx, `UPDATE users SET display_name = ?
			WHERE id = ? `+returningUser, u.DisplayName, u.ID))
		return rowErr(err, "user %s", u.ID)
	})
	if err != nil {
		return chat.User{}, err
	}
	return out, nil
}

// SetPassword replaces the password hash and deletes the user's tokens but
// keep, in one transaction: no old token outlives the change.
func (s *Store) SetPassword(ctx context.Context, userID, passwordHash string, keep []byte) error {
	return s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`,
			passwordHash, userID)
		if err := affected(res, err, "user %s", userID); err != nil {
			return err
		}
		// With keep nil, "hash IS NOT NULL" holds for every token.
		_, err = tx.exec(ctx, `DELETE FROM tokens WHERE user_id = ? AND hash IS NOT ?`,
			userID, keep)
		if err != nil {
			return fmt.Errorf("sqlite: delete tokens of %s: %w", userID, err)
		}
		return nil
	})
}

// affected normalises the outcome of a statement that must change a row.
func affected(res sql.Result, err error, format string, args ...any) error {
	if err != nil {
		return rowErr(err, format, args...)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return rowErr(err, format, args...)
	}
	if n == 0 {
		return notFound(format, args...)
	}
	return nil
}

// GrantAdmin makes the user with username a server admin.
func (s *Store) GrantAdmin(ctx context.Context, username string) (chat.User, error) {
	var u chat.User
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		u, err = scanUser(tx.queryRow(ctx, `UPDATE users SET is_admin = 1
			WHERE username_key = ? `+returningUser, key(username)))
		return rowErr(err, "username %q", username)
	})
	if err != nil {
		return chat.User{}, err
	}
	return u, nil
}

// CreateToken stores t. A token never used counts as used when created, so
// that it is not born expired.
func (s *Store) CreateToken(ctx context.Context, t chat.Token) error {
	if t.LastUsed.IsZero() {
		t.LastUsed = t.CreatedAt
	}
	return s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		_, err := tx.exec(ctx, `INSERT INTO tokens (hash, user_id, created_at, last_used)
			VALUES (?, ?, ?, ?)`, t.Hash, t.UserID, ms(t.CreatedAt), ms(t.LastUsed))
		switch {
		case isForeignKey(err):
			return notFound("user %s", t.UserID)
		case isUnique(err, ""):
			return fmt.Errorf("sqlite: token: %w", chat.ErrConflict)
		case err != nil:
			return fmt.Errorf("sqlite: create token: %w", err)
		}
		return nil
	})
}

// TokenUser returns the user of a token last used at or after notBefore.
func (s *Store) TokenUser(ctx context.Context, hash []byte, notBefore time.Time) (chat.User, time.Time, error) {
	var used int64
	u, err := scanUser(s.rq.queryRow(ctx, `SELECT `+userCols+`, t.last_used
		FROM tokens t JOIN users u ON u.id = t.user_id
		WHERE t.hash = ? AND t.last_used >= ?`, hash, ms(notBefore)), &used)
	if err != nil {
		return chat.User{}, time.Time{}, rowErr(err, "token")
	}
	return u, fromMS(used), nil
}

// TouchToken records a use of the token. It never moves last_used back, so
// that touches committed out of order cannot shorten a token's life.
func (s *Store) TouchToken(ctx context.Context, hash []byte, at time.Time) error {
	return s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.exec(ctx, `UPDATE tokens SET last_used = max(last_used, ?)
			WHERE hash = ?`, ms(at), hash)
		return affected(res, err, "token")
	})
}

// DeleteToken deletes the token with hash, if any.
func (s *Store) DeleteToken(ctx context.Context, hash []byte) error {
	return s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		if _, err := tx.exec(ctx, `DELETE FROM tokens WHERE hash = ?`, hash); err != nil {
			return fmt.Errorf("sqlite: delete token: %w", err)
		}
		return nil
	})
}
