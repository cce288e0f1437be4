package eks

// Blue's control-plane log group. EKS writes the control plane's logs
// (api, audit, authenticator, ...) to /aws/eks/<cluster>/cluster and does
// not delete the group with the cluster: left alone it is kept, and
// billed, forever.

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// LogsAPI is the part of *cloudwatchlogs.Client the activities use.
type LogsAPI interface {
	DeleteLogGroup(ctx context.Context, in *cloudwatchlogs.DeleteLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
}

// LogsClientFactory is implemented by a ClientFactory that also gives
// CloudWatch Logs clients (NewClientFactory's does).
type LogsClientFactory interface {
	Logs(ctx context.Context, region string) (LogsAPI, error)
}

// Logs builds a client for the region; a retire uses it once, so it is
// not cached.
func (c *sdkClients) Logs(ctx context.Context, region string) (LogsAPI, error) {
	cfg, err := c.p.ForRegion(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
	}
	return cloudwatchlogs.NewFromConfig(cfg), nil
}

// ControlPlaneLogGroup is the log group EKS writes a cluster's control
// plane logs to.
func ControlPlaneLogGroup(cluster string) string { return "/aws/eks/" + cluster + "/cluster" }

// DeleteLogGroupInput names the cluster whose control-plane log group to delete.
type DeleteLogGroupInput struct {
	Cluster clusters.Ref `json:"cluster"`
}

// DeleteLogGroupResult says what became of the log group.
type DeleteLogGroupResult struct {
	LogGroup string `json:"logGroup"`
	Deleted  bool   `json:"deleted,omitempty"`
	// AlreadyGone: there was none (logging never on, or deleted before).
	AlreadyGone bool `json:"alreadyGone,omitempty"`
}

// DeleteControlPlaneLogGroup deletes the cluster's control-plane log group
// /aws/eks/<cluster>/cluster. Call it once the cluster is deleted (EKS
// would write to it again). None there is a success with AlreadyGone, so
// a retry is idempotent.
func (a *Activities) DeleteControlPlaneLogGroup(ctx context.Context, in DeleteLogGroupInput) (DeleteLogGroupResult, error) {
	res := DeleteLogGroupResult{LogGroup: ControlPlaneLogGroup(in.Cluster.Name)}
	if in.Cluster.Name == "" || in.Cluster.Region == "" {
		return res, invalidf("delete control-plane log group: cluster name and region are required")
	}
	f, ok := a.clients.(LogsClientFactory)
	if !ok {
		return res, failures.New(failures.NotImplemented, "the EKS activities were built without CloudWatch Logs clients (their ClientFactory has no Logs method)")
	}
	api, err := f.Logs(ctx, in.Cluster.Region)
	if err != nil {
		return res, err
	}
	_, err = api.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(res.LogGroup)})
	switch {
	case isNotFound(err):
		res.AlreadyGone = true
		logger(ctx).Info("Control-plane log group is already gone", "cluster", in.Cluster.Name, "logGroup", res.LogGroup)
	case err != nil:
		return res, awsError(err, "delete log group %s of cluster %s", res.LogGroup, in.Cluster)
	default:
		res.Deleted = true
		logger(ctx).Info("Deleted control-plane log group", "cluster", in.Cluster.Name, "logGroup", res.LogGroup)
	}
	return res, nil
}
