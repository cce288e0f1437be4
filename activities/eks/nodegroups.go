package eks

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// amiParameter returns the SSM parameter (under root, normally
// "/aws/service") that holds the recommended AMI release of an AMI type for a
// Kubernetes version, and false for AMI types without one (CUSTOM, Windows,
// unknown): EKS then picks the latest release itself.
func amiParameter(root, version, amiType string) (string, bool) {
	root = strings.TrimRight(root, "/")
	eksAMI := func(path string) (string, bool) {
		return fmt.Sprintf("%s/eks/optimized-ami/%s/%s/recommended/release_version", root, version, path), true
	}
	bottlerocket := func(variant, arch string) (string, bool) {
		return fmt.Sprintf("%s/bottlerocket/aws-k8s-%s%s/%s/latest/image_version", root, version, variant, arch), true
	}
	switch ekstypes.AMITypes(amiType) {
	case ekstypes.AMITypesAl2X8664:
		return eksAMI("amazon-linux-2")
	case ekstypes.AMITypesAl2X8664Gpu:
		return eksAMI("amazon-linux-2-gpu")
	case ekstypes.AMITypesAl2Arm64:
		return eksAMI("amazon-linux-2-arm64")
	case ekstypes.AMITypesAl2023X8664Standard:
		return eksAMI("amazon-linux-2023/x86_64/standard")
	case ekstypes.AMITypesAl2023Arm64Standard:
		return eksAMI("amazon-linux-2023/arm64/standard")
	case ekstypes.AMITypesAl2023X8664Neuron:
		return eksAMI("amazon-linux-2023/x86_64/neuron")
	case ekstypes.AMITypesAl2023X8664Nvidia:
		return eksAMI("amazon-linux-2023/x86_64/nvidia")
	case ekstypes.AMITypesAl2023Arm64Nvidia:
		return eksAMI("amazon-linux-2023/arm64/nvidia")
	case ekstypes.AMITypesBottlerocketX8664:
		return bottlerocket("", "x86_64")
	case ekstypes.AMITypesBottlerocketArm64:
		return bottlerocket("", "arm64")
	case ekstypes.AMITypesBottlerocketX8664Nvidia:
		return bottlerocket("-nvidia", "x86_64")
	case ekstypes.AMITypesBottlerocketArm64Nvidia:
		return bottlerocket("-nvidia", "arm64")
	case ekstypes.AMITypesBottlerocketX8664Fips:
		return bottlerocket("-fips", "x86_64")
	case ekstypes.AMITypesBottlerocketArm64Fips:
		return bottlerocket("-fips", "arm64")
	}
	return "", false
}

// customAMI: the node group's AMI comes from its launch template, so EKS
// must not be given an AMI type, version or release.
func customAMI(ng NodeGroup) bool { return ng.AMIType == string(ekstypes.AMITypesCustom) }

// resolveRelease returns the AMI release to create the node group with: the
// plan's pin if any, else the recommended release for the target version
// from SSM, else "" (EKS picks the latest for the version).
func (a *Activities) resolveRelease(ctx context.Context, ssmAPI SSMAPI, cache map[string]string, target string, ng NodeGroup) (string, error) {
	if ng.ReleaseVersion != "" || customAMI(ng) {
		return ng.ReleaseVersion, nil
	}
	name, ok := amiParameter(a.ssmRoot, target, ng.AMIType)
	if !ok {
		logger(ctx).Info("No AMI release parameter for this AMI type; EKS picks the latest release",
			"nodegroup", ng.Name, "amiType", ng.AMIType, "version", target)
		return "", nil
	}
	if v, ok := cache[name]; ok {
		return v, nil
	}
	out, err := ssmAPI.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if isNotFound(err) {
		return "", notFoundf("no EKS-optimized AMI release for Kubernetes %s and AMI type %s (SSM parameter %s not found); choose another AMI type for node group %s",
			target, ng.AMIType, name, ng.Name)
	}
	if err != nil {
		return "", awsError(err, "read SSM parameter %s", name)
	}
	if out.Parameter == nil || aws.ToString(out.Parameter.Value) == "" {
		return "", notFoundf("SSM parameter %s is empty", name)
	}
	v := strings.TrimSpace(aws.ToString(out.Parameter.Value))
	cache[name] = v
	return v, nil
}

