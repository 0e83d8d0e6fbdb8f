package pipeline

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options are a stage's settings from the config file. A stage decodes them
// into its own struct with Decode, which reads each field with the getters
// below; they return a clear error naming the key when a value has the
// wrong type.
type Options map[string]any

// String returns opts[key] as a string, or def when absent.
func (o Options) String(key, def string) (string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case int, int64, float64, bool:
		return fmt.Sprint(v), nil
	}
	return "", fmt.Errorf("option %s: want a string, got %T", key, v)
}

// Int returns opts[key] as an integer, or def when absent.
func (o Options) Int(key string, def int) (int, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		if v == float64(int(v)) {
			return int(v), nil
		}
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("option %s: want an integer, got %v", key, v)
}

// Bool returns opts[key] as a boolean, or def when absent.
func (o Options) Bool(key string, def bool) (bool, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return false, fmt.Errorf("option %s: want true or false, got %v", key, v)
}

// Duration returns opts[key] as a duration ("90s", "24h"), or def when absent.
func (o Options) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	if s, ok := v.(string); ok {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("option %s: %w", key, err)
		}
		return d, nil
	}
	return 0, fmt.Errorf("option %s: want a duration such as \"24h\", got %v", key, v)
}

// Strings returns opts[key] as a list of strings, or nil when absent.
func (o Options) Strings(key string) ([]string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	switch v := v.(type) {
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("option %s[%d]: want a string, got %T", key, i, x)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		return []string{v}, nil
	}
	return nil, fmt.Errorf("option %s: want a list of strings, got %T", key, v)
}

// StringMap returns opts[key] as a map of strings (a column mapping, say),
// or nil when absent.
func (o Options) StringMap(key string) (map[string]string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return nil, nil
	}
	out := map[string]string{}
	switch v := v.(type) {
	case map[string]string:
		return v, nil
	case map[string]any:
		for k, x := range v {
			switch x := x.(type) {
			case string:
				out[k] = x
			case int, float64, bool:
				out[k] = fmt.Sprint(x)
			default:
				return nil, fmt.Errorf("option %s.%s: want a string, got %T", key, k, x)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("option %s: want a mapping, got %T", key, v)
}

// Unknown returns the keys of opts that are not in known, sorted, so a
// factory can refuse a misspelt option.
func (o Options) Unknown(known ...string) []string {
	var bad []string
	for k := range o {
		found := false
		for _, n := range known {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	return bad
}

// Choice returns opts[key], which must be one of allowed, or def when
// absent.
func (o Options) Choice(key, def string, allowed ...string) (string, error) {
	v, err := o.String(key, def)
	if err != nil {
		return "", err
	}
	for _, a := range allowed {
		if v == a {
			return v, nil
		}
	}
	return "", fmt.Errorf("option %s: want one of %s, got %q", key, strings.Join(allowed, ", "), v)
}

// TextOptions are the options about the text of a feed's input that every
// parser takes, decoded once when the parser is built.
type TextOptions struct {
	// ReplaceInvalidUTF8 reads bytes that are not UTF-8 as U+FFFD, counted
	// and logged, instead of refusing the line (invalid_utf8: replace).
	ReplaceInvalidUTF8 bool
	// EpochSeconds reads a bare number in a date-time field as seconds
	// since 1970 (epoch_seconds: true); only parsers whose feeds may send
	// such numbers take it.
	EpochSeconds bool
}

// TextOptions reads invalid_utf8 (reject, the default, or replace) and
// epoch_seconds (default false), leaving the other keys alone. Parsers
// decode the same options by embedding UTF8Option and EpochOption in their
// options struct.
func (o Options) TextOptions() (TextOptions, error) {
	var t TextOptions
	mode, err := o.Choice("invalid_utf8", "reject", "reject", "replace")
	if err != nil {
		return t, err
	}
	t.ReplaceInvalidUTF8 = mode == "replace"
	if t.EpochSeconds, err = o.Bool("epoch_seconds", false); err != nil {
		return t, err
	}
	return t, nil
}
