package spec

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// FieldError is one problem with one field.
type FieldError struct {
	// Field is the JSON path, e.g. "traffic.steps[2]".
	Field string `json:"field"`
	// Reason says what is wrong and what is allowed.
	Reason string `json:"reason"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Reason }

// FieldErrors is every problem found in a spec, in field order.
type FieldErrors []FieldError

func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return fmt.Sprintf("invalid migration spec (%d problems): %s", len(es), strings.Join(parts, "; "))
}

var (
	nameRE        = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	clusterNameRE = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9\-_]*$`)
	versionRE     = regexp.MustCompile(`^1\.(\d{2})$`)
	zoneIDRE      = regexp.MustCompile(`^(/hostedzone/)?[A-Z0-9]{1,32}$`)
	subnetRE      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	sgRE          = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
	// labelRE is one DNS label (RFC 1123).
	labelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	// objectNameRE is a Kubernetes object name (RFC 1123 subdomain).
	objectNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// distributionRE is a CloudFront distribution ID.
	distributionRE = regexp.MustCompile(`^[A-Z0-9]{8,20}$`)
	// originIDRE: CloudFront origin IDs are free text, but cutover writes
	// them into API calls and reports; no control characters or spaces.
	originIDRE = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,128}$`)
	// alarmNameRE: CloudWatch alarm names are 1-255 printable characters.
	alarmNameRE = regexp.MustCompile(`^[^\x00-\x1f\x7f]{1,255}$`)
)

// Upper bounds of durations: a longer value is a typo ("240h" for "24h",
// seconds given as minutes) that would hold a migration for months.
const (
	maxGateTimeout  = 30 * 24 * time.Hour
	maxSoak         = 30 * 24 * time.Hour
	maxBakeTime     = 7 * 24 * time.Hour
	maxCheck        = time.Hour
	maxReminder     = 7 * 24 * time.Hour
	maxPhaseTimeout = 48 * time.Hour
	maxLatency      = 5 * time.Minute
	// maxEntryPointWait: a load balancer that takes longer is not coming.
	maxEntryPointWait = time.Hour
	// maxHealthReadBudget: past it traffic stays unwatched too long.
	maxHealthReadBudget = 15 * time.Minute
)

// DefaultEntryPointWait is traffic.route53.greenTargetFrom.timeout's default.
const DefaultEntryPointWait = 15 * time.Minute

// DefaultHealthReadBudget is traffic.healthReadBudget's default.
const DefaultHealthReadBudget = time.Minute

type collector struct{ errs FieldErrors }

func (c *collector) add(field, format string, args ...any) {
	c.errs = append(c.errs, FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (c *collector) oneOf(field, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.add(field, "must be one of %s, got %q", strings.Join(quoteAll(allowed), ", "), v)
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// MinorVersion parses "1.31" into 31.
func MinorVersion(v string) (int, bool) {
	m := versionRE.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// Validate checks a spec that has had WithDefaults applied and returns every
// problem at once, or nil. It is pure: the workflow runs it before any
// activity, and `cutover validate` runs the same code.
func (s MigrationSpec) Validate() error {
	c := &collector{}
	if s.Name == "" {
		c.add("name", "is required")
	} else if len(s.Name) > 63 || !nameRE.MatchString(s.Name) {
		c.add("name", "must be at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit, got %q", s.Name)
	}

	validateCluster(c, "blue.clusterName", s.Blue.ClusterName)
	if l := s.Blue.LogicalName; l != "" && !nameRE.MatchString(l) {
		c.add("blue.logicalName", "must be at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit, got %q", l)
	}
	if s.Blue.Region == "" {
		c.add("blue.region", "is required")
	} else if !knownRegions[s.Blue.Region] {
		c.add("blue.region", "must be an AWS region of the SDK's partition data such as \"eu-west-1\", got %q", s.Blue.Region)
	}

	if s.Green.KubernetesVersion == "" {
		c.add("green.kubernetesVersion", "is required (e.g. \"1.31\")")
	} else if _, ok := MinorVersion(s.Green.KubernetesVersion); !ok {
		c.add("green.kubernetesVersion", "must be \"1.<minor>\" such as \"1.31\", got %q", s.Green.KubernetesVersion)
	} else if !IsKnownEKSVersion(s.Green.KubernetesVersion) {
		c.add("green.kubernetesVersion", "%s is not a Kubernetes version EKS offers (known: %s)", s.Green.KubernetesVersion, knownVersionList())
	}
	if s.Green.ClusterName != "" {
		validateCluster(c, "green.clusterName", s.Green.ClusterName)
		if s.Green.ClusterName == s.Blue.ClusterName {
			c.add("green.clusterName", "must differ from blue.clusterName %q", s.Blue.ClusterName)
		}
	}
	for i, id := range s.Green.Overrides.SubnetIDs {
		if !subnetRE.MatchString(id) {
			c.add(fmt.Sprintf("green.overrides.subnetIds[%d]", i), "must be a subnet ID such as \"subnet-0abc1234\", got %q", id)
		}
	}
	if n := len(s.Green.Overrides.SubnetIDs); n == 1 {
		c.add("green.overrides.subnetIds", "EKS needs subnets in at least two availability zones, got 1 subnet")
	}
	for i, id := range s.Green.Overrides.SecurityGroupIDs {
		if !sgRE.MatchString(id) {
			c.add(fmt.Sprintf("green.overrides.securityGroupIds[%d]", i), "must be a security group ID such as \"sg-0abc1234\", got %q", id)
		}
	}
	if r := s.Green.Overrides.RoleARN; r != "" {
		roleARN(c, "green.overrides.roleArn", r)
	}
	tags(c, "green.overrides.tags", s.Green.Overrides.Tags)
	for i, it := range s.Green.Overrides.NodeGroupInstanceTypes {
		if !instanceTypeRE.MatchString(it) {
			c.add(fmt.Sprintf("green.overrides.nodeGroupInstanceTypes[%d]", i), "must be an EC2 instance type such as \"m6i.large\", got %q", it)
		}
	}
	for i, id := range s.Preflight.IgnoreChecks {
		if strings.TrimSpace(id) == "" || hasControl(id) {
			c.add(fmt.Sprintf("preflight.ignoreChecks[%d]", i), "must be a check ID, got %q", id)
		}
	}

	c.oneOf("green.nodeGroups.amiTypeUpgrade", s.Green.NodeGroups.AMITypeUpgrade, AMITypeUpgradeRefuse, AMITypeUpgradeSuccessor)
	c.oneOf("preflight.blockOn", s.Preflight.BlockOn, "error", "warning", "none")

	c.oneOf("argocd.mode", s.ArgoCD.Mode, ArgoCDModeRetarget, ArgoCDModeCopy, ArgoCDModeNone)
	bounded(c, "argocd.syncTimeout", s.ArgoCD.SyncTimeout, Duration(maxPhaseTimeout))
	k8sName(c, "argocd.namespace", s.ArgoCD.Namespace)
	if hasControl(s.ArgoCD.Selector) {
		c.add("argocd.selector", "must be a label selector without control characters, got %q", s.ArgoCD.Selector)
	}
	if h := s.ArgoCD.Hub; h != nil {
		validateCluster(c, "argocd.hub.clusterName", h.ClusterName)
		switch h.ClusterName {
		case "":
		case s.Blue.ClusterName:
			c.add("argocd.hub.clusterName", "must differ from blue.clusterName %q: leave argocd.hub out when Argo CD runs in blue", s.Blue.ClusterName)
		case s.Green.ClusterName:
			c.add("argocd.hub.clusterName", "must differ from green.clusterName %q", s.Green.ClusterName)
		}
		if h.Region != "" && !knownRegions[h.Region] {
			c.add("argocd.hub.region", "must be an AWS region of the SDK's partition data such as \"eu-west-1\", got %q", h.Region)
		}
		if s.ArgoCD.Mode == ArgoCDModeNone {
			c.add("argocd.hub", "is set but argocd.mode is \"none\"")
		}
	}

	c.oneOf("velero.existingResourcePolicy", s.Velero.ExistingResourcePolicy, "none", "update")
	bounded(c, "velero.timeout", s.Velero.Timeout, Duration(maxPhaseTimeout))
	k8sName(c, "velero.namespace", s.Velero.Namespace)
	if b := s.Velero.BackupName; b != "" && !dnsSubdomain(b) {
		c.add("velero.backupName", "must be a Kubernetes object name (lowercase letters, digits, '-' and '.'), got %q", b)
	}
	for i, ns := range s.Velero.IncludedNamespaces {
		if ns != "*" {
			k8sName(c, fmt.Sprintf("velero.includedNamespaces[%d]", i), ns)
		}
	}
	for i, ns := range s.Velero.ExcludedNamespaces {
		k8sName(c, fmt.Sprintf("velero.excludedNamespaces[%d]", i), ns)
	}
	for i, ns := range s.Velero.IncludedNamespaces {
		for _, ex := range s.Velero.ExcludedNamespaces {
			if ns == ex {
				c.add(fmt.Sprintf("velero.includedNamespaces[%d]", i), "namespace %q is also in velero.excludedNamespaces", ns)
			}
		}
	}

	if l := s.Velero.StorageLocation; l != "" && !dnsSubdomain(l) {
		c.add("velero.storageLocation", "must be a BackupStorageLocation name, got %q", l)
	}
	if m := s.Jobs.MoveAtStep; m != 0 && !slices.Contains(s.Traffic.Steps, m) {
		c.add("jobs.moveAtStep", "must be one of traffic.steps %v (the green percentage at which jobs move to green), got %d", s.Traffic.Steps, m)
	}
	for i, sg := range s.Jobs.Singletons {
		f := fmt.Sprintf("jobs.singletons[%d]", i)
		k8sName(c, f+".namespace", sg.Namespace)
		if strings.TrimSpace(sg.Selector) == "" || hasControl(sg.Selector) {
			c.add(f+".selector", "must be a label selector such as \"app=consumer\" (an empty one would select every workload), got %q", sg.Selector)
		}
	}

	bounded(c, "smoke.timeout", s.Smoke.Timeout, Duration(maxPhaseTimeout))
	for i, ns := range s.Smoke.Kubernetes.Namespaces {
		k8sName(c, fmt.Sprintf("smoke.kubernetes.namespaces[%d]", i), ns)
	}
	if sc := s.Smoke.Kubernetes.StorageClass; sc != "" && !dnsSubdomain(sc) {
		c.add("smoke.kubernetes.storageClass", "must be a StorageClass name, got %q", sc)
	}
	seen := map[string]bool{}
	for i, p := range s.Smoke.HTTP {
		f := fmt.Sprintf("smoke.http[%d]", i)
		if p.Name == "" {
			c.add(f+".name", "is required")
		} else if seen[p.Name] {
			c.add(f+".name", "duplicate probe name %q", p.Name)
		}
		seen[p.Name] = true
		if u, err := url.Parse(p.URL); p.URL == "" {
			c.add(f+".url", "is required")
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || hasSpaceOrControl(p.URL) {
			c.add(f+".url", "must be an absolute http or https URL without spaces or control characters, got %q", p.URL)
		}
		if p.Host != "" && !hostPort(p.Host) {
			c.add(f+".host", "must be a host name (optionally with :port) for the Host header, without spaces or control characters, got %q", p.Host)
		}
		if hasControl(p.BodyContains) {
			c.add(f+".bodyContains", "must not contain control characters")
		}
		if p.ExpectStatus < 100 || p.ExpectStatus > 599 {
			c.add(f+".expectStatus", "must be an HTTP status between 100 and 599, got %d", p.ExpectStatus)
		}
		bounded(c, f+".maxLatency", p.MaxLatency, Duration(maxLatency))
		if p.Retries < 0 || p.Retries > 100 {
			c.add(f+".retries", "must be between 0 and 100, got %d", p.Retries)
		}
	}
	if k := s.Smoke.K6; k != nil {
		if k.ConfigMap == "" {
			c.add("smoke.k6.configMap", "is required when smoke.k6 is set")
		} else if !dnsSubdomain(k.ConfigMap) {
			c.add("smoke.k6.configMap", "must be a ConfigMap name, got %q", k.ConfigMap)
		}
		k8sName(c, "smoke.k6.namespace", k.Namespace)
		if hasSpaceOrControl(k.Image) || k.Image == "" {
			c.add("smoke.k6.image", "must be a container image reference, got %q", k.Image)
		}
	}

	switch s.Strategy {
	case StrategyInPlace:
		validateInPlace(c, s)
	default:
		c.oneOf("strategy", s.Strategy, StrategyBlueGreen, StrategyInPlace)
		validateTraffic(c, s.Traffic)
	}

	validateGate(c, "approvals.cutover", s.Approvals.Cutover)
	validateGate(c, "approvals.retire", s.Approvals.Retire)
	validateGate(c, "approvals.eachStep", s.Approvals.EachStep)
	if r := s.Approvals.ReminderInterval; r != nil && r.D() < 0 {
		c.add("approvals.reminderInterval", "must not be negative, got %s", r)
	} else if r != nil && r.D() > 0 && r.D() < time.Minute {
		c.add("approvals.reminderInterval", "must be at least 1m (or 0s for no reminders), got %s", r)
	} else if r != nil && r.D() > maxReminder {
		c.add("approvals.reminderInterval", "must be at most %s, got %s", Duration(maxReminder), r)
	}

	bounded(c, "retire.soak", s.Retire.Soak, Duration(maxSoak))
	c.oneOf("retire.blue", s.Retire.Blue, FateDelete, FateKeep)
	c.oneOf("retire.volumes", s.Retire.Volumes, VolumesKeep, VolumesDelete)
	if s.Retire.Volumes == VolumesDelete && s.Retire.Blue == FateKeep {
		c.add("retire.volumes", `"delete" deletes blue's retained volumes once blue is deleted, but retire.blue is "keep"`)
	}
	c.oneOf("rollback.green", s.Rollback.Green, FateKeep, FateDelete)

	validateNotifyAt(c, "notify", s.Notify)

	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

