package spec

import (
	"strconv"
	"strings"
	"time"
)

func boolPtr(b bool) *bool { return &b }

// WithDefaults returns a copy of s with every unset field at its documented
// default. It is pure and deterministic, so the workflow calls it directly.
func (s MigrationSpec) WithDefaults() MigrationSpec {
	if s.Green.ClusterName == "" && s.Blue.ClusterName != "" && s.Green.KubernetesVersion != "" && !s.IsInPlace() {
		s.Green.ClusterName = s.Blue.ClusterName + "-" + strings.ReplaceAll(s.Green.KubernetesVersion, ".", "-")
	}
	c := &s.Green.Copy
	for _, p := range []**bool{&c.NodeGroups, &c.Addons, &c.AccessEntries, &c.Tags, &c.Logging, &c.PodIdentity, &c.AWSAuth, &c.ArgoCDAccess, &c.KarpenterDiscovery} {
		if *p == nil {
			*p = boolPtr(true)
		}
	}
	if s.Green.NodeGroups.AMITypeUpgrade == "" {
		s.Green.NodeGroups.AMITypeUpgrade = AMITypeUpgradeRefuse
	}
	if s.Preflight.BlockOn == "" {
		s.Preflight.BlockOn = "error"
	}
	if s.ArgoCD.Mode == "" {
		s.ArgoCD.Mode = ArgoCDModeRetarget
	}
	if s.ArgoCD.Namespace == "" {
		s.ArgoCD.Namespace = "argocd"
	}
	if s.ArgoCD.SyncTimeout == 0 {
		s.ArgoCD.SyncTimeout = Duration(30 * time.Minute)
	}
	if s.Velero.Namespace == "" {
		s.Velero.Namespace = "velero"
	}
	if s.Velero.RestorePVs == nil {
		s.Velero.RestorePVs = boolPtr(true)
	}
	if s.Velero.ExistingResourcePolicy == "" {
		s.Velero.ExistingResourcePolicy = "none"
	}
	if s.Velero.Timeout == 0 {
		s.Velero.Timeout = Duration(time.Hour)
	}
	if s.Velero.StorageLocation == "" {
		s.Velero.StorageLocation = "default"
	}
	if s.Velero.ReadOnlyDuringRestore == nil {
		s.Velero.ReadOnlyDuringRestore = boolPtr(true)
	}
	if s.Jobs.CronJobs == nil {
		s.Jobs.CronJobs = boolPtr(true)
	}
	if s.Jobs.MoveAtStep == 0 && len(s.Traffic.Steps) > 0 {
		s.Jobs.MoveAtStep = s.Traffic.Steps[len(s.Traffic.Steps)-1]
	}
	if s.ArgoCD.MoveToGreen == nil {
		s.ArgoCD.MoveToGreen = boolPtr(true)
	}
	if h := s.ArgoCD.Hub; h != nil && h.Region == "" {
		hub := *h // the caller's spec is not changed behind its back
		hub.Region = s.Blue.Region
		s.ArgoCD.Hub = &hub
	}
	if s.Smoke.Kubernetes.WorkloadsReady == nil {
		s.Smoke.Kubernetes.WorkloadsReady = boolPtr(true)
	}
	if s.Smoke.Kubernetes.ScratchWorkload == nil {
		s.Smoke.Kubernetes.ScratchWorkload = boolPtr(true)
	}
	if s.Smoke.Timeout == 0 {
		s.Smoke.Timeout = Duration(15 * time.Minute)
	}
	if len(s.Smoke.HTTP) > 0 {
		probes := make([]HTTPProbe, len(s.Smoke.HTTP))
		copy(probes, s.Smoke.HTTP)
		for i := range probes {
			if probes[i].ExpectStatus == 0 {
				probes[i].ExpectStatus = 200
			}
			if probes[i].MaxLatency == 0 {
				probes[i].MaxLatency = Duration(2 * time.Second)
			}
			if probes[i].Retries == 0 {
				probes[i].Retries = 3
			}
		}
		s.Smoke.HTTP = probes
	}
	if s.Smoke.K6 != nil {
		k := *s.Smoke.K6
		if k.Namespace == "" {
			k.Namespace = "default"
		}
		if k.Image == "" {
			k.Image = "grafana/k6:0.54.0"
		}
		s.Smoke.K6 = &k
	}
	if len(s.Traffic.Steps) == 0 {
		switch {
		case s.Traffic.ContinuousDeployment():
			s.Traffic.Steps = []int{5, CloudFrontMaxStagingWeight, 100}
		case s.Traffic.Provider == ProviderCloudFront:
			s.Traffic.Steps = []int{100}
		default:
			s.Traffic.Steps = []int{10, 50, 100}
		}
	}
	if s.Traffic.BakeTime == 0 {
		s.Traffic.BakeTime = Duration(10 * time.Minute)
	}
	if s.Traffic.CheckInterval == 0 {
		s.Traffic.CheckInterval = Duration(30 * time.Second)
	}
	if s.Traffic.HealthReadBudget == 0 {
		s.Traffic.HealthReadBudget = Duration(DefaultHealthReadBudget)
	}
	if s.Traffic.ProbeDuringBake == nil {
		s.Traffic.ProbeDuringBake = boolPtr(true)
	}
	if r := s.Traffic.Route53; r != nil {
		rr := *r
		if rr.RecordType == "" {
			rr.RecordType = "CNAME"
		}
		if rr.BlueSetIdentifier == "" {
			rr.BlueSetIdentifier = "blue"
		}
		if rr.GreenSetIdentifier == "" {
			rr.GreenSetIdentifier = "green"
		}
		if rr.TTL == 0 {
			rr.TTL = 60
		}
		if e := rr.GreenTargetFrom; e != nil {
			ee := *e
			if ee.Timeout == 0 {
				ee.Timeout = Duration(DefaultEntryPointWait)
			}
			rr.GreenTargetFrom = &ee
		}
		s.Traffic.Route53 = &rr
	}
	if cf := s.Traffic.CloudFront; cf != nil && cf.GreenOriginFrom != nil {
		c := *cf
		e := *c.GreenOriginFrom
		if e.Timeout == 0 {
			e.Timeout = Duration(DefaultEntryPointWait)
		}
		c.GreenOriginFrom = &e
		if c.GreenOriginID == "" {
			// Green's origin is named after green, so every quarter's is new.
			c.GreenOriginID = s.Green.ClusterName
		}
		s.Traffic.CloudFront = &c
	}
	s.Approvals.Cutover = gateDefaults(s.Approvals.Cutover, true)
	if s.Approvals.Retire.OnTimeout == "" {
		// Traffic is all on green by then: nobody answering must not roll
		// a finished cutover back.
		s.Approvals.Retire.OnTimeout = OnTimeoutWait
	}
	s.Approvals.Retire = gateDefaults(s.Approvals.Retire, true)
	s.Approvals.EachStep = gateDefaults(s.Approvals.EachStep, false)
	s.Approvals.ControlPlane = gateDefaults(s.Approvals.ControlPlane, s.IsInPlace())
	if s.Strategy == "" {
		s.Strategy = StrategyBlueGreen
	}
	if s.IsInPlace() && s.InPlace.UpdateTimeout == 0 {
		s.InPlace.UpdateTimeout = Duration(2 * time.Hour)
	}
	if s.Approvals.ReminderInterval == nil {
		d := Duration(time.Hour)
		s.Approvals.ReminderInterval = &d
	}
	if s.Retire.Soak == 0 {
		s.Retire.Soak = Duration(24 * time.Hour)
	}
	if s.Retire.Blue == "" {
		s.Retire.Blue = FateDelete
	}
	if s.Retire.Volumes == "" {
		s.Retire.Volumes = VolumesKeep
	}
	if s.Rollback.Green == "" {
		s.Rollback.Green = FateKeep
	}
	return s
}

