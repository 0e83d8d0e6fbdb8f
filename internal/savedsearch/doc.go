// Package savedsearch is the searches people keep under a name: an
// analyst's own, those an analyst shares with the team, and a
// constituent's own in the portal. A saved search is the events page's
// query string (filters, sort, direction, grouping), checked and written
// one canonical way, so that opening it is following a link; the table's
// columns chosen with it are kept beside it (columns.go), and the link
// names them.
//
// The decisions a reader needs to know:
//   - A search belongs to one account (its rows go with the account).
//     Only its owner renames, re-shares or deletes it; an admin may also
//     delete a shared one. A private search is shown to nobody else.
//   - Only a team member shares; a constituent's searches are always
//     private, and a constituent never sees the team's.
//   - Everything is bounded: MaxPerUser searches an account, names of
//     MaxNameLength characters, queries of MaxQueryLength bytes.
//
// internal/savedsearch/savedsearchdb keeps them.
package savedsearch
