// Package velero holds the activities that back blue up with Velero and
// restore the backup into green.
//
// Velero has no generated clientset: the activities use a controller-runtime
// client with the velero.io/v1 types. They create the Backup and Restore
// objects and wait for the Velero server of each cluster to finish them;
// both clusters' Velero share a BackupStorageLocation, so green's Velero
// syncs blue's backup into green before it can be restored there. Clusters
// are reached only through the injected clusters.Resolver.
package velero

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Error types of a Velero backup or restore that finished badly. They are
// non-retryable: running the same backup or restore again gives the same
// result; a person has to look (velero backup/restore describe --details).
const (
	BackupFailed  = failures.VeleroBackupFailed
	RestoreFailed = failures.VeleroRestoreFailed
)

// LabelManagedBy marks the objects cutover created.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "cutover"
)

// BackupInput ensures a completed backup of blue exists.
type BackupInput struct {
	Cluster   clusters.Ref `json:"cluster"`
	Namespace string       `json:"namespace"`
	Name      string       `json:"name"`
	// Existing is true when Name is a backup that must already exist.
	Existing           bool     `json:"existing"`
	IncludedNamespaces []string `json:"includedNamespaces,omitempty"`
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
	// IncludedClusterScopedResources are cluster-scoped resources
	// ("nodepools.karpenter.sh") the backup takes beside the namespaces'
	// objects (Velero's includedClusterScopedResources).
	IncludedClusterScopedResources []string `json:"includedClusterScopedResources,omitempty"`
}

// BackupResult is the completed backup.
type BackupResult struct {
	Name  string `json:"name"`
	Phase string `json:"phase"`
	Items int    `json:"items"`
	// Created is true when this call created the backup.
	Created  bool `json:"created,omitempty"`
	Warnings int  `json:"warnings,omitempty"`
}

// RestoreInput restores a backup into green.
type RestoreInput struct {
	Cluster                clusters.Ref `json:"cluster"`
	Namespace              string       `json:"namespace"`
	BackupName             string       `json:"backupName"`
	RestoreName            string       `json:"restoreName"`
	IncludedNamespaces     []string     `json:"includedNamespaces,omitempty"`
	ExcludedNamespaces     []string     `json:"excludedNamespaces,omitempty"`
	RestorePVs             bool         `json:"restorePVs"`
	ExistingResourcePolicy string       `json:"existingResourcePolicy"`
	// IncludeClusterResources restores the backup's cluster-scoped
	// resources too: with a namespace filter Velero restores none of them
	// unless told to.
	IncludeClusterResources bool `json:"includeClusterResources,omitempty"`
}

// RestoreResult is the finished restore.
type RestoreResult struct {
	Name     string `json:"name"`
	Phase    string `json:"phase"`
	Warnings int    `json:"warnings"`
	Errors   int    `json:"errors"`
	// Items is the number of items restored.
	Items int `json:"items,omitempty"`
	// Created is true when this call created the restore.
	Created bool `json:"created,omitempty"`
	// Failures are the restore's errors as Velero recorded them per
	// resource ("namespace shop: error restoring deployments.apps/shop/web:
	// ..."), read like velero restore describe --details does; at most
	// 50, the last one "... and N more" when there were more.
	// When they could not be read, a single entry says so and names the
	// velero command that shows them.
	Failures []string `json:"failures,omitempty"`
	// WarningsDetail are the restore's warnings, read and capped as Failures.
	WarningsDetail []string `json:"warningsDetail,omitempty"`
}

// Progress is the heartbeat of the Velero waits.
type Progress struct {
	// Step is "backup", "backup-sync" (waiting for green to see the
	// backup) or "restore".
	Step  string `json:"step"`
	Name  string `json:"name"`
	Phase string `json:"phase,omitempty"`
	Items int    `json:"items,omitempty"`
	Total int    `json:"total,omitempty"`
	Polls int    `json:"polls"`
}

// ClientFactory builds a client of one cluster from its rest.Config.
type ClientFactory func(cfg *rest.Config) (client.Client, error)

type options struct {
	clusters.Settings[client.Client]
	syncWait        time.Duration
	storageLocation string
	resultsWait     time.Duration
	httpClient      *http.Client
}

// Option configures the activities.
type Option func(*options)

