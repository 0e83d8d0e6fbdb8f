package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigil-cert/vigil/internal/auth"
)

const auditPageSize = 100

// auditPage is the data of the audit log.
type auditPage struct {
	Actor   string
	Entries []auth.AuditEntry
	NextURL string
}

func (c *Console) auditLog(w http.ResponseWriter, r *http.Request, v *visit) {
	actor := strings.TrimSpace(r.URL.Query().Get("actor"))
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	entries, err := c.store.ListAudit(r.Context(), auth.AuditQuery{Limit: auditPageSize + 1, BeforeID: before, Actor: actor})
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	p := auditPage{Actor: actor}
	if len(entries) > auditPageSize {
		entries = entries[:auditPageSize]
		q := url.Values{"before": {strconv.FormatInt(entries[len(entries)-1].ID, 10)}}
		if actor != "" {
			q.Set("actor", actor)
		}
		p.NextURL = "/audit?" + q.Encode()
	}
	p.Entries = entries
	c.render(w, r, v, http.StatusOK, "audit", msgTitleAudit, p, "", "")
}