func validateCluster(c *collector, field, name string) {
	switch {
	case name == "":
		c.add(field, "is required")
	case len(name) > 100 || !clusterNameRE.MatchString(name):
		c.add(field, "must be an EKS cluster name (letters, digits, '-' and '_', at most 100, starting with a letter or digit), got %q", name)
	}
}

func positive(c *collector, field string, d Duration) {
	if d.D() <= 0 {
		c.add(field, "must be a positive duration, got %s", d)
	}
}

// bounded is positive with an upper bound.
func bounded(c *collector, field string, d, max Duration) {
	if d.D() <= 0 {
		c.add(field, "must be a positive duration, got %s", d)
	} else if d > max {
		c.add(field, "must be at most %s, got %s (a longer wait is almost always a typo)", max, d)
	}
}

// validateEntryPoint checks an Ingress or Service reference.
func validateEntryPoint(c *collector, field string, e EntryPointSpec) {
	c.oneOf(field+".kind", e.Kind, EntryPointIngress, EntryPointService)
	if e.Namespace == "" {
		c.add(field+".namespace", "is required")
	} else if !labelRE.MatchString(e.Namespace) {
		c.add(field+".namespace", "must be a Kubernetes namespace name (RFC 1123 label), got %q", e.Namespace)
	}
	if e.Name == "" {
		c.add(field+".name", "is required")
	} else if len(e.Name) > 253 || !objectNameRE.MatchString(e.Name) {
		c.add(field+".name", "must be a Kubernetes object name (RFC 1123 subdomain), got %q", e.Name)
	}
	bounded(c, field+".timeout", e.Timeout, Duration(maxEntryPointWait))
}

