package argocd_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// eksGreen resolves green to its sandbox apiserver's credentials under an
// EKS endpoint's name, so the cluster config of an EKS endpoint is built.
type eksGreen struct{ clusters.Resolver }

const eksGreenHost = "https://0A1B2C3D4E5F.gr7.us-east-1.eks.amazonaws.com"

func (r eksGreen) RESTConfig(ctx context.Context, ref clusters.Ref) (*rest.Config, error) {
	cfg, err := r.Resolver.RESTConfig(ctx, ref)
	if err == nil && ref.Name == greenRef.Name {
		cfg.Host = eksGreenHost
	}
	return cfg, err
}

// retargetConfig retargets an application of a new namespace ns on blue
// to green with acts and returns the config of green's cluster Secret.
func retargetConfig(t *testing.T, w *world, acts *argocd.Activities, ns string) argov1.ClusterConfig {
	t.Helper()
	ctx := context.Background()
	mustCreate(t, w.blueC, namespace(ns))
	mustCreate(t, w.blueC, app(ns, "shop", "default", nil, argov1.ApplicationDestination{Server: argocd.InClusterServer, Namespace: "shop"}))
	if _, err := acts.RestoreArgoApplications(ctx, argocd.RestoreInput{ArgoCluster: blueRef, Blue: blueRef, Green: greenRef, Mode: argocd.ModeRetarget, Namespace: ns}); err != nil {
		t.Fatalf("RestoreArgoApplications: %v", err)
	}
	var sec corev1.Secret
	if err := w.blueC.Get(ctx, client.ObjectKey{Namespace: ns, Name: argocd.ClusterSecretName(greenRef)}, &sec); err != nil {
		t.Fatal(err)
	}
	var cc argov1.ClusterConfig
	if err := json.Unmarshal(sec.Data["config"], &cc); err != nil {
		t.Fatalf("green's cluster secret config %s: %v", sec.Data["config"], err)
	}
	return cc
}

// testRoleOption: WithArgoCDRoleARN makes Argo CD assume the role on an EKS
// endpoint; other endpoints keep the static credentials; an explicit
// WithClusterConfig wins whatever the order of the options.
func testRoleOption(t *testing.T, w *world) {
	const role = "arn:aws:iam::111122223333:role/argocd-deployer"
	cc := retargetConfig(t, w, argocd.New(eksGreen{w.resolver}), "argocd-role-none")
	if cc.AWSAuthConfig == nil || cc.AWSAuthConfig.ClusterName != "green" || cc.AWSAuthConfig.RoleARN != "" || cc.BearerToken != "" || len(cc.CAData) == 0 {
		t.Errorf("EKS endpoint, no role option: %+v, want awsAuthConfig for green without a role, the CA and no token", cc)
	}
	cc = retargetConfig(t, w, argocd.New(eksGreen{w.resolver}, argocd.WithArgoCDRoleARN(role)), "argocd-role-eks")
	if cc.AWSAuthConfig == nil || cc.AWSAuthConfig.ClusterName != "green" || cc.AWSAuthConfig.RoleARN != role || cc.BearerToken != "" {
		t.Errorf("EKS endpoint with the role option: %+v, want awsAuthConfig assuming %s", cc, role)
	}
	cc = retargetConfig(t, w, argocd.New(w.resolver, argocd.WithArgoCDRoleARN(role)), "argocd-role-local")
	if cc.AWSAuthConfig != nil || cc.BearerToken == "" {
		t.Errorf("other endpoint with the role option: %+v, want the resolver's token", cc)
	}
	custom := func(context.Context, clusters.Ref, *rest.Config) (argov1.ClusterConfig, error) {
		return argov1.ClusterConfig{BearerToken: "from-the-explicit-config"}, nil
	}
	for i, opts := range [][]argocd.Option{
		{argocd.WithClusterConfig(custom), argocd.WithArgoCDRoleARN(role)},
		{argocd.WithArgoCDRoleARN(role), argocd.WithClusterConfig(custom)},
	} {
		cc = retargetConfig(t, w, argocd.New(eksGreen{w.resolver}, opts...), "argocd-role-explicit-"+string(rune('a'+i)))
		if cc.AWSAuthConfig != nil || cc.BearerToken != "from-the-explicit-config" {
			t.Errorf("explicit WithClusterConfig (order %d): %+v, want its config", i, cc)
		}
	}
}

