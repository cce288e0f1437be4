package eks

import (
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/trafficguard"
)

// VPCConfig is the control plane's network configuration.
type VPCConfig struct {
	SubnetIDs             []string `json:"subnetIds"`
	SecurityGroupIDs      []string `json:"securityGroupIds,omitempty"`
	EndpointPublicAccess  bool     `json:"endpointPublicAccess"`
	EndpointPrivateAccess bool     `json:"endpointPrivateAccess"`
	PublicAccessCIDRs     []string `json:"publicAccessCidrs,omitempty"`
}

// EncryptionConfig is one envelope-encryption setting.
type EncryptionConfig struct {
	KeyARN    string   `json:"keyArn"`
	Resources []string `json:"resources"`
}

// AccessConfig is the cluster's authentication mode.
type AccessConfig struct {
	AuthenticationMode string `json:"authenticationMode,omitempty"`
}

// AccessPolicy associated with an access entry.
type AccessPolicy struct {
	PolicyARN  string   `json:"policyArn"`
	ScopeType  string   `json:"scopeType"`
	Namespaces []string `json:"namespaces,omitempty"`
}

// AccessEntry grants an IAM principal access to the cluster.
type AccessEntry struct {
	PrincipalARN     string         `json:"principalArn"`
	Type             string         `json:"type,omitempty"`
	Username         string         `json:"username,omitempty"`
	KubernetesGroups []string       `json:"kubernetesGroups,omitempty"`
	Policies         []AccessPolicy `json:"policies,omitempty"`
}

// PodIdentityAssociation lets the pods of a service account assume an IAM
// role through EKS Pod Identity. AssociationID is the cluster's own ID; it
// is empty in what is to be copied.
type PodIdentityAssociation struct {
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	RoleARN        string `json:"roleArn"`
	AssociationID  string `json:"associationId,omitempty"`
}

// Addon is an EKS add-on.
type Addon struct {
	Name                  string `json:"name"`
	Version               string `json:"version,omitempty"`
	ConfigurationValues   string `json:"configurationValues,omitempty"`
	ServiceAccountRoleARN string `json:"serviceAccountRoleArn,omitempty"`
}

// Scaling of a node group.
type Scaling struct {
	Min     int32 `json:"min"`
	Max     int32 `json:"max"`
	Desired int32 `json:"desired"`
}

// Taint on a node group.
type Taint struct {
	Key    string `json:"key"`
	Value  string `json:"value,omitempty"`
	Effect string `json:"effect"`
}

// LaunchTemplate of a node group.
type LaunchTemplate struct {
	ID      string `json:"id,omitempty"`
	Name    string `json:"name,omitempty"`
	Version string `json:"version,omitempty"`
}

// UpdateConfig of a node group.
type UpdateConfig struct {
	MaxUnavailable           int32 `json:"maxUnavailable,omitempty"`
	MaxUnavailablePercentage int32 `json:"maxUnavailablePercentage,omitempty"`
}

// NodeGroup is a managed node group.
type NodeGroup struct {
	Name           string            `json:"name"`
	NodeRoleARN    string            `json:"nodeRoleArn"`
	SubnetIDs      []string          `json:"subnetIds"`
	InstanceTypes  []string          `json:"instanceTypes,omitempty"`
	AMIType        string            `json:"amiType,omitempty"`
	CapacityType   string            `json:"capacityType,omitempty"`
	DiskSize       int32             `json:"diskSize,omitempty"`
	Scaling        Scaling           `json:"scaling"`
	Labels         map[string]string `json:"labels,omitempty"`
	Taints         []Taint           `json:"taints,omitempty"`
	LaunchTemplate *LaunchTemplate   `json:"launchTemplate,omitempty"`
	UpdateConfig   *UpdateConfig     `json:"updateConfig,omitempty"`
	Tags           map[string]string `json:"tags,omitempty"`
	// Version is the Kubernetes version of the nodes.
	Version string `json:"version,omitempty"`
	// ReleaseVersion is the AMI release; empty in a plan means "resolve the
	// newest for the target version from SSM".
	ReleaseVersion string `json:"releaseVersion,omitempty"`
	Status         string `json:"status,omitempty"`
}

