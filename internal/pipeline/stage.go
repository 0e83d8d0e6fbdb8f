// Package pipeline turns feed input into stored, enriched events: the stage
// interfaces (collectors, parsers, enrichers, outputs), their registry by ID,
// and the runner that connects them through the bus in batches.
package pipeline

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// Input is one stream of feed data handed from a collector to a parser: a
// file from the inbox, a download, standard input.
type Input struct {
	// Feed is the configured feed's name (feed.name of its events).
	Feed string
	// Name is the file name or URL; parsers may read a report type from it
	// (Shadowserver's 2026-11-20-scan_rdp-belgium-geo.csv).
	Name string
	Body io.Reader
	// DeadLetter says that Body is a dead letter read again: a line (under
	// its header, for a CSV file) rather than a whole file, so the lines a
	// parser skips at the start of a file are not in it.
	DeadLetter bool
	// FirstLine is the number, in the whole input it was cut from, of
	// Body's first line, for a parser that numbers lines (its dead
	// letters and reasons say where a line was): a chunk of an input a
	// worker parses (Chunk) starts past line 1. Zero is 1.
	FirstLine int
}

// Sink receives what a parser makes of its input.
type Sink interface {
	// Event hands on one event; the sink owns it afterwards. A non-nil error
	// (cancellation, a failed stage downstream) means stop parsing.
	Event(e *event.Event) error
	// Reject records input that could not become an event, with the reason.
	// It goes to the dead-letter store; nothing is dropped silently. A
	// reason that names its line (a *LineError) lets the runner say where
	// an input was cut off: past the dead-letter limits of one input the
	// rest of it is refused as one letter, Event returns ErrInputRefused
	// and reading the input fails with it.
	Reject(input []byte, reason error)
}

// Parser reads one input, streaming: it must not hold the whole input in
// memory. It returns an error only when the input as a whole is unusable
// (unknown report type, unreadable stream); bad lines go to Sink.Reject.
type Parser interface {
	Parse(ctx context.Context, in Input, sink Sink) error
}

// Batch is a group of events of one feed moving through the stages.
type Batch struct {
	Feed string
	// Report is the report type within the feed that the batch's events
	// came from (see ReportKeeper), empty when the parser named none: the
	// feeds page counts the batch's events on that report's row.
	Report string
	// Run is the feed run the batch's events came from (its row in the
	// history of runs, see RunLog); 0 when none is recorded.
	Run int64
	// ID is the batch's identity (store.BatchID), fixed by Process once
	// its events are sealed and before any is dropped, so that the store
	// recognises the batch when it is delivered again.
	ID     event.Hash
	Events []*event.Event
	// Chunk, when set, stands instead of Events: records of an input
	// carried over the transport unparsed (a Splitter's), which Process
	// parses into one batch of events and processes.
	Chunk *Chunk
	// Dedup holds the deduplication keys this batch claimed; the store
	// output writes them in the same transaction as the events.
	Dedup []store.DedupKey
	// Duplicates counts events the deduplicator dropped from this batch.
	Duplicates int
	// Count is what the batch adds to its feed's totals, set by Process
	// for the store output, which adds it in the batch's commit.
	Count *store.BatchCount
}

// Enricher adds to the events of a batch, or drops some (deduplication).
// It must be safe for concurrent use: several batches are enriched at once.
type Enricher interface {
	Enrich(ctx context.Context, b *Batch) error
}

// Output delivers enriched batches somewhere. Write returns only when the
// batch is safely delivered; the runner acknowledges the bus message after
// every output returned nil, so an output must be idempotent.
type Output interface {
	Write(ctx context.Context, b *Batch) error
}

// Deliver hands one input to the pipeline and returns once every event of
// it is safely on the bus (or stored) and every reject in the dead-letter
// store. Only then may a collector forget the input.
type Deliver func(ctx context.Context, in Input) error

// Collector gathers input and hands each piece to deliver until ctx ends.
type Collector interface {
	Run(ctx context.Context, deliver Deliver) error
}

// Store is the part of the database that stages and the runner use:
// writing events, dead letters, feed statistics, the deduplicator's keys
// and the collectors' state between runs. Users, organisations, sessions
// and the rest of the database are out of a stage's reach. A store.Store
// satisfies it.
type Store interface {
	// InsertBatch is the store output's; see store.Events.
	InsertBatch(ctx context.Context, b store.EventBatch) (inserted int, err error)
	store.DeadLetters
	store.Feeds
	store.Dedup
	store.State
}

