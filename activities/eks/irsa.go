package eks

// IRSA (IAM roles for service accounts) for green: green's IAM OIDC
// provider, and for every role whose trust policy lets blue's service
// accounts assume it, the same statement for green's issuer. What is added
// is recorded (role and Sid) so a rollback removes exactly that; retiring
// blue removes blue's statements and blue's provider.
//
// Order: PlanIRSATrust (a read; also the dry run) → EnsureGreenOIDCProvider
// → ApplyIRSATrust; on rollback or when green is retired, RevertIRSATrust
// with what ApplyIRSATrust and EnsureGreenOIDCProvider returned; once blue
// is deleted, RetireBlueIRSATrust.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awseks "github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"
	"go.temporal.io/sdk/temporal"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/finding"
)

// IAMAPI is the part of *iam.Client the IRSA activities use.
type IAMAPI interface {
	ListRoles(ctx context.Context, in *iam.ListRolesInput, optFns ...func(*iam.Options)) (*iam.ListRolesOutput, error)
	GetRole(ctx context.Context, in *iam.GetRoleInput, optFns ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	UpdateAssumeRolePolicy(ctx context.Context, in *iam.UpdateAssumeRolePolicyInput, optFns ...func(*iam.Options)) (*iam.UpdateAssumeRolePolicyOutput, error)

	ListOpenIDConnectProviders(ctx context.Context, in *iam.ListOpenIDConnectProvidersInput, optFns ...func(*iam.Options)) (*iam.ListOpenIDConnectProvidersOutput, error)
	GetOpenIDConnectProvider(ctx context.Context, in *iam.GetOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error)
	CreateOpenIDConnectProvider(ctx context.Context, in *iam.CreateOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.CreateOpenIDConnectProviderOutput, error)
	DeleteOpenIDConnectProvider(ctx context.Context, in *iam.DeleteOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.DeleteOpenIDConnectProviderOutput, error)
	TagOpenIDConnectProvider(ctx context.Context, in *iam.TagOpenIDConnectProviderInput, optFns ...func(*iam.Options)) (*iam.TagOpenIDConnectProviderOutput, error)
}

// Tags on IAM OIDC providers.
const (
	// TagAdoptedBy marks a provider that existed before the migration and
	// that it uses; cutover never deletes it on rollback.
	TagAdoptedBy = "cutover.dev/adopted-by"
	// TagCluster names the cluster whose issuer the provider is for.
	TagCluster = "cutover.dev/cluster"
)

// Checks of the IRSA findings.
const (
	// CheckIRSAAnySubject: a statement trusting blue has no :sub condition,
	// so any service account of the cluster can assume the role (green's
	// copy keeps that).
	CheckIRSAAnySubject = "irsa-any-service-account"
	// CheckIRSAPolicySize: the trust policy with green's statements is
	// longer than IAM's default quota.
	CheckIRSAPolicySize = "irsa-trust-policy-size"
	// CheckIRSAUnreadable: a trust policy that is not valid JSON.
	CheckIRSAUnreadable = "irsa-trust-unreadable"
	// CheckIRSATrustChanged: a role's trust policy changed between the plan
	// and the apply; the statement for green was not added.
	CheckIRSATrustChanged = "irsa-trust-changed"
	// CheckIRSATrustNotUpdated: IAM refused to change a role's trust policy.
	CheckIRSATrustNotUpdated = "irsa-trust-not-updated"
	// CheckIRSALastStatement: removing a statement would leave the trust
	// policy with none; it is kept.
	CheckIRSALastStatement = "irsa-last-statement-kept"
	// CheckIRSABlueKept: a statement trusting blue has no equivalent for
	// green (or names other principals too); it is kept.
	CheckIRSABlueKept = "irsa-blue-trust-kept"
	// CheckIRSAProviderKept: an IAM OIDC provider was not deleted (still
	// referenced, or not created by this migration).
	CheckIRSAProviderKept = "irsa-oidc-provider-kept"
	// SourceIRSA is the Finding.Source of these findings.
	SourceIRSA = "iam"
)

// Steps of Progress.Step in the IRSA activities.
const (
	StepIRSAPlan       = "irsa-plan"
	StepIRSAApply      = "irsa-apply"
	StepIRSARevert     = "irsa-revert"
	StepIRSARetireBlue = "irsa-retire-blue"
)

// maxTrustWrites is how often a trust policy is written before a change
// that does not stick (another writer, or IAM's eventual consistency) fails
// the attempt retryably.
const maxTrustWrites = 3

// iamCodes are the IAM error codes with a type of their own.
var iamCodes = failures.Codes(map[string][]string{
	failures.AccessDenied: {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
		"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"},
	failures.NotFound: {"NoSuchEntity"},
	// A trust policy over its quota, a service-linked role, a provider
	// still in use: retrying does not help.
	failures.Conflict:         {"EntityAlreadyExists", "LimitExceeded", "UnmodifiableEntity", "DeleteConflict"},
	failures.InvalidParameter: {"MalformedPolicyDocument", "InvalidInput", "ValidationError"},
	failures.ResourceInUse:    {"ConcurrentModification", "EntityTemporarilyUnmodifiable"},
	failures.Throttled:        {"Throttling", "ThrottlingException", "RequestLimitExceeded"},
})

func iamError(err error, what string, args ...any) error {
	return failures.FromAWS(err, iamCodes, what, args...)
}

func isIAMCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}

// definitive reports whether a typed error will not pass by retrying.
func definitive(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.NonRetryable()
}

func (a *Activities) iamClient(ctx context.Context, region string) (IAMAPI, error) {
	if region == "" {
		return nil, invalidf("IAM: region is empty")
	}
	return a.clients.IAM(ctx, region)
}

