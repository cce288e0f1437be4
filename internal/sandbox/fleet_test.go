package sandbox

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestVersionProxy: behind the proxy the apiserver reports the cluster's
// version, and everything else (reads, writes, watches, the kubeconfig's
// credentials) works as on the apiserver itself.
func TestVersionProxy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	o := Options{Dir: t.TempDir(), Log: t.Output()}
	k, err := StartKube(ctx, "shop-prod-1-30", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Stop() })
	apiserver := k.Server
	p, err := startVersionProxy(k, filepath.Join(o.Dir, "kube-"+k.Name), "1.30")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop() })
	if k.Server == apiserver {
		t.Fatalf("k.Server is still the apiserver's %s", apiserver)
	}
	// The kubeconfig the worker resolves names the proxy.
	cfg, err := clientcmd.LoadFromFile(k.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Clusters[k.Name].Server; got != k.Server {
		t.Errorf("kubeconfig server %s, want the proxy %s", got, k.Server)
	}
	rc, err := clientcmd.NewDefaultClientConfig(*cfg, nil).ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.30.14-eks-sandbox" || v.Major != "1" || v.Minor != "30" {
		t.Errorf("version behind the proxy %+v, want 1.30", v)
	}
	w, err := cs.CoreV1().Namespaces().Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "through-the-proxy"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-w.ResultChan():
			if ns, ok := ev.Object.(*corev1.Namespace); ok && ev.Type == watch.Added && ns.Name == "through-the-proxy" {
				return
			}
		case <-deadline:
			t.Fatal("the watch through the proxy did not stream the new namespace")
		}
	}
}

// TestEKSOptimizedImages: with the option, moto's EC2 holds the AMI each
// image_id parameter names, under the EKS-optimized name of its version;
// without it (Up's default) it does not.
func TestEKSOptimizedImages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const al2, al2023 = "/aws/service/eks/optimized-ami/1.30/amazon-linux-2/recommended/image_id", "/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/image_id"
	params := EKSOptimizedAMIParameters()
	want := map[string]string{params[al2]: "amazon-eks-node-1.30-v20250519", params[al2023]: "amazon-eks-node-al2023-x86_64-standard-1.31-v20250519"}
	for id, name := range want {
		if got := EKSOptimizedImages()[id]; got != name {
			t.Errorf("EKSOptimizedImages()[%s] = %q, want %q", id, got, name)
		}
	}
	for _, on := range []bool{true, false} {
		m, err := StartMoto(ctx, Options{Dir: t.TempDir(), Log: t.Output(), EKSOptimizedImages: on})
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := m.AWS().ForRegion(ctx, m.Region)
		for id, name := range want {
			out, err := ec2.NewFromConfig(cfg).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
			found := err == nil && len(out.Images) == 1 && aws.ToString(out.Images[0].Name) == name
			if found != on {
				t.Errorf("EKSOptimizedImages %v: DescribeImages %s: %v %+v; want it found named %s: %v", on, id, err, out, name, on)
			}
		}
		if err := m.Stop(); err != nil {
			t.Error(err)
		}
	}
}
