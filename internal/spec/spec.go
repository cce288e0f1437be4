// Package spec holds MigrationSpec, the one input of the BlueGreenMigration
// workflow: the JSON a person pastes into the Temporal UI or passes to
// `cutover start -f`. It also holds the defaults and the validation that runs
// before anything is created.
//
// Every field is documented here; deploy/schema/migration-spec.schema.json is
// generated from these types (go run ./cmd/genschema, `make schema`) and a test
// fails when the two drift apart.
package spec

// MigrationSpec describes one blue/green migration of an EKS cluster.
type MigrationSpec struct {
	// Name identifies the migration; the workflow ID is "cutover-<name>".
	// Lowercase letters, digits and '-', at most 63 characters.
	Name string `json:"name,omitempty"`
	// Blue is the cluster serving traffic today.
	Blue BlueSpec `json:"blue"`
	// Green is the cluster to build at the target Kubernetes version.
	Green GreenSpec `json:"green"`
	// Preflight decides which findings on blue stop the migration.
	Preflight PreflightSpec `json:"preflight"`
	// ArgoCD restores Argo CD applications into green.
	ArgoCD ArgoCDSpec `json:"argocd"`
	// Velero restores a Velero backup of blue into green.
	Velero VeleroSpec `json:"velero"`
	// Jobs keeps CronJobs and singleton workloads from running on both
	// clusters at once.
	Jobs JobsSpec `json:"jobs"`
	// Smoke proves green before any traffic goes to it.
	Smoke SmokeSpec `json:"smoke"`
	// Traffic moves users from blue to green.
	Traffic TrafficSpec `json:"traffic"`
	// Approvals are the human gates.
	Approvals ApprovalsSpec `json:"approvals"`
	// Retire decides what happens to blue once green has all the traffic.
	Retire RetireSpec `json:"retire"`
	// Rollback decides what happens to green when the migration is rolled back.
	Rollback RollbackSpec `json:"rollback"`
	// Notify is where gate requests, reminders and outcomes are posted.
	Notify NotifySpec `json:"notify"`
	// DryRun stops after Preflight and returns the plan; nothing is created.
	DryRun bool `json:"dryRun,omitempty"`
	// Strategy: "blueGreen" (default) builds green beside blue and moves
	// traffic to it; "inPlace" upgrades blue itself, one minor version at
	// a time (control plane, add-ons, managed node groups), with the same
	// preflight, gates, report and fleet machinery. green.kubernetesVersion
	// is the target either way; with inPlace green.clusterName, traffic and
	// velero stay empty.
	Strategy string `json:"strategy,omitempty"`
	// InPlace configures an in-place upgrade (strategy "inPlace").
	InPlace InPlaceSpec `json:"inPlace"`
}

// Strategies.
const (
	StrategyBlueGreen = "blueGreen"
	StrategyInPlace   = "inPlace"
)

// IsInPlace reports whether the spec upgrades blue in place.
func (s *MigrationSpec) IsInPlace() bool { return s.Strategy == StrategyInPlace }

// InPlaceSpec configures an in-place upgrade.
type InPlaceSpec struct {
	// MaxUnavailable is how many nodes of a node group are replaced at
	// once (its updateConfig); 0 keeps each node group's own setting.
	MaxUnavailable int32 `json:"maxUnavailable,omitempty"`
	// MaxUnavailablePercentage instead of a count, 1 to 100; at most one of the two.
	MaxUnavailablePercentage int32 `json:"maxUnavailablePercentage,omitempty"`
	// Force evicts pods even when a PodDisruptionBudget forbids it (the
	// force option of UpdateNodegroupVersion). Default false: a node
	// group update that stalls on PodDisruptionBudgets fails, naming them.
	Force bool `json:"force,omitempty"`
	// UpdateTimeout bounds one control-plane, add-on or node-group update. Default "2h".
	UpdateTimeout Duration `json:"updateTimeout,omitempty"`
	// RollbackNodeGroups: when a hop's verification or smoke tests fail,
	// the node groups on their own launch template that the hop moved go
	// back to the template version they ran before (EKS allows it for a
	// launch template's AMI; a node group on an EKS AMI release cannot go
	// back, nor can the control plane, and both stay where they are).
	// Default false: stop forward and report.
	RollbackNodeGroups bool `json:"rollbackNodeGroups,omitempty"`
}

