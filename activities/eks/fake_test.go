package eks

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/cutover-dev/cutover/internal/failures"
)

// fakeEKS is an in-memory EKS for unit tests. It records every request, and
// resources walk through scripted statuses: each Describe pops the next
// status of the resource's script (the last one sticks). A resource being
// deleted disappears after deleteAfter describes.
type fakeEKS struct {
	EKSAPI // unimplemented methods panic

	mu    sync.Mutex
	calls []string

	clusters      map[string]*ekstypes.Cluster
	nodegroups    map[string]*ekstypes.Nodegroup // key cluster/name
	addons        map[string]*ekstypes.Addon     // key cluster/name
	fargate       map[string]*ekstypes.FargateProfile
	entries       map[string]*ekstypes.AccessEntry // key cluster/principal
	policies      map[string][]ekstypes.AssociatedAccessPolicy
	addonVersions map[string][]ekstypes.AddonInfo
	insights      []ekstypes.Insight
	versions      []ekstypes.ClusterVersionInformation
	// pods: Pod Identity associations, key association ID.
	pods map[string]*ekstypes.PodIdentityAssociation

	// scripts: key "cluster/<name>", "nodegroup/<cluster>/<name>", "addon/<cluster>/<name>".
	scripts     map[string][]string
	deleting    map[string]int // key as scripts -> describes left before gone
	deleteAfter int
	// deleteFails: keys as scripts whose delete ends in DELETE_FAILED.
	deleteFails map[string]bool

	// errs: op name -> errors returned by the next calls, in order.
	errs map[string][]error

	createCluster   []*awseks.CreateClusterInput
	createNodegroup []*awseks.CreateNodegroupInput
	createAddon     []*awseks.CreateAddonInput
	createEntry     []*awseks.CreateAccessEntryInput
	associate       []*awseks.AssociateAccessPolicyInput
	addonVersionsIn []*awseks.DescribeAddonVersionsInput
	listInsightsIn  []*awseks.ListInsightsInput
	describeInsight []string
	versionsIn      []*awseks.DescribeClusterVersionsInput
}

func newFakeEKS() *fakeEKS {
	return &fakeEKS{
		clusters:      map[string]*ekstypes.Cluster{},
		nodegroups:    map[string]*ekstypes.Nodegroup{},
		addons:        map[string]*ekstypes.Addon{},
		fargate:       map[string]*ekstypes.FargateProfile{},
		entries:       map[string]*ekstypes.AccessEntry{},
		policies:      map[string][]ekstypes.AssociatedAccessPolicy{},
		addonVersions: map[string][]ekstypes.AddonInfo{},
		scripts:       map[string][]string{},
		deleting:      map[string]int{},
		errs:          map[string][]error{},
		deleteAfter:   1,
	}
}

func notFound(what string) error {
	return &ekstypes.ResourceNotFoundException{Message: aws.String(what + " not found")}
}

func inUse(what string) error {
	return &ekstypes.ResourceInUseException{Message: aws.String(what + " in use")}
}

