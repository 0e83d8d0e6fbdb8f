package pipeline

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
)

// UnknownOptionsError is what Decode returns when the options hold keys
// that no field of the struct names: a misspelt option fails at start-up
// rather than being ignored.
type UnknownOptionsError struct {
	// Keys are the unknown keys, sorted.
	Keys []string
	// Known are the keys the struct takes, in the order of its fields.
	Known []string
}

func (e *UnknownOptionsError) Error() string { return e.Explain().String() }

// Explain names the unknown keys and the known ones, in the reader's
// language.
func (e *UnknownOptionsError) Explain() i18n.Message {
	if len(e.Known) == 0 {
		return i18n.M("pipeline.option.nooptions", strings.Join(e.Keys, ", "))
	}
	return i18n.M("pipeline.option.unknown", strings.Join(e.Keys, ", "), strings.Join(e.Known, ", "))
}

// Decode fills the struct dst points to from the options, so a stage names
// each of its options once, in a field tag:
//
//	type jsonlOptions struct {
//		Path string `opt:"path"`
//	}
//
// An option that is absent (or null) leaves its field as it was: the
// struct's values before the call are the defaults. A field without an opt
// tag is not an option; an embedded struct without one is decoded in place,
// its options being the outer struct's. The field types are those of the
// getters, which give their accepted forms and error messages: string, int,
// int64, bool, float64, time.Duration, []string, map[string]string, and any
// (the value as it is, for an option another part of Vigil reads). A string
// field tagged `choice:"a,b"` must be one of those when it is given.
//
// Keys that no field names are refused first, before any value is read,
// with an *UnknownOptionsError; a value of the wrong type is refused with
// the getter's error naming its key.
func (o Options) Decode(dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("pipeline: options decode into a pointer to a struct, not %T", dst)
	}
	var fields []optionField
	if err := collectOptionFields(rv.Elem(), &fields); err != nil {
		return err
	}
	known := make([]string, len(fields))
	for i, f := range fields {
		known[i] = f.key
	}
	if bad := o.Unknown(known...); len(bad) > 0 {
		return &UnknownOptionsError{Keys: bad, Known: known}
	}
	for _, f := range fields {
		if err := o.decodeField(f); err != nil {
			return err
		}
	}
	return nil
}

// optionField is one field of a struct Decode fills.
type optionField struct {
	key    string
	choice []string
	value  reflect.Value
}

// collectOptionFields lists the option fields of the struct v, in order,
// descending into untagged embedded structs.
func collectOptionFields(v reflect.Value, fields *[]optionField) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		tag, tagged := sf.Tag.Lookup("opt")
		if !tagged {
			if sf.Anonymous && sf.Type.Kind() == reflect.Struct {
				if err := collectOptionFields(v.Field(i), fields); err != nil {
					return err
				}
			}
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		if !sf.IsExported() {
			return fmt.Errorf("pipeline: option %s: field %s.%s is not exported", tag, t, sf.Name)
		}
		for _, f := range *fields {
			if f.key == tag {
				return fmt.Errorf("pipeline: option %s named twice in %s", tag, t)
			}
		}
		f := optionField{key: tag, value: v.Field(i)}
		if c, ok := sf.Tag.Lookup("choice"); ok {
			if sf.Type.Kind() != reflect.String {
				return fmt.Errorf("pipeline: option %s: a choice must be a string field, not %s", tag, sf.Type)
			}
			f.choice = strings.Split(c, ",")
		}
		if !decodable(sf.Type) {
			return fmt.Errorf("pipeline: option %s: cannot decode into %s", tag, sf.Type)
		}
		*fields = append(*fields, f)
	}
	return nil
}

var (
	durationType  = reflect.TypeOf(time.Duration(0))
	stringsType   = reflect.TypeOf([]string(nil))
	stringMapType = reflect.TypeOf(map[string]string(nil))
	anyType       = reflect.TypeOf((*any)(nil)).Elem()
)

// decodable tells whether Decode can fill a field of type t.
func decodable(t reflect.Type) bool {
	switch t {
	case durationType, stringsType, stringMapType, anyType:
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int64, reflect.Bool, reflect.Float64:
		return true
	}
	return false
}

// decodeField sets one field from its option with the matching getter,
// the field's value being the default.
func (o Options) decodeField(f optionField) error {
	if v, ok := o[f.key]; !ok || v == nil {
		return nil
	}
	fv := f.value
	switch fv.Type() {
	case durationType:
		d, err := o.Duration(f.key, 0)
		if err != nil {
			return err
		}
		fv.SetInt(int64(d))
		return nil
	case stringsType:
		s, err := o.Strings(f.key)
		if err != nil {
			return err
		}
		fv.Set(reflect.ValueOf(s))
		return nil
	case stringMapType:
		m, err := o.StringMap(f.key)
		if err != nil {
			return err
		}
		fv.Set(reflect.ValueOf(m))
		return nil
	case anyType:
		fv.Set(reflect.ValueOf(o[f.key]))
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		var s string
		var err error
		if f.choice != nil {
			s, err = o.Choice(f.key, "", f.choice...)
		} else {
			s, err = o.String(f.key, "")
		}
		if err != nil {
			return err
		}
		fv.SetString(s)
	case reflect.Int, reflect.Int64:
		n, err := o.Int(f.key, 0)
		if err != nil {
			return err
		}
		fv.SetInt(int64(n))
	case reflect.Bool:
		b, err := o.Bool(f.key, false)
		if err != nil {
			return err
		}
		fv.SetBool(b)
	case reflect.Float64:
		x, err := o.Float(f.key, 0)
		if err != nil {
			return err
		}
		fv.SetFloat(x)
	}
	return nil
}

// Float returns opts[key] as a number, or def when absent.
func (o Options) Float(key string, def float64) (float64, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch v := v.(type) {
	case float64:
		return v, nil
	case int:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case string:
		if x, err := strconv.ParseFloat(v, 64); err == nil {
			return x, nil
		}
	}
	return 0, &OptionError{Message: i18n.M("pipeline.option.number", key, fmt.Sprint(v))}
}

// UTF8Option is the invalid_utf8 option every parser takes: "reject" (the
// default, also when empty) or "replace". Embed it in a parser's options.
type UTF8Option struct {
	InvalidUTF8 string `opt:"invalid_utf8" choice:"reject,replace"`
}

// EpochOption is the epoch_seconds option of the parsers whose feeds may
// send a date-time as seconds since 1970. Embed it in their options.
type EpochOption struct {
	EpochSeconds bool `opt:"epoch_seconds"`
}

// Text returns the TextOptions of a parser's decoded options.
func (u UTF8Option) Text(epoch EpochOption) TextOptions {
	return TextOptions{ReplaceInvalidUTF8: u.InvalidUTF8 == "replace", EpochSeconds: epoch.EpochSeconds}
}
