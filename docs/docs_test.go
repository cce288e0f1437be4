// Package docs holds the project's prose documentation; its test keeps
// docs/operating.md (the operator guide) true to the code it describes.
package docs

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/internal/chatops"
	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/iampolicy"
)

const (
	guideFile = "operating.md"
	repoRoot  = ".."
	chartDir  = "../deploy/helm/cutover"
)

// TestOperatingGuide checks docs/operating.md against the code:
//   - every chart value path it names in backticks (`worker.extraEnv`) or
//     in `--set` is a key of the chart's values.yaml, and every values
//     file it shows (a yaml block starting with "# values") renders with
//     the real helm, so the chart's values.schema.json accepts it;
//   - every `cutover ...` command line (shell blocks and inline code)
//     names a real subcommand of the CLI's cobra tree, and each of its
//     flags exists on that command; a lone `--flag` names a flag of some
//     command;
//   - every metric name cutover_* / temporal_* is one the worker exports
//     (cutover's own from workflows/metrics.go and internal/metrics with
//     the Prometheus naming of their kind, the SDK's from its constants)
//     or one the shipped rules and dashboard query;
//   - every CUTOVER_/SLACK_/OTEL_/TEMPORAL_ variable occurs in the code
//     (non-test Go, the chart, the SDK's envconfig);
//   - every IAM statement name (Sid) it cites is one `cutover iam-policy`
//     generates for deploy/examples;
//   - the Slack app manifest parses, names /cutover, the scopes the
//     worker's and chatops's Slack calls need, and https URLs on the
//     Ingress host and path the guide's values render, at which the
//     chatops handler answers a signed request (and refuses an unsigned
//     one);
//   - its own anchors and relative links resolve, the alerts' runbook_url
//     anchors are headings of the guide, every alert of files/rules.yaml
//     is named, and README.md links to it.
//
// It does not check prose claims (what a step does, the sizing figures).
func TestOperatingGuide(t *testing.T) {
	c := newChecker(t)
	for _, p := range c.check(read(t, guideFile), read(t, filepath.Join(repoRoot, "README.md"))) {
		t.Error(p)
	}
	// A parser that finds nothing would pass everything: the guide names
	// at least this much of each kind.
	t.Logf("checked: %v", c.seen)
	for kind, least := range map[string]int{"value path": 20, "values file": 3, "command": 30, "metric": 15, "environment variable": 20, "IAM statement": 8, "manifest URL": 2, "link": 10} {
		if c.seen[kind] < least {
			t.Errorf("only %d %ss checked, want at least %d", c.seen[kind], kind, least)
		}
	}
}