// call records op and returns a scripted error for it, if any.
func (f *fakeEKS) call(op string) error {
	f.calls = append(f.calls, op)
	if q := f.errs[op]; len(q) > 0 {
		f.errs[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *fakeEKS) opCalls(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// step advances key's status script and reports whether a deleting
// resource is now gone.
func (f *fakeEKS) step(key string) (status string, gone bool) {
	if n, ok := f.deleting[key]; ok {
		if n <= 0 {
			return "", true
		}
		f.deleting[key] = n - 1
		return "DELETING", false
	}
	s := f.scripts[key]
	if len(s) == 0 {
		return "", false
	}
	if len(s) > 1 {
		f.scripts[key] = s[1:]
	}
	return s[0], false
}

func (f *fakeEKS) DescribeCluster(_ context.Context, in *awseks.DescribeClusterInput, _ ...func(*awseks.Options)) (*awseks.DescribeClusterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeCluster"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	c, ok := f.clusters[name]
	if !ok {
		return nil, notFound("cluster " + name)
	}
	st, gone := f.step("cluster/" + name)
	if gone {
		delete(f.clusters, name)
		return nil, notFound("cluster " + name)
	}
	if st != "" {
		c.Status = ekstypes.ClusterStatus(st)
	}
	cp := *c
	return &awseks.DescribeClusterOutput{Cluster: &cp}, nil
}

func (f *fakeEKS) CreateCluster(_ context.Context, in *awseks.CreateClusterInput, _ ...func(*awseks.Options)) (*awseks.CreateClusterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createCluster = append(f.createCluster, in)
	if err := f.call("CreateCluster"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	if _, ok := f.clusters[name]; ok {
		return nil, inUse("cluster " + name)
	}
	c := &ekstypes.Cluster{
		Name: in.Name, Arn: aws.String("arn:aws:eks:us-east-1:123456789012:cluster/" + name),
		Version: in.Version, RoleArn: in.RoleArn, Status: ekstypes.ClusterStatusCreating, Tags: in.Tags,
		ResourcesVpcConfig: &ekstypes.VpcConfigResponse{SubnetIds: in.ResourcesVpcConfig.SubnetIds, SecurityGroupIds: in.ResourcesVpcConfig.SecurityGroupIds},
	}
	f.clusters[name] = c
	cp := *c
	return &awseks.CreateClusterOutput{Cluster: &cp}, nil
}

func (f *fakeEKS) DeleteCluster(_ context.Context, in *awseks.DeleteClusterInput, _ ...func(*awseks.Options)) (*awseks.DeleteClusterOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteCluster"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	if _, ok := f.clusters[name]; !ok {
		return nil, notFound("cluster " + name)
	}
	for k := range f.nodegroups {
		if strings.HasPrefix(k, name+"/") {
			return nil, inUse("cluster " + name + " has node groups")
		}
	}
	f.deleting["cluster/"+name] = f.deleteAfter
	return &awseks.DeleteClusterOutput{}, nil
}

func (f *fakeEKS) DescribeClusterVersions(_ context.Context, in *awseks.DescribeClusterVersionsInput, _ ...func(*awseks.Options)) (*awseks.DescribeClusterVersionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.versionsIn = append(f.versionsIn, in)
	if err := f.call("DescribeClusterVersions"); err != nil {
		return nil, err
	}
	var out []ekstypes.ClusterVersionInformation
	for _, v := range f.versions {
		for _, want := range in.ClusterVersions {
			if aws.ToString(v.ClusterVersion) == want {
				out = append(out, v)
			}
		}
	}
	return &awseks.DescribeClusterVersionsOutput{ClusterVersions: out}, nil
}

func (f *fakeEKS) keysUnder(m map[string]bool, cluster string) []string {
	var out []string
	for k := range m {
		if c, n, ok := strings.Cut(k, "/"); ok && c == cluster {
			out = append(out, n)
		}
	}
	// Unsorted on purpose would be nicer, but map order is random enough;
	// return reverse-sorted so the code under test must sort.
	sort.Sort(sort.Reverse(sort.StringSlice(out)))
	return out
}

func nodegroupKeys(m map[string]*ekstypes.Nodegroup) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}

func (f *fakeEKS) ListNodegroups(_ context.Context, in *awseks.ListNodegroupsInput, _ ...func(*awseks.Options)) (*awseks.ListNodegroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListNodegroups"); err != nil {
		return nil, err
	}
	return &awseks.ListNodegroupsOutput{Nodegroups: f.keysUnder(nodegroupKeys(f.nodegroups), aws.ToString(in.ClusterName))}, nil
}

func (f *fakeEKS) DescribeNodegroup(_ context.Context, in *awseks.DescribeNodegroupInput, _ ...func(*awseks.Options)) (*awseks.DescribeNodegroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeNodegroup"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.NodegroupName)
	ng, ok := f.nodegroups[key]
	if !ok {
		return nil, notFound("node group " + key)
	}
	st, gone := f.step("nodegroup/" + key)
	if gone {
		delete(f.nodegroups, key)
		return nil, notFound("node group " + key)
	}
	if st != "" {
		ng.Status = ekstypes.NodegroupStatus(st)
	}
	cp := *ng
	return &awseks.DescribeNodegroupOutput{Nodegroup: &cp}, nil
}

func (f *fakeEKS) CreateNodegroup(_ context.Context, in *awseks.CreateNodegroupInput, _ ...func(*awseks.Options)) (*awseks.CreateNodegroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createNodegroup = append(f.createNodegroup, in)
	if err := f.call("CreateNodegroup"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.NodegroupName)
	if _, ok := f.nodegroups[key]; ok {
		return nil, inUse("node group " + key)
	}
	ng := &ekstypes.Nodegroup{
		ClusterName: in.ClusterName, NodegroupName: in.NodegroupName, NodeRole: in.NodeRole, Subnets: in.Subnets,
		AmiType: in.AmiType, CapacityType: in.CapacityType, InstanceTypes: in.InstanceTypes, DiskSize: in.DiskSize,
		Labels: in.Labels, Taints: in.Taints, Tags: in.Tags, Version: in.Version, ReleaseVersion: in.ReleaseVersion,
		ScalingConfig: in.ScalingConfig, LaunchTemplate: in.LaunchTemplate, UpdateConfig: in.UpdateConfig,
		Status: ekstypes.NodegroupStatusCreating,
	}
	f.nodegroups[key] = ng
	if _, ok := f.scripts["nodegroup/"+key]; !ok {
		f.scripts["nodegroup/"+key] = []string{"ACTIVE"} // unscripted: ACTIVE on the next describe
	}
	return &awseks.CreateNodegroupOutput{Nodegroup: ng}, nil
}

func (f *fakeEKS) DeleteNodegroup(_ context.Context, in *awseks.DeleteNodegroupInput, _ ...func(*awseks.Options)) (*awseks.DeleteNodegroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteNodegroup:" + aws.ToString(in.NodegroupName)); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.NodegroupName)
	if _, ok := f.nodegroups[key]; !ok {
		return nil, notFound("node group " + key)
	}
	if f.deleteFails["nodegroup/"+key] {
		f.scripts["nodegroup/"+key] = []string{"DELETING", "DELETE_FAILED"}
		return &awseks.DeleteNodegroupOutput{}, nil
	}
	if _, ok := f.deleting["nodegroup/"+key]; !ok {
		f.deleting["nodegroup/"+key] = f.deleteAfter
	}
	return &awseks.DeleteNodegroupOutput{}, nil
}

func (f *fakeEKS) ListFargateProfiles(_ context.Context, in *awseks.ListFargateProfilesInput, _ ...func(*awseks.Options)) (*awseks.ListFargateProfilesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListFargateProfiles"); err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range f.fargate {
		keys[k] = true
	}
	return &awseks.ListFargateProfilesOutput{FargateProfileNames: f.keysUnder(keys, aws.ToString(in.ClusterName))}, nil
}

