package eks

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/finding"
)

// TestSelfManagedCNIFindings: a self-managed aws-node against the VPC CNI
// versions EKS publishes for the target.
func TestSelfManagedCNIFindings(t *testing.T) {
	versions := []string{"v1.19.2-eksbuild.1", "v1.18.6-eksbuild.1", "v1.18.3-eksbuild.3"} // newest first
	const img = "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:"
	for _, tt := range []struct {
		name, version string
		inPlace       bool
		want          finding.Severity // "" for none
		msg           string
	}{
		{"published version", "v1.18.6-eksbuild.1", true, "", ""},
		{"newer build of the oldest", "v1.18.3-eksbuild.9", true, "", ""},
		{"between published versions", "v1.18.4", true, "", ""},
		{"newer than all (a fresh release)", "v1.20.0-eksbuild.1", true, "", ""},
		{"older than all, in place", "v1.12.6-eksbuild.2", true, finding.Error, "cutover does not update a self-managed CNI"},
		{"older than all, blue/green", "v1.12.6-eksbuild.2", false, finding.Info, "green runs EKS's default"},
		{"older patch of the oldest minor", "v1.18.1", true, finding.Error, "oldest v1.18.3-eksbuild.3"},
		{"untagged", "", true, finding.Warning, "carries no version"},
		{"tag without a version", "latest", false, finding.Warning, "carries no version"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := SelfManagedCNIFindings("blue", img+tt.version, tt.version, versions, "v1.18.6-eksbuild.1", "1.30", tt.inPlace)
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("%+v; want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Severity != tt.want || got[0].Check != CheckAddonVersionSkew || !strings.Contains(got[0].Message, tt.msg) {
				t.Errorf("%+v; want one %s %s finding saying %q", got, tt.want, CheckAddonVersionSkew, tt.msg)
			}
		})
	}
	if got := SelfManagedCNIFindings("blue", img+"v1.12.6", "v1.12.6", nil, "", "1.30", true); len(got) != 0 {
		t.Errorf("no published versions known: %+v; want none", got)
	}
}

// TestInPlaceAddonSkew: the installed version against the first hop's.
func TestInPlaceAddonSkew(t *testing.T) {
	infos := []ekstypes.AddonInfo{{AddonName: aws.String("vpc-cni"), AddonVersions: []ekstypes.AddonVersionInfo{
		addonVersion("v1.18.6-eksbuild.1", compat("1.30", true)), addonVersion("v1.16.4-eksbuild.2", compat("1.29", true)),
		addonVersion("v1.17.1-eksbuild.1", compat("1.30", false)),
	}}}
	for _, tt := range []struct {
		name, addon, installed, next string
		want                         []finding.Severity
	}{
		{"supported, one minor", "vpc-cni", "v1.17.1-eksbuild.1", "v1.18.6-eksbuild.1", nil},
		{"unsupported and two minors", "vpc-cni", "v1.16.4-eksbuild.2", "v1.18.6-eksbuild.1", []finding.Severity{finding.Error, finding.Warning}},
		{"other add-ons may jump minors", "coredns", "v1.17.1-eksbuild.1", "v1.19.0", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := inPlaceAddonSkew("blue", tt.addon, tt.installed, tt.next, "1.30", infos)
			if len(got) != len(tt.want) {
				t.Fatalf("%+v; want %v", got, tt.want)
			}
			for i := range got {
				if got[i].Severity != tt.want[i] {
					t.Errorf("finding %d: %+v; want %s", i, got[i], tt.want[i])
				}
			}
		})
	}
}
