package workflows

import (
	"fmt"
	"slices"

	"github.com/cutover-dev/cutover/activities/argocd"
	"github.com/cutover-dev/cutover/activities/eks"
	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
	"go.temporal.io/sdk/workflow"
)

// changeEstateCopy versions what green gets of blue's estate around EKS's
// own objects: launch templates checked in preflight (and green's versions
// of them deleted with green on rollback), Karpenter discovery tags and
// EC2NodeClass selectors, access for the IAM identities Argo CD reaches
// green with, and blue's aws-auth mappings.
const changeEstateCopy = "estate-copy"

// ArgoCDAccessPolicy is the access policy the identities of the Argo CD
// that manages green get on green: Argo CD applies any kind of object.
const ArgoCDAccessPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

// CheckAWSAuthNotCarried is the finding of aws-auth mappings green cannot
// take: its authentication mode is API, which ignores the ConfigMap.
const CheckAWSAuthNotCarried = "aws-auth-not-carried"

// estateState is what the run learned and did for the estate around EKS.
type estateState struct {
	// launchTemplates is preflight's plan for blue's launch templates.
	launchTemplates []eks.LaunchTemplatePlan
	// karpenter is what EnsureKarpenterDiscovery found and tagged.
	karpenter *eks.KarpenterDiscoveryResult
	// nodeClasses is what RetargetKarpenterNodeClasses did on green.
	nodeClasses *kube.KarpenterNodeClassesResult
	// argoIdentities are the IAM roles Argo CD reaches green with, and
	// argoGranted those given an access entry on green (or already in
	// blue's copied entries).
	argoIdentities []argocd.Identity
	argoGranted    []string
	// awsAuth is what CopyAWSAuth carried into green's aws-auth.
	awsAuth *kube.CopyAWSAuthResult
}

func (m *migration) estateOn(ctx workflow.Context) bool {
	return workflow.GetVersion(ctx, changeEstateCopy, workflow.DefaultVersion, 1) == 1
}

// checkLaunchTemplates asks, before anything is built, whether each of
// blue's node groups on a launch template can get a version for green at
// the target (a custom AL2 AMI at 1.33+ cannot): a template green cannot
// have is a blocking finding now, not a failure halfway through the build.
func (m *migration) checkLaunchTemplates(ctx workflow.Context, blue eks.ClusterDescription) error {
	s := m.spec
	if !m.estateOn(ctx) || !spec.On(s.Green.Copy.NodeGroups) {
		return nil
	}
	var groups []eks.NodeGroup
	for _, ng := range blue.NodeGroups {
		if ng.LaunchTemplate != nil {
			groups = append(groups, ng)
		}
	}
	if len(groups) == 0 {
		return nil
	}
	m.progress(fmt.Sprintf("Checking %d launch templates for Kubernetes %s", len(groups), s.Green.KubernetesVersion))
	res, err := call[eks.PlanLaunchTemplatesResult](ctx, readOptions, eksA.PlanGreenLaunchTemplates, eks.PlanLaunchTemplatesInput{
		Blue: m.blue(), TargetVersion: s.Green.KubernetesVersion, NodeGroups: groups, AMITypeUpgrade: s.Green.NodeGroups.AMITypeUpgrade,
	})
	if err != nil {
		return err
	}
	m.addFindings(res.Findings)
	m.estate.launchTemplates = res.Plans
	return nil
}

// recordLaunchTemplateVersions keeps the launch-template versions
// EnsureNodeGroups made for green, so a rollback that deletes green
// deletes them too.
func (m *migration) recordLaunchTemplateVersions(ctx workflow.Context, res eks.EnsureNodeGroupsResult) {
	if !m.estateOn(ctx) {
		return
	}
	for _, v := range res.LaunchTemplateVersions {
		if v.Created && !slices.Contains(m.done.LaunchTemplateVersions, v) {
			m.done.LaunchTemplateVersions = append(m.done.LaunchTemplateVersions, v)
		}
	}
}

