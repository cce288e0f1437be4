package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// EKSEmulatorDelay is how long the sandbox's emulated EKS takes for what
// EKS does asynchronously: an add-on CREATING -> ACTIVE, an update
// InProgress -> Successful, an add-on's deletion.
const EKSEmulatorDelay = time.Second

// EKSCalendarDate is the date the emulated EKS reads its Kubernetes version
// calendar at (DescribeClusterVersions): 1.29 is in extended support,
// 1.30-1.33 in standard support, 1.34 is not released yet.
const EKSCalendarDate = "2025-06-01"

// EKSEmulatorSettings are the emulated EKS's settings (the motoext control
// route /moto-api/cutover/eks). Zero fields are left as they are.
type EKSEmulatorSettings struct {
	// Delay replaces EKSEmulatorDelay.
	Delay time.Duration
	// CalendarDate (YYYY-MM-DD) replaces EKSCalendarDate.
	CalendarDate string
	// IRSACheck turns the check that an add-on's serviceAccountRoleArn
	// trusts the cluster's OIDC provider on or off (on by default).
	IRSACheck *bool
}

// ConfigureEKS changes the emulated EKS's settings.
func (m *Moto) ConfigureEKS(ctx context.Context, s EKSEmulatorSettings) error {
	body := map[string]any{}
	if s.Delay > 0 {
		body["delaySeconds"] = s.Delay.Seconds()
	}
	if s.CalendarDate != "" {
		body["calendarDate"] = s.CalendarDate
	}
	if s.IRSACheck != nil {
		body["irsaCheck"] = *s.IRSACheck
	}
	return m.motoControl(ctx, "/moto-api/cutover/eks", body)
}

// DeprecatedAPIUsage is a request to a Kubernetes API a later version
// removes, as EKS reads it from a cluster's audit log.
type DeprecatedAPIUsage struct {
	GroupVersion    string    `json:"groupVersion"` // e.g. flowcontrol.apiserver.k8s.io/v1beta3
	Resource        string    `json:"resource"`     // e.g. flowschemas
	UserAgent       string    `json:"userAgent,omitempty"`
	Requests        int       `json:"requests,omitempty"`
	LastRequestTime time.Time `json:"-"`
}

// ObservedNode is a node and its kubelet version as EKS sees it.
type ObservedNode struct {
	Name           string `json:"name"`
	KubeletVersion string `json:"kubeletVersion"`
}

// EKSObservations is what EKS learns from a cluster's control plane rather
// than from its API: the input of the emulated upgrade insights
// (deprecated API usage, kubelet version skew besides the managed node
// groups').
type EKSObservations struct {
	Cluster  string
	Region   string // default DefaultRegion
	APIUsage []DeprecatedAPIUsage
	Nodes    []ObservedNode
}

// ObserveEKS reports what a cluster's control plane saw to the emulated
// EKS, replacing an earlier report. The cluster must exist in moto.
func (m *Moto) ObserveEKS(ctx context.Context, o EKSObservations) error {
	region := o.Region
	if region == "" {
		region = m.Region
	}
	usage := make([]map[string]any, 0, len(o.APIUsage))
	for _, u := range o.APIUsage {
		b, err := json.Marshal(u)
		if err != nil {
			return err
		}
		var item map[string]any
		if err := json.Unmarshal(b, &item); err != nil {
			return err
		}
		if !u.LastRequestTime.IsZero() {
			item["lastRequestTime"] = u.LastRequestTime.UTC().Format(time.RFC3339)
		}
		usage = append(usage, item)
	}
	nodes := o.Nodes
	if nodes == nil {
		nodes = []ObservedNode{}
	}
	return m.motoControl(ctx, "/moto-api/cutover/eks/observations", map[string]any{
		"cluster": o.Cluster, "region": region, "apiUsage": usage, "nodes": nodes,
	})
}

func (m *Moto) motoControl(ctx context.Context, path string, body any) error {
	return m.motoControlDo(ctx, http.MethodPost, path, body, nil)
}

// motoControlDo sends body (POST) or nothing (GET) to a control route and
// decodes the answer into out when given.
func (m *Moto) motoControlDo(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.Endpoint+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("moto %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("moto %s: %w", path, err)
		}
	}
	return nil
}

