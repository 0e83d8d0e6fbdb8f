package constituencydb

// The other capabilities' parts in deleting an organisation.

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// A DeleteHook is one capability's part in deleting an organisation: the
// capability answers for its own tables, and the constituency reads and
// writes only its own. Both functions run inside the delete's transaction
// with its handle tx, and an error from either rolls the whole delete back
// (the organisation, its holdings and every other hook's work). id and
// handle name the organisation being deleted.
//
// A known race: the notifier reads the organisations at the start of a
// pass, outside the transaction of its commit (told.Store's
// CommitNotifications), so a pass that read an organisation before its
// delete can commit after it, writing rows under the retired handle
// (observations told, a tally, a last-digest time) and queueing the
// messages it rendered, as if it had committed a moment earlier. This is
// harmless: a handle is retired, never reused (CreateOrganisation refuses
// it), so no organisation reads those rows; they are only left behind.
// Reading the pass's organisations again in the commit's transaction (in
// PostgreSQL locking their rows, as the delete does) and dropping the
// part of any deleted meanwhile would close it.
type DeleteHook struct {
	// Name names the capability in errors.
	Name string
	// Refuse, when set, runs before the organisation's row is deleted; an
	// error keeps the organisation (one wrapping store.ErrConflict says
	// that something of the capability still needs it).
	Refuse func(ctx context.Context, tx sqlkit.DB, id int64, handle string) error
	// Forget, when set, runs after the organisation's row is deleted and
	// removes what the capability keeps under it. In PostgreSQL the row's
	// lock is held by then, so a concurrent write of the capability that
	// first reads the organisation waits for the delete, then finds none.
	Forget func(ctx context.Context, tx sqlkit.DB, id int64, handle string) error
}

// runRefuse runs every hook's Refuse in order and stops at the first error.
func (s *Store) runRefuse(ctx context.Context, tx sqlkit.DB, id int64, handle string) error {
	for _, h := range s.hooks {
		if h.Refuse == nil {
			continue
		}
		if err := h.Refuse(ctx, tx, id, handle); err != nil {
			return err
		}
	}
	return nil
}

// runForget runs every hook's Forget in order and stops at the first error.
func (s *Store) runForget(ctx context.Context, tx sqlkit.DB, id int64, handle string) error {
	for _, h := range s.hooks {
		if h.Forget == nil {
			continue
		}
		if err := h.Forget(ctx, tx, id, handle); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return nil
}