// TestOperatingGuideCheckFails doctors copies of the guide and README with
// one mistake each and expects the check to name it: the test above
// would catch that mistake in the real files.
func TestOperatingGuideCheckFails(t *testing.T) {
	c := newChecker(t)
	guide, readme := read(t, guideFile), read(t, filepath.Join(repoRoot, "README.md"))
	for _, tc := range []struct {
		name, old, new string
		readme         bool   // doctor the README instead of the guide
		want           string // in one of the problems
	}{
		{name: "misspelt chart value", old: "`worker.extraEnv`", new: "`worker.extraEnvs`", want: "worker.extraEnvs"},
		{name: "values file the schema refuses", old: "  slackSecret: cutover-slack-bot", new: "  slackSecrets: cutover-slack-bot", want: "slackSecrets"},
		{name: "unknown command", old: "cutover iam-policy -f shop.json", new: "cutover iam-polcy -f shop.json", want: `"iam-polcy"`},
		{name: "unknown flag", old: "--eks-scope both", new: "--eks-scopes both", want: "--eks-scopes"},
		{name: "unknown subcommand of a group", old: "cutover schedule describe --id", new: "cutover schedule show --id", want: `"show"`},
		{name: "lone unknown flag", old: "`--require-mapped-users`", new: "`--require-mapped-user`", want: "--require-mapped-user"},
		{name: "metric not exported", old: "`cutover_rollbacks_total`", new: "`cutover_rollback_total`", want: "cutover_rollback_total"},
		{name: "counter without _total", old: "`cutover_migrations_started_total`", new: "`cutover_migrations_started`", want: "cutover_migrations_started"},
		{name: "environment variable nobody reads", old: "`CUTOVER_SLACK_USERS`", new: "`CUTOVER_SLACK_USER_LIST`", want: "CUTOVER_SLACK_USER_LIST"},
		{name: "IAM statement not generated", old: "`PassRolesToEKSOnly`", new: "`PassRolesToEKS`", want: "PassRolesToEKS"},
		{name: "manifest on another host", old: "request_url: https://cutover-chatops.example.com/", new: "request_url: https://chatops.example.org/", want: "chatops.example.org"},
		{name: "manifest over http", old: "url: https://cutover-chatops.example.com/slack/commands", new: "url: http://cutover-chatops.example.com/slack/commands", want: "https"},
		{name: "manifest that does not parse", old: "  slash_commands:\n", new: "  slash_commands: [\n", want: "Slack app manifest"},
		{name: "manifest without a scope the worker needs", old: "      - files:write\n", new: "", want: "files:write"},
		{name: "broken anchor", old: "(#sizing-and-tuning)", new: "(#sizing)", want: "#sizing"},
		{name: "runbook anchor gone", old: "## Troubleshooting", new: "## When things go wrong", want: "troubleshooting"},
		{name: "README without the link", old: "](docs/operating.md)", new: "](docs/operations.md)", readme: true, want: "README.md"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, r := guide, readme
			target := &g
			if tc.readme {
				target = &r
			}
			if !strings.Contains(*target, tc.old) {
				t.Fatalf("%q is not in the file any more: update this case", tc.old)
			}
			*target = strings.Replace(*target, tc.old, tc.new, 1)
			problems := c.check(g, r)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("no problem names %q; got:\n  %s", tc.want, strings.Join(problems, "\n  "))
			}
		})
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checker holds what the guide is checked against, read once.
type checker struct {
	t       *testing.T
	helm    string
	values  map[string]any
	root    *cobra.Command
	metrics map[string]bool
	envCode map[string]bool // the environment variable names in the code
	sids    map[string]bool
	rules   []alertRule

	mu      sync.Mutex
	renders map[string]renderResult // values file -> helm template's output

	seen map[string]int // what the last check looked at, by kind
}

type renderResult struct {
	out string
	err error
}

type alertRule struct {
	Alert       string            `json:"alert"`
	Annotations map[string]string `json:"annotations"`
}

func newChecker(t *testing.T) *checker {
	t.Helper()
	c := &checker{t: t, helm: helmBin(t), root: cli.New().Command(), renders: map[string]renderResult{}}
	if err := yaml.Unmarshal([]byte(read(t, filepath.Join(chartDir, "values.yaml"))), &c.values); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	c.metrics = exportedMetrics(t)
	c.envCode = map[string]bool{}
	for _, v := range envRE.FindAllString(codeText(t), -1) {
		c.envCode[v] = true
	}
	c.sids = generatedSids(t)
	var rules struct {
		Groups []struct {
			Rules []alertRule `json:"rules"`
		} `json:"groups"`
	}
	if err := yaml.Unmarshal([]byte(read(t, filepath.Join(chartDir, "files", "rules.yaml"))), &rules); err != nil {
		t.Fatalf("rules.yaml: %v", err)
	}
	for _, g := range rules.Groups {
		c.rules = append(c.rules, g.Rules...)
	}
	if len(c.rules) == 0 {
		t.Fatal("rules.yaml has no rules")
	}
	return c
}

// helmBin is the helm that make tools built (as deploy/deploy_test.go finds it).
func helmBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(repoRoot, "bin", "helm")
	if dir := os.Getenv("CUTOVER_TOOLS_DIR"); dir != "" {
		bin = filepath.Join(dir, "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found at %s: run `make tools`", bin)
	}
	return bin
}

// check returns every problem of guide (and of readme's link to it).
func (c *checker) check(guide, readme string) []string {
	md := parseMarkdown(guide)
	c.seen = map[string]int{}
	var problems []string
	add := func(ps ...string) { problems = append(problems, ps...) }
	add(c.checkValuePaths(md)...)
	rendered, ps := c.checkValuesFiles(md)
	add(ps...)
	add(c.checkCommands(md)...)
	add(c.checkMetrics(guide)...)
	add(c.checkEnv(guide)...)
	add(c.checkSids(md)...)
	add(c.checkSlackManifest(md, rendered)...)
	add(c.checkLinks(md, readme)...)
	return problems
}

