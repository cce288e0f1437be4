package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/buildinfo"
	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/iampolicy"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"sigs.k8s.io/yaml"
)

// serverless is an offline App whose sandbox and demo fail the test too.
func serverless(t *testing.T) (*cli.App, *bytes.Buffer, *bytes.Buffer) {
	app, out, errb := offline(t)
	app.Sandbox = func(context.Context, []string, io.Writer, io.Writer) error {
		t.Error("the sandbox was started")
		return errors.New("no sandbox")
	}
	app.Demo = func(context.Context, cli.DemoOptions, io.Writer, io.Writer) error {
		t.Error("the demo was started")
		return errors.New("no demo")
	}
	return app, out, errb
}

// commandPaths lists every command of the table, as the words that name it.
func commandPaths(c *cobra.Command, prefix []string) [][]string {
	var out [][]string
	for _, sub := range c.Commands() {
		if sub.Hidden {
			continue
		}
		p := append(slices.Clone(prefix), sub.Name())
		out = append(out, p)
		out = append(out, commandPaths(sub, p)...)
	}
	return out
}

// TestEveryHelpWithoutTemporal prints the help of every command, as
// --help, -h and `help ...`: each exits 0, shows usage and examples, and
// contacts nothing.
func TestEveryHelpWithoutTemporal(t *testing.T) {
	app, _, _ := serverless(t)
	paths := commandPaths(app.Command(), nil)
	want := []string{"validate", "start", "status", "watch", "approve", "reject", "abort", "result", "report",
		"schedule create", "schedule describe", "schedule trigger", "schedule pause", "schedule unpause", "schedule delete",
		"chatops serve", "sandbox up", "sandbox down", "demo", "completion", "version"}
	var have []string
	for _, p := range paths {
		have = append(have, strings.Join(p, " "))
	}
	for _, w := range want {
		if !slices.Contains(have, w) {
			t.Errorf("command %q is not in the table %q", w, have)
		}
	}
	for _, p := range append(paths, []string{}) {
		for _, args := range [][]string{append(slices.Clone(p), "--help"), append(slices.Clone(p), "-h"), append([]string{"help"}, p...)} {
			app, out, errb := serverless(t)
			code := app.Run(context.Background(), args)
			if code != cli.ExitOK || !strings.Contains(out.String(), "Usage:") || !strings.Contains(out.String(), "Examples:") {
				t.Errorf("cutover %s: exit %d, want 0 with usage and examples; stdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errb)
			}
		}
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{
		"bash":       "__start_cutover",
		"zsh":        "#compdef cutover",
		"fish":       "complete -c cutover",
		"powershell": "Register-ArgumentCompleter",
	} {
		app, out, errb := serverless(t)
		if code := app.Run(context.Background(), []string{"completion", shell}); code != 0 || !strings.Contains(out.String(), want) {
			t.Errorf("completion %s: exit %d, want %q in\n%.500s%s", shell, code, want, out, errb)
		}
	}
	// What the scripts ask: flag values are completed without Temporal.
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "status", "x", "-o", ""}, []string{"text", "json", "yaml"}},
		{[]string{"__complete", "approve", "cutover-shop", "--gate", ""}, []string{"cutover", "retire"}},
		{[]string{"__complete", "sched"}, []string{"schedule"}},
		{[]string{"__complete", "schedule", ""}, []string{"create", "describe", "trigger", "pause", "unpause", "delete"}},
	} {
		app, out, _ := serverless(t)
		app.Run(context.Background(), tc.args)
		var got []string
		for _, l := range strings.Split(out.String(), "\n") {
			if l != "" && !strings.HasPrefix(l, ":") {
				got = append(got, strings.SplitN(l, "\t", 2)[0])
			}
		}
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%v: completions %q lack %q", tc.args, got, w)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	oldVersion, oldCommit := buildinfo.Version, buildinfo.Commit
	buildinfo.Version, buildinfo.Commit = "v1.2.3-test", "0123456789abcdef0123456789abcdef01234567"
	t.Cleanup(func() { buildinfo.Version, buildinfo.Commit = oldVersion, oldCommit })
	app, out, _ := serverless(t)
	if code := app.Run(context.Background(), []string{"version"}); code != 0 || !strings.HasPrefix(out.String(), "cutover v1.2.3-test (commit 0123456789ab, ") {
		t.Errorf("version: exit %d %q", code, out)
	}
	for _, format := range []string{"json", "yaml"} {
		app, out, _ = serverless(t)
		var v cli.VersionInfo
		code := app.Run(context.Background(), []string{"version", "-o", format})
		if err := yaml.Unmarshal(out.Bytes(), &v); code != 0 || err != nil ||
			v.Version != "v1.2.3-test" || v.Commit != buildinfo.Commit || !strings.HasPrefix(v.Go, "go") || !strings.Contains(v.Platform, "/") {
			t.Errorf("version -o %s: exit %d %v %q", format, code, err, out)
		}
	}
	buildinfo.Version = ""
	if v := cli.BuildVersion(); v.Version == "" {
		t.Error("without -ldflags the version is empty, want the build info's or dev")
	}
}

