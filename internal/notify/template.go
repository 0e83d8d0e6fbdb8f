package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// The built-in templates, per language: digest.subject.tmpl and
// digest.body.tmpl, immediate.subject.tmpl and immediate.body.tmpl, and
// type/<classification.type>.tmpl with type/generic.tmpl for the types
// without an explanation of their own.
//
//go:embed templates
var templateFiles embed.FS

// Template names, as stored in store.NotificationTemplate.Name.
const (
	NameDigest    = "digest"
	NameImmediate = "immediate"
	// TypePrefix starts the name of a type explanation:
	// "type/vulnerable-system".
	TypePrefix = "type/"
	// GenericType names the explanation used for types without one.
	GenericType = "generic"
)

// OrgData is what templates know of the organisation.
type OrgData struct {
	Handle, Name, Sector, Country string
}

// TeamData is the sending team.
type TeamData struct {
	Name, Email string
}

// MessageData is what the digest and immediate templates (subject and
// body) are executed with.
type MessageData struct {
	Kind     string // "digest" or "immediate"
	Language string
	Format   string // summary, json or xarf
	Org      OrgData
	Team     TeamData
	// Type is the classification type of an immediate message.
	Type string
	// Events is how many events this message reports; Total how many all
	// its parts report. Part counts from 1; Parts is 1 unless the
	// notification was too large for one message.
	Events, Total int
	Part, Parts   int
	// First and Last bound the events' time.source (zero when unknown).
	First, Last time.Time
	Sections    []Section
	// Repeats are problems told before and seen again, with MoreRepeats
	// those left out of the list; only the first part of a digest has
	// them.
	Repeats     []Repeat
	MoreRepeats int
	Attachments []Attachment
	PortalURL   string
	// WindowDays is the re-notification window in days.
	WindowDays int
	Date       time.Time
}

// Section is the events of one classification type in a message.
type Section struct {
	Type, Taxonomy string
	Identifiers    []string // the distinct classification.identifier values
	Count          int
	// Explanation is the rendered type/<Type> template: what was
	// observed, why it matters, what to do.
	Explanation string
	// Table lists the first Shown events as aligned text; More is how
	// many more the attachment has.
	Table       string
	Shown, More int
}

// Repeat is one observation told before and seen again.
type Repeat struct {
	Summary   string
	Times     int
	FirstSent time.Time
}

// Attachment describes a file attached to the message.
type Attachment struct {
	Name    string
	Events  int
	Gzipped bool
}

// TypeData is what a type explanation template is executed with.
type TypeData struct {
	Type, Taxonomy string
	Identifiers    []string
	Count          int
	Org            OrgData
	Language       string
}

// Template is a parsed notification template.
type Template struct {
	Language, Name string
	subject, body  *template.Template
	// fastSubject and fastBody execute them without text/template when
	// they can (see fastTemplate); nil when they cannot.
	fastSubject, fastBody *fastTemplate

	// A type explanation renders alike for all data that agree in the
	// fields it reads (typeFields): every section of every message of a
	// type has one, so they are kept by those fields.
	typeFields typeField
	mu         sync.Mutex
	explained  map[string]string
}

// typeField is a set of TypeData fields.
type typeField uint8

const (
	fieldType typeField = 1 << iota
	fieldTaxonomy
	fieldIdentifiers
	fieldCount
	fieldOrg
	fieldLanguage
	allTypeFields = fieldType | fieldTaxonomy | fieldIdentifiers | fieldCount | fieldOrg | fieldLanguage
)

var typeFieldNames = map[string]typeField{
	"Type": fieldType, "Taxonomy": fieldTaxonomy, "Identifiers": fieldIdentifiers,
	"Count": fieldCount, "Org": fieldOrg, "Language": fieldLanguage,
}

