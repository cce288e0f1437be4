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
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/cutover-dev/cutover/internal/failures"
)

// EC2API is the part of *ec2.Client the node-group activities use: the
// versions of a node group's launch template and the AMI a version pins.
type EC2API interface {
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
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
			"InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "InvalidAMIID.Malformed"},
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

// launchTemplateFor is greenLaunchTemplate with the EC2 client of the
// region. A client factory without EC2 (a test's fake) keeps the template
// as planned, with a warning.
func (a *Activities) launchTemplateFor(ctx context.Context, region string, ssmAPI SSMAPI, eksAPI EKSAPI, green, target string, ng NodeGroup) (*LaunchTemplate, error) {
	if ng.LaunchTemplate == nil {
		return nil, nil
	}
	f, ok := a.clients.(EC2ClientFactory)
	if !ok {
		logger(ctx).Warn("No EC2 client: the launch template is kept as planned, unchecked", "nodegroup", ng.Name)
		return ng.LaunchTemplate, nil
	}
	api, err := f.EC2(ctx, region)
	if err != nil {
		return nil, err
	}
	return a.greenLaunchTemplate(ctx, api, ssmAPI, eksAPI, green, target, ng)
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
	return fmt.Sprintf("cutover %s: node group %s on Kubernetes %s", migration, nodeGroup, target)
}

// greenLaunchTemplate returns the launch template green's node group is to
// be created with. A template version that pins no AMI is kept (EKS picks
// the AMI of the group's AMI type for the target version). One that pins an
// EKS-optimized AMI built for another Kubernetes version (blue's) gets a new
// version, from blue's as source, with the same AMI family's recommended
// AMI for the target (from SSM), described with the migration so a retry
// finds it. An AMI cutover cannot find a successor for is refused.
//
// A template with a custom AMI carries the node's whole bootstrap in its
// user data, which names blue (cluster name, API endpoint, CA): in green's
// version those are green's (rewriteBootstrap), when eksAPI is given to
// read both clusters, so green's nodes do not join blue.
func (a *Activities) greenLaunchTemplate(ctx context.Context, ec2API EC2API, ssmAPI SSMAPI, eksAPI EKSAPI, green, target string, ng NodeGroup) (*LaunchTemplate, error) {
	lt := ng.LaunchTemplate
	if lt == nil {
		return nil, nil
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{lt.Version}}
	if lt.Version == "" {
		in.Versions = []string{"$Default"}
	}
	if lt.ID != "" {
		in.LaunchTemplateId = aws.String(lt.ID)
	} else {
		in.LaunchTemplateName = aws.String(lt.Name)
	}
	what := fmt.Sprintf("launch template %s version %s of node group %s", firstNonEmpty(lt.ID, lt.Name), in.Versions[0], ng.Name)
	out, err := ec2API.DescribeLaunchTemplateVersions(ctx, in)
	if err != nil {
		return nil, ec2Error(err, "describe %s", what)
	}
	if len(out.LaunchTemplateVersions) != 1 {
		return nil, notFoundf("%s: EC2 returned %d versions, want 1", what, len(out.LaunchTemplateVersions))
	}
	blue := out.LaunchTemplateVersions[0]
	image := ""
	if blue.LaunchTemplateData != nil {
		image = aws.ToString(blue.LaunchTemplateData.ImageId)
	}
	if image == "" {
		return lt, nil
	}
	imgs, err := ec2API.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{image}})
	if err != nil && !isEC2NotFound(err) {
		return nil, ec2Error(err, "describe AMI %s pinned by %s", image, what)
	}
	name := ""
	if err == nil && len(imgs.Images) == 1 {
		name = aws.ToString(imgs.Images[0].Name)
	}
	amiType, built, ok := eksAMIFromName(name)
	if !ok {
		return nil, failedf("%s pins AMI %s (%q), which is not an EKS-optimized AMI: cutover will not run blue's AMI on green at Kubernetes %s; add a launch template version with an AMI for %s and point blue's node group at it, or use an EKS-optimized AMI",
			what, image, name, target, target)
	}
	if built == target {
		return lt, nil
	}
	param, _ := amiImageParameter(a.ssmRoot, target, amiType)
	p, err := ssmAPI.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
	if isNotFound(err) {
		return nil, notFoundf("%s pins AMI %s (%s for Kubernetes %s), and there is no %s AMI for Kubernetes %s (SSM parameter %s not found)",
			what, image, amiType, built, amiType, target, param)
	}
	if err != nil {
		return nil, awsError(err, "read SSM parameter %s", param)
	}
	greenImage := strings.TrimSpace(aws.ToString(p.Parameter.Value))
	if greenImage == "" {
		return nil, notFoundf("SSM parameter %s is empty", param)
	}
	id, tmplName := aws.ToString(blue.LaunchTemplateId), aws.ToString(blue.LaunchTemplateName)
	marker := launchTemplateMarker(ng.Tags[TagMigration], ng.Name, target)
	if v, found, err := findLaunchTemplateVersion(ctx, ec2API, id, marker); err != nil {
		return nil, err
	} else if found {
		logger(ctx).Info("Adopting green's launch template version", "nodegroup", ng.Name, "launchTemplate", id, "version", v)
		return &LaunchTemplate{ID: id, Name: tmplName, Version: strconv.FormatInt(v, 10)}, nil
	}
	data := &ec2types.RequestLaunchTemplateData{ImageId: aws.String(greenImage)}
	if ud := aws.ToString(blue.LaunchTemplateData.UserData); ud != "" && eksAPI != nil && ng.Tags[TagCopiedFrom] != "" {
		rewritten, err := greenUserData(ctx, eksAPI, ud, ng.Tags[TagCopiedFrom], green)
		if err != nil {
			return nil, err
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
		return nil, ec2Error(err, "create a version of launch template %s for node group %s", id, ng.Name)
	}
	v := aws.ToInt64(created.LaunchTemplateVersion.VersionNumber)
	logger(ctx).Info("Created green's launch template version", "nodegroup", ng.Name, "launchTemplate", id,
		"version", v, "sourceVersion", aws.ToInt64(blue.VersionNumber), "blueAMI", image, "greenAMI", greenImage, "amiType", amiType)
	return &LaunchTemplate{ID: id, Name: tmplName, Version: strconv.FormatInt(v, 10)}, nil
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
