package eks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Prefixes of Progress.Done items during a retire.
const (
	doneAddon     = "addon/"
	doneNodeGroup = "nodegroup/"
	doneFargate   = "fargate/"
	doneCluster   = "cluster"
)

// RetireEKSCluster deletes a cluster: first the traffic guard (when
// in.Guard is set: refuse with StillServingTraffic if the cluster's weight is
// above 0; a weight that cannot be read is retried, and fails the attempt
// retryably, or with its own type when the failure is definitive), then its add-ons, node groups (waiting until
// they are gone), Fargate profiles (one at a time, as EKS requires) and the
// cluster itself (waiting until it is gone). Each step is idempotent: what
// is already gone counts as deleted, and a cluster that does not exist is a
// success with AlreadyGone. It heartbeats a Progress and resumes from it.
func (a *Activities) RetireEKSCluster(ctx context.Context, in RetireInput) (res RetireResult, err error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	ref := in.Cluster
	if ref.Name == "" {
		return res, invalidf("retire: cluster name is required")
	}
	log := logger(ctx)
	if in.Guard != nil {
		if err := a.checkGuard(ctx, ref, *in.Guard); err != nil {
			log.Warn("Refusing to retire EKS cluster", "cluster", ref.Name, "role", in.Role, "error", err)
			return res, err
		}
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return res, err
	}
	p := resume(ctx, StepRetireAddons, ref.Name)
	// The result lists what was deleted, over all attempts, even on failure.
	defer func() { fillRetireResult(&res, p) }()

	d, found, err := describeCluster(ctx, api, ref)
	if err != nil {
		return res, err
	}
	if !found {
		if len(p.Done) > 0 || slices.Contains(p.Pending, doneCluster) {
			// An earlier attempt deleted it.
			p.markDone(doneCluster)
			log.Info("EKS cluster is deleted", "cluster", ref.Name)
		} else {
			res.AlreadyGone = true
			log.Info("EKS cluster is already gone", "cluster", ref.Name, "role", in.Role)
		}
		return res, nil
	}
	if in.OwnedBy != "" && d.Tags[TagMigration] != in.OwnedBy {
		return res, conflictf("cluster %s is not owned by migration %q (tag %s is %q); cutover deletes only the clusters it built",
			ref, in.OwnedBy, TagMigration, d.Tags[TagMigration])
	}
	if d.DeletionProtection {
		return res, conflictf("cluster %s has deletion protection on; turn it off (aws eks update-cluster-config --name %s --no-deletion-protection) to let cutover retire it",
			ref, ref.Name)
	}
	log.Info("Retiring EKS cluster", "cluster", ref.Name, "role", in.Role, "status", d.Status)

	if d.Status != string(ekstypes.ClusterStatusDeleting) {
		if err := a.deleteAddons(ctx, api, ref, &p); err != nil {
			return res, err
		}
		if err := a.deleteNodeGroups(ctx, api, ref, &p); err != nil {
			return res, err
		}
		if err := a.deleteFargateProfiles(ctx, api, ref, &p); err != nil {
			return res, err
		}
	}
	if err := a.deleteCluster(ctx, api, ref, &p); err != nil {
		return res, err
	}
	p.Step = StepRetireCompleted
	heartbeat(ctx, &p)
	log.Info("Retired EKS cluster", "cluster", ref.Name, "role", in.Role, "polls", p.Polls)
	return res, nil
}

func fillRetireResult(res *RetireResult, p Progress) {
	for _, d := range p.Done {
		switch {
		case strings.HasPrefix(d, doneAddon):
			res.DeletedAddons = append(res.DeletedAddons, strings.TrimPrefix(d, doneAddon))
		case strings.HasPrefix(d, doneNodeGroup):
			res.DeletedNodeGroups = append(res.DeletedNodeGroups, strings.TrimPrefix(d, doneNodeGroup))
		case strings.HasPrefix(d, doneFargate):
			res.DeletedFargateProfiles = append(res.DeletedFargateProfiles, strings.TrimPrefix(d, doneFargate))
		case d == doneCluster:
			res.ClusterDeleted = true
		}
	}
}

