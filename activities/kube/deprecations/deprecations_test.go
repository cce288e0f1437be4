package deprecations

import (
	"strconv"
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
		{"flowcontrol.apiserver.k8s.io/v1beta1", "PriorityLevelConfiguration", "1.26", "flowcontrol.apiserver.k8s.io/v1beta2"},
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

// TestTableHasPrereleaseAndAddonRemovals: the alpha and beta versions
// removed in 1.32-1.35, those deprecated now and removed after, and the
// add-on CRD versions people still have in manifests.
func TestTableHasPrereleaseAndAddonRemovals(t *testing.T) {
	tab := Load()
	for _, w := range []struct{ apiVersion, kind, removedIn, addon string }{
		{"admissionregistration.k8s.io/v1alpha1", "ValidatingAdmissionPolicy", "1.32", ""},
		{"authentication.k8s.io/v1beta1", "SelfSubjectReview", "1.33", ""},
		{"admissionregistration.k8s.io/v1beta1", "ValidatingAdmissionPolicyBinding", "1.34", ""},
		{"storage.k8s.io/v1alpha1", "VolumeAttributesClass", "1.35", ""},
		{"networking.k8s.io/v1beta1", "ServiceCIDR", "1.37", ""},
		{"resource.k8s.io/v1beta1", "ResourceClaim", "1.38", ""},
		{"cert-manager.io/v1alpha2", "Certificate", "1.7", "cert-manager"},
		{"acme.cert-manager.io/v1beta1", "Order", "1.7", "cert-manager"},
		{"snapshot.storage.k8s.io/v1beta1", "VolumeSnapshot", "6.0", "external-snapshotter"},
		{"rbac.istio.io/v1alpha1", "ServiceRole", "1.6", "istio"},
	} {
		r, ok := tab.ForKind(w.apiVersion, w.kind)
		if !ok || r.RemovedIn != w.removedIn || r.Addon != w.addon || (r.Source == "" && w.addon != "") {
			t.Errorf("%s %s: %+v %v, want removedIn %s addon %q with a source", w.apiVersion, w.kind, r, ok, w.removedIn, w.addon)
		}
	}
	for _, r := range tab.RemovedBy("1.40") {
		if r.Addon != "" {
			t.Errorf("RemovedBy lists add-on entry %s %s: its versions are not Kubernetes'", r.APIVersion, r.Kind)
		}
	}
}

// TestAdviceValidAtTheTarget: no replacement is advised that the target no
// longer serves: the chain is followed, or none is said.
func TestAdviceValidAtTheTarget(t *testing.T) {
	tab := Load()
	for _, c := range []struct {
		apiVersion, kind, target, want, via string
	}{
		{"flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.26", "flowcontrol.apiserver.k8s.io/v1beta2", ""},
		{"flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.29", "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta2"},
		{"flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", "1.33", "flowcontrol.apiserver.k8s.io/v1", "flowcontrol.apiserver.k8s.io/v1beta2"},
		{"extensions/v1beta1", "PodSecurityPolicy", "1.24", "policy/v1beta1", ""},
		{"extensions/v1beta1", "PodSecurityPolicy", "1.31", "", "policy/v1beta1"},
		{"extensions/v1beta1", "Ingress", "1.31", "networking.k8s.io/v1", ""},
		{"cert-manager.io/v1alpha2", "Certificate", "1.31", "cert-manager.io/v1", ""},
	} {
		r, _ := tab.ForKind(c.apiVersion, c.kind)
		got := tab.AtTarget(r, c.target)
		if got.Replacement != c.want || (c.via != "" && !strings.Contains(got.Notes, c.via+" (its replacement")) || (c.via == "" && got.Notes != r.Notes) {
			t.Errorf("%s %s at %s: replacement %q notes %q, want %q via %q", c.apiVersion, c.kind, c.target, got.Replacement, got.Notes, c.want, c.via)
		}
		if c.want == "" && !strings.Contains(got.Fix(), "no replacement") {
			t.Errorf("%s %s at %s: fix %q", c.apiVersion, c.kind, c.target, got.Fix())
		}
		// Whatever is advised is served at the target.
		if next, removed := tab.ForKind(got.Replacement, c.kind); got.Replacement != "" && removed && next.Addon == "" && next.RemovedMinor() <= mustMinor(t, c.target) {
			t.Errorf("%s %s at %s: advises %s, removed in %s", c.apiVersion, c.kind, c.target, got.Replacement, next.RemovedIn)
		}
	}
	// Every entry at every target from 1.23 to 1.38.
	for m := 23; m <= 38; m++ {
		target := "1." + strconv.Itoa(m)
		for _, r := range tab.Removals {
			got := tab.AtTarget(r, target)
			if next, removed := tab.ForKind(got.Replacement, r.Kind); got.Replacement != "" && removed && next.Addon == "" && next.RemovedMinor() <= m {
				t.Errorf("%s %s at %s: advises %s, removed in %s", r.APIVersion, r.Kind, target, got.Replacement, next.RemovedIn)
			}
		}
	}
}

func mustMinor(t *testing.T, v string) int {
	m, err := Minor(v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDeprecated(t *testing.T) {
	tab := Load()
	sc, _ := tab.ForKind("networking.k8s.io/v1beta1", "ServiceCIDR") // deprecated 1.34, removed 1.37
	for target, want := range map[string]bool{"1.33": false, "1.34": true, "1.36": true, "1.37": false} {
		if got := sc.Deprecated(target); got != want {
			t.Errorf("ServiceCIDR v1beta1 deprecated at %s = %v, want %v", target, got, want)
		}
	}
	cm, _ := tab.ForKind("cert-manager.io/v1alpha2", "Certificate")
	if cm.Deprecated("1.31") {
		t.Error("an add-on entry is never a Kubernetes deprecation")
	}
}

// TestParseRefusesMisadvice: what the loader enforces on each entry.
func TestParseRefusesMisadvice(t *testing.T) {
	for name, c := range map[string]struct{ yaml, want string }{
		"replacement after removal": {`removals: [{apiVersion: a/v1beta1, kind: K, resource: ks, removedIn: "1.26", replacement: a/v1, replacementSince: "1.29"}]`, "replacementSince 1.29 is after removedIn 1.26"},
		"replacement removed first": {`removals:
- {apiVersion: a/v1beta1, kind: K, resource: ks, removedIn: "1.26", replacement: a/v1beta2, replacementSince: "1.23"}
- {apiVersion: a/v1beta2, kind: K, resource: ks, removedIn: "1.25", replacement: a/v1, replacementSince: "1.23"}`, "is itself removed in 1.25"},
		"replacement without since": {`removals: [{apiVersion: a/v1beta1, kind: K, resource: ks, removedIn: "1.26", replacement: a/v1}]`, "without replacementSince"},
		"itself":                    {`removals: [{apiVersion: a/v1, kind: K, resource: ks, removedIn: "1.26", replacement: a/v1, replacementSince: "1.2"}]`, "the removed API itself"},
		"deprecated after removal":  {`removals: [{apiVersion: a/v1, kind: K, resource: ks, removedIn: "1.26", deprecatedIn: "1.26"}]`, "deprecatedIn 1.26 is after"},
		"add-on without source":     {`removals: [{apiVersion: x.io/v1, kind: K, resource: ks, addon: x, removedIn: "2.0"}]`, "https source"},
		"add-on bad version":        {`removals: [{apiVersion: x.io/v1, kind: K, resource: ks, addon: x, removedIn: "two", source: "https://x.io"}]`, "major.minor"},
	} {
		_, err := Parse([]byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", name, err, c.want)
		}
	}
}