// BlueSpec names the existing cluster.
type BlueSpec struct {
	// ClusterName is the EKS cluster name of blue. Required.
	ClusterName string `json:"clusterName,omitempty"`
	// Region is the AWS region of blue. Required.
	Region string `json:"region,omitempty"`
	// LogicalName is the logical cluster blue is, e.g. "shop-prod" (a
	// fleet sets it for its members): green is tagged
	// cutover.dev/logical-cluster with it and cutover.dev/generation one
	// above blue's, so the next quarter's run finds green as the cluster
	// to move. Lower-case letters, digits and '-', at most 63.
	LogicalName string `json:"logicalName,omitempty"`
}

// GreenSpec describes the cluster to build. Unless said otherwise, green is
// a copy of blue (VPC config, role, logging, encryption, tags, access
// entries, add-ons and their configuration, managed node groups) at
// KubernetesVersion.
type GreenSpec struct {
	// ClusterName of green. Default: "<blue>-<version with '.' as '-'>", e.g. "prod-1-31".
	ClusterName string `json:"clusterName,omitempty"`
	// KubernetesVersion is the target version, "major.minor" (e.g. "1.31"). Required.
	// It must be a version EKS offers and newer than blue's.
	KubernetesVersion string `json:"kubernetesVersion,omitempty"`
	// AllowSameVersion lets green be built at blue's own version, to
	// rebuild a cluster (new VPC, node groups, encryption) without an
	// upgrade. Default false: green must be newer than blue.
	AllowSameVersion bool `json:"allowSameVersion,omitempty"`
	// Copy says which parts of blue are copied into green. Default: all true.
	Copy CopySpec `json:"copy"`
	// Overrides replace values copied from blue.
	Overrides GreenOverrides `json:"overrides"`
	// NodeGroups says how blue's managed node groups are carried to the target version.
	NodeGroups NodeGroupsSpec `json:"nodeGroups"`
}

// AMI type upgrade choices for node groups whose AMI type the target
// Kubernetes version no longer offers (Amazon Linux 2 from 1.33).
const (
	AMITypeUpgradeRefuse    = "refuse"    // preflight refuses the migration, naming the node group
	AMITypeUpgradeSuccessor = "successor" // green's node group gets the successor AMI type (AL2 -> AL2023)
)

// NodeGroupsSpec is the policy for green's copies of blue's node groups.
type NodeGroupsSpec struct {
	// AMITypeUpgrade decides what happens to a node group whose AMI type
	// does not exist at the target version (AL2_* at 1.33 and later):
	// "refuse" (default) stops the migration in preflight with finding
	// "ami-type-unavailable"; "successor" builds green's node group on the
	// successor AMI type (AL2_x86_64 -> AL2023_x86_64_STANDARD,
	// AL2_x86_64_GPU -> AL2023_x86_64_NVIDIA, AL2_ARM_64 -> AL2023_ARM_64_STANDARD).
	AMITypeUpgrade string `json:"amiTypeUpgrade,omitempty"`
}

// CopySpec selects what green inherits from blue.
type CopySpec struct {
	NodeGroups    *bool `json:"nodeGroups,omitempty"`
	Addons        *bool `json:"addons,omitempty"`
	AccessEntries *bool `json:"accessEntries,omitempty"`
	Tags          *bool `json:"tags,omitempty"`
	Logging       *bool `json:"logging,omitempty"`
	// PodIdentity copies blue's EKS Pod Identity associations (namespace,
	// service account, role) to green. Default true.
	PodIdentity *bool `json:"podIdentity,omitempty"`
	// AWSAuth carries the role and user mappings of blue's aws-auth
	// ConfigMap (node roles aside) into green's. Default true.
	AWSAuth *bool `json:"awsAuth,omitempty"`
	// ArgoCDAccess gives the IAM identities the Argo CD that manages green
	// reaches it with (the role it assumes, its IRSA roles) an access entry
	// on green with AmazonEKSClusterAdminPolicy. Default true.
	ArgoCDAccess *bool `json:"argoCDAccess,omitempty"`
	// KarpenterDiscovery puts the karpenter.sh/discovery tag on the subnets
	// and security groups green uses and adds green's value to the
	// EC2NodeClasses restored into green. Default true (nothing is done when
	// blue's subnets and security groups carry no discovery tag).
	KarpenterDiscovery *bool `json:"karpenterDiscovery,omitempty"`
}