func gateDefaults(g GateSpec, enabled bool) GateSpec {
	if g.Enabled == nil {
		g.Enabled = boolPtr(enabled)
	}
	if g.Timeout == 0 {
		g.Timeout = Duration(24 * time.Hour)
	}
	if g.OnTimeout == "" {
		g.OnTimeout = OnTimeoutReject
	}
	return g
}

// Gate returns the configuration of the named gate and whether such a gate
// exists in this migration. Per-step gates exist for steps 2..len(steps)
// when approvals.eachStep is enabled.
func (s *MigrationSpec) Gate(name string) (GateSpec, bool) {
	if v, ok := strings.CutPrefix(name, "control-plane-"); ok && s.IsInPlace() {
		_, minor := MinorVersion(v)
		return s.Approvals.ControlPlane, minor && s.Approvals.ControlPlane.IsEnabled()
	}
	switch name {
	case GateCutover:
		return s.Approvals.Cutover, s.Approvals.Cutover.IsEnabled()
	case GateRetire:
		return s.Approvals.Retire, s.Approvals.Retire.IsEnabled()
	}
	if n, ok := StepGateNumber(name); ok && s.Approvals.EachStep.IsEnabled() && n >= 2 && n <= len(s.Traffic.Steps) {
		return s.Approvals.EachStep, true
	}
	return GateSpec{}, false
}

// StepGateName is the gate before traffic step n (1-based).
func StepGateName(n int) string { return GateStepPrefix + strconv.Itoa(n) }

// StepGateNumber parses a per-step gate name.
func StepGateNumber(name string) (int, bool) {
	if !strings.HasPrefix(name, GateStepPrefix) {
		return 0, false
	}
	rest := name[len(GateStepPrefix):]
	if rest == "" || len(rest) > 3 {
		return 0, false
	}
	n := 0
	for _, r := range rest {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// GateWithDefaults fills a gate outside a migration (a fleet's wave and
// resume gates) as migration gates are filled: enabled when unset,
// timeout 24h, onTimeout the given default.
func GateWithDefaults(g GateSpec, enabled bool, onTimeout string) GateSpec {
	if g.OnTimeout == "" {
		g.OnTimeout = onTimeout
	}
	return gateDefaults(g, enabled)
}
