package notify

import (
	"crypto/sha256"
	"net/netip"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/event"
)

// keyVersion starts every notification key, so that changing the fields
// below is a visible decision: a new version makes every observation new
// once, which is better than silently merging or splitting old keys.
const keyVersion = "vigil-notify-key/1"

// The notification key says what was seen where, and nothing about when
// or by whom. Left out, and why:
//
//   - time.source, time.observation: the same open resolver reported by
//     Shadowserver every day must give the same key.
//   - feed.name, feed.*, raw, event_hash, extra.*: feed bookkeeping. Two
//     feeds reporting the same problem are one problem for the
//     constituent, and renaming a feed must not re-notify everything.
//   - classification.taxonomy: RSIT derives it from the type; keeping it
//     would only split keys when one feed leaves it out.
//
// Two kinds of events need different "where":
//
//   - a service or content at the source (a vulnerable or open service, a
//     phishing page, a malware download, a compromised web server): the
//     source port, host name and URL say which one, and are stable;
//   - an activity of the source host (an infected machine calling its
//     command server, a scanner, a brute-forcer, spam, a DDoS): the source
//     port is a random client port and the destination a sensor or
//     sinkhole that changes from one report to the next. For these the key
//     keeps the source host, the malware, the application and the
//     destination port (which service it goes after), and drops the
//     source port and the destination address.
var (
	serviceKeyFields = [...]string{
		"classification.type", "classification.identifier",
		"source.ip", "source.port", "source.fqdn", "source.url",
		"destination.ip", "destination.port", "destination.fqdn", "destination.url",
		"malware.name", "protocol.application",
	}
	activityKeyFields = []string{
		"classification.type", "classification.identifier",
		"source.ip", "source.fqdn",
		"destination.port",
		"malware.name", "protocol.application",
	}
)

// activityType reports whether typ is a classification type whose source
// is a client doing something, rather than a service being something. A
// switch rather than a map: it is asked for every event told, and a
// map's lookup hashed the type each time (0.16 s of a million-event
// pass's CPU).
func activityType(typ string) bool {
	switch typ {
	case "infected-system", "scanner", "sniffing", "brute-force", "exploit", "ids-alert", "dos", "ddos", "spam":
		return true
	}
	return false
}

// Key is the event's notification key: equal for two events that report
// the same observation at different times or from different feeds.
func Key(e *event.Event) event.Hash {
	// One walk of the event's fields (sorted by name) beside the names
	// of serviceKeyFields (sorted in keyOrder) finds every value either
	// kind needs, rather than a search by name for each.
	var (
		values  [len(serviceKeyFields)]string
		present [len(serviceKeyFields)]bool
	)
	j := 0
	for _, f := range e.FieldsExceptRaw() {
		for j < len(keyOrder) && keyLess(serviceKeyFields[keyOrder[j]], f.Key) {
			j++
		}
		if j == len(keyOrder) {
			break
		}
		if k := keyOrder[j]; serviceKeyFields[k] == f.Key {
			values[k], present[k] = f.Value, true
			j++
		}
	}
	var buf [1024]byte
	b := append(buf[:0], keyVersion...)
	b = append(b, 0)
	add := func(k int) {
		if present[k] {
			b = append(b, serviceKeyFields[k]...)
			b = append(b, 0)
			b = append(b, values[k]...)
			b = append(b, 0)
		}
	}
	if activityType(values[0]) { // classification.type
		for _, k := range activityKeyOrder {
			add(k)
		}
	} else {
		for k := range serviceKeyFields { // hashed in their order
			add(k)
		}
	}
	return sha256.Sum256(b)
}

// keyLess is name < key for a name of serviceKeyFields (never empty):
// most names and keys differ in their first byte, which decides without
// a call to compare the strings.
func keyLess(name, key string) bool {
	switch {
	case key == "":
		return false
	case name[0] != key[0]:
		return name[0] < key[0]
	}
	return name < key
}

// activityKeyOrder is the fields of an activity's key in the order they
// are hashed, as indexes into serviceKeyFields (which holds every field
// of both kinds, a service's in its order); keyOrder is every index, by
// name.
var activityKeyOrder, keyOrder = keyIndexes()

func keyIndexes() (activity, byName []int) {
	if serviceKeyFields[0] != "classification.type" {
		panic("notify: Key reads the type as the first service field")
	}
	for i := range serviceKeyFields {
		byName = append(byName, i)
	}
	for _, name := range activityKeyFields {
		i := slices.Index(serviceKeyFields[:], name)
		if i < 0 {
			panic("notify: activity key field " + name + " is not a service key field")
		}
		activity = append(activity, i)
	}
	slices.SortFunc(byName, func(a, b int) int { return strings.Compare(serviceKeyFields[a], serviceKeyFields[b]) })
	return activity, byName
}

// maxSummary bounds a summary: it is one line of a list.
const maxSummary = 160

// Summary describes the observation of e in one line, the same in every
// language (field values and symbols, no words), for the "seen again"
// list: "vulnerable-system/open-dns 192.0.2.1:53 (dns)",
// "infected-system/mirai 192.0.2.7 → :23", "phishing https://…".
func Summary(e *event.Event) string {
	var b strings.Builder
	typ := e.Value("classification.type")
	if typ == "" {
		typ = "event"
	}
	b.WriteString(typ)
	id := e.Value("classification.identifier")
	if id != "" && id != typ {
		b.WriteString("/" + id)
	}
	activity := activityType(typ)
	where := ""
	if ip, ok := e.Get("source.ip"); ok {
		where = ip
		if port, ok := e.Get("source.port"); ok && !activity {
			where = hostPort(ip, port)
		}
	}
	if fqdn, ok := e.Get("source.fqdn"); ok {
		if where == "" {
			where = fqdn
		} else {
			where = fqdn + " " + where
		}
	}
	if u, ok := e.Get("source.url"); ok {
		where = u
	}
	if where != "" {
		b.WriteString(" " + where)
	}
	if port, ok := e.Get("destination.port"); ok && activity {
		b.WriteString(" → :" + port)
	}
	extra := ""
	if m := e.Value("malware.name"); m != "" && m != id {
		extra = m
	} else if app := e.Value("protocol.application"); app != "" && app != id {
		extra = app
	}
	if extra != "" {
		b.WriteString(" (" + extra + ")")
	}
	return clip(printableLine(b.String()), maxSummary)
}

func hostPort(ip, port string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() {
		return "[" + ip + "]:" + port
	}
	return ip + ":" + port
}

// printableLine keeps feed data from breaking a line of a message:
// control and invisible format characters become "?".
func printableLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, s)
}

// clip cuts s to at most n runes, ending it with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for j := range s {
		if i == n-1 {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
