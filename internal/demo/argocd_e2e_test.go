package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/cutover-dev/cutover/internal/cli"
	"github.com/cutover-dev/cutover/internal/demo"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// e2e drives one demo sandbox through cutover's CLI code path, as a
// person would: start, approve gates, watch.
type e2e struct {
	t   *testing.T
	ctx context.Context
	d   *demo.Demo
	app *cli.App
}

func startE2E(t *testing.T, o demo.Options) *e2e {
	t.Helper()
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var out bytes.Buffer
	o.Dir, o.UIPort, o.Start, o.Fast, o.Stdout, o.Logger = t.TempDir(), -1, false, true, &out, quiet
	d, err := demo.Start(ctx, o)
	if err != nil {
		t.Fatalf("demo start: %v\n%s", err, out.String())
	}
	t.Cleanup(func() {
		if err := d.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	sb := d.Sandbox
	app := &cli.App{Namespace: sb.Temporal.Namespace, PollInterval: 200 * time.Millisecond,
		Dial: func() (client.Client, error) {
			return client.Dial(client.Options{HostPort: sb.Temporal.Address, Namespace: sb.Temporal.Namespace, Logger: tlog.NewStructuredLogger(quiet)})
		}}
	return &e2e{t: t, ctx: ctx, d: d, app: app}
}

func (e *e2e) cutover(args ...string) (int, string) {
	var o, errb bytes.Buffer
	e.app.Stdout, e.app.Stderr = &o, &errb
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	code := e.app.Run(ctx, args)
	return code, o.String() + errb.String()
}

func (e *e2e) status(id string) workflows.Status {
	e.t.Helper()
	code, o := e.cutover("status", id, "-o", "json")
	var st workflows.Status
	if code != 0 || json.Unmarshal([]byte(o), &st) != nil {
		e.t.Fatalf("status: %d %s", code, o)
	}
	return st
}

// approveWhenOpen waits for gate and approves it.
func (e *e2e) approveWhenOpen(id, gate string) {
	e.t.Helper()
	e.waitGate(id, gate)
	if code, o := e.cutover("approve", id, "--gate", gate, "--by", "alice"); code != 0 {
		e.t.Fatalf("approve %s: %s", gate, o)
	}
}

// waitGate waits until gate is pending.
func (e *e2e) waitGate(id, gate string) {
	e.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		st := e.status(id)
		if slices.ContainsFunc(st.PendingGates, func(p workflows.PendingGate) bool { return p.Gate == gate }) {
			break
		}
		if st.Phase == workflows.PhaseFailed || st.Phase == workflows.PhaseDone {
			e.t.Fatalf("%s: migration ended in %s before gate %s: %s", id, st.Phase, gate, st.LastError)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: timed out waiting for gate %s; phase %s, progress %q", id, gate, st.Phase, st.Progress)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (e *e2e) setAlarm(state cwtypes.StateValue) string {
	e.t.Helper()
	sb := e.d.Sandbox
	cfg, _ := sb.Moto.AWS().ForRegion(e.ctx, sb.Seed.Region)
	alarm := sb.Seed.AlarmNames[0]
	if _, err := cloudwatch.NewFromConfig(cfg, sandbox.CloudWatchJSON).SetAlarmState(e.ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(alarm), StateValue: state, StateReason: aws.String("set by the test")}); err != nil {
		e.t.Fatal(err)
	}
	return alarm
}

// stepGated is s with a gate before each traffic step after the first,
// written to a file for `cutover start -f`.
func (e *e2e) stepGated(s spec.MigrationSpec) string {
	e.t.Helper()
	yes := true
	s.Approvals.EachStep = spec.GateSpec{Enabled: &yes, Timeout: spec.Duration(time.Hour)}
	return e.writeSpec(s)
}

// rollBackAtHalf starts the migration, lets it reach 10% on green and
// sets the alarm while the gate before step 2 waits: the gate's watch must
// roll back without anyone deciding it.
func (e *e2e) rollBackAtHalf(s spec.MigrationSpec) {
	e.t.Helper()
	if code, o := e.cutover("start", "-f", e.stepGated(s)); code != 0 {
		e.t.Fatalf("start: %s", o)
	}
	id := s.WorkflowID()
	e.approveWhenOpen(id, "cutover")
	e.waitGate(id, spec.StepGateName(2))
	alarm := e.setAlarm(cwtypes.StateValueAlarm)
	code, o := e.cutover("watch", id)
	if code != cli.ExitFailed || !strings.Contains(o, "Outcome: rolled-back") || !strings.Contains(o, "alarm "+alarm) || !strings.Contains(o, "while gate") {
		e.t.Fatalf("the run should roll back on the alarm, exit %d:\n%s", code, o)
	}
	e.setAlarm(cwtypes.StateValueOk)
}

// runToTheEnd starts the migration (again) and approves every gate.
func (e *e2e) runToTheEnd(s spec.MigrationSpec) workflows.MigrationReport {
	e.t.Helper()
	if code, o := e.cutover("start", "-f", e.stepGated(s)); code != 0 {
		e.t.Fatalf("start: %s", o)
	}
	id := s.WorkflowID()
	for _, g := range []string{"cutover", spec.StepGateName(2), spec.StepGateName(3), "retire"} {
		e.approveWhenOpen(id, g)
	}
	if code, o := e.cutover("watch", id); code != 0 {
		e.t.Fatalf("run: exit %d\n%s", code, o)
	}
	_, o := e.cutover("result", id, "-o", "json")
	var rep workflows.MigrationReport
	if err := json.Unmarshal([]byte(o), &rep); err != nil || rep.Outcome != workflows.OutcomeSucceeded {
		e.t.Fatalf("report %v: %s", err, o)
	}
	return rep
}

var (
	appGVR    = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}
	appSetGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applicationsets"}
	secretGVR = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
)

// argoObjects lists the Argo CD objects in k's argocd namespace: name ->
// object.
func argoObjects(ctx context.Context, t *testing.T, k *sandbox.Kube, gvr schema.GroupVersionResource, selector string) map[string]*unstructured.Unstructured {
	t.Helper()
	dyn, err := dynamic.NewForConfig(k.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	list, err := dyn.Resource(gvr).Namespace(sandbox.ArgoCDNamespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("list %s on %s: %v", gvr.Resource, k.Name, err)
	}
	out := map[string]*unstructured.Unstructured{}
	for i := range list.Items {
		out[list.Items[i].GetName()] = &list.Items[i]
	}
	return out
}

// argoState is what a rollback must put back exactly on the cluster Argo
// CD runs on: each Application's, ApplicationSet's and AppProject's
// labels, annotations and spec, each cluster Secret's labels, annotations
// and data.
func argoState(ctx context.Context, t *testing.T, k *sandbox.Kube) map[string]any {
	t.Helper()
	state := map[string]any{}
	keep := func(kind string, objs map[string]*unstructured.Unstructured, fields ...string) {
		for name, o := range objs {
			ann := o.GetAnnotations()
			delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
			v := map[string]any{"labels": o.GetLabels(), "annotations": ann}
			for _, f := range fields {
				v[f] = o.Object[f]
			}
			state[kind+" "+name] = v
		}
	}
	keep("Application", argoObjects(ctx, t, k, appGVR, ""), "spec")
	keep("ApplicationSet", argoObjects(ctx, t, k, appSetGVR, ""), "spec")
	keep("Secret", argoObjects(ctx, t, k, secretGVR, "argocd.argoproj.io/secret-type=cluster"), "data")
	keep("AppProject", argoObjects(ctx, t, k, sandbox.AppProjectGVR, ""), "spec")
	return state
}

// assertArgoStateBack waits (up to a minute: the ApplicationSet
// controller removes green's generated applications after the revert)
// for k's Argo CD state to equal before.
func assertArgoStateBack(ctx context.Context, t *testing.T, k *sandbox.Kube, before map[string]any, when string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		now := argoState(ctx, t, k)
		if reflect.DeepEqual(now, before) {
			return
		}
		if time.Now().After(deadline) {
			var diff []string
			for key, v := range before {
				if !reflect.DeepEqual(now[key], v) {
					b, _ := json.Marshal(v)
					a, _ := json.Marshal(now[key])
					diff = append(diff, key+":\n  before "+string(b)+"\n  now    "+string(a))
				}
			}
			for key := range now {
				if _, ok := before[key]; !ok {
					diff = append(diff, key+": not there before")
				}
			}
			sort.Strings(diff)
			t.Fatalf("%s: Argo CD on %s is not as it was:\n%s", when, k.Name, strings.Join(diff, "\n"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// destinationOf is an Application's spec.destination as "name" or "server".
func destinationOf(o *unstructured.Unstructured) string {
	name, _, _ := unstructured.NestedString(o.Object, "spec", "destination", "name")
	server, _, _ := unstructured.NestedString(o.Object, "spec", "destination", "server")
	return name + server
}

// syncedOn reports whether an Application is Synced and Healthy to its
// current destination.
func synced(o *unstructured.Unstructured) bool {
	s, _, _ := unstructured.NestedString(o.Object, "status", "sync", "status")
	h, _, _ := unstructured.NestedString(o.Object, "status", "health", "status")
	return s == "Synced" && h == "Healthy"
}

// TestCopyModeAgainstRealServers: copy mode with Argo CD in blue. Green
// gets an Argo CD of its own at blue's version with blue's applications
// re-pointed to in-cluster; a rollback removes exactly the copies and
// leaves blue's Argo CD as it was; the second run finishes with green's
// Argo CD managing green and blue retired.
func TestCopyModeAgainstRealServers(t *testing.T) {
	// Each brings up its own sandbox; they wait more than they compute.
	t.Parallel()
	e := startE2E(t, demo.Options{})
	ctx, sb := e.ctx, e.d.Sandbox
	s := e.d.Spec
	s.ArgoCD.Mode = spec.ArgoCDModeCopy
	before := argoState(ctx, t, sb.Blue)

	e.rollBackAtHalf(s)
	assertArgoStateBack(ctx, t, sb.Blue, before, "after the copy-mode rollback")
	if apps := argoObjects(ctx, t, sb.Green, appGVR, ""); len(apps) != 0 {
		t.Errorf("after the rollback green's Argo CD still has %d applications", len(apps))
	}
	cs, err := sb.Green.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	sts, err := cs.AppsV1().StatefulSets(sandbox.ArgoCDNamespace).Get(ctx, sandbox.ArgoCDApplicationController, metav1.GetOptions{})
	if err != nil || !strings.HasSuffix(sts.Spec.Template.Spec.Containers[0].Image, ":"+sandbox.ArgoCDVersion) {
		t.Fatalf("green's Argo CD: %v; want %s installed by the copy", err, sandbox.ArgoCDVersion)
	}

	rep := e.runToTheEnd(s)
	if !strings.Contains(rep.ArgoCD, "copy mode") {
		t.Errorf("report says %q about Argo CD", rep.ArgoCD)
	}
	green := argoObjects(ctx, t, sb.Green, appGVR, "")
	for _, name := range sb.BlueObjects.Applications {
		_, n, _ := strings.Cut(name, "/")
		a := green[n]
		if a == nil || destinationOf(a) != "https://kubernetes.default.svc" || !synced(a) {
			t.Errorf("green's application %s: %v; want it in-cluster, Synced and Healthy", n, a)
		}
	}
	// Blue's own Argo CD was never changed by copy mode.
	for name, a := range argoObjects(ctx, t, sb.Blue, appGVR, "") {
		if destinationOf(a) != sb.Seed.Cluster {
			t.Errorf("blue's application %s targets %s", name, destinationOf(a))
		}
	}
}

// TestHubArgoCDAgainstRealServers: Argo CD on a hub cluster manages blue
// with Applications and two ApplicationSets (a cluster generator over
// labelled cluster Secrets, a list generator). A rollback puts the hub
// back exactly as it was; the second run ends with every application and
// generated application targeting green, Synced, blue's generator entries
// removed, and the hub's Argo CD untouched by blue's retirement.
func TestHubArgoCDAgainstRealServers(t *testing.T) {
	// Each brings up its own sandbox; they wait more than they compute.
	t.Parallel()
	e := startE2E(t, demo.Options{ArgoCDOnHub: true})
	ctx, sb := e.ctx, e.d.Sandbox
	if sb.Hub == nil {
		t.Fatal("the sandbox has no hub")
	}
	s := e.d.Spec
	s.ArgoCD.Hub = &spec.ArgoCDHubSpec{ClusterName: sandbox.HubCluster}
	if len(argoObjects(ctx, t, sb.Hub, appSetGVR, "")) != 2 {
		t.Fatal("the hub should have the edge and batch ApplicationSets")
	}
	// The simulated ApplicationSet controller generates blue's applications
	// within seconds of the start: the state to come back to includes them.
	deadline := time.Now().Add(time.Minute)
	for {
		apps := argoObjects(ctx, t, sb.Hub, appGVR, "")
		if apps["blue-edge"] != nil && apps["blue-batch"] != nil && synced(apps["blue-edge"]) && synced(apps["blue-batch"]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("blue's generated applications did not appear: %v", apps)
		}
		time.Sleep(300 * time.Millisecond)
	}
	before := argoState(ctx, t, sb.Hub)

	e.rollBackAtHalf(s)
	assertArgoStateBack(ctx, t, sb.Hub, before, "after the hub rollback")

	rep := e.runToTheEnd(s)
	apps := argoObjects(ctx, t, sb.Hub, appGVR, "")
	for _, n := range []string{"shop", "payments", "monitoring"} {
		if a := apps[n]; a == nil || destinationOf(a) != "green" && destinationOf(a) != strings.TrimRight(sb.Green.Server, "/") || !synced(a) {
			t.Errorf("hub application %s: %v; want it on green, Synced", n, a)
		}
	}
	for _, n := range []string{"green-edge", "green-batch"} {
		if a := apps[n]; a == nil || !synced(a) {
			t.Errorf("generated application %s: %v; want it Synced", n, a)
		}
	}
	for _, n := range []string{"blue-edge", "blue-batch"} {
		if apps[n] != nil {
			t.Errorf("blue's generated application %s is still there after blue was retired", n)
		}
	}
	secrets := argoObjects(ctx, t, sb.Hub, secretGVR, "argocd.argoproj.io/secret-type=cluster")
	for name, sec := range secrets {
		_, has := sec.GetLabels()["cutover.dev/env"]
		isGreen := strings.Contains(name, "green")
		if has != isGreen {
			t.Errorf("cluster secret %s labels %v: want cutover.dev/env on green's only", name, sec.GetLabels())
		}
	}
	hcs, err := sb.Hub.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if sts, err := hcs.AppsV1().StatefulSets(sandbox.ArgoCDNamespace).Get(ctx, sandbox.ArgoCDApplicationController, metav1.GetOptions{}); err != nil || sts.Spec.Replicas == nil || *sts.Spec.Replicas != 1 {
		t.Errorf("the hub's Argo CD controller: %v %v; want it running", sts, err)
	}
	if !strings.Contains(rep.ArgoCD, "hub") {
		t.Errorf("report says %q about Argo CD", rep.ArgoCD)
	}
}
