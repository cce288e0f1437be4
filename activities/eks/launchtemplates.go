package eks

// Launch templates of green's node groups: a template that pins blue's AMI
// (an EKS-optimized AMI for blue's Kubernetes version) gets a new version
// for green with the same AMI family at the target version, from SSM. Blue's
// AMI is never silently reused on green.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/breaking"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
	"github.com/cutover-dev/cutover/internal/spec"
)

// EC2API is the part of *ec2.Client the activities use: the versions of a
// node group's launch template and the AMI a version pins, the subnets'
// free addresses (subnets.go), and the karpenter.sh/discovery tags of subnets and security groups (karpenter.go).
type EC2API interface {
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
	DeleteLaunchTemplateVersions(ctx context.Context, in *ec2.DeleteLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateVersionsOutput, error)
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)

	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)

	DescribeTags(ctx context.Context, in *ec2.DescribeTagsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeTagsOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
}

// EC2ClientFactory is a ClientFactory that also gives EC2 clients, as the
// SDK one (NewClientFactory) does. It is separate so that the fakes of
// tests need not implement it.
type EC2ClientFactory interface {
	EC2(ctx context.Context, region string) (EC2API, error)
}

// ec2Codes are the EC2 error codes with a type of their own.
var ec2Codes = func() failures.AWSCodes {
	c := failures.Codes(map[string][]string{
		failures.NotFound: {"InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException",
			"InvalidLaunchTemplateId.VersionNotFound", "InvalidLaunchTemplateId.Malformed",
			"InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "InvalidAMIID.Malformed",
			"InvalidSubnetID.NotFound", "InvalidGroup.NotFound", "InvalidSecurityGroupID.NotFound"},
	})
	for k, v := range eksCodes {
		c[k] = v
	}
	return c
}()

func ec2Error(err error, what string, args ...any) error {
	return failures.FromAWS(err, ec2Codes, what, args...)
}

func isEC2NotFound(err error) bool {
	var apiErr interface{ ErrorCode() string }
	return errors.As(err, &apiErr) && ec2Codes[apiErr.ErrorCode()] == failures.NotFound
}

// EC2 implements EC2ClientFactory.
func (c *sdkClients) EC2(ctx context.Context, region string) (EC2API, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.ec2[region]; ok {
		return cl, nil
	}
	cfg, err := c.p.ForRegion(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
	}
	cl := ec2.NewFromConfig(cfg)
	if c.ec2 == nil {
		c.ec2 = map[string]*ec2.Client{}
	}
	c.ec2[region] = cl
	return cl, nil
}

// ec2Client returns the EC2 client of a region, or ok=false when the
// client factory has none (a test's fake).
func (a *Activities) ec2Client(ctx context.Context, region string) (EC2API, bool, error) {
	f, ok := a.clients.(EC2ClientFactory)
	if !ok {
		return nil, false, nil
	}
	api, err := f.EC2(ctx, region)
	if err != nil {
		return nil, true, err
	}
	return api, true, nil
}

// launchTemplateFor is greenLaunchTemplate with the EC2 client of the
// region. A client factory without EC2 (a test's fake) keeps the template
// as planned, with a warning.
func (a *Activities) launchTemplateFor(ctx context.Context, region string, ssmAPI SSMAPI, eksAPI EKSAPI, green, target, amiTypeUpgrade string, ng NodeGroup) (*LaunchTemplate, *LaunchTemplateVersion, error) {
	if ng.LaunchTemplate == nil {
		return nil, nil, nil
	}
	api, ok, err := a.ec2Client(ctx, region)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		logger(ctx).Warn("No EC2 client: the launch template is kept as planned, unchecked", "nodegroup", ng.Name)
		return ng.LaunchTemplate, nil, nil
	}
	return a.greenLaunchTemplate(ctx, api, ssmAPI, eksAPI, green, target, amiTypeUpgrade, ng)
}

// amiImageParameter is the SSM parameter that holds the AMI ID of the
// recommended release of amiType for a Kubernetes version (beside the
// release parameter of amiParameter).
func amiImageParameter(root, version, amiType string) (string, bool) {
	p, ok := amiParameter(root, version, amiType)
	if !ok {
		return "", false
	}
	p = strings.TrimSuffix(strings.TrimSuffix(p, "/release_version"), "/image_version")
	return p + "/image_id", true
}