// On reports whether a copy switch is on (unset means the default, on).
func On(b *bool) bool { return b == nil || *b }

// GreenOverrides replace what is copied from blue.
type GreenOverrides struct {
	// SubnetIDs for the control plane ENIs. Default: blue's.
	SubnetIDs []string `json:"subnetIds,omitempty"`
	// SecurityGroupIDs for the control plane. Default: blue's.
	SecurityGroupIDs []string `json:"securityGroupIds,omitempty"`
	// RoleARN of the cluster IAM role. Default: blue's.
	RoleARN string `json:"roleArn,omitempty"`
	// Tags added to (or replacing) blue's tags on green.
	Tags map[string]string `json:"tags,omitempty"`
	// NodeGroupInstanceTypes replaces the instance types of every copied node group.
	NodeGroupInstanceTypes []string `json:"nodeGroupInstanceTypes,omitempty"`
}

// PreflightSpec is the policy for findings.
type PreflightSpec struct {
	// BlockOn is the lowest severity that stops the migration:
	// "error" (default), "warning", or "none" (report only).
	BlockOn string `json:"blockOn,omitempty"`
	// IgnoreChecks lists check IDs whose findings never block (they are still reported).
	IgnoreChecks []string `json:"ignoreChecks,omitempty"`
}

// ArgoCD restore modes.
const (
	ArgoCDModeRetarget = "retarget" // repoint blue's Applications at green (same Argo CD)
	ArgoCDModeCopy     = "copy"     // copy Applications to green's own Argo CD
	ArgoCDModeNone     = "none"     // leave Argo CD alone
)

// ArgoCDSpec restores Argo CD applications into green.
type ArgoCDSpec struct {
	// Mode: "retarget" (default), "copy" or "none".
	Mode string `json:"mode,omitempty"`
	// Namespace where Argo CD runs. Default "argocd".
	Namespace string `json:"namespace,omitempty"`
	// Selector is a label selector over Applications. Default: all.
	Selector string `json:"selector,omitempty"`
	// SyncTimeout bounds the wait for every application to be Synced and Healthy. Default "30m".
	SyncTimeout Duration `json:"syncTimeout,omitempty"`
	// Prune lets the sync delete resources no longer in git. Default false.
	Prune bool `json:"prune,omitempty"`
	// MoveToGreen: when the Argo CD that manages green runs inside blue
	// (retarget mode), install the same Argo CD version on green, carry its
	// settings and applications (re-pointed to in-cluster) and stop blue's
	// before blue is retired. Default true; false refuses, in preflight,
	// to retire blue while it hosts the Argo CD that manages green.
	MoveToGreen *bool `json:"moveToGreen,omitempty"`
	// Hub names the cluster Argo CD runs on when it is neither blue nor
	// green (a management cluster): retarget changes the Applications and
	// ApplicationSets there, and blue's retirement leaves it alone. Default:
	// Argo CD is looked for in blue.
	Hub *ArgoCDHubSpec `json:"hub,omitempty"`
}

// ArgoCDHubSpec is the management cluster Argo CD runs on.
type ArgoCDHubSpec struct {
	// ClusterName is the EKS cluster name of the hub, neither blue nor green. Required.
	ClusterName string `json:"clusterName,omitempty"`
	// Region of the hub. Default blue's region.
	Region string `json:"region,omitempty"`
}

