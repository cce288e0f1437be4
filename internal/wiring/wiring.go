// Package wiring builds every activity struct from the worker's
// configuration (AWS through awsconf, Kubernetes through a cluster
// resolver) and every Temporal worker the project starts (NewWorker). The
// worker and the demo share it so they run the same code.
package wiring

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/report"
	"github.com/cutover-dev/cutover/workflows"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"
)

// NewWorker returns a worker on taskQueue with what every cutover worker
// runs, whatever else o says: failures.ActivityInterceptor, so a typed
// error wrapped on its way out of an activity (fmt.Errorf("...: %w", err))
// is still recorded with its type and retryability. The cutover-worker, the
// demo, the history recorder and the tests' dev-server workers are all made
// here.
func NewWorker(c client.Client, taskQueue string, o worker.Options) worker.Worker {
	o.Interceptors = append([]interceptor.WorkerInterceptor{failures.ActivityInterceptor()}, o.Interceptors...)
	return worker.New(c, taskQueue, o)
}

// Register registers cutover's workflows and the activity structs acts
// (Activities, or a fake world's) on w.
func Register(w worker.Registry, acts ...any) {
	workflows.Register(w)
	for _, a := range acts {
		w.RegisterActivity(a)
	}
}

// Options say where the activities find AWS and the clusters.
type Options struct {
	// AWSEndpoint sends every AWS call there (the sandbox's moto server).
	AWSEndpoint string
	// KubeconfigDir resolves cluster X to <dir>/X.kubeconfig instead of
	// EKS. A kubeconfig whose user carries clusters.EKSTokenExtension (the
	// sandbox's) is authenticated with EKS tokens signed with the AWS
	// credentials, renewed as in production.
	KubeconfigDir string
	// Sandbox tunes waits for bare kube-apiservers without kubelets or
	// controllers: the scratch pod is not waited on to run, and polls are short.
	Sandbox bool
	// ArgoCDRoleARN is the IAM role Argo CD assumes to reach the EKS
	// clusters cutover registers with it (awsAuthConfig.roleARN); the
	// migration gives it an access entry on green. Empty: Argo CD uses its
	// own identity (its IRSA role), which the migration finds by itself.
	ArgoCDRoleARN string
	// ArgoCDInstallManifest is a file path template ("{version}" stands
	// for the Argo CD version, e.g. v2.14.21) of Argo CD's install.yaml,
	// installed on green when the Argo CD in blue moves there. Empty: the
	// upstream manifest of that version from GitHub.
	ArgoCDInstallManifest string
	Logger                *slog.Logger
}

// FromEnv reads CUTOVER_AWS_ENDPOINT, CUTOVER_KUBECONFIG_DIR, CUTOVER_SANDBOX,
// CUTOVER_ARGOCD_ROLE_ARN and CUTOVER_ARGOCD_INSTALL_MANIFEST.
func FromEnv(logger *slog.Logger) Options {
	return Options{
		AWSEndpoint:           os.Getenv("CUTOVER_AWS_ENDPOINT"),
		KubeconfigDir:         os.Getenv("CUTOVER_KUBECONFIG_DIR"),
		Sandbox:               os.Getenv("CUTOVER_SANDBOX") == "true" || os.Getenv("CUTOVER_SANDBOX") == "1",
		ArgoCDRoleARN:         os.Getenv("CUTOVER_ARGOCD_ROLE_ARN"),
		ArgoCDInstallManifest: os.Getenv("CUTOVER_ARGOCD_INSTALL_MANIFEST"),
		Logger:                logger,
	}
}

// Activities returns every activity struct, ready to register.
func Activities(o Options) []any {
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	aws := &awsconf.Default{Endpoint: o.AWSEndpoint}
	var resolver clusters.Resolver = &clusters.EKSResolver{AWS: aws}
	if o.KubeconfigDir != "" {
		resolver = clusters.KubeconfigResolver{Dir: o.KubeconfigDir, AWS: aws}
		logger.Info("Resolving clusters from kubeconfigs", "dir", o.KubeconfigDir)
	}
	if o.AWSEndpoint != "" {
		logger.Info("Sending AWS calls to a custom endpoint", "endpoint", o.AWSEndpoint)
	}
	var (
		eksOpts    []eks.Option
		kubeOpts   = []kube.Option{kube.WithLogger(logger), kube.WithELBv2(kube.ELBv2FromAWS(aws))}
		argoOpts   = []argocd.Option{argocd.WithLogger(logger)}
		veleroOpts = []velero.Option{velero.WithLogger(logger)}
		trafOpts   []traffic.Option
	)
	if o.ArgoCDRoleARN != "" {
		argoOpts = append(argoOpts, argocd.WithArgoCDRoleARN(o.ArgoCDRoleARN))
	}
	if o.ArgoCDInstallManifest != "" {
		argoOpts = append(argoOpts, argocd.WithInstallManifest(manifestFile(o.ArgoCDInstallManifest)))
		logger.Info("Installing Argo CD from local manifests", "template", o.ArgoCDInstallManifest)
	}
	if o.Sandbox {
		logger.Info("Sandbox mode: short polls, scratch pods are not waited on to run")
		eksOpts = append(eksOpts, eks.WithPollInterval(time.Second))
		kubeOpts = append(kubeOpts, kube.WithScratchWaitForRunning(false), kube.WithVerifyWait(2*time.Minute), kube.WithPollInterval(time.Second), kube.WithWorkloadWait(time.Minute))
		argoOpts = append(argoOpts, argocd.WithPollInterval(time.Second))
		veleroOpts = append(veleroOpts, velero.WithPollInterval(time.Second), velero.WithBackupSyncWait(2*time.Minute))
		trafOpts = append(trafOpts, traffic.WithPollInterval(time.Second))
	}
	return []any{
		eks.NewFromAWS(aws, traffic.NewWeightReader(aws), eksOpts...),
		kube.New(resolver, kubeOpts...),
		argocd.New(resolver, argoOpts...),
		velero.New(resolver, veleroOpts...),
		traffic.NewFromAWS(aws, trafOpts...),
		notify.New(notify.WithLogger(logger), notify.WithReportRenderer(report.SlackFile{})),
	}
}

// manifestFile reads Argo CD's install manifest of a version from a file
// path template ("{version}" replaced); a missing file is a definitive
// NotFound naming the version and the path.
func manifestFile(template string) func(ctx context.Context, version string) ([]byte, error) {
	return func(_ context.Context, version string) ([]byte, error) {
		path := strings.ReplaceAll(template, "{version}", version)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, failures.New(failures.NotFound, "argo cd %s: no install manifest at %s (CUTOVER_ARGOCD_INSTALL_MANIFEST)", version, path)
		}
		return b, err
	}
}
