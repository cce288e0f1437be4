package eks

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

var route53Guard = &TrafficGuard{Provider: "route53", HostedZoneID: "Z1", RecordName: "app.example.com", SetIdentifier: "blue"}

func seedRetire(f *fakeEKS) {
	f.clusters["blue"] = &ekstypes.Cluster{Name: aws.String("blue"), Status: ekstypes.ClusterStatusActive}
	f.addons["blue/coredns"] = &ekstypes.Addon{AddonName: aws.String("coredns"), Status: ekstypes.AddonStatusActive}
	f.nodegroups["blue/general"] = &ekstypes.Nodegroup{NodegroupName: aws.String("general"), Status: ekstypes.NodegroupStatusActive}
	f.nodegroups["blue/spot"] = &ekstypes.Nodegroup{NodegroupName: aws.String("spot"), Status: ekstypes.NodegroupStatusActive}
	f.fargate["blue/fp-b"] = &ekstypes.FargateProfile{FargateProfileName: aws.String("fp-b")}
	f.fargate["blue/fp-a"] = &ekstypes.FargateProfile{FargateProfileName: aws.String("fp-a")}
}

func TestRetireEKSCluster(t *testing.T) {
	f := newFakeEKS()
	f.deleteAfter = 2 // each resource is DELETING for two describes
	seedRetire(f)
	w := &fakeWeights{weight: 0}
	a := newFakeActivities(f, nil, w)
	env := newActivityEnv(t, a)
	res, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue", Guard: route53Guard})
	if err != nil {
		t.Fatal(err)
	}
	want := RetireResult{
		DeletedAddons: []string{"coredns"}, DeletedNodeGroups: []string{"general", "spot"},
		DeletedFargateProfiles: []string{"fp-a", "fp-b"}, ClusterDeleted: true,
	}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("result = %+v, want %+v", res, want)
	}
	if len(w.asked) != 1 || w.asked[0] != *route53Guard {
		t.Fatalf("guard asked %+v", w.asked)
	}
	// Order: add-ons, node groups (both deleted, then waited gone), Fargate
	// profiles one at a time, then the cluster.
	var order []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, "Delete") {
			order = append(order, c)
		}
	}
	wantOrder := []string{"DeleteAddon:coredns", "DeleteNodegroup:general", "DeleteNodegroup:spot", "DeleteFargateProfile:fp-a", "DeleteFargateProfile:fp-b", "DeleteCluster"}
	if !reflect.DeepEqual(order, wantOrder) {
		t.Fatalf("delete order %v, want %v", order, wantOrder)
	}
	if len(f.nodegroups) != 0 || len(f.clusters) != 0 || len(f.addons) != 0 || len(f.fargate) != 0 {
		t.Fatalf("left behind: %v %v %v %v", f.nodegroups, f.clusters, f.addons, f.fargate)
	}
	if b := env.beats(); len(b) == 0 || b[0].Cluster != "blue" {
		t.Fatalf("heartbeats = %+v", b)
	}
}

func TestRetireEKSClusterGuardRefuses(t *testing.T) {
	tests := []struct {
		name         string
		weights      WeightReader
		typ          string
		nonRetryable bool
		wantMsg      string
	}{
		{"weight above zero", &fakeWeights{weight: 10}, failures.StillServingTraffic, true,
			"refusing to delete cluster eu-west-1/blue: it still receives traffic (route53 Z1 record app.example.com set blue has weight 10)"},
		// A reading that cannot be taken is not a reading of traffic on blue.
		{"weight unreadable, throttled", &fakeWeights{err: failures.New(failures.Throttled, "route53: Throttling")}, failures.Throttled, false,
			"not deleting cluster eu-west-1/blue yet: cannot read its traffic weight (route53 Z1 record app.example.com set blue): route53: Throttling"},
		{"weight unreadable, 5xx", &fakeWeights{err: failures.New(failures.Transient, "route53: HTTP 503")}, failures.Transient, false,
			"cannot read its traffic weight"},
		{"weight unreadable, access denied", &fakeWeights{err: failures.New(failures.AccessDenied, "route53: AccessDenied")}, failures.AccessDenied, true,
			"cannot read its traffic weight (route53 Z1 record app.example.com set blue): route53: AccessDenied"},
		{"no weight reader", nil, failures.NotImplemented, true, "no weight reader configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEKS()
			seedRetire(f)
			a := newFakeActivities(f, nil, tt.weights, WithGuardReadBudget(50*time.Millisecond))
			env := newActivityEnv(t, a)
			_, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue", Guard: route53Guard})
			wantErrType(t, err, tt.typ, tt.nonRetryable)
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q lacks %q", err.Error(), tt.wantMsg)
			}
			if len(f.calls) != 0 {
				t.Fatalf("EKS must not be touched when the guard refuses: %v", f.calls)
			}
		})
	}
}

// TestRetireEKSClusterGuardRidesOutABurst: a short burst of throttled and
// 5xx weight reads is retried within the attempt; the retire then goes on.
func TestRetireEKSClusterGuardRidesOutABurst(t *testing.T) {
	f := newFakeEKS()
	seedRetire(f)
	w := &fakeWeights{weight: 0, burst: []error{
		failures.New(failures.Throttled, "route53: Throttling"),
		failures.New(failures.Transient, "route53: HTTP 503"),
		errors.New("read tcp: connection reset by peer"),
	}}
	a := newFakeActivities(f, nil, w, WithGuardReadBudget(5*time.Second))
	env := newActivityEnv(t, a)
	res, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue", Guard: route53Guard})
	if err != nil {
		t.Fatalf("a burst of unreadable weights must not fail the retire: %v", err)
	}
	if !res.ClusterDeleted || len(w.asked) != 4 {
		t.Fatalf("result %+v after %d reads, want deleted after 4", res, len(w.asked))
	}
}

