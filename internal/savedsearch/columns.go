package savedsearch

import (
	"net/url"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/store"
)

// The columns of the table of events a saved search keeps beside its
// query: the console's and the portal's choice of columns, restored when
// the search is opened. The portal's table never shows a field that
// notifications withhold, whatever a saved search's list says.

// Column is a column of the table of events a person may choose.
type Column struct {
	// Field is the event field the column shows.
	Field string
	// Team marks a column only the team's table shows.
	Team bool
}

// TableColumns are the table's columns a person chooses from, in the
// order the table shows them (the event's time always comes first, and
// is not a choice). The console's table labels each.
var TableColumns = []Column{
	{Field: "extra.constituency", Team: true},
	{Field: "classification.taxonomy"},
	{Field: "classification.type"},
	{Field: "classification.identifier"},
	{Field: "source.ip"},
	{Field: "source.port"},
	{Field: "source.asn"},
	{Field: "source.geolocation.cc"},
	{Field: "source.fqdn"},
	{Field: "source.url"},
	{Field: "destination.ip"},
	{Field: "destination.port"},
	{Field: "destination.asn"},
	{Field: "destination.fqdn"},
	{Field: "malware.name"},
	{Field: "malware.hash.sha256"},
	{Field: "feed.name"},
	{Field: "feed.provider"},
}

// ColumnsParam is the events page's query parameter naming the columns a
// saved search was opened with, comma-separated.
const ColumnsParam = "cols"

// offered reports whether the table offers c: to the team every column,
// elsewhere (the portal) those neither team-only nor withheld from an
// organisation.
func offered(c Column, team bool) bool {
	return team || !c.Team && store.ConstituentColumn(c.Field)
}

// OfferedColumns returns those of fields the table offers (team: the
// team's table), each once, in the table's order; anything else is left
// out. It is for links, which a mangled one must not break.
func OfferedColumns(fields []string, team bool) []string {
	var out []string
	for _, c := range TableColumns {
		if offered(c, team) && slices.Contains(fields, c.Field) {
			out = append(out, c.Field)
		}
	}
	return out
}

// CleanColumns checks fields, the columns to keep with a search: each a
// column the table offers (team: the team's table), none twice. It
// returns them in the table's order, nil for none; a *QueryError about
// "columns" names the first at fault.
func CleanColumns(fields []string, team bool) ([]string, error) {
	for i, f := range fields {
		at := slices.IndexFunc(TableColumns, func(c Column) bool { return c.Field == f })
		switch {
		case at < 0 || !offered(TableColumns[at], team):
			return nil, &QueryError{Param: "columns", Reason: f + " is not a column the table offers"}
		case slices.Contains(fields[:i], f):
			return nil, &QueryError{Param: "columns", Reason: f + " is given twice"}
		}
	}
	return OfferedColumns(fields, team), nil
}

// ColumnsQuery is fields as the events page's query parameter, "" for
// none.
func ColumnsQuery(fields []string) string {
	if len(fields) == 0 {
		return ""
	}
	return ColumnsParam + "=" + strings.Join(fields, ",")
}

// ParseColumns reads the value of ColumnsParam: the fields it names, as
// given ("" is none).
func ParseColumns(v string) []string {
	if strings.TrimSpace(v) == "" {
		return nil
	}
	fields := strings.Split(v, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return fields
}

// SplitColumns takes the columns out of raw, a query string of the
// events page: the query without them, the fields ColumnsParam names, and
// whether raw had it. A raw that does not read is returned as it is.
func SplitColumns(raw string) (query string, fields []string, had bool) {
	values, err := url.ParseQuery(raw)
	if err != nil || !values.Has(ColumnsParam) {
		return raw, nil, false
	}
	fields = ParseColumns(values.Get(ColumnsParam))
	values.Del(ColumnsParam)
	return values.Encode(), fields, true
}
