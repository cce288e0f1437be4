package sandbox

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Names of the identities blue maps in its aws-auth ConfigMap.
const (
	// AWSAuthConfigMap is the ConfigMap EKS reads IAM mappings from
	// (namespace/name).
	AWSAuthConfigMap = "kube-system/aws-auth"
	// OpsRoleName is the platform operators' role (trusting the account
	// root), mapped as OpsUsername in group OpsGroup.
	OpsRoleName = "cutover-platform-ops"
	OpsUsername = "platform-ops"
	OpsGroup    = "platform:operators"
	// BreakglassUserName is an IAM user mapped as BreakglassUsername in
	// system:masters.
	BreakglassUserName = "cutover-breakglass"
	BreakglassUsername = "breakglass"
	// NodeUsername is the username EKS and eksctl map node roles to.
	NodeUsername = "system:node:{{EC2PrivateDNSName}}"
)

// AWSAuthSeed is the IAM identities blue's aws-auth ConfigMap maps besides
// its node role.
type AWSAuthSeed struct {
	OpsRoleARN        string `json:"opsRoleARN"`
	BreakglassUserARN string `json:"breakglassUserARN"`
}

// AWSAuthMapping is one entry of aws-auth's mapRoles or mapUsers.
type AWSAuthMapping struct {
	RoleARN  string   `json:"rolearn,omitempty"`
	UserARN  string   `json:"userarn,omitempty"`
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

// seedAWSAuth creates the platform operators' role (trusting the account
// root) and the break-glass IAM user, after seedIdentity. Identities that
// exist are read instead.
func seedAWSAuth(ctx context.Context, cfg aws.Config, s *Seed) error {
	api := iam.NewFromConfig(cfg)
	tags := []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"sts:AssumeRole"}]}`, s.AccountID)
	var exists *iamtypes.EntityAlreadyExistsException
	role, err := api.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(OpsRoleName), AssumeRolePolicyDocument: aws.String(trust), Tags: tags})
	switch {
	case errors.As(err, &exists):
		got, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(OpsRoleName)})
		if err != nil {
			return fmt.Errorf("role %s: %w", OpsRoleName, err)
		}
		s.AWSAuth.OpsRoleARN = aws.ToString(got.Role.Arn)
	case err != nil:
		return fmt.Errorf("role %s: %w", OpsRoleName, err)
	default:
		s.AWSAuth.OpsRoleARN = aws.ToString(role.Role.Arn)
	}
	user, err := api.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(BreakglassUserName), Tags: tags})
	switch {
	case errors.As(err, &exists):
		got, err := api.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(BreakglassUserName)})
		if err != nil {
			return fmt.Errorf("user %s: %w", BreakglassUserName, err)
		}
		s.AWSAuth.BreakglassUserARN = aws.ToString(got.User.Arn)
	case err != nil:
		return fmt.Errorf("user %s: %w", BreakglassUserName, err)
	default:
		s.AWSAuth.BreakglassUserARN = aws.ToString(user.User.Arn)
	}
	return nil
}

// AWSAuthData is the data of blue's aws-auth ConfigMap as EKS and eksctl
// write it: mapRoles with the node role (system:bootstrappers,
// system:nodes) and the platform operators' role, mapUsers with the
// break-glass user in system:masters.
func AWSAuthData(s *Seed) (map[string]string, error) {
	roles, err := yaml.Marshal([]AWSAuthMapping{
		{RoleARN: s.NodeRoleARN, Username: NodeUsername, Groups: []string{"system:bootstrappers", "system:nodes"}},
		{RoleARN: s.AWSAuth.OpsRoleARN, Username: OpsUsername, Groups: []string{OpsGroup}},
	})
	if err != nil {
		return nil, err
	}
	users, err := yaml.Marshal([]AWSAuthMapping{
		{UserARN: s.AWSAuth.BreakglassUserARN, Username: BreakglassUsername, Groups: []string{"system:masters"}},
	})
	if err != nil {
		return nil, err
	}
	return map[string]string{"mapRoles": string(roles), "mapUsers": string(users)}, nil
}

// SeedAWSAuth creates blue's kube-system/aws-auth ConfigMap (AWSAuthData)
// from the AWS seed; an existing one is left as it is. It is added to
// objs.
func SeedAWSAuth(ctx context.Context, blue *Kube, s *Seed, objs *KubeSeed) error {
	if s.NodeRoleARN == "" || s.AWSAuth.OpsRoleARN == "" || s.AWSAuth.BreakglassUserARN == "" {
		return fmt.Errorf("cluster %s: the AWS seed lacks aws-auth's identities (node role %q, %+v)", blue.Name, s.NodeRoleARN, s.AWSAuth)
	}
	data, err := AWSAuthData(s)
	if err != nil {
		return err
	}
	cs, err := blue.Clientset()
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "aws-auth", Namespace: "kube-system"}, Data: data}
	if _, err := cs.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("cluster %s: create ConfigMap %s: %w", blue.Name, AWSAuthConfigMap, err)
	}
	objs.AWSAuth = AWSAuthConfigMap
	objs.ConfigMaps = append(objs.ConfigMaps, AWSAuthConfigMap)
	return nil
}