// NetworkConfig is the cluster's Kubernetes network configuration; it can
// only be chosen at creation.
type NetworkConfig struct {
	// ServiceIPv4CIDR of Kubernetes services, e.g. "172.20.0.0/16".
	ServiceIPv4CIDR string `json:"serviceIpv4Cidr,omitempty"`
	// IPFamily is "ipv4" or "ipv6".
	IPFamily string `json:"ipFamily,omitempty"`
}

// ClusterDescription is everything cutover reads from an EKS cluster.
type ClusterDescription struct {
	Name          string             `json:"name"`
	Region        string             `json:"region"`
	ARN           string             `json:"arn,omitempty"`
	Version       string             `json:"version"`
	Status        string             `json:"status"`
	Endpoint      string             `json:"endpoint,omitempty"`
	RoleARN       string             `json:"roleArn"`
	VPC           VPCConfig          `json:"vpc"`
	Logging       []string           `json:"logging,omitempty"`
	Encryption    []EncryptionConfig `json:"encryption,omitempty"`
	Tags          map[string]string  `json:"tags,omitempty"`
	Access        AccessConfig       `json:"access"`
	AccessEntries []AccessEntry      `json:"accessEntries,omitempty"`
	Addons        []Addon            `json:"addons,omitempty"`
	NodeGroups    []NodeGroup        `json:"nodeGroups,omitempty"`
	// PodIdentityAssociations are the cluster's own Pod Identity
	// associations (not those an add-on owns), sorted by namespace and
	// service account.
	PodIdentityAssociations []PodIdentityAssociation `json:"podIdentityAssociations,omitempty"`
	// Network is the service CIDR and IP family; nil when EKS did not report it.
	Network *NetworkConfig `json:"network,omitempty"`
	// SupportType is the upgrade policy: "STANDARD" or "EXTENDED".
	SupportType string `json:"supportType,omitempty"`
	// DeletionProtection is on when the cluster cannot be deleted until it is turned off.
	DeletionProtection bool `json:"deletionProtection,omitempty"`
	// Health lists the cluster's health issues ("code: message"), if any.
	Health []string `json:"health,omitempty"`
	// NodeGroupHealth is, per node group reporting health issues, the
	// issues; AddonHealth, per add-on not ACTIVE or reporting issues, its
	// status and issues.
	NodeGroupHealth map[string]string `json:"nodeGroupHealth,omitempty"`
	AddonHealth     map[string]string `json:"addonHealth,omitempty"`
	// FargateProfiles names the cluster's Fargate profiles (not copied to
	// green; preflight says so).
	FargateProfiles []string `json:"fargateProfiles,omitempty"`
}

// Ref returns the cluster's name and region.
func (d ClusterDescription) Ref() clusters.Ref { return clusters.Ref{Name: d.Name, Region: d.Region} }

// GreenPlan is the desired green cluster, computed by the workflow's
// planner from blue's description and the spec. It is what
// EnsureGreenCluster and friends make true.
type GreenPlan struct {
	Cluster ClusterDescription `json:"cluster"`
	// CopiedFrom is blue's name, recorded as a tag on green.
	CopiedFrom string `json:"copiedFrom"`
}

// DescribeInput names the cluster to describe.
type DescribeInput struct {
	Cluster clusters.Ref `json:"cluster"`
}

// InsightsInput asks for the upgrade readiness of a cluster.
type InsightsInput struct {
	Cluster       clusters.Ref `json:"cluster"`
	TargetVersion string       `json:"targetVersion"`
	// Addons are the EKS add-ons that will run at the target (blue's, when
	// green copies them or blue is upgraded in place): each is checked for
	// a version EKS publishes for the target before anything is built.
	Addons []string `json:"addons,omitempty"`
	// Installed are blue's versions of those add-ons; in place (InPlace)
	// each must be one EKS publishes for the target, since the control
	// plane is updated before its add-ons.
	Installed map[string]string `json:"installed,omitempty"`
	InPlace   bool              `json:"inPlace,omitempty"`
	// FirstHop is the version the control plane goes to first in place
	// (one minor above blue), when it is not the target.
	FirstHop string `json:"firstHop,omitempty"`
	// VPCCNIVersions asks for the VPC CNI versions EKS publishes for the
	// target even when it is not an EKS add-on of blue (a self-managed
	// aws-node is compared with them).
	VPCCNIVersions bool `json:"vpcCniVersions,omitempty"`
}

