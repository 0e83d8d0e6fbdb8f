package shadowserver

import (
	"encoding/base64"
	"errors"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// valueKind says what a converter produced, which decides how the value is
// stored: harmonized fields are validated by event.Set, extra.* fields are
// written as the matching JSON type.
type valueKind uint8

const (
	valueNone   valueKind = iota // the converter dropped the value: nothing is set
	valueString                  // text
	valueNumber                  // a JSON number literal
	valueBool                    // true or false
	valueTime                    // a harmonized date-time, appended to row.text
)

// row gives converters that combine cells (a URL from host and path) access
// to the other cells of the row by column name.
type row struct {
	cells []string
	index map[string]int
	// text collects the row's generated text (JSON strings, date-times,
	// raw) so that it becomes one string, one allocation, per row.
	text []byte
	// epochSeconds reads a bare number in a date-time column as seconds
	// since 1970 (the feed's epoch_seconds option); otherwise it is refused.
	epochSeconds bool
}

func (r *row) get(column string) (string, bool) {
	i, ok := r.index[column]
	if !ok || i >= len(r.cells) {
		return "", false
	}
	return r.cells[i], true
}

// converter is one of the conversion functions a schema names. Converters
// that read other cells (withRow) run even on an empty cell.
type converter struct {
	name    string
	withRow bool
	fn      func(v string, r *row) (string, valueKind, error)
}

// converters are the functions Shadowserver's schema refers to by name, with
// the meaning IntelMQ gives them. Where IntelMQ silently drops a malformed
// value we return an error instead, so the cell is kept as extra.<column>
// (or the row rejected, for a required field) rather than lost.
var converters = map[string]*converter{
	"add_UTC_to_timestamp":      {fn: convertTimeUTC},
	"convert_date":              {fn: convertTimeUTC},
	"convert_date_utc":          {fn: convertTimeUTC},
	"convert_bool":              {fn: convertBool},
	"convert_int":               {fn: convertInt},
	"convert_float":             {fn: convertFloat},
	"invalidate_zero":           {fn: invalidateZero},
	"validate_to_none":          {fn: validateToNone},
	"set_tor_node":              {fn: setTorNode},
	"validate_ip":               {fn: validateIP},
	"validate_network":          {fn: validateNetwork},
	"validate_fqdn":             {fn: validateFQDN},
	"force_base64":              {fn: forceBase64},
	"convert_http_host_and_url": {fn: httpHostAndURL, withRow: true},
	"category_or_detail":        {fn: categoryOrDetail, withRow: true},
	"scan_exchange_taxonomy":    {fn: exchangeChooser("intrusions", "vulnerable")},
	"scan_exchange_type":        {fn: exchangeChooser("system-compromise", "vulnerable-system")},
	"scan_exchange_identifier":  {fn: exchangeChooser("exchange-server-webshell", "vulnerable-exchange-server")},
}

func init() {
	for name, c := range converters {
		c.name = name
	}
}

// convertTimeUTC reads a date-time; one without a zone is UTC, which is
// how Shadowserver writes its timestamps ("2026-11-20 00:01:02"). The
// canonical form is appended to r.text rather than returned.
func convertTimeUTC(v string, r *row) (string, valueKind, error) {
	t, ok := parseShadowTime(v)
	if !ok {
		var err error
		if t, err = parseOtherTime(v, r.epochSeconds); err != nil {
			return "", valueNone, i18n.Wrap(err, "shadowserver.reason.quoted", v)
		}
	}
	r.text = appendTime(r.text, t)
	return "", valueTime, nil
}

// parseOtherTime tries HTTP's date form (http_date columns) before the
// general parser, which would reject ten other layouts first. A bare
// number is a time only when the feed says it sends epoch seconds.
func parseOtherTime(v string, epochSeconds bool) (time.Time, error) {
	if len(v) > 4 && v[3] == ',' {
		if t, err := time.Parse(time.RFC1123, v); err == nil {
			return t, nil
		}
	}
	t, err := event.ParseFeedTime(v)
	if epochSeconds && errors.Is(err, event.ErrNumericTime) {
		return event.ParseEpochSeconds(v)
	}
	return t, err
}

// parseShadowTime is the fast path for "YYYY-MM-DD HH:MM:SS" (also with a T
// and a trailing Z), the form of nearly every row; time.Parse costs several
// times more and allocates on each layout it rejects.
func parseShadowTime(s string) (time.Time, bool) {
	if len(s) == 20 && (s[19] == 'Z' || s[19] == 'z') {
		s = s[:19]
	}
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	second, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year < 1970 || month < 1 || month > 12 ||
		day < 1 || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, second, 0, time.UTC)
	if t.Day() != day { // 31 April and the like roll over; refuse them
		return time.Time{}, false
	}
	return t, true
}

