// Command promql-check checks the PromQL that cutover ships in deploy/:
// every expression of a Grafana dashboard (panels' targets, template
// variables' queries) and of a PrometheusRule or Prometheus rule file is
// parsed by Prometheus's own parser, rule groups are validated by
// Prometheus's rule loader (durations, labels, annotation templates), and
// the metric names each expression reads are printed as JSON, so a test
// can check them against what the worker exports.
//
//	promql-check deploy/monitoring/dashboard.json deploy/monitoring/rules.yaml
//
// It is a module of its own (like tools/kube) so that cutover never
// depends on github.com/prometheus/prometheus. Exit status: 0 all good,
// 1 a file or expression is wrong (each named on stderr), 2 usage.
package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// Expr is one checked expression.
type Expr struct {
	File    string   `json:"file"`
	Where   string   `json:"where"`
	Expr    string   `json:"expr"`
	Metrics []string `json:"metrics"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: promql-check FILE...  (Grafana dashboard .json, PrometheusRule or rule file .yaml)")
		os.Exit(2)
	}
	var out []Expr
	failed := false
	for _, f := range os.Args[1:] {
		exprs, errs := check(f)
		out = append(out, exprs...)
		for _, err := range errs {
			fmt.Fprintf(os.Stderr, "%s: %v\n", f, err)
			failed = true
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	if failed {
		os.Exit(1)
	}
}

func check(file string) ([]Expr, []error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, []error{err}
	}
	var found []Expr
	var errs []error
	add := func(where, expr string, grafana bool) {
		e, err := parse(expr, grafana)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q: %w", where, expr, err))
			return
		}
		found = append(found, Expr{File: file, Where: where, Expr: expr, Metrics: e})
	}
	switch {
	case strings.HasSuffix(file, ".json"):
		var d dashboard
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, []error{fmt.Errorf("dashboard: %w", err)}
		}
		if len(d.Panels) == 0 {
			errs = append(errs, fmt.Errorf("dashboard has no panels"))
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				q := v.queryString()
				if m := labelValues.FindStringSubmatch(q); m != nil {
					q = m[1] // label_values(<selector>, label): the selector is PromQL
				}
				add(fmt.Sprintf("templating %s", v.Name), q, true)
			}
		}
		var walk func(ps []panel, path string)
		walk = func(ps []panel, path string) {
			for _, p := range ps {
				where := path + "panel " + strings.TrimSpace(p.Title)
				if p.Type != "row" && p.Type != "text" && len(p.Targets) == 0 {
					errs = append(errs, fmt.Errorf("%s: no query", where))
				}
				for i, t := range p.Targets {
					add(fmt.Sprintf("%s target %d", where, i), t.Expr, true)
				}
				walk(p.Panels, where+" / ")
			}
		}
		walk(d.Panels, "")
	default:
		groups := b
		var cr struct {
			Kind string    `yaml:"kind"`
			Spec yaml.Node `yaml:"spec"`
		}
		if err := yaml.Unmarshal(b, &cr); err != nil {
			return nil, []error{fmt.Errorf("rules: %w", err)}
		}
		if cr.Kind == "PrometheusRule" {
			if groups, err = yaml.Marshal(&cr.Spec); err != nil {
				return nil, []error{err}
			}
		}
		rg, perrs := rulefmt.Parse(groups, false, model.LegacyValidation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler))
		for _, e := range perrs {
			errs = append(errs, fmt.Errorf("rules: %w", e))
		}
		if rg == nil {
			return found, errs
		}
		if len(rg.Groups) == 0 {
			errs = append(errs, fmt.Errorf("rules: no groups"))
		}
		for _, g := range rg.Groups {
			for _, r := range g.Rules {
				name := r.Alert
				if name == "" {
					name = r.Record
				}
				add(fmt.Sprintf("group %s rule %s", g.Name, name), r.Expr, false)
			}
		}
	}
	return found, errs
}

var (
	// Grafana's variables: $__rate_interval and friends are durations,
	// the others (${migration}, $gate) label values.
	grafanaDuration = regexp.MustCompile(`\$__(rate_)?interval|\$__range`)
	grafanaVar      = regexp.MustCompile(`\$\{[a-zA-Z_][a-zA-Z0-9_:]*\}|\$[a-zA-Z_][a-zA-Z0-9_]*`)
	labelValues     = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
)

// parse returns the metric names expr selects, sorted.
func parse(expr string, grafana bool) ([]string, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	if grafana {
		expr = grafanaDuration.ReplaceAllString(expr, "5m")
		expr = grafanaVar.ReplaceAllString(expr, "x")
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			name := vs.Name
			if name == "" {
				for _, m := range vs.LabelMatchers {
					if m.Name == "__name__" {
						name = m.Value
					}
				}
			}
			if name != "" && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		return nil
	})
	slices.Sort(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("selects no metric by name")
	}
	return names, nil
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title   string   `json:"title"`
	Type    string   `json:"type"`
	Targets []target `json:"targets"`
	Panels  []panel  `json:"panels"`
}

type target struct {
	Expr string `json:"expr"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query any    `json:"query"`
}

// queryString is the variable's query: a string, or Grafana's newer
// {"query": "..."} object.
func (v variable) queryString() string {
	switch q := v.Query.(type) {
	case string:
		return q
	case map[string]any:
		s, _ := q["query"].(string)
		return s
	}
	return ""
}