// InsightsResult is what EKS says about moving to the target version.
type InsightsResult struct {
	Findings []Finding `json:"findings"`
	// TargetStatus is the target version's support status (STANDARD_SUPPORT, EXTENDED_SUPPORT, UNSUPPORTED).
	TargetStatus string `json:"targetStatus,omitempty"`
	// EndOfStandardSupport of the target version, RFC 3339, if known.
	EndOfStandardSupport string `json:"endOfStandardSupport,omitempty"`
	// AddonVersions are the versions the input's add-ons will get at the
	// target and why (none for one EKS has no version of: an error finding).
	AddonVersions []AddonChoice `json:"addonVersions,omitempty"`
	// VPCCNI are the VPC CNI versions EKS publishes for the target, newest
	// first, when the input asked (VPCCNIVersions); VPCCNIDefault is the
	// one EKS marks default.
	VPCCNI        []string `json:"vpcCni,omitempty"`
	VPCCNIDefault string   `json:"vpcCniDefault,omitempty"`
}

// EnsureClusterInput creates or adopts green.
type EnsureClusterInput struct {
	Plan GreenPlan `json:"plan"`
	// RequestToken is derived from the workflow run so a retried create is
	// the same create.
	RequestToken string `json:"requestToken"`
}

// EnsureClusterResult says what happened.
type EnsureClusterResult struct {
	ARN     string `json:"arn,omitempty"`
	Status  string `json:"status"`
	Created bool   `json:"created"`
	Adopted bool   `json:"adopted"`
}

// WaitClusterInput waits for a cluster to be ACTIVE.
type WaitClusterInput struct {
	Cluster clusters.Ref `json:"cluster"`
}

// EnsureNodeGroupsInput creates green's node groups.
type EnsureNodeGroupsInput struct {
	Cluster       clusters.Ref `json:"cluster"`
	TargetVersion string       `json:"targetVersion"`
	NodeGroups    []NodeGroup  `json:"nodeGroups"`
	RequestToken  string       `json:"requestToken"`
	// AMITypeUpgrade is the spec's green.nodeGroups.amiTypeUpgrade
	// ("refuse", the default, or "successor"): with "successor", a launch
	// template pinning an AMI whose family does not exist at the target
	// version gets the successor family's AMI (AL2 -> AL2023).
	AMITypeUpgrade string `json:"amiTypeUpgrade,omitempty"`
}

// EnsureNodeGroupsResult lists the node groups, created or adopted, once ACTIVE.
type EnsureNodeGroupsResult struct {
	NodeGroups []NodeGroup `json:"nodeGroups"`
	// Created and Adopted name the node groups this call created and those
	// that already existed and matched.
	Created []string `json:"created,omitempty"`
	Adopted []string `json:"adopted,omitempty"`
	// LaunchTemplateVersions are the launch template versions this
	// migration created for green's node groups (or found by their marker
	// on a retry): what DeleteLaunchTemplateVersions removes on rollback.
	LaunchTemplateVersions []LaunchTemplateVersion `json:"launchTemplateVersions,omitempty"`
}

// LaunchTemplateVersion is a version of a launch template created for one
// of green's node groups.
type LaunchTemplateVersion struct {
	NodeGroup        string `json:"nodeGroup"`
	LaunchTemplateID string `json:"launchTemplateId"`
	Version          string `json:"version"`
	// Created: this call created it (false: an earlier attempt did, found
	// by the version's description).
	Created bool `json:"created,omitempty"`
}