// deleteLaunchTemplateVersions is the rollback of green's launch-template
// versions, once green (and its node groups) are deleted.
func (m *migration) deleteLaunchTemplateVersions(ctx workflow.Context) error {
	m.progress(fmt.Sprintf("Deleting the %d launch template versions made for green", len(m.done.LaunchTemplateVersions)))
	res, err := call[eks.DeleteLaunchTemplateVersionsResult](ctx, rollbackSetOptions, eksA.DeleteLaunchTemplateVersions, eks.DeleteLaunchTemplateVersionsInput{
		Cluster: m.green(), Versions: m.done.LaunchTemplateVersions, Migration: m.spec.Name,
	})
	if err != nil {
		return err
	}
	m.logger.Info("Green's launch template versions deleted", "cluster", m.spec.Green.ClusterName, "deleted", len(res.Deleted), "gone", len(res.Gone), "kept", len(res.Kept))
	return nil
}

// tagKarpenterDiscovery puts green's karpenter.sh/discovery value on the
// subnets and security groups green uses that carry none. Those that carry
// blue's (shared by both clusters; a tag has one value) keep it until blue
// is retired. What may be tagged is recorded before the call, so a
// rollback after a failed attempt removes it (only where the value is
// still green's).
func (m *migration) tagKarpenterDiscovery(ctx workflow.Context, plan eks.GreenPlan) error {
	s := m.spec
	if !m.estateOn(ctx) || !spec.On(s.Green.Copy.KarpenterDiscovery) {
		return nil
	}
	m.progress("Tagging green's subnets and security groups for Karpenter discovery")
	m.done.KarpenterValue = s.Green.ClusterName
	var maybe []eks.TaggedResource
	for _, id := range plan.Cluster.VPC.SubnetIDs {
		maybe = append(maybe, eks.TaggedResource{ID: id, Kind: "subnet", Value: s.Green.ClusterName})
	}
	for _, id := range plan.Cluster.VPC.SecurityGroupIDs {
		maybe = append(maybe, eks.TaggedResource{ID: id, Kind: "security-group", Value: s.Green.ClusterName})
	}
	m.done.KarpenterTags = maybe
	res, err := short[eks.KarpenterDiscoveryResult](ctx, mutateOptions, eksA.EnsureKarpenterDiscovery, eks.KarpenterDiscoveryInput{
		Blue: m.blue(), Green: m.green(), SubnetIDs: plan.Cluster.VPC.SubnetIDs, SecurityGroupIDs: plan.Cluster.VPC.SecurityGroupIDs, Migration: s.Name,
	})
	if err != nil {
		return err
	}
	m.done.KarpenterTags = res.Tagged
	m.estate.karpenter = &res
	for _, r := range res.Foreign {
		m.addFindings([]finding.Finding{{Check: "karpenter-discovery-foreign", Cluster: s.Green.ClusterName, Object: r.Kind + "/" + r.ID, Severity: finding.Warning, Source: "eks",
			Message: fmt.Sprintf("%s %s carries %s=%s, neither blue's nor green's: left as it is", r.Kind, r.ID, eks.KarpenterDiscoveryKey, r.Value),
			Fix:     "If green's Karpenter must use it, point an EC2NodeClass selector term at it by ID or tag."}})
	}
	m.logger.Info("Karpenter discovery tags for green", "cluster", s.Green.ClusterName, "blueValue", res.BlueValue, "tagged", len(res.Tagged), "shared", len(res.Shared), "foreign", len(res.Foreign))
	return nil
}

// karpenterResources are the cluster-scoped Karpenter objects a Velero
// backup of blue carries to green when blue uses Karpenter: with a
// namespace filter Velero takes no cluster-scoped objects unless named.
var karpenterResources = []string{"nodepools.karpenter.sh", "ec2nodeclasses.karpenter.k8s.aws"}

// veleroClusterResources are the cluster-scoped resources the backup and
// restore take beside the namespaces: blue's Karpenter NodePools and
// EC2NodeClasses when its subnets or security groups carry a discovery tag.
func (m *migration) veleroClusterResources() []string {
	if k := m.estate.karpenter; k != nil && k.BlueValue != "" {
		return karpenterResources
	}
	return nil
}