// VeleroSpec restores a Velero backup of blue into green.
type VeleroSpec struct {
	// Enabled turns the Velero restore on. Default false.
	Enabled bool `json:"enabled,omitempty"`
	// Namespace where Velero runs on both clusters. Default "velero".
	Namespace string `json:"namespace,omitempty"`
	// BackupName restores an existing backup; empty means take a fresh one
	// of blue named "cutover-<migration>".
	BackupName string `json:"backupName,omitempty"`
	// IncludedNamespaces of the backup and restore. Default: all.
	IncludedNamespaces []string `json:"includedNamespaces,omitempty"`
	// ExcludedNamespaces of the backup and restore.
	ExcludedNamespaces []string `json:"excludedNamespaces,omitempty"`
	// RestorePVs restores volume snapshots. Default true.
	RestorePVs *bool `json:"restorePVs,omitempty"`
	// ExistingResourcePolicy: "none" (default) or "update".
	ExistingResourcePolicy string `json:"existingResourcePolicy,omitempty"`
	// Timeout bounds backup and restore each. Default "1h".
	Timeout Duration `json:"timeout,omitempty"`
	// StorageLocation is the BackupStorageLocation both clusters' Velero
	// share. Default "default".
	StorageLocation string `json:"storageLocation,omitempty"`
	// ReadOnlyDuringRestore sets green's BackupStorageLocation to ReadOnly
	// while the restore runs (and back afterwards), so green never writes
	// into blue's backups. Default true.
	ReadOnlyDuringRestore *bool `json:"readOnlyDuringRestore,omitempty"`
	// InstallOnGreen installs on green, when Velero does not run there, the
	// Velero blue runs: same version, ServiceAccount (and its IAM role),
	// credentials and StorageLocation. Default false: a green without
	// Velero stops the migration before the backup.
	InstallOnGreen bool `json:"installOnGreen,omitempty"`
}

// JobsSpec holds what must run in one cluster only. After the restore,
// green's CronJobs are suspended and its singletons scaled to zero; at the
// traffic step MoveAtStep they are released on green and held on blue; a
// rollback puts both back as they were.
type JobsSpec struct {
	// CronJobs holds green's CronJobs (of the restored namespaces). Default true.
	CronJobs *bool `json:"cronJobs,omitempty"`
	// Singletons are Deployments and StatefulSets that must run in one
	// cluster only (a queue consumer, a leader-elected scheduler).
	Singletons []SingletonSpec `json:"singletons,omitempty"`
	// MoveAtStep is the traffic step (its green percentage, one of
	// traffic.steps) at which they move to green. Default: the last step.
	MoveAtStep int `json:"moveAtStep,omitempty"`
}

// SingletonSpec selects workloads by label in one namespace.
type SingletonSpec struct {
	// Namespace of the workloads. Required.
	Namespace string `json:"namespace,omitempty"`
	// Selector is a label selector over Deployments and StatefulSets. Required.
	Selector string `json:"selector,omitempty"`
}

// SmokeSpec proves green.
type SmokeSpec struct {
	// Kubernetes checks run inside green.
	Kubernetes KubeSmokeSpec `json:"kubernetes"`
	// HTTP probes, e.g. against green's ingress with the production Host header.
	HTTP []HTTPProbe `json:"http,omitempty"`
	// K6 runs a k6 script as a Job in green.
	K6 *K6Spec `json:"k6,omitempty"`
	// Timeout bounds the whole smoke phase. Default "15m".
	Timeout Duration `json:"timeout,omitempty"`
}

// KubeSmokeSpec are in-cluster checks.
type KubeSmokeSpec struct {
	// WorkloadsReady requires every Deployment, StatefulSet and DaemonSet to be available. Default true.
	WorkloadsReady *bool `json:"workloadsReady,omitempty"`
	// Namespaces limits WorkloadsReady. Default: all but kube-system-like namespaces.
	Namespaces []string `json:"namespaces,omitempty"`
	// ScratchWorkload creates a temporary pod, service and PVC and removes them. Default true.
	ScratchWorkload *bool `json:"scratchWorkload,omitempty"`
	// StorageClass for the scratch PVC. Default: the cluster default.
	StorageClass string `json:"storageClass,omitempty"`
}

