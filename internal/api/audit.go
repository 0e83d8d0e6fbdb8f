package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
)

// The audit log, for administrators, as the console's audit page: newest
// first, by actor, a page at a time.

var auditParams = []string{"actor", "limit", "before"}

type auditEntryJSON struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	UserID int64     `json:"user_id,omitempty"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	Target string    `json:"target"`
	Detail string    `json:"detail"`
}

type auditPageJSON struct {
	Entries []auditEntryJSON `json:"entries"`
	// NextBefore is the before parameter of the following page; absent on
	// the last one.
	NextBefore int64 `json:"next_before,omitempty"`
}

func (h *handler) listAudit(r *http.Request, _ *caller) (any, error) {
	values := r.URL.Query()
	if err := checkParams(values, auditParams); err != nil {
		return nil, err
	}
	limit, err := intParam(values, "limit", 100, 1000)
	if err != nil {
		return nil, err
	}
	before, err := intParam(values, "before", 0, 1<<62)
	if err != nil {
		return nil, err
	}
	entries, err := h.store.ListAudit(r.Context(), auth.AuditQuery{Limit: int(limit) + 1, BeforeID: before,
		Actor: strings.TrimSpace(values.Get("actor"))})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	out := auditPageJSON{Entries: []auditEntryJSON{}}
	if len(entries) > int(limit) {
		entries = entries[:limit]
		out.NextBefore = entries[len(entries)-1].ID
	}
	for _, e := range entries {
		out.Entries = append(out.Entries, auditEntryJSON{ID: e.ID, Time: e.Time.UTC(), UserID: e.UserID, Actor: e.Actor,
			Action: e.Action, Target: e.Target, Detail: e.Detail})
	}
	return out, nil
}