func validateTraffic(c *collector, t TrafficSpec) {
	c.oneOf("traffic.provider", t.Provider, ProviderRoute53, ProviderCloudFront)
	switch t.Provider {
	case ProviderRoute53:
		if t.Route53 == nil {
			c.add("traffic.route53", "is required when traffic.provider is \"route53\"")
		} else {
			r := t.Route53
			if r.HostedZoneID == "" {
				c.add("traffic.route53.hostedZoneId", "is required")
			} else if !zoneIDRE.MatchString(r.HostedZoneID) {
				c.add("traffic.route53.hostedZoneId", "must be a Route53 hosted zone ID (upper-case letters and digits, e.g. \"Z0123456789ABC\"), got %q", r.HostedZoneID)
			}
			if r.RecordName == "" {
				c.add("traffic.route53.recordName", "is required")
			} else if !recordName(r.RecordName) {
				c.add("traffic.route53.recordName", "must be a DNS name (RFC 1123 labels, optionally starting with \"*.\" and ending with '.'), at most 253 characters, got %q", r.RecordName)
			}
			switch {
			case r.GreenTarget == "" && r.GreenTargetFrom == nil:
				c.add("traffic.route53.greenTarget", "is required (green's load balancer DNS name), unless traffic.route53.greenTargetFrom names green's Ingress or Service")
			case r.GreenTarget != "" && r.GreenTargetFrom != nil:
				c.add("traffic.route53.greenTargetFrom", "must be empty when traffic.route53.greenTarget is set: name green's target one way")
			case r.GreenTarget != "":
				if !recordName(r.GreenTarget) || strings.HasPrefix(r.GreenTarget, "*") {
					c.add("traffic.route53.greenTarget", "must be a DNS name such as \"green-lb-123.eu-west-1.elb.amazonaws.com\", got %q", r.GreenTarget)
				}
			default:
				validateEntryPoint(c, "traffic.route53.greenTargetFrom", *r.GreenTargetFrom)
			}
			for _, f := range []struct{ field, v string }{{"blueSetIdentifier", r.BlueSetIdentifier}, {"greenSetIdentifier", r.GreenSetIdentifier}} {
				if len(f.v) > 128 || hasControl(f.v) {
					c.add("traffic.route53."+f.field, "must be 1 to 128 characters without control characters, got %q", f.v)
				}
			}
			c.oneOf("traffic.route53.recordType", r.RecordType, "CNAME", "A")
			if r.AfterMigration != "" {
				c.oneOf("traffic.route53.afterMigration", r.AfterMigration, AfterMigrationWeighted, AfterMigrationSimple)
			}
			if r.BlueSetIdentifier == r.GreenSetIdentifier {
				c.add("traffic.route53.greenSetIdentifier", "must differ from blueSetIdentifier %q", r.BlueSetIdentifier)
			}
			if r.TTL < 0 || r.TTL > 86400 {
				c.add("traffic.route53.ttl", "must be between 0 and 86400 seconds, got %d", r.TTL)
			}
		}
		if t.CloudFront != nil {
			c.add("traffic.cloudfront", "must be empty when traffic.provider is \"route53\"")
		}
	case ProviderCloudFront:
		if t.CloudFront == nil {
			c.add("traffic.cloudfront", "is required when traffic.provider is \"cloudfront\"")
		} else {
			cf := t.CloudFront
			if cf.DistributionID == "" {
				c.add("traffic.cloudfront.distributionId", "is required")
			} else if !distributionRE.MatchString(cf.DistributionID) {
				c.add("traffic.cloudfront.distributionId", "must be a CloudFront distribution ID such as \"E2QWRUHAPOMQZL\", got %q", cf.DistributionID)
			}
			if cf.BlueOriginID == "" {
				if cf.GreenOriginFrom == nil {
					c.add("traffic.cloudfront.blueOriginId", "is required, unless traffic.cloudfront.greenOriginFrom is set (then it is the origin the default cache behavior targets at the start)")
				}
			} else if !originIDRE.MatchString(cf.BlueOriginID) {
				c.add("traffic.cloudfront.blueOriginId", "must be an origin ID (letters, digits, '.', '_', ':', '/', '-'), got %q", cf.BlueOriginID)
			}
			if cf.GreenOriginID == "" {
				if cf.GreenOriginFrom == nil {
					c.add("traffic.cloudfront.greenOriginId", "is required, unless traffic.cloudfront.greenOriginFrom is set (then it is green's cluster name)")
				}
			} else if !originIDRE.MatchString(cf.GreenOriginID) {
				c.add("traffic.cloudfront.greenOriginId", "must be an origin ID (letters, digits, '.', '_', ':', '/', '-'), got %q", cf.GreenOriginID)
			} else if cf.GreenOriginID == cf.BlueOriginID {
				c.add("traffic.cloudfront.greenOriginId", "must differ from blueOriginId %q", cf.BlueOriginID)
			}
			if cf.Mode != "" {
				c.oneOf("traffic.cloudfront.mode", cf.Mode, CloudFrontModeSwitch, CloudFrontModeContinuous)
			}
			if d := cf.GreenOriginDomain; d != "" && (!recordName(d) || strings.HasPrefix(d, "*")) {
				c.add("traffic.cloudfront.greenOriginDomain", "must be a DNS name, got %q", d)
			}
			if e := cf.GreenOriginFrom; e != nil {
				if cf.GreenOriginDomain != "" {
					c.add("traffic.cloudfront.greenOriginFrom", "must be empty when traffic.cloudfront.greenOriginDomain is set: name green's origin one way")
				} else {
					validateEntryPoint(c, "traffic.cloudfront.greenOriginFrom", *e)
				}
			}
		}
		if t.Route53 != nil {
			c.add("traffic.route53", "must be empty when traffic.provider is \"cloudfront\"")
		}
		switch {
		case t.ContinuousDeployment():
			if len(t.Steps) == 1 {
				c.add("traffic.steps", "must have at least one staging step (1 to %d) before 100 for cloudfront continuous deployment, e.g. [5, 15, 100]", CloudFrontMaxStagingWeight)
			}
			for i, w := range t.Steps {
				if i < len(t.Steps)-1 && w > CloudFrontMaxStagingWeight {
					c.add(fmt.Sprintf("traffic.steps[%d]", i), "must be at most %d: CloudFront sends a staging distribution at most %d%% of requests; the last step, 100, promotes it", CloudFrontMaxStagingWeight, CloudFrontMaxStagingWeight)
				}
			}
		case len(t.Steps) > 0 && (len(t.Steps) != 1 || t.Steps[0] != 100):
			c.add("traffic.steps", "must be [100] for cloudfront: an origin switch moves all traffic at once (traffic.cloudfront.mode \"continuousDeployment\" moves it in steps)")
		}
	}
	if len(t.Steps) > 20 {
		c.add("traffic.steps", "must have at most 20 steps, got %d", len(t.Steps))
	}
	prev := 0
	for i, w := range t.Steps {
		f := fmt.Sprintf("traffic.steps[%d]", i)
		switch {
		case w < 1 || w > 100:
			c.add(f, "must be between 1 and 100, got %d", w)
		case w <= prev:
			c.add(f, "must be greater than the previous step (%d), got %d", prev, w)
		}
		if w > prev {
			prev = w
		}
	}
	if n := len(t.Steps); n > 0 && t.Steps[n-1] != 100 {
		c.add(fmt.Sprintf("traffic.steps[%d]", n-1), "the last step must be 100, got %d", t.Steps[n-1])
	}
	bounded(c, "traffic.bakeTime", t.BakeTime, Duration(maxBakeTime))
	if t.CheckInterval.D() < time.Second {
		c.add("traffic.checkInterval", "must be at least 1s, got %s", t.CheckInterval)
	} else if t.CheckInterval.D() > maxCheck {
		c.add("traffic.checkInterval", "must be at most %s, got %s", Duration(maxCheck), t.CheckInterval)
	}
	bounded(c, "traffic.healthReadBudget", t.HealthReadBudget, Duration(maxHealthReadBudget))
	for i, a := range t.Alarms {
		if strings.TrimSpace(a) == "" {
			c.add(fmt.Sprintf("traffic.alarms[%d]", i), "must be a CloudWatch alarm name, got an empty string")
		} else if !alarmNameRE.MatchString(a) {
			c.add(fmt.Sprintf("traffic.alarms[%d]", i), "must be a CloudWatch alarm name (1 to 255 characters, no control characters), got %q", a)
		}
	}
}

