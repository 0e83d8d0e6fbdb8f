package notify

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"text/template/parse"
	"time"
)

// A built-in message template is executed for every message of a pass:
// text/template looks every field and function up by name and boxes
// every value it passes, each time. compileProgram resolves a template's
// actions once, for the type of its data, into closures that read the
// fields by index and call the functions directly; they write the same
// bytes (TestCompiledTemplatesMatch). Only what the built-in templates use
// is compiled: a template with anything else (with, define, template,
// variables, pipelines with |, other functions or methods) is left to
// text/template.

// program is a compiled template.
type program struct {
	root reflect.Type // the type of the data it is compiled for
	run  func(b []byte, dot, root reflect.Value) []byte
}

// runs tells whether p runs for data: data of another type (a pointer
// to it, say) is text/template's.
func (p *program) runs(data any) bool { return p != nil && reflect.TypeOf(data) == p.root }

// execute appends the template's output for data, of p.root's type, to b.
func (p *program) execute(b []byte, data any) []byte {
	v := reflect.ValueOf(data)
	return p.run(b, v, v)
}

// errNotCompiled is what compileProgram gives up with.
var errNotCompiled = errors.New("not compiled")

// vkind is the static kind of a compiled value.
type vkind uint8

const (
	kString vkind = iota
	kInt
	kBool
	kTime
	kSlice
	kStruct
)

// val is a value computed by a compiled expression: the field that its
// kind names is set (v for a slice or a struct).
type val struct {
	s string
	i int64
	b bool
	t time.Time
	v reflect.Value
}

// expr is a compiled expression of a known kind and type.
type expr struct {
	kind vkind
	typ  reflect.Type
	eval func(dot, root reflect.Value) val
}

// compiler compiles the nodes of one template.
type compiler struct {
	lang string
	zone *time.Location
	root reflect.Type
}

// compileProgram compiles tree for data of type root, errNotCompiled when
// it uses what is not compiled.
func compileProgram(tree *parse.Tree, root reflect.Type, lang string, zone *time.Location) (_ *program, err error) {
	if tree == nil || tree.Root == nil {
		return nil, errNotCompiled
	}
	c := &compiler{lang: lang, zone: zone, root: root}
	run, err := c.list(tree.Root, root)
	if err != nil {
		return nil, err
	}
	return &program{root: root, run: run}, nil
}

type runFunc = func(b []byte, dot, root reflect.Value) []byte

func (c *compiler) list(l *parse.ListNode, dot reflect.Type) (runFunc, error) {
	if l == nil {
		return func(b []byte, _, _ reflect.Value) []byte { return b }, nil
	}
	runs := make([]runFunc, 0, len(l.Nodes))
	for _, n := range l.Nodes {
		r, err := c.node(n, dot)
		if err != nil {
			return nil, err
		}
		if r != nil {
			runs = append(runs, r)
		}
	}
	return func(b []byte, d, root reflect.Value) []byte {
		for _, r := range runs {
			b = r(b, d, root)
		}
		return b
	}, nil
}

