package velero_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/sandbox"
)

// TestVeleroPreflight runs CheckVelero and SetBSLAccessMode against blue
// and green as SeedVelero makes them (Velero v1.16.2 with
// EnableAPIGroupVersions, one shared storage location), changing the
// objects the way a broken install differs.
func TestVeleroPreflight(t *testing.T) {
	w := startWorld(t)
	t.Run("Check", func(t *testing.T) { testCheck(t, w) })
	t.Run("SetBSLAccessMode", func(t *testing.T) { testSetBSLAccessMode(t, w) })
}

func (e *env) check(t *testing.T, acts *velero.Activities, in velero.CheckVeleroInput) (velero.CheckVeleroResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(acts.CheckVelero, in)
	var res velero.CheckVeleroResult
	if err == nil {
		if gerr := val.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

func (e *env) setMode(t *testing.T, acts *velero.Activities, in velero.SetBSLAccessModeInput) (velero.SetBSLAccessModeResult, error) {
	t.Helper()
	val, err := e.ExecuteActivity(acts.SetBSLAccessMode, in)
	var res velero.SetBSLAccessModeResult
	if err == nil {
		if gerr := val.Get(&res); gerr != nil {
			t.Fatal(gerr)
		}
	}
	return res, err
}

// clientset returns a client-go clientset of the cluster.
func (w *world) clientset(t *testing.T, ref clusters.Ref) kubernetes.Interface {
	t.Helper()
	cfg, err := w.resolver.RESTConfig(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return kubernetes.NewForConfigOrDie(cfg)
}

// changeDeployment changes the velero Deployment of the cluster; the
// returned func puts its spec back.
func changeDeployment(t *testing.T, cs kubernetes.Interface, change func(*appsv1.Deployment)) (undo func()) {
	t.Helper()
	ctx := context.Background()
	deps := cs.AppsV1().Deployments(ns)
	orig, err := deps.Get(ctx, "velero", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := orig.DeepCopy()
	change(d)
	if _, err := deps.Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur, err := deps.Get(ctx, "velero", metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Spec = orig.Spec
			_, err = deps.Update(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatalf("put the velero Deployment back: %v", err)
		}
	}
}

// changeBSL changes the storage location "default" of the cluster; the
// returned func puts its spec and status back.
func changeBSL(t *testing.T, c client.Client, change func(*velerov1.BackupStorageLocation)) (undo func()) {
	t.Helper()
	ctx := context.Background()
	key := client.ObjectKey{Namespace: ns, Name: "default"}
	var orig velerov1.BackupStorageLocation
	if err := c.Get(ctx, key, &orig); err != nil {
		t.Fatal(err)
	}
	b := orig.DeepCopy()
	change(b)
	if err := c.Update(ctx, b); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var cur velerov1.BackupStorageLocation
			if err := c.Get(ctx, key, &cur); err != nil {
				return err
			}
			cur.Spec, cur.Status = orig.Spec, orig.Status
			return c.Update(ctx, &cur)
		})
		if err != nil {
			t.Fatalf("put the BackupStorageLocation back: %v", err)
		}
	}
}

// checks returns the findings' "check@cluster", sorted.
func checks(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Check+"@"+f.Cluster)
	}
	slices.Sort(out)
	return out
}

// only returns the one finding of res, failing unless there is exactly
// one, of check on cluster with severity sev, its object, message and fix
// set, the fix mentioning each of fix.
func only(t *testing.T, res velero.CheckVeleroResult, check, cluster string, sev finding.Severity, fix ...string) finding.Finding {
	t.Helper()
	if len(res.Findings) != 1 {
		t.Fatalf("findings = %v, want only %s@%s: %+v", checks(res.Findings), check, cluster, res.Findings)
	}
	f := res.Findings[0]
	if f.Check != check || f.Cluster != cluster || f.Severity != sev || f.Object == "" || f.Message == "" || f.Fix == "" || f.Source != "velero" {
		t.Errorf("finding = %+v, want %s on %s, severity %s, with object, message, fix and source", f, check, cluster, sev)
	}
	for _, s := range fix {
		if !strings.Contains(f.Fix, s) {
			t.Errorf("%s: fix %q does not mention %q", check, f.Fix, s)
		}
	}
	return f
}