// appendTime writes t exactly as event.FormatTime does.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Nanosecond() != 0 {
		return append(b, event.FormatTime(t)...)
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, s, 2)
	return append(b, "+00:00"...)
}

func appendDigits(b []byte, n, width int) []byte {
	var d [8]byte
	for i := width - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:width]...)
}

func convertBool(v string, _ *row) (string, valueKind, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y", "yes", "true", "t", "enabled", "1":
		return "true", valueBool, nil
	case "n", "no", "false", "f", "disabled", "0":
		return "false", valueBool, nil
	case "":
		return "", valueNone, nil
	}
	return "", valueNone, &valueError{value: v, want: "shadowserver.reason.not.boolean"}
}

func convertInt(v string, _ *row) (string, valueKind, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", valueNone, nil
	}
	if canonicalInteger(v) {
		return v, valueNumber, nil // no new string
	}
	if !decimalDigits(v) {
		// Not a number at all ("TLSv1.2"): strconv's error would cost
		// three allocations only to be dropped.
		return "", valueNone, &valueError{value: v, want: "shadowserver.reason.not.integer"}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return "", valueNone, &valueError{value: v, want: "shadowserver.reason.not.integer"}
	}
	return strconv.FormatInt(n, 10), valueNumber, nil
}

// decimalDigits reports whether v is digits with an optional sign, the
// only text strconv.ParseInt may read as base 10 (it also takes
// underscores only with base 0).
func decimalDigits(v string) bool {
	if len(v) > 0 && (v[0] == '-' || v[0] == '+') {
		v = v[1:]
	}
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// canonicalInteger reports whether v is an integer exactly as
// strconv.FormatInt would write it.
func canonicalInteger(v string) bool {
	d := v
	if len(d) > 0 && d[0] == '-' {
		d = d[1:]
		if d == "0" {
			return false
		}
	}
	if len(d) == 0 || len(d) > 18 || (d[0] == '0' && len(d) > 1) {
		return false // 18 digits always fit an int64
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

func convertFloat(v string, _ *row) (string, valueKind, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", valueNone, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", valueNone, &valueError{value: v, want: "shadowserver.reason.not.number"}
	}
	return strconv.FormatFloat(f, 'f', -1, 64), valueNumber, nil
}

// invalidateZero drops 0, which Shadowserver writes for "unknown" in
// numeric columns such as asn and naics.
func invalidateZero(v string, r *row) (string, valueKind, error) {
	s, kind, err := convertInt(v, r)
	if err != nil || kind == valueNone {
		return s, kind, err
	}
	if s == "0" {
		return "", valueNone, nil
	}
	return s, kind, nil
}

// validateToNone drops the placeholders Shadowserver writes for "not known".
func validateToNone(v string, _ *row) (string, valueKind, error) {
	switch v {
	case "", "0", "unknown":
		return "", valueNone, nil
	}
	return v, valueString, nil
}

func setTorNode(v string, _ *row) (string, valueKind, error) {
	if v == "" {
		return "", valueNone, nil
	}
	return "true", valueBool, nil
}

// validateIP drops 0.0.0.0 (Shadowserver's "no address") and networks,
// which validate_network maps from the same column.
func validateIP(v string, _ *row) (string, valueKind, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0.0.0.0" || strings.Contains(v, "/") {
		return "", valueNone, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		return "", valueNone, &valueError{value: v, want: "shadowserver.reason.not.ip"}
	}
	if a.Is4() {
		// netip accepts only the canonical dotted quad (no leading
		// zeros), so the text is already what String would return.
		return v, valueString, nil
	}
	return a.Unmap().String(), valueString, nil
}

// validateNetwork keeps only values written as prefixes; plain addresses
// are validate_ip's.
func validateNetwork(v string, _ *row) (string, valueKind, error) {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "/") {
		return "", valueNone, nil
	}
	if _, err := event.Normalize("source.network", v); err != nil {
		return "", valueNone, &valueError{value: v, want: "shadowserver.reason.not.network"}
	}
	return v, valueString, nil
}