// readFields returns the TypeData fields a template reads: those its
// actions name, or all of them when it hands its data on whole or
// changes what "." is (range, with, template, "." or "$" alone), where
// a name need not be a field of the data.
func readFields(n parse.Node) typeField {
	switch n := n.(type) {
	case nil:
		return 0
	case *parse.ListNode:
		if n == nil {
			return 0
		}
		var f typeField
		for _, c := range n.Nodes {
			f |= readFields(c)
		}
		return f
	case *parse.TextNode, *parse.CommentNode, *parse.IdentifierNode, *parse.StringNode, *parse.NumberNode,
		*parse.BoolNode, *parse.NilNode, *parse.BreakNode, *parse.ContinueNode:
		return 0
	case *parse.ActionNode:
		return readFields(n.Pipe)
	case *parse.IfNode:
		return readFields(n.Pipe) | readFields(n.List) | readFields(n.ElseList)
	case *parse.PipeNode:
		if n == nil {
			return 0
		}
		var f typeField
		for _, c := range n.Cmds {
			f |= readFields(c)
		}
		return f
	case *parse.CommandNode:
		var f typeField
		for _, a := range n.Args {
			f |= readFields(a)
		}
		return f
	case *parse.ChainNode:
		return readFields(n.Node)
	case *parse.FieldNode:
		if f, ok := typeFieldNames[n.Ident[0]]; ok {
			return f
		}
		return allTypeFields
	case *parse.VariableNode:
		if n.Ident[0] != "$" {
			// Declared from a pipeline whose fields are counted.
			return 0
		}
		if len(n.Ident) > 1 {
			if f, ok := typeFieldNames[n.Ident[1]]; ok {
				return f
			}
		}
		return allTypeFields
	}
	return allTypeFields
}

// maxExplained bounds the explanations a template keeps.
const maxExplained = 4096

// executeType executes a type explanation, or returns the text it gave
// for data that agree in the fields it reads.
func (t *Template) executeType(data TypeData) (string, error) {
	key := typeKey(data, t.typeFields)
	t.mu.Lock()
	s, ok := t.explained[key]
	t.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := t.executeBody(data)
	if err != nil {
		return s, err
	}
	t.mu.Lock()
	if t.explained == nil {
		t.explained = make(map[string]string)
	}
	if len(t.explained) < maxExplained {
		t.explained[key] = s
	}
	t.mu.Unlock()
	return s, nil
}

// typeKey writes the fields of data in f, each with its length.
func typeKey(data TypeData, f typeField) string {
	b := make([]byte, 0, 64)
	str := func(s string) {
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, ':')
		b = append(b, s...)
	}
	if f&fieldType != 0 {
		str(data.Type)
	}
	if f&fieldTaxonomy != 0 {
		str(data.Taxonomy)
	}
	if f&fieldIdentifiers != 0 {
		// nil and empty differ to a template only in printing, as [].
		b = strconv.AppendBool(b, data.Identifiers == nil)
		b = strconv.AppendInt(b, int64(len(data.Identifiers)), 10)
		for _, id := range data.Identifiers {
			str(id)
		}
	}
	if f&fieldCount != 0 {
		b = strconv.AppendInt(b, int64(data.Count), 10)
		b = append(b, ';')
	}
	if f&fieldOrg != 0 {
		str(data.Org.Handle)
		str(data.Org.Name)
		str(data.Org.Sector)
		str(data.Org.Country)
	}
	if f&fieldLanguage != 0 {
		str(data.Language)
	}
	return string(b)
}

// TemplateError is a template that does not parse or execute. Line is the
// line in Part ("subject" or "body") the error is at, 0 when unknown.
type TemplateError struct {
	Language, Name string
	Part           string
	Line           int
	Err            error
}

func (e *TemplateError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("template %s/%s: %s line %d: %v", e.Language, e.Name, e.Part, e.Line, e.Err)
	}
	return fmt.Sprintf("template %s/%s: %s: %v", e.Language, e.Name, e.Part, e.Err)
}

func (e *TemplateError) Unwrap() error { return e.Err }

// templateLine finds the line in text/template's errors
// ("template: body:12: …" or "template: body:12:5: executing …").
var templateLine = regexp.MustCompile(`template: (?:subject|body):(\d+)`)

func templateError(lang, name, part string, err error) *TemplateError {
	te := &TemplateError{Language: lang, Name: name, Part: part, Err: err}
	if m := templateLine.FindStringSubmatch(err.Error()); m != nil {
		te.Line, _ = strconv.Atoi(m[1])
	}
	return te
}

// ValidName reports whether name can be a template: digest, immediate,
// type/generic or type/<a known classification type>.
func ValidName(name string) bool {
	switch name {
	case NameDigest, NameImmediate:
		return true
	}
	typ, ok := strings.CutPrefix(name, TypePrefix)
	return ok && (typ == GenericType || taxonomy.ValidType(typ))
}

