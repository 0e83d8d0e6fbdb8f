package sqlitestore

// A search's filter (partFilter): the query as the scan of a hot
// partition's copy in memory tests its rows, as a sealed partition's
// summary admits or refuses it, and as the SQL and the lists a sealed
// partition is asked through (the indicators, their order, and the
// conditions left to the query).

import (
	"bytes"
	"slices"
	"strings"

	"github.com/vigil-cert/vigil/internal/store"
)

// partFilter is an EventQuery as both the scan of an unsealed partition
// and the SQL of a sealed one read it.
type partFilter struct {
	ip                       store.IPKey
	ipBytes                  [16]byte // ip's key, which hot rows hold
	lo, hi                   []byte   // prefix range
	asn                      int64
	from, to                 string // reversed host-name range
	url                      string
	hashKind                 int8
	hash                     string
	feed, taxonomy, typ, tlp int64
	org                      string
	tFrom, tTo               int64
	hasFrom, hasTo           bool
	after                    *store.Cursor
	asc                      bool
	noMatch                  bool
	// Keys each of which a partition's Bloom filter must hold.
	ipBloom, asnBloom, fqdnBloom [][]byte
	// orgIDs are the ids of the organisation's events in unsealed
	// partitions, read once a search first needs them.
	orgIDs map[int64]bool
	// cols says the hits need their columns (partHit), for a sort by
	// them or a grouping (parts.match).
	cols bool
}

// listAnswers reports whether the list a sealed partition is read
// through (f.lead's, or by time) answers all of f, its time bounds and
// cursor applied to it: then a hit whose columns are not needed (f.cols)
// reads no row.
func (f *partFilter) listAnswers() bool {
	if f.narrows() {
		return false
	}
	n := 0
	for _, i := range indicators {
		if f.has(i) {
			n++
		}
	}
	return n <= 1
}

func (ps *parts) newFilter(q store.EventQuery, after *store.Cursor, asc bool) partFilter {
	f := partFilter{after: after, asc: asc, org: q.Organisation, url: q.URL}
	if q.IP.IsValid() {
		f.ip = store.MakeIPKey(q.IP)
		f.ipBytes = [16]byte(f.ip.Bytes())
		f.ipBloom = append(f.ipBloom, f.ip.Bytes())
	}
	if q.Prefix.IsValid() {
		first, last := store.PrefixRange(q.Prefix)
		f.lo, f.hi = first[:], last[:]
		p := q.Prefix.Masked()
		if p.Addr().Is4() && p.Bits() >= 16 {
			b := p.Addr().As4()
			f.ipBloom = append(f.ipBloom, []byte{'/', 16, b[0], b[1]})
		}
	}
	if q.ASN != 0 {
		f.asn = int64(q.ASN)
		f.asnBloom = append(f.asnBloom, asnKey(f.asn))
	}
	if q.FQDN != "" {
		f.from, f.to = store.FQDNRange(q.FQDN)
		if f.from == "" {
			f.noMatch = true
		}
		f.fqdnBloom = append(f.fqdnBloom, []byte(f.from))
	}
	if q.Hash != "" {
		f.hash = strings.ToLower(strings.TrimSpace(q.Hash))
		switch store.HashColumn(f.hash) {
		case "md5":
			f.hashKind = keyMD5
		case "sha1":
			f.hashKind = keySHA1
		case "sha256":
			f.hashKind = keySHA256
		default:
			f.noMatch = true
		}
	}
	ps.mu.RLock()
	for _, d := range []struct {
		kind  int
		value string
		code  *int64
	}{{dictFeed, q.Feed, &f.feed}, {dictTaxonomy, q.Taxonomy, &f.taxonomy}, {dictType, q.Type, &f.typ}, {dictTLP, strings.ToUpper(q.TLP), &f.tlp}} {
		if d.value == "" {
			continue
		}
		code, ok := ps.dict[d.kind][d.value]
		if !ok {
			f.noMatch = true // no event has it
		}
		*d.code = code
	}
	ps.mu.RUnlock()
	if !q.From.IsZero() {
		f.tFrom, f.hasFrom = q.From.UnixMicro(), true
	}
	if !q.To.IsZero() {
		f.tTo, f.hasTo = q.To.UnixMicro(), true
	}
	return f
}

