// Package output delivers enriched event batches: into the store, appended
// to JSON-lines files, or posted to a webhook. Delivery is at-least-once, so
// every output either is idempotent (the store) or documents that a replay
// after a crash may repeat events (files, webhooks).
package output
