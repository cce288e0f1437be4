package eks

import (
	"context"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/clusters"
)

// DescribeEKSCluster reads everything green needs to copy from a cluster:
// the cluster itself (version, role, VPC config, logging, encryption, tags,
// network and access config), its access entries with their policy
// associations, its add-ons with their configuration values, its managed
// node groups and its Pod Identity associations. Lists are sorted by name so the output is deterministic.
func (a *Activities) DescribeEKSCluster(ctx context.Context, in DescribeInput) (ClusterDescription, error) {
	ref := in.Cluster
	if ref.Name == "" {
		return ClusterDescription{}, invalidf("describe cluster: cluster name is empty")
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return ClusterDescription{}, err
	}
	log := logger(ctx)
	log.Info("Describing EKS cluster", "cluster", ref.Name, "region", ref.Region)

	out, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(ref.Name)})
	if err != nil {
		return ClusterDescription{}, awsError(err, "describe cluster %s", ref)
	}
	d := clusterFromAPI(ref.Region, out.Cluster)

	if d.AccessEntries, err = a.describeAccessEntries(ctx, api, ref, d.Access.AuthenticationMode); err != nil {
		return ClusterDescription{}, err
	}
	if d.Addons, d.AddonHealth, err = a.describeAddons(ctx, api, ref); err != nil {
		return ClusterDescription{}, err
	}
	if d.NodeGroups, d.NodeGroupHealth, err = describeNodeGroups(ctx, api, ref); err != nil {
		return ClusterDescription{}, err
	}
	if d.PodIdentityAssociations, err = describePodIdentityAssociations(ctx, api, ref); err != nil {
		return ClusterDescription{}, err
	}
	if d.FargateProfiles, err = listFargateProfiles(ctx, api, ref); err != nil {
		return ClusterDescription{}, err
	}
	log.Info("Described EKS cluster", "cluster", ref.Name, "version", d.Version, "status", d.Status,
		"nodeGroups", len(d.NodeGroups), "addons", len(d.Addons), "accessEntries", len(d.AccessEntries), "podIdentityAssociations", len(d.PodIdentityAssociations))
	return d, nil
}

// clusterFromAPI converts the SDK's cluster. c may be nil.
func clusterFromAPI(region string, c *ekstypes.Cluster) ClusterDescription {
	if c == nil {
		return ClusterDescription{Region: region}
	}
	d := ClusterDescription{
		Name:     aws.ToString(c.Name),
		Region:   region,
		ARN:      aws.ToString(c.Arn),
		Version:  aws.ToString(c.Version),
		Status:   string(c.Status),
		Endpoint: aws.ToString(c.Endpoint),
		RoleARN:  aws.ToString(c.RoleArn),
		Tags:     maps.Clone(c.Tags),
	}
	if v := c.ResourcesVpcConfig; v != nil {
		d.VPC = VPCConfig{
			SubnetIDs:             slices.Clone(v.SubnetIds),
			SecurityGroupIDs:      slices.Clone(v.SecurityGroupIds),
			EndpointPublicAccess:  v.EndpointPublicAccess,
			EndpointPrivateAccess: v.EndpointPrivateAccess,
			PublicAccessCIDRs:     slices.Clone(v.PublicAccessCidrs),
		}
	}
	if c.Logging != nil {
		for _, ls := range c.Logging.ClusterLogging {
			if aws.ToBool(ls.Enabled) {
				for _, t := range ls.Types {
					d.Logging = append(d.Logging, string(t))
				}
			}
		}
		sort.Strings(d.Logging)
		d.Logging = slices.Compact(d.Logging)
	}
	for _, e := range c.EncryptionConfig {
		ec := EncryptionConfig{Resources: slices.Clone(e.Resources)}
		if e.Provider != nil {
			ec.KeyARN = aws.ToString(e.Provider.KeyArn)
		}
		d.Encryption = append(d.Encryption, ec)
	}
	if c.AccessConfig != nil {
		d.Access.AuthenticationMode = string(c.AccessConfig.AuthenticationMode)
	}
	if n := c.KubernetesNetworkConfig; n != nil && (aws.ToString(n.ServiceIpv4Cidr) != "" || n.IpFamily != "") {
		d.Network = &NetworkConfig{ServiceIPv4CIDR: aws.ToString(n.ServiceIpv4Cidr), IPFamily: string(n.IpFamily)}
	}
	if c.UpgradePolicy != nil {
		d.SupportType = string(c.UpgradePolicy.SupportType)
	}
	d.DeletionProtection = aws.ToBool(c.DeletionProtection)
	if c.Health != nil {
		for _, i := range c.Health.Issues {
			d.Health = append(d.Health, issueText(string(i.Code), aws.ToString(i.Message), i.ResourceIds))
		}
	}
	return d
}