func (f *fakeEKS) DescribeFargateProfile(_ context.Context, in *awseks.DescribeFargateProfileInput, _ ...func(*awseks.Options)) (*awseks.DescribeFargateProfileOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeFargateProfile"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.FargateProfileName)
	fp, ok := f.fargate[key]
	if !ok {
		return nil, notFound("fargate profile " + key)
	}
	if _, gone := f.step("fargate/" + key); gone {
		delete(f.fargate, key)
		return nil, notFound("fargate profile " + key)
	}
	cp := *fp
	return &awseks.DescribeFargateProfileOutput{FargateProfile: &cp}, nil
}

func (f *fakeEKS) DeleteFargateProfile(_ context.Context, in *awseks.DeleteFargateProfileInput, _ ...func(*awseks.Options)) (*awseks.DeleteFargateProfileOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteFargateProfile:" + aws.ToString(in.FargateProfileName)); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.FargateProfileName)
	for k, n := range f.deleting {
		if strings.HasPrefix(k, "fargate/") && n > 0 {
			return nil, inUse("another fargate profile is deleting")
		}
	}
	f.deleting["fargate/"+key] = f.deleteAfter
	return &awseks.DeleteFargateProfileOutput{}, nil
}

func (f *fakeEKS) ListAddons(_ context.Context, in *awseks.ListAddonsInput, _ ...func(*awseks.Options)) (*awseks.ListAddonsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListAddons"); err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range f.addons {
		keys[k] = true
	}
	return &awseks.ListAddonsOutput{Addons: f.keysUnder(keys, aws.ToString(in.ClusterName))}, nil
}

func (f *fakeEKS) DescribeAddon(_ context.Context, in *awseks.DescribeAddonInput, _ ...func(*awseks.Options)) (*awseks.DescribeAddonOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeAddon"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.AddonName)
	ad, ok := f.addons[key]
	if !ok {
		return nil, notFound("add-on " + key)
	}
	st, gone := f.step("addon/" + key)
	if gone {
		delete(f.addons, key)
		return nil, notFound("add-on " + key)
	}
	if st != "" {
		ad.Status = ekstypes.AddonStatus(st)
	}
	cp := *ad
	return &awseks.DescribeAddonOutput{Addon: &cp}, nil
}