// eksAMINames recognise the names AWS gives its EKS-optimized AMIs, with the
// AMI type they are and the Kubernetes version they were built for.
var eksAMINames = []struct {
	re      *regexp.Regexp
	amiType func(m []string) ekstypes.AMITypes
}{
	{regexp.MustCompile(`^amazon-eks-node-al2023-(x86_64|arm64)-(standard|nvidia|neuron)-(1\.\d+)-v`), func(m []string) ekstypes.AMITypes {
		return map[string]ekstypes.AMITypes{
			"x86_64/standard": ekstypes.AMITypesAl2023X8664Standard, "arm64/standard": ekstypes.AMITypesAl2023Arm64Standard,
			"x86_64/nvidia": ekstypes.AMITypesAl2023X8664Nvidia, "arm64/nvidia": ekstypes.AMITypesAl2023Arm64Nvidia,
			"x86_64/neuron": ekstypes.AMITypesAl2023X8664Neuron,
		}[m[1]+"/"+m[2]]
	}},
	{regexp.MustCompile(`^amazon-eks-node-(1\.\d+)-v`), func([]string) ekstypes.AMITypes { return ekstypes.AMITypesAl2X8664 }},
	{regexp.MustCompile(`^amazon-eks-gpu-node-(1\.\d+)-v`), func([]string) ekstypes.AMITypes { return ekstypes.AMITypesAl2X8664Gpu }},
	{regexp.MustCompile(`^amazon-eks-arm64-node-(1\.\d+)-v`), func([]string) ekstypes.AMITypes { return ekstypes.AMITypesAl2Arm64 }},
	{regexp.MustCompile(`^bottlerocket-aws-k8s-(1\.\d+)-(?:(nvidia|fips)-)?(x86_64|aarch64)-v`), func(m []string) ekstypes.AMITypes {
		return map[string]ekstypes.AMITypes{
			"/x86_64": ekstypes.AMITypesBottlerocketX8664, "/aarch64": ekstypes.AMITypesBottlerocketArm64,
			"nvidia/x86_64": ekstypes.AMITypesBottlerocketX8664Nvidia, "nvidia/aarch64": ekstypes.AMITypesBottlerocketArm64Nvidia,
			"fips/x86_64": ekstypes.AMITypesBottlerocketX8664Fips, "fips/aarch64": ekstypes.AMITypesBottlerocketArm64Fips,
		}[m[len(m)-2]+"/"+m[len(m)-1]]
	}},
}

// eksAMIFromName returns the AMI type and Kubernetes version of an
// EKS-optimized AMI from its name, and false for any other AMI.
func eksAMIFromName(name string) (amiType, version string, ok bool) {
	for _, n := range eksAMINames {
		m := n.re.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		t := n.amiType(m)
		if t == "" {
			return "", "", false
		}
		for _, g := range m[1:] {
			if strings.HasPrefix(g, "1.") {
				version = g
			}
		}
		return string(t), version, true
	}
	return "", "", false
}

// launchTemplateMarker is the version description by which a version this
// migration created for a node group is found again (idempotence).
func launchTemplateMarker(migration, nodeGroup, target string) string {
	return launchTemplateMarkerPrefix(migration, nodeGroup) + target
}

// launchTemplateMarkerPrefix is the part of launchTemplateMarker that does
// not depend on the target version: what a rollback recognises a version
// of this migration's by.
func launchTemplateMarkerPrefix(migration, nodeGroup string) string {
	return fmt.Sprintf("cutover %s: node group %s on Kubernetes ", migration, nodeGroup)
}

// Actions of a LaunchTemplatePlan.
const (
	// LaunchTemplateKeep: green's node group uses blue's template version as it is.
	LaunchTemplateKeep = "keep"
	// LaunchTemplateNewVersion: green gets a new version of the template
	// with the AMI for the target version.
	LaunchTemplateNewVersion = "new-version"
	// LaunchTemplateRefuse: green cannot get a version for this template.
	LaunchTemplateRefuse = "refuse"
)

// CheckLaunchTemplateUnsupported is the preflight check ID of a node group
// whose launch template green cannot get a version for.
const CheckLaunchTemplateUnsupported = "launch-template-unsupported"

