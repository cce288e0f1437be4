package demo_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/cutover-dev/cutover/workflows"
)

// estateChecksNS holds the objects assertPreflightChecksOnEstate seeds.
const estateChecksNS = "estate-checks"

// assertPreflightChecksOnEstate seeds, on the sandbox's blue (IRSA,
// Argo CD inside, several node group kinds, CronJobs, EKS tokens that
// expire), one object for each preflight check issue 17 added, plus a
// workload that follows every practice, runs a dry run through the CLI, the
// workflow and the real activities, and checks that each check fires on
// its object and none on the clean one. The seeded objects are deleted
// afterwards, so the migrations that follow see the estate as seeded.
func assertPreflightChecksOnEstate(ctx context.Context, t *testing.T, sb *sandbox.Sandbox, base spec.MigrationSpec, cutover func(args ...string) (int, string)) {
	t.Helper()
	cs, err := sb.Blue.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	cleanup := seedEstateChecks(ctx, t, cs)
	defer cleanup()

	s := base
	s.Name = "demo-estate-checks"
	s.DryRun = true
	path := filepath.Join(t.TempDir(), s.Name+".json")
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, o := cutover("start", "-f", path); code != 0 {
		t.Fatalf("start %s: %s", s.Name, o)
	}
	if code, o := cutover("watch", s.WorkflowID(), "-o", "json"); code != 0 {
		t.Fatalf("%s: exit %d:\n%s", s.Name, code, o)
	}
	_, o := cutover("result", s.WorkflowID(), "-o", "json")
	var rep workflows.MigrationReport
	if err := json.Unmarshal([]byte(o), &rep); err != nil {
		t.Fatalf("report of %s: %v\n%s", s.Name, err, o)
	}

	find := func(check, object string) (finding.Finding, bool) {
		for _, f := range rep.Findings {
			if f.Check == check && (object == "" || strings.HasSuffix(f.Object, object)) {
				return f, true
			}
		}
		return finding.Finding{}, false
	}
	fires := []struct {
		check, object string
		severity      finding.Severity // "" when any
		parts         []string
	}{
		{kube.CheckWorkloadDockerSocket, "Deployment estate-checks/legacy-agent", finding.Error, nil},
		{"k8s-gcr-io-frozen", "Deployment estate-checks/legacy-agent", "", []string{"k8s.gcr.io"}},
		{kube.CheckWorkloadSingleReplica, "Deployment estate-checks/legacy-agent", finding.Warning, nil},
		{kube.CheckWorkloadNoReadiness, "Deployment estate-checks/legacy-agent", finding.Warning, nil},
		{kube.CheckStatefulSetZeroGrace, "StatefulSet estate-checks/cache", finding.Error, nil},
		{kube.CheckWorkloadNoSpread, "Deployment estate-checks/web-multi", finding.Info, nil},
		{kube.CheckWorkloadMinReady, "Deployment estate-checks/web-multi", finding.Info, nil},
		{kube.CheckKubeProxySkew, "DaemonSet kube-system/kube-proxy", finding.Error, []string{"behind the control plane"}},
		{kube.CheckRemovedAPI, "policy/v1beta1 PodDisruptionBudget estate-checks/legacy", finding.Error, []string{"configmap estate-checks/sh.helm.release.v1.legacy.v2", "of a List"}},
		{kube.CheckScanIncomplete, "v1 ConfigMap estate-checks/sh.helm.release.v1.legacy.v2", finding.Warning, []string{"legacy/templates/broken.yaml"}},
		{kube.CheckRemovedAPI, "batch/v1beta1 CronJob estate-checks/legacy-report", finding.Error, []string{"legacy/templates/cronjob.yaml"}},
		{kube.CheckRemovedAPI, "policy/v1beta1 PodSecurityPolicy estate-checks/legacy-psp", finding.Error, []string{"hook legacy-psp"}},
		{kube.CheckHelmRevisionAPI, "autoscaling/v2beta2 HorizontalPodAutoscaler estate-checks/legacy", finding.Info, []string{"1 (failed)"}},
		{kube.CheckHelmSQLNotScanned, "", finding.Info, nil},
		{kube.CheckRemovedAPI, "extensions/v1beta1 Ingress estate-checks/bundled-web", finding.Error, []string{"of a List", "last-applied"}},
		{eks.CheckAddonVersionAtTarget, "", finding.Info, []string{base.Green.KubernetesVersion}},
	}
	for _, w := range fires {
		f, ok := find(w.check, w.object)
		if !ok {
			t.Errorf("no %s finding for %q on the seeded estate", w.check, w.object)
			continue
		}
		if w.severity != "" && f.Severity != w.severity {
			t.Errorf("%s %s: severity %s, want %s", w.check, f.Object, f.Severity, w.severity)
		}
		for _, p := range w.parts {
			if !strings.Contains(f.Message+" | "+f.Fix+" | "+f.Object, p) {
				t.Errorf("%s %s: %q lacks %q", w.check, f.Object, f.Message, p)
			}
		}
	}
	// Silent on the clean workload, on the estate's subnets (plenty of free
	// IPs) and on blue's add-ons (all offered at the target).
	for _, f := range rep.Findings {
		switch {
		case strings.Contains(f.Object, estateChecksNS+"/clean"):
			t.Errorf("the clean workload is reported: %+v", f)
		case strings.HasPrefix(f.Check, "subnet-"), f.Check == eks.CheckAddonIncompatible:
			t.Errorf("finding on the seeded estate: %+v", f)
		}
	}
	if t.Failed() {
		for _, f := range rep.Findings {
			t.Logf("  %s [%s] %s: %s", f.Check, f.Severity, f.Object, f.Message)
		}
	}
}

