// Package sqlkit is the SQL layer the two stores share: the migration
// loader and runner, the collect loop for database/sql rows, and the
// Dialect that says how SQLite and PostgreSQL differ where a query is
// otherwise the same. Each store keeps its own driver (database/sql with
// modernc.org/sqlite, pgx for PostgreSQL) and executes the shared query
// text through it.
package sqlkit
