package kube

import (
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/cutover-dev/cutover/internal/finding"
)

// TestPreflightResumesFromItsCheckpoint: every heartbeat of a scan carries
// what is done; an attempt given an earlier attempt's heartbeat skips the
// steps (and last-applied resources) it names and keeps their findings,
// instead of scanning blue again from the start.
func TestPreflightResumesFromItsCheckpoint(t *testing.T) {
	blue := startCluster(t, "blue")
	blue.namespace(t, "shop")
	blue.node(t, "ip-10-0-1-1", "v1.31.14-eks-1234", true)
	blue.configMapApplied(t, "shop", "flow", "flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema")
	in := PreflightInput{Cluster: blue.ref, CurrentVersion: "1.31", TargetVersion: "1.32"}

	var s testsuite.WorkflowTestSuite
	var mu sync.Mutex
	var beats []Progress
	env := s.NewTestActivityEnvironment()
	a := blue.activities(WithPageSize(2), func(o *options) {
		o.onBeat = func(p Progress) {
			mu.Lock()
			beats = append(beats, p)
			mu.Unlock()
		}
	})
	env.RegisterActivity(a)
	v, err := env.ExecuteActivity(a.PreflightBlue, in)
	if err != nil {
		t.Fatal(err)
	}
	var first PreflightResult
	if err := v.Get(&first); err != nil {
		t.Fatal(err)
	}
	if len(findingsOf(first.Findings, CheckRemovedAPI)) != 1 {
		t.Fatalf("first attempt: %+v", first.Findings)
	}

	// The last heartbeat of the helm-releases step: nodes, pods, budgets,
	// the metric and last-applied are done, with the FlowSchema's finding.
	mu.Lock()
	var at *Progress
	for i := range beats {
		if beats[i].Step == "helm-releases" {
			at = &beats[i]
		}
		if beats[i].Step == "last-applied" && beats[i].Checkpoint == nil {
			t.Errorf("a last-applied heartbeat without the checkpoint of the steps before: %+v", beats[i])
		}
	}
	mu.Unlock()
	if at == nil || at.Checkpoint == nil || at.Checkpoint.Done < 5 || at.Checkpoint.Scanned == 0 ||
		len(findingsOf(at.Checkpoint.Findings, CheckRemovedAPI)) != 1 {
		t.Fatalf("helm-releases heartbeat %+v", at)
	}

	// Blue changes after the checkpoint: a NotReady node and another
	// removed API in last-applied. The resumed attempt does not see them
	// (those steps are done) and keeps the first attempt's findings.
	blue.node(t, "ip-10-0-1-9", "v1.31.14-eks-1234", false)
	blue.configMapApplied(t, "shop", "psp", "extensions/v1beta1", "PodSecurityPolicy")
	env2 := s.NewTestActivityEnvironment()
	env2.RegisterActivity(a)
	env2.SetHeartbeatDetails(*at)
	v, err = env2.ExecuteActivity(a.PreflightBlue, in)
	if err != nil {
		t.Fatal(err)
	}
	var resumed PreflightResult
	if err := v.Get(&resumed); err != nil {
		t.Fatal(err)
	}
	if fs := findingsOf(resumed.Findings, CheckRemovedAPI); len(fs) != 1 || !strings.Contains(fs[0].Object, "shop/flow") {
		t.Errorf("resumed: removed-api findings %+v, want only the first attempt's", fs)
	}
	if fs := findingsOf(resumed.Findings, CheckNodeNotReady); len(fs) != 0 {
		t.Errorf("resumed attempt scanned nodes again: %+v", fs)
	}
	if resumed.ObjectsScanned < at.Checkpoint.Scanned {
		t.Errorf("resumed scanned %d objects, the checkpoint had %d", resumed.ObjectsScanned, at.Checkpoint.Scanned)
	}

	// Resuming inside last-applied: the resources up to the checkpoint's
	// are skipped, the rest scanned (ConfigMaps sort after what is done
	// when the checkpoint names apps/v1 resources).
	cp := &PreflightCheckpoint{Done: 4, Scanned: 10, Resource: "apps/v1, Resource=statefulsets",
		Findings: []finding.Finding{{Check: "earlier", Severity: finding.Info, Message: "from the attempt before"}}}
	env3 := s.NewTestActivityEnvironment()
	env3.RegisterActivity(a)
	env3.SetHeartbeatDetails(Progress{Step: "last-applied", Checkpoint: cp})
	v, err = env3.ExecuteActivity(a.PreflightBlue, in)
	if err != nil {
		t.Fatal(err)
	}
	var mid PreflightResult
	if err := v.Get(&mid); err != nil {
		t.Fatal(err)
	}
	if len(findingsOf(mid.Findings, "earlier")) != 1 {
		t.Errorf("the checkpoint's findings are lost: %+v", mid.Findings)
	}
	// ConfigMaps are the core group ("/v1, Resource=configmaps" sorts
	// before "apps/..."), so they were done: neither ConfigMap is reported.
	if fs := findingsOf(mid.Findings, CheckRemovedAPI); len(fs) != 0 {
		t.Errorf("resources before the checkpoint scanned again: %+v", fs)
	}
	if fs := findingsOf(mid.Findings, CheckNodeNotReady); len(fs) != 0 {
		t.Errorf("steps before the checkpoint ran again: %+v", fs)
	}
}

// TestCollectorRestoresSummaries: a checkpoint's summary keeps its objects
// and count when restored.
func TestCollectorRestoresSummaries(t *testing.T) {
	c := newCollector("blue", 2)
	for _, o := range []string{"a", "b", "c", "d"} {
		c.add(finding.Finding{Check: "x", Object: o, Severity: finding.Warning, Message: "m"})
	}
	r := newCollector("blue", 2)
	r.restore(c.findings())
	r.add(finding.Finding{Check: "x", Object: "e", Severity: finding.Warning, Message: "m"})
	fs := r.findings()
	if len(fs) != 3 || !strings.HasPrefix(fs[2].Message, "3 more") || strings.Join(fs[2].Objects, ",") != "c,d,e" {
		t.Fatalf("restored: %+v", fs)
	}
}
