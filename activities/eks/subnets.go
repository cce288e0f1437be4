package eks

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/finding"
)

// Preflight checks of the subnets' free IP addresses (eksup's EKS002 and
// AWS002).
const (
	// CheckSubnetControlPlaneIPs: a control-plane subnet with fewer than
	// ControlPlaneFreeIPs free addresses; EKS needs them for the control
	// plane's network interfaces, and an update or a new cluster fails
	// without them.
	CheckSubnetControlPlaneIPs = "subnet-control-plane-ips"
	// CheckSubnetNodeIPs: the node groups' subnets have fewer free
	// addresses than the nodes that are to be started need.
	CheckSubnetNodeIPs = "subnet-node-ips"
	// CheckSubnetMissing: a subnet the cluster or a node group names does
	// not exist.
	CheckSubnetMissing = "subnet-missing"

	// ControlPlaneFreeIPs is EKS's documented minimum per control-plane
	// subnet.
	ControlPlaneFreeIPs = 5
	// IPsPerNode is what one new node takes from its subnet with the VPC
	// CNI's defaults: the primary address and a warm network interface's
	// worth of pod addresses (10 on the m5/m6i.large ENI; larger types
	// take more, prefix delegation fewer).
	IPsPerNode = 10
)

// SubnetCapacityInput names the subnets to check and the nodes that will
// be started in them.
type SubnetCapacityInput struct {
	// Cluster names the findings (and the region of the subnets).
	Cluster clusters.Ref `json:"cluster"`
	// ControlPlaneSubnets are the control plane's subnets.
	ControlPlaneSubnets []string `json:"controlPlaneSubnets"`
	// NodeGroups are the node groups whose nodes will start: green's whole
	// node groups for blue/green, the surge of a rolling update in place.
	NodeGroups []SubnetDemand `json:"nodeGroups,omitempty"`
	// Why says what the nodes are for, in the finding ("green's node
	// groups", "the in-place rolling update").
	Why string `json:"why,omitempty"`
}

// SubnetDemand is how many new nodes a node group will start, in which subnets.
type SubnetDemand struct {
	Nodegroup string   `json:"nodegroup"`
	Subnets   []string `json:"subnets"`
	Nodes     int32    `json:"nodes"`
}

// SubnetCapacityResult is each subnet's free addresses and the findings.
type SubnetCapacityResult struct {
	// Free is the free addresses per subnet ID (AvailableIpAddressCount).
	Free     map[string]int32  `json:"free"`
	Findings []finding.Finding `json:"findings,omitempty"`
}

// CheckSubnetCapacity reads the subnets (EC2 DescribeSubnets) and reports
// a control-plane subnet with fewer than ControlPlaneFreeIPs free
// addresses and node groups whose subnets cannot hold their new nodes at
// IPsPerNode each (a subnet shared by several node groups counted once
// for all of them), as error findings with the numbers and the fix. A
// subnet that does not exist is an error finding too. It changes nothing.
func (a *Activities) CheckSubnetCapacity(ctx context.Context, in SubnetCapacityInput) (SubnetCapacityResult, error) {
	res := SubnetCapacityResult{Free: map[string]int32{}}
	ids := map[string]bool{}
	for _, s := range in.ControlPlaneSubnets {
		ids[s] = true
	}
	for _, ng := range in.NodeGroups {
		for _, s := range ng.Subnets {
			ids[s] = true
		}
	}
	if len(ids) == 0 {
		return res, nil
	}
	api, ok, err := a.ec2Client(ctx, in.Cluster.Region)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, failedf("check the subnets of %s: no EC2 client", in.Cluster)
	}
	want := make([]string, 0, len(ids))
	for id := range ids {
		want = append(want, id)
	}
	sort.Strings(want)
	// One subnet at a time would be slow; one call with all of them fails
	// entirely when one is missing, so a NotFound is retried per subnet.
	var token *string
	for {
		out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: want, NextToken: token})
		if isEC2NotFound(err) {
			return a.subnetsOneByOne(ctx, api, in, want)
		}
		if err != nil {
			return res, ec2Error(err, "describe the subnets of %s", in.Cluster)
		}
		for _, s := range out.Subnets {
			res.Free[aws.ToString(s.SubnetId)] = aws.ToInt32(s.AvailableIpAddressCount)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		token = out.NextToken
	}
	res.Findings = subnetFindings(in, res.Free)
	return res, nil
}

