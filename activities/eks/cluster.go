package eks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// maxTokenLen is the longest ClientRequestToken EKS accepts.
const maxTokenLen = 64

// requestToken turns the workflow's request token (plus a suffix naming the
// resource, for the per-node-group/add-on/entry creates) into a valid
// ClientRequestToken: unchanged when it fits, else a SHA-256 of it. Empty in,
// nil out (the SDK then generates one).
func requestToken(base string, parts ...string) *string {
	if base == "" {
		return nil
	}
	t := strings.Join(append([]string{base}, parts...), "/")
	if len(t) > maxTokenLen {
		sum := sha256.Sum256([]byte(t))
		t = hex.EncodeToString(sum[:]) // exactly 64 characters
	}
	return &t
}

// EnsureGreenCluster creates green at the plan's version with the plan's
// configuration, or adopts an existing cluster of that name when it matches
// (same version, role, subnets and cutover.dev/migration tag). A cluster that
// does not match fails the activity with a non-retryable Conflict that names
// every difference. The create carries ClientRequestToken derived from
// in.RequestToken, so a retried create is the same create.
func (a *Activities) EnsureGreenCluster(ctx context.Context, in EnsureClusterInput) (EnsureClusterResult, error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	want := in.Plan.Cluster
	ref := want.Ref()
	if want.Name == "" || want.Version == "" || want.RoleARN == "" || len(want.VPC.SubnetIDs) == 0 {
		return EnsureClusterResult{}, invalidf("green plan for %s: name, version, role ARN and subnets are required", ref)
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return EnsureClusterResult{}, err
	}
	log := logger(ctx)

	have, found, err := describeCluster(ctx, api, ref)
	if err != nil {
		return EnsureClusterResult{}, err
	}
	if found {
		return adoptCluster(ctx, want, have)
	}

	log.Info("Creating green EKS cluster", "cluster", want.Name, "region", want.Region, "version", want.Version,
		"copiedFrom", in.Plan.CopiedFrom)
	out, err := api.CreateCluster(ctx, createClusterInput(want, in.RequestToken))
	if isInUse(err) {
		// Created meanwhile (an earlier attempt whose answer was lost, or
		// someone else): adopt it if it is ours.
		have, found, derr := describeCluster(ctx, api, ref)
		if derr != nil {
			return EnsureClusterResult{}, derr
		}
		if found {
			return adoptCluster(ctx, want, have)
		}
	}
	if err != nil {
		return EnsureClusterResult{}, awsError(err, "create cluster %s", ref)
	}
	got := clusterFromAPI(ref.Region, out.Cluster)
	log.Info("Created green EKS cluster", "cluster", want.Name, "arn", got.ARN, "status", got.Status)
	return EnsureClusterResult{ARN: got.ARN, Status: got.Status, Created: true}, nil
}

func adoptCluster(ctx context.Context, want, have ClusterDescription) (EnsureClusterResult, error) {
	if diffs := clusterDiffs(want, have); len(diffs) > 0 {
		return EnsureClusterResult{}, conflictf("cluster %s already exists and does not match the green plan: %s; delete it or choose another green.clusterName",
			want.Ref(), strings.Join(diffs, "; "))
	}
	switch ekstypes.ClusterStatus(have.Status) {
	case ekstypes.ClusterStatusFailed:
		return EnsureClusterResult{}, failedf("cluster %s exists but is FAILED: %s", want.Ref(), clusterHealth(have))
	case ekstypes.ClusterStatusDeleting:
		return EnsureClusterResult{}, notReadyf("cluster %s is being deleted; it can be created again once it is gone", want.Ref())
	}
	logger(ctx).Info("Adopting existing green EKS cluster", "cluster", want.Name, "arn", have.ARN, "status", have.Status)
	return EnsureClusterResult{ARN: have.ARN, Status: have.Status, Adopted: true}, nil
}

// clusterDiffs lists what makes an existing cluster not the green we planned.
// Only what cannot be changed later, or proves it is someone else's, counts.
func clusterDiffs(want, have ClusterDescription) []string {
	var diffs []string
	if have.Version != want.Version {
		diffs = append(diffs, fmt.Sprintf("version is %q, want %q", have.Version, want.Version))
	}
	if w, h := want.Tags[TagMigration], have.Tags[TagMigration]; w != h {
		if h == "" {
			diffs = append(diffs, fmt.Sprintf("tag %s is missing, want %q (not created by this migration)", TagMigration, w))
		} else {
			diffs = append(diffs, fmt.Sprintf("tag %s is %q, want %q", TagMigration, h, w))
		}
	}
	if have.RoleARN != want.RoleARN {
		diffs = append(diffs, fmt.Sprintf("role is %q, want %q", have.RoleARN, want.RoleARN))
	}
	if !sameSet(have.VPC.SubnetIDs, want.VPC.SubnetIDs) {
		diffs = append(diffs, fmt.Sprintf("subnets are %v, want %v", sorted(have.VPC.SubnetIDs), sorted(want.VPC.SubnetIDs)))
	}
	return diffs
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Compact(sorted(a)), slices.Compact(sorted(b)))
}

