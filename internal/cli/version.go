package cli

import (
	"fmt"
	"strings"

	"github.com/cutover-dev/cutover/internal/buildinfo"
	"github.com/spf13/cobra"
)

// VersionInfo is what `cutover version` prints: the build's version and
// commit as the linker stamped them into package buildinfo (`make build`
// and deploy/Dockerfile stamp the CLI and the worker alike).
type VersionInfo = buildinfo.Info

// BuildVersion reads the version of the running binary.
func BuildVersion() VersionInfo { return buildinfo.Read() }

func (s *session) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit of cutover",
		Example: `  cutover version
  cutover version -o json`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			v := BuildVersion()
			if s.structured() {
				return s.print(v)
			}
			var about []string
			if c := v.ShortCommit(); c != "" {
				about = append(about, "commit "+c)
			}
			about = append(about, v.Go, v.Platform)
			fmt.Fprintf(s.stdout, "cutover %s (%s)\n", v.Version, strings.Join(about, ", "))
			return nil
		},
	}
}