// funcs are the functions templates may call. date writes a time in the
// configured zone; plural picks the singular or plural word for n, by the
// rule of the template's language (French counts 0 as singular).
func funcs(lang string, zone *time.Location) template.FuncMap {
	return template.FuncMap{
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.In(zone).Format("2006-01-02 15:04 MST")
		},
		"plural": func(n int, one, many string) string {
			if n == 1 || (lang == "fr" && n == 0) {
				return one
			}
			return many
		},
		"join": strings.Join,
	}
}

// parseTemplate parses t for the given zone. Subjects are required for
// messages and refused for type explanations (they have none).
func parseTemplate(t store.NotificationTemplate, zone *time.Location) (*Template, error) {
	if !ValidLanguage(t.Language) {
		return nil, &TemplateError{Language: t.Language, Name: t.Name, Part: "language", Err: errors.New("want en, nl, fr or de")}
	}
	if !ValidName(t.Name) {
		return nil, &TemplateError{Language: t.Language, Name: t.Name, Part: "name",
			Err: errors.New("want digest, immediate, type/generic or type/<classification type>")}
	}
	isType := strings.HasPrefix(t.Name, TypePrefix)
	if isType && strings.TrimSpace(t.Subject) != "" {
		return nil, &TemplateError{Language: t.Language, Name: t.Name, Part: "subject", Err: errors.New("a type explanation has no subject")}
	}
	if !isType && strings.TrimSpace(t.Subject) == "" {
		return nil, &TemplateError{Language: t.Language, Name: t.Name, Part: "subject", Err: errors.New("empty")}
	}
	if strings.TrimSpace(t.Body) == "" {
		return nil, &TemplateError{Language: t.Language, Name: t.Name, Part: "body", Err: errors.New("empty")}
	}
	fm := funcs(t.Language, zone)
	parsed := &Template{Language: t.Language, Name: t.Name}
	var err error
	if !isType {
		if parsed.subject, err = template.New("subject").Funcs(fm).Option("missingkey=error").Parse(t.Subject); err != nil {
			return nil, templateError(t.Language, t.Name, "subject", err)
		}
	}
	if parsed.body, err = template.New("body").Funcs(fm).Option("missingkey=error").Parse(t.Body); err != nil {
		return nil, templateError(t.Language, t.Name, "body", err)
	}
	parsed.fastBody = newFastTemplate(parsed.body, fm)
	if parsed.subject != nil {
		parsed.fastSubject = newFastTemplate(parsed.subject, fm)
	}
	if isType {
		parsed.typeFields = allTypeFields
		if len(parsed.body.Templates()) == 1 && parsed.body.Tree != nil {
			parsed.typeFields = readFields(parsed.body.Tree.Root)
		}
	}
	return parsed, nil
}

// ParseTemplate parses a template as the console's editor has it, with
// errors (a *TemplateError) that give the line.
func ParseTemplate(t store.NotificationTemplate) (*Template, error) {
	return parseTemplate(t, time.UTC)
}

// Check parses t and executes it with sample data, so that a template that
// would fail when a message is sent (a misspelt field, a wrong argument)
// is refused when it is saved. The error is a *TemplateError.
func Check(t store.NotificationTemplate) error {
	p, err := ParseTemplate(t)
	if err != nil {
		return err
	}
	if p.subject != nil {
		if _, err := p.executeSubject(sampleMessageData(t.Language)); err != nil {
			return err
		}
		if _, err := p.executeBody(sampleMessageData(t.Language)); err != nil {
			return err
		}
		return nil
	}
	_, err = p.executeBody(sampleTypeData(t.Language))
	return err
}

// executeBuffers are the buffers templates execute into: a digest's body
// grows one to several KB in small writes, which a new buffer would
// reallocate again and again for every message.
var executeBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (t *Template) executeBody(data any) (string, error) {
	b := executeBuffers.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= 1<<20 {
			b.Reset()
			executeBuffers.Put(b)
		}
	}()
	if t.fastBody != nil {
		if t.fastBody.execute(b, data) {
			return b.String(), nil
		}
		b.Reset()
	}
	if err := t.body.Execute(b, data); err != nil {
		return "", templateError(t.Language, t.Name, "body", err)
	}
	return b.String(), nil
}

