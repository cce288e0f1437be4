package fakeworld

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/temporal"
)

// In-place updates move blue itself: the control plane one minor at a
// time (never more, never while a node group is behind by more than the
// skew EKS allows), node groups up to the control plane, add-ons to a
// version named after the minor. NodegroupEvictionBlocked makes a node
// group's update fail as EKS does when a PodDisruptionBudget blocks it.
var (
	inPlaceMu      sync.Mutex
	evictionBlocks = map[*World]map[string]string{}
	updateSeq      = map[*World]int{}
)

// BlockNodegroupEviction makes the node group's update fail with
// PodEvictionFailure naming the budget (namespace/name).
func (w *World) BlockNodegroupEviction(nodegroup, budget string) {
	inPlaceMu.Lock()
	defer inPlaceMu.Unlock()
	if evictionBlocks[w] == nil {
		evictionBlocks[w] = map[string]string{}
	}
	evictionBlocks[w][nodegroup] = budget
}

// evictionBlock is the budget BlockNodegroupEviction named for nodegroup.
func (w *World) evictionBlock(nodegroup string) string {
	inPlaceMu.Lock()
	defer inPlaceMu.Unlock()
	return evictionBlocks[w][nodegroup]
}

func (w *World) nextUpdateID() string {
	inPlaceMu.Lock()
	defer inPlaceMu.Unlock()
	updateSeq[w]++
	return fmt.Sprintf("00000000-0000-0000-0000-%012d", updateSeq[w])
}

