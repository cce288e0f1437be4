package kube

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/finding"
)

// configMapApplied creates a ConfigMap whose last-applied annotation says
// it was applied as apiVersion/kind: what kubectl apply leaves on an object
// converted since, the way the scan reads any object's declaration.
func (c *testCluster) configMapApplied(t *testing.T, ns, name, apiVersion, kind string) {
	t.Helper()
	last := `{"apiVersion":"` + apiVersion + `","kind":"` + kind + `","metadata":{"name":"` + name + `","namespace":"` + ns + `"}}`
	must(c.cs.CoreV1().ConfigMaps(ns).Create(ctxT(t), &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{LastAppliedAnnotation: last}},
	}, metav1.CreateOptions{}))
}

// TestRemovedAPIAdviceAtTheTarget: on a real apiserver, the scan's advice is
// valid at the target (no replacement that is itself removed by then),
// APIs deprecated at the target and removed later are warnings naming the
// removal, add-on CRD versions their add-on stopped serving are warnings,
// and a current API gives nothing.
func TestRemovedAPIAdviceAtTheTarget(t *testing.T) {
	blue := startCluster(t, "blue")
	blue.namespace(t, "shop")
	blue.configMapApplied(t, "shop", "psp", "extensions/v1beta1", "PodSecurityPolicy")
	blue.configMapApplied(t, "shop", "flow", "flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema")
	blue.configMapApplied(t, "shop", "cidr", "networking.k8s.io/v1beta1", "ServiceCIDR")
	blue.configMapApplied(t, "shop", "cert", "cert-manager.io/v1alpha2", "Certificate")
	blue.configMapApplied(t, "shop", "snap", "snapshot.storage.k8s.io/v1beta1", "VolumeSnapshot")
	blue.configMapApplied(t, "shop", "web", "apps/v1", "Deployment")

	scan := func(target string) map[string]finding.Finding {
		t.Helper()
		res, err := blue.activities().PreflightBlue(ctxT(t), PreflightInput{Cluster: blue.ref, CurrentVersion: "1.31", TargetVersion: target})
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]finding.Finding{}
		for _, f := range res.Findings {
			if f.Source != SourceLastApplied {
				continue
			}
			for _, n := range []string{"psp", "flow", "cidr", "cert", "snap", "web"} {
				if strings.HasSuffix(f.Object, " shop/"+n) {
					if _, dup := byName[n]; dup {
						t.Errorf("target %s: two findings for %s", target, n)
					}
					byName[n] = f
				}
			}
		}
		return byName
	}

	at134 := scan("1.34")
	if f := at134["psp"]; f.Check != CheckRemovedAPI || f.Severity != finding.Error || !strings.Contains(f.Message, "no replacement API") ||
		strings.Contains(f.Fix, "Change apiVersion to policy/v1beta1") || !strings.Contains(f.Fix, "policy/v1beta1 (its replacement since 1.10) is itself removed in 1.25") {
		t.Errorf("PodSecurityPolicy at 1.34: %+v", f)
	}
	if f := at134["flow"]; f.Check != CheckRemovedAPI || !strings.Contains(f.Message, "replacement: flowcontrol.apiserver.k8s.io/v1") ||
		strings.Contains(f.Message, "v1beta2;") || !strings.Contains(f.Fix, "Change apiVersion to flowcontrol.apiserver.k8s.io/v1 (available since 1.29)") {
		t.Errorf("FlowSchema v1beta1 at 1.34: %+v", f)
	}
	if f := at134["cidr"]; f.Check != CheckDeprecatedAPI || f.Severity != finding.Warning || !strings.Contains(f.Message, "deprecated since 1.34 and removed in Kubernetes 1.37") {
		t.Errorf("ServiceCIDR v1beta1 at 1.34: %+v", f)
	}
	if f := at134["cert"]; f.Check != CheckRemovedAddonAPI || f.Severity != finding.Warning || !strings.Contains(f.Message, "cert-manager 1.7") || !strings.Contains(f.Fix, "cert-manager.io/v1") {
		t.Errorf("cert-manager v1alpha2 at 1.34: %+v", f)
	}
	if f := at134["snap"]; f.Check != CheckRemovedAddonAPI || !strings.Contains(f.Message, "external-snapshotter 6.0") {
		t.Errorf("VolumeSnapshot v1beta1 at 1.34: %+v", f)
	}
	if f, ok := at134["web"]; ok {
		t.Errorf("apps/v1 Deployment: %+v", f)
	}

	// At 1.33 ServiceCIDR v1beta1 is not deprecated yet; at 1.24 PodSecurityPolicy's
	// replacement still stands and FlowSchema v1beta1 is not removed yet.
	at133 := scan("1.33")
	if f, ok := at133["cidr"]; ok {
		t.Errorf("ServiceCIDR v1beta1 at 1.33: %+v", f)
	}
	at124 := scan("1.24")
	if f := at124["psp"]; !strings.Contains(f.Message, "replacement: policy/v1beta1") {
		t.Errorf("PodSecurityPolicy at 1.24: %+v", f)
	}
	if f := at124["flow"]; f.Check != CheckDeprecatedAPI || !strings.Contains(f.Message, "removed in Kubernetes 1.26") {
		t.Errorf("FlowSchema v1beta1 at 1.24: %+v", f)
	}
}
