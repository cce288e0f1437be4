package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDocumentBytes bounds a spec or fleet document. A migration spec is a
// few kilobytes; anything near this size is a mistake (a pasted log, a
// generated file), and Temporal refuses large payloads anyway.
const MaxDocumentBytes = 256 << 10

// DocumentField is the path of problems with the document as a whole
// (size, encoding, syntax, trailing data).
const DocumentField = "(document)"

// DecodeStrict reads the JSON document data into v (a pointer to a struct)
// and returns every problem with its JSON path, in document order. It is
// the one reader of user-written JSON: `cutover validate`, `cutover start`,
// fleet files and the workflow's own input (what the Temporal UI sends) all
// go through it. It rejects what encoding/json lets through: unknown keys at
// any depth, duplicated keys, keys that differ from a field only in case,
// trailing data, invalid UTF-8, wrong JSON types, fractional or out-of-range
// integers and oversized documents. A JSON null is read as absent.
//
// The ZeroFields returned are the explicit zero values written for
// non-pointer fields; ReplacedZeros turns those that defaults would
// silently replace into problems.
func DecodeStrict(data []byte, v any) ([]ZeroField, FieldErrors) {
	zeros, errs, _ := decodeStrict(data, v)
	return zeros, errs
}

// decodeStrict is DecodeStrict; bound is false when the document could not
// be read at all (too large, not JSON, not an object), so v is untouched.
func decodeStrict(data []byte, v any) (zeros []ZeroField, errs FieldErrors, bound bool) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic("spec.DecodeStrict: v must be a non-nil pointer")
	}
	if len(data) > MaxDocumentBytes {
		return nil, FieldErrors{{Field: DocumentField, Reason: fmt.Sprintf("is %d bytes; a document may be at most %d bytes (%d KiB)", len(data), MaxDocumentBytes, MaxDocumentBytes>>10)}}, false
	}
	p, root, fatal := parseTree(data)
	if fatal != nil {
		return nil, append(p.errs.sorted(), *fatal), false
	}
	d := &binder{errs: p.errs}
	d.bind(root, rv.Elem(), "", nil)
	return d.zeros, d.errs.sorted(), true
}

// located is a problem with the offset of the value it is about, so that
// problems found while tokenizing (duplicated keys, encoding) and while
// binding (types, unknown keys) are reported in document order.
type located struct {
	off int64
	FieldError
}

type problems []located

func (ps *problems) add(off int64, field, reason string) {
	*ps = append(*ps, located{off: off, FieldError: FieldError{Field: field, Reason: reason}})
}

func (ps problems) sorted() FieldErrors {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].off < ps[j].off })
	out := make(FieldErrors, len(ps))
	for i, p := range ps {
		out[i] = p.FieldError
	}
	return out
}

// ZeroField is an explicit zero value in the document.
type ZeroField struct {
	Field string
	steps []step
	raw   string
}

// step addresses one level of a Go value: a struct field, a slice index or
// a map key.
type step struct {
	field int
	index int
	key   string
	kind  reflect.Kind
}

// lookup follows steps from root; ok is false when a level is missing.
func lookup(root reflect.Value, steps []step) (reflect.Value, bool) {
	v := root
	for _, s := range steps {
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		switch s.kind {
		case reflect.Struct:
			v = v.Field(s.field)
		case reflect.Slice:
			if s.index >= v.Len() {
				return reflect.Value{}, false
			}
			v = v.Index(s.index)
		case reflect.Map:
			v = v.MapIndex(reflect.ValueOf(s.key))
			if !v.IsValid() {
				return reflect.Value{}, false
			}
		}
	}
	return v, true
}

// node is one parsed JSON value, keys in document order.
type node struct {
	kind    byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, '0' null
	off     int64
	members []member
	items   []*node
	str     string
	num     json.Number
	b       bool
}

type member struct {
	key string
	off int64
	val *node
}