// seedEstateChecks creates the objects of assertPreflightChecksOnEstate on
// blue and returns what deletes them again.
func seedEstateChecks(ctx context.Context, t *testing.T, cs kubernetes.Interface) func() {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: estateChecksNS}}, metav1.CreateOptions{})
	must(err)
	int32p := func(i int32) *int32 { return &i }
	int64p := func(i int64) *int64 { return &i }
	readiness := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}
	spread := []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}}}}
	template := func(app string, c corev1.Container) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
	}
	deployment := func(name string, replicas int32, minReady int32, tpl corev1.PodTemplateSpec) {
		t.Helper()
		_, err := cs.AppsV1().Deployments(estateChecksNS).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: int32p(replicas), MinReadySeconds: minReady, Selector: &metav1.LabelSelector{MatchLabels: tpl.Labels}, Template: tpl}}, metav1.CreateOptions{})
		must(err)
	}

	// An old log agent: one replica, no readinessProbe, the Docker socket,
	// an image from the frozen k8s.gcr.io.
	agent := template("legacy-agent", corev1.Container{Name: "fluentd", Image: "k8s.gcr.io/fluentd-elasticsearch:v2.4.0",
		VolumeMounts: []corev1.VolumeMount{{Name: "docker", MountPath: "/var/run/docker.sock"}}})
	agent.Spec.Volumes = []corev1.Volume{{Name: "docker", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}}}
	deployment("legacy-agent", 1, 0, agent)
	// Two replicas, probed, but no spread and minReadySeconds 0.
	deployment("web-multi", 2, 0, template("web-multi", corev1.Container{Name: "web", Image: "public.ecr.aws/nginx/nginx:1.27", ReadinessProbe: readiness}))
	// A workload that follows every practice.
	clean := template("clean", corev1.Container{Name: "web", Image: "public.ecr.aws/nginx/nginx:1.27", ReadinessProbe: readiness})
	clean.Spec.TopologySpreadConstraints = spread
	deployment("clean", 3, 10, clean)
	one := intstr.FromInt32(1)
	_, err = cs.PolicyV1().PodDisruptionBudgets(estateChecksNS).Create(ctx, &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "clean"},
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &one, Selector: &metav1.LabelSelector{MatchLabels: clean.Labels}}}, metav1.CreateOptions{})
	must(err)
	// A StatefulSet killed without a grace period.
	cache := template("cache", corev1.Container{Name: "redis", Image: "public.ecr.aws/docker/library/redis:7", ReadinessProbe: readiness})
	cache.Spec.TerminationGracePeriodSeconds = int64p(0)
	cache.Spec.TopologySpreadConstraints = spread
	_, err = cs.AppsV1().StatefulSets(estateChecksNS).Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "cache"},
		Spec: appsv1.StatefulSetSpec{Replicas: int32p(2), ServiceName: "cache", Selector: &metav1.LabelSelector{MatchLabels: cache.Labels}, Template: cache}}, metav1.CreateOptions{})
	must(err)
	// A self-managed kube-proxy four minors behind blue's 1.29.
	proxy := template("kube-proxy", corev1.Container{Name: "kube-proxy", Image: "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy:v1.25.16-eksbuild.2"})
	_, err = cs.AppsV1().DaemonSets("kube-system").Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "kube-proxy"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: proxy.Labels}, Template: proxy}}, metav1.CreateOptions{})
	must(err)

	// A Helm release kept by the ConfigMap driver: revision 2 deployed, its
	// manifest a List with a removed PDB, a broken document, a removed
	// CronJob after it, and a hook with a PodSecurityPolicy; revision 1
	// failed with a removed HPA.
	doc := func(src, apiVersion, kind, name string) string {
		return "---\n# Source: " + src + "\napiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n"
	}
	release := func(version int, status, manifest string, hooks []kube.HelmHook) {
		t.Helper()
		data, err := kube.EncodeHelmRelease(map[string]any{"name": "legacy", "namespace": estateChecksNS, "version": version,
			"info": map[string]any{"status": status}, "chart": map[string]any{"metadata": map[string]any{"name": "legacy", "version": "0.9.0"}},
			"manifest": manifest, "hooks": hooks})
		must(err)
		v := []string{"", "1", "2"}[version]
		_, err = cs.CoreV1().ConfigMaps(estateChecksNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.legacy.v" + v,
			Labels: map[string]string{"owner": "helm", "name": "legacy", "status": status, "version": v}},
			Data: map[string]string{"release": string(data)}}, metav1.CreateOptions{})
		must(err)
	}
	release(1, "failed", doc("legacy/templates/hpa.yaml", "autoscaling/v2beta2", "HorizontalPodAutoscaler", "legacy"), nil)
	release(2, "deployed",
		"---\n# Source: legacy/templates/pdb.yaml\napiVersion: v1\nkind: List\nitems:\n- apiVersion: policy/v1beta1\n  kind: PodDisruptionBudget\n  metadata: {name: legacy}\n"+
			"---\n# Source: legacy/templates/broken.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n"+
			doc("legacy/templates/cronjob.yaml", "batch/v1beta1", "CronJob", "legacy-report"),
		[]kube.HelmHook{{Name: "legacy-psp", Kind: "PodSecurityPolicy", Path: "legacy/templates/psp.yaml", Events: []string{"pre-install"},
			Manifest: doc("legacy/templates/psp.yaml", "policy/v1beta1", "PodSecurityPolicy", "legacy-psp")}})
	// A bundle applied as a List by a tool that keeps it in last-applied.
	_, err = cs.CoreV1().ConfigMaps(estateChecksNS).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bundle",
		Annotations: map[string]string{kube.LastAppliedAnnotation: `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"extensions/v1beta1","kind":"Ingress","metadata":{"name":"bundled-web","namespace":"estate-checks"}}]}`}}},
		metav1.CreateOptions{})
	must(err)

	return func() {
		del := metav1.DeleteOptions{}
		for _, n := range []string{"legacy-agent", "web-multi", "clean"} {
			_ = cs.AppsV1().Deployments(estateChecksNS).Delete(ctx, n, del)
		}
		_ = cs.AppsV1().StatefulSets(estateChecksNS).Delete(ctx, "cache", del)
		_ = cs.AppsV1().DaemonSets("kube-system").Delete(ctx, "kube-proxy", del)
		_ = cs.PolicyV1().PodDisruptionBudgets(estateChecksNS).Delete(ctx, "clean", del)
		for _, n := range []string{"sh.helm.release.v1.legacy.v1", "sh.helm.release.v1.legacy.v2", "bundle"} {
			_ = cs.CoreV1().ConfigMaps(estateChecksNS).Delete(ctx, n, del)
		}
		// The sandbox runs no namespace controller: with the namespace
		// empty, finalize it as that controller would, so the migrations
		// that follow find blue's namespaces as seeded.
		if err := cs.CoreV1().Namespaces().Delete(ctx, estateChecksNS, del); err != nil {
			t.Errorf("delete namespace %s: %v", estateChecksNS, err)
			return
		}
		ns, err := cs.CoreV1().Namespaces().Get(ctx, estateChecksNS, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		if err == nil {
			ns.Spec.Finalizers = nil
			_, err = cs.CoreV1().Namespaces().Finalize(ctx, ns, metav1.UpdateOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("finalize namespace %s: %v", estateChecksNS, err)
		}
	}
}