// TestArgoCDIdentities reads the identities of the Argo CD running in
// blue (a real kube-apiserver): the worker's role, which the retarget
// writes into green's cluster Secret too, another cluster Secret's role,
// and the IRSA roles of Argo CD's ServiceAccounts.
func TestArgoCDIdentities(t *testing.T) {
	w := startWorld(t)
	ctx := context.Background()
	const (
		ns       = "argocd-identity"
		deployer = "arn:aws:iam::111122223333:role/argocd-deployer"
		irsa     = "arn:aws:iam::111122223333:role/argocd-controller"
		other    = "arn:aws:iam::444455556666:role/argocd-staging"
	)
	acts := argocd.New(eksGreen{w.resolver}, argocd.WithArgoCDRoleARN(deployer))

	t.Run("missing namespace", func(t *testing.T) {
		res, err := acts.ArgoCDIdentities(ctx, argocd.IdentityInput{Cluster: blueRef, Namespace: "no-argocd-here"})
		if err != nil {
			t.Fatal(err)
		}
		want := []argocd.Identity{{RoleARN: deployer, Source: "worker option argocd.WithArgoCDRoleARN (assumed for the clusters cutover registers)"}}
		if !reflect.DeepEqual(res.Identities, want) {
			t.Errorf("identities %+v, want only the worker's role", res.Identities)
		}
		res, err = argocd.New(w.resolver).ArgoCDIdentities(ctx, argocd.IdentityInput{Cluster: blueRef, Namespace: "no-argocd-here"})
		if err != nil || len(res.Identities) != 0 {
			t.Errorf("without a role option: %+v, %v; want none", res, err)
		}
	})

	t.Run("role option", func(t *testing.T) { testRoleOption(t, w) })

	// Retarget registers green (an EKS endpoint) with the worker's role.
	if cc := retargetConfig(t, w, acts, ns); cc.AWSAuthConfig == nil || cc.AWSAuthConfig.RoleARN != deployer {
		t.Fatalf("green's cluster secret config %+v, want awsAuthConfig with the worker's role", cc)
	}

	staging, _ := json.Marshal(argov1.ClusterConfig{AWSAuthConfig: &argov1.AWSAuthConfig{ClusterName: "staging", RoleARN: other}})
	token, _ := json.Marshal(argov1.ClusterConfig{BearerToken: "static"})
	mustCreate(t, w.blueC,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "staging", Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: argocd.SecretTypeCluster}},
			StringData: map[string]string{"name": "staging", "server": "https://staging.example.com", "config": string(staging)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "plain", Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: argocd.SecretTypeCluster}},
			StringData: map[string]string{"name": "plain", "server": "https://plain.example.com", "config": string(token)}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: argocd.SecretTypeCluster}},
			StringData: map[string]string{"name": "broken", "server": "https://broken.example.com", "config": "{not json"}},
		// Not a cluster secret: its config is not Argo CD's.
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "repo", Namespace: ns, Labels: map[string]string{argocd.LabelSecretType: "repository"}},
			StringData: map[string]string{"config": `{"awsAuthConfig":{"roleARN":"arn:aws:iam::999999999999:role/not-a-cluster"}}`}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "argocd-application-controller", Namespace: ns, Annotations: map[string]string{argocd.AnnotationIRSARole: irsa}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "argocd-server", Namespace: ns, Annotations: map[string]string{argocd.AnnotationIRSARole: irsa}}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "argocd-applicationset-controller", Namespace: ns}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "argocd-dex-server", Namespace: ns, Annotations: map[string]string{argocd.AnnotationIRSARole: "arn:aws:iam::111122223333:role/dex"}}},
	)

	e := newEnv(acts)
	val, err := e.ExecuteActivity(acts.ArgoCDIdentities, argocd.IdentityInput{Cluster: blueRef, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	var res argocd.IdentityResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	want := []argocd.Identity{
		{RoleARN: irsa, Source: "ServiceAccount " + ns + "/argocd-application-controller (eks.amazonaws.com/role-arn); ServiceAccount " + ns + "/argocd-server (eks.amazonaws.com/role-arn)"},
		{RoleARN: deployer, Source: "worker option argocd.WithArgoCDRoleARN (assumed for the clusters cutover registers); Argo CD cluster Secret " + ns + "/" + argocd.ClusterSecretName(greenRef) + " (config.awsAuthConfig.roleARN)"},
		{RoleARN: other, Source: "Argo CD cluster Secret " + ns + "/staging (config.awsAuthConfig.roleARN)"},
	}
	if !reflect.DeepEqual(res.Identities, want) {
		t.Errorf("identities:\n%+v\nwant\n%+v", res.Identities, want)
	}

	if _, err := acts.ArgoCDIdentities(ctx, argocd.IdentityInput{Cluster: blueRef}); failures.TypeOf(err) != failures.Validation {
		t.Errorf("no namespace: %v, want a ValidationError", err)
	}
}
