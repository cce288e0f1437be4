package kube

// Karpenter on green: the EC2NodeClasses restored from blue select their
// subnets and security groups by blue's karpenter.sh/discovery value. Green
// needs them to find the subnets and security groups tagged with blue's
// value (those blue and green share, until blue is retired) and those
// tagged with green's, so each discovery term gets a twin with green's
// value beside it (selector terms are ORed).

import (
	"context"
	"fmt"
	"reflect"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
)

// Karpenter's resources (v1, cluster-scoped).
var (
	EC2NodeClasses = schema.GroupVersionResource{Group: "karpenter.k8s.aws", Version: "v1", Resource: "ec2nodeclasses"}
	NodePools      = schema.GroupVersionResource{Group: "karpenter.sh", Version: "v1", Resource: "nodepools"}
)

// KarpenterDiscoveryKey is the tag an EC2NodeClass's selector terms select
// subnets and security groups by.
const KarpenterDiscoveryKey = "karpenter.sh/discovery"

// karpenterSelectorFields are the EC2NodeClass spec fields whose terms
// select by tag.
var karpenterSelectorFields = []string{"subnetSelectorTerms", "securityGroupSelectorTerms"}

// KarpenterNodeClassesInput adds discovery value To beside From in a
// cluster's EC2NodeClasses.
type KarpenterNodeClassesInput struct {
	Cluster clusters.Ref `json:"cluster"`
	// From is blue's discovery value, To green's.
	From string `json:"from"`
	To   string `json:"to"`
}

// KarpenterNodeClassesResult names the EC2NodeClasses.
type KarpenterNodeClassesResult struct {
	// Updated: given terms with To; Unchanged: nothing to add (no term
	// selects From, or each already has its twin).
	Updated   []string `json:"updated,omitempty"`
	Unchanged []string `json:"unchanged,omitempty"`
	// NodePools counts the cluster's NodePools, for the report.
	NodePools int `json:"nodePools"`
	// Installed: the EC2NodeClass CRD exists on the cluster.
	Installed bool `json:"installed"`
}

// RetargetKarpenterNodeClasses gives every EC2NodeClass of the cluster, in
// spec.subnetSelectorTerms and spec.securityGroupSelectorTerms, a twin of
// each term that selects karpenter.sh/discovery=From, with To, right after
// it (unless it is there already), so green's nodes find subnets and
// security groups by blue's value and by green's. Updates that lose an
// optimistic-concurrency race are redone on a fresh read; a second call
// changes nothing. A cluster without the EC2NodeClass CRD is reported
// Installed=false, not an error.
func (a *Activities) RetargetKarpenterNodeClasses(ctx context.Context, in KarpenterNodeClassesInput) (KarpenterNodeClassesResult, error) {
	var res KarpenterNodeClassesResult
	if in.Cluster.Name == "" || in.From == "" || in.To == "" {
		return res, failures.New(failures.Validation, "Karpenter node classes: cluster, from and to are required")
	}
	if in.From == in.To {
		return res, failures.New(failures.Validation, "Karpenter node classes: from and to are the same value %q", in.From)
	}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	log := a.log(ctx)
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return res, err
	}
	names, installed, err := a.listNames(ctx, c, EC2NodeClasses)
	if err != nil {
		return res, kubeError(err, "list EC2NodeClasses on cluster %s", in.Cluster)
	}
	if !installed {
		log.Info("Karpenter's EC2NodeClass CRD is not installed; nothing to retarget", "cluster", in.Cluster.Name)
		return res, nil
	}
	res.Installed = true
	ri := c.Dynamic.Resource(EC2NodeClasses)
	for _, name := range names {
		activitylog.Heartbeat(ctx, Progress{Step: "karpenter-node-classes", Objects: len(res.Updated) + len(res.Unchanged), Detail: name})
		// updated: an attempt found terms to add (a later attempt that
		// finds them added after a lost response counts it too).
		updated, gone := false, false
		err := a.retryAPI(ctx, "retarget EC2NodeClass "+name, func(ctx context.Context) error {
			return retry.RetryOnConflict(retry.DefaultBackoff, func() error {
				obj, err := ri.Get(ctx, name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					gone = true
					return nil
				}
				if err != nil {
					return err
				}
				changed, err := retargetNodeClass(obj, in.From, in.To)
				if err != nil || !changed {
					return err
				}
				updated = true
				// Update carries the resourceVersion read: a concurrent
				// write makes it fail with Conflict, and it is redone.
				if _, err := ri.Update(ctx, obj, metav1.UpdateOptions{FieldManager: "cutover"}); err != nil {
					if apierrors.IsConflict(err) {
						log.Debug("EC2NodeClass changed while it was retargeted, again", "cluster", in.Cluster.Name, "nodeClass", name)
					}
					return err
				}
				return nil
			})
		})
		if apierrors.IsConflict(err) {
			return res, failures.Wrap(failures.ResourceInUse, err, "retarget EC2NodeClass %s on cluster %s: it kept changing", name, in.Cluster)
		}
		if err != nil {
			return res, kubeError(err, "retarget EC2NodeClass %s on cluster %s", name, in.Cluster)
		}
		switch {
		case gone:
		case updated:
			log.Info("EC2NodeClass selects green's discovery value too", "cluster", in.Cluster.Name, "nodeClass", name, "from", in.From, "to", in.To)
			res.Updated = append(res.Updated, name)
		default:
			res.Unchanged = append(res.Unchanged, name)
		}
	}
	pools, _, err := a.listNames(ctx, c, NodePools)
	if err != nil {
		return res, kubeError(err, "list NodePools on cluster %s", in.Cluster)
	}
	res.NodePools = len(pools)
	log.Info("Retargeted Karpenter's EC2NodeClasses", "cluster", in.Cluster.Name, "updated", res.Updated, "unchanged", res.Unchanged, "nodePools", res.NodePools)
	return res, nil
}