// DeleteLaunchTemplateVersionsInput deletes the launch template versions a
// migration created (rollback, after green's node groups are gone).
type DeleteLaunchTemplateVersionsInput struct {
	// Cluster is green; its region is the templates' region.
	Cluster  clusters.Ref            `json:"cluster"`
	Versions []LaunchTemplateVersion `json:"versions"`
	// Migration: only versions described with its marker are deleted.
	Migration string `json:"migration"`
}

// DeleteLaunchTemplateVersionsResult names versions as "<template ID>:<version>".
type DeleteLaunchTemplateVersionsResult struct {
	Deleted []string `json:"deleted,omitempty"`
	// Gone: the version or its template does not exist (any more).
	Gone []string `json:"gone,omitempty"`
	// Kept: a template's default version, or a version that is not this
	// migration's; left as they are.
	Kept []string `json:"kept,omitempty"`
}

// PlanLaunchTemplatesInput asks what green's node groups on launch
// templates will get, without creating anything.
type PlanLaunchTemplatesInput struct {
	// Blue is blue's cluster; its region is the templates' region, its
	// name the findings' cluster.
	Blue          clusters.Ref `json:"blue"`
	TargetVersion string       `json:"targetVersion"`
	// NodeGroups are green's planned node groups (those without a launch
	// template are left out of the plan).
	NodeGroups []NodeGroup `json:"nodeGroups"`
	// AMITypeUpgrade is the spec's green.nodeGroups.amiTypeUpgrade: "refuse" or "successor".
	AMITypeUpgrade string `json:"amiTypeUpgrade,omitempty"`
}

// PlanLaunchTemplatesResult is one plan per node group on a launch
// template, and the findings of preflight (launch-template-unsupported).
type PlanLaunchTemplatesResult struct {
	Plans    []LaunchTemplatePlan `json:"plans"`
	Findings []Finding            `json:"findings,omitempty"`
}

// LaunchTemplatePlan is what green's node group gets from blue's launch template.
type LaunchTemplatePlan struct {
	NodeGroup        string `json:"nodeGroup"`
	LaunchTemplateID string `json:"launchTemplateId"`
	// SourceVersion is blue's version (the source of a new version).
	SourceVersion string `json:"sourceVersion"`
	// BlueAMI is the AMI blue's version pins ("" for none); GreenAMI the
	// one green's node group will run when the template pins one.
	BlueAMI  string `json:"blueAmi,omitempty"`
	GreenAMI string `json:"greenAmi,omitempty"`
	// Action is "keep", "new-version" or "refuse".
	Action string `json:"action"`
	Reason string `json:"reason"`
}

// EnsureAddonsInput installs green's add-ons.
type EnsureAddonsInput struct {
	Cluster       clusters.Ref `json:"cluster"`
	TargetVersion string       `json:"targetVersion"`
	Addons        []Addon      `json:"addons"`
	// RequestToken is derived from the workflow run; each add-on's create
	// token is derived from it and the add-on's name.
	RequestToken string `json:"requestToken,omitempty"`
}

// EnsureAddonsResult lists the add-ons with the versions chosen.
type EnsureAddonsResult struct {
	Addons []Addon `json:"addons"`
	// Choices say, per add-on, the version green runs and why.
	Choices []AddonChoice `json:"choices,omitempty"`
	// Created and Adopted name the add-ons this call created and those that
	// already existed.
	Created []string `json:"created,omitempty"`
	Adopted []string `json:"adopted,omitempty"`
}

// AddonChoice is the version an add-on got on green, and why.
type AddonChoice struct {
	Name                  string `json:"name"`
	Version               string `json:"version"`
	ServiceAccountRoleARN string `json:"serviceAccountRoleArn,omitempty"`
	// Reason, e.g. "EKS's default for Kubernetes 1.31".
	Reason string `json:"reason"`
}

