package parser

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

func init() {
	pipeline.RegisterParser("list", "plain list of IPs, networks, domains or URLs, one per line, of one configured type",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) { return NewList(env, opts) })
}

// List reads the plainest feed there is: one indicator per line, all of
// one classification given by configuration. Each line's kind is detected:
//
//	192.0.2.1                  → source.ip
//	198.51.100.0/24            → source.network
//	http://example.com/a       → source.url (and its host, as other URL feeds)
//	example.com/a              → source.url: a path makes it a URL
//	example.com                → source.fqdn
//
// Lines starting with '#' or ';' are comments, and so is the rest of a line
// after a blank followed by '#' or ';'. A line with two values (a hosts
// file's "0.0.0.0 example.com") is rejected rather than guessed at.
//
// Options: type (classification.type, required) and identifier
// (classification.identifier, optional).
type List struct {
	typ        string
	identifier string
	text       inputText
}

// listOptions are the parser's options.
type listOptions struct {
	Type       string `opt:"type"`
	Identifier string `opt:"identifier"`
	utf8Only
}

// NewList checks the options and builds the parser.
func NewList(env pipeline.Env, opts pipeline.Options) (*List, error) {
	var o listOptions
	text, err := decodeOptions("list", env, opts, &o)
	if err != nil {
		return nil, err
	}
	typ := strings.ToLower(strings.TrimSpace(o.Type))
	if typ == "" {
		return nil, fmt.Errorf("parser list: %w", pipeline.OptionProblem("parser.list.notype"))
	}
	if !taxonomy.ValidType(typ) {
		return nil, fmt.Errorf("parser list: %w", pipeline.OptionProblem("parser.list.type", typ, strings.Join(taxonomy.Types(), ", ")))
	}
	return &List{typ: typ, identifier: strings.TrimSpace(o.Identifier), text: text}, nil
}

// Parse implements pipeline.Parser.
func (l *List) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	return eachLine(ctx, in.Body, sink, l.text.forInput(in), func(_ int, line []byte) (*event.Event, error) {
		value := bytes.TrimSpace(line)
		if value[0] == '#' || value[0] == ';' {
			return nil, nil
		}
		value = stripTrailingComment(value)
		if i := bytes.IndexAny(value, " \t"); i >= 0 {
			return nil, i18n.NewError("parser.reason.list.values", string(value[:i]), string(bytes.TrimSpace(value[i:])))
		}
		e := event.New(8 + event.PipelineRoom)
		classify(e, l.typ, l.identifier)
		if err := setIndicator(e, string(value)); err != nil {
			return nil, err
		}
		return e, nil
	})
}

// stripTrailingComment cuts "192.0.2.1  # scanner" to "192.0.2.1". A '#'
// not preceded by a blank stays: it may be a URL's fragment.
func stripTrailingComment(v []byte) []byte {
	for i := 1; i < len(v); i++ {
		if (v[i] == '#' || v[i] == ';') && isBlank(v[i-1]) {
			return bytes.TrimSpace(v[:i])
		}
	}
	return v
}

// setIndicator sets the source field that fits the value's kind.
func setIndicator(e *event.Event, v string) error {
	if strings.Contains(v, "://") {
		return setURL(e, "source", "line", v)
	}
	if before, _, ok := strings.Cut(v, "/"); ok {
		if _, err := netip.ParseAddr(before); err == nil {
			return e.Set("source.network", v)
		}
		return setURL(e, "source", "line", v)
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return e.Set("source.ip", v)
	}
	return e.Set("source.fqdn", v)
}

var _ pipeline.Parser = (*List)(nil)
