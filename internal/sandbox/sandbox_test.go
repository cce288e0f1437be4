package sandbox_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	batchv1 "k8s.io/api/batch/v1"
	apiextclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

var wantCRDs = []string{
	"applications.argoproj.io", "applicationsets.argoproj.io", "appprojects.argoproj.io",
	"backups.velero.io", "restores.velero.io", "backupstoragelocations.velero.io", "schedules.velero.io",
	"nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws",
}

// TestSandboxUpDown brings the whole sandbox up, checks each server through
// the clients the project uses, tears it down and checks no process is left.
func TestSandboxUpDown(t *testing.T) {
	ctx := context.Background()
	sb := sandboxtest.Full(t)
	t.Logf("sandbox startup took %s", sb.Startup.Round(1e6))
	procs := sb.Processes()
	if len(procs) != 6 {
		t.Fatalf("%d processes, want 6 (temporal, moto, 2x etcd, 2x kube-apiserver): %+v", len(procs), procs)
	}

	// Temporal SDK against the dev server.
	tc, err := sb.Temporal.Client(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tc.CheckHealth(ctx, nil); err != nil {
		t.Errorf("Temporal CheckHealth: %v", err)
	}
	tc.Close()

	// aws-sdk-go-v2 against moto.
	cfg, _ := sb.Moto.AWS().ForRegion(ctx, sb.Seed.Region)
	out, err := eks.NewFromConfig(cfg).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("blue")})
	if err != nil {
		t.Fatalf("DescribeCluster(blue): %v", err)
	}
	if v := aws.ToString(out.Cluster.Version); v != "1.29" {
		t.Errorf("blue EKS version %s, want 1.29", v)
	}

	// client-go against both apiservers, through the sandbox resolver.
	r := sb.Resolver()
	for _, name := range []string{"blue", "green"} {
		rc, err := r.RESTConfig(ctx, clusters.Ref{Name: name, Region: sb.Seed.Region})
		if err != nil {
			t.Fatalf("resolve %s: %v", name, err)
		}
		cs := kubernetes.NewForConfigOrDie(rc)
		v, err := cs.Discovery().ServerVersion()
		if err != nil {
			t.Fatalf("%s /version: %v", name, err)
		}
		// Blue answers the version EKS reports for it (its proxy reads
		// DescribeCluster), green its apiserver's own.
		want := map[string]string{"blue": "v" + sandbox.BlueVersion + ".14-eks-sandbox", "green": "v1.31.14"}[name]
		if v.GitVersion != want {
			t.Errorf("%s /version = %s, want %s", name, v.GitVersion, want)
		}
		crds, err := apiextclient.NewForConfigOrDie(rc).ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var have []string
		for _, c := range crds.Items {
			have = append(have, c.Name)
		}
		for _, want := range wantCRDs {
			if !slices.Contains(have, want) {
				t.Errorf("%s: CRD %s missing (have %v)", name, want, have)
			}
		}
	}

	// Blue's seeded objects are there.
	blue, _ := sb.Blue.Clientset()
	d, err := blue.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Status.AvailableReplicas != *d.Spec.Replicas {
		t.Errorf("shop/web available %d of %d", d.Status.AvailableReplicas, *d.Spec.Replicas)
	}
	pdb, err := blue.PolicyV1().PodDisruptionBudgets("shop").Get(ctx, "api", metav1.GetOptions{})
	if err != nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntVal != 0 {
		t.Errorf("shop/api PDB: %v %+v", err, pdb)
	}
	apps, err := dynamic.NewForConfigOrDie(sb.Blue.RESTConfig()).Resource(sandbox.ApplicationGVR).Namespace("argocd").List(ctx, metav1.ListOptions{})
	if err != nil || len(apps.Items) != len(sb.BlueObjects.Applications) {
		t.Errorf("Argo CD applications: %v, %d", err, len(apps.Items))
	}
	if len(sb.BlueObjects.RemovedAPIs) == 0 || len(sb.BlueObjects.HelmReleases) == 0 {
		t.Errorf("no removed-API objects seeded: %+v", sb.BlueObjects)
	}
	cj, err := blue.BatchV1().CronJobs("shop").Get(ctx, "nightly-report", metav1.GetOptions{})
	if err != nil || cj.Spec.Schedule != "0 2 * * *" || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent || !slices.Equal(sb.BlueObjects.CronJobs, []string{"shop/nightly-report"}) {
		t.Errorf("CronJob shop/nightly-report: %v %+v (seed %v)", err, cj, sb.BlueObjects.CronJobs)
	}
	if cm, err := blue.CoreV1().ConfigMaps("kube-system").Get(ctx, "aws-auth", metav1.GetOptions{}); err != nil || sb.BlueObjects.AWSAuth != "kube-system/aws-auth" ||
		!strings.Contains(cm.Data["mapRoles"], "rolearn: "+sb.Seed.NodeRoleARN+"\n") || !strings.Contains(cm.Data["mapUsers"], "userarn: "+sb.Seed.AWSAuth.BreakglassUserARN+"\n") {
		t.Errorf("aws-auth: %v %+v", err, cm)
	}
	if sa, err := blue.CoreV1().ServiceAccounts("argocd").Get(ctx, "argocd-application-controller", metav1.GetOptions{}); err != nil ||
		sa.Annotations["eks.amazonaws.com/role-arn"] != sb.Seed.IRSA.ArgoCDRoleARN || sb.Seed.IRSA.ArgoCDRoleARN == "" {
		t.Errorf("Argo CD controller's ServiceAccount: %v %+v, want role %s", err, sa, sb.Seed.IRSA.ArgoCDRoleARN)
	}
	for _, k := range []struct {
		gvr  schema.GroupVersionResource
		want []string
	}{{sandbox.NodePoolGVR, sb.BlueObjects.NodePools}, {sandbox.EC2NodeClassGVR, sb.BlueObjects.EC2NodeClasses}} {
		list, err := dynamic.NewForConfigOrDie(sb.Blue.RESTConfig()).Resource(k.gvr).List(ctx, metav1.ListOptions{})
		var have []string
		if err == nil {
			for _, o := range list.Items {
				have = append(have, o.GetName())
			}
		}
		if err != nil || !slices.Equal(have, k.want) || len(have) != 1 {
			t.Errorf("blue's %s: %v %v, seed %v", k.gvr.Resource, err, have, k.want)
		}
	}

	// Velero's server Deployment and storage location on both clusters, the
	// same storage on each, and a second SeedVelero changes nothing.
	for _, k := range []*sandbox.Kube{sb.Blue, sb.Green} {
		if err := sandbox.SeedVelero(ctx, k); err != nil {
			t.Errorf("%s: SeedVelero again: %v", k.Name, err)
		}
		cs, _ := k.Clientset()
		d, err := cs.AppsV1().Deployments(sandbox.VeleroNamespace).Get(ctx, "velero", metav1.GetOptions{})
		if err != nil || d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || len(d.Spec.Template.Spec.Containers) != 1 ||
			d.Spec.Template.Spec.Containers[0].Image != "velero/velero:v1.16.2" ||
			!slices.Equal(d.Spec.Template.Spec.Containers[0].Args, []string{"server", "--features=EnableAPIGroupVersions"}) {
			t.Errorf("%s: Deployment velero/velero: %v %+v", k.Name, err, d)
		}
		bsl, err := dynamic.NewForConfigOrDie(k.RESTConfig()).Resource(sandbox.BackupStorageLocationGVR).Namespace(sandbox.VeleroNamespace).Get(ctx, "default", metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s: BackupStorageLocation velero/default: %v", k.Name, err)
			continue
		}
		spec, _ := bsl.Object["spec"].(map[string]any)
		store, _ := spec["objectStorage"].(map[string]any)
		status, _ := bsl.Object["status"].(map[string]any)
		if spec["accessMode"] != "ReadWrite" || spec["provider"] != "aws" || store["bucket"] != sb.Seed.BackupBucket || store["prefix"] != sandbox.BackupPrefix || status["phase"] != "Available" {
			t.Errorf("%s: BackupStorageLocation velero/default = %v", k.Name, bsl.Object)
		}
	}

	// Down leaves no process behind.
	if err := sb.Down(); err != nil {
		t.Fatalf("Down: %v", err)
	}
	for _, p := range procs {
		if err := syscall.Kill(-p.PID, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s: process group %d still exists after Down (kill -0: %v)", p.Name, p.PID, err)
		}
	}
}
