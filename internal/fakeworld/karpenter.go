package fakeworld

import (
	"context"
	"slices"
	"sort"
	"sync"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
)

// The Karpenter activities of the fake world. Blue runs no Karpenter
// unless a test calls UseKarpenter: then blue's subnets and security groups
// (its VPC config and node groups' subnets) carry the discovery tag with
// blue's name, and blue's restored EC2NodeClass "default" and NodePool
// "default" are on green. Tagging, untagging and retagging change the
// world's tags; retargeting the node class happens once.

// karpenterWorld is the Karpenter state of one World.
type karpenterWorld struct {
	tags map[string]string // resource ID -> karpenter.sh/discovery value
	// retargeted: cluster -> the EC2NodeClass was given To already.
	retargeted map[string]bool
}

var (
	karpenterMu     sync.Mutex
	karpenterWorlds = map[*World]*karpenterWorld{}
)

// UseKarpenter makes blue a Karpenter cluster (see above).
func (w *World) UseKarpenter() {
	karpenterMu.Lock()
	defer karpenterMu.Unlock()
	k := &karpenterWorld{tags: map[string]string{}, retargeted: map[string]bool{}}
	w.mu.Lock()
	ids := append(slices.Clone(w.Blue.VPC.SubnetIDs), w.Blue.VPC.SecurityGroupIDs...)
	for _, ng := range w.Blue.NodeGroups {
		ids = append(ids, ng.SubnetIDs...)
	}
	for _, id := range ids {
		k.tags[id] = w.Blue.Name
	}
	w.mu.Unlock()
	karpenterWorlds[w] = k
}

// KarpenterTags returns the discovery value of every tagged subnet and
// security group (nil when blue runs no Karpenter).
func (w *World) KarpenterTags() map[string]string {
	karpenterMu.Lock()
	defer karpenterMu.Unlock()
	k := karpenterWorlds[w]
	if k == nil {
		return nil
	}
	out := map[string]string{}
	for id, v := range k.tags {
		out[id] = v
	}
	return out
}

// EnsureKarpenterDiscovery implements the EKS activity: green's untagged
// resources get green's name; those with blue's value are shared.
func (a *Activities) EnsureKarpenterDiscovery(_ context.Context, in eks.KarpenterDiscoveryInput) (eks.KarpenterDiscoveryResult, error) {
	if err := a.w.record("EnsureKarpenterDiscovery", in); err != nil {
		return eks.KarpenterDiscoveryResult{}, err
	}
	karpenterMu.Lock()
	defer karpenterMu.Unlock()
	k := karpenterWorlds[a.w]
	var res eks.KarpenterDiscoveryResult
	if k == nil {
		return res, nil
	}
	res.BlueValue = in.Blue.Name
	var seen []string
	for _, r := range append(resources(in.SubnetIDs, eks.KindSubnet), resources(in.SecurityGroupIDs, eks.KindSecurityGroup)...) {
		if slices.Contains(seen, r.ID) {
			continue
		}
		seen = append(seen, r.ID)
		switch v := k.tags[r.ID]; v {
		case "", in.Green.Name:
			k.tags[r.ID] = in.Green.Name
			r.Value = in.Green.Name
			res.Tagged = append(res.Tagged, r)
		case res.BlueValue:
			r.Value = v
			res.Shared = append(res.Shared, r)
		default:
			r.Value = v
			res.Foreign = append(res.Foreign, r)
		}
	}
	return res, nil
}

func resources(ids []string, kind string) []eks.TaggedResource {
	var out []eks.TaggedResource
	for _, id := range ids {
		out = append(out, eks.TaggedResource{ID: id, Kind: kind})
	}
	return out
}

// RemoveKarpenterDiscovery implements the EKS activity: the tags that
// still carry the value are removed.
func (a *Activities) RemoveKarpenterDiscovery(_ context.Context, in eks.RemoveKarpenterDiscoveryInput) (eks.RemoveKarpenterDiscoveryResult, error) {
	if err := a.w.record("RemoveKarpenterDiscovery", in); err != nil {
		return eks.RemoveKarpenterDiscoveryResult{}, err
	}
	karpenterMu.Lock()
	defer karpenterMu.Unlock()
	k := karpenterWorlds[a.w]
	var res eks.RemoveKarpenterDiscoveryResult
	for _, r := range in.Resources {
		v := ""
		if k != nil {
			v = k.tags[r.ID]
		}
		switch v {
		case "":
			res.Gone = append(res.Gone, r.ID)
		case in.Value:
			delete(k.tags, r.ID)
			res.Removed = append(res.Removed, r.ID)
		default:
			res.Kept = append(res.Kept, r.ID)
		}
	}
	return res, nil
}

// RetagKarpenterDiscovery implements the EKS activity: the tags that carry
// From get To.
func (a *Activities) RetagKarpenterDiscovery(_ context.Context, in eks.RetagKarpenterDiscoveryInput) (eks.RetagKarpenterDiscoveryResult, error) {
	if err := a.w.record("RetagKarpenterDiscovery", in); err != nil {
		return eks.RetagKarpenterDiscoveryResult{}, err
	}
	karpenterMu.Lock()
	defer karpenterMu.Unlock()
	k := karpenterWorlds[a.w]
	var res eks.RetagKarpenterDiscoveryResult
	for _, r := range in.Resources {
		v := ""
		if k != nil {
			v = k.tags[r.ID]
		}
		switch v {
		case in.From:
			k.tags[r.ID] = in.To
			res.Retagged = append(res.Retagged, r.ID)
		case in.To:
			res.Retagged = append(res.Retagged, r.ID)
		default:
			res.Skipped = append(res.Skipped, r.ID)
		}
	}
	sort.Strings(res.Retagged)
	return res, nil
}

// RetargetKarpenterNodeClasses implements the Kubernetes activity: with
// Karpenter, green's restored EC2NodeClass "default" gets To once.
func (a *Activities) RetargetKarpenterNodeClasses(_ context.Context, in kube.KarpenterNodeClassesInput) (kube.KarpenterNodeClassesResult, error) {
	if err := a.w.record("RetargetKarpenterNodeClasses", in); err != nil {
		return kube.KarpenterNodeClassesResult{}, err
	}
	karpenterMu.Lock()
	defer karpenterMu.Unlock()
	k := karpenterWorlds[a.w]
	if k == nil {
		return kube.KarpenterNodeClassesResult{}, nil
	}
	res := kube.KarpenterNodeClassesResult{Installed: true, NodePools: 1}
	if k.retargeted[in.Cluster.Name] {
		res.Unchanged = []string{"default"}
	} else {
		k.retargeted[in.Cluster.Name] = true
		res.Updated = []string{"default"}
	}
	return res, nil
}
