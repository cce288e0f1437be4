package eks

// Karpenter discovery tags: Karpenter's EC2NodeClasses select the subnets
// and security groups of a cluster by the tag karpenter.sh/discovery, whose
// value is the cluster's name. A tag key has one value per resource, so the
// subnets and security groups blue and green share keep blue's value until
// blue is retired (RetagKarpenterDiscovery then moves them to green's);
// those only green uses get green's.

import (
	"context"
	"slices"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// KarpenterDiscoveryKey is the tag Karpenter's EC2NodeClasses select
// subnets and security groups by.
const KarpenterDiscoveryKey = "karpenter.sh/discovery"

// Kinds of a TaggedResource.
const (
	KindSubnet        = "subnet"
	KindSecurityGroup = "security-group"
)

// TaggedResource is a subnet or security group and its discovery value.
type TaggedResource struct {
	ID string `json:"id"`
	// Kind is "subnet" or "security-group".
	Kind string `json:"kind"`
	// Value is the resource's karpenter.sh/discovery value.
	Value string `json:"value,omitempty"`
}

// KarpenterDiscoveryInput tags green's subnets and security groups for
// Karpenter.
type KarpenterDiscoveryInput struct {
	Blue  clusters.Ref `json:"blue"`
	Green clusters.Ref `json:"green"`
	// SubnetIDs and SecurityGroupIDs are what green uses (its control
	// plane's and node groups'); green's cluster security group is added
	// when EKS reports one.
	SubnetIDs        []string `json:"subnetIds"`
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	// Migration, for the logs.
	Migration string `json:"migration,omitempty"`
}

// KarpenterDiscoveryResult says what carries which discovery value.
type KarpenterDiscoveryResult struct {
	// BlueValue is the discovery value on blue's subnets and security
	// groups; "" when they carry none (then nothing is done).
	BlueValue string `json:"blueValue,omitempty"`
	// Tagged: green's resources that had no discovery tag, now tagged with
	// green's cluster name (or found so tagged on a retry).
	Tagged []TaggedResource `json:"tagged,omitempty"`
	// Shared: resources green uses that carry blue's value; left as they
	// are until blue is retired.
	Shared []TaggedResource `json:"shared,omitempty"`
	// Foreign: resources carrying some other value; left alone.
	Foreign []TaggedResource `json:"foreign,omitempty"`
}

// RemoveKarpenterDiscoveryInput removes the discovery tag Value from
// Resources (the rollback of KarpenterDiscoveryResult.Tagged).
type RemoveKarpenterDiscoveryInput struct {
	// Cluster gives the region.
	Cluster   clusters.Ref     `json:"cluster"`
	Resources []TaggedResource `json:"resources"`
	Value     string           `json:"value"`
}

// RemoveKarpenterDiscoveryResult names the resources by ID.
type RemoveKarpenterDiscoveryResult struct {
	Removed []string `json:"removed,omitempty"`
	// Gone: the resource carries no discovery tag (or no longer exists).
	Gone []string `json:"gone,omitempty"`
	// Kept: the tag now has another value (someone else's): not touched.
	Kept []string `json:"kept,omitempty"`
}

// RetagKarpenterDiscoveryInput moves Resources from discovery value From to
// To (KarpenterDiscoveryResult.Shared, once blue is deleted).
type RetagKarpenterDiscoveryInput struct {
	// Cluster gives the region.
	Cluster   clusters.Ref     `json:"cluster"`
	Resources []TaggedResource `json:"resources"`
	From      string           `json:"from"`
	To        string           `json:"to"`
}

// RetagKarpenterDiscoveryResult names the resources by ID.
type RetagKarpenterDiscoveryResult struct {
	// Retagged: now carrying To (also those a retry finds so).
	Retagged []string `json:"retagged,omitempty"`
	// Skipped: the value is no longer From.
	Skipped []string `json:"skipped,omitempty"`
}

// EnsureKarpenterDiscovery tags the subnets and security groups green uses
// with karpenter.sh/discovery=<green's name> when blue's carry a discovery
// tag (Karpenter is in use): blue's value is read from blue's own subnets,
// security groups and cluster security group. A resource of green's without
// the tag is tagged; one already carrying green's value is Tagged too (a
// retry adopts it); one carrying blue's value is Shared (blue still needs
// it); one with any other value is Foreign. Nothing is untagged or changed.
func (a *Activities) EnsureKarpenterDiscovery(ctx context.Context, in KarpenterDiscoveryInput) (KarpenterDiscoveryResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	var res KarpenterDiscoveryResult
	if in.Blue.Name == "" || in.Green.Name == "" {
		return res, invalidf("Karpenter discovery: blue and green cluster names are required")
	}
	if in.Blue.Name == in.Green.Name {
		return res, invalidf("Karpenter discovery: blue and green are the same cluster %s", in.Blue.Name)
	}
	region := firstNonEmpty(in.Green.Region, in.Blue.Region)
	if in.Blue.Region == "" {
		in.Blue.Region = region
	}
	eksAPI, err := a.eksClient(ctx, in.Blue.Region)
	if err != nil {
		return res, err
	}
	ec2API, err := a.karpenterEC2(ctx, region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)

	blueRes, err := clusterNetwork(ctx, eksAPI, in.Blue)
	if err != nil {
		return res, err
	}
	if err := readDiscovery(ctx, ec2API, blueRes); err != nil {
		return res, err
	}
	res.BlueValue = discoveryValue(blueRes, in.Blue.Name)
	if res.BlueValue == "" {
		log.Info("Blue's subnets and security groups carry no Karpenter discovery tag; nothing to tag", "cluster", in.Blue.Name, "migration", in.Migration)
		return res, nil
	}

	greenAPI := eksAPI
	if in.Green.Region != "" && in.Green.Region != in.Blue.Region {
		if greenAPI, err = a.eksClient(ctx, in.Green.Region); err != nil {
			return res, err
		}
	}
	green := resourcesOf(in.SubnetIDs, in.SecurityGroupIDs)
	out, err := greenAPI.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(in.Green.Name)})
	if err != nil {
		return res, awsError(err, "describe cluster %s for its security group", in.Green)
	}
	if vpc := out.Cluster.ResourcesVpcConfig; vpc != nil && aws.ToString(vpc.ClusterSecurityGroupId) != "" {
		green = addResource(green, TaggedResource{ID: aws.ToString(vpc.ClusterSecurityGroupId), Kind: KindSecurityGroup})
	}
	activitylog.Heartbeat(ctx, Progress{Step: "karpenter-discovery", Cluster: in.Green.Name, Status: "read tags"})
	if err := readDiscovery(ctx, ec2API, green); err != nil {
		return res, err
	}
	var untagged []string
	for _, r := range green {
		switch r.Value {
		case "":
			untagged = append(untagged, r.ID)
			r.Value = in.Green.Name
			res.Tagged = append(res.Tagged, *r)
		case in.Green.Name:
			res.Tagged = append(res.Tagged, *r)
		case res.BlueValue:
			res.Shared = append(res.Shared, *r)
		default:
			res.Foreign = append(res.Foreign, *r)
		}
	}
	if len(untagged) > 0 {
		log.Info("Tagging green's subnets and security groups for Karpenter", "cluster", in.Green.Name, "resources", untagged, "value", in.Green.Name)
		if _, err := ec2API.CreateTags(ctx, &ec2.CreateTagsInput{
			Resources: untagged,
			Tags:      []ec2types.Tag{{Key: aws.String(KarpenterDiscoveryKey), Value: aws.String(in.Green.Name)}},
		}); err != nil {
			return res, ec2Error(err, "tag %v with %s=%s", untagged, KarpenterDiscoveryKey, in.Green.Name)
		}
	}
	for _, r := range res.Foreign {
		log.Warn("A subnet or security group green uses carries another cluster's Karpenter discovery value; left alone", "cluster", in.Green.Name, "id", r.ID, "value", r.Value)
	}
	log.Info("Karpenter discovery for green", "cluster", in.Green.Name, "blue", in.Blue.Name, "blueValue", res.BlueValue, "migration", in.Migration,
		"tagged", len(res.Tagged), "shared", len(res.Shared), "foreign", len(res.Foreign))
	return res, nil
}

