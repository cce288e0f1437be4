package sandbox_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestSeedArgoCDInstall: blue's argocd namespace gets the application
// controller StatefulSet and the ApplicationSet controller Deployment on
// the pinned Argo CD image, ready; argocd-cm, argocd-rbac-cm and a
// repository Secret; cutover's LocateArgoCD finds that Argo CD on blue at
// v2.14.21. Seeding again changes nothing and lists nothing twice.
func TestSeedArgoCDInstall(t *testing.T) {
	ctx := context.Background()
	blue := sandboxtest.Kube(t, "blue")
	if _, err := sandbox.InstallCRDs(ctx, blue); err != nil {
		t.Fatal(err)
	}
	cs, err := blue.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: sandbox.ArgoCDNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	objs := &sandbox.KubeSeed{ConfigMaps: []string{"kube-system/aws-auth"}}
	if err := sandbox.SeedArgoCDInstall(ctx, blue, objs); err != nil {
		t.Fatal(err)
	}
	sts, err := cs.AppsV1().StatefulSets("argocd").Get(ctx, "argocd-application-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *sts.Spec.Replicas != 1 || sts.Status.ReadyReplicas != 1 || sts.Spec.Template.Spec.Containers[0].Image != "quay.io/argoproj/argocd:v2.14.21" ||
		sts.Spec.Template.Spec.ServiceAccountName != "argocd-application-controller" {
		t.Errorf("application controller %+v", sts.Spec)
	}
	dep, err := cs.AppsV1().Deployments("argocd").Get(ctx, "argocd-applicationset-controller", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Spec.Template.Spec.Containers[0].Image != "quay.io/argoproj/argocd:v2.14.21" || dep.Status.AvailableReplicas != 1 {
		t.Errorf("ApplicationSet controller %+v %+v", dep.Spec.Template.Spec.Containers, dep.Status)
	}
	cm, err := cs.CoreV1().ConfigMaps("argocd").Get(ctx, "argocd-cm", metav1.GetOptions{})
	if err != nil || cm.Data["url"] == "" || cm.Data["accounts.ci"] != "apiKey" || cm.Labels["app.kubernetes.io/part-of"] != "argocd" {
		t.Errorf("argocd-cm %+v, %v", cm, err)
	}
	rbac, err := cs.CoreV1().ConfigMaps("argocd").Get(ctx, "argocd-rbac-cm", metav1.GetOptions{})
	if err != nil || rbac.Data["policy.default"] != "role:readonly" || strings.Count(rbac.Data["policy.csv"], "p,") != 1 {
		t.Errorf("argocd-rbac-cm %+v, %v", rbac, err)
	}
	repo, err := cs.CoreV1().Secrets("argocd").Get(ctx, "repo-shop-deploy", metav1.GetOptions{})
	if err != nil || repo.Labels["argocd.argoproj.io/secret-type"] != "repository" ||
		string(repo.Data["url"]) != "https://github.com/example/shop-deploy.git" || string(repo.Data["type"]) != "git" {
		t.Errorf("repository secret %+v, %v", repo, err)
	}

	want := &sandbox.KubeSeed{
		StatefulSets: []string{"argocd/argocd-application-controller"},
		Deployments:  []string{"argocd/argocd-applicationset-controller"},
		ConfigMaps:   []string{"kube-system/aws-auth", "argocd/argocd-cm", "argocd/argocd-rbac-cm"},
		Secrets:      []string{"argocd/repo-shop-deploy"},
	}
	if !reflect.DeepEqual(objs, want) {
		t.Errorf("seed lists %+v, want %+v", objs, want)
	}
	// Again: nothing changes, nothing is listed twice.
	rv := sts.ResourceVersion
	if err := sandbox.SeedArgoCDInstall(ctx, blue, objs); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(objs, want) {
		t.Errorf("after reseeding %+v", objs)
	}
	if again, err := cs.AppsV1().StatefulSets("argocd").Get(ctx, "argocd-application-controller", metav1.GetOptions{}); err != nil || again.ResourceVersion != rv {
		t.Errorf("reseeding changed the controller: %v", err)
	}

	// cutover locates it (green is the same apiserver: blue comes first).
	resolver := clusters.KubeconfigResolver{Paths: map[string]string{"blue": blue.Kubeconfig, "green": blue.Kubeconfig}}
	loc, err := argocd.New(resolver).LocateArgoCD(ctx, argocd.LocateInput{Blue: clusters.Ref{Name: "blue"}, Green: clusters.Ref{Name: "green"}, Namespace: "argocd"})
	if err != nil {
		t.Fatal(err)
	}
	if loc.Where != argocd.WhereBlue || loc.Version != sandbox.ArgoCDVersion {
		t.Errorf("located %+v", loc)
	}
}