func (n *node) describe() string {
	switch n.kind {
	case 'o':
		return "an object"
	case 'a':
		return "an array"
	case 's':
		return fmt.Sprintf("the string %s", truncate(strconv.Quote(n.str), 40))
	case 'n':
		return "the number " + truncate(n.num.String(), 40)
	case 'b':
		return "the boolean " + strconv.FormatBool(n.b)
	}
	return "null"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// parseTree tokenizes data into a tree, checking encoding, duplicated keys
// and trailing data on the way. fatal is set when there is no tree to bind.
func parseTree(data []byte) (p *treeParser, root *node, fatal *FieldError) {
	p = &treeParser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	if len(bytes.TrimSpace(data)) == 0 {
		return p, nil, &FieldError{Field: DocumentField, Reason: "is empty: expected a JSON object"}
	}
	p.dec.UseNumber()
	root, err := p.value("")
	if err != nil {
		return p, nil, err
	}
	if _, terr := p.dec.Token(); terr != io.EOF {
		off := p.dec.InputOffset()
		return p, nil, &FieldError{Field: DocumentField, Reason: fmt.Sprintf("has data after the end of the JSON document (%s): a document is exactly one JSON object", p.where(off))}
	}
	if root.kind != 'o' {
		return p, nil, &FieldError{Field: DocumentField, Reason: "must be a JSON object, got " + root.describe()}
	}
	return p, root, nil
}

type treeParser struct {
	data []byte
	dec  *json.Decoder
	errs problems // recoverable problems (duplicates, encoding)
}

// where says where a byte offset is, for people.
func (p *treeParser) where(off int64) string {
	if off > int64(len(p.data)) {
		off = int64(len(p.data))
	}
	line := 1 + bytes.Count(p.data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(p.data[:off], '\n'))
	return fmt.Sprintf("line %d, column %d", line, col)
}

func (p *treeParser) syntax(path string, err error) *FieldError {
	field := path
	if field == "" {
		field = DocumentField
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return &FieldError{Field: field, Reason: fmt.Sprintf("invalid JSON at %s: %s", p.where(se.Offset), se.Error())}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &FieldError{Field: field, Reason: "the JSON document ends too early (unclosed object, array or string)"}
	}
	return &FieldError{Field: field, Reason: "invalid JSON: " + err.Error()}
}

// token reads one token and checks that its bytes are valid UTF-8
// (encoding/json would silently replace invalid bytes with U+FFFD).
func (p *treeParser) token(path string) (json.Token, *FieldError) {
	start := p.dec.InputOffset()
	t, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(path, err)
	}
	if raw := p.data[start:p.dec.InputOffset()]; !utf8.Valid(raw) {
		field := path
		if field == "" {
			field = DocumentField
		}
		p.errs.add(start, field, fmt.Sprintf("contains invalid UTF-8 (%s): JSON text must be UTF-8", p.where(start)))
	}
	return t, nil
}

func (p *treeParser) value(path string) (*node, *FieldError) {
	off := p.dec.InputOffset()
	n, err := p.value1(path)
	if n != nil {
		n.off = off
	}
	return n, err
}

func (p *treeParser) value1(path string) (*node, *FieldError) {
	t, err := p.token(path)
	if err != nil {
		return nil, err
	}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &node{kind: 'o'}
			seen := map[string]bool{}
			for p.dec.More() {
				koff := p.dec.InputOffset()
				kt, err := p.token(path)
				if err != nil {
					return nil, err
				}
				key, _ := kt.(string)
				kp := joinKey(path, key)
				if seen[key] {
					p.errs.add(koff, kp, "is given twice: a key may appear once in an object (the later one would silently win)")
				}
				seen[key] = true
				v, err := p.value(kp)
				if err != nil {
					return nil, err
				}
				n.members = append(n.members, member{key: key, off: koff, val: v})
			}
			if _, err := p.token(path); err != nil {
				return nil, err
			}
			return n, nil
		case '[':
			n := &node{kind: 'a'}
			for i := 0; p.dec.More(); i++ {
				v, err := p.value(fmt.Sprintf("%s[%d]", path, i))
				if err != nil {
					return nil, err
				}
				n.items = append(n.items, v)
			}
			if _, err := p.token(path); err != nil {
				return nil, err
			}
			return n, nil
		}
	case string:
		return &node{kind: 's', str: t}, nil
	case json.Number:
		return &node{kind: 'n', num: t}, nil
	case bool:
		return &node{kind: 'b', b: t}, nil
	case nil:
		return &node{kind: '0'}, nil
	}
	return nil, &FieldError{Field: path, Reason: fmt.Sprintf("unexpected JSON token %v", t)}
}