// RemoveKarpenterDiscovery removes karpenter.sh/discovery=Value from each
// resource that still carries that value (the rollback of what
// EnsureKarpenterDiscovery tagged). The delete names the value, so a tag
// someone changed meanwhile is never deleted.
func (a *Activities) RemoveKarpenterDiscovery(ctx context.Context, in RemoveKarpenterDiscoveryInput) (RemoveKarpenterDiscoveryResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	var res RemoveKarpenterDiscoveryResult
	if in.Value == "" {
		return res, invalidf("remove Karpenter discovery tags: the value is required")
	}
	if len(in.Resources) == 0 {
		return res, nil
	}
	api, err := a.karpenterEC2(ctx, in.Cluster.Region)
	if err != nil {
		return res, err
	}
	rs := resourcesOfTagged(in.Resources)
	if err := readDiscovery(ctx, api, rs); err != nil {
		return res, err
	}
	log := logger(ctx)
	for _, r := range rs {
		switch r.Value {
		case "":
			res.Gone = append(res.Gone, r.ID)
			continue
		case in.Value:
		default:
			log.Info("The Karpenter discovery tag has another value now; keeping it", "cluster", in.Cluster.Name, "id", r.ID, "value", r.Value)
			res.Kept = append(res.Kept, r.ID)
			continue
		}
		_, err := api.DeleteTags(ctx, &ec2.DeleteTagsInput{
			Resources: []string{r.ID},
			Tags:      []ec2types.Tag{{Key: aws.String(KarpenterDiscoveryKey), Value: aws.String(in.Value)}},
		})
		switch {
		case isEC2NotFound(err):
			res.Gone = append(res.Gone, r.ID)
		case err != nil:
			return res, ec2Error(err, "remove %s=%s from %s", KarpenterDiscoveryKey, in.Value, r.ID)
		default:
			res.Removed = append(res.Removed, r.ID)
		}
		activitylog.Heartbeat(ctx, Progress{Step: "karpenter-discovery", Cluster: in.Cluster.Name, Done: res.Removed})
	}
	log.Info("Removed Karpenter discovery tags", "cluster", in.Cluster.Name, "value", in.Value, "removed", res.Removed, "gone", res.Gone, "kept", res.Kept)
	return res, nil
}

