package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/workflows"
	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/api/workflowservice/v1"
	"sigs.k8s.io/yaml"
)

const e2eSpec = `{
  "name": "e2e-%d",
  "blue": {"clusterName": "blue", "region": "eu-west-1"},
  "green": {"clusterName": "green", "kubernetesVersion": "1.31"},
  "smoke": {"http": [{"name": "home", "url": "https://green.example.com/"}]},
  "traffic": {
    "provider": "route53",
    "route53": {"hostedZoneId": "Z0123456789ABC", "recordName": "shop.example.com", "greenTarget": "green-lb.example.com"},
    "steps": [25, 100],
    "bakeTime": "1s",
    "checkInterval": "1s",
    "alarms": ["shop-5xx"]
  },
  "approvals": {
    "cutover": {"approvers": ["alice", "bob"], "timeout": "10m"},
    "retire": {"enabled": true, "approvers": ["alice"], "timeout": "10m"},
    "reminderInterval": "0s"
  },
  "retire": {"soak": "2s"}
}`

// TestEndToEnd runs a migration on a real Temporal dev server: the worker
// runs in-process with the fake world in place of AWS and Kubernetes, the
// migration is started from a JSON file and approved through the CLI.
func TestEndToEnd(t *testing.T) {
	d := startDevServer(t)
	srv, c, world := d.srv, d.client, d.world

	specPath := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specPath, []byte(fmt.Sprintf(e2eSpec, time.Now().UnixNano()%100000)), 0o600); err != nil {
		t.Fatal(err)
	}
	cutover := d.cutover

	code, out, errs := cutover("start", "-f", specPath, "-o", "json")
	if code != 0 {
		t.Fatalf("start: exit %d\n%s%s", code, out, errs)
	}
	var started struct{ WorkflowID, URL string }
	if err := json.Unmarshal([]byte(out), &started); err != nil || !strings.HasPrefix(started.WorkflowID, "cutover-e2e-") || !strings.Contains(started.URL, started.WorkflowID) {
		t.Fatalf("start output %q: %v", out, err)
	}
	id := started.WorkflowID

	// Starting the same migration twice is refused with a pointer to it.
	if code, _, errs := cutover("start", "-f", specPath); code != cli.ExitFailed || !strings.Contains(errs, "already running") {
		t.Errorf("second start: exit %d %q", code, errs)
	}

	waitGate(t, cutover, id, "cutover")
	// The global flags win over the environment: with TEMPORAL_ADDRESS and
	// TEMPORAL_NAMESPACE pointing nowhere, --address and --namespace reach
	// the dev server (App.Dial unset: the CLI's own connection), and
	// -o yaml prints the status as YAML.
	t.Setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")
	t.Setenv("TEMPORAL_NAMESPACE", "no-such-namespace")
	var yout, yerr bytes.Buffer
	env := &cli.App{Stdout: &yout, Stderr: &yerr}
	if code := env.Run(context.Background(), []string{"--address", srv.Address, "--namespace", srv.Namespace, "status", id, "-o", "yaml"}); code != 0 {
		t.Fatalf("status with --address/--namespace over a junk environment: exit %d %s", code, yerr.String())
	}
	var yst workflows.Status
	if err := yaml.Unmarshal(yout.Bytes(), &yst); err != nil || !strings.Contains("\n"+yout.String(), "\nphase: ") || len(yst.PendingGates) != 1 || yst.PendingGates[0].Gate != "cutover" {
		t.Fatalf("status -o yaml %v:\n%s", err, yout.String())
	}
	yout.Reset()
	if code := env.Run(context.Background(), []string{"status", id}); code != cli.ExitInternal || !strings.Contains(yerr.String(), "127.0.0.1:1") {
		t.Errorf("status without --address: exit %d, want 3 from the environment's address; %s", code, yerr.String())
	}
	// The Temporal UI's "Current Details" tell a person how to answer.
	md, err := c.QueryWorkflow(context.Background(), id, "", "__temporal_workflow_metadata")
	if err != nil {
		t.Fatal(err)
	}
	var meta sdkpb.WorkflowMetadata
	// They fit the UI's frame: the state and the command first, at most
	// three short lines after it.
	if err := md.Get(&meta); err != nil || !strings.HasPrefix(meta.GetCurrentDetails(), `**Waiting for gate "cutover"** — `+"`cutover approve "+id+" --gate cutover") ||
		strings.Count(strings.TrimSpace(meta.GetCurrentDetails()), "\n") > 3 {
		t.Errorf("current details %q (%v)", meta.GetCurrentDetails(), err)
	}
	// The update validator's refusal reaches the person.
	if code, _, errs := cutover("approve", id, "--gate", "cutover", "--by", "mallory"); code != cli.ExitFailed || !strings.Contains(errs, `"mallory" may not decide gate "cutover"`) {
		t.Fatalf("approve by mallory: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := cutover("approve", id, "--gate", "retire", "--by", "alice"); code != cli.ExitFailed || !strings.Contains(errs, `gate "retire" is not open yet`) {
		t.Fatalf("early retire approval: exit %d, stderr %q", code, errs)
	}
	if code, out, errs := cutover("approve", id, "--gate", "cutover", "--by", "bob", "--comment", "smoke is green"); code != 0 || !strings.Contains(out, `Gate "cutover"`) {
		t.Fatalf("approve: exit %d %q %q", code, out, errs)
	}
	waitGate(t, cutover, id, "retire")
	if code, _, errs := cutover("approve", id, "--gate", "retire", "--by", "alice"); code != 0 {
		t.Fatalf("approve retire: exit %d %q", code, errs)
	}

	code, out, errs = cutover("watch", id, "-o", "json")
	if code != 0 {
		t.Fatalf("watch: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = cutover("result", id, "-o", "json")
	if code != 0 {
		t.Fatalf("result: exit %d %s", code, out)
	}
	var r workflows.MigrationReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report %q: %v", out, err)
	}
	if r.Outcome != workflows.OutcomeSucceeded || len(r.Approvals) != 2 || r.Approvals[0].By != "bob" || r.Approvals[0].Comment != "smoke is green" || r.Approvals[0].Via != "update" {
		t.Fatalf("report %+v", r)
	}
	// The report for people, from the same run: HTML with the picture
	// inline, Markdown with it beside.
	dir := t.TempDir()
	if code, _, errs := cutover("report", id, "-o", "html", "--out", filepath.Join(dir, "r.html")); code != 0 {
		t.Fatalf("report -o html: exit %d %s", code, errs)
	}
	page, err := os.ReadFile(filepath.Join(dir, "r.html"))
	if err != nil || !bytes.Contains(page, []byte("<svg")) || !bytes.Contains(page, []byte("<h2>Approvals</h2>")) || !bytes.Contains(page, []byte("smoke is green")) {
		t.Errorf("HTML report (%v):\n%s", err, page)
	}
	if code, _, errs := cutover("report", id, "-o", "md", "--out", filepath.Join(dir, "r.md")); code != 0 {
		t.Fatalf("report -o md: exit %d %s", code, errs)
	}
	mdText, err := os.ReadFile(filepath.Join(dir, "r.md"))
	if err != nil || !bytes.Contains(mdText, []byte("![Timeline of "+r.Migration+"](r.svg)")) || !bytes.Contains(mdText, []byte("| cutover | approved | bob |")) {
		t.Errorf("Markdown report (%v):\n%s", err, mdText)
	}
	if svg, err := os.ReadFile(filepath.Join(dir, "r.svg")); err != nil || !bytes.HasPrefix(svg, []byte("<svg")) {
		t.Errorf("timeline beside the Markdown: %v %.80s", err, svg)
	}
	if code, _, _ := cutover("report", id, "-o", "md", "--out", filepath.Join(dir, "r.txt")); code != cli.ExitUsage {
		t.Errorf("report -o md --out r.txt: exit %d, want usage", code)
	}
	if code, _, _ := cutover("status", id, "-o", "html"); code != cli.ExitUsage {
		t.Errorf("status -o html: exit %d, want usage", code)
	}
	var weights []int
	for _, in := range world.Inputs("SetTrafficWeights") {
		weights = append(weights, in.(traffic.SetWeightsInput).Green)
	}
	if !slices.Equal(weights, []int{25, 100}) {
		t.Errorf("weights %v", weights)
	}
	if !slices.Contains(world.Names(), "RetireEKSCluster") {
		t.Errorf("blue was not retired: %v", world.Names())
	}

	// The phase search attribute is queryable, as the UI's filter uses it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.ListWorkflow(context.Background(), listRequest(srv.Namespace, fmt.Sprintf(`WorkflowId = %q AND CutoverPhase = "Done"`, id)))
		if err == nil && len(resp.Executions) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("CutoverPhase=Done not visible: %v %v", err, resp)
		}
		time.Sleep(300 * time.Millisecond)
	}
	// A finished run's Current Details say so, not its last phase.
	if md, err = c.QueryWorkflow(context.Background(), id, "", "__temporal_workflow_metadata"); err != nil {
		t.Fatal(err)
	}
	if err := md.Get(&meta); err != nil || !strings.HasPrefix(meta.GetCurrentDetails(), "**Done** — ") || !strings.Contains(meta.GetCurrentDetails(), "cutover report "+id+" -o html") {
		t.Errorf("current details when done %q (%v)", meta.GetCurrentDetails(), err)
	}
}

