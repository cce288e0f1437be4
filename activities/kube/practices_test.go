package kube

import (
	"github.com/cutover-dev/cutover/internal/breaking"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// goodPod follows every practice.
func goodPod(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}}, Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: app, Image: "public.ecr.aws/nginx/nginx:1.27",
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}}}},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "topology.kubernetes.io/zone", WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}},
	}}
}

// TestWorkloadPractices: on a real apiserver, each practice fires on the
// workload made to break it, and none fires on the workloads that follow
// them all (nor in kube-system).
func TestWorkloadPractices(t *testing.T) {
	c := startCluster(t, "practices")
	ctx := ctxT(t)
	for _, ns := range []string{"shop", "ops"} {
		c.namespace(t, ns)
	}
	deploy := func(ns, name string, replicas int32, minReady int32, change func(*corev1.PodTemplateSpec)) {
		tpl := goodPod(name)
		if change != nil {
			change(&tpl)
		}
		must(c.cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, MinReadySeconds: minReady, Selector: &metav1.LabelSelector{MatchLabels: tpl.Labels}, Template: tpl}}, metav1.CreateOptions{}))
	}
	zero := int64(0)
	one, three := int32(1), int32(3)
	deploy("shop", "clean", 3, 10, nil)
	deploy("shop", "single", 1, 10, nil)
	deploy("shop", "unprobed", 3, 10, func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].ReadinessProbe = nil })
	deploy("shop", "unspread", 3, 10, func(p *corev1.PodTemplateSpec) { p.Spec.TopologySpreadConstraints = nil })
	deploy("shop", "hasty", 3, 0, nil)
	tpl := goodPod("db")
	tpl.Spec.TerminationGracePeriodSeconds = &zero
	must(c.cs.AppsV1().StatefulSets("shop").Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: &three, Selector: &metav1.LabelSelector{MatchLabels: tpl.Labels}, Template: tpl}}, metav1.CreateOptions{}))
	sock := goodPod("log-shipper")
	sock.Spec.Volumes = []corev1.Volume{{Name: "docker", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/run/docker.sock"}}}}
	must(c.cs.AppsV1().DaemonSets("ops").Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "log-shipper"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: sock.Labels}, Template: sock}}, metav1.CreateOptions{}))
	// kube-system's own workloads are EKS's business: not reported.
	must(c.cs.AppsV1().Deployments("kube-system").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "metrics"},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "metrics"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "metrics"}}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "m", Image: "m"}}}}}}, metav1.CreateOptions{}))

	res, err := c.activities().PreflightBlue(ctx, PreflightInput{Cluster: c.ref, TargetVersion: "1.31"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range res.Findings {
		for _, p := range practices {
			if f.Check == p.check {
				got[f.Check] = append(got[f.Check], f.Object)
				if f.Fix == "" || f.Severity != p.severity {
					t.Errorf("finding %+v: want severity %s and a fix", f, p.severity)
				}
			}
		}
	}
	want := map[string][]string{
		CheckWorkloadSingleReplica: {"apps/v1 Deployment shop/single"},
		CheckWorkloadNoReadiness:   {"apps/v1 Deployment shop/unprobed"},
		CheckWorkloadNoSpread:      {"apps/v1 Deployment shop/unspread"},
		CheckWorkloadMinReady:      {"apps/v1 Deployment shop/hasty"},
		CheckStatefulSetZeroGrace:  {"apps/v1 StatefulSet shop/db"},
		CheckWorkloadDockerSocket:  {"apps/v1 DaemonSet ops/log-shipper"},
	}
	for check, objs := range want {
		sort.Strings(got[check])
		if strings.Join(got[check], ";") != strings.Join(objs, ";") {
			t.Errorf("%s fired on %v, want %v", check, got[check], objs)
		}
	}
}

// TestBreakingChangesOnARealCluster: the breaking-changes table on a real
// apiserver: a workload pulling from k8s.gcr.io (an init container's
// image too) is named, one from registry.k8s.io is not, and a hop from
// 1.26 to 1.27 says 1.27's notices once each while 1.29 to 1.30 does not.
func TestBreakingChangesOnARealCluster(t *testing.T) {
	c := startCluster(t, "breaking")
	ctx := ctxT(t)
	c.namespace(t, "shop")
	three := int32(3)
	for name, image := range map[string]string{"old-registry": "k8s.gcr.io/echoserver:1.10", "new-registry": "registry.k8s.io/echoserver:1.10"} {
		tpl := goodPod(name)
		tpl.Spec.Containers[0].Image = image
		must(c.cs.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: appsv1.DeploymentSpec{Replicas: &three, MinReadySeconds: 10, Selector: &metav1.LabelSelector{MatchLabels: tpl.Labels}, Template: tpl}}, metav1.CreateOptions{}))
	}
	tpl := goodPod("init-old")
	tpl.Spec.InitContainers = []corev1.Container{{Name: "wait", Image: "k8s.gcr.io/busybox:1.24"}}
	must(c.cs.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "init-old"},
		Spec: appsv1.DeploymentSpec{Replicas: &three, MinReadySeconds: 10, Selector: &metav1.LabelSelector{MatchLabels: tpl.Labels}, Template: tpl}}, metav1.CreateOptions{}))

	checks := func(current, target string) map[string][]string {
		t.Helper()
		res, err := c.activities().PreflightBlue(ctx, PreflightInput{Cluster: c.ref, CurrentVersion: current, TargetVersion: target})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{}
		for _, f := range res.Findings {
			for _, b := range breaking.Table() {
				if f.Check == b.ID {
					got[f.Check] = append(got[f.Check], f.Object)
				}
			}
		}
		return got
	}
	// The apiserver reports its own version (1.31 here), which wins over
	// currentVersion; the notices are for the hop from it.
	got := checks("1.31", "1.32")
	sort.Strings(got["k8s-gcr-io-frozen"])
	if strings.Join(got["k8s-gcr-io-frozen"], ";") != "apps/v1 Deployment shop/init-old;apps/v1 Deployment shop/old-registry" {
		t.Errorf("k8s.gcr.io images: %v", got["k8s-gcr-io-frozen"])
	}
	if len(got["kubelet-container-runtime-flag-removed"])+len(got["cgroup-v1-maintenance"]) != 0 {
		t.Errorf("notices of versions the hop does not cross: %v", got)
	}
}
