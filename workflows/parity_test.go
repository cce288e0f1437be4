package workflows

import (
	"testing"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
)

func TestCompareParity(t *testing.T) {
	web := kube.WorkloadStatus{Kind: "Deployment", Namespace: "shop", Name: "web", Desired: 3, Available: 3, Ready: true}
	cron := kube.WorkloadStatus{Kind: "StatefulSet", Namespace: "shop", Name: "db", Desired: 1, Available: 0, Ready: false}
	sa := kube.ServiceAccountRole{Namespace: "shop", Name: "orders", RoleARN: "arn:aws:iam::1:role/orders"}
	report := kube.CronJobState{Namespace: "shop", Name: "nightly-report", Schedule: "0 2 * * *"}
	blueInv := kube.Inventory{Namespaces: []string{"shop"}, Workloads: []kube.WorkloadStatus{web, cron}, ServiceAccounts: []kube.ServiceAccountRole{sa}, CronJobs: []kube.CronJobState{report}}
	blue := eks.ClusterDescription{
		Addons:                  []eks.Addon{{Name: "vpc-cni", Version: "v1.16", ServiceAccountRoleARN: "arn:aws:iam::1:role/cni"}},
		AccessEntries:           []eks.AccessEntry{{PrincipalARN: "arn:aws:iam::1:role/ci"}},
		NodeGroups:              []eks.NodeGroup{{Name: "general", Scaling: eks.Scaling{Min: 2, Max: 6, Desired: 3}}},
		PodIdentityAssociations: []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: "arn:aws:iam::1:role/worker", AssociationID: "a-blue"}},
	}
	tests := []struct {
		name     string
		greenInv func(*kube.Inventory)
		green    func(*eks.ClusterDescription)
		failed   []string // check/object of the failed blocking rows
	}{
		{"identical", nil, nil, nil},
		{"namespace missing", func(i *kube.Inventory) { i.Namespaces = nil }, nil, []string{"namespace shop"}},
		{"workload missing", func(i *kube.Inventory) { i.Workloads = i.Workloads[1:] }, nil, []string{"workload Deployment shop/web"}},
		{"workload not available on green", func(i *kube.Inventory) { i.Workloads[0].Ready, i.Workloads[0].Available = false, 1 }, nil, []string{"workload Deployment shop/web"}},
		{"degraded on blue too is not blocked on", func(i *kube.Inventory) {}, nil, nil},
		{"role differs", func(i *kube.Inventory) { i.ServiceAccounts[0].RoleARN = "arn:aws:iam::1:role/other" }, nil, []string{"service-account shop/orders"}},
		{"CronJob missing", func(i *kube.Inventory) { i.CronJobs = nil }, nil, []string{"cronjob shop/nightly-report"}},
		{"CronJob on another schedule", func(i *kube.Inventory) { i.CronJobs[0].Schedule = "0 3 * * *" }, nil, []string{"cronjob shop/nightly-report"}},
		{"CronJob in another time zone", func(i *kube.Inventory) { i.CronJobs[0].TimeZone = "UTC" }, nil, []string{"cronjob shop/nightly-report"}},
		{"CronJob suspended on green is the same job", func(i *kube.Inventory) { i.CronJobs[0].Suspended = true }, nil, nil},
		{"addon missing", nil, func(g *eks.ClusterDescription) { g.Addons = nil }, []string{"addon vpc-cni"}},
		{"addon without its role", nil, func(g *eks.ClusterDescription) { g.Addons[0].ServiceAccountRoleARN = "" }, []string{"addon vpc-cni"}},
		{"newer addon version is fine", nil, func(g *eks.ClusterDescription) { g.Addons[0].Version = "v1.18" }, nil},
		{"access entry missing", nil, func(g *eks.ClusterDescription) { g.AccessEntries = nil }, []string{"access-entry arn:aws:iam::1:role/ci"}},
		{"less capacity", nil, func(g *eks.ClusterDescription) { g.NodeGroups[0].Scaling = eks.Scaling{Min: 1, Max: 2, Desired: 2} }, []string{"node-group general"}},
		{"node group missing", nil, func(g *eks.ClusterDescription) { g.NodeGroups = nil }, []string{"node-group general"}},
		{"Pod Identity association missing", nil, func(g *eks.ClusterDescription) { g.PodIdentityAssociations = nil }, []string{"pod-identity payments/worker"}},
		{"Pod Identity association with another role", nil, func(g *eks.ClusterDescription) {
			g.PodIdentityAssociations = []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: "arn:aws:iam::1:role/other"}}
		}, []string{"pod-identity payments/worker"}},
		{"Pod Identity association under green's own ID", nil, func(g *eks.ClusterDescription) {
			g.PodIdentityAssociations = []eks.PodIdentityAssociation{{Namespace: "payments", ServiceAccount: "worker", RoleARN: "arn:aws:iam::1:role/worker", AssociationID: "a-green"}}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gi := blueInv
			gi.Workloads = append([]kube.WorkloadStatus(nil), blueInv.Workloads...)
			gi.ServiceAccounts = append([]kube.ServiceAccountRole(nil), blueInv.ServiceAccounts...)
			gi.CronJobs = append([]kube.CronJobState(nil), blueInv.CronJobs...)
			g := blue
			g.Addons = append([]eks.Addon(nil), blue.Addons...)
			g.NodeGroups = append([]eks.NodeGroup(nil), blue.NodeGroups...)
			if tt.greenInv != nil {
				tt.greenInv(&gi)
			}
			if tt.green != nil {
				tt.green(&g)
			}
			p := compareParity(blueInv, gi, blue, g)
			var got []string
			for _, r := range p.Failed() {
				got = append(got, r.Check+" "+r.Object)
			}
			if len(got) != len(tt.failed) || (len(got) > 0 && got[0] != tt.failed[0]) {
				t.Fatalf("failed rows %q, want %q", got, tt.failed)
			}
			if p.Passed != (len(tt.failed) == 0) {
				t.Fatalf("passed %v", p.Passed)
			}
			if len(p.Rows) != 9 {
				t.Fatalf("rows %d, want one per compared item (9): %+v", len(p.Rows), p.Rows)
			}
		})
	}
}
