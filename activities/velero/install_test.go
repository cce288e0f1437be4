package velero_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	v1crds "github.com/vmware-tanzu/velero/config/crd/v1/crds"
	v2alpha1crds "github.com/vmware-tanzu/velero/config/crd/v2alpha1/crds"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

const roleARN = "arn:aws:iam::111122223333:role/velero-blue"

// seedBlueInstall completes SeedVelero's install on blue the way velero
// install --use-node-agent with IRSA and a credentials file makes it: the
// server runs as ServiceAccount velero (IRSA annotation), mounts Secret
// cloud-credentials, the location names that Secret as its credential,
// and a node-agent DaemonSet runs.
func seedBlueInstall(t *testing.T, ctx context.Context, cs kubernetes.Interface, c client.Client) {
	t.Helper()
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "velero", Namespace: ns, Labels: map[string]string{"component": "velero"},
			Annotations: map[string]string{"eks.amazonaws.com/role-arn": roleARN}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "cloud-credentials", Namespace: ns, Labels: map[string]string{"component": "velero"}},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"cloud": []byte("[default]\naws_access_key_id=AKIA\naws_secret_access_key=secret\n")},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "velero", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := &d.Spec.Template.Spec
	pod.ServiceAccountName = "velero"
	pod.Volumes = []corev1.Volume{
		{Name: "cloud-credentials", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "cloud-credentials"}}},
		{Name: "plugins", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	pod.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "cloud-credentials", MountPath: "/credentials"}, {Name: "plugins", MountPath: "/plugins"}}
	pod.Containers[0].Env = []corev1.EnvVar{{Name: "AWS_SHARED_CREDENTIALS_FILE", Value: "/credentials/cloud"}, {Name: "VELERO_SCRATCH_DIR", Value: "/scratch"}}
	three := int32(3)
	d.Spec.Replicas = &three
	if _, err := cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"name": "node-agent"}
	if _, err := cs.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "node-agent", Namespace: ns, Labels: map[string]string{"component": "velero"}},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				ServiceAccountName: "velero",
				Containers:         []corev1.Container{{Name: "node-agent", Image: sandbox.VeleroImage, Command: []string{"/velero"}, Args: []string{"node-agent", "server"}}},
			}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var b velerov1.BackupStorageLocation
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &b); err != nil {
		t.Fatal(err)
	}
	b.Spec.Credential = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "cloud-credentials"}, Key: "cloud"}
	b.Spec.ObjectStorage.CACert = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	b.Spec.Config["s3ForcePathStyle"] = "true"
	if err := c.Update(ctx, &b); err != nil {
		t.Fatal(err)
	}
}

