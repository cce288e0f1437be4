package workflows_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/fakeworld"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// TestRetireLoadBalancersFailureIsReported: blue's load balancers that
// cannot be retired (here ELBv2 refuses) do not stop blue's deletion,
// which had started (traffic is on green); the report says so with an
// error and a warning finding.
func TestRetireLoadBalancersFailureIsReported(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	h.world.Errors = map[string]error{"RetireLoadBalancers": failures.New(failures.AccessDenied, "describe load balancers in eu-west-1: AccessDenied")}
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	names := h.world.Names()
	lb, del := slices.Index(names, "RetireLoadBalancers"), slices.Index(names, "RetireEKSCluster")
	if r.Outcome != workflows.OutcomeSucceeded || lb < 0 || del < lb {
		t.Fatalf("outcome %s, calls %v; want blue retired after the failed load balancer retire", r.Outcome, names)
	}
	if !slices.ContainsFunc(r.Errors, func(e string) bool {
		return strings.Contains(e, "retire blue's load balancers") && strings.Contains(e, "AccessDenied")
	}) {
		t.Errorf("report errors %q; want the load balancer retire's", r.Errors)
	}
	if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool {
		return f.Check == workflows.CheckRetireLoadBalancersFailed && f.Severity == finding.Warning && f.Cluster == "blue"
	}) {
		t.Errorf("findings %+v; want %s", r.Findings, workflows.CheckRetireLoadBalancersFailed)
	}
}

// TestRetireReportListsDeletedAndKept: the report's retire section lists
// blue's add-ons, node groups and cluster, its load-balanced Service with
// its load balancer, its control-plane log group, the IRSA trust and OIDC
// provider RetireBlueIRSATrust removed, and what cutover keeps; an info
// finding carries each list. With retire.blue keep, blue is listed kept.
func TestRetireReportListsDeletedAndKept(t *testing.T) {
	h := newHarness(t)
	approveAll(h)
	r, err := h.run(testSpec())
	if err != nil {
		t.Fatalf("workflow failed: %v", err)
	}
	if r.Retire == nil {
		t.Fatal("no retire section in the report")
	}
	has := func(list []string, parts ...string) bool {
		return slices.ContainsFunc(list, func(e string) bool {
			for _, p := range parts {
				if !strings.Contains(e, p) {
					return false
				}
			}
			return true
		})
	}
	for _, want := range [][]string{
		{"EKS cluster blue"},
		{"Service shop/web-public", "load balancer k8s-shop-webpubli-fedcba9876", "loadbalancer/net/"},
		{"CloudWatch log group /aws/eks/blue/cluster"},
		{"IAM OIDC provider arn:aws:iam::"},
		{"trust statements for blue's OIDC issuer in IAM role shop-orders"},
	} {
		if !has(r.Retire.Deleted, want...) {
			t.Errorf("deleted %q: no entry with %q", r.Retire.Deleted, want)
		}
	}
	if !has(r.Retire.Kept, "EBS volume "+fakeworld.BlueRetainedVolumeID, fakeworld.BlueRetainedPV, fakeworld.BlueRetainedClaim, "retire.volumes is keep") || !has(r.Retire.Kept, "security groups") {
		t.Errorf("kept %q: want blue's retained volume (retire.volumes keep) and security groups", r.Retire.Kept)
	}
	if !has(r.Retire.Kept, "Route53 weighted record shop.example.com CNAME (set identifier blue)", "weight 0", "kept on purpose") {
		t.Errorf("kept %q: want blue's weighted record, kept at weight 0", r.Retire.Kept)
	}
	if has(r.Retire.Kept, "EBS volumes of blue's PersistentVolumes") {
		t.Errorf("kept %q: the volumes were listed, the generic line is for histories that did not list them", r.Retire.Kept)
	}
	for _, check := range []string{workflows.CheckRetireDeleted, workflows.CheckRetireKept} {
		if !slices.ContainsFunc(r.Findings, func(f finding.Finding) bool {
			return f.Check == check && f.Severity == finding.Info && len(f.Objects) > 0
		}) {
			t.Errorf("no info finding %s listing its objects", check)
		}
	}

	del := newHarness(t)
	approveAll(del)
	s := testSpec()
	s.Retire.Volumes = spec.VolumesDelete
	r, err = del.run(s)
	if err != nil {
		t.Fatalf("volumes delete: %v", err)
	}
	names := del.world.Names()
	if list, cluster, vols := slices.Index(names, "RetainedVolumes"), slices.Index(names, "RetireEKSCluster"), slices.Index(names, "RetireRetainedVolumes"); list < 0 || list > cluster || vols < cluster {
		t.Errorf("calls %v: want the volumes listed before blue's deletion and retired after it", names)
	}
	if r.Retire == nil || !has(r.Retire.Deleted, "EBS volume "+fakeworld.BlueRetainedVolumeID, fakeworld.BlueRetainedPV) || has(r.Retire.Kept, fakeworld.BlueRetainedVolumeID) {
		t.Errorf("volumes delete: retire %+v; want blue's retained volume deleted", r.Retire)
	}

	keep := newHarness(t)
	approveAll(keep)
	s = testSpec()
	s.Retire.Blue = "keep"
	r, err = keep.run(s)
	if err != nil {
		t.Fatalf("keep: %v", err)
	}
	if r.Retire == nil || len(r.Retire.Deleted) != 0 || !has(r.Retire.Kept, "EKS cluster blue", "retire.blue = keep") || slices.Contains(keep.world.Names(), "RetireLoadBalancers") {
		t.Errorf("keep: retire %+v, calls %v; want blue kept and nothing retired", r.Retire, keep.world.Names())
	}
}