// retargetKarpenterNodeClasses adds green's discovery value beside blue's
// in the selector terms of the EC2NodeClasses restored into green.
func (m *migration) retargetKarpenterNodeClasses(ctx workflow.Context) error {
	k := m.estate.karpenter
	if k == nil || k.BlueValue == "" {
		return nil
	}
	m.progress("Pointing green's Karpenter EC2NodeClasses at green's subnets and security groups")
	res, err := call[kube.KarpenterNodeClassesResult](ctx, mutateOptions, kubeA.RetargetKarpenterNodeClasses, kube.KarpenterNodeClassesInput{
		Cluster: m.green(), From: k.BlueValue, To: m.spec.Green.ClusterName,
	})
	if err != nil {
		return err
	}
	m.estate.nodeClasses = &res
	return nil
}

// removeKarpenterTags is the rollback of tagKarpenterDiscovery.
func (m *migration) removeKarpenterTags(ctx workflow.Context) error {
	m.progress("Removing green's Karpenter discovery tags")
	res, err := call[eks.RemoveKarpenterDiscoveryResult](ctx, rollbackSetOptions, eksA.RemoveKarpenterDiscovery, eks.RemoveKarpenterDiscoveryInput{
		Cluster: m.green(), Resources: m.done.KarpenterTags, Value: m.done.KarpenterValue,
	})
	if err != nil {
		return err
	}
	m.logger.Info("Green's Karpenter discovery tags removed", "cluster", m.spec.Green.ClusterName, "removed", len(res.Removed), "gone", len(res.Gone), "kept", len(res.Kept))
	return nil
}

// retireBlueKarpenter moves the shared subnets and security groups from
// blue's discovery value to green's once blue is gone. Blue is deleted
// already, so a failure is reported, not fatal.
func (m *migration) retireBlueKarpenter(ctx workflow.Context) {
	k := m.estate.karpenter
	if k == nil || len(k.Shared) == 0 || !m.estateOn(ctx) {
		return
	}
	m.progress("Moving the shared subnets and security groups to green's Karpenter discovery value")
	res, err := call[eks.RetagKarpenterDiscoveryResult](ctx, mutateOptions, eksA.RetagKarpenterDiscovery, eks.RetagKarpenterDiscoveryInput{
		Cluster: m.green(), Resources: k.Shared, From: k.BlueValue, To: m.spec.Green.ClusterName,
	})
	if err != nil {
		m.report.Errors = append(m.report.Errors, "retag Karpenter discovery from blue to green: "+err.Error())
		m.logger.Warn("Shared subnets and security groups keep blue's Karpenter discovery value", "cluster", m.spec.Green.ClusterName, "error", err)
		return
	}
	m.logger.Info("Karpenter discovery moved to green", "cluster", m.spec.Green.ClusterName, "retagged", len(res.Retagged), "skipped", len(res.Skipped))
}

// argoCDIdentities reads which IAM roles the Argo CD that will manage
// green reaches it with. Only retarget mode needs it: blue's Argo CD
// reaches green from outside; in copy mode green's own Argo CD is in-cluster.
func (m *migration) argoCDIdentities(ctx workflow.Context) ([]argocd.Identity, error) {
	s := m.spec
	if s.ArgoCD.Mode != spec.ArgoCDModeRetarget || !spec.On(s.Green.Copy.ArgoCDAccess) {
		return nil, nil
	}
	res, err := short[argocd.IdentityResult](ctx, readOptions, argoA.ArgoCDIdentities, argocd.IdentityInput{Cluster: m.blue(), Namespace: s.ArgoCD.Namespace})
	if err != nil {
		return nil, err
	}
	return res.Identities, nil
}

// argoCDAccessEntries are the access entries green needs for Argo CD's
// identities beyond those copied from blue.
func argoCDAccessEntries(ids []argocd.Identity, copied []eks.AccessEntry) (add []eks.AccessEntry, granted []string) {
	have := map[string]bool{}
	for _, e := range copied {
		have[e.PrincipalARN] = true
	}
	for _, id := range ids {
		granted = append(granted, id.RoleARN)
		if have[id.RoleARN] {
			continue
		}
		have[id.RoleARN] = true
		add = append(add, eks.AccessEntry{PrincipalARN: id.RoleARN, Type: "STANDARD",
			Policies: []eks.AccessPolicy{{PolicyARN: ArgoCDAccessPolicy, ScopeType: "cluster"}}})
	}
	return add, granted
}

