package spec

import (
	_ "embed"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"
)

// The source of spec.go is embedded so the schema's descriptions are the
// field comments people read in the code: one source of truth.
//
//go:embed spec.go
var specSource string

// enums lists the allowed values of string fields, by "Type.Field".
var enums = map[string][]string{
	"PreflightSpec.BlockOn":             {"error", "warning", "none"},
	"ArgoCDSpec.Mode":                   {ArgoCDModeRetarget, ArgoCDModeCopy, ArgoCDModeNone},
	"VeleroSpec.ExistingResourcePolicy": {"none", "update"},
	"TrafficSpec.Provider":              {ProviderRoute53, ProviderCloudFront},
	"Route53Spec.RecordType":            {"CNAME", "A"},
	"GateSpec.OnTimeout":                {OnTimeoutReject, OnTimeoutApprove},
	"RetireSpec.Blue":                   {FateDelete, FateKeep},
	"RollbackSpec.Green":                {FateKeep, FateDelete},
}

// required lists the fields validation rejects when empty, by "Type.Field".
var required = map[string]bool{
	"MigrationSpec.Name": true, "BlueSpec.ClusterName": true, "BlueSpec.Region": true,
	"GreenSpec.KubernetesVersion": true, "TrafficSpec.Provider": true,
	"HTTPProbe.Name": true, "HTTPProbe.URL": true,
}

// Schema returns the JSON Schema (draft 2020-12) of MigrationSpec.
func Schema() ([]byte, error) {
	docs, typeDocs := fieldDocs()
	g := &schemaGen{docs: docs, typeDocs: typeDocs, defs: map[string]any{}}
	root := g.object(reflect.TypeOf(MigrationSpec{}))
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = "https://cutover.dev/schema/migration-spec.schema.json"
	root["title"] = "cutover MigrationSpec"
	root["$defs"] = g.defs
	b, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

type schemaGen struct {
	docs     map[string]string
	typeDocs map[string]string
	defs     map[string]any
}

var durationType = reflect.TypeOf(Duration(0))

func (g *schemaGen) typeSchema(t reflect.Type) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == durationType {
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, "description": "Go duration, e.g. \"90s\", \"15m\", \"24h\""}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": g.typeSchema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.typeSchema(t.Elem())}
	case reflect.Struct:
		if _, ok := g.defs[t.Name()]; !ok {
			g.defs[t.Name()] = map[string]any{} // break cycles
			g.defs[t.Name()] = g.object(t)
		}
		return map[string]any{"$ref": "#/$defs/" + t.Name()}
	}
	return map[string]any{}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var req []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		s := g.typeSchema(f.Type)
		key := t.Name() + "." + f.Name
		if d := g.docs[key]; d != "" {
			if _, isRef := s["$ref"]; isRef {
				s = map[string]any{"allOf": []any{s}, "description": d}
			} else {
				s["description"] = d
			}
		}
		if e, ok := enums[key]; ok {
			s["enum"] = e
		}
		if required[key] {
			req = append(req, name)
		}
		props[name] = s
	}
	o := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if d := g.typeDocs[t.Name()]; d != "" {
		o["description"] = d
	}
	if len(req) > 0 {
		o["required"] = req
	}
	return o
}

// fieldDocs reads the comments of spec.go's struct fields and types.
func fieldDocs() (map[string]string, map[string]string) {
	fields, types := map[string]string{}, map[string]string{}
	f, err := parser.ParseFile(token.NewFileSet(), "spec.go", specSource, parser.ParseComments)
	if err != nil {
		return fields, types
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE {
			continue
		}
		for _, sp := range gd.Specs {
			ts := sp.(*ast.TypeSpec)
			if gd.Doc != nil {
				types[ts.Name.Name] = clean(gd.Doc.Text())
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				continue
			}
			for _, fl := range st.Fields.List {
				if fl.Doc == nil {
					continue
				}
				for _, n := range fl.Names {
					fields[ts.Name.Name+"."+n.Name] = clean(fl.Doc.Text())
				}
			}
		}
	}
	return fields, types
}

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }
