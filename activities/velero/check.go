package velero

import (
	"context"
	"fmt"
	"slices"
	"strings"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// Checks of CheckVelero (finding.Finding.Check).
const (
	// CheckVeleroMissing: no Deployment "velero" in the namespace.
	CheckVeleroMissing = "velero-missing"
	// CheckBSLMissing: no BackupStorageLocation of the name.
	CheckBSLMissing = "velero-bsl-missing"
	// CheckBSLUnavailable: the BackupStorageLocation's phase is not
	// Available (a warning: Velero validates it periodically).
	CheckBSLUnavailable = "velero-bsl-unavailable"
	// CheckBSLMismatch: blue's and green's storage locations name a
	// different provider, bucket or prefix; green cannot read blue's backups.
	CheckBSLMismatch = "velero-bsl-mismatch"
	// CheckVersionSkew: blue and green run different Velero versions (a warning).
	CheckVersionSkew = "velero-version-skew"
	// CheckAPIGroupVersions: blue and green run different Kubernetes
	// versions and green's Velero server lacks EnableAPIGroupVersions.
	CheckAPIGroupVersions = "velero-api-group-versions"
)

// Names in a Velero install (velero install): the server's Deployment and
// container, and the feature flag that backs up and restores every API
// group version instead of the preferred ones only.
const (
	ServerDeployment              = "velero"
	FeatureEnableAPIGroupVersions = "EnableAPIGroupVersions"
	featuresFlag                  = "--features"
	// sourceVelero is finding.Finding.Source of CheckVelero's findings.
	sourceVelero = "velero"
)

// CheckVeleroInput is the preflight of Velero on blue and green.
type CheckVeleroInput struct {
	Blue      clusters.Ref `json:"blue"`
	Green     clusters.Ref `json:"green"`
	Namespace string       `json:"namespace"`
	// StorageLocation is the BackupStorageLocation's name (default: the
	// activities' WithStorageLocation, "default").
	StorageLocation string `json:"storageLocation,omitempty"`
	// BlueVersion and GreenVersion are the Kubernetes versions (major.minor)
	// of blue and of green after the migration.
	BlueVersion  string `json:"blueVersion,omitempty"`
	GreenVersion string `json:"greenVersion,omitempty"`
}

// CheckVeleroResult is what CheckVelero found on both clusters.
type CheckVeleroResult struct {
	Findings []finding.Finding `json:"findings"`
	Blue     VeleroInstall     `json:"blue"`
	Green    VeleroInstall     `json:"green"`
}

// VeleroInstall is Velero as installed on one cluster.
type VeleroInstall struct {
	// Installed is true when the namespace has the Deployment "velero".
	Installed bool `json:"installed"`
	// Version is the image tag of the server ("v1.16.2"; "" without a tag).
	Version string `json:"version,omitempty"`
	// Image is the server container's image.
	Image string `json:"image,omitempty"`
	// Features are the server's --features.
	Features []string `json:"features,omitempty"`
	// BSL is the storage location; nil when there is none of the name.
	BSL *BSLInfo `json:"bsl,omitempty"`
}

// BSLInfo is one BackupStorageLocation.
type BSLInfo struct {
	Name     string `json:"name"`
	Provider string `json:"provider"`
	Bucket   string `json:"bucket"`
	Prefix   string `json:"prefix,omitempty"`
	// AccessMode is "ReadWrite" or "ReadOnly" (unset reads as ReadWrite,
	// as in Velero).
	AccessMode string `json:"accessMode"`
	// Phase is "Available", "Unavailable" or "" (not validated yet).
	Phase string `json:"phase,omitempty"`
}

// CheckVelero is the read-only preflight of Velero: it reads the Velero
// server's Deployment and the BackupStorageLocation on blue and on green
// and reports what would stop the backup of blue from being restored into
// green: Velero or the storage location missing on either (errors), a
// location that is not Available (warning), locations that are not the
// same storage (green could not read blue's backups), different Velero
// versions (warning), and, when the Kubernetes versions differ, a green
// server without EnableAPIGroupVersions (the restore would take only the
// preferred API version of each group).
func (a *Activities) CheckVelero(ctx context.Context, in CheckVeleroInput) (CheckVeleroResult, error) {
	var res CheckVeleroResult
	switch {
	case in.Namespace == "":
		return res, failures.New(failures.Validation, "velero.namespace: required")
	case in.Blue.Name == "" || in.Green.Name == "":
		return res, failures.New(failures.Validation, "velero check: blue and green clusters are required")
	case in.Blue == in.Green:
		return res, failures.New(failures.Validation, "velero check: blue and green are the same cluster %s", in.Blue)
	}
	loc := in.StorageLocation
	if loc == "" {
		loc = a.opts.storageLocation
	}
	log := a.log(ctx)
	var err error
	activitylog.Heartbeat(ctx, Progress{Step: "check", Name: in.Blue.Name})
	if res.Blue, err = a.readInstall(ctx, in.Blue, in.Namespace, loc); err != nil {
		return res, err
	}
	activitylog.Heartbeat(ctx, Progress{Step: "check", Name: in.Green.Name})
	if res.Green, err = a.readInstall(ctx, in.Green, in.Namespace, loc); err != nil {
		return res, err
	}
	res.Findings = veleroFindings(in, loc, res.Blue, res.Green)
	log.Info("Checked Velero", "blue", in.Blue.Name, "green", in.Green.Name, "namespace", in.Namespace, "storageLocation", loc,
		"blueVelero", res.Blue.Version, "greenVelero", res.Green.Version, "findings", len(res.Findings))
	return res, nil
}

// readInstall reads the server Deployment and the storage location of one cluster.
func (a *Activities) readInstall(ctx context.Context, ref clusters.Ref, ns, loc string) (VeleroInstall, error) {
	var v VeleroInstall
	c, err := a.client(ctx, ref)
	if err != nil {
		return v, err
	}
	// The client's scheme has no apps/v1: the Deployment is read unstructured.
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	err = get(ctx, c, client.ObjectKey{Namespace: ns, Name: ServerDeployment}, u)
	switch {
	case err == nil:
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d); err != nil {
			return v, failures.Wrap(failures.InvalidParameter, err, "read Deployment %s/%s on %s", ns, ServerDeployment, ref.Name)
		}
		v.Installed = true
		if s := serverContainer(d.Spec.Template.Spec.Containers); s != nil {
			v.Image = s.Image
			v.Version = imageTag(s.Image)
			v.Features = serverFeatures(append(slices.Clone(s.Command), s.Args...))
		}
	case apierrors.IsNotFound(err):
	default:
		return v, apiError(err, "get Deployment %s/%s on %s", ns, ServerDeployment, ref.Name)
	}

	var b velerov1.BackupStorageLocation
	err = get(ctx, c, client.ObjectKey{Namespace: ns, Name: loc}, &b)
	switch {
	case err == nil:
		v.BSL = &BSLInfo{Name: b.Name, Provider: b.Spec.Provider, AccessMode: accessModeOf(b.Spec.AccessMode), Phase: string(b.Status.Phase)}
		if st := b.Spec.ObjectStorage; st != nil {
			v.BSL.Bucket, v.BSL.Prefix = st.Bucket, st.Prefix
		}
	case apierrors.IsNotFound(err), meta.IsNoMatchError(err):
		// No such location, or no Velero CRDs at all: either way there is none.
	default:
		return v, apiError(err, "get BackupStorageLocation %s/%s on %s", ns, loc, ref.Name)
	}
	return v, nil
}

