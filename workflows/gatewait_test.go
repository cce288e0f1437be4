package workflows_test

import (
	"slices"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/internal/failures"
	"strings"
	"testing"
	"time"

	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// TestRetireGateKeepsWaitingPastItsTimeout: nobody answers the retire gate
// (default onTimeout "wait"): past its 24 h timeout the migration keeps
// waiting with all traffic on green, reminding, and never rolls back; a
// late approval retires blue.
func TestRetireGateKeepsWaitingPastItsTimeout(t *testing.T) {
	h := newHarness(t)
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "bob"})
	var at30h workflows.Status
	h.env.RegisterDelayedCallback(func() {
		v, err := h.env.QueryWorkflow(workflows.QueryStatus)
		if err != nil || v.Get(&at30h) != nil {
			t.Errorf("status query: %v", err)
			return
		}
		h.env.SignalWorkflow(workflows.SignalApproval, workflows.Decision{Gate: "retire", Approve: true, By: "alice", Comment: "late"})
	}, 30*time.Hour)
	s := testSpec()
	s.Approvals.Retire.OnTimeout = "" // the default
	r, err := h.run(s)
	if err != nil {
		t.Fatalf("the migration should finish after the late approval: %v", err)
	}
	if len(at30h.PendingGates) != 1 || at30h.PendingGates[0].Gate != "retire" || at30h.PendingGates[0].OnTimeout != spec.OnTimeoutWait {
		t.Fatalf("at 30 h: pending %+v, want the retire gate still waiting", at30h.PendingGates)
	}
	if !strings.Contains(at30h.Progress, "keeps waiting") {
		t.Errorf("progress at 30 h %q", at30h.Progress)
	}
	if got := h.world.Weights(); got.Green != 100 {
		t.Errorf("weights %+v, want all traffic on green", got)
	}
	var rec *workflows.ApprovalRecord
	for i := range r.Approvals {
		if r.Approvals[i].Gate == "retire" {
			rec = &r.Approvals[i]
		}
	}
	if rec == nil || rec.By != "alice" || !rec.Approved {
		t.Errorf("retire approval %+v, want alice's late approval", rec)
	}
	var overdue int
	for _, in := range h.world.Inputs("Notify") {
		m := in.(notify.Message)
		if m.Kind == notify.KindReminder && m.Gate == "retire" && strings.Contains(m.Text, "keeps waiting, traffic stays") {
			overdue++
		}
	}
	if overdue == 0 {
		t.Error("no reminder said the retire gate passed its timeout and keeps waiting")
	}
}

// TestAlarmWhileRetireGateWaitsRollsBack: all traffic is on green and the
// retire gate waits; an alarm raised then is seen by the gate's watch and
// rolls traffic back to blue, without anyone deciding the gate.
func TestAlarmWhileRetireGateWaitsRollsBack(t *testing.T) {
	h := newHarness(t)
	h.world.SetUnhealthyWhile(`while gate "retire"`)
	h.decideWhenOpen(workflows.Decision{Gate: "cutover", Approve: true, By: "bob"})
	_, err := h.run(testSpec())
	typ, r := failureReport(t, err)
	if typ != failures.RolledBack {
		t.Fatalf("type %q (%v): want a rollback", typ, err)
	}
	if !strings.Contains(r.Reason, `while gate "retire" waits`) || !strings.Contains(r.Reason, "in ALARM") {
		t.Errorf("reason %q", r.Reason)
	}
	if got := h.world.Weights(); got.Blue != 100 {
		t.Errorf("traffic not back on blue: %+v", got)
	}
	var rec *workflows.ApprovalRecord
	for i := range r.Approvals {
		if r.Approvals[i].Gate == "retire" {
			rec = &r.Approvals[i]
		}
	}
	if rec == nil || rec.Approved || rec.Via != "watch" {
		t.Errorf("retire gate record %+v: want it closed by the watch", rec)
	}
	for _, in := range h.world.Inputs("RetireEKSCluster") {
		if in.(eks.RetireInput).Role == "blue" {
			t.Error("blue was retired")
		}
	}
}

// TestPlainRecordConvertedAndBack: blue's simple record becomes the
// weighted pair before the first step; with afterMigration "simple" it is
// a simple record at green once blue is retired, and at blue again on a
// rollback; with the default it stays weighted.
func TestPlainRecordConvertedAndBack(t *testing.T) {
	for _, c := range []struct {
		name     string
		after    string
		alarm    bool
		wantAt   string
		wantCall bool
	}{
		{"kept weighted", "", false, "", false},
		{"simple at green", spec.AfterMigrationSimple, false, "green", true},
		{"simple at blue on rollback", spec.AfterMigrationSimple, true, "blue", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.world.SetPlainRecord()
			if c.alarm {
				h.world.UnhealthyAtGreen = 50
			}
			approveAll(h)
			s := testSpec()
			s.Traffic.Route53.AfterMigration = c.after
			r, err := h.run(s)
			if c.alarm {
				if typ, _ := failureReport(t, err); typ != failures.RolledBack {
					t.Fatalf("type %q (%v)", typ, err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			names := h.world.Names()
			conv := slices.Index(names, "ConvertToWeighted")
			if conv < 0 || conv > slices.Index(names, "SetTrafficWeights") {
				t.Fatalf("calls %v: want the conversion before the first step", names)
			}
			if got := h.world.PlainRecordAt(); got != c.wantAt {
				t.Errorf("the record is simple at %q, want %q", got, c.wantAt)
			}
			if slices.Contains(names, "ConvertToSimple") != c.wantCall {
				t.Errorf("calls %v: ConvertToSimple called %v, want %v", names, !c.wantCall, c.wantCall)
			}
			if !c.alarm {
				// The retire section says what became of blue's record.
				list, want := r.Retire.Kept, "kept on purpose"
				if c.wantAt == "green" {
					list, want = r.Retire.Deleted, "one simple record at green again"
				}
				if !slices.ContainsFunc(list, func(e string) bool {
					return strings.Contains(e, "Route53 weighted record "+s.Traffic.Route53.RecordName) && strings.Contains(e, "set identifier blue") && strings.Contains(e, want)
				}) {
					t.Errorf("retire deleted %q, kept %q: want blue's record with %q", r.Retire.Deleted, r.Retire.Kept, want)
				}
			}
			if c.wantAt == "blue" {
				in := h.world.Inputs("ConvertToSimple")[0].(traffic.ToSimpleInput)
				if in.Original == nil || in.Original.TTL != 300 {
					t.Errorf("rollback input %+v: want blue's record as it was", in)
				}
			}
		})
	}
	// Preflight is told the record will be converted (not a blocking finding).
	h := newHarness(t)
	s := testSpec()
	s.DryRun = true
	if _, err := h.run(s); err != nil {
		t.Fatal(err)
	}
	in := h.world.Inputs("CheckTrafficPrerequisites")
	if len(in) != 1 || !in[0].(traffic.CheckInput).ConvertPlain {
		t.Errorf("CheckTrafficPrerequisites inputs %+v: want ConvertPlain", in)
	}
}