// markdown is the guide split into fenced blocks, inline code spans
// (outside blocks), headings and links.
type markdown struct {
	blocks   []codeBlock
	inline   []string
	headings []string
	links    []string // link targets, [text](target)
}

type codeBlock struct {
	lang, body string
	line       int
}

var (
	inlineRE = regexp.MustCompile("`([^`\n]+)`")
	linkRE   = regexp.MustCompile(`\]\(([^)\s]+)\)`)
)

func parseMarkdown(s string) markdown {
	var md markdown
	var cur *codeBlock
	var body []string
	for i, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, "```") {
			if cur == nil {
				cur, body = &codeBlock{lang: strings.TrimSpace(strings.TrimPrefix(line, "```")), line: i + 1}, nil
			} else {
				cur.body = strings.Join(body, "\n") + "\n"
				md.blocks = append(md.blocks, *cur)
				cur = nil
			}
			continue
		}
		if cur != nil {
			body = append(body, line)
			continue
		}
		if h, ok := strings.CutPrefix(line, "#"); ok {
			md.headings = append(md.headings, strings.TrimSpace(strings.TrimLeft(h, "#")))
		}
		for _, m := range inlineRE.FindAllStringSubmatch(line, -1) {
			md.inline = append(md.inline, m[1])
		}
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			md.links = append(md.links, m[1])
		}
	}
	return md
}

// anchor is GitHub's id of a heading: lower case, punctuation dropped,
// spaces to hyphens.
func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

// --- chart values ---

var setRE = regexp.MustCompile(`--set(?:-string)?[ =]([^=\s]+)=`)

// checkValuePaths: `worker.extraEnv` and --set paths are keys of values.yaml.
func (c *checker) checkValuePaths(md markdown) []string {
	var problems []string
	pathRE := regexp.MustCompile(`^[a-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+$`)
	seen := map[string]bool{}
	check := func(p, where string) {
		if seen[p] {
			return
		}
		seen[p] = true
		c.seen["value path"]++
		if err := lookupValue(c.values, p); err != nil {
			problems = append(problems, fmt.Sprintf("%s: chart value %s: %v", where, p, err))
		}
	}
	for _, s := range md.inline {
		if !pathRE.MatchString(s) {
			continue
		}
		if top, _, _ := strings.Cut(s, "."); c.values[top] != nil { // a path into the chart's values
			check(s, "inline code")
		}
	}
	for _, b := range md.blocks {
		for _, m := range setRE.FindAllStringSubmatch(b.body, -1) {
			check(m[1], fmt.Sprintf("--set in the block at line %d", b.line))
		}
	}
	return problems
}

func lookupValue(values map[string]any, path string) error {
	var cur any = values
	done := ""
	for _, k := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not a map in values.yaml", done)
		}
		if cur, ok = m[k]; !ok {
			if done == "" {
				return fmt.Errorf("values.yaml has no top-level key %q", k)
			}
			return fmt.Errorf("values.yaml has no key %q under %s", k, done)
		}
		done = strings.TrimPrefix(done+"."+k, ".")
	}
	return nil
}

// checkValuesFiles renders every values file of the guide (a yaml block
// whose first line is a "# values" comment) with helm, which validates
// it against values.schema.json; it returns the rendering of
// values-production.yaml.
func (c *checker) checkValuesFiles(md markdown) (string, []string) {
	var problems []string
	production, n := "", 0
	for _, b := range md.blocks {
		if b.lang != "yaml" || !strings.HasPrefix(b.body, "# values") {
			continue
		}
		n++
		c.seen["values file"]++
		r := c.render(b.body)
		if r.err != nil {
			problems = append(problems, fmt.Sprintf("values file at line %d does not render: %v", b.line, r.err))
			continue
		}
		if strings.HasPrefix(b.body, "# values-production.yaml") {
			production = r.out
		}
	}
	if n == 0 {
		problems = append(problems, "no values file (a yaml block starting with \"# values\")")
	}
	if production == "" && len(problems) == 0 {
		problems = append(problems, "no values file \"# values-production.yaml\"")
	}
	return production, problems
}

