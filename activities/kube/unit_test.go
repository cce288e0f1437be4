package kube

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/cutover-dev/cutover/internal/finding"
)

func TestHelmReleaseRoundTripAndManifest(t *testing.T) {
	data, err := EncodeHelmRelease(map[string]any{"name": "web", "namespace": "shop", "version": 4,
		"info": map[string]any{"status": "deployed"}, "chart": map[string]any{"metadata": map[string]any{"name": "web", "version": "2.0.1"}},
		"manifest": "---\n# Source: web/templates/a.yaml\napiVersion: extensions/v1beta1\nkind: Ingress\nmetadata:\n  name: web\n  namespace: edge\n---\n# Source: web/templates/empty.yaml\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n"})
	if err != nil {
		t.Fatal(err)
	}
	rel, err := DecodeHelmRelease(data)
	if err != nil {
		t.Fatal(err)
	}
	if rel.Name != "web" || rel.Namespace != "shop" || rel.Version != 4 || rel.Info.Status != "deployed" || rel.Chart.Metadata.Version != "2.0.1" {
		t.Fatalf("release %+v", rel)
	}
	objs, bad := ManifestObjects(rel.Manifest)
	if len(bad) != 0 {
		t.Fatal(bad)
	}
	want := []ManifestObject{
		{APIVersion: "extensions/v1beta1", Kind: "Ingress", Name: "web", Namespace: "edge", Source: "web/templates/a.yaml"},
		{APIVersion: "v1", Kind: "Service", Name: "web"},
	}
	if len(objs) != len(want) || objs[0] != want[0] || objs[1] != want[1] {
		t.Fatalf("objects %+v, want %+v", objs, want)
	}
	if _, err := DecodeHelmRelease([]byte("not base64!")); err == nil {
		t.Fatal("garbage decoded")
	}
}

// TestManifestObjectsListsAndBadDocuments: the items of a List (nested
// too, and a typed ...List) are objects; a document that does not decode
// is reported and the documents after it are read.
func TestManifestObjectsListsAndBadDocuments(t *testing.T) {
	manifest := `---
# Source: web/templates/list.yaml
apiVersion: v1
kind: List
items:
- apiVersion: policy/v1beta1
  kind: PodDisruptionBudget
  metadata: {name: web}
- apiVersion: v1
  kind: List
  items:
  - {apiVersion: batch/v1beta1, kind: CronJob, metadata: {name: report, namespace: ops}}
- 42
---
# Source: web/templates/broken.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: [unclosed
---
# Source: web/templates/typed.yaml
apiVersion: v1
kind: ServiceList
items:
- {apiVersion: v1, kind: Service, metadata: {name: web}}
---
# Source: web/templates/after.yaml
apiVersion: extensions/v1beta1
kind: Ingress
metadata:
  name: web
`
	objs, bad := ManifestObjects(manifest)
	want := []ManifestObject{
		{APIVersion: "policy/v1beta1", Kind: "PodDisruptionBudget", Name: "web", Source: "web/templates/list.yaml", Item: "items[0]"},
		{APIVersion: "batch/v1beta1", Kind: "CronJob", Name: "report", Namespace: "ops", Source: "web/templates/list.yaml", Item: "items[1].items[0]"},
		{APIVersion: "v1", Kind: "Service", Name: "web", Source: "web/templates/typed.yaml", Item: "items[0]"},
		{APIVersion: "extensions/v1beta1", Kind: "Ingress", Name: "web", Source: "web/templates/after.yaml"},
	}
	if len(objs) != len(want) {
		t.Fatalf("objects %+v, want %+v", objs, want)
	}
	for i := range want {
		if objs[i] != want[i] {
			t.Errorf("object %d: %+v, want %+v", i, objs[i], want[i])
		}
	}
	if len(bad) != 2 || bad[0].Index != 1 || !strings.Contains(bad[0].Err, "items[2]") ||
		bad[1].Index != 2 || bad[1].Source != "web/templates/broken.yaml" {
		t.Errorf("bad documents %+v; want the List's item 2 and document 2 (broken.yaml)", bad)
	}
}

func TestParseDeprecatedAPIMetric(t *testing.T) {
	body := `# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",verb="GET"} 12
# HELP apiserver_requested_deprecated_apis [STABLE] Gauge of deprecated APIs that have been requested, broken out by API group, version, resource, subresource, and removed_release.
# TYPE apiserver_requested_deprecated_apis gauge
apiserver_requested_deprecated_apis{group="flowcontrol.apiserver.k8s.io",removed_release="1.32",resource="flowschemas",subresource="",version="v1beta3"} 1
apiserver_requested_deprecated_apis{group="",removed_release="",resource="componentstatuses",subresource="",version="v1"} 1
`
	got, err := parseDeprecatedAPIMetric(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d samples: %+v", len(got), got)
	}
	var fs deprecatedRequest
	for _, r := range got {
		if r.Resource == "flowschemas" {
			fs = r
		}
	}
	if fs.Group != "flowcontrol.apiserver.k8s.io" || fs.Version != "v1beta3" || fs.RemovedRelease != "1.32" {
		t.Fatalf("flowschemas sample %+v", fs)
	}
	if got, err := parseDeprecatedAPIMetric(strings.NewReader("up 1\n")); err != nil || len(got) != 0 {
		t.Fatalf("no family: %+v %v", got, err)
	}
}