// executeSubject renders the subject as one line: a template that writes
// a line break must not be able to add header fields to the message.
func (t *Template) executeSubject(data any) (string, error) {
	var b bytes.Buffer
	if t.fastSubject == nil || !t.fastSubject.execute(&b, data) {
		b.Reset()
		if err := t.subject.Execute(&b, data); err != nil {
			return "", templateError(t.Language, t.Name, "subject", err)
		}
	}
	s := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, b.String())
	s = strings.Join(strings.Fields(printableLine(s)), " ")
	if s == "" {
		return "", templateError(t.Language, t.Name, "subject", errors.New("renders empty"))
	}
	return s, nil
}

// builtinTemplate returns the embedded template lang/name as a
// store.NotificationTemplate, so that the console can show it as the
// starting point of an override.
func builtinTemplate(lang, name string) (store.NotificationTemplate, error) {
	t := store.NotificationTemplate{Language: lang, Name: name}
	dir := path.Join("templates", lang)
	if strings.HasPrefix(name, TypePrefix) {
		b, err := fs.ReadFile(templateFiles, path.Join(dir, name+".tmpl"))
		if err != nil {
			return t, fmt.Errorf("built-in template %s/%s: %w", lang, name, store.ErrNotFound)
		}
		t.Body = string(b)
		return t, nil
	}
	subject, err := fs.ReadFile(templateFiles, path.Join(dir, name+".subject.tmpl"))
	if err != nil {
		return t, fmt.Errorf("built-in template %s/%s: %w", lang, name, store.ErrNotFound)
	}
	body, err := fs.ReadFile(templateFiles, path.Join(dir, name+".body.tmpl"))
	if err != nil {
		return t, fmt.Errorf("built-in template %s/%s: %w", lang, name, store.ErrNotFound)
	}
	t.Subject, t.Body = strings.TrimSpace(string(subject)), string(body)
	return t, nil
}

// BuiltinTemplate returns the built-in template lang/name (store.ErrNotFound
// for a type without an explanation of its own: type/generic serves it).
func BuiltinTemplate(lang, name string) (store.NotificationTemplate, error) {
	return builtinTemplate(lang, name)
}

// BuiltinNames lists the names of the built-in templates (the same in
// every language), messages first, then the type explanations sorted.
func BuiltinNames() []string {
	names := []string{NameDigest, NameImmediate}
	entries, _ := fs.ReadDir(templateFiles, path.Join("templates", Languages[0], "type"))
	for _, e := range entries {
		names = append(names, TypePrefix+strings.TrimSuffix(e.Name(), ".tmpl"))
	}
	return names
}

// loadBuiltins parses every embedded template for zone.
func loadBuiltins(zone *time.Location) (map[string]*Template, error) {
	m := map[string]*Template{}
	for _, lang := range Languages {
		for _, name := range BuiltinNames() {
			t, err := builtinTemplate(lang, name)
			if err != nil {
				return nil, err
			}
			p, err := parseTemplate(t, zone)
			if err != nil {
				return nil, fmt.Errorf("built-in: %w", err)
			}
			m[lang+"/"+name] = p
		}
	}
	return m, nil
}

// fastTemplate executes the parse tree of a template made only of what
// the built-in templates use (text, fields and methods of structs, $,
// if, range over slices, and the functions date, plural, join, printf,
// len, not and the comparisons of two strings or two integers) straight
// on the data, where text/template pays for reflection and dynamic
// calls at every step: the body of a digest is executed for every
// message. At anything else it meets while executing (another kind of
// value, a comparison of two types, an error) it gives up, and the
// template is executed by text/template instead, which then gives the
// same output, or the same error, as always.
type fastTemplate struct {
	root   *parse.ListNode
	date   func(time.Time) string
	plural func(int, string, string) string
	join   func([]string, string) string
	fields sync.Map // fieldKey → fieldEntry
}

type fieldKey struct {
	typ  reflect.Type
	addr bool
	name string
}

// fieldEntry is what a name selects in a type: a method (by its index
// in the method set of the type, or of its pointer when addressable) or
// a field.
type fieldEntry struct {
	method bool
	index  int
}

var (
	stringType  = reflect.TypeFor[string]()
	intType     = reflect.TypeFor[int]()
	boolType    = reflect.TypeFor[bool]()
	timeType    = reflect.TypeFor[time.Time]()
	stringsType = reflect.TypeFor[[]string]()
)