func (f *fakeEKS) DescribeAddonVersions(_ context.Context, in *awseks.DescribeAddonVersionsInput, _ ...func(*awseks.Options)) (*awseks.DescribeAddonVersionsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.addonVersionsIn = append(f.addonVersionsIn, in)
	if err := f.call("DescribeAddonVersions"); err != nil {
		return nil, err
	}
	return &awseks.DescribeAddonVersionsOutput{Addons: f.addonVersions[aws.ToString(in.AddonName)]}, nil
}

func (f *fakeEKS) CreateAddon(_ context.Context, in *awseks.CreateAddonInput, _ ...func(*awseks.Options)) (*awseks.CreateAddonOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createAddon = append(f.createAddon, in)
	if err := f.call("CreateAddon"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.AddonName)
	if _, ok := f.addons[key]; ok {
		return nil, inUse("add-on " + key)
	}
	f.addons[key] = &ekstypes.Addon{
		AddonName: in.AddonName, AddonVersion: in.AddonVersion, ConfigurationValues: in.ConfigurationValues,
		ServiceAccountRoleArn: in.ServiceAccountRoleArn, Status: ekstypes.AddonStatusCreating, Tags: in.Tags,
	}
	if _, ok := f.scripts["addon/"+key]; !ok {
		f.scripts["addon/"+key] = []string{"ACTIVE"}
	}
	return &awseks.CreateAddonOutput{}, nil
}

func (f *fakeEKS) DeleteAddon(_ context.Context, in *awseks.DeleteAddonInput, _ ...func(*awseks.Options)) (*awseks.DeleteAddonOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeleteAddon:" + aws.ToString(in.AddonName)); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.AddonName)
	if _, ok := f.addons[key]; !ok {
		return nil, notFound("add-on " + key)
	}
	f.deleting["addon/"+key] = f.deleteAfter
	return &awseks.DeleteAddonOutput{}, nil
}

func (f *fakeEKS) ListAccessEntries(_ context.Context, in *awseks.ListAccessEntriesInput, _ ...func(*awseks.Options)) (*awseks.ListAccessEntriesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListAccessEntries"); err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	for k := range f.entries {
		keys[k] = true
	}
	return &awseks.ListAccessEntriesOutput{AccessEntries: f.keysUnder(keys, aws.ToString(in.ClusterName))}, nil
}

func (f *fakeEKS) DescribeAccessEntry(_ context.Context, in *awseks.DescribeAccessEntryInput, _ ...func(*awseks.Options)) (*awseks.DescribeAccessEntryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribeAccessEntry"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.PrincipalArn)
	e, ok := f.entries[key]
	if !ok {
		return nil, notFound("access entry " + key)
	}
	cp := *e
	return &awseks.DescribeAccessEntryOutput{AccessEntry: &cp}, nil
}

func (f *fakeEKS) CreateAccessEntry(_ context.Context, in *awseks.CreateAccessEntryInput, _ ...func(*awseks.Options)) (*awseks.CreateAccessEntryOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.createEntry = append(f.createEntry, in)
	if err := f.call("CreateAccessEntry"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.PrincipalArn)
	if _, ok := f.entries[key]; ok {
		return nil, inUse("access entry " + key)
	}
	f.entries[key] = &ekstypes.AccessEntry{
		PrincipalArn: in.PrincipalArn, Type: in.Type, Username: in.Username, KubernetesGroups: in.KubernetesGroups, Tags: in.Tags,
	}
	return &awseks.CreateAccessEntryOutput{}, nil
}

func (f *fakeEKS) ListAssociatedAccessPolicies(_ context.Context, in *awseks.ListAssociatedAccessPoliciesInput, _ ...func(*awseks.Options)) (*awseks.ListAssociatedAccessPoliciesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListAssociatedAccessPolicies"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.PrincipalArn)
	return &awseks.ListAssociatedAccessPoliciesOutput{AssociatedAccessPolicies: f.policies[key]}, nil
}

func (f *fakeEKS) AssociateAccessPolicy(_ context.Context, in *awseks.AssociateAccessPolicyInput, _ ...func(*awseks.Options)) (*awseks.AssociateAccessPolicyOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.associate = append(f.associate, in)
	if err := f.call("AssociateAccessPolicy"); err != nil {
		return nil, err
	}
	key := aws.ToString(in.ClusterName) + "/" + aws.ToString(in.PrincipalArn)
	f.policies[key] = append(f.policies[key], ekstypes.AssociatedAccessPolicy{PolicyArn: in.PolicyArn, AccessScope: in.AccessScope})
	return &awseks.AssociateAccessPolicyOutput{}, nil
}