func testCheck(t *testing.T, w *world) {
	ctx := context.Background()
	acts := velero.New(w.resolver)
	e := newEnv(acts)
	blueCS, greenCS := w.clientset(t, blueRef), w.clientset(t, greenRef)
	in := velero.CheckVeleroInput{Blue: blueRef, Green: greenRef, Namespace: ns, BlueVersion: "1.29", GreenVersion: "1.30"}

	// The seeded pair: nothing to say, and what is installed is read.
	res, err := e.check(t, acts, in)
	if err != nil {
		t.Fatalf("CheckVelero: %v", err)
	}
	if len(res.Findings) != 0 {
		t.Errorf("findings on the seeded pair: %+v", res.Findings)
	}
	for name, v := range map[string]velero.VeleroInstall{"blue": res.Blue, "green": res.Green} {
		want := velero.BSLInfo{Name: "default", Provider: "aws", Bucket: sandbox.BackupBucket, Prefix: sandbox.BackupPrefix, AccessMode: "ReadWrite", Phase: "Available"}
		if !v.Installed || v.Version != "v1.16.2" || v.Image != sandbox.VeleroImage || !slices.Equal(v.Features, []string{"EnableAPIGroupVersions"}) || v.BSL == nil || *v.BSL != want {
			t.Errorf("%s's Velero = %+v (location %+v), want v1.16.2 with EnableAPIGroupVersions and %+v", name, v, v.BSL, want)
		}
	}

	t.Run("APIGroupVersions", func(t *testing.T) {
		undo := changeDeployment(t, greenCS, func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Args = []string{"server", "--uploader-type=kopia"}
		})
		defer undo()
		res, err := e.check(t, acts, in)
		if err != nil {
			t.Fatal(err)
		}
		f := only(t, res, velero.CheckAPIGroupVersions, "green", finding.Error, "--features=EnableAPIGroupVersions", "green")
		if strings.Contains(f.Fix, "blue") || !strings.Contains(f.Message, "1.29") || !strings.Contains(f.Message, "1.30") {
			t.Errorf("finding = %+v: want the versions in the message, and blue (which has the feature) not in the fix", f)
		}
		if len(res.Green.Features) != 0 {
			t.Errorf("green's features = %v, want none", res.Green.Features)
		}
		// The same Kubernetes version on both: the preferred versions are the same.
		same := in
		same.GreenVersion = "v1.29"
		if res, err := e.check(t, acts, same); err != nil || len(res.Findings) != 0 {
			t.Errorf("same Kubernetes versions: %v, findings %+v; want none", err, res.Findings)
		}
		// Blue lacks it too: the fix names blue's server for the backup.
		undoBlue := changeDeployment(t, blueCS, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Args = []string{"server"} })
		defer undoBlue()
		res, err = e.check(t, acts, in)
		if err != nil {
			t.Fatal(err)
		}
		only(t, res, velero.CheckAPIGroupVersions, "green", finding.Error, "green", "blue", "backup")
		// The flag as two arguments, among other features, counts.
		undo2 := changeDeployment(t, greenCS, func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Args = []string{"server", "--features", "EnableCSI,EnableAPIGroupVersions"}
		})
		defer undo2()
		res, err = e.check(t, acts, in)
		if err != nil || len(res.Findings) != 0 || !slices.Equal(res.Green.Features, []string{"EnableCSI", "EnableAPIGroupVersions"}) {
			t.Errorf("--features as a separate argument: %v, features %v, findings %+v", err, res.Green.Features, res.Findings)
		}
	})

	t.Run("VersionSkew", func(t *testing.T) {
		undo := changeDeployment(t, greenCS, func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "velero/velero:v1.15.0" })
		defer undo()
		res, err := e.check(t, acts, in)
		if err != nil {
			t.Fatal(err)
		}
		f := only(t, res, velero.CheckVersionSkew, "green", finding.Warning, "green")
		if res.Green.Version != "v1.15.0" || !strings.Contains(f.Message, "v1.15.0") || !strings.Contains(f.Message, "v1.16.2") {
			t.Errorf("green's version %q, finding %+v", res.Green.Version, f)
		}
	})

	t.Run("BSLUnavailable", func(t *testing.T) {
		undo := changeBSL(t, w.greenC, func(b *velerov1.BackupStorageLocation) {
			b.Status.Phase = velerov1.BackupStorageLocationPhaseUnavailable
			b.Status.Message = "rpc error: code = Unknown desc = NoSuchBucket"
		})
		defer undo()
		res, err := e.check(t, acts, in)
		if err != nil {
			t.Fatal(err)
		}
		f := only(t, res, velero.CheckBSLUnavailable, "green", finding.Warning, "green")
		if !strings.Contains(f.Message, "Unavailable") || !strings.Contains(f.Object, "BackupStorageLocation velero/default") || res.Green.BSL.Phase != "Unavailable" {
			t.Errorf("finding %+v, green's location %+v", f, res.Green.BSL)
		}
	})

	t.Run("BSLMismatch", func(t *testing.T) {
		for _, c := range []struct {
			what   string
			change func(*velerov1.BackupStorageLocation)
		}{
			{"prefix", func(b *velerov1.BackupStorageLocation) { b.Spec.ObjectStorage.Prefix = "green" }},
			{"bucket", func(b *velerov1.BackupStorageLocation) { b.Spec.ObjectStorage.Bucket = "green-backups" }},
			{"provider", func(b *velerov1.BackupStorageLocation) { b.Spec.Provider = "gcp" }},
		} {
			undo := changeBSL(t, w.greenC, c.change)
			res, err := e.check(t, acts, in)
			undo()
			if err != nil {
				t.Fatal(err)
			}
			f := only(t, res, velero.CheckBSLMismatch, "green", finding.Error, sandbox.BackupBucket, sandbox.BackupPrefix)
			if !strings.Contains(f.Message, c.what) {
				t.Errorf("%s differs: message %q does not name it", c.what, f.Message)
			}
		}
		// A prefix with slashes around it is the same prefix.
		undo := changeBSL(t, w.greenC, func(b *velerov1.BackupStorageLocation) {
			b.Spec.ObjectStorage.Prefix = "/" + sandbox.BackupPrefix + "/"
		})
		defer undo()
		if res, err := e.check(t, acts, in); err != nil || len(res.Findings) != 0 {
			t.Errorf("prefix with slashes: %v, findings %+v; want none", err, res.Findings)
		}
	})

	t.Run("BSLMissing", func(t *testing.T) {
		if err := w.greenC.Delete(ctx, &velerov1.BackupStorageLocation{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "default"}}); err != nil {
			t.Fatal(err)
		}
		defer reseed(t, w, greenRef)
		res, err := e.check(t, acts, in)
		if err != nil {
			t.Fatal(err)
		}
		only(t, res, velero.CheckBSLMissing, "green", finding.Error, "default", "green")
		if res.Green.BSL != nil || !res.Green.Installed {
			t.Errorf("green = %+v, want Velero installed without a location", res.Green)
		}
		// Another name than the one that exists: missing on both.
		other := in
		other.StorageLocation = "secondary"
		res, err = e.check(t, acts, other)
		if err != nil {
			t.Fatal(err)
		}
		if got := checks(res.Findings); !slices.Equal(got, []string{"velero-bsl-missing@blue", "velero-bsl-missing@green"}) {
			t.Errorf("location secondary: findings %v", got)
		}
		for _, f := range res.Findings {
			if !strings.Contains(f.Object, "velero/secondary") {
				t.Errorf("finding object %q does not name the location", f.Object)
			}
		}
	})

	t.Run("VeleroMissing", func(t *testing.T) {
		if err := blueCS.AppsV1().Deployments(ns).Delete(ctx, "velero", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		defer reseed(t, w, blueRef)
		res, err := e.check(t, acts, in)
		if err != nil {
			t.Fatal(err)
		}
		f := only(t, res, velero.CheckVeleroMissing, "blue", finding.Error, "velero install", "EnableAPIGroupVersions")
		if f.Object != "apps/v1 Deployment velero/velero" || res.Blue.Installed || res.Blue.Version != "" {
			t.Errorf("finding %+v, blue %+v", f, res.Blue)
		}
		// Another namespace: nothing there on either cluster.
		elsewhere := in
		elsewhere.Namespace = "backup-system"
		res, err = e.check(t, acts, elsewhere)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"velero-bsl-missing@blue", "velero-bsl-missing@green", "velero-missing@blue", "velero-missing@green"}
		if got := checks(res.Findings); !slices.Equal(got, want) {
			t.Errorf("namespace backup-system: findings %v, want %v", got, want)
		}
	})

	// Back to the seeded pair: nothing again.
	if res, err := e.check(t, acts, in); err != nil || len(res.Findings) != 0 {
		t.Errorf("after putting everything back: %v, findings %+v", err, res.Findings)
	}

	for _, bad := range []velero.CheckVeleroInput{
		{Blue: blueRef, Green: greenRef},
		{Blue: blueRef, Namespace: ns},
		{Blue: blueRef, Green: blueRef, Namespace: ns},
	} {
		if _, err := e.check(t, acts, bad); failures.TypeOf(err) != failures.Validation {
			t.Errorf("CheckVelero(%+v): %v, want Validation", bad, err)
		}
	}
}

