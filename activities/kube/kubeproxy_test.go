package kube

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/activities/kube/deprecations"
	"github.com/cutover-dev/cutover/internal/finding"
)

func kubeProxy(image string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: KubeProxyDaemonSet, Namespace: metav1.NamespaceSystem},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-proxy"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "kube-proxy"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "kube-proxy", Image: image}}},
			},
		},
	}
}

func TestKubeProxyFindings(t *testing.T) {
	const ecr = "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:"
	for _, c := range []struct {
		name      string
		image     string
		cp        int
		target    string
		inPlace   bool
		want      finding.Severity // "" for none
		inMessage string
	}{
		{"same as the control plane", ecr + "v1.30.6-minimal-eksbuild.3", 30, "1.32", true, "", ""},
		{"one behind, in place", ecr + "v1.29.10-eksbuild.2", 30, "1.32", true, "", ""},
		{"three behind, in place: the first hop makes it four", ecr + "v1.27.16-eksbuild.2", 30, "1.32", true, finding.Error, "after the first hop to 1.31"},
		{"three behind, blue/green: green has its own", ecr + "v1.27.16-eksbuild.2", 30, "1.32", false, finding.Info, "green runs its own kube-proxy"},
		{"four behind now", ecr + "v1.26.15-eksbuild.2", 30, "1.31", false, finding.Error, "4 minor versions behind the control plane 1.30"},
		{"newer than the control plane", ecr + "v1.31.2-eksbuild.3", 30, "1.31", false, finding.Error, "newer than the control plane"},
		{"tag without a version", "registry.example.com/kube-proxy@sha256:0123", 30, "1.31", false, finding.Warning, "no Kubernetes version"},
		{"registry with a port", "registry.example.com:5000/kube-proxy:v1.30.1", 30, "1.31", false, "", ""},
		{"control plane unknown", ecr + "v1.20.0-eksbuild.1", 0, "1.31", false, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			tm, err := deprecations.Minor(c.target)
			if err != nil {
				t.Fatal(err)
			}
			fs := kubeProxyFindings(kubeProxy(c.image), c.cp, c.target, tm, c.inPlace)
			if c.want == "" {
				if len(fs) != 0 {
					t.Fatalf("want none, got %+v", fs)
				}
				return
			}
			if len(fs) != 1 || fs[0].Severity != c.want || fs[0].Check != CheckKubeProxySkew || !strings.Contains(fs[0].Message, c.inMessage) {
				t.Fatalf("want one %s with %q, got %+v", c.want, c.inMessage, fs)
			}
		})
	}
}

// TestPreflightKubeProxyOnARealAPIServer: the check reads the DaemonSet
// EKS runs kube-proxy as, and stays silent without one.
func TestPreflightKubeProxyOnARealAPIServer(t *testing.T) {
	blue := startCluster(t, "blue")
	a := blue.activities()
	in := PreflightInput{Cluster: blue.ref, CurrentVersion: "1.31", TargetVersion: "1.33", InPlace: true}
	res, err := a.PreflightBlue(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if fs := findingsOf(res.Findings, CheckKubeProxySkew); len(fs) != 0 {
		t.Fatalf("no kube-proxy, yet %+v", fs)
	}
	// The sandbox apiserver is 1.31: a kube-proxy three minors behind
	// breaks the skew at the first in-place hop (1.32).
	must(blue.cs.AppsV1().DaemonSets(metav1.NamespaceSystem).Create(ctxT(t), kubeProxy("602401143452.dkr.ecr.us-east-1.amazonaws.com/eks/kube-proxy:v1.28.15-minimal-eksbuild.2"), metav1.CreateOptions{}))
	res, err = a.PreflightBlue(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if fs := findingsOf(res.Findings, CheckKubeProxySkew); len(fs) != 1 || fs[0].Severity != finding.Error || !strings.Contains(fs[0].Message, "kube-proxy 1.28") {
		t.Fatalf("kube-proxy 1.28 on 1.31 in place: %+v", fs)
	}
	if res.CNI != nil {
		t.Errorf("no aws-node, yet CNI %+v", res.CNI)
	}
	// The VPC CNI's aws-node: its image is read for the workflow to
	// compare with EKS's versions (a sidecar does not confuse it).
	ds := kubeProxy("602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon-k8s-cni:v1.12.6-eksbuild.2")
	ds.Name = AWSNodeDaemonSet
	ds.Spec.Template.Spec.Containers[0].Name = AWSNodeDaemonSet
	ds.Spec.Template.Spec.Containers = append([]corev1.Container{{Name: "aws-eks-nodeagent", Image: "602401143452.dkr.ecr.us-east-1.amazonaws.com/amazon/aws-network-policy-agent:v1.0.4"}}, ds.Spec.Template.Spec.Containers...)
	must(blue.cs.AppsV1().DaemonSets(metav1.NamespaceSystem).Create(ctxT(t), ds, metav1.CreateOptions{}))
	res, err = a.PreflightBlue(ctxT(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if res.CNI == nil || res.CNI.Version != "v1.12.6-eksbuild.2" || !strings.HasSuffix(res.CNI.Image, "amazon-k8s-cni:v1.12.6-eksbuild.2") {
		t.Errorf("CNI %+v; want aws-node's image v1.12.6-eksbuild.2", res.CNI)
	}
}