// TestRetireEKSClusterGuardDefinitiveFailsOnce: a definitive read failure
// is not retried within the attempt.
func TestRetireEKSClusterGuardDefinitiveFailsOnce(t *testing.T) {
	f := newFakeEKS()
	seedRetire(f)
	w := &fakeWeights{err: failures.New(failures.NotFound, "no such hosted zone Z1")}
	a := newFakeActivities(f, nil, w, WithGuardReadBudget(5*time.Second))
	env := newActivityEnv(t, a)
	_, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue", Guard: route53Guard})
	wantErrType(t, err, failures.NotFound, true)
	if len(w.asked) != 1 {
		t.Fatalf("a definitive failure was read %d times, want once", len(w.asked))
	}
}

func TestRetireEKSClusterWithoutGuard(t *testing.T) {
	f := newFakeEKS()
	seedRetire(f)
	a := newFakeActivities(f, nil, nil) // no reader needed without a guard
	env := newActivityEnv(t, a)
	res, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "green"})
	if err != nil || !res.ClusterDeleted {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestRetireEKSClusterAlreadyGone(t *testing.T) {
	a := newFakeActivities(newFakeEKS(), nil, &fakeWeights{})
	env := newActivityEnv(t, a)
	res, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue", Guard: route53Guard})
	if err != nil {
		t.Fatal(err)
	}
	if !res.AlreadyGone || res.ClusterDeleted {
		t.Fatalf("result = %+v", res)
	}
}

func TestRetireEKSClusterResumesAfterRetry(t *testing.T) {
	f := newFakeEKS()
	// An earlier attempt deleted the node groups and started deleting the
	// cluster; it is gone now.
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	env.SetHeartbeatDetails(Progress{Step: StepRetireCluster, Cluster: "blue", Done: []string{"nodegroup/general"}, Pending: []string{"cluster"}, Polls: 12})
	res, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	if want := (RetireResult{DeletedNodeGroups: []string{"general"}, ClusterDeleted: true}); !reflect.DeepEqual(res, want) {
		t.Fatalf("result = %+v, want %+v", res, want)
	}
}

func TestRetireEKSClusterNodeGroupDeleteFailed(t *testing.T) {
	f := newFakeEKS()
	seedRetire(f)
	f.nodegroups["blue/general"].Health = &ekstypes.NodegroupHealth{Issues: []ekstypes.Issue{{Code: "Ec2SecurityGroupDeletionFailure", Message: aws.String("sg-1 has a dependent object")}}}
	f.deleteFails = map[string]bool{"nodegroup/blue/general": true}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue"})
	wantErrType(t, err, ResourceFailed, true)
	if !strings.Contains(err.Error(), "node group general of cluster eu-west-1/blue is DELETE_FAILED: Ec2SecurityGroupDeletionFailure: sg-1 has a dependent object") {
		t.Fatalf("error = %v", err)
	}
	if len(f.opCalls("DeleteCluster")) != 0 {
		t.Fatal("the cluster must not be deleted when a node group failed to delete")
	}
}

func TestRetireEKSClusterBusyNodeGroupIsRetryable(t *testing.T) {
	f := newFakeEKS()
	seedRetire(f)
	f.nodegroups["blue/general"].Status = ekstypes.NodegroupStatusUpdating
	f.errs["DeleteNodegroup:general"] = []error{inUse("node group general is updating")}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue"})
	wantErrType(t, err, failures.ResourceInUse, false)
	if !strings.Contains(err.Error(), "status UPDATING") {
		t.Fatalf("error = %v", err)
	}
}

func TestRetireEKSClusterDeletionProtection(t *testing.T) {
	f := newFakeEKS()
	seedRetire(f)
	f.clusters["blue"].DeletionProtection = aws.Bool(true)
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue"})
	wantErrType(t, err, failures.Conflict, true)
	if !strings.Contains(err.Error(), "deletion protection") || len(f.opCalls("Delete")) != 0 {
		t.Fatalf("error %v, deletes %v", err, f.opCalls("Delete"))
	}
}

func TestRetireEKSClusterBusyAddonIsRetryable(t *testing.T) {
	f := newFakeEKS()
	seedRetire(f)
	f.addons["blue/coredns"].Status = ekstypes.AddonStatusUpdating
	f.errs["DeleteAddon:coredns"] = []error{inUse("add-on coredns is updating")}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "blue"})
	wantErrType(t, err, failures.ResourceInUse, false)
	if len(f.opCalls("DeleteNodegroup")) != 0 {
		t.Fatal("node groups must wait for the add-ons")
	}
}

func TestRetireEKSClusterRefusesAClusterItDidNotBuild(t *testing.T) {
	f := newFakeEKS()
	seedRetire(f)
	f.clusters["blue"].Tags = map[string]string{TagMigration: "someone-else"}
	a := newFakeActivities(f, nil, nil)
	env := newActivityEnv(t, a)
	_, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "green", OwnedBy: "shop-1-31"})
	wantErrType(t, err, failures.Conflict, true)
	if !strings.Contains(err.Error(), `not owned by migration "shop-1-31"`) || len(f.opCalls("Delete")) != 0 {
		t.Fatalf("error %v, deletes %v", err, f.opCalls("Delete"))
	}
	f.clusters["blue"].Tags[TagMigration] = "shop-1-31"
	if _, err := run[RetireResult](t, env, a.RetireEKSCluster, RetireInput{Cluster: clusters.Ref{Name: "blue", Region: "eu-west-1"}, Role: "green", OwnedBy: "shop-1-31"}); err != nil {
		t.Fatalf("owned cluster: %v", err)
	}
}