// launchTemplateDecision is what green's node group gets from blue's launch
// template: the one decision greenLaunchTemplate acts on and
// PlanGreenLaunchTemplates reports.
type launchTemplateDecision struct {
	Plan LaunchTemplatePlan
	// blue is blue's template version (the source of green's).
	blue ec2types.LaunchTemplateVersion
	// amiType is the AMI type of green's AMI (blue's, or its successor).
	amiType string
	// successor is set when amiType is the successor of blue's.
	successor bool
	// refusal is the typed error of a refused template; fix says how to
	// resolve it.
	refusal error
	fix     string
}

func (d *launchTemplateDecision) refuse(err error, fix string) {
	d.Plan.Action, d.Plan.Reason, d.refusal, d.fix = LaunchTemplateRefuse, err.Error(), err, fix
}

// decideLaunchTemplate reads blue's template version of ng, the AMI it
// pins and the AMI for the target version from SSM (nothing is changed),
// and decides: a version that pins no AMI, or one already built for the
// target, is kept; one that pins an EKS-optimized AMI built for another
// Kubernetes version gets a new version with the same AMI family's
// recommended AMI for the target, or its successor's when that family does
// not exist at the target and amiTypeUpgrade is "successor"; anything else
// is refused (an AMI that is not EKS-optimized, no AMI of the family at the
// target, a missing template). The error is for what could not be read.
func (a *Activities) decideLaunchTemplate(ctx context.Context, ec2API EC2API, ssmAPI SSMAPI, target, amiTypeUpgrade string, ng NodeGroup) (launchTemplateDecision, error) {
	lt := ng.LaunchTemplate
	d := launchTemplateDecision{Plan: LaunchTemplatePlan{NodeGroup: ng.Name, LaunchTemplateID: firstNonEmpty(lt.ID, lt.Name), SourceVersion: firstNonEmpty(lt.Version, "$Default")}}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{d.Plan.SourceVersion}}
	if lt.ID != "" {
		in.LaunchTemplateId = aws.String(lt.ID)
	} else {
		in.LaunchTemplateName = aws.String(lt.Name)
	}
	what := fmt.Sprintf("launch template %s version %s of node group %s", d.Plan.LaunchTemplateID, d.Plan.SourceVersion, ng.Name)
	out, err := ec2API.DescribeLaunchTemplateVersions(ctx, in)
	if isEC2NotFound(err) {
		d.refuse(notFoundf("%s: %v", what, err), "point blue's node group at a launch template version that exists")
		return d, nil
	}
	if err != nil {
		return d, ec2Error(err, "describe %s", what)
	}
	if len(out.LaunchTemplateVersions) != 1 {
		d.refuse(notFoundf("%s: EC2 returned %d versions, want 1", what, len(out.LaunchTemplateVersions)), "point blue's node group at a launch template version that exists")
		return d, nil
	}
	d.blue = out.LaunchTemplateVersions[0]
	if id := aws.ToString(d.blue.LaunchTemplateId); id != "" {
		d.Plan.LaunchTemplateID = id
	}
	if d.blue.VersionNumber != nil {
		d.Plan.SourceVersion = strconv.FormatInt(aws.ToInt64(d.blue.VersionNumber), 10)
	}
	// User data the target's kubelet no longer takes (internal/breaking's
	// table): green's nodes would never join, whatever the AMI.
	if tm, ok := spec.MinorVersion(target); ok {
		if found, matched := breaking.UserData(breaking.Table(), 0, tm, userDataText(d.blue)); len(found) > 0 {
			c := found[0]
			d.refuse(failedf("%s: its user data passes %s: %s (%s)", what, matched[0], c.Message, c.Source),
				fmt.Sprintf("%s Add a version of launch template %s without it and point blue's node group %s at it.", c.Fix, d.Plan.LaunchTemplateID, ng.Name))
			return d, nil
		}
	}
	image := ""
	if d.blue.LaunchTemplateData != nil {
		image = aws.ToString(d.blue.LaunchTemplateData.ImageId)
	}
	d.Plan.BlueAMI = image
	if image == "" {
		d.Plan.Action = LaunchTemplateKeep
		d.Plan.Reason = fmt.Sprintf("the template version pins no AMI: EKS picks the node group's AMI for Kubernetes %s", target)
		return d, nil
	}
	imgs, err := ec2API.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
	if err != nil && !isEC2NotFound(err) {
		return d, ec2Error(err, "describe AMI %s pinned by %s", image, what)
	}
	name := ""
	if err == nil && len(imgs.Images) == 1 {
		name = aws.ToString(imgs.Images[0].Name)
	}
	amiType, built, ok := eksAMIFromName(name)
	if !ok {
		d.refuse(failedf("%s pins AMI %s (%q), which is not an EKS-optimized AMI: cutover cannot tell which AMI replaces it at Kubernetes %s; add a launch template version with an AMI for %s and point blue's node group at it, or use an EKS-optimized AMI",
			what, image, name, target, target),
			fmt.Sprintf("add a version of launch template %s with an AMI for Kubernetes %s and point blue's node group %s at it, or use an EKS-optimized AMI", d.Plan.LaunchTemplateID, target, ng.Name))
		return d, nil
	}
	d.amiType = amiType
	if built == target {
		d.Plan.Action, d.Plan.GreenAMI = LaunchTemplateKeep, image
		d.Plan.Reason = fmt.Sprintf("AMI %s (%s) is already built for Kubernetes %s", image, amiType, target)
		return d, nil
	}
	param, _ := amiImageParameter(a.ssmRoot, target, amiType)
	p, err := ssmAPI.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
	if isNotFound(err) {
		succ := spec.AMITypeSuccessorOf(amiType)
		if succ == "" || amiTypeUpgrade != spec.AMITypeUpgradeSuccessor {
			fix := fmt.Sprintf("add a version of launch template %s with an AMI for Kubernetes %s and point blue's node group %s at it", d.Plan.LaunchTemplateID, target, ng.Name)
			if succ != "" {
				fix = fmt.Sprintf("set green.nodeGroups.amiTypeUpgrade to %q to build green's version on %s, or %s", spec.AMITypeUpgradeSuccessor, succ, fix)
			}
			d.refuse(notFoundf("%s pins AMI %s (%s for Kubernetes %s), and there is no %s AMI for Kubernetes %s (SSM parameter %s not found)",
				what, image, amiType, built, amiType, target, param), fix)
			return d, nil
		}
		if ud := userDataText(d.blue); strings.Contains(ud, "bootstrap.sh") && strings.HasPrefix(succ, "AL2023") {
			d.refuse(failedf("%s pins AMI %s (%s for Kubernetes %s), whose successor at Kubernetes %s is %s, but its user data bootstraps with /etc/eks/bootstrap.sh, which %s does not have (it reads a nodeadm NodeConfig)",
				what, image, amiType, built, target, succ, succ),
				fmt.Sprintf("add a version of launch template %s whose user data is a nodeadm NodeConfig and point blue's node group %s at it, or move it to an AMI type without a launch template AMI", d.Plan.LaunchTemplateID, ng.Name))
			return d, nil
		}
		d.amiType, d.successor = succ, true
		param, _ = amiImageParameter(a.ssmRoot, target, succ)
		p, err = ssmAPI.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
		if isNotFound(err) {
			d.refuse(notFoundf("%s pins AMI %s (%s for Kubernetes %s), and there is no %s AMI nor one of its successor %s for Kubernetes %s (SSM parameter %s not found)",
				what, image, amiType, built, amiType, succ, target, param),
				fmt.Sprintf("add a version of launch template %s with an AMI for Kubernetes %s and point blue's node group %s at it", d.Plan.LaunchTemplateID, target, ng.Name))
			return d, nil
		}
	}
	if err != nil {
		return d, awsError(err, "read SSM parameter %s", param)
	}
	greenImage := ""
	if p.Parameter != nil {
		greenImage = strings.TrimSpace(aws.ToString(p.Parameter.Value))
	}
	if greenImage == "" {
		return d, notFoundf("SSM parameter %s is empty", param)
	}
	d.Plan.Action, d.Plan.GreenAMI = LaunchTemplateNewVersion, greenImage
	if d.successor {
		d.Plan.Reason = fmt.Sprintf("blue's AMI %s is %s for Kubernetes %s, which does not exist at %s: green's version pins %s, the successor's recommended AMI for %s (green.nodeGroups.amiTypeUpgrade is %q)",
			image, amiType, built, target, greenImage, target, spec.AMITypeUpgradeSuccessor)
	} else {
		d.Plan.Reason = fmt.Sprintf("blue's AMI %s is %s for Kubernetes %s: green's version pins %s, the recommended %s AMI for %s", image, amiType, built, greenImage, amiType, target)
	}
	return d, nil
}