// HTTPProbe is one HTTP check. It is used in SmokeTest and during every bake.
type HTTPProbe struct {
	// Name of the probe in reports. Required.
	Name string `json:"name,omitempty"`
	// URL to GET. Required, http or https.
	URL string `json:"url,omitempty"`
	// Host is the production hostname, to reach green before DNS points at
	// it: the request goes to URL's address with Host as its Host header
	// and, for https, as the TLS server name the certificate is verified
	// against (like curl --connect-to).
	Host string `json:"host,omitempty"`
	// ExpectStatus is the wanted status code. Default 200.
	ExpectStatus int `json:"expectStatus,omitempty"`
	// BodyContains must appear in the response body, if set.
	BodyContains string `json:"bodyContains,omitempty"`
	// MaxLatency fails the probe when a response is slower. Default "2s".
	MaxLatency Duration `json:"maxLatency,omitempty"`
	// Retries before the probe fails. Default 3.
	Retries int `json:"retries,omitempty"`
}

// K6Spec runs a k6 load script in green.
type K6Spec struct {
	// ConfigMap holding the script, in Namespace. Required.
	ConfigMap string `json:"configMap,omitempty"`
	// Namespace of the job. Default "default".
	Namespace string `json:"namespace,omitempty"`
	// Image of k6. Default "grafana/k6:0.54.0".
	Image string `json:"image,omitempty"`
}

// Traffic providers.
const (
	ProviderRoute53    = "route53"
	ProviderCloudFront = "cloudfront"
)

// TrafficSpec moves users from blue to green in steps.
type TrafficSpec struct {
	// Provider: "route53" or "cloudfront". Required.
	Provider string `json:"provider,omitempty"`
	// Route53 weighted records, when Provider is "route53".
	Route53 *Route53Spec `json:"route53,omitempty"`
	// CloudFront distribution, when Provider is "cloudfront".
	CloudFront *CloudFrontSpec `json:"cloudfront,omitempty"`
	// Steps are green's percentages, increasing, the last one 100.
	// Default [10, 50, 100]. CloudFront origin switches are all-or-nothing:
	// [100]; CloudFront continuous deployment: [5, 15, 100].
	Steps []int `json:"steps,omitempty"`
	// BakeTime is how long each step is watched before the next. Default "10m".
	BakeTime Duration `json:"bakeTime,omitempty"`
	// CheckInterval is how often alarms and probes are read while baking. Default "30s".
	CheckInterval Duration `json:"checkInterval,omitempty"`
	// HealthReadBudget is how long a health reading that cannot be taken
	// (CloudWatch alarms throttled or answering 5xx, a probe that times
	// out, cannot connect or gets 408/429/5xx) is retried, with backoff,
	// before it counts as unhealthy and rolls traffic back. An alarm in
	// ALARM or a probe with the wrong status or body counts at once.
	// Default "60s"; at most "15m".
	HealthReadBudget Duration `json:"healthReadBudget,omitempty"`
	// Alarms are CloudWatch alarm names; any in ALARM rolls traffic back.
	Alarms []string `json:"alarms,omitempty"`
	// ProbeDuringBake re-runs smoke.http probes at every check. Default true.
	ProbeDuringBake *bool `json:"probeDuringBake,omitempty"`
}

