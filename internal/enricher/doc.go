// Package enricher adds what the events of a feed do not carry themselves —
// AS numbers, geolocation, reverse DNS, the constituent that owns an address —
// and drops the ones already seen, between parsing and storing. Every
// enricher registers itself by ID and is safe for concurrent use; the hot
// path of each reads an immutable table through an atomic pointer.
package enricher