func (a *Activities) subnetsOneByOne(ctx context.Context, api EC2API, in SubnetCapacityInput, ids []string) (SubnetCapacityResult, error) {
	res := SubnetCapacityResult{Free: map[string]int32{}}
	for _, id := range ids {
		out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
		if isEC2NotFound(err) {
			continue
		}
		if err != nil {
			return res, ec2Error(err, "describe subnet %s of %s", id, in.Cluster)
		}
		for _, s := range out.Subnets {
			res.Free[aws.ToString(s.SubnetId)] = aws.ToInt32(s.AvailableIpAddressCount)
		}
	}
	res.Findings = subnetFindings(in, res.Free)
	return res, nil
}

// subnetFindings is the pure part of CheckSubnetCapacity.
func subnetFindings(in SubnetCapacityInput, free map[string]int32) []finding.Finding {
	var out []finding.Finding
	missing := map[string]bool{}
	f := func(check, object, msg, fix string) {
		out = append(out, finding.Finding{Check: check, Cluster: in.Cluster.Name, Object: object, Severity: finding.Error, Source: "ec2", Message: msg, Fix: fix})
	}
	for _, s := range in.ControlPlaneSubnets {
		n, ok := free[s]
		switch {
		case !ok:
			missing[s] = true
			f(CheckSubnetMissing, "subnet/"+s, fmt.Sprintf("control-plane subnet %s does not exist", s), "point the cluster at subnets that exist")
		case n < ControlPlaneFreeIPs:
			f(CheckSubnetControlPlaneIPs, "subnet/"+s, fmt.Sprintf("control-plane subnet %s has %d free IP addresses; EKS needs at least %d for the control plane's network interfaces", s, n, ControlPlaneFreeIPs),
				fmt.Sprintf("free addresses in %s (delete unused network interfaces) or add a larger subnet to the cluster's VPC config", s))
		}
	}
	// The node groups' demand, spread over their subnets: a set of
	// subnets shared by groups is counted once for all of them.
	type pool struct {
		subnets []string
		groups  []string
		nodes   int32
	}
	pools := map[string]*pool{}
	var keys []string
	for _, ng := range in.NodeGroups {
		if ng.Nodes <= 0 {
			continue
		}
		subnets := append([]string(nil), ng.Subnets...)
		sort.Strings(subnets)
		k := strings.Join(subnets, ",")
		p := pools[k]
		if p == nil {
			p = &pool{subnets: subnets}
			pools[k] = p
			keys = append(keys, k)
		}
		p.groups = append(p.groups, ng.Nodegroup)
		p.nodes += ng.Nodes
	}
	why := in.Why
	if why == "" {
		why = "the new nodes"
	}
	for _, k := range keys {
		p := pools[k]
		var total int32
		for _, s := range p.subnets {
			n, ok := free[s]
			if !ok {
				if !missing[s] {
					missing[s] = true
					f(CheckSubnetMissing, "subnet/"+s, fmt.Sprintf("subnet %s of node group %s does not exist", s, strings.Join(p.groups, ", ")), "point the node group at subnets that exist")
				}
				continue
			}
			total += n
		}
		need := p.nodes * IPsPerNode
		if total < need {
			f(CheckSubnetNodeIPs, "nodegroup/"+strings.Join(p.groups, ","), fmt.Sprintf("subnets %s have %d free IP addresses; %s start %d nodes there, which take about %d (%d each with the VPC CNI's defaults)",
				strings.Join(p.subnets, ", "), total, why, p.nodes, need, IPsPerNode),
				"free addresses in those subnets, add subnets to the node groups, or enable the VPC CNI's prefix delegation")
		}
	}
	return out
}
