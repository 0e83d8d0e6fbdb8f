// Package authsql keeps the data of authentication (sessions, API tokens,
// the second factor), written once on sqlkit.DB for both stores. Errors
// name the operation; the store prefixes its name.
package authsql
