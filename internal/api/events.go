package api

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/export"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// eventParams are the query parameters of GET /events. Any other name is
// refused: a mistyped filter ("ipaddr=") silently returning every event
// would mislead an analyst, and would send a constituent too much.
var eventParams = []string{
	"ip", "cidr", "asn", "fqdn", "url", "hash", "taxonomy", "type", "feed", "tlp",
	"from", "to", "limit", "cursor", "format", "columns",
}

// Export formats of GET /events.
const (
	formatJSON       = "json"
	formatCSV        = "csv"
	formatJSONLines  = "jsonl"
	maxPageSize      = 10000
	defaultPageSize  = 50
	columnsAllFields = "all"
)

// eventSearch is a parsed GET /events request.
type eventSearch struct {
	query   store.EventQuery
	format  string
	csv     export.CSVOptions
	maximum int // csv and jsonl: stop after this many events; 0 streams all
}

// parseEventSearch reads the query parameters of GET /events; the error
// names the parameter at fault.
func parseEventSearch(values url.Values) (eventSearch, error) {
	s := eventSearch{format: formatJSON}
	if err := checkParams(values, eventParams); err != nil {
		return s, err
	}
	q := &s.query
	get := values.Get
	if v := get("ip"); v != "" {
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return s, badParameter("ip", "not an IP address")
		}
		q.IP = a.Unmap()
	}
	if v := get("cidr"); v != "" {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return s, badParameter("cidr", "not a CIDR prefix such as 192.0.2.0/24")
		}
		q.Prefix = p.Masked()
	}
	if v := get("asn"); v != "" {
		n, err := event.Normalize("source.asn", v)
		if err != nil {
			return s, badParameter("asn", "not an AS number (1-4294967295)")
		}
		asn, _ := strconv.ParseUint(n, 10, 32)
		q.ASN = uint32(asn)
	}
	if v := get("fqdn"); v != "" {
		n, err := event.Normalize("source.fqdn", v)
		if err != nil {
			return s, badParameter("fqdn", "not a host name")
		}
		q.FQDN = n
	}
	if v := get("url"); v != "" {
		// Events keep URLs in canonical form; the search must use it too.
		n, err := event.Normalize("source.url", v)
		if err != nil {
			return s, badParameter("url", "not a URL")
		}
		q.URL = n
	}
	if v := get("hash"); v != "" {
		v = strings.ToLower(v)
		if store.HashColumn(v) == "" || !isHex(v) {
			return s, badParameter("hash", "not an MD5, SHA-1 or SHA-256 hash in hex")
		}
		q.Hash = v
	}
	if v := get("taxonomy"); v != "" {
		v = strings.ToLower(v)
		if !taxonomy.ValidTaxonomy(v) {
			return s, badParameter("taxonomy", "not an RSIT taxonomy")
		}
		q.Taxonomy = v
	}
	if v := get("type"); v != "" {
		v = strings.ToLower(v)
		if !taxonomy.ValidType(v) {
			return s, badParameter("type", "not an RSIT classification type")
		}
		q.Type = v
	}
	q.Feed = get("feed")
	if v := get("tlp"); v != "" {
		n, err := event.Normalize("tlp", v)
		if err != nil {
			return s, badParameter("tlp", "not a TLP label (CLEAR, GREEN, AMBER, AMBER+STRICT, RED)")
		}
		q.TLP = n
	}
	var err error
	if q.From, err = parseTime(values, "from"); err != nil {
		return s, err
	}
	if q.To, err = parseTime(values, "to"); err != nil {
		return s, err
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.To.After(q.From) {
		return s, badParameter("to", "must be after from")
	}
	if v := get("cursor"); v != "" {
		if _, err := store.ParseCursor(v); err != nil {
			return s, badParameter("cursor", "not a cursor this API returned")
		}
		q.After = v
	}
	switch v := get("format"); v {
	case "", formatJSON:
	case formatCSV, formatJSONLines:
		s.format = v
	default:
		return s, badParameter("format", "must be json, csv or jsonl")
	}
	if v := get("columns"); v != "" {
		if s.format != formatCSV {
			return s, badParameter("columns", "only applies to format=csv")
		}
		if v == columnsAllFields {
			s.csv.AllFields = true
		} else if s.csv.Columns, err = export.ParseColumns(v); err != nil {
			return s, badParameter("columns", err.Error())
		}
	}
	limit := 0
	if v := get("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 {
			return s, badParameter("limit", "not a positive integer")
		}
	}
	if s.format == formatJSON {
		if limit > maxPageSize {
			return s, badParameter("limit", fmt.Sprintf("at most %d events a page", maxPageSize))
		}
		q.Limit = cmp.Or(limit, defaultPageSize)
	} else {
		// An export streams page after page (of the handler's export page
		// size); limit caps its total.
		s.maximum = limit
	}
	return s, nil
}