// grantArgoCDAccess gives the IAM roles Argo CD reaches green with an
// access entry on green, before Argo CD is pointed at it.
func (m *migration) grantArgoCDAccess(ctx workflow.Context, plan eks.GreenPlan) error {
	if !m.estateOn(ctx) {
		return nil
	}
	ids, err := m.argoCDIdentities(ctx)
	if err != nil || len(ids) == 0 {
		return err
	}
	m.estate.argoIdentities = ids
	add, granted := argoCDAccessEntries(ids, plan.Cluster.AccessEntries)
	if plan.Cluster.Access.AuthenticationMode == "CONFIG_MAP" {
		for _, id := range ids {
			m.addFindings([]finding.Finding{{Check: "argocd-access", Cluster: m.spec.Green.ClusterName, Object: id.RoleARN, Severity: finding.Error, Source: "eks",
				Message: fmt.Sprintf("Argo CD reaches green as %s (%s), but green's authentication mode CONFIG_MAP takes no access entries", id.RoleARN, id.Source),
				Fix:     "Map the role in green's aws-auth (system:masters or a bound group), or set blue's authenticationMode to API_AND_CONFIG_MAP."}})
		}
		return nil
	}
	if len(add) > 0 {
		m.progress(fmt.Sprintf("Giving Argo CD's %d IAM identities access to green", len(add)))
		if err := shortRun(ctx, mutateOptions, eksA.EnsureAccessEntries, eks.EnsureAccessEntriesInput{Cluster: m.green(), Entries: add, RequestToken: m.requestToken()}); err != nil {
			return err
		}
	}
	m.estate.argoGranted = granted
	return nil
}

// copyAWSAuth carries blue's aws-auth mappings into green's, where green
// reads the ConfigMap (CONFIG_MAP or API_AND_CONFIG_MAP).
func (m *migration) copyAWSAuth(ctx workflow.Context, plan eks.GreenPlan) error {
	s := m.spec
	if !m.estateOn(ctx) || !spec.On(s.Green.Copy.AWSAuth) {
		return nil
	}
	if plan.Cluster.Access.AuthenticationMode == "API" {
		blue, err := call[kube.AWSAuthMappings](ctx, readOptions, kubeA.ReadAWSAuth, kube.ReadAWSAuthInput{Cluster: m.blue()})
		if err != nil {
			return err
		}
		for _, mp := range blue.Mappings {
			if mp.Node() {
				continue
			}
			m.addFindings([]finding.Finding{{Check: CheckAWSAuthNotCarried, Cluster: s.Green.ClusterName, Object: mp.ARN, Severity: finding.Warning, Source: "kube",
				Message: fmt.Sprintf("%s is mapped in blue's aws-auth as %q, but green's authentication mode API ignores aws-auth", mp.ARN, mp.Username),
				Fix:     "Give it an EKS access entry on green before the cutover gate."}})
		}
		return nil
	}
	m.progress("Carrying blue's aws-auth mappings to green")
	res, err := short[kube.CopyAWSAuthResult](ctx, mutateOptions, kubeA.CopyAWSAuth, kube.CopyAWSAuthInput{Blue: m.blue(), Green: m.green(), Migration: s.Name})
	if err != nil {
		return err
	}
	m.estate.awsAuth = &res
	for _, c := range res.Conflicts {
		m.addFindings([]finding.Finding{{Check: "aws-auth-conflict", Cluster: s.Green.ClusterName, Object: c.ARN, Severity: finding.Warning, Source: "kube",
			Message: fmt.Sprintf("green's aws-auth maps %s differently from blue's (blue: %q %v): green's is kept", c.ARN, c.Username, c.Groups),
			Fix:     "Decide which mapping green needs and edit kube-system/aws-auth on green."}})
	}
	m.logger.Info("aws-auth carried to green", "cluster", s.Green.ClusterName, "added", len(res.Added), "present", len(res.Present), "conflicts", len(res.Conflicts))
	return nil
}

