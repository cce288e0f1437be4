package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Version is the release of this build, set by the linker:
//
//	go build -ldflags "-X github.com/cutover-dev/cutover/internal/cli.Version=v0.2.0" ./cmd/cutover
//
// (`make build` sets it from git describe). Empty falls back to the module
// version in the binary's build info, then "dev".
var Version string

// VersionInfo is what `cutover version` prints.
type VersionInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"` // built from a tree with uncommitted changes
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

// BuildVersion reads the version of the running binary: Version, and the
// VCS revision and Go version the toolchain stamped into its build info.
func BuildVersion() VersionInfo {
	v := VersionInfo{Version: Version, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v.Version = bi.Main.Version
		}
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				v.Commit = st.Value
			case "vcs.modified":
				v.Modified = st.Value == "true"
			}
		}
	}
	if v.Version == "" {
		v.Version = "dev"
	}
	return v
}

func (s *session) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of cutover",
		Example: `  cutover version
  cutover version -o json`,
		Args: noArgs,
		RunE: func(*cobra.Command, []string) error {
			v := BuildVersion()
			if s.structured() {
				return s.print(v)
			}
			var about []string
			if v.Commit != "" {
				commit := v.Commit
				if len(commit) > 12 {
					commit = commit[:12]
				}
				if v.Modified {
					commit += "-dirty"
				}
				about = append(about, "commit "+commit)
			}
			about = append(about, v.Go, v.Platform)
			fmt.Fprintf(s.stdout, "cutover %s (%s)\n", v.Version, strings.Join(about, ", "))
			return nil
		},
	}
}
