package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/spf13/cobra"
)

func (s *session) validateCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate -f SPEC",
		Short: "Check a migration spec (nothing is started)",
		Long: `Check a migration spec with the reader and validator the workflow uses:
every problem is listed with its JSON path, and a spec with problems exits 2.
Temporal is not contacted.`,
		Example: `  cutover validate -f deploy/examples/route53-weighted.json
  cutover validate -f - -o json < spec.json`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error { return s.validate(file) },
	}
	specFlag(cmd, &file, "migration spec")
	return cmd
}

func (s *session) validate(file string) error {
	d, verr := s.readSpec(file)
	var fe spec.FieldErrors
	if verr != nil && !errors.As(verr, &fe) {
		return verr
	}
	if s.structured() {
		out := map[string]any{"valid": verr == nil}
		if verr == nil {
			out["spec"] = d
		} else {
			out["errors"] = fe
		}
		if err := s.print(out); err != nil {
			return err
		}
	} else if verr == nil {
		fmt.Fprintf(s.stdout, "%s: valid. Migration %q moves %s (%s) to %s at Kubernetes %s; traffic %s in steps %v; gates: %s.\n",
			file, d.Name, d.Blue.ClusterName, d.Blue.Region, d.Green.ClusterName, d.Green.KubernetesVersion, d.Traffic.Provider, d.Traffic.Steps, gateList(d))
	} else {
		printFieldErrors(s.stdout, file, verr)
	}
	if verr != nil {
		return &exitError{code: ExitUsage}
	}
	return nil
}

func gateList(s spec.MigrationSpec) string {
	var gates []string
	for _, n := range []string{spec.GateCutover, spec.GateRetire} {
		if _, ok := s.Gate(n); ok {
			gates = append(gates, n)
		}
	}
	if s.Approvals.EachStep.IsEnabled() {
		gates = append(gates, "each traffic step after the first")
	}
	if len(gates) == 0 {
		return "none"
	}
	return strings.Join(gates, ", ")
}
