package spec

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
)

// eksVersionsJSON is the table of Kubernetes versions EKS offers, kept as
// data (eks-versions.json) so that adding a version is a one-line change.
//
//go:embed eks-versions.json
var eksVersionsJSON []byte

// EKSVersion is one row of the table.
type EKSVersion struct {
	Version              string `json:"version"`
	EndOfStandardSupport string `json:"endOfStandardSupport,omitempty"`
	EndOfExtendedSupport string `json:"endOfExtendedSupport,omitempty"`
}

var eksVersions = func() []EKSVersion {
	var doc struct {
		Versions []EKSVersion `json:"versions"`
	}
	if err := json.Unmarshal(eksVersionsJSON, &doc); err != nil {
		panic(fmt.Sprintf("spec: eks-versions.json: %v", err))
	}
	return doc.Versions
}()

// KnownEKSVersions lists the Kubernetes versions of the offline table, oldest first.
func KnownEKSVersions() []EKSVersion { return append([]EKSVersion(nil), eksVersions...) }

// IsKnownEKSVersion reports whether v is in the offline table.
func IsKnownEKSVersion(v string) bool {
	for _, e := range eksVersions {
		if e.Version == v {
			return true
		}
	}
	return false
}

// KnownVersionNames lists the versions of the offline table, oldest first.
func KnownVersionNames() []string {
	vs := make([]string, len(eksVersions))
	for i, e := range eksVersions {
		vs[i] = e.Version
	}
	return vs
}

func knownVersionList() string { return strings.Join(KnownVersionNames(), ", ") }
