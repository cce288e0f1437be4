package deprecations

import (
	"strings"
	"testing"
)

func TestTableCoversEveryRemovalFrom116To132(t *testing.T) {
	tab := Load()
	if !strings.Contains(tab.Source, "kubernetes.io/docs/reference/using-api/deprecation-guide") {
		t.Fatalf("source = %q, want the upstream Deprecated API Migration Guide", tab.Source)
	}
	want := []struct{ apiVersion, kind, removedIn, replacement string }{
		{"flowcontrol.apiserver.k8s.io/v1beta3", "FlowSchema", "1.32", "flowcontrol.apiserver.k8s.io/v1"},
		{"flowcontrol.apiserver.k8s.io/v1beta3", "PriorityLevelConfiguration", "1.32", "flowcontrol.apiserver.k8s.io/v1"},
		{"flowcontrol.apiserver.k8s.io/v1beta2", "FlowSchema", "1.29", "flowcontrol.apiserver.k8s.io/v1"},
		{"storage.k8s.io/v1beta1", "CSIStorageCapacity", "1.27", "storage.k8s.io/v1"},
		{"flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration", "1.26", "flowcontrol.apiserver.k8s.io/v1"},
		{"autoscaling/v2beta2", "HorizontalPodAutoscaler", "1.26", "autoscaling/v2"},
		{"batch/v1beta1", "CronJob", "1.25", "batch/v1"},
		{"discovery.k8s.io/v1beta1", "EndpointSlice", "1.25", "discovery.k8s.io/v1"},
		{"events.k8s.io/v1beta1", "Event", "1.25", "events.k8s.io/v1"},
		{"autoscaling/v2beta1", "HorizontalPodAutoscaler", "1.25", "autoscaling/v2"},
		{"policy/v1beta1", "PodDisruptionBudget", "1.25", "policy/v1"},
		{"policy/v1beta1", "PodSecurityPolicy", "1.25", ""},
		{"node.k8s.io/v1beta1", "RuntimeClass", "1.25", "node.k8s.io/v1"},
		{"extensions/v1beta1", "Ingress", "1.22", "networking.k8s.io/v1"},
		{"networking.k8s.io/v1beta1", "Ingress", "1.22", "networking.k8s.io/v1"},
		{"networking.k8s.io/v1beta1", "IngressClass", "1.22", "networking.k8s.io/v1"},
		{"admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration", "1.22", "admissionregistration.k8s.io/v1"},
		{"admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration", "1.22", "admissionregistration.k8s.io/v1"},
		{"apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "1.22", "apiextensions.k8s.io/v1"},
		{"apiregistration.k8s.io/v1beta1", "APIService", "1.22", "apiregistration.k8s.io/v1"},
		{"authentication.k8s.io/v1beta1", "TokenReview", "1.22", "authentication.k8s.io/v1"},
		{"authorization.k8s.io/v1beta1", "SubjectAccessReview", "1.22", "authorization.k8s.io/v1"},
		{"certificates.k8s.io/v1beta1", "CertificateSigningRequest", "1.22", "certificates.k8s.io/v1"},
		{"coordination.k8s.io/v1beta1", "Lease", "1.22", "coordination.k8s.io/v1"},
		{"rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "1.22", "rbac.authorization.k8s.io/v1"},
		{"scheduling.k8s.io/v1beta1", "PriorityClass", "1.22", "scheduling.k8s.io/v1"},
		{"storage.k8s.io/v1beta1", "CSIDriver", "1.22", "storage.k8s.io/v1"},
		{"storage.k8s.io/v1beta1", "CSINode", "1.22", "storage.k8s.io/v1"},
		{"storage.k8s.io/v1beta1", "StorageClass", "1.22", "storage.k8s.io/v1"},
		{"storage.k8s.io/v1beta1", "VolumeAttachment", "1.22", "storage.k8s.io/v1"},
		{"extensions/v1beta1", "Deployment", "1.16", "apps/v1"},
		{"apps/v1beta1", "Deployment", "1.16", "apps/v1"},
		{"apps/v1beta2", "Deployment", "1.16", "apps/v1"},
		{"extensions/v1beta1", "DaemonSet", "1.16", "apps/v1"},
		{"apps/v1beta2", "DaemonSet", "1.16", "apps/v1"},
		{"extensions/v1beta1", "ReplicaSet", "1.16", "apps/v1"},
		{"apps/v1beta1", "StatefulSet", "1.16", "apps/v1"},
		{"apps/v1beta2", "StatefulSet", "1.16", "apps/v1"},
		{"extensions/v1beta1", "NetworkPolicy", "1.16", "networking.k8s.io/v1"},
		{"extensions/v1beta1", "PodSecurityPolicy", "1.16", "policy/v1beta1"},
	}
	for _, w := range want {
		r, ok := tab.ForKind(w.apiVersion, w.kind)
		if !ok {
			t.Errorf("%s %s: missing", w.apiVersion, w.kind)
			continue
		}
		if r.RemovedIn != w.removedIn || r.Replacement != w.replacement {
			t.Errorf("%s %s: removedIn %q replacement %q, want %q %q", w.apiVersion, w.kind, r.RemovedIn, r.Replacement, w.removedIn, w.replacement)
		}
	}
	// Every release with removals is present.
	releases := map[string]bool{}
	for _, r := range tab.Removals {
		releases[r.RemovedIn] = true
		if r.Replacement != "" && r.ReplacementSince == "" {
			t.Errorf("%s %s: replacement without replacementSince", r.APIVersion, r.Kind)
		}
		if !strings.Contains(r.Fix(), r.Replacement) {
			t.Errorf("%s %s: Fix %q does not name the replacement", r.APIVersion, r.Kind, r.Fix())
		}
	}
	for _, rel := range []string{"1.16", "1.22", "1.25", "1.26", "1.27", "1.29", "1.32"} {
		if !releases[rel] {
			t.Errorf("no removals for %s", rel)
		}
	}
}

func TestLookups(t *testing.T) {
	tab := Load()
	r, ok := tab.ForResource("policy", "v1beta1", "poddisruptionbudgets")
	if !ok || r.Kind != "PodDisruptionBudget" || r.Group() != "policy" || r.Version() != "v1beta1" {
		t.Fatalf("ForResource policy/v1beta1 pdb = %+v, %v", r, ok)
	}
	if _, ok := tab.ForKind("apps/v1", "Deployment"); ok {
		t.Fatal("apps/v1 Deployment is not removed")
	}
	by25 := tab.RemovedBy("1.25")
	for _, r := range by25 {
		if r.RemovedMinor() > 25 {
			t.Fatalf("RemovedBy(1.25) includes %s %s removed in %s", r.APIVersion, r.Kind, r.RemovedIn)
		}
	}
	if len(by25) == 0 || len(by25) >= len(tab.Removals) {
		t.Fatalf("RemovedBy(1.25) = %d of %d entries", len(by25), len(tab.Removals))
	}
}

func TestMinor(t *testing.T) {
	for in, want := range map[string]int{"1.29": 29, "v1.31.14": 31, "1.30.4-eks-a737599": 30, "1.28+": 28, "v1.32.0-eks-5ca49cb": 32} {
		got, err := Minor(in)
		if err != nil || got != want {
			t.Errorf("Minor(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2.1", "1", "1.x"} {
		if _, err := Minor(bad); err == nil {
			t.Errorf("Minor(%q): want error", bad)
		}
	}
}

func TestParseRejectsDuplicatesAndBadVersions(t *testing.T) {
	dup := []byte(`removals:
- {apiVersion: a/v1, kind: K, resource: ks, removedIn: "1.2"}
- {apiVersion: a/v1, kind: K, resource: ks, removedIn: "1.3"}
`)
	if _, err := Parse(dup); err == nil {
		t.Fatal("duplicate accepted")
	}
	if _, err := Parse([]byte(`removals: [{apiVersion: a/v1, kind: K, resource: ks, removedIn: "soon"}]`)); err == nil {
		t.Fatal("bad removedIn accepted")
	}
}