func validateGate(c *collector, field string, g GateSpec) {
	if !g.IsEnabled() {
		return
	}
	bounded(c, field+".timeout", g.Timeout, Duration(maxGateTimeout))
	c.oneOf(field+".onTimeout", g.OnTimeout, OnTimeoutReject, OnTimeoutApprove, OnTimeoutWait)
	seen := map[string]bool{}
	for i, a := range g.Approvers {
		f := fmt.Sprintf("%s.approvers[%d]", field, i)
		switch {
		case strings.TrimSpace(a) == "":
			c.add(f, "must not be empty")
		case a != strings.TrimSpace(a) || hasControl(a) || len(a) > 128:
			c.add(f, "must be a name without leading or trailing spaces or control characters, at most 128 characters, got %q", a)
		case seen[a]:
			c.add(f, "duplicate approver %q", a)
		}
		seen[a] = true
	}
}

var (
	instanceTypeRE = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)
	slackChannelRE = regexp.MustCompile(`^(#[a-z0-9][a-z0-9._-]{0,79}|[CGD][A-Z0-9]{8,})$`)
	tagKeyRE       = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRE     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
)

// hasControl reports control characters (CR and LF among them): values
// that reach HTTP headers, log lines or API calls must not carry them.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

func hasSpaceOrControl(s string) bool {
	return hasControl(s) || strings.ContainsAny(s, " \t")
}

