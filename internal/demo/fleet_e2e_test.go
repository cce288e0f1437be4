package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/workflows"
)

// The fleet of TestFleetScheduleTwoQuarters: the seeded blue estate is
// logical cluster shop-prod (its original EKS cluster is "blue"), and a
// second, smaller member is api-prod (original EKS cluster "api-prod").
const (
	fleetShop         = "shop-prod"
	fleetAPI          = "api-prod"
	fleetAPINamespace = "api"
	fleetAPIHost      = "api." + sandbox.ZoneName
)

var (
	fleetVersions = []string{"1.30", "1.31"}
	// shopNamespaces are the seeded blue's application namespaces, which
	// shop-prod's member restores (Velero) and checks (smoke, parity);
	// Argo CD's own namespace moves with Argo CD.
	shopNamespaces = []string{"shop", "payments", "monitoring"}
)

// TestFleetScheduleTwoQuarters is issue 13's acceptance test: a Temporal
// Schedule created as `cutover schedule create` creates it runs
// FleetUpgrade on a two-member fleet, with the real worker and activities
// against moto and real apiservers. The schedule is triggered twice, the
// second time after the first run completed: the first run moves both
// members from 1.29 to 1.30, the second moves the clusters the first one
// built from 1.30 to 1.31, found through their logical names (the fleet
// file is the same and names no physical cluster of a later quarter). Both
// runs must complete, and moto must hold exactly the 1.31 generation of
// each logical cluster, tagged with it, with the members' records pointing
// at the load balancers of the 1.31 clusters' Ingresses.
func TestFleetScheduleTwoQuarters(t *testing.T) {
	// Each brings up its own sandbox; they wait more than they compute.
	t.Parallel()
	started := time.Now()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	gens := func(logical string) []string {
		var out []string
		for _, v := range fleetVersions {
			out = append(out, workflows.GreenName(logical, v))
		}
		return out
	}
	d, err := demo.StartFleet(ctx, demo.FleetOptions{Dir: t.TempDir(), Logger: quiet, Sandbox: sandbox.FleetOptions{Versions: fleetVersions,
		BlueLogical: fleetShop, BlueGenerations: gens(fleetShop),
		Members:     []sandbox.MemberSpec{{Logical: fleetAPI, RecordName: fleetAPIHost, Namespace: fleetAPINamespace, VPCCIDR: "10.1.0.0/16"}},
		Generations: [][]string{gens(fleetAPI)},
	}})
	if err != nil {
		t.Fatalf("fleet demo start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	fl := d.Sandbox
	t.Logf("Fleet sandbox up in %s", time.Since(started).Round(time.Millisecond))
	cfg, _ := fl.Moto.AWS().ForRegion(ctx, fl.Seed.Region)
	r53, eksc := route53.NewFromConfig(cfg), awseks.NewFromConfig(cfg)
	shop, api := fl.Members[0], fl.Members[1]

	// api-prod's record is simple and stays simple (afterMigration
	// "simple"); shop-prod's is the seeded weighted pair and stays a pair
	// (the default): after a quarter it is all on green's record, naming
	// today's blue, and the next quarter first swaps it so that blue's
	// record names what serves (ConvertToWeighted), then moves traffic
	// from there.
	issuerBefore := clusterIssuer(ctx, t, eksc, sandbox.BlueCluster)

	fleetFile := filepath.Join(t.TempDir(), "fleet.json")
	if err := os.WriteFile(fleetFile, []byte(fleetJSON(fl)), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (int, string) {
		// A new App per call: the approver goroutine runs commands too.
		var o, e bytes.Buffer
		app := &cli.App{Namespace: fl.Temporal.Namespace, PollInterval: 200 * time.Millisecond, Stdout: &o, Stderr: &e,
			Dial: func() (client.Client, error) {
				return client.Dial(client.Options{HostPort: fl.Temporal.Address, Namespace: fl.Temporal.Namespace, Logger: tlog.NewStructuredLogger(quiet)})
			}}
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		code := app.Run(cctx, args)
		return code, o.String() + e.String()
	}
	const scheduleID = "cutover-fleet-e2e"
	// Not due during the test (January 1st): only the triggers run it.
	if code, o := run("schedule", "create", "-f", fleetFile, "--id", scheduleID, "--cron", "0 9 1 1 *"); code != 0 {
		t.Fatalf("schedule create: exit %d: %s", code, o)
	}
	h := d.Client.ScheduleClient().GetHandle(ctx, scheduleID)

	quarter := func(n int, from, to string, blues map[string]string) workflows.FleetReport {
		t.Helper()
		qStart := time.Now()
		var children []string
		for _, l := range []string{fleetShop, fleetAPI} {
			children = append(children, "cutover-"+workflows.GreenName(l, to))
		}
		actions := len(describeSchedule(ctx, t, h).Info.RecentActions)
		if err := h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}); err != nil {
			t.Fatalf("quarter %d: trigger: %v", n, err)
		}
		fleetRun := waitScheduledRun(ctx, t, h, actions)
		t.Logf("Quarter %d: schedule started %s", n, fleetRun.WorkflowID)
		qctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		ap := approveGates(qctx, run, children)
		var rep workflows.FleetReport
		ended := make(chan error, 1)
		go func() {
			ended <- d.Client.GetWorkflow(qctx, fleetRun.WorkflowID, fleetRun.FirstExecutionRunID).Get(qctx, &rep)
		}()
		var err error
		select {
		case err = <-ended:
		case id := <-ap.failed:
			// Fail at once: a stopped fleet would wait for its resume gate.
			err = fmt.Errorf("migration %s failed", id)
		}
		gates := ap.stop()
		if err != nil {
			for _, id := range children {
				_, o := run("status", id)
				t.Logf("%s:\n%s", id, o)
			}
			_, o := run("fleet", "status", fleetRun.WorkflowID)
			t.Logf("fleet status:\n%s", o)
			t.Fatalf("quarter %d: fleet run %s: %v", n, fleetRun.WorkflowID, err)
		}
		t.Logf("Quarter %d: approved %v", n, gates)
		b, _ := json.MarshalIndent(rep, "", "  ")
		t.Logf("Quarter %d done in %s: %s", n, time.Since(qStart).Round(time.Millisecond), b)
		if len(rep.Results) != 2 {
			t.Fatalf("quarter %d: %d results, want one per member: %s", n, len(rep.Results), b)
		}
		for _, r := range rep.Results {
			want := "cutover-" + workflows.GreenName(r.Logical, to)
			if r.Outcome != workflows.OutcomeSucceeded || r.From != from || r.To != to || r.Blue != blues[r.Logical] || r.WorkflowID != want ||
				r.Green != workflows.GreenName(r.Logical, to) {
				t.Errorf("quarter %d: %s: %+v; want %s resolved to %s, %s -> %s, migration %s succeeded", n, r.Logical, r, r.Logical, blues[r.Logical], from, to, want)
			}
		}
		for _, id := range children {
			for _, g := range []string{"cutover", "retire"} {
				if !slices.Contains(gates, id+"/"+g) {
					t.Errorf("quarter %d: gate %s of %s was not approved: the migration did not wait for it", n, g, id)
				}
			}
		}
		return rep
	}

	// Quarter 1: the untagged originals, 1.29 -> 1.30.
	rep1 := quarter(1, sandbox.BlueVersion, "1.30", map[string]string{fleetShop: sandbox.BlueCluster, fleetAPI: fleetAPI})
	assertWavesSoaked(t, rep1, 2*time.Second)
	assertQuarter(ctx, t, fl, eksc, r53, 1, "1.30")
	shopIssuer1 := clusterIssuer(ctx, t, eksc, shop.Generations[0])

	// Quarter 2: the same schedule and fleet file; the blues are the
	// clusters quarter 1 built, found by their logical names.
	rep2 := quarter(2, "1.30", "1.31", map[string]string{fleetShop: shop.Generations[0], fleetAPI: api.Generations[0]})
	assertWavesSoaked(t, rep2, 2*time.Second)
	assertQuarter(ctx, t, fl, eksc, r53, 2, "1.31")
	assertShopEstateCarried(ctx, t, fl, cfg, shop.Generations[1])
	assertArgoCDFollowed(ctx, t, fl, shop.Generations[0], shop.Generations[1])

	// shop-prod's IRSA roles went with it: they trust the 1.31 cluster's
	// OIDC issuer, and neither retired generation's.
	shopIssuer2 := clusterIssuer(ctx, t, eksc, shop.Generations[1])
	iamc := iam.NewFromConfig(cfg)
	for _, roleARN := range []string{fl.Seed.IRSA.WorkloadRoleARN, fl.Seed.IRSA.AddonRoleARN} {
		doc := trustPolicy(ctx, t, iamc, roleARN)
		if !strings.Contains(doc, shopIssuer2) || strings.Contains(doc, shopIssuer1) || strings.Contains(doc, issuerBefore) {
			t.Errorf("role %s trusts %s; want %s only of the three generations (%s, %s retired)", roleARN, doc, shopIssuer2, issuerBefore, shopIssuer1)
		}
	}
	desc := describeSchedule(ctx, t, h)
	if n := len(desc.Info.RecentActions); n != 2 {
		t.Errorf("the schedule ran %d times, want the two triggers", n)
	}
	t.Logf("Two quarters in %s", time.Since(started).Round(time.Millisecond))
}

// assertWavesSoaked checks that the main wave's migration started at
// least soak after the canary's ended: the canary wave's soak ran between.
func assertWavesSoaked(t *testing.T, rep workflows.FleetReport, soak time.Duration) {
	t.Helper()
	var canaryEnded, mainStarted time.Time
	for _, r := range rep.Results {
		switch r.Wave {
		case "canary":
			canaryEnded = r.Ended
		case "main":
			mainStarted = r.Started
		}
	}
	if canaryEnded.IsZero() || mainStarted.IsZero() || mainStarted.Sub(canaryEnded) < soak {
		t.Errorf("the main wave started at %s, the canary ended at %s: want the canary's %s soak between", mainStarted, canaryEnded, soak)
	}
}

// assertShopEstateCarried checks what the seeded blue's estate around EKS
// became after two quarters, on its last generation green: the workloads
// of shopNamespaces and the CronJob restored (and the CronJob running there, not held),
// aws-auth's mappings, the Pod Identity association, the CI role's access
// entry, and Karpenter's discovery tag on the subnets and security group
// every generation shared naming green.
func assertShopEstateCarried(ctx context.Context, t *testing.T, fl *sandbox.Fleet, cfg aws.Config, green string) {
	t.Helper()
	cs, err := fl.Members[0].Apiserver(green).Clientset()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(append([]string(nil), fl.BlueObjects.Deployments...), fl.BlueObjects.StatefulSets...) {
		ns, n, _ := strings.Cut(name, "/")
		if !slices.Contains(shopNamespaces, ns) {
			continue
		}
		_, derr := cs.AppsV1().Deployments(ns).Get(ctx, n, metav1.GetOptions{})
		_, serr := cs.AppsV1().StatefulSets(ns).Get(ctx, n, metav1.GetOptions{})
		if derr != nil && serr != nil {
			t.Errorf("%s: workload %s was not carried over: %v", green, name, derr)
		}
	}
	for _, name := range fl.BlueObjects.CronJobs {
		ns, n, _ := strings.Cut(name, "/")
		cj, err := cs.BatchV1().CronJobs(ns).Get(ctx, n, metav1.GetOptions{})
		if err != nil || (cj.Spec.Suspend != nil && *cj.Spec.Suspend) {
			t.Errorf("%s: CronJob %s: %v %+v; want it there and running", green, name, err, cj)
		}
	}
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "aws-auth", metav1.GetOptions{})
	if err != nil || !strings.Contains(cm.Data["mapRoles"], fl.Seed.AWSAuth.OpsRoleARN) || !strings.Contains(cm.Data["mapUsers"], fl.Seed.AWSAuth.BreakglassUserARN) {
		t.Errorf("%s: aws-auth %v %+v; want blue's mappings of %s and %s", green, err, cm, fl.Seed.AWSAuth.OpsRoleARN, fl.Seed.AWSAuth.BreakglassUserARN)
	}
	eksc := awseks.NewFromConfig(cfg)
	pi := fl.Seed.PodIdentity
	assocs, err := eksc.ListPodIdentityAssociations(ctx, &awseks.ListPodIdentityAssociationsInput{ClusterName: aws.String(green), Namespace: aws.String(pi.Namespace), ServiceAccount: aws.String(pi.ServiceAccount)})
	if err != nil || len(assocs.Associations) != 1 {
		t.Errorf("%s: Pod Identity associations of %s/%s: %v %+v; want blue's, carried over", green, pi.Namespace, pi.ServiceAccount, err, assocs)
	} else if d, err := eksc.DescribePodIdentityAssociation(ctx, &awseks.DescribePodIdentityAssociationInput{ClusterName: aws.String(green), AssociationId: assocs.Associations[0].AssociationId}); err != nil || aws.ToString(d.Association.RoleArn) != pi.RoleARN {
		t.Errorf("%s: Pod Identity association %v %+v; want role %s", green, err, d, pi.RoleARN)
	}
	if _, err := eksc.DescribeAccessEntry(ctx, &awseks.DescribeAccessEntryInput{ClusterName: aws.String(green), PrincipalArn: aws.String(pi.CIRoleARN)}); err != nil {
		t.Errorf("%s: the CI role's access entry: %v", green, err)
	}
	assertKarpenterDiscovery(ctx, t, cfg, fl.Seed, green, "after two quarters")
}