// OIDCProvider is a cluster's OIDC issuer and the IAM OIDC provider for it.
type OIDCProvider struct {
	// Cluster is the EKS cluster's name.
	Cluster string `json:"cluster"`
	// Issuer is the cluster's identity.oidc.issuer, e.g.
	// https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE;
	// empty for green in a dry run.
	Issuer string `json:"issuer,omitempty"`
	// ARN of the IAM OIDC provider for Issuer
	// (arn:aws:iam::ACCOUNT:oidc-provider/<issuer host/path>), whether it
	// exists or not.
	ARN string `json:"arn,omitempty"`
	// Exists: the provider was there when the plan was made.
	Exists bool `json:"exists"`
	// Thumbprints of the provider, if it exists.
	Thumbprints []string `json:"thumbprints,omitempty"`
}

// PlanIRSAInput asks which roles trust blue's OIDC provider and what to add
// for green's.
type PlanIRSAInput struct {
	// Migration names the statements' Sids and the provider's tags.
	Migration string       `json:"migration"`
	Blue      clusters.Ref `json:"blue"`
	// Green is the green cluster, which must exist. Leave its Name empty
	// for a dry run (green is not built): the plan then lists the roles
	// that trust blue without the statements for green.
	Green clusters.Ref `json:"green"`
}

// IRSAPlan is what PlanIRSATrust found: the roles that trust blue and, per
// role, the statements for green. ApplyIRSATrust carries it out.
type IRSAPlan struct {
	Migration string `json:"migration"`
	// Region whose IAM endpoint was used (IAM is global; blue's region).
	Region string       `json:"region"`
	Blue   OIDCProvider `json:"blue"`
	Green  OIDCProvider `json:"green"`
	// Roles whose trust policy lets blue's service accounts assume them,
	// sorted by name.
	Roles    []IRSARolePlan `json:"roles"`
	Findings []Finding      `json:"findings,omitempty"`
}

// DryRun reports whether the plan was made without green (no statements).
func (p IRSAPlan) DryRun() bool { return p.Green.Issuer == "" }

// RolesToChange names the roles whose trust policy the plan changes (in a
// dry run: every role that trusts blue).
func (p IRSAPlan) RolesToChange() []string {
	var out []string
	for _, r := range p.Roles {
		if len(r.Add) > 0 || (p.DryRun() && !r.AlreadyTrustsGreen) {
			out = append(out, r.RoleName)
		}
	}
	return out
}

// IRSARolePlan is one role that trusts blue.
type IRSARolePlan struct {
	RoleName string `json:"roleName"`
	RoleARN  string `json:"roleArn"`
	// Subjects are the service accounts blue's statements admit (their
	// :sub conditions), e.g. system:serviceaccount:shop:orders.
	Subjects []string `json:"subjects,omitempty"`
	// BlueStatements counts the statements naming blue's provider.
	BlueStatements int `json:"blueStatements"`
	// AlreadyTrustsGreen: each of blue's statements already has its
	// equivalent for green; nothing is changed for this role.
	AlreadyTrustsGreen bool `json:"alreadyTrustsGreen,omitempty"`
	// Add are the statements for green (none in a dry run).
	Add []IRSAStatement `json:"add,omitempty"`
}

// IRSAStatement is one trust policy statement cutover adds.
type IRSAStatement struct {
	Sid string `json:"sid"`
	// Statement is its JSON, as it is written.
	Statement string `json:"statement"`
}

// EnsureOIDCProviderInput creates or adopts green's IAM OIDC provider.
type EnsureOIDCProviderInput struct {
	// Plan from PlanIRSATrust (not a dry run): green's issuer, blue's
	// thumbprints, the migration.
	Plan IRSAPlan `json:"plan"`
}

// EnsureOIDCProviderResult says which provider green uses.
type EnsureOIDCProviderResult struct {
	ARN string `json:"arn"`
	// Created: this migration created it (now or in an earlier attempt); a
	// rollback passes ARN to RevertIRSATrust to delete it.
	Created bool `json:"created"`
	// Adopted: it existed before; cutover never deletes it.
	Adopted bool `json:"adopted"`
}

// ApplyIRSAInput adds green's statements.
type ApplyIRSAInput struct {
	Plan IRSAPlan `json:"plan"`
}

// IRSATrustChange is one statement cutover added to a role's trust policy.
type IRSATrustChange struct {
	RoleName string `json:"roleName"`
	RoleARN  string `json:"roleArn,omitempty"`
	Sid      string `json:"sid"`
}

// IRSARoleFailure is a role IAM refused to read or change (definitively:
// access denied, trust policy quota, service-linked role).
type IRSARoleFailure struct {
	RoleName string `json:"roleName"`
	// Type is the error type (failures.AccessDenied, Conflict, ...).
	Type    string `json:"type"`
	Message string `json:"message"`
}

// ApplyIRSAResult is what is now in the roles' trust policies for green.
type ApplyIRSAResult struct {
	// Added lists every statement of this migration in place, added by
	// this attempt or an earlier one: what RevertIRSATrust removes.
	Added []IRSATrustChange `json:"added"`
	// Unchanged names the roles that already trusted green.
	Unchanged []string `json:"unchanged,omitempty"`
	// Failed roles kept blue's trust only; a migration should not move
	// traffic while it is not empty.
	Failed   []IRSARoleFailure `json:"failed,omitempty"`
	Findings []Finding         `json:"findings,omitempty"`
}

// RevertIRSAInput removes what ApplyIRSATrust added (rollback, or green
// retired).
type RevertIRSAInput struct {
	Migration string `json:"migration"`
	Region    string `json:"region"`
	// Added is ApplyIRSAResult.Added.
	Added []IRSATrustChange `json:"added"`
	// GreenProviderARN, when set, is deleted too if this migration created
	// it (its tags say so) and no role's trust policy names it any more.
	GreenProviderARN string `json:"greenProviderArn,omitempty"`
}

