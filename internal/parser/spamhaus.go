package parser

import (
	"bytes"
	"context"
	"strings"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

func init() {
	pipeline.RegisterParser("spamhaus-drop", "Spamhaus DROP/EDROP lists, text or JSON lines: networks to drop",
		func(env pipeline.Env, opts pipeline.Options) (pipeline.Parser, error) {
			text, err := decodeOptions("spamhaus-drop", env, opts, &utf8Only{})
			if err != nil {
				return nil, err
			}
			return SpamhausDROP{text: text}, nil
		})
}

// SpamhausDROP reads the Spamhaus Don't Route Or Peer lists in both forms:
// the text one ("192.0.2.0/24 ; SBL123456", ";" comments) and the JSON
// lines one ({"cidr": …, "sblid": …, "rir": …}), line by line, so a file
// may even mix them. Each network is an event: source.network,
// classification blacklist (taxonomy other), the SBL record in
// extra.blocklist, and in JSON the registry in source.registry.
//
// The text form's "; Last-Modified:" comment gives time.source to the
// networks after it. The JSON form's last line, {"type": "metadata", …},
// describes the file, not a network, and makes no event; its timestamp
// comes after the networks, so JSON events have no time.source.
//
// classification.identifier is spamhaus-edrop when the input's name says
// edrop (the EDROP list before Spamhaus merged it into DROP), else
// spamhaus-drop.
type SpamhausDROP struct{ text inputText }

// Parse implements pipeline.Parser.
func (p SpamhausDROP) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	identifier := "spamhaus-drop"
	if strings.Contains(strings.ToLower(in.Name), "edrop") {
		identifier = "spamhaus-edrop"
	}
	var modified string // canonical time.source, from the text header
	return eachLine(ctx, in.Body, sink, p.text.forInput(in), func(_ int, line []byte) (*event.Event, error) {
		trimmed := bytes.TrimSpace(line)
		if trimmed[0] == ';' {
			comment := strings.TrimSpace(string(trimmed[1:]))
			if v, ok := strings.CutPrefix(comment, "Last-Modified:"); ok {
				if t, err := event.Normalize("time.source", v); err == nil {
					modified = t
				}
			}
			return nil, nil
		}
		e := event.New(10 + event.PipelineRoom)
		classify(e, "blacklist", identifier)
		if trimmed[0] == '{' {
			return spamhausJSON(e, trimmed)
		}
		network, sbl, _ := strings.Cut(string(trimmed), ";")
		if err := setRequired(e, "source.network", "network", strings.TrimSpace(network)); err != nil {
			return nil, err
		}
		if err := e.SetExtra("blocklist", strings.TrimSpace(sbl)); err != nil {
			return nil, err
		}
		if modified != "" {
			e.SetTrusted("time.source", modified)
		}
		return e, nil
	})
}

func spamhausJSON(e *event.Event, line []byte) (*event.Event, error) {
	obj, err := jsonObject(line)
	if err != nil {
		return nil, err
	}
	typ, err := jsonString(obj, "type")
	if err != nil {
		return nil, err
	}
	if typ == "metadata" {
		return nil, nil
	}
	cidr, err := jsonString(obj, "cidr")
	if err != nil {
		return nil, err
	}
	if err := setRequired(e, "source.network", "key cidr", cidr); err != nil {
		return nil, err
	}
	sbl, err := jsonText(obj, "sblid")
	if err != nil {
		return nil, err
	}
	if err := e.SetExtra("blocklist", sbl); err != nil {
		return nil, i18n.Wrap(err, "parser.reason.key", "sblid")
	}
	rir, err := jsonString(obj, "rir")
	if err != nil {
		return nil, err
	}
	if err := setRegistry(e, rir); err != nil {
		return nil, i18n.Wrap(err, "parser.reason.key", "rir")
	}
	return e, nil
}

var _ pipeline.Parser = SpamhausDROP{}