// assertArgoCDFollowed: Argo CD, which ran inside the seeded blue, moved
// with shop-prod each quarter (retarget mode, moved to green before blue
// was retired): the last generation runs it, with blue's applications
// pointing at the cluster itself and Synced, and the previous
// generation's copy is stopped.
func assertArgoCDFollowed(ctx context.Context, t *testing.T, fl *sandbox.Fleet, previous, last string) {
	t.Helper()
	for _, c := range []struct {
		cluster  string
		replicas int32
	}{{previous, 0}, {last, 1}} {
		cs, err := fl.Members[0].Apiserver(c.cluster).Clientset()
		if err != nil {
			t.Fatal(err)
		}
		sts, err := cs.AppsV1().StatefulSets(sandbox.ArgoCDNamespace).Get(ctx, sandbox.ArgoCDApplicationController, metav1.GetOptions{})
		if err != nil || sts.Spec.Replicas == nil || *sts.Spec.Replicas != c.replicas {
			t.Errorf("%s: Argo CD's application controller %v %+v; want %d replicas", c.cluster, err, sts, c.replicas)
		}
	}
	apps := argoObjects(ctx, t, fl.Members[0].Apiserver(last), appGVR, "")
	if len(apps) != len(fl.BlueObjects.Applications) {
		t.Errorf("%s's Argo CD has %d applications, blue's had %d", last, len(apps), len(fl.BlueObjects.Applications))
	}
	for name, a := range apps {
		if destinationOf(a) != "https://kubernetes.default.svc" || !synced(a) {
			t.Errorf("%s's application %s targets %q (synced %v); want in-cluster and Synced", last, name, destinationOf(a), synced(a))
		}
	}
}

