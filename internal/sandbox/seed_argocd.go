package sandbox

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The Argo CD install blue runs, as the upstream manifests/install.yaml
// names it.
const (
	// ArgoCDVersion is the Argo CD release blue runs (the pinned module's).
	ArgoCDVersion = "v2.14.21"
	ArgoCDImage   = "quay.io/argoproj/argocd:" + ArgoCDVersion
	// ArgoCDApplicationController is a StatefulSet, the
	// ApplicationSet controller a Deployment.
	ArgoCDApplicationController    = "argocd-application-controller"
	ArgoCDApplicationSetController = "argocd-applicationset-controller"
	// ArgoCDURL is argocd-cm's url.
	ArgoCDURL = "https://argocd.blue.sandbox.cutover.dev"
	// ArgoCDRepoSecret is the repository Secret of ArgoCDRepoURL.
	ArgoCDRepoSecret = "repo-shop-deploy"
	ArgoCDRepoURL    = "https://github.com/example/shop-deploy.git"
	// ArgoCDRBACPolicy is argocd-rbac-cm's policy.csv: the CI account may
	// sync the applications.
	ArgoCDRBACPolicy = "p, role:ci, applications, sync, */*, allow\ng, ci, role:ci\n"
)

// ArgoCDInstallSeed lists what SeedArgoCDInstall creates in the argocd
// namespace of blue (or of the hub) (names are namespace/name).
type ArgoCDInstallSeed struct {
	Version     string   `json:"version"`
	Image       string   `json:"image"`
	StatefulSet string   `json:"statefulSet"`
	Deployment  string   `json:"deployment"`
	ConfigMaps  []string `json:"configMaps"`
	Secrets     []string `json:"secrets"`
}

// ArgoCDInstall is what SeedArgoCDInstall creates.
func ArgoCDInstall() ArgoCDInstallSeed {
	ns := ArgoCDNamespace + "/"
	return ArgoCDInstallSeed{
		Version: ArgoCDVersion, Image: ArgoCDImage,
		StatefulSet: ns + ArgoCDApplicationController,
		Deployment:  ns + ArgoCDApplicationSetController,
		ConfigMaps:  []string{ns + "argocd-cm", ns + "argocd-rbac-cm"},
		Secrets:     []string{ns + ArgoCDRepoSecret},
	}
}

func argoCDLabels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "argocd"}
}

// SeedArgoCDInstall gives k's argocd namespace (blue's, which SeedBlue
// creates, or the hub's, which SeedArgoCD creates there) what a real Argo
// CD install has and the simulator plays: the
// application controller StatefulSet (1 replica) and the ApplicationSet
// controller Deployment on ArgoCDImage, each reported ready as their pods
// would be; ConfigMaps argocd-cm (url, a ci account with an API key) and
// argocd-rbac-cm (read-only by default, ArgoCDRBACPolicy); and the
// repository Secret of ArgoCDRepoURL. Objects that exist are left as they
// are. The names (ArgoCDInstall) are added to objs' lists once.
func SeedArgoCDInstall(ctx context.Context, k *Kube, objs *KubeSeed) error {
	cs, err := k.Clientset()
	if err != nil {
		return err
	}
	ns := ArgoCDNamespace
	create := func(what, name string, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("cluster %s: create %s %s/%s: %w", k.Name, what, ns, name, err)
		}
		return nil
	}
	one := int32(1)
	pod := func(name string) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app.kubernetes.io/name": name}},
			Spec: corev1.PodSpec{
				ServiceAccountName: name,
				Containers:         []corev1.Container{{Name: name, Image: ArgoCDImage, Args: []string{"/usr/local/bin/" + name}}},
			},
		}
	}
	selector := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": name}}
	}

	sts, err := cs.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: ArgoCDApplicationController, Namespace: ns, Labels: argoCDLabels(ArgoCDApplicationController)},
		Spec: appsv1.StatefulSetSpec{Replicas: &one, Selector: selector(ArgoCDApplicationController),
			ServiceName: ArgoCDApplicationController, Template: pod(ArgoCDApplicationController)},
	}, metav1.CreateOptions{FieldManager: "cutover-sandbox"})
	if err := create("statefulset", ArgoCDApplicationController, err); err != nil {
		return err
	}
	if err == nil {
		sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, CurrentReplicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}
		if _, err := cs.AppsV1().StatefulSets(ns).UpdateStatus(ctx, sts, metav1.UpdateOptions{FieldManager: "cutover-sandbox"}); err != nil {
			return fmt.Errorf("cluster %s: statefulset %s/%s status: %w", k.Name, ns, sts.Name, err)
		}
	}
	dep, err := cs.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: ArgoCDApplicationSetController, Namespace: ns, Labels: argoCDLabels(ArgoCDApplicationSetController)},
		Spec:       appsv1.DeploymentSpec{Replicas: &one, Selector: selector(ArgoCDApplicationSetController), Template: pod(ArgoCDApplicationSetController)},
	}, metav1.CreateOptions{FieldManager: "cutover-sandbox"})
	if err := create("deployment", ArgoCDApplicationSetController, err); err != nil {
		return err
	}
	if err == nil {
		now := metav1.Now()
		dep.Status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
			Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
				Message: "Deployment has minimum availability.", LastUpdateTime: now, LastTransitionTime: now}}}
		if _, err := cs.AppsV1().Deployments(ns).UpdateStatus(ctx, dep, metav1.UpdateOptions{FieldManager: "cutover-sandbox"}); err != nil {
			return fmt.Errorf("cluster %s: deployment %s/%s status: %w", k.Name, ns, dep.Name, err)
		}
	}

	for _, cm := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "argocd-cm", Namespace: ns, Labels: argoCDLabels("argocd-cm")},
			Data: map[string]string{"url": ArgoCDURL, "accounts.ci": "apiKey"}},
		{ObjectMeta: metav1.ObjectMeta{Name: "argocd-rbac-cm", Namespace: ns, Labels: argoCDLabels("argocd-rbac-cm")},
			Data: map[string]string{"policy.default": "role:readonly", "policy.csv": ArgoCDRBACPolicy}},
	} {
		_, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{FieldManager: "cutover-sandbox"})
		if err := create("configmap", cm.Name, err); err != nil {
			return err
		}
	}
	_, err = cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: ArgoCDRepoSecret, Namespace: ns,
			Labels: map[string]string{"argocd.argoproj.io/secret-type": "repository"}},
		Type:       corev1.SecretTypeOpaque,
		StringData: map[string]string{"url": ArgoCDRepoURL, "type": "git", "name": "shop-deploy", "project": "shop"},
	}, metav1.CreateOptions{FieldManager: "cutover-sandbox"})
	if err := create("secret", ArgoCDRepoSecret, err); err != nil {
		return err
	}

	if objs != nil {
		s := ArgoCDInstall()
		add := func(list *[]string, names ...string) {
			for _, n := range names {
				if !slices.Contains(*list, n) {
					*list = append(*list, n)
				}
			}
		}
		add(&objs.StatefulSets, s.StatefulSet)
		add(&objs.Deployments, s.Deployment)
		add(&objs.ConfigMaps, s.ConfigMaps...)
		add(&objs.Secrets, s.Secrets...)
	}
	k.log.Info("Seeded Argo CD install", "namespace", ns, "version", ArgoCDVersion)
	return nil
}
