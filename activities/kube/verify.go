package kube

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/activities/kube/deprecations"
	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// Check IDs of green verification findings.
const (
	CheckNoNodes             = "green-no-nodes"
	CheckGreenNodeNotReady   = "green-node-not-ready"
	CheckGreenNodeVersion    = "green-node-version"
	CheckGreenControlPlane   = "green-control-plane-version"
	CheckAddonMissing        = "addon-missing"
	CheckAddonNotReady       = "addon-not-ready"
	greenVerifyHeartbeatStep = "verify-green"
)

// VerifyGreen checks green after it is built: the control plane and every
// node's kubelet are at the target minor version, every node is Ready, and
// the core add-ons (CoreDNS, kube-proxy, the VPC CNI; see WithCoreAddons)
// are running. It re-checks until green is ready or WithVerifyWait passes,
// heartbeating, and returns Ready=false with the findings when it is not.
func (a *Activities) VerifyGreen(ctx context.Context, in VerifyGreenInput) (VerifyGreenResult, error) {
	target, err := deprecations.Minor(in.TargetVersion)
	if err != nil {
		return VerifyGreenResult{}, failures.New(failures.Validation, "targetVersion: %v", err)
	}
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return VerifyGreenResult{}, err
	}
	log := a.log(ctx)
	core := a.opts.addons
	if in.CoreFrom != nil {
		if core, err = a.coreAddonsOf(ctx, *in.CoreFrom); err != nil {
			return VerifyGreenResult{}, kubeError(err, "read the core add-ons of %s", in.CoreFrom)
		}
		log.Info("Core add-ons green must run, from blue", "cluster", in.Cluster.Name, "blue", in.CoreFrom.Name, "addons", addonNames(core))
	}
	deadline := a.opts.Now().Add(a.opts.verifyWait)
	for round := 1; ; round++ {
		fs, err := a.verifyGreenOnce(ctx, c, in, target, core)
		if err != nil {
			return VerifyGreenResult{}, kubeError(err, "verify green cluster %s", in.Cluster)
		}
		ready := len(finding.Policy{BlockOn: string(finding.Error)}.Blocking(fs)) == 0
		activitylog.Heartbeat(ctx, Progress{Step: greenVerifyHeartbeatStep, Detail: fmt.Sprintf("round %d: %d findings", round, len(fs))})
		if ready || !a.opts.Now().Add(a.opts.Poll).Before(deadline) {
			log.Info("Green verified", "cluster", in.Cluster.Name, "ready", ready, "findings", len(fs), "rounds", round)
			return VerifyGreenResult{Ready: ready, Findings: fs}, nil
		}
		log.Debug("Green not ready yet", "cluster", in.Cluster.Name, "findings", len(fs), "round", round)
		if err := sleep(ctx, a.opts.Poll); err != nil {
			return VerifyGreenResult{Ready: false, Findings: fs}, err
		}
	}
}