// fleetJSON is the fleet file: two members that name their logical
// cluster and their entry point, nothing of a quarter (no physical cluster
// of a later generation, no version, no green target).
func fleetJSON(fl *sandbox.Fleet) string {
	shop, api := fl.Members[0], fl.Members[1]
	quoted := func(names []string) string {
		b, _ := json.Marshal(names)
		return string(b)
	}
	member := func(logicalAndBlue, blockOn, argoMode string, namespaces []string, record, afterMigration, entryNamespace string, alarms []string) string {
		return fmt.Sprintf(`{
        "blue": {%s, "region": %q},
        "preflight": {"blockOn": %q},
        "argocd": {"mode": %q, "syncTimeout": "5m"},
        "velero": {"enabled": true, "includedNamespaces": %s, "timeout": "5m"},
        "smoke": {"timeout": "5m", "kubernetes": {"namespaces": %s}},
        "traffic": {
          "provider": "route53",
          "route53": {"hostedZoneId": %q, "recordName": %q, "afterMigration": %q,
            "greenTargetFrom": {"kind": "Ingress", "namespace": %q, "name": %q}},
          "steps": [50, 100], "bakeTime": "2s", "checkInterval": "1s", "alarms": %s
        },
        "approvals": {"cutover": {"approvers": ["alice"], "timeout": "1h"}, "retire": {"approvers": ["alice"], "timeout": "1h"}},
        "retire": {"soak": "1s"}
      }`, logicalAndBlue, fl.Seed.Region, blockOn, argoMode, quoted(namespaces), quoted(namespaces), fl.Seed.HostedZoneID, record, afterMigration, entryNamespace, sandbox.EntryPointIngress, quoted(alarms))
	}
	// api-prod goes first, alone, and is watched for a soak before
	// shop-prod's wave. Its original is named like it, so the member
	// leaves blue.clusterName out, and it blocks on errors (the default).
	// shop-prod's original is "blue"; the seeded blue has findings on
	// purpose (removed APIs, a PDB that blocks drains): reported, not
	// blocking, as in the demo. Its restore and checks cover its three
	// application namespaces; Argo CD, which runs inside blue, retargets
	// its applications and moves to green before blue is retired (the
	// defaults), every quarter. api-prod has no Argo CD (mode none). A
	// failed wave ends the run (no resume gate).
	return fmt.Sprintf(`{
  "name": "e2e",
  "resume": {"enabled": false},
  "waves": [
    {"name": "canary", "soak": "2s", "migrations": [
      %s
    ]},
    {"name": "main", "migrations": [
      %s
    ]}
  ]
}
`, member(fmt.Sprintf(`"logicalName": %q`, api.Logical), "error", "none", []string{api.Namespace}, api.RecordName, "simple", api.Namespace, api.AlarmNames),
		member(fmt.Sprintf(`"logicalName": %q, "clusterName": %q`, shop.Logical, shop.Cluster), "none", "retarget", shopNamespaces, shop.RecordName, "weighted", shop.Namespace, shop.AlarmNames))
}