// recordName checks a DNS name as Route53 takes it: RFC 1123 labels
// (case-insensitive), an optional leading "*." wildcard and trailing dot.
func recordName(n string) bool {
	n = strings.TrimSuffix(strings.ToLower(n), ".")
	if n == "" || len(n) > 253 {
		return false
	}
	n = strings.TrimPrefix(n, "*.")
	labels := strings.Split(n, ".")
	for _, l := range labels {
		if !labelRE.MatchString(l) && !(strings.HasPrefix(l, "_") && labelRE.MatchString(l[1:])) {
			return false
		}
	}
	return true
}

// hostPort checks a Host header value: a DNS name or IPv4 address,
// optionally with a port.
func hostPort(h string) bool {
	if hasSpaceOrControl(h) {
		return false
	}
	host := h
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		port, err := strconv.Atoi(h[i+1:])
		if err != nil || port < 1 || port > 65535 {
			return false
		}
		host = h[:i]
	}
	return recordName(host) && !strings.HasPrefix(host, "*")
}

// k8sName checks a namespace-like name (RFC 1123 label); empty is left to
// the required checks.
func k8sName(c *collector, field, v string) {
	if v != "" && !labelRE.MatchString(v) {
		c.add(field, "must be a Kubernetes name (lowercase letters, digits and '-', at most 63), got %q", v)
	}
}

