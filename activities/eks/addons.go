package eks

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
)

// pickAddonVersion chooses the add-on version for a Kubernetes version: the
// one EKS marks as default for it, else the newest compatible one.
func pickAddonVersion(infos []ekstypes.AddonInfo, k8sVersion string) (string, bool) {
	v, _, ok := pickAddonVersionWhy(infos, k8sVersion)
	return v, ok
}

// pickAddonVersionWhy is pickAddonVersion with the reason, for the report.
func pickAddonVersionWhy(infos []ekstypes.AddonInfo, k8sVersion string) (version, why string, ok bool) {
	var compatible []string
	for _, info := range infos {
		for _, v := range info.AddonVersions {
			for _, c := range v.Compatibilities {
				if aws.ToString(c.ClusterVersion) != k8sVersion {
					continue
				}
				if c.DefaultVersion {
					return aws.ToString(v.AddonVersion), "EKS's default for Kubernetes " + k8sVersion, true
				}
				compatible = append(compatible, aws.ToString(v.AddonVersion))
			}
		}
	}
	if len(compatible) == 0 {
		return "", "", false
	}
	sort.Slice(compatible, func(i, j int) bool { return compareVersions(compatible[i], compatible[j]) > 0 })
	return compatible[0], fmt.Sprintf("newest of %d versions compatible with Kubernetes %s (EKS marks no default)", len(compatible), k8sVersion), true
}

// addonVersionInfos pages through DescribeAddonVersions for one add-on and
// Kubernetes version.
func (a *Activities) addonVersionInfos(ctx context.Context, api EKSAPI, name, k8sVersion string) ([]ekstypes.AddonInfo, error) {
	var infos []ekstypes.AddonInfo
	pg := awseks.NewDescribeAddonVersionsPaginator(api, &awseks.DescribeAddonVersionsInput{
		AddonName: aws.String(name), KubernetesVersion: aws.String(k8sVersion),
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, awsError(err, "describe versions of add-on %s for Kubernetes %s", name, k8sVersion)
		}
		infos = append(infos, page.Addons...)
	}
	return infos, nil
}

// addonChoice says which version green's add-on runs and why: the plan's
// pin, the version picked for the target (why, when this attempt picked
// it; looked up again for one an earlier attempt created), or one found
// installed and adopted.
func (a *Activities) addonChoice(ctx context.Context, api EKSAPI, want, got Addon, created bool, why, k8sVersion string) AddonChoice {
	c := AddonChoice{Name: want.Name, Version: got.Version, ServiceAccountRoleARN: got.ServiceAccountRoleARN}
	switch {
	case want.Version != "":
		c.Reason = "pinned by the plan"
	case !created:
		c.Reason = "found installed at this version (adopted)"
	case why != "":
		c.Reason = why
	default:
		infos, err := a.addonVersionInfos(ctx, api, want.Name, k8sVersion)
		if v, w, ok := pickAddonVersionWhy(infos, k8sVersion); err == nil && ok && v == got.Version {
			c.Reason = w
		} else {
			c.Reason = "created by an earlier attempt for Kubernetes " + k8sVersion
		}
	}
	return c
}

// compareVersions orders versions like "v1.19.0-eksbuild.2" with numbers
// compared as numbers.
func compareVersions(a, b string) int {
	ta, tb := versionTokens(a), versionTokens(b)
	for i := 0; i < len(ta) && i < len(tb); i++ {
		x, y := ta[i], tb[i]
		nx, errx := strconv.Atoi(x)
		ny, erry := strconv.Atoi(y)
		switch {
		case errx == nil && erry == nil:
			if nx != ny {
				if nx < ny {
					return -1
				}
				return 1
			}
		case x != y:
			return strings.Compare(x, y)
		}
	}
	return len(ta) - len(tb)
}