func validateFQDN(v string, _ *row) (string, valueKind, error) {
	if v == "" {
		return "", valueNone, nil
	}
	n, err := event.Normalize("source.fqdn", v)
	if err != nil {
		var fe *event.FieldError
		if errors.As(err, &fe) {
			return "", valueNone, i18n.NewError("shadowserver.reason.host", v, fe.ReasonMessage())
		}
		return "", valueNone, err
	}
	return n, valueString, nil
}

// forceBase64 keeps base64 text as it is and encodes anything else, since
// Shadowserver mixes both in some columns.
func forceBase64(v string, _ *row) (string, valueKind, error) {
	if v == "" {
		return "", valueNone, nil
	}
	if _, err := base64.StdEncoding.Strict().DecodeString(v); err == nil {
		return v, valueString, nil
	}
	return base64.StdEncoding.EncodeToString([]byte(v)), valueString, nil
}

// httpHostAndURL joins a host and a path kept in separate columns. The path
// column sometimes holds the whole request line ("GET /x HTTP/1.1"), so
// everything before the first slash and after the first blank goes.
func httpHostAndURL(v string, r *row) (string, valueKind, error) {
	// An empty column counts as absent, so that a report read from JSON,
	// where every column of the schema is present, reads as its CSV form.
	host, _ := r.get("cc_dns")
	if host == "" {
		host, _ = r.get("http_host")
	}
	path, _ := r.get("url")
	if path == "" {
		path, _ = r.get("http_url")
	}
	if host == "" || path == "" {
		if v == "" {
			return "", valueNone, nil
		}
		return v, valueString, nil
	}
	if i := strings.IndexByte(path, '/'); i >= 0 {
		path = path[i:]
	} else {
		path = ""
	}
	if i := strings.IndexAny(path, " \t"); i >= 0 {
		path = path[:i]
	}
	scheme := "http"
	if app, _ := r.get("application"); app == "http" || app == "https" {
		scheme = app
	}
	return scheme + "://" + host + path, valueString, nil
}

// categoryOrDetail prefers the category cell and falls back to detail.
func categoryOrDetail(v string, r *row) (string, valueKind, error) {
	if v != "" {
		return v, valueString, nil
	}
	if d, _ := r.get("detail"); d != "" {
		return d, valueString, nil
	}
	return "", valueNone, nil
}

// exchangeChooser classifies the vulnerable-Exchange report, whose tag
// column tells a planted web shell from a merely vulnerable server.
func exchangeChooser(webshell, otherwise string) func(string, *row) (string, valueKind, error) {
	return func(v string, _ *row) (string, valueKind, error) {
		if v == "exchange;webshell" {
			return webshell, valueString, nil
		}
		return otherwise, valueString, nil
	}
}

// valueError is a converter's reason for a value it cannot read. Most of
// them are never read: an optional column whose value fails is kept as
// extra.<column> (scan_rdp's ssl_version, "TLSv1.2", under convert_int,
// on every row), so the message is made only when asked for, not with
// fmt.Errorf on every row.
type valueError struct {
	value string
	want  string // what the value is not, by message ID: "shadowserver.reason.not.integer"
}

func (e *valueError) Error() string         { return e.Explain().String() }
func (e *valueError) Explain() i18n.Message { return i18n.M(e.want, e.value) }