func (e *env) install(t *testing.T, acts *velero.Activities, in velero.InstallVeleroInput) (velero.InstallVeleroResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(acts.InstallVelero, in)
	var res velero.InstallVeleroResult
	if err == nil {
		if gerr := val.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

// TestInstallVelero copies blue's Velero onto a cluster without Velero's
// CRDs, again (nothing created), after a change of cutover's Deployment
// (brought back), and onto a cluster whose Velero is its own (nothing
// changed).
func TestInstallVelero(t *testing.T) {
	blueK, bareK := sandboxtest.Kube(t, "blue"), sandboxtest.Kube(t, "bare")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if _, err := sandbox.InstallCRDs(ctx, blueK); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.SeedVelero(ctx, blueK); err != nil {
		t.Fatal(err)
	}
	blueCS, err := blueK.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	bareCS, err := bareK.Clientset()
	if err != nil {
		t.Fatal(err)
	}
	blueC, err := velero.NewClient(blueK.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	seedBlueInstall(t, ctx, blueCS, blueC)
	// A namespace velero that someone else made is left as it is.
	if _, err := bareCS.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	bareRef := clusters.Ref{Name: "bare", Region: "us-east-1"}
	resolver := clusters.KubeconfigResolver{Paths: map[string]string{"blue": blueK.Kubeconfig, "bare": bareK.Kubeconfig}}
	acts := velero.New(resolver, velero.WithPollInterval(50*time.Millisecond))
	e := newEnv(acts)
	in := velero.InstallVeleroInput{From: blueRef, To: bareRef, Namespace: ns, Migration: "m-install"}

	// A storage location blue does not have: NotFound, nothing made.
	missing := in
	missing.StorageLocation = "secondary"
	if _, err := e.install(t, acts, missing); failures.TypeOf(err) != failures.NotFound || !strings.Contains(err.Error(), "velero.storageLocation") {
		t.Errorf("missing storage location: %v, want NotFound naming velero.storageLocation", err)
	}
	apiext := apiextclient.NewForConfigOrDie(bareK.RESTConfig())
	if _, err := apiext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "backupstoragelocations.velero.io", metav1.GetOptions{}); err == nil {
		t.Errorf("the CRDs were installed although the storage location is missing on blue")
	}

	res, err := e.install(t, acts, in)
	if err != nil {
		t.Fatalf("InstallVelero: %v", err)
	}
	if !res.Installed || res.Version != "v1.16.2" {
		t.Errorf("result = %+v, want installed v1.16.2", res)
	}
	for _, want := range []string{"CustomResourceDefinition backupstoragelocations.velero.io", "CustomResourceDefinition datauploads.velero.io",
		"ServiceAccount velero/velero", "ClusterRoleBinding velero-velero", "Secret velero/cloud-credentials",
		"BackupStorageLocation velero/default", "Deployment velero/velero", "DaemonSet velero/node-agent"} {
		if !slices.Contains(res.Created, want) {
			t.Errorf("Created = %v, lacks %q", res.Created, want)
		}
	}
	if !slices.Equal(res.Existing, []string{"Namespace velero"}) {
		t.Errorf("Existing = %v, want the namespace made by someone else", res.Existing)
	}
	// The SDK throttles heartbeats: the first of the attempt is the one
	// that reliably arrives.
	if !e.saw("install", "read") {
		t.Errorf("no heartbeat while installing: %+v", e.heartbeats)
	}

	// The CRDs are established.
	for _, crd := range slices.Concat(v1crds.CRDs, v2alpha1crds.CRDs) {
		got, err := apiext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, crd.Name, metav1.GetOptions{})
		if err != nil {
			t.Errorf("CRD %s: %v", crd.Name, err)
			continue
		}
		established := false
		for _, c := range got.Status.Conditions {
			established = established || (c.Type == apiextv1.Established && c.Status == apiextv1.ConditionTrue)
		}
		if !established || got.Labels[velero.LabelManagedBy] != velero.ManagedBy || got.Annotations[velero.AnnotationInstalledBy] != "m-install" {
			t.Errorf("CRD %s: established %v, labels %v, annotations %v", crd.Name, established, got.Labels, got.Annotations)
		}
	}
	// The Deployment runs blue's server: same image, args, env, volumes; one replica.
	blueDep, err := blueCS.AppsV1().Deployments(ns).Get(ctx, "velero", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dep, err := bareCS.AppsV1().Deployments(ns).Get(ctx, "velero", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bc, gc := blueDep.Spec.Template.Spec.Containers[0], dep.Spec.Template.Spec.Containers[0]
	if gc.Image != bc.Image || !slices.Equal(gc.Args, bc.Args) || !reflect.DeepEqual(gc.Env, bc.Env) ||
		!reflect.DeepEqual(dep.Spec.Template.Spec.Volumes, blueDep.Spec.Template.Spec.Volumes) || dep.Spec.Template.Spec.ServiceAccountName != "velero" {
		t.Errorf("green's server container = %+v (volumes %+v), want blue's %+v (volumes %+v)", gc, dep.Spec.Template.Spec.Volumes, bc, blueDep.Spec.Template.Spec.Volumes)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 1 {
		t.Errorf("replicas = %v, want 1", dep.Spec.Replicas)
	}
	if dep.Labels[velero.LabelManagedBy] != velero.ManagedBy || dep.Annotations[velero.AnnotationInstalledBy] != "m-install" {
		t.Errorf("Deployment labels %v annotations %v, want cutover's", dep.Labels, dep.Annotations)
	}
	if _, err := bareCS.AppsV1().DaemonSets(ns).Get(ctx, "node-agent", metav1.GetOptions{}); err != nil {
		t.Errorf("node-agent DaemonSet: %v", err)
	}
	// The ServiceAccount keeps its IRSA role, bound to cluster-admin.
	sa, err := bareCS.CoreV1().ServiceAccounts(ns).Get(ctx, "velero", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sa.Annotations["eks.amazonaws.com/role-arn"] != roleARN {
		t.Errorf("ServiceAccount annotations = %v, want the role ARN kept", sa.Annotations)
	}
	crb, err := bareCS.RbacV1().ClusterRoleBindings().Get(ctx, "velero-"+ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if crb.RoleRef.Name != "cluster-admin" || len(crb.Subjects) != 1 || crb.Subjects[0].Name != "velero" || crb.Subjects[0].Namespace != ns {
		t.Errorf("ClusterRoleBinding = %+v", crb)
	}
	// The Secret as is.
	sec, err := bareCS.CoreV1().Secrets(ns).Get(ctx, "cloud-credentials", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sec.Data["cloud"]), "aws_secret_access_key=secret") {
		t.Errorf("Secret data = %q", sec.Data)
	}
	// The storage location: blue's spec.
	bareC, err := velero.NewClient(bareK.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	var blueBSL, bsl velerov1.BackupStorageLocation
	if err := blueC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &blueBSL); err != nil {
		t.Fatal(err)
	}
	if err := bareC.Get(ctx, client.ObjectKey{Namespace: ns, Name: "default"}, &bsl); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(bsl.Spec, blueBSL.Spec) {
		t.Errorf("green's BSL spec = %+v, want blue's %+v", bsl.Spec, blueBSL.Spec)
	}

	// Again: nothing created, nothing updated.
	again, err := e.install(t, acts, in)
	if err != nil || !again.Installed || len(again.Created) != 0 || len(again.Updated) != 0 {
		t.Errorf("second InstallVelero = %+v, %v; want installed, nothing created or updated", again, err)
	}

	// cutover's Deployment changed by hand: brought back to blue's.
	dep.Spec.Template.Spec.Containers[0].Image = "velero/velero:v1.15.0"
	if _, err := bareCS.AppsV1().Deployments(ns).Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	fixed, err := e.install(t, acts, in)
	if err != nil || !slices.Equal(fixed.Updated, []string{"Deployment velero/velero"}) || len(fixed.Created) != 0 {
		t.Errorf("InstallVelero after a change = %+v, %v; want the Deployment updated", fixed, err)
	}
	if dep, err = bareCS.AppsV1().Deployments(ns).Get(ctx, "velero", metav1.GetOptions{}); err != nil || dep.Spec.Template.Spec.Containers[0].Image != sandbox.VeleroImage {
		t.Errorf("image after the update = %v, %v; want %s", dep.Spec.Template.Spec.Containers[0].Image, err, sandbox.VeleroImage)
	}

	// Velero of its own on the cluster (not cutover's, another version):
	// nothing changes.
	delete(dep.Labels, velero.LabelManagedBy)
	dep.Spec.Template.Spec.Containers[0].Image = "velero/velero:v1.15.0"
	if _, err := bareCS.AppsV1().Deployments(ns).Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := bareCS.CoreV1().Secrets(ns).Delete(ctx, "cloud-credentials", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	own, err := e.install(t, acts, in)
	if err != nil || own.Installed || own.Version != "v1.15.0" || len(own.Created) != 0 || len(own.Updated) != 0 ||
		!slices.Equal(own.Existing, []string{"Deployment velero/velero"}) {
		t.Errorf("InstallVelero onto a cluster with its own Velero = %+v, %v; want nothing changed, version v1.15.0", own, err)
	}
	if dep, err = bareCS.AppsV1().Deployments(ns).Get(ctx, "velero", metav1.GetOptions{}); err != nil || dep.Spec.Template.Spec.Containers[0].Image != "velero/velero:v1.15.0" {
		t.Errorf("its own Velero was changed: %v, %v", dep.Spec.Template.Spec.Containers[0].Image, err)
	}
	if _, err := bareCS.CoreV1().Secrets(ns).Get(ctx, "cloud-credentials", metav1.GetOptions{}); err == nil {
		t.Errorf("the Secret was created again on a cluster with its own Velero")
	}
}
