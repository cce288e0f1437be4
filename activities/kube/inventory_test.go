package kube

import (
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestInventoryOnARealAPIServer takes stock of a real apiserver: namespaces
// but the system ones, every workload with its availability, and the
// ServiceAccounts that carry an IRSA role (system namespaces included), and
// the CronJobs with their schedules.
func TestInventoryOnARealAPIServer(t *testing.T) {
	c := startCluster(t, "inventory")
	ctx := ctxT(t)
	for _, ns := range []string{"shop", "batch"} {
		if _, err := c.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	two := int32(2)
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: appsv1.DeploymentSpec{Replicas: &two,
		Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}}}
	if _, err := c.cs.AppsV1().Deployments("shop").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, sa := range []*corev1.ServiceAccount{
		{ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: "shop", Annotations: map[string]string{IRSARoleAnnotation: "arn:aws:iam::123456789012:role/orders"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "aws-node", Namespace: "kube-system", Annotations: map[string]string{IRSARoleAnnotation: "arn:aws:iam::123456789012:role/vpc-cni"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: "batch"}},
	} {
		if _, err := c.cs.CoreV1().ServiceAccounts(sa.Namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	tz, suspend := "Europe/Paris", true
	cronJob := func(ns, name, schedule string, tz *string, suspend *bool) *batchv1.CronJob {
		return &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: batchv1.CronJobSpec{
			Schedule: schedule, TimeZone: tz, Suspend: suspend,
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
				RestartPolicy: corev1.RestartPolicyNever, Containers: []corev1.Container{{Name: "run", Image: "busybox"}}}}}},
		}}
	}
	for _, cj := range []*batchv1.CronJob{
		cronJob("shop", "nightly-report", "0 2 * * *", nil, nil),
		cronJob("batch", "cleanup", "*/15 * * * *", &tz, &suspend),
		cronJob("kube-system", "system-job", "0 * * * *", nil, nil),
	} {
		if _, err := c.cs.BatchV1().CronJobs(cj.Namespace).Create(ctx, cj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	inv, err := c.activities(WithPageSize(1)).InventoryCluster(ctx, InventoryInput{Cluster: c.ref})
	if err != nil {
		t.Fatal(err)
	}
	if !contains(inv.Namespaces, "shop") || !contains(inv.Namespaces, "batch") || contains(inv.Namespaces, "kube-system") {
		t.Errorf("namespaces %v", inv.Namespaces)
	}
	if len(inv.Workloads) != 1 || inv.Workloads[0].Name != "web" || inv.Workloads[0].Desired != 2 || inv.Workloads[0].Ready {
		t.Errorf("workloads %+v", inv.Workloads)
	}
	if len(inv.ServiceAccounts) != 2 || inv.ServiceAccounts[0].Namespace != "kube-system" || inv.ServiceAccounts[1].RoleARN != "arn:aws:iam::123456789012:role/orders" {
		t.Errorf("service accounts %+v", inv.ServiceAccounts)
	}
	wantCron := []CronJobState{
		{Namespace: "batch", Name: "cleanup", Schedule: "*/15 * * * *", TimeZone: "Europe/Paris", Suspended: true},
		{Namespace: "shop", Name: "nightly-report", Schedule: "0 2 * * *"},
	}
	if !reflect.DeepEqual(inv.CronJobs, wantCron) {
		t.Errorf("cron jobs %+v, want %+v", inv.CronJobs, wantCron)
	}
	only, err := c.activities().InventoryCluster(ctx, InventoryInput{Cluster: c.ref, Namespaces: []string{"batch"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(only.Namespaces) != 1 || len(only.Workloads) != 0 || len(only.CronJobs) != 1 {
		t.Errorf("limited inventory %+v", only)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