func (c *compiler) node(n parse.Node, dot reflect.Type) (runFunc, error) {
	switch n := n.(type) {
	case *parse.TextNode:
		text := string(n.Text)
		return func(b []byte, _, _ reflect.Value) []byte { return append(b, text...) }, nil
	case *parse.CommentNode:
		return nil, nil
	case *parse.ActionNode:
		e, err := c.pipe(n.Pipe, dot)
		if err != nil {
			return nil, err
		}
		switch e.kind {
		case kString:
			return func(b []byte, d, root reflect.Value) []byte { return append(b, e.eval(d, root).s...) }, nil
		case kInt:
			return func(b []byte, d, root reflect.Value) []byte { return strconv.AppendInt(b, e.eval(d, root).i, 10) }, nil
		case kBool:
			return func(b []byte, d, root reflect.Value) []byte { return strconv.AppendBool(b, e.eval(d, root).b) }, nil
		}
		return nil, errNotCompiled
	case *parse.IfNode:
		cond, err := c.pipe(n.Pipe, dot)
		if err != nil {
			return nil, err
		}
		truth, err := truthOf(cond)
		if err != nil {
			return nil, err
		}
		then, otherwise, err := c.branches(&n.BranchNode, dot, dot)
		if err != nil {
			return nil, err
		}
		return func(b []byte, d, root reflect.Value) []byte {
			if truth(d, root) {
				return then(b, d, root)
			}
			return otherwise(b, d, root)
		}, nil
	case *parse.RangeNode:
		over, err := c.pipe(n.Pipe, dot)
		if err != nil || over.kind != kSlice {
			return nil, errNotCompiled
		}
		body, otherwise, err := c.branches(&n.BranchNode, over.typ.Elem(), dot)
		if err != nil {
			return nil, err
		}
		return func(b []byte, d, root reflect.Value) []byte {
			s := over.eval(d, root).v
			if s.Len() == 0 {
				return otherwise(b, d, root)
			}
			for i := range s.Len() {
				b = body(b, s.Index(i), root)
			}
			return b
		}, nil
	}
	return nil, errNotCompiled
}

// branches compiles an if's or a range's list, whose dot is body, and
// its else list, whose dot is dot.
func (c *compiler) branches(n *parse.BranchNode, body, dot reflect.Type) (then, otherwise runFunc, err error) {
	if then, err = c.list(n.List, body); err != nil {
		return nil, nil, err
	}
	if otherwise, err = c.list(n.ElseList, dot); err != nil {
		return nil, nil, err
	}
	return then, otherwise, nil
}

// truthOf compiles text/template's truth of e: not the zero value, or
// for a slice not empty.
func truthOf(e expr) (func(d, root reflect.Value) bool, error) {
	switch e.kind {
	case kString:
		return func(d, root reflect.Value) bool { return e.eval(d, root).s != "" }, nil
	case kInt:
		return func(d, root reflect.Value) bool { return e.eval(d, root).i != 0 }, nil
	case kBool:
		return func(d, root reflect.Value) bool { return e.eval(d, root).b }, nil
	case kSlice:
		return func(d, root reflect.Value) bool { return e.eval(d, root).v.Len() > 0 }, nil
	case kStruct, kTime:
		return func(reflect.Value, reflect.Value) bool { return true }, nil
	}
	return nil, errNotCompiled
}

// pipe compiles a pipeline of one command without variables.
func (c *compiler) pipe(p *parse.PipeNode, dot reflect.Type) (expr, error) {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 {
		return expr{}, errNotCompiled
	}
	return c.command(p.Cmds[0].Args, dot)
}

// command compiles a command: a function or a method call with its
// arguments, or one operand.
func (c *compiler) command(args []parse.Node, dot reflect.Type) (expr, error) {
	if len(args) == 0 {
		return expr{}, errNotCompiled
	}
	switch n := args[0].(type) {
	case *parse.IdentifierNode:
		rest := make([]expr, 0, len(args)-1)
		for _, a := range args[1:] {
			e, err := c.operand(a, dot)
			if err != nil {
				return expr{}, err
			}
			rest = append(rest, e)
		}
		return c.function(n.Ident, rest)
	case *parse.FieldNode:
		return c.chain(n.Ident, dot, false, args[1:], dot)
	case *parse.VariableNode:
		if len(n.Ident) < 2 || n.Ident[0] != "$" {
			return expr{}, errNotCompiled
		}
		return c.chain(n.Ident[1:], c.root, true, args[1:], dot)
	}
	if len(args) > 1 {
		return expr{}, errNotCompiled
	}
	return c.operand(args[0], dot)
}