// userDataText is a template version's user data, decoded ("" when it has
// none or it is not base64).
func userDataText(v ec2types.LaunchTemplateVersion) string {
	if v.LaunchTemplateData == nil {
		return ""
	}
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(v.LaunchTemplateData.UserData))
	if err != nil {
		return ""
	}
	return string(raw)
}

// greenLaunchTemplate returns the launch template green's node group is to
// be created with, as decideLaunchTemplate decides: kept, or a new version,
// from blue's as source, with the target's AMI, described with the
// migration so a retry finds it (then returned as the version too, Created
// when this call made it); a refused template is its typed error.
//
// A template with a custom AMI carries the node's whole bootstrap in its
// user data, which names blue (cluster name, API endpoint, CA): in green's
// version those are green's (rewriteBootstrap), when eksAPI is given to
// read both clusters, so green's nodes do not join blue.
func (a *Activities) greenLaunchTemplate(ctx context.Context, ec2API EC2API, ssmAPI SSMAPI, eksAPI EKSAPI, green, target, amiTypeUpgrade string, ng NodeGroup) (*LaunchTemplate, *LaunchTemplateVersion, error) {
	lt := ng.LaunchTemplate
	if lt == nil {
		return nil, nil, nil
	}
	d, err := a.decideLaunchTemplate(ctx, ec2API, ssmAPI, target, amiTypeUpgrade, ng)
	if err != nil {
		return nil, nil, err
	}
	switch d.Plan.Action {
	case LaunchTemplateRefuse:
		return nil, nil, d.refusal
	case LaunchTemplateKeep:
		return lt, nil, nil
	}
	blue := d.blue
	id, tmplName := aws.ToString(blue.LaunchTemplateId), aws.ToString(blue.LaunchTemplateName)
	marker := launchTemplateMarker(ng.Tags[TagMigration], ng.Name, target)
	if v, found, err := findLaunchTemplateVersion(ctx, ec2API, id, marker); err != nil {
		return nil, nil, err
	} else if found {
		logger(ctx).Info("Adopting green's launch template version", "nodegroup", ng.Name, "launchTemplate", id, "version", v)
		version := strconv.FormatInt(v, 10)
		return &LaunchTemplate{ID: id, Name: tmplName, Version: version}, &LaunchTemplateVersion{NodeGroup: ng.Name, LaunchTemplateID: id, Version: version}, nil
	}
	data := &ec2types.RequestLaunchTemplateData{ImageId: aws.String(d.Plan.GreenAMI)}
	if ud := aws.ToString(blue.LaunchTemplateData.UserData); ud != "" && eksAPI != nil && ng.Tags[TagCopiedFrom] != "" {
		rewritten, err := greenUserData(ctx, eksAPI, ud, ng.Tags[TagCopiedFrom], green)
		if err != nil {
			return nil, nil, err
		}
		if rewritten != "" {
			logger(ctx).Info("Green's launch template version bootstraps green, not blue", "nodegroup", ng.Name, "launchTemplate", id)
			data.UserData = aws.String(rewritten)
		}
	}
	created, err := ec2API.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateId:   aws.String(id),
		SourceVersion:      aws.String(strconv.FormatInt(aws.ToInt64(blue.VersionNumber), 10)),
		VersionDescription: aws.String(marker),
		LaunchTemplateData: data,
	})
	if err != nil {
		return nil, nil, ec2Error(err, "create a version of launch template %s for node group %s", id, ng.Name)
	}
	v := strconv.FormatInt(aws.ToInt64(created.LaunchTemplateVersion.VersionNumber), 10)
	logger(ctx).Info("Created green's launch template version", "nodegroup", ng.Name, "launchTemplate", id,
		"version", v, "sourceVersion", aws.ToInt64(blue.VersionNumber), "blueAMI", d.Plan.BlueAMI, "greenAMI", d.Plan.GreenAMI, "amiType", d.amiType)
	return &LaunchTemplate{ID: id, Name: tmplName, Version: v}, &LaunchTemplateVersion{NodeGroup: ng.Name, LaunchTemplateID: id, Version: v, Created: true}, nil
}