// UpdateClusterVersion implements the EKS activity.
func (a *Activities) UpdateClusterVersion(_ context.Context, in eks.UpdateClusterVersionInput) (eks.UpdateResult, error) {
	w := a.w
	if err := w.record("UpdateClusterVersion", in); err != nil {
		return eks.UpdateResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	from := w.Blue.Version
	if from == in.Version {
		return eks.UpdateResult{Subject: "control-plane", From: from, To: from, Reason: "already at " + from}, nil
	}
	cur, _ := spec.MinorVersion(from)
	to, ok := spec.MinorVersion(in.Version)
	if !ok || to != cur+1 {
		return eks.UpdateResult{}, failures.New(failures.InvalidParameter, "UpdateClusterVersion: %s is not the next minor after %s", in.Version, from)
	}
	for _, ng := range w.Blue.NodeGroups {
		if ng.Version != from {
			return eks.UpdateResult{}, failures.New(failures.InvalidParameter, "UpdateClusterVersion: node group %s is at %s, behind the control plane's %s", ng.Name, ng.Version, from)
		}
	}
	w.Blue.Version = in.Version
	return eks.UpdateResult{Subject: "control-plane", From: from, To: in.Version, UpdateID: w.nextUpdateID()}, nil
}

// UpdateAddonToCompatible implements the EKS activity.
func (a *Activities) UpdateAddonToCompatible(_ context.Context, in eks.UpdateAddonInput) (eks.UpdateResult, error) {
	w := a.w
	if err := w.record("UpdateAddonToCompatible", in); err != nil {
		return eks.UpdateResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, ad := range w.Blue.Addons {
		if ad.Name != in.Addon {
			continue
		}
		want := fmt.Sprintf("v-for-%s-eksbuild.1", in.KubernetesVersion)
		if ad.Version == want {
			return eks.UpdateResult{Subject: in.Addon, From: want, To: want, Reason: "already at the newest compatible version"}, nil
		}
		w.Blue.Addons[i].Version = want
		return eks.UpdateResult{Subject: in.Addon, From: ad.Version, To: want, UpdateID: w.nextUpdateID()}, nil
	}
	return eks.UpdateResult{}, failures.New(failures.NotFound, "add-on %s is not installed on %s", in.Addon, in.Cluster.Name)
}

// UpdateNodegroup implements the EKS activity.
func (a *Activities) UpdateNodegroup(_ context.Context, in eks.UpdateNodegroupInput) (eks.UpdateResult, error) {
	w := a.w
	if err := w.record("UpdateNodegroup", in); err != nil {
		return eks.UpdateResult{}, err
	}
	budget := w.evictionBlock(in.Nodegroup)
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, ng := range w.Blue.NodeGroups {
		if ng.Name != in.Nodegroup {
			continue
		}
		version := in.Version
		if version == "" {
			version = w.Blue.Version // a launch template version: the nodes join at the cluster's
		}
		if ng.Version == version && (in.LaunchTemplate == nil || (ng.LaunchTemplate != nil && ng.LaunchTemplate.Version == in.LaunchTemplate.Version)) {
			return eks.UpdateResult{Subject: ng.Name, From: ng.Version, To: ng.Version, Reason: "already at " + ng.Version}, nil
		}
		if budget != "" && !in.Force {
			return eks.UpdateResult{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("node group %s update failed: PodEvictionFailure: reached max retries while trying to evict pods from nodes; PodDisruptionBudget %s", ng.Name, budget),
				eks.PodEvictionBlocked, nil,
				[]eks.UpdateIssue{{Code: "PodEvictionFailure", Message: "Reached max retries while trying to evict pods from nodes in node group " + ng.Name, ResourceIDs: []string{budget}}})
		}
		from := ng.Version
		w.Blue.NodeGroups[i].Version = version
		if in.LaunchTemplate != nil {
			lt := *in.LaunchTemplate
			w.Blue.NodeGroups[i].LaunchTemplate = &lt
		}
		return eks.UpdateResult{Subject: ng.Name, From: from, To: version, UpdateID: w.nextUpdateID()}, nil
	}
	return eks.UpdateResult{}, failures.New(failures.NotFound, "node group %s does not exist in %s", in.Nodegroup, in.Cluster.Name)
}

// BlockingPDBs implements the kube activity: the budget BlockNodegroupEviction
// named for the node group, at 0 disruptions allowed, with one pod.
func (a *Activities) BlockingPDBs(_ context.Context, in kube.BlockingPDBsInput) (kube.BlockingPDBsResult, error) {
	w := a.w
	if err := w.record("BlockingPDBs", in); err != nil {
		return kube.BlockingPDBsResult{}, err
	}
	budget := w.evictionBlock(in.Nodegroup)
	res := kube.BlockingPDBsResult{Nodes: 2, Blocking: []kube.BlockingPDB{}}
	if ns, name, ok := strings.Cut(budget, "/"); ok {
		res.Blocking = append(res.Blocking, kube.BlockingPDB{Namespace: ns, Name: name, Pods: []string{ns + "/" + name + "-pod-0"}, CurrentHealthy: 1, DesiredHealthy: 1, ExpectedPods: 1})
	}
	return res, nil
}

// PrepareInPlaceLaunchTemplate implements the EKS activity: a node group
// on a launch template gets the next version of it when the world's
// PinnedLaunchTemplates says its templates pin an AMI, else none (EKS
// picks the AMI for the version).
func (a *Activities) PrepareInPlaceLaunchTemplate(_ context.Context, in eks.InPlaceLaunchTemplateInput) (eks.InPlaceLaunchTemplateResult, error) {
	w := a.w
	if err := w.record("PrepareInPlaceLaunchTemplate", in); err != nil {
		return eks.InPlaceLaunchTemplateResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ng := range w.Blue.NodeGroups {
		if ng.Name != in.Nodegroup {
			continue
		}
		if ng.LaunchTemplate == nil {
			return eks.InPlaceLaunchTemplateResult{Reason: "the node group has no launch template"}, nil
		}
		prev := *ng.LaunchTemplate
		if !w.PinnedLaunchTemplates {
			return eks.InPlaceLaunchTemplateResult{Previous: &prev, Reason: "the template version pins no AMI"}, nil
		}
		n, _ := strconv.Atoi(prev.Version)
		next := prev
		next.Version = strconv.Itoa(n + 1)
		return eks.InPlaceLaunchTemplateResult{LaunchTemplate: &next, Previous: &prev, Created: true, AMI: "ami-for-" + in.Version,
			Reason: "the template pins an AMI: a version with the AMI for Kubernetes " + in.Version}, nil
	}
	return eks.InPlaceLaunchTemplateResult{}, failures.New(failures.NotFound, "node group %s does not exist in %s", in.Nodegroup, in.Cluster.Name)
}

// CheckSubnetCapacity implements the EKS activity: every subnet has room,
// unless SubnetsFull names it (then it has 2 free addresses).
func (a *Activities) CheckSubnetCapacity(_ context.Context, in eks.SubnetCapacityInput) (eks.SubnetCapacityResult, error) {
	w := a.w
	if err := w.record("CheckSubnetCapacity", in); err != nil {
		return eks.SubnetCapacityResult{}, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	res := eks.SubnetCapacityResult{Free: map[string]int32{}}
	for _, s := range in.ControlPlaneSubnets {
		res.Free[s] = 4000
		if w.SubnetsFull[s] {
			res.Free[s] = 2
			res.Findings = append(res.Findings, finding.Finding{Check: eks.CheckSubnetControlPlaneIPs, Cluster: in.Cluster.Name, Object: "subnet/" + s, Severity: finding.Error, Source: "ec2",
				Message: fmt.Sprintf("control-plane subnet %s has 2 free IP addresses; EKS needs at least %d", s, eks.ControlPlaneFreeIPs), Fix: "free addresses in " + s})
		}
	}
	return res, nil
}
