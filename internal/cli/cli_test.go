package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/cli"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// offline is an App whose Dial fails the test: these commands must be
// refused before anything talks to Temporal.
func offline(t *testing.T) (*cli.App, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &cli.App{Stdout: &out, Stderr: &errb, Dial: func() (client.Client, error) {
		t.Error("Temporal was contacted")
		return nil, errors.New("offline")
	}}, &out, &errb
}

func writeFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRefusedBeforeContactingTemporal(t *testing.T) {
	bad := writeFile(t, `{"name": "Bad Name", "blue": {"clusterName": "blue"}, "traffic": {"provider": "route53", "steps": [50, 10]}}`)
	typo := writeFile(t, `{"name": "shop", "blu": {}}`)
	const ok = `{"name":"shop","blue":{"clusterName":"blue","region":"eu-west-1"},"green":{"kubernetesVersion":"1.31"},"traffic":{"provider":"route53","route53":{"hostedZoneId":"Z0123456789ABC","recordName":"shop.example.com","greenTarget":"lb.example.com"}}`
	trailing := writeFile(t, ok+`}{"name":"x"}`)
	dup := writeFile(t, ok+`,"approvals":{"cutover":{"approvers":["alice"]},"cutover":{"onTimeout":"approve"}}}`)
	huge := writeFile(t, ok+`,"notify":{"slackChannel":"#`+strings.Repeat("a", 300<<10)+`"}}`)
	fleet := writeFile(t, `{"name": "prod", "waves": [{"migrations": [{"blue": {"clusterName": "shop", "region": "eu-west-1"}, "traffic": {"provider": "route53"}}]}]}`)
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"start", "-f", bad}, cli.ExitUsage, "blue.region: is required"},
		{[]string{"start", "-f", bad}, cli.ExitUsage, "nothing was started"},
		{[]string{"validate", "-f", bad}, cli.ExitUsage, "traffic.steps[1]: must be greater than the previous step (50), got 10"},
		{[]string{"validate", "-f", typo}, cli.ExitUsage, `blu: is not a field of the spec: did you mean "blue"?`},
		{[]string{"validate", "-f", trailing}, cli.ExitUsage, "(document): has data after the end of the JSON document"},
		{[]string{"validate", "-f", dup}, cli.ExitUsage, "approvals.cutover: is given twice"},
		{[]string{"validate", "-f", huge}, cli.ExitUsage, "a document may be at most 262144 bytes"},
		{[]string{"start", "-f", dup}, cli.ExitUsage, "nothing was started"},
		{[]string{"start"}, cli.ExitUsage, "-f spec.json is required"},
		{[]string{"approve", "cutover-shop", "--by", "alice"}, cli.ExitUsage, "--gate is required"},
		{[]string{"approve", "--gate", "cutover"}, cli.ExitUsage, "WORKFLOW_ID"},
		{[]string{"abort", "cutover-shop", "--by", "alice"}, cli.ExitUsage, "--reason is required"},
		{[]string{"status", "a", "b"}, cli.ExitUsage, "got 2 arguments"},
		{[]string{"status", "x", "-o", "xml"}, cli.ExitUsage, "-o must be text, json or yaml"},
		{[]string{"launch"}, cli.ExitUsage, `unknown command "launch"`},
		{[]string{"schedule", "create", "-f", fleet}, cli.ExitUsage, "waves[0].migrations[0].traffic.route53: is required"},
		// cobra's own refusals are usage errors too: flags, argument counts, groups.
		{[]string{"status", "x", "--bogus"}, cli.ExitUsage, "unknown flag: --bogus"},
		{[]string{"status"}, cli.ExitUsage, "got 0 arguments"},
		{[]string{"validate", "extra", "-f", bad}, cli.ExitUsage, "takes no arguments"},
		{[]string{"demo", "--temporal-port", "seven"}, cli.ExitUsage, `invalid argument "seven"`},
		{[]string{"sandbox", "up", "--kube-token-max-age", "0s"}, cli.ExitUsage, "--kube-token-max-age must be positive"},
		{[]string{"schedule"}, cli.ExitUsage, "cutover schedule [command]"},
		{[]string{"schedule", "launch"}, cli.ExitUsage, `unknown command "launch" for "cutover schedule"`},
		{[]string{"schedule", "describe"}, cli.ExitUsage, "--id is required"},
		{[]string{"schedule", "describe", "--id", "x", "--cron", "* * * * *"}, cli.ExitUsage, "unknown flag: --cron"},
		{[]string{"chatops"}, cli.ExitUsage, "cutover chatops [command]"},
		{[]string{"completion", "tcsh"}, cli.ExitUsage, "bash|zsh|fish|powershell"},
		{[]string{"version", "now"}, cli.ExitUsage, "takes no arguments"},
		{[]string{"sandbox", "up", "-o", "json"}, cli.ExitUsage, "prints for people only"},
		{[]string{}, cli.ExitUsage, "Usage:"},
	} {
		app, out, errb := offline(t)
		code := app.Run(context.Background(), tt.args)
		all := out.String() + errb.String()
		if code != tt.code || !strings.Contains(all, tt.want) {
			t.Errorf("cutover %s: exit %d, want %d with %q; output:\n%s", strings.Join(tt.args, " "), code, tt.code, tt.want, all)
		}
	}
}

func TestValidateExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "deploy", "examples", "*.json"))
	for _, f := range files {
		app, out, errb := offline(t)
		if code := app.Run(context.Background(), []string{"validate", "-f", f}); code != 0 || !strings.Contains(out.String(), "valid") {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errb)
		}
	}
}

// TestFleetExampleIsValid: the example fleet passes every check that runs
// before Temporal is contacted.
func TestFleetExampleIsValid(t *testing.T) {
	var out, errb bytes.Buffer
	dialed := false
	app := &cli.App{Stdout: &out, Stderr: &errb, Dial: func() (client.Client, error) {
		dialed = true
		return nil, errors.New("no server in this test")
	}}
	app.Run(context.Background(), []string{"schedule", "create", "-f", filepath.Join("..", "..", "deploy", "examples", "fleet", "quarterly.json")})
	if !dialed {
		t.Fatalf("the example fleet was refused:\n%s%s", out.String(), errb.String())
	}
}

// refusingClient answers every start with the server error it holds.
type refusingClient struct {
	client.Client
	err error
}

func (c refusingClient) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, interface{}, ...interface{}) (client.WorkflowRun, error) {
	return nil, c.err
}
func (refusingClient) Close() {}

// TestServerRefusalIsUsage: a start the server refuses for the request
// itself (a payload over its limit) exits 2 with the server's reason, not 3
// "could not reach Temporal".
func TestServerRefusalIsUsage(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "examples", "route53-weighted.json")
	for _, tc := range []struct {
		err  error
		code int
		want string
	}{
		{serviceerror.NewResourceExhausted(enumspb.RESOURCE_EXHAUSTED_CAUSE_RPS_LIMIT, "namespace rate limit exceeded"), cli.ExitUsage, "namespace rate limit exceeded"},
		{serviceerror.NewInvalidArgument("Blob data size exceeds limit."), cli.ExitUsage, "Blob data size exceeds limit"},
		{errors.New("connection refused"), cli.ExitInternal, "connection refused"},
	} {
		var out, errb bytes.Buffer
		app := &cli.App{Stdout: &out, Stderr: &errb, Dial: func() (client.Client, error) { return refusingClient{err: tc.err}, nil }}
		code := app.Run(context.Background(), []string{"start", "-f", path})
		if code != tc.code || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d with %q; stderr %s", tc.err, code, tc.code, tc.want, errb.String())
		}
	}
}