// joinKey appends an object key to a path: "traffic" + "steps" is
// "traffic.steps"; keys that are not identifiers are quoted.
func joinKey(path, key string) string {
	simple := key != ""
	for _, r := range key {
		if !(r == '-' || r == '_' || r == '/' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			simple = false
			break
		}
	}
	if !simple {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

// binder assigns a tree to a Go value by reflection, following the json
// tags, and collects problems.
type binder struct {
	errs  problems
	zeros []ZeroField
	off   int64 // offset of the value being bound
}

func (d *binder) fail(path, format string, args ...any) {
	d.errs.add(d.off, path, fmt.Sprintf(format, args...))
}

var (
	durationT = reflect.TypeOf(Duration(0))
)

// maxDurationSeconds keeps a number of seconds inside time.Duration.
const maxDurationSeconds = float64(math.MaxInt64 / int64(time.Second))

func (d *binder) bind(n *node, v reflect.Value, path string, steps []step) {
	if n.kind == '0' {
		return // null is absent: v keeps its zero value
	}
	if v.Kind() == reflect.Pointer {
		nv := reflect.New(v.Type().Elem())
		d.bindValue(n, nv.Elem(), path, steps, true)
		v.Set(nv)
		return
	}
	d.bindValue(n, v, path, steps, false)
}

func (d *binder) bindValue(n *node, v reflect.Value, path string, steps []step, viaPointer bool) {
	d.off = n.off
	t := v.Type()
	zero := func(raw string) {
		if !viaPointer && v.IsZero() {
			d.zeros = append(d.zeros, ZeroField{Field: path, steps: append([]step(nil), steps...), raw: raw})
		}
	}
	if t == durationT {
		switch n.kind {
		case 's':
			dur, err := time.ParseDuration(n.str)
			if err != nil {
				d.fail(path, "must be a duration such as \"90s\", \"15m\" or \"24h\", got %s", strconv.Quote(n.str))
				return
			}
			v.SetInt(int64(dur))
			zero(strconv.Quote(n.str))
		case 'n':
			secs, err := n.num.Float64()
			if err != nil || math.IsNaN(secs) || math.Abs(secs) > maxDurationSeconds {
				d.fail(path, "must be a duration (a string such as \"15m\" or a number of seconds), got %s", n.num)
				return
			}
			v.SetInt(int64(secs * float64(time.Second)))
			zero(n.num.String())
		default:
			d.fail(path, "must be a duration: a string such as \"15m\" or a number of seconds, got %s", n.describe())
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.kind != 'o' {
			d.fail(path, "must be an object, got %s", n.describe())
			return
		}
		fields := jsonFields(t)
		for _, m := range n.members {
			kp := joinKey(path, m.key)
			fi, ok := fields.byName[m.key]
			if !ok {
				d.off = m.off
				d.fail(kp, "is not a field of %s", fields.unknownHint(m.key, path))
				continue
			}
			d.bind(m.val, v.Field(fi), kp, append(steps, step{kind: reflect.Struct, field: fi}))
		}
	case reflect.Slice:
		if n.kind != 'a' {
			d.fail(path, "must be an array, got %s", n.describe())
			return
		}
		s := reflect.MakeSlice(t, len(n.items), len(n.items))
		for i, it := range n.items {
			ip := fmt.Sprintf("%s[%d]", path, i)
			if it.kind == '0' {
				d.off = it.off
				d.fail(ip, "must not be null")
				continue
			}
			d.bindValue(it, s.Index(i), ip, append(steps, step{kind: reflect.Slice, index: i}), false)
		}
		v.Set(s)
		if len(n.items) == 0 && !viaPointer {
			// An empty array is not IsZero (non-nil), but defaults treat
			// it as absent.
			d.zeros = append(d.zeros, ZeroField{Field: path, steps: append([]step(nil), steps...), raw: "[]"})
		}
	case reflect.Map:
		if n.kind != 'o' {
			d.fail(path, "must be an object, got %s", n.describe())
			return
		}
		if t.Key().Kind() != reflect.String {
			panic("spec.DecodeStrict: map keys must be strings")
		}
		mv := reflect.MakeMapWithSize(t, len(n.members))
		for _, m := range n.members {
			kp := joinKey(path, m.key)
			if m.val.kind == '0' {
				d.off = m.off
				d.fail(kp, "must not be null")
				continue
			}
			ev := reflect.New(t.Elem()).Elem()
			d.bindValue(m.val, ev, kp, nil, true)
			mv.SetMapIndex(reflect.ValueOf(m.key).Convert(t.Key()), ev)
		}
		v.Set(mv)
	case reflect.String:
		if n.kind != 's' {
			d.fail(path, "must be a string, got %s", n.describe())
			return
		}
		v.SetString(n.str)
		zero(`""`)
	case reflect.Bool:
		if n.kind != 'b' {
			d.fail(path, "must be true or false, got %s", n.describe())
			return
		}
		v.SetBool(n.b)
		zero("false")
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.kind != 'n' {
			d.fail(path, "must be an integer, got %s", n.describe())
			return
		}
		i, err := strconv.ParseInt(n.num.String(), 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.fail(path, "must be an integer in range, got %s", n.num)
			return
		}
		v.SetInt(i)
		zero("0")
	default:
		panic(fmt.Sprintf("spec.DecodeStrict: unsupported field type %s at %s", t, path))
	}
}

// fieldSet is the json-visible fields of a struct type.
type fieldSet struct {
	byName map[string]int
	names  []string
}

func jsonFields(t reflect.Type) fieldSet {
	fs := fieldSet{byName: map[string]int{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fs.byName[name] = i
		fs.names = append(fs.names, name)
	}
	sort.Strings(fs.names)
	return fs
}

// unknownHint names the object and the closest known field.
func (fs fieldSet) unknownHint(key, path string) string {
	where := "this object"
	if path == "" {
		where = "the spec"
	} else {
		where = path
	}
	for _, n := range fs.names {
		if strings.EqualFold(n, key) {
			return fmt.Sprintf("%s: keys are case-sensitive, did you mean %q?", where, n)
		}
	}
	best, bestD := "", 3
	for _, n := range fs.names {
		if dd := editDistance(strings.ToLower(key), strings.ToLower(n)); dd < bestD {
			best, bestD = n, dd
		}
	}
	if best != "" {
		return fmt.Sprintf("%s: did you mean %q?", where, best)
	}
	return fmt.Sprintf("%s (known fields: %s)", where, strings.Join(fs.names, ", "))
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Parse reads a migration spec strictly (DecodeStrict), applies the
// defaults and validates it. It returns the spec with defaults applied and
// every problem at once, decoding problems first, each with its JSON path.
// An explicit zero that a default would silently replace ("soak": "0s",
// "steps": []) is a problem too: omit the field to get the default. The
// workflow and every CLI command read specs through it.
func Parse(data []byte) (MigrationSpec, error) {
	var raw MigrationSpec
	zeros, errs, bound := decodeStrict(data, &raw)
	if !bound {
		return MigrationSpec{}, errs
	}
	s := raw.WithDefaults()
	errs = append(errs, ReplacedZeros(s, zeros)...)
	if verr := s.Validate(); verr != nil {
		var fe FieldErrors
		if errors.As(verr, &fe) {
			errs = append(errs, NotYetReported(fe, errs)...)
		}
	}
	if len(errs) == 0 {
		return s, nil
	}
	return s, errs
}

// ReplacedZeros reports the explicit zeros (from DecodeStrict) whose value
// the defaults changed: defaulted is the decoded document with defaults
// applied (a MigrationSpec, or a fleet whose members were defaulted).
func ReplacedZeros(defaulted any, zeros []ZeroField) FieldErrors {
	var errs FieldErrors
	root := reflect.ValueOf(defaulted)
	for _, z := range zeros {
		v, ok := lookup(root, z.steps)
		if !ok || v.IsZero() || ((v.Kind() == reflect.Slice || v.Kind() == reflect.Map) && v.Len() == 0) {
			continue
		}
		errs = append(errs, FieldError{Field: z.Field, Reason: fmt.Sprintf("%s is not allowed here: it would be replaced by the default %s; omit the field for the default, or give another value", z.raw, formatDefault(v))})
	}
	return errs
}

func formatDefault(v reflect.Value) string {
	if v.Type() == durationT {
		return strconv.Quote(Duration(v.Int()).String())
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}

// NotYetReported drops validation problems on fields (or inside fields)
// that already have a decoding problem: "name: must be a string" makes
// "name: is required" noise.
func NotYetReported(verrs, reported FieldErrors) FieldErrors {
	var out FieldErrors
	for _, v := range verrs {
		dup := false
		for _, r := range reported {
			if v.Field == r.Field || strings.HasPrefix(v.Field, r.Field+".") || strings.HasPrefix(v.Field, r.Field+"[") {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}