func (c *checker) render(values string) renderResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.renders[values]; ok {
		return r
	}
	f := filepath.Join(c.t.TempDir(), "values.yaml")
	if err := os.WriteFile(f, []byte(values), 0o600); err != nil {
		c.t.Fatal(err)
	}
	var out, errb bytes.Buffer
	cmd := exec.Command(c.helm, "template", "cutover", chartDir, "--namespace", "cutover", "-f", f)
	cmd.Stdout, cmd.Stderr = &out, &errb
	r := renderResult{out: out.String()}
	if err := cmd.Run(); err != nil {
		r.err = fmt.Errorf("helm template: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	r.out = out.String()
	c.renders[values] = r
	return r
}

// --- cutover commands ---

// checkCommands resolves every cutover command line of the guide in the
// CLI's command tree.
func (c *checker) checkCommands(md markdown) []string {
	var problems []string
	n := 0
	checkLine := func(line, where string) {
		for _, seg := range shellSegments(line) {
			if len(seg) == 0 || (seg[0] != "cutover" && !strings.HasSuffix(seg[0], "/cutover")) {
				continue
			}
			n++
			c.seen["command"]++
			if err := resolveCommand(c.root, seg[1:]); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %s: %v", where, strings.Join(seg, " "), err))
			}
		}
	}
	for _, b := range md.blocks {
		if b.lang != "sh" && b.lang != "bash" && b.lang != "console" {
			continue
		}
		for i, line := range joinContinuations(b.body) {
			checkLine(line, fmt.Sprintf("block at line %d, command %d", b.line, i+1))
		}
	}
	loneFlag := regexp.MustCompile(`^--[a-z][a-z0-9-]*$`)
	for _, s := range md.inline {
		if loneFlag.MatchString(s) {
			if !anyCommandHasFlag(c.root, strings.TrimPrefix(s, "--")) {
				problems = append(problems, fmt.Sprintf("inline code: no cutover command has the flag %s", s))
			}
			continue
		}
		checkLine(s, "inline code")
	}
	if n == 0 {
		problems = append(problems, "no cutover command found in the guide")
	}
	return problems
}

// joinContinuations returns a shell block's lines with backslash
// continuations joined and comments dropped.
func joinContinuations(body string) []string {
	var out []string
	cur := ""
	for _, line := range strings.Split(body, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			line = ""
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(line, " "), "\\"); ok {
			cur += s + " "
			continue
		}
		if l := strings.TrimSpace(cur + line); l != "" {
			out = append(out, l)
		}
		cur = ""
	}
	return out
}

var envAssignRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// shellSegments splits a command line into the words of each simple
// command: |, ;, &&, $( and ) separate commands, a redirection ends one,
// quotes group, leading VAR=value assignments are dropped.
func shellSegments(line string) [][]string {
	var segs [][]string
	var words []string
	var word strings.Builder
	inWord, quote, redirected := false, rune(0), false
	endWord := func() {
		if inWord && !redirected {
			words = append(words, word.String())
		}
		word.Reset()
		inWord = false
	}
	endSeg := func() {
		endWord()
		for len(words) > 0 && envAssignRE.MatchString(words[0]) {
			words = words[1:]
		}
		if len(words) > 0 {
			segs = append(segs, words)
		}
		words, redirected = nil, false
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				word.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == '$' && i+1 < len(rs) && rs[i+1] == '(':
			endSeg()
			i++
		case r == '|' || r == ';' || r == '&' || r == '(' || r == ')':
			endSeg()
		case r == '>' || r == '<':
			endWord()
			redirected = true
		case r == ' ' || r == '\t':
			endWord()
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	endSeg()
	return segs
}

// resolveCommand walks args (after "cutover") down the command tree: a
// group needs one of its subcommands, and every flag must be one of the
// command's (local or inherited).
func resolveCommand(root *cobra.Command, args []string) error {
	cmd := root
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return nil
		}
		if strings.HasPrefix(a, "-") && a != "-" {
			f, err := lookupFlag(cmd, a)
			if err != nil {
				return err
			}
			if f != nil && f.NoOptDefVal == "" && !strings.Contains(a, "=") {
				i++ // its value
			}
			continue
		}
		if !cmd.HasSubCommands() {
			continue // an argument
		}
		var next *cobra.Command
		for _, sub := range cmd.Commands() {
			if sub.Name() == a || slices.Contains(sub.Aliases, a) {
				next = sub
			}
		}
		if next == nil {
			return fmt.Errorf("%q is not a subcommand of %q", a, cmd.CommandPath())
		}
		cmd = next
	}
	return nil
}