func TestPDBBlocksEviction(t *testing.T) {
	pdb := func(mu, ma *intstr.IntOrString) *policyv1.PodDisruptionBudget {
		return &policyv1.PodDisruptionBudget{Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: mu, MinAvailable: ma}}
	}
	i := func(v int32) *intstr.IntOrString { x := intstr.FromInt32(v); return &x }
	s := func(v string) *intstr.IntOrString { x := intstr.FromString(v); return &x }
	for _, tc := range []struct {
		name     string
		pdb      *policyv1.PodDisruptionBudget
		expected int
		blocks   bool
	}{
		{"maxUnavailable 0", pdb(i(0), nil), 3, true},
		{"maxUnavailable 0%", pdb(s("0%"), nil), 3, true},
		{"maxUnavailable 0 without workloads", pdb(i(0), nil), -1, true},
		{"maxUnavailable 1", pdb(i(1), nil), 3, false},
		{"maxUnavailable 10% rounds up", pdb(s("10%"), nil), 3, false},
		{"minAvailable == replicas", pdb(nil, i(3)), 3, true},
		{"minAvailable > replicas", pdb(nil, i(5)), 3, true},
		{"minAvailable < replicas", pdb(nil, i(2)), 3, false},
		{"minAvailable 100%", pdb(nil, s("100%")), -1, true},
		{"minAvailable 90% of 3 rounds up to 3", pdb(nil, s("90%")), 3, true},
		{"minAvailable 50%", pdb(nil, s("50%")), 4, false},
		{"minAvailable unknown replicas", pdb(nil, i(2)), -1, false},
	} {
		if got := pdbBlocksEviction(tc.pdb, tc.expected) != ""; got != tc.blocks {
			t.Errorf("%s: blocks=%v, want %v", tc.name, got, tc.blocks)
		}
	}
}

func TestKubeletSkew(t *testing.T) {
	node := func(v string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{KubeletVersion: v}}}
	}
	checks := func(fs []finding.Finding) string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Check+"/"+string(f.Severity))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		kubelet    string
		cp, target int
		want       string
	}{
		{"v1.31.2", 31, 32, ""},
		{"v1.28.2", 31, 31, ""},                                 // 3 behind: allowed since 1.28
		{"v1.28.2", 31, 32, "node-version-skew-target/warning"}, // 4 behind the target
		{"v1.27.2", 31, 32, "node-version-skew/error,node-version-skew-target/warning"}, // 4 behind
		{"v1.25.2", 27, 27, ""}, // 2 behind before 1.28: allowed
		{"v1.24.2", 27, 27, "node-version-skew/error,node-version-skew-target/warning"}, // 3 behind before 1.28
		{"v1.32.0", 31, 32, "node-version-skew/error"},                                  // newer than the apiserver
		{"v1.29.0", 31, 33, "node-version-skew-target/warning"},
	} {
		got := checks(kubeletSkew(node(tc.kubelet), "v1."+itoa(tc.cp)+".0", tc.cp, "1."+itoa(tc.target), tc.target))
		if got != tc.want {
			t.Errorf("kubelet %s, cp 1.%d, target 1.%d: %q, want %q", tc.kubelet, tc.cp, tc.target, got, tc.want)
		}
	}
}

func TestPodFindings(t *testing.T) {
	now := time.Now()
	pending := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Status: corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Message: "0/3 nodes are available: 3 Insufficient cpu."}}}}
	fs := podFindings(pending, now, 10*time.Minute)
	if len(fs) != 1 || fs[0].Check != CheckPodPending || !strings.Contains(fs[0].Message, "Pending for 1h0m0s: 0/3 nodes are available") {
		t.Fatalf("pending: %+v", fs)
	}
	if fs := podFindings(pending, now, 2*time.Hour); len(fs) != 0 {
		t.Fatalf("young pending pod reported: %+v", fs)
	}
	failedJob := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "ns", OwnerReferences: []metav1.OwnerReference{{Kind: "Job", Name: "j"}}},
		Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Error"}}
	if fs := podFindings(failedJob, now, time.Minute); len(fs) != 1 || fs[0].Severity != finding.Info {
		t.Fatalf("failed job pod: %+v", fs)
	}
	pull := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "i", Namespace: "ns"}, Status: corev1.PodStatus{Phase: corev1.PodRunning,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "c", Image: "nope:1", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}}}
	if fs := podFindings(pull, now, time.Minute); len(fs) != 1 || fs[0].Check != CheckPodImagePull {
		t.Fatalf("image pull: %+v", fs)
	}
}

