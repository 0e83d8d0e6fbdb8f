package outboxsql

import (
	"context"
	"errors"
	"fmt"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// errPageFull stops reading rows once a page of messages is full.
var errPageFull = errors.New("outboxsql: page full")

// ListMessages returns the messages mq selects on db, newest first,
// without their bodies: the stores' ListMessages. decode reads a stored
// event's data; scan reads one row of List into a message and its list
// of event ids, the two things the drivers store differently.
func (q Queries) ListMessages(ctx context.Context, db sqlkit.DB, mq store.MessageQuery,
	decode func([]byte) (*event.Event, error),
	scan func(row sqlkit.Row, eventIDs *[]byte) (store.OutboxMessage, error)) ([]store.OutboxMessage, error) {
	var (
		orgs []string
		evID int64 // the id of mq.EventHash's event
	)
	if mq.EventHash != (event.Hash{}) {
		// Its messages are among those of its organisations whose range
		// of events holds it; their lists say which.
		var data []byte
		err := db.QueryRow(ctx, q.Event, mq.EventHash[:]).Scan(&evID, &data)
		if db.IsNoRows(err) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		e, err := decode(data)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", mq.EventHash, err)
		}
		if orgs = store.EventOrganisations(e); len(orgs) == 0 {
			return nil, nil
		}
	}
	query, args := q.List(mq, orgs, evID)
	limit := store.MessageLimit(mq.Limit)
	var out []store.OutboxMessage
	err := db.Each(ctx, query, args, func(row sqlkit.Row) error {
		var list []byte
		m, err := scan(row, &list)
		if err != nil {
			return err
		}
		if evID != 0 && !store.EventIDsHave(list, evID) {
			return nil
		}
		out = append(out, m)
		if len(out) >= limit {
			return errPageFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return nil, err
	}
	return out, nil
}