func createClusterInput(want ClusterDescription, token string) *awseks.CreateClusterInput {
	in := &awseks.CreateClusterInput{
		Name:    aws.String(want.Name),
		Version: aws.String(want.Version),
		RoleArn: aws.String(want.RoleARN),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{
			SubnetIds:             slices.Clone(want.VPC.SubnetIDs),
			SecurityGroupIds:      slices.Clone(want.VPC.SecurityGroupIDs),
			EndpointPublicAccess:  aws.Bool(want.VPC.EndpointPublicAccess),
			EndpointPrivateAccess: aws.Bool(want.VPC.EndpointPrivateAccess),
			PublicAccessCidrs:     slices.Clone(want.VPC.PublicAccessCIDRs),
		},
		ClientRequestToken: requestToken(token),
		Tags:               want.Tags,
	}
	if !want.VPC.EndpointPublicAccess && !want.VPC.EndpointPrivateAccess {
		// A description without endpoint settings (EKS always has one of
		// them on): keep EKS's defaults.
		in.ResourcesVpcConfig.EndpointPublicAccess = nil
		in.ResourcesVpcConfig.EndpointPrivateAccess = nil
	}
	if len(want.Logging) > 0 {
		var types []ekstypes.LogType
		for _, t := range sorted(want.Logging) {
			types = append(types, ekstypes.LogType(t))
		}
		in.Logging = &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{{Enabled: aws.Bool(true), Types: types}}}
	}
	for _, e := range want.Encryption {
		if e.KeyARN == "" {
			continue
		}
		in.EncryptionConfig = append(in.EncryptionConfig, ekstypes.EncryptionConfig{
			Provider:  &ekstypes.Provider{KeyArn: aws.String(e.KeyARN)},
			Resources: slices.Clone(e.Resources),
		})
	}
	if m := want.Access.AuthenticationMode; m != "" {
		// The cluster creator (the worker's role) gets an admin entry so the
		// later steps can reach green's API.
		in.AccessConfig = &ekstypes.CreateAccessConfigRequest{
			AuthenticationMode:                      ekstypes.AuthenticationMode(m),
			BootstrapClusterCreatorAdminPermissions: aws.Bool(true),
		}
	}
	if n := want.Network; n != nil {
		in.KubernetesNetworkConfig = &ekstypes.KubernetesNetworkConfigRequest{IpFamily: ekstypes.IpFamily(n.IPFamily)}
		if n.ServiceIPv4CIDR != "" && n.IPFamily != string(ekstypes.IpFamilyIpv6) {
			in.KubernetesNetworkConfig.ServiceIpv4Cidr = aws.String(n.ServiceIPv4CIDR)
		}
	}
	if want.SupportType != "" {
		in.UpgradePolicy = &ekstypes.UpgradePolicyRequest{SupportType: ekstypes.SupportType(want.SupportType)}
	}
	return in
}

// WaitEKSClusterActive polls the cluster until it is ACTIVE, heartbeating a
// Progress each poll and resuming the count after a retry. FAILED fails the
// activity (non-retryable, with the cluster's health issues); a cluster that
// is missing or being deleted fails it too.
func (a *Activities) WaitEKSClusterActive(ctx context.Context, in WaitClusterInput) (ClusterDescription, error) {
	ref := in.Cluster
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return ClusterDescription{}, err
	}
	p := resume(ctx, StepWaitCluster, ref.Name)
	p.Step = StepWaitCluster
	log := logger(ctx)
	log.Info("Waiting for EKS cluster to be ACTIVE", "cluster", ref.Name, "region", ref.Region)
	var last ClusterDescription
	err = a.poll(ctx, &p, func(ctx context.Context) (bool, error) {
		d, found, err := describeCluster(ctx, api, ref)
		if err != nil {
			return false, err
		}
		if !found {
			return false, notFoundf("cluster %s does not exist", ref)
		}
		if d.Status != p.Status {
			log.Info("EKS cluster status", "cluster", ref.Name, "status", d.Status, "polls", p.Polls)
		}
		p.Status = d.Status
		last = d
		return clusterSettled(ref, d)
	})
	if err != nil {
		return ClusterDescription{}, err
	}
	log.Info("EKS cluster is ACTIVE", "cluster", ref.Name, "endpoint", last.Endpoint, "polls", p.Polls)
	return last, nil
}

func clusterSettled(ref clusters.Ref, d ClusterDescription) (bool, error) {
	switch ekstypes.ClusterStatus(d.Status) {
	case ekstypes.ClusterStatusActive:
		return true, nil
	case ekstypes.ClusterStatusFailed:
		return false, failedf("cluster %s is FAILED: %s", ref, clusterHealth(d))
	case ekstypes.ClusterStatusDeleting:
		return false, failedf("cluster %s is being deleted", ref)
	}
	return false, nil
}
