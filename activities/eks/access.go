package eks

import (
	"context"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// accessEntryStandard is the only access entry type that takes a username,
// Kubernetes groups and access policies; EKS fills those in for the node
// types (EC2_LINUX, EC2_WINDOWS, FARGATE_LINUX, HYBRID_LINUX).
const accessEntryStandard = "STANDARD"

// EnsureAccessEntries copies access entries and their access policy
// associations to a cluster. An entry that already exists there and was not
// created by cutover (the cluster creator's admin entry EKS made, a node
// role's entry EKS made for a node group) is left as it is; one cutover
// created (tag cutover.dev/managed-by) gets its missing policies associated,
// so a retry after a partial run finishes the job. Principals in
// SkipPrincipals are not copied.
func (a *Activities) EnsureAccessEntries(ctx context.Context, in EnsureAccessEntriesInput) (EnsureAccessEntriesResult, error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	ref := in.Cluster
	res := EnsureAccessEntriesResult{Principals: []string{}}
	if ref.Name == "" {
		return res, invalidf("ensure access entries: cluster name is required")
	}
	want := slices.Clone(in.Entries)
	sort.Slice(want, func(i, j int) bool { return want[i].PrincipalARN < want[j].PrincipalARN })
	if len(want) == 0 {
		return res, nil
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	for _, e := range want {
		if e.PrincipalARN == "" {
			return res, invalidf("access entry without principal ARN")
		}
		if slices.Contains(in.SkipPrincipals, e.PrincipalARN) {
			log.Info("Skipping access entry", "cluster", ref.Name, "principal", e.PrincipalARN)
			res.Skipped = append(res.Skipped, e.PrincipalARN)
			continue
		}
		have, found, err := describeAccessEntry(ctx, api, ref, e.PrincipalARN)
		if err != nil {
			return res, err
		}
		if !found {
			log.Info("Creating access entry", "cluster", ref.Name, "principal", e.PrincipalARN, "type", e.Type)
			_, err := api.CreateAccessEntry(ctx, createAccessEntryInput(ref.Name, e, requestToken(in.RequestToken, e.PrincipalARN)))
			switch {
			case isInUse(err):
				if have, found, err = describeAccessEntry(ctx, api, ref, e.PrincipalARN); err != nil {
					return res, err
				}
			case err != nil:
				return res, awsError(err, "create access entry %s on cluster %s", e.PrincipalARN, ref)
			default:
				found, have = true, &ekstypes.AccessEntry{Tags: map[string]string{TagManagedBy: "cutover"}}
			}
		}
		if !found {
			return res, notFoundf("access entry %s on cluster %s vanished after it was created", e.PrincipalARN, ref)
		}
		res.Principals = append(res.Principals, e.PrincipalARN)
		if have.Tags[TagManagedBy] != "cutover" {
			log.Info("Access entry already exists and was not created by cutover; leaving it as is",
				"cluster", ref.Name, "principal", e.PrincipalARN)
			res.Existing = append(res.Existing, e.PrincipalARN)
			continue
		}
		if err := associatePolicies(ctx, api, ref, e); err != nil {
			return res, err
		}
		res.Created = append(res.Created, e.PrincipalARN)
	}
	log.Info("Access entries copied", "cluster", ref.Name, "created", len(res.Created), "existing", len(res.Existing), "skipped", len(res.Skipped))
	return res, nil
}

func createAccessEntryInput(cluster string, e AccessEntry, token *string) *awseks.CreateAccessEntryInput {
	in := &awseks.CreateAccessEntryInput{
		ClusterName:        aws.String(cluster),
		PrincipalArn:       aws.String(e.PrincipalARN),
		Type:               optString(e.Type),
		ClientRequestToken: token,
		Tags:               map[string]string{TagManagedBy: "cutover"},
	}
	if e.Type == "" || e.Type == accessEntryStandard {
		in.Username = optString(e.Username)
		in.KubernetesGroups = slices.Clone(e.KubernetesGroups)
	}
	return in
}

func describeAccessEntry(ctx context.Context, api EKSAPI, ref clusters.Ref, principal string) (*ekstypes.AccessEntry, bool, error) {
	out, err := api.DescribeAccessEntry(ctx, &awseks.DescribeAccessEntryInput{ClusterName: aws.String(ref.Name), PrincipalArn: aws.String(principal)})
	if isNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, awsError(err, "describe access entry %s of cluster %s", principal, ref)
	}
	if out.AccessEntry == nil {
		return &ekstypes.AccessEntry{}, true, nil
	}
	return out.AccessEntry, true, nil
}

// associatePolicies associates e's policies that the entry does not have yet
// (same policy and scope).
func associatePolicies(ctx context.Context, api EKSAPI, ref clusters.Ref, e AccessEntry) error {
	if len(e.Policies) == 0 || (e.Type != "" && e.Type != accessEntryStandard) {
		return nil
	}
	have, err := listAccessPolicies(ctx, api, ref, e.PrincipalARN)
	if err != nil {
		return err
	}
	for _, p := range e.Policies {
		if slices.ContainsFunc(have, func(h AccessPolicy) bool {
			return h.PolicyARN == p.PolicyARN && h.ScopeType == p.ScopeType && sameSet(h.Namespaces, p.Namespaces)
		}) {
			continue
		}
		scope := &ekstypes.AccessScope{Type: ekstypes.AccessScopeType(p.ScopeType), Namespaces: slices.Clone(p.Namespaces)}
		if p.ScopeType == "" {
			scope.Type = ekstypes.AccessScopeTypeCluster
		}
		logger(ctx).Info("Associating access policy", "cluster", ref.Name, "principal", e.PrincipalARN, "policy", p.PolicyARN, "scope", scope.Type)
		if _, err := api.AssociateAccessPolicy(ctx, &awseks.AssociateAccessPolicyInput{
			ClusterName:  aws.String(ref.Name),
			PrincipalArn: aws.String(e.PrincipalARN),
			PolicyArn:    aws.String(p.PolicyARN),
			AccessScope:  scope,
		}); err != nil {
			return awsError(err, "associate policy %s with %s on cluster %s", p.PolicyARN, e.PrincipalARN, ref)
		}
	}
	return nil
}