// RevertIRSAResult says what was removed.
type RevertIRSAResult struct {
	// Removed by this attempt.
	Removed []IRSATrustChange `json:"removed"`
	// AlreadyGone: not in the role's trust policy (removed earlier, or the
	// role is gone).
	AlreadyGone     []IRSATrustChange `json:"alreadyGone,omitempty"`
	ProviderDeleted bool              `json:"providerDeleted,omitempty"`
	Failed          []IRSARoleFailure `json:"failed,omitempty"`
	Findings        []Finding         `json:"findings,omitempty"`
}

// RetireBlueIRSAInput removes blue's statements and provider.
type RetireBlueIRSAInput struct {
	// Plan from PlanIRSATrust (not a dry run): blue's and green's providers.
	Plan IRSAPlan `json:"plan"`
}

// IRSABlueRemoval is a role from whose trust policy blue's statements
// were removed.
type IRSABlueRemoval struct {
	RoleName   string `json:"roleName"`
	RoleARN    string `json:"roleArn,omitempty"`
	Statements int    `json:"statements"`
}

// RetireBlueIRSAResult says what of blue's trust is gone.
type RetireBlueIRSAResult struct {
	Updated             []IRSABlueRemoval `json:"updated"`
	ProviderDeleted     bool              `json:"providerDeleted,omitempty"`
	ProviderAlreadyGone bool              `json:"providerAlreadyGone,omitempty"`
	Failed              []IRSARoleFailure `json:"failed,omitempty"`
	Findings            []Finding         `json:"findings,omitempty"`
}

// PlanIRSATrust reads blue's and green's OIDC issuers
// (DescribeCluster identity.oidc.issuer) and every IAM role, and lists the
// roles whose trust policy has a statement for sts:AssumeRoleWithWebIdentity
// by blue's IAM OIDC provider; per role, the statements to add for green:
// same Effect and Action, green's provider as Principal.Federated, the
// conditions on blue's issuer (":sub", ":aud", ...) rewritten to green's,
// and a Sid IRSASidPrefix(migration)+hash. A statement whose equivalent for
// green is already there is not planned again; a role that already trusts
// green in every statement gets AlreadyTrustsGreen and no change. Nothing
// is changed.
func (a *Activities) PlanIRSATrust(ctx context.Context, in PlanIRSAInput) (IRSAPlan, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	plan := IRSAPlan{Migration: in.Migration, Region: in.Blue.Region, Roles: []IRSARolePlan{}}
	if in.Migration == "" || in.Blue.Name == "" || in.Blue.Region == "" {
		return plan, invalidf("plan IRSA trust: migration, blue cluster name and region are required")
	}
	log := logger(ctx)
	blueIssuer, blueClusterARN, err := a.clusterIssuer(ctx, in.Blue)
	if err != nil {
		return plan, err
	}
	plan.Blue = OIDCProvider{Cluster: in.Blue.Name, Issuer: blueIssuer}
	plan.Green = OIDCProvider{Cluster: in.Green.Name}
	if in.Green.Name != "" {
		g := in.Green
		if g.Region == "" {
			g.Region = in.Blue.Region
		}
		if plan.Green.Issuer, _, err = a.clusterIssuer(ctx, g); err != nil {
			return plan, err
		}
		if issuerHostPath(plan.Green.Issuer) == issuerHostPath(blueIssuer) {
			return plan, conflictf("green cluster %s has the same OIDC issuer as blue (%s)", g, blueIssuer)
		}
	}
	api, err := a.iamClient(ctx, in.Blue.Region)
	if err != nil {
		return plan, err
	}
	providers, err := listOIDCProviders(ctx, api)
	if err != nil {
		return plan, err
	}
	if plan.Blue.ARN = findOIDCProvider(providers, issuerHostPath(blueIssuer)); plan.Blue.ARN != "" {
		get, found, err := getOIDCProvider(ctx, api, plan.Blue.ARN)
		if err != nil {
			return plan, err
		}
		plan.Blue.Exists = found
		if found {
			plan.Blue.Thumbprints = slices.Clone(get.ThumbprintList)
		}
	} else {
		prefix, err := iamPrefixFromClusterARN(blueClusterARN)
		if err != nil {
			return plan, invalidf("blue cluster %s: %v", in.Blue, err)
		}
		plan.Blue.ARN = oidcProviderARN(prefix, issuerHostPath(blueIssuer))
	}
	if !plan.DryRun() {
		hp := issuerHostPath(plan.Green.Issuer)
		if plan.Green.ARN = findOIDCProvider(providers, hp); plan.Green.ARN != "" {
			plan.Green.Exists = true
		} else {
			plan.Green.ARN = oidcProviderARN(iamPrefix(plan.Blue.ARN), hp)
		}
	}
	log.Info("Planning IRSA trust for green", "migration", in.Migration, "blueProvider", plan.Blue.ARN,
		"blueProviderExists", plan.Blue.Exists, "greenProvider", plan.Green.ARN, "dryRun", plan.DryRun())

	e := plan.ends()
	progress := Progress{Step: StepIRSAPlan, Cluster: in.Blue.Name}
	roles, err := listRoles(ctx, api, &progress)
	if err != nil {
		return plan, err
	}
	for _, r := range roles {
		name := aws.ToString(r.RoleName)
		t, err := analyzeTrust(aws.ToString(r.AssumeRolePolicyDocument), e)
		if err != nil {
			if referencesProvider(aws.ToString(r.AssumeRolePolicyDocument), plan.Blue.ARN) {
				plan.Findings = append(plan.Findings, irsaFinding(CheckIRSAUnreadable, finding.Warning, name,
					fmt.Sprintf("the trust policy of role %s names blue's OIDC provider but cannot be read: %v", name, err),
					"fix the role's trust policy by hand, then run the plan again"))
			}
			continue
		}
		if !t.trustsBlue() {
			continue
		}
		rp := IRSARolePlan{RoleName: name, RoleARN: aws.ToString(r.Arn), Subjects: t.subjects, BlueStatements: len(t.derived)}
		if t.anySubject {
			plan.Findings = append(plan.Findings, irsaFinding(CheckIRSAAnySubject, finding.Warning, name,
				fmt.Sprintf("role %s trusts every service account of cluster %s (no %s:sub condition); green's statement does the same for green", name, in.Blue.Name, issuerHostPath(blueIssuer)),
				"add a StringEquals condition on the :sub key naming the service account"))
		}
		if !plan.DryRun() {
			add := t.toAdd()
			rp.AlreadyTrustsGreen = len(add) == 0
			for _, s := range add {
				rp.Add = append(rp.Add, IRSAStatement{Sid: s.Sid, Statement: s.json()})
			}
			t.add(add)
			if doc, err := t.policy.encode(); err == nil && policyLength(doc) > DefaultTrustPolicyQuota {
				plan.Findings = append(plan.Findings, irsaFinding(CheckIRSAPolicySize, finding.Warning, name,
					fmt.Sprintf("the trust policy of role %s will be %d characters with green's statements, over IAM's default quota of %d", name, policyLength(doc), DefaultTrustPolicyQuota),
					"ask for a larger 'Role trust policy length' quota (up to 8192) in Service Quotas, or shorten the policy"))
			}
		}
		plan.Roles = append(plan.Roles, rp)
	}
	log.Info("Planned IRSA trust for green", "migration", in.Migration, "roles", len(plan.Roles),
		"toChange", len(plan.RolesToChange()), "findings", len(plan.Findings))
	return plan, nil
}

