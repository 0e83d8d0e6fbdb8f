package channel

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store"
)

// memory is the publication outbox in memory, for the worker's tests
// before and beside the SQL store: publications and deliveries.
type memory struct {
	mu           sync.Mutex
	publications map[int64]publication.Publication
	deliveries   map[int64]publication.Delivery
	nextID       int64
	// finishes counts FinishDelivery calls; failFinish makes them fail.
	finishes   int
	failFinish bool
}

func newMemory() *memory {
	return &memory{publications: map[int64]publication.Publication{}, deliveries: map[int64]publication.Delivery{}}
}

func (m *memory) add(p publication.Publication) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publications[p.ID] = p
}

// queue queues a delivery of publication id on channel in lang, created
// at created, and returns its id.
func (m *memory) queue(id int64, channel, lang string, created time.Time) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextID++
	p := m.publications[id]
	m.deliveries[m.nextID] = publication.Delivery{ID: m.nextID, PublicationID: id, Revision: p.Revision, Channel: channel,
		Lang: lang, Status: publication.DeliveryQueued, NextAttempt: created, Created: created}
	return m.nextID
}

func (m *memory) get(id int64) publication.Delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deliveries[id]
}

func (m *memory) GetPublication(_ context.Context, id int64) (publication.Publication, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.publications[id]
	if !ok {
		return p, fmt.Errorf("publication %d: %w", id, store.ErrNotFound)
	}
	return p, nil
}

func (m *memory) DueDeliveries(_ context.Context, channel string, now time.Time, limit int) ([]publication.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []publication.Delivery
	for _, d := range m.deliveries {
		if d.Channel == channel && d.Status == publication.DeliveryQueued && !d.NextAttempt.After(now) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(a, b publication.Delivery) int { return int(a.ID - b.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (m *memory) FinishDelivery(_ context.Context, d publication.Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failFinish {
		return fmt.Errorf("disk on fire")
	}
	if _, ok := m.deliveries[d.ID]; !ok {
		return fmt.Errorf("delivery %d: %w", d.ID, store.ErrNotFound)
	}
	m.finishes++
	m.deliveries[d.ID] = d
	return nil
}

func (m *memory) ListDeliveries(_ context.Context, id int64) ([]publication.Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []publication.Delivery
	for _, d := range m.deliveries {
		if d.PublicationID == id {
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memory) SkipUnknownChannels(_ context.Context, known []string, reason func(string) string, queuedBefore, now time.Time) (map[string]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for id, d := range m.deliveries {
		if d.Status == publication.DeliveryQueued && !slices.Contains(known, d.Channel) && d.Created.Before(queuedBefore) {
			d.Status, d.LastError, d.Done = publication.DeliverySkipped, reason(d.Channel), now
			m.deliveries[id] = d
			out[d.Channel]++
		}
	}
	return out, nil
}

var _ publication.Deliveries = (*memory)(nil)

// problem reads d's LastError back: its message ID and its English
// text, ("", "") for none. A LastError that is not a stored message
// (English written into the database) fails the test.
func problem(t *testing.T, d publication.Delivery) (id, english string) {
	t.Helper()
	if d.LastError == "" {
		return "", ""
	}
	m, ok := i18n.Decode(d.LastError)
	if !ok {
		t.Fatalf("delivery %d: LastError %q is not a stored message", d.ID, d.LastError)
	}
	return m.ID, m.String()
}

// advisory is a public advisory with texts in English, Dutch and French.
func advisory(id int64) publication.Publication {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	return publication.Publication{
		ID: id, Ident: fmt.Sprintf("VIGIL-2026-%04d", id), Kind: publication.KindAdvisory,
		Status: publication.StatusPublished, Revision: 1, Published: at,
		Content: publication.Content{
			Severity: "critical", TLP: publication.TLPClear,
			CVEs: []string{"CVE-2026-12345", "CVE-2026-23456"},
			Texts: []publication.Text{
				{Lang: "en", Title: "Critical vulnerability in Unicode Server", Summary: "Patch now.", Updated: at},
				{Lang: "nl", Title: "Kritieke kwetsbaarheid in Ünïcode", Summary: "Patch nu.", Updated: at},
				{Lang: "fr", Title: "Vulnérabilité critique dans « Ünïcode » 🔥", Summary: "Corrigez maintenant.", Updated: at},
			},
		},
	}
}

// hasProblem reports whether d's LastError is the message id whose
// English text is english, and says what it is when not.
func hasProblem(t *testing.T, d publication.Delivery, id, english string) bool {
	t.Helper()
	gotID, got := problem(t, d)
	if gotID != id || got != english {
		t.Errorf("delivery %d: LastError %s %q, want %s %q", d.ID, gotID, got, id, english)
		return false
	}
	return true
}

func first(id, _ string) string { return id }