// findLaunchTemplateVersion looks for the version described with marker,
// newest first ($Latest is the usual answer).
func findLaunchTemplateVersion(ctx context.Context, api EC2API, id, marker string) (int64, bool, error) {
	latest, err := api.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), Versions: []string{"$Latest"}})
	if err != nil {
		return 0, false, ec2Error(err, "describe the latest version of launch template %s", id)
	}
	for _, v := range latest.LaunchTemplateVersions {
		if aws.ToString(v.VersionDescription) == marker {
			return aws.ToInt64(v.VersionNumber), true, nil
		}
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id)}
	for {
		out, err := api.DescribeLaunchTemplateVersions(ctx, in)
		if err != nil {
			return 0, false, ec2Error(err, "list the versions of launch template %s", id)
		}
		for _, v := range out.LaunchTemplateVersions {
			if aws.ToString(v.VersionDescription) == marker {
				return aws.ToInt64(v.VersionNumber), true, nil
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return 0, false, nil
		}
		in.NextToken = out.NextToken
	}
}

// clusterIdentity is what a node's bootstrap names its cluster by.
type clusterIdentity struct {
	Name, Endpoint, CA string
}

func describeIdentity(ctx context.Context, api EKSAPI, name string) (clusterIdentity, error) {
	out, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(name)})
	if err != nil {
		return clusterIdentity{}, awsError(err, "describe cluster %s for its nodes' bootstrap", name)
	}
	id := clusterIdentity{Name: name, Endpoint: aws.ToString(out.Cluster.Endpoint)}
	if ca := out.Cluster.CertificateAuthority; ca != nil {
		id.CA = aws.ToString(ca.Data)
	}
	return id, nil
}

