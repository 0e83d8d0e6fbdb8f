package pipeline

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/vigil-cert/vigil/internal/i18n"
)

func init() {
	RegisterParser("auto", "recognises a file's format from its name and hands it to that parser", newAutoParser)
}

// autoParser lets the default inbox take any file: the name says which
// parser reads it (Shadowserver names their reports by type and date).
type autoParser struct {
	env Env
	// options are handed to every parser it picks: only invalid_utf8,
	// which every parser takes.
	options Options
	mu      sync.Mutex
	parsers map[string]Parser
}

func newAutoParser(env Env, opts Options) (Parser, error) {
	var o UTF8Option
	if err := opts.Decode(&o); err != nil {
		return nil, fmt.Errorf("parser auto: %w", err)
	}
	return &autoParser{env: env, options: opts, parsers: map[string]Parser{}}, nil
}

// NameDetector tells from a file name which parser reads it, or "" when it
// does not know the name. A parser package registers one when its names
// cannot be told by extension alone (a Shadowserver report in JSON looks
// like IntelMQ's events by its extension).
type NameDetector func(name string) string

var nameDetectors struct {
	sync.Mutex
	list []NameDetector
}

// RegisterNameDetector adds a detector DetectParser asks, in the order of
// registration, after the names of single sources and before the
// extensions. Call it from init.
func RegisterNameDetector(d NameDetector) {
	nameDetectors.Lock()
	defer nameDetectors.Unlock()
	nameDetectors.list = append(nameDetectors.list, d)
}

func detectByRegistered(name string) string {
	nameDetectors.Lock()
	list := nameDetectors.list
	nameDetectors.Unlock()
	for _, d := range list {
		if id := d(name); id != "" {
			return id
		}
	}
	return ""
}

// DetectParser returns the parser ID for a file name, or "" when the name
// does not tell.
func DetectParser(name string) string {
	n := strings.ToLower(path.Base(name))
	n = strings.TrimSuffix(n, ".gz")
	ext := path.Ext(n)
	switch {
	case strings.Contains(n, "cowrie"):
		return "cowrie"
	case strings.Contains(n, "urlhaus"):
		return "urlhaus"
	case strings.Contains(n, "feodo") || strings.Contains(n, "ipblocklist"):
		return "feodo"
	case strings.Contains(n, "phishtank") || strings.Contains(n, "online-valid"):
		return "phishtank"
	case strings.Contains(n, "openphish"):
		return "openphish"
	case strings.Contains(n, "drop") && (ext == ".txt" || ext == ".json" || ext == ".jsonl"):
		return "spamhaus-drop"
	}
	if id := detectByRegistered(name); id != "" {
		return id
	}
	switch {
	case ext == ".jsonl" || ext == ".json" || ext == ".ndjson":
		return "intelmq"
	case ext == ".csv":
		return "shadowserver"
	}
	return ""
}

func (a *autoParser) Parse(ctx context.Context, in Input, sink Sink) error {
	p, err := a.parserFor(in.Name)
	if err != nil {
		return err
	}
	return p.Parse(ctx, in, sink)
}

// parserFor is the parser an input's name picks.
func (a *autoParser) parserFor(name string) (Parser, error) {
	id := DetectParser(name)
	if id == "" {
		return nil, i18n.NewError("pipeline.auto.unknown", name)
	}
	return a.parser(id)
}

// Split implements Splitter: the parser the name picks splits the input
// when it is a Splitter, and parses it otherwise.
func (a *autoParser) Split(ctx context.Context, in Input, sink Sink, records int, emit func(*Chunk) error) error {
	p, err := a.parserFor(in.Name)
	if err != nil {
		return err
	}
	if sp, ok := p.(Splitter); ok {
		return sp.Split(ctx, in, sink, records, emit)
	}
	return p.Parse(ctx, in, sink)
}

// ParseChunk implements ChunkParser: the parser the chunk's name picks
// parses it, from its text when it is a ChunkParser.
func (a *autoParser) ParseChunk(ctx context.Context, c *Chunk, sink Sink) error {
	p, err := a.parserFor(c.Name)
	if err != nil {
		return err
	}
	if cp, ok := p.(ChunkParser); ok {
		return cp.ParseChunk(ctx, c, sink)
	}
	return p.Parse(ctx, c.Input(), sink)
}

func (a *autoParser) parser(id string) (Parser, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.parsers[id]; ok {
		return p, nil
	}
	p, err := NewParser(id, a.env, a.options)
	if err != nil {
		return nil, err
	}
	a.parsers[id] = p
	return p, nil
}

var (
	_ Splitter    = (*autoParser)(nil)
	_ ChunkParser = (*autoParser)(nil)
)
