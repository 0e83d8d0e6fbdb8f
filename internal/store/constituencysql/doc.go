// Package constituencysql keeps the constituency's data written once on
// sqlkit.DB for both stores; so far the change requests (the
// organisations' records are still written per store). Errors name the
// operation; the store prefixes its name.
package constituencysql