func (f *fakeEKS) ListPodIdentityAssociations(_ context.Context, in *awseks.ListPodIdentityAssociationsInput, _ ...func(*awseks.Options)) (*awseks.ListPodIdentityAssociationsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("ListPodIdentityAssociations"); err != nil {
		return nil, err
	}
	out := &awseks.ListPodIdentityAssociationsOutput{}
	for _, a := range f.pods {
		if aws.ToString(a.ClusterName) != aws.ToString(in.ClusterName) ||
			(in.Namespace != nil && aws.ToString(a.Namespace) != aws.ToString(in.Namespace)) ||
			(in.ServiceAccount != nil && aws.ToString(a.ServiceAccount) != aws.ToString(in.ServiceAccount)) {
			continue
		}
		out.Associations = append(out.Associations, ekstypes.PodIdentityAssociationSummary{
			AssociationId: a.AssociationId, ClusterName: a.ClusterName, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount, OwnerArn: a.OwnerArn,
		})
	}
	sort.Slice(out.Associations, func(i, j int) bool {
		return aws.ToString(out.Associations[i].AssociationId) < aws.ToString(out.Associations[j].AssociationId)
	})
	return out, nil
}

func (f *fakeEKS) DescribePodIdentityAssociation(_ context.Context, in *awseks.DescribePodIdentityAssociationInput, _ ...func(*awseks.Options)) (*awseks.DescribePodIdentityAssociationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DescribePodIdentityAssociation"); err != nil {
		return nil, err
	}
	a, ok := f.pods[aws.ToString(in.AssociationId)]
	if !ok || aws.ToString(a.ClusterName) != aws.ToString(in.ClusterName) {
		return nil, notFound("Pod Identity association " + aws.ToString(in.AssociationId))
	}
	cp := *a
	return &awseks.DescribePodIdentityAssociationOutput{Association: &cp}, nil
}

func (f *fakeEKS) CreatePodIdentityAssociation(_ context.Context, in *awseks.CreatePodIdentityAssociationInput, _ ...func(*awseks.Options)) (*awseks.CreatePodIdentityAssociationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("CreatePodIdentityAssociation"); err != nil {
		return nil, err
	}
	for _, a := range f.pods {
		if aws.ToString(a.ClusterName) == aws.ToString(in.ClusterName) && aws.ToString(a.Namespace) == aws.ToString(in.Namespace) &&
			aws.ToString(a.ServiceAccount) == aws.ToString(in.ServiceAccount) {
			return nil, inUse("Pod Identity association " + aws.ToString(a.AssociationId))
		}
	}
	if f.pods == nil {
		f.pods = map[string]*ekstypes.PodIdentityAssociation{}
	}
	id := fmt.Sprintf("a-%017d", len(f.pods)+1)
	a := &ekstypes.PodIdentityAssociation{AssociationId: aws.String(id), ClusterName: in.ClusterName, Namespace: in.Namespace,
		ServiceAccount: in.ServiceAccount, RoleArn: in.RoleArn, Tags: maps.Clone(in.Tags)}
	f.pods[id] = a
	cp := *a
	return &awseks.CreatePodIdentityAssociationOutput{Association: &cp}, nil
}

func (f *fakeEKS) DeletePodIdentityAssociation(_ context.Context, in *awseks.DeletePodIdentityAssociationInput, _ ...func(*awseks.Options)) (*awseks.DeletePodIdentityAssociationOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("DeletePodIdentityAssociation"); err != nil {
		return nil, err
	}
	a, ok := f.pods[aws.ToString(in.AssociationId)]
	if !ok || aws.ToString(a.ClusterName) != aws.ToString(in.ClusterName) {
		return nil, notFound("Pod Identity association " + aws.ToString(in.AssociationId))
	}
	delete(f.pods, aws.ToString(in.AssociationId))
	return &awseks.DeletePodIdentityAssociationOutput{Association: a}, nil
}

func (f *fakeEKS) ListInsights(_ context.Context, in *awseks.ListInsightsInput, _ ...func(*awseks.Options)) (*awseks.ListInsightsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listInsightsIn = append(f.listInsightsIn, in)
	if err := f.call("ListInsights"); err != nil {
		return nil, err
	}
	var out []ekstypes.InsightSummary
	for i := len(f.insights) - 1; i >= 0; i-- { // reversed: the code must sort
		in := f.insights[i]
		out = append(out, ekstypes.InsightSummary{Id: in.Id, Name: in.Name, InsightStatus: in.InsightStatus, KubernetesVersion: in.KubernetesVersion})
	}
	return &awseks.ListInsightsOutput{Insights: out}, nil
}

