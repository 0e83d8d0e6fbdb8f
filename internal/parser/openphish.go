package parser

import (
	"context"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("openphish", "OpenPhish feed: one phishing URL per line",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) {
			text, err := decodeOptions("openphish", env, opts, &utf8Only{})
			if err != nil {
				return nil, err
			}
			return OpenPhish{text: text}, nil
		})
}

// OpenPhish reads the OpenPhish feed: one URL per line, each a phishing
// site, as source.url with its host as source.fqdn or source.ip. The feed
// carries no times. Lines starting with '#' are comments.
type OpenPhish struct{ text inputText }

// Parse implements pipeline.Parser.
func (p OpenPhish) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	return eachLine(ctx, in.Body, sink, p.text.forInput(in), func(_ int, line []byte) (*event.Event, error) {
		if isComment(line, "#") {
			return nil, nil
		}
		e := event.New(8 + event.PipelineRoom)
		classify(e, "phishing", "openphish")
		if err := setURL(e, "source", "line", strings.TrimSpace(string(line))); err != nil {
			return nil, err
		}
		return e, nil
	})
}

var _ pipeline.Parser = OpenPhish{}