// admits reports whether a partition with this summary can hold a match.
func (f *partFilter) admits(sum *partSummary, sealed bool) bool {
	if sum.count == 0 || (f.hasFrom && sum.tmax < f.tFrom) || (f.hasTo && sum.tmin >= f.tTo) {
		return false
	}
	if f.after != nil && ((!f.asc && sum.tmin > f.after.TimeSource) || (f.asc && sum.tmax < f.after.TimeSource)) {
		return false
	}
	if !sealed {
		return true
	}
	for _, check := range []struct {
		b    *bloom
		keys [][]byte
	}{{sum.ips, f.ipBloom}, {sum.asns, f.asnBloom}, {sum.fqdns, f.fqdnBloom}} {
		for _, k := range check.keys {
			if !check.b.has(k) {
				return false
			}
		}
	}
	return true
}

// inRange reports whether a row's address (set says it has one) is
// within [lo, hi].
func inRange(set bool, b *[16]byte, lo, hi []byte) bool {
	return set && bytes.Compare(b[:], lo) >= 0 && bytes.Compare(b[:], hi) <= 0
}

func (f *partFilter) inNames(n []byte) bool {
	return len(n) > 0 && string(n) >= f.from && string(n) < f.to
}

// hasKey reports whether a row's keys (hotNames) hold value under one of
// kinds.
func hasKey(keys []byte, value string, kinds ...int8) bool {
	found := false
	eachKey(keys, func(kind int8, v []byte) bool {
		found = string(v) == value && slices.Contains(kinds, kind)
		return !found
	})
	return found
}

// match tests a row of a hot partition's copy.
func (f *partFilter) match(hot *hotSnap, r *hotRow) bool {
	if !f.matchRow(r) || (f.org != "" && !f.orgIDs[r.id]) {
		return false
	}
	if f.from == "" && f.url == "" && f.hash == "" {
		return true
	}
	srcName, dstName, keys := hotNames(hot.extra(r))
	switch {
	case !f.matchNames(srcName, dstName):
		return false
	case f.url != "" && !hasKey(keys, f.url, keySourceURL, keyDestinationURL):
		return false
	case f.hash != "" && !hasKey(keys, f.hash, f.hashKind):
		return false
	}
	return true
}

// matchRow tests a row's columns, of a hot partition's copy or of a
// sealed partition's chunk (offerChunks): all of f but its host names,
// its keys and its organisation.
func (f *partFilter) matchRow(r *hotRow) bool {
	src, dst := r.flags&hotSrcIP != 0, r.flags&hotDstIP != 0
	switch {
	case f.hasFrom && r.ts < f.tFrom, f.hasTo && r.ts >= f.tTo:
		return false
	case f.after != nil && !f.asc && (r.ts > f.after.TimeSource || (r.ts == f.after.TimeSource && r.id >= f.after.ID)):
		return false
	case f.after != nil && f.asc && (r.ts < f.after.TimeSource || (r.ts == f.after.TimeSource && r.id <= f.after.ID)):
		return false
	case f.ip.Valid() && !(src && r.srcIP == f.ipBytes) && !(dst && r.dstIP == f.ipBytes):
		return false
	case f.lo != nil && !inRange(src, &r.srcIP, f.lo, f.hi) && !inRange(dst, &r.dstIP, f.lo, f.hi):
		return false
	case f.asn != 0 && int64(r.srcASN) != f.asn && int64(r.dstASN) != f.asn:
		return false
	case f.feed != 0 && int64(r.feed) != f.feed, f.taxonomy != 0 && int64(r.taxonomy) != f.taxonomy,
		f.typ != 0 && int64(r.typ) != f.typ, f.tlp != 0 && int64(r.tlp) != f.tlp:
		return false
	}
	return true
}

// matchNames tests a row's reversed host names against f's range.
func (f *partFilter) matchNames(src, dst []byte) bool {
	return f.from == "" || f.inNames(src) || f.inNames(dst)
}

// sql returns the statements asking a sealed partition for its first
// limit matches: one per side (source, destination) of the first
// indicator of IP, prefix, ASN and host name, and for an address per form
// its column may hold it in (ipForms, ipRanges), each driven by that
// side's index, or a single one driven by the time index. The table's ts
// is time.source less base (partition.base).
func (f *partFilter) sql(t string, base int64, limit int) (queries []string, args [][]any) {
	sides, where, wargs := f.conds(t, base)
	dir := " DESC"
	if f.asc {
		dir = " ASC"
	}
	query := func(first string, firstArgs []any) {
		conds := where
		a := wargs
		if first != "" {
			conds = append([]string{first}, where...)
			a = append(slices.Clone(firstArgs), wargs...)
		}
		text := `SELECT id, ts, src_ip, src_asn, type, feed FROM ` + t
		if len(conds) > 0 {
			text += " WHERE " + strings.Join(conds, " AND ")
		}
		queries = append(queries, text+` ORDER BY ts`+dir+`, id`+dir+` LIMIT ?`)
		args = append(args, append(a, limit))
	}
	if len(sides) == 0 {
		query("", nil)
		return queries, args
	}
	for _, a := range sides[0] {
		query(a.cond, a.args)
	}
	return queries, args
}

