package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/workflows"
)

// uiForm is the README's "Starting a migration from the Temporal UI"
// table: what a person types into the UI's Start Workflow form.
type uiForm struct{ workflowID, taskQueue, workflowType, inputFile, summary string }

func readmeUIForm(t *testing.T) uiForm {
	t.Helper()
	root, err := sandbox.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## Starting a migration from the Temporal UI\n")
	if !ok {
		t.Fatal("README has no section on starting a migration from the Temporal UI")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	field := func(name string) string {
		t.Helper()
		m := regexp.MustCompile(`(?m)^\| ` + name + ` \| ` + "`([^`]+)`").FindStringSubmatch(section)
		if m == nil {
			t.Fatalf("README's UI table has no %s", name)
		}
		return m[1]
	}
	f := uiForm{workflowID: field("Workflow ID"), taskQueue: field("Task Queue"), workflowType: field("Workflow Type")}
	in := regexp.MustCompile("(?m)^\\| Input \\| the contents of `\\.sandbox/([^`]+)`").FindStringSubmatch(section)
	if in == nil {
		t.Fatal("README's UI table does not name the input file in .sandbox/")
	}
	f.inputFile = in[1]
	sum := regexp.MustCompile("(?m)^\\| Summary \\| the Summary line `make demo` prints \\(`([^`]+)`\\)").FindStringSubmatch(section)
	if sum == nil {
		t.Fatal("README's UI table has no Summary")
	}
	f.summary = sum[1]
	return f
}

// TestUIWalkthroughOnTheDemo follows the README's Temporal UI section on
// the demo: the demo (with its own migration running) prints the form
// and writes the input file; a workflow started with exactly the README's
// ID, task queue and type and the file's bytes as its input (what the UI
// form sends) migrates the second blue and reaches its cutover gate,
// beside the demo's migration at its own; the signal the README shows
// decides it.
func TestUIWalkthroughOnTheDemo(t *testing.T) {
	t.Parallel()
	form := readmeUIForm(t)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer
	dir := t.TempDir()
	d, err := demo.Start(ctx, demo.Options{Dir: dir, UIPort: -1, Start: true, Fast: true, SecondMigration: true, Stdout: &out, Logger: quiet})
	if err != nil {
		t.Fatalf("demo start: %v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	for _, want := range []string{"Workflow ID:    " + form.workflowID, "Task Queue:     " + form.taskQueue, "Workflow Type:  " + form.workflowType, form.inputFile, "Summary:        " + form.summary} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("make demo's output lacks %q:\n%s", want, out.String())
		}
	}
	input, err := os.ReadFile(filepath.Join(dir, form.inputFile))
	if err != nil {
		t.Fatalf("the README's input file: %v", err)
	}
	c, err := client.Dial(client.Options{HostPort: d.Sandbox.Temporal.Address, Namespace: d.Sandbox.Temporal.Namespace, Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The UI sends the Input box's text as a json/plain payload, and the
	// Summary box as the run's static summary.
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: form.workflowID, TaskQueue: form.taskQueue, StaticSummary: form.summary}, form.workflowType, json.RawMessage(input)); err != nil {
		t.Fatalf("start as the UI form does: %v", err)
	}
	atGate := func(id, gate string) {
		t.Helper()
		deadline := time.Now().Add(4 * time.Minute)
		for {
			var st workflows.Status
			v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
			if err == nil && v.Get(&st) == nil {
				if slices.ContainsFunc(st.PendingGates, func(p workflows.PendingGate) bool { return p.Gate == gate }) {
					return
				}
				if st.Outcome != "" {
					t.Fatalf("%s ended (%s) before gate %q: %s", id, st.Outcome, gate, st.LastError)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached gate %q: phase %s, %q, %v", id, gate, st.Phase, st.Progress, err)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	atGate(form.workflowID, "cutover")
	atGate(d.WorkflowID, "cutover")

	// The README's signal decides it.
	var decision workflows.Decision
	if err := json.Unmarshal([]byte(`{"gate": "cutover", "approve": true, "by": "you"}`), &decision); err != nil {
		t.Fatal(err)
	}
	if err := c.SignalWorkflow(ctx, form.workflowID, "", workflows.SignalApproval, decision); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var st workflows.Status
		if v, err := c.QueryWorkflow(ctx, form.workflowID, "", workflows.QueryStatus); err == nil && v.Get(&st) == nil &&
			slices.ContainsFunc(st.Approvals, func(a workflows.ApprovalRecord) bool { return a.Gate == "cutover" && a.Approved && a.By == "you" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the README's approval signal did not decide the gate")
		}
		time.Sleep(300 * time.Millisecond)
	}
}
