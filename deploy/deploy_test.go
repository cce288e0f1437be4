// Package deploy_test checks what ships in deploy/: the Helm chart renders
// and lints with a real helm, and every object it renders decodes as the
// Kubernetes type it claims to be, wired the way the worker expects.
package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// helmBin is the helm that make tools built.
func helmBin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join("..", "bin", "helm")
	if dir := os.Getenv("CUTOVER_TOOLS_DIR"); dir != "" {
		bin = filepath.Join(dir, "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm not found at %s: run `make tools`", bin)
	}
	return bin
}

func helm(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(helmBin(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// templateArgs is `helm template` of the chart as release rel with sets.
func templateArgs(sets ...string) []string {
	args := []string{"template", "rel", filepath.Join("helm", "cutover")}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

// renderRefused runs helm template with sets, which must fail, and returns
// helm's output (its reason).
func renderRefused(t *testing.T, sets ...string) string {
	t.Helper()
	out, err := exec.Command(helmBin(t), templateArgs(sets...)...).CombinedOutput()
	if err == nil {
		t.Errorf("helm template --set %s rendered; want it refused", strings.Join(sets, " --set "))
	}
	return string(out)
}

func render(t *testing.T, sets ...string) []runtime.Object {
	t.Helper()
	var objs []runtime.Object
	for _, doc := range strings.Split(helm(t, templateArgs(sets...)...), "\n---") {
		if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(doc), "---")) == "" {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode([]byte(doc), nil, nil)
		if runtime.IsNotRegisteredError(err) {
			// A CRD's kind (a ServiceMonitor): kept as unstructured.
			u := &unstructured.Unstructured{}
			if err = yaml.Unmarshal([]byte(doc), &u.Object); err == nil {
				obj = u
			}
		}
		if err != nil {
			t.Fatalf("rendered object does not decode: %v\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
	return objs
}

func deployment(t *testing.T, objs []runtime.Object, name string) *appsv1.Deployment {
	t.Helper()
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok && d.Name == name {
			return d
		}
	}
	t.Fatalf("no Deployment %s rendered", name)
	return nil
}

func env(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
		if e.ValueFrom != nil {
			b, _ := json.Marshal(e.ValueFrom)
			m[e.Name] = string(b)
		}
	}
	return m
}

func TestChartLints(t *testing.T) {
	out := helm(t, "lint", filepath.Join("helm", "cutover"), "--strict")
	if !strings.Contains(out, "0 chart(s) failed") {
		t.Fatalf("helm lint:\n%s", out)
	}
}

func TestChartDefaults(t *testing.T) {
	objs := render(t)
	w := deployment(t, objs, "rel-worker")
	c := w.Spec.Template.Spec.Containers[0]
	e := env(c)
	if e["TEMPORAL_ADDRESS"] == "" || e["CUTOVER_TASK_QUEUE"] != "cutover" || e["CUTOVER_METRICS_ADDR"] != "0.0.0.0:9464" {
		t.Errorf("worker env %v", e)
	}
	if c.Command[0] != "/cutover-worker" || c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("worker container %+v", c)
	}
	if sc := w.Spec.Template.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("worker must run as non-root")
	}
	if w.Spec.Template.Spec.ServiceAccountName != "cutover" {
		t.Errorf("service account %q", w.Spec.Template.Spec.ServiceAccountName)
	}
	for _, o := range objs {
		if d, ok := o.(*appsv1.Deployment); ok && d.Name == "rel-chatops" {
			t.Error("chatops is rendered although chatops.enabled is false")
		}
	}
}

func TestChartChatopsWithTemporalCloud(t *testing.T) {
	objs := render(t, "chatops.enabled=true", "temporal.tlsSecret=temporal-mtls", "temporal.apiKeySecret=temporal-key")
	for _, name := range []string{"rel-worker", "rel-chatops"} {
		d := deployment(t, objs, name)
		c := d.Spec.Template.Spec.Containers[0]
		e := env(c)
		if !strings.Contains(e["TEMPORAL_API_KEY"], "temporal-key") || e["TEMPORAL_TLS_CLIENT_CERT_PATH"] != "/etc/temporal-tls/tls.crt" {
			t.Errorf("%s env %v", name, e)
		}
		if len(c.VolumeMounts) != 1 || len(d.Spec.Template.Spec.Volumes) != 1 || d.Spec.Template.Spec.Volumes[0].Secret.SecretName != "temporal-mtls" {
			t.Errorf("%s does not mount the TLS secret: mounts %v volumes %v", name, c.VolumeMounts, d.Spec.Template.Spec.Volumes)
		}
	}
	chat := deployment(t, objs, "rel-chatops").Spec.Template.Spec.Containers[0]
	if strings.Join(chat.Command, " ") != "/cutover chatops serve --addr 0.0.0.0:8080" || len(chat.EnvFrom) != 1 {
		t.Errorf("chatops container %+v", chat)
	}
	var svc *corev1.Service
	for _, o := range objs {
		if s, ok := o.(*corev1.Service); ok && s.Name == "rel-chatops" {
			svc = s
		}
	}
	if svc == nil || svc.Spec.Ports[0].Port != 8080 {
		t.Errorf("chatops service %+v", svc)
	}
}

// restricted fails unless the pod passes Pod Security's "restricted" level
// (the fields it checks: non-root, RuntimeDefault seccomp, no privilege
// escalation, all capabilities dropped).
func restricted(t *testing.T, name string, p corev1.PodSpec) {
	t.Helper()
	sc := p.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod securityContext %+v: want runAsNonRoot and seccompProfile RuntimeDefault", name, sc)
	}
	for _, c := range p.Containers {
		cs := c.SecurityContext
		if cs == nil || cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation || cs.Capabilities == nil || len(cs.Capabilities.Drop) != 1 || cs.Capabilities.Drop[0] != "ALL" {
			t.Errorf("%s/%s: container securityContext %+v", name, c.Name, cs)
		}
		if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: no memory request and limit: %+v", name, c.Name, c.Resources)
		}
	}
}