// EnsureGreenOIDCProvider creates the IAM OIDC provider for green's issuer
// (client ID sts.amazonaws.com; blue's thumbprints, or none, letting IAM
// take the issuer's top intermediate CA, as CreateOpenIDConnectProvider
// allows), tagged with the migration. A provider for the same URL that
// already exists is adopted (tagged cutover.dev/adopted-by) if it accepts
// the sts.amazonaws.com audience, and is a Conflict otherwise. Idempotent:
// a provider this migration created is found again.
func (a *Activities) EnsureGreenOIDCProvider(ctx context.Context, in EnsureOIDCProviderInput) (EnsureOIDCProviderResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	p := in.Plan
	var res EnsureOIDCProviderResult
	if p.Migration == "" || p.DryRun() || !strings.HasPrefix(p.Green.Issuer, "https://") {
		return res, invalidf("ensure green's OIDC provider: the plan needs the migration and green's https issuer (got %q)", p.Green.Issuer)
	}
	api, err := a.iamClient(ctx, p.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	hp := issuerHostPath(p.Green.Issuer)
	providers, err := listOIDCProviders(ctx, api)
	if err != nil {
		return res, err
	}
	res.ARN = findOIDCProvider(providers, hp)
	if res.ARN == "" {
		thumbs := slices.Clone(p.Blue.Thumbprints)
		if len(thumbs) > 5 {
			thumbs = thumbs[:5]
		}
		log.Info("Creating green's IAM OIDC provider", "issuer", p.Green.Issuer, "migration", p.Migration, "thumbprints", len(thumbs))
		out, err := api.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{
			Url:            aws.String("https://" + hp),
			ClientIDList:   []string{irsaAudience},
			ThumbprintList: thumbs,
			Tags: []iamtypes.Tag{
				{Key: aws.String(TagManagedBy), Value: aws.String("cutover")},
				{Key: aws.String(TagMigration), Value: aws.String(p.Migration)},
				{Key: aws.String(TagCluster), Value: aws.String(p.Green.Cluster)},
			},
		})
		switch {
		case err == nil:
			res.ARN, res.Created = aws.ToString(out.OpenIDConnectProviderArn), true
			log.Info("Created green's IAM OIDC provider", "arn", res.ARN)
			return res, nil
		case isIAMCode(err, "EntityAlreadyExists"):
			// Created concurrently (or by an attempt whose answer was lost).
			if providers, err = listOIDCProviders(ctx, api); err != nil {
				return res, err
			}
			if res.ARN = findOIDCProvider(providers, hp); res.ARN == "" {
				return res, notReadyf("IAM says the OIDC provider for %s exists but does not list it yet", hp)
			}
		default:
			return res, iamError(err, "create IAM OIDC provider for %s", p.Green.Issuer)
		}
	}
	get, found, err := getOIDCProvider(ctx, api, res.ARN)
	if err != nil {
		return res, err
	}
	if !found {
		return res, notReadyf("IAM OIDC provider %s is listed but not found yet", res.ARN)
	}
	if !slices.Contains(get.ClientIDList, irsaAudience) {
		return res, conflictf("IAM OIDC provider %s exists for green's issuer but its client IDs %v lack %s, which EKS service account tokens carry; add it (aws iam add-client-id-to-open-id-connect-provider) and retry",
			res.ARN, get.ClientIDList, irsaAudience)
	}
	tags := tagMap(get.Tags)
	if tags[TagManagedBy] == "cutover" && tags[TagMigration] == p.Migration {
		res.Created = true
		log.Info("Green's IAM OIDC provider was created by this migration", "arn", res.ARN)
		return res, nil
	}
	res.Adopted = true
	if _, ok := tags[TagAdoptedBy]; !ok {
		if _, err := api.TagOpenIDConnectProvider(ctx, &iam.TagOpenIDConnectProviderInput{
			OpenIDConnectProviderArn: aws.String(res.ARN),
			Tags:                     []iamtypes.Tag{{Key: aws.String(TagAdoptedBy), Value: aws.String(p.Migration)}},
		}); err != nil {
			return res, iamError(err, "tag IAM OIDC provider %s", res.ARN)
		}
	}
	log.Info("Adopted the existing IAM OIDC provider for green", "arn", res.ARN)
	return res, nil
}