func issueText(code, msg string, ids []string) string {
	s := code
	if msg != "" {
		s += ": " + msg
	}
	if len(ids) > 0 {
		s += " (" + strings.Join(ids, ", ") + ")"
	}
	return s
}

// accessEntriesAvailable: the access entry API only works on clusters whose
// authentication mode includes API.
func accessEntriesAvailable(mode string) bool {
	return mode == string(ekstypes.AuthenticationModeApi) || mode == string(ekstypes.AuthenticationModeApiAndConfigMap)
}

func (a *Activities) describeAccessEntries(ctx context.Context, api EKSAPI, ref clusters.Ref, mode string) ([]AccessEntry, error) {
	if !accessEntriesAvailable(mode) {
		return nil, nil
	}
	principals, err := a.listAccessEntries(ctx, api, ref)
	if err != nil || len(principals) == 0 {
		return nil, err
	}
	var entries []AccessEntry
	for _, p := range principals {
		out, err := api.DescribeAccessEntry(ctx, &awseks.DescribeAccessEntryInput{ClusterName: aws.String(ref.Name), PrincipalArn: aws.String(p)})
		if isNotFound(err) {
			continue // deleted while we listed
		}
		if err != nil {
			return nil, awsError(err, "describe access entry %s of cluster %s", p, ref)
		}
		e := accessEntryFromAPI(out.AccessEntry)
		if e.PrincipalARN == "" {
			e.PrincipalARN = p
		}
		if e.Policies, err = listAccessPolicies(ctx, api, ref, p); err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// listAccessEntries returns the principal ARNs of the cluster's access
// entries, sorted.
func (a *Activities) listAccessEntries(ctx context.Context, api EKSAPI, ref clusters.Ref) ([]string, error) {
	var principals []string
	pg := awseks.NewListAccessEntriesPaginator(api, &awseks.ListAccessEntriesInput{ClusterName: aws.String(ref.Name)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, awsError(err, "list access entries of cluster %s", ref)
		}
		principals = append(principals, page.AccessEntries...)
	}
	sort.Strings(principals)
	return principals, nil
}

func accessEntryFromAPI(e *ekstypes.AccessEntry) AccessEntry {
	if e == nil {
		return AccessEntry{}
	}
	groups := slices.Clone(e.KubernetesGroups)
	sort.Strings(groups)
	return AccessEntry{
		PrincipalARN:     aws.ToString(e.PrincipalArn),
		Type:             aws.ToString(e.Type),
		Username:         aws.ToString(e.Username),
		KubernetesGroups: groups,
	}
}

func listAccessPolicies(ctx context.Context, api EKSAPI, ref clusters.Ref, principal string) ([]AccessPolicy, error) {
	var out []AccessPolicy
	pg := awseks.NewListAssociatedAccessPoliciesPaginator(api, &awseks.ListAssociatedAccessPoliciesInput{
		ClusterName: aws.String(ref.Name), PrincipalArn: aws.String(principal),
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, awsError(err, "list access policies of %s on cluster %s", principal, ref)
		}
		for _, p := range page.AssociatedAccessPolicies {
			ap := AccessPolicy{PolicyARN: aws.ToString(p.PolicyArn)}
			if p.AccessScope != nil {
				ap.ScopeType = string(p.AccessScope.Type)
				ap.Namespaces = slices.Clone(p.AccessScope.Namespaces)
				sort.Strings(ap.Namespaces)
			}
			out = append(out, ap)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PolicyARN < out[j].PolicyARN })
	return out, nil
}

// describeAddons returns the add-ons and, for each that is not ACTIVE or
// reports health issues, its status and issues.
func (a *Activities) describeAddons(ctx context.Context, api EKSAPI, ref clusters.Ref) ([]Addon, map[string]string, error) {
	names, err := a.listAddons(ctx, api, ref)
	if err != nil {
		return nil, nil, err
	}
	var addons []Addon
	var health map[string]string
	for _, n := range names {
		out, err := api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(ref.Name), AddonName: aws.String(n)})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, nil, awsError(err, "describe add-on %s of cluster %s", n, ref)
		}
		addons = append(addons, addonFromAPI(n, out.Addon))
		if h := addonProblem(out.Addon); h != "" {
			if health == nil {
				health = map[string]string{}
			}
			health[n] = h
		}
	}
	return addons, health, nil
}