func (a *Activities) checkGuard(ctx context.Context, ref clusters.Ref, g TrafficGuard) error {
	what := guardText(g)
	if a.weights == nil {
		return failures.New(failures.NotImplemented,
			"refusing to delete cluster %s: this worker cannot read its traffic weight (%s): no weight reader configured", ref, what)
	}
	// Only a definitive reading of traffic on the cluster refuses for good.
	// A reading that cannot be taken (throttled, 5xx, timeout) is retried
	// here for guardBudget and then returned retryable, so Temporal retries
	// the retire; a definitive failure to read (access denied, no such
	// zone) keeps its own non-retryable type.
	var w int
	err := failures.Retry(ctx, failures.Backoff{
		Initial: min(max(a.guardBudget/30, 10*time.Millisecond), time.Second),
		Budget:  a.guardBudget,
		OnRetry: func(err error, attempt int, wait time.Duration) {
			logger(ctx).Warn("Traffic weight unreadable, retrying", "cluster", ref.Name, "guard", what, "attempt", attempt, "wait", wait, "error", err)
		},
	}, func(ctx context.Context) error {
		var err error
		w, err = a.weights.ClusterWeight(ctx, g)
		return err
	})
	if err != nil {
		return failures.Annotate(err, "not deleting cluster %s yet: cannot read its traffic weight (%s)", ref, what)
	}
	if w > 0 {
		return failures.New(failures.StillServingTraffic,
			"refusing to delete cluster %s: it still receives traffic (%s has weight %d)", ref, what, w)
	}
	logger(ctx).Info("Traffic guard passed", "cluster", ref.Name, "guard", what, "weight", w)
	return nil
}

func guardText(g TrafficGuard) string {
	switch g.Provider {
	case "cloudfront":
		return fmt.Sprintf("cloudfront distribution %s origin %s", g.DistributionID, g.OriginID)
	case "route53":
		return fmt.Sprintf("route53 %s record %s set %s", g.HostedZoneID, g.RecordName, g.SetIdentifier)
	}
	return fmt.Sprintf("%s traffic", g.Provider)
}

func (a *Activities) deleteAddons(ctx context.Context, api EKSAPI, ref clusters.Ref, p *Progress) error {
	p.Step = StepRetireAddons
	names, err := a.listAddons(ctx, api, ref)
	if err != nil || len(names) == 0 {
		return err
	}
	log := logger(ctx)
	for _, n := range names {
		log.Info("Deleting add-on", "cluster", ref.Name, "addon", n)
		_, err := api.DeleteAddon(ctx, &awseks.DeleteAddonInput{ClusterName: aws.String(ref.Name), AddonName: aws.String(n)})
		if isInUse(err) {
			// Already deleting is fine; busy with an update is not (yet).
			out, derr := api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(ref.Name), AddonName: aws.String(n)})
			switch {
			case isNotFound(derr):
			case derr != nil:
				return awsError(derr, "describe add-on %s of cluster %s", n, ref)
			case out.Addon != nil && out.Addon.Status != ekstypes.AddonStatusDeleting:
				return awsError(err, "delete add-on %s of cluster %s (status %s)", n, ref, out.Addon.Status)
			}
			err = nil
		}
		if err != nil && !isNotFound(err) {
			return awsError(err, "delete add-on %s of cluster %s", n, ref)
		}
		p.Pending = appendNew(p.Pending, doneAddon+n)
	}
	heartbeat(ctx, p)
	return a.poll(ctx, p, func(ctx context.Context) (bool, error) {
		left := 0
		for _, n := range names {
			out, err := api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(ref.Name), AddonName: aws.String(n)})
			if isNotFound(err) {
				p.markDone(doneAddon + n)
				continue
			}
			if err != nil {
				return false, awsError(err, "describe add-on %s of cluster %s", n, ref)
			}
			if out.Addon != nil && out.Addon.Status == ekstypes.AddonStatusDeleteFailed {
				return false, failedf("add-on %s of cluster %s is DELETE_FAILED: %s", n, ref, addonHealth(out.Addon))
			}
			left++
		}
		p.Status = fmt.Sprintf("%d add-ons deleting", left)
		return left == 0, nil
	})
}

func (a *Activities) deleteNodeGroups(ctx context.Context, api EKSAPI, ref clusters.Ref, p *Progress) error {
	p.Step = StepRetireNodes
	names, err := listNodeGroups(ctx, api, ref)
	if err != nil || len(names) == 0 {
		return err
	}
	log := logger(ctx)
	for _, n := range names {
		log.Info("Deleting node group", "cluster", ref.Name, "nodegroup", n)
		_, err := api.DeleteNodegroup(ctx, &awseks.DeleteNodegroupInput{ClusterName: aws.String(ref.Name), NodegroupName: aws.String(n)})
		if isInUse(err) {
			// Already deleting is fine; busy with an update is not (yet).
			have, found, derr := describeNodeGroup(ctx, api, ref, n)
			if derr != nil {
				return derr
			}
			if found && have.Status != string(ekstypes.NodegroupStatusDeleting) {
				return awsError(err, "delete node group %s of cluster %s (status %s)", n, ref, have.Status)
			}
			err = nil
		}
		if err != nil && !isNotFound(err) {
			return awsError(err, "delete node group %s of cluster %s", n, ref)
		}
		p.Pending = appendNew(p.Pending, doneNodeGroup+n)
	}
	heartbeat(ctx, p)
	return a.poll(ctx, p, func(ctx context.Context) (bool, error) {
		var left []string
		for _, n := range names {
			out, err := api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(ref.Name), NodegroupName: aws.String(n)})
			if isNotFound(err) {
				if !slices.Contains(p.Done, doneNodeGroup+n) {
					log.Info("Node group is deleted", "cluster", ref.Name, "nodegroup", n)
				}
				p.markDone(doneNodeGroup + n)
				continue
			}
			if err != nil {
				return false, awsError(err, "describe node group %s of cluster %s", n, ref)
			}
			if out.Nodegroup != nil && out.Nodegroup.Status == ekstypes.NodegroupStatusDeleteFailed {
				return false, failedf("node group %s of cluster %s is DELETE_FAILED: %s", n, ref, nodeGroupHealth(out.Nodegroup))
			}
			left = append(left, n)
		}
		p.Status = "deleting node groups: " + strings.Join(left, " ")
		return len(left) == 0, nil
	})
}

