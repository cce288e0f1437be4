package workflows

import (
	"github.com/cutover-dev/cutover/activities/eks"
	"go.temporal.io/sdk/workflow"
)

// changeSubnetCapacity versions checking, in blue/green preflight, that
// the subnets have the free addresses green's control plane and nodes
// need.
const changeSubnetCapacity = "subnet-capacity"

// checkSubnets asks EC2 for the free addresses of the control plane's
// subnets and of the subnets the nodes to be started go to: green's whole
// node groups for blue/green (nodes), the surge of the rolling update in
// place (surge). Too few is an error finding with the numbers and the fix.
func (m *migration) checkSubnets(ctx workflow.Context, blue eks.ClusterDescription, nodes func(eks.NodeGroup) int32, why string) error {
	in := eks.SubnetCapacityInput{Cluster: m.blue(), ControlPlaneSubnets: blue.VPC.SubnetIDs, Why: why}
	for _, ng := range blue.NodeGroups {
		in.NodeGroups = append(in.NodeGroups, eks.SubnetDemand{Nodegroup: ng.Name, Subnets: ng.SubnetIDs, Nodes: nodes(ng)})
	}
	m.progress("Checking the subnets' free IP addresses")
	res, err := short[eks.SubnetCapacityResult](ctx, readOptions, eksA.CheckSubnetCapacity, in)
	if err != nil {
		return err
	}
	m.addFindings(res.Findings)
	return nil
}

// greenNodes is how many nodes green's copy of a node group starts.
func greenNodes(ng eks.NodeGroup) int32 { return max(ng.Scaling.Desired, ng.Scaling.Min) }

// surgeNodes is how many nodes EKS's rolling update adds to a node group
// at once: the larger of twice its Availability Zones (its subnets, at
// most) and maxUnavailable.
func surgeNodes(maxUnavailable int32) func(eks.NodeGroup) int32 {
	return func(ng eks.NodeGroup) int32 {
		n := max(int32(2*len(ng.SubnetIDs)), maxUnavailable)
		if ng.UpdateConfig != nil {
			n = max(n, ng.UpdateConfig.MaxUnavailable)
		}
		return n
	}
}