// RetagKarpenterDiscovery moves each resource carrying discovery value From
// to To (the subnets and security groups blue and green shared, once blue
// is deleted). A resource that carries To already counts as Retagged (a
// retry); any other value is Skipped.
func (a *Activities) RetagKarpenterDiscovery(ctx context.Context, in RetagKarpenterDiscoveryInput) (RetagKarpenterDiscoveryResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	var res RetagKarpenterDiscoveryResult
	if in.From == "" || in.To == "" {
		return res, invalidf("retag Karpenter discovery: from and to values are required")
	}
	if len(in.Resources) == 0 {
		return res, nil
	}
	api, err := a.karpenterEC2(ctx, in.Cluster.Region)
	if err != nil {
		return res, err
	}
	rs := resourcesOfTagged(in.Resources)
	if err := readDiscovery(ctx, api, rs); err != nil {
		return res, err
	}
	log := logger(ctx)
	var move []string
	for _, r := range rs {
		switch r.Value {
		case in.To:
			res.Retagged = append(res.Retagged, r.ID)
		case in.From:
			move = append(move, r.ID)
		default:
			log.Info("The Karpenter discovery tag is no longer the one to move; leaving it", "cluster", in.Cluster.Name, "id", r.ID, "value", r.Value, "from", in.From)
			res.Skipped = append(res.Skipped, r.ID)
		}
	}
	if len(move) > 0 {
		log.Info("Moving Karpenter discovery tags", "cluster", in.Cluster.Name, "resources", move, "from", in.From, "to", in.To)
		if _, err := api.CreateTags(ctx, &ec2.CreateTagsInput{
			Resources: move,
			Tags:      []ec2types.Tag{{Key: aws.String(KarpenterDiscoveryKey), Value: aws.String(in.To)}},
		}); err != nil {
			return res, ec2Error(err, "tag %v with %s=%s", move, KarpenterDiscoveryKey, in.To)
		}
		res.Retagged = append(res.Retagged, move...)
		sort.Strings(res.Retagged)
	}
	return res, nil
}

