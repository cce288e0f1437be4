// Package cli is the `cutover` command: start, validate, status, watch,
// approve, reject, abort and result, plus the sandbox. starter/main.go is a
// thin wrapper so tests drive the very code path people use.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/internal/temporalclient"
	"github.com/cutover-dev/cutover/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// Exit codes.
const (
	ExitOK       = 0
	ExitFailed   = 1 // the command ran and the answer is "no" (refused, failed)
	ExitUsage    = 2 // bad flags or a bad spec
	ExitInternal = 3 // could not reach Temporal, etc.
)

// App holds the command's dependencies.
type App struct {
	Stdout, Stderr io.Writer
	// Dial connects to Temporal; tests point it at their dev server.
	Dial func() (client.Client, error)
	// Namespace, for UI links.
	Namespace string
	// PollInterval of `watch`. Default 2s.
	PollInterval time.Duration
	// Chatops runs `cutover chatops ...`; nil means not built in.
	Chatops func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// Demo runs `cutover demo`; nil means not built in.
	Demo func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// Sandbox runs `cutover sandbox ...`; nil means not built in.
	Sandbox func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// New returns the App wired to the environment.
func New() *App {
	ns := os.Getenv("TEMPORAL_NAMESPACE")
	if ns == "" {
		ns = "default"
	}
	return &App{Stdout: os.Stdout, Stderr: os.Stderr, Dial: func() (client.Client, error) { return temporalclient.Dial(nil) }, Namespace: ns}
}

const usage = `cutover: blue/green EKS cluster migrations on Temporal

Usage:
  cutover validate -f spec.json              check a migration spec (nothing is started)
  cutover start -f spec.json [--dry-run]     start a migration; prints the workflow ID and UI link
  cutover status ID                          phase, gates, traffic, findings, last error
  cutover watch ID                           follow a migration until it ends
  cutover approve ID --gate G --by NAME [--comment TEXT]
  cutover reject  ID --gate G --by NAME [--comment TEXT]
  cutover abort   ID --by NAME --reason TEXT roll back from wherever the migration is
  cutover result  ID                         the final MigrationReport
  cutover schedule create -f fleet.json [--cron "0 9 1 1,4,7,10 *"] [--id ID]
                                             quarterly FleetUpgrade as a Temporal Schedule
  cutover schedule describe|trigger|pause|unpause|delete --id ID
  cutover chatops serve --user-map FILE      Slack slash command and buttons -> approve update (mapped Slack users only)
  cutover sandbox up|down                    local Temporal, kube-apiservers and moto
  cutover demo [--no-start]                  sandbox + worker + a demo migration, UI on :8233

Every command takes -o json for scripts. Temporal is reached through the
SDK's environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE); the default is the dev
server at 127.0.0.1:7233.
`

// Run executes one command line and returns the exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(a.Stdout, usage)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "validate":
		err = a.validate(rest)
	case "start":
		err = a.start(ctx, rest)
	case "status":
		err = a.status(ctx, rest)
	case "watch":
		err = a.watch(ctx, rest)
	case "approve":
		err = a.decide(ctx, rest, true)
	case "reject":
		err = a.decide(ctx, rest, false)
	case "abort":
		err = a.abort(ctx, rest)
	case "result":
		err = a.result(ctx, rest)
	case "schedule":
		err = a.schedule(ctx, rest)
	case "chatops":
		if a.Chatops == nil {
			err = &exitError{code: ExitInternal, msg: "chatops: not built into this binary"}
		} else {
			err = a.Chatops(ctx, rest, a.Stdout, a.Stderr)
		}
	case "demo":
		if a.Demo == nil {
			err = &exitError{code: ExitInternal, msg: "demo: not built into this binary"}
		} else {
			err = a.Demo(ctx, rest, a.Stdout, a.Stderr)
		}
	case "sandbox":
		if a.Sandbox == nil {
			err = &exitError{code: ExitInternal, msg: "sandbox: not built into this binary"}
		} else {
			err = a.Sandbox(ctx, rest, a.Stdout, a.Stderr)
		}
	default:
		fmt.Fprintf(a.Stderr, "cutover: unknown command %q\n\n%s", cmd, usage)
		return ExitUsage
	}
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(a.Stderr, "cutover "+cmd+": "+ee.msg)
		}
		return ee.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	fmt.Fprintln(a.Stderr, "cutover "+cmd+": "+err.Error())
	return ExitInternal
}

