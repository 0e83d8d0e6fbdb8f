package pipeline

import (
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Options are a stage's settings from the config file. The getters return a
// clear error naming the key when a value has the wrong type.
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