// TestChartProduction: what an SRE sets for a real cluster renders as they
// meant it: the Slack token and extra environment reach the worker, both
// pods pass Pod Security "restricted", the worker's readiness is /readyz,
// a PodDisruptionBudget keeps a worker through drains, and chatops gets an
// HTTPS Ingress.
func TestChartProduction(t *testing.T) {
	objs := render(t, "chatops.enabled=true", "worker.slackSecret=cutover-slack-bot",
		"worker.extraEnv[0].name=AWS_REGION", "worker.extraEnv[0].value=eu-west-1",
		"worker.tuning.workflowTaskPollers=8", "worker.tuning.activityTaskPollers=8",
		"worker.envFrom[0].configMapRef.name=proxy", "chatops.extraEnv[0].name=HTTPS_PROXY", "chatops.extraEnv[0].value=http://proxy:3128",
		"chatops.ingress.enabled=true", "chatops.ingress.className=alb", "chatops.ingress.host=cutover.example.com", "chatops.ingress.tlsSecret=cutover-tls")
	w := deployment(t, objs, "rel-worker")
	wc := w.Spec.Template.Spec.Containers[0]
	if e := env(wc); e["AWS_REGION"] != "eu-west-1" || e["CUTOVER_TASK_QUEUE"] != "cutover" ||
		e["CUTOVER_WORKFLOW_TASK_POLLERS"] != "8" || e["CUTOVER_ACTIVITY_TASK_POLLERS"] != "8" || e["CUTOVER_MAX_CONCURRENT_ACTIVITIES"] != "" {
		t.Errorf("worker env %v", e)
	}
	if len(wc.EnvFrom) != 2 || wc.EnvFrom[0].SecretRef == nil || wc.EnvFrom[0].SecretRef.Name != "cutover-slack-bot" || wc.EnvFrom[1].ConfigMapRef == nil || wc.EnvFrom[1].ConfigMapRef.Name != "proxy" {
		t.Errorf("worker envFrom %+v", wc.EnvFrom)
	}
	if wc.ReadinessProbe == nil || wc.ReadinessProbe.HTTPGet.Path != "/readyz" || wc.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("worker probes: readiness %+v liveness %+v", wc.ReadinessProbe, wc.LivenessProbe)
	}
	restricted(t, "rel-worker", w.Spec.Template.Spec)
	ch := deployment(t, objs, "rel-chatops")
	if e := env(ch.Spec.Template.Spec.Containers[0]); e["HTTPS_PROXY"] != "http://proxy:3128" || e["CUTOVER_SLACK_USERS"] != "" {
		t.Errorf("chatops env %v", e)
	}
	restricted(t, "rel-chatops", ch.Spec.Template.Spec)

	// The worker's metrics Service, and helm test's pod that asks it for /readyz.
	var svc *corev1.Service
	var testPod *corev1.Pod
	for _, o := range objs {
		switch v := o.(type) {
		case *corev1.Service:
			if v.Name == "rel-worker" {
				svc = v
			}
		case *corev1.Pod:
			testPod = v
		case *unstructured.Unstructured:
			t.Errorf("a %s rendered without serviceMonitor.enabled", v.GetKind())
		}
	}
	if svc == nil || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 9464 || svc.Spec.Selector["app.kubernetes.io/component"] != "worker" {
		t.Errorf("worker Service %+v", svc)
	}
	if testPod == nil || testPod.Annotations["helm.sh/hook"] != "test" || !strings.Contains(strings.Join(testPod.Spec.Containers[0].Command, " "), "http://rel-worker:9464/readyz") {
		t.Fatalf("helm test pod %+v", testPod)
	}
	restricted(t, testPod.Name, testPod.Spec)

	var sm *unstructured.Unstructured
	for _, o := range render(t, "worker.serviceMonitor.enabled=true", "worker.serviceMonitor.labels.release=prometheus", "worker.serviceMonitor.interval=15s") {
		if u, ok := o.(*unstructured.Unstructured); ok && u.GetKind() == "ServiceMonitor" {
			sm = u
		}
	}
	if sm == nil || sm.GetLabels()["release"] != "prometheus" {
		t.Fatalf("ServiceMonitor %v", sm)
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if len(eps) != 1 || eps[0].(map[string]any)["port"] != "metrics" || eps[0].(map[string]any)["interval"] != "15s" || sel["app.kubernetes.io/component"] != "worker" {
		t.Errorf("ServiceMonitor endpoints %v, selector %v", eps, sel)
	}
	if out := renderRefused(t, "worker.serviceMonitor.interval=often"); !strings.Contains(out, "interval") {
		t.Errorf("a bad interval was refused without naming it: %s", out)
	}

	var pdb *policyv1.PodDisruptionBudget
	var ing *networkingv1.Ingress
	for _, o := range objs {
		switch v := o.(type) {
		case *policyv1.PodDisruptionBudget:
			pdb = v
		case *networkingv1.Ingress:
			ing = v
		}
	}
	if pdb == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/component"] != "worker" {
		t.Errorf("worker PodDisruptionBudget %+v", pdb)
	}
	if ing == nil || *ing.Spec.IngressClassName != "alb" || ing.Spec.TLS[0].SecretName != "cutover-tls" || ing.Spec.TLS[0].Hosts[0] != "cutover.example.com" ||
		ing.Spec.Rules[0].Host != "cutover.example.com" || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "rel-chatops" {
		t.Errorf("chatops Ingress %+v", ing)
	}

	// One replica: no budget (it would block every drain).
	for _, o := range render(t, "worker.replicas=1") {
		if _, ok := o.(*policyv1.PodDisruptionBudget); ok {
			t.Error("a PodDisruptionBudget for a single worker blocks node drains")
		}
	}
	// An Ingress without TLS is refused at render time: Slack calls HTTPS only.
	if out := renderRefused(t, "chatops.enabled=true", "chatops.ingress.enabled=true", "chatops.ingress.host=cutover.example.com"); !strings.Contains(out, "chatops.ingress.tlsSecret is required") {
		t.Errorf("Ingress without TLS: want the TLS refusal in:\n%s", out)
	}
}