// approver approves, as alice through the CLI, every gate that opens on
// the migrations it watches, and reports the first one that fails.
type approver struct {
	failed chan string
	stop   func() []string
}

// approveGates watches the migrations ids until stop is called; stop
// returns the gates approved ("<id>/<gate>").
func approveGates(ctx context.Context, run func(args ...string) (int, string), ids []string) approver {
	ctx, cancel := context.WithCancel(ctx)
	a := approver{failed: make(chan string, len(ids))}
	var mu sync.Mutex
	var done []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		reported := map[string]bool{}
		for ctx.Err() == nil {
			for _, id := range ids {
				code, o := run("status", id, "-o", "json")
				var st workflows.Status
				if code != 0 || json.Unmarshal([]byte(o), &st) != nil {
					continue // not started yet
				}
				if st.Phase == workflows.PhaseFailed && !reported[id] {
					reported[id] = true
					a.failed <- id
				}
				for _, g := range st.PendingGates {
					if code, _ := run("approve", id, "--gate", g.Gate, "--by", "alice"); code == 0 {
						mu.Lock()
						done = append(done, id+"/"+g.Gate)
						mu.Unlock()
					}
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
		}
	}()
	a.stop = func() []string {
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(done)
	}
	return a
}

func describeSchedule(ctx context.Context, t *testing.T, h client.ScheduleHandle) *client.ScheduleDescription {
	t.Helper()
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatalf("describe schedule %s: %v", h.GetID(), err)
	}
	return desc
}