// dnsSubdomain checks a Kubernetes object name.
func dnsSubdomain(v string) bool {
	if len(v) > 253 {
		return false
	}
	for _, l := range strings.Split(v, ".") {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	return true
}

// roleARN checks an IAM role ARN with the SDK's ARN parser.
func roleARN(c *collector, field, v string) {
	a, err := arn.Parse(v)
	if err != nil || a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/") || len(a.Resource) == len("role/") || hasSpaceOrControl(v) {
		c.add(field, "must be an IAM role ARN such as \"arn:aws:iam::123456789012:role/eks-cluster\", got %q", v)
		return
	}
	if len(a.AccountID) != 12 || strings.Trim(a.AccountID, "0123456789") != "" {
		c.add(field, "must name a 12-digit AWS account, got %q", a.AccountID)
	}
}

// tags checks AWS tag keys and values.
func tags(c *collector, field string, m map[string]string) {
	keys := make([]string, 0, len(m))
	// The keys are sorted before use, so the order of the range is moot.
	//workflowcheck:ignore
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := joinKey(field, k)
		switch {
		case !tagKeyRE.MatchString(k):
			c.add(f, "must be an AWS tag key (1 to 128 letters, digits, spaces and _.:/=+-@)")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			c.add(f, "tag keys starting with \"aws:\" are reserved by AWS")
		}
		if !tagValueRE.MatchString(m[k]) {
			c.add(f, "must be an AWS tag value (at most 256 letters, digits, spaces and _.:/=+-@), got %q", m[k])
		}
	}
}