// coreAddonsOf is which of CoreAddonCandidates the cluster runs (exists,
// whatever its health: a degraded one on blue is still one green needs).
func (a *Activities) coreAddonsOf(ctx context.Context, ref clusters.Ref) ([]Addon, error) {
	c, err := a.clients(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out []Addon
	for _, ad := range CoreAddonCandidates {
		var err error
		if ad.Kind == "DaemonSet" {
			_, err = c.Kube.AppsV1().DaemonSets(ad.Namespace).Get(ctx, ad.Name, metav1.GetOptions{})
		} else {
			_, err = c.Kube.AppsV1().Deployments(ad.Namespace).Get(ctx, ad.Name, metav1.GetOptions{})
		}
		switch {
		case err == nil:
			out = append(out, ad)
		case !apierrors.IsNotFound(err):
			return nil, err
		}
	}
	return out, nil
}

func addonNames(as []Addon) []string {
	out := make([]string, len(as))
	for i, ad := range as {
		out[i] = ad.Namespace + "/" + ad.Name
	}
	return out
}

func (a *Activities) verifyGreenOnce(ctx context.Context, c *Clients, in VerifyGreenInput, target int, core []Addon) ([]finding.Finding, error) {
	found := newCollector(in.Cluster.Name, a.opts.maxFindings)
	if v, err := c.Kube.Discovery().ServerVersion(); err == nil {
		if m, err := deprecations.Minor(v.GitVersion); err == nil && m != target {
			found.add(finding.Finding{Check: CheckGreenControlPlane, Severity: finding.Error, Object: "control plane",
				Message: fmt.Sprintf("%s's control plane runs %s, not the target %s", in.Cluster.Name, v.GitVersion, in.TargetVersion),
				Fix:     "Wait for the control-plane update to finish, or upgrade the control plane (rebuild green) at the target version."})
		}
	}
	nodes := 0
	err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]corev1.Node, string, error) {
			l, err := c.Kube.CoreV1().Nodes().List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []corev1.Node) error {
			for i := range items {
				nodes++
				n := &items[i]
				obj := "v1 Node " + n.Name
				if ok, why := nodeReady(n); !ok {
					found.add(finding.Finding{Check: CheckGreenNodeNotReady, Severity: finding.Error, Object: obj,
						Message: fmt.Sprintf("node %s is not Ready: %s", n.Name, why),
						Fix:     "Check the node group's health in the EKS console and the node's kubelet log."})
				}
				kv := n.Status.NodeInfo.KubeletVersion
				if km, err := deprecations.Minor(kv); err != nil || km != target {
					found.add(finding.Finding{Check: CheckGreenNodeVersion, Severity: finding.Error, Object: obj,
						Message: fmt.Sprintf("node %s runs kubelet %q, not the target %s", n.Name, kv, in.TargetVersion),
						Fix:     "Use an AMI / launch template for the target version in green's node groups."})
				}
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	if nodes == 0 {
		found.add(finding.Finding{Check: CheckNoNodes, Severity: finding.Error,
			Message: "green has no nodes",
			Fix:     "Check that green's node groups were created and scaled up."})
	}
	for _, ad := range core {
		if f, bad := addonFinding(ctx, c, ad); bad {
			found.add(f)
		}
	}
	return found.findings(), nil
}

// addonFinding returns a finding when the add-on is missing or not fully available.
func addonFinding(ctx context.Context, c *Clients, ad Addon) (finding.Finding, bool) {
	ref := ad.Namespace + "/" + ad.Name
	var status WorkloadStatus
	var err error
	switch ad.Kind {
	case "DaemonSet":
		var ds *appsv1.DaemonSet
		if ds, err = c.Kube.AppsV1().DaemonSets(ad.Namespace).Get(ctx, ad.Name, metav1.GetOptions{}); err == nil {
			status = DaemonSetStatus(ds)
		}
	default:
		var d *appsv1.Deployment
		if d, err = c.Kube.AppsV1().Deployments(ad.Namespace).Get(ctx, ad.Name, metav1.GetOptions{}); err == nil {
			status = DeploymentStatus(d)
		}
	}
	obj := "apps/v1 " + ad.Kind + " " + ref
	switch {
	case apierrors.IsNotFound(err):
		return finding.Finding{Check: CheckAddonMissing, Severity: finding.Error, Object: obj,
			Message: fmt.Sprintf("core add-on %s %s is not installed on green", ad.Kind, ref),
			Fix:     "Install the EKS add-on (aws eks create-addon) or copy it from blue."}, true
	case err != nil:
		return finding.Finding{Check: CheckAddonNotReady, Severity: finding.Error, Object: obj,
			Message: fmt.Sprintf("could not read core add-on %s %s: %v", ad.Kind, ref, err)}, true
	case !status.Ready || status.Desired == 0:
		msg := status.Message
		if status.Desired == 0 {
			msg += " (nothing scheduled)"
		}
		return finding.Finding{Check: CheckAddonNotReady, Severity: finding.Error, Object: obj,
			Message: "core add-on " + msg,
			Fix:     "Check the add-on's pods (kubectl -n " + ad.Namespace + " describe pods) and its EKS add-on health."}, true
	}
	return finding.Finding{}, false
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