// Route53Spec names the weighted record pair.
type Route53Spec struct {
	HostedZoneID string `json:"hostedZoneId,omitempty"`
	// RecordName, e.g. "app.example.com".
	RecordName string `json:"recordName,omitempty"`
	// RecordType: "CNAME" (default) or "A" (alias).
	RecordType string `json:"recordType,omitempty"`
	// BlueSetIdentifier of blue's weighted record. Default "blue".
	BlueSetIdentifier string `json:"blueSetIdentifier,omitempty"`
	// GreenSetIdentifier of green's weighted record. Default "green".
	GreenSetIdentifier string `json:"greenSetIdentifier,omitempty"`
	// GreenTarget is green's load balancer DNS name, when it is known
	// before green exists. Exactly one of greenTarget and greenTargetFrom.
	GreenTarget string `json:"greenTarget,omitempty"`
	// GreenTargetFrom names green's entry point (an Ingress, or a Service
	// of type LoadBalancer, restored from blue): after the restore cutover
	// waits for its status.loadBalancer hostname, looks the load balancer
	// up in ELBv2 (its canonical hosted zone, for an alias record) and
	// points green's record at it. Exactly one of greenTarget and
	// greenTargetFrom.
	GreenTargetFrom *EntryPointSpec `json:"greenTargetFrom,omitempty"`
	// TTL of the records in seconds. Default 60.
	TTL int64 `json:"ttl,omitempty"`
	// AfterMigration is what a record that was simple (not weighted) when
	// the migration started becomes: "weighted" (default) keeps the pair
	// cutover made of it; "simple" makes it a simple record again, pointing
	// at green once blue is retired, or at blue as it was on a rollback.
	// cutover converts a simple record into the pair (blue 100, green 0) in
	// one atomic change before the first traffic step.
	AfterMigration string `json:"afterMigration,omitempty"`
}

// EntryPointSpec names a Kubernetes object on green whose load balancer
// receives the traffic.
type EntryPointSpec struct {
	// Kind: "Ingress" or "Service" (of type LoadBalancer). Required.
	Kind string `json:"kind,omitempty"`
	// Namespace of the object. Required.
	Namespace string `json:"namespace,omitempty"`
	// Name of the object. Required.
	Name string `json:"name,omitempty"`
	// Timeout is how long to wait for its load balancer hostname after
	// the restore. Default "15m"; at most "1h".
	Timeout Duration `json:"timeout,omitempty"`
}

// Kinds of entry point.
const (
	EntryPointIngress = "Ingress"
	EntryPointService = "Service"
)

// What a converted simple record becomes after the migration.
const (
	AfterMigrationWeighted = "weighted"
	AfterMigrationSimple   = "simple"
)

// CloudFrontSpec names the distribution and its origins.
type CloudFrontSpec struct {
	DistributionID string `json:"distributionId,omitempty"`
	// BlueOriginID is the origin the default behavior uses today. Required,
	// unless greenOriginFrom is set: then the default is the origin the
	// default cache behavior targets when the migration starts.
	BlueOriginID string `json:"blueOriginId,omitempty"`
	// GreenOriginID is the origin to switch to. Required, unless
	// greenOriginFrom is set: then the default is green's cluster name.
	GreenOriginID string `json:"greenOriginId,omitempty"`
	// GreenOriginDomain creates the green origin when it does not exist.
	// At most one of greenOriginDomain and greenOriginFrom.
	GreenOriginDomain string `json:"greenOriginDomain,omitempty"`
	// GreenOriginFrom names green's entry point (an Ingress, or a Service
	// of type LoadBalancer, restored from blue): after the restore cutover
	// waits for its status.loadBalancer hostname and creates green's
	// origin with it, so a fleet member carries no per-quarter origin.
	GreenOriginFrom *EntryPointSpec `json:"greenOriginFrom,omitempty"`
	// Mode: "switch" (default) moves the default behavior from blue's
	// origin to green's at once (steps [100]); "continuousDeployment"
	// creates a staging distribution (a copy of this one serving green's
	// origin) and a continuous-deployment policy that sends it a share of
	// requests: each step but the last is that share, at most 15 (CloudFront's
	// cap), baked with the same alarm watch; the last step, 100, promotes
	// the staging configuration onto this distribution and deletes the
	// staging distribution and the policy. A rollback before the promotion
	// detaches the policy (all requests back to this distribution, on
	// blue). Default steps [5, 15, 100].
	Mode string `json:"mode,omitempty"`
}

// CloudFront modes.
const (
	CloudFrontModeSwitch     = "switch"
	CloudFrontModeContinuous = "continuousDeployment"
	// CloudFrontMaxStagingWeight is CloudFront's cap on a
	// continuous-deployment policy's weight, in percent.
	CloudFrontMaxStagingWeight = 15
)