// lookupFlag finds the flag a names (--name, --name=value, -x) on cmd;
// --help is every command's.
func lookupFlag(cmd *cobra.Command, a string) (*pflag.Flag, error) {
	if a == "-h" || a == "--help" {
		return &pflag.Flag{NoOptDefVal: "true"}, nil
	}
	var f *pflag.Flag
	if name, ok := strings.CutPrefix(a, "--"); ok {
		name, _, _ = strings.Cut(name, "=")
		for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.PersistentFlags(), cmd.InheritedFlags()} {
			if f = fs.Lookup(name); f != nil {
				return f, nil
			}
		}
	} else if short := strings.TrimPrefix(a, "-"); len(short) == 1 { // -f; combined -xy is not used
		for _, fs := range []*pflag.FlagSet{cmd.Flags(), cmd.PersistentFlags(), cmd.InheritedFlags()} {
			if f = fs.ShorthandLookup(short); f != nil {
				return f, nil
			}
		}
	}
	return nil, fmt.Errorf("%q has no flag %s", cmd.CommandPath(), a)
}

func anyCommandHasFlag(cmd *cobra.Command, name string) bool {
	if cmd.Flags().Lookup(name) != nil || cmd.PersistentFlags().Lookup(name) != nil {
		return true
	}
	return slices.ContainsFunc(cmd.Commands(), func(c *cobra.Command) bool { return anyCommandHasFlag(c, name) })
}

// --- metrics ---

var metricRE = regexp.MustCompile(`\b(?:cutover|temporal)_[a-z][a-z0-9_]*[a-z0-9]\b`)

func (c *checker) checkMetrics(guide string) []string {
	var problems []string
	seen := map[string]bool{}
	for _, m := range metricRE.FindAllString(guide, -1) {
		if seen[m] {
			continue
		}
		seen[m] = true
		c.seen["metric"]++
		if !c.metrics[m] {
			problems = append(problems, fmt.Sprintf("metric %s is neither exported by the worker nor queried by files/rules.yaml or files/dashboard.json", m))
		}
	}
	return problems
}

// exportedMetrics are the names the worker's Prometheus endpoint can
// show: cutover's own metrics (the string constants of
// workflows/metrics.go and internal/metrics, named by their kind as the
// Prometheus naming scope does: counters _total, timers _seconds
// histograms, gauges as they are), the SDK's (its metric constants, with
// either suffix), and what the shipped rules and dashboard query (the
// worker test checks those are exported).
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	histogram := func(base string) {
		for _, s := range []string{"", "_bucket", "_sum", "_count"} {
			out[base+s] = true
		}
	}
	for _, f := range []string{"../workflows/metrics.go", "../internal/metrics/retries.go"} {
		consts, kinds := metricConsts(t, f)
		if len(kinds) == 0 {
			t.Fatalf("%s: no metric emitted through Counter/Gauge/Timer", f)
		}
		for name, v := range consts {
			switch kinds[name] {
			case "Counter":
				out[v+"_total"] = true
			case "Timer":
				histogram(v + "_seconds")
			case "Gauge":
				out[v] = true
			}
		}
	}
	for _, v := range sdkMetricConsts(t) {
		out[v], out[v+"_total"] = true, true
		histogram(v + "_seconds")
	}
	for _, f := range []string{"rules.yaml", "dashboard.json"} {
		for _, m := range metricRE.FindAllString(read(t, filepath.Join(chartDir, "files", f)), -1) {
			out[m] = true
		}
	}
	return out
}

// metricConsts parses a Go file: its string constants naming cutover_
// metrics, and the kind each is emitted as (.Counter(name), .Gauge(name),
// .Timer(name)).
func metricConsts(t *testing.T, path string) (consts, kinds map[string]string) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts, kinds = map[string]string{}, map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if i < len(n.Values) {
					if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if v, err := strconv.Unquote(lit.Value); err == nil && strings.HasPrefix(v, "cutover_") {
							consts[id.Name] = v
						}
					}
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || len(n.Args) != 1 {
				return true
			}
			if id, ok := n.Args[0].(*ast.Ident); ok && (sel.Sel.Name == "Counter" || sel.Sel.Name == "Gauge" || sel.Sel.Name == "Timer") {
				kinds[id.Name] = sel.Sel.Name
			}
		}
		return true
	})
	return consts, kinds
}