// listNames pages through a cluster-scoped resource and returns the names;
// installed is false when the cluster does not serve the resource.
func (a *Activities) listNames(ctx context.Context, c *Clients, gvr schema.GroupVersionResource) (names []string, installed bool, err error) {
	if c.Dynamic == nil {
		return nil, false, fmt.Errorf("no dynamic client for %s", gvr.Resource)
	}
	opts := metav1.ListOptions{Limit: a.opts.pageSize}
	for {
		var page *unstructured.UnstructuredList
		// An apiserver that does not serve the resource answers 404 with a
		// body that is not a Status, which reads as an unexpected server
		// error (transient): here it is the answer "not installed".
		err := failures.RetryIf(ctx, failures.Backoff{
			Initial: a.opts.apiRetryWait,
			Max:     10 * time.Second,
			Budget:  a.opts.apiRetryBudget,
			OnRetry: func(err error, attempt int, wait time.Duration) {
				a.log(ctx).Warn("Kubernetes API call failed transiently, retrying", "what", "list "+gvr.Resource, "attempt", attempt, "wait", wait.String(), "error", err)
				activitylog.Heartbeat(ctx, Progress{Step: "retry", Detail: fmt.Sprintf("list %s: attempt %d: %v", gvr.Resource, attempt, err)})
			},
		}, func(err error) bool { return !apierrors.IsNotFound(err) && failures.IsTransient(err) }, func(ctx context.Context) error {
			var err error
			page, err = c.Dynamic.Resource(gvr).List(ctx, opts)
			return err
		})
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		for _, o := range page.Items {
			names = append(names, o.GetName())
		}
		if page.GetContinue() == "" {
			return names, true, nil
		}
		opts.Continue = page.GetContinue()
	}
}

// retargetNodeClass rewrites the selector terms of an EC2NodeClass in place
// (retargetTerms) and reports whether anything changed.
func retargetNodeClass(obj *unstructured.Unstructured, from, to string) (bool, error) {
	changed := false
	for _, field := range karpenterSelectorFields {
		terms, found, err := unstructured.NestedSlice(obj.Object, "spec", field)
		if err != nil {
			return false, failures.New(failures.InvalidParameter, "EC2NodeClass %s: spec.%s: %v", obj.GetName(), field, err)
		}
		if !found {
			continue
		}
		out, ok := retargetTerms(terms, from, to)
		if !ok {
			continue
		}
		if err := unstructured.SetNestedSlice(obj.Object, out, "spec", field); err != nil {
			return false, failures.New(failures.InvalidParameter, "EC2NodeClass %s: spec.%s: %v", obj.GetName(), field, err)
		}
		changed = true
	}
	return changed, nil
}

// retargetTerms returns terms where each term whose tags select
// karpenter.sh/discovery=from is followed by the same term with to, unless
// terms already hold that one; it reports whether it added any.
func retargetTerms(terms []any, from, to string) ([]any, bool) {
	out := make([]any, 0, len(terms))
	added := false
	for _, t := range terms {
		out = append(out, t)
		term, ok := t.(map[string]any)
		if !ok {
			continue
		}
		tags, ok := term["tags"].(map[string]any)
		if !ok || tags[KarpenterDiscoveryKey] != from {
			continue
		}
		twin := runtime.DeepCopyJSONValue(term).(map[string]any)
		twin["tags"].(map[string]any)[KarpenterDiscoveryKey] = to
		if containsTerm(terms, twin) || containsTerm(out, twin) {
			continue
		}
		out = append(out, twin)
		added = true
	}
	return out, added
}

func containsTerm(terms []any, t map[string]any) bool {
	for _, h := range terms {
		if reflect.DeepEqual(h, any(t)) {
			return true
		}
	}
	return false
}
