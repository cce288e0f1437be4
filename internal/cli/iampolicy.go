package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cutover-dev/cutover/internal/iampolicy"
	"github.com/cutover-dev/cutover/internal/spec"
	"github.com/spf13/cobra"
)

func (s *session) iamPolicyCmd() *cobra.Command {
	var (
		files  []string
		opts   iampolicy.Options
		region string
	)
	cmd := &cobra.Command{
		Use:   "iam-policy -f SPEC_OR_FLEET --account ACCOUNT_ID",
		Short: "Print the worker's least-privilege IAM policy for migration specs and fleets",
		Long: `Print the IAM policy the worker's role needs to run the migrations of the
given specs and fleets (-f, repeated for a worker that runs several): EKS
actions on the clusters they name: blue, green, a fleet member's logical
cluster and its generations ("shop-prod-1-*"). With --eks-scope tags the
clusters cutover builds are reached by their tag ` + iampolicy.ManagedByTagKey + `=` + iampolicy.ManagedByTagValue + `
instead of their names (any such cluster of the regions: for a worker that
also runs migrations no document names), with both by either; blue is
always named. eks:CreateCluster only for green's name and with that tag; Route53 on the named hosted zones; CloudFront on the named
distributions (and, for continuous deployment, the staging distribution and
policy); iam:CreateServiceLinkedRole only for EKS, iam:PassRole only to EKS;
IRSA trust-policy edits only on roles tagged ` + iampolicy.TrustTagKey + `=` + iampolicy.TrustTagValue + `
(tag each IAM role whose trust names blue's OIDC issuer); reads AWS cannot
scope stay on "*" in one statement. What no document uses is left out; a
document whose every migration is a dry run gets reads only.

The regions are the documents' (blue.region); --region puts every cluster in
another one ("*" for any). Documents are read as cutover validate and
cutover schedule create read them: a bad one exits 2 naming its fields.
Temporal is not contacted. The policy prints as JSON (-o yaml for YAML).`,
		Example: `  cutover iam-policy -f deploy/examples/route53-weighted.json --account 111122223333
  cutover iam-policy -f deploy/examples/fleet/quarterly.json --account 111122223333 > worker-policy.json
  cutover iam-policy -f shop.json -f api.json --account '${AccountId}' --eks-scope both
  cutover iam-policy -f shop.json --account 111122223333 --partition aws-us-gov --region us-gov-west-1
  aws iam put-role-policy --role-name cutover-worker --policy-name cutover \
    --policy-document "$(cutover iam-policy -f fleet.json --account 111122223333)"`,
		Args:              noArgs,
		ValidArgsFunction: noCompletions,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files) == 0 {
				return usageErr("-f spec.json (or fleet.json) is required")
			}
			if opts.Account == "" {
				return usageErr("--account is required: the 12-digit ID of the AWS account the clusters are in (or a placeholder like ${AccountId})")
			}
			if region != "" && !iampolicy.ValidRegion(region) {
				return usageErr("--region %q is not an AWS region (e.g. eu-west-1), \"*\" or a placeholder like ${AWS::Region}", region)
			}
			return s.iamPolicy(files, region, opts)
		},
	}
	cmd.Flags().StringArrayVarP(&files, "file", "f", nil, "migration spec or fleet (JSON), repeatable; - for stdin")
	_ = cmd.MarkFlagFilename("file", "json")
	cmd.Flags().StringVar(&opts.Account, "account", "", "AWS account ID of the clusters, zones and distributions (required)")
	cmd.Flags().StringVar(&opts.Partition, "partition", "aws", "AWS partition of the ARNs (aws, aws-cn, aws-us-gov)")
	cmd.Flags().StringVar(&region, "region", "", "region of every cluster instead of the documents' blue.region (\"*\": any)")
	cmd.Flags().StringVar(&opts.EKSScope, "eks-scope", iampolicy.ScopeNames, "the clusters cutover builds by: names, tags ("+iampolicy.ManagedByTagKey+"="+iampolicy.ManagedByTagValue+") or both")
	for _, f := range []string{"account", "partition", "region"} {
		_ = cmd.RegisterFlagCompletionFunc(f, noCompletions)
	}
	_ = cmd.RegisterFlagCompletionFunc("eks-scope", fixedCompletions(iampolicy.ScopeNames, iampolicy.ScopeTags, iampolicy.ScopeBoth))
	return cmd
}

func (s *session) iamPolicy(files []string, region string, opts iampolicy.Options) error {
	var scope iampolicy.Scope
	for _, f := range files {
		b, err := s.readDocument(f, "spec")
		if err != nil {
			return err
		}
		one, err := iampolicy.Read(b)
		var fe spec.FieldErrors
		switch {
		case errors.As(err, &fe):
			return usageErr("%s: %d problems:\n  %s", f, len(fe), strings.Join(problemLines(fe), "\n  "))
		case err != nil:
			return usageErr("%s: %v", f, err)
		}
		scope.Merge(one)
	}
	if region != "" {
		scope = scope.InRegion(region)
	}
	doc, err := iampolicy.Build(scope, opts)
	var oe *iampolicy.OptionError
	switch {
	case errors.As(err, &oe):
		return usageErr("--%s: %s", oe.Option, oe.Reason)
	case err != nil:
		return usageErr("%v", err)
	}
	if n := iampolicy.Size(doc); n > iampolicy.ManagedPolicyMaxSize {
		fmt.Fprintf(s.stderr, "cutover iam-policy: warning: the policy is %d characters, over IAM's %d for a managed policy; attach it as an inline policy (up to 10240 per role) or split the documents between workers\n", n, iampolicy.ManagedPolicyMaxSize)
	}
	if s.output == outputYAML {
		return s.print(doc)
	}
	return iampolicy.Encode(s.stdout, doc)
}