// ApplyIRSATrust adds the plan's statements for green to the roles' trust
// policies. Each role's policy is read again just before it is written and
// the statements are derived again from it: a statement whose Sid is
// already there is not added twice (a retry), one whose blue statement
// changed or went away since the plan is not added (a finding), and after
// the write the policy is read back until the statements are seen (a
// concurrent writer that dropped them gets them again). Green's provider
// must exist (EnsureGreenOIDCProvider). A role IAM refuses to change
// definitively is listed in Failed, the others go on; transient faults
// fail the attempt retryably.
func (a *Activities) ApplyIRSATrust(ctx context.Context, in ApplyIRSAInput) (ApplyIRSAResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	p := in.Plan
	res := ApplyIRSAResult{Added: []IRSATrustChange{}}
	if p.Migration == "" || p.DryRun() || p.Blue.ARN == "" || p.Green.ARN == "" {
		return res, invalidf("apply IRSA trust: the plan needs the migration and both providers (a dry-run plan cannot be applied)")
	}
	api, err := a.iamClient(ctx, p.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	if _, found, err := getOIDCProvider(ctx, api, p.Green.ARN); err != nil {
		return res, err
	} else if !found {
		return res, notFoundf("green's IAM OIDC provider %s does not exist; EnsureGreenOIDCProvider creates it", p.Green.ARN)
	}
	e := p.ends()
	progress := Progress{Step: StepIRSAApply, Cluster: p.Green.Cluster}
	for _, r := range p.Roles {
		if len(r.Add) == 0 {
			if r.AlreadyTrustsGreen {
				res.Unchanged = append(res.Unchanged, r.RoleName)
			}
			continue
		}
		var present, covered []string
		var stale []IRSAStatement
		gone, err := a.updateTrust(ctx, api, r.RoleName, e, func(t *trustAnalysis) bool {
			present, covered, stale = nil, nil, nil
			bySid := map[string]derived{}
			for _, d := range t.derived {
				bySid[d.green.Sid] = d
			}
			var missing []outStatement
			for _, s := range r.Add {
				d, ok := bySid[s.Sid]
				switch {
				case ok && d.present, !ok && hasSid(t, s.Sid):
					present = append(present, s.Sid)
				case ok && d.covered:
					covered = append(covered, s.Sid)
				case ok:
					missing = append(missing, d.green)
				default:
					stale = append(stale, s)
				}
			}
			t.add(missing)
			return len(missing) > 0
		})
		progress.markDone(r.RoleName)
		activitylog.Heartbeat(ctx, progress)
		if failures.Is(err, failures.InvalidParameter) && strings.Contains(strings.ToLower(failures.Message(err)), "invalid principal") {
			// Green's provider exists (checked above): IAM has not seen it
			// everywhere yet.
			return res, notReadyf("IAM does not accept green's OIDC provider %s as a principal yet: %s", p.Green.ARN, failures.Message(err))
		}
		switch {
		case definitive(err):
			res.Failed = append(res.Failed, roleFailure(r.RoleName, err))
			res.Findings = append(res.Findings, irsaFinding(CheckIRSATrustNotUpdated, finding.Error, r.RoleName,
				fmt.Sprintf("the trust policy of role %s was not changed for green: %s", r.RoleName, failures.Message(err)),
				"let the worker update the role's trust policy (iam:UpdateAssumeRolePolicy), or add green's statement by hand"))
			continue
		case err != nil:
			return res, err
		case gone:
			res.Findings = append(res.Findings, irsaFinding(CheckIRSATrustChanged, finding.Warning, r.RoleName,
				fmt.Sprintf("role %s was deleted after the plan; nothing was added", r.RoleName), ""))
			continue
		}
		for _, sid := range present {
			res.Added = append(res.Added, IRSATrustChange{RoleName: r.RoleName, RoleARN: r.RoleARN, Sid: sid})
		}
		if len(present) == 0 && len(stale) == 0 {
			res.Unchanged = append(res.Unchanged, r.RoleName)
		}
		for _, s := range stale {
			res.Findings = append(res.Findings, irsaFinding(CheckIRSATrustChanged, finding.Warning, r.RoleName,
				fmt.Sprintf("the trust policy of role %s changed since the plan: the statement for blue that %s copies is gone; it was not added", r.RoleName, s.Sid),
				"run the migration's plan again, or add green's statement by hand"))
		}
		log.Info("Role trusts green's OIDC provider", "role", r.RoleName, "statements", len(present), "alreadyTrusted", len(covered), "stale", len(stale))
	}
	log.Info("Applied IRSA trust for green", "migration", p.Migration, "added", len(res.Added),
		"unchanged", len(res.Unchanged), "failed", len(res.Failed))
	return res, nil
}

// RevertIRSATrust removes exactly the statements ApplyIRSATrust added (by
// role and Sid; only Sids of this migration are accepted) and, when asked,
// green's provider if this migration created it and no role names it any
// more. Removing a statement that would leave a trust policy without any
// is not done (a finding). Idempotent: what is gone counts as removed
// earlier.
func (a *Activities) RevertIRSATrust(ctx context.Context, in RevertIRSAInput) (RevertIRSAResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	res := RevertIRSAResult{Removed: []IRSATrustChange{}}
	if in.Migration == "" {
		return res, invalidf("revert IRSA trust: migration is required")
	}
	prefix := IRSASidPrefix(in.Migration)
	byRole := map[string][]IRSATrustChange{}
	for _, c := range in.Added {
		if c.RoleName == "" || !strings.HasPrefix(c.Sid, prefix) {
			return res, invalidf("revert IRSA trust: %s/%s is not a statement migration %s added (its Sids start with %s)", c.RoleName, c.Sid, in.Migration, prefix)
		}
		byRole[c.RoleName] = append(byRole[c.RoleName], c)
	}
	if len(byRole) == 0 && in.GreenProviderARN == "" {
		return res, nil
	}
	api, err := a.iamClient(ctx, in.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	progress := Progress{Step: StepIRSARevert}
	for _, role := range sortedKeys(byRole) {
		changes := byRole[role]
		want := map[string]bool{}
		for _, c := range changes {
			want[c.Sid] = true
		}
		removed, kept := map[string]bool{}, map[string]bool{}
		gone, err := a.updateTrust(ctx, api, role, irsaEnds{}, func(t *trustAnalysis) bool {
			clear(kept)
			orig := t.policy.statements
			sids := t.removeSids(want)
			if len(sids) > 0 && len(t.policy.statements) == 0 {
				// A trust policy cannot be empty: keep them.
				t.policy.statements = orig
				for _, s := range sids {
					kept[s] = true
				}
				return false
			}
			for _, s := range sids {
				removed[s] = true
			}
			return len(sids) > 0
		})
		progress.markDone(role)
		activitylog.Heartbeat(ctx, progress)
		switch {
		case definitive(err):
			res.Failed = append(res.Failed, roleFailure(role, err))
			res.Findings = append(res.Findings, irsaFinding(CheckIRSATrustNotUpdated, finding.Error, role,
				fmt.Sprintf("green's statements were not removed from role %s: %s", role, failures.Message(err)),
				fmt.Sprintf("remove the statements whose Sid starts with %s by hand", prefix)))
			continue
		case err != nil:
			return res, err
		}
		for _, c := range changes {
			switch {
			case removed[c.Sid]:
				res.Removed = append(res.Removed, c)
			case !kept[c.Sid]:
				res.AlreadyGone = append(res.AlreadyGone, c)
			}
		}
		if len(kept) > 0 {
			res.Findings = append(res.Findings, irsaFinding(CheckIRSALastStatement, finding.Warning, role,
				fmt.Sprintf("role %s trusts nothing but the statements cutover added for green (%s); they were kept, a trust policy cannot be empty", role, strings.Join(sortedKeys(kept), ", ")),
				"delete the role, or give it the trust it needs, then remove the statements by hand"))
		}
		log.Info("Removed green's statements from role", "role", role, "removed", len(removed), "gone", gone)
	}
	if in.GreenProviderARN != "" {
		deleted, _, f, err := deleteOIDCProviderIfUnused(ctx, api, in.GreenProviderARN, in.Migration)
		if err != nil {
			return res, err
		}
		res.ProviderDeleted = deleted
		res.Findings = append(res.Findings, f...)
	}
	log.Info("Reverted IRSA trust for green", "migration", in.Migration, "removed", len(res.Removed),
		"alreadyGone", len(res.AlreadyGone), "providerDeleted", res.ProviderDeleted)
	return res, nil
}

// RetireBlueIRSATrust removes blue's statements from the roles that trust
// green too (a statement for blue is removed only when its equivalent for
// green is in the policy and blue's provider is its only principal; any
// other is kept, with a finding), and then deletes blue's IAM OIDC
// provider if no role's trust policy names it any more. Call it once blue
// is deleted: blue's service accounts can no longer assume the roles.
// Idempotent.
func (a *Activities) RetireBlueIRSATrust(ctx context.Context, in RetireBlueIRSAInput) (RetireBlueIRSAResult, error) {
	ctx, stop := activitylog.KeepAlive(ctx)
	defer stop()
	p := in.Plan
	res := RetireBlueIRSAResult{Updated: []IRSABlueRemoval{}}
	if p.Migration == "" || p.DryRun() || p.Blue.ARN == "" || p.Green.ARN == "" {
		return res, invalidf("retire blue's IRSA trust: the plan needs the migration and both providers")
	}
	api, err := a.iamClient(ctx, p.Region)
	if err != nil {
		return res, err
	}
	log := logger(ctx)
	e := p.ends()
	progress := Progress{Step: StepIRSARetireBlue, Cluster: p.Blue.Cluster}
	roles, err := listRoles(ctx, api, &progress)
	if err != nil {
		return res, err
	}
	for _, r := range roles {
		name := aws.ToString(r.RoleName)
		if !referencesProvider(aws.ToString(r.AssumeRolePolicyDocument), p.Blue.ARN) {
			continue
		}
		// Blue's statements at the first read and at the last: the
		// difference was removed (a write that had to be repeated counts once).
		first, remaining := -1, 0
		var kept []string
		var last bool
		_, err := a.updateTrust(ctx, api, name, e, func(t *trustAnalysis) bool {
			kept, last = nil, false
			if first < 0 {
				first = len(t.derived)
			}
			remaining = len(t.derived)
			drop := map[int]bool{}
			for _, d := range t.derived {
				if (d.present || d.covered) && d.exclusive {
					drop[d.blue] = true
					continue
				}
				kept = append(kept, blueStatementText(t, d, e.blueHostPath))
			}
			if len(drop) == 0 {
				return false
			}
			if len(drop) == len(t.policy.statements) {
				last = true
				return false
			}
			t.removeIndices(drop)
			return true
		})
		removed := first - remaining
		progress.markDone(name)
		activitylog.Heartbeat(ctx, progress)
		switch {
		case definitive(err):
			res.Failed = append(res.Failed, roleFailure(name, err))
			res.Findings = append(res.Findings, irsaFinding(CheckIRSATrustNotUpdated, finding.Error, name,
				fmt.Sprintf("blue's statements were not removed from role %s: %s", name, failures.Message(err)),
				"remove the statements naming blue's OIDC provider by hand"))
			continue
		case err != nil:
			return res, err
		}
		if removed > 0 {
			res.Updated = append(res.Updated, IRSABlueRemoval{RoleName: name, RoleARN: aws.ToString(r.Arn), Statements: removed})
			log.Info("Removed blue's statements from role", "role", name, "statements", removed)
		}
		for _, k := range kept {
			res.Findings = append(res.Findings, irsaFinding(CheckIRSABlueKept, finding.Warning, name,
				fmt.Sprintf("role %s keeps a statement for blue's OIDC provider that has no equivalent for green or names other principals too: %s", name, k),
				"check whether green needs it; remove blue's principal by hand"))
		}
		if last {
			res.Findings = append(res.Findings, irsaFinding(CheckIRSALastStatement, finding.Warning, name,
				fmt.Sprintf("role %s trusts nothing but blue's OIDC provider; its statements were kept, a trust policy cannot be empty", name),
				"delete the role if nothing uses it"))
		}
	}
	deleted, gone, f, err := deleteOIDCProviderIfUnused(ctx, api, p.Blue.ARN, "")
	if err != nil {
		return res, err
	}
	res.ProviderDeleted, res.ProviderAlreadyGone = deleted, gone
	res.Findings = append(res.Findings, f...)
	log.Info("Retired blue's IRSA trust", "migration", p.Migration, "roles", len(res.Updated),
		"providerDeleted", res.ProviderDeleted, "providerAlreadyGone", res.ProviderAlreadyGone, "failed", len(res.Failed))
	return res, nil
}

// ends is what the plan's rewrites go from and to.
func (p IRSAPlan) ends() irsaEnds {
	return irsaEnds{
		blueARN: p.Blue.ARN, greenARN: p.Green.ARN,
		blueHostPath: issuerHostPath(p.Blue.Issuer), greenHostPath: issuerHostPath(p.Green.Issuer),
		migration: p.Migration,
	}
}

// updateTrust reads role's trust policy, lets edit change it (edit
// reports whether it did), writes it, and reads it back until edit finds
// nothing left to do. gone says the role does not exist.
func (a *Activities) updateTrust(ctx context.Context, api IAMAPI, role string, e irsaEnds, edit func(*trustAnalysis) bool) (gone bool, err error) {
	for writes := 0; ; {
		out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if isIAMCode(err, "NoSuchEntity") {
			return true, nil
		}
		if err != nil {
			return false, iamError(err, "get role %s%s", role, trustTagHint(err))
		}
		if out.Role == nil {
			return true, nil
		}
		t, err := analyzeTrust(aws.ToString(out.Role.AssumeRolePolicyDocument), e)
		if err != nil {
			return false, failures.New(failures.InvalidParameter, "role %s: %v", role, err)
		}
		if !edit(t) {
			return false, nil
		}
		if writes == maxTrustWrites {
			return false, notReadyf("the trust policy of role %s does not keep cutover's change after %d writes (another writer?)", role, writes)
		}
		doc, err := t.policy.encode()
		if err != nil {
			return false, failures.New(failures.InvalidParameter, "role %s: %v", role, err)
		}
		if _, err := api.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(role), PolicyDocument: aws.String(doc)}); err != nil {
			return false, iamError(err, "update the trust policy of role %s%s", role, trustTagHint(err))
		}
		writes++
		if err := sleepCtx(ctx, a.trustSettle()); err != nil {
			return false, err
		}
	}
}