// waitScheduledRun waits for the schedule's action after the first
// `before` ones and returns the workflow it started.
func waitScheduledRun(ctx context.Context, t *testing.T, h client.ScheduleHandle, before int) *client.ScheduleWorkflowExecution {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		desc := describeSchedule(ctx, t, h)
		if acts := desc.Info.RecentActions; len(acts) > before {
			if r := acts[len(acts)-1].StartWorkflowResult; r != nil {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %s started no workflow within 30s of the trigger (%d actions)", h.GetID(), len(desc.Info.RecentActions))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// assertQuarter checks moto after quarter n moved every member to version:
// of each logical cluster, exactly the generation n exists (the clusters
// before it were retired), ACTIVE at version, tagged with the logical name
// and generation n, with blue's node groups at version; no other cluster
// is left; each member's record is one simple CNAME pointing at the ELBv2
// load balancer of that generation's Ingress.
func assertQuarter(ctx context.Context, t *testing.T, fl *sandbox.Fleet, eksc *awseks.Client, r53 *route53.Client, n int, version string) {
	t.Helper()
	cfg, _ := fl.Moto.AWS().ForRegion(ctx, fl.Seed.Region)
	lbs := elbv2.NewFromConfig(cfg)
	var want []string
	for _, m := range fl.Members {
		want = append(want, m.Generations[n-1])
	}
	list, err := eksc.ListClusters(ctx, &awseks.ListClustersInput{})
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(list.Clusters))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after quarter %d EKS has clusters %v, want %v (the older generations retired)", n, got, want)
	}
	for _, m := range fl.Members {
		name := m.Generations[n-1]
		out, err := eksc.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(name)})
		if err != nil {
			t.Errorf("quarter %d: %s's cluster %s: %v", n, m.Logical, name, err)
			continue
		}
		c := out.Cluster
		if c.Status != ekstypes.ClusterStatusActive || aws.ToString(c.Version) != version ||
			c.Tags[eks.TagLogicalCluster] != m.Logical || c.Tags[eks.TagGeneration] != fmt.Sprint(n) {
			t.Errorf("quarter %d: cluster %s is %s at %s tagged %v; want ACTIVE at %s, %s=%s, %s=%d",
				n, name, c.Status, aws.ToString(c.Version), c.Tags, version, eks.TagLogicalCluster, m.Logical, eks.TagGeneration, n)
		}
		ngs, err := eksc.ListNodegroups(ctx, &awseks.ListNodegroupsInput{ClusterName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		if len(ngs.Nodegroups) != len(m.NodeGroups) {
			t.Errorf("quarter %d: %s has node groups %v, want copies of %v", n, name, ngs.Nodegroups, m.NodeGroups)
		}
		for _, ng := range ngs.Nodegroups {
			o, err := eksc.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(name), NodegroupName: aws.String(ng)})
			if err != nil || aws.ToString(o.Nodegroup.Version) != version || o.Nodegroup.Status != ekstypes.NodegroupStatusActive {
				t.Errorf("quarter %d: node group %s/%s: %v %+v; want ACTIVE at %s", n, name, ng, err, o, version)
			}
		}

		// The record: simple, at the load balancer of this generation's
		// Ingress (made by the simulated controller in ELBv2).
		cs, err := m.Apiserver(name).Clientset()
		if err != nil {
			t.Fatal(err)
		}
		ing, err := cs.NetworkingV1().Ingresses(m.Namespace).Get(ctx, sandbox.EntryPointIngress, metav1.GetOptions{})
		if err != nil || len(ing.Status.LoadBalancer.Ingress) != 1 {
			t.Errorf("quarter %d: %s's Ingress %s/%s: %v %+v", n, name, m.Namespace, sandbox.EntryPointIngress, err, ing)
			continue
		}
		lb := ing.Status.LoadBalancer.Ingress[0].Hostname
		if lb == m.BlueTarget {
			t.Errorf("quarter %d: %s's Ingress has the original's load balancer %s", n, name, lb)
		}
		found, err := lbs.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(found.LoadBalancers, func(l elbtypes.LoadBalancer) bool { return aws.ToString(l.DNSName) == lb }) {
			t.Errorf("quarter %d: %s's load balancer %s is not in ELBv2", n, name, lb)
		}
		recs := recordSets(ctx, t, r53, fl.Seed.HostedZoneID, m.RecordName)
		if m.RecordName == fl.Members[0].RecordName {
			// shop-prod keeps its weighted pair: all of it on the record
			// naming this generation's load balancer, the other at 0.
			var serving, idle int
			for _, rr := range recs {
				switch {
				case rr.Weight != nil && *rr.Weight == 100 && len(rr.ResourceRecords) == 1 && aws.ToString(rr.ResourceRecords[0].Value) == lb:
					serving++
				case rr.Weight != nil && *rr.Weight == 0:
					idle++
				}
			}
			if len(recs) != 2 || serving != 1 || idle != 1 {
				t.Errorf("quarter %d: %s records %s; want the weighted pair, 100 on %s and 0 on the other", n, m.RecordName, describeRecords(recs), lb)
			}
			continue
		}
		if len(recs) != 1 || recs[0].SetIdentifier != nil || recs[0].Weight != nil || len(recs[0].ResourceRecords) != 1 ||
			aws.ToString(recs[0].ResourceRecords[0].Value) != lb || aws.ToInt64(recs[0].TTL) != sandbox.RecordTTL {
			t.Errorf("quarter %d: %s records %s; want one simple CNAME to %s (TTL %d)", n, m.RecordName, describeRecords(recs), lb, sandbox.RecordTTL)
		}
	}
}

