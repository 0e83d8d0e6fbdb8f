// Package auth holds Vigil's accounts machinery: argon2id password hashes,
// TOTP second factors, browser sessions with CSRF tokens, login rate
// limiting, the first-start setup token, API tokens and the audit trail of
// every write.
package auth