// veleroFindings judges blue's and green's installs (pure).
func veleroFindings(in CheckVeleroInput, loc string, blue, green VeleroInstall) []finding.Finding {
	var out []finding.Finding
	add := func(check, cluster, object string, sev finding.Severity, msg, fix string) {
		out = append(out, finding.Finding{Check: check, Cluster: cluster, Object: object, Severity: sev, Message: msg, Fix: fix, Source: sourceVelero})
	}
	deployment := "apps/v1 Deployment " + in.Namespace + "/" + ServerDeployment
	bsl := "velero.io/v1 BackupStorageLocation " + in.Namespace + "/" + loc
	type side struct {
		role, name, other string
		v                 VeleroInstall
	}
	sides := []side{{"blue", in.Blue.Name, in.Green.Name, blue}, {"green", in.Green.Name, in.Blue.Name, green}}
	for _, s := range sides {
		if !s.v.Installed {
			what := "takes the backup"
			if s.role == "green" {
				what = "restores the backup"
			}
			add(CheckVeleroMissing, s.name, deployment, finding.Error,
				fmt.Sprintf("Velero is not installed on %s (%s): no Deployment %s in namespace %s; Velero on %s %s", s.role, s.name, ServerDeployment, in.Namespace, s.role, what),
				fmt.Sprintf("Install Velero in namespace %s of %s (velero install --features=%s) with a backup storage location %q on the same bucket and prefix as %s's.",
					in.Namespace, s.name, FeatureEnableAPIGroupVersions, loc, s.other))
		}
		switch {
		case s.v.BSL == nil:
			add(CheckBSLMissing, s.name, bsl, finding.Error,
				fmt.Sprintf("%s (%s) has no BackupStorageLocation %s in namespace %s (or no Velero CRDs)", s.role, s.name, loc, in.Namespace),
				fmt.Sprintf("Create BackupStorageLocation %s in namespace %s of %s on the same provider, bucket and prefix as %s's (velero backup-location create %s ...).",
					loc, in.Namespace, s.name, s.other, loc))
		case s.v.BSL.Phase != string(velerov1.BackupStorageLocationPhaseAvailable):
			phase := s.v.BSL.Phase
			if phase == "" {
				phase = "not validated yet"
			}
			add(CheckBSLUnavailable, s.name, bsl, finding.Warning,
				fmt.Sprintf("BackupStorageLocation %s on %s (%s) is %s: Velero cannot read or write bucket %s there", loc, s.role, s.name, phase, s.v.BSL.Bucket),
				fmt.Sprintf("Check Velero's credentials and the bucket on %s (velero backup-location get %s; the server's log names the cause).", s.name, loc))
		}
	}
	if b, g := blue.BSL, green.BSL; b != nil && g != nil {
		var diff []string
		if b.Provider != g.Provider {
			diff = append(diff, fmt.Sprintf("provider %q (blue %q)", g.Provider, b.Provider))
		}
		if b.Bucket != g.Bucket {
			diff = append(diff, fmt.Sprintf("bucket %q (blue %q)", g.Bucket, b.Bucket))
		}
		if strings.Trim(b.Prefix, "/") != strings.Trim(g.Prefix, "/") {
			diff = append(diff, fmt.Sprintf("prefix %q (blue %q)", g.Prefix, b.Prefix))
		}
		if len(diff) > 0 {
			add(CheckBSLMismatch, in.Green.Name, bsl, finding.Error,
				fmt.Sprintf("Green's BackupStorageLocation %s is not blue's storage: %s; green's Velero cannot see blue's backups", loc, strings.Join(diff, ", ")),
				fmt.Sprintf("Point green's BackupStorageLocation %s at blue's provider %s, bucket %s and prefix %q (green only reads it: the migration sets it ReadOnly during the restore).",
					loc, b.Provider, b.Bucket, b.Prefix))
		}
	}
	if blue.Installed && green.Installed && blue.Version != green.Version {
		add(CheckVersionSkew, in.Green.Name, deployment, finding.Warning,
			fmt.Sprintf("Green runs Velero %s and blue %s: a backup is restored by a different Velero version than took it", orUnknown(green.Version), orUnknown(blue.Version)),
			fmt.Sprintf("Run the same Velero version on both clusters (upgrade %s's Velero to the newer one).", olderOf(in, blue.Version, green.Version)))
	}
	bv, gv := strings.TrimPrefix(in.BlueVersion, "v"), strings.TrimPrefix(in.GreenVersion, "v")
	if bv != "" && gv != "" && bv != gv && green.Installed && !slices.Contains(green.Features, FeatureEnableAPIGroupVersions) {
		fix := fmt.Sprintf("Add %s=%s to the args of green's Velero server (Deployment %s/%s on %s)", featuresFlag, FeatureEnableAPIGroupVersions, in.Namespace, ServerDeployment, in.Green.Name)
		if !slices.Contains(blue.Features, FeatureEnableAPIGroupVersions) {
			fix += fmt.Sprintf(", and to blue's (%s) before the backup, so the backup holds every API version", in.Blue.Name)
		}
		add(CheckAPIGroupVersions, in.Green.Name, deployment, finding.Error,
			fmt.Sprintf("Blue runs Kubernetes %s and green %s, but green's Velero server does not have the %s feature: the restore would restore only the preferred version of each API group",
				bv, gv, FeatureEnableAPIGroupVersions),
			fix+".")
	}
	return out
}

