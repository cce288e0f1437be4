package sandbox_test

import (
	"context"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/activities/kube"
	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// TestSeedAWSAuth: the platform operators' role (trusting the account
// root) and the break-glass user exist in IAM; blue's kube-system/aws-auth
// maps the node role as EKS does, the operators' role and the user; and
// cutover's preflight reports the two identities aws-auth grants (not the
// node role, which EKS maps itself).
func TestSeedAWSAuth(t *testing.T) {
	ctx := context.Background()
	m := sandboxtest.Moto(t)
	s, err := sandbox.SeedAWS(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	a := s.AWSAuth
	if a.OpsRoleARN != "arn:aws:iam::"+s.AccountID+":role/cutover-platform-ops" || a.BreakglassUserARN != "arn:aws:iam::"+s.AccountID+":user/cutover-breakglass" {
		t.Fatalf("aws-auth seed %+v", a)
	}
	cfg, _ := m.AWS().ForRegion(ctx, m.Region)
	api := iam.NewFromConfig(cfg)
	role, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(sandbox.OpsRoleName)})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.Contains(doc, `"AWS":"arn:aws:iam::`+s.AccountID+`:root"`) || !strings.Contains(doc, "sts:AssumeRole") {
		t.Errorf("role %s trust policy %s", sandbox.OpsRoleName, doc)
	}
	if u, err := api.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(sandbox.BreakglassUserName)}); err != nil || aws.ToString(u.User.Arn) != a.BreakglassUserARN {
		t.Errorf("user %s: %+v (%v)", sandbox.BreakglassUserName, u, err)
	}

	blue := sandboxtest.Kube(t, sandbox.BlueCluster)
	objs := &sandbox.KubeSeed{}
	if err := sandbox.SeedAWSAuth(ctx, blue, s, objs); err != nil {
		t.Fatal(err)
	}
	if err := sandbox.SeedAWSAuth(ctx, blue, s, &sandbox.KubeSeed{}); err != nil {
		t.Fatalf("seeding aws-auth again: %v", err)
	}
	if objs.AWSAuth != "kube-system/aws-auth" || !slices.Equal(objs.ConfigMaps, []string{"kube-system/aws-auth"}) {
		t.Errorf("Kubernetes seed %+v", objs)
	}
	cs, _ := blue.Clientset()
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "aws-auth", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cm.Data["mapRoles"], "username: system:node:{{EC2PrivateDNSName}}\n") {
		t.Errorf("mapRoles does not map the node role as EKS writes it:\n%s", cm.Data["mapRoles"])
	}
	var roles, users []sandbox.AWSAuthMapping
	if err := yaml.Unmarshal([]byte(cm.Data["mapRoles"]), &roles); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(cm.Data["mapUsers"]), &users); err != nil {
		t.Fatal(err)
	}
	wantRoles := []sandbox.AWSAuthMapping{
		{RoleARN: s.NodeRoleARN, Username: "system:node:{{EC2PrivateDNSName}}", Groups: []string{"system:bootstrappers", "system:nodes"}},
		{RoleARN: a.OpsRoleARN, Username: "platform-ops", Groups: []string{"platform:operators"}},
	}
	wantUsers := []sandbox.AWSAuthMapping{{UserARN: a.BreakglassUserARN, Username: "breakglass", Groups: []string{"system:masters"}}}
	if !reflect.DeepEqual(roles, wantRoles) || !reflect.DeepEqual(users, wantUsers) {
		t.Errorf("aws-auth mapRoles %+v mapUsers %+v", roles, users)
	}

	res, err := kube.New(clusters.KubeconfigResolver{Paths: map[string]string{sandbox.BlueCluster: blue.Kubeconfig}}).
		PreflightBlue(ctx, kube.PreflightInput{Cluster: clusters.Ref{Name: sandbox.BlueCluster, Region: m.Region}, TargetVersion: "1.30"})
	if err != nil {
		t.Fatal(err)
	}
	var mapped []string
	for _, f := range res.Findings {
		if f.Check == kube.CheckAWSAuthIdentity {
			mapped = append(mapped, f.Object)
		}
	}
	slices.Sort(mapped)
	wantMapped := []string{"v1 ConfigMap kube-system/aws-auth " + a.OpsRoleARN, "v1 ConfigMap kube-system/aws-auth " + a.BreakglassUserARN}
	slices.Sort(wantMapped)
	if !slices.Equal(mapped, wantMapped) {
		t.Errorf("preflight's aws-auth findings on %v, want %v (findings %+v)", mapped, wantMapped, res.Findings)
	}
}