// operand compiles an argument: a field, a constant or a parenthesized
// pipeline.
func (c *compiler) operand(n parse.Node, dot reflect.Type) (expr, error) {
	switch n := n.(type) {
	case *parse.FieldNode:
		return c.chain(n.Ident, dot, false, nil, dot)
	case *parse.VariableNode:
		if len(n.Ident) < 2 || n.Ident[0] != "$" {
			return expr{}, errNotCompiled
		}
		return c.chain(n.Ident[1:], c.root, true, nil, dot)
	case *parse.StringNode:
		s := n.Text
		return expr{kind: kString, eval: func(reflect.Value, reflect.Value) val { return val{s: s} }}, nil
	case *parse.NumberNode:
		if !n.IsInt || n.Text != strconv.FormatInt(n.Int64, 10) {
			return expr{}, errNotCompiled
		}
		i := n.Int64
		return expr{kind: kInt, eval: func(reflect.Value, reflect.Value) val { return val{i: i} }}, nil
	case *parse.PipeNode:
		return c.pipe(n, dot)
	}
	return expr{}, errNotCompiled
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	stringerType  = reflect.TypeFor[fmt.Stringer]()
	errorType     = reflect.TypeFor[error]()
	formatterType = reflect.TypeFor[fmt.Formatter]()
)

// kindOf returns the compiled kind of values of t. A type with a Format,
// String or Error method (on its value or its pointer) is not compiled:
// text/template prints it through fmt, which uses that method, the
// compiled kinds by their value.
func kindOf(t reflect.Type) (vkind, bool) {
	if t == timeType {
		return kTime, true
	}
	for _, m := range []reflect.Type{formatterType, stringerType, errorType} {
		if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
			return 0, false
		}
	}
	switch t.Kind() {
	case reflect.String:
		return kString, true
	case reflect.Int, reflect.Int64, reflect.Int32:
		return kInt, true
	case reflect.Bool:
		return kBool, true
	case reflect.Slice:
		return kSlice, true
	case reflect.Struct:
		return kStruct, true
	}
	return 0, false
}

// chain compiles the fields idents of the dot (of type from) or of the
// root, the last maybe a method of time.Time (IsZero, or Equal with one
// argument in args).
func (c *compiler) chain(idents []string, from reflect.Type, fromRoot bool, args []parse.Node, dot reflect.Type) (expr, error) {
	var index [][]int
	t := from
	for i, name := range idents {
		if t == timeType && i == len(idents)-1 {
			return c.timeMethod(name, index, fromRoot, args, dot)
		}
		if t.Kind() != reflect.Struct {
			return expr{}, errNotCompiled
		}
		f, ok := t.FieldByName(name)
		if !ok || !f.IsExported() || len(f.Index) != 1 {
			return expr{}, errNotCompiled
		}
		index = append(index, f.Index)
		t = f.Type
	}
	if len(args) > 0 {
		return expr{}, errNotCompiled
	}
	k, ok := kindOf(t)
	if !ok {
		return expr{}, errNotCompiled
	}
	get := fieldGetter(index, fromRoot)
	e := expr{kind: k, typ: t}
	switch k {
	case kString:
		e.eval = func(d, root reflect.Value) val { return val{s: get(d, root).String()} }
	case kInt:
		e.eval = func(d, root reflect.Value) val { return val{i: get(d, root).Int()} }
	case kBool:
		e.eval = func(d, root reflect.Value) val { return val{b: get(d, root).Bool()} }
	case kTime:
		e.eval = func(d, root reflect.Value) val { return val{t: get(d, root).Interface().(time.Time)} }
	default:
		e.eval = func(d, root reflect.Value) val { return val{v: get(d, root)} }
	}
	return e, nil
}

// fieldGetter returns the field at index (one step a field) of the dot
// or the root.
func fieldGetter(index [][]int, fromRoot bool) func(d, root reflect.Value) reflect.Value {
	return func(d, root reflect.Value) reflect.Value {
		v := d
		if fromRoot {
			v = root
		}
		for _, i := range index {
			v = v.Field(i[0])
		}
		return v
	}
}

