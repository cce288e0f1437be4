// Package traffic holds the activities that move users between blue and
// green: Route53 weighted records, CloudFront origin switches, waiting for
// the change to propagate, and the CloudWatch alarm and HTTP probe checks
// read while a step bakes.
package traffic

import (
	"context"

	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/probe"
	"github.com/cutover-dev/cutover/internal/spec"
)

// Target is where traffic is shifted.
type Target struct {
	Provider   string               `json:"provider"`
	Region     string               `json:"region"`
	Route53    *spec.Route53Spec    `json:"route53,omitempty"`
	CloudFront *spec.CloudFrontSpec `json:"cloudfront,omitempty"`
}

// Weights are the percentages of traffic on each side.
type Weights struct {
	Blue  int `json:"blue"`
	Green int `json:"green"`
}

// SetWeightsInput sets green's share (blue gets the rest).
type SetWeightsInput struct {
	Target Target `json:"target"`
	Green  int    `json:"green"`
}

// Change is a submitted traffic change to wait for.
type Change struct {
	Provider string `json:"provider"`
	// ID is the Route53 change ID or the CloudFront distribution ID.
	ID string `json:"id"`
	// Weights requested.
	Weights Weights `json:"weights"`
	// Noop is true when the weights were already in place.
	Noop bool `json:"noop"`
}

// HealthInput is what to read while a step bakes.
type HealthInput struct {
	Region string           `json:"region"`
	Alarms []string         `json:"alarms,omitempty"`
	Probes []spec.HTTPProbe `json:"probes,omitempty"`
}

// AlarmState is one CloudWatch alarm.
type AlarmState struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// HealthResult is healthy only when no alarm is in ALARM and every probe passed.
type HealthResult struct {
	Healthy bool           `json:"healthy"`
	Reasons []string       `json:"reasons,omitempty"`
	Alarms  []AlarmState   `json:"alarms,omitempty"`
	Probes  []probe.Result `json:"probes,omitempty"`
}

// Activities are the traffic activities.
type Activities struct{}

// New returns the traffic activities.
func New() *Activities { return &Activities{} }

// GetTrafficWeights reads the current split.
func (a *Activities) GetTrafficWeights(ctx context.Context, t Target) (Weights, error) {
	return Weights{}, failures.NotImplementedf("traffic.GetTrafficWeights")
}

// SetTrafficWeights submits a new split; it is idempotent.
func (a *Activities) SetTrafficWeights(ctx context.Context, in SetWeightsInput) (Change, error) {
	return Change{}, failures.NotImplementedf("traffic.SetTrafficWeights")
}

// WaitTrafficPropagated heartbeats until Route53 says INSYNC or CloudFront says Deployed.
func (a *Activities) WaitTrafficPropagated(ctx context.Context, c Change) error {
	return failures.NotImplementedf("traffic.WaitTrafficPropagated")
}

// CheckTrafficHealth reads the alarms and runs the probes once.
func (a *Activities) CheckTrafficHealth(ctx context.Context, in HealthInput) (HealthResult, error) {
	return HealthResult{}, failures.NotImplementedf("traffic.CheckTrafficHealth")
}