func createNodegroupInput(cluster string, ng NodeGroup, target, release string, token *string) *awseks.CreateNodegroupInput {
	in := &awseks.CreateNodegroupInput{
		ClusterName:        aws.String(cluster),
		NodegroupName:      aws.String(ng.Name),
		NodeRole:           aws.String(ng.NodeRoleARN),
		Subnets:            slices.Clone(ng.SubnetIDs),
		CapacityType:       ekstypes.CapacityTypes(ng.CapacityType),
		Labels:             maps.Clone(ng.Labels),
		Tags:               maps.Clone(ng.Tags),
		ClientRequestToken: token,
	}
	if ng.Scaling.Max > 0 {
		in.ScalingConfig = &ekstypes.NodegroupScalingConfig{
			MinSize: aws.Int32(ng.Scaling.Min), MaxSize: aws.Int32(ng.Scaling.Max), DesiredSize: aws.Int32(ng.Scaling.Desired),
		}
	}
	for _, t := range ng.Taints {
		in.Taints = append(in.Taints, ekstypes.Taint{Key: aws.String(t.Key), Value: optString(t.Value), Effect: ekstypes.TaintEffect(t.Effect)})
	}
	if len(ng.InstanceTypes) > 0 {
		in.InstanceTypes = slices.Clone(ng.InstanceTypes)
	}
	if lt := ng.LaunchTemplate; lt != nil {
		// The launch template is kept as is; EKS refuses a disk size with it.
		spec := &ekstypes.LaunchTemplateSpecification{Version: optString(lt.Version)}
		if lt.ID != "" {
			spec.Id = aws.String(lt.ID)
		} else {
			spec.Name = optString(lt.Name)
		}
		in.LaunchTemplate = spec
	} else if ng.DiskSize > 0 {
		in.DiskSize = aws.Int32(ng.DiskSize)
	}
	if !customAMI(ng) {
		in.AmiType = ekstypes.AMITypes(ng.AMIType)
		in.Version = aws.String(target)
		in.ReleaseVersion = optString(release)
	}
	if u := ng.UpdateConfig; u != nil {
		if u.MaxUnavailablePercentage > 0 {
			in.UpdateConfig = &ekstypes.NodegroupUpdateConfig{MaxUnavailablePercentage: aws.Int32(u.MaxUnavailablePercentage)}
		} else if u.MaxUnavailable > 0 {
			in.UpdateConfig = &ekstypes.NodegroupUpdateConfig{MaxUnavailable: aws.Int32(u.MaxUnavailable)}
		}
	}
	return in
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// nodeGroupDiffs lists what makes an existing node group not the one planned.
func nodeGroupDiffs(want, have NodeGroup, target string) []string {
	var diffs []string
	if w, h := want.Tags[TagMigration], have.Tags[TagMigration]; w != "" && w != h {
		if h == "" {
			diffs = append(diffs, fmt.Sprintf("tag %s is missing, want %q (not created by this migration)", TagMigration, w))
		} else {
			diffs = append(diffs, fmt.Sprintf("tag %s is %q, want %q", TagMigration, h, w))
		}
	}
	if have.NodeRoleARN != want.NodeRoleARN {
		diffs = append(diffs, fmt.Sprintf("node role is %q, want %q", have.NodeRoleARN, want.NodeRoleARN))
	}
	if !customAMI(want) && have.Version != "" && have.Version != target {
		diffs = append(diffs, fmt.Sprintf("version is %q, want %q", have.Version, target))
	}
	if !sameSet(have.SubnetIDs, want.SubnetIDs) {
		diffs = append(diffs, fmt.Sprintf("subnets are %v, want %v", sorted(have.SubnetIDs), sorted(want.SubnetIDs)))
	}
	if want.AMIType != "" && have.AMIType != "" && want.AMIType != have.AMIType {
		diffs = append(diffs, fmt.Sprintf("AMI type is %q, want %q", have.AMIType, want.AMIType))
	}
	if want.CapacityType != "" && have.CapacityType != "" && want.CapacityType != have.CapacityType {
		diffs = append(diffs, fmt.Sprintf("capacity type is %q, want %q", have.CapacityType, want.CapacityType))
	}
	return diffs
}

// EnsureNodeGroups creates green's node groups as planned (blue's, at the
// target version, on the recommended AMI release for that version from SSM;
// launch-template groups keep their template, in a new version with the
// target's AMI when blue's pins one: see greenLaunchTemplate; the result
// lists those versions), adopts those that already
// exist and match, fails with Conflict on those that do not, and waits until
// all are ACTIVE. It heartbeats a Progress and resumes from it after a retry.
func (a *Activities) EnsureNodeGroups(ctx context.Context, in EnsureNodeGroupsInput) (EnsureNodeGroupsResult, error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	ref := in.Cluster
	if ref.Name == "" || in.TargetVersion == "" {
		return EnsureNodeGroupsResult{}, invalidf("ensure node groups: cluster name and target version are required")
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return EnsureNodeGroupsResult{}, err
	}
	want := slices.Clone(in.NodeGroups)
	sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
	for i, ng := range want {
		if ng.Name == "" || ng.NodeRoleARN == "" || len(ng.SubnetIDs) == 0 {
			return EnsureNodeGroupsResult{}, invalidf("node group #%d (%q): name, node role and subnets are required", i, ng.Name)
		}
		if i > 0 && want[i-1].Name == ng.Name {
			return EnsureNodeGroupsResult{}, invalidf("node group %q is planned twice", ng.Name)
		}
	}
	log := logger(ctx)
	p := resume(ctx, StepNodeGroups, ref.Name)
	p.Step = StepNodeGroups
	var ssmAPI SSMAPI
	releases := map[string]string{}
	// versions: the launch template versions of this migration, per node group.
	versions := map[string]LaunchTemplateVersion{}
	var res EnsureNodeGroupsResult

	for _, ng := range want {
		have, found, err := describeNodeGroup(ctx, api, ref, ng.Name)
		if err != nil {
			return res, err
		}
		if !found {
			if ssmAPI == nil {
				if ssmAPI, err = a.ssmClient(ctx, ref.Region); err != nil {
					return res, err
				}
			}
			release, err := a.resolveRelease(ctx, ssmAPI, releases, in.TargetVersion, ng)
			if err != nil {
				return res, err
			}
			var version *LaunchTemplateVersion
			if ng.LaunchTemplate, version, err = a.launchTemplateFor(ctx, ref.Region, ssmAPI, api, ref.Name, in.TargetVersion, in.AMITypeUpgrade, ng); err != nil {
				return res, err
			}
			if version != nil {
				versions[ng.Name] = *version
			}
			log.Info("Creating node group", "cluster", ref.Name, "nodegroup", ng.Name, "version", in.TargetVersion,
				"releaseVersion", release, "amiType", ng.AMIType)
			_, err = api.CreateNodegroup(ctx, createNodegroupInput(ref.Name, ng, in.TargetVersion, release, requestToken(in.RequestToken, ng.Name)))
			switch {
			case isInUse(err):
				// Created meanwhile: check it like any existing one.
				if have, found, err = describeNodeGroup(ctx, api, ref, ng.Name); err != nil {
					return res, err
				}
			case err != nil:
				return res, awsError(err, "create node group %s on cluster %s", ng.Name, ref)
			default:
				p.markCreated(ng.Name)
			}
		}
		if found {
			if diffs := nodeGroupDiffs(ng, have, in.TargetVersion); len(diffs) > 0 {
				return res, conflictf("node group %s already exists on cluster %s and does not match the plan: %s",
					ng.Name, ref, strings.Join(diffs, "; "))
			}
			if !slices.Contains(p.Created, ng.Name) {
				log.Info("Adopting existing node group", "cluster", ref.Name, "nodegroup", ng.Name, "status", have.Status)
			}
			if _, ok := versions[ng.Name]; !ok && ng.LaunchTemplate != nil {
				// Made by an earlier attempt: its template version, if this migration's.
				if v, err := a.existingLaunchTemplateVersion(ctx, ref.Region, ng.Tags[TagMigration], have); err != nil {
					return res, err
				} else if v != nil {
					versions[ng.Name] = *v
				}
			}
		}
		if !slices.Contains(p.Pending, ng.Name) && !slices.Contains(p.Done, ng.Name) {
			p.Pending = append(p.Pending, ng.Name)
		}
		heartbeat(ctx, &p)
	}

	final := map[string]NodeGroup{}
	err = a.poll(ctx, &p, func(ctx context.Context) (bool, error) {
		var status []string
		for _, ng := range want {
			out, err := api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(ref.Name), NodegroupName: aws.String(ng.Name)})
			if isNotFound(err) {
				return false, notFoundf("node group %s of cluster %s disappeared while waiting for it", ng.Name, ref)
			}
			if err != nil {
				return false, awsError(err, "describe node group %s of cluster %s", ng.Name, ref)
			}
			got := nodeGroupFromAPI(out.Nodegroup)
			status = append(status, ng.Name+"="+got.Status)
			switch ekstypes.NodegroupStatus(got.Status) {
			case ekstypes.NodegroupStatusActive:
				if !slices.Contains(p.Done, ng.Name) {
					log.Info("Node group is ACTIVE", "cluster", ref.Name, "nodegroup", ng.Name, "releaseVersion", got.ReleaseVersion)
				}
				p.markDone(ng.Name)
				final[ng.Name] = got
			case ekstypes.NodegroupStatusCreateFailed, ekstypes.NodegroupStatusDeleteFailed:
				return false, failedf("node group %s of cluster %s is %s: %s", ng.Name, ref, got.Status, nodeGroupHealth(out.Nodegroup))
			case ekstypes.NodegroupStatusDeleting:
				return false, failedf("node group %s of cluster %s is being deleted", ng.Name, ref)
			}
		}
		p.Status = strings.Join(status, " ")
		return len(final) == len(want), nil
	})
	if err != nil {
		return res, err
	}
	for _, ng := range want {
		res.NodeGroups = append(res.NodeGroups, final[ng.Name])
		if slices.Contains(p.Created, ng.Name) {
			res.Created = append(res.Created, ng.Name)
		} else {
			res.Adopted = append(res.Adopted, ng.Name)
		}
		if v, ok := versions[ng.Name]; ok {
			res.LaunchTemplateVersions = append(res.LaunchTemplateVersions, v)
		}
	}
	log.Info("Node groups are ACTIVE", "cluster", ref.Name, "created", res.Created, "adopted", res.Adopted, "polls", p.Polls)
	return res, nil
}

func describeNodeGroup(ctx context.Context, api EKSAPI, ref clusters.Ref, name string) (NodeGroup, bool, error) {
	out, err := api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(ref.Name), NodegroupName: aws.String(name)})
	if isNotFound(err) {
		return NodeGroup{}, false, nil
	}
	if err != nil {
		return NodeGroup{}, false, awsError(err, "describe node group %s of cluster %s", name, ref)
	}
	return nodeGroupFromAPI(out.Nodegroup), true, nil
}