// timeMethod compiles IsZero and Equal of the time.Time at index.
func (c *compiler) timeMethod(name string, index [][]int, fromRoot bool, args []parse.Node, dot reflect.Type) (expr, error) {
	get := fieldGetter(index, fromRoot)
	switch {
	case name == "IsZero" && len(args) == 0:
		return expr{kind: kBool, eval: func(d, root reflect.Value) val {
			return val{b: get(d, root).Interface().(time.Time).IsZero()}
		}}, nil
	case name == "Equal" && len(args) == 1:
		other, err := c.operand(args[0], dot)
		if err != nil || other.kind != kTime {
			return expr{}, errNotCompiled
		}
		return expr{kind: kBool, eval: func(d, root reflect.Value) val {
			return val{b: get(d, root).Interface().(time.Time).Equal(other.eval(d, root).t)}
		}}, nil
	}
	return expr{}, errNotCompiled
}

// function compiles a call of the templates' functions (funcs) or of
// text/template's len, not, eq, gt and printf, for the kinds of
// arguments the built-in templates pass.
func (c *compiler) function(name string, args []expr) (expr, error) {
	kinds := func(want ...vkind) bool {
		if len(args) != len(want) {
			return false
		}
		for i, k := range want {
			if args[i].kind != k {
				return false
			}
		}
		return true
	}
	switch {
	case name == "plural" && kinds(kInt, kString, kString):
		n, one, many, lang := args[0], args[1], args[2], c.lang
		return expr{kind: kString, eval: func(d, root reflect.Value) val {
			return val{s: pluralWord(lang, int(n.eval(d, root).i), one.eval(d, root).s, many.eval(d, root).s)}
		}}, nil
	case name == "date" && kinds(kTime):
		t, zone := args[0], c.zone
		return expr{kind: kString, eval: func(d, root reflect.Value) val { return val{s: formatDate(t.eval(d, root).t, zone)} }}, nil
	case name == "len" && kinds(kSlice):
		s := args[0]
		return expr{kind: kInt, eval: func(d, root reflect.Value) val { return val{i: int64(s.eval(d, root).v.Len())} }}, nil
	case name == "len" && kinds(kString):
		s := args[0]
		return expr{kind: kInt, eval: func(d, root reflect.Value) val { return val{i: int64(len(s.eval(d, root).s))} }}, nil
	case name == "not" && len(args) == 1:
		truth, err := truthOf(args[0])
		if err != nil {
			return expr{}, err
		}
		return expr{kind: kBool, eval: func(d, root reflect.Value) val { return val{b: !truth(d, root)} }}, nil
	case name == "eq" && kinds(kString, kString):
		a, b := args[0], args[1]
		return expr{kind: kBool, eval: func(d, root reflect.Value) val { return val{b: a.eval(d, root).s == b.eval(d, root).s} }}, nil
	case name == "eq" && kinds(kInt, kInt):
		a, b := args[0], args[1]
		return expr{kind: kBool, eval: func(d, root reflect.Value) val { return val{b: a.eval(d, root).i == b.eval(d, root).i} }}, nil
	case name == "gt" && kinds(kInt, kInt):
		a, b := args[0], args[1]
		return expr{kind: kBool, eval: func(d, root reflect.Value) val { return val{b: a.eval(d, root).i > b.eval(d, root).i} }}, nil
	case name == "printf" && len(args) >= 1 && args[0].kind == kString:
		for _, a := range args[1:] {
			if a.kind != kString && a.kind != kInt {
				return expr{}, errNotCompiled
			}
		}
		format, rest := args[0], args[1:]
		return expr{kind: kString, eval: func(d, root reflect.Value) val {
			vs := make([]any, len(rest))
			for i, a := range rest {
				if v := a.eval(d, root); a.kind == kString {
					vs[i] = v.s
				} else {
					vs[i] = int(v.i)
				}
			}
			return val{s: fmt.Sprintf(format.eval(d, root).s, vs...)}
		}}, nil
	}
	return expr{}, errNotCompiled
}