// greenUserData returns the base64 user data of green's template version:
// blue's with blue's bootstrap identity replaced by green's, or "" when it
// does not name blue (or is not text).
func greenUserData(ctx context.Context, api EKSAPI, userData, blue, green string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(userData)
	if err != nil {
		return "", nil
	}
	from, err := describeIdentity(ctx, api, blue)
	if err != nil {
		return "", err
	}
	to, err := describeIdentity(ctx, api, green)
	if err != nil {
		return "", err
	}
	out, changed := rewriteBootstrap(string(raw), from, to)
	if !changed {
		return "", nil
	}
	return base64.StdEncoding.EncodeToString([]byte(out)), nil
}

// rewriteBootstrap replaces, in a node's bootstrap (user data of a custom
// AMI), the identity of cluster from by that of cluster to: the API
// endpoint and CA wherever they appear, and the cluster name where a
// bootstrap takes it (AL2 "bootstrap.sh <name>", AL2023 nodeadm
// NodeConfig "name: <name>", Bottlerocket "cluster-name = "<name>"").
// It reports whether anything changed.
func rewriteBootstrap(userData string, from, to clusterIdentity) (string, bool) {
	out := userData
	for _, r := range [][2]string{{from.Endpoint, to.Endpoint}, {from.CA, to.CA}} {
		if r[0] != "" && r[1] != "" {
			out = strings.ReplaceAll(out, r[0], r[1])
		}
	}
	if from.Name != "" && to.Name != "" {
		name := regexp.QuoteMeta(from.Name)
		patterns := []string{
			`(bootstrap\.sh\s+['"]?)` + name + `(['"]?(?:\s|$))`,
			`(cluster-name\s*=\s*")` + name + `(")`,
		}
		if strings.Contains(out, "NodeConfig") {
			patterns = append(patterns, `(?m)(^\s*name:\s*['"]?)`+name+`(['"]?\s*$)`)
		}
		for _, p := range patterns {
			out = regexp.MustCompile(p).ReplaceAllString(out, "${1}"+strings.ReplaceAll(to.Name, "$", "$$")+"${2}")
		}
	}
	return out, out != userData
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// existingLaunchTemplateVersion is migrationLaunchTemplateVersion with the
// EC2 client of the region (none without one).
func (a *Activities) existingLaunchTemplateVersion(ctx context.Context, region, migration string, have NodeGroup) (*LaunchTemplateVersion, error) {
	if have.LaunchTemplate == nil {
		return nil, nil
	}
	api, ok, err := a.ec2Client(ctx, region)
	if err != nil || !ok {
		return nil, err
	}
	return migrationLaunchTemplateVersion(ctx, api, migration, have)
}

// migrationLaunchTemplateVersion returns the version of an existing node
// group's launch template when its description carries the migration's
// marker for that node group (a version an earlier attempt created), and
// nil for any other version.
func migrationLaunchTemplateVersion(ctx context.Context, api EC2API, migration string, have NodeGroup) (*LaunchTemplateVersion, error) {
	lt := have.LaunchTemplate
	if lt == nil || lt.ID == "" || lt.Version == "" || migration == "" {
		return nil, nil
	}
	out, err := api.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(lt.ID), Versions: []string{lt.Version}})
	if isEC2NotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, ec2Error(err, "describe launch template %s version %s of node group %s", lt.ID, lt.Version, have.Name)
	}
	for _, v := range out.LaunchTemplateVersions {
		if strings.HasPrefix(aws.ToString(v.VersionDescription), launchTemplateMarkerPrefix(migration, have.Name)) {
			return &LaunchTemplateVersion{NodeGroup: have.Name, LaunchTemplateID: lt.ID, Version: lt.Version}, nil
		}
	}
	return nil, nil
}