// trustTagHint says what an AccessDenied on a role's trust policy most
// likely means: the policy `cutover iam-policy` generates lets the worker
// read and edit only roles tagged TagTrustManaged=true.
func trustTagHint(err error) string {
	if !isIAMCode(err, "AccessDenied") {
		return ""
	}
	return " (cutover's IAM policy edits only the trust of roles tagged " + TagTrustManaged + "=true: tag the role, or give the worker a policy that allows it)"
}

// trustSettle is how long a write is given before it is read back (IAM is
// eventually consistent).
func (a *Activities) trustSettle() time.Duration {
	return min(a.pollInterval, time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// deleteOIDCProviderIfUnused deletes the provider unless a role's trust
// policy names it or, with ownedBy set, it was not created by migration
// ownedBy.
func deleteOIDCProviderIfUnused(ctx context.Context, api IAMAPI, providerARN, ownedBy string) (deleted, alreadyGone bool, fs []Finding, err error) {
	log := logger(ctx)
	get, found, err := getOIDCProvider(ctx, api, providerARN)
	if err != nil {
		return false, false, nil, err
	}
	if !found {
		log.Info("IAM OIDC provider is already gone", "arn", providerARN)
		return false, true, nil, nil
	}
	if ownedBy != "" {
		if tags := tagMap(get.Tags); tags[TagManagedBy] != "cutover" || tags[TagMigration] != ownedBy {
			return false, false, []Finding{irsaFinding(CheckIRSAProviderKept, finding.Info, providerARN,
				fmt.Sprintf("IAM OIDC provider %s was not created by migration %s; it is kept", providerARN, ownedBy), "")}, nil
		}
	}
	roles, err := listRoles(ctx, api, nil)
	if err != nil {
		return false, false, nil, err
	}
	var users []string
	for _, r := range roles {
		if referencesProvider(aws.ToString(r.AssumeRolePolicyDocument), providerARN) {
			users = append(users, aws.ToString(r.RoleName))
		}
	}
	if len(users) > 0 {
		return false, false, []Finding{irsaFinding(CheckIRSAProviderKept, finding.Warning, providerARN,
			fmt.Sprintf("IAM OIDC provider %s is kept: the trust policies of %s still name it", providerARN, strings.Join(users, ", ")),
			"remove those statements, then delete the provider (aws iam delete-open-id-connect-provider)")}, nil
	}
	log.Info("Deleting IAM OIDC provider", "arn", providerARN)
	_, err = api.DeleteOpenIDConnectProvider(ctx, &iam.DeleteOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	if isIAMCode(err, "NoSuchEntity") {
		return false, true, nil, nil
	}
	if err != nil {
		return false, false, nil, iamError(err, "delete IAM OIDC provider %s", providerARN)
	}
	return true, false, nil, nil
}

// clusterIssuer reads a cluster's OIDC issuer and ARN.
func (a *Activities) clusterIssuer(ctx context.Context, ref clusters.Ref) (issuer, clusterARN string, err error) {
	api, err := a.eksClient(ctx, ref.Region)
	if err != nil {
		return "", "", err
	}
	out, err := api.DescribeCluster(ctx, &awseks.DescribeClusterInput{Name: aws.String(ref.Name)})
	if err != nil {
		return "", "", awsError(err, "describe cluster %s", ref)
	}
	c := out.Cluster
	if c != nil && c.Identity != nil && c.Identity.Oidc != nil {
		issuer = aws.ToString(c.Identity.Oidc.Issuer)
	}
	if issuer == "" {
		return "", "", notFoundf("cluster %s reports no OIDC issuer (identity.oidc.issuer)", ref)
	}
	if c != nil {
		clusterARN = aws.ToString(c.Arn)
	}
	return issuer, clusterARN, nil
}

// listRoles lists every IAM role, sorted by name, heartbeating per page.
func listRoles(ctx context.Context, api IAMAPI, p *Progress) ([]iamtypes.Role, error) {
	var roles []iamtypes.Role
	pg := iam.NewListRolesPaginator(api, &iam.ListRolesInput{MaxItems: aws.Int32(1000)})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, iamError(err, "list IAM roles")
		}
		roles = append(roles, out.Roles...)
		if p != nil {
			p.Polls++
			p.Status = fmt.Sprintf("%d roles read", len(roles))
			activitylog.Heartbeat(ctx, *p)
		}
	}
	sort.Slice(roles, func(i, j int) bool { return aws.ToString(roles[i].RoleName) < aws.ToString(roles[j].RoleName) })
	return roles, nil
}

func listOIDCProviders(ctx context.Context, api IAMAPI) ([]string, error) {
	out, err := api.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, iamError(err, "list IAM OIDC providers")
	}
	arns := make([]string, 0, len(out.OpenIDConnectProviderList))
	for _, p := range out.OpenIDConnectProviderList {
		arns = append(arns, aws.ToString(p.Arn))
	}
	return arns, nil
}