// sdkMetricConsts are the metric names of the Temporal Go SDK in go.mod
// (its internal/common/metrics constants, type-checked to their values).
func sdkMetricConsts(t *testing.T) []string {
	t.Helper()
	dir := goModDir(t, "go.temporal.io/sdk")
	path := filepath.Join(dir, "internal", "common", "metrics", "constants.go")
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{Importer: importer.Default()}).Check("metrics", fset, []*ast.File{f}, info); err != nil {
		t.Fatalf("type-check %s: %v", path, err)
	}
	var out []string
	for _, obj := range info.Defs {
		if c, ok := obj.(*types.Const); ok {
			if v := strings.Trim(c.Val().ExactString(), `"`); strings.HasPrefix(v, "temporal_") && len(v) > len("temporal_") {
				out = append(out, v)
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("%s: only %d temporal_ constants", path, len(out))
	}
	return out
}

func goModDir(t *testing.T, module string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	return strings.TrimSpace(string(out))
}

// --- environment variables ---

var envRE = regexp.MustCompile(`\b(?:CUTOVER|SLACK|OTEL|TEMPORAL)_[A-Z0-9_]*[A-Z0-9]\b`)

func (c *checker) checkEnv(guide string) []string {
	var problems []string
	seen := map[string]bool{}
	for _, v := range envRE.FindAllString(guide, -1) {
		if seen[v] {
			continue
		}
		seen[v] = true
		c.seen["environment variable"]++
		if !c.envCode[v] {
			problems = append(problems, fmt.Sprintf("environment variable %s occurs nowhere in the code, the chart or the SDK's envconfig", v))
		}
	}
	return problems
}

// codeText is the text environment variables are looked up in: the
// repository's non-test Go files, the chart's templates and values, and
// the SDK envconfig's loader (TEMPORAL_*).
func codeText(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "bin", ".venv", ".sandbox", ".dev", "testdata", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			b.WriteString(read(t, p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"templates/*.yaml", "templates/*.tpl", "values.yaml"} {
		files, _ := filepath.Glob(filepath.Join(chartDir, g))
		for _, f := range files {
			b.WriteString(read(t, f))
		}
	}
	b.WriteString(read(t, filepath.Join(goModDir(t, "go.temporal.io/sdk/contrib/envconfig"), "client_config_load.go")))
	return b.String()
}

// --- IAM statements ---

var sidRE = regexp.MustCompile(`^(?:Reads|EKS|IRSA|PassRoles|KMS|EC2|SSM|Route53|CloudFront)[A-Za-z0-9]+$`)

func (c *checker) checkSids(md markdown) []string {
	var problems []string
	for _, s := range md.inline {
		if sidRE.MatchString(s) {
			c.seen["IAM statement"]++
		}
		if sidRE.MatchString(s) && !c.sids[s] {
			problems = append(problems, fmt.Sprintf("IAM statement %s is not one cutover iam-policy generates for deploy/examples (--eks-scope both)", s))
		}
	}
	return problems
}

// generatedSids are the statement names of the policy for every example
// spec and fleet, with EKS scoped by names and tags.
func generatedSids(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(repoRoot, "deploy", "examples", "*.json"))
	fleets, _ := filepath.Glob(filepath.Join(repoRoot, "deploy", "examples", "fleet", "*.json"))
	var scope iampolicy.Scope
	for _, f := range append(files, fleets...) {
		s, err := iampolicy.Read([]byte(read(t, f)))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		scope.Merge(s)
	}
	doc, err := iampolicy.Build(scope, iampolicy.Options{Account: "111122223333", EKSScope: iampolicy.ScopeBoth})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, st := range doc.Statement {
		out[st.Sid] = true
	}
	return out
}

// --- Slack app manifest ---

// manifest is the part of a Slack app manifest the check reads.
type manifest struct {
	DisplayInformation map[string]any `json:"display_information"`
	Features           struct {
		SlashCommands []struct {
			Command string `json:"command"`
			URL     string `json:"url"`
		} `json:"slash_commands"`
	} `json:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `json:"bot"`
		} `json:"scopes"`
	} `json:"oauth_config"`
	Settings struct {
		Interactivity struct {
			IsEnabled  bool   `json:"is_enabled"`
			RequestURL string `json:"request_url"`
		} `json:"interactivity"`
	} `json:"settings"`
}

// requiredScopes are the bot scopes of the Slack calls cutover makes
// whatever the spec: chat.postMessage and chat.update of the gate
// messages (activities/notify), the slash command (internal/chatops),
// the report upload (activities/notify/report.go).
var requiredScopes = []string{"chat:write", "commands", "files:write"}

const signingSecret = "docs-test-signing-secret"

// checkSlackManifest checks the guide's Slack app manifest against the
// chart's Ingress (rendered from values-production.yaml) and the chatops
// handler.
func (c *checker) checkSlackManifest(md markdown, rendered string) []string {
	var problems []string
	var found []codeBlock
	for _, b := range md.blocks {
		if b.lang == "yaml" && regexp.MustCompile(`(?m)^display_information:`).MatchString(b.body) {
			found = append(found, b)
		}
	}
	if len(found) != 1 {
		return []string{fmt.Sprintf("Slack app manifest: want one yaml block starting display_information, found %d", len(found))}
	}
	var m manifest
	if err := yaml.Unmarshal([]byte(found[0].body), &m); err != nil {
		return []string{fmt.Sprintf("Slack app manifest at line %d does not parse: %v", found[0].line, err)}
	}
	return append(problems, c.checkManifest(m, rendered)...)
}

func (c *checker) checkManifest(m manifest, rendered string) []string {
	var problems []string
	bad := func(format string, args ...any) {
		problems = append(problems, "Slack app manifest: "+fmt.Sprintf(format, args...))
	}
	if len(m.DisplayInformation) == 0 {
		bad("no display_information")
	}
	var urls []string
	slash := false
	for _, sc := range m.Features.SlashCommands {
		if sc.Command == "/cutover" { // the command chatops's usage and messages name
			slash = true
		}
		urls = append(urls, sc.URL)
	}
	if !slash {
		bad("no slash command /cutover")
	}
	if !m.Settings.Interactivity.IsEnabled || m.Settings.Interactivity.RequestURL == "" {
		bad("interactivity is not enabled with a request_url (the gate messages' buttons)")
	}
	urls = append(urls, m.Settings.Interactivity.RequestURL)
	for _, s := range requiredScopes {
		if !slices.Contains(m.OAuthConfig.Scopes.Bot, s) {
			bad("bot scopes lack %s", s)
		}
	}
	ing, err := chatopsIngress(rendered)
	if err != nil {
		return append(problems, "Slack app manifest: "+err.Error())
	}
	for _, raw := range urls {
		if raw == "" {
			continue
		}
		c.seen["manifest URL"]++
		u, err := url.Parse(raw)
		if err != nil {
			bad("URL %q: %v", raw, err)
			continue
		}
		if u.Scheme != "https" {
			bad("URL %s: Slack calls chatops over https only (the Ingress has TLS), not %s", raw, u.Scheme)
		}
		if !ing.routes(u.Host, u.Path) {
			bad("URL %s: the chart's Ingress (values-production.yaml) routes %s, not host %s path %s", raw, ing, u.Host, u.Path)
		}
		if !slices.Contains(ing.tlsHosts, u.Host) {
			bad("URL %s: the Ingress has no TLS for %s", raw, u.Host)
		}
		if err := answersSigned(u.Path); err != nil {
			bad("URL %s: the chatops handler at path %s: %v", raw, u.Path, err)
		}
	}
	return problems
}

// ingress is what the chatops Ingress routes.
type ingress struct {
	rules    []ingressRule
	tlsHosts []string
}

type ingressRule struct {
	host  string
	paths []string // Prefix paths
}

func (i ingress) routes(host, path string) bool {
	if path == "" {
		path = "/"
	}
	return slices.ContainsFunc(i.rules, func(r ingressRule) bool {
		return r.host == host && slices.ContainsFunc(r.paths, func(p string) bool {
			return p == "/" || path == p || strings.HasPrefix(path, strings.TrimSuffix(p, "/")+"/")
		})
	})
}

func (i ingress) String() string {
	var s []string
	for _, r := range i.rules {
		s = append(s, r.host+strings.Join(r.paths, ","))
	}
	return strings.Join(s, " ")
}

// chatopsIngress finds the one Ingress in helm's output.
func chatopsIngress(rendered string) (ingress, error) {
	var out ingress
	n := 0
	for _, doc := range strings.Split(rendered, "\n---") {
		var obj struct {
			Kind string `json:"kind"`
			Spec struct {
				TLS []struct {
					Hosts []string `json:"hosts"`
				} `json:"tls"`
				Rules []struct {
					Host string `json:"host"`
					HTTP struct {
						Paths []struct {
							Path     string `json:"path"`
							PathType string `json:"pathType"`
						} `json:"paths"`
					} `json:"http"`
				} `json:"rules"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj.Kind != "Ingress" {
			continue
		}
		n++
		for _, t := range obj.Spec.TLS {
			out.tlsHosts = append(out.tlsHosts, t.Hosts...)
		}
		for _, r := range obj.Spec.Rules {
			rule := ingressRule{host: r.Host}
			for _, p := range r.HTTP.Paths {
				if p.PathType == "Prefix" {
					rule.paths = append(rule.paths, p.Path)
				}
			}
			out.rules = append(out.rules, rule)
		}
	}
	if n != 1 {
		return out, fmt.Errorf("values-production.yaml renders %d Ingresses, want the chatops one", n)
	}
	return out, nil
}