func waitGate(t *testing.T, cutover func(...string) (int, string, string), id, gate string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		code, out, _ := cutover("status", id, "-o", "json")
		if code == 0 {
			var st workflows.Status
			if err := json.Unmarshal([]byte(out), &st); err == nil {
				for _, g := range st.PendingGates {
					if g.Gate == gate {
						return
					}
				}
				if st.Phase == workflows.PhaseFailed {
					t.Fatalf("migration failed: %s", st.LastError)
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("gate %q never opened", gate)
}

func listRequest(ns, query string) *workflowservice.ListWorkflowExecutionsRequest {
	return &workflowservice.ListWorkflowExecutionsRequest{Namespace: ns, Query: query}
}

// TestDryRunThroughCLI: `start --dry-run` returns the plan without building
// anything, and `result` prints it for people.
func TestDryRunThroughCLI(t *testing.T) {
	d := startDevServer(t)
	specPath := filepath.Join(t.TempDir(), "spec.json")
	if err := os.WriteFile(specPath, []byte(fmt.Sprintf(e2eSpec, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		code, out, errs := d.cutover(args...)
		return code, out + errs
	}
	if code, out := run("start", "-f", specPath, "--dry-run"); code != 0 || !strings.Contains(out, "cutover-e2e-1-dry-run") {
		t.Fatalf("start --dry-run: %d\n%s", code, out)
	}
	code, out := run("result", "cutover-e2e-1-dry-run")
	if code != 0 || !strings.Contains(out, "Outcome: dry-run") || !strings.Contains(out, "green green (eu-west-1) at Kubernetes 1.31, copied from blue") ||
		!strings.Contains(out, "node group general: m6i.large AL2_x86_64, 2-6 (desired 3)") || !strings.Contains(out, "gates: cutover, retire") ||
		!strings.Contains(out, "IAM role shop-orders: trust green's OIDC issuer too") {
		t.Fatalf("result: %d\n%s", code, out)
	}
	if !strings.Contains(out, "Pod Identity payments/worker") || !strings.Contains(out, "access entry for Argo CD's role") || !strings.Contains(out, "aws-auth role") {
		t.Errorf("result lists no Pod Identity, Argo CD access or aws-auth plan:\n%s", out)
	}
	// A dry run only reads: blue, its insights, objects, launch templates, subnets,
	// aws-auth and Argo CD, and the IAM roles green's issuer would join
	// (planned without green).
	reads := []string{"DescribeEKSCluster", "EKSUpgradeInsights", "PreflightBlue", "PlanGreenLaunchTemplates", "CheckSubnetCapacity", "LocateArgoCD", "CheckTrafficPrerequisites",
		"PlanIRSATrust", "ArgoCDIdentities", "ReadAWSAuth", "Notify"}
	for _, name := range d.world.Names() {
		if !slices.Contains(reads, name) {
			t.Errorf("a dry run called %s", name)
		}
	}
}
