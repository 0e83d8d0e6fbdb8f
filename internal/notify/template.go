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

// Template names, as stored in TemplateSource.Name.
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
	// subjectProg and bodyProg are subject and body compiled for
	// MessageData (template_compile.go), for the built-in templates
	// that compile; nil for the others.
	subjectProg, bodyProg *program

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
		"date":   func(t time.Time) string { return formatDate(t, zone) },
		"plural": func(n int, one, many string) string { return pluralWord(lang, n, one, many) },
		"join":   strings.Join,
	}
}

// formatDate is the date function: t in zone, "-" for no time.
func formatDate(t time.Time, zone *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(zone).Format("2006-01-02 15:04 MST")
}

// pluralWord is the plural function of lang's templates.
func pluralWord(lang string, n int, one, many string) string {
	if n == 1 || (lang == "fr" && n == 0) {
		return one
	}
	return many
}

// parseTemplate parses t for the given zone. Subjects are required for
// messages and refused for type explanations (they have none).
func parseTemplate(t TemplateSource, zone *time.Location) (*Template, error) {
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
func ParseTemplate(t TemplateSource) (*Template, error) {
	return parseTemplate(t, time.UTC)
}

// Check parses t and executes it with sample data, so that a template that
// would fail when a message is sent (a misspelt field, a wrong argument)
// is refused when it is saved. The error is a *TemplateError.
func Check(t TemplateSource) error {
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
	return t.execute(t.bodyProg, t.body, "body", data)
}

// appendBody appends the body rendered for data to dst: the caller's
// array, not a string copied from the pool's (a morning's pass renders
// some 60 MB of bodies).
func (t *Template) appendBody(dst []byte, data any) ([]byte, error) {
	if t.bodyProg.runs(data) {
		return t.bodyProg.execute(dst, data), nil
	}
	b := bytes.NewBuffer(dst)
	if err := t.body.Execute(b, data); err != nil {
		return dst, templateError(t.Language, t.Name, "body", err)
	}
	return b.Bytes(), nil
}

// execute renders data with p when it runs for data, else with tmpl.
func (t *Template) execute(p *program, tmpl *template.Template, part string, data any) (string, error) {
	b := executeBuffers.Get().(*bytes.Buffer)
	defer func() {
		if b.Cap() <= 1<<20 {
			b.Reset()
			executeBuffers.Put(b)
		}
	}()
	if p.runs(data) {
		b.Write(p.execute(b.AvailableBuffer(), data))
	} else if err := tmpl.Execute(b, data); err != nil {
		return "", templateError(t.Language, t.Name, part, err)
	}
	return b.String(), nil
}

// executeSubject renders the subject as one line: a template that writes
// a line break must not be able to add header fields to the message.
func (t *Template) executeSubject(data any) (string, error) {
	line, err := t.execute(t.subjectProg, t.subject, "subject", data)
	if err != nil {
		return "", err
	}
	s := strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, line)
	s = strings.Join(strings.Fields(printableLine(s)), " ")
	if s == "" {
		return "", templateError(t.Language, t.Name, "subject", errors.New("renders empty"))
	}
	return s, nil
}

// compile compiles the subject and body of a message template for
// MessageData, each left to text/template when it does not compile.
func (t *Template) compile(zone *time.Location) {
	if t.subject == nil {
		return // a type explanation: kept by the fields it reads instead
	}
	data := reflect.TypeFor[MessageData]()
	if len(t.subject.Templates()) == 1 {
		t.subjectProg, _ = compileProgram(t.subject.Tree, data, t.Language, zone)
	}
	if len(t.body.Templates()) == 1 {
		t.bodyProg, _ = compileProgram(t.body.Tree, data, t.Language, zone)
	}
}

// builtinTemplate returns the embedded template lang/name as a
// TemplateSource, so that the console can show it as the
// starting point of an override.
func builtinTemplate(lang, name string) (TemplateSource, error) {
	t := TemplateSource{Language: lang, Name: name}
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
func BuiltinTemplate(lang, name string) (TemplateSource, error) {
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
			// Built-in ones only: an override is run by text/template,
			// whose errors the editor shows.
			p.compile(zone)
			m[lang+"/"+name] = p
		}
	}
	return m, nil
}
