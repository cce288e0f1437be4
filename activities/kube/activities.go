// Package kube holds the activities that talk to Kubernetes through
// client-go: preflight checks on blue, verification of green after it is
// built, and the smoke tests that prove green before traffic moves.
//
// The activities never see credentials: they get a clusters.Ref and ask the
// injected clusters.Resolver for a rest.Config, from which they build (and
// cache per cluster) a typed clientset, a dynamic client and a metadata
// client. Every list pages through the apiserver (Limit/Continue), so memory
// stays bounded by the page size, not by the size of the cluster.
package kube

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// Clients are the Kubernetes clients of one cluster. The activities use
// nothing else to reach a cluster, so tests and benchmarks can put fakes
// (k8s.io/client-go/kubernetes/fake, .../dynamic/fake, .../metadata/fake)
// behind a ClientFactory.
type Clients struct {
	Kube     kubernetes.Interface
	Dynamic  dynamic.Interface
	Metadata metadata.Interface
}

// ClientFactory builds the clients of a cluster from its rest.Config.
type ClientFactory func(cfg *rest.Config) (*Clients, error)

// Addon is a core add-on VerifyGreen requires to be running.
type Addon struct {
	Namespace string
	Name      string
	// Kind is "Deployment" or "DaemonSet".
	Kind string
}

// DefaultCoreAddons are the EKS core add-ons: CoreDNS, kube-proxy and the VPC CNI (aws-node).
var DefaultCoreAddons = []Addon{
	{Namespace: "kube-system", Name: "coredns", Kind: "Deployment"},
	{Namespace: "kube-system", Name: "kube-proxy", Kind: "DaemonSet"},
	{Namespace: "kube-system", Name: "aws-node", Kind: "DaemonSet"},
}

type options struct {
	clusters.Settings[*Clients]
	pageSize     int64
	helmPageSize int64
	httpClient   *http.Client
	probeDelay   time.Duration
	pendingAfter time.Duration
	maxFindings  int
	// onBeat, when set, sees every preflight heartbeat as sent (tests:
	// the SDK batches heartbeats, so a listener sees only some).
	onBeat         func(Progress)
	waitRunning    bool
	scratchNS      string
	scratchImage   string
	scratchTimeout time.Duration
	workloadWait   time.Duration
	verifyWait     time.Duration
	k6Timeout      time.Duration
	apiRetryBudget time.Duration
	apiRetryWait   time.Duration
	addons         []Addon
	elbv2          ELBv2Factory
}

// Option configures the activities.
type Option func(*options)

// WithPageSize sets the Limit of every paginated list (default 500).
func WithPageSize(n int64) Option { return func(o *options) { o.pageSize = n } }

// WithHelmPageSize sets the Limit of the Helm release secret list (default
// 20): release secrets carry whole manifests, so pages are kept small.
func WithHelmPageSize(n int64) Option { return func(o *options) { o.helmPageSize = n } }

// WithClientFactory replaces how clients are built from a rest.Config
// (default: client-go's NewForConfig for each client).
func WithClientFactory(f ClientFactory) Option { return func(o *options) { o.Factory = f } }

// WithClientTTL bounds how long a cluster's clients are reused before the
// resolver is asked again, so expiring credentials (EKS tokens last 15
// minutes) are refreshed. Default 10m.
func WithClientTTL(d time.Duration) Option { return func(o *options) { o.ClientTTL = d } }

// WithHTTPClient sets the client of the HTTP smoke probes.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithProbeRetryDelay sets the delay between attempts of one HTTP probe (default 1s).
func WithProbeRetryDelay(d time.Duration) Option { return func(o *options) { o.probeDelay = d } }

// WithPendingThreshold sets how long a pod may be Pending before preflight
// reports it (default 10m).
func WithPendingThreshold(d time.Duration) Option { return func(o *options) { o.pendingAfter = d } }

// WithMaxFindingsPerCheck caps the findings of one check; the rest are
// summarised in one more finding (default 50).
func WithMaxFindingsPerCheck(n int) Option { return func(o *options) { o.maxFindings = n } }

// WithScratchWaitForRunning decides whether the scratch smoke test waits for
// its pod to be Running and its PVC Bound (default true). With false it
// proves what an apiserver alone can prove: the pod, service and PVC are
// created and readable, the service got a ClusterIP, and the PVC is Bound or
// Pending on a WaitForFirstConsumer storage class. The sandbox's bare
// kube-apiservers have no scheduler or kubelet, so their tests turn it off.
func WithScratchWaitForRunning(wait bool) Option { return func(o *options) { o.waitRunning = wait } }

// WithScratchNamespace sets where the scratch pod, service and PVC go (default "default").
func WithScratchNamespace(ns string) Option { return func(o *options) { o.scratchNS = ns } }

// WithScratchImage sets the scratch pod's image (default registry.k8s.io/pause:3.10).
func WithScratchImage(img string) Option { return func(o *options) { o.scratchImage = img } }

// WithScratchTimeout bounds each wait of the scratch test (default 3m).
func WithScratchTimeout(d time.Duration) Option { return func(o *options) { o.scratchTimeout = d } }

