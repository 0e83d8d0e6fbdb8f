package incidentdb

import (
	"context"
	"fmt"

	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// AddEntryIn appends e to its incident's timeline and marks the incident
// changed, in tx, a transaction of the caller's: the correspondence
// (internal/incident/correspond) writes a mail's timeline line in the
// transaction that queues the mail in the outbox and writes its audit
// entry, so that the three are kept or lost together.
func AddEntryIn(ctx context.Context, tx sqlkit.DB, e *incident.Entry) error {
	if err := touch(ctx, tx, e.IncidentID, e.At); err != nil {
		return fmt.Errorf("add timeline entry: %w", err)
	}
	if err := addEntry(ctx, tx, e); err != nil {
		return fmt.Errorf("add timeline entry: %w", err)
	}
	return nil
}