// addonProblem is "" for an ACTIVE add-on without health issues, else its
// status and issues ("DEGRADED: AccessDenied: ...").
func addonProblem(a *ekstypes.Addon) string {
	if a == nil || (a.Status == ekstypes.AddonStatusActive && (a.Health == nil || len(a.Health.Issues) == 0)) {
		return ""
	}
	if a.Health == nil || len(a.Health.Issues) == 0 {
		return string(a.Status)
	}
	return string(a.Status) + ": " + addonHealth(a)
}

// nodeGroupProblem is "" for an ACTIVE or UPDATING node group without
// health issues, else its status and issues.
func nodeGroupProblem(n *ekstypes.Nodegroup) string {
	if n == nil {
		return ""
	}
	healthy := n.Health == nil || len(n.Health.Issues) == 0
	if healthy && (n.Status == ekstypes.NodegroupStatusActive || n.Status == ekstypes.NodegroupStatusUpdating) {
		return ""
	}
	if healthy {
		return string(n.Status)
	}
	return string(n.Status) + ": " + nodeGroupHealth(n)
}

// listAddons returns the cluster's add-on names, sorted.
func (a *Activities) listAddons(ctx context.Context, api EKSAPI, ref clusters.Ref) ([]string, error) {
	var names []string
	pg := awseks.NewListAddonsPaginator(api, &awseks.ListAddonsInput{ClusterName: aws.String(ref.Name)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, awsError(err, "list add-ons of cluster %s", ref)
		}
		names = append(names, page.Addons...)
	}
	sort.Strings(names)
	return names, nil
}

func addonFromAPI(name string, a *ekstypes.Addon) Addon {
	if a == nil {
		return Addon{Name: name}
	}
	out := Addon{
		Name:                  aws.ToString(a.AddonName),
		Version:               aws.ToString(a.AddonVersion),
		ConfigurationValues:   aws.ToString(a.ConfigurationValues),
		ServiceAccountRoleARN: aws.ToString(a.ServiceAccountRoleArn),
	}
	if out.Name == "" {
		out.Name = name
	}
	return out
}

// describeNodeGroups returns the node groups and the health issues of
// those that report any.
func describeNodeGroups(ctx context.Context, api EKSAPI, ref clusters.Ref) ([]NodeGroup, map[string]string, error) {
	names, err := listNodeGroups(ctx, api, ref)
	if err != nil {
		return nil, nil, err
	}
	var out []NodeGroup
	var health map[string]string
	for _, n := range names {
		ng, err := api.DescribeNodegroup(ctx, &awseks.DescribeNodegroupInput{ClusterName: aws.String(ref.Name), NodegroupName: aws.String(n)})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, nil, awsError(err, "describe node group %s of cluster %s", n, ref)
		}
		out = append(out, nodeGroupFromAPI(ng.Nodegroup))
		if h := nodeGroupProblem(ng.Nodegroup); h != "" {
			if health == nil {
				health = map[string]string{}
			}
			health[n] = h
		}
	}
	return out, health, nil
}

