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
	"fmt"
	"log/slog"
	"sync"
	"time"

	argov1 "github.com/argoproj/argo-cd/v2/pkg/apis/application/v1alpha1"
	"go.temporal.io/sdk/activity"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
	poll          time.Duration
	degradedGrace time.Duration
	clientTTL     time.Duration
	clusterConfig ClusterConfigFunc
	factory       ClientFactory
	logger        *slog.Logger
	now           func() time.Time
}

// Option configures the activities.
type Option func(*options)

// WithPollInterval sets how often WaitArgoSynced reads the applications (default 5s).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.poll = d } }

// WithDegradedGrace sets how long an application may stay Degraded before
// WaitArgoSynced fails (default 5m). Applications often pass through
// Degraded while pods start.
func WithDegradedGrace(d time.Duration) Option { return func(o *options) { o.degradedGrace = d } }

// WithClientTTL bounds how long a cluster's client is reused before the
// resolver is asked again (EKS tokens last 15 minutes). Default 10m.
func WithClientTTL(d time.Duration) Option { return func(o *options) { o.clientTTL = d } }

// WithClusterConfig replaces how green's Argo CD cluster config is built.
// The default, AutoClusterConfig, registers an EKS endpoint with
// awsAuthConfig (Argo CD mints its own tokens with its own IAM identity: a
// presigned token from the resolver would expire after 15 minutes) and
// anything else with the bearer token, client certificate and CA of the
// resolver's rest.Config. Use EKSClusterConfig(roleARN) when Argo CD must
// assume a role to reach green.
func WithClusterConfig(f ClusterConfigFunc) Option { return func(o *options) { o.clusterConfig = f } }

// WithClientFactory replaces how clients are built (default NewClient).
func WithClientFactory(f ClientFactory) Option { return func(o *options) { o.factory = f } }

// WithLogger sets the logger used outside a Temporal activity (tests, CLI).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Activities are the Argo CD activities. Build them with New.
type Activities struct {
	resolver clusters.Resolver
	opts     options

	mu    sync.Mutex
	cache map[clusters.Ref]cached
}

type cached struct {
	c       client.Client
	cfg     *rest.Config
	expires time.Time
}

// New returns the Argo CD activities. resolver turns a cluster Ref into a
// rest.Config; it is the only way the activities reach a cluster.
func New(resolver clusters.Resolver, opts ...Option) *Activities {
	o := options{
		poll:          5 * time.Second,
		degradedGrace: 5 * time.Minute,
		clientTTL:     10 * time.Minute,
		clusterConfig: AutoClusterConfig,
		factory:       NewClient,
		logger:        slog.Default(),
		now:           time.Now,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.poll <= 0 {
		o.poll = 5 * time.Second
	}
	if o.clusterConfig == nil {
		o.clusterConfig = AutoClusterConfig
	}
	if o.factory == nil {
		o.factory = NewClient
	}
	return &Activities{resolver: resolver, opts: o, cache: map[clusters.Ref]cached{}}
}

// Scheme has the types the activities read and write: core v1 and Argo CD
// v1alpha1.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := corev1.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := argov1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// NewClient is the default ClientFactory: a controller-runtime client with Scheme.
func NewClient(cfg *rest.Config) (client.Client, error) {
	s, err := Scheme()
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = 20
		cfg.Burst = 40
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "cutover"
	}
	return client.New(cfg, client.Options{Scheme: s})
}

// cluster returns the cached client and rest.Config of ref.
func (a *Activities) cluster(ctx context.Context, ref clusters.Ref) (client.Client, *rest.Config, error) {
	if ref.Name == "" {
		return nil, nil, failures.New(failures.Validation, "cluster: name is required")
	}
	now := a.opts.now()
	a.mu.Lock()
	if c, ok := a.cache[ref]; ok && now.Before(c.expires) {
		a.mu.Unlock()
		return c.c, c.cfg, nil
	}
	a.mu.Unlock()
	if a.resolver == nil {
		return nil, nil, failures.New(failures.NotImplemented, "argocd: no cluster resolver configured")
	}
	cfg, err := a.resolver.RESTConfig(ctx, ref)
	if err != nil {
		return nil, nil, fmt.Errorf("resolve cluster %s: %w", ref, err)
	}
	c, err := a.opts.factory(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("client for cluster %s: %w", ref, err)
	}
	a.mu.Lock()
	a.cache[ref] = cached{c: c, cfg: cfg, expires: now.Add(a.opts.clientTTL)}
	a.mu.Unlock()
	return c, cfg, nil
}

// logger is what both the Temporal activity logger and *slog.Logger provide.
type logger interface {
	Debug(msg string, keyvals ...any)
	Info(msg string, keyvals ...any)
	Warn(msg string, keyvals ...any)
	Error(msg string, keyvals ...any)
}

func (a *Activities) log(ctx context.Context) logger {
	if activity.IsActivity(ctx) {
		return activity.GetLogger(ctx)
	}
	return a.opts.logger
}

func heartbeat(ctx context.Context, details any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details)
	}
}