func (a *Activities) karpenterEC2(ctx context.Context, region string) (EC2API, error) {
	if region == "" {
		return nil, invalidf("cluster region is empty")
	}
	api, ok, err := a.ec2Client(ctx, region)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalidf("Karpenter discovery tags: the AWS clients give no EC2 client")
	}
	return api, nil
}

// clusterNetwork returns a cluster's subnets, security groups and cluster
// security group, as EKS reports them.
func clusterNetwork(ctx context.Context, api EKSAPI, ref clusters.Ref) ([]*TaggedResource, error) {
	out, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(ref.Name)})
	if err != nil {
		return nil, awsError(err, "describe cluster %s for its subnets and security groups", ref)
	}
	vpc := out.Cluster.ResourcesVpcConfig
	if vpc == nil {
		return nil, nil
	}
	rs := resourcesOf(vpc.SubnetIds, vpc.SecurityGroupIds)
	if id := aws.ToString(vpc.ClusterSecurityGroupId); id != "" {
		rs = addResource(rs, TaggedResource{ID: id, Kind: KindSecurityGroup})
	}
	return rs, nil
}

func resourcesOf(subnets, groups []string) []*TaggedResource {
	var rs []*TaggedResource
	for _, id := range subnets {
		rs = addResource(rs, TaggedResource{ID: id, Kind: KindSubnet})
	}
	for _, id := range groups {
		rs = addResource(rs, TaggedResource{ID: id, Kind: KindSecurityGroup})
	}
	return rs
}

func resourcesOfTagged(in []TaggedResource) []*TaggedResource {
	var rs []*TaggedResource
	for _, r := range in {
		rs = addResource(rs, TaggedResource{ID: r.ID, Kind: r.Kind})
	}
	return rs
}

// addResource appends r unless its ID is empty or already there.
func addResource(rs []*TaggedResource, r TaggedResource) []*TaggedResource {
	if r.ID == "" || slices.ContainsFunc(rs, func(h *TaggedResource) bool { return h.ID == r.ID }) {
		return rs
	}
	return append(rs, &r)
}

// readDiscovery sets each resource's Value to its karpenter.sh/discovery
// tag ("" without one), read with DescribeTags.
func readDiscovery(ctx context.Context, api EC2API, rs []*TaggedResource) error {
	if len(rs) == 0 {
		return nil
	}
	byID := map[string]*TaggedResource{}
	ids := make([]string, 0, len(rs))
	for _, r := range rs {
		r.Value = ""
		byID[r.ID] = r
		ids = append(ids, r.ID)
	}
	in := &ec2.DescribeTagsInput{Filters: []ec2types.Filter{
		{Name: aws.String("resource-id"), Values: ids},
		{Name: aws.String("key"), Values: []string{KarpenterDiscoveryKey}},
	}}
	for {
		out, err := api.DescribeTags(ctx, in)
		if err != nil {
			return ec2Error(err, "read the %s tags of %v", KarpenterDiscoveryKey, ids)
		}
		for _, t := range out.Tags {
			if r, ok := byID[aws.ToString(t.ResourceId)]; ok && aws.ToString(t.Key) == KarpenterDiscoveryKey {
				r.Value = aws.ToString(t.Value)
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return nil
		}
		in.NextToken = out.NextToken
	}
}

// discoveryValue is the discovery value of a cluster's resources: its own
// name when one carries it (Karpenter's convention), else the value most of
// them carry (the smallest of equally common ones), "" when none has one.
func discoveryValue(rs []*TaggedResource, name string) string {
	count := map[string]int{}
	for _, r := range rs {
		if r.Value != "" {
			count[r.Value]++
		}
	}
	if count[name] > 0 {
		return name
	}
	best := ""
	for v, n := range count {
		if n > count[best] || (n == count[best] && v < best) {
			best = v
		}
	}
	return best
}