// indicator is one of the conditions a sealed partition's index or
// list may drive a search by.
type indicator int

const (
	byNone indicator = iota
	byIP
	byPrefix
	byASN
	byFQDN
)

// indicators are in the order the first one f has leads (f.lead): the
// narrowest first.
var indicators = [...]indicator{byIP, byPrefix, byASN, byFQDN}

// has reports whether f has the indicator.
func (f *partFilter) has(i indicator) bool {
	switch i {
	case byIP:
		return f.ip.Valid()
	case byPrefix:
		return f.lo != nil
	case byASN:
		return f.asn != 0
	case byFQDN:
		return f.from != ""
	}
	return false
}

// lead is the indicator that drives a search of a sealed partition: the
// first of indicators f has, byNone for none. Its conditions are the
// first of conds' sides, left out of where: the index or the list that
// reads it answers them.
func (f *partFilter) lead() indicator {
	for _, i := range indicators {
		if f.has(i) {
			return i
		}
	}
	return byNone
}

// conds returns a sealed partition's conditions: sides, each indicator's
// alternatives on either side, in the order of indicators, the first of
// which (f.lead) drives a query, and where, the others and the rest of
// the filter, with their arguments.
func (f *partFilter) conds(t string, base int64) (sides [][]alt, where []string, wargs []any) {
	either := func(cond func(side string) []alt) {
		sides = append(sides, append(cond("src_"), cond("dst_")...))
	}
	for _, i := range indicators {
		if !f.has(i) {
			continue
		}
		switch i {
		case byIP:
			either(func(s string) []alt {
				var as []alt
				for _, b := range ipForms(f.ip) {
					as = append(as, alt{s + "ip = ?", []any{b}})
				}
				return as
			})
		case byPrefix:
			either(func(s string) []alt {
				var as []alt
				for _, r := range ipRanges(f.lo, f.hi) {
					as = append(as, alt{s + "ip BETWEEN ? AND ? AND length(" + s + "ip) = ?", []any{r.lo, r.hi, r.n}})
				}
				return as
			})
		case byASN:
			either(func(s string) []alt { return []alt{{s + "asn = ?", []any{f.asn}}} })
		case byFQDN:
			either(func(s string) []alt { return []alt{{s + "fqdn >= ? AND " + s + "fqdn < ?", []any{f.from, f.to}}} })
		}
	}
	for _, as := range sides[min(1, len(sides)):] {
		var conds []string
		for _, a := range as {
			conds = append(conds, "("+a.cond+")")
			wargs = append(wargs, a.args...)
		}
		where = append(where, "("+strings.Join(conds, " OR ")+")")
	}
	add := func(cond string, a ...any) {
		where = append(where, cond)
		wargs = append(wargs, a...)
	}
	if f.url != "" {
		add(`id IN (SELECT id FROM `+t+`_keys WHERE value = ? AND kind IN (?, ?))`, f.url, keySourceURL, keyDestinationURL)
	}
	if f.hash != "" {
		add(`id IN (SELECT id FROM `+t+`_keys WHERE value = ? AND kind = ?)`, f.hash, f.hashKind)
	}
	for _, d := range []struct {
		col  string
		code int64
	}{{"feed", f.feed}, {"taxonomy", f.taxonomy}, {"type", f.typ}, {"tlp", f.tlp}} {
		if d.code != 0 {
			add(d.col+" = ?", d.code)
		}
	}
	if f.org != "" {
		add(`EXISTS (SELECT 1 FROM event_orgs AS o WHERE o.org = ? AND o.time_source = `+t+`.ts + ? AND o.event_id = `+t+`.id)`, f.org, base)
	}
	if f.hasFrom {
		add("ts >= ?", f.tFrom-base)
	}
	if f.hasTo {
		add("ts < ?", f.tTo-base)
	}
	if f.after != nil {
		if f.asc {
			add("ts >= ? AND (ts > ? OR id > ?)", f.after.TimeSource-base, f.after.TimeSource-base, f.after.ID)
		} else {
			add("ts <= ? AND (ts < ? OR id < ?)", f.after.TimeSource-base, f.after.TimeSource-base, f.after.ID)
		}
	}
	return sides, where, wargs
}

// alt is a condition of a sealed partition's query and its arguments.
type alt struct {
	cond string
	args []any
}
