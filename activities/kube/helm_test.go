package kube

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/finding"
)

// storedRelease stores a Helm release revision as Helm's Secret or
// ConfigMap driver does (same name, labels and base64+gzip+JSON record).
func (c *testCluster) storedRelease(t *testing.T, storage, ns, name string, version int, status, manifest string, hooks ...HelmHook) {
	t.Helper()
	rel := map[string]any{
		"name": name, "namespace": ns, "version": version,
		"info":     map[string]any{"status": status},
		"chart":    map[string]any{"metadata": map[string]any{"name": name, "version": "1.2.0"}},
		"manifest": manifest,
		"hooks":    hooks,
	}
	data := must(EncodeHelmRelease(rel))
	meta := metav1.ObjectMeta{Name: "sh.helm.release.v1." + name + ".v" + itoa(version), Namespace: ns,
		Labels: map[string]string{"owner": "helm", "name": name, "status": status, "version": itoa(version)}}
	switch storage {
	case HelmStorageSecret:
		must(c.cs.CoreV1().Secrets(ns).Create(ctxT(t), &corev1.Secret{ObjectMeta: meta, Type: HelmReleaseSecretType,
			Data: map[string][]byte{"release": data}}, metav1.CreateOptions{}))
	case HelmStorageConfigMap:
		must(c.cs.CoreV1().ConfigMaps(ns).Create(ctxT(t), &corev1.ConfigMap{ObjectMeta: meta,
			Data: map[string]string{"release": string(data)}}, metav1.CreateOptions{}))
	default:
		t.Fatalf("storage %q", storage)
	}
}

