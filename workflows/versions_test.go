package workflows_test

import (
	"encoding/base64"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestEveryVersionChangeHasAFixture: each workflow.GetVersion change ID in
// the workflow code appears as a version marker in at least one recorded
// history, so the replay test proves the new branch; the histories
// recorded before it (no marker) prove the old one.
func TestEveryVersionChangeHasAFixture(t *testing.T) {
	ids := changeIDs(t)
	if len(ids) == 0 {
		t.Fatal("found no workflow.GetVersion calls: the scan is broken")
	}
	recorded := map[string][]string{}
	files, _ := filepath.Glob(filepath.Join("testdata", "histories", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, id := range markerIDs(doc) {
			recorded[id] = append(recorded[id], filepath.Base(f))
		}
	}
	for _, id := range ids {
		if len(recorded[id]) == 0 {
			t.Errorf("change %q has no recorded history with its marker: run scripts/record-histories.sh (keep the older files as v<N>-*.json)", id)
		}
	}
}

// changeIDs reads the change IDs passed to workflow.GetVersion in the
// package's sources (string constants or literals).
func changeIDs(t *testing.T) []string {
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	consts := map[string]string{}
	var calls []ast.Expr
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(af, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if i < len(n.Values) {
						if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "GetVersion" && len(n.Args) >= 2 {
					calls = append(calls, n.Args[1])
				}
			}
			return true
		})
	}
	seen := map[string]bool{}
	var ids []string
	for _, a := range calls {
		var id string
		switch a := a.(type) {
		case *ast.Ident:
			id = consts[a.Name]
		case *ast.BasicLit:
			id, _ = strconv.Unquote(a.Value)
		}
		if id == "" {
			t.Fatalf("a GetVersion change ID is not a string constant: %#v", a)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

// markerIDs finds the change IDs of version markers in a history (the
// "change-id" detail of MarkerRecorded events, a JSON string payload).
func markerIDs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, c := range v {
			if k == "change-id" {
				if m, ok := c.(map[string]any); ok {
					ps, _ := m["payloads"].([]any)
					for _, p := range ps {
						pm, _ := p.(map[string]any)
						data, _ := pm["data"].(string)
						raw, err := base64.StdEncoding.DecodeString(data)
						var id string
						if err == nil && json.Unmarshal(raw, &id) == nil {
							out = append(out, id)
						}
					}
				}
				continue
			}
			out = append(out, markerIDs(c)...)
		}
	case []any:
		for _, c := range v {
			out = append(out, markerIDs(c)...)
		}
	}
	return out
}