// TestChartValuesSchema: values.schema.json refuses a misspelt key, a
// second chatops replica (its replay guard is per process) and a bad log
// format at render time, naming the field.
func TestChartValuesSchema(t *testing.T) {
	for _, c := range []struct{ set, want string }{
		{"worker.replica=3", "at '/worker': additional properties 'replica' not allowed"},
		{"chatops.replicas=2", "at '/chatops/replicas'"},
		{"worker.logFormat=xml", "at '/worker/logFormat'"},
		{"worker.tuning.workflowTaskPollers=1", "at '/worker/tuning/workflowTaskPollers'"},
		{"chatops.userMap.alice=U0123", "'alice' does not match pattern '^[UW][A-Z0-9]+$'"},
	} {
		if out := renderRefused(t, c.set); !strings.Contains(out, c.want) {
			t.Errorf("--set %s: want %q in:\n%s", c.set, c.want, out)
		}
	}
}

// TestChartImageFollowsAppVersion: by default both containers run the
// image of the chart's appVersion (image.tag is empty); an explicit tag
// overrides it, and the schema refuses one that is no image tag.
func TestChartImageFollowsAppVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("helm", "cutover", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &chart); err != nil || chart.AppVersion == "" {
		t.Fatalf("Chart.yaml: appVersion %q: %v", chart.AppVersion, err)
	}
	images := func(sets ...string) map[string]string {
		objs := render(t, append([]string{"chatops.enabled=true"}, sets...)...)
		m := map[string]string{}
		for _, name := range []string{"rel-worker", "rel-chatops"} {
			m[name] = deployment(t, objs, name).Spec.Template.Spec.Containers[0].Image
		}
		return m
	}
	for name, image := range images() {
		if want := "ghcr.io/cutover-dev/cutover:" + chart.AppVersion; image != want {
			t.Errorf("%s runs %s by default, want the appVersion's %s", name, image, want)
		}
	}
	for name, image := range images("image.tag=0.2.0-rc.1", "image.repository=registry.example.com/cutover") {
		if image != "registry.example.com/cutover:0.2.0-rc.1" {
			t.Errorf("%s runs %s, want the tag that was set", name, image)
		}
	}
	if out := renderRefused(t, "image.tag=latest:1"); !strings.Contains(out, "at '/image/tag'") {
		t.Errorf("a tag with a colon: want the schema to refuse /image/tag in:\n%s", out)
	}
}
