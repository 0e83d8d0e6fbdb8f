// Package partstore measures the parts layout of the event store
// (sqlitestore.Options.EventLayout = "parts", docs/EVENTSTORE.md) on
// events made by the real Shadowserver parser, as the prototype of design
// A of issue 14, which grew into that layout, was measured: a load in
// durable batches of 2,000, then the searches of issue 14 on the hot
// partition in memory and on sealed ones. It holds only its benchmark.
package partstore