type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, msg: fmt.Sprintf(format, args...)}
}

// UsageError is a bad flag or configuration in a command built outside
// this package (chatops, demo, sandbox): it exits 2 with the message.
func UsageError(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &exitError{code: ExitUsage, msg: err.Error()}
}

// flags is a FlagSet that also accepts flags after positional arguments
// (`cutover approve ID --gate cutover`).
type flags struct {
	*flag.FlagSet
	output *string
}

func newFlags(name string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flags{FlagSet: fs, output: fs.String("o", "text", "output format: text or json")}
}

func (f *flags) parse(args []string) ([]string, error) {
	var pos []string
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageErr("%v", err)
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if *f.output != "text" && *f.output != "json" {
		return nil, usageErr("-o must be text or json, got %q", *f.output)
	}
	return pos, nil
}

func (f *flags) json() bool { return *f.output == "json" }

func (a *App) printJSON(v any) error {
	enc := json.NewEncoder(a.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readDocument reads the JSON document at path ("-" is stdin), at most
// spec.MaxDocumentBytes of it. file names the document in messages
// ("spec", "fleet").
func readDocument(path, file string) ([]byte, error) {
	if path == "" {
		return nil, usageErr("-f %s.json is required", file)
	}
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageErr("read %s: %v", file, err)
		}
		defer f.Close()
		r = f
	}
	// One byte over the limit is enough for spec.Parse to refuse it.
	b, err := io.ReadAll(io.LimitReader(r, spec.MaxDocumentBytes+1))
	if err != nil {
		return nil, usageErr("read %s: %v", file, err)
	}
	return b, nil
}

// readSpec reads a migration spec file with spec.Parse, the reader the
// workflow uses on its own input: the spec comes back with defaults
// applied, and its problems as spec.FieldErrors.
func readSpec(path string) (spec.MigrationSpec, error) {
	b, err := readDocument(path, "spec")
	if err != nil {
		return spec.MigrationSpec{}, err
	}
	return spec.Parse(b)
}

// specCommand parses `<cmd> -f spec.json` and reads the spec. A spec with
// problems is printed, field by field, and exits 2.
func (a *App) specCommand(name string, args []string, extra ...func(*flags)) (*flags, string, spec.MigrationSpec, error) {
	f := newFlags(name, a.Stderr)
	file := f.String("f", "", "migration spec (JSON); - for stdin")
	for _, e := range extra {
		e(f)
	}
	if _, err := f.parse(args); err != nil {
		return nil, "", spec.MigrationSpec{}, err
	}
	s, err := readSpec(*file)
	return f, *file, s, err
}

func (a *App) validate(args []string) error {
	f, file, d, verr := a.specCommand("validate", args)
	var fe spec.FieldErrors
	if verr != nil && !errors.As(verr, &fe) {
		return verr
	}
	if f.json() {
		out := map[string]any{"valid": verr == nil}
		if verr == nil {
			out["spec"] = d
		} else {
			out["errors"] = fe
		}
		if err := a.printJSON(out); err != nil {
			return err
		}
	} else if verr == nil {
		fmt.Fprintf(a.Stdout, "%s: valid. Migration %q moves %s (%s) to %s at Kubernetes %s; traffic %s in steps %v; gates: %s.\n",
			file, d.Name, d.Blue.ClusterName, d.Blue.Region, d.Green.ClusterName, d.Green.KubernetesVersion, d.Traffic.Provider, d.Traffic.Steps, gateList(d))
	} else {
		printFieldErrors(a.Stdout, file, verr)
	}
	if verr != nil {
		return &exitError{code: ExitUsage}
	}
	return nil
}

func gateList(s spec.MigrationSpec) string {
	var gates []string
	for _, n := range []string{spec.GateCutover, spec.GateRetire} {
		if _, ok := s.Gate(n); ok {
			gates = append(gates, n)
		}
	}
	if s.Approvals.EachStep.IsEnabled() {
		gates = append(gates, "each traffic step after the first")
	}
	if len(gates) == 0 {
		return "none"
	}
	return strings.Join(gates, ", ")
}

