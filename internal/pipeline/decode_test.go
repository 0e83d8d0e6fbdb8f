package pipeline_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// decoded is a stage's options with one field of every kind Decode fills.
type decoded struct {
	Name     string            `opt:"name"`
	Format   string            `opt:"format" choice:"csv,json"`
	Count    int               `opt:"count"`
	Size     int64             `opt:"size"`
	Keep     bool              `opt:"keep"`
	Ratio    float64           `opt:"ratio"`
	Interval time.Duration     `opt:"interval"`
	Keys     []string          `opt:"keys"`
	Headers  map[string]string `opt:"headers"`
	Raw      any               `opt:"raw"`
	pipeline.UTF8Option
	// Feed is not an option: it has no tag.
	Feed string
}

// defaults are the values decoded starts with.
func defaults() decoded {
	return decoded{Name: "default", Format: "csv", Count: 16, Size: 1 << 20, Keep: true,
		Ratio: 0.5, Interval: time.Hour, Keys: []string{"a"}, Feed: "feed"}
}

func TestDecode(t *testing.T) {
	with := func(f func(*decoded)) decoded {
		d := defaults()
		f(&d)
		return d
	}
	tests := []struct {
		name string
		opts pipeline.Options
		want decoded
		err  string
	}{
		{"no options keep the defaults", nil, defaults(), ""},
		{"null keeps the default", pipeline.Options{"name": nil, "count": nil}, defaults(), ""},
		{"every kind", pipeline.Options{
			"name": "x", "format": "json", "count": 3, "size": int64(7), "keep": false, "ratio": 2.5,
			"interval": "90s", "keys": []any{"b", "c"}, "headers": map[string]any{"A": "1", "B": 2},
			"raw": true, "invalid_utf8": "replace",
		}, with(func(d *decoded) {
			d.Name, d.Format, d.Count, d.Size, d.Keep, d.Ratio = "x", "json", 3, 7, false, 2.5
			d.Interval, d.Keys, d.Headers, d.Raw = 90*time.Second, []string{"b", "c"}, map[string]string{"A": "1", "B": "2"}, true
			d.InvalidUTF8 = "replace"
		}), ""},
		{"a number as a string", pipeline.Options{"name": 42}, with(func(d *decoded) { d.Name = "42" }), ""},
		// yaml.v3 decodes a mapping inside the configuration's options
		// as Options, the type it decodes into.
		{"a mapping from the configuration file", pipeline.Options{"headers": pipeline.Options{"A": "1"}},
			with(func(d *decoded) { d.Headers = map[string]string{"A": "1"} }), ""},
		{"integers from YAML and strings", pipeline.Options{"count": 4.0, "size": "9"}, with(func(d *decoded) { d.Count, d.Size = 4, 9 }), ""},
		{"a boolean as a string", pipeline.Options{"keep": "false"}, with(func(d *decoded) { d.Keep = false }), ""},
		{"a ratio from an integer or a string", pipeline.Options{"ratio": 2, "count": int64(5)}, with(func(d *decoded) { d.Ratio, d.Count = 2, 5 }), ""},
		{"a ratio as a string", pipeline.Options{"ratio": "0.25"}, with(func(d *decoded) { d.Ratio = 0.25 }), ""},
		{"one string is a list of one", pipeline.Options{"keys": "z"}, with(func(d *decoded) { d.Keys = []string{"z"} }), ""},
		{"a list of strings as it is", pipeline.Options{"keys": []string{"y"}}, with(func(d *decoded) { d.Keys = []string{"y"} }), ""},
		{"a map of strings as it is", pipeline.Options{"headers": map[string]string{"C": "3"}}, with(func(d *decoded) { d.Headers = map[string]string{"C": "3"} }), ""},

		{"unknown keys, sorted", pipeline.Options{"zeta": 1, "alpha": 2, "name": "x"}, defaults(), "unknown option alpha, zeta (known: name, format, count, size, keep, ratio, interval, keys, headers, raw, invalid_utf8)"},
		{"unknown before a bad value", pipeline.Options{"count": "many", "nope": 1}, defaults(), "unknown option nope (known: name, format, count, size, keep, ratio, interval, keys, headers, raw, invalid_utf8)"},
		{"the untagged field is no option", pipeline.Options{"Feed": "x"}, defaults(), "unknown option Feed (known: name, format, count, size, keep, ratio, interval, keys, headers, raw, invalid_utf8)"},
		{"string of a list", pipeline.Options{"name": []any{"x"}}, defaults(), "option name: want a string, got []interface {}"},
		{"choice outside the list", pipeline.Options{"format": "xml"}, defaults(), `option format: want one of csv, json, got "xml"`},
		{"embedded choice", pipeline.Options{"invalid_utf8": "ignore"}, defaults(), `option invalid_utf8: want one of reject, replace, got "ignore"`},
		{"integer with a fraction", pipeline.Options{"count": 1.5}, defaults(), "option count: want an integer, got 1.5"},
		{"integer of words", pipeline.Options{"size": "big"}, defaults(), "option size: want an integer, got big"},
		{"boolean of words", pipeline.Options{"keep": "sometimes"}, defaults(), "option keep: want true or false, got sometimes"},
		{"number of words", pipeline.Options{"ratio": "half"}, defaults(), "option ratio: want a number, got half"},
		{"duration without a unit", pipeline.Options{"interval": "90"}, defaults(), `option interval: time: missing unit in duration "90"`},
		{"duration as a number", pipeline.Options{"interval": 90}, defaults(), `option interval: want a duration such as "24h", got 90`},
		{"list of numbers", pipeline.Options{"keys": []any{"a", 1}}, defaults(), "option keys[1]: want a string, got int"},
		{"list of a number", pipeline.Options{"keys": 1}, defaults(), "option keys: want a list of strings, got int"},
		{"map of a list", pipeline.Options{"headers": map[string]any{"A": []any{}}}, defaults(), "option headers.A: want a string, got []interface {}"},
		{"map of a string", pipeline.Options{"headers": "A: 1"}, defaults(), "option headers: want a mapping, got string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := defaults()
			err := tt.opts.Decode(&got)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeUnknownOptionsErrorListsTheKnown(t *testing.T) {
	var got decoded
	err := pipeline.Options{"intervall": "1h"}.Decode(&got)
	var unknown *pipeline.UnknownOptionsError
	if !errors.As(err, &unknown) {
		t.Fatalf("err = %v, want an *UnknownOptionsError", err)
	}
	want := "name format count size keep ratio interval keys headers raw invalid_utf8"
	if strings.Join(unknown.Known, " ") != want || strings.Join(unknown.Keys, " ") != "intervall" {
		t.Errorf("known %v, keys %v; want known %s", unknown.Known, unknown.Keys, want)
	}
}

func TestDecodeRefusesStructsItCannotFill(t *testing.T) {
	var s string
	var unexported struct {
		name string `opt:"name"`
	}
	var twice struct {
		A string `opt:"a"`
		B string `opt:"a"`
	}
	var channel struct {
		C chan int `opt:"c"`
	}
	var choiceInt struct {
		N int `opt:"n" choice:"1,2"`
	}
	tests := []struct {
		name string
		dst  any
		err  string
	}{
		{"not a pointer", decoded{}, "pipeline: options decode into a pointer to a struct, not pipeline_test.decoded"},
		{"a nil pointer", (*decoded)(nil), "pipeline: options decode into a pointer to a struct, not *pipeline_test.decoded"},
		{"a pointer to a string", &s, "pipeline: options decode into a pointer to a struct, not *string"},
		{"an unexported field", &unexported, "pipeline: option name: field struct { name string \"opt:\\\"name\\\"\" }.name is not exported"},
		{"a key named twice", &twice, "pipeline: option a named twice in struct { A string \"opt:\\\"a\\\"\"; B string \"opt:\\\"a\\\"\" }"},
		{"a type it cannot fill", &channel, "pipeline: option c: cannot decode into chan int"},
		{"a choice of integers", &choiceInt, "pipeline: option n: a choice must be a string field, not int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := pipeline.Options{}.Decode(tt.dst)
			if err == nil || err.Error() != tt.err {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
	_ = unexported.name
}

func TestUTF8OptionText(t *testing.T) {
	tests := []struct {
		utf8  pipeline.UTF8Option
		epoch pipeline.EpochOption
		want  pipeline.TextOptions
	}{
		{pipeline.UTF8Option{}, pipeline.EpochOption{}, pipeline.TextOptions{}},
		{pipeline.UTF8Option{InvalidUTF8: "reject"}, pipeline.EpochOption{EpochSeconds: true}, pipeline.TextOptions{EpochSeconds: true}},
		{pipeline.UTF8Option{InvalidUTF8: "replace"}, pipeline.EpochOption{}, pipeline.TextOptions{ReplaceInvalidUTF8: true}},
	}
	for _, tt := range tests {
		if got := tt.utf8.Text(tt.epoch); got != tt.want {
			t.Errorf("%+v.Text(%+v) = %+v, want %+v", tt.utf8, tt.epoch, got, tt.want)
		}
	}
}