// Env is what stage factories may use.
type Env struct {
	// Store is nil in processes that have no database.
	Store   Store
	Logger  *slog.Logger
	DataDir string
	// HTTP is the client for downloads and webhooks.
	HTTP *http.Client
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Constituency tells which constituent owns what (the constituency
	// package's Directory); nil in processes that have none.
	Constituency Constituency
}

// Constituency answers which constituent organisation owns one side of an
// event (its source or its destination). Implementations must be safe for
// concurrent use and cheap: they are asked for every event.
type Constituency interface {
	// OwnerOf returns the handle of the organisation owning the address
	// (the zero Addr when the side has none), else the AS (0 when none),
	// else the normalized host name ("" when none): the longest network
	// holding the address wins, then the AS, then the longest domain the
	// host name is or is under.
	OwnerOf(addr netip.Addr, asn uint32, fqdn string) (handle string, ok bool)
}

// Factories build stages from their options (from the config file).
type (
	CollectorFactory func(env Env, feed string, opts Options) (Collector, error)
	ParserFactory    func(env Env, opts Options) (Parser, error)
	EnricherFactory  func(env Env, opts Options) (Enricher, error)
	OutputFactory    func(env Env, opts Options) (Output, error)
)

// Module describes a registered stage.
type Module struct {
	ID  string
	Doc string // one line for `vigil feeds modules` and the docs
}

var registry = struct {
	sync.Mutex
	collectors map[string]CollectorFactory
	parsers    map[string]ParserFactory
	enrichers  map[string]EnricherFactory
	outputs    map[string]OutputFactory
	docs       map[string]string
}{
	collectors: map[string]CollectorFactory{},
	parsers:    map[string]ParserFactory{},
	enrichers:  map[string]EnricherFactory{},
	outputs:    map[string]OutputFactory{},
	docs:       map[string]string{},
}

func register[F any](m map[string]F, kind, id, doc string, f F) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := m[id]; dup {
		panic(fmt.Sprintf("pipeline: %s %q registered twice", kind, id))
	}
	m[id] = f
	registry.docs[kind+"/"+id] = doc
}

func lookup[F any](m map[string]F, kind, id string) (F, error) {
	registry.Lock()
	defer registry.Unlock()
	f, ok := m[id]
	if !ok {
		var zero F
		return zero, &UnknownModuleError{Kind: kind, ID: id, Known: keys(m)}
	}
	return f, nil
}

// UnknownModuleError is a module that the configuration names by an ID
// under which no module of its kind is registered. It says so in the
// reader's language, naming the kind, the ID and the IDs there are.
type UnknownModuleError struct {
	Kind  string   // collector, parser, enricher or output
	ID    string   // the ID asked for
	Known []string // the kind's registered IDs, sorted
}

func (e *UnknownModuleError) Error() string { return e.Explain().String() }

func (e *UnknownModuleError) Explain() i18n.Message {
	return i18n.M("pipeline.module.unknown", kindNames[e.Kind], e.ID, strings.Join(e.Known, ", "))
}

// kindNames are the kinds of module as a person reads them.
var kindNames = map[string]i18n.Message{
	"collector": i18n.M("pipeline.kind.collector"),
	"parser":    i18n.M("pipeline.kind.parser"),
	"enricher":  i18n.M("pipeline.kind.enricher"),
	"output":    i18n.M("pipeline.kind.output"),
}

func keys[F any](m map[string]F) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// RegisterCollector makes a collector available under id. Call it from init.
func RegisterCollector(id, doc string, f CollectorFactory) {
	register(registry.collectors, "collector", id, doc, f)
}

// RegisterParser makes a parser available under id. Call it from init.
func RegisterParser(id, doc string, f ParserFactory) {
	register(registry.parsers, "parser", id, doc, f)
}

// RegisterEnricher makes an enricher available under id. Call it from init.
func RegisterEnricher(id, doc string, f EnricherFactory) {
	register(registry.enrichers, "enricher", id, doc, f)
}

// RegisterOutput makes an output available under id. Call it from init.
func RegisterOutput(id, doc string, f OutputFactory) {
	register(registry.outputs, "output", id, doc, f)
}

// NewCollector builds the collector registered as id.
func NewCollector(id string, env Env, feed string, opts Options) (Collector, error) {
	f, err := lookup(registry.collectors, "collector", id)
	if err != nil {
		return nil, err
	}
	return f(env, feed, opts)
}

// NewParser builds the parser registered as id.
func NewParser(id string, env Env, opts Options) (Parser, error) {
	f, err := lookup(registry.parsers, "parser", id)
	if err != nil {
		return nil, err
	}
	return f(env, opts)
}

// NewEnricher builds the enricher registered as id.
func NewEnricher(id string, env Env, opts Options) (Enricher, error) {
	f, err := lookup(registry.enrichers, "enricher", id)
	if err != nil {
		return nil, err
	}
	return f(env, opts)
}

// NewOutput builds the output registered as id.
func NewOutput(id string, env Env, opts Options) (Output, error) {
	f, err := lookup(registry.outputs, "output", id)
	if err != nil {
		return nil, err
	}
	return f(env, opts)
}

// Modules lists every registered stage as "kind/id" with its doc line.
func Modules() []Module {
	registry.Lock()
	defer registry.Unlock()
	mods := make([]Module, 0, len(registry.docs))
	for id, doc := range registry.docs {
		mods = append(mods, Module{ID: id, Doc: doc})
	}
	sort.Slice(mods, func(i, j int) bool { return mods[i].ID < mods[j].ID })
	return mods
}

// Interface guard.
var _ i18n.Explained = (*UnknownModuleError)(nil)