// WithPollInterval sets how often the waits read the Backup or Restore (default 5s).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.Poll = d } }

// WithBackupSyncWait sets how long RestoreVeleroBackup waits for green's
// Velero to sync the backup from the storage location before it returns a
// retryable NotReadyYet (default 10m; Velero syncs every minute by default).
func WithBackupSyncWait(d time.Duration) Option { return func(o *options) { o.syncWait = d } }

// WithResultsWait bounds how long RestoreVeleroBackup waits for Velero's
// server to answer the DownloadRequest of a restore's per-resource results,
// and then for the download itself (default 1m). Past it the restore is
// returned with its counts and an entry saying the details could not be read.
func WithResultsWait(d time.Duration) Option { return func(o *options) { o.resultsWait = d } }

// WithHTTPClient sets the client that downloads a restore's results from
// the storage's presigned URL (default: a client with Go's default transport).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithStorageLocation sets the BackupStorageLocation of new backups (default "default").
func WithStorageLocation(name string) Option { return func(o *options) { o.storageLocation = name } }

// WithClientTTL bounds how long a cluster's client is reused before the
// resolver is asked again (EKS tokens last 15 minutes). Default 10m.
func WithClientTTL(d time.Duration) Option { return func(o *options) { o.ClientTTL = d } }

// WithClientFactory replaces how clients are built (default NewClient).
func WithClientFactory(f ClientFactory) Option { return func(o *options) { o.Factory = f } }

// WithLogger sets the logger used outside a Temporal activity (tests, CLI).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.Logger = l } }

// Activities are the Velero activities. Build them with New.
type Activities struct {
	opts options
	base clusters.Base[client.Client]
}

// New returns the Velero activities. resolver turns a cluster Ref into a
// rest.Config; it is the only way the activities reach a cluster.
func New(resolver clusters.Resolver, opts ...Option) *Activities {
	defaults := clusters.DefaultSettings[client.Client](NewClient, 5*time.Second)
	o := options{Settings: defaults, syncWait: 10 * time.Minute, storageLocation: "default", resultsWait: time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	if o.storageLocation == "" {
		o.storageLocation = "default"
	}
	if o.resultsWait <= 0 {
		o.resultsWait = time.Minute
	}
	if o.httpClient == nil {
		o.httpClient = &http.Client{}
	}
	base := clusters.NewBase("velero", "client", resolver, &o.Settings, defaults)
	return &Activities{opts: o, base: base}
}

// Scheme has the types the activities use: core v1 and velero.io/v1.
func Scheme() (*runtime.Scheme, error) {
	return clusters.NewScheme(corev1.AddToScheme, velerov1.AddToScheme)
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

func (a *Activities) client(ctx context.Context, ref clusters.Ref) (client.Client, error) {
	c, _, err := a.base.Clients(ctx, ref)
	return c, err
}

func (a *Activities) log(ctx context.Context) activitylog.Logger { return a.base.Log(ctx) }

// resumePolls returns the poll count of a previous attempt's heartbeat for step/name.
func resumePolls(ctx context.Context, step, name string) int {
	p, ok := activitylog.Resume[Progress](ctx)
	if !ok || p.Step != step || p.Name != name {
		return 0
	}
	return p.Polls
}

// apiError maps a Kubernetes API error to cutover's failure types
// (failures.FromKube: transient faults are retryable Throttled or Transient
// errors); a kind the apiserver does not know is NotFound and asks whether
// the Velero CRDs are installed.
func apiError(err error, format string, args ...any) error {
	if meta.IsNoMatchError(err) {
		format += " (are the Velero CRDs installed?)"
	}
	return failures.FromKube(err, format, args...)
}

// maxReadFailures is how many consecutive failed reads a wait tolerates;
// readTimeout bounds each read, so a hung apiserver connection is retried
// instead of silencing the heartbeat.
const (
	maxReadFailures = 5
	readTimeout     = 30 * time.Second
)

// get reads one object with readTimeout.
func get(ctx context.Context, c client.Client, key client.ObjectKey, obj client.Object) error {
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	return c.Get(ctx, key, obj)
}

// sleep waits one poll interval or until ctx ends.
func (a *Activities) sleep(ctx context.Context) error {
	t := time.NewTimer(a.opts.Poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