// PlanGreenLaunchTemplates is the read-only preflight of green's launch
// templates: for each planned node group on a launch template it makes the
// decision EnsureNodeGroups will make (decideLaunchTemplate) without
// creating anything, and reports each template green cannot get a version
// for as an error finding (launch-template-unsupported) naming the node
// group, the reason and the fix; a version built on the successor AMI type
// is an info finding.
func (a *Activities) PlanGreenLaunchTemplates(ctx context.Context, in PlanLaunchTemplatesInput) (PlanLaunchTemplatesResult, error) {
	res := PlanLaunchTemplatesResult{Plans: []LaunchTemplatePlan{}}
	if in.TargetVersion == "" {
		return res, invalidf("plan green's launch templates: target version is required")
	}
	if in.Blue.Region == "" {
		return res, invalidf("plan green's launch templates: blue's region is required")
	}
	want := slices.Clone(in.NodeGroups)
	sort.Slice(want, func(i, j int) bool { return want[i].Name < want[j].Name })
	want = slices.DeleteFunc(want, func(ng NodeGroup) bool { return ng.LaunchTemplate == nil })
	if len(want) == 0 {
		return res, nil
	}
	log := logger(ctx)
	ec2API, ok, err := a.ec2Client(ctx, in.Blue.Region)
	if err != nil {
		return res, err
	}
	if !ok {
		log.Warn("No EC2 client: green's launch templates are not checked", "cluster", in.Blue.Name)
		for _, ng := range want {
			res.Plans = append(res.Plans, LaunchTemplatePlan{NodeGroup: ng.Name, LaunchTemplateID: firstNonEmpty(ng.LaunchTemplate.ID, ng.LaunchTemplate.Name),
				SourceVersion: ng.LaunchTemplate.Version, Action: LaunchTemplateKeep, Reason: "not checked: no EC2 client"})
		}
		return res, nil
	}
	ssmAPI, err := a.ssmClient(ctx, in.Blue.Region)
	if err != nil {
		return res, err
	}
	for _, ng := range want {
		d, err := a.decideLaunchTemplate(ctx, ec2API, ssmAPI, in.TargetVersion, in.AMITypeUpgrade, ng)
		if err != nil {
			return res, err
		}
		res.Plans = append(res.Plans, d.Plan)
		f := finding.Finding{Check: CheckLaunchTemplateUnsupported, Cluster: in.Blue.Name, Object: "nodegroup/" + ng.Name, Source: "eks"}
		switch {
		case d.Plan.Action == LaunchTemplateRefuse:
			f.Severity, f.Message, f.Fix = finding.Error, d.Plan.Reason, d.fix
			res.Findings = append(res.Findings, f)
		case d.successor:
			f.Severity = finding.Info
			f.Message = fmt.Sprintf("Node group %s: %s", ng.Name, d.Plan.Reason)
			res.Findings = append(res.Findings, f)
		}
		log.Info("Planned green's launch template", "cluster", in.Blue.Name, "nodegroup", ng.Name, "launchTemplate", d.Plan.LaunchTemplateID,
			"sourceVersion", d.Plan.SourceVersion, "action", d.Plan.Action, "blueAMI", d.Plan.BlueAMI, "greenAMI", d.Plan.GreenAMI)
	}
	return res, nil
}