func recordSets(ctx context.Context, t *testing.T, r53 *route53.Client, zone, name string) []r53types.ResourceRecordSet {
	t.Helper()
	out, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(zone)})
	if err != nil {
		t.Fatal(err)
	}
	var mine []r53types.ResourceRecordSet
	for _, rr := range out.ResourceRecordSets {
		if strings.TrimSuffix(aws.ToString(rr.Name), ".") == name {
			mine = append(mine, rr)
		}
	}
	return mine
}

func describeRecords(recs []r53types.ResourceRecordSet) string {
	var parts []string
	for _, rr := range recs {
		var values []string
		for _, v := range rr.ResourceRecords {
			values = append(values, aws.ToString(v.Value))
		}
		parts = append(parts, fmt.Sprintf("{set %q weight %v ttl %d %v}", aws.ToString(rr.SetIdentifier), aws.ToInt64(rr.Weight), aws.ToInt64(rr.TTL), values))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// clusterIssuer is a cluster's OIDC issuer without its scheme, as IAM
// trust policies name it.
func clusterIssuer(ctx context.Context, t *testing.T, eksc *awseks.Client, name string) string {
	t.Helper()
	out, err := eksc.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("describe %s: %v", name, err)
	}
	if out.Cluster.Identity == nil || out.Cluster.Identity.Oidc == nil {
		t.Fatalf("cluster %s has no OIDC issuer", name)
	}
	issuer := strings.TrimPrefix(aws.ToString(out.Cluster.Identity.Oidc.Issuer), "https://")
	if issuer == "" {
		t.Fatal(errors.New("empty issuer of " + name))
	}
	return issuer
}
