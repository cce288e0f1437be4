package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/cutover-dev/cutover/internal/clusters"
)

// AdminUser is the user the sandbox's long-lived admin token (Kube.Token,
// the token of the kubeconfigs for people) authenticates as; it is in
// system:masters.
const AdminUser = "cutover-admin"

// Kube is one sandbox Kubernetes cluster: its own etcd and kube-apiserver.
// There are no nodes, no controller-manager and no scheduler: objects are
// stored and served, nothing reconciles them (see MarkWorkloadsReady and
// AddNode).
type Kube struct {
	// Name is the cluster name (also the kubeconfig context).
	Name string
	// Kubeconfig is the path of a kubeconfig for this cluster
	// (<Dir>/kubeconfigs/<name>.kubeconfig).
	Kubeconfig string
	// Server is the apiserver URL (https://127.0.0.1:<port>).
	Server string
	// Token is the long-lived bearer token of AdminUser (static token
	// file: it never expires), for people and the sandbox's own seeding.
	Token string
	// CAData is the PEM CA that signed the serving certificate.
	CAData []byte
	// TokenMaxAge is how long the apiserver accepts an EKS token after it
	// was signed (Options.KubeTokenMaxAge).
	TokenMaxAge time.Duration

	etcd      *proc
	apiserver *proc
	webhook   *tokenWebhook
	log       *slog.Logger
	etcdURL   string
}

// StartKube starts an etcd and a kube-apiserver for cluster name and writes
// its kubeconfig. It returns when /readyz answers ok and the default
// namespace exists.
//
// The apiserver authenticates two kinds of bearer tokens: Token (static,
// for people), and EKS tokens through a TokenReview webhook served by this
// process, which refuses tokens signed more than TokenMaxAge ago.
func StartKube(ctx context.Context, name string, o Options) (*Kube, error) {
	if name == "" || strings.ContainsAny(name, "/ ") {
		return nil, fmt.Errorf("invalid cluster name %q", name)
	}
	o, err := o.resolve()
	if err != nil {
		return nil, err
	}
	apiserverBin, err := o.kubeAPIServerBin()
	if err != nil {
		return nil, err
	}
	etcdBin, err := o.etcdBin()
	if err != nil {
		return nil, err
	}
	log := o.logger().With("cluster", name)
	dir := filepath.Join(o.Dir, "kube-"+name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	start := time.Now()
	k := &Kube{Name: name, log: log, TokenMaxAge: o.kubeTokenMaxAge()}

	pk, err := generatePKI(filepath.Join(dir, "pki"), name)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: generate certificates: %w", name, err)
	}
	k.CAData = pk.CAPEM
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	k.Token = hex.EncodeToString(tok)
	tokenFile := filepath.Join(dir, "pki", "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(fmt.Sprintf("%s,%s,%s,\"system:masters\"\n", k.Token, AdminUser, AdminUser)), 0o600); err != nil {
		return nil, err
	}

	k.webhook, err = startTokenWebhook(name, k.TokenMaxAge, log.With("component", "token-webhook"))
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	webhookConfig := filepath.Join(dir, "pki", "token-webhook.kubeconfig")
	if err := writeWebhookConfig(webhookConfig, k.webhook.url); err != nil {
		_ = k.webhook.stop()
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}

	for attempt := 1; ; attempt++ {
		err = k.startEtcd(ctx, etcdBin, dir)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			break
		}
		log.Warn("Port taken, retrying etcd with other ports", "attempt", attempt)
	}
	if err != nil {
		_ = k.webhook.stop()
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	for attempt := 1; ; attempt++ {
		err = k.startAPIServer(ctx, apiserverBin, dir, pk, tokenFile, webhookConfig)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			break
		}
		log.Warn("Port taken, retrying kube-apiserver with another port", "attempt", attempt)
	}
	if err != nil {
		_ = k.Stop()
		return nil, fmt.Errorf("cluster %s: %w", name, err)
	}
	kcDir := filepath.Join(o.Dir, "kubeconfigs")
	if err := os.MkdirAll(kcDir, 0o755); err != nil {
		_ = k.Stop()
		return nil, err
	}
	k.Kubeconfig = filepath.Join(kcDir, name+".kubeconfig")
	if err := k.WriteKubeconfig(k.Kubeconfig, name); err != nil {
		_ = k.Stop()
		return nil, err
	}
	log.Info("Kubernetes cluster ready", "server", k.Server, "kubeconfig", k.Kubeconfig, "tokenMaxAge", k.TokenMaxAge, "startup", time.Since(start).Round(time.Millisecond))
	return k, nil
}

