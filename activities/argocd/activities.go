// Package argocd holds the activities that restore Argo CD applications
// into green and wait for them to be Synced and Healthy.
//
// Two modes:
//   - retarget: Argo CD keeps running where it runs (ArgoCluster, normally
//     blue). Green is registered as an Argo CD cluster (a cluster Secret in
//     Argo CD's namespace), every Application that targets blue is pointed
//     at green, its previous destination recorded in the annotation
//     cutover.dev/previous-destination, and a sync is requested through the
//     Application's operation field.
//   - copy: green runs its own Argo CD. blue's Applications are created in
//     green's Argo CD namespace with the in-cluster destination.
//
// The activities reach clusters only through the injected clusters.Resolver;
// credentials go from the resolver into the cluster Secret and nowhere else
// (never into inputs, results, heartbeats or logs).
package argocd

import (
	"context"
	"log/slog"
	"time"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Annotations and labels cutover writes.
const (
	// AnnotationPreviousDestination holds the JSON of the destination an
	// Application had before retarget moved it to green.
	AnnotationPreviousDestination = "cutover.dev/previous-destination"
	// AnnotationRetargetedAt is when retarget moved the Application (RFC 3339).
	// Operation states that started before it are from before the move.
	AnnotationRetargetedAt = "cutover.dev/retargeted-at"
	// AnnotationPendingSync holds the JSON of a sync operation retarget could
	// not request because another operation was running; WaitArgoSynced
	// requests it once that operation has finished.
	AnnotationPendingSync = "cutover.dev/pending-sync"
	// AnnotationCopiedFrom names the cluster a copied Application came from.
	AnnotationCopiedFrom = "cutover.dev/copied-from"

	// LabelSecretType and SecretTypeCluster mark an Argo CD cluster Secret.
	LabelSecretType   = "argocd.argoproj.io/secret-type"
	SecretTypeCluster = "cluster"
	// LabelManagedBy marks the objects cutover created.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "cutover"

	// InClusterServer and InClusterName are Argo CD's names for the cluster
	// it runs in.
	InClusterServer = "https://kubernetes.default.svc"
	InClusterName   = "in-cluster"
)

// SyncFailed is the error type of an Application whose sync failed or that
// stayed Degraded past the grace period. It is non-retryable.
const SyncFailed = failures.ArgoSyncFailed

// RestoreInput restores blue's Applications into green.
type RestoreInput struct {
	// ArgoCluster is where Argo CD runs (and its Applications live).
	ArgoCluster clusters.Ref `json:"argoCluster"`
	Blue        clusters.Ref `json:"blue"`
	Green       clusters.Ref `json:"green"`
	// Mode is "retarget" or "copy".
	Mode      string `json:"mode"`
	Namespace string `json:"namespace"`
	Selector  string `json:"selector,omitempty"`
	Prune     bool   `json:"prune"`
}

// RestoreResult lists the applications now targeting green.
type RestoreResult struct {
	Applications []string `json:"applications"`
	// Changed lists the applications this call retargeted or created (the
	// others already targeted green).
	Changed []string `json:"changed,omitempty"`
	// SyncRequested lists the applications this call asked to sync.
	SyncRequested []string `json:"syncRequested,omitempty"`
	// Skipped lists the applications that matched but target neither blue
	// nor green, as "name: why".
	Skipped []string `json:"skipped,omitempty"`
	// ClusterSecret is the name of the Argo CD cluster Secret of green
	// (retarget mode), never its content.
	ClusterSecret string `json:"clusterSecret,omitempty"`
	// ApplicationSets lists the ApplicationSets retarget made generate
	// green's applications (retarget mode); their applications for green
	// are in Applications.
	ApplicationSets []string `json:"applicationSets,omitempty"`
}

// WaitSyncedInput waits for applications to be Synced and Healthy.
type WaitSyncedInput struct {
	ArgoCluster  clusters.Ref `json:"argoCluster"`
	Namespace    string       `json:"namespace"`
	Applications []string     `json:"applications"`
}

// AppStatus is one application's state.
type AppStatus struct {
	Name   string `json:"name"`
	Sync   string `json:"sync"`
	Health string `json:"health"`
}

// WaitSyncedResult is the final state of every application.
type WaitSyncedResult struct {
	Applications []AppStatus `json:"applications"`
}

// ClusterConfigFunc builds the Argo CD cluster config (the "config" key of
// the cluster Secret) of ref from the resolver's rest.Config.
type ClusterConfigFunc func(ctx context.Context, ref clusters.Ref, cfg *rest.Config) (argov1.ClusterConfig, error)

// ClientFactory builds a client of one cluster from its rest.Config.
type ClientFactory func(cfg *rest.Config) (client.Client, error)

type options struct {
	clusters.Settings[client.Client]
	degradedGrace time.Duration
	clusterConfig ClusterConfigFunc
	roleARN       string
	// installManifest returns Argo CD's install.yaml of a version
	// (InstallArgoCD); nil means FetchInstallManifest.
	installManifest InstallManifestFunc
	// appSetWait bounds how long retarget waits for the ApplicationSet
	// controller (0 means DefaultApplicationSetWait).
	appSetWait time.Duration
}

// Option configures the activities.
type Option func(*options)

// WithPollInterval sets how often WaitArgoSynced reads the applications (default 5s).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.Poll = d } }

// WithDegradedGrace sets how long an application may stay Degraded before
// WaitArgoSynced fails (default 5m). Applications often pass through
// Degraded while pods start.
func WithDegradedGrace(d time.Duration) Option { return func(o *options) { o.degradedGrace = d } }

// WithClientTTL bounds how long a cluster's client is reused before the
// resolver is asked again (EKS tokens last 15 minutes). Default 10m.
func WithClientTTL(d time.Duration) Option { return func(o *options) { o.ClientTTL = d } }

// WithClusterConfig replaces how green's Argo CD cluster config is built.
// The default, AutoClusterConfig, registers an EKS endpoint with
// awsAuthConfig (Argo CD mints its own tokens with its own IAM identity: a
// presigned token from the resolver would expire after 15 minutes) and
// anything else with the bearer token, client certificate and CA of the
// resolver's rest.Config. Use EKSClusterConfig(roleARN) when Argo CD must
// assume a role to reach green.
func WithClusterConfig(f ClusterConfigFunc) Option { return func(o *options) { o.clusterConfig = f } }

// WithArgoCDRoleARN sets the IAM role Argo CD assumes to reach the EKS
// clusters cutover registers: the default cluster config becomes
// EKSClusterConfig(arn) for EKS endpoints (StaticClusterConfig for the
// others), and ArgoCDIdentities reports the role. A WithClusterConfig
// replaces that default whatever the order of the options.
func WithArgoCDRoleARN(arn string) Option { return func(o *options) { o.roleARN = arn } }

// WithInstallManifest replaces where InstallArgoCD gets the upstream
// manifests/install.yaml of a version (default FetchInstallManifest, from
// GitHub).
func WithInstallManifest(f func(ctx context.Context, version string) ([]byte, error)) Option {
	return func(o *options) { o.installManifest = f }
}

// WithClientFactory replaces how clients are built (default NewClient).
func WithClientFactory(f ClientFactory) Option { return func(o *options) { o.Factory = f } }

// WithLogger sets the logger used outside a Temporal activity (tests, CLI).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.Logger = l } }

// Activities are the Argo CD activities. Build them with New.
type Activities struct {
	opts options
	base clusters.Base[client.Client]
}

// New returns the Argo CD activities. resolver turns a cluster Ref into a
// rest.Config; it is the only way the activities reach a cluster.
func New(resolver clusters.Resolver, opts ...Option) *Activities {
	defaults := clusters.DefaultSettings[client.Client](NewClient, 5*time.Second)
	o := options{Settings: defaults, degradedGrace: 5 * time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	if o.clusterConfig == nil {
		o.clusterConfig = autoClusterConfig(o.roleARN)
	}
	base := clusters.NewBase("argocd", "client", resolver, &o.Settings, defaults)
	return &Activities{opts: o, base: base}
}

// Scheme has the types the activities read and write: core v1 and Argo CD
// v1alpha1.
func Scheme() (*runtime.Scheme, error) {
	return clusters.NewScheme(corev1.AddToScheme, argov1.AddToScheme)
}

// NewClient is the default ClientFactory: a controller-runtime client with
// Scheme, 20 QPS (burst 40) and the user agent "cutover" unless cfg sets them.
func NewClient(cfg *rest.Config) (client.Client, error) {
	s, err := Scheme()
	if err != nil {
		return nil, err
	}
	return clusters.NewControllerClient(cfg, s)
}

// cluster returns the cached client and rest.Config of ref.
func (a *Activities) cluster(ctx context.Context, ref clusters.Ref) (client.Client, *rest.Config, error) {
	return a.base.Clients(ctx, ref)
}

func (a *Activities) log(ctx context.Context) activitylog.Logger { return a.base.Log(ctx) }

// autoClusterConfig is AutoClusterConfig with Argo CD assuming roleARN on
// EKS endpoints (AutoClusterConfig itself when roleARN is empty).
func autoClusterConfig(roleARN string) ClusterConfigFunc {
	if roleARN == "" {
		return AutoClusterConfig
	}
	eks := EKSClusterConfig(roleARN)
	return func(ctx context.Context, ref clusters.Ref, cfg *rest.Config) (argov1.ClusterConfig, error) {
		if isEKSEndpoint(cfg.Host) {
			return eks(ctx, ref, cfg)
		}
		return StaticClusterConfig(ctx, ref, cfg)
	}
}