func printFieldErrors(w io.Writer, file string, err error) {
	var fe spec.FieldErrors
	if errors.As(err, &fe) {
		fmt.Fprintf(w, "%s: %d problems:\n", file, len(fe))
		for _, e := range fe {
			fmt.Fprintf(w, "  %s: %s\n", e.Field, e.Reason)
		}
		return
	}
	fmt.Fprintf(w, "%s: %v\n", file, err)
}

func (a *App) start(ctx context.Context, args []string) error {
	var dryRun *bool
	f, file, s, err := a.specCommand("start", args, func(f *flags) {
		dryRun = f.Bool("dry-run", false, "stop after Preflight and return the plan (workflow ID gets -dry-run)")
	})
	var fe spec.FieldErrors
	if errors.As(err, &fe) {
		printFieldErrors(a.Stderr, file, err)
		return &exitError{code: ExitUsage, msg: "nothing was started"}
	} else if err != nil {
		return err
	}
	if *dryRun {
		s.DryRun = true
		s.Name += "-dry-run"
		if verr := s.Validate(); verr != nil {
			printFieldErrors(a.Stderr, file, verr)
			return &exitError{code: ExitUsage, msg: "nothing was started"}
		}
	}
	c, err := a.Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       s.WorkflowID(),
		TaskQueue:                workflows.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Starting a migration that is already running must say so, not
		// silently hand back the running one.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(workflows.PhaseKey.ValueSet(workflows.PhaseValidate)),
	}, workflows.WorkflowType, s)
	if err != nil {
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &already) {
			return &exitError{code: ExitFailed, msg: fmt.Sprintf("migration %q is already running as workflow %s; watch it with `cutover watch %s`", s.Name, s.WorkflowID(), s.WorkflowID())}
		}
		if msg, refused := refusedByServer(err); refused {
			return &exitError{code: ExitUsage, msg: fmt.Sprintf("Temporal refused to start %s: %s; nothing was started", s.WorkflowID(), msg)}
		}
		return fmt.Errorf("start workflow: %w", err)
	}
	link := temporalclient.WorkflowURL(a.Namespace, run.GetID())
	if f.json() {
		return a.printJSON(map[string]string{"workflowId": run.GetID(), "runId": run.GetRunID(), "url": link})
	}
	fmt.Fprintf(a.Stdout, "Started migration %s\n  workflow ID: %s\n  run ID:      %s\n  UI:          %s\nFollow it with: cutover watch %s\n", s.Name, run.GetID(), run.GetRunID(), link, run.GetID())
	return nil
}

// refusedByServer reports a start the server answered and refused for the
// request itself (too large, over a limit, malformed): a usage problem, not
// "could not reach Temporal".
func refusedByServer(err error) (string, bool) {
	var exhausted *serviceerror.ResourceExhausted
	if errors.As(err, &exhausted) {
		return exhausted.Message, true
	}
	var invalid *serviceerror.InvalidArgument
	if errors.As(err, &invalid) {
		return invalid.Message, true
	}
	return "", false
}

func oneID(cmd string, pos []string) (string, error) {
	if len(pos) != 1 {
		return "", usageErr("usage: cutover %s WORKFLOW_ID (got %d arguments)", cmd, len(pos))
	}
	return pos[0], nil
}

// connect parses a command that names one workflow, runs check on its
// flags, and connects to Temporal. The caller closes the client.
func (a *App) connect(f *flags, args []string, check func() error) (string, client.Client, error) {
	pos, err := f.parse(args)
	if err != nil {
		return "", nil, err
	}
	id, err := oneID(f.Name(), pos)
	if err != nil {
		return "", nil, err
	}
	if check != nil {
		if err := check(); err != nil {
			return "", nil, err
		}
	}
	c, err := a.Dial()
	if err != nil {
		return "", nil, err
	}
	return id, c, nil
}

func (a *App) queryStatus(ctx context.Context, c client.Client, id string) (workflows.Status, error) {
	var st workflows.Status
	v, err := c.QueryWorkflow(ctx, id, "", workflows.QueryStatus)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return st, &exitError{code: ExitFailed, msg: fmt.Sprintf("no migration with workflow ID %q", id)}
		}
		return st, fmt.Errorf("query status of %s: %w", id, err)
	}
	if err := v.Get(&st); err != nil {
		return st, fmt.Errorf("decode status: %w", err)
	}
	return st, nil
}