// ValidateGate checks a defaulted gate outside a migration (a fleet's
// gates) with the rules of migration gates; field is its path.
func ValidateGate(field string, g GateSpec) FieldErrors {
	var c collector
	validateGate(&c, field, g)
	return c.errs
}

// ValidateNotify checks a notify section outside a migration.
func ValidateNotify(field string, n NotifySpec) FieldErrors {
	var c collector
	validateNotifyAt(&c, field, n)
	return c.errs
}

func validateNotifyAt(c *collector, field string, n NotifySpec) {
	if u := n.WebhookURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			c.add(field+".webhookUrl", "must be an absolute http or https URL, got %q", u)
		}
	}
	if ch := n.SlackChannel; ch != "" && !slackChannelRE.MatchString(ch) {
		c.add(field+".slackChannel", "must be a channel name starting with '#' (lowercase, no spaces, at most 80 characters) or a channel ID such as \"C0123ABCD\", got %q", ch)
	}
}

// validateInPlace: an in-place upgrade has no green cluster, no traffic to
// move and nothing to restore.
func validateInPlace(c *collector, s MigrationSpec) {
	if s.Green.ClusterName != "" {
		c.add("green.clusterName", "must be empty with strategy \"inPlace\": blue itself is upgraded, got %q", s.Green.ClusterName)
	}
	if t := s.Traffic; t.Provider != "" || t.Route53 != nil || t.CloudFront != nil {
		c.add("traffic", "must be empty with strategy \"inPlace\": no traffic moves (got provider %q)", t.Provider)
	}
	if s.Velero.Enabled {
		c.add("velero.enabled", "must be false with strategy \"inPlace\": nothing is restored")
	}
	in := s.InPlace
	if in.MaxUnavailable < 0 || in.MaxUnavailable > 100 {
		c.add("inPlace.maxUnavailable", "must be between 1 and 100 nodes (0 keeps each node group's own), got %d", in.MaxUnavailable)
	}
	if in.MaxUnavailablePercentage < 0 || in.MaxUnavailablePercentage > 100 {
		c.add("inPlace.maxUnavailablePercentage", "must be between 1 and 100, got %d", in.MaxUnavailablePercentage)
	}
	if in.MaxUnavailable > 0 && in.MaxUnavailablePercentage > 0 {
		c.add("inPlace.maxUnavailablePercentage", "must be 0 when inPlace.maxUnavailable is set: give one of the two")
	}
	bounded(c, "inPlace.updateTimeout", in.UpdateTimeout, Duration(maxPhaseTimeout))
	validateGate(c, "approvals.controlPlane", s.Approvals.ControlPlane)
}
