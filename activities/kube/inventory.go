package kube

import (
	"context"
	"fmt"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// IRSARoleAnnotation names the IAM role of a ServiceAccount (IRSA).
const IRSARoleAnnotation = "eks.amazonaws.com/role-arn"

// InventoryInput names the cluster to take stock of.
type InventoryInput struct {
	Cluster clusters.Ref `json:"cluster"`
	// Namespaces limits the inventory; empty means every namespace but
	// the system ones (kube-system, kube-public, kube-node-lease).
	Namespaces []string `json:"namespaces,omitempty"`
	// ExpectReady are workloads (available on blue) to wait for: the
	// inventory is taken again, up to the workload wait, until each is
	// present and available here. A restore's workloads take a while to
	// come up; a missing one after the wait is the parity check's finding.
	ExpectReady []WorkloadRef `json:"expectReady,omitempty"`
}

// WorkloadRef names a workload.
type WorkloadRef struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// Inventory is what runs in a cluster, as the parity check compares it.
// Every list is sorted, so two inventories compare item by item.
type Inventory struct {
	Cluster    string   `json:"cluster"`
	Namespaces []string `json:"namespaces"`
	// Workloads are every Deployment, StatefulSet and DaemonSet, with
	// their availability.
	Workloads []WorkloadStatus `json:"workloads"`
	// ServiceAccounts are those that carry an IAM role (IRSA annotation).
	ServiceAccounts []ServiceAccountRole `json:"serviceAccounts,omitempty"`
	// CronJobs are every CronJob, with its schedule and whether it is suspended.
	CronJobs []CronJobState `json:"cronJobs,omitempty"`
}

// CronJobState is a CronJob as the parity check compares it.
type CronJobState struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Schedule  string `json:"schedule"`
	TimeZone  string `json:"timeZone,omitempty"`
	Suspended bool   `json:"suspended,omitempty"`
}

// ServiceAccountRole is a ServiceAccount and the IAM role it assumes.
type ServiceAccountRole struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	RoleARN   string `json:"roleArn"`
}

// InventoryCluster lists the namespaces, workloads, IRSA ServiceAccounts
// and CronJobs of a cluster. It only reads; transient API errors are retried.
func (a *Activities) InventoryCluster(ctx context.Context, in InventoryInput) (Inventory, error) {
	c, err := a.clients(ctx, in.Cluster)
	if err != nil {
		return Inventory{}, err
	}
	inv := Inventory{Cluster: in.Cluster.Name}
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	activitylog.Heartbeat(ctx, Progress{Step: "inventory", Detail: in.Cluster.Name})
	deadline := a.opts.Now().Add(a.opts.workloadWait)
	if d, ok := ctx.Deadline(); ok && d.Add(-time.Second).Before(deadline) {
		deadline = d.Add(-time.Second)
	}
	for round := 1; ; round++ {
		err = a.retryAPI(ctx, "inventory of "+in.Cluster.Name, func(ctx context.Context) error {
			inv = Inventory{Cluster: in.Cluster.Name}
			return a.inventory(ctx, c, in.Namespaces, &inv)
		})
		if err != nil {
			return Inventory{}, kubeError(err, "inventory of %s", in.Cluster.Name)
		}
		waiting := notYetReady(inv, in.ExpectReady)
		activitylog.Heartbeat(ctx, Progress{Step: "inventory", Objects: len(inv.Workloads), Detail: fmt.Sprintf("round %d: waiting for %d workloads", round, waiting)})
		if waiting == 0 || !a.opts.Now().Add(a.opts.Poll).Before(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return Inventory{}, ctx.Err()
		case <-time.After(a.opts.Poll):
		}
	}
	a.log(ctx).Info("Took inventory", "cluster", in.Cluster.Name, "namespaces", len(inv.Namespaces), "workloads", len(inv.Workloads), "serviceAccounts", len(inv.ServiceAccounts), "cronJobs", len(inv.CronJobs))
	return inv, nil
}

// notYetReady counts the expected workloads not present and available.
func notYetReady(inv Inventory, want []WorkloadRef) int {
	ready := map[WorkloadRef]bool{}
	for _, w := range inv.Workloads {
		if w.Ready {
			ready[WorkloadRef{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}] = true
		}
	}
	n := 0
	for _, w := range want {
		if !ready[w] {
			n++
		}
	}
	return n
}

func (a *Activities) inventory(ctx context.Context, c *Clients, only []string, inv *Inventory) error {
	wanted := map[string]bool{}
	for _, ns := range only {
		wanted[ns] = true
	}
	keep := func(ns string) bool {
		if len(only) > 0 {
			return wanted[ns]
		}
		return !systemNamespaces[ns]
	}
	err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]corev1.Namespace, string, error) {
			l, err := c.Kube.CoreV1().Namespaces().List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []corev1.Namespace) error {
			for i := range items {
				if keep(items[i].Name) {
					inv.Namespaces = append(inv.Namespaces, items[i].Name)
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	add := func(s WorkloadStatus) {
		if keep(s.Namespace) {
			inv.Workloads = append(inv.Workloads, s)
		}
	}
	if err := a.eachWorkload(ctx, c, metav1.NamespaceAll, add); err != nil {
		return err
	}
	if err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]corev1.ServiceAccount, string, error) {
			l, err := c.Kube.CoreV1().ServiceAccounts(metav1.NamespaceAll).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []corev1.ServiceAccount) error {
			for i := range items {
				sa := &items[i]
				// IRSA roles are kept in every namespace, system ones
				// included: add-ons use them (aws-node, the EBS CSI driver).
				if role := sa.Annotations[IRSARoleAnnotation]; role != "" && (keep(sa.Namespace) || systemNamespaces[sa.Namespace]) {
					inv.ServiceAccounts = append(inv.ServiceAccounts, ServiceAccountRole{Namespace: sa.Namespace, Name: sa.Name, RoleARN: role})
				}
			}
			return nil
		}); err != nil {
		return err
	}
	if err := eachPage(ctx, a.opts.pageSize, metav1.ListOptions{},
		func(ctx context.Context, o metav1.ListOptions) ([]batchv1.CronJob, string, error) {
			l, err := c.Kube.BatchV1().CronJobs(metav1.NamespaceAll).List(ctx, o)
			if err != nil {
				return nil, "", err
			}
			return l.Items, l.Continue, nil
		}, func(items []batchv1.CronJob) error {
			for i := range items {
				cj := &items[i]
				if keep(cj.Namespace) {
					inv.CronJobs = append(inv.CronJobs, CronJobState{Namespace: cj.Namespace, Name: cj.Name, Schedule: cj.Spec.Schedule,
						TimeZone: ptrOr(cj.Spec.TimeZone, ""), Suspended: ptrOr(cj.Spec.Suspend, false)})
				}
			}
			return nil
		}); err != nil {
		return err
	}
	sort.Strings(inv.Namespaces)
	sort.Slice(inv.CronJobs, func(i, j int) bool {
		x, y := inv.CronJobs[i], inv.CronJobs[j]
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		return x.Name < y.Name
	})
	sort.Slice(inv.Workloads, func(i, j int) bool {
		x, y := inv.Workloads[i], inv.Workloads[j]
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		if x.Kind != y.Kind {
			return x.Kind < y.Kind
		}
		return x.Name < y.Name
	})
	sort.Slice(inv.ServiceAccounts, func(i, j int) bool {
		x, y := inv.ServiceAccounts[i], inv.ServiceAccounts[j]
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		return x.Name < y.Name
	})
	return nil
}