// WithWorkloadWait sets how long the smoke test waits for workloads to be
// available before it fails (default 5m).
func WithWorkloadWait(d time.Duration) Option { return func(o *options) { o.workloadWait = d } }

// WithVerifyWait sets how long VerifyGreen waits for nodes and add-ons to be
// ready before it returns Ready=false (default 10m; 0 checks once).
func WithVerifyWait(d time.Duration) Option { return func(o *options) { o.verifyWait = d } }

// WithK6Timeout bounds the k6 Job (default 10m, and never past the smoke timeout).
func WithK6Timeout(d time.Duration) Option { return func(o *options) { o.k6Timeout = d } }

// WithPollInterval sets the interval of every wait (default 2s).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.Poll = d } }

// WithAPIRetry sets how long a smoke step retries an API call that fails
// transiently and the first wait between tries (defaults
// DefaultAPIRetryBudget and DefaultAPIRetryWait).
func WithAPIRetry(budget, firstWait time.Duration) Option {
	return func(o *options) {
		if budget > 0 {
			o.apiRetryBudget = budget
		}
		if firstWait > 0 {
			o.apiRetryWait = firstWait
		}
	}
}

// CoreAddonCandidates are the core add-ons a cluster may run: a CNI (the
// VPC CNI, Cilium or Calico), kube-proxy (or none, with Cilium's
// replacement), CoreDNS. Green must run those of them blue runs.
var CoreAddonCandidates = []Addon{
	{Namespace: "kube-system", Name: "aws-node", Kind: "DaemonSet"},
	{Namespace: "kube-system", Name: "cilium", Kind: "DaemonSet"},
	{Namespace: "kube-system", Name: "calico-node", Kind: "DaemonSet"},
	{Namespace: "calico-system", Name: "calico-node", Kind: "DaemonSet"},
	{Namespace: "kube-system", Name: "kube-proxy", Kind: "DaemonSet"},
	{Namespace: "kube-system", Name: "coredns", Kind: "Deployment"},
}

// WithCoreAddons replaces DefaultCoreAddons.
func WithCoreAddons(a []Addon) Option { return func(o *options) { o.addons = a } }

// WithLogger sets the logger used outside a Temporal activity (tests, CLI).
// Inside an activity the activity logger is used.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.Logger = l } }

// Activities are the Kubernetes activities. Build them with New.
type Activities struct {
	opts options
	base clusters.Base[*Clients]
}

// New returns the Kubernetes activities. resolver turns a cluster Ref into a
// rest.Config; it is the only way the activities reach a cluster.
func New(resolver clusters.Resolver, opts ...Option) *Activities {
	defaults := clusters.DefaultSettings(DefaultClientFactory, 2*time.Second)
	o := options{
		Settings:       defaults,
		pageSize:       500,
		helmPageSize:   20,
		probeDelay:     time.Second,
		pendingAfter:   10 * time.Minute,
		maxFindings:    50,
		waitRunning:    true,
		scratchNS:      "default",
		scratchImage:   "registry.k8s.io/pause:3.10",
		scratchTimeout: 3 * time.Minute,
		workloadWait:   5 * time.Minute,
		verifyWait:     10 * time.Minute,
		k6Timeout:      10 * time.Minute,
		apiRetryBudget: DefaultAPIRetryBudget,
		apiRetryWait:   DefaultAPIRetryWait,
		addons:         DefaultCoreAddons,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.pageSize <= 0 {
		o.pageSize = 500
	}
	if o.helmPageSize <= 0 {
		o.helmPageSize = 20
	}
	base := clusters.NewBase("kube", "clients", resolver, &o.Settings, defaults)
	return &Activities{opts: o, base: base}
}

// DefaultClientFactory builds real client-go clients, with a higher client
// side rate limit than client-go's default (5 QPS) so paging a large
// cluster is not throttled by the client itself.
func DefaultClientFactory(cfg *rest.Config) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = 50
	}
	if cfg.Burst == 0 {
		cfg.Burst = 100
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "cutover"
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mc, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Kube: kc, Dynamic: dc, Metadata: mc}, nil
}

// clients returns the cached clients of ref, resolving them when missing or expired.
func (a *Activities) clients(ctx context.Context, ref clusters.Ref) (*Clients, error) {
	c, _, err := a.base.Clients(ctx, ref)
	return c, err
}

func (a *Activities) log(ctx context.Context) activitylog.Logger { return a.base.Log(ctx) }

// attempt is the activity attempt (1 outside an activity).
func attempt(ctx context.Context) int32 {
	if activity.IsActivity(ctx) {
		if n := activity.GetInfo(ctx).Attempt; n > 0 {
			return n
		}
	}
	return 1
}

// Progress is the heartbeat detail of the long scans and waits.
type Progress struct {
	Step    string `json:"step"`
	Objects int    `json:"objects,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// Checkpoint is what a retried PreflightBlue resumes from.
	Checkpoint *PreflightCheckpoint `json:"checkpoint,omitempty"`
}