func getOIDCProvider(ctx context.Context, api IAMAPI, providerARN string) (*iam.GetOpenIDConnectProviderOutput, bool, error) {
	out, err := api.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(providerARN)})
	if isIAMCode(err, "NoSuchEntity") {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, iamError(err, "get IAM OIDC provider %s", providerARN)
	}
	return out, true, nil
}

// findOIDCProvider returns the ARN among arns of the provider for hostPath.
func findOIDCProvider(arns []string, hostPath string) string {
	suffix := strings.ToLower(":oidc-provider/" + hostPath)
	for _, a := range arns {
		if strings.HasSuffix(strings.ToLower(a), suffix) {
			return a
		}
	}
	return ""
}

// iamPrefix is "arn:PARTITION:iam::ACCOUNT" of an IAM ARN.
func iamPrefix(iamARN string) string {
	if i := strings.Index(iamARN, ":oidc-provider/"); i >= 0 {
		return iamARN[:i]
	}
	return iamARN
}

// iamPrefixFromClusterARN is the IAM ARN prefix of the cluster's account.
func iamPrefixFromClusterARN(clusterARN string) (string, error) {
	a, err := arn.Parse(clusterARN)
	if err != nil || a.AccountID == "" {
		return "", fmt.Errorf("no account in cluster ARN %q", clusterARN)
	}
	return "arn:" + a.Partition + ":iam::" + a.AccountID, nil
}

