package workflows

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/workflow"
)

// changeParity versions the Parity phase between RestoreWorkloads and
// SmokeTest.
const changeParity = "parity-phase"

// ParityRow is one point of "is green a faithful copy of blue".
type ParityRow struct {
	// Check: namespace, workload, service-account, cronjob, addon,
	// access-entry, pod-identity, node-group, irsa-trust.
	Check  string `json:"check"`
	Object string `json:"object"`
	Blue   string `json:"blue"`
	Green  string `json:"green"`
	OK     bool   `json:"ok"`
	// Blocking rows that are not OK fail the migration before any traffic moves.
	Blocking bool   `json:"blocking,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

// ParityReport is the before/after table of blue and green.
type ParityReport struct {
	Passed bool        `json:"passed"`
	Rows   []ParityRow `json:"rows"`
}

// Failed returns the blocking rows that are not OK.
func (p ParityReport) Failed() []ParityRow {
	var out []ParityRow
	for _, r := range p.Rows {
		if !r.OK && r.Blocking {
			out = append(out, r)
		}
	}
	return out
}

// compareParity is the parity check, a pure function of what was observed
// on both sides: every namespace, workload, IRSA ServiceAccount and CronJob
// of blue is on green (workloads available where they are on blue, the
// same role, the same schedule),
// and green has blue's add-ons, access entries, Pod Identity associations
// (the same role) and node groups with at least blue's capacity. Rows are in blue's order.
func compareParity(blueInv, greenInv kube.Inventory, blue, green eks.ClusterDescription) ParityReport {
	var rows []ParityRow
	add := func(r ParityRow) { rows = append(rows, r) }

	greenNS := map[string]bool{}
	for _, ns := range greenInv.Namespaces {
		greenNS[ns] = true
	}
	for _, ns := range blueInv.Namespaces {
		r := ParityRow{Check: "namespace", Object: ns, Blue: "present", Green: "missing", Blocking: true, Fix: "restore the namespace into green (Velero includedNamespaces, or an Argo CD application)"}
		if greenNS[ns] {
			r.Green, r.OK, r.Fix = "present", true, ""
		}
		add(r)
	}

	type wkey struct{ kind, ns, name string }
	greenW := map[wkey]kube.WorkloadStatus{}
	for _, w := range greenInv.Workloads {
		greenW[wkey{w.Kind, w.Namespace, w.Name}] = w
	}
	for _, w := range blueInv.Workloads {
		obj := fmt.Sprintf("%s %s/%s", w.Kind, w.Namespace, w.Name)
		r := ParityRow{Check: "workload", Object: obj, Blue: availability(w), Green: "missing", Blocking: true, Fix: "restore the workload into green"}
		if g, ok := greenW[wkey{w.Kind, w.Namespace, w.Name}]; ok {
			r.Green = availability(g)
			// Green must serve what blue serves: available wherever blue
			// is; a workload blue itself runs degraded is reported, not blocked on.
			r.OK = g.Ready || !w.Ready
			r.Fix = ""
			if !r.OK {
				r.Fix = "wait for it to become available on green, or find why it does not (kubectl describe)"
			}
		}
		add(r)
	}

	type skey struct{ ns, name string }
	greenSA := map[skey]string{}
	for _, sa := range greenInv.ServiceAccounts {
		greenSA[skey{sa.Namespace, sa.Name}] = sa.RoleARN
	}
	for _, sa := range blueInv.ServiceAccounts {
		r := ParityRow{Check: "service-account", Object: sa.Namespace + "/" + sa.Name, Blue: sa.RoleARN, Blocking: true}
		switch role, ok := greenSA[skey{sa.Namespace, sa.Name}]; {
		case !ok:
			r.Green, r.Fix = "missing (or without its IAM role annotation)", "restore the ServiceAccount with its "+kube.IRSARoleAnnotation+" annotation"
		case role != sa.RoleARN:
			r.Green, r.Fix = role, "annotate the ServiceAccount on green with blue's role"
		default:
			r.Green, r.OK = role, true
		}
		add(r)
	}

	greenCron := map[skey]kube.CronJobState{}
	for _, cj := range greenInv.CronJobs {
		greenCron[skey{cj.Namespace, cj.Name}] = cj
	}
	for _, cj := range blueInv.CronJobs {
		r := ParityRow{Check: "cronjob", Object: cj.Namespace + "/" + cj.Name, Blue: cronText(cj), Green: "missing", Blocking: true,
			Fix: "restore the CronJob into green (Velero includedNamespaces, or an Argo CD application)"}
		if g, ok := greenCron[skey{cj.Namespace, cj.Name}]; ok {
			r.Green, r.OK, r.Fix = cronText(g), true, ""
			if g.Schedule != cj.Schedule || g.TimeZone != cj.TimeZone {
				r.OK, r.Fix = false, "give the CronJob on green blue's schedule and time zone"
			}
		}
		add(r)
	}

	greenAddons := map[string]eks.Addon{}
	for _, a := range green.Addons {
		greenAddons[a.Name] = a
	}
	for _, a := range blue.Addons {
		r := ParityRow{Check: "addon", Object: a.Name, Blue: addonText(a), Green: "missing", Blocking: true, Fix: "install the add-on on green (green.copy.addons)"}
		if g, ok := greenAddons[a.Name]; ok {
			r.Green, r.OK, r.Fix = addonText(g), true, ""
			if a.ServiceAccountRoleARN != "" && g.ServiceAccountRoleARN != a.ServiceAccountRoleARN {
				r.OK, r.Fix = false, "give the add-on on green blue's service account role"
			}
		}
		add(r)
	}

	greenAccess := map[string]bool{}
	for _, e := range green.AccessEntries {
		greenAccess[e.PrincipalARN] = true
	}
	for _, e := range blue.AccessEntries {
		r := ParityRow{Check: "access-entry", Object: e.PrincipalARN, Blue: "present", Green: "missing", Blocking: true, Fix: "create the access entry on green (green.copy.accessEntries)"}
		if greenAccess[e.PrincipalARN] {
			r.Green, r.OK, r.Fix = "present", true, ""
		}
		add(r)
	}

	type pkey struct{ ns, sa string }
	greenPI := map[pkey]string{}
	for _, a := range green.PodIdentityAssociations {
		greenPI[pkey{a.Namespace, a.ServiceAccount}] = a.RoleARN
	}
	for _, a := range blue.PodIdentityAssociations {
		r := ParityRow{Check: "pod-identity", Object: a.Namespace + "/" + a.ServiceAccount, Blue: a.RoleARN, Green: "missing", Blocking: true,
			Fix: "create the Pod Identity association on green (eks create-pod-identity-association)"}
		switch role, ok := greenPI[pkey{a.Namespace, a.ServiceAccount}]; {
		case !ok:
		case role != a.RoleARN:
			r.Green, r.Fix = role, "give the association on green blue's role"
		default:
			r.Green, r.OK, r.Fix = role, true, ""
		}
		add(r)
	}

	greenNG := map[string]eks.NodeGroup{}
	for _, ng := range green.NodeGroups {
		greenNG[ng.Name] = ng
	}
	for _, ng := range blue.NodeGroups {
		r := ParityRow{Check: "node-group", Object: ng.Name, Blue: capacityText(ng), Green: "missing", Blocking: true, Fix: "create the node group on green (green.copy.nodeGroups)"}
		if g, ok := greenNG[ng.Name]; ok {
			r.Green = capacityText(g)
			r.OK = g.Scaling.Max >= ng.Scaling.Desired && g.Scaling.Desired >= min(ng.Scaling.Desired, g.Scaling.Max)
			r.Fix = ""
			if !r.OK {
				r.Fix = "give the node group on green at least blue's capacity"
			}
		}
		add(r)
	}

	p := ParityReport{Passed: true, Rows: rows}
	if len(p.Failed()) > 0 {
		p.Passed = false
	}
	return p
}

func availability(w kube.WorkloadStatus) string {
	return fmt.Sprintf("%d/%d available", w.Available, w.Desired)
}

func cronText(cj kube.CronJobState) string {
	s := cj.Schedule
	if cj.TimeZone != "" {
		s += " " + cj.TimeZone
	}
	if cj.Suspended {
		s += " (suspended)"
	}
	return s
}

func addonText(a eks.Addon) string {
	s := a.Version
	if s == "" {
		s = "present"
	}
	if a.ServiceAccountRoleARN != "" {
		s += " (role " + a.ServiceAccountRoleARN + ")"
	}
	return s
}

func capacityText(ng eks.NodeGroup) string {
	return fmt.Sprintf("desired %d (min %d, max %d)", ng.Scaling.Desired, ng.Scaling.Min, ng.Scaling.Max)
}

// parity compares green with blue after the restore and stops the
// migration, before any traffic moves, on a difference that matters.
func (m *migration) parity(ctx workflow.Context) error {
	if workflow.GetVersion(ctx, changeParity, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	m.enter(ctx, PhaseParity)
	m.progress("Comparing green with blue")
	ns := m.spec.Smoke.Kubernetes.Namespaces
	blueInv, err := short[kube.Inventory](ctx, readOptions, kubeA.InventoryCluster, kube.InventoryInput{Cluster: m.blue(), Namespaces: ns})
	if err != nil {
		return err
	}
	blueInv = m.movedByCutover(blueInv)
	var expect []kube.WorkloadRef
	for _, w := range blueInv.Workloads {
		if w.Ready && !m.heldOnGreen(w.Kind, w.Namespace, w.Name) {
			expect = append(expect, kube.WorkloadRef{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name})
		}
	}
	greenInv, err := call[kube.Inventory](ctx, parityWaitOptions, kubeA.InventoryCluster, kube.InventoryInput{Cluster: m.green(), Namespaces: ns, ExpectReady: expect})
	if err != nil {
		return err
	}
	blue, err := short[eks.ClusterDescription](ctx, readOptions, eksA.DescribeEKSCluster, eks.DescribeInput{Cluster: m.blue()})
	if err != nil {
		return err
	}
	green, err := short[eks.ClusterDescription](ctx, readOptions, eksA.DescribeEKSCluster, eks.DescribeInput{Cluster: m.green()})
	if err != nil {
		return err
	}
	p := compareParity(blueInv, greenInv, m.copied(blue), green)
	p.Rows = append(p.Rows, m.irsaParityRows()...)
	p.Rows = append(p.Rows, m.estateParityRows(green)...)
	m.expectHeldSingletons(p.Rows)
	p.Passed = len(p.Failed()) == 0
	m.report.Parity = &p
	m.status.Parity = &p
	if failed := p.Failed(); len(failed) > 0 {
		msg := fmt.Sprintf("green %s differs from blue in %d ways that matter", m.spec.Green.ClusterName, len(failed))
		for i, r := range failed {
			if i == 5 {
				msg += fmt.Sprintf("; and %d more", len(failed)-5)
				break
			}
			msg += fmt.Sprintf("; %s %s: blue %s, green %s", r.Check, r.Object, r.Blue, r.Green)
		}
		return failures.WithDetails(failures.ParityFailed, msg, failed)
	}
	return nil
}

// expectHeldSingletons marks the workload rows of green's singletons that
// cutover holds at zero replicas until the jobs move: they are as expected.
func (m *migration) expectHeldSingletons(rows []ParityRow) {
	for i := range rows {
		r := &rows[i]
		if r.Check != "workload" || r.OK {
			continue
		}
		kind, rest, _ := strings.Cut(r.Object, " ")
		ns, name, _ := strings.Cut(rest, "/")
		if m.heldOnGreen(kind, ns, name) {
			r.OK, r.Fix = true, ""
			r.Green += fmt.Sprintf(" (held at zero by cutover until traffic reaches %d%%)", m.spec.Jobs.MoveAtStep)
		}
	}
}

// parityWaitOptions: green's inventory waits (heartbeating) for the
// restored workloads to come up.
var parityWaitOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    15 * time.Minute,
	ScheduleToCloseTimeout: 45 * time.Minute,
	HeartbeatTimeout:       time.Minute,
	RetryPolicy:            readRetry,
}

// movedByCutover drops from blue's inventory what is meant to stay on blue:
// in retarget mode Argo CD itself keeps running in blue's Argo CD namespace.
func (m *migration) movedByCutover(inv kube.Inventory) kube.Inventory {
	if m.spec.ArgoCD.Mode != spec.ArgoCDModeRetarget {
		return inv
	}
	argo := m.spec.ArgoCD.Namespace
	out := kube.Inventory{Cluster: inv.Cluster}
	for _, ns := range inv.Namespaces {
		if ns != argo {
			out.Namespaces = append(out.Namespaces, ns)
		}
	}
	for _, w := range inv.Workloads {
		if w.Namespace != argo {
			out.Workloads = append(out.Workloads, w)
		}
	}
	for _, sa := range inv.ServiceAccounts {
		if sa.Namespace != argo {
			out.ServiceAccounts = append(out.ServiceAccounts, sa)
		}
	}
	for _, cj := range inv.CronJobs {
		if cj.Namespace != argo {
			out.CronJobs = append(out.CronJobs, cj)
		}
	}
	return out
}

// copied is blue as green was meant to copy it: what the spec told cutover
// not to copy is not expected on green.
func (m *migration) copied(blue eks.ClusterDescription) eks.ClusterDescription {
	c := m.spec.Green.Copy
	if !*c.Addons {
		blue.Addons = nil
	}
	if !*c.AccessEntries {
		blue.AccessEntries = nil
	}
	if !*c.NodeGroups {
		blue.NodeGroups = nil
	}
	if !m.podIdentity.copied {
		// Runs from before Pod Identity was copied do not expect it on green.
		blue.PodIdentityAssociations = nil
	}
	return blue
}
