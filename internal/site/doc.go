// Package site is the team's public website: the home page with the
// current warnings pinned, the lists of advisories, warnings, news and
// digests, full-text search, a page for each publication with every
// field, RSS 2.0 and Atom feeds per language, per kind and for critical
// publications only, and /.well-known/security.txt (RFC 9116).
//
// The decisions a reader needs to know:
//   - Only publications for which publication.Publication.Public is true
//     are ever shown. The site asks its Source for public publications
//     and checks Public again itself, so a source that returned more
//     would still not put them on a page.
//   - Every page and feed is rendered once into bytes (and gzip bytes)
//     and served from memory, keyed by its path and its normalised query.
//     The cache belongs to a snapshot of the public publications; a new
//     snapshot is loaded when the source's Generation moves, checked at
//     most once a second in the background, so no request waits on the
//     database once the first snapshot is there.
//   - The reader's language is the first segment of the path; a
//     publication missing in it is shown in its primary language, with a
//     note and the right lang attributes.
//   - A body is rendered by internal/publication/markdown (sanitized
//     HTML); the CSAF link is csaf.PublicPath, the provider's own.
//   - The HTML is plain and semantic, works without JavaScript (there is
//     none) and takes its one stylesheet from /site.css, so the console's
//     strict Content-Security-Policy holds here too.
package site