func (f *fakeEKS) DescribeInsight(_ context.Context, in *awseks.DescribeInsightInput, _ ...func(*awseks.Options)) (*awseks.DescribeInsightOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.describeInsight = append(f.describeInsight, aws.ToString(in.Id))
	if err := f.call("DescribeInsight"); err != nil {
		return nil, err
	}
	for _, i := range f.insights {
		if aws.ToString(i.Id) == aws.ToString(in.Id) {
			cp := i
			return &awseks.DescribeInsightOutput{Insight: &cp}, nil
		}
	}
	return nil, notFound("insight " + aws.ToString(in.Id))
}

// fakeSSM serves parameters and records the names asked for.
type fakeSSM struct {
	mu     sync.Mutex
	params map[string]string
	asked  []string
}

func (s *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := aws.ToString(in.Name)
	s.asked = append(s.asked, name)
	v, ok := s.params[name]
	if !ok {
		return nil, &ssmtypes.ParameterNotFound{Message: aws.String(name)}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Name: in.Name, Value: aws.String(v)}}, nil
}

// fakeClients hands out the fakes for any region.
type fakeClients struct {
	eks EKSAPI
	ssm SSMAPI
	iam IAMAPI
}

func (c fakeClients) EKS(context.Context, string) (EKSAPI, error) { return c.eks, nil }
func (c fakeClients) SSM(context.Context, string) (SSMAPI, error) { return c.ssm, nil }
func (c fakeClients) IAM(context.Context, string) (IAMAPI, error) { return c.iam, nil }

// fakeWeights returns the errors of burst one per call first, then a
// fixed weight or error.
type fakeWeights struct {
	weight int
	err    error
	burst  []error
	asked  []TrafficGuard
}

func (w *fakeWeights) ClusterWeight(_ context.Context, g TrafficGuard) (int, error) {
	w.asked = append(w.asked, g)
	if len(w.burst) > 0 {
		err := w.burst[0]
		w.burst = w.burst[1:]
		return 0, err
	}
	return w.weight, w.err
}

// activityEnv runs activities of a in a Temporal test activity environment
// and collects the heartbeats that reach the server side.
type activityEnv struct {
	*testsuite.TestActivityEnvironment
	mu         sync.Mutex
	heartbeats []Progress
}

func newActivityEnv(t *testing.T, a *Activities) *activityEnv {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	e := &activityEnv{TestActivityEnvironment: s.NewTestActivityEnvironment()}
	e.RegisterActivity(a)
	e.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) {
		var p Progress
		if d.HasValues() && d.Get(&p) == nil {
			e.mu.Lock()
			e.heartbeats = append(e.heartbeats, p)
			e.mu.Unlock()
		}
	})
	e.SetTestTimeout(30 * time.Second)
	return e
}

func (e *activityEnv) beats() []Progress {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Progress(nil), e.heartbeats...)
}

// run executes fn(in) and decodes the result into out.
func run[T any](t *testing.T, e *activityEnv, fn any, in any) (T, error) {
	t.Helper()
	var out T
	v, err := e.ExecuteActivity(fn, in)
	if err != nil {
		return out, err
	}
	if err := v.Get(&out); err != nil {
		t.Fatalf("decode result: %v", err)
	}
	return out, nil
}

// newFakeActivities builds Activities over fakes with a 1ms poll interval.
func newFakeActivities(f *fakeEKS, s *fakeSSM, w WeightReader, opts ...Option) *Activities {
	if s == nil {
		s = &fakeSSM{params: map[string]string{}}
	}
	return New(fakeClients{eks: f, ssm: s}, w, append([]Option{WithPollInterval(time.Millisecond)}, opts...)...)
}

// wantErrType fails unless err carries the typed error typ, and checks its
// retryability.
func wantErrType(t *testing.T, err error, typ string, nonRetryable bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", typ)
	}
	if got := failures.TypeOf(err); got != typ {
		t.Fatalf("want error type %s, got %q: %v", typ, got, err)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		t.Fatalf("not an ApplicationError: %v", err)
	}
	if appErr.NonRetryable() != nonRetryable {
		t.Fatalf("error %v: non-retryable = %v, want %v", err, appErr.NonRetryable(), nonRetryable)
	}
}