// DeleteLaunchTemplateVersions deletes the launch template versions a
// migration created for green (the rollback, once green's node groups are
// gone): only a version whose description carries the migration's marker
// for its node group, never a template's default version (Kept, as is a
// version of someone else's); a version or template that does not exist
// is Gone. Versions are named "<template ID>:<version>" in the result.
func (a *Activities) DeleteLaunchTemplateVersions(ctx context.Context, in DeleteLaunchTemplateVersionsInput) (DeleteLaunchTemplateVersionsResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	var res DeleteLaunchTemplateVersionsResult
	if in.Migration == "" {
		return res, invalidf("delete launch template versions: migration is required")
	}
	if len(in.Versions) == 0 {
		return res, nil
	}
	if in.Cluster.Region == "" {
		return res, invalidf("delete launch template versions: cluster region is required")
	}
	api, ok, err := a.ec2Client(ctx, in.Cluster.Region)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, invalidf("delete launch template versions: the AWS clients give no EC2 client")
	}
	log := logger(ctx)
	for _, v := range in.Versions {
		name := v.LaunchTemplateID + ":" + v.Version
		if v.LaunchTemplateID == "" || v.Version == "" {
			return res, invalidf("launch template version %q of node group %s: template ID and version are required", name, v.NodeGroup)
		}
		out, err := api.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(v.LaunchTemplateID), Versions: []string{v.Version}})
		if isEC2NotFound(err) || (err == nil && len(out.LaunchTemplateVersions) == 0) {
			res.Gone = append(res.Gone, name)
			continue
		}
		if err != nil {
			return res, ec2Error(err, "describe launch template %s version %s", v.LaunchTemplateID, v.Version)
		}
		have := out.LaunchTemplateVersions[0]
		switch {
		case aws.ToBool(have.DefaultVersion):
			log.Info("Launch template version is the template's default; keeping it", "cluster", in.Cluster.Name, "launchTemplate", v.LaunchTemplateID, "version", v.Version)
			res.Kept = append(res.Kept, name)
			continue
		case !strings.HasPrefix(aws.ToString(have.VersionDescription), launchTemplateMarkerPrefix(in.Migration, v.NodeGroup)):
			log.Info("Launch template version is not this migration's; keeping it", "cluster", in.Cluster.Name, "launchTemplate", v.LaunchTemplateID,
				"version", v.Version, "description", aws.ToString(have.VersionDescription))
			res.Kept = append(res.Kept, name)
			continue
		}
		log.Info("Deleting green's launch template version", "cluster", in.Cluster.Name, "nodegroup", v.NodeGroup, "launchTemplate", v.LaunchTemplateID, "version", v.Version)
		del, err := api.DeleteLaunchTemplateVersions(ctx, &ec2.DeleteLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(v.LaunchTemplateID), Versions: []string{v.Version}})
		if isEC2NotFound(err) {
			res.Gone = append(res.Gone, name)
			continue
		}
		if err != nil {
			return res, ec2Error(err, "delete launch template %s version %s", v.LaunchTemplateID, v.Version)
		}
		if len(del.UnsuccessfullyDeletedLaunchTemplateVersions) == 0 {
			res.Deleted = append(res.Deleted, name)
			continue
		}
		e := del.UnsuccessfullyDeletedLaunchTemplateVersions[0].ResponseError
		code, msg := "", ""
		if e != nil {
			code, msg = string(e.Code), aws.ToString(e.Message)
		}
		switch ec2types.LaunchTemplateErrorCode(code) {
		case ec2types.LaunchTemplateErrorCodeLaunchTemplateIdDoesNotExist, ec2types.LaunchTemplateErrorCodeLaunchTemplateVersionDoesNotExist:
			res.Gone = append(res.Gone, name)
		case ec2types.LaunchTemplateErrorCodeUnexpectedError:
			return res, failures.New(failures.ResourceInUse, "delete launch template %s version %s: %s: %s", v.LaunchTemplateID, v.Version, code, msg)
		default:
			// The default version cannot be deleted: it became the default meanwhile.
			log.Info("EC2 did not delete the launch template version; keeping it", "cluster", in.Cluster.Name, "launchTemplate", v.LaunchTemplateID,
				"version", v.Version, "code", code, "message", msg)
			res.Kept = append(res.Kept, name)
		}
	}
	log.Info("Deleted green's launch template versions", "cluster", in.Cluster.Name, "deleted", res.Deleted, "gone", res.Gone, "kept", res.Kept)
	return res, nil
}