// EnsureAccessEntriesInput copies access entries to green.
type EnsureAccessEntriesInput struct {
	Cluster clusters.Ref  `json:"cluster"`
	Entries []AccessEntry `json:"entries"`
	// SkipPrincipals are never copied (e.g. blue's creator, whose admin
	// entry EKS made at blue's creation).
	SkipPrincipals []string `json:"skipPrincipals,omitempty"`
	// RequestToken is derived from the workflow run; each entry's create
	// token is derived from it and the principal.
	RequestToken string `json:"requestToken,omitempty"`
}

// EnsureAccessEntriesResult lists the principals now on green.
type EnsureAccessEntriesResult struct {
	Principals []string `json:"principals"`
	// Created: entries this call (or an earlier attempt) created, with their policies.
	Created []string `json:"created,omitempty"`
	// Existing: entries green already had that cutover did not create (the
	// cluster creator's, node roles'); left as they are.
	Existing []string `json:"existing,omitempty"`
	// Skipped: SkipPrincipals that were in the input.
	Skipped []string `json:"skipped,omitempty"`
}

// EnsurePodIdentityInput copies Pod Identity associations to a cluster.
type EnsurePodIdentityInput struct {
	Cluster      clusters.Ref             `json:"cluster"`
	Associations []PodIdentityAssociation `json:"associations"`
	// Migration is tagged (cutover.dev/migration) on what is created, so a
	// rollback deletes only this migration's associations.
	Migration string `json:"migration,omitempty"`
	// RequestToken is derived from the workflow run; each association's
	// create token is derived from it, the namespace and the service account.
	RequestToken string `json:"requestToken,omitempty"`
}

// EnsurePodIdentityResult lists the associations on the cluster.
type EnsurePodIdentityResult struct {
	// Created: associations this call (or an earlier attempt of this
	// migration) created, with their IDs.
	Created []PodIdentityAssociation `json:"created,omitempty"`
	// Adopted: identical associations the cluster already had.
	Adopted []PodIdentityAssociation `json:"adopted,omitempty"`
}

// DeletePodIdentityInput deletes associations a migration created.
type DeletePodIdentityInput struct {
	Cluster clusters.Ref `json:"cluster"`
	// Associations to delete: by AssociationID when it is known, else the
	// one of the namespace and service account. Only associations tagged
	// with Migration are deleted.
	Associations []PodIdentityAssociation `json:"associations"`
	Migration    string                   `json:"migration"`
}

// DeletePodIdentityResult says what was deleted.
type DeletePodIdentityResult struct {
	Deleted []PodIdentityAssociation `json:"deleted,omitempty"`
	// Gone: associations that did not exist (any more).
	Gone []PodIdentityAssociation `json:"gone,omitempty"`
	// Kept: associations that are not this migration's; left as they are.
	Kept []PodIdentityAssociation `json:"kept,omitempty"`
}

// TrafficGuard tells the retire activity how to check that the cluster it
// is about to delete no longer receives traffic. It is defined in the
// neutral package trafficguard, which the traffic activities implement a
// reader of, so eks and traffic do not import each other.
type TrafficGuard = trafficguard.Guard

// RetireInput deletes a cluster.
type RetireInput struct {
	Cluster clusters.Ref `json:"cluster"`
	// Role is "blue" or "green", for logs and the report.
	Role string `json:"role"`
	// Guard, when set, is checked before anything is deleted.
	Guard *TrafficGuard `json:"guard,omitempty"`
	// OwnedBy, when set, refuses to delete a cluster whose
	// cutover.dev/migration tag is not this migration: a rollback deletes
	// only the green it built, never a cluster that happened to have the name.
	OwnedBy string `json:"ownedBy,omitempty"`
}

// RetireResult lists what was deleted.
type RetireResult struct {
	DeletedAddons     []string `json:"deletedAddons,omitempty"`
	DeletedNodeGroups []string `json:"deletedNodeGroups,omitempty"`
	// DeletedFargateProfiles: a cluster with Fargate profiles cannot be deleted.
	DeletedFargateProfiles []string `json:"deletedFargateProfiles,omitempty"`
	ClusterDeleted         bool     `json:"clusterDeleted"`
	AlreadyGone            bool     `json:"alreadyGone"`
}