// NodegroupUpdateError is one error a failed EKS update reports
// (ErrorDetail): Code is an EKS ErrorCode such as PodEvictionFailure.
type NodegroupUpdateError struct {
	Code        string   `json:"errorCode"`
	Message     string   `json:"errorMessage,omitempty"`
	ResourceIDs []string `json:"resourceIds,omitempty"`
}

// NodegroupUpdateFailures arms the errors a node group's version updates
// end Failed with in the emulated EKS (what EKS reports when its rolling
// update gives up, e.g. evictions a PodDisruptionBudget refused); no
// Errors clears them. force=true on the update overrides
// PodEvictionFailure only.
type NodegroupUpdateFailures struct {
	Cluster   string
	Region    string // default the sandbox's region
	Nodegroup string
	Errors    []NodegroupUpdateError
}

// FailNodegroupUpdates arms (or clears) a node group's update failures.
func (m *Moto) FailNodegroupUpdates(ctx context.Context, f NodegroupUpdateFailures) error {
	region := f.Region
	if region == "" {
		region = m.Region
	}
	errs := f.Errors
	if errs == nil {
		errs = []NodegroupUpdateError{}
	}
	return m.motoControl(ctx, "/moto-api/cutover/eks/nodegroup-update-failures", map[string]any{
		"cluster": f.Cluster, "region": region, "nodegroup": f.Nodegroup, "errors": errs,
	})
}

// NodegroupRollout is a node group version update of the emulated EKS
// waiting for its node replacement (ExternalNodegroupRollouts).
type NodegroupRollout struct {
	Nodegroup      string `json:"nodegroup"`
	UpdateID       string `json:"updateId"`
	FromVersion    string `json:"fromVersion"`
	Version        string `json:"version"`
	ReleaseVersion string `json:"releaseVersion"`
	// LaunchTemplate is the node group's launch template after the update
	// (nil without one).
	LaunchTemplate *struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Version string `json:"version"`
	} `json:"launchTemplate"`
	// Force is UpdateNodegroupVersion's force: evict even what a
	// PodDisruptionBudget refuses.
	Force bool `json:"force"`
	// MaxUnavailable or MaxUnavailablePercentage is the node group's
	// updateConfig (nil when unset).
	MaxUnavailable           *int `json:"maxUnavailable"`
	MaxUnavailablePercentage *int `json:"maxUnavailablePercentage"`
	DesiredSize              *int `json:"desiredSize"`
}

// Target is what the update's nodes run: version, release and launch
// template version.
func (ro NodegroupRollout) Target() string {
	t := ro.Version + "/" + ro.ReleaseVersion
	if lt := ro.LaunchTemplate; lt != nil {
		t += "/" + lt.ID + lt.Name + ":" + lt.Version
	}
	return t
}

type rolloutsAnswer struct {
	External bool               `json:"external"`
	Rollouts []NodegroupRollout `json:"rollouts"`
}

// ExternalNodegroupRollouts makes the emulated EKS leave cluster's node
// group version updates InProgress until FinishNodegroupRollout ends them
// (external), or apply them after its delay as before.
func (m *Moto) ExternalNodegroupRollouts(ctx context.Context, cluster string, external bool) error {
	return m.motoControl(ctx, "/moto-api/cutover/eks/nodegroup-rollouts", map[string]any{"cluster": cluster, "region": m.Region, "external": external})
}

// NodegroupRollouts lists cluster's node group version updates waiting for
// their node replacement.
func (m *Moto) NodegroupRollouts(ctx context.Context, cluster string) ([]NodegroupRollout, error) {
	var out rolloutsAnswer
	path := "/moto-api/cutover/eks/nodegroup-rollouts?" + url.Values{"cluster": {cluster}, "region": {m.Region}}.Encode()
	if err := m.motoControlDo(ctx, http.MethodGet, path, nil, &out); err != nil {
		return nil, err
	}
	return out.Rollouts, nil
}

// FinishNodegroupRollout ends a rollout: Successful without errors, else
// Failed with them (the node group stays at its old version).
func (m *Moto) FinishNodegroupRollout(ctx context.Context, cluster, nodegroup, updateID string, errs []NodegroupUpdateError) error {
	if errs == nil {
		errs = []NodegroupUpdateError{}
	}
	return m.motoControl(ctx, "/moto-api/cutover/eks/nodegroup-rollouts/finish", map[string]any{
		"cluster": cluster, "region": m.Region, "nodegroup": nodegroup, "updateId": updateID, "errors": errs,
	})
}