// TestPreflightHelmReleaseClasses: each way a Helm release can hide a
// removed API, on a real kube-apiserver: objects inside a List, a
// document after an undecodable one, a release stored in ConfigMaps, a
// hook, and revisions that are not the deployed one (reported apart, as
// history); a clean release stays silent, and the SQL driver is named as
// not scanned.
func TestPreflightHelmReleaseClasses(t *testing.T) {
	blue := startCluster(t, "blue")
	ctx := ctxT(t)
	for _, ns := range []string{"shop", "ops", "edge"} {
		blue.namespace(t, ns)
	}
	doc := func(src, apiVersion, kind, name string) string {
		return "---\n# Source: " + src + "\napiVersion: " + apiVersion + "\nkind: " + kind + "\nmetadata:\n  name: " + name + "\n"
	}

	// A List document holding a removed API, then a broken document, then one more removed API.
	blue.storedRelease(t, HelmStorageSecret, "shop", "lists", 1, "deployed",
		"---\n# Source: lists/templates/pdbs.yaml\napiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {name: fine}\n- apiVersion: policy/v1beta1\n  kind: PodDisruptionBudget\n  metadata: {name: in-list}\n"+
			"---\n# Source: lists/templates/broken.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n"+
			doc("lists/templates/cronjob.yaml", "batch/v1beta1", "CronJob", "after-bad"))
	// A release kept by the ConfigMap driver.
	blue.storedRelease(t, HelmStorageConfigMap, "edge", "gateway", 4, "deployed", doc("gateway/templates/ingress.yaml", "extensions/v1beta1", "Ingress", "gateway"))
	// A hook with a removed API; the manifest itself is clean.
	blue.storedRelease(t, HelmStorageSecret, "ops", "db", 2, "deployed", doc("db/templates/sts.yaml", "apps/v1", "StatefulSet", "db"),
		HelmHook{Name: "db-psp", Kind: "PodSecurityPolicy", Path: "db/templates/hooks/psp.yaml", Events: []string{"pre-install", "pre-upgrade"},
			Manifest: doc("db/templates/hooks/psp.yaml", "policy/v1beta1", "PodSecurityPolicy", "db-psp")})
	// Revisions: the deployed one is clean; a failed and a superseded one
	// declare a removed API; another superseded one declares the same
	// object the deployed one does (reported once, as live: here not at all).
	blue.storedRelease(t, HelmStorageSecret, "shop", "flaky", 3, "deployed", doc("flaky/templates/hpa.yaml", "autoscaling/v2", "HorizontalPodAutoscaler", "flaky"))
	blue.storedRelease(t, HelmStorageSecret, "shop", "flaky", 4, "failed", doc("flaky/templates/hpa.yaml", "autoscaling/v2beta2", "HorizontalPodAutoscaler", "flaky"))
	blue.storedRelease(t, HelmStorageSecret, "shop", "flaky", 2, "superseded", doc("flaky/templates/hpa.yaml", "autoscaling/v2beta2", "HorizontalPodAutoscaler", "flaky"))
	blue.storedRelease(t, HelmStorageSecret, "shop", "flaky", 1, "superseded", doc("flaky/templates/hpa.yaml", "autoscaling/v2", "HorizontalPodAutoscaler", "flaky"))
	// An uninstalled release kept with --keep-history: not read.
	blue.storedRelease(t, HelmStorageSecret, "shop", "gone", 1, "uninstalled", doc("gone/templates/ingress.yaml", "extensions/v1beta1", "Ingress", "gone"))
	// A clean release and a ConfigMap that only looks like one.
	blue.storedRelease(t, HelmStorageConfigMap, "shop", "clean", 1, "deployed", doc("clean/templates/deploy.yaml", "apps/v1", "Deployment", "clean"))
	must(blue.cs.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "settings", Labels: map[string]string{"owner": "helm"}},
		Data: map[string]string{"release": "not a release"}}, metav1.CreateOptions{}))
	// A release ConfigMap Helm could not read either.
	must(blue.cs.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "sh.helm.release.v1.torn.v1",
		Labels: map[string]string{"owner": "helm", "name": "torn", "status": "deployed", "version": "1"}},
		Data: map[string]string{"release": "H4sI-torn"}}, metav1.CreateOptions{}))

	res, err := blue.activities(WithHelmPageSize(2)).PreflightBlue(ctx, PreflightInput{Cluster: blue.ref, CurrentVersion: "1.31", TargetVersion: "1.32"})
	if err != nil {
		t.Fatal(err)
	}
	helm := []finding.Finding{}
	for _, f := range res.Findings {
		if f.Source == SourceHelm {
			helm = append(helm, f)
		}
	}
	dump(t, helm)
	find := func(check, object string) (finding.Finding, bool) {
		for _, f := range helm {
			if f.Check == check && f.Object == object {
				return f, true
			}
		}
		return finding.Finding{}, false
	}
	want := func(check, object string, sev finding.Severity, parts ...string) {
		t.Helper()
		f, ok := find(check, object)
		if !ok {
			t.Errorf("no %s finding for %q", check, object)
			return
		}
		if f.Severity != sev {
			t.Errorf("%s %s: severity %s, want %s", check, object, f.Severity, sev)
		}
		for _, p := range parts {
			if !strings.Contains(f.Message+" | "+f.Fix, p) {
				t.Errorf("%s %s: %q (fix %q) lacks %q", check, object, f.Message, f.Fix, p)
			}
		}
	}
	none := func(check, object string) {
		t.Helper()
		if f, ok := find(check, object); ok {
			t.Errorf("unexpected %s finding: %+v", check, f)
		}
	}

	t.Run("List", func(t *testing.T) {
		want(CheckRemovedAPI, "policy/v1beta1 PodDisruptionBudget shop/in-list", finding.Error,
			"Helm release shop/lists revision 1 (deployed", "template lists/templates/pdbs.yaml, items[1] of a List", "replacement: policy/v1")
	})
	t.Run("document after an undecodable one", func(t *testing.T) {
		want(CheckScanIncomplete, "v1 Secret shop/sh.helm.release.v1.lists.v1", finding.Warning, "document 2 (template lists/templates/broken.yaml)", "the documents after them were scanned")
		want(CheckRemovedAPI, "batch/v1beta1 CronJob shop/after-bad", finding.Error, "template lists/templates/cronjob.yaml")
	})
	t.Run("ConfigMap storage", func(t *testing.T) {
		want(CheckRemovedAPI, "extensions/v1beta1 Ingress edge/gateway", finding.Error, "configmap edge/sh.helm.release.v1.gateway.v4", "helm mapkubeapis gateway -n edge")
		want(CheckScanIncomplete, "v1 ConfigMap shop/sh.helm.release.v1.torn.v1", finding.Warning, "could not decode Helm release configmap shop/sh.helm.release.v1.torn.v1")
		none(CheckScanIncomplete, "v1 ConfigMap shop/settings") // labelled owner=helm, not named as a release
	})
	t.Run("hook", func(t *testing.T) {
		want(CheckRemovedAPI, "policy/v1beta1 PodSecurityPolicy ops/db-psp", finding.Error,
			"hook db-psp (db/templates/hooks/psp.yaml, events pre-install,pre-upgrade)", "Helm release ops/db revision 2")
	})
	t.Run("only the deployed revision is live", func(t *testing.T) {
		none(CheckRemovedAPI, "autoscaling/v2beta2 HorizontalPodAutoscaler shop/flaky")
		want(CheckHelmRevisionAPI, "autoscaling/v2beta2 HorizontalPodAutoscaler shop/flaky", finding.Info,
			"not live", "revision(s)", "4 (failed)", "2 (superseded)", "not in its deployed revision", "rollback")
		if n := len(findingsOf(helm, CheckHelmRevisionAPI)); n != 1 {
			t.Errorf("%d history findings, want 1 (one per release and object, not per revision)", n)
		}
		none(CheckRemovedAPI, "extensions/v1beta1 Ingress shop/gone")
		none(CheckHelmRevisionAPI, "extensions/v1beta1 Ingress shop/gone")
	})
	t.Run("clean release is silent", func(t *testing.T) {
		for _, f := range helm {
			if strings.Contains(f.Message, "shop/clean") || strings.Contains(f.Object, "clean") {
				t.Errorf("clean release reported: %+v", f)
			}
		}
	})
	t.Run("SQL driver named as not scanned", func(t *testing.T) {
		fs := findingsOf(helm, CheckHelmSQLNotScanned)
		if len(fs) != 1 || fs[0].Severity != finding.Info || !strings.Contains(fs[0].Message, "HELM_DRIVER=sql") {
			t.Errorf("SQL driver findings %+v; want one info", fs)
		}
	})
}

// TestPreflightLastAppliedList: a last-applied annotation holding a List
// (written by a tool other than kubectl) has its items read as objects.
func TestPreflightLastAppliedList(t *testing.T) {
	blue := startCluster(t, "blue")
	ctx := ctxT(t)
	blue.namespace(t, "shop")
	last := `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"bundle","namespace":"shop"}},` +
		`{"apiVersion":"extensions/v1beta1","kind":"Ingress","metadata":{"name":"web","namespace":"shop"}}]}`
	must(blue.cs.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "bundle",
		Annotations: map[string]string{LastAppliedAnnotation: last}}}, metav1.CreateOptions{}))
	res, err := blue.activities().PreflightBlue(ctx, PreflightInput{Cluster: blue.ref, CurrentVersion: "1.31", TargetVersion: "1.32"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findingsOf(res.Findings, CheckRemovedAPI) {
		if f.Source == SourceLastApplied && f.Object == "extensions/v1beta1 Ingress shop/web" &&
			strings.Contains(f.Message, "configmaps shop/bundle") && strings.Contains(f.Message, "items[1] of a List") {
			return
		}
	}
	dump(t, res.Findings)
	t.Error("no removed-api finding for the Ingress inside the List of shop/bundle's last-applied annotation")
}