func TestCollectorCapsAndDedupes(t *testing.T) {
	c := newCollector("blue", 2)
	for i := 0; i < 5; i++ {
		c.add(finding.Finding{Check: "x", Object: string(rune('a' + i)), Severity: finding.Warning, Message: "m"})
	}
	c.add(finding.Finding{Check: "x", Object: "z", Severity: finding.Error, Message: "m"})
	c.add(finding.Finding{Check: "y", Object: "a", Severity: finding.Info, Message: "m"})
	c.add(finding.Finding{Check: "y", Object: "a", Severity: finding.Info, Message: "m"}) // duplicate
	fs := c.findings()
	if len(fs) != 4 {
		t.Fatalf("%d findings: %+v", len(fs), fs)
	}
	last := fs[3]
	if last.Check != "x" || last.Severity != finding.Error || !strings.HasPrefix(last.Message, "4 more") || last.Cluster != "blue" {
		t.Fatalf("overflow finding %+v", last)
	}
	// Every object past the cap is still named.
	if strings.Join(last.Objects, ",") != "c,d,e,z" {
		t.Fatalf("overflow objects %v, want c,d,e,z", last.Objects)
	}
}

func TestWorkloadStatusMessages(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: 3},
		Spec: appsv1.DeploymentSpec{Replicas: i32(3)}, Status: appsv1.DeploymentStatus{AvailableReplicas: 3, ObservedGeneration: 2}}
	if s := DeploymentStatus(d); s.Ready || s.Message != "deployment shop/web: 3/3 replicas available (status is for generation 2, spec is generation 3)" {
		t.Fatalf("stale deployment: %+v", s)
	}
	d.Status.ObservedGeneration = 0 // nobody reported a generation: trust the counts
	if s := DeploymentStatus(d); !s.Ready {
		t.Fatalf("deployment: %+v", s)
	}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ops"}, Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 4, NumberAvailable: 3}}
	if s := DaemonSetStatus(ds); s.Ready || s.Message != "daemonset ops/agent: 3/4 pods available" {
		t.Fatalf("daemonset: %+v", s)
	}
}

func TestBuildK6JobAndResult(t *testing.T) {
	j := BuildK6Job(K6Job{Namespace: "loadtest", Name: "cutover-k6-abc-2", Image: "grafana/k6:0.54.0", ConfigMap: "smoke", ScriptKey: "script.js",
		Labels: map[string]string{LabelSmokeRun: "abc"}, Deadline: 90 * time.Second})
	spec := j.Spec
	c := spec.Template.Spec.Containers[0]
	switch {
	case *spec.BackoffLimit != 0, *spec.ActiveDeadlineSeconds != 90, spec.TTLSecondsAfterFinished == nil:
		t.Errorf("job spec %+v", spec)
	case spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever:
		t.Errorf("restart policy %s", spec.Template.Spec.RestartPolicy)
	case strings.Join(c.Args, " ") != "run --no-color /scripts/script.js" || c.Image != "grafana/k6:0.54.0":
		t.Errorf("container %v %s", c.Args, c.Image)
	case spec.Template.Spec.Volumes[0].ConfigMap.Name != "smoke" || c.VolumeMounts[0].MountPath != "/scripts":
		t.Errorf("script volume %+v", spec.Template.Spec.Volumes)
	case j.Labels[LabelSmokeRun] != "abc" || spec.Template.Labels[LabelSmokeRun] != "abc":
		t.Errorf("labels %v", j.Labels)
	}
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: "loadtest", Name: "k"}}
	if done, _, msg := K6JobResult(job); done || !strings.Contains(msg, "still running") {
		t.Errorf("running: %v %q", done, msg)
	}
	job.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded", Message: "Job was active longer than specified deadline"}}
	if done, passed, msg := K6JobResult(job); !done || passed || msg != "k6 job loadtest/k failed: DeadlineExceeded: Job was active longer than specified deadline" {
		t.Errorf("failed: %v %v %q", done, passed, msg)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "n", Name: "c"}, Data: map[string]string{"a.js": "x", "b.js": "y"}}
	if _, err := scriptKey(cm); err == nil || !strings.Contains(err.Error(), "a.js, b.js") {
		t.Errorf("ambiguous script: %v", err)
	}
	cm.Data["script.js"] = "z"
	if k, err := scriptKey(cm); err != nil || k != "script.js" {
		t.Errorf("script.js: %q %v", k, err)
	}
}

func TestScratchNamesAreStablePerRun(t *testing.T) {
	a, b := ScratchName("wf-1/run-a", 1), ScratchName("wf-1/run-a", 2)
	if a == b || a[:len(a)-2] != b[:len(b)-2] || len(a) > 63 {
		t.Fatalf("%q %q", a, b)
	}
	if ScratchName("other", 1) == a {
		t.Fatal("different runs share a name")
	}
}