func versionTokens(s string) []string {
	var out []string
	var cur strings.Builder
	digit := false
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range strings.TrimPrefix(s, "v") {
		switch {
		case unicode.IsDigit(r):
			if !digit {
				flush()
			}
			digit = true
			cur.WriteRune(r)
		case r == '.' || r == '-' || r == '+':
			flush()
			digit = false
		default:
			if digit {
				flush()
			}
			digit = false
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// EnsureAddons installs green's add-ons: each at the version EKS marks as
// default for the target Kubernetes version (or the newest compatible one,
// or the plan's pin), with blue's configuration values and service account
// role, resolving conflicts with self-managed copies by overwriting them.
// Existing add-ons are adopted as they are. It waits until all are ACTIVE
// (DEGRADED keeps waiting; *_FAILED fails with the health issues),
// heartbeating a Progress.
func (a *Activities) EnsureAddons(ctx context.Context, in EnsureAddonsInput) (EnsureAddonsResult, error) {
	// Heartbeat in the background while it works (see activitylog.KeepAlive).
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	ref := in.Cluster
	if ref.Name == "" || in.TargetVersion == "" {
		return EnsureAddonsResult{}, invalidf("ensure add-ons: cluster name and target version are required")
	}
	want := slices.Clone(in.Addons)
	sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
	for i, ad := range want {
		if ad.Name == "" {
			return EnsureAddonsResult{}, invalidf("add-on #%d has no name", i)
		}
		if i > 0 && want[i-1].Name == ad.Name {
			return EnsureAddonsResult{}, invalidf("add-on %q is planned twice", ad.Name)
		}
	}
	var res EnsureAddonsResult
	if len(want) == 0 {
		return res, nil
	}
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	p := resume(ctx, StepAddons, ref.Name)
	p.Step = StepAddons

	why := map[string]string{}
	for _, ad := range want {
		_, found, err := describeAddon(ctx, api, ref, ad.Name)
		if err != nil {
			return res, err
		}
		if !found {
			version := ad.Version
			if version == "" {
				infos, err := a.addonVersionInfos(ctx, api, ad.Name, in.TargetVersion)
				if err != nil {
					return res, err
				}
				v, w, ok := pickAddonVersionWhy(infos, in.TargetVersion)
				if !ok {
					return res, notFoundf("add-on %s has no version compatible with Kubernetes %s", ad.Name, in.TargetVersion)
				}
				version, why[ad.Name] = v, w
			}
			log.Info("Creating add-on", "cluster", ref.Name, "addon", ad.Name, "version", version)
			_, err = api.CreateAddon(ctx, &awseks.CreateAddonInput{
				ClusterName:           aws.String(ref.Name),
				AddonName:             aws.String(ad.Name),
				AddonVersion:          aws.String(version),
				ConfigurationValues:   optString(ad.ConfigurationValues),
				ServiceAccountRoleArn: optString(ad.ServiceAccountRoleARN),
				ResolveConflicts:      ekstypes.ResolveConflictsOverwrite,
				ClientRequestToken:    requestToken(in.RequestToken, ad.Name),
				Tags:                  map[string]string{TagManagedBy: "cutover"},
			})
			switch {
			case isInUse(err):
				log.Info("Add-on was created meanwhile; adopting it", "cluster", ref.Name, "addon", ad.Name)
			case err != nil:
				return res, awsError(err, "create add-on %s on cluster %s", ad.Name, ref)
			default:
				p.markCreated(ad.Name)
			}
		} else if !slices.Contains(p.Created, ad.Name) {
			log.Info("Adopting existing add-on", "cluster", ref.Name, "addon", ad.Name)
		}
		if !slices.Contains(p.Pending, ad.Name) && !slices.Contains(p.Done, ad.Name) {
			p.Pending = append(p.Pending, ad.Name)
		}
		heartbeat(ctx, &p)
	}

	final := map[string]Addon{}
	degraded := map[string]bool{}
	err = a.poll(ctx, &p, func(ctx context.Context) (bool, error) {
		var status []string
		for _, ad := range want {
			out, err := api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(ref.Name), AddonName: aws.String(ad.Name)})
			if isNotFound(err) {
				return false, notFoundf("add-on %s of cluster %s disappeared while waiting for it", ad.Name, ref)
			}
			if err != nil {
				return false, awsError(err, "describe add-on %s of cluster %s", ad.Name, ref)
			}
			st := ekstypes.AddonStatus("")
			if out.Addon != nil {
				st = out.Addon.Status
			}
			status = append(status, ad.Name+"="+string(st))
			switch st {
			case ekstypes.AddonStatusActive:
				p.markDone(ad.Name)
				final[ad.Name] = addonFromAPI(ad.Name, out.Addon)
			case ekstypes.AddonStatusCreateFailed, ekstypes.AddonStatusUpdateFailed, ekstypes.AddonStatusDeleteFailed:
				return false, failedf("add-on %s of cluster %s is %s: %s", ad.Name, ref, st, addonHealth(out.Addon))
			case ekstypes.AddonStatusDeleting:
				return false, failedf("add-on %s of cluster %s is being deleted", ad.Name, ref)
			case ekstypes.AddonStatusDegraded:
				if !degraded[ad.Name] {
					degraded[ad.Name] = true
					log.Warn("Add-on is DEGRADED; waiting", "cluster", ref.Name, "addon", ad.Name, "health", addonHealth(out.Addon))
				}
			}
		}
		p.Status = strings.Join(status, " ")
		return len(final) == len(want), nil
	})
	if err != nil {
		return res, err
	}
	for _, ad := range want {
		res.Addons = append(res.Addons, final[ad.Name])
		res.Choices = append(res.Choices, a.addonChoice(ctx, api, ad, final[ad.Name], slices.Contains(p.Created, ad.Name), why[ad.Name], in.TargetVersion))
		if slices.Contains(p.Created, ad.Name) {
			res.Created = append(res.Created, ad.Name)
		} else {
			res.Adopted = append(res.Adopted, ad.Name)
		}
	}
	log.Info("Add-ons are ACTIVE", "cluster", ref.Name, "created", res.Created, "adopted", res.Adopted, "polls", p.Polls)
	return res, nil
}

func describeAddon(ctx context.Context, api EKSAPI, ref clusters.Ref, name string) (Addon, bool, error) {
	out, err := api.DescribeAddon(ctx, &awseks.DescribeAddonInput{ClusterName: aws.String(ref.Name), AddonName: aws.String(name)})
	if isNotFound(err) {
		return Addon{}, false, nil
	}
	if err != nil {
		return Addon{}, false, awsError(err, "describe add-on %s of cluster %s", name, ref)
	}
	return addonFromAPI(name, out.Addon), true, nil
}

func addonHealth(a *ekstypes.Addon) string {
	if a == nil || a.Health == nil || len(a.Health.Issues) == 0 {
		return "no health issues reported"
	}
	var parts []string
	for _, i := range a.Health.Issues {
		parts = append(parts, issueText(string(i.Code), aws.ToString(i.Message), i.ResourceIds))
	}
	return strings.Join(parts, "; ")
}