// estateParityRows say whether green has what cutover carried around EKS:
// Argo CD's access, aws-auth mappings and Karpenter discovery.
func (m *migration) estateParityRows(green eks.ClusterDescription) []ParityRow {
	var rows []ParityRow
	access := map[string]bool{}
	for _, e := range green.AccessEntries {
		access[e.PrincipalARN] = true
	}
	for _, id := range m.estate.argoIdentities {
		r := ParityRow{Check: "argocd-access", Object: id.RoleARN, Blue: "Argo CD's identity (" + id.Source + ")", Green: "no access entry", Blocking: true,
			Fix: "create an access entry for the role on green (green.copy.argoCDAccess)"}
		if access[id.RoleARN] {
			r.Green, r.OK, r.Fix = "access entry", true, ""
		}
		rows = append(rows, r)
	}
	if a := m.estate.awsAuth; a != nil {
		for _, mp := range a.Added {
			rows = append(rows, ParityRow{Check: "aws-auth", Object: mp.ARN, Blue: mappingText(mp), Green: mappingText(mp) + " (carried)", OK: true, Blocking: true})
		}
		for _, mp := range a.Present {
			rows = append(rows, ParityRow{Check: "aws-auth", Object: mp.ARN, Blue: mappingText(mp), Green: mappingText(mp), OK: true, Blocking: true})
		}
		for _, mp := range a.Conflicts {
			rows = append(rows, ParityRow{Check: "aws-auth", Object: mp.ARN, Blue: mappingText(mp), Green: "mapped differently (green's kept)", OK: false,
				Fix: "edit kube-system/aws-auth on green"})
		}
	}
	if k := m.estate.karpenter; k != nil && k.BlueValue != "" {
		for _, r := range k.Tagged {
			rows = append(rows, ParityRow{Check: "karpenter-discovery", Object: r.Kind + "/" + r.ID, Blue: "-", Green: eks.KarpenterDiscoveryKey + "=" + m.spec.Green.ClusterName, OK: true, Blocking: true})
		}
		for _, r := range k.Shared {
			rows = append(rows, ParityRow{Check: "karpenter-discovery", Object: r.Kind + "/" + r.ID, Blue: eks.KarpenterDiscoveryKey + "=" + k.BlueValue,
				Green: "shared (" + k.BlueValue + " until blue is retired, then " + m.spec.Green.ClusterName + ")", OK: true, Blocking: true})
		}
		if nc := m.estate.nodeClasses; nc != nil {
			for _, name := range append(slices.Clone(nc.Updated), nc.Unchanged...) {
				rows = append(rows, ParityRow{Check: "karpenter-nodeclass", Object: "EC2NodeClass " + name, Blue: "selects " + k.BlueValue,
					Green: "selects " + k.BlueValue + " or " + m.spec.Green.ClusterName, OK: true, Blocking: true})
			}
		}
	}
	return rows
}

func mappingText(mp kube.AWSAuthMapping) string {
	return fmt.Sprintf("%s %q %v", mp.Kind, mp.Username, mp.Groups)
}

// estatePlan is what a dry run says about the estate around EKS: the
// launch-template decisions, Argo CD's identities that would get access,
// and the aws-auth mappings that would be carried.
func (m *migration) estatePlan(ctx workflow.Context, p *Plan) error {
	if !m.estateOn(ctx) {
		return nil
	}
	p.LaunchTemplates = m.estate.launchTemplates
	ids, err := m.argoCDIdentities(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		p.ArgoCDAccess = append(p.ArgoCDAccess, id.RoleARN)
	}
	if !spec.On(m.spec.Green.Copy.AWSAuth) {
		return nil
	}
	blue, err := call[kube.AWSAuthMappings](ctx, readOptions, kubeA.ReadAWSAuth, kube.ReadAWSAuthInput{Cluster: m.blue()})
	if err != nil {
		return err
	}
	for _, mp := range blue.Mappings {
		if !mp.Node() {
			p.AWSAuth = append(p.AWSAuth, mp)
		}
	}
	return nil
}