// ContinuousDeployment reports whether traffic moves through a CloudFront
// staging distribution.
func (t TrafficSpec) ContinuousDeployment() bool {
	return t.Provider == ProviderCloudFront && t.CloudFront != nil && t.CloudFront.Mode == CloudFrontModeContinuous
}

// Gate names.
const (
	GateCutover = "cutover"
	GateRetire  = "retire"
	// GateStepPrefix + step number (2, 3, ...) names the per-step gates.
	GateStepPrefix = "traffic-step-"
)

// What happens when nobody decides before a gate's timeout.
const (
	OnTimeoutReject  = "reject"
	OnTimeoutApprove = "approve"
	// OnTimeoutWait keeps the gate open past its timeout, reminding, with
	// traffic where it is: the retire gate's default, so nobody answering
	// never rolls a finished cutover back.
	OnTimeoutWait = "wait"
)

// ApprovalsSpec configures the human gates.
type ApprovalsSpec struct {
	// Cutover gate, after smoke tests and before any traffic moves. Enabled by default.
	Cutover GateSpec `json:"cutover"`
	// Retire gate, after all traffic is on green and before the soak. Enabled by default.
	Retire GateSpec `json:"retire"`
	// EachStep gates every traffic step after the first. Disabled by default.
	EachStep GateSpec `json:"eachStep"`
	// ControlPlane gates each control-plane update of an in-place upgrade
	// ("control-plane-1.31"): EKS cannot downgrade a control plane, so a
	// person approves each. Enabled by default with strategy "inPlace".
	ControlPlane GateSpec `json:"controlPlane"`
	// ReminderInterval re-posts an open gate. Default "1h"; "0s" turns reminders off.
	ReminderInterval *Duration `json:"reminderInterval,omitempty"`
}

// GateSpec configures one gate.
type GateSpec struct {
	// Enabled turns the gate on.
	Enabled *bool `json:"enabled,omitempty"`
	// Approvers allowed to decide. Empty means anyone who names themselves.
	Approvers []string `json:"approvers,omitempty"`
	// Timeout after which OnTimeout applies. Default "24h".
	Timeout Duration `json:"timeout,omitempty"`
	// OnTimeout: "reject", "approve" or "wait" (keep waiting and
	// reminding). Default "wait" for the retire gate, "reject" for the others.
	OnTimeout string `json:"onTimeout,omitempty"`
}

// IsEnabled reports whether the gate is on.
func (g GateSpec) IsEnabled() bool { return g.Enabled != nil && *g.Enabled }

// RetireSpec decides blue's fate.
type RetireSpec struct {
	// Soak is the durable wait with all traffic on green before blue is retired. Default "24h".
	Soak Duration `json:"soak,omitempty"`
	// Blue: "delete" (default) deletes node groups and cluster; "keep" leaves blue running.
	Blue string `json:"blue,omitempty"`
	// Volumes: what becomes of the EBS volumes of blue's PersistentVolumes with reclaimPolicy Retain once blue is deleted: "keep" (default) lists them in the report; "delete" deletes those the EBS CSI driver provisioned for that PersistentVolume that are detached and that no PersistentVolume of green uses (the others are kept, with why).
	Volumes string `json:"volumes,omitempty"`
}

// Fates of blue's retained EBS volumes (retire.volumes).
const (
	VolumesKeep   = "keep"
	VolumesDelete = "delete"
)

// Fates of a cluster.
const (
	FateDelete = "delete"
	FateKeep   = "keep"
)

// RollbackSpec decides green's fate on rollback.
type RollbackSpec struct {
	// Green: "keep" (default, for debugging) or "delete".
	Green string `json:"green,omitempty"`
}

// NotifySpec says where to post.
type NotifySpec struct {
	// SlackChannel for gates and outcomes, e.g. "#platform-cutover".
	SlackChannel string `json:"slackChannel,omitempty"`
	// WebhookURL posts JSON to any chatops endpoint instead of Slack.
	WebhookURL string `json:"webhookUrl,omitempty"`
}

// WorkflowID is the ID of the migration's workflow.
func (s *MigrationSpec) WorkflowID() string { return "cutover-" + s.Name }