func (a *App) status(ctx context.Context, args []string) error {
	f := newFlags("status", a.Stderr)
	id, c, err := a.connect(f, args, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	st, err := a.queryStatus(ctx, c, id)
	if err != nil {
		return err
	}
	acts := pendingActivities(ctx, c, id)
	if f.json() {
		return a.printJSON(struct {
			workflows.Status
			Activities []Activity `json:"activities,omitempty"`
		}{st, acts})
	}
	printStatus(a.Stdout, id, st)
	for _, act := range acts {
		fmt.Fprintf(a.Stdout, "  Activity: %s (attempt %d)", act.Type, act.Attempt)
		if act.Heartbeat != nil {
			b, _ := json.Marshal(act.Heartbeat)
			fmt.Fprintf(a.Stdout, ", last heartbeat %s: %s", act.HeartbeatAt.UTC().Format(time.RFC3339), b)
		}
		if act.LastFailure != "" {
			fmt.Fprintf(a.Stdout, ", last failure: %s", act.LastFailure)
		}
		fmt.Fprintln(a.Stdout)
	}
	return nil
}

// Activity is a running activity of a migration with the progress its
// last heartbeat reported (node groups created, Route53 change status, ...).
type Activity struct {
	Type        string    `json:"type"`
	Attempt     int32     `json:"attempt"`
	HeartbeatAt time.Time `json:"heartbeatAt,omitempty"`
	Heartbeat   any       `json:"heartbeat,omitempty"`
	LastFailure string    `json:"lastFailure,omitempty"`
}

// pendingActivities reads the running activities from the server; the
// workflow's status query cannot see heartbeats. Errors leave it empty.
func pendingActivities(ctx context.Context, c client.Client, id string) []Activity {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil
	}
	dc := converter.GetDefaultDataConverter()
	var out []Activity
	for _, p := range desc.GetPendingActivities() {
		act := Activity{Type: p.GetActivityType().GetName(), Attempt: p.GetAttempt(), LastFailure: p.GetLastFailure().GetMessage()}
		if hb := p.GetHeartbeatDetails(); hb != nil && len(hb.GetPayloads()) > 0 {
			var v any
			if dc.FromPayload(hb.GetPayloads()[0], &v) == nil {
				act.Heartbeat = v
				act.HeartbeatAt = p.GetLastHeartbeatTime().AsTime()
			}
		}
		out = append(out, act)
	}
	return out
}

func printStatus(w io.Writer, id string, st workflows.Status) {
	fmt.Fprintf(w, "Migration %s (%s): %s → %s\n", st.Migration, id, st.Blue, st.Green)
	fmt.Fprintf(w, "  Phase:    %s\n", st.Phase)
	if st.Progress != "" {
		fmt.Fprintf(w, "  Progress: %s\n", st.Progress)
	}
	fmt.Fprintf(w, "  Traffic:  blue %d%% / green %d%% (step %d of %d)\n", st.Traffic.Blue, st.Traffic.Green, st.Traffic.Step, st.Traffic.TotalSteps)
	for _, g := range st.PendingGates {
		who := "anyone"
		if len(g.Approvers) > 0 {
			who = strings.Join(g.Approvers, ", ")
		}
		fmt.Fprintf(w, "  Waiting:  gate %q for %s, until %s (then %s)\n", g.Gate, who, g.Deadline.UTC().Format(time.RFC3339), g.OnTimeout)
	}
	for _, ap := range st.Approvals {
		fmt.Fprintf(w, "  Gate:     %s %s by %s at %s (%s)%s\n", ap.Gate, decision(ap.Approved), ap.By, ap.At.UTC().Format(time.RFC3339), ap.Via, suffix(ap.Comment))
	}
	if len(st.Findings) > 0 {
		fmt.Fprintf(w, "  Findings: %d\n", len(st.Findings))
		for _, fd := range st.Findings {
			fmt.Fprintf(w, "    [%s] %s %s: %s\n", fd.Severity, fd.Check, fd.Object, fd.Message)
		}
	}
	for _, ig := range st.IgnoredApprovals {
		fmt.Fprintf(w, "  Ignored:  approval signal %s\n", ig)
	}
	if st.Aborted != nil {
		fmt.Fprintf(w, "  Aborted:  by %s: %s\n", st.Aborted.By, st.Aborted.Reason)
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "  Error:    %s\n", st.LastError)
	}
	fmt.Fprintln(w, "  Phases:")
	for _, p := range st.Phases {
		d := p.Duration
		if d == "" {
			d = "running"
		}
		fmt.Fprintf(w, "    %-22s %-10s %s\n", p.Phase, p.Outcome, d)
	}
}

