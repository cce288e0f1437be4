package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/activities/notify"
	"github.com/cutover-dev/cutover/activities/traffic"
	"github.com/cutover-dev/cutover/activities/velero"
	"github.com/cutover-dev/cutover/internal/awsconf"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// buildActivities wires every activity struct to the real clients: AWS
// through the SDK's default chain (or CUTOVER_AWS_ENDPOINT), Kubernetes
// through EKS tokens (or the kubeconfigs in CUTOVER_KUBECONFIG_DIR).
func buildActivities(_ context.Context, logger *slog.Logger) ([]any, error) {
	aws := &awsconf.Default{Endpoint: os.Getenv("CUTOVER_AWS_ENDPOINT")}
	var resolver clusters.Resolver = &clusters.EKSResolver{AWS: aws}
	if dir := os.Getenv("CUTOVER_KUBECONFIG_DIR"); dir != "" {
		resolver = clusters.KubeconfigResolver{Dir: dir}
		logger.Info("Resolving clusters from kubeconfigs", "dir", dir)
	}
	if aws.Endpoint != "" {
		logger.Info("Sending AWS calls to a custom endpoint", "endpoint", aws.Endpoint)
	}
	return []any{
		eks.NewFromAWS(aws, traffic.NewWeightReader(aws)),
		kube.New(resolver),
		argocd.New(resolver),
		velero.New(resolver),
		traffic.NewFromAWS(aws),
		notify.New(),
	}, nil
}
