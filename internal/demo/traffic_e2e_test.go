package demo_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// TestTrafficEdgesAgainstRealServers: the hard traffic cases of a real
// estate, with real activities against moto and real apiservers:
//   - blue's record is a plain (simple) CNAME: it becomes the weighted
//     pair before the first step and, with afterMigration "simple", a
//     simple record again at the end, pointing at green;
//   - the spec names green's Ingress (greenTargetFrom), not its DNS name:
//     green's record points at the ALB the load balancer controller gave
//     the restored Ingress;
//   - the retire gate is left past its timeout: traffic stays on green
//     and the gate keeps waiting until someone approves it.
func TestTrafficEdgesAgainstRealServers(t *testing.T) {
	// Each brings up its own sandbox; they wait more than they compute.
	t.Parallel()
	e := startE2E(t, demo.Options{})
	ctx, sb := e.ctx, e.d.Sandbox
	cfg, _ := sb.Moto.AWS().ForRegion(ctx, "us-east-1")
	r53 := route53.NewFromConfig(cfg)
	zone, name := sb.Seed.HostedZoneID, sb.Seed.RecordName
	records := func() []r53types.ResourceRecordSet {
		t.Helper()
		return recordSets(ctx, t, r53, zone, name)
	}
	// Blue's record made plain, as many estates have it.
	var changes []r53types.Change
	for _, rr := range records() {
		changes = append(changes, r53types.Change{Action: r53types.ChangeActionDelete, ResourceRecordSet: &rr})
	}
	changes = append(changes, r53types.Change{Action: r53types.ChangeActionCreate, ResourceRecordSet: &r53types.ResourceRecordSet{
		Name: aws.String(name), Type: r53types.RRTypeCname, TTL: aws.Int64(300), ResourceRecords: []r53types.ResourceRecord{{Value: aws.String(sandbox.BlueTarget)}}}})
	if _, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(zone), ChangeBatch: &r53types.ChangeBatch{Changes: changes}}); err != nil {
		t.Fatal(err)
	}

	s := e.d.Spec
	s.Traffic.Route53.GreenTarget = ""
	s.Traffic.Route53.GreenTargetFrom = &spec.EntryPointSpec{Kind: spec.EntryPointIngress, Namespace: "shop", Name: sandbox.EntryPointIngress}
	s.Traffic.Route53.AfterMigration = spec.AfterMigrationSimple
	s.Approvals.Retire.Timeout = spec.Duration(3 * time.Second)
	s.Approvals.Retire.OnTimeout = "" // the retire gate's default: keep waiting
	path := filepath.Join(t.TempDir(), "edges.json")
	b, _ := json.Marshal(s)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, o := e.cutover("start", "-f", path); code != 0 {
		t.Fatalf("start: %s", o)
	}
	id := s.WorkflowID()
	e.approveWhenOpen(id, "cutover")
	e.waitGate(id, "retire")

	// Green's restored Ingress got its own ALB (and its Service its own
	// NLB); green's record points at the ALB.
	cs, err := sb.Green.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	ing, err := cs.NetworkingV1().Ingresses("shop").Get(ctx, sandbox.EntryPointIngress, metav1.GetOptions{})
	if err != nil || len(ing.Status.LoadBalancer.Ingress) != 1 {
		t.Fatalf("green's entry point: %v %+v", err, ing)
	}
	greenLB := ing.Status.LoadBalancer.Ingress[0].Hostname
	if greenLB == "" || greenLB == sandbox.BlueTarget || greenLB == sandbox.GreenTarget {
		t.Fatalf("green's load balancer %q: want one of its own", greenLB)
	}
	svc, err := cs.CoreV1().Services("shop").Get(ctx, sandbox.EntryPointService, metav1.GetOptions{})
	if err != nil || len(svc.Status.LoadBalancer.Ingress) != 1 || svc.Status.LoadBalancer.Ingress[0].Hostname == greenLB || svc.Status.LoadBalancer.Ingress[0].Hostname == sandbox.BluePartnerTarget {
		t.Errorf("green's Service %s: %v %+v; want an NLB of its own", sandbox.EntryPointService, err, svc.Status)
	}
	weighted := func(when string) {
		t.Helper()
		got := map[string]string{}
		for _, rr := range records() {
			if rr.Weight == nil || len(rr.ResourceRecords) != 1 {
				t.Fatalf("%s: record %+v is not a weighted CNAME", when, rr)
			}
			got[aws.ToString(rr.SetIdentifier)] = fmt.Sprintf("%s=%d", aws.ToString(rr.ResourceRecords[0].Value), *rr.Weight)
		}
		if len(got) != 2 || got["blue"] != sandbox.BlueTarget+"=0" || got["green"] != greenLB+"=100" {
			t.Fatalf("%s: records %v; want blue %s at 0 and green %s at 100", when, got, sandbox.BlueTarget, greenLB)
		}
	}
	weighted("while the retire gate waits")

	// Past the retire gate's timeout: nothing rolls back, the gate waits on.
	deadline := time.Now().Add(time.Minute)
	for {
		st := e.status(id)
		if strings.Contains(st.Progress, "passed its timeout") {
			if st.Traffic.Green != 100 || !slices.ContainsFunc(st.PendingGates, func(p workflows.PendingGate) bool { return p.Gate == "retire" }) {
				t.Fatalf("past the retire timeout: traffic %+v, pending %v, phase %s", st.Traffic, st.PendingGates, st.Phase)
			}
			break
		}
		if st.Phase == workflows.PhaseRollingBack || st.Phase == workflows.PhaseFailed || time.Now().After(deadline) {
			t.Fatalf("the retire gate's timeout: phase %s, progress %q, error %q", st.Phase, st.Progress, st.LastError)
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	weighted("after the retire gate's timeout")

	e.approveWhenOpen(id, "retire")
	if code, o := e.cutover("watch", id); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, o)
	}
	_, o := e.cutover("result", id, "-o", "json")
	var rep workflows.MigrationReport
	if err := json.Unmarshal([]byte(o), &rep); err != nil || rep.Outcome != workflows.OutcomeSucceeded {
		t.Fatalf("report %v: %s", err, o)
	}
	if rep.GreenTarget == nil || rep.GreenTarget.Hostname != greenLB || rep.GreenTarget.LoadBalancer == nil || rep.GreenTarget.LoadBalancer.CanonicalHostedZoneID == "" || rep.GreenTarget.LoadBalancer.Type != "application" {
		t.Errorf("report's green target %+v: want %s found in ELBv2", rep.GreenTarget, greenLB)
	}
	for _, e := range rep.Errors {
		if strings.Contains(e, "could not compare what Argo CD tracks on blue") {
			t.Errorf("report error: %s", e)
		}
	}
	t.Logf("Argo CD resources only on blue: %+v", rep.OnlyOnBlue)
	// A simple record again, at green, with the TTL it had.
	final := records()
	if len(final) != 1 || final[0].SetIdentifier != nil || final[0].Weight != nil || len(final[0].ResourceRecords) != 1 ||
		aws.ToString(final[0].ResourceRecords[0].Value) != greenLB || aws.ToInt64(final[0].TTL) != 300 {
		t.Fatalf("after the migration: %+v; want one simple CNAME to %s with TTL 300", final, greenLB)
	}
	// No blue record left, and the report's retire section says so.
	if rep.Retire == nil || !slices.ContainsFunc(rep.Retire.Deleted, func(d string) bool {
		return strings.Contains(d, "Route53 weighted record "+name) && strings.Contains(d, "set identifier blue") && strings.Contains(d, "one simple record at green again")
	}) {
		t.Errorf("report's retire section %+v: want blue's weighted record listed deleted", rep.Retire)
	}
}