func suffix(c string) string {
	if c == "" {
		return ""
	}
	return ": " + c
}

func (a *App) watch(ctx context.Context, args []string) error {
	f := newFlags("watch", a.Stderr)
	id, c, err := a.connect(f, args, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	interval := a.PollInterval
	if interval == 0 {
		interval = 2 * time.Second
	}
	last := ""
	for {
		st, qerr := a.queryStatus(ctx, c, id)
		if qerr == nil {
			line := st.Phase + " | " + st.Progress + fmt.Sprintf(" | traffic blue %d%% green %d%%", st.Traffic.Blue, st.Traffic.Green)
			for _, g := range st.PendingGates {
				line += fmt.Sprintf(" | waiting for gate %q (cutover approve %s --gate %s --by NAME)", g.Gate, id, g.Gate)
			}
			if line != last {
				if f.json() {
					_ = json.NewEncoder(a.Stdout).Encode(st)
				} else {
					fmt.Fprintf(a.Stdout, "%s  %s\n", time.Now().Format("15:04:05"), line)
				}
				last = line
			}
		}
		desc, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			return fmt.Errorf("describe %s: %w", id, err)
		}
		if s := desc.GetWorkflowExecutionInfo().GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			if !f.json() {
				fmt.Fprintf(a.Stdout, "Migration %s ended: %s\n", id, strings.TrimPrefix(s.String(), "WorkflowExecutionStatus"))
			}
			return a.printResult(ctx, c, id, f.json())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func (a *App) decide(ctx context.Context, args []string, approve bool) error {
	name := "reject"
	if approve {
		name = "approve"
	}
	f := newFlags(name, a.Stderr)
	gate := f.String("gate", "", "gate to decide: cutover, retire or traffic-step-N")
	by := f.String("by", os.Getenv("USER"), "who decides (must be on the gate's approver list)")
	comment := f.String("comment", "", "why")
	id, c, err := a.connect(f, args, func() error {
		if *gate == "" {
			return usageErr("--gate is required")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer c.Close()
	d := workflows.Decision{Gate: *gate, Approve: approve, By: *by, Comment: *comment}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: workflows.UpdateApprove, Args: []any{d}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return a.refused(id, d, err)
	}
	var out workflows.GateOutcome
	if err := h.Get(ctx, &out); err != nil {
		return a.refused(id, d, err)
	}
	if f.json() {
		return a.printJSON(out)
	}
	fmt.Fprintf(a.Stdout, "Gate %q of %s %s by %s.\n", out.Gate, id, decision(out.Approved), out.By)
	return nil
}

// refused explains why the workflow did not take the decision: the update
// validator's message (unknown gate, already decided, not an approver), or
// that the migration is not running.
func (a *App) refused(id string, d workflows.Decision, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return &exitError{code: ExitFailed, msg: fmt.Sprintf("no running migration with workflow ID %q", id)}
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return &exitError{code: ExitFailed, msg: fmt.Sprintf("refused: %s", appErr.Message())}
	}
	return &exitError{code: ExitFailed, msg: fmt.Sprintf("refused: %v", err)}
}

func (a *App) abort(ctx context.Context, args []string) error {
	f := newFlags("abort", a.Stderr)
	by := f.String("by", os.Getenv("USER"), "who aborts")
	reason := f.String("reason", "", "why (shown in the report and chat)")
	id, c, err := a.connect(f, args, func() error {
		if strings.TrimSpace(*reason) == "" {
			return usageErr("--reason is required")
		}
		if strings.TrimSpace(*by) == "" {
			return usageErr("--by is required")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SignalWorkflow(ctx, id, "", workflows.SignalAbort, workflows.Abort{By: *by, Reason: *reason}); err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return &exitError{code: ExitFailed, msg: fmt.Sprintf("no running migration with workflow ID %q", id)}
		}
		return fmt.Errorf("signal abort: %w", err)
	}
	if f.json() {
		return a.printJSON(map[string]string{"workflowId": id, "aborted": "requested"})
	}
	fmt.Fprintf(a.Stdout, "Abort sent to %s; it rolls back from its current phase. Follow it with: cutover watch %s\n", id, id)
	return nil
}

func (a *App) result(ctx context.Context, args []string) error {
	f := newFlags("result", a.Stderr)
	id, c, err := a.connect(f, args, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	return a.printResult(ctx, c, id, f.json())
}

// Report waits for a migration to close and returns its report: the result
// when it succeeded, or the details of its failure, together with the run's
// error (nil on success). The report is nil when the run failed without one
// (e.g. an invalid spec).
func Report(ctx context.Context, c client.Client, id string) (*workflows.MigrationReport, error) {
	var r workflows.MigrationReport
	err := c.GetWorkflow(ctx, id, "").Get(ctx, &r)
	if err == nil {
		return &r, nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.HasDetails() {
		if derr := appErr.Details(&r); derr == nil && r.Migration != "" {
			return &r, err
		}
	}
	return nil, err
}

func (a *App) printResult(ctx context.Context, c client.Client, id string, asJSON bool) error {
	r, runErr := Report(ctx, c, id)
	if r == nil {
		return &exitError{code: ExitFailed, msg: fmt.Sprintf("%s failed without a report: %v", id, runErr)}
	}
	if asJSON {
		if err := a.printJSON(r); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.Stdout, "Outcome: %s\n", r.Outcome)
		if r.Reason != "" {
			fmt.Fprintf(a.Stdout, "Reason:  %s\n", r.Reason)
		}
		for _, p := range r.Phases {
			fmt.Fprintf(a.Stdout, "  %-22s %-8s %s\n", p.Phase, p.Outcome, p.Duration)
		}
		for _, ap := range r.Approvals {
			fmt.Fprintf(a.Stdout, "  gate %s: %s by %s at %s%s\n", ap.Gate, decision(ap.Approved), ap.By, ap.At.UTC().Format(time.RFC3339), suffix(ap.Comment))
		}
		for _, t := range r.TrafficHistory {
			fmt.Fprintf(a.Stdout, "  traffic %s: blue %d%% green %d%% (%s)\n", t.At.UTC().Format(time.RFC3339), t.Blue, t.Green, t.Reason)
		}
		if p := r.Plan; p != nil {
			printPlan(a.Stdout, p)
		}
		for _, fd := range r.Findings {
			fmt.Fprintf(a.Stdout, "  [%s] %s %s: %s\n", fd.Severity, fd.Check, fd.Object, fd.Message)
		}
	}
	if r.Outcome == workflows.OutcomeSucceeded || r.Outcome == workflows.OutcomeDryRun {
		return nil
	}
	return &exitError{code: ExitFailed}
}

func printPlan(w io.Writer, p *workflows.Plan) {
	g := p.Green.Cluster
	fmt.Fprintf(w, "Plan:\n  green %s (%s) at Kubernetes %s, copied from %s\n", g.Name, g.Region, g.Version, p.Green.CopiedFrom)
	fmt.Fprintf(w, "    role %s, subnets %s, security groups %s\n", g.RoleARN, strings.Join(g.VPC.SubnetIDs, ","), strings.Join(g.VPC.SecurityGroupIDs, ","))
	for _, ng := range g.NodeGroups {
		fmt.Fprintf(w, "    node group %s: %s %s, %d-%d (desired %d)\n", ng.Name, strings.Join(ng.InstanceTypes, ","), ng.AMIType, ng.Scaling.Min, ng.Scaling.Max, ng.Scaling.Desired)
	}
	for _, ad := range g.Addons {
		fmt.Fprintf(w, "    add-on %s (version for %s chosen at build time)\n", ad.Name, g.Version)
	}
	for _, r := range p.Restore {
		fmt.Fprintf(w, "  restore: %s\n", r)
	}
	fmt.Fprintf(w, "  traffic steps (green %%): %v; gates: %s; blue afterwards: %s\n", p.TrafficSteps, strings.Join(p.Gates, ", "), p.RetireBlue)
}

func decision(approved bool) string {
	if approved {
		return "approved"
	}
	return "rejected"
}