// listFargateProfiles returns the names of a cluster's Fargate profiles, sorted.
func listFargateProfiles(ctx context.Context, api EKSAPI, ref clusters.Ref) ([]string, error) {
	var names []string
	pg := awseks.NewListFargateProfilesPaginator(api, &awseks.ListFargateProfilesInput{ClusterName: aws.String(ref.Name)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, awsError(err, "list Fargate profiles of cluster %s", ref)
		}
		names = append(names, page.FargateProfileNames...)
	}
	slices.Sort(names)
	return names, nil
}

// deleteFargateProfiles deletes them one at a time: EKS refuses a second
// delete while one profile is DELETING.
func (a *Activities) deleteFargateProfiles(ctx context.Context, api EKSAPI, ref clusters.Ref, p *Progress) error {
	p.Step = StepRetireFargate
	names, err := listFargateProfiles(ctx, api, ref)
	if err != nil {
		return err
	}
	for _, n := range names {
		logger(ctx).Info("Deleting Fargate profile", "cluster", ref.Name, "profile", n)
		_, err := api.DeleteFargateProfile(ctx, &awseks.DeleteFargateProfileInput{ClusterName: aws.String(ref.Name), FargateProfileName: aws.String(n)})
		if err != nil && !isNotFound(err) && !isInUse(err) {
			return awsError(err, "delete Fargate profile %s of cluster %s", n, ref)
		}
		p.Pending = appendNew(p.Pending, doneFargate+n)
		err = a.poll(ctx, p, func(ctx context.Context) (bool, error) {
			out, err := api.DescribeFargateProfile(ctx, &awseks.DescribeFargateProfileInput{ClusterName: aws.String(ref.Name), FargateProfileName: aws.String(n)})
			if isNotFound(err) {
				p.markDone(doneFargate + n)
				return true, nil
			}
			if err != nil {
				return false, awsError(err, "describe Fargate profile %s of cluster %s", n, ref)
			}
			if out.FargateProfile != nil && out.FargateProfile.Status == ekstypes.FargateProfileStatusDeleteFailed {
				return false, failedf("Fargate profile %s of cluster %s is DELETE_FAILED", n, ref)
			}
			p.Status = "deleting Fargate profile " + n
			return false, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (a *Activities) deleteCluster(ctx context.Context, api EKSAPI, ref clusters.Ref, p *Progress) error {
	p.Step = StepRetireCluster
	log := logger(ctx)
	log.Info("Deleting EKS cluster", "cluster", ref.Name)
	_, err := api.DeleteCluster(ctx, &awseks.DeleteClusterInput{Name: aws.String(ref.Name)})
	switch {
	case isNotFound(err):
		p.markDone(doneCluster)
		heartbeat(ctx, p)
		return nil
	case isInUse(err):
		d, found, derr := describeCluster(ctx, api, ref)
		if derr != nil {
			return derr
		}
		if found && d.Status != string(ekstypes.ClusterStatusDeleting) {
			// Something is still attached (or an update runs): retry later.
			return awsError(err, "delete cluster %s", ref)
		}
	case err != nil:
		return awsError(err, "delete cluster %s", ref)
	}
	p.Pending = appendNew(p.Pending, doneCluster)
	heartbeat(ctx, p)
	return a.poll(ctx, p, func(ctx context.Context) (bool, error) {
		d, found, err := describeCluster(ctx, api, ref)
		if err != nil {
			return false, err
		}
		if !found {
			p.markDone(doneCluster)
			return true, nil
		}
		if d.Status == string(ekstypes.ClusterStatusFailed) {
			return false, failedf("cluster %s is FAILED while being deleted: %s", ref, clusterHealth(d))
		}
		p.Status = d.Status
		return false, nil
	})
}

func appendNew(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