// TestOutputYAML: -o yaml prints the same document as -o json, as YAML.
func TestOutputYAML(t *testing.T) {
	example := filepath.Join("..", "..", "deploy", "examples", "route53-weighted.json")
	docs := map[string]map[string]any{}
	for _, format := range []string{"json", "yaml"} {
		app, out, errb := serverless(t)
		if code := app.Run(context.Background(), []string{"validate", "-f", example, "-o", format}); code != 0 {
			t.Fatalf("validate -o %s: exit %d %s", format, code, errb)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("-o %s: %v\n%s", format, err, out)
		}
		if format == "yaml" && strings.HasPrefix(strings.TrimSpace(out.String()), "{") {
			t.Errorf("-o yaml printed JSON:\n%.300s", out)
		}
		docs[format] = doc
	}
	if docs["yaml"]["valid"] != true || !jsonEqual(docs["json"], docs["yaml"]) {
		t.Errorf("-o yaml and -o json differ:\n%v\n%v", docs["json"], docs["yaml"])
	}
	// A spec with problems lists them in YAML too, and exits 2.
	app, out, _ := serverless(t)
	bad := writeFile(t, `{"name": "shop", "blu": {}}`)
	var doc struct {
		Valid  bool                     `json:"valid"`
		Errors []struct{ Field string } `json:"errors"`
	}
	if code := app.Run(context.Background(), []string{"validate", "-f", bad, "-o", "yaml"}); code != cli.ExitUsage || yaml.Unmarshal(out.Bytes(), &doc) != nil || doc.Valid || len(doc.Errors) == 0 || doc.Errors[0].Field != "blu" {
		t.Errorf("validate bad -o yaml: exit %d %+v\n%s", code, doc, out)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestDestructiveCommandsConfirm: abort and schedule delete go ahead with
// --yes or a "y" at a terminal; without a terminal they are refused with
// exit 2, and "n" at a terminal refuses with exit 1, before Temporal.
func TestDestructiveCommandsConfirm(t *testing.T) {
	for _, args := range [][]string{
		{"abort", "cutover-shop", "--by", "alice", "--reason", "INC-42"},
		{"schedule", "delete", "--id", "cutover-fleet-prod"},
	} {
		name := strings.Join(args[:2], " ")
		app, _, errb := serverless(t)
		if code := app.Run(context.Background(), args); code != cli.ExitUsage || !strings.Contains(errb.String(), "--yes") {
			t.Errorf("%s without --yes and no terminal: exit %d %q", name, code, errb)
		}
		app, _, errb = serverless(t)
		app.Terminal, app.Stdin = true, strings.NewReader("n\n")
		if code := app.Run(context.Background(), args); code != cli.ExitFailed || !strings.Contains(errb.String(), "[y/N]") || !strings.Contains(errb.String(), "not confirmed") {
			t.Errorf("%s answered n: exit %d %q", name, code, errb)
		}
		for _, tc := range []struct {
			terminal bool
			answer   string
			extra    []string
		}{{false, "", []string{"--yes"}}, {false, "", []string{"-y"}}, {true, "y\n", nil}, {true, "YES\n", nil}} {
			var errb bytes.Buffer
			dialed := false
			app := &cli.App{Stdout: io.Discard, Stderr: &errb, Terminal: tc.terminal, Stdin: strings.NewReader(tc.answer),
				Dial: func() (client.Client, error) { dialed = true; return nil, errors.New("no server in this test") }}
			if code := app.Run(context.Background(), append(slices.Clone(args), tc.extra...)); code != cli.ExitInternal || !dialed {
				t.Errorf("%s %v answered %q: exit %d, dialed %v, want it to go ahead; %s", name, tc.extra, tc.answer, code, dialed, errb.String())
			}
		}
	}
}

// TestGlobalFlagsOverrideEnvironment: --address, --namespace and
// --profile win over TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_PROFILE
// and the profile's own values; without them the environment applies.
func TestGlobalFlagsOverrideEnvironment(t *testing.T) {
	config := filepath.Join(t.TempDir(), "temporal.toml")
	if err := os.WriteFile(config, []byte(`
[profile.default]
address = "default.example.com:7233"
[profile.staging]
address = "staging.example.com:7233"
namespace = "staging"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", config)
	t.Setenv("TEMPORAL_ADDRESS", "junk.invalid:1")
	t.Setenv("TEMPORAL_NAMESPACE", "junk")
	t.Setenv("TEMPORAL_PROFILE", "")
	for _, tc := range []struct {
		conn          cli.Connection
		env           map[string]string
		address, name string
	}{
		{cli.Connection{}, nil, "junk.invalid:1", "junk"},
		{cli.Connection{Address: "127.0.0.1:7233"}, nil, "127.0.0.1:7233", "junk"},
		{cli.Connection{Address: "127.0.0.1:7233", Namespace: "migrations"}, nil, "127.0.0.1:7233", "migrations"},
		{cli.Connection{Profile: "staging"}, map[string]string{"TEMPORAL_ADDRESS": "", "TEMPORAL_NAMESPACE": ""}, "staging.example.com:7233", "staging"},
		{cli.Connection{Profile: "staging", Address: "127.0.0.1:7233"}, map[string]string{"TEMPORAL_ADDRESS": "", "TEMPORAL_NAMESPACE": ""}, "127.0.0.1:7233", "staging"},
		{cli.Connection{Profile: "staging"}, map[string]string{"TEMPORAL_PROFILE": "default", "TEMPORAL_ADDRESS": "", "TEMPORAL_NAMESPACE": ""}, "staging.example.com:7233", "staging"},
		{cli.Connection{}, map[string]string{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml"), "TEMPORAL_ADDRESS": "", "TEMPORAL_NAMESPACE": ""}, "127.0.0.1:7233", "default"},
	} {
		t.Run(tc.address+"/"+tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
				if v == "" {
					os.Unsetenv(k) // set but empty would be a value of its own
				}
			}
			opts, err := tc.conn.ClientOptions(nil)
			if err != nil || opts.HostPort != tc.address || opts.Namespace != tc.name {
				t.Errorf("%+v: %s/%s (%v), want %s/%s", tc.conn, opts.HostPort, opts.Namespace, err, tc.address, tc.name)
			}
		})
	}
	// A profile that is not there is a usage error, found before dialing.
	var errb bytes.Buffer
	app := &cli.App{Stdout: io.Discard, Stderr: &errb}
	if code := app.Run(context.Background(), []string{"--profile", "prod", "status", "x"}); code != cli.ExitUsage || !strings.Contains(errb.String(), "prod") {
		t.Errorf("--profile prod: exit %d %q", code, errb.String())
	}
}

// TestServerCommands: sandbox and demo get the flags given, chatops serve
// refuses a configuration that would refuse everyone, all before Temporal.
func TestServerCommands(t *testing.T) {
	var gotArgs []string
	var gotDemo cli.DemoOptions
	app, _, errb := offline(t)
	app.Sandbox = func(_ context.Context, args []string, _, _ io.Writer) error { gotArgs = args; return nil }
	app.Demo = func(_ context.Context, o cli.DemoOptions, _, _ io.Writer) error { gotDemo = o; return nil }
	if code := app.Run(context.Background(), []string{"--address", "x:1", "sandbox", "up", "--headless", "--temporal-port", "7300", "-v", "--kube-token-max-age", "1m"}); code != 0 {
		t.Fatalf("sandbox up: exit %d %s", code, errb)
	}
	if want := []string{"up", "--headless=true", "--kube-token-max-age=1m0s", "--temporal-port=7300", "--v=true"}; !slices.Equal(gotArgs, want) {
		t.Errorf("sandbox up ran with %q, want %q", gotArgs, want)
	}
	if code := app.Run(context.Background(), []string{"sandbox", "down"}); code != 0 || !slices.Equal(gotArgs, []string{"down"}) {
		t.Errorf("sandbox down: exit %d, args %q", code, gotArgs)
	}
	if code := app.Run(context.Background(), []string{"demo", "--no-start", "--ui-port", "8300"}); code != 0 ||
		gotDemo != (cli.DemoOptions{TemporalPort: 7233, UIPort: 8300, TargetVersion: "1.31", Start: false, Second: true}) {
		t.Errorf("demo: exit %d, options %+v", code, gotDemo)
	}
	if code := app.Run(context.Background(), []string{"demo"}); code != 0 || !gotDemo.Start {
		t.Errorf("demo: exit %d, options %+v", code, gotDemo)
	}

	t.Setenv("SLACK_SIGNING_SECRET", "")
	t.Setenv("CUTOVER_SLACK_USER_MAP", "")
	t.Setenv("CUTOVER_SLACK_USERS", "")
	for _, tc := range []struct {
		secret string
		args   []string
		want   string
	}{
		{"", []string{"--slack-users", "U0123ABC=alice"}, "SLACK_SIGNING_SECRET is not set"},
		{"s3cret", nil, "no Slack user is mapped"},
		{"s3cret", []string{"--slack-users", "alice=U0123ABC"}, "is not a Slack user ID"},
		{"s3cret", []string{"--user-map", filepath.Join(t.TempDir(), "missing.json")}, "missing.json"},
		{"s3cret", []string{"--allow-unmapped-users", "--require-mapped-users"}, "contradict"},
		{"s3cret", []string{"--slack-users", "U0123ABC=alice", "-o", "json"}, "prints for people only"},
	} {
		t.Setenv("SLACK_SIGNING_SECRET", tc.secret)
		app, _, errb := offline(t)
		if code := app.Run(context.Background(), append([]string{"chatops", "serve"}, tc.args...)); code != cli.ExitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("chatops serve %v: exit %d, want 2 with %q; %s", tc.args, code, tc.want, errb)
		}
	}
}

// TestIAMPolicyCommand: cutover iam-policy prints the policy of the
// documents it is given, in the checked-in form, and refuses bad input
// with exit 2 naming the flag or the document's field.
func TestIAMPolicyCommand(t *testing.T) {
	examples := filepath.Join("..", "..", "deploy", "examples")
	app, out, errb := serverless(t)
	args := []string{"iam-policy", "--account", "111122223333",
		"-f", filepath.Join(examples, "route53-weighted.json"), "-f", filepath.Join(examples, "fleet", "quarterly.json")}
	if code := app.Run(context.Background(), args); code != 0 {
		t.Fatalf("iam-policy: exit %d %s", code, errb)
	}
	var doc iampolicy.Document
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc.Version != "2012-10-17" || len(doc.Statement) < 5 {
		t.Fatalf("iam-policy printed %v %.400s", err, out)
	}
	if _, ok := iampolicy.Allows(doc, iampolicy.Request{Action: "eks:DeleteCluster", Resource: "arn:aws:eks:eu-west-1:111122223333:cluster/shop-prod"}); !ok {
		t.Error("the policy of route53-weighted.json does not allow deleting its blue")
	}
	if _, ok := iampolicy.Allows(doc, iampolicy.Request{Action: "eks:DeleteCluster", Resource: "arn:aws:eks:eu-west-1:111122223333:cluster/payments-prod"}); ok {
		t.Error("the policy allows deleting a cluster no document names")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"iam-policy", "-f", filepath.Join(examples, "dry-run.json")}, "--account"},
		{[]string{"iam-policy", "--account", "12", "-f", filepath.Join(examples, "dry-run.json")}, "12-digit"},
		{[]string{"iam-policy", "--account", "111122223333", "--eks-scope", "all", "-f", filepath.Join(examples, "dry-run.json")}, "--eks-scope"},
		{[]string{"iam-policy", "--account", "111122223333", "--region", "Europe", "-f", filepath.Join(examples, "dry-run.json")}, "--region"},
		{[]string{"iam-policy", "--account", "111122223333"}, "-f"},
		{[]string{"iam-policy", "--account", "111122223333", "-f", writeFile(t, `{"name": "shop", "blu": {}}`)}, "blu"},
	} {
		app, out, errb := serverless(t)
		if code := app.Run(context.Background(), c.args); code != cli.ExitUsage || !strings.Contains(errb.String(), c.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q (want %q), stdout %.100q", c.args, code, errb, c.want, out)
		}
	}
}