func (k *Kube) startEtcd(ctx context.Context, bin, dir string) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	client := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peer := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	data := filepath.Join(dir, "etcd-data")
	_ = os.RemoveAll(data)
	logPath := filepath.Join(dir, "etcd.log")
	args := []string{
		"--name", k.Name,
		"--data-dir", data,
		"--listen-client-urls", client,
		"--advertise-client-urls", client,
		"--listen-peer-urls", peer,
		"--initial-advertise-peer-urls", peer,
		"--initial-cluster", k.Name + "=" + peer,
		"--initial-cluster-state", "new",
		"--logger", "zap",
		"--log-outputs", "stderr",
		"--log-level", "warn",
		"--quota-backend-bytes", strconv.Itoa(2 << 30),
	}
	p, err := startProc(k.log, "etcd-"+k.Name, logPath, bin, args, []string{"ETCD_UNSUPPORTED_ARCH=" + goarchForEtcd()})
	if err != nil {
		return err
	}
	err = p.waitReady(ctx, 20*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, client+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"true"`) {
			return fmt.Errorf("etcd /health: %s %s", resp.Status, b)
		}
		return nil
	})
	if err != nil {
		_ = p.Stop()
		if portTaken(logPath) {
			return fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	}
	k.etcd = p
	k.etcdURL = client
	return nil
}

func (k *Kube) startAPIServer(ctx context.Context, bin, dir string, pk *pki, tokenFile, webhookConfig string) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	k.Server = "https://127.0.0.1:" + strconv.Itoa(ports[0])
	logPath := filepath.Join(dir, "kube-apiserver.log")
	args := []string{
		"--etcd-servers", k.etcdURL,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(ports[0]),
		"--cert-dir", filepath.Join(dir, "pki"),
		"--tls-cert-file", pk.ServingCert,
		"--tls-private-key-file", pk.ServingKey,
		"--token-auth-file", tokenFile,
		// EKS tokens: reviewed by the sandbox's webhook. Its cache is off;
		// kube-apiserver itself still keeps an accepted token for 10 s.
		"--authentication-token-webhook-config-file", webhookConfig,
		"--authentication-token-webhook-version", "v1",
		"--authentication-token-webhook-cache-ttl", "0s",
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", pk.SAPub,
		"--service-account-signing-key-file", pk.SAKey,
		"--service-cluster-ip-range", "10.96.0.0/16",
		"--allow-privileged",
		// No controller-manager creates the "default" ServiceAccount of new
		// namespaces, so Pod creation would fail under this plugin.
		"--disable-admission-plugins", "ServiceAccount",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"--endpoint-reconciler-type", "none",
		"--v", "1",
	}
	p, err := startProc(k.log, "kube-apiserver-"+k.Name, logPath, bin, args, nil)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pk.CAPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer hc.CloseIdleConnections()
	err = p.waitReady(ctx, 60*time.Second, func(ctx context.Context) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, k.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+k.Token)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/readyz: %s %s", resp.Status, b)
		}
		req, _ = http.NewRequestWithContext(ctx, http.MethodGet, k.Server+"/api/v1/namespaces/default", nil)
		req.Header.Set("Authorization", "Bearer "+k.Token)
		resp2, err := hc.Do(req)
		if err != nil {
			return err
		}
		resp2.Body.Close()
		if resp2.StatusCode != http.StatusOK {
			return fmt.Errorf("namespace default: %s", resp2.Status)
		}
		return nil
	})
	if err != nil {
		_ = p.Stop()
		if portTaken(logPath) {
			return fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	}
	k.apiserver = p
	return nil
}

// RESTConfig returns a client config for this cluster with the long-lived
// admin Token (a new copy each call). The worker does not use it: it
// resolves the kubeconfig with clusters.KubeconfigResolver{AWS: ...},
// which signs EKS tokens.
func (k *Kube) RESTConfig() *rest.Config {
	return &rest.Config{
		Host:            k.Server,
		BearerToken:     k.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: append([]byte(nil), k.CAData...)},
		QPS:             100,
		Burst:           200,
		UserAgent:       "cutover-sandbox",
	}
}

// Clientset returns a typed client for this cluster.
func (k *Kube) Clientset() (*kubernetes.Clientset, error) {
	return kubernetes.NewForConfig(k.RESTConfig())
}

// WriteKubeconfig writes a kubeconfig for this cluster whose cluster,
// user and context are named contextName. Its user has two credentials:
// the long-lived admin Token, which kubectl uses, and the
// clusters.EKSTokenExtension (this cluster's name, the sandbox region,
// TokenMaxAge as the lifetime), from which clusters.KubeconfigResolver with
// AWS credentials signs EKS tokens instead, as the worker does.
func (k *Kube) WriteKubeconfig(path, contextName string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[contextName] = &clientcmdapi.Cluster{Server: k.Server, CertificateAuthorityData: k.CAData}
	ext := clusters.EKSTokenConfig{ClusterName: k.Name, Region: DefaultRegion, Lifetime: k.TokenMaxAge.String()}
	cfg.AuthInfos[contextName] = &clientcmdapi.AuthInfo{Token: k.Token,
		Extensions: map[string]k8sruntime.Object{clusters.EKSTokenExtension: ext.Extension()}}
	cfg.Contexts[contextName] = &clientcmdapi.Context{Cluster: contextName, AuthInfo: contextName}
	cfg.CurrentContext = contextName
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}

// TokenStats counts the EKS tokens the apiserver's webhook reviewed.
func (k *Kube) TokenStats() TokenStats { return k.webhook.tokenStats() }

// Stop stops the apiserver, then etcd and the token webhook.
func (k *Kube) Stop() error {
	if k == nil {
		return nil
	}
	err := stopAll(k.etcd, k.apiserver)
	return errors.Join(err, k.webhook.stop())
}

// writeWebhookConfig writes the kubeconfig kube-apiserver reads to reach
// the token webhook at url.
func writeWebhookConfig(path, url string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["token-webhook"] = &clientcmdapi.Cluster{Server: url}
	cfg.AuthInfos["kube-apiserver"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["token-webhook"] = &clientcmdapi.Context{Cluster: "token-webhook", AuthInfo: "kube-apiserver"}
	cfg.CurrentContext = "token-webhook"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("write token webhook config %s: %w", path, err)
	}
	return nil
}

// Pids lists the process ids (each a process group leader).
func (k *Kube) Pids() []int {
	var out []int
	for _, p := range []*proc{k.etcd, k.apiserver} {
		if p != nil {
			out = append(out, p.Pid())
		}
	}
	return out
}

func goarchForEtcd() string { return runtime.GOARCH }