// reseed puts back what SeedVelero creates on the cluster.
func reseed(t *testing.T, w *world, ref clusters.Ref) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := w.resolver.RESTConfig(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := sandbox.SeedVelero(ctx, &sandbox.Kube{Name: ref.Name, Server: cfg.Host, Token: cfg.BearerToken, CAData: cfg.CAData}); err != nil {
		t.Fatalf("seed Velero on %s again: %v", ref.Name, err)
	}
}

func testSetBSLAccessMode(t *testing.T, w *world) {
	ctx := context.Background()
	acts := velero.New(w.resolver)
	e := newEnv(acts)
	key := client.ObjectKey{Namespace: ns, Name: "default"}
	read := func() velerov1.BackupStorageLocation {
		t.Helper()
		var b velerov1.BackupStorageLocation
		if err := w.greenC.Get(ctx, key, &b); err != nil {
			t.Fatal(err)
		}
		return b
	}
	in := velero.SetBSLAccessModeInput{Cluster: greenRef, Namespace: ns, Name: "default", AccessMode: "ReadOnly", Migration: "m1"}

	res, err := e.setMode(t, acts, in)
	if err != nil {
		t.Fatalf("SetBSLAccessMode: %v", err)
	}
	if res.Previous != "ReadWrite" || res.Now != "ReadOnly" || !res.Changed {
		t.Errorf("set ReadOnly = %+v, want ReadWrite -> ReadOnly, changed", res)
	}
	b := read()
	var before struct{ Migration, AccessMode string }
	if err := json.Unmarshal([]byte(b.Annotations[velero.AnnotationBSLModeBefore]), &before); err != nil || before.Migration != "m1" || before.AccessMode != "ReadWrite" {
		t.Errorf("annotation %s = %q (%v), want m1's ReadWrite", velero.AnnotationBSLModeBefore, b.Annotations[velero.AnnotationBSLModeBefore], err)
	}
	if b.Spec.AccessMode != velerov1.BackupStorageLocationAccessModeReadOnly || b.Status.Phase != velerov1.BackupStorageLocationPhaseAvailable ||
		b.Spec.ObjectStorage == nil || b.Spec.ObjectStorage.Bucket != sandbox.BackupBucket {
		t.Errorf("location after the change = %+v %+v, want ReadOnly with the rest kept", b.Spec, b.Status)
	}
	if !e.saw("storage-location", "ReadOnly") {
		t.Errorf("no heartbeat: %+v", e.heartbeats)
	}
	// CheckVelero reads the mode.
	if c, err := e.check(t, acts, velero.CheckVeleroInput{Blue: blueRef, Green: greenRef, Namespace: ns}); err != nil || c.Green.BSL == nil || c.Green.BSL.AccessMode != "ReadOnly" || c.Blue.BSL.AccessMode != "ReadWrite" {
		t.Errorf("CheckVelero after the change: %v %+v", err, c)
	}

	// A retry (the first attempt's change done): the true Previous, nothing written.
	rv := b.ResourceVersion
	res, err = e.setMode(t, acts, in)
	if err != nil || res.Previous != "ReadWrite" || res.Now != "ReadOnly" || res.Changed {
		t.Errorf("retried set = %+v, %v; want ReadWrite -> ReadOnly, unchanged", res, err)
	}
	if read().ResourceVersion != rv {
		t.Errorf("the retry wrote the location")
	}
	// Another migration finds it ReadOnly; m1's record stays.
	res, err = e.setMode(t, acts, velero.SetBSLAccessModeInput{Cluster: greenRef, Namespace: ns, AccessMode: "ReadOnly", Migration: "m2"})
	if err != nil || res.Previous != "ReadOnly" || res.Changed {
		t.Errorf("m2's set = %+v, %v; want ReadOnly found, unchanged", res, err)
	}
	if !strings.Contains(read().Annotations[velero.AnnotationBSLModeBefore], `"m1"`) {
		t.Errorf("m1's annotation was replaced: %v", read().Annotations)
	}

	// Set back: the original mode, the annotation removed.
	back := in
	back.AccessMode = "ReadWrite"
	res, err = e.setMode(t, acts, back)
	if err != nil || res.Previous != "ReadWrite" || res.Now != "ReadWrite" || !res.Changed {
		t.Errorf("set back = %+v, %v; want Previous ReadWrite, now ReadWrite, changed", res, err)
	}
	b = read()
	if _, ok := b.Annotations[velero.AnnotationBSLModeBefore]; ok || b.Spec.AccessMode != velerov1.BackupStorageLocationAccessModeReadWrite {
		t.Errorf("location after setting back: mode %q, annotations %v", b.Spec.AccessMode, b.Annotations)
	}
	// Setting back again writes nothing.
	rv = b.ResourceVersion
	if res, err := e.setMode(t, acts, back); err != nil || res.Previous != "ReadWrite" || res.Changed || read().ResourceVersion != rv {
		t.Errorf("set back again = %+v, %v", res, err)
	}

	// A location that started ReadOnly: Previous is ReadOnly, and setting
	// it back to ReadOnly removes the record.
	undo := changeBSL(t, w.blueC, func(b *velerov1.BackupStorageLocation) {
		b.Spec.AccessMode = velerov1.BackupStorageLocationAccessModeReadOnly
	})
	res, err = e.setMode(t, acts, velero.SetBSLAccessModeInput{Cluster: blueRef, Namespace: ns, AccessMode: "ReadWrite", Migration: "m3"})
	if err != nil || res.Previous != "ReadOnly" || res.Now != "ReadWrite" || !res.Changed {
		t.Errorf("set a ReadOnly location ReadWrite = %+v, %v", res, err)
	}
	res, err = e.setMode(t, acts, velero.SetBSLAccessModeInput{Cluster: blueRef, Namespace: ns, AccessMode: "ReadOnly", Migration: "m3"})
	var bb velerov1.BackupStorageLocation
	if gerr := w.blueC.Get(ctx, key, &bb); gerr != nil {
		t.Fatal(gerr)
	}
	if err != nil || res.Previous != "ReadOnly" || res.Now != "ReadOnly" || bb.Annotations[velero.AnnotationBSLModeBefore] != "" || bb.Spec.AccessMode != "ReadOnly" {
		t.Errorf("set it back ReadOnly = %+v, %v; location %q %v", res, err, bb.Spec.AccessMode, bb.Annotations)
	}
	undo()

	// Invalid input.
	for _, bad := range []velero.SetBSLAccessModeInput{
		{Cluster: greenRef, Namespace: ns, Name: "default", AccessMode: "readonly", Migration: "m1"},
		{Cluster: greenRef, Namespace: ns, Name: "default", AccessMode: "", Migration: "m1"},
		{Cluster: greenRef, Namespace: ns, Name: "default", AccessMode: "ReadOnly"},
		{Cluster: greenRef, Name: "default", AccessMode: "ReadOnly", Migration: "m1"},
		{Namespace: ns, Name: "default", AccessMode: "ReadOnly", Migration: "m1"},
	} {
		_, err := e.setMode(t, acts, bad)
		if failures.TypeOf(err) != failures.Validation {
			t.Errorf("SetBSLAccessMode(%+v): %v, want Validation", bad, err)
			continue
		}
		assertNonRetryable(t, err)
	}
	if read().Spec.AccessMode != velerov1.BackupStorageLocationAccessModeReadWrite {
		t.Errorf("invalid input changed the location")
	}
	_, err = e.setMode(t, acts, velero.SetBSLAccessModeInput{Cluster: greenRef, Namespace: ns, Name: "secondary", AccessMode: "ReadOnly", Migration: "m1"})
	if failures.TypeOf(err) != failures.NotFound || !strings.Contains(err.Error(), "secondary") {
		t.Errorf("missing location: %v, want NotFound naming it", err)
	}
	assertNonRetryable(t, err)
}
