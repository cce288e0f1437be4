package kube

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/cutover-dev/cutover/internal/activitylog"
	"github.com/cutover-dev/cutover/internal/finding"
)

// HelmReleaseSecretType is the type of the Secrets Helm 3 stores releases in.
const HelmReleaseSecretType = "helm.sh/release.v1"

// HelmRelease is the part of a Helm 3 release record the scan reads.
type HelmRelease struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Version   int    `json:"version"`
	Info      struct {
		Status string `json:"status"`
	} `json:"info"`
	Chart struct {
		Metadata struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"metadata"`
	} `json:"chart"`
	Manifest string `json:"manifest"`
}

// ManifestObject is one document of a release manifest.
type ManifestObject struct {
	APIVersion string
	Kind       string
	Name       string
	Namespace  string
	// Source is the template path from Helm's "# Source:" comment.
	Source string
}

// DecodeHelmRelease decodes the "release" value of a helm.sh/release.v1
// Secret (as client-go returns it, i.e. after the Secret's own base64):
// base64, then gzip (Helm always compresses; plain JSON is accepted too),
// then JSON.
func DecodeHelmRelease(data []byte) (*HelmRelease, error) {
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Decode(raw, data)
	if err != nil {
		return nil, fmt.Errorf("helm release: base64: %w", err)
	}
	raw = raw[:n]
	var r io.Reader = bytes.NewReader(raw)
	if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("helm release: gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	var rel HelmRelease
	if err := json.NewDecoder(r).Decode(&rel); err != nil {
		return nil, fmt.Errorf("helm release: json: %w", err)
	}
	return &rel, nil
}

// EncodeHelmRelease is the inverse of DecodeHelmRelease (as Helm's secret
// driver writes it); tests and the sandbox use it to seed releases.
func EncodeHelmRelease(rel any) ([]byte, error) {
	js, err := json.Marshal(rel)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(js); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	out := make([]byte, base64.StdEncoding.EncodedLen(buf.Len()))
	base64.StdEncoding.Encode(out, buf.Bytes())
	return out, nil
}

// ManifestObjects splits a multi-document release manifest and reads each
// document's apiVersion, kind, name and template path.
func ManifestObjects(manifest string) ([]ManifestObject, error) {
	rd := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	var out []ManifestObject
	for {
		doc, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		src := ""
		for _, line := range strings.Split(string(doc), "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source:"); ok {
				src = strings.TrimSpace(s)
				break
			}
		}
		var h lastAppliedHeader
		if err := yaml.Unmarshal(doc, &h); err != nil {
			return out, fmt.Errorf("document from %s: %w", src, err)
		}
		if h.APIVersion == "" && h.Kind == "" {
			continue // empty or comment-only document
		}
		out = append(out, ManifestObject{APIVersion: h.APIVersion, Kind: h.Kind, Name: h.Metadata.Name, Namespace: h.Metadata.Namespace, Source: src})
	}
}

// helmReleases decodes the current revision of every Helm release (the
// Secrets whose status label is not superseded or uninstalled) and reports
// the removed APIs its manifest declares. Release Secrets hold whole
// manifests, so they are paged in small pages.
func (p *preflight) helmReleases(ctx context.Context) error {
	list := func(ctx context.Context, o metav1.ListOptions) ([]corev1.Secret, string, error) {
		l, err := p.c.Kube.CoreV1().Secrets("").List(ctx, o)
		if err != nil {
			return nil, "", err
		}
		return l.Items, l.Continue, nil
	}
	opts := metav1.ListOptions{FieldSelector: "type=" + HelmReleaseSecretType}
	return eachPage(ctx, p.a.opts.helmPageSize, opts, list, func(secrets []corev1.Secret) error {
		for i := range secrets {
			s := &secrets[i]
			if s.Type != HelmReleaseSecretType {
				continue
			}
			p.scanned++
			switch s.Labels["status"] {
			case "superseded", "uninstalled":
				continue // history: upgrades and rollbacks only read the current revision
			}
			p.checkHelmSecret(s)
			secrets[i].Data = nil // release the manifest before the next one is decoded
		}
		activitylog.Heartbeat(ctx, Progress{Step: "helm-releases", Objects: p.scanned})
		return nil
	})
}

func (p *preflight) checkHelmSecret(s *corev1.Secret) {
	secretRef := s.Namespace + "/" + s.Name
	rel, err := DecodeHelmRelease(s.Data["release"])
	if err != nil {
		p.found.add(finding.Finding{Check: CheckScanIncomplete, Severity: finding.Warning, Source: SourceHelm,
			Object:  "v1 Secret " + secretRef,
			Message: fmt.Sprintf("could not decode Helm release secret %s: %v", secretRef, err)})
		return
	}
	objs, err := ManifestObjects(rel.Manifest)
	if err != nil {
		p.found.add(finding.Finding{Check: CheckScanIncomplete, Severity: finding.Warning, Source: SourceHelm,
			Object:  "v1 Secret " + secretRef,
			Message: fmt.Sprintf("Helm release %s/%s: manifest partly unreadable: %v", rel.Namespace, rel.Name, err)})
	}
	for _, o := range objs {
		r, ok := p.relevant(o.APIVersion, o.Kind)
		if !ok {
			continue
		}
		ns := o.Namespace
		if ns == "" {
			ns = rel.Namespace
		}
		name := o.Name
		if ns != "" {
			name = ns + "/" + o.Name
		}
		chart := rel.Chart.Metadata.Name
		if rel.Chart.Metadata.Version != "" {
			chart += "-" + rel.Chart.Metadata.Version
		}
		where := fmt.Sprintf("Helm release %s/%s revision %d (chart %s, secret %s), template %s", rel.Namespace, rel.Name, rel.Version, chart, secretRef, o.Source)
		f := p.removedFinding(r, SourceHelm, fmt.Sprintf("%s %s %s", o.APIVersion, o.Kind, name), where)
		f.Fix = fmt.Sprintf("Upgrade release %s/%s to a chart version whose %s uses %s. If the old API is already gone from the cluster, `helm upgrade` fails on the stored manifest: rewrite it first with the helm-mapkubeapis plugin (helm mapkubeapis %s -n %s). ",
			rel.Namespace, rel.Name, o.Source, orNone(r.Replacement), rel.Name, rel.Namespace) + r.Fix()
		p.found.add(f)
	}
}

func orNone(s string) string {
	if s == "" {
		return "a supported API"
	}
	return s
}