// answersSigned posts Slack's URL verification (ssl_check) to target,
// signed with the handler's secret (200 expected) and with another one
// (401 expected): the path is the signature-checked Slack endpoint.
func answersSigned(path string) error {
	// A handler of its own: its replay guard has seen no request yet.
	srv := httptest.NewServer(chatops.NewHandler(nil, signingSecret, chatops.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	defer srv.Close()
	target := srv.URL + path
	body := []byte("ssl_check=1&token=x")
	for _, tc := range []struct {
		secret string
		want   int
	}{{signingSecret, http.StatusOK}, {"another-secret", http.StatusUnauthorized}} {
		ts, sig := chatops.Sign(tc.secret, time.Now(), body)
		req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != tc.want {
			return fmt.Errorf("a request signed with %s got %d, want %d", map[bool]string{true: "the signing secret", false: "another secret"}[tc.secret == signingSecret], resp.StatusCode, tc.want)
		}
	}
	return nil
}

// --- links ---

var readmeLinkRE = regexp.MustCompile(`\]\((?:\./)?docs/operating\.md(?:#[^)]*)?\)`)

// checkLinks: the guide's own anchors and relative links resolve, the
// alerts' runbook anchors are its headings and every alert is named, and
// the README links to it.
func (c *checker) checkLinks(md markdown, readme string) []string {
	var problems []string
	anchors := map[string]bool{}
	for _, h := range md.headings {
		anchors[anchor(h)] = true
	}
	for _, l := range md.links {
		c.seen["link"]++
		switch {
		case strings.HasPrefix(l, "#"):
			if !anchors[strings.TrimPrefix(l, "#")] {
				problems = append(problems, fmt.Sprintf("link %s: no such heading in the guide", l))
			}
		case strings.Contains(l, "://"):
		default:
			p, _, _ := strings.Cut(l, "#")
			if _, err := os.Stat(filepath.FromSlash(p)); err != nil {
				problems = append(problems, fmt.Sprintf("link %s: %v", l, err))
			}
		}
	}
	guideText := strings.Join(append(md.headings, md.inline...), "\n")
	for _, r := range c.rules {
		if _, a, ok := strings.Cut(r.Annotations["runbook_url"], "docs/operating.md#"); ok && !anchors[a] {
			problems = append(problems, fmt.Sprintf("alert %s: runbook_url anchor #%s is not a heading of the guide (troubleshooting)", r.Alert, a))
		}
		if r.Alert != "" && !strings.Contains(guideText, r.Alert) {
			problems = append(problems, fmt.Sprintf("alert %s of files/rules.yaml is not in the guide", r.Alert))
		}
	}
	if !readmeLinkRE.MatchString(readme) {
		problems = append(problems, "README.md does not link to docs/operating.md")
	}
	return problems
}
