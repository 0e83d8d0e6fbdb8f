package sqlitestore

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// searchStmtsMax bounds the statements a store keeps prepared for the
// sealed partitions' searches (each connection of the read pool holds
// its own copy of a statement it ran).
const searchStmtsMax = 256

// stmtCache keeps the sealed partitions' search statements prepared: a
// search by pages asks the same partitions the same statements with other
// cursors, and SQLite parses and plans a statement every time it is not
// prepared (under the race detector most of the contract's time). When
// full it is emptied whole, which is simple and rare: the texts are one
// per partition and query shape.
type stmtCache struct {
	// mu is held for reading while a statement runs, for writing to
	// close them, so that none is closed under a query.
	mu sync.RWMutex
	m  map[string]*sql.Stmt
	// prepares counts the statements prepared (tests).
	prepares atomic.Int64
}

// each runs text with args on db through its prepared statement, calling
// fn on each row, as sqlkit.Each does.
func (c *stmtCache) each(ctx context.Context, db *sql.DB, text string, args []any, fn func(*sql.Rows) error) error {
	for {
		c.mu.RLock()
		if st, ok := c.m[text]; ok {
			err := sqlkit.Each(ctx, stmtQueryer{st}, text, args, fn)
			c.mu.RUnlock()
			return err
		}
		c.mu.RUnlock()
		st, err := db.PrepareContext(ctx, text)
		if err != nil {
			return err
		}
		c.prepares.Add(1)
		c.mu.Lock()
		if _, ok := c.m[text]; ok {
			st.Close() // prepared by another search meanwhile
		} else {
			if len(c.m) >= searchStmtsMax {
				c.closeLocked()
			}
			if c.m == nil {
				c.m = map[string]*sql.Stmt{}
			}
			c.m[text] = st
		}
		c.mu.Unlock()
	}
}

// stmtQueryer runs its statement for sqlkit.Each, whatever the text.
type stmtQueryer struct{ st *sql.Stmt }

func (q stmtQueryer) QueryContext(ctx context.Context, _ string, args ...any) (*sql.Rows, error) {
	return q.st.QueryContext(ctx, args...)
}

// close closes the statements.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked()
}

func (c *stmtCache) closeLocked() {
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}