// fastFunctions are the functions fastTemplate calls itself.
var fastFunctions = map[string]bool{
	"date": true, "plural": true, "join": true, "printf": true, "len": true, "not": true,
	"eq": true, "ne": true, "lt": true, "le": true, "gt": true, "ge": true,
}

// newFastTemplate returns the fast form of t, with fm its functions, or
// nil when t uses something it does not know.
func newFastTemplate(t *template.Template, fm template.FuncMap) *fastTemplate {
	if len(t.Templates()) != 1 || t.Tree == nil || !fastNodes(t.Tree.Root) {
		return nil
	}
	f := &fastTemplate{root: t.Tree.Root}
	var ok1, ok2, ok3 bool
	f.date, ok1 = fm["date"].(func(time.Time) string)
	f.plural, ok2 = fm["plural"].(func(int, string, string) string)
	f.join, ok3 = fm["join"].(func([]string, string) string)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	return f
}

// fastNodes reports whether every node under n is one fastTemplate
// executes.
func fastNodes(n parse.Node) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return true
		}
		for _, c := range n.Nodes {
			if !fastNodes(c) {
				return false
			}
		}
		return true
	case *parse.TextNode, *parse.CommentNode, *parse.FieldNode, *parse.DotNode, *parse.StringNode, *parse.NumberNode:
		return true
	case *parse.ActionNode:
		return fastNodes(n.Pipe)
	case *parse.IfNode:
		return fastNodes(n.Pipe) && fastNodes(n.List) && fastNodes(n.ElseList)
	case *parse.RangeNode:
		return fastNodes(n.Pipe) && fastNodes(n.List) && fastNodes(n.ElseList)
	case *parse.PipeNode:
		if n == nil || len(n.Decl) > 0 || len(n.Cmds) != 1 {
			return false
		}
		return fastNodes(n.Cmds[0])
	case *parse.CommandNode:
		for _, a := range n.Args {
			if !fastNodes(a) {
				return false
			}
		}
		return true
	case *parse.VariableNode:
		return n.Ident[0] == "$"
	case *parse.IdentifierNode:
		return fastFunctions[n.Ident]
	}
	return false
}

// execute writes what t gives for data to w and reports whether it
// could; when not, w holds a part and the caller starts over.
func (f *fastTemplate) execute(w *bytes.Buffer, data any) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	root := reflect.ValueOf(data)
	x := fastRun{f: f, w: w, root: root}
	return x.walk(root, f.root)
}

type fastRun struct {
	f    *fastTemplate
	w    *bytes.Buffer
	root reflect.Value
}

func (x *fastRun) walk(dot reflect.Value, n parse.Node) bool {
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			if !x.walk(dot, c) {
				return false
			}
		}
		return true
	case *parse.TextNode:
		x.w.Write(n.Text)
		return true
	case *parse.CommentNode:
		return true
	case *parse.ActionNode:
		v, ok := x.pipe(dot, n.Pipe)
		return ok && x.print(v)
	case *parse.IfNode:
		v, ok := x.pipe(dot, n.Pipe)
		if !ok {
			return false
		}
		truth, ok := isTrue(v)
		if !ok {
			return false
		}
		if truth {
			return x.walk(dot, n.List)
		}
		if n.ElseList != nil {
			return x.walk(dot, n.ElseList)
		}
		return true
	case *parse.RangeNode:
		v, ok := x.pipe(dot, n.Pipe)
		if !ok || (v.Kind() != reflect.Slice && v.Kind() != reflect.Array) {
			return false
		}
		if v.Len() == 0 {
			if n.ElseList != nil {
				return x.walk(dot, n.ElseList)
			}
			return true
		}
		for i := 0; i < v.Len(); i++ {
			if !x.walk(v.Index(i), n.List) {
				return false
			}
		}
		return true
	}
	return false
}

func (x *fastRun) pipe(dot reflect.Value, p *parse.PipeNode) (reflect.Value, bool) {
	v, ok := x.command(dot, p.Cmds[0])
	if !ok || (v.IsValid() && v.Kind() == reflect.Interface) {
		return reflect.Value{}, false
	}
	return v, true
}