func tagMap(tags []iamtypes.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func hasSid(t *trustAnalysis, sid string) bool {
	return slices.ContainsFunc(t.parsed, func(s statement) bool { return s.Sid == sid })
}

// blueStatementText names a statement for blue in a finding.
func blueStatementText(t *trustAnalysis, d derived, hostPath string) string {
	s := t.parsed[d.blue]
	if s.Sid != "" {
		return "Sid " + s.Sid
	}
	if subs := subjects(s, hostPath); len(subs) > 0 {
		return strings.Join(subs, ", ")
	}
	return fmt.Sprintf("statement %d", d.blue+1)
}

func roleFailure(role string, err error) IRSARoleFailure {
	return IRSARoleFailure{RoleName: role, Type: failures.TypeOf(err), Message: failures.Message(err)}
}

func irsaFinding(check string, sev finding.Severity, object, msg, fix string) Finding {
	return Finding{Check: check, Object: object, Severity: sev, Message: msg, Fix: fix, Source: SourceIRSA}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// IAM implements ClientFactory.
func (c *sdkClients) IAM(ctx context.Context, region string) (IAMAPI, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.iam[region]; ok {
		return cl, nil
	}
	cfg, err := c.p.ForRegion(ctx, region)
	if err != nil {
		return nil, fmt.Errorf("AWS config for region %s: %w", region, err)
	}
	cl := iam.NewFromConfig(cfg)
	if c.iam == nil {
		c.iam = map[string]*iam.Client{}
	}
	c.iam[region] = cl
	return cl, nil
}
