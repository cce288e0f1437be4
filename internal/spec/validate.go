package spec

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
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
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$`)
	versionRE     = regexp.MustCompile(`^1\.(\d{2})$`)
	zoneIDRE      = regexp.MustCompile(`^(/hostedzone/)?[A-Z0-9]{1,32}$`)
	subnetRE      = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	sgRE          = regexp.MustCompile(`^sg-[0-9a-f]{8,17}$`)
)

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
	if s.Blue.Region == "" {
		c.add("blue.region", "is required")
	} else if !regionRE.MatchString(s.Blue.Region) {
		c.add("blue.region", "must be an AWS region such as \"eu-west-1\", got %q", s.Blue.Region)
	}

	if s.Green.KubernetesVersion == "" {
		c.add("green.kubernetesVersion", "is required (e.g. \"1.31\")")
	} else if minor, ok := MinorVersion(s.Green.KubernetesVersion); !ok {
		c.add("green.kubernetesVersion", "must be \"1.<minor>\" such as \"1.31\", got %q", s.Green.KubernetesVersion)
	} else if minor < 23 {
		c.add("green.kubernetesVersion", "must be 1.23 or newer (EKS no longer offers %s)", s.Green.KubernetesVersion)
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
	if r := s.Green.Overrides.RoleARN; r != "" && !strings.HasPrefix(r, "arn:aws") {
		c.add("green.overrides.roleArn", "must be an IAM role ARN, got %q", r)
	}

	c.oneOf("preflight.blockOn", s.Preflight.BlockOn, "error", "warning", "none")

	c.oneOf("argocd.mode", s.ArgoCD.Mode, ArgoCDModeRetarget, ArgoCDModeCopy, ArgoCDModeNone)
	positive(c, "argocd.syncTimeout", s.ArgoCD.SyncTimeout)

	c.oneOf("velero.existingResourcePolicy", s.Velero.ExistingResourcePolicy, "none", "update")
	positive(c, "velero.timeout", s.Velero.Timeout)
	for i, ns := range s.Velero.IncludedNamespaces {
		for _, ex := range s.Velero.ExcludedNamespaces {
			if ns == ex {
				c.add(fmt.Sprintf("velero.includedNamespaces[%d]", i), "namespace %q is also in velero.excludedNamespaces", ns)
			}
		}
	}

	positive(c, "smoke.timeout", s.Smoke.Timeout)
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
		} else if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.add(f+".url", "must be an absolute http or https URL, got %q", p.URL)
		}
		if p.ExpectStatus < 100 || p.ExpectStatus > 599 {
			c.add(f+".expectStatus", "must be an HTTP status between 100 and 599, got %d", p.ExpectStatus)
		}
		positive(c, f+".maxLatency", p.MaxLatency)
		if p.Retries < 0 || p.Retries > 100 {
			c.add(f+".retries", "must be between 0 and 100, got %d", p.Retries)
		}
	}
	if s.Smoke.K6 != nil && s.Smoke.K6.ConfigMap == "" {
		c.add("smoke.k6.configMap", "is required when smoke.k6 is set")
	}

	validateTraffic(c, s.Traffic)

	validateGate(c, "approvals.cutover", s.Approvals.Cutover)
	validateGate(c, "approvals.retire", s.Approvals.Retire)
	validateGate(c, "approvals.eachStep", s.Approvals.EachStep)
	if r := s.Approvals.ReminderInterval; r != nil && r.D() < 0 {
		c.add("approvals.reminderInterval", "must not be negative, got %s", r)
	} else if r != nil && r.D() > 0 && r.D() < time.Minute {
		c.add("approvals.reminderInterval", "must be at least 1m (or 0s for no reminders), got %s", r)
	}

	if s.Retire.Soak.D() < 0 {
		c.add("retire.soak", "must not be negative, got %s", s.Retire.Soak)
	}
	c.oneOf("retire.blue", s.Retire.Blue, FateDelete, FateKeep)
	c.oneOf("rollback.green", s.Rollback.Green, FateKeep, FateDelete)

	if u := s.Notify.WebhookURL; u != "" {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			c.add("notify.webhookUrl", "must be an absolute http or https URL, got %q", u)
		}
	}
	if ch := s.Notify.SlackChannel; ch != "" && !strings.HasPrefix(ch, "#") && !strings.HasPrefix(ch, "C") {
		c.add("notify.slackChannel", "must be a channel name starting with '#' or a channel ID, got %q", ch)
	}

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
			}
			if r.GreenTarget == "" {
				c.add("traffic.route53.greenTarget", "is required (green's load balancer DNS name)")
			}
			c.oneOf("traffic.route53.recordType", r.RecordType, "CNAME", "A")
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
			}
			if cf.BlueOriginID == "" {
				c.add("traffic.cloudfront.blueOriginId", "is required")
			}
			if cf.GreenOriginID == "" {
				c.add("traffic.cloudfront.greenOriginId", "is required")
			} else if cf.GreenOriginID == cf.BlueOriginID {
				c.add("traffic.cloudfront.greenOriginId", "must differ from blueOriginId %q", cf.BlueOriginID)
			}
		}
		if t.Route53 != nil {
			c.add("traffic.route53", "must be empty when traffic.provider is \"cloudfront\"")
		}
		if len(t.Steps) > 0 && (len(t.Steps) != 1 || t.Steps[0] != 100) {
			c.add("traffic.steps", "must be [100] for cloudfront: an origin switch moves all traffic at once")
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
	if t.BakeTime.D() < 0 {
		c.add("traffic.bakeTime", "must not be negative, got %s", t.BakeTime)
	}
	if t.CheckInterval.D() < time.Second {
		c.add("traffic.checkInterval", "must be at least 1s, got %s", t.CheckInterval)
	}
	for i, a := range t.Alarms {
		if strings.TrimSpace(a) == "" {
			c.add(fmt.Sprintf("traffic.alarms[%d]", i), "must be a CloudWatch alarm name, got an empty string")
		}
	}
}

func validateGate(c *collector, field string, g GateSpec) {
	if !g.IsEnabled() {
		return
	}
	positive(c, field+".timeout", g.Timeout)
	c.oneOf(field+".onTimeout", g.OnTimeout, OnTimeoutReject, OnTimeoutApprove)
	for i, a := range g.Approvers {
		if strings.TrimSpace(a) == "" {
			c.add(fmt.Sprintf("%s.approvers[%d]", field, i), "must not be empty")
		}
	}
}