func (x *fastRun) command(dot reflect.Value, c *parse.CommandNode) (reflect.Value, bool) {
	args := c.Args[1:]
	switch n := c.Args[0].(type) {
	case *parse.FieldNode:
		return x.fieldChain(dot, dot, n.Ident, args)
	case *parse.VariableNode:
		if len(n.Ident) == 1 {
			return x.root, len(args) == 0
		}
		return x.fieldChain(dot, x.root, n.Ident[1:], args)
	case *parse.IdentifierNode:
		return x.call(dot, n.Ident, args)
	case *parse.PipeNode:
		if len(args) > 0 {
			return reflect.Value{}, false
		}
		return x.pipe(dot, n)
	case *parse.DotNode:
		return dot, len(args) == 0
	case *parse.StringNode:
		return reflect.ValueOf(n.Text), len(args) == 0
	}
	return reflect.Value{}, false
}

// fieldChain selects idents one after the other from receiver, calling
// the last with args when it is a method.
func (x *fastRun) fieldChain(dot, receiver reflect.Value, idents []string, args []parse.Node) (reflect.Value, bool) {
	for i, name := range idents {
		var a []parse.Node
		if i == len(idents)-1 {
			a = args
		}
		var ok bool
		if receiver, ok = x.field(dot, receiver, name, a); !ok {
			return reflect.Value{}, false
		}
	}
	return receiver, true
}

func (x *fastRun) field(dot, receiver reflect.Value, name string, args []parse.Node) (reflect.Value, bool) {
	if !receiver.IsValid() || receiver.Kind() == reflect.Pointer || receiver.Kind() == reflect.Interface {
		return reflect.Value{}, false
	}
	key := fieldKey{typ: receiver.Type(), addr: receiver.CanAddr(), name: name}
	var entry fieldEntry
	if e, ok := x.f.fields.Load(key); ok {
		entry = e.(fieldEntry)
	} else {
		t := key.typ
		if key.addr {
			t = reflect.PointerTo(t)
		}
		if m, ok := t.MethodByName(name); ok {
			entry = fieldEntry{method: true, index: m.Index}
		} else if key.typ.Kind() != reflect.Struct {
			return reflect.Value{}, false
		} else if sf, ok := key.typ.FieldByName(name); ok && sf.IsExported() && len(sf.Index) == 1 {
			entry = fieldEntry{index: sf.Index[0]}
		} else {
			return reflect.Value{}, false
		}
		x.f.fields.Store(key, entry)
	}
	if !entry.method {
		if len(args) > 0 {
			return reflect.Value{}, false
		}
		return receiver.Field(entry.index), true
	}
	m := receiver
	if key.addr {
		m = receiver.Addr()
	}
	return x.method(dot, m.Method(entry.index), args)
}

// method calls m with args, each of a type it takes, for its one result.
func (x *fastRun) method(dot, m reflect.Value, args []parse.Node) (reflect.Value, bool) {
	mt := m.Type()
	if mt.IsVariadic() || mt.NumIn() != len(args) || mt.NumOut() != 1 || mt.Out(0).Kind() == reflect.Interface {
		return reflect.Value{}, false
	}
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		v, ok := x.arg(dot, a, mt.In(i))
		if !ok {
			return reflect.Value{}, false
		}
		in[i] = v
	}
	return m.Call(in)[0], true
}

// arg evaluates an argument for a parameter of type want (nil: any),
// giving up unless it is of that type.
func (x *fastRun) arg(dot reflect.Value, n parse.Node, want reflect.Type) (reflect.Value, bool) {
	var v reflect.Value
	switch n := n.(type) {
	case *parse.FieldNode:
		var ok bool
		if v, ok = x.fieldChain(dot, dot, n.Ident, nil); !ok {
			return v, false
		}
	case *parse.VariableNode:
		var ok bool
		if len(n.Ident) == 1 {
			v = x.root
		} else if v, ok = x.fieldChain(dot, x.root, n.Ident[1:], nil); !ok {
			return v, false
		}
	case *parse.PipeNode:
		var ok bool
		if v, ok = x.pipe(dot, n); !ok {
			return v, false
		}
	case *parse.DotNode:
		v = dot
	case *parse.StringNode:
		if want != nil && want != stringType {
			return v, false
		}
		return reflect.ValueOf(n.Text), true
	case *parse.NumberNode:
		// An integer constant, as text/template makes it for an int or
		// an interface parameter.
		if !n.IsInt || (want != nil && want != intType) || strings.ContainsAny(n.Text, ".eEpP_xXoObB'") || int64(int(n.Int64)) != n.Int64 {
			return v, false
		}
		return reflect.ValueOf(int(n.Int64)), true
	default:
		return v, false
	}
	if !v.IsValid() || (want != nil && v.Type() != want) {
		return v, false
	}
	return v, true
}

