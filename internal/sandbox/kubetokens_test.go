package sandbox_test

import (
	"context"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/cutover-dev/cutover/internal/clusters"
	"github.com/cutover-dev/cutover/internal/failures"
	"github.com/cutover-dev/cutover/internal/sandbox"
	"github.com/cutover-dev/cutover/internal/sandbox/sandboxtest"
)

// tokenMaxAge is the test cluster's EKS token lifetime: short, so a wait of
// a few lifetimes takes seconds.
const tokenMaxAge = 5 * time.Second

type testClients struct {
	ctrl client.Client
	cs   kubernetes.Interface
}

// TestEKSTokensOnTheSandboxAPIServer checks the sandbox apiserver's token
// authentication: EKS tokens older than the max age get 401, and a client
// from the resolver, kept in a ClientCache, keeps working through a wait
// several max ages long.
func TestEKSTokensOnTheSandboxAPIServer(t *testing.T) {
	ctx := context.Background()
	k := sandboxtest.Kube(t, "green", func(o *sandbox.Options) { o.KubeTokenMaxAge = tokenMaxAge })
	awsCfg, _ := sandbox.AWSCredentials().ForRegion(ctx, sandbox.DefaultRegion)
	withToken := func(tok string) kubernetes.Interface {
		cfg := &rest.Config{Host: k.Server, BearerToken: tok, TLSClientConfig: rest.TLSClientConfig{CAData: k.CAData}}
		return kubernetes.NewForConfigOrDie(cfg)
	}
	sign := func(cluster string, at time.Time) string {
		tok, err := clusters.GenerateToken(ctx, awsCfg, cluster, at)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Value
	}

	t.Run("refusals", func(t *testing.T) {
		before := k.TokenStats()
		r, err := withToken(sign("green", time.Now())).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("fresh EKS token: %v", err)
		}
		if u := r.Status.UserInfo.Username; u != sandbox.EKSUser(sandbox.AWSAccessKeyID) {
			t.Errorf("fresh EKS token authenticates as %q, want %q", u, sandbox.EKSUser(sandbox.AWSAccessKeyID))
		}
		for name, tok := range map[string]string{
			"stale":           sign("green", time.Now().Add(-tokenMaxAge-2*time.Second)),
			"another cluster": sign("blue", time.Now()),
			"garbage":         "k8s-aws-v1.aGVsbG8",
		} {
			_, err := withToken(tok).CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
			if !apierrors.IsUnauthorized(err) {
				t.Errorf("%s token: %v, want 401 Unauthorized", name, err)
			}
			if mapped := clusters.APIError(err, "Velero", "get namespace"); !failures.Is(mapped, failures.AccessDenied) {
				t.Errorf("%s token: mapped to %v, want AccessDenied", name, mapped)
			}
		}
		if got := k.TokenStats(); got.Rejected-before.Rejected != 3 || got.Accepted-before.Accepted != 1 {
			t.Errorf("webhook reviews: %+v (before %+v), want 1 accepted and 3 refused", got, before)
		}
		// People's kubectl reads the kubeconfig as clientcmd does: the
		// long-lived admin token, which does not expire.
		people, err := clientcmd.BuildConfigFromFlags("", k.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		if people.BearerToken != k.Token {
			t.Errorf("kubeconfig for people: token is not the admin token")
		}
		r, err = kubernetes.NewForConfigOrDie(people).AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil || r.Status.UserInfo.Username != sandbox.AdminUser {
			t.Errorf("kubeconfig for people: %v, user %+v", err, r)
		}
	})

	t.Run("long wait through one cached client", func(t *testing.T) {
		resolver := clusters.KubeconfigResolver{Paths: map[string]string{"green": k.Kubeconfig}, AWS: sandbox.AWSCredentials()}
		ref := clusters.Ref{Name: "green", Region: sandbox.DefaultRegion}
		cache := clusters.NewClientCache("test", "clients", resolver, func(cfg *rest.Config) (*testClients, error) {
			c, err := clusters.NewControllerClient(cfg, clientgoscheme.Scheme)
			if err != nil {
				return nil, err
			}
			cs, err := kubernetes.NewForConfig(cfg)
			return &testClients{ctrl: c, cs: cs}, err
		}, time.Hour, nil)
		first, cfg, err := cache.Get(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		// What the resolvers handed out before tokens were renewed: the
		// config's token alone. It must stop working, or this test proves
		// nothing.
		snapshot := rest.CopyConfig(cfg)
		snapshot.WrapTransport = nil
		stale := kubernetes.NewForConfigOrDie(snapshot)

		admin, err := k.Clientset()
		if err != nil {
			t.Fatal(err)
		}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "restore", Namespace: "default"}, Data: map[string]string{"phase": "InProgress"}}
		if _, err := admin.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// "The restore" finishes after four token lifetimes: longer than a
		// lifetime plus the 10 s kube-apiserver caches an accepted token, so
		// a client that did not renew its token would be refused.
		waitFor := 4 * tokenMaxAge
		go func() {
			time.Sleep(waitFor)
			cm.Data["phase"] = "Completed"
			if _, err := admin.CoreV1().ConfigMaps("default").Update(context.Background(), cm, metav1.UpdateOptions{}); err != nil {
				t.Errorf("complete the restore: %v", err)
			}
		}()

		before := k.TokenStats()
		start := time.Now()
		polls := 0
		err = wait.PollUntilContextTimeout(ctx, 400*time.Millisecond, waitFor+30*time.Second, true, func(ctx context.Context) (bool, error) {
			c, _, err := cache.Get(ctx, ref)
			if err != nil {
				return false, err
			}
			if c != first {
				t.Fatal("the cache built a new client; the test must hold one")
			}
			polls++
			var got corev1.ConfigMap
			if err := c.ctrl.Get(ctx, client.ObjectKey{Namespace: "default", Name: "restore"}, &got); err != nil {
				return false, clusters.APIError(err, "Velero", "get restore at %s", time.Since(start).Round(time.Millisecond))
			}
			return got.Data["phase"] == "Completed", nil
		})
		elapsed := time.Since(start)
		if err != nil {
			t.Fatalf("wait through one cached client: %v (after %s)", err, elapsed.Round(time.Millisecond))
		}
		after := k.TokenStats()
		t.Logf("waited %s (%d polls, token max age %s): %d token reviews accepted, %d distinct tokens, %d refused",
			elapsed.Round(time.Millisecond), polls, tokenMaxAge, after.Accepted-before.Accepted, after.Distinct-before.Distinct, after.Rejected-before.Rejected)
		if elapsed < waitFor {
			t.Errorf("the wait took %s, less than %s", elapsed, waitFor)
		}
		if n := after.Rejected - before.Rejected; n != 0 {
			t.Errorf("%d tokens refused during the wait (last: %s); every request must carry a valid token without relying on the 401 retry", n, after.LastRejection)
		}
		if n := after.Distinct - before.Distinct; n < 5 {
			t.Errorf("%d distinct tokens over %s, want a renewal every %s", n, elapsed.Round(time.Second), tokenMaxAge/2)
		}
		r, err := first.cs.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			t.Errorf("SelfSubjectReview through the cached client: %v", err)
		} else if u := r.Status.UserInfo.Username; u != sandbox.EKSUser(sandbox.AWSAccessKeyID) {
			t.Errorf("cached client authenticates as %q, want the EKS user, not the admin token", u)
		}

		// The deliberately stale token: the config's own, signed before the wait.
		_, err = stale.CoreV1().ConfigMaps("default").Get(ctx, "restore", metav1.GetOptions{})
		if !apierrors.IsUnauthorized(err) {
			t.Errorf("the config's original token after %s: %v, want 401 Unauthorized", elapsed.Round(time.Second), err)
		}
	})
}
