package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// TestMigrationAgainstRealServers runs BlueGreenMigration with cutover's
// real activities against the sandbox: moto for EKS, Route53 and
// CloudWatch, two kube-apiservers for blue and green. The first run has an
// alarm fire during the second traffic step and must put traffic back on
// blue; the second run adopts the green the first one built and goes all
// the way to retiring blue. Gates are approved through the CLI code path.
func TestMigrationAgainstRealServers(t *testing.T) {
	// Each brings up its own sandbox; they wait more than they compute.
	t.Parallel()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer
	d, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), UIPort: -1, Start: false, Fast: true, Stdout: &out, Logger: quiet})
	if err != nil {
		t.Fatalf("demo start: %v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	sb := d.Sandbox
	awsCfg, _ := sb.Moto.AWS().ForRegion(ctx, sb.Seed.Region)
	globalCfg, _ := sb.Moto.AWS().ForRegion(ctx, "us-east-1")
	cw := cloudwatch.NewFromConfig(awsCfg, sandbox.CloudWatchJSON)
	r53 := route53.NewFromConfig(globalCfg)
	eksc := awseks.NewFromConfig(awsCfg)

	app := &cli.App{Namespace: sb.Temporal.Namespace, PollInterval: 200 * time.Millisecond,
		Dial: func() (client.Client, error) {
			return client.Dial(client.Options{HostPort: sb.Temporal.Address, Namespace: sb.Temporal.Namespace, Logger: tlog.NewStructuredLogger(quiet)})
		}}
	cutover := func(args ...string) (int, string) {
		var o, e bytes.Buffer
		app.Stdout, app.Stderr = &o, &e
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		code := app.Run(cctx, args)
		return code, o.String() + e.String()
	}
	status := func(id string) workflows.Status {
		code, o := cutover("status", id, "-o", "json")
		var st workflows.Status
		if code != 0 || json.Unmarshal([]byte(o), &st) != nil {
			t.Fatalf("status: %d %s", code, o)
		}
		return st
	}
	waitFor := func(id, what string, cond func(workflows.Status) bool) workflows.Status {
		deadline := time.Now().Add(3 * time.Minute)
		for {
			st := status(id)
			if cond(st) {
				return st
			}
			if st.Phase == workflows.PhaseFailed || st.Phase == workflows.PhaseDone {
				t.Fatalf("%s: migration ended in %s before %s: %s", id, st.Phase, what, st.LastError)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out waiting for %s; phase %s, progress %q", id, what, st.Phase, st.Progress)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	gateOpen := func(g string) func(workflows.Status) bool {
		return func(st workflows.Status) bool {
			return slices.ContainsFunc(st.PendingGates, func(p workflows.PendingGate) bool { return p.Gate == g })
		}
	}
	weights := func() (blue, green int64) {
		outp, err := r53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{HostedZoneId: aws.String(sb.Seed.HostedZoneID)})
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range outp.ResourceRecordSets {
			if strings.TrimSuffix(aws.ToString(rr.Name), ".") != strings.TrimSuffix(sb.Seed.RecordName, ".") || rr.Weight == nil {
				continue
			}
			switch aws.ToString(rr.SetIdentifier) {
			case "blue":
				blue = *rr.Weight
			case "green":
				green = *rr.Weight
			}
		}
		return blue, green
	}
	// The demo's spec with a gate before each traffic step after the
	// first: the test sets the alarm while the gate before the last step
	// waits at 50%, so no poll has to catch a bake of a second or two.
	stepGated := d.Spec
	yes := true
	stepGated.Approvals.EachStep = spec.GateSpec{Enabled: &yes, Timeout: spec.Duration(time.Hour)}
	specFile := filepath.Join(t.TempDir(), "demo-step-gated.json")
	if b, err := json.MarshalIndent(stepGated, "", "  "); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(specFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	approve := func(id, gate string, extra ...string) {
		t.Helper()
		if code, o := cutover(append([]string{"approve", id, "--gate", gate, "--by", "alice"}, extra...)...); code != 0 {
			t.Fatalf("approve %s: %s", gate, o)
		}
	}

	// Run 0: to 1.33, where EKS has no Amazon Linux 2, preflight refuses
	// blue's AL2 node groups and AL2 launch template before anything is built.
	assertAL2RefusedInPreflight(ctx, t, sb, eksc, cutover) // al2_test.go

	// Run 0b: a dry run on blue with an object seeded for each of issue
	// 17's preflight checks (and a clean one), deleted afterwards.
	assertPreflightChecksOnEstate(ctx, t, sb, d.Spec, cutover) // preflight_estate_test.go

	// Run 1: an alarm fires after 50% green; traffic goes back to blue.
	argoBefore := argoState(ctx, t, sb.Blue) // argocd_e2e_test.go
	if code, o := cutover("start", "-f", specFile); code != 0 {
		t.Fatalf("start: %s", o)
	}
	id := d.Spec.WorkflowID()
	waitFor(id, "the cutover gate", gateOpen("cutover"))
	// Green's restored CronJobs are held: blue runs them until 50%.
	assertJobsOn(ctx, t, sb, "blue", "run 1 at the cutover gate") // runbook_test.go
	approve(id, "cutover")
	waitFor(id, "the gate before step 2", gateOpen(spec.StepGateName(2)))
	approve(id, spec.StepGateName(2))
	waitFor(id, "the gate before step 3, at 50% on green", gateOpen(spec.StepGateName(3)))
	assertJobsOn(ctx, t, sb, "green", "run 1 at 50%")
	if b, g := weights(); b != 50 || g != 50 {
		t.Errorf("Route53 weights at step 2: blue %d green %d", b, g)
	}
	alarm := sb.Seed.AlarmNames[0]
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(alarm), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("5xx above 2%")}); err != nil {
		t.Fatal(err)
	}
	// Nobody approves step 3: the gate's own watch sees the alarm and rolls back.
	code, o := cutover("watch", id)
	if code != cli.ExitFailed || !strings.Contains(o, "Outcome: rolled-back") || !strings.Contains(o, "alarm "+alarm+" is in ALARM") ||
		!strings.Contains(o, `while gate "`+spec.StepGateName(3)+`" waits`) {
		t.Fatalf("run 1 should roll back on the alarm, exit %d:\n%s", code, o)
	}
	if b, g := weights(); b != 100 || g != 0 {
		t.Fatalf("after rollback Route53 weights are blue %d green %d", b, g)
	}
	assertJobsOn(ctx, t, sb, "blue", "after the rollback")
	if _, err := eksc.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("blue")}); err != nil {
		t.Fatalf("blue must survive a rollback: %v", err)
	}
	for _, a := range listApps(t, sb) {
		dest := a["spec"].(map[string]any)["destination"].(map[string]any)
		if dest["name"] != "blue" {
			t.Errorf("after rollback application %v targets %v, want blue again", a["metadata"].(map[string]any)["name"], dest)
		}
	}
	// Exactly: labels, annotations and specs of blue's Argo CD as before.
	assertArgoStateBack(ctx, t, sb.Blue, argoBefore, "after the rollback of run 1")
	// The rollback removed exactly the trust statements it added: the IRSA
	// roles trust blue's issuer again, and not green's (green is kept).
	if kept, err := eksc.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("green")}); err != nil {
		t.Fatalf("green is kept on rollback: %v", err)
	} else {
		greenIssuer := strings.TrimPrefix(aws.ToString(kept.Cluster.Identity.Oidc.Issuer), "https://")
		for _, roleARN := range []string{sb.Seed.IRSA.AddonRoleARN, sb.Seed.IRSA.WorkloadRoleARN, sb.Seed.IRSA.ArgoCDRoleARN} {
			doc := trustPolicy(ctx, t, iam.NewFromConfig(awsCfg), roleARN)
			if strings.Contains(doc, greenIssuer) || !strings.Contains(doc, strings.TrimPrefix(sb.Seed.IRSA.Issuer, "https://")) {
				t.Errorf("after rollback role %s trusts %s", roleARN, doc)
			}
		}
	}

	// Run 2: the alarm is back to OK; the same migration adopts green and finishes.
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(alarm), StateValue: cwtypes.StateValueOk, StateReason: aws.String("recovered")}); err != nil {
		t.Fatal(err)
	}
	if code, o := cutover("start", "-f", specFile); code != 0 {
		t.Fatalf("restart: %s", o)
	}
	waitFor(id, "the cutover gate", gateOpen("cutover"))
	approve(id, "cutover", "--comment", "second try")
	for _, n := range []int{2, 3} {
		waitFor(id, fmt.Sprintf("the gate before step %d", n), gateOpen(spec.StepGateName(n)))
		approve(id, spec.StepGateName(n))
	}
	waitFor(id, "the retire gate", gateOpen("retire"))
	assertJobsOn(ctx, t, sb, "green", "run 2 at the retire gate")
	if b, g := weights(); b != 0 || g != 100 {
		t.Errorf("before retire Route53 weights are blue %d green %d", b, g)
	}
	if code, o := cutover("approve", id, "--gate", "retire", "--by", "alice"); code != 0 {
		t.Fatalf("approve retire: %s", o)
	}
	code, o = cutover("watch", id, "-o", "json")
	if code != 0 {
		t.Fatalf("run 2: exit %d\n%s", code, o)
	}
	_, o = cutover("result", id, "-o", "json")
	var rep workflows.MigrationReport
	if err := json.Unmarshal([]byte(o), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, o)
	}
	if rep.Outcome != workflows.OutcomeSucceeded || len(rep.TrafficHistory) != 3 {
		t.Fatalf("report %+v", rep)
	}
	// The seeded zone, weighted pair and alarms are as a migration starts
	// from: the traffic preflight found nothing.
	for _, f := range rep.Findings {
		if f.Source == "traffic" {
			t.Errorf("traffic preflight finding on the seeded estate: %+v", f)
		}
	}
	if !slices.ContainsFunc(rep.Findings, func(f finding.Finding) bool { return f.Check == "removed-api" }) {
		t.Errorf("preflight did not report blue's removed APIs: %+v", rep.Findings)
	}

	// The world as the real APIs see it.
	green, err := eksc.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("green")})
	if err != nil {
		t.Fatal(err)
	}
	// Blue's vpc-cni add-on is on green with its IRSA role, ACTIVE (it only
	// becomes so once the role trusts green's issuer), at the version the
	// report gives with its reason.
	if ad, err := eksc.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String("green"), AddonName: aws.String("vpc-cni")}); err != nil {
		t.Errorf("green's vpc-cni: %v", err)
	} else if aws.ToString(ad.Addon.ServiceAccountRoleArn) != sb.Seed.IRSA.AddonRoleARN || ad.Addon.Status != ekstypes.AddonStatusActive {
		t.Errorf("green's vpc-cni role %s status %s, want %s ACTIVE", aws.ToString(ad.Addon.ServiceAccountRoleArn), ad.Addon.Status, sb.Seed.IRSA.AddonRoleARN)
	} else if len(rep.Addons) != 1 || rep.Addons[0].Version != aws.ToString(ad.Addon.AddonVersion) || rep.Addons[0].Reason == "" {
		t.Errorf("report add-ons %+v, green runs %s", rep.Addons, aws.ToString(ad.Addon.AddonVersion))
	}
	if v := aws.ToString(green.Cluster.Version); v != "1.31" || green.Cluster.Tags["cutover.dev/migration"] != "demo" {
		t.Errorf("green version %s tags %v", v, green.Cluster.Tags)
	}
	ngs, err := eksc.ListNodegroups(ctx, &awseks.ListNodegroupsInput{ClusterName: aws.String("green")})
	if err != nil || len(ngs.Nodegroups) != len(sb.Seed.NodeGroups) {
		t.Errorf("green node groups %v (%v), blue had %v", ngs, err, sb.Seed.NodeGroups)
	}
	assertGreenNodes(t, ctx, awsCfg, sb.Seed, "green", "1.31") // nodes_test.go
	var notFound *ekstypes.ResourceNotFoundException
	if _, err := eksc.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String("blue")}); !errors.As(err, &notFound) {
		t.Errorf("blue should be deleted, DescribeCluster says %v", err)
	}
	for _, a := range listApps(t, sb) {
		dest := a["spec"].(map[string]any)["destination"].(map[string]any)
		if dest["name"] != "green" && dest["server"] != sb.Green.Server {
			t.Errorf("application %v still targets %v", a["metadata"].(map[string]any)["name"], dest)
		}
	}
	// Parity compared green with blue and passed, row by row, including
	// blue's IRSA ServiceAccount (restored with its role) and the three
	// roles' trust of green's issuer (add-on, workload, Argo CD's controller).
	if rep.Parity == nil || !rep.Parity.Passed || len(rep.Parity.Rows) == 0 {
		t.Errorf("parity %+v", rep.Parity)
	} else {
		var sa, trust int
		for _, r := range rep.Parity.Rows {
			if r.Check == "service-account" && r.Object == sb.Seed.IRSA.WorkloadServiceAccount && r.OK && r.Green == sb.Seed.IRSA.WorkloadRoleARN {
				sa++
			}
			if r.Check == "irsa-trust" && r.OK {
				trust++
			}
		}
		if sa != 1 || trust != 3 {
			t.Errorf("parity rows for IRSA: service account %d, trust %d; rows %+v", sa, trust, rep.Parity.Rows)
		}
	}
	assertGreenPodIdentity(t, ctx, awsCfg, sb.Seed, "green", "demo") // podidentity_test.go
	if rep.Parity != nil && !slices.ContainsFunc(rep.Parity.Rows, func(r workflows.ParityRow) bool {
		return r.Check == "pod-identity" && r.Object == sandbox.PodIdentityNamespace+"/"+sandbox.PodIdentityServiceAccount && r.OK
	}) {
		t.Errorf("parity rows %+v: want a passed pod-identity row", rep.Parity.Rows)
	}
	// IRSA: green's issuer has an IAM OIDC provider, both of blue's IRSA
	// roles trust it, and blue's provider and statements are gone with blue.
	greenIssuer := strings.TrimPrefix(aws.ToString(green.Cluster.Identity.Oidc.Issuer), "https://")
	iamc := iam.NewFromConfig(awsCfg)
	provs, err := iamc.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	var haveGreen, haveBlue bool
	for _, p := range provs.OpenIDConnectProviderList {
		arn := aws.ToString(p.Arn)
		haveGreen = haveGreen || strings.HasSuffix(arn, "oidc-provider/"+greenIssuer)
		haveBlue = haveBlue || arn == sb.Seed.IRSA.ProviderARN
	}
	if !haveGreen || haveBlue {
		t.Errorf("OIDC providers %v: want green's (%s) and not blue's", provs.OpenIDConnectProviderList, greenIssuer)
	}
	for _, roleARN := range []string{sb.Seed.IRSA.AddonRoleARN, sb.Seed.IRSA.WorkloadRoleARN, sb.Seed.IRSA.ArgoCDRoleARN} {
		name := roleARN[strings.LastIndex(roleARN, "/")+1:]
		doc := trustPolicy(ctx, t, iamc, roleARN)
		if !strings.Contains(doc, greenIssuer) || strings.Contains(doc, strings.TrimPrefix(sb.Seed.IRSA.Issuer, "https://")) {
			t.Errorf("role %s trust policy %s: want green's issuer only", name, doc)
		}
	}
	assertGreenEstate(ctx, t, awsCfg, sb, "green", rep) // estate_test.go
	assertVeleroReadOnlyDuringRestore(ctx, t, d)        // runbook_test.go
	assertArgoCDMoved(ctx, t, sb, rep)
	assertStillPointsAtBlue(t, rep)
	gcs, err := sb.Green.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	deps, err := gcs.AppsV1().Deployments("shop").List(ctx, metav1.ListOptions{})
	if err != nil || len(deps.Items) == 0 {
		t.Errorf("green has no restored deployments in shop: %v", err)
	}
}

func listApps(t *testing.T, sb *sandbox.Sandbox) []map[string]any {
	t.Helper()
	dyn, err := dynamic.NewForConfig(sb.Blue.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	apps, err := dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}).Namespace("argocd").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(apps.Items) == 0 {
		t.Fatalf("applications: %v", err)
	}
	out := make([]map[string]any, 0, len(apps.Items))
	for _, a := range apps.Items {
		out = append(out, a.Object)
	}
	return out
}

// trustPolicy reads an IAM role's trust policy from the emulated IAM.
func trustPolicy(ctx context.Context, t *testing.T, iamc *iam.Client, roleARN string) string {
	t.Helper()
	role, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(roleARN[strings.LastIndex(roleARN, "/")+1:])})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