// listNodeGroups returns the cluster's node group names, sorted.
func listNodeGroups(ctx context.Context, api EKSAPI, ref clusters.Ref) ([]string, error) {
	var names []string
	pg := awseks.NewListNodegroupsPaginator(api, &awseks.ListNodegroupsInput{ClusterName: aws.String(ref.Name)})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, awsError(err, "list node groups of cluster %s", ref)
		}
		names = append(names, page.Nodegroups...)
	}
	sort.Strings(names)
	return names, nil
}

func nodeGroupFromAPI(n *ekstypes.Nodegroup) NodeGroup {
	if n == nil {
		return NodeGroup{}
	}
	ng := NodeGroup{
		Name:           aws.ToString(n.NodegroupName),
		NodeRoleARN:    aws.ToString(n.NodeRole),
		SubnetIDs:      slices.Clone(n.Subnets),
		InstanceTypes:  slices.Clone(n.InstanceTypes),
		AMIType:        string(n.AmiType),
		CapacityType:   string(n.CapacityType),
		DiskSize:       aws.ToInt32(n.DiskSize),
		Labels:         maps.Clone(n.Labels),
		Tags:           maps.Clone(n.Tags),
		Version:        aws.ToString(n.Version),
		ReleaseVersion: aws.ToString(n.ReleaseVersion),
		Status:         string(n.Status),
	}
	if s := n.ScalingConfig; s != nil {
		ng.Scaling = Scaling{Min: aws.ToInt32(s.MinSize), Max: aws.ToInt32(s.MaxSize), Desired: aws.ToInt32(s.DesiredSize)}
	}
	for _, t := range n.Taints {
		ng.Taints = append(ng.Taints, Taint{Key: aws.ToString(t.Key), Value: aws.ToString(t.Value), Effect: string(t.Effect)})
	}
	sort.Slice(ng.Taints, func(i, j int) bool {
		if ng.Taints[i].Key != ng.Taints[j].Key {
			return ng.Taints[i].Key < ng.Taints[j].Key
		}
		return ng.Taints[i].Effect < ng.Taints[j].Effect
	})
	if lt := n.LaunchTemplate; lt != nil {
		ng.LaunchTemplate = &LaunchTemplate{ID: aws.ToString(lt.Id), Name: aws.ToString(lt.Name), Version: aws.ToString(lt.Version)}
	}
	if u := n.UpdateConfig; u != nil && (u.MaxUnavailable != nil || u.MaxUnavailablePercentage != nil) {
		ng.UpdateConfig = &UpdateConfig{MaxUnavailable: aws.ToInt32(u.MaxUnavailable), MaxUnavailablePercentage: aws.ToInt32(u.MaxUnavailablePercentage)}
	}
	return ng
}

func nodeGroupHealth(n *ekstypes.Nodegroup) string {
	if n == nil || n.Health == nil || len(n.Health.Issues) == 0 {
		return "no health issues reported"
	}
	var parts []string
	for _, i := range n.Health.Issues {
		parts = append(parts, issueText(string(i.Code), aws.ToString(i.Message), i.ResourceIds))
	}
	return strings.Join(parts, "; ")
}

func clusterHealth(d ClusterDescription) string {
	if len(d.Health) == 0 {
		return "no health issues reported"
	}
	return strings.Join(d.Health, "; ")
}

// describeCluster returns the cluster, or found=false when it does not exist.
func describeCluster(ctx context.Context, api EKSAPI, ref clusters.Ref) (ClusterDescription, bool, error) {
	out, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(ref.Name)})
	if isNotFound(err) {
		return ClusterDescription{}, false, nil
	}
	if err != nil {
		return ClusterDescription{}, false, awsError(err, "describe cluster %s", ref)
	}
	return clusterFromAPI(ref.Region, out.Cluster), true, nil
}