func (x *fastRun) call(dot reflect.Value, name string, args []parse.Node) (reflect.Value, bool) {
	typed := func(types ...reflect.Type) ([]reflect.Value, bool) {
		if len(args) != len(types) {
			return nil, false
		}
		out := make([]reflect.Value, len(args))
		for i, a := range args {
			v, ok := x.arg(dot, a, types[i])
			if !ok {
				return nil, false
			}
			out[i] = v
		}
		return out, true
	}
	switch name {
	case "date":
		if a, ok := typed(timeType); ok {
			return reflect.ValueOf(x.f.date(a[0].Interface().(time.Time))), true
		}
	case "plural":
		if a, ok := typed(intType, stringType, stringType); ok {
			return reflect.ValueOf(x.f.plural(int(a[0].Int()), a[1].String(), a[2].String())), true
		}
	case "join":
		if a, ok := typed(stringsType, stringType); ok {
			return reflect.ValueOf(x.f.join(a[0].Interface().([]string), a[1].String())), true
		}
	case "printf":
		if len(args) == 0 {
			break
		}
		format, ok := x.arg(dot, args[0], stringType)
		if !ok {
			break
		}
		rest := make([]any, len(args)-1)
		for i, a := range args[1:] {
			v, ok := x.arg(dot, a, nil)
			if !ok || v.Kind() == reflect.Interface || !v.CanInterface() {
				return reflect.Value{}, false
			}
			rest[i] = v.Interface()
		}
		return reflect.ValueOf(fmt.Sprintf(format.String(), rest...)), true
	case "len":
		if a, ok := typed(nil); ok {
			switch a[0].Kind() {
			case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
				return reflect.ValueOf(a[0].Len()), true
			}
		}
	case "not":
		if a, ok := typed(nil); ok {
			if truth, ok := isTrue(a[0]); ok {
				return reflect.ValueOf(!truth), true
			}
		}
	case "eq", "ne", "lt", "le", "gt", "ge":
		a, ok := typed(nil, nil)
		if !ok {
			break
		}
		var less, equal bool
		switch k1, k2 := a[0].Kind(), a[1].Kind(); {
		case k1 == reflect.String && k2 == reflect.String:
			less, equal = a[0].String() < a[1].String(), a[0].String() == a[1].String()
		case isSignedInt(k1) && isSignedInt(k2):
			less, equal = a[0].Int() < a[1].Int(), a[0].Int() == a[1].Int()
		default:
			return reflect.Value{}, false
		}
		var truth bool
		switch name {
		case "eq":
			truth = equal
		case "ne":
			truth = !equal
		case "lt":
			truth = less
		case "le":
			truth = less || equal
		case "gt":
			truth = !less && !equal
		case "ge":
			truth = !less
		}
		return reflect.ValueOf(truth), true
	}
	return reflect.Value{}, false
}

func isSignedInt(k reflect.Kind) bool {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// isTrue is text/template's truth of a value.
func isTrue(v reflect.Value) (truth, ok bool) {
	if !v.IsValid() {
		return false, true
	}
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() > 0, true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Complex64, reflect.Complex128:
		return v.Complex() != 0, true
	case reflect.Chan, reflect.Func, reflect.Pointer, reflect.UnsafePointer, reflect.Interface:
		return !v.IsNil(), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return v.Int() != 0, true
	case reflect.Float32, reflect.Float64:
		return v.Float() != 0, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return v.Uint() != 0, true
	case reflect.Struct:
		return true, true
	}
	return false, false
}

// print writes v as text/template prints the value of an action.
func (x *fastRun) print(v reflect.Value) bool {
	if !v.IsValid() {
		return false
	}
	switch v.Type() {
	case stringType:
		x.w.WriteString(v.String())
		return true
	case intType:
		x.w.Write(strconv.AppendInt(x.w.AvailableBuffer(), v.Int(), 10))
		return true
	case boolType:
		x.w.Write(strconv.AppendBool(x.w.AvailableBuffer(), v.Bool()))
		return true
	}
	return false
}
