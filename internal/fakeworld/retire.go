package fakeworld

import (
	"context"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
)

// The fake world's blue has one Service of type LoadBalancer, whose NLB
// the fake controller removes at once.
const (
	BlueLBHostname = "k8s-shop-webpubli-fedcba9876.elb.us-east-1.amazonaws.com"
	BlueLBARN      = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/k8s-shop-webpubli-fedcba9876/0123456789abcdef"
)

// RetireLoadBalancers implements the kube activity: blue's Service
// shop/web-public is deleted and its load balancer is gone.
func (a *Activities) RetireLoadBalancers(_ context.Context, in kube.RetireLoadBalancersInput) (kube.RetireLoadBalancersResult, error) {
	if err := a.w.record("RetireLoadBalancers", in); err != nil {
		return kube.RetireLoadBalancersResult{}, err
	}
	return kube.RetireLoadBalancersResult{Verified: true, Retired: []kube.RetiredLoadBalancer{{
		Kind: kube.EntryPointService, Namespace: "shop", Name: "web-public", Hostname: BlueLBHostname, LoadBalancerARN: BlueLBARN,
		Deleted: true, LoadBalancerGone: true,
	}}}, nil
}

// DeleteControlPlaneLogGroup implements the EKS activity: the log group is deleted.
func (a *Activities) DeleteControlPlaneLogGroup(_ context.Context, in eks.DeleteLogGroupInput) (eks.DeleteLogGroupResult, error) {
	if err := a.w.record("DeleteControlPlaneLogGroup", in); err != nil {
		return eks.DeleteLogGroupResult{}, err
	}
	return eks.DeleteLogGroupResult{LogGroup: eks.ControlPlaneLogGroup(in.Cluster.Name), Deleted: true}, nil
}

// The fake world's blue has one PersistentVolume with reclaimPolicy
// Retain, provisioned by the EBS CSI driver.
const (
	BlueRetainedVolumeID = "vol-0b1ue0000000000a1"
	BlueRetainedPV       = "pvc-3f1c2b9e-0d7a-4f7e-9c55-6a1b2c3d4e5f"
	BlueRetainedClaim    = "shop/data-orders-db-0"
)

// RetainedVolumes implements the kube activity: blue's one retained volume.
func (a *Activities) RetainedVolumes(_ context.Context, in kube.RetainedVolumesInput) (kube.RetainedVolumesResult, error) {
	if err := a.w.record("RetainedVolumes", in); err != nil {
		return kube.RetainedVolumesResult{}, err
	}
	return kube.RetainedVolumesResult{Volumes: []kube.RetainedVolume{{VolumeID: BlueRetainedVolumeID, PV: BlueRetainedPV, Claim: BlueRetainedClaim}}}, nil
}

// RetireRetainedVolumes implements the EKS activity: the volumes are
// deleted when in.Delete, kept otherwise.
func (a *Activities) RetireRetainedVolumes(_ context.Context, in eks.RetireVolumesInput) (eks.RetireVolumesResult, error) {
	if err := a.w.record("RetireRetainedVolumes", in); err != nil {
		return eks.RetireVolumesResult{}, err
	}
	var res eks.RetireVolumesResult
	for _, v := range in.Volumes {
		if in.Delete {
			res.Deleted = append(res.Deleted, v)
		} else {
			res.Kept = append(res.Kept, eks.KeptVolume{RetainedVolume: v, Reason: "retire.volumes is keep"})
		}
	}
	return res, nil
}