// checkParams refuses unknown and repeated query parameters.
func checkParams(values url.Values, known []string) error {
	for name, vs := range values {
		if name == "" {
			return badParameter("(unnamed)", "a parameter without a name")
		}
		if !slices.Contains(known, name) {
			return badParameter(name, "unknown parameter; this operation takes "+strings.Join(known, ", "))
		}
		if len(vs) > 1 {
			return badParameter(name, "given more than once")
		}
	}
	return nil
}

func parseTime(values url.Values, name string) (time.Time, error) {
	v := values.Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := event.ParseTime(v)
	if err != nil {
		return time.Time{}, badParameter(name, "not a date-time (RFC 3339, such as 2024-05-01T00:00:00Z, or a date)")
	}
	return t, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// eventJSON is an event as the API shows it: its key, when Vigil stored
// it, and the event in IntelMQ's flat JSON form.
type eventJSON struct {
	Hash   string       `json:"hash"`
	Stored time.Time    `json:"stored"`
	Event  *event.Event `json:"event"`
}

func toEventJSON(e store.StoredEvent) eventJSON {
	return eventJSON{Hash: e.Hash.String(), Stored: e.Stored.UTC(), Event: e.Event}
}

type eventPageJSON struct {
	Events []eventJSON `json:"events"`
	// Next is absent on the last page.
	Next string `json:"next,omitempty"`
}

func (h *handler) searchEvents(r *http.Request, _ *caller) (any, error) {
	s, err := parseEventSearch(r.URL.Query())
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	if s.format != formatJSON {
		s.query.Limit = h.exportPageSize
	}
	switch s.format {
	case formatCSV:
		return &download{
			contentType: "text/csv; charset=utf-8",
			filename:    "vigil-events.csv",
			events:      export.Limit(export.Search(ctx, h.store, s.query), s.maximum),
			write: func(w io.Writer, events export.Events) error {
				return export.WriteCSV(w, events, s.csv)
			},
		}, nil
	case formatJSONLines:
		return &download{
			contentType: "application/x-ndjson",
			filename:    "vigil-events.jsonl",
			events:      export.Limit(export.Search(ctx, h.store, s.query), s.maximum),
			write:       export.WriteJSONLines,
		}, nil
	}
	page, err := h.store.SearchEvents(ctx, s.query)
	if err != nil {
		return nil, fmt.Errorf("search events: %w", err)
	}
	out := eventPageJSON{Events: make([]eventJSON, len(page.Events)), Next: page.Next}
	for i, e := range page.Events {
		out.Events[i] = toEventJSON(e)
	}
	return out, nil
}

func (h *handler) getEvent(r *http.Request, _ *caller) (any, error) {
	hash, ok := event.ParseHash(strings.ToLower(r.PathValue("hash")))
	if !ok {
		return nil, badParameter("hash", "not an event hash (64 hex digits)")
	}
	e, err := h.store.GetEvent(r.Context(), hash)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errNotFound("no event with this hash")
		}
		return nil, fmt.Errorf("get event %s: %w", hash, err)
	}
	return toEventJSON(e), nil
}