// olderOf names the cluster whose Velero to upgrade: the one with the
// lower version, or green when they cannot be ordered.
func olderOf(in CheckVeleroInput, blue, green string) string {
	if blue != "" && green != "" && compareVersions(green, blue) > 0 {
		return in.Blue.Name
	}
	return in.Green.Name
}

// compareVersions orders "v1.16.2"-style tags by their numeric parts.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := range max(len(pa), len(pb)) {
		var x, y int
		if i < len(pa) {
			fmt.Sscanf(pa[i], "%d", &x)
		}
		if i < len(pb) {
			fmt.Sscanf(pb[i], "%d", &y)
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

func orUnknown(s string) string {
	if s == "" {
		return "(no image tag)"
	}
	return s
}

// serverContainer is the Velero server's container: the one named velero,
// else the first on a velero image, else the first.
func serverContainer(cs []corev1.Container) *corev1.Container {
	for i := range cs {
		if cs[i].Name == ServerDeployment {
			return &cs[i]
		}
	}
	for i := range cs {
		if strings.Contains(cs[i].Image, "velero/velero") {
			return &cs[i]
		}
	}
	if len(cs) > 0 {
		return &cs[0]
	}
	return nil
}

// imageTag returns the tag of an image reference ("" without one).
func imageTag(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	name := image[strings.LastIndex(image, "/")+1:]
	if i := strings.LastIndex(name, ":"); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// serverFeatures returns the features of the server's --features flags
// ("--features=A,B" or "--features A,B"; repeated flags add up).
func serverFeatures(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		var val string
		switch {
		case strings.HasPrefix(args[i], featuresFlag+"="):
			val = strings.TrimPrefix(args[i], featuresFlag+"=")
		case args[i] == featuresFlag && i+1 < len(args):
			i++
			val = args[i]
		default:
			continue
		}
		for _, f := range strings.Split(val, ",") {
			if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

// accessModeOf reads a storage location's access mode; unset is ReadWrite.
func accessModeOf(m velerov1.BackupStorageLocationAccessMode) string {
	if m == "" {
		return string(velerov1.BackupStorageLocationAccessModeReadWrite)
	}
	return string(m)
}
