package notify

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// memSettings keeps policies and templates in memory, for the tests of
// this package: notifydb, which keeps them in the database, imports this
// package, so its tests cannot use it. notifydb's contract tests check
// that it answers as this does; memSettings does not check that a
// policy's organisation exists.
type memSettings struct {
	mu        sync.Mutex
	policies  map[int64]Policy
	templates map[[2]string]TemplateSource
}

func newMemSettings() *memSettings {
	return &memSettings{policies: map[int64]Policy{}, templates: map[[2]string]TemplateSource{}}
}

var _ Settings = (*memSettings)(nil)

func (m *memSettings) GetNotificationPolicy(_ context.Context, orgID int64) (Policy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.policies[orgID]
	if !ok {
		return Policy{}, fmt.Errorf("get notification policy %d: %w", orgID, store.ErrNotFound)
	}
	return p, nil
}

func (m *memSettings) PutNotificationPolicy(_ context.Context, p Policy) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.Updated.IsZero() {
		p.Updated = store.RecordTime()
	}
	m.policies[p.OrgID] = p
	return nil
}

func (m *memSettings) DeleteNotificationPolicy(_ context.Context, orgID int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.policies, orgID)
	return nil
}

func (m *memSettings) ListNotificationPolicies(context.Context) ([]Policy, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.SortedFunc(maps.Values(m.policies), func(a, b Policy) int { return cmp.Compare(a.OrgID, b.OrgID) }), nil
}

func (m *memSettings) GetNotificationTemplate(_ context.Context, language, name string) (TemplateSource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.templates[[2]string{language, name}]
	if !ok {
		return TemplateSource{}, fmt.Errorf("get notification template %s/%s: %w", language, name, store.ErrNotFound)
	}
	return t, nil
}

func (m *memSettings) PutNotificationTemplate(_ context.Context, t TemplateSource) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.Updated.IsZero() {
		t.Updated = store.RecordTime()
	}
	m.templates[[2]string{t.Language, t.Name}] = t
	return nil
}

func (m *memSettings) DeleteNotificationTemplate(_ context.Context, language, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.templates, [2]string{language, name})
	return nil
}

func (m *memSettings) ListNotificationTemplates(context.Context) ([]TemplateSource, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.SortedFunc(maps.Values(m.templates), func(a, b TemplateSource) int {
		return cmp.Or(cmp.Compare(a.Language, b.Language), cmp.Compare(a.Name, b.Name))
	}), nil
}

// withSettings is a store with the constituency's real store, what was
// told to whom kept by the real told.Store, and settings kept in memory.
type withSettings struct {
	*sqlitestore.Store
	*orgStore
	*toldStore
	*memSettings
	*falsepositive.Marks
}

// orgStore, toldStore and outboxStore are the constituency's store, what
// was told to whom and the outbox under names of their own, so that they
// embed beside the event store.
type (
	orgStore    = constituencydb.Store
	toldStore   = told.Store
	outboxStore = outboxdb.Store
)

// openTestStore opens a SQLite store at path with the schemas of the
// capabilities the notifier reads and writes besides its own settings:
// the constituency's, the accounts', the outbox's and what was told to
// whom (notifydb, which imports this package, cannot be used here).
func openTestStore(tb testing.TB, path string, opts sqlitestore.Options) (*sqlitestore.Store, *orgStore) {
	tb.Helper()
	st, err := sqlitestore.Open(tb.Context(), path, opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.Migrate(tb.Context(), constituencydb.Schema, authdb.Schema, outboxdb.Schema, told.Schema, falsepositive.Schema); err != nil {
		st.Close()
		tb.Fatal(err)
	}
	return st, constituencydb.New(st.DB())
}
